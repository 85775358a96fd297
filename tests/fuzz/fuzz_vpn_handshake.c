/* Fuzz target: WireGuard's handshake and cookie path (src/vpn/noise.c,
 * src/vpn/cookie.c) on untrusted datagrams.
 *
 * Fixed world (the known-answer keys of tests/unit/vectors/wg_handshake.py,
 * so its messages, the seeds, are valid here): a responder R (the "local
 * key" every initiation is for) and an initiator I with a handshake to R
 * pending (made with a fixed ephemeral) and a cookie maker that sent that
 * initiation. Every input is parsed; then
 *   - an initiation: R's mac1/mac2 check; R consumes it (a failure must
 *     wipe the state); if it decrypts to I's key, R answers and I must
 *     either refuse the answer with its handshake untouched or derive the
 *     same keys as R;
 *   - a response: I's mac1/mac2 check; I consumes it with a copy of the
 *     pending handshake (refused: copy and keys unchanged / zero);
 *   - a cookie reply: I's maker consumes it (refused: maker unchanged);
 *   - any initiation or response, MACs rewritten by a maker, answered by the
 *     checker with a cookie reply: the maker must take it, and its next mac2
 *     must pass the checker (MAC2_OK) from that source, and from no other. */
#include "vpn/cookie.h"
#include "vpn/noise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static const uint8_t SRC[6] = { 192, 0, 2, 7, 0xca, 0x6c };
static const uint8_t SRC_OTHER[6] = { 192, 0, 2, 8, 0xca, 0x6c };
#define NOW 5000

static struct {
    struct vn_noise_local r, i;
    struct vn_noise_remote r_of_i, i_of_r;  /* R's view of I, I's view of R */
    struct vn_noise_hs pending;              /* I -> R, INIT_SENT */
    struct vn_cookie_maker maker;            /* I's, after sending that initiation */
    struct vn_cookie_checker r_chk, i_chk;
} w;

static void seq(uint8_t out[32], unsigned start)
{
    for (unsigned i = 0; i < 32; i++)
        out[i] = (uint8_t)(start + i);
}

static void setup(void)
{
    uint8_t k[32], psk[32], e[32], t[VN_WG_TAI64N_LEN], msg[VN_WG_INIT_LEN];
    if (vn_crypto_init() < 0)
        die("crypto init");
    seq(k, 0x21);
    if (vn_noise_local_init(&w.r, k) < 0)
        die("R");
    seq(k, 0x01);
    if (vn_noise_local_init(&w.i, k) < 0)
        die("I");
    seq(psk, 0x81);
    if (vn_noise_remote_init(&w.r_of_i, &w.r, w.i.pub, psk) < 0
        || vn_noise_remote_init(&w.i_of_r, &w.i, w.r.pub, psk) < 0)
        die("remotes");
    seq(e, 0x41);
    vn_noise_tai64n(t, 1700000000, 123456789);
    if (vn_noise_init_create_with_e(&w.pending, &w.i, &w.i_of_r, 0x11223344, t, e, msg) < 0
        || vn_cookie_add_macs(&w.maker, w.i_of_r.mac1_key, msg, sizeof(msg), NOW) < 0)
        die("pending handshake");
    if (vn_cookie_checker_init(&w.r_chk, w.r.pub) < 0 || vn_cookie_checker_init(&w.i_chk, w.i.pub) < 0)
        die("checkers");
}

/* The checker's reply to any handshake message, its MACs made by a fresh
 * maker, is taken by that maker and makes a mac2 the checker accepts. */
static void cookie_round_trip(const uint8_t *p, size_t n, struct vn_cookie_checker *chk,
                              const uint8_t mac1_key[VN_HASH_LEN])
{
    uint8_t msg[VN_WG_INIT_LEN], reply[VN_WG_COOKIE_LEN];
    struct vn_cookie_maker mk = { 0 };
    struct vn_wg_msg m;

    memcpy(msg, p, n);
    if (vn_cookie_add_macs(&mk, mac1_key, msg, n, NOW) < 0)
        die("add_macs refused a handshake message");
    if (vn_cookie_check(chk, msg, n, SRC, sizeof(SRC), false, NOW) != VN_COOKIE_MAC1_OK)
        die("our own mac1 refused");
    if (vn_cookie_reply_create(chk, msg, n, SRC, sizeof(SRC), NOW, reply) < 0)
        die("no cookie reply to a handshake message");
    if (vn_wg_parse(reply, sizeof(reply), &m) != VN_WG_COOKIE || m.cookie.receiver != vn_wg_get_le32(p + 4))
        die("cookie reply does not parse or has the wrong receiver");
    if (vn_cookie_reply_consume(&mk, chk->cookie_key, &m.cookie, NOW) < 0)
        die("maker refused the checker's cookie reply");
    if (vn_cookie_reply_consume(&mk, chk->cookie_key, &m.cookie, NOW) == 0)
        die("maker took a cookie reply twice");
    if (vn_cookie_add_macs(&mk, mac1_key, msg, n, NOW + 1) < 0)
        die("add_macs with a cookie");
    if (vn_cookie_check(chk, msg, n, SRC, sizeof(SRC), true, NOW + 1) != VN_COOKIE_MAC2_OK)
        die("mac2 with a fresh cookie refused");
    if (vn_cookie_check(chk, msg, n, SRC_OTHER, sizeof(SRC_OTHER), true, NOW + 1) != VN_COOKIE_MAC1_OK)
        die("mac2 accepted from another source");
}

static void fuzz_init(const uint8_t *p, size_t n, const struct vn_wg_init *m)
{
    struct vn_noise_hs rh, ih;
    struct vn_noise_keys rk, ik;
    uint8_t s[32], ts[VN_WG_TAI64N_LEN], resp[VN_WG_RESP_LEN];
    struct vn_wg_msg mr;

    (void)vn_cookie_check(&w.r_chk, p, n, SRC, sizeof(SRC), true, NOW);
    memset(&rh, 0xa5, sizeof(rh));
    if (vn_noise_init_consume(&rh, &w.r, m, s, ts) < 0) {
        if (!vn_ct_is_zero(&rh, sizeof(rh)))
            die("a refused initiation left handshake state");
        return;
    }
    if (rh.state != VN_NOISE_INIT_RCVD || rh.remote_index != m->sender)
        die("consumed initiation: wrong state or index");
    if (memcmp(s, w.i.pub, 32) != 0) {
        vn_noise_hs_clear(&rh);
        return;   /* someone else: not a peer of R */
    }
    if (vn_noise_resp_create(&rh, &w.r, &w.r_of_i, 0x55667788, resp, &rk) < 0)
        die("no response to a good initiation");
    if (!vn_ct_is_zero(&rh, sizeof(rh)))
        die("response made, state kept");
    if (vn_wg_parse(resp, sizeof(resp), &mr) != VN_WG_RESPONSE || mr.resp.receiver != m->sender)
        die("our response does not parse or has the wrong receiver");
    memcpy(&ih, &w.pending, sizeof(ih));
    if (vn_noise_resp_consume(&ih, &w.i, &w.i_of_r, &mr.resp, &ik) == 0) {
        if (memcmp(ik.send, rk.recv, 32) || memcmp(ik.recv, rk.send, 32)
            || ik.remote_index != 0x55667788 || rk.remote_index != m->sender)
            die("a completed handshake with keys or indexes that do not match");
    } else if (memcmp(&ih, &w.pending, sizeof(ih)) != 0 || !vn_ct_is_zero(&ik, sizeof(ik))) {
        die("a refused response changed the handshake or left keys");
    }
    vn_noise_keys_clear(&rk);
    vn_noise_keys_clear(&ik);
}

static void fuzz_resp(const uint8_t *p, size_t n, const struct vn_wg_resp *m)
{
    struct vn_noise_hs ih;
    struct vn_noise_keys k;

    memcpy(&ih, &w.pending, sizeof(ih));

    (void)vn_cookie_check(&w.i_chk, p, n, SRC, sizeof(SRC), true, NOW);
    if (vn_noise_resp_consume(&ih, &w.i, &w.i_of_r, m, &k) == 0) {
        if (!k.initiator || k.remote_index != m->sender || k.local_index != w.pending.local_index
            || ih.state != VN_NOISE_NONE)
            die("a consumed response with wrong keys' indexes or state");
        vn_noise_keys_clear(&k);
    } else if (memcmp(&ih, &w.pending, sizeof(ih)) != 0 || !vn_ct_is_zero(&k, sizeof(k))) {
        die("a refused response changed the handshake or left keys");
    }
}

static void fuzz_cookie(const struct vn_wg_cookie *m)
{
    struct vn_cookie_maker mk;
    memcpy(&mk, &w.maker, sizeof(mk));   /* padding too: compared bytewise below */
    if (vn_cookie_reply_consume(&mk, w.i_of_r.cookie_key, m, NOW) == 0) {
        if (!mk.cookie_valid || mk.last_mac1_valid)
            die("a taken cookie reply left the maker wrong");
    } else if (memcmp(&mk, &w.maker, sizeof(mk)) != 0) {
        die("a refused cookie reply changed the maker");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    struct vn_wg_msg m;

    if (!ready) {
        setup();
        ready = true;
    }
    switch (vn_wg_parse(data, size, &m)) {
    case VN_WG_INITIATION:
        fuzz_init(data, size, &m.init);
        cookie_round_trip(data, size, &w.r_chk, w.r.mac1_key);
        break;
    case VN_WG_RESPONSE:
        fuzz_resp(data, size, &m.resp);
        cookie_round_trip(data, size, &w.i_chk, w.i.mac1_key);
        break;
    case VN_WG_COOKIE:
        fuzz_cookie(&m.cookie);
        break;
    default:
        /* not a handshake message: the cookie path refuses it too */
        if (vn_cookie_check(&w.r_chk, data, size, SRC, sizeof(SRC), true, NOW) != VN_COOKIE_BAD_MAC1)
            die("MACs accepted on a non-handshake message");
        break;
    }
    return 0;
}
