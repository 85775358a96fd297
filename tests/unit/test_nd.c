/* Unit tests of the gateway's router advertisements and neighbour answers
 * (src/gw/nd.c) on a real switch with a recording guest port: a router
 * solicitation is answered with one RA whose checksum, flags and options
 * (source link-layer address, MTU, the /64 prefix for SLAAC, RDNSS, DNSSL,
 * and PREF64 on a NAT64 network) say what the configuration says; a
 * neighbour solicitation for the gateway's address gets an NA with the
 * router and solicited flags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "gw/gateway.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "switch/switch.h"

#include <stdlib.h>
#include <string.h>

enum { PLAIN, N64, N56, NNETS };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_gw *gw[NNETS];
    struct vn_port *guest[NNETS];
    struct harness_rec rec[NNETS];
};

static const char CONF[] =
    "networks:\n"
    "  - {name: p, mode: nat, dhcp6: {mode: stateful}, ra: {interval: 100},\n"
    "     dns: {domain: lab.test, upstream: [\"127.0.0.1:5353\"]}}\n"
    "  - {name: s, mode: nat, nat64: true, dns: {upstream: [\"127.0.0.1:5353\"]}}\n"
    "  - {name: t, mode: nat, dhcp6: {mode: off}, nat64: {prefix: \"2001:db8:100::/56\"},\n"
    "     ra: {interval: 1800}, dns: {upstream: [\"127.0.0.1:5353\"]}}\n"
    "ports:\n"
    "  - {name: g1, type: stream, network: p, path: /nonexistent/g1}\n"
    "  - {name: g2, type: stream, network: s, path: /nonexistent/g2}\n"
    "  - {name: g3, type: stream, network: t, path: /nonexistent/g3}\n";

static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0, 0, 0, 0x01 };
static const uint8_t ALL_ROUTERS[16] = { 0xff, 0x02, [15] = 2 };

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    char err[256];
    w->c = harness_config(CONF);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    for (unsigned i = 0; i < NNETS; i++) {
        struct vn_network *n = harness_network(w->sw, &w->c->nets[i]);
        if (!(w->gw[i] = vn_gw_new(w->sw, n, "/nonexistent", err, sizeof err)))
            fail_msg("%s", err);
        n->gw = w->gw[i];
        w->guest[i] = harness_port(w->sw, &w->c->ports[i], &w->rec[i]);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    for (unsigned i = 0; i < NNETS; i++)
        vn_gw_free(w->gw[i]);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

/* The guest's link-local address (EUI-64 of GUEST_MAC). */
static void guest_ll(uint8_t a[16])
{
    memset(a, 0, 16);
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8] = GUEST_MAC[0] ^ 2;
    a[9] = GUEST_MAC[1];
    a[10] = GUEST_MAC[2];
    a[11] = 0xff;
    a[12] = 0xfe;
    memcpy(a + 13, GUEST_MAC + 3, 3);
}

/* Send a router solicitation from the guest of network i (with its
 * source link-layer option) and return the one frame it got back. */
static const uint8_t *solicit(struct world *w, int i, size_t *len)
{
    uint8_t f[256], src[16];
    guest_ll(src);
    uint8_t *ic = harness_ip6(f, NULL, GUEST_MAC, src, ALL_ROUTERS, VN_IPPROTO_ICMPV6, 255, NULL,
                              0, 16);
    memset(ic, 0, 16);
    ic[0] = 133;
    ic[8] = 1;
    ic[9] = 1;
    memcpy(ic + 10, GUEST_MAC, 6);
    harness_csum6(ic, 16, src, ALL_ROUTERS, VN_IPPROTO_ICMPV6, 2);
    memset(&w->rec[i], 0, sizeof w->rec[i]);
    harness_input(w->sw, w->guest[i], f, 14 + 40 + 16);
    vn_gw_flush(w->gw[i]);
    assert_int_equal(w->rec[i].n, 1);
    *len = w->rec[i].len[0];
    return w->rec[i].f[0];
}

/* Check the IPv6 header and ICMPv6 checksum of an RA frame from gw to the
 * guest; returns the ICMPv6 message and its length in *icl. */
static const uint8_t *check_ra(const struct vn_gw *gw, const uint8_t *r, size_t len, size_t *icl)
{
    uint8_t dst[16];
    guest_ll(dst);
    assert_true(len >= 14 + 40 + 16);
    assert_memory_equal(r, GUEST_MAC, 6);
    assert_memory_equal(r + 6, gw->mac, 6);
    assert_int_equal(vn_get_be16(r + 12), VN_ETH_TYPE_IPV6);
    const uint8_t *ip = r + 14;
    assert_int_equal(ip[6], VN_IPPROTO_ICMPV6);
    assert_int_equal(ip[7], 255);
    assert_memory_equal(ip + 8, gw->ll6.a, 16);
    assert_memory_equal(ip + 24, dst, 16);
    size_t n = vn_get_be16(ip + 4);
    assert_int_equal(14 + 40 + n, len);
    struct vn_addr s = gw->ll6, d = { .family = AF_INET6 };
    memcpy(d.a, dst, 16);
    const uint8_t *ic = ip + 40;
    assert_int_equal(
        vn_csum_fold(vn_csum_add(vn_csum_pseudo(&s, &d, VN_IPPROTO_ICMPV6, (uint32_t)n), ic, n)),
        0);
    assert_int_equal(ic[0], 134);
    assert_int_equal(ic[1], 0);
    *icl = n;
    return ic;
}

/* The first option of type t in the RA's options, or NULL. */
static const uint8_t *option(const uint8_t *ic, size_t len, uint8_t t)
{
    for (size_t o = 16; o + 2 <= len && ic[o + 1]; o += 8u * ic[o + 1]) {
        assert_true(o + 8u * ic[o + 1] <= len);
        if (ic[o] == t)
            return ic + o;
    }
    return NULL;
}

static void test_ra_options(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[PLAIN];
    size_t len, n;
    const uint8_t *r = solicit(w, PLAIN, &len);
    const uint8_t *ic = check_ra(gw, r, len, &n);
    assert_int_equal(ic[5] & 0xc0, 0xc0); /* stateful: M and O */
    assert_int_equal(vn_get_be16(ic + 6), gw->conf->ra_lifetime);
    const uint8_t *o = option(ic, n, 1);
    assert_non_null(o);
    assert_memory_equal(o + 2, gw->mac, 6);
    assert_non_null(o = option(ic, n, 5));
    assert_int_equal(vn_get_be32(o + 4), gw->mtu);
    assert_non_null(o = option(ic, n, 3));
    assert_int_equal(o[1], 4);
    assert_int_equal(o[2], 64);
    assert_int_equal(o[3] & 0xc0, 0xc0); /* on-link, autonomous */
    assert_memory_equal(o + 16, gw->prefix6.a, 16);
    assert_non_null(o = option(ic, n, 25));
    assert_int_equal(vn_get_be32(o + 4), 1200); /* at least 3 x interval, 20 minutes floor */
    assert_memory_equal(o + 8, gw->dns6.a, 16);
    assert_non_null(o = option(ic, n, 31));
    assert_memory_equal(o + 8, "\3lab\4test\0", 10);
    assert_null(option(ic, n, 38)); /* no NAT64: no PREF64 */
}

static void test_pref64_well_known(void **state)
{
    struct world *w = *state;
    size_t len, n;
    const uint8_t *r = solicit(w, N64, &len);
    const uint8_t *ic = check_ra(w->gw[N64], r, len, &n);
    assert_int_equal(ic[5] & 0xc0, 0x40); /* stateless: O only */
    const uint8_t *o = option(ic, n, 38);
    assert_non_null(o);
    assert_int_equal(o[1], 2);
    uint16_t v = vn_get_be16(o + 2);
    assert_int_equal(v & 7, 0); /* PLC 0: /96 */
    uint32_t interval = w->gw[N64]->conf->ra_interval;
    assert_int_equal(v >> 3, (3 * interval + 7) / 8);
    static const uint8_t wkp[12] = { 0, 0x64, 0xff, 0x9b };
    assert_memory_equal(o + 4, wkp, 12);
}

static void test_pref64_other_length_longest_interval(void **state)
{
    struct world *w = *state;
    size_t len, n;
    const uint8_t *r = solicit(w, N56, &len);
    const uint8_t *ic = check_ra(w->gw[N56], r, len, &n);
    assert_int_equal(ic[5] & 0xc0, 0); /* DHCPv6 off: neither flag */
    const uint8_t *o = option(ic, n, 38);
    assert_non_null(o);
    uint16_t v = vn_get_be16(o + 2);
    assert_int_equal(v & 7, 2);     /* PLC 2: /56 */
    assert_int_equal(v >> 3, 675); /* 3 x 1800 s in units of 8 s */
    static const uint8_t p[12] = { 0x20, 0x01, 0x0d, 0xb8, 0x01 };
    assert_memory_equal(o + 4, p, 12);
}

static void test_na_for_gateway_address(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[PLAIN];
    uint8_t f[256], src[16], dst[16] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
    guest_ll(src);
    memcpy(dst + 13, gw->addr6.a + 13, 3); /* solicited-node group of gateway6 */
    uint8_t *ic = harness_ip6(f, NULL, GUEST_MAC, src, dst, VN_IPPROTO_ICMPV6, 255, NULL, 0, 32);
    memset(ic, 0, 32);
    ic[0] = 135;
    memcpy(ic + 8, gw->addr6.a, 16);
    ic[24] = 1;
    ic[25] = 1;
    memcpy(ic + 26, GUEST_MAC, 6);
    harness_csum6(ic, 32, src, dst, VN_IPPROTO_ICMPV6, 2);
    memset(&w->rec[PLAIN], 0, sizeof w->rec[PLAIN]);
    harness_input(w->sw, w->guest[PLAIN], f, 14 + 40 + 32);
    vn_gw_flush(gw);
    assert_int_equal(w->rec[PLAIN].n, 1);
    const uint8_t *r = w->rec[PLAIN].f[0];
    assert_memory_equal(r, GUEST_MAC, 6);
    const uint8_t *na = r + 14 + 40;
    assert_int_equal(na[0], 136);
    assert_int_equal(na[4] & 0xe0, 0xe0); /* router, solicited, override */
    assert_memory_equal(na + 8, gw->addr6.a, 16);
    assert_memory_equal(r + 14 + 24, src, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ra_options),
        cmocka_unit_test(test_pref64_well_known),
        cmocka_unit_test(test_pref64_other_length_longest_interval),
        cmocka_unit_test(test_na_for_gateway_address),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
