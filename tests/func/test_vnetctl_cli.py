"""vnetctl's command line (issue 10, item 5): the command table.

Every command and subcommand comes from one table in tools/commands.c, and
so does all usage text: `vnetctl --help` lists each of them, each answers
--help / -h with its usage line (exit 0), and a wrong command line gets the
reason and the usage line on stderr (exit 2) without vnetd being asked.
`vnetctl help --commands` prints the table's commands one a line; the tests
take the list from there, and check it against the commands that must
exist. Against a running vnetd, the read-only commands still answer in both
output modes, and `network list` shows the addresses of both families
(IPv4-only, IPv6-only with NAT64, dual-stack, no gateway).

The command line tests use a control socket that does not exist: a command
that reached for the daemon would exit 1, not 0 or 2. The daemon tests run
networks without ports; nothing is sent anywhere.
"""
import json

import pytest

import vnet
from vnet import run

# Every command vnetctl has had; the table may grow, never lose one.
EXPECTED = {
    "status", "network list", "network show", "port list", "port show", "port add",
    "port del", "fdb", "stats", "leases", "conflicts", "flows", "forward list", "forward add",
    "forward del", "capture", "top", "acl list", "acl add", "acl del", "acl default",
    "mirror list", "mirror add", "mirror del", "help",
    "vpn show", "vpn peer add", "vpn peer del", "vpn client-config",
}


@pytest.fixture
def nosock(tmp_path):
    return str(tmp_path / "no-such-vnetd.sock")


def ctl(nosock, *args):
    # stdin is not a terminal (top would take it over)
    return run([vnet.VNETCTL, "--control", nosock, *args], check=False, input="")


def commands(nosock):
    cp = ctl(nosock, "help", "--commands")
    assert cp.returncode == 0 and cp.stderr == "", cp
    cmds = cp.stdout.splitlines()
    assert len(cmds) == len(set(cmds)), cmds
    return cmds


def usage_lines(text):
    return [l for l in text.splitlines() if l.startswith("usage: vnetctl")]


def test_commands_list_is_the_whole_table(nosock):
    cmds = commands(nosock)
    missing = EXPECTED - set(cmds)
    assert not missing, f"commands gone from the table: {missing}"
    # a subcommand may be two words (vpn peer add)
    assert all(c == c.strip() and 1 <= len(c.split()) <= 3 for c in cmds), cmds


@pytest.mark.parametrize("how", [("--help",), ("-h",), ("help",)])
def test_full_usage_lists_every_command(nosock, how):
    cp = ctl(nosock, *how)
    assert cp.returncode == 0 and cp.stderr == "", cp
    out = cp.stdout
    assert out.startswith("usage: vnetctl "), out
    listed = {l[2:] for l in out.splitlines() if l.startswith("  ") and not l.startswith("   ")}
    for c in commands(nosock):
        assert any(l == c or l.startswith(c + " ") for l in listed), (c, out)


def test_every_command_answers_help(nosock):
    failures = []
    for c in commands(nosock):
        words = c.split()
        for args in ([*words, "--help"], [*words, "-h"], ["help", *words]):
            cp = ctl(nosock, *args)
            lines = usage_lines(cp.stdout)
            ok = (cp.returncode == 0 and cp.stderr == "" and len(lines) == 1 and
                  (lines[0] + " ").startswith(f"usage: vnetctl {c} "))
            if not ok:
                failures.append((args, cp.returncode, cp.stdout, cp.stderr))
    assert not failures, failures


def test_help_after_arguments_and_groups(nosock, tmp_path):
    # --help wins wherever it is, before any argument is checked.
    pcap = tmp_path / "x.pcap"
    for args in (("capture", "a", "-w", str(pcap), "--help"),
                 ("forward", "add", "a", "b", "c", "-h"),
                 ("acl", "add", "lan", "allow", "--help"), ("top", "-d", "-h")):
        cp = ctl(nosock, *args)
        assert cp.returncode == 0 and cp.stderr == "", (args, cp)
        lines = usage_lines(cp.stdout)
        assert len(lines) == 1 and lines[0].startswith(f"usage: vnetctl {args[0]} "), (args, cp)
    assert not pcap.exists()
    # A command with subcommands lists them.
    cmds = commands(nosock)
    for group in sorted({c.split()[0] for c in cmds if " " in c}):
        subs = [c for c in cmds if c.startswith(group + " ")]
        for args in ((group, "--help"), (group, "-h"), ("help", group)):
            cp = ctl(nosock, *args)
            assert cp.returncode == 0 and cp.stderr == "", (args, cp)
            assert cp.stdout.startswith(f"usage: vnetctl {group} "), (args, cp.stdout)
            for s in subs:
                assert f"\n  {s}" in cp.stdout, (args, s, cp.stdout)


@pytest.mark.parametrize("args, usage", [
    (("capture", "a"), "capture"),                         # no -w FILE
    (("capture", "-w", "PCAP"), "capture"),                # no target
    (("capture", "a", "-w"), "capture"),
    (("capture", "a", "-w", "PCAP", "--bogus"), "capture"),
    (("capture", "a", "-w", "PCAP", "-c", "many"), "capture"),
    (("capture", "a", "b", "-w", "PCAP"), "capture"),
    (("forward", "add", "tcp:1:10.0.2.15:1", "lan", "extra"), "forward add"),
    (("forward", "add"), "forward add"),
    (("forward", "del", "tcp"), "forward del"),
    (("port", "frob"), "port"),
    (("port", "add"), "port add"),
    (("port", "del", "a", "b"), "port del"),
    (("network", "show", "a", "b"), "network show"),
    (("network", "lan"), "network"),
    (("status", "extra"), "status"),
    (("stats", "a", "b"), "stats"),
    (("fdb", "a", "b"), "fdb"),
    (("acl", "add", "lan"), "acl add"),
    (("acl", "add", "lan", "allow", "--position"), "acl add"),
    (("acl", "add", "lan", "allow", "--position", "first"), "acl add"),
    (("acl", "del", "lan", "x"), "acl del"),
    (("acl", "default", "lan"), "acl default"),
    (("acl", "frob"), "acl"),
    (("mirror", "add", "m", "--from", "a"), "mirror add"),
    (("mirror", "add", "m", "--to", "b", "--bogus", "x"), "mirror add"),
    (("mirror", "list", "x"), "mirror list"),
    (("top", "-x"), "top"),
    (("top", "-d"), "top"),
    (("top", "-n", "lots"), "top"),
    (("help", "frobnicate"), "help"),
    (("help", "port", "frob"), "help"),
])
def test_wrong_arguments_give_usage(nosock, tmp_path, args, usage):
    pcap = tmp_path / "x.pcap"
    cp = ctl(nosock, *(str(pcap) if a == "PCAP" else a for a in args))
    assert cp.returncode == 2, (args, cp)
    assert cp.stdout == "", (args, cp)
    lines = usage_lines(cp.stderr)
    assert lines and all((l + " ").startswith(f"usage: vnetctl {usage} ") for l in lines), \
        (args, cp.stderr)
    assert cp.stderr.startswith("vnetctl: "), (args, cp.stderr)  # the reason comes first
    assert not pcap.exists()  # nothing is opened for a wrong command line


def test_unknown_command_and_no_command(nosock):
    cp = ctl(nosock, "frobnicate")
    assert cp.returncode == 2 and cp.stdout == ""
    assert cp.stderr.startswith("vnetctl: unknown command 'frobnicate'\nusage: vnetctl "), cp.stderr
    cp = ctl(nosock)
    assert cp.returncode == 2 and cp.stdout == "" and cp.stderr.startswith("usage: vnetctl "), cp
    cp = run([vnet.VNETCTL, "--bogus-option"], check=False)
    assert cp.returncode == 2 and "usage: vnetctl " in cp.stderr, cp


def test_right_arguments_reach_for_the_daemon(nosock):
    """Argument checks pass what is right: these fail only on the socket."""
    for args in (("status",), ("network",), ("port", "show", "a"), ("forward",),
                 ("forward", "del", "tcp", "8080", "lan"), ("acl", "del", "lan", "0"),
                 ("acl", "add", "lan", "allow", "proto=tcp", "--position", "1"),
                 ("mirror", "add", "m", "--from", "a,b", "--to", "c"), ("mirror",),
                 ("stats", "a"), ("top", "-d", "0.5", "-n", "1")):
        cp = ctl(nosock, *args)
        assert cp.returncode == 1, (args, cp)
        assert cp.stderr.startswith("vnetctl: cannot connect to vnetd at "), (args, cp.stderr)


READ_ONLY = (("status",), ("network", "list"), ("port", "list"), ("stats",), ("fdb",),
             ("mirror", "list"), ("acl", "list"))


def test_daemon_answers_both_output_modes(vnetd):
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}], "ports": []})
    for args in READ_ONLY:
        human = d.ctl_raw(*args, json_out=False)
        assert human.returncode == 0 and human.stderr == "", (args, human)
        assert human.stdout.strip(), (args, human)
        js = d.ctl_raw(*args, json_out=True)
        assert js.returncode == 0 and js.stderr == "", (args, js)
        json.loads(js.stdout)
    st = d.ctl("status")
    assert st["networks"] == 1 and st["ports"] == 0, st
    out = d.ctl_raw("status", json_out=False).stdout
    assert out.startswith(f"vnetd {st['version']}, pid {st['pid']}, up "), out
    assert "networks: 1   ports: 0 (0 connected)" in out, out
    nets = d.ctl("network", "list")
    assert [n["name"] for n in nets] == ["lan"] and nets[0]["mode"] == "isolated", nets
    assert d.ctl_raw("network", "list", json_out=False).stdout.split()[:2] == ["NAME", "MODE"]
    assert d.ctl("port", "list") == [] and d.ctl("fdb") == [] and d.ctl("mirror", "list") == []
    assert "connections tracked:" in d.ctl_raw("acl", "list", json_out=False).stdout
    # The bare group names are their list subcommands.
    for group, sub in (("network", "list"), ("port", "list"), ("mirror", "list"),
                       ("acl", "list"), ("forward", "list")):
        assert d.ctl_raw(group).stdout == d.ctl_raw(group, sub).stdout, group
    d.assert_alive()


def tables(text):
    """The aligned tables of a human output (separated by blank lines), each
    as a list of rows split on blanks (no cell holds a space)."""
    return [[l.split() for l in block.splitlines()] for block in text.strip("\n").split("\n\n")]


def test_network_list_shows_both_families(vnetd):
    """network list/show: the counters table (GATEWAY: the IPv4 address, or
    gateway6 on an IPv6-only network), then an address table with a row per
    family a network serves (subnet, gateway, DNS, link-local) and one for
    its NAT64 prefix; an IPv6-only network (subnet: none) shows no IPv4 at
    all, ipv6: false no IPv6, a network without gateway neither; DNS is "-"
    where the forwarder is off. stats shows only the counters."""
    up = {"upstream": ["127.0.0.1:9"]}
    d = vnetd({"networks": [
        {"name": "lan", "mode": "nat", "subnet6": "fd00:1:2:3::/64", "dns": up},
        {"name": "six", "mode": "nat", "subnet": "none", "subnet6": "fd00:6:6:6::/64",
         "nat64": True, "dns": up},
        {"name": "four", "mode": "nat", "subnet": "10.9.0.0/24", "ipv6": False, "dns": up},
        {"name": "iso", "mode": "isolated", "subnet": "10.7.0.0/24",
         "subnet6": "fd00:7:7:7::/64", "dns": {"enabled": False}},
        {"name": "plain", "mode": "isolated"}], "ports": []})
    gw = {n["name"]: n.get("gateway") for n in d.ctl("network", "list")}
    out = d.ctl_raw("network", "list", json_out=False)
    assert out.returncode == 0 and out.stderr == "", out
    assert "0.0.0.0" not in out.stdout and "null" not in out.stdout, out.stdout
    counters, addrs = tables(out.stdout)
    assert counters[0] == ["NAME", "MODE", "VLAN", "MTU", "UPLINK", "GATEWAY", "PORTS", "FDB",
                           "FRAMES", "FLOODED"]
    by = {r[0]: dict(zip(counters[0], r)) for r in counters[1:]}
    assert list(by) == ["lan", "six", "four", "iso", "plain"]
    assert by["lan"]["GATEWAY"] == gw["lan"]["address"] == "10.0.2.2"
    assert by["six"]["GATEWAY"] == gw["six"]["address6"] == "fd00:6:6:6::2"
    assert by["four"]["GATEWAY"] == gw["four"]["address"] and by["plain"]["GATEWAY"] == "-"

    assert addrs[0] == ["NETWORK", "FAMILY", "SUBNET", "GATEWAY", "DNS", "LINK-LOCAL"]
    rows = [tuple(r) for r in addrs[1:]]
    ll = {n: gw[n]["link_local"] for n in ("lan", "six", "iso")}
    assert rows == [
        ("lan", "ipv4", "10.0.2.0/24", "10.0.2.2", "10.0.2.3", "-"),
        ("lan", "ipv6", "fd00:1:2:3::/64", "fd00:1:2:3::2", "fd00:1:2:3::3", ll["lan"]),
        ("six", "ipv6", "fd00:6:6:6::/64", "fd00:6:6:6::2", "fd00:6:6:6::3", ll["six"]),
        ("six", "nat64", "64:ff9b::/96", "-", "-", "-"),
        ("four", "ipv4", "10.9.0.0/24", gw["four"]["address"], gw["four"]["dns_address"], "-"),
        ("iso", "ipv4", "10.7.0.0/24", gw["iso"]["address"], "-", "-"),
        ("iso", "ipv6", "fd00:7:7:7::/64", gw["iso"]["address6"], "-", ll["iso"]),
    ], out.stdout
    assert all(r[5].startswith("fe80::") for r in rows if r[1] == "ipv6"), rows
    assert gw["six"]["subnet"] is None and gw["lan"]["subnet"] == "10.0.2.0/24"

    # One network: its rows only; one without a gateway: no address table.
    one = tables(d.ctl_raw("network", "show", "six", json_out=False).stdout)
    assert [r[0] for r in one[0][1:]] == ["six"] and [r[:2] for r in one[1][1:]] == [
        ["six", "ipv6"], ["six", "nat64"]], one
    plain = tables(d.ctl_raw("network", "show", "plain", json_out=False).stdout)
    assert len(plain) == 1 and plain[0][1][0] == "plain", plain
    # stats: ports, then the counters alone
    st = tables(d.ctl_raw("stats", json_out=False).stdout)
    assert st[-1][0][0] == "NAME" and not any(t[0][0] == "NETWORK" for t in st), st
    d.assert_alive()
