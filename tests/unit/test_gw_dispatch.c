/* Unit tests of the gateway's dispatch (src/gw/gateway.c with its egress
 * table): a real gateway on a real switch, a guest port that records what
 * it is sent, and a fake next hop in place of the NAT engine. Each IPv4
 * packet a guest sends ends in exactly one place: ICMP echo answered, the
 * next hop (local and routed, TTL checked only when routed), port or
 * network unreachable, or a silent drop (broadcast echo, TCP to an address
 * with no service); the egress counters say which. IPv6: echo to the
 * gateway's address answered, never to the unspecified address. */
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
#include "port/port.h"
#include "switch/switch.h"

#include <stdlib.h>
#include <string.h>

/* The fake next hop: counts and remembers the last destination. */
struct next {
    unsigned calls;
    uint32_t dst;
    uint8_t proto;
};

static void next_input(void *ctx, const uint8_t smac[6], const struct vn_ipp *ip,
                       const struct vn_frame *f)
{
    (void)smac, (void)f;
    struct next *n = ctx;
    n->calls++;
    n->dst = ip->family == AF_INET ? vn_addr_v4(&ip->dst) : 0;
    n->proto = ip->proto;
}

enum { NAT, HOST, NNETS };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_gw *gw[NNETS];
    struct vn_port *guest[NNETS];
    struct harness_rec rec[NNETS];
    struct next next[NNETS];
};

static const char CONF[] = "networks:\n"
                           "  - {name: n, mode: nat, dhcp: false, dns: false}\n"
                           "  - {name: h, mode: host-only, dhcp: false,\n"
                           "     dns: {upstream: [\"127.0.0.1:5353\"]}}\n"
                           "ports:\n"
                           "  - {name: g1, type: stream, network: n, path: /nonexistent/g1}\n"
                           "  - {name: g2, type: stream, network: h, path: /nonexistent/g2}\n";

static const uint8_t GUEST_MAC[6] = { 0x52, 0x54, 0, 0, 0, 0x01 };

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
        w->gw[i]->next = (struct vn_gw_next){ &w->next[i], next_input, NULL, NULL };
        w->guest[i] = harness_port(w->sw, &w->c->ports[i], &w->rec[i]);
    }
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    for (unsigned i = 0; i < NNETS; i++) {
        w->gw[i]->next = (struct vn_gw_next){ 0 };
        vn_gw_free(w->gw[i]);
    }
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

/* Build Ethernet + IPv4 (+ l4len bytes of l4) from the guest at f; returns its length. */
static size_t mk_ip4(uint8_t *f, const uint8_t dmac[6], uint32_t src, uint32_t dst, uint8_t proto,
                     uint8_t ttl, const uint8_t *l4, size_t l4len)
{
    memcpy(harness_ip4(f, dmac, GUEST_MAC, src, dst, proto, ttl, l4len), l4, l4len);
    return 34 + l4len;
}

static size_t echo_req(uint8_t *l4)
{
    memset(l4, 0, 16);
    l4[0] = 8;
    vn_put_be16(l4 + 4, 7);
    vn_put_be16(l4 + 6, 1);
    memcpy(l4 + 8, "pingping", 8);
    vn_put_be16(l4 + 2, vn_csum_fold(vn_csum_add(0, l4, 16)));
    return 16;
}

static size_t udp_to(uint8_t *l4, uint16_t dport)
{
    memset(l4, 0, 12);
    vn_put_be16(l4, 40000);
    vn_put_be16(l4 + 2, dport);
    vn_put_be16(l4 + 4, 12);
    memcpy(l4 + 8, "abcd", 4);
    return 12; /* checksum 0: none */
}

static size_t tcp_syn(uint8_t *l4, uint16_t dport)
{
    memset(l4, 0, 20);
    vn_put_be16(l4, 40000);
    vn_put_be16(l4 + 2, dport);
    l4[12] = 5 << 4;
    l4[13] = 0x02;
    vn_put_be16(l4 + 14, 65535);
    return 20;
}

/* Send one frame from network i's guest and flush the gateway's replies. */
static void send_frame(struct world *w, int i, const uint8_t *f, size_t len)
{
    memset(&w->rec[i], 0, sizeof w->rec[i]);
    harness_input(w->sw, w->guest[i], f, len);
    vn_gw_flush(w->gw[i]);
}

/* The one ICMP message the guest got: its type and code (asserts there is one). */
static void expect_icmp(struct world *w, int i, uint8_t type, uint8_t code)
{
    assert_int_equal(w->rec[i].n, 1);
    const uint8_t *f = w->rec[i].f[0];
    assert_memory_equal(f, GUEST_MAC, 6);
    assert_int_equal(vn_get_be16(f + 12), VN_ETH_TYPE_IPV4);
    assert_int_equal(f[14 + 9], VN_IPPROTO_ICMP);
    assert_int_equal(f[34], type);
    assert_int_equal(f[35], code);
}

#define GUEST 0x0a00020fu /* 10.0.2.15 */
#define GW 0x0a000202u
#define DNSA 0x0a000203u
#define FAR 0xc0000201u   /* 192.0.2.1: never reached, the next hop is fake */

static void test_nat_echo_and_local(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    uint8_t f[256], l4[64];
    size_t n = echo_req(l4);
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, GW, VN_IPPROTO_ICMP, 64, l4, n));
    expect_icmp(w, NAT, 0, 0);
    assert_int_equal(w->next[NAT].calls, 0);
    /* TCP to the gateway address: the next hop (it maps the host's loopback). */
    n = tcp_syn(l4, 22);
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, GW, VN_IPPROTO_TCP, 1, l4, n));
    assert_int_equal(w->next[NAT].calls, 1); /* delivered, not routed: TTL 1 is fine */
    assert_int_equal(w->next[NAT].dst, GW);
    assert_int_equal(w->rec[NAT].n, 0);
}

static void test_nat_routed(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    uint8_t f[256], l4[64];
    size_t n = tcp_syn(l4, 80);
    unsigned before = w->next[NAT].calls;
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, FAR, VN_IPPROTO_TCP, 64, l4, n));
    assert_int_equal(w->next[NAT].calls, before + 1);
    assert_int_equal(w->next[NAT].dst, FAR);
    /* TTL 1 on a routed packet: time exceeded, not forwarded. */
    uint64_t ttl = gw->stats.ip_ttl_expired;
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, FAR, VN_IPPROTO_TCP, 1, l4, n));
    assert_int_equal(w->next[NAT].calls, before + 1);
    expect_icmp(w, NAT, 11, 0);
    assert_int_equal(gw->stats.ip_ttl_expired, ttl + 1);
    /* UDP routed too. */
    n = udp_to(l4, 9);
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, FAR, VN_IPPROTO_UDP, 64, l4, n));
    assert_int_equal(w->next[NAT].calls, before + 2);
    assert_int_equal(w->next[NAT].proto, VN_IPPROTO_UDP);
}

static void test_nat_dns_address_without_dns(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    uint8_t f[256], l4[64];
    unsigned before = w->next[NAT].calls;
    size_t n = udp_to(l4, 53); /* dns: false, so nothing serves port 53 */
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, DNSA, VN_IPPROTO_UDP, 64, l4, n));
    expect_icmp(w, NAT, 3, 3);
    n = echo_req(l4);
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, DNSA, VN_IPPROTO_ICMP, 64, l4, n));
    expect_icmp(w, NAT, 0, 0);
    n = tcp_syn(l4, 53);
    send_frame(w, NAT, f, mk_ip4(f, gw->mac, GUEST, DNSA, VN_IPPROTO_TCP, 64, l4, n));
    assert_int_equal(w->rec[NAT].n, 0);
    assert_int_equal(w->next[NAT].calls, before);
}

static void test_nat_broadcast(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    static const uint8_t bc[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t f[256], l4[64];
    size_t n = echo_req(l4);
    uint64_t drops = gw->egress.hits[VN_EG_DROP];
    send_frame(w, NAT, f, mk_ip4(f, bc, GUEST, 0x0a0002ffu, VN_IPPROTO_ICMP, 64, l4, n));
    assert_int_equal(w->rec[NAT].n, 0);
    /* Echo to the gateway's address in a broadcast frame: not answered either. */
    send_frame(w, NAT, f, mk_ip4(f, bc, GUEST, GW, VN_IPPROTO_ICMP, 64, l4, n));
    assert_int_equal(w->rec[NAT].n, 0);
    assert_int_equal(gw->egress.hits[VN_EG_DROP], drops + 2);
}

static void test_host_only(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[HOST];
    uint8_t f[256], l4[64];
    uint32_t guest = 0xc0a83865, svc = gw->addr, far = 0xc0a83905;
    assert_int_equal(svc, 0xc0a83802u); /* the host has .1; the services answer on .2 */
    /* Nothing is routed. */
    size_t n = tcp_syn(l4, 80);
    send_frame(w, HOST, f, mk_ip4(f, gw->mac, guest, far, VN_IPPROTO_TCP, 64, l4, n));
    expect_icmp(w, HOST, 3, 0);
    /* Guest TCP to the DNS address: the engine's DNS-over-TCP side. */
    send_frame(w, HOST, f, mk_ip4(f, gw->mac, guest, svc, VN_IPPROTO_TCP, 64, l4, n));
    assert_int_equal(w->next[HOST].calls, 1);
    assert_int_equal(w->rec[HOST].n, 0);
    /* UDP to a port with no service: port unreachable. */
    n = udp_to(l4, 99);
    send_frame(w, HOST, f, mk_ip4(f, gw->mac, guest, svc, VN_IPPROTO_UDP, 64, l4, n));
    expect_icmp(w, HOST, 3, 3);
    /* Other protocols to it: dropped (protocol 99). */
    send_frame(w, HOST, f, mk_ip4(f, gw->mac, guest, svc, 99, 64, l4, n));
    assert_int_equal(w->rec[HOST].n, 0);
    assert_int_equal(w->next[HOST].calls, 1);
    json_t *j = vn_gw_json(gw);
    json_t *eg = json_object_get(j, "egress");
    assert_non_null(eg);
    assert_int_equal(json_integer_value(json_object_get(eg, "unreachable")), 2);
    assert_int_equal(json_integer_value(json_object_get(eg, "next_hop")), 1);
    json_decref(j);
}

static void test_malformed_counted(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    uint8_t f[256], l4[64];
    size_t n = udp_to(l4, 53);
    size_t len = mk_ip4(f, gw->mac, GUEST, DNSA, VN_IPPROTO_UDP, 64, l4, n);
    vn_put_be16(f + 34 + 4, 200); /* UDP length beyond the packet */
    uint64_t bad = gw->stats.ip_bad;
    send_frame(w, NAT, f, len);
    assert_int_equal(gw->stats.ip_bad, bad + 1);
    assert_int_equal(w->rec[NAT].n, 0);
}

/* ICMPv6 echo to the gateway's IPv6 address is answered to its source; a
 * request from the unspecified address (::) has nobody to answer and gets
 * no reply (the gateway never sends to ::). */
static void test_nat_echo6(void **state)
{
    struct world *w = *state;
    struct vn_gw *gw = w->gw[NAT];
    static const uint8_t unspec[16];
    uint8_t f[256], src[16];
    memcpy(src, gw->prefix6.a, 16);
    src[15] = 0x15;
    uint64_t echoes = gw->stats.icmp6_echo;
    for (int k = 0; k < 2; k++) {
        const uint8_t *s = k ? unspec : src;
        uint8_t *l4 = harness_ip6(f, gw->mac, GUEST_MAC, s, gw->addr6.a, VN_IPPROTO_ICMPV6, 64,
                                  NULL, 0, 16);
        echo_req(l4);
        l4[0] = 128;
        harness_csum6(l4, 16, s, gw->addr6.a, VN_IPPROTO_ICMPV6, 2);
        send_frame(w, NAT, f, 14 + 40 + 16);
        if (k) {
            assert_int_equal(w->rec[NAT].n, 0);
            continue;
        }
        assert_int_equal(w->rec[NAT].n, 1);
        const uint8_t *r = w->rec[NAT].f[0];
        assert_int_equal(vn_get_be16(r + 12), VN_ETH_TYPE_IPV6);
        assert_memory_equal(r + 14 + 8, gw->addr6.a, 16);
        assert_memory_equal(r + 14 + 24, src, 16);
        assert_int_equal(r[14 + 40], 129);
    }
    assert_int_equal(gw->stats.icmp6_echo, echoes + 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nat_echo_and_local),
        cmocka_unit_test(test_nat_routed),
        cmocka_unit_test(test_nat_dns_address_without_dns),
        cmocka_unit_test(test_nat_broadcast),
        cmocka_unit_test(test_host_only),
        cmocka_unit_test(test_malformed_counted),
        cmocka_unit_test(test_nat_echo6),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
