/* Fuzz target: the DNS answer cache (gw/dns_cache.c) fed hostile upstream
 * answers. Input: one byte of options (bit 0 the query's DO bit, bit 1 its CD
 * bit, bits 2-7 a time step) then one answer, copied to an exact-size buffer.
 *
 * The answer is put at T0, then looked up for the question it carries (in
 * another letter case), with the other DO/CD bits, and for a fixed other
 * question, at T0, T0 + step, T0 + 60 * step and T0 + VN_DNS_CACHE_MAX_TTL.
 * Checked: a stored answer comes back at T0 whole (its records' end), parsing,
 * with the id asked for and the guest's spelling, equal to the input but for
 * TTLs with the top bit set (0); later hits differ from it only in TTLs lowered
 * by the age (an independent walk finds them); nothing comes back after an
 * expiry or after the maximum lifetime, for other bits, or into a buffer one
 * byte short. Then replacement and eviction in a one-entry cache, and the
 * DO/CD query helpers on the input. */
#include "gw/dns_cache.h"
#include "gw/dns_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define T0 1000u

/* A fixed other answer: other.test A 192.0.2.7, TTL 60 (a reserved name). */
#define OTHER_NAME_LEN 12
static const uint8_t OTHER[] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0,
                                 5, 'o', 't', 'h', 'e', 'r', 4, 't', 'e', 's', 't', 0,
                                 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
                                 192, 0, 2, 7 };

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Offsets of the TTL fields of every record but the OPT of message m, which
 * the cache returned and so must parse; a walk of its own, not the cache's. */
static unsigned ttl_offsets(const uint8_t *m, size_t len, size_t *offs, unsigned max)
{
    struct vn_dns_hdr h;
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t off = VN_DNS_HLEN, next = 0;
    if (vn_dns_hdr_parse(m, len, &h) || h.qdcount != 1 ||
        vn_dns_name_read(m, len, off, name, &next) < 0)
        abort();
    off = next + 4;
    unsigned n = 0, total = (unsigned)h.ancount + h.nscount + h.arcount;
    for (unsigned i = 0; i < total; i++) {
        if (vn_dns_name_read(m, len, off, name, &next) < 0 || next + 10 > len)
            abort();
        if (vn_dns_get16(m + next) != VN_DNS_T_OPT) {
            if (n == max)
                abort(); /* more records than the cache may keep */
            offs[n++] = next + 4;
        }
        off = next + 10 + vn_dns_get16(m + next + 8);
        if (off > len)
            abort();
    }
    if (off != len)
        abort(); /* trailing bytes are not kept */
    return n;
}

/* Whether byte i of a message lies in one of the n TTL fields at offs. */
static bool in_ttl(size_t i, const size_t *offs, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (i >= offs[k] && i < offs[k] + 4)
            return true;
    return false;
}

/* Look q up at now; on a hit check the reply against base (the hit at T0,
 * len bytes, TTL fields at offs): the same but for the id, q's spelling and
 * TTLs lowered by now - T0. Returns whether it hit. */
static bool get_check(struct vn_dns_cache *c, const struct vn_dns_question *q, bool d, bool cd,
                      uint64_t now, const uint8_t *base, size_t len, const size_t *offs,
                      unsigned n)
{
    static uint8_t out[VN_DNS_CACHE_MSG_MAX];
    size_t got = vn_dns_cache_get(c, q, d, cd, 0x5a5a, out, sizeof out, now);
    if (!got)
        return false;
    if (got != len || vn_dns_get16(out) != 0x5a5a)
        abort();
    uint64_t age = now - T0;
    for (unsigned k = 0; k < n; k++) {
        uint32_t t0 = get32(base + offs[k]), t = get32(out + offs[k]);
        if (t != (t0 > age ? t0 - age : 0))
            abort();
    }
    if (memcmp(out + VN_DNS_HLEN, q->name, q->name_len) != 0)
        abort(); /* the spelling asked for this time */
    for (size_t i = 2; i < len; i++) {
        if (i >= VN_DNS_HLEN && i < VN_DNS_HLEN + (size_t)q->name_len)
            continue;
        if (!in_ttl(i, offs, n) && out[i] != base[i])
            abort();
    }
    return true;
}

static void flip_case(struct vn_dns_question *q)
{
    for (size_t i = 0; i < q->name_len; i++) {
        uint8_t ch = q->name[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))
            q->name[i] = (uint8_t)(ch ^ 0x20);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    bool d = data[0] & 1, cd = data[0] & 2;
    uint64_t step = data[0] >> 2;
    size_t len = size - 1;
    uint8_t *m = malloc(len ? len : 1); /* exact size: over-reads are caught */
    memcpy(m, data + 1, len);
    vn_dns_query_do_bit(m, len);
    vn_dns_query_cd_bit(m, len);

    struct vn_dns_cache *c = vn_dns_cache_new(2);
    if (!c)
        abort();
    struct vn_dns_msg msg;
    bool parses = vn_dns_msg_parse(m, len, &msg) == 0 && msg.has_q;
    int r = vn_dns_cache_put(c, m, len, d, cd, T0);
    if (r < 0 || r > 1 || (r == 0 && !parses) || (r == 0 && len > VN_DNS_CACHE_MSG_MAX))
        abort();
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    if (st.entries != (r == 0 ? 1u : 0u) || st.uncacheable != (r == 1 ? 1u : 0u))
        abort();

    struct vn_dns_question other;
    memset(&other, 0, sizeof other);
    memcpy(other.name, OTHER + VN_DNS_HLEN, OTHER_NAME_LEN);
    other.name_len = OTHER_NAME_LEN;
    other.qtype = VN_DNS_T_A;
    other.qclass = VN_DNS_C_IN;

    if (parses) {
        struct vn_dns_question q = msg.q;
        flip_case(&q);
        static uint8_t base[VN_DNS_CACHE_MSG_MAX];
        size_t bl = vn_dns_cache_get(c, &q, d, cd, 0x5a5a, base, sizeof base, T0);
        if ((bl != 0) != (r == 0))
            abort(); /* stored means found at once */
        size_t offs[VN_DNS_CACHE_MAX_RRS];
        unsigned n = 0;
        if (bl) {
            struct vn_dns_msg back;
            if (bl > len || vn_dns_msg_parse(base, bl, &back) || !back.has_q ||
                !vn_dns_question_eq(&back.q, &msg.q) ||
                memcmp(base + VN_DNS_HLEN, q.name, q.name_len) != 0)
                abort();
            n = ttl_offsets(base, bl, offs, VN_DNS_CACHE_MAX_RRS);
            /* the input but for id, spelling and top-bit TTLs */
            for (size_t i = 2; i < bl; i++) {
                if (i >= VN_DNS_HLEN && i < VN_DNS_HLEN + (size_t)q.name_len)
                    continue;
                if (!in_ttl(i, offs, n) && base[i] != m[i])
                    abort();
            }
            for (unsigned k = 0; k < n; k++) {
                uint32_t t = get32(m + offs[k]);
                if (get32(base + offs[k]) != (t > 0x7fffffffu ? 0 : t))
                    abort();
            }
            /* one byte short: nothing, and the entry stays */
            static uint8_t small[VN_DNS_CACHE_MSG_MAX];
            if (vn_dns_cache_get(c, &q, d, cd, 1, small, bl - 1, T0) != 0)
                abort();
            /* other bits: never */
            for (int b = 0; b < 4; b++)
                if ((b & 1) != d || ((b & 2) != 0) != cd)
                    if (vn_dns_cache_get(c, &q, b & 1, b & 2, 1, small, sizeof small, T0))
                        abort();
        }
        /* later: hits only with TTLs aged; once gone, gone */
        const uint64_t times[] = { T0 + step, T0 + 60 * step, T0 + VN_DNS_CACHE_MAX_TTL };
        bool alive = bl != 0;
        for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
            bool hit = get_check(c, &msg.q, d, cd, times[k], base, bl, offs, n);
            if (hit && (!alive || times[k] >= T0 + VN_DNS_CACHE_MAX_TTL))
                abort();
            alive = hit;
        }
    }
    /* the fixed other question, unless it is the input's */
    static uint8_t out[VN_DNS_CACHE_MSG_MAX];
    if (!(parses && vn_dns_question_eq(&msg.q, &other)) &&
        vn_dns_cache_get(c, &other, d, cd, 1, out, sizeof out, T0))
        abort();
    vn_dns_cache_free(c);

    /* One entry: the input twice (a replacement), then the other answer. */
    c = vn_dns_cache_new(1);
    if (!c)
        abort();
    r = vn_dns_cache_put(c, m, len, d, cd, T0);
    if (vn_dns_cache_put(c, m, len, d, cd, T0 + 1) != r)
        abort();
    vn_dns_cache_stats(c, &st);
    if (st.entries != (r == 0 ? 1u : 0u) || st.evictions)
        abort();
    if (vn_dns_cache_put(c, OTHER, sizeof OTHER, d, cd, T0 + 2) != 0)
        abort();
    vn_dns_cache_stats(c, &st);
    if (st.entries != 1 || st.evictions + st.expired != (r == 0 && !(parses &&
        vn_dns_question_eq(&msg.q, &other)) ? 1u : 0u))
        abort();
    if (vn_dns_cache_get(c, &other, d, cd, 1, out, sizeof out, T0 + 2) != sizeof OTHER)
        abort();
    vn_dns_cache_flush(c);
    vn_dns_cache_stats(c, &st);
    if (st.entries)
        abort();
    vn_dns_cache_free(c);
    free(m);
    return 0;
}
