/* Fuzz target: the DHCPv6 message parser and reply builder
 * (gw/dhcp6_msg.c), then the server itself (gw/dhcp6.c) of a real gateway.
 *
 * 1. The whole input is one message for vn_dhcp6_parse(); what parses must
 *    keep its bounds (IA_NAs, and IA_TAs/IA_PDs within the same IA bound,
 *    addresses, identifiers, ORO), and a reply built from it (IAs with an
 *    address or a status) into a buffer of an input-chosen size must stay
 *    inside it and parse again with the IAs that fitted.
 * 2. The input is then cut into up to 12 messages, each [flags][length:2]
 *    [message], sent to a fresh stateful server (a pool of 16 addresses, a
 *    reservation by MAC, one by DUID, a name-only one) as one client
 *    sequence: flags choose the guest MAC (8 of them, reserved ones among
 *    them), a link-local or prefix source, whether the gateway's server
 *    identifier is appended (so Request/Renew/Release/Decline get past
 *    validation), the path (a frame through the switch and the gateway's
 *    egress table, or vn_dhcp6_input directly on an exact-size copy) and
 *    how far the server's clock moves first (offers and leases expire).
 *    After the sequence the lease listing, the statistics and the DNS
 *    lookups are run and checked against the pool.
 * Input: bytes (see above). */
#include "core/util.h"
#include "fuzz_world.h"
#include "gw/dhcp6.h"
#include "gw/dhcp6_msg.h"
#include "gw/gateway.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char YAML[] =
    "networks:\n"
    "  - name: lan\n"
    "    mode: isolated\n"
    "    subnet: 10.0.2.0/24\n"
    "    gateway: 10.0.2.2\n"
    "    subnet6: fd00:f::/64\n"
    "    dhcp: {lease_time: 600}\n"
    "    dhcp6: {mode: stateful}\n"
    "    dns: {address: 10.0.2.3, address6: fd00:f::3, upstream: [127.0.0.1:1]}\n"
    "    fdb_max: 64\n"
    "ports:\n"
    "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1.sock}\n";

static const uint8_t RES_DUID[10] = { 0, 2, 0, 0, 0, 9, 'f', 'u', 'z', 'z' };

static int64_t fake_now = 1800000000;
static int64_t fake_clock(void) { return fake_now; }

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    if (vn_addr_parse(s, &a))
        abort();
    return a;
}

/* The network's gateway again, with a small pool and reservations. */
static struct vn_gw *setup_gw(struct fz_world *w)
{
    struct vn_network *n = w->sw->nets[0];
    char err[256];
    vn_gw_free(n->gw);
    struct vn_net_conf *c = &n->conf;
    c->dhcp6_start = a6("fd00:f::100");
    c->dhcp6_end = a6("fd00:f::10f");
    c->nhosts6 = 3;
    memset(c->hosts6, 0, 3 * sizeof c->hosts6[0]);
    const uint8_t m0[6] = { 0x52, 0x54, 0, 0, 0, 0xc0 }, m2[6] = { 0x52, 0x54, 0, 0, 0, 0xc2 };
    memcpy(c->hosts6[0].mac, m0, 6);
    c->hosts6[0].has_mac = true;
    c->hosts6[0].ip = a6("fd00:f::50");
    strcpy(c->hosts6[0].name, "bymac");
    memcpy(c->hosts6[1].duid, RES_DUID, sizeof RES_DUID);
    c->hosts6[1].duid_len = sizeof RES_DUID;
    c->hosts6[1].ip = a6("fd00:f::105"); /* inside the pool */
    strcpy(c->hosts6[1].name, "byduid");
    memcpy(c->hosts6[2].mac, m2, 6);
    c->hosts6[2].has_mac = true;
    strcpy(c->hosts6[2].name, "named");
    if (!(n->gw = vn_gw_new(w->sw, n, NULL, err, sizeof err)) || !n->gw->dhcp6) {
        fprintf(stderr, "fuzz_dhcp6 gateway: %s\n", err);
        abort();
    }
    fake_now = 1800000000;
    vn_dhcp6_set_clock(n->gw->dhcp6, fake_clock);
    return n->gw;
}

static void check_parsed(const struct vn_dhcp6_msg *m)
{
    if (m->nia > VN_DHCP6_MAX_IA || m->noro > VN_DHCP6_MAX_ORO ||
        (m->has_clientid && (m->clientid_len < VN_DHCP6_DUID_MIN ||
                             m->clientid_len > VN_DHCP6_DUID_MAX)) ||
        (m->has_serverid && (m->serverid_len < VN_DHCP6_DUID_MIN ||
                             m->serverid_len > VN_DHCP6_DUID_MAX)))
        abort();
    for (unsigned i = 0; i < m->nia; i++) {
        if (m->ia[i].naddr > VN_DHCP6_MAX_IAADDR)
            abort();
        for (unsigned k = 0; k < i; k++)
            if (m->ia[k].iaid == m->ia[i].iaid)
                abort();
    }
    /* IA_TAs and IA_PDs share the IA bound with the IA_NAs (the reply
     * buffer is sized for it), distinct per kind */
    if (m->nia + m->nother > VN_DHCP6_MAX_IA || (m->nother && !m->has_other_ia))
        abort();
    for (unsigned i = 0; i < m->nother; i++) {
        if (m->other[i].code != VN_D6O_IA_TA && m->other[i].code != VN_D6O_IA_PD)
            abort();
        for (unsigned k = 0; k < i; k++)
            if (m->other[k].code == m->other[i].code && m->other[k].iaid == m->other[i].iaid)
                abort();
    }
}

/* A reply built from what m holds, into cap bytes; it must parse again. */
static void build_reply(const struct vn_dhcp6_msg *m, size_t cap)
{
    uint8_t *buf = malloc(cap); /* exact size: over-writes are caught */
    struct vn_dhcp6_out o;
    vn_dhcp6_out_init(&o, buf, cap, VN_DHCP6_REPLY, m->xid);
    if (m->has_clientid)
        vn_dhcp6_out_opt(&o, VN_D6O_CLIENTID, m->clientid, m->clientid_len);
    if (m->has_serverid)
        vn_dhcp6_out_opt(&o, VN_D6O_SERVERID, m->serverid, m->serverid_len);
    if (m->rapid_commit)
        vn_dhcp6_out_opt(&o, VN_D6O_RAPID_COMMIT, NULL, 0);
    unsigned want = 0;
    for (unsigned i = 0; i < m->nia; i++) {
        const struct vn_dhcp6_ia *ia = &m->ia[i];
        size_t before = o.len;
        if (ia->naddr)
            vn_dhcp6_out_ia_na(&o, ia->iaid, ia->t1, ia->t2, ia->addr[0].addr,
                               ia->addr[0].preferred, ia->addr[0].valid, -1, NULL);
        else
            vn_dhcp6_out_ia_na(&o, ia->iaid, 0, 0, NULL, 0, 0, VN_D6S_NO_ADDRS_AVAIL,
                               "no addresses available");
        want += o.len != before;
    }
    unsigned want_other = 0;
    for (unsigned i = 0; i < m->nother; i++) {
        size_t before = o.len;
        vn_dhcp6_out_ia_status(&o, m->other[i].code, m->other[i].iaid, VN_D6S_NO_PREFIX_AVAIL,
                               "no prefixes available");
        want_other += o.len != before;
    }
    vn_dhcp6_out_status(&o, VN_D6S_SUCCESS, "ok");
    vn_dhcp6_out_domain_list(&o, "vnet.internal");
    if (o.len > cap || o.len < VN_DHCP6_HDR)
        abort();
    struct vn_dhcp6_msg back;
    if (vn_dhcp6_parse(buf, o.len, &back) || back.nia != want || back.xid != m->xid ||
        back.nother != want_other)
        abort();
    free(buf);
}

/* One message of the sequence as a frame through the switch. */
static void as_frame(struct fz_world *w, const uint8_t mac[6], const struct vn_addr *src,
                     const uint8_t *m, size_t len)
{
    static uint8_t f[14 + 40 + 8 + 2048];
    static const uint8_t mcast[6] = { 0x33, 0x33, 0, 1, 0, 2 };
    struct vn_addr dst = a6("ff02::1:2");
    memcpy(f, mcast, 6);
    memcpy(f + 6, mac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    uint8_t *ip = f + 14, *u = ip + 40;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    vn_put_be16(ip + 4, (uint16_t)(8 + len));
    ip[6] = VN_IPPROTO_UDP;
    ip[7] = 1;
    memcpy(ip + 8, src->a, 16);
    memcpy(ip + 24, dst.a, 16);
    vn_put_be16(u, 546);
    vn_put_be16(u + 2, 547);
    vn_put_be16(u + 4, (uint16_t)(8 + len));
    vn_put_be16(u + 6, 0);
    memcpy(u + 8, m, len);
    uint16_t c = vn_csum_fold(
        vn_csum_add(vn_csum_pseudo(src, &dst, VN_IPPROTO_UDP, (uint32_t)(8 + len)), u, 8 + len));
    vn_put_be16(u + 6, c ? c : 0xffff);
    const uint8_t *frames[1] = { f };
    size_t lens[1] = { 14 + 40 + 8 + len };
    fz_world_input(w, fz_world_port(w, 0), frames, lens, 1);
}

static void check_state(struct vn_gw *gw)
{
    struct vn_dhcp6 *d = gw->dhcp6;
    json_t *ls = vn_dhcp6_leases_json(d), *st = vn_dhcp6_stats_json(d);
    size_t i, bound = 0;
    json_t *e;
    struct vn_addr lo = a6("fd00:f::100"), hi = a6("fd00:f::10f");
    json_array_foreach(ls, i, e) {
        const char *ip = json_string_value(json_object_get(e, "ip"));
        const char *state = json_string_value(json_object_get(e, "state"));
        struct vn_addr a;
        if (!ip || !state || vn_addr_parse(ip, &a) || a.family != AF_INET6)
            abort();
        bool pool = memcmp(a.a, lo.a, 16) >= 0 && memcmp(a.a, hi.a, 16) <= 0;
        if (!pool && !vn_addr_eq(&a, &gw->conf->hosts6[0].ip) &&
            !vn_addr_eq(&a, &gw->conf->hosts6[1].ip))
            abort(); /* an address the server may not give */
        if (!strcmp(state, "bound"))
            bound++;
        const char *n = vn_dhcp6_name_of(d, &a);
        if (n && strcmp(n, "bymac") && strcmp(n, "byduid") && strcmp(n, "named"))
            abort();
    }
    if ((size_t)json_integer_value(json_object_get(st, "leases_active")) != bound)
        abort();
    struct vn_addr out;
    const char *names[] = { "bymac", "byduid", "named", "nobody" };
    for (unsigned k = 0; k < 4; k++)
        if (vn_dhcp6_lookup_name(d, names[k], &out) == 0 && out.family != AF_INET6)
            abort();
    json_decref(ls);
    json_decref(st);
}

static void run_sequence(const uint8_t *data, size_t size)
{
    /* One world for the process (building a gateway per input is most of
     * the cost); each input gets a fresh DHCPv6 server, so inputs do not
     * depend on each other. What else the gateway keeps (neighbours, the
     * switch's bindings of the 18 addresses) the server never reads. */
    static struct fz_world *w;
    static struct vn_gw *gw;
    if (!w) {
        fz_isolate();
        w = fz_world_new(YAML);
        gw = setup_gw(w);
    }
    char err[256];
    vn_dhcp6_free(gw->dhcp6);
    if (!(gw->dhcp6 = vn_dhcp6_new(gw, NULL, err, sizeof err))) {
        fprintf(stderr, "fuzz_dhcp6 server: %s\n", err);
        abort();
    }
    fake_now = 1800000000;
    vn_dhcp6_set_clock(gw->dhcp6, fake_clock);
    uint8_t sid[10] = { 0, 3, 0, 1 };
    memcpy(sid + 4, gw->mac, 6);
    static const int64_t steps[4] = { 0, 30, 700, 4000 };
    size_t off = 0;
    for (unsigned k = 0; k < 12 && size - off >= 3; k++) {
        uint8_t fl = data[off];
        size_t len = vn_get_be16(data + off + 1);
        off += 3;
        if (len > size - off)
            len = size - off;
        if (len > 2000)
            len = 2000;
        uint8_t *m = malloc(len + 14 + 1); /* room for our server identifier */
        memcpy(m, data + off, len);
        off += len;
        size_t mlen = len;
        if (fl & 1) {
            vn_put_be16(m + mlen, VN_D6O_SERVERID);
            vn_put_be16(m + mlen + 2, sizeof sid);
            memcpy(m + mlen + 4, sid, sizeof sid);
            mlen += 4 + sizeof sid;
        }
        uint8_t mac[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(0xc0 + ((fl >> 1) & 7)) };
        char s[64];
        snprintf(s, sizeof s, "%s:5054:ff:fe00:%x", fl & 0x10 ? "fd00:f:0:0" : "fe80:0:0:0",
                 mac[5]);
        struct vn_addr src = a6(s);
        fake_now += steps[fl >> 6];
        if (fl & 0x20) {
            as_frame(w, mac, &src, m, mlen);
        } else {
            uint8_t *exact = malloc(mlen ? mlen : 1); /* over-reads are caught */
            memcpy(exact, m, mlen);
            struct vn_ipp ip = { .family = AF_INET6, .proto = VN_IPPROTO_UDP, .src = src,
                                 .dst = a6("ff02::1:2") };
            struct vn_udp u = { 546, 547, (uint16_t)(8 + mlen), exact, (uint16_t)mlen };
            vn_dhcp6_input(gw->dhcp6, mac, &ip, &u);
            vn_gw_flush(gw);
            free(exact);
        }
        free(m);
    }
    check_state(gw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 16384)
        return 0;
    uint8_t *p = malloc(size ? size : 1); /* exact size: over-reads are caught */
    memcpy(p, data, size);
    struct vn_dhcp6_msg m;
    if (vn_dhcp6_parse(p, size, &m) == 0) {
        check_parsed(&m);
        uint8_t mac[6];
        if (m.has_clientid)
            vn_dhcp6_duid_mac(m.clientid, m.clientid_len, mac);
        build_reply(&m, 4 + (size_t)(size ? p[size - 1] : 0) * 4);
        build_reply(&m, 1500);
    }
    free(p);
    run_sequence(data, size);
    return 0;
}
