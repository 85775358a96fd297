"""Helpers for the NAT functional tests (test_nat.py, test_run.py).

Guests are network namespaces with a tap port on a `mode: nat` network and a
static address (10.0.2.15/24 and up, default route via the gateway 10.0.2.2,
which leads to the host's 127.0.0.1). DHCP and DNS are switched off: these
tests are about the NAT engine only.

Host-side peers are servers on 127.0.0.1 run by threads of the test process
(each bound to port 0, so concurrent test runs never collide); they stop when
the test's `closing` list is drained. Nothing here talks to anything but
loopback and namespaces the tests created.
"""
import functools
import hashlib
import http.server
import os
import socket
import threading

import vnet
from vnet import wait_for

GW = "10.0.2.2"
NET = "lan"


def tap(name, ns, network=NET, mac=None, **kw):
    p = {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0", "network": network}
    if mac:
        p["mac"] = mac
    p.update(kw)
    return p


def nat_network(name=NET, **extra):
    """A nat network with DHCP and DNS off (static guests)."""
    n = {"name": name, "mode": "nat", "dhcp": {"enabled": False}, "dns": {"enabled": False}}
    n.update(extra)
    return n


def guest_ip(i):
    return f"10.0.2.{15 + i}"


def configure_guest(ns, ip, gw=GW):
    """Static address, default route via the gateway, gateway answering."""
    ns.wait_link()
    ns.addr(f"{ip}/24")
    ns.ip("link", "set", "eth0", "up")
    ns.ip("route", "add", "default", "via", gw)
    ns.ping_until(gw, timeout=15)


def nat_setup(netns, vnetd, n=1, net_extra=None, args=(), ports_extra=()):
    """vnetd with one nat network 'lan' and n guests g0..g(n-1) at 10.0.2.15+i.
    Returns (d, [ns...])."""
    guests = [netns() for _ in range(n)]
    conf = {
        "networks": [nat_network(**(net_extra or {}))],
        "ports": [tap(f"g{i}", ns, mac=f"02:00:00:0e:00:{i + 1:02x}")
                  for i, ns in enumerate(guests)] + list(ports_extra),
    }
    d = vnetd(conf, args=args)
    for i, ns in enumerate(guests):
        configure_guest(ns, guest_ip(i))
    return d, guests


def nat_stats(d, network=NET):
    return d.network(network)["gateway"]["stats"], d.network(network)["gateway"]["nat"]


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that is free right now (for listeners vnetd opens)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def host_listening(port):
    """True if anything on the host listens on TCP port (any address)."""
    out = vnet.run(["ss", "-Htnl", f"sport = :{port}"]).stdout
    return bool(out.strip())


def write_random_file(path, size, chunk=1 << 20):
    """size random bytes in path; returns its sha256 hex digest."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            b = os.urandom(min(chunk, left))
            h.update(b)
            f.write(b)
            left -= len(b)
    return h.hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


# ---------------------------------------------------------------- host servers

class Server:
    """A socket served by a daemon thread; close() stops it."""

    def __init__(self, sock):
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.errors = []
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        try:
            self.serve()
        except OSError:
            pass  # closed
        except Exception as e:  # surfaced by the tests that look
            self.errors.append(e)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._t.join(5)


class TcpServer(Server):
    """Listener on 127.0.0.1 (or `sock`, already bound and listening): each
    accepted connection goes to handler(conn, addr) on its own thread."""

    def __init__(self, handler, host="127.0.0.1", sock=None, backlog=128):
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, 0))
            sock.listen(backlog)
        self.handler = handler
        self.accepted = 0
        self.results = []
        super().__init__(sock)

    def serve(self):
        while True:
            conn, addr = self.sock.accept()
            self.accepted += 1
            threading.Thread(target=self._one, args=(conn, addr), daemon=True).start()

    def _one(self, conn, addr):
        try:
            with conn:
                r = self.handler(conn, addr)
                if r is not None:
                    self.results.append(r)
        except Exception as e:
            self.errors.append(e)


class UdpEcho(Server):
    """UDP echo on 127.0.0.1 (or on `sock`); records (data length, peer)."""

    def __init__(self, host="127.0.0.1", sock=None):
        if sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((host, 0))
        self.seen = []
        super().__init__(sock)

    def serve(self):
        while True:
            data, peer = self.sock.recvfrom(65535)
            self.seen.append((len(data), peer))
            self.sock.sendto(data, peer)


def echo_handler(conn, addr):
    while True:
        b = conn.recv(65536)
        if not b:
            return
        conn.sendall(b)


def sink_handler(conn, addr):
    """Reads to EOF; the result is (bytes, sha256)."""
    h = hashlib.sha256()
    n = 0
    while True:
        b = conn.recv(1 << 20)
        if not b:
            return n, h.hexdigest()
        n += len(b)
        h.update(b)


class ThreadedHttp:
    """An http.server.ThreadingHTTPServer with request handler class handler
    on (host, a free port), served by a thread; make(f) creates the server
    (f()) where it must live, e.g. a namespace's in_ns. .port, .close()."""

    def __init__(self, handler, host="127.0.0.1", make=None):
        mk = lambda: http.server.ThreadingHTTPServer((host, 0), handler)
        self.httpd = make(mk) if make else mk()
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._t.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._t.join(5)


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging each request."""

    def log_message(self, *a):
        pass


class HttpServer(ThreadedHttp):
    """python's http.server serving directory on 127.0.0.1:port (thread)."""

    def __init__(self, directory):
        super().__init__(functools.partial(QuietFiles, directory=str(directory)))


def rss_settled(pid, timeout=10):
    """VmRSS (kB) once it stops growing for a moment."""
    state = {"prev": vnet.vm_rss_kb(pid)}

    def still():
        import time
        time.sleep(0.3)
        cur = vnet.vm_rss_kb(pid)
        ok = cur <= state["prev"]
        state["prev"] = cur
        return cur if ok else None

    try:
        return wait_for(still, timeout, interval=0, what="RSS settled")
    except AssertionError:
        return vnet.vm_rss_kb(pid)
