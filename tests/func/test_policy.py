"""Functional tests of policy and protection (issue 6): stateful ACLs with real
TCP/UDP/ICMP clients, run-time ACL changes, port security against spoofed
MACs/IPs and ARP poisoning (scapy), DHCP and RA guard against a rogue server,
rate limits measured with iperf3, and the per-port MAC limit.

Every address is inside a namespace the test creates; nothing leaves the
machine. Waits poll with deadlines; timeouts only separate "answered" from
"silently dropped".
"""
import re
import time

import pytest

import vnet
from policy_util import (TcpSession, acl_rules, drops, echo_server, hits, iperf3,
                         scapy_send, tap, tcp_try, udp_try)
from ipv6_util import ipv6_on, slaac_addr
from vnet import wait_for

from scapy.layers.inet import ICMP, IP, UDP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6ND_NS, IPv6  # noqa: E402

MAC_A, MAC_B, MAC_C = "02:00:00:06:00:0a", "02:00:00:06:00:0b", "02:00:00:06:00:0c"
IP_A, IP_B, IP_C = "10.6.0.1", "10.6.0.2", "10.6.0.3"
EHOSTUNREACH = 113


def lan(netns, vnetd, net_extra=None, a_extra=None, b_extra=None, c=False):
    """Namespaces a, b (and c) on tap ports of isolated network 'lan', addressed.
    Does not wait for reachability (ACLs may forbid it)."""
    nss = [netns(), netns()] + ([netns()] if c else [])
    net = {"name": "lan", "mode": "isolated"}
    net.update(net_extra or {})
    ports = [tap("a", nss[0], mac=MAC_A, **(a_extra or {})),
             tap("b", nss[1], mac=MAC_B, **(b_extra or {}))]
    if c:
        ports.append(tap("c", nss[2], mac=MAC_C))
    d = vnetd({"networks": [net], "ports": ports})
    for ns, ip in zip(nss, (IP_A, IP_B, IP_C)):
        ns.wait_link()
        ns.addr(f"{ip}/24")
    return (d, *nss)


def ping_stats(text):
    m = re.search(r"(\d+) packets transmitted, (\d+) received", text)
    assert m, f"no ping summary in: {text!r}"
    return int(m.group(1)), int(m.group(2))


# ------------------------------------------------------------------ ACL matrix

MATRIX_RULES = [
    {"action": "allow", "ethertype": "arp"},                                     # 0
    {"action": "allow", "state": "established"},                                 # 1
    {"action": "allow", "proto": "tcp", "dst": IP_B, "dport": 7000},             # 2
    {"action": "reject", "proto": "tcp", "dport": 7002},                         # 3
    {"action": "allow", "proto": "udp", "dst": IP_B, "dport": "7000-7001"},      # 4
    {"action": "reject", "proto": "udp", "dport": 7003},                         # 5
    {"action": "allow", "proto": "icmp", "icmp_type": 8, "src": IP_A},           # 6
    {"action": "reject", "proto": "icmp", "icmp_type": 8, "src": IP_B},          # 7
]


def test_acl_matrix_tcp_udp_icmp(netns, vnetd):
    """Allowed, dropped and rejected flows with real clients; stateful return
    traffic; a port rule before the network's; per-rule hit counters; the
    network default policy."""
    d, a, b = lan(netns, vnetd,
                  net_extra={"acl": {"default": "drop", "rules": MATRIX_RULES}},
                  b_extra={"acl": [{"action": "reject", "direction": "out", "proto": "udp",
                                    "dport": 7001}]})
    echo_server(b, tcp=(7000, 7002, 7004), udp=(7000, 7001, 7003, 7004))
    echo_server(a, tcp=(7000,))
    a.ping_until(IP_B, timeout=15)

    listing = d.ctl("acl", "list", "lan")["acls"][0]
    assert listing["default"] == "drop"
    assert len(listing["rules"]) == len(MATRIX_RULES)
    assert [r["index"] for r in listing["rules"]] == list(range(len(MATRIX_RULES)))
    assert "reject" in listing["rules"][3]["rule"] and "dport=7002" in listing["rules"][3]["rule"]
    port_rules = acl_rules(d, "b")
    assert len(port_rules) == 1 and "out" in port_rules[0]["rule"]

    h0 = hits(d, "lan")
    acl_a0 = drops(d, "a").get("acl", 0)

    # TCP: allowed (and its return traffic, which no rule allows as "new").
    assert tcp_try(a, IP_B, 7000)[0] == "ok"
    # TCP: rejected -> the client sees a reset at once ("connection refused").
    assert tcp_try(a, IP_B, 7002, timeout=5)[0] == "refused"
    cp = a.exec("curl", "-sS", "--max-time", "10", f"http://{IP_B}:7002/", check=False)
    assert cp.returncode == 7, cp  # could not connect (a timeout would be 28)
    # TCP: no rule -> default drop -> the client's SYN goes unanswered.
    assert tcp_try(a, IP_B, 7004, timeout=2)[0] == "timeout"
    # Stateful, not symmetric: b may answer a, but not open a connection to a.
    assert tcp_try(b, IP_A, 7000, timeout=2)[0] == "timeout"

    # UDP: allowed with its reply; rejected by b's own port rule and by the
    # network rule (ICMP administratively prohibited -> EHOSTUNREACH); dropped.
    assert udp_try(a, IP_B, 7000)[0] == "ok"
    assert udp_try(a, IP_B, 7001, timeout=5)[0] == f"unreachable:{EHOSTUNREACH}"
    assert udp_try(a, IP_B, 7003, timeout=5)[0] == f"unreachable:{EHOSTUNREACH}"
    assert udp_try(a, IP_B, 7004, timeout=2)[0] == "timeout"

    # ICMP: a may ping b (and gets the replies through conntrack), b's pings
    # to a are rejected with "packet filtered".
    sent, got = ping_stats(a.ping(IP_B, count=3, interval=0.2).stdout)
    assert got == sent == 3
    r = b.ping(IP_A, count=2, interval=0.2, wait=1, check=False)
    assert r.returncode != 0 and ping_stats(r.stdout)[1] == 0
    m = re.search(r"\+(\d+) errors", r.stdout)  # ICMP errors, not silence
    assert m and int(m.group(1)) == 2, r.stdout

    # Hit counters: exactly one SYN hit the TCP reject rule, one datagram the
    # UDP one; the allow rules and the established rule were used.
    h = hits(d, "lan")
    delta = [x - y for x, y in zip(h, h0)]
    assert delta[3] == 2, delta  # tcp_try and curl: one SYN each
    assert delta[5] == 1, delta
    assert delta[7] == 2, delta
    assert delta[2] >= 1 and delta[4] >= 1 and delta[6] >= 1, delta
    assert delta[1] >= 3 + 3, delta  # SYN-ACK and data of TCP, UDP reply, ICMP replies
    assert acl_rules(d, "b")[0]["hits"] == 1
    # Frames the ACL refused are counted as drops of the sending port.
    assert drops(d, "a").get("acl", 0) > acl_a0
    assert drops(d, "b").get("acl", 0) >= 1
    ct = d.ctl("acl", "list", "lan")["conntrack"]
    assert ct["entries"] >= 3 and ct["created"] >= 3, ct

    # Default policy at run time: allow lets the unmatched flows through.
    d.ctl("acl", "default", "lan", "allow")
    assert d.ctl("acl", "list", "lan")["acls"][0]["default"] == "allow"
    assert tcp_try(a, IP_B, 7004)[0] == "ok"
    assert tcp_try(b, IP_A, 7000)[0] == "ok"
    assert udp_try(a, IP_B, 7004)[0] == "ok"
    # ... and the explicit reject rules still reject.
    assert tcp_try(a, IP_B, 7002, timeout=5)[0] == "refused"
    d.ctl("acl", "default", "lan", "drop")
    assert tcp_try(a, IP_B, 7004, timeout=2)[0] == "timeout"
    d.assert_alive()


def test_acl_port_rules_mac_ethertype_direction(netns, vnetd):
    """Port rules match ethertype, source MAC and direction (in = sent by the
    port's guest, out = delivered to it, both); the network default allows."""
    d, a, b, c = lan(netns, vnetd, c=True,
                     a_extra={"acl": [{"action": "drop", "direction": "in",
                                       "ethertype": "0x88b5"}]},
                     b_extra={"acl": [{"action": "drop", "direction": "out", "src_mac": MAC_C},
                                      {"action": "reject", "direction": "both", "proto": "tcp",
                                       "dport": 7000}]})
    echo_server(a, tcp=(7000, 7001))
    echo_server(b, tcp=(7000, 7001))
    a.ping_until(IP_B, timeout=15)
    c.ping_until(IP_A, timeout=15)
    # source MAC: c's frames are not delivered to b (drop out on b), a's are.
    r = c.ping(IP_B, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(r.stdout)[1] == 0
    assert acl_rules(d, "b")[0]["hits"] >= 1
    # direction both: b can neither be reached on 7000 nor reach 7000 elsewhere.
    assert tcp_try(a, IP_B, 7000, timeout=5)[0] == "refused"
    assert tcp_try(b, IP_A, 7000, timeout=5)[0] == "refused"
    assert tcp_try(a, IP_B, 7001)[0] == "ok"
    assert tcp_try(b, IP_A, 7001)[0] == "ok"
    assert acl_rules(d, "b")[1]["hits"] == 2
    # ethertype: a's 0x88b5 frames are dropped as they enter, 0x88b6 passes.
    sniff = vnet.Sniffer(b, filt=("ether", "src", MAC_A, "and", "not", "ip", "and", "not", "arp"))
    try:
        scapy_send(a, [vnet.eth_frame(MAC_B, MAC_A, 0x88b5, b"x"),
                       vnet.eth_frame(MAC_B, MAC_A, 0x88b6, b"y")])
        sniff.wait(lambda l: "0x88b6" in l, what="the 0x88b6 frame at b")
        time.sleep(0.3)
        assert not [l for l in sniff.lines if "0x88b5" in l], sniff.lines
    finally:
        sniff.stop()
    assert acl_rules(d, "a")[0]["hits"] == 1


def test_acl_icmp_error_of_allowed_flow_returns(netns, vnetd):
    """The port-unreachable answer to an allowed UDP datagram reaches the
    client (as return traffic of the flow), so it fails fast instead of timing out."""
    d, a, b = lan(netns, vnetd, net_extra={"acl": {"default": "drop", "rules": [
        {"action": "allow", "ethertype": "arp"},
        {"action": "allow", "state": "established"},
        {"action": "allow", "proto": "udp", "dport": 7010},
    ]}})
    echo_server(b, udp=(7011,))  # nothing on 7010: b's kernel answers port unreachable
    assert udp_try(a, IP_B, 7010, timeout=4)[0] == "refused"


# ------------------------------------------------------------------ IPv6 ACL rules

PFX6 = "fd00:66::/64"
V4_A, V4_B = "10.0.2.21", "10.0.2.22"
EACCES = 13  # what Linux makes of ICMPv6 "administratively prohibited"

NET6_RULES = [
    {"action": "allow", "state": "established"},                                 # 0
    {"action": "reject", "proto": "tcp", "dst": PFX6, "dport": 7002},            # 1
    {"action": "reject", "proto": "udp", "dst": PFX6, "dport": 7003},            # 2
    {"action": "allow", "proto": "udp", "dst": PFX6, "dport": 7010},             # 3
    {"action": "reject", "proto": "tcp", "dst": PFX6, "dport": 7005},            # 4
    {"action": "allow", "proto": "tcp", "dport": 7005},                          # 5
    {"action": "reject", "proto": "tcp", "dst": "10.0.2.0/24", "dport": 7006},   # 6
    {"action": "allow", "proto": "tcp", "dport": 7006},                          # 7
]
A6_PORT_RULES = [  # a's own (direction in): what a may open by IPv6
    {"action": "allow", "direction": "in", "proto": "tcp", "dst": PFX6, "dport": 7000},
    {"action": "allow", "direction": "in", "proto": "udp", "dst": PFX6, "dport": 7000},
]


def test_acl_ipv6_prefixes_stateful_reject_and_ipv4_untouched(netns, vnetd):
    """IPv6 rules by prefix on a dual-stack network whose guests get their
    IPv6 addresses by SLAAC under a drop default (neighbour discovery and ARP
    pass it): TCP, UDP and ping -6 allowed, dropped and rejected (TCP RST,
    ICMPv6 administratively prohibited), return traffic only as established,
    a port-unreachable ICMPv6 error of an allowed flow let through as related,
    IPv6 rules added at run time with vnetctl and listed back, and IPv4 judged
    by its own rules only."""
    a, b = netns(), netns()
    for ns in (a, b):
        ipv6_on(ns)
    net = {"name": "lan", "mode": "nat", "subnet6": PFX6, "dhcp": {"enabled": False},
           "dns": {"enabled": False}, "acl": {"default": "drop", "rules": NET6_RULES}}
    d = vnetd({"networks": [net],
               "ports": [tap("a", a, mac=MAC_A, acl=A6_PORT_RULES), tap("b", b, mac=MAC_B)]})
    for ns, ip in ((a, V4_A), (b, V4_B)):
        ns.wait_link()
        ns.ip("link", "set", "eth0", "up")
        ns.addr(f"{ip}/24")
    # SLAAC works under the drop default: the gateway's RAs, DAD, and later
    # the guests' own neighbour discovery pass without any rule for them.
    a6, b6 = slaac_addr(a, PFX6), slaac_addr(b, PFX6)
    echo_server(b, tcp=(7000, 7002, 7004, 7005, 7006), udp=(7000, 7001, 7003), v6=True)
    echo_server(a, tcp=(7000,), v6=True)

    # Rules by address, added at run time: a may ping b, b's pings to a are
    # rejected. They are listed back as written, with their prefix length.
    d.ctl("acl", "add", "lan", "allow", "proto=icmpv6", "icmp_type=128", f"src={a6}")
    d.ctl("acl", "add", "lan", "reject", "in", "icmp_type=128", f"src={b6}/128")
    listing = d.ctl("acl", "list", "lan")["acls"][0]
    texts = [r["rule"] for r in listing["rules"]]
    assert texts[8] == f"allow in src={a6}/128 proto=icmpv6 icmp_type=128", texts
    assert texts[9] == f"reject in src={b6}/128 icmp_type=128", texts
    assert texts[1] == f"reject in dst={PFX6} proto=tcp dport=7002", texts
    human = d.ctl_raw("acl", "list", "lan", json_out=False)
    assert human.returncode == 0 and f"src={a6}/128" in human.stdout, human
    port_rules = acl_rules(d, "a")
    assert port_rules[0]["rule"] == f"allow in dst={PFX6} proto=tcp dport=7000"
    # A bad IPv6 value is refused with its reason.
    bad = d.ctl_raw("acl", "add", "lan", "drop", "src=fd00:66::1/64")
    assert bad.returncode != 0 and "host bits set (did you mean fd00:66::/64?)" in bad.stderr
    bad = d.ctl_raw("acl", "add", "lan", "drop", "proto=icmp", f"dst={b6}")
    assert bad.returncode != 0 and "a rule matches one family" in bad.stderr
    h0 = hits(d, "lan")
    rej0 = d.ctl("acl", "list")["reject"]["sent"]

    # TCP over IPv6: a's port rule lets it open 7000, the answers pass as
    # established; b may not open a connection to a.
    assert tcp_try(a, b6, 7000, timeout=5)[0] == "ok"
    assert tcp_try(b, a6, 7000, timeout=2)[0] == "timeout"
    # rejected -> RST at once; no rule -> dropped by the default
    assert tcp_try(a, b6, 7002, timeout=5)[0] == "refused"
    assert tcp_try(a, b6, 7004, timeout=2)[0] == "timeout"
    # UDP over IPv6: allowed with its reply; rejected -> ICMPv6 administratively
    # prohibited, which the socket reports at once; dropped.
    assert udp_try(a, b6, 7000)[0] == "ok"
    assert udp_try(a, b6, 7003, timeout=5)[0] == f"unreachable:{EACCES}"
    assert udp_try(a, b6, 7001, timeout=2)[0] == "timeout"
    # b's port unreachable about an allowed datagram returns as related.
    assert udp_try(a, b6, 7010, timeout=4)[0] == "refused"

    # ping -6: a's pings and their replies pass; b's are answered with errors.
    sent, got = ping_stats(a.ping(b6, count=3, interval=0.2).stdout)
    assert got == sent == 3
    r = b.ping(a6, count=2, interval=0.2, wait=1, check=False)
    assert r.returncode != 0 and ping_stats(r.stdout)[1] == 0
    m = re.search(r"\+(\d+) errors", r.stdout)
    assert m and int(m.group(1)) == 2, r.stdout

    # IPv4 is judged by its own rules only: the IPv6 port rules do not let a
    # open 7000, the IPv6 reject of 7005 does not touch it, its own of 7006
    # does (and no ARP rule is needed under the drop default); IPv6 the other
    # way round. Pings over IPv4 match no rule: dropped, not rejected.
    assert tcp_try(a, V4_B, 7000, timeout=2)[0] == "timeout"
    assert tcp_try(a, V4_B, 7005)[0] == "ok"
    assert tcp_try(a, b6, 7005, timeout=5)[0] == "refused"
    assert tcp_try(a, V4_B, 7006, timeout=5)[0] == "refused"
    assert tcp_try(a, b6, 7006)[0] == "ok"
    r = a.ping(V4_B, count=2, interval=0.2, wait=1, check=False)
    assert ping_stats(r.stdout)[1] == 0 and "errors" not in r.stdout, r.stdout

    h = hits(d, "lan")
    delta = [x - y for x, y in zip(h, h0)]
    assert delta[1] == 1 and delta[2] == 1, delta   # one SYN, one datagram
    assert delta[4] == 1 and delta[6] == 1, delta   # 7005 over IPv6, 7006 over IPv4
    assert delta[5] >= 1 and delta[7] >= 1, delta   # and the other family allowed
    assert delta[9] == 2, delta                    # b's two echo requests
    assert delta[8] == 1 and delta[3] >= 1, delta  # a's first echo request opens the flow
    assert delta[0] >= 3 + 1 + 3 + 1, delta        # TCP and UDP answers, echo replies, related
    assert acl_rules(d, "a")[0]["hits"] >= 1 and acl_rules(d, "a")[1]["hits"] >= 1
    res = d.ctl("acl", "list")
    assert res["reject"]["sent"] - rej0 == 1 + 1 + 2 + 1 + 1, res["reject"]
    assert res["reject"]["rate_limited"] == 0
    assert res["conntrack"]["created"] >= 5, res["conntrack"]

    # vnetctl acl del takes the IPv6 rules out again: b's pings now match
    # nothing and are dropped silently.
    d.ctl("acl", "del", "lan", "9")
    r = b.ping(a6, count=1, wait=1, check=False)
    assert ping_stats(r.stdout)[1] == 0 and "errors" not in r.stdout, r.stdout
    assert len(acl_rules(d, "lan")) == 9
    d.assert_alive()


# ------------------------------------------------------------------ run-time ACL changes

def test_acl_runtime_add_del_keeps_open_flow(netns, vnetd):
    """vnetctl acl add/del/default change what new connections may do at once,
    while a connection that stays allowed keeps working throughout."""
    d, a, b = lan(netns, vnetd, net_extra={"acl": {"default": "drop", "rules": [
        {"action": "allow", "ethertype": "arp"},
        {"action": "allow", "state": "established"},
        {"action": "allow", "proto": "tcp", "dport": 7000},
    ]}})
    echo_server(b, tcp=(7000, 7100))
    s = TcpSession(a, IP_B, 7000)
    try:
        assert s.echo()
        assert tcp_try(a, IP_B, 7100, timeout=2)[0] == "timeout"

        # Allow 7100 at run time (appended to the network's list).
        cp = d.ctl_raw("acl", "add", "lan", "allow", "proto=tcp", "dport=7100", json_out=False)
        assert cp.returncode == 0, cp.stderr
        rules = acl_rules(d, "lan")
        assert len(rules) == 4 and "dport=7100" in rules[3]["rule"]
        assert tcp_try(a, IP_B, 7100)[0] == "ok"
        assert acl_rules(d, "lan")[3]["hits"] >= 1
        assert s.echo()

        # A port rule in front: a may no longer open connections to 7000 (new),
        # but the open one is established and keeps going.
        d.ctl("acl", "add", "a", "drop", "in", "proto=tcp", "dport=7000", "state=new",
              "--position", "0")
        port_rules = acl_rules(d, "a")
        assert len(port_rules) == 1 and "state=new" in port_rules[0]["rule"]
        assert tcp_try(a, IP_B, 7000, timeout=2)[0] == "timeout"
        assert acl_rules(d, "a")[0]["hits"] >= 1
        for _ in range(3):
            assert s.echo(b"x" * 3000 + b"\n")

        # Delete the network rule for 7100: new connections there stop again.
        d.ctl("acl", "del", "lan", "3")
        assert len(acl_rules(d, "lan")) == 3
        assert tcp_try(a, IP_B, 7100, timeout=2)[0] == "timeout"
        assert s.echo()

        # Insert a reject at position 0 of the network for 7100: refused at once.
        d.ctl("acl", "add", "lan", "reject", "proto=tcp", "dport=7100", "--position", "0")
        assert "reject" in acl_rules(d, "lan")[0]["rule"]
        assert tcp_try(a, IP_B, 7100, timeout=5)[0] == "refused"
        assert s.echo()
        d.ctl("acl", "del", "lan", "0")

        # Delete the port rule: 7000 opens again; the old connection never noticed.
        d.ctl("acl", "del", "a", "0")
        assert acl_rules(d, "a") == []
        assert tcp_try(a, IP_B, 7000)[0] == "ok"
        assert s.echo()

        # Errors are explained, and change nothing.
        for bad in (("acl", "add", "lan", "allow", "proto=bogus"),
                    ("acl", "add", "lan", "maybe"),
                    ("acl", "add", "nosuch", "allow"),
                    ("acl", "del", "lan", "99"),
                    ("acl", "default", "lan", "sometimes")):
            cp = d.ctl_raw(*bad, json_out=False)
            assert cp.returncode != 0 and cp.stderr.strip(), (bad, cp)
            assert "vnetctl:" in cp.stderr
        assert len(acl_rules(d, "lan")) == 3
        assert s.echo()
    finally:
        s.close()
    d.assert_alive()


PUSHER = r"""
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(4)
c, _ = s.accept()
n = 0
while True:
    c.sendall(b"line %d\n" % n); n += 1; time.sleep(1)
"""


def test_acl_enabled_at_runtime_keeps_open_download(netns, vnetd):
    """A download (the server pushes, the client only ACKs) that the new policy
    allows keeps flowing when ACLs are switched on at run time."""
    d, a, b = lan(netns, vnetd)
    a.ping_until(IP_B, timeout=15)
    b.start("/usr/bin/python3", "-c", PUSHER, "7000")
    wait_for(lambda: b.listening(7000), 10, what="pusher listening")
    s = TcpSession(a, IP_B, 7000)
    try:
        def lines(t):
            s.sock.settimeout(t)
            try:
                return s.sock.recv(65536).count(b"\n")
            except OSError:
                return 0
        # Change the rules right after a line arrived and was acknowledged,
        # so that the next frame of the flow is the server's.
        wait_for(lambda: lines(2) > 0, 10, what="data before the change")
        time.sleep(0.1)
        d.ctl("acl", "add", "lan", "allow", "ethertype=arp")
        d.ctl("acl", "add", "lan", "allow", "state=established")
        d.ctl("acl", "add", "lan", "allow", "proto=tcp", "dport=7000")
        d.ctl("acl", "default", "lan", "drop")
        wait_for(lambda: lines(1) > 0, 6, interval=0, what="data after ACLs were turned on")
    finally:
        s.close()


# ------------------------------------------------------------------ port security

SPOOF_MAC = "02:00:00:06:66:66"


def test_port_security_spoofed_mac_ip_and_arp_poisoning(netns, vnetd):
    """Port a is bound to its MAC and IP: frames with another source MAC or IP,
    and ARP that lies, are dropped and counted; honest traffic passes."""
    d, a, b, c = lan(netns, vnetd, c=True,
                     a_extra={"security": {"macs": [MAC_A], "ips": [IP_A]}})
    a.ping_until(IP_B, timeout=15)
    b.ping_until(IP_C, timeout=15)
    neigh = b.ip("neigh", "show", IP_C).stdout
    assert MAC_C in neigh, neigh

    sniff = vnet.Sniffer(b)
    try:
        spoof0 = drops(d, "a").get("spoof", 0)
        bogus = [
            # another source MAC
            Ether(src=SPOOF_MAC, dst=MAC_B) / IP(src=IP_A, dst=IP_B) / ICMP(id=0x6601),
            # the right MAC, somebody else's IP
            Ether(src=MAC_A, dst=MAC_B) / IP(src=IP_C, dst=IP_B) / ICMP(id=0x6602),
            # ARP poisoning: "10.6.0.3 is at a's MAC" told to b
            Ether(src=MAC_A, dst=MAC_B) / ARP(op=2, hwsrc=MAC_A, psrc=IP_C, hwdst=MAC_B,
                                               pdst=IP_B),
            # gratuitous ARP claiming c's address
            Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=MAC_A, psrc=IP_C,
                                                             hwdst="ff:ff:ff:ff:ff:ff",
                                                             pdst=IP_C),
            # ARP whose sender hardware address is not the frame's source
            Ether(src=MAC_A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=SPOOF_MAC, psrc=IP_A,
                                                             pdst=IP_B),
        ]
        scapy_send(a, [bytes(f) for f in bogus])
        # An honest frame sent the same way is the control: it must arrive.
        scapy_send(a, [bytes(Ether(src=MAC_A, dst=MAC_B) / IP(src=IP_A, dst=IP_B) /
                             ICMP(id=0x6609))])
        sniff.wait(lambda l: "id 26121" in l, what="the honest scapy frame at b")
        wait_for(lambda: drops(d, "a").get("spoof", 0) - spoof0 == len(bogus), 10,
                 what=f"{len(bogus)} spoof drops on port a")
        time.sleep(0.3)
        assert drops(d, "a").get("spoof", 0) - spoof0 == len(bogus)
        seen = [l for l in sniff.lines
                if SPOOF_MAC in l or f"{IP_C} is-at {MAC_A}" in l or f"{IP_C} > {IP_B}" in l
                or "id 26113" in l or "id 26114" in l]
        assert not seen, f"spoofed frames reached b: {seen}"
    finally:
        sniff.stop()

    # b still knows c's real MAC and reaches c; a still reaches b.
    neigh = b.ip("neigh", "show", IP_C).stdout
    assert MAC_C in neigh and MAC_A not in neigh, neigh
    b.ping(IP_C, count=2, interval=0.2)
    sent, got = ping_stats(a.ping(IP_B, count=3, interval=0.2).stdout)
    assert got == sent
    # The spoofed MAC was never learned.
    assert SPOOF_MAC not in d.fdb_macs("lan")
    # An address a does not own, configured in a's kernel, does not get through.
    a.addr("10.6.0.50/24")
    r = a.ping(IP_B, count=2, interval=0.2, extra=("-I", "10.6.0.50"), check=False)
    assert ping_stats(r.stdout)[1] == 0
    assert drops(d, "a").get("spoof", 0) > spoof0 + len(bogus)


DHCP_SCRIPT = """#!/bin/sh
case "$1" in
  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/${mask:-24}" dev "$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
"""


def dhcp_script(tmp_path):
    p = tmp_path / "udhcpc.sh"
    p.write_text(DHCP_SCRIPT)
    p.chmod(0o755)
    return str(p)


def udhcpc(ns, script, tries=3, timeout=60):
    """busybox udhcpc once (bounded): CompletedProcess; the address is set by script."""
    return ns.exec("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", str(tries),
                   "-T", "1", "-A", "1", "-s", script, timeout=timeout, check=False)


def addrs(ns):
    out = ns.ip("-4", "-o", "addr", "show", "dev", "eth0").stdout
    return re.findall(r"inet (\d+\.\d+\.\d+\.\d+)/", out)


def test_ip_binding_follows_dhcp_lease(netns, vnetd, tmp_path):
    """With ip_binding and no listed addresses, a port may use the address the
    network's DHCP server leased to its MAC, and nothing else."""
    a, b = netns(), netns()
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated", "subnet": "10.7.0.0/24"}],
               "ports": [tap("a", a, mac=MAC_A, security={"ip_binding": True}),
                         tap("b", b, mac=MAC_B)]})
    a.wait_link()
    b.wait_link()
    b.addr("10.7.0.200/24")
    script = dhcp_script(tmp_path)
    r = udhcpc(a, script)
    assert r.returncode == 0, r.stdout + r.stderr
    leased = addrs(a)
    assert len(leased) == 1 and leased[0].startswith("10.7.0."), leased
    leases = d.ctl("leases")
    assert any(l.get("ip") == leased[0] for l in (leases if isinstance(leases, list)
                                                   else leases.get("leases", []))), leases
    a.ping_until("10.7.0.200", timeout=15)
    spoof0 = drops(d, "a").get("spoof", 0)
    # A second, self-assigned address is not bound to the port.
    a.addr("10.7.0.99/24")
    r = a.ping("10.7.0.200", count=2, interval=0.2, extra=("-I", "10.7.0.99"), check=False)
    assert ping_stats(r.stdout)[1] == 0
    assert drops(d, "a").get("spoof", 0) >= spoof0 + 2
    a.ping("10.7.0.200", count=2, interval=0.2, extra=("-I", leased[0]))


def test_mac_limit_per_port(netns, vnetd):
    """A port limited to 2 source MACs: the guest's own and one more are
    accepted; frames from further MACs are dropped and counted, never learned
    and never delivered; the guest keeps working."""
    d, a, b = lan(netns, vnetd, a_extra={"security": {"max_macs": 2}})
    a.ping_until(IP_B, timeout=15)
    sniff = vnet.Sniffer(b, filt=("ether", "proto", "0x88b5"))
    try:
        lim0 = drops(d, "a").get("mac_limit", 0)
        extra = [f"02:00:00:06:77:{i:02x}" for i in range(1, 41)]
        frames = [vnet.eth_frame("ff:ff:ff:ff:ff:ff", m, 0x88b5, b"mac-limit") for m in extra]
        frames.append(frames[0])  # the accepted extra MAC again: still accepted
        scapy_send(a, frames)
        wait_for(lambda: drops(d, "a").get("mac_limit", 0) - lim0 == len(extra) - 1, 10,
                 what=f"{len(extra) - 1} mac_limit drops")
        sniff.wait(lambda l: len([x for x in sniff.lines if extra[0] in x]) >= 2,
                   what="both frames of the accepted extra MAC at b")
        time.sleep(0.3)
        assert drops(d, "a").get("mac_limit", 0) - lim0 == len(extra) - 1
        leaked = [l for l in sniff.lines if any(m in l for m in extra[1:])]
        assert not leaked, leaked
    finally:
        sniff.stop()
    macs = d.fdb_macs("lan")
    assert macs.get(MAC_A) == "a" and macs.get(extra[0]) == "a"
    assert not set(extra[1:]) & set(macs), macs
    sent, got = ping_stats(a.ping(IP_B, count=3, interval=0.2).stdout)
    assert got == sent


# ------------------------------------------------------------------ DHCP / RA guard

UDHCPD_CONF = """start 10.8.0.100
end 10.8.0.110
interface eth0
lease_file {dir}/udhcpd.leases
pidfile {dir}/udhcpd.pid
option subnet 255.255.255.0
option router 10.8.0.1
"""


@pytest.mark.parametrize("trusted", [False, True], ids=["guarded", "trusted-control"])
def test_rogue_dhcp_server_reaches_nobody(netns, vnetd, tmp_path, trusted):
    """A DHCP server in one guest (busybox udhcpd) gets no lease to a second
    guest: its replies are dropped and counted as guard drops. The control run
    marks the rogue port trusted and shows the same set-up does hand out a lease."""
    r, v = netns(), netns()
    rogue = tap("rogue", r, mac=MAC_A, **({"trusted": True} if trusted else {}))
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [rogue, tap("victim", v, mac=MAC_B)]})
    r.wait_link()
    v.wait_link()
    r.addr("10.8.0.1/24")
    (tmp_path / "udhcpd.leases").write_bytes(b"")
    conf = tmp_path / "udhcpd.conf"
    conf.write_text(UDHCPD_CONF.format(dir=tmp_path))
    r.start("busybox", "udhcpd", "-f", str(conf))
    wait_for(lambda: r.listening(67, "u"), 10, what="udhcpd listening")
    res = udhcpc(v, dhcp_script(tmp_path), tries=3)
    got = addrs(v)
    guard = drops(d, "rogue").get("guard", 0)
    if trusted:
        assert res.returncode == 0 and got and got[0].startswith("10.8.0.1"), (res, got)
        assert guard == 0
    else:
        assert res.returncode != 0, res.stdout + res.stderr
        assert got == [], f"the victim got an address from the rogue server: {got}"
        assert guard >= 1, drops(d, "rogue")
        assert drops(d, "victim").get("guard", 0) == 0
    d.assert_alive()


def test_router_advertisement_guard(netns, vnetd):
    """A router advertisement from a guest port is dropped (guard); other
    neighbour discovery from the same port passes."""
    r, v = netns(), netns()
    d = vnetd({"networks": [{"name": "lan", "mode": "isolated"}],
               "ports": [tap("rogue", r, mac=MAC_A), tap("victim", v, mac=MAC_B)]})
    r.wait_link()
    v.wait_link()
    sniff = vnet.Sniffer(v, filt=("ip6",))
    try:
        guard0 = drops(d, "rogue").get("guard", 0)
        ll = "fe80::ff:fe06:a"
        ra = (Ether(src=MAC_A, dst="33:33:00:00:00:01") / IPv6(src=ll, dst="ff02::1", hlim=255) /
              ICMPv6ND_RA(routerlifetime=1800))
        ns_ = (Ether(src=MAC_A, dst="33:33:ff:00:00:99") /
               IPv6(src=ll, dst="ff02::1:ff00:99", hlim=255) / ICMPv6ND_NS(tgt="fe80::99"))
        scapy_send(r, [bytes(ra), bytes(ns_)])
        sniff.wait(lambda l: "neighbor solicitation" in l, what="the NS at the victim")
        wait_for(lambda: drops(d, "rogue").get("guard", 0) == guard0 + 1, 10,
                 what="one guard drop")
        time.sleep(0.3)
        assert not [l for l in sniff.lines if "router advertisement" in l], sniff.lines
    finally:
        sniff.stop()


# ------------------------------------------------------------------ rate limits

def within(measured, setting, tol=0.10):
    return abs(measured - setting) <= tol * setting


def test_rate_limit_ingress_egress_bits(netns, vnetd):
    """iperf3 through a port limited to 16 Mbit/s inbound (guest -> switch) and
    24 Mbit/s outbound (switch -> guest) measures each within 10%."""
    rin, rout = 16e6, 24e6
    d, a, b = lan(netns, vnetd, a_extra={"rate": {"in": {"bps": "16M"}, "out": {"bps": "24M"}}})
    a.ping_until(IP_B, timeout=15)
    up = iperf3(a, b, IP_B, secs=5)["end"]["sum_received"]["bits_per_second"]
    down = iperf3(b, a, IP_A, secs=5)["end"]["sum_received"]["bits_per_second"]
    print(f"measured: up {up / 1e6:.2f} Mbit/s, down {down / 1e6:.2f} Mbit/s")
    assert within(up, rin), f"ingress limit {rin / 1e6} Mbit/s, iperf3 measured {up / 1e6:.2f}"
    assert within(down, rout), f"egress limit {rout / 1e6} Mbit/s, measured {down / 1e6:.2f}"
    # b is not limited: the same path without a limit is much faster.
    d.assert_alive()


def test_rate_limit_packets_and_policer_drops(netns, vnetd):
    """A packets/s limit holds a UDP stream to its rate; what an egress limit
    cannot queue is dropped and counted (tx_drops.policer)."""
    d, a, b, c = lan(netns, vnetd, c=True, a_extra={"rate": {"in": {"pps": 1000}}},
                     b_extra={"rate": {"out": {"bps": "8M"}}})
    a.ping_until(IP_C, timeout=15)
    c.ping_until(IP_B, timeout=15)
    # a -> c: 3000 packets/s offered, 1000/s allowed in.
    s = iperf3(a, c, IP_C, secs=5, extra=("-u", "-b", "12M", "-l", "500"))["end"]["sum"]
    pps = (s["packets"] - s["lost_packets"]) / s["seconds"]
    print(f"measured: {pps:.0f} packets/s")
    assert within(pps, 1000), f"pps limit 1000, received {pps:.0f}/s ({s})"
    # c -> b: 40 Mbit/s of UDP offered to a port that takes 8 Mbit/s.
    pol0 = drops(d, "b", "tx").get("policer", 0)
    s = iperf3(c, b, IP_B, secs=5, extra=("-u", "-b", "40M", "-l", "1400"))["end"]["sum"]
    bps = (s["packets"] - s["lost_packets"]) * 1442 * 8 / s["seconds"]  # frames on the wire
    print(f"measured: {bps / 1e6:.2f} Mbit/s, policer drops "
          f"{drops(d, 'b', 'tx').get('policer', 0) - pol0}")
    assert within(bps, 8e6), f"egress limit 8 Mbit/s, received {bps / 1e6:.2f} Mbit/s ({s})"
    assert drops(d, "b", "tx").get("policer", 0) > pol0
    d.assert_alive()
