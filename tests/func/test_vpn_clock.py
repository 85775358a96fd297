"""Timer-driven VPN events through vnetd's test clock (issue 13): vnetd
--test-clock lets `vnetctl debug clock-advance MS` move its loop's clock,
so "rekey after the protocol's time limit" is tested without waiting three
minutes. Without the flag the command is refused.
"""
import pytest

import vnet

from nat_util import nat_network
from vpnsite_util import Site
from wg_util import keypair, missing_wireguard, quick_config, quick_peer, wglab  # noqa: F401

LAP_UL, LAP4 = "198.18.75.2", "10.99.0.2"
SRV = "198.18.75.1"
REJECT_AFTER_TIME_S = 180
REKEY_AFTER_TIME_S = 120


def test_clock_advance_refused_without_flag(vnetd):
    """A vnetd started without --test-clock refuses debug.clock.advance (and
    says why); with it, the command takes only 1 ms .. 1 day and reports the
    total offset."""
    d = vnetd({"networks": [nat_network()]})
    cp = d.ctl_raw("debug", "clock-advance", "1000")
    assert cp.returncode == 1 and "--test-clock" in cp.stderr, cp
    d.stop()
    d2 = vnetd({"networks": [nat_network()]}, name="vnetd-tc", args=["--test-clock"])
    assert "test clock on" in d2.log()
    for bad in ("0", "-5", "abc", "86400001", "1.5"):
        cp = d2.ctl_raw("debug", "clock-advance", bad)
        assert cp.returncode == 1 and "milliseconds" in cp.stderr, (bad, cp)
    assert d2.ctl("debug", "clock-advance", "1500") == {"advanced_ms": 1500, "offset_ms": 1500}
    assert d2.ctl("debug", "clock-advance", "500") == {"advanced_ms": 500, "offset_ms": 2000}
    cp = d2.ctl_raw("debug", "clock-advance", "10", json_out=False)
    assert cp.returncode == 0 and cp.stdout.strip() == "ok"
    d2.assert_alive()


@pytest.mark.skipif(missing_wireguard() is not None, reason=missing_wireguard() or "")
def test_rekey_after_reject_time(wglab, vnetd, tmp_path):
    """A laptop (wireguard-go) connects to vnetd (--test-clock) and pings the
    guest; vnetd's clock moves 181 s: its session is past REJECT_AFTER_TIME,
    so the guest's next packet to the laptop makes vnetd start a handshake
    of its own (it was only ever the responder), and traffic goes on both
    ways over the new session; 121 s later (REKEY_AFTER_TIME) vnetd, now the
    initiator, rekeys while the old session still carries traffic. The
    gateway's other services still answer."""
    site = Site(wglab, vnetd, tmp_path, "srv", 2, SRV)
    lap_ns = wglab.ns()
    wglab.link(site.srv, lap_ns, f"{SRV}/24", f"{LAP_UL}/24")
    priv, pub = keypair()
    site.start([{"name": "laptop", "public_key": pub, "allowed_ips": [f"{LAP4}/32"]}],
               args=["--test-clock"])
    dev = wglab.device(lap_ns)
    dev.apply_quick(quick_config(priv, address=[f"{LAP4}/32"],
                                 peers=[quick_peer(site.pub, [site.subnet], site.endpoint)]))
    lap_ns.ping_until(site.guest_ip, timeout=20)
    site.guest.ping(LAP4, count=2)
    p0 = site.peer("laptop")
    assert p0["counters"]["handshakes"] == 1
    assert p0["counters"]["initiations_sent"] == 0       # the laptop started it
    assert p0["session"] and not p0["session"]["initiator"]
    assert p0["session"]["age_ms"] < 60000

    # 11 s: the passive keepalive vnetd owes the laptop (it received last)
    # goes out on the still valid session; then no timer of vnetd is armed
    # that could start a handshake before the guest sends again
    ka = p0["counters"]["keepalives_sent"]
    site.d.ctl("debug", "clock-advance", "11000")
    vnet.wait_for(lambda: site.peer("laptop")["counters"]["keepalives_sent"] > ka, 10,
                  interval=0.1, what="vnetd's passive keepalive")
    # 170 s more: 181 s in all, past REJECT_AFTER_TIME
    r = site.d.ctl("debug", "clock-advance", "170000")
    assert r["offset_ms"] == (REJECT_AFTER_TIME_S + 1) * 1000
    p = site.peer("laptop")
    assert p["session"]["age_ms"] >= REJECT_AFTER_TIME_S * 1000
    assert p["counters"]["initiations_sent"] == 0 and p["counters"]["handshakes"] == 1

    site.guest.ping_until(LAP4, timeout=20)
    p1 = site.peer("laptop")
    assert p1["counters"]["initiations_sent"] >= 1
    assert p1["counters"]["handshakes"] >= 2
    assert p1["session"]["initiator"] and p1["session"]["age_ms"] < 60000
    # both ways over the new session
    site.guest.ping(LAP4, count=3)
    lap_ns.ping(site.guest_ip, count=3)
    p2 = site.peer("laptop")
    assert p2["counters"]["rx_packets"] > p1["counters"]["rx_packets"]
    assert p2["counters"]["tx_packets"] > p1["counters"]["tx_packets"]
    w = dev.peer(site.pub)
    assert w["latest_handshake"] > 0
    # vnetd is now the initiator: 121 s on (past REKEY_AFTER_TIME, short of
    # REJECT_AFTER_TIME) the session still carries traffic and vnetd rekeys
    site.d.ctl("debug", "clock-advance", str((REKEY_AFTER_TIME_S + 1) * 1000))
    site.guest.ping_until(LAP4, timeout=20)
    vnet.wait_for(lambda: site.peer("laptop")["counters"]["handshakes"] >= 3, 15,
                  interval=0.1, what="a rekey after REKEY_AFTER_TIME")
    p3 = site.peer("laptop")
    assert p3["counters"]["initiations_sent"] > p2["counters"]["initiations_sent"]
    assert p3["session"]["initiator"] and p3["session"]["age_ms"] < 60000
    lap_ns.ping(site.guest_ip, count=2)
    # the rest of the gateway is unharmed by the jumps
    site.guest.ping(site.gw, count=2)
    c = site.vpn()["counters"]
    assert c["bad_handshake"] == 0 and c["stale_timestamp"] == 0, c
    site.d.assert_alive()
