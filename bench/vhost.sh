#!/bin/bash
# vhost.sh BUILD - vnetd's vhost-user port (issue 14) driven by DPDK's testpmd
# through a net_virtio_user device (a "guest" that is a poll-mode driver, no VM):
#
#   testpmd (virtio_user, CPU 1) =vhost-user= [vnetd in vb-vh-sw, CPU 0] =tap= eth0 vb-vh-t
#     02:00:00:be:06:02 198.18.6.2                                 02:00:00:be:06:01 198.18.6.1
#
# Tests (each REPS times, medians):
#   g2t  guest -> switch -> tap: testpmd txonly sends UDP (port 9) to the tap's
#        address as fast as the ring takes it; counted at the receiving side,
#        the tap's rx_packets/rx_bytes in vb-vh-t over T seconds (after 1 s of warm-up)
#   t2g  tap -> switch -> guest: bench/tools/udpflood in vb-vh-t (the kernel
#        stack sending into the tap, on vnetd's CPU) for T seconds; counted at
#        the receiving side, testpmd rxonly's RX-packets/RX-bytes
# at two frame sizes: 60 B (the 64 B minimum frame without its FCS) for packets
# per second, 1514 B (MTU 1500) for Gbit/s. Frame bytes exclude the FCS.
# Also: what the sender got out (testpmd's Tx-pps: frames the ring took;
# udpflood's Sent), frames received per voluntary context switch of vnetd
# (its wake-ups), vnetd's CPU (% of one core), the vhost-user port's drop counters.
# testpmd runs without hugepages or a NIC: --no-huge -m 256 (EAL backs its
# memory with a memfd, which virtio_user hands to vnetd in SET_MEM_TABLE),
# --no-pci, --no-shconf --no-telemetry; its forwarding lcore busy-polls CPU 1.
# Bounded: every process by timeout(1) and BUDGET; about 1 min with the
# defaults (REPS=3 T=5), QUICK=1: one 2 s repetition (figures indicative only).
# Writes markdown to stdout and $RAW_DIR/report.md; a full run (not QUICK) also
# writes bench/results/vhost.md.
# env: REPS, T, BUDGET, QUICK (bench/README.md), TPMD_QSIZE (virtio_user ring
# size, default 256 as QEMU's), TESTS (default "g2t t2g"), SIZES ("60 1514").
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
VNETCTL=$(readlink -f "$BUILD")/vnetctl
# shellcheck disable=SC2034  # read by lib/harness.sh
RR_TOOL=pingpong
T=${T:-5}
. "$HERE/lib/harness.sh"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
need dpdk-testpmd cc jq
if ! why=$("$VNETD" --check -c <(printf 'networks:\n  - { name: n, mode: isolated }\nports:\n  - { name: v, type: vhost-user, path: /tmp/vb-vh-probe.sock, network: n }\n') 2>&1); then
  die "this vnetd has no vhost-user port: $why"
fi
TPMD_QSIZE=${TPMD_QSIZE:-256}
TESTS=${TESTS:-"g2t t2g"}
SIZES=${SIZES:-"60 1514"}
SW=vb-vh-sw TN=vb-vh-t
MAC_T=02:00:00:be:06:01 MAC_G=02:00:00:be:06:02
IP_T=198.18.6.1 IP_G=198.18.6.2
TPMD_PID="" FLOOD_PID="" VNETD_PID=""

harness_begin vhost
SOCK=$RUN_DIR/vhost.sock
PREFIX=vb-vh-$$
cc -O2 -Wall -o "$RUN_DIR/udpflood" "$HERE/tools/udpflood.c" || die "building bench/tools/udpflood.c"

teardown() {
  kill_pid "$FLOOD_PID"; kill_pid "$TPMD_PID"; kill_pid "$VNETD_PID"
  FLOOD_PID="" TPMD_PID="" VNETD_PID=""
  ns_del $TN $SW
  rm -f "$SOCK"; rm -rf "/var/run/dpdk/$PREFIX"
}
trap teardown EXIT
trap 'exit 130' INT TERM HUP

# ---- set-up: vnetd with a tap and a vhost-user port (server) ---------------
ns_add $SW $TN
cat > "$RUN_DIR/vnetd.yaml" <<Y
control: $RUN_DIR/vnetd.ctl
state_dir: $RUN_DIR/vnetd-state
log: info
networks:
  - { name: lan, mode: isolated, mtu: 1500 }
ports:
  - { name: t, type: tap, netns: /run/netns/$TN, ifname: eth0, network: lan, mac: "$MAC_T" }
  - { name: v, type: vhost-user, path: "$SOCK", mode: server, network: lan }
Y
start_vnetd $SW "$RUN_DIR/vnetd.yaml" vnetd
taskset -a -p -c 0 "$VNETD_PID" > /dev/null
ip -n $TN addr add $IP_T/24 dev eth0
ip -n $TN link set eth0 up
ip -n $TN neigh replace $IP_G lladdr $MAC_G dev eth0 nud permanent
ctl() { "$VNETCTL" --control "$RUN_DIR/vnetd.ctl" -j "$@"; }
ctl port show v > "$RUN_DIR/port-v-initial.json" 2>&1 || log "warning: vnetctl port show v failed"

# ---- helpers -----------------------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
wakeups() { awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
tap_ctr() { ip netns exec $TN cat "/sys/class/net/eth0/statistics/$1"; }

# tpmd_start MODE LEN LOG: testpmd in MODE (txonly|rxonly) with LEN-byte frames,
# bounded by timeout; waits until the port is up on vnetd's side
tpmd_start() {
  local mode=$1 len=$2 out=$3
  rm -rf "/var/run/dpdk/$PREFIX"
  echo "dpdk-testpmd --lcores=0@1,1@1 --no-pci --no-huge -m 256 --no-shconf --no-telemetry" \
    "--file-prefix=$PREFIX --vdev=net_virtio_user0,path=$SOCK,queues=1,queue_size=$TPMD_QSIZE,mac=$MAC_G" \
    "-- --forward-mode=$mode --txpkts=$len --eth-peer=0,$MAC_T --tx-ip=$IP_G,$IP_T --tx-udp=9,9" \
    "--stats-period=1 --no-mlockall --total-num-mbufs=16384" > "$out.cmdline"
  timeout -s INT $((T + 30)) dpdk-testpmd --lcores=0@1,1@1 --no-pci --no-huge -m 256 --no-shconf \
    --no-telemetry --file-prefix=$PREFIX \
    --vdev="net_virtio_user0,path=$SOCK,queues=1,queue_size=$TPMD_QSIZE,mac=$MAC_G" -- \
    --forward-mode="$mode" --txpkts="$len" --eth-peer=0,$MAC_T --tx-ip=$IP_G,$IP_T --tx-udp=9,9 \
    --stats-period=1 --no-mlockall --total-num-mbufs=16384 < /dev/null > "$out" 2>&1 &
  TPMD_PID=$!
  for _ in $(seq 100); do
    grep -q 'Port statistics' "$out" 2>/dev/null && return 0
    kill -0 "$TPMD_PID" 2>/dev/null || { tail -20 "$out" >&2; die "testpmd exited (see $out)"; }
    sleep 0.1
  done
  die "testpmd not forwarding after 10 s (see $out)"
}

# tpmd_stop LOG: SIGINT, wait; TOT_RX_PK (received frames) from its final
# forward statistics
tpmd_stop() {
  local out=$1
  kill -INT "$TPMD_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$TPMD_PID" 2>/dev/null || break; sleep 0.1; done
  kill_pid "$TPMD_PID"; TPMD_PID=""
  rm -rf "/var/run/dpdk/$PREFIX"
  TOT_RX_PK=$(awk '
    /Accumulated forward statistics/ { acc = 1; next }
    acc && /RX-packets:/ { rx = $2; acc = 0 }
    END { print rx + 0 }' "$out")
}

# tpmd_tx_pps LOG: median of testpmd's once-a-second Tx-pps (frames the ring
# took), leaving out the first (start-up) and the last (stopping) when there
# are more than two
tpmd_tx_pps() {
  grep -a 'Tx-pps:' "$1" | awk '{ print $2 }' | awk '{ v[NR] = $1 } END { for (i = 1; i <= NR; i++) if (NR <= 2 || (i > 1 && i < NR)) print v[i] }' | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.0f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

port_drops() {  # sum of the vhost-user port's rx and tx drop counters
  ctl stats v 2>/dev/null | jq '[.ports[0].rx_drops, .ports[0].tx_drops | .. | numbers] | add // 0' 2>/dev/null || echo 0
}

# g2t LEN REP: testpmd txonly -> vnetd -> tap
g2t() {
  local len=$1 rep=$2
  local out="$RUN_DIR/g2t-$len-$rep.log" p0 b0 p1 b1 c0 c1 d0 d1 t0 t1 w0 w1
  tpmd_start txonly "$len" "$out"
  sleep 1
  d0=$(port_drops); p0=$(tap_ctr rx_packets); b0=$(tap_ctr rx_bytes); c0=$(cpu_ticks "$VNETD_PID")
  w0=$(wakeups "$VNETD_PID"); t0=$(date +%s.%N)
  sleep "$T"
  p1=$(tap_ctr rx_packets); b1=$(tap_ctr rx_bytes); c1=$(cpu_ticks "$VNETD_PID")
  w1=$(wakeups "$VNETD_PID"); t1=$(date +%s.%N); d1=$(port_drops)
  tpmd_stop "$out"
  local secs; secs=$(echo "$t0 $t1" | awk '{ print $2 - $1 }')
  RES_PPS=$(awk -v d=$((p1 - p0)) -v s="$secs" 'BEGIN { printf "%.0f", d / s }')
  RES_GBPS=$(awk -v d=$((b1 - b0)) -v s="$secs" 'BEGIN { printf "%.3f", d * 8 / s / 1e9 }')
  RES_CPU=$(awk -v d=$((c1 - c0)) -v s="$secs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  RES_OFFERED=$(tpmd_tx_pps "$out")
  RES_DROPS=$((d1 - d0))
  RES_FPW=$(awk -v f=$((p1 - p0)) -v w=$((w1 - w0)) 'BEGIN { printf "%.1f", (w > 0 ? f / w : 0) }')
}

# t2g LEN REP: udpflood in the tap's namespace -> vnetd -> testpmd rxonly
t2g() {
  local len=$1 rep=$2
  local out="$RUN_DIR/t2g-$len-$rep.log" c0 c1 d0 d1 fl w0 w1
  tpmd_start rxonly "$len" "$out"
  d0=$(port_drops); c0=$(cpu_ticks "$VNETD_PID"); w0=$(wakeups "$VNETD_PID")
  fl=$(timeout $((T + 10)) ip netns exec $TN taskset -c 0 "$RUN_DIR/udpflood" $IP_G 9 "$T" $((len - 42)))
  c1=$(cpu_ticks "$VNETD_PID"); d1=$(port_drops); w1=$(wakeups "$VNETD_PID")
  echo "$fl" > "$out.flood"
  sleep 0.5
  tpmd_stop "$out"
  local secs sent
  secs=$(echo "$fl" | sed -n 's/.*RunTime=\([0-9.]*\).*/\1/p'); secs=${secs:-$T}
  sent=$(echo "$fl" | sed -n 's/.*Sent=\([0-9]*\).*/\1/p'); sent=${sent:-0}
  RES_PPS=$(awk -v d="$TOT_RX_PK" -v s="$secs" 'BEGIN { printf "%.0f", d / s }')
  RES_GBPS=$(awk -v d="$TOT_RX_PK" -v l="$len" -v s="$secs" 'BEGIN { printf "%.3f", d * l * 8 / s / 1e9 }')
  RES_CPU=$(awk -v d=$((c1 - c0)) -v s="$secs" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", d / hz / s * 100 }')
  RES_OFFERED=$(awk -v n="$sent" -v s="$secs" 'BEGIN { printf "%.0f", n / s }')
  RES_DROPS=$((d1 - d0))
  RES_FPW=$(awk -v f="$TOT_RX_PK" -v w=$((w1 - w0)) 'BEGIN { printf "%.1f", (w > 0 ? f / w : 0) }')
}

# ---- runs ----------------------------------------------------------------------
# shellcheck disable=SC2034  # read by record (lib/harness.sh)
LABEL=vnetd IMPL=vnetd MTU=1500
for rep in $(seq "$REPS"); do
  for test in $TESTS; do
    for len in $SIZES; do
      if [ "$rep" -gt 1 ] && [ $(( $(date +%s) - T_START + T + 15 )) -gt "$BUDGET" ]; then
        log "budget reached: skipping $test $len rep $rep"; continue
      fi
      wait_idle || true
      log "$test ${len} B rep $rep"
      "$test" "$len" "$rep"
      log "  -> $RES_PPS pps, $RES_GBPS Gbit/s, sent $RES_OFFERED pps, vnetd CPU $RES_CPU %, $RES_FPW frames per wake-up, port drops $RES_DROPS"
      record "${test}_$len" "$rep" pps="$RES_PPS" gbps="$RES_GBPS" sent_pps="$RES_OFFERED" \
        cpu_pct="$RES_CPU" port_drops="$RES_DROPS" frame_len="$len" frames_per_wakeup="$RES_FPW"
    done
  done
done
ctl port show v > "$RUN_DIR/port-v-final.json" 2>&1 || true

# ---- report ----------------------------------------------------------------------
report() {
  local commit; commit=$(git -C "$BENCH_ROOT/.." describe --always --dirty 2>/dev/null || echo unknown)
  echo "### vhost-user: DPDK testpmd (net_virtio_user) through vnetd to a tap, and back"
  echo
  echo "Build $BUILD ($commit), $(date -u '+%d %B %Y %H:%M UTC'), $(nproc) CPUs, kernel $(uname -r), DPDK $(dpkg-query -W -f '${Version}' dpdk-dev 2>/dev/null || echo '?')$([ "${QUICK:-0}" = 1 ] && echo ', QUICK (indicative only)')."
  echo "REPS=$REPS, T=${T} s, virtio_user queue size $TPMD_QSIZE; medians. testpmd polls CPU 1, vnetd (and udpflood) on CPU 0."
  echo
  echo "| direction | frame | received pps | received Gbit/s | sent pps | vnetd CPU % | frames per vnetd wake-up | port drops |"
  echo "|---|---|---|---|---|---|---|---|"
  "$PY" - "$RESULTS" "$TESTS" "$SIZES" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
names = {"g2t": "testpmd txonly → vnetd → tap", "t2g": "tap (udpflood) → vnetd → testpmd rxonly"}
for t in sys.argv[2].split():
    for n in sys.argv[3].split():
        rs = [r for r in rows if r.get("test") == f"{t}_{n}"]
        if not rs:
            continue
        med = lambda k: statistics.median(float(r[k]) for r in rs)
        print(f"| {names.get(t, t)} | {n} B | {med('pps') / 1e6:.2f} M | {med('gbps'):.2f} | "
              f"{med('sent_pps') / 1e6:.2f} M | {med('cpu_pct'):.0f} | {med('frames_per_wakeup'):.1f} | "
              f"{med('port_drops'):.0f} |")
PY
  echo
  echo "Frame bytes exclude the FCS (60 B = the 64 B minimum frame). g2t is counted on the tap's rx counters, t2g by testpmd rxonly; \"sent\" is what the sender got out (testpmd: frames its tx ring took, its Tx-pps; udpflood: datagrams the socket took); a vnetd wake-up is one of its voluntary context switches."
}
report | tee "$RAW_DIR/report.md"
if [ "${QUICK:-0}" != 1 ]; then
  { echo "# vnet vhost-user benchmark"; echo; echo "Produced by \`bench/vhost.sh $BUILD\`; raw results in bench/results/raw/$(basename "$RAW_DIR")/."; echo; cat "$RAW_DIR/report.md"; } \
    > "$BENCH_ROOT/results/vhost.md"
  log "wrote bench/results/vhost.md"
fi
log "== vhost done in $(( $(date +%s) - T_START ))s"
