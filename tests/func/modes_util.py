"""Helpers shared by test_modes.py and test_observability.py.

    vnetd_in(ns, conf)   fixture factory: a vnetd running *inside* a namespace the
                         test created (`ip netns exec NS vnetd ...`, same PID), so
                         what vnetd puts "on the host" (the host-only tap, the
                         bridge uplink, NAT's host sockets) lives in that namespace
                         and never touches the machine's real network. Stopped and
                         checked at teardown like the conftest `vnetd` fixture.
    tap(...)             a tap port description for a config dict
    veth(a, an, b, bn)   a veth pair between two namespaces
    ping_stats, quiet_counters   re-exported from vnet
    free_tcp_port()      a loopback TCP port nobody listens on right now
    read_pcap(path)      frames of a pcap file as read by tshark (dicts of fields)
    VlanPeer             a tagged host on a raw socket: answers ARP and ping on one VLAN
    udhcpc_script(dir)   a busybox udhcpc hook applying the lease inside a namespace
    tcp_connects(...)    can a TCP connection be made from inside a namespace?
"""
import os
import socket
import struct
import threading

import pytest

import vnet
from vnet import ping_stats, quiet_counters, run, wait_for  # noqa: F401 (re-exported)


def tap(name, ns, network=None, mac=None, **kw):
    p = {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0"}
    if network:
        p["network"] = network
    if mac:
        p["mac"] = mac
    p.update(kw)
    return p


def veth(a, a_if, b, b_if):
    """A veth pair a:a_if <-> b:b_if, both up, IPv6 off on both ends."""
    run(["ip", "link", "add", a_if, "netns", a.name, "type", "veth", "peer", "name", b_if,
         "netns", b.name])
    for ns, ifn in ((a, a_if), (b, b_if)):
        ns.exec("sysctl", "-q", "-w", f"net.ipv6.conf.{ifn}.disable_ipv6=1")
        ns.ip("link", "set", ifn, "up")


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def tcp_connects(ns, ip, port, timeout=3.0):
    """True if a TCP connection from inside ns to ip:port is accepted."""
    def attempt():
        s = socket.socket()
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            return True
        except OSError:
            return False
        finally:
            s.close()
    return ns.in_ns(attempt)


def http_get(ns, url, timeout=5, check=False):
    """curl inside ns; returns the CompletedProcess (stdout = body)."""
    return ns.exec("curl", "-sS", "--noproxy", "*", "--max-time", str(timeout), url,
                   timeout=timeout + 10, check=check)


def start_httpd(ns, bind, docroot, text):
    """busybox httpd in the foreground inside ns serving docroot/index.html = text."""
    os.makedirs(docroot, exist_ok=True)
    with open(os.path.join(docroot, "index.html"), "w") as f:
        f.write(text)
    p = ns.start("busybox", "httpd", "-f", "-p", bind, "-h", docroot)
    port = int(bind.rsplit(":", 1)[-1])
    wait_for(lambda: ns.listening(port), 10, what=f"httpd on {bind} in {ns.name}")
    return p


def NsVnetd(workdir, conf, ns, **kw):
    """A vnetd started in network namespace ns (ip netns exec execs it: same PID)."""
    return vnet.Vnetd(workdir, conf, prefix=["ip", "netns", "exec", ns.name], **kw)


@pytest.fixture
def vnetd_in(request, tmp_path, vnetd):
    """Factory vnetd_in(ns, conf, name=..., args=...) -> started NsVnetd. It joins
    the conftest `vnetd` fixture's list, so the same teardown (SIGTERM, exit 0,
    sockets gone, no sanitizer report) and failure log attachment apply."""
    daemons = request.node._vnet_daemons

    def factory(ns, conf, name="vnetd", args=(), start=True):
        d = NsVnetd(tmp_path, conf, ns, name=name, args=args)
        daemons.append(d)
        if start:
            d.start()
        return d

    return factory


# ---------------------------------------------------------------- pcap via tshark

TSHARK_FIELDS = ("frame.len", "frame.cap_len", "eth.src", "eth.dst", "vlan.id", "ip.src",
                 "ip.dst", "icmp.type", "arp.opcode")


def read_pcap(path, fields=TSHARK_FIELDS, timeout=60):
    """Every frame of a pcap file as a dict of tshark fields ('' when absent).
    tshark reading the file without complaint is the check that it is a pcap."""
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    cp = run(cmd, timeout=timeout)
    frames = []
    for line in cp.stdout.splitlines():
        vals = line.split("|")
        frames.append(dict(zip(fields, vals + [""] * (len(fields) - len(vals)))))
    return frames


# ---------------------------------------------------------------- DHCP client

UDHCPC_HOOK = """#!/bin/sh
# busybox udhcpc hook for a test namespace: apply the lease, record it.
case "$1" in
    deconfig) ip -4 addr flush dev "$interface"; ip link set dev "$interface" up ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
        [ -n "$router" ] && ip route replace default via "${router%% *}" dev "$interface"
        echo "ip=$ip mask=${mask:-?} router=${router%% *} dns=$(echo $dns | tr ' ' ,) mtu=${mtu:-} server=${serverid:-}" > "$LEASE_DIR/lease.$interface"
        ;;
esac
exit 0
"""


def udhcpc(ns, tmp_path, ifname="eth0", tries=6, check=True):
    """Run busybox udhcpc once in ns (-n -q: give up or quit after the lease);
    returns the lease as a dict (ip, mask, router, dns, mtu, server) or None."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    hook = tmp_path / "udhcpc-hook.sh"
    if not hook.exists():
        hook.write_text(UDHCPC_HOOK.replace("$LEASE_DIR", str(tmp_path)))
        hook.chmod(0o755)
    lease = tmp_path / f"lease.{ifname}"
    if lease.exists():
        lease.unlink()
    cp = ns.exec("busybox", "udhcpc", "-i", ifname, "-n", "-q", "-f", "-t", str(tries), "-T", "1",
                 "-A", "1", "-s", str(hook), timeout=tries * 4 + 20, check=False)
    if not lease.exists():
        if check:
            raise AssertionError(f"udhcpc got no lease in {ns.name}: {cp.stdout} {cp.stderr}")
        return None
    return dict(kv.split("=", 1) for kv in lease.read_text().split())


# ---------------------------------------------------------------- a tagged peer

SOL_PACKET, PACKET_AUXDATA = 263, 8
TP_STATUS_VLAN_VALID = 0x10
PACKET_OUTGOING = 4


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def recv_tagged(sock, bufsize=65535):
    """(vlan or None, frame without tag, pkttype) from an AF_PACKET socket with
    PACKET_AUXDATA on: the kernel moves received 802.1Q tags into auxdata."""
    data, anc, _flags, addr = sock.recvmsg(bufsize, socket.CMSG_SPACE(64))
    vlan = None
    for lvl, typ, cdata in anc:
        if lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(cdata) >= 20:
            status, _l, _s, _m, _n, tci, _tpid = struct.unpack("IIIHHHH", cdata[:20])
            if status & TP_STATUS_VLAN_VALID:
                vlan = tci & 0xfff
    if vlan is None and len(data) >= 18 and data[12:14] == b"\x81\x00":
        vlan = struct.unpack("!H", data[14:16])[0] & 0xfff
        data = data[:12] + data[16:]
    return vlan, data, addr[2]


class VlanPeer:
    """A host on VLAN `vlan` of ifname in ns, made of a raw socket: answers ARP
    requests for `ip` and ICMP echo requests to it, with 802.1Q-tagged frames.
    Records (vlan, src mac, ethertype) of every frame it receives."""

    def __init__(self, ns, ifname, vlan, ip, mac):
        self.vlan, self.ip, self.mac = vlan, socket.inet_aton(ip), vnet.mac_bytes(mac)
        self.sock = ns.packet_socket(ifname)
        self.sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
        self.sock.settimeout(0.2)
        self.seen = []
        self.answered = {"arp": 0, "icmp": 0}
        self._stop = False
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()

    def _send(self, dst, ethertype, payload):
        tag = struct.pack("!HH", 0x8100, self.vlan)
        f = dst + self.mac + tag + struct.pack("!H", ethertype) + payload
        self.sock.send(f + b"\0" * max(0, 64 - len(f)))

    def _loop(self):
        while not self._stop:
            try:
                vlan, f, pkttype = recv_tagged(self.sock)
            except socket.timeout:
                continue
            except OSError:
                return
            if pkttype == PACKET_OUTGOING or len(f) < 14:
                continue
            et = struct.unpack("!H", f[12:14])[0]
            self.seen.append((vlan, vnet.mac_str(f[6:12]), et))
            if vlan != self.vlan:
                continue
            if et == 0x0806 and len(f) >= 42:
                op, sha, spa, _tha, tpa = struct.unpack("!6xH6s4s6s4s", f[14:42])
                if op == 1 and tpa == self.ip:
                    arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, self.mac, self.ip,
                                      sha, spa)
                    self._send(sha, 0x0806, arp)
                    self.answered["arp"] += 1
            elif et == 0x0800 and len(f) >= 34:
                ihl = (f[14] & 0x0f) * 4
                ip = f[14:14 + struct.unpack("!H", f[16:18])[0]]
                if ihl != 20 or ip[9] != 1 or ip[16:20] != self.ip or ip[ihl] != 8:
                    continue
                icmp = bytearray(ip[ihl:])
                icmp[0] = 0
                icmp[2:4] = b"\0\0"
                icmp[2:4] = struct.pack("!H", _csum(bytes(icmp)))
                hdr = bytearray(ip[:20])
                hdr[8] = 64
                hdr[12:16], hdr[16:20] = ip[16:20], ip[12:16]
                hdr[10:12] = b"\0\0"
                hdr[10:12] = struct.pack("!H", _csum(bytes(hdr)))
                self._send(f[6:12], 0x0800, bytes(hdr) + bytes(icmp))
                self.answered["icmp"] += 1

    def stop(self):
        self._stop = True
        self._t.join(5)
        self.sock.close()
