"""Functional tests of the vhost-user port with a second real front end: DPDK's
dpdk-testpmd and its net_virtio_user device (Debian 12's dpdk-dev, DPDK 22.11),
no VM and no NIC.

testpmd runs without hugepages (--no-huge -m 256: EAL then backs its memory
with a memfd, which virtio_user hands to vnetd in SET_MEM_TABLE; --in-memory
is refused with --no-huge), without PCI, without shared runtime files
(--no-shconf --no-telemetry; its --file-prefix directory under /var/run/dpdk
is removed afterwards), with a small mbuf pool (the default one does not fit
in 256 MiB) and two lcores on the last CPU (the forwarding one busy-polls:
every run is bounded by timeout(1) and stopped by PID).

Lab: vnetd with an isolated network "lan", a tap in a namespace the test
creates (10.9.0.1) and a vhost-user port "v"; testpmd's forwarding modes make
it the other host: icmpecho answers ARP and ping (any address), txonly sends
UDP frames to the tap as fast as the ring takes them, rxonly counts. Traffic
is proved both ways with both sides' counters: testpmd's port statistics and
vnetctl's.
"""
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time

import pytest

import vhost_client as vc
import vnet
from vnet import ping_stats, wait_for

TESTPMD = shutil.which("dpdk-testpmd")
pytestmark = [
    pytest.mark.skipif(TESTPMD is None, reason="dpdk-testpmd missing (Debian package dpdk-dev)"),
    pytest.mark.skipif(not vc.vnetd_has_vhost_user(vnet.VNETD),
                       reason=f"{vnet.VNETD} has no vhost-user port type"),
]

TAP_MAC = "02:00:00:00:09:01"
PMD_MAC = "02:00:00:00:09:02"
TAP_IP = "10.9.0.1"
PMD_IP = "10.9.0.2"


class Pmd:
    """One dpdk-testpmd with a net_virtio_user port on a vhost-user socket,
    its output read on a thread; stopped with SIGINT by PID (it prints its
    final statistics), killed if it lingers."""

    def __init__(self, procs, sock, mode, server=False, limit=60, extra=()):
        self.prefix = "vnt-" + secrets.token_hex(4)
        cpu = (os.cpu_count() or 1) - 1
        vdev = f"net_virtio_user0,path={sock},queues=1,queue_size=256,mac={PMD_MAC}"
        if server:
            vdev += ",server=1"
        self.cmd = ["timeout", "-s", "INT", "-k", "5", str(limit), TESTPMD,
                    f"--lcores=0@{cpu},1@{cpu}", "--no-pci", "--no-huge", "-m", "256",
                    "--no-shconf", "--no-telemetry", f"--file-prefix={self.prefix}",
                    f"--vdev={vdev}", "--",
                    f"--forward-mode={mode}", "--stats-period=1", "--no-mlockall",
                    "--total-num-mbufs=8192", f"--eth-peer=0,{TAP_MAC}", *extra]
        self.lines = []
        self.p = procs.start(self.cmd, stdin=subprocess.DEVNULL)
        self.pid = self.p.pid  # timeout(1)'s: it passes SIGINT on to testpmd
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def pmd_pid(self):
        """testpmd's own PID (the child of timeout(1)), what vnetd sees as its peer."""
        with open(f"/proc/{self.pid}/task/{self.pid}/children") as f:
            kids = f.read().split()
        assert len(kids) == 1, kids
        return int(kids[0])

    def text(self):
        return "\n".join(self.lines)

    def forwarding(self, timeout=30):
        """Wait until testpmd has started its port and forwards (its first
        periodic statistics)."""
        def up():
            if self.p.poll() is not None:
                raise AssertionError(f"testpmd exited {self.p.returncode}:\n{self.text()[-3000:]}")
            return any("NIC statistics for port 0" in l for l in self.lines)
        wait_for(up, timeout, interval=0.1, what="testpmd forwarding")
        return self

    def stats(self):
        """(RX-packets, TX-packets) of the latest periodic port statistics."""
        rx = tx = None
        for l in reversed(self.lines):
            if tx is None:
                m = re.search(r"TX-packets:\s+(\d+)\s+TX-errors", l)
                if m:
                    tx = int(m.group(1))
                    continue
            if tx is not None:
                m = re.search(r"RX-packets:\s+(\d+)\s+RX-missed", l)
                if m:
                    rx = int(m.group(1))
                    return rx, tx
        return 0, 0

    def wait_stats(self, pred, timeout=15, what="testpmd counters"):
        return wait_for(lambda: pred(*self.stats()) and self.stats(), timeout, interval=0.2,
                        what=what)

    def stop(self):
        """SIGINT, wait; returns the final accumulated (RX-packets, TX-packets)."""
        if self.p.poll() is None:
            os.kill(self.pid, signal.SIGINT)
            try:
                self.p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.p.wait(timeout=5)
        self._t.join(5)
        shutil.rmtree(f"/var/run/dpdk/{self.prefix}", ignore_errors=True)
        text = self.text()
        m = re.search(r"Accumulated forward statistics.*?RX-packets:\s+(\d+).*?TX-packets:\s+(\d+)",
                      text, re.S)
        return (int(m.group(1)), int(m.group(2))) if m else (None, None)


@pytest.fixture
def testpmds(procs):
    made = []

    def factory(*a, **kw):
        t = Pmd(procs, *a, **kw)
        made.append(t)
        return t

    yield factory
    for t in made:
        t.stop()


def lab(netns, vnetd, tmp_path, mode="server"):
    ns = netns()
    sock = tmp_path / "v.sock"
    d = vnetd({
        "networks": [{"name": "lan", "mode": "isolated"}],
        "ports": [{"name": "t", "type": "tap", "netns": ns.path, "ifname": "eth0",
                   "network": "lan", "mac": TAP_MAC},
                  {"name": "v", "type": "vhost-user", "path": str(sock), "mode": mode,
                   "network": "lan"}],
    })
    if mode == "server":
        d.socket_paths.append(str(sock))
    ns.wait_link()
    ns.addr(f"{TAP_IP}/24")
    return d, ns, sock


def running(d):
    return wait_for(lambda: (lambda s: s if s.get("rings") == "running" else None)(d.port("v")),
                    20, what="vhost-user rings running")


def tap_ctr(ns, name):
    return int(ns.exec("cat", f"/sys/class/net/eth0/statistics/{name}").stdout)


def diag(d, t, what):
    """What both sides say, for an assertion message."""
    st = d.port("v")
    return (f"{what}\nvnetd port v: {st}\ntestpmd (rx, tx): {t.stats()}\n"
            f"testpmd output:\n" + "\n".join(t.lines[-40:]))


def test_testpmd_icmpecho_answers_arp_and_ping(netns, vnetd, tmp_path, testpmds):
    """vnetd listens, testpmd connects; its icmpecho answers the namespace's
    ARP and pings of 56 and 1472 bytes through vnetd, and both sides count."""
    d, ns, sock = lab(netns, vnetd, tmp_path)
    t = testpmds(sock, "icmpecho").forwarding()
    st = running(d)
    assert st["connected"] and st["peer_pid"] == t.pmd_pid(), st
    assert "version_1" in st["features"], st
    assert st["memory_regions"] >= 1
    v0, t0 = d.port_stats("v"), d.port_stats("t")
    pmd0 = t.stats()

    ns.ping_until(PMD_IP, timeout=15)  # ARP answered by testpmd, then an echo
    assert ns.exec("ip", "neigh", "show", PMD_IP).stdout.split()[4] == PMD_MAC
    for size in (56, 1472):
        r = ns.ping(PMD_IP, count=10, interval=0.05, wait=2, size=size, extra=["-M", "do"],
                    check=False)
        assert ping_stats(r.stdout) == (10, 10), diag(d, t, r.stdout)

    # testpmd received and sent at least the 20 echoes and an ARP each way.
    rx, tx = t.wait_stats(lambda rx, tx: rx >= pmd0[0] + 21 and tx >= pmd0[1] + 21)
    v1, t1 = d.port_stats("v"), d.port_stats("t")
    assert v1["tx_frames"] - v0["tx_frames"] >= 21, v1   # vnetd -> testpmd
    assert v1["rx_frames"] - v0["rx_frames"] >= 21, v1   # testpmd -> vnetd
    assert t1["rx_frames"] - t0["rx_frames"] >= 21 and t1["tx_frames"] - t0["tx_frames"] >= 21
    for s in (v1, t1):
        assert sum(s["rx_drops"].values()) == 0 and sum(s["tx_drops"].values()) == 0, s
    assert d.fdb_macs("lan") == {TAP_MAC: "t", PMD_MAC: "v"}
    assert st["protocol_errors"] == 0 and st["breaks"] == 0

    frx, ftx = t.stop()
    assert frx is not None and frx >= rx and ftx >= tx, t.text()[-2000:]
    wait_for(lambda: not d.port("v")["connected"], 10, what="vnetd saw testpmd leave")
    assert d.port("v")["disconnects"] == 1


def test_testpmd_server_vnetd_client_reconnects(netns, vnetd, tmp_path, testpmds):
    """testpmd listens (virtio_user server=1), vnetd connects (mode: client);
    testpmd is stopped and started again and vnetd reconnects by itself."""
    sock = tmp_path / "v.sock"
    t = testpmds(sock, "icmpecho", server=True)
    wait_for(lambda: sock.exists(), 20, what="testpmd's socket")
    d, ns, _ = lab(netns, vnetd, tmp_path, mode="client")
    t.forwarding()
    running(d)
    ns.ping_until(PMD_IP, timeout=15)
    t.stop()
    wait_for(lambda: not d.port("v")["connected"], 10, what="vnetd saw testpmd leave")
    ns.ping(PMD_IP, count=1, wait=1, check=False)  # nobody there: dropped, counted
    assert sum(d.port_stats("v")["tx_drops"].values()) >= 1

    t2 = testpmds(sock, "icmpecho", server=True).forwarding()
    st = running(d)
    assert st["peer_pid"] == t2.pmd_pid() and st["connects"] == 2 and st["mode"] == "client", st
    ns.ping_until(PMD_IP, timeout=15)
    r = ns.ping(PMD_IP, count=5, interval=0.05, wait=2, check=False)
    assert ping_stats(r.stdout) == (5, 5), diag(d, t2, r.stdout)
    assert "not listening, retrying" in d.log()
    t2.stop()
    if sock.exists():
        sock.unlink()


def test_testpmd_takes_a_restarted_vnetd(netns, vnetd, tmp_path, testpmds):
    """vnetd (mode: client) restarts while testpmd (virtio_user server=1) keeps
    running: testpmd takes the new vnetd's connection, sets the device up
    again, and pings pass again. (virtio_user re-sends SET_VRING_BASE 0 while
    its rings hold avail->idx from before: vnetd starts a ring at used->idx
    when the two disagree, as DPDK's own back end does.)"""
    sock = tmp_path / "v.sock"
    t = testpmds(sock, "icmpecho", server=True)
    wait_for(lambda: sock.exists(), 20, what="testpmd's socket")
    d, ns, _ = lab(netns, vnetd, tmp_path, mode="client")
    t.forwarding()
    running(d)
    ns.ping_until(PMD_IP, timeout=15)
    d.stop()
    d2 = vnetd(d.conf, name="vnetd2")
    ns.wait_link()
    ns.addr(f"{TAP_IP}/24")
    st = running(d2)
    assert st["peer_pid"] == t.pmd_pid() and st["connects"] == 1, st
    ns.ping_until(PMD_IP, timeout=15)
    sent, got = ping_stats(ns.ping(PMD_IP, count=5, interval=0.05).stdout)
    assert (sent, got) == (5, 5)
    st = d2.port("v")
    assert st["breaks"] == 0 and st["rings"] == "running", st
    t.stop()
    if sock.exists():
        sock.unlink()


def test_testpmd_bulk_both_ways(netns, vnetd, tmp_path, testpmds):
    """txonly: testpmd floods UDP frames at the tap for about 2 s, as fast as
    vnetd takes them from the ring; every frame vnetd took is delivered to
    the tap or counted as dropped. rxonly: 500 pings from the namespace all
    reach testpmd. vnetd serves normally afterwards."""
    d, ns, sock = lab(netns, vnetd, tmp_path)
    ns.ip("neigh", "replace", PMD_IP, "lladdr", PMD_MAC, "dev", "eth0", "nud", "permanent")
    tap0 = tap_ctr(ns, "rx_packets")
    t = testpmds(sock, "txonly", extra=["--txpkts=60", f"--tx-ip={PMD_IP},{TAP_IP}",
                                        "--tx-udp=9,9"]).forwarding()
    running(d)
    time.sleep(2)
    _, sent = t.stop()
    assert sent and sent > 1000, t.text()[-2000:]
    wait_for(lambda: not d.port("v")["connected"], 10, what="testpmd gone")
    vnet.quiet_counters(d, ["v", "t"])
    v, tp = d.port_stats("v"), d.port_stats("t")
    got = tap_ctr(ns, "rx_packets") - tap0
    # vnetd took what testpmd put in the ring (at most a ring's worth may have
    # been left when testpmd stopped), and every frame it took went to the tap
    # or is counted as dropped.
    assert sent - 256 <= v["rx_frames"] <= sent, (sent, v)
    assert got >= 1000, got
    assert (tp["tx_frames"] + sum(tp["tx_drops"].values()) + sum(v["rx_drops"].values())
            == v["rx_frames"]), (v, tp)
    assert tp["tx_frames"] <= got
    st = d.port("v")
    assert st["protocol_errors"] == 0 and st["breaks"] == 0 and st["tx_malformed"] == 0, st

    t2 = testpmds(sock, "rxonly").forwarding()
    running(d)
    rx0, _ = t2.stats()
    v0 = d.port_stats("v")["tx_frames"]
    ns.ping(PMD_IP, count=500, interval=0.002, wait=1, check=False, timeout=60)
    rx, _ = t2.wait_stats(lambda rx, tx: rx >= rx0 + 500, what="500 pings in testpmd")
    assert d.port_stats("v")["tx_frames"] - v0 >= 500
    t2.stop()
    d.assert_alive()
