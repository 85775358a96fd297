/* IPv4 and IPv6 reassembly: see reasm.h. */
#include "reasm.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <stdlib.h>
#include <string.h>

int vn_reasm_init(struct vn_reasm *r)
{
    memset(r, 0, sizeof *r);
    r->out = malloc(VN_REASM_HDR_MAX + 65536);
    if (!r->out)
        return -1;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        if (!(r->slot[i].data = malloc(65536)))
            return -1;
    return 0;
}

void vn_reasm_free(struct vn_reasm *r)
{
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        free(r->slot[i].data);
    free(r->out);
}

static bool have(const struct vn_reasm_slot *s, uint32_t blk)
{
    return s->blocks[blk / 8] >> (blk % 8) & 1;
}

/* Slots of owner in use (expired ones were freed by the caller's walk). */
static unsigned held_by(const struct vn_reasm *r, uint16_t owner)
{
    unsigned n = 0;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        n += r->slot[i].used && r->slot[i].owner == owner;
    return n;
}

/* The oldest datagram of owner (it holds at least one). */
static struct vn_reasm_slot *oldest_of(struct vn_reasm *r, uint16_t owner)
{
    struct vn_reasm_slot *o = NULL;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        struct vn_reasm_slot *s = &r->slot[i];
        if (s->used && s->owner == owner && (!o || s->first_ms < o->first_ms))
            o = s;
    }
    return o;
}

/* Every slot is busy and owner, below its share, starts a datagram: the
 * slot to give it. The oldest datagram of the guest holding the most
 * slots (the oldest of them when several hold as many), or owner's own
 * oldest when nobody holds more than owner does. */
static struct vn_reasm_slot *victim(struct vn_reasm *r, uint16_t owner, unsigned mine)
{
    struct vn_reasm_slot *v = NULL;
    unsigned most = 0;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        struct vn_reasm_slot *s = &r->slot[i];
        if (!s->used)
            continue;
        unsigned n = held_by(r, s->owner);
        if (n > most || (n == most && s->first_ms < v->first_ms)) {
            most = n;
            v = s;
        }
    }
    return most > mine ? v : oldest_of(r, owner);
}

/* Find owner's slot of this datagram (family, addresses, id, protocol), or
 * give it one: a free or expired slot while it holds less than its share,
 * else as the fairness rules of reasm.h say. */
static struct vn_reasm_slot *slot_for(struct vn_reasm *r, uint16_t owner, uint8_t family,
                                      const uint8_t *src, const uint8_t *dst, uint32_t id,
                                      uint8_t proto, uint64_t now)
{
    size_t alen = family == AF_INET6 ? 16 : 4;
    struct vn_reasm_slot *free_s = NULL;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        struct vn_reasm_slot *s = &r->slot[i];
        if (s->used && now - s->first_ms > VN_REASM_TIMEOUT_MS) {
            s->used = false;
            r->timeouts++;
        }
        if (s->used && s->owner == owner && s->family == family && !memcmp(s->src, src, alen) &&
            !memcmp(s->dst, dst, alen) && s->id == id && s->proto == proto)
            return s;
        if (!s->used && !free_s)
            free_s = s;
    }
    unsigned mine = held_by(r, owner);
    struct vn_reasm_slot *s = free_s;
    if (mine >= VN_REASM_SHARE) {
        s = oldest_of(r, owner); /* never another guest's */
        r->recycled_share++;
    } else if (!s) {
        s = victim(r, owner, mine);
        r->evicted++;
    }
    uint8_t *data = s->data;
    memset(s, 0, sizeof *s);
    s->data = data;
    s->used = true;
    s->owner = owner;
    s->family = family;
    memcpy(s->src, src, alen);
    memcpy(s->dst, dst, alen);
    s->id = id;
    s->proto = proto;
    s->first_ms = now;
    return s;
}

/* Mark blocks [off, off+len) received; returns false when one of them was
 * already there (an overlap). */
static bool mark(struct vn_reasm_slot *s, uint32_t off, uint32_t len)
{
    bool overlap = false;
    for (uint32_t b = off / 8; b < (off + len + 7) / 8; b++) {
        overlap |= have(s, b);
        s->blocks[b / 8] |= (uint8_t)(1u << (b % 8));
    }
    return !overlap;
}

/* Whether a block at or past byte end was received (data past the length
 * the last fragment fixes). */
static bool beyond(const struct vn_reasm_slot *s, uint32_t end)
{
    uint32_t b = (end + 7) / 8;
    for (; b % 8 && b < 8192; b++)
        if (have(s, b))
            return true;
    for (b /= 8; b < sizeof s->blocks; b++)
        if (s->blocks[b])
            return true;
    return false;
}

/* Whether every block up to the total length arrived. */
static bool complete(const struct vn_reasm_slot *s)
{
    if (!s->total || !s->ihl)
        return false;
    for (uint32_t b = 0; b < (s->total + 7) / 8; b++)
        if (!have(s, b))
            return false;
    return true;
}

int vn_reasm_add_from(struct vn_reasm *r, uint16_t owner, const struct vn_ip4 *ip,
                      uint64_t now_ms, struct vn_ip4 *whole)
{
    uint32_t off = (uint32_t)ip->frag_off * 8, len = ip->l4_len;
    if ((ip->mf && (len == 0 || len % 8)) || off + len > 65535u - ip->ihl) {
        r->bad++;
        return -1;
    }
    uint8_t sa[4], da[4];
    vn_put_be32(sa, ip->src);
    vn_put_be32(da, ip->dst);
    struct vn_reasm_slot *s = slot_for(r, owner, AF_INET, sa, da, ip->id, ip->proto, now_ms);
    /* Inconsistent: past the end the last fragment fixed, or a last
     * fragment ending elsewhere or before data already received: the whole
     * datagram goes. (Overlaps are allowed in IPv4: the later data wins.) */
    if ((s->total && (off + len > s->total || (!ip->mf && off + len != s->total))) ||
        (!ip->mf && beyond(s, off + len))) {
        s->used = false;
        r->bad++;
        return -1;
    }
    memcpy(s->data + off, ip->l4, len);
    mark(s, off, len);
    if (off == 0) {
        memcpy(s->hdr, ip->hdr, ip->ihl);
        s->ihl = ip->ihl;
    }
    if (!ip->mf)
        s->total = off + len;
    if (!complete(s))
        return 0;
    /* Complete: one unfragmented packet in r->out. */
    uint8_t *p = r->out;
    memcpy(p, s->hdr, s->ihl);
    vn_put_be16(p + 2, (uint16_t)(s->ihl + s->total));
    vn_put_be16(p + 6, 0);
    vn_put_be16(p + 10, 0);
    vn_put_be16(p + 10, vn_csum_ipv4_hdr(p, s->ihl));
    memcpy(p + s->ihl, s->data, s->total);
    s->used = false;
    r->completed++;
    return vn_ip4_parse_hdr(p, s->ihl + s->total, false, whole) == VN_IP_OK ? 1 : -1;
}

int vn_reasm_add6_from(struct vn_reasm *r, uint16_t owner, const struct vn_ip6 *ip,
                       uint64_t now_ms, struct vn_ip6 *whole)
{
    /* The fragmentable part starts right after the fragment header. */
    const uint8_t *data = ip->hdr + ip->unfrag_len + 8;
    uint32_t off = (uint32_t)ip->frag_off * 8;
    uint32_t len = (uint32_t)(ip->tot_len - ip->unfrag_len - 8);
    if (!ip->frag || (ip->mf && (len == 0 || len % 8)) || ip->unfrag_len > VN_REASM_HDR_MAX ||
        off + len > 65535u - ip->unfrag_len) {
        r->bad++;
        return -1;
    }
    /* The protocol of the key: the fragment header's next header, the same
     * in every fragment of a datagram. */
    uint8_t fnext = ip->hdr[ip->unfrag_len];
    struct vn_reasm_slot *s =
        slot_for(r, owner, AF_INET6, ip->src, ip->dst, ip->frag_id, fnext, now_ms);
    /* Inconsistent: past the end the last fragment fixed, or a last
     * fragment ending before data already received (RFC 8200 4.5). */
    bool inconsistent = (s->total && (off + len > s->total || (!ip->mf && off + len != s->total))) ||
                        (!ip->mf && beyond(s, off + len));
    if (inconsistent || !mark(s, off, len)) {
        s->used = false; /* overlapping or inconsistent: the whole datagram goes (RFC 5722) */
        r->bad++;
        r->overlaps += !inconsistent;
        return -1;
    }
    memcpy(s->data + off, data, len);
    if (off == 0) {
        memcpy(s->hdr, ip->hdr, ip->unfrag_len);
        s->ihl = ip->unfrag_len;
        s->nh_off = ip->frag_nh_off;
        s->next = fnext;
    }
    if (!ip->mf)
        s->total = off + len;
    if (!complete(s))
        return 0;
    uint8_t *p = r->out;
    memcpy(p, s->hdr, s->ihl);
    p[s->nh_off] = s->next;
    vn_put_be16(p + 4, (uint16_t)(s->ihl - 40 + s->total));
    memcpy(p + s->ihl, s->data, s->total);
    s->used = false;
    r->completed++;
    if (vn_ip6_parse(p, s->ihl + s->total, whole) != VN_IP_OK || whole->frag) {
        r->bad++;
        return -1;
    }
    return 1;
}

unsigned vn_reasm_in_use(const struct vn_reasm *r, uint64_t now_ms)
{
    unsigned n = 0;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        n += r->slot[i].used && now_ms - r->slot[i].first_ms <= VN_REASM_TIMEOUT_MS;
    return n;
}
