# shellcheck shell=bash
# vnetd-nat.sh - configuration "vnetd_nat": a namespace behind vnetd's user-mode
# NAT.  vnetd runs in a "host" namespace (loopback + a void uplink, see
# hostns_add) and puts a tap port into the guest namespace:
#   guest vb-vn-g: eth0 10.0.2.15/24, default via 10.0.2.2 (static, no DHCP)
#   host  vb-vn-h: servers on 127.0.0.1; 10.0.2.2 maps to the host's loopback;
#         forwards 127.0.0.1:P_H2G_FWD -> guest:P_H2G (tcp, udp),
#                  127.0.0.1:P_H2G_RR_FWD -> guest:P_H2G_RR (tcp)
# DHCP and DNS are off: nothing resolves and no upstream is ever contacted.
# Needs: VNETD.

vnetd_nat_setup() {
  local mtu=$1 h=vb-vn-h g=vb-vn-g pid i cfg=$RUN_DIR/vnetd-nat.yaml
  hostns_add $h
  ns_add $g
  cat > "$cfg" <<Y
control: $RUN_DIR/vnetd-nat.ctl
state_dir: $RUN_DIR/vnetd-nat-state
log: info
networks:
  - name: nat
    mode: nat
    mtu: $mtu
    dhcp: { enabled: false }
    dns: { enabled: false }
    forwards:
      - { proto: tcp, host: "127.0.0.1:$P_H2G_FWD", guest: "10.0.2.15:$P_H2G" }
      - { proto: udp, host: "127.0.0.1:$P_H2G_FWD", guest: "10.0.2.15:$P_H2G" }
      - { proto: tcp, host: "127.0.0.1:$P_H2G_RR_FWD", guest: "10.0.2.15:$P_H2G_RR" }
ports:
  - { name: g, type: tap, netns: /run/netns/$g, ifname: eth0, network: nat }
Y
  start_vnetd $h "$cfg" vnetd_nat
  pid=$VNETD_PID
  ip -n $g addr add 10.0.2.15/24 dev eth0 && ip -n $g link set eth0 up &&
    ip -n $g route add default via 10.0.2.2 || die "guest address"
  nat_env "$RUN_DIR/vnetd_nat.env" vnetd-mtu$mtu vnetd "$mtu" "$h" "$g" 127.0.0.1 "$pid"
}

vnetd_nat_teardown() {
  [ -f "$RUN_DIR/vnetd_nat.pid" ] && kill_pid "$(cat "$RUN_DIR/vnetd_nat.pid")"
  rm -f "$RUN_DIR/vnetd_nat.pid"
  ns_del vb-vn-g vb-vn-h vb-vn-h-void
}
