"""Helpers for the policy and sandbox tests: tap port entries, TCP/UDP echo
servers and clients inside namespaces, scapy frame injection, iperf3 runs,
and a vnetd started as an unprivileged user.

Every address used lives inside a namespace the test created or on loopback.
"""
import json
import socket
import time

import vnet
from vnet import wait_for

# A TCP + UDP echo server: python3 -c SERVER TCPPORTS UDPPORTS [6] (comma
# lists; "6": dual-stack sockets on [::] that take IPv4 and IPv6 clients).
# TCP connections are echoed line by line until the peer closes.
_SERVER = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
v6 = sys.argv[3:] == ["6"]
fam, host = (socket.AF_INET6, "::") if v6 else (socket.AF_INET, "0.0.0.0")
def mk(kind):
    s = socket.socket(fam, kind)
    if v6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return s
for p in filter(None, sys.argv[1].split(",")):
    s = mk(socket.SOCK_STREAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(p))); s.listen(64); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, "listen")
for p in filter(None, sys.argv[2].split(",")):
    u = mk(socket.SOCK_DGRAM); u.bind((host, int(p)))
    sel.register(u, selectors.EVENT_READ, "udp")
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        s, kind = key.fileobj, key.data
        if kind == "listen":
            c, _ = s.accept(); c.setblocking(False); sel.register(c, selectors.EVENT_READ, "tcp")
        elif kind == "udp":
            d, a = s.recvfrom(65535); s.sendto(d, a)
        else:
            try:
                d = s.recv(65535)
            except OSError:
                d = b""
            if not d:
                sel.unregister(s); s.close()
            else:
                s.sendall(d)
"""


def tap(name, ns, network="lan", mac=None, **kw):
    """A tap port entry: interface eth0 inside namespace ns."""
    p = {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0", "network": network}
    if mac:
        p["mac"] = mac
    p.update(kw)
    return p


def echo_server(ns, tcp=(), udp=(), v6=False):
    """Start the echo server in ns on the given ports (v6: dual-stack, for
    IPv6 and IPv4 clients; needs IPv6 on in ns); returns its process."""
    p = ns.start("/usr/bin/python3", "-c", _SERVER, ",".join(map(str, tcp)),
                 ",".join(map(str, udp)), *(["6"] if v6 else []))
    for port in tcp:
        wait_for(lambda: ns.listening(port), 10, what=f"echo server on tcp {port}")
    for port in udp:
        wait_for(lambda: ns.listening(port, "u"), 10, what=f"echo server on udp {port}")
    return p


def _family(ip):
    return socket.AF_INET6 if ":" in ip else socket.AF_INET


def tcp_try(ns, ip, port, timeout=2.0):
    """Connect from ns to ip:port (IPv4 or IPv6) and echo one line. Returns
    (outcome, seconds): 'ok', 'refused' (RST), 'unreachable:ERRNO' (ICMP or
    ICMPv6 error) or 'timeout'."""
    def body():
        t0 = time.monotonic()
        s = socket.socket(_family(ip))
        s.settimeout(timeout)
        try:
            s.connect((ip, port))
            s.sendall(b"hello\n")
            got = b""
            while not got.endswith(b"\n"):
                d = s.recv(100)
                if not d:
                    break
                got += d
            return ("ok" if got == b"hello\n" else "bad-echo"), time.monotonic() - t0
        except ConnectionRefusedError:
            return "refused", time.monotonic() - t0
        except (socket.timeout, TimeoutError):
            return "timeout", time.monotonic() - t0
        except OSError as e:  # EHOSTUNREACH, ENETUNREACH
            return f"unreachable:{e.errno}", time.monotonic() - t0
        finally:
            s.close()
    return ns.in_ns(body)


def udp_try(ns, ip, port, timeout=2.0, tries=2, reply=b"ping"):
    """Send a datagram from ns to ip:port (IPv4 or IPv6, connected socket) and wait for its
    echo. Returns (outcome, seconds) like tcp_try; an ICMP error shows up as
    'refused' (port unreachable) or 'unreachable:ERRNO' (e.g. filtered).
    reply: the answer that counts as 'ok'."""
    def body():
        t0 = time.monotonic()
        s = socket.socket(_family(ip), socket.SOCK_DGRAM)
        s.settimeout(timeout / tries)
        try:
            s.connect((ip, port))
            for _ in range(tries):
                s.send(b"ping")
                try:
                    if s.recv(100) == reply:
                        return "ok", time.monotonic() - t0
                except (socket.timeout, TimeoutError):
                    continue
            return "timeout", time.monotonic() - t0
        except ConnectionRefusedError:
            return "refused", time.monotonic() - t0
        except OSError as e:
            return f"unreachable:{e.errno}", time.monotonic() - t0
        finally:
            s.close()
    return ns.in_ns(body)


class TcpSession:
    """A TCP connection opened inside ns that stays open; echo() checks it."""

    def __init__(self, ns, ip, port, timeout=5.0):
        self.ns = ns

        def mk():
            s = socket.socket()
            s.settimeout(timeout)
            s.connect((ip, port))
            return s
        self.sock = ns.in_ns(mk)

    def echo(self, data=b"still here\n", timeout=5.0):
        """True if data comes back (the socket works from any thread)."""
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
            got = b""
            while len(got) < len(data):
                d = self.sock.recv(65535)
                if not d:
                    return False
                got += d
            return got == data
        except OSError:
            return False

    def close(self):
        self.sock.close()


def scapy_send(ns, frames, iface="eth0"):
    """Send raw frames (bytes) out of iface in ns with scapy (sendp)."""
    hexes = [f.hex() for f in frames]
    code = ("import sys, json\n"
            "from scapy.all import sendp, conf\n"
            "conf.verb = 0\n"
            "for h in json.loads(sys.argv[1]):\n"
            "    sendp(bytes.fromhex(h), iface=sys.argv[2], verbose=False)\n")
    ns.exec("/usr/bin/python3", "-c", code, json.dumps(hexes), iface, timeout=60)


def acl_rules(d, target):
    """The rules of target as a list of {index, rule, hits}."""
    res = d.ctl("acl", "list", target)
    return res["acls"][0]["rules"]


def hits(d, target):
    return [r["hits"] for r in acl_rules(d, target)]


def drops(d, port, direction="rx"):
    return d.port_stats(port)[f"{direction}_drops"]


def iperf3(client_ns, server_ns, server_ip, secs=5, extra=(), port=5201):
    """One bounded iperf3 run; returns its JSON result (client side)."""
    srv = server_ns.start("iperf3", "-s", "-1", "-B", server_ip, "-p", str(port))
    wait_for(lambda: server_ns.listening(port), 10, what="iperf3 server")
    try:
        cli = client_ns.exec("iperf3", "-c", server_ip, "-p", str(port), "-t", str(secs), "-J",
                             *extra, timeout=secs + 40, check=False)
        srv.wait(timeout=20)
    finally:
        vnet.Procs.stop(srv)
    res = json.loads(cli.stdout)
    assert "error" not in res, f"iperf3 failed: {res.get('error')}"
    return res


# ---------------------------------------------------------------- unprivileged vnetd

NOBODY = 65534


def setpriv(uid=NOBODY, gid=NOBODY, groups=None):
    """The setpriv prefix that runs a command as uid/gid with only `groups`."""
    cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}"]
    if groups:
        cmd.append("--groups=" + ",".join(str(g) for g in groups))
    else:
        cmd.append("--clear-groups")
    return cmd


def UserVnetd(*a, prefix=(), **kw):
    """A vnetd started through a prefix (setpriv) instead of directly."""
    return vnet.Vnetd(*a, prefix=prefix, **kw)


def ctl_as(d, prefix, *args, timeout=15):
    """vnetctl run through prefix (e.g. setpriv ...) against d; CompletedProcess."""
    cmd = list(prefix) + [vnet.VNETCTL, "--control", d.control, "-j", *args]
    return vnet.run(cmd, timeout=timeout, check=False)


# ---------------------------------------------------------------- /proc

CAP_NAMES = {0: "chown", 1: "dac_override", 2: "dac_read_search", 3: "fowner", 4: "fsetid",
             5: "kill", 6: "setgid", 7: "setuid", 8: "setpcap", 9: "linux_immutable",
             10: "net_bind_service", 11: "net_broadcast", 12: "net_admin", 13: "net_raw",
             14: "ipc_lock", 15: "ipc_owner", 16: "sys_module", 17: "sys_rawio",
             18: "sys_chroot", 19: "sys_ptrace", 20: "sys_pacct", 21: "sys_admin",
             22: "sys_boot", 23: "sys_nice", 24: "sys_resource", 25: "sys_time",
             26: "sys_tty_config", 27: "mknod", 28: "lease", 29: "audit_write",
             30: "audit_control", 31: "setfcap", 32: "mac_override", 33: "mac_admin",
             34: "syslog", 35: "wake_alarm", 36: "block_suspend", 37: "audit_read",
             38: "perfmon", 39: "bpf", 40: "checkpoint_restore"}


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def cap_set(hexmask):
    """Names of the capabilities in a /proc CapXxx hex mask."""
    m = int(hexmask, 16)
    return {CAP_NAMES.get(b, f"cap{b}") for b in range(64) if m >> b & 1}
