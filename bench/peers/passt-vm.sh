# shellcheck shell=bash
# passt-vm.sh - configuration "passt_vm": the guest on passt (Debian package
# passt), socket mode: `passt --socket PATH` in the host namespace, QEMU's
# -netdev stream on PATH (run-vm.sh stream:PATH; each frame a 4-byte length
# and the frame, no offloads).  passt gives the guest 10.0.2.15/24 with gateway
# 10.0.2.2, which it maps to the host's loopback (its default); -t forwards
# 127.0.0.1's P_H2G_FWD and P_VMCTL to the guest's P_H2G and 7000 (a connection
# from loopback goes through passt's NAT to the guest: passt, unlike pasta, has
# no namespace to splice into).  MTU GUEST_MTU (--mtu; the guest sets its own).
# env: PASST_BIN (default passt)

passt_vm_setup() {
  local h=vb-vmp-h pid i ver ok=1 bin=${PASST_BIN:-passt} sock=$RUN_DIR/passt-vm.sock
  command -v "$bin" > /dev/null || die "passt missing (Debian package passt)"
  hostns_add $h
  ver=$(dpkg-query -W -f '${Version}' passt 2>/dev/null)
  rm -f "$sock"
  local opts=(-f --runas 0 --socket "$sock" --mtu "$GUEST_MTU" -a 10.0.2.15 -n 24 -g 10.0.2.2
              -t "$P_H2G_FWD:$P_H2G,$P_VMCTL:7000" -u none -P "$RUN_DIR/passt-vm.pidfile")
  echo "ip netns exec $h $bin ${opts[*]}" > "$RUN_DIR/passt_vm.cmdline"
  ip netns exec $h "$bin" "${opts[@]}" > "$RUN_DIR/passt-vm.log" 2>&1 &
  pid=$!
  echo "$pid" > "$RUN_DIR/passt_vm.pid"
  for i in $(seq 100); do
    [ -S "$sock" ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$RUN_DIR/passt-vm.log" >&2; die "passt exited"; }
    sleep 0.05
  done
  vm_start passt_vm $h "stream:$sock" || ok=0
  vm_env passt_vm passt passt $h "$pid ${QEMU_PID:-}" "$ver" "$ok"
}

passt_vm_teardown() {
  vm_stop passt_vm
  [ -f "$RUN_DIR/passt_vm.pid" ] && kill_pid "$(cat "$RUN_DIR/passt_vm.pid")"
  rm -f "$RUN_DIR/passt_vm.pid" "$RUN_DIR/passt-vm.pidfile" "$RUN_DIR/passt-vm.sock"
  ns_del vb-vmp-h vb-vmp-h-void
}
