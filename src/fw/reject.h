/* Answers to rejected frames: a TCP RST for TCP (IPv4 or IPv6), an ICMP
 * "communication administratively prohibited" (type 3 code 13) for other
 * IPv4, an ICMPv6 destination unreachable "administratively prohibited"
 * (type 1 code 1) for other IPv6. No answer to what RFC 1812/4443 say must
 * get none: errors, multicast or broadcast destinations, unspecified or
 * multicast sources, non-first fragments, RSTs. Answers of a switch share
 * one token bucket (VN_REJECT_RATE per second, VN_REJECT_BURST at once),
 * as ICMP errors must be rate-limited (RFC 4443 2.4 f); beyond it the frame
 * is only dropped (counted). */
#ifndef VN_FW_REJECT_H
#define VN_FW_REJECT_H

#include "core/bucket.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define VN_REJECT_RATE 200
#define VN_REJECT_BURST 100
/* The largest answer: an ICMPv6 error quoting up to the IPv6 minimum MTU. */
#define VN_REJECT_BUFLEN (14 + 1280)

struct vn_reject {
    struct vn_bucket bucket;     /* set up on first use */
    uint64_t sent, rate_limited;
    uint8_t buf[VN_REJECT_BUFLEN];
};

/* Write into out (outlen bytes; VN_REJECT_BUFLEN holds every answer) the
 * frame that tells the sender of frame f (untagged Ethernet, len bytes) it
 * was refused, as if from its destination. Returns the frame length, or 0
 * when nothing should be sent (see above) or it does not fit. */
size_t vn_reject_build(const uint8_t *f, size_t len, uint8_t *out, size_t outlen);

/* The answer to rejected frame f in r->buf when one is due and the rate
 * allows it (counted as sent or rate_limited). Returns its length or 0. */
size_t vn_reject_answer(struct vn_reject *r, const uint8_t *f, size_t len, uint64_t now_ns);

/* {sent, rate_limited} */
json_t *vn_reject_stats_json(const struct vn_reject *r);

#endif
