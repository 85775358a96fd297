/* A per-source limit of handshake messages under load (what WireGuard's
 * ratelimiter does).
 *
 * Theory of operation. While the device is under load a handshake message
 * needs a valid mac2, and a cookie proves only that its sender receives
 * datagrams at its source address: one host that answers the cookie
 * challenge could still make the device do public-key work for every
 * message it sends. So the messages that pass mac2 under load are limited
 * per source too: a token bucket of VN_RL_RATE a second, VN_RL_BURST deep,
 * per IPv4 address or IPv6 /64 (one host's addresses; the port is not
 * part of the key). Buckets live in a fixed table of VN_RL_SETS sets of
 * VN_RL_WAYS entries, the set chosen by a keyed hash (core/hash.h: a
 * sender cannot aim at one set). A new source takes a free entry of its
 * set or the least recently used one if that has been idle long enough
 * to be full again; when every entry of the set is busy with an active
 * source the new one is refused, so rotating addresses through a set
 * never buys fresh bursts. Nothing is allocated. */
#ifndef VN_VPN_RATELIMIT_H
#define VN_VPN_RATELIMIT_H

#include "pkt/addr.h"

#include <stdbool.h>
#include <stdint.h>

#define VN_RL_RATE 20u   /* messages a second per source */
#define VN_RL_BURST 5u
#define VN_RL_WAYS 4u
#define VN_RL_SETS 256u
/* An entry idle this long has a full bucket again and may be reused. */
#define VN_RL_IDLE_MS (VN_RL_BURST * 1000u / VN_RL_RATE)

struct vn_rl_entry {
    uint8_t key[9];        /* 4 or 6, then the IPv4 address or the IPv6 /64 */
    bool used;
    uint32_t milli_tokens; /* tokens x 1000 */
    uint64_t last_ms;
};

struct vn_rl {
    struct vn_rl_entry e[VN_RL_SETS * VN_RL_WAYS];
};

/* An empty table. */
void vn_rl_init(struct vn_rl *rl);

/* May a handshake message from src go on at now_ms (ms of a monotonic
 * clock)? Takes a token when it may. A clock gone back refills nothing. */
bool vn_rl_allow(struct vn_rl *rl, const struct vn_addr *src, uint64_t now_ms);

#endif
