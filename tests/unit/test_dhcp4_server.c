/* Unit tests of the DHCPv4 server's logic (src/gw/dhcp4.c) through its
 * interface: client messages built here go to vn_dhcp4_input() of a real
 * gateway on a real switch, replies are read from a recording guest port,
 * and a fake wall clock (vn_dhcp4_set_clock) ages leases. Covers the
 * DISCOVER/OFFER/REQUEST/ACK exchange and its options, static hosts, the
 * gateway's own addresses never being offered, pool exhaustion, renewal and
 * INIT-REBOOT, a REQUEST for another server, NAK, DECLINE, RELEASE, INFORM,
 * expiry and malformed messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "harness.h"
#include "gw/dhcp4.h"
#include "gw/dhcp4_msg.h"
#include "gw/gateway.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "port/port.h"
#include "switch/switch.h"

#include <stdlib.h>
#include <string.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define GW IP(10, 0, 2, 2)
#define DNS IP(10, 0, 2, 3)
#define MAXREC HARNESS_MAXREC

/* The pool is .2-.7: .2 (gateway) and .3 (DNS) must never be offered, .5 is
 * reserved for MAC ...:cc, so .4, .6 and .7 are dynamic. */
static const char CONF[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    dhcp:\n"
    "      range: 10.0.2.2-10.0.2.7\n"
    "      lease_time: 600\n"
    "      hosts:\n"
    "        - {mac: '52:54:00:00:00:cc', ip: 10.0.2.5, name: inpool}\n"
    "        - {mac: '52:54:00:00:00:aa', ip: 10.0.2.50, name: fixed}\n"
    "        - {mac: '52:54:00:00:00:bb', name: named}\n"
    "    dns: {domain: lab.test, address: 10.0.2.3}\n"
    "ports:\n"
    "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_network *net;
    struct vn_port *guest;
    struct vn_gw *gw;
    struct harness_rec rec;
};

static int64_t fake_now = 1700000000;
static int64_t fake_clock(void) { return fake_now; }

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    char err[256];
    w->c = harness_config(CONF);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    if (!(w->net = vn_switch_add_network(w->sw, &w->c->nets[0], err, sizeof err)))
        fail_msg("%s", err);
    if (!(w->guest = vn_switch_add_port_ops(w->sw, &w->c->ports[0], &harness_rec_ops, &w->rec, err,
                                            sizeof err)))
        fail_msg("%s", err);
    if (!(w->gw = vn_gw_new(w->sw, w->net, NULL, err, sizeof err)))
        fail_msg("%s", err);
    assert_non_null(w->gw->dhcp);
    fake_now = 1700000000;
    vn_dhcp4_set_clock(w->gw->dhcp, fake_clock);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    vn_gw_free(w->gw);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

/* ---- client side ---- */

static void mac_of(uint8_t mac[6], uint8_t last)
{
    const uint8_t m[6] = { 0x52, 0x54, 0, 0, 0, last };
    memcpy(mac, m, 6);
}

struct msg {
    uint8_t type;
    uint8_t last;          /* MAC 52:54:00:00:00:last */
    uint32_t ciaddr, requested, server_id, giaddr;
    const char *hostname;
    bool bcast;
    uint8_t htype;         /* 0: 1 */
};

/* Build the client's frame (Ethernet/IPv4/UDP 68->67/BOOTREQUEST) into f. */
static size_t build(uint8_t *f, const struct msg *m)
{
    memset(f, 0, 600);
    uint8_t mac[6];
    mac_of(mac, m->last);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
    uint8_t *b = f + 14 + 20 + 8, *o = b + 240;
    b[0] = 1;
    b[1] = m->htype ? m->htype : 1;
    b[2] = 6;
    vn_put_be32(b + 4, 0x1234u + m->last);
    if (m->bcast)
        vn_put_be16(b + 10, 0x8000);
    vn_put_be32(b + 12, m->ciaddr);
    vn_put_be32(b + 24, m->giaddr);
    memcpy(b + 28, mac, 6);
    vn_put_be32(b + 236, 0x63825363);
    *o++ = VN_DHO_MSG_TYPE, *o++ = 1, *o++ = m->type;
    if (m->requested) {
        *o++ = VN_DHO_REQUESTED_IP, *o++ = 4;
        vn_put_be32(o, m->requested);
        o += 4;
    }
    if (m->server_id) {
        *o++ = VN_DHO_SERVER_ID, *o++ = 4;
        vn_put_be32(o, m->server_id);
        o += 4;
    }
    if (m->hostname) {
        size_t n = strlen(m->hostname);
        *o++ = VN_DHO_HOSTNAME, *o++ = (uint8_t)n;
        memcpy(o, m->hostname, n);
        o += n;
    }
    static const uint8_t params[] = { 1, 3, 6, 12, 15, 26, 28, 51, 119, 121 };
    *o++ = VN_DHO_PARAMS, *o++ = sizeof params;
    memcpy(o, params, sizeof params);
    o += sizeof params;
    *o++ = VN_DHO_END;
    size_t blen = (size_t)(o - b);
    if (blen < 300)
        blen = 300;
    uint8_t *u = harness_ip4_hdr(f + 14, m->ciaddr, m->ciaddr ? GW : 0xffffffffu, VN_IPPROTO_UDP,
                                 64, 8 + blen);
    vn_put_be16(u, 68);
    vn_put_be16(u + 2, 67);
    vn_put_be16(u + 4, (uint16_t)(8 + blen));
    return 14 + 20 + 8 + blen;
}

/* What the server answered (the last frame the guest port got), if anything. */
struct reply {
    bool got;
    uint8_t dmac[6];
    uint32_t ipsrc, ipdst;
    uint16_t sport, dport;
    uint8_t type;
    uint32_t yiaddr, siaddr;
    uint8_t opts[1200];
    size_t optlen;
};

static const uint8_t *opt(const struct reply *r, uint8_t code, size_t *len)
{
    for (size_t i = 0; i < r->optlen;) {
        uint8_t c = r->opts[i];
        if (c == VN_DHO_PAD) {
            i++;
            continue;
        }
        if (c == VN_DHO_END || i + 1 >= r->optlen)
            break;
        uint8_t l = r->opts[i + 1];
        if (c == code) {
            *len = l;
            return r->opts + i + 2;
        }
        i += 2u + l;
    }
    return NULL;
}

static uint32_t opt_u32(const struct reply *r, uint8_t code)
{
    size_t l;
    const uint8_t *v = opt(r, code, &l);
    if (!v)
        fail_msg("option %u missing", code);
    assert_int_equal(l, 4);
    return vn_get_be32(v);
}

static bool has_opt(const struct reply *r, uint8_t code)
{
    size_t l;
    return opt(r, code, &l) != NULL;
}

static void opt_str(const struct reply *r, uint8_t code, const char *want)
{
    size_t l;
    const uint8_t *v = opt(r, code, &l);
    if (!v)
        fail_msg("option %u missing", code);
    assert_int_equal(l, strlen(want));
    assert_memory_equal(v, want, l);
}

static struct reply send_msg(struct world *w, const struct msg *m)
{
    uint8_t f[600];
    size_t len = build(f, m);
    struct vn_ip4 ip;
    struct vn_udp u;
    assert_int_equal(vn_ip4_parse_hdr(f + 14, len - 14, true, &ip), VN_IP_OK);
    assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
    memset(&w->rec, 0, sizeof w->rec);
    vn_dhcp4_input(w->gw->dhcp, f + 6, &ip, &u);
    vn_gw_flush(w->gw);
    struct reply r = { 0 };
    assert_in_range(w->rec.n, 0, 1);
    if (!w->rec.n)
        return r;
    const uint8_t *g = w->rec.f[0];
    size_t glen = w->rec.len[0];
    r.got = true;
    memcpy(r.dmac, g, 6);
    assert_memory_equal(g + 6, w->gw->mac, 6);
    assert_int_equal(vn_get_be16(g + 12), VN_ETH_TYPE_IPV4);
    struct vn_ip4 rip;
    struct vn_udp ru;
    assert_int_equal(vn_ip4_parse_hdr(g + 14, glen - 14, true, &rip), VN_IP_OK);
    assert_int_equal(rip.proto, VN_IPPROTO_UDP);
    assert_int_equal(vn_udp_parse(rip.l4, rip.l4_len, &ru), 0);
    r.ipsrc = rip.src, r.ipdst = rip.dst, r.sport = ru.sport, r.dport = ru.dport;
    const uint8_t *b = ru.data;
    assert_true(ru.dlen >= 240);
    assert_int_equal(b[0], 2); /* BOOTREPLY */
    assert_int_equal(vn_get_be32(b + 4), 0x1234u + m->last); /* xid echoed */
    uint8_t mac[6];
    mac_of(mac, m->last);
    assert_memory_equal(b + 28, mac, 6);
    assert_int_equal(vn_get_be32(b + 236), 0x63825363);
    r.yiaddr = vn_get_be32(b + 16);
    r.siaddr = vn_get_be32(b + 20);
    r.optlen = ru.dlen - 240u;
    assert_true(r.optlen <= sizeof r.opts);
    memcpy(r.opts, b + 240, r.optlen);
    size_t l;
    const uint8_t *t = opt(&r, VN_DHO_MSG_TYPE, &l);
    assert_non_null(t);
    r.type = t[0];
    return r;
}

/* DISCOVER then REQUEST of the offer; returns the bound address. */
static uint32_t dora(struct world *w, uint8_t last, const char *hostname)
{
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = last,
                                                .hostname = hostname });
    assert_true(o.got);
    assert_int_equal(o.type, VN_DHCP_OFFER);
    struct reply a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = last,
                                                .requested = o.yiaddr, .server_id = GW,
                                                .hostname = hostname });
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, o.yiaddr);
    return a.yiaddr;
}

static json_int_t stat(struct world *w, const char *key)
{
    json_t *o = vn_dhcp4_stats_json(w->gw->dhcp);
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("no stat %s", key);
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

/* The lease of ip as vnetctl lists it: its state and expires_in (-1 if none). */
static const char *lease_state(struct world *w, uint32_t ip, json_int_t *expires_in)
{
    static char st[32];
    char want[16];
    vn_ip4_str(ip, want);
    json_t *a = vn_dhcp4_leases_json(w->gw->dhcp);
    size_t i;
    json_t *o;
    st[0] = 0;
    if (expires_in)
        *expires_in = -1;
    json_array_foreach(a, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "ip")), want))
            continue;
        snprintf(st, sizeof st, "%s", json_string_value(json_object_get(o, "state")));
        json_t *e = json_object_get(o, "expires_in");
        if (e && expires_in)
            *expires_in = json_integer_value(e);
    }
    json_decref(a);
    return st;
}

/* ---- tests ---- */

static void test_discover_offer_request_ack(void **state)
{
    struct world *w = *state;
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1 });
    assert_true(o.got);
    assert_int_equal(o.type, VN_DHCP_OFFER);
    /* The first dynamic address: not the gateway's (.2) nor the DNS one (.3). */
    assert_int_equal(o.yiaddr, IP(10, 0, 2, 4));
    /* Unicast to the offered address at chaddr, 67 -> 68, from the gateway. */
    uint8_t mac[6];
    mac_of(mac, 1);
    assert_memory_equal(o.dmac, mac, 6);
    assert_int_equal(o.ipdst, IP(10, 0, 2, 4));
    assert_int_equal(o.ipsrc, GW);
    assert_int_equal(o.sport, 67);
    assert_int_equal(o.dport, 68);
    /* Options. */
    assert_int_equal(opt_u32(&o, VN_DHO_SERVER_ID), GW);
    assert_int_equal(opt_u32(&o, VN_DHO_SUBNET_MASK), 0xffffff00u);
    assert_int_equal(opt_u32(&o, VN_DHO_BROADCAST), IP(10, 0, 2, 255));
    assert_int_equal(opt_u32(&o, VN_DHO_ROUTER), GW);
    assert_int_equal(opt_u32(&o, VN_DHO_DNS), DNS);
    assert_int_equal(opt_u32(&o, VN_DHO_LEASE_TIME), 600);
    assert_int_equal(opt_u32(&o, VN_DHO_T1), 300);
    assert_int_equal(opt_u32(&o, VN_DHO_T2), 525);
    opt_str(&o, VN_DHO_DOMAIN, "lab.test");
    size_t l;
    const uint8_t *mtu = opt(&o, VN_DHO_MTU, &l);
    assert_non_null(mtu);
    assert_int_equal(vn_get_be16(mtu), 1500);
    /* The client asked for 121: the default route is there too (0/0 via gw). */
    const uint8_t *cr = opt(&o, VN_DHO_CLASSLESS_ROUTES, &l);
    assert_non_null(cr);
    assert_int_equal(l, 5);
    assert_int_equal(cr[0], 0);
    assert_int_equal(vn_get_be32(cr + 1), GW);
    /* Search list "lab.test" DNS-encoded. */
    const uint8_t *sl = opt(&o, VN_DHO_SEARCH, &l);
    assert_non_null(sl);
    assert_int_equal(l, 10);
    assert_memory_equal(sl, "\3lab\4test\0", 10);
    /* No host name for a client the configuration does not name. */
    assert_false(has_opt(&o, VN_DHO_HOSTNAME));
    assert_string_equal(lease_state(w, o.yiaddr, NULL), "offered");

    struct reply a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1,
                                                .requested = o.yiaddr, .server_id = GW,
                                                .hostname = "Client-One" });
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, IP(10, 0, 2, 4));
    assert_int_equal(opt_u32(&a, VN_DHO_LEASE_TIME), 600);
    json_int_t exp;
    assert_string_equal(lease_state(w, a.yiaddr, &exp), "bound");
    assert_int_equal(exp, 600);
    /* The lease is known to the neighbour table, DNS and port security. */
    uint8_t got[6];
    assert_int_equal(vn_dhcp4_lookup_mac(w->gw->dhcp, IP(10, 0, 2, 4), got), 0);
    assert_memory_equal(got, mac, 6);
    struct vn_addr a4 = vn_addr4(IP(10, 0, 2, 4));
    const struct vn_neigh *ne = vn_gw_neigh_peek(w->gw, &a4);
    assert_non_null(ne);
    assert_memory_equal(ne->mac, mac, 6);
    uint32_t ip;
    assert_int_equal(vn_dhcp4_lookup_name(w->gw->dhcp, "client-one", &ip), 0);
    assert_int_equal(ip, IP(10, 0, 2, 4));
    char name[64];
    assert_int_equal(vn_dhcp4_lookup_addr(w->gw->dhcp, IP(10, 0, 2, 4), name, sizeof name), 0);
    assert_string_equal(name, "client-one");
    assert_int_equal(stat(w, "discover"), 1);
    assert_int_equal(stat(w, "offer"), 1);
    assert_int_equal(stat(w, "request"), 1);
    assert_int_equal(stat(w, "ack"), 1);
    assert_int_equal(stat(w, "leases_active"), 1);

    /* A client asking for a broadcast reply gets one. */
    struct reply b = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 2,
                                                .bcast = true });
    assert_true(b.got);
    assert_memory_equal(b.dmac, "\xff\xff\xff\xff\xff\xff", 6);
    assert_int_equal(b.ipdst, 0xffffffffu);
    assert_int_equal(b.yiaddr, IP(10, 0, 2, 6)); /* .5 is reserved */
    /* A repeated DISCOVER gets the same offer. */
    b = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 2 });
    assert_int_equal(b.yiaddr, IP(10, 0, 2, 6));
    /* A client asking for a free address of the pool gets it. */
    b = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 3,
                                   .requested = IP(10, 0, 2, 7) });
    assert_int_equal(b.yiaddr, IP(10, 0, 2, 7));
}

static void test_static_hosts(void **state)
{
    struct world *w = *state;
    /* A reservation outside the pool, with its configured name. */
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 0xaa,
                                                .hostname = "whatever" });
    assert_int_equal(o.yiaddr, IP(10, 0, 2, 50));
    opt_str(&o, VN_DHO_HOSTNAME, "fixed");
    assert_int_equal(dora(w, 0xaa, "whatever"), IP(10, 0, 2, 50));
    uint32_t ip;
    assert_int_equal(vn_dhcp4_lookup_name(w->gw->dhcp, "fixed", &ip), 0);
    assert_int_equal(ip, IP(10, 0, 2, 50));
    assert_int_equal(vn_dhcp4_lookup_name(w->gw->dhcp, "whatever", &ip), -1);
    /* A reservation inside the pool. */
    assert_int_equal(dora(w, 0xcc, NULL), IP(10, 0, 2, 5));
    /* A name-only host gets a pool address and its name. */
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 0xbb });
    assert_int_equal(o.yiaddr, IP(10, 0, 2, 4));
    opt_str(&o, VN_DHO_HOSTNAME, "named");
    /* Another client asking for a reserved address is not given it. */
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1,
                                   .requested = IP(10, 0, 2, 5) });
    assert_true(o.got);
    assert_int_not_equal(o.yiaddr, IP(10, 0, 2, 5));
    /* ... nor by INIT-REBOOT. */
    struct reply n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 9,
                                                .requested = IP(10, 0, 2, 5) });
    assert_int_equal(n.type, VN_DHCP_NAK);
    n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 9,
                                   .requested = IP(10, 0, 2, 50) });
    assert_int_equal(n.type, VN_DHCP_NAK);
}

static void test_pool_exhaustion(void **state)
{
    struct world *w = *state;
    /* Three dynamic addresses, never the gateway's or the DNS address. */
    uint32_t got[3];
    for (uint8_t i = 0; i < 3; i++) {
        got[i] = dora(w, (uint8_t)(1 + i), NULL);
        assert_int_not_equal(got[i], GW);
        assert_int_not_equal(got[i], DNS);
        assert_int_not_equal(got[i], IP(10, 0, 2, 5));
    }
    assert_int_equal(got[0], IP(10, 0, 2, 4));
    assert_int_equal(got[1], IP(10, 0, 2, 6));
    assert_int_equal(got[2], IP(10, 0, 2, 7));
    /* Exhausted: no offer, counted; bound leases are untouched. */
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 4 });
    assert_false(o.got);
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 4, .requested = GW });
    assert_false(o.got);
    assert_int_equal(stat(w, "pool_exhausted"), 2);
    for (uint8_t i = 0; i < 3; i++)
        assert_string_equal(lease_state(w, got[i], NULL), "bound");
    /* ... and their owners renew. */
    struct reply a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 2,
                                                .ciaddr = got[1] });
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, got[1]);
}

static void test_offers_do_not_hold_pool(void **state)
{
    struct world *w = *state;
    /* Three clients that never REQUEST hold offers; a fourth gets the
     * oldest pending offer instead of nothing. */
    for (uint8_t i = 0; i < 3; i++) {
        struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER,
                                                    .last = (uint8_t)(1 + i) });
        assert_true(o.got);
        fake_now++;
    }
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 4 });
    assert_true(o.got);
    assert_int_equal(o.yiaddr, IP(10, 0, 2, 4));
    /* The first client's REQUEST for it is now refused. */
    struct reply n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1,
                                                .requested = IP(10, 0, 2, 4),
                                                .server_id = GW });
    assert_int_equal(n.type, VN_DHCP_NAK);
    assert_int_equal(stat(w, "nak"), 1);
}

static void test_renewal_and_reboot(void **state)
{
    struct world *w = *state;
    uint32_t ip = dora(w, 1, NULL);
    fake_now += 300; /* T1 */
    /* RENEWING: ciaddr, no server id, unicast reply to ciaddr. */
    struct reply a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1,
                                                .ciaddr = ip });
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, ip);
    assert_int_equal(a.ipdst, ip);
    json_int_t exp;
    assert_string_equal(lease_state(w, ip, &exp), "bound");
    assert_int_equal(exp, 600); /* extended from now */
    /* Past the original end it is still bound. */
    fake_now += 400;
    assert_string_equal(lease_state(w, ip, NULL), "bound");
    /* INIT-REBOOT: the right address is confirmed ... */
    a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1, .requested = ip });
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, ip);
    /* ... a wrong one gets a broadcast NAK with the server id. */
    struct reply n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1,
                                                .requested = IP(10, 0, 2, 7) });
    assert_true(n.got);
    assert_int_equal(n.type, VN_DHCP_NAK);
    assert_int_equal(n.yiaddr, 0);
    assert_int_equal(n.ipdst, 0xffffffffu);
    assert_memory_equal(n.dmac, "\xff\xff\xff\xff\xff\xff", 6);
    assert_int_equal(opt_u32(&n, VN_DHO_SERVER_ID), GW);
    assert_false(has_opt(&n, VN_DHO_LEASE_TIME));
    /* The NAK did not drop the good lease. */
    assert_string_equal(lease_state(w, ip, NULL), "bound");
    /* A client unknown to the server (lost lease file) keeps a free address. */
    a = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 7,
                                   .ciaddr = IP(10, 0, 2, 7) });
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, IP(10, 0, 2, 7));
    /* ... but not one bound to another client, nor one outside the pool. */
    n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 8, .requested = ip });
    assert_int_equal(n.type, VN_DHCP_NAK);
    n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 8,
                                   .requested = IP(192, 168, 1, 9) });
    assert_int_equal(n.type, VN_DHCP_NAK);
    /* A REQUEST with neither ciaddr nor option 50 is malformed. */
    struct reply x = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 8 });
    assert_false(x.got);
    assert_int_equal(stat(w, "malformed"), 1);
}

static void test_other_server(void **state)
{
    struct world *w = *state;
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1 });
    assert_int_equal(o.yiaddr, IP(10, 0, 2, 4));
    /* The client chose another server's offer: silence, and our offer is
     * given up (the address goes to the next client). */
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 1,
                                                .requested = IP(10, 0, 2, 4),
                                                .server_id = IP(10, 0, 2, 99) });
    assert_false(r.got);
    assert_int_equal(stat(w, "ignored"), 1);
    assert_string_equal(lease_state(w, IP(10, 0, 2, 4), NULL), "released");
    /* A request of an address we never offered it, with our id: NAK. */
    struct reply n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 2,
                                                .requested = IP(10, 0, 2, 6),
                                                .server_id = GW });
    assert_int_equal(n.type, VN_DHCP_NAK);
    /* Relayed messages are not ours either. */
    r = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 3,
                                   .giaddr = IP(10, 9, 9, 1) });
    assert_false(r.got);
    assert_int_equal(stat(w, "ignored"), 2);
}

static void test_decline(void **state)
{
    struct world *w = *state;
    uint32_t ip = dora(w, 1, "dup");
    /* The client found the address in use (ARP probe) and declines it. */
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP_DECLINE, .last = 1,
                                                .requested = ip, .server_id = GW });
    assert_false(r.got);
    assert_int_equal(stat(w, "decline"), 1);
    assert_string_equal(lease_state(w, ip, NULL), "");  /* no client holds it */
    uint8_t mac[6];
    assert_int_equal(vn_dhcp4_lookup_mac(w->gw->dhcp, ip, mac), -1);
    uint32_t a;
    assert_int_equal(vn_dhcp4_lookup_name(w->gw->dhcp, "dup", &a), -1);
    /* It gets another address; nobody gets the declined one, even asking. */
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1 });
    assert_int_not_equal(o.yiaddr, ip);
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 2, .requested = ip });
    assert_int_not_equal(o.yiaddr, ip);
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 3 });
    assert_int_not_equal(o.yiaddr, ip);
    struct reply n = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 4,
                                                .requested = ip });
    assert_int_equal(n.type, VN_DHCP_NAK);
    /* A pool of quarantined and offered addresses: exhausted for a 4th. */
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 5 });
    assert_true(o.got); /* the oldest pending offer */
    assert_int_not_equal(o.yiaddr, ip);
    /* After the quarantine (600 s) the address is offered again. */
    fake_now += 601;
    o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 6, .requested = ip });
    assert_int_equal(o.yiaddr, ip);
    /* A DECLINE of an address that is not the client's changes nothing. */
    uint32_t ip2 = dora(w, 7, NULL);
    send_msg(w, &(struct msg){ .type = VN_DHCP_DECLINE, .last = 8, .requested = ip2 });
    assert_string_equal(lease_state(w, ip2, NULL), "bound");
    /* A static reservation cannot be declined away. */
    assert_int_equal(dora(w, 0xaa, NULL), IP(10, 0, 2, 50));
    send_msg(w, &(struct msg){ .type = VN_DHCP_DECLINE, .last = 0xaa,
                               .requested = IP(10, 0, 2, 50) });
    assert_int_equal(dora(w, 0xaa, NULL), IP(10, 0, 2, 50));
}

static void test_release(void **state)
{
    struct world *w = *state;
    uint32_t ip = dora(w, 1, NULL);
    /* A RELEASE with the wrong ciaddr or another server id is ignored. */
    send_msg(w, &(struct msg){ .type = VN_DHCP_RELEASE, .last = 1, .ciaddr = IP(10, 0, 2, 7),
                               .server_id = GW });
    assert_string_equal(lease_state(w, ip, NULL), "bound");
    send_msg(w, &(struct msg){ .type = VN_DHCP_RELEASE, .last = 1, .ciaddr = ip,
                               .server_id = IP(10, 0, 2, 99) });
    assert_string_equal(lease_state(w, ip, NULL), "bound");
    /* Another client cannot release it. */
    send_msg(w, &(struct msg){ .type = VN_DHCP_RELEASE, .last = 2, .ciaddr = ip,
                               .server_id = GW });
    assert_string_equal(lease_state(w, ip, NULL), "bound");
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP_RELEASE, .last = 1,
                                                .ciaddr = ip, .server_id = GW });
    assert_false(r.got); /* RELEASE has no answer */
    assert_string_equal(lease_state(w, ip, NULL), "released");
    assert_int_equal(stat(w, "leases_active"), 0);
    uint8_t mac[6];
    assert_int_equal(vn_dhcp4_lookup_mac(w->gw->dhcp, ip, mac), -1);
    /* The client is remembered: it gets the same address back. */
    assert_int_equal(dora(w, 1, NULL), ip);
    /* Released again, the address is free for others once the pool has
     * nothing never-used left. */
    send_msg(w, &(struct msg){ .type = VN_DHCP_RELEASE, .last = 1, .ciaddr = ip });
    assert_int_equal(dora(w, 2, NULL), IP(10, 0, 2, 6));
    assert_int_equal(dora(w, 3, NULL), IP(10, 0, 2, 7));
    assert_int_equal(dora(w, 4, NULL), ip);
}

static void test_expiry(void **state)
{
    struct world *w = *state;
    uint32_t a = dora(w, 1, "one");
    uint32_t b = dora(w, 2, NULL);
    uint32_t c = dora(w, 3, NULL);
    fake_now += 599;
    assert_int_equal(stat(w, "leases_active"), 3);
    /* Client 2 renews; 1 and 3 do not. */
    send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 2, .ciaddr = b });
    fake_now += 2;
    assert_int_equal(stat(w, "leases_active"), 1);
    assert_string_equal(lease_state(w, a, NULL), "expired");
    uint8_t mac[6];
    assert_int_equal(vn_dhcp4_lookup_mac(w->gw->dhcp, a, mac), -1);
    assert_int_equal(vn_dhcp4_lookup_mac(w->gw->dhcp, b, mac), 0);
    uint32_t ip;
    assert_int_equal(vn_dhcp4_lookup_name(w->gw->dhcp, "one", &ip), -1);
    /* A new client takes an expired address (the least recently used). */
    struct reply o = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 4 });
    assert_true(o.got);
    assert_int_equal(o.yiaddr, a);
    /* The departed client 3 comes back and still gets its own address. */
    assert_int_equal(dora(w, 3, NULL), c);
    /* A renewal of an expired lease that nobody took is accepted. */
    fake_now += 10;
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP_REQUEST, .last = 2,
                                                .ciaddr = b });
    assert_int_equal(r.type, VN_DHCP_ACK);
}

static void test_inform(void **state)
{
    struct world *w = *state;
    /* A client configured by hand asks for the other parameters. */
    struct reply a = send_msg(w, &(struct msg){ .type = VN_DHCP_INFORM, .last = 9,
                                                .ciaddr = IP(10, 0, 2, 200) });
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP_ACK);
    assert_int_equal(a.yiaddr, 0);
    assert_int_equal(a.ipdst, IP(10, 0, 2, 200));
    assert_false(has_opt(&a, VN_DHO_LEASE_TIME));
    assert_false(has_opt(&a, VN_DHO_T1));
    assert_int_equal(opt_u32(&a, VN_DHO_DNS), DNS);
    assert_int_equal(opt_u32(&a, VN_DHO_ROUTER), GW);
    opt_str(&a, VN_DHO_DOMAIN, "lab.test");
    assert_int_equal(stat(w, "inform"), 1);
    assert_int_equal(stat(w, "leases_active"), 0); /* no lease made */
    /* INFORM without ciaddr: nothing to answer to. */
    a = send_msg(w, &(struct msg){ .type = VN_DHCP_INFORM, .last = 9 });
    assert_false(a.got);
}

static void test_malformed(void **state)
{
    struct world *w = *state;
    /* Wrong hardware type, multicast chaddr, truncated message, bad cookie. */
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1,
                                                .htype = 6 });
    assert_false(r.got);
    r = send_msg(w, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1 });
    assert_true(r.got);
    uint8_t f[600];
    size_t len = build(f, &(struct msg){ .type = VN_DHCP_DISCOVER, .last = 1 });
    struct vn_ip4 ip;
    struct vn_udp u;
    assert_int_equal(vn_ip4_parse_hdr(f + 14, len - 14, true, &ip), VN_IP_OK);
    assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
    memset(&w->rec, 0, sizeof w->rec);
    uint8_t *b = f + 14 + 20 + 8;
    b[28] = 0x01; /* multicast chaddr */
    vn_dhcp4_input(w->gw->dhcp, f + 6, &ip, &u);
    b[28] = 0x52;
    b[236] = 0; /* bad cookie */
    vn_dhcp4_input(w->gw->dhcp, f + 6, &ip, &u);
    b[236] = 0x63;
    u.dlen = 100; /* truncated */
    vn_dhcp4_input(w->gw->dhcp, f + 6, &ip, &u);
    /* A server message type from a client. */
    u.dlen = (uint16_t)(len - 42);
    b[242] = VN_DHCP_OFFER;
    vn_dhcp4_input(w->gw->dhcp, f + 6, &ip, &u);
    vn_gw_flush(w->gw);
    assert_int_equal(w->rec.n, 0);
    assert_int_equal(stat(w, "malformed"), 4);
    assert_int_equal(stat(w, "ignored"), 1);
    assert_int_equal(stat(w, "offer"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discover_offer_request_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_hosts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pool_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_offers_do_not_hold_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_renewal_and_reboot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_other_server, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_inform, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
