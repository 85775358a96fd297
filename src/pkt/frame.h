/* A frame in flight through the switch, and the batch size of the data path. */
#ifndef VN_SWITCH_FRAME_H
#define VN_SWITCH_FRAME_H

#include <stdint.h>

/* Largest frame any port accepts: 64 KiB of L3 plus an Ethernet header and
 * one 802.1Q tag (buffers have room for a tagged maximum frame; a stream peer
 * may send at most 65535 + 14, see port/stream_framing.h). */
#define VN_FRAME_MAX (65535 + 14 + 4)
/* Size of every receive buffer: the largest frame a tap with TSO hands over
 * (a 64 KiB IPv6 payload plus headers) with room to spare. */
#define VN_RXBUF_SIZE (65536 + 256)
/* Bytes kept free in front of every receive buffer so a header can be
 * prepended without copying the frame. */
#define VN_HEADROOM 64
/* Frames handled per wake-up of a port and per egress write. */
#define VN_BATCH 64

/* Offload metadata carried with a frame, with virtio-net semantics
 * (struct virtio_net_hdr): all zero means a plain frame whose checksums are
 * complete. Offsets count from the first byte of the Ethernet header. */
struct vn_offload {
    uint8_t flags;        /* VIRTIO_NET_HDR_F_NEEDS_CSUM / _DATA_VALID */
    uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_NONE / _TCPV4 / _TCPV6 */
    uint16_t hdr_len;     /* Ethernet + IP + TCP header bytes (GSO) */
    uint16_t gso_size;    /* payload bytes per segment (GSO) */
    uint16_t csum_start;  /* checksum covers [csum_start, end) ... */
    uint16_t csum_offset; /* ... and is stored at csum_start + csum_offset */
};

/* Port capabilities for offloaded frames; the switch converts frames for
 * ports that lack them (completes checksums, segments GSO frames). */
#define VN_CAP_CSUM 1u /* accepts frames with a partial checksum */
#define VN_CAP_GSO 2u  /* accepts TCP segmentation-offload frames (implies CSUM) */

struct vn_frame {
    uint8_t *data;  /* first byte of the Ethernet header (untagged once inside the switch) */
    uint32_t len;   /* bytes at data */
    uint16_t net;   /* network index; set by the switch at ingress */
    uint16_t port;  /* id of the port it entered by; set by the switch at ingress */
    uint16_t flags;  /* VN_FRAME_F_* */
    struct vn_offload off;
};

/* The gateway forwards the frame's packet out of its tunnel (the VPN): ACL
 * rules with src vpn may match it (fw/acl.h). */
#define VN_FRAME_F_TUNNEL 1u

#endif
