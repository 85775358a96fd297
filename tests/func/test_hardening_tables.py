"""Hardening (issue 9, "every listener and every table"): each bounded
listener or table is filled by one party, and the daemon stays responsive
and the others keep working. The NAT table, forwards, descriptors and the
lease pool have their own tests (test_hardening_guest.py, test_dhcp.py);
here: the control socket's client slots, DNS-over-TCP connections, DNS
queries in flight, and the gateway's neighbour table.

Every address is inside a namespace the test creates or on loopback; the
DNS upstream is a responder the test runs on 127.0.0.1.
"""
import socket
import struct
import threading
import time

import vnet
from nat_util import (NET, TcpServer, configure_guest, echo_handler, free_port, guest_ip,
                      nat_network, tap)
from vnet import wait_for

DNS = "10.0.2.3"


class SelectiveUpstream:
    """A DNS responder on 127.0.0.1 (UDP and TCP, same port): answers A
    queries for names under good.test with 192.0.2.53 and ignores everything
    else (queries for a slow upstream stay in flight)."""

    def __init__(self):
        self.tsock = socket.create_server(("127.0.0.1", 0))
        self.port = self.tsock.getsockname()[1]
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", self.port))
        self.ignored = 0
        self.answered = 0
        for fn in (self._udp, self._tcp):
            threading.Thread(target=fn, daemon=True).start()

    def answer(self, q):
        name, i = [], 12
        while i < len(q) and q[i]:
            name.append(q[i + 1:i + 1 + q[i]].decode(errors="replace"))
            i += 1 + q[i]
        if not ".".join(name).lower().endswith("good.test"):
            self.ignored += 1
            return None
        self.answered += 1
        hdr = q[:2] + struct.pack("!HHHHH", 0x8180, 1, 1, 0, 0)
        ans = struct.pack("!HHHIH", 0xc00c, 1, 1, 10, 4) + socket.inet_aton("192.0.2.53")
        return hdr + q[12:i + 5] + ans

    def _udp(self):
        while True:
            try:
                q, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            r = self.answer(q)
            if r:
                self.sock.sendto(r, peer)

    def _tcp(self):
        while True:
            try:
                c, _ = self.tsock.accept()
            except OSError:
                return
            with c:
                c.settimeout(5)
                try:
                    n = struct.unpack("!H", c.recv(2))[0]
                    q = b""
                    while len(q) < n:
                        q += c.recv(n - len(q))
                    r = self.answer(q)
                    if r:
                        c.sendall(struct.pack("!H", len(r)) + r)
                except (OSError, struct.error):
                    pass

    def close(self):
        self.sock.close()
        self.tsock.close()


def dig(ns, name, tcp=False):
    args = ["dig", f"@{DNS}", "+short", "+time=2", "+tries=1", name] + (["+tcp"] if tcp else [])
    return ns.exec(*args, check=False).stdout.split()


def dns_setup(netns, vnetd, upstream_port, n=2):
    guests = [netns() for _ in range(n)]
    net = nat_network(dns={"upstream": [f"127.0.0.1:{upstream_port}"]})
    d = vnetd({"networks": [net],
               "ports": [tap(f"g{i}", ns, mac=f"02:00:00:9d:00:{i + 1:02x}")
                         for i, ns in enumerate(guests)]})
    for i, ns in enumerate(guests):
        configure_guest(ns, guest_ip(i))
    return d, guests


def test_control_client_slots_cannot_be_held(vnetd, netns):
    """40 connections held open without a request (more than the 32 client
    slots): before, every later vnetctl was turned away; now a waiting
    client makes room."""
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}], "ports": []})
    held = []
    try:
        for _ in range(40):
            s = socket.socket(socket.AF_UNIX)
            s.connect(d.control)
            held.append(s)
        time.sleep(0.3)
        for _ in range(3):
            assert d.ctl("status")["networks"] == 1
    finally:
        for s in held:
            s.close()
    d.assert_alive()


def test_dns_tcp_connections_cannot_be_held(netns, vnetd):
    """A guest opens 40 idle TCP connections to the DNS service (more than
    its 32): another guest's DNS over TCP is still answered."""
    up = SelectiveUpstream()
    try:
        d, (a, b) = dns_setup(netns, vnetd, up.port)
        def hold():
            out = []
            for _ in range(40):
                s = socket.create_connection((DNS, 53), timeout=5)
                out.append(s)
            return out
        held = a.in_ns(hold)
        try:
            time.sleep(0.5)
            assert dig(b, "x.good.test", tcp=True) == ["192.0.2.53"]
            st = d.network(NET)["gateway"]["dns"]
            assert st["tcp_evicted"] >= 1, st
        finally:
            for s in held:
                s.close()
    finally:
        up.close()


def test_dns_queries_in_flight_are_shared(netns, vnetd):
    """A guest floods 1,200 queries an upstream never answers (more than the
    1,024 in flight): before, the other guest's queries were dropped; now one
    guest holds at most its share (256) and the other is answered."""
    up = SelectiveUpstream()
    try:
        d, (a, b) = dns_setup(netns, vnetd, up.port)
        # One answered query first, so the guest has resolved the DNS
        # address's MAC: a burst into an unresolved neighbour loses all but
        # the few datagrams the kernel queues meanwhile.
        dig(a, "x.good.test")

        def flood():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(1200):
                q = struct.pack("!HHHHHH", i, 0x0100, 1, 0, 0, 0)
                for part in (f"q{i}", "slow", "test"):
                    q += bytes([len(part)]) + part.encode()
                q += b"\0" + struct.pack("!HH", 1, 1)
                s.sendto(q, (DNS, 53))
            s.close()
        a.in_ns(flood)
        wait_for(lambda: up.ignored >= 256, 5, what="the flood reaching the upstream")
        assert dig(b, "y.good.test") == ["192.0.2.53"]
        st = d.network(NET)["gateway"]["dns"]
        assert st["dropped_guest_share"] > 0, st
    finally:
        up.close()


def test_neighbour_table_full_of_invented_addresses(netns, vnetd):
    """A guest sends from 1,500 invented addresses of a /16 (more than the
    1,024 neighbour entries): before, the table stayed full and a guest that
    came later was never learned (a forward to it never connected); now the
    oldest entries make room."""
    a, b = netns(), netns()
    net = nat_network(subnet="10.8.0.0/16", gateway="10.8.0.2")
    net["dns"] = {"enabled": False}
    fport = free_port()
    net["forwards"] = [{"proto": "tcp", "host": f"127.0.0.1:{fport}", "guest": "10.8.200.9:7300"}]
    d = vnetd({"networks": [net], "ports": [tap("a", a, mac="02:00:00:9e:00:01"),
                                            tap("b", b, mac="02:00:00:9e:00:02")]})
    a.wait_link()
    a.addr("10.8.0.15/16")
    a.ip("link", "set", "eth0", "up")
    gw_mac = d.network(NET)["gateway"]["mac"]
    s = a.packet_socket()
    try:
        for i in range(1500):
            src = f"10.8.{1 + i // 250}.{1 + i % 250}"
            icmp = struct.pack("!BBHHH", 8, 0, 0, 1, i)
            c = sum(struct.unpack("!4H", icmp))
            c = ~((c & 0xffff) + (c >> 16)) & 0xffff
            icmp = icmp[:2] + struct.pack("!H", c) + icmp[4:]
            iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 0, 0, 64, 1, 0,
                              socket.inet_aton(src), socket.inet_aton("10.8.0.2"))
            h = sum(struct.unpack("!10H", iph))
            h = ~((h & 0xffff) + (h >> 16)) & 0xffff
            iph = iph[:10] + struct.pack("!H", h) + iph[12:]
            s.send(vnet.eth_frame(gw_mac, a.mac(), 0x0800, iph + icmp))
            if i % 100 == 99:
                time.sleep(0.02)
    finally:
        s.close()
    wait_for(lambda: d.network(NET)["gateway"]["neighbours"] >= 1024, 10,
             what="neighbour table full")
    # A guest arriving now is learned and reached through the forward.
    b.wait_link()
    b.addr("10.8.200.9/16")
    b.ip("link", "set", "eth0", "up")
    srv = TcpServer(echo_handler, sock=b.in_ns(lambda: socket.create_server(("0.0.0.0", 7300))))
    try:
        with socket.create_connection(("127.0.0.1", fport), timeout=10) as c:
            c.settimeout(10)
            c.sendall(b"late guest")
            assert c.recv(100) == b"late guest"
    finally:
        srv.close()
    assert d.network(NET)["gateway"]["stats"]["neighbours_full"] > 0
    d.assert_alive()
