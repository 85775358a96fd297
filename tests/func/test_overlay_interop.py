"""VXLAN interop: the peers vnetd's VXLAN port must interoperate with, proven
to work with each other first (baselines without vnet), then vnetd against
them, in namespaces the test creates (underlay 192.0.2.0/24 and guests
10.77.0.0/24 exist only there).

    kernel <-> kernel   two Linux VTEPs (vxlan nolearning + bridge, static
                        flood lists): ARP, ping, TCP both ways
    kernel <-> OVS      Open vSwitch with the userspace netdev datapath (no
                        kernel module), a vxlan interface with remote_ip/key:
                        ping and TCP both ways, each side's MAC learnt
    FRR EVPN            two FRR instances (zebra + bgpd) peering over iBGP with
                        the L2VPN EVPN family, each driving a kernel VTEP: type-2
                        and type-3 routes exchanged, the remote MACs and flood
                        lists installed in the kernel, guests ping across
    vnetd <-> kernel    vnetd (nat network with DHCP, tap guest, vxlan port)
                        and a Linux VTEP (nolearning, and learning): the
                        kernel-side guest leases from vnetd's gateway across
                        the overlay (MTU 1450), ARP, ping, TCP and iperf3 both
                        ways, each side learning the other's MACs
    vnetd <-> OVS       the same with Open vSwitch's userspace datapath

Guests' veths have transmit checksum offload off (overlay_util's module
comment says why: a user-space VTEP reads the inner frame from a UDP payload
as it is, so a checksum a veth left for "hardware" would arrive unfilled).

Each test takes a few seconds (every wait is bounded); OVS and FRR tests skip
with the reason when the package is missing (scripts/install-deps.sh installs
openvswitch-switch and frr).
"""
import pytest

import overlay_util as ou
from modes_util import tap, udhcpc, vnetd_in  # noqa: F401 (vnetd_in is a fixture)
from vnet import wait_for

VNI = 4242


@pytest.fixture(autouse=True)
def _need_vxlan():
    why = ou.missing_vxlan()
    if why:
        pytest.skip(why)


def two_ways(a, b, a_ip, b_ip):
    """ARP + ping both ways, then TCP both ways (2 MB each, checked by SHA-256)."""
    a.ping_until(b_ip, timeout=15)
    b.ping(a_ip, count=3)
    a.ping(b_ip, count=3)
    ou.tcp_transfer(a, b, b_ip, 2_000_000, port=5701)
    ou.tcp_transfer(b, a, a_ip, 2_000_000, port=5702)


def test_kernel_kernel(netns):
    ul = ou.underlay(netns)
    h1, h2 = netns(), netns()
    ul.attach(h1, "192.0.2.1/24")
    ul.attach(h2, "192.0.2.2/24")
    k1 = ou.kernel_vtep(netns, h1, VNI, "192.0.2.1", ["192.0.2.2"], "10.77.0.1/24")
    k2 = ou.kernel_vtep(netns, h2, VNI, "192.0.2.2", ["192.0.2.1"], "10.77.0.2/24")
    assert k1.mtu == 1450 and k1.flood_list() == {"192.0.2.2"}
    two_ways(k1.guest, k2.guest, "10.77.0.1", "10.77.0.2")
    # nolearning: the kernel VTEPs never learn a remote MAC from the outer source
    assert k1.remote_macs() == {} and k2.remote_macs() == {}
    # but the bridges learn the remote guest behind the vxlan port
    assert k1.bridge_macs().get(k2.guest.mac()) == k1.vx


def test_kernel_kernel_ipv6_underlay(netns):
    ul = ou.underlay(netns)
    h1, h2 = netns(), netns()
    ul.attach(h1, "2001:db8::1/64")
    ul.attach(h2, "2001:db8::2/64")
    k1 = ou.kernel_vtep(netns, h1, VNI, "2001:db8::1", ["2001:db8::2"], "10.77.0.1/24")
    k2 = ou.kernel_vtep(netns, h2, VNI, "2001:db8::2", ["2001:db8::1"], "10.77.0.2/24")
    assert k1.mtu == 1430
    k1.guest.ping_until("10.77.0.2", timeout=15)
    k2.guest.ping("10.77.0.1", count=2)


@pytest.fixture
def ovs_ok():
    why = ou.missing_ovs()
    if why:
        pytest.skip(why)


def test_kernel_ovs(netns, procs, ovs_ok):
    """A Linux VTEP and Open vSwitch (userspace datapath) carry one network."""
    ul = ou.underlay(netns)
    hk, ho = netns(), netns()
    ul.attach(hk, "192.0.2.1/24")
    ul.attach(ho)  # OVS puts 192.0.2.2 on its br-phy
    k = ou.kernel_vtep(netns, hk, VNI, "192.0.2.1", ["192.0.2.2"], "10.77.0.1/24")
    o = ou.ovs_host(netns, procs, ho, "192.0.2.2/24", VNI, ["192.0.2.1"], "10.77.0.2/24")
    try:
        assert "netdev" in o.vsctl("get", "bridge", "br-int", "datapath_type")
        two_ways(k.guest, o.guest, "10.77.0.1", "10.77.0.2")
        # OVS learnt the kernel guest behind its vxlan interface, the kernel
        # bridge the OVS guest behind its vxlan device
        assert o.macs().get(k.guest.mac()) == "vx0", o.appctl("fdb/show", "br-int")
        assert k.bridge_macs().get(o.guest.mac()) == k.vx
        # the userspace datapath encapsulates itself (tnl_push of our VNI)
        flows = o.appctl("dpctl/dump-flows")
        assert "tnl_push" in flows and f"vni={VNI:#x}" in flows, flows
    finally:
        o.stop()


@pytest.fixture
def frr_ok():
    why = ou.missing_frr()
    if why:
        pytest.skip(why)


def test_frr_evpn(netns, procs, frr_ok):
    """Two FRR instances exchange EVPN routes and program their kernel VTEPs."""
    ul = ou.underlay(netns)
    h1, h2 = netns(), netns()
    ul.attach(h1, "192.0.2.1/24")
    ul.attach(h2, "192.0.2.2/24")
    f1 = ou.frr_host(netns, procs, h1, VNI, "192.0.2.1", 65000, ["192.0.2.2"], "10.77.0.1/24")
    f2 = ou.frr_host(netns, procs, h2, VNI, "192.0.2.2", 65000, ["192.0.2.1"], "10.77.0.2/24")
    try:
        wait_for(lambda: f1.frr.established() == {"192.0.2.2"}, 30, interval=0.5,
                 what="the BGP session")
        # type-3 (IMET): each side's VTEP, and from it the flood list in the kernel
        wait_for(lambda: f1.vtep.flood_list() == {"192.0.2.2"} and
                 f2.vtep.flood_list() == {"192.0.2.1"}, 20, interval=0.3,
                 what="FRR installing the flood lists")
        r1 = f1.frr.evpn_routes()
        assert (3, "192.0.2.1", "192.0.2.1") in r1 and (3, "192.0.2.2", "192.0.2.2") in r1, r1
        # the guests talk: their MACs become type-2 routes, installed as remote MACs
        f1.guest.ping_until("10.77.0.2", timeout=20)
        m1, m2 = f1.guest.mac(), f2.guest.mac()
        wait_for(lambda: f1.vtep.remote_macs().get(m2) == "192.0.2.2" and
                 f2.vtep.remote_macs().get(m1) == "192.0.2.1", 20, interval=0.3,
                 what="FRR installing the remote MACs")
        r1, r2 = f1.frr.evpn_routes(), f2.frr.evpn_routes()
        for r in (r1, r2):
            assert any(t[:2] == (2, m1) and t[-1] == "192.0.2.1" for t in r), r
            assert any(t[:2] == (2, m2) and t[-1] == "192.0.2.2" for t in r), r
        text = f1.frr.vtysh("show bgp l2vpn evpn")
        assert f"[2]:[0]:[48]:[{m2}]" in text and "[3]:[0]:[32]:[192.0.2.2]" in text, text
        f2.guest.ping("10.77.0.1", count=3)
        ou.tcp_transfer(f1.guest, f2.guest, "10.77.0.2", 1_000_000)
    finally:
        f1.stop()
        f2.stop()


# ---------------------------------------------------------------- vnetd against them

def vnetd_host(netns, vnetd_in, ul, remotes, learning=True, addr="192.0.2.1"):
    """Host namespace with vnetd: network lan (nat, VNI, DHCP from its gateway),
    a tap guest g1, a vxlan port on addr with remotes as its flood list.
    Returns (host, vnetd, guest)."""
    h, g = netns(), netns()
    ul.attach(h, f"{addr}/24")
    conf = {
        "networks": [{"name": "lan", "mode": "nat", "vni": VNI, "subnet": "10.77.0.0/24",
                      "gateway": "10.77.0.1", "dhcp": {"range": "10.77.0.100-10.77.0.199"},
                      "dns": {"upstream": ["127.0.0.1"]}}],
        "ports": [tap("g1", g, "lan"),
                  {"name": "vx", "type": "vxlan", "local": addr, "networks": ["lan"],
                   "remotes": list(remotes), "learning": learning}],
    }
    d = vnetd_in(h, conf, name="vnetd-h1")
    g.wait_link()
    g.ip("link", "set", "eth0", "up")
    return h, d, g


def vx_vtep(d, addr):
    return next(v for v in d.port("vx")["vteps"] if v["address"] == addr)


def iperf_both_ways(a, b, b_ip, a_ip, procs, nbytes="20M"):
    """iperf3 -n nbytes from a to b's server and back (-R), each bounded."""
    srv = b.start("iperf3", "-s", "-1", "-p", "5211")
    wait_for(lambda: b.listening(5211), 10, what="iperf3 server")
    out = a.exec("iperf3", "-c", b_ip, "-p", "5211", "-n", nbytes, "-J", timeout=60).stdout
    assert '"sum_received"' in out
    procs.stop(srv)
    srv = a.start("iperf3", "-s", "-1", "-p", "5212")
    wait_for(lambda: a.listening(5212), 10, what="iperf3 server")
    out = b.exec("iperf3", "-c", a_ip, "-p", "5212", "-n", nbytes, "-J", timeout=60).stdout
    assert '"sum_received"' in out
    procs.stop(srv)


@pytest.mark.parametrize("kernel_learning", [False, True], ids=["nolearning", "learning"])
def test_vnetd_kernel(netns, procs, vnetd_in, tmp_path, kernel_learning):
    """vnetd and a Linux VTEP carry one network: the kernel side's guest leases
    from vnetd's gateway across the overlay, ARP, ping, TCP and iperf3 both
    ways; the kernel learns vnet's MACs from the outer source (learning) or
    its bridge learns them behind the vxlan device (nolearning)."""
    ul = ou.underlay(netns)
    hk = netns()
    ul.attach(hk, "192.0.2.2/24")
    # the kernel guest keeps its offloads (TSO): the host's underlay veth has none, so
    # the kernel checksums and segments before sending (overlay_util's comment)
    k = ou.kernel_vtep(netns, hk, VNI, "192.0.2.2", ["192.0.2.1"], learning=kernel_learning,
                       csum_offload=True)
    kg = k.add_guest(None)
    h, d, g = vnetd_host(netns, vnetd_in, ul, ["192.0.2.2"])
    lease_k = udhcpc(kg, tmp_path / "k")
    lease_v = udhcpc(g, tmp_path / "v")
    assert lease_k["router"] == "10.77.0.1" and lease_k["mtu"] == "1450", lease_k
    kip, vip = lease_k["ip"], lease_v["ip"]
    kg.ping_until("10.77.0.1", timeout=10)
    two_ways(kg, g, kip, vip)
    iperf_both_ways(kg, g, vip, kip, procs)
    # vnetd learnt the kernel guest behind the kernel VTEP (outer source)
    assert vnet_fdb(d).get(kg.mac()) == "vx"
    assert vx_vtep(d, "192.0.2.2")["macs"] >= 1
    if kernel_learning:
        want = {g.mac(): "192.0.2.1", d.port("gw-lan")["mac"]: "192.0.2.1"}
        assert {m: v for m, v in k.remote_macs().items() if m in want} == want, k.fdb()
    else:
        assert k.remote_macs() == {}
        assert k.bridge_macs().get(g.mac()) == k.vx
    d.assert_alive()


def test_vnetd_ovs(netns, procs, vnetd_in, tmp_path, ovs_ok):
    """vnetd and Open vSwitch (userspace datapath) carry one network: ping and
    TCP both ways, each learning the other's guest behind its tunnel."""
    ul = ou.underlay(netns)
    ho = netns()
    ul.attach(ho)
    o = ou.ovs_host(netns, procs, ho, "192.0.2.2/24", VNI, ["192.0.2.1"])
    try:
        og = ou.add_guest(netns, ho, None, "gv", None, o.mtu)
        o.vsctl("add-port", "br-int", "gv")
        h, d, g = vnetd_host(netns, vnetd_in, ul, ["192.0.2.2"])
        lease_o = udhcpc(og, tmp_path / "o")
        lease_v = udhcpc(g, tmp_path / "v")
        assert lease_o["mtu"] == "1450", lease_o
        two_ways(og, g, lease_o["ip"], lease_v["ip"])
        assert vnet_fdb(d).get(og.mac()) == "vx"
        assert o.macs().get(g.mac()) == "vx0", o.appctl("fdb/show", "br-int")
        d.assert_alive()
    finally:
        o.stop()


def vnet_fdb(d):
    return {e["mac"]: e["port"] for e in d.fdb("lan")}
