"""Stock `wg` against vnetd (issue 13): with vpn.wg_interface, vnetd serves
WireGuard's configuration protocol on /var/run/wireguard/NAME.sock. A
wireguard-go laptop connects; `wg show NAME dump` lists it with endpoint,
latest handshake and transfer, `wg showconf NAME` prints the configuration;
`wg set NAME peer KEY allowed-ips ...` adds a peer a second laptop then
connects with, `wg set NAME peer KEY remove` cuts it off; what vnetd
refuses comes back as wg's error message; the socket goes when vnetd stops.
"""
import os
import secrets

import pytest

import vnet
from vpn_util import VPN_PORT, VpnLab, guest_ip
from wg_util import WG, WG_RUN_DIR, missing_wireguard, parse_dump, wglab  # noqa: F401

pytestmark = pytest.mark.skipif(missing_wireguard() is not None,
                                reason=missing_wireguard() or "")

LAP1, LAP2 = "10.99.0.2", "10.99.0.9"


@pytest.fixture
def wg_name():
    """A unique interface name (sockets in /var/run/wireguard are shared by
    everything on the machine); its socket is removed at the end whatever
    happened."""
    name = "vnu" + secrets.token_hex(4)
    yield name
    try:
        os.unlink(f"{WG_RUN_DIR}/{name}.sock")
    except FileNotFoundError:
        pass


def wg(*args, check=True, input=None):
    return vnet.run([WG, *args], check=check, input=input)


def dump(name):
    return parse_dump(wg("show", name, "dump").stdout)


def parse_showconf(text):
    """`wg showconf` as {"interface": {key: value}, "peers": {pub: {key: value}}}."""
    res = {"interface": {}, "peers": {}}
    cur = None
    for line in text.splitlines():
        line = line.strip()
        if line == "[Interface]":
            cur = res["interface"]
        elif line == "[Peer]":
            cur = {}
        elif " = " in line:
            k, v = line.split(" = ", 1)
            cur[k] = v
            if k == "PublicKey" and cur is not res["interface"]:
                res["peers"][v] = cur
    return res


def test_wg_show_set_remove(wglab, vnetd, tmp_path, wg_name):
    v = VpnLab(wglab, vnetd, tmp_path, vpn_extra={"wg_interface": wg_name})
    lap = v.add_laptop(LAP1, keepalive=25)
    lap2 = v.add_laptop(LAP2, conf_peer=False)
    d = v.start()
    sock = f"{WG_RUN_DIR}/{wg_name}.sock"
    st = os.stat(sock)
    assert st.st_mode & 0o777 == 0o600 and st.st_uid == 0

    # the configured laptop connects; wg's view of vnetd shows it
    dev = v.connect(lap)
    lap["ns"].ping_until(guest_ip(0), timeout=20)
    lap["ns"].ping(guest_ip(0), count=3)
    dev.wait_handshake(v.pub)
    x = dump(wg_name)
    assert x["interface"]["public_key"] == v.pub
    assert x["interface"]["listen_port"] == VPN_PORT
    assert x["interface"]["private_key"] == v.priv
    assert list(x["peers"]) == [lap["pub"]]
    p = x["peers"][lap["pub"]]
    assert p["endpoint"] == f"{lap['ul']}:{dev.listen_port()}"
    assert p["allowed_ips"] == [f"{LAP1}/32"]
    assert p["latest_handshake"] > 0
    assert p["rx_bytes"] > 0 and p["tx_bytes"] > 0
    assert p["persistent_keepalive"] == 25
    assert p["preshared_key"] is None
    # it agrees with vnetd's own status
    s = v.peer(lap["name"])
    assert s["transfer_rx"] <= dump(wg_name)["peers"][lap["pub"]]["rx_bytes"]
    # and the human form names it
    out = wg("show", wg_name).stdout
    assert f"peer: {lap['pub']}" in out and "latest handshake:" in out and "transfer:" in out

    conf = parse_showconf(wg("showconf", wg_name).stdout)
    assert conf["interface"] == {"ListenPort": str(VPN_PORT), "PrivateKey": v.priv}
    assert conf["peers"][lap["pub"]]["AllowedIPs"] == f"{LAP1}/32"
    assert conf["peers"][lap["pub"]]["Endpoint"] == p["endpoint"]
    assert conf["peers"][lap["pub"]]["PersistentKeepalive"] == "25"

    # wg set adds a peer; the second laptop connects with it
    wg("set", wg_name, "peer", lap2["pub"], "allowed-ips", f"{LAP2}/32")
    x = dump(wg_name)
    assert x["peers"][lap2["pub"]]["allowed_ips"] == [f"{LAP2}/32"]
    assert x["peers"][lap2["pub"]]["endpoint"] is None
    dev2 = v.connect(lap2)
    lap2["ns"].ping_until(guest_ip(0), timeout=20)
    dev2.wait_handshake(v.pub)
    v.guests[0].ping(LAP2, count=2)  # the gateway routes the new peer's prefix
    p2 = dump(wg_name)["peers"][lap2["pub"]]
    assert p2["endpoint"] == f"{lap2['ul']}:{dev2.listen_port()}"
    assert p2["latest_handshake"] > 0 and p2["rx_bytes"] > 0
    assert any(q["public_key"] == lap2["pub"] for q in v.vpn()["peers"])

    # what vnetd refuses, wg says; nothing changes
    r = wg("set", wg_name, "peer", lap2["pub"], "allowed-ips", "10.0.2.0/24", check=False)
    assert r.returncode != 0 and "Invalid argument" in r.stderr
    r = wg("set", wg_name, "peer", lap2["pub"], "allowed-ips", f"{LAP2}/32,{LAP1}/32",
           check=False)
    assert r.returncode != 0 and "Address already in use" in r.stderr
    r = wg("set", wg_name, "listen-port", "40000", check=False)
    assert r.returncode != 0 and "Operation not supported" in r.stderr
    x = dump(wg_name)
    assert x["peers"][lap2["pub"]]["allowed_ips"] == [f"{LAP2}/32"]
    assert x["peers"][lap["pub"]]["allowed_ips"] == [f"{LAP1}/32"]
    # showconf | setconf is accepted and keeps both peers in place (the
    # configured one keeps its name and its session)
    hs = v.peer(lap["name"])["counters"]["handshakes"]
    wg("setconf", wg_name, "/dev/stdin", input=wg("showconf", wg_name).stdout)
    assert set(dump(wg_name)["peers"]) == {lap["pub"], lap2["pub"]}
    assert v.peer(lap["name"])["public_key"] == lap["pub"]
    lap["ns"].ping(guest_ip(0), count=2)
    assert v.peer(lap["name"])["counters"]["handshakes"] == hs
    lap2["ns"].ping(guest_ip(0), count=2)

    # wg set ... remove cuts the second laptop off; the first stays
    wg("set", wg_name, "peer", lap2["pub"], "remove")
    assert list(dump(wg_name)["peers"]) == [lap["pub"]]
    assert all(q["public_key"] != lap2["pub"] for q in v.vpn()["peers"])
    r = lap2["ns"].ping(guest_ip(0), count=2, check=False)
    assert r.returncode != 0
    lap["ns"].ping(guest_ip(0), count=2)

    d.assert_alive()
    d.stop()
    assert not os.path.exists(sock), "vnetd left its wg socket behind"


def test_wg_interface_refused(wglab, vnetd, tmp_path, wg_name):
    """A name in use by a live socket (a wireguard-go of that name) stops
    vnetd at start with a message naming it; the other's socket stays."""
    ns = wglab.ns()
    other = wglab.device(ns, ifname=wg_name)
    v = VpnLab(wglab, vnetd, tmp_path, nguests=0, vpn_extra={"wg_interface": wg_name})
    v.add_laptop(LAP1)
    with pytest.raises(AssertionError) as ei:
        v.start()
    msg = str(ei.value)
    assert f"vpn.wg_interface '{wg_name}'" in msg and "in use by another process" in msg
    assert os.path.exists(other.sock)
    other.wg("show", wg_name)  # still wireguard-go's


def uapi_exchange(sock_path, data, timeout=5):
    """Send data on a new connection to the socket, half-close, and return
    everything the server answered before it closed."""
    import socket
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(sock_path)
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                return out
            out += b
    finally:
        s.close()


def test_wg_socket_framing(wglab, vnetd, tmp_path, wg_name):
    """The socket as a raw client sees it: requests pipelined on one
    connection are answered in order; a request that is not the protocol's
    gets errno=-22 and the connection closes; a malformed set changes
    nothing; a half-sent request is dropped; a user other than root cannot
    connect; vnetd keeps serving."""
    v = VpnLab(wglab, vnetd, tmp_path, nguests=0, vpn_extra={"wg_interface": wg_name})
    lap = v.add_laptop(LAP1)
    d = v.start()
    sock = f"{WG_RUN_DIR}/{wg_name}.sock"
    out = uapi_exchange(sock, b"get=1\n\nget=1\n\n").decode()
    answers = out.split("\n\n")
    assert answers[2:] == [""] and answers[0] == answers[1], out
    assert answers[0].endswith("errno=0") and f"listen_port={VPN_PORT}" in answers[0]
    # a bad line: EINVAL, nothing changed; the next request on the connection is answered
    before = wg("showconf", wg_name).stdout
    out = uapi_exchange(sock, b"set=1\npublic_key=" + b"11" * 32 + b"\nallowed_ip=10.9.0.0/8x\n\n"
                        b"get=1\n\n").decode()
    assert out.startswith("errno=-22\n\n") and out.endswith("errno=0\n\n"), out
    assert wg("showconf", wg_name).stdout == before
    # not a request: errno=-22 and closed (what follows is not answered)
    assert uapi_exchange(sock, b"hello\n\nget=1\n\n") == b"errno=-22\n\n"
    assert uapi_exchange(sock, b"x" * 300 + b"\n\n") == b"errno=-22\n\n"
    # half a request, then the client goes: nothing answered, nothing changed
    assert uapi_exchange(sock, b"set=1\npublic_key=" + b"22" * 32 + b"\n") == b""
    assert wg("showconf", wg_name).stdout == before
    # not root: the socket's mode keeps others out
    r = vnet.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                  "/usr/bin/python3", "-c",
                  f"import socket; socket.socket(socket.AF_UNIX).connect({sock!r})"],
                 check=False)
    assert r.returncode != 0 and "PermissionError" in r.stderr, r.stderr
    assert lap["pub"] in wg("show", wg_name, "peers").stdout
    d.assert_alive()
