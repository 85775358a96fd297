"""Functional tests of observability (issue 5): counters (`vnetctl stats`),
pcap capture read back by tshark, port mirroring, Prometheus metrics parsed by
prometheus_client's parser, rate-limited logs under a hostile guest, and
`vnetctl top` driven in tmux; and all of these with IPv6 (a dual-stack guest's
NAT flows, leases of both families, the fdb, the gateway's IPv6 metrics, a
capture of IPv6 traffic, top under IPv6 load).

Guests are namespaces on tap ports with static addresses and static neighbour
entries, so the traffic of a test is exactly the frames it sends and counters
can be compared for equality. Nothing leaves the namespaces the tests create
(the metrics endpoint listens on the loopback of vnetd's own namespace).
"""
import os
import re
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import vnet
from ipv6_util import (Dhclient6, Tcp6Server, Udp6Echo, ipv6_on, link_local_ready,
                       slaac_addr)
from modes_util import (http_get, ping_stats, quiet_counters, read_pcap,  # noqa: F401
                        start_httpd, tap, udhcpc, vnetd_in)
from nat_util import echo_handler, sink_handler
from vnet import run, wait_for

DNS = {"upstream": ["127.0.0.1:5353"]}  # nothing listens there: no query leaves


def pair(netns, subnet, n=2, prefix="02:00:00:70"):
    """n namespaces with MACs, addresses subnet.1.. and static neighbour entries
    for each other (no ARP in the counted traffic)."""
    hosts = []
    for i in range(n):
        hosts.append({"ns": netns(), "mac": f"{prefix}:00:{i + 1:02x}", "ip": f"{subnet}.{i + 1}"})
    return hosts


def address(hosts):
    for h in hosts:
        h["ns"].wait_link()
        h["ns"].addr(f"{h['ip']}/24")
    for h in hosts:
        for o in hosts:
            if o is not h:
                h["ns"].ip("neigh", "replace", o["ip"], "lladdr", o["mac"], "dev", "eth0",
                           "nud", "permanent")


ICMP_FRAME = 14 + 20 + 8  # Ethernet + IPv4 + ICMP headers


# --------------------------------------------------------------------------- counters

def test_stats_counters_after_known_traffic(netns, vnetd):
    a, b = pair(netns, "10.70.0")
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated", "mtu": 1500}],
               "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"])]})
    address([a, b])
    a["ns"].ping(b["ip"], count=1)
    before = quiet_counters(d, ["a", "b"])
    net0 = d.network("lan")["stats"]

    n, size = 7, 200
    r = a["ns"].ping(b["ip"], count=n, interval=0.05, size=size)
    assert ping_stats(r.stdout) == (n, n)
    after = quiet_counters(d, ["a", "b"])
    flen = ICMP_FRAME + size

    def delta(p, k):
        return after[p][k] - before[p][k]

    assert (delta("a", "rx_frames"), delta("a", "rx_bytes")) == (n, n * flen)
    assert (delta("a", "tx_frames"), delta("a", "tx_bytes")) == (n, n * flen)
    assert (delta("b", "rx_frames"), delta("b", "rx_bytes")) == (n, n * flen)
    assert (delta("b", "tx_frames"), delta("b", "tx_bytes")) == (n, n * flen)
    net1 = d.network("lan")["stats"]
    assert net1["frames"] - net0["frames"] == 2 * n
    assert net1["bytes"] - net0["bytes"] == 2 * n * flen
    assert net1["unicast"] - net0["unicast"] == 2 * n
    assert net1["flooded"] == net0["flooded"]

    # Drops by reason: oversized frames (mtu) and a bad source MAC (malformed).
    a["ns"].ip("link", "set", "eth0", "mtu", "9000")
    r = a["ns"].ping(b["ip"], count=3, interval=0.1, size=3000, wait=1, check=False)
    assert ping_stats(r.stdout) == (3, 0)
    s = a["ns"].packet_socket()
    try:
        for _ in range(4):  # multicast source address
            s.send(vnet.eth_frame(b["mac"], "01:00:5e:00:00:01", 0x88B5, b"bad"))
    finally:
        s.close()
    wait_for(lambda: d.port_stats("a")["rx_drops"]["malformed"] ==
             after["a"]["rx_drops"]["malformed"] + 4, 5, what="rx_drops.malformed +4")
    st = d.port_stats("a")
    assert st["rx_drops"]["mtu"] == after["a"]["rx_drops"]["mtu"] + 3
    others = {k: v for k, v in st["rx_drops"].items() if k not in ("mtu", "malformed")}
    assert all(v == after["a"]["rx_drops"][k] for k, v in others.items()), st["rx_drops"]
    assert d.port_stats("b")["tx_frames"] == after["b"]["tx_frames"]

    # The same figures in the human output and in `stats` without a port.
    every = {p["name"]: p for p in d.ctl("stats")["ports"]}
    assert every["a"] == st
    out = d.ctl_raw("stats", "a", json_out=False).stdout
    assert f"rx: {st['rx_frames']} frames, {st['rx_bytes']} bytes" in out
    assert f"rx dropped (mtu): {st['rx_drops']['mtu']}" in out, out
    assert f"rx dropped (malformed): {st['rx_drops']['malformed']}" in out, out


# --------------------------------------------------------------------------- capture

def start_capture(procs, d, target, path, *opts):
    """vnetctl -j capture in the background; returns once the daemon opened the file."""
    p = procs.start([vnet.VNETCTL, "--control", d.control, "-j", "capture", target, "-w", path,
                     *opts], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: os.path.exists(path) or p.poll() is not None, 10,
             what=f"capture file {path}")
    return p


def finish_capture(p, timeout=30):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        vnet.Procs.stop(p)
        raise AssertionError("vnetctl capture did not finish")
    return p.returncode, out, err


def test_capture_count_duration_snaplen_direction(netns, vnetd, procs, tmp_path):
    a, b = pair(netns, "10.71.0", prefix="02:00:00:71")
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"])]})
    address([a, b])
    a["ns"].ping(b["ip"], count=1)
    quiet_counters(d, ["a", "b"])

    # -c 6: three pings are exactly six frames, request/reply alternating.
    f1 = str(tmp_path / "count.pcap")
    p = start_capture(procs, d, "a", f1, "-c", "6")
    a["ns"].ping(b["ip"], count=3, interval=0.2)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    res = vnet.json.loads(out)
    assert res["frames"] == 6 and res["state"] == "done", res
    assert res["reason"] == "frame count reached" and res["file"] == f1
    a["ns"].ping(b["ip"], count=2, interval=0.1)  # after the end: not in the file
    frames = read_pcap(f1)
    assert len(frames) == 6, frames
    for i, fr in enumerate(frames):
        req = i % 2 == 0
        src, dst = (a, b) if req else (b, a)
        assert (fr["eth.src"], fr["eth.dst"]) == (src["mac"], dst["mac"]), fr
        assert (fr["ip.src"], fr["ip.dst"]) == (src["ip"], dst["ip"]), fr
        assert fr["icmp.type"] == ("8" if req else "0"), fr
        assert fr["frame.len"] == fr["frame.cap_len"] == str(ICMP_FRAME + 56), fr
    assert res["bytes"] == 6 * (ICMP_FRAME + 56)

    # --duration 2 while pings run: ends by itself; the file holds what it says.
    f2 = str(tmp_path / "duration.pcap")
    pinger = a["ns"].start("ping", "-n", "-q", "-c", "40", "-i", "0.1", b["ip"])
    p = start_capture(procs, d, "a", f2, "--duration", "2")
    t0 = time.monotonic()
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    assert time.monotonic() - t0 >= 1.5
    res = vnet.json.loads(out)
    assert res["reason"] == "duration reached", res
    frames = read_pcap(f2)
    assert len(frames) == res["frames"] and len(frames) >= 4, (res, len(frames))
    assert all(fr["icmp.type"] in ("0", "8") for fr in frames), frames
    assert pinger.wait(timeout=30) == 0

    # --snaplen 64: big frames cut to 64 bytes, the original length kept.
    f3 = str(tmp_path / "snap.pcap")
    p = start_capture(procs, d, "a", f3, "-c", "2", "--snaplen", "64")
    a["ns"].ping(b["ip"], count=1, size=1000)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    frames = read_pcap(f3)
    assert [(fr["frame.len"], fr["frame.cap_len"]) for fr in frames] == \
        [(str(ICMP_FRAME + 1000), "64")] * 2, frames

    # --direction in: only what the port's peer sent (the requests).
    f4 = str(tmp_path / "in.pcap")
    p = start_capture(procs, d, "a", f4, "-c", "3", "--direction", "in")
    a["ns"].ping(b["ip"], count=3, interval=0.1)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    frames = read_pcap(f4)
    assert [(fr["eth.src"], fr["icmp.type"]) for fr in frames] == [(a["mac"], "8")] * 3, frames

    # A network as the target: every frame of the network once.
    f5 = str(tmp_path / "net.pcap")
    p = start_capture(procs, d, "lan", f5, "-c", "4")
    b["ns"].ping(a["ip"], count=2, interval=0.1)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    frames = read_pcap(f5)
    assert [(fr["ip.src"], fr["icmp.type"]) for fr in frames] == \
        [(b["ip"], "8"), (a["ip"], "0")] * 2, frames
    d.assert_alive()


def test_capture_errors_stop_the_capture_not_the_daemon(netns, vnetd, procs, tmp_path):
    a, b = pair(netns, "10.72.0", prefix="02:00:00:72")
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"])]})
    address([a, b])

    # A directory that does not exist (or was removed): a clear error at once.
    gone = tmp_path / "gone"
    gone.mkdir()
    gone.rmdir()
    r = d.ctl_raw("capture", "a", "-w", str(gone / "x.pcap"), "-c", "1", json_out=False,
                  timeout=20)
    assert r.returncode == 1, r
    assert str(gone / "x.pcap") in r.stderr and "cannot write" in r.stderr, r.stderr
    d.assert_alive()

    # A full disk: a 64 KiB tmpfs fills up; the capture stops with an error.
    mnt = tmp_path / "small"
    mnt.mkdir()
    run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)])
    try:
        path = str(mnt / "full.pcap")
        p = start_capture(procs, d, "a", path)
        pinger = a["ns"].start("ping", "-n", "-q", "-c", "200", "-i", "0.02", "-s", "1400",
                               b["ip"])
        rc, out, err = finish_capture(p, timeout=40)
        assert rc == 1, (out, err)
        res = vnet.json.loads(out)
        assert res["state"] == "failed" and "No space left" in res["reason"], res
        d.assert_alive()
        assert pinger.wait(timeout=30) == 0, "traffic stopped with the capture"
        assert "capture stopped" in d.log()
    finally:
        run(["umount", "-l", str(mnt)], check=False)
    # The daemon still captures fine afterwards.
    ok = str(tmp_path / "after.pcap")
    p = start_capture(procs, d, "b", ok, "-c", "2")
    a["ns"].ping(b["ip"], count=1)
    rc, out, err = finish_capture(p)
    assert rc == 0 and len(read_pcap(ok)) == 2


def test_capture_directory_removed_during_capture(netns, vnetd, procs, tmp_path):
    a, b = pair(netns, "10.78.0", prefix="02:00:00:78")
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"])]})
    address([a, b])
    where = tmp_path / "captures"
    where.mkdir()
    p = start_capture(procs, d, "a", str(where / "x.pcap"), "-c", "20")
    a["ns"].ping(b["ip"], count=1)
    for f in where.iterdir():
        f.unlink()
    where.rmdir()
    a["ns"].ping(b["ip"], count=12, interval=0.2)
    rc, out, err = finish_capture(p)
    d.assert_alive()
    res = vnet.json.loads(out)
    assert rc == 1 and res["state"] == "failed", res


# --------------------------------------------------------------------------- mirror

def test_mirror_sees_both_directions_and_nothing_else(netns, vnetd):
    a, b, c = pair(netns, "10.73.0", n=3, prefix="02:00:00:73")
    mon = netns()
    d = vnetd({
        "networks": [{"name": "lan", "mode": "isolated"}, {"name": "monnet", "mode": "isolated"}],
        "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"]),
                  tap("c", c["ns"], "lan", c["mac"]),
                  tap("m", mon, "monnet", "02:00:00:73:00:99")],
        "mirrors": [{"name": "ids", "from": ["a"], "to": "m"}],
    })
    address([a, b, c])
    mon.wait_link()
    ms = d.ctl("mirror", "list")
    assert [(x["name"], x["from"], x["to"], x["direction"]) for x in ms] == \
        [("ids", ["a"], "m", "both")], ms

    sn = vnet.Sniffer(mon, filt=("icmp",))
    try:
        n = 4
        a["ns"].ping(b["ip"], count=n, interval=0.1)   # mirrored: a is the source port
        c["ns"].ping(b["ip"], count=n, interval=0.1)   # not mirrored: neither c nor b is
        sn.wait(lambda l: f"{b['ip']} > {a['ip']}: ICMP echo reply" in l and
                f"seq {n}," in l, what="the last mirrored reply")
        time.sleep(0.5)
        reqs = [l for l in sn.lines if f"{a['ip']} > {b['ip']}: ICMP echo request" in l]
        reps = [l for l in sn.lines if f"{b['ip']} > {a['ip']}: ICMP echo reply" in l]
        assert len(reqs) == n and len(reps) == n, sn.lines
        assert all(l.startswith(a["mac"]) for l in reqs) and \
            all(l.startswith(b["mac"]) for l in reps)
        assert not [l for l in sn.lines if c["ip"] in l], sn.lines
        ms = d.ctl("mirror", "list")
        assert ms[0]["frames"] == 2 * n, ms

        # Removed: nothing more arrives. Re-added at run time for one direction.
        assert d.ctl("mirror", "del", "ids")["name"] == "ids"
        assert d.ctl("mirror", "list") == []
        seen = len(sn.lines)
        a["ns"].ping(b["ip"], count=2, interval=0.1)
        time.sleep(0.5)
        assert len(sn.lines) == seen, sn.lines[seen:]
        d.ctl("mirror", "add", "in-only", "--from", "a,c", "--direction", "in", "--to", "m")
        a["ns"].ping(b["ip"], count=2, interval=0.1)
        c["ns"].ping(b["ip"], count=2, interval=0.1)
        sn.wait(lambda l: f"{c['ip']} > {b['ip']}: ICMP echo request" in l and "seq 2," in l)
        time.sleep(0.5)
        new = sn.lines[seen:]
        assert len(new) == 4 and all("echo request" in l for l in new), new
        r = d.ctl_raw("mirror", "add", "loop", "--from", "m", "--to", "m")
        assert r.returncode == 1 and "itself" in r.stderr
    finally:
        sn.stop()


# --------------------------------------------------------------------------- metrics

def scrape(ns, url, method="GET"):
    def get():
        req = urllib.request.Request(url, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, "", e.read().decode()
    return ns.in_ns(get)


def samples(text):
    """{(sample name, frozenset of labels): value} and {family: type}."""
    vals, types = {}, {}
    for fam in text_string_to_metric_families(text):
        types[fam.name] = fam.type
        for s in fam.samples:
            vals[(s.name, frozenset(s.labels.items()))] = s.value
    return vals, types


def lookup(vals, name, **labels):
    want = set(labels.items())
    hits = [x for (n, ls), x in vals.items() if n == name and want <= ls]
    assert len(hits) == 1, f"{len(hits)} samples {name}{labels}"
    return hits[0]


def test_metrics_parsed_by_prometheus_client(netns, vnetd_in, tmp_path):
    h, w = netns(), netns()
    a, b, c = pair(netns, "10.74.0", n=3, prefix="02:00:00:74")
    d = vnetd_in(h, {
        "metrics": "127.0.0.1:9464",
        "networks": [{"name": "lan", "mode": "isolated"},
                     {"name": "svc", "mode": "isolated", "subnet": "10.75.0.0/24", "dns": DNS},
                     {"name": "wan", "mode": "nat", "subnet": "10.79.0.0/24",
                      "gateway": "10.79.0.2", "dns": DNS}],
        "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"]),
                  tap("c", c["ns"], "svc", c["mac"]), tap("w", w, "wan")],
    })
    assert "metrics ready" in d.log()
    address([a, b])
    c["ns"].wait_link()
    c["ns"].addr("10.75.0.10/24")
    n = 5
    a["ns"].ping(b["ip"], count=n, interval=0.05)
    c["ns"].ping_until("10.75.0.1")
    c["ns"].ping("10.75.0.1", count=3, interval=0.1)
    b["ns"].ip("link", "set", "eth0", "mtu", "9000")
    b["ns"].ping(a["ip"], count=2, size=2000, wait=1, check=False)  # 2 mtu drops on b
    # Two TCP connections through NAT to the host's loopback (vnetd's namespace).
    start_httpd(h, "127.0.0.1:8090", str(tmp_path / "www"), "nat\n")
    w.wait_link()
    w.addr("10.79.0.15/24")
    for _ in range(2):
        assert http_get(w, "http://10.79.0.2:8090/", timeout=10, check=True).stdout == "nat\n"
    quiet_counters(d, ["a", "b", "c", "w"])

    status, ctype, text = scrape(h, "http://127.0.0.1:9464/metrics")
    assert status == 200 and ctype.startswith("text/plain"), (status, ctype)
    vals, types = samples(text)

    def v(name, **labels):
        """The one sample of that name whose labels include these (ports also
        carry a 'type' label, for example)."""
        return lookup(vals, name, **labels)

    assert v("vnet_up") == 1
    assert types["vnet_port_rx_frames"] == "counter" and types["vnet_fdb_entries"] == "gauge"
    stats = {p["name"]: p for p in d.ctl("stats")["ports"]}
    for port in ("a", "b", "c"):
        st = stats[port]
        assert v("vnet_port_rx_frames_total", port=port) == st["rx_frames"]
        assert v("vnet_port_rx_bytes_total", port=port) == st["rx_bytes"]
        assert v("vnet_port_tx_frames_total", port=port) == st["tx_frames"]
        assert v("vnet_port_tx_bytes_total", port=port) == st["tx_bytes"]
        assert v("vnet_port_up", port=port) == 1
        for reason, cnt in st["rx_drops"].items():
            assert v("vnet_port_drops_total", port=port, direction="rx", reason=reason) == cnt
    # The known traffic: n requests from a, n replies to a, 2 drops on b.
    assert v("vnet_port_rx_frames_total", port="a") == n
    assert v("vnet_port_tx_frames_total", port="a") == n + 0
    assert v("vnet_port_rx_bytes_total", port="a") == n * (ICMP_FRAME + 56)
    assert v("vnet_port_drops_total", port="b", direction="rx", reason="mtu") == 2
    assert v("vnet_fdb_entries", network="lan") == 2
    # (the first request is flooded: b's MAC is not learned yet)
    assert v("vnet_network_frames_total", network="lan") == 2 * n
    assert v("vnet_network_unicast_total", network="lan") + \
        v("vnet_network_flooded_total", network="lan") == 2 * n
    assert v("vnet_gateway_icmp_echo_total", network="svc") >= 3
    assert v("vnet_gateway_icmp_echo_total", network="svc") == \
        d.network("svc")["gateway"]["stats"]["icmp_echo"]
    nat = d.network("wan")["gateway"]["nat"]
    assert v("vnet_nat_tcp_created_total", network="wan") == 2
    assert v("vnet_nat_flows_active", network="wan") == nat["flows_active"]
    assert types["vnet_nat_flows_active"] == "gauge"

    # Another scrape sees the counters move; other paths and methods are refused.
    a["ns"].ping(b["ip"], count=2, interval=0.05)
    quiet_counters(d, ["a"])
    vals2, _ = samples(scrape(h, "http://127.0.0.1:9464/")[2])
    assert lookup(vals2, "vnet_port_rx_frames_total", port="a") == n + 2
    assert scrape(h, "http://127.0.0.1:9464/nope")[0] == 404
    assert scrape(h, "http://127.0.0.1:9464/metrics", method="POST")[0] == 405


def test_metrics_command_line_option(netns, vnetd_in):
    h, g = netns(), netns()
    d = vnetd_in(h, {"networks": [{"name": "lan", "mode": "isolated"}],
                     "ports": [tap("g", g, "lan")]}, args=["--metrics", "127.0.0.1:9465"])
    status, _, text = scrape(h, "http://127.0.0.1:9465/metrics")
    assert status == 200
    vals, _ = samples(text)
    assert lookup(vals, "vnet_up") == 1
    d.stop()


# --------------------------------------------------------------------------- logs

def malformed_ipv4(dst_mac, src_mac, i):
    # Version 4 with a header length of 8 bytes (IHL 2): not a valid IPv4 header.
    payload = bytes([0x42, 0, 0, 40]) + i.to_bytes(4, "big") + b"\0" * 32
    return vnet.eth_frame(dst_mac, src_mac, 0x0800, payload)


def test_guest_log_flood_is_bounded(netns, vnetd):
    g = netns()
    gmac = "02:00:00:76:00:0a"
    # debug level: the malformed-packet line is logged at all (rate-limited).
    d = vnetd({"networks": [{"name": "svc", "mode": "isolated", "subnet": "10.76.0.0/24",
                             "dns": DNS}],
               "ports": [tap("g", g, "svc", gmac)]}, args=["--log", "debug"])
    g.wait_link()
    g.addr("10.76.0.10/24")
    g.ping_until("10.76.0.1")
    gw = d.network("svc")["gateway"]
    lines0 = len(d.log().splitlines())
    bad0 = gw["stats"]["ip_malformed"]

    n = 3000
    s = g.packet_socket()
    t0 = time.monotonic()
    try:
        for i in range(n):
            s.send(malformed_ipv4(gw["mac"], gmac, i))
            if i % 100 == 99:
                time.sleep(0.02)
    finally:
        s.close()
    wait_for(lambda: d.network("svc")["gateway"]["stats"]["ip_malformed"] >= bad0 + n // 2, 20,
             what="malformed packets counted")
    quiet_counters(d, ["g"])
    elapsed = time.monotonic() - t0

    def bad():
        return d.network("svc")["gateway"]["stats"]["ip_malformed"] - bad0

    # One more after a pause: its line comes with the count suppressed since the
    # last line, so every bad packet is accounted for in the log.
    got = bad() + 1
    time.sleep(0.5)
    s = g.packet_socket()
    try:
        s.send(malformed_ipv4(gw["mac"], gmac, n))
    finally:
        s.close()
    wait_for(lambda: bad() == got, 5, what="the last bad packet counted")
    d.assert_alive()

    new = d.log().splitlines()[lines0:]
    flagged = [l for l in new if "malformed IPv4" in l]
    summaries = [l for l in new if "suppressed" in l]
    # The per-site bucket: a burst of 10, then 5 lines a second.
    bound = 10 + 5 * (elapsed + 1)
    assert 1 <= len(flagged) <= bound, (len(flagged), elapsed)
    assert len(summaries) <= bound
    assert len(new) <= 3 * bound + 10, f"{len(new)} log lines for {got} bad packets"
    suppressed = sum(int(re.search(r"suppressed=(\d+)", l).group(1)) for l in summaries)
    assert len(flagged) + suppressed == got, (len(flagged), suppressed, got)
    # The ping path still works.
    g.ping("10.76.0.1", count=2, interval=0.1)


# --------------------------------------------------------------------------- top

def tmux(sock, *args, check=True):
    return run(["tmux", "-L", sock, *args], timeout=15, check=check)


def test_vnetctl_top_in_tmux_shows_iperf_traffic(netns, vnetd, procs):
    a, b, c = pair(netns, "10.77.0", n=3, prefix="02:00:00:77")
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a["ns"], "lan", a["mac"]), tap("b", b["ns"], "lan", b["mac"]),
                         tap("idle", c["ns"], "lan", c["mac"])]})
    address([a, b, c])
    a["ns"].ping(b["ip"], count=1)
    sock = "vnt-top-" + secrets.token_hex(4)  # a private tmux server
    srv = b["ns"].start("iperf3", "-s", "-1", "-B", b["ip"])
    wait_for(lambda: b["ns"].listening(5201), 10, what="iperf3 server")
    try:
        tmux(sock, "new-session", "-d", "-s", "top", "-x", "120", "-y", "30",
             f"{vnet.VNETCTL} --control {d.control} top -d 1")
        cli = a["ns"].start("iperf3", "-c", b["ip"], "-t", "8", "-i", "0")
        row = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
        state = {}

        def busy_a():
            screen = tmux(sock, "capture-pane", "-p", "-t", "top").stdout
            state["screen"] = screen
            if "vnetctl top" not in screen or "PORT" not in screen:
                return None
            rows = [row.match(l).groups() for l in screen.splitlines()
                    if row.match(l) and not l.startswith("PORT")]
            names = [r[0] for r in rows]
            if "a" not in names or names[-1] != "idle":
                return None
            ra = rows[names.index("a")]
            # a sends the bulk: its RX-BPS (frames from its peer) in Mb or Gb.
            if re.match(r"[\d.]+[MG]b$", ra[2]) and names[0] in ("a", "b"):
                return screen
            return None

        try:
            screen = wait_for(busy_a, 20, interval=0.5, what="top showing a's traffic")
        except AssertionError as e:
            raise AssertionError(f"{e}\nscreen:\n{state.get('screen')}") from None
        head = screen.splitlines()[0]
        assert re.match(r"vnetctl top - \d\d:\d\d:\d\d - 3 ports - every 1\.0s - q quits", head), head
        hdr = [l for l in screen.splitlines() if l.startswith("PORT")][0].split()
        assert hdr == ["PORT", "RX-PPS", "RX-BPS", "TX-PPS", "TX-BPS", "DROPS/S"]

        # q quits at once: the pane's command ends and the session with it.
        tmux(sock, "send-keys", "-t", "top", "q")
        wait_for(lambda: tmux(sock, "has-session", "-t", "top", check=False).returncode != 0, 5,
                 what="top to quit on q")
        assert cli.wait(timeout=30) == 0
        srv.wait(timeout=15)
    finally:
        tmux(sock, "kill-server", check=False)


# --------------------------------------------------------------------------- IPv6

PFX6 = "fd00:77:6:6::"
GMAC6 = "02:00:00:76:06:0a"
DUMMY6 = "fd99::1"  # an address inside vnetd's namespace the NAT reaches (ICMPv6 flow)


def v6_host(netns):
    """vnetd's namespace with IPv6 on (::1) and DUMMY6 on its loopback."""
    h = netns()
    h.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
           "net.ipv6.conf.default.disable_ipv6=0")
    h.ip("addr", "add", f"{DUMMY6}/128", "dev", "lo", "nodad")
    return h


def v6_nat(**extra):
    n = {"name": "lan", "mode": "nat", "subnet6": PFX6 + "/64", "dhcp6": {"mode": "stateful"},
         "dns": DNS}
    n.update(extra)
    return n


def table(text):
    """Rows of a vnetctl table as dicts keyed by the header's columns."""
    lines = text.splitlines()
    hdr = lines[0].split()
    return [dict(zip(hdr, l.split())) for l in lines[1:] if l.strip()]


def test_ipv6_flows_leases_fdb_and_metrics(netns, vnetd_in, tmp_path, servers):
    """A dual-stack guest (SLAAC, a DHCPv6 and a DHCPv4 lease) with TCP, UDP
    and ICMPv6 flows through the NAT: `vnetctl flows` shows them with
    bracketed [addr]:port and family 6, `leases` both families, `fdb` only
    unicast MACs, and the Prometheus page the gateway's IPv6 figures
    (vnet_gateway6_*, vnet_dhcp6_*, DNS over IPv6, reassembly) as the
    control socket reports them."""
    h, g = v6_host(netns), netns()
    ipv6_on(g)
    d = vnetd_in(h, {"metrics": "127.0.0.1:9466", "networks": [v6_nat()],
                     "ports": [tap("g", g, "lan", GMAC6)]})
    gw = d.network("lan")["gateway"]
    gw6 = gw["address6"]
    g.wait_link()
    g.ip("link", "set", "eth0", "up")
    mine = slaac_addr(g, gw["subnet6"])
    link_local_ready(g)
    # Leases of both families.
    c6 = Dhclient6(g, tmp_path, "c6")
    try:
        log = c6.run()
    finally:
        c6.stop()
    bound = c6.events("BOUND6")
    assert bound, log
    lease6 = bound[-1]["new_ip6_address"]
    lease4 = udhcpc(g, tmp_path / "v4")["ip"]

    tcp = Tcp6Server(echo_handler, ns=h)
    udp = Udp6Echo(ns=h)
    servers += [tcp, udp]

    def open_flows():
        t = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        t.settimeout(10)
        t.bind((mine, 0))
        t.connect((gw6, tcp.port))
        t.sendall(b"x" * 1000)
        got = b""
        while len(got) < 1000:
            got += t.recv(4096)
        u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        u.settimeout(5)
        u.sendto(b"y" * 100, (gw6, udp.port))
        assert len(u.recvfrom(1000)[0]) == 100
        return t, u, t.getsockname()[1], u.getsockname()[1]
    t, u, tport, uport = g.in_ns(open_flows)
    try:
        g.ping(DUMMY6, count=1)
        g.exec("dig", "+short", "+tries=1", "+time=3", f"@{gw['dns_address6']}",
               "host.vnet.internal", "AAAA")
        flows = d.ctl("flows", "lan")
        by = {f["proto"]: f for f in flows}
        assert by["tcp"]["guest"] == f"[{mine}]:{tport}", flows
        assert by["tcp"]["remote"] == f"[{gw6}]:{tcp.port}", flows
        assert by["tcp"]["state"] == "established" and by["tcp"]["bytes_out"] == 1000
        assert by["udp"]["guest"].startswith("[") and by["udp"]["remote"] == f"[{gw6}]:{udp.port}"
        assert by["icmpv6"]["remote"] == DUMMY6 and ":" in by["icmpv6"]["guest"], flows
        assert all(f["family"] == 6 for f in flows), flows
        rows = table(d.ctl_raw("flows", json_out=False).stdout)
        tr = [r for r in rows if r["PROTO"] == "tcp"]
        assert tr and tr[0]["GUEST"] == f"[{mine}]:{tport}" and \
            tr[0]["REMOTE"] == f"[{gw6}]:{tcp.port}" and tr[0]["STATE"] == "established", rows
        assert [r["REMOTE"] for r in rows if r["PROTO"] == "icmpv6"] == [DUMMY6], rows
    finally:
        t.close()
        u.close()

    rows = table(d.ctl_raw("leases", json_out=False).stdout)
    assert {(r["FAMILY"], r["IP"]) for r in rows} == {("4", lease4), ("6", lease6)}, rows
    assert all(r["MAC"] == GMAC6 for r in rows), rows
    # The fdb holds the two unicast MACs, never the IPv6 multicast ones.
    assert d.fdb_macs("lan") == {GMAC6: "g", gw["mac"]: "gw-lan"}
    rows = table(d.ctl_raw("fdb", json_out=False).stdout)
    assert {(r["MAC"], r["PORT"]) for r in rows} == {(GMAC6, "g"), (gw["mac"], "gw-lan")}, rows

    status, _, text = scrape(h, "http://127.0.0.1:9466/metrics")
    assert status == 200
    vals, types = samples(text)
    gw = d.network("lan")["gateway"]

    def v(name):
        return lookup(vals, name, network="lan")
    s6 = gw["stats6"]
    assert v("vnet_gateway6_ra_sent_total") >= 1
    assert types["vnet_gateway6_ra_sent"] == "counter"
    for k in ("ns_received", "na_sent", "rs_received", "nd_invalid", "malformed"):
        assert types[f"vnet_gateway6_{k}"] == "counter"
        assert v(f"vnet_gateway6_{k}_total") <= s6[k]  # scraped first, read after
    assert v("vnet_gateway6_icmp6_echo_total") == s6["icmp6_echo"] == 0
    dh6 = gw["dhcp6"]
    assert v("vnet_dhcp6_solicit_total") == dh6["solicit"] >= 1
    assert v("vnet_dhcp6_reply_total") == dh6["reply"] >= 1
    assert v("vnet_dhcp6_leases_active") == dh6["leases_active"] == 1
    assert types["vnet_dhcp6_leases_active"] == "gauge" and types["vnet_dhcp6_pool_size"] == "gauge"
    assert v("vnet_dns_queries_udp6_total") == gw["dns"]["queries_udp6"] >= 1
    assert v("vnet_reassembly_max") == 16 and types["vnet_reassembly_in_use"] == "gauge"
    assert types["vnet_gateway_neighbours"] == "gauge" and v("vnet_gateway_neighbours") >= 2
    assert types["vnet_dns_upstream_sockets"] == "gauge"
    assert v("vnet_nat_tcp_created_total") >= 1 and v("vnet_nat_icmp_created_total") >= 1
    # Every family is one name (no duplicates), every sample labelled by network.
    names = [l.split()[2] for l in text.splitlines() if l.startswith("# TYPE")]
    assert len(names) == len(set(names))
    assert all(dict(ls).get("network") == "lan"
               for (n, ls) in vals if n.startswith(("vnet_gateway6", "vnet_dhcp6")))


def tshark_fields(path, fields, *opts):
    """Like modes_util.read_pcap, with tshark options (checksum checks)."""
    cmd = ["tshark", "-n", *opts, "-r", str(path), "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = run(cmd, timeout=60).stdout
    return [dict(zip(fields, l.split("|") + [""] * len(fields))) for l in out.splitlines()]


def test_ipv6_capture_read_by_tshark_and_top(netns, vnetd_in, procs, tmp_path, servers):
    """`vnetctl capture` of a guest's IPv6 traffic (an echo to gateway6, TCP
    through the NAT) is read back by tshark with the right addresses, types
    and good checksums; `vnetctl top` shows the IPv6 traffic's rates."""
    h, g = v6_host(netns), netns()
    ipv6_on(g)
    d = vnetd_in(h, {"networks": [v6_nat(dhcp6={"mode": "stateless"})],
                     "ports": [tap("g", g, "lan", GMAC6)]})
    gw = d.network("lan")["gateway"]
    gw6 = gw["address6"]
    g.wait_link()
    g.ip("link", "set", "eth0", "up")
    mine = slaac_addr(g, gw["subnet6"])
    g.ping(gw6, count=1)

    f1 = str(tmp_path / "v6.pcap")
    p = start_capture(procs, d, "g", f1, "--duration", "3")
    g.ping(gw6, count=3, interval=0.2, size=300)
    sink = Tcp6Server(sink_handler, ns=h)
    servers.append(sink)
    g.exec("socat", "-u", "OPEN:/dev/zero,readbytes=200000",
           f"TCP6:[{gw6}]:{sink.port}", timeout=30)
    rc, out, err = finish_capture(p)
    assert rc == 0, err
    fields = ("eth.src", "eth.dst", "ipv6.src", "ipv6.dst", "ipv6.nxt", "icmpv6.type",
              "icmpv6.checksum.status", "tcp.dstport", "tcp.len", "tcp.checksum.status",
              "frame.len")
    frames = tshark_fields(f1, fields, "-o", "tcp.check_checksum:TRUE")
    pings = [(f["ipv6.src"], f["ipv6.dst"], f["icmpv6.type"], f["frame.len"])
             for f in frames if f["icmpv6.type"] in ("128", "129")]
    flen = str(14 + 40 + 8 + 300)
    assert pings == [(mine, gw6, "128", flen), (gw6, mine, "129", flen)] * 3, pings
    good = "1"  # tshark's checksum status: 0 bad, 1 good, 2 not checked
    assert all(f["icmpv6.checksum.status"] == good for f in frames if f["icmpv6.type"]), frames
    tcp = [f for f in frames if f["tcp.dstport"] == str(sink.port)]
    assert tcp and all(f["ipv6.src"] == mine and f["ipv6.dst"] == gw6 and
                       f["eth.src"] == GMAC6 for f in tcp), tcp[:3]
    assert sum(int(f["tcp.len"] or 0) for f in tcp) == 200000
    assert all(f["tcp.checksum.status"] == good for f in frames if f["tcp.len"]), frames
    res = vnet.json.loads(out)
    assert res["frames"] == len(frames)

    # top while IPv6 traffic runs: the guest's port and the gateway's show rates.
    sock = "vnt-top6-" + secrets.token_hex(4)
    try:
        tmux(sock, "new-session", "-d", "-s", "top", "-x", "120", "-y", "30",
             f"{vnet.VNETCTL} --control {d.control} top -d 1")
        pinger = g.start("ping", "-6", "-n", "-q", "-c", "60", "-i", "0.05", "-s", "1000", gw6)
        row = re.compile(r"^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$")
        state = {}

        def busy():
            screen = tmux(sock, "capture-pane", "-p", "-t", "top").stdout
            state["screen"] = screen
            rows = {m.group(1): m.groups() for m in map(row.match, screen.splitlines())
                    if m and m.group(1) != "PORT"}
            if set(rows) != {"g", "gw-lan"}:
                return None
            ok = all(re.match(r"[\d.]+[kMG]b$", rows[p][2]) for p in rows)
            return screen if ok else None
        try:
            screen = wait_for(busy, 20, interval=0.5, what="top showing the IPv6 pings")
        except AssertionError as e:
            raise AssertionError(f"{e}\nscreen:\n{state.get('screen')}") from None
        assert re.match(r"vnetctl top - \d\d:\d\d:\d\d - 2 ports", screen.splitlines()[0])
        tmux(sock, "send-keys", "-t", "top", "q")
        wait_for(lambda: tmux(sock, "has-session", "-t", "top", check=False).returncode != 0, 5,
                 what="top to quit on q")
        assert pinger.wait(timeout=30) == 0
    finally:
        tmux(sock, "kill-server", check=False)
    d.assert_alive()
