/* Unit tests of the NAT's TCP translation (src/nat/tcp.c, nat.c) through its
 * interface: guest segments built here go to vn_nat_input() of a real NAT
 * engine on a real gateway and switch; what the NAT sends toward the guest
 * is read from recording guest ports (segmented and checksummed by the
 * switch, as a guest without offloads gets it). The host side is real: the
 * NAT's connect() is replaced (vn_nat_set_sock_ops) by one that records the
 * destination and either connects to a listener of this test on loopback or
 * fails with a chosen errno, so the data path runs on real kernel sockets.
 * Time is a fake clock on the gateway's loop (vn_loop_set_clock): timers
 * (retransmission, zero-window probe, idle sweep) fire when the test
 * advances it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "harness.h"
#include "gw/gateway.h"
#include "nat/nat.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"
#include "port/port.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define GUEST1 IP(10, 0, 2, 15)
#define GUEST2 IP(10, 0, 2, 16)
#define REMOTE IP(203, 0, 113, 10)
#define MAXREC HARNESS_MAXREC
#define NGUEST 2

static const char CONF[] = "networks:\n"
                           "  - name: lan\n"
                           "    mode: nat\n"
                           "    subnet: 10.0.2.0/24\n"
                           "    gateway: 10.0.2.2\n"
                           "    dns: false\n"
                           "    dhcp: false\n"
                           "    nat: {max_flows: 16, max_flows_per_guest: 10, tcp_timeout: 10}\n"
                           "ports:\n"
                           "  - {name: g1, type: stream, network: lan, path: /nonexistent/g1}\n"
                           "  - {name: g2, type: stream, network: lan, path: /nonexistent/g2}\n";

/* ---- recording guest ports ---- */

/* ---- fake host sockets ---- */

enum conn_mode { CONNECT_LISTENER, CONNECT_FAIL, CONNECT_CLOSED_PORT };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_network *net;
    struct vn_port *guest[NGUEST];
    struct vn_gw *gw;
    struct vn_nat *nat;
    struct harness_rec rec[NGUEST];
    int listener;
    struct sockaddr_in lsa, closed_sa;
    enum conn_mode mode;
    int fail_errno;
    unsigned nsocket, nconnect;
    struct sockaddr_in last_dst;  /* where the NAT wanted to connect */
};

static uint64_t fake_ns;
static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ns;
}

static int fake_socket(void *ctx, int domain, int type, int protocol)
{
    struct world *w = ctx;
    w->nsocket++;
    return socket(domain, type, protocol);
}

static int fake_connect(void *ctx, int fd, const struct sockaddr *sa, socklen_t len)
{
    struct world *w = ctx;
    w->nconnect++;
    assert_int_equal(len, sizeof(struct sockaddr_in));
    memcpy(&w->last_dst, sa, sizeof w->last_dst);
    switch (w->mode) {
    case CONNECT_LISTENER:
        return connect(fd, (const struct sockaddr *)&w->lsa, sizeof w->lsa);
    case CONNECT_CLOSED_PORT:
        return connect(fd, (const struct sockaddr *)&w->closed_sa, sizeof w->closed_sa);
    case CONNECT_FAIL:
        break;
    }
    errno = w->fail_errno;
    return -1;
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
    if (!(w->net = vn_switch_add_network(w->sw, &w->c->nets[0], err, sizeof err)))
        fail_msg("%s", err);
    for (int i = 0; i < NGUEST; i++)
        if (!(w->guest[i] = vn_switch_add_port_ops(w->sw, &w->c->ports[i], &harness_rec_ops, &w->rec[i],
                                                   err, sizeof err)))
            fail_msg("%s", err);
    if (!(w->gw = vn_gw_new(w->sw, w->net, NULL, err, sizeof err)))
        fail_msg("%s", err);
    if (vn_nat_attach(w->gw, err, sizeof err) || !w->gw->nat)
        fail_msg("%s", err);
    w->nat = w->gw->nat;
    vn_nat_set_sock_ops(w->nat, &(struct vn_nat_sock_ops){ fake_socket, fake_connect, w });
    /* The host side: a listener on loopback, and a port nobody listens on. */
    w->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    w->lsa = (struct sockaddr_in){ .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof w->lsa;
    if (bind(w->listener, (struct sockaddr *)&w->lsa, sl) || listen(w->listener, 64) ||
        getsockname(w->listener, (struct sockaddr *)&w->lsa, &sl))
        fail_msg("listener: %s", strerror(errno));
    int tmp = socket(AF_INET, SOCK_STREAM, 0);
    w->closed_sa = (struct sockaddr_in){ .sin_family = AF_INET,
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    sl = sizeof w->closed_sa;
    bind(tmp, (struct sockaddr *)&w->closed_sa, sl);
    getsockname(tmp, (struct sockaddr *)&w->closed_sa, &sl);
    close(tmp); /* bound then closed: connecting to it is refused */
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    vn_gw_free(w->gw); /* frees the NAT */
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    close(w->listener);
    free(w);
    return 0;
}

/* Run the loop a few rounds (host socket events, deferred ACKs, the
 * gateway's transmit flush), without letting fake time pass. */
static void pump(struct world *w)
{
    for (int i = 0; i < 6; i++)
        vn_loop_once(w->loop, 2);
}

static void advance_ms(struct world *w, uint64_t ms)
{
    fake_ns += ms * 1000000ull;
    pump(w);
}

/* ---- guest side ---- */

static void guest_mac(uint8_t mac[6], int g)
{
    const uint8_t m[6] = { 0x52, 0x54, 0, 0, 0, (uint8_t)(1 + g) };
    memcpy(mac, m, 6);
}

struct conn {
    int g;                 /* guest index */
    uint32_t gaddr, raddr;
    uint16_t gport, rport;
    uint32_t snd;          /* guest's next sequence number */
    uint32_t rcv;          /* next sequence number the guest expects */
    uint32_t iss;          /* the NAT's initial sequence number */
    uint16_t win;          /* window field the guest sends */
    int wscale;            /* the guest's shift, -1 = none */
    int peer;              /* the accepted host socket, -1 = none */
};

/* Send one segment from the guest; opts (optlen multiple of 4) after the header. */
static void guest_raw(struct world *w, const struct conn *c, uint32_t seq, uint32_t ack,
                      uint8_t flags, uint16_t win, const void *data, size_t dlen,
                      const uint8_t *opts, size_t optlen, bool bad_csum)
{
    static uint8_t f[2048];
    uint8_t mac[6];
    guest_mac(mac, c->g);
    size_t l4 = 20 + optlen + dlen;
    uint8_t *ip = f + 14,
            *th = harness_ip4(f, w->gw->mac, mac, c->gaddr, c->raddr, VN_IPPROTO_TCP, 64, l4);
    vn_put_be16(th, c->gport);
    vn_put_be16(th + 2, c->rport);
    vn_put_be32(th + 4, seq);
    vn_put_be32(th + 8, ack);
    th[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    th[13] = flags;
    vn_put_be16(th + 14, win);
    vn_put_be16(th + 16, 0);
    vn_put_be16(th + 18, 0);
    if (optlen)
        memcpy(th + 20, opts, optlen);
    if (dlen)
        memcpy(th + 20 + optlen, data, dlen);
    uint32_t ps = vn_csum_pseudo4(ip + 12, ip + 16, VN_IPPROTO_TCP, (uint32_t)l4);
    vn_put_be16(th + 16, vn_csum_fold(vn_csum_add(ps, th, l4)));
    if (bad_csum)
        th[16] ^= 0x5a;
    struct vn_frame fr = { .data = f, .len = (uint32_t)(14 + 20 + l4),
                           .port = w->guest[c->g]->id };
    struct vn_ip4 pi;
    assert_int_equal(vn_ip4_parse_hdr(ip, 20 + l4, true, &pi), VN_IP_OK);
    struct vn_ipp pp;
    vn_ipp_from4(&pi, &pp);
    vn_nat_input(w->nat, mac, &pp, &fr);
}

/* A segment of c at its current sequence numbers (advances snd). */
static void guest_send(struct world *w, struct conn *c, uint8_t flags, const void *data,
                       size_t dlen)
{
    guest_raw(w, c, c->snd, c->rcv, flags, c->win, data, dlen, NULL, 0, false);
    c->snd += (uint32_t)dlen + ((flags & (VN_TCP_SYN | VN_TCP_FIN)) ? 1 : 0);
}

static void guest_syn(struct world *w, struct conn *c, uint16_t mss)
{
    uint8_t o[8] = { 2, 4, (uint8_t)(mss >> 8), (uint8_t)mss, 1, 3, 3, 0 };
    o[7] = (uint8_t)(c->wscale < 0 ? 0 : c->wscale);
    guest_raw(w, c, c->snd, 0, VN_TCP_SYN, c->win, NULL, 0, o, c->wscale < 0 ? 4 : 8, false);
}

/* What the guest received. */
struct seg {
    bool tcp, icmp;
    uint32_t src, dst;
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    uint16_t mss;          /* 0 = absent */
    int wscale;            /* -1 = absent */
    size_t dlen;
    uint8_t data[1600];
    uint8_t icmp_type, icmp_code;
    uint8_t quote[28];     /* ICMP errors: the quoted IP header + 8 bytes */
};

#define MAXSEGS MAXREC
static struct seg segs[MAXSEGS];

/* Parse and clear what guest g received; returns the number of segments.
 * Every frame must be well formed with correct checksums. */
static unsigned take(struct world *w, int g)
{
    struct harness_rec *r = &w->rec[g];
    assert_int_equal(r->lost, 0);
    unsigned n = 0;
    uint8_t mac[6];
    guest_mac(mac, g);
    for (unsigned i = 0; i < r->n; i++) {
        const uint8_t *f = r->f[i];
        size_t len = r->len[i];
        if (memcmp(f, mac, 6))
            continue; /* flooded copy for the other guest */
        if (vn_get_be16(f + 12) != VN_ETH_TYPE_IPV4)
            continue; /* ARP */
        struct seg *s = &segs[n++];
        memset(s, 0, sizeof *s);
        struct vn_ip4 ip;
        assert_int_equal(vn_ip4_parse_hdr(f + 14, len - 14, true, &ip), VN_IP_OK);
        s->src = ip.src, s->dst = ip.dst;
        if (ip.proto == VN_IPPROTO_ICMP) {
            s->icmp = true;
            assert_int_equal(vn_csum_fold(vn_csum_add(0, ip.l4, ip.l4_len)), 0);
            s->icmp_type = ip.l4[0];
            s->icmp_code = ip.l4[1];
            if (ip.l4_len >= 36)
                memcpy(s->quote, ip.l4 + 8, 28);
            continue;
        }
        assert_int_equal(ip.proto, VN_IPPROTO_TCP);
        uint8_t sa[4], da[4];
        vn_put_be32(sa, ip.src);
        vn_put_be32(da, ip.dst);
        uint32_t ps = vn_csum_pseudo4(sa, da, VN_IPPROTO_TCP, ip.l4_len);
        assert_int_equal(vn_csum_fold(vn_csum_add(ps, ip.l4, ip.l4_len)), 0);
        struct vn_tcp t;
        assert_int_equal(vn_tcp_parse(ip.l4, ip.l4_len, &t), 0);
        s->tcp = true;
        s->sport = t.sport, s->dport = t.dport, s->seq = t.seq, s->ack = t.ack;
        s->flags = t.flags, s->win = t.win, s->mss = t.mss, s->wscale = t.wscale;
        s->dlen = t.dlen;
        assert_true(t.dlen <= sizeof s->data);
        memcpy(s->data, t.data, t.dlen);
    }
    r->n = 0;
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

/* The state vnetctl shows for c's flow, or "" when there is none. */
static const char *flow_state(struct world *w, const struct conn *c)
{
    static char st[32];
    char want[32], ga[16];
    snprintf(want, sizeof want, "%s:%u", vn_ip4_str(c->gaddr, ga), c->gport);
    json_t *a = vn_nat_flows_json(w->nat);
    size_t i;
    json_t *o;
    st[0] = 0;
    json_array_foreach(a, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "guest")), want))
            snprintf(st, sizeof st, "%s", json_string_value(json_object_get(o, "state")));
    }
    json_decref(a);
    return st;
}

static int accept_peer(struct world *w)
{
    struct pollfd p = { w->listener, POLLIN, 0 };
    poll(&p, 1, 1000);
    int fd = accept4(w->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0)
        fail_msg("no host connection: %s", strerror(errno));
    return fd;
}

/* Read what the host peer got (waits a little for it). */
static size_t peer_read(int fd, uint8_t *buf, size_t cap, int *eof)
{
    size_t got = 0;
    *eof = 0;
    for (int tries = 0; tries < 20 && got < cap; tries++) {
        ssize_t r = recv(fd, buf + got, cap - got, MSG_DONTWAIT);
        if (r > 0) {
            got += (size_t)r;
            continue;
        }
        if (r == 0) {
            *eof = 1;
            break;
        }
        if (errno != EAGAIN) {
            *eof = -errno;
            break;
        }
        struct pollfd p = { fd, POLLIN, 0 };
        poll(&p, 1, 10);
    }
    return got;
}

static struct conn conn_new(int g, uint16_t gport)
{
    return (struct conn){ .g = g, .gaddr = g ? GUEST2 : GUEST1, .raddr = REMOTE,
                          .gport = gport, .rport = 80, .snd = 1000u * gport, .win = 16000,
                          .wscale = 2, .peer = -1 };
}

/* SYN, SYN-ACK, ACK: an established connection with its host peer. */
static void open_conn(struct world *w, struct conn *c)
{
    guest_syn(w, c, 1400);
    c->snd++;
    pump(w);
    unsigned n = take(w, c->g);
    assert_int_equal(n, 1);
    struct seg *s = &segs[0];
    assert_int_equal(s->flags, VN_TCP_SYN | VN_TCP_ACK);
    assert_int_equal(s->ack, c->snd);
    c->iss = s->seq;
    c->rcv = s->seq + 1;
    c->peer = accept_peer(w);
    guest_send(w, c, VN_TCP_ACK, NULL, 0);
    pump(w);
    assert_string_equal(flow_state(w, c), "established");
    take(w, c->g);
}

/* Bytes the guest got in order from segs[0..n) (all data of c). */
static size_t collect(const struct conn *c, unsigned n, uint32_t from, uint8_t *out, size_t cap)
{
    size_t len = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        if (!s->tcp || s->dport != c->gport || !s->dlen)
            continue;
        assert_int_equal(s->seq, from + (uint32_t)len);
        assert_true(len + s->dlen <= cap);
        memcpy(out + len, s->data, s->dlen);
        len += s->dlen;
    }
    return len;
}

/* ---- tests ---- */

static void test_handshake(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40000);
    guest_syn(w, &c, 1400);
    c.snd++;
    /* The SYN starts a host connect() to the guest's destination. */
    assert_int_equal(w->nsocket, 1);
    assert_int_equal(w->nconnect, 1);
    assert_int_equal(w->last_dst.sin_family, AF_INET);
    assert_int_equal(ntohl(w->last_dst.sin_addr.s_addr), REMOTE);
    assert_int_equal(ntohs(w->last_dst.sin_port), 80);
    assert_int_equal(stat(w, "tcp_created"), 1);
    /* A retransmitted SYN while connecting changes nothing. */
    guest_syn(w, &c, 1400);
    assert_int_equal(w->nconnect, 1);
    /* Once the host connection exists: SYN-ACK with our MSS and scale. */
    pump(w);
    assert_int_equal(take(w, 0), 1);
    struct seg s = segs[0];
    assert_true(s.tcp);
    assert_int_equal(s.src, REMOTE);
    assert_int_equal(s.dst, GUEST1);
    assert_int_equal(s.sport, 80);
    assert_int_equal(s.dport, 40000);
    assert_int_equal(s.flags, VN_TCP_SYN | VN_TCP_ACK);
    assert_int_equal(s.ack, c.snd);
    assert_int_equal(s.mss, 1460); /* MTU 1500 - 40 */
    assert_int_equal(s.wscale, 7);
    assert_true(s.win > 0);
    assert_int_equal(s.dlen, 0);
    assert_string_equal(flow_state(w, &c), "syn-received");
    c.iss = s.seq;
    c.rcv = s.seq + 1;
    c.peer = accept_peer(w);
    /* The guest's SYN again (our SYN-ACK was lost): the same SYN-ACK. */
    guest_syn(w, &c, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_SYN | VN_TCP_ACK);
    assert_int_equal(segs[0].seq, c.iss);
    /* An ACK of something else is answered by RST; the flow stays. */
    guest_raw(w, &c, c.snd, c.iss + 7, VN_TCP_ACK, c.win, NULL, 0, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_RST);
    assert_int_equal(segs[0].seq, c.iss + 7);
    assert_string_equal(flow_state(w, &c), "syn-received");
    /* The right ACK establishes it. */
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    assert_string_equal(flow_state(w, &c), "established");
    assert_int_equal(take(w, 0), 0); /* nothing to say */

    /* A guest without window scaling gets none, and windows unscaled. */
    struct conn d = conn_new(0, 40001);
    d.wscale = -1;
    guest_syn(w, &d, 536);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].wscale, -1);
    assert_int_equal(segs[0].mss, 1460);
    close(accept_peer(w));
    assert_int_equal(stat(w, "flows_active"), 2);
}

static void test_syn_ack_retransmit(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40002);
    guest_syn(w, &c, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    uint32_t iss = segs[0].seq;
    int peer = accept_peer(w);
    /* The guest never answers: SYN-ACK again on each (doubling) timeout. */
    uint64_t rto = 200;
    for (int i = 0; i < 6; i++) {
        advance_ms(w, rto - 1);
        assert_int_equal(take(w, 0), 0);
        advance_ms(w, 1);
        assert_int_equal(take(w, 0), 1);
        assert_int_equal(segs[0].flags, VN_TCP_SYN | VN_TCP_ACK);
        assert_int_equal(segs[0].seq, iss);
        rto = rto * 2 > 10000 ? 10000 : rto * 2;
    }
    assert_int_equal(stat(w, "tcp_retransmits"), 6);
    /* Then it gives up: the host side is reset, the guest told nothing. */
    advance_ms(w, rto);
    assert_int_equal(take(w, 0), 0);
    assert_string_equal(flow_state(w, &c), "");
    uint8_t b[8];
    int eof;
    peer_read(peer, b, sizeof b, &eof);
    assert_int_equal(eof, -ECONNRESET);
    close(peer);
}

static void test_guest_to_host(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40003);
    open_conn(w, &c);
    uint8_t data[3000], got[4000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 7);
    guest_send(w, &c, VN_TCP_ACK | VN_TCP_PSH, data, 1000);
    pump(w);
    int eof;
    assert_int_equal(peer_read(c.peer, got, 1000, &eof), 1000);
    assert_memory_equal(got, data, 1000);
    /* One ACK for exactly what the host socket took, with our window. */
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_ACK);
    assert_int_equal(segs[0].ack, c.snd);
    assert_int_equal(segs[0].seq, c.rcv);
    assert_true(segs[0].win > 0); /* scaled by our 7 */
    /* A duplicate segment is acknowledged again and not written twice. */
    guest_raw(w, &c, c.snd - 1000, c.rcv, VN_TCP_ACK, c.win, data, 1000, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].ack, c.snd);
    /* A partly old segment: only its new part goes to the host. */
    guest_raw(w, &c, c.snd - 500, c.rcv, VN_TCP_ACK, c.win, data + 500, 1000, NULL, 0, false);
    c.snd += 500;
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].ack, c.snd);
    /* A segment beyond a hole: dropped, answered by a duplicate ACK. */
    json_int_t oow = stat(w, "tcp_out_of_window");
    guest_raw(w, &c, c.snd + 100, c.rcv, VN_TCP_ACK, c.win, data, 200, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].ack, c.snd);
    assert_int_equal(stat(w, "tcp_out_of_window"), oow + 1);
    /* The host got exactly the stream, once. */
    size_t n = peer_read(c.peer, got, sizeof got, &eof);
    assert_int_equal(n, 500);
    assert_memory_equal(got, data + 1000, 500);
    json_t *fl = vn_nat_flows_json(w->nat);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(fl, 0), "bytes_out")),
                     1500);
    json_decref(fl);
}

static void test_host_to_guest_retransmit(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40004);
    open_conn(w, &c);
    uint8_t data[6000], got[12000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 1);
    assert_int_equal(write(c.peer, data, 3000), 3000);
    pump(w);
    unsigned n = take(w, 0);
    /* Segments of the guest's MSS (1400), in order from iss + 1. */
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 3000);
    assert_memory_equal(got, data, 3000);
    for (unsigned i = 0; i < n; i++) {
        assert_true(segs[i].dlen <= 1400);
        assert_true(segs[i].flags & VN_TCP_ACK);
        assert_int_equal(segs[i].ack, c.snd);
    }
    /* Not acknowledged: after the RTO everything is sent again (go-back-N). */
    advance_ms(w, 199);
    assert_int_equal(take(w, 0), 0);
    advance_ms(w, 1);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 3000);
    assert_memory_equal(got, data, 3000);
    assert_int_equal(stat(w, "tcp_retransmits"), 1);
    /* The guest acknowledges part; the rest is sent again after the RTO. */
    c.rcv += 1400;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    advance_ms(w, 200);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 1600);
    assert_memory_equal(got, data + 1400, 1600);
    /* All acknowledged: no more retransmissions. */
    c.rcv += 1600;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    advance_ms(w, 5000); /* (less than nat.tcp_timeout) */
    assert_int_equal(take(w, 0), 0);
    /* Three duplicate ACKs resend at once (fast retransmit). */
    assert_int_equal(write(c.peer, data + 3000, 2000), 2000);
    pump(w);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 2000);
    json_int_t before = stat(w, "tcp_retransmits");
    for (int i = 0; i < 3; i++)
        guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 2000);
    assert_memory_equal(got, data + 3000, 2000);
    assert_int_equal(stat(w, "tcp_retransmits"), before + 1);
    c.rcv += 2000;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    json_t *fl = vn_nat_flows_json(w->nat);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(fl, 0), "bytes_in")),
                     5000 + 3000 + 1600 + 2000);
    json_decref(fl);
}

static void test_zero_window(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40005);
    open_conn(w, &c);
    c.win = 0;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0); /* the guest's buffer is full */
    pump(w);
    take(w, 0);
    uint8_t data[500], got[1000];
    memset(data, 'z', sizeof data);
    assert_int_equal(write(c.peer, data, sizeof data), (ssize_t)sizeof data);
    pump(w);
    assert_int_equal(take(w, 0), 0); /* nothing fits */
    /* The timer probes the window: an ACK without data. */
    advance_ms(w, 200);
    unsigned n = take(w, 0);
    assert_int_equal(n, 1);
    assert_int_equal(segs[0].flags, VN_TCP_ACK);
    assert_int_equal(segs[0].dlen, 0);
    assert_int_equal(segs[0].seq, c.rcv);
    /* Still closed: probed again, later. */
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    advance_ms(w, 400);
    assert_int_equal(take(w, 0), 1);
    /* The window opens (100 << 2 = 400 bytes): that much is sent. */
    c.win = 100;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 400);
    c.rcv += 400;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 100);
}

static void test_fin_from_guest(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40006);
    open_conn(w, &c);
    guest_send(w, &c, VN_TCP_FIN | VN_TCP_ACK, "bye", 3);
    pump(w);
    uint8_t got[64];
    int eof;
    assert_int_equal(peer_read(c.peer, got, sizeof got, &eof), 3);
    assert_int_equal(eof, 1); /* shutdown(SHUT_WR) reached the host */
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].ack, c.snd); /* data and FIN acknowledged */
    assert_string_equal(flow_state(w, &c), "guest-closed");
    /* Half close: the host still talks to the guest. */
    assert_int_equal(write(c.peer, "reply", 5), 5);
    pump(w);
    unsigned n = take(w, 0);
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 5);
    assert_memory_equal(got, "reply", 5);
    c.rcv += 5;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    /* Data after the guest's FIN is not accepted. */
    guest_raw(w, &c, c.snd, c.rcv, VN_TCP_ACK, c.win, "late", 4, NULL, 0, false);
    pump(w);
    take(w, 0);
    /* The host closes: FIN to the guest; its ACK ends the flow. */
    shutdown(c.peer, SHUT_WR);
    pump(w);
    n = take(w, 0);
    assert_int_equal(n, 1);
    assert_true(segs[0].flags & VN_TCP_FIN);
    assert_int_equal(segs[0].seq, c.rcv);
    c.rcv++;
    assert_int_equal(stat(w, "flows_active"), 1);
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    assert_string_equal(flow_state(w, &c), "");
    assert_int_equal(stat(w, "flows_active"), 0);
    assert_int_equal(peer_read(c.peer, got, sizeof got, &eof), 0); /* "late" never arrived */
    close(c.peer);
}

static void test_fin_from_host(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40007);
    open_conn(w, &c);
    assert_int_equal(write(c.peer, "last words", 10), 10);
    shutdown(c.peer, SHUT_WR);
    pump(w);
    unsigned n = take(w, 0);
    uint8_t got[64];
    assert_int_equal(collect(&c, n, c.rcv, got, sizeof got), 10);
    bool fin = false;
    for (unsigned i = 0; i < n; i++)
        if (segs[i].flags & VN_TCP_FIN) {
            fin = true;
            assert_int_equal(segs[i].seq, c.rcv + 10);
        }
    assert_true(fin);
    c.rcv += 11;
    guest_send(w, &c, VN_TCP_ACK, NULL, 0);
    pump(w);
    assert_string_equal(flow_state(w, &c), "remote-closed");
    /* The FIN is retransmitted only while unacknowledged. */
    advance_ms(w, 1000);
    assert_int_equal(take(w, 0), 0);
    /* The guest still sends; the host reads it. */
    guest_send(w, &c, VN_TCP_ACK | VN_TCP_PSH, "more", 4);
    pump(w);
    int eof;
    assert_int_equal(peer_read(c.peer, got, 4, &eof), 4);
    assert_memory_equal(got, "more", 4);
    take(w, 0);
    /* The guest's FIN: ACKed, the host sees EOF, the flow is gone. */
    guest_send(w, &c, VN_TCP_FIN | VN_TCP_ACK, NULL, 0);
    pump(w);
    n = take(w, 0);
    assert_int_equal(n, 1);
    assert_int_equal(segs[0].flags, VN_TCP_ACK);
    assert_int_equal(segs[0].ack, c.snd);
    peer_read(c.peer, got, sizeof got, &eof);
    assert_int_equal(eof, 1);
    assert_string_equal(flow_state(w, &c), "");
    close(c.peer);
}

static void test_rst_from_guest(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40008);
    open_conn(w, &c);
    /* Outside the window: ignored (RFC 5961 in spirit). */
    guest_raw(w, &c, c.snd + 10000000, 0, VN_TCP_RST, 0, NULL, 0, NULL, 0, false);
    pump(w);
    assert_string_equal(flow_state(w, &c), "established");
    assert_int_equal(stat(w, "tcp_rst_from_guest"), 0);
    /* In the window: the host connection is reset, the flow freed. */
    guest_raw(w, &c, c.snd, 0, VN_TCP_RST, 0, NULL, 0, NULL, 0, false);
    pump(w);
    assert_string_equal(flow_state(w, &c), "");
    assert_int_equal(stat(w, "tcp_rst_from_guest"), 1);
    assert_int_equal(take(w, 0), 0); /* an RST is never answered */
    uint8_t b[8];
    int eof;
    peer_read(c.peer, b, sizeof b, &eof);
    assert_int_equal(eof, -ECONNRESET);
    close(c.peer);
    /* Segments for the freed flow get an RST. */
    guest_send(w, &c, VN_TCP_ACK, "x", 1);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_RST);
    assert_int_equal(segs[0].seq, c.rcv);
}

static void test_rst_from_host(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40009);
    open_conn(w, &c);
    struct linger l = { 1, 0 };
    setsockopt(c.peer, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(c.peer); /* RST to the NAT's socket */
    pump(w);
    unsigned n = take(w, 0);
    assert_int_equal(n, 1);
    assert_true(segs[0].flags & VN_TCP_RST);
    assert_int_equal(segs[0].seq, c.rcv);
    assert_string_equal(flow_state(w, &c), "");
    assert_int_equal(stat(w, "tcp_rst_to_guest"), 1);
}

static void test_connect_errors(void **state)
{
    struct world *w = *state;
    /* Refused at once: RST|ACK to the guest's SYN, no flow left. */
    w->mode = CONNECT_FAIL;
    w->fail_errno = ECONNREFUSED;
    struct conn c = conn_new(0, 41000);
    guest_syn(w, &c, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_RST | VN_TCP_ACK);
    assert_int_equal(segs[0].ack, c.snd + 1);
    assert_int_equal(segs[0].seq, 0);
    assert_int_equal(stat(w, "tcp_conn_refused"), 1);
    assert_int_equal(stat(w, "flows_active"), 0);
    /* Refused by the host's kernel (a closed port): the same. */
    w->mode = CONNECT_CLOSED_PORT;
    c = conn_new(0, 41001);
    guest_syn(w, &c, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_RST | VN_TCP_ACK);
    assert_int_equal(stat(w, "tcp_conn_refused"), 2);
    assert_int_equal(stat(w, "flows_active"), 0);
    /* Unreachable: ICMP destination unreachable quoting the SYN. */
    w->mode = CONNECT_FAIL;
    const int errs[] = { ENETUNREACH, EHOSTUNREACH, EACCES };
    const uint8_t codes[] = { 0, 1, 13 };
    for (int i = 0; i < 3; i++) {
        w->fail_errno = errs[i];
        c = conn_new(0, (uint16_t)(41002 + i));
        guest_syn(w, &c, 1400);
        pump(w);
        assert_int_equal(take(w, 0), 1);
        assert_true(segs[0].icmp);
        assert_int_equal(segs[0].icmp_type, 3);
        assert_int_equal(segs[0].icmp_code, codes[i]);
        assert_int_equal(segs[0].src, w->gw->addr);
        assert_int_equal(vn_get_be32(segs[0].quote + 12), GUEST1);
        assert_int_equal(vn_get_be32(segs[0].quote + 16), REMOTE);
        assert_int_equal(vn_get_be16(segs[0].quote + 20), c.gport);
        assert_int_equal(vn_get_be16(segs[0].quote + 22), 80);
    }
    assert_int_equal(stat(w, "tcp_unreachable"), 3);
    assert_int_equal(stat(w, "flows_active"), 0);
    /* Destinations NAT does not serve (the guests' own subnet): RST, no
     * host socket at all. */
    unsigned before = w->nsocket;
    c = conn_new(0, 41010);
    c.raddr = IP(10, 0, 2, 99);
    guest_syn(w, &c, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_true(segs[0].flags & VN_TCP_RST);
    assert_int_equal(w->nsocket, before);
    assert_int_equal(stat(w, "refused_policy"), 1);
}

static void test_idle_timeout(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40010);
    open_conn(w, &c);
    /* Activity keeps the flow (nat.tcp_timeout: 10 s). */
    advance_ms(w, 6000);
    guest_send(w, &c, VN_TCP_ACK | VN_TCP_PSH, "ping", 4);
    pump(w);
    take(w, 0);
    advance_ms(w, 6000);
    assert_string_equal(flow_state(w, &c), "established");
    assert_int_equal(stat(w, "idle_timeouts"), 0);
    /* Idle past the timeout: the sweep frees it and closes the host side. */
    advance_ms(w, 3000);
    advance_ms(w, 1000); /* idle 10 s: not more than the timeout yet */
    assert_string_equal(flow_state(w, &c), "established");
    advance_ms(w, 1000);
    assert_string_equal(flow_state(w, &c), "");
    assert_int_equal(stat(w, "idle_timeouts"), 1);
    uint8_t got[8];
    int eof;
    assert_int_equal(peer_read(c.peer, got, sizeof got, &eof), 4);
    assert_int_equal(eof, 1);
    close(c.peer);
    /* A handshake the guest never completes is given up after 75 s at the
     * latest (here the SYN-ACK retries end it first) without a word to the
     * guest. */
    struct conn d = conn_new(0, 40011);
    guest_syn(w, &d, 1400);
    pump(w);
    take(w, 0);
    int peer = accept_peer(w);
    for (int i = 0; i < 80; i++)
        advance_ms(w, 1000);
    assert_string_equal(flow_state(w, &d), "");
    close(peer);
}

static void test_share_and_table_full(void **state)
{
    struct world *w = *state;
    /* Guest 1 holds its share (nat.max_flows_per_guest: 10). */
    struct conn a[10];
    for (int i = 0; i < 10; i++) {
        a[i] = conn_new(0, (uint16_t)(42000 + i));
        open_conn(w, &a[i]);
    }
    struct conn x = conn_new(0, 42100);
    unsigned before = w->nsocket;
    guest_syn(w, &x, 1400);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_true(segs[0].flags & VN_TCP_RST);
    assert_int_equal(stat(w, "refused_guest_share"), 1);
    assert_int_equal(w->nsocket, before); /* refused before any host socket */
    /* Guest 2 still gets flows, until the table (16) is full. */
    struct conn b[6];
    for (int i = 0; i < 6; i++) {
        b[i] = conn_new(1, (uint16_t)(43000 + i));
        open_conn(w, &b[i]);
    }
    struct conn y = conn_new(1, 43100);
    guest_syn(w, &y, 1400);
    pump(w);
    assert_int_equal(take(w, 1), 1);
    assert_true(segs[0].flags & VN_TCP_RST);
    assert_int_equal(stat(w, "refused_table_full"), 1);
    assert_int_equal(stat(w, "flows_active"), 16);
    /* The existing flows are undisturbed: data both ways on one of each. */
    uint8_t got[16];
    int eof;
    guest_send(w, &a[3], VN_TCP_ACK | VN_TCP_PSH, "a3", 2);
    guest_send(w, &b[5], VN_TCP_ACK | VN_TCP_PSH, "b5", 2);
    pump(w);
    assert_int_equal(peer_read(a[3].peer, got, 2, &eof), 2);
    assert_memory_equal(got, "a3", 2);
    assert_int_equal(peer_read(b[5].peer, got, 2, &eof), 2);
    assert_memory_equal(got, "b5", 2);
    assert_int_equal(write(a[0].peer, "to-a0", 5), 5);
    pump(w);
    unsigned n = take(w, 0);
    assert_int_equal(collect(&a[0], n, a[0].rcv, got, sizeof got), 5);
    take(w, 1);
    /* A freed slot is usable again. */
    guest_raw(w, &b[0], b[0].snd, 0, VN_TCP_RST, 0, NULL, 0, NULL, 0, false);
    pump(w);
    open_conn(w, &y);
    assert_int_equal(stat(w, "flows_active"), 16);
    json_t *o = vn_nat_stats_json(w->nat);
    json_t *owners = json_object_get(o, "flows_by_guest");
    assert_int_equal(json_array_size(owners), 2);
    json_decref(o);
    for (int i = 0; i < 10; i++)
        close(a[i].peer);
    for (int i = 0; i < 6; i++)
        close(b[i].peer);
    close(y.peer);
}

static void test_malformed(void **state)
{
    struct world *w = *state;
    struct conn c = conn_new(0, 40020);
    /* Bad checksum: dropped silently, counted, no host socket. */
    uint8_t o[4] = { 2, 4, 5, 0xb4 };
    guest_raw(w, &c, c.snd, 0, VN_TCP_SYN, c.win, NULL, 0, o, 4, true);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    assert_int_equal(stat(w, "tcp_bad_checksum"), 1);
    assert_int_equal(w->nsocket, 0);
    /* SYN+FIN: dropped as a listening socket would. */
    guest_raw(w, &c, c.snd, 0, VN_TCP_SYN | VN_TCP_FIN, c.win, NULL, 0, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    assert_int_equal(stat(w, "tcp_bad_segments"), 1);
    /* A header shorter than its data offset says. */
    static uint8_t f[64];
    uint8_t mac[6];
    guest_mac(mac, 0);
    uint8_t *ip = f + 14;
    harness_ip4(f, w->gw->mac, mac, GUEST1, REMOTE, VN_IPPROTO_TCP, 64, 20);
    ip[20 + 12] = 0xf0; /* 60-byte header in 20 bytes */
    ip[20 + 13] = VN_TCP_SYN;
    struct vn_ip4 pi;
    assert_int_equal(vn_ip4_parse_hdr(ip, 40, true, &pi), VN_IP_OK);
    struct vn_frame fr = { .data = f, .len = 54, .port = w->guest[0]->id };
    struct vn_ipp pp;
    vn_ipp_from4(&pi, &pp);
    vn_nat_input(w->nat, mac, &pp, &fr);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    assert_int_equal(stat(w, "tcp_bad_segments"), 2);
    /* A stray ACK (no flow): RST with its ack as sequence number. */
    guest_raw(w, &c, c.snd, 777, VN_TCP_ACK, c.win, NULL, 0, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 1);
    assert_int_equal(segs[0].flags, VN_TCP_RST);
    assert_int_equal(segs[0].seq, 777);
    /* ... but a stray RST is never answered. */
    guest_raw(w, &c, c.snd, 0, VN_TCP_RST, 0, NULL, 0, NULL, 0, false);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    assert_int_equal(w->nsocket, 0);
    assert_int_equal(stat(w, "flows_active"), 0);
    /* Bad segments on a live flow change nothing in it. */
    open_conn(w, &c);
    guest_raw(w, &c, c.snd, c.rcv, VN_TCP_ACK | VN_TCP_PSH, c.win, "bad", 3, NULL, 0, true);
    pump(w);
    assert_int_equal(take(w, 0), 0);
    assert_int_equal(stat(w, "tcp_bad_checksum"), 2);
    guest_send(w, &c, VN_TCP_ACK | VN_TCP_PSH, "ok", 2);
    pump(w);
    uint8_t got[8];
    int eof;
    assert_int_equal(peer_read(c.peer, got, sizeof got, &eof), 2);
    assert_memory_equal(got, "ok", 2);
    close(c.peer);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake, setup, teardown),
        cmocka_unit_test_setup_teardown(test_syn_ack_retransmit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_to_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_to_guest_retransmit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fin_from_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fin_from_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rst_from_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rst_from_host, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_share_and_table_full, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
