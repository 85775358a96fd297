# shellcheck shell=bash
# vnetd-overlay.sh - the overlay configurations with vnetd (bench/overlay.sh):
#   vnetd  vnetd's vxlan port on both hosts
#     vb-ovv-a 198.18.4.1 =tap= [vnetd in vb-ovv-ha, vxlan 198.18.8.1] ==ul0== [vnetd in vb-ovv-hb, vxlan 198.18.8.2] =tap= 198.18.4.2 vb-ovv-b
#   mixed  vnetd on host a, a Linux VTEP (scenarios/overlay-lib.sh) on host b
#     vb-ovm-a 198.18.4.1 =tap= [vnetd in vb-ovm-ha] ==ul0== [vb-ovm-hb: vx0 + br0] -- 198.18.4.2 vb-ovm-b
# vnetd runs inside the host namespace (its UDP sockets live there), with one
# isolated network of VNI OV_VNI, learning on, the other host as its flood
# list; the network's MTU is vnetd's default for a vxlan port (the underlay's
# minus 50).  The kernel host of "mixed" has transmit checksum offload off
# on its underlay veth (ov_kernel_vtep txoff: vnetd reads the inner frame
# from a UDP payload, where a checksum a veth left to "hardware" would still
# be unfilled; so the kernel fills it in and segments before sending).
# Needs: VNETD.

# ov_vnetd NAME HOST GUEST LOCAL REMOTE MAC: vnetd in HOST with a tap into
# GUEST (MAC: a tap's default MAC derives from the machine id and the port
# name, the same for both "hosts" of this one machine) and a vxlan port
# LOCAL -> REMOTE; its PID in VNETD_PID
ov_vnetd() {
  local name=$1 h=$2 g=$3 local=$4 remote=$5 mac=$6 cfg=$RUN_DIR/$1.yaml
  cat > "$cfg" <<Y
control: $RUN_DIR/$name.ctl
state_dir: $RUN_DIR/$name-state
log: info
networks:
  - { name: lan, mode: isolated, vni: $OV_VNI }
ports:
  - { name: g, type: tap, netns: /run/netns/$g, ifname: eth0, network: lan, mac: "$mac" }
  - { name: vx, type: vxlan, local: "$local:$OV_PORT", networks: [lan], remotes: ["$remote"] }
Y
  start_vnetd "$h" "$cfg" "$name"
}

vnetd_setup() {
  local mtu=$1 p=vb-ovv pa pb
  ov_hosts $p "$mtu"
  ov_vnetd vnetd_a $p-ha $p-a 198.18.8.1 198.18.8.2 02:00:00:be:08:01; pa=$VNETD_PID
  ov_vnetd vnetd_b $p-hb $p-b 198.18.8.2 198.18.8.1 02:00:00:be:08:02; pb=$VNETD_PID
  cat "$RUN_DIR/vnetd_a.cmdline" "$RUN_DIR/vnetd_b.cmdline" > "$RUN_DIR/vnetd.cmdline"
  ov_env "$RUN_DIR/vnetd.env" vnetd-mtu"$mtu" vnetd "$mtu" $p "$pa $pb"
}

vnetd_teardown() {
  local n
  for n in vnetd_a vnetd_b; do
    [ -f "$RUN_DIR/$n.pid" ] && kill_pid "$(cat "$RUN_DIR/$n.pid")"
    rm -f "$RUN_DIR/$n.pid"
  done
  ov_del vb-ovv
}

mixed_setup() {
  local mtu=$1 p=vb-ovm
  ov_hosts $p "$mtu"
  ov_vnetd mixed_a $p-ha $p-a 198.18.8.1 198.18.8.2 02:00:00:be:08:01
  ov_kernel_vtep $p-hb $p-b 198.18.8.2 198.18.8.1 $((mtu - 50)) txoff
  cp "$RUN_DIR/mixed_a.cmdline" "$RUN_DIR/mixed.cmdline"
  ov_env "$RUN_DIR/mixed.env" mixed-mtu"$mtu" mixed "$mtu" $p "$VNETD_PID"
}

mixed_teardown() {
  [ -f "$RUN_DIR/mixed_a.pid" ] && kill_pid "$(cat "$RUN_DIR/mixed_a.pid")"
  rm -f "$RUN_DIR/mixed_a.pid"
  ov_del vb-ovm
}
