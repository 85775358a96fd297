# shellcheck shell=bash
# kernel-vxlan.sh - configuration "kernel": the kernel reference of the overlay,
# a Linux VTEP on each host (vxlan nolearning + bridge, static flood list).
#   vb-ovk-a 198.18.4.1 -- [vb-ovk-ha: br0 + vx0 198.18.8.1] ==ul0== [vb-ovk-hb: vx0 198.18.8.2 + br0] -- 198.18.4.2 vb-ovk-b
# Checksum offload stays on: the kernel fills checksums in wherever a packet
# leaves for a real device, so this is the kernel at its best.

kernel_setup() {
  local mtu=$1 p=vb-ovk gmtu=$(($1 - 50))
  ov_hosts $p "$mtu"
  ov_kernel_vtep $p-ha $p-a 198.18.8.1 198.18.8.2 "$gmtu"
  ov_kernel_vtep $p-hb $p-b 198.18.8.2 198.18.8.1 "$gmtu"
  echo "vxlan id $OV_VNI dstport $OV_PORT nolearning + bridge on both hosts; underlay veth mtu $mtu" \
    > "$RUN_DIR/kernel.cmdline"
  ov_env "$RUN_DIR/kernel.env" kernel-mtu"$mtu" kernel "$mtu" $p ""
}

kernel_teardown() { ov_del vb-ovk; }
