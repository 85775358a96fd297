"""Helpers for the multi-site and hostile-load VPN tests (test_vpn_site.py,
test_vpn_flood.py, test_vpn_clock.py).

Theory of operation
    A "site" is a server namespace running vnetd (started through
    `ip netns exec`, so its VPN socket and NAT live there) with one nat
    network 'lan' of its own subnet (10.0.X.0/24, gateway .2) and one guest
    namespace on a tap (address .15, default route via the gateway and
    nothing else). Sites meet over an underlay: veth pairs between their
    server namespaces with addresses in 198.18.72.0/24 (TEST-NET-2 range for
    benchmarks, only ever inside the test's namespaces). Each site's vpn:
    block is filled in by the test (peers pointing at the other sites), so
    a site is built in two steps: Site(...) makes the namespaces and keys,
    Site.start(peers) writes the config and starts vnetd.
"""
import os

from nat_util import tap
from wg_util import keypair

VPN_PORT = 51820


def write_key(tmp_path, name, key, mode=0o600):
    """key in tmp_path/name with the given mode; returns the path."""
    p = tmp_path / name
    p.write_text(key + "\n")
    os.chmod(p, mode)
    return str(p)


class Site:
    """A vnetd in its own namespace with a nat network 10.0.{octet}.0/24 and
    one guest (10.0.{octet}.15)."""

    def __init__(self, wglab, vnetd, tmp_path, name, octet, ul):
        self.lab = wglab
        self.vnetd_factory = vnetd
        self.tmp = tmp_path
        self.name = name
        self.subnet = f"10.0.{octet}.0/24"
        self.gw = f"10.0.{octet}.2"
        self.guest_ip = f"10.0.{octet}.15"
        self.ul = ul                      # underlay address of the server namespace
        self.srv = wglab.ns()
        self.guest = wglab.ns()
        self.priv, self.pub = keypair()
        self.key_file = write_key(tmp_path, f"{name}.key", self.priv)
        self.d = None

    @property
    def endpoint(self):
        return f"{self.ul}:{VPN_PORT}"

    def peer_entry(self, keepalive=5):
        """This site as a peer in another site's vpn: block."""
        return {"name": self.name, "public_key": self.pub, "allowed_ips": [self.subnet],
                "endpoint": self.endpoint, "persistent_keepalive": keepalive}

    def start(self, peers, args=(), vpn_extra=None):
        """vnetd in the server namespace, the guest configured (static address,
        default route via the gateway, nothing else). Returns the Vnetd."""
        vpn = {"listen": self.endpoint, "private_key_file": self.key_file, "peers": peers}
        vpn.update(vpn_extra or {})
        net = {"name": "lan", "mode": "nat", "subnet": self.subnet, "gateway": self.gw,
               "dhcp": {"enabled": False}, "dns": {"enabled": False}, "vpn": vpn}
        conf = {"networks": [net], "ports": [tap("g0", self.guest)]}
        # started by hand: vnetd must run inside the server namespace
        d = self.vnetd_factory(conf, name=f"vnetd-{self.name}", args=args, start=False)
        d.prefix = ["ip", "netns", "exec", self.srv.name]
        d.start()
        self.d = d
        g = self.guest
        g.wait_link()
        g.addr(f"{self.guest_ip}/24")
        g.ip("link", "set", "eth0", "up")
        g.ip("route", "add", "default", "via", self.gw)
        g.ping_until(self.gw, timeout=15)
        return d

    def vpn(self):
        return self.d.network("lan")["gateway"]["vpn"]

    def peer(self, name):
        for p in self.vpn()["peers"]:
            if p["name"] == name:
                return p
        raise KeyError(name)

    def guest_routes(self):
        """The guest's IPv4 routes as `ip route` prints them."""
        return [l.strip() for l in self.guest.ip("-4", "route", "show").stdout.splitlines() if l.strip()]
