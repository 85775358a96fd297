"""Functional tests of the vhost-user port against a front end written here
(vhost_client.py): a well-behaved one passing frames both ways without a VM
(also a legacy one, and a TSO segment segmented for a port without offloads),
and a hostile one.

Every case runs on a lab of one vnetd with a nat network "lan" (DHCP on
10.0.2.100-150, no IPv6), a tap in a namespace (10.0.2.50), a vhost-user port
"good" driven properly for the whole test and a vhost-user port "evil" for the
abuse. After each abuse: vnetd is the same process, "good" still exchanges
frames with the tap, the namespace still reaches the gateway, "evil" shows
what happened (connection closed and protocol_errors/last_error, or rings
"broken" with breaks/broken, or a refused request), the log says so; then a
well-behaved front end on "evil" (reconnected) passes a frame each way
(DHCP discover -> offer), and once it is gone vnetd holds no more fds and no
mapping of evil's memory than before.

Addresses live only on the nat network's inside and in the namespace the test
creates; nothing is sent anywhere else.
"""
import os
import socket
import struct
import time

import pytest

import vhost_client as vc
import vnet
from vnet import wait_for

pytestmark = pytest.mark.skipif(not vc.vnetd_has_vhost_user(vnet.VNETD),
                                reason=f"{vnet.VNETD} has no vhost-user port type")

GOOD_MAC = "52:54:00:00:0e:01"
EVIL_MAC = "52:54:00:00:0e:02"
TAP_MAC = "02:00:00:00:0e:50"
TAP_IP = "10.0.2.50"
GOOD_IP = "10.0.2.60"
GW = "10.0.2.2"


# --------------------------------------------------------------------------- frames

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def dhcp_discover(mac, xid):
    chaddr = vnet.mac_bytes(mac)
    bootp = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, 0x8000, 0, 0, 0, 0)
    bootp += chaddr + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
    bootp += bytes([53, 1, 1, 255])
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    return vnet.eth_frame("ff:ff:ff:ff:ff:ff", mac, 0x0800, ipv4("0.0.0.0", "255.255.255.255", 17, udp))


def is_offer(frame, xid):
    """A DHCP OFFER with this xid (UDP 67 -> 68)."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return False
    ihl = (frame[14] & 0xF) * 4
    udp = frame[14 + ihl:]
    sport, dport = struct.unpack("!HH", udp[:4])
    bootp = udp[8:]
    if (sport, dport) != (67, 68) or bootp[0] != 2 or struct.unpack("!I", bootp[4:8])[0] != xid:
        return False
    opts = bootp[240:]
    return b"\x35\x01\x02" in opts


def icmp_echo(src_mac, dst_mac, src, dst, ident, seq, size):
    data = bytes((i * 7) & 0xFF for i in range(size))
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    return vnet.eth_frame(dst_mac, src_mac, 0x0800, ipv4(src, dst, 1, icmp, ident=seq))


def is_echo_reply(frame, ident, seq):
    if len(frame) < 42 or frame[12:14] != b"\x08\x00" or frame[23] != 1:
        return False
    ihl = (frame[14] & 0xF) * 4
    t, _, _, i, s = struct.unpack("!BBHHH", frame[14 + ihl:14 + ihl + 8])
    return t == 0 and i == ident and s == seq


def is_arp_reply_from(frame, ip):
    a = vnet.parse_arp(frame)
    return a is not None and a[0] == 2 and a[2] == ip


# --------------------------------------------------------------------------- the lab

def vhost_port(name, path, **kw):
    p = {"name": name, "type": "vhost-user", "path": str(path), "network": "lan"}
    p.update(kw)
    return p


class Lab:
    def __init__(self, netns, vnetd, tmp_path):
        self.ns = netns()
        self.good_path = tmp_path / "good.sock"
        self.evil_path = tmp_path / "evil.sock"
        self.d = vnetd({
            "networks": [{"name": "lan", "mode": "nat", "ipv6": False,
                          "dhcp": {"range": "10.0.2.100-10.0.2.150"}}],
            "ports": [{"name": "t", "type": "tap", "netns": self.ns.path, "ifname": "eth0",
                       "network": "lan", "mac": TAP_MAC},
                      vhost_port("good", self.good_path), vhost_port("evil", self.evil_path)],
        })
        self.d.socket_paths += [str(self.good_path), str(self.evil_path)]
        self.pid = self.d.pid
        self.ns.wait_link()
        self.ns.addr(f"{TAP_IP}/24")
        self.ns.ping_until(GW)
        self.good = vc.Frontend.connect(self.good_path).setup(name="good-guest")
        self.open = [self.good]
        wait_for(lambda: self.d.port("good").get("rings") == "running", 10, what="good running")
        self.xid = 0x1000
        self.check_good()
        self.base_fds = self.fds()

    def close(self):
        for f in self.open:
            f.close()

    def frontend(self, path=None):
        f = vc.Frontend.connect(path or self.evil_path)
        self.open.append(f)
        return f

    def evil(self):
        return self.d.port("evil")

    def fds(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def evil_maps(self):
        with open(f"/proc/{self.pid}/maps") as f:
            return [l for l in f if "memfd:evil-guest" in l]

    def dhcp_roundtrip(self, f, mac):
        """A DHCP discover from front end f answered by an offer on f's rx ring."""
        self.xid += 1
        xid = self.xid
        f.send_frame(dhcp_discover(mac, xid))
        return f.wait_frame(lambda fr: is_offer(fr, xid), timeout=10)

    def check_good(self):
        """vnetd is the same process, good reaches the tap's namespace (ARP both
        ways), the namespace reaches the gateway."""
        assert self.d.running() and self.d.pid == self.pid, "vnetd died"
        self.good.send_frame(vnet.arp_request(GOOD_MAC, GOOD_IP, TAP_IP))
        self.good.wait_frame(lambda fr: is_arp_reply_from(fr, TAP_IP), timeout=10)
        self.ns.ping(GW, count=1, wait=2)

    def check_evil_recovers(self):
        """A well-behaved front end on evil, reconnected, passes a frame each way;
        once it is gone, vnetd is back to its fds and has no evil memory mapped."""
        f = self.frontend()
        f.setup(name="evil-guest")
        wait_for(lambda: self.evil().get("rings") == "running", 10, what="evil running again")
        self.dhcp_roundtrip(f, EVIL_MAC)
        f.close()
        wait_for(lambda: not self.evil()["connected"], 10, what="evil detached")
        wait_for(lambda: not self.evil_maps(), 5, what="evil memory unmapped")
        wait_for(lambda: self.fds() == self.base_fds, 5,
                 what=f"vnetd back to {self.base_fds} fds")


@pytest.fixture
def lab(netns, vnetd, tmp_path):
    lab = Lab(netns, vnetd, tmp_path)
    yield lab
    lab.close()


# --------------------------------------------------------------------------- good citizens

def test_good_frontend_frames_both_ways(lab):
    """The no-VM data path: DHCP, ARP and pings between a front end and a tap,
    large frames into small mergeable rx buffers, indirect tx chains, header
    and frame in one buffer or two, the call eventfd, the port's counters."""
    d, ns = lab.d, lab.ns
    st = d.port("good")
    assert st["connected"] and st["rings"] == "running" and st["memory_regions"] == 1
    for f in ("version_1", "mrg_rxbuf", "event_idx", "indirect_desc", "protocol_features"):
        assert f in st["features"], st
    assert "reply_ack" in st["protocol_features"], st
    assert st["rx_queue_size"] == st["tx_queue_size"] == 256
    before = d.port_stats("good")

    offer = lab.dhcp_roundtrip(lab.good, GOOD_MAC)
    assert offer[6:12] != b"\0" * 6

    # A second front end with small rx buffers (512 B): a 1400-byte ping from
    # the namespace arrives merged from 3 buffers.
    f = lab.frontend(lab.evil_path)
    f.setup(rx_size=512, name="evil-guest")
    ns.ip("neigh", "replace", "10.0.2.61", "lladdr", EVIL_MAC, "dev", "eth0", "nud", "permanent")
    ns.exec("ping", "-c", "1", "-W", "1", "-s", "1400", "10.0.2.61", check=False)
    fr = f.wait_frame(lambda x: x[12:14] == b"\x08\x00" and x[23] == 1, timeout=10)
    assert len(fr) == 14 + 20 + 8 + 1400
    assert fr[0:6] == vnet.mac_bytes(EVIL_MAC)

    # Pings of several sizes from the front end to the namespace, answered:
    # tx chains as header + frame, one buffer, and an indirect table.
    ident = 0x77
    for seq, (size, how) in enumerate([(56, "split"), (1000, "one"), (1472, "indirect"),
                                       (0, "split")], 1):
        frame = icmp_echo(EVIL_MAC, TAP_MAC, "10.0.2.61", TAP_IP, ident, seq, size)
        if how == "indirect":
            r = f.rings[vc.TX]
            h, a = f.buf(vc.HDR_LEN), f.buf(len(frame))  # 12 B: VERSION_1
            f.mem.write(h, f.hdr())
            f.mem.write(a, frame)
            r.add_indirect([(h, vc.HDR_LEN, False), (a, len(frame), False)], f.mem.regions[-1])
            r.do_kick()
            f.wait_used(vc.TX)
        else:
            f.send_frame(frame, split=(how == "split"))
        f.wait_frame(lambda x: is_echo_reply(x, ident, seq), timeout=10)
    assert f.rings[vc.RX].calls() > 0, "no call interrupt on the rx ring"
    assert f.rings[vc.TX].calls() > 0, "no call interrupt on the tx ring"

    after = d.port_stats("good")
    assert after["rx_frames"] >= before["rx_frames"] + 1
    assert after["tx_frames"] >= before["tx_frames"] + 1
    ev = d.port_stats("evil")
    assert ev["rx_frames"] >= 4 and ev["tx_frames"] >= 5, ev
    for s in (after, ev):
        assert sum(s["rx_drops"].values()) == 0, s
    assert lab.evil()["protocol_errors"] == 0 and lab.evil()["breaks"] == 0
    f.close()
    lab.check_good()
    lab.check_evil_recovers()


def tcp_segment(src_mac, dst_mac, src, dst, seq, payload):
    """An IPv4 TCP segment (PSH|ACK) of any length with the checksum field
    holding the pseudo-header sum only (what a guest sends with NEEDS_CSUM)."""
    tcp = struct.pack("!HHIIBBHHH", 40000, 5555, seq, 1, 5 << 4, 0x18, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6,
                                                                          len(tcp) + len(payload))
    partial = (~csum(pseudo)) & 0xFFFF
    tcp = tcp[:16] + struct.pack("!H", partial) + tcp[18:]
    return vnet.eth_frame(dst_mac, src_mac, 0x0800, ipv4(src, dst, 6, tcp + payload, ident=7))


def test_tso_from_the_guest_segmented_for_a_port_without_offloads(lab):
    """A front end that negotiated host TSO sends one 20000-byte TCP segment
    (gso tcpv4, 1448-byte segments, checksum left to the device) to 'good',
    which took no offloads: good receives it cut into frames of at most 1514
    bytes whose IP and TCP checksums verify and whose payloads, in sequence,
    are the original; to the tap it goes whole."""
    f = lab.frontend()
    want = (vc.DEFAULT_FEATURES | vc.bit(vc.F_CSUM) | vc.bit(vc.F_HOST_TSO4)
            | vc.bit(vc.F_HOST_TSO6))
    f.setup(want=want, name="evil-guest")
    assert "host_tso4" in lab.evil()["features"] and "csum" in lab.evil()["features"]
    f.send_frame(vnet.arp_request(EVIL_MAC, "10.0.2.61", GOOD_IP))  # the fdb learns evil
    payload = bytes((i * 31 + 7) & 0xFF for i in range(20000))
    seg = tcp_segment(EVIL_MAC, GOOD_MAC, "10.0.2.61", GOOD_IP, 5000, payload)
    f.send_frame(seg, header=f.hdr(flags=1, gso_type=1, hdr_len=54, gso_size=1448,
                                   csum_start=34, csum_offset=16))
    got = {}
    deadline = time.monotonic() + 15
    while sum(len(v) for v in got.values()) < len(payload):
        assert time.monotonic() < deadline, f"{sum(len(v) for v in got.values())} bytes arrived"
        fr = lab.good.wait_frame(lambda x: x[12:14] == b"\x08\x00" and x[23] == 6
                                 and x[26:30] == socket.inet_aton("10.0.2.61"), timeout=10)
        assert len(fr) <= 1514, len(fr)
        ip = fr[14:14 + 20]
        tot = struct.unpack("!H", ip[2:4])[0]
        assert csum(ip) == 0, "bad IP checksum"
        tcp = fr[34:14 + tot]
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
        assert csum(pseudo + tcp) == 0, "bad TCP checksum"
        seq = struct.unpack("!I", tcp[4:8])[0]
        got[seq] = tcp[20:]
        assert len(got[seq]) <= 1448
    data = b"".join(got[k] for k in sorted(got))
    assert data == payload and min(got) == 5000 and len(got) == 14, sorted(got)

    # The same segment to the tap (which takes offloads) arrives whole: the
    # namespace's interface counts its bytes, its TCP no checksum error.
    def ns_ctr():
        rx = int(lab.ns.exec("cat", "/sys/class/net/eth0/statistics/rx_bytes").stdout)
        snmp = lab.ns.exec("cat", "/proc/net/snmp").stdout.splitlines()
        tcp = [l.split() for l in snmp if l.startswith("Tcp:")]
        return rx, dict(zip(tcp[0][1:], map(int, tcp[1][1:])))
    rx0, tcp0 = ns_ctr()
    seg = tcp_segment(EVIL_MAC, TAP_MAC, "10.0.2.61", TAP_IP, 5000, payload)
    f.send_frame(seg, header=f.hdr(flags=1, gso_type=1, hdr_len=54, gso_size=1448,
                                   csum_start=34, csum_offset=16))
    wait_for(lambda: ns_ctr()[0] >= rx0 + len(seg), 10, what="the segment in the namespace")
    rx1, tcp1 = ns_ctr()
    assert tcp1["InCsumErrors"] == tcp0["InCsumErrors"] and tcp1["InSegs"] > tcp0["InSegs"]
    assert lab.evil()["tx_malformed"] == 0


def tcp_frame(src_mac, dst_mac, src, dst, sport, dport, seq, ack, flags, payload=b"",
              opts=b""):
    """A complete IPv4 TCP frame (checksums filled in)."""
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack(
        "!BBH", 0, 6, len(tcp) + len(payload))
    c = csum(pseudo + tcp + payload)
    tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
    return vnet.eth_frame(dst_mac, src_mac, 0x0800, ipv4(src, dst, 6, tcp + payload))


def test_tso_to_the_guest(lab):
    """A front end that negotiated guest_csum and guest_tso4/6 answers a TCP
    connection from the tap's namespace (a minimal TCP here: SYN-ACK with MSS
    1460, cumulative ACKs): the namespace's 200 kB arrive in frames larger
    than the MTU, carried in several mergeable rx buffers with the gso type
    in their virtio-net header, and reassemble to what was sent."""
    f = lab.frontend()
    want = (vc.DEFAULT_FEATURES | vc.bit(vc.F_CSUM) | vc.bit(vc.F_GUEST_CSUM)
            | vc.bit(vc.F_GUEST_TSO4) | vc.bit(vc.F_GUEST_TSO6))
    f.setup(want=want, rx_bufs=200, name="evil-guest")
    assert "guest_tso4" in lab.evil()["features"]
    me = "10.0.2.61"
    lab.ns.ip("neigh", "replace", me, "lladdr", EVIL_MAC, "dev", "eth0", "nud", "permanent")
    size = 200000
    sender = lab.ns.start(
        "/usr/bin/python3", "-c",
        "import socket\n"
        f"s = socket.create_connection(('{me}', 5555), timeout=20)\n"
        f"s.sendall(bytes((i * 13 + 5) & 255 for i in range({size})))\n"
        "s.shutdown(socket.SHUT_WR)\n"
        "s.settimeout(20)\n"
        "s.recv(1)\n")
    isn = None
    rcv = {}
    nxt = 0
    gso_frames = merged = 0
    deadline = time.monotonic() + 30
    while nxt - (isn or 0) - 1 < size:
        assert time.monotonic() < deadline, f"{nxt - (isn or 0) - 1} of {size} bytes"
        hdr, fr = f.recv_frame(timeout=max(0.1, deadline - time.monotonic()))
        if fr[12:14] != b"\x08\x00" or fr[23] != 6 or fr[30:34] != socket.inet_aton(me):
            continue
        ihl = (fr[14] & 0xF) * 4
        tot = struct.unpack("!H", fr[16:18])[0]
        tcp = fr[14 + ihl:14 + tot]
        sport, _, seq, _, off, flags = struct.unpack("!HHIIBB", tcp[:14])
        data = tcp[(off >> 4) * 4:]
        if flags & 0x02:  # SYN: answer SYN-ACK with MSS 1460
            isn = seq
            nxt = seq + 1
            f.send_frame(tcp_frame(EVIL_MAC, TAP_MAC, me, TAP_IP, 5555, sport, 7000, nxt, 0x12,
                                   opts=struct.pack("!BBH", 2, 4, 1460)))
            continue
        if len(fr) > 1514:
            gso_frames += 1
            assert hdr[1] in (1, 0x81) and struct.unpack("<H", hdr[4:6])[0] > 0, hdr.hex()
        if struct.unpack("<H", hdr[10:12])[0] > 1:
            merged += 1
        if data:
            rcv[seq] = data
            while nxt in rcv:
                nxt += len(rcv[nxt])
        f.send_frame(tcp_frame(EVIL_MAC, TAP_MAC, me, TAP_IP, 5555, sport, 7001, nxt, 0x10))
    got = b"".join(rcv[k] for k in sorted(rcv) if k < nxt)
    assert got[:size] == bytes((i * 13 + 5) & 255 for i in range(size))
    assert gso_frames >= 1 and merged >= 1, (gso_frames, merged)
    st = lab.d.port_stats("evil")["tx_drops"]
    assert st["tx_full"] == 0 and st["tx_error"] == 0, st  # never out of rx buffers
    vnet.Procs.stop(sender)


def test_legacy_frontend(lab):
    """A front end negotiating neither VERSION_1, MRG_RXBUF, EVENT_IDX nor
    protocol features: 10-byte headers, rings enabled as soon as they start
    (no SET_VRING_ENABLE), interrupts by the NO_INTERRUPT flag."""
    f = lab.frontend()
    f.setup(want=vc.bit(vc.F_INDIRECT_DESC), name="evil-guest")
    assert f.hdr_len() == vc.HDR_LEN_LEGACY and f.protocol_features == 0
    st = wait_for(lambda: (lambda s: s if s.get("rings") == "running" else None)(lab.evil()),
                  10, what="legacy rings running")
    assert st["features"] == ["indirect_desc"], st
    lab.dhcp_roundtrip(f, EVIL_MAC)
    f.send_frame(vnet.arp_request(EVIL_MAC, "10.0.2.61", TAP_IP))
    f.wait_frame(lambda fr: is_arp_reply_from(fr, TAP_IP), timeout=10)
    f.close()
    lab.check_evil_recovers()


def test_client_mode_reconnects(netns, vnetd, tmp_path):
    """mode: client: vnetd connects to the front end's socket, and again (every
    second) after the front end went away."""
    path = tmp_path / "fe.sock"
    lsock = vc.Frontend.listen(path)
    try:
        d = vnetd({"networks": [{"name": "lan", "mode": "nat", "ipv6": False}],
                   "ports": [vhost_port("vm", path, mode="client")]})
        f = vc.Frontend.accept(lsock, timeout=10)
        f.setup(name="client-guest")
        wait_for(lambda: d.port("vm").get("rings") == "running", 10, what="rings running")
        assert d.port("vm")["mode"] == "client"
        f.send_frame(dhcp_discover(GOOD_MAC, 0x51))
        f.wait_frame(lambda fr: is_offer(fr, 0x51), timeout=10)
        f.close()
        g = vc.Frontend.accept(lsock, timeout=10)  # vnetd came back by itself
        g.setup(name="client-guest")
        g.send_frame(dhcp_discover(GOOD_MAC, 0x52))
        g.wait_frame(lambda fr: is_offer(fr, 0x52), timeout=10)
        st = d.port("vm")
        assert st["connects"] == 2 and st["disconnects"] == 1, st
        g.close()
    finally:
        lsock.close()
        os.unlink(path)


def test_second_frontend_refused(lab):
    f = lab.frontend()
    f.setup(name="evil-guest")
    g = lab.frontend()
    assert g.closed_by_peer(5), "a second front end was not refused"
    assert lab.evil()["refused"] >= 1
    lab.dhcp_roundtrip(f, EVIL_MAC)  # the first one is undisturbed
    f.close()
    lab.check_evil_recovers()


# --------------------------------------------------------------------------- abuse
# Each case: (name, expected outcome, reason substring, function(lab, f)).
# Outcomes: "closed" (protocol violation: connection closed, protocol_errors),
# "broken" (the data path found a hostile ring: rings stopped, breaks),
# "refused" (REPLY_ACK failure, connection up), "ignored" (no effect).

CASES = []


def case(outcome, reason):
    def reg(fn):
        CASES.append(pytest.param(fn, outcome, reason, id=fn.__name__))
        return fn
    return reg


def u64(v):
    return struct.pack("<Q", v)


def state(i, n):
    return struct.pack("<II", i, n)


def ready(f, **kw):
    """A front end set up properly (rings running), for the data-path abuse."""
    f.setup(name="evil-guest", **kw)
    return f


@case("closed", "SET_FEATURES: payload of 4 bytes")
def short_set_features(lab, f):
    f.send_msg(vc.SET_FEATURES, b"\0" * 4)


@case("closed", "payload of 65536 bytes")
def huge_size_field(lab, f):
    f.send_msg(vc.GET_FEATURES, b"", size=65536)


@case("closed", "SET_VRING_ADDR: payload of 32 bytes")
def short_vring_addr(lab, f):
    f.negotiate()
    f.send_msg(vc.SET_VRING_ADDR, b"\0" * 32)


@case("closed", "GET_FEATURES: payload of 8 bytes")
def payload_on_get(lab, f):
    f.send_msg(vc.GET_FEATURES, u64(0))


@case("closed", "request 99 not supported")
def unknown_request(lab, f):
    f.send_msg(99, u64(0))


@case("refused", "request 99 not supported")
def unknown_request_acked(lab, f):
    f.negotiate()
    assert f.acked(99, u64(0)) != 0


@case("refused", "SET_LOG_BASE not supported")
def log_base_acked(lab, f):
    f.negotiate()
    assert f.acked(vc.SET_LOG_BASE, b"\0" * 16) != 0


@case("closed", "version 2")
def wrong_version(lab, f):
    f.send_msg(vc.GET_FEATURES, flags=2)


@case("closed", "reply flag")
def reply_flag_on_request(lab, f):
    f.send_msg(vc.GET_FEATURES, flags=vc.VHOST_USER_VERSION | vc.FLAG_REPLY)


@case("closed", "SET_FEATURES:")
def features_not_offered(lab, f):
    f.send_msg(vc.SET_FEATURES, u64(1 << 63))


@case("closed", "too many descriptors")
def too_many_regions(lab, f):
    """9 regions and 9 fds: more than the 8 the specification allows."""
    f.negotiate()
    regs = [vc.Region(1 << 16, 0x100000 + i * 0x20000, 0x7f0000000000 + i * 0x20000,
                      name=f"evil-guest{i}") for i in range(9)]
    f.mem = vc.Memory(regs)
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([r.desc() for r in regs]),
               [r.fd for r in regs])


@case("closed", "9 regions")
def nine_regions_in_count(lab, f):
    """A count of 9 in an 8-region payload with 8 fds."""
    f.negotiate()
    regs = [vc.Region(1 << 16, 0x100000 + i * 0x20000, 0x7f0000000000 + i * 0x20000,
                      name=f"evil-guest{i}") for i in range(8)]
    f.mem = vc.Memory(regs)
    pl = f.mem_table_payload([r.desc() for r in regs])
    f.send_msg(vc.SET_MEM_TABLE, struct.pack("<I", 9) + pl[4:], [r.fd for r in regs])


@case("closed", "overlap in guest addresses")
def overlapping_regions_gpa(lab, f):
    f.negotiate()
    a = vc.Region(1 << 20, 0x100000, 0x7f0000000000, name="evil-guest0")
    b = vc.Region(1 << 20, 0x180000, 0x7f1000000000, name="evil-guest1")
    f.mem = vc.Memory([a, b])
    assert f.acked(vc.SET_MEM_TABLE, f.mem_table_payload([a.desc(), b.desc()]),
                   [a.fd, b.fd]) != 0, "no failure ack"


@case("closed", "overlap in user addresses")
def overlapping_regions_uva(lab, f):
    f.negotiate()
    a = vc.Region(1 << 20, 0x100000, 0x7f0000000000, name="evil-guest0")
    b = vc.Region(1 << 20, 0x400000, 0x7f0000080000, name="evil-guest1")
    f.mem = vc.Memory([a, b])
    assert f.acked(vc.SET_MEM_TABLE, f.mem_table_payload([a.desc(), b.desc()]),
                   [a.fd, b.fd]) != 0, "no failure ack"


@case("closed", "1 fds for 2 regions")
def region_without_fd(lab, f):
    f.negotiate()
    f.make_memory(1 << 20, nregions=2, name="evil-guest")
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([r.desc() for r in f.mem.regions]),
               [f.mem.regions[0].fd])


@case("closed", "fd holds")
def region_beyond_its_file(lab, f):
    """A region larger than its memfd: mapping it would fault on access."""
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    r = f.mem.regions[0]
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([(r.gpa, 64 << 20, r.uva, 0)]), [r.fd])


@case("closed", "empty")
def empty_region(lab, f):
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    r = f.mem.regions[0]
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([(r.gpa, 0, r.uva, 0)]), [r.fd])


@case("closed", "wraps")
def wrapping_region(lab, f):
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    r = f.mem.regions[0]
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([((1 << 64) - 4096, 1 << 20, r.uva, 0)]),
               [r.fd])


@case("ignored", "")
def fds_on_messages_taking_none(lab, f):
    """fds riding on GET_FEATURES, SET_OWNER, SET_VRING_NUM: closed by vnetd
    (its fd count does not grow), the connection goes on."""
    f.negotiate()
    before = lab.fds()
    for _ in range(10):
        efd = os.eventfd(0)
        mfd = os.memfd_create("evil-guest-stray")
        f.send_msg(vc.SET_OWNER, b"", [efd, mfd])
        f.send_msg(vc.SET_VRING_NUM, state(0, 256), [efd])
        assert f.get_features() != 0
        os.close(efd)
        os.close(mfd)
    assert lab.fds() == before, "vnetd kept fds that came with messages taking none"
    ready(f)
    lab.dhcp_roundtrip(f, EVIL_MAC)


@case("closed", "no-fd flag")
def fd_with_nofd_flag(lab, f):
    f.negotiate()
    efd = os.eventfd(0)
    f.send_msg(vc.SET_VRING_CALL, u64(0 | vc.VRING_IDX_F_NOFD), [efd])
    os.close(efd)


@case("closed", "polling")
def kick_without_fd(lab, f):
    f.negotiate()
    f.send_msg(vc.SET_VRING_KICK, u64(1 | vc.VRING_IDX_F_NOFD))


@case("closed", "vring 5")
def vring_index_out_of_range(lab, f):
    f.negotiate()
    f.send_msg(vc.SET_VRING_NUM, state(5, 256))


@case("closed", "power of two")
def vring_num_not_power_of_two(lab, f):
    f.negotiate()
    f.send_msg(vc.SET_VRING_NUM, state(0, 100))


@case("closed", "vring 1: descriptor table at 0x7f5500101000 (4096 bytes) is not inside one memory region")
def rings_outside_regions(lab, f):
    """The descriptor table of the tx ring beyond the end of the only region."""
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    f.set_mem_table()
    r = f.mem.regions[0]
    f.send_msg(vc.SET_VRING_NUM, state(1, 256))
    f.send_msg(vc.SET_VRING_BASE, state(1, 0))
    f.send_msg(vc.SET_VRING_ADDR, f.vring_addr(1, r.uva + r.size + 4096, r.uva + 8192, r.uva))
    kick = os.eventfd(0)
    f.send_msg(vc.SET_VRING_KICK, u64(1), [kick])
    os.close(kick)


@case("closed", "vring 0: used ring")
def used_ring_outside_memory(lab, f):
    """The used ring straddles the region's end (its last bytes outside)."""
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    f.set_mem_table()
    r = f.mem.regions[0]
    f.send_msg(vc.SET_VRING_NUM, state(0, 256))
    f.send_msg(vc.SET_VRING_BASE, state(0, 0))
    f.send_msg(vc.SET_VRING_ADDR, f.vring_addr(0, r.uva, r.uva + r.size - 1024, r.uva + 8192))
    kick = os.eventfd(0)
    f.send_msg(vc.SET_VRING_KICK, u64(0), [kick])
    os.close(kick)


@case("closed", "descriptor table at 0x7f5500000003 is not 16-byte aligned")
def ring_misaligned(lab, f):
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    f.set_mem_table()
    r = f.mem.regions[0]
    assert r.uva == 0x7f5500000000
    f.send_msg(vc.SET_VRING_NUM, state(1, 256))
    f.send_msg(vc.SET_VRING_ADDR, f.vring_addr(1, r.uva + 3, r.uva + 8192, r.uva + 16384))
    kick = os.eventfd(0)
    f.send_msg(vc.SET_VRING_KICK, u64(1), [kick])
    os.close(kick)


@case("closed", "is not inside one memory region")
def memory_table_moves_rings_out(lab, f):
    """Running rings, then a new memory table that no longer holds them."""
    ready(f)
    lab.dhcp_roundtrip(f, EVIL_MAC)
    other = vc.Region(1 << 20, 0x40000000, 0x7f7700000000, name="evil-guest9")
    f.mem.regions.append(other)
    f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([other.desc()]), [other.fd])


@case("detached", "front end closed the connection")
def disconnect_mid_setup(lab, f):
    """Memory and one ring set up, then the front end goes away."""
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    f.set_mem_table()
    f.setup_ring(vc.RX)
    wait_for(lambda: lab.evil_maps(), 5, what="evil memory mapped")
    f.sock.close()


@case("detached", "front end closed mid-message")
def disconnect_mid_message(lab, f):
    """Half a SET_MEM_TABLE (with its fd) and gone."""
    f.negotiate()
    f.make_memory(1 << 20, name="evil-guest")
    r = f.mem.regions[0]
    pl = f.mem_table_payload([r.desc()])
    f.send_msg(vc.SET_MEM_TABLE, pl[:10], [r.fd], size=len(pl))
    time.sleep(0.2)
    f.sock.close()


@case("detached", "front end does not read its replies")
def replies_never_read(lab, f):
    """5000 GET_FEATURES and never a reply read: vnetd's replies fill the
    socket; it must not block on it (it gives up the connection)."""
    f.sock.setblocking(True)
    msg = struct.pack("<III", vc.GET_FEATURES, vc.VHOST_USER_VERSION, 0)
    f.sock.settimeout(10)
    try:
        for _ in range(50):
            f.sock.sendall(msg * 100)
    except (BrokenPipeError, ConnectionResetError, socket.timeout):
        pass


@case("ignored", "")
def mem_table_churn(lab, f):
    """100 memory tables in a row, each a fresh memfd: vnetd keeps only the
    last one mapped and no fd of the others."""
    ready(f)
    for i in range(100):
        r = vc.Region(1 << 20, 0x100000, 0x7f5500000000, name="evil-guest-churn")
        f.send_msg(vc.SET_MEM_TABLE, f.mem_table_payload([r.desc()]), [r.fd])
        r.close()
    assert f.get_features() != 0
    assert len(lab.evil_maps()) == 1, lab.evil_maps()


# ---- the data path: hostile descriptors (rings set up properly first)

def tx_raw(f, descs, head=0, table=None):
    """Write descs [(i, addr, len, flags, next)] into the tx table, make head
    available and kick."""
    r = f.rings[vc.TX]
    for i, addr, length, flags, nxt in descs:
        r.write_desc(i, addr, length, flags, nxt, table=table)
    r.publish(head)
    r.do_kick()


@case("broken", "loops")
def chain_loops(lab, f):
    """0 -> 1 -> 0 ... of empty descriptors (so no buffer limit stops it first)."""
    ready(f)
    a = f.buf(64)
    tx_raw(f, [(0, a, 0, vc.VRING_DESC_F_NEXT, 1), (1, a, 0, vc.VRING_DESC_F_NEXT, 0)])


@case("broken", "loops")
def chain_loops_in_indirect_table(lab, f):
    ready(f)
    t = f.mem.regions[-1].alloc(64, 16)
    a = f.buf(64)
    r = f.rings[vc.TX]
    for i in range(4):
        r.write_desc(i, a, 0, vc.VRING_DESC_F_NEXT, (i + 1) % 4, table=t)
    tx_raw(f, [(0, t, 64, vc.VRING_DESC_F_INDIRECT, 0)])


@case("broken", "more than 64")
def chain_of_many_buffers_looping(lab, f):
    """A loop of non-empty buffers: stopped by the buffer limit."""
    ready(f)
    a = f.buf(64)
    tx_raw(f, [(0, a, 12, vc.VRING_DESC_F_NEXT, 1), (1, a, 50, vc.VRING_DESC_F_NEXT, 0)])


@case("broken", "indirect descriptor with the next flag")
def indirect_with_next(lab, f):
    ready(f)
    t = f.mem.regions[-1].alloc(32, 16)
    a = f.buf(128)
    f.rings[vc.TX].write_desc(0, a, 72, 0, 0, table=t)
    tx_raw(f, [(0, t, 16, vc.VRING_DESC_F_INDIRECT | vc.VRING_DESC_F_NEXT, 1), (1, a, 10, 0, 0)])


@case("broken", "outside guest memory")
def buffer_outside_memory(lab, f):
    ready(f)
    tx_raw(f, [(0, 0x7000_0000_0000, 1500, 0, 0)])


@case("broken", "outside guest memory")
def buffer_straddles_region_end(lab, f):
    ready(f)
    r = f.mem.regions[0]
    tx_raw(f, [(0, r.gpa + r.size - 100, 1500, 0, 0)])


@case("broken", "more than 64")
def chain_too_long(lab, f):
    ready(f)
    a = f.buf(128)
    tx_raw(f, [(i, a, 2, vc.VRING_DESC_F_NEXT, i + 1) for i in range(70)] + [(70, a, 60, 0, 0)])


@case("broken", "next descriptor out of range")
def next_out_of_range(lab, f):
    ready(f)
    a = f.buf(128)
    tx_raw(f, [(0, a, 12, vc.VRING_DESC_F_NEXT, 4000)])


@case("broken", "descriptor out of range")
def head_out_of_range(lab, f):
    ready(f)
    r = f.rings[vc.TX]
    r.publish(1000)
    r.do_kick()


@case("broken", "ran more than the ring size ahead")
def avail_index_jumps(lab, f):
    ready(f)
    r = f.rings[vc.TX]
    f.mem.write(r.avail + 2, struct.pack("<H", 1000))
    r.do_kick()


@case("broken", "indirect descriptor inside an indirect table")
def indirect_in_indirect(lab, f):
    ready(f)
    reg = f.mem.regions[-1]
    inner = reg.alloc(32, 16)
    outer = reg.alloc(32, 16)
    a = f.buf(128)
    r = f.rings[vc.TX]
    r.write_desc(0, a, 72, 0, 0, table=inner)
    r.write_desc(0, inner, 16, vc.VRING_DESC_F_INDIRECT, 0, table=outer)
    tx_raw(f, [(0, outer, 16, vc.VRING_DESC_F_INDIRECT, 0)])


@case("broken", "indirect table length")
def indirect_bad_length(lab, f):
    ready(f)
    t = f.mem.regions[-1].alloc(64, 16)
    tx_raw(f, [(0, t, 20, vc.VRING_DESC_F_INDIRECT, 0)])


@case("broken", "indirect table outside guest memory")
def indirect_table_outside(lab, f):
    ready(f)
    tx_raw(f, [(0, 0x5000_0000_0000, 64, vc.VRING_DESC_F_INDIRECT, 0)])


@case("broken", "device-writable buffer in a transmit chain")
def writable_buffer_on_tx(lab, f):
    ready(f)
    a = f.buf(128)
    tx_raw(f, [(0, a, 72, vc.VRING_DESC_F_WRITE, 0)])


@case("broken", "read-only buffer in a receive chain")
def readonly_buffer_on_rx(lab, f):
    """rx buffers the device may not write: found when a frame is delivered
    (a broadcast from the good front end)."""
    f.negotiate()
    f.make_memory(name="evil-guest")
    f.set_mem_table()
    f.setup_ring(vc.RX)
    f.setup_ring(vc.TX)
    r = f.rings[vc.RX]
    a = f.buf(2048)
    r.write_desc(0, a, 2048, 0, 0)
    r.publish(0)
    r.do_kick()
    lab.good.send_frame(vnet.arp_request(GOOD_MAC, GOOD_IP, "10.0.2.99"))


@case("broken", "shorter than the virtio-net header")
def rx_buffer_shorter_than_header(lab, f):
    f.negotiate()
    f.make_memory(name="evil-guest")
    f.set_mem_table()
    f.setup_ring(vc.RX)
    f.setup_ring(vc.TX)
    r = f.rings[vc.RX]
    a = f.buf(64)
    r.write_desc(0, a, 4, vc.VRING_DESC_F_WRITE, 0)
    r.publish(0)
    r.do_kick()
    lab.good.send_frame(vnet.arp_request(GOOD_MAC, GOOD_IP, "10.0.2.99"))


@case("broken", "outside guest memory")
def rx_buffer_outside_memory(lab, f):
    f.negotiate()
    f.make_memory(name="evil-guest")
    f.set_mem_table()
    f.setup_ring(vc.RX)
    f.setup_ring(vc.TX)
    r = f.rings[vc.RX]
    r.write_desc(0, 0x6000_0000_0000, 2048, vc.VRING_DESC_F_WRITE, 0)
    r.publish(0)
    r.do_kick()
    lab.good.send_frame(vnet.arp_request(GOOD_MAC, GOOD_IP, "10.0.2.99"))


# ---- malformed frames: dropped and counted, the ring stays up

@case("malformed", "")
def bad_gso_header(lab, f):
    ready(f)
    frame = icmp_echo(EVIL_MAC, TAP_MAC, "10.0.2.61", TAP_IP, 1, 1, 100)
    f.send_frame(frame, header=f.hdr(gso_type=0x42, gso_size=0))   # unknown gso type
    f.send_frame(frame, header=f.hdr(flags=1, csum_start=5000, csum_offset=6))  # csum outside
    f.send_frame(frame, header=f.hdr(gso_type=1, gso_size=0))      # TCPv4 GSO of size 0
    f.send_frame(b"\x01\x02\x03")                                  # shorter than Ethernet
    f.send_frame(b"\0" * 70000, split=True)                        # more than any frame


@pytest.mark.parametrize("abuse,outcome,reason", CASES)
def test_hostile_frontend(lab, abuse, outcome, reason):
    d = lab.d
    before = lab.evil()
    stats_before = d.port_stats("evil")
    log_before = len(d.log())
    f = lab.frontend()
    abuse(lab, f)
    if outcome in ("closed", "detached"):
        assert f.closed_by_peer(10), "vnetd kept the connection"
        st = wait_for(lambda: (lambda s: s if s["disconnects"] > before["disconnects"]
                               else None)(lab.evil()), 10, what="evil detached")
        assert not st["connected"]
        log = d.log()[log_before:]
        if outcome == "closed":  # a protocol violation
            assert st["protocol_errors"] == before["protocol_errors"] + 1, st
            assert reason in st["last_error"], st
            assert "vhost-user protocol error" in log
        else:  # the front end went away, or vnetd could not answer it
            assert st["protocol_errors"] == before["protocol_errors"], st
            assert any("vhost-user front end detached" in l and reason in l
                       for l in log.splitlines()), log
    elif outcome == "broken":
        st = wait_for(lambda: (lambda s: s if s.get("rings") == "broken" else None)(lab.evil()),
                      10, what="evil's rings broken")
        assert reason in st["broken"] and st["last_broken"] == st["broken"], st
        assert st["breaks"] == before["breaks"] + 1 and st["connected"], st
        assert "vhost-user ring broken" in d.log()[log_before:]
        # Frames for the broken port are dropped and counted, not delivered.
        drops = sum(d.port_stats("evil")["tx_drops"].values())
        lab.good.send_frame(vnet.arp_request(GOOD_MAC, GOOD_IP, "10.0.2.98"))
        wait_for(lambda: sum(d.port_stats("evil")["tx_drops"].values()) > drops, 5,
                 what="a frame for the broken port dropped")
        assert not f.closed_by_peer(0.2)
    elif outcome == "refused":
        st = lab.evil()
        assert st["refused"] == before["refused"] + 1 and st["connected"], st
        assert f.get_features() != 0  # the connection still answers
    elif outcome == "malformed":
        st = lab.evil()
        assert st["tx_malformed"] >= before["tx_malformed"] + 5, st
        assert st["rings"] == "running" and st["breaks"] == before["breaks"], st
        drops = d.port_stats("evil")["rx_drops"]
        assert sum(drops.values()) >= sum(stats_before["rx_drops"].values()) + 5, drops
        lab.dhcp_roundtrip(f, EVIL_MAC)  # the ring still works
    else:
        st = lab.evil()
        assert st["protocol_errors"] == before["protocol_errors"] and st["breaks"] == before["breaks"]
    lab.check_good()
    f.close()
    lab.check_evil_recovers()
    lab.check_good()


def test_broken_rings_recover_on_reset(lab):
    """After a break, the front end resets its rings (GET_VRING_BASE, new kick,
    as a guest driver reload does) on the same connection: frames flow again."""
    f = lab.frontend()
    ready(f)
    before = lab.evil()["breaks"]
    tx_raw(f, [(0, 0x7000_0000_0000, 64, 0, 0)])
    wait_for(lambda: lab.evil().get("rings") == "broken", 10, what="evil broken")
    # The driver reloads: stop both rings, lay them out again, restart.
    for i in (vc.RX, vc.TX):
        f.get_vring_base(i)
        f.rings[i].close()
    f.rings = {}
    f.rx_bufs = []
    f.setup_ring(vc.RX)
    f.setup_ring(vc.TX)
    f.post_rx(32)
    wait_for(lambda: lab.evil().get("rings") == "running", 10, what="evil running again")
    assert "broken" not in lab.evil() and lab.evil()["breaks"] == before + 1
    lab.dhcp_roundtrip(f, EVIL_MAC)
    lab.check_good()
