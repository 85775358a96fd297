#!/bin/bash
# run-vm.sh [options] NET 'GUEST COMMAND' [TIMEOUT]
#
# Boots the guest built by build-guest.sh under QEMU (TCG by default) with a
# virtio-net-pci NIC attached to a user-space network backend, runs GUEST
# COMMAND in it once the network is up, prints the guest console on stdout and
# exits with the guest command's exit status.
#
# NET (eth0):
#   PATH | stream:PATH     QEMU connects to a listening unix stream socket
#                          (-netdev stream; each frame = 4-byte big-endian length + frame)
#   stream-listen:PATH     QEMU listens on PATH, the backend connects to it
#   dgram:REMOTE[:LOCAL]   unix datagram socket, one frame per datagram; QEMU sends to
#                          REMOTE and receives on LOCAL (default: a fresh path in a temp dir)
#   vhost-user:PATH        vhost-user, QEMU connects to the backend's listening socket PATH
#                          (-chardev socket,reconnect=1: QEMU reconnects after a backend restart)
#   vhost-user-server:PATH vhost-user, QEMU listens on PATH and the backend connects to it
#                          (-chardev socket,server=on,wait=off; QEMU waits for the backend
#                          before the guest starts)
#   netdev:OPTS            raw QEMU -netdev options, id is appended (e.g. netdev:user,restrict=on)
#   none                   no NIC
# Every NIC is virtio-net-pci with QEMU's default offloads (csum, guest_csum, host/guest
# tso4/tso6, mrg_rxbuf, event_idx, indirect_desc all on); a vhost-user backend decides which
# of them are negotiated. With a vhost-user NIC the guest RAM is a shared memfd
# (-object memory-backend-memfd,share=on -machine memory-backend=...) that the backend maps.
# GUEST COMMAND: /bin/sh script text (busybox ash); "@FILE" reads it from a host file.
# TIMEOUT: seconds of host wall clock for the whole run (default 120).
#
# Options (before NET):
#   -o, --guest-dir DIR  output of build-guest.sh (default: $VMH_GUEST_DIR or <this dir>/out)
#   --ip SPEC            eth0 config: dhcp (default) | none | A.B.C.D/NN[,GATEWAY]
#   --mac MAC            eth0 MAC (default: random 52:54:00:xx:xx:xx)
#   --net SPEC           one more NIC (eth1, eth2, ... in order), NET syntax; repeatable.
#                        Extra NICs are not configured: do it in the guest command.
#   --file SRC[:DST]     copy a host file into the guest (default DST /vmtest/<name>); repeatable
#   --bin PATH           copy a host executable and its shared libraries (ldd) into the guest
#   --env NAME=VALUE     export a variable to the guest command; repeatable
#   --mem MB             guest RAM (default 256)       --smp N   vCPUs (default 1)
#   --accel A            tcg (default) | kvm | kvm:tcg (kvm if it opens, else tcg)
#   --append ARGS        extra kernel command line
#   --guest-timeout S    kill the guest command after S seconds inside the guest
#                        (busybox timeout: the result is then 143)
#   --wait-socket S      wait up to S seconds for a stream/dgram peer socket to appear (default 10)
#   --log FILE           also write the console to FILE
#   --quiet              do not stream the console; print it only if the run failed
#   --qemu-arg ARG       extra QEMU argument; repeatable
#   --keep               keep the temporary directory (overlay, console log)
#   --allow-reboot       a reboot inside the guest reboots it (default: QEMU exits, -no-reboot);
#                        the guest then boots again and runs GUEST COMMAND again
#   --monitor PATH       a QEMU human monitor on unix socket PATH (e.g. for system_reset,
#                        set_link n0 off)
#
# Exit status: the guest command's status (0-255) as reported by the guest's
# "VMTEST-RESULT: <rc>" line; 200 if the guest network setup failed (command not
# run); 124 if TIMEOUT expired; 125 if the VM ended without a result line.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
GUEST_DIR=${VMH_GUEST_DIR:-$HERE/../../build/vm}
IP_SPEC=dhcp
MAC=""
MEM=256
SMP=1
ACCEL=tcg
APPEND=""
GUEST_TIMEOUT=""
WAIT_SOCKET=10
LOG=""
QUIET=0
KEEP=0
REBOOT=0
MONITOR=""
VHOST_USER=0
EXTRA_NETS=()
FILES=()
BINS=()
ENVS=()
QEMU_EXTRA=()

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit "${1:-2}"; }
die() { echo "run-vm: ERROR: $*" >&2; exit 125; }

while [ $# -gt 0 ]; do
    case "$1" in
        -o|--guest-dir) GUEST_DIR=$2; shift 2 ;;
        --ip) IP_SPEC=$2; shift 2 ;;
        --mac) MAC=$2; shift 2 ;;
        --net) EXTRA_NETS+=("$2"); shift 2 ;;
        --file) FILES+=("$2"); shift 2 ;;
        --bin) BINS+=("$2"); shift 2 ;;
        --env) ENVS+=("$2"); shift 2 ;;
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --accel) ACCEL=$2; shift 2 ;;
        --append) APPEND="$APPEND $2"; shift 2 ;;
        --guest-timeout) GUEST_TIMEOUT=$2; shift 2 ;;
        --wait-socket) WAIT_SOCKET=$2; shift 2 ;;
        --log) LOG=$2; shift 2 ;;
        --quiet) QUIET=1; shift ;;
        --keep) KEEP=1; shift ;;
        --allow-reboot) REBOOT=1; shift ;;
        --monitor) MONITOR=$2; shift 2 ;;
        --qemu-arg) QEMU_EXTRA+=("$2"); shift 2 ;;
        -h|--help) usage 0 ;;
        --) shift; break ;;
        -*) echo "run-vm: unknown option $1" >&2; usage ;;
        *) break ;;
    esac
done
[ $# -ge 2 ] && [ $# -le 3 ] || usage
NET=$1
CMD=$2
TIMEOUT=${3:-120}
[ "$NET" = none ] && IP_SPEC=none

[ -f "$GUEST_DIR/guest.env" ] || die "no $GUEST_DIR/guest.env: run build-guest.sh $GUEST_DIR first"
# shellcheck disable=SC1091
. "$GUEST_DIR/guest.env"
[ -f "$VMLINUZ" ] && [ -f "$INITRD" ] || die "kernel/initramfs missing in $GUEST_DIR"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not installed (build-guest.sh installs it)"

TMP=$(mktemp -d /tmp/run-vm.XXXXXX)
QPID=""
cleanup() {
    [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
    if [ "$KEEP" = 1 ]; then echo "run-vm: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------ overlay cpio
OV=$TMP/overlay
mkdir -p "$OV/vmtest"
if [ "${CMD#@}" != "$CMD" ]; then
    cp "${CMD#@}" "$OV/vmtest/cmd.sh" || die "cannot read ${CMD#@}"
else
    printf '%s\n' "$CMD" > "$OV/vmtest/cmd.sh"
fi
{
    printf 'VMTEST_IP=%q\n' "$IP_SPEC"
    [ -n "$GUEST_TIMEOUT" ] && printf 'VMTEST_TIMEOUT=%q\n' "$GUEST_TIMEOUT"
    for e in ${ENVS[@]+"${ENVS[@]}"}; do printf 'export %s=%q\n' "${e%%=*}" "${e#*=}"; done
} > "$OV/vmtest/config"
for f in ${FILES[@]+"${FILES[@]}"}; do
    src=${f%%:*}; dst=${f#*:}
    [ "$dst" = "$f" ] && dst=/vmtest/$(basename "$src")
    mkdir -p "$OV$(dirname "$dst")"
    cp -L "$src" "$OV$dst" || die "cannot copy $src"
done
for b in ${BINS[@]+"${BINS[@]}"}; do
    p=$(command -v "$b") || die "--bin $b: not found"
    mkdir -p "$OV$(dirname "$p")"; cp -L "$p" "$OV$p"
    for lib in $(ldd "$p" 2>/dev/null | awk '/=> \// {print $3} /^\t\// {print $1}'); do
        mkdir -p "$OV$(dirname "$lib")"; cp -L "$lib" "$OV$lib"
    done
done
(cd "$OV" && find . -mindepth 1 | cpio --quiet -o -H newc -R 0:0 | gzip -1) > "$TMP/overlay.cpio.gz" || die "overlay cpio failed"
cat "$INITRD" "$TMP/overlay.cpio.gz" > "$TMP/initrd.img"

# ------------------------------------------------------------------- NICs
rand_mac() { printf '52:54:00:%02x:%02x:%02x' $((RANDOM % 256)) $((RANDOM % 256)) $((RANDOM % 256)); }
wait_sock() {
    local p=$1 i=0
    while [ ! -S "$p" ]; do
        [ "$i" -ge $((WAIT_SOCKET * 10)) ] && die "socket $p did not appear within ${WAIT_SOCKET}s"
        sleep 0.1; i=$((i + 1))
    done
}
NETARGS=()
nic() {   # nic INDEX SPEC MAC
    local i=$1 spec=$2 mac=$3 nd rem loc dev=""
    case "$spec" in
        none) return 0 ;;
        stream-listen:*)
            nd="stream,id=n$i,server=on,addr.type=unix,addr.path=${spec#stream-listen:}" ;;
        stream:*|/*|./*|../*)
            spec=${spec#stream:}; wait_sock "$spec"
            nd="stream,id=n$i,server=off,addr.type=unix,addr.path=$spec" ;;
        dgram:*)
            spec=${spec#dgram:}; rem=${spec%%:*}; loc=${spec#*:}
            [ "$loc" = "$spec" ] && loc=$TMP/dgram-n$i.sock
            rm -f "$loc"; wait_sock "$rem"
            nd="dgram,id=n$i,local.type=unix,local.path=$loc,remote.type=unix,remote.path=$rem" ;;
        vhost-user:*)
            spec=${spec#vhost-user:}; wait_sock "$spec"; VHOST_USER=1
            NETARGS+=(-chardev "socket,id=vu$i,path=$spec,reconnect=1")
            nd="vhost-user,id=n$i,chardev=vu$i"; dev=$VU_DEV ;;
        vhost-user-server:*)
            spec=${spec#vhost-user-server:}; VHOST_USER=1
            NETARGS+=(-chardev "socket,id=vu$i,path=$spec,server=on,wait=off")
            nd="vhost-user,id=n$i,chardev=vu$i"; dev=$VU_DEV ;;
        netdev:*) nd="${spec#netdev:},id=n$i" ;;
        *) if [ -S "$spec" ]; then nd="stream,id=n$i,server=off,addr.type=unix,addr.path=$spec"
           else die "bad NET spec '$spec'"; fi ;;
    esac
    NETARGS+=(-netdev "$nd" -device "virtio-net-pci,netdev=n$i,mac=$mac,romfile=$dev")
}
# QEMU 7.2 under TCG (no irqfd) crashes in vhost_net_start (msix_set_vector_notifiers)
# when the driver starts a vhost-user NIC with MSI-X, whatever the back end (DPDK's
# vhost PMD too): under TCG the vhost-user NIC uses INTx (vectors=0)
VU_DEV=""
[ "$ACCEL" = kvm ] || VU_DEV=",vectors=0"
[ -n "$MAC" ] || MAC=$(rand_mac)
nic 0 "$NET" "$MAC"
n=1
for s in ${EXTRA_NETS[@]+"${EXTRA_NETS[@]}"}; do nic "$n" "$s" "$(rand_mac)"; n=$((n + 1)); done

case "$ACCEL" in
    tcg) ACCELARGS=(-accel tcg) ;;
    kvm) ACCELARGS=(-accel kvm -cpu host) ;;
    kvm:tcg) ACCELARGS=(-accel kvm -accel tcg) ;;
    *) die "bad --accel $ACCEL" ;;
esac

MEMARGS=()
# a vhost-user backend maps the guest RAM: it must be a shared memfd
[ "$VHOST_USER" = 1 ] && MEMARGS=(-object "memory-backend-memfd,id=mem0,size=${MEM}M,share=on"
                                  -machine memory-backend=mem0)
OTHER=()
[ "$REBOOT" = 1 ] || OTHER+=(-no-reboot)
[ -n "$MONITOR" ] && OTHER+=(-monitor "unix:$MONITOR,server=on,wait=off")

QEMU=(qemu-system-x86_64 -nodefaults -no-user-config -display none "${OTHER[@]}"
      -M pc "${ACCELARGS[@]}" -m "$MEM" -smp "$SMP" ${MEMARGS[@]+"${MEMARGS[@]}"}
      -kernel "$VMLINUZ" -initrd "$TMP/initrd.img"
      -append "console=ttyS0,115200 panic=-1 quiet loglevel=4 $APPEND"
      -chardev stdio,id=con0,signal=off -serial chardev:con0
      "${NETARGS[@]}" ${QEMU_EXTRA[@]+"${QEMU_EXTRA[@]}"})

# -------------------------------------------------------------------- run
CONSOLE=$TMP/console.log
T0=$(date +%s.%N)
: > "$CONSOLE"
# QEMU runs in the background so that a signal to run-vm.sh stops it at once
timeout -k 5 "$TIMEOUT" "${QEMU[@]}" </dev/null >"$CONSOLE" 2>&1 &
QPID=$!
TPID=""
if [ "$QUIET" != 1 ]; then
    tail -n +1 -s 0.1 -f --pid="$QPID" "$CONSOLE" &
    TPID=$!
fi
wait "$QPID"
QRC=$?
QPID=""
[ -n "$TPID" ] && wait "$TPID"
T1=$(date +%s.%N)
[ -n "$LOG" ] && cp "$CONSOLE" "$LOG"

RES=$(tr -d '\r' < "$CONSOLE" | grep -a -o '^VMTEST-RESULT: [0-9]*' | tail -n1 | awk '{print $2}')
NETLINE=$(tr -d '\r' < "$CONSOLE" | grep -a '^VMTEST-NET:' | tail -n1)
WALL=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.2f", b - a}')
if [ -n "$RES" ]; then
    RC=$RES
elif [ "$QRC" = 124 ] || [ "$QRC" = 137 ]; then
    RC=124; echo "run-vm: TIMEOUT after ${TIMEOUT}s" >&2
else
    RC=125; echo "run-vm: VM exited (qemu rc=$QRC) without a VMTEST-RESULT line" >&2
fi
[ "$QUIET" = 1 ] && [ "$RC" != 0 ] && cat "$CONSOLE"
echo "run-vm: result=$RC wall=${WALL}s net='${NETLINE#VMTEST-NET: }'" >&2
exit "$RC"
