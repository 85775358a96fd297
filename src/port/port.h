/* Helpers shared by the port backends, and the table of backends. */
#ifndef VN_PORT_PORT_H
#define VN_PORT_PORT_H

#include "switch/switch.h"

#include <sys/uio.h>

/* Backend for a port type, or NULL. */
const struct vn_port_ops *vn_port_ops_for(enum vn_port_type t);

extern const struct vn_port_ops vn_port_stream_ops;
extern const struct vn_port_ops vn_port_dgram_ops;
extern const struct vn_port_ops vn_port_tap_ops;
extern const struct vn_port_ops vn_port_uplink_ops;

/* Describe frame f as it must leave port p: fills iov (3 entries at most),
 * inserting an 802.1Q tag (built in tag[4]) when p tags f's network.
 * Returns the iovec count; *len gets the frame's length on the wire. */
int vn_port_frame_iov(const struct vn_port *p, const struct vn_frame *f, uint8_t tag[4],
                      struct iovec *iov, size_t *len);

/* Create a unix socket of the given type bound at path: creates the parent
 * directory if missing, replaces a stale socket file left by a dead process,
 * refuses to replace a live one or a non-socket file. Returns the fd
 * (non-blocking, close-on-exec) or -1 with a reason in err. */
int vn_unix_bind(const char *path, int type, char *err, size_t errlen);

/* Count delivery of one frame of len bytes to p's peer. */
static inline void vn_port_tx_ok(struct vn_port *p, size_t len)
{
    p->stats.tx_frames++;
    p->stats.tx_bytes += len;
}

#endif
