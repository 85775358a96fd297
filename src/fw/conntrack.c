/* Connection tracking: see conntrack.h. */
#include "conntrack.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

enum {
    TCP_TIMEOUT_MS = 7440 * 1000,   /* RFC 5382: at least 2 h 4 min established */
    TCP_CLOSING_MS = 10 * 1000,
    UDP_TIMEOUT_MS = 120 * 1000,
    ICMP_TIMEOUT_MS = 30 * 1000,
};

int vn_ct_init(struct vn_conntrack *ct, uint32_t max)
{
    memset(ct, 0, sizeof *ct);
    uint32_t nb = 16;
    while (nb < max)
        nb <<= 1;
    ct->e = calloc(max, sizeof *ct->e);
    ct->bucket = calloc(nb, sizeof *ct->bucket);
    if (!ct->e || !ct->bucket) {
        vn_ct_free(ct);
        return -1;
    }
    ct->max = max;
    ct->mask = nb - 1;
    for (uint32_t i = max; i-- > 0;) {
        ct->e[i].next = ct->free_head;
        ct->free_head = i + 1;
    }
    return 0;
}

void vn_ct_free(struct vn_conntrack *ct)
{
    free(ct->e);
    free(ct->bucket);
    memset(ct, 0, sizeof *ct);
}

/* Key of pkt's connection and its hash; false if it is not a trackable one. */
static bool make_key(uint16_t net, const struct vn_acl_pkt *p, struct vn_ct_key *k, uint64_t *h)
{
    if (!p->ip || (p->proto != 6 && p->proto != 17 && p->proto != 1 && p->proto != 58))
        return false;
    uint16_t sp = p->sport, dp = p->dport;
    if (p->proto == 1 || p->proto == 58) {
        /* only echo (ICMP 8/0, ICMPv6 128/129) is a "connection" */
        if (p->proto == 1 ? p->icmp_type != 8 && p->icmp_type != 0
                          : p->icmp_type != 128 && p->icmp_type != 129)
            return false;
        sp = dp = p->sport; /* the echo identifier */
    }
    if (p->src.family != p->dst.family)
        return false;
    memset(k, 0, sizeof *k);
    k->net = net;
    k->proto = (uint8_t)p->proto;
    /* Endpoints in order (IPv4: by address as a number, as before; network
     * byte order compares the same way for other families). */
    bool fwd;
    size_t alen = p->src.family == AF_INET ? 4 : sizeof p->src.a;
    if (alen == 4) {
        uint32_t s = vn_addr_v4(&p->src), d = vn_addr_v4(&p->dst);
        fwd = s < d || (s == d && sp <= dp);
        /* An IPv4 key hashes the 16 bytes that matter, packed as the
         * IPv4-only key was: the same cost per packet. */
        struct {
            uint32_t a, b;
            uint16_t pa, pb, net;
            uint8_t proto, pad;
        } c = { fwd ? s : d, fwd ? d : s, fwd ? sp : dp, fwd ? dp : sp, net, k->proto, 0 };
        *h = vn_hash(&c, sizeof c);
    } else {
        int c = memcmp(p->src.a, p->dst.a, alen);
        fwd = c < 0 || (c == 0 && sp <= dp);
    }
    const struct vn_addr *lo = fwd ? &p->src : &p->dst, *hi = fwd ? &p->dst : &p->src;
    k->a.family = k->b.family = p->src.family;
    memcpy(k->a.a, lo->a, alen); /* IPv4: the other 12 bytes stay zero */
    memcpy(k->b.a, hi->a, alen);
    k->pa = fwd ? sp : dp;
    k->pb = fwd ? dp : sp;
    if (alen != 4)
        *h = vn_hash(k, sizeof *k);
    return true;
}

static uint64_t timeout_of(const struct vn_ct_entry *e)
{
    if (e->key.proto == 6)
        return e->closing ? TCP_CLOSING_MS : TCP_TIMEOUT_MS;
    return e->key.proto == 17 ? UDP_TIMEOUT_MS : ICMP_TIMEOUT_MS;
}

static void unlink_entry(struct vn_conntrack *ct, uint32_t *link, uint32_t idx)
{
    struct vn_ct_entry *e = &ct->e[idx];
    *link = e->next;
    e->used = false;
    e->next = ct->free_head;
    ct->free_head = idx + 1;
    ct->count--;
}

/* Find k; unlinks expired entries met on the way. Returns the entry or NULL. */
static struct vn_ct_entry *find(struct vn_conntrack *ct, const struct vn_ct_key *k, uint64_t h,
                                uint64_t now)
{
    uint32_t *link = &ct->bucket[h & ct->mask];
    while (*link) {
        uint32_t idx = *link - 1;
        struct vn_ct_entry *e = &ct->e[idx];
        if (e->expires_ms <= now) {
            ct->expired++;
            unlink_entry(ct, link, idx);
            continue;
        }
        if (!memcmp(&e->key, k, sizeof *k))
            return e;
        link = &e->next;
    }
    return NULL;
}

bool vn_ct_lookup(struct vn_conntrack *ct, uint16_t net, const struct vn_acl_pkt *pkt,
                  uint64_t now_ms)
{
    struct vn_ct_key k;
    uint64_t h;
    if (ct->e && pkt->has_inner) {
        /* "related": an ICMP or ICMPv6 error about a tracked connection,
         * sent to the quoted packet's sender, passes as its return traffic
         * (without refreshing it). */
        if (!vn_addr_eq(&pkt->dst, &pkt->in_src))
            return false;
        struct vn_acl_pkt in = { .ip = true, .src = pkt->in_src, .dst = pkt->in_dst,
                                 .proto = pkt->in_proto, .sport = pkt->in_sport,
                                 .dport = pkt->in_dport,
                                 /* a quoted echo request: keyed by its id */
                                 .icmp_type = pkt->in_proto == 58 ? 128 : 8 };
        return make_key(net, &in, &k, &h) && find(ct, &k, h, now_ms) != NULL;
    }
    if (!ct->e || !make_key(net, pkt, &k, &h))
        return false;
    struct vn_ct_entry *e = find(ct, &k, h, now_ms);
    if (!e)
        return false;
    if (pkt->proto == 6 && (pkt->tcp_flags & 0x05)) /* FIN or RST */
        e->closing = true;
    e->expires_ms = now_ms + timeout_of(e);
    return true;
}

void vn_ct_add(struct vn_conntrack *ct, uint16_t net, const struct vn_acl_pkt *pkt,
               uint64_t now_ms)
{
    struct vn_ct_key k;
    uint64_t h;
    if (!ct->e || !make_key(net, pkt, &k, &h))
        return;
    if (pkt->proto == 6 && (pkt->tcp_flags & 0x04))
        return; /* an RST does not open anything */
    if (find(ct, &k, h, now_ms))
        return;
    if (!ct->free_head) {
        vn_ct_expire(ct, now_ms);
        if (!ct->free_head) {
            ct->full++;
            return;
        }
    }
    uint32_t idx = ct->free_head - 1;
    struct vn_ct_entry *e = &ct->e[idx];
    ct->free_head = e->next;
    memset(e, 0, sizeof *e);
    e->key = k;
    e->used = true;
    e->expires_ms = now_ms + timeout_of(e);
    uint32_t *head = &ct->bucket[h & ct->mask];
    e->next = *head;
    *head = idx + 1;
    ct->count++;
    ct->created++;
}

uint32_t vn_ct_expire(struct vn_conntrack *ct, uint64_t now_ms)
{
    uint32_t n = 0;
    if (!ct->e)
        return 0;
    for (uint32_t b = 0; b <= ct->mask; b++) {
        uint32_t *link = &ct->bucket[b];
        while (*link) {
            uint32_t idx = *link - 1;
            if (ct->e[idx].expires_ms <= now_ms) {
                unlink_entry(ct, link, idx);
                n++;
            } else {
                link = &ct->e[idx].next;
            }
        }
    }
    ct->expired += n;
    return n;
}

json_t *vn_ct_stats_json(const struct vn_conntrack *ct)
{
    return json_pack("{s:i,s:i,s:I,s:I,s:I}", "entries", ct->count, "max", ct->max, "created",
                     (json_int_t)ct->created, "table_full", (json_int_t)ct->full, "expired",
                     (json_int_t)ct->expired);
}
