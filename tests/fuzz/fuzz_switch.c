/* Fuzz target: the whole data path. Frames enter a switch through fake
 * ports and reach everything behind them: VLAN classification and tag
 * strip, MTU, fdb learning, storm control, port security (vm3 binds
 * addresses: DHCP leases, IPv6 DAD claims), the RA/DHCP guards behind IPv6
 * extension headers, ACLs with
 * connection tracking and reject answers, mirrors, and the gateways of a nat
 * network and an isolated network with a subnet (ARP, ICMP, IPv4
 * reassembly, DHCP, DNS, and NAT when the process could be isolated in its
 * own network namespace; see fuzz_world.h).
 *
 * Input: records [sel][len_hi][len_lo][frame...]. sel bits 0-1 pick the
 * ingress port (vm1, vm2, trunk, vm3); bit 7 ends the batch (frames of one
 * batch are switched together, up to 64). A fresh world per input keeps
 * runs reproducible. */
#include "fuzz_world.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static const char NAT_NET[] =
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    mtu: 1500\n"
    "    fdb_max: 64\n"
    "    dhcp:\n"
    "      range: 10.0.2.15-10.0.2.40\n"
    "      hosts:\n"
    "        - {mac: 52:54:00:12:34:99, ip: 10.0.2.99, name: fixed}\n"
    "    dns:\n"
    "      upstream: [127.0.0.1:1]\n"
    "    nat:\n"
    "      max_flows: 64\n";
static const char ISO_NAT_FALLBACK[] =
    "  - name: lan\n"
    "    mode: isolated\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    fdb_max: 64\n"
    "    dns:\n"
    "      upstream: [127.0.0.1:1]\n";
static const char REST[] =
    "  - name: iso\n"
    "    mode: isolated\n"
    "    vlan: 20\n"
    "    subnet: 192.168.5.0/24\n"
    "    dns:\n"
    "      upstream: [127.0.0.1:1]\n"
    "ports:\n"
    "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1.sock,\n"
    "     storm: {broadcast: 1000}}\n"
    "  - name: vm2\n"
    "    type: stream\n"
    "    network: lan\n"
    "    path: /nonexistent/vm2.sock\n"
    "    security: {max_macs: 4}\n"
    "    rate: {out: {pps: 2000}}\n"
    "    acl:\n"
    "      - {action: allow, direction: in, proto: udp, dport: 53}\n"
    "      - {action: reject, direction: in, proto: tcp, dport: 23}\n"
    "      - {action: allow, direction: out, state: established}\n"
    "      - {action: drop, direction: out, proto: icmp, icmp_type: 8}\n"
    "      - {action: reject, direction: both, src: \"fd00::/8\", proto: tcp, dport: 25}\n"
    "      - {action: drop, direction: in, proto: icmpv6, icmp_type: 135, src: \"fe80::/10\"}\n"
    "  - {name: t1, type: stream, trunk: [lan, iso], native: lan, path: /nonexistent/t1.sock}\n"
    "  - {name: vm3, type: stream, network: iso, path: /nonexistent/vm3.sock,\n"
    "     security: {ip_binding: true}}\n"
    "mirrors:\n"
    "  - {name: m1, from: [vm1], direction: both, to: vm3}\n";

static char yaml[4096];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!yaml[0])
        snprintf(yaml, sizeof yaml, "networks:\n%s%s", fz_isolate() ? NAT_NET : ISO_NAT_FALLBACK,
                 REST);
    if (size > 256 * 1024)
        return 0;
    struct fz_world *w = fz_world_new(yaml);
    const uint8_t *frames[64];
    size_t lens[64];
    unsigned n = 0, cur = 0;
    while (size >= 3) {
        unsigned sel = data[0];
        size_t l = (size_t)data[1] << 8 | data[2];
        data += 3;
        size -= 3;
        if (l > size)
            l = size;
        if (n && (sel & 3) != cur) { /* a batch comes from one port */
            fz_world_input(w, fz_world_port(w, cur), frames, lens, n);
            n = 0;
        }
        cur = sel & 3;
        frames[n] = data;
        lens[n++] = l;
        data += l;
        size -= l;
        if ((sel & 0x80) || n == 64) {
            fz_world_input(w, fz_world_port(w, cur), frames, lens, n);
            n = 0;
        }
    }
    if (n)
        fz_world_input(w, fz_world_port(w, cur), frames, lens, n);
    fz_world_free(w);
    return 0;
}
