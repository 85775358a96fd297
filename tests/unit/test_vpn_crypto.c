/* Unit tests of src/vpn/crypto.c against published vectors: RFC 7748
 * (X25519, sections 5.2 and 6.1), RFC 8439 section 2.8.2 (ChaCha20-Poly1305),
 * draft-irtf-cfrg-xchacha-03 A.3.1 (XChaCha20-Poly1305), RFC 7693 Appendix B
 * and the BLAKE2 reference package's keyed KAT (BLAKE2s); HMAC-BLAKE2s, the
 * KDF, WireGuard's nonce layout and its initial chaining key and hash
 * against values computed with Python's hashlib, hmac and cryptography
 * modules (the expressions are quoted beside each value); base64 keys
 * against `wg genkey` / `wg pubkey`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include "vpn/crypto.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (no separators) into out; returns the byte count. */
static int setup(void **state)
{
    (void)state;
    return vn_crypto_init();
}

/* RFC 7748 section 5.2: the two single vectors, then 1 and 1000 iterations
 * of k, u := X25519(k, u), k starting from the base point 9. */
static void test_x25519_rfc7748_52(void **state)
{
    (void)state;
    uint8_t k[32], u[32], out[32];
    harness_unhex(k, 32, "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
    harness_unhex(u, 32, "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c");
    assert_int_equal(vn_x25519(out, k, u), 0);
    harness_assert_hex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    harness_unhex(k, 32, "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d");
    harness_unhex(u, 32, "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493");
    assert_int_equal(vn_x25519(out, k, u), 0);
    harness_assert_hex(out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

    memset(k, 0, 32);
    k[0] = 9;
    memcpy(u, k, 32);
    for (int i = 1; i <= 1000; i++) {
        assert_int_equal(vn_x25519(out, k, u), 0);
        memcpy(u, k, 32);
        memcpy(k, out, 32);
        if (i == 1)
            harness_assert_hex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
    harness_assert_hex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

/* RFC 7748 section 6.1: both public keys and the shared secret both ways. */
static void test_x25519_rfc7748_61(void **state)
{
    (void)state;
    uint8_t a[32], b[32], pa[32], pb[32], k1[32], k2[32];
    harness_unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    harness_unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    assert_int_equal(vn_x25519_pubkey(pa, a), 0);
    assert_int_equal(vn_x25519_pubkey(pb, b), 0);
    harness_assert_hex(pa, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    harness_assert_hex(pb, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    assert_int_equal(vn_x25519(k1, a, pb), 0);
    assert_int_equal(vn_x25519(k2, b, pa), 0);
    harness_assert_hex(k1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_memory_equal(k1, k2, 32);
}

/* Points of small order give the all-zero secret: refused, output zeroed. */
static void test_x25519_small_order(void **state)
{
    (void)state;
    static const char *bad[] = {
        "0000000000000000000000000000000000000000000000000000000000000000", /* 0 */
        "0100000000000000000000000000000000000000000000000000000000000000", /* 1 */
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", /* order 8 */
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* p - 1 */
    };
    uint8_t priv[32], pub[32], out[32];
    vn_x25519_genkey(priv);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        harness_unhex(pub, 32, bad[i]);
        memset(out, 0xaa, 32);
        assert_int_equal(vn_x25519(out, priv, pub), -1);
        assert_true(vn_ct_is_zero(out, 32));
    }
}

/* Clamping as `wg genkey`: bits 0-2 and 255 cleared, bit 254 set; a fresh
 * key is clamped; X25519 itself ignores the clamped bits. */
static void test_x25519_clamp(void **state)
{
    (void)state;
    uint8_t k[32], c[32], p1[32], p2[32];
    memset(k, 0xff, 32);
    vn_x25519_clamp(k);
    assert_int_equal(k[0], 0xf8);
    assert_int_equal(k[31], 0x7f);
    memset(k, 0, 32);
    vn_x25519_clamp(k);
    assert_int_equal(k[31], 0x40);
    for (int i = 0; i < 16; i++) {
        vn_x25519_genkey(k);
        assert_int_equal(k[0] & 7, 0);
        assert_int_equal(k[31] & 0xc0, 0x40);
        memcpy(c, k, 32);
        c[0] |= 7;
        c[31] |= 0x80;
        assert_int_equal(vn_x25519_pubkey(p1, k), 0);
        assert_int_equal(vn_x25519_pubkey(p2, c), 0);
        assert_memory_equal(p1, p2, 32);
    }
}

static const char SUNSCREEN[] = "Ladies and Gentlemen of the class of '99: If I could offer you "
                                "only one tip for the future, sunscreen would be it.";
#define KEY_80_9F "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
#define AD_RFC "50515253c0c1c2c3c4c5c6c7"

/* RFC 8439 section 2.8.2 through libsodium directly (its nonce starts with
 * 07000000, which WireGuard's layout cannot express), then our layout:
 * counter 0x4746454443424140 is the nonce 00000000 4041424344454647.
 * Expected from Python: ChaCha20Poly1305(key).encrypt(bytes(4) +
 * ctr.to_bytes(8, 'little'), pt, ad). */
static void test_aead_rfc8439(void **state)
{
    (void)state;
    uint8_t key[32], ad[12], nonce[12], *ct, *pt;
    size_t len = strlen(SUNSCREEN);
    unsigned long long clen = 0;
    harness_unhex(key, 32, KEY_80_9F);
    harness_unhex(ad, 12, AD_RFC);
    harness_unhex(nonce, 12, "070000004041424344454647");
    ct = malloc(len + 16);
    pt = malloc(len);
    assert_non_null(ct);
    assert_non_null(pt);
    crypto_aead_chacha20poly1305_ietf_encrypt(ct, &clen, (const uint8_t *)SUNSCREEN, len, ad, 12,
                                              NULL, nonce, key);
    assert_int_equal(clen, len + 16);
    harness_assert_hex(ct, len + 16,
               "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
               "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
               "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
               "3ff4def08e4b7a9de576d26586cec64b6116"
               "1ae10b594f09e26a7e902ecbd0600691");

    vn_aead_seal(ct, (const uint8_t *)SUNSCREEN, len, 0x4746454443424140ull, key, ad, 12);
    harness_assert_hex(ct, len + 16,
               "a479cb54628946d6f4042a8e384ef4bd2fbc7330b8be55eb2d8dc18aaa51d66a"
               "8ec1f8d3619a258db0ac56956015b7b4937e9b8e6aa957b3dc0214d803d77660"
               "aabc913092971da8f207171ce7843608162e2e759d8efc25d8d0936990af63c8"
               "20ba87e8a955b5c8274ef7d10f6fafd046472dbf189b668bd430aef9147e99cb6c89");
    assert_int_equal(vn_aead_open(pt, ct, len + 16, 0x4746454443424140ull, key, ad, 12), 0);
    assert_memory_equal(pt, SUNSCREEN, len);
    /* wrong counter, wrong AD, flipped bits anywhere, short input: refused */
    assert_int_equal(vn_aead_open(pt, ct, len + 16, 0x4746454443424141ull, key, ad, 12), -1);
    assert_int_equal(vn_aead_open(pt, ct, len + 16, 0x4746454443424140ull, key, ad, 11), -1);
    for (size_t i = 0; i < len + 16; i += 7) {
        ct[i] ^= 0x20;
        assert_int_equal(vn_aead_open(pt, ct, len + 16, 0x4746454443424140ull, key, ad, 12), -1);
        ct[i] ^= 0x20;
    }
    assert_int_equal(vn_aead_open(pt, ct, 15, 0, key, NULL, 0), -1);
    free(ct);
    free(pt);
}

/* A keepalive: empty plaintext, counter 0, no AD is just a 16-byte tag
 * (Python: ChaCha20Poly1305(key).encrypt(bytes(12), b"", b"")); sealing
 * in place works. */
static void test_aead_empty_inplace(void **state)
{
    (void)state;
    uint8_t key[32], buf[64], tag[16];
    harness_unhex(key, 32, KEY_80_9F);
    vn_aead_seal(tag, NULL, 0, 0, key, NULL, 0);
    harness_assert_hex(tag, 16, "3ae5d3f2a376d317eaea5aef0215ba54");
    assert_int_equal(vn_aead_open(buf, tag, 16, 0, key, NULL, 0), 0);

    for (int i = 0; i < 48; i++)
        buf[i] = (uint8_t)i;
    vn_aead_seal(buf, buf, 48, 7, key, NULL, 0);
    assert_int_equal(vn_aead_open(buf, buf, 64, 7, key, NULL, 0), 0);
    for (int i = 0; i < 48; i++)
        assert_int_equal(buf[i], i);
}

/* draft-irtf-cfrg-xchacha-03 appendix A.3.1. */
static void test_xaead_draft(void **state)
{
    (void)state;
    uint8_t key[32], ad[12], nonce[24], *ct, *pt;
    size_t len = strlen(SUNSCREEN);
    harness_unhex(key, 32, KEY_80_9F);
    harness_unhex(ad, 12, AD_RFC);
    harness_unhex(nonce, 24, "404142434445464748494a4b4c4d4e4f5051525354555657");
    ct = malloc(len + 16);
    pt = malloc(len);
    assert_non_null(ct);
    assert_non_null(pt);
    vn_xaead_seal(ct, (const uint8_t *)SUNSCREEN, len, nonce, key, ad, 12);
    harness_assert_hex(ct, len + 16,
               "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
               "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
               "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
               "21f9664c97637da9768812f615c68b13b52e"
               "c0875924c1c7987947deafd8780acf49");
    assert_int_equal(vn_xaead_open(pt, ct, len + 16, nonce, key, ad, 12), 0);
    assert_memory_equal(pt, SUNSCREEN, len);
    ct[len + 15] ^= 1;
    assert_int_equal(vn_xaead_open(pt, ct, len + 16, nonce, key, ad, 12), -1);
    ct[len + 15] ^= 1;
    nonce[23] ^= 1;
    assert_int_equal(vn_xaead_open(pt, ct, len + 16, nonce, key, ad, 12), -1);
    assert_int_equal(vn_xaead_open(pt, ct, 15, nonce, key, ad, 12), -1);
    free(ct);
    free(pt);
}

/* BLAKE2s-256: RFC 7693 Appendix B ("abc"), the empty string, and a hash
 * split over two parts equal to the hash of their concatenation. */
static void test_blake2s(void **state)
{
    (void)state;
    uint8_t h[32], h2[32], buf[200];
    assert_int_equal(vn_hash(h, "abc", 3), 0);
    harness_assert_hex(h, 32, "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    assert_int_equal(vn_hash(h, NULL, 0), 0);
    harness_assert_hex(h, 32, "69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 7);
    for (size_t split = 0; split <= sizeof(buf); split += 13) {
        assert_int_equal(vn_hash2(h2, buf, split, buf + split, sizeof(buf) - split), 0);
        assert_int_equal(vn_hash(h, buf, sizeof(buf)), 0);
        assert_memory_equal(h, h2, 32);
    }
}

/* Keyed BLAKE2s: the BLAKE2 reference package's blake2s keyed KAT (key
 * 00..1f, input 00..(n-1), 32-byte output) for n = 0, 1, 2, 3, 63, 64, 65,
 * 255; the 16-byte MAC from Python: hashlib.blake2s(bytes(range(n)),
 * key=bytes(range(32)), digest_size=16). Bad lengths are refused. */
static void test_blake2s_keyed(void **state)
{
    (void)state;
    static const struct { size_t n; const char *h32; } kat[] = {
        { 0, "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49" },
        { 1, "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1" },
        { 2, "6bb71300644cd3991b26ccd4d274acd1adeab8b1d7914546c1198bbe9fc9d803" },
        { 3, "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b" },
        { 63, "c65382513f07460da39833cb666c5ed82e61b9e998f4b0c4287cee56c3cc9bcd" },
        { 64, "8975b0577fd35566d750b362b0897a26c399136df07bababbde6203ff2954ed4" },
        { 65, "21fe0ceb0052be7fb0f004187cacd7de67fa6eb0938d927677f2398c132317a8" },
        { 255, "3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd" },
    };
    static const struct { size_t n; const char *h16; } mac[] = {
        { 0, "9536f9b267655743dee97b8a670f9f53" },
        { 1, "13bacfb85b48a1223c595f8c1e7e82cb" },
        { 64, "f1efa90d2547036841ecd3627fafbc36" },
    };
    uint8_t key[32], in[255], out[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 255; i++)
        in[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        assert_int_equal(vn_blake2s_keyed(out, 32, key, 32, in, kat[i].n), 0);
        harness_assert_hex(out, 32, kat[i].h32);
    }
    for (size_t i = 0; i < sizeof(mac) / sizeof(mac[0]); i++) {
        assert_int_equal(vn_mac(out, key, 32, in, mac[i].n), 0);
        harness_assert_hex(out, 16, mac[i].h16);
    }
    assert_int_equal(vn_blake2s_keyed(out, 32, key, 0, in, 1), -1);
    assert_int_equal(vn_blake2s_keyed(out, 32, key, 33, in, 1), -1);
    assert_int_equal(vn_blake2s_keyed(out, 0, key, 32, in, 1), -1);
    assert_int_equal(vn_blake2s_keyed(out, 33, key, 32, in, 1), -1);
}

/* HMAC-BLAKE2s against Python: hmac.new(key, msg, hashlib.blake2s). */
static void test_hmac(void **state)
{
    (void)state;
    uint8_t key[70], msg[100], out[32];
    for (int i = 0; i < 70; i++)
        key[i] = (uint8_t)i;
    for (int i = 0; i < 100; i++)
        msg[i] = (uint8_t)i;
    assert_int_equal(vn_hmac2(out, key, 32, "abc", 3, NULL, 0), 0);
    harness_assert_hex(out, 32, "82623be5bc0a391b24dce53e67d028eff92d586de0485ac37822e597d049c74f");
    assert_int_equal(vn_hmac2(out, key, 32, msg, 100, NULL, 0), 0);
    harness_assert_hex(out, 32, "a81c95080ba2a7c4ed1b7b4c21dec2c4fd6dc9f03ff37b6d65289dc95a7d1ef1");
    assert_int_equal(vn_hmac2(out, key, 32, msg, 40, msg + 40, 60), 0);   /* in two parts */
    harness_assert_hex(out, 32, "a81c95080ba2a7c4ed1b7b4c21dec2c4fd6dc9f03ff37b6d65289dc95a7d1ef1");
    assert_int_equal(vn_hmac2(out, key, 70, msg, 64, NULL, 0), 0);        /* key > block */
    harness_assert_hex(out, 32, "d70db0dda6776432ed4d060d314013d0cca932c9d2582934ef6a5dcdbfd45d26");
    assert_int_equal(vn_hmac2(out, NULL, 0, NULL, 0, NULL, 0), 0);
    harness_assert_hex(out, 32, "eaf4bb25938f4d20e72656bbbc7a9bf63c0c18537333c35bdb67db1402661acd");
    memcpy(out, key, 32);                                                  /* out aliases key */
    assert_int_equal(vn_hmac2(out, out, 32, "abc", 3, NULL, 0), 0);
    harness_assert_hex(out, 32, "82623be5bc0a391b24dce53e67d028eff92d586de0485ac37822e597d049c74f");
}

/* KDF1/2/3 against Python: t0 = hmac(key, in); t_i = hmac(t0, t_(i-1) ||
 * bytes([i])) with t_0 = b"", key = bytes(range(32)), in = bytes(range(32,
 * 64)); KDF1 with an empty input. Outputs may alias the key. */
static void test_kdf(void **state)
{
    (void)state;
    static const char *T1 = "6a96444e20e8d4c1cee974416acae1c10b3c92886010e54ed94dafb2c3b80ea0";
    static const char *T2 = "57af120b0de7acbe7907ec149c5ae870a2dbb74232b65777ba4123f1f7f888f5";
    static const char *T3 = "0926c7caabb6e8d73beda759e6f4f0d324ce5b5000bcf8cd784b26db3049faa9";
    uint8_t key[32], in[32], t1[32], t2[32], t3[32];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)i;
        in[i] = (uint8_t)(32 + i);
    }
    assert_int_equal(vn_kdf(t1, t2, t3, key, in, 32), 0);
    harness_assert_hex(t1, 32, T1);
    harness_assert_hex(t2, 32, T2);
    harness_assert_hex(t3, 32, T3);
    memset(t2, 0, 32);
    assert_int_equal(vn_kdf(t1, t2, NULL, key, in, 32), 0);
    harness_assert_hex(t1, 32, T1);
    harness_assert_hex(t2, 32, T2);
    assert_int_equal(vn_kdf(t1, NULL, NULL, key, in, 32), 0);
    harness_assert_hex(t1, 32, T1);
    assert_int_equal(vn_kdf(key, t2, NULL, key, in, 32), 0);   /* C, k := KDF2(C, in) */
    harness_assert_hex(key, 32, T1);
    harness_assert_hex(t2, 32, T2);
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    assert_int_equal(vn_kdf(t1, NULL, NULL, key, NULL, 0), 0);
    harness_assert_hex(t1, 32, "7a38c34bf2b8738d7374ca77c44ecb309a11d2b2528304fa86052c365e722624");
}

/* WireGuard's initial chaining key C = Hash(CONSTRUCTION) and hash
 * H = Hash(C || IDENTIFIER) (Python hashlib.blake2s). */
static void test_wireguard_initial_chain(void **state)
{
    (void)state;
    static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
    static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
    uint8_t c[32], h[32];
    assert_int_equal(vn_hash(c, construction, strlen(construction)), 0);
    harness_assert_hex(c, 32, "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
    assert_int_equal(vn_hash2(h, c, 32, identifier, strlen(identifier)), 0);
    harness_assert_hex(h, 32, "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
}

/* A private key from `wg genkey` and its `wg pubkey`: decoding, our public
 * key and encoding back all agree; a fresh key round-trips. */
static void test_base64_wg(void **state)
{
    (void)state;
    static const char priv_b64[] = "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4=";
    static const char pub_b64[] = "XvxTwsm97v8a9D88//lzHwkissExPj/ygBfYqfDJgh4=";
    uint8_t priv[32], pub[32], want[32];
    char s[VN_KEY_B64_LEN + 1];
    assert_null(vn_key_from_base64(priv, priv_b64));
    assert_null(vn_key_from_base64(want, pub_b64));
    assert_int_equal(vn_x25519_pubkey(pub, priv), 0);
    assert_memory_equal(pub, want, 32);
    vn_key_to_base64(s, pub);
    assert_string_equal(s, pub_b64);
    vn_key_to_base64(s, priv);
    assert_string_equal(s, priv_b64);
    memcpy(want, priv, 32);
    vn_x25519_clamp(want);                    /* wg's keys come clamped */
    assert_memory_equal(want, priv, 32);

    for (int i = 0; i < 32; i++) {
        uint8_t k[32], back[32];
        vn_crypto_random(k, 32);
        vn_key_to_base64(s, k);
        assert_int_equal(strlen(s), 44);
        assert_null(vn_key_from_base64(back, s));
        assert_memory_equal(k, back, 32);
    }
}

/* Malformed keys are refused with a message and leave the output alone. */
static void test_base64_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4",      /* 43: no '=' */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4==",    /* 45 */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4=\n",   /* newline kept */
        " EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4=",    /* leading space */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4A",     /* no padding */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjuA==",     /* 31 bytes */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul5=",     /* stray low bits */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFj_l4=",     /* URL-safe alphabet */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFj-l4=",
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pF ul4=",     /* inner space */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFj=l4=",     /* '=' inside */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFj\xc3\xa9" "4=", /* UTF-8 */
        "\x80" "DN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul4=",  /* libsodium 1.0.18: '/' */
        "EDN361Ct8KEPLATiosQ5u7MC3Wv6zCASYiYw3pFjul\xff=",
    };
    uint8_t k[32], zero[32] = { 0 };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(k, 0, 32);
        const char *err = vn_key_from_base64(k, bad[i]);
        if (!err)
            fail_msg("accepted bad key #%zu \"%s\"", i, bad[i]);
        assert_true(strlen(err) > 10);
        assert_memory_equal(k, zero, 32);
    }
    assert_non_null(vn_key_from_base64(k, NULL));
}

static void test_utils(void **state)
{
    (void)state;
    uint8_t a[64], b[64];
    vn_crypto_random(a, sizeof(a));
    memcpy(b, a, sizeof(b));
    assert_true(vn_ct_equal(a, b, 64));
    b[63] ^= 0x80;
    assert_false(vn_ct_equal(a, b, 64));
    assert_true(vn_ct_equal(a, b, 63));
    vn_wipe(a, sizeof(a));
    assert_true(vn_ct_is_zero(a, sizeof(a)));
    a[17] = 1;
    assert_false(vn_ct_is_zero(a, sizeof(a)));
    assert_int_equal(vn_crypto_init(), 0);   /* idempotent */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_x25519_rfc7748_52),
        cmocka_unit_test(test_x25519_rfc7748_61),
        cmocka_unit_test(test_x25519_small_order),
        cmocka_unit_test(test_x25519_clamp),
        cmocka_unit_test(test_aead_rfc8439),
        cmocka_unit_test(test_aead_empty_inplace),
        cmocka_unit_test(test_xaead_draft),
        cmocka_unit_test(test_blake2s),
        cmocka_unit_test(test_blake2s_keyed),
        cmocka_unit_test(test_hmac),
        cmocka_unit_test(test_kdf),
        cmocka_unit_test(test_wireguard_initial_chain),
        cmocka_unit_test(test_base64_wg),
        cmocka_unit_test(test_base64_malformed),
        cmocka_unit_test(test_utils),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
