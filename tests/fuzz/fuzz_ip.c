/* Fuzz target: IPv4, IPv6, TCP, UDP and ICMP header parsing (pkt/ip.c),
 * IPv4 and IPv6 reassembly (gw/reasm.c) and the software offload fallbacks
 * (pkt/gso.c).
 *
 * * IPv6: vn_ip6_parse's verdict and every field it fills are compared with
 *   an independent walk of the extension-header chain written from RFC 8200
 *   4.1 (hop-by-hop only first, at most VN_IP6_EXT_MAX headers, each inside
 *   the payload, one fragment header, a non-first fragment ends the walk);
 *   offsets stay in the packet, the upper-layer header ends where the
 *   payload does, the fragment fields are the fragment header's, and fewer
 *   bytes than the payload length must be refused as short.
 * * Reassembly: before each fragment the slot of its datagram (the key
 *   reasm.c uses, expired slots excluded) is copied, so the result can be
 *   checked against it: invalid fragments refused; an IPv6 fragment that
 *   overlaps one already there, that ends past the length the last fragment
 *   fixed, or a last fragment that would leave received data past the end,
 *   drops the whole datagram (RFC 5722, RFC 8200 4.5); an accepted fragment
 *   is in the slot (bitmap and bytes); a completed datagram is one packet of
 *   exactly the unfragmentable part of the first fragment plus the data (at
 *   most 65535 bytes), its bytes those of the fragments; no two slots hold
 *   the same datagram. IPv4 and IPv6 share the table as in the gateway.
 * * Fairness: each fragment comes from one of eight guests (its source
 *   address's last byte & 7 stands for the switch port) and the guest is
 *   part of the key. No guest ever holds more than its share of slots; a
 *   new datagram takes another guest's slot only when every slot was busy,
 *   its guest was below its share and held fewer slots than the victim's,
 *   the victim's guest held the most, and the slot was the oldest of such
 *   guests' (at most one slot per fragment).
 *
 * Input: byte 0: bit 0 checks IPv4 header checksums, bit 1 selects
 * reassembly, bits 2-7 the clock step between fragments (x100 ms; slots
 * expire after 5 s); bytes 1..8 offload metadata (virtio-net style) for a
 * GSO/checksum attempt on the frame Ethernet + packet; the rest is one
 * packet (IPv4 or IPv6 by its version), or several fragments each preceded
 * by a 2-byte little-endian length when reassembling. The table starts
 * empty for every input. */
#include "gw/reasm.h"
#include "pkt/eth.h"
#include "pkt/gso.h"
#include "pkt/ip.h"

#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vn_reasm reasm;
static uint8_t *segbuf;
static struct vn_frame segs[256];

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz_ip: %s:%d: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Read every byte of an upper-layer header the parsers accept. */
static void parse_l4(uint8_t proto, const uint8_t *l4, size_t len)
{
    struct vn_tcp t;
    struct vn_udp u;
    struct vn_icmp ic;
    volatile uint8_t sink = 0;
    switch (proto) {
    case VN_IPPROTO_TCP:
        if (vn_tcp_parse(l4, len, &t) == 0) {
            CHECK(t.hlen <= len && t.data + t.dlen == l4 + len);
            for (size_t i = 0; i < t.dlen; i++)
                sink ^= t.data[i];
        }
        break;
    case VN_IPPROTO_UDP:
        if (vn_udp_parse(l4, len, &u) == 0) {
            CHECK(u.len <= len && u.data + u.dlen <= l4 + len);
            for (size_t i = 0; i < u.dlen; i++)
                sink ^= u.data[i];
        }
        break;
    case VN_IPPROTO_ICMP:
    case VN_IPPROTO_ICMPV6:
        if (vn_icmp_parse(l4, len, &ic) == 0) {
            CHECK(ic.data + ic.dlen == l4 + len);
            for (size_t i = 0; i < ic.dlen; i++)
                sink ^= ic.data[i];
        }
        break;
    }
    (void)sink;
}

static void parse_l4_4(const struct vn_ip4 *ip)
{
    if (!ip->frag_off && !ip->mf)
        parse_l4(ip->proto, ip->l4, ip->l4_len);
}

/* ---- IPv6: the parser against a reference walk ---- */

struct ref6 {
    enum vn_ip_err err;
    uint8_t proto;
    size_t off, end;      /* upper layer starts at off; the packet ends at end */
    bool hbh, frag;
    uint16_t fo;          /* the fragment header's offset/flags field */
    uint32_t id;
    size_t unfrag, frag_nh;
};

static bool walked(uint8_t nh)
{
    return nh == VN_IPPROTO_HOPOPTS || nh == VN_IPPROTO_ROUTING || nh == VN_IPPROTO_FRAGMENT ||
           nh == VN_IPPROTO_DSTOPTS;
}

/* RFC 8200 4.1 as vnet applies it (see ip.h), written out again. */
static struct ref6 ref_walk(const uint8_t *p, size_t len)
{
    struct ref6 r = { .err = VN_IP_OK };
    if (len < 40)
        return (struct ref6){ .err = VN_IP_SHORT };
    if (p[0] >> 4 != 6)
        return (struct ref6){ .err = VN_IP_VERSION };
    size_t plen = (size_t)p[4] << 8 | p[5];
    if (!plen && p[6] == VN_IPPROTO_HOPOPTS)
        return (struct ref6){ .err = VN_IP_EXTHDR };
    if (40 + plen > len)
        return (struct ref6){ .err = VN_IP_SHORT };
    r.end = 40 + plen;
    size_t off = 40, nhpos = 6;
    uint8_t nh = p[6];
    for (unsigned count = 0; walked(nh); count++) {
        if (count >= VN_IP6_EXT_MAX || (nh == VN_IPPROTO_HOPOPTS && count > 0) ||
            off + 8 > r.end)
            return (struct ref6){ .err = VN_IP_EXTHDR };
        if (nh == VN_IPPROTO_FRAGMENT) {
            if (r.frag)
                return (struct ref6){ .err = VN_IP_EXTHDR };
            r.frag = true;
            r.fo = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
            r.id = (uint32_t)p[off + 4] << 24 | (uint32_t)p[off + 5] << 16 |
                   (uint32_t)p[off + 6] << 8 | p[off + 7];
            r.unfrag = off;
            r.frag_nh = nhpos;
            nhpos = off;
            nh = p[off];
            off += 8;
            if (r.fo >> 3)
                break;
            continue;
        }
        size_t el = 8 * ((size_t)p[off + 1] + 1);
        if (off + el > r.end)
            return (struct ref6){ .err = VN_IP_EXTHDR };
        r.hbh |= nh == VN_IPPROTO_HOPOPTS;
        nhpos = off;
        nh = p[off];
        off += el;
    }
    r.proto = nh;
    r.off = off;
    return r;
}

/* What any successful parse of p (len bytes) must hold. */
static void check6(const uint8_t *p, size_t len, const struct vn_ip6 *ip)
{
    CHECK(ip->hdr == p && ip->tot_len >= 40 && ip->tot_len <= len);
    CHECK(ip->tot_len == 40 + ((size_t)p[4] << 8 | p[5]));
    CHECK(ip->l4 == p + 40 + ip->ext_len && ip->l4 + ip->l4_len == p + ip->tot_len);
    CHECK(!ip->hbh || p[6] == VN_IPPROTO_HOPOPTS);
    CHECK(!memcmp(ip->src, p + 8, 16) && !memcmp(ip->dst, p + 24, 16) && ip->hlim == p[7]);
    if (ip->frag) {
        /* the fragment header lies after the unfragmentable part, whose
         * last next-header field names it */
        CHECK(ip->unfrag_len >= 40 && ip->unfrag_len + 8u <= ip->tot_len);
        CHECK(ip->frag_nh_off < ip->unfrag_len && p[ip->frag_nh_off] == VN_IPPROTO_FRAGMENT);
        uint16_t fo = (uint16_t)(p[ip->unfrag_len + 2] << 8 | p[ip->unfrag_len + 3]);
        CHECK(ip->frag_off == fo >> 3 && ip->mf == (fo & 1));
        CHECK(ip->l4 >= p + ip->unfrag_len + 8);
        if (ip->frag_off)
            CHECK(ip->l4 == p + ip->unfrag_len + 8 && ip->proto == p[ip->unfrag_len]);
    } else {
        CHECK(!ip->frag_off && !ip->mf && !ip->unfrag_len);
    }
    if (!ip->frag || !ip->frag_off)
        CHECK(!walked(ip->proto));
    struct vn_ipp pp;
    vn_ipp_from6(ip, &pp);
    CHECK(pp.family == AF_INET6 && pp.len == ip->tot_len && pp.l4 == ip->l4 &&
          pp.l4_len == ip->l4_len && pp.frag == ip->frag && pp.proto == ip->proto);
}

/* Parse p as IPv6 and compare with the reference walk; returns the verdict. */
static enum vn_ip_err parse6(const uint8_t *p, size_t len, struct vn_ip6 *ip)
{
    enum vn_ip_err e = vn_ip6_parse(p, len, ip);
    struct ref6 r = ref_walk(p, len);
    if (e != r.err) {
        fprintf(stderr, "fuzz_ip: vn_ip6_parse says %d, the reference walk %d\n", e, r.err);
        abort();
    }
    if (e != VN_IP_OK)
        return e;
    check6(p, len, ip);
    CHECK(ip->proto == r.proto && ip->l4 == p + r.off && ip->tot_len == r.end);
    CHECK(ip->hbh == r.hbh && ip->frag == r.frag);
    if (r.frag)
        CHECK(ip->unfrag_len == r.unfrag && ip->frag_nh_off == r.frag_nh &&
              ip->frag_id == r.id && ip->frag_off == r.fo >> 3 && ip->mf == (r.fo & 1));
    return e;
}

/* ---- reassembly against its slots ---- */

/* The slot of owner's datagram as slot_for() would find it at now
 * (expired ones are not), or NULL. */
static const struct vn_reasm_slot *find_slot(uint16_t owner, uint8_t family, const uint8_t *src,
                                             const uint8_t *dst, uint32_t id, uint8_t proto,
                                             uint64_t now)
{
    size_t alen = family == AF_INET6 ? 16 : 4;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        const struct vn_reasm_slot *s = &reasm.slot[i];
        if (s->used && now - s->first_ms <= VN_REASM_TIMEOUT_MS && s->owner == owner &&
            s->family == family &&
            !memcmp(s->src, src, alen) && !memcmp(s->dst, dst, alen) && s->id == id &&
            s->proto == proto)
            return s;
    }
    return NULL;
}

static bool has_block(const struct vn_reasm_slot *s, uint32_t b)
{
    return s->blocks[b / 8] >> (b % 8) & 1;
}

/* Whether blocks [from, to) hold any received block. */
static bool any_block(const struct vn_reasm_slot *s, uint32_t from, uint32_t to)
{
    for (uint32_t b = from; b < to && b < 8192; b++)
        if (has_block(s, b))
            return true;
    return false;
}

/* The table never holds one datagram of a guest twice. */
static void check_table(void)
{
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        for (int j = 0; j < i; j++) {
            const struct vn_reasm_slot *a = &reasm.slot[i], *b = &reasm.slot[j];
            CHECK(!(a->used && b->used && a->owner == b->owner && a->family == b->family &&
                    a->id == b->id && a->proto == b->proto && !memcmp(a->src, b->src, 16) &&
                    !memcmp(a->dst, b->dst, 16)));
        }
}

/* The table's occupancy before a fragment: which slots hold a live
 * datagram of whom since when. */
static struct {
    bool live[VN_REASM_SLOTS];
    uint16_t owner[VN_REASM_SLOTS];
    uint64_t first_ms[VN_REASM_SLOTS];
} occ;

static void take_occupancy(uint64_t now)
{
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        const struct vn_reasm_slot *s = &reasm.slot[i];
        occ.live[i] = s->used && now - s->first_ms <= VN_REASM_TIMEOUT_MS;
        occ.owner[i] = s->owner;
        occ.first_ms[i] = s->first_ms;
    }
}

static unsigned occ_held(uint16_t owner)
{
    unsigned n = 0;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        n += occ.live[i] && occ.owner[i] == owner;
    return n;
}

/* After owner's fragment: no guest over its share, and another guest's
 * datagram gone only as the fairness rules allow (see the top). */
static void check_fair(uint16_t owner)
{
    unsigned held[8] = { 0 };
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        if (reasm.slot[i].used)
            held[reasm.slot[i].owner & 7]++;
    for (int o = 0; o < 8; o++)
        CHECK(held[o] <= VN_REASM_SHARE);
    int lost = -1;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        const struct vn_reasm_slot *s = &reasm.slot[i];
        if (!occ.live[i] || occ.owner[i] == owner)
            continue;
        if (s->used && s->owner == occ.owner[i] && s->first_ms == occ.first_ms[i])
            continue; /* still there */
        CHECK(lost < 0); /* one slot at most */
        lost = i;
    }
    if (lost < 0)
        return;
    unsigned most = 0, mine = occ_held(owner);
    uint64_t oldest = UINT64_MAX;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        CHECK(occ.live[i]); /* every slot was busy */
        most = occ_held(occ.owner[i]) > most ? occ_held(occ.owner[i]) : most;
    }
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        if (occ_held(occ.owner[i]) == most && occ.first_ms[i] < oldest)
            oldest = occ.first_ms[i];
    CHECK(mine < VN_REASM_SHARE && mine < most);
    CHECK(occ_held(occ.owner[lost]) == most && occ.first_ms[lost] == oldest);
}

static struct vn_reasm_slot before; /* the datagram's slot before the fragment */

static void frag6(const struct vn_ip6 *ip, uint64_t now)
{
    uint16_t owner = ip->src[15] & 7;
    const uint8_t *data = ip->hdr + ip->unfrag_len + 8;
    uint32_t off = (uint32_t)ip->frag_off * 8;
    uint32_t len = (uint32_t)(ip->tot_len - ip->unfrag_len - 8);
    uint8_t next = ip->hdr[ip->unfrag_len];
    bool invalid = (ip->mf && (len == 0 || len % 8)) || ip->unfrag_len > VN_REASM_HDR_MAX ||
                   off + len > 65535u - ip->unfrag_len;
    const struct vn_reasm_slot *s =
        find_slot(owner, AF_INET6, ip->src, ip->dst, ip->frag_id, next, now);
    bool had = s != NULL;
    take_occupancy(now);
    if (had)
        memcpy(&before, s, sizeof before);
    uint32_t end_blk = (off + len + 7) / 8;
    bool drop = had && ((before.total && (off + len > before.total ||
                                          (!ip->mf && off + len != before.total))) ||
                        any_block(&before, off / 8, end_blk) ||
                        (!ip->mf && any_block(&before, end_blk, 8192)));
    struct vn_ip6 whole;
    int rc = vn_reasm_add6_from(&reasm, owner, ip, now, &whole);
    check_table();
    check_fair(owner);
    if (invalid) {
        CHECK(rc == -1);
        return;
    }
    if (drop) { /* the whole datagram goes */
        CHECK(rc == -1 && !find_slot(owner, AF_INET6, ip->src, ip->dst, ip->frag_id, next, now));
        return;
    }
    if (rc == 0) {
        s = find_slot(owner, AF_INET6, ip->src, ip->dst, ip->frag_id, next, now);
        CHECK(s && !memcmp(s->data + off, data, len));
        for (uint32_t b = off / 8; b < end_blk; b++)
            CHECK(has_block(s, b));
        return;
    }
    uint32_t ihl = off == 0 ? ip->unfrag_len : (had ? before.ihl : 0);
    uint32_t total = !ip->mf ? off + len : (had ? before.total : 0);
    CHECK(ihl && total); /* complete only with the first and the last fragment */
    if (rc == -1) /* complete but too long, or its header chain is bad */
        return;
    CHECK(ihl + total <= 65535 && whole.hdr == reasm.out && whole.tot_len == ihl + total);
    CHECK(!whole.frag && !memcmp(reasm.out + ihl + off, data, len));
    if (had)
        for (uint32_t b = 0; b < (total + 7) / 8; b++)
            if (b < off / 8 || b >= end_blk) { /* the other fragments' bytes */
                uint32_t n = b * 8 + 8 <= total ? 8 : total - b * 8;
                CHECK(!memcmp(reasm.out + ihl + b * 8, before.data + b * 8, n));
            }
    if (off != 0 && had)
        CHECK(!memcmp(reasm.out + 8, before.hdr + 8, 32)); /* addresses of the first */
    check6(reasm.out, whole.tot_len, &whole);
    parse_l4(whole.proto, whole.l4, whole.l4_len);
}

static void frag4(const struct vn_ip4 *ip, uint64_t now)
{
    uint32_t off = (uint32_t)ip->frag_off * 8, len = ip->l4_len;
    bool invalid = (ip->mf && (len == 0 || len % 8)) || off + len > 65535u - ip->ihl;
    uint8_t sa[4] = { (uint8_t)(ip->src >> 24), (uint8_t)(ip->src >> 16), (uint8_t)(ip->src >> 8),
                      (uint8_t)ip->src };
    uint8_t da[4] = { (uint8_t)(ip->dst >> 24), (uint8_t)(ip->dst >> 16), (uint8_t)(ip->dst >> 8),
                      (uint8_t)ip->dst };
    uint16_t owner = ip->src & 7;
    const struct vn_reasm_slot *s = find_slot(owner, AF_INET, sa, da, ip->id, ip->proto, now);
    bool had = s != NULL;
    if (had)
        memcpy(&before, s, sizeof before);
    take_occupancy(now);
    uint32_t end_blk = (off + len + 7) / 8;
    bool drop = had && ((before.total && (off + len > before.total ||
                                          (!ip->mf && off + len != before.total))) ||
                        (!ip->mf && any_block(&before, end_blk, 8192)));
    struct vn_ip4 whole;
    int rc = vn_reasm_add_from(&reasm, owner, ip, now, &whole);
    check_table();
    check_fair(owner);
    if (invalid) {
        CHECK(rc == -1);
        return;
    }
    if (drop) { /* inconsistent with what came before: the whole datagram goes */
        CHECK(rc == -1 && !find_slot(owner, AF_INET, sa, da, ip->id, ip->proto, now));
        return;
    }
    if (rc == 0) {
        s = find_slot(owner, AF_INET, sa, da, ip->id, ip->proto, now);
        CHECK(s && !memcmp(s->data + off, ip->l4, len));
        return;
    }
    uint32_t ihl = off == 0 ? ip->ihl : (had ? before.ihl : 0);
    uint32_t total = !ip->mf ? off + len : (had ? before.total : 0);
    CHECK(ihl && total);
    if (rc == -1)
        return;
    CHECK(ihl + total <= 65535 && whole.hdr == reasm.out && whole.tot_len == ihl + total &&
          whole.ihl == ihl && !whole.mf && !whole.frag_off);
    CHECK(!memcmp(reasm.out + ihl + off, ip->l4, len));
    parse_l4_4(&whole);
}

/* ---- offloads ---- */

/* Ethernet + packet with fuzzed offload metadata through the GSO paths
 * (TCPv4 or TCPv6 as the packet's version says, or the other one when
 * meta[1] bit 1 is set). */
static void offloads(const uint8_t *meta, const uint8_t *pkt, size_t len)
{
    if (len > 65535)
        return;
    uint8_t *f = malloc(14 + len);
    if (!f)
        return;
    bool v6 = len && pkt[0] >> 4 == 6;
    static const uint8_t hdr[12] = { 0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1 };
    memcpy(f, hdr, 12);
    vn_put_be16(f + 12, v6 ? VN_ETH_TYPE_IPV6 : VN_ETH_TYPE_IPV4);
    memcpy(f + 14, pkt, len);
    struct vn_frame fr = { .data = f, .len = (uint32_t)(14 + len) };
    fr.off.flags = meta[0] & 3;
    bool as6 = v6 ^ ((meta[1] >> 1) & 1);
    fr.off.gso_type = !(meta[1] & 1) ? VIRTIO_NET_HDR_GSO_NONE
                      : as6          ? VIRTIO_NET_HDR_GSO_TCPV6
                                     : VIRTIO_NET_HDR_GSO_TCPV4;
    fr.off.hdr_len = (uint16_t)(meta[2] | meta[3] << 8);
    fr.off.gso_size = (uint16_t)(meta[4] | meta[5] << 8);
    fr.off.csum_start = (uint16_t)(meta[6] | (meta[7] & 1) << 8);
    fr.off.csum_offset = (meta[7] >> 1) & 31;
    if (fr.off.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        int hl = vn_gso_hdr_len(&fr);
        if (hl >= 0) {
            int n = vn_gso_segment(&fr, segbuf, 256 * 1024, segs, 256);
            for (int i = 0; i < n; i++) /* every segment: the headers and at most gso_size */
                CHECK(segs[i].len >= (uint32_t)hl && segs[i].len - (uint32_t)hl <= fr.off.gso_size);
        }
    } else {
        vn_csum_complete(&fr);
    }
    free(f);
}

/* ---- one packet ---- */

static void one_packet(uint8_t mode, const uint8_t *p, size_t size)
{
    if (size && p[0] >> 4 == 6) {
        struct vn_ip6 ip;
        if (parse6(p, size, &ip) == VN_IP_OK) {
            if (!ip.frag || !ip.frag_off)
                parse_l4(ip.proto, ip.l4, ip.l4_len);
            /* the same bytes cut before the end of the payload are short */
            struct vn_ip6 cut;
            CHECK(vn_ip6_parse(p, ip.tot_len - 1u, &cut) == VN_IP_SHORT);
        }
        return;
    }
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(p, size, mode & 1, &ip) == VN_IP_OK) {
        CHECK(ip.ihl >= 20 && ip.tot_len <= size && ip.l4 + ip.l4_len == p + ip.tot_len);
        parse_l4_4(&ip);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!segbuf) {
        if (vn_reasm_init(&reasm) || !(segbuf = malloc(256 * 1024)))
            abort();
    }
    if (size < 9 || size > 200000)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *meta = data + 1;
    data += 9;
    size -= 9;
    if (!(mode & 2)) {
        uint8_t *p = malloc(size ? size : 1); /* exact size: over-reads are caught */
        memcpy(p, data, size);
        one_packet(mode, p, size);
        offloads(meta, p, size);
        free(p);
        return 0;
    }
    /* Fragments into an empty table, the clock advancing. */
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        reasm.slot[i].used = false;
    uint64_t now = 1000000;
    while (size >= 2) {
        size_t l = (size_t)(data[0] | data[1] << 8);
        data += 2;
        size -= 2;
        if (l > size)
            l = size;
        uint8_t *p = malloc(l ? l : 1);
        memcpy(p, data, l);
        data += l;
        size -= l;
        now += (uint64_t)(mode >> 2) * 100;
        if (l && p[0] >> 4 == 6) {
            struct vn_ip6 ip;
            if (parse6(p, l, &ip) == VN_IP_OK && ip.frag)
                frag6(&ip, now);
        } else {
            struct vn_ip4 ip;
            if (vn_ip4_parse_hdr(p, l, false, &ip) == VN_IP_OK && (ip.mf || ip.frag_off))
                frag4(&ip, now);
        }
        free(p);
    }
    return 0;
}
