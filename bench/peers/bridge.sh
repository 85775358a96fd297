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
  echo "ip link add br0 type bridge; veth pairs into 2 namespaces; mtu $mtu" > "$RUN_DIR/bridge.cmdline"
  l2_pair_env "$RUN_DIR/bridge.env" bridge-mtu$mtu bridge "$mtu" "$a" "$b" ""
}

bridge_teardown() { ns_del vb-br-a vb-br-b vb-br-sw; }
