#!/bin/bash
# switch.sh BUILD - L2 switching: two namespaces joined by vnetd (two tap ports
# on an isolated network) vs a Linux bridge with veth pairs vs vde_switch with
# taps.  Single-stream TCP throughput both ways at MTU 1500 and 9000, TCP and UDP
# request/response (sockperf ping-pong, 64 B; pinned to one CPU and not), ping,
# CPU of the switch process and its memory (VmRSS idle / under load, VmHWM);
# two pairs in parallel (tcp_pair2: a second pair of namespaces on a second
# network of the same switch, one stream in each pair at once; aggregate
# Gbit/s and its ratio to one pair alone, the scaling with two flows).
# Prints markdown tables; raw results in bench/results/raw/switch-*/.
# Bounded: about 8 minutes with the defaults (BUDGET=590 s caps it).
# env: see bench/README.md (REPS, T, RR_T, MTUS, CFGS, BUDGET, PIN_CPU...).
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
. "$HERE/lib/harness.sh"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
. "$HERE/scenarios/vnetd-l2.sh"
. "$HERE/peers/bridge.sh"
. "$HERE/peers/vde.sh"

CFGS=${CFGS:-"vnetd_l2 bridge vde"}
MTUS=${MTUS:-"1500 9000"}
TESTS_FIRST=${TESTS_FIRST:-"tcp_g2h tcp_h2g tcp_pair2 rr_tcp_g2h_pin rr_udp_g2h_pin rr_tcp_g2h ping_g2h"}
TESTS_OTHERS=${TESTS_OTHERS:-"tcp_g2h tcp_h2g"}
suite_main switch "$CFGS" "$MTUS" "$TESTS_FIRST" "$TESTS_OTHERS"
