/* Unit tests of connection tracking (src/fw/conntrack.c) through its
 * interface: IPv4 and IPv6 frames built here are classified (fw/acl.c) and
 * looked up or added with an explicit clock (the table takes now_ms from its
 * caller, as the switch passes it), so timeouts are tested without waiting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fw/conntrack.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define GUEST 0x0a00020fu  /* 10.0.2.15 */
#define PEER 0xc0a80107u   /* 192.168.1.7 */
#define OTHER 0x0a000210u  /* 10.0.2.16 */

enum { T_TCP = 7440u * 1000u, T_CLOSING = 10u * 1000u, T_UDP = 120u * 1000u, T_ICMP = 30u * 1000u };

static uint8_t fbuf[128];
static const uint8_t M1[6] = { 0x52, 0x54, 0, 0, 0, 1 }, M2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

/* An Ethernet/IPv4 frame of protocol proto from src:sp to dst:dp (ICMP: sp is
 * the type, dp the echo id), TCP flags fl. Returns its classified view. */
static struct vn_acl_pkt pkt_of(uint8_t proto, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
                                uint8_t fl)
{
    memset(fbuf, 0, sizeof fbuf);
    size_t l4len = proto == 6 ? 20 : 8;
    uint8_t *l4 = harness_ip4(fbuf, M2, M1, src, dst, proto, 64, l4len);
    if (proto == 1) {
        l4[0] = (uint8_t)sp;
        vn_put_be16(l4 + 4, dp);
    } else {
        vn_put_be16(l4, sp);
        vn_put_be16(l4 + 2, dp);
        if (proto == 6) {
            l4[12] = 0x50;
            l4[13] = fl;
        } else {
            vn_put_be16(l4 + 4, 8);
        }
    }
    struct vn_frame fr = { .data = fbuf, .len = (uint32_t)(14 + 20 + l4len) };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    return p;
}

/* An ICMP error (type 3 code 3) from reporter to the sender of the quoted
 * UDP datagram src:sp -> dst:dp. */
static struct vn_acl_pkt icmp_err_about(uint32_t reporter, uint32_t src, uint16_t sp, uint32_t dst,
                                        uint16_t dp)
{
    memset(fbuf, 0, sizeof fbuf);
    uint8_t *ic = harness_ip4(fbuf, M1, M2, reporter, src, 1, 64, 8 + 28), *q = ic + 8;
    ic[0] = 3;
    ic[1] = 3;
    harness_ip4_hdr(q, src, dst, 17, 64, 16);
    vn_put_be16(q + 20, sp);
    vn_put_be16(q + 22, dp);
    struct vn_frame fr = { .data = fbuf, .len = 14 + 20 + 8 + 28 };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    assert_true(p.has_inner);
    return p;
}

static struct vn_conntrack ct;

static int setup(void **state)
{
    (void)state;
    return vn_ct_init(&ct, 8);
}

static int teardown(void **state)
{
    (void)state;
    vn_ct_free(&ct);
    return 0;
}

static void test_both_directions(void **state)
{
    (void)state;
    uint64_t now = 1000;
    struct vn_acl_pkt syn = pkt_of(6, GUEST, 40000, PEER, 80, VN_TCP_SYN);
    struct vn_acl_pkt synack = pkt_of(6, PEER, 80, GUEST, 40000, VN_TCP_SYN | VN_TCP_ACK);
    assert_int_equal(syn.src.family, AF_INET);
    assert_false(vn_ct_lookup(&ct, 1, &syn, now));
    vn_ct_add(&ct, 1, &syn, now);
    assert_int_equal(ct.count, 1);
    assert_true(vn_ct_lookup(&ct, 1, &synack, now));
    assert_true(vn_ct_lookup(&ct, 1, &syn, now));
    vn_ct_add(&ct, 1, &synack, now); /* the reply is the same connection */
    assert_int_equal(ct.count, 1);
    assert_int_equal(ct.created, 1);
    /* Another port of the same hosts is another connection. */
    struct vn_acl_pkt other = pkt_of(6, PEER, 81, GUEST, 40000, VN_TCP_ACK);
    assert_false(vn_ct_lookup(&ct, 1, &other, now));

    /* UDP both ways. */
    struct vn_acl_pkt q = pkt_of(17, GUEST, 5353, PEER, 53, 0);
    struct vn_acl_pkt a = pkt_of(17, PEER, 53, GUEST, 5353, 0);
    vn_ct_add(&ct, 1, &q, now);
    assert_true(vn_ct_lookup(&ct, 1, &a, now));
    /* Same ports, other protocol: not the same connection. */
    struct vn_acl_pkt t = pkt_of(6, PEER, 53, GUEST, 5353, VN_TCP_ACK);
    assert_false(vn_ct_lookup(&ct, 1, &t, now));

    /* ICMP echo: the reply (type 0) finds the request's (type 8) entry by id. */
    struct vn_acl_pkt req = pkt_of(1, GUEST, 8, PEER, 0x4242, 0);
    struct vn_acl_pkt rep = pkt_of(1, PEER, 0, GUEST, 0x4242, 0);
    struct vn_acl_pkt rep2 = pkt_of(1, PEER, 0, GUEST, 0x4243, 0);
    vn_ct_add(&ct, 1, &req, now);
    assert_true(vn_ct_lookup(&ct, 1, &rep, now));
    assert_false(vn_ct_lookup(&ct, 1, &rep2, now));
    assert_int_equal(ct.count, 3);

    /* "Related": an ICMP error quoting the tracked UDP datagram. */
    struct vn_acl_pkt err = icmp_err_about(PEER, GUEST, 5353, PEER, 53);
    assert_true(vn_ct_lookup(&ct, 1, &err, now));
    struct vn_acl_pkt err2 = icmp_err_about(PEER, GUEST, 5354, PEER, 53);
    assert_false(vn_ct_lookup(&ct, 1, &err2, now));
    /* The related error does not create anything itself. */
    assert_int_equal(ct.count, 3);
}

static void test_untrackable(void **state)
{
    (void)state;
    /* ICMP other than echo, non-IP frames and other protocols are not
     * connections. */
    struct vn_acl_pkt ts = pkt_of(1, GUEST, 13, PEER, 1, 0);
    vn_ct_add(&ct, 1, &ts, 0);
    assert_int_equal(ct.count, 0);
    struct vn_acl_pkt gre = pkt_of(47, GUEST, 0, PEER, 0, 0);
    vn_ct_add(&ct, 1, &gre, 0);
    assert_int_equal(ct.count, 0);
    assert_false(vn_ct_lookup(&ct, 1, &gre, 0));
    struct vn_acl_pkt arp = pkt_of(6, GUEST, 1, PEER, 2, VN_TCP_SYN);
    vn_put_be16(fbuf + 12, VN_ETH_TYPE_ARP);
    struct vn_frame fr = { .data = fbuf, .len = 60 };
    vn_acl_classify(&fr, &arp);
    vn_ct_add(&ct, 1, &arp, 0);
    assert_int_equal(ct.count, 0);
    /* An RST opens nothing. */
    struct vn_acl_pkt rst = pkt_of(6, GUEST, 1, PEER, 2, VN_TCP_RST | VN_TCP_ACK);
    vn_ct_add(&ct, 1, &rst, 0);
    assert_int_equal(ct.count, 0);
    assert_int_equal(ct.full, 0);
    /* A table that was never allocated (ACLs off) answers no. */
    struct vn_conntrack none = { 0 };
    struct vn_acl_pkt syn = pkt_of(6, GUEST, 1, PEER, 2, VN_TCP_SYN);
    vn_ct_add(&none, 1, &syn, 0);
    assert_false(vn_ct_lookup(&none, 1, &syn, 0));
    assert_int_equal(vn_ct_expire(&none, 0), 0);
}

static void test_timeouts(void **state)
{
    (void)state;
    uint64_t t0 = 5000;
    struct vn_acl_pkt tcp = pkt_of(6, GUEST, 40000, PEER, 80, VN_TCP_SYN);
    struct vn_acl_pkt udp = pkt_of(17, GUEST, 40000, PEER, 53, 0);
    struct vn_acl_pkt icmp = pkt_of(1, GUEST, 8, PEER, 7, 0);
    vn_ct_add(&ct, 1, &tcp, t0);
    vn_ct_add(&ct, 1, &udp, t0);
    vn_ct_add(&ct, 1, &icmp, t0);
    assert_int_equal(ct.count, 3);
    /* Just before each timeout the entry is there, at it it is gone. */
    assert_true(vn_ct_lookup(&ct, 1, &icmp, t0 + T_ICMP - 1));
    /* ... and the lookup refreshed it. */
    assert_true(vn_ct_lookup(&ct, 1, &icmp, t0 + 2 * T_ICMP - 2));
    assert_false(vn_ct_lookup(&ct, 1, &icmp, t0 + 3 * T_ICMP));
    assert_true(vn_ct_lookup(&ct, 1, &udp, t0 + T_UDP - 1));
    assert_false(vn_ct_lookup(&ct, 1, &udp, t0 + T_UDP - 1 + T_UDP));
    assert_int_equal(ct.count, 1); /* lookups unlinked the expired ones met */
    assert_int_equal(ct.expired, 2);
    assert_true(vn_ct_lookup(&ct, 1, &tcp, t0 + T_TCP - 1));
    assert_int_equal(vn_ct_expire(&ct, t0 + T_TCP - 1 + T_TCP - 1), 0);
    assert_int_equal(vn_ct_expire(&ct, t0 + T_TCP - 1 + T_TCP), 1);
    assert_int_equal(ct.count, 0);
    assert_int_equal(ct.expired, 3);
}

static void test_fin_rst_closing(void **state)
{
    (void)state;
    uint64_t now = 0;
    struct vn_acl_pkt syn = pkt_of(6, GUEST, 40000, PEER, 80, VN_TCP_SYN);
    struct vn_acl_pkt fin = pkt_of(6, PEER, 80, GUEST, 40000, VN_TCP_FIN | VN_TCP_ACK);
    vn_ct_add(&ct, 1, &syn, now);
    /* A FIN (either side) shortens the timeout to the closing one. */
    assert_true(vn_ct_lookup(&ct, 1, &fin, now));
    assert_true(vn_ct_lookup(&ct, 1, &syn, now + T_CLOSING - 1)); /* stays closing */
    assert_false(vn_ct_lookup(&ct, 1, &syn, now + 2 * T_CLOSING));
    assert_int_equal(ct.count, 0);

    struct vn_acl_pkt syn2 = pkt_of(6, GUEST, 40001, PEER, 80, VN_TCP_SYN);
    struct vn_acl_pkt rst = pkt_of(6, GUEST, 40001, PEER, 80, VN_TCP_RST);
    vn_ct_add(&ct, 1, &syn2, now);
    assert_true(vn_ct_lookup(&ct, 1, &rst, now));
    assert_int_equal(vn_ct_expire(&ct, now + T_CLOSING), 1);
    /* A new SYN of the same tuple after it closed opens a fresh entry with the
     * long timeout. */
    vn_ct_add(&ct, 1, &syn2, now + T_CLOSING);
    assert_true(vn_ct_lookup(&ct, 1, &syn2, now + T_CLOSING + T_CLOSING + 1));
}

static void test_full(void **state)
{
    (void)state;
    uint64_t now = 100;
    struct vn_acl_pkt p[8];
    for (unsigned i = 0; i < 8; i++) {
        p[i] = pkt_of(17, GUEST, (uint16_t)(1000 + i), PEER, 53, 0);
        vn_ct_add(&ct, 1, &p[i], now);
    }
    assert_int_equal(ct.count, 8);
    /* Full: a new connection is counted and not recorded ... */
    struct vn_acl_pkt extra = pkt_of(6, GUEST, 2000, PEER, 80, VN_TCP_SYN);
    vn_ct_add(&ct, 1, &extra, now + 1);
    assert_int_equal(ct.full, 1);
    assert_int_equal(ct.count, 8);
    assert_false(vn_ct_lookup(&ct, 1, &extra, now + 1));
    /* ... and no old one was disturbed. */
    for (unsigned i = 0; i < 8; i++)
        assert_true(vn_ct_lookup(&ct, 1, &p[i], now + 1));
    /* Adding an existing one while full is not "full". */
    vn_ct_add(&ct, 1, &p[3], now + 1);
    assert_int_equal(ct.full, 1);
    /* Once entries expire, their slots are reused by the add itself (p[7]
     * was refreshed and stays). */
    assert_true(vn_ct_lookup(&ct, 1, &p[7], now + T_UDP - 10));
    vn_ct_add(&ct, 1, &extra, now + T_UDP + 1);
    assert_int_equal(ct.full, 1);
    assert_true(vn_ct_lookup(&ct, 1, &extra, now + T_UDP + 2));
    assert_true(vn_ct_lookup(&ct, 1, &p[7], now + T_UDP + 2));
    assert_false(vn_ct_lookup(&ct, 1, &p[0], now + T_UDP + 2));
    /* (Lookups and adds unlink the expired entries of the chains they walk;
     * which ones depends on the keyed hash. A sweep takes the rest.) */
    vn_ct_expire(&ct, now + T_UDP + 2);
    assert_int_equal(ct.count, 2);
    assert_int_equal(ct.expired, 7);
    /* Stats as vnetctl shows them. */
    json_t *o = vn_ct_stats_json(&ct);
    assert_int_equal(json_integer_value(json_object_get(o, "entries")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "max")), 8);
    assert_int_equal(json_integer_value(json_object_get(o, "table_full")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "expired")), 7);
    assert_int_equal(json_integer_value(json_object_get(o, "created")), 9);
    json_decref(o);
}

static void test_network_isolation(void **state)
{
    (void)state;
    struct vn_acl_pkt syn = pkt_of(6, GUEST, 40000, PEER, 80, VN_TCP_SYN);
    struct vn_acl_pkt synack = pkt_of(6, PEER, 80, GUEST, 40000, VN_TCP_SYN | VN_TCP_ACK);
    vn_ct_add(&ct, 1, &syn, 0);
    assert_false(vn_ct_lookup(&ct, 2, &synack, 0));
    assert_false(vn_ct_lookup(&ct, 0, &syn, 0));
    vn_ct_add(&ct, 2, &syn, 0);
    assert_int_equal(ct.count, 2);
    /* Closing one leaves the other's timeout alone. */
    struct vn_acl_pkt rst = pkt_of(6, GUEST, 40000, PEER, 80, VN_TCP_RST);
    assert_true(vn_ct_lookup(&ct, 2, &rst, 0));
    assert_int_equal(vn_ct_expire(&ct, T_CLOSING), 1);
    assert_true(vn_ct_lookup(&ct, 1, &synack, T_CLOSING));
    assert_false(vn_ct_lookup(&ct, 2, &synack, T_CLOSING));
    /* Related errors are per network too. */
    struct vn_acl_pkt q = pkt_of(17, GUEST, 7, PEER, 53, 0);
    vn_ct_add(&ct, 1, &q, 0);
    struct vn_acl_pkt err = icmp_err_about(PEER, GUEST, 7, PEER, 53);
    assert_true(vn_ct_lookup(&ct, 1, &err, 0));
    assert_false(vn_ct_lookup(&ct, 2, &err, 0));
}

/* The key is family-neutral: endpoints of another family (as the IPv6
 * classifier will give them) are tracked the same way, both directions
 * meet, and an IPv4 address never meets its IPv6 look-alike. */
static void test_family_neutral(void **state)
{
    (void)state;
    struct vn_acl_pkt a = { .ip = true, .proto = 17, .sport = 5000, .dport = 53, .icmp_type = -1 };
    a.src.family = a.dst.family = AF_INET6;
    inet_pton(AF_INET6, "fd00::15", a.src.a);
    inet_pton(AF_INET6, "2001:db8::7", a.dst.a);
    struct vn_acl_pkt b = a;
    b.src = a.dst, b.dst = a.src, b.sport = 53, b.dport = 5000;
    vn_ct_add(&ct, 1, &a, 0);
    assert_int_equal(ct.count, 1);
    assert_true(vn_ct_lookup(&ct, 1, &b, 0));
    /* The IPv4 datagram with the same leading bytes is another connection. */
    struct vn_acl_pkt v4 = a;
    v4.src = vn_addr4(vn_get_be32(a.src.a));
    v4.dst = vn_addr4(vn_get_be32(a.dst.a));
    assert_false(vn_ct_lookup(&ct, 1, &v4, 0));
    /* Mixed families are not a connection. */
    struct vn_acl_pkt mixed = a;
    mixed.dst = vn_addr4(PEER);
    vn_ct_add(&ct, 1, &mixed, 0);
    assert_int_equal(ct.count, 1);
    assert_false(vn_ct_lookup(&ct, 1, &mixed, 0));
    /* IPv4 ordering of the key is by address as a number, as before: the
     * entry of a packet and of its reply is the same one. */
    struct vn_acl_pkt lo = pkt_of(17, OTHER, 9, GUEST, 9, 0);
    struct vn_acl_pkt hi = pkt_of(17, GUEST, 9, OTHER, 9, 0);
    vn_ct_add(&ct, 1, &lo, 0);
    vn_ct_add(&ct, 1, &hi, 0);
    assert_int_equal(ct.count, 2);
}

/* ---- IPv6 ---- */

static const uint8_t *a6(const char *s)
{
    static uint8_t b[4][16];
    static unsigned k;
    uint8_t *o = b[k++ % 4];
    assert_int_equal(inet_pton(AF_INET6, s, o), 1);
    return o;
}

#define G6 "fd00:1::15"
#define P6 "2001:db8::7"

/* An Ethernet/IPv6 frame of proto from src:sp to dst:dp (ICMPv6: sp is the
 * type, dp the echo id), TCP flags fl, behind a destination options header
 * when ext; its classified view. */
static struct vn_acl_pkt pkt6(uint8_t proto, const char *src, uint16_t sp, const char *dst,
                              uint16_t dp, uint8_t fl, bool ext)
{
    static const uint8_t dopt[] = { VN_IPPROTO_DSTOPTS };
    memset(fbuf, 0, sizeof fbuf);
    size_t l4len = proto == 6 ? 20 : 8;
    uint8_t *l4 = harness_ip6(fbuf, M1, M2, a6(src), a6(dst), proto, 64, dopt, ext ? 1 : 0,
                              l4len);
    if (proto == 58) {
        l4[0] = (uint8_t)sp;
        vn_put_be16(l4 + 4, dp);
    } else {
        vn_put_be16(l4, sp);
        vn_put_be16(l4 + 2, dp);
        if (proto == 6) {
            l4[12] = 0x50;
            l4[13] = fl;
        }
    }
    struct vn_frame fr = { .data = fbuf, .len = (uint32_t)(14 + 40 + (ext ? 8 : 0) + l4len) };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    assert_true(p.ip);
    return p;
}

/* An ICMPv6 error of type t from reporter to `to` quoting the packet of proto
 * src:sp -> dst:dp (for ICMPv6: an echo request with id dp). */
static struct vn_acl_pkt icmp6_err(uint8_t t, const char *reporter, const char *to, uint8_t proto,
                                   const char *src, uint16_t sp, const char *dst, uint16_t dp)
{
    static uint8_t big[256];
    memset(big, 0, sizeof big);
    uint8_t *ic = harness_ip6(big, M1, M2, a6(reporter), a6(to), 58, 64, NULL, 0, 8 + 48);
    ic[0] = t;
    uint8_t *ql4 = harness_ip6_hdr(ic + 8, a6(src), a6(dst), proto, 64, NULL, 0, 8);
    if (proto == 58) {
        ql4[0] = 128;
        vn_put_be16(ql4 + 4, dp);
    } else {
        vn_put_be16(ql4, sp);
        vn_put_be16(ql4 + 2, dp);
    }
    struct vn_frame fr = { .data = big, .len = 14 + 40 + 8 + 48 };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    assert_true(p.has_inner);
    return p;
}

/* IPv6 flows are tracked like IPv4 ones: TCP (behind extension headers),
 * UDP and ICMPv6 echo in both directions; ICMPv6 errors (destination
 * unreachable, packet too big, time exceeded) about a tracked flow, sent to
 * the flow's sender, are related; nothing else is. */
static void test_ipv6(void **state)
{
    (void)state;
    uint64_t now = 1000;
    struct vn_acl_pkt syn = pkt6(6, G6, 40000, P6, 443, VN_TCP_SYN, true);
    struct vn_acl_pkt synack = pkt6(6, P6, 443, G6, 40000, VN_TCP_SYN | VN_TCP_ACK, false);
    assert_false(vn_ct_lookup(&ct, 1, &synack, now));
    vn_ct_add(&ct, 1, &syn, now);
    assert_true(vn_ct_lookup(&ct, 1, &synack, now));
    struct vn_acl_pkt q = pkt6(17, G6, 5353, P6, 53, 0, false);
    struct vn_acl_pkt a = pkt6(17, P6, 53, G6, 5353, 0, true);
    vn_ct_add(&ct, 1, &q, now);
    assert_true(vn_ct_lookup(&ct, 1, &a, now));
    struct vn_acl_pkt req = pkt6(58, G6, 128, P6, 0x4242, 0, false);
    struct vn_acl_pkt rep = pkt6(58, P6, 129, G6, 0x4242, 0, false);
    struct vn_acl_pkt rep2 = pkt6(58, P6, 129, G6, 0x4243, 0, false);
    vn_ct_add(&ct, 1, &req, now);
    assert_true(vn_ct_lookup(&ct, 1, &rep, now));
    assert_false(vn_ct_lookup(&ct, 1, &rep2, now));
    assert_int_equal(ct.count, 3);
    /* ICMPv6 other than echo opens nothing (neighbour discovery, errors). */
    struct vn_acl_pkt ns = pkt6(58, "fe80::1", 135, "ff02::1:ff00:15", 0, 0, false);
    vn_ct_add(&ct, 1, &ns, now);
    struct vn_acl_pkt mld = pkt6(58, "fe80::1", 143, "ff02::16", 0, 0, false);
    vn_ct_add(&ct, 1, &mld, now);
    assert_int_equal(ct.count, 3);
    /* ICMP echo type numbers in ICMPv6 are not echo. */
    struct vn_acl_pkt v4num = pkt6(58, G6, 8, P6, 1, 0, false);
    vn_ct_add(&ct, 1, &v4num, now);
    assert_int_equal(ct.count, 3);

    /* Related: each error type about each tracked flow, back to the guest. */
    static const uint8_t types[] = { 1, 2, 3, 4 };
    for (size_t i = 0; i < sizeof types; i++) {
        struct vn_acl_pkt e = icmp6_err(types[i], P6, G6, 17, G6, 5353, P6, 53);
        assert_true(vn_ct_lookup(&ct, 1, &e, now));
        e = icmp6_err(types[i], "fd00:1::1", G6, 6, G6, 40000, P6, 443);
        assert_true(vn_ct_lookup(&ct, 1, &e, now));
        e = icmp6_err(types[i], "fd00:1::1", G6, 58, G6, 0, P6, 0x4242);
        assert_true(vn_ct_lookup(&ct, 1, &e, now));
    }
    /* An error about the peer's answer, sent to the peer, is related too. */
    struct vn_acl_pkt back = icmp6_err(1, G6, P6, 17, P6, 53, G6, 5353);
    assert_true(vn_ct_lookup(&ct, 1, &back, now));
    /* Not related: an error about an untracked flow, one sent to somebody
     * other than the quoted packet's sender, one in another network. */
    struct vn_acl_pkt e = icmp6_err(1, P6, G6, 17, G6, 5354, P6, 53);
    assert_false(vn_ct_lookup(&ct, 1, &e, now));
    e = icmp6_err(1, P6, "fd00:1::16", 17, G6, 5353, P6, 53);
    assert_false(vn_ct_lookup(&ct, 1, &e, now));
    e = icmp6_err(1, P6, G6, 17, G6, 5353, P6, 53);
    assert_false(vn_ct_lookup(&ct, 2, &e, now));
    e = icmp6_err(1, P6, G6, 58, G6, 0, P6, 0x4243);
    assert_false(vn_ct_lookup(&ct, 1, &e, now));
    assert_int_equal(ct.count, 3);
    /* An IPv4 error quoting the IPv4 look-alike of a tracked IPv6 flow is
     * another family: not related. */
    struct vn_acl_pkt v4 = icmp_err_about(PEER, GUEST, 5353, PEER, 53);
    assert_false(vn_ct_lookup(&ct, 1, &v4, now));
    /* Related errors do not keep a flow alive; the flow's own packets do. */
    assert_true(vn_ct_lookup(&ct, 1, &a, now + T_UDP - 1));
    e = icmp6_err(1, P6, G6, 17, G6, 5353, P6, 53);
    assert_true(vn_ct_lookup(&ct, 1, &e, now + 2 * T_UDP - 2));
    assert_false(vn_ct_lookup(&ct, 1, &e, now + 2 * T_UDP));
}

/* IPv4 errors also go back to the quoted packet's sender only. */
static void test_related_direction4(void **state)
{
    (void)state;
    struct vn_acl_pkt q = pkt_of(17, GUEST, 7, PEER, 53, 0);
    vn_ct_add(&ct, 1, &q, 0);
    struct vn_acl_pkt err = icmp_err_about(PEER, GUEST, 7, PEER, 53);
    assert_true(vn_ct_lookup(&ct, 1, &err, 0));
    /* the same error delivered to another guest */
    memcpy(fbuf + 14 + 16, (uint8_t[]){ 10, 0, 2, 16 }, 4);
    struct vn_frame fr = { .data = fbuf, .len = 14 + 20 + 8 + 28 };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    assert_true(p.has_inner);
    assert_false(vn_ct_lookup(&ct, 1, &p, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_both_directions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_untrackable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeouts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fin_rst_closing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_network_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_family_neutral, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_related_direction4, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
