/* Unit tests of ACL rules (src/fw/acl.c): parsing of the vnetctl and YAML
 * forms, errors, formatting, list insert/delete bounds, what the classifier
 * reads from frames, and first-match semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fw/acl.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

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
    assert_int_equal(r.src, 0x0a000200);
    assert_int_equal(r.src_mask, 0xffffff00);
    assert_int_equal(r.dst, 0xc0a80107);
    assert_int_equal(r.dst_mask, 0xffffffff);
    assert_int_equal(r.state, VN_ACL_NEW);
    assert_int_equal(r.ethertype, VN_ETH_TYPE_IPV4);

    r = parse_ok("drop both icmp_type=8");
    assert_int_equal(r.dir, 3);
    assert_int_equal(r.proto, 1);
    assert_int_equal(r.icmp_type, 8);

    r = parse_ok("deny,in,src_mac=52:54:00:00:00:01,ethertype=arp");
    assert_int_equal(r.action, VN_ACL_DROP);
    assert_true(r.has_src_mac);
    assert_int_equal(r.ethertype, VN_ETH_TYPE_ARP);
    r = parse_ok("accept ethertype=0x88cc");
    assert_int_equal(r.ethertype, 0x88cc);
    /* Host bits of a prefix are cleared; /0 means any. */
    r = parse_ok("allow src=10.1.2.3/8 dst=0.0.0.0/0");
    assert_int_equal(r.src, 0x0a000000);
    assert_int_equal(r.dst_mask, 0);
    r = parse_ok("allow sport=53");
    assert_int_equal(r.sport_lo, 53);
    assert_int_equal(r.sport_hi, 53);
    r = parse_ok("allow proto=47");
    assert_int_equal(r.proto, 47);
}

static void test_parse_errors(void **state)
{
    (void)state;
    parse_bad("", "empty");
    parse_bad("permit", "action");
    parse_bad("allow sideways", "direction");
    parse_bad("allow in extra", "expected key=value");
    parse_bad("allow color=red", "unknown ACL key 'color'");
    parse_bad("allow src=10.0.0.0/33", "src");
    parse_bad("allow dst=10.0.0", "dst");
    parse_bad("allow proto=256", "proto");
    parse_bad("allow proto=sctpx", "proto");
    parse_bad("allow dport=65536", "dport");
    parse_bad("allow dport=2000-1000", "dport");
    parse_bad("allow sport=1-2-3", "sport");
    parse_bad("allow icmp_type=300", "icmp_type");
    parse_bad("allow src_mac=52:54:00", "src_mac");
    parse_bad("allow ethertype=0x5ff", "ethertype");
    parse_bad("allow ethertype=0x10000", "ethertype");
    parse_bad("allow state=old", "state");
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
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct vn_acl_rule a = parse_ok(rules[i]);
        struct vn_acl_rule b = parse_ok(a.text);
        if (memcmp(&a, &b, offsetof(struct vn_acl_rule, hits)))
            fail_msg("'%s' formats as '%s' which parses differently", rules[i], a.text);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),    cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_format_roundtrip), cmocka_unit_test(test_list),
        cmocka_unit_test(test_classify), cmocka_unit_test(test_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
