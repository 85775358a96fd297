/* A WireGuard device: our identity, the peer table, AllowedIPs, the index
 * table and the packet paths, with no socket and no clock of its own.
 *
 * Theory of operation. The device is "sans I/O": the caller hands it
 * every UDP datagram that arrived (vn_vpn_dev_input), every inner IP
 * packet to send into the tunnel (vn_vpn_dev_output), and calls
 * vn_vpn_dev_tick when the deadline it returned has come; the device
 * answers through the callbacks of struct vn_vpn_io: datagrams to send,
 * decrypted packets to deliver. Time is always a parameter (ms of a
 * monotonic clock), so tests drive two devices against each other with a
 * fake clock, and the daemon with its loop's clock.
 *
 * Receiving: a datagram is parsed (wire.h); a handshake message must carry
 * a valid mac1 (cookie.h) before any public-key work, and while the device
 * is under load (more handshake messages with a valid mac1 than
 * VN_VPN_HS_RATE a second, in a token bucket; garbage does not count)
 * also a valid mac2, else it is answered with a cookie reply; those with
 * a valid mac2 are then limited per source address (ratelimit.h), as a
 * cookie proves only the address. An initiation is decrypted to learn the
 * peer (by static key),
 * must carry a timestamp newer than the peer's last and not come within
 * VN_INIT_MIN_GAP_MS of the previous one; it is answered and its session
 * waits as the peer's "next" until the initiator's first data packet
 * confirms it. Data is found by its receiver index, checked against the
 * replay window before and after decryption, and its inner packet's
 * source must be one of the peer's AllowedIPs. Any authenticated message
 * moves the peer's endpoint to where it came from (roaming).
 * Sending: the destination picks the peer by longest prefix
 * (allowed.h); without a usable session the packet is queued and a
 * handshake begins. Timers (timers.c) follow the whitepaper's section 6:
 * rekey, retry with jitter, keepalives, key zeroing.
 * Every drop is counted by cause. */
#ifndef VN_VPN_DEVICE_H
#define VN_VPN_DEVICE_H

#include "allowed.h"
#include "cookie.h"
#include "noise.h"
#include "peer.h"
#include "ratelimit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_VPN_HS_RATE 100u     /* handshake messages a second before "under load" */
#define VN_VPN_HS_BURST 64u
#define VN_VPN_LOAD_HOLD_MS 1000u
#define VN_VPN_ALLOWED_PER_PEER 64u
#define VN_VPN_OVERHEAD 32u     /* transport header + tag (without the outer IP/UDP) */

struct vn_vpn_io {
    void *ctx;
    /* Send len bytes to ep (a handshake, cookie or data message). */
    void (*send)(void *ctx, const struct vn_vpn_endpoint *ep, const uint8_t *buf, size_t len);
    /* A decrypted inner IP packet of peer p (len bytes, padding removed,
     * source checked); buf may be modified. */
    void (*deliver)(void *ctx, struct vn_vpn_peer *p, uint8_t *buf, size_t len);
    /* The wall clock (for handshake timestamps); NULL: CLOCK_REALTIME. */
    void (*wall)(void *ctx, uint64_t *sec, uint32_t *nsec);
};

/* Device-wide drop and event counters (peer counters are in peer.h). */
struct vn_vpn_dev_stats {
    uint64_t rx_datagrams, tx_datagrams;
    uint64_t malformed[VN_WG_DROP_N];   /* by enum vn_wg_drop, [-reason] */
    uint64_t bad_mac1, unknown_peer, bad_handshake, stale_timestamp, init_flood;
    uint64_t unknown_index, bad_packet, replayed, expired, src_refused, bad_inner;
    uint64_t cookies_sent, bad_cookie, under_load, ratelimited;
    uint64_t no_route, no_endpoint, queue_dropped;
};

struct vn_vpn_dev {
    struct vn_noise_local local;
    struct vn_cookie_checker checker;
    struct vn_vpn_io io;
    uint16_t mtu;                      /* inner MTU for padding (0: pad freely) */

    struct vn_vpn_peer **peers;        /* max_peers slots, NULL = free */
    uint16_t max_peers;
    uint16_t npeers;
    struct vn_allowed allowed;

    /* receiver index -> peer (open addressing, linear probing) */
    struct vn_vpn_idx { uint32_t index; uint16_t peer; bool used; } *idx;
    uint32_t idx_cap;                  /* power of two */

    /* handshake token bucket */
    uint32_t hs_tokens;
    uint64_t hs_refill_ms, load_until_ms;
    /* under load, handshake messages with a valid mac2 per source */
    struct vn_rl rl;

    struct vn_vpn_dev_stats st;
};

/* A device with private key priv for up to max_peers peers. Returns NULL
 * with err (a bad key, out of memory). */
struct vn_vpn_dev *vn_vpn_dev_new(const uint8_t priv[VN_KEY_LEN], uint16_t max_peers,
                                  const struct vn_vpn_io *io, char *err, size_t errlen);
void vn_vpn_dev_free(struct vn_vpn_dev *d);

/* Add a peer. psk may be NULL; ep may be NULL or family 0 (it connects to
 * us); allowed[] are prefixes (host bits are cleared). Returns the peer, or
 * NULL with err (table full, duplicate key, our own key, a prefix another
 * peer has, bad key). */
struct vn_vpn_peer *vn_vpn_peer_add(struct vn_vpn_dev *d, const char *name,
                                    const uint8_t pub[VN_KEY_LEN], const uint8_t *psk,
                                    const struct vn_vpn_endpoint *ep, uint16_t keepalive_s,
                                    const struct vn_addr *allowed, const uint8_t *allowed_len,
                                    unsigned nallowed, char *err, size_t errlen);
/* Remove a peer, wiping its keys. */
void vn_vpn_peer_del(struct vn_vpn_dev *d, struct vn_vpn_peer *p);
/* The peer with this public key or name, or NULL. */
struct vn_vpn_peer *vn_vpn_peer_by_key(struct vn_vpn_dev *d, const uint8_t pub[VN_KEY_LEN]);
struct vn_vpn_peer *vn_vpn_peer_by_name(struct vn_vpn_dev *d, const char *name);

/* A datagram (len bytes at buf, which may be modified: decryption is in
 * place) arrived from ep at now_ms. */
void vn_vpn_dev_input(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                      size_t len, uint64_t now_ms);

/* Send the inner IP packet pkt (len bytes) to the peer whose AllowedIPs
 * hold its destination. Returns the peer, or NULL when no peer has the
 * destination (counted as no_route; the caller may answer unreachable). */
struct vn_vpn_peer *vn_vpn_dev_output(struct vn_vpn_dev *d, const uint8_t *pkt, size_t len,
                                      uint64_t now_ms);
/* The same to a given peer. */
void vn_vpn_peer_send(struct vn_vpn_dev *d, struct vn_vpn_peer *p, const uint8_t *pkt,
                      size_t len, uint64_t now_ms);

/* Run the timers due at now_ms. Returns the next deadline (ms), or 0 when
 * nothing is armed. */
uint64_t vn_vpn_dev_tick(struct vn_vpn_dev *d, uint64_t now_ms);

/* The peer whose AllowedIPs hold address a, or NULL. */
struct vn_vpn_peer *vn_vpn_dev_route(struct vn_vpn_dev *d, const struct vn_addr *a);

/* Status: peers (public key, endpoint, allowed IPs, latest handshake,
 * transfer, keepalive, counters) and the device counters. */
json_t *vn_vpn_dev_json(struct vn_vpn_dev *d, uint64_t now_ms);

/* For timers.c and device.c: start a handshake with p now (unless one
 * was sent less than VN_REKEY_TIMEOUT ago, or is_retry). */
void vn_vpn_send_initiation(struct vn_vpn_dev *d, struct vn_vpn_peer *p, bool is_retry,
                            uint64_t now_ms);
/* Send a keepalive (an empty data message) to p if it has a session. */
void vn_vpn_send_keepalive(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms);
/* Wipe every session and the handshake of p. */
void vn_vpn_peer_clear_keys(struct vn_vpn_dev *d, struct vn_vpn_peer *p);
/* Drop p's queued packets. */
void vn_vpn_peer_queue_clear(struct vn_vpn_peer *p);

#endif
