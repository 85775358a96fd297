"""Functional tests of the DHCPv6 server with real clients in namespaces the
tests create: ISC dhclient -6 (stateful, and -S stateless) and dhcpcd
(Debian's dhcpcd-base). Busybox's udhcpc6 is not in Debian 12's busybox
builds (neither busybox nor busybox-static has the applet), so it is not
tested here.

Stateful: Solicit/Advertise/Request/Reply (dhclient) and Rapid Commit
(dhcpcd) with the DNS options, the lease in `vnetctl leases` (family 6,
DUID, IAID) and in the lease file, renewals with a short dhcp6.lease_time,
the same address after a restart of vnetd (a client starting afresh, and
clients that kept their lease and Confirm it, then renew it), a Rebind to
a server that lost the lease and has another DUID (the Renew to the old one
dropped), releases,
reservations by DUID (dhclient) and by MAC (dhcpcd with a DUID-LLT), two
clients at once. Stateless (the default): Information-request from dhclient
-S and from dhcpcd (on the router advertisement's O flag), each given the
DNS server and the search list; NoAddrsAvail to a Solicit. Prefixes and
temporary addresses, which vnetd never gives: dhclient -P and -T get
NoPrefixAvail/NoAddrsAvail and no lease, -N -P and -N -T their address
with the IA_PD/IA_TA refused beside it.

The clients run their own scripts, which record what they were told in
tmp_path; every namespace has its /etc/netns/NAME/resolv.conf besides, and
the host's /etc/resolv.conf is checked unchanged after each test. dhcpcd
runs in a mount namespace of its own where its state directories
(/var/lib/dhcpcd, /run/dhcpcd) are directories of the test. Every address
is inside a namespace the test creates; nothing leaves the machine (the DNS
upstream is a dead loopback port: nothing is resolved).
"""
import hashlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess

import pytest

import vnet
from vnet import run, wait_for

PREFIX = "fd00:6:6:6::"
MAC = "52:54:00:16:00:0a"
MAC2 = "52:54:00:16:00:0b"
DNS6 = PREFIX + "3"
LEASE = 20  # dhcp6.lease_time of the renewal tests: T1 10 s, T2 16 s

pytestmark = pytest.mark.skipif(not shutil.which("dhclient"), reason="needs ISC dhclient")
need_dhcpcd = pytest.mark.skipif(not shutil.which("dhcpcd"), reason="needs dhcpcd (dhcpcd-base)")


def net(mode, **dhcp6):
    return {"name": "lan", "mode": "nat", "subnet6": PREFIX + "/64",
            "dhcp6": {"mode": mode, **dhcp6}, "dns": {"upstream": ["127.0.0.1:9"]}}


def tap(ns, name="a", mac=MAC):
    return {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0", "network": "lan",
            "mac": mac}


def in_pool(addr):
    a = ipaddress.IPv6Address(addr)
    return ipaddress.IPv6Address(PREFIX + "1000") <= a <= ipaddress.IPv6Address(PREFIX + "1fff")


def host_resolv():
    try:
        with open("/etc/resolv.conf", "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except FileNotFoundError:
        return None


@pytest.fixture(autouse=True)
def resolv_untouched():
    """No client may write the host's /etc/resolv.conf."""
    before = host_resolv()
    yield
    assert host_resolv() == before, "the host's /etc/resolv.conf changed"


@pytest.fixture
def guest(netns):
    """A namespace with its own /etc/netns/NAME/resolv.conf (a client that
    writes resolv.conf writes that one, never the host's)."""
    made = []

    def factory():
        ns = netns()
        path = f"/etc/netns/{ns.name}"
        os.makedirs(path, exist_ok=True)
        with open(f"{path}/resolv.conf", "w") as f:
            f.write("# vnet test namespace\n")
        made.append(path)
        return ns

    yield factory
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def script_events(path, reason=None):
    """The events a client's script recorded in path: blocks of VAR=value
    lines, each ended by an empty line (one still being written is left
    out); those of reason only if given."""
    text = path.read_text() if path.exists() else ""
    blocks = [dict(l.split("=", 1) for l in b.splitlines() if "=" in l)
              for b in text.split("\n\n")[:-1]]
    return [b for b in blocks if b and (reason is None or b.get("reason") == reason)]


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

    def run(self, *flags, keep=False):
        """Run until bound (or given up); keep: leave it running to renew."""
        r = self.ns.exec("dhclient", "-6", "-1", "-v", "-D", "LL", *flags, "-cf", str(self.cf),
                         "-lf", str(self.lf), "-pf", str(self.pf), "-sf", str(self.sf), "eth0",
                         timeout=60, check=False)
        if not keep:
            self.stop()
        return r.stdout + r.stderr

    def stop(self):  # it daemonizes after binding
        try:
            os.kill(int(self.pf.read_text().strip()), 15)
        except (OSError, ValueError):
            pass

    def events(self, reason=None):
        return script_events(self.out, reason)


def leases6(d):
    return [l for l in d.ctl("leases") if l.get("family") == 6]


class Dhcpcd:
    """dhcpcd -B (in the foreground, a daemon that renews) on eth0 of ns, in
    a mount namespace of its own where /var/lib/dhcpcd (DUID, lease file) and
    /run/dhcpcd (pid file, control sockets) are directories of the test, so
    the host's are never read or written. Its script records every event.
    conf: lines of its dhcpcd.conf."""

    def __init__(self, ns, tmp_path, tag, conf):
        self.ns = ns
        self.dir = tmp_path / tag
        self.db = self.dir / "db"
        self.rundir = self.dir / "run"
        for p in (self.db, self.rundir):
            p.mkdir(parents=True, exist_ok=True)
        self.out = self.dir / "env"
        self.log = self.dir / "log"
        self.sf = self.dir / "hook.sh"
        self.sf.write_text(f"#!/bin/sh\n{{ echo reason=$reason; env | grep -E '^new_'; echo; }}"
                           f" >> {self.out}\nexit 0\n")
        self.sf.chmod(0o755)
        self.cf = self.dir / "dhcpcd.conf"
        self.cf.write_text("\n".join(["ipv6only", f"script {self.sf}", *conf]) + "\n")
        self.proc = None

    def start(self):
        setup = (f"mkdir -p /var/lib/dhcpcd /run/dhcpcd && mount --bind {self.db} /var/lib/dhcpcd"
                 f" && mount --bind {self.rundir} /run/dhcpcd && exec dhcpcd -B -d -f {self.cf} eth0")
        with open(self.log, "a") as logf:
            # ip netns exec, unshare and sh exec: the PID is dhcpcd's own
            self.proc = self.ns.start("unshare", "-m", "--propagation", "private", "sh", "-c",
                                      setup, stdout=logf, stderr=subprocess.STDOUT)
        return self

    def signal(self, sig, timeout=15):
        """SIGTERM: exit keeping the lease; SIGALRM: release it, then exit.
        dhcpcd 9.4 loses a signal that comes while it runs its script: it is
        sent again until dhcpcd logs it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        seen = f"received {sig.name}"
        n0 = self.text().count(seen)
        for _ in range(timeout):
            os.kill(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=1)
                return
            except subprocess.TimeoutExpired:
                if self.text().count(seen) > n0:
                    break
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"dhcpcd did not exit on {sig.name}")

    def kill(self):
        """SIGKILL dhcpcd and its privilege-separation helpers (they would
        outlive it)."""
        kids, todo = [], [self.proc.pid]
        while todo:
            more = [int(x) for x in
                    run(["pgrep", "-P", str(todo.pop())], check=False).stdout.split()]
            kids += more
            todo += more
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=5)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        self.signal(signal.SIGTERM)

    def text(self):
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self, reason=None):
        return script_events(self.out, reason)

    def wait(self, reason, after=0, timeout=30):
        """The first event reason past the first `after` of them."""
        return wait_for(lambda: self.events(reason)[after:], timeout,
                        what=f"dhcpcd {reason} #{after + 1}\n{self.text()[-3000:]}")[0]


def dhcpcd_conf(*extra):
    """Stateful dhcpcd: one IA_NA (IAID 1), no RA processing of its own (the
    kernel does SLAAC), DNS options asked for; extra lines added."""
    return ["noipv6rs", "ia_na 1", "option dhcp6_name_servers, dhcp6_domain_search", *extra]


def unquote(v):
    return v.strip("'\"")


def test_stateful_lease_restart_and_release(guest, vnetd, tmp_path, request):
    ns = guest()
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


def test_stateless_information_request(guest, vnetd, tmp_path, request):
    ns = guest()
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


@need_dhcpcd
def test_dhcpcd_rapid_commit_renew_restart_release(guest, vnetd, tmp_path, request):
    """dhcpcd asks for Rapid Commit: one Solicit/Reply binds the lease; it
    renews at T1; after a restart of vnetd it Confirms the lease it kept and
    renews it (the server reloaded it from its file); SIGALRM releases it."""
    ns = guest()
    conf = {"networks": [net("stateful", lease_time=LEASE)], "ports": [tap(ns)]}
    d = vnetd(conf)
    ns.wait_link()
    ll_ready(ns)
    c = Dhcpcd(ns, tmp_path, "cd", dhcpcd_conf("duid ll", "option dhcp6_rapid_commit")).start()
    request.addfinalizer(c.stop)
    e = c.wait("BOUND6")
    addr = e["new_dhcp6_ia_na1_ia_addr1"]
    assert in_pool(addr), e
    assert e["new_dhcp6_ia_na1_ia_addr1_vltime"] == str(LEASE), e
    assert e["new_dhcp6_ia_na1_ia_addr1_pltime"] == str(LEASE), e
    assert e["new_dhcp6_ia_na1_t1"] == str(LEASE // 2), e
    assert e["new_dhcp6_ia_na1_t2"] == str(LEASE * 4 // 5), e
    assert e["new_dhcp6_name_servers"].split() == [DNS6], e
    assert unquote(e["new_dhcp6_domain_search"]).rstrip(".") == "vnet.internal", e
    assert e["new_dhcp6_server_id"] == "00030001" + d.network("lan")["gateway"]["mac"].replace(":", ""), e
    st = d.network("lan")["gateway"]["dhcp6"]
    # Rapid Commit: a Solicit answered by a Reply, no Advertise, no Request
    assert st["solicit"] >= 1 and st["advertise"] == 0 and st["request"] == 0, st
    assert st["reply"] >= 1 and st["leases_active"] == 1, st
    ls = leases6(d)
    assert [(l["ip"], l["duid"], l["iaid"], l["mac"], l["state"]) for l in ls] == \
        [(addr, "00030001" + MAC.replace(":", ""), 1, MAC, "bound")], ls
    assert addr + "/128" in ns.ip("-6", "addr", "show", "dev", "eth0").stdout

    # Renew at T1: the same address, for another lease time.
    e = c.wait("RENEW6", timeout=LEASE * 2)
    assert e["new_dhcp6_ia_na1_ia_addr1"] == addr and e["new_dhcp6_ia_na1_ia_addr1_vltime"] == str(LEASE), e
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["renew"] >= 1 and st["malformed"] == 0 and st["dropped_server_id"] == 0, st

    # Restart: dhcpcd keeps its lease file and confirms it on the new link
    # (Confirm: Success), then renews it from the server's reloaded lease.
    c.stop()
    d.stop()
    d2 = vnetd(conf)
    assert "DHCPv6 leases loaded" in d2.log()
    assert [x["ip"] for x in leases6(d2)] == [addr]
    ns.wait_link()
    ll_ready(ns)
    renewed = len(c.events("RENEW6"))
    c.start()
    e = c.wait("REBOOT6")
    assert e["new_dhcp6_ia_na1_ia_addr1"] == addr, e
    e = c.wait("RENEW6", after=renewed, timeout=LEASE * 2)
    assert e["new_dhcp6_ia_na1_ia_addr1"] == addr, e
    st = d2.network("lan")["gateway"]["dhcp6"]
    assert st["confirm"] == 1 and st["renew"] >= 1 and st["solicit"] == 0, st
    l = leases6(d2)[0]
    assert l["state"] == "bound" and l["iaid"] == 1 and l["expires_in"] > LEASE // 4, l

    # Release (what dhcpcd -k sends it): the lease is given back.
    c.signal(signal.SIGALRM)
    assert c.events("RELEASE6"), c.text()
    wait_for(lambda: leases6(d2)[0]["state"] == "released", 10, what="release seen")
    assert d2.network("lan")["gateway"]["dhcp6"]["release"] == 1
    assert addr + "/128" not in ns.ip("-6", "addr", "show", "dev", "eth0").stdout


def test_dhclient_reserved_renew_confirm_after_restart(guest, vnetd, tmp_path, request):
    """dhclient -6 reserved by its DUID gets its address and name, renews it
    at T1, and after a restart of vnetd confirms the lease it kept (INIT-
    REBOOT) and renews it again."""
    ns = guest()
    duid = "00:03:00:01:" + MAC
    conf = {"networks": [net("stateful", lease_time=LEASE,
                             hosts=[{"duid": duid, "ip": PREFIX + "77", "name": "dc"}])],
            "ports": [tap(ns)]}
    d = vnetd(conf)
    ns.wait_link()
    ll_ready(ns)
    c = Dhclient6(ns, tmp_path, "c")
    request.addfinalizer(c.stop)
    log = c.run(keep=True)
    e = c.events("BOUND6")[-1]
    assert e["new_ip6_address"] == PREFIX + "77", log
    assert e["new_max_life"] == str(LEASE) and e["new_renew"] == str(LEASE // 2), e
    assert e["new_dhcp6_name_servers"].split() == [DNS6], e
    assert unquote(e["new_dhcp6_domain_search"]) == "vnet.internal.", e
    l = leases6(d)
    assert [(x["ip"], x["hostname"], x["duid"], x["mac"], x["state"], x["static"]) for x in l] == \
        [(PREFIX + "77", "dc", duid.replace(":", ""), MAC, "bound", True)], l
    iaid = l[0]["iaid"]
    assert iaid == int(e["new_iaid"].replace(":", ""), 16), (l, e)

    e = wait_for(lambda: c.events("RENEW6"), LEASE * 2, what="dhclient RENEW6")[0]
    assert e["new_ip6_address"] == PREFIX + "77" and e["new_max_life"] == str(LEASE), e
    assert d.network("lan")["gateway"]["dhcp6"]["renew"] >= 1

    c.stop()
    d.stop()
    d2 = vnetd(conf)
    ns.wait_link()
    ll_ready(ns)
    n0 = len(c.events())
    log = c.run(keep=True)
    assert "Confirming active lease (INIT-REBOOT)" in log and "Success" in log, log
    assert [x["reason"] for x in c.events()[n0:]] == ["PREINIT6", "BOUND6"], c.events()[n0:]
    e = wait_for(lambda: c.events("RENEW6")[1:], LEASE * 2, what="dhclient RENEW6 after restart")[0]
    assert e["new_ip6_address"] == PREFIX + "77", e
    st = d2.network("lan")["gateway"]["dhcp6"]
    assert st["confirm"] == 1 and st["renew"] >= 1 and st["solicit"] == 0, st
    assert [(x["ip"], x["iaid"], x["state"]) for x in leases6(d2)] == [(PREFIX + "77", iaid, "bound")]


@need_dhcpcd
def test_two_clients_and_reservation_by_mac(guest, vnetd, tmp_path, request):
    """dhcpcd with a DUID-LLT, reserved by MAC, and dhclient in another
    namespace lease at once: each its own address, both listed by vnetctl
    leases with their DUID and IAID."""
    a, b = guest(), guest()
    conf = {"networks": [net("stateful", hosts=[{"mac": MAC2, "ip": PREFIX + "88", "name": "cd"}])],
            "ports": [tap(a), tap(b, "b", MAC2)]}
    d = vnetd(conf)
    for ns in (a, b):
        ns.wait_link()
        ll_ready(ns)
    cd = Dhcpcd(b, tmp_path, "cd", dhcpcd_conf("duid lt")).start()
    request.addfinalizer(cd.stop)
    dc = Dhclient6(a, tmp_path, "dc")
    request.addfinalizer(dc.stop)
    dc.run()
    e = cd.wait("BOUND6")
    assert e["new_dhcp6_ia_na1_ia_addr1"] == PREFIX + "88", e
    assert e["new_dhcp6_name_servers"].split() == [DNS6], e
    assert e["new_dhcp6_client_id"].startswith("00010001"), e  # DUID-LLT
    mine = dc.events("BOUND6")[-1]["new_ip6_address"]
    assert in_pool(mine)
    ls = {l["ip"]: l for l in leases6(d)}
    assert set(ls) == {mine, PREFIX + "88"}, ls
    r = ls[PREFIX + "88"]
    assert r["duid"] == e["new_dhcp6_client_id"] and r["mac"] == MAC2 and r["iaid"] == 1, r
    assert r["hostname"] == "cd" and r["state"] == "bound", r
    o = ls[mine]
    assert o["duid"] == "00030001" + MAC.replace(":", "") and o["mac"] == MAC, o
    out = run([str(vnet.VNETCTL), "--control", d.control, "leases"]).stdout
    for l in ls.values():
        row = [r.split() for r in out.splitlines() if l["ip"] in r.split()]
        assert row and row[0][1] == "6" and l["duid"] in row[0] and str(l["iaid"]) in row[0], out
    # dhcpcd put its address on eth0 (dhclient's script here does not) and
    # the gateway answers it there.
    wait_for(lambda: "tentative" not in b.ip("-6", "addr", "show", "dev", "eth0").stdout, 10,
             what="DAD over")
    b.ping(PREFIX + "2", count=1, extra=("-I", PREFIX + "88"))


@need_dhcpcd
def test_stateless_dhcpcd_and_dhclient(guest, vnetd, tmp_path, request):
    """Stateless (the default mode): dhcpcd, prompted by the router
    advertisement's O flag, and dhclient -S each send an Information-request
    and are given the DNS server and the search list; neither gets a lease."""
    a, b = guest(), guest()
    d = vnetd({"networks": [net("stateless")], "ports": [tap(a), tap(b, "b", MAC2)]})
    for ns in (a, b):
        ns.wait_link()
        ll_ready(ns)
    cd = Dhcpcd(b, tmp_path, "cd", ["duid ll", "option dhcp6_name_servers, dhcp6_domain_search"])
    cd.start()
    request.addfinalizer(cd.stop)
    dc = Dhclient6(a, tmp_path, "dc")
    request.addfinalizer(dc.stop)
    log = dc.run("-S")
    info = dc.events("INFORM6") + dc.events("RENEW6")  # dhclient 4.4 says RENEW6 here
    assert info, log
    assert info[-1]["new_dhcp6_name_servers"].split() == [DNS6]
    assert unquote(info[-1]["new_dhcp6_domain_search"]) == "vnet.internal."
    e = cd.wait("INFORM6")
    assert e["new_dhcp6_name_servers"].split() == [DNS6], e
    assert unquote(e["new_dhcp6_domain_search"]).rstrip(".") == "vnet.internal", e
    assert not cd.events("BOUND6")
    assert "requesting DHCPv6 information" in cd.text()  # on the RA's O flag
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["information_request"] >= 2 and st["solicit"] == 0 and st["malformed"] == 0, st
    assert leases6(d) == []


@need_dhcpcd
def test_dhcpcd_rebinds_to_a_new_server(guest, vnetd, tmp_path, request):
    """The server a client leased from is gone: vnetd restarts with the
    network renamed (another gateway MAC, so another server DUID, and no
    lease file). dhcpcd Confirms its lease (Success: on link), Renews with the
    old server's identifier (dropped, RFC 8415 16.6), Rebinds at T2, and the
    new server binds the address it names (free in its pool) again."""
    ns = guest()
    d = vnetd({"networks": [net("stateful", lease_time=LEASE)], "ports": [tap(ns)]})
    ns.wait_link()
    ll_ready(ns)
    c = Dhcpcd(ns, tmp_path, "cd", dhcpcd_conf("duid ll")).start()
    request.addfinalizer(c.stop)
    e = c.wait("BOUND6")
    addr, old_server = e["new_dhcp6_ia_na1_ia_addr1"], e["new_dhcp6_server_id"]
    c.stop()
    d.stop()
    d2 = vnetd({"networks": [dict(net("stateful", lease_time=LEASE), name="lan2")],
                "ports": [dict(tap(ns), network="lan2")]}, name="vnetd2")
    assert leases6(d2) == []
    ns.wait_link()
    ll_ready(ns)
    c.start()
    assert c.wait("REBOOT6")["new_dhcp6_ia_na1_ia_addr1"] == addr
    e = c.wait("REBIND6", timeout=LEASE * 2)
    assert e["new_dhcp6_ia_na1_ia_addr1"] == addr and e["new_dhcp6_server_id"] != old_server, e
    assert "failed to renew DHCPv6, rebinding" in c.text()
    st = d2.network("lan2")["gateway"]["dhcp6"]
    assert st["renew"] >= 1 and st["dropped_server_id"] >= 1 and st["rebind"] >= 1, st
    assert st["solicit"] == 0 and st["request"] == 0, st
    l = leases6(d2)
    assert [(x["ip"], x["iaid"], x["mac"], x["state"]) for x in l] == [(addr, 1, MAC, "bound")], l
    # and it renews with the new server from then on
    e = c.wait("RENEW6", timeout=LEASE * 2)
    assert e["new_dhcp6_ia_na1_ia_addr1"] == addr, e


def test_prefix_and_temporary_addresses_refused(guest, vnetd, tmp_path, request):
    """vnetd delegates no prefixes and gives no temporary addresses; it
    answers each IA_PD with NoPrefixAvail and each IA_TA with NoAddrsAvail
    (RFC 8415 18.3.2, 18.3.9) and serves the IA_NAs beside them. dhclient
    logs the status it finds in each IA ("no prefix" is code 6, NoPrefixAvail;
    "no addrs" code 2, NoAddrsAvail): -P or -T alone get no lease, -N -P and
    -N -T get their address from the Advertise and Reply that refuse the
    IA_PD or IA_TA."""
    ns = guest()
    d = vnetd({"networks": [net("stateful")], "ports": [tap(ns)]})
    ns.wait_link()
    ll_ready(ns)

    def client(tag, wait):
        c = Dhclient6(ns, tmp_path, tag)
        c.cf.write_text(f"timeout {wait};\nrequest dhcp6.name-servers, dhcp6.domain-search;\n")
        request.addfinalizer(c.stop)
        return c

    for flag, said in (("-P", "Status code of no prefix, IA_PD discarded"),
                       ("-T", "Status code of no addrs, IA_TA discarded")):
        c = client(flag[1:], 4)
        log = c.run(flag)
        assert said in log and "Lease failed to satisfy" in log, log
        assert "Reply message" not in log and not c.events("BOUND6"), log
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["solicit"] >= 2 and st["advertise"] == st["solicit"] and st["request"] == 0, st
    assert st["no_addrs"] == 0 and leases6(d) == [], st

    for flags, said in ((("-N", "-P"), "Status code of no prefix, IA_PD discarded"),
                        (("-N", "-T"), "Status code of no addrs, IA_TA discarded")):
        c = client("".join(f[1:] for f in flags), 20)
        log = c.run(*flags)
        # the Advertise and the Reply both refuse it; the address is bound
        assert log.count(said) == 2 and "Reply message" in log, log
        e = c.events("BOUND6")[-1]
        assert in_pool(e["new_ip6_address"]), e
        assert e["new_dhcp6_name_servers"].split() == [DNS6], e
        assert unquote(e["new_dhcp6_domain_search"]) == "vnet.internal.", e
        assert "new_ip6_prefix" not in e, e
        assert [(l["ip"], l["state"]) for l in leases6(d)] == [(e["new_ip6_address"], "bound")]
    st = d.network("lan")["gateway"]["dhcp6"]
    assert st["request"] == 2 and st["reply"] == 2 and st["leases_active"] == 1, st
    assert st["malformed"] == 0 and st["no_addrs"] == 0 and st["ia_ignored"] == 0, st
