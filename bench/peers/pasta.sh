# shellcheck shell=bash
# pasta.sh - configuration "pasta" (Debian package passt), tap path.
# From shared/bench-peers/bench-pasta.sh, with the "host" being a namespace
# (hostns_add) so that nothing, not even the host's real address, is involved:
#   guest vb-pa-g: 10.0.2.15/24, gateway 10.0.2.2, which pasta maps to the
#         host's loopback (its default) -> guest->host dials 10.0.2.2;
#         fd00::15/64, gateway fd00::2, mapped to ::1 the same way
#   host  vb-pa-h: -t/-u forwarded ports; the host dials its own non-loopback
#         address 198.18.0.1 or 2001:2::1 (a loopback source would take pasta's
#         splice path, which bypasses the tap and the NAT)
# This pasta (Debian 12's, 2023) serves IPv6 because the host namespace's
# uplink has an IPv6 address and default route (hostns_add); -a/-g given twice
# set the guest's address and gateway of each family (--config-net applies
# them in the namespace).
# env: PASTA_BIN (default pasta)

pasta_setup() {
  local mtu=$1 h=vb-pa-h g=vb-pa-g pid i ver
  local bin=${PASTA_BIN:-pasta}
  command -v "$bin" > /dev/null || die "pasta missing (Debian package passt)"
  hostns_add $h
  ns_add $g
  ver=$("$bin" --version 2>/dev/null | head -1 | awk '{print $2}')
  local opts=(-f --runas 0 --config-net --mtu "$mtu" -a 10.0.2.15 -n 24 -g 10.0.2.2
              -a fd00::15 -g fd00::2
              -t "$P_H2G_FWD:$P_H2G,$P_H2G_RR_FWD:$P_H2G_RR" -u "$P_H2G_FWD:$P_H2G"
              -T none -U none -P "$RUN_DIR/pasta.pidfile" --netns "$g")
  echo "ip netns exec $h $bin ${opts[*]}" > "$RUN_DIR/pasta.cmdline"
  ip netns exec $h "$bin" "${opts[@]}" > "$RUN_DIR/pasta.log" 2>&1 &
  pid=$!
  echo "$pid" > "$RUN_DIR/pasta.pid"
  for i in $(seq 100); do
    ip -n $g -o addr show 2>/dev/null | grep -q 10.0.2.15 &&
      ip -n $g -6 -o addr show 2>/dev/null | grep -q fd00::15 && break
    kill -0 "$pid" 2>/dev/null || { cat "$RUN_DIR/pasta.log" >&2; die "pasta exited"; }
    sleep 0.05
  done
  sleep 0.5   # port forwarding sockets
  nat_env "$RUN_DIR/pasta.env" pasta-mtu$mtu pasta "$mtu" "$h" "$g" 198.18.0.1 "$pid" "$ver" \
    fd00::2 2001:2::1 2001:2::1
}

pasta_teardown() {
  [ -f "$RUN_DIR/pasta.pid" ] && kill_pid "$(cat "$RUN_DIR/pasta.pid")"
  rm -f "$RUN_DIR/pasta.pid" "$RUN_DIR/pasta.pidfile"
  ns_del vb-pa-g vb-pa-h vb-pa-h-void
}
