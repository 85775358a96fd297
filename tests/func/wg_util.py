"""Helpers for the VPN tests: real WireGuard peers (Debian's wireguard-go and
wg from wireguard-tools) inside network namespaces the test creates.

Theory of operation
    A WireGuard peer here is a namespace (vnet.Netns, with its own
    /etc/netns/NAME/resolv.conf so that nothing ever writes the host's) in which
    `wireguard-go -f IFNAME` runs in the foreground under the test's `procs`: it
    makes a TUN device IFNAME in that namespace and serves WireGuard's
    configuration protocol on /var/run/wireguard/IFNAME.sock.  That directory is
    shared by all namespaces (and all tests running at the same time), so every
    device gets a unique name ("wgt" + 8 hex digits); `wg` finds a device by
    that socket whatever namespace it runs in.

    A configuration comes as a wg-quick file (what `vnetctl vpn client-config`
    prints, or what quick_config() writes) and is applied as wg-quick would:
    the wg-quick-only keys (Address, DNS, MTU, Table, Pre/PostUp/Down,
    SaveConfig) are taken out, `wg setconf` gets the rest, then the addresses
    go on the device, the MTU is set, the link comes up, a route to every
    AllowedIPs prefix goes through the device (`ip route replace`, so a /0 or a
    prefix the address already covers is fine; the namespace's endpoint must
    then stay reachable over a more specific route, as it is on a veth of its
    own) and the DNS servers go into the namespace's resolv.conf.

    Namespaces meet over veth pairs with addresses the test chooses (wg_link);
    no packet leaves the test's namespaces.  Teardown (WgLab.cleanup, run by
    the `wglab` fixture even when the test fails) stops every wireguard-go by
    its PID (SIGTERM: it removes its socket), removes a socket left behind and
    the /etc/netns directories; the conftest `netns` fixture deletes the
    namespaces afterwards.

    genkey(), pubkey(priv), genpsk(), keypair() -> (priv, pub)
    quick_config(private_key, address, peers, dns, mtu, listen_port) -> wg-quick text
    quick_peer(public_key, allowed_ips, endpoint, preshared_key, keepalive) -> dict for peers
    split_quick(text) -> (setconf text, wg-quick-only settings)
    parse_dump(text), wg_dump(ifname, ns=None) -> {"interface": {...}, "peers": {pub: {...}}}
    wglab fixture -> WgLab: .ns(), .link(a, b, cidr_a, cidr_b), .device(ns)
    WgDevice: .apply_quick(text), .setconf(text), .dump(), .peer(pub),
              .wait_handshake(pub), .stop()
"""
import ipaddress
import os
import secrets
import shutil
import signal
import subprocess

import pytest

import vnet
from modes_util import veth
from overlay_util import add_addr, enable_ipv6
from vnet import run, wait_for

WG = "/usr/bin/wg"
WIREGUARD_GO = "/usr/bin/wireguard-go"
WG_RUN_DIR = "/var/run/wireguard"

# wg-quick's own keys: `wg setconf` refuses them.
QUICK_ONLY = {"address", "dns", "mtu", "table", "preup", "postup", "predown", "postdown",
              "saveconfig"}


def missing_wireguard():
    """Why the WireGuard tests cannot run here, or None."""
    for p in (WG, WIREGUARD_GO):
        if not os.access(p, os.X_OK):
            return f"needs {p} (apt-get install wireguard-go wireguard-tools)"
    if not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


# ---------------------------------------------------------------- keys

def genkey():
    """A new private key, base64 as `wg genkey` prints it."""
    return run([WG, "genkey"]).stdout.strip()


def pubkey(private_key):
    """The public key of a base64 private key (`wg pubkey`)."""
    return run([WG, "pubkey"], input=private_key + "\n").stdout.strip()


def genpsk():
    """A new preshared key (`wg genpsk`)."""
    return run([WG, "genpsk"]).stdout.strip()


def keypair():
    """(private, public) base64 keys."""
    priv = genkey()
    return priv, pubkey(priv)


# ---------------------------------------------------------------- configuration files

def _csv(v):
    if v is None:
        return None
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def quick_peer(public_key, allowed_ips, endpoint=None, preshared_key=None, keepalive=None):
    """One [Peer] of quick_config(); allowed_ips a list or a comma-separated string."""
    return {"PublicKey": public_key, "PresharedKey": preshared_key,
            "AllowedIPs": _csv(allowed_ips), "Endpoint": endpoint, "PersistentKeepalive": keepalive}


def quick_config(private_key, address=None, peers=(), dns=None, mtu=None, listen_port=None):
    """A wg-quick file, as `vnetctl vpn client-config` prints one: [Interface]
    PrivateKey, Address, DNS, ListenPort, MTU (those given), then each peer
    (dicts from quick_peer)."""
    lines = ["[Interface]", f"PrivateKey = {private_key}"]
    for k, v in (("ListenPort", listen_port), ("Address", _csv(address)), ("DNS", _csv(dns)),
                 ("MTU", mtu)):
        if v is not None:
            lines.append(f"{k} = {v}")
    for p in peers:
        lines += ["", "[Peer]"]
        lines += [f"{k} = {v}" for k, v in p.items() if v is not None]
    return "\n".join(lines) + "\n"


def split_quick(text):
    """Split a wg-quick file into what `wg setconf` takes and wg-quick's own
    settings. Returns (setconf_text, quick) where quick has "address" and
    "dns" (lists), "mtu" (int or None) and "allowed_ips" (every peer's
    prefixes, in order). Comments and blank lines are dropped; a line that is
    not a section or KEY = VALUE raises ValueError."""
    out = []
    quick = {"address": [], "dns": [], "mtu": None, "allowed_ips": []}
    section = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line.lower()
            if section not in ("[interface]", "[peer]"):
                raise ValueError(f"line {n}: unknown section {line}")
            out.append(line)
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or section is None:
            raise ValueError(f"line {n}: not KEY = VALUE in a section: {raw!r}")
        lk = key.lower()
        items = [x.strip() for x in value.split(",") if x.strip()]
        if section == "[interface]" and lk in QUICK_ONLY:
            if lk == "address":
                quick["address"] += items
            elif lk == "dns":
                quick["dns"] += items
            elif lk == "mtu":
                quick["mtu"] = int(value)
            continue
        if section == "[peer]" and lk == "allowedips":
            quick["allowed_ips"] += items
        out.append(f"{key} = {value}")
    return "\n".join(out) + "\n", quick


# ---------------------------------------------------------------- wg show dump

def _none(v):
    return None if v in ("(none)", "off", "") else v


def parse_dump(text):
    """`wg show IF dump` as {"interface": {private_key, public_key, listen_port,
    fwmark}, "peers": {public_key: {public_key, preshared_key, endpoint,
    allowed_ips (list), latest_handshake (int seconds since the epoch, 0 =
    never), rx_bytes, tx_bytes, persistent_keepalive (int or None)}}}."""
    lines = [l for l in text.splitlines() if l.strip()]
    if not lines:
        raise ValueError("empty wg dump")
    f = lines[0].split("\t")
    if len(f) != 4:
        raise ValueError(f"bad interface line in wg dump: {lines[0]!r}")
    res = {"interface": {"private_key": _none(f[0]), "public_key": _none(f[1]),
                         "listen_port": int(f[2]), "fwmark": _none(f[3])},
           "peers": {}}
    for l in lines[1:]:
        f = l.split("\t")
        if len(f) != 8:
            raise ValueError(f"bad peer line in wg dump: {l!r}")
        ka = _none(f[7])
        res["peers"][f[0]] = {
            "public_key": f[0], "preshared_key": _none(f[1]), "endpoint": _none(f[2]),
            "allowed_ips": [] if _none(f[3]) is None else f[3].split(","),
            "latest_handshake": int(f[4]), "rx_bytes": int(f[5]), "tx_bytes": int(f[6]),
            "persistent_keepalive": None if ka is None else int(ka)}
    return res


def wg_dump(ifname, ns=None):
    """parse_dump() of `wg show IFNAME dump` (in ns if given: needed for a
    kernel device; a userspace one is found by its socket from anywhere)."""
    cmd = [WG, "show", ifname, "dump"]
    cp = ns.exec(*cmd) if ns is not None else run(cmd)
    return parse_dump(cp.stdout)


# ---------------------------------------------------------------- devices

def unique_ifname(prefix="wgt"):
    """A device name no other test uses at the same time (sockets are global)."""
    return prefix + secrets.token_hex(4)


class WgDevice:
    """A wireguard-go process and its TUN device in namespace ns."""

    def __init__(self, ns, logdir, ifname=None):
        self.ns = ns
        self.ifname = ifname or unique_ifname()
        self.sock = f"{WG_RUN_DIR}/{self.ifname}.sock"
        self.log_path = os.path.join(str(logdir), f"wireguard-go-{self.ifname}.log")
        # Its output goes to a file: a pipe nobody reads could fill and block it.
        with open(self.log_path, "w") as log:
            self.proc = ns.start("env", "WG_PROCESS_FOREGROUND=1", "LOG_LEVEL=error",
                                 WIREGUARD_GO, "-f", self.ifname, stdout=log)
        # `ip netns exec` execs env, which execs wireguard-go: self.proc.pid is its PID.
        try:
            wait_for(lambda: self._ready(), 10, what=f"wireguard-go {self.ifname} in {ns.name}")
        except AssertionError:
            self.stop()
            raise

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"wireguard-go exited {self.proc.returncode}: {self.log()}")
        return os.path.exists(self.sock) and self.ns.has_link(self.ifname)

    def __repr__(self):
        return f"WgDevice({self.ns.name}:{self.ifname}, pid {self.proc.pid})"

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    @property
    def pid(self):
        return self.proc.pid

    def wg(self, *args, input=None, check=True):
        """`wg ARGS` inside the device's namespace."""
        return run(["ip", "netns", "exec", self.ns.name, WG, *args], input=input, check=check)

    def setconf(self, text):
        """`wg setconf IF FILE` with text (the `wg showconf` format; no wg-quick keys)."""
        return self.wg("setconf", self.ifname, "/dev/stdin", input=text)

    def apply_quick(self, text):
        """Apply a wg-quick file as wg-quick would (see the module comment).
        Returns split_quick()'s settings."""
        conf, quick = split_quick(text)
        self.setconf(conf)
        for a in quick["address"]:
            add_addr(self.ns, a if "/" in a else a + ("/32" if ":" not in a else "/128"),
                     self.ifname)
        self.ns.ip("link", "set", self.ifname, "mtu", str(quick["mtu"] or 1420))
        self.ns.ip("link", "set", self.ifname, "up")
        for prefix in quick["allowed_ips"]:
            net = ipaddress.ip_network(prefix, strict=False)
            if net.version == 6:
                enable_ipv6(self.ns, self.ifname)
            self.ns.ip("-" + str(net.version), "route", "replace", str(net), "dev", self.ifname)
        if quick["dns"]:
            write_resolv(self.ns, "".join(f"nameserver {d}\n" for d in quick["dns"]
                                          if _is_ip(d)))
        return quick

    def dump(self):
        """parse_dump() of this device."""
        return wg_dump(self.ifname, self.ns)

    def peer(self, public_key):
        """The dump entry of one peer (KeyError if it is not configured)."""
        return self.dump()["peers"][public_key]

    def wait_handshake(self, public_key, timeout=15):
        """Wait until the peer has a handshake (latest_handshake nonzero); returns its entry."""
        def done():
            p = self.peer(public_key)
            return p if p["latest_handshake"] else None
        return wait_for(done, timeout, interval=0.1,
                        what=f"a handshake of {self.ifname} with {public_key}")

    def public_key(self):
        return self.dump()["interface"]["public_key"]

    def listen_port(self):
        return self.dump()["interface"]["listen_port"]

    def stop(self):
        """Stop wireguard-go by its PID (SIGTERM, SIGKILL after 5 s); remove its
        socket if it left it. Returns the exit status."""
        rc = vnet.Procs.stop(self.proc, signal.SIGTERM)
        try:
            os.unlink(self.sock)
        except FileNotFoundError:
            pass
        return rc


def _is_ip(s):
    try:
        ipaddress.ip_address(s)
        return True
    except ValueError:
        return False  # a search domain: wg-quick hands it to resolvconf, we ignore it


def write_resolv(ns, text):
    """Write /etc/netns/NAME/resolv.conf of a test namespace (made by WgLab.ns)."""
    d = f"/etc/netns/{ns.name}"
    os.makedirs(d, exist_ok=True)
    with open(f"{d}/resolv.conf", "w") as f:
        f.write("# vnet test namespace\n" + text)


# ---------------------------------------------------------------- a lab of peers

class WgLab:
    """Namespaces, links and wireguard-go devices of one test; cleanup() undoes
    what is ours (processes, sockets, /etc/netns entries) before the conftest
    fixtures delete the namespaces."""

    def __init__(self, netns, logdir):
        self._netns = netns
        self.logdir = logdir
        self.namespaces = []
        self.devices = []

    def ns(self):
        """A new test namespace (vnet.Netns: lo up, IPv6 off until an IPv6
        address or route is put on a device) with its own
        /etc/netns/NAME/resolv.conf."""
        ns = self._netns()
        self.namespaces.append(ns)
        write_resolv(ns, "")
        return ns

    def link(self, a, b, cidr_a=None, cidr_b=None, a_if=None, b_if=None, mtu=None):
        """A veth pair between namespaces a and b (names a_if/b_if, default
        "ul-" + hex, both up) with the given addresses; returns (a_if, b_if)."""
        tag = secrets.token_hex(3)
        a_if = a_if or f"ula{tag}"
        b_if = b_if or f"ulb{tag}"
        veth(a, a_if, b, b_if)
        for ns, ifn, cidr in ((a, a_if, cidr_a), (b, b_if, cidr_b)):
            if mtu:
                ns.ip("link", "set", ifn, "mtu", str(mtu))
            if cidr:
                add_addr(ns, cidr, ifn)
        return a_if, b_if

    def device(self, ns, ifname=None):
        """wireguard-go started in ns (a WgDevice), stopped at cleanup."""
        dev = WgDevice(ns, self.logdir, ifname)
        self.devices.append(dev)
        return dev

    def cleanup(self):
        """Stop our wireguard-go processes, delete our namespaces and their
        /etc/netns entries (may be called again; the fixture calls it)."""
        for dev in reversed(self.devices):
            dev.stop()
        self.devices.clear()
        for ns in self.namespaces:
            ns.delete()
            shutil.rmtree(f"/etc/netns/{ns.name}", ignore_errors=True)
        self.namespaces.clear()


@pytest.fixture
def wglab(netns, tmp_path):
    """A WgLab for the test (wireguard-go logs in tmp_path), cleaned up at
    teardown even when the test fails (import it into a test module:
    `from wg_util import wglab  # noqa: F401`)."""
    lab = WgLab(netns, tmp_path)
    yield lab
    lab.cleanup()


# ---------------------------------------------------------------- traffic

def iperf3(client_ns, server_ns, server_ip, secs=2, port=5201, extra=()):
    """One bounded iperf3 TCP run from client_ns to server_ip (in server_ns);
    returns the client's JSON result."""
    import json
    srv = server_ns.start("iperf3", "-s", "-1", "-B", server_ip, "-p", str(port),
                          stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: server_ns.listening(port), 10, what="iperf3 server")
        cli = client_ns.exec("iperf3", "-c", server_ip, "-p", str(port), "-t", str(secs), "-J",
                             *extra, timeout=secs + 30, check=False)
        srv.wait(timeout=15)
    finally:
        vnet.Procs.stop(srv)
    res = json.loads(cli.stdout)
    assert "error" not in res, f"iperf3 failed: {res.get('error')}"
    return res
