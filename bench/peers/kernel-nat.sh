# shellcheck shell=bash
# kernel-nat.sh - configuration "kernel_nat": the kernel's own path, a veth
# pair and nftables NAT, in the same shape as the user-mode NATs (from
# shared/bench-peers/bench-veth-nat.sh, which routes through a third
# namespace; here the "host" namespace is the NAT, as vnetd and pasta are):
#   guest vb-kn-g: eth0 (veth) 10.0.2.15/24, default via 10.0.2.2;
#         fd00::15/64, default via fd00::2
#   host  vb-kn-h: veth0 10.0.2.2/24, fd00::2/64; the table "vbnat" of this
#         namespace's own nftables (the host's ruleset is never touched):
#     ns -> host: 10.0.2.2 is DNATed to 127.0.0.1 (route_localnet on veth0)
#       and the guest's source SNATed to 127.0.0.1, so the server sees a
#       loopback client as behind the user-mode NATs.  IPv6 has no
#       route_localnet (a DNAT to ::1 arriving on veth0 is unreachable), so
#       fd00::2 is DNATed to the host's own 2001:2::1 and the source SNATed
#       to it;
#     host -> ns: 127.0.0.1:P_H2G_FWD (tcp, udp) and :P_H2G_RR_FWD DNATed to
#       the guest in the output hook, masquerade on veth0 (the guest sees
#       10.0.2.2); over IPv6 the host dials 2001:2::1 (same reason).
#   Connection tracking and NAT run for every packet, in softirq context of
#   the sender: no daemon (DAEMON_PIDS ""), its CPU shows as machine busy.

kernel_nat_setup() {
  local mtu=$1 h=vb-kn-h g=vb-kn-g
  command -v nft > /dev/null || die "nft missing (Debian package nftables)"
  hostns_add $h
  ns_add $g
  ip -n $h link add veth0 mtu "$mtu" type veth peer name eth0 mtu "$mtu" netns $g || die "veth"
  ip netns exec $h sysctl -q -w net.ipv4.conf.veth0.route_localnet=1 \
    net.ipv6.conf.veth0.accept_dad=0 net.ipv6.conf.veth0.accept_ra=0
  ip netns exec $g sysctl -q -w net.ipv6.conf.eth0.accept_dad=0 net.ipv6.conf.eth0.accept_ra=0
  ip -n $h addr add 10.0.2.2/24 dev veth0 && ip -n $h addr add fd00::2/64 dev veth0 nodad &&
    ip -n $h link set veth0 up || die "kernel_nat: veth0"
  ip -n $g addr add 10.0.2.15/24 dev eth0 && ip -n $g addr add fd00::15/64 dev eth0 nodad &&
    ip -n $g link set eth0 up && ip -n $g route add default via 10.0.2.2 &&
    ip -n $g -6 route add default via fd00::2 || die "kernel_nat: guest address"
  cat > "$RUN_DIR/kernel-nat.nft" <<NFT
table inet vbnat {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "veth0" ip daddr 10.0.2.2 dnat ip to 127.0.0.1
    iifname "veth0" ip6 daddr fd00::2 dnat ip6 to 2001:2::1
  }
  chain in {
    type nat hook input priority 100; policy accept;
    iifname "veth0" ip saddr 10.0.2.0/24 snat ip to 127.0.0.1
    iifname "veth0" ip6 saddr fd00::/64 snat ip6 to 2001:2::1
  }
  chain out {
    type nat hook output priority -100; policy accept;
    ip daddr 127.0.0.1 tcp dport $P_H2G_FWD dnat ip to 10.0.2.15:$P_H2G
    ip daddr 127.0.0.1 udp dport $P_H2G_FWD dnat ip to 10.0.2.15:$P_H2G
    ip daddr 127.0.0.1 tcp dport $P_H2G_RR_FWD dnat ip to 10.0.2.15:$P_H2G_RR
    ip6 daddr 2001:2::1 tcp dport $P_H2G_FWD dnat ip6 to [fd00::15]:$P_H2G
    ip6 daddr 2001:2::1 udp dport $P_H2G_FWD dnat ip6 to [fd00::15]:$P_H2G
    ip6 daddr 2001:2::1 tcp dport $P_H2G_RR_FWD dnat ip6 to [fd00::15]:$P_H2G_RR
  }
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "veth0" masquerade
  }
}
NFT
  ip netns exec $h nft -f "$RUN_DIR/kernel-nat.nft" || die "kernel_nat: nft ruleset"
  echo "veth pair vb-kn-h/veth0 <-> vb-kn-g/eth0, mtu $mtu; ip netns exec $h nft -f kernel-nat.nft" \
    > "$RUN_DIR/kernel_nat.cmdline"
  nat_env "$RUN_DIR/kernel_nat.env" kernel-nat-mtu$mtu kernel-nat "$mtu" "$h" "$g" 127.0.0.1 "" \
    "$(uname -r)" fd00::2 2001:2::1 2001:2::1
}

kernel_nat_teardown() { ns_del vb-kn-g vb-kn-h vb-kn-h-void; }
