/* Fuzz target: the DNS wire helpers (gw/dns_msg.c): message and name
 * parsing with compression, text conversion both ways, PTR names (in-addr.arpa
 * and ip6.arpa), and the reply builders run on what was parsed (answer,
 * OPT, truncation); then the forwarder itself (gw/dns.c): the message as a
 * UDP query to a real gateway's DNS service from an IPv4 guest, an IPv6
 * guest in the prefix (whose MAC a named reservation holds, so AAAA and
 * ip6.arpa PTR reach the SLAAC lookups) and a link-local one, local
 * answers and forwarding to an upstream on 127.0.0.1 (see fuzz_world.h),
 * for every input that parses as a query; AAAA and PTR queries also go to
 * an IPv6-only nat64 network (DNS64 sets them up: the AAAA stage, reverse
 * names of 64:ff9b::/96 mapped to in-addr.arpa). DNS64's synthesis
 * (gw/dns64.c) runs on every input as an upstream answer: the AAAA answer
 * built from it and the PTR answer through a CNAME must parse, carry the
 * question asked and hold only AAAA records of the prefix for addresses
 * NAT64 carries, TTLs within the bound.
 * Input: one DNS message. */
#include "fuzz_world.h"
#include "gw/dns64.h"
#include "gw/dns_msg.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "pkt/nat64.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t SUFFIX[] = "\x04vnet\x08internal";

/* An isolated network with IPv4 and IPv6 (DNS on 10.0.2.3 and fd00:f::3):
 * fixed (MAC ..:99) has a reservation, the IPv6 guest below uses its MAC. */
static const char YAML[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: isolated\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    subnet6: fd00:f::/64\n"
    "    dhcp:\n"
    "      range: 10.0.2.15-10.0.2.40\n"
    "      hosts:\n"
    "        - {mac: 52:54:00:12:34:99, ip: 10.0.2.99, name: fixed}\n"
    "        - {mac: 52:54:00:12:34:98, name: named}\n"
    "    dns:\n"
    "      address: 10.0.2.3\n"
    "      address6: fd00:f::3\n"
    "      upstream: [127.0.0.1:1]\n"
    "      cache: 16\n"
    "    fdb_max: 64\n"
    "    nat: {max_flows: 16}\n"
    "ports:\n"
    "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1.sock}\n";

/* An IPv6-only nat network with DNS64 (needs the private namespace). */
static const char YAML64[] =
    "networks:\n"
    "  - name: v6\n"
    "    mode: nat\n"
    "    subnet: none\n"
    "    subnet6: fd00:f::/64\n"
    "    nat64: true\n"
    "    dns: {address6: fd00:f::3, upstream: [127.0.0.1:1], cache: 16}\n"
    "    nat: {max_flows: 16}\n"
    "ports:\n"
    "  - {name: vm1, type: stream, network: v6, path: /nonexistent/vm1.sock}\n";

static const uint8_t GW_MAC[6] = { 0x52, 0x54, 0, 0, 0, 2 }; /* readdressed (fuzz_world.c) */

/* Ethernet + IP + UDP from (mac, src:40000) to dst:53 carrying m, into f. */
static size_t udp_frame(uint8_t *f, const uint8_t mac[6], const char *src, const char *dst,
                        const uint8_t *m, size_t len)
{
    struct vn_addr s, d;
    if (vn_addr_parse(src, &s) || vn_addr_parse(dst, &d))
        abort();
    memcpy(f, GW_MAC, 6);
    memcpy(f + 6, mac, 6);
    uint8_t *ip = f + 14, *u;
    if (s.family == AF_INET) {
        vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
        memset(ip, 0, 20);
        ip[0] = 0x45;
        vn_put_be16(ip + 2, (uint16_t)(28 + len));
        ip[8] = 64;
        ip[9] = VN_IPPROTO_UDP;
        memcpy(ip + 12, s.a, 4);
        memcpy(ip + 16, d.a, 4);
        vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
        u = ip + 20;
    } else {
        vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
        memset(ip, 0, 40);
        ip[0] = 0x60;
        vn_put_be16(ip + 4, (uint16_t)(8 + len));
        ip[6] = VN_IPPROTO_UDP;
        ip[7] = 64;
        memcpy(ip + 8, s.a, 16);
        memcpy(ip + 24, d.a, 16);
        u = ip + 40;
    }
    vn_put_be16(u, 40000);
    vn_put_be16(u + 2, 53);
    vn_put_be16(u + 4, (uint16_t)(8 + len));
    vn_put_be16(u + 6, 0);
    memcpy(u + 8, m, len);
    uint16_t c = vn_csum_fold(
        vn_csum_add(vn_csum_pseudo(&s, &d, VN_IPPROTO_UDP, (uint32_t)(8 + len)), u, 8 + len));
    vn_put_be16(u + 6, c ? c : 0xffff);
    return (size_t)(u + 8 + len - f);
}

/* The message as a query to the DNS service over both families. */
static void query_gateway(const uint8_t *m, size_t size)
{
    static uint8_t f[3][14 + 40 + 8 + 1400];
    if (size > 1400)
        return;
    /* The upstream's 127.0.0.1 is that of a private namespace when the
     * process can make one (else the host's loopback: still nothing else). */
    fz_isolate();
    struct fz_world *w = fz_world_new(YAML);
    static const uint8_t fixed[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x99 },
                         vm[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    const uint8_t *frames[3] = { f[0], f[1], f[2] };
    size_t lens[3];
    lens[0] = udp_frame(f[0], vm, "10.0.2.15", "10.0.2.3", m, size);
    lens[1] = udp_frame(f[1], fixed, "fd00:f::5054:ff:fe12:3499", "fd00:f::3", m, size);
    lens[2] = udp_frame(f[2], vm, "fe80::5054:ff:fe12:3456", "fd00:f::3", m, size);
    fz_world_input(w, fz_world_port(w, 0), frames, lens, 3);
    fz_world_free(w);
}

/* An AAAA or PTR query to the DNS64 forwarder of an IPv6-only network. */
static void query_dns64(const uint8_t *m, size_t size)
{
    static uint8_t f[14 + 40 + 8 + 1400];
    if (size > 1400 || !fz_isolate())
        return; /* a nat network: only inside the private namespace */
    struct fz_world *w = fz_world_new(YAML64);
    static const uint8_t vm[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
    const uint8_t *frames[1] = { f };
    size_t lens[1] = { udp_frame(f, vm, "fd00:f::5054:ff:fe12:3456", "fd00:f::3", m, size) };
    fz_world_input(w, fz_world_port(w, 0), frames, lens, 1);
    fz_world_free(w);
}

/* The answer records of message o (len bytes, parsed as r): every AAAA in
 * prefix/plen embedding an address NAT64 carries, its TTL at most bound. */
static void check_synth(const uint8_t *o, size_t len, const struct vn_dns_msg *r,
                        const struct vn_addr *prefix, unsigned plen, uint32_t bound)
{
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t off = VN_DNS_HLEN + r->q.name_len + 4u, next;
    unsigned aaaa = 0;
    for (unsigned i = 0; i < r->h.ancount; i++) {
        if (vn_dns_name_read(o, len, off, name, &next) < 0 || next + 10 > len)
            abort();
        uint16_t type = vn_dns_get16(o + next), rdlen = vn_dns_get16(o + next + 8);
        uint32_t ttl = (uint32_t)vn_dns_get16(o + next + 4) << 16 | vn_dns_get16(o + next + 6);
        if (type == VN_DNS_T_AAAA) {
            struct vn_addr a = { .family = AF_INET6 };
            uint32_t v4;
            if (rdlen != 16)
                abort();
            memcpy(a.a, o + next + 10, 16);
            if (!vn_nat64_extract(prefix, plen, &a, &v4) || vn_dns64_v4_excluded(v4) ||
                ttl > bound)
                abort();
            aaaa++;
        } else if (type != VN_DNS_T_CNAME && type != 39 /* DNAME */) {
            abort(); /* only the chain and the synthesized records */
        }
        off = next + 10 + rdlen;
    }
    if (!aaaa)
        abort();
}

/* DNS64 on message m (size bytes) as an upstream answer. */
static void dns64_checks(const uint8_t *m, size_t size, const struct vn_dns_msg *msg, bool parsed)
{
    static uint8_t out[65536];
    struct vn_addr wkp = vn_nat64_wkp();
    struct vn_addr p40 = { .family = AF_INET6, .a = { 0x20, 0x01, 0x0d, 0xb8, 0x01 } };
    vn_dns64_has_aaaa(m, size);
    uint32_t bound = vn_dns64_ttl_bound(m, size);
    if (bound > VN_DNS64_TTL_MAX)
        abort();
    struct vn_dns_question q6 = { .qtype = VN_DNS_T_AAAA, .qclass = VN_DNS_C_IN };
    if (parsed && msg->has_q)
        memcpy(&q6, &msg->q, sizeof q6), q6.qtype = VN_DNS_T_AAAA;
    else
        q6.name_len = (uint16_t)vn_dns_name_from_text("www.example.test", q6.name, sizeof q6.name);
    const size_t caps[2] = { sizeof out, 300 };
    for (unsigned i = 0; i < 4; i++) {
        const struct vn_addr *p = i & 1 ? &p40 : &wkp;
        unsigned plen = i & 1 ? 40 : 96;
        size_t cap = caps[i >> 1];
        size_t n = vn_dns64_synth(out, cap, m, size, &q6, 0x1234, p, plen, bound,
                                  i & 1 ? 0 : 1232);
        struct vn_dns_msg r;
        if (!n)
            continue;
        if (n > cap || vn_dns_msg_parse(out, n, &r) || r.h.id != 0x1234 || !r.has_q ||
            !vn_dns_question_eq(&r.q, &q6) || (r.h.flags & (VN_DNS_F_AA | VN_DNS_F_TC)) ||
            r.h.nscount || r.edns != !(i & 1))
            abort();
        check_synth(out, n, &r, p, plen, bound);
    }
    /* Reverse names: a name of the prefix maps to the in-addr.arpa name of
     * the address it embeds. */
    uint8_t n4[64];
    uint32_t v4;
    if (parsed && msg->has_q && vn_dns64_ptr_map(msg->q.name, &wkp, 96, n4, sizeof n4, &v4) > 0) {
        uint32_t back;
        if (vn_dns_ptr4_parse(n4, &back) || back != v4)
            abort();
    }
    /* m as the answer to the in-addr.arpa name of 64:ff9b::c000:201. */
    struct vn_addr x = vn_nat64_embed(&wkp, 96, 0xc0000201u);
    struct vn_dns_question qp = { .qtype = VN_DNS_T_PTR, .qclass = VN_DNS_C_IN };
    qp.name_len = (uint16_t)vn_dns_ptr6_name(x.a, 32, qp.name, sizeof qp.name);
    if (vn_dns64_ptr_map(qp.name, &wkp, 96, n4, sizeof n4, &v4) <= 0 || v4 != 0xc0000201u)
        abort();
    for (unsigned i = 0; i < 2; i++) {
        size_t n = vn_dns64_ptr_answer(out, caps[i], m, size, &qp, n4, 7, 1232);
        struct vn_dns_msg r;
        if (n && (n > caps[i] || vn_dns_msg_parse(out, n, &r) || !r.has_q ||
                  !vn_dns_question_eq(&r.q, &qp) || r.h.ancount < 1))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    uint8_t *m = malloc(size ? size : 1); /* exact size: over-reads are caught */
    memcpy(m, data, size);
    struct vn_dns_msg msg;
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t next;
    /* Names at every offset of the message. */
    for (size_t off = 0; off < size && off < 512; off++) {
        int l = vn_dns_name_read(m, size, off, name, &next);
        if (l >= 0 && (l > VN_DNS_NAME_MAX || next > size || next <= off))
            abort();
    }
    bool parsed = vn_dns_msg_parse(m, size, &msg) == 0;
    dns64_checks(m, size, &msg, parsed);
    if (parsed && msg.has_q) {
        if (msg.q.name_len > VN_DNS_NAME_MAX || msg.q.name_len == 0 ||
            msg.q.name[msg.q.name_len - 1] != 0)
            abort();
        char text[300];
        int tl = vn_dns_name_to_text(msg.q.name, text, sizeof text);
        if (tl >= 0) {
            uint8_t back[VN_DNS_NAME_MAX + 1];
            int bl = vn_dns_name_from_text(text, back, sizeof back);
            /* text -> wire must give the (lower-cased) same name back */
            if (bl >= 0 && !vn_dns_question_eq(&msg.q, &msg.q))
                abort();
        }
        vn_dns_name_under(msg.q.name, SUFFIX);
        uint32_t ip;
        vn_dns_ptr4_parse(msg.q.name, &ip);
        uint8_t a6[16];
        if (vn_dns_ptr6_parse(msg.q.name, a6) == 0) {
            /* A valid ip6.arpa name is exactly the name built back from it
             * (up to case), and lies below the zone of its /64. */
            uint8_t back[80], zone[80];
            if (vn_dns_ptr6_name(a6, 32, back, sizeof back) != 74 || msg.q.name_len != 74 ||
                !vn_dns_wire_eq(back, msg.q.name, 74) ||
                vn_dns_ptr6_name(a6, 16, zone, sizeof zone) != 42 ||
                vn_dns_name_under(msg.q.name, zone) != 32)
                abort();
        }
        uint8_t out[512];
        size_t len = vn_dns_reply_init(out, sizeof out, &msg, VN_DNS_F_AA, VN_DNS_R_NOERROR);
        if (len) {
            static const uint8_t a[4] = { 10, 0, 2, 2 };
            size_t l2 = vn_dns_add_answer(out, sizeof out, len, VN_DNS_T_A, 60, a, 4);
            if (l2)
                len = l2;
            l2 = vn_dns_add_opt(out, sizeof out, len, 1232);
            if (l2)
                len = l2;
            struct vn_dns_msg r;
            if (vn_dns_msg_parse(out, len, &r) != 0 || !r.has_q ||
                !vn_dns_question_eq(&r.q, &msg.q))
                abort(); /* our own reply must parse and carry the question */
            uint8_t tr[512];
            vn_dns_truncate(tr, sizeof tr, out, &r);
        }
        uint8_t tr2[512];
        vn_dns_truncate(tr2, sizeof tr2, m, &msg);
    }
    /* The input as text, too. */
    char *t = malloc(size + 1);
    memcpy(t, data, size);
    t[size] = 0;
    uint8_t w[VN_DNS_NAME_MAX + 1];
    int wl = vn_dns_name_from_text(t, w, sizeof w);
    if (wl > (int)sizeof w)
        abort();
    free(t);
    /* A world per input (reproducible runs) costs a few milliseconds: only
     * queries the forwarder would not drop at its first check (the parse
     * above) go to it. */
    if (vn_dns_msg_parse(m, size, &msg) == 0 && !(msg.h.flags & VN_DNS_F_QR)) {
        query_gateway(m, size);
        if (msg.has_q && (msg.q.qtype == VN_DNS_T_AAAA || msg.q.qtype == VN_DNS_T_PTR))
            query_dns64(m, size);
    }
    free(m);
    return 0;
}
