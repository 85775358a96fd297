/* stream port: QEMU "-netdev stream" over a unix socket (vnetd listens).
 *
 * Theory of operation: the listener stays registered for the port's whole
 * life. One peer (a VM) is attached at a time; a second connection while one
 * is attached is refused and logged. Reads go into a receive buffer that
 * holds many frames; complete frames are handed to the switch in place (no
 * copy) and a trailing partial frame is moved to the front for the next read.
 * A length field that is out of range closes the connection (the byte stream
 * cannot be resynchronised) and the port waits for the next peer. Writes
 * gather a whole egress batch into one sendmsg(); what the socket does not
 * take is kept in a bounded backlog flushed on EPOLLOUT, and frames that do
 * not fit in the backlog are dropped and counted as tx_full. */
#include "core/accept.h"
#include "core/log.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "port.h"
#include "stream_framing.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    RBUF_SIZE = 256 * 1024,      /* > one maximum frame + length */
    WBUF_SIZE = 2 * 1024 * 1024, /* backlog when the peer reads slowly */
    READS_PER_WAKE = 4,
};

struct stream_port {
    struct vn_port *port;
    int lfd, cfd;
    struct vn_io lio, cio;
    struct vn_listen_guard guard; /* lio backs off when descriptors run out */
    uint8_t *rbuf, *wbuf;
    size_t rlen, wlen, woff;
    struct vn_frame frames[VN_BATCH];
    pid_t peer_pid;
    uint64_t connects, refused, framing_errors;
};

static void conn_close(struct stream_port *s, const char *why)
{
    if (s->cfd < 0)
        return;
    vn_io_del(s->port->loop, &s->cio);
    close(s->cfd);
    s->cfd = -1;
    s->port->rx_io = NULL;
    s->rlen = s->wlen = s->woff = 0;
    s->port->connected = false;
    vn_info("msg=\"peer detached\" port=%s reason=\"%s\"", s->port->conf.name, why);
}

/* Flush the backlog; returns 0 when it is empty, 1 if data remains, -1 on error. */
static int flush_backlog(struct stream_port *s)
{
    while (s->woff < s->wlen) {
        ssize_t w = send(s->cfd, s->wbuf + s->woff, s->wlen - s->woff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return 1;
            return -1;
        }
        s->woff += (size_t)w;
    }
    s->wlen = s->woff = 0;
    return 0;
}

/* Switch the complete frames waiting in rbuf (until a rate limit pauses the
 * port); keep a trailing partial frame. Returns -1 if the connection closed. */
static int drain_buffer(struct stream_port *s)
{
    struct vn_port *p = s->port;
    size_t off = 0;
    int rc = 0;
    while (!vn_port_rx_paused(p)) {
        size_t used;
        const char *why;
        int k = vn_stream_extract(s->rbuf + off, s->rlen - off, s->frames, VN_BATCH, &used, &why);
        if (k < 0) {
            /* Deliver nothing more from this peer: it is out of sync. */
            s->framing_errors++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            VN_LOG_RL(VN_LOG_WARN,
                      "msg=\"bad stream framing, closing connection\" port=%s reason=\"%s\"",
                      p->conf.name, why);
            conn_close(s, why);
            return -1;
        }
        if (k == 0)
            break;
        vn_port_input(p, s->frames, (unsigned)k);
        off += used;
        if (s->cfd < 0) {
            rc = -1;
            break;
        }
    }
    if (off && s->cfd >= 0) {
        memmove(s->rbuf, s->rbuf + off, s->rlen - off);
        s->rlen -= off;
    }
    return rc;
}

static void conn_read(struct stream_port *s)
{
    for (int r = 0; r < READS_PER_WAKE && s->cfd >= 0; r++) {
        if (drain_buffer(s) < 0 || vn_port_rx_paused(s->port))
            return;
        ssize_t n = read(s->cfd, s->rbuf + s->rlen, RBUF_SIZE - s->rlen);
        if (n == 0) {
            conn_close(s, s->rlen ? "peer closed mid-frame" : "peer closed the connection");
            return;
        }
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                conn_close(s, strerror(errno));
            return;
        }
        s->rlen += (size_t)n;
        if ((size_t)n < RBUF_SIZE / 2) { /* drained the socket */
            drain_buffer(s);
            return;
        }
    }
}

/* Reads resume after a rate-limit pause: frames may already wait in rbuf. */
static void stream_rx_resume(struct vn_port *p)
{
    struct stream_port *s = p->priv;
    if (s->cfd >= 0)
        conn_read(s);
}

static void conn_event(struct vn_io *io, uint32_t ev)
{
    struct stream_port *s = VN_CONTAINER_OF(io, struct stream_port, cio);
    if (ev & EPOLLOUT) {
        int r = flush_backlog(s);
        if (r < 0) {
            conn_close(s, strerror(errno));
            return;
        }
        if (r == 0)
            vn_io_mod(s->port->loop, &s->cio, EPOLLIN);
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
        conn_read(s);
}

static void listen_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct stream_port *s = VN_CONTAINER_OF(io, struct stream_port, lio);
    int fd = vn_listen_guard_accept(&s->guard, NULL, NULL);
    if (fd < 0)
        return;
    struct ucred cred = { 0 };
    socklen_t cl = sizeof cred;
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
    if (s->cfd >= 0) {
        s->refused++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"refused a second peer: port already attached\" port=%s pid=%d",
                  s->port->conf.name, (int)cred.pid);
        close(fd);
        return;
    }
    int sz = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    if (vn_io_add(s->port->loop, &s->cio, fd, EPOLLIN, conn_event) < 0) {
        close(fd);
        return;
    }
    s->cfd = fd;
    s->port->rx_io = &s->cio;
    s->peer_pid = cred.pid;
    s->connects++;
    s->port->connected = true;
    vn_info("msg=\"peer attached\" port=%s pid=%d", s->port->conf.name, (int)cred.pid);
}

/* Append whole frames [i..n) to the backlog while they fit; count the rest. */
static void backlog_frames(struct stream_port *s, struct vn_frame **fr, unsigned i, unsigned n)
{
    struct vn_port *p = s->port;
    for (; i < n; i++) {
        uint8_t tag[4], hdr[4];
        struct iovec iov[3];
        size_t len;
        int c = vn_port_frame_iov(p, fr[i], tag, iov, &len);
        if (s->wlen + 4 + len > WBUF_SIZE) {
            vn_port_drop_tx(p, VN_DROP_TX_FULL);
            continue;
        }
        vn_put_be32(hdr, (uint32_t)len);
        memcpy(s->wbuf + s->wlen, hdr, 4);
        s->wlen += 4;
        for (int k = 0; k < c; k++) {
            memcpy(s->wbuf + s->wlen, iov[k].iov_base, iov[k].iov_len);
            s->wlen += iov[k].iov_len;
        }
        vn_port_tx_ok(p, len);
    }
}

static void stream_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct stream_port *s = p->priv;
    if (s->cfd < 0) {
        for (unsigned i = 0; i < n; i++)
            vn_port_drop_tx(p, VN_DROP_NO_PEER);
        return;
    }
    if (s->wlen) { /* keep order: behind what is already waiting */
        backlog_frames(s, fr, 0, n);
        return;
    }
    struct iovec iov[VN_BATCH * 4];
    uint8_t hdr[VN_BATCH][4], tag[VN_BATCH][4];
    size_t flen[VN_BATCH];
    int niov = 0;
    size_t total = 0;
    for (unsigned i = 0; i < n; i++) {
        iov[niov].iov_base = hdr[i];
        iov[niov].iov_len = 4;
        int c = vn_port_frame_iov(p, fr[i], tag[i], &iov[niov + 1], &flen[i]);
        vn_put_be32(hdr[i], (uint32_t)flen[i]);
        niov += 1 + c;
        total += 4 + flen[i];
    }
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)niov };
    ssize_t w = sendmsg(s->cfd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
        if (errno != EAGAIN && errno != EINTR) {
            for (unsigned i = 0; i < n; i++)
                vn_port_drop_tx(p, VN_DROP_TX_ERROR);
            conn_close(s, strerror(errno));
            return;
        }
        w = 0;
    }
    if ((size_t)w == total) {
        for (unsigned i = 0; i < n; i++)
            vn_port_tx_ok(p, flen[i]);
        return;
    }
    /* Partial write: complete frames are done, the cut frame's tail goes to
     * the backlog first (it must, or the framing breaks), then the rest. */
    size_t done = (size_t)w;
    unsigned i = 0;
    while (i < n && done >= 4 + flen[i]) {
        done -= 4 + flen[i];
        vn_port_tx_ok(p, flen[i]);
        i++;
    }
    if (done) {
        /* Copy the unsent bytes of frame i (header + frame iovecs). */
        uint8_t tagc[4];
        struct iovec fi[4];
        size_t len;
        fi[0] = (struct iovec){ hdr[i], 4 };
        int c = 1 + vn_port_frame_iov(p, fr[i], tagc, &fi[1], &len);
        for (int k = 0; k < c; k++) {
            size_t l = fi[k].iov_len;
            if (done >= l) {
                done -= l;
                continue;
            }
            memcpy(s->wbuf + s->wlen, (uint8_t *)fi[k].iov_base + done, l - done);
            s->wlen += l - done;
            done = 0;
        }
        vn_port_tx_ok(p, flen[i]);
        i++;
    }
    backlog_frames(s, fr, i, n);
    vn_io_mod(p->loop, &s->cio, EPOLLIN | EPOLLOUT);
}

static int stream_open(struct vn_port *p, char *err, size_t errlen)
{
    struct stream_port *s = calloc(1, sizeof *s);
    if (!s || !(s->rbuf = malloc(RBUF_SIZE)) || !(s->wbuf = malloc(WBUF_SIZE))) {
        if (s)
            free(s->rbuf);
        free(s);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->port = p;
    s->cfd = -1;
    s->lfd = p->conf.sock_fd >= 0 ? p->conf.sock_fd
                                  : vn_unix_bind(p->conf.path, SOCK_STREAM, err, errlen);
    if (s->lfd < 0 || listen(s->lfd, 4) < 0 ||
        vn_io_add(p->loop, &s->lio, s->lfd, EPOLLIN, listen_event) < 0) {
        if (s->lfd >= 0 && p->conf.sock_fd < 0) { /* a passed socket stays the caller's */
            snprintf(err, errlen, "cannot listen on '%s': %s", p->conf.path, strerror(errno));
            close(s->lfd);
            unlink(p->conf.path);
        } else if (s->lfd >= 0) {
            snprintf(err, errlen, "cannot listen on the passed socket: %s", strerror(errno));
        }
        free(s->rbuf);
        free(s->wbuf);
        free(s);
        return -1;
    }
    vn_listen_guard_init(&s->guard, p->loop, &s->lio, p->conf.name);
    p->priv = s;
    return 0;
}

static void stream_close(struct vn_port *p)
{
    struct stream_port *s = p->priv;
    conn_close(s, "port closed");
    vn_listen_guard_cancel(&s->guard);
    vn_io_del(p->loop, &s->lio);
    close(s->lfd);
    if (!p->conf.keep_path)
        unlink(p->conf.path);
    free(s->rbuf);
    free(s->wbuf);
    free(s);
}

static void stream_describe(struct vn_port *p, json_t *o)
{
    struct stream_port *s = p->priv;
    json_object_set_new(o, "path", json_string(p->conf.path));
    if (s->cfd >= 0)
        json_object_set_new(o, "peer_pid", json_integer(s->peer_pid));
    json_object_set_new(o, "connects", json_integer((json_int_t)s->connects));
    json_object_set_new(o, "refused", json_integer((json_int_t)s->refused));
    json_object_set_new(o, "framing_errors", json_integer((json_int_t)s->framing_errors));
    json_object_set_new(o, "backlog_bytes", json_integer((json_int_t)(s->wlen - s->woff)));
}

static const struct vn_conf_port_type stream_type = {
    .name = "stream",
    .keys = &vn_port_path_key,
    .nkeys = 1,
    .foreign = VN_PORT_SOCKET_FOREIGN,
    .validate = vn_port_socket_validate,
    .access = VN_PORT_ACCESS_SOCKET,
    .sock_type = SOCK_STREAM,
};

const struct vn_port_ops vn_port_stream_ops = {
    .type = "stream",
    .conf = &stream_type,
    .open = stream_open,
    .send = stream_send,
    .close = stream_close,
    .describe = stream_describe,
    .rx_resume = stream_rx_resume,
};
