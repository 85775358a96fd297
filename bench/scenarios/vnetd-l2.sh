# shellcheck shell=bash
# vnetd-l2.sh - configuration "vnetd_l2": two namespaces on tap ports of one
# isolated vnetd network (L2 switching only, no gateway services).
#   vb-vl2-a 198.18.4.1 eth0 =tap= [vnetd in vb-vl2-sw] =tap= eth0 198.18.4.2 vb-vl2-b
# and, for the two-pairs test (tcp_pair2), a second pair on a second isolated
# network of the same daemon:
#   vb-vl2-a2 198.18.5.1 eth0 =tap= [network lan2] =tap= eth0 198.18.5.2 vb-vl2-b2
# vnetd runs in its own empty namespace, so it has no way to any real network.
# Needs: VNETD (path of the binary).

vnetd_l2_setup() {
  local mtu=$1 sw=vb-vl2-sw a=vb-vl2-a b=vb-vl2-b a2=vb-vl2-a2 b2=vb-vl2-b2 pid i cfg=$RUN_DIR/vnetd-l2.yaml
  ns_add $sw $a $b $a2 $b2
  cat > "$cfg" <<Y
control: $RUN_DIR/vnetd-l2.ctl
state_dir: $RUN_DIR/vnetd-l2-state
log: info
${VNETD_WORKERS:+workers: $VNETD_WORKERS}
networks:
  - { name: lan, mode: isolated, mtu: $mtu }
  - { name: lan2, mode: isolated, mtu: $mtu }
ports:
  - { name: a, type: tap, netns: /run/netns/$a, ifname: eth0, network: lan, mac: "02:00:00:be:00:01" }
  - { name: b, type: tap, netns: /run/netns/$b, ifname: eth0, network: lan, mac: "02:00:00:be:00:02" }
  - { name: a2, type: tap, netns: /run/netns/$a2, ifname: eth0, network: lan2, mac: "02:00:00:be:00:03" }
  - { name: b2, type: tap, netns: /run/netns/$b2, ifname: eth0, network: lan2, mac: "02:00:00:be:00:04" }
Y
  start_vnetd $sw "$cfg" vnetd_l2
  pid=$VNETD_PID
  l2_pair_env "$RUN_DIR/vnetd_l2.env" vnetd-mtu$mtu vnetd "$mtu" "$a" "$b" "$pid" "$a2" "$b2"
}

vnetd_l2_teardown() {
  [ -f "$RUN_DIR/vnetd_l2.pid" ] && kill_pid "$(cat "$RUN_DIR/vnetd_l2.pid")"
  rm -f "$RUN_DIR/vnetd_l2.pid"
  ns_del vb-vl2-a vb-vl2-b vb-vl2-a2 vb-vl2-b2 vb-vl2-sw
}
