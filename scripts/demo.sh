#!/bin/bash
# make demo: a QEMU VM gets an address from vnetd's DHCP server, resolves
# names through vnetd's DNS forwarder, fetches a page from a web server on the
# host's loopback through NAT, and publishes its own web server on a host port.
# Everything stays on this machine: the "internet" is a web server on
# 127.0.0.1 and the DNS upstream a dnsmasq on 127.0.0.1.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$(cd "${1:-$ROOT/build}" && pwd)
VNETD=$BUILD/vnetd
VNETCTL=$BUILD/vnetctl
WORK=$(mktemp -d /tmp/vnet-demo.XXXXXX)
PIDS=()

cleanup() {
    local rc=$?
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "$rc" -ne 0 ]; then
        echo "demo: FAILED (status $rc); vnetd log:" >&2
        tail -n 20 "$WORK/vnetd.log" >&2 || true
        echo "demo: files kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

WEB_PORT=$(free_port)
DNS_PORT=$(free_port)
FWD_PORT=$(free_port)

say "host side: a web server on 127.0.0.1:$WEB_PORT and a DNS upstream on 127.0.0.1:$DNS_PORT"
mkdir -p "$WORK/www"
echo "hello from the host, through vnet NAT" > "$WORK/www/index.html"
/usr/bin/python3 -m http.server "$WEB_PORT" --bind 127.0.0.1 --directory "$WORK/www" \
    >"$WORK/http.log" 2>&1 &
PIDS+=($!)
dnsmasq --no-daemon --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces \
    --no-resolv --no-hosts --local=/demo.test/ --host-record=www.demo.test,10.0.2.2 \
    >"$WORK/dnsmasq.log" 2>&1 &
PIDS+=($!)

cat > "$WORK/vnetd.yaml" <<YAML
control: $WORK/vnetd.sock
state_dir: $WORK/state
networks:
  - name: demo
    mode: nat
    dns: { upstream: [ "127.0.0.1:$DNS_PORT" ] }
    forwards: [ { proto: tcp, host: "127.0.0.1:$FWD_PORT", guest: "10.0.2.15:80" } ]
ports:
  - { name: vm1, type: stream, path: $WORK/vm1.sock, network: demo }
YAML
say "vnetd: NAT network 10.0.2.0/24, DHCP, DNS, forward 127.0.0.1:$FWD_PORT -> 10.0.2.15:80"
cat "$WORK/vnetd.yaml"
"$VNETD" -c "$WORK/vnetd.yaml" 2>"$WORK/vnetd.log" &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$WORK/vm1.sock" ] && break; sleep 0.1; done
[ -S "$WORK/vm1.sock" ] || { cat "$WORK/vnetd.log"; echo "demo: vnetd did not start" >&2; exit 1; }

cat > "$WORK/guest.sh" <<GUEST
set -e
echo "--- guest: address from DHCP"; ip -4 addr show eth0 | grep inet
echo "--- guest: /etc/resolv.conf from DHCP"; cat /etc/resolv.conf
echo "--- guest: resolving host.vnet.internal (answered by vnetd) and www.demo.test (forwarded)"
nslookup host.vnet.internal | grep -A1 '^Name'
nslookup www.demo.test | grep -A1 '^Name'
echo "--- guest: fetching http://host.vnet.internal:$WEB_PORT/ through NAT"
timeout 10 wget -q -O - http://host.vnet.internal:$WEB_PORT/
mkdir -p /www/cgi-bin && echo "hello from inside the VM, through a vnet port forward" > /www/index.html
printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\ntouch /tmp/done\\necho bye\\n' > /www/cgi-bin/done
chmod +x /www/cgi-bin/done
httpd -p 80 -h /www
echo DEMO-GUEST-SERVING
i=0; while [ ! -e /tmp/done ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i+1)); done
[ -e /tmp/done ] && echo "--- guest: the host fetched our page; shutting down"
GUEST

say "booting a VM (QEMU, TCG) on port vm1"
# The console streams to the terminal and into console.log as it happens.
"$ROOT/tests/vm/run-vm.sh" --mac 52:54:00:de:00:01 --env GUEST=demo \
    "stream:$WORK/vm1.sock" "@$WORK/guest.sh" 120 > >(tee "$WORK/console.log") 2>&1 &
VMPID=$!
PIDS+=($VMPID)
for _ in $(seq 900); do grep -q DEMO-GUEST-SERVING "$WORK/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q DEMO-GUEST-SERVING "$WORK/console.log" || { echo "demo: guest did not come up" >&2; exit 1; }

say "host: fetching the VM's web server through the forward 127.0.0.1:$FWD_PORT"
"$VNETCTL" --control "$WORK/vnetd.sock" capture vm1 -w "$WORK/forward.pcap" -c 10 \
    --duration 10 >/dev/null &
CAPPID=$!
sleep 0.3
curl -sS --max-time 10 "http://127.0.0.1:$FWD_PORT/"
# A connection held open for a moment, so that the flow table has something to show.
(sleep 2 | socat - "TCP:127.0.0.1:$FWD_PORT" >/dev/null 2>&1) &
HOLD=$!
for _ in $(seq 20); do
    "$VNETCTL" --control "$WORK/vnetd.sock" -j flows | grep -q established && break
    sleep 0.1
done
say "vnetctl flows (a host client connected through the forward, held open)"
"$VNETCTL" --control "$WORK/vnetd.sock" flows
wait "$HOLD" || true
wait "$CAPPID" || true
say "vnetctl capture vm1 -c 10: the forwarded connection as the VM saw it"
tcpdump -nr "$WORK/forward.pcap" 2>/dev/null || true

say "vnetctl leases"
"$VNETCTL" --control "$WORK/vnetd.sock" leases
say "vnetctl port list"
"$VNETCTL" --control "$WORK/vnetd.sock" port list
curl -s --max-time 10 "http://127.0.0.1:$FWD_PORT/cgi-bin/done" >/dev/null || true
if ! wait "$VMPID"; then
    echo "demo: the guest reported a failure (console: above)" >&2
    exit 1
fi
say "demo done: the VM got a lease, resolved names, reached the host and served the host"
