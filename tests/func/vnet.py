"""Helpers for the functional tests: namespaces, a vnetd under test, vnetctl,
background processes, polling with deadlines, raw frames.

Network safety: every address used here lives inside a namespace the test
created (or on loopback); nothing is sent anywhere else.
"""
import ctypes
import json
import os
import re
import secrets
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("VNET_BUILD") or REPO / "build").resolve()
VNETD = BUILD / "vnetd"
VNETCTL = BUILD / "vnetctl"
VM_DIR = REPO / "tests" / "vm"

# Sanitizer reports that fail a test when they show up in a daemon's log.
SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Sanitizer settings for the processes we start (harmless for a normal build).
SAN_ENV = {
    "ASAN_OPTIONS": "abort_on_error=0:detect_leaks=1:symbolize=1",
    "UBSAN_OPTIONS": "print_stacktrace=1",
}

CMD_TIMEOUT = 30  # default bound for every external command


class CommandError(AssertionError):
    pass


def env():
    e = dict(os.environ)
    e.update(SAN_ENV)
    return e


def run(cmd, timeout=CMD_TIMEOUT, check=True, input=None):
    """Run cmd (a list) with a timeout; returns CompletedProcess with text output."""
    cmd = [str(c) for c in cmd]
    try:
        cp = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=timeout,
                            env=env())
    except subprocess.TimeoutExpired as e:
        raise CommandError(f"timed out after {timeout}s: {' '.join(cmd)}\n"
                           f"stdout: {e.stdout}\nstderr: {e.stderr}") from None
    if check and cp.returncode != 0:
        raise CommandError(f"exit {cp.returncode}: {' '.join(cmd)}\n"
                           f"stdout: {cp.stdout}\nstderr: {cp.stderr}")
    return cp


def wait_for(pred, timeout=10.0, interval=0.05, what="condition"):
    """Poll pred() until it returns a truthy value; return it. Fails at the deadline."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
        except (AssertionError, CommandError, OSError, ValueError, KeyError) as e:
            last_exc = e
        if time.monotonic() >= deadline:
            msg = f"timed out after {timeout}s waiting for {what}"
            if last_exc is not None:
                msg += f" (last error: {last_exc})"
            raise AssertionError(msg)
        time.sleep(interval)


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for pid {pid}")


# ---------------------------------------------------------------- processes

class Procs:
    """Background processes started by a test; each is stopped by its PID."""

    def __init__(self):
        self.procs = []

    def start(self, cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **kw):
        cmd = [str(c) for c in cmd]
        p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env=env(), text=True, **kw)
        p.cmdline = " ".join(cmd)
        self.procs.append(p)
        return p

    @staticmethod
    def stop(p, sig=signal.SIGTERM, timeout=5):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait(timeout=5)
        return p.returncode

    def cleanup(self):
        for p in reversed(self.procs):
            self.stop(p)
            for f in (p.stdout, p.stderr):
                if f:
                    f.close()
        self.procs.clear()


# ---------------------------------------------------------------- namespaces

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


class Netns:
    """A network namespace made for one test (deleted by the fixture)."""

    def __init__(self, procs, name=None):
        self.name = name or "vnt-" + secrets.token_hex(4)
        self.path = f"/run/netns/{self.name}"
        self.procs = procs
        run(["ip", "netns", "add", self.name])
        try:
            self.ip("link", "set", "lo", "up")
            # No IPv6 chatter (DAD, router solicitations, MLD): it would make the
            # frame counters the tests compare non-deterministic.
            self.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1",
                      "net.ipv6.conf.default.disable_ipv6=1")
        except Exception:
            self.delete()
            raise

    def __repr__(self):
        return f"Netns({self.name})"

    def exec(self, *cmd, timeout=CMD_TIMEOUT, check=True):
        return run(["ip", "netns", "exec", self.name, *cmd], timeout=timeout, check=check)

    def ip(self, *args, check=True):
        return run(["ip", "-n", self.name, *args], check=check)

    def start(self, *cmd, **kw):
        """A background command inside the namespace (ip netns exec execs it: same PID)."""
        return self.procs.start(["ip", "netns", "exec", self.name, *cmd], **kw)

    def links(self):
        out = self.ip("-j", "link", "show").stdout
        return {l["ifname"]: l for l in json.loads(out)}

    def has_link(self, ifname):
        return ifname in self.links()

    def wait_link(self, ifname="eth0", timeout=5):
        return wait_for(lambda: self.links().get(ifname), timeout, what=f"{ifname} in {self.name}")

    def addr(self, cidr, dev="eth0"):
        self.ip("addr", "add", cidr, "dev", dev)

    def mac(self, dev="eth0"):
        return self.links()[dev]["address"]

    def ping(self, dst, count=3, interval=0.2, wait=1, size=None, extra=(), check=True,
             timeout=None):
        cmd = ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait)]
        if size is not None:
            cmd += ["-s", str(size)]
        cmd += list(extra) + [dst]
        t = timeout or count * (interval + wait) + 10
        return self.exec(*cmd, timeout=t, check=check)

    def ping_until(self, dst, timeout=10):
        """Ping until a reply arrives (ARP, link set-up); returns when one does."""
        return wait_for(lambda: self.ping(dst, count=1, wait=1, check=False).returncode == 0,
                        timeout, interval=0.1, what=f"{self.name} reaching {dst}")

    def listening(self, port, proto="t"):
        out = self.exec("ss", "-Hn" + proto + "l", f"sport = :{port}").stdout
        return bool(out.strip())

    def in_ns(self, fn):
        """Run fn() on a thread that entered this namespace (sockets made there stay there)."""
        box = {}

        def body():
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns {self.path}: {os.strerror(e)}")
                box["v"] = fn()
            except BaseException as e:  # re-raised in the caller
                box["e"] = e
            finally:
                os.close(fd)

        t = threading.Thread(target=body, name=f"in-{self.name}")
        t.start()
        t.join(30)
        if "e" in box:
            raise box["e"]
        return box.get("v")

    def packet_socket(self, ifname="eth0"):
        """A raw AF_PACKET socket bound to ifname inside the namespace."""
        def mk():
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            s.bind((ifname, 0))
            return s
        return self.in_ns(mk)

    def delete(self):
        run(["ip", "netns", "del", self.name], check=False, timeout=10)


# ---------------------------------------------------------------- configuration

def _yval(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yval(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k}: {_yval(x)}" for k, x in v.items()) + " }"
    return json.dumps(str(v))  # a JSON string is a YAML double-quoted scalar


def to_yaml(conf):
    """YAML text for a config dict: top-level scalars, lists of one-line mappings."""
    lines = []
    for k, v in conf.items():
        if isinstance(v, list) and v and isinstance(v[0], dict):
            lines.append(f"{k}:")
            for item in v:
                lines.append(f"  - {_yval(item)}")
        else:
            lines.append(f"{k}: {_yval(v)}")
    return "\n".join(lines) + "\n"


def ping_stats(text):
    """(transmitted, received) of a ping summary."""
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    assert m, f"no ping summary in: {text!r}"
    return int(m.group(1)), int(m.group(2))


def quiet_counters(d, ports, settle=0.3, timeout=10):
    """Wait until the ports' counters stop moving; returns the last snapshot."""
    def snap():
        return {p: d.port_stats(p) for p in ports}

    state = {"prev": snap()}

    def still():
        time.sleep(settle)
        cur = snap()
        same = cur == state["prev"]
        state["prev"] = cur
        return cur if same else None

    return wait_for(still, timeout, interval=0, what="quiet counters")


# ---------------------------------------------------------------- vnetd

class Vnetd:
    """One vnetd under test: config in workdir, log in workdir/vnetd.log."""

    def __init__(self, workdir, conf, name="vnetd", args=(), procs=None, prefix=()):
        """prefix: a command vnetd is started through, e.g. ["ip", "netns", "exec",
        NS] or setpriv; it must exec vnetd so that the PID is vnetd's."""
        self.prefix = [str(x) for x in prefix]
        self.workdir = Path(workdir)
        self.name = name
        self.control = str(self.workdir / f"{name}.ctl")
        if isinstance(conf, dict):
            conf = dict(conf)
            conf.setdefault("control", self.control)
            conf.setdefault("state_dir", str(self.workdir / f"{name}-state"))
            self.control = conf["control"]
            self.conf = conf
            text = to_yaml(conf)
        else:
            self.conf = None
            text = conf
            m = re.search(r"^control:\s*\"?([^\"\n]+)\"?", text, re.M)
            if m:
                self.control = m.group(1).strip()
        # VNET_WORKERS=N runs every generated daemon with `workers: N` (the
        # suite is meant to pass with 1 and 2; docs/threading.md).
        workers = os.environ.get("VNET_WORKERS")
        if workers and not re.search(r"^workers:", text, re.M):
            text = f"workers: {int(workers)}\n" + text
        self.config_path = self.workdir / f"{name}.yaml"
        self.config_path.write_text(text)
        self.log_path = self.workdir / f"{name}.log"
        self.args = list(args)
        self.proc = None
        self.pid = None
        self.socket_paths = [self.control]
        if self.conf:
            for p in self.conf.get("ports", []):
                if p.get("type") in ("stream", "dgram") and p.get("path"):
                    self.socket_paths.append(p["path"])
                # a vhost-user port listens on its path in server mode (the default)
                if p.get("type") == "vhost-user" and p.get("mode", "server") == "server":
                    self.socket_paths.append(p["path"])

    # -- lifecycle
    def start(self, timeout=20):
        # A shared build directory may be mid-link: wait for the binary.
        wait_for(lambda: os.access(VNETD, os.X_OK), 120, interval=0.5, what=f"{VNETD} to exist")
        self._logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.prefix + [str(VNETD), "-c", str(self.config_path),
                                                    *self.args],
                                     stdin=subprocess.DEVNULL, stdout=self._logf,
                                     stderr=subprocess.STDOUT, env=env())
        self.pid = self.proc.pid

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"vnetd exited with {self.proc.returncode} during start-up")
            return os.path.exists(self.control) and "msg=ready" in self.log()

        try:
            wait_for(ready, timeout, what="vnetd ready")
        except RuntimeError as e:
            self._logf.close()  # nothing for the fixture's teardown to stop
            raise AssertionError(f"{e}\n--- log ---\n{self.log()}") from None
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def sanitizer_reports(self):
        return [l for l in self.log().splitlines() if any(p in l for p in SANITIZER_PATTERNS)]

    def check_log(self):
        bad = self.sanitizer_reports()
        assert not bad, "sanitizer reports in the vnetd log:\n" + "\n".join(bad[:20])

    def stop(self, timeout=20):
        """SIGTERM by PID; exit status 0, its sockets gone, a clean log."""
        assert self.proc is not None, "vnetd was not started"
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
                raise AssertionError(f"vnetd did not exit within {timeout}s of SIGTERM")
        self._logf.close()
        rc = self.proc.returncode
        self.check_log()
        assert rc == 0, f"vnetd exited with status {rc}"
        left = [p for p in self.socket_paths if os.path.exists(p)]
        assert not left, f"vnetd left socket files behind: {left}"
        return rc

    def kill(self):
        if self.running():
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc is not None:
            self._logf.close()

    def assert_alive(self):
        assert self.running(), f"vnetd died (status {self.proc.returncode})"

    # -- control
    def ctl_raw(self, *args, json_out=True, timeout=15):
        cmd = [VNETCTL, "--control", self.control] + (["-j"] if json_out else []) + list(args)
        return run(cmd, timeout=timeout, check=False)

    def ctl(self, *args, timeout=15):
        cp = self.ctl_raw(*args, timeout=timeout)
        if cp.returncode != 0:
            raise CommandError(f"vnetctl {' '.join(args)}: exit {cp.returncode}: {cp.stderr}")
        return json.loads(cp.stdout)

    def port(self, name):
        return self.ctl("port", "show", name)[0]

    def port_stats(self, name):
        return self.ctl("stats", name)["ports"][0]

    def network(self, name):
        return self.ctl("network", "show", name)[0]

    def fdb(self, network=None):
        return self.ctl("fdb", *([network] if network else []))

    def fdb_macs(self, network=None):
        return {e["mac"]: e["port"] for e in self.fdb(network)}


# ---------------------------------------------------------------- frames

def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def mac_str(b):
    return ":".join(f"{x:02x}" for x in b)


def eth_frame(dst, src, ethertype, payload=b"", min_len=60):
    f = mac_bytes(dst) + mac_bytes(src) + struct.pack("!H", ethertype) + payload
    return f + b"\0" * max(0, min_len - len(f))


def stream_frame(frame):
    """QEMU stream framing: 4-byte big-endian length, then the frame."""
    return struct.pack("!I", len(frame)) + frame


def arp_request(src_mac, src_ip, target_ip):
    payload = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac_bytes(src_mac),
                          socket.inet_aton(src_ip), b"\0" * 6, socket.inet_aton(target_ip))
    return eth_frame("ff:ff:ff:ff:ff:ff", src_mac, 0x0806, payload)


def parse_arp(frame):
    """(op, sender_mac, sender_ip, target_mac, target_ip) of an untagged ARP frame, or None."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return None
    op, smac, sip, tmac, tip = struct.unpack("!6xH6s4s6s4s", frame[14:42])
    return op, mac_str(smac), socket.inet_ntoa(sip), mac_str(tmac), socket.inet_ntoa(tip)


def sock_closed_by_peer(sock, timeout=5.0):
    """True once the other end of connected socket sock has closed it (EOF or
    reset) within timeout seconds, or sock is closed already; anything it
    sends meanwhile is read and ignored."""
    if sock.fileno() < 0:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True
        if not d:
            return True
    return False


class StreamClient:
    """A QEMU-like client of a vnetd stream port."""

    def __init__(self, path, timeout=5):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_frame(self, frame):
        self.sock.sendall(stream_frame(frame))

    def recv_frame(self, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 4:
                n = struct.unpack("!I", self.buf[:4])[0]
                if len(self.buf) >= 4 + n:
                    f, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no frame from vnetd")
            self.sock.settimeout(left)
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("vnetd closed the connection")
            self.buf += d

    def wait_frame(self, pred, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            f = self.recv_frame(max(0.01, deadline - time.monotonic()))
            if pred(f):
                return f

    def closed_by_peer(self, timeout=5):
        """True once the daemon has closed the connection (EOF or reset)."""
        return sock_closed_by_peer(self.sock, timeout)

    def close(self):
        self.sock.close()


class Sniffer:
    """tcpdump -t -e -n -l in a namespace; lines (starting with the source MAC)
    collected on a thread."""

    def __init__(self, ns, ifname="eth0", filt=()):
        self.lines = []
        self.p = ns.start("tcpdump", "-t", "-e", "-n", "-l", "-i", ifname, *filt,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.err = []
        self._t = threading.Thread(target=self._read, args=(self.p.stdout, self.lines),
                                   daemon=True)
        self._te = threading.Thread(target=self._read, args=(self.p.stderr, self.err),
                                    daemon=True)
        self._t.start()
        self._te.start()
        wait_for(lambda: any("listening on" in l for l in self.err) or self.p.poll() is not None,
                 10, what="tcpdump to start")
        assert self.p.poll() is None, f"tcpdump failed: {self.err}"

    @staticmethod
    def _read(f, out):
        for line in f:
            out.append(line.rstrip("\n"))

    def wait(self, pred, timeout=10, what="a frame in tcpdump"):
        try:
            return wait_for(lambda: [l for l in list(self.lines) if pred(l)], timeout, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}; tcpdump saw:\n" + "\n".join(self.lines[-30:])) from None

    def stop(self):
        Procs.stop(self.p, signal.SIGINT)
