"""IPv6 helpers shared by the hostile-guest, observability and bridge tests:
switch IPv6 on in a namespace (the Netns fixture turns it off), wait for a
SLAAC address, run ISC dhclient -6 with a private script, TCP servers on ::1.

Every address used lives inside a namespace the test created or on loopback.
"""
import json
import os
import socket

from nat_util import TcpServer, UdpEcho
from vnet import wait_for


def ipv6_on(ns, accept_ra=True):
    """IPv6 on for interfaces made from now on; SLAAC from RAs if accept_ra."""
    ra = "1" if accept_ra else "0"
    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0", f"net.ipv6.conf.default.accept_ra={ra}",
            f"net.ipv6.conf.default.autoconf={ra}")


def addrs6(ns, dev="eth0", scope=None):
    """[(address, flags dict)] of dev's IPv6 addresses (of scope, if given)."""
    out = json.loads(ns.ip("-j", "-6", "addr", "show", "dev", dev).stdout)
    return [(a["local"], a) for link in out for a in link.get("addr_info", [])
            if scope is None or a.get("scope") == scope]


def slaac_addr(ns, prefix, dev="eth0", timeout=15):
    """The global address dev got by SLAAC inside prefix ("PFX::/64"), once
    DAD is over."""
    net = prefix.split("/")[0].rstrip(":")

    def got():
        for a, info in addrs6(ns, dev, "global"):
            if a.startswith(net) and "tentative" not in info:
                return a
        return None
    return wait_for(got, timeout, interval=0.1, what=f"a SLAAC address in {prefix}")


def link_local_ready(ns, dev="eth0", timeout=15):
    """dev's link-local address once DAD is over (dhclient -6 binds to it)."""
    def ready():
        for a, info in addrs6(ns, dev, "link"):
            if "tentative" not in info:
                return a
        return None
    return wait_for(ready, timeout, interval=0.1, what="a usable link-local address")


def socket6(kind=socket.SOCK_STREAM, host="::1", ns=None):
    """An IPv6 socket bound to host port 0 (listening, for TCP), made inside
    namespace ns when given (a socket stays in the namespace it was made in)."""
    def mk():
        s = socket.socket(socket.AF_INET6, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        if kind == socket.SOCK_STREAM:
            s.listen(64)
        return s
    return ns.in_ns(mk) if ns else mk()


class Tcp6Server(TcpServer):
    """nat_util.TcpServer on an IPv6 address (::1 by default), in namespace
    ns when given."""

    def __init__(self, handler, host="::1", ns=None):
        super().__init__(handler, sock=socket6(socket.SOCK_STREAM, host, ns))


class Udp6Echo(UdpEcho):
    """nat_util.UdpEcho on an IPv6 address, in namespace ns when given."""

    def __init__(self, host="::1", ns=None):
        super().__init__(sock=socket6(socket.SOCK_DGRAM, host, ns))


class Dhclient6:
    """ISC dhclient -6 in ns (DUID-LL, one try, its own lease, pid and config
    files); its -sf script only records what it was told (the host's
    resolv.conf is never touched)."""

    def __init__(self, ns, tmp_path, tag, timeout=20):
        self.ns = ns
        self.lf = tmp_path / f"{tag}.leases"
        self.pf = tmp_path / f"{tag}.pid"
        self.cf = tmp_path / f"{tag}.conf"
        self.out = tmp_path / f"{tag}.env"
        self.cf.write_text(f"timeout {timeout};\n"
                           "request dhcp6.name-servers, dhcp6.domain-search;\n")
        self.sf = tmp_path / f"{tag}.sh"
        self.sf.write_text(f"#!/bin/sh\nenv | grep -E '^(reason|new_)' >> {self.out}\n"
                           f"echo >> {self.out}\nexit 0\n")
        self.sf.chmod(0o755)

    def run(self, *flags, timeout=60):
        """One bounded run (-1); returns dhclient's log (stdout + stderr)."""
        r = self.ns.exec("dhclient", "-6", "-1", "-v", "-D", "LL", *flags, "-cf", str(self.cf),
                         "-lf", str(self.lf), "-pf", str(self.pf), "-sf", str(self.sf), "eth0",
                         timeout=timeout, check=False)
        self.stop()
        return r.stdout + r.stderr

    def stop(self):
        """dhclient daemonizes once bound: stop it by its pid file."""
        try:
            os.kill(int(self.pf.read_text().strip()), 15)
        except (OSError, ValueError):
            pass

    def events(self, reason):
        text = self.out.read_text() if self.out.exists() else ""
        blocks = [dict(l.split("=", 1) for l in b.splitlines() if "=" in l)
                  for b in text.split("\n\n")]
        return [b for b in blocks if b.get("reason") == reason]
