"""Observability and policy of the VPN (issue 13, scope 6 and the ACL part
of 3): per-peer and device metrics of a network's VPN parsed by
prometheus_client, a capture of the tunnel's inner packets read back as pcap,
and ACL rules naming vpn or one peer. Real WireGuard (Debian's wireguard-go)
in a laptop namespace, vnetd in a server namespace (vpn_util.VpnLab).
"""
import json

import pytest

import vnet
from modes_util import ping_stats, read_pcap
from policy_util import acl_rules, echo_server, hits, tcp_try
from test_observability import finish_capture, lookup, samples, scrape, start_capture
from vpn_util import VpnLab, guest_ip
from wg_util import missing_wireguard, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

LAP4 = "10.99.0.2"
METRICS = "127.0.0.1:9471"


def with_top(vnetd, **top):
    """A vnetd factory adding top-level keys (metrics...) to the config VpnLab builds."""
    def factory(conf, **kw):
        return vnetd({**conf, **top}, **kw)
    return factory


def test_vpn_metrics(wglab, vnetd, tmp_path):
    """After pings through the tunnel, the peer's series agree with the
    VPN's status and with what was sent; the device families are there."""
    v = VpnLab(wglab, vnetd=with_top(vnetd, metrics=METRICS), tmp_path=tmp_path)
    lap = v.add_laptop(LAP4)
    v.start()
    dev = v.connect(lap)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    lap["ns"].ping(guest_ip(0), count=5)
    dev.wait_handshake(v.pub)
    status, ctype, text = scrape(v.srv, f"http://{METRICS}/metrics")
    assert status == 200 and "text/plain" in ctype
    vals, types = samples(text)
    p = v.peer(lap["name"])
    lab = {"network": "lan", "peer": lap["name"], "public_key": lap["pub"]}
    # counters may move between the status and the scrape (keepalives): bounds
    assert lookup(vals, "vnet_vpn_peer_rx_packets_total", **lab) >= 5
    assert lookup(vals, "vnet_vpn_peer_tx_packets_total", **lab) >= 5
    assert lookup(vals, "vnet_vpn_peer_rx_bytes_total", **lab) >= 5 * (84 + 32)
    assert lookup(vals, "vnet_vpn_peer_tx_bytes_total", **lab) >= 5 * (84 + 32)
    assert lookup(vals, "vnet_vpn_peer_handshakes_total", **lab) == p["counters"]["handshakes"] >= 1
    assert lookup(vals, "vnet_vpn_peer_latest_handshake_seconds", **lab) == p["latest_handshake"] > 0
    assert lookup(vals, "vnet_vpn_peer_replayed_total", **lab) == 0
    assert lookup(vals, "vnet_vpn_peer_source_refused_total", **lab) == 0
    assert lookup(vals, "vnet_vpn_peer_session", **lab) == 1
    assert types["vnet_vpn_peer_rx_bytes"] == "counter"
    assert types["vnet_vpn_peer_latest_handshake_seconds"] == "gauge"
    for name in ("vnet_vpn_peer_keepalives_sent_total", "vnet_vpn_peer_keepalives_received_total"):
        assert lookup(vals, name, **lab) >= 0
    assert lookup(vals, "vnet_vpn_peers", network="lan") == 1
    assert lookup(vals, "vnet_vpn_under_load", network="lan") == 0
    assert types["vnet_vpn_under_load"] == "gauge"
    assert lookup(vals, "vnet_vpn_rx_datagrams_total", network="lan") >= 6
    assert lookup(vals, "vnet_vpn_cookies_sent_total", network="lan") == 0
    for cause in ("bad_mac1", "unknown_peer", "replayed", "under_load", "ttl_expired",
                  "refused"):
        assert lookup(vals, "vnet_vpn_drops_total", network="lan", cause=cause) == 0
    # an unknown peer's initiation (a stranger laptop) shows as a drop by cause
    stranger = v.add_laptop("10.99.0.3", conf_peer=False)
    v.connect(stranger)
    stranger["ns"].ping(guest_ip(0), count=1, check=False)
    vnet.wait_for(lambda: lookup(samples(scrape(v.srv, f"http://{METRICS}/metrics")[2])[0],
                                 "vnet_vpn_drops_total", network="lan",
                                 cause="unknown_peer") >= 1, 10,
                  what="the stranger's initiation counted as unknown_peer")


# --------------------------------------------------------------------------- capture

TUN_MAC = "02:76:70:6e:00:01"  # the tunnel's MAC in the gateway (vpn.c)


def test_vpn_capture(wglab, vnetd, procs, tmp_path):
    """vnetctl capture vpn:lan writes the tunnel's inner packets, both ways,
    as Ethernet frames between the tunnel's MAC and the gateway's: the
    laptop's echo requests and the guest's replies with the inner addresses;
    --direction in keeps the received ones only; a network without a VPN or
    an unknown one is refused."""
    v = VpnLab(wglab, vnetd, tmp_path)
    lap = v.add_laptop(LAP4)
    d = v.start()
    v.connect(lap)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    gw_mac = d.network("lan")["gateway"]["mac"]
    f1 = str(tmp_path / "vpn.pcap")
    p = start_capture(procs, d, "vpn:lan", f1, "-c", "6")
    lap["ns"].ping(guest_ip(0), count=3, interval=0.2)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    res = vnet.json.loads(out)
    assert res["frames"] == 6 and res["reason"] == "frame count reached", res
    frames = read_pcap(f1)
    assert len(frames) == 6, frames
    for i, fr in enumerate(frames):
        req = i % 2 == 0
        assert (fr["ip.src"], fr["ip.dst"]) == ((LAP4, guest_ip(0)) if req
                                                else (guest_ip(0), LAP4)), fr
        assert fr["icmp.type"] == ("8" if req else "0"), fr
        assert (fr["eth.src"], fr["eth.dst"]) == ((TUN_MAC, gw_mac) if req
                                                  else (gw_mac, TUN_MAC)), fr
        assert fr["frame.len"] == fr["frame.cap_len"] == str(14 + 20 + 8 + 56), fr
    # direction in only: the guest pings the laptop, the file has the replies
    f2 = str(tmp_path / "in.pcap")
    p = start_capture(procs, d, "vpn:lan", f2, "-c", "2", "--direction", "in")
    v.guests[0].ping(LAP4, count=2, interval=0.2)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    frames = read_pcap(f2)
    assert [(f["ip.src"], f["icmp.type"]) for f in frames] == [(LAP4, "0")] * 2, frames
    for target, why in (("vpn:nope", "no network 'nope'"), ("vpn:", "no network")):
        cp = d.ctl_raw("capture", target, "-w", str(tmp_path / "x.pcap"), json_out=False)
        assert cp.returncode != 0 and why in cp.stderr, cp.stderr


# --------------------------------------------------------------------------- ACLs

LAP2 = "10.99.0.3"
VPN_RULES = [
    {"action": "reject", "src": "vpn", "proto": "tcp", "dport": 7002},            # 0
    {"action": "drop", "src": "vpn:laptop2", "proto": "tcp", "dport": 7000},      # 1
    {"action": "drop", "src": "vpn:laptop2", "proto": "icmp", "dst": "10.0.2.2"},  # 2
    {"action": "reject", "dst": "vpn:laptop1", "proto": "tcp", "dport": 7100},    # 3
]


def test_vpn_acl(wglab, vnetd, tmp_path):
    """Network rules naming vpn (any peer) or vpn:PEER: a TCP port of the
    guest rejected for every peer while ping works, another dropped for one
    peer only, one peer's ping to the gateway itself dropped (a packet that
    never crosses the switch), the guest's connections to one peer rejected
    (into the tunnel); hits counted per rule, the gateway's drops in the
    VPN's status; a rule added at run time applies to the next packet."""
    v = VpnLab(wglab, vnetd, tmp_path, net_extra={"acl": {"rules": VPN_RULES}})
    l1 = v.add_laptop(LAP4)
    l2 = v.add_laptop(LAP2)
    d = v.start()
    v.connect(l1)
    v.connect(l2)
    g = v.guests[0]
    gip = guest_ip(0)
    echo_server(g, tcp=(7000, 7002))
    echo_server(l1["ns"], tcp=(7100,))
    echo_server(l2["ns"], tcp=(7100,))
    for lap in (l1, l2):
        lap["ns"].ping_until(gip, timeout=20)
    h0 = hits(d, "lan")
    # vpn: every peer's SYN to 7002 answered with a reset; ping unaffected
    assert tcp_try(l1["ns"], gip, 7002, timeout=5)[0] == "refused"
    assert tcp_try(l2["ns"], gip, 7002, timeout=5)[0] == "refused"
    # vpn:laptop2: its connections to 7000 vanish, laptop1's go through
    assert tcp_try(l1["ns"], gip, 7000)[0] == "ok"
    assert tcp_try(l2["ns"], gip, 7000, timeout=2)[0] == "timeout"
    for lap in (l1, l2):
        sent, got = ping_stats(lap["ns"].ping(gip, count=2, interval=0.2).stdout)
        assert got == sent == 2
    # the gateway's own address: laptop2's pings dropped before the gateway
    # answers, laptop1's answered
    l1["ns"].ping("10.0.2.2", count=1)
    assert l2["ns"].ping("10.0.2.2", count=2, interval=0.2, wait=1,
                         check=False).returncode != 0
    # into the tunnel: the guest cannot open 7100 on laptop1, can on laptop2
    assert tcp_try(g, LAP4, 7100, timeout=5)[0] == "refused"
    assert tcp_try(g, LAP2, 7100)[0] == "ok"
    h = hits(d, "lan")
    delta = [x - y for x, y in zip(h, h0)]
    assert delta[0] == 2 and delta[1] >= 1 and delta[2] == 2 and delta[3] == 1, delta
    assert v.vpn()["gateway"]["acl_dropped"] == 2
    listing = acl_rules(d, "lan")
    assert "src=vpn:laptop2" in listing[1]["rule"] and "dst=vpn:laptop1" in listing[3]["rule"]
    # at run time: laptop1's pings to the guest dropped, then allowed again
    d.ctl("acl", "add", "lan", "drop", "src=vpn:laptop1", "proto=icmp", "--position", "0")
    assert l1["ns"].ping(gip, count=2, interval=0.2, wait=1, check=False).returncode != 0
    l2["ns"].ping(gip, count=1)
    assert acl_rules(d, "lan")[0]["hits"] == 2
    d.ctl("acl", "del", "lan", "0")
    l1["ns"].ping(gip, count=1)
