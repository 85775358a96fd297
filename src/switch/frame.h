/* A frame in flight through the switch, and the batch size of the data path. */
#ifndef VN_SWITCH_FRAME_H
#define VN_SWITCH_FRAME_H

#include <stdint.h>

/* Largest frame any port accepts: 64 KiB of L3 plus an Ethernet header and
 * one 802.1Q tag (what a stream peer may send: length field <= 65535 + 14 + 4). */
#define VN_FRAME_MAX (65535 + 14 + 4)
/* Bytes kept free in front of every receive buffer so a header can be
 * prepended without copying the frame. */
#define VN_HEADROOM 64
/* Frames handled per wake-up of a port and per egress write. */
#define VN_BATCH 64

struct vn_frame {
    uint8_t *data;  /* first byte of the Ethernet header (untagged once inside the switch) */
    uint32_t len;   /* bytes at data */
    uint16_t net;   /* network index; set by the switch at ingress */
    uint16_t flags;
};

#endif
