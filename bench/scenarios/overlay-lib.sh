# shellcheck shell=bash
# overlay-lib.sh - the pieces every configuration of bench/overlay.sh is built
# from: two "host" namespaces on an underlay, and kernel VTEPs.
#
#   guest a  198.18.4.1 eth0 --veth-- [host ha: VTEP 198.18.8.1] --ul0 veth (MTU)--
#   guest b  198.18.4.2 eth0 --veth-- [host hb: VTEP 198.18.8.2] --ul0----------/
#
# The underlay is one veth pair between the hosts (198.18.8.0/24, at the pass's
# MTU: 1500 or 9000); the guests' MTU is 50 bytes less (VXLAN over IPv4).  Each
# host also has the harness's void uplink (hostns_add: loopback, uplink0
# 198.18.0.1/24 with the default route into an empty namespace), so anything a
# VTEP sends anywhere but the other host is counted by the guard (GUARD_IF).
# VNI 4242, UDP port 4789 (IANA).

OV_VNI=${OV_VNI:-4242}
OV_PORT=${OV_PORT:-4789}

# ov_hosts P MTU: hosts P-ha (198.18.8.1) and P-hb (198.18.8.2) joined by a veth
# ul0 at MTU, each with a void uplink; guests P-a and P-b (empty namespaces).
# IPv6 is off on every device made after the void uplink and in the guests, so
# that no router solicitations or listener reports cross the overlay.
ov_hosts() {
  local p=$1 mtu=$2 n
  hostns_add "$p-ha"
  hostns_add "$p-hb"
  ns_add "$p-a" "$p-b"
  for n in "$p-ha" "$p-hb" "$p-a" "$p-b"; do
    ip netns exec "$n" sysctl -q -w net.ipv6.conf.default.disable_ipv6=1
  done
  ip -n "$p-ha" link add ul0 mtu "$mtu" type veth peer name ul0 mtu "$mtu" netns "$p-hb" ||
    die "underlay veth $p"
  ip -n "$p-ha" addr add 198.18.8.1/24 dev ul0
  ip -n "$p-hb" addr add 198.18.8.2/24 dev ul0
  ip -n "$p-ha" link set ul0 up
  ip -n "$p-hb" link set ul0 up
}

# ov_kernel_vtep HOST GUEST LOCAL REMOTE GUEST_MTU [txoff]: a Linux VTEP in HOST
# (vx0: vxlan id OV_VNI local LOCAL dstport OV_PORT nolearning, flood list =
# REMOTE; bridge br0) with GUEST's eth0 behind a veth (no address: l2_pair_env
# adds it).  txoff: transmit checksum offload off on HOST's ul0, for a
# user-space peer: a veth passes a packet whose checksums are still to be
# filled in ("partial") to the next namespace as it is, and a user-space VTEP
# reads the inner frame out of a UDP payload with its TCP checksum unfilled.
# With ul0 unable to offload, the kernel segments and checksums encapsulated
# packets itself before they leave, as for a NIC without tunnel offloads; the
# guest keeps its offloads (TSO).
ov_kernel_vtep() {
  local h=$1 g=$2 local=$3 remote=$4 gmtu=$5 txoff=${6:-}
  ip -n "$h" link add vx0 mtu "$gmtu" type vxlan id "$OV_VNI" local "$local" dstport "$OV_PORT" \
    dev ul0 nolearning || die "vxlan device in $h"
  ip -n "$h" link add br0 mtu "$gmtu" type bridge || die "bridge in $h"
  ip -n "$h" link set vx0 master br0
  ip -n "$h" link add gv mtu "$gmtu" type veth peer name eth0 mtu "$gmtu" netns "$g" || die "veth $h/$g"
  ip -n "$h" link set gv master br0
  for l in vx0 br0 gv; do ip -n "$h" link set "$l" up; done
  bridge -n "$h" fdb append 00:00:00:00:00:00 dev vx0 dst "$remote" || die "flood entry in $h"
  if [ -n "$txoff" ]; then
    ip netns exec "$h" ethtool -K ul0 tx off > /dev/null || die "ethtool in $h"
  fi
}

# ov_env ENVFILE LABEL IMPL MTU P "PIDS": the harness's configuration file for
# guests P-a (the "host side": servers of the g2h tests) and P-b: addresses
# 198.18.4.1/.2 (l2_pair_env), the path checked with a don't-fragment ping of
# the guests' full MTU, the guard on host ha's void uplink
ov_env() {
  local env=$1 label=$2 impl=$3 mtu=$4 p=$5 pids=$6 gmtu=$(($4 - 50))
  l2_pair_env "$env" "$label" "$impl" "$mtu" "$p-a" "$p-b" "$pids"
  cat >> "$env" <<S
CHECK="ping -c 1 -W 1 -M do -s $((gmtu - 28)) 198.18.4.1"
GUARD_EXEC="ip netns exec $p-ha"
GUARD_IF=uplink0
S
  ov_settle "$p-ha"
}

# ov_settle HOST: wait (at most 5 s) until HOST's void uplink has sent nothing for
# 1.5 s: its IPv6 listener reports go out in the first second after it came up,
# and must not be counted by the guard of the first test
ov_settle() {
  local h=$1 a b still=0
  a=$(ip netns exec "$h" cat /sys/class/net/uplink0/statistics/tx_packets)
  for _ in $(seq 10); do
    sleep 0.5
    b=$(ip netns exec "$h" cat /sys/class/net/uplink0/statistics/tx_packets)
    if [ "$a" = "$b" ]; then still=$((still + 1)); else still=0; fi
    [ "$still" -ge 3 ] && return 0
    a=$b
  done
}

ov_del() {  # ov_del P: the namespaces of ov_hosts
  ns_del "$1-a" "$1-b" "$1-ha" "$1-hb" "$1-ha-void" "$1-hb-void"
}
