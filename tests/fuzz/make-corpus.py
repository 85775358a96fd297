#!/usr/bin/python3
"""Write the seed corpus of every fuzz target to tests/fuzz/corpus/<target>/.

Seeds are small, valid, hand-built inputs (frames, packets, YAML, control
requests) so each target starts from the interesting paths instead of
discovering the formats byte by byte. The output is deterministic: running
this again rewrites the same files. Standard library only.

usage: tests/fuzz/make-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)
"""
import base64
import ipaddress
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

GW_MAC = bytes.fromhex("525400000002")  # any unicast; the gateway floods/learns
VM1 = bytes.fromhex("525400000001")
VM2 = bytes.fromhex("5254000000aa")
BCAST = b"\xff" * 6


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(src, dst, proto, payload, ident=1, frag=0, ttl=64, options=b""):
    ihl = 5 + len(options) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, frag, ttl,
                      proto, 0, bytes(src), bytes(dst)) + options
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + payload


def a(s):
    return bytes(int(x) for x in s.split("."))


def pseudo(src, dst, proto, l4):
    return struct.pack("!4s4sBBH", a(src), a(dst), 0, proto, len(l4))


def udp(src, dst, sport, dport, data):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo(src, dst, 17, u) + u) or 0xFFFF
    return ip4(a(src), a(dst), 17, u[:6] + struct.pack("!H", c) + u[8:])


def tcp_hdr(sport, dport, seq, ack, flags, options=b"", data=b"", win=64240):
    off = (20 + len(options)) // 4
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, win, 0, 0) + \
        options + data


def tcp(src, dst, sport, dport, flags, seq=1000, ack=0, options=b"", data=b""):
    t = tcp_hdr(sport, dport, seq, ack, flags, options, data)
    c = csum(pseudo(src, dst, 6, t) + t)
    return ip4(a(src), a(dst), 6, t[:16] + struct.pack("!H", c) + t[18:])


SYN_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"


def icmp_echo(src, dst, ident=0x1234, seq=1, data=b"vnet-fuzz-ping", typ=8):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return ip4(a(src), a(dst), 1, m)


def eth(dst, src, etype, payload, vid=None):
    tag = struct.pack("!HH", 0x8100, vid) if vid is not None else b""
    f = dst + src + tag + struct.pack("!H", etype) + payload
    return f + b"\0" * max(0, 60 - len(f))


def arp_req(src_mac, src_ip, target_ip, vid=None):
    p = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, src_mac, a(src_ip), b"\0" * 6,
                    a(target_ip))
    return eth(BCAST, src_mac, 0x0806, p, vid)


def dhcp(mac, msgtype, xid=0x12345678, requested=None, server=None, hostname=b"guest"):
    m = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0" * 4,
                    b"\0" * 4, b"\0" * 4, b"\0" * 4, mac + b"\0" * 10, b"", b"")
    m += b"\x63\x82\x53\x63"
    m += bytes([53, 1, msgtype])
    m += bytes([61, 7, 1]) + mac
    if requested:
        m += bytes([50, 4]) + a(requested)
    if server:
        m += bytes([54, 4]) + a(server)
    m += bytes([12, len(hostname)]) + hostname
    m += bytes([55, 6, 1, 3, 6, 15, 26, 121])
    m += b"\xff"
    return udp("0.0.0.0", "255.255.255.255", 68, 67, m)


def dns_query(name, qtype=1, ident=0xBEEF):
    q = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", qtype, 1)


def rev6(addr, nibbles=32):
    """The ip6.arpa name of the first nibbles nibbles of IPv6 address addr (RFC 3596)."""
    h = ipaddress.IPv6Address(addr).exploded.replace(":", "")[:nibbles]
    return ".".join(reversed(h)) + ".ip6.arpa"


def fragments(src, dst, proto, payload, size, ident=77):
    out = []
    for off in range(0, len(payload), size):
        chunk = payload[off:off + size]
        mf = 0x2000 if off + size < len(payload) else 0
        out.append(ip4(a(src), a(dst), proto, chunk, ident=ident, frag=mf | (off // 8)))
    return out


def a6(s):
    return ipaddress.IPv6Address(s).packed


def ip6(src, dst, nh, payload, hlim=64, exts=()):
    """An IPv6 packet; exts: extension headers as (type, bytes) in order,
    each body without its next-header byte (HBH/DST/RH: padded to 8n - 1)."""
    chain = b""
    types = [t for t, _ in exts] + [nh]
    for i, (t, body) in enumerate(exts):
        chain += bytes([types[i + 1]]) + body
    first = types[0]
    return struct.pack("!IHBB16s16s", 6 << 28, len(chain) + len(payload), first, hlim, a6(src),
                       a6(dst)) + chain + payload


def opts_hdr(n=1):
    """Body of a hop-by-hop/destination options header of 8n bytes (PadN)."""
    return bytes([n - 1, 1, 8 * n - 4]) + b"\0" * (8 * n - 4)


def frag_hdr(offset=0, more=True, ident=9):
    """Body of a fragment header (after its next-header byte)."""
    return struct.pack("!BHI", 0, offset << 3 | int(more), ident)


def pseudo6(src, dst, nh, l4):
    return a6(src) + a6(dst) + struct.pack("!IxxxB", len(l4), nh)


def icmp6(src, dst, typ, body=b"", code=0, hlim=255, exts=()):
    m = bytes([typ, code, 0, 0]) + body
    c = csum(pseudo6(src, dst, 58, m) + m)
    return ip6(src, dst, 58, m[:2] + struct.pack("!H", c) + m[4:], hlim, exts)


def udp6(src, dst, sport, dport, data, exts=()):
    u = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    c = csum(pseudo6(src, dst, 17, u) + u) or 0xFFFF
    return ip6(src, dst, 17, u[:6] + struct.pack("!H", c) + u[8:], exts=exts)


def eui64_ll(mac):
    return str(ipaddress.IPv6Address(b"\xfe\x80" + b"\0" * 6 + bytes([mac[0] ^ 2]) + mac[1:3] +
                                     b"\xff\xfe" + mac[3:]))


def mcast_mac(dst):
    return b"\x33\x33" + a6(dst)[12:]


def eth6(src_mac, dst, packet, dst_mac=None):
    return eth(dst_mac or mcast_mac(dst), src_mac, 0x86DD, packet)


def nd_target(target, flags=0, lla_type=0, lla=None):
    """NS/NA body: flags, target, an optional link-layer address option."""
    b = struct.pack("!I", flags) + a6(target)
    return b + (bytes([lla_type, 1]) + lla if lla_type else b"")


def sol_node(target):
    return str(ipaddress.IPv6Address(a6("ff02::1:ff00:0")[:13] + a6(target)[13:]))


def write(outdir, target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- per-target seeds ----

def seeds_eth(out):
    udp_frame = eth(GW_MAC, VM1, 0x0800, udp("10.0.2.15", "10.0.2.3", 40000, 53,
                                             dns_query("example.test")))
    write(out, "eth", "udp", udp_frame)
    write(out, "eth", "arp", arp_req(VM1, "10.0.2.15", "10.0.2.2"))
    write(out, "eth", "arp-tagged", arp_req(VM1, "192.168.5.10", "192.168.5.1", vid=20))
    write(out, "eth", "priority-tag", eth(GW_MAC, VM1, 0x0800, icmp_echo("10.0.2.15", "10.0.2.2"),
                                          vid=5 << 13))
    write(out, "eth", "tcp-syn", eth(GW_MAC, VM1, 0x0800,
                                     tcp("10.0.2.15", "10.0.2.2", 40000, 22, 0x02,
                                         options=SYN_OPTS)))
    write(out, "eth", "ipv6", eth(b"\x33\x33\0\0\0\1", VM1, 0x86DD, b"\x60" + b"\0" * 39))
    write(out, "eth", "qinq", VM1[::-1] + VM1 + b"\x88\xa8\x00\x0a\x81\x00\x00\x14\x08\x00"
          + b"\0" * 30)


def seeds_ip(out):
    meta0 = b"\0" * 8
    write(out, "ip", "udp", b"\x01" + meta0 + udp("10.0.2.15", "10.0.2.3", 1234, 53,
                                                   dns_query("vnet.internal")))
    write(out, "ip", "tcp-syn", b"\x01" + meta0 + tcp("10.0.2.15", "1.2.3.4", 40000, 80, 0x02,
                                                       options=SYN_OPTS))
    write(out, "ip", "icmp", b"\x01" + meta0 + icmp_echo("10.0.2.15", "10.0.2.2"))
    write(out, "ip", "options", b"\x00" + meta0 + ip4(a("10.0.2.15"), a("10.0.2.2"), 17,
                                                       b"\0\1\0\2\0\x0c\0\0abcd",
                                                       options=b"\x01" * 8))
    # GSO: 3000 bytes of TCP payload, MSS 1000, partial checksum at 34+16.
    seg = tcp("10.0.2.15", "10.0.2.2", 40000, 5001, 0x18, data=bytes(range(256)) * 12)
    meta = bytes([1, 1]) + struct.pack("<HH", 54, 1000) + bytes([34, 16 << 1])
    write(out, "ip", "gso", b"\x00" + meta + seg)
    meta = bytes([1, 0, 0, 0, 0, 0, 34, 16 << 1])
    write(out, "ip", "csum-partial", b"\x00" + meta + seg[:200])
    # Reassembly mode: fragments of a 3000-byte UDP datagram, 2-byte lengths.
    big = udp("10.0.2.15", "10.0.2.2", 1000, 7, b"F" * 3000)
    frs = fragments("10.0.2.15", "10.0.2.2", 17, big[20:], 1480)
    rec = b"".join(struct.pack("<H", len(f)) + f for f in frs)
    write(out, "ip", "fragments", b"\x06" + meta0 + rec)
    write(out, "ip", "fragments-reversed", b"\x06" + meta0 +
          b"".join(struct.pack("<H", len(f)) + f for f in reversed(frs)))
    seeds_ip6(out)


def tcp6(src, dst, sport, dport, flags, seq=1000, ack=0, options=b"", data=b""):
    t = tcp_hdr(sport, dport, seq, ack, flags, options, data)
    c = csum(pseudo6(src, dst, 6, t) + t)
    return ip6(src, dst, 6, t[:16] + struct.pack("!H", c) + t[18:])


def frags6(src, dst, nh, payload, size, ident=9, unfrag=(), first_unfrag=None):
    """IPv6 fragments of payload (the fragmentable part: upper-layer header
    and data), size bytes each (a multiple of 8); unfrag: extension headers
    before the fragment header (first_unfrag for the first fragment only)."""
    out = []
    for off in range(0, len(payload), size):
        more = off + size < len(payload)
        ex = list(first_unfrag if off == 0 and first_unfrag is not None else unfrag)
        out.append(ip6(src, dst, nh, payload[off:off + size],
                       exts=ex + [(44, frag_hdr(off // 8, more, ident))]))
    return out


def le_records(packets):
    """fuzz_ip.c's reassembly input: each packet after a 2-byte little-endian length."""
    return b"".join(struct.pack("<H", len(p)) + p for p in packets)


def seeds_ip6(out):
    meta0 = b"\0" * 8
    s, d = "fd00:f::5054:ff:fe00:1", "fd00:f::2"
    ll = "fe80::5054:ff:fe00:1"
    rh = (43, bytes([0, 0, 0]) + b"\0" * 4)  # routing type 0, segments left 0
    dst1, hbh1 = (60, opts_hdr()), (0, opts_hdr())
    write(out, "ip", "v6-udp", b"\0" + meta0 + udp6(s, d, 40000, 53, dns_query("vnet.internal")))
    write(out, "ip", "v6-chain", b"\0" + meta0 +
          icmp6(s, d, 128, b"\0\1\0\1ping", exts=[hbh1, dst1, rh, (60, opts_hdr(2))]))
    write(out, "ip", "v6-first-frag", b"\0" + meta0 +
          icmp6(s, d, 128, b"\0\1\0\1" + b"p" * 40, exts=[hbh1, (44, frag_hdr()), dst1]))
    write(out, "ip", "v6-later-frag", b"\0" + meta0 +
          ip6(s, d, 60, b"\x11\0" + b"x" * 30, exts=[(44, frag_hdr(offset=3, more=False))]))
    write(out, "ip", "v6-hbh-late", b"\0" + meta0 + udp6(s, d, 1, 2, b"x", exts=[dst1, hbh1]))
    write(out, "ip", "v6-too-many", b"\0" + meta0 + udp6(s, d, 1, 2, b"x", exts=[dst1] * 9))
    past = bytearray(udp6(s, d, 1, 2, b"x", exts=[dst1]))
    past[41] = 9
    write(out, "ip", "v6-ext-past-end", b"\0" + meta0 + bytes(past))
    write(out, "ip", "v6-two-frag-hdrs", b"\0" + meta0 +
          udp6(s, d, 1, 2, b"x", exts=[(44, frag_hdr()), (44, frag_hdr())]))
    jumbo = bytearray(udp6(s, d, 1, 2, b"x", exts=[hbh1]))
    jumbo[4:6] = b"\0\0"
    write(out, "ip", "v6-jumbo", b"\0" + meta0 + bytes(jumbo))
    write(out, "ip", "v6-no-next", b"\0" + meta0 + ip6(ll, "ff02::1", 59, b"", exts=[dst1]))
    seg = tcp6(s, d, 40000, 5001, 0x18, data=bytes(range(256)) * 12)
    meta = bytes([1, 1]) + struct.pack("<HH", 74, 1000) + bytes([54, 16 << 1])
    write(out, "ip", "v6-gso", b"\0" + meta + seg)
    write(out, "ip", "v6-gso-as-v4", b"\0" + bytes([1, 3]) + meta[2:] + seg)
    # Reassembly (mode bit 1; bits 2-7: 100 ms steps)
    echo = b"\x80\0\0\0\0\1\0\1" + bytes(range(256)) * 12
    frs = frags6(s, d, 58, echo, 1232)
    write(out, "ip", "v6-fragments", b"\x06" + meta0 + le_records(frs))
    write(out, "ip", "v6-fragments-reversed", b"\x06" + meta0 + le_records(reversed(frs)))
    write(out, "ip", "v6-fragments-unfrag-hdrs", b"\x06" + meta0 + le_records(
        frags6(s, d, 17, udp6(s, d, 1, 7, b"U" * 2000)[40:], 1024, unfrag=[hbh1, rh])))
    small = frags6(s, d, 58, echo[:64], 16, ident=5)
    write(out, "ip", "v6-overlap", b"\x02" + meta0 + le_records(
        [small[0], small[1], ip6(s, d, 58, echo[8:40], exts=[(44, frag_hdr(1, True, 5))])] +
        small[2:]))
    write(out, "ip", "v6-duplicate", b"\x02" + meta0 + le_records([small[0], small[0]] + small[1:]))
    write(out, "ip", "v6-last-short", b"\x02" + meta0 + le_records(
        [small[2], small[0], ip6(s, d, 58, echo[16:20], exts=[(44, frag_hdr(2, False, 5))])]))
    write(out, "ip", "v6-atomic", b"\x02" + meta0 + le_records(
        [icmp6(s, d, 128, b"\0\1\0\1atomic", exts=[(44, frag_hdr(0, False, 6))])]))
    write(out, "ip", "v6-timeout", bytes([2 | 30 << 2]) + meta0 + le_records(small[:2] + small[1:]))
    v4 = fragments("10.0.2.15", "10.0.2.2", 17,
                   udp("10.0.2.15", "10.0.2.2", 1000, 7, b"F" * 3000)[20:], 1480)
    mixed = [x for pair in zip(v4, frs) for x in pair]
    write(out, "ip", "v4-v6-mixed", b"\x06" + meta0 + le_records(mixed))
    many = [frags6(s, d, 58, echo[:64], 32, ident=100 + i)[0] for i in range(20)]
    write(out, "ip", "v6-table-full", b"\x02" + meta0 + le_records(many))
    # Guests (the last byte of the source address & 7 stands for the switch
    # port): five fill the table below their share, then a new datagram of
    # each of three takes a slot as the fairness rules say.
    owners = [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5, 1, 6, 5]
    guests = [ip4(a("10.0.2.%d" % (16 + g)), a("10.0.2.2"), 17, b"G" * 64, ident=200 + i,
                  frag=0x2000) for i, g in enumerate(owners)]
    write(out, "ip", "fragments-guests", b"\x02" + meta0 + le_records(guests))


def framed(frames):
    return b"".join(struct.pack("!I", len(f)) + f for f in frames)


def seeds_stream(out):
    f1 = arp_req(VM1, "10.0.2.15", "10.0.2.2")
    f2 = eth(GW_MAC, VM1, 0x0800, icmp_echo("10.0.2.15", "10.0.2.2"))
    write(out, "stream", "two-frames", b"\x40\x00" + framed([f1, f2]))
    write(out, "stream", "byte-reads", b"\x01\x00" + framed([f1, f2, f1]))
    write(out, "stream", "partial", b"\x10\x03" + framed([f1])[:-5])
    write(out, "stream", "min-frame", b"\x08\x01" + framed([VM1 + VM2 + b"\x08\x00"]))
    write(out, "stream", "bad-length", b"\x08\x01" + framed([f1]) + b"\0\0\0\x05hello")


CONFIGS = {
    "minimal": "networks:\n  - name: default\n",
    "full": """control: /tmp/vnet-fuzz/ctl.sock
control_mode: "0660"
log: info
sandbox: false
conntrack_max: 4096
networks:
  - name: lan
    mode: nat
    vlan: 10
    mtu: 9000
    fdb_max: 100
    fdb_aging: 60
    subnet: 10.0.2.0/24
    gateway: 10.0.2.2
    map_host_loopback: false
    dhcp:
      enabled: true
      range: 10.0.2.100-10.0.2.120
      lease_time: 600
      hosts:
        - {mac: "52:54:00:00:00:01", ip: 10.0.2.50, name: db}
    dns:
      address: 10.0.2.3
      domain: example.test
      upstream: [127.0.0.1, "[::1]:5353"]
    forwards:
      - {proto: tcp, host: 2222, guest: "10.0.2.50:22"}
    nat: {max_flows: 128, udp_timeout: 30, tcp_timeout: 600}
    acl:
      default: allow
      rules:
        - {action: drop, direction: in, proto: tcp, dport: 25}
  - name: mgmt
    mode: isolated
    vlan: 20
    subnet: 192.168.5.0/24
ports:
  - name: vm1
    type: stream
    network: lan
    path: /tmp/vnet-fuzz/vm1.sock
    storm: {broadcast: 100, multicast: 100}
    security: {macs: ["52:54:00:00:00:01"], ips: [10.0.2.50], max_macs: 2}
    rate: {in: {bps: 10M, burst: 64k}, out: {pps: 1000}}
    acl:
      - {action: allow, direction: both, state: established}
      - {action: reject, direction: in, proto: tcp, dport: 23}
  - name: up
    type: dgram
    trunk: [lan, mgmt]
    native: lan
    path: /tmp/vnet-fuzz/up.sock
mirrors:
  - {name: m1, from: [vm1], direction: both, to: up}
""",
    "hostonly": """networks:
  - name: ho
    mode: host-only
    subnet: 192.168.56.0/24
    dns: {address: 192.168.56.3}
""",
    "bridge-flow": "networks: [{name: br, mode: bridge, uplink: eth9}]\n"
                   "ports: [{name: t, type: tap, network: br, ifname: vt0, mtu: 1400}]\n",
    "error": "networks:\n  - name: a\n    mtu: 10\n",
}


def seeds_config(out):
    for name, text in CONFIGS.items():
        write(out, "config", name, text)


CTL = [
    '{"cmd":"status"}',
    '{"cmd":"network.list"}',
    '{"cmd":"port.list"}',
    '{"cmd":"fdb","network":"lan"}',
    '{"cmd":"stats"}',
    '{"cmd":"acl.add","target":"vm1","rule":"reject in proto=tcp dport=22","position":0}',
    '{"cmd":"acl.add","target":"lan","rule":"allow both state=established"}',
    '{"cmd":"acl.default","target":"lan","policy":"drop"}',
    '{"cmd":"acl.list","target":"vm1"}',
    '{"cmd":"acl.del","target":"vm1","index":0}',
    '{"cmd":"mirror.add","name":"m","from":["vm1","vm2"],"to":"vm3","direction":"both"}',
    '{"cmd":"mirror.list"}',
    '{"cmd":"mirror.del","name":"m"}',
    '{"cmd":"capture.list"}',
    '{"cmd":"capture.stop","id":1}',
    '{"cmd":"leases","network":"lan"}',
    '{"cmd":"flows","network":"lan"}',
    '{"cmd":"forward.list","network":"lan"}',
    '{"cmd":"forward.add","network":"lan","spec":"tcp:127.0.0.1:18080:10.0.2.15:80"}',
    '{"cmd":"forward.del","network":"lan","proto":"tcp","host":"127.0.0.1:18080"}',
    '{"cmd":"port.del","name":"vm2"}',
    '{"cmd":"nope"}',
    '[1,2,3]',
    '{"cmd":1}',
]


# The vxlan port's requests (fuzz_ctl's port vx, local 127.0.0.1, remotes
# 127.0.0.2 and 127.0.0.3:8472, networks lan and iso).
CTL_VXLAN = [
    '{"cmd":"vtep.list"}',
    '{"cmd":"vtep.list","port":"vx"}',
    '{"cmd":"vtep.add","port":"vx","vtep":"127.0.0.4"}',
    '{"cmd":"vtep.add","port":"vx","vtep":"127.0.0.5:4790","networks":["iso"]}',
    '{"cmd":"vtep.add","port":"vx","vtep":"127.0.0.2"}',
    '{"cmd":"vtep.add","port":"vx","vtep":"[::1]:4789"}',
    '{"cmd":"vtep.add","port":"vm1","vtep":"127.0.0.4"}',
    '{"cmd":"vtep.add","port":"vx","vtep":"127.0.0.1"}',
    '{"cmd":"vtep.del","port":"vx","vtep":"127.0.0.5","networks":["iso"]}',
    '{"cmd":"vtep.del","port":"vx","vtep":"127.0.0.2"}',
    '{"cmd":"fdb.add","network":"lan","mac":"52:54:00:00:00:02","vtep":"127.0.0.3"}',
    '{"cmd":"fdb.add","network":"iso","mac":"02:00:00:00:00:09","vtep":"127.0.0.4","port":"vx"}',
    '{"cmd":"fdb.add","network":"lan","mac":"01:00:5e:00:00:01","vtep":"127.0.0.3"}',
    '{"cmd":"fdb.add","network":"lan","mac":"52:54:00:00:00:03","vtep":"127.0.0.99"}',
    '{"cmd":"fdb.del","network":"lan","mac":"52:54:00:00:00:02"}',
    '{"cmd":"fdb.del","network":"lan","mac":"52:54:00:00:00:01","port":"vx"}',
    '{"cmd":"fdb","network":"lan"}',
    '{"cmd":"stats","port":"vx"}',
    '{"cmd":"port.list","port":"vx"}',
]


# The VPN's requests (fuzz_ctl's network lan: a VPN with peer 'a' at
# 10.99.0.2/32, vpn.address 10.99.0.1/24, max_peers 4). Keys: base64 of
# 32 bytes 3, 4, 5 (any 32 bytes are a public key to the commands).
K3, K4, K5 = (base64.b64encode(bytes([b]) * 32).decode() for b in (3, 4, 5))
CTL_VPN = [
    '{"cmd":"vpn.show"}',
    '{"cmd":"vpn.show","network":"lan"}',
    '{"cmd":"vpn.peer.add","network":"lan","name":"b","public_key":"%s",'
    '"allowed_ips":["10.99.0.3/32","fd99::3"],"persistent_keepalive":0}' % K3,
    '{"cmd":"vpn.peer.add","network":"lan","name":"c","public_key":"%s","preshared_key":"%s",'
    '"allowed_ips":["10.98.0.0/16"],"endpoint":"127.0.0.1:9","persistent_keepalive":25}' % (K4, K5),
    '{"cmd":"vpn.peer.add","network":"lan","name":"d","public_key":"%s",'
    '"allowed_ips":["10.0.2.7/32"]}' % K5,
    '{"cmd":"vpn.peer.add","network":"lan","name":"d","public_key":"%s",'
    '"allowed_ips":["10.99.0.5/24"]}' % K5,
    '{"cmd":"vpn.client-config","network":"lan","peer":"a"}',
    '{"cmd":"vpn.client-config","network":"lan","peer":"b","endpoint":"[fd00::1]"}',
    '{"cmd":"vpn.client-config","network":"lan","peer":"%s","endpoint":"vpn.example:1"}' % K3,
    '{"cmd":"vpn.peer.del","network":"lan","peer":"b"}',
    '{"cmd":"vpn.peer.del","network":"lan","peer":"%s"}' % K4,
    '{"cmd":"vpn.peer.del","network":"iso","peer":"a"}',
]


def seeds_ctl(out):
    for i, line in enumerate(CTL):
        write(out, "ctl", "req-%02d" % i, line + "\n")
    write(out, "ctl", "session", "\n".join(CTL[:12]) + "\n")
    for i, line in enumerate(CTL_VXLAN):
        write(out, "ctl", "vxlan-%02d" % i, line + "\n")
    # a session: VTEPs and static entries made, traffic flooded and steered
    # (fuzz_ctl's frames), listed, then taken away; a full VTEP table
    write(out, "ctl", "vxlan-session", "\n".join(CTL_VXLAN) + "\n")
    for i, line in enumerate(CTL_VPN):
        write(out, "ctl", "vpn-%02d" % i, line + "\n")
    # a session: peers added, shown, configured for, removed; a full table
    write(out, "ctl", "vpn-session", "\n".join(CTL_VPN) + "\n")
    write(out, "ctl", "vxlan-full", "".join(
        '{"cmd":"vtep.add","port":"vx","vtep":"127.1.%d.%d"}\n' % (i // 250, i % 250 + 1)
        for i in range(60)))


def rec(port, frame, end=True):
    return bytes([port | (0x80 if end else 0)]) + struct.pack("!H", len(frame)) + frame


def seeds_switch(out):
    # ports: 0 vm1 (lan), 1 vm2 (lan, ACL), 2 t1 (trunk lan native + iso vid 20), 3 vm3 (iso)
    g = "10.0.2.2"
    discover = eth(BCAST, VM1, 0x0800, dhcp(VM1, 1))
    request = eth(BCAST, VM1, 0x0800, dhcp(VM1, 3, requested="10.0.2.15", server=g))
    write(out, "switch", "dhcp", rec(0, discover) + rec(0, request))
    write(out, "switch", "arp-ping", rec(0, arp_req(VM1, "10.0.2.15", g)) +
          rec(0, eth(BCAST, VM1, 0x0800, icmp_echo("10.0.2.15", g))))
    write(out, "switch", "dns", rec(0, arp_req(VM1, "10.0.2.15", "10.0.2.3")) +
          rec(0, eth(GW_MAC, VM1, 0x0800, udp("10.0.2.15", "10.0.2.3", 40000, 53,
                                               dns_query("host.vnet.internal")))) +
          rec(0, eth(GW_MAC, VM1, 0x0800, udp("10.0.2.15", "10.0.2.3", 40001, 53,
                                               dns_query("example.test", qtype=28)))) +
          rec(0, eth(GW_MAC, VM1, 0x0800, udp("10.0.2.15", "10.0.2.3", 40002, 53,
                                               dns_query("2.2.0.10.in-addr.arpa", qtype=12)))))
    # NAT: TCP to the gateway (the host's loopback in the fuzzer's netns), to
    # an outside address (unreachable there), UDP and ping outside.
    write(out, "switch", "nat", b"".join([
        rec(0, eth(GW_MAC, VM1, 0x0800, tcp("10.0.2.15", g, 40000, 22, 0x02, options=SYN_OPTS))),
        rec(0, eth(GW_MAC, VM1, 0x0800, tcp("10.0.2.15", "198.51.100.7", 40001, 80, 0x02,
                                            options=SYN_OPTS))),
        rec(0, eth(GW_MAC, VM1, 0x0800, udp("10.0.2.15", "198.51.100.7", 5000, 9, b"x" * 20))),
        rec(0, eth(GW_MAC, VM1, 0x0800, icmp_echo("10.0.2.15", "198.51.100.7"))),
        rec(0, eth(GW_MAC, VM1, 0x0800, tcp("10.0.2.15", "198.51.100.7", 40001, 80, 0x10,
                                            seq=1001, ack=1, data=b"GET / HTTP/1.0\r\n\r\n"))),
    ]))
    big = udp("10.0.2.15", g, 1000, 7, b"F" * 3000)
    write(out, "switch", "fragments", b"".join(
        rec(0, eth(GW_MAC, VM1, 0x0800, f), end=False)
        for f in fragments("10.0.2.15", g, 17, big[20:], 1480)) + b"\x80\0\0")
    write(out, "switch", "trunk", b"".join([
        rec(2, arp_req(VM2, "192.168.5.10", "192.168.5.1", vid=20)),
        rec(2, eth(BCAST, VM2, 0x0800, dhcp(VM2, 1), vid=20)),
        rec(2, eth(GW_MAC, VM2, 0x0800, icmp_echo("192.168.5.10", "192.168.5.1"), vid=20)),
        rec(2, eth(GW_MAC, VM2, 0x0800, icmp_echo("10.0.2.16", g))),
        rec(2, eth(GW_MAC, VM2, 0x0800, icmp_echo("10.0.2.16", g), vid=99)),
    ]))
    write(out, "switch", "acl", b"".join([
        rec(1, eth(VM1, VM2, 0x0800, tcp("10.0.2.16", "10.0.2.15", 40000, 23, 0x02))),
        rec(1, eth(VM1, VM2, 0x0800, udp("10.0.2.16", "10.0.2.15", 40000, 53, b"q"))),
        rec(0, eth(VM2, VM1, 0x0800, udp("10.0.2.15", "10.0.2.16", 53, 40000, b"a"))),
        rec(0, eth(VM2, VM1, 0x0800, icmp_echo("10.0.2.15", "10.0.2.16"))),
    ]))
    flood = b"".join(rec(1, eth(BCAST, bytes([0x52, 0x54, 0, 1, 0, i]), 0x0800,
                                icmp_echo("10.0.2.%d" % (20 + i), g)), end=(i % 8 == 7))
                     for i in range(16))
    write(out, "switch", "mac-flood", flood)
    write(out, "switch", "tagged-mtu", rec(3, eth(BCAST, VM2, 0x0800, b"\0" * 1600)) +
          rec(2, eth(BCAST, VM2, 0x0800, b"\0" * 1600, vid=20)))
    seeds_switch6(out)


def seeds_switch6(out):
    # IPv6 port security: guards behind extension headers, neighbour
    # discovery claims, DAD records, ip_binding on vm3 (port 3).
    ll1, ll2, gll = eui64_ll(VM1), eui64_ll(VM2), eui64_ll(GW_MAC)
    dst1, hbh1 = (60, opts_hdr()), (0, opts_hdr())
    ra = icmp6(ll1, "ff02::1", 134, struct.pack("!BBHII", 64, 0, 1800, 0, 0) +
               bytes([1, 1]) + VM1)
    write(out, "switch", "ipv6-ra-guard", b"".join([
        rec(0, eth6(VM1, "ff02::1", ra)),
        rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 134, b"\0" * 12, exts=[dst1]))),
        rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 134, b"\0" * 12,
                                          exts=[hbh1, dst1]))),
        rec(0, eth6(VM1, ll2, icmp6(ll1, ll2, 137, nd_target("fd00::9") + a6("fd00::9")),
                    dst_mac=VM2)),
        rec(0, eth6(VM1, ll2, udp6(ll1, ll2, 547, 546, b"\x07\0\0\1", exts=[dst1]),
                    dst_mac=VM2)),
        rec(0, eth6(VM1, "ff02::1:2", udp6(ll1, "ff02::1:2", 546, 547, b"\x01\0\0\1",
                                           exts=[hbh1]))),
        rec(2, eth6(VM2, "ff02::1", ra)),
    ]))
    # Authentication header (RFC 4302: length in 4-byte units - 2) then
    # destination options then a router advertisement.
    ah = (51, bytes([1]) + b"\0" * 10)
    write(out, "switch", "ipv6-ah-chain",
          rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 134, b"\0" * 12, exts=[ah, dst1]))))
    na_body = nd_target("fd00::15", 0x20000000, 2, VM1)
    write(out, "switch", "ipv6-nd", b"".join([
        rec(0, eth6(VM1, sol_node("fd00::15"),
                    icmp6("::", sol_node("fd00::15"), 135, nd_target("fd00::15")))),
        rec(0, eth6(VM1, sol_node(ll1), icmp6("::", sol_node(ll1), 135, nd_target(ll1)))),
        rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 136, na_body))),
        rec(1, eth6(VM2, "ff02::1", icmp6(ll2, "ff02::1", 136,
                                          nd_target("fd00::15", 0x20000000, 2, VM2)))),
        rec(1, eth6(VM2, sol_node("fd00::15"),
                    icmp6("::", sol_node("fd00::15"), 135, nd_target("fd00::15")))),
        rec(1, eth6(VM2, "ff02::1", icmp6(ll2, "ff02::1", 136,
                                          nd_target(gll, 0x20000000, 2, VM2)))),
        rec(1, eth6(VM2, sol_node(gll), icmp6(ll2, sol_node(gll), 135,
                                              nd_target(gll, 0, 1, VM1)))),
        rec(1, eth6(VM2, "ff02::2", icmp6(ll2, "ff02::2", 133, b"\0" * 4 + bytes([1, 1]) + VM2))),
        rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 136, nd_target("fd00::16", 0, 2, VM1) +
                                          bytes([2, 0]) + b"\0" * 6))),
    ]))
    frags = [
        rec(0, eth6(VM1, "ff02::1", icmp6(ll1, "ff02::1", 135, nd_target("fd00::9"),
                                          exts=[(44, frag_hdr())]))),
        rec(0, eth6(VM1, ll2, icmp6(ll1, ll2, 128, b"\0\1\0\1" + b"p" * 64,
                                    exts=[(44, frag_hdr())]), dst_mac=VM2)),
        # a later fragment whose data looks like a router advertisement
        rec(0, eth6(VM1, ll2, ip6(ll1, ll2, 58, b"\x86" + b"\0" * 31,
                                  exts=[(44, frag_hdr(offset=9, more=False))]), dst_mac=VM2)),
    ]
    write(out, "switch", "ipv6-fragments", b"".join(frags))
    udp = struct.pack("!HHHH", 1, 53, 9, 0) + b"x"
    many = ip6(ll1, ll2, 17, udp, exts=[(60, opts_hdr())] * 12)
    hbh_late = ip6(ll1, ll2, 17, udp, exts=[dst1, hbh1])
    past = bytearray(ip6(ll1, ll2, 17, udp, exts=[dst1]))
    past[41] = 200
    cut = ip6(ll1, ll2, 17, udp, exts=[dst1])[:44]
    write(out, "switch", "ipv6-bad-chains", b"".join(
        rec(0, eth6(VM1, ll2, bytes(p), dst_mac=VM2)) for p in (many, hbh_late, past, cut)))
    # vm3 binds addresses: EUI-64 link-local, DAD then use, MLD from ::, others.
    vm3 = bytes.fromhex("5254000000c3")
    ll3 = eui64_ll(vm3)
    slaac = "fd00:5::5054:ff:fe00:c3"
    write(out, "switch", "ipv6-binding", b"".join([
        rec(3, eth6(vm3, "ff02::16", icmp6("::", "ff02::16", 143, b"\0\0\0\1" +
                                           bytes([4, 0, 0, 0]) + a6(sol_node(ll3)), hlim=1,
                                           exts=[(0, bytes([0, 5, 2, 0, 0, 1, 0]))]))),
        rec(3, eth6(vm3, sol_node(slaac), icmp6("::", sol_node(slaac), 135, nd_target(slaac)))),
        rec(3, eth6(vm3, "ff02::1", udp6(slaac, "ff02::1", 1000, 2000, b"slaac"))),
        rec(3, eth6(vm3, "ff02::1", udp6(ll3, "ff02::1", 1000, 2000, b"eui64"))),
        rec(3, eth6(vm3, "ff02::1", udp6("fd00:5::77", "ff02::1", 1000, 2000, b"spoof"))),
        rec(3, eth6(vm3, "ff02::1", udp6("::", "ff02::1", 1000, 2000, b"unspec"))),
    ]))


def dhcp_payload(mac, msgtype, **kw):
    return dhcp(mac, msgtype, **kw)[28:]  # strip IP + UDP headers


def seeds_dhcp(out):
    write(out, "dhcp", "discover", dhcp_payload(VM1, 1))
    write(out, "dhcp", "request", dhcp_payload(VM1, 3, requested="10.0.2.15", server="10.0.2.2",
                                               hostname=b"My.Guest_Name"))
    write(out, "dhcp", "release", dhcp_payload(VM1, 7, server="10.0.2.2"))
    write(out, "dhcp", "inform", dhcp_payload(VM2, 8, hostname=b"x" * 70))
    # BOOTP (no message type), overload option, max size
    m = bytearray(dhcp_payload(VM1, 1))
    write(out, "dhcp", "bootp", bytes(m[:240]) + b"\xff")
    write(out, "dhcp", "maxsize-overload", bytes(m[:240]) + bytes([53, 1, 1, 57, 2, 5, 220, 52, 1, 3])
          + b"\xff")


def seeds_dns(out):
    write(out, "dns", "a", dns_query("example.test"))
    write(out, "dns", "aaaa-local", dns_query("host.vnet.internal", qtype=28))
    write(out, "dns", "ptr", dns_query("2.2.0.10.in-addr.arpa", qtype=12))
    q = dns_query("fixed.vnet.internal")
    q = q[:10] + b"\0\1" + q[12:] + b"\0\0\x29\x04\xd0\0\0\0\0\0\0"  # EDNS0 OPT
    write(out, "dns", "edns", q)
    # a response with a compressed answer name
    r = bytearray(dns_query("www.example.test"))
    r[2:4] = b"\x81\x80"
    r[6:8] = b"\0\1"
    r += b"\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\x5d\xb8\xd8\x22"
    write(out, "dns", "response", bytes(r))
    write(out, "dns", "loop", b"\x12\x34\1\0\0\1\0\0\0\0\0\0\xc0\x0c\0\1\0\1")
    # IPv6 (fuzz_dns.c's network: prefix fd00:f::/64, fixed's SLAAC address)
    write(out, "dns", "aaaa-slaac", dns_query("fixed.vnet.internal", qtype=28))
    write(out, "dns", "a-named", dns_query("named.vnet.internal", qtype=1))
    write(out, "dns", "any-host", dns_query("host.vnet.internal", qtype=255))
    write(out, "dns", "ptr6-slaac", dns_query(rev6("fd00:f::5054:ff:fe12:3499"), qtype=12))
    write(out, "dns", "ptr6-gateway", dns_query(rev6("fd00:f::2"), qtype=12))
    write(out, "dns", "ptr6-zone", dns_query(rev6("fd00:f::", 16), qtype=12))
    write(out, "dns", "ptr6-partial", dns_query(rev6("fd00:f::1", 30), qtype=12))
    write(out, "dns", "ptr6-outside", dns_query(rev6("2001:db8::1"), qtype=12))
    write(out, "dns", "ptr6-upper", dns_query(rev6("fd00:f::ABCD").upper(), qtype=12))
    # DNS64 (fuzz_dns.c runs every input as an upstream answer through the
    # synthesis, and AAAA/PTR queries through an IPv6-only nat64 network)
    write(out, "dns", "dns64-aaaa", dns_query("v4only.example.test", qtype=28))
    write(out, "dns", "dns64-ptr", dns_query(rev6("64:ff9b::c000:201"), qtype=12))
    write(out, "dns", "dns64-ptr-partial", dns_query(rev6("64:ff9b::", 24), qtype=12))

    def answer(name, qtype, rcode=0, an=(), ns=()):
        """A response to name/qtype: records (owner or None for the question,
        type, ttl, rdata) in the answer and authority sections."""
        r = bytearray(dns_query(name, qtype=qtype))
        r[2:4] = struct.pack("!H", 0x8180 | rcode)
        r[6:10] = struct.pack("!HH", len(an), len(ns))
        for owner, typ, ttl, rd in list(an) + list(ns):
            o = b"\xc0\x0c" if owner is None else dns_query(owner)[12:-4]
            r += o + struct.pack("!HHIH", typ, 1, ttl, len(rd)) + rd
        return bytes(r)

    def wire(name):
        return dns_query(name)[12:-4]

    soa = b"\xc0\x0c" + wire("hostmaster.example.test") + struct.pack("!IIIII", 1, 2, 3, 4, 120)
    write(out, "dns", "dns64-nodata-soa",
          answer("v4only.example.test", 28, ns=[("example.test", 6, 300, soa)]))
    write(out, "dns", "dns64-a-chain",
          answer("www.example.test", 1,
                 an=[(None, 5, 3000, wire("edge.example.test")),
                     ("edge.example.test", 1, 900, bytes([192, 0, 2, 1])),
                     ("edge.example.test", 1, 900, bytes([127, 0, 0, 1])),
                     ("edge.example.test", 1, 60, bytes([198, 51, 100, 7]))]))
    write(out, "dns", "dns64-aaaa-mapped",
          answer("mapped.example.test", 28,
                 an=[(None, 28, 60, ipaddress.IPv6Address("::ffff:192.0.2.1").packed)]))
    write(out, "dns", "dns64-ptr-answer",
          answer("1.2.0.192.in-addr.arpa", 12, an=[(None, 12, 500, b"\xc0\x0c")]))
    write(out, "dns", "dns64-ptr-nxdomain",
          answer("1.2.0.192.in-addr.arpa", 12, rcode=3, ns=[("example.test", 6, 60, soa)]))


def d6opt(code, data=b""):
    return struct.pack("!HH", code, len(data)) + data


def dhcp6(msgtype, duid=None, mac=0xC1, iaids=(1,), addr=None, rapid=False, xid=0x1234,
          pd=(), ta=()):
    """A DHCPv6 client message (fuzz_dhcp6.c's network: fd00:f::/64); pd and
    ta: IAIDs of IA_PDs (each with a ::/56 IAPREFIX hint) and IA_TAs."""
    duid = duid if duid is not None else bytes.fromhex("00030001525400000000")[:9] + bytes([mac])
    m = bytes([msgtype]) + struct.pack("!I", xid)[1:] + d6opt(1, duid)
    m += d6opt(8, b"\0\0") + d6opt(6, struct.pack("!HH", 23, 24))
    if rapid:
        m += d6opt(14)
    for iaid in iaids:
        inner = b""
        if addr:
            inner = d6opt(5, ipaddress.IPv6Address(addr).packed + struct.pack("!II", 300, 600))
        m += d6opt(3, struct.pack("!III", iaid, 0, 0) + inner)
    for iaid in pd:
        m += d6opt(25, struct.pack("!III", iaid, 0, 0) +
                   d6opt(26, struct.pack("!IIB", 0, 0, 56) + bytes(16)))
    for iaid in ta:
        m += d6opt(4, struct.pack("!I", iaid))
    return m


def seq6(*steps):
    """fuzz_dhcp6.c's sequence: [flags][length:2][message] per message."""
    return b"".join(bytes([fl]) + struct.pack("!H", len(m)) + m for fl, m in steps)


def seeds_dhcp6(out):
    write(out, "dhcp6", "solicit", dhcp6(1, iaids=(1, 2), addr="fd00:f::100"))
    write(out, "dhcp6", "solicit-rapid", dhcp6(1, rapid=True))
    write(out, "dhcp6", "info-request", dhcp6(11, iaids=()))
    write(out, "dhcp6", "confirm", dhcp6(4, addr="fd00:f::103"))
    write(out, "dhcp6", "relay-forw", bytes([12, 0]) + b"\0" * 32 + d6opt(9, dhcp6(1)))
    llt = bytes.fromhex("0001000124a5b6c7525400000005")
    write(out, "dhcp6", "solicit-llt", dhcp6(1, duid=llt, mac=5))
    # sequences: flags bit 0 our server id, bits 1-3 MAC 52:54:00:00:00:c0+n,
    # bit 4 a source in the prefix, bit 5 through the switch, bits 6-7 clock step
    c1 = 1 << 1
    write(out, "dhcp6", "seq-lifecycle", seq6(
        (c1, dhcp6(1)), (c1 | 1, dhcp6(3, addr="fd00:f::100")),
        (c1 | 1 | 0x40, dhcp6(5, addr="fd00:f::100")), (c1 | 0x80, dhcp6(6, addr="fd00:f::100")),
        (c1, dhcp6(4, addr="fd00:f::100")), (c1 | 0x10, dhcp6(11, iaids=())),
        (c1 | 1, dhcp6(8, addr="fd00:f::100"))))
    write(out, "dhcp6", "seq-decline", seq6(
        (c1 | 0x20, dhcp6(1, rapid=True)), (c1 | 1, dhcp6(9, addr="fd00:f::100")),
        (c1 | 0x20, dhcp6(1, rapid=True)), (c1 | 0xC0, dhcp6(1))))
    write(out, "dhcp6", "seq-reserved", seq6(
        (0, dhcp6(1, mac=0xC0, rapid=True)),
        (4 << 1, dhcp6(1, duid=b"\0\2\0\0\0\x09fuzz", rapid=True)),
        (2 << 1, dhcp6(1, mac=0xC2, rapid=True)), (2 << 1 | 1, dhcp6(8, mac=0xC2))))
    # IA_PD and IA_TA beside IA_NAs (answered NoPrefixAvail/NoAddrsAvail)
    write(out, "dhcp6", "solicit-pd", dhcp6(1, pd=(1,)))
    write(out, "dhcp6", "solicit-pd-only", dhcp6(1, iaids=(), pd=(1, 2), rapid=True))
    write(out, "dhcp6", "seq-pd-ta", seq6(
        (c1, dhcp6(1, pd=(1,), ta=(1,))), (c1 | 1, dhcp6(3, addr="fd00:f::100", pd=(1,))),
        (c1 | 1 | 0x40, dhcp6(5, addr="fd00:f::100", pd=(1,), ta=(1,))),
        (c1 | 0x80, dhcp6(6, addr="fd00:f::100", pd=(1,))),
        (c1 | 1, dhcp6(8, addr="fd00:f::100", pd=(1,), ta=(1,)))))
    write(out, "dhcp6", "seq-many-clients", seq6(*[
        (((n % 8) << 1) | (0x20 if n % 2 else 0), dhcp6(1, mac=0xC0 + n % 8, iaids=(n, n + 100),
                                                        rapid=n % 3 == 0))
        for n in range(12)]))


def gw_mac(name):
    """The gateway's MAC of network name (gw/gateway.c: 52:56 + FNV-1a)."""
    h = 2166136261
    for ch in name.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return bytes([0x52, 0x56]) + struct.pack("<I", h)


def nd_rec(f, s, packet, mac=None):
    """fuzz_nd.c's record: [f][s][length:2][mac if f bit 3][packet]."""
    if mac is not None:
        f |= 8
    return bytes([f, s]) + struct.pack("!H", len(packet)) + (mac or b"") + packet


def seeds_nd(out):
    # fuzz_nd.c's network: nat, fd00:f::/64, gateway6 ::2, dns6 ::3, MTU 1280.
    # f: bits 0-2 guest 52:54:00:00:00:a0+n, bits 4-5 destination MAC (0 the
    # gateway, 1 the group of the destination), bit 6 fix-ups; s: bits 0-3
    # clock step (4: 100 ms, 6: 1 s, 8: 4 s, 10: 11 s), bits 4-6 NAT error + 1.
    gmac = gw_mac("lan")
    gll, g6, d6 = eui64_ll(gmac), "fd00:f::2", "fd00:f::3"
    macs = [bytes([0x52, 0x54, 0, 0, 0, 0xA0 + n]) for n in range(6)]
    ll = [eui64_ll(m) for m in macs]
    ga = ["fd00:f::5054:ff:fe00:%x" % (0xA0 + n) for n in range(6)]
    U, M, FIX = 0x00, 0x10, 0x40  # unicast to the gateway, multicast, fix-ups

    def ns(n, src, target, lla=True, hlim=255, exts=()):
        dst = sol_node(target)
        return nd_rec(M | FIX | n, 0, icmp6(src, dst, 135,
                                            nd_target(target, 0, 1 if lla else 0, macs[n]),
                                            hlim=hlim, exts=exts))

    def na(n, src, target, flags=0x20000000, dst="ff02::1", lla=None, s=0):
        return nd_rec(M | FIX | n, s, icmp6(src, dst, 136, nd_target(target, flags, 2,
                                                                     lla or macs[n])))

    def rs(n, src, lla=True, s=0):
        body = b"\0" * 4 + (bytes([1, 1]) + macs[n] if lla else b"")
        return nd_rec(M | FIX | n, s, icmp6(src, "ff02::2", 133, body))

    def echo(n, src, dst, data=b"ping", s=0, f=U):
        return nd_rec(f | FIX | n, s, icmp6(src, dst, 128, b"\0\7\0\1" + data, hlim=64))

    hdr = b"\x18\x00"  # lifetime 0 (bits 0-1), first RA: none (bits 3-4)
    write(out, "nd", "ns-own", hdr + ns(0, ll[0], gll) + ns(0, ga[0], g6) + ns(1, ga[1], d6) +
          ns(1, ll[1], g6))
    write(out, "nd", "ns-not-own", hdr + ns(0, ga[0], ga[1]) + ns(0, ga[0], "fd00:f::99") +
          ns(0, ll[0], "2001:db8::1") + ns(0, ga[0], "fd00:f::"))
    write(out, "nd", "dad", hdr + nd_rec(M | FIX, 0, icmp6("::", sol_node(g6), 135, nd_target(g6))) +
          nd_rec(M | FIX | 1, 0, icmp6("::", sol_node(gll), 135, nd_target(gll))) +
          nd_rec(M | FIX | 2, 0, icmp6("::", sol_node(ga[2]), 135, nd_target(ga[2]))) +
          nd_rec(M | FIX | 2, 0, icmp6("::", "ff02::1", 135, nd_target(ga[2]))))
    write(out, "nd", "na-learn-conflict", hdr + na(0, ga[0], ga[0]) +
          na(1, ll[1], ga[0], lla=macs[1], s=4) + na(1, ll[1], ga[0], s=10) +
          na(2, ga[2], ga[2], flags=0x60000000, dst=ga[0]) + na(2, ga[2], g6) +
          na(3, ll[3], gll) + na(3, ll[3], ga[3], lla=macs[4]))
    write(out, "nd", "rs", b"\x01\x00" + rs(0, ll[0]) + rs(1, "::", lla=False) + rs(2, ga[2]) +
          rs(3, ll[3], s=6))
    write(out, "nd", "rs-flood", b"\x02\x00" + b"".join(rs(n % 6, ll[n % 6], s=1)
                                                      for n in range(16)))
    # bit 5: one token in the solicited-RA and ICMP error buckets
    write(out, "nd", "rate-limits", b"\x38\x00" + b"".join(
        [rs(n, ll[n], s=1) for n in range(4)] +
        [nd_rec(FIX | 1, 0, udp6(ga[1], d6, 5000, 9, b"closed %d" % n)) for n in range(4)] +
        [nd_rec(FIX | 1, 6, udp6(ga[1], d6, 5000, 9, b"a second later"))]))
    write(out, "nd", "nat64", hdr + echo(0, ga[0], "64:ff9b::c000:201") +
          nd_rec(FIX, 0x10, udp6(ga[0], "64:ff9b::c000:201", 5000, 9, b"via NAT64")) +
          rs(0, ll[0]))
    write(out, "nd", "ra-timer", b"\x00\x00" + rs(0, ll[0], s=8) + echo(0, ll[0], gll, s=8) +
          echo(0, ll[0], gll, s=9))
    write(out, "nd", "echo", hdr + echo(0, ll[0], gll) + echo(1, ga[1], g6) + echo(2, ga[2], d6) +
          echo(3, ll[3], "ff02::1", f=M) + echo(4, ga[4], "fd00:f::99") +
          echo(5, "::", g6))
    big = b"\x80\0\0\0\0\7\0\2" + bytes(range(256)) * 8
    frs = frags6(ga[0], g6, 58, big[:2] + struct.pack("!H", csum(pseudo6(ga[0], g6, 58, big) + big))
                 + big[4:], 1232, ident=42)
    write(out, "nd", "echo-fragmented", hdr + b"".join(nd_rec(n, 0, fr) for fr in frs for n in [0]))
    write(out, "nd", "errors", hdr + b"".join([
        nd_rec(FIX, 0, udp6(ll[0], gll, 5000, 9, b"closed")),
        nd_rec(FIX, 0, udp6(ga[0], d6, 5000, 9, b"closed")),
        nd_rec(FIX | 1, 0, icmp6(ga[1], "2001:db8::1", 128, b"\0\1\0\1", hlim=1)),
        nd_rec(FIX | 1, 0x50 | 0x80, udp6(ga[1], "2001:db8::1", 5000, 9, b"B" * 1200)),
        nd_rec(FIX | 1, 0x10, udp6(ga[1], "2001:db8::1", 5000, 9, b"unreach")),
        nd_rec(FIX | 1, 0x20, udp6(ga[1], "2001:db8::2", 5000, 9, b"host")),
        nd_rec(FIX | 1, 0x30, udp6(ga[1], g6, 5000, 9, b"to the host")),
        nd_rec(FIX | 1, 0x70, ip6(ga[1], "2001:db8::1", 200, b"proto")),
        nd_rec(FIX | 2, 0x50, icmp6(ga[2], "2001:db8::1", 1, b"\0" * 4 + b"\x60" + b"\0" * 39,
                                    hlim=64)),
        nd_rec(M | FIX | 2, 0x50, udp6(ga[2], "ff0e::1", 5000, 9, b"mcast")),
        nd_rec(FIX | 3, 0x20, udp6(ll[3], "fe80::1", 5000, 9, b"link-local")),
    ]))
    write(out, "nd", "solicit", hdr + b"".join([  # s bits 4-6 = 7: the stub looks dst up
        nd_rec(FIX, 0x70, udp6(ga[0], ga[1], 5000, 9, b"to a guest")),
        nd_rec(FIX, 0x70, udp6(ga[0], "2001:db8::1", 5000, 9, b"off-link")),
        ns(1, ga[1], g6), nd_rec(FIX, 0x70, udp6(ga[0], ga[1], 5000, 9, b"known now")),
        nd_rec(FIX, 0x70, udp6(ga[0], "fd00:f::", 5000, 9, b"anycast")),
    ]))
    write(out, "nd", "invalid", hdr + b"".join([
        ns(0, ll[0], gll, hlim=64),
        nd_rec(M | FIX, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll), code=1)),
        nd_rec(M | FIX, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll) + b"\1\0" + b"\0" * 6)),
        nd_rec(M | FIX, 0, icmp6("::", sol_node(gll), 135, nd_target(gll, 0, 1, macs[0]))),
        nd_rec(M | FIX, 0, icmp6(ll[0], "ff02::1", 136, nd_target(ga[0], 0x40000000, 2, macs[0]))),
        nd_rec(M, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll))[:-3]),
        nd_rec(M | FIX, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll, 0, 1, macs[0]),
                                 exts=[(44, frag_hdr())])),
        nd_rec(M | FIX, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll, 0, 1, macs[0]),
                                 exts=[(0, opts_hdr())])),
        nd_rec(M | FIX, 0, icmp6(ll[0], "ff02::1", 134, b"\0" * 12)),
        nd_rec(M | FIX, 0, icmp6(ll[0], "ff02::1", 137, nd_target(ga[1]) + a6(ga[2]))),
    ]))
    flood = b"".join(ns(n % 6, "fd00:f::%x" % (0x1000 + n), gll) for n in range(16))
    write(out, "nd", "table-full", b"\x1c\x32" + flood)
    write(out, "nd", "services", hdr + b"".join([
        nd_rec(M | FIX, 0, udp6(ll[0], "ff02::1:2", 546, 547,
                                b"\x0b\0\0\1" + d6opt(1, b"\0\3\0\1" + macs[0]) +
                                d6opt(6, struct.pack("!HH", 23, 24)))),
        nd_rec(FIX, 0, udp6(ga[0], d6, 40000, 53, dns_query("host.vnet.internal", qtype=28))),
        nd_rec(FIX, 0, udp6(ga[0], d6, 40001, 53, dns_query(rev6(g6), qtype=12))),
        nd_rec(FIX, 0, tcp6(ga[0], d6, 40002, 53, 0x02, options=SYN_OPTS)),
    ]))
    write(out, "nd", "fuzzed-mac", hdr + nd_rec(M | FIX, 0, icmp6(ll[0], sol_node(gll), 135,
                                                                   nd_target(gll)), mac=gmac) +
          nd_rec(M | FIX | 7, 0, icmp6(ll[0], sol_node(gll), 135, nd_target(gll))) +
          nd_rec(0x20 | FIX, 0, echo(0, ll[0], gll)[4:]) +
          nd_rec(0x30 | FIX, 0, echo(0, ll[0], gll)[4:]) +
          nd_rec(0x80 | FIX, 7, echo(0, ll[0], gll)[4:]))


def vx_hdr(vni, flags=0x08):
    return bytes([flags, 0, 0, 0]) + struct.pack("!I", vni << 8)


def vx_rec(sel, data=b"", end=False):
    """A fuzz_vxlan record: sel bits 0-1 the VTEP (.2 .3 listed, .4 .5 not),
    bit 2 a guest's frame (bit 3: vm2) instead of a datagram, bits 4-5 a
    clock step, bit 6 a control-plane call, bit 7 ends the batch."""
    return bytes([sel | (0x80 if end else 0)]) + struct.pack("!H", len(data)) + data


def seeds_vxlan(out):
    r1, r2 = bytes.fromhex("525400010001"), bytes.fromhex("525400010002")
    g = "10.0.2.2"
    arp = arp_req(r1, "10.0.2.77", g)
    write(out, "vxlan", "learn-arp", b"\0" + vx_rec(0, vx_hdr(100) + arp, end=True) +
          vx_rec(4, eth(r1, VM1, 0x0800, ip4(a("10.0.2.15"), a("10.0.2.77"), 17, b"x" * 20))))
    write(out, "vxlan", "flood", b"\0" + vx_rec(4, eth(BCAST, VM1, 0x0806, b"\0" * 28)) +
          vx_rec(0x0c, eth(BCAST, VM2, 0x0806, b"\0" * 28)))
    inner = eth(BCAST, r1, 0x0800, b"\0" * 46)
    write(out, "vxlan", "bad", b"\0" + b"".join([
        vx_rec(0, b"\x08\0\0"),
        vx_rec(0, vx_hdr(100, flags=0) + inner),
        vx_rec(0, vx_hdr(300) + inner),
        vx_rec(0, vx_hdr(100) + inner[:13]),
        vx_rec(1, vx_hdr(100) + eth(BCAST, r2, 0x0800, b"\0" * 46, vid=10)),
        vx_rec(2, vx_hdr(100) + inner),
        vx_rec(0, vx_hdr(100) + eth(BCAST, bytes.fromhex("010000000001"), 0x0800, b"\0" * 46)),
        vx_rec(0, vx_hdr(100, flags=0xff) + inner, end=True),
    ]))
    write(out, "vxlan", "move", b"\0" + vx_rec(0, vx_hdr(100) + inner, end=True) +
          vx_rec(1, vx_hdr(100) + inner, end=True) + vx_rec(4, eth(r1, VM1, 0x88b5, b"m" * 46)))
    flood = b"".join(vx_rec(0, vx_hdr(100) + eth(BCAST, bytes([2, 0, 0, 0, 1, n]), 0x88b5,
                                                  b"f" * 46)) for n in range(40))
    few = b"".join(vx_rec(1, vx_hdr(200) + eth(BCAST, bytes([2, 0, 0, 0, 2, n]), 0x88b5,
                                                b"g" * 46)) for n in range(5))
    write(out, "vxlan", "mac-flood-small-table", b"\x04" + flood + few +
          vx_rec(0x0c, eth(bytes([2, 0, 0, 0, 2, 3]), VM2, 0x88b5, b"h" * 46)))
    write(out, "vxlan", "ageing", b"\x08" + vx_rec(0, vx_hdr(100) + inner, end=True) +
          vx_rec(0x24, eth(r1, VM1, 0x88b5, b"a" * 46)) +
          vx_rec(0x34, eth(r1, VM1, 0x88b5, b"b" * 46)))
    write(out, "vxlan", "accept-any", b"\x01" + vx_rec(2, vx_hdr(100) + inner) +
          vx_rec(3, vx_hdr(200) + eth(BCAST, r2, 0x88b5, b"\0" * 46), end=True) +
          vx_rec(0x04, eth(r1, VM1, 0x88b5, b"c" * 46)) + vx_rec(0x30) + vx_rec(0x30))
    write(out, "vxlan", "learning-off", b"\x02" + vx_rec(0, vx_hdr(100) + inner, end=True) +
          vx_rec(4, eth(r1, VM1, 0x88b5, b"d" * 46)))
    write(out, "vxlan", "control", b"\0" + b"".join([
        vx_rec(0x42, b"\x00\x00" + r1),          # static r1 -> .4 (lan)
        vx_rec(4, eth(r1, VM1, 0x88b5, b"e" * 46)),
        vx_rec(0, vx_hdr(100) + inner, end=True),  # r1 from .2: a static conflict
        vx_rec(0x43, b"\x02\x02"),               # .5 floods mgmt
        vx_rec(0x0c, eth(BCAST, VM2, 0x88b5, b"e" * 46)),
        vx_rec(0x40, b"\x03\x00"),               # .2 out of every flood list
        vx_rec(0, vx_hdr(100) + inner, end=True),  # now unlisted
        vx_rec(0x42, b"\x01\x00" + r1),          # static entry removed
    ]))
    write(out, "vxlan", "dhcp", b"\0" + vx_rec(0, vx_hdr(100) + eth(BCAST, r1, 0x0800,
                                                                   dhcp(r1, 1)), end=True))
    batch = b"".join(vx_rec(n & 1, vx_hdr(100 if n % 3 else 200) +
                            eth(BCAST, bytes([2, 0, 0, 3, 0, n]), 0x88b5, b"z" * 46))
                     for n in range(64))
    write(out, "vxlan", "batch", b"\0" + batch)
    # Trains (mode bit 4): TCP segments of one flow back to back, as a peer's
    # UDP_SEGMENT train arrives through UDP_GRO; then one with a damaged
    # segment, one with PSH in the middle, and an IPv6 one.
    ts_opt = b"\x01\x01\x08\x0a" + struct.pack("!II", 1000, 2000)

    def seg4(i, mss=1000, flags=0x10, bad=False, ident0=300):
        data = bytes((i * 31 + j) & 0xFF for j in range(mss))
        t = tcp_hdr(40000, 5201, 7000 + i * mss, 99, flags, ts_opt, data, win=500)
        c = csum(pseudo("10.0.2.77", "10.0.2.15", 6, t) + t) ^ (1 if bad else 0)
        return eth(VM1, r1, 0x0800, ip4(a("10.0.2.77"), a("10.0.2.15"), 6,
                                        t[:16] + struct.pack("!H", c) + t[18:],
                                        ident=ident0 + i, frag=0x4000))

    def seg6(i, mss=1000, flags=0x10):
        s6, d6 = "fd00::77", "fd00::15"
        data = bytes((i * 17 + j) & 0xFF for j in range(mss))
        t = tcp_hdr(40001, 5201, 9000 + i * mss, 99, flags, ts_opt, data, win=500)
        c = csum(pseudo6(s6, d6, 6, t) + t)
        return eth(VM1, r1, 0x86DD, ip6(s6, d6, 6, t[:16] + struct.pack("!H", c) + t[18:]))

    train = b"".join(vx_rec(0, vx_hdr(100) + seg4(i)) for i in range(8))
    write(out, "vxlan", "train", b"\x10" + train + vx_rec(0x80))
    write(out, "vxlan", "train-damaged", b"\x10" + b"".join(
        vx_rec(0, vx_hdr(100) + seg4(i, bad=(i == 3))) for i in range(6)))
    write(out, "vxlan", "train-psh", b"\x10" + b"".join(
        vx_rec(0, vx_hdr(100) + seg4(i, flags=0x18 if i == 2 else 0x10)) for i in range(6)))
    write(out, "vxlan", "train-short", b"\x10" + b"".join(
        vx_rec(0, vx_hdr(100) + seg4(i, mss=1000 if i < 3 else 500)) for i in range(5)))
    write(out, "vxlan", "train6", b"\x10" + b"".join(
        vx_rec(1, vx_hdr(100) + seg6(i)) for i in range(6)))
    write(out, "vxlan", "train-two-vteps", b"\x10" + b"".join(
        vx_rec(i & 1, vx_hdr(100) + seg4(i)) for i in range(6)))


def wg_init(sender=1, reserved=b"\0\0\0"):
    """A WireGuard handshake initiation (148 bytes): patterned fields, no crypto."""
    return b"\x01" + reserved + struct.pack("<I", sender) + bytes(range(32)) + \
        bytes(range(32, 80)) + bytes(range(80, 108)) + b"\x11" * 16 + b"\0" * 16


def wg_resp(sender=2, receiver=1):
    return b"\x02\0\0\0" + struct.pack("<II", sender, receiver) + bytes(range(32)) + \
        b"\x22" * 16 + b"\x33" * 16 + b"\x44" * 16


def wg_cookie(receiver=1):
    return b"\x03\0\0\0" + struct.pack("<I", receiver) + bytes(range(24)) + b"\x55" * 32


def wg_data(receiver=2, counter=0, plain=0):
    """Transport data: header, a padded plaintext of plain bytes (as zeros) and a tag."""
    padded = (plain + 15) // 16 * 16
    return b"\x04\0\0\0" + struct.pack("<IQ", receiver, counter) + b"\0" * padded + b"\x66" * 16


def allowed_rec(op, length, addr, peer=0, v6=False):
    """A record of fuzz_vpn_wire's AllowedIPs mode: op 0 insert, 1 remove, 2 remove peer, 3 lookup."""
    return bytes([op | (4 if v6 else 0) | peer << 3, length]) + \
        (a6(addr) if v6 else a(addr))


def seeds_vpn_wire(out):
    write(out, "vpn_wire", "initiation", wg_init())
    write(out, "vpn_wire", "response", wg_resp())
    write(out, "vpn_wire", "cookie", wg_cookie())
    write(out, "vpn_wire", "keepalive", wg_data(counter=1))
    write(out, "vpn_wire", "data", wg_data(counter=0x0102030405060708, plain=84))
    write(out, "vpn_wire", "short", b"\x01\0\0")
    write(out, "vpn_wire", "unknown-type", b"\x05\0\0\0" + b"\0" * 60)
    write(out, "vpn_wire", "reserved", wg_init(reserved=b"\0\x01\0"))
    write(out, "vpn_wire", "initiation-long", wg_init() + b"\0")
    write(out, "vpn_wire", "response-short", wg_resp()[:-1])
    write(out, "vpn_wire", "cookie-long", wg_cookie() + b"\0" * 16)
    write(out, "vpn_wire", "data-short", wg_data()[:31])
    table = b"A\x07" + b"".join([
        allowed_rec(0, 8, "10.0.0.0", 1), allowed_rec(0, 16, "10.1.0.0", 2),
        allowed_rec(0, 32, "10.1.2.3", 3), allowed_rec(0, 0, "0.0.0.0", 0),
        allowed_rec(3, 32, "10.1.2.4"), allowed_rec(0, 48, "2001:db8:1::", 1, v6=True),
        allowed_rec(0, 128, "2001:db8:1::7", 2, v6=True), allowed_rec(0, 0, "::", 3, v6=True),
        allowed_rec(3, 128, "2001:db8:1::8", v6=True), allowed_rec(0, 16, "10.1.0.0", 3),
        allowed_rec(0, 24, "192.168.1.0", 1), allowed_rec(0, 24, "192.168.2.0", 1),
        allowed_rec(1, 32, "10.1.2.3"), allowed_rec(2, 0, "0.0.0.0", 1),
        allowed_rec(3, 32, "10.9.9.9"), allowed_rec(0, 33, "10.0.0.0", 1),
    ])
    write(out, "vpn_wire", "allowed", table)


# The known-answer messages of tests/unit/vectors/wg_handshake.py (run it to
# make them again): fuzz_vpn_handshake's world has the same keys, so these
# decrypt there.
WG_KAT_INIT = bytes.fromhex(
    "010000004433221164b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466"
    "158a0e4ca242d151ca97ab90159a98b67e616625e68b4065d357376b6598e644ad7d678c0295d22d"
    "e4cb43d5135581ed36346bfa7cf42a12266235863f4efbc62519f49f8f62661b44a6a84392de152f"
    "aa48fb09b8e579485abacbea00000000000000000000000000000000")
WG_KAT_RESP = bytes.fromhex(
    "020000008877665544332211244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebf"
    "e7adad49b1f15013fcf37da7dc800a711e96d4eace5089ddd8479220b0da35a7753c06b000000000"
    "000000000000000000000000")
WG_KAT_COOKIE = bytes.fromhex(
    "0300000044332211c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d888509b73c0f2566d"
    "125c8601f7df23dddaaf2b9d196a0ca217529e9b96e56f4e")


def seeds_vpn_handshake(out):
    write(out, "vpn_handshake", "initiation", WG_KAT_INIT)
    write(out, "vpn_handshake", "response", WG_KAT_RESP)
    write(out, "vpn_handshake", "cookie", WG_KAT_COOKIE)
    # the initiation with a wrong mac1 and with another sender index (still decrypts)
    write(out, "vpn_handshake", "initiation-bad-mac1", WG_KAT_INIT[:116] + b"\0" * 32)
    write(out, "vpn_handshake", "initiation-sender", WG_KAT_INIT[:4] + b"\x01\0\0\0" + WG_KAT_INIT[8:])
    write(out, "vpn_handshake", "response-zero-ephemeral", WG_KAT_RESP[:12] + b"\0" * 32 + WG_KAT_RESP[44:])
    write(out, "vpn_handshake", "data", b"\x04\0\0\0" + b"\0" * 28)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "corpus")
    for fn in (seeds_eth, seeds_ip, seeds_stream, seeds_config, seeds_ctl, seeds_switch,
               seeds_dhcp, seeds_dhcp6, seeds_nd, seeds_dns, seeds_vxlan, seeds_vpn_wire,
               seeds_vpn_handshake):
        fn(out)


if __name__ == "__main__":
    main()
