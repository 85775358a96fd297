/* Neighbour discovery and router advertisements: see nd.h. */
#include "nd.h"
#include "gateway.h"
#include "core/log.h"
#include "core/util.h"
#include "dns_msg.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <string.h>

enum { ND_RS = 133, ND_RA = 134, ND_NS = 135, ND_NA = 136, ND_REDIRECT = 137 };
enum {
    OPT_SLLA = 1,
    OPT_TLLA = 2,
    OPT_PREFIX = 3,
    OPT_MTU = 5,
    OPT_RDNSS = 25,
    OPT_DNSSL = 31,
    OPT_PREF64 = 38,
};
#define NA_R 0x80
#define NA_S 0x40
#define NA_O 0x20

#define RA_INITIAL 3              /* MAX_INITIAL_RTR_ADVERTISEMENTS */
#define RA_INITIAL_MS 4000        /* between them (at most 16 s) */
#define RA_SOLICITED_PER_S 20     /* RAs a flood of RS can cause */
#define PREFIX_VALID_S 86400
#define PREFIX_PREFERRED_S 14400

struct vn_addr vn_nd_link_local(const uint8_t mac[6])
{
    struct vn_addr a = { .family = AF_INET6 };
    a.a[0] = 0xfe;
    a.a[1] = 0x80;
    a.a[8] = mac[0] ^ 0x02;
    a.a[9] = mac[1];
    a.a[10] = mac[2];
    a.a[11] = 0xff;
    a.a[12] = 0xfe;
    a.a[13] = mac[3];
    a.a[14] = mac[4];
    a.a[15] = mac[5];
    return a;
}

static const struct vn_addr all_nodes = { AF_INET6, { 0xff, 0x02, [15] = 1 } };
static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

static bool is_unspec(const uint8_t a[16])
{
    static const uint8_t z[16];
    return !memcmp(a, z, 16);
}

/* Whether a is ff02::1:ffXX:XXXX for some XX:XXXX. */
static bool is_solicited_node(const uint8_t a[16])
{
    static const uint8_t p[13] = { 0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff };
    return !memcmp(a, p, 13);
}

/* The options of an NDP message (from off to the end), validated: every
 * option has a non-zero length within the message. Fills the link-layer
 * option of type want (or leaves *ll NULL). Returns 0 or -1. */
static int nd_options(const uint8_t *o, size_t len, uint8_t want, const uint8_t **ll)
{
    *ll = NULL;
    while (len) {
        if (len < 8 || !o[1] || (size_t)o[1] * 8 > len)
            return -1;
        size_t ol = (size_t)o[1] * 8;
        if (o[0] == want && ol == 8)
            *ll = o + 2;
        o += ol;
        len -= ol;
    }
    return 0;
}

/* Checksum an ICMPv6 message at ic of len bytes from src to dst. */
static void icmp6_csum(uint8_t *ic, size_t len, const struct vn_addr *src, const struct vn_addr *dst)
{
    vn_put_be16(ic + 2, 0);
    uint32_t ps = vn_csum_pseudo(src, dst, VN_IPPROTO_ICMPV6, (uint32_t)len);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(ps, ic, len)));
}

/* Start an NDP message of len bytes (hop limit 255); returns its ICMPv6
 * header or NULL (arena full). */
static uint8_t *nd_start(struct vn_gw *gw, uint8_t **frame, const uint8_t dmac[6],
                         const struct vn_addr *src, const struct vn_addr *dst, size_t len)
{
    uint8_t *f = vn_gw_frame_alloc(gw, VN_ETH_HLEN + 40 + len);
    if (!f)
        return NULL;
    *frame = f;
    uint8_t *ic = vn_gw_ip_header(gw, f, dmac, src, dst, VN_IPPROTO_ICMPV6, len);
    f[VN_ETH_HLEN + 7] = 255;
    memset(ic, 0, len);
    return ic;
}

/* Send an NA for target (one of ours) to dst/dmac with flags. */
static void send_na(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *dst,
                    const struct vn_addr *target, uint8_t flags)
{
    uint8_t *f;
    size_t len = 24 + 8;
    uint8_t *ic = nd_start(gw, &f, dmac, target, dst, len);
    if (!ic)
        return;
    ic[0] = ND_NA;
    ic[4] = flags;
    memcpy(ic + 8, target->a, 16);
    ic[24] = OPT_TLLA;
    ic[25] = 1;
    memcpy(ic + 26, gw->mac, 6);
    icmp6_csum(ic, len, target, dst);
    vn_gw_frame_commit(gw, VN_ETH_HLEN + 40 + len, NULL);
    gw->stats.nd_na_sent++;
}

void vn_gw_nd_solicit(struct vn_gw *gw, const struct vn_addr *t)
{
    if (!gw->ll6.family)
        return;
    struct vn_addr dst = { AF_INET6, { 0xff, 0x02, [11] = 1, [12] = 0xff, [13] = t->a[13],
                                       [14] = t->a[14], [15] = t->a[15] } };
    uint8_t dmac[6] = { 0x33, 0x33, 0xff, t->a[13], t->a[14], t->a[15] };
    bool ll = t->a[0] == 0xfe && (t->a[1] & 0xc0) == 0x80;
    const struct vn_addr *src = ll || !gw->addr6.family ? &gw->ll6 : &gw->addr6;
    uint8_t *f;
    size_t len = 24 + 8;
    uint8_t *ic = nd_start(gw, &f, dmac, src, &dst, len);
    if (!ic)
        return;
    ic[0] = ND_NS;
    memcpy(ic + 8, t->a, 16);
    ic[24] = OPT_SLLA;
    ic[25] = 1;
    memcpy(ic + 26, gw->mac, 6);
    icmp6_csum(ic, len, src, &dst);
    vn_gw_frame_commit(gw, VN_ETH_HLEN + 40 + len, NULL);
}

/* ---- router advertisements ---- */

/* Write the PREF64 option (RFC 8781) announcing the network's NAT64 prefix
 * at o (16 bytes), so guests that synthesize addresses themselves (CLAT,
 * DNS64 in a local resolver) learn it without a DNS lookup. The scaled
 * lifetime is 3 x the RA interval in units of 8 s (RFC 8781 4.1), at most
 * 8191; the prefix length is coded as the PLC (0: /96, 1: /64, 2: /56,
 * 3: /48, 4: /40, 5: /32) and the option carries the first 96 bits. */
static void put_pref64(uint8_t *o, const struct vn_net_conf *c)
{
    static const uint8_t lens[] = { 96, 64, 56, 48, 40, 32 };
    unsigned plc = 0;
    while (plc < sizeof lens - 1 && lens[plc] != c->nat64_prefix_len)
        plc++;
    uint32_t scaled = VN_MIN((3u * c->ra_interval + 7) / 8, 8191u);
    o[0] = OPT_PREF64;
    o[1] = 2;
    vn_put_be16(o + 2, (uint16_t)(scaled << 3 | plc));
    memcpy(o + 4, c->nat64_prefix.a, 12);
}

/* Send an RA to dst/dmac. */
static void send_ra(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *dst)
{
    const struct vn_net_conf *c = gw->conf;
    uint8_t dnssl[VN_DOMAIN_MAX + 2];
    int dl = c->domain[0] && gw->dns ? vn_dns_name_from_text(c->domain, dnssl, sizeof dnssl) : -1;
    bool rdnss = gw->dns && gw->dns6.family;
    size_t dnssl_len = dl > 0 ? ((8 + (size_t)dl + 7) & ~(size_t)7) : 0;
    bool pref64 = c->nat64 && c->mode == VN_MODE_NAT;
    size_t len = 16 + 8 + 8 + 32 + (rdnss ? 24 : 0) + dnssl_len + (pref64 ? 16 : 0);
    uint8_t *f;
    uint8_t *ic = nd_start(gw, &f, dmac, &gw->ll6, dst, len);
    if (!ic)
        return;
    ic[0] = ND_RA;
    ic[4] = 64; /* cur hop limit */
    ic[5] = (uint8_t)((c->dhcp6_mode == VN_DHCP6_STATEFUL ? 0x80 : 0) |
                      (c->dhcp6_mode != VN_DHCP6_OFF ? 0x40 : 0));
    vn_put_be16(ic + 6, (uint16_t)VN_MIN(c->ra_lifetime, 9000u));
    uint8_t *o = ic + 16;
    o[0] = OPT_SLLA;
    o[1] = 1;
    memcpy(o + 2, gw->mac, 6);
    o += 8;
    o[0] = OPT_MTU;
    o[1] = 1;
    vn_put_be32(o + 4, gw->mtu);
    o += 8;
    o[0] = OPT_PREFIX;
    o[1] = 4;
    o[2] = 64;
    o[3] = 0xc0; /* on-link, autonomous (SLAAC) */
    vn_put_be32(o + 4, PREFIX_VALID_S);
    vn_put_be32(o + 8, PREFIX_PREFERRED_S);
    memcpy(o + 16, gw->prefix6.a, 16);
    o += 32;
    /* RFC 8106 5.1: lifetime at least 3 x MaxRtrAdvInterval */
    uint32_t dns_life = VN_MAX(3 * c->ra_interval, 1200u);
    if (rdnss) {
        o[0] = OPT_RDNSS;
        o[1] = 3;
        vn_put_be32(o + 4, dns_life);
        memcpy(o + 8, gw->dns6.a, 16);
        o += 24;
    }
    if (dnssl_len) {
        o[0] = OPT_DNSSL;
        o[1] = (uint8_t)(dnssl_len / 8);
        vn_put_be32(o + 4, dns_life);
        memcpy(o + 8, dnssl, (size_t)dl);
        o += dnssl_len;
    }
    if (pref64)
        put_pref64(o, c);
    icmp6_csum(ic, len, &gw->ll6, dst);
    vn_gw_frame_commit(gw, VN_ETH_HLEN + 40 + len, NULL);
    gw->stats.nd_ra_sent++;
}

static void ra_timer_cb(struct vn_timer *t)
{
    struct vn_gw *gw = VN_CONTAINER_OF(t, struct vn_gw, ra_timer);
    send_ra(gw, all_nodes_mac, &all_nodes);
    vn_gw_flush(gw);
    gw->ra_last_ms = vn_loop_now_ms(gw->loop);
    uint64_t max = (uint64_t)gw->conf->ra_interval * 1000, min = max / 3;
    uint64_t next = min + vn_random_u32() % (max - min + 1);
    if (gw->ra_initial) {
        gw->ra_initial--;
        next = VN_MIN(next, (uint64_t)RA_INITIAL_MS);
    }
    vn_timer_arm(gw->loop, &gw->ra_timer, next);
}

void vn_gw_nd_init(struct vn_gw *gw)
{
    const struct vn_net_conf *c = gw->conf;
    vn_timer_init(&gw->ra_timer, ra_timer_cb);
    gw->ra_tokens = RA_SOLICITED_PER_S;
    if (!c->ipv6 || c->subnet6.family != AF_INET6)
        return;
    gw->ll6 = vn_nd_link_local(gw->mac);
    gw->prefix6 = c->subnet6;
    gw->dns6 = c->dns_addr6;
    gw->addr6 = c->mode == VN_MODE_HOST_ONLY ? c->dns_addr6 : c->gateway6;
    if (c->mode == VN_MODE_NAT)
        gw->router6 = c->gateway6;
    if (c->ra && c->mode != VN_MODE_ISOLATED && c->ra_interval >= 4) {
        gw->ra_initial = RA_INITIAL - 1;
        vn_timer_arm(gw->loop, &gw->ra_timer, 100 + vn_random_u32() % 400);
    }
}

void vn_gw_nd_stop(struct vn_gw *gw)
{
    vn_timer_cancel(gw->loop, &gw->ra_timer);
}

/* Whether a solicited RA may go now (token bucket). */
static bool ra_token(struct vn_gw *gw)
{
    uint64_t now = vn_loop_now_ms(gw->loop);
    if (now - gw->ra_refill_ms >= 1000 / RA_SOLICITED_PER_S) {
        uint64_t add = (now - gw->ra_refill_ms) * RA_SOLICITED_PER_S / 1000;
        gw->ra_tokens = (uint32_t)VN_MIN((uint64_t)RA_SOLICITED_PER_S, gw->ra_tokens + add);
        gw->ra_refill_ms = now;
    }
    if (!gw->ra_tokens)
        return false;
    gw->ra_tokens--;
    return true;
}

/* ---- input ---- */

/* Whether t is one of the gateway's IPv6 addresses. */
static bool ours(const struct vn_gw *gw, const uint8_t t[16])
{
    struct vn_addr a = { .family = AF_INET6 };
    memcpy(a.a, t, 16);
    return vn_gw_owns_addr(gw, &a);
}

static void ns_input(struct vn_gw *gw, const uint8_t smac[6], const struct vn_ip6 *ip,
                     const uint8_t *ic, size_t len)
{
    const uint8_t *ll;
    if (len < 24 || ic[8] == 0xff || nd_options(ic + 24, len - 24, OPT_SLLA, &ll)) {
        gw->stats.nd_bad++;
        return;
    }
    bool dad = is_unspec(ip->src);
    if (dad && (!is_solicited_node(ip->dst) || ll)) {
        gw->stats.nd_bad++; /* RFC 4861 7.1.1 */
        return;
    }
    gw->stats.nd_ns++;
    struct vn_addr target = { .family = AF_INET6 }, src = { .family = AF_INET6 };
    memcpy(target.a, ic + 8, 16);
    memcpy(src.a, ip->src, 16);
    if (!dad && (!ll || !memcmp(ll, smac, 6)))
        vn_gw_neigh_observe(gw, &src, smac); /* the solicitor is at its source MAC */
    if (!ours(gw, target.a))
        return; /* never answer for a guest's address (tentative or not) */
    if (dad) { /* a guest probing one of our addresses: defend it */
        gw->stats.nd_dad_defended++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"guest probed a gateway IPv6 address, defended\" network=%s",
                  gw->conf->name);
        send_na(gw, all_nodes_mac, &all_nodes, &target, NA_R | NA_O);
        return;
    }
    send_na(gw, smac, &src, &target, NA_R | NA_S | NA_O);
}

static void na_input(struct vn_gw *gw, const uint8_t smac[6], const struct vn_ip6 *ip,
                     const uint8_t *ic, size_t len)
{
    const uint8_t *ll;
    if (len < 24 || ic[8] == 0xff || nd_options(ic + 24, len - 24, OPT_TLLA, &ll) ||
        ((ic[4] & NA_S) && ip->dst[0] == 0xff)) {
        gw->stats.nd_bad++;
        return;
    }
    gw->stats.nd_na_rcvd++;
    struct vn_addr target = { .family = AF_INET6 };
    memcpy(target.a, ic + 8, 16);
    if (ours(gw, target.a)) {
        gw->stats.conflicts++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"guest advertised a gateway IPv6 address, ignored\" network=%s",
                  gw->conf->name);
        return;
    }
    if (ll && memcmp(ll, smac, 6))
        return; /* an NA naming another MAC than its sender's: not learned */
    vn_gw_neigh_observe(gw, &target, smac);
}

static void rs_input(struct vn_gw *gw, const uint8_t smac[6], const struct vn_ip6 *ip,
                     const uint8_t *ic, size_t len)
{
    const uint8_t *ll;
    if (len < 8 || nd_options(ic + 8, len - 8, OPT_SLLA, &ll) || (is_unspec(ip->src) && ll)) {
        gw->stats.nd_bad++;
        return;
    }
    gw->stats.nd_rs++;
    if (!gw->conf->ra || gw->conf->mode == VN_MODE_ISOLATED || !ra_token(gw))
        return;
    if (is_unspec(ip->src)) {
        send_ra(gw, all_nodes_mac, &all_nodes);
        return;
    }
    struct vn_addr src = { .family = AF_INET6 };
    memcpy(src.a, ip->src, 16);
    if (!ll || !memcmp(ll, smac, 6))
        vn_gw_neigh_observe(gw, &src, smac);
    send_ra(gw, smac, &src);
}

bool vn_gw_nd_input(struct vn_gw *gw, const uint8_t smac[6], const struct vn_ip6 *ip)
{
    if (ip->proto != VN_IPPROTO_ICMPV6 || ip->l4_len < 4 || ip->l4[0] < ND_RS ||
        ip->l4[0] > ND_REDIRECT)
        return false;
    const uint8_t *ic = ip->l4;
    size_t len = ip->l4_len;
    struct vn_addr s = { .family = AF_INET6 }, d = { .family = AF_INET6 };
    memcpy(s.a, ip->src, 16);
    memcpy(d.a, ip->dst, 16);
    if (ip->hlim != 255 || ic[1] != 0 || ip->frag ||
        vn_csum_fold(vn_csum_add(vn_csum_pseudo(&s, &d, VN_IPPROTO_ICMPV6, (uint32_t)len), ic,
                                 len)) != 0) {
        gw->stats.nd_bad++;
        return true;
    }
    switch (ic[0]) {
    case ND_NS:
        ns_input(gw, smac, ip, ic, len);
        break;
    case ND_NA:
        na_input(gw, smac, ip, ic, len);
        break;
    case ND_RS:
        rs_input(gw, smac, ip, ic, len);
        break;
    default: /* RA, redirect: a router's messages, not a guest's (the guard drops them) */
        break;
    }
    return true;
}
