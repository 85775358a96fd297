/* Unit tests of the header parsers: Ethernet/802.1Q (src/pkt/eth.c), the
 * egress tag insertion of port backends (src/port/port.c) and
 * IPv4/UDP/TCP/ICMP (src/pkt/ip.c), including every truncation of valid
 * packets, and the Internet checksum (src/pkt/csum.c) against a plain
 * RFC 1071 loop. Inputs are copied into heap buffers of their exact size so the
 * sanitizer build catches any read past the given length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "port/port.h"
#include "switch/switch.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t DST[6] = { 0x52, 0x54, 0, 0, 0, 2 };
static const uint8_t SRC[6] = { 0x52, 0x54, 0, 0, 0, 1 };

/* Exact-size heap copy (freed by the caller). */
static uint8_t *dup_exact(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    if (len)
        memcpy(d, p, len);
    return d;
}

static size_t eth_hdr(uint8_t *f, uint16_t type)
{
    memcpy(f, DST, 6);
    memcpy(f + 6, SRC, 6);
    vn_put_be16(f + 12, type);
    return 14;
}

static size_t vlan_hdr(uint8_t *f, uint16_t tci, uint16_t inner)
{
    eth_hdr(f, VN_ETH_TYPE_VLAN);
    vn_put_be16(f + 14, tci);
    vn_put_be16(f + 16, inner);
    return 18;
}

static enum vn_eth_err parse_exact(const uint8_t *f, size_t len, struct vn_eth_info *ei)
{
    uint8_t *d = dup_exact(f, len);
    enum vn_eth_err r = vn_eth_parse(d, len, ei);
    free(d);
    return r;
}

static void test_eth_untagged(void **state)
{
    (void)state;
    uint8_t f[64] = { 0 };
    eth_hdr(f, VN_ETH_TYPE_IPV4);
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(f, 60, &ei), VN_ETH_OK);
    assert_ptr_equal(ei.dst, f);
    assert_ptr_equal(ei.src, f + 6);
    assert_int_equal(ei.ethertype, VN_ETH_TYPE_IPV4);
    assert_false(ei.tagged);
    assert_int_equal(ei.l3_off, 14);
    /* A bare header is enough; one byte less is not. */
    assert_int_equal(parse_exact(f, 14, &ei), VN_ETH_OK);
    for (size_t l = 0; l < 14; l++)
        assert_int_equal(parse_exact(f, l, &ei), VN_ETH_SHORT);
}

static void test_eth_tagged(void **state)
{
    (void)state;
    uint8_t f[64] = { 0 };
    vlan_hdr(f, (5u << 13) | 100, VN_ETH_TYPE_ARP);
    struct vn_eth_info ei;
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_OK);
    assert_true(ei.tagged);
    assert_int_equal(ei.vid, 100);
    assert_int_equal(ei.pcp, 5);
    assert_int_equal(ei.ethertype, VN_ETH_TYPE_ARP);
    assert_int_equal(ei.l3_off, 18);
    assert_int_equal(parse_exact(f, 18, &ei), VN_ETH_OK);
    for (size_t l = 14; l < 18; l++)
        assert_int_equal(parse_exact(f, l, &ei), VN_ETH_SHORT);
    /* Priority tag: vid 0, still tagged. */
    vlan_hdr(f, 3u << 13, VN_ETH_TYPE_IPV4);
    assert_int_equal(parse_exact(f, 18, &ei), VN_ETH_OK);
    assert_true(ei.tagged);
    assert_int_equal(ei.vid, 0);
    assert_int_equal(ei.pcp, 3);
    /* vid 4095 and the CFI/DEI bit do not leak into the vid. */
    vlan_hdr(f, 0x1fff, VN_ETH_TYPE_IPV4);
    assert_int_equal(parse_exact(f, 18, &ei), VN_ETH_OK);
    assert_int_equal(ei.vid, 0xfff);
    assert_int_equal(ei.pcp, 0);
}

static void test_eth_stacked(void **state)
{
    (void)state;
    uint8_t f[64] = { 0 };
    struct vn_eth_info ei;
    eth_hdr(f, VN_ETH_TYPE_QINQ);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_QINQ);
    assert_int_equal(parse_exact(f, 14, &ei), VN_ETH_QINQ);
    vlan_hdr(f, 10, VN_ETH_TYPE_VLAN);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_QINQ);
    vlan_hdr(f, 10, VN_ETH_TYPE_QINQ);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_QINQ);
}

static void test_eth_bad_src(void **state)
{
    (void)state;
    uint8_t f[64] = { 0 };
    struct vn_eth_info ei;
    eth_hdr(f, VN_ETH_TYPE_IPV4);
    memset(f + 6, 0, 6);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_BAD_SRC);
    memset(f + 6, 0xff, 6);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_BAD_SRC);
    f[6] = 0x01; /* multicast bit */
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_BAD_SRC);
    /* Only the source matters: broadcast destination is fine. */
    eth_hdr(f, VN_ETH_TYPE_ARP);
    memset(f, 0xff, 6);
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_OK);
    /* A single non-zero byte anywhere makes the source valid. */
    memset(f + 6, 0, 6);
    f[11] = 1;
    assert_int_equal(parse_exact(f, 60, &ei), VN_ETH_OK);
}

/* Egress: a trunk port tags frames of tagged networks, not its native one;
 * an access port never tags. */
static void test_egress_tag_insert(void **state)
{
    (void)state;
    struct vn_network n0 = { .conf = { .vlan = 0 } }, n1 = { .conf = { .vlan = 300 } };
    struct vn_switch *sw = calloc(1, sizeof *sw);
    assert_non_null(sw);
    sw->nets[0] = &n0;
    sw->nets[1] = &n1;
    sw->nnets = 2;
    struct vn_port *p = calloc(1, sizeof *p);
    struct vn_port_fwd *fwd = calloc(1, sizeof *fwd);
    assert_non_null(p);
    assert_non_null(fwd);
    p->sw = sw;
    p->fwd = fwd;
    p->fwd->trunk = true;
    p->fwd->native_net = 0;
    p->fwd->access_net = -1;

    uint8_t buf[60] = { 0 };
    eth_hdr(buf, VN_ETH_TYPE_IPV4);
    for (int i = 14; i < 60; i++)
        buf[i] = (uint8_t)i;
    struct vn_frame fr = { .data = buf, .len = 60, .net = 1 };
    uint8_t tag[4];
    struct iovec iov[3];
    size_t len = 0;
    int n = vn_port_frame_iov(p, &fr, tag, iov, &len);
    assert_int_equal(n, 3);
    assert_int_equal(len, 64);
    uint8_t wire[64], *w = wire;
    for (int i = 0; i < n; i++) {
        memcpy(w, iov[i].iov_base, iov[i].iov_len);
        w += iov[i].iov_len;
    }
    assert_int_equal(w - wire, 64);
    /* The tagged frame parses back to the original network's vid and inner type. */
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(wire, 64, &ei), VN_ETH_OK);
    assert_true(ei.tagged);
    assert_int_equal(ei.vid, 300);
    assert_int_equal(ei.pcp, 0);
    assert_int_equal(ei.ethertype, VN_ETH_TYPE_IPV4);
    assert_memory_equal(wire, buf, 12);
    assert_memory_equal(wire + 18, buf + 14, 46);

    /* Native network: untagged, one iovec. */
    fr.net = 0;
    assert_int_equal(vn_port_frame_iov(p, &fr, tag, iov, &len), 1);
    assert_int_equal(len, 60);
    assert_ptr_equal(iov[0].iov_base, buf);
    /* Access port on a network with a vlan id: untagged too. */
    p->fwd->trunk = false;
    p->fwd->access_net = 1;
    p->fwd->native_net = -1;
    fr.net = 1;
    assert_int_equal(vn_port_frame_iov(p, &fr, tag, iov, &len), 1);
    assert_int_equal(len, 60);
    free(fwd);
    free(p);
    free(sw);
}

/* ---- IPv4 ---- */

static size_t ip4_hdr(uint8_t *p, uint8_t ihl_words, uint16_t tot, uint8_t proto, uint16_t frag)
{
    memset(p, 0, ihl_words * 4u);
    p[0] = (uint8_t)(0x40 | ihl_words);
    vn_put_be16(p + 2, tot);
    vn_put_be16(p + 4, 0x1234);
    vn_put_be16(p + 6, frag);
    p[8] = 64;
    p[9] = proto;
    vn_put_be32(p + 12, 0x0a000205);
    vn_put_be32(p + 16, 0x0a000202);
    for (unsigned i = 20; i < ihl_words * 4u; i++)
        p[i] = 1; /* NOP options */
    vn_put_be16(p + 10, vn_csum_ipv4_hdr(p, ihl_words * 4u));
    return ihl_words * 4u;
}

static enum vn_ip_err ip4_exact(const uint8_t *p, size_t len, bool csum, struct vn_ip4 *ip)
{
    uint8_t *d = dup_exact(p, len);
    enum vn_ip_err r = vn_ip4_parse_hdr(d, len, csum, ip);
    free(d);
    return r;
}

static void test_ip4_good(void **state)
{
    (void)state;
    uint8_t p[100] = { 0 };
    ip4_hdr(p, 5, 48, VN_IPPROTO_UDP, 0x4000);
    struct vn_ip4 ip;
    /* 12 bytes of Ethernet padding after tot_len are ignored. */
    assert_int_equal(vn_ip4_parse_hdr(p, 60, true, &ip), VN_IP_OK);
    assert_int_equal(ip.ihl, 20);
    assert_int_equal(ip.tot_len, 48);
    assert_int_equal(ip.l4_len, 28);
    assert_ptr_equal(ip.l4, p + 20);
    assert_int_equal(ip.proto, VN_IPPROTO_UDP);
    assert_int_equal(ip.ttl, 64);
    assert_int_equal(ip.id, 0x1234);
    assert_true(ip.df);
    assert_false(ip.mf);
    assert_int_equal(ip.frag_off, 0);
    assert_int_equal(ip.src, 0x0a000205);
    assert_int_equal(ip.dst, 0x0a000202);
    /* Options: IHL 15 (60 bytes). */
    ip4_hdr(p, 15, 64, VN_IPPROTO_ICMP, 0x2000 | 3);
    assert_int_equal(ip4_exact(p, 64, true, &ip), VN_IP_OK);
    assert_int_equal(ip.ihl, 60);
    assert_int_equal(ip.l4_len, 4);
    assert_true(ip.mf);
    assert_int_equal(ip.frag_off, 3);
    /* tot_len == ihl: empty payload. */
    ip4_hdr(p, 5, 20, VN_IPPROTO_TCP, 0);
    assert_int_equal(ip4_exact(p, 20, true, &ip), VN_IP_OK);
    assert_int_equal(ip.l4_len, 0);
}

static void test_ip4_bad(void **state)
{
    (void)state;
    uint8_t p[100] = { 0 };
    struct vn_ip4 ip;
    ip4_hdr(p, 5, 40, VN_IPPROTO_UDP, 0);
    for (size_t l = 0; l < 20; l++)
        assert_int_equal(ip4_exact(p, l, true, &ip), VN_IP_SHORT);
    for (size_t l = 20; l < 40; l++) /* total length beyond the bytes we have */
        assert_int_equal(ip4_exact(p, l, true, &ip), VN_IP_SHORT);
    assert_int_equal(ip4_exact(p, 40, true, &ip), VN_IP_OK);
    /* Checksum */
    p[10] ^= 1;
    assert_int_equal(ip4_exact(p, 40, true, &ip), VN_IP_CSUM);
    assert_int_equal(ip4_exact(p, 40, false, &ip), VN_IP_OK);
    /* Version 6 / 0 */
    ip4_hdr(p, 5, 40, VN_IPPROTO_UDP, 0);
    p[0] = 0x65;
    assert_int_equal(ip4_exact(p, 40, false, &ip), VN_IP_VERSION);
    p[0] = 0x05;
    assert_int_equal(ip4_exact(p, 40, false, &ip), VN_IP_VERSION);
    /* IHL below 5, beyond the packet, above tot_len */
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        p[0] = (uint8_t)(0x40 | ihl);
        assert_int_equal(ip4_exact(p, 40, false, &ip), VN_IP_HDRLEN);
    }
    ip4_hdr(p, 15, 60, VN_IPPROTO_UDP, 0);
    assert_int_equal(ip4_exact(p, 40, false, &ip), VN_IP_HDRLEN);
    ip4_hdr(p, 10, 30, VN_IPPROTO_UDP, 0); /* tot_len 30 < ihl 40 */
    assert_int_equal(ip4_exact(p, 60, true, &ip), VN_IP_HDRLEN);
    ip4_hdr(p, 5, 0, VN_IPPROTO_UDP, 0);
    assert_int_equal(ip4_exact(p, 60, true, &ip), VN_IP_HDRLEN);
}

/* ---- UDP ---- */

static void test_udp(void **state)
{
    (void)state;
    uint8_t u[32] = { 0 };
    vn_put_be16(u, 68);
    vn_put_be16(u + 2, 67);
    vn_put_be16(u + 4, 20);
    struct vn_udp ud;
    uint8_t *d = dup_exact(u, 20);
    assert_int_equal(vn_udp_parse(d, 20, &ud), 0);
    assert_int_equal(ud.sport, 68);
    assert_int_equal(ud.dport, 67);
    assert_int_equal(ud.len, 20);
    assert_int_equal(ud.dlen, 12);
    assert_ptr_equal(ud.data, d + 8);
    free(d);
    /* More bytes than the UDP length (IP padding): the UDP length rules. */
    assert_int_equal(vn_udp_parse(u, 32, &ud), 0);
    assert_int_equal(ud.dlen, 12);
    /* Truncated datagram or header */
    for (size_t l = 0; l < 20; l++) {
        d = dup_exact(u, l);
        assert_int_equal(vn_udp_parse(d, l, &ud), -1);
        free(d);
    }
    /* Length field below the header */
    for (uint16_t bad = 0; bad < 8; bad++) {
        vn_put_be16(u + 4, bad);
        assert_int_equal(vn_udp_parse(u, 32, &ud), -1);
    }
    vn_put_be16(u + 4, 8);
    assert_int_equal(vn_udp_parse(u, 8, &ud), 0);
    assert_int_equal(ud.dlen, 0);
    vn_put_be16(u + 4, 0xffff);
    assert_int_equal(vn_udp_parse(u, 32, &ud), -1);
}

/* ---- TCP ---- */

static size_t tcp_syn(uint8_t *t)
{
    memset(t, 0, 60);
    vn_put_be16(t, 40000);
    vn_put_be16(t + 2, 80);
    vn_put_be32(t + 4, 1000);
    vn_put_be32(t + 8, 0);
    t[12] = 10 << 4; /* 40 bytes */
    t[13] = VN_TCP_SYN;
    vn_put_be16(t + 14, 64240);
    uint8_t *o = t + 20;
    *o++ = 2; *o++ = 4; vn_put_be16(o, 1460); o += 2;                  /* MSS */
    *o++ = 4; *o++ = 2;                                                /* SACK ok */
    *o++ = 8; *o++ = 10; vn_put_be32(o, 77); vn_put_be32(o + 4, 88); o += 8; /* TS */
    *o++ = 1;                                                          /* NOP */
    *o++ = 3; *o++ = 3; *o++ = 7;                                      /* wscale 7 */
    return 40;
}

static int tcp_exact(const uint8_t *p, size_t len, struct vn_tcp *t)
{
    uint8_t *d = dup_exact(p, len);
    int r = vn_tcp_parse(d, len, t);
    free(d);
    return r;
}

static void test_tcp_options(void **state)
{
    (void)state;
    uint8_t t[80];
    struct vn_tcp tc;
    tcp_syn(t);
    memset(t + 40, 0xab, 10);
    assert_int_equal(tcp_exact(t, 50, &tc), 0);
    assert_int_equal(tc.sport, 40000);
    assert_int_equal(tc.dport, 80);
    assert_int_equal(tc.seq, 1000);
    assert_int_equal(tc.hlen, 40);
    assert_int_equal(tc.flags, VN_TCP_SYN);
    assert_int_equal(tc.win, 64240);
    assert_int_equal(tc.mss, 1460);
    assert_int_equal(tc.wscale, 7);
    assert_true(tc.sack_ok);
    assert_true(tc.has_ts);
    assert_int_equal(tc.ts_val, 77);
    assert_int_equal(tc.ts_ecr, 88);
    assert_int_equal(tc.dlen, 10);
    /* Window scale above 14 is clamped (RFC 7323). */
    t[39] = 200;
    assert_int_equal(tcp_exact(t, 40, &tc), 0);
    assert_int_equal(tc.wscale, 14);
    /* End of options stops parsing: garbage after it is ignored. */
    tcp_syn(t);
    t[20] = 0;
    t[21] = 0xff;
    assert_int_equal(tcp_exact(t, 40, &tc), 0);
    assert_int_equal(tc.mss, 0);
    assert_int_equal(tc.wscale, -1);
    /* Options with wrong sizes are skipped, not misread. */
    tcp_syn(t);
    t[21] = 3; /* MSS of length 3 */
    t[23] = 4; t[24] = 2; /* re-align the next option (SACK ok) */
    t[22] = 1;
    assert_int_equal(tcp_exact(t, 40, &tc), 0);
    assert_int_equal(tc.mss, 0);
}

static void test_tcp_bad(void **state)
{
    (void)state;
    uint8_t t[80];
    struct vn_tcp tc;
    tcp_syn(t);
    for (size_t l = 0; l < 40; l++) /* shorter than the data offset says */
        assert_int_equal(tcp_exact(t, l, &tc), -1);
    /* Data offset below 5 */
    for (int off = 0; off < 5; off++) {
        t[12] = (uint8_t)(off << 4);
        assert_int_equal(tcp_exact(t, 60, &tc), -1);
    }
    /* Option length 0 or 1 (would loop forever or misalign) */
    tcp_syn(t);
    t[21] = 0;
    assert_int_equal(tcp_exact(t, 40, &tc), -1);
    t[21] = 1;
    assert_int_equal(tcp_exact(t, 40, &tc), -1);
    /* Option running past the header */
    tcp_syn(t);
    t[37] = 3; t[38] = 4; /* wscale claiming 4 bytes with 2 left */
    assert_int_equal(tcp_exact(t, 40, &tc), -1);
    /* Kind without a length byte at the last header byte */
    tcp_syn(t);
    t[39] = 2;
    t[38] = 1; t[37] = 1; t[36] = 1;
    assert_int_equal(tcp_exact(t, 40, &tc), -1);
    /* A minimal header without options is fine. */
    tcp_syn(t);
    t[12] = 5 << 4;
    assert_int_equal(tcp_exact(t, 20, &tc), 0);
    assert_int_equal(tc.dlen, 0);
    assert_int_equal(tc.wscale, -1);
}

/* ---- ICMP ---- */

static void test_icmp(void **state)
{
    (void)state;
    uint8_t ic[16] = { 8, 0, 0, 0, 0x12, 0x34, 0, 7, 'a', 'b' };
    struct vn_icmp i;
    uint8_t *d = dup_exact(ic, 10);
    assert_int_equal(vn_icmp_parse(d, 10, &i), 0);
    assert_int_equal(i.type, 8);
    assert_int_equal(i.code, 0);
    assert_int_equal(i.id, 0x1234);
    assert_int_equal(i.seq, 7);
    assert_int_equal(i.dlen, 2);
    assert_ptr_equal(i.data, d + 8);
    free(d);
    for (size_t l = 0; l < 8; l++) {
        d = dup_exact(ic, l);
        assert_int_equal(vn_icmp_parse(d, l, &i), -1);
        free(d);
    }
    assert_int_equal(vn_icmp_parse(ic, 8, &i), 0);
    assert_int_equal(i.dlen, 0);
}

/* A whole frame: Ethernet + VLAN + IPv4 + UDP, every prefix parsed with the
 * chained parsers never reads beyond it. */
static void test_chain_truncations(void **state)
{
    (void)state;
    uint8_t f[18 + 20 + 8 + 10];
    vlan_hdr(f, 7, VN_ETH_TYPE_IPV4);
    ip4_hdr(f + 18, 5, 38, VN_IPPROTO_UDP, 0);
    vn_put_be16(f + 38, 1);
    vn_put_be16(f + 40, 2);
    vn_put_be16(f + 42, 18);
    memset(f + 46, 'x', 10);
    int complete = 0;
    for (size_t l = 0; l <= sizeof f; l++) {
        uint8_t *d = dup_exact(f, l);
        struct vn_eth_info ei;
        struct vn_ip4 ip;
        struct vn_udp u;
        if (vn_eth_parse(d, l, &ei) == VN_ETH_OK &&
            vn_ip4_parse_hdr(d + ei.l3_off, l - ei.l3_off, true, &ip) == VN_IP_OK &&
            vn_udp_parse(ip.l4, ip.l4_len, &u) == 0) {
            assert_int_equal(u.dlen, 10);
            complete++;
        }
        free(d);
    }
    assert_int_equal(complete, 1);
}

/* The RFC 1071 sum of big-endian 16-bit words (odd last byte padded),
 * added to sum and folded to 16 bits without complement. */
static uint16_t ref_sum(uint32_t sum, const uint8_t *p, size_t len)
{
    uint64_t acc = sum;
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        acc += (uint32_t)p[len - 1] << 8;
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)acc;
}

/* vn_csum_add's running sum folded like ref_sum. */
static uint16_t folded(uint32_t sum)
{
    return (uint16_t)~vn_csum_fold(sum);
}

/* vn_csum_add and vn_csum_copy against ref_sum: random contents, lengths
 * and alignments, chained calls, copies to another buffer and moves down
 * within one (overlapping), and over a million bytes of 0xff (the vector
 * lanes' run limit). */
static void test_csum(void **state)
{
    (void)state;
    enum { MAX = 3100 };
    uint8_t *buf = malloc(MAX + 64), *dst = malloc(MAX + 64), *exp = malloc(MAX + 64);
    assert_non_null(buf);
    assert_non_null(dst);
    assert_non_null(exp);
    srand(12345);
    for (int it = 0; it < 4000; it++) {
        for (size_t i = 0; i < MAX + 64; i++)
            buf[i] = (uint8_t)rand();
        size_t off = (size_t)rand() % 32, len = (size_t)rand() % MAX;
        if (it < 64)
            len = (size_t)it; /* every short length */
        uint32_t seed = (uint32_t)rand() & 0xfffff;
        const uint8_t *p = buf + off;
        uint16_t want = ref_sum(seed, p, len);
        assert_int_equal(folded(vn_csum_add(seed, p, len)), want);
        /* chained: an even first part, then the rest */
        size_t cut = len ? ((size_t)rand() % len) & ~(size_t)1 : 0;
        assert_int_equal(folded(vn_csum_add(vn_csum_add(seed, p, cut), p + cut, len - cut)), want);
        /* copy to another buffer at another alignment */
        size_t doff = (size_t)rand() % 32;
        memset(dst, 0xa5, MAX + 64);
        assert_int_equal(folded(vn_csum_copy(dst + doff, p, len, seed)), want);
        assert_memory_equal(dst + doff, p, len);
        assert_int_equal(dst[doff + len], 0xa5);
        if (doff)
            assert_int_equal(dst[doff - 1], 0xa5);
        /* a move down by gap bytes in the same buffer (overlapping when
         * gap < len) */
        if (off + len + 32 <= MAX + 64) {
            size_t gap = 1 + (size_t)rand() % 31;
            uint8_t *src = buf + off + gap;
            uint16_t w = ref_sum(seed, src, len);
            memcpy(exp, buf, MAX + 64);
            memmove(exp + off, exp + off + gap, len);
            assert_int_equal(folded(vn_csum_copy(buf + off, src, len, seed)), w);
            assert_memory_equal(buf, exp, MAX + 64);
        }
    }
    free(buf);
    free(dst);
    free(exp);
    size_t big = (1u << 20) * 2 + 37;
    uint8_t *b = malloc(big), *d = malloc(big);
    assert_non_null(b);
    assert_non_null(d);
    memset(b, 0xff, big);
    uint16_t want = ref_sum(7, b, big);
    assert_int_equal(folded(vn_csum_add(7, b, big)), want);
    assert_int_equal(folded(vn_csum_copy(d, b, big, 7)), want);
    assert_memory_equal(d, b, big);
    free(b);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eth_untagged),  cmocka_unit_test(test_eth_tagged),
        cmocka_unit_test(test_eth_stacked),   cmocka_unit_test(test_eth_bad_src),
        cmocka_unit_test(test_egress_tag_insert),
        cmocka_unit_test(test_ip4_good),      cmocka_unit_test(test_ip4_bad),
        cmocka_unit_test(test_udp),           cmocka_unit_test(test_tcp_options),
        cmocka_unit_test(test_tcp_bad),       cmocka_unit_test(test_icmp),
        cmocka_unit_test(test_chain_truncations),
        cmocka_unit_test(test_csum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
