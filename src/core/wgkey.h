/* WireGuard keys as people handle them: the 44-character base64 that
 * `wg genkey` and `wg pubkey` print, and the public key of a private key.
 *
 * These live below every layer that reads keys (the config reads key files
 * at load, conf/; the VPN engine and `vnetd vpn genkey|pubkey`, vpn/), so
 * there is one implementation; vpn/crypto.h includes this header. libsodium
 * does the base64 and the X25519 base-point multiplication. */
#ifndef VN_CORE_WGKEY_H
#define VN_CORE_WGKEY_H

#include <stddef.h>
#include <stdint.h>

#define VN_KEY_LEN 32          /* X25519 keys, AEAD keys, hashes, chaining keys */
#define VN_KEY_B64_LEN 44      /* base64 of a 32-byte key, with one '=' */

/* Encode a key as the 44-character base64 `wg` prints, NUL-terminated in
 * out (VN_KEY_B64_LEN + 1 bytes). */
void vn_key_to_base64(char out[VN_KEY_B64_LEN + 1], const uint8_t key[VN_KEY_LEN]);
/* Decode such a key: exactly 44 characters of standard base64 ending in
 * one '=', nothing around it (a caller strips a trailing newline first).
 * Returns NULL, or a message saying what is wrong (key untouched then). */
const char *vn_key_from_base64(uint8_t key[VN_KEY_LEN], const char *s);
/* The same for len bytes of text as a key file or `wg genkey` holds it:
 * white space (newlines included) around the key is ignored, nothing else.
 * Returns NULL or the message; secrets copied on the way are wiped. */
const char *vn_key_from_text(uint8_t key[VN_KEY_LEN], const char *s, size_t len);
/* The public key of priv (X25519 scalar multiplication of the base point;
 * priv is used as given, clamped by the multiplication). Returns 0, or -1
 * if libsodium refuses. Initialises libsodium if nothing did yet. */
int vn_x25519_pubkey(uint8_t pub[VN_KEY_LEN], const uint8_t priv[VN_KEY_LEN]);

#endif
