/* The table of port backends, and helpers they share. */
#ifndef VN_PORT_PORT_H
#define VN_PORT_PORT_H

#include "conf/schema.h"
#include "provider.h"

#include <sys/uio.h>

/* Every port backend, NULL-terminated: the daemon registers each with the
 * switch (vn_switch_set_backend). A new type is one file plus one line in port.c. */
extern const struct vn_port_ops *const vn_port_backends[];

/* The "path" key and check of the socket ports (stream, dgram): the unix
 * socket vnetd binds, RUNDIR/NAME.sock unless given. */
extern const struct vn_conf_key vn_port_path_key;
int vn_port_socket_validate(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err);
/* What a socket port takes, said when it is given another type's key. */
#define VN_PORT_SOCKET_FOREIGN "it takes path only and uses its network's mtu"


/* Describe frame f as it must leave port p: fills iov (3 entries at most),
 * inserting an 802.1Q tag (built in tag[4]) when p tags f's network.
 * Returns the iovec count; *len gets the frame's length on the wire. */
int vn_port_frame_iov(const struct vn_port *p, const struct vn_frame *f, uint8_t tag[4],
                      struct iovec *iov, size_t *len);

/* The offload metadata of frame offload o as it leaves with c iovec
 * entries from vn_port_frame_iov: an inserted 802.1Q tag (c > 1) moves the
 * L3 offsets (hdr_len, and csum_start of a partial checksum) by its 4 bytes. */
static inline struct vn_offload vn_port_frame_offload(const struct vn_offload *o, int c)
{
    struct vn_offload r = *o;
    uint16_t shift = c > 1 ? 4 : 0;
    if (r.hdr_len)
        r.hdr_len = (uint16_t)(r.hdr_len + shift);
    if (r.flags & 1u /* VIRTIO_NET_HDR_F_NEEDS_CSUM */)
        r.csum_start = (uint16_t)(r.csum_start + shift);
    else
        r.csum_start = 0;
    return r;
}

#include "core/unixsock.h"

#endif
