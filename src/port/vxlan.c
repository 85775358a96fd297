/* vxlan port: this host as a VXLAN tunnel endpoint (RFC 7348), in user
 * space, so the networks it carries span every host (vnetd, a Linux kernel
 * vxlan device, Open vSwitch) that has them under the same VNI.
 *
 * Theory of operation. The port is a trunk of networks told apart by VNI
 * (each network's `vni`); its port type classifies (port/provider.h): the
 * backend sets each received frame's network from the VNI and the switch
 * takes it as given, so no VLAN tag is involved on either side (an inner
 * frame that carries one is dropped, RFC 7348 6.1).
 *
 * Sockets: one UDP socket bound to `local` (ADDR:4789 unless another port
 * is given) receives; VN_VXLAN_TX_SOCKETS more, bound to the same address
 * and kernel-chosen ephemeral ports, send. A frame's flow hash
 * (vxlan_hdr.c) picks the sending socket, so the outer UDP source port,
 * which ECMP hashes on, stays the same for a flow and spreads flows over
 * the ports (RFC 7348 recommends a hash into 49152-65535; an unprivileged
 * process cannot choose arbitrary source ports per datagram, so the range
 * is the kernel's ephemeral range and the entropy is that of the sockets).
 * Every socket is read (recvmmsg, a batch per wake-up) by the same handler,
 * since a peer may answer to a source port. Outer IPv4 has DF set
 * (IP_PMTUDISC_DO: a VTEP never fragments; a datagram too big for the
 * path is dropped and counted as tx mtu) and a zero UDP checksum
 * (SO_NO_CHECK), which RFC 7348 allows; IPv6 has the checksum the kernel
 * computes and accepts a zero one (UDP_NO_CHECK6_RX, RFC 6935) from
 * peers configured that way.
 *
 * Receive (vxlan_rx.c): header (I flag), the source VTEP (accept: listed
 * drops VTEPs neither listed nor added by the control plane; accept: any
 * learns them), VNI -> network, inner frame sanity, then learning of the
 * inner source MAC behind that VTEP (vxlan_table.h), and the batch goes to
 * the switch in one call. Send (vxlan_tx.c): known unicast to its VTEP,
 * everything else replicated to the flood list of the frame's network.
 * A frame never goes back to the VTEP it came from: the switch never sends
 * a frame out of the port it entered by, and all VTEPs are one port.
 * Offloads: the port takes TCP GSO frames and partial checksums whole
 * (caps GSO and CSUM): send() completes checksums and cuts a GSO frame
 * into its segments without copying the payload, and sends them to a VTEP
 * as UDP_SEGMENT trains (vxlan_tso.h, vxlan_tx.c); the sockets use UDP_GRO,
 * so a train a peer sent arrives as one buffer, whose TCP segments are
 * merged back into one GSO frame for the guest (vxlan_gro.h).
 *
 * MTU: a network carried here that sets no mtu gets the underlay's
 * (the interface holding `local`) minus 50 (IPv4) or 70 (IPv6), at
 * validation (vxlan_conf.c), so DHCP and router advertisements give guests
 * the size that fits; a configured one that does not fit is a warning at
 * open. */
#include "vxlan.h"
#include "vxlan_conf.h"
#include "vxlan_port.h"
#include "core/log.h"
#include "core/syscalls.h"
#include "core/util.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef UDP_NO_CHECK6_RX
#define UDP_NO_CHECK6_RX 102
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

VN_SYSCALLS("recvmmsg");

enum { AGE_MS = 1000, SOCKBUF = 4 << 20 };

uint32_t vn_vxlan_now(const struct vn_vxlan *x)
{
    return (uint32_t)((vn_loop_now_ns(x->port->loop) - x->start_ns) / 1000000000ull);
}

/* Read a batch from the socket behind io and decapsulate it. */
static void on_readable(struct vn_vxlan *x, int fd)
{
    struct vn_port *p = x->port;
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH];
    struct sockaddr_storage from[VN_BATCH];
    struct vn_vxlan_dgram d[VN_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } ctl[VN_BATCH];
    /* The VXLAN header lands in the headroom: the inner frame starts where
     * the switch's buffers expect a frame. */
    for (int i = 0; i < VN_BATCH; i++) {
        iov[i] = (struct iovec){ p->rxbuf[i] + VN_HEADROOM - VN_VXLAN_HLEN,
                                 VN_RXBUF_SIZE + VN_VXLAN_HLEN };
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                         .msg_iov = &iov[i], .msg_iovlen = 1,
                                         .msg_control = ctl[i].buf,
                                         .msg_controllen = sizeof ctl[i].buf };
    }
    int n = recvmmsg(fd, mm, VN_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    unsigned k = 0;
    for (int i = 0; i < n; i++) {
        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
            p->stats.rx_frames++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            x->st.rx_truncated++;
            continue;
        }
        struct vn_addr src = { 0 };
        if (from[i].ss_family == AF_INET) {
            src.family = AF_INET;
            memcpy(src.a, &((struct sockaddr_in *)&from[i])->sin_addr, 4);
        } else if (from[i].ss_family == AF_INET6) {
            src.family = AF_INET6;
            memcpy(src.a, &((struct sockaddr_in6 *)&from[i])->sin6_addr, 16);
        }
        /* A UDP_GRO buffer holds datagrams of seg bytes (the last one
         * shorter): split in place, whole buffers per vn_vxlan_rx() call. */
        uint32_t total = mm[i].msg_len, seg = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr); c;
             c = CMSG_NXTHDR(&mm[i].msg_hdr, c))
            if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
                int g;
                memcpy(&g, CMSG_DATA(c), sizeof g);
                seg = g > 0 ? (uint32_t)g : 0;
            }
        if (!seg || seg >= total)
            seg = total ? total : 1;
        unsigned nseg = (total + seg - 1) / seg;
        if (!nseg)
            nseg = 1;
        if (k && k + nseg > VN_BATCH) {
            vn_vxlan_rx(x, d, k);
            k = 0;
        }
        uint8_t *b = iov[i].iov_base;
        for (uint32_t o = 0, j = 0; j < nseg; j++, o += seg) {
            if (k == VN_BATCH) {
                vn_vxlan_rx(x, d, k);
                k = 0;
            }
            uint32_t len = VN_MIN(seg, total - o);
            d[k++] = (struct vn_vxlan_dgram){
                .data = b + o, .len = len, .src = src,
                .room = o + len == total ? (uint32_t)iov[i].iov_len - total : 0
            };
        }
        if (nseg > 1)
            x->st.gro_buffers++;
    }
    if (k)
        vn_vxlan_rx(x, d, k);
}

static void sock_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_vxlan_sock *k = VN_CONTAINER_OF(io, struct vn_vxlan_sock, io);
    on_readable(k->x, k->fd);
}

static void age_tick(struct vn_timer *t)
{
    struct vn_vxlan *x = VN_CONTAINER_OF(t, struct vn_vxlan, age);
    vn_vx_age(&x->tab, vn_vxlan_now(x));
    vn_timer_arm(x->port->loop, &x->age, AGE_MS);
}

/* A UDP socket of the underlay's family with the VTEP's options, bound to
 * addr:port (port 0: an ephemeral one, returned in *bound). Returns the fd
 * or -1 with err. */
static int vtep_socket(const struct vn_sockaddr *local, uint16_t port, uint16_t *bound,
                       char *err, size_t errlen)
{
    int fam = local->ip.family, one = 1, big = SOCKBUF;
    int fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "UDP socket: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    if (fam == AF_INET) {
        int pmtu = IP_PMTUDISC_DO;
        rc |= setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
        rc |= setsockopt(fd, SOL_SOCKET, SO_NO_CHECK, &one, sizeof one);
    } else {
        int pmtu = IPV6_PMTUDISC_DO;
        rc |= setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        rc |= setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof pmtu);
        setsockopt(fd, IPPROTO_UDP, UDP_NO_CHECK6_RX, &one, sizeof one); /* best effort */
    }
    /* Trains of datagrams from a peer arrive as one buffer (best effort). */
    setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof one);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    struct sockaddr_storage ss;
    socklen_t sl = vn_addr_sockaddr(&local->ip, port, &ss);
    char a[VN_ADDR_STRLEN];
    if (rc) {
        snprintf(err, errlen, "UDP socket options: %s", strerror(errno));
    } else if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        snprintf(err, errlen, "cannot bind %s%s%s:%u: %s", fam == AF_INET6 ? "[" : "",
                 vn_addr_str(&local->ip, a, sizeof a), fam == AF_INET6 ? "]" : "", port,
                 strerror(errno));
    } else {
        sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
            *bound = ntohs(fam == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                          : ((struct sockaddr_in6 *)&ss)->sin6_port);
        return fd;
    }
    close(fd);
    return -1;
}

/* Open sock k (port 0: ephemeral) and watch it. Returns 0 or -1 with err. */
static int sock_open(struct vn_vxlan *x, struct vn_vxlan_sock *k, uint16_t port, char *err,
                     size_t errlen)
{
    k->x = x;
    k->csum_on = x->family == AF_INET6; /* IPv4 sends zero checksums */
    k->fd = vtep_socket(&x->port->conf.vxlan.local, port, &k->port, err, errlen);
    if (k->fd < 0)
        return -1;
    if (vn_io_add(x->port->loop, &k->io, k->fd, EPOLLIN, sock_event) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(k->fd);
        k->fd = -1;
        return -1;
    }
    return 0;
}

static void sock_close(struct vn_vxlan *x, struct vn_vxlan_sock *k)
{
    if (k->fd < 0)
        return;
    vn_io_del(x->port->loop, &k->io);
    close(k->fd);
    k->fd = -1;
}

static void vxlan_free(struct vn_vxlan *x)
{
    vn_timer_cancel(x->port->loop, &x->age);
    sock_close(x, &x->rx);
    for (unsigned i = 0; i < x->ntx; i++)
        sock_close(x, &x->tx[i]);
    vn_vx_table_free(&x->tab);
    vn_vxlan_txq_free(x);
    free(x);
}

/* The networks the port carries: VNIs, flood list, MTU warnings. */
static int setup_networks(struct vn_vxlan *x, char *err, size_t errlen)
{
    struct vn_port *p = x->port;
    const struct vn_vxlan_conf *c = &p->conf.vxlan;
    uint16_t ids[VN_MAX_NETWORKS];
    const struct vn_net_conf *nc[VN_MAX_NETWORKS];
    unsigned n = VN_MIN(vn_port_networks(p, ids, nc, VN_MAX_NETWORKS), (unsigned)VN_MAX_NETWORKS);
    uint32_t oh = vn_vxlan_overhead(x->family);
    for (unsigned i = 0; i < n; i++) {
        if (!nc[i]->vni || vn_vxlan_vni_net(x, nc[i]->vni) >= 0) {
            snprintf(err, errlen, "network '%s' has no vni (or shares it)", nc[i]->name);
            return -1;
        }
        x->net_vni[ids[i]] = nc[i]->vni;
        x->net_conf[ids[i]] = nc[i];
        x->carried |= 1ull << ids[i];
        unsigned j = x->nvnis++; /* insertion into the sorted array */
        for (; j && x->vnis[j - 1].vni > nc[i]->vni; j--)
            x->vnis[j] = x->vnis[j - 1];
        x->vnis[j].vni = nc[i]->vni;
        x->vnis[j].net = ids[i];
        if (nc[i]->mtu + oh > x->underlay_mtu)
            vn_warn("msg=\"network MTU does not fit the underlay: larger frames are dropped "
                    "(tx mtu)\" port=%s network=%s mtu=%u underlay_mtu=%u fits=%u",
                    p->conf.name, nc[i]->name, nc[i]->mtu, x->underlay_mtu,
                    x->underlay_mtu > oh ? x->underlay_mtu - oh : 0);
    }
    for (unsigned i = 0; i < c->nremotes; i++)
        if (vn_vx_vtep_add(&x->tab, &c->remotes[i].ip, c->remotes[i].port, VN_VX_CONFIG,
                           x->carried) < 0) {
            snprintf(err, errlen, "out of memory for the flood list");
            return -1;
        }
    return 0;
}

static int vxlan_open(struct vn_port *p, char *err, size_t errlen)
{
    const struct vn_vxlan_conf *c = &p->conf.vxlan;
    struct vn_vxlan *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    x->port = p;
    x->rx.fd = -1;
    x->family = c->local.ip.family;
    x->start_ns = vn_loop_now_ns(p->loop);
    x->underlay_mtu = c->underlay_mtu ? c->underlay_mtu : vn_vxlan_underlay_mtu(&c->local.ip);
    vn_timer_init(&x->age, age_tick);
    if (x->family != AF_INET && x->family != AF_INET6) {
        snprintf(err, errlen, "no local address");
        free(x);
        return -1;
    }
    if (vn_vx_table_init(&x->tab, c->max_macs, c->max_macs_per_vtep, c->ageing) < 0 ||
        vn_vxlan_txq_init(x) < 0) {
        snprintf(err, errlen, "out of memory for the remote MAC table");
        vxlan_free(x);
        return -1;
    }
    if (setup_networks(x, err, errlen) < 0) {
        vxlan_free(x);
        return -1;
    }
    if (sock_open(x, &x->rx, c->local.port, err, errlen) < 0) {
        vxlan_free(x);
        return -1;
    }
    x->local_port = x->rx.port;
    for (unsigned i = 0; i < VN_VXLAN_TX_SOCKETS; i++, x->ntx++)
        if (sock_open(x, &x->tx[i], 0, err, errlen) < 0) {
            vxlan_free(x);
            return -1;
        }
    /* Whether the kernel cuts UDP_SEGMENT trains (Linux 4.18 and later). */
    int zero = 0;
    x->udp_gso = setsockopt(x->tx[0].fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    p->priv = x;
    p->connected = true;
    p->caps = VN_CAP_CSUM | VN_CAP_GSO; /* vxlan_tx.c completes and cuts them */
    p->rx_io = &x->rx.io;
    vn_timer_arm(p->loop, &x->age, AGE_MS);
    return 0;
}

static void vxlan_close(struct vn_port *p)
{
    p->rx_io = NULL;
    vxlan_free(p->priv);
    p->priv = NULL;
}

const struct vn_port_ops vn_port_vxlan_ops = {
    .type = "vxlan",
    .conf = &vn_vxlan_conf_type,
    .open = vxlan_open,
    .send = vn_vxlan_send,
    .close = vxlan_close,
    .describe = vn_vxlan_describe,
};

bool vn_vxlan_is(const struct vn_port *p)
{
    return p && p->ops == &vn_port_vxlan_ops;
}
