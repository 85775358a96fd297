# shellcheck shell=bash
# vde.sh - configuration "vde": vde_switch (Debian vde2) with its built-in tap
# ports (-t), the fastest vde setup (no vde_plug2tap processes in between).
# vde_switch runs in namespace vb-vde-sw, creates its taps there, and the taps
# are then moved into the two end namespaces (a tap keeps its file descriptor
# when it changes namespace).
#   vb-vde-a 198.18.4.1 eth0 =tap= [vde_switch in vb-vde-sw] =tap= eth0 198.18.4.2 vb-vde-b
# vde_switch drops frames larger than 1514 bytes: at MTU 9000 the CHECK fails
# and the configuration is reported as unsupported.

vde_setup() {
  local mtu=$1 sw=vb-vde-sw a=vb-vde-a b=vb-vde-b pid i n
  command -v vde_switch > /dev/null || die "vde_switch missing (Debian package vde2)"
  ns_add $sw $a $b
  rm -rf "$RUN_DIR/vde.sock" "$RUN_DIR/vde.mgmt"
  local cmd=(vde_switch -d -p "$RUN_DIR/vde.pid" -s "$RUN_DIR/vde.sock" -M "$RUN_DIR/vde.mgmt" -t vbvdea -t vbvdeb)
  echo "ip netns exec $sw ${cmd[*]}" > "$RUN_DIR/vde.cmdline"
  ip netns exec $sw "${cmd[@]}" < /dev/null > "$RUN_DIR/vde.log" 2>&1 || die "vde_switch failed: $(cat "$RUN_DIR/vde.log")"
  for i in $(seq 50); do [ -s "$RUN_DIR/vde.pid" ] && break; sleep 0.1; done
  pid=$(cat "$RUN_DIR/vde.pid" 2>/dev/null)
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || die "vde_switch did not start"
  echo "$pid" > "$RUN_DIR/vde.mypid"
  for n in a b; do
    for i in $(seq 50); do ip -n $sw link show vbvde$n > /dev/null 2>&1 && break; sleep 0.1; done
    local ns=vb-vde-$n
    ip -n $sw link set vbvde$n netns $ns || die "moving tap vbvde$n"
    ip -n $ns link set vbvde$n name eth0
    ip -n $ns link set eth0 mtu "$mtu"
  done
  l2_pair_env "$RUN_DIR/vde.env" vde-mtu$mtu vde_switch "$mtu" "$a" "$b" "$pid"
}

vde_teardown() {
  [ -f "$RUN_DIR/vde.mypid" ] && kill_pid "$(cat "$RUN_DIR/vde.mypid")"
  rm -f "$RUN_DIR/vde.mypid" "$RUN_DIR/vde.pid"
  rm -rf "$RUN_DIR/vde.sock" "$RUN_DIR/vde.mgmt"
  ns_del vb-vde-a vb-vde-b vb-vde-sw
}
