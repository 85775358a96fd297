/* Helpers shared by port backends: see port.h. */
#include "port.h"
#include "conf/values.h"
#include "core/util.h"
#include "pkt/eth.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Every backend: src/port/NAME.c defines vn_port_NAME_ops. A new port type
 * is its file, one X(NAME) here and its line in meson.build. */
#define VN_PORT_BACKENDS(X) X(stream) X(dgram) X(tap) X(uplink) X(vxlan) X(vhost_user)

#define DECLARE(name) extern const struct vn_port_ops vn_port_##name##_ops;
VN_PORT_BACKENDS(DECLARE)
#define ENTRY(name) &vn_port_##name##_ops,
const struct vn_port_ops *const vn_port_backends[] = { VN_PORT_BACKENDS(ENTRY) NULL };

/* Give the config layer every backend's port type (keys, checks) when the
 * program starts, before anything reads a configuration; the table's order
 * is the order types are listed in messages. (libvnet is linked whole, so
 * this runs in every program that links it.) */
__attribute__((constructor)) static void register_port_types(void)
{
    for (unsigned i = 0; vn_port_backends[i]; i++)
        if (vn_conf_port_type_register(vn_port_backends[i]->conf) < 0)
            abort(); /* two backends with one name, or too many */
}

#define P(m) .off = offsetof(struct vn_port_conf, m), .size = sizeof(((struct vn_port_conf *)0)->m)

const struct vn_conf_key vn_port_path_key = {
    .name = "path", .type = VN_CT_STR, P(path), .flags = VN_KF_QUOTE, .doc_type = "path",
    .help = "stream, dgram: the unix socket vnetd binds (default RUNDIR/NAME.sock)",
};

int vn_port_socket_validate(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    (void)c;
    char rd[200];
    if (!p->path[0]) {
        vn_conf_runtime_dir(rd, sizeof rd);
        if ((size_t)snprintf(p->path, sizeof p->path, "%s/%s.sock", rd, p->name) >=
            sizeof p->path)
            return vn_conf_fail(err, p->src, "port '%s': default socket path too long", p->name);
    }
    return 0;
}

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

