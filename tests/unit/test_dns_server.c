/* Unit tests of the DNS forwarder (src/gw/dns.c) through the real data path:
 * a guest port that records what it is sent sends UDP queries, over IPv4
 * to the DNS address and over IPv6 to dns6, through the switch and the
 * gateway's egress table; the answers are read back from the recording
 * port. Covers the family of the answer (from the address the query was
 * sent to, to the guest's address), the sources accepted (on the link:
 * the IPv4 subnet, the IPv6 prefix and link-local), AAAA for host.DOMAIN
 * and for the SLAAC addresses neighbour discovery saw for a named guest's
 * MAC, NODATA both ways (a name with only an A record asked AAAA, one with
 * only AAAA asked A) versus NXDOMAIN, PTR in the /64's ip6.arpa zone
 * answered locally (names, NXDOMAIN, never forwarded), and forwarding to
 * an IPv6 upstream on [::1] the test runs itself (loopback only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "gw/dhcp6.h"
#include "gw/dns.h"
#include "gw/dns_msg.h"
#include "gw/gateway.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "port/port.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define PREFIX "fd00:1:2:3::"

/* inpool (MAC ..:cc) has a fixed IPv4 address, named (..:bb) is named by
 * MAC only, fixed (..:aa) has an IPv4 address and never speaks IPv6. */
static const char CONF[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    subnet6: " PREFIX "/64\n"
    "    dhcp:\n"
    "      range: 10.0.2.10-10.0.2.20\n"
    "      hosts:\n"
    "        - {mac: '52:54:00:00:00:cc', ip: 10.0.2.5, name: inpool}\n"
    "        - {mac: '52:54:00:00:00:aa', ip: 10.0.2.50, name: fixed}\n"
    "        - {mac: '52:54:00:00:00:bb', name: named}\n"
    "    dns: {domain: lab.test, address: 10.0.2.3, upstream: ['[::1]:%u']}\n"
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
    int up;             /* the upstream resolver's socket, on [::1] */
    uint16_t up_port;
};

/* A world from yaml (a format with the upstream's port as its %u); edit,
 * if not NULL, changes the validated network before it is built. */
static struct world *world_new_edit(const char *fmt, void (*edit)(struct vn_net_conf *))
{
    struct world *w = calloc(1, sizeof *w);
    char err[256], yaml[2048];
    /* The upstream first: its port goes into the configuration. */
    w->up = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    socklen_t sl = sizeof sa;
    if (w->up < 0 || bind(w->up, (struct sockaddr *)&sa, sizeof sa) ||
        getsockname(w->up, (struct sockaddr *)&sa, &sl))
        skip(); /* no IPv6 loopback here */
    w->up_port = ntohs(sa.sin6_port);
    snprintf(yaml, sizeof yaml, fmt, w->up_port);
    w->c = harness_config(yaml);
    if (edit)
        edit(&w->c->nets[0]);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    if (!(w->net = vn_switch_add_network(w->sw, &w->c->nets[0], err, sizeof err)))
        fail_msg("%s", err);
    if (!(w->guest = vn_switch_add_port_ops(w->sw, &w->c->ports[0], &harness_rec_ops, &w->rec, err,
                                            sizeof err)))
        fail_msg("%s", err);
    if (!(w->gw = vn_gw_new(w->sw, w->net, NULL, err, sizeof err)))
        fail_msg("%s", err);
    assert_non_null(w->gw->dns);
    return w;
}

static struct world *world_new(const char *fmt) { return world_new_edit(fmt, NULL); }

static void world_free(struct world *w)
{
    vn_gw_free(w->gw);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    if (w->up >= 0)
        close(w->up);
    free(w);
}

static int setup(void **state)
{
    struct world *w = world_new(CONF);
    assert_int_equal(w->gw->dns6.family, AF_INET6);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    if (*state)
        world_free(*state);
    return 0;
}

/* ---- guest side ---- */

static void mac_of(uint8_t mac[6], uint8_t last)
{
    const uint8_t m[6] = { 0x52, 0x54, 0, 0, 0, last };
    memcpy(mac, m, 6);
}

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    assert_int_equal(vn_addr_parse(s, &a), 0);
    return a;
}

/* A DNS query for name/qtype with id; EDNS0 (size 1232) if edns. */
static size_t query(uint8_t *q, const char *name, uint16_t qtype, uint16_t id, bool edns)
{
    memset(q, 0, VN_DNS_HLEN);
    vn_dns_put16(q, id);
    vn_dns_put16(q + 2, VN_DNS_F_RD);
    vn_dns_put16(q + 4, 1);
    int nl = vn_dns_name_from_text(name, q + VN_DNS_HLEN, 300);
    assert_true(nl > 0);
    uint8_t *p = q + VN_DNS_HLEN + nl;
    vn_dns_put16(p, qtype);
    vn_dns_put16(p + 2, VN_DNS_C_IN);
    size_t n = (size_t)(p + 4 - q);
    if (edns) {
        vn_dns_put16(q + 10, 1);
        static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0 };
        memcpy(q + n, opt, sizeof opt);
        n += sizeof opt;
    }
    return n;
}

/* An Ethernet + IPv4/IPv6 + UDP frame from (smac, src:sport) to the
 * gateway's MAC, dst:53, carrying m. */
static size_t udp_frame(struct world *w, uint8_t *f, uint8_t mac_last, const struct vn_addr *src,
                        uint16_t sport, const struct vn_addr *dst, const uint8_t *m, size_t len)
{
    uint8_t smac[6];
    mac_of(smac, mac_last);
    uint8_t *u;
    if (src->family == AF_INET) {
        u = harness_ip4(f, w->gw->mac, smac, vn_addr_v4(src), vn_addr_v4(dst), VN_IPPROTO_UDP,
                        64, 8 + len);
    } else {
        memcpy(f, w->gw->mac, 6);
        memcpy(f + 6, smac, 6);
        vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
        uint8_t *ip = f + 14;
        memset(ip, 0, 40);
        ip[0] = 0x60;
        vn_put_be16(ip + 4, (uint16_t)(8 + len));
        ip[6] = VN_IPPROTO_UDP;
        ip[7] = 64;
        memcpy(ip + 8, src->a, 16);
        memcpy(ip + 24, dst->a, 16);
        u = ip + 40;
    }
    vn_put_be16(u, sport);
    vn_put_be16(u + 2, 53);
    vn_put_be16(u + 4, (uint16_t)(8 + len));
    vn_put_be16(u + 6, 0);
    memcpy(u + 8, m, len);
    uint16_t c = vn_csum_fold(
        vn_csum_add(vn_csum_pseudo(src, dst, VN_IPPROTO_UDP, (uint32_t)(8 + len)), u, 8 + len));
    vn_put_be16(u + 6, c ? c : 0xffff);
    return (size_t)(u + 8 + len - f);
}

/* What the guest got back. */
struct answer {
    bool got;
    struct vn_addr src, dst;
    uint16_t sport, dport;
    struct vn_dns_msg m;
    uint8_t raw[1600];
    size_t len;
};

/* Parse the recorded frame i as an answer (UDP from port 53, either family). */
static struct answer parse_answer(struct world *w, unsigned i)
{
    struct answer a = { .got = true };
    const uint8_t *g = w->rec.f[i];
    size_t glen = w->rec.len[i];
    assert_memory_equal(g + 6, w->gw->mac, 6);
    struct vn_ipp ip;
    if (vn_get_be16(g + 12) == VN_ETH_TYPE_IPV4) {
        struct vn_ip4 ip4;
        assert_int_equal(vn_ip4_parse_hdr(g + 14, glen - 14, true, &ip4), VN_IP_OK);
        vn_ipp_from4(&ip4, &ip);
    } else {
        assert_int_equal(vn_get_be16(g + 12), VN_ETH_TYPE_IPV6);
        struct vn_ip6 ip6;
        assert_int_equal(vn_ip6_parse(g + 14, glen - 14, &ip6), VN_IP_OK);
        vn_ipp_from6(&ip6, &ip);
    }
    assert_int_equal(ip.proto, VN_IPPROTO_UDP);
    struct vn_udp u;
    assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
    /* The checksum is right (a sum over the pseudo header and datagram is 0). */
    assert_int_equal(vn_csum_fold(vn_csum_add(vn_csum_pseudo(&ip.src, &ip.dst, VN_IPPROTO_UDP,
                                                             ip.l4_len),
                                              ip.l4, ip.l4_len)),
                     0);
    a.src = ip.src, a.dst = ip.dst, a.sport = u.sport, a.dport = u.dport;
    assert_true(u.dlen <= sizeof a.raw);
    memcpy(a.raw, u.data, u.dlen);
    a.len = u.dlen;
    assert_int_equal(vn_dns_msg_parse(a.raw, a.len, &a.m), 0);
    assert_true(a.m.h.flags & VN_DNS_F_QR);
    return a;
}

/* The recorded UDP frame (the answer; other frames such as router
 * advertisements are skipped), or -1. */
static int find_udp(struct world *w)
{
    int found = -1;
    for (unsigned i = 0; i < w->rec.n; i++) {
        const uint8_t *g = w->rec.f[i];
        bool v4 = vn_get_be16(g + 12) == VN_ETH_TYPE_IPV4;
        bool udp = v4 ? g[14 + 9] == VN_IPPROTO_UDP
                      : vn_get_be16(g + 12) == VN_ETH_TYPE_IPV6 && g[14 + 6] == VN_IPPROTO_UDP;
        if (udp) {
            assert_int_equal(found, -1); /* one answer only */
            found = (int)i;
        }
    }
    return found;
}

/* Send a query for name/qtype from mac_last at src to dst:53; returns what
 * came back at once (got false if nothing). */
static struct answer ask(struct world *w, uint8_t mac_last, const char *src, const char *dst,
                         const char *name, uint16_t qtype)
{
    uint8_t q[512], f[1600];
    struct vn_addr s = a6(src), d = a6(dst);
    size_t ql = query(q, name, qtype, 0x4242, false);
    size_t fl = udp_frame(w, f, mac_last, &s, 3333, &d, q, ql);
    memset(&w->rec, 0, sizeof w->rec);
    harness_input(w->sw, w->guest, f, fl);
    vn_gw_flush(w->gw);
    struct answer a = { 0 };
    int i = find_udp(w);
    if (i < 0)
        return a;
    a = parse_answer(w, (unsigned)i);
    /* From the address asked, port 53, to the guest's MAC, address and port. */
    assert_true(vn_addr_eq(&a.src, &d));
    assert_true(vn_addr_eq(&a.dst, &s));
    assert_int_equal(a.sport, 53);
    assert_int_equal(a.dport, 3333);
    assert_int_equal(a.m.h.id, 0x4242);
    uint8_t mac[6];
    mac_of(mac, mac_last);
    assert_memory_equal(w->rec.f[i], mac, 6);
    return a;
}

/* The rdata of the answer records of type t, in order, into out[] (up to
 * max); returns how many. Answers own the question name (compressed). */
static unsigned records(const struct answer *a, uint16_t t, uint8_t out[][256], uint16_t *lens,
                        unsigned max)
{
    size_t off = VN_DNS_HLEN + a->m.q.name_len + 4;
    unsigned k = 0;
    for (unsigned i = 0; i < a->m.h.ancount; i++) {
        uint8_t name[256];
        size_t next;
        assert_true(vn_dns_name_read(a->raw, a->len, off, name, &next) > 0);
        assert_true(vn_dns_wire_eq(name, a->m.q.name, a->m.q.name_len));
        uint16_t type = vn_dns_get16(a->raw + next), rdlen = vn_dns_get16(a->raw + next + 8);
        assert_int_equal(vn_dns_get16(a->raw + next + 2), VN_DNS_C_IN);
        if (type == t && k < max) {
            if (t == VN_DNS_T_PTR) { /* the target may be compressed */
                size_t nn;
                int l = vn_dns_name_read(a->raw, a->len, next + 10, out[k], &nn);
                assert_true(l > 0);
                lens[k] = (uint16_t)l;
            } else {
                memcpy(out[k], a->raw + next + 10, rdlen);
                lens[k] = rdlen;
            }
            k++;
        }
        off = next + 10 + rdlen;
    }
    return k;
}

static unsigned rcode(const struct answer *a) { return a->m.h.flags & VN_DNS_F_RCODE; }

/* Exactly one record of type t, equal to address s. */
static void expect_addr(const struct answer *a, uint16_t t, const char *s)
{
    assert_true(a->got);
    assert_int_equal(rcode(a), VN_DNS_R_NOERROR);
    assert_true(a->m.h.flags & VN_DNS_F_AA);
    uint8_t rd[4][256];
    uint16_t l[4];
    assert_int_equal(records(a, t, rd, l, 4), 1);
    struct vn_addr x = a6(s);
    assert_int_equal(l[0], t == VN_DNS_T_A ? 4 : 16);
    assert_memory_equal(rd[0], x.a, l[0]);
}

static void expect_ptr(const struct answer *a, const char *target)
{
    assert_true(a->got);
    assert_int_equal(rcode(a), VN_DNS_R_NOERROR);
    uint8_t rd[2][256];
    uint16_t l[2];
    assert_int_equal(records(a, VN_DNS_T_PTR, rd, l, 2), 1);
    char text[256];
    assert_true(vn_dns_name_to_text(rd[0], text, sizeof text) > 0);
    assert_string_equal(text, target);
}

/* NOERROR without answers (authoritative): the name exists. */
static void expect_nodata(const struct answer *a)
{
    assert_true(a->got);
    assert_int_equal(rcode(a), VN_DNS_R_NOERROR);
    assert_true(a->m.h.flags & VN_DNS_F_AA);
    assert_int_equal(a->m.h.ancount, 0);
}

static void expect_nxdomain(const struct answer *a)
{
    assert_true(a->got);
    assert_int_equal(rcode(a), VN_DNS_R_NXDOMAIN);
    assert_true(a->m.h.flags & VN_DNS_F_AA);
    assert_int_equal(a->m.h.ancount, 0);
}

static json_int_t stat(struct world *w, const char *key)
{
    json_t *o = vn_dns_stats_json(w->gw->dns);
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("no stat %s", key);
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

/* The reverse name of address s. */
static const char *rev(const char *s)
{
    static char text[256];
    struct vn_addr a = a6(s);
    uint8_t w[80];
    assert_int_equal(vn_dns_ptr6_name(a.a, 32, w, sizeof w), 74);
    assert_true(vn_dns_name_to_text(w, text, sizeof text) > 0);
    return text;
}

#define DNS6 PREFIX "3"
#define GW6 PREFIX "2"
#define G1 "fd00:1:2:3:5054:ff:fe00:cc"     /* inpool's SLAAC address */
#define G1B "fd00:1:2:3:1234:5678:9abc:def0" /* ... and a temporary one */
#define G2 "fd00:1:2:3:5054:ff:fe00:bb"     /* named's */
#define LL1 "fe80::5054:ff:fe00:cc"

/* ---- tests ---- */

/* host.DOMAIN over IPv6: A is the host's IPv4 gateway, AAAA gateway6 (on
 * nat the address that reaches the host's ::1); asked over IPv4 the same
 * records; answers from the address asked, in the query's family. */
static void test_host_both_families(void **state)
{
    struct world *w = *state;
    struct answer a = ask(w, 0x11, PREFIX "11", DNS6, "host.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, GW6);
    a = ask(w, 0x11, PREFIX "11", DNS6, "HOST.lab.test", VN_DNS_T_A);
    expect_addr(&a, VN_DNS_T_A, "10.0.2.2");
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "host.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, GW6);
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "host.lab.test", VN_DNS_T_A);
    expect_addr(&a, VN_DNS_T_A, "10.0.2.2");
    /* ANY: both. */
    a = ask(w, 0x11, PREFIX "11", DNS6, "host.lab.test", VN_DNS_T_ANY);
    uint8_t rd[4][256];
    uint16_t l[4];
    assert_int_equal(records(&a, VN_DNS_T_A, rd, l, 4), 1);
    assert_int_equal(records(&a, VN_DNS_T_AAAA, rd, l, 4), 1);
    /* The domain itself exists (NODATA), names deeper or unknown do not. */
    expect_nodata((a = ask(w, 0x11, PREFIX "11", DNS6, "lab.test", VN_DNS_T_AAAA), &a));
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, "nobody.lab.test", VN_DNS_T_AAAA), &a));
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, "a.host.lab.test", VN_DNS_T_AAAA), &a));
    assert_int_equal(stat(w, "queries_udp6"), 6);
    assert_int_equal(stat(w, "queries_udp4"), 2);
    assert_int_equal(stat(w, "queries_udp"), 8);
    assert_int_equal(stat(w, "forwarded"), 0);
}

/* A guest's SLAAC addresses (what neighbour discovery saw for its MAC)
 * answer AAAA for the name its reservation or lease gives that MAC; its
 * link-local address is never one of them. */
static void test_slaac_names(void **state)
{
    struct world *w = *state;
    /* Before inpool spoke IPv6 it has only its A record: AAAA is NODATA. */
    struct answer a = ask(w, 0x11, PREFIX "11", DNS6, "inpool.lab.test", VN_DNS_T_AAAA);
    expect_nodata(&a);
    /* inpool asks from its link-local address, then from its SLAAC one: the
     * gateway learns both; answers go back to each. */
    a = ask(w, 0xcc, LL1, DNS6, "inpool.lab.test", VN_DNS_T_A);
    expect_addr(&a, VN_DNS_T_A, "10.0.2.5");
    a = ask(w, 0xcc, G1, DNS6, "inpool.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, G1);
    /* A second (temporary) address: both. */
    a = ask(w, 0xcc, G1B, DNS6, "Inpool.Lab.Test", VN_DNS_T_AAAA);
    uint8_t rd[4][256];
    uint16_t l[4];
    assert_int_equal(records(&a, VN_DNS_T_AAAA, rd, l, 4), 2);
    struct vn_addr x = a6(G1), y = a6(G1B);
    assert_true((!memcmp(rd[0], x.a, 16) && !memcmp(rd[1], y.a, 16)) ||
                (!memcmp(rd[0], y.a, 16) && !memcmp(rd[1], x.a, 16)));
    /* named has a reservation by MAC only, no IPv4 lease: known by IPv6 only,
     * so A is NODATA, not NXDOMAIN. */
    a = ask(w, 0xbb, G2, DNS6, "named.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, G2);
    expect_nodata((a = ask(w, 0xbb, G2, DNS6, "named.lab.test", VN_DNS_T_A), &a));
    /* fixed never spoke IPv6: AAAA NODATA; asked over IPv4 too. */
    expect_nodata((a = ask(w, 0xbb, G2, DNS6, "fixed.lab.test", VN_DNS_T_AAAA), &a));
    expect_nodata((a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "fixed.lab.test", VN_DNS_T_AAAA),
                   &a));
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "named.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, G2);
    assert_int_equal(stat(w, "forwarded"), 0);
}

/* PTR in the /64's ip6.arpa zone: answered here, never forwarded. */
static void test_ptr6(void **state)
{
    struct world *w = *state;
    struct answer a = ask(w, 0xcc, G1, DNS6, "inpool.lab.test", VN_DNS_T_AAAA); /* learnt */
    expect_addr(&a, VN_DNS_T_AAAA, G1);
    a = ask(w, 0x11, PREFIX "11", DNS6, rev(G1), VN_DNS_T_PTR);
    expect_ptr(&a, "inpool.lab.test");
    a = ask(w, 0x11, PREFIX "11", DNS6, rev(GW6), VN_DNS_T_PTR);
    expect_ptr(&a, "host.lab.test");
    /* Asked over IPv4, and in upper case: the same. */
    char up[256];
    snprintf(up, sizeof up, "%s", rev(G1));
    for (char *p = up; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 32);
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", up, VN_DNS_T_PTR);
    expect_ptr(&a, "inpool.lab.test");
    /* PTR of a name is NODATA; AAAA of a reverse name with a PTR too. */
    expect_nodata((a = ask(w, 0x11, PREFIX "11", DNS6, "inpool.lab.test", VN_DNS_T_PTR), &a));
    expect_nodata((a = ask(w, 0x11, PREFIX "11", DNS6, rev(G1), VN_DNS_T_AAAA), &a));
    /* Unknown addresses in the prefix, the DNS address (no name, as in
     * IPv4), partial names and garbage below the zone: NXDOMAIN here. */
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, rev(PREFIX "9999"), VN_DNS_T_PTR), &a));
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, rev(DNS6), VN_DNS_T_PTR), &a));
    const char *r = rev(G1);
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, r + 2, VN_DNS_T_PTR), &a)); /* 31 nibbles */
    char bad[300];
    snprintf(bad, sizeof bad, "zz.%s", r + 2);
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, bad, VN_DNS_T_PTR), &a));
    snprintf(bad, sizeof bad, "x.%s", r);
    expect_nxdomain((a = ask(w, 0x11, PREFIX "11", DNS6, bad, VN_DNS_T_PTR), &a));
    /* The zone itself exists. */
    expect_nodata((a = ask(w, 0x11, PREFIX "11", DNS6, r + 32, VN_DNS_T_PTR), &a));
    assert_string_equal(r + 32, "3.0.0.0.2.0.0.0.1.0.0.0.0.0.d.f.ip6.arpa");
    assert_int_equal(stat(w, "forwarded"), 0);
    assert_int_equal(stat(w, "nxdomain"), 5);
    /* Nothing reached the upstream. */
    struct pollfd p = { w->up, POLLIN, 0 };
    assert_int_equal(poll(&p, 1, 0), 0);
}

/* Queries come from guests on the link only. */
static void test_sources(void **state)
{
    struct world *w = *state;
    struct answer a = ask(w, 0x11, "2001:db8::5", DNS6, "host.lab.test", VN_DNS_T_AAAA);
    assert_false(a.got); /* outside the prefix */
    a = ask(w, 0x11, "::", DNS6, "host.lab.test", VN_DNS_T_AAAA);
    assert_false(a.got);
    a = ask(w, 0x11, "10.9.9.9", "10.0.2.3", "host.lab.test", VN_DNS_T_AAAA);
    assert_false(a.got); /* outside the IPv4 subnet */
    assert_int_equal(stat(w, "malformed"), 3);
    /* The gateway's own address as the source (the switch's guards may
     * stop such a frame first: the service is asked directly). */
    uint8_t q[512], smac[6];
    size_t ql = query(q, "host.lab.test", VN_DNS_T_AAAA, 1, false);
    mac_of(smac, 0x11);
    struct vn_ipp ip = { .family = AF_INET6, .proto = VN_IPPROTO_UDP, .src = a6(GW6),
                         .dst = a6(DNS6) };
    struct vn_udp u = { .sport = 3333, .dport = 53, .len = (uint16_t)(8 + ql), .data = q,
                        .dlen = (uint16_t)ql };
    memset(&w->rec, 0, sizeof w->rec);
    vn_dns_input_udp(w->gw->dns, smac, 0, &ip, &u);
    ip.src = a6(DNS6);
    vn_dns_input_udp(w->gw->dns, smac, 0, &ip, &u);
    vn_gw_flush(w->gw);
    assert_int_equal(find_udp(w), -1);
    assert_int_equal(stat(w, "malformed"), 5);
    /* A link-local source is on the link. */
    a = ask(w, 0x11, "fe80::11", DNS6, "host.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, GW6);
    /* Port 53 of the gateway's other IPv6 addresses is no DNS service. */
    a = ask(w, 0x11, PREFIX "11", GW6, "host.lab.test", VN_DNS_T_AAAA);
    assert_false(a.got);
}

/* Names outside the local zones go to the upstream, here one on [::1]
 * (an AF_INET6 socket): its answer goes back to the IPv6 guest with the
 * guest's id, from dns6. Reverse names outside the prefix are forwarded. */
static void test_forward_ipv6_upstream(void **state)
{
    struct world *w = *state;
    const char *names[2] = { "www.example.test", rev("2001:db8::1") };
    const uint16_t types[2] = { VN_DNS_T_AAAA, VN_DNS_T_PTR };
    for (int k = 0; k < 2; k++) {
        struct answer a = ask(w, 0x11, PREFIX "11", DNS6, names[k], types[k]);
        assert_false(a.got);
        vn_loop_once(w->loop, 0); /* the pool's batched send */
        struct pollfd p = { w->up, POLLIN, 0 };
        assert_int_equal(poll(&p, 1, 2000), 1);
        uint8_t m[1500];
        struct sockaddr_in6 from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(w->up, m, sizeof m, 0, (struct sockaddr *)&from, &fl);
        assert_true(n > VN_DNS_HLEN);
        assert_int_equal(from.sin6_family, AF_INET6);
        struct vn_dns_msg q;
        assert_int_equal(vn_dns_msg_parse(m, (size_t)n, &q), 0);
        assert_true(q.has_q);
        char text[256];
        assert_true(vn_dns_name_to_text(q.q.name, text, sizeof text) > 0);
        assert_string_equal(text, names[k]);
        assert_int_equal(q.q.qtype, types[k]);
        /* Answer: one record (AAAA 2001:db8::80, or a PTR). */
        uint8_t r[1500];
        size_t rl = vn_dns_reply_init(r, sizeof r, &q, 0, VN_DNS_R_NOERROR);
        struct vn_addr x = a6("2001:db8::80");
        static const uint8_t tgt[] = "\3www\7example\4test";
        rl = k == 0 ? vn_dns_add_answer(r, sizeof r, rl, VN_DNS_T_AAAA, 60, x.a, 16)
                    : vn_dns_add_answer(r, sizeof r, rl, VN_DNS_T_PTR, 60, tgt, sizeof tgt);
        assert_true(rl > 0);
        assert_int_equal(sendto(w->up, r, rl, 0, (struct sockaddr *)&from, fl), (ssize_t)rl);
        memset(&w->rec, 0, sizeof w->rec);
        int i = -1;
        for (int t = 0; t < 50 && i < 0; t++) {
            vn_loop_once(w->loop, 100);
            vn_gw_flush(w->gw);
            i = find_udp(w);
        }
        assert_true(i >= 0);
        a = parse_answer(w, (unsigned)i);
        struct vn_addr d6 = a6(DNS6), g = a6(PREFIX "11");
        assert_true(vn_addr_eq(&a.src, &d6));
        assert_true(vn_addr_eq(&a.dst, &g));
        assert_int_equal(a.sport, 53);
        assert_int_equal(a.dport, 3333);
        assert_int_equal(a.m.h.id, 0x4242);
        assert_int_equal(rcode(&a), VN_DNS_R_NOERROR);
        assert_int_equal(a.m.h.ancount, 1);
        assert_false(a.m.edns); /* the guest sent none */
    }
    assert_int_equal(stat(w, "forwarded"), 2);
    assert_int_equal(stat(w, "answers"), 2);
    json_t *o = vn_dns_stats_json(w->gw->dns);
    char want[64];
    snprintf(want, sizeof want, "[::1]:%u", w->up_port);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "upstreams"), 0)),
                        want);
    json_decref(o);
}

/* host.DOMAIN in IPv6 on the other modes: on host-only the host's tap holds
 * gateway6 (the services answer on dns6, another address); on isolated
 * networks it is the gateway itself (gateway6, also the DNS address). */
static void test_host_only_and_isolated(void **state)
{
    (void)state;
    struct world *w = world_new("networks:\n"
                                "  - name: lan\n"
                                "    mode: host-only\n"
                                "    subnet: 10.0.2.0/24\n"
                                "    subnet6: " PREFIX "/64\n"
                                "    dns: {upstream: ['[::1]:%u']}\n"
                                "ports:\n"
                                "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n");
    struct answer a = ask(w, 0x11, PREFIX "11", PREFIX "2", "host.vnet.internal", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, PREFIX "1");
    a = ask(w, 0x11, PREFIX "11", PREFIX "2", rev(PREFIX "1"), VN_DNS_T_PTR);
    expect_ptr(&a, "host.vnet.internal");
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.2", "host.vnet.internal", VN_DNS_T_A);
    expect_addr(&a, VN_DNS_T_A, "10.0.2.1");
    world_free(w);

    w = world_new("networks:\n"
                  "  - name: lan\n"
                  "    mode: isolated\n"
                  "    subnet: 10.0.2.0/24\n"
                  "    gateway: 10.0.2.2\n"
                  "    subnet6: " PREFIX "/64\n"
                  "    dns: {upstream: ['[::1]:%u']}\n"
                  "ports:\n"
                  "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n");
    a = ask(w, 0x11, PREFIX "11", GW6, "host.vnet.internal", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, GW6);
    world_free(w);
}

/* ipv6: false: no AAAA for host.DOMAIN (NODATA), no IPv6 service at all. */
static void test_ipv6_off(void **state)
{
    (void)state;
    struct world *w = world_new("networks:\n"
                                "  - name: lan\n"
                                "    mode: nat\n"
                                "    subnet: 10.0.2.0/24\n"
                                "    gateway: 10.0.2.2\n"
                                "    ipv6: false\n"
                                "    dns: {address: 10.0.2.3, upstream: ['[::1]:%u']}\n"
                                "ports:\n"
                                "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n");
    assert_int_equal(w->gw->dns6.family, 0);
    struct answer a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "host.vnet.internal", VN_DNS_T_AAAA);
    expect_nodata(&a);
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "host.vnet.internal", VN_DNS_T_A);
    expect_addr(&a, VN_DNS_T_A, "10.0.2.2");
    a = ask(w, 0x11, "fd00::11", "fd00::3", "host.vnet.internal", VN_DNS_T_AAAA);
    assert_false(a.got);
    assert_int_equal(stat(w, "queries_udp6"), 0);
    world_free(w);
}

/* A stateful DHCPv6 server with a reservation by MAC (dhcp6.hosts). */
static void dhcp6_stateful(struct vn_net_conf *n)
{
    n->dhcp6_mode = VN_DHCP6_STATEFUL;
    n->dhcp6_start = a6(PREFIX "100");
    n->dhcp6_end = a6(PREFIX "1ff");
    n->nhosts6 = 1;
    struct vn_dhcp6_host *h = &n->hosts6[0];
    memset(h, 0, sizeof *h);
    mac_of(h->mac, 0xdd);
    h->has_mac = true;
    h->ip = a6(PREFIX "50");
    snprintf(h->name, sizeof h->name, "v6only");
}

/* DHCPv6 leases and reservations: AAAA and PTR from the DHCPv6 server
 * (gw/dhcp6.h); a name it alone knows answers A with NODATA. */
static void test_dhcp6_names(void **state)
{
    (void)state;
    struct world *w = world_new_edit(CONF, dhcp6_stateful);
    char err[256];
    if (!w->gw->dhcp6 && !(w->gw->dhcp6 = vn_dhcp6_new(w->gw, NULL, err, sizeof err)))
        fail_msg("%s", err);
    struct answer a = ask(w, 0x11, PREFIX "11", DNS6, "v6only.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, PREFIX "50");
    expect_nodata((a = ask(w, 0x11, PREFIX "11", DNS6, "v6only.lab.test", VN_DNS_T_A), &a));
    a = ask(w, 0x11, "10.0.2.11", "10.0.2.3", "v6only.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, PREFIX "50");
    a = ask(w, 0x11, PREFIX "11", DNS6, rev(PREFIX "50"), VN_DNS_T_PTR);
    expect_ptr(&a, "v6only.lab.test");
    /* The SLAAC path still works beside it. */
    a = ask(w, 0xcc, G1, DNS6, "inpool.lab.test", VN_DNS_T_AAAA);
    expect_addr(&a, VN_DNS_T_AAAA, G1);
    vn_dhcp6_free(w->gw->dhcp6); /* whoever made it: vn_gw_free then finds none */
    w->gw->dhcp6 = NULL;
    world_free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_host_both_families, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slaac_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ptr6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sources, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forward_ipv6_upstream, setup, teardown),
        cmocka_unit_test(test_host_only_and_isolated),
        cmocka_unit_test(test_ipv6_off),
        cmocka_unit_test(test_dhcp6_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
