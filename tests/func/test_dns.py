"""Functional tests of the gateway's DNS forwarder (src/gw/dns.c).

A guest is a network namespace with a tap port on a `mode: nat` network, the
static address 10.0.2.15/24 via 10.0.2.2, and /etc/netns/NS/resolv.conf
pointing at the DNS address 10.0.2.3 (removed at the end). Upstream resolvers
run on the host's 127.0.0.1 only: a dnsmasq started by the test, or a scripted
fake resolver in a thread of the test (to check id/question matching,
randomized ids and ports, truncation and timeouts). Nothing else is contacted.
"""
import os
import random
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from vnet import wait_for

GW = "10.0.2.2"
DNS = "10.0.2.3"
GUEST = "10.0.2.15"
NET = "lan"
STATIC_MAC = "02:00:00:0d:00:99"
STATIC_IP = "10.0.2.60"
BIG_TXT = ["%03d" % i + "x" * 197 for i in range(6)]  # ~1.2 kB of TXT data

pytestmark = pytest.mark.skipif(not os.path.exists("/usr/bin/dig"),
                                reason="dig (package dnsutils) is missing")


# ------------------------------------------------------------------ DNS messages

def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(name, qtype=1, qid=0x1234, edns=None, flags=0x0100):
    ar = 1 if edns else 0
    m = struct.pack("!6H", qid, flags, 1, 0, 0, ar) + encode_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        m += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return m


def read_name(m, off):
    labels, jumped, end = [], False, None
    for _ in range(128):
        n = m[off]
        if n & 0xC0 == 0xC0:
            if not jumped:
                end = off + 2
            jumped = True
            off = (n & 0x3F) << 8 | m[off + 1]
            continue
        if n == 0:
            return ".".join(labels), (end if jumped else off + 1)
        labels.append(m[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    raise ValueError("name loop")


def parse_msg(m):
    """{id, flags, rcode, tc, qd, an, ns, ar, qname, qtype, answers: [(type, rdata)]}"""
    qid, flags, qd, an, ns, ar = struct.unpack("!6H", m[:12])
    r = {"id": qid, "flags": flags, "rcode": flags & 0xF, "tc": bool(flags & 0x200),
         "qr": bool(flags & 0x8000), "aa": bool(flags & 0x400),
         "qd": qd, "an": an, "ns": ns, "ar": ar, "answers": [], "qname": None}
    off = 12
    if qd:
        r["qname"], off = read_name(m, off)
        r["qtype"] = struct.unpack("!H", m[off:off + 2])[0]
        off += 4
    for _ in range(an):
        _, off = read_name(m, off)
        t, _c, _ttl, rdlen = struct.unpack("!HHIH", m[off:off + 10])
        off += 10
        r["answers"].append((t, m[off:off + rdlen]))
        off += rdlen
    return r


def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise ConnectionError("closed")
        b += d
    return b


def udp_ask(ns, msg, timeout=5.0, tries=3):
    """Send msg from the guest to DNS:53 over UDP; returns the raw reply."""
    def body():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout / tries)
            for _ in range(tries):
                s.sendto(msg, (DNS, 53))
                try:
                    while True:
                        d, _ = s.recvfrom(65535)
                        if d[:2] == msg[:2]:
                            return d
                except socket.timeout:
                    continue
            raise TimeoutError("no DNS answer over UDP")
    return ns.in_ns(body)


def udp_send_only(ns, payloads):
    def body():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            for p in payloads:
                s.sendto(p, (DNS, 53))
                time.sleep(0.002)
    ns.in_ns(body)


def tcp_ask(ns, msgs, timeout=10.0):
    """Send length-prefixed msgs on one TCP connection to DNS:53 (pipelined);
    returns the raw replies (in arrival order)."""
    def body():
        with socket.create_connection((DNS, 53), timeout=timeout) as s:
            s.sendall(b"".join(struct.pack("!H", len(m)) + m for m in msgs))
            out = []
            for _ in msgs:
                n = struct.unpack("!H", recv_exact(s, 2))[0]
                out.append(recv_exact(s, n))
            return out
    return ns.in_ns(body)


def dig(ns, *args, timeout=40):
    cp = ns.exec("dig", "+tries=2", "+timeout=4", *args, timeout=timeout, check=False)
    out = cp.stdout
    m = re.search(r"status: (\w+)", out)
    flags = re.search(r";; flags: ([a-z ]*);", out)
    answers = []
    sect = re.search(r";; ANSWER SECTION:\n(.*?)(\n\n|\Z)", out, re.S)
    if sect:
        for line in sect.group(1).splitlines():
            parts = line.split(None, 4)
            if len(parts) == 5:
                answers.append((parts[3], parts[4]))
    return {"status": m.group(1) if m else None, "flags": flags.group(1).split() if flags else [],
            "answers": answers, "out": out, "rc": cp.returncode}


# ------------------------------------------------------------------ set-up

def free_port_both():
    """A port free on 127.0.0.1 for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port")


def host_udp_ask(port, msg, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("127.0.0.1", port))
        return s.recvfrom(65535)[0]


def start_dnsmasq(procs, tmp_path):
    port = free_port_both()
    log = open(tmp_path / "dnsmasq.log", "w")
    txt = ",".join('"%s"' % t for t in BIG_TXT)
    p = procs.start(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--log-queries",
                     "--listen-address=127.0.0.1", f"--port={port}", "--bind-interfaces",
                     "--user=root", "--pid-file=", "--conf-file=/dev/null", "--log-facility=-",
                     "--address=/example.test/192.0.2.10", "--local=/other.test/",
                     "--host-record=both.other.test,192.0.2.11,2001:db8::11",
                     f"--txt-record=big.other.test,{txt}"],
                    stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_for(lambda: parse_msg(host_udp_ask(port, build_query("a.example.test")))["an"] == 1,
             10, interval=0.1, what="dnsmasq answering")
    return p, port


@pytest.fixture
def resolv_conf():
    made = []

    def make(ns):
        d = f"/etc/netns/{ns.name}"
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/resolv.conf", "w") as f:
            f.write(f"nameserver {DNS}\noptions timeout:3 attempts:2\n")
        made.append(d)

    yield make
    for d in made:
        try:
            os.unlink(f"{d}/resolv.conf")
            os.rmdir(d)
        except OSError:
            pass


def dns_guest(netns, vnetd, resolv_conf, upstreams, dhcp_hosts=(), dhcp=True, cache=0):
    """A guest on a nat network whose DNS forwards to upstreams; the cache is
    off by default (these tests watch every query reach the upstream)."""
    ns = netns()
    net = {"name": NET, "mode": "nat", "dns": {"upstream": list(upstreams), "cache": cache}}
    if dhcp_hosts:
        net["dhcp"] = {"hosts": list(dhcp_hosts)}
    if not dhcp:
        net["dhcp"] = {"enabled": False}
    d = vnetd({"networks": [net],
               "ports": [{"name": "g0", "type": "tap", "netns": ns.path, "ifname": "eth0",
                          "network": NET, "mac": "02:00:00:0d:00:01"}]})
    ns.wait_link()
    ns.addr(f"{GUEST}/24")
    ns.ip("link", "set", "eth0", "up")
    ns.ip("route", "add", "default", "via", GW)
    ns.ping_until(GW, timeout=15)
    resolv_conf(ns)
    return d, ns


def dns_stats(d):
    nets = d.ctl("stats")["networks"]
    net = [n for n in nets if n["name"] == NET][0]
    return net["gateway"]["dns"]


# ------------------------------------------------------------------ fake upstream

class FakeUpstream:
    """A scripted resolver on 127.0.0.1 (UDP and TCP, same port), in threads.

    a.fake.test A    -> 192.0.2.20
    big.fake.test    -> over UDP first a reply with a wrong id, then one with a
                        wrong question, then the full ~1.2 kB TXT answer (size
                        limits ignored); over TCP the full answer
    silent.fake.test -> never answered
    Every query is recorded as (proto, src_port, id, qname)."""

    def __init__(self, family=socket.AF_INET):
        addr = "127.0.0.1" if family == socket.AF_INET else "::1"
        for _ in range(20):  # one port free for both UDP and TCP
            self.u = socket.socket(family, socket.SOCK_DGRAM)
            self.u.bind((addr, 0))
            self.port = self.u.getsockname()[1]
            self.t = socket.socket(family, socket.SOCK_STREAM)
            try:
                self.t.bind((addr, self.port))
                break
            except OSError:
                self.u.close()
                self.t.close()
        self.addr = f"{addr}:{self.port}" if family == socket.AF_INET else f"[::1]:{self.port}"
        self.seen = []
        self.stop = False
        self.u.settimeout(0.2)
        self.t.listen(8)
        self.t.settimeout(0.2)
        self.threads = [threading.Thread(target=self._udp, daemon=True),
                        threading.Thread(target=self._tcp, daemon=True)]
        for th in self.threads:
            th.start()

    @staticmethod
    def reply(q, qid=None, qname=None, an=b"", ancount=0):
        p = parse_msg(q)
        name = qname or p["qname"]
        qtype = p["qtype"]
        return (struct.pack("!6H", p["id"] if qid is None else qid, 0x8180, 1, ancount, 0, 0) +
                encode_name(name) + struct.pack("!HH", qtype, 1) + an)

    def big_answer(self, q):
        rdata = b"".join(bytes([len(t)]) + t.encode() for t in BIG_TXT)
        rr = b"\xc0\x0c" + struct.pack("!HHIH", 16, 1, 60, len(rdata)) + rdata
        return self.reply(q, an=rr, ancount=1)

    def answers(self, q, proto):
        p = parse_msg(q)
        name = p["qname"].lower()
        if name == "a.fake.test":
            rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.20")
            return [self.reply(q, an=rr, ancount=1)]
        if name == "big.fake.test":
            if proto == "tcp":
                return [self.big_answer(q)]
            return [self.reply(q, qid=p["id"] ^ 0x5555), self.reply(q, qname="evil.fake.test"),
                    self.big_answer(q)]
        if name == "silent.fake.test":
            return []
        return [self.reply(q)[:3] + b"\x83" + self.reply(q)[4:]]  # NXDOMAIN

    def _udp(self):
        while not self.stop:
            try:
                q, a = self.u.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                p = parse_msg(q)
            except Exception:
                continue
            self.seen.append(("udp", a[1], p["id"], p["qname"]))
            for r in self.answers(q, "udp"):
                self.u.sendto(r, a)

    def _tcp(self):
        while not self.stop:
            try:
                c, a = self.t.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with c:
                c.settimeout(3)
                try:
                    while True:
                        n = struct.unpack("!H", recv_exact(c, 2))[0]
                        q = recv_exact(c, n)
                        p = parse_msg(q)
                        self.seen.append(("tcp", a[1], p["id"], p["qname"]))
                        for r in self.answers(q, "tcp"):
                            c.sendall(struct.pack("!H", len(r)) + r)
                except (ConnectionError, OSError, socket.timeout):
                    pass

    def close(self):
        self.stop = True
        for th in self.threads:
            th.join(5)
        self.u.close()
        self.t.close()


@pytest.fixture
def fake_upstream():
    f = FakeUpstream()
    yield f
    f.close()


# ------------------------------------------------------------------ tests

def test_forward_to_dnsmasq_and_local_names(netns, vnetd, procs, tmp_path, resolv_conf):
    _, port = start_dnsmasq(procs, tmp_path)
    d, ns = dns_guest(netns, vnetd, resolv_conf, [f"127.0.0.1:{port}"],
                      dhcp_hosts=[{"mac": STATIC_MAC, "ip": STATIC_IP, "name": "db"}])

    # A through the forwarder (dig uses the namespace's resolv.conf: 10.0.2.3).
    r = dig(ns, "www.example.test", "A")
    assert r["status"] == "NOERROR" and ("A", "192.0.2.10") in r["answers"], r["out"]
    assert "SERVER: 10.0.2.3#53" in r["out"], r["out"]
    # AAAA pass-through.
    r = dig(ns, "both.other.test", "AAAA")
    assert r["status"] == "NOERROR" and ("AAAA", "2001:db8::11") in r["answers"], r["out"]
    # NXDOMAIN from upstream.
    r = dig(ns, "nosuch.other.test", "A")
    assert r["status"] == "NXDOMAIN", r["out"]
    # Over TCP (the NAT splices DNS:53/tcp onto the forwarder's listener).
    r = dig(ns, "+tcp", "tcp.example.test", "A")
    assert r["status"] == "NOERROR" and ("A", "192.0.2.10") in r["answers"], r["out"]
    # A large answer: over UDP without EDNS the guest gets TC=1 ...
    r = dig(ns, "+noedns", "+ignore", "big.other.test", "TXT")
    assert "tc" in r["flags"] and not r["answers"], r["out"]
    # ... and dig then retries over TCP and gets all of it.
    r = dig(ns, "+noedns", "big.other.test", "TXT")
    assert "Truncated, retrying in TCP mode" in r["out"], r["out"]
    assert r["status"] == "NOERROR" and len(r["answers"]) == 1, r["out"]
    for t in BIG_TXT:
        assert t in r["answers"][0][1], r["out"]

    # Local names: host.DOMAIN is the gateway, static hosts by name, both PTRs.
    r = dig(ns, "host.vnet.internal", "A")
    assert r["status"] == "NOERROR" and r["answers"] == [("A", GW)], r["out"]
    assert "aa" in r["flags"], r["out"]
    r = dig(ns, "HOST.Vnet.Internal", "A")  # case-insensitive
    assert r["answers"] == [("A", GW)], r["out"]
    r = dig(ns, "db.vnet.internal", "A")
    assert r["status"] == "NOERROR" and r["answers"] == [("A", STATIC_IP)], r["out"]
    r = dig(ns, "+tcp", "db.vnet.internal", "A")
    assert r["answers"] == [("A", STATIC_IP)], r["out"]
    r = dig(ns, "-x", GW)
    assert r["answers"] == [("PTR", "host.vnet.internal.")], r["out"]
    r = dig(ns, "-x", STATIC_IP)
    assert r["answers"] == [("PTR", "db.vnet.internal.")], r["out"]
    # Other types of a local name: NODATA (AAAA is gateway6: test_dns6.py);
    # unknown local names: NXDOMAIN, not forwarded.
    r = dig(ns, "host.vnet.internal", "MX")
    assert r["status"] == "NOERROR" and not r["answers"], r["out"]
    r = dig(ns, "nosuch.vnet.internal", "A")
    assert r["status"] == "NXDOMAIN" and "aa" in r["flags"], r["out"]
    r = dig(ns, "-x", "10.0.2.77")
    assert r["status"] == "NXDOMAIN", r["out"]
    # The libc resolver in the guest (busybox nslookup reads resolv.conf).
    cp = ns.exec("busybox", "nslookup", "host.vnet.internal", timeout=30, check=False)
    assert GW in cp.stdout, cp.stdout + cp.stderr

    # A DHCP client's host name resolves too (udhcpc sends option 12).
    cp = ns.exec("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "5", "-T", "2",
                 "-x", "hostname:webguest", "-s", "/bin/true", timeout=40, check=False)
    leases = [l for l in d.ctl("leases") if l.get("hostname") == "webguest"]
    assert leases, f"no lease for webguest: {d.ctl('leases')} {cp.stdout} {cp.stderr}"
    r = dig(ns, "webguest.vnet.internal", "A")
    assert r["answers"] == [("A", leases[0]["ip"])], r["out"]

    # Nothing under vnet.internal reached dnsmasq.
    log = (tmp_path / "dnsmasq.log").read_text()
    assert "vnet.internal" not in log, log
    assert "query[A] www.example.test from 127.0.0.1" in log, log

    s = dns_stats(d)
    assert s["queries_udp"] >= 10 and s["queries_tcp"] >= 3, s
    assert s["forwarded"] >= 5 and s["answers"] >= 5 and s["local_answers"] >= 8, s
    assert s["nxdomain"] >= 3 and s["malformed"] == 0 and s["servfail"] == 0, s
    assert s["upstreams"] == [f"127.0.0.1:{port}"], s
    d.assert_alive()


def test_matching_randomization_and_truncation(netns, vnetd, resolv_conf, fake_upstream):
    f = fake_upstream
    d, ns = dns_guest(netns, vnetd, resolv_conf, [f"127.0.0.1:{f.port}"], dhcp=False)

    # Same guest id and source port five times: fresh ids and ports upstream,
    # and each answer carries the guest's id.
    for _ in range(5):
        r = parse_msg(udp_ask(ns, build_query("a.fake.test", qid=0x1234)))
        assert r["id"] == 0x1234 and r["rcode"] == 0 and r["an"] == 1, r
        assert r["answers"][0] == (1, socket.inet_aton("192.0.2.20")), r
    seen = [s for s in f.seen if s[3] == "a.fake.test"]
    assert len(seen) >= 5, f.seen
    assert len({s[1] for s in seen}) >= 4, f"source ports not randomized: {seen}"
    assert len({s[2] for s in seen}) >= 4, f"ids not randomized: {seen}"

    # The upstream sends a reply with a wrong id and one with a wrong question
    # before the real one: both are ignored; the real one (1.2 kB) is more than
    # the guest's 512 bytes: TC=1, question only.
    r = parse_msg(udp_ask(ns, build_query("big.fake.test", qtype=16, qid=0x4242)))
    assert r["id"] == 0x4242 and r["tc"] and r["an"] == 0 and r["qname"] == "big.fake.test", r
    # With EDNS0 4096 it fits: all of it over UDP.
    raw = udp_ask(ns, build_query("big.fake.test", qtype=16, qid=0x4343, edns=4096))
    r = parse_msg(raw)
    assert r["id"] == 0x4343 and not r["tc"] and r["an"] == 1 and len(raw) > 1200, r
    # Over TCP, pipelined with a local and a forwarded query.
    replies = [parse_msg(m) for m in tcp_ask(ns, [
        build_query("big.fake.test", qtype=16, qid=1), build_query("host.vnet.internal", qid=2),
        build_query("a.fake.test", qid=3)])]
    by_id = {r["id"]: r for r in replies}
    assert set(by_id) == {1, 2, 3}, replies
    assert by_id[1]["an"] == 1 and not by_id[1]["tc"], by_id[1]
    assert by_id[2]["answers"] == [(1, socket.inet_aton(GW))], by_id[2]
    assert by_id[3]["answers"] == [(1, socket.inet_aton("192.0.2.20"))], by_id[3]
    # dig: TC over UDP, then the same answer over TCP.
    r = dig(ns, "+noedns", "big.fake.test", "TXT")
    assert "Truncated, retrying in TCP mode" in r["out"] and len(r["answers"]) == 1, r["out"]

    s = dns_stats(d)
    assert s["upstream_bad"] >= 2 * 3, s   # wrong id + wrong question per UDP big query
    assert s["truncated"] >= 2 and s["queries_tcp"] >= 3, s
    assert any(p == "tcp" for p, *_ in f.seen), f.seen
    d.assert_alive()


def test_upstream_timeout_and_refused(netns, vnetd, resolv_conf, fake_upstream):
    f = fake_upstream
    closed = free_port_both()  # nothing listens there: ICMP port unreachable
    d, ns = dns_guest(netns, vnetd, resolv_conf, [f"127.0.0.1:{f.port}"], dhcp=False)

    # The only upstream never answers: SERVFAIL after the per-upstream timeout,
    # long before the guest gives up.
    r = parse_msg(udp_ask(ns, build_query("silent.fake.test", qid=0x777), timeout=15, tries=1))
    assert r["id"] == 0x777 and r["rcode"] == 2, r
    r = dig(ns, "+tcp", "silent.fake.test", "A")
    assert r["status"] == "SERVFAIL", r["out"]
    s = dns_stats(d)
    assert s["timeouts"] >= 2 and s["servfail"] >= 2, s
    # Still answering.
    r = parse_msg(udp_ask(ns, build_query("a.fake.test")))
    assert r["an"] == 1, r

    # A burst of 300 unanswered queries from one guest: at most its share
    # (256 of the 1024) in flight, the rest is dropped and counted; every one
    # in flight ends in SERVFAIL.
    before = dns_stats(d)

    def burst():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sk:
            sk.settimeout(0.5)
            for i in range(300):
                sk.sendto(build_query("silent.fake.test", qid=i), (DNS, 53))
            got, deadline = set(), time.monotonic() + 20
            while time.monotonic() < deadline and len(got) < 256:
                try:
                    m = parse_msg(sk.recv(4096))
                except socket.timeout:
                    continue
                if m["rcode"] == 2:
                    got.add(m["id"])
            return got
    got = ns.in_ns(burst)
    s = dns_stats(d)
    dropped = (s["dropped_busy"] + s["dropped_guest_share"] - before["dropped_busy"] -
               before["dropped_guest_share"])
    assert dropped >= 300 - 256, s
    assert len(got) >= 200, f"only {len(got)} SERVFAILs"
    wait_for(lambda: dns_stats(d)["queries_active"] == 0, 15, what="no query in flight")
    r = parse_msg(udp_ask(ns, build_query("a.fake.test")))
    assert r["an"] == 1, r

    # TCP connections are bounded: for each extra one the connection idle the
    # longest is closed, counted.
    def many_conns():
        socks, closed = [], 0
        try:
            for _ in range(40):
                socks.append(socket.create_connection((DNS, 53), timeout=5))
            for sk in socks:
                sk.settimeout(0.3)
                try:
                    if sk.recv(1) == b"":
                        closed += 1
                except socket.timeout:
                    pass
                except ConnectionResetError:
                    closed += 1
            return closed
        finally:
            for sk in socks:
                sk.close()
    before = dns_stats(d)["tcp_evicted"]
    closed = ns.in_ns(many_conns)
    assert closed >= 8 and dns_stats(d)["tcp_evicted"] - before >= 8, (closed, dns_stats(d))
    wait_for(lambda: dns_stats(d)["tcp_active"] == 0, 15, what="TCP connections closed")
    r = parse_msg(tcp_ask(ns, [build_query("a.fake.test", qid=5)])[0])
    assert r["an"] == 1, r
    d.stop()

    # Two upstreams: the first refuses (closed port), the second answers.
    d2, ns2 = dns_guest(netns, vnetd, resolv_conf, [f"127.0.0.1:{closed}", f"127.0.0.1:{f.port}"],
                        dhcp=False)
    r = parse_msg(udp_ask(ns2, build_query("a.fake.test", qid=0x888)))
    assert r["id"] == 0x888 and r["an"] == 1, r
    r = dig(ns2, "+tcp", "a.fake.test", "A")
    assert r["answers"] == [("A", "192.0.2.20")], r["out"]
    assert dns_stats(d2)["upstream_errors"] >= 1, dns_stats(d2)
    d2.stop()

    # An IPv6 upstream (on ::1), UDP and TCP.
    f6 = FakeUpstream(socket.AF_INET6)
    try:
        d3, ns3 = dns_guest(netns, vnetd, resolv_conf, [f6.addr], dhcp=False)
        r = parse_msg(udp_ask(ns3, build_query("a.fake.test", qid=0x999)))
        assert r["id"] == 0x999 and r["an"] == 1, r
        r = dig(ns3, "+tcp", "a.fake.test", "A")
        assert r["answers"] == [("A", "192.0.2.20")], r["out"]
        assert {p for p, *_ in f6.seen} == {"udp", "tcp"}, f6.seen
        assert dns_stats(d3)["upstreams"] == [f6.addr]
        d3.assert_alive()
    finally:
        f6.close()


def test_malformed_queries(netns, vnetd, resolv_conf, fake_upstream):
    f = fake_upstream
    d, ns = dns_guest(netns, vnetd, resolv_conf, [f"127.0.0.1:{f.port}"], dhcp=False)
    hdr = lambda qd=1, an=0, ar=0, flags=0x0100: struct.pack("!6H", 0xBEEF, flags, qd, an, 0, ar)
    q = struct.pack("!HH", 1, 1)
    bad = [
        b"",                                            # empty
        b"\x12\x34\x01",                                # shorter than a header
        hdr(),                                          # a question promised, none there
        hdr() + b"\xc0\x0c" + q,                        # pointer to itself
        hdr() + b"\x01a\xc0\x0c" + q,                   # pointer loop through a label
        hdr() + b"\xc0\x40" + q,                        # pointer forward / out of bounds
        hdr() + b"\x41" + b"a" * 65 + b"\0" + q,        # reserved label type
        hdr() + (b"\x3f" + b"a" * 63) * 5 + b"\0" + q,  # name over 255 bytes
        hdr() + b"\x03abc",                             # name runs off the end
        hdr(qd=2) + encode_name("a.fake.test") + q * 2,  # two questions
        hdr(flags=0x8100) + encode_name("a.fake.test") + q,  # a response, not a query
        hdr(ar=1) + encode_name("a.fake.test") + q + b"\0\0\x29",  # truncated OPT record
        hdr(an=3) + encode_name("a.fake.test") + q,     # records promised, none there
    ]
    before = dns_stats(d)
    udp_send_only(ns, bad)
    wait_for(lambda: dns_stats(d)["malformed"] - before["malformed"] >= len(bad), 10,
             what="malformed queries counted")

    # Random garbage (seeded), then malformed TCP framing.
    rng = random.Random(1234)
    udp_send_only(ns, [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300)))
                       for _ in range(200)])

    def tcp_garbage():
        with socket.create_connection((DNS, 53), timeout=5) as s:
            s.sendall(b"\x00\x05hello")  # shorter than a header: connection closed
            try:
                return s.recv(10) == b""
            except ConnectionResetError:
                return True
    assert ns.in_ns(tcp_garbage)

    def tcp_partial():
        with socket.create_connection((DNS, 53), timeout=5) as s:
            s.sendall(b"\x00\x40\x12\x34")  # half a message, then EOF
            s.shutdown(socket.SHUT_WR)
            return s.recv(10) == b""
    assert ns.in_ns(tcp_partial)

    def tcp_idle():
        with socket.create_connection((DNS, 53), timeout=40) as s:
            try:
                return s.recv(10) == b""  # vnetd closes an idle connection (10 s)
            except ConnectionResetError:
                return True
    assert ns.in_ns(tcp_idle)

    # Still answering, over both transports.
    r = parse_msg(udp_ask(ns, build_query("host.vnet.internal", qid=0x99)))
    assert r["id"] == 0x99 and r["answers"] == [(1, socket.inet_aton(GW))], r
    r = parse_msg(tcp_ask(ns, [build_query("a.fake.test", qid=0x98)])[0])
    assert r["id"] == 0x98 and r["an"] == 1, r
    s = dns_stats(d)
    assert s["malformed"] >= len(bad) + 1, s
    d.assert_alive()
    log = d.log()
    assert log.count("dns:") < 100, "guest-triggered DNS log lines are not rate limited"


def test_isolated_network_answers_local_names_and_forwards_nothing(netns, vnetd):
    """An isolated network with DNS but no configured upstream reaches nothing
    beyond itself, not even the host's resolvers: local names are answered,
    anything else gets REFUSED at once."""
    ns = netns()
    d = vnetd({"networks": [{"name": NET, "mode": "isolated", "subnet": "10.0.2.0/24",
                             "dns": {"address": DNS},
                             "dhcp": {"hosts": [{"ip": "10.0.2.40", "name": "db"}]}}],
               "ports": [{"name": "g0", "type": "tap", "netns": ns.path, "ifname": "eth0",
                          "network": NET, "mac": "02:00:00:0d:00:09"}]})
    ns.wait_link()
    ns.addr(f"{GUEST}/24")
    ns.ip("link", "set", "eth0", "up")
    r = parse_msg(udp_ask(ns, build_query("db.vnet.internal", qid=0x4242)))
    assert r["rcode"] == 0 and r["answers"] == [(1, bytes([10, 0, 2, 40]))], r
    r = parse_msg(udp_ask(ns, build_query("www.example.test", qid=0x4343)))
    assert r["rcode"] == 5 and not r["answers"], r  # REFUSED
    st = dns_stats(d)
    assert st["refused"] == 1 and st["forwarded"] == 0 and st["upstreams"] == [], st
