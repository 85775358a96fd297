/* Unit tests of mac1, mac2 and cookie replies (src/vpn/cookie.c): mac1
 * right and wrong, mac2 only with a fresh cookie, the cookie reply round
 * trip from the checker to the maker and back as mac2, replies refused
 * against another mac1 / key / tampered / replayed, cookies bound to the
 * source address and port, the checker's secret renewed after
 * VN_COOKIE_SECRET_MS and the maker's cookie dropped after
 * VN_COOKIE_VALID_MS; and a known answer from
 * tests/unit/vectors/wg_handshake.py (a cookie reply sealed in Python,
 * consumed here, and the mac2 it gives). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include "vpn/cookie.h"

#include <stdio.h>
#include <string.h>

static const uint8_t SRC4[6] = { 192, 0, 2, 1, 0xca, 0x6c };       /* 192.0.2.1:51820 */
static const uint8_t SRC4B[6] = { 192, 0, 2, 1, 0xca, 0x6d };      /* another port */
static const uint8_t SRC6[18] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1, [16] = 0xca, [17] = 0x6c };

struct world {
    uint8_t pub[32];                 /* the responder's */
    struct vn_cookie_checker chk;
    struct vn_cookie_maker mk;       /* the initiator's, for that responder */
};

static void make_world(struct world *w)
{
    uint8_t priv[32];
    vn_x25519_genkey(priv);
    assert_int_equal(vn_x25519_pubkey(w->pub, priv), 0);
    assert_int_equal(vn_cookie_checker_init(&w->chk, w->pub), 0);
    memset(&w->mk, 0, sizeof(w->mk));
}

/* A handshake message of type t with random contents (the MACs do not
 * look inside) and the sender index idx. */
static size_t make_msg(uint8_t *msg, int t, uint32_t idx)
{
    size_t len = t == VN_WG_INITIATION ? VN_WG_INIT_LEN : VN_WG_RESP_LEN;
    vn_crypto_random(msg, len);
    msg[0] = (uint8_t)t;
    msg[1] = msg[2] = msg[3] = 0;
    vn_wg_put_le32(msg + 4, idx);
    return len;
}

static bool mac2_zero(const uint8_t *msg, size_t len)
{
    return vn_ct_is_zero(msg + len - VN_MAC_LEN, VN_MAC_LEN);
}

/* The checker answers msg from src at now with a cookie reply, which the
 * maker takes. */
static void cookie_round(struct world *w, const uint8_t *msg, size_t len, const uint8_t *src,
                         size_t srclen, uint64_t now)
{
    uint8_t reply[VN_WG_COOKIE_LEN];
    struct vn_wg_msg m;
    assert_int_equal(vn_cookie_reply_create(&w->chk, msg, len, src, srclen, now, reply), 0);
    assert_int_equal(vn_wg_parse(reply, sizeof(reply), &m), VN_WG_COOKIE);
    assert_int_equal(m.cookie.receiver, vn_wg_get_le32(msg + 4));
    assert_int_equal(vn_cookie_reply_consume(&w->mk, w->chk.cookie_key, &m.cookie, now), 0);
}

static void test_mac1(void **state)
{
    (void)state;
    static const int types[] = { VN_WG_INITIATION, VN_WG_RESPONSE };
    struct world w, other;
    uint8_t msg[VN_WG_INIT_LEN], bad[VN_WG_INIT_LEN];
    make_world(&w);
    make_world(&other);
    for (size_t t = 0; t < 2; t++) {
        size_t len = make_msg(msg, types[t], 42), o1, o2;
        assert_int_equal(vn_wg_mac_offsets(types[t], &o1, &o2), 0);
        assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, 1000), 0);
        assert_true(w.mk.last_mac1_valid);
        assert_memory_equal(w.mk.last_mac1, msg + o1, VN_MAC_LEN);
        assert_true(mac2_zero(msg, len));
        assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, false, 1000), VN_COOKIE_MAC1_OK);
        /* no cookie yet: mac2 is zeros, so under load only mac1 passes */
        assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, 1000), VN_COOKIE_MAC1_OK);
        /* for another responder */
        assert_int_equal(vn_cookie_check(&other.chk, msg, len, SRC4, 6, false, 1000),
                         VN_COOKIE_BAD_MAC1);
        /* every byte up to mac1's end counts; mac2's bytes do not */
        for (size_t i = 0; i < o2; i++) {
            memcpy(bad, msg, len);
            bad[i] ^= 0x20;
            assert_int_equal(vn_cookie_check(&w.chk, bad, len, SRC4, 6, false, 1000),
                             VN_COOKIE_BAD_MAC1);
        }
        memcpy(bad, msg, len);
        bad[len - 1] ^= 1;
        assert_int_equal(vn_cookie_check(&w.chk, bad, len, SRC4, 6, false, 1000), VN_COOKIE_MAC1_OK);
        /* not a whole handshake message */
        assert_int_equal(vn_cookie_check(&w.chk, msg, len - 1, SRC4, 6, false, 1000),
                         VN_COOKIE_BAD_MAC1);
        assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len + 1, 1000), -1);
    }
    make_msg(msg, VN_WG_INITIATION, 1);
    msg[0] = VN_WG_COOKIE;
    assert_int_equal(vn_cookie_check(&w.chk, msg, VN_WG_COOKIE_LEN, SRC4, 6, false, 1), VN_COOKIE_BAD_MAC1);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, VN_WG_COOKIE_LEN, 1), -1);
    assert_int_equal(vn_cookie_check(&w.chk, msg, 0, SRC4, 6, false, 1), VN_COOKIE_BAD_MAC1);
}

/* checker -> cookie reply -> maker -> mac2 -> MAC2_OK, for both message
 * types and both address families. */
static void test_round_trip(void **state)
{
    (void)state;
    static const int types[] = { VN_WG_INITIATION, VN_WG_RESPONSE };
    struct world w;
    uint8_t msg[VN_WG_INIT_LEN];
    make_world(&w);
    for (size_t t = 0; t < 2; t++)
        for (int fam = 0; fam < 2; fam++) {
            const uint8_t *src = fam ? SRC6 : SRC4;
            size_t srclen = fam ? sizeof(SRC6) : sizeof(SRC4);
            uint64_t now = 5000 + t * 10 + (uint64_t)fam;
            size_t len = make_msg(msg, types[t], 0x01020304);
            memset(&w.mk, 0, sizeof(w.mk));
            assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, now), 0);
            assert_int_equal(vn_cookie_check(&w.chk, msg, len, src, srclen, true, now),
                             VN_COOKIE_MAC1_OK);
            cookie_round(&w, msg, len, src, srclen, now);
            assert_true(w.mk.cookie_valid);
            assert_false(w.mk.last_mac1_valid);

            len = make_msg(msg, types[t], 0x01020305);
            assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, now + 1), 0);
            assert_false(mac2_zero(msg, len));
            assert_int_equal(vn_cookie_check(&w.chk, msg, len, src, srclen, true, now + 1),
                             VN_COOKIE_MAC2_OK);
            assert_int_equal(vn_cookie_check(&w.chk, msg, len, src, srclen, false, now + 1),
                             VN_COOKIE_MAC1_OK);
            /* a wrong mac2 */
            msg[len - 3] ^= 4;
            assert_int_equal(vn_cookie_check(&w.chk, msg, len, src, srclen, true, now + 1),
                             VN_COOKIE_MAC1_OK);
        }
}

/* The cookie is bound to the address and port it was made for. */
static void test_other_source(void **state)
{
    (void)state;
    struct world w;
    uint8_t msg[VN_WG_INIT_LEN], src[6];
    size_t len;
    make_world(&w);
    len = make_msg(msg, VN_WG_INITIATION, 9);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, 100), 0);
    cookie_round(&w, msg, len, SRC4, sizeof(SRC4), 100);
    len = make_msg(msg, VN_WG_INITIATION, 9);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, 100), 0);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, 100), VN_COOKIE_MAC2_OK);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4B, 6, true, 100), VN_COOKIE_MAC1_OK);
    memcpy(src, SRC4, 6);
    src[3] = 2;
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, src, 6, true, 100), VN_COOKIE_MAC1_OK);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC6, 18, true, 100), VN_COOKIE_MAC1_OK);
    /* no source, or one longer than an IPv6 address and port */
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 0, true, 100), VN_COOKIE_MAC1_OK);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC6, VN_COOKIE_SRC_MAX + 1, true, 100),
                     VN_COOKIE_MAC1_OK);
    uint8_t reply[VN_WG_COOKIE_LEN];
    assert_int_equal(vn_cookie_reply_create(&w.chk, msg, len, SRC4, 0, 100, reply), -1);
    assert_int_equal(vn_cookie_reply_create(&w.chk, msg, len - 1, SRC4, 6, 100, reply), -1);
}

/* A reply is taken only against the mac1 of the last message sent, under
 * the right key, untampered, once. */
static void test_reply_refused(void **state)
{
    (void)state;
    struct world w, other;
    uint8_t a[VN_WG_INIT_LEN], b[VN_WG_INIT_LEN], reply[VN_WG_COOKIE_LEN], bad[VN_WG_COOKIE_LEN];
    struct vn_wg_msg m;
    make_world(&w);
    make_world(&other);

    /* nothing sent yet */
    make_msg(a, VN_WG_INITIATION, 1);
    assert_int_equal(vn_cookie_add_macs(&other.mk, w.chk.mac1_key, a, sizeof(a), 10), 0);
    assert_int_equal(vn_cookie_reply_create(&w.chk, a, sizeof(a), SRC4, 6, 10, reply), 0);
    assert_int_equal(vn_wg_parse(reply, sizeof(reply), &m), VN_WG_COOKIE);
    assert_int_equal(vn_cookie_reply_consume(&w.mk, w.chk.cookie_key, &m.cookie, 10), -1);

    /* we sent b, the reply answers a (another mac1 as AD) */
    make_msg(b, VN_WG_INITIATION, 1);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, b, sizeof(b), 10), 0);
    assert_int_equal(vn_cookie_reply_consume(&w.mk, w.chk.cookie_key, &m.cookie, 10), -1);
    assert_false(w.mk.cookie_valid);
    assert_true(w.mk.last_mac1_valid);

    /* the reply to b: under another responder's key, tampered, then right, then replayed */
    assert_int_equal(vn_cookie_reply_create(&w.chk, b, sizeof(b), SRC4, 6, 10, reply), 0);
    assert_int_equal(vn_wg_parse(reply, sizeof(reply), &m), VN_WG_COOKIE);
    assert_int_equal(vn_cookie_reply_consume(&w.mk, other.chk.cookie_key, &m.cookie, 10), -1);
    for (size_t i = VN_WG_COOKIE_NONCE; i < VN_WG_COOKIE_LEN; i++) {
        struct vn_wg_msg mb;
        memcpy(bad, reply, sizeof(reply));
        bad[i] ^= 0x40;
        assert_int_equal(vn_wg_parse(bad, sizeof(bad), &mb), VN_WG_COOKIE);
        if (vn_cookie_reply_consume(&w.mk, w.chk.cookie_key, &mb.cookie, 10) != -1)
            fail_msg("cookie reply with byte %zu changed taken", i);
    }
    assert_false(w.mk.cookie_valid);
    assert_int_equal(vn_cookie_reply_consume(&w.mk, w.chk.cookie_key, &m.cookie, 10), 0);
    assert_true(w.mk.cookie_valid);
    assert_int_equal(vn_cookie_reply_consume(&w.mk, w.chk.cookie_key, &m.cookie, 10), -1);
}

/* The checker's secret lasts VN_COOKIE_SECRET_MS: a cookie stops giving
 * MAC2_OK when it is renewed (also when the clock goes backwards). Time 0
 * is an ordinary time. */
static void test_secret_rotation(void **state)
{
    (void)state;
    struct world w;
    uint8_t msg[VN_WG_INIT_LEN], secret[32];
    size_t len;
    make_world(&w);
    assert_false(w.chk.secret_valid);

    len = make_msg(msg, VN_WG_INITIATION, 3);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, 0), 0);
    cookie_round(&w, msg, len, SRC4, 6, 0);
    assert_true(w.chk.secret_valid);
    memcpy(secret, w.chk.secret, 32);
    len = make_msg(msg, VN_WG_INITIATION, 3);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, 0), 0);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, 0), VN_COOKIE_MAC2_OK);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, VN_COOKIE_SECRET_MS - 1),
                     VN_COOKIE_MAC2_OK);
    assert_memory_equal(secret, w.chk.secret, 32);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, VN_COOKIE_SECRET_MS),
                     VN_COOKIE_MAC1_OK);
    assert_memory_not_equal(secret, w.chk.secret, 32);
    assert_int_equal(w.chk.secret_ms, VN_COOKIE_SECRET_MS);

    /* a new cookie under the new secret works; a clock gone back renews it */
    uint64_t t = VN_COOKIE_SECRET_MS + 10;
    len = make_msg(msg, VN_WG_INITIATION, 3);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t), 0);
    cookie_round(&w, msg, len, SRC4, 6, t);
    len = make_msg(msg, VN_WG_INITIATION, 3);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t), 0);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, t), VN_COOKIE_MAC2_OK);
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, t - 1000), VN_COOKIE_MAC1_OK);
}

/* The maker sends mac2 with a cookie younger than VN_COOKIE_VALID_MS. */
static void test_cookie_expiry(void **state)
{
    (void)state;
    struct world w;
    uint8_t msg[VN_WG_INIT_LEN];
    size_t len;
    const uint64_t t0 = 1000000;
    make_world(&w);
    len = make_msg(msg, VN_WG_INITIATION, 3);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t0), 0);
    cookie_round(&w, msg, len, SRC4, 6, t0);
    assert_int_equal(w.mk.cookie_ms, t0);

    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t0 + VN_COOKIE_VALID_MS - 1), 0);
    assert_false(mac2_zero(msg, len));
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, t0 + 5), VN_COOKIE_MAC2_OK);
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t0 + VN_COOKIE_VALID_MS), 0);
    assert_true(mac2_zero(msg, len));
    assert_int_equal(vn_cookie_check(&w.chk, msg, len, SRC4, 6, true, t0 + 5), VN_COOKIE_MAC1_OK);
    /* a clock gone back does not revive it either */
    assert_int_equal(vn_cookie_add_macs(&w.mk, w.chk.mac1_key, msg, len, t0 - 1), 0);
    assert_true(mac2_zero(msg, len));
}

/* Python's cookie reply to the known-answer initiation is taken, and the
 * initiation sent again with that cookie carries Python's mac2. */
static void test_known_answer(void **state)
{
    (void)state;
    static const char init_hex[] =
        "010000004433221164b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466"
        "158a0e4ca242d151ca97ab90159a98b67e616625e68b4065d357376b6598e644ad7d678c0295d22d"
        "e4cb43d5135581ed36346bfa7cf42a12266235863f4efbc62519f49f8f62661b44a6a84392de152f"
        "aa48fb09b8e579485abacbea00000000000000000000000000000000";
    static const char reply_hex[] =
        "0300000044332211c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d888509b73c0f2566d"
        "125c8601f7df23dddaaf2b9d196a0ca217529e9b96e56f4e";
    uint8_t r_pub[32], init[VN_WG_INIT_LEN], want[VN_WG_INIT_LEN], reply[VN_WG_COOKIE_LEN];
    uint8_t mac2[16], cookie[16];
    struct vn_cookie_checker chk;
    struct vn_cookie_maker mk = { 0 };
    struct vn_wg_msg m;

    harness_unhex(r_pub, 32, "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
    harness_unhex(want, sizeof(want), init_hex);
    harness_unhex(reply, sizeof(reply), reply_hex);
    harness_unhex(mac2, sizeof(mac2), "719613ae8e752c76a87b419786fff126");
    for (int i = 0; i < 16; i++)
        cookie[i] = (uint8_t)(0xa1 + i);
    assert_int_equal(vn_cookie_checker_init(&chk, r_pub), 0);

    memcpy(init, want, sizeof(init));
    memset(init + VN_WG_INIT_MAC1, 0, 32);
    assert_int_equal(vn_cookie_add_macs(&mk, chk.mac1_key, init, sizeof(init), 7), 0);
    assert_memory_equal(init, want, sizeof(init));
    assert_int_equal(vn_cookie_check(&chk, init, sizeof(init), SRC4, 6, false, 7), VN_COOKIE_MAC1_OK);

    assert_int_equal(vn_wg_parse(reply, sizeof(reply), &m), VN_WG_COOKIE);
    assert_int_equal(m.cookie.receiver, 0x11223344);
    assert_int_equal(vn_cookie_reply_consume(&mk, chk.cookie_key, &m.cookie, 7), 0);
    assert_memory_equal(mk.cookie, cookie, 16);
    assert_int_equal(vn_cookie_add_macs(&mk, chk.mac1_key, init, sizeof(init), 8), 0);
    assert_memory_equal(init, want, VN_WG_INIT_MAC2);
    assert_memory_equal(init + VN_WG_INIT_MAC2, mac2, 16);
}

static int setup(void **state)
{
    (void)state;
    return vn_crypto_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mac1),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_other_source),
        cmocka_unit_test(test_reply_refused),
        cmocka_unit_test(test_secret_rotation),
        cmocka_unit_test(test_cookie_expiry),
        cmocka_unit_test(test_known_answer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
