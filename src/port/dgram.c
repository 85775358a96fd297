/* dgram port: QEMU "-netdev dgram" over unix datagram sockets.
 *
 * vnetd binds the port's path; QEMU binds its own path and sends to ours, one
 * Ethernet frame per datagram. The peer is learned from the source address of
 * received datagrams (a VM that restarts with a new local path simply takes
 * over). Receive uses recvmmsg() into the switch's shared buffers; transmit
 * uses one sendmmsg() per egress batch. Datagram sockets have no partial
 * writes: what the peer's queue cannot take is dropped and counted. */
#include "core/log.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "port.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

VN_SYSCALLS("sendmmsg", "recvmmsg");

struct dgram_port {
    struct vn_port *port;
    int fd;
    struct vn_io io;
    struct sockaddr_un peer;
    socklen_t peer_len;
    uint64_t peer_changes;
};

static void dgram_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct dgram_port *d = VN_CONTAINER_OF(io, struct dgram_port, io);
    struct vn_port *p = d->port;
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH];
    struct sockaddr_un from[VN_BATCH];
    for (int i = 0; i < VN_BATCH; i++) {
        iov[i] = (struct iovec){ p->rxbuf[i] + VN_HEADROOM, VN_RXBUF_SIZE };
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                         .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(d->fd, mm, VN_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    unsigned k = 0;
    for (int i = 0; i < n; i++) {
        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
            p->stats.rx_frames++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            continue;
        }
        socklen_t fl = mm[i].msg_hdr.msg_namelen;
        if (fl > sizeof(sa_family_t) &&
            (fl != d->peer_len || memcmp(&from[i], &d->peer, fl) != 0)) {
            d->peer = from[i];
            d->peer_len = fl;
            d->peer_changes++;
            p->connected = true;
            vn_info("msg=\"peer attached\" port=%s peer=\"%.*s\"", p->conf.name,
                    (int)(fl - sizeof(sa_family_t)), from[i].sun_path);
        }
        p->rxframes[k] = (struct vn_frame){ .data = p->rxbuf[i] + VN_HEADROOM,
                                             .len = mm[i].msg_len };
        k++;
    }
    if (k)
        vn_port_input(p, p->rxframes, k);
}

static void dgram_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct dgram_port *d = p->priv;
    if (!d->peer_len) {
        for (unsigned i = 0; i < n; i++)
            vn_port_drop_tx(p, VN_DROP_NO_PEER);
        return;
    }
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH][3];
    uint8_t tag[VN_BATCH][4];
    size_t len[VN_BATCH];
    for (unsigned i = 0; i < n; i++) {
        int c = vn_port_frame_iov(p, fr[i], tag[i], iov[i], &len[i]);
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &d->peer, .msg_namelen = d->peer_len,
                                         .msg_iov = iov[i], .msg_iovlen = (size_t)c };
    }
    unsigned sent = 0;
    while (sent < n) {
        int r = sendmmsg(d->fd, mm + sent, n - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            enum vn_drop why = VN_DROP_TX_FULL;
            if (errno == ECONNREFUSED || errno == ENOENT) {
                /* The VM went away: forget it until it sends again. */
                why = VN_DROP_NO_PEER;
                d->peer_len = 0;
                p->connected = false;
                vn_info("msg=\"peer detached\" port=%s", p->conf.name);
            } else if (errno != EAGAIN && errno != ENOBUFS) {
                why = VN_DROP_TX_ERROR;
            }
            for (; sent < n; sent++)
                vn_port_drop_tx(p, why);
            return;
        }
        for (int i = 0; i < r; i++)
            vn_port_tx_ok(p, len[sent + (unsigned)i]);
        sent += (unsigned)r;
    }
}

static int dgram_open(struct vn_port *p, char *err, size_t errlen)
{
    struct dgram_port *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->port = p;
    d->fd = p->conf.sock_fd >= 0 ? p->conf.sock_fd
                                 : vn_unix_bind(p->conf.path, SOCK_DGRAM, err, errlen);
    if (d->fd < 0) {
        free(d);
        return -1;
    }
    int sz = 4 << 20;
    setsockopt(d->fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(d->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (vn_io_add(p->loop, &d->io, d->fd, EPOLLIN, dgram_event) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        if (p->conf.sock_fd < 0) { /* a passed socket stays the caller's */
            close(d->fd);
            unlink(p->conf.path);
        }
        free(d);
        return -1;
    }
    p->priv = d;
    p->rx_io = &d->io;
    return 0;
}

static void dgram_close(struct vn_port *p)
{
    struct dgram_port *d = p->priv;
    p->rx_io = NULL;
    vn_io_del(p->loop, &d->io);
    close(d->fd);
    if (!p->conf.keep_path)
        unlink(p->conf.path);
    free(d);
}

static void dgram_describe(struct vn_port *p, json_t *o)
{
    struct dgram_port *d = p->priv;
    json_object_set_new(o, "path", json_string(p->conf.path));
    if (d->peer_len > sizeof(sa_family_t))
        json_object_set_new(o, "peer", json_stringn(d->peer.sun_path,
                                                    strnlen(d->peer.sun_path,
                                                            d->peer_len - sizeof(sa_family_t))));
    json_object_set_new(o, "peer_changes", json_integer((json_int_t)d->peer_changes));
}

static const struct vn_conf_port_type dgram_type = {
    .name = "dgram",
    .keys = &vn_port_path_key,
    .nkeys = 1,
    .foreign = VN_PORT_SOCKET_FOREIGN,
    .validate = vn_port_socket_validate,
    .access = VN_PORT_ACCESS_SOCKET,
    .sock_type = SOCK_DGRAM,
};

const struct vn_port_ops vn_port_dgram_ops = {
    .type = "dgram",
    .conf = &dgram_type,
    .open = dgram_open,
    .send = dgram_send,
    .close = dgram_close,
    .describe = dgram_describe,
};
