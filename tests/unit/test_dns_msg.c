/* Unit tests of the DNS wire helpers (src/gw/dns_msg.c): question parsing,
 * EDNS0, name decompression and its loop guard, bounds on every read, name
 * text conversions, suffix matching, reverse names and the reply builders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/dns_msg.h"

#include <stdlib.h>
#include <string.h>

/* A query for name (wire form, nl bytes) type qt, with an OPT of edns bytes
 * (0 = none); returns its length. */
static size_t mkquery(uint8_t *m, const void *name, size_t nl, uint16_t qt, uint16_t edns)
{
    static const uint8_t h[12] = { 0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
    memcpy(m, h, 12);
    memcpy(m + 12, name, nl);
    size_t o = 12 + nl;
    vn_dns_put16(m + o, qt);
    vn_dns_put16(m + o + 2, 1);
    o += 4;
    if (edns) {
        m[11] = 1;
        m[o] = 0;
        vn_dns_put16(m + o + 1, VN_DNS_T_OPT);
        vn_dns_put16(m + o + 3, edns);
        memset(m + o + 5, 0, 6);
        o += 11;
    }
    return o;
}

static const uint8_t WWW[] = "\3www\7Example\3com"; /* + root from the string's NUL */

static void test_parse_query(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_AAAA, 0);
    struct vn_dns_msg q;
    assert_int_equal(vn_dns_msg_parse(m, n, &q), 0);
    assert_int_equal(q.h.id, 0xabcd);
    assert_int_equal(q.h.flags, VN_DNS_F_RD);
    assert_true(q.has_q);
    assert_int_equal(q.q.name_len, sizeof WWW);
    assert_memory_equal(q.q.name, WWW, sizeof WWW);
    assert_int_equal(q.q.qtype, VN_DNS_T_AAAA);
    assert_int_equal(q.q.qclass, VN_DNS_C_IN);
    assert_false(q.edns);
    /* EDNS0 */
    n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_A, 4096);
    assert_int_equal(vn_dns_msg_parse(m, n, &q), 0);
    assert_true(q.edns);
    assert_int_equal(q.edns_size, 4096);
    /* trailing bytes are ignored */
    assert_int_equal(vn_dns_msg_parse(m, n + 3, &q), 0);
    /* every truncation of a valid message is rejected */
    for (size_t l = 0; l < n; l++)
        assert_int_equal(vn_dns_msg_parse(m, l, &q), -1);
    /* two questions, or records promised but absent */
    n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_A, 0);
    m[5] = 2;
    assert_int_equal(vn_dns_msg_parse(m, n, &q), -1);
    m[5] = 1;
    m[7] = 1;
    assert_int_equal(vn_dns_msg_parse(m, n, &q), -1);
    /* no question at all is well formed */
    uint8_t h[12] = { 0 };
    assert_int_equal(vn_dns_msg_parse(h, 12, &q), 0);
    assert_false(q.has_q);
}

static void test_opt_rules(void **state)
{
    (void)state;
    uint8_t m[512];
    size_t n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_A, 1232);
    struct vn_dns_msg q;
    /* two OPT records */
    memcpy(m + n, m + n - 11, 11);
    m[11] = 2;
    assert_int_equal(vn_dns_msg_parse(m, n + 11, &q), -1);
    /* OPT in the answer section */
    m[11] = 0;
    m[7] = 1;
    assert_int_equal(vn_dns_msg_parse(m, n, &q), -1);
    /* OPT with a non-root owner */
    n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_A, 0);
    static const uint8_t opt[] = { 1, 'x', 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0 };
    memcpy(m + n, opt, sizeof opt);
    m[11] = 1;
    assert_int_equal(vn_dns_msg_parse(m, n + sizeof opt, &q), -1);
    /* rdlength beyond the end */
    uint8_t rr[] = { 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 1, 2 };
    memcpy(m + n, rr, sizeof rr);
    assert_int_equal(vn_dns_msg_parse(m, n + sizeof rr, &q), -1);
    rr[10] = 2;
    memcpy(m + n, rr, sizeof rr);
    assert_int_equal(vn_dns_msg_parse(m, n + sizeof rr, &q), 0);
    assert_true(q.edns);
}

static void test_compression(void **state)
{
    (void)state;
    uint8_t out[VN_DNS_NAME_MAX + 1];
    size_t next = 0;
    /* header, then "a.example" at 12, then "b" + pointer to "example" (14) */
    uint8_t m[64] = { 0 };
    static const uint8_t n1[] = "\1a\7example";
    memcpy(m + 12, n1, sizeof n1); /* 12..22 */
    size_t o = 12 + sizeof n1;
    m[o] = 1;
    m[o + 1] = 'b';
    m[o + 2] = 0xc0;
    m[o + 3] = 14;
    assert_int_equal(vn_dns_name_read(m, o + 4, o, out, &next), 11);
    assert_int_equal(next, o + 4);
    assert_memory_equal(out, "\1b\7example", 11);
    /* pointer to itself */
    m[o] = 0xc0;
    m[o + 1] = (uint8_t)o;
    assert_int_equal(vn_dns_name_read(m, o + 2, o, out, &next), -1);
    /* forward pointer */
    m[o + 1] = (uint8_t)(o + 2);
    m[o + 2] = 0;
    assert_int_equal(vn_dns_name_read(m, o + 3, o, out, &next), -1);
    /* a loop through a label: 30: "\1x" ptr->30 */
    uint8_t l[40] = { 0 };
    l[30] = 1;
    l[31] = 'x';
    l[32] = 0xc0;
    l[33] = 30;
    assert_int_equal(vn_dns_name_read(l, 34, 30, out, &next), -1);
    /* two pointers pointing at each other */
    l[20] = 0xc0;
    l[21] = 22;
    l[22] = 0xc0;
    l[23] = 20;
    assert_int_equal(vn_dns_name_read(l, 24, 22, out, &next), -1);
    assert_int_equal(vn_dns_name_read(l, 24, 20, out, &next), -1);
    /* pointer cut in half, pointer out of the message */
    l[25] = 0xc0;
    assert_int_equal(vn_dns_name_read(l, 26, 25, out, &next), -1);
    l[26] = 0x3f;
    assert_int_equal(vn_dns_name_read(l, 27, 25, out, &next), -1);
    /* reserved label types 0x40 and 0x80 */
    l[0] = 0x41;
    assert_int_equal(vn_dns_name_read(l, 40, 0, out, &next), -1);
    l[0] = 0x81;
    assert_int_equal(vn_dns_name_read(l, 40, 0, out, &next), -1);
    /* a chain of backward pointers that is legal */
    uint8_t c[32] = { 0 };
    c[12] = 0;          /* root at 12 */
    c[13] = 0xc0;
    c[14] = 12;         /* 13 -> 12 */
    c[15] = 1;
    c[16] = 'z';
    c[17] = 0xc0;
    c[18] = 13;         /* 15: "z" -> 13 -> 12 */
    assert_int_equal(vn_dns_name_read(c, 19, 15, out, &next), 3);
    assert_int_equal(next, 19);
    assert_memory_equal(out, "\1z", 3);
}

static void test_name_bounds(void **state)
{
    (void)state;
    uint8_t out[VN_DNS_NAME_MAX + 1];
    size_t next;
    uint8_t m[600];
    /* 4 labels of 63 = 256 bytes + root: too long; 3 of 63 + one of 61 fits */
    size_t o = 0;
    for (int i = 0; i < 4; i++) {
        m[o++] = 63;
        memset(m + o, 'a', 63);
        o += 63;
    }
    m[o++] = 0;
    assert_int_equal(vn_dns_name_read(m, o, 0, out, &next), -1);
    m[3 * 64] = 61;
    m[3 * 64 + 62] = 0;
    assert_int_equal(vn_dns_name_read(m, 3 * 64 + 63, 0, out, &next), 255);
    /* a long name made by pointers is bounded too */
    uint8_t p[300];
    o = 0;
    for (int i = 0; i < 4; i++) {
        p[o++] = 63;
        memset(p + o, 'b', 63);
        o += 63;
    }
    p[o] = 0xc0; /* pointer back to the start of the same run */
    p[o + 1] = 0;
    assert_int_equal(vn_dns_name_read(p, o + 2, 64, out, &next), -1);
    /* label running past the end */
    uint8_t s[] = { 5, 'a', 'b' };
    assert_int_equal(vn_dns_name_read(s, sizeof s, 0, out, &next), -1);
    assert_int_equal(vn_dns_name_read(s, sizeof s, 3, out, &next), -1);
    /* the random walk: never crashes, never overruns out (ASan checks) */
    srand(7);
    for (int it = 0; it < 20000; it++) {
        uint8_t r[64];
        size_t len = (size_t)(rand() % 64);
        for (size_t i = 0; i < len; i++)
            r[i] = (uint8_t)(rand() % 4 == 0 ? 0xc0 | (rand() & 1) : rand() % 70);
        uint8_t *heap = malloc(len ? len : 1);
        memcpy(heap, r, len);
        int nl = vn_dns_name_read(heap, len, len ? (size_t)rand() % len : 0, out, &next);
        assert_true(nl <= VN_DNS_NAME_MAX);
        if (nl > 0)
            assert_true(next <= len);
        struct vn_dns_msg q;
        (void)vn_dns_msg_parse(heap, len, &q);
        free(heap);
    }
}

static void test_text(void **state)
{
    (void)state;
    uint8_t w[VN_DNS_NAME_MAX + 1];
    char t[300];
    assert_int_equal(vn_dns_name_from_text("Host.vnet.internal.", w, sizeof w), 20);
    assert_memory_equal(w, "\4Host\4vnet\10internal", 20);
    assert_int_equal(vn_dns_name_to_text(w, t, sizeof t), 18);
    assert_string_equal(t, "host.vnet.internal");
    assert_int_equal(vn_dns_name_from_text("", w, sizeof w), 1);
    assert_int_equal(vn_dns_name_to_text(w, t, sizeof t), 0);
    assert_string_equal(t, "");
    assert_int_equal(vn_dns_name_from_text("a..b", w, sizeof w), -1);
    assert_int_equal(vn_dns_name_from_text(".a", w, sizeof w), -1);
    assert_int_equal(vn_dns_name_from_text("a..", w, sizeof w), -1);
    char longl[70];
    memset(longl, 'x', 64);
    longl[64] = 0;
    assert_int_equal(vn_dns_name_from_text(longl, w, sizeof w), -1);
    assert_int_equal(vn_dns_name_from_text("a.b", w, 4), -1); /* cap */
    /* bytes that are no host name characters */
    static const uint8_t odd[] = "\3a.b\0";
    assert_int_equal(vn_dns_name_to_text(odd, t, sizeof t), -1);
    static const uint8_t sp[] = "\3a b";
    assert_int_equal(vn_dns_name_to_text(sp, t, sizeof t), -1);
    /* output too small */
    vn_dns_name_from_text("abc.def", w, sizeof w);
    assert_int_equal(vn_dns_name_to_text(w, t, 7), -1);
    assert_int_equal(vn_dns_name_to_text(w, t, 8), 7);
}

static void test_under_and_ptr(void **state)
{
    (void)state;
    uint8_t dom[256], n[256];
    vn_dns_name_from_text("vnet.internal", dom, sizeof dom);
    vn_dns_name_from_text("db.VNET.internal", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), 3);
    vn_dns_name_from_text("a.b.vnet.internal", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), 4);
    vn_dns_name_from_text("vnet.internal", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), 0);
    vn_dns_name_from_text("xvnet.internal", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), -1);
    vn_dns_name_from_text("internal", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), -1);
    vn_dns_name_from_text("a.vnet.internal.evil", n, sizeof n);
    assert_int_equal(vn_dns_name_under(n, dom), -1);

    uint32_t ip;
    vn_dns_name_from_text("2.2.0.10.in-addr.ARPA", n, sizeof n);
    assert_int_equal(vn_dns_ptr4_parse(n, &ip), 0);
    assert_int_equal(ip, 0x0a000202);
    vn_dns_name_from_text("255.0.0.1.in-addr.arpa", n, sizeof n);
    assert_int_equal(vn_dns_ptr4_parse(n, &ip), 0);
    assert_int_equal(ip, 0x010000ff);
    static const char *bad[] = { "2.0.10.in-addr.arpa", "1.2.2.0.10.in-addr.arpa", "256.2.0.10.in-addr.arpa",
                                 "02.2.0.10.in-addr.arpa", "a.2.0.10.in-addr.arpa",
                                 "2.2.0.10.in-addr.arpa.test", "2.2.0.10.ip6.arpa", "1000.2.0.10.in-addr.arpa" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vn_dns_name_from_text(bad[i], n, sizeof n);
        assert_int_equal(vn_dns_ptr4_parse(n, &ip), -1);
    }
}

#define REV6 "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"

/* RFC 3596 2.5 reverse names: 32 nibble labels, least significant first. */
static void test_ptr6(void **state)
{
    (void)state;
    uint8_t n[256], a[16];
    static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                      0, 0, 0, 0, 0x05, 0x67, 0x89, 0xab };
    vn_dns_name_from_text(REV6 ".ip6.arpa", n, sizeof n);
    assert_int_equal(vn_dns_ptr6_parse(n, a), 0);
    assert_memory_equal(a, want, 16);
    /* Upper-case hex digits and suffix are the same name (DNS is case-insensitive). */
    vn_dns_name_from_text("B.A.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.B.D.0.1.0.0.2.IP6.ARPA.",
                          n, sizeof n);
    assert_int_equal(vn_dns_ptr6_parse(n, a), 0);
    assert_memory_equal(a, want, 16);
    /* Building the name gives it back, and the /64 zone is its suffix. */
    uint8_t b[256], zone[256];
    assert_int_equal(vn_dns_ptr6_name(want, 32, b, sizeof b), 74);
    assert_int_equal(vn_dns_ptr6_parse(b, a), 0);
    assert_memory_equal(a, want, 16);
    char text[256];
    assert_true(vn_dns_name_to_text(b, text, sizeof text) > 0);
    assert_string_equal(text, REV6 ".ip6.arpa");
    assert_int_equal(vn_dns_ptr6_name(want, 16, zone, sizeof zone), 42);
    vn_dns_name_to_text(zone, text, sizeof text);
    assert_string_equal(text, "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
    assert_int_equal(vn_dns_name_under(b, zone), 32);
    assert_int_equal(vn_dns_ptr6_name(want, 0, b, sizeof b), -1);
    assert_int_equal(vn_dns_ptr6_name(want, 33, b, sizeof b), -1);
    assert_int_equal(vn_dns_ptr6_name(want, 32, b, 73), -1); /* no room */
    static const char *bad[] = {
        "a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", /* 31 nibbles */
        "c." REV6 ".ip6.arpa", /* 33 nibbles (too long) */
        "g.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", /* a letter that is no hex digit */
        "-.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", /* punctuation */
        "ba.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", /* a two-nibble label: 32 nibbles in 31 labels */
        /* the IPv4 suffix, the old ip6.int, something below ip6.arpa */
        REV6 ".in-addr.arpa", REV6 ".ip6.int", REV6 ".ip6.arpa.test",
        "0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "ip6.arpa", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(vn_dns_name_from_text(bad[i], n, sizeof n) > 0);
        memset(a, 0x55, sizeof a);
        assert_int_equal(vn_dns_ptr6_parse(n, a), -1);
        assert_int_equal(a[0], 0x55); /* untouched on failure */
    }
    /* A label with a byte that is no hex digit, not expressible as text. */
    vn_dns_ptr6_name(want, 32, b, sizeof b);
    b[1] = 0;
    assert_int_equal(vn_dns_ptr6_parse(b, a), -1);
}

static void test_question_eq(void **state)
{
    (void)state;
    struct vn_dns_question a = { 0 }, b = { 0 };
    a.name_len = (uint16_t)vn_dns_name_from_text("WWW.example.test", a.name, sizeof a.name);
    b.name_len = (uint16_t)vn_dns_name_from_text("www.EXAMPLE.test", b.name, sizeof b.name);
    a.qtype = b.qtype = 1;
    a.qclass = b.qclass = 1;
    assert_true(vn_dns_question_eq(&a, &b));
    b.qtype = 28;
    assert_false(vn_dns_question_eq(&a, &b));
    b.qtype = 1;
    b.name_len = (uint16_t)vn_dns_name_from_text("www.example.invalid", b.name, sizeof b.name);
    assert_false(vn_dns_question_eq(&a, &b));
}

static void test_builders(void **state)
{
    (void)state;
    uint8_t m[512], out[512];
    size_t n = mkquery(m, WWW, sizeof WWW, VN_DNS_T_A, 1232);
    struct vn_dns_msg q, r;
    assert_int_equal(vn_dns_msg_parse(m, n, &q), 0);
    size_t l = vn_dns_reply_init(out, sizeof out, &q, VN_DNS_F_AA, VN_DNS_R_NOERROR);
    assert_int_equal(l, 12 + sizeof WWW + 4);
    static const uint8_t a[4] = { 10, 0, 2, 2 };
    l = vn_dns_add_answer(out, sizeof out, l, VN_DNS_T_A, 10, a, 4);
    l = vn_dns_add_opt(out, sizeof out, l, 1232);
    assert_int_not_equal(l, 0);
    assert_int_equal(vn_dns_msg_parse(out, l, &r), 0);
    assert_int_equal(r.h.id, 0xabcd);
    assert_int_equal(r.h.flags, VN_DNS_F_QR | VN_DNS_F_AA | VN_DNS_F_RD | VN_DNS_F_RA);
    assert_int_equal(r.h.ancount, 1);
    assert_true(r.edns);
    assert_true(vn_dns_question_eq(&q.q, &r.q));
    assert_memory_equal(out + l - 11 - 4, a, 4);
    /* too small buffers */
    assert_int_equal(vn_dns_reply_init(out, 20, &q, 0, 0), 0);
    size_t l0 = vn_dns_reply_init(out, sizeof out, &q, 0, VN_DNS_R_NXDOMAIN);
    assert_int_equal(vn_dns_add_answer(out, l0 + 15, l0, VN_DNS_T_A, 1, a, 4), 0);
    assert_int_equal(vn_dns_add_opt(out, l0 + 10, l0, 512), 0);
    assert_int_equal(out[3] & 0xf, VN_DNS_R_NXDOMAIN);
    /* truncation keeps id, flags + TC and the question only */
    uint8_t t[512];
    size_t tl = vn_dns_truncate(t, sizeof t, out, &r);
    (void)l;
    struct vn_dns_msg tr;
    assert_int_equal(vn_dns_msg_parse(t, tl, &tr), 0);
    assert_true(tr.h.flags & VN_DNS_F_TC);
    assert_int_equal(tr.h.ancount + tr.h.nscount + tr.h.arcount, 0);
    assert_int_equal(tr.h.id, 0xabcd);
    assert_true(vn_dns_question_eq(&tr.q, &q.q));
    assert_int_equal(vn_dns_truncate(t, 12, out, &r), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_query), cmocka_unit_test(test_opt_rules),
        cmocka_unit_test(test_compression), cmocka_unit_test(test_name_bounds),
        cmocka_unit_test(test_text),        cmocka_unit_test(test_under_and_ptr),
        cmocka_unit_test(test_ptr6),
        cmocka_unit_test(test_question_eq), cmocka_unit_test(test_builders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
