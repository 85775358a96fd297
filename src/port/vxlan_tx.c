/* Encapsulation: the vxlan port's send() (see vxlan_port.h and the theory
 * of operation in vxlan.c). Each frame goes to the VTEP behind its
 * destination when the remote table knows it, else (broadcast, multicast,
 * unknown unicast) once to every VTEP of its network's flood list. The
 * datagrams of one call are queued per source socket (the frame's flow
 * hash picks it) and written with one sendmmsg() per socket and batch. A
 * TCP GSO frame is cut into its segments without copying the payload
 * (vxlan_tso.h) and sent to each VTEP as UDP_SEGMENT trains of up to 64
 * datagrams, one sendmsg() each, after what its socket had queued (a flow
 * keeps its order); when the kernel refuses a train, its datagrams go one
 * by one, which gives each its own verdict. The kernel cannot segment UDP
 * without a checksum, so an IPv4 socket turns its zero checksums off while
 * it sends trains and on again before plain datagrams. A frame counts as
 * sent when at least one of its datagrams was accepted, else as one drop
 * (the reason of its last failure); per-VTEP counters count datagrams. */
#include "vxlan_port.h"
#include "vxlan_tso.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/gso.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>

VN_SYSCALLS("sendmmsg");

enum { TRAIN_MAX = 64, TRAIN_BYTES = 65000 };

/* The datagrams queued for one source socket. */
struct txsock_q {
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH][2];
    uint16_t frame[VN_BATCH]; /* index of the frame in the chunk */
    uint16_t vtep[VN_BATCH];
    unsigned n;
};

struct vn_vxlan_txq {
    struct txsock_q q[VN_VXLAN_TX_SOCKETS];
    uint8_t hdr[VN_BATCH][VN_VXLAN_HLEN];
    bool ok[VN_BATCH];
    uint8_t why[VN_BATCH];
    /* the GSO frame being sent: its segments, their iovecs, one-by-one messages */
    struct vn_vxlan_tso tso;
    struct iovec tiov[VN_VXLAN_TSO_MAX][3];
    struct mmsghdr tmm[VN_VXLAN_TSO_MAX];
    /* its trains: first segment, length, message and UDP_SEGMENT control */
    uint16_t gk[VN_VXLAN_TSO_MAX], gcnt[VN_VXLAN_TSO_MAX];
    struct mmsghdr gmm[VN_VXLAN_TSO_MAX];
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } gctl[VN_VXLAN_TSO_MAX];
};

int vn_vxlan_txq_init(struct vn_vxlan *x)
{
    x->txq = calloc(1, sizeof *x->txq);
    return x->txq ? 0 : -1;
}

void vn_vxlan_txq_free(struct vn_vxlan *x)
{
    free(x->txq);
    x->txq = NULL;
}

/* The drop reason of a failed send. */
static enum vn_drop send_error(struct vn_vxlan *x, int e)
{
    if (e == EAGAIN || e == ENOBUFS)
        return VN_DROP_TX_FULL;
    if (e == EMSGSIZE) {
        x->st.too_big++; /* DF: never fragmented */
        return VN_DROP_MTU;
    }
    if (e == ENETUNREACH || e == EHOSTUNREACH || e == ENETDOWN || e == EADDRNOTAVAIL ||
        e == ECONNREFUSED)
        return VN_DROP_NO_PEER;
    return VN_DROP_TX_ERROR;
}

/* IPv4 zero checksums on socket s on or off (trains need them off). */
static void zero_csum(struct vn_vxlan *x, unsigned s, bool on)
{
    if (x->family != AF_INET || x->tx[s].csum_on == !on)
        return;
    int v = on;
    setsockopt(x->tx[s].fd, SOL_SOCKET, SO_NO_CHECK, &v, sizeof v);
    x->tx[s].csum_on = !on;
}

/* Write socket s's queue; record per datagram what happened. */
static void flush(struct vn_vxlan *x, unsigned s, struct vn_frame **fr)
{
    struct vn_vxlan_txq *t = x->txq;
    struct txsock_q *q = &t->q[s];
    unsigned sent = 0;
    zero_csum(x, s, true);
    while (sent < q->n) {
        int r = sendmmsg(x->tx[s].fd, q->mm + sent, q->n - sent, MSG_DONTWAIT);
        if (r > 0) {
            for (unsigned j = sent; j < sent + (unsigned)r; j++) {
                struct vn_vx_vtep *v = &x->tab.vteps[q->vtep[j]];
                v->tx_frames++;
                v->tx_bytes += fr[q->frame[j]]->len;
                t->ok[q->frame[j]] = true;
            }
            sent += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        enum vn_drop why = send_error(x, r < 0 ? errno : EAGAIN);
        /* one datagram failed, or the socket is full: the rest too */
        unsigned upto = why == VN_DROP_TX_FULL ? q->n : sent + 1;
        for (; sent < upto; sent++) {
            x->tab.vteps[q->vtep[sent]].tx_drops++;
            t->why[q->frame[sent]] = (uint8_t)why;
        }
    }
    q->n = 0;
}

/* Queue frame i of the chunk for VTEP v on socket s. */
static void queue(struct vn_vxlan *x, unsigned s, unsigned i, uint16_t v, struct vn_frame **fr)
{
    struct vn_vxlan_txq *t = x->txq;
    struct txsock_q *q = &t->q[s];
    if (q->n == VN_BATCH)
        flush(x, s, fr);
    unsigned j = q->n++;
    struct vn_vx_vtep *e = &x->tab.vteps[v];
    q->iov[j][0] = (struct iovec){ t->hdr[i], VN_VXLAN_HLEN };
    q->iov[j][1] = (struct iovec){ fr[i]->data, fr[i]->len };
    q->mm[j].msg_hdr = (struct msghdr){ .msg_name = &e->sa, .msg_namelen = e->salen,
                                        .msg_iov = q->iov[j], .msg_iovlen = 2 };
    q->frame[j] = (uint16_t)i;
    q->vtep[j] = v;
}

/* Send segments [k, k + cnt) of the GSO frame to VTEP e one datagram each.
 * Returns how many went; *why gets the reason of a failure. */
static unsigned send_each(struct vn_vxlan *x, unsigned s, struct vn_vx_vtep *e, unsigned k,
                          unsigned cnt, enum vn_drop *why)
{
    struct vn_vxlan_txq *t = x->txq;
    zero_csum(x, s, true);
    for (unsigned j = 0; j < cnt; j++)
        t->tmm[j].msg_hdr = (struct msghdr){ .msg_name = &e->sa, .msg_namelen = e->salen,
                                             .msg_iov = t->tiov[k + j], .msg_iovlen = 3 };
    unsigned sent = 0, ok = 0;
    while (sent < cnt) {
        int r = sendmmsg(x->tx[s].fd, t->tmm + sent, cnt - sent, MSG_DONTWAIT);
        if (r > 0) {
            sent += (unsigned)r;
            ok += (unsigned)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            *why = send_error(x, r < 0 ? errno : EAGAIN);
            if (*why == VN_DROP_TX_FULL)
                break;
            sent++;
        }
    }
    return ok;
}

/* Record that ok of the cnt datagrams of frame i's segments [k, k + cnt)
 * reached VTEP e; the frame counts as sent when any did, else why. */
static void train_done(struct vn_vxlan *x, struct vn_vx_vtep *e, unsigned i, unsigned k,
                       unsigned cnt, unsigned ok, enum vn_drop why)
{
    struct vn_vxlan_txq *t = x->txq;
    for (unsigned j = 0; j < ok; j++)
        e->tx_bytes += t->tso.hlen + t->tso.plen[k + j];
    e->tx_frames += ok;
    e->tx_drops += cnt - ok;
    if (ok)
        t->ok[i] = true;
    else
        t->why[i] = (uint8_t)why;
}

/* Send GSO frame i (cut into t->tso) to VTEP v from socket s: all its
 * trains in one sendmmsg() (a 64 KiB frame at MTU 1500 needs two, as one
 * UDP_SEGMENT send stays under 64 KiB); a train of one datagram goes
 * without the control message. A full socket ends the frame; a refused
 * train goes one datagram at a time and the rest follow. */
static void send_train(struct vn_vxlan *x, unsigned s, unsigned i, uint16_t v)
{
    struct vn_vxlan_txq *t = x->txq;
    const struct vn_vxlan_tso *g = &t->tso;
    struct vn_vx_vtep *e = &x->tab.vteps[v];
    size_t dgram = VN_VXLAN_HLEN + g->hlen + g->mss;
    unsigned per = (unsigned)VN_MIN((size_t)TRAIN_MAX, TRAIN_BYTES / dgram);
    enum vn_drop why = VN_DROP_TX_ERROR;
    if (!x->udp_gso || per < 2) {
        unsigned ok = send_each(x, s, e, 0, g->n, &why);
        train_done(x, e, i, 0, g->n, ok, why);
        return;
    }
    unsigned nt = 0;
    for (unsigned k = 0; k < g->n; nt++) {
        unsigned cnt = VN_MIN(per, g->n - k);
        t->gk[nt] = (uint16_t)k;
        t->gcnt[nt] = (uint16_t)cnt;
        struct msghdr *m = &t->gmm[nt].msg_hdr;
        *m = (struct msghdr){ .msg_name = &e->sa, .msg_namelen = e->salen,
                              .msg_iov = &t->tiov[k][0], .msg_iovlen = 3 * cnt };
        if (cnt > 1) {
            m->msg_control = t->gctl[nt].buf;
            m->msg_controllen = sizeof t->gctl[nt].buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(m);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gs = (uint16_t)dgram;
            memcpy(CMSG_DATA(c), &gs, sizeof gs);
        }
        k += cnt;
    }
    zero_csum(x, s, false);
    for (unsigned j = 0; j < nt;) {
        int r = sendmmsg(x->tx[s].fd, t->gmm + j, nt - j, MSG_DONTWAIT);
        if (r > 0) {
            for (unsigned q = j; q < j + (unsigned)r; q++) {
                x->st.gso_trains += t->gcnt[q] > 1;
                train_done(x, e, i, t->gk[q], t->gcnt[q], t->gcnt[q], why);
            }
            j += (unsigned)r;
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        int err = r < 0 ? errno : EAGAIN;
        if (err == EAGAIN || err == ENOBUFS) {
            train_done(x, e, i, t->gk[j], t->gcnt[j], 0, VN_DROP_TX_FULL);
            break;
        }
        x->st.gso_refused++; /* one by one: each gets its own verdict */
        unsigned ok = send_each(x, s, e, t->gk[j], t->gcnt[j], &why);
        train_done(x, e, i, t->gk[j], t->gcnt[j], ok, why);
        if (why == VN_DROP_TX_FULL && !ok)
            break;
        zero_csum(x, s, false);
        j++;
    }
}

/* At most VN_BATCH frames. */
static void send_chunk(struct vn_vxlan *x, struct vn_frame **fr, unsigned n)
{
    struct vn_port *p = x->port;
    struct vn_vxlan_txq *t = x->txq;
    uint32_t now = vn_vxlan_now(x);
    for (unsigned i = 0; i < n; i++) {
        struct vn_frame *f = fr[i];
        t->ok[i] = false;
        t->why[i] = VN_DROP_NO_PEER;
        uint32_t vni = f->net < VN_MAX_NETWORKS ? x->net_vni[f->net] : 0;
        if (!vni || f->len < VN_ETH_HLEN) {
            t->why[i] = VN_DROP_VLAN;
            continue;
        }
        bool gso = f->off.gso_type != VIRTIO_NET_HDR_GSO_NONE;
        if (gso ? vn_vxlan_tso_split(f, &t->tso) < 0 : vn_csum_complete(f) < 0) {
            t->why[i] = VN_DROP_MALFORMED;
            continue;
        }
        vn_vxlan_hdr_put(t->hdr[i], vni);
        unsigned s = x->ntx > 1 ? vn_vxlan_flow_hash(f->data, f->len) % x->ntx : 0;
        /* Where it goes: the VTEP behind a known unicast MAC, else the flood list. */
        uint16_t one;
        const uint16_t *to = NULL;
        unsigned nto = 0;
        int v = vn_mac_is_multicast(f->data) ? -1 : vn_vx_lookup(&x->tab, f->net, f->data, now);
        if (v >= 0) {
            one = (uint16_t)v;
            to = &one;
            nto = 1;
        } else {
            to = vn_vx_flood_list(&x->tab, f->net, &nto);
            if (!nto)
                x->st.no_vtep++;
        }
        if (!gso) {
            for (unsigned j = 0; j < nto; j++)
                queue(x, s, i, to[j], fr);
            continue;
        }
        if (t->q[s].n)
            flush(x, s, fr); /* what the flow queued before goes first */
        const struct vn_vxlan_tso *g = &t->tso;
        for (unsigned k = 0; k < g->n; k++) {
            t->tiov[k][0] = (struct iovec){ t->hdr[i], VN_VXLAN_HLEN };
            t->tiov[k][1] = (struct iovec){ (void *)g->hdr[k], g->hlen };
            t->tiov[k][2] = (struct iovec){ (void *)g->payload[k], g->plen[k] };
        }
        for (unsigned j = 0; j < nto; j++)
            send_train(x, s, i, to[j]);
    }
    for (unsigned s = 0; s < x->ntx; s++)
        if (t->q[s].n)
            flush(x, s, fr);
    for (unsigned i = 0; i < n; i++) {
        if (t->ok[i])
            vn_port_tx_ok(p, fr[i]->len);
        else
            vn_port_drop_tx(p, (enum vn_drop)t->why[i]);
    }
}

void vn_vxlan_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct vn_vxlan *x = p->priv;
    for (unsigned off = 0; off < n; off += VN_BATCH)
        send_chunk(x, fr + off, VN_MIN(n - off, (unsigned)VN_BATCH));
}
