"""vnetd in a BGP EVPN fabric run by FRR (issue 12 item 5).

Two hosts on an underlay bridge (192.0.2.0/24, only inside the test's
namespaces), each running FRR 8.4 (zebra + bgpd, iBGP, L2VPN EVPN,
advertise-all-vni):

    g1 --tap-- [h1: vnetd, vxlan port 192.0.2.1 learning: false, evpn: {port: vx};
                    FRR watching vnetd's mirror devices vnb/vnx/vnt4242]
                                  |
                              underlay
                                  |
    g2 --veth-- [h2: br0 + vx0 (kernel VTEP 192.0.2.2, nolearning, no flood
                    list of its own); FRR programs it]

Nothing configures a flood list or a remote MAC: FRR's type-3 routes give
each side its flood list (vnetd's vxlan port from the mirror's 00:00:00:00:00:00
entries), type-2 routes the MACs (vnetd's local MACs reach FRR through the
mirror bridge, the kernel guest's MAC reaches vnetd as a static entry). The
kernel-side guest leases its address from vnetd's gateway across the overlay.
"""
import json
import time

import pytest

import overlay_util as ou
from modes_util import tap, udhcpc, vnetd_in  # noqa: F401 (vnetd_in is a fixture)
from vnet import run, wait_for

VNI = 4242
G1_MAC = "02:00:00:e0:00:01"


@pytest.fixture(autouse=True)
def _need_frr():
    why = ou.missing_frr()
    if why:
        pytest.skip(why)


def vnetd_conf(g1, evpn=None, learning=False, more_taps=()):
    return {
        "networks": [{"name": "lan", "mode": "nat", "vni": VNI, "subnet": "10.77.0.0/24",
                      "gateway": "10.77.0.1", "dhcp": {"range": "10.77.0.100-10.77.0.199"},
                      "dns": {"upstream": ["127.0.0.1"]}}],
        "ports": [tap("g1", g1, "lan", mac=G1_MAC), *more_taps,
                  {"name": "vx", "type": "vxlan", "local": "192.0.2.1", "networks": ["lan"],
                   "learning": learning}],
        "evpn": evpn or {"port": "vx"},
    }


def fabric(netns, procs, vnetd_in, evpn=None, more_guests=()):
    """The topology of the module comment, BGP up. more_guests: (name, MAC)
    of further tap guests of vnetd. Returns a dict of its parts."""
    ul = ou.underlay(netns)
    h1, h2, g1 = netns(), netns(), netns()
    ul.attach(h1, "192.0.2.1/24")
    ul.attach(h2, "192.0.2.2/24")
    more = {name: netns() for name, _ in more_guests}
    taps = [tap(name, more[name], "lan", mac=mac) for name, mac in more_guests]
    d = vnetd_in(h1, vnetd_conf(g1, evpn=evpn, more_taps=taps), name="vnetd-h1")
    for g in (g1, *more.values()):
        g.wait_link()
        g.ip("link", "set", "eth0", "up")
    f1 = ou.Frr(procs, h1, "192.0.2.1", 65000, ["192.0.2.2"])
    try:
        f2 = ou.frr_host(netns, procs, h2, VNI, "192.0.2.2", 65000, ["192.0.2.1"])
    except BaseException:
        f1.stop()
        raise
    try:
        f2.vtep.add_guest(None)
        wait_for(lambda: f1.established() == {"192.0.2.2"}, 30, interval=0.5,
                 what="the BGP session")
    except BaseException:  # the callers' finally has nothing to stop yet
        f1.stop()
        f2.stop()
        raise
    return dict(h1=h1, h2=h2, g1=g1, g2=f2.vtep.guests[0], d=d, f1=f1, f2=f2, k=f2.vtep,
                **more)


def vx_vtep(d, addr):
    return next((v for v in d.port("vx")["vteps"] if v["address"] == addr), None)


def test_evpn_with_frr(netns, procs, vnetd_in, tmp_path):
    t = fabric(netns, procs, vnetd_in)
    d, f1, f2, k, g1, g2 = t["d"], t["f1"], t["f2"], t["k"], t["g1"], t["g2"]
    try:
        st = d.ctl("evpn")
        assert st["port"] == "vx" and st["kernel_port"] == 4788, st
        assert st["vnis"][0]["vni"] == VNI and st["vnis"][0]["vxlan"] == f"vnx{VNI}"
        # FRR on h1 sees vnetd's VNI through the mirror, with vnetd's VTEP address
        vni = f1.vtysh_json(f"show evpn vni {VNI}")
        assert vni.get("vni") == VNI and vni.get("vtepIp") == "192.0.2.1", vni
        # type-3 both ways: the kernel floods to vnetd, vnetd to the kernel
        wait_for(lambda: k.flood_list() == {"192.0.2.1"}, 20, interval=0.3,
                 what="h2's flood list naming vnetd")
        wait_for(lambda: (vx_vtep(d, "192.0.2.2") or {}).get("flood") == ["lan"], 20,
                 interval=0.3, what="vnetd's flood list naming h2")
        assert vx_vtep(d, "192.0.2.2")["origin"] == "evpn"
        # the kernel-side guest leases from vnetd's gateway across the overlay
        lease = udhcpc(g2, tmp_path / "g2")
        assert lease["router"] == "10.77.0.1" and lease["mtu"] == "1450", lease
        lease1 = udhcpc(g1, tmp_path / "g1")
        ip1, ip2 = lease1["ip"], lease["ip"]
        g2.ping_until(ip1, timeout=15)
        g1.ping(ip2, count=3)
        # type-2: vnetd's guest and gateway MACs are advertised and installed at h2
        gw_mac = d.port("gw-lan")["mac"]
        wait_for(lambda: k.remote_macs().get(G1_MAC) == "192.0.2.1" and
                 k.remote_macs().get(gw_mac) == "192.0.2.1", 20, interval=0.3,
                 what="h2 installing vnetd's MACs from type-2 routes")
        routes = f2.frr.evpn_routes()
        assert any(r[:2] == (2, G1_MAC) and r[-1] == "192.0.2.1" for r in routes), routes
        # ... and the kernel guest's MAC is a static entry of vnetd's vxlan port
        g2_mac = g2.mac()
        wait_for(lambda: d.ctl("evpn")["vnis"][0]["remote_macs"] >= 1 and
                 vx_vtep(d, "192.0.2.2")["static_macs"] >= 1, 20, interval=0.3,
                 what="vnetd importing h2's guest MAC")
        assert any(r[:2] == (2, g2_mac) and r[-1] == "192.0.2.2" for r in f1.evpn_routes())
        # vnetctl fdb names the VTEP and says where the entry came from
        ent = [e for e in d.fdb("lan") if e["mac"] == g2_mac]
        assert len(ent) == 1 and ent[0]["port"] == "vx", ent
        assert ent[0]["vtep"] == "192.0.2.2" and ent[0]["origin"] == "evpn", ent
        ou.tcp_transfer(g1, g2, ip2, 2_000_000, port=5701)
        ou.tcp_transfer(g2, g1, ip1, 2_000_000, port=5702)
        st = d.ctl("evpn")
        assert st["vnis"][0]["flood"] == ["192.0.2.2"], st
        assert st["vnis"][0]["local_macs"] >= 2 and st["stats"]["injected"] >= 2, st
        assert st["stats"]["mac_errors"] == 0 and st["stats"]["malformed"] == 0, st
        # the mirror carries no data: its bridge sent nothing into vnetd's tap,
        # its vxlan device nothing onto the underlay
        assert st["stats"]["tap_rx"] == 0, st
        assert t["h1"].exec("cat", f"/sys/class/net/vnx{VNI}/statistics/tx_packets").stdout.strip() \
            == "0"
        d.assert_alive()
        # vnetd gone: its tap goes, the mirror vxlan device with it, and FRR
        # withdraws vnetd's VTEP and MACs from the fabric
        d.stop()
        wait_for(lambda: not t["h1"].has_link(f"vnx{VNI}"), 10, what="vnx gone with vnetd")
        wait_for(lambda: k.flood_list() == set() and G1_MAC not in k.remote_macs(), 20,
                 interval=0.3, what="h2 withdrawing vnetd's routes")
        assert t["h1"].has_link(f"vnb{VNI}") and not t["h1"].has_link(f"vnt{VNI}")
        # started again (the bridge is reused): back in the fabric
        d2 = vnetd_in(t["h1"], vnetd_conf(g1), name="vnetd-h1-again")
        g1.wait_link()  # a new tap: address it again
        g1.ip("link", "set", "eth0", "up")
        g1.addr(f"{ip1}/24")
        wait_for(lambda: k.flood_list() == {"192.0.2.1"}, 20, interval=0.3,
                 what="h2's flood list naming vnetd again")
        g2.ping_until(ip1, timeout=15)
        wait_for(lambda: k.remote_macs().get(G1_MAC) == "192.0.2.1", 20, interval=0.3,
                 what="vnetd's guest advertised again")
        d2.assert_alive()
    finally:
        f1.stop()
        f2.stop()


VM_MAC = "02:00:00:e0:00:99"


def make_mirror(h, vni=VNI, local="192.0.2.1", port=4788):
    """The mirror devices of one VNI, made the way an administrator would for
    evpn.create: false (a persistent tap)."""
    for cmd in (["ip", "link", "add", f"vnb{vni}", "type", "bridge", "ageing_time", "3000",
                 "mcast_snooping", "0"],
                ["ip", "tuntap", "add", f"vnt{vni}", "mode", "tap"],
                ["ip", "link", "add", f"vnx{vni}", "type", "vxlan", "id", str(vni), "local", local,
                 "dstport", str(port), "nolearning", "dev", f"vnt{vni}"],
                ["ip", "link", "set", f"vnt{vni}", "master", f"vnb{vni}"],
                ["ip", "link", "set", f"vnx{vni}", "master", f"vnb{vni}"],
                ["bridge", "link", "set", "dev", f"vnx{vni}", "learning", "off"],
                ["ip", "link", "set", f"vnt{vni}", "up"],
                ["ip", "link", "set", f"vnx{vni}", "up"],
                ["ip", "link", "set", f"vnb{vni}", "up"]):
        h.exec(*cmd)


def test_evpn_devices_made_beforehand(netns, procs, vnetd_in):
    """evpn.create: false: vnetd checks the administrator's devices, refuses
    wrong ones with a clear reason, and works through good ones (which stay
    when it exits: the tap is persistent)."""
    ul = ou.underlay(netns)
    h1, h2, g1 = netns(), netns(), netns()
    ul.attach(h1, "192.0.2.1/24")
    ul.attach(h2, "192.0.2.2/24")
    conf = vnetd_conf(g1, evpn={"port": "vx", "create": False})
    bad = vnetd_in(h1, conf, name="vnetd-missing", start=False)
    with pytest.raises(AssertionError, match="vnb4242 does not exist .evpn.create is false"):
        bad.start()
    make_mirror(h1, local="192.0.2.9")
    bad = vnetd_in(h1, conf, name="vnetd-bad-local", start=False)
    with pytest.raises(AssertionError, match="vnx4242 must be 'vxlan id 4242 local 192.0.2.1'"):
        bad.start()
    h1.exec("ip", "link", "del", f"vnx{VNI}")
    h1.exec("ip", "link", "add", f"vnx{VNI}", "type", "vxlan", "id", str(VNI), "local",
            "192.0.2.1", "dstport", "4788", "nolearning", "dev", f"vnt{VNI}")
    h1.exec("ip", "link", "set", f"vnx{VNI}", "master", f"vnb{VNI}")
    h1.exec("bridge", "link", "set", "dev", f"vnx{VNI}", "learning", "off")
    h1.exec("ip", "link", "set", f"vnx{VNI}", "up")
    d = vnetd_in(h1, conf, name="vnetd-h1")
    g1.wait_link()
    g1.ip("link", "set", "eth0", "up")
    g1.addr("10.77.0.11/24")
    assert d.ctl("evpn")["create"] is False
    f1 = ou.Frr(procs, h1, "192.0.2.1", 65000, ["192.0.2.2"])
    f2 = ou.frr_host(netns, procs, h2, VNI, "192.0.2.2", 65000, ["192.0.2.1"], "10.77.0.21/24")
    try:
        wait_for(lambda: f2.vtep.flood_list() == {"192.0.2.1"} and
                 d.ctl("evpn")["vnis"][0]["flood"] == ["192.0.2.2"], 30, interval=0.3,
                 what="type-3 routes both ways")
        g1.ping_until("10.77.0.21", timeout=15)
        f2.guest.ping("10.77.0.11", count=2)
        d.stop()
        assert h1.has_link(f"vnx{VNI}") and h1.has_link(f"vnt{VNI}")
    finally:
        f1.stop()
        f2.stop()


def h1_remote(h1, mac):
    """The VTEP h1's mirror vxlan device has mac behind, per zebra's two entries, or None."""
    out = json.loads(h1.exec("bridge", "-j", "fdb", "show", "dev", f"vnx{VNI}").stdout or "[]")
    dst = next((e.get("dst") for e in out if e["mac"] == mac and e.get("dst")), None)
    master = any(e["mac"] == mac and e.get("master") and "extern_learn" in e.get("flags", [])
                 for e in out)
    return dst if master else None


def test_evpn_mac_move(netns, procs, vnetd_in):
    """A VM (its MAC) moves from vnetd's host to the kernel host without a
    frame reaching vnetd: FRR's MAC mobility moves it, vnetd follows (its
    guests reach it at the new host) and does not claim it back, though its
    own fdb still had it on the old tap; then it moves back."""
    t = fabric(netns, procs, vnetd_in, evpn={"port": "vx", "ageing": 6},
               more_guests=[("vm", VM_MAC)])
    d, k, h1, h2, g1, vm, g2 = t["d"], t["k"], t["h1"], t["h2"], t["g1"], t["vm"], t["g2"]
    f1, f2 = t["f1"], t["f2"]
    try:
        g1.addr("10.77.0.11/24")
        vm.addr("10.77.0.12/24")
        g2.addr("10.77.0.21/24")
        vm.ping_until("10.77.0.21", timeout=15)
        g1.ping_until("10.77.0.12", timeout=10)
        wait_for(lambda: k.where(VM_MAC) == "192.0.2.1", 20, interval=0.3,
                 what="h2 learning the VM's MAC behind vnetd")
        # the move: the VM vanishes from vnetd's tap and appears behind h2's
        # kernel VTEP, talking only to g2 there (a static neighbour: no ARP
        # broadcast, so no frame of it reaches vnetd)
        vm.ip("link", "set", "eth0", "down")
        moved = k.add_guest("10.77.0.12/24", mac=VM_MAC)
        moved.ip("neigh", "add", "10.77.0.21", "lladdr", g2.mac(), "dev", "eth0", "nud",
                 "permanent")
        g2.ip("neigh", "replace", "10.77.0.12", "lladdr", VM_MAC, "dev", "eth0", "nud",
              "permanent")
        moved.ping("10.77.0.21", count=3)
        wait_for(lambda: h1_remote(h1, VM_MAC) == "192.0.2.2", 20, interval=0.3,
                 what="h1's FRR installing the VM's MAC behind h2 (MAC mobility)")
        wait_for(lambda: k.where(VM_MAC) == "local", 10, interval=0.3,
                 what="h2 holding the VM's MAC as local")
        # vnetd's guest reaches the VM at its new host (g1's ARP cache still
        # names the MAC: frames follow vnetd's import, not the old tap)
        g1.ping("10.77.0.12", count=3)
        # several refresh periods (ageing 6 s: every 2 s) later, vnetd has not
        # claimed the MAC back: h2 still has it local, h1 remote
        stats0 = d.ctl("evpn")["stats"]
        time.sleep(7)
        assert k.where(VM_MAC) == "local", k.fdb()
        assert h1_remote(h1, VM_MAC) == "192.0.2.2"
        st = d.ctl("evpn")
        assert st["stats"]["mac_errors"] == 0, st
        assert st["stats"]["mac_added"] == stats0["mac_added"], (stats0, st["stats"])
        # and back: the VM leaves h2 and sends from vnetd's tap again
        moved.ip("link", "set", "eth0", "down")
        vm.ip("link", "set", "eth0", "up")
        vm.ping_until("10.77.0.11", timeout=15)
        wait_for(lambda: k.where(VM_MAC) == "192.0.2.1", 20, interval=0.3,
                 what="h2 installing the VM's MAC behind vnetd again")
        assert h1_remote(h1, VM_MAC) is None
        g2.ping("10.77.0.12", count=3)
        routes = f2.frr.vtysh(f"show evpn mac vni {VNI} mac {VM_MAC}")
        assert "192.0.2.1" in routes, routes
        d.assert_alive()
    finally:
        f1.stop()
        f2.stop()
