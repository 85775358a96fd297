/* Unit tests of DNS64 (RFC 6147; gw/dns64.c and its use in gw/dns.c).
 * The pure functions: which AAAA answers stand (::ffff:0:0/96 excluded),
 * the TTL bound from the negative answer's SOA (600 s without one), AAAA
 * records synthesized from A answers (the CNAME chain kept, owners kept,
 * excluded IPv4 addresses skipped, AA/AD/TC cleared, TTLs bounded, any
 * RFC 6052 prefix), reverse names of the prefix mapped to in-addr.arpa and
 * answered through a CNAME, malformed and oversized input refused. Then
 * through the real forwarder of a nat64 network, with an upstream the test
 * plays on 127.0.0.1 and a fake loop clock: an AAAA query answered NODATA
 * is asked again for A and the guest gets the synthesized AAAA with the
 * bounded TTL; the second time both the synthesized AAAA and the A answer
 * come from the cache; an AAAA answer that is an error other than
 * NXDOMAIN (REFUSED) is asked for A too; AAAA answers and NXDOMAIN pass
 * unchanged; A records of 127/8 only give the guest the NODATA it would
 * have had, as does an A query that times out; a truncated A answer makes
 * the guest retry over TCP; a guest that sets DO and CD gets no synthesis;
 * a PTR for an address of the prefix goes upstream as in-addr.arpa. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "gw/dns.h"
#include "gw/dns64.h"
#include "gw/dns_cache.h"
#include "gw/dns_msg.h"
#include "gw/gateway.h"
#include "harness.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "pkt/nat64.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    assert_int_equal(vn_addr_parse(s, &a), 0);
    return a;
}

/* ---- building upstream answers ---- */

struct msgb {
    uint8_t b[2048];
    size_t n;
    unsigned count[3];
    int section;
};

/* A response to name/qtype: id, flags (QR added), the question. */
static void mb_start(struct msgb *m, const char *name, uint16_t qtype, uint16_t id, uint16_t flags)
{
    memset(m, 0, sizeof *m);
    vn_dns_put16(m->b, id);
    vn_dns_put16(m->b + 2, (uint16_t)(flags | VN_DNS_F_QR));
    vn_dns_put16(m->b + 4, 1);
    int nl = vn_dns_name_from_text(name, m->b + VN_DNS_HLEN, 256);
    assert_true(nl > 0);
    m->n = VN_DNS_HLEN + (size_t)nl;
    vn_dns_put16(m->b + m->n, qtype);
    vn_dns_put16(m->b + m->n + 2, VN_DNS_C_IN);
    m->n += 4;
}

/* A record in section sec (0 answer, 1 authority, 2 additional; in order):
 * owner the question (a pointer) when owner is NULL. */
static void mb_rr(struct msgb *m, int sec, const char *owner, uint16_t type, uint32_t ttl,
                  const void *rd, uint16_t rdlen)
{
    assert_true(sec >= m->section);
    m->section = sec;
    if (owner) {
        int nl = vn_dns_name_from_text(owner, m->b + m->n, 256);
        assert_true(nl > 0);
        m->n += (size_t)nl;
    } else {
        vn_dns_put16(m->b + m->n, 0xc00c);
        m->n += 2;
    }
    vn_dns_put16(m->b + m->n, type);
    vn_dns_put16(m->b + m->n + 2, VN_DNS_C_IN);
    vn_dns_put16(m->b + m->n + 4, (uint16_t)(ttl >> 16));
    vn_dns_put16(m->b + m->n + 6, (uint16_t)ttl);
    vn_dns_put16(m->b + m->n + 8, rdlen);
    memcpy(m->b + m->n + 10, rd, rdlen);
    m->n += 10u + rdlen;
    m->count[sec]++;
    vn_dns_put16(m->b + 6, (uint16_t)m->count[0]);
    vn_dns_put16(m->b + 8, (uint16_t)m->count[1]);
    vn_dns_put16(m->b + 10, (uint16_t)m->count[2]);
}

static void mb_a(struct msgb *m, const char *owner, uint32_t v4, uint32_t ttl)
{
    uint8_t a[4] = { (uint8_t)(v4 >> 24), (uint8_t)(v4 >> 16), (uint8_t)(v4 >> 8), (uint8_t)v4 };
    mb_rr(m, 0, owner, VN_DNS_T_A, ttl, a, 4);
}

static void mb_name_rr(struct msgb *m, int sec, const char *owner, uint16_t type, uint32_t ttl,
                       const char *target)
{
    uint8_t w[256];
    int l = vn_dns_name_from_text(target, w, sizeof w);
    assert_true(l > 0);
    mb_rr(m, sec, owner, type, ttl, w, (uint16_t)l);
}

/* An SOA in the authority section (mname compressed to the question). */
static void mb_soa(struct msgb *m, uint32_t ttl, uint32_t minimum)
{
    uint8_t rd[64];
    size_t n = 0;
    rd[n++] = 0xc0, rd[n++] = 0x0c; /* mname: a pointer into the message */
    int l = vn_dns_name_from_text("hostmaster.example.test", rd + n, 40);
    n += (size_t)l;
    for (int i = 0; i < 4; i++, n += 4)
        vn_put_be32(rd + n, 1000u + (unsigned)i);
    vn_put_be32(rd + n, minimum);
    n += 4;
    mb_rr(m, 1, "example.test", VN_DNS_T_SOA, ttl, rd, (uint16_t)n);
}

static struct vn_dns_question question(const char *name, uint16_t qtype)
{
    struct vn_dns_question q = { .qtype = qtype, .qclass = VN_DNS_C_IN };
    int l = vn_dns_name_from_text(name, q.name, sizeof q.name);
    assert_true(l > 0);
    q.name_len = (uint16_t)l;
    return q;
}

/* The answer-section record i of message m: type, TTL, rdata, owner text. */
struct rec {
    uint16_t type;
    uint32_t ttl;
    uint8_t rd[256];
    uint16_t rdlen;
    char owner[256];
    int sec;
};

static unsigned recs(const uint8_t *m, size_t len, struct rec *out, unsigned max)
{
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(m, len, &r), 0);
    size_t off = VN_DNS_HLEN + r.q.name_len + 4;
    unsigned total = r.h.ancount + r.h.nscount, k = 0;
    for (unsigned i = 0; i < total && k < max; i++, k++) {
        uint8_t name[256];
        size_t next;
        assert_true(vn_dns_name_read(m, len, off, name, &next) > 0);
        assert_true(vn_dns_name_to_text(name, out[k].owner, sizeof out[k].owner) >= 0);
        out[k].type = vn_dns_get16(m + next);
        out[k].ttl = (uint32_t)vn_dns_get16(m + next + 4) << 16 | vn_dns_get16(m + next + 6);
        out[k].rdlen = vn_dns_get16(m + next + 8);
        out[k].sec = i < r.h.ancount ? 0 : 1;
        if (out[k].type == VN_DNS_T_CNAME || out[k].type == VN_DNS_T_PTR) {
            size_t nn;
            int l = vn_dns_name_read(m, len, next + 10, out[k].rd, &nn);
            assert_true(l > 0);
            out[k].rdlen = (uint16_t)l;
        } else {
            memcpy(out[k].rd, m + next + 10, out[k].rdlen);
        }
        off = next + 10 + vn_dns_get16(m + next + 8);
    }
    return k;
}

static void assert_name(const uint8_t *wire, const char *text)
{
    char t[256];
    assert_true(vn_dns_name_to_text(wire, t, sizeof t) >= 0);
    assert_string_equal(t, text);
}

/* ---- the pure functions ---- */

static void test_exclusions_and_aaaa(void **state)
{
    (void)state;
    assert_true(vn_dns64_v4_excluded(IP(0, 1, 2, 3)));
    assert_true(vn_dns64_v4_excluded(IP(127, 0, 0, 1)));
    assert_true(vn_dns64_v4_excluded(IP(224, 0, 0, 251)));
    assert_true(vn_dns64_v4_excluded(IP(255, 255, 255, 255)));
    assert_false(vn_dns64_v4_excluded(IP(10, 0, 2, 2)));
    assert_false(vn_dns64_v4_excluded(IP(192, 0, 2, 1)));
    assert_false(vn_dns64_v4_excluded(IP(169, 254, 169, 254)));
    struct msgb m;
    struct vn_addr real = a6("2001:db8::1"), mapped = a6("::ffff:192.0.2.1");
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    assert_false(vn_dns64_has_aaaa(m.b, m.n)); /* NODATA */
    mb_rr(&m, 0, NULL, VN_DNS_T_AAAA, 60, mapped.a, 16);
    assert_false(vn_dns64_has_aaaa(m.b, m.n)); /* only the excluded ::ffff:0:0/96 */
    mb_rr(&m, 0, NULL, VN_DNS_T_AAAA, 60, real.a, 16);
    assert_true(vn_dns64_has_aaaa(m.b, m.n));
    /* An AAAA in the authority section does not count; nor does a malformed message. */
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    mb_rr(&m, 1, NULL, VN_DNS_T_AAAA, 60, real.a, 16);
    assert_false(vn_dns64_has_aaaa(m.b, m.n));
    assert_false(vn_dns64_has_aaaa(m.b, m.n - 3));
    assert_false(vn_dns64_has_aaaa(m.b, 5));
}

static void test_ttl_bound(void **state)
{
    (void)state;
    struct msgb m;
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    assert_int_equal(vn_dns64_ttl_bound(m.b, m.n), 600); /* no SOA */
    mb_soa(&m, 300, 120);
    assert_int_equal(vn_dns64_ttl_bound(m.b, m.n), 120);
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    mb_soa(&m, 30, 900);
    assert_int_equal(vn_dns64_ttl_bound(m.b, m.n), 30);
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    mb_soa(&m, 86400, 3600);
    assert_int_equal(vn_dns64_ttl_bound(m.b, m.n), 600);
    mb_start(&m, "www.example.test", VN_DNS_T_AAAA, 1, 0);
    mb_soa(&m, 0x80000001u, 900); /* RFC 2181 8: the top bit set is 0 */
    assert_int_equal(vn_dns64_ttl_bound(m.b, m.n), 0);
}

static void test_synth(void **state)
{
    (void)state;
    struct msgb m;
    mb_start(&m, "www.example.test", VN_DNS_T_A, 0x7777,
             VN_DNS_F_RD | VN_DNS_F_RA | VN_DNS_F_AA | 0x0020 /* AD */);
    mb_name_rr(&m, 0, NULL, VN_DNS_T_CNAME, 3000, "edge.example.test");
    mb_a(&m, "edge.example.test", IP(192, 0, 2, 1), 900);
    mb_a(&m, "edge.example.test", IP(127, 0, 0, 1), 900); /* excluded */
    mb_a(&m, "edge.example.test", IP(198, 51, 100, 7), 100);
    mb_soa(&m, 5, 5); /* authority and additional are not carried over */
    struct vn_dns_question q6 = question("WWW.example.test", VN_DNS_T_AAAA);
    struct vn_addr wkp = vn_nat64_wkp();
    uint8_t out[1500];
    size_t n = vn_dns64_synth(out, sizeof out, m.b, m.n, &q6, 0x4242, &wkp, 96, 300, 1232);
    assert_true(n > 0);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(out, n, &r), 0);
    assert_int_equal(r.h.id, 0x4242);
    assert_true(r.h.flags & VN_DNS_F_QR);
    assert_true(r.h.flags & VN_DNS_F_RD);
    assert_true(r.h.flags & VN_DNS_F_RA);
    assert_false(r.h.flags & VN_DNS_F_AA);
    assert_false(r.h.flags & 0x0020);
    assert_int_equal(r.h.flags & VN_DNS_F_RCODE, 0);
    assert_int_equal(r.q.qtype, VN_DNS_T_AAAA);
    assert_memory_equal(r.q.name, q6.name, q6.name_len); /* the guest's spelling */
    assert_int_equal(r.h.ancount, 3);
    assert_int_equal(r.h.nscount, 0);
    assert_true(r.edns);
    assert_int_equal(r.edns_size, 1232);
    struct rec rr[4];
    assert_int_equal(recs(out, n, rr, 4), 3);
    assert_int_equal(rr[0].type, VN_DNS_T_CNAME);
    assert_string_equal(rr[0].owner, "www.example.test");
    assert_name(rr[0].rd, "edge.example.test");
    assert_int_equal(rr[0].ttl, 3000);
    struct vn_addr x1 = a6("64:ff9b::c000:201"), x2 = a6("64:ff9b::c633:6407");
    assert_int_equal(rr[1].type, VN_DNS_T_AAAA);
    assert_string_equal(rr[1].owner, "edge.example.test");
    assert_memory_equal(rr[1].rd, x1.a, 16);
    assert_int_equal(rr[1].ttl, 300); /* min(900, the bound) */
    assert_memory_equal(rr[2].rd, x2.a, 16);
    assert_int_equal(rr[2].ttl, 100);
    /* The cache takes it as it takes an upstream answer. */
    struct vn_dns_cache *c = vn_dns_cache_new(4);
    assert_int_equal(vn_dns_cache_put(c, out, n, false, false, 100), 0);
    vn_dns_cache_free(c);
    /* No OPT when asked for none; another prefix length. */
    struct vn_addr p64 = a6("2001:db8:122:344::");
    n = vn_dns64_synth(out, sizeof out, m.b, m.n, &q6, 1, &p64, 64, 600, 0);
    assert_int_equal(vn_dns_msg_parse(out, n, &r), 0);
    assert_false(r.edns);
    assert_int_equal(recs(out, n, rr, 4), 3);
    struct vn_addr x3 = a6("2001:db8:122:344:c0:2:100:0");
    assert_memory_equal(rr[1].rd, x3.a, 16);
    /* Too small a buffer, a malformed answer, nothing to synthesize: 0. */
    assert_int_equal(vn_dns64_synth(out, 60, m.b, m.n, &q6, 1, &wkp, 96, 600, 0), 0);
    assert_int_equal(vn_dns64_synth(out, sizeof out, m.b, m.n - 1, &q6, 1, &wkp, 96, 600, 0), 0);
    assert_int_equal(vn_dns64_synth(out, sizeof out, m.b, m.n, &q6, 1, &wkp, 80, 600, 0), 0);
    mb_start(&m, "lo.example.test", VN_DNS_T_A, 1, 0);
    mb_a(&m, NULL, IP(127, 0, 0, 1), 60);
    mb_a(&m, NULL, IP(224, 0, 0, 1), 60);
    assert_int_equal(vn_dns64_synth(out, sizeof out, m.b, m.n, &q6, 1, &wkp, 96, 600, 0), 0);
    mb_start(&m, "none.example.test", VN_DNS_T_A, 1, 0);
    mb_soa(&m, 60, 60);
    assert_int_equal(vn_dns64_synth(out, sizeof out, m.b, m.n, &q6, 1, &wkp, 96, 600, 0), 0);
}

static void test_ptr(void **state)
{
    (void)state;
    struct vn_addr wkp = vn_nat64_wkp(), x = a6("64:ff9b::c000:201");
    uint8_t name6[128], name4[64];
    int l6 = vn_dns_ptr6_name(x.a, 32, name6, sizeof name6);
    assert_true(l6 > 0);
    uint32_t v4 = 0;
    int l4 = vn_dns64_ptr_map(name6, &wkp, 96, name4, sizeof name4, &v4);
    assert_true(l4 > 0);
    assert_int_equal(v4, IP(192, 0, 2, 1));
    assert_name(name4, "1.2.0.192.in-addr.arpa");
    /* Outside the prefix, partial names, a /64 address with its u octet set. */
    struct vn_addr out6 = a6("2001:db8::c000:201");
    uint8_t n2[128];
    vn_dns_ptr6_name(out6.a, 32, n2, sizeof n2);
    assert_int_equal(vn_dns64_ptr_map(n2, &wkp, 96, name4, sizeof name4, NULL), -1);
    vn_dns_ptr6_name(x.a, 24, n2, sizeof n2);
    assert_int_equal(vn_dns64_ptr_map(n2, &wkp, 96, name4, sizeof name4, NULL), -1);
    struct vn_addr p64 = a6("2001:db8:122:344::"), u = a6("2001:db8:122:344:1c0:2:100:0");
    vn_dns_ptr6_name(u.a, 32, n2, sizeof n2);
    assert_int_equal(vn_dns64_ptr_map(n2, &p64, 64, name4, sizeof name4, NULL), -1);
    /* The answer: a CNAME to the in-addr.arpa name, then upstream's PTR. */
    struct msgb m;
    mb_start(&m, "1.2.0.192.in-addr.arpa", VN_DNS_T_PTR, 9, VN_DNS_F_RD | VN_DNS_F_RA);
    uint8_t rd[2] = { 0xc0, 0x0c }; /* a PTR whose target is compressed */
    mb_rr(&m, 0, NULL, VN_DNS_T_PTR, 500, rd, 2);
    struct vn_dns_question q6 = { .qtype = VN_DNS_T_PTR, .qclass = VN_DNS_C_IN,
                                  .name_len = (uint16_t)l6 };
    memcpy(q6.name, name6, (size_t)l6);
    uint8_t out[1500];
    size_t n = vn_dns64_ptr_answer(out, sizeof out, m.b, m.n, &q6, name4, 0x1234, 1232);
    assert_true(n > 0);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(out, n, &r), 0);
    assert_int_equal(r.h.id, 0x1234);
    assert_memory_equal(r.q.name, name6, (size_t)l6);
    assert_int_equal(r.q.qtype, VN_DNS_T_PTR);
    struct rec rr[4];
    assert_int_equal(recs(out, n, rr, 4), 2);
    assert_int_equal(rr[0].type, VN_DNS_T_CNAME);
    assert_name(rr[0].rd, "1.2.0.192.in-addr.arpa");
    assert_int_equal(rr[0].ttl, 500);
    assert_int_equal(rr[1].type, VN_DNS_T_PTR);
    assert_string_equal(rr[1].owner, "1.2.0.192.in-addr.arpa");
    assert_name(rr[1].rd, "1.2.0.192.in-addr.arpa"); /* decompressed */
    /* NXDOMAIN: the rcode kept, the SOA in the authority section. */
    mb_start(&m, "1.2.0.192.in-addr.arpa", VN_DNS_T_PTR, 9, VN_DNS_R_NXDOMAIN);
    mb_soa(&m, 3000, 60);
    n = vn_dns64_ptr_answer(out, sizeof out, m.b, m.n, &q6, name4, 1, 0);
    assert_int_equal(vn_dns_msg_parse(out, n, &r), 0);
    assert_int_equal(r.h.flags & VN_DNS_F_RCODE, VN_DNS_R_NXDOMAIN);
    assert_int_equal(r.h.ancount, 1);
    assert_int_equal(r.h.nscount, 1);
    assert_int_equal(recs(out, n, rr, 4), 2);
    assert_int_equal(rr[1].type, VN_DNS_T_SOA);
    assert_int_equal(rr[1].sec, 1);
    assert_int_equal(rr[0].ttl, 600);
    /* A malformed SOA is refused, not copied. */
    m.b[m.n - 21] ^= 0x3f;
    assert_int_equal(vn_dns64_ptr_answer(out, sizeof out, m.b, m.n, &q6, name4, 1, 0), 0);
}

/* ---- through the forwarder ---- */

#define PREFIX "fd00:1:2:3::"
#define DNS6 PREFIX "3"
#define GUEST PREFIX "11"

static const char CONF[] = "networks:\n"
                           "  - name: lan\n"
                           "    mode: nat\n"
                           "    subnet6: " PREFIX "/64\n"
                           "    nat64: true\n"
                           "    dhcp: false\n"
                           "    dns: {upstream: ['127.0.0.1:%u'], cache: 64}\n"
                           "ports:\n"
                           "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n";

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_port *guest;
    struct vn_gw *gw;
    struct harness_rec rec;
    int up;
};

static uint64_t fake_ns;
static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ns;
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    char yaml[1024], err[256];
    w->up = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    if (bind(w->up, (struct sockaddr *)&sa, sl) || getsockname(w->up, (struct sockaddr *)&sa, &sl))
        fail_msg("upstream socket");
    snprintf(yaml, sizeof yaml, CONF, ntohs(sa.sin_port));
    w->c = harness_config(yaml);
    w->loop = vn_loop_new();
    fake_ns = 1000ull * 1000000000ull;
    vn_loop_set_clock(w->loop, fake_clock, NULL);
    w->sw = vn_switch_new(w->loop);
    struct vn_network *n = harness_network(w->sw, &w->c->nets[0]);
    w->guest = harness_port(w->sw, &w->c->ports[0], &w->rec);
    if (!(w->gw = vn_gw_new(w->sw, n, NULL, err, sizeof err)))
        fail_msg("%s", err);
    assert_non_null(w->gw->dns);
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
    close(w->up);
    free(w);
    return 0;
}

/* The guest asks name/qtype (id 0x4242; EDNS with DO and CD when dnssec). */
static void guest_ask(struct world *w, const char *name, uint16_t qtype, bool dnssec)
{
    uint8_t q[512], f[1600];
    memset(q, 0, VN_DNS_HLEN);
    vn_dns_put16(q, 0x4242);
    vn_dns_put16(q + 2, (uint16_t)(VN_DNS_F_RD | (dnssec ? VN_DNS_F_CD : 0)));
    vn_dns_put16(q + 4, 1);
    int nl = vn_dns_name_from_text(name, q + VN_DNS_HLEN, 300);
    assert_true(nl > 0);
    size_t ql = VN_DNS_HLEN + (size_t)nl;
    vn_dns_put16(q + ql, qtype);
    vn_dns_put16(q + ql + 2, VN_DNS_C_IN);
    ql += 4;
    if (dnssec) {
        static const uint8_t opt[11] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0 };
        vn_dns_put16(q + 10, 1);
        memcpy(q + ql, opt, sizeof opt);
        ql += sizeof opt;
    }
    struct vn_addr s = a6(GUEST), d = a6(DNS6);
    static const uint8_t gmac[6] = { 0x52, 0x54, 0, 0, 0, 0x11 };
    uint8_t *u = harness_ip6(f, w->gw->mac, gmac, s.a, d.a, VN_IPPROTO_UDP, 64, NULL, 0, 8 + ql);
    vn_put_be16(u, 3333);
    vn_put_be16(u + 2, 53);
    vn_put_be16(u + 4, (uint16_t)(8 + ql));
    memcpy(u + 8, q, ql);
    harness_csum6(u, 8 + ql, s.a, d.a, VN_IPPROTO_UDP, 6);
    memset(&w->rec, 0, sizeof w->rec);
    harness_input(w->sw, w->guest, f, (size_t)(u + 8 + ql - f));
    vn_gw_flush(w->gw);
    vn_loop_once(w->loop, 0); /* the pool's batched send */
}

/* What reached the upstream (parsed into q), and from where; false if
 * nothing within the wait. */
static bool upstream_got(struct world *w, struct vn_dns_msg *q, struct sockaddr_in *from,
                         int wait_ms)
{
    struct pollfd p = { w->up, POLLIN, 0 };
    if (poll(&p, 1, wait_ms) != 1)
        return false;
    uint8_t m[1500];
    socklen_t fl = sizeof *from;
    ssize_t n = recvfrom(w->up, m, sizeof m, 0, (struct sockaddr *)from, &fl);
    assert_true(n > VN_DNS_HLEN);
    assert_int_equal(vn_dns_msg_parse(m, (size_t)n, q), 0);
    assert_true(q->has_q);
    return true;
}

static void upstream_send(struct world *w, struct msgb *m, const struct sockaddr_in *to)
{
    assert_int_equal(sendto(w->up, m->b, m->n, 0, (const struct sockaddr *)to, sizeof *to),
                     (ssize_t)m->n);
    vn_loop_once(w->loop, 100);
    vn_loop_once(w->loop, 0);
}

/* The answer the guest got (raw into buf); its length, or 0. */
static size_t guest_answer(struct world *w, uint8_t *buf)
{
    for (int t = 0; t < 20; t++) {
        vn_gw_flush(w->gw);
        for (unsigned i = 0; i < w->rec.n; i++) {
            const uint8_t *g = w->rec.f[i];
            struct vn_ip6 ip;
            if (vn_get_be16(g + 12) != VN_ETH_TYPE_IPV6 ||
                vn_ip6_parse(g + 14, w->rec.len[i] - 14, &ip) != VN_IP_OK ||
                ip.proto != VN_IPPROTO_UDP)
                continue;
            struct vn_udp u;
            assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
            assert_int_equal(u.sport, 53);
            memcpy(buf, u.data, u.dlen);
            struct vn_dns_msg r;
            assert_int_equal(vn_dns_msg_parse(buf, u.dlen, &r), 0);
            assert_int_equal(r.h.id, 0x4242);
            return u.dlen;
        }
        vn_loop_once(w->loop, 10);
    }
    return 0;
}

static json_int_t dns64_stat(struct world *w, const char *key)
{
    json_t *o = vn_dns_stats_json(w->gw->dns);
    json_t *v = json_object_get(json_object_get(o, "dns64"), key);
    if (!v)
        fail_msg("no dns64 stat %s", key);
    json_int_t n = json_integer_value(v);
    json_decref(o);
    return n;
}

/* Reply to what upstream got with m built for its question and id. */
static void reply_nodata(struct world *w, const struct vn_dns_msg *q, const struct sockaddr_in *to,
                         uint32_t soa_ttl)
{
    struct msgb m;
    char name[256];
    vn_dns_name_to_text(q->q.name, name, sizeof name);
    mb_start(&m, name, q->q.qtype, q->h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    if (soa_ttl)
        mb_soa(&m, soa_ttl, soa_ttl);
    upstream_send(w, &m, to);
}

static void test_forwarder_synthesizes(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048];
    guest_ask(w, "v4only.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_AAAA);
    reply_nodata(w, &q, &from, 120);
    assert_int_equal(guest_answer(w, ans), 0); /* nothing yet: DNS64 asks for A */
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_A);
    assert_name(q.q.name, "v4only.example.test");
    struct msgb m;
    mb_start(&m, "v4only.example.test", VN_DNS_T_A, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    mb_a(&m, NULL, IP(192, 0, 2, 1), 900);
    upstream_send(w, &m, &from);
    size_t n = guest_answer(w, ans);
    assert_true(n > 0);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_int_equal(r.q.qtype, VN_DNS_T_AAAA);
    assert_false(r.edns); /* the guest sent none */
    struct rec rr[4];
    assert_int_equal(recs(ans, n, rr, 4), 1);
    struct vn_addr x = a6("64:ff9b::c000:201");
    assert_int_equal(rr[0].type, VN_DNS_T_AAAA);
    assert_memory_equal(rr[0].rd, x.a, 16);
    assert_int_equal(rr[0].ttl, 120); /* min(A TTL 900, the SOA's 120) */
    assert_int_equal(dns64_stat(w, "a_queries"), 1);
    assert_int_equal(dns64_stat(w, "synthesized"), 1);
    /* Again: the synthesized answer from the cache, nothing upstream. */
    guest_ask(w, "v4only.example.test", VN_DNS_T_AAAA, false);
    n = guest_answer(w, ans);
    assert_true(n > 0);
    assert_int_equal(recs(ans, n, rr, 4), 1);
    assert_memory_equal(rr[0].rd, x.a, 16);
    /* The A answer was cached under A. */
    guest_ask(w, "v4only.example.test", VN_DNS_T_A, false);
    n = guest_answer(w, ans);
    assert_true(n > 0);
    assert_int_equal(recs(ans, n, rr, 4), 1);
    assert_int_equal(rr[0].type, VN_DNS_T_A);
    assert_false(upstream_got(w, &q, &from, 50));
    assert_int_equal(dns64_stat(w, "synthesized"), 1);
}

static void test_forwarder_passes(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048];
    struct rec rr[4];
    /* An AAAA record: as it is, no A query. */
    guest_ask(w, "dual.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    struct msgb m;
    struct vn_addr real = a6("2001:db8::5");
    mb_start(&m, "dual.example.test", VN_DNS_T_AAAA, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    mb_rr(&m, 0, NULL, VN_DNS_T_AAAA, 60, real.a, 16);
    upstream_send(w, &m, &from);
    size_t n = guest_answer(w, ans);
    assert_int_equal(recs(ans, n, rr, 4), 1);
    assert_memory_equal(rr[0].rd, real.a, 16);
    /* NXDOMAIN: as it is. */
    guest_ask(w, "nosuch.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    mb_start(&m, "nosuch.example.test", VN_DNS_T_AAAA, q.h.id, VN_DNS_F_RD | VN_DNS_R_NXDOMAIN);
    mb_soa(&m, 60, 60);
    upstream_send(w, &m, &from);
    n = guest_answer(w, ans);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_int_equal(r.h.flags & VN_DNS_F_RCODE, VN_DNS_R_NXDOMAIN);
    /* Only loopback A records: the guest gets the NODATA (with its SOA). */
    guest_ask(w, "lo.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    reply_nodata(w, &q, &from, 77);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_A);
    mb_start(&m, "lo.example.test", VN_DNS_T_A, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    mb_a(&m, NULL, IP(127, 0, 0, 1), 60);
    upstream_send(w, &m, &from);
    n = guest_answer(w, ans);
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_int_equal(r.q.qtype, VN_DNS_T_AAAA);
    assert_int_equal(r.h.ancount, 0);
    assert_int_equal(r.h.nscount, 1);
    assert_int_equal(r.h.flags & VN_DNS_F_RCODE, VN_DNS_R_NOERROR);
    /* DO and CD: the guest validates, so no synthesis. */
    guest_ask(w, "signed.example.test", VN_DNS_T_AAAA, true);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_true(q.edns_do);
    reply_nodata(w, &q, &from, 60);
    n = guest_answer(w, ans);
    assert_true(n > 0);
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_int_equal(r.h.ancount, 0);
    assert_false(upstream_got(w, &q, &from, 50));
    assert_int_equal(dns64_stat(w, "a_queries"), 1);
    assert_int_equal(dns64_stat(w, "synthesized"), 0);
}

/* RFC 6147 5.1.2: an error other than NXDOMAIN counts as NODATA. */
static void test_forwarder_error_then_a(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048];
    guest_ask(w, "refused.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    struct msgb m;
    mb_start(&m, "refused.example.test", VN_DNS_T_AAAA, q.h.id, VN_DNS_F_RD | VN_DNS_R_REFUSED);
    upstream_send(w, &m, &from);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_A);
    mb_start(&m, "refused.example.test", VN_DNS_T_A, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    mb_a(&m, NULL, IP(203, 0, 113, 9), 50);
    upstream_send(w, &m, &from);
    size_t n = guest_answer(w, ans);
    assert_true(n > 0);
    struct rec rr[4];
    assert_int_equal(recs(ans, n, rr, 4), 1);
    struct vn_addr x = a6("64:ff9b::cb00:7109");
    assert_memory_equal(rr[0].rd, x.a, 16);
    assert_int_equal(rr[0].ttl, 50);
}

/* A truncated A answer: the guest is told to ask again over TCP. */
static void test_forwarder_a_truncated(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048];
    guest_ask(w, "big.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    reply_nodata(w, &q, &from, 60);
    assert_true(upstream_got(w, &q, &from, 2000));
    struct msgb m;
    mb_start(&m, "big.example.test", VN_DNS_T_A, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA | VN_DNS_F_TC);
    upstream_send(w, &m, &from);
    size_t n = guest_answer(w, ans);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_true(r.h.flags & VN_DNS_F_TC);
    assert_int_equal(r.q.qtype, VN_DNS_T_AAAA);
    assert_int_equal(r.h.ancount, 0);
    assert_int_equal(dns64_stat(w, "synthesized"), 0);
}

static void test_forwarder_a_timeout(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048];
    guest_ask(w, "slow.example.test", VN_DNS_T_AAAA, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    reply_nodata(w, &q, &from, 30);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_A);
    /* The A query is never answered: after its try the guest gets NODATA. */
    fake_ns += 3000ull * 1000000ull;
    size_t n = guest_answer(w, ans);
    assert_true(n > 0);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_int_equal(r.q.qtype, VN_DNS_T_AAAA);
    assert_int_equal(r.h.ancount, 0);
    assert_int_equal(r.h.flags & VN_DNS_F_RCODE, VN_DNS_R_NOERROR);
}

static void test_forwarder_ptr(void **state)
{
    struct world *w = *state;
    struct vn_dns_msg q;
    struct sockaddr_in from;
    uint8_t ans[2048], name6[128];
    struct vn_addr x = a6("64:ff9b::c000:201");
    vn_dns_ptr6_name(x.a, 32, name6, sizeof name6);
    char text[256];
    assert_true(vn_dns_name_to_text(name6, text, sizeof text) > 0);
    guest_ask(w, text, VN_DNS_T_PTR, false);
    assert_true(upstream_got(w, &q, &from, 2000));
    assert_int_equal(q.q.qtype, VN_DNS_T_PTR);
    assert_name(q.q.name, "1.2.0.192.in-addr.arpa");
    struct msgb m;
    mb_start(&m, "1.2.0.192.in-addr.arpa", VN_DNS_T_PTR, q.h.id, VN_DNS_F_RD | VN_DNS_F_RA);
    mb_name_rr(&m, 0, NULL, VN_DNS_T_PTR, 200, "v4only.example.test");
    upstream_send(w, &m, &from);
    size_t n = guest_answer(w, ans);
    assert_true(n > 0);
    struct vn_dns_msg r;
    assert_int_equal(vn_dns_msg_parse(ans, n, &r), 0);
    assert_memory_equal(r.q.name, name6, r.q.name_len);
    struct rec rr[4];
    assert_int_equal(recs(ans, n, rr, 4), 2);
    assert_int_equal(rr[0].type, VN_DNS_T_CNAME);
    assert_name(rr[0].rd, "1.2.0.192.in-addr.arpa");
    assert_int_equal(rr[1].type, VN_DNS_T_PTR);
    assert_name(rr[1].rd, "v4only.example.test");
    assert_int_equal(dns64_stat(w, "ptr_mapped"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exclusions_and_aaaa),
        cmocka_unit_test(test_ttl_bound),
        cmocka_unit_test(test_synth),
        cmocka_unit_test(test_ptr),
        cmocka_unit_test_setup_teardown(test_forwarder_synthesizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_passes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_error_then_a, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_a_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_a_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forwarder_ptr, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
