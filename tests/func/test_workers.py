"""Functional tests of the worker threads (issue 14, scope 4; docs/threading.md):
every thread of a sandboxed vnetd has the same reduced capabilities and the
seccomp filter; two independent pairs of namespaces on two networks are
served by two different worker threads (both threads' CPU time grows while
both pairs move data); workers: 1 has one worker beside the control thread;
a port added at run time that would join networks of two workers is refused
with a clear error, while one that stays on a worker is accepted.

Every address is inside a namespace the test creates.
"""
import json
import os

import vnet
from policy_util import cap_set
from vnet import wait_for

# Capabilities the running daemon may keep (README "Security model").
KEEP = {"net_raw", "net_bind_service"}


def tap(name, ns, network, mac):
    return {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0",
            "network": network, "mac": mac}


def threads(pid):
    """{tid: (name, status dict, utime+stime ticks)} of every thread of pid."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            st = {}
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    st[k] = v.strip()
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
        except FileNotFoundError:
            continue  # a thread that ended meanwhile
        out[int(tid)] = (name, st, ticks)
    return out


def workers_of(pid):
    return {tid: v for tid, v in threads(pid).items() if v[0].startswith("vnetd-w")}


def two_pairs(netns, vnetd, workers):
    """Networks red (a, b) and blue (c, d), isolated, two workers' worth."""
    a, b, c, d = netns(), netns(), netns(), netns()
    conf = {
        "workers": workers,
        "networks": [{"name": "red", "mode": "isolated", "vlan": 10},
                     {"name": "blue", "mode": "isolated", "vlan": 20}],
        "ports": [tap("a", a, "red", "02:00:00:77:00:0a"), tap("b", b, "red", "02:00:00:77:00:0b"),
                  tap("c", c, "blue", "02:00:00:77:00:0c"),
                  tap("d", d, "blue", "02:00:00:77:00:0d")],
    }
    dm = vnetd(conf)
    for ns in (a, b, c, d):
        ns.wait_link()
    a.addr("10.77.1.1/24")
    b.addr("10.77.1.2/24")
    c.addr("10.77.2.1/24")
    d.addr("10.77.2.2/24")
    a.ping_until("10.77.1.2")
    c.ping_until("10.77.2.2")
    return dm, (a, b, c, d)


def test_every_thread_sandboxed(netns, vnetd):
    dm, _ = two_pairs(netns, vnetd, 2)
    ts = threads(dm.pid)
    names = sorted(v[0] for v in ts.values())
    assert names.count("vnetd-w0") == 1 and names.count("vnetd-w1") == 1, names
    main = ts[dm.pid][1]
    assert main["Seccomp"] == "2" and main["NoNewPrivs"] == "1"
    assert cap_set(main["CapEff"]) <= KEEP, main["CapEff"]
    for tid, (name, st, _) in ts.items():
        # the same filter mode, no_new_privs and capability sets in every thread
        for k in ("Seccomp", "NoNewPrivs", "CapEff", "CapPrm", "CapInh", "CapBnd"):
            assert st[k] == main[k], f"thread {tid} ({name}) {k} {st[k]} != {main[k]}"


def test_two_pairs_two_threads(netns, vnetd):
    dm, (a, b, c, d) = two_pairs(netns, vnetd, 2)
    before = workers_of(dm.pid)
    assert len(before) == 2
    assert dm.ctl("status")["workers"] == 2
    assert {dm.network("red")["worker"], dm.network("blue")["worker"]} == {0, 1}
    srv1 = b.start("iperf3", "-s", "-1", "-B", "10.77.1.2")
    srv2 = d.start("iperf3", "-s", "-1", "-B", "10.77.2.2")
    wait_for(lambda: b.listening(5201) and d.listening(5201), 10, what="iperf3 servers")
    c1 = a.start("iperf3", "-c", "10.77.1.2", "-t", "3", "-J")
    c2 = c.start("iperf3", "-c", "10.77.2.2", "-t", "3", "-J")
    outs = [p.communicate(timeout=60)[0] for p in (c1, c2)]
    for s in (srv1, srv2):
        s.wait(timeout=15)
    for o in outs:
        res = json.loads(o)
        assert res["end"]["sum_received"]["bytes"] > 1_000_000
    after = workers_of(dm.pid)
    grew = {after[t][0]: after[t][2] - before[t][2] for t in before}
    # each pair's frames are switched by its network's worker: both worked
    assert all(g >= 5 for g in grew.values()), f"CPU ticks per worker: {grew}"
    # and no frame crossed: each network's ports counted only their pair's
    for p in ("a", "b", "c", "d"):
        st = dm.port_stats(p)
        assert sum(st["rx_drops"].values()) == 0, (p, st)


def test_one_worker(netns, vnetd):
    dm, (a, _, c, _) = two_pairs(netns, vnetd, 1)
    ws = workers_of(dm.pid)
    assert sorted(v[0] for v in ws.values()) == ["vnetd-w0"]
    assert dm.ctl("status")["workers"] == 1
    assert dm.network("red")["worker"] == dm.network("blue")["worker"] == 0
    a.ping("10.77.1.2", count=2, interval=0.2)
    c.ping("10.77.2.2", count=2, interval=0.2)


def test_run_time_port_across_workers_refused(netns, vnetd, tmp_path):
    dm, (a, _, _, _) = two_pairs(netns, vnetd, 2)
    cp = dm.ctl_raw("port", "add", f"t1,type=stream,path={tmp_path}/t1.sock,trunk=red+blue,"
                    "native=red")
    assert cp.returncode != 0
    assert "different workers" in cp.stderr, cp.stderr
    assert not os.path.exists(f"{tmp_path}/t1.sock")
    # a port of one network goes onto that network's worker and works
    cp = dm.ctl_raw("port", "add", f"s1,type=stream,path={tmp_path}/s1.sock,network=red")
    assert cp.returncode == 0, cp.stderr
    assert dm.port_stats("s1")["rx_frames"] == 0
    a.ping("10.77.1.2", count=2, interval=0.2)
