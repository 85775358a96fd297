"""A flood of handshake initiations against vnetd's VPN (issue 13): vnetd
(in a server namespace, a guest on its nat network) listens on 198.18.73.1;
a flooder namespace sends initiations at a bounded rate and count
(wg_flood.py); a "laptop" namespace runs Debian's wireguard-go as the
legitimate peer. Initiations with a valid mac1 put the device under load
and are answered with cookie replies instead of public-key work; ones with
a bad mac1 are dropped without an answer; the laptop still connects (its
first initiation gets a cookie reply, its retry carries mac2).
"""
import json
import os
import socket
import struct
import subprocess
import threading

import pytest

import vnet
from vpnsite_util import VPN_PORT, Site
from wg_util import keypair, missing_wireguard, quick_config, quick_peer, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

SRV = "198.18.73.1"
LAP_UL, FLOOD_UL = "198.18.73.2", "198.18.74.2"
LAP4 = "10.99.0.2"
FLOODER = os.path.join(os.path.dirname(__file__), "wg_flood.py")


def make_lab(wglab, vnetd, tmp_path, laptop=True):
    """The site, the flooder's namespace (routed to SRV over a link of its
    own) and, with laptop, the laptop's namespace and keys (its peer entry
    in vnetd's config). Returns (site, flooder_ns, laptop dict or None)."""
    site = Site(wglab, vnetd, tmp_path, "srv", 2, SRV)
    fl = wglab.ns()
    wglab.link(site.srv, fl, "198.18.74.1/24", f"{FLOOD_UL}/24")
    fl.ip("route", "add", f"{SRV}/32", "via", "198.18.74.1")
    lap = None
    peers = []
    if laptop:
        ns = wglab.ns()
        _, ifname = wglab.link(site.srv, ns, f"{SRV}/24", f"{LAP_UL}/24")
        priv, pub = keypair()
        lap = {"ns": ns, "ifname": ifname, "priv": priv, "pub": pub}
        peers.append({"name": "laptop", "public_key": pub, "allowed_ips": [f"{LAP4}/32"]})
    else:
        ns = wglab.ns()
        wglab.link(site.srv, ns, f"{SRV}/24", f"{LAP_UL}/24")
    site.start(peers)
    return site, fl, lap


def flood(ns, count, rate, server_pub=None, bad_mac1=False, linger=1.0, with_cookie=False):
    """wg_flood.py started in ns (a Popen; its stdout is one JSON line)."""
    cmd = ["/usr/bin/python3", FLOODER, "--target", SRV, "--port", str(VPN_PORT),
           "--count", str(count), "--rate", str(rate), "--linger", str(linger)]
    if server_pub:
        cmd += ["--server-pub", server_pub]
    if bad_mac1:
        cmd.append("--bad-mac1")
    if with_cookie:
        cmd.append("--with-cookie")
    return ns.start(*cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def flood_result(proc, timeout):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"wg_flood.py failed ({proc.returncode}): {err}"
    return json.loads(out)


class WgSniffer:
    """Reads the WireGuard messages on the laptop's veth (to and from port
    51820) on a thread: a list of (direction 'in'/'out', message bytes)."""

    def __init__(self, ns, ifname):
        self.sock = ns.packet_socket(ifname)
        self.sock.settimeout(0.2)
        self.msgs = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                frame, addr = self.sock.recvfrom(65535)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
                continue
            ihl = (frame[14] & 15) * 4
            udp = frame[14 + ihl:]
            sport, dport = struct.unpack("!HH", udp[:4])
            if VPN_PORT not in (sport, dport):
                continue
            d = "out" if addr[2] == socket.PACKET_OUTGOING else "in"
            self.msgs.append((d, bytes(udp[8:])))

    def stop(self):
        self._stop.set()
        self._t.join(5)
        self.sock.close()

    def of_type(self, direction, t):
        return [m for d, m in self.msgs if d == direction and m and m[0] == t]


def test_bad_mac1_dropped_silently(wglab, vnetd, tmp_path):
    """Initiations whose mac1 is wrong (random) are counted as bad_mac1 and
    nothing at all is sent back: no cookie reply, no response."""
    site, fl, _ = make_lab(wglab, vnetd, tmp_path, laptop=False)
    before = site.vpn()["counters"]
    res = flood_result(flood(fl, 400, 400, server_pub=site.pub, bad_mac1=True, linger=1.5),
                       timeout=30)
    assert res["sent"] == 400
    assert res["replies"] == 0, res
    c = site.vpn()["counters"]
    assert c["bad_mac1"] - before["bad_mac1"] == 400
    assert c["cookies_sent"] == before["cookies_sent"]
    assert c["tx_datagrams"] == before["tx_datagrams"]
    assert c["bad_handshake"] == before["bad_handshake"]
    # mac1 right but for another responder's key: just as bad
    _, other = keypair()
    res = flood_result(flood(fl, 100, 400, server_pub=other, linger=1.0), timeout=30)
    assert res["replies"] == 0
    assert site.vpn()["counters"]["bad_mac1"] - before["bad_mac1"] == 500
    site.d.assert_alive()


def test_flood_answered_with_cookies_while_laptop_connects(wglab, vnetd, tmp_path):
    """6000 initiations with a valid mac1 at 400 a second (15 s): the device
    goes under load and answers them with cookie replies (each to the
    initiation's sender index), doing the public-key work for no more than
    the token bucket lets through; meanwhile wireguard-go on the laptop
    connects: its first initiation gets a cookie reply, its retry carries
    mac2 and completes the handshake, and the laptop pings the guest."""
    site, fl, lap = make_lab(wglab, vnetd, tmp_path)
    count, rate = 6000, 400
    fproc = flood(fl, count, rate, server_pub=site.pub)
    try:
        vnet.wait_for(lambda: site.vpn()["under_load"], 10, interval=0.1,
                      what="vnetd's VPN under load")
        sniff = WgSniffer(lap["ns"], lap["ifname"])
        try:
            dev = wglab.device(lap["ns"])
            dev.apply_quick(quick_config(lap["priv"], address=[f"{LAP4}/32"],
                                         peers=[quick_peer(site.pub, [site.subnet],
                                                           site.endpoint)]))
            lap["ns"].ping_until(site.guest_ip, timeout=25)
            flooding = fproc.poll() is None
            lap["ns"].ping(site.guest_ip, count=3)
        finally:
            sniff.stop()
        res = flood_result(fproc, timeout=40)
    finally:
        vnet.Procs.stop(fproc)
    assert flooding, "the flood ended before the laptop connected: nothing was shown"
    # the laptop: a cookie reply, then an initiation with mac2, then a response
    cookies = sniff.of_type("in", 3)
    assert cookies, "the laptop got no cookie reply"
    inits = sniff.of_type("out", 1)
    with_mac2 = [m for m in inits if len(m) == 148 and any(m[132:148])]
    assert with_mac2, f"no initiation of the laptop carried mac2 ({len(inits)} sent)"
    assert sniff.of_type("in", 2), "no handshake response reached the laptop"
    # vnetd: the laptop's session, the flood answered with cookies
    p = site.peer("laptop")
    assert p["counters"]["handshakes"] >= 1 and p["counters"]["rx_packets"] >= 3
    assert p["endpoint"] == f"{LAP_UL}:{dev.listen_port()}"
    c = site.vpn()["counters"]
    assert res["sent"] == count
    assert res["other"] == 0, res           # nothing but cookie replies to the flooder
    assert res["matched"] == res["cookie_replies"] >= count // 2, res
    assert c["cookies_sent"] >= res["cookie_replies"] + len(cookies)
    assert c["under_load"] >= c["cookies_sent"]
    # public-key work only for what the bucket let through (burst + rate)
    worked = c["bad_handshake"] + c["unknown_peer"] + c["stale_timestamp"]
    assert worked <= 64 + 100 * (res["seconds"] + 2), c
    assert c["bad_mac1"] == 0
    site.d.assert_alive()
    # after the flood the load passes and a new handshake needs no cookie
    vnet.wait_for(lambda: not site.vpn()["under_load"], 10, interval=0.2,
                  what="the load to pass")


def test_flood_with_valid_mac2_is_rate_limited(wglab, vnetd, tmp_path):
    """A flooder that owns its address answers the cookie challenge: it
    opens the cookie reply and sends every initiation with a valid mac2
    (2000 at 400/s). A cookie proves only the source address, so under
    load such messages are still limited per source (20 a second after a
    burst of 5, as WireGuard's ratelimiter): the rest are counted as
    ratelimited and cost no public-key work."""
    site, fl, _ = make_lab(wglab, vnetd, tmp_path, laptop=False)
    # put the device under load first (valid mac1, no mac2), then flood
    warm = flood(fl, 1200, 400, server_pub=site.pub, linger=0)
    vnet.wait_for(lambda: site.vpn()["under_load"], 10, interval=0.1,
                  what="vnetd's VPN under load")
    count, rate = 2000, 400
    before = site.vpn()["counters"]
    res = flood_result(flood(fl, count, rate, server_pub=site.pub, linger=1.0, with_cookie=True),
                       timeout=40)
    flood_result(warm, timeout=40)
    c = site.vpn()["counters"]
    worked = (c["bad_handshake"] - before["bad_handshake"]) + \
        (c["unknown_peer"] - before["unknown_peer"])
    assert res["sent"] == count
    # one source: WireGuard lets 5 + 20/s of them through
    assert worked <= 5 + 20 * (res["seconds"] + 2) + 64, \
        f"{worked} of {count} initiations with a valid mac2 got public-key work under load"
    limited = c["ratelimited"] - before["ratelimited"]
    assert limited >= count - worked - 64, (limited, worked, c)
    assert res["replies"] == 0  # nothing answers a limited message
    site.d.assert_alive()


def test_bad_mac1_flood_does_not_load_the_device(wglab, vnetd, tmp_path):
    """Garbage that fails mac1 costs one keyed hash and no public-key work,
    so it must not count as handshake load: during a flood of 3200 such
    initiations at 400/s the device never goes under load, and a laptop
    connecting meanwhile gets no cookie reply (a legitimate peer is not
    made to wait 5 s for its retry by anyone who can send datagrams)."""
    site, fl, lap = make_lab(wglab, vnetd, tmp_path)
    fproc = flood(fl, 3200, 400, server_pub=site.pub, bad_mac1=True, linger=0)
    try:
        vnet.wait_for(lambda: site.vpn()["counters"]["bad_mac1"] > 200, 10, interval=0.1,
                      what="the garbage flood to arrive")
        assert not site.vpn()["under_load"]
        sniff = WgSniffer(lap["ns"], lap["ifname"])
        try:
            dev = wglab.device(lap["ns"])
            dev.apply_quick(quick_config(lap["priv"], address=[f"{LAP4}/32"],
                                         peers=[quick_peer(site.pub, [site.subnet],
                                                           site.endpoint)]))
            lap["ns"].ping_until(site.guest_ip, timeout=20)
            flooding = fproc.poll() is None
        finally:
            sniff.stop()
        res = flood_result(fproc, timeout=30)
    finally:
        vnet.Procs.stop(fproc)
    assert flooding, "the flood ended before the laptop connected: nothing was shown"
    assert res["replies"] == 0
    assert not sniff.of_type("in", 3), "the laptop got a cookie reply during a garbage flood"
    c = site.vpn()["counters"]
    assert c["cookies_sent"] == 0 and c["under_load"] == 0, c
    assert c["bad_mac1"] == res["sent"]
