# shellcheck shell=bash
# vnetd-vpn.sh - configuration "vnetd" of bench/vpn.sh: vnetd's VPN endpoint
# (issue 13) on the gateway of a nat network, the guest on a tap port:
#   laptop vb-wgv-l [wireguard-go vb-wgv-l0] ==ul0== [vb-wgv-h: vnetd, vpn listen
#          198.18.12.1:51820, address 10.66.0.1/24; nat network 10.0.2.0/24,
#          gateway 10.0.2.2] =tap= eth0 10.0.2.15 vb-wgv-g
# The network's peer is the laptop (allowed_ips 10.66.0.2/32, no endpoint);
# DHCP, RAs, DHCPv6 and DNS are off, the guest is configured statically as in
# the wireguard-go configuration.  The laptop's wg-quick file is written here
# from the generated keys (vpn-lib.sh vpn_laptop), not by
# `vnetctl vpn client-config`, so that this does not depend on it.
#
# When vnetd refuses the vpn: block, exits, or no handshake completes within
# 10 s, the configuration says "vnetd VPN not available" (VNETD_VPN_MISSING,
# with the reason), stops vnetd, and writes a CHECK that fails: the harness
# records it as unsupported and measures wireguard-go alone.
# Needs: VNETD, vpn-lib.sh.

VNETD_VPN_MISSING=""

# vpn_start_vnetd NS CONFIG NAME: like the harness's start_vnetd, but returns 1
# (with the last lines of the log in VNETD_FAIL) instead of dying when vnetd
# exits before it is ready
vpn_start_vnetd() {
  local ns=$1 cfg=$2 name=$3 log="$RUN_DIR/$3.log" i
  echo "ip netns exec $ns $VNETD -c $cfg" > "$RUN_DIR/$name.cmdline"
  ip netns exec "$ns" "$VNETD" -c "$cfg" > "$log" 2>&1 &
  VNETD_PID=$!
  echo "$VNETD_PID" > "$RUN_DIR/$name.pid"
  for i in $(seq 100); do
    grep -q 'msg=ready' "$log" && return 0
    if ! kill -0 "$VNETD_PID" 2>/dev/null; then
      VNETD_FAIL="vnetd refused the configuration: $(grep -v '^$' "$log" | tail -3 | tr '\n' ' ')"
      return 1
    fi
    sleep 0.1
  done
  VNETD_FAIL="vnetd not ready after 10 s"
  return 1
}

vnetd_setup() {
  local mtu=$1 p=vb-wgv cfg=$RUN_DIR/vnetd-vpn.yaml pid=""
  vpn_topology $p
  vpn_keys vnetd-server
  vpn_keys vnetd-laptop
  cat > "$cfg" <<Y
control: $RUN_DIR/vnetd-vpn.ctl
state_dir: $RUN_DIR/vnetd-vpn-state
log: info
networks:
  - name: nat
    mode: nat
    mtu: $VPN_INNER_MTU
    ra: { enabled: false }
    dhcp: { enabled: false }
    dhcp6: { mode: "off" }
    dns: { enabled: false }
    vpn:
      listen: "198.18.12.1:$VPN_PORT"
      private_key_file: "$RUN_DIR/vnetd-server.key"
      address: ["10.66.0.1/24"]
      peers:
        - { name: laptop, public_key: "$(cat "$RUN_DIR/vnetd-laptop.pub")", allowed_ips: ["10.66.0.2/32"] }
ports:
  - { name: g, type: tap, netns: /run/netns/$p-g, ifname: eth0, network: nat }
Y
  if vpn_start_vnetd $p-h "$cfg" vnetd_vpn; then
    pid=$VNETD_PID
    vpn_guest_addr $p
    vpn_laptop $p vb-wgv-l0 vnetd-laptop "$(cat "$RUN_DIR/vnetd-server.pub")"
    if ! vpn_handshake $p vb-wgv-l0; then
      VNETD_FAIL="vnetd started, but no handshake (or no ping to the guest) through its VPN within 10 s"
      pid=""
    fi
  fi
  if [ -z "$pid" ]; then
    VNETD_VPN_MISSING=$VNETD_FAIL
    log "  vnetd VPN not available: $VNETD_FAIL"
    vnetd_stop_only
    cat > "$RUN_DIR/vnetd.env" <<S
LABEL=vnetd
IMPL=vnetd
MTU=$mtu
H_EXEC="ip netns exec $p-g"
G_EXEC="ip netns exec $p-l"
DAEMON_PIDS=""
GUARD_EXEC=""
GUARD_IF=""
CHECK="false vnetd VPN not available"
S
    return 0
  fi
  vpn_env "$RUN_DIR/vnetd.env" vnetd vnetd "$mtu" $p "$pid"
}

vnetd_stop_only() {
  [ -f "$RUN_DIR/vnetd_vpn.pid" ] && kill_pid "$(cat "$RUN_DIR/vnetd_vpn.pid")"
  rm -f "$RUN_DIR/vnetd_vpn.pid"
}

vnetd_teardown() {
  [ -z "$VNETD_VPN_MISSING" ] && vpn_report_drops vnetd vb-wgv
  vpn_wggo_stop vnetd-laptop vb-wgv-l0
  vnetd_stop_only
  vpn_del vb-wgv
}
