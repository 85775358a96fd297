"""vnetctl vtep list|add|del and fdb add|del with a real vnetd (issue 12,
item 4 "Control"), through the vnetctl binary, human output and --json.

One vnetd host (ha) on an underlay bridge (overlay_util: 198.18.41.0/24,
addresses only inside the test's namespaces) with a guest ga behind a tap;
Linux kernel VTEPs hb and hc on the same underlay, each with a guest behind
its bridge. vnetd lists hb in its config (`remotes`); hc lists vnetd in its
flood list but vnetd does not list hc:

    ga --tap-- vnetd (ha, .1) --+-- underlay bridge --+-- kernel VTEP hb (.2) -- gb
                                                      +-- kernel VTEP hc (.3) -- gc

Tests:
    test_vtep_list_add_del          config VTEPs listed; hc unlisted (dropped as
                                    `unlisted`) until `vtep add`, then accepted,
                                    flooded to, learned (origin learned, an age),
                                    counted in stats and metrics; `vtep del` forgets
                                    it and its MACs and drops its packets again
    test_static_fdb_without_learning  `learning: false`: a VTEP known for mgmt only,
                                    `fdb add lan MAC vtep ADDR` makes unicast reach
                                    gb, listed as static; `fdb del` removes it
    test_errors_and_access          every refusal with its message and exit status,
                                    nothing changed by them; an unprivileged client
                                    lists but cannot change

Every wait is bounded; the file runs in well under a minute under ASan.
"""
import os
import re
import shutil
import tempfile
import urllib.request

import pytest

import overlay_util as ou
from modes_util import tap, vnetd_in  # noqa: F401 (vnetd_in is a fixture)
from policy_util import NOBODY, ctl_as, setpriv
from vnet import ping_stats, wait_for

UL = "198.18.41"
A, B, C, D = f"{UL}.1", f"{UL}.2", f"{UL}.3", f"{UL}.9"
IP_A, IP_B, IP_C = "10.0.2.11", "10.0.2.12", "10.0.2.13"
MAC_A = "02:00:00:41:00:0a"
MAC_B = "02:00:00:41:00:0b"
MAC_C = "02:00:00:41:00:0c"
METRICS = "127.0.0.1:9471"
MEMBER = setpriv(uid=NOBODY, gid=NOBODY)


@pytest.fixture(autouse=True)
def _need_vxlan():
    why = ou.missing_vxlan()
    if why:
        pytest.skip(why)


@pytest.fixture
def rundir():
    """A root-owned 0755 directory for the control socket, which an
    unprivileged member of control_group may enter but not write."""
    d = tempfile.mkdtemp(prefix="vnt-vxctl-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def host_a(netns, vnetd_in, vx_kw=None, mgmt=False, extra=None, kernel=()):
    """ha on an underlay with vnetd (lan, VNI 100, and mgmt, VNI 200, when
    asked), guest ga on a tap, and kernel VTEPs at the addresses in kernel
    (each flooding to A, with a guest). Returns (vnetd, ga, {addr: KernelVtep})."""
    ul = ou.underlay(netns)
    ha, ga = netns(), netns()
    ul.attach(ha, f"{A}/24")
    kv = {}
    for addr, ip, mac in ((B, IP_B, MAC_B), (C, IP_C, MAC_C)):
        if addr in kernel:
            h = netns()
            ul.attach(h, f"{addr}/24")
            kv[addr] = ou.kernel_vtep(netns, h, 100, addr, [A], guest_cidr=f"{ip}/24",
                                      guest_mac=mac)
    nets = [{"name": "lan", "mode": "isolated", "vni": 100}]
    if mgmt:
        nets.append({"name": "mgmt", "mode": "isolated", "vni": 200})
    vx = {"name": "vx", "type": "vxlan", "local": A, "networks": [n["name"] for n in nets],
          "remotes": [B]}
    vx.update(vx_kw or {})
    conf = {"networks": nets, "ports": [tap("ga", ga, "lan", mac=MAC_A), vx]}
    conf.update(extra or {})
    d = vnetd_in(ha, conf)
    ga.wait_link()
    ga.ip("link", "set", "eth0", "up")
    ga.addr(f"{IP_A}/24")
    d.ha = ha
    return d, ga, kv


def human(d, *args):
    """vnetctl ARGS without -j: its stdout (exit status 0 asserted)."""
    cp = d.ctl_raw(*args, json_out=False)
    assert cp.returncode == 0, f"vnetctl {' '.join(args)}: {cp.returncode} {cp.stderr}"
    return cp.stdout


def refused(d, msg, *args, status=1):
    """vnetctl ARGS fails with status and msg on stderr, both with and without -j."""
    for j in (False, True):
        cp = d.ctl_raw(*args, json_out=j)
        assert cp.returncode == status and msg in cp.stderr, \
            f"vnetctl {' '.join(args)}: {cp.returncode} {cp.stderr!r} (want {msg!r})"


def rows(text, *cells):
    """The lines of a table whose whitespace-separated cells include every one of cells."""
    return [line for line in text.splitlines() if all(c in line.split() for c in cells)]


def shape(lst):
    """What a vtep list says apart from its counters (traffic may move those)."""
    return [(p["port"], p["local"], p["learning"], p["accept"],
             [(v["address"], v["port"], v["origin"], v["flood"], v["static_macs"])
              for v in p["vteps"]]) for p in lst]


def vtep_of(d, addr):
    vx = d.ctl("vtep", "list", "vx")
    assert len(vx) == 1 and vx[0]["port"] == "vx"
    return next((v for v in vx[0]["vteps"] if v["address"] == addr), None)


def entry(d, mac, network="lan"):
    return next((e for e in d.fdb(network) if e["mac"] == mac), None)


def scrape(d):
    """{(name, frozenset(labels)): value} of vnetd's metrics endpoint (in ha)."""
    def get():
        with urllib.request.urlopen(f"http://{METRICS}/metrics", timeout=10) as r:
            return r.read().decode()
    out = {}
    for line in d.ha.in_ns(get).splitlines():
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def vtep_metric(vals, name, addr):
    return vals.get((name, frozenset({("port", "vx"), ("vtep", addr)})))


def test_vtep_list_add_del(netns, vnetd_in):
    d, ga, kv = host_a(netns, vnetd_in, extra={"metrics": METRICS}, kernel=(B, C))
    gc = kv[C].guest

    # The config's VTEP, in every form of the listing.
    lst = d.ctl("vtep", "list")
    assert [p["port"] for p in lst] == ["vx"]
    assert lst[0]["local"] == f"{A}:4789" and lst[0]["learning"] is True
    assert lst[0]["accept"] == "listed"
    assert [(v["address"], v["port"], v["origin"], v["flood"]) for v in lst[0]["vteps"]] == \
        [(B, 4789, "config", ["lan"])]
    assert shape(d.ctl("vtep")) == shape(lst)
    out = human(d, "vtep", "list")
    assert out.split("\n")[0].split()[:5] == ["PORT", "VTEP", "ORIGIN", "NETWORKS", "MACS"]
    assert rows(out, "vx", f"{B}:4789", "config", "lan"), out
    assert rows(human(d, "vtep", "list", "vx"), "vx", f"{B}:4789", "config", "lan")

    # Across to gb: learned, with an age.
    ga.ping_until(IP_B)
    e = entry(d, MAC_B)
    assert (e["port"], e["vtep"], e["origin"]) == ("vx", B, "learned"), e
    assert isinstance(e["age_s"], int) and 0 <= e["age_s"] <= 10
    out = human(d, "fdb", "lan")
    assert out.split("\n")[0].split() == ["NETWORK", "MAC", "PORT", "AGE", "VTEP", "ORIGIN"]
    assert rows(out, "lan", MAC_B, "vx", B, "learned"), out
    assert rows(out, "lan", MAC_A, "ga", "-"), out  # a local entry: no VTEP
    assert rows(human(d, "fdb", "list", "lan"), "lan", MAC_B, "vx", B, "learned")
    assert vtep_of(d, B)["macs"] >= 1

    # hc is not listed: its packets are dropped as unlisted, gc reaches nobody.
    cp = gc.ping(IP_A, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    wait_for(lambda: d.port("vx")["vxlan_drops"]["unlisted"] or None, 5,
             what="hc's packets counted as unlisted")
    assert vtep_of(d, C) is None and entry(d, MAC_C) is None

    # vtep add: accepted and flooded to, from now on.
    assert human(d, "vtep", "add", "vx", C).strip() == "ok"
    u1 = d.port("vx")["vxlan_drops"]["unlisted"]  # its ARP may have retried since
    v = vtep_of(d, C)
    assert (v["port"], v["origin"], v["flood"]) == (4789, "control", ["lan"]), v
    gc.ping_until(IP_A)
    tx, rx = ping_stats(ga.ping(IP_C, count=3).stdout)
    assert rx == tx == 3
    e = entry(d, MAC_C)
    assert (e["port"], e["vtep"], e["origin"]) == ("vx", C, "learned"), e
    assert rows(human(d, "fdb"), "lan", MAC_C, "vx", C, "learned")
    assert rows(human(d, "vtep", "list"), "vx", f"{C}:4789", "control", "lan")
    assert d.port("vx")["vxlan_drops"]["unlisted"] == u1  # accepted now

    # Per-VTEP counters in stats (JSON and both human forms) and metrics.
    st = d.ctl("stats", "vx")["ports"][0]
    sc = next(v for v in st["vteps"] if v["address"] == C)
    assert sc["rx_frames"] >= 3 and sc["tx_frames"] >= 3 and sc["rx_bytes"] > 0
    assert sc["tx_bytes"] > 0 and sc["last_seen_s"] is not None and sc["macs"] >= 1
    assert st["vxlan_drops"]["unlisted"] == u1
    out = human(d, "stats")
    assert rows(out, "vx", f"{C}:4789") and rows(out, "vx", f"{B}:4789"), out
    out = human(d, "stats", "vx")
    assert rows(out, f"{C}:4789", "control"), out
    assert f"vxlan dropped (unlisted): {u1}" in out, out
    m0 = scrape(d)
    rx0 = vtep_metric(m0, "vnet_vxlan_vtep_rx_frames_total", C)
    tx0 = vtep_metric(m0, "vnet_vxlan_vtep_tx_frames_total", C)
    assert rx0 >= 3 and tx0 >= 3, (rx0, tx0)
    assert vtep_metric(m0, "vnet_vxlan_vtep_macs", C) >= 1
    assert vtep_metric(m0, "vnet_vxlan_vtep_rx_bytes_total", B) > 0
    tx, rx = ping_stats(ga.ping(IP_C, count=5).stdout)
    assert rx == tx == 5
    m1 = scrape(d)
    assert vtep_metric(m1, "vnet_vxlan_vtep_rx_frames_total", C) >= rx0 + 5
    assert vtep_metric(m1, "vnet_vxlan_vtep_tx_frames_total", C) >= tx0 + 5
    assert vtep_metric(m1, "vnet_vxlan_vtep_tx_bytes_total", C) > \
        vtep_metric(m0, "vnet_vxlan_vtep_tx_bytes_total", C)
    assert m1[("vnet_vxlan_vteps", frozenset({("port", "vx")}))] == 2
    st1 = next(v for v in d.ctl("stats")["ports"] if v["name"] == "vx")
    assert next(v for v in st1["vteps"] if v["address"] == C)["rx_frames"] >= \
        sc["rx_frames"] + 5

    # vtep del: forgotten with its MACs, its packets unlisted again.
    r = d.ctl("vtep", "del", "vx", C)
    assert r == {"port": "vx", "vtep": C, "forgotten": True}, r
    assert vtep_of(d, C) is None
    assert not any(e.get("vtep") == C for e in d.fdb("lan")), d.fdb("lan")
    assert entry(d, MAC_C) is None, d.fdb("lan")  # nor the switch's entry on vx
    assert not rows(human(d, "fdb"), MAC_C)
    assert not rows(human(d, "vtep", "list"), f"{C}:4789")
    cp = gc.ping(IP_A, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    wait_for(lambda: d.port("vx")["vxlan_drops"]["unlisted"] > u1, 5,
             what="hc's packets counted as unlisted again")
    assert vtep_metric(scrape(d), "vnet_vxlan_vtep_rx_frames_total", C) is None
    # gb was never disturbed.
    tx, rx = ping_stats(ga.ping(IP_B, count=3).stdout)
    assert rx == tx == 3
    d.assert_alive()


def test_static_fdb_without_learning(netns, vnetd_in):
    d, ga, kv = host_a(netns, vnetd_in, vx_kw={"learning": False, "remotes": []}, mgmt=True,
                       kernel=(B,))
    gb = kv[B].guest
    # No ARP across an empty flood list: the guests know each other's MACs.
    ga.ip("neigh", "replace", IP_B, "lladdr", MAC_B, "dev", "eth0")
    gb.ip("neigh", "replace", IP_A, "lladdr", MAC_A, "dev", "eth0")
    assert d.ctl("vtep", "list")[0]["learning"] is False

    # hb is not known yet: no static MAC behind it.
    refused(d, f"VTEP {B} is not known to port 'vx'", "fdb", "add", "lan", MAC_B, "vtep", B)
    # Known, but in mgmt's flood list only: lan's unicast to gb goes nowhere.
    assert d.ctl("vtep", "add", "vx", B, "--networks", "mgmt")["vtep"]["flood"] == ["mgmt"]
    nv0 = d.port("vx")["vxlan_drops"]["no_vtep"]
    cp = ga.ping(IP_B, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    assert d.port("vx")["vxlan_drops"]["no_vtep"] >= nv0 + 2

    # fdb add: static, listed at once (no traffic yet: no age), and unicast gets there.
    r = d.ctl("fdb", "add", "lan", MAC_B, "vtep", B)
    assert r == {"port": "vx", "network": "lan", "mac": MAC_B, "vtep": B, "replaced": None}, r
    e = entry(d, MAC_B)
    assert (e["port"], e["vtep"], e["origin"], e["age_s"]) == ("vx", B, "static", None), e
    assert rows(human(d, "fdb", "lan"), "lan", MAC_B, "vx", "-", B, "static")
    tx, rx = ping_stats(ga.ping(IP_B, count=3).stdout)
    assert rx == tx == 3
    e = entry(d, MAC_B)
    assert (e["vtep"], e["origin"]) == (B, "static"), e
    v = vtep_of(d, B)
    assert (v["static_macs"], v["macs"], v["flood"]) == (1, 0, ["mgmt"]), v
    assert v["tx_frames"] >= 3 and v["rx_frames"] >= 3
    # learning: false learns no remote MAC (ga's reply came through, not learned).
    assert not any(e["origin"] == "learned" for e in d.fdb() if e.get("origin"))
    # again: it replaces itself
    r = d.ctl("fdb", "add", "lan", MAC_B, "vtep", B)
    assert r["replaced"] == "static"

    # fdb del: gone, unicast goes nowhere again.
    assert human(d, "fdb", "del", "lan", MAC_B).strip() == "ok"
    assert entry(d, MAC_B) is None, d.fdb("lan")
    assert not rows(human(d, "fdb", "lan"), MAC_B)
    assert vtep_of(d, B)["static_macs"] == 0
    cp = ga.ping(IP_B, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    refused(d, f"no remote entry for {MAC_B}", "fdb", "del", "lan", MAC_B)
    d.assert_alive()


def test_errors_and_access(netns, vnetd_in, rundir):
    d, ga, _ = host_a(netns, vnetd_in, extra={"control": f"{rundir}/vnetd.ctl",
                                              "control_group": "nogroup"})
    before = d.ctl("vtep", "list")

    refused(d, "no port named 'nope'", "vtep", "add", "nope", D)
    refused(d, "no port named 'nope'", "vtep", "list", "nope")
    refused(d, "port 'ga' is not a vxlan port (it is a tap port)", "vtep", "add", "ga", D)
    refused(d, "port 'ga' is not a vxlan port", "vtep", "list", "ga")
    refused(d, "port 'ga' is not a vxlan port", "vtep", "del", "ga", B)
    refused(d, "'198.18.41.300' is not ADDR, ADDR:PORT", "vtep", "add", "vx", "198.18.41.300")
    refused(d, "is not ADDR, ADDR:PORT", "vtep", "add", "vx", f"{D}:0")
    refused(d, f"{A} is port 'vx''s own address", "vtep", "add", "vx", A)
    refused(d, "239.1.2.3 is not a VTEP's address", "vtep", "add", "vx", "239.1.2.3")
    refused(d, "0.0.0.0 is not a VTEP's address", "vtep", "add", "vx", "0.0.0.0")
    refused(d, "VTEP fd41::2 is IPv6", "vtep", "add", "vx", "fd41::2")
    refused(d, "VTEP fd41::2 is IPv6", "vtep", "add", "vx", "[fd41::2]:4789")
    refused(d, f"VTEP {B} is already in the flood list of port 'vx' (lan)",
            "vtep", "add", "vx", B)
    refused(d, "no network named 'nonet'", "vtep", "add", "vx", D, "--networks", "nonet")
    refused(d, "--networks wants", "vtep", "add", "vx", D, "--networks", status=2)
    refused(d, f"no VTEP {D} in the flood list of port 'vx'", "vtep", "del", "vx", D)
    refused(d, f"VTEP {D} is not known to port 'vx'", "fdb", "add", "lan",
            "02:00:00:41:00:99", "vtep", D)
    refused(d, "01:00:5e:00:00:01 is not a unicast MAC", "fdb", "add", "lan",
            "01:00:5e:00:00:01", "vtep", B)
    refused(d, "ff:ff:ff:ff:ff:ff is not a unicast MAC", "fdb", "add", "lan",
            "ff:ff:ff:ff:ff:ff", "vtep", B)
    refused(d, "'zz' is not a MAC address", "fdb", "add", "lan", "zz", "vtep", B)
    refused(d, "no network named 'nonet'", "fdb", "add", "nonet", "02:00:00:41:00:99",
            "vtep", B)
    refused(d, "expected 'vtep ADDR' after the MAC", "fdb", "add", "lan",
            "02:00:00:41:00:99", "via", B, status=2)
    refused(d, "no remote entry for 02:00:00:41:00:99", "fdb", "del", "lan",
            "02:00:00:41:00:99")
    refused(d, "no network named 'nonet'", "fdb", "del", "nonet", "02:00:00:41:00:99")
    assert shape(d.ctl("vtep", "list")) == shape(before)

    # A VTEP at another UDP port, for some networks, and out again.
    assert human(d, "vtep", "add", "vx", f"{D}:8472").strip() == "ok"
    v = vtep_of(d, D)
    assert (v["port"], v["origin"], v["flood"]) == (8472, "control", ["lan"]), v
    assert d.ctl("vtep", "add", "vx", f"{UL}.10", "--networks=lan")["vtep"]["flood"] == ["lan"]
    assert d.ctl("fdb", "add", "lan", "02:00:00:41:00:99", "vtep", D)["port"] == "vx"
    assert vtep_of(d, D)["static_macs"] == 1

    # An unprivileged client lists, and changes nothing.
    for args in (("vtep", "list"), ("vtep", "list", "vx"), ("fdb", "lan"), ("stats", "vx")):
        cp = ctl_as(d, MEMBER, *args)
        assert cp.returncode == 0, (args, cp.stderr)
    snapshot = d.ctl("vtep", "list")
    for args in (("vtep", "add", "vx", f"{UL}.11"), ("vtep", "del", "vx", D),
                 ("vtep", "del", "vx", B), ("fdb", "add", "lan", "02:00:00:41:00:98", "vtep", D),
                 ("fdb", "del", "lan", "02:00:00:41:00:99")):
        cp = ctl_as(d, MEMBER, *args)
        assert cp.returncode == 1 and "permission denied" in cp.stderr, (args, cp.stderr)
    assert shape(d.ctl("vtep", "list")) == shape(snapshot)
    assert entry(d, "02:00:00:41:00:99")["origin"] == "static"

    # Root takes it out: forgotten with the static MAC behind it.
    r = d.ctl("vtep", "del", "vx", D)
    assert r["forgotten"] is True
    assert vtep_of(d, D) is None and entry(d, "02:00:00:41:00:99") is None
    d.assert_alive()
