# shellcheck shell=bash
# bridge.sh - configuration "bridge": the kernel L2 reference.  Two namespaces
# attached by veth pairs to a Linux bridge that lives in a third namespace (the
# host's own links are not touched).  From shared/bench-peers/bench-bridge.sh.
#   vb-br-a 198.18.4.1 eth0 --veth-- [vb-br-sw: bridge br0] --veth-- eth0 198.18.4.2 vb-br-b
# and, for the two-pairs test (tcp_pair2), a second bridge in the same namespace:
#   vb-br-a2 198.18.5.1 eth0 --veth-- [vb-br-sw: bridge br1] --veth-- eth0 198.18.5.2 vb-br-b2

bridge_setup() {
  local mtu=$1 sw=vb-br-sw a=vb-br-a b=vb-br-b a2=vb-br-a2 b2=vb-br-b2 p
  ns_add $sw $a $b $a2 $b2
  for p in br0 br1; do
    ip -n $sw link add $p mtu "$mtu" type bridge || die "bridge"
    ip -n $sw link set $p up
  done
  ip -n $sw link add pa mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $a || die "veth"
  ip -n $sw link add pb mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $b || die "veth"
  ip -n $sw link add pa2 mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $a2 || die "veth"
  ip -n $sw link add pb2 mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $b2 || die "veth"
  for p in pa pb; do
    ip -n $sw link set $p master br0
    ip -n $sw link set $p up
  done
  for p in pa2 pb2; do
    ip -n $sw link set $p master br1
    ip -n $sw link set $p up
  done
  echo "ip link add br0 type bridge; veth pairs into 2 namespaces; mtu $mtu" > "$RUN_DIR/bridge.cmdline"
  l2_pair_env "$RUN_DIR/bridge.env" bridge-mtu$mtu bridge "$mtu" "$a" "$b" "" "$a2" "$b2"
}

bridge_teardown() { ns_del vb-br-a vb-br-b vb-br-a2 vb-br-b2 vb-br-sw; }
