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
import signal

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


def vnetd_conf(g1, evpn=None, learning=False):
    return {
        "networks": [{"name": "lan", "mode": "nat", "vni": VNI, "subnet": "10.77.0.0/24",
                      "gateway": "10.77.0.1", "dhcp": {"range": "10.77.0.100-10.77.0.199"},
                      "dns": {"upstream": ["127.0.0.1"]}}],
        "ports": [tap("g1", g1, "lan", mac=G1_MAC),
                  {"name": "vx", "type": "vxlan", "local": "192.0.2.1", "networks": ["lan"],
                   "learning": learning}],
        "evpn": evpn or {"port": "vx"},
    }


def fabric(netns, procs, vnetd_in):
    """The topology of the module comment, BGP up. Returns a dict of its parts."""
    ul = ou.underlay(netns)
    h1, h2, g1 = netns(), netns(), netns()
    ul.attach(h1, "192.0.2.1/24")
    ul.attach(h2, "192.0.2.2/24")
    d = vnetd_in(h1, vnetd_conf(g1), name="vnetd-h1")
    g1.wait_link()
    g1.ip("link", "set", "eth0", "up")
    f1 = ou.Frr(procs, h1, "192.0.2.1", 65000, ["192.0.2.2"])
    f2 = ou.frr_host(netns, procs, h2, VNI, "192.0.2.2", 65000, ["192.0.2.1"])
    f2.vtep.add_guest(None)
    wait_for(lambda: f1.established() == {"192.0.2.2"}, 30, interval=0.5, what="the BGP session")
    return dict(h1=h1, h2=h2, g1=g1, g2=f2.vtep.guests[0], d=d, f1=f1, f2=f2, k=f2.vtep)


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
        assert vx_vtep(d, "192.0.2.2")["origin"] == "control"
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
    finally:
        f1.stop()
        f2.stop()
