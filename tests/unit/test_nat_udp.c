/* Unit tests of UDP NAT (src/nat/udp.c) through vn_nat_input's real path:
 * a gateway on a real switch, recording guest ports, a fake clock on the
 * loop, and the NAT's socket seam pointing every "remote" at a UDP socket
 * this test owns on loopback. A guest datagram opens one connected host
 * socket per flow and arrives at the remote with its payload; replies come
 * back to the guest from the remote's address with a valid checksum; a
 * closed remote port becomes ICMP port unreachable; idle flows close after
 * nat.udp_timeout; a guest's share of the table refuses its next flow
 * without disturbing the old ones; bad checksums are counted and dropped. */
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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define GUEST IP(10, 0, 2, 15)
#define REMOTE IP(203, 0, 113, 10) /* never reached: connect() goes to the test's socket */

static const char CONF[] = "networks:\n"
                           "  - name: lan\n"
                           "    mode: nat\n"
                           "    dns: false\n"
                           "    dhcp: false\n"
                           "    nat: {max_flows: 16, max_flows_per_guest: 3, udp_timeout: 5}\n"
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
    struct sockaddr_in rsa, closed_sa;
    bool refuse;                  /* connect to closed_sa instead */
    unsigned nconnect;
    struct sockaddr_in last_dst;  /* where the NAT meant to send */
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
    w->nconnect++;
    assert_int_equal(len, sizeof(struct sockaddr_in));
    memcpy(&w->last_dst, sa, sizeof w->last_dst);
    const struct sockaddr_in *to = w->refuse ? &w->closed_sa : &w->rsa;
    return connect(fd, (const struct sockaddr *)to, sizeof *to);
}

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    char err[256];
    w->c = harness_config(CONF);
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
    socklen_t sl = sizeof w->rsa;
    w->remote = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    w->rsa = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(w->remote, (struct sockaddr *)&w->rsa, sl) ||
        getsockname(w->remote, (struct sockaddr *)&w->rsa, &sl))
        fail_msg("remote: %s", strerror(errno));
    int tmp = socket(AF_INET, SOCK_DGRAM, 0);
    w->closed_sa = w->rsa;
    w->closed_sa.sin_port = 0;
    sl = sizeof w->closed_sa;
    bind(tmp, (struct sockaddr *)&w->closed_sa, sl);
    getsockname(tmp, (struct sockaddr *)&w->closed_sa, &sl);
    close(tmp); /* bound then closed: nothing listens there */
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
    close(w->remote);
    free(w);
    return 0;
}

/* Run the loop a few rounds (host socket events, the gateway's flush). */
static void pump(struct world *w)
{
    for (int i = 0; i < 6; i++)
        vn_loop_once(w->loop, 2);
}

/* The guest sends a UDP datagram gport -> REMOTE:rport (checksummed unless bad_csum). */
static void guest_udp(struct world *w, uint16_t gport, uint16_t rport, const char *data,
                      bool bad_csum)
{
    uint8_t f[256];
    size_t dl = strlen(data), ul = 8 + dl;
    uint8_t *h = f + 14, *u = harness_ip4(f, w->gw->mac, GMAC, GUEST, REMOTE, VN_IPPROTO_UDP, 64, ul);
    vn_put_be16(u, gport);
    vn_put_be16(u + 2, rport);
    vn_put_be16(u + 4, (uint16_t)ul);
    vn_put_be16(u + 6, 0);
    memcpy(u + 8, data, dl);
    uint32_t ps = vn_csum_pseudo4(h + 12, h + 16, VN_IPPROTO_UDP, (uint32_t)ul);
    uint16_t ck = vn_csum_fold(vn_csum_add(ps, u, ul));
    vn_put_be16(u + 6, (uint16_t)((ck ? ck : 0xffff) ^ (bad_csum ? 0x0101 : 0)));
    harness_input(w->sw, w->guest, f, 14 + 20 + ul);
    pump(w);
}

/* What the remote received next (NUL-terminated into buf); its length, or -1 if nothing. */
static ssize_t remote_read(struct world *w, char *buf, size_t cap, struct sockaddr_in *from)
{
    socklen_t fl = sizeof *from;
    ssize_t n = recvfrom(w->remote, buf, cap - 1, 0, (struct sockaddr *)from, &fl);
    if (n >= 0)
        buf[n] = 0;
    return n;
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

/* The first IPv4 frame the guest got: its protocol; fills ip. */
static int first_ip(struct world *w, struct vn_ip4 *ip)
{
    for (unsigned i = 0; i < w->rec.n; i++) {
        const uint8_t *f = w->rec.f[i];
        if (memcmp(f, GMAC, 6) || vn_get_be16(f + 12) != VN_ETH_TYPE_IPV4)
            continue;
        assert_int_equal(vn_ip4_parse_hdr(f + 14, w->rec.len[i] - 14, true, ip), VN_IP_OK);
        return ip->proto;
    }
    return -1;
}

static void test_round_trip(void **state)
{
    struct world *w = *state;
    char buf[256];
    struct sockaddr_in from;
    guest_udp(w, 40000, 9999, "hello", false);
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(ntohl(w->last_dst.sin_addr.s_addr), REMOTE);
    assert_int_equal(ntohs(w->last_dst.sin_port), 9999);
    assert_int_equal(remote_read(w, buf, sizeof buf, &from), 5);
    assert_string_equal(buf, "hello");
    /* The same flow: no second socket, datagrams in order. */
    guest_udp(w, 40000, 9999, "again", false);
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(remote_read(w, buf, sizeof buf, &from), 5);
    assert_string_equal(buf, "again");
    assert_int_equal(stat(w, "udp_created"), 1);
    /* The reply reaches the guest from REMOTE:9999, checksummed. */
    memset(&w->rec, 0, sizeof w->rec);
    assert_int_equal(sendto(w->remote, "world!", 6, 0, (struct sockaddr *)&from, sizeof from), 6);
    pump(w);
    struct vn_ip4 ip;
    assert_int_equal(first_ip(w, &ip), VN_IPPROTO_UDP);
    assert_int_equal(ip.src, REMOTE);
    assert_int_equal(ip.dst, GUEST);
    struct vn_udp u;
    assert_int_equal(vn_udp_parse(ip.l4, ip.l4_len, &u), 0);
    assert_int_equal(u.sport, 9999);
    assert_int_equal(u.dport, 40000);
    assert_int_equal(u.dlen, 6);
    assert_memory_equal(u.data, "world!", 6);
    uint8_t s[4], d[4];
    vn_put_be32(s, ip.src);
    vn_put_be32(d, ip.dst);
    assert_int_equal(vn_csum_fold(vn_csum_add(vn_csum_pseudo4(s, d, VN_IPPROTO_UDP, u.len), ip.l4,
                                              u.len)),
                     0);
}

static void test_closed_port_unreachable(void **state)
{
    struct world *w = *state;
    w->refuse = true;
    guest_udp(w, 40001, 53, "q", false);
    guest_udp(w, 40001, 53, "q2", false); /* the refusal may come with either datagram */
    pump(w);
    struct vn_ip4 ip;
    assert_int_equal(first_ip(w, &ip), VN_IPPROTO_ICMP);
    assert_int_equal(ip.l4[0], 3);
    assert_int_equal(ip.l4[1], 3);
    /* The quoted header names the guest's datagram. */
    assert_int_equal(vn_get_be32(ip.l4 + 8 + 12), GUEST);
    assert_int_equal(vn_get_be32(ip.l4 + 8 + 16), REMOTE);
    assert_int_equal(vn_get_be16(ip.l4 + 8 + 20), 40001);
}

static void test_idle_timeout(void **state)
{
    struct world *w = *state;
    char buf[64];
    struct sockaddr_in from;
    guest_udp(w, 40002, 7, "x", false);
    assert_int_equal(remote_read(w, buf, sizeof buf, &from), 1);
    json_int_t before = stat(w, "idle_timeouts");
    fake_ns += 3000ull * 1000000ull;
    pump(w);
    assert_int_equal(stat(w, "idle_timeouts"), before); /* 3 s: still open */
    fake_ns += 60000ull * 1000000ull;
    for (int i = 0; i < 5; i++)
        pump(w);
    assert_int_equal(stat(w, "idle_timeouts"), before + 1);
    /* A new datagram opens a new flow (a second socket). */
    guest_udp(w, 40002, 7, "y", false);
    assert_int_equal(w->nconnect, 2);
}

static void test_guest_share(void **state)
{
    struct world *w = *state;
    char buf[64];
    struct sockaddr_in from;
    for (uint16_t p = 0; p < 3; p++) {
        guest_udp(w, (uint16_t)(41000 + p), 7, "a", false);
        assert_int_equal(remote_read(w, buf, sizeof buf, &from), 1);
    }
    json_int_t full = stat(w, "refused_guest_share");
    memset(&w->rec, 0, sizeof w->rec);
    guest_udp(w, 41003, 7, "b", false); /* a fourth flow: over the guest's share of 3 */
    assert_int_equal(w->nconnect, 3);
    assert_true(remote_read(w, buf, sizeof buf, &from) < 0);
    assert_int_equal(stat(w, "refused_guest_share"), full + 1);
    struct vn_ip4 ip;
    assert_int_equal(first_ip(w, &ip), VN_IPPROTO_ICMP);
    assert_int_equal(ip.l4[0], 3);
    /* The old flows still carry traffic. */
    guest_udp(w, 41000, 7, "c", false);
    assert_int_equal(remote_read(w, buf, sizeof buf, &from), 1);
    assert_string_equal(buf, "c");
}

static void test_bad_checksum(void **state)
{
    struct world *w = *state;
    char buf[64];
    struct sockaddr_in from;
    json_int_t bad = stat(w, "udp_bad_checksum");
    guest_udp(w, 42000, 7, "bad", true);
    assert_int_equal(stat(w, "udp_bad_checksum"), bad + 1);
    assert_int_equal(w->nconnect, 0);
    assert_true(remote_read(w, buf, sizeof buf, &from) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_closed_port_unreachable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_checksum, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
