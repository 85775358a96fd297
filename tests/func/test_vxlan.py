"""VXLAN ports between two vnetd instances (issue 12, items 1-3).

Two "hosts" are namespaces ua and ub joined by a veth (the underlay:
192.168.77.0/24 or fd77::/64, addresses only inside those namespaces); a
vnetd runs inside each (ip netns exec, so its UDP sockets live there), with
guests in namespaces of their own behind tap ports:

    ga  (lan)  --tap-- vnetd A (ua) --vxlan-- veth --vxlan-- vnetd B (ub) --tap-- gb  (lan)
    ga2 (mgmt) --tap--/                                              \\--tap-- gb2 (mgmt)

lan is VNI 100: a nat network with DHCP on host A, a network without
services on host B (isolated, no subnet), so B's guest leases its address
from A's gateway across the overlay. mgmt is VNI 200, isolated on both.
"""
import socket
import struct


from modes_util import tap, udhcpc, veth, vnetd_in  # noqa: F401 (vnetd_in is a fixture)
from overlay_util import tcp_transfer
from vnet import eth_frame, ping_stats, wait_for

UNDERLAY = {4: ("192.168.77.1", "192.168.77.2", 24), 6: ("fd77::1", "fd77::2", 64)}


def underlay(netns, family):
    """Two host namespaces joined by a veth ul0 <-> ul0, addressed."""
    ua, ub = netns(), netns()
    veth(ua, "ul0", ub, "ul0")
    a, b, plen = UNDERLAY[family]
    for ns, addr in ((ua, a), (ub, b)):
        if family == 6:
            ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.ul0.disable_ipv6=0",
                    "net.ipv6.conf.ul0.accept_dad=0")
            ns.ip("addr", "add", f"{addr}/{plen}", "dev", "ul0", "nodad")
        else:
            ns.ip("addr", "add", f"{addr}/{plen}", "dev", "ul0")
    return ua, ub


def vx_port(local, remote, **kw):
    p = {"name": "vx", "type": "vxlan", "local": local, "networks": ["lan", "mgmt"],
         "remotes": [remote]}
    p.update(kw)
    return p


def two_hosts(netns, vnetd_in, family=4, vx_a=None, vx_b=None):
    """The topology of the module comment; returns a dict of its parts."""
    ua, ub = underlay(netns, family)
    ga, ga2, gb, gb2 = netns(), netns(), netns(), netns()
    a, b, _ = UNDERLAY[family]
    la, lb = (a, b) if family == 4 else (f"[{a}]", f"[{b}]")
    conf_a = {
        "networks": [
            {"name": "lan", "mode": "nat", "vni": 100, "dns": {"upstream": ["127.0.0.1"]}},
            {"name": "mgmt", "mode": "isolated", "vni": 200},
        ],
        "ports": [tap("ga", ga, "lan"), tap("ga2", ga2, "mgmt"),
                  vx_a or vx_port(la, lb)],
    }
    conf_b = {
        "networks": [
            {"name": "lan", "mode": "isolated", "vni": 100},
            {"name": "mgmt", "mode": "isolated", "vni": 200},
        ],
        "ports": [tap("gb", gb, "lan"), tap("gb2", gb2, "mgmt"),
                  vx_b or vx_port(lb, la)],
    }
    da = vnetd_in(ua, conf_a, name="vnetd-a")
    db = vnetd_in(ub, conf_b, name="vnetd-b")
    for g in (ga, ga2, gb, gb2):
        g.wait_link()
        g.ip("link", "set", "eth0", "up")
    return dict(ua=ua, ub=ub, ga=ga, ga2=ga2, gb=gb, gb2=gb2, da=da, db=db)


def vtep(port, addr):
    return next(v for v in port["vteps"] if v["address"] == addr)


def test_two_vnetd_over_ipv4(netns, vnetd_in, tmp_path):
    t = two_hosts(netns, vnetd_in, 4)
    ga, gb, ga2, gb2, da, db = t["ga"], t["gb"], t["ga2"], t["gb2"], t["da"], t["db"]

    # The network's MTU defaults to the underlay's (1500) minus 50.
    vx = da.port("vx")
    assert vx["local"] == "192.168.77.1:4789" and vx["underlay_mtu"] == 1500
    assert {(v["network"], v["vni"], v["mtu"]) for v in vx["vnis"]} == {
        ("lan", 100, 1450), ("mgmt", 200, 1450)}
    assert da.network("lan")["mtu"] == 1450 and db.network("lan")["mtu"] == 1450
    assert vx["role"] == "trunk" and set(vx["networks"]) == {"lan", "mgmt"}
    assert vtep(vx, "192.168.77.2")["origin"] == "config"
    assert len(vx["source_ports"]) == 8

    # B's guest leases its address from A's gateway, across the overlay,
    # with the MTU that fits.
    lease_b = udhcpc(gb, tmp_path / "gb")
    assert lease_b["ip"].startswith("10.0.2.") and lease_b["router"] == "10.0.2.2"
    assert lease_b["mtu"] == "1450"
    lease_a = udhcpc(ga, tmp_path / "ga")
    assert lease_a["ip"] != lease_b["ip"]

    # ARP and ping both ways, and B's guest reaches A's gateway.
    gb.ping_until(lease_a["ip"])
    tx, rx = ping_stats(ga.ping(lease_b["ip"], count=5).stdout)
    assert rx == tx == 5
    tx, rx = ping_stats(gb.ping("10.0.2.2", count=3).stdout)
    assert rx == tx == 3
    # A full-size packet fits (1450 + 50 = the underlay's 1500); DF is set.
    tx, rx = ping_stats(ga.ping(lease_b["ip"], count=3, size=1450 - 28,
                                extra=("-M", "do")).stdout)
    assert rx == tx == 3

    # TCP both ways, checked.
    tcp_transfer(ga, gb, lease_b["ip"], 4_000_000, timeout=60)
    tcp_transfer(gb, ga, lease_a["ip"], 4_000_000, port=5702, timeout=60)

    # Learning: each side knows the other's guest (and A's gateway) behind the VTEP.
    mac_a, mac_b = ga.mac(), gb.mac()
    vb = db.port("vx")
    assert vb["remote_macs"]["entries"] >= 2 and vb["remote_macs"]["learned"] >= 2
    assert vtep(vb, "192.168.77.1")["macs"] >= 2
    assert db.fdb_macs("lan")[mac_a] == "vx"
    assert da.fdb_macs("lan")[mac_b] == "vx"
    va = da.port("vx")
    peer = vtep(va, "192.168.77.2")
    assert peer["rx_frames"] > 1000 and peer["tx_frames"] > 1000
    assert peer["last_seen_s"] is not None and peer["last_seen_s"] <= 5
    for p in (va, vb):
        assert sum(p["stats"]["rx_drops"].values()) == 0, p["stats"]["rx_drops"]
        assert all(v == 0 for k, v in p["vxlan_drops"].items()), p["vxlan_drops"]

    # mgmt (VNI 200) is another network: its guests reach each other ...
    ga2.addr("10.0.2.201/24")
    gb2.addr("10.0.2.202/24")
    gb2.ping_until("10.0.2.201")
    # ... and never lan's, though the subnets look alike.
    cp = ga2.ping(lease_b["ip"], count=2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    cp = ga.ping("10.0.2.202", count=2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    assert ga2.mac() not in db.fdb_macs("lan") and gb2.mac() in da.fdb_macs("mgmt")


def test_two_vnetd_over_ipv6(netns, vnetd_in, tmp_path):
    t = two_hosts(netns, vnetd_in, 6)
    ga, gb, da = t["ga"], t["gb"], t["da"]
    vx = da.port("vx")
    assert vx["local"] == "[fd77::1]:4789"
    assert {v["mtu"] for v in vx["vnis"]} == {1430}  # 1500 - 70
    lease_b = udhcpc(gb, tmp_path / "gb")
    assert lease_b["mtu"] == "1430"
    lease_a = udhcpc(ga, tmp_path / "ga")
    gb.ping_until(lease_a["ip"])
    tx, rx = ping_stats(ga.ping(lease_b["ip"], count=3, size=1430 - 28,
                                extra=("-M", "do")).stdout)
    assert rx == tx == 3
    tcp_transfer(ga, gb, lease_b["ip"], 4_000_000, timeout=60)
    tcp_transfer(gb, ga, lease_a["ip"], 4_000_000, port=5702, timeout=60)
    assert vtep(da.port("vx"), "fd77::2")["macs"] >= 1


def vxlan_packet(vni, inner, flags=0x08):
    return bytes([flags, 0, 0, 0]) + struct.pack("!I", vni << 8) + inner


def test_bad_packets_are_counted_and_dropped(netns, vnetd_in, tmp_path):
    """Malformed headers, an unknown VNI, a truncated or VLAN-tagged inner
    frame, and packets from an address not listed are each dropped and
    counted; frames from the listed VTEP get through and are learned."""
    t = two_hosts(netns, vnetd_in, 4)
    ub, da = t["ub"], t["da"]
    ub.ip("addr", "add", "192.168.77.3/24", "dev", "ul0")
    good = eth_frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:0b", 0x0800, b"\x45" + b"\0" * 40)
    tagged = eth_frame("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:0c", 0x8100,
                       b"\x00\x0a\x08\x00" + b"\0" * 40)
    sends = [
        ("192.168.77.2", b"\x08\0\0"),                          # shorter than a header
        ("192.168.77.2", vxlan_packet(100, good, flags=0)),     # I flag clear
        ("192.168.77.2", vxlan_packet(999, good)),              # VNI not carried
        ("192.168.77.2", vxlan_packet(100, good[:10])),         # inner frame cut short
        ("192.168.77.2", vxlan_packet(100, tagged)),            # inner 802.1Q tag
        ("192.168.77.3", vxlan_packet(100, good)),              # not a listed VTEP
        ("192.168.77.2", vxlan_packet(100, good, flags=0x88)),  # reserved bit: ignored
    ]

    def send_all():
        for src, pkt in sends:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((src, 0))
            s.sendto(pkt, ("192.168.77.1", 4789))
            s.close()

    ub.in_ns(send_all)

    def counted():
        vx = da.port("vx")
        d = vx["vxlan_drops"]
        return vx if (d["bad_header"], d["no_i_flag"], d["unknown_vni"], d["truncated"],
                      d["inner_vlan"], d["unlisted"]) == (1, 1, 1, 1, 1, 1) else None

    vx = wait_for(counted, 10, what="every bad packet counted")
    rd = vx["stats"]["rx_drops"]
    assert (rd["malformed"], rd["vni"], rd["vlan"], rd["vtep"]) == (3, 1, 1, 1)
    assert vtep(vx, "192.168.77.2")["rx_drops"] == 3  # VNI, truncated, tagged
    assert "192.168.77.3" not in [v["address"] for v in vx["vteps"]]
    assert da.fdb_macs("lan").get("02:00:00:00:00:0b") == "vx"  # the good one, learned
    da.assert_alive()
