/* The gateway's L3 node: see l3.h for the theory of operation. */
#include "gateway.h"
#include "core/hash.h"
#include "core/util.h"
#include "dhcp4.h"
#include "nd.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <string.h>

/* ---- transmit arena ---- */

uint8_t *vn_gw_frame_alloc(struct vn_gw *gw, size_t maxlen)
{
    maxlen = (maxlen + 7) & ~(size_t)7;
    if (gw->ntx == VN_GW_TXMAX || gw->arena_used + maxlen > VN_GW_ARENA) {
        if (gw->net->dp->depth) { /* inside the switch: cannot inject now */
            gw->stats.tx_arena_full++;
            return NULL;
        }
        vn_gw_flush(gw);
        if (maxlen > VN_GW_ARENA)
            return NULL;
    }
    return gw->arena + gw->arena_used;
}

void vn_gw_frame_commit(struct vn_gw *gw, size_t len, const struct vn_offload *off)
{
    uint8_t *data = gw->arena + gw->arena_used;
    if (gw->tunnel.output && !memcmp(data, gw->tunnel.mac, 6)) {
        /* for an address behind the tunnel: it goes there now, the arena
         * space is reused */
        struct vn_frame tf = { .data = data, .len = (uint32_t)len, .port = gw->port->id };
        if (off)
            tf.off = *off;
        gw->stats.tx_frames++;
        gw->tunnel.output(gw->tunnel.ctx, &tf);
        return;
    }
    struct vn_frame *f = &gw->tx[gw->ntx++];
    *f = (struct vn_frame){ .data = data, .len = (uint32_t)len };
    if (off)
        f->off = *off;
    gw->arena_used += (len + 7) & ~(size_t)7;
    vn_defer(gw->loop, &gw->flush);
}

void vn_gw_flush(struct vn_gw *gw)
{
    if (!gw->ntx || gw->net->dp->depth)
        return;
    unsigned n = gw->ntx;
    gw->stats.tx_frames += n;
    gw->ntx = 0;
    vn_switch_input(gw->sw, gw->port, gw->tx, n);
    /* The switch consumed the frames synchronously: the arena is free again,
     * unless a port's send (a service reacting) queued more meanwhile. */
    if (!gw->ntx)
        gw->arena_used = 0;
}

static void flush_deferred(struct vn_defer *d)
{
    struct vn_gw *gw = VN_CONTAINER_OF(d, struct vn_gw, flush);
    vn_gw_flush(gw);
}

/* ---- building packets ---- */

uint8_t *vn_gw_ip4_header(struct vn_gw *gw, uint8_t *f, const uint8_t dmac[6], uint32_t src,
                          uint32_t dst, uint8_t proto, size_t l4len)
{
    memcpy(f, dmac, 6);
    memcpy(f + 6, gw->mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
    uint8_t *ip = f + VN_ETH_HLEN;
    ip[0] = 0x45;
    ip[1] = 0;
    vn_put_be16(ip + 2, (uint16_t)(20 + l4len));
    vn_put_be16(ip + 4, gw->ip_id++);
    vn_put_be16(ip + 6, 0x4000); /* DF */
    ip[8] = 64;
    ip[9] = proto;
    vn_put_be16(ip + 10, 0);
    vn_put_be32(ip + 12, src);
    vn_put_be32(ip + 16, dst);
    vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
    return ip + 20;
}

/* Write the fixed IPv6 header at ip. */
static void ip6_fixed(uint8_t *ip, const struct vn_addr *src, const struct vn_addr *dst,
                      uint8_t next, size_t plen)
{
    vn_put_be32(ip, 6u << 28);
    vn_put_be16(ip + 4, (uint16_t)plen);
    ip[6] = next;
    ip[7] = 64;
    memcpy(ip + 8, src->a, 16);
    memcpy(ip + 24, dst->a, 16);
}

uint8_t *vn_gw_ip_header(struct vn_gw *gw, uint8_t *f, const uint8_t dmac[6],
                         const struct vn_addr *src, const struct vn_addr *dst, uint8_t proto,
                         size_t l4len)
{
    if (src->family != AF_INET6)
        return vn_gw_ip4_header(gw, f, dmac, vn_addr_v4(src), vn_addr_v4(dst), proto, l4len);
    memcpy(f, dmac, 6);
    memcpy(f + 6, gw->mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    ip6_fixed(f + VN_ETH_HLEN, src, dst, proto, l4len);
    return f + VN_ETH_HLEN + 40;
}

/* Copy bytes [off, off+n) of the datagram made of hdr[8] followed by data. */
static void copy_span(uint8_t *dst, const uint8_t hdr[8], const uint8_t *data, size_t off, size_t n)
{
    while (n && off < 8) {
        *dst++ = hdr[off++];
        n--;
    }
    if (n)
        memcpy(dst, data + (off - 8), n);
}

int vn_gw_send_udp(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *src,
                   uint16_t sport, const struct vn_addr *dst, uint16_t dport, const void *data,
                   size_t len)
{
    /* IPv4: the total length holds the headers; IPv6: the payload length
     * holds UDP (and a fragment header when it has to be cut). */
    if (len > (src->family == AF_INET6 ? 65535u - 8 - 8 : 65535u - 28))
        return -1;
    size_t l4 = 8 + len;
    uint8_t h[8];
    vn_put_be16(h, sport);
    vn_put_be16(h + 2, dport);
    vn_put_be16(h + 4, (uint16_t)l4);
    vn_put_be16(h + 6, 0);
    uint32_t sum = vn_csum_add(vn_csum_pseudo(src, dst, VN_IPPROTO_UDP, (uint32_t)l4), h, 8);
    uint16_t c = vn_csum_fold(vn_csum_add(sum, data, len));
    vn_put_be16(h + 6, c ? c : 0xffff);
    return vn_gw_send_ip(gw, dmac, src, dst, VN_IPPROTO_UDP, h, data, len);
}

int vn_gw_send_udp4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, const void *data, size_t len)
{
    struct vn_addr s = vn_addr4(src), d = vn_addr4(dst);
    return vn_gw_send_udp(gw, dmac, &s, sport, &d, dport, data, len);
}

int vn_gw_send_ip4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint32_t dst,
                   uint8_t proto, const uint8_t h[8], const void *data, size_t len)
{
    struct vn_addr s = vn_addr4(src), d = vn_addr4(dst);
    return vn_gw_send_ip(gw, dmac, &s, &d, proto, h, data, len);
}

/* Whether a (IPv6) is unspecified. */
static bool ip6_unspec(const struct vn_addr *a)
{
    static const uint8_t z[16];
    return !memcmp(a->a, z, 16);
}

int vn_gw_send_ip(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *src,
                  const struct vn_addr *dst, uint8_t proto, const uint8_t h[8], const void *data,
                  size_t len)
{
    bool v6 = src->family == AF_INET6;
    if (v6 && ip6_unspec(dst))
        return -1; /* a request from :: has nobody to answer (RFC 4291 2.5.2) */
    size_t hl = v6 ? 40 : 20, fh = v6 ? 8 : 0; /* IPv6 fragments carry a fragment header */
    if (len > (v6 ? 65535 - 8 - fh : 65535 - hl - 8))
        return -1;
    size_t l4 = 8 + len;
    /* Larger than the MTU: fragments (the guest reassembles). */
    size_t per = hl + l4 <= gw->mtu ? l4 : (size_t)((gw->mtu - hl - fh) / 8 * 8);
    size_t nfrag = (l4 + per - 1) / per;
    if (nfrag > 1 && nfrag * (VN_ETH_HLEN + hl + fh + per) > VN_GW_ARENA / 4)
        return -1;
    if (nfrag == 1)
        fh = 0;
    uint16_t id = gw->ip_id++;
    uint32_t id6 = ++gw->frag6_id;
    if (nfrag > 1)
        gw->stats.fragmented++;
    for (size_t off = 0; off < l4; off += per) {
        size_t n = VN_MIN(per, l4 - off);
        uint8_t *f = vn_gw_frame_alloc(gw, VN_ETH_HLEN + hl + fh + n);
        if (!f)
            return -1;
        uint8_t *p = vn_gw_ip_header(gw, f, dmac, src, dst, proto, fh + n);
        uint8_t *ip = f + VN_ETH_HLEN;
        bool more = off + n < l4;
        if (nfrag > 1 && v6) {
            ip[6] = VN_IPPROTO_FRAGMENT;
            p[0] = proto;
            p[1] = 0;
            vn_put_be16(p + 2, (uint16_t)(off | (more ? 1 : 0)));
            vn_put_be32(p + 4, id6);
            p += 8;
        } else if (nfrag > 1) {
            vn_put_be16(ip + 4, id);
            vn_put_be16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
            vn_put_be16(ip + 10, 0);
            vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
        }
        copy_span(p, h, data, off, n);
        vn_gw_frame_commit(gw, VN_ETH_HLEN + hl + fh + n, NULL);
    }
    return 0;
}

/* ---- ICMP errors ---- */

#define ICMP_RATE_PER_S 200   /* errors per second a gateway sends at most */
#define ICMP_BURST 100

/* Take a token of the ICMP error bucket; false (counted) when empty. */
static bool icmp_token(struct vn_gw *gw)
{
    uint64_t now = vn_loop_now_ms(gw->loop);
    if (now > gw->icmp_refill_ms) {
        uint64_t add = (now - gw->icmp_refill_ms) * ICMP_RATE_PER_S / 1000;
        if (add) {
            gw->icmp_tokens = (uint32_t)VN_MIN((uint64_t)ICMP_BURST, gw->icmp_tokens + add);
            gw->icmp_refill_ms = now;
        }
    }
    if (!gw->icmp_tokens) {
        gw->stats.icmp_rate_limited++;
        return false;
    }
    gw->icmp_tokens--;
    return true;
}

void vn_gw_icmp4_error(struct vn_gw *gw, const uint8_t dmac[6], const uint8_t *orig, size_t len,
                       uint8_t type, uint8_t code, uint16_t extra)
{
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(orig, len, false, &ip) != VN_IP_OK || ip.frag_off)
        return;
    if (ip.proto == VN_IPPROTO_ICMP && ip.l4_len >= 1) {
        uint8_t t = ip.l4[0]; /* never answer an error with an error */
        if (t != 0 && t != 8 && t != 13 && t != 14)
            return;
    }
    if (!ip.src || (ip.src >> 28) == 0xe || !icmp_token(gw))
        return;
    /* RFC 1812 4.3.2.3: as much of the original as fits in 576 bytes. */
    size_t quote = VN_MIN((size_t)ip.tot_len, (size_t)(576 - 20 - 8));
    size_t total = VN_ETH_HLEN + 20 + 8 + quote;
    uint8_t *f = vn_gw_frame_alloc(gw, total);
    if (!f)
        return;
    uint8_t *ic = vn_gw_ip4_header(gw, f, dmac, gw->addr, ip.src, VN_IPPROTO_ICMP, 8 + quote);
    ic[0] = type;
    ic[1] = code;
    vn_put_be16(ic + 2, 0);
    vn_put_be16(ic + 4, 0);
    vn_put_be16(ic + 6, extra);
    if (type == 12)
        ic[4] = (uint8_t)extra, ic[6] = 0; /* parameter problem: the pointer */
    memcpy(ic + 8, orig, quote);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(0, ic, 8 + quote)));
    vn_gw_frame_commit(gw, total, NULL);
    gw->stats.icmp_errors_sent++;
}

static const uint8_t icmp4_tc[VN_ICMPE__COUNT][2] = {
    [VN_ICMPE_NET_UNREACH] = { 3, 0 },   [VN_ICMPE_HOST_UNREACH] = { 3, 1 },
    [VN_ICMPE_PORT_UNREACH] = { 3, 3 },  [VN_ICMPE_ADMIN] = { 3, 13 },
    [VN_ICMPE_TOO_BIG] = { 3, 4 },       [VN_ICMPE_TIME_EXCEEDED] = { 11, 0 },
    [VN_ICMPE_PARAM] = { 12, 0 },        [VN_ICMPE_PARAM_NEXTHDR] = { 12, 0 },
};
static const uint8_t icmp6_tc[VN_ICMPE__COUNT][2] = {
    [VN_ICMPE_NET_UNREACH] = { 1, 0 },   [VN_ICMPE_HOST_UNREACH] = { 1, 3 },
    [VN_ICMPE_PORT_UNREACH] = { 1, 4 },  [VN_ICMPE_ADMIN] = { 1, 1 },
    [VN_ICMPE_TOO_BIG] = { 2, 0 },       [VN_ICMPE_TIME_EXCEEDED] = { 3, 0 },
    [VN_ICMPE_PARAM] = { 4, 0 },         [VN_ICMPE_PARAM_NEXTHDR] = { 4, 1 },
};

static void icmp6_error(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_ipp *o,
                        enum vn_icmp_err k, uint32_t extra)
{
    if (!gw->ll6.family || o->src.a[0] == 0xff || ip6_unspec(&o->src))
        return;
    /* RFC 4443 2.4(e): no error about an error, a packet to a multicast
     * group (but packet too big), or a non-first fragment. */
    if (o->proto == VN_IPPROTO_ICMPV6 && (o->l4_len < 1 || o->l4[0] < 128))
        return;
    if (o->dst.a[0] == 0xff && k != VN_ICMPE_TOO_BIG)
        return;
    if (o->later_frag)
        return;
    if (!icmp_token(gw))
        return;
    /* As much of the original as fits in the minimum MTU (1280). */
    size_t quote = VN_MIN((size_t)o->len, (size_t)(1280 - 40 - 8));
    size_t total = VN_ETH_HLEN + 40 + 8 + quote;
    uint8_t *f = vn_gw_frame_alloc(gw, total);
    if (!f)
        return;
    bool ll = o->src.a[0] == 0xfe && (o->src.a[1] & 0xc0) == 0x80;
    const struct vn_addr *src = ll || !gw->addr6.family ? &gw->ll6 : &gw->addr6;
    uint8_t *ic = vn_gw_ip_header(gw, f, dmac, src, &o->src, VN_IPPROTO_ICMPV6, 8 + quote);
    ic[0] = icmp6_tc[k][0];
    ic[1] = icmp6_tc[k][1];
    vn_put_be16(ic + 2, 0);
    vn_put_be32(ic + 4, k == VN_ICMPE_TOO_BIG || k == VN_ICMPE_PARAM || k == VN_ICMPE_PARAM_NEXTHDR
                            ? extra
                            : 0);
    memcpy(ic + 8, o->hdr, quote);
    uint32_t ps = vn_csum_pseudo(src, &o->src, VN_IPPROTO_ICMPV6, (uint32_t)(8 + quote));
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(ps, ic, 8 + quote)));
    vn_gw_frame_commit(gw, total, NULL);
    gw->stats.icmp_errors_sent++;
}

void vn_gw_icmp_error(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_ipp *orig,
                      enum vn_icmp_err k, uint32_t extra)
{
    if (k >= VN_ICMPE__COUNT)
        return;
    if (orig->family == AF_INET6)
        icmp6_error(gw, dmac, orig, k, extra);
    else
        vn_gw_icmp4_error(gw, dmac, orig->hdr, orig->len, icmp4_tc[k][0], icmp4_tc[k][1],
                          (uint16_t)extra);
}

/* ---- neighbour table (open addressing with linear probing; when full, the
 * entry seen longest ago makes room, so addresses a guest invents cannot
 * lock out the others) ---- */

#define NEIGH_MASK (VN_GW_NEIGH_MAX * 2 - 1)

static uint32_t neigh_home(const struct vn_addr *ip)
{
    return (uint32_t)vn_hash(ip->a, ip->family == AF_INET6 ? 16 : 4) & NEIGH_MASK;
}

static uint32_t neigh_slot(const struct vn_gw *gw, const struct vn_addr *ip)
{
    uint32_t i = neigh_home(ip);
    while (gw->neigh[i].ip.family && !vn_addr_eq(&gw->neigh[i].ip, ip))
        i = (i + 1) & NEIGH_MASK;
    return i;
}

/* Remove the entry in slot i, shifting later entries of its probe run back
 * (so lookups never stop at a hole that was not there when they were put). */
static void neigh_delete(struct vn_gw *gw, uint32_t i)
{
    for (uint32_t j = (i + 1) & NEIGH_MASK; gw->neigh[j].ip.family; j = (j + 1) & NEIGH_MASK) {
        uint32_t k = neigh_home(&gw->neigh[j].ip);
        /* j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            gw->neigh[i] = gw->neigh[j];
            i = j;
        }
    }
    gw->neigh[i].ip.family = 0;
    gw->nneigh--;
}

/* Evict the entry seen longest ago. */
static void neigh_evict_oldest(struct vn_gw *gw)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i <= NEIGH_MASK; i++)
        if (gw->neigh[i].ip.family &&
            (best == UINT32_MAX || gw->neigh[i].seen_s < gw->neigh[best].seen_s))
            best = i;
    if (best != UINT32_MAX)
        neigh_delete(gw, best);
}

/* Whether ip may have a neighbour entry: on the link, not the gateway's,
 * not a network/broadcast/multicast/unspecified address. */
static bool neigh_ok(const struct vn_gw *gw, const struct vn_addr *ip)
{
    if (!vn_gw_on_link(gw, ip) || vn_gw_owns_addr(gw, ip))
        return false;
    if (ip->family == AF_INET) {
        uint32_t v = vn_addr_v4(ip);
        return v != gw->subnet && v != gw->bcast;
    }
    /* the subnet-router anycast address PREFIX::0 is nobody's */
    static const uint8_t z[8];
    return memcmp(ip->a + 8, z, 8) != 0;
}

/* Set ip -> mac; unless force, an entry of another MAC refreshed within
 * VN_CONFLICT_RECENT_S stays. */
static void neigh_set(struct vn_gw *gw, const struct vn_addr *ip, const uint8_t mac[6], bool force)
{
    if (!neigh_ok(gw, ip))
        return;
    struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    if (n->ip.family && !force && memcmp(n->mac, mac, 6) &&
        gw->sw->now_s - n->seen_s < VN_CONFLICT_RECENT_S) {
        gw->stats.neigh_kept++;
        return;
    }
    if (!n->ip.family) {
        if (gw->nneigh >= VN_GW_NEIGH_MAX) {
            gw->stats.neigh_full++;
            neigh_evict_oldest(gw);
            n = &gw->neigh[neigh_slot(gw, ip)];
        }
        gw->nneigh++;
        n->ip = *ip;
    }
    memcpy(n->mac, mac, 6);
    n->seen_s = gw->sw->now_s;
}

void vn_gw_neigh_learn(struct vn_gw *gw, const struct vn_addr *ip, const uint8_t mac[6])
{
    neigh_set(gw, ip, mac, true);
}

void vn_gw_neigh_observe(struct vn_gw *gw, const struct vn_addr *ip, const uint8_t mac[6])
{
    neigh_set(gw, ip, mac, false);
}

const struct vn_neigh *vn_gw_neigh_peek(struct vn_gw *gw, const struct vn_addr *ip)
{
    if (!ip->family)
        return NULL;
    const struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    return n->ip.family ? n : NULL;
}

size_t vn_gw_neigh_addrs(struct vn_gw *gw, const uint8_t mac[6], uint8_t family,
                         struct vn_addr *out, size_t max)
{
    size_t k = 0;
    for (uint32_t i = 0; i <= NEIGH_MASK && k < max; i++) {
        const struct vn_neigh *n = &gw->neigh[i];
        if (n->ip.family != family || memcmp(n->mac, mac, 6))
            continue;
        if (family == AF_INET6 && n->ip.a[0] == 0xfe && (n->ip.a[1] & 0xc0) == 0x80)
            continue;
        out[k++] = n->ip;
    }
    return k;
}

/* Broadcast an ARP request for ip (host order). */
static void arp_request(struct vn_gw *gw, uint32_t ip)
{
    uint8_t *f = vn_gw_frame_alloc(gw, 42);
    if (!f)
        return;
    memset(f, 0xff, 6);
    memcpy(f + 6, gw->mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    uint8_t *a = f + 14;
    vn_put_be16(a, 1);
    vn_put_be16(a + 2, VN_ETH_TYPE_IPV4);
    a[4] = 6;
    a[5] = 4;
    vn_put_be16(a + 6, 1);
    memcpy(a + 8, gw->mac, 6);
    vn_put_be32(a + 14, gw->addr);
    memset(a + 18, 0, 6);
    vn_put_be32(a + 24, ip);
    vn_gw_frame_commit(gw, 42, NULL);
}

const uint8_t *vn_gw_neigh_lookup(struct vn_gw *gw, const struct vn_addr *ip)
{
    if (!ip->family)
        return NULL;
    if (gw->tunnel.owns && !vn_gw_on_link(gw, ip) && gw->tunnel.owns(gw->tunnel.ctx, ip))
        return gw->tunnel.mac;
    struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    if (n->ip.family)
        return n->mac;
    if (ip->family == AF_INET && gw->dhcp) {
        uint8_t mac[6];
        if (vn_dhcp4_lookup_mac(gw->dhcp, vn_addr_v4(ip), mac) == 0) {
            vn_gw_neigh_learn(gw, ip, mac);
            n = &gw->neigh[neigh_slot(gw, ip)];
            if (n->ip.family)
                return n->mac;
        }
    }
    if (ip->family == AF_INET6 && neigh_ok(gw, ip)) {
        vn_gw_nd_solicit(gw, ip);
        return NULL;
    }
    if (ip->family == AF_INET && vn_gw_in_subnet(gw, vn_addr_v4(ip)))
        arp_request(gw, vn_addr_v4(ip));
    return NULL;
}

void vn_gw_l3_init(struct vn_gw *gw)
{
    gw->flush.cb = flush_deferred;
    gw->icmp_tokens = ICMP_BURST;
}
