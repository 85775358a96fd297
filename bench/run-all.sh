#!/bin/bash
# run-all.sh BUILD - run bench/switch.sh, bench/nat.sh, bench/overlay.sh,
# bench/vpn.sh, bench/vm.sh, bench/vhost.sh and bench/dns.sh one after the other
# (about an hour) and write bench/results/latest.md: the
# command, date, machine, kernel, versions, conditions, and the suites' tables.
# Raw results: bench/results/raw/all-<date>/{switch,nat,overlay,vpn,vm,vhost,dns}/.
# Environment variables are passed on to both scripts (see bench/README.md);
# those that were set are written into the command line of latest.md.
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
[ -x "$VNETD" ] || { echo "$VNETD not found (build it: ninja -C $BUILD)" >&2; exit 1; }

cmd=""
for v in QUICK REPS T OMIT RR_T RR_MSG PING_N PING_I BUDGET PIN_CPU IDLE_MAX_BUSY IDLE_WAIT_MAX \
         FOREIGN_MAX RETRIES RR_TOOL PASTA_BIN SLIRP_BIN; do
  [ -n "${!v+x}" ] && cmd+="$v=${!v} "
done
cmd+="$0 $*"

ts=$(date +%Y%m%d-%H%M%S)
ALL=$HERE/results/raw/all-$ts
mkdir -p "$ALL"
started=$(date -R)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
RAW_DIR=$ALL/switch "$HERE/switch.sh" "$BUILD"; rc_switch=$?
RAW_DIR=$ALL/nat "$HERE/nat.sh" "$BUILD"; rc_nat=$?
RAW_DIR=$ALL/overlay "$HERE/overlay.sh" "$BUILD"; rc_overlay=$?
RAW_DIR=$ALL/vpn "$HERE/vpn.sh" "$BUILD"; rc_vpn=$?
RAW_DIR=$ALL/vm RESULTS_MD=- "$HERE/vm.sh" "$BUILD"; rc_vm=$?
RAW_DIR=$ALL/vhost "$HERE/vhost.sh" "$BUILD" > /dev/null; rc_vhost=$?
RAW_DIR=$ALL/dns "$HERE/dns.sh" "$BUILD" > "$ALL/dns.md"; rc_dns=$?
load1=$(cut -d' ' -f1-3 /proc/loadavg)

buildtype() {  # meson build type of a build directory
  /usr/bin/python3 -c 'import json, sys; print(next(o["value"] for o in json.load(open(sys.argv[1])) if o["name"] == "buildtype"))' \
    "$(readlink -f "$1")/meson-info/intro-buildoptions.json" 2>/dev/null || echo "?"
}
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
src_state=$(cd "$HERE/.." && git rev-parse --short HEAD 2>/dev/null)
[ -n "$(cd "$HERE/.." && git status --porcelain -- src meson.build 2>/dev/null)" ] &&
  src_state+=" + uncommitted changes in src/"
out=$HERE/results/latest.md
{
  echo "# vnet benchmarks"
  echo
  echo "Produced by \`$cmd\` (from the repository root)."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $started |"
  echo "| machine | $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU ($(systemd-detect-virt 2>/dev/null || echo '?')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) |"
  echo "| kernel | $(uname -r) |"
  echo "| vnetd | $("$VNETD" --version 2>&1 | head -1), commit $src_state, $(basename "$(readlink -f "$BUILD")")/ ($(buildtype "$BUILD")) |"
  echo "| peers | Linux bridge + veth; veth + nftables NAT (nat); Linux vxlan + bridge (overlay); wireguard-go $(pkgver wireguard-go) (vpn); QEMU $(pkgver qemu-system-x86) -netdev user (vm); vde_switch (vde2 $(pkgver vde2)); pasta (passt $(pkgver passt)); slirp4netns $(pkgver slirp4netns) (libslirp $(pkgver libslirp0)) |"
  echo "| tools | $(iperf3 --version | head -1 | awk '{print $1, $2}'), sockperf $(sockperf --version 2>&1 | sed -n 's/.*version \([^ ]*\).*/\1/p' | head -1) (switch), bench/tools/pingpong (nat: IPv4 and IPv6) |"
  if [ "${QUICK:-0}" = 1 ]; then
    echo "| method | QUICK=1: one repetition of 2 s runs, a check that the scripts work; the figures are indicative only |"
  else
    echo "| method | T=${T:-7} s per iperf3 run (+${OMIT:-1} s omitted), RR_T=${RR_T:-3} s per round-trip run, ${REPS:-3} repetitions, medians; see bench/README.md |"
  fi
  echo "| load average | $load0 at the start, $load1 at the end |"
  [ "$rc_switch" = 0 ] || echo "| switch.sh | exited with status $rc_switch |"
  [ "$rc_nat" = 0 ] || echo "| nat.sh | exited with status $rc_nat |"
  [ "$rc_overlay" = 0 ] || echo "| overlay.sh | exited with status $rc_overlay |"
  [ "$rc_vpn" = 0 ] || echo "| vpn.sh | exited with status $rc_vpn |"
  [ "$rc_vm" = 0 ] || echo "| vm.sh | exited with status $rc_vm |"
  [ "$rc_vhost" = 0 ] || echo "| vhost.sh | exited with status $rc_vhost |"
  [ "$rc_dns" = 0 ] || echo "| dns.sh | exited with status $rc_dns |"
  echo
  /usr/bin/python3 "$HERE/lib/report.py" "$ALL"/switch/results.jsonl "$ALL"/nat/results.jsonl "$ALL"/overlay/results.jsonl "$ALL"/vpn/results.jsonl "$ALL"/vm/results.jsonl
  echo
  echo "## vhost-user driven by DPDK testpmd (bench/vhost.sh)"
  echo
  cat "$ALL/vhost/report.md" 2>/dev/null || echo "(no report)"
  echo
  echo "## DNS forwarding (bench/dns.sh)"
  echo
  cat "$ALL/dns.md"
} > "$out"
echo "wrote $out (raw results in $ALL)" >&2
[ "$rc_switch" = 0 ] && [ "$rc_nat" = 0 ] && [ "$rc_overlay" = 0 ] && [ "$rc_vpn" = 0 ] && [ "$rc_vm" = 0 ] && [ "$rc_vhost" = 0 ] && [ "$rc_dns" = 0 ]
