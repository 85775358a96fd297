#!/bin/bash
# vm.sh BUILD - a QEMU TCG guest (tests/vm's image, virtio-net) behind a
# user-mode NAT, side by side in one run:
#   vnetd_vu   vnetd, vhost-user port (guest RAM shared with vnetd, offloads)
#   vnetd_st   vnetd, stream port (QEMU -netdev stream, one copy per frame
#              through a unix socket, no offloads)
#   passt_vm   passt in socket mode (QEMU -netdev stream)
#   qemu_user  QEMU's own -netdev user (libslirp inside QEMU, hostfwd)
# Tests: single-stream TCP guest -> host (the guest's iperf3 dials 10.0.2.2,
# the host namespace's 127.0.0.1) and host -> guest (the host dials a
# forwarded port on its 127.0.0.1); CPU of QEMU + the back end; memory.
# TCG bounds the absolute figures (the guest's CPU is emulated); the ratios
# between back ends under the same guest are the point.  Topology, addresses
# and the guests' command channel: scenarios/vm-lib.sh.
# When vnetd has no vhost-user port yet, says so and shows it unsupported.
# Prints markdown tables and writes them with the conditions (command, date,
# machine, versions) to RESULTS_MD (default bench/results/vm.md; with QUICK=1
# or RESULTS_MD=- nothing is written); raw results (and the guests' consoles)
# in bench/results/raw/vm-*/.  Bounded by BUDGET (default 400 s); QUICK=1
# checks that it works in about two minutes (figures indicative only).
# env: see bench/README.md (REPS, T, OMIT, CFGS, BUDGET...), and GUEST_MTU
# (1500), GUEST_MEM (256 MiB), PASST_BIN, RESULTS_MD.
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
cmd=""
for v in QUICK REPS T OMIT BUDGET CFGS GUEST_MTU GUEST_MEM IDLE_MAX_BUSY FOREIGN_MAX PASST_BIN; do
  [ -n "${!v+x}" ] && cmd+="$v=${!v} "
done
cmd+="$0 $*"
BUDGET=${BUDGET:-400}
RR_TOOL=${RR_TOOL:-pingpong}
# shellcheck disable=SC2034  # read by lib/harness.sh
[ "${BENCH_QUICK:-0}" = 1 ] && QUICK=1
. "$HERE/lib/harness.sh"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
need qemu-system-x86_64 passt ps
. "$HERE/scenarios/vm-lib.sh"
[ -f "$GUEST_DIR/vmlinuz" ] || die "no guest image in $GUEST_DIR (make guest)"
. "$HERE/scenarios/vnetd-vm.sh"
. "$HERE/peers/passt-vm.sh"
. "$HERE/peers/qemu-user.sh"
VNETD_VU_MISSING=""

# the first configuration is the subject of the ratio columns
CFGS=${CFGS:-"vnetd_vu vnetd_st passt_vm qemu_user"}
if ! "$VNETD" --check -c <(printf 'networks:\n  - { name: n, mode: nat }\nports:\n  - { name: v, type: vhost-user, path: /tmp/vb-vu-probe.sock, network: n }\n') > /dev/null 2>&1; then
  VNETD_VU_MISSING="this vnetd has no vhost-user port"
  CFGS=$(echo " $CFGS " | sed 's/ vnetd_vu / /; s/^ *//; s/ *$//')
  log "$VNETD_VU_MISSING: measuring [$CFGS]"
fi
MTUS=$GUEST_MTU
RESULTS_MD=${RESULTS_MD:-$HERE/results/vm.md}
[ "${QUICK:-0}" = 1 ] && RESULTS_MD=-
started=$(date -R)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
TESTS_FIRST=${TESTS_FIRST:-"tcp_g2h tcp_h2g"}
suite_main vm "$CFGS" "$MTUS" "$TESTS_FIRST" "$TESTS_FIRST"
if [ -n "$VNETD_VU_MISSING" ]; then
  printf '**vnetd vhost-user not available** (%s): the other configurations measured without it.\n\n' "$VNETD_VU_MISSING" |
    tee -a "$RAW_DIR/report.md"
fi

[ "$RESULTS_MD" = - ] && exit 0
src_state=$(cd "$HERE/.." && git rev-parse --short HEAD 2>/dev/null)
[ -n "$(cd "$HERE/.." && git status --porcelain -- src meson.build 2>/dev/null)" ] &&
  src_state+=" + uncommitted changes in src/"
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo "?"; }
{
  echo "# bench/vm.sh: a QEMU guest behind vnetd (vhost-user, stream), passt and QEMU's -netdev user"
  echo
  echo "Produced by \`$cmd\` (from the repository root)."
  echo
  echo "| | |"
  echo "|---|---|"
  echo "| date | $started |"
  echo "| machine | $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) vCPU ($(systemd-detect-virt 2>/dev/null || echo '?')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) |"
  echo "| kernel | $(uname -r) |"
  echo "| vnetd | $("$VNETD" --version 2>&1 | head -1), commit $src_state, $(basename "$(readlink -f "$BUILD")")/ |"
  echo "| guest | QEMU $(pkgver qemu-system-x86) TCG, ${GUEST_MEM} MiB, 1 vCPU, tests/vm image (Linux $(sed -n 's/^KERNEL_VERSION=//p' "$GUEST_DIR/guest.env"), busybox), virtio-net-pci with QEMU's default offloads, MTU $GUEST_MTU |"
  echo "| peers | passt $(pkgver passt) (socket mode, -netdev stream); QEMU -netdev user (libslirp $(pkgver libslirp0)) |"
  echo "| tools | $(iperf3 --version | head -1 | awk '{print $1, $2}') in the guest (copied in) and on the host |"
  echo "| method | T=${T} s per iperf3 run (+${OMIT} s omitted), ${REPS} repetitions interleaved, medians; CPU % = QEMU (the emulated guest; for -netdev user also its NAT) + the back end process; see bench/README.md |"
  echo "| load average | $load0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end |"
  echo
  cat "$RAW_DIR/report.md"
} > "$RESULTS_MD"
log "wrote $RESULTS_MD"
