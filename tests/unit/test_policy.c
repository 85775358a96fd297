/* Unit tests of port policy (src/switch/policy.c) and the switch's address
 * bindings (src/switch/binding.c), through the switch's real input path and
 * ports whose backend records what they get: IP binding lets a source
 * address pass only when the binding table binds it to the sender's MAC (or
 * the port lists it), expired and released bindings stop passing, guests
 * cannot speak or ARP as the gateway, DHCP server messages and router
 * advertisements from VM ports are dropped (trusted ports may send them),
 * MAC lists and limits hold; the binding table refuses entries when full
 * without losing old ones. IPv6 from hostile guests: router advertisements,
 * redirects and DHCPv6 server messages are dropped behind extension headers
 * too, fragmented neighbour discovery is, broken extension-header chains are
 * counted as malformed; neighbour advertisements and solicitations cannot
 * claim the gateway's addresses, another guest's DHCPv6 or DAD address, or
 * another link-layer address; DAD claims are recorded within the table's
 * and the port's limits; an ip_binding port accepts EUI-64 link-local,
 * listed, leased and DAD-claimed addresses only. Every drop is counted
 * under its reason. */
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

enum { BOUND, OPEN, TRUSTED, LIMITED, SINK, OPEN2, NPORTS };

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
    "  - {name: sink, type: stream, network: a, path: /nonexistent/5, trusted: true}\n"
    "  - {name: open2, type: stream, network: a, path: /nonexistent/6}\n";

#define GWIP 0x0a000001u
static const uint8_t GWMAC[6] = { 0x52, 0x56, 0, 0, 0, 1 };
static const uint8_t BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* The gateway's IPv6 addresses: gateway6 and its EUI-64 link-local address. */
static const char GW6[] = "fd00::2", GWLL[] = "fe80::5056:ff:fe00:1";

static struct vn_addr a6(const char *s)
{
    struct vn_addr a = { .family = AF_INET6 };
    assert_int_equal(inet_pton(AF_INET6, s, a.a), 1);
    return a;
}

/* What a gateway does when it starts (gw/gateway.c): bind its own addresses. */
static void bind_gateway(struct vn_bindings *b)
{
    struct vn_addr g = vn_addr4(GWIP), g6 = a6(GW6), ll = a6(GWLL);
    assert_int_equal(vn_bind_set(b, &g, GWMAC, VN_BIND_GATEWAY, 0), 0);
    assert_int_equal(vn_bind_set(b, &g6, GWMAC, VN_BIND_GATEWAY, 0), 0);
    assert_int_equal(vn_bind_set(b, &ll, GWMAC, VN_BIND_GATEWAY, 0), 0);
}

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
     * bind its own addresses. */
    assert_int_equal(vn_bind_init(&w->net->bind, 8), 0);
    bind_gateway(&w->net->bind);
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

/* Extension header chains for the IPv6 builders. */
static const uint8_t NOEXT[1], DST[] = { VN_IPPROTO_DSTOPTS },
                     HBH_DST[] = { VN_IPPROTO_HOPOPTS, VN_IPPROTO_DSTOPTS },
                     FRAG[] = { VN_IPPROTO_FRAGMENT };
#define EXT(x) x, (unsigned)sizeof x
#define NONE NOEXT, 0u

/* An ICMPv6 message of type `type` from smac and src to dst (text; NULL:
 * the solicited-node group of target), hop limit 255, behind the extension
 * headers exts: 4 bytes of flags, for NS/NA/redirect the target (text, or
 * NULL for none), then a link-layer address option of type opt (1 source,
 * 2 target; 0 none) naming lla. Returns the frame's length. */
static size_t mk_icmp6(uint8_t *f, const uint8_t *smac, const char *src, const char *dst,
                       uint8_t type, uint32_t flags, const char *target, uint8_t opt,
                       const uint8_t *lla, const uint8_t *exts, unsigned nexts)
{
    struct vn_addr s = a6(src), d, t = { 0 };
    if (target)
        t = a6(target);
    if (dst) {
        d = a6(dst);
    } else { /* ff02::1:ffXX:XXXX */
        d = a6("ff02::1:ff00:0");
        memcpy(d.a + 13, t.a + 13, 3);
    }
    size_t l4len = (target ? 24 : 8) + (opt ? 8 : 0);
    uint8_t *m = harness_ip6(f, NULL, smac, s.a, d.a, VN_IPPROTO_ICMPV6, 255, exts, nexts, l4len);
    memset(m, 0, l4len);
    m[0] = type;
    vn_put_be32(m + 4, flags);
    if (target)
        memcpy(m + 8, t.a, 16);
    if (opt) {
        uint8_t *o = m + (target ? 24 : 8);
        o[0] = opt, o[1] = 1;
        memcpy(o + 2, lla, 6);
    }
    harness_csum6(m, l4len, s.a, d.a, VN_IPPROTO_ICMPV6, 2);
    return (size_t)(m - f) + l4len;
}

/* Duplicate address detection for target from smac. */
static size_t mk_dad(uint8_t *f, const uint8_t *smac, const char *target)
{
    return mk_icmp6(f, smac, "::", NULL, 135, 0, target, 0, NULL, NONE);
}

/* A neighbour advertisement of target from smac (its EUI-64 link-local
 * address) to all nodes with the override flag, its target link-layer
 * address option naming lla. */
static size_t mk_na(uint8_t *f, const uint8_t *smac, const char *src, const char *target,
                    const uint8_t *lla)
{
    return mk_icmp6(f, smac, src, "ff02::1", 136, 0x20000000, target, 2, lla, NONE);
}

/* A UDP datagram (12 bytes of data) from smac and src to dst. */
static size_t mk_udp6(uint8_t *f, const uint8_t *smac, const char *src, const char *dst,
                      uint16_t sport, uint16_t dport, const uint8_t *exts, unsigned nexts)
{
    struct vn_addr s = a6(src), d = a6(dst);
    uint8_t *u = harness_ip6(f, NULL, smac, s.a, d.a, VN_IPPROTO_UDP, 64, exts, nexts, 20);
    memset(u, 'u', 20);
    vn_put_be16(u, sport);
    vn_put_be16(u + 2, dport);
    vn_put_be16(u + 4, 20);
    harness_csum6(u, 20, s.a, d.a, VN_IPPROTO_UDP, 6);
    return (size_t)(u - f) + 20;
}

static const char LL1[] = "fe80::5054:ff:fe00:1", LL2[] = "fe80::5054:ff:fe00:2";

/* The binding of a (text) in the network's table, expired or not. */
static struct vn_binding *entry(struct world *w, const char *a)
{
    struct vn_addr x = a6(a);
    return (struct vn_binding *)vn_bind_find(&w->net->bind, &x, 0);
}

static void test_ip_binding_ipv6(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    struct vn_bindings *b = &w->net->bind;
    int64_t now = vn_wall_s();
    /* Listed, EUI-64 link-local of the sender's MAC: pass; others do not. */
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fd00::50", "ff02::1", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fd00::51", "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, LL1, "ff02::1", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M2, LL1, "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF); /* M1's, not M2's */
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fe80::1234", "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    /* :: only for DAD, MLD reports and router solicitations. */
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "::", "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, BOUND, f, mk_icmp6(f, M1, "::", "ff02::1", 128, 0, NULL, 0,
                                                    NULL, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, BOUND, f, mk_icmp6(f, M1, "::", "ff02::16", 143, 0, NULL, 0,
                                                    NULL, EXT(HBH_DST))),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_icmp6(f, M1, "::", "ff02::2", 133, 0, NULL, 0,
                                                    NULL, NONE)),
                     VN_DROP__COUNT);
    /* A stable-privacy link-local and a SLAAC address pass once DAD ran for them. */
    assert_int_equal(send_one(w, BOUND, f, mk_dad(f, M1, "fe80::1234")), VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_dad(f, M1, "fd00::5054:ff:fe00:1")),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fe80::1234", "ff02::1", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fd00::5054:ff:fe00:1", "fd00::9", 1,
                                                   2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M2, "fe80::1234", "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF); /* DAD claimed it for M1 */
    /* Use keeps a claim alive; an expired one no longer passes. */
    struct vn_binding *e = entry(w, "fe80::1234");
    assert_non_null(e);
    assert_int_equal(e->kind, VN_BIND_DAD);
    e->expires = now + 10;
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fe80::1234", "ff02::1", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_true(e->expires >= now + VN_BIND_DAD_LIFETIME - 5);
    e->expires = now - 1;
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fe80::1234", "ff02::1", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    /* A DHCPv6 lease (what the DHCPv6 server binds): its MAC only, until it expires. */
    struct vn_addr l = a6("fd00::100");
    assert_int_equal(vn_bind_set(b, &l, M1, VN_BIND_LEASE, now + 3600), 0);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fd00::100", "fd00::9", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M2, "fd00::100", "fd00::9", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(vn_bind_set(b, &l, M1, VN_BIND_LEASE, now - 1), 0);
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, "fd00::100", "fd00::9", 1, 2, NONE)),
                     VN_DROP_SPOOF);
    /* A non-first fragment from :: (nothing to show it is DAD). */
    size_t len = mk_icmp6(f, M1, "::", "ff02::1", 143, 0, NULL, 0, NULL, EXT(FRAG));
    vn_put_be16(f + 14 + 40 + 2, 8 << 3);
    assert_int_equal(send_one(w, BOUND, f, len), VN_DROP_SPOOF);
    /* A port without ip_binding is not checked. */
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M1, "fd00::51", "ff02::1", 1, 2, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(w->p[BOUND]->stats.rx_drops[VN_DROP_SPOOF], 10);
}

static void test_guard_ipv6(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    /* Router advertisements and redirects, also behind extension headers. */
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, "ff02::1", 134, 0, NULL, 0, NULL,
                                                   NONE)),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, "ff02::1", 134, 0, NULL, 0, NULL,
                                                   EXT(DST))),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, "ff02::1", 134, 0, NULL, 1, M2,
                                                   EXT(HBH_DST))),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, LL1, 137, 0, "fd00::9", 0, NULL,
                                                   EXT(DST))),
                     VN_DROP_GUARD);
    /* Behind an authentication header and destination options after it. */
    struct vn_addr s = a6(LL2), d = a6("ff02::1");
    uint8_t *m = harness_ip6(f, NULL, M2, s.a, d.a, IPPROTO_AH, 255, NONE, 12 + 8 + 8);
    memset(m, 0, 28);
    m[0] = VN_IPPROTO_DSTOPTS, m[1] = 1;
    m[12] = VN_IPPROTO_ICMPV6, m[14] = 1, m[15] = 4;
    m[20] = 134;
    assert_int_equal(send_one(w, OPEN, f, (size_t)(m - f) + 28), VN_DROP_GUARD);
    /* DHCPv6 server replies and relay messages; clients pass. */
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, LL1, 547, 546, NONE)),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, LL1, 547, 546, EXT(DST))),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, "ff02::1:2", 547, 547,
                                                  EXT(HBH_DST))),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, "ff02::1:2", 546, 547, EXT(DST))),
                     VN_DROP__COUNT);
    /* Fragments: neighbour discovery may not be fragmented (RFC 6980); a
     * first fragment must hold the upper-layer header (RFC 7112); other
     * ICMPv6 may be fragmented; later fragments pass (their first decides). */
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, "ff02::1", 136, 0, "fd00::9", 0,
                                                   NULL, EXT(FRAG))),
                     VN_DROP_GUARD);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, LL2, LL1, 128, 0, NULL, 0, NULL,
                                                   EXT(FRAG))),
                     VN_DROP__COUNT);
    size_t len = mk_udp6(f, M2, LL2, LL1, 1000, 2000, EXT(FRAG));
    vn_put_be16(f + 14 + 4, 8 + 4); /* 4 bytes of the UDP header */
    assert_int_equal(send_one(w, OPEN, f, 14 + 40 + 8 + 4), VN_DROP_GUARD);
    len = mk_icmp6(f, M2, LL2, "ff02::1", 134, 0, NULL, 0, NULL, EXT(FRAG));
    vn_put_be16(f + 14 + 40 + 2, 8 << 3);
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP__COUNT);
    assert_int_equal(w->p[OPEN]->stats.rx_drops[VN_DROP_GUARD], 10);
    /* Trusted ports may. */
    assert_int_equal(send_one(w, TRUSTED, f, mk_icmp6(f, M2, LL2, "ff02::1", 134, 0, NULL, 0,
                                                      NULL, EXT(DST))),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, TRUSTED, f, mk_udp6(f, M2, LL2, LL1, 547, 546, NONE)),
                     VN_DROP__COUNT);
}

static void test_malformed_ipv6(void **state)
{
    struct world *w = *state;
    uint8_t f[600];
    uint64_t before = w->sw->dp[0]->malformed_total;
    /* Too many headers (the same one over and over). */
    uint8_t many[12];
    memset(many, VN_IPPROTO_DSTOPTS, sizeof many);
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(many))),
                     VN_DROP_MALFORMED);
    /* Hop-by-hop after another header. */
    const uint8_t dst_hbh[] = { VN_IPPROTO_DSTOPTS, VN_IPPROTO_HOPOPTS };
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(dst_hbh))),
                     VN_DROP_MALFORMED);
    /* A header's length past the end of the packet. */
    size_t len = mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(DST));
    f[14 + 40 + 1] = 200;
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_MALFORMED);
    /* Truncated: the frame ends before the payload length, a header cut short. */
    len = mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(DST));
    assert_int_equal(send_one(w, OPEN, f, len - 10), VN_DROP_MALFORMED);
    mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(DST));
    vn_put_be16(f + 14 + 4, 4);
    assert_int_equal(send_one(w, OPEN, f, 14 + 40 + 4), VN_DROP_MALFORMED);
    /* An authentication header longer than the packet. */
    struct vn_addr s = a6(LL2), d = a6(LL1);
    uint8_t *m = harness_ip6(f, NULL, M2, s.a, d.a, IPPROTO_AH, 64, NONE, 16);
    memset(m, 0, 16);
    m[0] = VN_IPPROTO_UDP, m[1] = 200;
    assert_int_equal(send_one(w, OPEN, f, (size_t)(m - f) + 16), VN_DROP_MALFORMED);
    /* A UDP header cut short; neighbour discovery options of length zero. */
    len = mk_udp6(f, M2, LL2, LL1, 1, 2, NONE);
    vn_put_be16(f + 14 + 4, 4);
    assert_int_equal(send_one(w, OPEN, f, 14 + 40 + 4), VN_DROP_MALFORMED);
    len = mk_na(f, M2, LL2, "fd00::9", M2);
    f[len - 7] = 0;
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_MALFORMED);
    /* The same on an ip_binding port; counted per port and in the switch. */
    assert_int_equal(send_one(w, BOUND, f, mk_udp6(f, M1, LL1, LL2, 1, 2, EXT(many))),
                     VN_DROP_MALFORMED);
    assert_int_equal(w->p[OPEN]->stats.rx_drops[VN_DROP_MALFORMED], 8);
    assert_int_equal(w->p[BOUND]->stats.rx_drops[VN_DROP_MALFORMED], 1);
    assert_int_equal(w->sw->dp[0]->malformed_total - before, 9);
    /* A trusted port without ip_binding is not looked into. */
    assert_int_equal(send_one(w, TRUSTED, f, mk_udp6(f, M2, LL2, LL1, 1, 2, EXT(many))),
                     VN_DROP__COUNT);
}

static void test_gateway_ipv6(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    /* Speaking from the gateway's addresses, advertising them, DAD for them. */
    assert_int_equal(send_one(w, OPEN, f, mk_udp6(f, M2, GW6, "fd00::9", 53, 4000, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_na(f, M2, LL2, GW6, M2)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_na(f, M2, LL2, GWLL, M2)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M2, GWLL, NULL, 135, 0, "fd00::9", 1, M2,
                                                   NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M2, GW6)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, BOUND, f, mk_na(f, M1, LL1, GWLL, M1)), VN_DROP_SPOOF);
    assert_int_equal(w->p[OPEN]->stats.rx_drops[VN_DROP_SPOOF], 5);
    assert_null(entry(w, "fd00::9")); /* nothing recorded */
    /* A trusted port (infrastructure) is not a guest. */
    assert_int_equal(send_one(w, TRUSTED, f, mk_na(f, M2, LL2, GW6, M2)), VN_DROP__COUNT);
}

static void test_nd_spoofing(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    struct vn_bindings *b = &w->net->bind;
    /* M1's DHCPv6 lease: M2 on another port may not advertise it, nor
     * solicit from it, nor DAD it; M1 may advertise it. */
    struct vn_addr l = a6("fd00::100");
    assert_int_equal(vn_bind_set(b, &l, M1, VN_BIND_LEASE, vn_wall_s() + 3600), 0);
    assert_int_equal(send_one(w, OPEN2, f, mk_na(f, M2, LL2, "fd00::100", M2)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN2, f, mk_icmp6(f, M2, LL2, LL1, 136, 0, "fd00::100", 0, NULL,
                                                    NONE)),
                     VN_DROP_SPOOF); /* solicited, no option: still a claim */
    assert_int_equal(send_one(w, OPEN2, f, mk_icmp6(f, M2, "fd00::100", NULL, 135, 0, "fd00::9",
                                                    1, M2, NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN2, f, mk_dad(f, M2, "fd00::100")), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_na(f, M1, LL1, "fd00::100", M1)), VN_DROP__COUNT);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M1, "fd00::100", NULL, 135, 0, "fd00::9",
                                                   1, M1, NONE)),
                     VN_DROP__COUNT);
    /* Link-layer options naming another MAC than the frame's source. */
    assert_int_equal(send_one(w, OPEN, f, mk_na(f, M1, LL1, "fd00::101", M2)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M1, LL1, NULL, 135, 0, "fd00::9", 1, M2,
                                                   NONE)),
                     VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M1, LL1, "ff02::2", 133, 0, NULL, 1, M2,
                                                   NONE)),
                     VN_DROP_SPOOF);
    size_t len;
    { /* two target link-layer options, the second naming M2 */
        struct vn_addr s = a6(LL1), d = a6("ff02::1");
        uint8_t *m = harness_ip6(f, NULL, M1, s.a, d.a, VN_IPPROTO_ICMPV6, 255, NONE, 40);
        memset(m, 0, 40);
        m[0] = 136;
        memcpy(m + 8, a6("fd00::101").a, 16);
        m[24] = 2, m[25] = 1;
        memcpy(m + 26, M1, 6);
        m[32] = 2, m[33] = 1;
        memcpy(m + 34, M2, 6);
        len = (size_t)(m - f) + 40;
    }
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP_SPOOF);
    /* DAD records an address for its MAC: another port's guest can then
     * neither advertise nor DAD it; its owner can advertise it. */
    assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M1, "fd00::200")), VN_DROP__COUNT);
    struct vn_binding *e = entry(w, "fd00::200");
    assert_non_null(e);
    assert_int_equal(e->kind, VN_BIND_DAD);
    assert_memory_equal(e->mac, M1, 6);
    assert_int_equal(e->port, w->p[OPEN]->id);
    assert_int_equal(send_one(w, OPEN2, f, mk_na(f, M2, LL2, "fd00::200", M2)), VN_DROP_SPOOF);
    assert_int_equal(send_one(w, OPEN2, f, mk_dad(f, M2, "fd00::200")), VN_DROP_SPOOF);
    e->expires = vn_wall_s() + 10;
    assert_int_equal(send_one(w, OPEN, f, mk_na(f, M1, LL1, "fd00::200", M1)), VN_DROP__COUNT);
    assert_true(e->expires >= vn_wall_s() + VN_BIND_DAD_LIFETIME - 5); /* kept alive */
    /* What is no DAD records nothing: hop limit not 255, not sent to the
     * target's solicited-node group, with a source link-layer option. */
    len = mk_dad(f, M1, "fd00::201");
    f[14 + 7] = 64;
    assert_int_equal(send_one(w, OPEN, f, len), VN_DROP__COUNT);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M1, "::", "ff02::1", 135, 0, "fd00::201", 0,
                                                   NULL, NONE)),
                     VN_DROP__COUNT);
    assert_int_equal(send_one(w, OPEN, f, mk_icmp6(f, M1, "::", NULL, 135, 0, "fd00::201", 1, M1,
                                                   NONE)),
                     VN_DROP__COUNT);
    assert_null(entry(w, "fd00::201"));
    assert_int_equal(w->p[OPEN2]->stats.rx_drops[VN_DROP_SPOOF], 6);
    assert_int_equal(w->p[OPEN]->stats.rx_drops[VN_DROP_SPOOF], 4);
    /* Trusted ports record nothing and are not checked. */
    assert_int_equal(send_one(w, TRUSTED, f, mk_dad(f, M2, "fd00::202")), VN_DROP__COUNT);
    assert_null(entry(w, "fd00::202"));
    assert_int_equal(send_one(w, TRUSTED, f, mk_na(f, M2, LL2, "fd00::200", M2)), VN_DROP__COUNT);
}

static void test_dad_limits(void **state)
{
    struct world *w = *state;
    uint8_t f[400];
    struct vn_bindings *b = &w->net->bind;
    char a[64];
    /* A network quota of 3 DAD claims: the fourth is refused (counted),
     * passes, and the first three stay protected; leases have their own room. */
    vn_bind_free(b);
    assert_int_equal(vn_bind_init_dad(b, 8, 3), 0);
    bind_gateway(b);
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "fd00::1:%d", i);
        assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M1, a)), VN_DROP__COUNT);
    }
    assert_int_equal(send_one(w, OPEN2, f, mk_dad(f, M2, "fd00::2:0")), VN_DROP__COUNT);
    assert_int_equal(b->dad_full, 1);
    assert_null(entry(w, "fd00::2:0"));
    for (int i = 0; i < 3; i++) {
        snprintf(a, sizeof a, "fd00::1:%d", i);
        assert_non_null(entry(w, a));
        assert_int_equal(send_one(w, OPEN2, f, mk_na(f, M2, LL2, a, M2)), VN_DROP_SPOOF);
    }
    struct vn_addr l = a6("fd00::3:0");
    assert_int_equal(vn_bind_set(b, &l, M2, VN_BIND_LEASE, 0), 0);
    /* A port holds VN_BIND_DAD_PER_MAC per MAC it may use. */
    assert_int_equal(w->p[OPEN]->fwd->policy.dad_limit, VN_BIND_DAD_PER_MAC);
    assert_int_equal(w->p[LIMITED]->fwd->policy.dad_limit, 2 * VN_BIND_DAD_PER_MAC);
    vn_bind_free(b);
    assert_int_equal(vn_bind_init_dad(b, 8, 64), 0);
    bind_gateway(b);
    for (int i = 0; i < VN_BIND_DAD_PER_MAC; i++) {
        snprintf(a, sizeof a, "fd00::1:%d", i);
        assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M1, a)), VN_DROP__COUNT);
    }
    b->swept = vn_wall_s(); /* (no sweep finds anything now anyway) */
    assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M1, "fd00::1:99")), VN_DROP__COUNT);
    assert_null(entry(w, "fd00::1:99"));
    assert_int_equal(b->dad_port_limit, 1);
    assert_int_equal(b->ndad, VN_BIND_DAD_PER_MAC);
    assert_int_equal(send_one(w, OPEN2, f, mk_dad(f, M2, "fd00::2:0")), VN_DROP__COUNT);
    assert_int_equal(b->ndad, VN_BIND_DAD_PER_MAC + 1);
    /* An expired claim is reclaimed when room is needed (at most once a second). */
    entry(w, "fd00::1:0")->expires = vn_wall_s() - 1;
    b->swept = 0;
    assert_int_equal(send_one(w, OPEN, f, mk_dad(f, M1, "fd00::1:99")), VN_DROP__COUNT);
    assert_non_null(entry(w, "fd00::1:99"));
    assert_null(entry(w, "fd00::1:0"));
    assert_int_equal(b->ndad, VN_BIND_DAD_PER_MAC + 1);
    json_t *j = vn_bind_json(b, vn_wall_s());
    assert_int_equal(json_integer_value(json_object_get(j, "dad")), VN_BIND_DAD_PER_MAC + 1);
    assert_int_equal(json_integer_value(json_object_get(j, "dad_refused_port_limit")), 1);
    json_decref(j);
    /* A port's claims go with it. */
    vn_switch_del_port(w->sw, w->p[OPEN]);
    w->p[OPEN] = NULL;
    assert_int_equal(b->ndad, 1);
    assert_null(entry(w, "fd00::1:99"));
    assert_non_null(entry(w, "fd00::2:0"));
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
        cmocka_unit_test_setup_teardown(test_guard_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nd_spoofing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dad_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gateway_addresses_protected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guards, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mac_list_and_limit, setup, teardown),
        cmocka_unit_test(test_binding_table_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
