"""Functional tests of hostile IPv6 guests (issue 11, "Hostile"): a VM port
that runs a rogue router and DHCPv6 server (dnsmasq with RAs and a DHCPv6
range) and sends crafted DHCPv6 server messages and router advertisements
(also behind a destination-options header) gets nothing to a second guest
that configures itself with the kernel's SLAAC and ISC dhclient -6: that
guest's addresses, routes and lease come from vnetd only, and the drops show
as `guard` in the rogue port's counters. Marked trusted, the same port does
reach the guest (the control). A guest that sends the gateway overlapping,
tiny and endless IPv6 fragments gets the overlapping datagrams dropped and
counted (RFC 5722), a first fragment without its upper-layer header dropped
(RFC 7112), the reassembly table stays at its fixed size with the flooder
held to its share, and another guest's pings (large ones needing
reassembly, IPv6 and IPv4, and a datagram it keeps half-sent through the
whole flood) and TCP transfer through the NAT carry on meanwhile.

Theory of operation: guests are namespaces on tap ports with IPv6 switched on
(the netns fixture switches it off); crafted frames are built with scapy and
written to the attacker's eth0 through an AF_PACKET socket; what a guest
receives is read with tcpdump inside its namespace. Every address is inside
a namespace the test created or on the loopback (the NAT's host side is ::1).
"""
import hashlib
import ipaddress
import shutil
import socket
import struct
import threading
import time

import pytest

import vnet
from ipv6_util import Dhclient6, Tcp6Server, ipv6_on, link_local_ready, slaac_addr
from nat_util import write_random_file
from policy_util import drops, tap
from vnet import wait_for

from scapy.layers.dhcp6 import (DUID_LL, DHCP6_Advertise, DHCP6_Reply,  # noqa: E402
                                DHCP6OptIA_NA, DHCP6OptIAAddress, DHCP6OptServerId)
from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6ND_RA, ICMPv6NDOptPrefixInfo,  # noqa: E402
                                ICMPv6NDOptSrcLLAddr, IPv6, IPv6ExtHdrDestOpt,
                                IPv6ExtHdrFragment)
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

PFX = "fd00:66:6:6::"          # vnetd's prefix
ROGUE_PFX = "fd00:bad:0:1::"   # what the rogue router and DHCPv6 server hand out
CRAFTED_PFX = "fd00:bad:0:2::"  # the prefix of the crafted RA
ROGUE_MAC, VICTIM_MAC = "02:00:00:66:00:0a", "02:00:00:66:00:0b"
ATTACKER_MAC, BYSTANDER_MAC = "02:00:00:66:00:1a", "02:00:00:66:00:1b"
ROGUE_LL = "fe80::ff:fe66:a"   # EUI-64 of ROGUE_MAC


def net(**extra):
    n = {"name": "lan", "mode": "nat", "subnet6": PFX + "/64", "dhcp6": {"mode": "stateful"},
         "dns": {"upstream": ["127.0.0.1:9"]}}  # nothing listens there: nothing is resolved
    n.update(extra)
    return n


def send_frames(ns, frames, pace=0.0):
    """Write raw frames out of ns's eth0 (pace: seconds between frames)."""
    s = ns.packet_socket()
    try:
        for f in frames:
            s.send(bytes(f))
            if pace:
                time.sleep(pace)
    finally:
        s.close()


def globals6(ns):
    out = vnet.json.loads(ns.ip("-j", "-6", "addr", "show", "dev", "eth0", "scope",
                                "global").stdout)
    return [a["local"] for l in out for a in l.get("addr_info", []) if "local" in a]


def inside(addr, pfx):
    """addr is in the /64 pfx ("PREFIX::")."""
    return ipaddress.IPv6Address(addr) in ipaddress.IPv6Network(pfx + "/64")


def default_routers(ns):
    out = vnet.json.loads(ns.ip("-j", "-6", "route", "show", "default").stdout)
    hops = []
    for r in out:
        hops += [r["gateway"]] if "gateway" in r else [n["gateway"] for n in r.get("nexthops", [])]
    return hops


def start_rogue_dnsmasq(ns, tmp_path):
    """A real rogue router and DHCPv6 server on ns's eth0 only (no DNS)."""
    return ns.start("dnsmasq", "-d", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
                    "--port=0", "--bind-interfaces", "--interface=eth0", "--except-interface=lo",
                    "--enable-ra", "--ra-param=eth0,4,1800",
                    f"--dhcp-range={ROGUE_PFX}100,{ROGUE_PFX}1ff,slaac,64,10m",
                    f"--dhcp-leasefile={tmp_path}/rogue.leases",
                    f"--pid-file={tmp_path}/rogue.pid", "--log-dhcp")


def crafted(victim_ll):
    """DHCPv6 Advertise and Reply from port 547 to the victim's client port
    (one behind a destination-options header), and a router advertisement
    behind one, all from the rogue."""
    duid = DUID_LL(lladdr=ROGUE_MAC)
    ia = DHCP6OptIA_NA(iaid=1, ianaopts=[DHCP6OptIAAddress(addr=ROGUE_PFX + "77")])
    l2 = Ether(src=ROGUE_MAC, dst=VICTIM_MAC)
    msgs = [DHCP6_Advertise(trid=0x1234) / DHCP6OptServerId(duid=duid) / ia,
            DHCP6_Reply(trid=0x1234) / DHCP6OptServerId(duid=duid) / ia]
    frames = [l2 / IPv6(src=ROGUE_LL, dst=victim_ll) / UDP(sport=547, dport=546) / msgs[0],
              l2 / IPv6(src=ROGUE_LL, dst=victim_ll) / IPv6ExtHdrDestOpt() /
              UDP(sport=547, dport=546) / msgs[1]]
    ra = (ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptSrcLLAddr(lladdr=ROGUE_MAC) /
          ICMPv6NDOptPrefixInfo(prefix=CRAFTED_PFX, prefixlen=64, L=1, A=1))
    frames.append(Ether(src=ROGUE_MAC, dst="33:33:00:00:00:01") /
                  IPv6(src=ROGUE_LL, dst="ff02::1", hlim=255) / IPv6ExtHdrDestOpt() / ra)
    return [bytes(f) for f in frames]


@pytest.mark.skipif(not shutil.which("dhclient") or not shutil.which("dnsmasq"),
                    reason="needs ISC dhclient and dnsmasq")
@pytest.mark.parametrize("trusted", [False, True], ids=["guarded", "trusted-control"])
def test_rogue_router_and_dhcpv6_server_reach_nobody(netns, vnetd, tmp_path, request, trusted):
    """A rogue router and DHCPv6 server on a VM port: the victim's SLAAC
    addresses, default routers and DHCPv6 lease come from vnetd only, it never
    receives a rogue RA or DHCPv6 message, and the rogue port counts the drops
    as guard. The control marks the rogue port trusted: then they do arrive."""
    r, v = netns(), netns()
    ipv6_on(r, accept_ra=False)
    ipv6_on(v)
    rogue = tap("rogue", r, mac=ROGUE_MAC, **({"trusted": True} if trusted else {}))
    d = vnetd({"networks": [net()], "ports": [rogue, tap("victim", v, mac=VICTIM_MAC)]})
    gw = d.network("lan")["gateway"]
    r.wait_link()
    r.ip("link", "set", "eth0", "up")
    r.ip("addr", "add", f"{ROGUE_PFX}1/64", "dev", "eth0", "nodad")
    assert link_local_ready(r) == ROGUE_LL
    dm = start_rogue_dnsmasq(r, tmp_path)
    wait_for(lambda: r.listening(547, "u"), 10, what="the rogue DHCPv6 server")
    v.wait_link()
    sniff = vnet.Sniffer(v, filt=("ip6", "and", "ether", "src", ROGUE_MAC))
    try:
        v.ip("link", "set", "eth0", "up")  # its router solicitations reach both routers
        mine = slaac_addr(v, gw["subnet6"])
        victim_ll = link_local_ready(v)
        guard0 = drops(d, "rogue").get("guard", 0)
        send_frames(r, crafted(victim_ll))
        c = Dhclient6(v, tmp_path, "victim")
        request.addfinalizer(c.stop)
        log = c.run()
        bound = c.events("BOUND6")
        if trusted:
            # The rogue's messages arrive: its RAs (the crafted one too) and
            # its DHCPv6 answers, and the victim takes its prefix.
            sniff.wait(lambda l: "router advertisement" in l, what="a rogue RA at the victim")
            sniff.wait(lambda l: "dhcp6 advertise" in l, what="a rogue Advertise at the victim")
            sniff.wait(lambda l: "DSTOPT" in l and "dhcp6 reply" in l,
                       what="the crafted Reply behind a destination-options header")
            for p in (ROGUE_PFX, CRAFTED_PFX):
                wait_for(lambda: any(inside(a, p) for a in globals6(v)), 15,
                         what=f"a SLAAC address in the rogue prefix {p}")
            assert ROGUE_LL in default_routers(v)
            assert f"Advertise message on eth0 from {ROGUE_LL}." in log, log
            assert drops(d, "rogue").get("guard", 0) == 0
            return
        # Guarded: everything the victim has is vnetd's.
        assert bound, log
        lease = bound[-1]["new_ip6_address"]
        assert inside(lease, PFX), bound
        assert f"Advertise message on eth0 from {gw['link_local']}." in log, log
        assert ROGUE_LL not in log, log
        time.sleep(1)  # the rogue's periodic RAs (every 4 s) have had their chance too
        assert all(inside(a, PFX) for a in globals6(v)), globals6(v)
        assert mine in globals6(v)
        assert default_routers(v) == [gw["link_local"]], default_routers(v)
        seen = [l for l in sniff.lines if "router advertisement" in l or "dhcp6" in l]
        assert not seen, seen
        guard = drops(d, "rogue").get("guard", 0)
        assert guard >= guard0 + 3, drops(d, "rogue")  # the crafted ones, and dnsmasq's
        assert drops(d, "victim").get("guard", 0) == 0
        out = d.ctl_raw("stats", "rogue", json_out=False).stdout
        assert f"rx dropped (guard): {guard}" in out or \
            f"rx dropped (guard): {drops(d, 'rogue')['guard']}" in out, out
        dh6 = d.network("lan")["gateway"]["dhcp6"]
        assert dh6["leases_active"] == 1 and dh6["reply"] >= 1, dh6
    finally:
        sniff.stop()
        vnet.Procs.stop(dm)
    d.assert_alive()


# ------------------------------------------------------------------ fragments

def echo6(src, dst, ident, size, fill=b"\xa5"):
    """An ICMPv6 echo request's bytes (header + data), checksum filled in."""
    data = (fill * size)[:size]
    return bytes(IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=ident, seq=1, data=data))[40:]


def frag(l2, src, dst, ident, off, payload, more, nh=58):
    """One fragment: payload at byte offset off (a multiple of 8)."""
    return bytes(l2 / IPv6(src=src, dst=dst) /
                 IPv6ExtHdrFragment(nh=nh, id=ident, offset=off // 8, m=int(more)) /
                 Raw(payload))


def split(l2, src, dst, ident, body, size):
    """body in fragments of size bytes (a multiple of 8), in order."""
    return [frag(l2, src, dst, ident, o, body[o:o + size], o + size < len(body))
            for o in range(0, len(body), size)]


def reasm(d):
    return d.network("lan")["gateway"]["reassembly"]


def frag4(l2, src, dst, ident, off, payload, more):
    """One IPv4 fragment of an ICMP datagram: payload at byte offset off."""
    return bytes(l2 / IP(src=src, dst=dst, id=ident, proto=1, flags=int(more), frag=off // 8) /
                 Raw(payload))


def echo4(ident, size):
    """An ICMP echo request's bytes (header + data), checksum filled in."""
    return bytes(ICMP(type=8, id=ident, seq=1) / Raw(b"\x5a" * size))


class Flood(threading.Thread):
    """Never-completed IPv6 datagrams from ns: first fragments of frame
    (bytes), each with the next identification, paced, until stop() once
    at least `least` frames went out (never more than `most`)."""

    def __init__(self, ns, frame, least, most, pace=0.0002):
        super().__init__(daemon=True)
        self.sock, self.frame, self.least, self.most, self.pace = (
            ns.packet_socket(), bytearray(frame), least, most, pace)
        self.sent, self.done = 0, threading.Event()

    def run(self):
        try:
            while self.sent < self.most and not (self.done.is_set() and self.sent >= self.least):
                struct.pack_into("!I", self.frame, 14 + 40 + 4, 0x10000 + self.sent)
                self.sock.send(self.frame)
                self.sent += 1
                time.sleep(self.pace)
        finally:
            self.sock.close()

    def stop(self):
        self.done.set()
        self.join(120)
        assert not self.is_alive()


def test_overlapping_tiny_and_flooded_fragments(netns, vnetd, servers, tmp_path):
    """Overlapping fragments drop their datagram (counted as overlaps, no
    echo reply), 8-byte fragments reassemble and are answered, a first
    fragment without the ICMPv6 header is dropped as guard, a flood of at
    least 3000 never-completed datagrams keeps the reassembly table at its
    16 slots and the flooder at its share of 4 (its own oldest recycled,
    nobody else's evicted) without growing vnetd; meanwhile another guest
    pings the gateway (also ping -s 3000 over IPv6 and IPv4, fragments the
    gateway reassembles), finishes a datagram of each family whose first
    fragment it sent before the flood, and downloads through the NAT
    unharmed."""
    att, by = netns(), netns()
    for ns in (att, by):
        ipv6_on(ns)
    d = vnetd({"networks": [net(dhcp6={"mode": "stateless"})],
               "ports": [tap("attacker", att, mac=ATTACKER_MAC),
                         tap("bystander", by, mac=BYSTANDER_MAC)]})
    gw = d.network("lan")["gateway"]
    gw6 = gw["address6"]
    for ns in (att, by):
        ns.wait_link()
        ns.ip("link", "set", "eth0", "up")
    src = slaac_addr(att, gw["subnet6"])
    by6 = slaac_addr(by, gw["subnet6"])
    gw4 = gw["address"]
    by4 = gw4.rsplit(".", 1)[0] + ".99"
    by.addr(by4 + "/24")
    att.ping(gw6, count=1)
    by.ping(gw6, count=1)
    by.ping_until(gw4)
    l2 = Ether(src=ATTACKER_MAC, dst=gw["mac"])
    by_l2 = Ether(src=BYSTANDER_MAC, dst=gw["mac"])

    big = tmp_path / "big.bin"
    want = write_random_file(big, 30 * 1000 * 1000)

    def send_file(conn, _addr):
        with open(big, "rb") as f:
            conn.sendfile(f)
    srv = Tcp6Server(send_file)
    servers.append(srv)
    result = {}

    def download():
        def body():
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(60)
            s.connect((gw6, srv.port))
            h = hashlib.sha256()
            while True:
                b = s.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                time.sleep(0.001)  # a slow reader: the transfer spans the attack
            s.close()
            return h.hexdigest()
        try:
            result["sha"] = by.in_ns(body)
        except Exception as e:  # reported by the assertion below
            result["error"] = e

    sniff = vnet.Sniffer(att, filt=("icmp6", "and", "ip6[40] == 129"))
    t = threading.Thread(target=download, daemon=True)
    pinger = by.start("ping", "-6", "-n", "-q", "-c", "60", "-i", "0.05", gw6)
    t.start()
    try:
        r0, g0 = reasm(d), drops(d, "attacker").get("guard", 0)
        rss0 = vnet.vm_rss_kb(d.pid)
        body = echo6(src, gw6, 0x1111, 200)
        frames = split(l2, src, gw6, 0x1111, body, 104)                   # the control: answered
        a = echo6(src, gw6, 0x2222, 200)
        frames += [frag(l2, src, gw6, 0x2222, 0, a[:104], True),          # bytes 96..104 twice
                   frag(l2, src, gw6, 0x2222, 96, a[96:], False)]
        b = echo6(src, gw6, 0x3333, 200)
        frames += [frag(l2, src, gw6, 0x3333, 0, b[:104], True),          # offset 0 rewritten
                   frag(l2, src, gw6, 0x3333, 0, echo6(src, gw6, 0x3334, 200)[:104], True),
                   frag(l2, src, gw6, 0x3333, 104, b[104:], False)]
        frames += split(l2, src, gw6, 0x4444, echo6(src, gw6, 0x4444, 56), 8)  # tiny: answered
        # A first fragment holding only a destination-options header: the
        # ICMPv6 header is in the second one (RFC 7112 forbids it).
        dopt = bytes(IPv6ExtHdrDestOpt(nh=58))
        e = echo6(src, gw6, 0x5555, 56)
        frames += [frag(l2, src, gw6, 0x5555, 0, dopt, True, nh=60),
                   frag(l2, src, gw6, 0x5555, 8, e, False, nh=60)]
        send_frames(att, frames, pace=0.01)
        sniff.wait(lambda l: "id 4369," in l, what="the reply to the control echo")
        sniff.wait(lambda l: "id 17476," in l, what="the reply to the 8-byte fragments")
        wait_for(lambda: reasm(d)["overlaps"] == r0["overlaps"] + 2, 10, what="two overlaps")
        wait_for(lambda: drops(d, "attacker").get("guard", 0) == g0 + 1, 10,
                 what="the headerless first fragment dropped as guard")

        # The bystander starts a datagram of each family and holds back
        # the rest of its fragments until the flood has gone through.
        by_sniff = vnet.Sniffer(by, filt=("(", "icmp6", "and", "ip6[40]", "==", "129", ")", "or",
                                          "(", "icmp", "and", "icmp[0]", "==", "0", ")"))
        held6 = split(by_l2, by6, gw6, 0x7777, echo6(by6, gw6, 0x7777, 1200), 608)
        held4 = echo4(0x7778, 1200)
        held4 = [frag4(by_l2, by4, gw4, 0x7778, 0, held4[:608], True),
                 frag4(by_l2, by4, gw4, 0x7778, 608, held4[608:], False)]
        send_frames(by, [held6[0], held4[0]])

        # The flood: first fragments that never complete, each a new
        # datagram, until the bystander's large pings are through.
        head = echo6(src, gw6, 7, 64)[:64]
        flood = Flood(att, frag(l2, src, gw6, 0x10000, 0, head, True), 3000, 40000)
        flood.start()
        big = [by.start("ping", *fam, "-n", "-q", "-c", "20", "-i", "0.1", "-W", "2",
                        "-s", "3000", dst) for fam, dst in ((("-6",), gw6), ((), gw4))]
        try:
            wait_for(lambda: reasm(d)["recycled_guest_share"] >=
                     r0["recycled_guest_share"] + 3000 - 4, 60,
                     what="the flood through the attacker's share of the table")
            send_frames(by, held6[1:] + held4[1:])
            by_sniff.wait(lambda l: "ICMP6, echo reply, id 30583," in l, what="the held IPv6 echo")
            by_sniff.wait(lambda l: "ICMP echo reply, id 30584," in l, what="the held IPv4 echo")
            for p in big:
                assert p.wait(timeout=60) == 0
                sent, got = vnet.ping_stats(p.stdout.read())
                assert got == sent == 20
        finally:
            flood.stop()
            by_sniff.stop()
        r1 = reasm(d)
        assert r1["in_use"] <= r1["max"] == 16 and r1["per_guest_max"] == 4, r1
        assert r1["evicted"] == r0["evicted"], r1  # nobody had to take another's slot
        assert r1["recycled_guest_share"] >= r0["recycled_guest_share"] + flood.sent - 4, r1
        assert r1["completed"] >= r0["completed"] + 2 + 2 * 20, r1
        assert vnet.vm_rss_kb(d.pid) - rss0 < 4096, "vnetd grew under the fragment flood"
        # Reassembly still works after the flood.
        send_frames(att, split(l2, src, gw6, 0x6666, echo6(src, gw6, 0x6666, 200), 104))
        sniff.wait(lambda l: "id 26214," in l, what="an echo reassembled after the flood")
        time.sleep(0.5)
        answered = {l.split("id ")[1].split(",")[0] for l in sniff.lines if "id " in l}
        assert answered == {"4369", "17476", "26214"}, sniff.lines  # not 0x2222/0x3333/0x5555
        r2 = reasm(d)
        assert r2["overlaps"] == r0["overlaps"] + 2 and r2["completed"] >= r0["completed"] + 3
        s6 = d.network("lan")["gateway"]["stats6"]
        assert s6["fragments"] >= flood.sent + len(frames) - 2, s6

        # The bystander: every ping answered, the download whole.
        assert pinger.wait(timeout=60) == 0
        t.join(120)
        assert result.get("sha") == want, result
        sent, got = vnet.ping_stats(pinger.stdout.read())
        assert got == sent == 60
    finally:
        sniff.stop()
    d.assert_alive()
