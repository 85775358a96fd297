/* Unit tests of the WireGuard device (src/vpn/device.c, timers.c): two
 * devices talk through an in-memory "network" under a fake clock: the
 * first packet starts a handshake and is delivered after it, both ways;
 * a replayed datagram is dropped and counted; an inner source outside the
 * peer's AllowedIPs is refused; the endpoint follows a roaming peer;
 * rekeying after REKEY_AFTER_TIME, keepalives and key zeroing by the
 * timers; a wrong preshared key never completes; a flood of initiations
 * puts the device under load (cookie replies) while the real peer still
 * gets through with mac2; persistent keepalive connects a site at once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpn/device.h"

#include <stdlib.h>
#include <string.h>

#define NETQ 512

struct dgram {
    int to;                       /* device 0 or 1 (2: nobody) */
    struct vn_vpn_endpoint from;
    uint8_t buf[2048];
    size_t len;
};

/* The world: two devices, their endpoints, a queue of datagrams in flight,
 * what was delivered. */
struct world {
    struct vn_vpn_dev *dev[2];
    struct vn_vpn_endpoint ep[2];   /* where each device's datagrams come from */
    struct dgram q[NETQ];
    unsigned nq;
    uint8_t last[2][2048];          /* the last datagram each device sent */
    size_t last_len[2];
    unsigned delivered[2];
    uint8_t got[2][2048];
    size_t got_len[2];
    uint64_t now;
    bool drop_all;
};

struct ctx {
    struct world *w;
    int me;
};

static void io_send(void *c, const struct vn_vpn_endpoint *to, const uint8_t *buf, size_t len)
{
    struct ctx *x = c;
    struct world *w = x->w;
    memcpy(w->last[x->me], buf, len);
    w->last_len[x->me] = len;
    if (w->drop_all || w->nq == NETQ)
        return;
    struct dgram *g = &w->q[w->nq++];
    g->to = 2;
    for (int i = 0; i < 2; i++)
        if (i != x->me && vn_addr_eq(&to->ip, &w->ep[i].ip) && to->port == w->ep[i].port)
            g->to = i;
    g->from = w->ep[x->me];
    memcpy(g->buf, buf, len);
    g->len = len;
}

static void io_deliver(void *c, struct vn_vpn_peer *p, uint8_t *buf, size_t len)
{
    (void)p;
    struct ctx *x = c;
    x->w->delivered[x->me]++;
    memcpy(x->w->got[x->me], buf, len);
    x->w->got_len[x->me] = len;
}

static void io_wall(void *c, uint64_t *sec, uint32_t *nsec)
{
    struct ctx *x = c;
    *sec = 1700000000u + x->w->now / 1000u;
    *nsec = (uint32_t)(x->w->now % 1000u) * 1000000u;
}

/* Deliver every datagram in flight (and what they cause) until quiet. */
static void pump(struct world *w)
{
    for (unsigned rounds = 0; w->nq && rounds < 100; rounds++) {
        struct dgram q[NETQ];
        unsigned n = w->nq;
        memcpy(q, w->q, n * sizeof q[0]);
        w->nq = 0;
        for (unsigned i = 0; i < n; i++)
            if (q[i].to < 2)
                vn_vpn_dev_input(w->dev[q[i].to], &q[i].from, q[i].buf, q[i].len, w->now);
    }
}

/* Advance the clock by ms in steps of 100, running both devices' timers. */
static void advance(struct world *w, uint64_t ms)
{
    for (uint64_t t = 0; t < ms; t += 100) {
        w->now += 100;
        for (int i = 0; i < 2; i++)
            vn_vpn_dev_tick(w->dev[i], w->now);
        pump(w);
    }
}

static struct ctx ctxs[2];
static uint8_t priv[2][32], pub[2][32];

static struct vn_addr a4(const char *s)
{
    struct vn_addr a;
    assert_int_equal(vn_addr_parse(s, &a), 0);
    return a;
}

/* Device 0 ("laptop", 10.0.0.0/24, knows device 1's endpoint) and device 1
 * ("server", 10.1.0.0/24). psk1 is device 1's idea of the preshared key. */
static struct world *world_new(const uint8_t *psk0, const uint8_t *psk1, uint16_t keepalive0)
{
    struct world *w = calloc(1, sizeof *w);
    assert_non_null(w);
    w->now = 1000;
    w->ep[0] = (struct vn_vpn_endpoint){ a4("192.0.2.1"), 40000 };
    w->ep[1] = (struct vn_vpn_endpoint){ a4("192.0.2.2"), 51820 };
    for (int i = 0; i < 2; i++) {
        vn_x25519_genkey(priv[i]);
        assert_int_equal(vn_x25519_pubkey(pub[i], priv[i]), 0);
        ctxs[i] = (struct ctx){ w, i };
        struct vn_vpn_io io = { &ctxs[i], io_send, io_deliver, io_wall };
        char err[128];
        w->dev[i] = vn_vpn_dev_new(priv[i], 8, &io, err, sizeof err);
        assert_non_null(w->dev[i]);
    }
    char err[128];
    struct vn_addr al0 = a4("10.1.0.0"), al1 = a4("10.0.0.0");
    uint8_t l24 = 24;
    assert_non_null(vn_vpn_peer_add(w->dev[0], "server", pub[1], psk0, &w->ep[1], keepalive0, &al0,
                                    &l24, 1, err, sizeof err));
    assert_non_null(vn_vpn_peer_add(w->dev[1], "laptop", pub[0], psk1, NULL, 0, &al1, &l24, 1, err,
                                    sizeof err));
    return w;
}

static void world_free(struct world *w)
{
    vn_vpn_dev_free(w->dev[0]);
    vn_vpn_dev_free(w->dev[1]);
    free(w);
}

/* A minimal IPv4 packet src -> dst of total length len (>= 20). */
static size_t ip4(uint8_t *p, const char *src, const char *dst, size_t len, uint8_t mark)
{
    memset(p, 0, len);
    p[0] = 0x45;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
    p[8] = 64;
    p[9] = 17;
    struct vn_addr s = a4(src), d = a4(dst);
    memcpy(p + 12, s.a, 4);
    memcpy(p + 16, d.a, 4);
    if (len > 20)
        p[20] = mark;
    return len;
}

static struct vn_vpn_peer *peer(struct world *w, int i)
{
    return w->dev[i]->peers[0];
}

static void test_handshake_and_data(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 61, 0xa1);
    assert_ptr_equal(vn_vpn_dev_output(w->dev[0], p, n, w->now), peer(w, 0));
    assert_int_equal(w->delivered[1], 0); /* queued behind the handshake */
    pump(w);
    assert_int_equal(w->delivered[1], 1);
    assert_int_equal(w->got_len[1], 61); /* padding removed */
    assert_memory_equal(w->got[1], p, 61);
    assert_int_equal(peer(w, 0)->st.handshakes, 1);
    assert_int_equal(peer(w, 1)->st.handshakes, 1);
    /* the responder learned the laptop's endpoint and can answer */
    n = ip4(p, "10.1.0.5", "10.0.0.2", 40, 0xb2);
    assert_ptr_equal(vn_vpn_dev_output(w->dev[1], p, n, w->now), peer(w, 1));
    pump(w);
    assert_int_equal(w->delivered[0], 1);
    assert_memory_equal(w->got[0], p, 40);
    /* no route */
    n = ip4(p, "10.1.0.5", "10.7.0.1", 40, 0);
    assert_null(vn_vpn_dev_output(w->dev[1], p, n, w->now));
    assert_int_equal(w->dev[1]->st.no_route, 1);
    world_free(w);
}

static void test_replay_and_source(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 1);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    uint8_t copy[2048];
    size_t clen = w->last_len[0];
    memcpy(copy, w->last[0], clen);
    pump(w);
    assert_int_equal(w->delivered[1], 2);
    vn_vpn_dev_input(w->dev[1], &w->ep[0], copy, clen, w->now);
    assert_int_equal(w->delivered[1], 2);
    assert_int_equal(w->dev[1]->st.replayed, 1);
    assert_int_equal(peer(w, 1)->st.replayed, 1);
    /* an inner source the laptop is not allowed to use */
    n = ip4(p, "10.9.9.9", "10.1.0.5", 60, 2);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(w->delivered[1], 2);
    assert_int_equal(w->dev[1]->st.src_refused, 1);
    /* a flipped byte fails authentication */
    n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 3);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    w->q[w->nq - 1].buf[30] ^= 1;
    pump(w);
    assert_int_equal(w->dev[1]->st.bad_packet, 1);
    assert_int_equal(w->delivered[1], 2);
    world_free(w);
}

static void test_roaming(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 1);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(peer(w, 1)->endpoint.port, 40000);
    w->ep[0].port = 40001; /* the laptop's NAT gave it another port */
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(peer(w, 1)->endpoint.port, 40001);
    assert_int_equal(peer(w, 1)->st.roams, 1);
    assert_int_equal(peer(w, 1)->st.handshakes, 1); /* same session */
    n = ip4(p, "10.1.0.5", "10.0.0.2", 60, 2);
    vn_vpn_dev_output(w->dev[1], p, n, w->now);
    pump(w);
    assert_int_equal(w->delivered[0], 1);
    world_free(w);
}

static void test_rekey_and_timers(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 1);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    /* the server answers nothing: after KEEPALIVE_TIMEOUT it sends a keepalive */
    uint64_t ka = peer(w, 1)->st.keepalives_sent;
    advance(w, VN_KEEPALIVE_TIMEOUT + 500);
    assert_int_equal(peer(w, 1)->st.keepalives_sent, ka + 1);
    /* past REKEY_AFTER_TIME the initiator's next packet starts a new handshake */
    advance(w, VN_REKEY_AFTER_TIME);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(peer(w, 0)->st.handshakes, 2);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(peer(w, 1)->cur->k.local_index, peer(w, 0)->cur->k.remote_index);
    unsigned before = w->delivered[1];
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(w->delivered[1], before + 1);
    /* silence for 3 x REJECT_AFTER_TIME wipes the keys */
    w->drop_all = true;
    advance(w, 3 * VN_REJECT_AFTER_TIME + 1000);
    assert_null(peer(w, 1)->cur ? (peer(w, 1)->cur->valid ? peer(w, 1)->cur : NULL) : NULL);
    world_free(w);
}

static void test_wrong_psk(void **state)
{
    (void)state;
    uint8_t k1[32], k2[32];
    vn_crypto_random(k1, 32);
    vn_crypto_random(k2, 32);
    struct world *w = world_new(k1, k2, 0);
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 1);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(w->delivered[1], 0);
    assert_int_equal(peer(w, 0)->st.handshakes, 0);
    assert_int_equal(w->dev[0]->st.bad_handshake, 1);
    /* the retries fail the same way and end after REKEY_ATTEMPT_TIME */
    advance(w, VN_REKEY_ATTEMPT_TIME + 10000);
    assert_int_equal(peer(w, 0)->st.handshakes, 0);
    assert_true(peer(w, 0)->st.hs_initiations_sent >= VN_MAX_HS_ATTEMPTS);
    assert_int_equal(peer(w, 0)->qcount, 0);
    world_free(w);

    /* the same psk on both sides works */
    w = world_new(k1, k1, 0);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(w->delivered[1], 1);
    world_free(w);
}

static void test_cookie_under_load(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    /* a third device that knows the server's key floods it with
     * initiations (valid mac1) from another address */
    uint8_t fpriv[32];
    vn_x25519_genkey(fpriv);
    struct ctx fc = { w, 0 };
    struct vn_vpn_io io = { &fc, io_send, io_deliver, io_wall };
    char err[128];
    struct vn_vpn_dev *f = vn_vpn_dev_new(fpriv, 1, &io, err, sizeof err);
    assert_non_null(f);
    struct vn_vpn_endpoint fep = { a4("192.0.2.66"), 6666 };
    assert_non_null(vn_vpn_peer_add(f, "x", pub[1], NULL, &w->ep[1], 0, NULL, NULL, 0, err,
                                    sizeof err));
    for (int i = 0; i < 200; i++) {
        vn_vpn_send_initiation(f, f->peers[0], true, w->now);
        vn_vpn_dev_input(w->dev[1], &fep, w->last[0], w->last_len[0], w->now);
    }
    w->nq = 0; /* the flooder ignores what the server answered */
    assert_true(w->dev[1]->st.cookies_sent > 0);
    assert_true(w->dev[1]->st.unknown_peer > 0);
    /* the laptop's own initiation now gets a cookie, its retry carries mac2 */
    uint8_t p[100];
    size_t n = ip4(p, "10.0.0.2", "10.1.0.5", 60, 1);
    vn_vpn_dev_output(w->dev[0], p, n, w->now);
    pump(w);
    assert_int_equal(peer(w, 0)->st.cookies_rcvd, 1);
    assert_int_equal(w->delivered[1], 0);
    for (int t = 0; t < 80 && !w->delivered[1]; t++) {
        w->now += 100;
        /* the flood goes on */
        for (int i = 0; i < 20; i++) {
            vn_vpn_send_initiation(f, f->peers[0], true, w->now);
            vn_vpn_dev_input(w->dev[1], &fep, w->last[0], w->last_len[0], w->now);
        }
        w->nq = 0;
        vn_vpn_dev_tick(w->dev[0], w->now);
        pump(w);
    }
    assert_int_equal(w->delivered[1], 1);
    assert_int_equal(peer(w, 1)->st.handshakes, 1);
    vn_vpn_dev_free(f);
    world_free(w);
}

static void test_persistent_keepalive(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 25);
    advance(w, 200);
    assert_int_equal(peer(w, 0)->st.handshakes, 1); /* connected with no data */
    assert_int_equal(peer(w, 1)->st.handshakes, 1);
    uint64_t ka = peer(w, 0)->st.keepalives_sent;
    advance(w, 26000);
    assert_true(peer(w, 0)->st.keepalives_sent > ka);
    json_t *j = vn_vpn_dev_json(w->dev[0], w->now);
    assert_non_null(j);
    json_t *p0 = json_array_get(json_object_get(j, "peers"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "name")), "server");
    assert_string_equal(json_string_value(json_object_get(p0, "endpoint")), "192.0.2.2:51820");
    json_decref(j);
    world_free(w);
}

static void test_peer_table(void **state)
{
    (void)state;
    struct world *w = world_new(NULL, NULL, 0);
    char err[128];
    struct vn_addr al = a4("10.1.0.0");
    uint8_t l24 = 24, k[32], kp[32];
    vn_x25519_genkey(k);
    vn_x25519_pubkey(kp, k);
    /* the same prefix as another peer, the same key, our own key */
    assert_null(vn_vpn_peer_add(w->dev[0], "b", kp, NULL, NULL, 0, &al, &l24, 1, err, sizeof err));
    assert_non_null(strstr(err, "belongs to peer 'server'"));
    assert_null(vn_vpn_peer_add(w->dev[0], "b", pub[1], NULL, NULL, 0, NULL, NULL, 0, err,
                                sizeof err));
    assert_null(vn_vpn_peer_add(w->dev[0], "b", pub[0], NULL, NULL, 0, NULL, NULL, 0, err,
                                sizeof err));
    assert_null(vn_vpn_peer_add(w->dev[0], "server", kp, NULL, NULL, 0, NULL, NULL, 0, err,
                                sizeof err));
    /* an exact prefix is found even when another peer holds a longer one inside it */
    struct vn_addr half = a4("10.1.0.0");
    uint8_t l25 = 25;
    vn_x25519_genkey(k);
    vn_x25519_pubkey(kp, k);
    assert_non_null(vn_vpn_peer_add(w->dev[0], "half", kp, NULL, NULL, 0, &half, &l25, 1, err,
                                    sizeof err));
    vn_x25519_genkey(k);
    vn_x25519_pubkey(kp, k);
    assert_null(vn_vpn_peer_add(w->dev[0], "whole", kp, NULL, NULL, 0, &al, &l24, 1, err,
                                sizeof err));
    assert_non_null(strstr(err, "belongs to peer 'server'"));
    /* fill the table (8 slots), then one more is refused, the old ones intact */
    for (int i = 2; i < 8; i++) {
        vn_x25519_genkey(k);
        vn_x25519_pubkey(kp, k);
        assert_non_null(vn_vpn_peer_add(w->dev[0], NULL, kp, NULL, NULL, 0, NULL, NULL, 0, err,
                                        sizeof err));
    }
    vn_x25519_genkey(k);
    vn_x25519_pubkey(kp, k);
    assert_null(vn_vpn_peer_add(w->dev[0], NULL, kp, NULL, NULL, 0, NULL, NULL, 0, err, sizeof err));
    assert_non_null(strstr(err, "full"));
    struct vn_addr in = a4("10.1.0.177");
    assert_ptr_equal(vn_vpn_dev_route(w->dev[0], &in), peer(w, 0));
    vn_vpn_peer_del(w->dev[0], peer(w, 0));
    assert_null(vn_vpn_dev_route(w->dev[0], &in));
    world_free(w);
}

int main(void)
{
    assert_int_equal(vn_crypto_init(), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_data),
        cmocka_unit_test(test_replay_and_source),
        cmocka_unit_test(test_roaming),
        cmocka_unit_test(test_rekey_and_timers),
        cmocka_unit_test(test_wrong_psk),
        cmocka_unit_test(test_cookie_under_load),
        cmocka_unit_test(test_persistent_keepalive),
        cmocka_unit_test(test_peer_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
