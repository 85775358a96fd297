/* Unit tests of the DNS answer cache (src/gw/dns_cache.c): round trip with id
 * and letter case rewritten, TTLs lowered by the time in the cache, lifetimes
 * (smallest TTL, cap, negative answers from the SOA), what is not cached
 * (flags, rcodes, sizes, every truncation, names that run through the bytes a
 * hit rewrites, malformed RDATA names), LRU eviction, replacement, the
 * DO/CD bits in the key, a disabled cache, flush, a too small output buffer
 * and the DO/CD helpers. Answers are built here with the dns_msg builders and
 * a small record writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/dns_cache.h"
#include "gw/dns_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AN = 6, NS = 8, AR = 10 }; /* header offsets of the section counts */
#define T_MX_TEST 15

static const uint8_t WWW[] = "\3www\7Example\3com"; /* + root from the string's NUL */
static const uint8_t WWW_UP[] = "\3WWW\7EXAMPLE\3COM";
static const uint8_t IP1[4] = { 192, 0, 2, 1 }, IP2[4] = { 192, 0, 2, 2 };

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The question of name (wire form with its root label, nl bytes) type qt. */
static struct vn_dns_question question(const uint8_t *name, size_t nl, uint16_t qt)
{
    struct vn_dns_question q;
    memset(&q, 0, sizeof q);
    memcpy(q.name, name, nl);
    q.name_len = (uint16_t)nl;
    q.qtype = qt;
    q.qclass = VN_DNS_C_IN;
    return q;
}

/* Start an answer (id 0xabcd, QR RD RA, rcode) to name type qt in m; returns
 * its length. */
static size_t start(uint8_t *m, size_t cap, const uint8_t *name, size_t nl, uint16_t qt,
                    unsigned rcode)
{
    struct vn_dns_msg q;
    memset(&q, 0, sizeof q);
    q.h.id = 0xabcd;
    q.h.flags = VN_DNS_F_RD;
    q.has_q = true;
    q.q = question(name, nl, qt);
    size_t n = vn_dns_reply_init(m, cap, &q, 0, rcode);
    assert_true(n > 0);
    return n;
}

/* Append a record owned by the question name (pointer to offset 12) to
 * section sec (AN, NS or AR; sections must be written in order). */
static size_t add_rr(uint8_t *m, size_t len, int sec, uint16_t type, uint32_t ttl,
                     const void *rd, uint16_t rdlen)
{
    uint8_t *p = m + len;
    vn_dns_put16(p, 0xc000 | VN_DNS_HLEN);
    vn_dns_put16(p + 2, type);
    vn_dns_put16(p + 4, VN_DNS_C_IN);
    vn_dns_put16(p + 6, (uint16_t)(ttl >> 16));
    vn_dns_put16(p + 8, (uint16_t)ttl);
    vn_dns_put16(p + 10, rdlen);
    memcpy(p + 12, rd, rdlen);
    vn_dns_put16(m + sec, (uint16_t)(vn_dns_get16(m + sec) + 1));
    return len + 12 + rdlen;
}

/* Append to the authority section an SOA with this TTL and MINIMUM, its MNAME
 * and RNAME compressed against the question name. */
static size_t add_soa(uint8_t *m, size_t len, uint32_t ttl, uint32_t minimum)
{
    uint8_t rd[64];
    size_t n = 0;
    memcpy(rd, "\2ns\xc0\x0c", 5); /* ns.<qname> */
    n += 5;
    memcpy(rd + n, "\4host\xc0\x0c", 7);
    n += 7;
    const uint32_t f[5] = { 2024010101u, 7200, 900, 1209600, minimum };
    for (int i = 0; i < 5; i++, n += 4) {
        vn_dns_put16(rd + n, (uint16_t)(f[i] >> 16));
        vn_dns_put16(rd + n + 2, (uint16_t)f[i]);
    }
    return add_rr(m, len, NS, VN_DNS_T_SOA, ttl, rd, (uint16_t)n);
}

/* Append an OPT record (UDP size 1232), DO bit as asked. */
static size_t add_opt(uint8_t *m, size_t cap, size_t len, bool do_bit)
{
    size_t n = vn_dns_add_opt(m, cap, len, 1232);
    assert_true(n > 0);
    if (do_bit)
        m[len + 7] |= 0x80;
    return n;
}

/* A plain answer: www.Example.com A ip with this TTL. */
static size_t answer_a(uint8_t *m, const uint8_t *ip, uint32_t ttl)
{
    size_t n = start(m, 2048, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NOERROR);
    return add_rr(m, n, AN, VN_DNS_T_A, ttl, ip, 4);
}

/* An answer for the n-th name "hN.test" (A, TTL 300, address from n). */
static size_t answer_n(uint8_t *m, unsigned n, uint8_t *name, size_t *nl)
{
    char text[32];
    snprintf(text, sizeof text, "h%u.test", n);
    int l = vn_dns_name_from_text(text, name, VN_DNS_NAME_MAX + 1);
    assert_true(l > 0);
    *nl = (size_t)l;
    size_t len = start(m, 2048, name, *nl, VN_DNS_T_A, VN_DNS_R_NOERROR);
    const uint8_t ip[4] = { 10, (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };
    return add_rr(m, len, AN, VN_DNS_T_A, 300, ip, 4);
}

/* Whether hN.test is in the cache at now (a get that hits). */
static bool has_n(struct vn_dns_cache *c, unsigned n, uint64_t now)
{
    uint8_t m[2048], name[VN_DNS_NAME_MAX + 1], out[2048];
    size_t nl;
    size_t len = answer_n(m, n, name, &nl);
    struct vn_dns_question q = question(name, nl, VN_DNS_T_A);
    size_t got = vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, now);
    if (got)
        assert_int_equal(got, len);
    return got != 0;
}

/* Offset of the TTL of the first record after the question. */
static size_t first_ttl(size_t nl) { return VN_DNS_HLEN + nl + 4 + 2 + 4; }

static void test_round_trip(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(8);
    assert_non_null(c);
    uint8_t m[2048], out[2048];
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 1000), 0);

    struct vn_dns_question q = question(WWW_UP, sizeof WWW_UP, VN_DNS_T_A);
    size_t got = vn_dns_cache_get(c, &q, false, false, 0x1234, out, sizeof out, 1000);
    assert_int_equal(got, len);
    assert_int_equal(vn_dns_get16(out), 0x1234);
    assert_memory_equal(out + 2, m + 2, VN_DNS_HLEN - 2);
    assert_memory_equal(out + VN_DNS_HLEN, WWW_UP, sizeof WWW_UP); /* the guest's spelling */
    size_t qend = VN_DNS_HLEN + sizeof WWW;
    assert_memory_equal(out + qend, m + qend, len - qend); /* age 0: TTLs unchanged */
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(out, got, &r), 0);
    assert_true(vn_dns_question_eq(&r.q, &q));
    assert_int_equal(r.h.ancount, 1);

    /* another spelling, another id */
    q = question(WWW, sizeof WWW, VN_DNS_T_A);
    got = vn_dns_cache_get(c, &q, false, false, 7, out, sizeof out, 1001);
    assert_int_equal(got, len);
    assert_int_equal(vn_dns_get16(out), 7);
    assert_memory_equal(out + VN_DNS_HLEN, WWW, sizeof WWW);

    /* another type or class: a miss */
    q = question(WWW, sizeof WWW, VN_DNS_T_AAAA);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 7, out, sizeof out, 1001), 0);
    q = question(WWW, sizeof WWW, VN_DNS_T_A);
    q.qclass = 3;
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 7, out, sizeof out, 1001), 0);
    /* a name that only differs beyond case */
    static const uint8_t WW2[] = "\3www\7Examplf\3com";
    q = question(WW2, sizeof WW2, VN_DNS_T_A);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 7, out, sizeof out, 1001), 0);

    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 3);
    assert_int_equal(st.inserts, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.max, 8);
    assert_int_equal(st.uncacheable, 0);

    /* trailing bytes after the last record are not kept */
    memset(m + len, 0xee, 5);
    assert_int_equal(vn_dns_cache_put(c, m, len + 5, false, false, 1000), 0);
    q = question(WWW, sizeof WWW, VN_DNS_T_A);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 7, out, sizeof out, 1000), len);
    vn_dns_cache_free(c);
    vn_dns_cache_free(NULL);
}

static void test_ttl_decrement(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048], out[2048];
    size_t len = answer_a(m, IP1, 300);
    size_t ns_ttl = len + 6;
    len = add_rr(m, len, NS, VN_DNS_T_NS, 400, "\2ns\xc0\x0c", 5);
    size_t ar_ttl = len + 6;
    len = add_rr(m, len, AR, VN_DNS_T_A, 50, IP2, 4);
    size_t ar2_ttl = len + 6;
    len = add_rr(m, len, AR, VN_DNS_T_A, 0x80000010u, IP2, 4); /* RFC 2181: means 0 */
    size_t opt = len;
    len = add_opt(m, sizeof m, len, true);
    assert_int_equal(vn_dns_cache_put(c, m, len, true, false, 1000), 0);

    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    assert_int_equal(vn_dns_cache_get(c, &q, true, false, 1, out, sizeof out, 1005), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 295);
    assert_int_equal(get32(out + ns_ttl), 395);
    assert_int_equal(get32(out + ar_ttl), 45);
    assert_int_equal(get32(out + ar2_ttl), 0);
    assert_memory_equal(out + opt, m + opt, 11); /* OPT untouched (DO flag kept) */

    /* additional TTL never below 0 */
    assert_int_equal(vn_dns_cache_get(c, &q, true, false, 1, out, sizeof out, 1060), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 240);
    assert_int_equal(get32(out + ar_ttl), 0);
    /* the stored copy is not changed by a hit */
    assert_int_equal(vn_dns_cache_get(c, &q, true, false, 1, out, sizeof out, 1001), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 299);
    /* a clock that went back: age 0 */
    assert_int_equal(vn_dns_cache_get(c, &q, true, false, 1, out, sizeof out, 900), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 300);
    vn_dns_cache_free(c);
}

static void test_expiry(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048], out[2048];
    size_t len = answer_a(m, IP1, 30);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 100), 0);
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 129), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 1);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 130), 0);
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    /* gone: a plain miss now */
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 131), 0);
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.expired, 1);
    assert_int_equal(st.misses, 2);
    vn_dns_cache_free(c);
}

static void test_lifetimes(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048], out[2048];
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);

    /* the smallest TTL of answer and authority records */
    size_t len = answer_a(m, IP1, 300);
    len = add_rr(m, len, AN, VN_DNS_T_A, 120, IP2, 4);
    len = add_rr(m, len, AN, VN_DNS_T_A, 200, IP2, 4);
    len = add_rr(m, len, NS, VN_DNS_T_NS, 60, "\2ns\xc0\x0c", 5);
    len = add_rr(m, len, AR, VN_DNS_T_A, 10, IP2, 4); /* additional: not counted */
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 59), len);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 60), 0);

    /* the cap */
    len = answer_a(m, IP1, 86400);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 3599), len);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 86400 - 3599);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 3600), 0);

    /* lifetime 0: TTL 0 anywhere in answer or authority, or a TTL over 2^31 - 1 */
    len = answer_a(m, IP1, 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = answer_a(m, IP1, 300);
    len = add_rr(m, len, NS, VN_DNS_T_NS, 0, "\2ns\xc0\x0c", 5);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = answer_a(m, IP1, 0x80000000u);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.uncacheable, 3);
    assert_int_equal(st.entries, 0);
    vn_dns_cache_free(c);
}

static void test_negative(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048], out[2048];
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);

    /* NXDOMAIN: min(SOA TTL 900, MINIMUM 300) */
    size_t len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    size_t soa_ttl = len + 6;
    len = add_soa(m, len, 900, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 299), len);
    assert_int_equal(out[3] & 0xf, VN_DNS_R_NXDOMAIN);
    assert_int_equal(get32(out + soa_ttl), 900 - 299);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 300), 0);

    /* NODATA (NOERROR, no answer): min(SOA TTL 60, MINIMUM 3600) */
    q = question(WWW, sizeof WWW, VN_DNS_T_AAAA);
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_AAAA, VN_DNS_R_NOERROR);
    len = add_rr(m, len, NS, VN_DNS_T_NS, 5, "\2ns\xc0\x0c", 5); /* not the SOA: ignored */
    len = add_soa(m, len, 60, 3600);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 59), len);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 60), 0);

    /* NXDOMAIN at the end of a CNAME chain: the CNAME bounds it too */
    q = question(WWW, sizeof WWW, VN_DNS_T_A);
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    len = add_rr(m, len, AN, VN_DNS_T_CNAME, 20, "\1x\xc0\x0c", 4);
    len = add_soa(m, len, 900, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 19), len);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 20), 0);

    /* without SOA: not cached (NXDOMAIN, NODATA, a referral) */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NOERROR);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = add_rr(m, len, NS, VN_DNS_T_NS, 300, "\2ns\xc0\x0c", 5);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    /* an SOA in the additional section does not count */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    len = add_soa(m, len, 900, 300);
    m[NS + 1] = 0;
    m[AR + 1] = 1;
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    /* a malformed SOA: RDATA one byte short, or one byte too long */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    size_t rr = len;
    len = add_soa(m, len, 900, 300);
    size_t rdlen = vn_dns_get16(m + rr + 10);
    vn_dns_put16(m + rr + 10, (uint16_t)(rdlen - 1));
    assert_int_equal(vn_dns_cache_put(c, m, len - 1, false, false, 0), 1);
    vn_dns_put16(m + rr + 10, (uint16_t)(rdlen + 1));
    m[len] = 0;
    assert_int_equal(vn_dns_cache_put(c, m, len + 1, false, false, 0), 1);
    /* SOA lifetime 0 */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    len = add_soa(m, len, 900, 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    vn_dns_cache_free(c);
}

static void test_uncacheable(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[4096];
    unsigned refused = 0;
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0); /* the base is fine */

#define REFUSE(mutation)                                                                     \
    do {                                                                                     \
        len = answer_a(m, IP1, 300);                                                         \
        mutation;                                                                            \
        assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);                   \
        refused++;                                                                           \
    } while (0)

    REFUSE(m[2] |= VN_DNS_F_TC >> 8);                                   /* truncated */
    REFUSE(m[3] = (uint8_t)((m[3] & 0xf0) | VN_DNS_R_SERVFAIL));        /* SERVFAIL */
    REFUSE(m[3] = (uint8_t)((m[3] & 0xf0) | VN_DNS_R_REFUSED));         /* REFUSED */
    REFUSE(m[3] = (uint8_t)((m[3] & 0xf0) | VN_DNS_R_FORMERR));         /* FORMERR */
    REFUSE(m[2] &= 0x7f);                                               /* a query, QR clear */
    REFUSE(m[2] |= 0x10);                                               /* opcode 2 (STATUS) */
    REFUSE(m[5] = 2);                                                   /* two questions */
    REFUSE(m[5] = 0);                                                   /* no question */
    REFUSE(len = 12);                                                   /* header alone */
    REFUSE(len = 0);                                                    /* nothing */
    /* an extended rcode in the OPT record (BADVERS = 16) */
    REFUSE(len = add_opt(m, sizeof m, len, false); m[len - 6] = 1);
    /* oversized: a TXT record taking the answer past 1232 bytes */
    static uint8_t big[1300];
    REFUSE(len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_TXT, 0);
           len = add_rr(m, len, AN, VN_DNS_T_TXT, 300, big, 1200));
    /* more than VN_DNS_CACHE_MAX_RRS records */
    REFUSE(for (int i = 1; i < VN_DNS_CACHE_MAX_RRS + 1; i++) len =
               add_rr(m, len, AN, VN_DNS_T_A, 300, IP2, 4));
    /* records promised but absent */
    REFUSE(m[AN + 1] = 2);
    /* question names that are not a label sequence at offset 12 (a pointer to
     * itself, or into the header's id) */
    REFUSE(m[12] = 0xc0; m[13] = 0x0c);
    REFUSE(m[12] = 0xc0; m[13] = 0x00);
#undef REFUSE

    /* exactly at the limits: 1232 bytes and 64 records are fine */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_TXT, 0);
    len = add_rr(m, len, AN, VN_DNS_T_TXT, 300, big,
                 (uint16_t)(VN_DNS_CACHE_MSG_MAX - len - 12));
    assert_int_equal(len, VN_DNS_CACHE_MSG_MAX);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    len = answer_a(m, IP1, 300);
    for (int i = 1; i < VN_DNS_CACHE_MAX_RRS; i++)
        len = add_rr(m, len, AN, VN_DNS_T_A, 300, IP2, 4);
    len = add_opt(m, sizeof m, len, false); /* the OPT does not count */
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);

    /* A compressed question that parses: a pointer to offset 10, where the zero
     * high byte of ARCOUNT reads as the root name. Well formed, but the name
     * cannot be rewritten in place on a hit: refused. The same answer with the
     * root name written out is fine. */
    uint8_t cq[] = { 0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x0a, 0, 1, 0, 1,
                     0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1 };
    struct vn_dns_msg pm;
    assert_int_equal(vn_dns_msg_parse(cq, sizeof cq, &pm), 0);
    assert_int_equal(pm.q.name_len, 1);
    assert_int_equal(vn_dns_cache_put(c, cq, sizeof cq, false, false, 0), 1);
    refused++;
    uint8_t rq[] = { 0xab, 0xcd, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1,
                     0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 192, 0, 2, 1 };
    assert_int_equal(vn_dns_cache_put(c, rq, sizeof rq, false, false, 0), 0);

    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.uncacheable, refused);
    assert_int_equal(st.inserts, 4);
    /* bad arguments */
    assert_int_equal(vn_dns_cache_put(NULL, m, len, false, false, 0), -1);
    assert_int_equal(vn_dns_cache_put(c, NULL, 10, false, false, 0), -1);
    vn_dns_cache_free(c);
}

/* www.Example.com A, its TTL 0x01410000 (which reads as the name "A.": 01 'A'
 * 00), then one record of section sec, type and RDATA as given; returns the
 * length and sets *ttl to the offset of that TTL. */
static size_t with_rr(uint8_t *m, size_t *ttl, int sec, uint16_t type, const void *rd,
                      uint16_t rdlen)
{
    size_t len = answer_a(m, IP1, 0x01410000u);
    *ttl = len - 4 - 2 - 4;
    return add_rr(m, len, sec, type, 300, rd, rdlen);
}

static void test_names(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048];
    struct vn_dns_msg pm;
    size_t ttl, len;
    /* A name compressed against the TTL would change as the TTL is aged on a
     * hit: a pointer to it in the RDATA of NS, PTR, CNAME, MX. */
    uint8_t rd[4];
    len = with_rr(m, &ttl, NS, VN_DNS_T_NS, "\0\0", 2); /* to learn ttl */
    const uint8_t ptr[2] = { (uint8_t)(0xc0 | ttl >> 8), (uint8_t)ttl };
    const uint16_t types[] = { VN_DNS_T_NS, VN_DNS_T_PTR, VN_DNS_T_CNAME, T_MX_TEST };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        bool mx = types[i] == T_MX_TEST;
        rd[0] = 0;
        rd[1] = 10;
        memcpy(rd + (mx ? 2 : 0), ptr, 2);
        len = with_rr(m, &ttl, NS, types[i], rd, mx ? 4 : 2);
        assert_int_equal(vn_dns_msg_parse(m, len, &pm), 0);
        assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
        /* the same pointer in an RDATA type kept opaque (TXT) is not looked at */
        len = with_rr(m, &ttl, NS, VN_DNS_T_TXT, rd, mx ? 4 : 2);
        assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    }
    /* an owner name through the TTL */
    len = with_rr(m, &ttl, AR, VN_DNS_T_A, IP2, 4);
    memcpy(m + len - 16, ptr, 2);
    assert_int_equal(vn_dns_msg_parse(m, len, &pm), 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    /* names compressed against the question are fine */
    len = with_rr(m, &ttl, NS, VN_DNS_T_NS, "\2ns\xc0\x0c", 5);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    len = with_rr(m, &ttl, NS, T_MX_TEST, "\0\12\2mx\xc0\x0c", 7);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);

    /* through the id: with id 0 the byte at offset 0 reads as the root name */
    len = answer_a(m, IP1, 300);
    m[0] = m[1] = 0;
    m[len - 16] = 0xc0;
    m[len - 15] = 0x00; /* the answer's owner: pointer to offset 0 */
    assert_int_equal(vn_dns_msg_parse(m, len, &pm), 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    m[len - 15] = 0x0a; /* offset 10, ARCOUNT's high byte, not rewritten: fine */
    assert_int_equal(vn_dns_msg_parse(m, len, &pm), 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);

    /* RDATA names of the known types must be whole and fill the RDATA */
    len = with_rr(m, &ttl, AN, VN_DNS_T_CNAME, "\1x\xc0\x0c", 4);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    len = with_rr(m, &ttl, AN, VN_DNS_T_CNAME, "\1x\xc0\x0c\0", 5); /* a byte too many */
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = with_rr(m, &ttl, AN, VN_DNS_T_CNAME, "\1x\xc0", 3); /* cut in its pointer */
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = with_rr(m, &ttl, AN, VN_DNS_T_CNAME, "", 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    len = with_rr(m, &ttl, AN, T_MX_TEST, "\0\12", 2); /* MX without its name */
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    /* an SOA answer (positive) is checked too */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_SOA, 0);
    len = add_soa(m, len, 300, 300);
    m[AN + 1] = 1;
    m[NS + 1] = 0;
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    m[len - 20 - 7] = 0x3f; /* RNAME's label length now runs past the RDATA */
    assert_int_equal(vn_dns_msg_parse(m, len, &pm), 0);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    vn_dns_cache_free(c);
}

/* Every proper prefix of answer m (len bytes), each in an exact-size heap
 * buffer so that AddressSanitizer sees any over-read, is refused. */
static void all_prefixes_refused(struct vn_dns_cache *c, const uint8_t *m, size_t len)
{
    for (size_t l = 0; l < len; l++) {
        uint8_t *p = malloc(l ? l : 1);
        assert_non_null(p);
        memcpy(p, m, l);
        assert_int_equal(vn_dns_cache_put(c, p, l, false, false, 0), 1);
        free(p);
    }
    uint8_t *p = malloc(len);
    memcpy(p, m, len);
    assert_int_equal(vn_dns_cache_put(c, p, len, false, false, 0), 0);
    free(p);
}

static void test_truncated(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048];
    /* positive: answers, authority, additional and OPT */
    size_t len = answer_a(m, IP1, 300);
    len = add_rr(m, len, AN, VN_DNS_T_CNAME, 300, "\1x\xc0\x0c", 4);
    len = add_rr(m, len, NS, VN_DNS_T_NS, 300, "\2ns\xc0\x0c", 5);
    len = add_rr(m, len, AR, VN_DNS_T_A, 300, IP2, 4);
    len = add_opt(m, sizeof m, len, true);
    all_prefixes_refused(c, m, len);
    /* negative with its SOA */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, VN_DNS_R_NXDOMAIN);
    len = add_soa(m, len, 900, 300);
    len = add_opt(m, sizeof m, len, false);
    all_prefixes_refused(c, m, len);
    /* and the DO helper on every prefix of a query */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, 0);
    len = add_opt(m, sizeof m, len, true);
    for (size_t l = 0; l < len; l++) {
        uint8_t *p = malloc(l ? l : 1);
        memcpy(p, m, l);
        assert_false(vn_dns_query_do_bit(p, l));
        free(p);
    }
    vn_dns_cache_free(c);
}

static void test_lru(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(3);
    uint8_t m[2048], name[VN_DNS_NAME_MAX + 1];
    size_t nl;
    for (unsigned n = 1; n <= 3; n++)
        assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, n, name, &nl), false, false, 0), 0);
    assert_true(has_n(c, 1, 1)); /* 1 is now the most recently used: 2 goes first */
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 4, name, &nl), false, false, 1), 0);
    assert_false(has_n(c, 2, 2));
    assert_true(has_n(c, 3, 2));
    assert_true(has_n(c, 1, 2));
    assert_true(has_n(c, 4, 2)); /* order now, oldest first: 3 1 4 */
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 5, name, &nl), false, false, 3), 0);
    assert_false(has_n(c, 3, 3));
    assert_true(has_n(c, 1, 3));
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.expired, 0);
    /* a replaced key becomes the most recently used; no eviction */
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 4, name, &nl), false, false, 4), 0);
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 6, name, &nl), false, false, 4), 0);
    assert_false(has_n(c, 5, 4)); /* order was 5 1 4 (1 touched at 3, 4 replaced) */
    /* when the oldest entry's time is over, making room counts an expiry */
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 7, name, &nl), false, false, 400), 0);
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.evictions, 3);
    assert_int_equal(st.expired, 1);
    vn_dns_cache_free(c);

    /* many more names than entries: the last max ones remain */
    c = vn_dns_cache_new(100);
    for (unsigned n = 0; n < 1000; n++)
        assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, n, name, &nl), false, false, 0), 0);
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.entries, 100);
    assert_int_equal(st.evictions, 900);
    for (unsigned n = 0; n < 1000; n++)
        assert_int_equal(has_n(c, n, 1), n >= 900);
    vn_dns_cache_free(c);
}

static void test_replace(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    uint8_t m[2048], out[2048];
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    len = answer_a(m, IP2, 60);
    m[VN_DNS_HLEN + 1] = 'W'; /* another spelling of the same key */
    len = add_rr(m, len, AN, VN_DNS_T_A, 60, IP1, 4);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 10), 0);
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.inserts, 2);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 20), len);
    assert_memory_equal(out + VN_DNS_HLEN, WWW, sizeof WWW);
    assert_memory_equal(out + len - 16 - 4, IP2, 4);
    assert_int_equal(get32(out + first_ttl(sizeof WWW)), 50); /* aged from 10, not 0 */
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 70), 0);
    vn_dns_cache_free(c);
}

static void test_bits(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(8);
    uint8_t m[2048], out[2048];
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, true, false, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, true, 1, out, sizeof out, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, true, true, 1, out, sizeof out, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, true, false, 1, out, sizeof out, 0), len);
    /* the four combinations live side by side, each with its own answer */
    for (int b = 0; b < 4; b++) {
        const uint8_t ip[4] = { 10, 0, 0, (uint8_t)b };
        len = answer_a(m, ip, 300);
        assert_int_equal(vn_dns_cache_put(c, m, len, b & 1, b & 2, 0), 0);
    }
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.entries, 4);
    for (int b = 0; b < 4; b++) {
        assert_int_equal(vn_dns_cache_get(c, &q, b & 1, b & 2, 1, out, sizeof out, 0), len);
        assert_int_equal(out[len - 1], b);
    }
    vn_dns_cache_free(c);
}

static void test_disabled(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(0);
    assert_non_null(c);
    uint8_t m[2048], out[2048];
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 1);
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, sizeof out, 0), 0);
    vn_dns_cache_flush(c);
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.max, 0);
    assert_int_equal(st.inserts, 0);
    assert_int_equal(st.uncacheable, 0);
    assert_int_equal(st.misses, 1);
    vn_dns_cache_free(c);
    /* absurd sizes are refused */
    assert_null(vn_dns_cache_new(VN_DNS_CACHE_MAX_ENTRIES + 1));
    assert_null(vn_dns_cache_new(UINT32_MAX));
}

static void test_flush(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(2);
    uint8_t m[2048], name[VN_DNS_NAME_MAX + 1];
    size_t nl;
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 1, name, &nl), false, false, 0), 0);
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 2, name, &nl), false, false, 0), 0);
    vn_dns_cache_flush(c);
    struct vn_dns_cache_stats st;
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.inserts, 2); /* counters are kept */
    assert_false(has_n(c, 1, 0));
    assert_false(has_n(c, 2, 0));
    /* the pool is whole again */
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 3, name, &nl), false, false, 0), 0);
    assert_int_equal(vn_dns_cache_put(c, m, answer_n(m, 4, name, &nl), false, false, 0), 0);
    assert_true(has_n(c, 3, 0));
    assert_true(has_n(c, 4, 0));
    vn_dns_cache_stats(c, &st);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.entries, 2);
    vn_dns_cache_free(c);
}

static void test_small_cap(void **state)
{
    (void)state;
    struct vn_dns_cache *c = vn_dns_cache_new(2);
    uint8_t m[2048], out[2048];
    size_t len = answer_a(m, IP1, 300);
    assert_int_equal(vn_dns_cache_put(c, m, len, false, false, 0), 0);
    struct vn_dns_question q = question(WWW, sizeof WWW, VN_DNS_T_A);
    memset(out, 0x55, sizeof out);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, len - 1, 0), 0);
    assert_int_equal(out[0], 0x55); /* nothing written */
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, NULL, 0, 0), 0);
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, len, 0), len); /* kept */
    /* bad questions */
    assert_int_equal(vn_dns_cache_get(c, NULL, false, false, 1, out, len, 0), 0);
    q.name_len = 0;
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, len, 0), 0);
    q.name_len = VN_DNS_NAME_MAX + 1;
    assert_int_equal(vn_dns_cache_get(c, &q, false, false, 1, out, len, 0), 0);
    assert_int_equal(vn_dns_cache_get(NULL, &q, false, false, 1, out, len, 0), 0);
    vn_dns_cache_free(c);
}

static void test_query_bits(void **state)
{
    (void)state;
    uint8_t m[2048];
    size_t len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, 0);
    assert_false(vn_dns_query_do_bit(m, len)); /* no OPT */
    size_t l2 = add_opt(m, sizeof m, len, false);
    assert_false(vn_dns_query_do_bit(m, l2));
    m[AR + 1] = 0;
    l2 = add_opt(m, sizeof m, len, true);
    assert_true(vn_dns_query_do_bit(m, l2));
    /* other flag bits alone are not DO */
    m[len + 7] = 0x7f;
    m[len + 8] = 0xff;
    assert_false(vn_dns_query_do_bit(m, l2));
    /* the OPT after other records */
    len = start(m, sizeof m, WWW, sizeof WWW, VN_DNS_T_A, 0);
    len = add_rr(m, len, AR, VN_DNS_T_A, 1, IP1, 4);
    len = add_opt(m, sizeof m, len, true);
    assert_true(vn_dns_query_do_bit(m, len));
    assert_false(vn_dns_query_do_bit(NULL, 0));
    /* a malformed message: false */
    m[AR + 1] = 3;
    assert_false(vn_dns_query_do_bit(m, len));

    assert_false(vn_dns_query_cd_bit(m, len));
    m[3] |= VN_DNS_CACHE_F_CD;
    assert_true(vn_dns_query_cd_bit(m, len));
    assert_false(vn_dns_query_cd_bit(m, 11));
    assert_false(vn_dns_query_cd_bit(NULL, 12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_ttl_decrement),
        cmocka_unit_test(test_expiry),       cmocka_unit_test(test_lifetimes),
        cmocka_unit_test(test_negative),     cmocka_unit_test(test_uncacheable),
        cmocka_unit_test(test_truncated),    cmocka_unit_test(test_lru),
        cmocka_unit_test(test_replace),      cmocka_unit_test(test_bits),
        cmocka_unit_test(test_disabled),     cmocka_unit_test(test_flush),
        cmocka_unit_test(test_small_cap),    cmocka_unit_test(test_query_bits),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
