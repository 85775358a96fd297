/* mac1, mac2 and cookie replies: WireGuard's defence against handshake
 * floods (whitepaper section 5.3 and 5.4.7). No I/O; time is passed in.
 *
 * Theory of operation. Every handshake message carries mac1, a keyed hash
 * of the message under HASH("mac1----" || receiver's public key): anyone
 * who knows whom they talk to can make it, so it only filters random
 * junk, cheaply, before any Diffie-Hellman. When the responder is under
 * load, it also demands mac2, a keyed hash under a cookie: the cookie is
 * MAC(secret, source address and port), with a secret that changes every
 * two minutes, so only a sender that really receives at that address can
 * know it. A message without a valid mac2 then gets a cookie reply
 * instead of a handshake: the cookie encrypted (XChaCha20-Poly1305 under
 * HASH("cookie--" || responder's public key), the message's mac1 as
 * associated data, a random nonce). The initiator keeps the cookie for two
 * minutes and sends mac2 with it on its next attempt.
 *
 * The checker is the responder's side (one per interface), the maker the
 * sender's side (one per peer; all zeros is an empty one). Comparisons are
 * constant time. now_ms is any monotonic clock in milliseconds (0 is a
 * valid time); a clock that went backwards counts as expired. */
#ifndef VN_VPN_COOKIE_H
#define VN_VPN_COOKIE_H

#include "crypto.h"
#include "wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_COOKIE_SECRET_MS 120000u  /* the checker's secret lives this long */
#define VN_COOKIE_VALID_MS 115000u   /* a maker uses a received cookie this long (2 min less 5 s: it stops before the secret behind it is renewed) */
#define VN_COOKIE_SRC_MAX 18         /* source: 16-byte address + 2-byte port */

enum vn_cookie_verdict {
    VN_COOKIE_BAD_MAC1 = 0,  /* drop, silently */
    VN_COOKIE_MAC1_OK,       /* mac1 right, mac2 absent or wrong */
    VN_COOKIE_MAC2_OK,       /* both right */
};

struct vn_cookie_checker {
    uint8_t mac1_key[VN_HASH_LEN];    /* HASH("mac1----" || our public key) */
    uint8_t cookie_key[VN_HASH_LEN];  /* HASH("cookie--" || our public key) */
    uint8_t secret[VN_HASH_LEN];
    uint64_t secret_ms;               /* when secret was made */
    bool secret_valid;                /* false: none made yet */
};

struct vn_cookie_maker {
    uint8_t cookie[VN_MAC_LEN];
    uint64_t cookie_ms;               /* when it arrived */
    bool cookie_valid;                /* false: none (a zeroed maker is empty) */
    uint8_t last_mac1[VN_MAC_LEN];    /* mac1 of the last handshake message we sent */
    bool last_mac1_valid;
};

/* A checker for the interface whose public key is pub. Returns 0 or -1. */
int vn_cookie_checker_init(struct vn_cookie_checker *c, const uint8_t pub[VN_KEY_LEN]);

/* Check the MACs of handshake message msg (len bytes: an initiation or a
 * response, already parsed) sent from src (srclen bytes: the address then
 * the port, big-endian). mac2 is checked only when check_mac2. */
enum vn_cookie_verdict vn_cookie_check(struct vn_cookie_checker *c, const uint8_t *msg,
                                       size_t len, const uint8_t *src, size_t srclen,
                                       bool check_mac2, uint64_t now_ms);

/* Write into out a cookie reply (VN_WG_COOKIE_LEN bytes) to handshake
 * message msg (len bytes; its sender index and mac1 are used) from src.
 * Returns 0, or -1 when msg is not an initiation or a response. */
int vn_cookie_reply_create(struct vn_cookie_checker *c, const uint8_t *msg, size_t len,
                           const uint8_t *src, size_t srclen, uint64_t now_ms,
                           uint8_t out[VN_WG_COOKIE_LEN]);

/* Sender: fill in mac1 (under mac1_key, the receiver's) and mac2 (when the
 * maker holds a cookie younger than VN_COOKIE_VALID_MS, else zeros) of the
 * handshake message msg (len bytes), remembering mac1. Returns 0 or -1. */
int vn_cookie_add_macs(struct vn_cookie_maker *m, const uint8_t mac1_key[VN_HASH_LEN],
                       uint8_t *msg, size_t len, uint64_t now_ms);

/* Sender: take the cookie of a parsed cookie reply r (the caller matched
 * its receiver index to our handshake); cookie_key is the peer's
 * HASH("cookie--" || its public key). Returns 0, or -1 when it does not
 * decrypt against the last mac1 we sent (dropped). */
int vn_cookie_reply_consume(struct vn_cookie_maker *m, const uint8_t cookie_key[VN_HASH_LEN],
                            const struct vn_wg_cookie *r, uint64_t now_ms);

#endif
