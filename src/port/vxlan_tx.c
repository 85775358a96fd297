/* Encapsulation: the vxlan port's send() (see vxlan_port.h and the theory
 * of operation in vxlan.c). Each frame goes to the VTEP behind its
 * destination when the remote table knows it, else (broadcast, multicast,
 * unknown unicast) once to every VTEP of its network's flood list. The
 * datagrams of one call are queued per source socket (the frame's flow
 * hash picks it) and written with one sendmmsg() per socket and batch. A
 * frame counts as sent when at least one of its datagrams was accepted,
 * else as one drop (the reason of its last failure); per-VTEP counters
 * count datagrams. */
#include "vxlan_port.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "pkt/eth.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

VN_SYSCALLS("sendmmsg");

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

/* Write socket s's queue; record per datagram what happened. */
static void flush(struct vn_vxlan *x, unsigned s, struct vn_frame **fr)
{
    struct vn_vxlan_txq *t = x->txq;
    struct txsock_q *q = &t->q[s];
    unsigned sent = 0;
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
        int e = r < 0 ? errno : EAGAIN;
        unsigned upto = sent + 1; /* one datagram failed ... */
        enum vn_drop why = VN_DROP_TX_ERROR;
        if (e == EAGAIN || e == ENOBUFS) {
            why = VN_DROP_TX_FULL;
            upto = q->n; /* ... or the socket is full: the rest too */
        } else if (e == EMSGSIZE) {
            why = VN_DROP_MTU; /* DF: never fragmented */
            x->st.too_big++;
        } else if (e == ENETUNREACH || e == EHOSTUNREACH || e == ENETDOWN ||
                   e == EADDRNOTAVAIL || e == ECONNREFUSED) {
            why = VN_DROP_NO_PEER;
        }
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
        vn_vxlan_hdr_put(t->hdr[i], vni);
        unsigned s = x->ntx > 1 ? vn_vxlan_flow_hash(f->data, f->len) % x->ntx : 0;
        if (!vn_mac_is_multicast(f->data)) {
            int v = vn_vx_lookup(&x->tab, f->net, f->data, now);
            if (v >= 0) {
                queue(x, s, i, (uint16_t)v, fr);
                continue;
            }
        }
        unsigned nf;
        const uint16_t *fl = vn_vx_flood_list(&x->tab, f->net, &nf);
        if (!nf)
            x->st.no_vtep++;
        for (unsigned j = 0; j < nf; j++)
            queue(x, s, i, fl[j], fr);
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
