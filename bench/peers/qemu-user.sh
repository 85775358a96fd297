# shellcheck shell=bash
# qemu-user.sh - configuration "qemu_user": QEMU's own user-mode network
# (-netdev user, libslirp inside the QEMU process) in the host namespace:
# net=10.0.2.0/24, host=10.0.2.2 (the host's loopback), hostfwd
# 127.0.0.1:P_H2G_FWD -> 10.0.2.15:P_H2G and 127.0.0.1:P_VMCTL -> 10.0.2.15:7000.
# There is no separate back end: DAEMON_PIDS is QEMU alone.

qemu_user_setup() {
  local h=vb-vmq-h ok=1 ver
  hostns_add $h
  ver=$(dpkg-query -W -f '${Version}' libslirp0 2>/dev/null)
  vm_start qemu_user $h "netdev:user,net=10.0.2.0/24,host=10.0.2.2,hostfwd=tcp:127.0.0.1:$P_H2G_FWD-10.0.2.15:$P_H2G,hostfwd=tcp:127.0.0.1:$P_VMCTL-10.0.2.15:7000" || ok=0
  vm_env qemu_user qemu-user qemu-user $h "${QEMU_PID:-}" "libslirp $ver" "$ok"
}

qemu_user_teardown() {
  vm_stop qemu_user
  ns_del vb-vmq-h vb-vmq-h-void
}
