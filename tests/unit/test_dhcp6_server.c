/* Unit tests of the DHCPv6 server (src/gw/dhcp6.c) through the real data
 * path: client messages built here enter the switch from a recording guest
 * port (Ethernet to 33:33:00:01:00:02, IPv6 from the client's link-local
 * address to ff02::1:2, UDP 546 -> 547), pass the gateway's egress table
 * and reach the server; replies are read back from the guest port and
 * checked down to the UDP checksum. A fake wall clock
 * (vn_dhcp6_set_clock) ages leases. Covers stateless Information-request
 * (and NoAddrsAvail to Solicit/Request), the stateful Solicit/Advertise/
 * Request/Reply exchange with its options and lifetimes (dhcp6.lease_time
 * apart from dhcp.lease_time), Rapid Commit,
 * Renew and Rebind (NoBinding, lifetimes 0 off the link, a binding
 * restored), Release, Decline and its quarantine, Confirm, reservations by
 * MAC (of the DUID or the frame) and by DUID, a name-only reservation,
 * leases kept across a restart (the file, expired entries dropped, a
 * corrupt file set aside), pool exhaustion refusing new clients without
 * disturbing bound ones, offers that do not hold the pool against a flood
 * of Solicits, server identifiers and message validation, the limit of IAs
 * per message, IA_PD and IA_TA answered NoPrefixAvail/NoAddrsAvail (and
 * NoBinding in a Release) beside the IA_NAs served in either mode, and the
 * largest reply a message can get (reassembled from its fragments) whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "core/util.h"
#include "gw/dhcp6.h"
#include "gw/dhcp6_msg.h"
#include "gw/gateway.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "switch/binding.h"
#include "switch/switch.h"

#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PREFIX "fd00:1:2:3::"
#define LEASE 600

static const char CONF_STATEFUL[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    subnet6: " PREFIX "/64\n"
    "    dhcp: {lease_time: 600}\n"
    "    dhcp6: {mode: stateful}\n"
    "    dns: {domain: lab.test, address: 10.0.2.3}\n"
    "ports:\n"
    "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

static const char CONF_STATELESS[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    subnet6: " PREFIX "/64\n"
    "    dns: {domain: lab.test, address: 10.0.2.3}\n"
    "ports:\n"
    "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

/* The DUID of the reservation by DUID (a DUID-EN). */
static const uint8_t RES_DUID[12] = { 0, 2, 0, 0, 0x7f, 0xff, 'r', 'e', 's', 'v', 'd', 1 };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_network *net;
    struct vn_port *guest;
    struct vn_gw *gw;
    struct vn_dhcp6 *d;
    struct harness_rec rec;
    char dir[64];       /* state directory ("" = none) */
};

static int64_t fake_now;
static int64_t fake_clock(void) { return fake_now; }

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    if (vn_addr_parse(s, &a) || a.family != AF_INET6)
        fail_msg("bad address %s", s);
    return a;
}

static void mac_of(uint8_t mac[6], uint8_t last)
{
    const uint8_t m[6] = { 0x52, 0x54, 0, 0, 0, last };
    memcpy(mac, m, 6);
}

/* The pool ::100-::107 with ::101 reserved (MAC ..:dd): 7 dynamic
 * addresses. Reservations: ..:cc -> ::50 "inmac", RES_DUID -> ::51
 * "induid", ..:bb by name only "named". */
static uint16_t pool_last = 0x107; /* setup_largest widens the pool */

static void configure(struct vn_net_conf *n)
{
    n->dhcp6_start = a6(PREFIX "100");
    n->dhcp6_end = a6(PREFIX "107");
    n->dhcp6_end.a[15] = (uint8_t)pool_last;
    n->nhosts6 = 4;
    struct vn_dhcp6_host *h = n->hosts6;
    memset(h, 0, 4 * sizeof *h);
    mac_of(h[0].mac, 0xcc), h[0].has_mac = true, h[0].ip = a6(PREFIX "50");
    strcpy(h[0].name, "inmac");
    memcpy(h[1].duid, RES_DUID, sizeof RES_DUID), h[1].duid_len = sizeof RES_DUID;
    h[1].ip = a6(PREFIX "51");
    strcpy(h[1].name, "induid");
    mac_of(h[2].mac, 0xbb), h[2].has_mac = true;
    strcpy(h[2].name, "named");
    mac_of(h[3].mac, 0xdd), h[3].has_mac = true, h[3].ip = a6(PREFIX "101");
}

static void gw_up(struct world *w)
{
    char err[256];
    if (!(w->gw = vn_gw_new(w->sw, w->net, w->dir[0] ? w->dir : NULL, err, sizeof err)))
        fail_msg("%s", err);
    w->d = w->gw->dhcp6;
    assert_non_null(w->d);
    vn_dhcp6_set_clock(w->d, fake_clock);
}

static struct world *world_new(const char *yaml, bool with_dir)
{
    struct world *w = calloc(1, sizeof *w);
    w->c = harness_config(yaml);
    if (w->c->nets[0].dhcp6_mode == VN_DHCP6_STATEFUL)
        configure(&w->c->nets[0]);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    w->net = harness_network(w->sw, &w->c->nets[0]);
    w->guest = harness_port(w->sw, &w->c->ports[0], &w->rec);
    if (with_dir) {
        strcpy(w->dir, "/tmp/vnet-dhcp6-XXXXXX");
        assert_non_null(mkdtemp(w->dir));
    }
    fake_now = vn_wall_s(); /* lease files are loaded against the real clock */
    gw_up(w);
    return w;
}

static void rm_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return;
    struct dirent *de;
    char p[512];
    while ((de = readdir(dp)))
        if (de->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    closedir(dp);
    rmdir(dir);
}

static void world_free(struct world *w)
{
    vn_gw_free(w->gw);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    if (w->dir[0])
        rm_dir(w->dir);
    free(w);
}

static int setup_stateful(void **state)
{
    *state = world_new(CONF_STATEFUL, false);
    return 0;
}

/* The stateful network with dhcp6.lease_time 20 beside dhcp.lease_time 600. */
static int setup_short_lease(void **state)
{
    static char conf[sizeof CONF_STATEFUL + 64];
    char *at = strstr(CONF_STATEFUL, "dhcp6: {mode: stateful}");
    snprintf(conf, sizeof conf, "%.*sdhcp6: {mode: stateful, lease_time: 20}%s",
             (int)(at - CONF_STATEFUL), CONF_STATEFUL, at + strlen("dhcp6: {mode: stateful}"));
    *state = world_new(conf, false);
    return 0;
}

static int setup_stateful_dir(void **state)
{
    *state = world_new(CONF_STATEFUL, true);
    return 0;
}

/* The longest domain there may be (63 characters: a 65-byte search list)
 * and a pool of 15 dynamic addresses (::100-::10f but ::101). */
#define LONG_DOMAIN "largest-reply-test.abcdefghijklmnopqrstuvwxyz012345.example.net"

static int setup_largest(void **state)
{
    static char conf[1024];
    const char *from = "domain: lab.test";
    char *at = strstr(CONF_STATEFUL, from);
    snprintf(conf, sizeof conf, "%.*sdomain: " LONG_DOMAIN "%s", (int)(at - CONF_STATEFUL),
             CONF_STATEFUL, at + strlen(from));
    pool_last = 0x10f;
    *state = world_new(conf, false);
    pool_last = 0x107;
    return 0;
}

static int setup_stateless(void **state)
{
    *state = world_new(CONF_STATELESS, false);
    return 0;
}

static int teardown(void **state)
{
    world_free(*state);
    return 0;
}

/* ---- client side ---- */

#define NO_ADDR 0xffff

struct msg {
    uint8_t type;
    uint8_t last;               /* MAC 52:54:00:00:00:last */
    const uint8_t *duid;        /* NULL: DUID-LL of the MAC */
    size_t duid_len;
    bool no_clientid;
    bool our_server;            /* SERVERID of the gateway */
    bool other_server;          /* SERVERID of another server */
    unsigned nia;               /* IA_NAs: iaid[i], with address addr[i] unless NO_ADDR */
    uint32_t iaid[12];
    uint16_t addr[12];          /* PREFIX + this (hex), or NO_ADDR */
    const char *addr_text[12];  /* or a full address */
    uint8_t more[12];           /* and this many addresses after it (up to 3) */
    unsigned nother;            /* then IA_PDs/IA_TAs: kind other_code[i], other_iaid[i] */
    uint16_t other_code[12];
    uint32_t other_iaid[12];
    bool pd_hint;               /* IA_PDs carry an IAPREFIX ::/56 hint */
    bool rapid;
    const char *src;            /* IPv6 source; NULL: link-local of the MAC */
};

/* The gateway's server identifier: DUID-LL of its MAC. */
static size_t server_duid(const struct world *w, uint8_t out[10])
{
    const uint8_t h[4] = { 0, 3, 0, 1 };
    memcpy(out, h, 4);
    memcpy(out + 4, w->gw->mac, 6);
    return 10;
}

static uint8_t *put_opt(uint8_t *o, uint16_t code, const void *v, size_t len)
{
    vn_put_be16(o, code);
    vn_put_be16(o + 2, (uint16_t)len);
    if (len)
        memcpy(o + 4, v, len);
    return o + 4 + len;
}

static struct vn_addr client_ll(uint8_t last)
{
    char s[64];
    snprintf(s, sizeof s, "fe80::5054:ff:fe00:%x", last);
    return a6(s);
}

/* Build the client's message into payload; returns its length. */
static size_t build_payload(const struct world *w, uint8_t *b, const struct msg *m)
{
    uint8_t mac[6];
    mac_of(mac, m->last);
    b[0] = m->type;
    b[1] = 0x12, b[2] = 0x34, b[3] = m->last;
    uint8_t *o = b + 4;
    if (!m->no_clientid) {
        uint8_t ll[10] = { 0, 3, 0, 1 };
        memcpy(ll + 4, mac, 6);
        o = m->duid ? put_opt(o, VN_D6O_CLIENTID, m->duid, m->duid_len)
                    : put_opt(o, VN_D6O_CLIENTID, ll, sizeof ll);
    }
    if (m->our_server || m->other_server) {
        uint8_t s[10];
        server_duid(w, s);
        if (m->other_server)
            s[9] ^= 0x55;
        o = put_opt(o, VN_D6O_SERVERID, s, sizeof s);
    }
    const uint8_t el[2] = { 0, 0 };
    o = put_opt(o, VN_D6O_ELAPSED_TIME, el, 2);
    const uint8_t oro[4] = { 0, VN_D6O_DNS_SERVERS, 0, VN_D6O_DOMAIN_LIST };
    o = put_opt(o, VN_D6O_ORO, oro, 4);
    if (m->rapid)
        o = put_opt(o, VN_D6O_RAPID_COMMIT, NULL, 0);
    for (unsigned i = 0; i < m->nia; i++) {
        uint8_t ia[12 + 4 * 28] = { 0 };
        vn_put_be32(ia, m->iaid[i]);
        size_t len = 12;
        if (m->addr_text[i] || m->addr[i] != NO_ADDR) {
            struct vn_addr x = a6(PREFIX);
            if (m->addr_text[i]) {
                x = a6(m->addr_text[i]);
            } else {
                x.a[14] = (uint8_t)(m->addr[i] >> 8);
                x.a[15] = (uint8_t)m->addr[i];
            }
            for (unsigned k = 0; k <= m->more[i] && k < 4; k++) {
                uint8_t *a = ia + len;
                vn_put_be16(a, VN_D6O_IAADDR);
                vn_put_be16(a + 2, 24);
                memcpy(a + 4, x.a, 16);
                a[4 + 15] = (uint8_t)(a[4 + 15] + k);
                len += 28;
            }
        }
        o = put_opt(o, VN_D6O_IA_NA, ia, len);
    }
    for (unsigned i = 0; i < m->nother; i++) {
        uint8_t ia[12 + 29] = { 0 };
        vn_put_be32(ia, m->other_iaid[i]);
        size_t len = m->other_code[i] == VN_D6O_IA_TA ? 4 : 12;
        if (m->pd_hint && m->other_code[i] == VN_D6O_IA_PD) {
            vn_put_be16(ia + 12, VN_D6O_IAPREFIX); /* lifetimes 0, /56, :: */
            vn_put_be16(ia + 14, 25);
            ia[12 + 4 + 8] = 56;
            len += 29;
        }
        o = put_opt(o, m->other_code[i], ia, len);
    }
    return (size_t)(o - b);
}

/* What the server answered, if anything. */
struct reply {
    bool got;
    uint8_t type;
    uint8_t p[4096];
    size_t len;
};

/* Option code at top level of r (or inside [p, p+len)), or NULL. */
static const uint8_t *find_opt(const uint8_t *p, size_t len, uint16_t code, size_t *olen)
{
    for (size_t i = 0; i + 4 <= len;) {
        uint16_t c = vn_get_be16(p + i), l = vn_get_be16(p + i + 2);
        assert_true(i + 4 + l <= len);
        if (c == code) {
            *olen = l;
            return p + i + 4;
        }
        i += 4u + l;
    }
    return NULL;
}

static const uint8_t *ropt(const struct reply *r, uint16_t code, size_t *olen)
{
    return find_opt(r->p + 4, r->len - 4, code, olen);
}

static bool has_ropt(const struct reply *r, uint16_t code)
{
    size_t l;
    return ropt(r, code, &l) != NULL;
}

/* The status code in [p, p+len), or -1 when there is none. */
static int status_in(const uint8_t *p, size_t len)
{
    size_t l;
    const uint8_t *s = find_opt(p, len, VN_D6O_STATUS_CODE, &l);
    if (!s)
        return -1;
    assert_true(l >= 2);
    return vn_get_be16(s);
}

static int top_status(const struct reply *r) { return status_in(r->p + 4, r->len - 4); }

/* An IA_NA of the reply, read. */
struct ia {
    bool found;
    uint32_t t1, t2;
    int status;
    unsigned naddr;
    struct vn_addr addr[5];
    uint32_t preferred[5], valid[5];
};

static struct ia get_ia(const struct reply *r, uint32_t iaid)
{
    struct ia ia = { .status = -1 };
    const uint8_t *p = r->p + 4;
    size_t len = r->len - 4;
    for (size_t i = 0; i + 4 <= len;) {
        uint16_t c = vn_get_be16(p + i), l = vn_get_be16(p + i + 2);
        const uint8_t *v = p + i + 4;
        i += 4u + l;
        if (c != VN_D6O_IA_NA || vn_get_be32(v) != iaid)
            continue;
        assert_false(ia.found); /* one IA per IAID */
        assert_true(l >= 12);
        ia.found = true;
        ia.t1 = vn_get_be32(v + 4);
        ia.t2 = vn_get_be32(v + 8);
        ia.status = status_in(v + 12, l - 12u);
        for (size_t k = 12; k + 4 <= l;) {
            uint16_t c2 = vn_get_be16(v + k), l2 = vn_get_be16(v + k + 2);
            if (c2 == VN_D6O_IAADDR) {
                assert_true(l2 >= 24);
                assert_true(ia.naddr < 5);
                ia.addr[ia.naddr] = (struct vn_addr){ .family = AF_INET6 };
                memcpy(ia.addr[ia.naddr].a, v + k + 4, 16);
                ia.preferred[ia.naddr] = vn_get_be32(v + k + 20);
                ia.valid[ia.naddr] = vn_get_be32(v + k + 24);
                ia.naddr++;
            }
            k += 4u + l2;
        }
    }
    return ia;
}

/* An IA_PD or IA_TA of the reply, read: its status and how many options
 * other than the status it holds. */
struct other {
    bool found;
    uint32_t t1, t2;
    int status;
    unsigned nopt;
};

static struct other get_other(const struct reply *r, uint16_t code, uint32_t iaid)
{
    struct other x = { .status = -1 };
    const uint8_t *p = r->p + 4;
    size_t len = r->len - 4, fixed = code == VN_D6O_IA_TA ? 4 : 12;
    for (size_t i = 0; i + 4 <= len;) {
        uint16_t c = vn_get_be16(p + i), l = vn_get_be16(p + i + 2);
        const uint8_t *v = p + i + 4;
        i += 4u + l;
        if (c != code || vn_get_be32(v) != iaid)
            continue;
        assert_false(x.found);
        assert_true(l >= fixed);
        x.found = true;
        if (fixed == 12)
            x.t1 = vn_get_be32(v + 4), x.t2 = vn_get_be32(v + 8);
        x.status = status_in(v + fixed, l - fixed);
        for (size_t k = fixed; k + 4 <= l; k += 4u + vn_get_be16(v + k + 2))
            x.nopt += vn_get_be16(v + k) != VN_D6O_STATUS_CODE;
    }
    return x;
}

/* How many options of code r holds at its top level. */
static unsigned count_ropt(const struct reply *r, uint16_t code)
{
    unsigned n = 0;
    for (size_t i = 4; i + 4 <= r->len; i += 4u + vn_get_be16(r->p + i + 2))
        n += vn_get_be16(r->p + i) == code;
    return n;
}

/* The UDP datagram of an IPv6 packet g[0, glen) from the gateway, fragments
 * joined in dg (ordered, as the gateway sends them): its length once the
 * datagram is whole, 0 while more fragments are due, -1 for other packets. */
static long udp_of(const uint8_t *g, size_t glen, uint8_t *dg, size_t cap, size_t *have)
{
    if (glen < 14 + 40 || vn_get_be16(g + 12) != VN_ETH_TYPE_IPV6)
        return -1;
    const uint8_t *ip = g + 14;
    assert_int_equal(14 + 40 + vn_get_be16(ip + 4), glen);
    if (ip[6] == VN_IPPROTO_UDP) {
        if (vn_get_be16(ip + 40) != 547)
            return -1;
        assert_true(glen - 54 <= cap);
        memcpy(dg, ip + 40, glen - 54);
        return (long)(glen - 54);
    }
    if (ip[6] != VN_IPPROTO_FRAGMENT || glen < 14 + 48 || ip[40] != VN_IPPROTO_UDP)
        return -1;
    size_t off = vn_get_be16(ip + 42) & 0xfff8, n = glen - 14 - 48;
    if (off == 0 && (n < 8 || vn_get_be16(ip + 48) != 547))
        return -1;
    assert_int_equal(off, *have); /* in order, no gaps */
    assert_true(off + n <= cap);
    memcpy(dg + off, ip + 48, n);
    *have += n;
    return ip[43] & 1 ? 0 : (long)*have;
}

static struct reply send_msg(struct world *w, const struct msg *m)
{
    uint8_t f[1600];
    memset(f, 0, sizeof f);
    uint8_t mac[6];
    mac_of(mac, m->last);
    const uint8_t mcast[6] = { 0x33, 0x33, 0, 1, 0, 2 };
    memcpy(f, mcast, 6);
    memcpy(f + 6, mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    uint8_t *ip = f + 14, *u = ip + 40, *b = u + 8;
    size_t plen = build_payload(w, b, m);
    struct vn_addr src = m->src ? a6(m->src) : client_ll(m->last), dst = a6("ff02::1:2");
    ip[0] = 0x60;
    vn_put_be16(ip + 4, (uint16_t)(8 + plen));
    ip[6] = VN_IPPROTO_UDP;
    ip[7] = 1;
    memcpy(ip + 8, src.a, 16);
    memcpy(ip + 24, dst.a, 16);
    vn_put_be16(u, 546);
    vn_put_be16(u + 2, 547);
    vn_put_be16(u + 4, (uint16_t)(8 + plen));
    uint32_t sum = vn_csum_pseudo(&src, &dst, VN_IPPROTO_UDP, (uint32_t)(8 + plen));
    vn_put_be16(u + 6, vn_csum_fold(vn_csum_add(sum, u, 8 + plen)));
    memset(&w->rec, 0, sizeof w->rec);
    harness_input(w->sw, w->guest, f, 14 + 40 + 8 + plen);
    vn_gw_flush(w->gw);
    struct reply r = { 0 };
    /* Only DHCPv6 answers count (the gateway may also solicit neighbours);
     * one larger than the MTU comes as fragments. */
    static uint8_t dg[8 + sizeof r.p];
    size_t have = 0;
    for (unsigned i = 0; i < w->rec.n; i++) {
        const uint8_t *g = w->rec.f[i];
        assert_true(w->rec.len[i] <= sizeof w->rec.f[i]);
        long ulen_l = udp_of(g, w->rec.len[i], dg, sizeof dg, &have);
        if (ulen_l <= 0)
            continue;
        assert_false(r.got); /* one answer per message */
        r.got = true;
        assert_memory_equal(g, mac, 6);
        assert_memory_equal(g + 6, w->gw->mac, 6);
        struct vn_addr rs = { .family = AF_INET6 }, rd = { .family = AF_INET6 };
        memcpy(rs.a, g + 14 + 8, 16);
        memcpy(rd.a, g + 14 + 24, 16);
        assert_true(vn_addr_eq(&rs, &w->gw->ll6)); /* from the link-local address */
        assert_true(vn_addr_eq(&rd, &src));        /* to the client's source */
        const uint8_t *ru = dg;
        size_t ulen = vn_get_be16(ru + 4);
        assert_int_equal(vn_get_be16(ru + 2), 546);
        assert_int_equal(ulen, (size_t)ulen_l);
        uint32_t s2 = vn_csum_pseudo(&rs, &rd, VN_IPPROTO_UDP, (uint32_t)ulen);
        assert_int_equal(vn_csum_fold(vn_csum_add(s2, ru, ulen)), 0);
        r.len = ulen - 8;
        assert_true(r.len >= 4 && r.len <= sizeof r.p);
        memcpy(r.p, ru + 8, r.len);
        r.type = r.p[0];
        assert_int_equal(r.p[1], 0x12); /* transaction id echoed */
        assert_int_equal(r.p[2], 0x34);
        assert_int_equal(r.p[3], m->last);
        /* Our server identifier, the client's echoed. */
        size_t l;
        const uint8_t *sid = ropt(&r, VN_D6O_SERVERID, &l);
        uint8_t want[10];
        server_duid(w, want);
        assert_non_null(sid);
        assert_int_equal(l, 10);
        assert_memory_equal(sid, want, 10);
        const uint8_t *cid = ropt(&r, VN_D6O_CLIENTID, &l);
        if (m->no_clientid) {
            assert_null(cid);
        } else {
            assert_non_null(cid);
            if (m->duid) {
                assert_int_equal(l, m->duid_len);
                assert_memory_equal(cid, m->duid, l);
            } else {
                assert_int_equal(l, 10);
                assert_memory_equal(cid + 4, mac, 6);
            }
        }
    }
    return r;
}

static struct msg one_ia(uint8_t type, uint8_t last, uint32_t iaid)
{
    struct msg m = { .type = type, .last = last, .nia = 1 };
    m.iaid[0] = iaid;
    m.addr[0] = NO_ADDR;
    m.our_server = type == VN_DHCP6_REQUEST || type == VN_DHCP6_RENEW ||
                   type == VN_DHCP6_RELEASE || type == VN_DHCP6_DECLINE;
    return m;
}

static uint16_t low16(const struct vn_addr *a) { return (uint16_t)(a->a[14] << 8 | a->a[15]); }

static void assert_in_pool(const struct vn_addr *a)
{
    struct vn_addr p = a6(PREFIX);
    assert_memory_equal(a->a, p.a, 14);
    assert_in_range(low16(a), 0x100, 0x107);
    assert_int_not_equal(low16(a), 0x101); /* reserved */
}

/* Solicit then Request: the bound address (low 16 bits). */
static uint16_t sarr(struct world *w, uint8_t last, uint32_t iaid)
{
    struct msg s = one_ia(VN_DHCP6_SOLICIT, last, iaid);
    struct reply a = send_msg(w, &s);
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
    struct ia ia = get_ia(&a, iaid);
    assert_true(ia.found);
    assert_int_equal(ia.naddr, 1);
    struct msg q = one_ia(VN_DHCP6_REQUEST, last, iaid);
    q.addr[0] = low16(&ia.addr[0]);
    struct reply r = send_msg(w, &q);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    struct ia got = get_ia(&r, iaid);
    assert_int_equal(got.naddr, 1);
    assert_int_equal(got.status, -1);
    assert_true(vn_addr_eq(&got.addr[0], &ia.addr[0]));
    assert_int_equal(got.valid[0], LEASE);
    return low16(&got.addr[0]);
}

static json_int_t stat(struct world *w, const char *key)
{
    json_t *o = vn_dhcp6_stats_json(w->d);
    json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("no stat %s", key);
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

/* The lease of PREFIX+low as vnetctl lists it: its state ("" if absent). */
static const char *lease_state(struct world *w, uint16_t low, json_int_t *expires_in)
{
    static char st[32];
    struct vn_addr want = a6(PREFIX);
    want.a[14] = (uint8_t)(low >> 8), want.a[15] = (uint8_t)low;
    char ws[VN_ADDR_STRLEN];
    vn_addr_str(&want, ws, sizeof ws);
    json_t *a = vn_dhcp6_leases_json(w->d);
    size_t i;
    json_t *o;
    st[0] = 0;
    if (expires_in)
        *expires_in = -1;
    json_array_foreach(a, i, o) {
        assert_int_equal(json_integer_value(json_object_get(o, "family")), 6);
        if (strcmp(json_string_value(json_object_get(o, "ip")), ws))
            continue;
        snprintf(st, sizeof st, "%s", json_string_value(json_object_get(o, "state")));
        json_t *e = json_object_get(o, "expires_in");
        if (e && expires_in)
            *expires_in = json_integer_value(e);
    }
    json_decref(a);
    return st;
}

/* Whether the switch's binding table lets MAC ..:last use PREFIX+low. */
static bool bound_to(struct world *w, uint16_t low, uint8_t last)
{
    struct vn_addr a = a6(PREFIX);
    a.a[14] = (uint8_t)(low >> 8), a.a[15] = (uint8_t)low;
    const struct vn_binding *b = vn_bind_find(&w->net->bind, &a, fake_now);
    uint8_t mac[6];
    mac_of(mac, last);
    return b && !memcmp(b->mac, mac, 6);
}

/* ---- tests ---- */

static void test_stateless(void **state)
{
    struct world *w = *state;
    json_t *st = vn_dhcp6_stats_json(w->d);
    assert_string_equal(json_string_value(json_object_get(st, "mode")), "stateless");
    json_decref(st);
    /* Information-request: DNS server and search list. */
    struct reply r = send_msg(w, &(struct msg){ .type = VN_DHCP6_INFORMATION_REQUEST, .last = 1 });
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    size_t l;
    const uint8_t *dns = ropt(&r, VN_D6O_DNS_SERVERS, &l);
    assert_non_null(dns);
    assert_int_equal(l, 16);
    assert_memory_equal(dns, w->gw->dns6.a, 16);
    struct vn_addr d6 = a6(PREFIX "3");
    assert_memory_equal(dns, d6.a, 16);
    const uint8_t *dl = ropt(&r, VN_D6O_DOMAIN_LIST, &l);
    assert_non_null(dl);
    assert_int_equal(l, 10);
    assert_memory_equal(dl, "\3lab\4test\0", 10);
    assert_false(has_ropt(&r, VN_D6O_IA_NA));
    /* Without a client identifier (it is optional here), and with ours. */
    r = send_msg(w, &(struct msg){ .type = VN_DHCP6_INFORMATION_REQUEST, .last = 1,
                                   .no_clientid = true });
    assert_true(r.got);
    r = send_msg(w, &(struct msg){ .type = VN_DHCP6_INFORMATION_REQUEST, .last = 1,
                                   .our_server = true });
    assert_true(r.got);
    /* Another server's identifier, or an IA option: dropped. */
    r = send_msg(w, &(struct msg){ .type = VN_DHCP6_INFORMATION_REQUEST, .last = 1,
                                   .other_server = true });
    assert_false(r.got);
    struct msg m = one_ia(VN_DHCP6_INFORMATION_REQUEST, 1, 7);
    assert_false(send_msg(w, &m).got);
    assert_int_equal(stat(w, "information_request"), 5);
    assert_int_equal(stat(w, "reply"), 3);
    assert_int_equal(stat(w, "dropped_server_id"), 1);
    /* Solicit for an IA_NA: an Advertise with NoAddrsAvail in the IA and
     * at the top; Request: the IA with NoAddrsAvail. */
    m = one_ia(VN_DHCP6_SOLICIT, 1, 7);
    m.rapid = true; /* nothing to commit: still an Advertise */
    r = send_msg(w, &m);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_ADVERTISE);
    assert_false(has_ropt(&r, VN_D6O_RAPID_COMMIT));
    assert_int_equal(top_status(&r), VN_D6S_NO_ADDRS_AVAIL);
    struct ia ia = get_ia(&r, 7);
    assert_true(ia.found);
    assert_int_equal(ia.naddr, 0);
    assert_int_equal(ia.status, VN_D6S_NO_ADDRS_AVAIL);
    m = one_ia(VN_DHCP6_REQUEST, 1, 7);
    r = send_msg(w, &m);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    ia = get_ia(&r, 7);
    assert_int_equal(ia.naddr, 0);
    assert_int_equal(ia.status, VN_D6S_NO_ADDRS_AVAIL);
    assert_true(has_ropt(&r, VN_D6O_DNS_SERVERS));
    assert_int_equal(stat(w, "no_addrs"), 2);
    /* Renew of something never bound: NoBinding. */
    m = one_ia(VN_DHCP6_RENEW, 1, 7);
    m.addr[0] = 0x100;
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 7).status, VN_D6S_NO_BINDING);
    json_t *ls = vn_dhcp6_leases_json(w->d);
    assert_int_equal(json_array_size(ls), 0);
    json_decref(ls);
    assert_int_equal(stat(w, "leases_active"), 0);
    /* The gateway's status carries the counters. */
    json_t *g = vn_gw_json(w->gw);
    assert_non_null(json_object_get(json_object_get(g, "dhcp6"), "solicit"));
    json_decref(g);
}

static void test_solicit_request(void **state)
{
    struct world *w = *state;
    struct msg s = one_ia(VN_DHCP6_SOLICIT, 1, 0x11);
    struct reply a = send_msg(w, &s);
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
    struct ia ia = get_ia(&a, 0x11);
    assert_true(ia.found);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(ia.status, -1);
    assert_in_pool(&ia.addr[0]);
    assert_int_equal(ia.t1, LEASE / 2);
    assert_int_equal(ia.t2, LEASE * 4 / 5);
    assert_int_equal(ia.preferred[0], LEASE);
    assert_int_equal(ia.valid[0], LEASE);
    assert_int_equal(top_status(&a), -1);
    assert_true(has_ropt(&a, VN_D6O_DNS_SERVERS));
    assert_true(has_ropt(&a, VN_D6O_DOMAIN_LIST));
    uint16_t low = low16(&ia.addr[0]);
    assert_string_equal(lease_state(w, low, NULL), "offered");
    assert_false(bound_to(w, low, 1)); /* an offer is not a binding */
    /* The same Solicit gets the same address. */
    a = send_msg(w, &s);
    assert_true(vn_addr_eq(&get_ia(&a, 0x11).addr[0], &ia.addr[0]));
    /* Request -> Reply: bound for the lease time. */
    struct msg q = one_ia(VN_DHCP6_REQUEST, 1, 0x11);
    q.addr[0] = low;
    struct reply r = send_msg(w, &q);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    struct ia b = get_ia(&r, 0x11);
    assert_int_equal(b.naddr, 1);
    assert_true(vn_addr_eq(&b.addr[0], &ia.addr[0]));
    assert_int_equal(b.valid[0], LEASE);
    assert_true(has_ropt(&r, VN_D6O_DNS_SERVERS));
    json_int_t exp;
    assert_string_equal(lease_state(w, low, &exp), "bound");
    assert_int_equal(exp, LEASE);
    /* The switch's bindings and the neighbour table know it. */
    assert_true(bound_to(w, low, 1));
    const struct vn_neigh *ne = vn_gw_neigh_peek(w->gw, &b.addr[0]);
    assert_non_null(ne);
    uint8_t mac[6];
    mac_of(mac, 1);
    assert_memory_equal(ne->mac, mac, 6);
    /* The lease lists its DUID in hex and its IAID. */
    json_t *ls = vn_dhcp6_leases_json(w->d), *e = NULL, *x;
    size_t k;
    json_array_foreach(ls, k, x)
        if (!strcmp(json_string_value(json_object_get(x, "state")), "bound"))
            e = x;
    assert_non_null(e);
    assert_string_equal(json_string_value(json_object_get(e, "duid")), "00030001525400000001");
    assert_int_equal(json_integer_value(json_object_get(e, "iaid")), 0x11);
    assert_string_equal(json_string_value(json_object_get(e, "mac")), "52:54:00:00:00:01");
    json_decref(ls);
    assert_int_equal(stat(w, "solicit"), 2);
    assert_int_equal(stat(w, "advertise"), 2);
    assert_int_equal(stat(w, "request"), 1);
    assert_int_equal(stat(w, "reply"), 1);
    assert_int_equal(stat(w, "leases_active"), 1);
    /* Two IAs of another client: two other addresses. */
    struct msg two = { .type = VN_DHCP6_SOLICIT, .last = 2, .nia = 2, .iaid = { 1, 2 },
                       .addr = { NO_ADDR, NO_ADDR } };
    a = send_msg(w, &two);
    struct ia i1 = get_ia(&a, 1), i2 = get_ia(&a, 2);
    assert_int_equal(i1.naddr, 1);
    assert_int_equal(i2.naddr, 1);
    assert_in_pool(&i1.addr[0]);
    assert_in_pool(&i2.addr[0]);
    assert_false(vn_addr_eq(&i1.addr[0], &i2.addr[0]));
    assert_false(vn_addr_eq(&i1.addr[0], &b.addr[0]));
    assert_false(vn_addr_eq(&i2.addr[0], &b.addr[0]));
    /* A Request whose offer is gone (or never was) is served too. */
    q = one_ia(VN_DHCP6_REQUEST, 3, 9);
    r = send_msg(w, &q);
    assert_int_equal(get_ia(&r, 9).naddr, 1);
    /* A hint off the link: NotOnLink for that IA. */
    q = one_ia(VN_DHCP6_REQUEST, 4, 9);
    q.addr_text[0] = "2001:db8::1";
    r = send_msg(w, &q);
    assert_int_equal(get_ia(&r, 9).status, VN_D6S_NOT_ON_LINK);
    assert_int_equal(get_ia(&r, 9).naddr, 0);
}

static void test_rapid_commit(void **state)
{
    struct world *w = *state;
    struct msg s = one_ia(VN_DHCP6_SOLICIT, 1, 5);
    s.rapid = true;
    struct reply r = send_msg(w, &s);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    assert_true(has_ropt(&r, VN_D6O_RAPID_COMMIT));
    struct ia ia = get_ia(&r, 5);
    assert_int_equal(ia.naddr, 1);
    uint16_t low = low16(&ia.addr[0]);
    assert_string_equal(lease_state(w, low, NULL), "bound");
    assert_true(bound_to(w, low, 1));
    assert_int_equal(stat(w, "reply"), 1);
    assert_int_equal(stat(w, "advertise"), 0);
    /* Without the option: an Advertise, no commitment. */
    s = one_ia(VN_DHCP6_SOLICIT, 2, 5);
    r = send_msg(w, &s);
    assert_int_equal(r.type, VN_DHCP6_ADVERTISE);
    assert_false(has_ropt(&r, VN_D6O_RAPID_COMMIT));
    assert_string_equal(lease_state(w, low16(&get_ia(&r, 5).addr[0]), NULL), "offered");
}

/* dhcp6.lease_time, not dhcp.lease_time, sets the lifetimes, T1 and T2 of
 * every reply and how long the binding lasts. */
static void test_dhcp6_lease_time(void **state)
{
    struct world *w = *state;
    assert_int_equal(w->c->nets[0].lease_time, 600);
    struct msg s = one_ia(VN_DHCP6_SOLICIT, 1, 5);
    s.rapid = true;
    struct reply r = send_msg(w, &s);
    struct ia ia = get_ia(&r, 5);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(ia.valid[0], 20);
    assert_int_equal(ia.preferred[0], 20);
    assert_int_equal(ia.t1, 10);
    assert_int_equal(ia.t2, 16);
    uint16_t low = low16(&ia.addr[0]);
    json_int_t exp;
    assert_string_equal(lease_state(w, low, &exp), "bound");
    assert_int_equal(exp, 20);
    fake_now += 10; /* T1: the Renew extends it by the same */
    struct msg m = one_ia(VN_DHCP6_RENEW, 1, 5);
    m.addr[0] = low;
    r = send_msg(w, &m);
    ia = get_ia(&r, 5);
    assert_int_equal(ia.valid[0], 20);
    assert_int_equal(ia.t2, 16);
    assert_string_equal(lease_state(w, low, &exp), "bound");
    assert_int_equal(exp, 20);
    fake_now += 21; /* not renewed: expired */
    assert_string_equal(lease_state(w, low, NULL), "expired");
}

static void test_renew_rebind(void **state)
{
    struct world *w = *state;
    uint16_t low = sarr(w, 1, 1);
    fake_now += LEASE / 2;
    struct msg m = one_ia(VN_DHCP6_RENEW, 1, 1);
    m.addr[0] = low;
    struct reply r = send_msg(w, &m);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    struct ia ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(low16(&ia.addr[0]), low);
    assert_int_equal(ia.valid[0], LEASE);
    assert_int_equal(ia.t1, LEASE / 2);
    json_int_t exp;
    assert_string_equal(lease_state(w, low, &exp), "bound");
    assert_int_equal(exp, LEASE); /* extended from now */
    /* Renew of an IA the server does not know: NoBinding. */
    m = one_ia(VN_DHCP6_RENEW, 1, 99);
    m.addr[0] = 0x106;
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 99).status, VN_D6S_NO_BINDING);
    assert_int_equal(get_ia(&r, 99).naddr, 0);
    /* A Renew listing another address too: that one with lifetimes 0. */
    m = (struct msg){ .type = VN_DHCP6_RENEW, .last = 1, .our_server = true, .nia = 1,
                      .iaid = { 1 } };
    m.addr_text[0] = PREFIX "1234";
    r = send_msg(w, &m);
    ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 2);
    assert_int_equal(low16(&ia.addr[0]), low);
    assert_int_equal(ia.valid[0], LEASE);
    assert_int_equal(low16(&ia.addr[1]), 0x1234);
    assert_int_equal(ia.valid[1], 0);
    assert_int_equal(ia.preferred[1], 0);
    /* Past T2: Rebind (no server identifier) extends it too. */
    fake_now += LEASE * 4 / 5;
    m = one_ia(VN_DHCP6_REBIND, 1, 1);
    m.addr[0] = low;
    r = send_msg(w, &m);
    ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(ia.valid[0], LEASE);
    /* Rebind of an unknown IA for an address not on the link: lifetimes 0. */
    m = one_ia(VN_DHCP6_REBIND, 2, 1);
    m.addr_text[0] = "2001:db8::77";
    r = send_msg(w, &m);
    ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(ia.valid[0], 0);
    assert_int_equal(ia.preferred[0], 0);
    /* Rebind of an unknown IA at a free pool address (the server lost its
     * state): the binding is restored. */
    uint16_t other = low == 0x106 ? 0x105 : 0x106;
    m = one_ia(VN_DHCP6_REBIND, 2, 1);
    m.addr[0] = other;
    r = send_msg(w, &m);
    ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(low16(&ia.addr[0]), other);
    assert_int_equal(ia.valid[0], LEASE);
    assert_string_equal(lease_state(w, other, NULL), "bound");
    assert_true(bound_to(w, other, 2));
    /* ... but not at another client's address. */
    m = one_ia(VN_DHCP6_REBIND, 3, 1);
    m.addr[0] = low;
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_BINDING);
    assert_true(bound_to(w, low, 1));
    /* A Renew without our server identifier, a Rebind with one: dropped. */
    m = one_ia(VN_DHCP6_RENEW, 1, 1);
    m.our_server = false;
    assert_false(send_msg(w, &m).got);
    m = one_ia(VN_DHCP6_REBIND, 1, 1);
    m.our_server = true;
    assert_false(send_msg(w, &m).got);
    assert_int_equal(stat(w, "dropped_server_id"), 2);
    /* An expired binding nobody took is renewed. */
    fake_now += LEASE + 1;
    assert_string_equal(lease_state(w, low, NULL), "expired");
    assert_int_equal(stat(w, "leases_active"), 0);
    m = one_ia(VN_DHCP6_RENEW, 1, 1);
    m.addr[0] = low;
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 1).naddr, 1);
    assert_string_equal(lease_state(w, low, NULL), "bound");
}

static void test_release(void **state)
{
    struct world *w = *state;
    uint16_t low = sarr(w, 1, 1);
    /* Another client cannot release it. */
    struct msg m = one_ia(VN_DHCP6_RELEASE, 2, 1);
    m.addr[0] = low;
    struct reply r = send_msg(w, &m);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_BINDING);
    assert_string_equal(lease_state(w, low, NULL), "bound");
    /* Nor does a Release for another server. */
    m = one_ia(VN_DHCP6_RELEASE, 1, 1);
    m.addr[0] = low;
    m.our_server = false;
    m.other_server = true;
    assert_false(send_msg(w, &m).got);
    assert_string_equal(lease_state(w, low, NULL), "bound");
    /* The owner's: Success, the address unbound. */
    m = one_ia(VN_DHCP6_RELEASE, 1, 1);
    m.addr[0] = low;
    r = send_msg(w, &m);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    assert_false(get_ia(&r, 1).found);
    assert_string_equal(lease_state(w, low, NULL), "released");
    assert_false(bound_to(w, low, 1));
    assert_int_equal(stat(w, "leases_active"), 0);
    assert_int_equal(stat(w, "release"), 3);
    /* Again: nothing bound any more. */
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_BINDING);
    /* The client is remembered: the same address again. */
    assert_int_equal(sarr(w, 1, 1), low);
}

static void test_decline(void **state)
{
    struct world *w = *state;
    uint16_t low = sarr(w, 1, 1);
    struct msg m = one_ia(VN_DHCP6_DECLINE, 1, 1);
    m.addr[0] = low;
    struct reply r = send_msg(w, &m);
    assert_true(r.got);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    assert_string_equal(lease_state(w, low, NULL), "declined");
    assert_false(bound_to(w, low, 1));
    assert_int_equal(stat(w, "decline"), 1);
    /* The client gets another address; nobody gets the declined one while
     * it is quarantined, not even the whole pool's worth of clients. */
    uint16_t again = sarr(w, 1, 1);
    assert_int_not_equal(again, low);
    for (uint8_t c = 2; c < 12; c++) {
        struct msg s = one_ia(VN_DHCP6_SOLICIT, c, 1);
        struct reply a = send_msg(w, &s);
        struct ia ia = get_ia(&a, 1);
        if (ia.naddr)
            assert_int_not_equal(low16(&ia.addr[0]), low);
    }
    /* After the quarantine (600 s) it is given out again. */
    fake_now += 300;
    m = one_ia(VN_DHCP6_RENEW, 1, 1);
    m.addr[0] = again;
    assert_int_equal(get_ia((r = send_msg(w, &m), &r), 1).naddr, 1);
    fake_now += 301;
    bool seen = false;
    for (uint8_t c = 20; c < 40 && !seen; c++) {
        struct msg s = one_ia(VN_DHCP6_SOLICIT, c, 1);
        s.rapid = true;
        struct reply a = send_msg(w, &s);
        struct ia ia = get_ia(&a, 1);
        seen = ia.naddr && low16(&ia.addr[0]) == low;
    }
    assert_true(seen);
    /* A Decline of an address that is not the client's changes nothing. */
    m = one_ia(VN_DHCP6_DECLINE, 1, 1);
    m.addr[0] = low;
    r = send_msg(w, &m);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_BINDING);
    assert_string_equal(lease_state(w, again, NULL), "bound");
}

static void test_confirm(void **state)
{
    struct world *w = *state;
    struct msg m = one_ia(VN_DHCP6_CONFIRM, 1, 1);
    m.addr[0] = 0x105;
    struct reply r = send_msg(w, &m);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    m.addr_text[0] = "2001:db8::5";
    r = send_msg(w, &m);
    assert_int_equal(top_status(&r), VN_D6S_NOT_ON_LINK);
    /* No addresses to confirm: no reply; a server identifier: dropped. */
    m = one_ia(VN_DHCP6_CONFIRM, 1, 1);
    assert_false(send_msg(w, &m).got);
    m.addr[0] = 0x105;
    m.our_server = true;
    assert_false(send_msg(w, &m).got);
    assert_int_equal(stat(w, "confirm"), 4);
    assert_int_equal(stat(w, "reply"), 2);
}

static void test_reservations(void **state)
{
    struct world *w = *state;
    /* Before the client comes: listed as reserved. */
    assert_string_equal(lease_state(w, 0x50, NULL), "reserved");
    assert_string_equal(lease_state(w, 0x51, NULL), "reserved");
    /* A MAC reservation is bound in the switch for good already. */
    assert_true(bound_to(w, 0x50, 0xcc));
    /* By the MAC of the DUID-LL. */
    assert_int_equal(sarr(w, 0xcc, 1), 0x50);
    assert_string_equal(lease_state(w, 0x50, NULL), "bound");
    struct vn_addr a;
    assert_int_equal(vn_dhcp6_lookup_name(w->d, "INMAC", &a), 0);
    assert_int_equal(low16(&a), 0x50);
    struct vn_addr x = a6(PREFIX "50");
    assert_string_equal(vn_dhcp6_name_of(w->d, &x), "inmac");
    /* A second IA of the same client: a pool address. */
    uint16_t second = sarr(w, 0xcc, 2);
    assert_in_range(second, 0x100, 0x107);
    /* By DUID (a DUID-EN, from whatever MAC). */
    struct msg s = one_ia(VN_DHCP6_SOLICIT, 0x42, 7);
    s.duid = RES_DUID, s.duid_len = sizeof RES_DUID;
    s.rapid = true;
    struct reply r = send_msg(w, &s);
    struct ia ia = get_ia(&r, 7);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(low16(&ia.addr[0]), 0x51);
    assert_true(bound_to(w, 0x51, 0x42));
    assert_int_equal(vn_dhcp6_lookup_name(w->d, "induid", &a), 0);
    assert_int_equal(low16(&a), 0x51);
    /* A DUID that carries no MAC (DUID-EN) from the reserved MAC's frames:
     * matched by the frame's MAC. */
    const uint8_t en[8] = { 0, 2, 0, 0, 0, 1, 0xab, 0xcd };
    s = one_ia(VN_DHCP6_SOLICIT, 0xdd, 3);
    s.duid = en, s.duid_len = sizeof en;
    r = send_msg(w, &s);
    ia = get_ia(&r, 3);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(low16(&ia.addr[0]), 0x101);
    /* A name-only reservation: a pool address and the name. */
    uint16_t n = sarr(w, 0xbb, 1);
    assert_in_range(n, 0x100, 0x107);
    assert_int_not_equal(n, 0x101);
    assert_int_equal(vn_dhcp6_lookup_name(w->d, "named", &a), 0);
    assert_int_equal(low16(&a), n);
    assert_string_equal(vn_dhcp6_name_of(w->d, &a), "named");
    assert_int_equal(vn_dhcp6_lookup_name(w->d, "nobody", &a), -1);
    /* Nobody else gets a reserved address, even filling the pool. */
    for (uint8_t c = 1; c < 20; c++) {
        struct msg q = one_ia(VN_DHCP6_SOLICIT, c, 1);
        q.rapid = true;
        r = send_msg(w, &q);
        ia = get_ia(&r, 1);
        if (ia.naddr) {
            assert_int_not_equal(low16(&ia.addr[0]), 0x101);
            assert_in_range(low16(&ia.addr[0]), 0x100, 0x107);
        }
    }
    /* An unnamed lease has no name. */
    struct vn_addr p = a6(PREFIX "1ff");
    assert_null(vn_dhcp6_name_of(w->d, &p));
}

/* Rewrite every lease of the file through f. */
static void edit_file(struct world *w, void (*f)(json_t *lease, size_t i))
{
    char path[128];
    snprintf(path, sizeof path, "%s/leases6-lan.json", w->dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(root, "leases"), i, e)
        f(e, i);
    assert_int_equal(json_dump_file(root, path, 0), 0);
    json_decref(root);
}

static uint16_t expired_low;
static void expire_one(json_t *e, size_t i)
{
    (void)i;
    struct vn_addr a = a6(json_string_value(json_object_get(e, "ip")));
    if (low16(&a) == expired_low)
        json_object_set_new(e, "expires", json_integer(vn_wall_s() - 5));
}

static void test_restart_keeps_leases(void **state)
{
    struct world *w = *state;
    uint16_t l1 = sarr(w, 1, 1), l2 = sarr(w, 2, 1), l3 = sarr(w, 3, 1);
    assert_int_equal(sarr(w, 0xcc, 1), 0x50);
    /* Stop: the file is written (atomically: no temporary left). The
     * gateway's deferred flush runs first (a queued one must not outlive it). */
    vn_loop_once(w->loop, 0);
    vn_gw_free(w->gw);
    char path[128], tmp[160];
    snprintf(path, sizeof path, "%s/leases6-lan.json", w->dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    json_t *ls = json_object_get(root, "leases");
    assert_int_equal(json_array_size(ls), 4);
    assert_string_equal(json_string_value(json_object_get(root, "network")), "lan");
    json_t *e = json_array_get(ls, 0);
    assert_non_null(json_string_value(json_object_get(e, "duid")));
    assert_true(json_is_integer(json_object_get(e, "iaid")));
    json_decref(root);
    /* One of them has expired meanwhile. */
    expired_low = l3;
    edit_file(w, expire_one);
    /* Start again: the leases are back (in the switch's bindings too). */
    gw_up(w);
    assert_string_equal(lease_state(w, l1, NULL), "bound");
    assert_string_equal(lease_state(w, l2, NULL), "bound");
    assert_string_equal(lease_state(w, l3, NULL), "");
    assert_string_equal(lease_state(w, 0x50, NULL), "bound");
    assert_true(bound_to(w, l1, 1));
    assert_true(bound_to(w, l2, 2));
    assert_int_equal(stat(w, "leases_active"), 3);
    /* Their clients renew them (no NoBinding) and solicit the same address. */
    struct msg m = one_ia(VN_DHCP6_RENEW, 1, 1);
    m.addr[0] = l1;
    struct reply r = send_msg(w, &m);
    struct ia ia = get_ia(&r, 1);
    assert_int_equal(ia.status, -1);
    assert_int_equal(low16(&ia.addr[0]), l1);
    m = one_ia(VN_DHCP6_SOLICIT, 2, 1);
    r = send_msg(w, &m);
    assert_int_equal(low16(&get_ia(&r, 1).addr[0]), l2);
    /* The expired one's client gets its address again from the hash. */
    assert_int_equal(sarr(w, 3, 1), l3);
    /* A file that cannot be read is set aside; the server starts empty. */
    vn_loop_once(w->loop, 0);
    vn_gw_free(w->gw);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{ not json", f);
    fclose(f);
    gw_up(w);
    assert_int_equal(stat(w, "leases_active"), 0);
    char bad[160];
    snprintf(bad, sizeof bad, "%s.corrupt", path);
    assert_int_equal(access(bad, F_OK), 0);
}

static void test_pool_exhaustion(void **state)
{
    struct world *w = *state;
    uint16_t got[7];
    for (uint8_t c = 0; c < 7; c++) {
        got[c] = sarr(w, (uint8_t)(1 + c), 1);
        for (uint8_t k = 0; k < c; k++)
            assert_int_not_equal(got[c], got[k]);
    }
    /* Full: NoAddrsAvail to Solicit and Request, counted. */
    struct msg s = one_ia(VN_DHCP6_SOLICIT, 8, 1);
    struct reply r = send_msg(w, &s);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_ADVERTISE);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_ADDRS_AVAIL);
    assert_int_equal(get_ia(&r, 1).naddr, 0);
    assert_int_equal(top_status(&r), VN_D6S_NO_ADDRS_AVAIL);
    s.rapid = true;
    r = send_msg(w, &s);
    assert_int_equal(r.type, VN_DHCP6_ADVERTISE);
    struct msg q = one_ia(VN_DHCP6_REQUEST, 8, 1);
    r = send_msg(w, &q);
    assert_int_equal(get_ia(&r, 1).status, VN_D6S_NO_ADDRS_AVAIL);
    assert_int_equal(stat(w, "no_addrs"), 3);
    /* The bound leases are untouched and their owners renew. */
    for (uint8_t c = 0; c < 7; c++) {
        assert_string_equal(lease_state(w, got[c], NULL), "bound");
        assert_true(bound_to(w, got[c], (uint8_t)(1 + c)));
    }
    struct msg m = one_ia(VN_DHCP6_RENEW, 3, 1);
    m.addr[0] = got[2];
    r = send_msg(w, &m);
    assert_int_equal(low16(&get_ia(&r, 1).addr[0]), got[2]);
    /* One leaves: the next client gets its address. */
    m = one_ia(VN_DHCP6_RELEASE, 4, 1);
    m.addr[0] = got[3];
    send_msg(w, &m);
    assert_int_equal(sarr(w, 8, 1), got[3]);
}

static void test_offers_do_not_hold_pool(void **state)
{
    struct world *w = *state;
    uint16_t mine = sarr(w, 1, 1);
    /* A flood of Solicits from invented DUIDs (one MAC) holds offers only. */
    for (unsigned i = 0; i < 200; i++) {
        uint8_t duid[12] = { 0, 4 };
        vn_put_be32(duid + 2, i);
        struct msg s = one_ia(VN_DHCP6_SOLICIT, 0x77, i);
        s.duid = duid, s.duid_len = sizeof duid;
        struct reply r = send_msg(w, &s);
        assert_true(r.got);
        struct ia ia = get_ia(&r, i);
        assert_int_equal(ia.naddr, 1); /* each takes the oldest pending offer */
        assert_int_not_equal(low16(&ia.addr[0]), mine);
        fake_now += i % 3 == 0;
    }
    assert_string_equal(lease_state(w, mine, NULL), "bound");
    assert_true(bound_to(w, mine, 1));
    assert_int_equal(stat(w, "leases_active"), 1);
    /* A real client still gets an address and binds it. */
    uint16_t other = sarr(w, 2, 1);
    assert_int_not_equal(other, mine);
    assert_int_equal(stat(w, "leases_active"), 2);
    assert_int_equal(stat(w, "no_addrs"), 0);
}

static void test_validation(void **state)
{
    struct world *w = *state;
    uint16_t low = sarr(w, 1, 1);
    /* Request, Renew, Release, Decline for another server: ignored. */
    const uint8_t types[] = { VN_DHCP6_REQUEST, VN_DHCP6_RENEW, VN_DHCP6_RELEASE,
                              VN_DHCP6_DECLINE };
    for (unsigned i = 0; i < 4; i++) {
        struct msg m = one_ia(types[i], 1, 1);
        m.our_server = false, m.other_server = true;
        m.addr[0] = low;
        assert_false(send_msg(w, &m).got);
    }
    assert_string_equal(lease_state(w, low, NULL), "bound");
    /* Solicit with a server identifier; Request without one. */
    struct msg m = one_ia(VN_DHCP6_SOLICIT, 2, 1);
    m.our_server = true;
    assert_false(send_msg(w, &m).got);
    m = one_ia(VN_DHCP6_REQUEST, 2, 1);
    m.our_server = false;
    assert_false(send_msg(w, &m).got);
    assert_int_equal(stat(w, "dropped_server_id"), 6);
    /* No client identifier where one is required. */
    const uint8_t need[] = { VN_DHCP6_SOLICIT, VN_DHCP6_REQUEST, VN_DHCP6_RENEW, VN_DHCP6_REBIND,
                             VN_DHCP6_RELEASE, VN_DHCP6_DECLINE, VN_DHCP6_CONFIRM };
    for (unsigned i = 0; i < sizeof need; i++) {
        m = one_ia(need[i], 2, 1);
        m.no_clientid = true;
        m.addr[0] = 0x105;
        assert_false(send_msg(w, &m).got);
    }
    assert_int_equal(stat(w, "dropped_no_client_id"), 7);
    /* Server and relay message types from a client. */
    m = one_ia(VN_DHCP6_ADVERTISE, 2, 1);
    assert_false(send_msg(w, &m).got);
    m = one_ia(VN_DHCP6_REPLY, 2, 1);
    assert_false(send_msg(w, &m).got);
    m = one_ia(VN_DHCP6_RELAY_FORW, 2, 1);
    assert_false(send_msg(w, &m).got);
    assert_int_equal(stat(w, "dropped_other"), 2);
    assert_int_equal(stat(w, "dropped_relay"), 1);
    /* Malformed: a truncated option, an oversize DUID, from ::. */
    uint8_t big[131];
    memset(big, 1, sizeof big);
    m = one_ia(VN_DHCP6_SOLICIT, 2, 1);
    m.duid = big, m.duid_len = sizeof big;
    assert_false(send_msg(w, &m).got);
    m = one_ia(VN_DHCP6_SOLICIT, 2, 1);
    m.src = "::";
    assert_false(send_msg(w, &m).got);
    struct vn_ipp ip = { .family = AF_INET6, .proto = VN_IPPROTO_UDP, .src = client_ll(2),
                         .dst = a6("ff02::1:2") };
    const uint8_t trunc[] = { VN_DHCP6_SOLICIT, 0, 0, 1, 0, 1, 0, 10, 0, 3 };
    struct vn_udp u = { 546, 547, 8 + sizeof trunc, trunc, sizeof trunc };
    uint8_t mac[6];
    mac_of(mac, 2);
    vn_dhcp6_input(w->d, mac, &ip, &u);
    u.dlen = 3;
    vn_dhcp6_input(w->d, mac, &ip, &u);
    assert_int_equal(stat(w, "malformed"), 4);
    assert_int_equal(stat(w, "leases_active"), 1);
    /* At most 8 IA_NAs of a message are served. */
    m = (struct msg){ .type = VN_DHCP6_SOLICIT, .last = 3, .nia = 10 };
    for (unsigned i = 0; i < 10; i++)
        m.iaid[i] = 100 + i, m.addr[i] = NO_ADDR;
    struct reply r = send_msg(w, &m);
    assert_true(r.got);
    unsigned n = 0;
    for (unsigned i = 0; i < 10; i++)
        n += get_ia(&r, 100 + i).found;
    assert_int_equal(n, 8);
    assert_int_equal(stat(w, "ia_ignored"), 2);
}

/* A message of type from client last with IA_NA iaid (no hint; none when
 * iaid is 0) and the IA_PDs/IA_TAs given as (code, iaid) pairs. */
static struct msg with_others(uint8_t type, uint8_t last, uint32_t iaid, unsigned n, ...)
{
    struct msg m = one_ia(type, last, iaid);
    m.nia = iaid != 0;
    va_list ap;
    va_start(ap, n);
    for (unsigned i = 0; i < n; i++) {
        m.other_code[i] = (uint16_t)va_arg(ap, int);
        m.other_iaid[i] = va_arg(ap, uint32_t);
    }
    va_end(ap);
    m.nother = n;
    return m;
}

/* The IA_PD or IA_TA of r answered with status and nothing else. */
static void assert_refused(const struct reply *r, uint16_t code, uint32_t iaid, int status)
{
    struct other x = get_other(r, code, iaid);
    assert_true(x.found);
    assert_int_equal(x.status, status);
    assert_int_equal(x.nopt, 0);
    assert_int_equal(x.t1, 0);
    assert_int_equal(x.t2, 0);
}

/* Stateful: IA_PD gets NoPrefixAvail and IA_TA NoAddrsAvail in every
 * Advertise and Reply (Renew and Rebind too), NoBinding in a Release,
 * while the IA_NAs of the same message are served as always. */
static void test_other_ias_stateful(void **state)
{
    struct world *w = *state;
    /* dhclient -N -P: IA_NA and IA_PD with one IAID, a /56 hint. */
    struct msg s = with_others(VN_DHCP6_SOLICIT, 1, 1, 1, VN_D6O_IA_PD, 1u);
    s.pd_hint = true;
    struct reply a = send_msg(w, &s);
    assert_true(a.got);
    assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
    struct ia ia = get_ia(&a, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(ia.status, -1);
    assert_in_pool(&ia.addr[0]);
    assert_refused(&a, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&a), -1); /* an address is offered */
    assert_true(has_ropt(&a, VN_D6O_DNS_SERVERS));
    assert_int_equal(count_ropt(&a, VN_D6O_IA_PD), 1);
    uint16_t low = low16(&ia.addr[0]);
    /* Request: the address bound, the prefix refused. */
    struct msg q = with_others(VN_DHCP6_REQUEST, 1, 1, 1, VN_D6O_IA_PD, 1u);
    q.addr[0] = low;
    q.pd_hint = true;
    struct reply r = send_msg(w, &q);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    ia = get_ia(&r, 1);
    assert_int_equal(ia.naddr, 1);
    assert_int_equal(low16(&ia.addr[0]), low);
    assert_int_equal(ia.valid[0], LEASE);
    assert_refused(&r, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&r), -1);
    assert_string_equal(lease_state(w, low, NULL), "bound");
    assert_int_equal(stat(w, "leases_active"), 1);
    /* Renew and Rebind: the address extended, the IA_PD NoPrefixAvail (no
     * binding will ever exist: NoBinding would only bring a Request). */
    fake_now += LEASE / 2;
    q.type = VN_DHCP6_RENEW;
    r = send_msg(w, &q);
    assert_int_equal(get_ia(&r, 1).naddr, 1);
    assert_int_equal(get_ia(&r, 1).valid[0], LEASE);
    assert_refused(&r, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    q.type = VN_DHCP6_REBIND;
    q.our_server = false;
    r = send_msg(w, &q);
    assert_int_equal(get_ia(&r, 1).naddr, 1);
    assert_refused(&r, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    /* A Renew of only an IA_PD (a client asking again for what it could
     * not get): the same. */
    struct msg rn = with_others(VN_DHCP6_RENEW, 1, 0, 1, VN_D6O_IA_PD, 9u);
    r = send_msg(w, &rn);
    assert_refused(&r, VN_D6O_IA_PD, 9, VN_D6S_NO_PREFIX_AVAIL);
    assert_false(has_ropt(&r, VN_D6O_IA_NA));
    /* Only IA_PDs: an Advertise (Rapid Commit or not) with each refused,
     * no top-level status (no address was asked for), no offer made. */
    json_int_t nadv = stat(w, "advertise"), noaddr = stat(w, "no_addrs");
    for (int rapid = 0; rapid < 2; rapid++) {
        s = with_others(VN_DHCP6_SOLICIT, 2, 0, 2, VN_D6O_IA_PD, 1u, VN_D6O_IA_PD, 2u);
        s.rapid = rapid;
        a = send_msg(w, &s);
        assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
        assert_false(has_ropt(&a, VN_D6O_RAPID_COMMIT));
        assert_refused(&a, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
        assert_refused(&a, VN_D6O_IA_PD, 2, VN_D6S_NO_PREFIX_AVAIL);
        assert_false(has_ropt(&a, VN_D6O_IA_NA));
        assert_int_equal(top_status(&a), -1);
        assert_true(has_ropt(&a, VN_D6O_DNS_SERVERS));
    }
    assert_int_equal(stat(w, "advertise"), nadv + 2);
    assert_int_equal(stat(w, "no_addrs"), noaddr);
    json_t *ls = vn_dhcp6_leases_json(w->d);
    assert_int_equal(json_array_size(ls), 1 + 3); /* client 1's and the 3 reservations */
    json_decref(ls);
    /* A Request of only an IA_PD: a Reply refusing it. */
    q = with_others(VN_DHCP6_REQUEST, 2, 0, 1, VN_D6O_IA_PD, 1u);
    r = send_msg(w, &q);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    assert_refused(&r, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&r), -1);
    /* Rapid Commit with IA_NA and IA_PD: a Reply committing the address. */
    s = with_others(VN_DHCP6_SOLICIT, 3, 5, 1, VN_D6O_IA_PD, 5u);
    s.rapid = true;
    r = send_msg(w, &s);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    assert_true(has_ropt(&r, VN_D6O_RAPID_COMMIT));
    ia = get_ia(&r, 5);
    assert_int_equal(ia.naddr, 1);
    assert_string_equal(lease_state(w, low16(&ia.addr[0]), NULL), "bound");
    assert_refused(&r, VN_D6O_IA_PD, 5, VN_D6S_NO_PREFIX_AVAIL);
    /* IA_TA: NoAddrsAvail beside an IA_NA that gets its address; alone,
     * with the top-level NoAddrsAvail too (addresses were asked for). */
    s = with_others(VN_DHCP6_SOLICIT, 4, 1, 2, VN_D6O_IA_TA, 1u, VN_D6O_IA_PD, 1u);
    a = send_msg(w, &s);
    assert_int_equal(get_ia(&a, 1).naddr, 1);
    assert_refused(&a, VN_D6O_IA_TA, 1, VN_D6S_NO_ADDRS_AVAIL);
    assert_refused(&a, VN_D6O_IA_PD, 1, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&a), -1);
    s = with_others(VN_DHCP6_SOLICIT, 4, 0, 1, VN_D6O_IA_TA, 1u);
    a = send_msg(w, &s);
    assert_refused(&a, VN_D6O_IA_TA, 1, VN_D6S_NO_ADDRS_AVAIL);
    assert_int_equal(top_status(&a), VN_D6S_NO_ADDRS_AVAIL);
    /* Release and Decline: NoBinding for them, Success, the address freed. */
    q = with_others(VN_DHCP6_RELEASE, 1, 1, 2, VN_D6O_IA_PD, 1u, VN_D6O_IA_TA, 3u);
    q.addr[0] = low;
    r = send_msg(w, &q);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    assert_false(get_ia(&r, 1).found);
    assert_refused(&r, VN_D6O_IA_PD, 1, VN_D6S_NO_BINDING);
    assert_refused(&r, VN_D6O_IA_TA, 3, VN_D6S_NO_BINDING);
    assert_string_equal(lease_state(w, low, NULL), "released");
    q = with_others(VN_DHCP6_DECLINE, 1, 0, 1, VN_D6O_IA_TA, 3u);
    r = send_msg(w, &q);
    assert_int_equal(top_status(&r), VN_D6S_SUCCESS);
    assert_refused(&r, VN_D6O_IA_TA, 3, VN_D6S_NO_BINDING);
    assert_int_equal(stat(w, "malformed"), 0);
    assert_int_equal(stat(w, "ia_ignored"), 0);
}

/* Stateless: nothing is assigned. A Solicit gets an Advertise with each
 * IA's status (NoAddrsAvail, NoPrefixAvail), the top-level NoAddrsAvail
 * when addresses were asked for, and the DNS options; a Request, Renew or
 * Rebind of an IA_PD gets NoPrefixAvail. */
static void test_other_ias_stateless(void **state)
{
    struct world *w = *state;
    struct msg s = with_others(VN_DHCP6_SOLICIT, 1, 7, 1, VN_D6O_IA_PD, 7u);
    s.rapid = true;
    struct reply a = send_msg(w, &s);
    assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
    assert_false(has_ropt(&a, VN_D6O_RAPID_COMMIT));
    struct ia ia = get_ia(&a, 7);
    assert_int_equal(ia.naddr, 0);
    assert_int_equal(ia.status, VN_D6S_NO_ADDRS_AVAIL);
    assert_refused(&a, VN_D6O_IA_PD, 7, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&a), VN_D6S_NO_ADDRS_AVAIL);
    assert_true(has_ropt(&a, VN_D6O_DNS_SERVERS));
    assert_true(has_ropt(&a, VN_D6O_DOMAIN_LIST));
    assert_int_equal(stat(w, "no_addrs"), 1);
    /* Only an IA_PD: its NoPrefixAvail, no top-level status. */
    s = with_others(VN_DHCP6_SOLICIT, 1, 0, 1, VN_D6O_IA_PD, 7u);
    a = send_msg(w, &s);
    assert_int_equal(a.type, VN_DHCP6_ADVERTISE);
    assert_refused(&a, VN_D6O_IA_PD, 7, VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(top_status(&a), -1);
    assert_int_equal(stat(w, "no_addrs"), 1);
    const uint8_t types[] = { VN_DHCP6_REQUEST, VN_DHCP6_RENEW, VN_DHCP6_REBIND };
    for (unsigned i = 0; i < sizeof types; i++) {
        struct msg q = with_others(types[i], 1, 0, 2, VN_D6O_IA_PD, 7u, VN_D6O_IA_TA, 8u);
        q.our_server = types[i] != VN_DHCP6_REBIND;
        struct reply r = send_msg(w, &q);
        assert_int_equal(r.type, VN_DHCP6_REPLY);
        assert_refused(&r, VN_D6O_IA_PD, 7, VN_D6S_NO_PREFIX_AVAIL);
        assert_refused(&r, VN_D6O_IA_TA, 8, VN_D6S_NO_ADDRS_AVAIL);
        assert_int_equal(top_status(&r), -1);
    }
    /* An IA_PD in an Information-request is still malformed (RFC 8415 16.12). */
    struct msg ir = with_others(VN_DHCP6_INFORMATION_REQUEST, 1, 0, 1, VN_D6O_IA_PD, 7u);
    assert_false(send_msg(w, &ir).got);
    assert_int_equal(stat(w, "malformed"), 1);
    assert_int_equal(stat(w, "leases_active"), 0);
}

/* The largest reply there is: a Rebind from a client with a 130-byte DUID
 * of 8 bound IA_NAs, each listing 4 addresses besides its binding (5
 * addresses back, 4 of them with lifetimes 0), the longest domain; its
 * IA_PD and IA_TA past the 8 IAs are not answered. It leaves the gateway in
 * fragments and comes back whole: nothing was left out of REPLY_MAX. */
static void test_largest_reply(void **state)
{
    struct world *w = *state;
    static uint8_t duid[VN_DHCP6_DUID_MAX] = { 0, 2, 0, 0, 0x7f, 0xfe };
    for (size_t i = 6; i < sizeof duid; i++)
        duid[i] = (uint8_t)i;
    struct msg q = { .type = VN_DHCP6_REQUEST, .last = 9, .duid = duid,
                     .duid_len = sizeof duid, .our_server = true, .nia = 8 };
    for (unsigned i = 0; i < 8; i++)
        q.iaid[i] = 1000 + i, q.addr[i] = NO_ADDR;
    struct reply r = send_msg(w, &q);
    uint16_t low[8];
    for (unsigned i = 0; i < 8; i++) {
        struct ia ia = get_ia(&r, 1000 + i);
        assert_int_equal(ia.naddr, 1);
        low[i] = low16(&ia.addr[0]);
    }
    assert_int_equal(stat(w, "leases_active"), 8);
    struct msg b = q;
    b.type = VN_DHCP6_REBIND;
    b.our_server = false;
    for (unsigned i = 0; i < 8; i++)
        b.addr[i] = (uint16_t)(0x2000 + 0x10 * i), b.more[i] = 3;
    b.nother = 2;
    b.other_code[0] = VN_D6O_IA_PD, b.other_iaid[0] = 1;
    b.other_code[1] = VN_D6O_IA_TA, b.other_iaid[1] = 2;
    r = send_msg(w, &b);
    assert_true(r.got);
    assert_int_equal(r.type, VN_DHCP6_REPLY);
    /* 4 + server id 14 + client id 134 + 8 * (16 + 5 * 28) + DNS 20 + the
     * search list 4 + 65: past a 1500-byte MTU, so it came in fragments */
    assert_int_equal(r.len, 4 + 14 + 134 + 8 * 156 + 20 + 69);
    assert_true(48 + r.len > 1500);
    assert_int_equal(count_ropt(&r, VN_D6O_IA_NA), 8);
    for (unsigned i = 0; i < 8; i++) {
        struct ia ia = get_ia(&r, 1000 + i);
        assert_int_equal(ia.naddr, 5);
        assert_int_equal(low16(&ia.addr[0]), low[i]);
        assert_int_equal(ia.valid[0], LEASE);
        for (unsigned k = 1; k < 5; k++) {
            assert_int_equal(low16(&ia.addr[k]), 0x2000 + 0x10 * i + k - 1);
            assert_int_equal(ia.valid[k], 0);
            assert_int_equal(ia.preferred[k], 0);
        }
    }
    assert_false(has_ropt(&r, VN_D6O_IA_PD));
    assert_false(has_ropt(&r, VN_D6O_IA_TA));
    assert_int_equal(stat(w, "ia_ignored"), 2);
    size_t l;
    const uint8_t *dl = ropt(&r, VN_D6O_DOMAIN_LIST, &l);
    assert_non_null(dl);
    assert_int_equal(l, strlen(LONG_DOMAIN) + 2);
    assert_true(has_ropt(&r, VN_D6O_DNS_SERVERS));
    /* With IA_PDs and IA_TAs in place of IA_NAs the reply is smaller, and
     * every IA is answered. */
    b.nia = 4;
    b.nother = 4;
    for (unsigned i = 0; i < 4; i++)
        b.other_code[i] = i % 2 ? VN_D6O_IA_TA : VN_D6O_IA_PD, b.other_iaid[i] = 50 + i;
    r = send_msg(w, &b);
    assert_true(r.len < 4 + 14 + 134 + 8 * 156 + 20 + 69);
    assert_int_equal(count_ropt(&r, VN_D6O_IA_NA), 4);
    for (unsigned i = 0; i < 4; i++)
        assert_refused(&r, i % 2 ? VN_D6O_IA_TA : VN_D6O_IA_PD, 50 + i,
                       i % 2 ? VN_D6S_NO_ADDRS_AVAIL : VN_D6S_NO_PREFIX_AVAIL);
    assert_int_equal(stat(w, "ia_ignored"), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stateless, setup_stateless, teardown),
        cmocka_unit_test_setup_teardown(test_solicit_request, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_rapid_commit, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_dhcp6_lease_time, setup_short_lease, teardown),
        cmocka_unit_test_setup_teardown(test_renew_rebind, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_release, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_decline, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_confirm, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_reservations, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_restart_keeps_leases, setup_stateful_dir, teardown),
        cmocka_unit_test_setup_teardown(test_pool_exhaustion, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_offers_do_not_hold_pool, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_validation, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_other_ias_stateful, setup_stateful, teardown),
        cmocka_unit_test_setup_teardown(test_other_ias_stateless, setup_stateless, teardown),
        cmocka_unit_test_setup_teardown(test_largest_reply, setup_largest, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
