/* Transmit offload of a vxlan port: a TCP GSO frame (64 KiB a tap handed
 * over whole) cut into the segments that go on the wire, without copying
 * its payload: each segment is its own copy of the inner headers (lengths,
 * sequence number, IPv4 ID, flags and checksums fixed up as pkt/gso.c does)
 * and a pointer into the frame's payload. vxlan_tx.c sends the segments of
 * one frame to a VTEP as one UDP_SEGMENT train, which the kernel cuts into
 * datagrams (and a vnetd peer reads back as one buffer, vxlan_gro.h). */
#ifndef VN_PORT_VXLAN_TSO_H
#define VN_PORT_VXLAN_TSO_H

#include "pkt/frame.h"

#include <stdint.h>

#define VN_VXLAN_TSO_MAX 256 /* segments of one frame */
#define VN_VXLAN_TSO_HDR 136 /* Ethernet + IPv4/IPv6 + TCP with options, at most */

struct vn_vxlan_tso {
    unsigned n;                     /* segments */
    uint16_t hlen;                  /* header bytes of each */
    uint16_t mss;                   /* payload bytes of each but the last */
    uint8_t hdr[VN_VXLAN_TSO_MAX][VN_VXLAN_TSO_HDR];
    const uint8_t *payload[VN_VXLAN_TSO_MAX];
    uint16_t plen[VN_VXLAN_TSO_MAX];
};

/* Cut TCP GSO frame f (untagged) into t. Returns 0, or -1 when f is not
 * a well-formed TCP GSO frame or needs more than VN_VXLAN_TSO_MAX segments. */
int vn_vxlan_tso_split(const struct vn_frame *f, struct vn_vxlan_tso *t);

#endif
