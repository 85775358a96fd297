# shellcheck shell=bash
# wireguard-go.sh - configuration "wggo": the peer baseline of bench/vpn.sh,
# Debian's wireguard-go as the VPN endpoint in the endpoint namespace, routing
# (ip_forward) between its wg device and a veth to the guest:
#   laptop vb-wgg-l [wireguard-go vb-wgg-l0] ==ul0== [vb-wgg-h: wireguard-go vb-wgg-s0
#          10.66.0.1/24, ListenPort 51820; gv 10.0.2.2/24] --veth-- eth0 10.0.2.15 vb-wgg-g
# The endpoint's peer is the laptop with AllowedIPs 10.66.0.2/32 and no endpoint
# (learnt from the laptop's first handshake), as on a road-warrior server.
# Needs: vpn-lib.sh.

wggo_setup() {
  local mtu=$1 p=vb-wgg cfg=$RUN_DIR/wggo-server.conf ver
  vpn_topology $p
  vpn_keys wggo-server
  vpn_keys wggo-laptop
  cat > "$cfg" <<W
[Interface]
PrivateKey = $(cat "$RUN_DIR/wggo-server.key")
ListenPort = $VPN_PORT

[Peer]
PublicKey = $(cat "$RUN_DIR/wggo-laptop.pub")
AllowedIPs = 10.66.0.2/32
W
  chmod 600 "$cfg"
  vpn_wggo $p-h vb-wgg-s0 wggo-server
  WGGO_SERVER_PID=$WGGO_PID
  ip netns exec $p-h "$WG_BIN" setconf vb-wgg-s0 "$cfg" || die "wg setconf vb-wgg-s0"
  ip -n $p-h addr add 10.66.0.1/24 dev vb-wgg-s0
  ip -n $p-h link set vb-wgg-s0 mtu "$VPN_INNER_MTU" up
  ip -n $p-h link add gv mtu "$VPN_INNER_MTU" type veth peer name eth0 netns $p-g || die "guest veth"
  ip -n $p-h addr add 10.0.2.2/24 dev gv
  ip -n $p-h link set gv up
  ip netns exec $p-h sysctl -q -w net.ipv4.ip_forward=1
  vpn_guest_addr $p
  vpn_laptop $p vb-wgg-l0 wggo-laptop "$(cat "$RUN_DIR/wggo-server.pub")"
  vpn_handshake $p vb-wgg-l0 || log "  wggo: no handshake through wireguard-go within 10 s"
  ver=$("$WGGO_BIN" --version 2>/dev/null | head -1)
  echo "ip netns exec $p-h $WGGO_BIN -f vb-wgg-s0 (wg setconf $cfg; routes to the guest over a veth)" \
    > "$RUN_DIR/wggo.cmdline"
  vpn_env "$RUN_DIR/wggo.env" wireguard-go wireguard-go "$mtu" $p "$WGGO_SERVER_PID" "$ver"
}

wggo_teardown() {
  vpn_report_drops wireguard-go vb-wgg
  vpn_wggo_stop wggo-laptop vb-wgg-l0
  vpn_wggo_stop wggo-server vb-wgg-s0
  vpn_del vb-wgg
}
