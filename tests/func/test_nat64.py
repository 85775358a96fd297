"""Functional tests of NAT64 and DNS64 (issue 11 item 10).

Two worlds, each with a guest namespace that has only IPv6 (its kernel's
SLAAC from vnetd's router advertisements, no IPv4 address) and whose
resolver asks vnetd's DNS on dns.address6; vnetd's upstream is a dnsmasq the
test starts on 127.0.0.1 that knows only A records for the names used.

The upstream refuses AAAA for v4only.test (dnsmasq's --address) and has
NODATA for the AAAA of the *.nodata.test host records: DNS64 synthesizes for
both (RFC 6147 5.1.2 and 5.1.1).

* An IPv6-only network (`subnet: none`, `nat64: true`): vnetd runs inside a
  namespace of its own ("the host") whose loopback also holds 192.0.2.1,
  the IPv4-only server address (TEST-NET-1, inside a namespace the test
  made: nothing leaves the machine). v4only.test has A 192.0.2.1, so the
  guest gets AAAA 64:ff9b::c000:201 and reaches the servers on 192.0.2.1
  through NAT64: a TCP transfer both ways checked by SHA-256, UDP echo,
  ping, curl by name; a closed port is refused at once; 64:ff9b::7f00:1 and
  64:ff9b:: (0.0.0.0, no IPv4 gateway here) are refused at once; IPv4 frames
  are ignored and counted; vnetctl flows shows the IPv4 side of the flows.
* A dual-stack network with nat64 on the host: v4only.test has A 10.0.2.2,
  the gateway, which IPv4 NAT maps to the host's 127.0.0.1, so the
  synthesized 64:ff9b::a00:202 reaches servers on the host's 127.0.0.1 in
  the same way (TCP, UDP, ping, curl), a name whose A record is 127.0.0.1 is
  left without AAAA, and a name with a real AAAA keeps it.
"""
import hashlib
import functools
import os
import shutil
import socket
import subprocess
import time

import pytest

import vnet
from ipv6_util import ipv6_on, slaac_addr
from nat_util import (HttpServer, QuietFiles, TcpServer, ThreadedHttp, UdpEcho, echo_handler,
                      sink_handler, tap, write_random_file)
from test_dns import build_query, dig, free_port_both, parse_msg
from vnet import wait_for

pytestmark = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("dig", "dnsmasq", "curl")),
    reason="dig (dnsutils), dnsmasq or curl is missing")

NET = "v6"
SERVER4 = "192.0.2.1"          # in the "host" namespace of the IPv6-only world
SYNTH_SERVER = "64:ff9b::c000:201"
SYNTH_GW = "64:ff9b::a00:202"  # 10.0.2.2, the dual-stack network's gateway
SIZE = 20 * 1000 * 1000


# ---------------------------------------------------------------- helpers

def udp_ask(port, msg, timeout=1.0):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("127.0.0.1", port))
        return s.recvfrom(65535)[0]


def start_dnsmasq(procs, tmp_path, records, ns=None):
    """dnsmasq on 127.0.0.1 (of namespace ns, when given) answering records
    (dnsmasq options) and nothing else; returns its port."""
    port = ns.in_ns(free_port_both) if ns else free_port_both()
    log = open(tmp_path / "dnsmasq.log", "w")
    cmd = ["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--log-queries",
           "--listen-address=127.0.0.1", f"--port={port}", "--bind-interfaces", "--user=root",
           "--pid-file=", "--conf-file=/dev/null", "--log-facility=-", *records]
    if ns:
        cmd = ["ip", "netns", "exec", ns.name] + cmd
    procs.start(cmd, stdout=log, stderr=subprocess.STDOUT)
    log.close()

    def up():
        ask = lambda: parse_msg(udp_ask(port, build_query("v4only.test")))["an"]  # noqa: E731
        try:
            return (ns.in_ns(ask) if ns else ask()) == 1
        except OSError:
            return False
    wait_for(up, 10, interval=0.1, what="dnsmasq answering")
    return port


def resolv_for(ns, server, made):
    """The namespace's resolv.conf (ip netns exec binds it): only server."""
    d = f"/etc/netns/{ns.name}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/resolv.conf", "w") as f:
        f.write(f"nameserver {server}\noptions timeout:3 attempts:2\n")
    made.append(d)


@pytest.fixture
def resolv_dirs():
    made = []
    yield made
    for d in made:
        try:
            os.unlink(f"{d}/resolv.conf")
            os.rmdir(d)
        except OSError:
            pass


def aaaa(ns, dns6, name, *extra):
    r = dig(ns, f"@{dns6}", name, "AAAA", *extra)
    assert r["status"] == "NOERROR", r["out"]
    return [a[1] for a in r["answers"] if a[0] == "AAAA"]


def gconnect(ns, addr, port, timeout=20):
    """A TCP connection from the guest (the socket stays in its namespace)."""
    def mk():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((addr, port))
        return s
    return ns.in_ns(mk)


def connect_outcome(ns, addr, port):
    """(exception name or 'connected', seconds) of a guest TCP connect."""
    def go():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(10)
        t0 = time.monotonic()
        try:
            s.connect((addr, port))
            return "connected", time.monotonic() - t0
        except OSError as e:
            return type(e).__name__, time.monotonic() - t0
        finally:
            s.close()
    return ns.in_ns(go)


def transfer_both_ways(ns, addr, tmp_path, make_server, servers):
    """SIZE bytes down (from a server sending a file) and up (to a sink),
    each checked by SHA-256."""
    want = write_random_file(tmp_path / "big", SIZE)

    def send_file(conn, _addr):
        with open(tmp_path / "big", "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    return
                conn.sendall(b)
    down, sink = make_server(send_file), make_server(sink_handler)
    servers.extend([down, sink])

    def download():
        h, n = hashlib.sha256(), 0
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect((addr, down.port))
            while True:
                b = s.recv(1 << 20)
                if not b:
                    return n, h.hexdigest()
                n += len(b)
                h.update(b)
    assert ns.in_ns(download) == (SIZE, want)

    def upload():
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.settimeout(60)
            s.connect((addr, sink.port))
            with open(tmp_path / "big", "rb") as f:
                while True:
                    b = f.read(1 << 20)
                    if not b:
                        break
                    s.sendall(b)
            s.shutdown(socket.SHUT_WR)
            s.recv(1)
    ns.in_ns(upload)
    wait_for(lambda: sink.results, 30, what="the upload to arrive")
    assert sink.results == [(SIZE, want)] and not sink.errors and not down.errors


def udp_round_trips(ns, addr, port, n=200):
    def rt():
        ok = 0
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            for i in range(n):
                msg = b"nat64-%d" % i
                s.sendto(msg, (addr, port))
                try:
                    data, peer = s.recvfrom(2048)
                except socket.timeout:
                    continue
                ok += data == msg and peer[0] == addr and peer[1] == port
        return ok
    return ns.in_ns(rt)


def guest_v6only(netns, procs):
    g = netns()
    ipv6_on(g)
    return g


# ---------------------------------------------------------------- IPv6-only world

class Http4Server(ThreadedHttp):
    """python's http.server on (host, port 0), made inside namespace ns."""

    def __init__(self, directory, host, ns):
        super().__init__(functools.partial(QuietFiles, directory=str(directory)), host, ns.in_ns)


def sock4(ns, kind, host=SERVER4):
    def mk():
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        if kind == socket.SOCK_STREAM:
            s.listen(64)
        return s
    return ns.in_ns(mk)


@pytest.fixture
def v6only_world(netns, procs, tmp_path, resolv_dirs):
    host = netns()
    host.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0")
    host.ip("addr", "add", f"{SERVER4}/32", "dev", "lo")  # an address of that "host"
    port = start_dnsmasq(procs, tmp_path, [f"--address=/v4only.test/{SERVER4}",
                                          "--local=/nodata.test/",
                                          "--host-record=lo.nodata.test,127.0.0.1",
                                          f"--host-record=v4.nodata.test,{SERVER4}"], ns=host)
    g = guest_v6only(netns, procs)
    conf = {"networks": [{"name": NET, "mode": "nat", "subnet": "none",
                          "subnet6": "fd64:64:64:64::/64", "nat64": True,
                          "dns": {"upstream": [f"127.0.0.1:{port}"]}}],
            "ports": [tap("g0", g, network=NET, mac="02:00:00:64:00:01")]}
    d = vnet.Vnetd(tmp_path, conf, name="vnetd-ns", procs=procs,
                   prefix=("ip", "netns", "exec", host.name))
    d.start()
    try:
        g.wait_link()
        g.ip("link", "set", "eth0", "up")
        gw = d.network(NET)["gateway"]
        addr = slaac_addr(g, gw["subnet6"])
        resolv_for(g, gw["dns_address6"], resolv_dirs)
        yield d, host, g, gw, addr
    finally:
        d.stop()


def test_ipv6_only_guest_reaches_ipv4_servers_through_nat64(v6only_world, servers, tmp_path):
    d, host, g, gw, addr = v6only_world
    dns6 = gw["dns_address6"]
    assert gw["address"] is None and gw["dns_address"] is None, gw
    assert gw["nat64_prefix"] == "64:ff9b::/96", gw
    assert "dhcp" not in gw, gw
    # DNS64: the A-only name gets its synthesized AAAA, by dig and by libc.
    assert aaaa(g, dns6, "v4only.test") == [SYNTH_SERVER]
    assert aaaa(g, dns6, "v4only.test", "+tcp") == [SYNTH_SERVER]
    assert aaaa(g, dns6, "v4.nodata.test") == [SYNTH_SERVER]  # NODATA upstream: synthesized
    assert aaaa(g, dns6, "lo.nodata.test") == []  # 127.0.0.1 is never synthesized
    got = g.exec("getent", "ahostsv6", "v4only.test").stdout
    assert SYNTH_SERVER in got, got
    dns = d.network(NET)["gateway"]["dns"]
    assert dns["dns64"]["synthesized"] >= 2 and dns["dns64"]["a_queries"] >= 3, dns

    # TCP both ways, checked.
    transfer_both_ways(g, SYNTH_SERVER, tmp_path,
                       lambda h: TcpServer(h, sock=sock4(host, socket.SOCK_STREAM)), servers)
    # UDP echo.
    echo = UdpEcho(sock=sock4(host, socket.SOCK_DGRAM))
    servers.append(echo)
    assert udp_round_trips(g, SYNTH_SERVER, echo.port) >= 190
    # ping through NAT64 (ICMPv6 echo <-> ICMP echo).
    r = g.ping(SYNTH_SERVER, count=3, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    # A closed port: an immediate refusal.
    closed = sock4(host, socket.SOCK_STREAM)
    cport = closed.getsockname()[1]
    closed.close()
    kind, took = connect_outcome(g, SYNTH_SERVER, cport)
    assert kind == "ConnectionRefusedError" and took < 5, (kind, took)
    # Loopback and 0.0.0.0 embedded: refused at once (no IPv4 gateway here).
    for dst in ("64:ff9b::7f00:1", "64:ff9b::"):
        kind, took = connect_outcome(g, dst, 22)
        assert kind in ("PermissionError", "ConnectionRefusedError", "OSError") and took < 5, \
            (dst, kind, took)

    # curl by name, end to end.
    (tmp_path / "www").mkdir()
    want = write_random_file(tmp_path / "www" / "page", 300000)
    http = Http4Server(tmp_path / "www", SERVER4, host)
    servers.append(http)
    r = g.exec("curl", "-6", "-sS", "--max-time", "30", "-o", str(tmp_path / "got"),
               f"http://v4only.test:{http.port}/page", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert hashlib.sha256((tmp_path / "got").read_bytes()).hexdigest() == want

    # vnetctl flows: the IPv6 addresses the guest uses and the IPv4 side.
    srv = TcpServer(echo_handler, sock=sock4(host, socket.SOCK_STREAM))
    servers.append(srv)
    s = gconnect(g, SYNTH_SERVER, srv.port)
    try:
        f = [x for x in d.ctl("flows") if x.get("nat64") == f"{SERVER4}:{srv.port}"]
        assert len(f) == 1 and f[0]["remote"] == f"[{SYNTH_SERVER}]:{srv.port}", d.ctl("flows")
        assert f[0]["proto"] == "tcp" and f[0]["state"] == "established", f
        table = d.ctl_raw("flows", json_out=False).stdout
        assert SYNTH_SERVER in table, table
    finally:
        s.close()
    nat = d.network(NET)["gateway"]["nat"]
    assert nat["nat64_created"] >= 6 and nat["nat64_refused"] >= 2, nat

    # IPv4 is ignored on this network (and counted).
    before = d.network(NET)["gateway"]["stats"]["ipv4_ignored"]
    g.ip("addr", "add", "10.0.2.15/24", "dev", "eth0")
    g.ping("10.0.2.2", count=2, check=False)
    after = d.network(NET)["gateway"]["stats"]["ipv4_ignored"]
    assert after > before
    d.assert_alive()


# ---------------------------------------------------------------- dual stack

def test_dual_stack_network_nat64_maps_the_gateway_to_host_loopback(netns, vnetd, procs,
                                                                    servers, tmp_path,
                                                                    resolv_dirs):
    port = start_dnsmasq(procs, tmp_path, ["--address=/v4only.test/10.0.2.2",
                                          "--local=/nodata.test/",
                                          "--host-record=lo.nodata.test,127.0.0.1",
                                          "--host-record=v4.nodata.test,10.0.2.2",
                                          "--host-record=dual.nodata.test,10.0.2.2,2001:db8::5",
                                          "--ptr-record=1.2.0.192.in-addr.arpa,far.v4only.test"])
    g = guest_v6only(netns, procs)
    d = vnetd({"networks": [{"name": "lan", "mode": "nat", "nat64": True,
                             "dhcp": {"enabled": False},
                             "dns": {"upstream": [f"127.0.0.1:{port}"]}}],
               "ports": [tap("g0", g, network="lan", mac="02:00:00:64:00:02")]})
    g.wait_link()
    g.ip("link", "set", "eth0", "up")
    gw = d.network("lan")["gateway"]
    slaac_addr(g, gw["subnet6"])
    dns6 = gw["dns_address6"]
    resolv_for(g, dns6, resolv_dirs)
    assert aaaa(g, dns6, "v4only.test") == [SYNTH_GW]
    assert aaaa(g, dns6, "v4.nodata.test") == [SYNTH_GW]
    assert aaaa(g, dns6, "lo.nodata.test") == []
    assert aaaa(g, dns6, "dual.nodata.test") == ["2001:db8::5"]  # a real AAAA stands
    # The reverse name of a synthesized address: a CNAME to the in-addr.arpa
    # name of the IPv4 address, then the upstream's PTR.
    r = dig(g, f"@{dns6}", "-x", SYNTH_SERVER)
    assert r["status"] == "NOERROR", r["out"]
    assert r["answers"] == [("CNAME", "1.2.0.192.in-addr.arpa."),
                            ("PTR", "far.v4only.test.")], r["out"]

    transfer_both_ways(g, SYNTH_GW, tmp_path, lambda h: TcpServer(h), servers)
    echo = UdpEcho()
    servers.append(echo)
    assert udp_round_trips(g, SYNTH_GW, echo.port) >= 190
    r = g.ping(SYNTH_GW, count=3, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    kind, took = connect_outcome(g, "64:ff9b::7f00:1", 22)
    assert kind != "connected" and took < 5, (kind, took)
    (tmp_path / "www").mkdir()
    want = write_random_file(tmp_path / "www" / "page", 300000)
    http = HttpServer(tmp_path / "www")
    servers.append(http)
    r = g.exec("curl", "-6", "-sS", "--max-time", "30", "-o", str(tmp_path / "got"),
               f"http://v4only.test:{http.port}/page", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    assert hashlib.sha256((tmp_path / "got").read_bytes()).hexdigest() == want
    srv = TcpServer(echo_handler)
    servers.append(srv)
    s = gconnect(g, SYNTH_GW, srv.port)
    try:
        f = [x for x in d.ctl("flows") if x.get("nat64") == f"127.0.0.1:{srv.port}"]
        assert len(f) == 1 and f[0]["remote"] == f"[{SYNTH_GW}]:{srv.port}", d.ctl("flows")
    finally:
        s.close()
    d.assert_alive()
