# shellcheck shell=bash
# vpn-lib.sh - the pieces of bench/vpn.sh's configurations: a "laptop"
# namespace running Debian's wireguard-go, an underlay veth to the namespace of
# the VPN endpoint under test, and a guest namespace behind that endpoint.
#
#   laptop P-l  wg device: 10.66.0.2/24 (MTU 1420), routes 10.0.2.0/24 into it;
#               ul0 198.18.12.2/24 --veth-- 198.18.12.1/24 ul0 in the endpoint's
#               namespace, where the endpoint listens on UDP 51820
#   guest  P-g  eth0 10.0.2.15/24 (MTU 1420), default via 10.0.2.2 (the endpoint's side)
#
# The endpoint's namespace is a harness "host" (hostns_add: loopback and a void
# uplink whose tx counter is the guard), so nothing the endpoint sends anywhere
# but the laptop or the guest can leave.  Keys come from `wg genkey` into the
# run directory (mode 0600).  wireguard-go's configuration socket
# (/var/run/wireguard/NAME.sock) is shared by all namespaces: every device has
# a name of its own (vb-wg*), and its socket is removed with it.
# Needs: wireguard-go, wg.

VPN_PORT=${VPN_PORT:-51820}
VPN_INNER_MTU=${VPN_INNER_MTU:-1420}
WG_BIN=${WG_BIN:-wg}
WGGO_BIN=${WGGO_BIN:-wireguard-go}

# vpn_keys NAME: RUN_DIR/NAME.key (private, 0600) and NAME.pub
vpn_keys() {
  (umask 077; "$WG_BIN" genkey > "$RUN_DIR/$1.key") || die "wg genkey"
  "$WG_BIN" pubkey < "$RUN_DIR/$1.key" > "$RUN_DIR/$1.pub" || die "wg pubkey"
}

# vpn_wggo NS IFNAME NAME: wireguard-go in the foreground in NS making IFNAME;
# its PID in WGGO_PID and RUN_DIR/NAME.pid, its log RUN_DIR/NAME.log
vpn_wggo() {
  local ns=$1 ifn=$2 name=$3 i
  ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error "$WGGO_BIN" -f "$ifn" \
    > "$RUN_DIR/$name.log" 2>&1 &
  WGGO_PID=$!
  echo "$WGGO_PID" > "$RUN_DIR/$name.pid"
  for i in $(seq 100); do
    [ -S "/var/run/wireguard/$ifn.sock" ] && ip -n "$ns" link show "$ifn" > /dev/null 2>&1 && return 0
    kill -0 "$WGGO_PID" 2>/dev/null || { cat "$RUN_DIR/$name.log" >&2; die "wireguard-go $ifn exited"; }
    sleep 0.1
  done
  die "wireguard-go $ifn not ready after 10 s"
}

# vpn_wggo_stop NAME IFNAME: stop the wireguard-go of vpn_wggo by its PID
vpn_wggo_stop() {
  [ -f "$RUN_DIR/$1.pid" ] && kill_pid "$(cat "$RUN_DIR/$1.pid")"
  rm -f "$RUN_DIR/$1.pid" "/var/run/wireguard/$2.sock"
}

# vpn_topology P: namespaces P-h (endpoint, a harness host), P-l (laptop) and
# P-g (guest, empty), the underlay veth between P-l and P-h; IPv6 off on the
# new devices (no chatter through the tunnel)
vpn_topology() {
  local p=$1 n
  hostns_add "$p-h"
  ns_add "$p-l" "$p-g"
  for n in "$p-h" "$p-l" "$p-g"; do
    ip netns exec "$n" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$p-h" link add ul0 type veth peer name ul0 netns "$p-l" || die "underlay veth $p"
  ip -n "$p-h" addr add 198.18.12.1/24 dev ul0
  ip -n "$p-l" addr add 198.18.12.2/24 dev ul0
  ip -n "$p-h" link set ul0 up
  ip -n "$p-l" link set ul0 up
}

# vpn_laptop P IFNAME NAME PEER_PUB: the laptop's wireguard-go (keys RUN_DIR/NAME.key)
# configured as wg-quick would with: Address 10.66.0.2/24, MTU VPN_INNER_MTU,
# [Peer] PEER_PUB, Endpoint 198.18.12.1:VPN_PORT, AllowedIPs 10.66.0.0/24,
# 10.0.2.0/24, PersistentKeepalive 25 (the keepalive starts the handshake)
vpn_laptop() {
  local p=$1 ifn=$2 name=$3 peer=$4 cfg=$RUN_DIR/$3.conf
  cat > "$cfg" <<W
[Interface]
PrivateKey = $(cat "$RUN_DIR/$name.key")

[Peer]
PublicKey = $peer
AllowedIPs = 10.66.0.0/24, 10.0.2.0/24
Endpoint = 198.18.12.1:$VPN_PORT
PersistentKeepalive = 25
W
  chmod 600 "$cfg"
  vpn_wggo "$p-l" "$ifn" "$name"
  ip netns exec "$p-l" "$WG_BIN" setconf "$ifn" "$cfg" || die "wg setconf $ifn"
  ip -n "$p-l" addr add 10.66.0.2/24 dev "$ifn"
  ip -n "$p-l" link set "$ifn" mtu "$VPN_INNER_MTU" up
  ip -n "$p-l" route add 10.0.2.0/24 dev "$ifn" || die "laptop route"
}

# vpn_guest_addr P: the guest's address and default route (its eth0 exists)
vpn_guest_addr() {
  local g=$1-g
  ip -n "$g" link set eth0 mtu "$VPN_INNER_MTU" &&
    ip -n "$g" addr add 10.0.2.15/24 dev eth0 && ip -n "$g" link set eth0 up &&
    ip -n "$g" route add default via 10.0.2.2 || die "guest address in $g"
}

# vpn_handshake P IFNAME [SECONDS]: wait until the laptop's device has a
# handshake with its peer and the guest answers a ping through the tunnel;
# status 1 if not within SECONDS (default 10)
vpn_handshake() {
  local p=$1 ifn=$2 t=${3:-10} hs
  for _ in $(seq $((t * 5))); do
    hs=$(ip netns exec "$p-l" "$WG_BIN" show "$ifn" latest-handshakes 2>/dev/null | awk '{ print $2 }')
    if [ -n "$hs" ] && [ "$hs" != 0 ] &&
       ip netns exec "$p-l" ping -c 1 -W 1 10.0.2.15 > /dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# vpn_env ENVFILE LABEL IMPL MTU P "PIDS" VERSION: the harness's configuration
# file: the laptop (G_EXEC) is the client of the "g2h" tests and dials the guest
# 10.0.2.15 (H_EXEC runs their servers); "h2g": the guest dials the laptop's
# tunnel address 10.66.0.2; the laptop pings the guest.
vpn_env() {
  local env=$1 label=$2 impl=$3 mtu=$4 p=$5 pids=$6 ver=${7:-}
  cat > "$env" <<S
LABEL=$label
IMPL=$impl
IMPL_VERSION="$ver"
MTU=$mtu
H_EXEC="ip netns exec $p-g"
G_EXEC="ip netns exec $p-l"
G2H_ADDR=10.0.2.15
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=10.66.0.2
H2G_PORT=$P_H2G
H2G_RR_PORT=$P_H2G_RR
PING_ADDR=10.0.2.15
DAEMON_PIDS="$pids"
GUARD_EXEC="ip netns exec $p-h"
GUARD_IF=uplink0
CHECK="ping -c 1 -W 1 -M do -s $((VPN_INNER_MTU - 28)) 10.0.2.15"
S
}

# vpn_rcvbuf_drops NS: UDP datagrams NS's kernel dropped because a socket's
# receive buffer was full (RcvbufErrors of /proc/net/snmp, since NS was made)
vpn_rcvbuf_drops() {
  ip netns exec "$1" awk '$1 == "Udp:" { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
    else print $c["RcvbufErrors"] }' /proc/net/snmp 2>/dev/null
}

# vpn_report_drops LABEL P: log the UDP receive-buffer drops of the endpoint
# (P-h) and the laptop (P-l) over the whole run (a full socket buffer is where
# a WireGuard endpoint that cannot keep up loses packets, which the tunnelled
# TCP sees as losses)
vpn_report_drops() {
  ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qx "$2-h" || return 0
  log "  $1: UDP receive-buffer drops over the run: endpoint $(vpn_rcvbuf_drops "$2-h")," \
    "laptop $(vpn_rcvbuf_drops "$2-l")"
}

vpn_del() {  # vpn_del P: the namespaces of vpn_topology
  ns_del "$1-l" "$1-g" "$1-h" "$1-h-void"
}
