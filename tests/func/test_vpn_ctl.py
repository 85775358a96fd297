"""The VPN's control commands (issue 13, item 5) against real WireGuard:
`vnetctl vpn show` (text as `wg show` prints it, and -j) agreeing with the
laptop's own `wg show`; `vnetctl vpn client-config` printing a wg-quick file
that Debian's wireguard-go, configured from it alone, connects with (ping,
iperf3 to a guest, the network's DNS from the laptop); `vnetctl vpn peer add
--genkey` at run time giving a ready file for a new laptop; `vpn peer del`
cutting one laptop off while another still gets through; and the refusals
(bad keys, duplicates, prefixes of the guests' subnet or another peer, a
full table leaving the peers it has, unknown networks and peers), and a
control_group member who may look but not change peers.

vnetd runs in a "server" namespace (tests/func/vpn_util.py's VpnLab), the
laptops in namespaces of their own joined to it by veths; nothing leaves
namespaces the test created.
"""
import json
import os
import re
import shutil
import socket
import tempfile

import pytest

from policy_util import ctl_as, setpriv
from vpn_util import UL_SRV, VPN_PORT, VpnLab, guest_ip, write_key
from wg_util import genpsk, iperf3, keypair, missing_wireguard, split_quick, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

LAP4 = "10.99.0.2"


def ctl(d, *args, json_out=False):
    """vnetctl against d; returns the CompletedProcess (never raises)."""
    return d.ctl_raw(*args, json_out=json_out)


def ok(d, *args, json_out=False):
    cp = ctl(d, *args, json_out=json_out)
    assert cp.returncode == 0, (args, cp.stdout, cp.stderr)
    return json.loads(cp.stdout) if json_out else cp.stdout


def refused(d, *args, match, code=1):
    """vnetctl exits code with a message matching match, and prints nothing."""
    cp = ctl(d, *args)
    assert cp.returncode == code, (args, cp.returncode, cp.stdout, cp.stderr)
    assert re.search(match, cp.stderr), (args, cp.stderr)
    assert cp.stdout == "", (args, cp.stdout)
    return cp.stderr


def parse_show(text):
    """`wg show`-style text into {interface: {...}, peers: {key: {...}}} per
    interface name."""
    out, cur, peer = {}, None, None
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("interface: "):
            cur = out.setdefault(line.split(": ", 1)[1], {"peers": {}})
            peer = None
        elif line.startswith("peer: "):
            peer = cur["peers"].setdefault(line.split(": ", 1)[1], {})
        else:
            assert line.startswith("  "), line
            k, v = line.strip().split(": ", 1)
            (peer if peer is not None else cur)[k] = v
    return out


def connect_from_file(v, lap, text):
    """wireguard-go on lap, configured from a wg-quick file only."""
    dev = v.lab.device(lap["ns"])
    quick = dev.apply_quick(text)
    lap["dev"] = dev
    return dev, quick


def test_show_agrees_with_wg_show(wglab, vnetd, tmp_path):
    """vpn show, text and -j, after a ping: the laptop's key, endpoint,
    allowed IPs, keepalive, a handshake and transfer both ways; they agree
    with what the laptop's wg show says of the server."""
    v = VpnLab(wglab, vnetd, tmp_path)
    lap = v.add_laptop(LAP4, psk=genpsk(), keepalive=30)
    d = v.start()
    dev = v.connect(lap, keepalive=30)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    lap["ns"].ping(guest_ip(0), count=5)
    dev.wait_handshake(v.pub)
    j = ok(d, "vpn", "show", json_out=True)
    assert len(j) == 1 and j[0]["network"] == "lan"
    s = j[0]
    assert s["public_key"] == v.pub and s["listen_port"] == VPN_PORT
    assert s["listen"] == f"{UL_SRV}:{VPN_PORT}"
    [p] = s["peers"]
    mine = dev.peer(v.pub)
    assert p["public_key"] == lap["pub"] and p["name"] == lap["name"]
    assert p["endpoint"] == f"{lap['ul']}:{dev.listen_port()}"
    assert p["allowed_ips"] == [f"{LAP4}/32"]
    assert p["persistent_keepalive"] == 30 and p["preshared_key"] is True
    assert p["latest_handshake"] > 0 and mine["latest_handshake"] > 0
    assert abs(p["latest_handshake"] - mine["latest_handshake"]) <= 5
    assert p["transfer_rx"] > 0 and p["transfer_tx"] > 0
    # what one side sent the other received (keepalives and handshakes may be in flight)
    assert p["transfer_rx"] <= mine["tx_bytes"] + 1024
    assert mine["rx_bytes"] <= p["transfer_tx"] + 1024
    assert ok(d, "vpn", "show", "lan", json_out=True)[0]["public_key"] == v.pub
    # the text output is wg show's, with the same facts
    text = ok(d, "vpn", "show")
    assert text.startswith("interface: lan\n"), text
    t = parse_show(text)["lan"]
    assert t["public key"] == v.pub and t["listening port"] == str(VPN_PORT)
    assert t["private key"] == "(hidden)"
    tp = t["peers"][lap["pub"]]
    assert tp["name"] == lap["name"] and tp["endpoint"] == p["endpoint"]
    assert tp["allowed ips"] == f"{LAP4}/32" and tp["preshared key"] == "(hidden)"
    assert tp["persistent keepalive"] == "every 30 seconds"
    assert re.fullmatch(r"(Now|(\d+ (second|minute)s?(, )?)+ ago)", tp["latest handshake"]), tp
    assert re.fullmatch(r"[\d.]+ (B|KiB|MiB) received, [\d.]+ (B|KiB|MiB) sent",
                        tp["transfer"]), tp
    # the same layout as the laptop's own wg show (its keys, not ours)
    wg = parse_show(dev.wg("show", dev.ifname).stdout.replace(f"interface: {dev.ifname}",
                                                              "interface: lan"))["lan"]
    assert set(tp) - {"name"} == set(wg["peers"][v.pub]) - {"name"}, (tp, wg)
    d.assert_alive()


def test_client_config_file_connects(wglab, vnetd, tmp_path):
    """The issue's interop test: wireguard-go configured from the file
    `vnetctl vpn client-config --private-key-file` printed (with the
    preshared key from its file): handshake, ping and iperf3 to a guest,
    the guest pings the laptop."""
    v = VpnLab(wglab, vnetd, tmp_path, net_extra={"dns": {"enabled": True}})
    psk = genpsk()
    lap = v.add_laptop(LAP4, psk=psk)
    d = v.start()
    priv_file = write_key(tmp_path, "laptop.key", lap["priv"])
    psk_file = write_key(tmp_path, "laptop.psk", psk)
    text = ok(d, "vpn", "client-config", "lan", lap["name"], "--private-key-file", priv_file,
              "--preshared-key-file", psk_file)
    conf, quick = split_quick(text)
    assert f"PrivateKey = {lap['priv']}" in text and f"PresharedKey = {psk}" in text
    assert f"PublicKey = {v.pub}" in text
    assert quick["address"] == [f"{LAP4}/32"]
    assert "10.0.2.0/24" in quick["allowed_ips"]
    assert quick["dns"][0] == "10.0.2.3" and quick["mtu"] == 1420
    prefix6 = d.network("lan")["gateway"]["subnet6"]
    assert prefix6 in quick["allowed_ips"] and len(quick["dns"]) == 2  # IPv6 is on by default
    assert f"Endpoint = {UL_SRV}:{VPN_PORT}" in text
    assert "PersistentKeepalive = 25" in text
    # no vpn.nat: --all-traffic would lead nowhere, so it is not done (and said)
    cp = ctl(d, "vpn", "client-config", "lan", lap["name"], "--all-traffic")
    routes = re.search(r"^AllowedIPs = .*$", text, re.M).group(0)
    assert cp.returncode == 0 and "has no vpn.nat" in cp.stderr and routes in cp.stdout
    dev, _ = connect_from_file(v, lap, text)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    dev.wait_handshake(v.pub)
    v.guests[0].ping(LAP4, count=2)
    res = iperf3(lap["ns"], v.guests[0], guest_ip(0), secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    assert v.peer(lap["name"])["transfer_rx"] > 100000
    d.assert_alive()


def test_network_dns_from_the_laptop(wglab, vnetd, tmp_path):
    """The laptop, configured from the client file (DNS = the network's DNS
    address), resolves a name of the network: host.DOMAIN, which the
    gateway answers itself (no upstream is asked)."""
    v = VpnLab(wglab, vnetd, tmp_path, net_extra={"dns": {"enabled": True}})
    lap = v.add_laptop(LAP4)
    d = v.start()
    text = ok(d, "vpn", "client-config", "lan", lap["name"], "--private-key-file",
              write_key(tmp_path, "laptop.key", lap["priv"]))
    connect_from_file(v, lap, text)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    # (dig reads the laptop's resolv.conf, which apply_quick wrote from DNS =)
    cp = lap["ns"].exec("dig", "+time=2", "+tries=2", "host.vnet.internal", "A", check=False)
    assert cp.returncode == 0 and re.search(r"host\.vnet\.internal\.\s+\d+\s+IN\s+A\s+10\.0\.2\.2",
                                            cp.stdout), (cp.stdout, cp.stderr)
    d.assert_alive()


def test_client_config_without_keys_or_endpoint(wglab, vnetd, tmp_path):
    """Without --private-key-file the private key is a comment saying what
    goes there; on a wildcard listen address the Endpoint is a comment
    unless --endpoint names the host; with vpn.nat --all-traffic routes
    everything; a wrong private key file is refused; -j gives the facts."""
    v = VpnLab(wglab, vnetd, tmp_path, vpn_extra={"listen": f"0.0.0.0:{VPN_PORT}", "nat": True})
    lap = v.add_laptop(LAP4, psk=genpsk())
    d = v.start()
    text = ok(d, "vpn", "client-config", "lan", lap["name"])
    assert "\nPrivateKey" not in text and "# PrivateKey = " in text and lap["pub"] in text
    assert "\nEndpoint" not in text and "# Endpoint = HOST:51820" in text
    assert "\nPresharedKey" not in text and "# PresharedKey" in text
    text = ok(d, "vpn", "client-config", "lan", lap["pub"], "--endpoint", "localhost")
    assert "\nEndpoint = localhost:51820\n" in text
    text = ok(d, "vpn", "client-config", "lan", lap["name"], "--endpoint", "fd00::1")
    assert "\nEndpoint = [fd00::1]:51820\n" in text
    text = ok(d, "vpn", "client-config", "lan", lap["name"], "--endpoint", "192.0.2.1:4500")
    assert "\nEndpoint = 192.0.2.1:4500\n" in text
    # NETWORK left out: the only network with a VPN
    assert ok(d, "vpn", "client-config", lap["name"], "--endpoint", "192.0.2.1:4500") == text
    # vpn.nat: --all-traffic sends everything through the tunnel
    text = ok(d, "vpn", "client-config", "lan", lap["name"], "--all-traffic")
    assert "\nAllowedIPs = 0.0.0.0/0, ::/0\n" in text
    j = ok(d, "vpn", "client-config", "lan", lap["name"], json_out=True)
    assert j["server_public_key"] == v.pub and j["addresses"] == [f"{LAP4}/32"]
    assert j["endpoint"] is None and "endpoint" in j["endpoint_note"]
    assert j["preshared_key"] is True and j["mtu"] == 1420 and j["persistent_keepalive"] == 25
    other_priv, _ = keypair()
    refused(d, "vpn", "client-config", "lan", lap["name"], "--private-key-file",
            write_key(tmp_path, "other.key", other_priv), match="is not peer")
    refused(d, "vpn", "client-config", "lan", "nobody", match="no VPN peer named 'nobody'")
    refused(d, "vpn", "client-config", "lan", lap["name"], "--endpoint", "a b",
            match="endpoint")


def test_peer_add_genkey_at_run_time(wglab, vnetd, tmp_path):
    """A laptop vnetd has never heard of: `vpn peer add --genkey` prints its
    file (the private key made by vnetctl), wireguard-go applies it and
    reaches the guest; vnetd knows the peer but never saw its private key."""
    v = VpnLab(wglab, vnetd, tmp_path)
    first = v.add_laptop(LAP4)
    lap = v.add_laptop("10.99.0.3", conf_peer=False)
    d = v.start()
    text = ok(d, "vpn", "peer", "add", "lan", "phone", "--genkey", "--allowed-ips",
              "10.99.0.3/32", "--keepalive", "0")
    conf, quick = split_quick(text)
    priv = re.search(r"^PrivateKey = (\S+)$", text, re.M).group(1)
    assert quick["address"] == ["10.99.0.3/32"]
    dev, _ = connect_from_file(v, lap, text)
    pub = dev.public_key()
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    p = v.peer("phone")
    assert p["public_key"] == pub and p["latest_handshake"] > 0
    assert priv not in d.log()
    # the configured laptop still gets through beside it
    v.connect(first)
    first["ns"].ping_until(guest_ip(0), timeout=20)
    # an added peer with a given key, a preshared key file and an endpoint
    _, k3 = keypair()
    psk_file = write_key(tmp_path, "p3.psk", genpsk())
    out = ok(d, "vpn", "peer", "add", "lan", "site3", "--public-key", k3, "--allowed-ips",
             "10.99.3.0/24, 10.99.0.9/32", "--preshared-key-file", psk_file, "--endpoint",
             "198.18.70.99:51820", "--keepalive", "25")
    assert "peer site3 added to network lan" in out
    p = v.peer("site3")
    assert p["allowed_ips"] == ["10.99.0.9/32", "10.99.3.0/24"] or \
        sorted(p["allowed_ips"]) == ["10.99.0.9/32", "10.99.3.0/24"]
    assert p["endpoint"] == "198.18.70.99:51820" and p["persistent_keepalive"] == 25
    assert p["preshared_key"] is True
    d.assert_alive()


def test_peer_del_cuts_one_laptop_off(wglab, vnetd, tmp_path):
    """vpn peer del (by name, then by key): that laptop no longer gets
    through, the other still does; the peer is gone from vpn show."""
    v = VpnLab(wglab, vnetd, tmp_path)
    a = v.add_laptop(LAP4)
    b = v.add_laptop("10.99.0.3")
    d = v.start()
    v.connect(a)
    v.connect(b)
    for lap in (a, b):
        lap["ns"].ping_until(guest_ip(0), timeout=20)
    out = ok(d, "vpn", "peer", "del", "lan", a["name"])
    assert f"peer {a['name']} ({a['pub']}) removed from network lan" in out
    names = [p["name"] for p in ok(d, "vpn", "show", "lan", json_out=True)[0]["peers"]]
    assert names == [b["name"]]
    r = a["ns"].ping(guest_ip(0), count=3, check=False)
    assert r.returncode != 0
    b["ns"].ping(guest_ip(0), count=3)
    # by public key, -j
    j = ok(d, "vpn", "peer", "del", "lan", b["pub"], json_out=True)
    assert j == {"network": "lan", "name": b["name"], "public_key": b["pub"]}
    assert ok(d, "vpn", "show", json_out=True)[0]["peers"] == []
    refused(d, "vpn", "peer", "del", "lan", b["name"], match="no VPN peer named")
    d.assert_alive()


def test_refusals(wglab, vnetd, tmp_path):
    """Every refusal says why and changes nothing; a full table keeps the
    peers it has; wrong command lines exit 2 before vnetd is asked."""
    v = VpnLab(wglab, vnetd, tmp_path, vpn_extra={"max_peers": 2})
    lap = v.add_laptop(LAP4)
    d = v.start()
    _, k = keypair()
    add = ("vpn", "peer", "add", "lan")
    refused(d, *add, "x", "--public-key", "not-a-key", "--allowed-ips", "10.99.0.5/32",
            match="not a WireGuard public key")
    refused(d, *add, lap["name"], "--public-key", k, "--allowed-ips", "10.99.0.5/32",
            match=f"already has a VPN peer named '{lap['name']}'")
    refused(d, *add, "dup", "--public-key", lap["pub"], "--allowed-ips", "10.99.0.5/32",
            match=f"is already peer '{lap['name']}''s")
    refused(d, *add, "dup", "--public-key", v.pub, "--allowed-ips", "10.99.0.5/32",
            match="own public key")
    refused(d, *add, "inlan", "--public-key", k, "--allowed-ips", "10.0.2.77/32",
            match=r"overlaps the network's subnet 10\.0\.2\.0/24")
    refused(d, *add, "wide", "--public-key", k, "--allowed-ips", "10.0.0.0/8",
            match="overlaps the network's subnet")
    refused(d, *add, "same", "--public-key", k, "--allowed-ips", f"{LAP4}/32",
            match=f"allowed IP {LAP4}/32 is already peer")
    refused(d, *add, "hostbits", "--public-key", k, "--allowed-ips", "10.99.1.1/24",
            match=r"host bits set \(did you mean 10\.99\.1\.0/24\?\)")
    refused(d, *add, "bad name", "--public-key", k, "--allowed-ips", "10.99.0.5/32",
            match="need \"name\"")
    refused(d, "vpn", "peer", "add", "nonet", "x", "--public-key", k, "--allowed-ips",
            "10.99.0.5/32", match="no network named 'nonet'")
    refused(d, "vpn", "show", "nonet", match="no network named 'nonet'")
    refused(d, "vpn", "peer", "del", "lan", "ghost", match="no VPN peer named 'ghost'")
    # the table: one more fits (max_peers 2), then full, the two kept
    ok(d, *add, "second", "--public-key", k, "--allowed-ips", "10.99.0.5/32")
    _, k3 = keypair()
    refused(d, *add, "third", "--public-key", k3, "--allowed-ips", "10.99.0.6/32",
            match=r"peer table is full \(vpn.max_peers 2\)")
    names = sorted(p["name"] for p in ok(d, "vpn", "show", json_out=True)[0]["peers"])
    assert names == sorted([lap["name"], "second"])
    v.connect(lap)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    # command line errors: exit 2, usage on stderr
    for args, why in (((*add, "x", "--allowed-ips", "10.99.0.7/32"), "--public-key KEY"),
                      ((*add, "x", "--genkey", "--public-key", k, "--allowed-ips", "10.99.0.77/32"),
                       "exclude each other"),
                      ((*add, "x", "--public-key", k), "--allowed-ips A"),
                      ((*add, "x", "--public-key", k, "--allowed-ips", "10.99.0.7/32",
                        "--preshared-key", "abc"), "never the command line"),
                      ((*add, "x", "--public-key", k, "--allowed-ips", "10.99.0.7/32",
                        "--keepalive", "forever"), "--keepalive wants seconds"),
                      ((*add, "x", "--public-key", k, "--allowed-ips", "10.99.0.7/32",
                        "--preshared-key-file", str(tmp_path / "none.psk")), "cannot read"),
                      (("vpn", "peer", "frob"), "unknown subcommand"),
                      (("vpn", "peer"), "which subcommand"),
                      (("vpn", "client-config"), "missing arguments"),
                      (("vpn", "client-config", "lan", "a", "b"), "too many arguments"),
                      (("vpn", "client-config", "--endpoint", "x"), "which PEER")):
        refused(d, *args, match=re.escape(why), code=2)
    d.assert_alive()


def test_group_member_shows_but_cannot_change(vnetd, tmp_path):
    """A member of control_group (not root): vpn show and client-config
    answer, peer add and del are refused for want of privilege and change
    nothing. (No traffic: the VPN listens on loopback, nobody connects.)"""
    rundir = tempfile.mkdtemp(prefix="vnt-run-", dir="/tmp")
    try:
        os.chmod(rundir, 0o755)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        priv, pub = keypair()
        _, lap = keypair()
        net = {"name": "lan", "mode": "nat", "dhcp": {"enabled": False},
               "dns": {"enabled": False},
               "vpn": {"listen": f"127.0.0.1:{port}",
                       "private_key_file": write_key(tmp_path, "srv.key", priv),
                       "peers": [{"name": "l1", "public_key": lap,
                                  "allowed_ips": ["10.99.0.2/32"]}]}}
        d = vnetd({"control": f"{rundir}/vnetd.ctl", "control_group": "nogroup",
                   "networks": [net]})
        member = setpriv()
        cp = ctl_as(d, member, "vpn", "show")
        assert cp.returncode == 0, cp.stderr
        assert json.loads(cp.stdout)[0]["peers"][0]["public_key"] == lap
        cp = ctl_as(d, member, "vpn", "client-config", "lan", "l1")
        assert cp.returncode == 0 and json.loads(cp.stdout)["server_public_key"] == pub
        _, k = keypair()
        for args in (("vpn", "peer", "add", "lan", "x", "--public-key", k, "--allowed-ips",
                      "10.99.0.3/32"), ("vpn", "peer", "del", "lan", "l1")):
            cp = ctl_as(d, member, *args)
            assert cp.returncode == 1 and "permission denied" in cp.stderr, cp
        assert [p["name"] for p in ok(d, "vpn", "show", json_out=True)[0]["peers"]] == ["l1"]
        d.assert_alive()
    finally:
        shutil.rmtree(rundir, ignore_errors=True)
