"""Functional tests of IPv6 on a nat network (issue 11): the Linux kernel in a
guest namespace configures itself by SLAAC from the gateway's router
advertisements (address in the network's prefix, default route via the
gateway's link-local address, MTU from the RA), pings the gateway, and reaches
servers on the host's ::1 through gateway6 over TCP (100 MB each way, checked
by SHA-256), UDP and ICMPv6; refused ports answer at once, destinations the
host cannot route get an immediate ICMPv6 error, and forwards take host
clients on [::1] to guests over IPv6 and IPv4.

Theory of operation: guests are namespaces with IPv6 switched on (the fixture
switches it off by default) and a tap port; the kernel does SLAAC with DAD.
Host peers listen on ::1 port 0. The "no route" test runs vnetd inside a
namespace of its own that has no IPv6 route at all, so a destination outside
the prefix fails there (ENETUNREACH) without any packet leaving: this machine
has a real IPv6 default route, which no test may use.
"""
import hashlib
import json
import os
import socket
import threading
import time

import pytest

import vnet
from nat_util import (NET, TcpServer, echo_handler, free_port, sha256_file, tap,
                      write_random_file)
from vnet import run, wait_for

BIG = 100 * 1000 * 1000


def v6_network(**extra):
    n = {"name": NET, "mode": "nat", "dhcp": {"enabled": False},
         "dns": {"enabled": False}}
    n.update(extra)
    return n


def ipv6_on(ns):
    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf.default.accept_ra=1",
            "net.ipv6.conf.default.autoconf=1")


def gw_info(d):
    return d.network(NET)["gateway"]


def slaac_addr(ns, prefix, timeout=15):
    """The global address eth0 got by SLAAC inside prefix (a "PFX::/64" text)."""
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


def v6_setup(netns, vnetd, n=1, net_extra=None, prefix_cmd=(), args=()):
    guests = [netns() for _ in range(n)]
    for ns in guests:
        ipv6_on(ns)
    conf = {"networks": [v6_network(**(net_extra or {}))],
            "ports": [tap(f"g{i}", ns, mac=f"02:00:00:0f:00:{i + 1:02x}")
                      for i, ns in enumerate(guests)]}
    d = vnetd(conf, args=args)
    for ns in guests:
        ns.wait_link()
        ns.ip("link", "set", "eth0", "up")
    g = gw_info(d)
    addrs = [slaac_addr(ns, g["subnet6"]) for ns in guests]
    return d, guests, addrs


class Tcp6Server(TcpServer):
    def __init__(self, handler, host="::1"):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, 0))
        s.listen(64)
        super().__init__(handler, sock=s)


def gsock6(ns, kind=socket.SOCK_STREAM, timeout=20):
    def mk():
        s = socket.socket(socket.AF_INET6, kind)
        s.settimeout(timeout)
        return s
    return ns.in_ns(mk)


def test_slaac_route_mtu_and_ping(netns, vnetd):
    d, (g,), (addr,) = v6_setup(netns, vnetd, net_extra={"mtu": 1400})
    gw = gw_info(d)
    # Dual-stack by default: a ULA /64 derived from the network's name.
    assert gw["subnet6"].startswith("fd") and gw["subnet6"].endswith("::/64")
    assert addr.startswith(gw["subnet6"].split("::")[0])
    routes = json.loads(g.ip("-j", "-6", "route", "show", "default").stdout)
    assert routes and routes[0]["gateway"] == gw["link_local"], routes
    assert g.exec("cat", "/proc/sys/net/ipv6/conf/eth0/mtu").stdout.strip() == "1400"
    g.ping(gw["address6"])
    g.ping(f"{gw['link_local']}%eth0")
    s6 = gw_info(d)["stats6"]
    assert s6["ra_sent"] >= 1 and s6["icmp6_echo"] >= 2


def test_tcp6_to_host_loopback_100mb_both_directions(netns, vnetd, servers, tmp_path):
    d, (g,), _ = v6_setup(netns, vnetd)
    gw6 = gw_info(d)["address6"]
    data = tmp_path / "big.bin"
    want = write_random_file(data, BIG)

    def send_file(conn, _addr):
        with open(data, "rb") as f:
            conn.sendfile(f)
        conn.shutdown(socket.SHUT_WR)

    def sink(conn, _addr):
        h = hashlib.sha256()
        while True:
            b = conn.recv(1 << 20)
            if not b:
                break
            h.update(b)
        conn.sendall(h.hexdigest().encode())

    down = Tcp6Server(send_file)
    up = Tcp6Server(sink)
    servers += [down, up]
    def download():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect((gw6, down.port))
        h = hashlib.sha256()
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
        s.close()
        return h.hexdigest()
    assert g.in_ns(download) == want

    def upload():
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(60)
        s.connect((gw6, up.port))
        with open(data, "rb") as f:
            s.sendfile(f)
        s.shutdown(socket.SHUT_WR)
        r = b""
        while True:
            b = s.recv(100)
            if not b:
                break
            r += b
        s.close()
        return r.decode()
    assert g.in_ns(upload) == want
    flows = d.ctl("flows", NET)
    assert isinstance(flows, (list, dict))


def test_udp6_echo_refused_port_and_policy(netns, vnetd, servers):
    d, (g,), _ = v6_setup(netns, vnetd)
    gw6 = gw_info(d)["address6"]
    u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    u.bind(("::1", 0))
    port = u.getsockname()[1]
    stop = threading.Event()

    def echo():
        u.settimeout(0.2)
        while not stop.is_set():
            try:
                b, peer = u.recvfrom(65535)
                u.sendto(b, peer)
            except socket.timeout:
                pass
    t = threading.Thread(target=echo, daemon=True)
    t.start()
    try:
        def udp_rt():
            s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
            s.settimeout(5)
            s.sendto(b"x" * 1000, (gw6, port))
            b, _ = s.recvfrom(65535)
            s.close()
            return len(b)
        assert g.in_ns(udp_rt) == 1000
    finally:
        stop.set()
        t.join(2)
        u.close()

    # A closed port on the host: the RST arrives at once.
    closed = free_port()

    def connect(dst, port):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(5)
        t0 = time.monotonic()
        try:
            s.connect((dst, port))
            return "connected", 0
        except OSError as e:
            return type(e).__name__, time.monotonic() - t0
        finally:
            s.close()
    kind, _ = g.in_ns(lambda: connect(gw6, closed))
    assert kind == "ConnectionRefusedError"
    # Destinations the NAT refuses (an IPv4-mapped address could reach the
    # host's IPv4 loopback): administratively prohibited, not a hang.
    kind, _ = g.in_ns(lambda: connect("::ffff:127.0.0.1", 22))
    assert kind in ("PermissionError", "OSError", "ConnectionRefusedError",
                    "TimeoutError") and kind != "connected"


def test_unroutable_destination_gets_an_immediate_icmpv6_error(netns, vnetd, procs, tmp_path):
    # vnetd in a namespace without any IPv6 route: connect() there fails with
    # ENETUNREACH, and the guest must hear so at once.
    host = netns()
    host.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0")
    g = netns()
    ipv6_on(g)
    conf = {"networks": [v6_network()], "ports": [tap("g0", g, mac="02:00:00:0f:01:01")]}
    d = vnet.Vnetd(tmp_path, conf, name="vnetd-ns", procs=procs,
                   prefix=("ip", "netns", "exec", host.name))
    d.start()
    try:
        g.wait_link()
        g.ip("link", "set", "eth0", "up")
        slaac_addr(g, gw_info(d)["subnet6"])

        def connect():
            s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            s.settimeout(10)
            t0 = time.monotonic()
            try:
                s.connect(("2001:db8::1", 80))
                return "connected", 0
            except OSError as e:
                return type(e).__name__, time.monotonic() - t0
            finally:
                s.close()
        kind, took = g.in_ns(connect)
        assert kind != "connected" and kind != "TimeoutError", kind
        assert took < 5
    finally:
        d.stop()


def test_forwards_from_host_v6_to_guest_v6_and_v4(netns, vnetd, servers):
    g = netns()
    ipv6_on(g)
    p6, p4 = free_port(), free_port()
    conf = {"networks": [v6_network(forwards=[
        {"proto": "tcp", "host": f"[::1]:{p6}", "guest": "[GUEST6]:7000"},
        {"proto": "tcp", "host": f"[::1]:{p4}", "guest": "10.0.2.15:7001"}])],
        "ports": [tap("g0", g, mac="02:00:00:0f:02:01")]}
    # The guest's IPv6 address is a static one in the network's prefix, which
    # --print-config of the same network shows before any start.
    cp = run([str(vnet.VNETD), "--print-config", "--network",
              f"{NET},mode=nat"], check=False)
    pfx = None
    for line in cp.stdout.splitlines():
        if "subnet6" in line:
            pfx = line.split(":", 1)[1].strip().strip('"').split("/")[0]
    assert pfx, cp.stdout
    guest6 = pfx.rstrip(":") + "::15"
    conf["networks"][0]["forwards"][0]["guest"] = f"[{guest6}]:7000"
    d = vnetd(conf)
    g.wait_link()
    g.ip("addr", "add", f"{guest6}/64", "dev", "eth0", "nodad")
    g.addr("10.0.2.15/24")
    g.ip("link", "set", "eth0", "up")
    g.ip("route", "add", "default", "via", "10.0.2.2")
    srv = g.start("socat", "TCP6-LISTEN:7000,fork,reuseaddr", "EXEC:/bin/cat")
    srv4 = g.start("socat", "TCP4-LISTEN:7001,fork,reuseaddr", "EXEC:/bin/cat")
    wait_for(lambda: g.listening(7000) and g.listening(7001), 10, what="guest servers")

    def rt(port):
        s = socket.create_connection(("::1", port), timeout=10)
        s.sendall(b"ping6\n")
        b = s.recv(100)
        s.close()
        return b
    assert wait_for(lambda: rt(p6) == b"ping6\n", 15, what="forward [::1] -> guest IPv6")
    assert rt(p4) == b"ping6\n"
    fw = d.ctl("forward", "list", NET)
    assert any(guest6 in json.dumps(f) for f in (fw if isinstance(fw, list) else [fw]))


def test_iperf3_over_ipv6(netns, vnetd, procs):
    d, (g,), _ = v6_setup(netns, vnetd)
    gw6 = gw_info(d)["address6"]
    port = free_port()
    srv = procs.start(["iperf3", "-s", "-1", "-B", "::1", "-p", str(port)])
    wait_for(lambda: vnet.run(["ss", "-Htnl", f"sport = :{port}"]).stdout.strip(), 10,
             what="iperf3 server")
    r = g.exec("iperf3", "-6", "-c", gw6, "-p", str(port), "-t", "2", "-J", timeout=30)
    bps = json.loads(r.stdout)["end"]["sum_received"]["bits_per_second"]
    assert bps > 0


@pytest.mark.vm
def test_qemu_guest_slaac_and_fetch_over_ipv6(vnetd, procs, servers, tmp_path):
    """A real VM: its kernel configures an address by SLAAC from the gateway's
    RAs and fetches a page from the host's ::1 through gateway6."""
    import shutil
    import subprocess
    if not shutil.which("qemu-system-x86_64"):
        pytest.skip("qemu-system-x86_64 is not installed")
    guest = vnet.REPO / "build" / "vm"
    assert (guest / "vmlinuz").exists(), "no guest image in build/vm: run 'make guest'"

    def http(conn, _addr):
        conn.recv(4096)
        body = b"host page over IPv6\n"
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    web = Tcp6Server(http)
    servers.append(web)
    spath = str(tmp_path / "vm.sock")
    d = vnetd({"networks": [v6_network()],
               "ports": [{"name": "vm", "type": "stream", "path": spath, "network": NET}]})
    gw6 = gw_info(d)["address6"]
    script = ("for i in $(seq 1 100); do ip -6 addr show dev eth0 | grep -q 'scope global' "
              "&& ! ip -6 addr show dev eth0 | grep -q tentative && break; sleep 0.1; done; "
              "ip -6 addr show dev eth0; ip -6 route; "
              f"timeout 20 wget -q -O - http://[{gw6}]:{web.port}/ && echo FETCH6-OK")
    log = tmp_path / "vm.out"
    with open(log, "w") as f:
        vm = procs.start([str(vnet.VM_DIR / "run-vm.sh"), "-o", str(guest), "--ip",
                          "10.0.2.15/24,10.0.2.2", f"stream:{spath}", script, "90"],
                         stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_for(lambda: "FETCH6-OK" in log.read_text() or vm.poll() is not None, 120,
             interval=0.2, what="the VM fetching over IPv6")
    out = log.read_text()
    assert "host page over IPv6" in out and "FETCH6-OK" in out, out[-3000:]
    assert gw_info(d)["subnet6"].split("::")[0] in out


def test_host_only_puts_gateway6_on_the_host_tap(netns, vnetd, procs, tmp_path):
    """host-only: the host's tap holds gateway6 (PREFIX::1); a guest that did
    SLAAC from the RAs and the host ping each other over IPv6."""
    h, g = netns(), netns()
    h.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
           "net.ipv6.conf.default.disable_ipv6=0")
    ipv6_on(g)
    conf = {"networks": [{"name": "ho", "mode": "host-only", "subnet": "10.42.0.0/24",
                          "host_interface": "vho6", "dhcp": {"enabled": False},
                          "dns": {"enabled": False}}],
            "ports": [tap("g", g, "ho", mac="02:00:00:42:00:0a")]}
    d = vnet.Vnetd(tmp_path, conf, name="vnetd-ho", procs=procs,
                   prefix=("ip", "netns", "exec", h.name))
    d.start()
    try:
        gwinfo = d.network("ho")["gateway"]
        pfx = gwinfo["subnet6"].split("/")[0]
        host6 = pfx + "1"
        out = json.loads(h.ip("-j", "-6", "addr", "show", "dev", "vho6").stdout)
        got = [a["local"] for l in out for a in l["addr_info"] if a.get("scope") == "global"]
        assert got == [host6], out
        g.wait_link()
        g.ip("link", "set", "eth0", "up")
        mine = slaac_addr(g, gwinfo["subnet6"])
        g.ping(host6)
        h.ping(mine)
        g.ping(gwinfo["address6"])  # the gateway port's own service address
    finally:
        d.stop()


def test_hostile_guest_ndp_spoofing_floods_and_bad_headers(netns, vnetd):
    """A guest that spoofs neighbour advertisements (for another guest's
    address and for the gateway's), floods neighbour solicitations from random
    addresses and sends broken extension-header chains: the gateway keeps
    the victim's entry, ignores claims on its own addresses, its neighbour
    table stays bounded, the bad packets are counted, and the victim is still
    reached through a forward."""
    import random
    from scapy.all import (Ether, IPv6, ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr,
                           ICMPv6NDOptSrcLLAddr, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop,
                           IPv6ExtHdrRouting, UDP, raw)
    victim, attacker = netns(), netns()
    for ns in (victim, attacker):
        ipv6_on(ns)
    cp = run([str(vnet.VNETD), "--print-config", "--network", f"{NET},mode=nat"])
    pfx = [l.split(":", 1)[1].strip().strip('"').split("/")[0]
           for l in cp.stdout.splitlines() if "subnet6:" in l][0]
    v6 = pfx + "15"
    fport = free_port()
    vmac, amac = "02:00:00:0f:03:01", "02:00:00:0f:03:02"
    conf = {"networks": [v6_network(forwards=[
        {"proto": "tcp", "host": f"[::1]:{fport}", "guest": f"[{v6}]:7000"}])],
        "ports": [tap("victim", victim, mac=vmac), tap("attacker", attacker, mac=amac)]}
    d = vnetd(conf)
    for ns in (victim, attacker):
        ns.wait_link()
        ns.ip("link", "set", "eth0", "up")
    victim.ip("addr", "add", f"{v6}/64", "dev", "eth0", "nodad")
    gw = gw_info(d)
    slaac_addr(attacker, gw["subnet6"])
    victim.ping(gw["address6"])  # the gateway learns the victim (an active owner)
    victim.start("socat", "TCP6-LISTEN:7000,fork,reuseaddr", "SYSTEM:echo victim-here")
    wait_for(lambda: victim.listening(7000), 10, what="victim server")
    gmac = gw["mac"]

    def na(target, dst_mac="33:33:00:00:00:01", dst="ff02::1"):
        return bytes(Ether(src=amac, dst=dst_mac) / IPv6(src=f"fe80::1:2", dst=dst, hlim=255) /
                     ICMPv6ND_NA(tgt=target, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=amac))
    frames = [na(v6), na(v6, gmac, gw["link_local"]), na(gw["address6"]), na(gw["link_local"])]
    # NS from many random on-link addresses: each would be a neighbour entry.
    rnd = random.Random(7)
    for i in range(3000):
        src = pfx[:-1] + "%x:%x:%x:%x" % tuple(rnd.getrandbits(16) for _ in range(4))
        frames.append(bytes(Ether(src=amac, dst=gmac) / IPv6(src=src, dst=gw["address6"], hlim=255) /
                            ICMPv6ND_NS(tgt=gw["address6"]) / ICMPv6NDOptSrcLLAddr(lladdr=amac)))
    # Broken extension-header chains: too many headers, a length past the
    # end, hop-by-hop not first, a truncated header.
    udp = UDP(sport=1, dport=53) / raw(b"x")
    base = Ether(src=amac, dst=gmac) / IPv6(src=pfx + "99", dst=gw["address6"])
    chain = base
    for _ in range(12):
        chain = chain / IPv6ExtHdrDestOpt()
    frames.append(bytes(chain / udp))
    frames.append(bytes(base / IPv6ExtHdrDestOpt() / IPv6ExtHdrHopByHop() / udp))
    long_hdr = bytearray(bytes(base / IPv6ExtHdrRouting() / udp))
    long_hdr[14 + 40 + 1] = 200  # header length far past the payload
    frames.append(bytes(long_hdr))
    frames.append(bytes(base / IPv6ExtHdrDestOpt())[:14 + 40 + 4])
    ps = attacker.packet_socket()
    try:
        for f in frames:
            ps.send(f)
            if len(frames) > 100:
                time.sleep(0.0002)  # the tap's queue is not a test subject
    finally:
        ps.close()

    def st():
        return gw_info(d)
    wait_for(lambda: st()["stats6"]["ns_received"] >= 2500, 30, what="the NS flood handled")
    g = st()
    assert g["neighbours"] <= 1024, g["neighbours"]
    # Claims on the gateway's addresses: dropped as spoofing by the port
    # policy, or (where a port is not guarded) ignored and counted by the gateway.
    # The broken chains likewise: dropped by the policy or by the gateway, counted.
    dropped = sum(d.port_stats("attacker")["rx_drops"].values())
    counted = (g["stats"]["arp_conflicts"] + g["stats6"]["malformed"] +
               g["stats"]["ip_malformed"] + dropped)
    assert counted >= 6, (g["stats"], g["stats6"], d.port_stats("attacker"))
    # The victim is still the one a forward reaches (the flood's last frames
    # may still be queued: several attempts, each bounded, under ASan load).
    def rt():
        s = socket.create_connection(("::1", fport), timeout=5)
        b = s.recv(100)
        s.close()
        return b
    assert wait_for(lambda: rt() == b"victim-here\n", 45, interval=0.5,
                    what="forward to the victim")
    d.assert_alive()
