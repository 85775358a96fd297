"""Functional tests of the DHCPv4 server: real clients (busybox udhcpc, ISC
dhclient, a QEMU guest) in namespaces the tests create, leases that survive a
restart of vnetd, static hosts, pool exhaustion, starvation by random MACs and
malformed messages from a hostile guest.

Every address is inside a namespace the test creates; nothing leaves the
machine (the DNS upstream configured is a dead loopback port: these tests do
not resolve anything).
"""
import json
import os
import random
import shutil
import struct
import subprocess

import pytest

import vnet
from vnet import run, wait_for

NOUPSTREAM = ["127.0.0.1:9"]  # never asked here; keeps the host's resolver out


def tap(name, ns, network="lan", mac=None):
    p = {"name": name, "type": "tap", "netns": ns.path, "ifname": "eth0", "network": network}
    if mac:
        p["mac"] = mac
    return p


def nat_net(**dhcp):
    net = {"name": "lan", "mode": "nat", "dns": {"upstream": NOUPSTREAM}}
    if dhcp:
        net["dhcp"] = dhcp
    return net


UDHCPC_SCRIPT = """#!/bin/sh
# records what udhcpc was told; configures the address on 'bound'
{ echo "event=$1"; env | grep -E '^(ip|subnet|router|dns|domain|search|mtu|hostname|lease|serverid|broadcast|staticroutes)='; echo; } >> "$UDHCPC_OUT"
if [ "$1" = bound ] || [ "$1" = renew ]; then
    ip addr flush dev "$interface"
    ip addr add "$ip/$subnet" dev "$interface"
fi
exit 0
"""


def udhcpc(ns, tmp_path, tag, extra=(), check=True, tries=4):
    """Run busybox udhcpc once in ns; returns the variables of its 'bound'
    event (dict) or None when no lease was obtained."""
    script = tmp_path / "udhcpc.sh"
    if not script.exists():
        script.write_text(UDHCPC_SCRIPT)
        script.chmod(0o755)
    out = tmp_path / f"udhcpc-{tag}.out"
    if out.exists():
        out.unlink()
    r = run(["ip", "netns", "exec", ns.name, "env", f"UDHCPC_OUT={out}", "busybox", "udhcpc",
             "-i", "eth0", "-f", "-n", "-q", "-t", str(tries), "-T", "2", "-s", str(script),
             "-O", "search", "-O", "mtu", "-O", "staticroutes", *extra],
            timeout=tries * 3 + 20, check=False)
    events = []
    if out.exists():
        for block in out.read_text().split("\n\n"):
            kv = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
            if kv:
                events.append(kv)
    bound = [e for e in events if e.get("event") == "bound"]
    if check:
        assert bound, f"udhcpc got no lease (rc={r.returncode}): {r.stdout}\n{events}"
    return bound[-1] if bound else None


def leases(d):
    return {l["mac"]: l for l in d.ctl("leases")}


def dhcp_stats(d, net="lan"):
    return d.network(net)["gateway"]["dhcp"]


def test_udhcpc_and_dhclient_leases_and_options(netns, vnetd, tmp_path, request):
    a, b = netns(), netns()
    mac_a, mac_b = "52:54:00:10:00:0a", "52:54:00:10:00:0b"
    d = vnetd({
        "networks": [nat_net(hosts=[{"mac": mac_b, "ip": "10.0.2.50", "name": "fixed"}])],
        "ports": [tap("a", a, mac=mac_a), tap("b", b, mac=mac_b)],
    })
    a.wait_link()
    b.wait_link()

    got = udhcpc(a, tmp_path, "a", extra=("-x", "hostname:alpha"))
    assert got["ip"] == "10.0.2.15", got
    assert got["subnet"] == "255.255.255.0" and got["router"] == "10.0.2.2"
    assert got["dns"].split() == ["10.0.2.3"]
    assert got["domain"] == "vnet.internal" and got["search"] == "vnet.internal"
    assert got["mtu"] == "1500" and got["serverid"] == "10.0.2.2"
    assert got["lease"] == "3600" and got["broadcast"] == "10.0.2.255"
    assert got.get("staticroutes", "").split() == ["0.0.0.0/0", "10.0.2.2"], got
    a.ping_until("10.0.2.2")

    # ISC dhclient on the static host's MAC gets the reserved address and name.
    lf, pf, cf = tmp_path / "dh.leases", tmp_path / "dh.pid", tmp_path / "dh.conf"
    env_out = tmp_path / "dh.env"
    cf.write_text("timeout 30;\nretry 1;\nrequest subnet-mask, broadcast-address, routers, "
                  "domain-name-servers, domain-name, domain-search, host-name, interface-mtu;\n")
    sf = tmp_path / "dh.sh"
    sf.write_text(f"#!/bin/sh\nenv | grep -E '^(reason|new_)' >> {env_out}\necho >> {env_out}\n")
    sf.chmod(0o755)

    def stop_dhclient():  # it daemonizes after binding; stop it by its pid file
        try:
            os.kill(int(pf.read_text().strip()), 15)
        except (OSError, ValueError):
            pass
    request.addfinalizer(stop_dhclient)
    r = b.exec("dhclient", "-v", "-1", "-cf", str(cf), "-lf", str(lf), "-pf", str(pf),
               "-sf", str(sf), "eth0", timeout=60, check=False)
    assert "DHCPACK of 10.0.2.50" in r.stdout + r.stderr, r
    text = env_out.read_text()
    bound = [dict(l.split("=", 1) for l in blk.splitlines() if "=" in l)
             for blk in text.split("\n\n")]
    bound = [e for e in bound if e.get("reason") == "BOUND"]
    assert bound, text
    e = bound[-1]
    assert e["new_ip_address"] == "10.0.2.50" and e["new_routers"] == "10.0.2.2"
    assert e["new_domain_name_servers"] == "10.0.2.3" and e["new_host_name"] == "fixed"
    assert e["new_domain_name"] == "vnet.internal" and e["new_interface_mtu"] == "1500"
    assert e["new_domain_search"].strip("'\"") == "vnet.internal."

    ls = leases(d)
    assert ls[mac_a]["ip"] == "10.0.2.15" and ls[mac_a]["hostname"] == "alpha"
    assert ls[mac_a]["state"] == "bound" and 3000 < ls[mac_a]["expires_in"] <= 3600
    assert ls[mac_b]["ip"] == "10.0.2.50" and ls[mac_b]["static"] is True
    assert ls[mac_b]["hostname"] == "fixed" and ls[mac_b]["state"] == "bound"
    st = dhcp_stats(d)
    assert st["ack"] >= 2 and st["offer"] >= 2 and st["leases_active"] == 2
    assert st["malformed"] == 0 and st["pool_exhausted"] == 0

    # A release (dhclient -r, from the address it holds) is honoured, and the
    # client gets the same address again afterwards.
    b.addr("10.0.2.50/24")
    b.exec("dhclient", "-r", "-cf", str(cf), "-lf", str(lf), "-pf", str(pf), "-sf", str(sf),
           "eth0", timeout=30, check=False)
    wait_for(lambda: leases(d)[mac_b]["state"] == "released", 10, what="release seen")
    assert dhcp_stats(d)["release"] == 1
    again = udhcpc(a, tmp_path, "a2")
    assert again["ip"] == "10.0.2.15"
    # vnetctl's human view lists both.
    out = run([str(vnet.VNETCTL), "--control", d.control, "leases"]).stdout
    assert "10.0.2.50" in out and "fixed" in out and "alpha" in out


def test_lease_survives_restart_and_file_is_atomic_json(netns, vnetd, tmp_path):
    a, b = netns(), netns()
    mac_a, mac_b = "52:54:00:11:00:0a", "52:54:00:11:00:0b"
    conf = {"networks": [nat_net()], "ports": [tap("a", a, mac=mac_a), tap("b", b, mac=mac_b)]}
    d = vnetd(conf)
    a.wait_link()
    b.wait_link()
    ip_a = udhcpc(a, tmp_path, "a")["ip"]
    ip_b = udhcpc(b, tmp_path, "b")["ip"]
    assert {ip_a, ip_b} == {"10.0.2.15", "10.0.2.16"}
    d.stop()
    lease_file = tmp_path / "vnetd-state" / "leases-lan.json"
    saved = json.loads(lease_file.read_text())
    assert {l["mac"]: l["ip"] for l in saved["leases"]} == {mac_a: ip_a, mac_b: ip_b}
    assert not list(lease_file.parent.glob("*.tmp")), "temporary file left behind"

    # A new vnetd: b asks first this time, from scratch (DISCOVER), and still
    # gets its own address back; so does a.
    d2 = vnetd(conf, name="vnetd")
    a.wait_link()
    b.wait_link()
    assert "DHCP leases loaded" in d2.log()
    assert udhcpc(b, tmp_path, "b2")["ip"] == ip_b
    assert udhcpc(a, tmp_path, "a2")["ip"] == ip_a
    assert {l["mac"]: l["ip"] for l in d2.ctl("leases")} == {mac_a: ip_a, mac_b: ip_b}

    # A corrupt lease file is set aside with a warning; vnetd still starts.
    d2.stop()
    lease_file.write_text("{ this is not json")
    d3 = vnetd(conf, name="vnetd")
    assert "DHCP lease file unusable" in d3.log()
    assert (lease_file.parent / "leases-lan.json.corrupt").exists()
    a.wait_link()
    assert udhcpc(a, tmp_path, "a3")["ip"] in ("10.0.2.15", "10.0.2.16")


def test_pool_exhaustion_no_offer_counter_one_log_line(netns, vnetd, tmp_path):
    nss = [netns() for _ in range(3)]
    macs = [f"52:54:00:12:00:0{i}" for i in range(3)]
    d = vnetd({"networks": [nat_net(range="10.0.2.20-10.0.2.21")],
               "ports": [tap(f"g{i}", ns, mac=m) for i, (ns, m) in enumerate(zip(nss, macs))]})
    for ns in nss:
        ns.wait_link()
    got = [udhcpc(nss[i], tmp_path, f"g{i}")["ip"] for i in range(2)]
    assert sorted(got) == ["10.0.2.20", "10.0.2.21"]
    assert udhcpc(nss[2], tmp_path, "g2", check=False, tries=3) is None
    st = dhcp_stats(d)
    assert st["pool_exhausted"] >= 3 and st["leases_active"] == 2, st
    lines = [l for l in d.log().splitlines() if "DHCP pool exhausted" in l]
    assert 1 <= len(lines) <= 11, lines  # rate-limited: a burst, never one per packet
    # The holders keep renewing their own addresses.
    assert udhcpc(nss[0], tmp_path, "g0b")["ip"] == got[0]


def dhcp_frame(chaddr, xid, msgtype=1, options=b"", src_mac=None, bootp=None):
    """A DHCP client message in an Ethernet frame from 0.0.0.0 to broadcast."""
    if bootp is None:
        bootp = struct.pack("!BBBBIHHIIII", 1, 1, 6, 0, xid, 0, 0x8000, 0, 0, 0, 0)
        bootp += chaddr + b"\0" * 10 + b"\0" * 192 + bytes([99, 130, 83, 99])
        bootp += bytes([53, 1, msgtype]) + options + b"\xff"
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    iph = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                      bytes(4), b"\xff" * 4)
    csum = vnet_csum(iph)
    iph = iph[:10] + struct.pack("!H", csum) + iph[12:]
    return vnet.eth_frame("ff:ff:ff:ff:ff:ff", vnet.mac_str(src_mac or chaddr), 0x0800, iph + udp)


def vnet_csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def test_starvation_and_malformed_dhcp_from_hostile_guest(netns, vnetd, tmp_path):
    good, evil, late = netns(), netns(), netns()
    d = vnetd({"networks": [nat_net(range="10.0.2.100-10.0.2.131")],
               "ports": [tap("good", good, mac="52:54:00:13:00:01"),
                         tap("evil", evil, mac="52:54:00:13:00:02"),
                         tap("late", late, mac="52:54:00:13:00:03")]})
    for ns in (good, evil, late):
        ns.wait_link()
    mine = udhcpc(good, tmp_path, "good")["ip"]
    rss_before = vnet.vm_rss_kb(d.pid)

    rnd = random.Random(7)
    s = evil.packet_socket()
    try:
        # 2000 DISCOVERs from random MACs (more than the pool 16 times over),
        # in bursts of 200 so the tap's queue (1000 frames) never overflows
        # on a loaded machine.
        base = dhcp_stats(d)["discover"]
        for burst in range(10):
            for i in range(200):
                mac = bytes([0x02] + [rnd.randrange(256) for _ in range(5)])
                s.send(dhcp_frame(mac, rnd.getrandbits(32), src_mac=mac))
            want = base + 200 * (burst + 1)
            wait_for(lambda: dhcp_stats(d)["discover"] >= want, 20, what="burst handled")
        # Malformed messages: truncated, bad cookie, option running off the end,
        # wrong option lengths, multicast chaddr, BOOTREPLY from a client.
        mac = bytes.fromhex("525400130002")
        bad = [
            dhcp_frame(mac, 1, bootp=b"\x01\x01\x06\x00" + b"\0" * 20),
            dhcp_frame(mac, 2, bootp=b"\x01\x01\x06\x00" + b"\0" * 232 + b"XXXX" + b"\x35\x01\x01"),
            dhcp_frame(mac, 3, options=b"\x0c\xf0abc"),
            dhcp_frame(mac, 4, options=b"\x32\x02\x0a\x00"),
            dhcp_frame(bytes.fromhex("ffffffffffff"), 5, src_mac=mac),
            dhcp_frame(mac, 6, msgtype=1, options=b"\x34\x01\x07"),
        ]
        for f in bad:
            s.send(f)
    finally:
        s.close()
    wait_for(lambda: dhcp_stats(d)["discover"] >= 2000, 20, what="all DISCOVERs handled")
    st = dhcp_stats(d)
    # The switch drops those not speaking for the sender's own MAC (a
    # truncated header, a multicast chaddr) as spoofing; the server counts
    # the rest as malformed.
    spoof = d.port_stats("evil")["rx_drops"]["spoof"]
    assert st["malformed"] + spoof >= 6, (st, spoof)
    assert st["pool_exhausted"] == 0, "offers to departed clients must be recycled"

    # The honest guest still renews its own address; a newcomer still gets one.
    assert udhcpc(good, tmp_path, "good2")["ip"] == mine
    assert udhcpc(late, tmp_path, "late")["ip"].startswith("10.0.2.1")
    ls = [l for l in d.ctl("leases") if l["state"] == "bound"]
    assert len(ls) == 2
    rss_after = vnet.vm_rss_kb(d.pid)
    assert rss_after - rss_before < 20_000, (rss_before, rss_after)
    lines = [l for l in d.log().splitlines() if "DHCP" in l]
    assert len(lines) < 40, f"{len(lines)} DHCP log lines for a flood"
    d.assert_alive()


def test_qemu_guest_lease_dns_fetch_and_forward(netns, vnetd, procs, tmp_path):
    """The whole NAT story with a real VM: a DHCP lease (static host), names
    resolved by vnetd (host.vnet.internal) and through it by a dnsmasq
    upstream on 127.0.0.1, a page fetched from the host's loopback through
    NAT, and the VM's own web server reached from the host through a forward."""
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    from nat_util import HttpServer, free_port
    from test_dns import start_dnsmasq
    guest = vnet.REPO / "build" / "vm"
    assert (guest / "vmlinuz").exists(), "no guest image in build/vm: run 'make guest'"
    _, dns_port = start_dnsmasq(procs, tmp_path)
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("host page via vnet\n")
    web = HttpServer(www)
    fwd = free_port()
    spath = str(tmp_path / "vm.sock")
    mac = "52:54:00:14:00:01"
    try:
        net = {"name": "lan", "mode": "nat", "dns": {"upstream": [f"127.0.0.1:{dns_port}"]},
               "dhcp": {"hosts": [{"mac": mac, "ip": "10.0.2.77", "name": "vm1"}]},
               "forwards": [{"proto": "tcp", "host": f"127.0.0.1:{fwd}",
                             "guest": "10.0.2.77:80"}]}
        d = vnetd({"networks": [net],
                   "ports": [{"name": "vm", "type": "stream", "path": spath, "network": "lan"}]})
        script = (
            "ip -4 addr show dev eth0; ip route; cat /etc/resolv.conf; "
            "nslookup host.vnet.internal; nslookup a.example.test; nslookup vm1.vnet.internal; "
            f"timeout 20 wget -q -O - http://host.vnet.internal:{web.port}/ && echo FETCH-OK; "
            "mkdir -p /www; echo vm page via forward > /www/index.html; httpd -p 80 -h /www; "
            "echo VM-SERVING; sleep 60")
        log = tmp_path / "vm.out"
        with open(log, "w") as f:
            vm = procs.start([str(vnet.VM_DIR / "run-vm.sh"), "-o", str(guest), "--ip", "dhcp",
                              "--mac", mac, "--append", "ipv6.disable=1", f"stream:{spath}",
                              script, "150"], stdout=f, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        wait_for(lambda: "VM-SERVING" in log.read_text() or vm.poll() is not None, 150,
                 interval=0.2, what="the VM serving")
        out = log.read_text()
        assert "VM-SERVING" in out, out[-3000:]
        got = run(["curl", "-sS", "--max-time", "20", f"http://127.0.0.1:{fwd}/"]).stdout
        assert got == "vm page via forward\n"
        vm.terminate()  # the guest would serve for another minute
        vm.wait(30)
        out = log.read_text()
        assert "inet 10.0.2.77/24" in out and "default via 10.0.2.2" in out, out[-3000:]
        assert "nameserver 10.0.2.3" in out and "search vnet.internal" in out, out[-3000:]
        assert "Address: 10.0.2.2" in out, "host.vnet.internal not resolved"
        assert "Address: 192.0.2.10" in out, "a.example.test not resolved via the upstream"
        assert "Address: 10.0.2.77" in out, "vm1.vnet.internal not resolved"
        assert "host page via vnet" in out and "FETCH-OK" in out, out[-3000:]
        ls = leases(d)
        assert ls[mac]["ip"] == "10.0.2.77" and ls[mac]["state"] == "bound"
        st = d.network("lan")["gateway"]
        assert st["dns"]["forwarded"] >= 1 and st["dns"]["local_answers"] >= 2, st["dns"]
    finally:
        web.close()
