#!/bin/bash
# overlay.sh BUILD - the VXLAN overlay: two guests on two hosts (namespaces)
# joined by an underlay veth, side by side in one run:
#   kernel   kernel vxlan + bridge  <->  kernel vxlan + bridge   (the reference)
#   vnetd    vnetd's vxlan port     <->  vnetd's vxlan port
#   mixed    vnetd's vxlan port     <->  kernel vxlan + bridge
# at underlay MTU 1500 and 9000 (guests 1450 and 8950): single-stream TCP both
# ways, TCP/UDP round trips (bench/tools/pingpong, 64 B, pinned to one CPU, and
# TCP not pinned), ping; CPU and memory of vnetd.  Topology and addresses:
# scenarios/overlay-lib.sh and vnetd-overlay.sh.  Issue 12's target: vnetd <-> vnetd >= 0.7 x the
# kernel <-> kernel figure (goal >= 1.0 x).
# Prints markdown tables; raw results in bench/results/raw/overlay-*/.
# Bounded by BUDGET (default 590 s); QUICK=1 checks that it works in about a
# minute (figures indicative only, never to be published).
# env: see bench/README.md (REPS, T, RR_T, MTUS, CFGS, BUDGET, PIN_CPU...).
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
RR_TOOL=${RR_TOOL:-pingpong}
. "$HERE/lib/harness.sh"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
need bridge ethtool
. "$HERE/scenarios/overlay-lib.sh"
. "$HERE/peers/kernel-vxlan.sh"
. "$HERE/scenarios/vnetd-overlay.sh"

# the first configuration is the subject of the ratio columns
CFGS=${CFGS:-"vnetd kernel mixed"}
MTUS=${MTUS:-"1500 9000"}
TESTS_FIRST=${TESTS_FIRST:-"tcp_g2h tcp_h2g rr_tcp_g2h_pin rr_udp_g2h_pin rr_tcp_g2h ping_g2h"}
TESTS_OTHERS=${TESTS_OTHERS:-"tcp_g2h tcp_h2g rr_tcp_g2h_pin"}
suite_main overlay "$CFGS" "$MTUS" "$TESTS_FIRST" "$TESTS_OTHERS"
