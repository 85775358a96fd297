/* Building the answer to a rejected frame: a TCP RST for TCP, an ICMP
 * "communication administratively prohibited" for other IPv4. */
#ifndef VN_FW_REJECT_H
#define VN_FW_REJECT_H

#include <stddef.h>
#include <stdint.h>

/* Write into out (at least 128 bytes + 28 quoted... use 640) the frame that
 * tells the sender of frame f (untagged Ethernet, len bytes) it was refused,
 * as if from its destination. Returns the frame length, or 0 when nothing
 * should be sent (not IPv4, an ICMP error, a RST, a fragment...). */
size_t vn_reject_build(const uint8_t *f, size_t len, uint8_t *out, size_t outlen);

#endif
