/* Unit tests of ACL rules (src/fw/acl.c) and reject answers (src/fw/reject.c):
 * parsing of the vnetctl and YAML forms with IPv4 and IPv6 prefixes, every
 * bad value with its reason (and, in YAML, its line), formatting and the
 * config round trip, list insert/delete bounds, what the classifier reads
 * from IPv4 and IPv6 frames (behind extension headers, ICMP/ICMPv6 errors'
 * quotes, neighbour discovery), first-match semantics with family
 * separation, the address-resolution rule, reject answers of both families
 * and their rate limit, and all of it through a real switch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "fw/acl.h"
#include "fw/reject.h"
#include "core/loop.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[256];

static struct vn_acl_rule parse_ok(const char *text)
{
    struct vn_acl_rule r;
    if (vn_acl_rule_parse(text, &r, err, sizeof err))
        fail_msg("'%s' rejected: %s", text, err);
    return r;
}

static void parse_bad(const char *text, const char *what)
{
    struct vn_acl_rule r;
    err[0] = 0;
    if (!vn_acl_rule_parse(text, &r, err, sizeof err))
        fail_msg("'%s' accepted", text);
    if (!strstr(err, what))
        fail_msg("'%s': error '%s' does not mention '%s'", text, err, what);
}

static void test_parse(void **state)
{
    (void)state;
    struct vn_acl_rule r = parse_ok("allow");
    assert_int_equal(r.action, VN_ACL_ALLOW);
    assert_int_equal(r.dir, 1); /* default: in */
    assert_int_equal(r.proto, -1);
    assert_int_equal(r.icmp_type, -1);
    assert_int_equal(r.sport_lo, 0);
    assert_int_equal(r.sport_hi, 65535);

    r = parse_ok("reject out proto=tcp dport=1000-2000 src=10.0.2.0/24 dst=192.168.1.7 state=new");
    assert_int_equal(r.action, VN_ACL_REJECT);
    assert_int_equal(r.dir, 2);
    assert_int_equal(r.proto, 6);
    assert_int_equal(r.dport_lo, 1000);
    assert_int_equal(r.dport_hi, 2000);
    assert_int_equal(r.src.family, AF_INET);
    assert_int_equal(vn_addr_v4(&r.src), 0x0a000200);
    assert_int_equal(r.src_len, 24);
    assert_int_equal(vn_addr_v4(&r.dst), 0xc0a80107);
    assert_int_equal(r.dst_len, 32);
    assert_int_equal(r.state, VN_ACL_NEW);
    assert_int_equal(r.family, AF_INET);
    assert_int_equal(r.ethertype, 0); /* only as written */

    r = parse_ok("drop both icmp_type=8");
    assert_int_equal(r.dir, 3);
    assert_int_equal(r.proto, -1);
    assert_int_equal(r.mproto, 1); /* icmp_type alone: ICMP, IPv4 */
    assert_int_equal(r.family, AF_INET);
    assert_int_equal(r.icmp_type, 8);
    assert_int_equal(r.icmp_code, -1);

    r = parse_ok("deny,in,src_mac=52:54:00:00:00:01,ethertype=arp");
    assert_int_equal(r.action, VN_ACL_DROP);
    assert_true(r.has_src_mac);
    assert_int_equal(r.ethertype, VN_ETH_TYPE_ARP);
    r = parse_ok("accept ethertype=0x88cc");
    assert_int_equal(r.ethertype, 0x88cc);
    /* /0 is every address of its family. */
    r = parse_ok("allow dst=0.0.0.0/0");
    assert_int_equal(r.dst.family, AF_INET);
    assert_int_equal(r.dst_len, 0);
    assert_int_equal(r.family, AF_INET);
    /* A protocol or ports alone: either family. */
    r = parse_ok("allow proto=tcp dport=22");
    assert_int_equal(r.family, 0);
    assert_int_equal(r.mproto, 6);
    r = parse_ok("allow sport=53");
    assert_int_equal(r.sport_lo, 53);
    assert_int_equal(r.sport_hi, 53);
    r = parse_ok("allow proto=47");
    assert_int_equal(r.proto, 47);
}

/* IPv6 addresses and prefixes, icmpv6, and what a rule's keys imply. */
static void test_parse_ipv6(void **state)
{
    (void)state;
    struct vn_acl_rule r = parse_ok("allow src=fd00:1::/64 dst=::1 proto=tcp dport=22");
    assert_int_equal(r.src.family, AF_INET6);
    assert_int_equal(r.src_len, 64);
    assert_int_equal(r.src.a[0], 0xfd);
    assert_int_equal(r.src.a[1], 0x00);
    assert_int_equal(r.src.a[3], 0x01);
    assert_int_equal(r.dst.family, AF_INET6);
    assert_int_equal(r.dst_len, 128);
    assert_int_equal(r.dst.a[15], 1);
    assert_int_equal(r.family, AF_INET6);
    assert_int_equal(r.mproto, 6);
    assert_string_equal(r.text, "allow in src=fd00:1::/64 dst=::1/128 proto=tcp dport=22");

    r = parse_ok("drop dst=2001:db8::5");
    assert_int_equal(r.dst_len, 128);
    r = parse_ok("allow src=::/0");
    assert_int_equal(r.src_len, 0);
    assert_int_equal(r.family, AF_INET6);
    r = parse_ok("allow src=fe80::/10 dst=ff02::1:ff00:0/104");
    assert_int_equal(r.src_len, 10);
    assert_int_equal(r.dst_len, 104);

    /* icmpv6 by name (and its IANA alias), type and code. */
    r = parse_ok("drop proto=icmpv6 icmp_type=1 icmp_code=4");
    assert_int_equal(r.proto, 58);
    assert_int_equal(r.mproto, 58);
    assert_int_equal(r.family, AF_INET6);
    assert_int_equal(r.icmp_type, 1);
    assert_int_equal(r.icmp_code, 4);
    assert_string_equal(r.text, "drop in proto=icmpv6 icmp_type=1 icmp_code=4");
    assert_int_equal(parse_ok("allow proto=ipv6-icmp").proto, 58);
    /* icmp_type alone in an IPv6 rule is ICMPv6, whichever key comes first. */
    r = parse_ok("allow icmp_type=128 src=fd00::/8");
    assert_int_equal(r.mproto, 58);
    assert_int_equal(r.family, AF_INET6);
    r = parse_ok("allow src=fd00::/8 icmp_type=128");
    assert_int_equal(r.mproto, 58);
    r = parse_ok("allow ethertype=ipv6 icmp_type=135");
    assert_int_equal(r.mproto, 58);
    assert_true(r.names_nd);
    r = parse_ok("allow proto=icmp icmp_type=3 icmp_code=13");
    assert_int_equal(r.family, AF_INET);
    assert_false(r.names_nd);
    /* Which rules have conditions about IP traffic (see the ND rule). */
    assert_false(parse_ok("drop").ip_cond);
    assert_false(parse_ok("drop src_mac=52:54:00:00:00:01 ethertype=ipv6").ip_cond);
    assert_true(parse_ok("drop proto=icmpv6").ip_cond);
    assert_true(parse_ok("drop state=new").ip_cond);
    assert_true(parse_ok("drop dport=53").ip_cond);
    assert_false(parse_ok("drop proto=icmpv6").names_nd);
    assert_true(parse_ok("drop proto=icmpv6 icmp_type=136 src=fe80::/10").names_nd);
    /* the same type number in ICMP is not neighbour discovery */
    assert_false(parse_ok("drop icmp_type=135").names_nd);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("", "empty");
    parse_bad("permit", "action");
    parse_bad("allow sideways", "direction");
    parse_bad("allow in extra", "expected key=value");
    parse_bad("allow color=red", "unknown ACL key 'color'");
    parse_bad("allow src=10.0.0.0/33",
              "src: '10.0.0.0/33': the prefix length of an IPv4 address is 0-32");
    parse_bad("allow dst=10.0.0", "dst: '10.0.0' is not an IPv4 or IPv6 address or prefix");
    parse_bad("allow proto=256", "proto");
    parse_bad("allow proto=sctpx", "proto: 'sctpx' is not tcp, udp, icmp, icmpv6");
    parse_bad("allow dport=65536", "dport");
    parse_bad("allow dport=2000-1000", "dport");
    parse_bad("allow sport=1-2-3", "sport");
    parse_bad("allow icmp_type=300", "icmp_type: '300' is not 0-255");
    parse_bad("allow icmp_code=256", "icmp_code: '256' is not 0-255");
    parse_bad("allow icmp_code=-1", "icmp_code");
    parse_bad("allow src_mac=52:54:00", "src_mac");
    parse_bad("allow ethertype=0x5ff", "ethertype");
    parse_bad("allow ethertype=0x10000", "ethertype");
    parse_bad("allow ethertype=", "ethertype");
    parse_bad("allow state=old", "state");
    /* Prefixes: host bits (with the prefix meant), lengths, syntax. */
    parse_bad("allow src=10.1.2.3/8",
              "src: '10.1.2.3/8' has host bits set (did you mean 10.0.0.0/8?)");
    parse_bad("allow dst=fd00:1::5/64",
              "dst: 'fd00:1::5/64' has host bits set (did you mean fd00:1::/64?)");
    parse_bad("allow src=fd00::1:0/100", "did you mean fd00::/100?");
    parse_bad("allow src=fd00::/129",
              "src: 'fd00::/129': the prefix length of an IPv6 address is 0-128");
    parse_bad("allow src=fd00::/-1", "0-128");
    parse_bad("allow src=fd00::/", "0-128");
    parse_bad("allow src=fd00::/64x", "0-128");
    parse_bad("allow src=/64", "src: '/64' is not an IPv4 or IPv6 address or prefix");
    parse_bad("allow src=fd00:::1", "is not an IPv4 or IPv6 address");
    parse_bad("allow src=fe80::1%eth0", "is not an IPv4 or IPv6 address");
    parse_bad("allow src=[fd00::1]", "is not an IPv4 or IPv6 address");
    parse_bad("allow dst=fd00:0:0:0:0:0:0:0:1", "is not an IPv4 or IPv6 address");
    /* One family per rule, named on both sides, in either order. */
    parse_bad("allow src=10.0.0.0/8 dst=fd00::/64",
              "dst: 'fd00::/64' makes the rule IPv6, but src 10.0.0.0/8 makes it IPv4");
    parse_bad("allow dst=fd00::/64 src=10.0.0.0/8",
              "src: '10.0.0.0/8' makes the rule IPv4, but dst fd00::/64 makes it IPv6");
    parse_bad("allow proto=icmp src=fd00::/64", "ICMPv6 is proto icmpv6");
    parse_bad("allow src=fd00::/64 proto=icmp",
              "proto: 'icmp' makes the rule IPv4, but src fd00::/64 makes it IPv6");
    parse_bad("allow proto=icmpv6 dst=10.0.0.1", "makes the rule IPv4, but proto icmpv6");
    parse_bad("allow ethertype=ipv4 src=fd00::1", "but ethertype ipv4 makes it IPv4");
    parse_bad("allow ethertype=ipv6 proto=icmp", "but ethertype ipv6 makes it IPv6");
    /* Keys that cannot go together. */
    parse_bad("allow ethertype=arp src=10.0.0.1", "ethertype 0x0806 (not IP) cannot have IP");
    parse_bad("allow src=10.0.0.1 ethertype=arp", "ethertype: 'arp'");
    parse_bad("allow ethertype=0x88cc dport=1", "cannot have IP conditions");
    parse_bad("allow proto=udp icmp_type=1", "icmp_type and icmp_code need proto icmp or icmpv6");
    parse_bad("allow icmp_code=0 proto=tcp", "proto: 'tcp': icmp_type and icmp_code need");
    parse_bad("allow proto=icmpv6 dport=1", "sport and dport need proto tcp or udp");
    parse_bad("allow proto=47 sport=1", "not proto 47");
    parse_bad("allow dport=1 icmp_type=3", "both ports (sport, dport) and icmp_type");
    char longrule[600];
    memset(longrule, 'a', sizeof longrule - 1);
    longrule[sizeof longrule - 1] = 0;
    parse_bad(longrule, "too long");
}

/* The formatted text parses back to the same rule (what vnetctl acl list
 * shows and --print-config writes). */
static void test_format_roundtrip(void **state)
{
    (void)state;
    static const char *const rules[] = {
        "allow in",
        "drop out proto=udp sport=53 dst=10.0.0.0/8",
        "reject both proto=tcp dport=22-23 state=established",
        "allow in icmp_type=0",
        "drop in src_mac=52:54:00:aa:bb:cc dst_mac=ff:ff:ff:ff:ff:ff ethertype=arp",
        "allow out ethertype=ipv6",
        "allow in proto=47",
        "allow in ethertype=0x88cc",
        "allow in src=0.0.0.0/0",
        "allow in ethertype=ipv4 proto=tcp",
        "reject both src=fd00:1::/64 dst=2001:db8::5/128 proto=tcp dport=22",
        "allow in dst=::/0 proto=udp sport=53",
        "drop out proto=icmpv6 icmp_type=1 icmp_code=4",
        "allow in src=fd00::/8 icmp_type=128",
        "allow in icmp_type=3 icmp_code=13",
        "drop in ethertype=ipv6 icmp_type=135",
        /* the longest rule there is fits the text */
        "reject both state=established src_mac=52:54:00:aa:bb:cc dst_mac=52:54:00:aa:bb:cd "
        "ethertype=ipv6 src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128 "
        "dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 proto=tcp sport=65534-65535 "
        "dport=65534-65535",
        "reject both state=established src_mac=52:54:00:aa:bb:cc dst_mac=52:54:00:aa:bb:cd "
        "ethertype=ipv6 src=ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/128 "
        "dst=ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128 proto=icmpv6 icmp_type=255 "
        "icmp_code=255",
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct vn_acl_rule a = parse_ok(rules[i]);
        struct vn_acl_rule b = parse_ok(a.text);
        if (memcmp(&a, &b, offsetof(struct vn_acl_rule, hits)))
            fail_msg("'%s' formats as '%s' which parses differently", rules[i], a.text);
        assert_true(strlen(a.text) < sizeof a.text - 1); /* not cut short */
    }
}

static void test_list(void **state)
{
    (void)state;
    struct vn_acl a = { 0 };
    struct vn_acl_rule r;
    for (int i = 0; i < VN_ACL_MAX_RULES; i++) {
        char t[64];
        snprintf(t, sizeof t, "allow dport=%d", i);
        r = parse_ok(t);
        assert_int_equal(vn_acl_insert(&a, &r, -1, err, sizeof err), 0);
    }
    assert_int_equal(a.n, VN_ACL_MAX_RULES);
    r = parse_ok("drop");
    assert_int_equal(vn_acl_insert(&a, &r, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "too many"));
    assert_int_equal(vn_acl_delete(&a, VN_ACL_MAX_RULES), -1);
    assert_int_equal(vn_acl_delete(&a, 0), 0);
    assert_int_equal(a.rules[0].dport_lo, 1);
    /* Insert at a position; beyond the end means append. */
    assert_int_equal(vn_acl_insert(&a, &r, 1, err, sizeof err), 0);
    assert_int_equal(a.rules[1].action, VN_ACL_DROP);
    assert_int_equal(a.rules[2].dport_lo, 2);
    vn_acl_delete(&a, 1);
    r.hits = 99;
    assert_int_equal(vn_acl_insert(&a, &r, 100000, err, sizeof err), 0);
    assert_int_equal(a.rules[a.n - 1].action, VN_ACL_DROP);
    assert_int_equal(a.rules[a.n - 1].hits, 0); /* counters start at zero */
    json_t *j = vn_acl_json(&a);
    assert_int_equal(json_array_size(j), a.n);
    json_decref(j);
    vn_acl_free(&a);
    assert_int_equal(a.n, 0);
}

/* ---- classify + match ---- */

static size_t frame(uint8_t *f, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag)
{
    static const uint8_t d[6] = { 0x52, 0x54, 0, 0, 0, 2 }, s[6] = { 0x52, 0x54, 0, 0, 0, 1 };
    memset(f, 0, 80);
    memcpy(f, d, 6);
    memcpy(f + 6, s, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    vn_put_be16(ip + 2, 20 + 20);
    vn_put_be16(ip + 6, frag);
    ip[8] = 64;
    ip[9] = proto;
    vn_put_be32(ip + 12, 0x0a00020f);
    vn_put_be32(ip + 16, 0x0a000202);
    vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
    uint8_t *l4 = ip + 20;
    if (proto == 1) {
        l4[0] = (uint8_t)sport; /* type */
        vn_put_be16(l4 + 4, dport);
    } else {
        vn_put_be16(l4, sport);
        vn_put_be16(l4 + 2, dport);
        l4[13] = 0x02;
    }
    return 14 + 40;
}

static void test_classify(void **state)
{
    (void)state;
    uint8_t f[80];
    struct vn_frame fr = { .data = f };
    struct vn_acl_pkt p;
    fr.len = (uint32_t)frame(f, 6, 40000, 22, 0);
    vn_acl_classify(&fr, &p);
    assert_true(p.ip);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 22);
    assert_int_equal(p.tcp_flags, 0x02);
    assert_int_equal(vn_addr_v4(&p.src), 0x0a00020f);
    assert_int_equal(p.src.family, AF_INET);
    fr.len = (uint32_t)frame(f, 1, 8, 0x1234, 0);
    vn_acl_classify(&fr, &p);
    assert_int_equal(p.icmp_type, 8);
    assert_int_equal(p.sport, 0x1234);
    /* A later fragment carries no ports. */
    fr.len = (uint32_t)frame(f, 17, 53, 53, 0x0010);
    vn_acl_classify(&fr, &p);
    assert_true(p.ip);
    assert_int_equal(p.sport, 0);
    assert_int_equal(p.dport, 0);
    /* Truncated IP: not IP for the matcher. */
    fr.len = 30;
    vn_acl_classify(&fr, &p);
    assert_false(p.ip);
    assert_int_equal(p.proto, -1);
    /* Bare Ethernet header (the switch guarantees at least this much). */
    uint8_t *bare = malloc(14);
    memcpy(bare, f, 14);
    struct vn_frame fb = { .data = bare, .len = 14 };
    vn_acl_classify(&fb, &p);
    assert_false(p.ip);
    free(bare);
}

static void test_match(void **state)
{
    (void)state;
    struct vn_acl a = { 0 };
    const char *rules[] = {
        "allow in proto=tcp dport=22 src=10.0.2.0/24",
        "reject in proto=tcp",
        "drop out proto=icmp icmp_type=8",
        "allow both state=established",
    };
    for (size_t i = 0; i < 4; i++) {
        struct vn_acl_rule r = parse_ok(rules[i]);
        assert_int_equal(vn_acl_insert(&a, &r, -1, err, sizeof err), 0);
    }
    uint8_t f[80];
    struct vn_frame fr = { .data = f };
    struct vn_acl_pkt p;
    fr.len = (uint32_t)frame(f, 6, 40000, 22, 0);
    vn_acl_classify(&fr, &p);
    assert_ptr_equal(vn_acl_match(&a, 1, &p), &a.rules[0]);
    assert_null(vn_acl_match(&a, 2, &p)); /* no out rule for new tcp */
    p.established = true;
    assert_ptr_equal(vn_acl_match(&a, 2, &p), &a.rules[3]);
    fr.len = (uint32_t)frame(f, 6, 40000, 23, 0);
    vn_acl_classify(&fr, &p);
    assert_ptr_equal(vn_acl_match(&a, 1, &p), &a.rules[1]);
    fr.len = (uint32_t)frame(f, 1, 8, 1, 0);
    vn_acl_classify(&fr, &p);
    assert_null(vn_acl_match(&a, 1, &p));
    assert_ptr_equal(vn_acl_match(&a, 2, &p), &a.rules[2]);
    fr.len = (uint32_t)frame(f, 1, 0, 1, 0); /* echo reply */
    vn_acl_classify(&fr, &p);
    assert_null(vn_acl_match(&a, 2, &p));
    /* L3 rules never match non-IP frames. */
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    vn_acl_classify(&fr, &p);
    assert_null(vn_acl_match(&a, 1, &p));
    vn_acl_free(&a);
}

/* ---- IPv6 ---- */

static const uint8_t MA[6] = { 0x52, 0x54, 0, 0, 0, 0xa }, MB[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const char A6[] = "fd00:1::a", B6[] = "fd00:1::b";

static const uint8_t *ip6(const char *s)
{
    static uint8_t buf[4][16];
    static unsigned k;
    uint8_t *b = buf[k++ % 4];
    if (inet_pton(AF_INET6, s, b) != 1)
        fail_msg("bad address %s", s);
    return b;
}

/* An Ethernet/IPv6 frame in f from MAC sm to dm (NULL: dst's multicast MAC)
 * and from s to d (text), hop limit hlim, extension headers exts[0..nexts),
 * l4len zeroed bytes of proto at *l4. Returns the frame length. */
static size_t frame6(uint8_t *f, const uint8_t *sm, const uint8_t *dm, const char *s,
                     const char *d, uint8_t proto, uint8_t hlim, const uint8_t *exts,
                     unsigned nexts, size_t l4len, uint8_t **l4)
{
    memset(f, 0, 14 + 40 + 8 * (size_t)nexts + l4len);
    *l4 = harness_ip6(f, dm, sm, ip6(s), ip6(d), proto, hlim, exts, nexts, l4len);
    memset(*l4, 0, l4len);
    return 14 + 40 + 8 * (size_t)nexts + l4len;
}

/* A TCP segment sport -> dport with flags fl (and valid checksums). */
static size_t tcp6(uint8_t *f, const char *s, const char *d, uint16_t sport, uint16_t dport,
                   uint8_t fl, const uint8_t *exts, unsigned nexts)
{
    uint8_t *l4;
    size_t n = frame6(f, MA, MB, s, d, VN_IPPROTO_TCP, 64, exts, nexts, 20, &l4);
    vn_put_be16(l4, sport);
    vn_put_be16(l4 + 2, dport);
    vn_put_be32(l4 + 4, 1000);
    vn_put_be32(l4 + 8, (fl & VN_TCP_ACK) ? 5000 : 0);
    l4[12] = 0x50;
    l4[13] = fl;
    harness_csum6(l4, 20, ip6(s), ip6(d), VN_IPPROTO_TCP, 16);
    return n;
}

/* A UDP datagram with 4 bytes of data. */
static size_t udp6(uint8_t *f, const char *s, const char *d, uint16_t sport, uint16_t dport)
{
    uint8_t *l4;
    size_t n = frame6(f, MA, MB, s, d, VN_IPPROTO_UDP, 64, NULL, 0, 12, &l4);
    vn_put_be16(l4, sport);
    vn_put_be16(l4 + 2, dport);
    vn_put_be16(l4 + 4, 12);
    memcpy(l4 + 8, "ping", 4);
    harness_csum6(l4, 12, ip6(s), ip6(d), VN_IPPROTO_UDP, 6);
    return n;
}

/* An ICMPv6 message of type/code with id (echo) from s to d; hop limit hlim;
 * body bytes after the 8-byte header copied from body. */
static size_t icmp6(uint8_t *f, const uint8_t *dm, const char *s, const char *d, uint8_t type,
                    uint8_t code, uint16_t id, uint8_t hlim, const uint8_t *body, size_t blen)
{
    uint8_t *l4;
    size_t n = frame6(f, MA, dm, s, d, VN_IPPROTO_ICMPV6, hlim, NULL, 0, 8 + blen, &l4);
    l4[0] = type;
    l4[1] = code;
    vn_put_be16(l4 + 4, id);
    if (blen)
        memcpy(l4 + 8, body, blen);
    harness_csum6(l4, 8 + blen, ip6(s), ip6(d), VN_IPPROTO_ICMPV6, 2);
    return n;
}

/* A neighbour solicitation for target from s (hop limit hlim) to its
 * solicited-node group. */
static size_t ns6(uint8_t *f, const char *s, const char *target, uint8_t hlim)
{
    uint8_t body[16];
    memcpy(body, ip6(target), 16);
    char group[64];
    snprintf(group, sizeof group, "ff02::1:ff%02x:%02x%02x", body[13], body[14], body[15]);
    /* the first 4 bytes after type/code/csum are reserved: body is the target */
    uint8_t *l4;
    size_t n = frame6(f, MA, NULL, s, group, VN_IPPROTO_ICMPV6, hlim, NULL, 0, 24, &l4);
    l4[0] = 135;
    memcpy(l4 + 8, body, 16);
    harness_csum6(l4, 24, ip6(s), ip6(group), VN_IPPROTO_ICMPV6, 2);
    return n;
}

static struct vn_acl_pkt cls(uint8_t *f, size_t len)
{
    struct vn_frame fr = { .data = f, .len = (uint32_t)len };
    struct vn_acl_pkt p;
    vn_acl_classify(&fr, &p);
    return p;
}

/* What the classifier reads from IPv6 frames: addresses, the upper layer
 * behind extension headers, ports, ICMPv6 type/code/id, fragments, broken
 * chains, and which frames are neighbour discovery. */
/* Rules naming the VPN: src/dst vpn or vpn:PEER parse, print back, refuse
 * bad names and non-IP ethertypes, replace a prefix of the same key (and
 * the other way round), and match only packets whose src_peer/dst_peer the
 * caller set (by name for vpn:PEER). */
static void test_vpn(void **state)
{
    (void)state;
    struct vn_acl_rule r = parse_ok("drop src=vpn proto=tcp dport=5201");
    assert_int_equal(r.src_vpn, VN_ACL_VPN_ANY);
    assert_int_equal(r.src.family, 0);
    assert_string_equal(r.text, "drop in src=vpn proto=tcp dport=5201");
    r = parse_ok("reject dst=vpn:laptop-2 src=10.0.2.0/24");
    assert_int_equal(r.dst_vpn, VN_ACL_VPN_PEER);
    assert_string_equal(r.dst_peer, "laptop-2");
    assert_int_equal(r.family, AF_INET); /* from src */
    assert_string_equal(r.text, "reject in src=10.0.2.0/24 dst=vpn:laptop-2");
    r = parse_ok("allow src=vpn:a dst=vpn:b");
    assert_string_equal(r.text, "allow in src=vpn:a dst=vpn:b");
    r = parse_ok("allow src=10.9.0.0/16 src=vpn:a"); /* the last value of a key wins */
    assert_int_equal(r.src.family, 0);
    assert_int_equal(r.src_vpn, VN_ACL_VPN_PEER);
    r = parse_ok("allow src=vpn src=fd00::/8");
    assert_int_equal(r.src_vpn, VN_ACL_VPN_NONE);
    assert_int_equal(r.family, AF_INET6);
    parse_bad("drop src=vpn:", "vpn:PEER needs a peer name");
    parse_bad("drop src=vpn:0123456789012345678901234567890123", "1-31 characters");
    parse_bad("drop src=vpn:a=b", "vpn:PEER");
    parse_bad("drop dst=vpnx", "not an IPv4 or IPv6 address");
    parse_bad("drop ethertype=arp src=vpn", "cannot have IP conditions");

    struct vn_acl a = { 0 };
    const char *rules[] = {
        "drop src=vpn:alice proto=tcp dport=22",
        "reject dst=vpn proto=tcp dport=22",
        "allow src=vpn",
    };
    for (size_t i = 0; i < 3; i++) {
        r = parse_ok(rules[i]);
        assert_int_equal(vn_acl_insert(&a, &r, -1, err, sizeof err), 0);
    }
    uint8_t f[80];
    struct vn_frame fr = { .data = f };
    struct vn_acl_pkt p;
    fr.len = (uint32_t)frame(f, 6, 40000, 22, 0);
    vn_acl_classify(&fr, &p);
    assert_null(vn_acl_match(&a, 1, &p)); /* no peer: no rule about the VPN */
    p.src_peer = "alice";
    assert_ptr_equal(vn_acl_match(&a, 1, &p), &a.rules[0]);
    p.src_peer = "bob";
    assert_ptr_equal(vn_acl_match(&a, 1, &p), &a.rules[2]);
    p.src_peer = NULL;
    p.dst_peer = "bob";
    assert_ptr_equal(vn_acl_match(&a, 1, &p), &a.rules[1]);
    fr.len = (uint32_t)frame(f, 6, 40000, 23, 0);
    vn_acl_classify(&fr, &p);
    p.dst_peer = "bob";
    assert_null(vn_acl_match(&a, 1, &p));
    vn_acl_free(&a);
}

static void test_classify6(void **state)
{
    (void)state;
    static uint8_t f[2048];
    static const uint8_t ext2[] = { VN_IPPROTO_HOPOPTS, VN_IPPROTO_DSTOPTS };
    static const uint8_t frag[] = { VN_IPPROTO_FRAGMENT };
    struct vn_acl_pkt p = cls(f, tcp6(f, A6, B6, 40000, 22, VN_TCP_SYN, ext2, 2));
    assert_true(p.ip);
    assert_int_equal(p.src.family, AF_INET6);
    assert_memory_equal(p.src.a, ip6(A6), 16);
    assert_memory_equal(p.dst.a, ip6(B6), 16);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.sport, 40000);
    assert_int_equal(p.dport, 22);
    assert_int_equal(p.tcp_flags, VN_TCP_SYN);
    assert_false(p.resolution);
    assert_int_equal(p.icmp_type, -1);
    /* A first fragment has its ports ... */
    p = cls(f, tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, frag, 1));
    assert_int_equal(p.dport, 23);
    /* ... a later one has none. */
    uint8_t *fh = f + 14 + 40;
    vn_put_be16(fh + 2, 185 << 3);
    p = cls(f, 14 + 40 + 8 + 20);
    assert_true(p.ip);
    assert_int_equal(p.proto, 6);
    assert_int_equal(p.dport, 0);
    /* A broken chain (an extension header longer than the packet) is not IP
     * to the rules. */
    size_t n = tcp6(f, A6, B6, 40000, 22, VN_TCP_SYN, ext2, 2);
    f[14 + 40 + 1] = 9;
    p = cls(f, n);
    assert_false(p.ip);
    assert_int_equal(p.proto, -1);
    /* A truncated IPv6 header, and a version 4 header in an IPv6 frame. */
    assert_false(cls(f, 14 + 30).ip);
    n = udp6(f, A6, B6, 5000, 53);
    f[14] = 0x45;
    assert_false(cls(f, n).ip);
    /* UDP; ICMPv6 echo with its id; type and code of an error. */
    p = cls(f, udp6(f, A6, B6, 5000, 53));
    assert_int_equal(p.proto, 17);
    assert_int_equal(p.sport, 5000);
    p = cls(f, icmp6(f, MB, A6, B6, 128, 0, 0x4242, 64, NULL, 0));
    assert_int_equal(p.proto, 58);
    assert_int_equal(p.icmp_type, 128);
    assert_int_equal(p.icmp_code, 0);
    assert_int_equal(p.sport, 0x4242);
    assert_false(p.has_inner);
    /* Neighbour discovery: RS/RA/NS/NA with hop limit 255 and code 0. */
    p = cls(f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(p.icmp_type, 135);
    assert_true(p.resolution);
    p = cls(f, ns6(f, "::", B6, 255)); /* DAD */
    assert_true(p.resolution);
    assert_false(cls(f, ns6(f, "fe80::a", B6, 64)).resolution);
    n = ns6(f, "fe80::a", B6, 255);
    f[14 + 40 + 1] = 1; /* code 1 */
    assert_false(cls(f, n).resolution);
    for (int t = 133; t <= 136; t++)
        assert_true(cls(f, icmp6(f, NULL, "fe80::a", "ff02::1", (uint8_t)t, 0, 0, 255, NULL, 0))
                        .resolution);
    assert_false(cls(f, icmp6(f, NULL, "fe80::a", "ff02::1", 137, 0, 0, 255, NULL, 0)).resolution);
    assert_false(cls(f, icmp6(f, NULL, "fe80::a", "ff02::16", 143, 0, 0, 1, NULL, 0)).resolution);
    /* ARP is address resolution too; IPv4 ICMP type 135 is not. */
    n = frame(f, 1, 135, 0, 0);
    assert_false(cls(f, n).resolution);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    assert_true(cls(f, n).resolution);
}

/* An ICMPv6 error quoting a packet: its addresses and ports behind the
 * quote's extension headers, a quote cut short (as RFC 4443 cuts big
 * packets), quoted echo, and quotes that say nothing usable. */
static void test_classify6_errors(void **state)
{
    (void)state;
    static uint8_t f[2048], q[2048];
    static const uint8_t dst1[] = { VN_IPPROTO_DSTOPTS };
    /* The quoted UDP datagram B -> A... as A's reply to it would be quoted
     * by B: the error goes from B to A about A's datagram A:5000 -> B:53. */
    size_t qn = udp6(q, A6, B6, 5000, 53) - 14;
    struct vn_acl_pkt p = cls(f, icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, qn));
    assert_int_equal(p.icmp_type, 1);
    assert_int_equal(p.icmp_code, 4);
    assert_true(p.has_inner);
    assert_int_equal(p.in_src.family, AF_INET6);
    assert_memory_equal(p.in_src.a, ip6(A6), 16);
    assert_memory_equal(p.in_dst.a, ip6(B6), 16);
    assert_int_equal(p.in_proto, 17);
    assert_int_equal(p.in_sport, 5000);
    assert_int_equal(p.in_dport, 53);
    /* Packet too big quoting a large TCP segment behind a destination
     * options header, cut to 1232 bytes: the payload length promises more. */
    size_t n = frame6(q, MA, MB, A6, B6, VN_IPPROTO_TCP, 64, dst1, 1, 1400, &(uint8_t *){ 0 });
    uint8_t *t = q + 14 + 48;
    vn_put_be16(t, 40001);
    vn_put_be16(t + 2, 443);
    t[12] = 0x50;
    assert_true(n > 1232 + 14);
    p = cls(f, icmp6(f, MA, B6, A6, 2, 0, 0, 64, q + 14, 1232));
    assert_true(p.has_inner);
    assert_int_equal(p.in_proto, 6);
    assert_int_equal(p.in_sport, 40001);
    assert_int_equal(p.in_dport, 443);
    /* Time exceeded quoting an echo request: keyed by its id. */
    size_t en = icmp6(q, MB, A6, B6, 128, 0, 0x77, 1, NULL, 0) - 14;
    p = cls(f, icmp6(f, MA, "fd00:1::1", A6, 3, 0, 0, 64, q + 14, en));
    assert_true(p.has_inner);
    assert_int_equal(p.in_proto, 58);
    assert_int_equal(p.in_sport, 0x77);
    /* Quotes too short for the ports, of IPv4, or with a broken chain say
     * nothing; an echo reply or an ND message quotes nothing. */
    assert_false(cls(f, icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, 40 + 2)).has_inner);
    qn = udp6(q, A6, B6, 5000, 53) - 14;
    q[14] = 0x45;
    assert_false(cls(f, icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, qn)).has_inner);
    frame6(q, MA, MB, A6, B6, VN_IPPROTO_TCP, 64, dst1, 1, 20, &(uint8_t *){ 0 });
    q[14 + 40 + 1] = 200;
    assert_false(cls(f, icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, 68)).has_inner);
    qn = udp6(q, A6, B6, 5000, 53) - 14;
    assert_false(cls(f, icmp6(f, MA, B6, A6, 129, 0, 0, 64, q + 14, qn)).has_inner);
    /* A quote of a later fragment has no ports. */
    static const uint8_t frag[] = { VN_IPPROTO_FRAGMENT };
    frame6(q, MA, MB, A6, B6, VN_IPPROTO_UDP, 64, frag, 1, 16, &(uint8_t *){ 0 });
    vn_put_be16(q + 14 + 40 + 2, 8 << 3);
    assert_false(cls(f, icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, 64)).has_inner);
}

static void add_rules(struct vn_acl *a, const char *const *rules, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct vn_acl_rule r = parse_ok(rules[i]);
        assert_int_equal(vn_acl_insert(a, &r, -1, err, sizeof err), 0);
    }
}

/* Index of the rule matching p in direction 1, or -1. */
static int which(struct vn_acl *a, const struct vn_acl_pkt *p)
{
    struct vn_acl_rule *r = vn_acl_match(a, 1, p);
    return r ? (int)(r - a->rules) : -1;
}

/* Prefix matching per family: an IPv6 rule never matches IPv4 and the
 * other way round; protocol and port rules match both; icmpv6 types. */
static void test_match6(void **state)
{
    (void)state;
    static uint8_t f[2048];
    struct vn_acl a = { 0 };
    static const char *const rules[] = {
        "drop src=fd00:1::a/128 proto=udp",  /* 0 */
        "allow dst=fd00:1::/64 proto=tcp dport=22", /* 1 */
        "reject dst=10.0.0.0/8 proto=tcp dport=23", /* 2 */
        "allow proto=tcp dport=23",         /* 3: either family */
        "drop proto=icmpv6 icmp_type=128 icmp_code=1", /* 4 */
        "allow icmp_type=128 src=fd00:1::/64", /* 5 */
        "allow icmp_type=8",                /* 6: ICMP (IPv4) only */
        "drop src=::/0",                    /* 7: every IPv6 packet */
        "allow dst=0.0.0.0/0",              /* 8: every IPv4 packet */
    };
    add_rules(&a, rules, VN_ARRAY_LEN(rules));
    assert_int_equal(which(&a, &(struct vn_acl_pkt){ 0 }), -1);
    struct vn_acl_pkt p = cls(f, udp6(f, A6, B6, 5000, 53));
    assert_int_equal(which(&a, &p), 0);
    p = cls(f, udp6(f, B6, A6, 5000, 53));
    assert_int_equal(which(&a, &p), 7);
    p = cls(f, tcp6(f, B6, A6, 40000, 22, VN_TCP_SYN, NULL, 0));
    assert_int_equal(which(&a, &p), 1);
    p = cls(f, tcp6(f, B6, "fd00:2::a", 40000, 22, VN_TCP_SYN, NULL, 0));
    assert_int_equal(which(&a, &p), 7); /* outside the /64 */
    p = cls(f, tcp6(f, B6, "::a00:1", 40000, 23, VN_TCP_SYN, NULL, 0));
    assert_int_equal(which(&a, &p), 3); /* ::10.0.0.1 is not in 10/8 */
    p = cls(f, icmp6(f, MB, A6, B6, 128, 0, 1, 64, NULL, 0));
    assert_int_equal(which(&a, &p), 5);
    p = cls(f, icmp6(f, MB, A6, B6, 128, 1, 1, 64, NULL, 0));
    assert_int_equal(which(&a, &p), 4);
    p = cls(f, icmp6(f, MB, "fd00:2::a", B6, 128, 0, 1, 64, NULL, 0));
    assert_int_equal(which(&a, &p), 7);
    p = cls(f, icmp6(f, MB, A6, B6, 8, 0, 1, 64, NULL, 0)); /* ICMPv6 type 8 is not ICMP's */
    assert_int_equal(which(&a, &p), 7);
    /* IPv4 sees none of the IPv6 rules. */
    p = cls(f, frame(f, 6, 40000, 23, 0));
    assert_int_equal(which(&a, &p), 2);
    p = cls(f, frame(f, 6, 40000, 22, 0));
    assert_int_equal(which(&a, &p), 8);
    p = cls(f, frame(f, 1, 8, 1, 0));
    assert_int_equal(which(&a, &p), 6);
    p = cls(f, frame(f, 17, 5000, 53, 0));
    assert_int_equal(which(&a, &p), 8);
    vn_acl_free(&a);
    /* dst 10.0.0.0/8 vs an IPv4 frame to 10.0.2.2: rule 2. */
    static const char *const r2[] = { "reject dst=10.0.0.0/8 proto=tcp dport=23" };
    add_rules(&a, r2, 1);
    p = cls(f, frame(f, 6, 40000, 23, 0));
    assert_int_equal(which(&a, &p), 0);
    p = cls(f, tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, NULL, 0));
    assert_int_equal(which(&a, &p), -1);
    vn_acl_free(&a);
}

/* Address resolution: rules about IP traffic pass over ND (and ARP); rules
 * without IP conditions and rules naming an ND type decide it; no match
 * lets it pass under a drop default. */
static void test_resolution(void **state)
{
    (void)state;
    static uint8_t f[2048];
    struct vn_acl a = { 0 };
    static const char *const rules[] = {
        "drop proto=icmpv6",                /* 0 */
        "drop src=fe80::/10",               /* 1 */
        "drop state=new",                   /* 2 */
        "drop dst=ff02::/16 proto=icmpv6 icmp_code=0", /* 3 */
    };
    add_rules(&a, rules, VN_ARRAY_LEN(rules));
    struct vn_acl_pkt ns = cls(f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(which(&a, &ns), -1);
    assert_true(vn_acl_default_allows(&ns, true));
    assert_true(vn_acl_default_allows(&ns, false));
    /* The same message with hop limit 64 is plain ICMPv6. */
    struct vn_acl_pkt fake = cls(f, ns6(f, "fe80::a", B6, 64));
    assert_int_equal(which(&a, &fake), 0);
    assert_false(vn_acl_default_allows(&fake, true));
    /* An echo request is not resolution either. */
    struct vn_acl_pkt echo = cls(f, icmp6(f, MB, A6, B6, 128, 0, 1, 64, NULL, 0));
    assert_false(vn_acl_default_allows(&echo, true));
    assert_true(vn_acl_default_allows(&echo, false));
    /* ARP: the same. */
    size_t n = frame(f, 1, 8, 1, 0);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    struct vn_acl_pkt arp = cls(f, n);
    assert_int_equal(which(&a, &arp), -1);
    assert_true(vn_acl_default_allows(&arp, true));
    vn_acl_free(&a);
    /* Rules that name it decide it. */
    static const char *const naming[] = {
        "drop proto=icmpv6 icmp_type=135 src=fe80::/10", /* 0 */
        "allow proto=icmpv6 icmp_type=136",  /* 1 */
        "drop ethertype=ipv6 src_mac=52:54:00:00:00:0c", /* 2 */
        "drop ethertype=arp",                /* 3 */
        "drop src_mac=52:54:00:00:00:0a",     /* 4 */
    };
    add_rules(&a, naming, VN_ARRAY_LEN(naming));
    ns = cls(f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(which(&a, &ns), 0);
    ns = cls(f, ns6(f, "::", B6, 255)); /* DAD from :: is outside fe80::/10 */
    assert_int_equal(which(&a, &ns), 4);
    struct vn_acl_pkt na = cls(f, icmp6(f, NULL, "fe80::b", "ff02::1", 136, 0, 0, 255, NULL, 0));
    assert_int_equal(which(&a, &na), 1);
    n = icmp6(f, NULL, "fe80::c", "ff02::2", 133, 0, 0, 255, NULL, 0);
    struct vn_acl_pkt rs = cls(f, n);
    assert_int_equal(which(&a, &rs), 4); /* icmp6() sends from MA */
    memcpy(f + 6, (const uint8_t[]){ 0x52, 0x54, 0, 0, 0, 0xc }, 6);
    rs = cls(f, n);
    assert_int_equal(which(&a, &rs), 2);
    n = frame(f, 1, 8, 1, 0);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    arp = cls(f, n);
    assert_int_equal(which(&a, &arp), 3);
    vn_acl_free(&a);
}

/* Parse an IPv6 reject answer at o (n bytes) back: checks its addresses are
 * the offending packet's swapped, its checksum, and returns its upper layer. */
static const uint8_t *answer6(const uint8_t *o, size_t n, const char *from, const char *to,
                              uint8_t proto)
{
    struct vn_ip6 ip;
    assert_true(n > 14);
    assert_int_equal(vn_get_be16(o + 12), VN_ETH_TYPE_IPV6);
    assert_memory_equal(o, MA, 6); /* back to the sender */
    assert_memory_equal(o + 6, MB, 6);
    assert_int_equal(vn_ip6_parse(o + 14, n - 14, &ip), VN_IP_OK);
    assert_int_equal(ip.tot_len, n - 14);
    assert_int_equal(ip.proto, proto);
    assert_memory_equal(ip.src, ip6(from), 16);
    assert_memory_equal(ip.dst, ip6(to), 16);
    assert_int_equal(vn_csum_fold(vn_csum_add(vn_csum_pseudo6(ip.src, ip.dst, proto, ip.l4_len),
                                              ip.l4, ip.l4_len)), 0);
    return ip.l4;
}

static void test_reject6(void **state)
{
    (void)state;
    static uint8_t f[2048], o[VN_REJECT_BUFLEN];
    static const uint8_t ext1[] = { VN_IPPROTO_HOPOPTS };
    /* TCP SYN (behind a hop-by-hop header): RST+ACK of the SYN. */
    size_t n = tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, ext1, 1);
    size_t k = vn_reject_build(f, n, o, sizeof o);
    assert_int_equal(k, 14 + 40 + 20);
    const uint8_t *t = answer6(o, k, B6, A6, VN_IPPROTO_TCP);
    assert_int_equal(vn_get_be16(t), 23);
    assert_int_equal(vn_get_be16(t + 2), 40000);
    assert_int_equal(t[13], VN_TCP_RST | VN_TCP_ACK);
    assert_int_equal(vn_get_be32(t + 8), 1001);
    /* A segment with ACK: RST with its ack as sequence. */
    n = tcp6(f, A6, B6, 40000, 23, VN_TCP_ACK, NULL, 0);
    t = answer6(o, vn_reject_build(f, n, o, sizeof o), B6, A6, VN_IPPROTO_TCP);
    assert_int_equal(t[13], VN_TCP_RST);
    assert_int_equal(vn_get_be32(t + 4), 5000);
    /* UDP: destination unreachable, administratively prohibited, quoting
     * the datagram whole. */
    n = udp6(f, A6, B6, 5000, 53);
    k = vn_reject_build(f, n, o, sizeof o);
    assert_int_equal(k, 14 + 48 + (n - 14));
    const uint8_t *ic = answer6(o, k, B6, A6, VN_IPPROTO_ICMPV6);
    assert_int_equal(ic[0], 1);
    assert_int_equal(ic[1], 1);
    assert_memory_equal(ic + 8, f + 14, n - 14);
    /* The answer classifies as an error about the datagram. */
    struct vn_acl_pkt p = cls(o, k);
    assert_true(p.has_inner);
    assert_int_equal(p.in_dport, 53);
    /* A big packet is quoted up to the IPv6 minimum MTU. */
    uint8_t *l4;
    n = frame6(f, MA, MB, A6, B6, VN_IPPROTO_UDP, 64, NULL, 0, 1400, &l4);
    k = vn_reject_build(f, n, o, sizeof o);
    assert_int_equal(k, 14 + 1280);
    answer6(o, k, B6, A6, VN_IPPROTO_ICMPV6);
    /* a smaller buffer holds a shorter quote */
    assert_int_equal(vn_reject_build(f, n, o, 14 + 48 + 100), 14 + 48 + 100);
    assert_int_equal(vn_reject_build(f, n, o, 50), 0);
    /* An echo request is answered; other ICMPv6 never is. */
    n = icmp6(f, MB, A6, B6, 128, 0, 7, 64, NULL, 0);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 14 + 48 + (n - 14));
    static const uint8_t others[] = { 1, 2, 3, 4, 129, 133, 134, 135, 136, 137, 143 };
    for (size_t i = 0; i < sizeof others; i++) {
        n = icmp6(f, MB, A6, B6, others[i], 0, 7, 255, NULL, 0);
        assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    }
    /* No answer to: a RST, a multicast destination (IP or MAC), an
     * unspecified or multicast source, a later fragment, a broken chain. */
    n = tcp6(f, A6, B6, 40000, 23, VN_TCP_RST, NULL, 0);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    n = udp6(f, A6, "ff02::1", 5000, 53);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    n = udp6(f, A6, B6, 5000, 53);
    f[0] = 0x33;
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    n = udp6(f, "::", B6, 5000, 53);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    n = udp6(f, "ff05::1", B6, 5000, 53);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    static const uint8_t frag[] = { VN_IPPROTO_FRAGMENT };
    n = tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, frag, 1);
    vn_put_be16(f + 14 + 40 + 2, 8 << 3);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    n = tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, ext1, 1);
    f[14 + 40 + 1] = 50;
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
    /* IPv4 as before: RST, and ICMP 3/13 quoting header + 8 bytes. */
    n = frame(f, 6, 40000, 23, 0);
    f[14 + 20 + 12] = 0x50; /* a valid TCP header */
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 14 + 40);
    assert_int_equal(o[14 + 20 + 13], VN_TCP_RST | VN_TCP_ACK);
    n = frame(f, 17, 5000, 53, 0);
    k = vn_reject_build(f, n, o, sizeof o);
    assert_int_equal(k, 14 + 28 + 28);
    assert_int_equal(o[14 + 20], 3);
    assert_int_equal(o[14 + 21], 13);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    assert_int_equal(vn_reject_build(f, n, o, sizeof o), 0);
}

/* Answers share one token bucket: a burst, then one per 1/VN_REJECT_RATE s;
 * frames that get no answer take no token. */
static void test_reject_rate(void **state)
{
    (void)state;
    static uint8_t f[2048];
    static struct vn_reject rj;
    memset(&rj, 0, sizeof rj);
    size_t n = udp6(f, A6, B6, 5000, 53);
    uint64_t t0 = 1000000000ull;
    for (unsigned i = 0; i < VN_REJECT_BURST; i++)
        assert_int_not_equal(vn_reject_answer(&rj, f, n, t0), 0);
    assert_int_equal(vn_reject_answer(&rj, f, n, t0), 0);
    assert_int_equal(rj.sent, VN_REJECT_BURST);
    assert_int_equal(rj.rate_limited, 1);
    uint64_t step = 1000000000ull / VN_REJECT_RATE;
    assert_int_equal(vn_reject_answer(&rj, f, n, t0 + step), 14 + 48 + (n - 14));
    assert_int_equal(vn_reject_answer(&rj, f, n, t0 + step), 0);
    assert_int_equal(rj.rate_limited, 2);
    /* A frame that gets no answer is neither sent nor limited. */
    size_t m = icmp6(f, MB, A6, B6, 1, 0, 0, 64, NULL, 0);
    assert_int_equal(vn_reject_answer(&rj, f, m, t0 + 10 * step), 0);
    assert_int_equal(rj.rate_limited, 2);
    assert_int_equal(rj.sent, VN_REJECT_BURST + 1);
    json_t *j = vn_reject_stats_json(&rj);
    assert_int_equal(json_integer_value(json_object_get(j, "sent")), VN_REJECT_BURST + 1);
    assert_int_equal(json_integer_value(json_object_get(j, "rate_limited")), 2);
    json_decref(j);
}

/* ---- YAML: errors with file and line, printing and reading back ---- */

static int load(const char *yaml, struct vn_config **out, struct vn_conf_err *ce)
{
    struct vn_config *c = vn_conf_new();
    memset(ce, 0, sizeof *ce);
    int rc = vn_conf_load_yaml_string(c, "t.yaml", yaml, strlen(yaml), ce);
    if (!rc)
        rc = vn_conf_validate(c, ce);
    if (out && !rc)
        *out = c;
    else
        vn_conf_free(c);
    return rc;
}

/* A network whose rules are the flow mappings in rules (one per line from line 5). */
static char *net_yaml(const char *rules)
{
    static char y[2048];
    snprintf(y, sizeof y, "networks:\n  - name: lan\n    mode: isolated\n    acl:\n"
                          "      rules:\n%s", rules);
    return y;
}

static void yaml_bad(const char *rules, int line, const char *what)
{
    struct vn_conf_err ce;
    if (!load(net_yaml(rules), NULL, &ce))
        fail_msg("accepted: %s", rules);
    char where[32];
    snprintf(where, sizeof where, "t.yaml:%d: acl: ", line);
    if (strncmp(ce.msg, where, strlen(where)) || !strstr(ce.msg, what))
        fail_msg("error '%s', expected '%s...%s'", ce.msg, where, what);
}

static void test_yaml(void **state)
{
    (void)state;
    yaml_bad("        - {action: allow}\n        - {action: drop, src: \"fd00:1::5/64\"}\n", 7,
             "src: 'fd00:1::5/64' has host bits set (did you mean fd00:1::/64?)");
    yaml_bad("        - action: drop\n          proto: tcp\n          dst: \"fd00::/130\"\n", 8,
             "dst: 'fd00::/130': the prefix length of an IPv6 address is 0-128");
    yaml_bad("        - {action: drop, src: \"10.1.1.1/16\"}\n", 6,
             "did you mean 10.1.0.0/16?");
    yaml_bad("        - action: drop\n          icmp_type: 128\n          proto: icmp\n"
             "          src: \"fd00::/8\"\n", 9,
             "src: 'fd00::/8' makes the rule IPv6, but proto icmp makes it IPv4");
    yaml_bad("        - {action: drop, dst: \"fd00::zz\"}\n", 6, "is not an IPv4 or IPv6 address");
    yaml_bad("        - {action: drop, proto: icmpv7}\n", 6, "proto: 'icmpv7'");
    yaml_bad("        - {action: drop, icmp_code: 300}\n", 6, "icmp_code: '300' is not 0-255");
    yaml_bad("        - {action: drop, proto: udp, icmp_type: 1}\n", 6,
             "need proto icmp or icmpv6");
    /* Printing and reading back: the same text twice, IPv6 rules intact. */
    static const char rules[] =
        "        - {action: allow, state: established}\n"
        "        - {action: reject, direction: both, src: \"fd00:1::/64\", dst: \"2001:db8::5\","
        " proto: tcp, dport: 22}\n"
        "        - {action: allow, proto: icmpv6, icmp_type: 1, icmp_code: 4}\n"
        "        - {action: drop, icmp_type: 135, src: \"fe80::/10\"}\n"
        "        - {action: allow, dst: \"::/0\", proto: udp}\n"
        "        - {action: allow, src: 10.0.0.0/8}\n";
    struct vn_config *c;
    struct vn_conf_err ce;
    if (load(net_yaml(rules), &c, &ce))
        fail_msg("%s", ce.msg);
    assert_int_equal(c->nets[0].acl.n, 6);
    assert_string_equal(c->nets[0].acl.rules[1].text,
                        "reject both src=fd00:1::/64 dst=2001:db8::5/128 proto=tcp dport=22");
    assert_int_equal(c->nets[0].acl.rules[3].mproto, 58);
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *o = open_memstream(&t1, &l1);
    vn_conf_print(c, o);
    fclose(o);
    struct vn_config *c2;
    if (load(t1, &c2, &ce))
        fail_msg("printed config rejected: %s\n%s", ce.msg, t1);
    o = open_memstream(&t2, &l2);
    vn_conf_print(c2, o);
    fclose(o);
    assert_string_equal(t1, t2);
    assert_non_null(strstr(t1, "src: \"fd00:1::/64\""));
    assert_non_null(strstr(t1, "icmp_code: \"4\""));
    for (unsigned i = 0; i < c->nets[0].acl.n; i++)
        if (memcmp(&c->nets[0].acl.rules[i], &c2->nets[0].acl.rules[i],
                   offsetof(struct vn_acl_rule, hits)))
            fail_msg("rule %u reads back differently: %s", i, c2->nets[0].acl.rules[i].text);
    free(t1);
    free(t2);
    vn_conf_free(c);
    vn_conf_free(c2);
}

/* ---- through a real switch ---- */

static const char SWITCH_CONF[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: isolated\n"
    "    acl:\n"
    "      default: drop\n"
    "      rules:\n"
    "        - {action: allow, state: established}\n"
    "        - {action: allow, proto: tcp, dst: \"fd00:1::/64\", dport: 22}\n"
    "        - {action: reject, proto: tcp, dst: \"fd00:1::/64\", dport: 23}\n"
    "        - {action: allow, proto: udp, dst: \"fd00:1::b\", dport: 5000}\n"
    "        - {action: reject, proto: udp, src: \"fd00:1::a\"}\n"
    "        - {action: allow, proto: icmpv6, icmp_type: 128, src: \"fd00:1::a\"}\n"
    "ports:\n"
    "  - {name: a, type: stream, network: lan, path: /nonexistent/a}\n"
    "  - {name: b, type: stream, network: lan, path: /nonexistent/b}\n"
    "  - {name: c, type: stream, network: lan, path: /nonexistent/c}\n";

static struct harness_rec rec[3];

/* f as a frame from b's MAC to a's. */
static uint8_t *b_to_a(uint8_t *f)
{
    memcpy(f, MA, 6);
    memcpy(f + 6, MB, 6);
    return f;
}

static void reset_rec(void)
{
    for (int i = 0; i < 3; i++)
        rec[i].n = rec[i].lost = 0;
}

/* IPv6 rules, the ND rule, stateful return traffic and related ICMPv6
 * errors, reject answers sent back into the sending port, IPv4 untouched by
 * IPv6 rules, and run-time rule changes, all through vn_switch_input. */
static void test_switch6(void **state)
{
    (void)state;
    static uint8_t f[2048], q[2048];
    struct vn_config *c = harness_config(SWITCH_CONF);
    struct vn_loop *loop = vn_loop_new();
    struct vn_switch *sw = vn_switch_new(loop);
    struct vn_network *net = harness_network(sw, &c->nets[0]);
    struct vn_port *pa = harness_port(sw, &c->ports[0], &rec[0]);
    struct vn_port *pb = harness_port(sw, &c->ports[1], &rec[1]);
    harness_port(sw, &c->ports[2], &rec[2]);
    assert_true(sw->acl_active);
    reset_rec();

    /* Neighbour discovery passes the drop default: NS from a reaches b and
     * c, b's NA reaches a; an NS with hop limit 64 is not ND and is dropped. */
    harness_input(sw, pa, f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(rec[1].n, 1);
    assert_int_equal(rec[2].n, 1);
    size_t n = icmp6(f, MA, "fe80::b", "fe80::a", 136, 0, 0, 255, ip6(B6), 16);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    harness_input(sw, pa, f, ns6(f, "fe80::a", B6, 64));
    assert_int_equal(rec[1].n, 1);
    /* ARP too. */
    n = frame(f, 1, 8, 1, 0);
    memset(f, 0xff, 6);
    memcpy(f + 6, MA, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 2);
    reset_rec();

    /* TCP to port 22 passes, and its answer as established. */
    n = tcp6(f, A6, B6, 40000, 22, VN_TCP_SYN, NULL, 0);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 1);
    n = tcp6(f, B6, A6, 22, 40000, VN_TCP_SYN | VN_TCP_ACK, NULL, 0);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    /* ... but b may not open one to a's port 7000 (only the answers of a's
     * connection pass). */
    n = tcp6(f, B6, A6, 40001, 7000, VN_TCP_SYN, NULL, 0);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    /* Port 23 is rejected: a gets a RST from b's address, b nothing. */
    n = tcp6(f, A6, B6, 40000, 23, VN_TCP_SYN, NULL, 0);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 1);
    assert_int_equal(rec[0].n, 2);
    const uint8_t *t = answer6(rec[0].f[1], rec[0].len[1], B6, A6, VN_IPPROTO_TCP);
    assert_int_equal(t[13], VN_TCP_RST | VN_TCP_ACK);
    reset_rec();

    /* UDP to b:5000 passes; b's port unreachable about it returns to a as
     * related; the same error sent to another address, or one about a flow
     * nobody opened, does not. */
    n = udp6(f, A6, B6, 6000, 5000);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 1);
    memcpy(q, f + 14, n - 14);
    size_t qn = n - 14;
    n = icmp6(f, MA, B6, A6, 1, 4, 0, 64, q, qn);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    n = icmp6(f, MA, B6, "fd00:1::c", 1, 4, 0, 64, q, qn);
    harness_input(sw, pb, b_to_a(f), n);
    n = udp6(q, A6, B6, 6000, 5001);
    n = icmp6(f, MA, B6, A6, 1, 4, 0, 64, q + 14, n - 14);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    /* UDP from a elsewhere is rejected with ICMPv6 administratively
     * prohibited. */
    n = udp6(f, A6, B6, 6000, 5001);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 1);
    assert_int_equal(rec[0].n, 2);
    const uint8_t *ic = answer6(rec[0].f[1], rec[0].len[1], B6, A6, VN_IPPROTO_ICMPV6);
    assert_int_equal(ic[0], 1);
    assert_int_equal(ic[1], 1);
    reset_rec();

    /* ping -6: a's echo passes with its reply; b's echo is dropped. */
    harness_input(sw, pa, f, icmp6(f, MB, A6, B6, 128, 0, 9, 64, NULL, 0));
    assert_int_equal(rec[1].n, 1);
    n = icmp6(f, MA, B6, A6, 129, 0, 9, 64, NULL, 0);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    n = icmp6(f, MA, B6, A6, 128, 0, 10, 64, NULL, 0);
    harness_input(sw, pb, b_to_a(f), n);
    assert_int_equal(rec[0].n, 1);
    reset_rec();

    /* IPv4 sees none of these rules: TCP to 22 and 23 are dropped by the
     * default, without a reject answer. */
    n = frame(f, 6, 40000, 22, 0);
    f[14 + 20 + 12] = 0x50;
    memcpy(f, MB, 6);
    memcpy(f + 6, MA, 6);
    harness_input(sw, pa, f, n);
    vn_put_be16(f + 14 + 20 + 2, 23);
    harness_input(sw, pa, f, n);
    assert_int_equal(rec[1].n, 0);
    assert_int_equal(rec[0].n, 0);
    assert_int_equal(sw->dp[0]->rej.sent, 2);

    /* Run time: a rule naming NS drops it; a rule about all ICMPv6 does not. */
    struct vn_acl_rule r = parse_ok("drop proto=icmpv6 icmp_type=135");
    assert_int_equal(vn_acl_insert(&net->acl, &r, 0, err, sizeof err), 0);
    assert_int_equal(vn_switch_acl_changed(sw), 0);
    harness_input(sw, pa, f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(rec[1].n, 0);
    assert_int_equal(net->acl.rules[0].hits, 2); /* flooded to b and c */
    vn_acl_delete(&net->acl, 0);
    r = parse_ok("drop proto=icmpv6");
    assert_int_equal(vn_acl_insert(&net->acl, &r, 0, err, sizeof err), 0);
    assert_int_equal(vn_switch_acl_changed(sw), 0);
    harness_input(sw, pa, f, ns6(f, "fe80::a", B6, 255));
    assert_int_equal(rec[1].n, 1);
    harness_input(sw, pa, f, icmp6(f, MB, A6, B6, 128, 0, 11, 64, NULL, 0));
    assert_int_equal(rec[1].n, 1);
    assert_int_equal(net->acl.rules[0].hits, 1);
    assert_true(pa->stats.rx_drops[VN_DROP_ACL] > 0);

    vn_switch_free(sw);
    vn_loop_free(loop);
    vn_conf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),    cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format_roundtrip), cmocka_unit_test(test_list),
        cmocka_unit_test(test_classify), cmocka_unit_test(test_match),
        cmocka_unit_test(test_parse_ipv6), cmocka_unit_test(test_classify6),
        cmocka_unit_test(test_classify6_errors), cmocka_unit_test(test_match6),
        cmocka_unit_test(test_resolution), cmocka_unit_test(test_reject6),
        cmocka_unit_test(test_reject_rate), cmocka_unit_test(test_yaml),
        cmocka_unit_test(test_switch6), cmocka_unit_test(test_vpn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
