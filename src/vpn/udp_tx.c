/* A batch of outgoing UDP datagrams: see udp_tx.h. */
#include "udp_tx.h"

#include "core/syscalls.h"
#include "core/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

VN_SYSCALLS("sendmmsg", "sendmsg", "sendto");

enum { TRAIN_MAX = 64, TRAIN_BYTES = 65000 };

static void flush_deferred(struct vn_defer *d)
{
    vn_udp_tx_flush(VN_CONTAINER_OF(d, struct vn_udp_tx, flush));
}

int vn_udp_tx_init(struct vn_udp_tx *t, struct vn_loop *loop, int fd)
{
    memset(t, 0, sizeof *t);
    t->fd = fd;
    t->loop = loop;
    t->flush.cb = flush_deferred;
    t->buf = malloc(VN_UDP_TX_BATCH * sizeof *t->buf);
    return t->buf ? 0 : -1;
}

void vn_udp_tx_free(struct vn_udp_tx *t)
{
    free(t->buf);
    t->buf = NULL;
}

static bool same_dest(const struct vn_udp_tx *t, unsigned a, unsigned b)
{
    return t->port[a] == t->port[b] && vn_addr_eq(&t->to[a], &t->to[b]);
}

/* How many datagrams from i on form one train (1: a plain datagram). */
static unsigned train_len(const struct vn_udp_tx *t, unsigned i)
{
    if (t->no_gso)
        return 1;
    unsigned k = 1;
    size_t bytes = t->len[i];
    while (i + k < t->n && k < TRAIN_MAX && same_dest(t, i, i + k) &&
           t->len[i + k] <= t->len[i] && bytes + t->len[i + k] <= TRAIN_BYTES) {
        bytes += t->len[i + k];
        k++;
        if (t->len[i + k - 1] < t->len[i])
            break; /* a shorter datagram ends the train */
    }
    return k;
}

/* Send datagrams [i, i+k) as one message each; returns how many went. */
static unsigned send_plain(struct vn_udp_tx *t, unsigned i, unsigned k)
{
    struct mmsghdr mm[VN_UDP_TX_BATCH];
    struct iovec iov[VN_UDP_TX_BATCH];
    struct sockaddr_storage ss[VN_UDP_TX_BATCH];
    for (unsigned j = 0; j < k; j++) {
        iov[j] = (struct iovec){ t->buf[i + j], t->len[i + j] };
        socklen_t sl = vn_addr_sockaddr(&t->to[i + j], t->port[i + j], &ss[j]);
        mm[j].msg_hdr = (struct msghdr){ .msg_name = &ss[j], .msg_namelen = sl,
                                         .msg_iov = &iov[j], .msg_iovlen = 1 };
    }
    unsigned done = 0;
    while (done < k) {
        t->syscalls++;
        int r = sendmmsg(t->fd, mm + done, k - done, MSG_DONTWAIT);
        if (r <= 0) {
            done++; /* this one is lost (buffer full, no route): go on */
            t->dropped++;
            continue;
        }
        t->sent += (unsigned)r;
        done += (unsigned)r;
    }
    return done;
}

void vn_udp_tx_flush(struct vn_udp_tx *t)
{
    unsigned i = 0;
    while (i < t->n) {
        unsigned k = train_len(t, i);
        if (k == 1) {
            /* plain datagrams up to the next train */
            unsigned j = i + 1;
            while (j < t->n && train_len(t, j) == 1)
                j++;
            send_plain(t, i, j - i);
            i = j;
            continue;
        }
        struct iovec iov[TRAIN_MAX];
        for (unsigned j = 0; j < k; j++)
            iov[j] = (struct iovec){ t->buf[i + j], t->len[i + j] };
        struct sockaddr_storage ss;
        socklen_t sl = vn_addr_sockaddr(&t->to[i], t->port[i], &ss);
        union {
            char buf[CMSG_SPACE(sizeof(uint16_t))];
            struct cmsghdr align;
        } ctl;
        memset(&ctl, 0, sizeof ctl);
        struct msghdr mh = { .msg_name = &ss, .msg_namelen = sl, .msg_iov = iov,
                             .msg_iovlen = k, .msg_control = ctl.buf,
                             .msg_controllen = sizeof ctl.buf };
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = t->len[i];
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
        t->syscalls++;
        if (sendmsg(t->fd, &mh, MSG_DONTWAIT) >= 0) {
            t->sent += k;
            t->trains++;
        } else if (errno == EAGAIN || errno == ENOBUFS) {
            t->dropped += k;
        } else {
            /* no GSO here (EIO, EINVAL, EOPNOTSUPP): one by one from now on */
            t->no_gso = true;
            send_plain(t, i, k);
        }
        i += k;
    }
    t->n = 0;
}

void vn_udp_tx_add(struct vn_udp_tx *t, const struct vn_addr *ip, uint16_t port, const void *buf,
                   size_t len)
{
    if (len > VN_UDP_TX_SLOT) {
        /* too large for a slot: what is queued goes first, then this alone */
        vn_udp_tx_flush(t);
        struct sockaddr_storage ss;
        socklen_t sl = vn_addr_sockaddr(ip, port, &ss);
        t->syscalls++;
        if (sl && sendto(t->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) >= 0)
            t->sent++;
        else
            t->dropped++;
        return;
    }
    if (t->n == VN_UDP_TX_BATCH)
        vn_udp_tx_flush(t);
    unsigned i = t->n++;
    memcpy(t->buf[i], buf, len);
    t->len[i] = (uint16_t)len;
    t->to[i] = *ip;
    t->port[i] = port;
    vn_defer(t->loop, &t->flush);
}
