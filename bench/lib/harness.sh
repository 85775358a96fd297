# shellcheck shell=bash
# harness.sh - the measuring method shared by bench/switch.sh and bench/nat.sh.
#
# Theory of operation
#   A "configuration" (vnetd, a Linux bridge, pasta...) joins a "host side" and a
#   "guest side" (network namespaces the scripts create).  Its setup function
#   writes the variables below to $RUN_DIR/<cfg>.env.  The suite then runs every
#   test for every configuration, REPS times, interleaved as
#       for rep: for test: for configuration
#   so that all configurations of one test run seconds apart, under the same
#   machine load; the ratios between them are what the report shows.  One JSON
#   line per run goes to $RAW_DIR/results.jsonl; report.py makes the tables.
#
#   Before each run the harness waits (briefly) for an idle machine; a run during
#   which processes that are not ours used more than FOREIGN_MAX % of a core is
#   repeated at most RETRIES times, then kept and flagged.  Tests whose name ends
#   in _pin run client, server and daemon(s) on CPU PIN_CPU (cross-CPU wake-ups
#   dominate round trips on this 2-vCPU VM; pinned figures show software cost).
#   Every client is bounded by `timeout`; a pass adds a repetition only if it
#   should end before BUDGET seconds minus the estimated time of the passes
#   still to come (at least one repetition always runs).
#
# Adapted from /work/shared/bench-peers/lib.sh (same tests, parsing, CPU
# accounting and idle/foreign-load rules).
#
# Variables in a configuration's env file:
#   LABEL IMPL MTU           names (IMPL = vnetd|bridge|vde|pasta|slirp4netns)
#   H_EXEC G_EXEC            command prefixes for the host and guest sides
#   G2H_ADDR G2H_PORT G2H_RR_PORT   what the guest dials (host servers: P_G2H*)
#   H2G_ADDR H2G_PORT H2G_RR_PORT   what the host dials (guest servers: P_H2G*)
#   PING_ADDR                address the guest pings ("" = no ping test)
#   G2H_ADDR6 H2G_ADDR6 PING_ADDR6  the same over IPv6, for the tests whose name
#                            ends in 6 (tcp_g2h6, rr_tcp_h2g6_pin...); "" = the
#                            configuration cannot do it (recorded "unsupported")
#   DAEMON_PIDS              user-space processes forwarding the traffic ("" = kernel)
#   GUARD_EXEC GUARD_IF      interface whose tx counter must not move ("" = none)
#   CHECK                    command (guest side) proving the path works at this MTU
#   P2_H_EXEC P2_G_EXEC P2_ADDR  a second, independent pair of namespaces on the
#                            same switch (the guest side dials P2_ADDR): the
#                            tcp_pair2 test runs one TCP stream in each pair at
#                            once ("" = the configuration has no second pair)

BENCH_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(dirname "$BENCH_LIB")

# Fixed server-side ports (the same as the shared method's)
P_G2H=${P_G2H:-5241}          # iperf3 server on the host side
P_G2H_RR=${P_G2H_RR:-11141}   # sockperf server on the host side
P_H2G=${P_H2G:-5251}          # iperf3 server on the guest side
P_H2G_RR=${P_H2G_RR:-11151}   # sockperf server on the guest side
P_H2G_FWD=${P_H2G_FWD:-5252}        # forwarded (NAT) host ports
P_H2G_RR_FWD=${P_H2G_RR_FWD:-11152}

REPS=${REPS:-3}
T=${T:-7}
OMIT=${OMIT:-1}
RR_T=${RR_T:-3}
RR_MSG=${RR_MSG:-64}
PING_N=${PING_N:-300}
PING_I=${PING_I:-0.005}
IDLE_MAX_BUSY=${IDLE_MAX_BUSY:-15}
IDLE_WAIT_MAX=${IDLE_WAIT_MAX:-3}
FOREIGN_MAX=${FOREIGN_MAX:-10}
RETRIES=${RETRIES:-1}
PIN_CPU=${PIN_CPU:-0}
BUDGET=${BUDGET:-590}
# QUICK=1: a short check that a script works (1 repetition, 2 s runs, no
# waiting for an idle machine); its figures are indicative only
if [ "${QUICK:-0}" = 1 ]; then
  REPS=1 T=2 OMIT=1 RR_T=1 PING_N=30 IDLE_WAIT_MAX=0 RETRIES=0
fi
# RR_TOOL: pingpong (bench/tools/pingpong.c, built into the run directory;
# IPv4 and IPv6) or sockperf (IPv4 only in Debian's 3.7)
RR_TOOL=${RR_TOOL:-sockperf}
PY=${PY:-/usr/bin/python3}
ROOT_PID=$$

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() {  # need CMD... : fail early when a tool is missing
  local c
  for c in "$@"; do command -v "$c" > /dev/null || die "missing tool: $c"; done
}

# harness_begin SUITE: result directory, start time, budget
harness_begin() {
  SUITE=$1
  [ "$(id -u)" = 0 ] || die "run as root (namespaces, taps)"
  need ip iperf3 taskset timeout ping ss "$PY"
  local ts; ts=$(date +%Y%m%d-%H%M%S)
  RAW_DIR=${RAW_DIR:-$BENCH_ROOT/results/raw/$SUITE-$ts}
  RUN_DIR=$RAW_DIR/run
  mkdir -p "$RUN_DIR"
  RESULTS=$RAW_DIR/results.jsonl
  : > "$RESULTS"
  case $RR_TOOL in
    sockperf) need sockperf ;;
    pingpong)
      need cc
      PINGPONG=$RUN_DIR/pingpong
      cc -O2 -Wall -o "$PINGPONG" "$BENCH_ROOT/tools/pingpong.c" || die "building bench/tools/pingpong.c" ;;
    *) die "RR_TOOL must be sockperf or pingpong" ;;
  esac
  T_START=$(date +%s)
  log "== $SUITE: results in $RAW_DIR (budget ${BUDGET}s, REPS=$REPS T=${T}s RR_T=${RR_T}s)"
}

# ---- processes (only ever PIDs we started) -------------------------------
kill_pid() {  # kill_pid PID: TERM, wait up to 5 s, then KILL
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill "$pid" 2>/dev/null
  for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

wait_listen() {  # wait_listen "EXEC prefix" tcp|udp PORT
  local exec=$1 proto=$2 port=$3 i flag=-ltn
  [ "$proto" = udp ] && flag=-lun
  for i in $(seq 100); do
    $exec ss -H $flag "sport = :$port" 2>/dev/null | grep -q . && return 0
    sleep 0.05
  done
  log "warning: nothing listening on $proto/$port"
  return 1
}

# ---- namespaces ---------------------------------------------------------------
# Every namespace a script creates is listed in $RUN_DIR/netns so cleanup removes
# exactly those.
ns_add() {
  local n
  for n in "$@"; do
    ip netns add "$n" || die "ip netns add $n failed (left over from an aborted run? 'ip netns del $n')"
    echo "$n" >> "$RUN_DIR/netns"
    ip -n "$n" link set lo up
  done
}
ns_del() {
  local n
  for n in "$@"; do ip netns del "$n" 2>/dev/null; done
}

# hostns_add NAME: a namespace standing for "the host" of a NAT configuration:
# loopback, and an uplink 198.18.0.1/24 and 2001:2::1/64 (the IPv4 and IPv6
# benchmarking ranges, RFC 2544/5180) whose default gateways live in an empty
# namespace NAME-void.  Nothing can leave: a NAT bug sending traffic "out" ends
# up as tx packets on uplink0, which the guard counts.  The uplink's IPv6 (pasta
# serves IPv6 only when the host has an IPv6 default route) is kept quiet so
# that the counter stays still otherwise: no DAD, no router solicitations, a
# permanent neighbour entry for the gateway; its multicast listener reports go
# out when the link comes up, before any run.
hostns_add() {
  local h=$1
  ns_add "$h" "$h-void"
  ip -n "$h" link add uplink0 type veth peer name void0 netns "$h-void" || die "veth in $h"
  ip netns exec "$h" sysctl -q -w net.ipv6.conf.uplink0.accept_ra=0 \
    net.ipv6.conf.uplink0.router_solicitations=0 net.ipv6.conf.uplink0.accept_dad=0
  ip netns exec "$h-void" sysctl -q -w net.ipv6.conf.void0.disable_ipv6=1
  ip -n "$h" addr add 198.18.0.1/24 dev uplink0
  ip -n "$h" addr add 2001:2::1/64 dev uplink0 nodad
  ip -n "$h" link set uplink0 up
  ip -n "$h-void" link set void0 up
  ip -n "$h" route add default via 198.18.0.254
  ip -n "$h" -6 neigh add 2001:2::fe lladdr 02:00:00:00:00:fe dev uplink0 nud permanent
  ip -n "$h" -6 route add default via 2001:2::fe
  # ICMP and ICMPv6 echo sockets (pasta, libslirp and vnetd forward guest pings
  # with them; the one range covers both families);
  # the setting is per namespace, the host's stays untouched.
  ip netns exec "$h" sysctl -q -w net.ipv4.ping_group_range="0 2147483647"
}

# ---- /proc helpers --------------------------------------------------------------
start_vnetd() {  # start_vnetd NS CONFIG NAME: vnetd in NS, ready; its PID in VNETD_PID
  # Writes RUN_DIR/NAME.cmdline and NAME.pid, logs to RUN_DIR/NAME.log.
  local ns=$1 cfg=$2 name=$3 log="$RUN_DIR/$3.log" i
  echo "ip netns exec $ns $VNETD -c $cfg" > "$RUN_DIR/$name.cmdline"
  ip netns exec "$ns" "$VNETD" -c "$cfg" > "$log" 2>&1 &
  VNETD_PID=$!
  echo "$VNETD_PID" > "$RUN_DIR/$name.pid"
  for i in $(seq 100); do
    grep -q 'msg=ready' "$log" && return 0
    kill -0 "$VNETD_PID" 2>/dev/null || { cat "$log" >&2; die "vnetd exited"; }
    sleep 0.1
  done
  die "vnetd not ready after 10 s"
}

nat_env() {  # nat_env ENVFILE LABEL IMPL MTU NS_HOST NS_GUEST H2G_ADDR "PIDS" VERSION G2H6 H2G6 PING6
  # The configuration file of a NAT scenario: the guest reaches the host's
  # loopback as 10.0.2.2, the host reaches the guest through forwarded ports
  # at H2G_ADDR, and 198.18.0.1 (the host namespace's uplink) answers pings.
  # Over IPv6: the guest dials G2H6 (which the NAT maps to the host's ::1), the
  # host dials H2G6, the guest pings PING6; "" where the NAT cannot.
  local env=$1 label=$2 impl=$3 mtu=$4 h=$5 g=$6 h2g=$7 pids=$8 ver=${9:-}
  local g2h6=${10:-} h2g6=${11:-} ping6=${12:-}
  cat > "$env" <<S
LABEL=$label
IMPL=$impl
IMPL_VERSION="$ver"
MTU=$mtu
H_EXEC="ip netns exec $h"
G_EXEC="ip netns exec $g"
G2H_ADDR=10.0.2.2
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=$h2g
H2G_PORT=$P_H2G_FWD
H2G_RR_PORT=$P_H2G_RR_FWD
PING_ADDR=198.18.0.1
G2H_ADDR6=$g2h6
H2G_ADDR6=$h2g6
PING_ADDR6=$ping6
DAEMON_PIDS="$pids"
GUARD_EXEC="ip netns exec $h"
GUARD_IF=uplink0
CHECK="ping -c 1 -W 1 198.18.0.1"
S
}

l2_pair_env() {  # l2_pair_env ENVFILE LABEL IMPL MTU NS_A NS_B "PIDS" [NS_A2 NS_B2]
  # The two ends of an L2 scenario: 198.18.4.1 in NS_A ("host" side, eth0)
  # and 198.18.4.2 in NS_B (eth0), brought up; writes the configuration file
  # the harness loads (see load_cfg).  NS_A2 and NS_B2: the second pair of the
  # tcp_pair2 test, 198.18.5.1 and 198.18.5.2 (on a network of their own).
  local env=$1 label=$2 impl=$3 mtu=$4 a=$5 b=$6 pids=$7 a2=${8:-} b2=${9:-}
  ip -n "$a" addr add 198.18.4.1/24 dev eth0 && ip -n "$a" link set eth0 up || die "$impl: eth0 in $a"
  ip -n "$b" addr add 198.18.4.2/24 dev eth0 && ip -n "$b" link set eth0 up || die "$impl: eth0 in $b"
  if [ -n "$a2" ]; then
    ip -n "$a2" addr add 198.18.5.1/24 dev eth0 && ip -n "$a2" link set eth0 up || die "$impl: eth0 in $a2"
    ip -n "$b2" addr add 198.18.5.2/24 dev eth0 && ip -n "$b2" link set eth0 up || die "$impl: eth0 in $b2"
  fi
  cat > "$env" <<S
LABEL=$label
IMPL=$impl
MTU=$mtu
H_EXEC="ip netns exec $a"
G_EXEC="ip netns exec $b"
G2H_ADDR=198.18.4.1
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=198.18.4.2
H2G_PORT=$P_H2G
H2G_RR_PORT=$P_H2G_RR
PING_ADDR=198.18.4.1
DAEMON_PIDS="$pids"
GUARD_EXEC=""
GUARD_IF=""
CHECK="ping -c 1 -W 1 -M do -s $((mtu - 28)) 198.18.4.1"
P2_H_EXEC="${a2:+ip netns exec $a2}"
P2_G_EXEC="${b2:+ip netns exec $b2}"
P2_ADDR="${a2:+198.18.5.1}"
S
}

rss_kb() {  # rss_kb FIELD PID... -> sum of VmRSS/VmHWM (kB) of the PIDs
  local f=$1 p s=0 v; shift
  for p in "$@"; do
    v=$(awk -v f="$f:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null)
    s=$((s + ${v:-0}))
  done
  echo "$s"
}

guard_count() {  # tx packets on the configuration's guard interface
  [ -n "${GUARD_IF:-}" ] || { echo 0; return; }
  $GUARD_EXEC cat "/sys/class/net/$GUARD_IF/statistics/tx_packets" 2>/dev/null || echo 0
}

# ---- CPU sampling -----------------------------------------------------------------
cpu_snap() { "$PY" "$BENCH_LIB/cpusnap.py" snap "$1"; }
cpu_delta() {  # -> CPU_DAEMON CPU_SYS CPU_FOREIGN CPU_FOREIGN_TOP
  # shellcheck disable=SC2086
  read -r CPU_DAEMON CPU_SYS CPU_FOREIGN CPU_FOREIGN_TOP < <("$PY" "$BENCH_LIB/cpusnap.py" delta "$1" "$2" "$ROOT_PID" \
    "$(echo ${DAEMON_PIDS:-} | tr ' ' ,)" "$(echo ${ALL_DAEMONS:-} | tr ' ' ,)")
}

idle_busy() {  # idle_busy SECONDS -> busy % of the machine (100 = one core)
  local a b
  a=$(awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5+$6; exit}' /proc/stat)
  sleep "$1"
  b=$(awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5+$6; exit}' /proc/stat)
  echo "$a $b" | awk -v n="$(nproc)" '{ d=$3-$1; printf "%.1f\n", (d>0) ? (1-($4-$2)/d)*100*n : 0 }'
}

wait_idle() {  # wait until the machine is (nearly) idle, at most IDLE_WAIT_MAX s
  # Once the machine was found busy, probe only once per run (0.5 s) until it
  # is idle again: waiting the full time before every run of a persistently
  # loaded machine would spend the budget on waiting.
  local tries=$((IDLE_WAIT_MAX * 2)) i b
  if [ "${MACHINE_BUSY:-0}" = 1 ] || [ "$tries" -lt 1 ]; then tries=1; fi
  for ((i = 1; i <= tries; i++)); do
    b=$(idle_busy 0.5)
    if awk -v b="$b" -v m="$IDLE_MAX_BUSY" 'BEGIN { exit !(b <= m) }'; then
      PRE_BUSY=$b; MACHINE_BUSY=0; return 0
    fi
  done
  PRE_BUSY=$b; MACHINE_BUSY=1; return 1
}

# ---- pinning -----------------------------------------------------------------------
pin_daemons() {  # pin_daemons CPULIST: all threads of the daemons
  local p
  for p in ${DAEMON_PIDS:-}; do taskset -a -p -c "$1" "$p" > /dev/null 2>&1; done
}

# ---- result recording ----------------------------------------------------------------
# record TEST REP KEY=VALUE...   (numbers stay numbers, others become strings)
record() {
  local test=$1 rep=$2; shift 2
  "$PY" "$BENCH_LIB/jsonl.py" record "$RESULTS" suite="$SUITE" label="$LABEL" impl="$IMPL" \
    mtu="$MTU" test="$test" rep="$rep" "$@" pre_busy_pct="${PRE_BUSY:-0}" attempt="${ATTEMPT:-1}" \
    foreign_cpu_pct="${CPU_FOREIGN:-0}" foreign_top="${CPU_FOREIGN_TOP:--}" ts="$(date -Is)"
}

# ---- tests ------------------------------------------------------------------------------
# Each test leaves its metrics in RES (KEY=VALUE words) and a summary in RES_TXT.

# measure SECONDS CMD...: run the client between two CPU snapshots; halfway
# through, sample the daemons' VmRSS (-> RSS_LOAD, kB)
measure() {
  local half=$1; shift
  local a="$RUN_DIR/.snap.a" b="$RUN_DIR/.snap.b" sp="" rc
  RSS_LOAD=0
  rm -f "$RUN_DIR/.rss"
  if [ -n "${DAEMON_PIDS:-}" ]; then
    # shellcheck disable=SC2086
    ( sleep "$half"; rss_kb VmRSS $DAEMON_PIDS > "$RUN_DIR/.rss" ) &
    sp=$!; SAMPLER_PID=$sp
  fi
  cpu_snap "$a"
  "$@"
  rc=$?
  cpu_snap "$b"
  cpu_delta "$a" "$b"
  if [ -n "$sp" ]; then
    kill "$sp" 2>/dev/null; wait "$sp" 2>/dev/null; SAMPLER_PID=""
    [ -s "$RUN_DIR/.rss" ] && RSS_LOAD=$(cat "$RUN_DIR/.rss")
  fi
  return $rc
}

# test_addr g2h|h2g|ping 4|6: the address a test of that direction and family
# dials ("" = the configuration cannot)
test_addr() {
  local v
  case $1 in g2h) v=G2H_ADDR ;; h2g) v=H2G_ADDR ;; ping) v=PING_ADDR ;; esac
  [ "$2" = 6 ] && v+=6
  echo "${!v:-}"
}

# iperf_test TEST REP g2h|h2g 4|6   (single TCP stream; the servers listen on
# both families)
iperf_test() {
  local test=$1 rep=$2 dir=$3 fam=$4
  local srv_exec cli_exec srv_port addr port out spid
  addr=$(test_addr "$dir" "$fam")
  if [ "$dir" = g2h ]; then
    srv_exec=$H_EXEC cli_exec=$G_EXEC srv_port=$P_G2H port=$G2H_PORT
  else
    srv_exec=$G_EXEC cli_exec=$H_EXEC srv_port=$P_H2G port=$H2G_PORT
  fi
  out="$RUN_DIR/$LABEL.$test.$rep.json"
  $PIN $srv_exec iperf3 -s -1 -p "$srv_port" > "$out.srv.log" 2>&1 &
  spid=$!; SRV_PID=$spid
  wait_listen "$srv_exec" tcp "$srv_port"
  local cmd="$cli_exec iperf3 -c $addr -p $port -t $T -O $OMIT -J"
  measure $(((T + OMIT) / 2)) timeout $((T + OMIT + 20)) $PIN $cmd > "$out" 2> "$out.err"
  for _ in $(seq 50); do kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
  kill_pid "$spid"; wait "$spid" 2>/dev/null; SRV_PID=""
  local gbps retr hcpu rcpu err
  read -r gbps retr hcpu rcpu err < <("$PY" "$BENCH_LIB/jsonl.py" iperf "$out")
  [ -n "$err" ] && log "  $LABEL $test rep $rep: iperf3 error: $err"
  RES=(gbps="${gbps:-0}" tcp_retransmits="${retr:-0}" iperf_client_cpu_pct="${hcpu:-0}"
       iperf_server_cpu_pct="${rcpu:-0}" error="${err:-}" cmd="$cmd")
  RES_TXT="$(printf '%.3f' "${gbps:-0}") Gbit/s retr=${retr:-0}"
}

pair2_clients() {  # pair2_clients OUT: both clients of pair2_test, at once
  local c2
  # shellcheck disable=SC2086
  timeout $((T + OMIT + 20)) $P2_G_EXEC iperf3 -c "$P2_ADDR" -p "$P_G2H" -t "$T" -O "$OMIT" -J > "$1.2.json" 2> "$1.2.err" &
  c2=$!
  # shellcheck disable=SC2086
  timeout $((T + OMIT + 20)) $G_EXEC iperf3 -c "$G2H_ADDR" -p "$P_G2H" -t "$T" -O "$OMIT" -J > "$1.1.json" 2> "$1.1.err"
  wait "$c2"
}

# pair2_test TEST REP: one TCP stream (guest side -> host side) in each of the
# two pairs, started together; records the aggregate and each pair's Gbit/s.
# Its ratio to tcp_g2h (one pair alone) is the scaling of the switch with two
# independent flows.
pair2_test() {
  local test=$1 rep=$2 out="$RUN_DIR/$LABEL.$1.$2" s1 s2
  $H_EXEC iperf3 -s -1 -p "$P_G2H" > "$out.srv1.log" 2>&1 &
  s1=$!
  $P2_H_EXEC iperf3 -s -1 -p "$P_G2H" > "$out.srv2.log" 2>&1 &
  s2=$!; SRV_PID="$s1 $s2"
  wait_listen "$H_EXEC" tcp "$P_G2H"
  wait_listen "$P2_H_EXEC" tcp "$P_G2H"
  local cmd="$G_EXEC iperf3 -c $G2H_ADDR -p $P_G2H -t $T -O $OMIT -J & $P2_G_EXEC iperf3 -c $P2_ADDR -p $P_G2H -t $T -O $OMIT -J"
  measure $(((T + OMIT) / 2)) pair2_clients "$out"
  for _ in $(seq 50); do kill -0 "$s1" 2>/dev/null || kill -0 "$s2" 2>/dev/null || break; sleep 0.1; done
  kill_pid "$s1"; kill_pid "$s2"; wait "$s1" "$s2" 2>/dev/null; SRV_PID=""
  local g1 g2 r1 r2 err1 err2 x
  read -r g1 r1 x x err1 < <("$PY" "$BENCH_LIB/jsonl.py" iperf "$out.1.json")
  read -r g2 r2 x x err2 < <("$PY" "$BENCH_LIB/jsonl.py" iperf "$out.2.json")
  local err="${err1:-}${err2:+ pair 2: $err2}"
  [ -n "$err" ] && log "  $LABEL $test rep $rep: iperf3 error: $err"
  local sum; sum=$(awk -v a="${g1:-0}" -v b="${g2:-0}" 'BEGIN { print a + b }')
  RES=(gbps="$sum" gbps_pair1="${g1:-0}" gbps_pair2="${g2:-0}" tcp_retransmits="$(( ${r1:-0} + ${r2:-0} ))"
       error="$err" cmd="$cmd")
  RES_TXT="$(printf '%.3f' "$sum") Gbit/s (pair 1 $(printf '%.2f' "${g1:-0}"), pair 2 $(printf '%.2f' "${g2:-0}"))"
}

# rr_test TEST REP tcp|udp g2h|h2g 4|6   (ping-pong: one message in flight;
# RR_TOOL sockperf or pingpong)
rr_test() {
  local test=$1 rep=$2 proto=$3 dir=$4 fam=$5
  local srv_exec cli_exec srv_port addr port t="" out spid
  addr=$(test_addr "$dir" "$fam")
  if [ "$dir" = g2h ]; then
    srv_exec=$H_EXEC cli_exec=$G_EXEC srv_port=$P_G2H_RR port=$G2H_RR_PORT
  else
    srv_exec=$G_EXEC cli_exec=$H_EXEC srv_port=$P_H2G_RR port=$H2G_RR_PORT
  fi
  out="$RUN_DIR/$LABEL.$test.$rep.txt"
  if [ "$RR_TOOL" = pingpong ]; then
    pingpong_test "$test" "$rep" "$proto" "$fam" "$srv_exec" "$cli_exec" "$srv_port" "$addr" "$port" "$out"
    return
  fi
  if [ "$fam" = 6 ]; then
    RES=(rr_per_s=0 error="sockperf 3.7 has no IPv6 (RR_TOOL=pingpong)" cmd="")
    RES_TXT="skipped: sockperf has no IPv6"
    return
  fi
  [ "$proto" = tcp ] && t=--tcp
  $PIN $srv_exec sockperf server $t -i 0.0.0.0 -p "$srv_port" > "$out.srv.log" 2>&1 &
  spid=$!; SRV_PID=$spid
  wait_listen "$srv_exec" "$proto" "$srv_port"
  local cmd="$cli_exec sockperf ping-pong $t -i $addr -p $port -t $RR_T -m $RR_MSG"
  measure $((RR_T / 2)) timeout $((RR_T + 20)) $PIN $cmd > "$out" 2>&1
  kill_pid "$spid"; wait "$spid" 2>/dev/null; SRV_PID=""
  # sockperf prints "[Valid Duration] RunTime=1.550 sec; SentMessages=..; ReceivedMessages=N"
  # and latencies as half round trips ("one way"): full RTTs are stored, in usec.
  local rt rcv lat p50 p99 rr err=""
  rt=$(sed -n 's/.*\[Valid Duration\] RunTime=\([0-9.]*\) sec.*/\1/p' "$out" | head -1)
  rcv=$(sed -n 's/.*\[Valid Duration\].*ReceivedMessages=\([0-9]*\).*/\1/p' "$out" | head -1)
  lat=$(sed -n 's/.*Summary: Latency is \([0-9.]*\) usec.*/\1/p' "$out" | head -1)
  p50=$(sed -n 's/.*percentile 50.000 = *\([0-9.]*\).*/\1/p' "$out" | head -1)
  p99=$(sed -n 's/.*percentile 99.000 = *\([0-9.]*\).*/\1/p' "$out" | head -1)
  [ -n "$rcv" ] || { err="no sockperf summary"; log "  $LABEL $test rep $rep: $err"; }
  rr=$(awk -v r="${rcv:-0}" -v t="${rt:-0}" 'BEGIN { print (t > 0) ? r / t : 0 }')
  lat=$(awk -v l="${lat:-0}" 'BEGIN{print 2*l}')
  RES=(rr_per_s="$rr" rtt_avg_us="$lat" rtt_p50_us="$(awk -v l="${p50:-0}" 'BEGIN{print 2*l}')"
       rtt_p99_us="$(awk -v l="${p99:-0}" 'BEGIN{print 2*l}')" error="$err" cmd="$cmd" rr_tool=sockperf rr_msg="$RR_MSG")
  RES_TXT="$(printf '%.0f' "$rr") RR/s rtt_avg=${lat}us"
}

pp_field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2" | head -1; }  # pp_field NAME FILE

# pingpong_test TEST REP PROTO FAM SRV_EXEC CLI_EXEC SRV_PORT ADDR PORT OUT:
# the rr_test of bench/tools/pingpong (its server listens on 0.0.0.0, or on ::
# IPv6-only for FAM 6)
pingpong_test() {
  local test=$1 rep=$2 proto=$3 fam=$4 srv_exec=$5 cli_exec=$6 srv_port=$7 addr=$8 port=$9 out=${10}
  local any=0.0.0.0 spid
  [ "$fam" = 6 ] && any=::
  $PIN $srv_exec "$PINGPONG" server "$proto" "$any" "$srv_port" > "$out.srv.log" 2>&1 &
  spid=$!; SRV_PID=$spid
  wait_listen "$srv_exec" "$proto" "$srv_port"
  local cmd="$cli_exec $PINGPONG client $proto $addr $port $RR_T $RR_MSG"
  measure $(((RR_T + 1) / 2)) timeout $((RR_T + 20)) $PIN $cmd > "$out" 2>&1
  kill_pid "$spid"; wait "$spid" 2>/dev/null; SRV_PID=""
  # "RunTime=S sec; ReceivedMessages=N; Lost=L; RttAvgUs=A; RttP50Us=B; RttP99Us=C" (full round trips)
  local rt rcv lost lat p50 p99 rr err=""
  rt=$(pp_field RunTime "$out") rcv=$(pp_field ReceivedMessages "$out") lost=$(pp_field Lost "$out")
  lat=$(pp_field RttAvgUs "$out") p50=$(pp_field RttP50Us "$out") p99=$(pp_field RttP99Us "$out")
  [ -n "$rcv" ] && [ "$rcv" != 0 ] || { err="no pingpong result: $(head -c 200 "$out" | tr '\n' ' ')"; log "  $LABEL $test rep $rep: $err"; }
  rr=$(awk -v r="${rcv:-0}" -v t="${rt:-0}" 'BEGIN { print (t > 0) ? r / t : 0 }')
  RES=(rr_per_s="$rr" rtt_avg_us="${lat:-0}" rtt_p50_us="${p50:-0}" rtt_p99_us="${p99:-0}" rr_lost="${lost:-0}"
       error="$err" cmd="$cmd" rr_tool=pingpong rr_msg="$RR_MSG")
  RES_TXT="$(printf '%.0f' "$rr") RR/s rtt_avg=${lat:-?}us"
}

ping_test() {  # ping_test TEST REP 4|6
  local test=$1 rep=$2 fam=$3
  local out="$RUN_DIR/$LABEL.$test.$rep.txt"
  local cmd="$G_EXEC ping -$fam -n -q -c $PING_N -i $PING_I -W 1 $(test_addr ping "$fam")"
  measure 1 timeout 60 $PIN $cmd > "$out" 2>&1
  local rx loss mn avg mx
  rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$out")
  loss=$(sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p' "$out")
  read -r mn avg mx < <(sed -n 's|^rtt min/avg/max/mdev = \([0-9.]*\)/\([0-9.]*\)/\([0-9.]*\)/.*|\1 \2 \3|p' "$out")
  RES=(ping_rx="${rx:-0}" ping_loss_pct="${loss:-100}" ping_min_us="$(awk -v v="${mn:-0}" 'BEGIN{print v*1000}')"
       ping_avg_us="$(awk -v v="${avg:-0}" 'BEGIN{print v*1000}')" ping_max_us="$(awk -v v="${mx:-0}" 'BEGIN{print v*1000}')" ping_n="$PING_N" cmd="$cmd")
  RES_TXT="avg=${avg:-?}ms loss=${loss:-?}%"
}

# run_one TEST REP: wait for idle, measure, repeat if foreign load.  A test
# name ending in 6 (before _pin) is the IPv6 variant; one the configuration
# cannot do is recorded once as unsupported.
run_one() {
  local test=$1 rep=$2 base=${1%_pin} fam=4 dir=""
  case $base in *6) fam=6 base=${base%6} ;; esac
  case $base in *g2h) dir=g2h ;; *h2g) dir=h2g ;; esac
  [ "${base%_g2h}" = ping ] && dir=ping
  if [ "$base" = tcp_pair2 ] && [ -z "${P2_ADDR:-}" ]; then
    [ "$rep" = 1 ] && { CPU_FOREIGN=0 CPU_FOREIGN_TOP=- ATTEMPT=1 PRE_BUSY=0
      record "$test" "$rep" status=unsupported; log "  $LABEL $test: unsupported (no second pair)"; }
    return 0
  fi
  if [ -n "$dir" ] && [ -z "$(test_addr "$dir" "$fam")" ]; then
    if [ "$fam" = 6 ] && [ "$rep" = 1 ]; then
      CPU_FOREIGN=0 CPU_FOREIGN_TOP=- ATTEMPT=1 PRE_BUSY=0
      record "$test" "$rep" status=unsupported
      log "  $LABEL $test: unsupported"
    fi
    return 0
  fi
  PIN=""
  if [ "${test%_pin}" != "$test" ]; then PIN="taskset -c $PIN_CPU"; pin_daemons "$PIN_CPU"; fi
  local g0; g0=$(guard_count)
  local idle
  for ATTEMPT in $(seq 1 $((RETRIES + 1))); do
    wait_idle; idle=$?
    case $base in
      tcp_g2h) iperf_test "$test" "$rep" g2h "$fam" ;;
      tcp_h2g) iperf_test "$test" "$rep" h2g "$fam" ;;
      tcp_pair2) pair2_test "$test" "$rep" ;;
      rr_tcp_g2h) rr_test "$test" "$rep" tcp g2h "$fam" ;;
      rr_udp_g2h) rr_test "$test" "$rep" udp g2h "$fam" ;;
      rr_tcp_h2g) rr_test "$test" "$rep" tcp h2g "$fam" ;;
      ping_g2h) ping_test "$test" "$rep" "$fam" ;;
      *) die "unknown test $test" ;;
    esac
    # repeat a disturbed run only if the disturbance was transient (the machine
    # was idle just before) and the budget allows it
    if awk -v f="$CPU_FOREIGN" -v m="$FOREIGN_MAX" 'BEGIN { exit !(f > m) }' && [ "$idle" = 0 ] &&
       [ "$ATTEMPT" -le "$RETRIES" ] && [ "$(date +%s)" -lt "${PASS_DEADLINE:-0}" ]; then
      log "  $LABEL $test rep $rep: discarded, foreign load ${CPU_FOREIGN}% ($CPU_FOREIGN_TOP): $RES_TXT"
      continue
    fi
    break
  done
  [ -n "$PIN" ] && pin_daemons "0-$(($(nproc) - 1))"
  local g1; g1=$(guard_count)
  [ "$g0" = "$g1" ] || log "  WARNING: $LABEL: $((g1 - g0)) packets left through the void uplink during $test"
  record "$test" "$rep" "${RES[@]}" family="$fam" daemon_cpu_pct="$CPU_DAEMON" sys_busy_pct="$CPU_SYS" \
    daemon_rss_kb="$RSS_LOAD" guard_tx="$((g1 - g0))"
  log "  $LABEL $test rep $rep: $RES_TXT daemon_cpu=${CPU_DAEMON}% rss=${RSS_LOAD}kB sys=${CPU_SYS}% foreign=${CPU_FOREIGN}%"
}

load_cfg() { # shellcheck disable=SC1090
  G2H_ADDR6="" H2G_ADDR6="" PING_ADDR6="" P2_H_EXEC="" P2_G_EXEC="" P2_ADDR=""
  . "$RUN_DIR/$1.env"; }

# check_cfg CFG: the path works at this MTU (CHECK, tried 8 times)?
check_cfg() {
  local i
  load_cfg "$1"
  for i in $(seq 8); do
    # shellcheck disable=SC2086
    timeout 5 $G_EXEC $CHECK > /dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}

# estimate of one repetition of TESTS for one configuration, in seconds
rep_cost() {
  local t s=0
  for t in $TESTS; do
    case ${t%_pin} in
      tcp_*) s=$((s + T + OMIT + 2)) ;;
      rr_*) if [ "$RR_TOOL" = sockperf ]; then
              s=$((s + RR_T + 3))      # sockperf adds ~2.5 s of warm-up/cool-down
            else
              s=$((s + RR_T + 1))
            fi ;;
      ping_*) s=$((s + 3)) ;;
    esac
  done
  echo "$s"
}

# run_pass "CFG..." "TESTS" LATER: the configurations are set up by the caller;
# measures and records memory.  A repetition starts only if it should end
# before the budget minus LATER, the estimated time of the passes still to come.
run_pass() {
  local cfgs=$1 later=$3 rep test c now t0 ok=""
  TESTS=$2
  for c in $cfgs; do
    if check_cfg "$c"; then
      ok+=" $c"
      [ -n "${DAEMON_PIDS:-}" ] && sleep 1
      CPU_FOREIGN=0 CPU_FOREIGN_TOP=- ATTEMPT=1 PRE_BUSY=0
      # shellcheck disable=SC2086
      record meta 0 status=ok rss_idle_kb="$( [ -n "${DAEMON_PIDS:-}" ] && rss_kb VmRSS $DAEMON_PIDS || echo 0)" \
        daemons="${DAEMON_PIDS:-}" setup="$(cat "$RUN_DIR/$c.cmdline" 2>/dev/null)"
    else
      log "  $LABEL: path does not work at MTU $MTU ($CHECK), skipped"
      CPU_FOREIGN=0 CPU_FOREIGN_TOP=- ATTEMPT=1 PRE_BUSY=0
      record meta 0 status=unsupported check="$CHECK"
    fi
  done
  [ -n "$ok" ] || return 0
  ALL_DAEMONS=""
  for c in $cfgs; do load_cfg "$c"; ALL_DAEMONS+=" ${DAEMON_PIDS:-}"; done
  PASS_DEADLINE=$((T_START + BUDGET - later))
  log "-- MTU $MTU: [$TESTS] x [$ok ] x $REPS, ~$(( $(rep_cost) * $(echo $ok | wc -w) ))s per repetition, pass ends by $(date -d @$PASS_DEADLINE +%T)"
  for rep in $(seq 1 "$REPS"); do
    t0=$(date +%s)
    for test in $TESTS; do
      for c in $ok; do
        load_cfg "$c"
        local p
        for p in ${DAEMON_PIDS:-}; do kill -0 "$p" 2>/dev/null || die "$LABEL: daemon $p died"; done
        run_one "$test" "$rep"
      done
    done
    now=$(date +%s)
    if [ "$rep" -lt "$REPS" ] && [ $((now + now - t0)) -gt "$PASS_DEADLINE" ]; then
      log "  budget: stopping MTU $MTU after $rep repetition(s)"
      break
    fi
  done
  for c in $ok; do
    load_cfg "$c"
    [ -n "${DAEMON_PIDS:-}" ] || continue
    CPU_FOREIGN=0 CPU_FOREIGN_TOP=- ATTEMPT=1 PRE_BUSY=0
    # shellcheck disable=SC2086
    record memory 0 rss_end_kb="$(rss_kb VmRSS $DAEMON_PIDS)" hwm_kb="$(rss_kb VmHWM $DAEMON_PIDS)"
  done
}

# harness_report TITLE: markdown tables of this suite to stdout and $RAW_DIR/report.md
harness_report() {
  "$PY" "$BENCH_LIB/report.py" "$RESULTS" | tee "$RAW_DIR/report.md"
}

# later_cost I NCFGS TESTS_1 TESTS_2 ...: estimated seconds of the passes after
# pass I (REPS repetitions of NCFGS configurations each)
later_cost() {
  local i=$1 n=$2 j=0 s=0 t; shift 2
  for t in "$@"; do
    j=$((j + 1))
    [ "$j" -le "$i" ] && continue
    s=$((s + $(TESTS=$t rep_cost) * n * REPS))
  done
  echo "$s"
}

# suite_main SUITE "CFGS" "MTUS" "TESTS_FIRST" "TESTS_OTHERS"
#   one pass per MTU: set up every configuration at that MTU, measure
#   (TESTS_FIRST at the first MTU, TESTS_OTHERS at the others), tear down.
suite_main() {
  local suite=$1 cfgs=$2 mtus=$3 first=$4 others=$5 plan=() i=0 mtu c
  harness_begin "$suite"
  SUITE_CFGS=$cfgs
  trap 'suite_teardown' EXIT
  trap 'exit 130' INT TERM HUP
  for mtu in $mtus; do
    if [ ${#plan[@]} -eq 0 ]; then plan+=("$first"); else plan+=("$others"); fi
  done
  for mtu in $mtus; do
    i=$((i + 1))
    log "== $suite MTU $mtu: setting up [$cfgs ]"
    for c in $cfgs; do "${c}_setup" "$mtu"; done
    run_pass "$cfgs" "${plan[$((i - 1))]}" "$(later_cost "$i" "$(echo $cfgs | wc -w)" "${plan[@]}")"
    suite_teardown
  done
  trap - EXIT
  suite_teardown
  log "== $suite done in $(( $(date +%s) - T_START ))s"
  harness_report
}

suite_teardown() {
  local c
  # a test interrupted by a signal leaves its server (and the RSS sampler)
  local p
  for p in ${SRV_PID:-}; do kill_pid "$p"; done
  kill_pid "${SAMPLER_PID:-}"
  for c in $SUITE_CFGS; do "${c}_teardown"; done
}
