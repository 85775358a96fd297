/* Unit tests of WireGuard's handshake (src/vpn/noise.c): our initiator and
 * our responder agree on the transport keys and indexes; a wrong preshared
 * key fails at the initiator without cancelling the handshake, a wrong
 * responder key at the responder; every authenticated byte of either
 * message is checked; failures leave no key material behind; TAI64N
 * labels; and a known-answer vector (fixed static and ephemeral keys)
 * computed independently by tests/unit/vectors/wg_handshake.py with
 * Python's hashlib/hmac and the cryptography module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include "vpn/noise.h"

#include <stdio.h>
#include <string.h>

/* 32 bytes start, start+1, ... (the vector script's keys). */
static void seq(uint8_t out[32], unsigned start)
{
    for (unsigned i = 0; i < 32; i++)
        out[i] = (uint8_t)(start + i);
}

/* Two parties that know each other, with the preshared key psk (NULL: none). */
struct pair {
    struct vn_noise_local il, rl;    /* initiator's and responder's identities */
    struct vn_noise_remote ir, ri;   /* the initiator's view of the responder, and back */
};

static void make_pair(struct pair *p, const uint8_t *psk)
{
    uint8_t k[32];
    vn_x25519_genkey(k);
    assert_int_equal(vn_noise_local_init(&p->il, k), 0);
    vn_x25519_genkey(k);
    assert_int_equal(vn_noise_local_init(&p->rl, k), 0);
    assert_int_equal(vn_noise_remote_init(&p->ir, &p->il, p->rl.pub, psk), 0);
    assert_int_equal(vn_noise_remote_init(&p->ri, &p->rl, p->il.pub, psk), 0);
}

static void parse(const uint8_t *msg, size_t len, int type, struct vn_wg_msg *m)
{
    assert_int_equal(vn_wg_parse(msg, len, m), type);
}

static void now_tai(uint8_t t[VN_WG_TAI64N_LEN])
{
    vn_noise_tai64n(t, 1700000000, 5);
}

static void test_handshake(void **state)
{
    (void)state;
    uint8_t psk[32];
    for (int with_psk = 0; with_psk < 2; with_psk++) {
        struct pair p;
        struct vn_noise_hs ih, rh;
        struct vn_noise_keys ik, rk;
        uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN], s[32], ts[12], t0[12];
        struct vn_wg_msg m;

        vn_crypto_random(psk, sizeof(psk));
        make_pair(&p, with_psk ? psk : NULL);
        now_tai(t0);
        assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 0xdeadbeef, t0, init), 0);
        assert_int_equal(ih.state, VN_NOISE_INIT_SENT);
        assert_int_equal(ih.local_index, 0xdeadbeef);
        parse(init, sizeof(init), VN_WG_INITIATION, &m);
        assert_int_equal(m.init.sender, 0xdeadbeef);
        /* the MACs are cookie.c's: zeros here */
        for (size_t i = VN_WG_INIT_MAC1; i < VN_WG_INIT_LEN; i++)
            assert_int_equal(init[i], 0);

        assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &m.init, s, ts), 0);
        assert_int_equal(rh.state, VN_NOISE_INIT_RCVD);
        assert_int_equal(rh.remote_index, 0xdeadbeef);
        assert_memory_equal(s, p.il.pub, 32);
        assert_memory_equal(ts, t0, 12);

        assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &p.ri, 0x01020304, resp, &rk), 0);
        assert_int_equal(rh.state, VN_NOISE_NONE);
        assert_true(vn_ct_is_zero(&rh, sizeof(rh)));
        parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
        assert_int_equal(m.resp.sender, 0x01020304);
        assert_int_equal(m.resp.receiver, 0xdeadbeef);
        for (size_t i = VN_WG_RESP_MAC1; i < VN_WG_RESP_LEN; i++)
            assert_int_equal(resp[i], 0);

        assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &m.resp, &ik), 0);
        assert_true(vn_ct_is_zero(&ih, sizeof(ih)));
        assert_true(ik.initiator);
        assert_false(rk.initiator);
        assert_int_equal(ik.local_index, 0xdeadbeef);
        assert_int_equal(ik.remote_index, 0x01020304);
        assert_int_equal(rk.local_index, 0x01020304);
        assert_int_equal(rk.remote_index, 0xdeadbeef);
        assert_memory_equal(ik.send, rk.recv, 32);
        assert_memory_equal(ik.recv, rk.send, 32);
        assert_memory_not_equal(ik.send, ik.recv, 32);

        /* the keys work as transport keys both ways */
        uint8_t pkt[5 + 16], out[5];
        vn_aead_seal(pkt, (const uint8_t *)"hello", 5, 7, ik.send, NULL, 0);
        assert_int_equal(vn_aead_open(out, pkt, sizeof(pkt), 7, rk.recv, NULL, 0), 0);
        assert_memory_equal(out, "hello", 5);
        vn_aead_seal(pkt, (const uint8_t *)"world", 5, 0, rk.send, NULL, 0);
        assert_int_equal(vn_aead_open(out, pkt, sizeof(pkt), 0, ik.recv, NULL, 0), 0);

        vn_noise_keys_clear(&ik);
        assert_true(vn_ct_is_zero(&ik, sizeof(ik)));
    }
}

/* Two handshakes give different keys (fresh ephemerals). */
static void test_fresh_keys(void **state)
{
    (void)state;
    struct pair p;
    struct vn_noise_hs ih, rh;
    struct vn_noise_keys k1, k2, rk;
    uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN], s[32], ts[12], t[12];
    struct vn_wg_msg m;
    make_pair(&p, NULL);
    now_tai(t);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 1, t, init), 0);
        parse(init, sizeof(init), VN_WG_INITIATION, &m);
        assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &m.init, s, ts), 0);
        assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &p.ri, 2, resp, &rk), 0);
        parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
        assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &m.resp, round ? &k2 : &k1), 0);
    }
    assert_memory_not_equal(k1.send, k2.send, 32);
    assert_memory_not_equal(k1.recv, k2.recv, 32);
}

/* Responder with a different psk than the initiator: the initiation still
 * decrypts (the psk enters only at the response), the response fails at
 * the initiator with its handshake kept, so the real response still
 * completes it. */
static void test_wrong_psk(void **state)
{
    (void)state;
    struct pair p;
    struct vn_noise_remote bad;
    struct vn_noise_hs ih, rh, saved;
    struct vn_noise_keys ik, rk;
    uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN], s[32], ts[12], t[12], psk[32], other[32];
    struct vn_wg_msg mi, mr;

    vn_crypto_random(psk, 32);
    memcpy(other, psk, 32);
    other[31] ^= 1;
    make_pair(&p, psk);
    assert_int_equal(vn_noise_remote_init(&bad, &p.rl, p.il.pub, other), 0);
    now_tai(t);
    assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 7, t, init), 0);
    saved = ih;
    parse(init, sizeof(init), VN_WG_INITIATION, &mi);

    assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &mi.init, s, ts), 0);
    assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &bad, 8, resp, &rk), 0);
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &mr);
    memset(&ik, 0xaa, sizeof(ik));
    assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &mr.resp, &ik), -1);
    assert_true(vn_ct_is_zero(&ik, sizeof(ik)));
    assert_memory_equal(&ih, &saved, sizeof(ih));

    /* no psk at all on the responder: refused too */
    assert_int_equal(vn_noise_remote_init(&bad, &p.rl, p.il.pub, NULL), 0);
    assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &mi.init, s, ts), 0);
    assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &bad, 8, resp, &rk), 0);
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &mr);
    assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &mr.resp, &ik), -1);
    assert_memory_equal(&ih, &saved, sizeof(ih));

    /* the right responder's answer still completes the handshake */
    assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &mi.init, s, ts), 0);
    assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &p.ri, 9, resp, &rk), 0);
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &mr);
    assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &mr.resp, &ik), 0);
    assert_memory_equal(ik.send, rk.recv, 32);
    assert_memory_equal(ik.recv, rk.send, 32);
    assert_int_equal(ik.remote_index, 9);
}

/* An initiation made for another responder key does not decrypt; the
 * responder's state is wiped. */
static void test_wrong_responder(void **state)
{
    (void)state;
    struct pair p, q;
    struct vn_noise_hs ih, rh;
    uint8_t init[VN_WG_INIT_LEN], s[32], ts[12], t[12];
    struct vn_wg_msg m;
    make_pair(&p, NULL);
    make_pair(&q, NULL);
    now_tai(t);
    assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 7, t, init), 0);
    parse(init, sizeof(init), VN_WG_INITIATION, &m);
    memset(&rh, 0x55, sizeof(rh));
    memset(s, 0x55, sizeof(s));
    assert_int_equal(vn_noise_init_consume(&rh, &q.rl, &m.init, s, ts), -1);
    assert_int_equal(rh.state, VN_NOISE_NONE);
    assert_true(vn_ct_is_zero(&rh, sizeof(rh)));
}

/* Every byte the handshake authenticates, flipped (low and high bit: the
 * high bit of a public key's last byte does not change X25519, but the
 * hash covers it), makes the message fail. The indexes are not part of
 * Noise (mac1 covers them): a changed sender index only changes the index. */
static void test_tamper(void **state)
{
    (void)state;
    static const uint8_t bits[] = { 0x01, 0x80 };
    struct pair p;
    struct vn_noise_hs ih, rh, saved;
    struct vn_noise_keys ik, rk;
    uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN], bad[VN_WG_INIT_LEN], s[32], ts[12], t[12];
    struct vn_wg_msg m;

    make_pair(&p, NULL);
    now_tai(t);
    assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 7, t, init), 0);
    for (size_t i = VN_WG_INIT_EPHEMERAL; i < VN_WG_INIT_MAC1; i++)
        for (size_t b = 0; b < sizeof(bits); b++) {
            memcpy(bad, init, sizeof(init));
            bad[i] ^= bits[b];
            parse(bad, sizeof(init), VN_WG_INITIATION, &m);
            if (vn_noise_init_consume(&rh, &p.rl, &m.init, s, ts) != -1)
                fail_msg("initiation with byte %zu ^ 0x%02x accepted", i, bits[b]);
            assert_true(vn_ct_is_zero(&rh, sizeof(rh)));
        }
    memcpy(bad, init, sizeof(init));
    bad[VN_WG_INIT_SENDER] ^= 1;
    parse(bad, sizeof(init), VN_WG_INITIATION, &m);
    assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &m.init, s, ts), 0);
    assert_int_equal(rh.remote_index, 6);

    parse(init, sizeof(init), VN_WG_INITIATION, &m);
    assert_int_equal(vn_noise_init_consume(&rh, &p.rl, &m.init, s, ts), 0);
    assert_int_equal(vn_noise_resp_create(&rh, &p.rl, &p.ri, 8, resp, &rk), 0);
    saved = ih;
    for (size_t i = VN_WG_RESP_EPHEMERAL; i < VN_WG_RESP_MAC1; i++)
        for (size_t b = 0; b < sizeof(bits); b++) {
            memcpy(bad, resp, sizeof(resp));
            bad[i] ^= bits[b];
            parse(bad, sizeof(resp), VN_WG_RESPONSE, &m);
            if (vn_noise_resp_consume(&ih, &p.il, &p.ir, &m.resp, &ik) != -1)
                fail_msg("response with byte %zu ^ 0x%02x accepted", i, bits[b]);
            assert_true(vn_ct_is_zero(&ik, sizeof(ik)));
            assert_memory_equal(&ih, &saved, sizeof(ih));
        }
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
    assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &m.resp, &ik), 0);
    assert_memory_equal(ik.send, rk.recv, 32);
}

/* Steps out of order, low-order keys. */
static void test_bad_states_and_keys(void **state)
{
    (void)state;
    struct pair p;
    struct vn_noise_hs hs, ih;
    struct vn_noise_keys k;
    struct vn_noise_remote r;
    uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN], zero[32] = { 0 }, s[32], ts[12], t[12];
    struct vn_wg_msg m;

    make_pair(&p, NULL);
    now_tai(t);
    /* a peer whose key is a low-order point can never handshake */
    assert_int_equal(vn_noise_remote_init(&r, &p.il, zero, NULL), -1);
    assert_true(vn_ct_is_zero(&r, sizeof(r)));

    /* response without a consumed initiation; consume without a sent one */
    vn_noise_hs_clear(&hs);
    memset(&k, 0x33, sizeof(k));
    assert_int_equal(vn_noise_resp_create(&hs, &p.rl, &p.ri, 1, resp, &k), -1);
    assert_true(vn_ct_is_zero(&k, sizeof(k)));
    assert_int_equal(vn_noise_init_create(&ih, &p.il, &p.ir, 7, t, init), 0);
    parse(init, sizeof(init), VN_WG_INITIATION, &m);
    assert_int_equal(vn_noise_init_consume(&hs, &p.rl, &m.init, s, ts), 0);
    assert_int_equal(vn_noise_resp_create(&hs, &p.rl, &p.ri, 1, resp, &k), 0);
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
    vn_noise_hs_clear(&hs);
    assert_int_equal(vn_noise_resp_consume(&hs, &p.il, &p.ir, &m.resp, &k), -1);
    assert_true(vn_ct_is_zero(&k, sizeof(k)));

    /* an initiation whose ephemeral is the zero point */
    memset(init + VN_WG_INIT_EPHEMERAL, 0, 32);
    parse(init, sizeof(init), VN_WG_INITIATION, &m);
    assert_int_equal(vn_noise_init_consume(&hs, &p.rl, &m.init, s, ts), -1);
    /* a response whose ephemeral is the zero point: refused, hs kept */
    struct vn_noise_hs saved = ih;
    memset(resp + VN_WG_RESP_EPHEMERAL, 0, 32);
    parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
    assert_int_equal(vn_noise_resp_consume(&ih, &p.il, &p.ir, &m.resp, &k), -1);
    assert_memory_equal(&ih, &saved, sizeof(ih));
}

/* TAI64N: 2^62 + 10 + seconds, then nanoseconds, big-endian; a later time
 * compares greater with memcmp. */
static void test_tai64n(void **state)
{
    (void)state;
    uint8_t a[12], b[12];
    vn_noise_tai64n(a, 0, 0);
    harness_assert_hex(a, 12, "400000000000000a00000000");
    vn_noise_tai64n(a, 1700000000, 123456789);
    harness_assert_hex(a, 12, "400000006553f10a075bcd15");
    vn_noise_tai64n(a, 0xffffffffull, 999999999);
    harness_assert_hex(a, 12, "40000001000000093b9ac9ff");
    vn_noise_tai64n(a, 1700000000, 999999999);
    vn_noise_tai64n(b, 1700000001, 0);
    assert_true(memcmp(b, a, 12) > 0);
    vn_noise_tai64n(b, 1700000000, 1000000000 - 2);
    assert_true(memcmp(b, a, 12) < 0);
}

/* The vector of tests/unit/vectors/wg_handshake.py: fixed statics,
 * ephemerals, psk, indexes and timestamp; both messages byte for byte
 * (mac1 included, computed here with vn_mac under the receiver's
 * HASH("mac1----" || pub)) and the transport keys. */
static void test_known_answer(void **state)
{
    (void)state;
    static const char want_init[] =
        "010000004433221164b101b1d0be5a8704bd078f9895001fc03e8e9f9522f188dd128d9846d48466"
        "158a0e4ca242d151ca97ab90159a98b67e616625e68b4065d357376b6598e644ad7d678c0295d22d"
        "e4cb43d5135581ed36346bfa7cf42a12266235863f4efbc62519f49f8f62661b44a6a84392de152f"
        "aa48fb09b8e579485abacbea00000000000000000000000000000000";
    static const char want_resp[] =
        "020000008877665544332211244fe3b963e899dd295baffce248d3530f3a9a7479ba063002680ebf"
        "e7adad49b1f15013fcf37da7dc800a711e96d4eace5089ddd8479220b0da35a7753c06b000000000"
        "000000000000000000000000";
    uint8_t i_s[32], r_s[32], i_e[32], r_e[32], psk[32], t[12], s[32], ts[12];
    uint8_t init[VN_WG_INIT_LEN], resp[VN_WG_RESP_LEN];
    struct vn_noise_local il, rl;
    struct vn_noise_remote ir, ri;
    struct vn_noise_hs ih, rh;
    struct vn_noise_keys ik, rk;
    struct vn_wg_msg m;

    seq(i_s, 0x01);
    seq(r_s, 0x21);
    seq(i_e, 0x41);
    seq(r_e, 0x61);
    seq(psk, 0x81);
    assert_int_equal(vn_noise_local_init(&il, i_s), 0);
    assert_int_equal(vn_noise_local_init(&rl, r_s), 0);
    harness_assert_hex(il.pub, 32, "07a37cbc142093c8b755dc1b10e86cb426374ad16aa853ed0bdfc0b2b86d1c7c");
    harness_assert_hex(rl.pub, 32, "5869aff450549732cbaaed5e5df9b30a6da31cb0e5742bad5ad4a1a768f1a67b");
    assert_int_equal(vn_noise_remote_init(&ir, &il, rl.pub, psk), 0);
    assert_int_equal(vn_noise_remote_init(&ri, &rl, il.pub, psk), 0);
    assert_memory_equal(ir.mac1_key, rl.mac1_key, 32);
    assert_memory_equal(ri.cookie_key, il.cookie_key, 32);
    vn_noise_tai64n(t, 1700000000, 123456789);

    assert_int_equal(vn_noise_init_create_with_e(&ih, &il, &ir, 0x11223344, t, i_e, init), 0);
    assert_int_equal(vn_mac(init + VN_WG_INIT_MAC1, ir.mac1_key, 32, init, VN_WG_INIT_MAC1), 0);
    harness_assert_hex(init, sizeof(init), want_init);

    parse(init, sizeof(init), VN_WG_INITIATION, &m);
    assert_int_equal(vn_noise_init_consume(&rh, &rl, &m.init, s, ts), 0);
    assert_memory_equal(s, il.pub, 32);
    assert_memory_equal(ts, t, 12);
    assert_int_equal(vn_noise_resp_create_with_e(&rh, &rl, &ri, 0x55667788, r_e, resp, &rk), 0);
    assert_int_equal(vn_mac(resp + VN_WG_RESP_MAC1, ri.mac1_key, 32, resp, VN_WG_RESP_MAC1), 0);
    harness_assert_hex(resp, sizeof(resp), want_resp);

    parse(resp, sizeof(resp), VN_WG_RESPONSE, &m);
    assert_int_equal(vn_noise_resp_consume(&ih, &il, &ir, &m.resp, &ik), 0);
    harness_assert_hex(ik.send, 32, "248a29611829aaf7ee8bc8e87df805c1019f08f82d80eb79b7625821ba0a1317");
    harness_assert_hex(ik.recv, 32, "848308e622b3e15e5ebc5312111efc31082e86c85e9ee93fe8c5aa7f972cc9c3");
    assert_memory_equal(rk.recv, ik.send, 32);
    assert_memory_equal(rk.send, ik.recv, 32);
}

static int setup(void **state)
{
    (void)state;
    return vn_crypto_init();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_fresh_keys),
        cmocka_unit_test(test_wrong_psk),
        cmocka_unit_test(test_wrong_responder),
        cmocka_unit_test(test_tamper),
        cmocka_unit_test(test_bad_states_and_keys),
        cmocka_unit_test(test_tai64n),
        cmocka_unit_test(test_known_answer),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
