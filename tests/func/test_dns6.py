"""Functional tests of the DNS forwarder over IPv6 (issue 11 item 8).

A guest is a network namespace with a tap port on a `mode: nat` network with
IPv6 on (the default) and its kernel's own SLAAC: it gets an address in the
network's /64 from the gateway's router advertisements. It also has the
static IPv4 address of its DHCP reservation (name `web`). Queries go with
dig to the gateway's IPv6 DNS address (`dns_address6`) over UDP and TCP, and
to the IPv4 DNS address for AAAA/ip6.arpa names. The upstream resolver is a
dnsmasq the test starts on the host's [::1] (nothing else is contacted).

Checked: AAAA of host.DOMAIN is gateway6, AAAA of the guest's name is its
SLAAC address (learnt by the gateway from its traffic), A of the same name
its IPv4 reservation; a name with an IPv4 reservation only answers AAAA with
NODATA; reverse names of the /64 give the names back and unknown ones
NXDOMAIN without reaching the upstream; other names are forwarded to the
IPv6 upstream and the answers come back over IPv6 (UDP and TCP); the
queries_udp6 counter.
"""
import json
import os
import shutil
import socket
import subprocess

import pytest

from test_dns import build_query, dig, parse_msg
from vnet import wait_for

NET = "lan"
GW = "10.0.2.2"
DNS4 = "10.0.2.3"
WEB_MAC = "02:00:00:0d:06:01"
WEB_IP = "10.0.2.60"
PRINTER_MAC = "02:00:00:0d:06:02"
PRINTER_IP = "10.0.2.61"

pytestmark = pytest.mark.skipif(not (shutil.which("dig") and shutil.which("dnsmasq")),
                                reason="dig (dnsutils) or dnsmasq is missing")


def free_port6():
    """A port free on [::1] for UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as u:
            u.bind(("::1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("::1", port))
                except OSError:
                    continue
                return port
    raise AssertionError("no free port on ::1")


def host_udp_ask6(port, msg, timeout=1.0):
    with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(msg, ("::1", port))
        return s.recvfrom(65535)[0]


def start_dnsmasq6(procs, tmp_path):
    port = free_port6()
    log = open(tmp_path / "dnsmasq6.log", "w")
    procs.start(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--log-queries",
                 "--listen-address=::1", f"--port={port}", "--bind-interfaces",
                 "--user=root", "--pid-file=", "--conf-file=/dev/null", "--log-facility=-",
                 "--host-record=www.example.test,192.0.2.10,2001:db8::10",
                 "--ptr-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                 ".ip6.arpa,far.example.test"],
                stdout=log, stderr=subprocess.STDOUT)
    log.close()
    wait_for(lambda: parse_msg(host_udp_ask6(port, build_query("www.example.test", 28)))["an"] == 1,
             10, interval=0.1, what="dnsmasq answering on [::1]")
    return port


def slaac_addr(ns, prefix, timeout=20):
    net = prefix.split("/")[0].rstrip(":")

    def got():
        out = json.loads(ns.ip("-j", "-6", "addr", "show", "dev", "eth0").stdout)
        for link in out:
            for a in link.get("addr_info", []):
                if (a.get("scope") == "global" and a["local"].startswith(net)
                        and "tentative" not in a):
                    return a["local"]
        return None
    return wait_for(got, timeout, interval=0.1, what="a SLAAC address")


@pytest.fixture
def dns6_guest(netns, vnetd, procs, tmp_path):
    port = start_dnsmasq6(procs, tmp_path)
    ns = netns()
    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.default.accept_ra=1",
            "net.ipv6.conf.default.autoconf=1")
    net = {"name": NET, "mode": "nat",
           "dhcp": {"hosts": [{"mac": WEB_MAC, "ip": WEB_IP, "name": "web"},
                              {"mac": PRINTER_MAC, "ip": PRINTER_IP, "name": "printer"}]},
           "dns": {"upstream": [f"[::1]:{port}"], "cache": 0}}
    d = vnetd({"networks": [net],
               "ports": [{"name": "g0", "type": "tap", "netns": ns.path, "ifname": "eth0",
                          "network": NET, "mac": WEB_MAC}]})
    ns.wait_link()
    ns.addr(f"{WEB_IP}/24")
    ns.ip("link", "set", "eth0", "up")
    ns.ip("route", "add", "default", "via", GW)
    gw = d.network(NET)["gateway"]
    addr = slaac_addr(ns, gw["subnet6"])
    ns.ping_until(gw["dns_address6"], timeout=15)
    return d, ns, gw, addr, tmp_path / "dnsmasq6.log", port


def dig6(ns, server, *args):
    return dig(ns, f"@{server}", *args)


def dns_stats(d):
    nets = d.ctl("stats")["networks"]
    return [n for n in nets if n["name"] == NET][0]["gateway"]["dns"]


def test_local_names_over_ipv6_udp_and_tcp(dns6_guest):
    d, ns, gw, addr, log, _ = dns6_guest
    dns6, gw6 = gw["dns_address6"], gw["address6"]
    before = dns_stats(d)
    for proto in ((), ("+tcp",)):
        # host.DOMAIN: both families of the host as guests reach it.
        r = dig6(ns, dns6, *proto, "host.vnet.internal", "AAAA")
        assert r["status"] == "NOERROR" and r["answers"] == [("AAAA", gw6)], r["out"]
        assert "aa" in r["flags"], r["out"]
        assert f"SERVER: {dns6}#53" in r["out"], r["out"]
        r = dig6(ns, dns6, *proto, "host.vnet.internal", "A")
        assert r["answers"] == [("A", GW)], r["out"]
        # The guest's own name: its SLAAC address and its IPv4 reservation.
        r = dig6(ns, dns6, *proto, "web.vnet.internal", "AAAA")
        assert r["status"] == "NOERROR" and ("AAAA", addr) in r["answers"], r["out"]
        assert all(a[0] == "AAAA" and not a[1].startswith("fe80") for a in r["answers"]), r["out"]
        r = dig6(ns, dns6, *proto, "web.vnet.internal", "A")
        assert r["answers"] == [("A", WEB_IP)], r["out"]
        # printer has an IPv4 reservation and no IPv6 address: NODATA, not NXDOMAIN.
        r = dig6(ns, dns6, *proto, "printer.vnet.internal", "AAAA")
        assert r["status"] == "NOERROR" and not r["answers"], r["out"]
        r = dig6(ns, dns6, *proto, "nobody.vnet.internal", "AAAA")
        assert r["status"] == "NXDOMAIN" and "aa" in r["flags"], r["out"]
        # Reverse names of the /64.
        r = dig6(ns, dns6, *proto, "-x", addr)
        assert r["answers"] == [("PTR", "web.vnet.internal.")], r["out"]
        r = dig6(ns, dns6, *proto, "-x", gw6)
        assert r["answers"] == [("PTR", "host.vnet.internal.")], r["out"]
        unknown = gw["subnet6"].split("/")[0] + "77"
        r = dig6(ns, dns6, *proto, "-x", unknown)
        assert r["status"] == "NXDOMAIN" and "aa" in r["flags"], r["out"]

    # The same names asked over IPv4.
    r = dig6(ns, DNS4, "web.vnet.internal", "AAAA")
    assert ("AAAA", addr) in r["answers"], r["out"]
    r = dig6(ns, DNS4, "-x", addr)
    assert r["answers"] == [("PTR", "web.vnet.internal.")], r["out"]

    # None of it reached the upstream (the prefix is private).
    text = log.read_text()
    assert "vnet.internal" not in text and "ip6.arpa" not in text, text
    s = dns_stats(d)
    assert s["queries_udp6"] - before["queries_udp6"] >= 9, s
    assert s["queries_udp4"] - before["queries_udp4"] >= 2, s
    assert s["queries_tcp"] - before["queries_tcp"] >= 9, s
    assert s["forwarded"] == before["forwarded"] and s["malformed"] == 0, s
    d.assert_alive()


def test_forward_over_ipv6_to_ipv6_upstream(dns6_guest):
    d, ns, gw, addr, log, port = dns6_guest
    dns6 = gw["dns_address6"]
    for proto in ((), ("+tcp",)):
        r = dig6(ns, dns6, *proto, "www.example.test", "AAAA")
        assert r["status"] == "NOERROR" and r["answers"] == [("AAAA", "2001:db8::10")], r["out"]
        r = dig6(ns, dns6, *proto, "www.example.test", "A")
        assert r["answers"] == [("A", "192.0.2.10")], r["out"]
        # A reverse name outside the prefix is forwarded as any other name.
        r = dig6(ns, dns6, *proto, "-x", "2001:db8::1")
        assert r["answers"] == [("PTR", "far.example.test.")], r["out"]
    r = dig6(ns, dns6, "nosuch.example.test", "AAAA")
    assert r["status"] in ("NXDOMAIN", "REFUSED"), r["out"]
    text = log.read_text()
    assert "query[AAAA] www.example.test from ::1" in text, text
    s = dns_stats(d)
    assert s["forwarded"] >= 7 and s["answers"] >= 7 and s["servfail"] == 0, s
    assert s["upstreams"] == [f"[::1]:{port}"], s
    assert s["queries_udp6"] >= 4, s
    d.assert_alive()


def test_guest_resolver_uses_dns6(dns6_guest):
    """The guest's libc resolver, with only the IPv6 DNS address in its
    resolv.conf (what the router advertisements' RDNSS offer)."""
    d, ns, gw, addr, _, _ = dns6_guest
    path = f"/etc/netns/{ns.name}"
    os.makedirs(path, exist_ok=True)
    try:
        with open(f"{path}/resolv.conf", "w") as f:
            f.write(f"nameserver {gw['dns_address6']}\noptions timeout:3 attempts:2\n")
        cp = ns.exec("getent", "ahostsv6", "web.vnet.internal", timeout=30, check=False)
        assert addr in cp.stdout, cp.stdout + cp.stderr
        cp = ns.exec("getent", "hosts", addr, timeout=30, check=False)
        assert "web.vnet.internal" in cp.stdout, cp.stdout + cp.stderr
    finally:
        try:
            os.unlink(f"{path}/resolv.conf")
            os.rmdir(path)
        except OSError:
            pass
