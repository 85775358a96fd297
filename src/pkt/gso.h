/* Software fallbacks for offloads: checksum completion and TCP segmentation,
 * for frames that must leave through a port that cannot take them. */
#ifndef VN_PKT_GSO_H
#define VN_PKT_GSO_H

#include "pkt/frame.h"

#include <stddef.h>

/* The value that completes f's partial checksum (NEEDS_CSUM) and where it
 * goes (*pos, from the Ethernet header), without touching f. Returns 0, or
 * -1 if f has no partial checksum or its offsets are out of bounds. */
int vn_csum_partial(const struct vn_frame *f, uint16_t *csum, uint32_t *pos);
/* If f carries a partial checksum (NEEDS_CSUM), compute it in place and clear
 * the flag. Returns 0, or -1 if the offsets are out of bounds. */
int vn_csum_complete(struct vn_frame *f);

/* Length of the Ethernet + IP + TCP headers of a TCP GSO frame (untagged),
 * or -1 if it is not a well-formed one. */
int vn_gso_hdr_len(const struct vn_frame *f);

/* Split a TCP GSO frame (untagged Ethernet + IPv4/IPv6 + TCP) into segments of
 * at most gso_size payload bytes, with complete checksums, written into buf
 * (buflen bytes) and described by out[0..max). Returns the number of
 * segments, or -1 if the frame is malformed or does not fit. */
int vn_gso_segment(const struct vn_frame *f, uint8_t *buf, size_t buflen, struct vn_frame *out,
                   unsigned max);

#endif
