/* Fuzz target: neighbour discovery, router solicitation/advertisement and
 * ICMPv6 at the gateway (gw/nd.c, gw/l3.c, gw/gateway.c's IPv6 input).
 *
 * Sequences of up to 16 IPv6 packets go straight into the real gateway of a
 * nat network (its port's send op, as the switch would hand them over),
 * from a fuzzed source MAC, with clock steps between them (the router
 * advertisement timer, the ICMP error and solicited-RA token buckets, the
 * neighbour table's conflict window). The NAT engine is replaced by a stub
 * that checks what reaches it (never a fragment, a routed packet has hop
 * limit left, link-local is never routed) and, when the input says so,
 * answers with the ICMPv6 error the engine would send (unreachable, too
 * big, ...) through the gateway's own vn_gw_icmp_error, or looks the
 * destination up as a neighbour (a solicitation for an unknown one).
 *
 * Everything the gateway sends reaches the fake port of the network's
 * guest and is checked: from the gateway's MAC, one well-formed IPv6
 * packet (exactly the frame, from one of the gateway's own addresses, to
 * no unspecified address, to multicast only all-nodes or a solicited-node
 * group on the matching MAC) with a valid ICMPv6 or UDP checksum
 * (fragments are reassembled first); NDP with hop limit 255; neighbour
 * advertisements with the router flag, a target that is the gateway's own
 * (it never answers for another address) and its link-layer address,
 * solicited exactly when unicast; solicitations only for addresses not its
 * own; router advertisements from its link-local address with the
 * configured lifetime, M/O flags, MTU, prefix, RDNSS and PREF64 (the
 * network is dual-stack with NAT64); ICMPv6 errors
 * within 1280 bytes quoting a packet from their destination, never about
 * an error, a later fragment or (but too big) a multicast packet, no more
 * than the rate limit allows; the gateway's counters equal what was seen.
 * After every packet the neighbour table is walked: bounded, every entry
 * findable where probing puts it, on the link and not the gateway's, and
 * no entry another MAC refreshed within VN_CONFLICT_RECENT_S taken over.
 *
 * Input: [h0][h1] then records [f][s][len:2][mac:6 if f bit 3][packet].
 * h0: bits 0-1 the RA lifetime (0, 1800, 9000, 65535 capped), bit 2 fills
 * the neighbour table first (VN_GW_NEIGH_MAX - (h1 & 15) entries, seen up
 * to (h1 >> 4) * 2 s ago), bits 3-4 the first unsolicited RA (0.1 s, 1 s,
 * 4 s, none), bit 5 starts the ICMP error and solicited-RA token buckets
 * with one token each. f: bits 0-2 the source MAC (6 guests, the gateway's own, a
 * multicast one) unless bit 3 takes the 6 bytes after the length, bits 4-5
 * the destination MAC (the gateway, the group of the IPv6 destination,
 * broadcast, another guest), bit 6 fixes the payload length and the
 * ICMPv6/UDP/TCP checksum, bit 7 adds Ethernet padding. s: bits 0-3 the
 * clock step before the packet, bits 4-6 the ICMPv6 error kind + 1 the NAT
 * stub answers with (0: none; 7: it looks the destination up in the
 * neighbour table instead, as a forward to a guest would), bit 7 the
 * error's MTU/pointer (1280 or 40). */
#include "core/hash.h"
#include "core/util.h"
#include "fuzz_world.h"
#include "gw/gateway.h"
#include "gw/nd.h"
#include "gw/reasm.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz_nd: %s:%d: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                           \
        }                                                                      \
    } while (0)

static const char YAML[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    subnet6: fd00:f::/64\n"
    "    mtu: 1280\n"
    "    ra: {interval: 4}\n"
    "    nat64: true\n"
    "    dns: {upstream: [127.0.0.1:1]}\n"
    "    fdb_max: 64\n"
    "ports:\n"
    "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1.sock}\n";

/* The harness's own loops over the neighbour table are not what the fuzzer
 * should learn from (and their comparison tracing was most of the time). */
#define NOCOV __attribute__((no_sanitize("coverage")))

#define MAX_MSGS 16
#define ICMP_RATE 200    /* l3.c's error bucket: refill per second */

static struct fz_world *w;
static struct vn_gw *gw;
static uint64_t fake_ns;
static uint64_t fake_clock(void *ctx) { (void)ctx; return fake_ns; }

/* What one input saw the gateway send. */
static struct {
    uint64_t na, ra, errors, echo, ns, udp, stub;
    uint64_t start_ms;
    uint32_t icmp_tokens; /* the error bucket at the start */
    bool lost;            /* a reply to the gateway's own MAC: the switch drops it */
} seen;
static struct vn_reasm out_reasm; /* the gateway's own fragments, put back together */

/* The NAT stub's orders for the current packet. */
static unsigned stub_err;  /* 0 none, 7 a neighbour lookup of the destination, else an enum vn_icmp_err + 1 */
static uint32_t stub_extra;

static bool is_ll(const uint8_t a[16]) { return a[0] == 0xfe && (a[1] & 0xc0) == 0x80; }

static bool owned(const uint8_t a[16])
{
    struct vn_addr x = { .family = AF_INET6 };
    memcpy(x.a, a, 16);
    return vn_gw_owns_addr(gw, &x);
}

static bool unspec(const uint8_t a[16])
{
    static const uint8_t z[16];
    return !memcmp(a, z, 16);
}

/* ---- what the gateway sends ---- */

/* NDP options from o (len bytes): each of non-zero length inside; returns
 * the first option of type t of exactly n 8-byte units, or NULL. */
static const uint8_t *nd_opt(const uint8_t *o, size_t len, uint8_t t, uint8_t n)
{
    const uint8_t *found = NULL;
    while (len) {
        CHECK(len >= 8 && o[1] && o[1] * 8u <= len);
        if (o[0] == t && o[1] == n && !found)
            found = o;
        len -= o[1] * 8u;
        o += o[1] * 8u;
    }
    return found;
}

static void check_na(const struct vn_ip6 *ip, const uint8_t *ic, size_t len)
{
    CHECK(len >= 24);
    const uint8_t *target = ic + 8;
    CHECK(ic[4] & 0x80);                             /* router */
    CHECK(owned(target) && !memcmp(ip->src, target, 16)); /* only its own addresses */
    bool mcast = ip->dst[0] == 0xff;
    CHECK(!!(ic[4] & 0x40) == !mcast);               /* solicited iff unicast */
    const uint8_t *tlla = nd_opt(ic + 24, len - 24, 2, 1);
    CHECK(tlla && !memcmp(tlla + 2, gw->mac, 6));
    seen.na++;
}

static void check_ns(const struct vn_ip6 *ip, const uint8_t *ic, size_t len)
{
    CHECK(len >= 24);
    const uint8_t *t = ic + 8;
    CHECK(!owned(t) && t[0] != 0xff && !unspec(t));
    static const uint8_t sn[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
    CHECK(!memcmp(ip->dst, sn, 13) && !memcmp(ip->dst + 13, t + 13, 3));
    const uint8_t *slla = nd_opt(ic + 24, len - 24, 1, 1);
    CHECK(slla && !memcmp(slla + 2, gw->mac, 6));
    seen.ns++;
}

static void check_ra(const struct vn_ip6 *ip, const uint8_t *ic, size_t len)
{
    const struct vn_net_conf *c = gw->conf;
    CHECK(len >= 16 && !memcmp(ip->src, gw->ll6.a, 16));
    CHECK(ic[4] == 64);
    uint8_t flags = (uint8_t)((c->dhcp6_mode == VN_DHCP6_STATEFUL ? 0x80 : 0) |
                              (c->dhcp6_mode != VN_DHCP6_OFF ? 0x40 : 0));
    CHECK(ic[5] == flags);
    CHECK(vn_get_be16(ic + 6) == VN_MIN(c->ra_lifetime, 9000u));
    const uint8_t *slla = nd_opt(ic + 16, len - 16, 1, 1);
    const uint8_t *mtu = nd_opt(ic + 16, len - 16, 5, 1);
    const uint8_t *pfx = nd_opt(ic + 16, len - 16, 3, 4);
    const uint8_t *rdnss = nd_opt(ic + 16, len - 16, 25, 3);
    CHECK(slla && !memcmp(slla + 2, gw->mac, 6));
    CHECK(mtu && vn_get_be32(mtu + 4) == gw->mtu);
    CHECK(pfx && pfx[2] == 64 && (pfx[3] & 0xc0) == 0xc0 && !memcmp(pfx + 16, gw->prefix6.a, 16));
    CHECK(!!rdnss == !!gw->dns && (!rdnss || !memcmp(rdnss + 8, gw->dns6.a, 16)));
    const uint8_t *pref64 = nd_opt(ic + 16, len - 16, 38, 2); /* RFC 8781 */
    CHECK(!!pref64 == c->nat64);
    if (pref64) {
        static const uint8_t plc_len[6] = { 96, 64, 56, 48, 40, 32 };
        uint16_t sl = vn_get_be16(pref64 + 2);
        CHECK((sl & 7) < 6 && plc_len[sl & 7] == c->nat64_prefix_len);
        CHECK((sl >> 3) == VN_MIN((3u * c->ra_interval + 7) / 8, 8191u));
        CHECK(!memcmp(pref64 + 4, c->nat64_prefix.a, 12));
    }
    seen.ra++;
}

static void check_error(const struct vn_ip6 *ip, const uint8_t *ic, size_t len)
{
    CHECK(ip->tot_len <= 1280 && len >= 8 + 40);
    const uint8_t *q = ic + 8;
    size_t qlen = len - 8;
    CHECK(q[0] >> 4 == 6);
    CHECK(!memcmp(q + 8, ip->dst, 16)); /* to the source of what it quotes */
    CHECK(q[8] != 0xff && !unspec(q + 8));
    if (q[24] == 0xff)
        CHECK(ic[0] == 2); /* about a multicast packet: only too big */
    /* the quoted packet, as far as it was quoted */
    static uint8_t copy[1280];
    memcpy(copy, q, qlen);
    vn_put_be16(copy + 4, (uint16_t)(qlen - 40));
    struct vn_ip6 o;
    if (vn_ip6_parse(copy, qlen, &o) == VN_IP_OK) {
        CHECK(!(o.frag && o.frag_off)); /* never about a later fragment */
        if (o.proto == VN_IPPROTO_ICMPV6 && o.l4_len >= 1)
            CHECK(o.l4[0] >= 128); /* never about an error */
    }
    seen.errors++;
}

/* An upper layer the gateway sent (a whole packet, or reassembled). */
static void check_l4(const struct vn_ip6 *ip)
{
    struct vn_addr s = { .family = AF_INET6 }, d = { .family = AF_INET6 };
    memcpy(s.a, ip->src, 16);
    memcpy(d.a, ip->dst, 16);
    const uint8_t *l4 = ip->l4;
    size_t len = ip->l4_len;
    uint32_t ps = vn_csum_pseudo(&s, &d, ip->proto, (uint32_t)len);
    if (ip->proto == VN_IPPROTO_UDP) {
        struct vn_udp u;
        CHECK(vn_udp_parse(l4, len, &u) == 0 && u.len == len);
        CHECK(vn_get_be16(l4 + 6) != 0 && vn_csum_fold(vn_csum_add(ps, l4, len)) == 0);
        CHECK(u.sport == 547 || u.sport == 53);
        seen.udp++;
        return;
    }
    CHECK(ip->proto == VN_IPPROTO_ICMPV6 && len >= 8);
    CHECK(vn_csum_fold(vn_csum_add(ps, l4, len)) == 0);
    uint8_t t = l4[0];
    if (t >= 133 && t <= 137)
        CHECK(ip->hlim == 255 && l4[1] == 0 && !ip->frag);
    switch (t) {
    case 1: case 2: case 3: case 4:
        check_error(ip, l4, len);
        break;
    case 129:
        seen.echo++;
        break;
    case 134:
        check_ra(ip, l4, len);
        break;
    case 135:
        check_ns(ip, l4, len);
        break;
    case 136:
        check_na(ip, l4, len);
        break;
    default:
        fprintf(stderr, "fuzz_nd: the gateway sent ICMPv6 type %u\n", t);
        abort();
    }
}

static void on_tx(struct fz_world *wd, struct vn_port *p, const struct vn_frame *f)
{
    (void)wd, (void)p;
    const uint8_t *e = f->data;
    CHECK(f->len >= VN_ETH_HLEN + 40 && !memcmp(e + 6, gw->mac, 6));
    CHECK(vn_get_be16(e + 12) == VN_ETH_TYPE_IPV6); /* only IPv6 comes in */
    struct vn_ip6 ip;
    CHECK(vn_ip6_parse(e + VN_ETH_HLEN, f->len - VN_ETH_HLEN, &ip) == VN_IP_OK);
    CHECK(ip.tot_len == f->len - VN_ETH_HLEN && ip.tot_len <= gw->mtu);
    CHECK(owned(ip.src));
    CHECK(!unspec(ip.dst));
    if (ip.dst[0] == 0xff) {
        static const uint8_t all[16] = { 0xff, 0x02, [15] = 1 };
        static const uint8_t sn[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
        CHECK(!memcmp(ip.dst, all, 16) || !memcmp(ip.dst, sn, 13));
        CHECK(e[0] == 0x33 && e[1] == 0x33 && !memcmp(e + 2, ip.dst + 12, 4));
    }
    if (!ip.frag) {
        check_l4(&ip);
        return;
    }
    struct vn_ip6 whole;
    if (vn_reasm_add6(&out_reasm, &ip, seen.start_ms, &whole) == 1)
        check_l4(&whole);
}

/* ---- the neighbour table ---- */

#define NEIGH_SLOTS (VN_GW_NEIGH_MAX * 2)
static struct vn_neigh before[NEIGH_SLOTS];

/* The entry of ip in a copy of the table (linear probing from its home), or NULL. */
NOCOV static const struct vn_neigh *old_entry(const struct vn_addr *ip)
{
    uint32_t i = (uint32_t)vn_hash(ip->a, 16) & (NEIGH_SLOTS - 1);
    for (unsigned n = 0; n < NEIGH_SLOTS && before[i].ip.family; n++) {
        if (vn_addr_eq(&before[i].ip, ip))
            return &before[i];
        i = (i + 1) & (NEIGH_SLOTS - 1);
    }
    return NULL;
}

/* Walk the table: all of it when full (after an eviction moved entries,
 * at the end of an input), else the slots that changed since before[]. */
NOCOV static void check_neighbours(bool full)
{
    unsigned n = 0;
    for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
        const struct vn_neigh *e = &gw->neigh[i];
        if (!e->ip.family)
            continue;
        n++;
        if (!full && !memcmp(e, &before[i], sizeof *e))
            continue;
        CHECK(e->ip.family == AF_INET6 && vn_gw_on_link(gw, &e->ip) && !vn_gw_owns_addr(gw, &e->ip));
        CHECK(vn_gw_neigh_peek(gw, &e->ip) == e); /* found where probing puts it */
        const struct vn_neigh *o = old_entry(&e->ip);
        /* a guest's entry is not taken over by another MAC while it is
         * active (no DHCPv6 leases here, nothing learns on authority) */
        if (o && memcmp(o->mac, e->mac, 6))
            CHECK(gw->sw->now_s - o->seen_s >= VN_CONFLICT_RECENT_S);
    }
    CHECK(n == gw->nneigh && n <= VN_GW_NEIGH_MAX);
}

/* ---- the NAT stub ---- */

static void stub_input(void *ctx, const uint8_t smac[6], const struct vn_ipp *ip,
                       const struct vn_frame *f)
{
    (void)f;
    CHECK(ctx == gw && ip->family == AF_INET6 && !ip->frag);
    CHECK(ip->l4 >= ip->hdr + 40 && ip->l4 + ip->l4_len == ip->hdr + ip->len);
    bool local = vn_gw_owns_addr(gw, &ip->dst);
    seen.stub++;
    CHECK(local || (ip->ttl > 1 && !is_ll(ip->dst.a))); /* routed: hop limit left, not link-local */
    if (stub_err == 7) /* as a forward to a guest would: a neighbour solicitation when unknown */
        vn_gw_neigh_lookup(gw, &ip->dst);
    else if (stub_err)
        vn_gw_icmp_error(gw, smac, ip, (enum vn_icmp_err)(stub_err - 1), stub_extra);
}

/* ---- one input ---- */

static void setup(void)
{
    fz_isolate();
    w = fz_world_new(YAML);
    gw = w->sw->nets[0]->gw;
    if (!gw || !gw->ll6.family || !gw->router6.family)
        abort();
    if (gw->next.free) /* no NAT: nothing leaves for the host */
        gw->next.free(gw->next.ctx);
    gw->nat = NULL;
    gw->next = (struct vn_gw_next){ .ctx = gw, .input = stub_input };
    fake_ns = vn_now_ns();
    vn_loop_set_clock(w->loop, fake_clock, NULL);
    w->on_tx = on_tx;
    if (vn_reasm_init(&out_reasm))
        abort();
}

/* Per input: the gateway as new (neighbours, counters, token buckets,
 * reassembly, the RA timer), the clocks going on. */
NOCOV static void reset(uint8_t h0, uint8_t h1)
{
    struct vn_net_conf *c = &w->sw->nets[0]->conf;
    static const uint32_t lifetimes[4] = { 0, 1800, 9000, 65535 };
    c->ra_lifetime = lifetimes[h0 & 3];
    memset(gw->neigh, 0, sizeof gw->neigh);
    gw->nneigh = 0;
    memset(&gw->stats, 0, sizeof gw->stats);
    vn_gw_l3_init(gw); /* the ICMP error bucket full */
    uint64_t now = vn_loop_now_ms(w->loop);
    gw->icmp_refill_ms = now;
    gw->ra_tokens = 20;
    gw->ra_refill_ms = now;
    if (h0 & 0x20) /* both buckets nearly empty: what the limits drop */
        gw->icmp_tokens = gw->ra_tokens = 1;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        gw->reasm.slot[i].used = out_reasm.slot[i].used = false;
    vn_timer_cancel(w->loop, &gw->ra_timer);
    gw->ra_initial = 2;
    static const uint64_t first_ra[4] = { 100, 1000, 4000, 0 };
    if (first_ra[(h0 >> 3) & 3])
        vn_timer_arm(w->loop, &gw->ra_timer, first_ra[(h0 >> 3) & 3]);
    w->sw->now_s = (uint32_t)(fake_ns / 1000000000u);
    if (h0 & 4) { /* a full table: what comes next evicts */
        unsigned n = VN_GW_NEIGH_MAX - (h1 & 15), spread = (h1 >> 4) * 2u + 1;
        uint32_t now_s = w->sw->now_s;
        for (unsigned i = 0; i < n; i++) {
            struct vn_addr a = gw->prefix6;
            a.a[8] = 2;
            a.a[14] = (uint8_t)(i >> 8);
            a.a[15] = (uint8_t)i;
            const uint8_t mac[6] = { 0x52, 0x54, 0, 1, (uint8_t)(i >> 8), (uint8_t)i };
            w->sw->now_s = now_s - i % spread;
            vn_gw_neigh_observe(gw, &a, mac);
        }
        w->sw->now_s = now_s;
    }
    memset(&seen, 0, sizeof seen);
    seen.start_ms = now;
    seen.icmp_tokens = gw->icmp_tokens;
}

/* Advance both clocks by ms and run what is due (the RA timer). */
static void step(uint64_t ms)
{
    if (ms) {
        fake_ns += ms * 1000000u;
        vn_loop_once(w->loop, 0);
    }
    w->sw->now_s = (uint32_t)(fake_ns / 1000000000u); /* the switch's age tick reads the real clock */
}

/* Fix the payload length and the upper layer's checksum of packet p. */
static void fix_up(uint8_t *p, size_t len)
{
    if (len < 40)
        return;
    vn_put_be16(p + 4, (uint16_t)VN_MIN(len - 40, 65535u));
    struct vn_ip6 ip;
    if (vn_ip6_parse(p, len, &ip) != VN_IP_OK || ip.frag)
        return;
    size_t at = ip.proto == VN_IPPROTO_ICMPV6 ? 2 : ip.proto == VN_IPPROTO_UDP ? 6
                : ip.proto == VN_IPPROTO_TCP ? 16 : 0;
    if (!at || ip.l4_len < at + 2)
        return;
    struct vn_addr s = { .family = AF_INET6 }, d = { .family = AF_INET6 };
    memcpy(s.a, ip.src, 16);
    memcpy(d.a, ip.dst, 16);
    uint8_t *ck = (uint8_t *)ip.l4 + at;
    vn_put_be16(ck, 0);
    uint16_t c = vn_csum_fold(vn_csum_add(vn_csum_pseudo(&s, &d, ip.proto, ip.l4_len), ip.l4,
                                          ip.l4_len));
    vn_put_be16(ck, ip.proto == VN_IPPROTO_UDP && !c ? 0xffff : c);
}

static void one_packet(uint8_t f, const uint8_t *mac_in, const uint8_t *pkt, size_t plen,
                       uint8_t pad)
{
    static const uint8_t macs[8][6] = {
        { 0x52, 0x54, 0, 0, 0, 0xa0 }, { 0x52, 0x54, 0, 0, 0, 0xa1 },
        { 0x52, 0x54, 0, 0, 0, 0xa2 }, { 0x52, 0x54, 0, 0, 0, 0xa3 },
        { 0x52, 0x54, 0, 0, 0, 0xa4 }, { 0x52, 0x54, 0, 0, 0, 0xa5 },
        { 0 } /* the gateway's */,     { 0x33, 0x33, 0, 0, 0, 1 },
    };
    size_t padn = f & 0x80 ? 8 + (pad & 7) : 0, flen = VN_ETH_HLEN + plen + padn;
    uint8_t *fr = malloc(flen); /* exact size: over-reads are caught */
    if (mac_in)
        memcpy(fr + 6, mac_in, 6);
    else
        memcpy(fr + 6, (f & 7) == 6 ? gw->mac : macs[f & 7], 6);
    switch ((f >> 4) & 3) {
    case 0:
        memcpy(fr, gw->mac, 6);
        break;
    case 1:
        fr[0] = fr[1] = 0x33;
        if (plen >= 40)
            memcpy(fr + 2, pkt + 36, 4);
        else
            memset(fr + 2, 0, 4);
        break;
    case 2:
        memset(fr, 0xff, 6);
        break;
    default:
        memcpy(fr, macs[5], 6);
        break;
    }
    vn_put_be16(fr + 12, VN_ETH_TYPE_IPV6);
    memcpy(fr + VN_ETH_HLEN, pkt, plen);
    if (f & 0x40)
        fix_up(fr + VN_ETH_HLEN, plen);
    memset(fr + VN_ETH_HLEN + plen, pad, padn);
    seen.lost |= !memcmp(fr + 6, gw->mac, 6);
    struct vn_frame frame = { .data = fr, .len = (uint32_t)flen, .port = fz_world_port(w, 0)->id };
    struct vn_frame *fp = &frame;
    gw->port->ops->send(gw->port, &fp, 1);
    vn_gw_flush(gw);
    free(fr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!w)
        setup();
    if (size < 2 || size > 65536)
        return 0;
    reset(data[0], data[1]);
    memcpy(before, gw->neigh, sizeof before);
    check_neighbours(true);
    size_t off = 2;
    static const uint64_t steps[16] = { 0,    1,    10,    50,    100,   500,    1000,  2000,
                                        4000, 9000, 11000, 30000, 60000, 300000, 3600000, 86400000 };
    for (unsigned k = 0; k < MAX_MSGS && size - off >= 4; k++) {
        uint8_t f = data[off], s = data[off + 1];
        size_t len = vn_get_be16(data + off + 2);
        off += 4;
        const uint8_t *mac = NULL;
        if (f & 8) {
            if (size - off < 6)
                break;
            mac = data + off;
            off += 6;
        }
        if (len > size - off)
            len = size - off;
        const uint8_t *pkt = data + off;
        off += len;
        step(steps[s & 15]);
        stub_err = (s >> 4) & 7;
        stub_extra = s & 0x80 ? 1280 : 40;
        memcpy(before, gw->neigh, sizeof before);
        uint64_t evicted = gw->stats.neigh_full;
        one_packet(f, mac, pkt, len, s);
        check_neighbours(gw->stats.neigh_full != evicted);
    }
    /* The clock runs on a while: timed advertisements. */
    memcpy(before, gw->neigh, sizeof before);
    for (int i = 0; i < 3; i++)
        step(4000);
    check_neighbours(true);
    /* Counters say what was seen; errors within the rate limit. */
    const struct vn_gw_stats *st = &gw->stats;
    if (!seen.lost) {
        CHECK(st->nd_na_sent == seen.na && st->nd_ra_sent == seen.ra);
        CHECK(st->icmp_errors_sent == seen.errors && st->icmp6_echo == seen.echo);
    }
    uint64_t elapsed = vn_loop_now_ms(w->loop) - seen.start_ms;
    CHECK(seen.errors <= seen.icmp_tokens + elapsed * ICMP_RATE / 1000);
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("FUZZ_ND_VERBOSE") != NULL;
    if (verbose) /* what an input did, for writing seeds */
        fprintf(stderr,
                "sent: na %lu ns %lu ra %lu errors %lu echo %lu udp %lu; to nat %lu; "
                "ns %lu na %lu rs %lu nd_bad %lu dad %lu conflicts %lu kept %lu full %lu "
                "neigh %u bad %lu frags %lu limited %lu\n",
                (unsigned long)seen.na, (unsigned long)seen.ns, (unsigned long)seen.ra,
                (unsigned long)seen.errors, (unsigned long)seen.echo, (unsigned long)seen.udp,
                (unsigned long)seen.stub, (unsigned long)st->nd_ns, (unsigned long)st->nd_na_rcvd,
                (unsigned long)st->nd_rs, (unsigned long)st->nd_bad,
                (unsigned long)st->nd_dad_defended, (unsigned long)st->conflicts,
                (unsigned long)st->neigh_kept, (unsigned long)st->neigh_full, gw->nneigh,
                (unsigned long)st->ip6_bad, (unsigned long)st->ip6_fragments,
                (unsigned long)st->icmp_rate_limited);
    return 0;
}
