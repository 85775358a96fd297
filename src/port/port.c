/* Helpers shared by port backends: see port.h. */
#include "port.h"
#include "core/util.h"
#include "pkt/eth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

const struct vn_port_ops *const vn_port_backends[] = {
    &vn_port_stream_ops,
    &vn_port_dgram_ops,
    &vn_port_tap_ops,
    &vn_port_uplink_ops,
    NULL,
};

int vn_port_frame_iov(const struct vn_port *p, const struct vn_frame *f, uint8_t tag[4],
                      struct iovec *iov, size_t *len)
{
    uint16_t vid = vn_port_egress_vid(p, f->net);
    if (!vid) {
        iov[0] = (struct iovec){ f->data, f->len };
        *len = f->len;
        return 1;
    }
    vn_put_be16(tag, VN_ETH_TYPE_VLAN);
    vn_put_be16(tag + 2, vid);
    iov[0] = (struct iovec){ f->data, 2 * VN_ETH_ALEN };
    iov[1] = (struct iovec){ tag, VN_VLAN_HLEN };
    iov[2] = (struct iovec){ f->data + 2 * VN_ETH_ALEN, f->len - 2 * VN_ETH_ALEN };
    *len = f->len + VN_VLAN_HLEN;
    return 3;
}

