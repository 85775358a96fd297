# shellcheck shell=bash
# slirp4netns.sh - configuration "slirp" (slirp4netns/libslirp, Debian package).
# From shared/bench-peers/bench-slirp4netns.sh, with the "host" being a
# namespace (hostns_add).  slirp4netns --configure gives the guest
# 10.0.2.100/24, gateway 10.0.2.2 (= host 127.0.0.1); host->guest through API
# hostfwd rules on 127.0.0.1 (P_H2G_FWD tcp+udp, P_H2G_RR_FWD tcp).
# --enable-ipv6 (experimental in 1.2.0): the guest takes a SLAAC address in
# fd00::/64 and reaches the host's ::1 as fd00::2.  Host->guest over IPv6 is
# unsupported (the API's hostfwd takes IPv4 host addresses only), and so is a
# ping of the host over IPv6 (libslirp answers ICMPv6 echo for its own
# addresses only).
# env: SLIRP_BIN (default slirp4netns)

slirp_api() {  # slirp_api JSON -> prints the reply
  "$PY" - "$RUN_DIR/slirp.sock" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()); s.shutdown(socket.SHUT_WR)
print(s.recv(65536).decode().strip())
PYEOF
}

slirp_setup() {
  local mtu=$1 h=vb-sl-h g=vb-sl-g pid i ver r
  local bin=${SLIRP_BIN:-slirp4netns} api=$RUN_DIR/slirp.sock
  command -v "$bin" > /dev/null || die "slirp4netns missing"
  hostns_add $h
  ns_add $g
  ver=$("$bin" --version | awk '/^slirp4netns version/ {print $3}')
  rm -f "$api"
  local opts=(--configure --enable-ipv6 --mtu="$mtu" --api-socket "$api" --netns-type=path "/run/netns/$g" tap0)
  echo "ip netns exec $h $bin ${opts[*]}" > "$RUN_DIR/slirp.cmdline"
  ip netns exec $h "$bin" "${opts[@]}" > "$RUN_DIR/slirp.log" 2>&1 &
  pid=$!
  echo "$pid" > "$RUN_DIR/slirp.pid"
  for i in $(seq 100); do
    [ -S "$api" ] && ip -n $g -4 -o addr show dev tap0 2>/dev/null | grep -q 10.0.2.100 && break
    kill -0 "$pid" 2>/dev/null || { cat "$RUN_DIR/slirp.log" >&2; die "slirp4netns exited"; }
    sleep 0.05
  done
  for i in $(seq 100); do  # SLAAC: the address past DAD, the default route from the RA
    ip -n $g -6 -o addr show dev tap0 scope global 2>/dev/null | grep -v tentative | grep -q fd00:: &&
      ip -n $g -6 route show default 2>/dev/null | grep -q . && break
    sleep 0.1
  done
  for r in "tcp $P_H2G_FWD $P_H2G" "udp $P_H2G_FWD $P_H2G" "tcp $P_H2G_RR_FWD $P_H2G_RR"; do
    set -- $r
    slirp_api "{\"execute\": \"add_hostfwd\", \"arguments\": {\"proto\": \"$1\", \"host_addr\": \"127.0.0.1\", \"host_port\": $2, \"guest_port\": $3}}" >> "$RUN_DIR/slirp.api.log" ||
      die "slirp4netns hostfwd $r"
  done
  nat_env "$RUN_DIR/slirp.env" slirp4netns-mtu$mtu slirp4netns "$mtu" "$h" "$g" 127.0.0.1 "$pid" "$ver" \
    fd00::2 "" ""
}

slirp_teardown() {
  [ -f "$RUN_DIR/slirp.pid" ] && kill_pid "$(cat "$RUN_DIR/slirp.pid")"
  rm -f "$RUN_DIR/slirp.pid" "$RUN_DIR/slirp.sock"
  ns_del vb-sl-g vb-sl-h vb-sl-h-void
}
