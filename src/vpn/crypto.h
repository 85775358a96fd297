/* The cryptography of the WireGuard protocol: thin wrappers over Debian's
 * libraries, plus the two constructions the protocol defines on top of them.
 *
 * Theory of operation. No primitive is written here. libsodium does X25519
 * (crypto_scalarmult_curve25519), ChaCha20-Poly1305 in its IETF form (12-byte
 * nonce) and XChaCha20-Poly1305 (24-byte nonce, for cookie replies), constant
 * time comparison, wiping and randomness; OpenSSL 3 does BLAKE2s-256 (EVP_MD
 * "BLAKE2S-256") and keyed BLAKE2s with a 16-byte output (EVP_MAC
 * "BLAKE2SMAC", for mac1/mac2). Ours are the protocol's constructions:
 * HMAC-BLAKE2s (RFC 2104 with BLAKE2s-256, block size 64 bytes) and the
 * whitepaper's KDF_n (HKDF over that HMAC: T0 = HMAC(key, input),
 * T1 = HMAC(T0, 0x1), Ti = HMAC(T0, T(i-1) || i)), and the transport nonce
 * layout (4 zero bytes, then the 64-bit counter little-endian). X25519
 * refuses a peer key that gives the all-zero shared secret (a small-order
 * point), as WireGuard does.
 *
 * vn_crypto_init() must succeed once before anything else here is used (it
 * initialises libsodium and fetches the OpenSSL algorithms, and says which is
 * missing); it is idempotent. The hash/MAC/HMAC/KDF functions return 0, or
 * -1 only if OpenSSL fails (memory); callers treat that as a failed
 * handshake. Secrets on the stack are wiped before returning. */
#ifndef VN_VPN_CRYPTO_H
#define VN_VPN_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/wgkey.h"   /* VN_KEY_LEN, base64 keys, vn_x25519_pubkey */

#define VN_HASH_LEN 32         /* BLAKE2s-256 output */
#define VN_MAC_LEN 16          /* keyed BLAKE2s-128 output (mac1, mac2, cookies) */
#define VN_AEAD_TAG_LEN 16     /* Poly1305 tag appended to every ciphertext */
#define VN_XNONCE_LEN 24       /* XChaCha20-Poly1305 nonce */

/* Initialise libsodium and fetch BLAKE2S-256 / BLAKE2SMAC from OpenSSL.
 * Returns 0, or -1 and logs which library or algorithm is missing. */
int vn_crypto_init(void);

/* --- X25519 ---------------------------------------------------------- */

/* Clamp a private key the way `wg genkey` does (RFC 7748 decodeScalar25519:
 * clear bits 0-2 and 255, set bit 254). */
void vn_x25519_clamp(uint8_t key[VN_KEY_LEN]);
/* A new random, clamped private key. */
void vn_x25519_genkey(uint8_t priv[VN_KEY_LEN]);
/* vn_x25519_pubkey(pub, priv): the public key of priv (core/wgkey.h). */
/* The shared secret DH(priv, pub). Returns 0, or -1 if it is all zeros
 * (pub is a point of small order); out is zeroed then. */
int vn_x25519(uint8_t out[VN_KEY_LEN], const uint8_t priv[VN_KEY_LEN],
              const uint8_t pub[VN_KEY_LEN]);

/* --- AEAD ------------------------------------------------------------ */

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits, then
 * counter as 64-bit little-endian. Seal writes len + VN_AEAD_TAG_LEN bytes
 * to out (out may equal in). */
void vn_aead_seal(uint8_t *out, const uint8_t *in, size_t len, uint64_t counter,
                  const uint8_t key[VN_KEY_LEN], const uint8_t *ad, size_t adlen);
/* Open len bytes (ciphertext and tag; len >= VN_AEAD_TAG_LEN) into
 * len - VN_AEAD_TAG_LEN bytes of out (out may equal in). Returns 0, or -1
 * if the tag does not verify (nothing useful in out then). */
int vn_aead_open(uint8_t *out, const uint8_t *in, size_t len, uint64_t counter,
                 const uint8_t key[VN_KEY_LEN], const uint8_t *ad, size_t adlen);
/* The same with XChaCha20-Poly1305 and a 24-byte nonce (cookie replies). */
void vn_xaead_seal(uint8_t *out, const uint8_t *in, size_t len,
                   const uint8_t nonce[VN_XNONCE_LEN], const uint8_t key[VN_KEY_LEN],
                   const uint8_t *ad, size_t adlen);
int vn_xaead_open(uint8_t *out, const uint8_t *in, size_t len,
                  const uint8_t nonce[VN_XNONCE_LEN], const uint8_t key[VN_KEY_LEN],
                  const uint8_t *ad, size_t adlen);

/* --- BLAKE2s, HMAC, KDF ---------------------------------------------- */

/* BLAKE2s-256 of a || b (b may be NULL with blen 0): Noise's
 * Hash(h || data) without a copy. Returns 0 or -1. */
int vn_hash2(uint8_t out[VN_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
static inline int vn_hash(uint8_t out[VN_HASH_LEN], const void *in, size_t len)
{
    return vn_hash2(out, in, len, NULL, 0);
}
/* Keyed BLAKE2s (RFC 7693 keyed mode) with an outlen-byte output, outlen
 * 1..32, keylen 1..32. Returns 0 or -1 (also for a bad length). */
int vn_blake2s_keyed(uint8_t *out, size_t outlen, const uint8_t *key, size_t keylen,
                     const void *in, size_t len);
/* WireGuard's MAC(key, in): keyed BLAKE2s with a 16-byte output (mac1, mac2,
 * the cookie). */
static inline int vn_mac(uint8_t out[VN_MAC_LEN], const uint8_t *key, size_t keylen,
                         const void *in, size_t len)
{
    return vn_blake2s_keyed(out, VN_MAC_LEN, key, keylen, in, len);
}
/* HMAC-BLAKE2s (RFC 2104, 64-byte block) of a || b; keys longer than
 * 64 bytes are hashed first. out may alias key, a or b. Returns 0 or -1. */
int vn_hmac2(uint8_t out[VN_HASH_LEN], const uint8_t *key, size_t keylen,
             const void *a, size_t alen, const void *b, size_t blen);
/* WireGuard's KDF_n (n = 1, 2 or 3 by which of t2, t3 are non-NULL):
 * t1 (and t2, t3) from the chaining key and input. Outputs may alias
 * key or input (C := KDF1(C, x) works). Returns 0 or -1. */
int vn_kdf(uint8_t t1[VN_HASH_LEN], uint8_t *t2, uint8_t *t3,
           const uint8_t key[VN_HASH_LEN], const void *in, size_t len);

/* --- Utilities ------------------------------------------------------- */

/* Constant-time equality of two len-byte buffers. */
bool vn_ct_equal(const void *a, const void *b, size_t len);
/* Constant-time: is the buffer all zeros? */
bool vn_ct_is_zero(const void *p, size_t len);
/* Wipe a secret (not optimised away). */
void vn_wipe(void *p, size_t len);
/* Cryptographically secure random bytes. */
void vn_crypto_random(void *p, size_t len);

/* Keys in base64 as `wg` prints them: vn_key_to_base64, vn_key_from_base64,
 * vn_key_from_text (core/wgkey.h). */

#endif
