"""Functional tests of the sandbox (issue 6): what a vnetd started as root for
taps keeps (capabilities, no_new_privs, seccomp), a NAT vnetd with socket
ports running as an unprivileged user, the control socket's peer check
(SO_PEERCRED, control_group), and a full run of traffic, vnetctl commands and
a capture under the seccomp filter.

Every address is inside a namespace the test creates or on loopback.
"""
import os
import shutil
import socket
import struct
import tempfile
import threading

import pytest

import vnet
from policy_util import (NOBODY, UserVnetd, cap_set, ctl_as, iperf3, proc_status, setpriv,
                         tap)
from vnet import wait_for

from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402

MAC_A, MAC_B, MAC_G = "02:00:00:5b:00:0a", "02:00:00:5b:00:0b", "52:54:00:5b:00:01"
# Capabilities the running daemon may keep (README "Security model").
ALLOWED_CAPS = {"net_raw", "net_bind_service"}
GROUP_DAEMON = 1  # gid of the "daemon" group: any group nobody is not in


@pytest.fixture
def opendir():
    """A directory under /tmp every user can enter (pytest's tmp_path is 0700
    on the way), owned by nobody so an unprivileged vnetd can write there."""
    d = tempfile.mkdtemp(prefix="vnt-sbx-", dir="/tmp")
    os.chmod(d, 0o755)
    os.chown(d, NOBODY, NOBODY)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def user_vnetd(request, procs):
    """Like the vnetd fixture, but started through a prefix (setpriv)."""
    daemons = []
    request.node._vnet_daemons = daemons

    def factory(workdir, conf, prefix, name="vnetd"):
        d = UserVnetd(workdir, conf, name=name, procs=procs, prefix=prefix)
        daemons.append(d)
        d.start()
        return d

    yield factory
    errors = []
    for d in daemons:
        if d.proc is None or d.proc.returncode is not None and d._logf.closed:
            continue
        try:
            d.stop()
        except AssertionError as e:
            errors.append(f"{d.name}: {e}")
        finally:
            d.kill()
    if errors:
        pytest.fail("vnetd teardown: " + "; ".join(errors), pytrace=False)


def two_taps(netns, vnetd, extra_conf=None, extra_ports=()):
    a, b = netns(), netns()
    conf = {"networks": [{"name": "lan", "mode": "isolated"}],
            "ports": [tap("a", a, mac=MAC_A), tap("b", b, mac=MAC_B), *extra_ports]}
    conf.update(extra_conf or {})
    d = vnetd(conf)
    for ns, ip in ((a, "10.5.0.1"), (b, "10.5.0.2")):
        ns.wait_link()
        ns.addr(f"{ip}/24")
    a.ping_until("10.5.0.2", timeout=15)
    return d, a, b


def caps(st):
    return {k: cap_set(st[k]) for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}


def sandbox_errors(d):
    """Log lines that show a system call refused by the filter or an error."""
    return [l for l in d.log().splitlines()
            if "level=error" in l or "Operation not permitted" in l or "EPERM" in l]


# ------------------------------------------------------------------ root with taps

def test_root_with_taps_keeps_only_needed_capabilities(netns, vnetd):
    """Started as root for tap ports, the running daemon has no capability but
    the ones the README allows, no_new_privs, and a seccomp filter."""
    d, a, b = two_taps(netns, vnetd)
    st = proc_status(d.pid)
    c = caps(st)
    assert c["CapEff"] <= ALLOWED_CAPS, f"effective capabilities left: {c['CapEff']}"
    assert c["CapPrm"] <= ALLOWED_CAPS, f"permitted capabilities left: {c['CapPrm']}"
    assert c["CapInh"] == set() and c["CapAmb"] == set(), c
    assert c["CapBnd"] <= ALLOWED_CAPS, f"bounding set: {c['CapBnd']}"
    # No uplink and no NAT here: nothing needs raw sockets.
    assert "net_raw" not in c["CapEff"], c
    assert "net_admin" not in c["CapEff"] and "sys_admin" not in c["CapEff"]
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2", f"Seccomp: {st['Seccomp']} (2 = filter)"
    assert int(st.get("Seccomp_filters", "1")) >= 1
    assert "sandbox on" in d.log()
    # The sandboxed daemon still switches.
    b.ping("10.5.0.1", count=3, interval=0.2)
    # A tap added at run time would need CAP_NET_ADMIN: it fails with an error
    # (or works, if the daemon kept a way); the daemon never dies of it.
    c3 = netns()
    cp = d.ctl_raw("port", "add", f"c,type=tap,network=lan,netns={c3.path},ifname=eth0",
                   json_out=False)
    if cp.returncode != 0:
        assert cp.stderr.startswith("vnetctl: ") and len(cp.stderr.strip()) > 12, cp
    else:
        d.ctl("port", "del", "c")
    d.assert_alive()
    b.ping("10.5.0.1", count=2, interval=0.2)


def test_sandbox_off_keeps_root(netns, vnetd):
    """The control case: 'sandbox: false' leaves the daemon as it was started
    (so the test above measures the sandbox, not the test harness)."""
    d, a, b = two_taps(netns, vnetd, extra_conf={"sandbox": False})
    st = proc_status(d.pid)
    assert "net_admin" in cap_set(st["CapEff"])
    assert st["Seccomp"] == "0"
    assert "sandbox on" not in d.log()


# ------------------------------------------------------------------ unprivileged NAT daemon

def udp_echo_on_loopback():
    """A UDP echo server on 127.0.0.1 (host namespace); returns (sock, port, stop)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                data, peer = s.recvfrom(2048)
            except (socket.timeout, OSError):
                continue
            s.sendto(b"echo:" + data, peer)

    threading.Thread(target=loop, daemon=True).start()
    return s, s.getsockname()[1], stop


def guest_udp_roundtrip(send, recv, port, tag):
    """As a guest with MAC_G/10.0.2.15: ARP for the gateway 10.0.2.2, then a UDP
    datagram to 10.0.2.2:port (the host's loopback through NAT); returns the reply
    payload. send(bytes) sends a frame, recv(timeout) returns one."""
    send(bytes(Ether(src=MAC_G, dst="ff:ff:ff:ff:ff:ff") /
               ARP(op=1, hwsrc=MAC_G, psrc="10.0.2.15", pdst="10.0.2.2")))

    def arp_reply():
        f = Ether(recv(5))
        return f.haslayer(ARP) and f[ARP].op == 2 and f[ARP].psrc == "10.0.2.2" and f

    gw = wait_for(arp_reply, 10, interval=0, what="ARP reply of the gateway")[ARP].hwsrc
    pkt = bytes(Ether(src=MAC_G, dst=gw) / IP(src="10.0.2.15", dst="10.0.2.2") /
                UDP(sport=40000, dport=port) / tag)
    send(pkt)

    def reply():
        f = Ether(recv(5))
        if f.haslayer(UDP) and f[UDP].dport == 40000:
            return bytes(f[UDP].payload)
        send(pkt)  # something else (e.g. a gratuitous frame): ask again
        return None

    return wait_for(reply, 15, interval=0, what="the NAT UDP reply")


def test_unprivileged_nat_with_socket_ports(opendir, user_vnetd):
    """A NAT vnetd with a stream and a dgram port runs as nobody: no
    capabilities, the seccomp filter on, guests reach the host's loopback
    through NAT on both ports, and its own user may use vnetctl."""
    echo, port, stop = udp_echo_on_loopback()
    conf = {
        "control": f"{opendir}/vnetd.ctl",
        "state_dir": f"{opendir}/state",
        "networks": [{"name": "default", "mode": "nat", "dns": {"enabled": False}}],
        "ports": [{"name": "vm", "type": "stream", "path": f"{opendir}/vm.sock",
                   "network": "default"},
                  {"name": "vmd", "type": "dgram", "path": f"{opendir}/vmd.sock",
                   "network": "default"}],
    }
    try:
        d = user_vnetd(opendir, conf, setpriv())
        st = proc_status(d.pid)
        assert st["Uid"].split() == [str(NOBODY)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(NOBODY)] * 4, st["Gid"]
        assert cap_set(st["CapEff"]) == set() and cap_set(st["CapPrm"]) == set(), st
        assert st["Seccomp"] == "2" and st["NoNewPrivs"] == "1", st
        assert os.stat(d.control).st_uid == NOBODY

        # stream port
        sc = vnet.StreamClient(f"{opendir}/vm.sock")
        try:
            got = guest_udp_roundtrip(sc.send_frame, sc.recv_frame, port, b"via-stream")
            assert got == b"echo:via-stream"
        finally:
            sc.close()

        # dgram port: our socket must be writable by the daemon's user.
        mine = f"{opendir}/guest-dgram.sock"
        ds = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            ds.bind(mine)
            os.chmod(mine, 0o777)

            def recv(timeout):
                ds.settimeout(timeout)
                return ds.recv(65536)

            got = guest_udp_roundtrip(lambda f: ds.sendto(f, f"{opendir}/vmd.sock"), recv, port,
                                      b"via-dgram")
            assert got == b"echo:via-dgram"
        finally:
            ds.close()

        # vnetctl: the daemon's own user and root may use it.
        cp = ctl_as(d, setpriv(), "status")
        assert cp.returncode == 0, cp.stderr
        assert d.ctl("flows"), "no NAT flow listed"
        d.assert_alive()
        d.stop()
        assert not sandbox_errors(d), sandbox_errors(d)
    finally:
        stop.set()
        echo.close()


# ------------------------------------------------------------------ control socket peers

def refused_clearly(cp):
    """vnetctl failed and said why (not a JSON parse error)."""
    err = cp.stderr.lower()
    return cp.returncode != 0 and any(w in err for w in ("refused", "not allowed", "permission",
                                                         "denied", "not authorized"))


def test_control_socket_refuses_other_users(netns, vnetd, opendir):
    """A world-writable control socket (control_mode 0666) still refuses a peer
    that is neither root nor the daemon's user: SO_PEERCRED is checked."""
    d, a, b = two_taps(netns, vnetd, extra_conf={"control": f"{opendir}/vnetd.ctl",
                                                 "control_mode": "0666"})
    assert os.stat(d.control).st_mode & 0o777 == 0o666
    cp = ctl_as(d, setpriv(), "status")
    assert cp.returncode != 0, f"nobody was let in: {cp.stdout}"
    wait_for(lambda: "control client refused" in d.log(), 5, what="the refusal in the log")
    assert f"uid={NOBODY}" in d.log()
    # Root still gets in, and the daemon is fine.
    assert d.ctl("status")
    d.assert_alive()


def test_control_socket_refusal_message_is_clear(netns, vnetd, opendir):
    d, a, b = two_taps(netns, vnetd, extra_conf={"control": f"{opendir}/vnetd.ctl",
                                                 "control_mode": "0666"})
    cp = ctl_as(d, setpriv(), "status")
    assert refused_clearly(cp), f"vnetctl said: {cp.stderr!r}"


def test_control_socket_default_mode_denies_others(netns, vnetd, opendir):
    """With the default mode 0600 another user cannot even connect: vnetctl
    says permission denied."""
    d, a, b = two_taps(netns, vnetd, extra_conf={"control": f"{opendir}/vnetd.ctl"})
    assert os.stat(d.control).st_mode & 0o777 == 0o600
    cp = ctl_as(d, setpriv(), "status")
    assert refused_clearly(cp), cp.stderr


def test_control_group_admits_members(netns, vnetd, opendir):
    """control_group: members (primary or supplementary group) may use the
    control socket; other unprivileged users may not."""
    d, a, b = two_taps(netns, vnetd, extra_conf={"control": f"{opendir}/vnetd.ctl",
                                                 "control_group": "nogroup"})
    stt = os.stat(d.control)
    assert stt.st_gid == NOBODY and stt.st_mode & 0o777 == 0o660, oct(stt.st_mode)
    # primary group
    cp = ctl_as(d, setpriv(gid=NOBODY), "status")
    assert cp.returncode == 0, cp.stderr
    # supplementary group
    cp = ctl_as(d, setpriv(gid=GROUP_DAEMON, groups=[NOBODY]), "port", "list")
    assert cp.returncode == 0, cp.stderr
    assert "a" in cp.stdout and "b" in cp.stdout
    # not a member
    cp = ctl_as(d, setpriv(gid=GROUP_DAEMON), "status")
    assert cp.returncode != 0
    d.assert_alive()


# ------------------------------------------------------------------ seccomp sanity

def test_full_run_under_seccomp(netns, vnetd, tmp_path):
    """Traffic, every kind of vnetctl command and a pcap capture under the
    sandbox: no call is refused, the daemon stays up and exits 0."""
    d, a, b = two_taps(netns, vnetd)
    assert proc_status(d.pid)["Seccomp"] == "2"
    b.ping("10.5.0.1", count=3, interval=0.1)
    res = iperf3(a, b, "10.5.0.2", secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100_000

    for cmd in (("status",), ("network", "list"), ("network", "show", "lan"), ("port", "list"),
                ("port", "show", "a"), ("fdb",), ("fdb", "lan"), ("stats",), ("stats", "a"),
                ("leases",), ("flows",), ("acl", "list"), ("mirror", "list")):
        d.ctl(*cmd)
    d.ctl("acl", "add", "lan", "allow", "proto=icmp")
    d.ctl("acl", "del", "lan", "0")
    d.ctl("acl", "default", "lan", "allow")

    # Run-time stream port: a new listening socket under the filter.
    sp = str(tmp_path / "rt.sock")  # root-owned: the sandboxed daemon has no DAC override
    d.ctl("port", "add", f"rt,type=stream,network=lan,path={sp}")
    wait_for(lambda: os.path.exists(sp), 5, what="the run-time stream socket")
    sc = vnet.StreamClient(sp)
    sc.send_frame(vnet.arp_request("02:00:00:5b:00:0c", "10.5.0.3", "10.5.0.1"))
    f = sc.wait_frame(lambda fr: (vnet.parse_arp(fr) or (0,))[0] == 2, timeout=10)
    assert vnet.parse_arp(f)[1] == MAC_A
    sc.close()
    d.ctl("port", "del", "rt")

    # Mirror session and a pcap capture of 10 frames.
    d.ctl("mirror", "add", "m1", "--from", "a", "--to", "b")
    d.ctl("mirror", "del", "m1")
    pcap = str(tmp_path / "cap.pcap")
    pinger = a.start("ping", "-n", "-q", "-c", "40", "-i", "0.1", "10.5.0.2")
    cp = d.ctl_raw("capture", "a", "-w", pcap, "-c", "10", "--duration", "20", json_out=False,
                   timeout=40)
    vnet.Procs.stop(pinger)
    assert cp.returncode == 0, cp.stderr
    with open(pcap, "rb") as fh:
        data = fh.read()
    assert len(data) > 24 and struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d)
    n, off = 0, 24
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        off += 16 + incl
        n += 1
    assert n == 10, f"{n} packets in the capture"

    b.ping("10.5.0.1", count=2, interval=0.1)
    d.assert_alive()
    st = proc_status(d.pid)
    assert st["Seccomp"] == "2"
    d.stop()  # exit status 0 (no SIGSYS, no crash), sockets gone, no sanitizer report
    assert not sandbox_errors(d), sandbox_errors(d)


# ------------------------------------------------------------------ root NAT under the sandbox

def loopback_tcp_echo():
    """A TCP echo server on 127.0.0.1 in the host namespace; returns (port, stop)."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(8)
    ls.settimeout(0.2)
    stop = threading.Event()

    def serve(c):
        with c:
            c.settimeout(5)
            try:
                while (d := c.recv(65536)):
                    c.sendall(d)
            except OSError:
                pass

    def loop():
        while not stop.is_set():
            try:
                c, _ = ls.accept()
            except (socket.timeout, OSError):
                continue
            threading.Thread(target=serve, args=(c,), daemon=True).start()
        ls.close()

    threading.Thread(target=loop, daemon=True).start()
    return ls.getsockname()[1], stop


def test_root_nat_with_tap_under_sandbox(netns, vnetd):
    """A root vnetd with a NAT network and a tap: after the sandbox the gateway
    answers pings and guest TCP and UDP still reach the host's loopback through
    NAT (the sockets NAT opens per flow are allowed), with at most
    NET_RAW/NET_BIND_SERVICE left."""
    from policy_util import tcp_try, udp_try
    g = netns()
    tport, tstop = loopback_tcp_echo()
    uecho, uport, ustop = udp_echo_on_loopback()
    try:
        d = vnetd({"networks": [{"name": "default", "mode": "nat", "dns": {"enabled": False}}],
                   "ports": [tap("g", g, network="default", mac=MAC_G)]})
        st = proc_status(d.pid)
        assert cap_set(st["CapEff"]) <= ALLOWED_CAPS and st["Seccomp"] == "2", st
        g.wait_link()
        g.addr("10.0.2.15/24")
        g.ip("route", "add", "default", "via", "10.0.2.2")
        g.ping_until("10.0.2.2", timeout=15)
        assert tcp_try(g, "10.0.2.2", tport, timeout=10)[0] == "ok"
        assert udp_try(g, "10.0.2.2", uport, timeout=10, reply=b"echo:ping")[0] == "ok"
        flows = d.ctl("flows")
        assert any(f["proto"] == "udp" and f["remote"].endswith(f":{uport}") for f in flows), flows
        d.assert_alive()
        d.stop()
        assert not sandbox_errors(d), sandbox_errors(d)
    finally:
        tstop.set()
        ustop.set()
        uecho.close()
