"""Three vnetd hosts on one overlay (issue 12, tests "three vnetd hosts").

Three "hosts" are namespaces h1, h2, h3 on an underlay bridge (overlay_util:
198.18.12.0/24, addresses only inside the test's namespaces); a vnetd runs
in each (ip netns exec), with guests in namespaces of their own behind tap
ports, and a vxlan port listing the two other hosts:

          g1 (lan) m1 (mgmt) t1 (trunk)        g2 m2 t2            g3 m3 t3
             \\       |       /                  \\ | /               \\ | /
              vnetd h1 (nat gateway, DHCP)      vnetd h2            vnetd h3
                       \\-------------- underlay bridge ---------------/

lan is VNI 100: a nat network with DHCP and DNS on h1, a network without
services (isolated, no subnet) on h2 and h3, whose guests lease from h1's
gateway across the overlay.

mgmt, the "VLAN-mapped second network", is VNI 200. What that can honestly
mean here: on each host mgmt (and lan) is also a VLAN of a trunk tap port,
and the VLAN id is a property of the host's own configuration: mgmt is VLAN
21 on h1, 22 on h2, 23 on h3 (lan VLAN 10 everywhere). vnetd maps VLAN <->
VNI at its trunk port: a frame tagged 22 on h2's trunk leaves h2 untagged
under VNI 200 (RFC 7348 6.1) and reaches h3's trunk tagged 23 and h1's
access port m1 untagged. This kernel has no 8021q module, so the trunk's
namespace cannot use VLAN subinterfaces: a raw-socket host (modes_util's
VlanPeer) answers ARP and ping on one VLAN with tagged frames and records
the tag of every frame the trunk delivers (read from PACKET_AUXDATA, the
same source tcpdump uses). Each trunk namespace holds two of them, one on
VLAN 10 (lan) and one on the host's mgmt VLAN; ordinary kernel guests sit on
access ports (g: lan, m: mgmt). Both networks use 10.0.2.0/24 addresses, so
a leak would answer a ping.

Tests:
    test_three_hosts_two_networks    full connectivity in both networks,
                                     leases from h1 for guests on all hosts,
                                     no leak between VNI 100 and 200, tags
    test_host_killed_and_restarted   h3's vnetd SIGKILLed: h1 <-> h2 go on,
                                     flooding to the dead VTEP costs nothing
                                     visible; restarted, h3 rejoins
    test_mac_moves_between_hosts     a VM's MAC moves h2 -> h3 -> h2 with a
                                     gratuitous ARP: h1's traffic follows
    test_unlisted_vtep_and_mac_flood a kernel VTEP not in the lists is ignored
                                     and counted; a listed VTEP flooding 20000
                                     random source MACs stays at its share and
                                     the other remotes keep working
    test_jumbo_underlay              underlay MTU 9000: guests get 8950 by
                                     DHCP and a DF ping of 8950 bytes crosses

Malformed VXLAN headers are test_vxlan.py's. Every wait is bounded.
"""
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import overlay_util as ou
from modes_util import VlanPeer, tap, udhcpc, vnetd_in  # noqa: F401 (vnetd_in is a fixture)
from test_vxlan import vx_port
from vnet import ping_stats, wait_for

ADDR = {i: f"198.18.12.{i}" for i in (1, 2, 3, 4)}
HOSTS = (1, 2, 3)
GW = "10.0.2.2"
LAN_VLAN = 10


def mgmt_vlan(i):
    return 20 + i


def guest_mac(kind, i):
    """Fixed MACs: every host derives a tap's default MAC from the machine id
    and the port name, which are the same for the three vnetd here."""
    return f"02:00:00:0c:{kind:02x}:{i:02x}"


G, M, LANPEER, MGMTPEER, VM = 1, 2, 3, 4, 5


@pytest.fixture(autouse=True)
def _need_tools():
    if not shutil.which("ethtool") or not shutil.which("bridge"):
        pytest.skip("iproute2's bridge and ethtool are needed (scripts/install-deps.sh)")


def in_parallel(fn, items):
    """fn(item) for every item at once; the results in order."""
    items = list(items)
    with ThreadPoolExecutor(max_workers=len(items) or 1) as ex:
        return list(ex.map(fn, items))


def three_hosts(netns, vnetd_in, mtu=1500, mgmt=False, vx_kw=None, extra_ports=None):
    """The topology of the module comment (mgmt=False: lan and its g guests
    only). vx_kw: {host: extra keys of its vxlan port}; extra_ports: {host:
    [port dicts]}. Returns a namespace: ul, h[i], g[i], m[i], t[i], d[i]."""
    vx_kw, extra_ports = vx_kw or {}, extra_ports or {}
    o = SimpleNamespace(ul=ou.underlay(netns, mtu), h={}, g={}, m={}, t={}, d={})
    for i in HOSTS:
        o.h[i] = netns()
        o.ul.attach(o.h[i], f"{ADDR[i]}/24")
        o.g[i] = netns()
        if mgmt:
            o.m[i], o.t[i] = netns(), netns()
    for i in HOSTS:
        lan = {"name": "lan", "vni": 100}
        if i == 1:
            lan.update(mode="nat", dns={"upstream": ["127.0.0.1"]})
        else:
            lan["mode"] = "isolated"
        nets, ports = [lan], [tap(f"g{i}", o.g[i], "lan", mac=guest_mac(G, i))]
        if mgmt:
            lan["vlan"] = LAN_VLAN
            nets.append({"name": "mgmt", "mode": "isolated", "vni": 200, "vlan": mgmt_vlan(i)})
            ports += [tap(f"m{i}", o.m[i], "mgmt", mac=guest_mac(M, i)),
                      tap(f"t{i}", o.t[i], trunk=["lan", "mgmt"])]
        ports += extra_ports.get(i, [])
        vx = vx_port(ADDR[i], None, remotes=[ADDR[j] for j in HOSTS if j != i],
                     networks=[n["name"] for n in nets])
        vx.update(vx_kw.get(i, {}))
        ports.append(vx)
        o.d[i] = vnetd_in(o.h[i], {"networks": nets, "ports": ports}, name=f"vnetd-{i}",
                          start=False)
    in_parallel(lambda d: d.start(), o.d.values())
    for ns in [*o.g.values(), *o.m.values(), *o.t.values()]:
        ns.wait_link()
        ns.ip("link", "set", "eth0", "up")
    return o


def leases_for(guests, tmp_path):
    """DHCP leases for {i: namespace} at once; {i: lease}."""
    got = in_parallel(lambda kv: (kv[0], udhcpc(kv[1], tmp_path / f"dhcp-{kv[1].name}")),
                      guests.items())
    return dict(got)


def assert_all_answered(results):
    bad = {k: v for k, v in results.items() if v[1] != v[0]}
    assert not bad, f"pings not all answered (sent, received): {bad}"


def vxlan_quiet(d, allow=()):
    """d's vxlan port dropped nothing at decapsulation or for the path MTU
    (but for the causes in allow). Returns its status."""
    vx = d.port("vx")
    bad = {k: v for k, v in vx["vxlan_drops"].items() if v and k not in allow}
    assert not bad, f"{d.name}: vxlan_drops {bad}"
    return vx


def tx_to(d, addr):
    v = ou.vx_vtep(d, addr)
    return v["tx_frames"] if v else 0


# ---------------------------------------------------------------- 1

def test_three_hosts_two_networks(netns, vnetd_in, tmp_path):
    o = three_hosts(netns, vnetd_in, mgmt=True)
    leases = leases_for(o.g, tmp_path)
    ips = {i: leases[i]["ip"] for i in HOSTS}
    for i in HOSTS:
        assert leases[i]["router"] == GW and leases[i]["mtu"] == "1450", leases[i]
        assert ips[i].startswith("10.0.2."), leases[i]
    assert len(set(ips.values())) == 3
    # every lease is h1's (h2 and h3 serve nothing)
    bound = {l["mac"]: l["ip"] for l in o.d[1].ctl("leases") if l["state"] == "bound"}
    assert {guest_mac(G, i): ips[i] for i in HOSTS}.items() <= bound.items(), bound
    for i in (2, 3):
        assert o.d[i].ctl("leases") == []

    # The trunks' raw-socket hosts: lan (VLAN 10) and mgmt (the host's own VLAN).
    peers = {}
    try:
        for i in HOSTS:
            peers[i, "lan"] = VlanPeer(o.t[i], "eth0", LAN_VLAN, f"10.0.2.1{i}",
                                       guest_mac(LANPEER, i))
            peers[i, "mgmt"] = VlanPeer(o.t[i], "eth0", mgmt_vlan(i), f"10.0.2.21{i}",
                                        guest_mac(MGMTPEER, i))
            o.m[i].addr(f"10.0.2.20{i}/24")

        # Full connectivity: every guest pings every other one of its network,
        # kernel guests and the trunks' tagged hosts alike, and h1's gateway.
        pairs = []
        for i in HOSTS:
            pairs += [(o.g[i], ips[j]) for j in HOSTS if j != i]
            pairs += [(o.g[i], GW)] + [(o.g[i], f"10.0.2.1{j}") for j in HOSTS]
            pairs += [(o.m[i], f"10.0.2.20{j}") for j in HOSTS if j != i]
            pairs += [(o.m[i], f"10.0.2.21{j}") for j in HOSTS]
        assert_all_answered(ou.ping_matrix(pairs))

        # No leak: the same addresses in the other network stay silent.
        leak = []
        for i in HOSTS:
            j = i % 3 + 1
            leak += [(o.g[i], f"10.0.2.20{j}"), (o.g[i], f"10.0.2.21{j}"),
                     (o.m[i], ips[j]), (o.m[i], f"10.0.2.1{j}"), (o.m[i], GW)]
        assert ou.unreachable(leak) == leak

        # Each trunk host announces itself (tagged broadcasts), so every trunk
        # gets the others' frames: VLAN to VNI at the sender, VNI to VLAN here.
        for i in HOSTS:
            ou.gratuitous_arp(o.t[i], f"10.0.2.1{i}", mac=guest_mac(LANPEER, i), vlan=LAN_VLAN)
            ou.gratuitous_arp(o.t[i], f"10.0.2.21{i}", mac=guest_mac(MGMTPEER, i),
                              vlan=mgmt_vlan(i))

        def announced():
            return all({(LAN_VLAN, guest_mac(LANPEER, j)), (mgmt_vlan(i), guest_mac(MGMTPEER, j))}
                       <= {s[:2] for s in peers[i, "lan"].seen}
                       for i in HOSTS for j in HOSTS if j != i)
        wait_for(announced, 5, what="every trunk host's announcement on every other trunk")
    finally:
        for p in peers.values():
            p.stop()

    # Tags on each trunk: lan's frames carry VLAN 10, mgmt's the host's own
    # mgmt VLAN, whatever VLAN the sender's host gave it; nothing untagged.
    gw_mac = o.d[1].port("gw-lan")["mac"]
    lan_macs = {gw_mac} | {guest_mac(k, i) for k in (G, LANPEER) for i in HOSTS}
    mgmt_macs = {guest_mac(k, i) for k in (M, MGMTPEER) for i in HOSTS}
    for i in HOSTS:
        seen = peers[i, "lan"].seen
        tags = {}
        for vlan, src, _et in seen:
            tags.setdefault(vlan, set()).add(src)
        assert set(tags) == {LAN_VLAN, mgmt_vlan(i)}, (i, tags)
        assert tags[LAN_VLAN] <= lan_macs, (i, tags[LAN_VLAN] - lan_macs)
        assert tags[mgmt_vlan(i)] <= mgmt_macs, (i, tags[mgmt_vlan(i)] - mgmt_macs)
        # the others' mgmt frames arrived with this host's tag
        assert {guest_mac(MGMTPEER, j) for j in HOSTS if j != i} <= tags[mgmt_vlan(i)]
        assert {guest_mac(M, j) for j in HOSTS} <= tags[mgmt_vlan(i)]
        assert {guest_mac(LANPEER, j) for j in HOSTS if j != i} <= tags[LAN_VLAN]

    # Status: each host carries both VNIs at 1450, learned the others' guests
    # behind their VTEPs, mgmt's MACs only in mgmt, and dropped nothing.
    for i in HOSTS:
        d = o.d[i]
        vx = vxlan_quiet(d)
        assert {(v["network"], v["vni"], v["mtu"]) for v in vx["vnis"]} == {
            ("lan", 100, 1450), ("mgmt", 200, 1450)}
        assert {v["address"] for v in vx["vteps"]} == {ADDR[j] for j in HOSTS if j != i}
        lan, mg = d.fdb_macs("lan"), d.fdb_macs("mgmt")
        for j in HOSTS:
            want = f"g{i}" if j == i else "vx"
            assert lan.get(guest_mac(G, j)) == want, (i, j, lan)
            assert mg.get(guest_mac(M, j)) == (f"m{i}" if j == i else "vx"), (i, j, mg)
            assert guest_mac(M, j) not in lan and guest_mac(G, j) not in mg
        assert mg.get(guest_mac(MGMTPEER, i)) == f"t{i}"
        for j in HOSTS:
            if j != i:
                v = ou.vx_vtep(d, ADDR[j])
                assert v["macs"] >= 4 and v["rx_drops"] == 0 and v["tx_drops"] == 0, v
                assert set(v["flood"]) == {"lan", "mgmt"}
        d.assert_alive()


# ---------------------------------------------------------------- 2

def test_host_killed_and_restarted(netns, vnetd_in, tmp_path):
    o = three_hosts(netns, vnetd_in)
    leases = leases_for(o.g, tmp_path)
    ips = {i: leases[i]["ip"] for i in HOSTS}
    pairs = [(o.g[i], ips[j]) for i in HOSTS for j in HOSTS if i != j]
    assert_all_answered(ou.ping_matrix(pairs))

    def drops(d):
        s = d.port("vx")["stats"]
        return sum(s["tx_drops"].values()) + sum(s["rx_drops"].values())

    before = {i: drops(o.d[i]) for i in (1, 2)}
    flood_before = {i: tx_to(o.d[i], ADDR[3]) for i in (1, 2)}

    # g1 pings g2 without a break while h3's vnetd is killed; g1 forgets g2's
    # MAC first, so its ARP broadcast is flooded to the dead VTEP too.
    o.g[1].exec("ip", "neigh", "flush", "dev", "eth0")
    box = {}
    pinger = threading.Thread(target=lambda: box.update(
        cp=o.g[1].ping(ips[2], count=30, interval=0.1, wait=2, check=False)))
    pinger.start()
    wait_for(lambda: tx_to(o.d[1], ADDR[3]) > flood_before[1], 5,
             what="g1's ARP flooded to h3")
    o.d[3].kill()  # SIGKILL, by PID
    assert not o.g[3].has_link("eth0")  # its tap went with it
    # broadcasts from g2 now (ARP for g1) are flooded to the dead VTEP as well
    o.g[2].exec("ip", "neigh", "flush", "dev", "eth0")
    o.g[2].ping(ips[1], count=3, interval=0.2)
    pinger.join(30)
    assert ping_stats(box["cp"].stdout) == (30, 30), box["cp"].stdout

    # Flooding to the dead VTEP cost nothing visible: nothing dropped, no error.
    for i in (1, 2):
        assert tx_to(o.d[i], ADDR[3]) > flood_before[i]
        assert drops(o.d[i]) == before[i], o.d[i].port("vx")["stats"]
        assert ou.vx_vtep(o.d[i], ADDR[3])["tx_drops"] == 0
        vxlan_quiet(o.d[i])
        assert "level=error" not in o.d[i].log()
        o.d[i].assert_alive()

    # Restarted, h3 rejoins: its guest's tap is back with the same MAC, which
    # gets its lease again from h1, and reaches both other hosts.
    o.d[3].start()
    o.g[3].wait_link()
    o.g[3].ip("link", "set", "eth0", "up")
    again = udhcpc(o.g[3], tmp_path / "dhcp-again")
    assert again["ip"] == ips[3] and again["mtu"] == "1450", again
    assert_all_answered(ou.ping_matrix(
        [(o.g[3], ips[1]), (o.g[3], ips[2]), (o.g[1], ips[3]), (o.g[2], ips[3])]))
    d3 = vxlan_quiet(o.d[3])
    for j in (1, 2):
        v = ou.vx_vtep(o.d[3], ADDR[j])
        assert v["rx_frames"] > 0 and v["macs"] >= 1, v
    assert o.d[3].fdb_macs("lan").get(guest_mac(G, 1)) == "vx"
    assert d3["remote_macs"]["learned"] >= 2


# ---------------------------------------------------------------- 3

VM_MAC = guest_mac(VM, 1)
VM_IP = "10.0.2.14"  # outside the DHCP pool (.15 on)


def test_mac_moves_between_hosts(netns, vnetd_in):
    """A VM moves from h2 to h3 and back, announcing itself with a
    gratuitous ARP each time: h1's entry for its MAC moves to the new host's
    VTEP at once, and g1's pings go there (per-VTEP frames sent).

    vnetd gives up CAP_NET_ADMIN after start, so it cannot make a tap at run
    time: both hosts have a tap port `vm` with the VM's MAC from the start,
    into namespaces vm2 (h2) and vm3 (h3); the VM "runs" where its eth0 is up
    and addressed. h2 -> h3: vm2's eth0 goes down (the VM stopped), vm3's
    comes up with the VM's address. h3 -> h2: h3's tap port is deleted with
    vnetctl port del, vm2's eth0 comes up again."""
    vm = {2: netns(), 3: netns()}
    o = three_hosts(netns, vnetd_in, extra_ports={i: [tap("vm", vm[i], "lan", mac=VM_MAC)]
                                                  for i in (2, 3)})
    for i in (2, 3):
        vm[i].wait_link()
        vm[i].ip("link", "set", "eth0", "down")
    vm[2].addr(f"{VM_IP}/24")
    vm[2].ip("link", "set", "eth0", "up")
    for i in HOSTS:
        o.g[i].addr(f"10.0.2.{4 + i}/24")
    assert_all_answered(ou.ping_matrix([(o.g[1], VM_IP), (o.g[3], VM_IP), (o.g[1], "10.0.2.7")]))
    assert o.d[1].fdb_macs("lan")[VM_MAC] == "vx"
    assert o.d[3].fdb_macs("lan")[VM_MAC] == "vx"
    assert ou.remote_vtep(o.d[1], "lan", VM_MAC) in (False, ADDR[2])

    for src, dst in ((2, 3), (3, 2)):
        d1 = o.d[1]
        moved = d1.port("vx")["remote_macs"]["moved"]
        macs_src = ou.vx_vtep(d1, ADDR[src])["macs"]
        # the VM leaves src ...
        if src == 2:
            vm[2].ip("link", "set", "eth0", "down")
        else:
            o.d[3].ctl("port", "del", "vm")
            wait_for(lambda: not vm[3].has_link("eth0"), 5, what="vm3's tap gone")
        # ... and runs on dst
        if dst == 3:
            vm[3].addr(f"{VM_IP}/24")
        vm[dst].ip("link", "set", "eth0", "up")
        ou.gratuitous_arp(vm[dst], VM_IP)
        # h1 follows the gratuitous ARP (flooded by dst's vnetd to h1 and src)
        wait_for(lambda: d1.port("vx")["remote_macs"]["moved"] == moved + 1, 5,
                 what="h1's remote entry for the VM moved")
        assert ou.remote_vtep(d1, "lan", VM_MAC) in (False, ADDR[dst])
        assert ou.vx_vtep(d1, ADDR[src])["macs"] == macs_src - 1
        # g1's very first pings reach the VM at its new host, sent to its VTEP
        tx = {j: tx_to(d1, ADDR[j]) for j in (2, 3)}
        cp = o.g[1].ping(VM_IP, count=3, interval=0.2, wait=1, check=False)
        assert ping_stats(cp.stdout) == (3, 3), cp.stdout
        sent = {j: tx_to(d1, ADDR[j]) - tx[j] for j in (2, 3)}
        # unicast went to dst only; broadcasts (if any) to both alike
        assert sent[dst] - sent[src] >= 3, sent
        # the host it left has it behind dst's VTEP now, dst on its tap
        assert o.d[src].fdb_macs("lan").get(VM_MAC) == "vx"
        assert ou.remote_vtep(o.d[src], "lan", VM_MAC) in (False, ADDR[dst])
        assert o.d[dst].fdb_macs("lan").get(VM_MAC) == "vm"
        # and the guest of the host it left reaches it too
        o.g[src].ping(VM_IP, count=2, interval=0.2)
    for i in HOSTS:
        vxlan_quiet(o.d[i])
        o.d[i].assert_alive()


# ---------------------------------------------------------------- 4 and 6

FLOOD = 20000
TABLE = 1024  # h1's and h2's max_remote_macs: a VTEP's share is a quarter, 256


def test_unlisted_vtep_and_mac_flood(netns, vnetd_in):
    """(a) A kernel VTEP on the underlay that no host lists (h4, with a guest
    in lan's VNI) sends valid VXLAN: every host drops and counts it, learns
    nothing from it, and its guest reaches nobody. (b) h3's address floods
    20000 frames with random source MACs (10000 to h1, 10000 to h2): each
    remote table keeps h3 at its share (recycling h3's own oldest), h2's and
    h1's entries stay, and g1 <-> g2 pings go on throughout."""
    why = ou.missing_vxlan()
    if why:
        pytest.skip(why)
    small = {"max_remote_macs": TABLE}
    o = three_hosts(netns, vnetd_in, vx_kw={1: small, 2: small})
    for i in HOSTS:
        o.g[i].addr(f"10.0.2.{4 + i}/24")
    ip = {i: f"10.0.2.{4 + i}" for i in HOSTS}
    assert_all_answered(ou.ping_matrix(
        [(o.g[1], ip[2]), (o.g[2], ip[3]), (o.g[3], ip[1]), (o.g[1], GW)]))

    # (a) the unlisted VTEP
    h4 = netns()
    o.ul.attach(h4, f"{ADDR[4]}/24")
    rogue = ou.kernel_vtep(netns, h4, 100, ADDR[4], [ADDR[i] for i in HOSTS],
                           guest_cidr="10.0.2.99/24")
    cp = rogue.guest.ping(ip[1], count=3, interval=0.2, wait=1, check=False)
    assert ping_stats(cp.stdout)[1] == 0
    rmac = rogue.guest.mac()
    for i in HOSTS:
        d = o.d[i]
        vx = wait_for(lambda: (lambda v: v if v["vxlan_drops"]["unlisted"] >= 3 else None)(
            d.port("vx")), 5, what=f"h{i} counting the unlisted VTEP's ARP requests")
        assert vx["stats"]["rx_drops"]["vtep"] == vx["vxlan_drops"]["unlisted"]
        assert ADDR[4] not in {v["address"] for v in vx["vteps"]}
        assert rmac not in d.fdb_macs("lan")
        assert ou.remote_vtep(d, "lan", rmac) in (False, None)
        # nothing else was wrong with it: counted as unlisted only
        assert sum(vx["vxlan_drops"].values()) == vx["vxlan_drops"]["unlisted"]
    assert rogue.bridge_macs().get(o.g[1].mac()) is None  # nobody answered it
    rogue.guest.ip("link", "set", "eth0", "down")  # no more ARP retries from it

    # (b) the flood, from h3's VTEP address (listed everywhere)
    share = o.d[1].port("vx")["remote_macs"]["max_per_vtep"]
    assert share == TABLE // 4
    st0 = {i: o.d[i].port("vx") for i in (1, 2)}
    v3_0 = {i: ou.vx_vtep(o.d[i], ADDR[3]) for i in (1, 2)}
    other_0 = {i: ou.vx_vtep(o.d[i], ADDR[3 - i]) for i in (1, 2)}
    box = {}
    pinger = threading.Thread(target=lambda: box.update(
        cp=o.g[1].ping(ip[2], count=40, interval=0.1, wait=2, check=False)))
    pinger.start()
    sent = ou.mac_flood(o.h[3], ADDR[3], [ADDR[1], ADDR[2]], 100, FLOOD,
                        inner_dst="02:00:00:0c:99:99")
    pinger.join(30)
    assert ping_stats(box["cp"].stdout) == (40, 40), box["cp"].stdout

    for i, j in ((1, 2), (2, 1)):
        d = o.d[i]

        def settled():
            v = ou.vx_vtep(d, ADDR[3])
            return v if v["rx_frames"] - v3_0[i]["rx_frames"] >= len(sent[ADDR[i]]) else None

        # every datagram counted (the pacing keeps the socket from overflowing)
        v3 = wait_for(settled, 10, what=f"h{i} reading the flood")
        vx = d.port("vx")
        rm = vx["remote_macs"]
        n = v3["rx_frames"] - v3_0[i]["rx_frames"]
        # h3 holds exactly its share; its own oldest went for the rest
        assert v3["macs"] == share, v3
        assert v3["recycled"] - v3_0[i]["recycled"] >= n - share, (n, v3)
        assert rm["recycled"] - st0[i]["remote_macs"]["recycled"] >= n - share
        assert rm["evicted"] == 0 and rm["full"] == 0, rm
        assert rm["entries"] <= rm["max"] == TABLE
        # the other remote's entries are untouched
        vj = ou.vx_vtep(d, ADDR[j])
        assert vj["macs"] == other_0[i]["macs"] >= 1 and vj["recycled"] == 0, vj
        assert d.fdb_macs("lan").get(guest_mac(G, j)) == "vx"
        assert ou.remote_vtep(d, "lan", guest_mac(G, j)) in (False, ADDR[j])
        # the flood's MACs that stayed are its last ones
        assert ou.remote_vtep(d, "lan", sent[ADDR[i]][-1]) in (False, ADDR[3])
        assert ou.remote_vtep(d, "lan", sent[ADDR[i]][0]) in (False, None)
        vx = vxlan_quiet(d, allow=("unlisted",))
        assert vx["vxlan_drops"]["unlisted"] == st0[i]["vxlan_drops"]["unlisted"]
        d.assert_alive()
    # g1 and g2 still reach each other and g3, whose MAC h3 recycled away at
    # h1 and h2 (flooded to both, then learned again)
    assert_all_answered(ou.ping_matrix(
        [(o.g[1], ip[2]), (o.g[2], ip[1]), (o.g[1], ip[3]), (o.g[3], ip[2])], until=5))
    print(f"flood figures: h1 switch fdb {o.d[1].network('lan')['fdb']}")


# ---------------------------------------------------------------- 5

def test_jumbo_underlay(netns, vnetd_in, tmp_path):
    """An underlay of MTU 9000 gives the overlay's guests 8950 by default:
    in each vxlan port's status, the network's MTU, the DHCP lease h1's
    gateway gives guests on every host, the guests' taps; a DF ping of
    8950 bytes crosses between every pair, one byte more does not leave."""
    o = three_hosts(netns, vnetd_in, mtu=9000)
    for i in HOSTS:
        vx = o.d[i].port("vx")
        assert vx["underlay_mtu"] == 9000
        assert [(v["network"], v["mtu"]) for v in vx["vnis"]] == [("lan", 8950)]
        assert o.d[i].network("lan")["mtu"] == 8950
    leases = leases_for(o.g, tmp_path)
    for i in HOSTS:
        assert leases[i]["mtu"] == "8950" and leases[i]["router"] == GW, leases[i]
        assert int(o.g[i].links()["eth0"]["mtu"]) == 8950
    ips = {i: leases[i]["ip"] for i in HOSTS}
    pairs = [(o.g[i], ips[j]) for i in HOSTS for j in HOSTS if i != j]
    assert_all_answered(ou.ping_matrix(pairs))

    def big(pair, size=8950 - 28):
        ns, dst = pair
        cp = ns.ping(dst, count=3, interval=0.2, wait=2, size=size, extra=("-M", "do"),
                     check=False)
        return pair, cp

    for (ns, dst), cp in in_parallel(big, pairs):
        assert ping_stats(cp.stdout) == (3, 3), (ns.name, dst, cp.stdout, cp.stderr)
    # (without -q, which hides ping's local errors)
    cp = o.g[2].exec("ping", "-n", "-c", "1", "-W", "1", "-M", "do", "-s", str(8950 - 27),
                     ips[3], check=False)
    assert cp.returncode != 0 and "too long" in (cp.stdout + cp.stderr), cp
    ou.tcp_transfer(o.g[2], o.g[3], ips[3], 2_000_000)
    for i in HOSTS:
        vx = vxlan_quiet(o.d[i])
        assert vx["stats"]["tx_drops"]["mtu"] == 0
        o.d[i].assert_alive()
