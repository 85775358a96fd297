"""Functional tests of the vhost-user port with a real QEMU guest (issue 14).

A TCG guest (tests/vm, QEMU 7.2, guest RAM a shared memfd) whose virtio-net
NIC is a `-netdev vhost-user` on a vnetd `type: vhost-user` port of a nat
network: its DHCP lease, a download from a server on the host's loopback
through the NAT and an upload to one (sha256 of 2 MiB each way: large TCP
segments from the guest, mergeable receive buffers to it), its own web
server reached from the host through a forward, the offloads negotiated (the
guest's virtio feature bits and `ethtool -k`, and `vnetctl port show`), a
driver unbind/bind and a guest reboot, a vnetd restart that QEMU reconnects
to, and client mode (QEMU listens, vnetd connects, also to a second QEMU
after the first one ended). The same traffic test also runs over a stream
port, as the baseline the vhost-user port replaces.

Network safety: the guest reaches only vnetd's gateway (10.0.2.2 = the host's
127.0.0.1, where the test's own servers listen); DNS is off; the forward
listens on 127.0.0.1.
"""
import hashlib
import http.server
import os
import shutil
import subprocess
import threading
import time

import pytest

import vnet
from vnet import wait_for
from nat_util import TcpServer, ThreadedHttp, free_port, sink_handler

pytestmark = pytest.mark.vm

GUEST_DIR = vnet.REPO / "build" / "vm"
MAC = "52:54:00:14:0e:01"
GIP = "10.0.2.77"
BLOB = 2 << 20          # bytes of the download and the upload
SERVED = 1 << 20        # bytes the guest serves through the forward
VM_TIMEOUT = 240        # host-side bound of one QEMU run (TCG under ASan is slow)

# virtio feature bits (virtio 1.x, 5.1.3) read from the guest's
# /sys/class/net/eth0/device/features (one character per bit, bit 0 first)
VIRTIO_BITS = {"csum": 0, "guest_csum": 1, "guest_tso4": 7, "guest_tso6": 8,
               "host_tso4": 11, "host_tso6": 12, "mrg_rxbuf": 15,
               "indirect_desc": 28, "event_idx": 29, "version_1": 32}
# what vnetd offers (notes/vhost-api.md) and QEMU's virtio-net-pci has on by default
WANT_BITS = ("csum", "guest_csum", "guest_tso4", "guest_tso6", "host_tso4", "host_tso6",
             "mrg_rxbuf", "event_idx", "version_1")


@pytest.fixture(autouse=True)
def _need_qemu():
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    assert (GUEST_DIR / "vmlinuz").exists(), "no guest image in build/vm: run 'make guest'"


# ---------------------------------------------------------------- host side

class Web(ThreadedHttp):
    """An HTTP server on 127.0.0.1 for the guest: GET /blob (BLOB random
    bytes), /gate/NAME (200 once the test opened gate NAME, else 404),
    /count/NAME (1, 2, ... on successive requests)."""

    def __init__(self):
        self.blob = os.urandom(BLOB)
        self.blob_sha = hashlib.sha256(self.blob).hexdigest()
        self.gates = set()
        self.counts = {}
        lock = threading.Lock()
        web = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                if self.path == "/blob":
                    body = web.blob
                elif self.path.startswith("/gate/"):
                    if self.path[6:] not in web.gates:
                        self.send_error(404)
                        return
                    body = b"go\n"
                elif self.path.startswith("/count/"):
                    with lock:
                        n = web.counts.get(self.path[7:], 0) + 1
                        web.counts[self.path[7:]] = n
                    body = f"{n}\n".encode()
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        super().__init__(H)


@pytest.fixture
def host(servers):
    """The test's servers on the host's loopback: web (Web), sink (TcpServer
    hashing what it receives), fwd (a free port for the forward)."""
    class Host:
        pass
    h = Host()
    h.web = Web()
    servers.append(h.web)
    h.sink = TcpServer(sink_handler)
    servers.append(h.sink)
    h.fwd = free_port()
    return h


def nat_conf(h, port):
    net = {"name": "lan", "mode": "nat", "dns": {"enabled": False},
           "dhcp": {"hosts": [{"mac": MAC, "ip": GIP, "name": "vm1"}]},
           "forwards": [{"proto": "tcp", "host": f"127.0.0.1:{h.fwd}", "guest": f"{GIP}:80"}]}
    return {"networks": [net], "ports": [port]}


def vhost_port(path, mode="server"):
    return {"name": "vm", "type": "vhost-user", "path": str(path), "mode": mode,
            "network": "lan"}


# ---------------------------------------------------------------- guest side

def guest_round(h, tag):
    """Guest shell text: download /blob and print its hash, upload BLOB random
    bytes to the sink and print theirs; 'ROUND-OK tag' when both went through."""
    return f"""
echo "ROUND-START {tag}"
dl=$(timeout 90 wget -q -O - http://10.0.2.2:{h.web.port}/blob | sha256sum | cut -d' ' -f1)
echo "DOWN {tag} $dl"
head -c {BLOB} /dev/urandom > /tmp/up
echo "UP {tag} $(sha256sum < /tmp/up | cut -d' ' -f1)"
timeout 90 nc 10.0.2.2 {h.sink.port} < /tmp/up || echo "UPLOAD-FAILED {tag} rc=$?"
rm -f /tmp/up
echo "ROUND-OK {tag}"
"""


def guest_wait_gate(h, gate, secs=150):
    """Guest shell text: poll the host's /gate/GATE (through the NAT) until it
    answers, at most secs seconds; fails the command otherwise."""
    return f"""
i=0
until wget -q -O /dev/null http://10.0.2.2:{h.web.port}/gate/{gate} 2>/dev/null; do
    i=$((i+1)); [ $i -gt {secs * 2} ] && {{ echo "GATE-TIMEOUT {gate}"; exit 3; }}
    sleep 0.5
done
echo "GATE-OPEN {gate}"
"""


GUEST_INFO = """
echo "FEATURES $(cat /sys/class/net/eth0/device/features)"
ethtool -k eth0 | sed 's/^/ETHTOOL /'
ip -4 addr show dev eth0 | sed 's/^/ADDR /'
"""


def guest_serve(h):
    """Guest shell text: serve SERVED random bytes on port 80, print their hash."""
    return f"""
mkdir -p /www
head -c {SERVED} /dev/urandom > /www/f
echo "SERVE $(sha256sum < /www/f | cut -d' ' -f1)"
httpd -p 80 -h /www
echo VM-SERVING
"""


class VmEnded(Exception):
    """QEMU ended before the console showed what a test waits for."""


class Vm:
    """run-vm.sh in the background, its console in a file."""

    def __init__(self, procs, tmp_path, net, script, name="vm", extra=(), timeout=VM_TIMEOUT):
        self.log = tmp_path / f"{name}.console"
        cmd = [vnet.VM_DIR / "run-vm.sh", "-o", GUEST_DIR, "--mac", MAC,
               "--append", "ipv6.disable=1", "--bin", "/usr/sbin/ethtool", *extra,
               net, script, str(timeout)]
        with open(self.log, "w") as f:
            self.p = procs.start(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.timeout = timeout

    def text(self):
        return self.log.read_text(errors="replace").replace("\r", "")

    def lines(self, prefix):
        return [l[len(prefix):].strip() for l in self.text().splitlines() if l.startswith(prefix)]

    def wait(self, marker, timeout=None, count=1):
        """Until the console has `count` lines starting with marker; fails if
        QEMU ends first or at the deadline."""
        def seen():
            n = len(self.lines(marker))
            if n >= count:
                return True
            if self.p.poll() is not None:
                raise VmEnded(f"the VM ended (rc {self.p.returncode}) before "
                              f"{count} x {marker!r}")
            return False
        try:
            wait_for(seen, timeout or self.timeout, interval=0.2, what=f"{marker!r} on the console")
        except (AssertionError, VmEnded) as e:
            raise AssertionError(f"{e}\n--- console ---\n{self.text()[-4000:]}") from None

    def result(self, timeout=None):
        """run-vm.sh's exit status (the guest command's)."""
        try:
            return self.p.wait(timeout or self.timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the VM did not end:\n{self.text()[-4000:]}") from None

    def stop(self):
        vnet.Procs.stop(self.p)


def check_round(vm, h, tag, results_before):
    """The download and the upload of guest round tag arrived intact."""
    out = vm.text()
    assert f"ROUND-OK {tag}" in out, out[-4000:]
    assert f"UPLOAD-FAILED {tag}" not in out, out[-4000:]
    down = vm.lines(f"DOWN {tag} ")
    assert down == [h.web.blob_sha], f"download hash {down} != {h.web.blob_sha}"
    up = vm.lines(f"UP {tag} ")
    assert len(up) == 1, out[-4000:]
    got = wait_for(lambda: h.sink.results[results_before:results_before + 1], 30,
                   what="the upload at the sink")
    assert got == [(BLOB, up[0])], f"sink got {got}, guest sent {BLOB} bytes {up[0]}"


def fetch_forward(h, vm):
    """The guest's served file through the forward on 127.0.0.1, hash checked."""
    want = vm.lines("SERVE ")
    assert len(want) == 1, vm.text()[-3000:]
    r = subprocess.run(["curl", "-sS", "--max-time", "60", f"http://127.0.0.1:{h.fwd}/f"],
                       capture_output=True, timeout=70)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == SERVED, len(r.stdout)
    assert hashlib.sha256(r.stdout).hexdigest() == want[0]


def guest_features(vm):
    bits = vm.lines("FEATURES ")
    assert bits, vm.text()[-3000:]
    b = bits[-1]
    return {name for name, i in VIRTIO_BITS.items() if i < len(b) and b[i] == "1"}


def port_show(d, port="vm"):
    return d.port(port)


def rings_running(d, port="vm"):
    """vnetctl port show says a front end is connected and both rings run."""
    return port_show(d, port).get("rings") == "running"


def lease_ok(d):
    ls = {l["mac"]: l for l in d.ctl("leases")}
    return ls.get(MAC, {}).get("ip") == GIP and ls[MAC].get("state") == "bound"


# ---------------------------------------------------------------- tests

@pytest.mark.parametrize("kind", ["vhost-user", "stream"])
def test_guest_lease_nat_forward_offloads(vnetd, procs, tmp_path, host, kind):
    """DHCP lease, 2 MiB down and up through the NAT, the guest's server
    through a forward; over vhost-user also the offloads both sides report.
    The stream port runs the same traffic as the baseline."""
    sock = tmp_path / "vm.sock"
    if kind == "vhost-user":
        port, net = vhost_port(sock), f"vhost-user:{sock}"
    else:
        port = {"name": "vm", "type": "stream", "path": str(sock), "network": "lan"}
        net = f"stream:{sock}"
    d = vnetd(nat_conf(host, port))
    script = GUEST_INFO + guest_round(host, 1) + guest_serve(host) + guest_wait_gate(host, "done")
    vm = Vm(procs, tmp_path, net, script)
    vm.wait("VM-SERVING")
    check_round(vm, host, 1, 0)
    assert f"inet {GIP}/24" in vm.text()
    assert lease_ok(d)
    fetch_forward(host, vm)
    ps = port_show(d)          # while QEMU is connected
    host.web.gates.add("done")
    assert vm.result() == 0, vm.text()[-3000:]
    st = d.port_stats("vm")
    # rx = from the guest (the upload, the served file), tx = to it (the download)
    assert st["rx_bytes"] > BLOB + SERVED and st["tx_bytes"] > BLOB, st
    if kind != "vhost-user":
        return
    have = guest_features(vm)
    missing = [b for b in WANT_BITS if b not in have]
    assert not missing, f"virtio features not negotiated: {missing} (guest has {sorted(have)})"
    # TSO: the guest's bulk data reaches the switch as segmentation-offload
    # frames (how large depends on the guest's TCP timing under TCG, so the
    # count of TSO frames is checked, not their average size)
    assert ps.get("tx_gso", 0) > 0, f"no TSO frames from the guest: {ps}"
    eth = "\n".join(vm.lines("ETHTOOL "))
    for k in ("tx-checksumming: on", "rx-checksumming: on", "tcp-segmentation-offload: on"):
        assert k in eth, f"guest ethtool -k lacks {k!r}:\n{eth}"
    assert ps.get("rings") == "running" and ps.get("connects") == 1, ps
    names = set(ps.get("features", []))
    missing = [f for f in WANT_BITS if f not in names]
    assert not missing, f"vnetctl port show lacks {missing}: {ps}"
    assert "reply_ack" in ps.get("protocol_features", []), ps
    assert ps.get("protocol_errors") == 0 and ps.get("breaks") == 0, ps
    assert ps.get("tx_malformed") == 0, ps
    d.assert_alive()


def test_driver_unbind_bind(vnetd, procs, tmp_path, host):
    """The guest unbinds virtio_net from its NIC (the driver resets the device:
    rings stopped) and binds it again (rings set up anew): DHCP and traffic
    work again."""
    sock = tmp_path / "vm.sock"
    d = vnetd(nat_conf(host, vhost_port(sock)))
    script = guest_round(host, 1) + """
dev=$(basename "$(readlink /sys/class/net/eth0/device)")
echo "UNBIND $dev"
echo "$dev" > /sys/bus/virtio/drivers/virtio_net/unbind || exit 4
sleep 1
[ -e /sys/class/net/eth0 ] && { echo "eth0 still there"; exit 5; }
echo "$dev" > /sys/bus/virtio/drivers/virtio_net/bind || exit 6
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set eth0 up
udhcpc -i eth0 -s /etc/udhcpc.script -f -n -q -t 10 -T 1 -A 1 >/tmp/udhcpc2.log 2>&1 ||
    { cat /tmp/udhcpc2.log; echo "DHCP-AGAIN-FAILED"; exit 7; }
echo "REBOUND"
""" + guest_round(host, 2)
    vm = Vm(procs, tmp_path, f"vhost-user:{sock}", script)
    rc = vm.result()
    assert rc == 0, vm.text()[-4000:]
    check_round(vm, host, 1, 0)
    check_round(vm, host, 2, 1)
    assert lease_ok(d)
    d.assert_alive()


def test_guest_reboot(vnetd, procs, tmp_path, host):
    """The guest reboots (QEMU resets the device and sets the rings and the
    memory table up again over the same connection); the second boot gets its
    lease again and moves traffic."""
    sock = tmp_path / "vm.sock"
    d = vnetd(nat_conf(host, vhost_port(sock)))
    script = f"""
n=$(wget -q -O - http://10.0.2.2:{host.web.port}/count/boot)
echo "BOOT-NUMBER $n"
""" + guest_round(host, "$n") + """
if [ "$n" = 1 ]; then echo REBOOTING; sync; reboot -f; sleep 30; fi
"""
    vm = Vm(procs, tmp_path, f"vhost-user:{sock}", script, extra=["--allow-reboot"])
    rc = vm.result()
    assert rc == 0, vm.text()[-4000:]
    assert vm.lines("BOOT-NUMBER ") == ["1", "2"], vm.text()[-4000:]
    assert "REBOOTING" in vm.text()
    check_round(vm, host, 1, 0)
    check_round(vm, host, 2, 1)
    assert lease_ok(d)
    d.assert_alive()


def test_vnetd_restart_qemu_reconnects(vnetd, procs, tmp_path, host):
    """vnetd (server mode) stops while the guest runs and starts again on the
    same socket; QEMU (reconnect=1) connects again and sets the device up; the
    guest, which keeps its address, moves traffic again."""
    sock = tmp_path / "vm.sock"
    d = vnetd(nat_conf(host, vhost_port(sock)))
    script = guest_round(host, 1) + guest_wait_gate(host, "restarted") + guest_round(host, 2)
    vm = Vm(procs, tmp_path, f"vhost-user:{sock}", script)
    vm.wait("ROUND-OK 1")
    check_round(vm, host, 1, 0)
    d.stop()
    assert not sock.exists()
    time.sleep(1.5)          # QEMU notices, and retries once a second
    assert vm.p.poll() is None, "QEMU ended when vnetd stopped:\n" + vm.text()[-3000:]
    d.start()
    wait_for(lambda: rings_running(d), 60, what="QEMU connected again, rings running")
    host.web.gates.add("restarted")
    rc = vm.result()
    assert rc == 0, vm.text()[-4000:]
    check_round(vm, host, 2, 1)
    d.assert_alive()


def test_client_mode_and_second_qemu(vnetd, procs, tmp_path, host):
    """mode: client: QEMU listens (vhost-user-server:PATH) and vnetd connects.
    When that QEMU ends, vnetd keeps retrying; a second QEMU on the same path
    gets connected and moves traffic."""
    sock = tmp_path / "qemu-vu.sock"
    d = vnetd(nat_conf(host, vhost_port(sock, mode="client")))
    for i in (1, 2):
        vm = Vm(procs, tmp_path, f"vhost-user-server:{sock}", guest_round(host, i), name=f"vm{i}")
        rc = vm.result()
        assert rc == 0, vm.text()[-4000:]
        check_round(vm, host, i, i - 1)
        assert lease_ok(d)
        if sock.exists():
            sock.unlink()    # QEMU leaves its listening socket behind
    d.assert_alive()
    log = d.log()
    assert log.count("\n") < 400, "vnetd logged every reconnect attempt"
