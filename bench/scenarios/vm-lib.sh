# shellcheck shell=bash
# vm-lib.sh - the QEMU guests of bench/vm.sh.
#
# Each configuration runs, inside its own "host" namespace (hostns_add: loopback
# and a void uplink as the guard), a network back end and a QEMU TCG guest
# (tests/vm/run-vm.sh, the test image of build/vm) whose virtio-net NIC is
# attached to it.  The guest is configured statically: 10.0.2.15/24, default
# via 10.0.2.2, which every back end maps to the host namespace's 127.0.0.1,
# MTU GUEST_MTU (default 1500, what a VM gets by default), IPv6 off.  Its
# command starts a command server (busybox `nc -ll -p 7000 -e sh`) and waits:
# the harness runs guest-side commands through bench/tools/vmexec.py, which
# dials the back end's forward 127.0.0.1:P_VMCTL -> 10.0.2.15:7000.  The
# iperf3 binary (and its libraries) are copied into the guest with --bin.
#
#   guest (QEMU TCG) 10.0.2.15 --virtio-net-- back end --NAT-- host namespace
#                                                              127.0.0.1
#   tcp_g2h: the guest's iperf3 dials 10.0.2.2:P_G2H -> the host's 127.0.0.1
#   tcp_h2g: the host dials the forward 127.0.0.1:P_H2G_FWD -> guest:P_H2G
#
# DAEMON_PIDS are QEMU (the guest's emulation, and for -netdev user the NAT
# itself) and the back end process: the CPU columns are the whole stack's.
# Needs: qemu-system-x86_64, build/vm (make guest), iperf3.

VM_DIR=${VM_DIR:-$BENCH_ROOT/../tests/vm}
GUEST_DIR=${GUEST_DIR:-$BENCH_ROOT/../build/vm}
GUEST_MTU=${GUEST_MTU:-1500}
GUEST_MEM=${GUEST_MEM:-256}
P_VMCTL=${P_VMCTL:-7070}

# vm_start NAME NS NET: boot the guest of configuration NAME in namespace NS
# with eth0 on NET (a run-vm.sh NET spec); waits until it serves commands.
# Sets VM_PID (run-vm.sh) and QEMU_PID; writes RUN_DIR/NAME.vm.pid.
vm_start() {
  local name=$1 ns=$2 net=$3 i con=$RUN_DIR/$1.console tpid
  QEMU_PID=""
  # the ping tells the back end the guest's MAC (passt learns it from the first frame)
  local script="ip link set eth0 mtu $GUEST_MTU; ping -c 1 -W 2 10.0.2.2 > /dev/null; nc -ll -p 7000 -e sh & echo VM-READY; sleep 100000"
  local cmd=("$VM_DIR/run-vm.sh" -o "$GUEST_DIR" --ip 10.0.2.15/24,10.0.2.2 --mem "$GUEST_MEM"
             --append ipv6.disable=1 --bin "$(command -v iperf3)")
  [ -n "${PINGPONG:-}" ] && cmd+=(--bin "$PINGPONG")
  cmd+=("$net" "$script" $((BUDGET + 600)))
  echo "ip netns exec $ns ${cmd[*]}" >> "$RUN_DIR/$name.cmdline"
  ip netns exec "$ns" "${cmd[@]}" > "$con" 2>&1 &
  VM_PID=$!
  echo "$VM_PID" > "$RUN_DIR/$name.vm.pid"
  for i in $(seq 600); do
    grep -q '^VM-READY' "$con" && break
    kill -0 "$VM_PID" 2>/dev/null || { tail -20 "$con" >&2; log "$name: the guest ended"; return 1; }
    sleep 0.2
  done
  grep -q '^VM-READY' "$con" || { log "$name: the guest did not come up in 120 s"; return 1; }
  tpid=$(ps -o pid=,comm= --ppid "$VM_PID" | awk '$2 == "timeout" {print $1; exit}')
  QEMU_PID=$(ps -o pid= --ppid "${tpid:-0}" | awk 'NR == 1 {print $1}')
  for i in $(seq 20); do   # the command server behind the forward
    timeout 5 ip netns exec "$ns" "$PY" "$BENCH_ROOT/tools/vmexec.py" "$P_VMCTL" true > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  log "$name: no command server in the guest"; return 1
}

# vm_stop NAME: stop the guest of NAME (run-vm.sh stops its QEMU by PID)
vm_stop() {
  [ -f "$RUN_DIR/$1.vm.pid" ] && kill_pid "$(cat "$RUN_DIR/$1.vm.pid")"
  rm -f "$RUN_DIR/$1.vm.pid"
}

# vm_env NAME LABEL IMPL NS "PIDS" VERSION OK: the configuration file the
# harness loads; OK=0 makes its check fail (the configuration is then shown
# unsupported)
vm_env() {
  local name=$1 label=$2 impl=$3 ns=$4 pids=$5 ver=$6 ok=$7 check=true
  [ "$ok" = 1 ] || check=false
  cat > "$RUN_DIR/$name.env" <<S
LABEL=$label
IMPL=$impl
IMPL_VERSION="$ver"
MTU=$GUEST_MTU
H_EXEC="ip netns exec $ns"
G_EXEC="ip netns exec $ns $PY $BENCH_ROOT/tools/vmexec.py $P_VMCTL"
G2H_ADDR=10.0.2.2
G2H_PORT=$P_G2H
G2H_RR_PORT=$P_G2H_RR
H2G_ADDR=127.0.0.1
H2G_PORT=$P_H2G_FWD
H2G_RR_PORT=$P_H2G_RR_FWD
PING_ADDR=
DAEMON_PIDS="$pids"
GUARD_EXEC="ip netns exec $ns"
GUARD_IF=uplink0
CHECK="$check"
S
}

# The harness's wait_listen, also for the guest side (busybox: netstat, no ss)
wait_listen() {  # wait_listen "EXEC prefix" tcp|udp PORT
  local exec=$1 proto=$2 port=$3 i flag=-ltn
  [ "$proto" = udp ] && flag=-lun
  for i in $(seq 100); do
    case $exec in
      *vmexec*) $exec netstat $flag 2>/dev/null | grep -q "[:.]$port " && return 0 ;;
      *) $exec ss -H $flag "sport = :$port" 2>/dev/null | grep -q . && return 0 ;;
    esac
    sleep 0.05
  done
  log "warning: nothing listening on $proto/$port"
  return 1
}
