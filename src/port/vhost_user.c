/* vhost-user port: a VM's virtio-net device whose queues vnetd serves
 * directly in the guest's shared memory (QEMU -netdev vhost-user, DPDK
 * virtio-user).
 *
 * Theory of operation. The control channel is a unix stream socket: vnetd
 * listens on path (mode server, the default; QEMU connects, with
 * reconnect=N to survive a vnetd restart) or connects to a socket the
 * front end listens on (mode client; retried every second while it is
 * absent or after the front end went away, the outage logged once). One
 * front end at a time: a second connection is refused and logged, as on a
 * stream port. Messages (a 12-byte header, a payload of at most
 * VN_VHOST_MAX_PAYLOAD bytes, descriptors as SCM_RIGHTS) are read with
 * recvmsg(MSG_CMSG_CLOEXEC) into one pending message, which may arrive in
 * pieces; every descriptor received is handed to the protocol device
 * (vhost/proto.h), which keeps or closes it, and a truncated control
 * message, an oversized payload or anything the device calls a violation
 * is counted (protocol_errors), logged and closes the connection. The
 * device reports kick eventfd changes through a hook: each kick fd is
 * registered with the loop.
 *
 * Data path. A tx kick (vring 1): the eventfd is drained and up to
 * VN_BATCH chains are popped, each copied by vn_vnet_tx_frame into a shared
 * receive buffer (the guest may rewrite its memory any time; the switch
 * parses a stable copy) and given back at once; the used ring is published,
 * the guest interrupted if it asks to be, and the batch handed to the
 * switch. This repeats while chains remain, up to TX_ROUNDS batches per
 * wake-up; then the rest waits for a deferred call (a kick for chains
 * already available may never come). send() writes each frame into rx
 * chains of vring 0 (mergeable buffers when negotiated), publishes and
 * interrupts once per batch; with no room the frame is dropped (tx_full),
 * with the ring not running (no front end, not yet started, disabled or
 * broken) it is dropped as no_peer. Nothing is queued for later, so the
 * receive ring asks the guest for no kicks (proto.c); one that comes
 * anyway is only drained.
 *
 * A ring the data path finds hostile (descriptors outside the memory table,
 * loops, over-long chains) stops both rings (vn_vhost_dev_break): counted,
 * logged once per break with the reason, shown by describe() as "broken",
 * the ring's error eventfd signalled. The connection stays up so the
 * front end can reset the device (GET_VRING_BASE and a new kick restart
 * the rings); frames meanwhile are dropped. Other ports never notice. */
#include "core/accept.h"
#include "core/log.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "port.h"
#include "vhost/proto.h"
#include "vhost/vnet.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

VN_SYSCALLS("recvmsg", "sendmsg", "sendto");

enum {
    MSGS_PER_WAKE = 64,  /* control messages handled per wake-up */
    TX_ROUNDS = 4,       /* tx batches per wake-up before deferring */
    RETRY_MS = 1000,     /* client mode: connect retry interval */
};

struct vu_port {
    struct vn_port *port;
    int lfd, cfd;
    struct vn_io lio, cio;
    struct vn_listen_guard guard;
    struct vn_timer retry;        /* client mode: next connect attempt */
    bool outage_logged;           /* client mode: "front end absent" said once */
    struct vn_io kick_io[VN_VHOST_NVQ];
    bool kick_on[VN_VHOST_NVQ];
    struct vn_defer more_tx;      /* tx chains left after TX_ROUNDS batches */
    struct vn_vhost_dev dev;
    /* the message being read */
    uint8_t hbuf[VN_VHOST_HDR_SIZE];
    struct vn_vhost_hdr hdr;
    size_t got;                   /* bytes of header + payload read */
    uint8_t payload[VN_VHOST_MAX_PAYLOAD];
    int fds[VN_VHOST_MAX_FDS];
    unsigned nfds;
    struct vn_vring_chain chain;
    pid_t peer_pid;
    const char *last_broken;      /* the latest break's reason */
    char last_error[200];         /* the latest protocol error */
    uint64_t connects, disconnects, refused, protocol_errors, tx_malformed, breaks;
    uint64_t tx_gso; /* frames from the guest that carried TSO (a segment of up to 64 KiB) */
    uint64_t refused_requests;    /* dev.refused when last logged */
    uint64_t resyncs;             /* dev.resyncs when last logged */
};

static void tx_process(struct vu_port *u);

static bool client_mode(const struct vu_port *u)
{
    return u->port->conf.vhost.mode == VN_VHOST_MODE_CLIENT;
}

static void drop_pending_fds(struct vu_port *u)
{
    for (unsigned i = 0; i < u->nfds; i++)
        close(u->fds[i]);
    u->nfds = 0;
    u->got = 0;
}

/* The front end is gone (or misbehaved): forget everything it set up. */
static void conn_close(struct vu_port *u, const char *why)
{
    if (u->cfd < 0)
        return;
    struct vn_vhost_dev *d = &u->dev;
    vn_defer_cancel(u->port->loop, &u->more_tx);
    vn_vhost_dev_reset(d); /* kick fds leave the loop through the hook */
    drop_pending_fds(u);
    vn_io_del(u->port->loop, &u->cio);
    close(u->cfd);
    u->cfd = -1;
    u->port->connected = false;
    u->port->caps = 0;
    u->disconnects++;
    vn_info("msg=\"vhost-user front end detached\" port=%s reason=\"%s\"", u->port->conf.name,
            why);
    if (client_mode(u)) {
        u->outage_logged = false;
        vn_timer_arm(u->port->loop, &u->retry, RETRY_MS);
    }
}

static void protocol_error(struct vu_port *u, const char *why)
{
    u->protocol_errors++;
    snprintf(u->last_error, sizeof u->last_error, "%s", why);
    VN_LOG_RL(VN_LOG_WARN, "msg=\"vhost-user protocol error, closing the connection\" port=%s "
                           "reason=\"%s\"", u->port->conf.name, why);
    conn_close(u, why);
}

/* Interrupt the guest for ring idx. */
static void call(struct vu_port *u, unsigned idx)
{
    int fd = u->dev.call_fd[idx];
    if (fd < 0)
        return;
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is full, the guest will look anyway */
}

/* The data path found ring idx hostile: stop both rings (see the top). */
static void ring_broken(struct vu_port *u, unsigned idx, const char *why)
{
    if (!why)
        why = "ring broken";
    if (!u->dev.broken) {
        u->breaks++;
        u->last_broken = why;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"vhost-user ring broken, rings stopped\" port=%s vring=%u "
                               "reason=\"%s\"", u->port->conf.name, idx, why);
    }
    vn_vhost_dev_break(&u->dev, idx, why);
}

static void kick_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    vn_eventfd_drain(io->fd);
}

static void kick_tx_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vu_port *u = VN_CONTAINER_OF(io, struct vu_port, kick_io[VN_VHOST_TX]);
    vn_eventfd_drain(io->fd);
    tx_process(u);
}

/* proto.h hook: ring idx's kick fd comes or goes. */
static void kick_hook(void *ctx, unsigned idx, int fd)
{
    struct vu_port *u = ctx;
    struct vn_loop *loop = u->port->loop;
    if (u->kick_on[idx]) {
        vn_io_del(loop, &u->kick_io[idx]);
        u->kick_on[idx] = false;
    }
    if (fd < 0)
        return;
    if (vn_io_add(loop, &u->kick_io[idx], fd, EPOLLIN,
                  idx == VN_VHOST_TX ? kick_tx_event : kick_event) < 0) {
        vn_warn("msg=\"cannot watch a vhost-user kick fd\" port=%s vring=%u error=\"%s\"",
                u->port->conf.name, idx, strerror(errno));
        return;
    }
    u->kick_on[idx] = true;
    if (idx == VN_VHOST_TX) /* chains may be waiting from before a restart */
        vn_defer(loop, &u->more_tx);
}

static void more_tx(struct vn_defer *df)
{
    tx_process(VN_CONTAINER_OF(df, struct vu_port, more_tx));
}

/* Guest -> switch: see the top. */
static void tx_process(struct vu_port *u)
{
    struct vn_port *p = u->port;
    struct vn_vhost_dev *d = &u->dev;
    struct vn_vring *vq = &d->vq[VN_VHOST_TX];
    size_t hdr_len = vn_vnet_hdr_len(d->features);
    for (int round = 0; round < TX_ROUNDS; round++) {
        if (u->cfd < 0 || !vq->started || vq->broken || vn_port_rx_paused(p))
            return;
        unsigned k = 0, popped = 0;
        while (k < VN_BATCH) {
            int r = vn_vring_pop(vq, &d->mem, false, &u->chain);
            if (r == 0)
                break;
            if (r < 0) {
                if (popped)
                    vn_vring_publish(vq);
                ring_broken(u, VN_VHOST_TX, vq->broken);
                goto input;
            }
            popped++;
            if (!vq->enabled) { /* started but disabled: consume, discard */
                vn_vring_push(vq, u->chain.head, 0);
                continue;
            }
            struct vn_offload off;
            uint8_t *buf = p->rxbuf[k] + VN_HEADROOM;
            int len = vn_vnet_tx_frame(&u->chain, hdr_len, buf, VN_RXBUF_SIZE, &off);
            vn_vring_push(vq, u->chain.head, 0); /* the frame is copied out */
            if (len < 0) {
                u->tx_malformed++;
                vn_port_drop_rx(p, VN_DROP_MALFORMED);
                continue;
            }
            u->tx_gso += off.gso_type != VIRTIO_NET_HDR_GSO_NONE;
            p->rxframes[k] = (struct vn_frame){ .data = buf, .len = (uint32_t)len, .off = off };
            k++;
        }
        if (popped) {
            vn_vring_publish(vq);
            if (vn_vring_should_call(vq))
                call(u, VN_VHOST_TX);
        }
    input:
        if (k)
            vn_port_input(p, p->rxframes, k);
        if (u->cfd < 0 || !vq->started || !vn_vring_has_avail(vq))
            return;
    }
    vn_defer(p->loop, &u->more_tx); /* more than TX_ROUNDS batches waiting */
}

static void vu_rx_resume(struct vn_port *p)
{
    tx_process(p->priv);
}

/* Switch -> guest: see the top. */
static void vu_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct vu_port *u = p->priv;
    struct vn_vhost_dev *d = &u->dev;
    struct vn_vring *vq = &d->vq[VN_VHOST_RX];
    unsigned i = 0, delivered = 0;
    if (u->cfd >= 0 && vn_vhost_ring_live(d, VN_VHOST_RX)) {
        size_t hdr_len = vn_vnet_hdr_len(d->features);
        bool mrg = vn_vhost_has(d, VN_VIRTIO_NET_F_MRG_RXBUF);
        for (; i < n; i++) {
            uint8_t tag[4];
            struct iovec iov[3];
            size_t len;
            int c = vn_port_frame_iov(p, fr[i], tag, iov, &len);
            struct vn_offload off = vn_port_frame_offload(&fr[i]->off, c);
            int r = vn_vnet_rx_frame(vq, &d->mem, hdr_len, mrg, iov, (unsigned)c, &off);
            if (r > 0) {
                vn_port_tx_ok(p, len);
                delivered++;
            } else if (r == 0) {
                vn_port_drop_tx(p, VN_DROP_TX_FULL);
            } else {
                vn_port_drop_tx(p, VN_DROP_TX_ERROR);
                i++;
                break;
            }
        }
        if (delivered) {
            vn_vring_publish(vq);
            if (vn_vring_should_call(vq))
                call(u, VN_VHOST_RX);
        }
        if (vq->broken)
            ring_broken(u, VN_VHOST_RX, vq->broken);
    }
    for (; i < n; i++)
        vn_port_drop_tx(p, VN_DROP_NO_PEER);
}

/* What the negotiation means for the switch: offloads the guest accepts. */
static void sync_caps(struct vu_port *u)
{
    const struct vn_vhost_dev *d = &u->dev;
    unsigned caps = 0;
    if (vn_vhost_has(d, VN_VIRTIO_NET_F_GUEST_CSUM)) {
        caps |= VN_CAP_CSUM;
        if (vn_vhost_has(d, VN_VIRTIO_NET_F_GUEST_TSO4) &&
            vn_vhost_has(d, VN_VIRTIO_NET_F_GUEST_TSO6))
            caps |= VN_CAP_GSO;
    }
    u->port->caps = caps;
}

/* One whole message is in: hand it to the device, send its reply. */
static void handle_message(struct vu_port *u)
{
    uint8_t reply[VN_VHOST_REPLY_MAX];
    size_t rlen;
    char err[200];
    unsigned nfds = u->nfds;
    u->nfds = 0; /* the device owns them now */
    u->got = 0;
    const char *name = vn_vhost_req_name(u->hdr.request);
    vn_debug("msg=\"vhost-user request\" port=%s request=%s(%u) flags=0x%x size=%u fds=%u",
             u->port->conf.name, name ? name : "?", u->hdr.request, u->hdr.flags, u->hdr.size,
             nfds);
    int rc = vn_vhost_handle(&u->dev, &u->hdr, u->payload, u->fds, nfds, reply, &rlen, err,
                             sizeof err);
    if (rlen) {
        ssize_t w = send(u->cfd, reply, rlen, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w != (ssize_t)rlen && rc == 0) {
            conn_close(u, w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
                              ? "front end does not read its replies (socket full)"
                          : w < 0 ? strerror(errno)
                                  : "reply not sent whole");
            return;
        }
    }
    if (rc < 0) {
        protocol_error(u, err);
        return;
    }
    if (u->dev.refused != u->refused_requests) {
        u->refused_requests = u->dev.refused;
        u->refused++;
        VN_LOG_RL(VN_LOG_INFO, "msg=\"vhost-user request refused\" port=%s reason=\"%s\"",
                  u->port->conf.name, err);
    }
    if (u->dev.resyncs != u->resyncs) {
        u->resyncs = u->dev.resyncs;
        vn_info("msg=\"vhost-user ring base differs from its used ring, starting at the used "
                "index\" port=%s", u->port->conf.name);
    }
    sync_caps(u);
}

/* recvmsg into buf, collecting SCM_RIGHTS descriptors into the pending
 * message. Returns bytes read, 0 at EOF, -1 with errno, or -2 when the
 * control data was truncated or carried too many descriptors. */
static ssize_t recv_part(struct vu_port *u, void *buf, size_t len)
{
    union {
        char b[CMSG_SPACE(sizeof(int) * VN_VHOST_MAX_FDS)];
        struct cmsghdr align;
    } cbuf;
    struct iovec iov = { buf, len };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf.b,
                         .msg_controllen = sizeof cbuf.b };
    ssize_t n = recvmsg(u->cfd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0)
        return -1;
    bool over = false;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
            if (u->nfds < VN_VHOST_MAX_FDS)
                u->fds[u->nfds++] = fd;
            else {
                close(fd);
                over = true;
            }
        }
    }
    if (over || (mh.msg_flags & MSG_CTRUNC))
        return -2;
    return n;
}

static void conn_read(struct vu_port *u)
{
    for (int m = 0; m < MSGS_PER_WAKE && u->cfd >= 0; m++) {
        bool in_hdr = u->got < VN_VHOST_HDR_SIZE;
        uint8_t *dst = in_hdr ? u->hbuf + u->got : u->payload + (u->got - VN_VHOST_HDR_SIZE);
        size_t want = in_hdr ? VN_VHOST_HDR_SIZE - u->got : VN_VHOST_HDR_SIZE + u->hdr.size - u->got;
        ssize_t n = recv_part(u, dst, want);
        if (n == 0) {
            conn_close(u, u->got ? "front end closed mid-message" : "front end closed the connection");
            return;
        }
        if (n == -2) {
            protocol_error(u, "truncated control message (too many descriptors)");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(u, strerror(errno));
            return;
        }
        u->got += (size_t)n;
        if (in_hdr && u->got == VN_VHOST_HDR_SIZE) {
            memcpy(&u->hdr, u->hbuf, VN_VHOST_HDR_SIZE);
            if (u->hdr.size > VN_VHOST_MAX_PAYLOAD) {
                char why[96];
                snprintf(why, sizeof why, "request %u: payload of %u bytes (at most %u)",
                         u->hdr.request, u->hdr.size, VN_VHOST_MAX_PAYLOAD);
                protocol_error(u, why);
                return;
            }
        }
        if (u->got == VN_VHOST_HDR_SIZE + (size_t)u->hdr.size && u->got >= VN_VHOST_HDR_SIZE)
            handle_message(u);
    }
}

static void conn_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    conn_read(VN_CONTAINER_OF(io, struct vu_port, cio));
}

/* A front end is connected on fd (accepted or connected). */
static int attach(struct vu_port *u, int fd)
{
    if (vn_io_add(u->port->loop, &u->cio, fd, EPOLLIN, conn_event) < 0) {
        close(fd);
        return -1;
    }
    struct ucred cred = { 0 };
    socklen_t cl = sizeof cred;
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
    u->cfd = fd;
    u->peer_pid = cred.pid;
    u->got = 0;
    u->connects++;
    u->port->connected = true;
    vn_info("msg=\"vhost-user front end attached\" port=%s pid=%d mode=%s", u->port->conf.name,
            (int)cred.pid, client_mode(u) ? "client" : "server");
    return 0;
}

static void listen_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vu_port *u = VN_CONTAINER_OF(io, struct vu_port, lio);
    int fd = vn_listen_guard_accept(&u->guard, NULL, NULL);
    if (fd < 0)
        return;
    if (u->cfd >= 0) {
        struct ucred cred = { 0 };
        socklen_t cl = sizeof cred;
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
        u->refused++;
        VN_LOG_RL(VN_LOG_WARN,
                  "msg=\"refused a second vhost-user front end: port already attached\" "
                  "port=%s pid=%d", u->port->conf.name, (int)cred.pid);
        close(fd);
        return;
    }
    attach(u, fd);
}

/* Client mode: connect to path now, or try again in a second. */
static void try_connect(struct vu_port *u)
{
    const char *path = u->port->conf.path;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    vn_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        if (attach(u, fd) == 0) {
            u->outage_logged = false;
            return;
        }
        fd = -1;
    }
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (!u->outage_logged) {
        vn_warn("msg=\"vhost-user front end not listening, retrying every second\" port=%s "
                "path=\"%s\" error=\"%s\"", u->port->conf.name, path, strerror(e));
        u->outage_logged = true;
    }
    vn_timer_arm(u->port->loop, &u->retry, RETRY_MS);
}

static void retry_timer(struct vn_timer *t)
{
    struct vu_port *u = VN_CONTAINER_OF(t, struct vu_port, retry);
    if (u->cfd < 0)
        try_connect(u);
}

static int vu_open(struct vn_port *p, char *err, size_t errlen)
{
    struct vu_port *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    u->port = p;
    u->lfd = u->cfd = -1;
    struct vn_vhost_hooks hooks = { .ctx = u, .kick = kick_hook };
    vn_vhost_dev_init(&u->dev, &hooks);
    vn_timer_init(&u->retry, retry_timer);
    u->more_tx.cb = more_tx;
    p->priv = u;
    if (client_mode(u)) {
        if (p->conf.sock_fd >= 0) {
            snprintf(err, errlen, "a passed socket is for mode server (vnetd listens)");
            free(u);
            p->priv = NULL;
            return -1;
        }
        try_connect(u);
        return 0;
    }
    u->lfd = p->conf.sock_fd >= 0 ? p->conf.sock_fd
                                  : vn_unix_bind(p->conf.path, SOCK_STREAM, err, errlen);
    if (u->lfd < 0 || listen(u->lfd, 4) < 0 ||
        vn_io_add(p->loop, &u->lio, u->lfd, EPOLLIN, listen_event) < 0) {
        if (u->lfd >= 0 && p->conf.sock_fd < 0) {
            snprintf(err, errlen, "cannot listen on '%s': %s", p->conf.path, strerror(errno));
            close(u->lfd);
            unlink(p->conf.path);
        } else if (u->lfd >= 0) {
            snprintf(err, errlen, "cannot listen on the passed socket: %s", strerror(errno));
        }
        free(u);
        p->priv = NULL;
        return -1;
    }
    vn_listen_guard_init(&u->guard, p->loop, &u->lio, p->conf.name);
    return 0;
}

static void vu_close(struct vn_port *p)
{
    struct vu_port *u = p->priv;
    bool client = client_mode(u);
    conn_close(u, "port closed");
    vn_timer_cancel(p->loop, &u->retry);
    vn_defer_cancel(p->loop, &u->more_tx);
    vn_vhost_dev_reset(&u->dev);
    if (!client) {
        vn_listen_guard_cancel(&u->guard);
        vn_io_del(p->loop, &u->lio);
        close(u->lfd);
        if (!p->conf.keep_path)
            unlink(p->conf.path);
    }
    free(u);
}

/* The names of the bits set in f (unknown ones as "bitN"). */
static json_t *names_json(uint64_t f, const char *(*name)(unsigned))
{
    json_t *a = json_array();
    for (unsigned b = 0; b < 64; b++) {
        if (!((f >> b) & 1))
            continue;
        char tmp[16];
        const char *n = name(b);
        if (!n) {
            snprintf(tmp, sizeof tmp, "bit%u", b);
            n = tmp;
        }
        json_array_append_new(a, json_string(n));
    }
    return a;
}

static void vu_describe(struct vn_port *p, json_t *o)
{
    struct vu_port *u = p->priv;
    const struct vn_vhost_dev *d = &u->dev;
    json_object_set_new(o, "path", json_string(p->conf.path));
    json_object_set_new(o, "mode", json_string(client_mode(u) ? "client" : "server"));
    if (u->cfd >= 0) {
        json_object_set_new(o, "peer_pid", json_integer(u->peer_pid));
        json_object_set_new(o, "features", names_json(d->features, vn_vhost_feature_name));
        json_object_set_new(o, "protocol_features",
                            names_json(d->protocol_features, vn_vhost_protocol_feature_name));
        json_object_set_new(o, "rx_queue_size", json_integer(d->vq[VN_VHOST_RX].num));
        json_object_set_new(o, "tx_queue_size", json_integer(d->vq[VN_VHOST_TX].num));
        json_object_set_new(o, "rings",
                            json_string(d->broken ? "broken"
                                        : vn_vhost_ring_live(d, VN_VHOST_RX) &&
                                                vn_vhost_ring_live(d, VN_VHOST_TX)
                                            ? "running"
                                            : "stopped"));
        json_object_set_new(o, "memory_regions", json_integer(d->mem.n));
    }
    if (d->broken)
        json_object_set_new(o, "broken", json_string(d->broken));
    if (u->last_broken)
        json_object_set_new(o, "last_broken", json_string(u->last_broken));
    if (u->last_error[0])
        json_object_set_new(o, "last_error", json_string(u->last_error));
    json_object_set_new(o, "connects", json_integer((json_int_t)u->connects));
    json_object_set_new(o, "disconnects", json_integer((json_int_t)u->disconnects));
    json_object_set_new(o, "refused", json_integer((json_int_t)u->refused));
    json_object_set_new(o, "protocol_errors", json_integer((json_int_t)u->protocol_errors));
    json_object_set_new(o, "breaks", json_integer((json_int_t)u->breaks));
    json_object_set_new(o, "tx_malformed", json_integer((json_int_t)u->tx_malformed));
    json_object_set_new(o, "tx_gso", json_integer((json_int_t)u->tx_gso));
}

static const struct vn_conf_enum mode_enum[] = { { "server", VN_VHOST_MODE_SERVER },
                                                 { "client", VN_VHOST_MODE_CLIENT } };

#define P(m) .off = offsetof(struct vn_port_conf, m), .size = sizeof(((struct vn_port_conf *)0)->m)

static const struct vn_conf_key vu_keys[] = {
    { .name = "path", .type = VN_CT_STR, P(path), .flags = VN_KF_QUOTE, .doc_type = "path",
      .help = "vhost-user: the unix socket (default RUNDIR/NAME.sock)" },
    { .name = "mode", .type = VN_CT_ENUM, .names = mode_enum, .nnames = VN_ARRAY_LEN(mode_enum),
      P(vhost.mode), .set_off = offsetof(struct vn_port_conf, vhost.mode_set), .def = "server",
      .help = "vhost-user: server (vnetd listens on path) or client (vnetd connects to it)" },
};

static const struct vn_conf_port_type vu_type = {
    .name = "vhost-user",
    .keys = vu_keys,
    .nkeys = VN_ARRAY_LEN(vu_keys),
    .foreign = "it takes path and mode and uses its network's mtu",
    .validate = vn_port_socket_validate,
    .access = VN_PORT_ACCESS_SOCKET,
    .sock_type = SOCK_STREAM,
};

const struct vn_port_ops vn_port_vhost_user_ops = {
    .type = "vhost-user",
    .conf = &vu_type,
    .open = vu_open,
    .send = vu_send,
    .close = vu_close,
    .describe = vu_describe,
    .rx_resume = vu_rx_resume,
};
