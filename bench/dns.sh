#!/bin/bash
# dns.sh BUILD - DNS through vnetd's forwarder vs the upstream queried
# directly, measured with dnsperf (queries/s, loss, latency), in one run.
#
#   upstream   dnsmasq on 127.0.0.1:5399 of a host namespace (vb-dns-h),
#              answering *.perf.test itself (--address, TTL 300, no cache, no logging)
#   direct     dnsperf in vb-dns-h -> 127.0.0.1:5399: the upstream's own speed
#   miss       dnsperf in the guest namespace (vb-dns-g, tap of vnetd's nat
#              network) -> 10.0.2.3: every name unique, so every query is
#              forwarded (cache misses)
#   hit        the same with 1,000 names that repeat: answered from the cache
#   nocache    like miss, with dns.cache: 0 (the forwarder without a cache)
#   nat        dnsperf in the guest -> 10.0.2.2:5399: the same queries through
#              plain UDP NAT (no DNS service), for reference
#
# Every run: DURATION s (default 5) with OUTSTANDING (default 200) queries in
# flight; REPS (default 3) repetitions interleaved (for rep: for config), the
# table shows medians and ratios to "direct". Also the CPU seconds of vnetd
# and dnsmasq per run. All traffic stays in the two namespaces the script
# makes; they and every process it started (by PID) are removed on exit.
# Raw output: bench/results/raw/dns-DATE/. Bounded: about 2 minutes.
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
REPS=${REPS:-3}
DURATION=${DURATION:-5}
OUTSTANDING=${OUTSTANDING:-200}
CFGS=${CFGS:-"direct miss hit nocache nat"}
H=vb-dns-h G=vb-dns-g
ts=$(date +%Y%m%d-%H%M%S)
RAW=${RAW_DIR:-$HERE/results/raw/dns-$ts}
mkdir -p "$RAW"
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
[ "$(id -u)" = 0 ] || die "run as root (namespaces, taps)"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
for c in dnsperf dnsmasq ip timeout; do command -v $c >/dev/null || die "missing tool: $c"; done

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  ip netns del $G 2>/dev/null
  ip netns del $H 2>/dev/null
  rm -rf /etc/netns/$G /etc/netns/$H
}
trap cleanup EXIT INT TERM
cleanup
ip netns add $H && ip netns add $G || die "cannot create namespaces"
ip -n $H link set lo up; ip -n $G link set lo up
for ns in $H $G; do  # nothing here may ask the host's resolver
  mkdir -p /etc/netns/$ns && echo "nameserver 127.0.0.1" > /etc/netns/$ns/resolv.conf
done

ip netns exec $H dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=127.0.0.1 \
  --port=5399 --bind-interfaces --user=root --pid-file= --conf-file=/dev/null \
  --address=/perf.test/192.0.2.1 --local-ttl=300 --cache-size=0 > "$RAW/dnsmasq.log" 2>&1 &
DM=$!; PIDS+=($DM)

# vnetd_start CACHE: vnetd in $H with the guest's tap in $G; sets VD.
vnetd_start() {
  cat > "$RAW/vnetd-$1.yaml" <<EOF
control: $RAW/vnetd.ctl
state_dir: $RAW/state
networks:
  - { name: lan, mode: nat, dhcp: { enabled: false }, dns: { upstream: ["127.0.0.1:5399"], cache: $1 } }
ports:
  - { name: g, type: tap, netns: /run/netns/$G, ifname: eth0, network: lan }
EOF
  ip netns exec $H "$VNETD" -c "$RAW/vnetd-$1.yaml" >> "$RAW/vnetd.log" 2>&1 &
  VD=$!; PIDS+=($VD)
  local i
  for i in $(seq 50); do grep -q "msg=ready" "$RAW/vnetd.log" 2>/dev/null && [ -S "$RAW/vnetd.ctl" ] && break; sleep 0.1; done
  ip -n $G link show eth0 >/dev/null 2>&1 || die "vnetd did not start (see $RAW/vnetd.log)"
  ip -n $G addr replace 10.0.2.15/24 dev eth0; ip -n $G link set eth0 up
  ip -n $G route replace default via 10.0.2.2
  for i in $(seq 50); do ip netns exec $G ping -c1 -W1 10.0.2.2 >/dev/null 2>&1 && break; done
}
vnetd_stop() { kill "$VD" 2>/dev/null; wait "$VD" 2>/dev/null; rm -f "$RAW/vnetd.log.ready"; : > "$RAW/vnetd.log"; }

# Query files: unique names (more than any run can send) and 1,000 repeating ones.
awk 'BEGIN { for (i = 0; i < 800000; i++) printf "u%d.perf.test A\n", i }' > "$RAW/unique.txt"
awk 'BEGIN { for (i = 0; i < 1000; i++) printf "h%d.perf.test A\n", i }' > "$RAW/repeat.txt"

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz=$(getconf CLK_TCK)

# one_run CFG REP: appends "cfg rep qps lost avg_ms vnetd_cpu dnsmasq_cpu" to results.
one_run() {
  local cfg=$1 rep=$2 exec=(ip netns exec $G) srv=10.0.2.3 port=53 file=$RAW/unique.txt
  case $cfg in
    direct) exec=(ip netns exec $H); srv=127.0.0.1; port=5399 ;;
    hit) file=$RAW/repeat.txt ;;
    nat) srv=10.0.2.2; port=5399 ;;
  esac
  # unique names: a different slice of the file each run (no answer cached before)
  local f=$file
  if [ "$file" = "$RAW/unique.txt" ]; then
    f=$RAW/q-$cfg-$rep.txt
    sed "s/^u/r$rep$cfg-u/" "$file" > "$f"
  fi
  local v0 v1 d0 d1 out=$RAW/dnsperf-$cfg-$rep.txt
  v0=$(cpu "${VD:-0}"); d0=$(cpu $DM)
  timeout $((DURATION + 30)) "${exec[@]}" dnsperf -s $srv -p $port -d "$f" -l "$DURATION" \
    -q "$OUTSTANDING" -t 2 > "$out" 2>&1
  v1=$(cpu "${VD:-0}"); d1=$(cpu $DM)
  [ "$f" != "$file" ] && rm -f "$f"
  local qps lost lat
  qps=$(awk '/Queries per second/ { print $4 }' "$out")
  lost=$(awk '/Queries lost/ { print $3 }' "$out")
  lat=$(awk '/Average Latency/ { print $4 * 1000 }' "$out")
  [ -n "$qps" ] || { log "$cfg run $rep: no dnsperf result (see $out)"; return; }
  [ "$cfg" = direct ] && v1=$v0
  echo "$cfg $rep $qps ${lost:-?} ${lat:-?} $(( (v1 - v0) * 100 / hz )) $(( (d1 - d0) * 100 / hz ))" \
    >> "$RAW/results.txt"
  log "$cfg run $rep: $qps queries/s, lost $lost, avg ${lat} ms"
}

: > "$RAW/results.txt"
started=$(date -R)
for rep in $(seq "$REPS"); do
  for cfg in $CFGS; do
    VD=""
    case $cfg in
      miss|hit|nat) vnetd_start 4096 ;;
      nocache) vnetd_start 0 ;;
    esac
    [ "$cfg" = hit ] && timeout 60 ip netns exec $G dnsperf -s 10.0.2.3 -d "$RAW/repeat.txt" -n 1 \
      > /dev/null 2>&1   # warm the cache once
    one_run "$cfg" "$rep"
    [ -n "$VD" ] && vnetd_stop
  done
done

# Report: medians and ratios to direct.
/usr/bin/python3 - "$RAW/results.txt" "$started" "$DURATION" "$OUTSTANDING" "$REPS" "$0 $*" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    cfg, rep, qps, lost, lat, vcpu, dcpu = line.split()
    rows.setdefault(cfg, []).append((float(qps), lost, lat, int(vcpu), int(dcpu)))
def med(cfg, i):
    v = [r[i] for r in rows.get(cfg, [])]
    return statistics.median(v) if v else None
direct = med("direct", 0)
what = {"direct": "upstream queried directly (dnsperf -> 127.0.0.1)",
        "miss": "through vnetd, every name new (forwarded, cache misses)",
        "hit": "through vnetd, 1,000 repeating names (cache hits)",
        "nocache": "through vnetd with `dns.cache: 0`",
        "nat": "through vnetd's UDP NAT to the upstream (no DNS service)"}
print(f"DNS: dnsperf, {sys.argv[3]} s runs, {sys.argv[4]} queries in flight, median of "
      f"{sys.argv[5]}; `{sys.argv[6]}`, {sys.argv[2]}\n")
print("| path | queries/s | / direct | lost (median) | avg latency (ms) | vnetd CPU (% of a core) | dnsmasq CPU (%) |")
print("|---|---|---|---|---|---|---|")
for cfg in ["direct", "miss", "hit", "nocache", "nat"]:
    if cfg not in rows:
        continue
    q = med(cfg, 0)
    ratio = f"{q / direct:.2f}" if direct else "-"
    lost = sorted(r[1] for r in rows[cfg])[len(rows[cfg]) // 2]
    lat = sorted((float(r[2]) for r in rows[cfg] if r[2] != "?"), key=float)
    lat = f"{lat[len(lat) // 2]:.2f}" if lat else "?"
    dur = float(sys.argv[3])
    vc = "-" if cfg == "direct" else f"{med(cfg, 3) / dur:.0f}"
    print(f"| {what[cfg]} | {q / 1000:.1f}k | {ratio} | {lost} | {lat} | {vc} | {med(cfg, 4) / dur:.0f} |")
EOF
