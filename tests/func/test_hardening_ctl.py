"""Hardening (issue 9, defect 1): control clients write only what they may.

A root vnetd gives its control socket to a group (control_group: nogroup);
the group member is uid nobody. The member must not get the daemon's rights:
capture files are opened by vnetctl with the member's own rights (and never
through a symbolic link), the daemon's path form of a capture is root-only
and creates new files only, socket paths the daemon binds for a member must
lie in its run directory (vnetctl binds others itself and passes the
socket), namespaces must be the member's own, and host interfaces and
privileged forward ports are refused.

Every address is inside a namespace the test creates or on loopback.
"""
import json
import os
import shutil
import socket
import stat
import struct
import subprocess
import tempfile

import pytest

import vnet
from policy_util import NOBODY, ctl_as, setpriv, tap
from vnet import wait_for

MAC_A = "02:00:00:9a:00:0a"
MEMBER = setpriv(uid=NOBODY, gid=NOBODY)  # nobody's primary group is nogroup (65534)


@pytest.fixture
def rundir():
    """A root-owned 0755 directory under /tmp for the control socket: the
    daemon's run directory, which the member may enter but not write."""
    d = tempfile.mkdtemp(prefix="vnt-run-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def userdir():
    """A directory owned by the member (nobody)."""
    d = tempfile.mkdtemp(prefix="vnt-usr-", dir="/tmp")
    os.chmod(d, 0o755)
    os.chown(d, NOBODY, NOBODY)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def daemon(netns, vnetd, rundir, extra_ports=(), **extra):
    a = netns()
    conf = {"control": f"{rundir}/vnetd.ctl", "control_group": "nogroup",
            "networks": [{"name": "lan", "mode": "nat", "dhcp": {"enabled": False},
                          "dns": {"enabled": False}}],
            "ports": [tap("a", a, mac=MAC_A), *extra_ports]}
    conf.update(extra)
    d = vnetd(conf)
    a.wait_link()
    return d, a


def raw_request(control, req, prefix=(), pass_path=None):
    """One request over the control socket from a helper process run through
    prefix (so SO_PEERCRED shows that user); optionally passes an fd opened
    on pass_path. Returns the reply object."""
    code = r"""
import json, os, socket, sys
req, path, fdpath = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_UNIX); s.connect(path)
fds = [os.open(fdpath, os.O_WRONLY | os.O_CREAT, 0o600)] if fdpath else []
socket.send_fds(s, [req.encode() + b"\n"], fds)
buf = b""
while not buf.endswith(b"\n"):
    d = s.recv(65536)
    if not d:
        break
    buf += d
print(buf.decode())
"""
    cp = vnet.run(list(prefix) + ["/usr/bin/python3", "-c", code, json.dumps(req), control,
                                  pass_path or ""])
    return json.loads(cp.stdout)


# ------------------------------------------------------------------ captures

def test_member_capture_cannot_clobber_root_files(netns, vnetd, rundir, userdir):
    """Before: vnetd opened the member's path with fopen(path, "w") as root,
    so a symlink or a root-owned path was truncated. Now vnetctl opens it as
    the member: root's file, directly or through a link, stays intact."""
    d, a = daemon(netns, vnetd, rundir)
    victim = os.path.join(rundir, "secret")
    with open(victim, "w") as f:
        f.write("root's data\n")
    os.chmod(victim, 0o600)
    link = os.path.join(userdir, "cap.pcap")
    os.symlink(victim, link)
    os.lchown(link, NOBODY, NOBODY)

    cp = ctl_as(d, MEMBER, "capture", "a", "-w", link, "-c", "1", "--duration", "1")
    assert cp.returncode != 0 and "symbolic link" in cp.stderr, cp.stderr
    cp = ctl_as(d, MEMBER, "capture", "a", "-w", victim, "-c", "1", "--duration", "1")
    assert cp.returncode != 0 and "Permission denied" in cp.stderr, cp.stderr
    assert open(victim).read() == "root's data\n"
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600

    # The raw protocol's path form is root's only.
    r = raw_request(d.control, {"cmd": "capture.start", "target": "a", "file": victim},
                    prefix=MEMBER)
    assert not r["ok"] and "permission denied" in r["error"], r
    assert open(victim).read() == "root's data\n"
    d.assert_alive()


def test_member_capture_into_own_file(netns, vnetd, rundir, userdir):
    """The member's own file (relative path, existing file truncated) gets
    the pcap, owned by the member, written by the daemon through the passed
    descriptor."""
    d, a = daemon(netns, vnetd, rundir)
    out = os.path.join(userdir, "own.pcap")
    with open(out, "w") as f:
        f.write("x" * 5000)
    os.chown(out, NOBODY, NOBODY)
    a.addr("10.0.2.15/24")
    a.ip("link", "set", "eth0", "up")
    p = a.start("ping", "-i", "0.2", "-c", "25", "10.0.2.2")
    cp = subprocess.run(MEMBER + [str(vnet.VNETCTL), "--control", d.control, "capture", "a",
                                  "-w", "own.pcap", "-c", "4", "--duration", "10"],
                        cwd=userdir, capture_output=True, text=True, timeout=20, env=vnet.env())
    p.kill()
    assert cp.returncode == 0, cp.stderr
    st = os.stat(out)
    assert st.st_uid == NOBODY
    data = open(out, "rb").read()
    assert struct.unpack("<I", data[:4])[0] == 0xa1b2c3d4, data[:8]
    frames = vnet.run(["tshark", "-r", out, "-T", "fields", "-e", "frame.number"]).stdout.split()
    assert len(frames) == 4
    d.assert_alive()


def test_root_path_form_creates_new_files_only(netns, vnetd, rundir, tmp_path):
    """Root's path form never truncates, never follows a link: O_EXCL and
    O_NOFOLLOW; a new file is created 0600."""
    d, a = daemon(netns, vnetd, rundir)
    existing = tmp_path / "exists.pcap"
    existing.write_text("keep")
    link = tmp_path / "link.pcap"
    os.symlink(tmp_path / "target", link)
    for path in (existing, link):
        r = raw_request(d.control, {"cmd": "capture.start", "target": "a", "file": str(path)})
        assert not r["ok"] and "cannot create" in r["error"], r
    assert existing.read_text() == "keep" and not (tmp_path / "target").exists()
    new = tmp_path / "new.pcap"
    r = raw_request(d.control, {"cmd": "capture.start", "target": "a", "file": str(new),
                                "count": 1})
    assert r["ok"], r
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o600
    # "fd": true without a descriptor is a clear error
    r = raw_request(d.control, {"cmd": "capture.start", "target": "a", "fd": True,
                                "file": "x"})
    assert not r["ok"] and "no descriptor" in r["error"], r


# ------------------------------------------------------------------ ports, namespaces

def test_member_socket_ports(netns, vnetd, rundir, userdir):
    """A member may have the daemon bind only inside the run directory; a
    path elsewhere is bound by vnetctl with the member's rights and removed
    by vnetctl at port del; the daemon never unlinks it."""
    d, a = daemon(netns, vnetd, rundir)
    # the raw path form outside the run directory: refused, nothing created
    for path in ("/etc/vnet-evil.sock", f"{userdir}/raw.sock", f"{rundir}/../x.sock"):
        r = raw_request(d.control, {"cmd": "port.add",
                                    "spec": f"p1,type=stream,path={path},network=lan"},
                        prefix=MEMBER)
        assert not r["ok"] and ("permission denied" in r["error"] or "component" in r["error"]), r
        assert not os.path.exists(path)
    # inside the run directory: the daemon binds it
    r = raw_request(d.control, {"cmd": "port.add",
                                "spec": f"p2,type=stream,path={rundir}/p2.sock,network=lan"},
                    prefix=MEMBER)
    assert r["ok"], r
    assert os.stat(f"{rundir}/p2.sock").st_uid == 0
    # elsewhere, through vnetctl: the member's own socket
    own = f"{userdir}/vm.sock"
    cp = ctl_as(d, MEMBER, "port", "add", f"p3,type=stream,path={own},network=lan")
    assert cp.returncode == 0, cp.stderr
    assert os.stat(own).st_uid == NOBODY and stat.S_ISSOCK(os.stat(own).st_mode)
    c = vnet.StreamClient(own)  # QEMU's side connects and is switched
    c.send_frame(vnet.arp_request("02:00:00:9a:00:33", "10.0.2.40", "10.0.2.2"))
    f = c.wait_frame(lambda fr: (vnet.parse_arp(fr) or (0,))[0] == 2)
    assert vnet.parse_arp(f)[2] == "10.0.2.2"
    c.close()
    dg = f"{userdir}/vm.dgram"
    cp = ctl_as(d, MEMBER, "port", "add", f"p4,type=dgram,path={dg},network=lan")
    assert cp.returncode == 0, cp.stderr
    for name, path in (("p3", own), ("p4", dg)):
        cp = ctl_as(d, MEMBER, "port", "del", name)
        assert cp.returncode == 0, cp.stderr
        assert not os.path.exists(path)
    d.assert_alive()


def test_member_cannot_use_foreign_namespaces_or_uplinks(netns, vnetd, rundir):
    """A root-made namespace, the host's own namespace file and a host
    interface are refused for a member; an existing tap is not taken over."""
    d, a = daemon(netns, vnetd, rundir)
    other = netns()
    for spec in (f"t1,type=tap,netns={other.path},ifname=eth0,network=lan",
                 "t2,type=tap,netns=/proc/self/ns/net,ifname=evil0,network=lan",
                 "t3,type=tap,netns=/etc/passwd,ifname=evil0,network=lan"):
        cp = ctl_as(d, MEMBER, "port", "add", spec)
        assert cp.returncode != 0 and ("permission denied" in cp.stderr
                                       or "not a namespace" in cp.stderr), cp.stderr
    assert not other.has_link("eth0")
    cp = ctl_as(d, MEMBER, "port", "add", "u1,type=uplink,ifname=lo,network=lan")
    assert cp.returncode != 0 and "permission denied" in cp.stderr, cp.stderr
    # a tap that exists already (a persistent one of someone else) is not attached
    vnet.run(["ip", "tuntap", "add", "dev", "vnt-persist", "mode", "tap"])
    try:
        cp = ctl_as(d, MEMBER, "port", "add", "t4,type=tap,ifname=vnt-persist,network=lan")
        assert cp.returncode != 0 and "exists" in cp.stderr, cp.stderr
    finally:
        vnet.run(["ip", "tuntap", "del", "dev", "vnt-persist", "mode", "tap"], check=False)
    d.assert_alive()


def test_member_may_use_its_own_namespace(netns, vnetd, rundir, procs):
    """A namespace the member made in its own user namespace is accepted
    (checked through NS_GET_OWNER_UID) and the tap appears inside it."""
    d, a = daemon(netns, vnetd, rundir, sandbox=False)  # setns needs CAP_SYS_ADMIN
    holder = procs.start(MEMBER + ["unshare", "-U", "-n", "--map-root-user", "sleep", "60"])
    ns_path = f"/proc/{holder.pid}/ns/net"
    wait_for(lambda: os.readlink(ns_path) != os.readlink("/proc/self/ns/net"), 10,
             what="the member's namespace")
    cp = ctl_as(d, MEMBER, "port", "add", f"own,type=tap,netns={ns_path},ifname=eth7,network=lan")
    assert cp.returncode == 0, cp.stderr
    out = vnet.run(["nsenter", f"--net={ns_path}", "ip", "-j", "link", "show"]).stdout
    assert "eth7" in {l["ifname"] for l in json.loads(out)}
    d.ctl("port", "del", "own")


def test_member_privileged_forward_refused(netns, vnetd, rundir):
    """Forwards below ip_unprivileged_port_start are root's (the daemon keeps
    CAP_NET_BIND_SERVICE); a member may forward an ordinary port."""
    d, a = daemon(netns, vnetd, rundir)
    cp = ctl_as(d, MEMBER, "forward", "add", "tcp:80:10.0.2.15:80")
    assert cp.returncode != 0 and "privileged" in cp.stderr, cp.stderr
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cp = ctl_as(d, MEMBER, "forward", "add", f"tcp:{port}:10.0.2.15:80")
    assert cp.returncode == 0, cp.stderr
    d.ctl("forward", "del", "tcp", str(port))
