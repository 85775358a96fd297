/* Coalescing of inner TCP segments: see vxlan_gro.h for the rules. */
#include "vxlan_gro.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80
#define IP_MAX 65535u

/* One TCP segment as a candidate: where its parts are. */
struct seg {
    bool v4;
    uint32_t l4, hlen, plen; /* TCP header and payload offsets, payload bytes */
    uint32_t seq;
    uint16_t id;             /* IPv4 identification */
    uint8_t flags;
};

/* The frame being grown. */
struct head {
    bool active, closed, verified;
    unsigned idx;            /* in the output array */
    uint8_t *limit;          /* free up to here behind it (NULL: no room) */
    const uint8_t *tail;     /* where the last frame moved in place ended as it
                              * arrived (NULL after a copy from another buffer) */
    struct seg s;            /* its first segment */
    uint32_t mss, next_seq, nseg;
    uint16_t next_id;
};

/* Whether d (len bytes) is a TCP segment that may take part; fills s. */
static bool parse(const uint8_t *d, uint32_t len, struct seg *s)
{
    if (len < VN_ETH_HLEN + 40)
        return false;
    const uint8_t *ip = d + VN_ETH_HLEN;
    uint16_t et = vn_get_be16(d + 12);
    if (et == VN_ETH_TYPE_IPV4) {
        /* IPv4 without options, DF and no fragment, TCP, a valid header
         * checksum, exactly the frame's length (no Ethernet padding). */
        if (ip[0] != 0x45 || vn_get_be16(ip + 2) != len - VN_ETH_HLEN ||
            vn_get_be16(ip + 6) != 0x4000 || ip[9] != 6 || vn_csum_fold(vn_csum_add(0, ip, 20)))
            return false;
        s->v4 = true;
        s->l4 = VN_ETH_HLEN + 20;
        s->id = vn_get_be16(ip + 4);
    } else if (et == VN_ETH_TYPE_IPV6) {
        if ((ip[0] >> 4) != 6 || len < VN_ETH_HLEN + 60 ||
            vn_get_be16(ip + 4) != len - VN_ETH_HLEN - 40 || ip[6] != 6)
            return false;
        s->v4 = false;
        s->l4 = VN_ETH_HLEN + 40;
        s->id = 0;
    } else {
        return false;
    }
    const uint8_t *tcp = d + s->l4;
    uint32_t thl = (uint32_t)(tcp[12] >> 4) * 4;
    if (thl < 20 || len < s->l4 + thl)
        return false;
    s->hlen = s->l4 + thl;
    s->plen = len - s->hlen;
    s->seq = vn_get_be32(tcp + 4);
    s->flags = tcp[13];
    /* Data with ACK; nothing that must be seen on its own. */
    return s->plen && (s->flags & TCP_ACK) &&
           !(s->flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_URG));
}

/* The pseudo-header and TCP header sum of segment d (parsed as s). */
static uint32_t hdr_sum(const uint8_t *d, const struct seg *s)
{
    const uint8_t *ip = d + VN_ETH_HLEN;
    uint32_t l4len = s->hlen - s->l4 + s->plen;
    uint32_t ps = s->v4 ? vn_csum_pseudo4(ip + 12, ip + 16, 6, l4len)
                        : vn_csum_pseudo6(ip + 8, ip + 24, 6, l4len);
    return vn_csum_add(ps, d + s->l4, s->hlen - s->l4); /* a multiple of 4 bytes */
}

/* Whether the TCP checksum of segment d (parsed as s) is right. */
static bool tcp_csum_ok(const uint8_t *d, const struct seg *s)
{
    return vn_csum_fold(vn_csum_add(hdr_sum(d, s), d + s->hlen, s->plen)) == 0;
}

/* Where the free space behind frame i of the input ends (NULL: none). */
static uint8_t *limit_of(const struct vn_frame *f, const uint32_t *room, unsigned i)
{
    return room && room[i] ? f->data + f->len + room[i] : NULL;
}

/* Start growing frame f (index i of the output) if it may; lim: where
 * the free space behind it ends. */
static void start(struct head *h, const struct vn_frame *f, unsigned i, uint8_t *lim)
{
    h->active = parse(f->data, f->len, &h->s);
    if (!h->active)
        return;
    h->idx = i;
    h->limit = lim;
    h->tail = f->data + f->len;
    h->closed = (h->s.flags & TCP_PSH) != 0;
    h->verified = false;
    h->mss = h->s.plen;
    h->next_seq = h->s.seq + h->s.plen;
    h->next_id = (uint16_t)(h->s.id + 1);
    h->nseg = 1;
}

/* Append segment c to frame f (the head) if the rules allow; true if done.
 * next_to: c follows f in its buffer (else its payload is copied into the
 * free space behind f, if there is enough). */
static bool merge(struct head *h, struct vn_frame *f, const struct vn_frame *c, bool next_to)
{
    struct seg s;
    if (h->closed || !parse(c->data, c->len, &s) || s.v4 != h->s.v4 ||
        s.hlen != h->s.hlen || s.seq != h->next_seq || s.plen > h->mss ||
        (s.flags & (uint8_t)~TCP_PSH) != (h->s.flags & (uint8_t)~(TCP_PSH | TCP_CWR)) ||
        f->len + s.plen - VN_ETH_HLEN > IP_MAX)
        return false;
    if (!next_to && (!h->limit || (size_t)(h->limit - (f->data + f->len)) < s.plen))
        return false;
    const uint8_t *a = f->data, *b = c->data;
    const uint8_t *ia = a + VN_ETH_HLEN, *ib = b + VN_ETH_HLEN;
    if (memcmp(a, b, VN_ETH_HLEN))
        return false;
    if (s.v4 ? (ia[1] != ib[1] || ia[8] != ib[8] || memcmp(ia + 12, ib + 12, 8) ||
                s.id != h->next_id)
             : (memcmp(ia, ib, 4) || ia[7] != ib[7] || memcmp(ia + 8, ib + 8, 32)))
        return false;
    const uint8_t *ta = a + s.l4, *tb = b + s.l4;
    /* ports, ACK, data offset, window, urgent pointer, options */
    if (memcmp(ta, tb, 4) || memcmp(ta + 8, tb + 8, 5) || memcmp(ta + 14, tb + 14, 2) ||
        memcmp(ta + 18, tb + 18, s.hlen - s.l4 - 18))
        return false;
    if (!h->verified) {
        h->verified = true;
        if (!tcp_csum_ok(a, &h->s)) {
            h->closed = true; /* passed on as it came */
            return false;
        }
    }
    /* Move the payload up behind the frame, summing it on the way; the
     * move may overwrite the segment's own headers, so a damaged segment
     * (rare) gets its payload moved back and its headers restored, and is
     * passed on alone (a copy from another buffer leaves it as it was). */
    uint8_t *dst = f->data + f->len, saved[VN_ETH_HLEN + 60 + 60];
    uint32_t hs = hdr_sum(b, &s);
    memcpy(saved, b, s.hlen);
    if (vn_csum_fold(vn_csum_copy(dst, b + s.hlen, s.plen, hs))) {
        memmove(c->data + s.hlen, dst, s.plen);
        memcpy(c->data, saved, s.hlen);
        return false;
    }
    f->len += s.plen;
    f->data[s.l4 + 13] |= s.flags & TCP_PSH;
    h->next_seq += s.plen;
    h->next_id++;
    h->nseg++;
    h->closed = (s.flags & TCP_PSH) || s.plen < h->mss;
    return true;
}

/* Give frame f, grown from several segments, its final headers and offloads. */
static void finish(struct head *h, struct vn_frame *f)
{
    if (!h->active || h->nseg < 2)
        return;
    uint8_t *ip = f->data + VN_ETH_HLEN, *tcp = f->data + h->s.l4;
    uint32_t l4len = f->len - h->s.l4;
    uint32_t ps;
    if (h->s.v4) {
        vn_put_be16(ip + 2, (uint16_t)(f->len - VN_ETH_HLEN));
        vn_put_be16(ip + 10, 0);
        vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
        ps = vn_csum_pseudo4(ip + 12, ip + 16, 6, l4len);
    } else {
        vn_put_be16(ip + 4, (uint16_t)(f->len - VN_ETH_HLEN - 40));
        ps = vn_csum_pseudo6(ip + 8, ip + 24, 6, l4len);
    }
    /* A partial checksum: the field holds the pseudo-header sum. */
    vn_put_be16(tcp + 16, (uint16_t)~vn_csum_fold(ps));
    f->off = (struct vn_offload){
        .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
        .gso_type = h->s.v4 ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_TCPV6,
        .hdr_len = (uint16_t)h->s.hlen,
        .gso_size = (uint16_t)h->mss,
        .csum_start = (uint16_t)h->s.l4,
        .csum_offset = 16,
    };
}

unsigned vn_vxlan_gro(struct vn_frame *f, unsigned n, unsigned gap, uint64_t *merged)
{
    return vn_vxlan_gro_room(f, n, gap, NULL, merged);
}

unsigned vn_vxlan_gro_room(struct vn_frame *f, unsigned n, unsigned gap, const uint32_t *room,
                           uint64_t *merged)
{
    struct head h = { 0 };
    unsigned out = 0;
    for (unsigned i = 0; i < n; i++) {
        struct vn_frame c = f[i];
        /* in place only right behind what the head last took in place */
        bool next_to = h.active && h.tail && c.data == h.tail + gap;
        if (h.active && c.port == f[h.idx].port && c.net == f[h.idx].net &&
            !c.off.gso_type && merge(&h, &f[h.idx], &c, next_to)) {
            /* behind the last of its buffer, the head owns the free space */
            if (next_to)
                h.limit = limit_of(&c, room, i);
            h.tail = next_to ? c.data + c.len : NULL;
            (*merged)++;
            continue;
        }
        if (h.active)
            finish(&h, &f[h.idx]);
        f[out] = c;
        start(&h, &f[out], out, limit_of(&c, room, i));
        out++;
    }
    if (h.active)
        finish(&h, &f[h.idx]);
    return out;
}
