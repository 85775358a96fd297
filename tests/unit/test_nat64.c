/* Unit tests of NAT64 (issue 11 item 10): the RFC 6052 address mapping
 * (pkt/nat64.c: every prefix length of the RFC's table, addresses that are
 * not of the mapping, prefixes the config refuses), the config keys
 * (nat64, nat64.prefix, subnet: none: defaults, every refusal with its line,
 * --print-config read back), and the data path through the real gateway
 * and NAT with a fake clock and the NAT's socket seam: an IPv6 guest's UDP
 * to PREFIX::a.b.c.d opens an IPv4 socket to a.b.c.d and the reply comes
 * back from PREFIX::a.b.c.d with a valid checksum; the IPv4 gateway maps to
 * 127.0.0.1 as over IPv4 while 127/8, the guests' own subnet, multicast and
 * broadcast are refused with ICMPv6 administratively prohibited; a closed
 * port becomes ICMPv6 port unreachable; TCP opens an IPv4 connection and
 * answers the guest from the IPv6 address; ICMPv6 echo to the gateway's
 * embedded address is answered through an IPv4 ping of the host's
 * loopback; on an IPv6-only network (subnet: none) 64:ff9b::/96's 0.0.0.0
 * is not the host's loopback and IPv4/ARP frames are ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "gw/gateway.h"
#include "harness.h"
#include "nat/nat.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "pkt/nat64.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    if (vn_addr_parse(s, &a) || a.family != AF_INET6)
        fail_msg("bad test address %s", s);
    return a;
}

/* ---- the address mapping ---- */

static void test_rfc6052_table(void **state)
{
    (void)state;
    /* RFC 6052 2.4: 192.0.2.33 in each prefix length. */
    static const struct {
        const char *prefix;
        unsigned len;
        const char *addr;
    } t[] = {
        { "2001:db8::", 32, "2001:db8:c000:221::" },
        { "2001:db8:100::", 40, "2001:db8:1c0:2:21::" },
        { "2001:db8:122::", 48, "2001:db8:122:c000:2:2100::" },
        { "2001:db8:122:300::", 56, "2001:db8:122:3c0:0:221::" },
        { "2001:db8:122:344::", 64, "2001:db8:122:344:c0:2:2100:0" },
        { "2001:db8:122:344::", 96, "2001:db8:122:344::c000:221" },
        { "64:ff9b::", 96, "64:ff9b::c000:221" },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct vn_addr p = a6(t[i].prefix), want = a6(t[i].addr);
        assert_null(vn_nat64_prefix_check(&p, t[i].len));
        struct vn_addr got = vn_nat64_embed(&p, t[i].len, IP(192, 0, 2, 33));
        char g[VN_ADDR_STRLEN];
        if (!vn_addr_eq(&got, &want))
            fail_msg("/%u: embedded %s, expected %s", t[i].len, vn_addr_str(&got, g, sizeof g),
                     t[i].addr);
        uint32_t v4 = 0;
        assert_true(vn_nat64_extract(&p, t[i].len, &want, &v4));
        assert_int_equal(v4, IP(192, 0, 2, 33));
    }
    struct vn_addr wkp = vn_nat64_wkp(), x = a6("64:ff9b::");
    assert_true(vn_addr_eq(&wkp, &x));
}

static void test_not_of_the_mapping(void **state)
{
    (void)state;
    uint32_t v4;
    struct vn_addr p64 = a6("2001:db8:122:344::"), p96 = a6("64:ff9b::");
    /* The u octet (bits 64-71) or the suffix set: not an address of the mapping. */
    struct vn_addr u = a6("2001:db8:122:344:1c0:2:2100:0"), sfx = a6("2001:db8:122:344:c0:2:2100:1");
    assert_false(vn_nat64_extract(&p64, 64, &u, &v4));
    assert_false(vn_nat64_extract(&p64, 64, &sfx, &v4));
    /* Outside the prefix, another family, a length RFC 6052 does not allow. */
    struct vn_addr out = a6("64:ff9c::1"), in = a6("64:ff9b::102:304");
    assert_false(vn_nat64_extract(&p96, 96, &out, &v4));
    assert_false(vn_nat64_extract(&p96, 80, &in, &v4));
    struct vn_addr v4a = vn_addr4(IP(1, 2, 3, 4));
    assert_false(vn_nat64_extract(&p96, 96, &v4a, &v4));
    assert_true(vn_nat64_extract(&p96, 96, &in, &v4));
    assert_int_equal(v4, IP(1, 2, 3, 4));
    /* Prefixes the config refuses, and why. */
    static const struct {
        const char *p;
        unsigned len;
        const char *why;
    } bad[] = {
        { "64:ff9b::", 80, "length" },       { "64:ff9b::1:0", 96, "bits set after" },
        { "2001:db8::ff00:0:0:0", 96, "bits 64-71" }, { "::", 96, "::/80" },
        { "::ffff:0:0", 96, "::/80" },        { "::", 32, "::/80" },         { "fe80::", 64, "link-local" },
        { "ff0e::", 96, "multicast" },
    };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct vn_addr p = a6(bad[i].p);
        const char *why = vn_nat64_prefix_check(&p, bad[i].len);
        if (!why || !strstr(why, bad[i].why))
            fail_msg("%s/%u: '%s', expected '%s'", bad[i].p, bad[i].len, why ? why : "(ok)",
                     bad[i].why);
    }
    struct vn_addr v4p = vn_addr4(0x0a000000);
    assert_non_null(vn_nat64_prefix_check(&v4p, 32));
}

/* ---- the config keys ---- */

static struct vn_conf_err cerr;

static int load(const char *text, struct vn_config **out)
{
    struct vn_config *c = vn_conf_new();
    memset(&cerr, 0, sizeof cerr);
    int rc = vn_conf_load_yaml_string(c, "t.yaml", text, strlen(text), &cerr);
    if (!rc)
        rc = vn_conf_validate(c, &cerr);
    if (out && !rc)
        *out = c;
    else
        vn_conf_free(c);
    return rc;
}

static void expect_error(const char *text, int line, const char *what)
{
    if (!load(text, NULL))
        fail_msg("accepted, expected an error about '%s':\n%s", what, text);
    char where[32];
    snprintf(where, sizeof where, "t.yaml:%d: ", line);
    if (strncmp(cerr.msg, where, strlen(where)) || !strstr(cerr.msg, what))
        fail_msg("error '%s', expected '%s...%s'", cerr.msg, where, what);
}

/* Print c, load the text back and print again: both prints are the same. */
static void roundtrip(struct vn_config *c)
{
    char *t1 = NULL, *t2 = NULL;
    size_t n1, n2;
    FILE *f = open_memstream(&t1, &n1);
    vn_conf_print(c, f);
    fclose(f);
    struct vn_config *c2;
    if (load(t1, &c2))
        fail_msg("printed config rejected: %s\n%s", cerr.msg, t1);
    f = open_memstream(&t2, &n2);
    vn_conf_print(c2, f);
    fclose(f);
    assert_string_equal(t1, t2);
    vn_conf_free(c2);
    free(t1);
    free(t2);
}

static void test_config_keys(void **state)
{
    (void)state;
    struct vn_config *c;
    /* Off by default; nat64: true takes the Well-Known Prefix. */
    if (load("networks:\n  - {name: a}\n  - {name: b, nat64: true}\n", &c))
        fail_msg("%s", cerr.msg);
    assert_false(c->nets[0].nat64);
    const struct vn_net_conf *b = &c->nets[1];
    struct vn_addr wkp = vn_nat64_wkp();
    assert_true(b->nat64);
    assert_true(vn_addr_eq(&b->nat64_prefix, &wkp));
    assert_int_equal(b->nat64_prefix_len, 96);
    assert_false(b->ipv4_none);
    assert_int_equal(b->gateway, IP(10, 0, 2, 2));
    roundtrip(c);
    vn_conf_free(c);
    /* A prefix of its own turns it on; subnet: none makes an IPv6-only network. */
    if (load("networks:\n"
             "  - name: v6\n"
             "    subnet: none\n"
             "    subnet6: fd00:6::/64\n"
             "    nat64: {prefix: '2001:db8:64::/48'}\n"
             "    forwards: [{proto: tcp, host: 2222, guest: '[fd00:6::15]:22'}]\n",
             &c))
        fail_msg("%s", cerr.msg);
    const struct vn_net_conf *v = &c->nets[0];
    struct vn_addr p = a6("2001:db8:64::");
    assert_true(v->nat64 && v->ipv4_none && v->ipv6 && v->dns);
    assert_true(vn_addr_eq(&v->nat64_prefix, &p));
    assert_int_equal(v->nat64_prefix_len, 48);
    assert_false(v->dhcp);
    assert_int_equal(v->gateway, 0);
    assert_int_equal(v->dns_addr, 0);
    assert_int_equal(v->prefix, 0);
    assert_string_equal(v->domain, "vnet.internal");
    roundtrip(c);
    char *t = NULL;
    size_t n;
    FILE *f = open_memstream(&t, &n);
    vn_conf_print(c, f);
    fclose(f);
    assert_non_null(strstr(t, "subnet: none\n"));
    assert_non_null(strstr(t, "prefix: \"2001:db8:64::/48\"\n"));
    assert_null(strstr(t, "gateway: 0.0.0.0"));
    assert_null(strstr(t, "dhcp.range"));
    free(t);
    vn_conf_free(c);
    /* The same from the command line's dotted keys. */
    c = vn_conf_new();
    struct vn_net_conf *nn = vn_conf_add_net(c, (struct vn_conf_src){ 0 }, &cerr);
    assert_non_null(nn);
    assert_int_equal(vn_conf_net_set(nn, "name", "x", (struct vn_conf_src){ 0 }, &cerr), 0);
    assert_int_equal(vn_conf_net_set(nn, "nat64.prefix", "64:ff9b:1::/96", (struct vn_conf_src){ 0 },
                                     &cerr), 0);
    assert_int_equal(vn_conf_validate(c, &cerr), 0);
    assert_true(nn->nat64);
    vn_conf_free(c);
}

static void test_config_refusals(void **state)
{
    (void)state;
    expect_error("networks:\n  - name: a\n    mode: host-only\n    nat64: true\n", 2,
                 "nat64 needs a nat network");
    expect_error("networks:\n  - name: a\n    mode: isolated\n    subnet: 10.1.0.0/24\n"
                 "    nat64: true\n", 2, "nat64 needs a nat network");
    expect_error("networks:\n  - name: a\n    ipv6: false\n    nat64: true\n", 2,
                 "nat64 needs IPv6");
    expect_error("networks:\n  - name: a\n    nat64: {prefix: '64:ff9b::/80'}\n", 3,
                 "nat64.prefix: '64:ff9b::/80' has a length RFC 6052 does not allow");
    expect_error("networks:\n  - name: a\n    nat64: {prefix: '64:ff9b::1/96'}\n", 3,
                 "has bits set after the prefix length");
    expect_error("networks:\n  - name: a\n    nat64: {prefix: '::ffff:0:0/96'}\n", 3, "::/80");
    expect_error("networks:\n  - name: a\n    nat64: {prefix: 10.0.0.0/8}\n", 3,
                 "is not an IPv6 prefix");
    expect_error("networks:\n  - name: a\n    nat64: {prefix: '64:ff9b::'}\n", 3,
                 "is not an IPv6 prefix like");
    expect_error("networks:\n  - name: a\n    subnet6: fd00:1:2:3::/64\n"
                 "    nat64: {prefix: 'fd00:1:2:3::/96'}\n", 2, "overlaps subnet6");
    expect_error("networks:\n  - name: a\n    subnet6: fd00:1:2:3::/64\n"
                 "    nat64: {prefix: 'fd00:1::/32'}\n", 2, "overlaps subnet6");
    expect_error("networks:\n  - name: a\n    nat64: maybe\n", 3, "nat64");
    /* subnet: none */
    expect_error("networks:\n  - name: a\n    mode: host-only\n    subnet: none\n", 2,
                 "subnet: none (an IPv6-only network) is supported on nat networks only");
    expect_error("networks:\n  - name: a\n    mode: isolated\n    subnet: none\n", 2,
                 "nat networks only");
    expect_error("networks:\n  - name: a\n    subnet: none\n    gateway: 10.0.2.2\n", 2,
                 "subnet: none leaves no IPv4");
    expect_error("networks:\n  - name: a\n    subnet: none\n    dhcp: {range: 10.0.2.5-10.0.2.9}\n",
                 2, "subnet: none leaves no IPv4");
    expect_error("networks:\n  - name: a\n    subnet: none\n    dhcp: true\n", 2,
                 "has no DHCPv4");
    expect_error("networks:\n  - name: a\n    subnet: none\n    ipv6: false\n", 2,
                 "subnet: none needs IPv6");
    expect_error("networks:\n  - name: a\n    subnet: none\n"
                 "    forwards: [{proto: tcp, host: 2222, guest: 22}]\n", 4,
                 "the guest must be an IPv6 address");
    expect_error("networks:\n  - name: a\n    subnet: nowhere\n", 3, "is not an IPv4 prefix");
}

/* ---- the data path ---- */

#define PREFIX6 "fd00:1:2:3::"
static const char CONF[] = "networks:\n"
                           "  - name: lan\n"
                           "    mode: nat\n"
                           "    subnet6: " PREFIX6 "/64\n"
                           "    dns: false\n"
                           "    dhcp: false\n"
                           "    nat64: true\n"
                           "    nat: {max_flows: 16, max_flows_per_guest: 8}\n"
                           "ports:\n"
                           "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

static const char CONF_V6ONLY[] = "networks:\n"
                                  "  - name: lan\n"
                                  "    mode: nat\n"
                                  "    subnet: none\n"
                                  "    subnet6: " PREFIX6 "/64\n"
                                  "    dns: false\n"
                                  "    nat64: true\n"
                                  "ports:\n"
                                  "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

static const uint8_t GMAC[6] = { 0x52, 0x54, 0, 0, 0, 1 };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_port *guest;
    struct vn_gw *gw;
    struct vn_nat *nat;
    struct harness_rec rec;
    int remote;                   /* the test's UDP socket standing in for every remote */
    int listener;                 /* ... and its TCP listener */
    struct sockaddr_in rsa, tsa, closed_sa;
    bool refuse;                  /* connect to closed_sa instead */
    unsigned nconnect;
    struct sockaddr_storage last_dst; /* where the NAT meant to go */
    socklen_t last_len;
    struct vn_addr g6;            /* the guest's IPv6 address */
};

static uint64_t fake_ns;
static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ns;
}

static int fake_socket(void *ctx, int domain, int type, int protocol)
{
    (void)ctx;
    return socket(domain, type, protocol);
}

static int fake_connect(void *ctx, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct world *w = ctx;
    int type = 0;
    socklen_t tl = sizeof type;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
    w->nconnect++;
    memcpy(&w->last_dst, sa, len);
    w->last_len = len;
    const struct sockaddr_in *to = w->refuse ? &w->closed_sa : type == SOCK_STREAM ? &w->tsa
                                                                                   : &w->rsa;
    if (sa->sa_family != AF_INET) /* only IPv4 sockets are redirected */
        return connect(fd, sa, len);
    return connect(fd, (const struct sockaddr *)to, sizeof *to);
}

static struct world *world_new(const char *conf)
{
    struct world *w = calloc(1, sizeof *w);
    char err[256];
    w->c = harness_config(conf);
    w->loop = vn_loop_new();
    fake_ns = 1000ull * 1000000000ull;
    vn_loop_set_clock(w->loop, fake_clock, NULL);
    w->sw = vn_switch_new(w->loop);
    struct vn_network *n = harness_network(w->sw, &w->c->nets[0]);
    w->guest = harness_port(w->sw, &w->c->ports[0], &w->rec);
    if (!(w->gw = vn_gw_new(w->sw, n, NULL, err, sizeof err)) ||
        vn_nat_attach(w->gw, err, sizeof err) || !w->gw->nat)
        fail_msg("%s", err);
    w->nat = w->gw->nat;
    vn_nat_set_sock_ops(w->nat, &(struct vn_nat_sock_ops){ fake_socket, fake_connect, w });
    w->g6 = a6(PREFIX6 "15");
    socklen_t sl = sizeof w->rsa;
    w->remote = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    w->rsa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(w->remote, (struct sockaddr *)&w->rsa, sl) ||
        getsockname(w->remote, (struct sockaddr *)&w->rsa, &sl))
        fail_msg("remote: %s", strerror(errno));
    w->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    w->tsa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    sl = sizeof w->tsa;
    if (bind(w->listener, (struct sockaddr *)&w->tsa, sl) || listen(w->listener, 4) ||
        getsockname(w->listener, (struct sockaddr *)&w->tsa, &sl))
        fail_msg("listener: %s", strerror(errno));
    int tmp = socket(AF_INET, SOCK_DGRAM, 0);
    w->closed_sa = w->rsa;
    w->closed_sa.sin_port = 0;
    sl = sizeof w->closed_sa;
    bind(tmp, (struct sockaddr *)&w->closed_sa, sl);
    getsockname(tmp, (struct sockaddr *)&w->closed_sa, &sl);
    close(tmp); /* bound then closed: nothing listens there */
    return w;
}

static int setup(void **state)
{
    *state = world_new(CONF);
    return 0;
}

static int setup_v6only(void **state)
{
    *state = world_new(CONF_V6ONLY);
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    vn_gw_free(w->gw);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    close(w->remote);
    close(w->listener);
    free(w);
    return 0;
}

static void pump(struct world *w)
{
    for (int i = 0; i < 6; i++)
        vn_loop_once(w->loop, 2);
}

/* The IPv6 address of v4 in the network's NAT64 prefix. */
static struct vn_addr mapped(const struct world *w, uint32_t v4)
{
    return vn_nat64_embed(&w->c->nets[0].nat64_prefix, w->c->nets[0].nat64_prefix_len, v4);
}

/* The guest sends an IPv6 packet of proto to dst: l4 (l4len bytes, its
 * checksum at csum_off filled in). */
static void guest_ip6(struct world *w, const struct vn_addr *dst, uint8_t proto, const uint8_t *l4,
                      size_t l4len, size_t csum_off)
{
    uint8_t f[1600];
    uint8_t *p = harness_ip6(f, w->gw->mac, GMAC, w->g6.a, dst->a, proto, 64, NULL, 0, l4len);
    memcpy(p, l4, l4len);
    harness_csum6(p, l4len, w->g6.a, dst->a, proto, csum_off);
    harness_input(w->sw, w->guest, f, 14 + 40 + l4len);
    pump(w);
}

static void guest_udp6(struct world *w, const struct vn_addr *dst, uint16_t gport, uint16_t rport,
                       const char *data)
{
    uint8_t u[256];
    size_t dl = strlen(data), ul = 8 + dl;
    vn_put_be16(u, gport);
    vn_put_be16(u + 2, rport);
    vn_put_be16(u + 4, (uint16_t)ul);
    vn_put_be16(u + 6, 0);
    memcpy(u + 8, data, dl);
    guest_ip6(w, dst, VN_IPPROTO_UDP, u, ul, 6);
}

/* The first IPv6 packet the guest got (fills ip); its protocol, or -1. */
static int first_ip6(struct world *w, struct vn_ip6 *ip)
{
    for (unsigned i = 0; i < w->rec.n; i++) {
        const uint8_t *f = w->rec.f[i];
        if (memcmp(f, GMAC, 6) || vn_get_be16(f + 12) != VN_ETH_TYPE_IPV6)
            continue;
        assert_int_equal(vn_ip6_parse(f + 14, w->rec.len[i] - 14, ip), VN_IP_OK);
        return ip->proto;
    }
    return -1;
}

/* The upper-layer checksum of ip verifies. */
static void assert_csum6(const struct vn_ip6 *ip)
{
    struct vn_addr s = { .family = AF_INET6 }, d = { .family = AF_INET6 };
    memcpy(s.a, ip->src, 16);
    memcpy(d.a, ip->dst, 16);
    uint32_t ps = vn_csum_pseudo(&s, &d, ip->proto, ip->l4_len);
    assert_int_equal(vn_csum_fold(vn_csum_add(ps, ip->l4, ip->l4_len)), 0);
}

static json_int_t stat(struct world *w, const char *key)
{
    json_t *o = vn_nat_stats_json(w->nat);
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("no NAT stat %s", key);
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

static uint32_t last_v4(const struct world *w)
{
    assert_int_equal(w->last_dst.ss_family, AF_INET);
    return ntohl(((const struct sockaddr_in *)&w->last_dst)->sin_addr.s_addr);
}

static void test_udp_round_trip(void **state)
{
    struct world *w = *state;
    struct vn_addr dst = mapped(w, IP(203, 0, 113, 10));
    char buf[64];
    struct sockaddr_in from;
    socklen_t fl = sizeof from;
    guest_udp6(w, &dst, 40000, 9999, "hello");
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(last_v4(w), IP(203, 0, 113, 10));
    assert_int_equal(ntohs(((struct sockaddr_in *)&w->last_dst)->sin_port), 9999);
    ssize_t n = recvfrom(w->remote, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
    assert_int_equal(n, 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(stat(w, "nat64_created"), 1);
    /* The reply comes back as IPv6 from the mapped address. */
    memset(&w->rec, 0, sizeof w->rec);
    assert_int_equal(sendto(w->remote, "world!", 6, 0, (struct sockaddr *)&from, fl), 6);
    pump(w);
    struct vn_ip6 ip;
    assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_UDP);
    assert_memory_equal(ip.src, dst.a, 16);
    assert_memory_equal(ip.dst, w->g6.a, 16);
    assert_csum6(&ip);
    struct vn_udp u;
    assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
    assert_int_equal(u.sport, 9999);
    assert_int_equal(u.dport, 40000);
    assert_memory_equal(u.data, "world!", 6);
    /* vnetctl flows names the IPv4 side. */
    json_t *fl_json = vn_nat_flows_json(w->nat);
    assert_int_equal(json_array_size(fl_json), 1);
    json_t *o = json_array_get(fl_json, 0);
    assert_string_equal(json_string_value(json_object_get(o, "nat64")), "203.0.113.10:9999");
    assert_string_equal(json_string_value(json_object_get(o, "remote")), "[64:ff9b::cb00:710a]:9999");
    json_decref(fl_json);
}

/* Each destination: where the host socket goes (0: refused, with ICMPv6
 * destination unreachable code 1, administratively prohibited). */
static void test_ipv4_rules(void **state)
{
    struct world *w = *state;
    static const struct {
        uint32_t v4, host;
    } t[] = {
        { IP(10, 0, 2, 2), IP(127, 0, 0, 1) }, /* the IPv4 gateway: the host's loopback */
        { IP(127, 0, 0, 1), 0 },               /* loopback: refused as over IPv4 */
        { IP(127, 1, 2, 3), 0 },
        { IP(10, 0, 2, 15), 0 },               /* the guests' own subnet */
        { IP(10, 0, 2, 3), 0 },                /* the DNS address (UDP) */
        { IP(0, 0, 0, 0), 0 },
        { IP(224, 0, 0, 1), 0 },               /* multicast */
        { IP(255, 255, 255, 255), 0 },         /* broadcast */
        { IP(240, 0, 0, 1), 0 },
        { IP(192, 168, 1, 1), IP(192, 168, 1, 1) }, /* private ranges: as over IPv4 */
        { IP(198, 51, 100, 7), IP(198, 51, 100, 7) },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct vn_addr dst = mapped(w, t[i].v4);
        unsigned before = w->nconnect;
        json_int_t refused = stat(w, "nat64_refused");
        memset(&w->rec, 0, sizeof w->rec);
        guest_udp6(w, &dst, (uint16_t)(41000 + i), 7, "x");
        struct vn_ip6 ip;
        if (t[i].host) {
            assert_int_equal(w->nconnect, before + 1);
            assert_int_equal(last_v4(w), t[i].host);
            continue;
        }
        if (w->nconnect != before)
            fail_msg("destination %u: connected, expected a refusal", i);
        assert_int_equal(stat(w, "nat64_refused"), refused + 1);
        assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_ICMPV6);
        assert_int_equal(ip.l4[0], 1); /* destination unreachable */
        assert_int_equal(ip.l4[1], 1); /* administratively prohibited */
        assert_memory_equal(ip.l4 + 8 + 24, dst.a, 16); /* quoting the guest's packet */
        assert_csum6(&ip);
    }
    /* map_host_loopback off: the gateway's embedded address is refused too. */
    ((struct vn_net_conf *)w->gw->conf)->map_host_loopback = false;
    struct vn_addr gw = mapped(w, IP(10, 0, 2, 2));
    unsigned before = w->nconnect;
    guest_udp6(w, &gw, 42000, 7, "x");
    assert_int_equal(w->nconnect, before);
}

static void test_closed_port_unreachable(void **state)
{
    struct world *w = *state;
    struct vn_addr dst = mapped(w, IP(203, 0, 113, 10));
    w->refuse = true;
    guest_udp6(w, &dst, 40001, 53, "q");
    guest_udp6(w, &dst, 40001, 53, "q2"); /* the refusal may come with either datagram */
    pump(w);
    struct vn_ip6 ip;
    assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_ICMPV6);
    assert_int_equal(ip.l4[0], 1); /* destination unreachable */
    assert_int_equal(ip.l4[1], 4); /* port unreachable (from the gateway, as for IPv6 NAT) */
    assert_memory_equal(ip.l4 + 8 + 24, dst.a, 16);
    assert_int_equal(vn_get_be16(ip.l4 + 8 + 40), 40001);
    assert_csum6(&ip);
}

static void test_tcp_syn(void **state)
{
    struct world *w = *state;
    struct vn_addr dst = mapped(w, IP(198, 51, 100, 80));
    uint8_t t[24] = { 0 };
    vn_put_be16(t, 45000);
    vn_put_be16(t + 2, 80);
    vn_put_be32(t + 4, 1000);
    t[12] = 6 << 4; /* 24 bytes: an MSS option */
    t[13] = VN_TCP_SYN;
    vn_put_be16(t + 14, 65535);
    t[20] = 2;
    t[21] = 4;
    vn_put_be16(t + 22, 1440);
    guest_ip6(w, &dst, VN_IPPROTO_TCP, t, sizeof t, 16);
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(last_v4(w), IP(198, 51, 100, 80));
    int c = -1;
    for (int i = 0; i < 20 && c < 0; i++) {
        c = accept(w->listener, NULL, NULL);
        pump(w);
    }
    assert_true(c >= 0);
    pump(w);
    struct vn_ip6 ip;
    assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_TCP);
    assert_memory_equal(ip.src, dst.a, 16);
    assert_csum6(&ip);
    struct vn_tcp tc;
    assert_int_equal(vn_tcp_parse(ip.l4, ip.l4_len, &tc), 0);
    assert_int_equal(tc.flags, VN_TCP_SYN | VN_TCP_ACK);
    assert_int_equal(tc.ack, 1001);
    assert_int_equal(tc.sport, 80);
    close(c);
    /* A refused connection: an RST from the mapped address. */
    memset(&w->rec, 0, sizeof w->rec);
    w->refuse = true;
    vn_put_be16(t, 45001);
    guest_ip6(w, &dst, VN_IPPROTO_TCP, t, sizeof t, 16);
    for (int i = 0; i < 5; i++)
        pump(w);
    assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_TCP);
    assert_int_equal(vn_tcp_parse(ip.l4, ip.l4_len, &tc), 0);
    assert_true(tc.flags & VN_TCP_RST);
    assert_memory_equal(ip.src, dst.a, 16);
    assert_int_equal(stat(w, "nat64_created"), 2);
}

static void test_icmp_echo(void **state)
{
    struct world *w = *state;
    /* The IPv4 gateway's embedded address: an IPv4 ping of 127.0.0.1. */
    struct vn_addr dst = mapped(w, IP(10, 0, 2, 2));
    uint8_t e[8 + 16];
    e[0] = 128;
    e[1] = 0;
    vn_put_be16(e + 2, 0);
    vn_put_be16(e + 4, 0x4242);
    vn_put_be16(e + 6, 7);
    memcpy(e + 8, "0123456789abcdef", 16);
    guest_ip6(w, &dst, VN_IPPROTO_ICMPV6, e, sizeof e, 2);
    struct vn_ip6 ip;
    int got = -1;
    for (int i = 0; i < 50 && got < 0; i++) {
        pump(w);
        got = first_ip6(w, &ip);
    }
    if (got < 0 && stat(w, "icmp_send_errors"))
        skip(); /* neither ping sockets nor raw ones here */
    assert_int_equal(got, VN_IPPROTO_ICMPV6);
    assert_int_equal(ip.l4[0], 129); /* echo reply */
    assert_int_equal(vn_get_be16(ip.l4 + 4), 0x4242);
    assert_int_equal(vn_get_be16(ip.l4 + 6), 7);
    assert_memory_equal(ip.l4 + 8, "0123456789abcdef", 16);
    assert_memory_equal(ip.src, dst.a, 16);
    assert_csum6(&ip);
    json_t *fl = vn_nat_flows_json(w->nat);
    json_t *o = json_array_get(fl, 0);
    assert_string_equal(json_string_value(json_object_get(o, "nat64")), "127.0.0.1");
    json_decref(fl);
    /* 127.0.0.1 embedded: refused, no ping. */
    memset(&w->rec, 0, sizeof w->rec);
    struct vn_addr lo = mapped(w, IP(127, 0, 0, 1));
    guest_ip6(w, &lo, VN_IPPROTO_ICMPV6, e, sizeof e, 2);
    assert_int_equal(first_ip6(w, &ip), VN_IPPROTO_ICMPV6);
    assert_int_equal(ip.l4[0], 1);
    assert_int_equal(ip.l4[1], 1);
}

static void test_v6only(void **state)
{
    struct world *w = *state;
    assert_int_equal(w->gw->addr, 0);
    assert_null(w->gw->dhcp);
    /* 0.0.0.0 embedded is not the (absent) IPv4 gateway: refused, never loopback. */
    struct vn_addr zero = mapped(w, 0);
    guest_udp6(w, &zero, 40000, 7, "x");
    assert_int_equal(w->nconnect, 0);
    /* 10.0.2.2 is nobody special here: an ordinary IPv4 destination. */
    struct vn_addr ten = mapped(w, IP(10, 0, 2, 2));
    guest_udp6(w, &ten, 40001, 7, "x");
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(last_v4(w), IP(10, 0, 2, 2));
    /* IPv4 and ARP from guests are ignored and counted. */
    uint8_t f[64] = { 0 };
    uint8_t *u = harness_ip4(f, w->gw->mac, GMAC, IP(10, 0, 2, 15), IP(10, 0, 2, 2),
                             VN_IPPROTO_UDP, 64, 8);
    vn_put_be16(u, 1000);
    vn_put_be16(u + 2, 7);
    vn_put_be16(u + 4, 8);
    memset(&w->rec, 0, sizeof w->rec);
    harness_input(w->sw, w->guest, f, 14 + 28);
    uint8_t arp[42] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06,
                        0, 1, 0x08, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0, 0, 1, 0, 0, 0, 0,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }; /* who has 0.0.0.0, tell 0.0.0.0 */
    harness_input(w->sw, w->guest, arp, sizeof arp);
    pump(w);
    assert_int_equal(w->gw->stats.ip4_ignored, 2);
    for (unsigned i = 0; i < w->rec.n; i++)
        assert_int_not_equal(vn_get_be16(w->rec.f[i] + 12), VN_ETH_TYPE_ARP);
    json_t *o = vn_gw_json(w->gw);
    assert_true(json_is_null(json_object_get(o, "address")));
    assert_string_equal(json_string_value(json_object_get(o, "nat64_prefix")), "64:ff9b::/96");
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6052_table),
        cmocka_unit_test(test_not_of_the_mapping),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_config_refusals),
        cmocka_unit_test_setup_teardown(test_udp_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv4_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tcp_syn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_icmp_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_v6only, setup_v6only, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
