"""The VPN (issue 13) against real WireGuard: Debian's wireguard-go in a
"laptop" namespace connects to vnetd's vpn: endpoint (vnetd in a "server"
namespace, a guest namespace on its nat network): handshake, ping both ways,
IPv6 inside the tunnel, TCP (iperf3), roaming, a wrong key or preshared key
never connecting, a replayed datagram dropped and counted.
"""
import socket
import time

import pytest

import vnet
from ipv6_util import slaac_addr
from vpn_util import VpnLab, guest_ip
from wg_util import genpsk, keypair, missing_wireguard, iperf3, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

LAP4, LAP6 = "10.99.0.2", "fd99::2"


def test_laptop_reaches_guest_and_back(wglab, vnetd, tmp_path):
    """Handshake with stock wireguard-go; ping and TCP to the guest; the guest
    pings the laptop; the counters and wg's own view agree."""
    v = VpnLab(wglab, vnetd, tmp_path)
    lap = v.add_laptop(LAP4)
    d = v.start()
    dev = v.connect(lap)
    g = v.guests[0]
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    dev.wait_handshake(v.pub)
    p = v.peer(lap["name"])
    assert p["latest_handshake"] > 0
    assert p["endpoint"] == f"{lap['ul']}:{dev.listen_port()}"
    assert p["counters"]["handshakes"] >= 1
    # the guest reaches the laptop through its default route (the gateway)
    g.ping(LAP4, count=3)
    # TCP through the tunnel, bounded
    res = iperf3(lap["ns"], g, guest_ip(0), secs=2)
    assert res["end"]["sum_received"]["bytes"] > 100000
    p = v.peer(lap["name"])
    assert p["transfer_rx"] > 100000 and p["counters"]["rx_packets"] > 100
    d.assert_alive()


def test_wrong_keys_never_connect(wglab, vnetd, tmp_path):
    """A laptop with a key the server does not list, and one with the wrong
    preshared key, never complete a handshake; the right one does."""
    v = VpnLab(wglab, vnetd, tmp_path)
    good = v.add_laptop(LAP4, psk=genpsk())
    stranger = v.add_laptop("10.99.0.3", conf_peer=False)
    badpsk = v.add_laptop("10.99.0.4", psk=genpsk())
    v.start()
    v.connect(good)
    v.connect(stranger)
    v.connect(badpsk, psk=genpsk())
    good["ns"].ping_until(guest_ip(0), timeout=20)
    for lap in (stranger, badpsk):
        r = lap["ns"].ping(guest_ip(0), count=2, check=False)
        assert r.returncode != 0
    vpn = v.vpn()
    assert vpn["counters"]["unknown_peer"] >= 1
    assert v.peer(badpsk["name"])["session"] is None  # its session never confirmed
    assert all(x["counters"]["rx_packets"] == 0 for x in vpn["peers"]
               if x["name"] == badpsk["name"])
    assert not stranger["dev"].peer(v.pub).get("latest_handshake")
    assert not badpsk["dev"].peer(v.pub).get("latest_handshake")


def test_ipv6_inside_the_tunnel(wglab, vnetd, tmp_path):
    """The laptop's IPv6 address reaches the guest's ULA and back."""
    v = VpnLab(wglab, vnetd, tmp_path)
    lap = v.add_laptop(LAP4, LAP6)
    d = v.start(ipv6=True)
    prefix = d.network("lan")["gateway"]["subnet6"]
    g = v.guests[0]
    g6 = slaac_addr(g, prefix)
    v.connect(lap, allowed=("10.0.2.0/24", prefix))
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    vnet.wait_for(lambda: lap["ns"].ping(g6, count=1, check=False).returncode == 0, 15,
                  what="IPv6 ping through the tunnel")
    g.ping(LAP6, count=2)


def test_roaming_and_replay(wglab, vnetd, tmp_path):
    """The laptop's source port changes (wg set listen-port): the session
    follows it; a datagram captured and sent again is dropped as replayed."""
    v = VpnLab(wglab, vnetd, tmp_path)
    lap = v.add_laptop(LAP4)
    v.start()
    dev = v.connect(lap)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    hs = v.peer(lap["name"])["counters"]["handshakes"]
    old = v.peer(lap["name"])["endpoint"]
    dev.wg("set", dev.ifname, "listen-port", "40123")
    lap["ns"].ping(guest_ip(0), count=3)
    p = v.peer(lap["name"])
    assert p["endpoint"] == f"{lap['ul']}:40123" != old
    assert p["counters"]["roams"] >= 1
    assert p["counters"]["handshakes"] == hs  # the same session
    # replay: capture one transport datagram on the laptop's veth, send it again
    # from a raw socket in the laptop namespace
    before = v.vpn()["counters"]["replayed"]

    def capture_and_replay():
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))  # ETH_P_ALL
        s.settimeout(1)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    frame, addr = s.recvfrom(65535)
                except TimeoutError:
                    continue
                if addr[2] != socket.PACKET_OUTGOING or addr[1] != 0x0800 or len(frame) < 60:
                    continue
                ip = frame[14:]
                if ip[9] != 17:
                    continue
                ihl = (ip[0] & 15) * 4
                udp = ip[ihl:]
                if int.from_bytes(udp[2:4], "big") == 51820 and udp[8] == 4:
                    # the captured checksum may be the offload's partial one:
                    # send it again with none (allowed for UDP over IPv4)
                    off = 14 + ihl + 6
                    frame = frame[:off] + b"\0\0" + frame[off + 2:]
                    s2 = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
                    s2.bind((addr[0], 0))
                    s2.send(frame)
                    s2.close()
                    return True
            return False
        finally:
            s.close()

    pinger = lap["ns"].start("ping", "-c", "20", "-i", "0.2", guest_ip(0))
    try:
        assert lap["ns"].in_ns(capture_and_replay)
    finally:
        pinger.wait(timeout=30)
    vnet.wait_for(lambda: v.vpn()["counters"]["replayed"] > before, 5,
                  what="the replayed datagram counted")


def _listen_in(ns):
    """A TCP listener on 127.0.0.1 inside ns (port chosen by the kernel) that
    answers each connection with b"hello" (served by a thread of the test)."""
    import threading

    def make():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4)
        return s
    s = ns.in_ns(make)
    s.settimeout(20)

    def serve():
        try:
            while True:
                c, _ = s.accept()
                c.sendall(b"hello")
                c.close()
        except OSError:
            pass
    threading.Thread(target=serve, daemon=True).start()
    return s


CONNECT = ("import socket,sys\n"
           "try:\n"
           "    c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
           "    print(c.recv(16).decode())\n"
           "except OSError as e:\n"
           "    print('error', e)\n")


@pytest.mark.parametrize("nat", [False, True])
def test_vpn_nat(wglab, vnetd, tmp_path, nat):
    """vpn.nat: true lets peers use the network's NAT (the host's loopback
    through the gateway address, addresses beyond); without it they reach
    guests and the gateway's own services only (refused: administratively
    prohibited)."""
    v = VpnLab(wglab, vnetd, tmp_path, vpn_extra={"nat": nat})
    lap = v.add_laptop(LAP4)
    v.start()
    srv_sock = _listen_in(v.srv)
    port = srv_sock.getsockname()[1]
    try:
        # an address of the server namespace other than the tunnel's endpoint
        v.srv.ip("addr", "add", "198.18.71.1/32", "dev", "lo")
        v.connect(lap, allowed=("10.0.2.0/24", "198.18.71.1/32"))
        lap["ns"].ping_until(guest_ip(0), timeout=20)
        lap["ns"].ping("10.0.2.2", count=1)  # the gateway answers either way
        out = lap["ns"].exec("/usr/bin/python3", "-c", CONNECT, "10.0.2.2", str(port),
                             timeout=30).stdout
        beyond = lap["ns"].ping("198.18.71.1", count=2, check=False).returncode == 0
        if nat:
            assert out.strip() == "hello"
            assert beyond
        else:
            assert out.startswith("error")
            assert not beyond
            assert v.vpn()["gateway"]["refused"] >= 1
    finally:
        srv_sock.close()


def _ipv6_link(ns, ifname, addr):
    ns.exec("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
            f"net.ipv6.conf.{ifname}.disable_ipv6=0")
    ns.ip("-6", "addr", "add", f"{addr}/64", "dev", ifname, "nodad")


@pytest.mark.parametrize("underlay", ["ipv6", "dual-stack"])
def test_underlays(wglab, vnetd, tmp_path, underlay):
    """The tunnel over an IPv6 underlay (vpn.listen [fd70::1]:51820, the
    laptop's endpoint an IPv6 address), and a dual-stack listener ([::])
    that an IPv4 laptop reaches (its endpoint kept as IPv4, answers sent to
    its v4-mapped address)."""
    listen = "[fd70::1]:51820" if underlay == "ipv6" else "[::]:51820"
    v = VpnLab(wglab, vnetd, tmp_path, vpn_extra={"listen": listen})
    lap = v.add_laptop(LAP4)
    if underlay == "ipv6":
        _ipv6_link(v.srv, lap["srv_if"], "fd70::1")
        _ipv6_link(lap["ns"], lap["ul_if"], "fd70::2")
    v.start()
    endpoint = "[fd70::1]:51820" if underlay == "ipv6" else None
    dev = v.connect(lap, endpoint=endpoint)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    v.guests[0].ping(LAP4, count=2)
    want = (f"[fd70::2]:{dev.listen_port()}" if underlay == "ipv6"
            else f"{lap['ul']}:{dev.listen_port()}")
    assert v.peer(lap["name"])["endpoint"] == want
