/* Unit tests of the DHCPv6 codec (src/gw/dhcp6_msg.c): parsing of every
 * client message type, relay messages recognised and not read, options
 * running past the message or past the IA_NA/IA_TA/IA_PD/IAADDR/IAPREFIX
 * that holds them, identifier length limits, the bounds on IAs (of all
 * kinds together, IA_NAs first) and addresses kept, known options with
 * wrong lengths, unknown options skipped, DUID-LL/LLT MACs, and the reply
 * builder (nesting, status codes, IAs holding only a status, domain list,
 * overflow). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/dhcp6_msg.h"
#include "pkt/eth.h"

#include <string.h>

/* A message under construction. */
struct b {
    uint8_t p[4096];
    size_t n;
};

static void start(struct b *b, uint8_t type, uint32_t xid)
{
    memset(b, 0, sizeof *b);
    b->p[0] = type;
    b->p[1] = (uint8_t)(xid >> 16), b->p[2] = (uint8_t)(xid >> 8), b->p[3] = (uint8_t)xid;
    b->n = 4;
}

static void opt(struct b *b, uint16_t code, const void *v, size_t len)
{
    vn_put_be16(b->p + b->n, code);
    vn_put_be16(b->p + b->n + 2, (uint16_t)len);
    if (len)
        memcpy(b->p + b->n + 4, v, len);
    b->n += 4 + len;
}

/* Open a container option; close it with end() (its length from what follows). */
static size_t begin(struct b *b, uint16_t code, const void *fixed, size_t len)
{
    size_t at = b->n;
    opt(b, code, fixed, len);
    return at;
}

static void end(struct b *b, size_t at)
{
    vn_put_be16(b->p + at + 2, (uint16_t)(b->n - at - 4));
}

static const uint8_t DUID_LL[10] = { 0, 3, 0, 1, 0x52, 0x54, 0, 0, 0, 7 };

static void clientid(struct b *b) { opt(b, VN_D6O_CLIENTID, DUID_LL, sizeof DUID_LL); }

static size_t ia_begin(struct b *b, uint32_t iaid)
{
    uint8_t h[12] = { 0 };
    vn_put_be32(h, iaid);
    vn_put_be32(h + 4, 100);
    vn_put_be32(h + 8, 160);
    return begin(b, VN_D6O_IA_NA, h, sizeof h);
}

/* Open an IA_PD (IAID, T1, T2) or an IA_TA (IAID). */
static size_t pd_begin(struct b *b, uint32_t iaid)
{
    uint8_t h[12] = { 0 };
    vn_put_be32(h, iaid);
    return begin(b, VN_D6O_IA_PD, h, sizeof h);
}

static size_t ta_begin(struct b *b, uint32_t iaid)
{
    uint8_t h[4];
    vn_put_be32(h, iaid);
    return begin(b, VN_D6O_IA_TA, h, sizeof h);
}

/* An IAPREFIX of /56 (preferred, valid, length, prefix) of len bytes. */
static void iaprefix(struct b *b, size_t len)
{
    uint8_t x[25] = { 0, 0, 1, 0x2c, 0, 0, 2, 0x58, 56, 0x20, 0x01, 0x0d, 0xb8 };
    opt(b, VN_D6O_IAPREFIX, x, len);
}

static void iaaddr(struct b *b, uint8_t last)
{
    uint8_t a[24] = { 0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, last };
    vn_put_be32(a + 16, 300);
    vn_put_be32(a + 20, 600);
    opt(b, VN_D6O_IAADDR, a, sizeof a);
}

static int parse(const struct b *b, struct vn_dhcp6_msg *m)
{
    return vn_dhcp6_parse(b->p, b->n, m);
}

static void test_every_type(void **state)
{
    (void)state;
    for (uint8_t t = 1; t <= 11; t++) {
        struct b b;
        struct vn_dhcp6_msg m;
        start(&b, t, 0xabcdef);
        clientid(&b);
        assert_int_equal(parse(&b, &m), 0);
        assert_int_equal(m.type, t);
        assert_int_equal(m.xid, 0xabcdef);
        assert_true(m.has_clientid);
        assert_int_equal(m.clientid_len, 10);
        assert_memory_equal(m.clientid, DUID_LL, 10);
        assert_false(m.has_serverid);
    }
    /* The bare header is a message (with no options). */
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_INFORMATION_REQUEST, 1);
    assert_int_equal(parse(&b, &m), 0);
    assert_false(m.has_clientid);
    /* Shorter than the header. */
    assert_int_equal(vn_dhcp6_parse(b.p, 3, &m), -1);
    assert_int_equal(vn_dhcp6_parse(b.p, 0, &m), -1);
}

static void test_relay_not_read(void **state)
{
    (void)state;
    /* A relay message's body is another layout: never walked as options. */
    uint8_t r[40];
    memset(r, 0xff, sizeof r);
    struct vn_dhcp6_msg m;
    r[0] = VN_DHCP6_RELAY_FORW;
    assert_int_equal(vn_dhcp6_parse(r, sizeof r, &m), 0);
    assert_int_equal(m.type, VN_DHCP6_RELAY_FORW);
    assert_false(m.has_clientid);
    assert_int_equal(m.nia, 0);
    r[0] = VN_DHCP6_RELAY_REPL;
    assert_int_equal(vn_dhcp6_parse(r, 4, &m), 0);
    assert_int_equal(m.type, VN_DHCP6_RELAY_REPL);
}

static void test_solicit_options(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_SOLICIT, 0x123456);
    clientid(&b);
    uint8_t unknown[5] = { 1, 2, 3, 4, 5 };
    opt(&b, 999, unknown, sizeof unknown); /* skipped */
    size_t ia = ia_begin(&b, 0x01020304);
    iaaddr(&b, 0x20);
    opt(&b, 77, unknown, 3); /* unknown inside the IA: skipped */
    end(&b, ia);
    const uint8_t oro[] = { 0, 23, 0, 24 };
    opt(&b, VN_D6O_ORO, oro, sizeof oro);
    const uint8_t el[] = { 0x01, 0x02 };
    opt(&b, VN_D6O_ELAPSED_TIME, el, 2);
    opt(&b, VN_D6O_RAPID_COMMIT, NULL, 0);
    end(&b, pd_begin(&b, 0x01020304)); /* the IA_NA's IAID: another kind */
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nia, 1);
    assert_int_equal(m.ia[0].iaid, 0x01020304);
    assert_int_equal(m.ia[0].t1, 100);
    assert_int_equal(m.ia[0].t2, 160);
    assert_int_equal(m.ia[0].naddr, 1);
    assert_int_equal(m.ia[0].addr[0].addr[15], 0x20);
    assert_int_equal(m.ia[0].addr[0].preferred, 300);
    assert_int_equal(m.ia[0].addr[0].valid, 600);
    assert_true(vn_dhcp6_wants(&m, VN_D6O_DNS_SERVERS));
    assert_true(vn_dhcp6_wants(&m, VN_D6O_DOMAIN_LIST));
    assert_false(vn_dhcp6_wants(&m, VN_D6O_IA_NA));
    assert_true(m.has_elapsed);
    assert_int_equal(m.elapsed, 0x0102);
    assert_true(m.rapid_commit);
    assert_true(m.has_other_ia);
    assert_int_equal(m.nother, 1);
    assert_int_equal(m.other[0].code, VN_D6O_IA_PD);
    assert_int_equal(m.other[0].iaid, 0x01020304);
    assert_int_equal(m.ia_dropped, 0);
}

/* IA_TA and IA_PD: kept by kind and IAID, nested options walked with
 * bounds, wrong lengths refused. */
static void test_other_ias(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    size_t x = pd_begin(&b, 7);
    iaprefix(&b, 25);
    uint8_t st[6] = { 0, 0, 'o', 'k' };
    opt(&b, VN_D6O_STATUS_CODE, st, 4);
    end(&b, x);
    x = ta_begin(&b, 7); /* the IA_PD's IAID: another kind, kept */
    iaaddr(&b, 9);
    end(&b, x);
    end(&b, pd_begin(&b, 7)); /* a repeated IA_PD: not a second one */
    end(&b, ta_begin(&b, 8));
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nia, 0);
    assert_true(m.has_other_ia);
    assert_int_equal(m.nother, 3);
    assert_int_equal(m.other[0].code, VN_D6O_IA_PD);
    assert_int_equal(m.other[0].iaid, 7);
    assert_int_equal(m.other[1].code, VN_D6O_IA_TA);
    assert_int_equal(m.other[1].iaid, 7);
    assert_int_equal(m.other[2].code, VN_D6O_IA_TA);
    assert_int_equal(m.other[2].iaid, 8);
    assert_int_equal(m.ia_dropped, 1);
    /* An IAPREFIX may hold options of its own. */
    start(&b, VN_DHCP6_REQUEST, 1);
    x = pd_begin(&b, 1);
    size_t px = b.n;
    iaprefix(&b, 25);
    opt(&b, 77, st, 3);
    end(&b, px);
    end(&b, x);
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nother, 1);
    /* Malformed: each of these drops the message. */
    for (int k = 0; k < 8; k++) {
        start(&b, VN_DHCP6_SOLICIT, 1);
        clientid(&b);
        uint8_t z[12] = { 0 };
        switch (k) {
        case 0: opt(&b, VN_D6O_IA_PD, z, 11); break; /* IAID, T1, T2 cut short */
        case 1: opt(&b, VN_D6O_IA_TA, z, 3); break;  /* IAID cut short */
        case 2: x = pd_begin(&b, 1), iaprefix(&b, 24), end(&b, x); break;
        case 3: x = ta_begin(&b, 1), opt(&b, VN_D6O_IAADDR, z, 12), end(&b, x); break;
        case 4: x = pd_begin(&b, 1), opt(&b, VN_D6O_STATUS_CODE, z, 1), end(&b, x); break;
        case 5: /* a nested option running past its IA_PD */
            x = pd_begin(&b, 1), opt(&b, 99, z, 8), end(&b, x);
            vn_put_be16(b.p + x + 2, 12 + 4 + 4);
            break;
        case 6: /* an option nested in the IAPREFIX running past it */
            x = pd_begin(&b, 1), px = b.n, iaprefix(&b, 25), opt(&b, 99, z, 4);
            vn_put_be16(b.p + px + 2, 25 + 2), end(&b, x);
            break;
        case 7: /* a status inside an IAADDR of an IA_TA, too short */
            x = ta_begin(&b, 1), px = b.n, iaaddr(&b, 1), opt(&b, VN_D6O_STATUS_CODE, z, 1);
            end(&b, px), end(&b, x);
            break;
        }
        assert_int_equal(parse(&b, &m), -1);
    }
}

/* At most VN_DHCP6_MAX_IA IAs of all kinds, the IA_NAs first wherever they
 * stand; those not kept are still checked. */
static void test_ia_budget(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    for (uint32_t i = 0; i < 6; i++)
        end(&b, pd_begin(&b, i));
    for (uint32_t i = 0; i < 8; i++)
        end(&b, ia_begin(&b, 20 + i));
    end(&b, ta_begin(&b, 1));
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nia, VN_DHCP6_MAX_IA);
    assert_int_equal(m.nother, 0);
    assert_int_equal(m.ia_dropped, 7);
    assert_true(m.has_other_ia);
    /* 5 IA_NAs leave room for the first 3 others. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    for (uint32_t i = 0; i < 5; i++) {
        end(&b, pd_begin(&b, i));
        end(&b, ia_begin(&b, i));
    }
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nia, 5);
    assert_int_equal(m.nother, 3);
    assert_int_equal(m.nia + m.nother, VN_DHCP6_MAX_IA);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(m.other[i].iaid, i);
    assert_int_equal(m.ia_dropped, 2);
    /* 20 IA_PDs: 8 kept; a broken one past them still drops the message. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    for (uint32_t i = 0; i < 20; i++)
        end(&b, pd_begin(&b, i));
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nother, VN_DHCP6_MAX_IA);
    assert_int_equal(m.ia_dropped, 12);
    size_t x = pd_begin(&b, 99);
    iaprefix(&b, 20);
    end(&b, x);
    assert_int_equal(parse(&b, &m), -1);
}

static void test_truncated_options(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    size_t whole = b.n;
    /* Every cut inside the client identifier is malformed. */
    for (size_t n = 5; n < whole; n++)
        assert_int_equal(vn_dhcp6_parse(b.p, n, &m), -1);
    assert_int_equal(vn_dhcp6_parse(b.p, whole, &m), 0);
    /* An option whose length runs past the message. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    uint8_t x[8] = { 0 };
    opt(&b, 999, x, sizeof x);
    vn_put_be16(b.p + b.n - 8 - 2, 9);
    assert_int_equal(parse(&b, &m), -1);
    vn_put_be16(b.p + b.n - 8 - 2, 0xffff);
    assert_int_equal(parse(&b, &m), -1);
    vn_put_be16(b.p + b.n - 8 - 2, 8);
    assert_int_equal(parse(&b, &m), 0);
    /* Known options with wrong lengths. */
    const uint16_t codes[] = { VN_D6O_ELAPSED_TIME, VN_D6O_RAPID_COMMIT, VN_D6O_ORO,
                               VN_D6O_STATUS_CODE };
    const size_t bad[] = { 3, 1, 3, 1 };
    for (unsigned i = 0; i < 4; i++) {
        start(&b, VN_DHCP6_SOLICIT, 1);
        clientid(&b);
        opt(&b, codes[i], x, bad[i]);
        assert_int_equal(parse(&b, &m), -1);
    }
}

static void test_duid_lengths(void **state)
{
    (void)state;
    uint8_t duid[140];
    memset(duid, 0x42, sizeof duid);
    duid[0] = 0, duid[1] = 2;
    struct b b;
    struct vn_dhcp6_msg m;
    for (size_t len = 0; len <= 140; len++) {
        for (int sv = 0; sv < 2; sv++) {
            start(&b, VN_DHCP6_REQUEST, 1);
            opt(&b, sv ? VN_D6O_SERVERID : VN_D6O_CLIENTID, duid, len);
            bool ok = len >= VN_DHCP6_DUID_MIN && len <= VN_DHCP6_DUID_MAX;
            assert_int_equal(parse(&b, &m), ok ? 0 : -1);
            if (ok) {
                assert_int_equal(sv ? m.serverid_len : m.clientid_len, len);
                assert_memory_equal(sv ? m.serverid : m.clientid, duid, len);
            }
        }
    }
    /* A second client identifier does not replace the first. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    opt(&b, VN_D6O_CLIENTID, duid, 20);
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.clientid_len, 10);
}

static void test_nested_ia_na(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    uint8_t x[30] = { 0 };
    /* An IA_NA shorter than its fixed part. */
    for (size_t l = 0; l < 12; l++) {
        start(&b, VN_DHCP6_SOLICIT, 1);
        clientid(&b);
        opt(&b, VN_D6O_IA_NA, x, l);
        assert_int_equal(parse(&b, &m), -1);
    }
    /* An IAADDR shorter than address and lifetimes. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    size_t ia = ia_begin(&b, 1);
    opt(&b, VN_D6O_IAADDR, x, 23);
    end(&b, ia);
    assert_int_equal(parse(&b, &m), -1);
    /* A nested option running past its IA_NA (but not past the message). */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    ia = ia_begin(&b, 1);
    iaaddr(&b, 1);
    end(&b, ia);
    vn_put_be16(b.p + ia + 2, (uint16_t)(vn_get_be16(b.p + ia + 2) - 4));
    /* What the IA_NA no longer covers becomes an empty top-level option,
     * so only the nested walk can fail. */
    const uint8_t empty[4] = { 0x03, 0xe7, 0, 0 };
    memcpy(b.p + b.n - 4, empty, 4);
    assert_int_equal(parse(&b, &m), -1);
    /* A nested option of an IAADDR running past it. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    ia = ia_begin(&b, 1);
    uint8_t a[24 + 6] = { 0xfd };
    vn_put_be16(a + 24, VN_D6O_STATUS_CODE);
    vn_put_be16(a + 26, 5); /* 5 bytes, 2 there */
    opt(&b, VN_D6O_IAADDR, a, sizeof a);
    end(&b, ia);
    assert_int_equal(parse(&b, &m), -1);
    vn_put_be16(b.p + b.n - 4, 2); /* now it fits: a status code with no message */
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.ia[0].naddr, 1);
    /* A status code in an IA shorter than its code. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    ia = ia_begin(&b, 1);
    opt(&b, VN_D6O_STATUS_CODE, x, 1);
    end(&b, ia);
    assert_int_equal(parse(&b, &m), -1);
}

static void test_bounds_on_ias(void **state)
{
    (void)state;
    struct b b;
    struct vn_dhcp6_msg m;
    start(&b, VN_DHCP6_SOLICIT, 1);
    clientid(&b);
    for (uint32_t i = 0; i < 12; i++) {
        size_t ia = ia_begin(&b, 100 + i);
        for (uint8_t k = 0; k < 6; k++)
            iaaddr(&b, k);
        end(&b, ia);
    }
    /* A repeated IAID is not a second IA. */
    size_t ia = ia_begin(&b, 100);
    end(&b, ia);
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.nia, VN_DHCP6_MAX_IA);
    assert_int_equal(m.ia_dropped, 12 - VN_DHCP6_MAX_IA + 1);
    for (unsigned i = 0; i < m.nia; i++) {
        assert_int_equal(m.ia[i].iaid, 100 + i);
        assert_int_equal(m.ia[i].naddr, VN_DHCP6_MAX_IAADDR);
        assert_int_equal(m.ia[i].addr_dropped, 6 - VN_DHCP6_MAX_IAADDR);
    }
    /* IAs not kept are still checked. */
    start(&b, VN_DHCP6_SOLICIT, 1);
    for (uint32_t i = 0; i < 9; i++)
        end(&b, ia_begin(&b, i));
    uint8_t x[10] = { 0 };
    ia = ia_begin(&b, 50);
    opt(&b, VN_D6O_IAADDR, x, 10);
    end(&b, ia);
    assert_int_equal(parse(&b, &m), -1);
    /* A long ORO keeps its first codes. */
    start(&b, VN_DHCP6_INFORMATION_REQUEST, 1);
    uint8_t oro[200];
    for (unsigned i = 0; i < 100; i++)
        vn_put_be16(oro + 2 * i, (uint16_t)(i + 1));
    opt(&b, VN_D6O_ORO, oro, sizeof oro);
    assert_int_equal(parse(&b, &m), 0);
    assert_int_equal(m.noro, VN_DHCP6_MAX_ORO);
    assert_true(vn_dhcp6_wants(&m, VN_DHCP6_MAX_ORO));
    assert_false(vn_dhcp6_wants(&m, VN_DHCP6_MAX_ORO + 1));
}

static void test_duid_mac(void **state)
{
    (void)state;
    uint8_t mac[6];
    assert_int_equal(vn_dhcp6_duid_mac(DUID_LL, sizeof DUID_LL, mac), 0);
    assert_memory_equal(mac, DUID_LL + 4, 6);
    const uint8_t llt[14] = { 0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d, 2, 0, 0, 0, 0, 9 };
    assert_int_equal(vn_dhcp6_duid_mac(llt, sizeof llt, mac), 0);
    assert_memory_equal(mac, llt + 8, 6);
    const uint8_t en[10] = { 0, 2, 0, 0, 0, 9, 1, 2, 3, 4 };
    assert_int_equal(vn_dhcp6_duid_mac(en, sizeof en, mac), -1);
    const uint8_t ll_other_hw[10] = { 0, 3, 0, 6, 1, 2, 3, 4, 5, 6 };
    assert_int_equal(vn_dhcp6_duid_mac(ll_other_hw, sizeof ll_other_hw, mac), -1);
    assert_int_equal(vn_dhcp6_duid_mac(DUID_LL, 9, mac), -1);
    assert_int_equal(vn_dhcp6_duid_mac(DUID_LL, 3, mac), -1);
}

static void test_builder(void **state)
{
    (void)state;
    uint8_t buf[512];
    struct vn_dhcp6_out o;
    vn_dhcp6_out_init(&o, buf, sizeof buf, VN_DHCP6_ADVERTISE, 0x00beef);
    vn_dhcp6_out_opt(&o, VN_D6O_SERVERID, DUID_LL, sizeof DUID_LL);
    const uint8_t addr[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 5 };
    vn_dhcp6_out_ia_na(&o, 7, 300, 480, addr, 600, 600, -1, NULL);
    vn_dhcp6_out_ia_na(&o, 8, 0, 0, NULL, 0, 0, VN_D6S_NO_ADDRS_AVAIL, "none");
    vn_dhcp6_out_status(&o, VN_D6S_SUCCESS, "ok");
    vn_dhcp6_out_domain_list(&o, "lab.test");
    vn_dhcp6_out_opt(&o, VN_D6O_RAPID_COMMIT, NULL, 0);
    assert_false(o.overflow);
    /* Parsed back with the same walker. */
    struct vn_dhcp6_msg m;
    assert_int_equal(vn_dhcp6_parse(buf, o.len, &m), 0);
    assert_int_equal(m.type, VN_DHCP6_ADVERTISE);
    assert_int_equal(m.xid, 0xbeef);
    assert_true(m.has_serverid);
    assert_int_equal(m.nia, 2);
    assert_int_equal(m.ia[0].iaid, 7);
    assert_int_equal(m.ia[0].t1, 300);
    assert_int_equal(m.ia[0].t2, 480);
    assert_int_equal(m.ia[0].naddr, 1);
    assert_memory_equal(m.ia[0].addr[0].addr, addr, 16);
    assert_int_equal(m.ia[0].addr[0].valid, 600);
    assert_int_equal(m.ia[1].naddr, 0);
    assert_true(m.rapid_commit);
    /* The IA with a status: IA_NA(12 + status 4+2+4). */
    size_t off = 4 + 14 + 4 + 12 + 28;
    assert_int_equal(vn_get_be16(buf + off), VN_D6O_IA_NA);
    assert_int_equal(vn_get_be16(buf + off + 2), 12 + 4 + 2 + 4);
    assert_int_equal(vn_get_be16(buf + off + 16), VN_D6O_STATUS_CODE);
    assert_int_equal(vn_get_be16(buf + off + 20), VN_D6S_NO_ADDRS_AVAIL);
    assert_memory_equal(buf + off + 22, "none", 4);
    /* The domain list is DNS-encoded. */
    size_t dl = off + 26 + 4 + 4;
    assert_int_equal(vn_get_be16(buf + dl), VN_D6O_DOMAIN_LIST);
    assert_int_equal(vn_get_be16(buf + dl + 2), 10);
    assert_memory_equal(buf + dl + 4, "\3lab\4test\0", 10);
}

/* IAs holding only a status: IA_PD and IA_NA with T1 = T2 = 0, IA_TA with
 * its IAID alone; whole or absent when the buffer runs out. */
static void test_builder_ia_status(void **state)
{
    (void)state;
    uint8_t buf[128];
    struct vn_dhcp6_out o;
    vn_dhcp6_out_init(&o, buf, sizeof buf, VN_DHCP6_REPLY, 1);
    vn_dhcp6_out_ia_status(&o, VN_D6O_IA_PD, 0x0a0b0c0d, VN_D6S_NO_PREFIX_AVAIL, "np");
    vn_dhcp6_out_ia_status(&o, VN_D6O_IA_TA, 5, VN_D6S_NO_ADDRS_AVAIL, "na");
    vn_dhcp6_out_ia_status(&o, VN_D6O_IA_NA, 6, VN_D6S_NO_BINDING, NULL);
    assert_false(o.overflow);
    static const uint8_t want[] = {
        VN_DHCP6_REPLY, 0, 0, 1,
        0, 25, 0, 20, 0x0a, 0x0b, 0x0c, 0x0d, 0, 0, 0, 0, 0, 0, 0, 0, /* IA_PD */
        0, 13, 0, 4, 0, 6, 'n', 'p',
        0, 4, 0, 12, 0, 0, 0, 5, /* IA_TA */
        0, 13, 0, 4, 0, 2, 'n', 'a',
        0, 3, 0, 18, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 0, /* IA_NA */
        0, 13, 0, 2, 0, 3,
    };
    assert_int_equal(o.len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    struct vn_dhcp6_msg m;
    assert_int_equal(vn_dhcp6_parse(buf, o.len, &m), 0);
    assert_int_equal(m.nia, 1);
    assert_int_equal(m.nother, 2);
    for (size_t cap = 4; cap <= sizeof want; cap++) {
        vn_dhcp6_out_init(&o, buf, cap, VN_DHCP6_REPLY, 1);
        vn_dhcp6_out_ia_status(&o, VN_D6O_IA_PD, 0x0a0b0c0d, VN_D6S_NO_PREFIX_AVAIL, "np");
        vn_dhcp6_out_ia_status(&o, VN_D6O_IA_TA, 5, VN_D6S_NO_ADDRS_AVAIL, "na");
        vn_dhcp6_out_ia_status(&o, VN_D6O_IA_NA, 6, VN_D6S_NO_BINDING, NULL);
        assert_true(o.len <= cap);
        assert_true(o.overflow == (cap < sizeof want));
        /* only whole IAs (24, 16 and 22 bytes): a later one may fit where
         * an earlier one did not */
        bool whole = false;
        for (unsigned k = 0; k < 8; k++)
            whole |= o.len == 4 + (k & 1 ? 24u : 0) + (k & 2 ? 16u : 0) + (k & 4 ? 22u : 0);
        assert_true(whole);
        assert_int_equal(vn_dhcp6_parse(buf, o.len, &m), 0);
    }
}

static void test_builder_overflow(void **state)
{
    (void)state;
    const uint8_t addr[16] = { 0xfd };
    for (size_t cap = 4; cap < 120; cap++) {
        uint8_t buf[128];
        struct vn_dhcp6_out o;
        vn_dhcp6_out_init(&o, buf, cap, VN_DHCP6_REPLY, 1);
        vn_dhcp6_out_opt(&o, VN_D6O_SERVERID, DUID_LL, sizeof DUID_LL);
        vn_dhcp6_out_ia_na(&o, 1, 1, 2, addr, 3, 3, VN_D6S_SUCCESS, "all good here");
        vn_dhcp6_out_domain_list(&o, "a.very.long.domain.example");
        assert_true(o.len <= cap);
        assert_true(o.overflow == (cap < 4 + 14 + 4 + 12 + 28 + 19 + 4 + 28));
        /* Whatever fitted is well-formed, and an IA is whole or absent. */
        struct vn_dhcp6_msg m;
        assert_int_equal(vn_dhcp6_parse(buf, o.len, &m), 0);
        if (m.nia)
            assert_int_equal(m.ia[0].naddr, 1);
    }
    /* An unencodable domain is left out, not sent broken. */
    uint8_t buf[300];
    struct vn_dhcp6_out o;
    vn_dhcp6_out_init(&o, buf, sizeof buf, VN_DHCP6_REPLY, 1);
    vn_dhcp6_out_domain_list(&o, "a..b");
    vn_dhcp6_out_domain_list(&o, "");
    assert_int_equal(o.len, 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),        cmocka_unit_test(test_relay_not_read),
        cmocka_unit_test(test_solicit_options),   cmocka_unit_test(test_truncated_options),
        cmocka_unit_test(test_duid_lengths),      cmocka_unit_test(test_nested_ia_na),
        cmocka_unit_test(test_bounds_on_ias),     cmocka_unit_test(test_duid_mac),
        cmocka_unit_test(test_builder),           cmocka_unit_test(test_builder_overflow),
        cmocka_unit_test(test_other_ias),         cmocka_unit_test(test_ia_budget),
        cmocka_unit_test(test_builder_ia_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
