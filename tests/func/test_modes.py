"""Functional tests of the network modes (issue 4): host-only, isolated, bridge
(with a LAN that has its own DHCP server and IPv6 router, and a VLAN trunk
over the uplink), VLAN isolation, jumbo frames, hybrid guests and storm
control.

vnetd runs inside a namespace the test made (modes_util.vnetd_in), which plays
"the host": the host-only tap, the bridge uplink and NAT's host sockets live
there, so nothing touches the machine's real network. Guests are namespaces on
tap ports (and a QEMU guest for hybrid) with static addresses, except where
getting a lease is the point.
"""
import shutil
import subprocess
import time

import pytest

import vnet
from ipv6_util import ipv6_on, link_local_ready, slaac_addr
from modes_util import (VlanPeer, http_get, ping_stats, quiet_counters, start_httpd, tap,
                        tcp_connects, udhcpc, veth, vnetd_in)  # noqa: F401 (fixture)
from vnet import wait_for

from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6NDOptPrefixInfo, IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

# Every network with gateway services gets an upstream resolver inside vnetd's
# own namespace (nothing listens there): no query can leave the machine.
DNS = {"upstream": ["127.0.0.1:5353"]}


def links(ns):
    return ns.links()


def addrs(ns, dev):
    out = ns.ip("-j", "addr", "show", "dev", dev).stdout
    return [f"{a['local']}/{a['prefixlen']}" for a in vnet.json.loads(out)[0]["addr_info"]
            if a["family"] == "inet"]


def has_lease(d, network):
    try:
        return bool(d.ctl("leases", network))
    except vnet.CommandError:
        return False


# --------------------------------------------------------------------------- host-only

def test_host_only_host_and_guest_reach_each_other(netns, vnetd_in, tmp_path):
    h, g, far = netns(), netns(), netns()
    gmac = "02:00:00:41:00:0a"
    d = vnetd_in(h, {
        "networks": [{"name": "ho", "mode": "host-only", "subnet": "10.41.0.0/24",
                      "host_interface": "vho-test", "dns": DNS}],
        "ports": [tap("g", g, "ho", gmac)],
    })
    # The host side: a tap holding the gateway address, up.
    assert "vho-test" in links(h), links(h)
    assert addrs(h, "vho-test") == ["10.41.0.1/24"]
    net = d.network("ho")
    assert net["mode"] == "host-only"
    assert {p["name"] for p in d.ctl("port", "list")} >= {"g", "host-ho"}

    g.wait_link()
    g.addr("10.41.0.10/24")
    g.ip("route", "add", "default", "via", "10.41.0.1")
    # Both directions, ICMP.
    g.ping_until("10.41.0.1")
    assert ping_stats(g.ping("10.41.0.1", count=3, interval=0.1).stdout) == (3, 3)
    assert ping_stats(h.ping("10.41.0.10", count=3, interval=0.1).stdout) == (3, 3)
    assert d.fdb_macs("ho").get(gmac) == "g"

    # Both directions, HTTP.
    start_httpd(g, "10.41.0.10:8080", str(tmp_path / "www-guest"), "hello from the guest\n")
    start_httpd(h, "0.0.0.0:8081", str(tmp_path / "www-host"), "hello from the host\n")
    r = http_get(h, "http://10.41.0.10:8080/", check=True)
    assert r.stdout == "hello from the guest\n"
    r = http_get(g, "http://10.41.0.1:8081/", check=True)
    assert r.stdout == "hello from the host\n"

    # Nothing beyond the host: a machine behind the host (reachable from the
    # host itself) is not reachable from the guest, and vnetd makes no NAT flow.
    veth(h, "far0", far, "eth0")
    h.addr("10.42.0.1/24", "far0")
    far.addr("10.42.0.2/24")
    start_httpd(far, "0.0.0.0:8083", str(tmp_path / "www-far"), "far\n")
    assert http_get(h, "http://10.42.0.2:8083/", check=True).stdout == "far\n"
    r = g.ping("10.42.0.2", count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(r.stdout)[1] == 0, r.stdout
    assert http_get(g, "http://10.42.0.2:8083/", timeout=3).returncode != 0
    # Nor does the host's loopback appear on the gateway address (no NAT mapping).
    h.start("busybox", "httpd", "-f", "-p", "127.0.0.1:8084", "-h", str(tmp_path / "www-host"))
    wait_for(lambda: h.listening(8084), 10, what="loopback-only httpd")
    assert not tcp_connects(g, "10.41.0.1", 8084)
    assert d.ctl("flows") == []

    # Removed on shutdown.
    d.stop()
    assert "vho-test" not in links(h)


def test_host_only_defaults_dhcp_and_dns_address(netns, vnetd_in, tmp_path):
    """No subnet: VirtualBox's 192.168.56.0/24, host .1 on vnet-NAME, DHCP/DNS .2,
    leases from .101 (inside the test's namespaces only)."""
    h, g = netns(), netns()
    d = vnetd_in(h, {"networks": [{"name": "mgmt", "mode": "host-only", "dns": DNS}],
                     "ports": [tap("g", g, "mgmt", "02:00:00:41:01:0a")]})
    assert addrs(h, "vnet-mgmt") == ["192.168.56.1/24"]
    net = d.network("mgmt")
    assert net["gateway"]["dns_address"] == "192.168.56.2"
    g.wait_link()
    lease = udhcpc(g, tmp_path)
    assert lease["ip"] == "192.168.56.101", lease
    assert lease["dns"] == "192.168.56.2", lease
    leases = d.ctl("leases", "mgmt")
    assert [(l["mac"], l["ip"]) for l in leases] == [("02:00:00:41:01:0a", "192.168.56.101")]
    g.ping_until("192.168.56.1")
    h.ping("192.168.56.101", count=2, interval=0.1)


# --------------------------------------------------------------------------- isolated

def test_isolated_guests_reach_each_other_not_the_host(netns, vnetd_in, tmp_path):
    h, a, b, c, side = netns(), netns(), netns(), netns(), netns()
    d = vnetd_in(h, {
        "networks": [{"name": "iso", "mode": "isolated"},
                     {"name": "isosvc", "mode": "isolated", "subnet": "10.44.0.0/24",
                      "dns": DNS}],
        "ports": [tap("a", a, "iso", "02:00:00:43:00:0a"), tap("b", b, "iso", "02:00:00:43:00:0b"),
                  tap("c", c, "isosvc", "02:00:00:43:00:0c")],
    })
    # No interface of vnetd's appears on the host.
    assert list(links(h)) == ["lo"], links(h)
    # The host has addresses and a service vnetd could route to if it did.
    veth(h, "side0", side, "eth0")  # (no dummy module in this kernel)
    h.addr("10.43.0.1/24", "side0")
    h.addr("10.44.0.1/32", "side0")
    start_httpd(h, "0.0.0.0:8085", str(tmp_path / "www"), "host\n")

    for ns in (a, b, c):
        ns.wait_link()
    a.addr("10.43.0.10/24")
    b.addr("10.43.0.11/24")
    c.addr("10.44.0.10/24")
    a.ip("route", "add", "default", "via", "10.43.0.1")
    c.ip("route", "add", "default", "via", "10.44.0.2")
    a.ping_until("10.43.0.11")
    assert ping_stats(b.ping("10.43.0.10", count=3, interval=0.1).stdout) == (3, 3)

    # Without a subnet there is no gateway at all: nothing answers for the host.
    assert d.network("iso").get("gateway") in (None, {})
    r = a.ping("10.43.0.1", count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(r.stdout)[1] == 0
    assert not tcp_connects(a, "10.43.0.1", 8085, timeout=2)
    # With a subnet, vnetd's own services are there, but no route to the host.
    gw = d.network("isosvc")["gateway"]
    assert gw["address"] == "10.44.0.1" or gw["address"].startswith("10.44.0."), gw
    assert not tcp_connects(c, "10.44.0.1", 8085, timeout=2)
    assert not tcp_connects(c, "10.43.0.1", 8085, timeout=2)
    assert d.ctl("flows") == []
    # Nothing the guests sent reached the host's interfaces.
    st = vnet.json.loads(h.ip("-j", "-s", "link", "show", "side0").stdout)[0]
    assert st["stats64"]["rx"]["packets"] == 0


def test_isolated_with_subnet_serves_dhcp_only_inside(netns, vnetd_in, tmp_path):
    h, a, b = netns(), netns(), netns()
    d = vnetd_in(h, {"networks": [{"name": "iso", "mode": "isolated", "subnet": "10.45.0.0/24",
                                   "dns": DNS}],
                     "ports": [tap("a", a, "iso", "02:00:00:45:00:0a"),
                               tap("b", b, "iso", "02:00:00:45:00:0b")]})
    a.wait_link()
    b.wait_link()
    la, lb = udhcpc(a, tmp_path / "a"), udhcpc(b, tmp_path / "b")
    assert la["ip"] != lb["ip"] and la["ip"].startswith("10.45.0.") and \
        lb["ip"].startswith("10.45.0."), (la, lb)
    assert {l["ip"] for l in d.ctl("leases", "iso")} == {la["ip"], lb["ip"]}
    a.ping_until(lb["ip"])
    assert list(links(h)) == ["lo"] and d.ctl("flows") == []


# --------------------------------------------------------------------------- bridge

def start_lan_dhcp(lan, tmp_path, ifname="lan0"):
    """dnsmasq as the LAN's DHCP server, only inside the lan namespace, no DNS."""
    return lan.start("dnsmasq", "-d", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                     "--port=0", "--bind-interfaces", f"--interface={ifname}",
                     "--except-interface=lo", "--no-ping", "--dhcp-authoritative",
                     "--dhcp-range=10.50.0.100,10.50.0.150,255.255.255.0,10m",
                     "--dhcp-option=option:router,10.50.0.1",
                     f"--dhcp-leasefile={tmp_path}/dnsmasq.leases",
                     f"--pid-file={tmp_path}/dnsmasq.pid", "--log-dhcp")


def test_bridge_lan_dhcp_and_vlan_trunk(netns, vnetd_in, tmp_path):
    h, lan, g, g2 = netns(), netns(), netns(), netns()
    gmac, g2mac, peer_mac = "02:00:00:50:00:0a", "02:00:00:50:00:14", "02:00:00:50:01:14"
    veth(h, "up0", lan, "lan0")
    lan_mac = lan.mac("lan0")
    lan.addr("10.50.0.1/24", "lan0")
    lan.addr("10.60.0.2/24", "lan0")  # an untagged machine in VLAN 20's subnet
    dm = start_lan_dhcp(lan, tmp_path)
    d = vnetd_in(h, {
        "networks": [{"name": "br0", "mode": "bridge", "uplink": "up0"},
                     {"name": "v20", "mode": "bridge", "uplink": "up0", "vlan": 20}],
        "ports": [tap("g", g, "br0", gmac), tap("g2", g2, "v20", g2mac)],
    })
    nets = {n["name"]: n for n in d.ctl("network", "list")}
    assert nets["br0"]["mode"] == "bridge" and nets["br0"].get("uplink") == "up0"
    assert nets["v20"]["vlan"] == 20 and nets["v20"].get("uplink") == "up0"
    assert not nets["br0"].get("gateway"), "a bridge network has no gateway services"
    # vnetctl's table: mode, VLAN, MTU and uplink of each network.
    out = d.ctl_raw("network", "list", json_out=False).stdout.splitlines()
    hdr = out[0].split()
    rows = {r.split()[0]: dict(zip(hdr, r.split())) for r in out[1:]}
    assert (rows["br0"]["MODE"], rows["br0"]["VLAN"], rows["br0"]["UPLINK"]) == \
        ("bridge", "-", "up0"), out
    assert (rows["v20"]["VLAN"], rows["v20"]["MTU"], rows["v20"]["UPLINK"]) == \
        ("20", "1500", "up0"), out
    up = d.port("uplink-up0")
    assert up["type"] == "uplink" and up["role"] == "trunk", up
    assert set(up["networks"]) == {"br0", "v20"} and up["native"] == "br0", up

    sn = vnet.Sniffer(lan, "lan0")
    peer = VlanPeer(lan, "lan0", 20, "10.60.0.1", peer_mac)
    try:
        # The guest gets its lease from the LAN's dnsmasq, and reaches the LAN.
        g.wait_link()
        lease = udhcpc(g, tmp_path)
        assert lease["server"] == "10.50.0.1" and lease["router"] == "10.50.0.1", lease
        ip = lease["ip"]
        assert ip.startswith("10.50.0.") and 100 <= int(ip.rsplit(".", 1)[1]) <= 150, lease
        wait_for(lambda: gmac in (tmp_path / "dnsmasq.leases").read_text(), 5,
                 what="dnsmasq lease file")
        assert ping_stats(g.ping("10.50.0.1", count=3, interval=0.1).stdout) == (3, 3)
        assert ping_stats(lan.ping(ip, count=3, interval=0.1).stdout) == (3, 3)
        assert d.fdb_macs("br0") == {gmac: "g", lan_mac: "uplink-up0"}
        assert d.ctl("leases") == [], "vnetd served DHCP on a bridge network"

        # VLAN 20 over the same uplink: the tagged peer answers g2.
        g2.wait_link()
        g2.addr("10.60.0.10/24")
        g2.ping_until("10.60.0.1")
        assert ping_stats(g2.ping("10.60.0.1", count=3, interval=0.1).stdout) == (3, 3)
        assert peer.answered["icmp"] >= 3
        assert d.fdb_macs("v20") == {g2mac: "g2", peer_mac: "uplink-up0"}
        # tcpdump on the LAN side: g2's frames carry tag 20, g's none.
        lines = sn.wait(lambda l: l.startswith(g2mac) and "ICMP echo request" in l)
        assert all("802.1Q" in l and "vlan 20," in l for l in lines), lines
        lines = sn.wait(lambda l: l.startswith(gmac) and "ICMP echo request" in l)
        assert all("802.1Q" not in l and "vlan" not in l for l in lines), lines
        assert all(v == 20 for v, mac, _ in peer.seen if mac == g2mac), peer.seen
        # An untagged machine with an address in VLAN 20's subnet never reaches g2.
        before = d.port_stats("g2")["tx_frames"]
        r = lan.ping("10.60.0.10", count=2, interval=0.2, wait=1, check=False)
        assert ping_stats(r.stdout)[1] == 0
        assert d.port_stats("g2")["tx_frames"] == before

        # Frames vnetd sends out are not received back: the guests' MACs never
        # move to the uplink.
        assert d.network("br0")["fdb"]["moved"] == 0 and d.network("v20")["fdb"]["moved"] == 0

        # Link down/up of the uplink is survived.
        h.ip("link", "set", "up0", "down")
        time.sleep(0.5)
        h.ip("link", "set", "up0", "up")
        g.ping_until("10.50.0.1", timeout=20)
        g2.ping_until("10.60.0.1", timeout=20)

        # So is the interface disappearing and coming back (new ifindex, new peer MAC).
        h.ip("link", "del", "up0")
        wait_for(lambda: not d.port("uplink-up0")["connected"], 10, what="uplink detached")
        veth(h, "up0", lan, "lan0")
        lan.addr("10.50.0.1/24", "lan0")
        g.ip("neigh", "flush", "dev", "eth0")
        g.ping_until("10.50.0.1", timeout=20)
        up = d.port("uplink-up0")
        assert up["connected"] and up["rebinds"] == 1, up
        d.assert_alive()
    finally:
        peer.stop()
        sn.stop()
        vnet.Procs.stop(dm)


LAN6 = "fd00:50:0:1::"


def start_lan_ra(lan, tmp_path, ifname="lan0"):
    """dnsmasq as the LAN's IPv6 router advertiser (SLAAC only: ra-only, the
    prefix constructed from ifname's address), inside the lan namespace only,
    no DNS, no DHCP, no upstream."""
    return lan.start("dnsmasq", "-d", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                     "--port=0", "--bind-interfaces", f"--interface={ifname}",
                     "--except-interface=lo", "--enable-ra", f"--ra-param={ifname},4,1800",
                     f"--dhcp-range=::,constructor:{ifname},ra-only,64,10m",
                     f"--dhcp-leasefile={tmp_path}/dnsmasq6.leases",
                     f"--pid-file={tmp_path}/dnsmasq6.pid")


def test_bridge_passes_the_lan_router_advertisements(netns, vnetd_in, tmp_path):
    """On a bridge network the LAN's own router advertisements (dnsmasq
    behind the uplink) reach the guest, which configures an address in the
    LAN's prefix by SLAAC with a default route via the LAN router's
    link-local address; vnetd sends no RA of its own there, the uplink's RAs
    are not guarded, and a guest's RA is (it never reaches the LAN)."""
    h, lan, g = netns(), netns(), netns()
    gmac = "02:00:00:50:06:0a"
    veth(h, "up0", lan, "lan0")  # the host side (up0) keeps IPv6 off
    lan.exec("sysctl", "-q", "-w", "net.ipv6.conf.lan0.disable_ipv6=0")
    lan.ip("addr", "add", f"{LAN6}1/64", "dev", "lan0", "nodad")
    lan_mac = lan.mac("lan0")
    lan_ll = link_local_ready(lan, "lan0")
    ipv6_on(g)
    d = vnetd_in(h, {"networks": [{"name": "br0", "mode": "bridge", "uplink": "up0"}],
                     "ports": [tap("g", g, "br0", gmac)]})
    assert not d.network("br0").get("gateway"), "a bridge network has no gateway services"
    dm = start_lan_ra(lan, tmp_path)
    g.wait_link()
    ras = vnet.Sniffer(g, filt=("icmp6", "and", "ip6[40] == 134"))
    lan_sniff = vnet.Sniffer(lan, "lan0", filt=("icmp6", "and", "ip6[40] == 134"))
    try:
        g.ip("link", "set", "eth0", "up")  # its router solicitations go out over the uplink
        mine = slaac_addr(g, LAN6 + "/64", timeout=20)
        routes = vnet.json.loads(g.ip("-j", "-6", "route", "show", "default").stdout)
        assert [r.get("gateway") for r in routes] == [lan_ll], routes
        g.ping(f"{LAN6}1", count=2, interval=0.2)
        lan.ping(mine, count=2, interval=0.2)
        # Every RA the guest heard came from the LAN router, over the uplink.
        ras.wait(lambda l: "router advertisement" in l, what="the LAN's RA at the guest")
        assert all(l.startswith(lan_mac) for l in ras.lines), ras.lines
        up = d.port_stats("uplink-up0")
        assert up["rx_drops"]["guard"] == 0 and up["rx_frames"] >= 1, up
        # A guest's RA is guarded: dropped on its port, never on the LAN.
        guard0 = d.port_stats("g")["rx_drops"]["guard"]
        ra = (Ether(src=gmac, dst="33:33:00:00:00:01") /
              IPv6(src=link_local_ready(g), dst="ff02::1", hlim=255) /
              ICMPv6ND_RA(routerlifetime=1800) /
              ICMPv6NDOptPrefixInfo(prefix="fd00:50:0:bad::", prefixlen=64, L=1, A=1))
        s = g.packet_socket()
        try:
            s.send(bytes(ra))
        finally:
            s.close()
        wait_for(lambda: d.port_stats("g")["rx_drops"]["guard"] == guard0 + 1, 10,
                 what="the guest's RA dropped as guard")
        time.sleep(0.3)
        assert not [l for l in lan_sniff.lines if l.startswith(gmac)], lan_sniff.lines
        assert d.fdb_macs("br0") == {gmac: "g", lan_mac: "uplink-up0"}
    finally:
        ras.stop()
        lan_sniff.stop()
        vnet.Procs.stop(dm)
    d.assert_alive()


# --------------------------------------------------------------------------- VLAN isolation

def test_vlan_networks_never_see_each_others_broadcasts(netns, vnetd_in):
    h, a10, b10, a20, b20 = (netns() for _ in range(5))
    macs = {"a10": "02:00:00:51:0a:01", "b10": "02:00:00:51:0a:02",
            "a20": "02:00:00:51:14:01", "b20": "02:00:00:51:14:02"}
    ns = {"a10": a10, "b10": b10, "a20": a20, "b20": b20}
    d = vnetd_in(h, {
        "networks": [{"name": "v10", "mode": "isolated", "vlan": 10},
                     {"name": "v20", "mode": "isolated", "vlan": 20}],
        "ports": [tap(n, ns[n], "v" + n[1:], macs[n]) for n in ns],
    })
    for n, x in ns.items():
        x.wait_link()
        x.addr(f"10.51.0.{1 + list(ns).index(n)}/24")  # one subnet: only VLANs separate them
    sniff = {n: vnet.Sniffer(ns[n]) for n in ("b10", "b20")}
    try:
        # Broadcasts of both kinds from both networks: ARP and a raw broadcast.
        for n in ("a10", "a20"):
            ns[n].exec("arping", "-c", "3", "-w", "3", "-I", "eth0", "10.51.0.99", check=False)
            s = ns[n].packet_socket()
            try:
                for i in range(20):
                    s.send(vnet.eth_frame("ff:ff:ff:ff:ff:ff", macs[n], 0x88B5,
                                          n.encode() + bytes([i])))
            finally:
                s.close()
        quiet_counters(d, list(ns))
        # Each b sees its own network's broadcasts, and nothing of the other's.
        sniff["b10"].wait(lambda l: l.startswith(macs["a10"]) and "> ff:ff:ff:ff:ff:ff" in l)
        sniff["b20"].wait(lambda l: l.startswith(macs["a20"]) and "> ff:ff:ff:ff:ff:ff" in l)
        time.sleep(0.5)
        assert not [l for l in sniff["b10"].lines if l.startswith(macs["a20"])]
        assert not [l for l in sniff["b20"].lines if l.startswith(macs["a10"])]
        assert d.fdb_macs("v10") == {macs["a10"]: "a10"}
        assert d.fdb_macs("v20") == {macs["a20"]: "a20"}
        for n in ("b10", "b20"):
            assert d.port_stats(n)["tx_frames"] >= 20
        assert d.network("v10")["stats"]["flooded"] >= 20
        # Unicast across the VLANs fails too.
        r = a10.ping("10.51.0.3", count=2, interval=0.2, wait=1, check=False)
        assert ping_stats(r.stdout)[1] == 0
    finally:
        for s in sniff.values():
            s.stop()


# --------------------------------------------------------------------------- jumbo

def test_jumbo_frames_pass_on_9000_dropped_on_1500(netns, vnetd_in):
    h, a, b, c, e = (netns() for _ in range(5))
    d = vnetd_in(h, {
        "networks": [{"name": "jumbo", "mode": "isolated", "mtu": 9000},
                     {"name": "std", "mode": "isolated", "mtu": 1500}],
        "ports": [tap("a", a, "jumbo"), tap("b", b, "jumbo"), tap("c", c, "std"),
                  tap("e", e, "std")],
    })
    nets = {n["name"]: n for n in d.ctl("network", "list")}
    assert nets["jumbo"]["mtu"] == 9000 and nets["std"]["mtu"] == 1500
    for x in (a, b):
        assert x.wait_link()["mtu"] == 9000
    for x in (c, e):
        assert x.wait_link()["mtu"] == 1500
    a.addr("10.52.0.1/24")
    b.addr("10.52.0.2/24")
    c.addr("10.53.0.1/24")
    e.addr("10.53.0.2/24")
    c.ip("link", "set", "eth0", "mtu", "9000")  # a guest that ignores the network's MTU
    a.ping_until("10.52.0.2")
    c.ping_until("10.53.0.2")

    # 9000-byte IP packets (8972 bytes of ICMP data), not fragmented.
    r = a.ping("10.52.0.2", count=5, interval=0.1, size=8972, extra=["-M", "do"])
    assert ping_stats(r.stdout) == (5, 5)
    st = d.port_stats("a")
    assert st["rx_drops"]["mtu"] == 0

    base = d.port_stats("c")["rx_drops"]["mtu"]
    e_tx = quiet_counters(d, ["e"])["e"]["tx_frames"]
    r = c.ping("10.53.0.2", count=5, interval=0.1, size=8972, extra=["-M", "do"], check=False)
    assert ping_stats(r.stdout) == (5, 0)
    wait_for(lambda: d.port_stats("c")["rx_drops"]["mtu"] == base + 5, 5,
             what="rx_drops.mtu +5 on the 1500 network")
    assert d.port_stats("e")["tx_frames"] == e_tx, "a jumbo frame crossed the 1500 network"


def test_jumbo_mtu_advertised_by_dhcp(netns, vnetd_in, tmp_path):
    h, g = netns(), netns()
    d = vnetd_in(h, {"networks": [{"name": "jumbo", "mode": "isolated", "mtu": 9000,
                                   "subnet": "10.57.0.0/24", "dns": DNS}],
                     "ports": [tap("g", g, "jumbo", "02:00:00:57:00:0a", mtu=1500)]})
    assert g.wait_link()["mtu"] == 1500
    lease = udhcpc(g, tmp_path)
    assert lease["mtu"] == "9000", lease
    assert g.links()["eth0"]["mtu"] == 9000
    gw = d.network("jumbo")["gateway"]["address"]
    r = g.ping(gw, count=2, interval=0.1, size=8972, extra=["-M", "do"])
    assert ping_stats(r.stdout) == (2, 2)


# --------------------------------------------------------------------------- hybrid

def test_hybrid_namespace_guest_on_nat_and_host_only(netns, vnetd_in, tmp_path):
    """One guest, two NICs: eth0 on a nat network (reaches the host's loopback
    through the gateway), eth1 on a host-only network (the host reaches it)."""
    h, g = netns(), netns()
    d = vnetd_in(h, {
        "networks": [{"name": "wan", "mode": "nat", "subnet": "10.54.0.0/24",
                      "gateway": "10.54.0.2", "dns": DNS},
                     {"name": "mgmt", "mode": "host-only", "subnet": "10.55.0.0/24",
                      "host_interface": "vnet-mgmt", "dns": DNS}],
        "ports": [tap("g-wan", g, "wan", "02:00:00:54:00:0f"),
                  tap("g-mgmt", g, "mgmt", "02:00:00:55:00:0f", ifname="eth1")],
    })
    g.wait_link("eth0")
    g.wait_link("eth1")
    g.addr("10.54.0.15/24", "eth0")
    g.ip("route", "add", "default", "via", "10.54.0.2")
    g.addr("10.55.0.15/24", "eth1")
    # NAT: the gateway address reaches the host's loopback.
    start_httpd(h, "127.0.0.1:8086", str(tmp_path / "www-lo"), "via nat\n")
    assert http_get(g, "http://10.54.0.2:8086/", timeout=10, check=True).stdout == "via nat\n"
    # Host-only: the host and the guest reach each other directly.
    assert ping_stats(h.ping("10.55.0.15", count=3, interval=0.1).stdout) == (3, 3)
    start_httpd(g, "10.55.0.15:8087", str(tmp_path / "www-g"), "mgmt\n")
    assert http_get(h, "http://10.55.0.15:8087/", check=True).stdout == "mgmt\n"
    assert d.fdb_macs("wan").get("02:00:00:54:00:0f") == "g-wan"
    assert d.fdb_macs("mgmt").get("02:00:00:55:00:0f") == "g-mgmt"


HYBRID_SCRIPT = r"""
ip addr add 10.55.0.20/24 dev eth1; ip link set eth1 up
n=0
until timeout 5 wget -q -O /tmp/nat.txt http://10.0.2.2:8088/; do  # (wget -T crashes in this busybox)
    n=$((n+1)); [ $n -ge 20 ] && { echo GUEST-NAT-FAILED; exit 1; }; sleep 0.5
done
cat /tmp/nat.txt
n=0
until ping -c 1 -W 1 10.55.0.1 >/dev/null 2>&1; do
    n=$((n+1)); [ $n -ge 20 ] && { echo GUEST-HOSTONLY-FAILED; exit 2; }
done
echo GUEST-BOTH-OK
n=0
while [ "$(awk '$1 == "Icmp:" && $2 ~ /^[0-9]+$/ {print $10}' /proc/net/snmp)" -lt 3 ]; do
    n=$((n+1)); [ $n -ge 150 ] && { echo GUEST-NOT-PINGED; exit 3; }
    sleep 0.2
done
echo GUEST-PINGED-OK
"""


@pytest.mark.vm
def test_hybrid_qemu_guest_nat_and_host_only(netns, vnetd_in, procs, tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    guest = vnet.REPO / "build" / "vm"
    if not ((guest / "vmlinuz").exists() and (guest / "initramfs.cpio.gz").exists()):
        pytest.skip("no guest image in build/vm: run 'make guest'")
    h = netns()
    wan_sock, mgmt_sock = str(tmp_path / "wan.sock"), str(tmp_path / "mgmt.sock")
    d = vnetd_in(h, {
        "networks": [{"name": "wan", "mode": "nat", "dns": DNS},
                     {"name": "mgmt", "mode": "host-only", "subnet": "10.55.0.0/24",
                      "host_interface": "vnet-mgmt", "dns": DNS}],
        "ports": [{"name": "vm", "type": "stream", "path": wan_sock, "network": "wan"},
                  {"name": "vm-mgmt", "type": "stream", "path": mgmt_sock, "network": "mgmt"}],
    })
    start_httpd(h, "127.0.0.1:8088", str(tmp_path / "www"), "hello via nat\n")
    log = tmp_path / "vm-hybrid.out"
    with open(log, "w") as f:
        # Static eth0 (10.0.2.15, gateway 10.0.2.2): DHCP is not the point here.
        vm = procs.start([vnet.VM_DIR / "run-vm.sh", "--ip", "10.0.2.15/24,10.0.2.2",
                          "--mac", "52:54:00:54:00:01", "--net", f"stream:{mgmt_sock}",
                          "--append", "ipv6.disable=1", f"stream:{wan_sock}", HYBRID_SCRIPT, "120"],
                         stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    h.ping_until("10.55.0.20", timeout=120)
    h.ping("10.55.0.20", count=3, interval=0.2)
    try:
        rc = vm.wait(timeout=150)
    except subprocess.TimeoutExpired:
        vnet.Procs.stop(vm)
        rc = "timeout"
    out = log.read_text(errors="replace")
    assert rc == 0, f"VM run failed (rc {rc}):\n{out[-6000:]}"
    assert "hello via nat" in out and "GUEST-BOTH-OK" in out and "GUEST-PINGED-OK" in out
    assert d.port("vm")["stats"]["rx_frames"] > 0 and d.port("vm-mgmt")["stats"]["rx_frames"] > 0


# --------------------------------------------------------------------------- storm control

def test_storm_control_caps_broadcast_flood(netns, vnetd_in):
    h, a, b, c = netns(), netns(), netns(), netns()
    limit = 50  # broadcast frames per second from port a
    macs = {"a": "02:00:00:56:00:0a", "b": "02:00:00:56:00:0b", "c": "02:00:00:56:00:0c"}
    d = vnetd_in(h, {
        "networks": [{"name": "lan", "mode": "isolated"}],
        "ports": [tap("a", a, "lan", macs["a"], storm={"broadcast": limit, "multicast": limit}),
                  tap("b", b, "lan", macs["b"]), tap("c", c, "lan", macs["c"])],
    })
    for x, ip in ((a, "10.56.0.1"), (b, "10.56.0.2"), (c, "10.56.0.3")):
        x.wait_link()
        x.addr(f"{ip}/24")
    c.ping_until("10.56.0.2")
    a.ping_until("10.56.0.2")
    before = quiet_counters(d, ["a", "b", "c"])

    # c pings b all through the flood: it must lose nothing.
    pinger = c.start("ping", "-n", "-q", "-c", "20", "-i", "0.1", "-W", "2", "10.56.0.2")
    n = 3000
    s = a.packet_socket()
    t0 = time.monotonic()
    try:
        for i in range(n):
            s.send(vnet.eth_frame("ff:ff:ff:ff:ff:ff", macs["a"], 0x88B5, i.to_bytes(4, "big")))
            if i % 100 == 99:
                time.sleep(0.02)  # spread over ~1 s; the tap queue holds 1000 frames
    finally:
        s.close()
    assert pinger.wait(timeout=30) == 0
    assert ping_stats(pinger.stdout.read()) == (20, 20), "unicast suffered from the flood"

    after = quiet_counters(d, ["a", "b", "c"])
    elapsed = time.monotonic() - t0
    received = after["a"]["rx_frames"] - before["a"]["rx_frames"]
    storm = after["a"]["rx_drops"]["storm"] - before["a"]["rx_drops"]["storm"]
    passed = received - storm
    assert received >= n // 2, f"the flood did not reach vnetd ({received} of {n})"
    # Bounded: the rate times the flood's duration plus the burst (a fifth of a second).
    assert storm > 0, after["a"]
    assert 1 <= passed <= limit * (elapsed + 1) + limit // 5 + 2, (passed, elapsed)
    # What passed is what b (and c) got of a's broadcasts, beyond c's ping traffic.
    b_got = after["b"]["tx_frames"] - before["b"]["tx_frames"]
    assert passed <= b_got <= passed + 2 * 20 + 10, (passed, b_got)
    # Other ports' broadcasts are unaffected: c's ARP still reaches b.
    c.ip("neigh", "flush", "dev", "eth0")
    c.ping("10.56.0.2", count=1)

    # Multicast has its own bucket: a multicast flood is capped the same way.
    before = quiet_counters(d, ["a", "b", "c"])
    s = a.packet_socket()
    t0 = time.monotonic()
    try:
        for i in range(1000):
            s.send(vnet.eth_frame("01:00:5e:00:00:fb", macs["a"], 0x88B5, i.to_bytes(4, "big")))
            if i % 100 == 99:
                time.sleep(0.02)
    finally:
        s.close()
    after = quiet_counters(d, ["a", "b", "c"])
    elapsed = time.monotonic() - t0
    received = after["a"]["rx_frames"] - before["a"]["rx_frames"]
    storm = after["a"]["rx_drops"]["storm"] - before["a"]["rx_drops"]["storm"]
    assert received >= 500 and storm > 0, (received, storm)
    assert 1 <= received - storm <= limit * (elapsed + 1) + limit // 5 + 2, (received, storm)
