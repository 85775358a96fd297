# shellcheck shell=bash
# vnetd-nat.sh - configuration "vnetd_nat": a namespace behind vnetd's user-mode
# NAT.  vnetd runs in a "host" namespace (loopback + a void uplink, see
# hostns_add) and puts a tap port into the guest namespace:
#   guest vb-vn-g: eth0 10.0.2.15/24, default via 10.0.2.2 (static, no DHCP);
#         fd00::15/64, default via fd00::2 (static: no RA, no DHCPv6, no DAD)
#   host  vb-vn-h: servers on 127.0.0.1 and ::1; 10.0.2.2 and gateway6 fd00::2
#         map to the host's loopback (127.0.0.1, ::1);
#         forwards 127.0.0.1:P_H2G_FWD -> guest:P_H2G (tcp, udp),
#                  127.0.0.1:P_H2G_RR_FWD -> guest:P_H2G_RR (tcp),
#         and the same from [::1] to [fd00::15]
# DHCP, DHCPv6, RAs and DNS are off: nothing resolves and no upstream is ever
# contacted.  subnet6 fd00::/64 is slirp4netns's fixed prefix, which pasta is
# given too.
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
    subnet6: "fd00::/64"
    ra: { enabled: false }
    dhcp: { enabled: false }
    dhcp6: { mode: "off" }
    dns: { enabled: false }
    forwards:
      - { proto: tcp, host: "127.0.0.1:$P_H2G_FWD", guest: "10.0.2.15:$P_H2G" }
      - { proto: udp, host: "127.0.0.1:$P_H2G_FWD", guest: "10.0.2.15:$P_H2G" }
      - { proto: tcp, host: "127.0.0.1:$P_H2G_RR_FWD", guest: "10.0.2.15:$P_H2G_RR" }
      - { proto: tcp, host: "[::1]:$P_H2G_FWD", guest: "[fd00::15]:$P_H2G" }
      - { proto: udp, host: "[::1]:$P_H2G_FWD", guest: "[fd00::15]:$P_H2G" }
      - { proto: tcp, host: "[::1]:$P_H2G_RR_FWD", guest: "[fd00::15]:$P_H2G_RR" }
ports:
  - { name: g, type: tap, netns: /run/netns/$g, ifname: eth0, network: nat }
Y
  start_vnetd $h "$cfg" vnetd_nat
  pid=$VNETD_PID
  ip netns exec $g sysctl -q -w net.ipv6.conf.eth0.accept_ra=0 net.ipv6.conf.eth0.accept_dad=0
  ip -n $g addr add 10.0.2.15/24 dev eth0 && ip -n $g addr add fd00::15/64 dev eth0 nodad &&
    ip -n $g link set eth0 up && ip -n $g route add default via 10.0.2.2 &&
    ip -n $g -6 route add default via fd00::2 || die "guest address"
  nat_env "$RUN_DIR/vnetd_nat.env" vnetd-mtu$mtu vnetd "$mtu" "$h" "$g" 127.0.0.1 "$pid" "" \
    fd00::2 ::1 2001:2::1
}

vnetd_nat_teardown() {
  [ -f "$RUN_DIR/vnetd_nat.pid" ] && kill_pid "$(cat "$RUN_DIR/vnetd_nat.pid")"
  rm -f "$RUN_DIR/vnetd_nat.pid"
  ns_del vb-vn-g vb-vn-h vb-vn-h-void
}
