"""Functional tests of the switch foundation: tap/stream/dgram ports on isolated
networks, MTU, VLAN trunks, malformed stream input, MAC floods, real QEMU guests,
configuration errors, daemon life cycle and vnetctl's human output.

Every address is inside a namespace the test creates (or a QEMU guest attached
to vnetd); nothing leaves the machine. Waits poll with deadlines.
"""
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest
import yaml

import vnet
from vnet import ping_stats, quiet_counters, run, wait_for


def tap(name, ns, network=None, mac=None, **kw):
    p = {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0"}
    if network:
        p["network"] = network
    if mac:
        p["mac"] = mac
    p.update(kw)
    return p


def two_hosts(netns, vnetd, network_extra=None, ports_extra=(), subnet="10.1.0"):
    """Namespaces a and b on tap ports of one isolated network 'lan', addressed and
    reaching each other. Returns (d, a, b, info)."""
    a, b = netns(), netns()
    mac_a, mac_b = "02:00:00:00:0a:01", "02:00:00:00:0a:02"
    net = {"name": "lan", "mode": "isolated"}
    net.update(network_extra or {})
    conf = {
        "networks": [net],
        "ports": [tap("a", a, "lan", mac_a), tap("b", b, "lan", mac_b), *ports_extra],
    }
    d = vnetd(conf)
    a.wait_link()
    b.wait_link()
    a.addr(f"{subnet}.1/24")
    b.addr(f"{subnet}.2/24")
    a.ping_until(f"{subnet}.2")
    return d, a, b, {"mac_a": mac_a, "mac_b": mac_b, "ip_a": f"{subnet}.1",
                     "ip_b": f"{subnet}.2"}


# --------------------------------------------------------------------------- 1

def test_isolated_network_ping_iperf_and_isolation(netns, vnetd, procs):
    a, b, c = netns(), netns(), netns()
    mac = {"a": "02:00:00:01:00:0a", "b": "02:00:00:01:00:0b", "c": "02:00:00:01:00:0c"}
    d = vnetd({
        "networks": [{"name": "red", "mode": "isolated"}, {"name": "blue", "mode": "isolated"}],
        "ports": [tap("a", a, "red", mac["a"]), tap("b", b, "red", mac["b"]),
                  tap("c", c, "blue", mac["c"])],
    })
    for ns, name in ((a, "a"), (b, "b"), (c, "c")):
        link = ns.wait_link()
        assert link["address"] == mac[name], f"tap {name} has MAC {link['address']}"
        assert link["mtu"] == 1500
    a.addr("10.1.0.1/24")
    b.addr("10.1.0.2/24")
    c.addr("10.1.0.3/24")  # same subnet, other network: must stay unreachable

    a.ping_until("10.1.0.2")
    sent, got = ping_stats(a.ping("10.1.0.2", count=5, interval=0.1).stdout)
    assert (sent, got) == (5, 5)
    b.ping("10.1.0.1", count=3, interval=0.1)

    # The fdb learned exactly the two hosts, on their ports, on their network.
    assert d.fdb_macs("red") == {mac["a"]: "a", mac["b"]: "b"}
    assert mac["a"] not in d.fdb_macs("blue") and mac["b"] not in d.fdb_macs("blue")

    # Bulk data: iperf3 for 2 seconds.
    srv = b.start("iperf3", "-s", "-1", "-B", "10.1.0.2")
    wait_for(lambda: b.listening(5201), 10, what="iperf3 server listening")
    cli = a.exec("iperf3", "-c", "10.1.0.2", "-t", "2", "-J", timeout=40)
    srv.wait(timeout=15)
    res = vnet.json.loads(cli.stdout)
    received = res["end"]["sum_received"]["bytes"]
    bps = res["end"]["sum_received"]["bits_per_second"]
    assert received > 1_000_000, f"iperf3 moved only {received} bytes"
    assert bps > 10e6, f"iperf3 throughput {bps / 1e6:.1f} Mbit/s"
    st_a, st_b = d.port_stats("a"), d.port_stats("b")
    assert st_a["rx_bytes"] >= received and st_b["tx_bytes"] >= received
    for st in (st_a, st_b):
        assert sum(st["rx_drops"].values()) == 0 and sum(st["tx_drops"].values()) == 0, st

    # Isolation: c (network blue) cannot reach a or b, and none of its frames
    # reaches a port of network red.
    before = quiet_counters(d, ["a", "b", "c"])
    red_before = d.network("red")["stats"]["frames"]
    r = c.ping("10.1.0.1", count=3, interval=0.2, wait=1, check=False)
    assert r.returncode != 0 and ping_stats(r.stdout)[1] == 0
    r = c.ping("10.1.0.2", count=1, wait=1, check=False)
    assert r.returncode != 0
    after = {p: d.port_stats(p) for p in ("a", "b", "c")}
    assert after["c"]["rx_frames"] >= before["c"]["rx_frames"] + 3, "c sent nothing?"
    for p in ("a", "b"):
        assert after[p]["tx_frames"] == before[p]["tx_frames"], f"a frame of c reached {p}"
        assert after[p]["rx_frames"] == before[p]["rx_frames"]
    assert d.network("red")["stats"]["frames"] == red_before
    assert mac["c"] not in d.fdb_macs("red")
    assert d.fdb_macs("blue") == {mac["c"]: "c"}


# --------------------------------------------------------------------------- 2

def test_mtu_oversized_frames_dropped_and_counted(netns, vnetd):
    d, a, b, h = two_hosts(netns, vnetd, {"mtu": 1500}, subnet="10.2.0")
    assert d.network("lan")["mtu"] == 1500
    assert b.links()["eth0"]["mtu"] == 1500
    a.ip("link", "set", "eth0", "mtu", "9000")
    assert a.links()["eth0"]["mtu"] == 9000

    # Exactly the network MTU passes (1472 + 8 + 20 = 1500 bytes of IP).
    a.ping(h["ip_b"], count=2, interval=0.1, size=1472, extra=["-M", "do"])
    base = d.port_stats("a")["rx_drops"]["mtu"]
    b_rx = quiet_counters(d, ["b"])["b"]["tx_frames"]

    # One byte more, and 4000-byte pings: each frame dropped and counted.
    r = a.ping(h["ip_b"], count=1, size=1473, extra=["-M", "do"], check=False)
    assert r.returncode != 0
    wait_for(lambda: d.port_stats("a")["rx_drops"]["mtu"] == base + 1, 5,
             what="rx_drops.mtu +1")
    r = a.ping(h["ip_b"], count=3, interval=0.2, size=4000, check=False)
    assert r.returncode != 0 and ping_stats(r.stdout) == (3, 0)
    wait_for(lambda: d.port_stats("a")["rx_drops"]["mtu"] == base + 4, 5,
             what="rx_drops.mtu +4")
    assert d.port_stats("b")["tx_frames"] == b_rx, "an oversized frame reached b"

    # Small frames still flow.
    a.ping(h["ip_b"], count=2, interval=0.1)


# --------------------------------------------------------------------------- 3

def vm_ping_script(ip):
    """Guest side: ping the namespace (retrying the first answer while the NIC
    settles, then three answers in a row), then stay up until the host has
    pinged us three times (InEchos in /proc/net/snmp)."""
    return f"""
n=0
until ping -c 1 -W 1 {ip} >/dev/null 2>&1; do
    n=$((n+1)); [ $n -ge 20 ] && {{ echo GUEST-FIRST-PING-FAILED; exit 1; }}
done
out=$(ping -c 3 -W 2 {ip}); echo "$out"
echo "$out" | grep -q ' 3 packets received' || {{ echo GUEST-PING-LOST; exit 2; }}
echo GUEST-PINGS-OK
n=0
while [ "$(awk '$1 == "Icmp:" && $2 ~ /^[0-9]+$/ {{print $10}}' /proc/net/snmp)" -lt 3 ]; do
    n=$((n+1)); [ $n -ge 150 ] && {{ echo GUEST-NOT-PINGED; exit 3; }}
    sleep 0.2
done
echo GUEST-PINGED-OK
"""


def start_vm(procs, tmp_path, tag, net, ip, mac, script, timeout=120):
    log = tmp_path / f"vm-{tag}.out"
    cmd = [vnet.VM_DIR / "run-vm.sh", "--ip", ip, "--mac", mac,
           "--append", "ipv6.disable=1", net, script, str(timeout)]
    f = open(log, "w")
    p = procs.start(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    f.close()
    p.log = log
    return p


def wait_vm(p, timeout=150):
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        vnet.Procs.stop(p)
        rc = "timeout"
    out = p.log.read_text(errors="replace")
    assert rc == 0, f"VM run failed (rc {rc}):\n{out[-6000:]}"
    return out


@pytest.mark.vm
def test_qemu_guests_on_stream_and_dgram_ports(netns, vnetd, procs, tmp_path):
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    guest = vnet.REPO / "build" / "vm"
    assert (guest / "vmlinuz").exists() and (guest / "initramfs.cpio.gz").exists(), \
        "no guest image in build/vm: run 'make guest'"
    ns = netns()
    host_mac = "02:00:00:03:00:01"
    vm_s_mac, vm_d_mac = "52:54:00:03:00:11", "52:54:00:03:00:12"
    spath, dpath = str(tmp_path / "vm-s.sock"), str(tmp_path / "vm-d.sock")
    d = vnetd({
        "networks": [{"name": "vmnet", "mode": "isolated"}],
        "ports": [tap("host", ns, "vmnet", host_mac),
                  {"name": "vms", "type": "stream", "path": spath, "network": "vmnet"},
                  {"name": "vmd", "type": "dgram", "path": dpath, "network": "vmnet"}],
    })
    ns.wait_link()
    ns.addr("10.3.0.1/24")
    script = vm_ping_script("10.3.0.1")

    # Two guests at once: one on the stream port, one on the dgram port.
    vs = start_vm(procs, tmp_path, "stream1", f"stream:{spath}", "10.3.0.11/24", vm_s_mac, script)
    vd = start_vm(procs, tmp_path, "dgram", f"dgram:{dpath}:{tmp_path / 'vm-d-local.sock'}",
                  "10.3.0.12/24", vm_d_mac, script)
    # The host side pings each guest while it waits for that.
    for ip in ("10.3.0.11", "10.3.0.12"):
        ns.ping_until(ip, timeout=90)
        ns.ping(ip, count=3, interval=0.2)
    out_s, out_d = wait_vm(vs), wait_vm(vd)
    for out in (out_s, out_d):
        assert "GUEST-PINGS-OK" in out and "GUEST-PINGED-OK" in out and "result=0" in out, out
    fdb = d.fdb_macs("vmnet")
    assert fdb.get(vm_s_mac) == "vms" and fdb.get(vm_d_mac) == "vmd" and \
        fdb.get(host_mac) == "host", fdb
    assert d.port("vmd")["peer_changes"] >= 1
    assert d.port_stats("vmd")["rx_frames"] >= 4 and d.port_stats("vmd")["tx_frames"] >= 4

    # QEMU has exited: the stream port waits for the next peer.
    wait_for(lambda: not d.port("vms")["connected"], 10, what="stream port waiting again")
    first = d.port("vms")
    assert first["connects"] == 1 and first["framing_errors"] == 0

    # Restart: a second guest on the same stream port attaches and works.
    vs2 = start_vm(procs, tmp_path, "stream2", f"stream:{spath}", "10.3.0.11/24", vm_s_mac,
                   script)
    ns.ip("neigh", "flush", "dev", "eth0")
    ns.ping_until("10.3.0.11", timeout=90)
    ns.ping("10.3.0.11", count=3, interval=0.2)
    assert "GUEST-PINGED-OK" in wait_vm(vs2)
    wait_for(lambda: not d.port("vms")["connected"], 10, what="stream port waiting again")
    second = d.port("vms")
    assert second["connects"] == 2 and second["refused"] == 0 and second["framing_errors"] == 0
    assert second["stats"]["rx_frames"] > first["stats"]["rx_frames"]
    assert second["stats"]["tx_frames"] > first["stats"]["tx_frames"]
    d.assert_alive()


# --------------------------------------------------------------------------- 4

MALFORMED = [
    # (case, bytes to send, we close after sending, daemon must count a framing error)
    ("zero length", struct.pack("!I", 0) + b"\x01" * 64, False, True),
    ("length 70000", struct.pack("!I", 70000) + b"\x02" * 1000, False, True),
    ("length 5", struct.pack("!I", 5) + b"ABCDE", False, True),
    ("truncated frame", struct.pack("!I", 600) + b"\x03" * 100, True, False),
    ("random bytes", None, False, True),
]


def check_malformed_case(d, spath, case, data, we_close, framing, rnd):
    before = d.port("s")
    assert not before["connected"]
    cl = vnet.StreamClient(spath)
    try:
        wait_for(lambda: d.port("s")["connects"] == before["connects"] + 1, 5,
                 what=f"{case}: attach")
        if data is None:
            data = rnd.randbytes(8192)
            if struct.unpack("!I", data[:4])[0] <= 65549:  # make the first length invalid
                data = b"\xff" + data[1:]
        cl.send_raw(data)
        if not we_close:
            assert cl.closed_by_peer(10), f"{case}: vnetd kept the connection open"
    finally:
        cl.close()
    wait_for(lambda: not d.port("s")["connected"], 5, what=f"{case}: port waiting again")
    after = d.port("s")
    assert after["framing_errors"] == before["framing_errors"] + (1 if framing else 0), case
    assert after["stats"]["rx_drops"]["malformed"] == \
        before["stats"]["rx_drops"]["malformed"] + (1 if framing else 0), case
    d.assert_alive()


def test_stream_malformed_input_closes_only_that_connection(netns, vnetd, tmp_path):
    spath = str(tmp_path / "s.sock")
    d, a, b, h = two_hosts(netns, vnetd, subnet="10.4.0", ports_extra=[
        {"name": "s", "type": "stream", "path": spath, "network": "lan"}])
    # Traffic between the two namespaces flows while malformed input arrives: the
    # cases repeat until 40 pings (2 s) are done.
    pinger = a.start("ping", "-n", "-q", "-c", "40", "-i", "0.05", "-W", "2", h["ip_b"])
    rnd = random.Random(4242)
    rounds = 0
    while rounds == 0 or (pinger.poll() is None and rounds < 100):
        rounds += 1
        for case, data, we_close, framing in MALFORMED:
            check_malformed_case(d, spath, case, data, we_close, framing, rnd)
    assert pinger.wait(timeout=20) == 0
    assert ping_stats(pinger.stdout.read()) == (40, 40), "pings lost during malformed input"
    after = d.port("s")
    assert after["framing_errors"] == 4 * rounds and after["connects"] == 5 * rounds

    # Well-framed garbage is switched or dropped frame by frame; the connection
    # stays up. Random payloads go to the sender's own MAC (filtered: nothing
    # reaches the namespaces); bad headers are counted as malformed.
    cl = vnet.StreamClient(spath)
    wait_for(lambda: d.port("s")["connected"], 5, what="attach")
    before = d.port("s")["stats"]
    me = vnet.mac_bytes("02:00:00:04:00:99")
    n = 300
    for _ in range(n):
        cl.send_frame(me + me + rnd.randbytes(rnd.randint(2, 1500)))
    bad = [
        me + b"\x01\x00\x5e\x00\x00\x01" + b"\x08\x00" + b"\0" * 46,   # multicast source
        me + b"\0" * 6 + b"\x08\x00" + b"\0" * 46,                       # zero source
        me + me + b"\x81\x00\x00\x0a\x81\x00\x00\x14" + b"\0" * 46,       # stacked tags
        me + me + b"\x88\xa8\x00\x0a\x08\x00" + b"\0" * 46,               # 802.1ad
        me + me + b"\x81\x00",                                         # tag cut short
    ]
    for f in bad:
        cl.send_frame(f)
    total = n + len(bad)
    wait_for(lambda: d.port("s")["stats"]["rx_frames"] == before["rx_frames"] + total, 10,
             what="garbage frames received")
    st = d.port("s")
    assert st["connected"] and st["framing_errors"] == after["framing_errors"]
    assert st["stats"]["rx_drops"]["malformed"] >= before["rx_drops"]["malformed"] + len(bad)
    cl.close()
    wait_for(lambda: not d.port("s")["connected"], 5, what="port waiting again")

    a.ping(h["ip_b"], count=2, interval=0.1)
    d.assert_alive()


def test_stream_second_connection_refused(netns, vnetd, tmp_path):
    spath = str(tmp_path / "s.sock")
    d, a, b, h = two_hosts(netns, vnetd, subnet="10.4.1", ports_extra=[
        {"name": "s", "type": "stream", "path": spath, "network": "lan"}])
    first = vnet.StreamClient(spath)
    wait_for(lambda: d.port("s")["connected"], 5, what="first client attached")
    assert d.port("s")["peer_pid"] == os.getpid()

    second = vnet.StreamClient(spath)  # the listener accepts it, then closes it
    assert second.closed_by_peer(5), "second connection was not closed"
    second.close()
    wait_for(lambda: d.port("s")["refused"] == 1, 5, what="refused counter")
    st = d.port("s")
    assert st["connected"] and st["connects"] == 1

    # The first client still works both ways: ARP for a's address is answered.
    me = "02:00:00:04:01:99"
    first.send_frame(vnet.arp_request(me, "10.4.1.99", h["ip_a"]))
    reply = first.wait_frame(lambda f: (vnet.parse_arp(f) or (0,))[0] == 2, timeout=5)
    op, smac, sip, tmac, tip = vnet.parse_arp(reply)
    assert (smac, sip, tmac, tip) == (h["mac_a"], h["ip_a"], me, "10.4.1.99")
    assert d.fdb_macs("lan").get(me) == "s"
    first.close()
    wait_for(lambda: not d.port("s")["connected"], 5, what="port waiting again")


# --------------------------------------------------------------------------- 5

def test_mac_flood_is_bounded(netns, vnetd, tmp_path):
    spath = str(tmp_path / "s.sock")
    fdb_max = 1024
    d, a, b, h = two_hosts(netns, vnetd, {"fdb_max": fdb_max}, subnet="10.5.0", ports_extra=[
        {"name": "s", "type": "stream", "path": spath, "network": "lan"}])
    cl = vnet.StreamClient(spath, timeout=60)
    wait_for(lambda: d.port("s")["connected"], 5, what="flooder attached")
    # The flooder's own MAC first; every flood frame is addressed to it, so the
    # switch learns the source and filters the frame (no flood into the taps).
    me = "02:00:00:05:00:00"
    cl.send_frame(vnet.eth_frame(me, me, 0x88B5))
    wait_for(lambda: d.fdb_macs("lan").get(me) == "s", 5, what="flooder learned")
    fdb0 = d.network("lan")["fdb"]
    assert fdb0["entries"] == 3
    rss0 = vnet.vm_rss_kb(d.pid)

    n = 100_000
    dst = vnet.mac_bytes(me)
    hdr = b"\x00\x00\x00\x3c"  # 60-byte frames
    tail = b"\x88\xb5" + b"\x00" * 46
    chunk = []
    for i in range(1, n + 1):
        src = b"\x06" + i.to_bytes(5, "big")  # locally administered, unicast, distinct
        chunk.append(hdr + dst + src + tail)
        if len(chunk) == 5000:
            cl.send_raw(b"".join(chunk))
            chunk = []
    wait_for(lambda: d.port("s")["stats"]["rx_frames"] >= n + 1, 60, interval=0.2,
             what="all flood frames switched")
    d.assert_alive()
    assert d.port("s")["connected"], "vnetd dropped the flooding peer"

    fdb = d.network("lan")["fdb"]
    entries = d.fdb("lan")
    assert len(entries) == fdb_max and fdb["entries"] == fdb_max and fdb["max"] == fdb_max
    assert fdb["full"] - fdb0["full"] == n - (fdb_max - fdb0["entries"]), fdb
    rss1 = vnet.vm_rss_kb(d.pid)
    assert rss1 - rss0 < 20 * 1024, f"RSS grew {rss1 - rss0} kB during the flood"

    # Hosts learned before the flood keep their entries and keep talking.
    macs = {e["mac"]: e["port"] for e in entries}
    assert macs[h["mac_a"]] == "a" and macs[h["mac_b"]] == "b"
    a.ping(h["ip_b"], count=3, interval=0.1)
    b.ping(h["ip_a"], count=3, interval=0.1)
    cl.close()


# --------------------------------------------------------------------------- 6

def test_vlan_trunk_tagging(netns, vnetd):
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Dot1Q, Ether

    t, ha, hb = netns(), netns(), netns()
    mac_t, mac_a, mac_b = "02:00:00:06:00:01", "02:00:00:06:00:0a", "02:00:00:06:00:0b"
    d = vnetd({
        "networks": [{"name": "a", "mode": "isolated", "vlan": 10},
                     {"name": "b", "mode": "isolated", "vlan": 20}],
        "ports": [tap("trunk", t, mac=mac_t, trunk=["a", "b"], native="a"),
                  tap("ha", ha, "a", mac_a), tap("hb", hb, "b", mac_b)],
    })
    for ns in (t, ha, hb):
        ns.wait_link()
    port = d.port("trunk")
    assert port["role"] == "trunk" and port["networks"] == ["a", "b"] and port["native"] == "a"
    t.addr("10.6.1.9/24")  # the native network, untagged
    ha.addr("10.6.1.1/24")
    hb.addr("10.6.2.1/24")

    sn = vnet.Sniffer(t)
    try:
        # Native network a: untagged both ways (ha and the trunk host talk IP).
        ha.ping_until("10.6.1.9")
        lines = sn.wait(lambda l: l.startswith(mac_a) and "ICMP echo request" in l)
        assert all("802.1Q" not in l and "vlan" not in l for l in lines), lines
        # Network b: hb's ARP broadcasts arrive tagged with VLAN 20.
        hb.ping("10.6.2.9", count=1, wait=1, check=False)
        lines = sn.wait(lambda l: l.startswith(mac_b) and "who-has 10.6.2.9" in l)
        assert all("ethertype 802.1Q" in l and "vlan 20," in l for l in lines), lines

        # A frame the trunk host tags with VLAN 20 reaches hb, and hb's answer
        # comes back tagged 20.
        src50 = "02:00:00:06:00:50"
        hb.ip("neigh", "replace", "10.6.2.50", "lladdr", src50, "dev", "eth0", "nud", "permanent")
        hb_tx = d.port_stats("hb")["tx_frames"]
        s = t.packet_socket()
        try:
            s.send(bytes(Ether(dst=mac_b, src=src50) / Dot1Q(vlan=20) /
                         IP(src="10.6.2.50", dst="10.6.2.1") / ICMP(id=0x4242, seq=1) /
                         b"vlan-20-probe"))
            wait_for(lambda: d.port_stats("hb")["tx_frames"] > hb_tx, 5, what="frame at hb")
            assert d.fdb_macs("b").get(src50) == "trunk"
            assert src50 not in d.fdb_macs("a")
            lines = sn.wait(lambda l: "10.6.2.1 > 10.6.2.50" in l and "echo reply" in l)
            assert all("vlan 20," in l and l.startswith(mac_b) for l in lines), lines

            # VLAN 30 is not carried: dropped and counted, delivered nowhere.
            before = quiet_counters(d, ["trunk", "ha", "hb"])
            src30 = "02:00:00:06:00:30"
            s.send(bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src=src30) / Dot1Q(vlan=30) /
                         IP(src="10.6.3.50", dst="10.6.3.1") / ICMP()))
            wait_for(lambda: d.port_stats("trunk")["rx_drops"]["vlan"] ==
                     before["trunk"]["rx_drops"]["vlan"] + 1, 5, what="rx_drops.vlan +1")
            after = {p: d.port_stats(p) for p in ("ha", "hb")}
            for p in ("ha", "hb"):
                assert after[p]["tx_frames"] == before[p]["tx_frames"], p
            assert all(src30 not in d.fdb_macs(n) for n in ("a", "b"))
        finally:
            s.close()
    finally:
        sn.stop()


# --------------------------------------------------------------------------- 7

BAD_CONFIGS = {
    "unknown key": ("""\
# vnetd configuration with a mistake on line 7
control: {ctl}
networks:
  - name: lan
    mode: isolated
    mtu: 1500
    colour: blue
ports:
  - {{ name: s, type: stream, path: {sock}, network: lan }}
  - {{ name: t, type: tap, netns: {netns}, ifname: eth0, network: lan }}
""", 7, "unknown network key 'colour'"),
    "bad value": ("""\
control: {ctl}
networks:
  - name: lan
    mode: isolated
ports:
  - {{ name: s, type: stream, path: {sock}, network: lan }}
  - {{ name: t, type: tap, netns: {netns}, ifname: eth0, network: lan, mtu: 70000 }}
""", 7, "mtu"),
    "undefined network": ("""\
control: {ctl}
networks:
  - name: lan
    mode: isolated
ports:
  - {{ name: t, type: tap, netns: {netns}, ifname: eth0, network: lan }}
  - {{ name: s, type: stream, path: {sock}, network: wan }}
""", 7, "network 'wan' is not defined"),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_config_error_names_file_and_line(netns, tmp_path, case):
    ns = netns()
    text, line, what = BAD_CONFIGS[case]
    ctl, sock = tmp_path / "ctl.sock", tmp_path / "s.sock"
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(text.format(ctl=ctl, sock=sock, netns=ns.path))
    for extra in ([], ["--check"]):
        r = run([vnet.VNETD, "-c", cfg, *extra], timeout=20, check=False)
        assert r.returncode != 0
        assert f"{cfg}:{line}:" in r.stderr, r.stderr
        assert what in r.stderr, r.stderr
        assert not any(p in r.stderr for p in vnet.SANITIZER_PATTERNS), r.stderr
        assert not ctl.exists() and not sock.exists()
        assert list(ns.links()) == ["lo"], "a tap was created"


def test_print_config_round_trip(netns, vnetd, tmp_path):
    t, n1 = netns(), netns()
    conf = {
        "control": str(tmp_path / "ctl.sock"),
        "state_dir": str(tmp_path / "state"),
        "networks": [{"name": "a", "mode": "isolated", "vlan": 10, "mtu": 9000},
                     {"name": "b", "mode": "isolated", "vlan": 20, "fdb_max": 1024,
                      "fdb_aging": 60}],
        "ports": [tap("t", t, trunk=["a", "b"], native="a", mac="02:00:00:07:00:01"),
                  tap("h", n1, "b", mtu=1400),
                  {"name": "s", "type": "stream", "path": str(tmp_path / "s.sock"),
                   "network": "a"},
                  {"name": "g", "type": "dgram", "path": str(tmp_path / "g.sock"),
                   "network": "b"}],
    }
    src = tmp_path / "src.yaml"
    src.write_text(vnet.to_yaml(conf))
    out1 = run([vnet.VNETD, "-c", src, "--print-config"]).stdout
    doc = yaml.safe_load(out1)
    assert isinstance(doc, dict)
    nets = {n["name"]: n for n in doc["networks"]}
    ports = {p["name"]: p for p in doc["ports"]}
    assert nets["a"]["vlan"] == 10 and nets["a"]["mtu"] == 9000 and nets["a"]["mode"] == "isolated"
    assert nets["b"]["fdb_max"] == 1024 and nets["b"]["fdb_aging"] == 60
    assert ports["t"]["trunk"] == ["a", "b"] and ports["t"]["native"] == "a"
    assert ports["t"]["netns"] == t.path and ports["h"]["mtu"] == 1400
    assert ports["s"]["type"] == "stream" and ports["g"]["path"] == str(tmp_path / "g.sock")
    assert doc["control"] == conf["control"]

    printed = tmp_path / "printed.yaml"
    printed.write_text(out1)
    assert run([vnet.VNETD, "-c", printed, "--check"]).returncode == 0
    out2 = run([vnet.VNETD, "-c", printed, "--print-config"]).stdout
    assert yaml.safe_load(out2) == doc, "printing the printed configuration changed it"

    # And the printed configuration really runs.
    d = vnetd(out1, name="printed")
    assert {p["name"] for p in d.ctl("port", "list")} == {"t", "h", "s", "g"}
    assert t.wait_link()["address"] == "02:00:00:07:00:01"
    assert n1.wait_link()["mtu"] == 1400
    d.stop()


def test_sigterm_removes_sockets_and_taps(netns, vnetd, tmp_path):
    a, b = netns(), netns()
    spath, gpath = str(tmp_path / "s.sock"), str(tmp_path / "g.sock")
    d = vnetd({
        "networks": [{"name": "lan", "mode": "isolated"}],
        "ports": [tap("a", a, "lan"), tap("b", b, "lan", ifname="vnet0"),
                  {"name": "s", "type": "stream", "path": spath, "network": "lan"},
                  {"name": "g", "type": "dgram", "path": gpath, "network": "lan"}],
    })
    a.wait_link("eth0")
    b.wait_link("vnet0")
    for p in (d.control, spath, gpath):
        assert os.path.exists(p), p
    cl = vnet.StreamClient(spath)  # an attached peer must not keep anything alive
    wait_for(lambda: d.port("s")["connected"], 5, what="attach")
    d.stop()  # exit status 0, sockets gone, clean log
    assert "shutting down" in d.log()
    assert cl.closed_by_peer(5)
    cl.close()
    wait_for(lambda: not a.has_link("eth0") and not b.has_link("vnet0"), 5, what="taps removed")
    assert list(a.links()) == ["lo"] and list(b.links()) == ["lo"]
    r = d.ctl_raw("status")
    assert r.returncode == 1 and "cannot connect" in r.stderr


def test_daemon_mode_pid_file(netns, tmp_path):
    ns = netns()
    pidfile = tmp_path / "vnetd.pid"
    ctl = tmp_path / "ctl.sock"
    spath = tmp_path / "s.sock"
    cfg = tmp_path / "d.yaml"
    cfg.write_text(vnet.to_yaml({
        "control": str(ctl),
        "state_dir": str(tmp_path / "state"),
        "networks": [{"name": "lan", "mode": "isolated"}],
        "ports": [tap("t", ns, "lan"),
                  {"name": "s", "type": "stream", "path": str(spath), "network": "lan"}],
    }))
    # The detached daemon's stderr is /dev/null: sanitizer reports go to files.
    san = tmp_path / "san"
    env = {"ASAN_OPTIONS": f"log_path={san}:detect_leaks=1",
           "UBSAN_OPTIONS": f"log_path={san}:print_stacktrace=1"}
    t0 = time.monotonic()
    p = subprocess.run([str(vnet.VNETD), "-c", str(cfg), "--daemon", "--pid", str(pidfile)],
                       capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL,
                       env={**os.environ, **env})
    assert p.returncode == 0, p.stderr
    pid = None
    try:
        # The parent returns once the daemon is set up: everything exists now.
        assert pidfile.exists() and ctl.exists() and spath.exists()
        pid = int(pidfile.read_text().strip())
        assert pid != p.returncode and vnet.pid_alive(pid)
        assert os.path.realpath(f"/proc/{pid}/exe") == str(vnet.VNETD)
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ppid, sid = int(fields[1]), int(fields[3])
        assert ppid != os.getpid(), "not detached from its parent"
        assert sid == pid, "not a session leader (setsid)"
        assert os.readlink(f"/proc/{pid}/cwd") == "/"
        assert ns.has_link("eth0")
        st = vnet.json.loads(run([vnet.VNETCTL, "--control", ctl, "-j", "status"]).stdout)
        assert st["pid"] == pid
        os.kill(pid, signal.SIGTERM)
        wait_for(lambda: not vnet.pid_alive(pid), 15, what="daemon exit")
        pid = None
        wait_for(lambda: not pidfile.exists(), 5, what="pid file removed")
        assert not ctl.exists() and not spath.exists()
        wait_for(lambda: not ns.has_link("eth0"), 5, what="tap removed")
        reports = list(tmp_path.glob("san*"))
        assert not reports, "sanitizer reports: " + "".join(r.read_text() for r in reports)
    finally:
        if pid and vnet.pid_alive(pid) and \
                os.path.realpath(f"/proc/{pid}/exe") == str(vnet.VNETD):
            os.kill(pid, signal.SIGKILL)
    assert time.monotonic() - t0 < 60


# --------------------------------------------------------------------------- 8

def parse_table(text):
    """Split an aligned table into (headers, rows) by the columns that are blank
    in every line; checks each column is consistently left- or right-aligned."""
    lines = text.rstrip("\n").split("\n")
    assert lines and lines[0].strip(), f"no table in {text!r}"
    width = max(len(l) for l in lines)
    padded = [l.ljust(width) for l in lines]
    blank = [all(l[i] == " " for l in padded) for i in range(width)]
    spans, start = [], None
    for i in range(width + 1):
        if i < width and not blank[i]:
            if start is None:
                start = i
        elif start is not None:
            spans.append((start, i))
            start = None
    headers = [padded[0][s:e].strip() for s, e in spans]
    assert headers == lines[0].split(), f"header columns run together: {lines[0]!r}"
    rows = [[l[s:e].strip() for s, e in spans] for l in padded[1:]]
    for ci, (s, e) in enumerate(spans):
        cells = [l[s:e] for l in padded]
        left = all(c == c.lstrip() for c in cells)
        right = all(c == c.rstrip() for c in cells)
        assert left or right, f"column {headers[ci]} is ragged: {cells}"
    return headers, rows


def test_vnetctl_human_output(netns, vnetd, tmp_path):
    a, b, t = netns(), netns(), netns()
    mac_a, mac_b = "02:00:00:08:00:0a", "02:00:00:08:00:0b"
    d = vnetd({
        "networks": [{"name": "lan", "mode": "isolated"},
                     {"name": "vl20", "mode": "isolated", "vlan": 20, "mtu": 9000}],
        "ports": [tap("a", a, "lan", mac_a), tap("b", b, "lan", mac_b),
                  tap("trk", t, trunk=["lan", "vl20"], native="lan"),
                  {"name": "s", "type": "stream", "path": str(tmp_path / "s.sock"),
                   "network": "lan"},
                  {"name": "g", "type": "dgram", "path": str(tmp_path / "g.sock"),
                   "network": "vl20"}],
    })
    for ns in (a, b, t):
        ns.wait_link()
    a.addr("10.8.0.1/24")
    b.addr("10.8.0.2/24")
    a.ping_until("10.8.0.2")
    a.ping("10.8.0.2", count=2, interval=0.1)
    quiet_counters(d, ["a", "b", "trk", "s", "g"])

    def human(*args):
        r = d.ctl_raw(*args, json_out=False)
        assert r.returncode == 0, f"vnetctl {' '.join(args)}: {r.returncode} {r.stderr}"
        assert r.stderr == ""
        return r.stdout

    # status
    out = human("status")
    st = d.ctl("status")
    m = re.match(r"vnetd (\S+), pid (\d+), up \d+d \d\d:\d\d:\d\d\n"
                 r"networks: (\d+)   ports: (\d+) \((\d+) connected\)\n"
                 r"frames: rx (\d+)  tx (\d+)  dropped (\d+)\n$", out)
    assert m, out
    assert int(m.group(2)) == d.pid == st["pid"] and m.group(1) == st["version"]
    assert (int(m.group(3)), int(m.group(4)), int(m.group(5))) == (2, 5, 3)

    # network list
    hdr, rows = parse_table(human("network", "list"))
    assert hdr == ["NAME", "MODE", "VLAN", "MTU", "UPLINK", "GATEWAY", "PORTS", "FDB", "FRAMES",
                   "FLOODED"]
    byname = {r[0]: dict(zip(hdr, r)) for r in rows}
    assert set(byname) == {"lan", "vl20"}
    assert byname["lan"]["MODE"] == "isolated" and byname["lan"]["VLAN"] == "-"
    assert byname["vl20"]["VLAN"] == "20" and byname["vl20"]["MTU"] == "9000"
    assert byname["lan"]["PORTS"] == "4" and byname["vl20"]["PORTS"] == "2"
    assert byname["lan"]["FDB"] == "2/4096"
    assert byname["lan"]["FRAMES"] == str(d.network("lan")["stats"]["frames"])
    hdr1, rows1 = parse_table(human("network", "show", "vl20"))
    assert hdr1 == hdr and [r[0] for r in rows1] == ["vl20"]

    # port list
    hdr, rows = parse_table(human("port", "list"))
    assert hdr == ["NAME", "TYPE", "NETWORK", "VLAN-ROLE", "STATE", "ENDPOINT", "RX", "TX",
                   "DROPS"]
    ports = {r[0]: dict(zip(hdr, r)) for r in rows}
    assert list(ports) == ["a", "b", "trk", "s", "g"]
    assert ports["a"]["TYPE"] == "tap" and ports["a"]["STATE"] == "up"
    assert ports["a"]["ENDPOINT"] == f"eth0@{a.path}" and ports["a"]["NETWORK"] == "lan"
    assert ports["trk"]["NETWORK"] == "lan*,vl20" and ports["trk"]["VLAN-ROLE"] == "trunk"
    assert ports["s"]["TYPE"] == "stream" and ports["s"]["STATE"] == "waiting"
    assert ports["s"]["ENDPOINT"] == str(tmp_path / "s.sock")
    assert ports["g"]["TYPE"] == "dgram" and ports["g"]["NETWORK"] == "vl20"
    assert ports["a"]["RX"] == str(d.port_stats("a")["rx_frames"])
    hdr1, rows1 = parse_table(human("port", "show", "s"))
    assert hdr1 == hdr and [r[0] for r in rows1] == ["s"]

    # fdb
    hdr, rows = parse_table(human("fdb"))
    assert hdr == ["NETWORK", "MAC", "PORT", "AGE"]
    assert sorted((r[0], r[1], r[2]) for r in rows) == [("lan", mac_a, "a"), ("lan", mac_b, "b")]
    assert all(r[3].isdigit() for r in rows)
    hdr, rows = parse_table(human("fdb", "vl20"))
    assert hdr == ["NETWORK", "MAC", "PORT", "AGE"] and rows == []

    # stats: a port table, a blank line, the network table
    out = human("stats")
    ports_part, nets_part = out.split("\n\n")
    hdr, rows = parse_table(ports_part)
    assert hdr == ["PORT", "RX-FRAMES", "RX-BYTES", "TX-FRAMES", "TX-BYTES", "RX-DROP", "TX-DROP"]
    js = {p["name"]: p for p in d.ctl("stats")["ports"]}
    assert [r[0] for r in rows] == list(js)
    for r in rows:
        p = js[r[0]]
        assert r[1:5] == [str(p["rx_frames"]), str(p["rx_bytes"]), str(p["tx_frames"]),
                          str(p["tx_bytes"])]
        assert r[5] == str(sum(p["rx_drops"].values()))
    assert parse_table(nets_part)[0][0] == "NAME"

    # stats PORT
    out = human("stats", "a")
    p = d.port_stats("a")
    lines = out.splitlines()
    assert lines[0] == "port a"
    assert lines[1] == f"  rx: {p['rx_frames']} frames, {p['rx_bytes']} bytes"
    assert lines[2] == f"  tx: {p['tx_frames']} frames, {p['tx_bytes']} bytes"
    assert p["rx_frames"] > 0 and p["tx_frames"] > 0

    # Unknown names: a clear message, exit status 1, nothing on stdout.
    for args, msg in ((("port", "show", "nope"), "no port named 'nope'"),
                      (("stats", "nope"), "no port named 'nope'"),
                      (("network", "show", "nonet"), "no network named 'nonet'"),
                      (("fdb", "nonet"), "no network named 'nonet'")):
        for js_flag in (False, True):
            r = d.ctl_raw(*args, json_out=js_flag)
            assert r.returncode == 1, (args, r)
            assert r.stderr == f"vnetctl: {msg}\n" and r.stdout == "", (args, r)
    r = d.ctl_raw("frobnicate", json_out=False)
    assert r.returncode == 2 and "unknown command" in r.stderr and "usage:" in r.stderr
