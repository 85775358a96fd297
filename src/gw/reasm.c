/* IPv4 reassembly: see reasm.h. */
#include "reasm.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <stdlib.h>
#include <string.h>

int vn_reasm_init(struct vn_reasm *r)
{
    memset(r, 0, sizeof *r);
    r->out = malloc(60 + 65536);
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

/* Find the slot of this datagram, or take a free/expired/oldest one. */
static struct vn_reasm_slot *slot_for(struct vn_reasm *r, const struct vn_ip4 *ip, uint64_t now)
{
    struct vn_reasm_slot *free_s = NULL, *oldest = NULL;
    for (int i = 0; i < VN_REASM_SLOTS; i++) {
        struct vn_reasm_slot *s = &r->slot[i];
        if (s->used && now - s->first_ms > VN_REASM_TIMEOUT_MS) {
            s->used = false;
            r->timeouts++;
        }
        if (s->used && s->src == ip->src && s->dst == ip->dst && s->id == ip->id &&
            s->proto == ip->proto)
            return s;
        if (!s->used && !free_s)
            free_s = s;
        if (s->used && (!oldest || s->first_ms < oldest->first_ms))
            oldest = s;
    }
    struct vn_reasm_slot *s = free_s;
    if (!s) {
        s = oldest;
        r->evicted++;
    }
    uint8_t *data = s->data;
    memset(s, 0, sizeof *s);
    s->data = data;
    s->used = true;
    s->src = ip->src;
    s->dst = ip->dst;
    s->id = ip->id;
    s->proto = ip->proto;
    s->first_ms = now;
    return s;
}

int vn_reasm_add(struct vn_reasm *r, const struct vn_ip4 *ip, uint64_t now_ms,
                 struct vn_ip4 *whole)
{
    uint32_t off = (uint32_t)ip->frag_off * 8, len = ip->l4_len;
    if ((ip->mf && (len == 0 || len % 8)) || off + len > 65535u - ip->ihl) {
        r->bad++;
        return -1;
    }
    struct vn_reasm_slot *s = slot_for(r, ip, now_ms);
    memcpy(s->data + off, ip->l4, len);
    for (uint32_t b = off / 8; b < (off + len + 7) / 8; b++)
        s->blocks[b / 8] |= (uint8_t)(1u << (b % 8));
    if (off == 0) {
        memcpy(s->hdr, ip->hdr, ip->ihl);
        s->ihl = ip->ihl;
    }
    if (!ip->mf)
        s->total = off + len;
    if (!s->total || !s->ihl)
        return 0;
    for (uint32_t b = 0; b < (s->total + 7) / 8; b++)
        if (!have(s, b))
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
