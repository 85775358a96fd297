/* Unit tests of port policy (src/switch/policy.c) and the switch's address
 * bindings (src/switch/binding.c), through the switch's real input path and
 * ports whose backend records what they get: IP binding lets a source
 * address pass only when the binding table binds it to the sender's MAC (or
 * the port lists it), expired and released bindings stop passing, guests
 * cannot speak or ARP as the gateway, DHCP server messages and router
 * advertisements from VM ports are dropped (trusted ports may send them),
 * MAC lists and limits hold; the binding table refuses entries when full
 * without losing old ones. Every drop is counted under its reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "switch/binding.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

enum { BOUND, OPEN, TRUSTED, LIMITED, SINK, NPORTS };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_network *net;
    struct vn_port *p[NPORTS];
};

static const char CONF[] =
    "networks:\n"
    "  - {name: a, mode: isolated}\n"
    "ports:\n"
    "  - {name: bound, type: stream, network: a, path: /nonexistent/1,\n"
    "     security: {ip_binding: true, ips: [10.0.0.50, \"fd00::50\"]}}\n"
    "  - {name: open, type: stream, network: a, path: /nonexistent/2}\n"
    "  - {name: trusted, type: stream, network: a, path: /nonexistent/3, trusted: true}\n"
    "  - {name: limited, type: stream, network: a, path: /nonexistent/4,\n"
    "     security: {max_macs: 2, macs: [\"52:54:00:00:00:0a\", \"52:54:00:00:00:0b\",\n"
    "                \"52:54:00:00:00:0c\"]}}\n"
    "  - {name: sink, type: stream, network: a, path: /nonexistent/5, trusted: true}\n";

#define GWIP 0x0a000001u
static const uint8_t GWMAC[6] = { 0x52, 0x56, 0, 0, 0, 1 };
static const uint8_t BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    w->c = harness_config(CONF);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    w->net = harness_network(w->sw, &w->c->nets[0]);
    for (unsigned i = 0; i < NPORTS; i++)
        w->p[i] = harness_port(w->sw, &w->c->ports[i], NULL);
    /* What a gateway does when it starts (gw/gateway.c): size the table,
     * bind its own address. */
    assert_int_equal(vn_bind_init(&w->net->bind, 8), 0);
    struct vn_addr g = vn_addr4(GWIP);
    assert_int_equal(vn_bind_set(&w->net->bind, &g, GWMAC, VN_BIND_GATEWAY, 0), 0);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

static size_t mk_ip4(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t src,
                     uint32_t dst, uint8_t proto, uint16_t sport, uint16_t dport)
{
    uint8_t *h = f + 14;
    memset(h + 20, 0, 8 + 300);
    harness_ip4(f, dmac, smac, src, dst, proto, 64, 8 + 300);
    vn_put_be16(h + 20, sport);
    vn_put_be16(h + 22, dport);
    vn_put_be16(h + 24, 8 + 300);
    /* a BOOTP body that speaks for its own MAC (chaddr at 28) */
    h[28] = 1, h[29] = 1, h[30] = 6;
    memcpy(h + 28 + 28, smac, 6);
    return 14 + 20 + 8 + 300;
}

static size_t mk_arp(uint8_t *f, const uint8_t *smac, uint32_t spa, uint32_t tpa)
{
    memcpy(f, BC, 6);
    memcpy(f + 6, smac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_ARP);
    uint8_t *a = f + 14;
    vn_put_be16(a, 1);
    vn_put_be16(a + 2, VN_ETH_TYPE_IPV4);
    a[4] = 6, a[5] = 4;
    vn_put_be16(a + 6, 1);
    memcpy(a + 8, smac, 6);
    vn_put_be32(a + 14, spa);
    memset(a + 18, 0, 6);
    vn_put_be32(a + 24, tpa);
    return 14 + 28 + 18;
}

/* Send f from port `in`; returns the drop reason counted for it, or
 * VN_DROP__COUNT when it was forwarded. */
static enum vn_drop send_one(struct world *w, int in, const uint8_t *f, size_t len)
{
    struct vn_counters before = w->p[in]->stats;
    harness_input(w->sw, w->p[in], f, len);
    for (int d = 0; d < VN_DROP__COUNT; d++)
        if (w->p[in]->stats.rx_drops[d] != before.rx_drops[d])
            return (enum vn_drop)d;
    return VN_DROP__COUNT;
}

static const uint8_t M1[6] = { 0x52, 0x54, 0, 0, 0, 1 }, M2[6] = { 0x52, 0x54, 0, 0, 0, 2 };

static void test_ip_binding_follows_table(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    size_t len = mk_ip4(f, BC, M1, 0x0a000064, 0x0a0000ff, VN_IPPROTO_UDP, 1000, 2000);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* A DHCP lease of the address to M1: it passes, from M1 only. */
    struct vn_addr a = vn_addr4(0x0a000064);
    int64_t now = vn_wall_s();
    assert_int_equal(vn_bind_set(&w->net->bind, &a, M1, VN_BIND_LEASE, now + 3600), 0);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP__COUNT);
    len = mk_ip4(f, BC, M2, 0x0a000064, 0x0a0000ff, VN_IPPROTO_UDP, 1000, 2000);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* ARP claims follow the same table. */
    len = mk_arp(f, M1, 0x0a000064, 0x0a000063);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP__COUNT);
    len = mk_arp(f, M1, 0x0a000065, 0x0a000063);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* Released (deleted for M1): refused again; a delete for another MAC is ignored. */
    vn_bind_del(&w->net->bind, &a, M2);
    len = mk_ip4(f, BC, M1, 0x0a000064, 0x0a0000ff, VN_IPPROTO_UDP, 1000, 2000);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP__COUNT);
    vn_bind_del(&w->net->bind, &a, M1);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* Expired: refused. */
    assert_int_equal(vn_bind_set(&w->net->bind, &a, M1, VN_BIND_LEASE, now - 1), 0);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* An address the port lists passes from any MAC; DHCP from 0.0.0.0 too. */
    len = mk_ip4(f, BC, M2, 0x0a000032, 0x0a0000ff, VN_IPPROTO_UDP, 1000, 2000);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP__COUNT);
    len = mk_ip4(f, BC, M2, 0, 0xffffffffu, VN_IPPROTO_UDP, 68, 67);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP__COUNT);
    /* A port without ip_binding is not checked. */
    len = mk_ip4(f, BC, M2, 0x0a000077, 0x0a0000ff, VN_IPPROTO_UDP, 1000, 2000);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP__COUNT);
}

/* An IPv6 frame from smac with source address src (text). */
static size_t mk_ip6(uint8_t *f, const uint8_t *smac, const char *src)
{
    memset(f, 0, 14 + 48);
    memcpy(f, BC, 6);
    memcpy(f + 6, smac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    f[14] = 0x60;
    vn_put_be16(f + 14 + 4, 8);
    f[14 + 6] = VN_IPPROTO_UDP;
    f[14 + 7] = 64;
    assert_int_equal(inet_pton(AF_INET6, src, f + 14 + 8), 1);
    f[14 + 24] = 0xff, f[14 + 25] = 0x02, f[14 + 39] = 1;
    return 14 + 48;
}

static void test_ip_binding_ipv6(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    assert_int_equal(send_one(w, BOUND, f, mk_ip6(f, M1, "fd00::50")), VN_DROP__COUNT); /* listed */
    assert_int_equal(send_one(w, BOUND, f, mk_ip6(f, M1, "fd00::51")), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, BOUND, f, mk_ip6(f, M1, "fe80::1")), VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_ip6(f, M1, "::")), VN_DROP__COUNT);
    assert_int_equal(send_one(w, OPEN, f, mk_ip6(f, M1, "fd00::51")), VN_DROP__COUNT);
}

static void test_gateway_addresses_protected(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    size_t len = mk_ip4(f, BC, M2, GWIP, 0x0a0000ff, VN_IPPROTO_UDP, 53, 2000);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_SPOOF);
    len = mk_arp(f, M2, GWIP, 0x0a000063);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_SPOOF);
    /* A trusted port (infrastructure) is not a guest. */
    assert_int_equal(send_one(w, TRUSTED, f, len), VN_DROP__COUNT);
    /* The gateway binding is no lease: an ip_binding port cannot use it. */
    struct vn_addr g = vn_addr4(GWIP);
    assert_false(vn_bind_allows(&w->net->bind, &g, GWMAC, vn_wall_s()));
    assert_true(vn_bind_is_gateway(&w->net->bind, &g));
}

static void test_guards(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    size_t len = mk_ip4(f, BC, M2, 0x0a000077, 0xffffffffu, VN_IPPROTO_UDP, 67, 68);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_GUARD); /* a rogue DHCP server */
    assert_int_equal(send_one(w, TRUSTED, f, len), VN_DROP__COUNT);
    /* A DHCP request for another client's hardware address. */
    len = mk_ip4(f, BC, M2, 0, 0xffffffffu, VN_IPPROTO_UDP, 68, 67);
    memcpy(f + 14 + 28 + 28, M1, 6);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_SPOOF);
    /* A router advertisement. */
    memset(f, 0, 14 + 48);
    memcpy(f, BC, 6);
    memcpy(f + 6, M2, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    f[14] = 0x60;
    vn_put_be16(f + 14 + 4, 8);
    f[14 + 6] = VN_IPPROTO_ICMPV6;
    f[14 + 7] = 255;
    f[14 + 40] = 134;
    assert_int_equal(send_one(w, OPEN, f, 14 + 48), VN_DROP_GUARD);
    assert_int_equal(w->p[OPEN]->stats.rx_drops[VN_DROP_GUARD], 2);
}

static void test_mac_list_and_limit(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    const uint8_t ma[6] = { 0x52, 0x54, 0, 0, 0, 0x0a }, mb[6] = { 0x52, 0x54, 0, 0, 0, 0x0b },
                  mc[6] = { 0x52, 0x54, 0, 0, 0, 0x0c };
    size_t len = mk_ip4(f, BC, M1, 0x0a000078, 0x0a0000ff, VN_IPPROTO_UDP, 1, 2);
    assert_int_equal(send_one(w, LIMITED, f, len), VN_DROP_SPOOF); /* not listed */
    len = mk_ip4(f, BC, ma, 0x0a000078, 0x0a0000ff, VN_IPPROTO_UDP, 1, 2);
    assert_int_equal(send_one(w, LIMITED, f, len), VN_DROP__COUNT);
    len = mk_ip4(f, BC, mb, 0x0a000079, 0x0a0000ff, VN_IPPROTO_UDP, 1, 2);
    assert_int_equal(send_one(w, LIMITED, f, len), VN_DROP__COUNT);
    len = mk_ip4(f, BC, mc, 0x0a00007a, 0x0a0000ff, VN_IPPROTO_UDP, 1, 2);
    assert_int_equal(send_one(w, LIMITED, f, len), VN_DROP_MAC_LIMIT); /* a third MAC */
    len = mk_ip4(f, BC, ma, 0x0a000078, 0x0a0000ff, VN_IPPROTO_UDP, 1, 2);
    assert_int_equal(send_one(w, LIMITED, f, len), VN_DROP__COUNT); /* the first still passes */
}

static void test_binding_table_full(void **state)
{
    (void)state;
    struct vn_bindings b;
    assert_int_equal(vn_bind_init(&b, 3), 0);
    int64_t now = 1000;
    for (uint32_t i = 0; i < 3; i++) {
        struct vn_addr a = vn_addr4(0x0a000010 + i);
        assert_int_equal(vn_bind_set(&b, &a, M1, VN_BIND_LEASE, now + 10), 0);
    }
    struct vn_addr x = vn_addr4(0x0a000020), first = vn_addr4(0x0a000010);
    assert_int_equal(vn_bind_set(&b, &x, M2, VN_BIND_LEASE, now + 10), -1);
    assert_int_equal(b.full, 1);
    assert_true(vn_bind_allows(&b, &first, M1, now));
    /* Re-binding an existing address never needs room. */
    assert_int_equal(vn_bind_set(&b, &first, M2, VN_BIND_LEASE, now + 20), 0);
    assert_true(vn_bind_allows(&b, &first, M2, now));
    assert_false(vn_bind_allows(&b, &first, M1, now));
    /* A freed slot is reused; IPv6 addresses share the table. */
    vn_bind_del(&b, &first, NULL);
    struct vn_addr six = { .family = AF_INET6, .a = { 0xfd, 0, [15] = 1 } };
    assert_int_equal(vn_bind_set(&b, &six, M2, VN_BIND_STATIC, 0), 0);
    assert_true(vn_bind_allows(&b, &six, M2, now + 1000000));
    assert_null(vn_bind_find(&b, &first, now));
    json_t *j = vn_bind_json(&b, now);
    assert_int_equal(json_array_size(json_object_get(j, "bindings")), 3);
    assert_int_equal(json_integer_value(json_object_get(j, "refused_full")), 1);
    json_decref(j);
    /* Expiry is judged at lookup time. */
    struct vn_addr second = vn_addr4(0x0a000011);
    assert_non_null(vn_bind_find(&b, &second, now + 9));
    assert_null(vn_bind_find(&b, &second, now + 10));
    vn_bind_free(&b);
    /* An empty table refuses everything and answers nothing. */
    assert_int_equal(vn_bind_init(&b, 0), 0);
    assert_int_equal(vn_bind_set(&b, &x, M1, VN_BIND_LEASE, 0), -1);
    assert_null(vn_bind_find(&b, &x, now));
    vn_bind_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ip_binding_follows_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ip_binding_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_addresses_protected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mac_list_and_limit, setup, teardown),
        cmocka_unit_test(test_binding_table_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
