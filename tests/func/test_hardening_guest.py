"""Hardening (issue 9, defects 2-7): what a hostile guest or local user can
no longer do to the others.

  2. exhaust the daemon's descriptors (it spun and went deaf);
  3. take the whole NAT table (one guest's share is bounded);
  4. fill the table through a forward to a guest that never answers;
  5. take over the gateway's addresses with ARP, or claim another guest's
     address unnoticed;
  6. (not an attack) pings larger than the MTU to the gateway went unanswered;
  7. release or decline another client's DHCP lease.

Each test fails on the code before the fix. Every address is inside a
namespace the test creates or on loopback; the DNS upstream is a dnsmasq
the test starts on 127.0.0.1.
"""
import os
import resource
import socket
import struct
import time

import pytest

import vnet
from modes_util import udhcpc
from nat_util import (GW, NET, TcpServer, configure_guest, echo_handler, free_port, guest_ip,
                      nat_network, nat_setup, nat_stats, tap)
from test_dns import start_dnsmasq
from vnet import wait_for

DNS = "10.0.2.3"



def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, 16384):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 16384), hard))


def connect_many(ns, port, n, dst=GW, batch=100):
    """n TCP connections from ns to dst:port, opened in batches (so the tap
    queue keeps up). Returns (connected sockets, number refused)."""
    def body():
        ok, refused = [], 0
        for start in range(0, n, batch):
            pend = []
            for _ in range(min(batch, n - start)):
                s = socket.socket()
                s.setblocking(False)
                s.connect_ex((dst, port))
                pend.append(s)
            deadline = time.monotonic() + 20
            while pend and time.monotonic() < deadline:
                left = []
                for s in pend:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    try:
                        s.getpeername()
                        ok.append(s)
                        continue
                    except OSError:
                        pass
                    if err:
                        refused += 1
                        s.close()
                    else:
                        left.append(s)
                pend = left
                time.sleep(0.02)
            for s in pend:
                refused += 1
                s.close()
        return ok, refused
    return ns.in_ns(body)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_listener():
    """A host listener that completes handshakes in its backlog and never
    accepts (holds thousands of connections with one descriptor)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    return s


# ------------------------------------------------------------------ 2. descriptors

@pytest.fixture
def limited_vnetd(request, tmp_path, procs):
    """A vnetd started with RLIMIT_NOFILE 1024 (soft and hard)."""
    daemons = []
    request.node._vnet_daemons = daemons

    def factory(conf):
        d = vnet.Vnetd(tmp_path, conf, prefix=["prlimit", "--nofile=1024:1024", "--"],
                       procs=procs)
        daemons.append(d)
        return d.start()

    yield factory
    for d in daemons:
        try:
            if d.running():
                d.stop()
        finally:
            d.kill()


def test_descriptor_exhaustion_keeps_daemon_responsive(netns, limited_vnetd, procs, tmp_path,
                                                       servers):
    """Under a 1,024 descriptor limit a guest opens 1,500 TCP connections
    through NAT. Before: accept() failing with EMFILE on a level-triggered
    listener made vnetd spin at 100 % CPU, the control socket went deaf,
    DNS answered SERVFAIL, forwards timed out. Now the flow table is sized
    to the descriptors (logged), the guest gets its share, and the rest of
    the daemon keeps working."""
    raise_nofile()
    _, dport = start_dnsmasq(procs, tmp_path)
    g0, g1 = netns(), netns()
    fport = free_port()
    net = nat_network(dhcp={"enabled": True}, dns={"upstream": [f"127.0.0.1:{dport}"]},
                      forwards=[{"proto": "tcp", "host": f"127.0.0.1:{fport}",
                                 "guest": f"{guest_ip(1)}:7100"}])
    d = limited_vnetd({"networks": [net],
                       "ports": [tap("g0", g0, mac="02:00:00:9b:00:01"),
                                 tap("g1", g1, mac="02:00:00:9b:00:02")]})
    configure_guest(g0, guest_ip(0))

    srv = idle_listener()
    try:
        held, refused = connect_many(g0, srv.getsockname()[1], 1500)
        try:
            d.assert_alive()
            # The loop is not spinning: little CPU while nothing moves.
            time.sleep(0.5)
            c0 = cpu_seconds(d.pid)
            time.sleep(2)
            assert cpu_seconds(d.pid) - c0 < 0.5, "vnetd keeps the CPU busy"
            # Control, DHCP (with its lease file), DNS, forwards and new flows
            # of the other guest all work.
            assert d.ctl("status")["networks"] == 1
            lease = udhcpc(g1, tmp_path / "g1")
            assert lease["ip"].startswith("10.0.2.")
            g1.ip("addr", "add", f"{guest_ip(1)}/24", "dev", "eth0")
            state = tmp_path / "vnetd-state" / f"leases-{NET}.json"
            wait_for(lambda: "02:00:00:9b:00:02" in state.read_text(), 10, what="lease saved")
            ans = g1.exec("dig", f"@{DNS}", "+short", "+time=2", "+tries=2",
                          "a.example.test").stdout.split()
            assert ans == ["192.0.2.10"], ans
            ok, _ = connect_many(g1, srv.getsockname()[1], 5)
            assert len(ok) == 5
            for s in ok:
                s.close()
            g1_listener = g1.in_ns(lambda: socket.create_server(("0.0.0.0", 7100)))
            servers.append(TcpServer(echo_handler, sock=g1_listener))
            with socket.create_connection(("127.0.0.1", fport), timeout=10) as c:
                c.sendall(b"through the forward")
                assert c.recv(100) == b"through the forward"
            st = nat_stats(d)[1]
            assert st["flows_max"] < 1024 and len(held) <= st["flows_max"] and refused > 0
            assert st["refused_guest_share"] > 0, st
            assert "NAT flow table capped by the descriptor limit" in d.log()
        finally:
            for s in held:
                s.close()
    finally:
        srv.close()
    d.assert_alive()


# ------------------------------------------------------------------ 3. per-guest share

def test_one_guest_cannot_take_the_whole_nat_table(netns, vnetd, servers):
    """Before: a guest opening more connections than nat.max_flows left the
    other guests with RSTs. Now it gets its share (a quarter by default)."""
    raise_nofile()
    d, (g0, g1) = nat_setup(netns, vnetd, n=2, net_extra={"nat": {"max_flows": 64}})
    srv = idle_listener()
    try:
        held, refused = connect_many(g0, srv.getsockname()[1], 80)
        ok, refused1 = connect_many(g1, srv.getsockname()[1], 10)
        assert len(ok) == 10 and refused1 == 0, "the other guest was refused"
        assert len(held) == 16 and refused == 64, (len(held), refused)
        st = nat_stats(d)[1]
        assert st["flows_max"] == 64 and st["flows_per_guest_max"] == 16
        assert st["refused_guest_share"] >= 64
        by = {e["guest"]: e["flows"] for e in st["flows_by_guest"]}
        assert by["g0"] == 16 and by["g1"] == 10, by
        assert "at its share" in d.log()
        for s in held + ok:
            s.close()
    finally:
        srv.close()


def test_per_guest_share_is_configurable(netns, vnetd):
    d, (g0,) = nat_setup(netns, vnetd, net_extra={"nat": {"max_flows": 64,
                                                          "max_flows_per_guest": 40}})
    assert nat_stats(d)[1]["flows_per_guest_max"] == 40
    srv = idle_listener()
    try:
        held, refused = connect_many(g0, srv.getsockname()[1], 50)
        assert len(held) == 40 and refused == 10
        for s in held:
            s.close()
    finally:
        srv.close()


# ------------------------------------------------------------------ 4. forwards

def test_forward_to_silent_guest_cannot_starve_nat(netns, vnetd, servers):
    """A forward to an address nobody answers for (a paused or gone guest):
    before, a local user's connections stayed half-open for 75 s each and
    filled the table. Now at most nat.forward_pending wait (the listener
    pauses; the kernel backlog holds the rest), each times out after
    nat.forward_syn_timeout, and the guests' own connections go on."""
    raise_nofile()
    fport = free_port()
    d, (g0,) = nat_setup(netns, vnetd, net_extra={
        "nat": {"max_flows": 256, "max_flows_per_guest": 256, "forward_pending": 32,
                "forward_syn_timeout": 2},
        "forwards": [{"proto": "tcp", "host": f"127.0.0.1:{fport}", "guest": "10.0.2.99:80"}]})
    clients = []
    try:
        for _ in range(300):
            c = socket.socket()
            c.setblocking(False)
            c.connect_ex(("127.0.0.1", fport))
            clients.append(c)
        wait_for(lambda: d.ctl("forward", "list")[0]["pending"] == 32, 10,
                 what="pending handshakes at the bound")
        time.sleep(0.5)
        fw = d.ctl("forward", "list")[0]
        assert fw["pending"] == 32 and fw["backlog_full"] >= 1, fw
        assert nat_stats(d)[1]["tcp_active"] <= 32
        # The guest's own connections still get flows.
        srv = idle_listener()
        try:
            ok, refused = connect_many(g0, srv.getsockname()[1], 20)
            assert len(ok) == 20 and refused == 0
            for s in ok:
                s.close()
        finally:
            srv.close()
        # Half-open connections time out and the next ones are accepted.
        wait_for(lambda: d.ctl("forward", "list")[0]["syn_timeouts"] >= 32, 15,
                 what="forwarded handshakes timing out")
        wait_for(lambda: d.ctl("forward", "list")[0]["accepted"] > 32, 10,
                 what="accepting again")
        assert nat_stats(d)[1]["forward_syn_timeouts"] >= 32
    finally:
        for c in clients:
            c.close()


# ------------------------------------------------------------------ 5. gateway addresses

def arp_reply(src_mac, src_ip, dst_mac, dst_ip):
    payload = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 2, vnet.mac_bytes(src_mac),
                          socket.inet_aton(src_ip), vnet.mac_bytes(dst_mac),
                          socket.inet_aton(dst_ip))
    return vnet.eth_frame(dst_mac, src_mac, 0x0806, payload)


def neigh_mac(ns, ip):
    out = ns.exec("ip", "neigh", "show", ip).stdout.split()
    return out[out.index("lladdr") + 1] if "lladdr" in out else None


def test_guest_cannot_take_over_gateway_addresses(netns, vnetd, servers):
    """ARP from a guest claiming the gateway's or the DNS address is dropped
    (counted as spoof) before it reaches anyone: the other guest's entry for
    its default gateway stays the gateway's MAC."""
    d, (a, b) = nat_setup(netns, vnetd, n=2)
    gw_mac = d.network(NET)["gateway"]["mac"]
    b.ping(DNS, count=1)
    assert neigh_mac(b, GW) == gw_mac and neigh_mac(b, DNS) == gw_mac
    amac, bmac = a.mac(), b.mac()
    frames = [arp_reply(amac, GW, "ff:ff:ff:ff:ff:ff", GW),            # gratuitous
              arp_reply(amac, GW, bmac, guest_ip(1)),                   # aimed at b
              arp_reply(amac, DNS, bmac, guest_ip(1)),
              vnet.arp_request(amac, DNS, guest_ip(1))]                 # a request claims too
    base = d.port_stats("g0")["rx_drops"]["spoof"]
    s = a.packet_socket()
    try:
        for _ in range(5):
            for f in frames:
                s.send(f)
    finally:
        s.close()
    wait_for(lambda: d.port_stats("g0")["rx_drops"]["spoof"] >= base + 20, 5,
             what="spoofed ARP dropped")
    assert neigh_mac(b, GW) == gw_mac and neigh_mac(b, DNS) == gw_mac
    b.ping(GW, count=2, interval=0.2)
    d.assert_alive()


def test_address_conflicts_are_detected_and_do_not_poison_the_gateway(netns, vnetd, servers):
    """Guest a claims guest b's address with gratuitous and unicast ARP:
    the conflict is logged, counted and listed by vnetctl; the gateway keeps
    b's MAC for b's address, so b's NAT traffic still reaches b."""
    d, (a, b) = nat_setup(netns, vnetd, n=2)
    srv = TcpServer(echo_handler)
    servers.append(srv)
    amac, bmac, bip = a.mac(), b.mac(), guest_ip(1)
    s = a.packet_socket()
    try:
        for _ in range(3):
            s.send(arp_reply(amac, bip, "ff:ff:ff:ff:ff:ff", bip))
            s.send(arp_reply(amac, bip, d.network(NET)["gateway"]["mac"], GW))
            b.ping(GW, count=1)  # b keeps using its address
    finally:
        s.close()
    conf = wait_for(lambda: d.ctl("conflicts"), 5, what="a conflict listed")
    c = conf[0]
    assert (c["address"], c["claimer_mac"], c["holder_mac"], c["port"]) == (bip, amac, bmac, "g0")
    assert c["count"] >= 3 and c["network"] == NET
    assert d.network(NET)["gateway"]["stats"]["arp_conflicts"] >= 3
    assert "address conflict" in d.log()
    human = d.ctl_raw("conflicts", json_out=False).stdout
    assert bip in human and amac in human
    # b's connections through NAT still work (the gateway was not poisoned).
    sock = b.in_ns(lambda: socket.create_connection((GW, srv.port), timeout=10))
    with sock:
        sock.sendall(b"still mine")
        assert sock.recv(100) == b"still mine"


# ------------------------------------------------------------------ 6. big pings

@pytest.mark.parametrize("size", [1473, 3000, 8000])
def test_gateway_answers_pings_larger_than_the_mtu(netns, vnetd, size):
    """Before: the request was reassembled but the reply, larger than the
    MTU, was never sent. Now the gateway fragments its reply like a host."""
    d, (g,) = nat_setup(netns, vnetd)
    for dst in (GW, DNS):
        cp = g.ping(dst, count=3, interval=0.2, size=size)
        assert vnet.ping_stats(cp.stdout) == (3, 3), cp.stdout
    assert d.network(NET)["gateway"]["stats"]["fragmented_replies"] >= 6


# ------------------------------------------------------------------ 7. DHCP for others

def dhcp_msg(chaddr, ciaddr, msgtype, server, src_mac, requested=None):
    bootp = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, 0x1234, 0, 0, 0, 0, 0, 0)
    bootp = bootp[:12] + socket.inet_aton(ciaddr) + bootp[16:]
    bootp += vnet.mac_bytes(chaddr) + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
    opts = bytes([53, 1, msgtype, 54, 4]) + socket.inet_aton(server)
    if requested:
        opts += bytes([50, 4]) + socket.inet_aton(requested)
    bootp += opts + b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    src = ciaddr if msgtype == 7 else "0.0.0.0"
    dst = server if msgtype == 7 else "255.255.255.255"
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    s = sum(struct.unpack("!10H", iph))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    iph = iph[:10] + struct.pack("!H", ~s & 0xffff) + iph[12:]
    return vnet.eth_frame("ff:ff:ff:ff:ff:ff", src_mac, 0x0800, iph + udp)


def test_guest_cannot_release_or_decline_anothers_lease(netns, vnetd, tmp_path):
    """On an untrusted port, DHCP messages whose chaddr is not the frame's
    source MAC are dropped (rx_drops.spoof): another client's lease is
    neither released nor quarantined, and its renewal is acknowledged."""
    victim, evil = netns(), netns()
    vmac, emac = "52:54:00:9c:00:01", "52:54:00:9c:00:02"
    d = vnetd({"networks": [{"name": NET, "mode": "nat", "dns": {"enabled": False}}],
               "ports": [tap("victim", victim, mac=vmac), tap("evil", evil, mac=emac)]})
    victim.wait_link()
    evil.wait_link()
    evil.ip("link", "set", "eth0", "up")
    mine = udhcpc(victim, tmp_path / "v")["ip"]
    base = d.port_stats("evil")["rx_drops"]["spoof"]
    s = evil.packet_socket()
    try:
        s.send(dhcp_msg(vmac, mine, 7, "10.0.2.2", emac))                   # RELEASE
        s.send(dhcp_msg(vmac, "0.0.0.0", 4, "10.0.2.2", emac, requested=mine))  # DECLINE
    finally:
        s.close()
    wait_for(lambda: d.port_stats("evil")["rx_drops"]["spoof"] >= base + 2, 5,
             what="forged DHCP dropped")
    ls = {l["mac"]: l for l in d.ctl("leases")}
    assert ls[vmac]["state"] == "bound" and ls[vmac]["ip"] == mine, ls
    st = d.network(NET)["gateway"]["dhcp"]
    assert st["release"] == 0 and st["decline"] == 0, st
    assert udhcpc(victim, tmp_path / "v2")["ip"] == mine
    # The guest's own DHCP still works.
    assert udhcpc(evil, tmp_path / "e")["ip"] != mine
