"""Rough edges found with real clients (issue 17): a scan of the gateway
from a guest shows none of vnetd's own listeners and honours the loopback
allow-list; captures of checksum-offloaded traffic read back by tshark
without checksum errors; released leases show their state and time; every
port type is named in the help.

Every address is inside a namespace the test creates or on loopback.
"""
import json
import struct
import re
import socket
import subprocess

import vnet
from nat_util import GW, NET, TcpServer, echo_handler, free_port, nat_setup
from modes_util import udhcpc
from policy_util import tap
from test_hardening_guest import dhcp_msg
from vnet import wait_for


def vnetd_listeners(pid):
    """TCP ports vnetd (pid) listens on, on 127.0.0.1 or any address."""
    out = vnet.run(["ss", "-Htlnp"]).stdout
    ports = set()
    for line in out.splitlines():
        if f"pid={pid}," not in line:
            continue
        local = line.split()[3]
        addr, port = local.rsplit(":", 1)
        if addr in ("127.0.0.1", "0.0.0.0", "*", "[::]", "[::ffff:127.0.0.1]"):
            ports.add(int(port))
    return ports


def control(d, req):
    """One raw control request; returns its result."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(d.control)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            buf += s.recv(65536)
    r = json.loads(buf)
    assert r["ok"], r
    return r["result"]


def reachable(ns, port, timeout=2):
    def body():
        s = socket.socket()
        s.settimeout(timeout)
        try:
            return s.connect_ex((GW, port)) == 0
        finally:
            s.close()
    return ns.in_ns(body)



def test_gateway_scan_shows_no_vnetd_listener(netns, vnetd, servers):
    """Before: the DNS-over-TCP helper (and the metrics endpoint, and the
    network's own forwards) answered on the gateway address. Now a guest
    reaches host services only."""
    fport, mport = free_port(), free_port()
    d, (g,) = nat_setup(netns, vnetd, args=("--metrics", f"127.0.0.1:{mport}"), net_extra={
        "dns": {"enabled": True, "upstream": ["127.0.0.1:9"]},
        "forwards": [{"proto": "tcp", "host": f"127.0.0.1:{fport}", "guest": "10.0.2.15:80"}]})
    host = TcpServer(echo_handler)
    servers.append(host)
    own = vnetd_listeners(d.pid)
    assert mport in own and fport in own and len(own) >= 3, own  # + the DNS helper
    for port in sorted(own):
        assert not reachable(g, port), f"vnetd's own port {port} is reachable from a guest"
    assert reachable(g, host.port)
    assert d.network(NET)["gateway"]["nat"]["refused_policy"] >= len(own)


def test_loopback_allow_list(netns, vnetd, servers):
    a, b = TcpServer(echo_handler), TcpServer(echo_handler)
    servers += [a, b]
    d, (g,) = nat_setup(netns, vnetd, net_extra={"map_host_loopback": {"ports": [a.port]}})
    assert reachable(g, a.port)
    assert not reachable(g, b.port)
    printed = vnet.run([vnet.VNETD, "-c", d.config_path, "--print-config"]).stdout
    assert f"ports: [{a.port}]" in printed


def test_capture_of_offloaded_traffic_has_good_checksums(netns, vnetd, procs, tmp_path):
    """Frames from a tap carry partial checksums (checksum offload); the
    pcap holds them completed, as the wire would, so tshark finds no bad
    checksum in a TCP transfer."""
    a, b = netns(), netns()
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("a", a, mac="02:00:00:a1:00:01"), tap("b", b, mac="02:00:00:a1:00:02")]})
    for ns, ip in ((a, "10.9.0.1"), (b, "10.9.0.2")):
        ns.wait_link()
        ns.addr(f"{ip}/24")
    a.ping_until("10.9.0.2")
    srv = b.start("iperf3", "-s", "-1", "-B", "10.9.0.2")
    wait_for(lambda: b.listening(5201), 10, what="iperf3 server")
    out = tmp_path / "offload.pcap"
    cap = procs.start([vnet.VNETCTL, "--control", d.control, "-j", "capture", "a", "-w",
                       str(out), "-c", "300", "--snaplen", "200"],
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(lambda: any(m["capture"]["state"] == "running"
                         for m in control(d, {"cmd": "capture.list"})), 10,
             what="the capture running")
    a.exec("iperf3", "-c", "10.9.0.2", "-t", "1", "-l", "16K", timeout=30)
    stdout, stderr = cap.communicate(timeout=30)
    assert cap.returncode == 0, stderr
    res = json.loads(stdout)
    assert res["checksums_completed"] > 0, res  # the traffic really was offloaded
    bad = vnet.run(["tshark", "-r", str(out), "-o", "tcp.check_checksum:TRUE",
                    "-o", "ip.check_checksum:TRUE", "-Y",
                    "tcp.checksum.status == 0 || ip.checksum.status == 0",
                    "-T", "fields", "-e", "frame.number"]).stdout.split()
    assert bad == [], f"frames with bad checksums: {bad[:10]}"
    good = vnet.run(["tshark", "-r", str(out), "-o", "tcp.check_checksum:TRUE", "-Y",
                     "tcp.checksum.status == 1", "-T", "fields", "-e", "frame.number"]
                    ).stdout.split()
    assert len(good) > 10
    vnet.Procs.stop(srv)


def test_released_lease_shows_state_and_time(netns, vnetd, tmp_path):
    g = netns()
    d = vnetd({"networks": [{"name": NET, "mode": "nat", "dns": {"enabled": False}}],
               "ports": [tap("g", g, mac="52:54:00:a2:00:01")]})
    g.wait_link()
    udhcpc(g, tmp_path / "a")
    human = d.ctl_raw("leases", json_out=False).stdout
    assert re.search(r"in \d+s\s+bound", human), human
    # the client releases its address (a RELEASE from its own MAC)
    ip = d.ctl("leases")[0]["ip"]
    s = g.packet_socket()
    try:
        s.send(dhcp_msg("52:54:00:a2:00:01", ip, 7, "10.0.2.2", "52:54:00:a2:00:01"))
    finally:
        s.close()
    wait_for(lambda: d.ctl("leases")[0]["state"] == "released", 10, what="lease released")
    l = d.ctl("leases")[0]
    assert "expires_at" in l and "since" in l, l
    human = d.ctl_raw("leases", json_out=False).stdout
    assert "never" not in human
    assert re.search(r"released \d+s ago\s+released", human), human


def test_help_names_every_port_type():
    for exe in (vnet.VNETCTL, vnet.VNETD):
        cp = vnet.run([exe, "--help"], check=False)
        text = cp.stdout + cp.stderr
        assert "type=stream|dgram|tap|uplink" in text, f"{exe}: {text}"



def test_dns_upstream_sockets_are_pooled_batched_and_rotated(netns, vnetd):
    """The forwarder sends over a few connected sockets instead of one per
    query, in batches (fewer sendmmsg calls than queries), and replaces each
    socket (a new random source port) after 512 queries."""
    from test_hardening_tables import SelectiveUpstream
    up = SelectiveUpstream()
    try:
        d, (g,) = nat_setup(netns, vnetd, net_extra={
            "dns": {"enabled": True, "upstream": [f"127.0.0.1:{up.port}"], "cache": 0}})

        def burst():
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(2)
            got = 0
            for start in range(0, 3000, 100):
                for i in range(start, start + 100):
                    q = struct.pack("!HHHHHH", i & 0xffff, 0x0100, 1, 0, 0, 0)
                    for part in (f"n{i}", "good", "test"):
                        q += bytes([len(part)]) + part.encode()
                    s.sendto(q + b"\0" + struct.pack("!HH", 1, 1), ("10.0.2.3", 53))
                try:
                    for _ in range(100):
                        s.recv(512)
                        got += 1
                except socket.timeout:
                    pass
            s.close()
            return got
        got = g.in_ns(burst)
        assert got >= 2900, got
        st = d.network(NET)["gateway"]["dns"]
        assert st["upstream_sockets"] <= 8, st
        assert st["upstream_sockets_rotated"] >= 1, st
        assert st["upstream_send_calls"] < st["forwarded"] * 0.8, st
        ss = vnet.run(["ss", "-Hunp"]).stdout
        ours = [l for l in ss.splitlines() if f"pid={d.pid}," in l and f":{up.port}" in l]
        assert 1 <= len(ours) <= 8, ours
    finally:
        up.close()


def test_dns_cache_answers_repeats_locally(netns, vnetd):
    """A repeated question is answered from the cache: the upstream sees it
    once, the TTL counts down, the guest's spelling and id are kept, and a
    guest that sent no EDNS gets no OPT record."""
    from test_hardening_tables import SelectiveUpstream
    up = SelectiveUpstream()
    try:
        d, (g,) = nat_setup(netns, vnetd, net_extra={
            "dns": {"enabled": True, "upstream": [f"127.0.0.1:{up.port}"], "cache": 64}})

        def ask(name, edns):
            out = g.exec("dig", "@10.0.2.3", "+time=2", "+tries=1", "+noall", "+answer",
                         "+comments", name, "A", "+edns=0" if edns else "+noedns").stdout
            return out
        first = ask("Cached.Good.Test", True)
        assert "192.0.2.53" in first and up.answered == 1
        import time
        time.sleep(2.2)
        again = ask("cAcHeD.gOoD.tEsT", False)
        assert up.answered == 1, "the second query reached the upstream"
        assert "cAcHeD.gOoD.tEsT." in again, again
        ttl = int(re.search(r"cAcHeD\.gOoD\.tEsT\.\s+(\d+)\s+IN\s+A", again).group(1))
        assert ttl <= 8, again
        assert "OPT PSEUDOSECTION" not in again, again
        st = d.network(NET)["gateway"]["dns"]
        assert st["cache"]["hits"] >= 1 and st["cache"]["entries"] == 1, st
    finally:
        up.close()
