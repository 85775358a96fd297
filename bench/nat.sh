#!/bin/bash
# nat.sh BUILD - user-mode NAT: a namespace behind vnetd's nat network (tap port,
# 10.0.2.15, gateway 10.0.2.2 = host loopback) vs the kernel's own path (veth +
# nftables NAT, peers/kernel-nat.sh) vs pasta vs slirp4netns, each in its own
# "host" namespace with nothing beyond loopback.  Single-stream TCP
# namespace->host (to 10.0.2.2 -> 127.0.0.1) and host->namespace (forwarded
# port) at MTU 65520 and 1500, TCP/UDP request/response (ping-pong of 64 B,
# all processes pinned to one CPU; both ways for TCP), ping, daemon CPU and
# memory.  Every test also over IPv6 (its name ends in 6: namespace->host to
# the gateway's IPv6 address -> ::1, host->namespace through a forward to the
# guest's IPv6 address), interleaved with its IPv4 run.
# Prints markdown tables; raw results in bench/results/raw/nat-*/.
# Bounded: about 23 minutes with the defaults (BUDGET=1450 s caps it);
# QUICK=1 checks that it works in about 3 minutes (figures indicative only).
# env: see bench/README.md (REPS, T, RR_T, MTUS, CFGS, BUDGET, PIN_CPU...).
set -u
HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
BUILD=${1:?usage: $0 BUILD_DIR (e.g. build)}
VNETD=$(readlink -f "$BUILD")/vnetd
BUDGET=${BUDGET:-1450}
RR_TOOL=${RR_TOOL:-pingpong}   # Debian's sockperf has no IPv6
. "$HERE/lib/harness.sh"
[ -x "$VNETD" ] || die "$VNETD not found (build it: ninja -C $BUILD)"
. "$HERE/scenarios/vnetd-nat.sh"
. "$HERE/peers/kernel-nat.sh"
. "$HERE/peers/pasta.sh"
. "$HERE/peers/slirp4netns.sh"

CFGS=${CFGS:-"vnetd_nat kernel_nat pasta slirp"}
MTUS=${MTUS:-"65520 1500"}
T_RR="rr_tcp_g2h_pin rr_tcp_g2h6_pin rr_udp_g2h_pin rr_udp_g2h6_pin rr_tcp_h2g_pin rr_tcp_h2g6_pin"
TESTS_FIRST=${TESTS_FIRST:-"tcp_g2h tcp_g2h6 tcp_h2g tcp_h2g6 $T_RR ping_g2h ping_g2h6"}
TESTS_OTHERS=${TESTS_OTHERS:-"tcp_g2h tcp_g2h6 tcp_h2g tcp_h2g6"}
suite_main nat "$CFGS" "$MTUS" "$TESTS_FIRST" "$TESTS_OTHERS"
