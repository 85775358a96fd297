"""Helpers for the VPN functional tests (test_vpn*.py): a vnetd with a nat
network 'lan' (guests 10.0.2.15+, gateway 10.0.2.2) and a vpn: block, run
inside a "server" namespace the test creates, and "laptop" namespaces running
Debian's wireguard-go joined to the server by veths (198.18.70.0/24). Nothing
leaves namespaces the test created.
"""
import os

import vnet
from ipv6_util import ipv6_on
from nat_util import configure_guest, guest_ip, nat_network, tap
from wg_util import keypair, quick_config, quick_peer

UL_SRV = "198.18.70.1"
VPN_PORT = 51820
LAN4 = "10.0.2.0/24"


def write_key(tmp_path, name, key, mode=0o600):
    p = tmp_path / name
    p.write_text(key + "\n")
    os.chmod(p, mode)
    return str(p)


class VpnLab:
    """One server namespace with vnetd, its guests, and laptops."""

    def __init__(self, wglab, vnetd, tmp_path, nguests=1, peers=None, net_extra=None,
                 vpn_extra=None, start=True):
        self.lab = wglab
        self.tmp = tmp_path
        self.srv = wglab.ns()
        self.guests = [wglab.ns() for _ in range(nguests)]
        self.priv, self.pub = keypair()
        self.key_file = write_key(tmp_path, "server.key", self.priv)
        self.laptops = []
        self.peers = peers if peers is not None else []
        self.vpn_extra = vpn_extra or {}
        self.net_extra = net_extra or {}
        self.vnetd_factory = vnetd
        self.nlinks = 0
        self.d = None

    def add_laptop(self, inner4, inner6=None, name=None, psk=None, keepalive=None,
                   allowed=None, conf_peer=True):
        """A laptop namespace joined to the server by a veth, with its keys;
        its peer entry goes into the server's config (conf_peer). Returns a
        dict with ns, ul (its underlay address), priv, pub, inner4/6."""
        self.nlinks += 1
        ns = self.lab.ns()
        ul = f"198.18.70.{1 + self.nlinks}"
        srv_if, lap_if = self.lab.link(self.srv, ns, f"{UL_SRV}/24" if self.nlinks == 1 else None,
                                  f"{ul}/24")
        if self.nlinks > 1:
            # the server's address lives on the first link; later laptops get
            # a host route on theirs (they find 198.18.70.1 by ARP as usual)
            self.srv.ip("route", "add", f"{ul}/32", "dev", srv_if)
        priv, pub = keypair()
        lap = {"ns": ns, "ul": ul, "srv_if": srv_if, "ul_if": lap_if, "priv": priv, "pub": pub,
               "inner4": inner4, "inner6": inner6,
               "name": name or f"laptop{len(self.laptops) + 1}", "psk": psk}
        if conf_peer:
            allowed_ips = allowed or [f"{inner4}/32"] + ([f"{inner6}/128"] if inner6 else [])
            p = {"name": lap["name"], "public_key": pub, "allowed_ips": allowed_ips}
            if psk:
                p["preshared_key_file"] = write_key(self.tmp, f"{lap['name']}.psk", psk)
            if keepalive:
                p["persistent_keepalive"] = keepalive
            self.peers.append(p)
        self.laptops.append(lap)
        return lap

    def start(self, ipv6=False):
        """vnetd in the server namespace, its guests configured (with IPv6
        on and SLAAC from the gateway's RAs when ipv6)."""
        if ipv6:
            for ns in self.guests:
                ipv6_on(ns)
        vpn = {"listen": f"{UL_SRV}:{VPN_PORT}", "private_key_file": self.key_file,
               "peers": self.peers}
        vpn.update(self.vpn_extra)
        net = nat_network(vpn=vpn, **self.net_extra)
        conf = {"networks": [net],
                "ports": [tap(f"g{i}", ns, mac=f"02:00:00:0e:00:{i + 1:02x}")
                          for i, ns in enumerate(self.guests)]}
        self.d = self.vnetd_factory(conf, prefix=["ip", "netns", "exec", self.srv.name])
        for i, ns in enumerate(self.guests):
            configure_guest(ns, guest_ip(i))
        return self.d

    def connect(self, lap, server_pub=None, allowed=(LAN4,), psk=None, keepalive=None,
                endpoint=None):
        """wireguard-go on the laptop, configured as wg-quick would from a
        client file pointing at the server."""
        dev = self.lab.device(lap["ns"])
        addr = [f"{lap['inner4']}/32"] + ([f"{lap['inner6']}/128"] if lap["inner6"] else [])
        text = quick_config(lap["priv"], address=addr,
                            peers=[quick_peer(server_pub or self.pub, list(allowed),
                                              endpoint or f"{UL_SRV}:{VPN_PORT}",
                                              psk if psk is not None else lap["psk"], keepalive)])
        dev.apply_quick(text)
        lap["dev"] = dev
        return dev

    def vpn(self):
        return self.d.network("lan")["gateway"]["vpn"]

    def peer(self, name):
        for p in self.vpn()["peers"]:
            if p["name"] == name:
                return p
        raise KeyError(name)


__all__ = ["VpnLab", "write_key", "guest_ip", "vnet"]
