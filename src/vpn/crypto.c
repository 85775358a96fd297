/* WireGuard's cryptography over libsodium and OpenSSL 3 (see crypto.h). */
#include "vpn/crypto.h"

#include "core/log.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sodium.h>
#include <string.h>

#define BLAKE2S_BLOCK 64

static EVP_MD *md_blake2s;   /* fetched once by vn_crypto_init() */
static EVP_MAC *mac_blake2s;
static bool inited;

int vn_crypto_init(void)
{
    if (inited)
        return 0;
    if (sodium_init() < 0) {
        vn_err("vpn: libsodium failed to initialise (sodium_init)");
        return -1;
    }
    if (!md_blake2s)
        md_blake2s = EVP_MD_fetch(NULL, "BLAKE2S-256", NULL);
    if (!md_blake2s) {
        vn_err("vpn: OpenSSL has no BLAKE2S-256 digest (needs OpenSSL 3 with its default provider)");
        return -1;
    }
    if (!mac_blake2s)
        mac_blake2s = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
    if (!mac_blake2s) {
        vn_err("vpn: OpenSSL has no BLAKE2SMAC (keyed BLAKE2s, needs OpenSSL 3 with its default "
               "provider): WireGuard's mac1/mac2 cannot be computed");
        return -1;
    }
    inited = true;
    return 0;
}

/* --- X25519 --------------------------------------------------------- */

void vn_x25519_clamp(uint8_t key[VN_KEY_LEN])
{
    key[0] &= 248;
    key[31] = (uint8_t)((key[31] & 127) | 64);
}

void vn_x25519_genkey(uint8_t priv[VN_KEY_LEN])
{
    randombytes_buf(priv, VN_KEY_LEN);
    vn_x25519_clamp(priv);
}

/* vn_x25519_pubkey and the base64 keys are in core/wgkey.c (the config reads keys too). */

int vn_x25519(uint8_t out[VN_KEY_LEN], const uint8_t priv[VN_KEY_LEN],
              const uint8_t pub[VN_KEY_LEN])
{
    /* libsodium itself returns -1 for an all-zero result; check again so the
     * rule does not depend on the library version. */
    if (crypto_scalarmult_curve25519(out, priv, pub) != 0 || vn_ct_is_zero(out, VN_KEY_LEN)) {
        sodium_memzero(out, VN_KEY_LEN);
        return -1;
    }
    return 0;
}

/* --- AEAD ----------------------------------------------------------- */

/* WireGuard's 96-bit nonce: 4 zero bytes, then the counter little-endian. */
static void wg_nonce(uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t counter)
{
    memset(n, 0, 4);
    for (int i = 0; i < 8; i++)
        n[4 + i] = (uint8_t)(counter >> (8 * i));
}

void vn_aead_seal(uint8_t *out, const uint8_t *in, size_t len, uint64_t counter,
                  const uint8_t key[VN_KEY_LEN], const uint8_t *ad, size_t adlen)
{
    uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    wg_nonce(n, counter);
    crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, adlen, NULL, n, key);
}

int vn_aead_open(uint8_t *out, const uint8_t *in, size_t len, uint64_t counter,
                 const uint8_t key[VN_KEY_LEN], const uint8_t *ad, size_t adlen)
{
    uint8_t n[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
    if (len < VN_AEAD_TAG_LEN)
        return -1;
    wg_nonce(n, counter);
    return crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, adlen, n, key)
        == 0 ? 0 : -1;
}

void vn_xaead_seal(uint8_t *out, const uint8_t *in, size_t len,
                   const uint8_t nonce[VN_XNONCE_LEN], const uint8_t key[VN_KEY_LEN],
                   const uint8_t *ad, size_t adlen)
{
    crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, adlen, NULL, nonce, key);
}

int vn_xaead_open(uint8_t *out, const uint8_t *in, size_t len,
                  const uint8_t nonce[VN_XNONCE_LEN], const uint8_t key[VN_KEY_LEN],
                  const uint8_t *ad, size_t adlen)
{
    if (len < VN_AEAD_TAG_LEN)
        return -1;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, adlen,
                                                      nonce, key) == 0 ? 0 : -1;
}

/* --- BLAKE2s, HMAC, KDF --------------------------------------------- */

/* BLAKE2s-256 over up to three concatenated parts (NULL parts skipped). */
static int hash3(uint8_t out[VN_HASH_LEN], const void *a, size_t alen, const void *b,
                 size_t blen, const void *c, size_t clen)
{
    EVP_MD_CTX *ctx;
    unsigned int olen = 0;
    int ok;

    if (!inited && vn_crypto_init() < 0)
        return -1;
    ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -1;
    ok = EVP_DigestInit_ex(ctx, md_blake2s, NULL) == 1
        && (!alen || EVP_DigestUpdate(ctx, a, alen) == 1)
        && (!blen || EVP_DigestUpdate(ctx, b, blen) == 1)
        && (!clen || EVP_DigestUpdate(ctx, c, clen) == 1)
        && EVP_DigestFinal_ex(ctx, out, &olen) == 1 && olen == VN_HASH_LEN;
    EVP_MD_CTX_free(ctx);   /* clears the state it held */
    return ok ? 0 : -1;
}

int vn_hash2(uint8_t out[VN_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
    return hash3(out, a, alen, b, blen, NULL, 0);
}

int vn_blake2s_keyed(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
                     const void *in, size_t len)
{
    EVP_MAC_CTX *ctx;
    size_t size = outlen, olen = 0;
    OSSL_PARAM params[2];
    int ok;

    if (keylen < 1 || keylen > 32 || outlen < 1 || outlen > VN_HASH_LEN)
        return -1;
    if (!inited && vn_crypto_init() < 0)
        return -1;
    ctx = EVP_MAC_CTX_new(mac_blake2s);
    if (!ctx)
        return -1;
    params[0] = OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size);
    params[1] = OSSL_PARAM_construct_end();
    ok = EVP_MAC_init(ctx, key, keylen, params) == 1
        && (!len || EVP_MAC_update(ctx, in, len) == 1)
        && EVP_MAC_final(ctx, out, &olen, outlen) == 1 && olen == outlen;
    EVP_MAC_CTX_free(ctx);
    return ok ? 0 : -1;
}

int vn_hmac2(uint8_t out[VN_HASH_LEN], const uint8_t *key, size_t keylen,
             const void *a, size_t alen, const void *b, size_t blen)
{
    uint8_t k[BLAKE2S_BLOCK] = { 0 }, pad[BLAKE2S_BLOCK], inner[VN_HASH_LEN];
    int rc = -1;

    if (keylen > BLAKE2S_BLOCK) {
        if (vn_hash(k, key, keylen) < 0)
            goto out;
    } else if (keylen) {
        memcpy(k, key, keylen);
    }
    for (int i = 0; i < BLAKE2S_BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    if (hash3(inner, pad, sizeof(pad), a, alen, b, blen) < 0)
        goto out;
    for (int i = 0; i < BLAKE2S_BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    rc = hash3(out, pad, sizeof(pad), inner, sizeof(inner), NULL, 0);
out:
    sodium_memzero(k, sizeof(k));
    sodium_memzero(pad, sizeof(pad));
    sodium_memzero(inner, sizeof(inner));
    return rc;
}

int vn_kdf(uint8_t t1[VN_HASH_LEN], uint8_t *t2, uint8_t *t3,
           const uint8_t key[VN_HASH_LEN], const void *in, size_t len)
{
    uint8_t prk[VN_HASH_LEN], t[3][VN_HASH_LEN];
    const uint8_t one = 1, two = 2, three = 3;
    int rc = -1;

    if (vn_hmac2(prk, key, VN_HASH_LEN, in, len, NULL, 0) < 0
        || vn_hmac2(t[0], prk, VN_HASH_LEN, &one, 1, NULL, 0) < 0)
        goto out;
    if ((t2 || t3) && vn_hmac2(t[1], prk, VN_HASH_LEN, t[0], VN_HASH_LEN, &two, 1) < 0)
        goto out;
    if (t3 && vn_hmac2(t[2], prk, VN_HASH_LEN, t[1], VN_HASH_LEN, &three, 1) < 0)
        goto out;
    /* Written only now: the outputs may alias key or in. */
    memcpy(t1, t[0], VN_HASH_LEN);
    if (t2)
        memcpy(t2, t[1], VN_HASH_LEN);
    if (t3)
        memcpy(t3, t[2], VN_HASH_LEN);
    rc = 0;
out:
    sodium_memzero(prk, sizeof(prk));
    sodium_memzero(t, sizeof(t));
    return rc;
}

/* --- Utilities ------------------------------------------------------ */

bool vn_ct_equal(const void *a, const void *b, size_t len)
{
    return sodium_memcmp(a, b, len) == 0;
}

bool vn_ct_is_zero(const void *p, size_t len)
{
    return sodium_is_zero(p, len) == 1;
}

void vn_wipe(void *p, size_t len)
{
    sodium_memzero(p, len);
}

void vn_crypto_random(void *p, size_t len)
{
    randombytes_buf(p, len);
}
