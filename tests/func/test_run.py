"""Functional tests of `vnetd run -- CMD` (docs/vnetd-run.md): CMD runs in a
fresh network namespace behind NAT, reaches a server on the host's loopback
through the gateway 10.0.2.2, gets published through --forward, and vnetd
exits with CMD's status leaving nothing behind — as root and as an
unprivileged user (user namespace; /dev/net/tun made 0666 for the test and
restored afterwards).

Every host-side server listens on 127.0.0.1 (threads of this process, see
nat_util); nothing leaves the machine.
"""
import os
import re
import signal
import stat
import subprocess

import pytest

import vnet
from nat_util import HttpServer, free_port
from vnet import run, wait_for

NOBODY = 65534
SETPRIV = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


@pytest.fixture
def www(tmp_path):
    d = tmp_path / "www"
    d.mkdir()
    (d / "hello.txt").write_text("hello through vnetd run\n")
    srv = HttpServer(d)
    yield srv
    srv.close()


def vnetd_run(*args, user=False, timeout=60, env_extra=None):
    """`vnetd run ARGS...` (as nobody if user); CompletedProcess, never raises
    on a non-zero status. Fails on sanitizer reports."""
    cmd = [str(vnet.VNETD), "run", *[str(a) for a in args]]
    env = vnet.env()
    if user:
        cmd = SETPRIV + cmd
        env.pop("XDG_RUNTIME_DIR", None)
        env.update(HOME="/tmp", USER="nobody", LOGNAME="nobody")
    env.update(env_extra or {})
    try:
        cp = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                            stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"vnetd run timed out: {cmd}\n{e.stdout}\n{e.stderr}") from None
    bad = [l for l in cp.stderr.splitlines() if any(p in l for p in vnet.SANITIZER_PATTERNS)]
    assert not bad, "sanitizer report from vnetd run:\n" + cp.stderr[-5000:]
    return cp


def host_links():
    return set(re.findall(r"^\d+: ([^:@]+)", run(["ip", "-o", "link"]).stdout, re.M))


def procs_with(marker):
    """PIDs whose command line contains marker."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def net_ns_users(inode):
    """PIDs in the network namespace with that inode."""
    users = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/ns/net") == f"net:[{inode}]":
                    users.append(int(pid))
            except OSError:
                pass
    return users


INSIDE = r"""
set -e
echo "NETNS=$(readlink /proc/self/ns/net)"
echo "CONTROL=$VNET_CONTROL"
ip -4 -o addr show dev eth0
ip route show default
ip link show lo | grep -q 'UP' && echo LO-UP
ping -n -c 2 -i 0.2 -W 2 10.0.2.2 >/dev/null && echo PING-OK
curl -sS --max-time 20 http://10.0.2.2:@PORT@/hello.txt
@VNETCTL@ -j network show | grep -q '"mode": *"nat"' && echo VNETCTL-OK
sleep @MARK@ &
exit @RC@
"""


def inside_script(port, rc, mark):
    return (INSIDE.replace("@PORT@", str(port)).replace("@RC@", str(rc))
            .replace("@MARK@", mark).replace("@VNETCTL@", str(vnet.VNETCTL)))


def check_run_output(cp, rc, mark, before_links):
    out = cp.stdout
    assert cp.returncode == rc, f"exit {cp.returncode}, wanted {rc}\n{out}\n{cp.stderr}"
    assert re.search(r"inet 10\.0\.2\.15/24 ", out), out
    assert "default via 10.0.2.2 dev eth0" in out, out
    assert "LO-UP" in out and "PING-OK" in out, out
    assert "hello through vnetd run\n" in out, out + cp.stderr
    assert "VNETCTL-OK" in out, out + cp.stderr
    inode = re.search(r"NETNS=net:\[(\d+)\]", out).group(1)
    control = re.search(r"CONTROL=(\S+)", out).group(1)
    # Nothing left: CMD's background child, the namespace, the control socket
    # and its private directory, any interface on the host.
    assert procs_with(mark) == [], "a process CMD started is still running"
    assert net_ns_users(inode) == [], "something still runs in CMD's namespace"
    assert not os.path.exists(control), f"control socket {control} left behind"
    assert not os.path.exists(os.path.dirname(control)), "private directory left behind"
    assert host_links() == before_links, "host interfaces changed"


def test_run_as_root(www):
    before = host_links()
    mark = "4321.%d" % os.getpid()
    cp = vnetd_run("--", "sh", "-c", inside_script(www.port, 7, mark))
    check_run_output(cp, 7, mark, before)
    assert cp.stderr.strip() == "" or "level=error" not in cp.stderr, cp.stderr


@pytest.mark.parametrize("args, rc", [
    (["--", "true"], 0),
    (["--", "sh", "-c", "exit 3"], 3),
    (["--", "sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
    (["--", "/nonexistent/command"], 127),
    (["--", "@NOEXEC@"], 126),
    (["--no-such-option", "--", "true"], 2),
])
def test_run_exit_status(args, rc, tmp_path):
    noexec = tmp_path / "not-executable"
    noexec.write_text("echo should not run\n")
    noexec.chmod(0o644)
    args = [str(noexec) if a == "@NOEXEC@" else a for a in args]
    before = host_links()
    cp = vnetd_run(*args)
    assert cp.returncode == rc, f"{args}: exit {cp.returncode}, wanted {rc}: {cp.stderr}"
    if rc in (126, 127, 2):
        assert cp.stderr.strip(), "no message"
    assert host_links() == before


def test_run_forward_and_signal(tmp_path, procs):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("published from vnetd run\n")
    pf, pu = free_port(), free_port()
    ctl = tmp_path / "run.ctl"
    p = procs.start([vnet.VNETD, "run", "--control", ctl, "--forward", f"tcp:{pf}:80",
                     "--", "busybox", "httpd", "-f", "-p", "80", "-h", site],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    r = wait_for(lambda: run(["curl", "-sS", "--max-time", "5",
                              f"http://127.0.0.1:{pf}/index.html"], check=False).stdout, 30,
                 interval=0.2, what="the forwarded web server")
    assert r == "published from vnetd run\n"
    # vnetctl with the chosen control socket sees the forward and the network.
    fl = vnet.json.loads(run([vnet.VNETCTL, "--control", ctl, "-j", "forward", "list"]).stdout)
    assert [(f["proto"], f["host"], f["guest"]) for f in fl] == \
        [("tcp", f"127.0.0.1:{pf}", "10.0.2.15:80")]
    # A forward added at run time works too.
    d2 = run([vnet.VNETCTL, "--control", ctl, "forward", "add", f"tcp:{pu}:80"], check=False)
    assert d2.returncode == 0, d2.stderr
    assert run(["curl", "-sS", "--max-time", "10",
                f"http://127.0.0.1:{pu}/index.html"]).stdout == "published from vnetd run\n"
    # SIGTERM to vnetd reaches CMD; vnetd exits with CMD's status.
    os.kill(p.pid, signal.SIGTERM)
    rc = p.wait(timeout=20)
    err = p.stderr.read()
    assert rc == 128 + signal.SIGTERM, f"exit {rc}: {err}"
    assert not any(s in err for s in vnet.SANITIZER_PATTERNS), err
    assert not ctl.exists()
    r = run(["curl", "-sS", "--max-time", "5", f"http://127.0.0.1:{pf}/"], check=False)
    assert r.returncode == 7, "the forward outlived vnetd run"


# --------------------------------------------------------------------------- unprivileged

def userns_allowed():
    def read(p):
        try:
            with open(p) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None
    if read("/proc/sys/user/max_user_namespaces") == 0:
        return False
    if read("/proc/sys/kernel/unprivileged_userns_clone") == 0:
        return False
    if read("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == 1:
        return False
    return True


def nobody_can_run_binary():
    r = subprocess.run(SETPRIV + [str(vnet.VNETD), "--version"], capture_output=True, timeout=10)
    return r.returncode == 0


@pytest.fixture
def tun_open_to_all():
    """/dev/net/tun mode 0666 for the test; the original mode restored after."""
    mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
    os.chmod("/dev/net/tun", 0o666)
    try:
        yield
    finally:
        os.chmod("/dev/net/tun", mode)


@pytest.fixture
def tun_closed_to_others():
    """/dev/net/tun without access for others for the test (udev's default
    rule opens it to everyone on many machines, and installing packages can
    re-apply it); the original mode restored after."""
    mode = stat.S_IMODE(os.stat("/dev/net/tun").st_mode)
    os.chmod("/dev/net/tun", mode & ~0o007)
    try:
        yield
    finally:
        os.chmod("/dev/net/tun", mode)


def nobody_tmp_entries():
    return {e for e in os.listdir("/tmp") if os.lstat(f"/tmp/{e}").st_uid == NOBODY}


def test_run_unprivileged_without_tun_access_says_why(tun_closed_to_others):
    if not userns_allowed() or not nobody_can_run_binary():
        pytest.skip("unprivileged user namespaces not allowed, or nobody cannot run vnetd")
    cp = vnetd_run("--", "true", user=True)
    assert cp.returncode == 125, (cp.returncode, cp.stderr)
    assert "/dev/net/tun" in cp.stderr, cp.stderr


def test_run_unprivileged(www, tun_open_to_all):
    if not userns_allowed():
        pytest.skip("unprivileged user namespaces are not allowed on this kernel")
    if not nobody_can_run_binary():
        pytest.skip(f"user {NOBODY} cannot execute {vnet.VNETD}")
    before_links, before_tmp = host_links(), nobody_tmp_entries()
    mark = "4322.%d" % os.getpid()
    script = 'echo "UID-INSIDE=$(id -u)"\n' + inside_script(www.port, 5, mark)
    # No ping here: unprivileged ping sockets may be off (net.ipv4.ping_group_range).
    script = script.replace("ping -n -c 2 -i 0.2 -W 2 10.0.2.2 >/dev/null && echo PING-OK",
                            "echo PING-OK")
    cp = vnetd_run("--", "sh", "-c", script, user=True)
    check_run_output(cp, 5, mark, before_links)
    assert "UID-INSIDE=0" in cp.stdout, cp.stdout
    assert nobody_tmp_entries() == before_tmp, "files of the user left in /tmp"
    # And the exit status by signal, unprivileged too.
    cp = vnetd_run("--", "sh", "-c", "kill -INT $$", user=True)
    assert cp.returncode == 128 + signal.SIGINT, cp.stderr


def test_run_options(www):
    """--subnet/--mtu change what CMD sees; --no-host-loopback closes the
    gateway's way to the host's loopback."""
    url = f"http://192.168.77.1:{www.port}/hello.txt"
    cp = vnetd_run("--subnet", "192.168.77.0/24", "--mtu", "9000", "--", "sh", "-c",
                   f"ip -4 -o addr show dev eth0; ip route show default; "
                   f"ip link show eth0; curl -sS --max-time 20 {url}")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert re.search(r"inet 192\.168\.77\.15/24 ", cp.stdout), cp.stdout
    assert "default via 192.168.77.1 dev eth0" in cp.stdout
    assert " mtu 9000 " in cp.stdout
    assert "hello through vnetd run\n" in cp.stdout

    cp = vnetd_run("--no-host-loopback", "--", "curl", "-sS", "--connect-timeout", "20",
                   f"http://10.0.2.2:{www.port}/hello.txt")
    assert cp.returncode == 7, cp.stdout + cp.stderr  # refused, not a timeout (28)

    cp = vnetd_run("--print-config")
    assert cp.returncode == 0 and "mode: nat" in cp.stdout, cp.stdout + cp.stderr


def test_run_killed_with_sigkill_takes_cmd_along(tmp_path, procs):
    mark = "4323.%d" % os.getpid()
    before = host_links()
    rt = tmp_path / "rt"  # where the private directory goes (left behind by SIGKILL)
    rt.mkdir()
    p = procs.start(["env", f"XDG_RUNTIME_DIR={rt}", vnet.VNETD, "run", "--", "sleep", mark],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: [q for q in procs_with(mark) if q != p.pid and
                      os.readlink(f"/proc/{q}/exe").endswith("sleep")], 20,
             what="CMD running")
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=10)
    wait_for(lambda: procs_with(mark) == [], 15, what="every process of vnetd run gone")
    assert host_links() == before
    left = [e.name for e in rt.iterdir()]
    assert all(n.startswith("vnetd-run.") for n in left) and len(left) <= 1, left


def test_run_private_directory_removed(www, tmp_path):
    rt = tmp_path / "rt"
    rt.mkdir()
    cp = vnetd_run("--", "sh", "-c", f"curl -sS --max-time 20 http://10.0.2.2:{www.port}/hello.txt",
                   env_extra={"XDG_RUNTIME_DIR": str(rt)})
    assert cp.returncode == 0 and cp.stdout == "hello through vnetd run\n", cp.stderr
    assert list(rt.iterdir()) == [], "private directory left behind"


def test_run_gives_the_command_ipv6():
    """Like pasta: the command's eth0 has an address by SLAAC before CMD starts,
    a default route via the gateway's link-local address, the IPv6 DNS address
    in its resolv.conf, and gateway6 (PREFIX::2) reaches the host's ::1."""
    import ipaddress
    import json as _json
    import socket
    import threading
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::1", 0))
    s.listen(4)
    port = s.getsockname()[1]

    def serve():
        try:
            c, _ = s.accept()
            c.sendall(b"hello over ipv6\n")
            c.close()
        except OSError:
            pass
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        script = "ip -j -6 addr show dev eth0; ip -6 route show default; cat /etc/resolv.conf"
        cp = vnetd_run("--dns-upstream", "127.0.0.1:5399", "--", "sh", "-c", script)
        assert cp.returncode == 0, cp.stderr[-3000:]
        addrs = _json.loads(cp.stdout.splitlines()[0])
        glob = [a["local"] for l in addrs for a in l["addr_info"] if a.get("scope") == "global"]
        assert glob, cp.stdout
        assert "default via fe80::" in cp.stdout and "proto ra" in cp.stdout, cp.stdout
        net = ipaddress.IPv6Network(glob[0] + "/64", strict=False)
        gw6, dns6 = str(net.network_address + 2), str(net.network_address + 3)
        assert f"nameserver {dns6}" in cp.stdout, cp.stdout
        code = ("import socket,sys; s=socket.create_connection((sys.argv[1], int(sys.argv[2])), 10);"
                " print(s.recv(100).decode().strip())")
        cp = vnetd_run("--dns-upstream", "127.0.0.1:5399", "--", "python3", "-c", code, gw6,
                       str(port))
        assert cp.returncode == 0 and "hello over ipv6" in cp.stdout, (cp.stdout, cp.stderr[-2000:])
    finally:
        s.close()
        t.join(2)
