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
    assert delta[3] == 1, delta
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
