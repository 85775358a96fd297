"""Site to site over the VPN (issue 13): two networks on two "hosts" joined
by one peer entry each, the guests reaching each other by address with no
change inside them (their only route off-link is the default via their
gateway). (a) vnetd <-> vnetd, each in a server namespace of its own with a
nat network of its own subnet; (b) vnetd <-> wireguard-go as the other site,
routing to a guest namespace behind it.
"""
import pytest

import vnet

from vpnsite_util import VPN_PORT, Site
from wg_util import iperf3, keypair, missing_wireguard, quick_config, quick_peer, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

UL_A, UL_B = "198.18.72.1", "198.18.72.2"


def assert_guest_untouched(site):
    """The guest knows its link and its default route, nothing about the tunnel."""
    routes = site.guest_routes()
    assert sorted(routes) == sorted([f"default via {site.gw} dev eth0",
                                     f"{site.subnet} dev eth0 proto kernel scope link "
                                     f"src {site.guest_ip}"]), routes


def test_vnetd_to_vnetd(wglab, vnetd, tmp_path):
    """Guests of site A (10.0.2.0/24) and site B (10.0.3.0/24) reach each
    other through the sites' vnetds: ping both ways and TCP (iperf3, 2 s);
    each vnetd counts one peer with a handshake, traffic both ways and
    persistent keepalives."""
    a = Site(wglab, vnetd, tmp_path, "site-a", 2, UL_A)
    b = Site(wglab, vnetd, tmp_path, "site-b", 3, UL_B)
    wglab.link(a.srv, b.srv, f"{UL_A}/24", f"{UL_B}/24")
    a.start([b.peer_entry(keepalive=2)])
    b.start([a.peer_entry(keepalive=2)])
    a.guest.ping_until(b.guest_ip, timeout=20)
    a.guest.ping(b.guest_ip, count=3)
    b.guest.ping(a.guest_ip, count=3)
    res = iperf3(a.guest, b.guest, b.guest_ip, secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    res = iperf3(b.guest, a.guest, a.guest_ip, secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    for me, other in ((a, b), (b, a)):
        p = me.peer(other.name)
        assert p["endpoint"] == other.endpoint
        assert p["latest_handshake"] > 0
        assert p["counters"]["handshakes"] >= 1
        assert p["counters"]["rx_packets"] > 100 and p["counters"]["tx_packets"] > 100
        assert p["transfer_rx"] > 100000 and p["transfer_tx"] > 100000
        assert p["persistent_keepalive"] == 2
        c = me.vpn()["counters"]
        for k in ("bad_mac1", "unknown_peer", "bad_handshake", "replayed", "source_refused",
                  "bad_packet"):
            assert c[k] == 0, (me.name, k, c)
        me.d.assert_alive()
        assert_guest_untouched(me)
    # persistent keepalives keep the idle link warm. Any authenticated packet,
    # sent or received, puts a side's persistent keepalive off (as WireGuard
    # does), so with the same interval on both sides one side may do all the
    # sending: count the keepalives either side receives.
    def keepalives():
        return sum(me.peer(other.name)["counters"]["keepalives_received"]
                   for me, other in ((a, b), (b, a)))
    before = keepalives()
    a.guest.ping(b.guest_ip, count=1)
    vnet.wait_for(lambda: keepalives() >= before + 2, 15, interval=0.2,
                  what="persistent keepalives on the idle link")


def test_vnetd_to_wireguard_go(wglab, vnetd, tmp_path):
    """Site A is vnetd (10.0.2.0/24); site B is wireguard-go in a router
    namespace (ip_forward on) with a guest namespace behind it on
    10.0.5.0/24. vnetd's peer entry has B's endpoint and keepalive, so either
    side may start; ping both ways and TCP."""
    a = Site(wglab, vnetd, tmp_path, "site-a", 2, UL_A)
    rtr = wglab.ns()
    gb = wglab.ns()
    wglab.link(a.srv, rtr, f"{UL_A}/24", f"{UL_B}/24")
    wglab.link(rtr, gb, "10.0.5.1/24", "10.0.5.15/24", a_if="lan0", b_if="eth0")
    gb.ip("route", "add", "default", "via", "10.0.5.1")
    rtr.exec("sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
    priv_b, pub_b = keypair()
    a.start([{"name": "site-b", "public_key": pub_b, "allowed_ips": ["10.0.5.0/24"],
              "endpoint": f"{UL_B}:{VPN_PORT}", "persistent_keepalive": 3}])
    dev = wglab.device(rtr)
    dev.apply_quick(quick_config(priv_b, listen_port=VPN_PORT,
                                 peers=[quick_peer(a.pub, [a.subnet], a.endpoint)]))
    # vnetd starts: the guest behind it reaches the guest behind wireguard-go
    a.guest.ping_until("10.0.5.15", timeout=20)
    a.guest.ping("10.0.5.15", count=3)
    gb.ping(a.guest_ip, count=3)
    res = iperf3(gb, a.guest, a.guest_ip, secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    res = iperf3(a.guest, gb, "10.0.5.15", secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    p = a.peer("site-b")
    assert p["endpoint"] == f"{UL_B}:{VPN_PORT}"
    assert p["counters"]["handshakes"] >= 1
    assert p["counters"]["rx_packets"] > 100 and p["counters"]["tx_packets"] > 100
    w = dev.wait_handshake(a.pub)
    assert w["endpoint"] == a.endpoint
    assert w["rx_bytes"] > 100000 and w["tx_bytes"] > 100000
    c = a.vpn()["counters"]
    for k in ("bad_mac1", "unknown_peer", "bad_handshake", "replayed", "source_refused"):
        assert c[k] == 0, (k, c)
    assert_guest_untouched(a)
    a.d.assert_alive()
