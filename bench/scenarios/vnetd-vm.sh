# shellcheck shell=bash
# vnetd-vm.sh - configurations "vnetd_vu" (vhost-user port) and "vnetd_st"
# (stream port, QEMU's -netdev stream): a QEMU guest behind vnetd's user-mode
# NAT (vm-lib.sh).  vnetd runs in the host namespace with a nat network of MTU
# GUEST_MTU, DHCP, DHCPv6, RAs and DNS off (the guest is static), and the
# forwards 127.0.0.1:P_H2G_FWD -> 10.0.2.15:P_H2G (iperf3) and
# 127.0.0.1:P_VMCTL -> 10.0.2.15:7000 (the guest's command server).
#   vnetd_vu: port type vhost-user, server mode, socket RUN_DIR/vnetd-vu.sock;
#             QEMU: run-vm.sh vhost-user:PATH (shared memfd guest RAM, default
#             virtio-net offloads, negotiated with vnetd)
#   vnetd_st: port type stream, socket RUN_DIR/vnetd-st.sock; QEMU: stream:PATH
# When vnetd refuses the vhost-user port (not built yet) or the guest does not
# come up on it, VNETD_VU_MISSING says why and the configuration is shown
# unsupported.
# Needs: VNETD.

vnetd_vm_conf() {  # vnetd_vm_conf NAME PORT-LINE -> RUN_DIR/NAME.yaml
  cat > "$RUN_DIR/$1.yaml" <<Y
control: $RUN_DIR/$1.ctl
state_dir: $RUN_DIR/$1-state
log: info
networks:
  - name: nat
    mode: nat
    mtu: $GUEST_MTU
    ra: { enabled: false }
    dhcp: { enabled: false }
    dhcp6: { mode: "off" }
    dns: { enabled: false }
    forwards:
      - { proto: tcp, host: "127.0.0.1:$P_H2G_FWD", guest: "10.0.2.15:$P_H2G" }
      - { proto: tcp, host: "127.0.0.1:$P_VMCTL", guest: "10.0.2.15:7000" }
ports:
  - $2
Y
}

# vnetd_vm_setup NAME NS LABEL PORT-LINE NET: vnetd and its guest
vnetd_vm_setup() {
  local name=$1 h=$2 label=$3 port=$4 net=$5 ok=1 why
  hostns_add "$h"
  vnetd_vm_conf "$name" "$port"
  if ! why=$("$VNETD" --check -c "$RUN_DIR/$name.yaml" 2>&1); then
    why="vnetd refuses the port: $(echo "$why" | tail -1)"
    log "$name: $why"
    [ "$name" = vnetd_vu ] && VNETD_VU_MISSING=$why
    vm_env "$name" "$label" "$label" "$h" "" "" 0
    return 0
  fi
  start_vnetd "$h" "$RUN_DIR/$name.yaml" "$name"
  local vpid=$VNETD_PID
  if ! vm_start "$name" "$h" "$net"; then
    ok=0
    [ "$name" = vnetd_vu ] && VNETD_VU_MISSING="the guest did not come up on the vhost-user port (RUN_DIR/$name.console)"
  fi
  vm_env "$name" "$label" "$label" "$h" "$vpid ${QEMU_PID:-}" "" "$ok"
}

vnetd_vu_setup() {
  vnetd_vm_setup vnetd_vu vb-vmu-h vnet-vhost-user \
    "{ name: vm, type: vhost-user, path: \"$RUN_DIR/vnetd-vu.sock\", mode: server, network: nat }" \
    "vhost-user:$RUN_DIR/vnetd-vu.sock"
}
vnetd_st_setup() {
  vnetd_vm_setup vnetd_st vb-vms-h vnet-stream \
    "{ name: vm, type: stream, path: \"$RUN_DIR/vnetd-st.sock\", network: nat }" \
    "stream:$RUN_DIR/vnetd-st.sock"
}

vnetd_vm_teardown() {  # vnetd_vm_teardown NAME NS
  vm_stop "$1"
  [ -f "$RUN_DIR/$1.pid" ] && kill_pid "$(cat "$RUN_DIR/$1.pid")"
  rm -f "$RUN_DIR/$1.pid"
  ns_del "$2" "$2-void"
}
vnetd_vu_teardown() { vnetd_vm_teardown vnetd_vu vb-vmu-h; }
vnetd_st_teardown() { vnetd_vm_teardown vnetd_st vb-vms-h; }
