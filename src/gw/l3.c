/* The gateway's L3 node: see l3.h for the theory of operation. */
#include "gateway.h"
#include "core/hash.h"
#include "core/util.h"
#include "dhcp4.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <string.h>

/* ---- transmit arena ---- */

uint8_t *vn_gw_frame_alloc(struct vn_gw *gw, size_t maxlen)
{
    maxlen = (maxlen + 7) & ~(size_t)7;
    if (gw->ntx == VN_GW_TXMAX || gw->arena_used + maxlen > VN_GW_ARENA) {
        if (gw->sw->depth) { /* inside the switch: cannot inject now */
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
    struct vn_frame *f = &gw->tx[gw->ntx++];
    *f = (struct vn_frame){ .data = gw->arena + gw->arena_used, .len = (uint32_t)len };
    if (off)
        f->off = *off;
    gw->arena_used += (len + 7) & ~(size_t)7;
    vn_defer(gw->loop, &gw->flush);
}

void vn_gw_flush(struct vn_gw *gw)
{
    if (!gw->ntx || gw->sw->depth)
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

int vn_gw_send_udp4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, const void *data, size_t len)
{
    if (len > 65535 - 28)
        return -1;
    size_t l4 = 8 + len;
    uint8_t h[8], s[4], d[4];
    vn_put_be16(h, sport);
    vn_put_be16(h + 2, dport);
    vn_put_be16(h + 4, (uint16_t)l4);
    vn_put_be16(h + 6, 0);
    vn_put_be32(s, src);
    vn_put_be32(d, dst);
    uint32_t sum = vn_csum_add(vn_csum_pseudo4(s, d, VN_IPPROTO_UDP, (uint32_t)l4), h, 8);
    uint16_t c = vn_csum_fold(vn_csum_add(sum, data, len));
    vn_put_be16(h + 6, c ? c : 0xffff);
    return vn_gw_send_ip4(gw, dmac, src, dst, VN_IPPROTO_UDP, h, data, len);
}

int vn_gw_send_ip4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint32_t dst,
                   uint8_t proto, const uint8_t h[8], const void *data, size_t len)
{
    if (len > 65535 - 28)
        return -1;
    size_t l4 = 8 + len;
    /* Larger than the MTU: IPv4 fragments (the guest reassembles). */
    size_t per = 20 + l4 <= gw->mtu ? l4 : (size_t)((gw->mtu - 20) / 8 * 8);
    size_t nfrag = (l4 + per - 1) / per;
    if (nfrag > 1 && nfrag * (VN_ETH_HLEN + 20 + per) > VN_GW_ARENA / 4)
        return -1;
    uint16_t id = gw->ip_id++;
    if (nfrag > 1)
        gw->stats.fragmented++;
    for (size_t off = 0; off < l4; off += per) {
        size_t n = VN_MIN(per, l4 - off);
        uint8_t *f = vn_gw_frame_alloc(gw, VN_ETH_HLEN + 20 + n);
        if (!f)
            return -1;
        uint8_t *p = vn_gw_ip4_header(gw, f, dmac, src, dst, proto, n);
        if (nfrag > 1) {
            uint8_t *ip = f + VN_ETH_HLEN;
            vn_put_be16(ip + 4, id);
            vn_put_be16(ip + 6, (uint16_t)((off + n < l4 ? 0x2000 : 0) | (off / 8)));
            vn_put_be16(ip + 10, 0);
            vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
        }
        copy_span(p, h, data, off, n);
        vn_gw_frame_commit(gw, VN_ETH_HLEN + 20 + n, NULL);
    }
    return 0;
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
    memcpy(ic + 8, orig, quote);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(0, ic, 8 + quote)));
    vn_gw_frame_commit(gw, total, NULL);
    gw->stats.icmp_errors_sent++;
}

/* ---- neighbour table (open addressing with linear probing; when full, the
 * entry seen longest ago makes room, so addresses a guest invents cannot
 * lock out the others) ---- */

#define NEIGH_MASK (VN_GW_NEIGH_MAX * 2 - 1)

static uint32_t neigh_home(uint32_t ip)
{
    return (uint32_t)vn_hash_u64(ip) & NEIGH_MASK;
}

static uint32_t neigh_slot(const struct vn_gw *gw, uint32_t ip)
{
    uint32_t i = neigh_home(ip);
    while (gw->neigh[i].ip && gw->neigh[i].ip != ip)
        i = (i + 1) & NEIGH_MASK;
    return i;
}

/* Remove the entry in slot i, shifting later entries of its probe run back
 * (so lookups never stop at a hole that was not there when they were put). */
static void neigh_delete(struct vn_gw *gw, uint32_t i)
{
    for (uint32_t j = (i + 1) & NEIGH_MASK; gw->neigh[j].ip; j = (j + 1) & NEIGH_MASK) {
        uint32_t k = neigh_home(gw->neigh[j].ip);
        /* j may move to i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            gw->neigh[i] = gw->neigh[j];
            i = j;
        }
    }
    gw->neigh[i].ip = 0;
    gw->nneigh--;
}

/* Evict the entry seen longest ago. */
static void neigh_evict_oldest(struct vn_gw *gw)
{
    uint32_t best = UINT32_MAX;
    for (uint32_t i = 0; i <= NEIGH_MASK; i++)
        if (gw->neigh[i].ip && (best == UINT32_MAX || gw->neigh[i].seen_s < gw->neigh[best].seen_s))
            best = i;
    if (best != UINT32_MAX)
        neigh_delete(gw, best);
}

/* Set ip -> mac; unless force, an entry of another MAC refreshed within
 * VN_CONFLICT_RECENT_S stays. */
static void neigh_set(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6], bool force)
{
    if (!vn_gw_in_subnet(gw, ip) || vn_gw_owns(gw, ip) || ip == gw->subnet || ip == gw->bcast)
        return;
    struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    if (n->ip && !force && memcmp(n->mac, mac, 6) &&
        gw->sw->now_s - n->seen_s < VN_CONFLICT_RECENT_S) {
        gw->stats.neigh_kept++;
        return;
    }
    if (!n->ip) {
        if (gw->nneigh >= VN_GW_NEIGH_MAX) {
            gw->stats.neigh_full++;
            neigh_evict_oldest(gw);
            n = &gw->neigh[neigh_slot(gw, ip)];
        }
        gw->nneigh++;
        n->ip = ip;
    }
    memcpy(n->mac, mac, 6);
    n->seen_s = gw->sw->now_s;
}

void vn_gw_neigh_learn(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6])
{
    neigh_set(gw, ip, mac, true);
}

void vn_gw_neigh_observe(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6])
{
    neigh_set(gw, ip, mac, false);
}

const struct vn_neigh *vn_gw_neigh_peek(struct vn_gw *gw, uint32_t ip)
{
    const struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    return n->ip ? n : NULL;
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

const uint8_t *vn_gw_neigh_lookup(struct vn_gw *gw, uint32_t ip)
{
    struct vn_neigh *n = &gw->neigh[neigh_slot(gw, ip)];
    if (n->ip)
        return n->mac;
    if (gw->dhcp) {
        uint8_t mac[6];
        if (vn_dhcp4_lookup_mac(gw->dhcp, ip, mac) == 0) {
            vn_gw_neigh_learn(gw, ip, mac);
            n = &gw->neigh[neigh_slot(gw, ip)];
            if (n->ip)
                return n->mac;
        }
    }
    if (vn_gw_in_subnet(gw, ip))
        arp_request(gw, ip);
    return NULL;
}

void vn_gw_l3_init(struct vn_gw *gw)
{
    gw->flush.cb = flush_deferred;
}
