/* Unit tests of the gateway's egress table (src/gw/egress.c): local rules
 * match in order, link broadcasts reach only rules that accept them,
 * broadcast destinations have their own rules, routes pick the longest
 * prefix (a tunnel peer beside the NAT default), misses end in the table's
 * route_miss, IPv6 addresses share the same table, full lists refuse new
 * entries without disturbing old ones, and lookups are counted by kind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/egress.h"
#include "gw/l3.h"

#include <arpa/inet.h>
#include <string.h>

static struct vn_addr a6(const char *s)
{
    struct vn_addr x = { .family = AF_INET6 };
    assert_int_equal(inet_pton(AF_INET6, s, x.a), 1);
    return x;
}

static const struct vn_gw_egress DROP = { .kind = VN_EG_DROP },
                                 NEXT = { .kind = VN_EG_NEXT },
                                 UNREACH = { .kind = VN_EG_UNREACH, .icmp = VN_ICMPE_NET_UNREACH },
                                 PORT_UNREACH = { .kind = VN_EG_UNREACH,
                                                  .icmp = VN_ICMPE_PORT_UNREACH };

static struct vn_gw_egress svc(uint8_t n) { return (struct vn_gw_egress){ .kind = VN_EG_SERVICE, .service = n }; }

#define GW 0x0a000202u
#define DNS 0x0a000203u

/* The shape a nat network's gateway builds. */
static void build(struct vn_gw_egress_table *t)
{
    vn_gw_egress_init(t, UNREACH);
    struct vn_addr gw = vn_addr4(GW), dns = vn_addr4(DNS);
    assert_int_equal(vn_gw_egress_add_local(t, gw, (struct vn_gw_rule){ 17, 67, true, svc(1) }), 0);
    assert_int_equal(vn_gw_egress_add_local(t, gw, (struct vn_gw_rule){ 1, 0, false, svc(0) }), 0);
    assert_int_equal(vn_gw_egress_add_local(t, gw, (struct vn_gw_rule){ 0, 0, false, NEXT }), 0);
    assert_int_equal(vn_gw_egress_add_local(t, dns, (struct vn_gw_rule){ 17, 53, true, svc(2) }), 0);
    assert_int_equal(vn_gw_egress_add_local(t, dns, (struct vn_gw_rule){ 17, 0, false, PORT_UNREACH }), 0);
    assert_int_equal(vn_gw_egress_add_bcast(t, (struct vn_gw_rule){ 17, 67, true, svc(1) }), 0);
    assert_int_equal(vn_gw_egress_add_route(t, vn_addr4(0), 0,
                                            (struct vn_gw_egress){ .kind = VN_EG_NEXT, .routed = true }),
                     0);
}

static void test_local_rules_in_order(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    build(&t);
    struct vn_addr gw = vn_addr4(GW), dns = vn_addr4(DNS);
    const struct vn_gw_egress *e = vn_gw_egress_lookup(&t, &gw, false, false, 17, 67);
    assert_int_equal(e->kind, VN_EG_SERVICE);
    assert_int_equal(e->service, 1);
    e = vn_gw_egress_lookup(&t, &gw, false, false, 1, 0);
    assert_int_equal(e->service, 0);
    e = vn_gw_egress_lookup(&t, &gw, false, false, 6, 80); /* the catch-all */
    assert_int_equal(e->kind, VN_EG_NEXT);
    assert_false(e->routed);
    e = vn_gw_egress_lookup(&t, &dns, false, false, 17, 53);
    assert_int_equal(e->service, 2);
    e = vn_gw_egress_lookup(&t, &dns, false, false, 17, 54);
    assert_int_equal(e->kind, VN_EG_UNREACH);
    assert_int_equal(e->icmp, VN_ICMPE_PORT_UNREACH);
    /* No rule for TCP on the DNS address: dropped, not routed. */
    e = vn_gw_egress_lookup(&t, &dns, false, false, 6, 53);
    assert_int_equal(e->kind, VN_EG_DROP);
    assert_true(vn_gw_egress_is_local(&t, &dns));
    struct vn_addr other = vn_addr4(0x0a000204);
    assert_false(vn_gw_egress_is_local(&t, &other));
}

static void test_link_broadcast(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    build(&t);
    struct vn_addr gw = vn_addr4(GW), bc = vn_addr4(0xffffffffu), far = vn_addr4(0x08080808);
    /* DHCP accepts a broadcast frame, echo does not. */
    assert_int_equal(vn_gw_egress_lookup(&t, &gw, false, true, 17, 67)->kind, VN_EG_SERVICE);
    assert_int_equal(vn_gw_egress_lookup(&t, &gw, false, true, 1, 0)->kind, VN_EG_DROP);
    /* Broadcast destinations: only their own rules. */
    assert_int_equal(vn_gw_egress_lookup(&t, &bc, true, true, 17, 67)->kind, VN_EG_SERVICE);
    assert_int_equal(vn_gw_egress_lookup(&t, &bc, true, true, 17, 68)->kind, VN_EG_DROP);
    assert_int_equal(vn_gw_egress_lookup(&t, &bc, true, false, 1, 0)->kind, VN_EG_DROP);
    /* A unicast address in a broadcast frame is not routed. */
    assert_int_equal(vn_gw_egress_lookup(&t, &far, false, true, 6, 80)->kind, VN_EG_DROP);
    assert_int_equal(vn_gw_egress_lookup(&t, &far, false, false, 6, 80)->kind, VN_EG_NEXT);
}

static void test_routes_longest_prefix(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    build(&t);
    int peer;
    struct vn_gw_egress tun = { .kind = VN_EG_TUNNEL, .routed = true, .ctx = &peer };
    /* Host bits are cleared on insert. */
    assert_int_equal(vn_gw_egress_add_route(&t, vn_addr4(0xc0a80a05), 24, tun), 0);
    assert_int_equal(vn_gw_egress_add_route(&t, vn_addr4(0xc0a80a80), 25, UNREACH), 0);
    struct vn_addr in = vn_addr4(0xc0a80a07), hi = vn_addr4(0xc0a80a81), out = vn_addr4(0xc0a80b01);
    const struct vn_gw_egress *e = vn_gw_egress_lookup(&t, &in, false, false, 6, 22);
    assert_int_equal(e->kind, VN_EG_TUNNEL);
    assert_ptr_equal(e->ctx, &peer);
    assert_int_equal(vn_gw_egress_lookup(&t, &hi, false, false, 6, 22)->kind, VN_EG_UNREACH);
    e = vn_gw_egress_lookup(&t, &out, false, false, 6, 22);
    assert_int_equal(e->kind, VN_EG_NEXT);
    assert_true(e->routed);
    /* Bad prefix lengths are refused. */
    assert_int_equal(vn_gw_egress_add_route(&t, vn_addr4(0), 33, tun), -1);
}

static void test_route_miss_and_ipv6(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    vn_gw_egress_init(&t, UNREACH); /* a network that routes nothing */
    struct vn_addr ll = a6("fe80::5056:ff:fe00:1"), far = a6("2001:db8::1"),
                   far4 = vn_addr4(0x01020304);
    assert_int_equal(vn_gw_egress_add_local(&t, ll, (struct vn_gw_rule){ 58, 0, true, svc(3) }), 0);
    assert_int_equal(vn_gw_egress_lookup(&t, &ll, false, true, 58, 0)->service, 3);
    assert_int_equal(vn_gw_egress_lookup(&t, &far, false, false, 6, 80)->kind, VN_EG_UNREACH);
    assert_int_equal(vn_gw_egress_add_route(&t, a6("2001:db8::"), 32, NEXT), 0);
    assert_int_equal(vn_gw_egress_lookup(&t, &far, false, false, 6, 80)->kind, VN_EG_NEXT);
    /* An IPv6 route never matches an IPv4 address (nor a zero-length one). */
    assert_int_equal(vn_gw_egress_add_route(&t, a6("::"), 0, DROP), 0);
    assert_int_equal(vn_gw_egress_lookup(&t, &far4, false, false, 6, 80)->kind, VN_EG_UNREACH);
    assert_int_equal(vn_gw_egress_add_route(&t, a6("::"), 129, NEXT), -1);
}

static void test_full_lists(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    vn_gw_egress_init(&t, UNREACH);
    for (unsigned i = 0; i < VN_GW_LOCAL_MAX; i++)
        assert_int_equal(vn_gw_egress_add_local(&t, vn_addr4(0x0a000001 + i),
                                                (struct vn_gw_rule){ 1, 0, false, svc(0) }),
                         0);
    assert_int_equal(vn_gw_egress_add_local(&t, vn_addr4(0x0b000001),
                                            (struct vn_gw_rule){ 1, 0, false, svc(0) }),
                     -1);
    struct vn_addr first = vn_addr4(0x0a000001);
    for (unsigned i = 1; i < VN_GW_RULES_MAX; i++)
        assert_int_equal(vn_gw_egress_add_local(&t, first, (struct vn_gw_rule){ 17, (uint16_t)i, false, DROP }), 0);
    assert_int_equal(vn_gw_egress_add_local(&t, first, (struct vn_gw_rule){ 6, 0, false, NEXT }), -1);
    /* The old rules still answer. */
    assert_int_equal(vn_gw_egress_lookup(&t, &first, false, false, 1, 0)->kind, VN_EG_SERVICE);
    assert_int_equal(vn_gw_egress_lookup(&t, &first, false, false, 6, 0)->kind, VN_EG_DROP);
    for (unsigned i = 0; i < VN_GW_ROUTES_MAX; i++)
        assert_int_equal(vn_gw_egress_add_route(&t, vn_addr4(0x0c000000 + (i << 8)), 24, NEXT), 0);
    assert_int_equal(vn_gw_egress_add_route(&t, vn_addr4(0x0d000000), 8, NEXT), -1);
    struct vn_addr r = vn_addr4(0x0c000105);
    assert_int_equal(vn_gw_egress_lookup(&t, &r, false, false, 6, 0)->kind, VN_EG_NEXT);
}

static void test_counted_by_kind(void **state)
{
    (void)state;
    struct vn_gw_egress_table t;
    build(&t);
    struct vn_addr gw = vn_addr4(GW), far = vn_addr4(0x08080808);
    vn_gw_egress_lookup(&t, &gw, false, false, 1, 0);
    vn_gw_egress_lookup(&t, &far, false, false, 6, 1);
    vn_gw_egress_lookup(&t, &far, false, false, 6, 2);
    vn_gw_egress_lookup(&t, &far, false, true, 6, 2);
    assert_int_equal(t.hits[VN_EG_SERVICE], 1);
    assert_int_equal(t.hits[VN_EG_NEXT], 2);
    assert_int_equal(t.hits[VN_EG_DROP], 1);
    assert_string_equal(vn_gw_egress_kind_name(VN_EG_NEXT), "next_hop");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_rules_in_order),  cmocka_unit_test(test_link_broadcast),
        cmocka_unit_test(test_routes_longest_prefix), cmocka_unit_test(test_route_miss_and_ipv6),
        cmocka_unit_test(test_full_lists),            cmocka_unit_test(test_counted_by_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
