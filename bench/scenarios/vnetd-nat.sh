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
  echo "ip netns exec $h $VNETD -c $cfg" > "$RUN_DIR/vnetd_nat.cmdline"
  ip netns exec $h "$VNETD" -c "$cfg" > "$RUN_DIR/vnetd-nat.log" 2>&1 &
  pid=$!
  echo "$pid" > "$RUN_DIR/vnetd_nat.pid"
  for i in $(seq 100); do
    grep -q 'msg=ready' "$RUN_DIR/vnetd-nat.log" && break
    kill -0 "$pid" 2>/dev/null || { cat "$RUN_DIR/vnetd-nat.log" >&2; die "vnetd exited"; }
    sleep 0.1
  done
  grep -q 'msg=ready' "$RUN_DIR/vnetd-nat.log" || die "vnetd not ready after 10 s"
  ip -n $g addr add 10.0.2.15/24 dev eth0 && ip -n $g link set eth0 up &&
    ip -n $g route add default via 10.0.2.2 || die "guest address"
  cat > "$RUN_DIR/vnetd_nat.env" <<S
LABEL=vnetd-mtu$mtu
IMPL=vnetd
MTU=$mtu
H_EXEC="ip netns exec $h"
G_EXEC="ip netns exec $g"
G2H_ADDR=10.0.2.2
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=127.0.0.1
H2G_PORT=$P_H2G_FWD
H2G_RR_PORT=$P_H2G_RR_FWD
PING_ADDR=198.18.0.1
DAEMON_PIDS="$pid"
GUARD_EXEC="ip netns exec $h"
GUARD_IF=uplink0
CHECK="ping -c 1 -W 1 198.18.0.1"
S
}

vnetd_nat_teardown() {
  [ -f "$RUN_DIR/vnetd_nat.pid" ] && kill_pid "$(cat "$RUN_DIR/vnetd_nat.pid")"
  rm -f "$RUN_DIR/vnetd_nat.pid"
  ns_del vb-vn-g vb-vn-h vb-vn-h-void
}
