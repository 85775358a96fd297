/* The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sums. */
#ifndef VN_PKT_CSUM_H
#define VN_PKT_CSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add len bytes at p to a running 32-bit one's-complement sum (big-endian
 * 16-bit words; an odd trailing byte is padded with zero). Only the last call
 * of a sequence may have odd len. */
uint32_t vn_csum_add(uint32_t sum, const void *p, size_t len);
/* Copy len bytes from src to dst and return vn_csum_add(sum, src, len) in
 * the same pass. dst and src may overlap only when dst is below src (a
 * move down): what memmove does. */
uint32_t vn_csum_copy(void *dst, const void *src, size_t len, uint32_t sum);
/* Fold a running sum to 16 bits and complement it: the value to store. */
uint16_t vn_csum_fold(uint32_t sum);
/* Pseudo-header sums (addresses in network byte order as bytes). */
uint32_t vn_csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t len);
uint32_t vn_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                         uint32_t len);
/* The pseudo-header sum for either family (s and d of the same family). */
#include "addr.h"
uint32_t vn_csum_pseudo(const struct vn_addr *s, const struct vn_addr *d, uint8_t proto,
                        uint32_t len);
/* Checksum of an IPv4 header of hlen bytes (with its checksum field zeroed). */
uint16_t vn_csum_ipv4_hdr(const uint8_t *hdr, size_t hlen);

#endif
