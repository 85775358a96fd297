/* The replay window of a WireGuard receiving session: which 64-bit message
 * counters may still be accepted.
 *
 * Theory of operation (RFC 6479's bitmap as WireGuard uses it). A ring of
 * 8192 bits in 128 64-bit words records which counters near the highest one
 * accepted have been seen; bit (c mod 8192) stands for counter c. A counter
 * above the highest moves the window: the words between the old highest
 * counter's word and the new one's are cleared (at most the whole ring), a
 * word at a time, so no per-bit shifting is ever done. Because the word
 * holding the highest counter is also where the next counters land, one word
 * of the ring is always the moving edge: a counter is accepted if it is
 * above the highest, or at most VN_REPLAY_WINDOW (8192 - 64 = 8128) below
 * it and not seen yet. Counters at or above VN_REJECT_AFTER_MESSAGES
 * (2^64 - 2^13 - 1, the whitepaper's Reject-After-Messages) are never
 * accepted.
 *
 * WireGuard marks a counter only after its packet authenticated (else a
 * forged packet could move the window): vn_replay_check() is the cheap
 * pre-check before decryption, vn_replay_accept() the check-and-mark after.
 * Pure: no clock, no allocation, no locking. */
#ifndef VN_VPN_REPLAY_H
#define VN_VPN_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define VN_REPLAY_BITS 8192u
#define VN_REPLAY_WORDS (VN_REPLAY_BITS / 64u)
#define VN_REPLAY_WINDOW (VN_REPLAY_BITS - 64u)
#define VN_REJECT_AFTER_MESSAGES (UINT64_MAX - (UINT64_C(1) << 13)) /* 2^64 - 2^13 - 1 */

struct vn_replay {
    uint64_t next;                      /* highest counter accepted + 1; 0: none yet */
    uint64_t seen[VN_REPLAY_WORDS];     /* the ring: bit c % 8192 for counter c */
};

/* An empty window (a new session). */
void vn_replay_init(struct vn_replay *r);
/* Would counter be accepted now? Changes nothing. */
bool vn_replay_check(const struct vn_replay *r, uint64_t counter);
/* Accept counter and mark it seen (moving the window if it is the highest
 * yet); returns false, changing nothing, for a replay, a counter too far
 * behind or one at the reject limit. */
bool vn_replay_accept(struct vn_replay *r, uint64_t counter);

#endif
