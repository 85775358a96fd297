"""Helpers for the VXLAN overlay tests: an underlay, kernel VTEPs, Open vSwitch
and FRR (BGP EVPN) hosts, each built inside namespaces the test creates.

Theory of operation
    A "host" is a network namespace standing for one machine of the overlay.
    Hosts meet on an underlay: a namespace holding a Linux bridge, with one veth
    per host (`ul0` on the host's side, addresses only inside these namespaces).
    On a host sits a VTEP of some kind, and behind it a "guest" namespace (eth0)
    whose traffic the overlay carries:

        guest --veth-- [host: bridge + vxlan device (kernel VTEP)]    --+
        guest --veth-- [host: ovs-vswitchd, netdev datapath (OVS)]    --+-- underlay bridge
        guest --veth-- [host: kernel VTEP driven by zebra/bgpd (FRR)] --+

    Everything a helper starts runs in the foreground under the test's `procs`
    (stopped by PID at teardown) and keeps its files in a private directory:
    ovsdb-server and ovs-vswitchd get their own database, run directory and
    control sockets (OVS_RUNDIR etc. point there; the system's /run/openvswitch
    and /etc/openvswitch are never used, so a system OVS started by the
    package's postinst would not matter), zebra and bgpd their own
    configuration, pid files, vty sockets (--vty_socket) and zserv socket (-z)
    with the TCP vty off (-P 0).  Namespaces are deleted by the conftest
    fixture.

    Checksum offload: a veth hands a packet whose checksum is still to be
    filled in ("partial") to the next namespace as it is.  A kernel socket
    accepts that, but a packet socket (OVS's netdev datapath reads its ports
    with AF_PACKET) or a user-space VTEP (the inner frame arrives in a UDP
    payload) sees the unfilled checksum, and the peer drops the packet.  Real
    NICs fill checksums in; here the helpers turn transmit checksum offload
    off (ethtool -K IF tx off) on the underlay veths (the kernel then
    checksums and segments what it encapsulates before it leaves, as for a
    NIC without tunnel offloads) and on the guests' eth0 (needed where OVS
    reads a guest's veth) unless asked not to (csum_offload=True).

    underlay(netns, mtu)        -> Underlay (.attach(host, cidr) a host to it)
    kernel_vtep(netns, host, vni, local, remotes, guest_cidr)   -> KernelVtep
    ovs_host(netns, procs, host, local_cidr, vni, remotes, guest_cidr) -> OvsHost
    frr_host(netns, procs, host, vni, local, asn, neighbors, guest_cidr) -> FrrHost
    Frr(procs, host, ...)       zebra+bgpd alone, for a bridge+vxlan made by someone else
    missing_ovs(), missing_frr(), missing_vxlan()  -> why a test must skip, or None
    tcp_transfer(src, dst, addr, nbytes)   bytes through a TCP connection, checked
"""
import hashlib
import ipaddress
import json
import os
import shutil
import socket
import subprocess
import tempfile

from vnet import run, wait_for

OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
FRR_DIR = "/usr/lib/frr"
ZERO_MAC = "00:00:00:00:00:00"
VXLAN_PORT = 4789


def _family(addr):
    return ipaddress.ip_address(str(addr).split("/")[0]).version


def _overhead(addr):
    """VXLAN encapsulation bytes on an underlay of addr's family."""
    return 50 if _family(addr) == 4 else 70


def tx_csum_off(ns, ifname):
    """Transmit checksum offload off on ns:ifname (see the module comment)."""
    ns.exec("ethtool", "-K", ifname, "tx", "off")


def enable_ipv6(ns, ifname):
    """IPv6 on one interface of a test namespace (vnet.Netns turns it off), no DAD."""
    ns.exec("sysctl", "-q", "-w", f"net.ipv6.conf.{ifname}.disable_ipv6=0",
            f"net.ipv6.conf.{ifname}.accept_dad=0", f"net.ipv6.conf.{ifname}.accept_ra=0")


def add_addr(ns, cidr, dev):
    """cidr on ns:dev (IPv6 enabled on dev first, without DAD)."""
    if _family(cidr) == 6:
        enable_ipv6(ns, dev)
        ns.ip("addr", "add", cidr, "dev", dev, "nodad")
    else:
        ns.ip("addr", "add", cidr, "dev", dev)


# ---------------------------------------------------------------- what is missing

def missing_vxlan():
    """None if this kernel makes vxlan devices and `bridge` exists, else why not."""
    if not shutil.which("bridge") or not shutil.which("ethtool"):
        return "iproute2's bridge and ethtool are needed (scripts/install-deps.sh installs them)"
    name = "vxchk-" + os.urandom(3).hex()
    try:
        run(["ip", "netns", "add", name])
        cp = run(["ip", "-n", name, "link", "add", "vx0", "type", "vxlan", "id", "1",
                  "dstport", str(VXLAN_PORT)], check=False)
        if cp.returncode != 0:
            return f"this kernel cannot make vxlan devices: {cp.stderr.strip()}"
    finally:
        run(["ip", "netns", "del", name], check=False)
    return None


def missing_ovs():
    """None if Open vSwitch (ovsdb-server, ovs-vswitchd, tools, schema) is installed."""
    tools = ("ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl")
    if not all(shutil.which(t) for t in tools) or not os.path.exists(OVS_SCHEMA):
        return "Open vSwitch is not installed (openvswitch-switch; scripts/install-deps.sh installs it)"
    return missing_vxlan()


def missing_frr():
    """None if FRR's zebra, bgpd and vtysh are installed."""
    if not all(os.access(f"{FRR_DIR}/{d}", os.X_OK) for d in ("zebra", "bgpd")) or \
            not shutil.which("vtysh"):
        return "FRR is not installed (frr; scripts/install-deps.sh installs it)"
    try:
        import pwd
        pwd.getpwnam("frr")
    except KeyError:
        return "FRR's user 'frr' does not exist (a broken frr package install?)"
    return missing_vxlan()


# ---------------------------------------------------------------- underlay

class Underlay:
    """A Linux bridge `ul` in its own namespace; hosts attach with a veth each."""

    def __init__(self, netns, mtu=1500):
        self.ns = netns()
        self.mtu = mtu
        self.n = 0
        self.ns.ip("link", "add", "ul", "mtu", str(mtu), "type", "bridge")
        self.ns.ip("link", "set", "ul", "up")

    def attach(self, host, cidr=None, ifname="ul0", mtu=None, csum_offload=False):
        """A veth host:ifname <-> this bridge, up, with cidr on it (None: no
        address, e.g. for OVS, which puts its own on br-phy). Returns ifname."""
        mtu = mtu or self.mtu
        port = f"h{self.n}"
        self.n += 1
        self.ns.ip("link", "add", port, "mtu", str(mtu), "type", "veth", "peer", "name",
                   ifname, "mtu", str(mtu), "netns", host.name)
        self.ns.ip("link", "set", port, "master", "ul")
        self.ns.ip("link", "set", port, "up")
        if not csum_offload:
            tx_csum_off(host, ifname)
        if cidr:
            add_addr(host, cidr, ifname)
        host.ip("link", "set", ifname, "up")
        return ifname


def underlay(netns, mtu=1500):
    return Underlay(netns, mtu)


# ---------------------------------------------------------------- guests

def add_guest(netns, host, bridge_if, port, cidr, mtu, mac=None, csum_offload=False):
    """A guest namespace behind a veth host:port (enslaved to bridge_if when
    given) <-> guest:eth0 holding cidr; returns the guest Netns."""
    g = netns()
    host.ip("link", "add", port, "mtu", str(mtu), "type", "veth", "peer", "name", "eth0",
            "mtu", str(mtu), "netns", g.name)
    if bridge_if:
        host.ip("link", "set", port, "master", bridge_if)
    host.ip("link", "set", port, "up")
    if mac:
        g.ip("link", "set", "eth0", "address", mac)
    if not csum_offload:
        tx_csum_off(g, "eth0")
    if cidr:
        add_addr(g, cidr, "eth0")
    g.ip("link", "set", "eth0", "up")
    return g


# ---------------------------------------------------------------- kernel VTEP

class KernelVtep:
    """A Linux VTEP on host: vxlan device `vx` (nolearning unless learning) and
    a bridge `br` holding it and the guests' veths.  remotes go into the flood
    list (bridge fdb append 00:00:00:00:00:00 dev vx dst R).  The bridge learns
    remote MACs on the vxlan port unless bridge_learning is False (as FRR
    wants it: zebra installs them); the vxlan device itself maps unknown MACs
    to the flood list."""

    def __init__(self, netns, host, vni, local, remotes=(), guest_cidr=None, dstport=VXLAN_PORT,
                 learning=False, mtu=None, dev="ul0", vx="vx0", br="br0", guest_mac=None,
                 csum_offload=False, bridge_learning=True, extra=()):
        self.netns = netns
        self.host = host
        self.vni = vni
        self.local = str(local).split("/")[0]
        self.vx = vx
        self.br = br
        self.csum_offload = csum_offload
        if mtu is None:
            lower = int(host.links()[dev]["mtu"]) if dev else 1500
            mtu = lower - _overhead(self.local)
        self.mtu = mtu
        args = ["link", "add", vx, "mtu", str(mtu), "type", "vxlan", "id", str(vni),
                "local", self.local, "dstport", str(dstport)]
        if dev:
            args += ["dev", dev]
        args += ["learning" if learning else "nolearning", *extra]
        host.ip(*args)
        host.ip("link", "add", br, "mtu", str(mtu), "type", "bridge")
        host.ip("link", "set", vx, "master", br)
        if not bridge_learning:  # EVPN: the control plane installs remote MACs
            host.exec("bridge", "link", "set", "dev", vx, "learning", "off")
        host.ip("link", "set", vx, "up")
        host.ip("link", "set", br, "up")
        for r in remotes:
            self.flood_add(r)
        self.guests = []
        self.guest = self.add_guest(guest_cidr, mac=guest_mac) if guest_cidr else None

    def add_guest(self, cidr, mac=None):
        """Another guest namespace on the bridge (veth gN <-> eth0); returns it."""
        g = add_guest(self.netns, self.host, self.br, f"g{len(self.guests)}", cidr, self.mtu,
                      mac=mac, csum_offload=self.csum_offload)
        self.guests.append(g)
        return g

    def flood_add(self, remote):
        self.host.exec("bridge", "fdb", "append", ZERO_MAC, "dev", self.vx, "dst", str(remote))

    def flood_del(self, remote):
        self.host.exec("bridge", "fdb", "del", ZERO_MAC, "dev", self.vx, "dst", str(remote))

    def fdb(self):
        """The vxlan device's fdb: a list of dicts (mac, dst, flags, state...)."""
        out = self.host.exec("bridge", "-j", "fdb", "show", "dev", self.vx).stdout
        return json.loads(out or "[]")

    def remote_macs(self):
        """{MAC: VTEP address} of the vxlan device's unicast entries with a dst."""
        return {e["mac"]: e["dst"] for e in self.fdb() if e.get("dst") and e["mac"] != ZERO_MAC}

    def where(self, mac):
        """Where the VTEP sends frames to mac: the remote VTEP address, "local"
        (the bridge has it on a guest's port), or None (unknown: flooded).
        The bridge's entry decides (its port, then the vxlan device's `MAC dst
        VTEP` entry): FRR's zebra leaves that entry behind when a remote MAC
        moves here."""
        out = self.host.exec("bridge", "-j", "fdb", "show", "br", self.br).stdout
        port = next((e.get("ifname") for e in json.loads(out or "[]")
                     if e["mac"] == mac and e.get("master") == self.br and
                     e.get("state") != "permanent"), None)
        if not port:
            return None
        if port != self.vx:
            return "local"
        return self.remote_macs().get(mac)

    def flood_list(self):
        """The addresses of the 00:00:00:00:00:00 entries (head-end replication)."""
        return {e["dst"] for e in self.fdb() if e.get("dst") and e["mac"] == ZERO_MAC}

    def bridge_macs(self):
        """{MAC: port} the bridge knows (not its own, permanent ones)."""
        out = self.host.exec("bridge", "-j", "fdb", "show", "br", self.br).stdout
        return {e["mac"]: e.get("ifname") for e in json.loads(out or "[]")
                if e.get("master") == self.br and e.get("state") != "permanent"}


def kernel_vtep(netns, host, vni, local, remotes=(), guest_cidr=None, **kw):
    return KernelVtep(netns, host, vni, local, remotes, guest_cidr, **kw)


# ---------------------------------------------------------------- Open vSwitch

class OvsHost:
    """Open vSwitch on host with the userspace (netdev) datapath, no kernel module:

        ul0 (underlay veth) -- br-phy (local address on its internal port)
        br-int: a vxlan interface per remote (remote_ip, key, dst_port)
                + a veth `gv` to the guest's eth0

    ovsdb-server and ovs-vswitchd (--disable-system) run in host, in the
    foreground under procs; their database, sockets, logs and pid files live
    in workdir (a new /tmp/vxovs-* directory, removed by stop(), if not given).
    OVS's userspace tunnel code finds the underlay route and neighbour by
    itself (its route table mirrors the namespace's kernel routes; it sends
    its own ARP)."""

    def __init__(self, netns, procs, host, local_cidr, vni, remotes=(), guest_cidr=None,
                 dev="ul0", dst_port=VXLAN_PORT, mtu=None, workdir=None, guest_mac=None,
                 csum_offload=False):
        self.procs = procs
        self.host = host
        self.vni = vni
        self.dst_port = dst_port
        self.local = local_cidr.split("/")[0]
        self.own_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="vxovs-")
        os.makedirs(self.dir, exist_ok=True)
        self.db = f"unix:{self.dir}/db.sock"
        self.env = [f"OVS_RUNDIR={self.dir}", f"OVS_LOGDIR={self.dir}", f"OVS_DBDIR={self.dir}",
                    f"OVS_SYSCONFDIR={self.dir}"]
        self.procs_started = []
        self.remotes = []
        self.guest = None
        lower = int(host.links()[dev]["mtu"])
        self.mtu = mtu or lower - _overhead(self.local)
        try:
            self._setup(netns, dev, local_cidr, lower, remotes, guest_cidr, guest_mac,
                        csum_offload)
        except BaseException:
            self.stop()
            raise

    def _setup(self, netns, dev, local_cidr, lower, remotes, guest_cidr, guest_mac, csum_offload):
        host = self.host
        self._start_daemons()
        self.vsctl("add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                   "--", "set", "interface", "br-phy", f"mtu_request={lower}")
        self.vsctl("add-port", "br-phy", dev)
        add_addr(host, local_cidr, "br-phy")
        host.ip("link", "set", "br-phy", "up")
        self.vsctl("add-br", "br-int", "--", "set", "bridge", "br-int", "datapath_type=netdev")
        for r in remotes:
            self.remote_add(r)
        if guest_cidr:
            self.guest = add_guest(netns, host, None, "gv", guest_cidr, self.mtu, mac=guest_mac,
                                   csum_offload=csum_offload)
            self.vsctl("add-port", "br-int", "gv")

    def _start_daemons(self):
        d = self.dir
        run(["ovsdb-tool", "create", f"{d}/conf.db", OVS_SCHEMA])
        self.ovsdb = self.host.start(
            "env", *self.env, "ovsdb-server", f"{d}/conf.db", f"--remote=punix:{d}/db.sock",
            f"--unixctl={d}/ovsdb.ctl", f"--pidfile={d}/ovsdb.pid", f"--log-file={d}/ovsdb.log",
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs_started.append(self.ovsdb)
        wait_for(lambda: os.path.exists(f"{d}/db.sock") or self._died(self.ovsdb, "ovsdb-server"),
                 10, what="ovsdb-server's socket")
        self.vsctl("--no-wait", "init")
        self.vswitchd = self.host.start(
            "env", *self.env, "ovs-vswitchd", self.db, "--disable-system",
            f"--unixctl={d}/vswitchd.ctl", f"--pidfile={d}/vswitchd.pid",
            f"--log-file={d}/vswitchd.log", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs_started.append(self.vswitchd)
        wait_for(lambda: os.path.exists(f"{d}/vswitchd.ctl") or self._died(self.vswitchd, "ovs-vswitchd"),
                 10, what="ovs-vswitchd's control socket")

    @staticmethod
    def _died(p, what):
        if p.poll() is not None:
            raise RuntimeError(f"{what} exited with {p.returncode}")
        return False

    def vsctl(self, *args, timeout=20):
        """ovs-vsctl on the private database (waits for ovs-vswitchd to apply)."""
        return run(["ovs-vsctl", f"--db={self.db}", f"--timeout={timeout}", *args],
                   timeout=timeout + 5).stdout

    def appctl(self, *args):
        """ovs-appctl to the private ovs-vswitchd."""
        return run(["ovs-appctl", "-t", f"{self.dir}/vswitchd.ctl", *args]).stdout

    def remote_add(self, remote):
        """A vxlan interface on br-int towards remote (one per remote VTEP)."""
        name = f"vx{len(self.remotes)}"
        self.vsctl("add-port", "br-int", name, "--", "set", "interface", name, "type=vxlan",
                   f"options:remote_ip={remote}", f"options:key={self.vni}",
                   f"options:dst_port={self.dst_port}", f"options:local_ip={self.local}")
        self.remotes.append(str(remote))
        return name

    def macs(self):
        """{MAC: interface name} of br-int's MAC learning table."""
        out = {}
        ports = self._ofports()
        for line in self.appctl("fdb/show", "br-int").splitlines()[1:]:
            f = line.split()
            if len(f) >= 3:
                out[f[2]] = ports.get(f[0], f[0])
        return out

    def _ofports(self):
        """{OpenFlow port number: interface name} of br-int."""
        out = {}
        for name in self.vsctl("list-ifaces", "br-int").split():
            out[self.vsctl("get", "interface", name, "ofport").strip()] = name
        return out

    def log(self):
        try:
            with open(f"{self.dir}/vswitchd.log") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        """ovs-vswitchd, then ovsdb-server, by PID; removes a private workdir."""
        for p in reversed(self.procs_started):
            self.procs.stop(p)
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def ovs_host(netns, procs, host, local_cidr, vni, remotes=(), guest_cidr=None, **kw):
    return OvsHost(netns, procs, host, local_cidr, vni, remotes, guest_cidr, **kw)


# ---------------------------------------------------------------- FRR (BGP EVPN)

class Frr:
    """zebra + bgpd of FRR in host, private to the test: config, logs, pid
    files, vty sockets and the zserv socket in a new /tmp/vxfrr-* directory
    (owned by FRR's user, which the daemons drop to), TCP vty off.  bgpd peers
    with every address of neighbors in AS asn (iBGP; ebgp_asns maps neighbours
    in other ASes) with only the L2VPN EVPN address family, and
    advertise-all-vni: zebra reads the namespace's bridges and vxlan devices,
    bgpd advertises their local MACs (type-2) and the VTEP (type-3), and zebra
    installs what the peers advertise (remote MACs and flood entries) in the
    vxlan devices' fdb."""

    def __init__(self, procs, host, router_id, asn, neighbors, ebgp_asns=None, extra_bgp=""):
        import pwd
        self.procs = procs
        self.host = host
        self.dir = tempfile.mkdtemp(prefix="vxfrr-")
        fu = pwd.getpwnam("frr")
        os.chown(self.dir, fu.pw_uid, fu.pw_gid)
        d = self.dir
        ebgp_asns = ebgp_asns or {}
        zconf = f"hostname {host.name}\nlog file {d}/zebra.log\n"
        nb = "".join(f" neighbor {n} remote-as {ebgp_asns.get(n, asn)}\n"
                     f" neighbor {n} timers 3 9\n neighbor {n} timers connect 1\n"
                     for n in neighbors)
        act = "".join(f"  neighbor {n} activate\n" for n in neighbors)
        bconf = (f"frr defaults datacenter\nhostname {host.name}\nlog file {d}/bgpd.log\n"
                 f"router bgp {asn}\n bgp router-id {router_id}\n no bgp default ipv4-unicast\n"
                 f"{nb}{extra_bgp} address-family l2vpn evpn\n{act}  advertise-all-vni\n"
                 " exit-address-family\n")
        for name, text in (("zebra.conf", zconf), ("bgpd.conf", bconf)):
            with open(f"{d}/{name}", "w") as f:
                f.write(text)
            os.chown(f"{d}/{name}", fu.pw_uid, fu.pw_gid)
        self.daemons = []
        try:
            self._start_all()
        except BaseException:
            self.stop()
            raise

    def _start_all(self):
        d = self.dir
        common = ["-z", f"{d}/zserv.api", "--vty_socket", d, "-P", "0", "-u", "frr", "-g", "frr"]
        self._start("zebra", "-f", f"{d}/zebra.conf", "-i", f"{d}/zebra.pid", *common)
        wait_for(lambda: os.path.exists(f"{d}/zserv.api") or self._died("zebra"), 10,
                 what="zebra's zserv socket")
        self._start("bgpd", "-f", f"{d}/bgpd.conf", "-i", f"{d}/bgpd.pid", *common)
        wait_for(lambda: os.path.exists(f"{d}/bgpd.vty") or self._died("bgpd"), 10,
                 what="bgpd's vty socket")

    def _start(self, daemon, *args):
        log = open(f"{self.dir}/{daemon}.out", "w")
        p = self.host.start(f"{FRR_DIR}/{daemon}", *args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        p.daemon_name = daemon
        self.daemons.append(p)

    def _died(self, name):
        for p in self.daemons:
            if p.daemon_name == name and p.poll() is not None:
                raise RuntimeError(f"{name} exited with {p.returncode}: {self.log(name)[-2000:]}")
        return False

    def vtysh(self, *cmds):
        """vtysh -c CMD... against this instance; its output."""
        args = ["vtysh", "--vty_socket", self.dir]
        for c in cmds:
            args += ["-c", c]
        return run(args).stdout

    def vtysh_json(self, cmd):
        return json.loads(self.vtysh(cmd + " json") or "{}")

    def established(self):
        """The set of neighbours whose BGP session is Established."""
        data = self.vtysh_json("show bgp l2vpn evpn summary")
        peers = data.get("peers", {})
        return {n for n, p in peers.items() if p.get("state") == "Established"}

    def evpn_routes(self):
        """EVPN routes in bgpd's table: a set of tuples
        (2, MAC, IP or None, next hop) for MAC/IP routes, (3, originator, next hop) for IMET."""
        data = self.vtysh_json("show bgp l2vpn evpn")
        out = set()
        for rd, routes in data.items():
            if not isinstance(routes, dict) or "rd" not in routes:
                continue
            for prefix, r in routes.items():
                if not isinstance(r, dict) or not prefix.startswith("["):
                    continue
                for paths in r.get("paths", []):
                    for p in paths if isinstance(paths, list) else [paths]:
                        nh = (p.get("nexthops") or [{}])[0].get("ip")
                        f = prefix.strip("[]").split("]:[")
                        if f[0] == "2":
                            ip = f[5] if len(f) > 5 and f[5] else None
                            out.add((2, f[3], ip, nh))
                        elif f[0] == "3":
                            out.add((3, f[3], nh))
        return out

    def log(self, daemon="bgpd"):
        text = ""
        for name in (f"{daemon}.log", f"{daemon}.out"):
            try:
                with open(f"{self.dir}/{name}") as f:
                    text += f.read()
            except FileNotFoundError:
                pass
        return text

    def stop(self):
        """bgpd, then zebra, by PID; removes the private directory."""
        for p in reversed(self.daemons):
            self.procs.stop(p)
        shutil.rmtree(self.dir, ignore_errors=True)


class FrrHost:
    """A kernel VTEP (vtep) whose fdb FRR (frr) fills from BGP EVPN."""

    def __init__(self, vtep, frr):
        self.vtep = vtep
        self.frr = frr
        self.host = vtep.host
        self.guest = vtep.guest

    def stop(self):
        self.frr.stop()


def frr_host(netns, procs, host, vni, local, asn, neighbors, guest_cidr=None, router_id=None,
             **kw):
    """A kernel VTEP with an empty flood list (FRR fills it) plus FRR peering
    with neighbors over the underlay; the VTEP address is local (zebra takes
    it from the vxlan device's `local`)."""
    kw.setdefault("bridge_learning", False)
    vtep = KernelVtep(netns, host, vni, local, (), guest_cidr, **kw)
    frr = Frr(procs, host, router_id or vtep.local, asn, neighbors)
    return FrrHost(vtep, frr)


# ---------------------------------------------------------------- traffic

def tcp_transfer(src, dst, addr, nbytes=2_000_000, port=5701, timeout=30):
    """nbytes of random data from namespace src to a server in dst at addr:port
    over TCP; the receiver's SHA-256 must match the sender's. Returns the digest."""
    data = os.urandom(nbytes)
    fam = socket.AF_INET6 if _family(addr) == 6 else socket.AF_INET
    box = {}

    def listen():
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        s.settimeout(timeout)
        return s

    ls = dst.in_ns(listen)

    import threading

    def serve():
        try:
            c, _ = ls.accept()
            c.settimeout(timeout)
            h = hashlib.sha256()
            n = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                h.update(b)
                n += len(b)
            c.close()
            box["got"] = (n, h.hexdigest())
        except OSError as e:
            box["err"] = e
        finally:
            ls.close()

    t = threading.Thread(target=serve)
    t.start()

    def send():
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((addr, port))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        s.recv(1)
        s.close()

    try:
        src.in_ns(send)
    finally:
        t.join(timeout + 5)
    if "err" in box:
        raise AssertionError(f"TCP receiver in {dst.name}: {box['err']}")
    want = (nbytes, hashlib.sha256(data).hexdigest())
    assert box.get("got") == want, f"TCP {src.name} -> {dst.name} {addr}: got {box.get('got')}, want {want}"
    return want[1]


# ---------------------------------------------------------------- vnetd hosts of an overlay

def gratuitous_arp(ns, ip, ifname="eth0", count=1, mac=None, vlan=None):
    """A gratuitous ARP (a broadcast request for ip from ip, RFC 5227's
    announcement) from mac (ns:ifname's own by default), as a migrated VM
    sends it; with vlan, 802.1Q-tagged (a raw socket: no VLAN device needed)."""
    import vnet
    mac = mac or ns.mac(ifname)
    payload = (b"\x00\x01\x08\x00\x06\x04\x00\x01" + vnet.mac_bytes(mac) + socket.inet_aton(ip) +
               b"\0" * 6 + socket.inet_aton(ip))
    if vlan is None:
        frame = vnet.eth_frame("ff:ff:ff:ff:ff:ff", mac, 0x0806, payload)
    else:
        frame = vnet.eth_frame("ff:ff:ff:ff:ff:ff", mac, 0x8100,
                               vlan.to_bytes(2, "big") + b"\x08\x06" + payload, min_len=64)
    s = ns.packet_socket(ifname)
    try:
        for _ in range(count):
            s.send(frame)
    finally:
        s.close()


def vxlan_header(vni, flags=0x08):
    """The 8-byte VXLAN header (RFC 7348): flags (I set), VNI."""
    return bytes([flags, 0, 0, 0]) + (vni << 8).to_bytes(4, "big")


def mac_flood(ns, src, dsts, vni, count, inner_dst, port=VXLAN_PORT, burst=200, pause=0.01,
              seed=1):
    """count VXLAN datagrams from ns (a UDP socket bound to src, a listed VTEP's
    address) to the VTEPs dsts in turn, each carrying a frame of network vni
    from a different random unicast source MAC (locally administered, no two
    alike) to inner_dst, ethertype 0x88b5 (local experimental: nobody answers).
    Paced: burst datagrams, then pause seconds, so the receivers' socket
    buffers do not overflow (the test is about the remote table, not the
    kernel's queues). Returns the source MACs (as strings) sent to each dst."""
    import random
    rnd = random.Random(seed)
    ids = rnd.sample(range(1, 1 << 40), count)
    hdr = vxlan_header(vni)
    dst_b = bytes(int(x, 16) for x in inner_dst.split(":"))
    sent = {d: [] for d in dsts}

    def body():
        import time
        fam = socket.AF_INET6 if _family(src) == 6 else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((src, 0))
        try:
            for i, n in enumerate(ids):
                mac = b"\x02" + n.to_bytes(5, "big")
                d = dsts[i % len(dsts)]
                frame = dst_b + mac + b"\x88\xb5" + b"\0" * 46
                s.sendto(hdr + frame, (d, port))
                sent[d].append(":".join(f"{b:02x}" for b in mac))
                if (i + 1) % burst == 0:
                    time.sleep(pause)
        finally:
            s.close()

    ns.in_ns(body)
    return sent


def ping_matrix(pairs, count=3, interval=0.2, wait=2, until=10):
    """Ping every (src namespace, dst address) of pairs at once: each first
    until one reply arrives (ARP, learning; at most `until` seconds), then
    count times. Returns {(src name, dst): (transmitted, received)}."""
    from concurrent.futures import ThreadPoolExecutor

    import vnet

    def one(pair):
        ns, dst = pair
        try:
            ns.ping_until(dst, timeout=until)
        except AssertionError:
            return (ns.name, dst), (count, 0)
        cp = ns.ping(dst, count=count, interval=interval, wait=wait, check=False)
        return (ns.name, dst), vnet.ping_stats(cp.stdout)

    with ThreadPoolExecutor(max_workers=min(16, len(pairs) or 1)) as ex:
        return dict(ex.map(one, pairs))


def unreachable(pairs, wait=1):
    """The pairs (src namespace, dst address) none of whose pings (2, at once)
    got an answer: the caller expects all of them."""
    from concurrent.futures import ThreadPoolExecutor

    import vnet

    def one(pair):
        ns, dst = pair
        cp = ns.ping(dst, count=2, interval=0.2, wait=wait, check=False)
        return pair, vnet.ping_stats(cp.stdout)[1] == 0

    with ThreadPoolExecutor(max_workers=min(16, len(pairs) or 1)) as ex:
        return [p for p, quiet in ex.map(one, pairs) if quiet]


def vx_vtep(d, addr, port="vx"):
    """The status of VTEP addr on d's vxlan port (docs/control-protocol.md), or None."""
    return next((v for v in d.port(port)["vteps"] if v["address"] == addr), None)


def remote_vtep(d, network, mac, port="vx"):
    """The VTEP d's vxlan port sends mac of network to, from the remote
    entries `vnetctl fdb` lists with their VTEP; None when d has no such
    entry, False when this vnetctl does not list VTEPs in its fdb."""
    entries = d.fdb(network)
    if not any("vtep" in e for e in entries):
        return False
    return next((e["vtep"] for e in entries if e["mac"] == mac and e.get("vtep")), None)
