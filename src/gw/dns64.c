/* DNS64 answers: see dns64.h. Every read of the upstream message is
 * bounds-checked (names through vn_dns_name_read); records are walked once
 * per function, and what is written goes through a writer that refuses to
 * pass the end of its buffer. */
#include "dns64.h"
#include "pkt/nat64.h"

#include <stdio.h>
#include <string.h>

#define T_MX 15
#define T_DNAME 39

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 2181 8: a TTL with the top bit set is 0. */
static uint32_t ttl_of(const uint8_t *p)
{
    uint32_t t = get32(p);
    return t & 0x80000000u ? 0 : t;
}

bool vn_dns64_v4_excluded(uint32_t v4)
{
    uint8_t top = (uint8_t)(v4 >> 24);
    return top == 0 || top == 127 || top >= 224;
}

/* ---- walking records ---- */

struct rr {
    uint8_t name[VN_DNS_NAME_MAX + 1]; /* owner, decompressed */
    uint16_t name_len;
    uint16_t type, cls;
    uint32_t ttl;
    size_t rdata, rdlen;               /* offset and length of the RDATA in the message */
};

struct walk {
    const uint8_t *m;
    size_t len, off;
    unsigned left[3];                  /* records left in the answer, authority, additional */
    unsigned section;                  /* of the record read last: 0, 1, 2 */
};

/* Start walking m's records (after its single question). Returns 0 or -1. */
static int walk_init(struct walk *w, const uint8_t *m, size_t len)
{
    struct vn_dns_hdr h;
    uint8_t name[VN_DNS_NAME_MAX + 1];
    if (vn_dns_hdr_parse(m, len, &h) || h.qdcount != 1)
        return -1;
    size_t next;
    if (vn_dns_name_read(m, len, VN_DNS_HLEN, name, &next) < 0 || next + 4 > len)
        return -1;
    *w = (struct walk){ m, len, next + 4, { h.ancount, h.nscount, h.arcount }, 0 };
    return 0;
}

/* The next record into r: 1, 0 at the end, -1 when malformed. */
static int walk_next(struct walk *w, struct rr *r)
{
    while (w->section < 3 && !w->left[w->section])
        w->section++;
    if (w->section == 3)
        return 0;
    w->left[w->section]--;
    size_t next;
    int nl = vn_dns_name_read(w->m, w->len, w->off, r->name, &next);
    if (nl < 0 || next + 10 > w->len)
        return -1;
    r->name_len = (uint16_t)nl;
    r->type = vn_dns_get16(w->m + next);
    r->cls = vn_dns_get16(w->m + next + 2);
    r->ttl = ttl_of(w->m + next + 4);
    r->rdlen = vn_dns_get16(w->m + next + 8);
    r->rdata = next + 10;
    if (r->rdata + r->rdlen > w->len)
        return -1;
    w->off = r->rdata + r->rdlen;
    return 1;
}

/* ---- writing ---- */

struct out {
    uint8_t *p;
    size_t cap, n;
    bool bad;          /* something did not fit */
    const uint8_t *q;  /* the question name (at offset 12), for compression */
    uint16_t qlen;
};

static void put(struct out *o, const void *d, size_t n)
{
    if (o->bad || n > o->cap - o->n) {
        o->bad = true;
        return;
    }
    memcpy(o->p + o->n, d, n);
    o->n += n;
}

static void put16(struct out *o, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    put(o, b, 2);
}

static void put32(struct out *o, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    put(o, b, 4);
}

/* A name: a pointer to the question when it is the question's name, else
 * written out in full (the question is the one name compressed against). */
static void put_name(struct out *o, const uint8_t *name, size_t nl)
{
    if (nl == o->qlen && vn_dns_wire_eq(name, o->q, nl))
        put16(o, 0xc000 | VN_DNS_HLEN);
    else
        put(o, name, nl);
}

/* Start a message: id, flags, the counts (filled in by finish), question q. */
static void put_head(struct out *o, uint16_t id, uint16_t flags, const struct vn_dns_question *q)
{
    put16(o, id);
    put16(o, flags);
    put16(o, 1);
    put(o, "\0\0\0\0\0\0", 6);
    put(o, q->name, q->name_len);
    put16(o, q->qtype);
    put16(o, q->qclass);
    o->q = q->name;
    o->qlen = q->name_len;
}

/* A record header: owner, type, class, TTL (the RDATA length follows). */
static void put_rr(struct out *o, const uint8_t *name, size_t nl, uint16_t type, uint16_t cls,
                   uint32_t ttl)
{
    put_name(o, name, nl);
    put16(o, type);
    put16(o, cls);
    put32(o, ttl);
}

/* Copy record r of m with the names of its RDATA (NS, CNAME, PTR, DNAME:
 * one; MX: after 2 bytes; SOA: two, then 20 bytes) written out, other
 * RDATA as it is. Returns 0, or -1 when an RDATA name is malformed or does
 * not fill its RDATA as its type says. */
static int copy_rr(struct out *o, const uint8_t *m, const struct rr *r, uint32_t ttl)
{
    uint8_t n1[VN_DNS_NAME_MAX + 1], n2[VN_DNS_NAME_MAX + 1];
    size_t e = r->rdata + r->rdlen, next = 0, pre = 0;
    int l1 = -1, l2 = -1;
    switch (r->type) {
    case VN_DNS_T_NS:
    case VN_DNS_T_CNAME:
    case VN_DNS_T_PTR:
    case T_DNAME:
        l1 = vn_dns_name_read(m, e, r->rdata, n1, &next);
        if (l1 < 0 || next != e)
            return -1;
        break;
    case T_MX:
        pre = 2;
        if (r->rdlen < 3)
            return -1;
        l1 = vn_dns_name_read(m, e, r->rdata + 2, n1, &next);
        if (l1 < 0 || next != e)
            return -1;
        break;
    case VN_DNS_T_SOA:
        l1 = vn_dns_name_read(m, e, r->rdata, n1, &next);
        if (l1 < 0)
            return -1;
        l2 = vn_dns_name_read(m, e, next, n2, &next);
        if (l2 < 0 || next + 20 != e)
            return -1;
        break;
    default:
        break;
    }
    put_rr(o, r->name, r->name_len, r->type, r->cls, ttl);
    if (l1 < 0) { /* no names inside */
        put16(o, (uint16_t)r->rdlen);
        put(o, m + r->rdata, r->rdlen);
        return 0;
    }
    size_t rdlen = pre + (size_t)l1 + (l2 >= 0 ? (size_t)l2 + 20 : 0);
    if (rdlen > 0xffff)
        return -1;
    put16(o, (uint16_t)rdlen);
    put(o, m + r->rdata, pre);
    put(o, n1, (size_t)l1);
    if (l2 >= 0) {
        put(o, n2, (size_t)l2);
        put(o, m + e - 20, 20);
    }
    return 0;
}

/* Close a message: the counts, an OPT record for edns (when not 0).
 * Returns the length, or 0 when something did not fit. */
static size_t finish(struct out *o, unsigned an, unsigned ns, uint16_t edns)
{
    if (an > 0xffff || ns > 0xffff || o->bad || o->n < VN_DNS_HLEN)
        return 0;
    vn_dns_put16(o->p + 6, (uint16_t)an);
    vn_dns_put16(o->p + 8, (uint16_t)ns);
    if (edns) {
        size_t n = vn_dns_add_opt(o->p, o->cap, o->n, edns);
        if (!n)
            return 0;
        o->n = n;
    }
    return o->n;
}

/* The flags of a synthesized answer from upstream flags f: QR, opcode, RD,
 * RA and CD kept; AA, TC and AD cleared; rcode rcode. */
static uint16_t synth_flags(uint16_t f, unsigned rcode)
{
    return (uint16_t)((f & (VN_DNS_F_QR | VN_DNS_F_OPCODE | VN_DNS_F_RD | VN_DNS_F_RA |
                            VN_DNS_F_CD)) |
                      VN_DNS_F_QR | (rcode & 0xf));
}

/* ---- AAAA answers ---- */

bool vn_dns64_has_aaaa(const uint8_t *m, size_t len)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    struct walk w;
    struct rr r;
    if (walk_init(&w, m, len))
        return false;
    while (walk_next(&w, &r) == 1 && w.section == 0)
        if (r.type == VN_DNS_T_AAAA && r.cls == VN_DNS_C_IN && r.rdlen == 16 &&
            memcmp(m + r.rdata, mapped, sizeof mapped))
            return true;
    return false;
}

uint32_t vn_dns64_ttl_bound(const uint8_t *m, size_t len)
{
    struct walk w;
    struct rr r;
    uint8_t n[VN_DNS_NAME_MAX + 1];
    if (walk_init(&w, m, len))
        return VN_DNS64_TTL_MAX;
    int k;
    while ((k = walk_next(&w, &r)) == 1 && w.section < 2) {
        if (w.section != 1 || r.type != VN_DNS_T_SOA)
            continue;
        size_t e = r.rdata + r.rdlen, next;
        if (vn_dns_name_read(m, e, r.rdata, n, &next) < 0 ||
            vn_dns_name_read(m, e, next, n, &next) < 0 || next + 20 != e)
            return VN_DNS64_TTL_MAX;
        uint32_t t = r.ttl, min = ttl_of(m + e - 4);
        t = t < min ? t : min;
        return t < VN_DNS64_TTL_MAX ? t : VN_DNS64_TTL_MAX;
    }
    return VN_DNS64_TTL_MAX;
}

size_t vn_dns64_synth(uint8_t *out, size_t cap, const uint8_t *m, size_t len,
                      const struct vn_dns_question *q6, uint16_t id, const struct vn_addr *prefix,
                      unsigned plen, uint32_t ttl_bound, uint16_t edns)
{
    struct walk w;
    struct rr r;
    if (walk_init(&w, m, len) || !vn_nat64_len_ok(plen) || prefix->family != AF_INET6)
        return 0;
    struct out o = { out, cap, 0, false, NULL, 0 };
    put_head(&o, id, synth_flags(vn_dns_get16(m + 2), VN_DNS_R_NOERROR), q6);
    unsigned an = 0, synth = 0;
    int k;
    /* First the chain (CNAME, DNAME), then the synthesized records, as a
     * resolver would order them. */
    while ((k = walk_next(&w, &r)) == 1 && w.section == 0)
        if ((r.type == VN_DNS_T_CNAME || r.type == T_DNAME) && r.cls == VN_DNS_C_IN) {
            if (copy_rr(&o, m, &r, r.ttl))
                return 0;
            an++;
        }
    if (k < 0 || walk_init(&w, m, len))
        return 0;
    while ((k = walk_next(&w, &r)) == 1 && w.section == 0) {
        if (r.type != VN_DNS_T_A || r.cls != VN_DNS_C_IN || r.rdlen != 4)
            continue;
        uint32_t v4 = get32(m + r.rdata);
        if (vn_dns64_v4_excluded(v4))
            continue;
        struct vn_addr a = vn_nat64_embed(prefix, plen, v4);
        put_rr(&o, r.name, r.name_len, VN_DNS_T_AAAA, VN_DNS_C_IN,
               r.ttl < ttl_bound ? r.ttl : ttl_bound);
        put16(&o, 16);
        put(&o, a.a, 16);
        an++;
        synth++;
    }
    if (k < 0 || !synth)
        return 0;
    return finish(&o, an, 0, edns);
}

/* ---- reverse names ---- */

int vn_dns64_ptr_map(const uint8_t *name, const struct vn_addr *prefix, unsigned plen,
                     uint8_t *out, size_t cap, uint32_t *v4)
{
    struct vn_addr a = { .family = AF_INET6 };
    uint32_t x;
    if (vn_dns_ptr6_parse(name, a.a) || !vn_nat64_extract(prefix, plen, &a, &x))
        return -1;
    char text[32];
    snprintf(text, sizeof text, "%u.%u.%u.%u.in-addr.arpa", x & 0xff, (x >> 8) & 0xff,
             (x >> 16) & 0xff, x >> 24);
    int n = vn_dns_name_from_text(text, out, cap);
    if (n > 0 && v4)
        *v4 = x;
    return n;
}

size_t vn_dns64_ptr_answer(uint8_t *out, size_t cap, const uint8_t *m, size_t len,
                           const struct vn_dns_question *q6, const uint8_t *q4name, uint16_t id,
                           uint16_t edns)
{
    struct walk w;
    struct rr r;
    struct vn_dns_hdr h;
    if (walk_init(&w, m, len) || vn_dns_hdr_parse(m, len, &h))
        return 0;
    /* The CNAME's TTL: the smallest of the records that follow it. */
    uint32_t ttl = VN_DNS64_TTL_MAX;
    int k;
    while ((k = walk_next(&w, &r)) == 1 && w.section < 2)
        ttl = r.ttl < ttl ? r.ttl : ttl;
    if (k < 0 || walk_init(&w, m, len))
        return 0;
    size_t q4len = 0;
    while (q4len <= VN_DNS_NAME_MAX && q4name[q4len])
        q4len += 1 + (size_t)q4name[q4len];
    if (++q4len > VN_DNS_NAME_MAX)
        return 0;
    struct out o = { out, cap, 0, false, NULL, 0 };
    put_head(&o, id, synth_flags(h.flags, h.flags & VN_DNS_F_RCODE), q6);
    put_rr(&o, q6->name, q6->name_len, VN_DNS_T_CNAME, VN_DNS_C_IN, ttl);
    put16(&o, (uint16_t)q4len);
    put(&o, q4name, q4len);
    unsigned n[2] = { 1, 0 };
    while ((k = walk_next(&w, &r)) == 1 && w.section < 2) {
        if (r.type == VN_DNS_T_OPT || copy_rr(&o, m, &r, r.ttl))
            return 0;
        n[w.section]++;
    }
    if (k < 0)
        return 0;
    return finish(&o, n[0], n[1], edns);
}
