"""Functional tests of the DHCPv6 server with a real client (ISC dhclient -6)
in namespaces the tests create: stateful Solicit/Advertise/Request/Reply
with the DNS options, the lease in `vnetctl leases` (family 6, DUID, IAID)
and in the lease file, the same address after a restart of vnetd and after
a release, and stateless Information-request (and NoAddrsAvail to a
Solicit) in the default mode.

Every address is inside a namespace the test creates; nothing leaves the
machine (the DNS upstream is a dead loopback port: nothing is resolved).
"""
import ipaddress
import json
import os
import shutil

import pytest

import vnet
from vnet import run, wait_for

PREFIX = "fd00:6:6:6::"
MAC = "52:54:00:16:00:0a"

pytestmark = pytest.mark.skipif(not shutil.which("dhclient"), reason="needs ISC dhclient")


def net(mode):
    return {"name": "lan", "mode": "nat", "subnet6": PREFIX + "/64",
            "dhcp6": {"mode": mode}, "dns": {"upstream": ["127.0.0.1:9"]}}


def tap(ns):
    return {"name": "a", "type": "tap", "netns": ns.path, "ifname": "eth0", "network": "lan",
            "mac": MAC}


def ll_ready(ns):
    """eth0's link-local address is usable (DAD over): dhclient binds to it."""
    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0")

    def ready():
        out = json.loads(ns.ip("-j", "-6", "addr", "show", "dev", "eth0").stdout)
        return any(a.get("scope") == "link" and "tentative" not in a
                   for link in out for a in link.get("addr_info", []))
    wait_for(ready, 15, interval=0.1, what="a usable link-local address")


class Dhclient6:
    """dhclient -6 in ns with DUID-LL (stable across lease files); its
    script records what it was told."""

    def __init__(self, ns, tmp_path, tag):
        self.ns = ns
        self.lf = tmp_path / f"{tag}.leases"
        self.pf = tmp_path / f"{tag}.pid"
        self.cf = tmp_path / f"{tag}.conf"
        self.out = tmp_path / f"{tag}.env"
        self.cf.write_text("timeout 20;\nrequest dhcp6.name-servers, dhcp6.domain-search;\n")
        self.sf = tmp_path / f"{tag}.sh"
        self.sf.write_text(f"#!/bin/sh\nenv | grep -E '^(reason|new_)' >> {self.out}\n"
                           f"echo >> {self.out}\nexit 0\n")
        self.sf.chmod(0o755)

    def run(self, *flags):
        r = self.ns.exec("dhclient", "-6", "-1", "-v", "-D", "LL", *flags, "-cf", str(self.cf),
                         "-lf", str(self.lf), "-pf", str(self.pf), "-sf", str(self.sf), "eth0",
                         timeout=60, check=False)
        self.stop()
        return r.stdout + r.stderr

    def stop(self):  # it daemonizes after binding
        try:
            os.kill(int(self.pf.read_text().strip()), 15)
        except (OSError, ValueError):
            pass

    def events(self, reason):
        blocks = [dict(l.split("=", 1) for l in b.splitlines() if "=" in l)
                  for b in (self.out.read_text() if self.out.exists() else "").split("\n\n")]
        return [b for b in blocks if b.get("reason") == reason]


def leases6(d):
    return [l for l in d.ctl("leases") if l.get("family") == 6]


def test_stateful_lease_restart_and_release(netns, vnetd, tmp_path, request):
    ns = netns()
    conf = {"networks": [net("stateful")], "ports": [tap(ns)]}
    d = vnetd(conf)
    ns.wait_link()
    ll_ready(ns)
    c = Dhclient6(ns, tmp_path, "c")
    request.addfinalizer(c.stop)
    log = c.run()
    assert "Advertise message" in log and "Reply message" in log, log
    bound = c.events("BOUND6")
    assert bound, log
    e = bound[-1]
    addr = ipaddress.IPv6Address(e["new_ip6_address"])
    assert ipaddress.IPv6Address(PREFIX + "1000") <= addr <= ipaddress.IPv6Address(PREFIX + "1fff")
    assert e["new_dhcp6_name_servers"].split() == [PREFIX + "3"]
    assert e["new_dhcp6_domain_search"].strip("'\"") == "vnet.internal."
    assert e.get("new_max_life") == "3600" and e.get("new_preferred_life") == "3600", e

    # vnetctl: one family-6 lease with the client's DUID-LL and IAID.
    ls = leases6(d)
    assert len(ls) == 1, ls
    l = ls[0]
    assert l["ip"] == str(addr) and l["state"] == "bound" and l["mac"] == MAC
    assert l["duid"] == "00030001" + MAC.replace(":", "") and isinstance(l["iaid"], int)
    assert 3000 < l["expires_in"] <= 3600
    out = run([str(vnet.VNETCTL), "--control", d.control, "leases"]).stdout
    row = [r.split() for r in out.splitlines() if str(addr) in r]
    assert row and row[0][1] == "6" and l["duid"] in row[0], out
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["mode"] == "stateful" and st["solicit"] >= 1 and st["request"] >= 1
    assert st["advertise"] >= 1 and st["reply"] >= 1 and st["leases_active"] == 1, st
    assert st["malformed"] == 0 and st["no_addrs"] == 0, st

    # Restart: the lease file brings the lease back; the client (a fresh
    # lease file, the same DUID) soliciting from scratch gets its address.
    d.stop()
    saved = json.loads((tmp_path / "vnetd-state" / "leases6-lan.json").read_text())
    assert [(s["ip"], s["duid"]) for s in saved["leases"]] == [(str(addr), l["duid"])]
    d2 = vnetd(conf)
    assert "DHCPv6 leases loaded" in d2.log()
    assert [x["ip"] for x in leases6(d2)] == [str(addr)]
    ns.wait_link()
    ll_ready(ns)
    c.lf.unlink()
    c.run()
    assert c.events("BOUND6")[-1]["new_ip6_address"] == str(addr)

    # Release: the lease is given back, and the address is the client's again.
    log = c.run("-r")
    wait_for(lambda: leases6(d2)[0]["state"] == "released", 10, what="release seen")
    assert d2.network("lan")["gateway"]["dhcp6"]["release"] == 1
    c.lf.unlink()
    c.run()
    assert c.events("BOUND6")[-1]["new_ip6_address"] == str(addr)


def test_stateless_information_request(netns, vnetd, tmp_path, request):
    ns = netns()
    d = vnetd({"networks": [net("stateless")], "ports": [tap(ns)]})
    ns.wait_link()
    ll_ready(ns)
    c = Dhclient6(ns, tmp_path, "s")
    request.addfinalizer(c.stop)
    log = c.run("-S")
    assert "Reply message" in log, log
    info = c.events("INFORM6") + c.events("RENEW6")  # dhclient 4.4 says RENEW6 here
    assert info, log
    assert info[-1]["new_dhcp6_name_servers"].split() == [PREFIX + "3"]
    assert info[-1]["new_dhcp6_domain_search"].strip("'\"") == "vnet.internal."
    # Asking for an address: an Advertise with NoAddrsAvail, no lease.
    c2 = Dhclient6(ns, tmp_path, "s2")
    c2.cf.write_text("timeout 4;\n")
    log = c2.run()
    assert "no addrs" in log.lower(), log
    assert not c2.events("BOUND6")
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["mode"] == "stateless" and st["information_request"] >= 1 and st["reply"] >= 1
    assert st["no_addrs"] >= 1 and st["leases_active"] == 0 and st["malformed"] == 0, st
    assert leases6(d) == []
