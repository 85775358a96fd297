#!/bin/sh
# Install the Debian 12 packages vnet needs to build, test, demo and benchmark.
# Idempotent: only missing packages are installed (needs root to install).
set -eu

PKGS="
build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
libfyaml-dev libjansson-dev libcmocka-dev libseccomp-dev libcap-ng-dev libpcap-dev libmicrohttpd-dev
iproute2 iputils-ping nftables procps psmisc util-linux kmod
iperf3 busybox isc-dhcp-client dhcpcd-base dnsmasq-base dnsutils dnsperf tcpdump tshark curl socat
python3 python3-pytest python3-scapy python3-prometheus-client python3-cryptography
qemu-system-x86 cpio gzip xz-utils zstd
vde2 passt slirp4netns sockperf tmux
ethtool openvswitch-switch frr libmnl-dev
libsodium-dev libssl-dev wireguard-go wireguard-tools
dpdk dpdk-dev
"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing packages:$missing" >&2
    echo "install-deps: run as root (or: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
# Some packages (frr, openvswitch-switch, dnsmasq's relatives) start system
# services from their postinst. The tests run their own private instances and
# never need those, so keep invoke-rc.d from starting anything while we
# install (a policy-rc.d that forbids every action, removed afterwards; an
# existing one is left alone).
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# installed by vnet scripts/install-deps.sh for the duration of apt-get\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT INT TERM
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
