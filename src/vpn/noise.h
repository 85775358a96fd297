/* WireGuard's handshake: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, message by
 * message, with no I/O, no clock and no peer table (the caller has those).
 *
 * Theory of operation. A handshake is two messages (WireGuard whitepaper,
 * section 5.4.2-5.4.4). The initiator knows the responder's static public
 * key; it sends an ephemeral key, its own static key encrypted, and an
 * encrypted TAI64N timestamp (which lets the responder refuse a replayed
 * initiation). The responder answers with its ephemeral key and an empty
 * AEAD that proves it holds the preshared key; both sides then derive the
 * two transport keys. The chaining key C and the hash H accumulate every
 * step exactly as the paper lists them (mixHash, mixKey with KDF1/2/3).
 *
 *   initiator                               responder
 *   vn_noise_init_create()  -- init -->  vn_noise_init_consume()
 *                                          (caller finds the peer by the
 *                                           returned static key, checks
 *                                           the timestamp is newer)
 *                                        vn_noise_resp_create() -> keys
 *   vn_noise_resp_consume() <-- resp --
 *           -> keys
 *
 * Everything here writes or reads the message bodies only: mac1/mac2 are
 * vpn/cookie.h's job and are computed after create / checked before
 * consume. Secrets (ephemeral private keys, C, intermediate keys) are
 * wiped as soon as they are no longer needed, and a failed step wipes the
 * handshake state. Comparisons of secret data are constant time. */
#ifndef VN_VPN_NOISE_H
#define VN_VPN_NOISE_H

#include "crypto.h"
#include "wire.h"

#include <stdbool.h>
#include <stdint.h>

/* Our static identity: the private key and what is derived from it once. */
struct vn_noise_local {
    uint8_t priv[VN_KEY_LEN];
    uint8_t pub[VN_KEY_LEN];
    uint8_t mac1_key[VN_HASH_LEN];   /* HASH("mac1----" || pub): mac1 of messages to us */
    uint8_t cookie_key[VN_HASH_LEN]; /* HASH("cookie--" || pub): cookie replies we send */
};

/* What we know of one remote peer. */
struct vn_noise_remote {
    uint8_t pub[VN_KEY_LEN];
    uint8_t psk[VN_KEY_LEN];          /* zeros when none is configured */
    uint8_t ss[VN_KEY_LEN];           /* DH(our static, its static), computed once */
    uint8_t mac1_key[VN_HASH_LEN];    /* HASH("mac1----" || pub): mac1 of messages to it */
    uint8_t cookie_key[VN_HASH_LEN];  /* HASH("cookie--" || pub): its cookie replies to us */
};

enum vn_noise_state {
    VN_NOISE_NONE = 0,
    VN_NOISE_INIT_SENT,     /* initiator: waiting for the response */
    VN_NOISE_INIT_RCVD,     /* responder: initiation consumed, response not yet made */
};

/* One handshake in progress (either role). */
struct vn_noise_hs {
    int state;                        /* enum vn_noise_state */
    uint32_t local_index;             /* our sender index in it */
    uint32_t remote_index;            /* the other side's (responder: from the initiation) */
    uint8_t e_priv[VN_KEY_LEN];       /* our ephemeral private key */
    uint8_t e_remote[VN_KEY_LEN];     /* responder: the initiator's ephemeral public key */
    uint8_t h[VN_HASH_LEN];           /* the handshake hash */
    uint8_t ck[VN_HASH_LEN];          /* the chaining key */
};

/* The outcome of a completed handshake: a transport session's keys. */
struct vn_noise_keys {
    uint8_t send[VN_KEY_LEN];
    uint8_t recv[VN_KEY_LEN];
    uint32_t local_index;             /* receivers address data to us with this */
    uint32_t remote_index;            /* we address data to them with this */
    bool initiator;                   /* we sent the initiation */
};

/* Fill l from a private key (clamped copy kept). Returns 0, or -1 when the
 * key gives the all-zero public key. */
int vn_noise_local_init(struct vn_noise_local *l, const uint8_t priv[VN_KEY_LEN]);
/* Fill r for a peer with public key pub and preshared key psk (NULL: none),
 * precomputing DH(l, pub). Returns 0, or -1 when the DH result is all zero
 * (a low-order key: such a peer can never handshake). */
int vn_noise_remote_init(struct vn_noise_remote *r, const struct vn_noise_local *l,
                         const uint8_t pub[VN_KEY_LEN], const uint8_t psk[VN_KEY_LEN]);

/* Initiator: start a handshake to r, writing a whole initiation message
 * (VN_WG_INIT_LEN bytes, MACs zero) into msg. tai64n is the current
 * timestamp (12 bytes, vn_noise_tai64n()). hs becomes VN_NOISE_INIT_SENT.
 * Returns 0, or -1 (a DH gave zero; hs wiped). */
int vn_noise_init_create(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                         const struct vn_noise_remote *r, uint32_t local_index,
                         const uint8_t tai64n[VN_WG_TAI64N_LEN], uint8_t msg[VN_WG_INIT_LEN]);

/* Responder, first half: decrypt a parsed initiation m addressed to l.
 * On success hs is VN_NOISE_INIT_RCVD (remote_index = m->sender), the
 * initiator's static public key is in static_out and its timestamp in
 * tai64n_out; the caller finds the peer by static_out and must refuse the
 * initiation unless tai64n_out is greater (memcmp) than the peer's last
 * one. Returns 0, or -1 when it does not decrypt (hs wiped). */
int vn_noise_init_consume(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                          const struct vn_wg_init *m, uint8_t static_out[VN_KEY_LEN],
                          uint8_t tai64n_out[VN_WG_TAI64N_LEN]);

/* Responder, second half: answer the consumed initiation in hs for peer r,
 * writing a whole response (VN_WG_RESP_LEN bytes, MACs zero) into msg and
 * the session's keys into keys. hs is wiped (VN_NOISE_NONE) either way.
 * Returns 0, or -1 (hs not VN_NOISE_INIT_RCVD, or a DH gave zero). */
int vn_noise_resp_create(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                         const struct vn_noise_remote *r, uint32_t local_index,
                         uint8_t msg[VN_WG_RESP_LEN], struct vn_noise_keys *keys);

/* Initiator: consume a parsed response m to the handshake hs with r (the
 * caller matched m->receiver to hs->local_index). Writes the keys and
 * wipes hs. Returns 0, or -1 when it does not authenticate (hs kept, so a
 * forged response cannot cancel the real one). */
int vn_noise_resp_consume(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                          const struct vn_noise_remote *r, const struct vn_wg_resp *m,
                          struct vn_noise_keys *keys);

/* The same two steps with the ephemeral private key given (clamped here)
 * instead of a random one: for known-answer tests and fuzzing only; a real
 * handshake must never reuse an ephemeral key. */
int vn_noise_init_create_with_e(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                                const struct vn_noise_remote *r, uint32_t local_index,
                                const uint8_t tai64n[VN_WG_TAI64N_LEN],
                                const uint8_t e_priv[VN_KEY_LEN], uint8_t msg[VN_WG_INIT_LEN]);
int vn_noise_resp_create_with_e(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                                const struct vn_noise_remote *r, uint32_t local_index,
                                const uint8_t e_priv[VN_KEY_LEN], uint8_t msg[VN_WG_RESP_LEN],
                                struct vn_noise_keys *keys);

/* The TAI64N label of a wall-clock time (seconds since the Unix epoch and
 * nanoseconds), big-endian: 2^62 + 10 + sec, then nsec. */
void vn_noise_tai64n(uint8_t out[VN_WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec);

/* Wipe a handshake (state VN_NOISE_NONE) or keys. */
void vn_noise_hs_clear(struct vn_noise_hs *hs);
void vn_noise_keys_clear(struct vn_noise_keys *k);

#endif
