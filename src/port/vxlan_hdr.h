/* The VXLAN header (RFC 7348 section 5) and the flow hash of an inner frame.
 *
 *    0                   1                   2                   3
 *   |R|R|R|R|I|R|R|R|            Reserved                           |
 *   |                VXLAN Network Identifier (VNI) |   Reserved    |
 *
 * Encoding sets only the I flag and the VNI; every reserved bit is zero.
 * Decoding requires the I flag ("MUST be set to 1 for a valid VNI") and
 * ignores the reserved bits, as section 5 asks of receivers ("MUST be set
 * to zero on transmission and ignored on receipt"): extensions that use
 * them (Group Policy, GPE) then reach us as plain VXLAN, which is what a
 * VTEP that does not know them is meant to do. Pure functions, no state. */
#ifndef VN_PORT_VXLAN_HDR_H
#define VN_PORT_VXLAN_HDR_H

#include <stddef.h>
#include <stdint.h>

#define VN_VXLAN_HLEN 8
#define VN_VXLAN_FLAG_I 0x08
#define VN_VXLAN_VNI_MAX 0xffffffu
/* Bytes VXLAN adds around an inner frame on the underlay: outer IP, UDP,
 * VXLAN and the inner Ethernet header (which the network's MTU excludes). */
#define VN_VXLAN_OVERHEAD4 (20 + 8 + VN_VXLAN_HLEN + 14) /* 50 */
#define VN_VXLAN_OVERHEAD6 (40 + 8 + VN_VXLAN_HLEN + 14) /* 70 */

enum vn_vxlan_hdr_err {
    VN_VXLAN_HDR_OK = 0,
    VN_VXLAN_HDR_SHORT,   /* fewer than 8 bytes */
    VN_VXLAN_HDR_NO_I,    /* the I flag is clear: no valid VNI */
};

/* Write the header of a frame of network vni (1..2^24-1) into h. */
void vn_vxlan_hdr_put(uint8_t h[VN_VXLAN_HLEN], uint32_t vni);

/* Read the header at p (len bytes of UDP payload): VN_VXLAN_HDR_OK and
 * *vni, or why not. Never reads past len. */
enum vn_vxlan_hdr_err vn_vxlan_hdr_get(const uint8_t *p, size_t len, uint32_t *vni);

/* A hash of the flow an inner Ethernet frame belongs to: its MACs and
 * ethertype, and for IPv4/IPv6 the addresses and protocol, plus the TCP,
 * UDP or SCTP ports when the packet carries them (not in later fragments).
 * Frames of one flow hash alike, so the outer UDP source port chosen from
 * it keeps a flow on one ECMP path (RFC 7348 section 5, "Source Port"). */
uint32_t vn_vxlan_flow_hash(const uint8_t *frame, size_t len);

#endif
