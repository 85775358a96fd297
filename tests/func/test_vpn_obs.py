"""Observability and policy of the VPN (issue 13, scope 6 and the ACL part
of 3): per-peer and device metrics of a network's VPN parsed by
prometheus_client, a capture of the tunnel's inner packets read back as pcap,
and ACL rules naming vpn or one peer. Real WireGuard (Debian's wireguard-go)
in a laptop namespace, vnetd in a server namespace (vpn_util.VpnLab).
"""
import pytest

import vnet
from modes_util import read_pcap
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
