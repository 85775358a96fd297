/* DNS answer cache: see dns_cache.h for what it keeps and for how long.
 *
 * Theory of operation (the data structure). The pool is an array of max
 * entries linked by index (uint32_t, NIL = none). A free entry is on the free
 * list (through hnext). A used entry is on exactly one bucket chain (through
 * hnext) and on the LRU list (prev/next; head = most recently used, tail = the
 * next to go). The key's name is not stored apart: it is the question name at
 * offset 12 of the stored message, which put checked is uncompressed, compared
 * ASCII case-insensitively (label length bytes are at most 63, never letters,
 * so folding every byte is exact). The key's hash is kept in the entry so a
 * chain walk mostly compares integers.
 *
 * Answers are checked once, at put time, with bounds on every read (the bytes
 * come from the network): the whole message must parse (vn_dns_msg_parse), then
 * each record is walked again here to find its TTL field, its type, the names
 * in its RDATA and, for a negative answer, the SOA's MINIMUM; a last walk
 * follows every such name, compression pointers included, to make sure none
 * reads the id or a TTL field (names_stable). The TTL offsets are stored with
 * the message; a hit only copies the bytes and rewrites id, question name and
 * TTLs. */
#include "dns_cache.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX
#define BIT_DO 1u
#define BIT_CD 2u
#define T_MX 15

struct entry {
    uint32_t hash;                /* of the key, see key_hash */
    uint32_t hnext;               /* bucket chain, or free list */
    uint32_t prev, next;          /* LRU list */
    uint64_t inserted_s, expires_s;
    uint16_t len;                 /* bytes of msg */
    uint16_t name_len;            /* question name at msg + VN_DNS_HLEN */
    uint16_t qtype, qclass;
    uint8_t bits;                 /* BIT_DO | BIT_CD of the query */
    uint8_t n_ttl;
    uint16_t ttl_off[VN_DNS_CACHE_MAX_RRS]; /* offsets of the RR TTL fields in msg */
    uint8_t msg[VN_DNS_CACHE_MSG_MAX];
};

struct vn_dns_cache {
    unsigned max, used;
    uint32_t mask; /* buckets - 1 */
    uint32_t *buckets;
    struct entry *e;
    uint32_t free, lru_head, lru_tail;
    struct vn_dns_cache_stats st;
};

/* What put learns about an answer before storing it. */
struct answer {
    uint16_t len; /* through the last record: trailing bytes are not kept */
    uint16_t name_len, qtype, qclass;
    uint32_t life; /* seconds, 1..VN_DNS_CACHE_MAX_TTL */
    uint8_t n_ttl;
    uint16_t ttl_off[VN_DNS_CACHE_MAX_RRS];
};

/* One resource record as found in a message. */
struct rr {
    size_t name_off;      /* offset of its owner name */
    uint16_t type, cls;
    uint32_t ttl;         /* as on the wire */
    size_t ttl_off;       /* offset of the TTL field */
    size_t rdata, rdlen;  /* offset and length of the RDATA */
};

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* RFC 2181 §8: a TTL with the most significant bit set is treated as zero. */
static uint32_t ttl_value(uint32_t raw) { return raw > 0x7fffffffu ? 0 : raw; }

static uint32_t min32(uint32_t a, uint32_t b) { return a < b ? a : b; }


static uint8_t key_bits(bool do_bit, bool cd_bit)
{
    return (uint8_t)((do_bit ? BIT_DO : 0) | (cd_bit ? BIT_CD : 0));
}

/* The process's keyed hash (core/hash.h) over the lowercased wire name, type,
 * class and bits: guests choose the names, so an unkeyed hash would let them
 * line up colliding names in one bucket. */
static uint32_t key_hash(const uint8_t *name, size_t nl, uint16_t qtype, uint16_t qclass,
                         uint8_t bits)
{
    uint8_t k[VN_DNS_NAME_MAX + 1 + 5];
    size_t n = nl < VN_DNS_NAME_MAX + 1 ? nl : VN_DNS_NAME_MAX + 1;
    for (size_t i = 0; i < n; i++)
        k[i] = vn_dns_lc(name[i]);
    k[n] = (uint8_t)(qtype >> 8);
    k[n + 1] = (uint8_t)qtype;
    k[n + 2] = (uint8_t)(qclass >> 8);
    k[n + 3] = (uint8_t)qclass;
    k[n + 4] = bits;
    return (uint32_t)vn_hash(k, n + 5);
}

/* Read the record at *off of m (len bytes) into rr and move *off just past it.
 * Returns 0, or -1 if its name is malformed or it runs past len. */
static int rr_read(const uint8_t *m, size_t len, size_t *off, struct rr *rr)
{
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t next = 0;
    if (vn_dns_name_read(m, len, *off, name, &next) < 0 || next > len || len - next < 10)
        return -1;
    rr->name_off = *off;
    rr->type = vn_dns_get16(m + next);
    rr->cls = vn_dns_get16(m + next + 2);
    rr->ttl_off = next + 4;
    rr->ttl = get32(m + next + 4);
    rr->rdlen = vn_dns_get16(m + next + 8);
    rr->rdata = next + 10;
    if (rr->rdlen > len - rr->rdata)
        return -1;
    *off = rr->rdata + rr->rdlen;
    return 0;
}

/* Find the domain names in the RDATA of rr that a guest's resolver will
 * decompress (the RFC 1035 types whose RDATA may be compressed: NS, CNAME, PTR
 * and MX one, SOA two: MNAME and RNAME, followed by exactly five 32-bit fields)
 * and store their offsets in names. Returns how many (0 for other types, whose
 * RDATA is opaque here), or -1 if a name is malformed or the RDATA does not end
 * where the names (and fields) do. */
static int rdata_names(const uint8_t *m, size_t len, const struct rr *rr, size_t names[2])
{
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t end = rr->rdata + rr->rdlen, next = 0;
    switch (rr->type) {
    case VN_DNS_T_NS:
    case VN_DNS_T_CNAME:
    case VN_DNS_T_PTR:
    case T_MX:
        names[0] = rr->rdata + (rr->type == T_MX ? 2 : 0);
        if (names[0] >= end || vn_dns_name_read(m, len, names[0], name, &next) < 0 ||
            next != end)
            return -1;
        return 1;
    case VN_DNS_T_SOA:
        names[0] = rr->rdata;
        if (vn_dns_name_read(m, len, names[0], name, &next) < 0 || next > end)
            return -1;
        names[1] = next;
        if (vn_dns_name_read(m, len, names[1], name, &next) < 0 || next > end ||
            end - next != 20) /* SERIAL REFRESH RETRY EXPIRE MINIMUM */
            return -1;
        return 2;
    default:
        return 0;
    }
}

#define MARK(mask, i) ((mask)[(i) >> 3] |= (uint8_t)(1u << ((i) & 7)))
#define MARKED(mask, i) (((mask)[(i) >> 3] >> ((i) & 7)) & 1u)

/* Whether the name at off of m (len bytes) reads any byte marked in mask (a
 * bit per byte of m): a label, its length or a compression pointer. The walk
 * follows the rules of vn_dns_name_read and is bounded the same way; a name it
 * cannot follow counts as reading a marked byte. */
static bool name_reads_marked(const uint8_t *m, size_t len, size_t off, const uint8_t *mask)
{
    size_t pos = off, seg = off;
    for (unsigned steps = 0; steps < 2 * VN_DNS_NAME_MAX; steps++) {
        if (pos >= len || MARKED(mask, pos))
            return true;
        uint8_t c = m[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len || MARKED(mask, pos + 1))
                return true;
            size_t ptr = (size_t)(c & 0x3f) << 8 | m[pos + 1];
            if (ptr >= seg)
                return true;
            pos = seg = ptr;
            continue;
        }
        if (c & 0xc0)
            return true;
        if (c == 0)
            return false;
        if (c > len - pos - 1)
            return true;
        for (size_t i = pos + 1; i <= pos + c; i++)
            if (MARKED(mask, i))
                return true;
        pos += 1 + (size_t)c;
    }
    return true;
}

/* A hit rewrites the id and the TTL fields. A hostile upstream could make a
 * compressed name run through those bytes, so that the name a guest reads
 * would change with its id or the answer's age (or stop parsing). Returns 0 if
 * no owner name and no RDATA name of a known type (rdata_names) of the total
 * records from off reads them, else -1. */
static int names_stable(const uint8_t *m, size_t len, size_t off, unsigned total,
                        const struct answer *a)
{
    uint8_t mask[(VN_DNS_CACHE_MSG_MAX + 7) / 8];
    memset(mask, 0, sizeof mask);
    MARK(mask, 0u);
    MARK(mask, 1u);
    for (unsigned k = 0; k < a->n_ttl; k++)
        for (unsigned j = 0; j < 4; j++)
            MARK(mask, (size_t)a->ttl_off[k] + j);
    for (unsigned i = 0; i < total; i++) {
        struct rr rr;
        size_t names[2];
        if (rr_read(m, len, &off, &rr) != 0 || name_reads_marked(m, len, rr.name_off, mask))
            return -1;
        int n = rdata_names(m, len, &rr, names);
        if (n < 0)
            return -1;
        for (int k = 0; k < n; k++)
            if (name_reads_marked(m, len, names[k], mask))
                return -1;
    }
    return 0;
}

/* Decide whether answer m (len bytes) may be cached and, if so, fill a with
 * its length without trailing bytes, question, lifetime and TTL offsets.
 * Returns 0 if cacheable, else -1. */
static int analyze(const uint8_t *m, size_t len, struct answer *a)
{
    struct vn_dns_msg msg;
    if (!m || len > VN_DNS_CACHE_MSG_MAX || vn_dns_msg_parse(m, len, &msg) != 0 || !msg.has_q)
        return -1;
    uint16_t f = msg.h.flags;
    unsigned rcode = f & VN_DNS_F_RCODE;
    if (!(f & VN_DNS_F_QR) || (f & VN_DNS_F_OPCODE) || (f & VN_DNS_F_TC) ||
        (rcode != VN_DNS_R_NOERROR && rcode != VN_DNS_R_NXDOMAIN))
        return -1;
    /* The question name must sit uncompressed at offset 12, so that a hit can
     * overwrite it with the guest's spelling, byte for byte. */
    uint8_t qname[VN_DNS_NAME_MAX + 1];
    size_t nl = msg.q.name_len, off = 0;
    if (vn_dns_name_read(m, len, VN_DNS_HLEN, qname, &off) != (int)nl || nl == 0 ||
        off != VN_DNS_HLEN + nl || memcmp(m + VN_DNS_HLEN, msg.q.name, nl) != 0 ||
        len - off < 4)
        return -1;
    off += 4;
    size_t rr_start = off;
    a->name_len = (uint16_t)nl;
    a->qtype = msg.q.qtype;
    a->qclass = msg.q.qclass;
    a->n_ttl = 0;

    bool negative = rcode == VN_DNS_R_NXDOMAIN || msg.h.ancount == 0, soa = false;
    uint32_t life = UINT32_MAX;
    unsigned an = msg.h.ancount, ns = msg.h.nscount;
    unsigned total = an + ns + msg.h.arcount;
    for (unsigned i = 0; i < total; i++) {
        struct rr rr;
        size_t names[2];
        if (rr_read(m, len, &off, &rr) != 0 || rdata_names(m, len, &rr, names) < 0)
            return -1;
        if (rr.type == VN_DNS_T_OPT) {
            /* Its TTL field is extended rcode, version, flags: no TTL. A
             * non-zero extended rcode means neither NOERROR nor NXDOMAIN. */
            if (i < an + ns || m[rr.ttl_off] != 0)
                return -1;
            continue;
        }
        if (a->n_ttl == VN_DNS_CACHE_MAX_RRS)
            return -1;
        a->ttl_off[a->n_ttl++] = (uint16_t)rr.ttl_off;
        if (i < an) {
            /* Positive: the answer bounds the lifetime. Negative (NXDOMAIN at
             * the end of a CNAME chain): so does the chain. */
            life = min32(life, ttl_value(rr.ttl));
        } else if (i < an + ns) {
            if (!negative) {
                life = min32(life, ttl_value(rr.ttl));
            } else if (rr.type == VN_DNS_T_SOA) {
                /* RFC 2308 §5: min(SOA TTL, MINIMUM), its last field */
                uint32_t minimum = get32(m + rr.rdata + rr.rdlen - 4);
                life = min32(life, min32(ttl_value(rr.ttl), ttl_value(minimum)));
                soa = true;
            }
        }
    }
    if (negative && !soa)
        return -1; /* RFC 2308 §5: no SOA, no negative caching */
    life = min32(life, VN_DNS_CACHE_MAX_TTL);
    if (life == 0)
        return -1;
    a->life = life;
    a->len = (uint16_t)off;
    return names_stable(m, len, rr_start, total, a);
}

/* Index of the entry with this key, or NIL. */
static uint32_t find(const struct vn_dns_cache *c, uint32_t h, const uint8_t *name, size_t nl,
                     uint16_t qtype, uint16_t qclass, uint8_t bits)
{
    for (uint32_t i = c->buckets[h & c->mask]; i != NIL; i = c->e[i].hnext) {
        const struct entry *e = &c->e[i];
        if (e->hash == h && e->name_len == nl && e->qtype == qtype && e->qclass == qclass &&
            e->bits == bits && vn_dns_wire_eq(e->msg + VN_DNS_HLEN, name, nl))
            return i;
    }
    return NIL;
}

static void lru_unlink(struct vn_dns_cache *c, uint32_t i)
{
    struct entry *e = &c->e[i];
    if (e->prev != NIL)
        c->e[e->prev].next = e->next;
    else
        c->lru_head = e->next;
    if (e->next != NIL)
        c->e[e->next].prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NIL;
}

static void lru_push_head(struct vn_dns_cache *c, uint32_t i)
{
    struct entry *e = &c->e[i];
    e->prev = NIL;
    e->next = c->lru_head;
    if (c->lru_head != NIL)
        c->e[c->lru_head].prev = i;
    else
        c->lru_tail = i;
    c->lru_head = i;
}

/* Take used entry i off its bucket chain and the LRU list onto the free list. */
static void drop(struct vn_dns_cache *c, uint32_t i)
{
    struct entry *e = &c->e[i];
    uint32_t *link = &c->buckets[e->hash & c->mask];
    while (*link != i)
        link = &c->e[*link].hnext;
    *link = e->hnext;
    lru_unlink(c, i);
    e->hnext = c->free;
    c->free = i;
    c->used--;
}

/* A free entry, made by dropping the least recently used one if needed (an
 * eviction, or an expiry if its time was over anyway). Returns its index. */
static uint32_t take_slot(struct vn_dns_cache *c, uint64_t now_s)
{
    if (c->free == NIL) {
        uint32_t t = c->lru_tail;
        if (now_s >= c->e[t].expires_s)
            c->st.expired++;
        else
            c->st.evictions++;
        drop(c, t);
    }
    uint32_t i = c->free;
    c->free = c->e[i].hnext;
    return i;
}

struct vn_dns_cache *vn_dns_cache_new(unsigned max)
{
    if (max > VN_DNS_CACHE_MAX_ENTRIES)
        return NULL;
    struct vn_dns_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->max = max;
    if (max) {
        uint32_t nb = 2;
        while (nb < 2u * max)
            nb <<= 1;
        c->mask = nb - 1;
        c->buckets = calloc(nb, sizeof *c->buckets);
        c->e = calloc(max, sizeof *c->e);
        if (!c->buckets || !c->e) {
            vn_dns_cache_free(c);
            return NULL;
        }
    }
    vn_dns_cache_flush(c);
    return c;
}

void vn_dns_cache_free(struct vn_dns_cache *c)
{
    if (!c)
        return;
    free(c->buckets);
    free(c->e);
    free(c);
}

void vn_dns_cache_flush(struct vn_dns_cache *c)
{
    if (!c)
        return;
    if (c->max) {
        for (uint32_t b = 0; b <= c->mask; b++)
            c->buckets[b] = NIL;
        for (uint32_t i = 0; i < c->max; i++) {
            c->e[i].prev = c->e[i].next = NIL;
            c->e[i].hnext = i + 1 < c->max ? i + 1 : NIL;
        }
    }
    c->free = c->max ? 0 : NIL;
    c->lru_head = c->lru_tail = NIL;
    c->used = 0;
}

int vn_dns_cache_put(struct vn_dns_cache *c, const uint8_t *m, size_t len, bool do_bit,
                     bool cd_bit, uint64_t now_s)
{
    if (!c || (!m && len))
        return -1;
    if (!c->max)
        return 1;
    struct answer a;
    if (analyze(m, len, &a) != 0) {
        c->st.uncacheable++;
        return 1;
    }
    uint8_t bits = key_bits(do_bit, cd_bit);
    const uint8_t *name = m + VN_DNS_HLEN;
    uint32_t h = key_hash(name, a.name_len, a.qtype, a.qclass, bits);
    uint32_t i = find(c, h, name, a.name_len, a.qtype, a.qclass, bits);
    if (i != NIL) {
        lru_unlink(c, i); /* replaced in place, stays on its chain */
    } else {
        i = take_slot(c, now_s);
        uint32_t *head = &c->buckets[h & c->mask];
        c->e[i].hnext = *head;
        *head = i;
        c->used++;
    }
    struct entry *e = &c->e[i];
    e->hash = h;
    e->name_len = a.name_len;
    e->qtype = a.qtype;
    e->qclass = a.qclass;
    e->bits = bits;
    e->len = a.len;
    memcpy(e->msg, m, a.len);
    e->n_ttl = a.n_ttl;
    memcpy(e->ttl_off, a.ttl_off, a.n_ttl * sizeof a.ttl_off[0]);
    e->inserted_s = now_s;
    e->expires_s = now_s > UINT64_MAX - a.life ? UINT64_MAX : now_s + a.life;
    lru_push_head(c, i);
    c->st.inserts++;
    return 0;
}

size_t vn_dns_cache_get(struct vn_dns_cache *c, const struct vn_dns_question *q, bool do_bit,
                        bool cd_bit, uint16_t id, uint8_t *out, size_t cap, uint64_t now_s)
{
    if (!c)
        return 0;
    uint32_t i = NIL;
    if (c->max && q && q->name_len > 0 && q->name_len <= VN_DNS_NAME_MAX) {
        uint8_t bits = key_bits(do_bit, cd_bit);
        uint32_t h = key_hash(q->name, q->name_len, q->qtype, q->qclass, bits);
        i = find(c, h, q->name, q->name_len, q->qtype, q->qclass, bits);
    }
    if (i == NIL) {
        c->st.misses++;
        return 0;
    }
    struct entry *e = &c->e[i];
    if (now_s >= e->expires_s) {
        drop(c, i);
        c->st.expired++;
        c->st.misses++;
        return 0;
    }
    if (!out || cap < e->len) {
        c->st.misses++;
        return 0;
    }
    memcpy(out, e->msg, e->len);
    vn_dns_put16(out, id);
    memcpy(out + VN_DNS_HLEN, q->name, e->name_len); /* same length: the key matched */
    uint64_t age = now_s > e->inserted_s ? now_s - e->inserted_s : 0;
    for (unsigned k = 0; k < e->n_ttl; k++) {
        uint8_t *p = out + e->ttl_off[k];
        uint32_t t = ttl_value(get32(p));
        put32(p, t > age ? (uint32_t)(t - age) : 0);
    }
    lru_unlink(c, i);
    lru_push_head(c, i);
    c->st.hits++;
    return e->len;
}

void vn_dns_cache_stats(const struct vn_dns_cache *c, struct vn_dns_cache_stats *st)
{
    if (!st)
        return;
    if (!c) {
        memset(st, 0, sizeof *st);
        return;
    }
    *st = c->st;
    st->entries = c->used;
    st->max = c->max;
}

bool vn_dns_query_do_bit(const uint8_t *m, size_t len)
{
    struct vn_dns_msg msg;
    if (!m || vn_dns_msg_parse(m, len, &msg) != 0 || !msg.edns)
        return false;
    size_t off = VN_DNS_HLEN;
    if (msg.has_q) {
        uint8_t name[VN_DNS_NAME_MAX + 1];
        size_t next = 0;
        if (vn_dns_name_read(m, len, off, name, &next) < 0 || next > len || len - next < 4)
            return false;
        off = next + 4;
    }
    unsigned total = (unsigned)msg.h.ancount + msg.h.nscount + msg.h.arcount;
    for (unsigned i = 0; i < total; i++) {
        struct rr rr;
        if (rr_read(m, len, &off, &rr) != 0)
            return false;
        if (rr.type == VN_DNS_T_OPT) /* TTL field: ext. rcode, version, flags */
            return (vn_dns_get16(m + rr.ttl_off + 2) & VN_DNS_CACHE_EDNS_DO) != 0;
    }
    return false;
}

bool vn_dns_query_cd_bit(const uint8_t *m, size_t len)
{
    return m && len >= VN_DNS_HLEN && (vn_dns_get16(m + 2) & VN_DNS_CACHE_F_CD) != 0;
}
