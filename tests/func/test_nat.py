"""Functional tests of the NAT engine (issue 3): guests in namespaces with
static addresses on a `mode: nat` network reach servers on the host's loopback
through the gateway address 10.0.2.2 (TCP bulk and half-close and resets, UDP,
ICMP), host clients reach guest servers through port forwards (config, flags,
vnetctl at run time), the flow table shows and bounds the flows, and a hostile
guest (malformed packets, SYN and UDP floods) does not hurt the other guests.

Theory of operation: every host-side peer is a thread of the test process
listening on 127.0.0.1 port 0 (nat_util), or a tool (iperf3) on a port that
was just free; guests run curl/socat/iperf3 in their namespace, or Python
sockets created inside it (Netns.in_ns). The ICMP test adds one veth pair
whose far end lives in a namespace the test created, so the only non-loopback
destination is inside that namespace. DHCP and DNS are off (tested elsewhere).
"""
import contextlib
import errno
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import time

import pytest

import vnet
from nat_util import (GW, NET, TcpServer, UdpEcho, HttpServer, configure_guest, echo_handler,
                      free_port, guest_ip, host_listening, nat_network, nat_setup, nat_stats,
                      rss_settled, sha256_file, sink_handler, tap, write_random_file)
from vnet import run, wait_for

BIG = 100 * 1000 * 1000  # bytes of the bulk transfers



def gsock(ns, kind=socket.SOCK_STREAM, timeout=20):
    """A socket inside the guest namespace ns."""
    def mk():
        s = socket.socket(socket.AF_INET, kind)
        s.settimeout(timeout)
        return s
    return ns.in_ns(mk)


def recv_all(s, limit=1 << 30):
    out = bytearray()
    while len(out) < limit:
        b = s.recv(1 << 20)
        if not b:
            break
        out += b
    return bytes(out)


def gateway_mac(d):
    return d.network(NET)["gateway"]["mac"]


# --------------------------------------------------------------------------- TCP

def test_tcp_to_host_loopback_100mb_both_directions(netns, vnetd, servers, tmp_path):
    d, (g,) = nat_setup(netns, vnetd)
    www = tmp_path / "www"
    www.mkdir()
    (www / "hello.txt").write_text("hello from the host\n")
    big_sum = write_random_file(www / "big.bin", BIG)
    http = HttpServer(www)
    servers.append(http)
    url = f"http://{GW}:{http.port}"

    # curl and wget, small page.
    r = g.exec("curl", "-sS", "--max-time", "20", f"{url}/hello.txt")
    assert r.stdout == "hello from the host\n"
    r = g.exec("wget", "-q", "-T", "20", "-O", "-", f"{url}/hello.txt")
    assert r.stdout == "hello from the host\n"

    # Guest downloads 100 MB from the host.
    dl = tmp_path / "dl.bin"
    g.exec("curl", "-sS", "--max-time", "120", "-o", dl, f"{url}/big.bin", timeout=150)
    assert dl.stat().st_size == BIG
    assert sha256_file(dl) == big_sum, "downloaded file differs"
    dl.unlink()

    # Guest uploads 100 MB to a host listener that hashes what it receives.
    sink = TcpServer(sink_handler)
    servers.append(sink)
    g.exec("socat", "-u", f"FILE:{www / 'big.bin'}", f"TCP:{GW}:{sink.port}", timeout=150)
    wait_for(lambda: sink.results, 30, what="upload received")
    assert sink.results[0] == (BIG, big_sum), "uploaded data differs"
    assert not sink.errors

    _, nat = nat_stats(d)
    assert nat["tcp_created"] >= 4 and nat["tcp_bad_checksum"] == 0
    d.assert_alive()


def iperf(g, port, reverse):
    args = ["iperf3", "-c", GW, "-p", str(port), "-t", "3", "-J", "--connect-timeout", "10000"]
    if reverse:
        args.append("-R")
    r = g.exec(*args, timeout=60, check=False)
    assert r.returncode == 0, f"iperf3 failed: {r.stdout[-2000:]} {r.stderr}"
    return json.loads(r.stdout)["end"]["sum_received"]["bytes"]


def test_iperf3_both_directions(netns, vnetd, procs):
    d, (g,) = nat_setup(netns, vnetd)
    for reverse in (False, True):
        port = free_port()
        srv = procs.start(["iperf3", "-s", "-1", "-B", "127.0.0.1", "-p", port])
        wait_for(lambda: host_listening(port), 10, what="iperf3 server")
        moved = iperf(g, port, reverse)
        assert moved > 10_000_000, f"iperf3 {'-R ' if reverse else ''}moved only {moved} bytes"
        srv.wait(timeout=20)
    d.assert_alive()


def test_refused_port_fails_at_once(netns, vnetd):
    d, (g,) = nat_setup(netns, vnetd)
    port = free_port()
    assert not host_listening(port)
    before = nat_stats(d)[1]["tcp_conn_refused"]
    # A refused connection is exit 7 ("Couldn't connect"), not 28 (timeout):
    # the guest gets a RST, not silence.
    r = g.exec("curl", "-sS", "--connect-timeout", "25", f"http://{GW}:{port}/",
               check=False, timeout=40)
    assert r.returncode == 7, f"curl exit {r.returncode}: {r.stderr}"
    assert "Couldn't connect" in r.stderr or "refused" in r.stderr.lower(), r.stderr

    s = gsock(g, timeout=25)
    with s:
        with pytest.raises(ConnectionRefusedError):
            s.connect((GW, port))
    wait_for(lambda: nat_stats(d)[1]["tcp_conn_refused"] >= before + 2, 5,
             what="tcp_conn_refused counted")
    wait_for(lambda: nat_stats(d)[1]["flows_active"] == 0, 10, what="refused flows freed")


def test_host_loopback_mapping_off(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd, net_extra={"map_host_loopback": False})
    srv = TcpServer(echo_handler)
    servers.append(srv)
    before = nat_stats(d)[1]["refused_policy"]
    r = g.exec("curl", "-sS", "--connect-timeout", "25", f"http://{GW}:{srv.port}/",
               check=False, timeout=40)
    assert r.returncode in (7, 52, 56), f"curl exit {r.returncode}: {r.stderr}"
    assert srv.accepted == 0, "the gateway address still led to the host's loopback"
    wait_for(lambda: nat_stats(d)[1]["refused_policy"] > before, 5, what="refused_policy")
    g.ping(GW, count=2, interval=0.2)  # the gateway itself still answers


@pytest.mark.parametrize("mtu", [1280, 65520])
def test_bulk_at_other_mtus(netns, vnetd, servers, tmp_path, mtu):
    d, (g,) = nat_setup(netns, vnetd, net_extra={"mtu": mtu})
    assert g.links()["eth0"]["mtu"] == mtu
    size = 20 * 1000 * 1000
    www = tmp_path / "www"
    www.mkdir()
    digest = write_random_file(www / "f.bin", size)
    http = HttpServer(www)
    sink = TcpServer(sink_handler)
    servers += [http, sink]
    dl = tmp_path / "dl.bin"
    g.exec("curl", "-sS", "--max-time", "60", "-o", dl, f"http://{GW}:{http.port}/f.bin",
           timeout=90)
    assert sha256_file(dl) == digest
    g.exec("socat", "-u", f"FILE:{www / 'f.bin'}", f"TCP:{GW}:{sink.port}", timeout=90)
    wait_for(lambda: sink.results, 30, what="upload received")
    assert sink.results[0] == (size, digest)
    # Full-size datagrams both ways as well.
    echo = UdpEcho()
    servers.append(echo)
    u = gsock(g, socket.SOCK_DGRAM, timeout=3)
    with u:
        data = os.urandom(min(mtu - 28, 65507))
        for _ in range(5):
            u.sendto(data, (GW, echo.port))
            try:
                assert u.recv(65535) == data
                break
            except socket.timeout:
                continue
        else:
            raise AssertionError(f"no echo of a {len(data)}-byte datagram at MTU {mtu}")
    assert d.port_stats("g0")["rx_drops"]["mtu"] == 0


def test_half_close_both_directions(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd)
    payload = os.urandom(3 * 1000 * 1000)

    # Guest closes its sending side first; the host still answers after EOF.
    def after_eof(conn, addr):
        got = recv_all(conn)
        conn.sendall(payload)
        return len(got)

    srv = TcpServer(after_eof)
    servers.append(srv)
    s = gsock(g)
    with s:
        s.connect((GW, srv.port))
        s.sendall(b"q" * 200_000)
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == payload
    wait_for(lambda: srv.results, 10, what="server result")
    assert srv.results == [200_000]

    # The host closes its sending side first; the guest still sends after EOF.
    def send_then_read(conn, addr):
        conn.sendall(payload)
        conn.shutdown(socket.SHUT_WR)
        return recv_all(conn)

    srv2 = TcpServer(send_then_read)
    servers.append(srv2)
    s = gsock(g)
    with s:
        s.connect((GW, srv2.port))
        assert recv_all(s) == payload  # EOF seen by the guest
        tail = os.urandom(500_000)
        s.sendall(tail)
        s.shutdown(socket.SHUT_WR)
        wait_for(lambda: srv2.results, 10, what="server got the guest's data")
        assert srv2.results == [tail]
    assert not srv.errors and not srv2.errors
    wait_for(lambda: nat_stats(d)[1]["tcp_active"] == 0, 15, what="flows closed")


def test_rst_both_directions(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd)
    before = nat_stats(d)[1]

    # Guest -> host: an abortive close of the guest reaches the host socket as a reset.
    def wait_reset(conn, addr):
        conn.settimeout(20)
        try:
            while conn.recv(65536):
                pass
            return "eof"
        except ConnectionResetError:
            return "reset"

    srv = TcpServer(wait_reset)
    servers.append(srv)
    s = gsock(g)
    s.connect((GW, srv.port))
    s.sendall(b"x" * 1000)
    wait_for(lambda: srv.accepted == 1, 10, what="accepted")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    s.close()  # RST
    wait_for(lambda: srv.results, 10, what="host side saw the close")
    assert srv.results == ["reset"], "guest RST reached the host as " + srv.results[0]

    # Host -> guest: an abortive close on the host reaches the guest as a reset.
    def reset_after_hello(conn, addr):
        conn.sendall(b"hi")
        conn.settimeout(20)
        assert conn.recv(10) == b"ok"
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")

    srv2 = TcpServer(reset_after_hello)
    servers.append(srv2)
    s = gsock(g)
    with s:
        s.connect((GW, srv2.port))
        assert s.recv(10) == b"hi"
        s.sendall(b"ok")
        with pytest.raises(ConnectionResetError):
            while s.recv(100):
                pass
    after = nat_stats(d)[1]
    assert after["tcp_rst_from_guest"] >= before["tcp_rst_from_guest"] + 1
    assert after["tcp_rst_to_guest"] >= before["tcp_rst_to_guest"] + 1
    wait_for(lambda: nat_stats(d)[1]["tcp_active"] == 0, 15, what="flows gone")



def test_many_parallel_connections(netns, vnetd, servers):
    """60 connections at once from one guest, each echoing 1 MB of its own data."""
    import concurrent.futures
    d, (g,) = nat_setup(netns, vnetd)
    srv = TcpServer(echo_handler)
    servers.append(srv)
    n, size = 60, 1_000_000
    socks = [gsock(g, timeout=60) for _ in range(n)]

    def one(s):
        with s:
            s.connect((GW, srv.port))
            data = os.urandom(size)
            got = bytearray()

            def reader():
                while len(got) < size:
                    b = s.recv(1 << 16)
                    if not b:
                        break
                    got.extend(b)
            import threading
            t = threading.Thread(target=reader)
            t.start()
            s.sendall(data)
            t.join(90)
            return bytes(got) == data

    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        ok = list(ex.map(one, socks, timeout=120))
    assert all(ok), f"{ok.count(False)} of {n} connections corrupted or cut"
    assert srv.accepted == n and not srv.errors
    wait_for(lambda: nat_stats(d)[1]["tcp_active"] == 0, 20, what="flows closed")


def test_slow_readers_both_sides(netns, vnetd, servers):
    """Flow control: a guest that reads slowly, and a host that reads slowly;
    no data lost, and vnetd does not buffer the difference."""
    d, (g,) = nat_setup(netns, vnetd)
    size = 16 * 1000 * 1000
    data = os.urandom(size)
    rss0 = rss_settled(d.pid)

    def push(conn, addr):
        conn.sendall(data)

    def slow_sink(conn, addr):
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        got = bytearray()
        while True:
            b = conn.recv(65536)
            if not b:
                return bytes(got)
            got.extend(b)
            time.sleep(0.002)

    srv, sink = TcpServer(push), TcpServer(slow_sink)
    servers += [srv, sink]
    # Guest reads slowly.
    s = gsock(g, timeout=60)
    with s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        s.connect((GW, srv.port))
        time.sleep(1)  # the guest's window fills; the host side must wait
        rss_full = vnet.vm_rss_kb(d.pid)
        got = bytearray()
        while len(got) < size:
            b = s.recv(65536)
            assert b, f"connection ended after {len(got)} bytes"
            got.extend(b)
            time.sleep(0.002)
        assert bytes(got) == data
    # Host reads slowly.
    s = gsock(g, timeout=60)
    with s:
        s.connect((GW, sink.port))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        wait_for(lambda: sink.results, 60, what="slow host reader done")
    assert sink.results[0] == data
    grew = rss_full - rss0
    assert grew < 8 * 1024, f"vnetd grew {grew} kB while the guest was not reading"
    d.assert_alive()


def test_shutdown_with_live_flows_is_clean(netns, vnetd, servers):
    """SIGTERM while TCP, UDP and ICMP flows and forwards are live: exit 0,
    no sanitizer report (leaks included), the guest's connections reset or closed."""
    d, (g,) = nat_setup(netns, vnetd)
    srv, echo = TcpServer(echo_handler), UdpEcho()
    inner = TcpServer(echo_handler, sock=guest_listener(g, port=7400))
    servers += [srv, echo, inner]
    pf = free_port()
    d.ctl("forward", "add", f"tcp:{pf}:{guest_ip(0)}:7400")
    d.ctl("forward", "add", f"udp:{free_port(socket.SOCK_DGRAM)}:{guest_ip(0)}:7401")
    conns = [gsock(g) for _ in range(5)]
    for c in conns:
        c.connect((GW, srv.port))
        c.sendall(b"x")
        assert c.recv(10) == b"x"
    u = gsock(g, socket.SOCK_DGRAM)
    u.sendto(b"u", (GW, echo.port))
    assert u.recv(10) == b"u"
    host = socket.create_connection(("127.0.0.1", pf), timeout=10)
    host.sendall(b"in")
    assert host.recv(10) == b"in"
    g.ping(GW, count=1)
    assert nat_stats(d)[1]["flows_active"] >= 7
    d.stop()  # exit status 0, sockets gone, no sanitizer report
    host.settimeout(10)
    try:
        assert host.recv(10) == b""
    except ConnectionResetError:
        pass
    for c in conns + [u, host]:
        c.close()


# --------------------------------------------------------------------------- UDP, ICMP

def test_udp_echo_and_flows(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd)
    echo = UdpEcho()
    servers.append(echo)
    s = gsock(g, socket.SOCK_DGRAM, timeout=3)
    with s:
        s.bind(("0.0.0.0", 0))
        gport = s.getsockname()[1]
        # 8000 bytes: fragmented by the guest, reassembled by the gateway, and
        # the reply fragmented again toward the guest.
        for size in (1, 100, 1472, 8000):
            data = os.urandom(size)
            for attempt in range(5):  # UDP: retry a lost datagram
                s.sendto(data, (GW, echo.port))
                try:
                    got, peer = s.recvfrom(65535)
                    break
                except socket.timeout:
                    continue
            else:
                raise AssertionError(f"no echo of {size} bytes")
            assert got == data and peer == (GW, echo.port), (size, peer)
        # The host saw one peer: 127.0.0.1 and the flow's socket port.
        assert {p[0] for _, p in echo.seen} == {"127.0.0.1"}
        assert len({p for _, p in echo.seen}) == 1
        flows = [f for f in d.ctl("flows") if f["proto"] == "udp"]
        assert len(flows) == 1, flows
        f = flows[0]
        assert f["guest"] == f"{guest_ip(0)}:{gport}" and f["remote"] == f"{GW}:{echo.port}"
        assert f["network"] == NET and f["direction"] == "out"
        assert f["bytes_out"] >= 1 + 100 + 1472 + 8000 and f["bytes_in"] >= 1 + 100 + 1472 + 8000
    # A UDP port nobody listens on: the host's "port unreachable" comes back
    # to the guest as ICMP, so its connected socket sees ECONNREFUSED.
    closed = free_port(socket.SOCK_DGRAM)
    c = gsock(g, socket.SOCK_DGRAM, timeout=3)
    with c:
        c.connect((GW, closed))
        with pytest.raises(ConnectionRefusedError):
            for _ in range(5):
                c.send(b"anyone?")
                try:
                    c.recv(100)
                except socket.timeout:
                    continue
    d.assert_alive()


@contextlib.contextmanager
def far_side(netns):
    """A destination beyond the host: a veth pair from the host to a namespace
    of this test, addressed from 198.18.0.0/15 (benchmark addresses), a /29 whose .5 is
    nobody (unreachable: ARP fails on the veth). Yields
    (far namespace, host-side address, far address)."""
    far = netns()
    vh = "vnx" + secrets.token_hex(3)
    sub = random.randint(0, 255)
    host_ip, far_ip = f"198.18.{sub}.1", f"198.18.{sub}.2"  # .5 of the /29: nobody
    run(["ip", "link", "add", vh, "type", "veth", "peer", "name", "eth0", "netns", far.name])
    try:
        run(["ip", "addr", "add", f"{host_ip}/29", "dev", vh])
        run(["ip", "link", "set", vh, "up"])
        far.addr(f"{far_ip}/29")
        far.ip("link", "set", "eth0", "up")
        wait_for(lambda: run(["ping", "-c1", "-W1", far_ip], check=False).returncode == 0, 10,
                 what="host reaching the far namespace")
        yield far, host_ip, far_ip
    finally:
        run(["ip", "link", "del", vh], check=False)


def test_ping_gateway_and_icmp_through_nat(netns, vnetd):
    d, (g,) = nat_setup(netns, vnetd)
    gws = nat_stats(d)[0]
    r = g.ping(GW, count=5, interval=0.2)
    assert " 5 received" in r.stdout, r.stdout
    assert nat_stats(d)[0]["icmp_echo"] >= gws["icmp_echo"] + 5

    with far_side(netns) as (far, host_ip, far_ip):
        before = nat_stats(d)[1]["icmp_created"]
        g.ping_until(far_ip)
        r = g.ping(far_ip, count=5, interval=0.2)
        assert " 5 received" in r.stdout, r.stdout
        nat = nat_stats(d)[1]
        assert nat["icmp_created"] >= before + 1
        flows = [f for f in d.ctl("flows") if f["proto"] == "icmp"]
        assert flows and flows[0]["remote"].startswith(far_ip), flows
        assert flows[0]["bytes_out"] > 0 and flows[0]["bytes_in"] > 0

        # TCP to it too: a listener inside the far namespace.
        def mk():
            s = socket.socket()
            s.bind((far_ip, 0))
            s.listen(8)
            return s
        lsock = far.in_ns(mk)
        srv = TcpServer(echo_handler, sock=lsock)
        try:
            s = gsock(g)
            with s:
                s.connect((far_ip, srv.port))
                s.sendall(b"ping over tcp")
                assert s.recv(100) == b"ping over tcp"
        finally:
            srv.close()

        # Nobody at .5: the host's connect fails (no ARP answer) and the guest
        # gets an ICMP error, not a hang.
        nobody = far_ip.rsplit(".", 1)[0] + ".5"
        before = nat_stats(d)[1]["tcp_unreachable"]
        s = gsock(g, timeout=40)
        with s:
            with pytest.raises(OSError) as ei:
                s.connect((nobody, 80))
            assert not isinstance(ei.value, socket.timeout), "no ICMP error: a timeout"
            assert ei.value.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH,
                                      errno.ECONNREFUSED), ei.value
        assert nat_stats(d)[1]["tcp_unreachable"] >= before + 1


# --------------------------------------------------------------------------- forwards

def guest_listener(ns, kind=socket.SOCK_STREAM, port=0, ip="0.0.0.0"):
    """A socket bound (and listening, for TCP) inside the guest namespace."""
    def mk():
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        if kind == socket.SOCK_STREAM:
            s.listen(64)
        return s
    return ns.in_ns(mk)


def peer_handler(conn, addr):
    """Tells the client its own address as the server sees it, then echoes."""
    conn.sendall(f"{addr[0]}:{addr[1]}\n".encode())
    echo_handler(conn, addr)
    return addr


def host_tcp_exchange(port, data=b"over the forward", host="127.0.0.1", timeout=10):
    """Connect from the host, read the greeting line, check an echo; returns
    the greeting (the client address the guest saw)."""
    with socket.create_connection((host, port), timeout=timeout) as c:
        f = c.makefile("rb")
        line = f.readline().decode().strip()
        c.sendall(data)
        got = b""
        while len(got) < len(data):
            b = c.recv(65536)
            assert b, "forwarded connection closed early"
            got += b
        assert got == data
        return line, c.getsockname()


def host_udp_exchange(port, data=b"udp over the forward", tries=5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(2)
        for _ in range(tries):
            u.sendto(data, ("127.0.0.1", port))
            try:
                got, peer = u.recvfrom(65535)
            except socket.timeout:
                continue
            assert got == data and peer == ("127.0.0.1", port), (got, peer)
            return True
    raise AssertionError(f"no UDP echo through forward 127.0.0.1:{port}")


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_forwards_from_config_and_flags(netns, vnetd, servers, procs, tmp_path):
    g = netns()
    ptcp, pflag, phttp = free_port(), free_port(), free_port()
    pudp = free_port(socket.SOCK_DGRAM)
    gip = guest_ip(0)
    net = nat_network(forwards=[
        {"proto": "tcp", "host": f"127.0.0.1:{ptcp}", "guest": f"{gip}:7000"},
        {"proto": "udp", "host": str(pudp), "guest": f"{gip}:7001"},
        {"proto": "tcp", "host": str(phttp), "guest": f"{gip}:80"},
    ])
    d = vnetd({"networks": [net], "ports": [tap("g0", g)]},
              args=["--forward", f"tcp:{pflag}:{gip}:7000"])
    configure_guest(g, gip)
    fl = {(f["proto"], f["host"], f["guest"]) for f in d.ctl("forward", "list")}
    assert fl == {("tcp", f"127.0.0.1:{ptcp}", f"{gip}:7000"),
                  ("udp", f"127.0.0.1:{pudp}", f"{gip}:7001"),
                  ("tcp", f"127.0.0.1:{phttp}", f"{gip}:80"),
                  ("tcp", f"127.0.0.1:{pflag}", f"{gip}:7000")}, fl

    tsrv = TcpServer(peer_handler, sock=guest_listener(g, port=7000))
    usrv = UdpEcho(sock=guest_listener(g, socket.SOCK_DGRAM, port=7001))
    servers += [tsrv, usrv]
    # A real web server in the guest, fetched with curl from the host.
    www = tmp_path / "gwww"
    www.mkdir()
    (www / "index.html").write_text("served by the guest\n")
    g.start("busybox", "httpd", "-f", "-p", "80", "-h", www)
    wait_for(lambda: g.listening(80), 10, what="httpd in the guest")
    r = run(["curl", "-sS", "--max-time", "20", f"http://127.0.0.1:{phttp}/index.html"])
    assert r.stdout == "served by the guest\n"

    for port in (ptcp, pflag):
        seen, _ = host_tcp_exchange(port, os.urandom(300_000))
        # Local host clients appear as the gateway address (documented).
        assert seen.split(":")[0] == GW, seen
    host_udp_exchange(pudp)
    assert {p[0] for _, p in usrv.seen} == {GW}, usrv.seen
    counts = {f["host"]: f for f in d.ctl("forward", "list")}
    assert counts[f"127.0.0.1:{ptcp}"]["accepted"] == 1
    assert counts[f"127.0.0.1:{pflag}"]["accepted"] == 1
    assert not tsrv.errors


def test_forward_busy_port_at_start_is_an_error(tmp_path):
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        cfg = tmp_path / "f.yaml"
        ctl = tmp_path / "ctl.sock"
        cfg.write_text(vnet.to_yaml({
            "control": str(ctl), "state_dir": str(tmp_path / "st"),
            "networks": [nat_network(forwards=[
                {"proto": "tcp", "host": str(port), "guest": "10.0.2.15:80"}])],
            "ports": [{"name": "s", "type": "stream", "path": str(tmp_path / "s.sock"),
                       "network": NET}]}))
        r = run([vnet.VNETD, "-c", cfg], check=False, timeout=20)
        assert r.returncode != 0
        assert f"127.0.0.1:{port}" in r.stderr and "address already in use" in r.stderr, r.stderr
        assert not any(p in r.stderr for p in vnet.SANITIZER_PATTERNS), r.stderr
        assert not ctl.exists() and not (tmp_path / "s.sock").exists()
    finally:
        busy.close()


def test_forward_add_del_list_and_conflicts(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd)
    gip = guest_ip(0)
    tsrv = TcpServer(peer_handler, sock=guest_listener(g, port=7100))
    usrv = UdpEcho(sock=guest_listener(g, socket.SOCK_DGRAM, port=7101))
    servers += [tsrv, usrv]
    assert d.ctl("forward", "list") == []

    pa, pb = free_port(), free_port()
    pu = free_port(socket.SOCK_DGRAM)
    assert d.ctl("forward", "add", f"tcp:{pa}:{gip}:7100") == {"network": NET}
    d.ctl("forward", "add", f"tcp:127.0.0.1:{pb}:{gip}:7100", NET)
    d.ctl("forward", "add", f"udp:{pu}:{gip}:7101")
    lst = d.ctl("forward", "list", NET)
    assert {(f["proto"], f["host"], f["guest"]) for f in lst} == {
        ("tcp", f"127.0.0.1:{pa}", f"{gip}:7100"), ("tcp", f"127.0.0.1:{pb}", f"{gip}:7100"),
        ("udp", f"127.0.0.1:{pu}", f"{gip}:7101")}
    host_tcp_exchange(pa)
    host_tcp_exchange(pb)
    host_udp_exchange(pu)

    # Human output lists them too.
    txt = d.ctl_raw("forward", "list", json_out=False)
    assert txt.returncode == 0 and f"127.0.0.1:{pa}" in txt.stdout and "udp" in txt.stdout

    # A host port someone else holds: a clear error, nothing added, the other
    # forwards keep working.
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    pbusy = busy.getsockname()[1]
    try:
        r = d.ctl_raw("forward", "add", f"tcp:{pbusy}:{gip}:7100")
        assert r.returncode != 0 and r.stdout == ""
        assert "address already in use" in r.stderr and str(pbusy) in r.stderr, r.stderr
    finally:
        busy.close()
    ubusy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    ubusy.bind(("127.0.0.1", 0))
    try:
        r = d.ctl_raw("forward", "add", f"udp:{ubusy.getsockname()[1]}:{gip}:7101")
        assert r.returncode != 0 and "address already in use" in r.stderr, r.stderr
    finally:
        ubusy.close()
    # The same forward twice, a bad spec, deleting what does not exist.
    r = d.ctl_raw("forward", "add", f"tcp:{pa}:{gip}:7100")
    assert r.returncode != 0 and "already forwarded" in r.stderr, r.stderr
    for bad in ("sctp:1234:10.0.2.15:80", "tcp:99999:10.0.2.15:80", "tcp:1234:10.0.2.15"):
        r = d.ctl_raw("forward", "add", bad)
        assert r.returncode != 0 and r.stderr.startswith("vnetctl: "), (bad, r.stderr)
    r = d.ctl_raw("forward", "del", "tcp", str(free_port()))
    assert r.returncode != 0 and "no tcp forward" in r.stderr, r.stderr
    assert len(d.ctl("forward", "list")) == 3
    host_tcp_exchange(pa)
    host_udp_exchange(pu)

    # Delete: the listener is gone (refused), the others still work; a
    # connection carried before the delete keeps working.
    with socket.create_connection(("127.0.0.1", pa), timeout=10) as old:
        old.makefile("rb").readline()
        d.ctl("forward", "del", "tcp", str(pa))
        wait_for(lambda: refused(pa), 5, what=f"port {pa} closed")
        old.sendall(b"still here")
        assert old.recv(100) == b"still here"
    d.ctl("forward", "del", "udp", f"127.0.0.1:{pu}")
    assert [f["host"] for f in d.ctl("forward", "list")] == [f"127.0.0.1:{pb}"]
    host_tcp_exchange(pb)
    # Freed ports can be bound by others again, and re-added.
    d.ctl("forward", "add", f"tcp:{pa}:{gip}:7100")
    host_tcp_exchange(pa)
    d.assert_alive()



def test_forward_shows_remote_client_address(netns, vnetd, servers):
    """A forward bound on a host address that a client in another namespace
    reaches: the guest sees that client's real address and port."""
    d, (g,) = nat_setup(netns, vnetd)
    gip = guest_ip(0)
    tsrv = TcpServer(peer_handler, sock=guest_listener(g, port=7300))
    usrv = UdpEcho(sock=guest_listener(g, socket.SOCK_DGRAM, port=7301))
    servers += [tsrv, usrv]
    with far_side(netns) as (far, host_ip, far_ip):
        pt, pu = free_port(), free_port(socket.SOCK_DGRAM)
        d.ctl("forward", "add", f"tcp:{host_ip}:{pt}:{gip}:7300")
        d.ctl("forward", "add", f"udp:{host_ip}:{pu}:{gip}:7301")
        assert {f["host"] for f in d.ctl("forward", "list")} == {f"{host_ip}:{pt}",
                                                                  f"{host_ip}:{pu}"}

        def tcp_client():
            with socket.create_connection((host_ip, pt), timeout=10) as c:
                line = c.makefile("rb").readline().decode().strip()
                return line, c.getsockname()

        seen, me = far.in_ns(tcp_client)
        assert seen == f"{me[0]}:{me[1]}" and me[0] == far_ip, (seen, me)

        def udp_client():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.settimeout(2)
                u.bind((far_ip, 0))
                for _ in range(5):
                    u.sendto(b"who am i", (host_ip, pu))
                    try:
                        return u.recvfrom(100), u.getsockname()
                    except socket.timeout:
                        continue

        r = far.in_ns(udp_client)
        assert r, "no UDP answer through the forward"
        (data, peer), me = r
        assert data == b"who am i" and peer == (host_ip, pu)
        assert usrv.seen[-1][1] == me, (usrv.seen, me)
        # Loopback clients still appear as the gateway.
        d.ctl("forward", "add", f"tcp:{pt}:{gip}:7300")
        seen, _ = host_tcp_exchange(pt)
        assert seen.split(":")[0] == GW


# --------------------------------------------------------------------------- flow table

def test_flows_show_bytes_each_way(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd)
    srv = TcpServer(echo_handler)
    echo = UdpEcho()
    servers += [srv, echo]
    s = gsock(g)
    u = gsock(g, socket.SOCK_DGRAM)
    with s, u:
        s.connect((GW, srv.port))
        data = os.urandom(50_000)
        s.sendall(data)
        got = b""
        while len(got) < len(data):
            got += s.recv(65536)
        u.sendto(b"u" * 300, (GW, echo.port))
        assert u.recv(1000) == b"u" * 300
        sport, uport = s.getsockname()[1], u.getsockname()[1]
        flows = {f["proto"]: f for f in d.ctl("flows")}
        assert set(flows) == {"tcp", "udp"}, flows
        t = flows["tcp"]
        assert t["guest"] == f"{guest_ip(0)}:{sport}" and t["remote"] == f"{GW}:{srv.port}"
        assert t["state"].lower() in ("established", "est"), t
        assert t["direction"] == "out" and t["network"] == NET
        assert t["bytes_out"] >= 50_000 and t["bytes_in"] >= 50_000, t
        assert t["age_s"] >= 0 and t["idle_s"] >= 0
        assert flows["udp"]["guest"] == f"{guest_ip(0)}:{uport}"
        assert flows["udp"]["bytes_out"] >= 300 and flows["udp"]["bytes_in"] >= 300
        assert d.ctl("flows", NET) == d.ctl("flows") or len(d.ctl("flows", NET)) == 2
        # Human output: one line per flow plus a header, with the addresses.
        txt = d.ctl_raw("flows", json_out=False)
        assert txt.returncode == 0, txt.stderr
        lines = txt.stdout.strip().splitlines()
        assert len(lines) == 3 and f"{guest_ip(0)}:{sport}" in txt.stdout, txt.stdout
        nat = nat_stats(d)[1]
        assert nat["flows_active"] == 2 and nat["tcp_active"] == 1 and nat["udp_active"] == 1
    r = d.ctl_raw("flows", "nonet")
    assert r.returncode == 1 and "nonet" in r.stderr


def test_flow_table_full_refuses_cleanly(netns, vnetd, servers):
    d, (g,) = nat_setup(netns, vnetd, net_extra={"nat": {"max_flows": 16, "max_flows_per_guest": 16}})
    gip = guest_ip(0)
    srv = TcpServer(echo_handler)
    echo = UdpEcho()
    inner = TcpServer(echo_handler, sock=guest_listener(g, port=7200))
    servers += [srv, echo, inner]
    pf = free_port()
    d.ctl("forward", "add", f"tcp:{pf}:{gip}:7200")
    assert nat_stats(d)[1]["flows_max"] == 16

    old = []
    try:
        for i in range(16):
            s = gsock(g)
            s.connect((GW, srv.port))
            old.append(s)
        assert nat_stats(d)[1]["flows_active"] == 16
        base = nat_stats(d)[1]["refused_table_full"]

        # TCP out: refused with a RST at once (not a timeout).
        s = gsock(g, timeout=20)
        with s, pytest.raises(ConnectionRefusedError):
            s.connect((GW, srv.port))
        # UDP out: an ICMP error, the datagram never reaches the host.
        u = gsock(g, socket.SOCK_DGRAM, timeout=5)
        with u:
            u.connect((GW, echo.port))
            u.send(b"x")
            with pytest.raises(OSError) as ei:
                u.recv(100)
                u.send(b"x")
                u.recv(100)
            assert not isinstance(ei.value, socket.timeout), "UDP: no ICMP error, silence"
        assert echo.seen == []
        # Inbound forward: the host client is reset, the listener stays.
        with pytest.raises((ConnectionResetError, ConnectionAbortedError)):
            with socket.create_connection(("127.0.0.1", pf), timeout=10) as c:
                if c.recv(100) == b"":
                    raise ConnectionResetError("closed without a reset")
        wait_for(lambda: nat_stats(d)[1]["refused_table_full"] >= base + 3, 5,
                 what="refusals counted")
        assert d.ctl("forward", "list")[0]["refused"] >= 1

        # The old connections are unaffected.
        for i, s in enumerate(old):
            s.sendall(b"old %d" % i)
            assert s.recv(100) == b"old %d" % i
        assert nat_stats(d)[1]["flows_active"] == 16

        # Closing one makes room again.
        old.pop().close()
        wait_for(lambda: nat_stats(d)[1]["flows_active"] < 16, 20, what="a flow freed")
        s = gsock(g)
        with s:
            s.connect((GW, srv.port))
            s.sendall(b"new")
            assert s.recv(10) == b"new"
    finally:
        for s in old:
            s.close()
    wait_for(lambda: nat_stats(d)[1]["flows_active"] == 0, 20, what="all flows gone")
    d.assert_alive()


# --------------------------------------------------------------------------- hostile guest

class Victim:
    """Guest b curls a page on the host in a loop until stopped; every fetch
    must succeed. It also holds one established connection (echo) open."""

    def __init__(self, ns, url, stop_file, echo_port):
        self.stop_file = stop_file
        script = (f"n=0; while [ ! -e {stop_file} ] && [ $n -lt 3000 ]; do n=$((n+1)); "
                  f"curl -sS --max-time 10 -o /dev/null -w '%{{http_code}}\\n' {url} "
                  f"|| echo FAIL; sleep 0.05; done")
        self.p = ns.start("sh", "-c", script, stderr=subprocess.STDOUT)
        self.conn = gsock(ns)
        self.conn.connect((GW, echo_port))
        self.check_conn()

    def check_conn(self):
        msg = os.urandom(32)
        self.conn.sendall(msg)
        got = b""
        while len(got) < len(msg):
            got += self.conn.recv(100)
        assert got == msg

    def finish(self, min_fetches=3):
        open(self.stop_file, "w").close()
        out, _ = self.p.communicate(timeout=30)
        lines = out.split()
        assert lines and all(l == "200" for l in lines), \
            f"the other guest's fetches failed: {[l for l in lines if l != '200'][:5]}"
        assert len(lines) >= min_fetches, f"only {len(lines)} fetches"
        self.check_conn()
        self.conn.close()
        return len(lines)


def hostile_setup(netns, vnetd, servers, tmp_path, net_extra=None):
    d, (a, b) = nat_setup(netns, vnetd, n=2, net_extra=net_extra)
    www = tmp_path / "www"
    www.mkdir()
    (www / "p.txt").write_text("page\n")
    http = HttpServer(www)
    srv = TcpServer(echo_handler)
    echo = UdpEcho()
    servers += [http, srv, echo]
    victim = Victim(b, f"http://{GW}:{http.port}/p.txt", tmp_path / "stop", srv.port)
    return d, a, b, srv, echo, victim


def scapy_l2():
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.layers.l2 import Ether
    return Ether, IP, TCP, UDP, ICMP


def send_frames(ns, frames, batch=100, pause=0.02):
    """Send raw frames out of ns's eth0, paced so the tap queue keeps up."""
    s = ns.packet_socket()
    try:
        for i in range(0, len(frames), batch):
            for f in frames[i:i + batch]:
                s.send(f)
            time.sleep(pause)
    finally:
        s.close()


def malformed_frames(eth, src_ip, srv_port, echo_port, closed_port, rnd):
    """(name, frame bytes) of broken IPv4/TCP/UDP/ICMP packets toward the gateway."""
    Ether, IP, TCP, UDP, ICMP = scapy_l2()
    e = eth
    ip = dict(src=src_ip, dst=GW)
    out = []

    def add(name, pkt):
        out.append((name, bytes(pkt)))

    def raw_ip(name, hdr_mod, payload=b""):
        """A correct header then changed by hdr_mod(bytearray) (checksum not redone)."""
        h = bytearray(bytes(IP(**ip, proto=17) / UDP(sport=4000, dport=closed_port) / payload))
        hdr_mod(h)
        out.append((name, bytes(e) + bytes(h)))

    # IPv4 header
    add("ihl 3", e / IP(**ip, ihl=3) / UDP(dport=closed_port))
    add("ihl 15, short packet", e / IP(**ip, ihl=15) / (b"\0" * 8))
    add("total length beyond frame", e / IP(**ip, len=1400) / UDP(dport=closed_port) / b"x")
    add("total length below header", e / IP(**ip, len=12) / UDP(dport=closed_port))
    add("version 6 in an IPv4 frame", e / IP(**ip, version=6) / UDP(dport=closed_port))
    add("bad header checksum", e / IP(**ip, chksum=0x1234) / UDP(dport=echo_port) / b"hdrsum")
    add("truncated header", bytes(e) + bytes(IP(**ip))[:11])
    add("ether only", bytes(e))
    add("options garbage", e / IP(**ip, ihl=7, options=b"\x44\x03\x00\x07" + b"\xff" * 4) /
        UDP(dport=closed_port))
    raw_ip("ihl 6 no room", lambda h: h.__setitem__(0, 0x46), b"")
    add("source 0.0.0.0", e / IP(src="0.0.0.0", dst=GW) / UDP(dport=closed_port))
    add("source broadcast", e / IP(src="255.255.255.255", dst=GW) / UDP(dport=closed_port))
    add("source = gateway", e / IP(src=GW, dst=GW) / TCP(dport=closed_port, flags="S"))
    add("unknown protocol", e / IP(**ip, proto=253) / (b"?" * 20))
    # TCP
    add("tcp data offset 2", e / IP(**ip) / TCP(dport=srv_port, flags="S", dataofs=2))
    add("tcp data offset 15, short", e / IP(**ip) / TCP(dport=srv_port, flags="S", dataofs=15))
    add("tcp header cut", bytes(e / IP(**ip, proto=6, len=30)) + b"\x10\x00\x00\x50" + b"\0" * 6)
    add("tcp bad checksum SYN", e / IP(**ip) / TCP(sport=4001, dport=srv_port, flags="S",
                                                    chksum=0xdead))
    add("tcp xmas to listener", e / IP(**ip) / TCP(sport=4002, dport=srv_port, flags="FSRPAUEC"))
    add("tcp bare ACK", e / IP(**ip) / TCP(sport=4004, dport=srv_port, flags="A", seq=5, ack=9))
    add("tcp bare FIN", e / IP(**ip) / TCP(sport=4005, dport=srv_port, flags="FA"))
    add("tcp RST no flow", e / IP(**ip) / TCP(sport=4006, dport=srv_port, flags="R"))
    add("tcp data no flow", e / IP(**ip) / TCP(sport=4007, dport=srv_port, flags="PA") / b"hi")
    add("tcp port 0", e / IP(**ip) / TCP(sport=4008, dport=0, flags="S"))
    # (an MSS option of length 2 is ignored, the SYN itself is valid: closed port)
    add("tcp options garbage", e / IP(**ip) / TCP(sport=4009, dport=closed_port, flags="S",
                                                   options=[(2, b"")]))
    # UDP
    add("udp length beyond packet", e / IP(**ip) / UDP(dport=echo_port, len=2000) / b"long")
    add("udp length 4", e / IP(**ip) / UDP(dport=echo_port, len=4) / b"short")
    add("udp bad checksum", e / IP(**ip) / UDP(sport=4010, dport=echo_port, chksum=0xbeef) /
        b"badsum")
    add("udp header cut", bytes(e / IP(**ip, proto=17, len=24)) + b"\x0f\xa0\x00")
    add("udp port 0", e / IP(**ip) / UDP(dport=0) / b"zero")
    # ICMP
    add("icmp 4 bytes", e / IP(**ip, proto=1) / b"\x08\x00\x00\x00")
    add("icmp bad checksum", e / IP(**ip) / ICMP(chksum=0x1111) / (b"x" * 8))
    add("icmp unreachable from guest", e / IP(**ip) / ICMP(type=3, code=3) /
        bytes(IP(src=GW, dst=src_ip) / UDP(sport=53, dport=4000)))
    # Fragments (to a closed port: whatever reassembles goes nowhere useful)
    fr = dict(**ip, proto=17)
    for i in range(300):  # never completed: the reassembly table must stay bounded
        add("first fragment only", e / IP(**fr, id=10000 + i, flags="MF") / (b"\0" * 64))
    add("frag beyond 64k", e / IP(**fr, id=20001, frag=8189) / (b"\0" * 200))
    add("frag odd length MF", e / IP(**fr, id=20002, flags="MF") / (b"\0" * 13))
    add("frag zero length", e / IP(**fr, id=20003, flags="MF", frag=3))
    ov = bytes(UDP(sport=4011, dport=closed_port, len=8 + 48)) + b"o" * 48
    add("frag overlap 1", e / IP(**fr, id=20004, flags="MF") / ov[:32])
    add("frag overlap 2", e / IP(**fr, id=20004, flags="MF", frag=2) / ov[16:40])
    add("frag overlap 3", e / IP(**fr, id=20004, frag=4) / ov[32:])
    add("frag duplicate", e / IP(**fr, id=20005, flags="MF") / ov[:24])
    add("frag duplicate", e / IP(**fr, id=20005, flags="MF") / ov[:24])
    add("frag tcp", e / IP(**ip, proto=6, id=20006, flags="MF") / (b"\0" * 24))
    add("frag tiny header", e / IP(**fr, id=20007, flags="MF") / (b"\0" * 8))
    add("frag tiny tail", e / IP(**fr, id=20007, frag=1) / (b"\0" * 2))
    big = bytes(UDP(sport=4012, dport=closed_port, len=65515, chksum=0) / (b"B" * 70000))[:65515]
    for off in range(0, len(big), 1480):  # a datagram longer than IPv4 allows
        add("frag huge", e / IP(**fr, id=20008, frag=off // 8, flags="MF") / big[off:off + 1480])
    add("frag huge end", e / IP(**fr, id=20008, frag=65528 // 8) / (b"\0" * 64))
    # Random byte flips of valid packets; the destination is put back to the gateway.
    base = [bytes(IP(**ip) / TCP(sport=4020, dport=closed_port, flags="S")),
            bytes(IP(**ip) / UDP(sport=4021, dport=closed_port) / (b"fuzz" * 10)),
            bytes(IP(**ip) / ICMP() / (b"fuzz" * 4))]
    gw = socket.inet_aton(GW)
    for _ in range(400):
        p = bytearray(rnd.choice(base))
        for _ in range(rnd.randint(1, 6)):
            p[rnd.randrange(len(p))] = rnd.randrange(256)
        p[16:20] = gw
        out.append(("random flips", bytes(e) + bytes(p[:rnd.randint(1, len(p))])))
    return out


def test_hostile_guest_malformed_packets(netns, vnetd, servers, tmp_path):
    d, a, b, srv, echo, victim = hostile_setup(netns, vnetd, servers, tmp_path)
    Ether, IP, TCP, UDP, ICMP = scapy_l2()
    eth = Ether(dst=gateway_mac(d), src=a.mac())
    closed = free_port(socket.SOCK_DGRAM)
    gw0, nat0 = nat_stats(d)
    rx0 = d.port_stats("g0")["rx_frames"]
    frames = malformed_frames(eth, guest_ip(0), srv.port, echo.port, closed, random.Random(7))
    send_frames(a, [f for _, f in frames])
    wait_for(lambda: d.port_stats("g0")["rx_frames"] >= rx0 + len(frames) * 0.95, 20,
             what="malformed frames received")
    time.sleep(0.5)
    d.assert_alive()
    gw1, nat1 = nat_stats(d)

    # Nothing broken reached a host socket: the bad-checksum SYN made no
    # connection, the bad-checksum/bad-length datagrams no echo request.
    assert srv.accepted == 1, f"{srv.accepted - 1} connections from broken segments"
    assert echo.seen == [], f"broken datagrams reached the host: {echo.seen}"
    assert gw1["ip_malformed"] >= gw0["ip_malformed"] + 8, (gw0, gw1)
    assert nat1["tcp_bad_checksum"] >= nat0["tcp_bad_checksum"] + 1, nat1
    assert nat1["udp_bad_checksum"] >= nat0["udp_bad_checksum"] + 1, nat1
    assert gw1["ip_fragments"] >= gw0["ip_fragments"] + 300

    # The hostile guest itself still works, and so does the other one.
    s = gsock(a)
    with s:
        s.connect((GW, srv.port))
        s.sendall(b"after")
        assert s.recv(10) == b"after"
    victim.finish()
    d.assert_alive()


def listening_ports():
    out = run(["ss", "-Htuln"]).stdout
    return {int(l.split()[4].rsplit(":", 1)[1]) for l in out.splitlines() if l.strip()}


def test_hostile_guest_syn_and_udp_floods(netns, vnetd, servers, tmp_path):
    n = 2000
    d, a, b, srv, echo, victim = hostile_setup(netns, vnetd, servers, tmp_path,
                                               net_extra={"nat": {"udp_timeout": 4}})
    Ether, IP, TCP, UDP, ICMP = scapy_l2()
    eth = Ether(dst=gateway_mac(d), src=a.mac())
    rnd = random.Random(11)
    busy = listening_ports()
    ports = rnd.sample([p for p in range(30000, 60000) if p not in busy], n)
    syns = [bytes(eth / IP(src=guest_ip(0), dst=GW) /
                  TCP(sport=rnd.randint(1024, 65535), dport=p, flags="S", seq=rnd.getrandbits(32)))
            for p in ports]
    # and a burst at one open port (the host accepts; the guest never completes)
    syns += [bytes(eth / IP(src=guest_ip(0), dst=GW) /
                   TCP(sport=20000 + i, dport=srv.port, flags="S", seq=i)) for i in range(300)]
    udps = [bytes(eth / IP(src=guest_ip(0), dst=GW) / UDP(sport=rnd.randint(1024, 65535), dport=p)
                  / b"flood") for p in ports]

    # Warm up, then the baseline memory.
    send_frames(a, syns[:100] + udps[:100])
    rss0 = rss_settled(d.pid)
    _, nat0 = nat_stats(d)

    send_frames(a, syns[100:])
    send_frames(a, udps[100:])
    # Flows beyond the guest's share (a quarter of the table) are refused.
    def udp_seen():
        s = nat_stats(d)[1]
        return (s["udp_created"] + s["refused_guest_share"] >=
                nat0["udp_created"] + nat0["refused_guest_share"] + (n - 100) * 0.9)
    wait_for(udp_seen, 20, what="UDP flood seen")
    d.assert_alive()
    _, nat1 = nat_stats(d)
    assert nat1["tcp_conn_refused"] >= nat0["tcp_conn_refused"] + (n - 100) * 0.9, nat1
    assert nat1["flows_active"] <= nat1["flows_max"]
    rss1 = vnet.vm_rss_kb(d.pid)

    # The other guest kept fetching all along; its old connection still works.
    fetched = victim.finish()
    # Flood flows go away (UDP idle timeout, TCP handshakes the guest never completed).
    wait_for(lambda: nat_stats(d)[1]["udp_active"] == 0, 30, what="UDP flood flows expired")
    wait_for(lambda: nat_stats(d)[1]["tcp_active"] <= 1, 60, what="SYN flood flows gone")
    nat2 = nat_stats(d)[1]
    assert nat2["refused_guest_share"] > nat0["refused_guest_share"]
    assert nat2["idle_timeouts"] >= (nat2["udp_created"] - nat0["udp_created"]) * 0.9
    rss2 = rss_settled(d.pid)
    assert rss1 - rss0 < 64 * 1024 and rss2 - rss0 < 64 * 1024, \
        f"vnetd RSS grew from {rss0} kB to {rss1} kB (flood) / {rss2} kB (after)"
    print(f"victim fetches: {fetched}; RSS {rss0} -> {rss1} -> {rss2} kB; nat {nat2}")
    d.assert_alive()


def test_syn_fin_segment_opens_no_connection(netns, vnetd, servers):
    d, (a,) = nat_setup(netns, vnetd)
    Ether, IP, TCP, UDP, ICMP = scapy_l2()
    srv = TcpServer(echo_handler)
    servers.append(srv)
    eth = Ether(dst=gateway_mac(d), src=a.mac())
    send_frames(a, [bytes(eth / IP(src=guest_ip(0), dst=GW) /
                          TCP(sport=4003, dport=srv.port, flags="SF", seq=1000))])
    time.sleep(1)
    d.assert_alive()
    assert srv.accepted == 0, "SYN+FIN made a connection on the host"


# --------------------------------------------------------------------------- QEMU

# Guest side (busybox ash). busybox 1.35 wget -T segfaults: timeout(1) bounds it.
VM_SCRIPT = r"""
n=0
until timeout 30 wget -q -O /tmp/blob http://10.0.2.2:@PORT@/blob.bin; do
    n=$((n+1)); [ $n -ge 10 ] && { echo GUEST-FETCH-FAILED; exit 1; }; sleep 1
done
echo "GUEST-SUM=$(sha256sum /tmp/blob | cut -d' ' -f1)"
mkdir -p /tmp/www/cgi-bin
echo served-by-the-vm > /tmp/www/index.html
printf '#!/bin/sh\necho "Content-Type: text/plain"\necho\necho cgi-in-the-vm\ntouch /tmp/fetched\n' \
    > /tmp/www/cgi-bin/done
chmod +x /tmp/www/cgi-bin/done
httpd -p 80 -h /tmp/www
echo GUEST-HTTPD-UP
n=0
until [ -e /tmp/fetched ]; do
    n=$((n+1)); [ $n -ge 500 ] && { echo GUEST-NOT-FETCHED; exit 2; }; sleep 0.2
done
echo GUEST-DONE
"""


@pytest.mark.vm
def test_qemu_vm_static_address_through_nat(vnetd, procs, servers, tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    from test_foundation import start_vm, wait_vm
    guest = vnet.REPO / "build" / "vm"
    assert (guest / "vmlinuz").exists() and (guest / "initramfs.cpio.gz").exists(), \
        "no guest image in build/vm: run 'make guest'"
    www = tmp_path / "www"
    www.mkdir()
    blob_sum = write_random_file(www / "blob.bin", 2 * 1000 * 1000)
    http = HttpServer(www)
    servers.append(http)
    spath = str(tmp_path / "vm.sock")
    pf = free_port()
    d = vnetd({"networks": [nat_network(forwards=[
                  {"proto": "tcp", "host": str(pf), "guest": "10.0.2.15:80"}])],
               "ports": [{"name": "vm", "type": "stream", "path": spath, "network": NET}]})
    vm = start_vm(procs, tmp_path, "nat", f"stream:{spath}", "10.0.2.15/24,10.0.2.2",
                  "52:54:00:0e:00:15", VM_SCRIPT.replace("@PORT@", str(http.port)), 150)
    wait_for(lambda: "GUEST-HTTPD-UP" in vm.log.read_text(errors="replace") or
             vm.poll() is not None, 150, interval=0.5, what="the VM's web server")
    assert vm.poll() is None, vm.log.read_text(errors="replace")[-4000:]

    # The host reaches the VM's web server through the forward.
    r = wait_for(lambda: run(["curl", "-sS", "--max-time", "10",
                              f"http://127.0.0.1:{pf}/index.html"], check=False), 30,
                 what="page from the VM")
    assert r.stdout == "served-by-the-vm\n", r.stderr
    r = run(["curl", "-sS", "--max-time", "20", f"http://127.0.0.1:{pf}/cgi-bin/done"])
    assert r.stdout == "cgi-in-the-vm\n"
    out = wait_vm(vm)
    assert f"GUEST-SUM={blob_sum}" in out, out[-3000:]
    assert "GUEST-DONE" in out
    fl = d.ctl("forward", "list")[0]
    assert fl["accepted"] >= 2
    d.assert_alive()
