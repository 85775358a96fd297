/* Upstream UDP socket pool of the DNS forwarder: see dns_pool.h. */
#include "dns_pool.h"
#include "core/syscalls.h"
#include "core/log.h"
#include "core/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

VN_SYSCALLS("sendmmsg", "recvmmsg");

enum { RX_BUF = 65536 };

struct vn_dns_psock {
    struct vn_dns_pool *pool;
    int fd;                     /* -1: free slot */
    struct vn_io io;
    bool draining;              /* no new queries; closed when inflight reaches 0 */
    unsigned uses, inflight;
    /* queued sends */
    unsigned nq;
    uint16_t qlen[VN_DNS_POOL_BATCH];
    uint8_t q[VN_DNS_POOL_BATCH][VN_DNS_POOL_MSG];
    bool queued;                /* on the pool's flush list */
    struct vn_dns_psock *next_dirty;
};

struct vn_dns_pool {
    struct vn_loop *loop;
    struct sockaddr_storage sa;
    socklen_t salen;
    vn_dns_pool_rx_fn rx;
    vn_dns_pool_err_fn on_err;
    void *ctx;
    struct vn_dns_psock socks[VN_DNS_POOL_SLOTS];
    unsigned next;              /* round-robin position */
    struct vn_dns_psock *dirty; /* sockets with queued sends */
    struct vn_defer flush;
    uint8_t *rxbuf;             /* VN_DNS_POOL_BATCH buffers of RX_BUF bytes */
    struct vn_dns_pool_stats st;
};

static void sock_close(struct vn_dns_psock *s)
{
    if (s->fd < 0)
        return;
    vn_io_del(s->pool->loop, &s->io);
    close(s->fd);
    s->fd = -1;
    s->nq = 0;
}

/* Read a batch of answers and hand them over. */
static void sock_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_dns_psock *s = VN_CONTAINER_OF(io, struct vn_dns_psock, io);
    struct vn_dns_pool *p = s->pool;
    struct mmsghdr mm[VN_DNS_POOL_BATCH];
    struct iovec iov[VN_DNS_POOL_BATCH];
    for (int round = 0; round < 4 && s->fd >= 0; round++) {
        for (unsigned i = 0; i < VN_DNS_POOL_BATCH; i++) {
            iov[i] = (struct iovec){ p->rxbuf + (size_t)i * RX_BUF, RX_BUF };
            mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int n = recvmmsg(s->fd, mm, VN_DNS_POOL_BATCH, MSG_DONTWAIT, NULL);
        p->st.recv_calls++;
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                p->st.errors++; /* e.g. ECONNREFUSED: the queries time out and move on */
            return;
        }
        for (int i = 0; i < n && s->fd >= 0; i++) {
            if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
                p->st.truncated++;
                continue;
            }
            p->st.received++;
            p->rx(p->ctx, s, iov[i].iov_base, mm[i].msg_len);
        }
        if (n < VN_DNS_POOL_BATCH)
            return;
    }
}

/* Open a fresh socket in slot s. Returns 0 or -1 with errno. */
static int sock_open(struct vn_dns_pool *p, struct vn_dns_psock *s)
{
    int fd = socket(p->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&p->sa, p->salen) < 0 ||
        vn_io_add(p->loop, &s->io, fd, EPOLLIN, sock_event) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    s->fd = fd;
    s->draining = false;
    s->uses = s->inflight = 0;
    s->nq = 0;
    return 0;
}

/* Send what s has queued, in one sendmmsg() (a few if the kernel takes
 * part); a datagram that cannot be sent is reported as failed. */
static void sock_flush(struct vn_dns_psock *s)
{
    struct vn_dns_pool *p = s->pool;
    struct mmsghdr mm[VN_DNS_POOL_BATCH];
    struct iovec iov[VN_DNS_POOL_BATCH];
    unsigned done = 0;
    while (done < s->nq && s->fd >= 0) {
        unsigned k = s->nq - done;
        for (unsigned i = 0; i < k; i++) {
            iov[i] = (struct iovec){ s->q[done + i], s->qlen[done + i] };
            mm[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
        }
        int n = sendmmsg(s->fd, mm, k, MSG_DONTWAIT | MSG_NOSIGNAL);
        p->st.send_calls++;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            if (e == EINTR)
                continue;
            /* The first one failed: report it, try the rest. */
            p->st.errors++;
            uint16_t id = (uint16_t)(s->q[done][0] << 8 | s->q[done][1]);
            done++;
            p->on_err(p->ctx, s, id, e);
            continue;
        }
        p->st.sent += (unsigned)n;
        done += (unsigned)n;
    }
    s->nq = 0;
}

static void flush_all(struct vn_defer *d)
{
    struct vn_dns_pool *p = VN_CONTAINER_OF(d, struct vn_dns_pool, flush);
    while (p->dirty) {
        struct vn_dns_psock *s = p->dirty;
        p->dirty = s->next_dirty;
        s->queued = false;
        sock_flush(s);
        if (s->draining && !s->inflight)
            sock_close(s);
    }
}

struct vn_dns_pool *vn_dns_pool_new(struct vn_loop *loop, const struct sockaddr *sa,
                                    socklen_t salen, vn_dns_pool_rx_fn rx,
                                    vn_dns_pool_err_fn on_err, void *ctx)
{
    struct vn_dns_pool *p = calloc(1, sizeof *p);
    if (!p || salen > sizeof p->sa || !(p->rxbuf = malloc((size_t)VN_DNS_POOL_BATCH * RX_BUF))) {
        free(p);
        return NULL;
    }
    p->loop = loop;
    memcpy(&p->sa, sa, salen);
    p->salen = salen;
    p->rx = rx;
    p->on_err = on_err;
    p->ctx = ctx;
    p->flush.cb = flush_all;
    for (int i = 0; i < VN_DNS_POOL_SLOTS; i++) {
        p->socks[i].pool = p;
        p->socks[i].fd = -1;
    }
    return p;
}

void vn_dns_pool_free(struct vn_dns_pool *p)
{
    if (!p)
        return;
    for (int i = 0; i < VN_DNS_POOL_SLOTS; i++)
        sock_close(&p->socks[i]);
    free(p->rxbuf);
    free(p);
}

struct vn_dns_psock *vn_dns_pool_pick(struct vn_dns_pool *p)
{
    /* Round-robin over the active sockets; open more up to ACTIVE. */
    unsigned active = 0;
    for (int i = 0; i < VN_DNS_POOL_SLOTS; i++)
        active += p->socks[i].fd >= 0 && !p->socks[i].draining;
    if (active < VN_DNS_POOL_ACTIVE)
        for (int i = 0; i < VN_DNS_POOL_SLOTS; i++) {
            struct vn_dns_psock *s = &p->socks[i];
            if (s->fd < 0) {
                if (sock_open(p, s) < 0 && !active)
                    return NULL;
                break;
            }
        }
    for (int k = 0; k < VN_DNS_POOL_SLOTS; k++) {
        struct vn_dns_psock *s = &p->socks[p->next++ % VN_DNS_POOL_SLOTS];
        if (s->fd < 0 || s->draining)
            continue;
        s->uses++;
        s->inflight++;
        if (s->uses >= VN_DNS_POOL_ROTATE) {
            s->draining = true; /* a fresh socket (new port) takes over next time */
            p->st.rotated++;
        }
        return s;
    }
    errno = EMFILE;
    return NULL;
}

int vn_dns_pool_send(struct vn_dns_psock *s, const uint8_t *m, size_t len)
{
    struct vn_dns_pool *p = s->pool;
    if (len > VN_DNS_POOL_MSG || s->fd < 0)
        return -1;
    if (s->nq == VN_DNS_POOL_BATCH)
        sock_flush(s);
    memcpy(s->q[s->nq], m, len);
    s->qlen[s->nq++] = (uint16_t)len;
    if (!s->queued) {
        s->queued = true;
        s->next_dirty = p->dirty;
        p->dirty = s;
        vn_defer(p->loop, &p->flush);
    }
    return 0;
}

void vn_dns_pool_done(struct vn_dns_psock *s)
{
    if (s->inflight)
        s->inflight--;
    if (s->draining && !s->inflight && !s->queued)
        sock_close(s);
}

unsigned vn_dns_pool_open(const struct vn_dns_pool *p)
{
    unsigned n = 0;
    for (int i = 0; i < VN_DNS_POOL_SLOTS; i++)
        n += p->socks[i].fd >= 0;
    return n;
}

void vn_dns_pool_get_stats(const struct vn_dns_pool *p, struct vn_dns_pool_stats *st)
{
    *st = p->st;
}
