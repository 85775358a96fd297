/* The table of port backends, and helpers they share. */
#ifndef VN_PORT_PORT_H
#define VN_PORT_PORT_H

#include "provider.h"

#include <sys/uio.h>

/* Every port backend, NULL-terminated: the daemon registers each with the
 * switch (vn_switch_set_backend). A new type is one file plus one line here. */
extern const struct vn_port_ops *const vn_port_backends[];

extern const struct vn_port_ops vn_port_stream_ops;
extern const struct vn_port_ops vn_port_dgram_ops;
extern const struct vn_port_ops vn_port_tap_ops;
extern const struct vn_port_ops vn_port_uplink_ops;

/* Describe frame f as it must leave port p: fills iov (3 entries at most),
 * inserting an 802.1Q tag (built in tag[4]) when p tags f's network.
 * Returns the iovec count; *len gets the frame's length on the wire. */
int vn_port_frame_iov(const struct vn_port *p, const struct vn_frame *f, uint8_t tag[4],
                      struct iovec *iov, size_t *len);

#include "core/unixsock.h"

#endif
