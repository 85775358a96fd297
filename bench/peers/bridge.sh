# shellcheck shell=bash
# bridge.sh - configuration "bridge": the kernel L2 reference.  Two namespaces
# attached by veth pairs to a Linux bridge that lives in a third namespace (the
# host's own links are not touched).  From shared/bench-peers/bench-bridge.sh.
#   vb-br-a 198.18.4.1 eth0 --veth-- [vb-br-sw: bridge br0] --veth-- eth0 198.18.4.2 vb-br-b

bridge_setup() {
  local mtu=$1 sw=vb-br-sw a=vb-br-a b=vb-br-b p
  ns_add $sw $a $b
  ip -n $sw link add br0 mtu "$mtu" type bridge || die "bridge"
  ip -n $sw link set br0 up
  ip -n $sw link add pa mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $a || die "veth"
  ip -n $sw link add pb mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $b || die "veth"
  for p in pa pb; do
    ip -n $sw link set $p master br0
    ip -n $sw link set $p up
  done
  ip -n $a addr add 198.18.4.1/24 dev eth0; ip -n $a link set eth0 up
  ip -n $b addr add 198.18.4.2/24 dev eth0; ip -n $b link set eth0 up
  echo "ip link add br0 type bridge; veth pairs into 2 namespaces; mtu $mtu" > "$RUN_DIR/bridge.cmdline"
  cat > "$RUN_DIR/bridge.env" <<S
LABEL=bridge-mtu$mtu
IMPL=bridge
MTU=$mtu
H_EXEC="ip netns exec $a"
G_EXEC="ip netns exec $b"
G2H_ADDR=198.18.4.1
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=198.18.4.2
H2G_PORT=$P_H2G
H2G_RR_PORT=$P_H2G_RR
PING_ADDR=198.18.4.1
DAEMON_PIDS=""
GUARD_EXEC=""
GUARD_IF=""
CHECK="ping -c 1 -W 1 -M do -s $((mtu - 28)) 198.18.4.1"
S
}

bridge_teardown() { ns_del vb-br-a vb-br-b vb-br-sw; }
