"""Self-test of the WireGuard test helpers (wg_util.py), no vnetd involved.

Two namespaces joined by a veth (198.18.60.1 and .2, only inside them), Debian's
wireguard-go in each, configured from wg-quick files written the way
`vnetctl vpn client-config` will print them (Address, DNS, MTU, a preshared key,
a persistent keepalive on one side): the handshake completes, IPv4 and IPv6 inner
addresses reach each other both ways, a bounded iperf3 run goes through the
tunnel and the counters of `wg show dump` account for it, and the teardown leaves
no wireguard-go, socket or /etc/netns entry of ours behind. Quick (a few seconds).
"""
import os

import pytest

import vnet
from wg_util import (keypair, genpsk, iperf3, missing_wireguard, parse_dump,  # noqa: F401
                     quick_config, quick_peer, split_quick, wglab)

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

UL_A, UL_B = "198.18.60.1", "198.18.60.2"
IN_A4, IN_B4 = "10.77.0.1", "10.77.0.2"
IN_A6, IN_B6 = "fd77::1", "fd77::2"


def test_split_quick_and_parse_dump():
    """wg-quick keys go out of what setconf gets; dump lines parse."""
    text = quick_config("PRIV", address=["10.0.0.2/32", "fd00::2/128"], dns=["10.0.0.1", "lan"],
                        mtu=1380, listen_port=51000,
                        peers=[quick_peer("PUB", ["10.0.0.0/24", "fd00::/64"], "192.0.2.1:51820",
                                          "PSK", 25)])
    conf, quick = split_quick(text + "# a comment\n")
    assert quick == {"address": ["10.0.0.2/32", "fd00::2/128"], "dns": ["10.0.0.1", "lan"],
                     "mtu": 1380, "allowed_ips": ["10.0.0.0/24", "fd00::/64"]}
    assert conf == ("[Interface]\nPrivateKey = PRIV\nListenPort = 51000\n[Peer]\n"
                    "PublicKey = PUB\nPresharedKey = PSK\nAllowedIPs = 10.0.0.0/24, fd00::/64\n"
                    "Endpoint = 192.0.2.1:51820\nPersistentKeepalive = 25\n")
    with pytest.raises(ValueError):
        split_quick("Address = 10.0.0.1\n")
    d = parse_dump("priv\tpub\t51820\toff\n"
                   "peer\t(none)\t198.18.60.2:5000\t10.0.0.0/24,fd00::/64\t1700000000\t10\t20\t25\n"
                   "peer2\tpsk\t(none)\t(none)\t0\t0\t0\toff\n")
    assert d["interface"] == {"private_key": "priv", "public_key": "pub", "listen_port": 51820,
                              "fwmark": None}
    assert d["peers"]["peer"] == {"public_key": "peer", "preshared_key": None,
                                  "endpoint": "198.18.60.2:5000",
                                  "allowed_ips": ["10.0.0.0/24", "fd00::/64"],
                                  "latest_handshake": 1700000000, "rx_bytes": 10, "tx_bytes": 20,
                                  "persistent_keepalive": 25}
    assert d["peers"]["peer2"]["endpoint"] is None and d["peers"]["peer2"]["allowed_ips"] == []


def _netns_names():
    return set(vnet.run(["ip", "netns", "list"]).stdout.split())


def test_two_wireguard_go_peers(wglab):
    a, b = wglab.ns(), wglab.ns()
    wglab.link(a, b, f"{UL_A}/24", f"{UL_B}/24")
    dev_a, dev_b = wglab.device(a), wglab.device(b)
    (priv_a, pub_a), (priv_b, pub_b) = keypair(), keypair()
    psk = genpsk()
    # a: the "server" (fixed port, no endpoint for its peer); b: the "laptop".
    conf_a = quick_config(priv_a, address=[f"{IN_A4}/24", f"{IN_A6}/64"], listen_port=51820,
                          peers=[quick_peer(pub_b, [f"{IN_B4}/32", f"{IN_B6}/128"],
                                            preshared_key=psk)])
    conf_b = quick_config(priv_b, address=[f"{IN_B4}/24", f"{IN_B6}/64"], dns=[IN_A4],
                          mtu=1400,
                          peers=[quick_peer(pub_a, ["10.77.0.0/24", "fd77::/64"],
                                            f"{UL_A}:51820", psk, 5)])
    dev_a.apply_quick(conf_a)
    dev_b.apply_quick(conf_b)
    assert dev_a.public_key() == pub_a and dev_a.listen_port() == 51820
    assert b.links()[dev_b.ifname]["mtu"] == 1400
    with open(f"/etc/netns/{b.name}/resolv.conf") as f:
        assert f"nameserver {IN_A4}\n" in f.read()

    # The keepalive of b starts the handshake.
    peer_a = dev_b.wait_handshake(pub_a)
    assert peer_a["endpoint"] == f"{UL_A}:51820" and peer_a["persistent_keepalive"] == 5
    peer_b = dev_a.wait_handshake(pub_b)
    assert peer_b["endpoint"].startswith(UL_B + ":")
    assert peer_b["preshared_key"] == psk

    for src, dst in ((b, IN_A4), (a, IN_B4), (b, IN_A6), (a, IN_B6)):
        src.ping_until(dst)
        src.ping(dst, count=3, interval=0.2)

    before = dev_a.peer(pub_b)["rx_bytes"]
    res = iperf3(b, a, IN_A4, secs=2)
    got = res["end"]["sum_received"]["bytes"]
    assert got > 100_000, res["end"]
    assert dev_a.peer(pub_b)["rx_bytes"] - before > got

    pids = [d.pid for d in wglab.devices]
    socks = [d.sock for d in wglab.devices]
    names = [ns.name for ns in (a, b)]
    wglab.cleanup()  # what the fixture does, here to check it
    assert not set(names) & _netns_names()
    for pid in pids:
        assert not vnet.pid_alive(pid), f"wireguard-go {pid} still running"
    for s in socks:
        assert not os.path.exists(s), s
    for n in names:
        assert not os.path.exists(f"/etc/netns/{n}")
