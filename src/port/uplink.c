/* uplink port: an existing host interface (a NIC or a veth) attached with an
 * AF_PACKET socket, so a bridge-mode network extends onto that LAN.
 *
 * Theory of operation: the socket is bound to the interface with
 * ETH_P_ALL, made promiscuous, and told to skip frames the host itself sends
 * (PACKET_IGNORE_OUTGOING), so frames vnetd transmits are not received back.
 * PACKET_VNET_HDR carries offload metadata both ways, so GRO'd 64 KiB
 * segments cross in one piece. The kernel strips the 802.1Q tag of received
 * frames into the auxiliary data; it is put back in place before the frame
 * enters the switch (the uplink is a trunk). Receive and send are batched
 * with recvmmsg()/sendmmsg(). The socket survives the link going down and
 * up; if the interface disappears (or is recreated with a new index) a
 * one-second timer rebinds by name. */
#include "core/log.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "port.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

VN_SYSCALLS("sendmmsg", "recvmmsg");

enum { CHECK_MS = 1000 };

struct uplink {
    struct vn_port *port;
    int fd;
    struct vn_io io;
    int ifindex;
    struct vn_timer check;
    uint64_t rebinds, down_drops, outgoing_skipped;
};

static const size_t VH = sizeof(struct virtio_net_hdr);

/* Open and bind the packet socket to ifname; returns the fd or -1 (err). */
static int open_socket(const char *ifname, int *ifindex, char *err, size_t errlen)
{
    int idx = (int)if_nametoindex(ifname);
    if (!idx) {
        snprintf(err, errlen, "interface '%s' not found", ifname);
        return -1;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
        snprintf(err, errlen, "AF_PACKET socket: %s%s", strerror(errno),
                 errno == EPERM ? " (needs CAP_NET_RAW)" : "");
        return -1;
    }
    int one = 1, big = 8 << 20;
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
                               .sll_ifindex = idx };
    struct packet_mreq mr = { .mr_ifindex = idx, .mr_type = PACKET_MR_PROMISC };
    if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
        snprintf(err, errlen, "cannot attach to '%s': %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    *ifindex = idx;
    return fd;
}

static void uplink_event(struct vn_io *io, uint32_t ev);

static void detach(struct uplink *u)
{
    if (u->fd < 0)
        return;
    vn_io_del(u->port->loop, &u->io);
    close(u->fd);
    u->fd = -1;
    u->port->connected = false;
}

/* Periodic check: rebind if the interface vanished or was recreated. */
static void check_tick(struct vn_timer *t)
{
    struct uplink *u = VN_CONTAINER_OF(t, struct uplink, check);
    const char *ifname = u->port->conf.ifname;
    int idx = (int)if_nametoindex(ifname);
    if (u->fd >= 0 && idx == u->ifindex) {
        vn_timer_arm(u->port->loop, &u->check, CHECK_MS);
        return;
    }
    detach(u);
    if (idx) {
        char err[256];
        int fd = open_socket(ifname, &u->ifindex, err, sizeof err);
        if (fd >= 0 && vn_io_add(u->port->loop, &u->io, fd, EPOLLIN, uplink_event) == 0) {
            u->fd = fd;
            u->port->connected = true;
            u->rebinds++;
            vn_info("msg=\"uplink reattached\" port=%s ifname=%s", u->port->conf.name, ifname);
        } else {
            if (fd >= 0)
                close(fd);
            VN_LOG_RL(VN_LOG_WARN, "msg=\"uplink reattach failed\" port=%s reason=\"%s\"",
                      u->port->conf.name, err);
        }
    }
    vn_timer_arm(u->port->loop, &u->check, CHECK_MS);
}

static void uplink_event(struct vn_io *io, uint32_t ev)
{
    struct uplink *u = VN_CONTAINER_OF(io, struct uplink, io);
    struct vn_port *p = u->port;
    if (ev & EPOLLERR) {
        int e = 0;
        socklen_t el = sizeof e;
        getsockopt(u->fd, SOL_SOCKET, SO_ERROR, &e, &el);
        if (e == ENODEV || e == ENXIO) {
            detach(u); /* the timer rebinds when the interface returns */
            return;
        }
    }
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH];
    struct sockaddr_ll from[VN_BATCH];
    union {
        char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
        struct cmsghdr align;
    } ctl[VN_BATCH];
    for (int i = 0; i < VN_BATCH; i++) {
        iov[i] = (struct iovec){ p->rxbuf[i] + VN_HEADROOM - VH, VN_RXBUF_SIZE + VH };
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                         .msg_iov = &iov[i], .msg_iovlen = 1,
                                         .msg_control = ctl[i].buf,
                                         .msg_controllen = sizeof ctl[i].buf };
    }
    int n = recvmmsg(u->fd, mm, VN_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    unsigned k = 0;
    for (int i = 0; i < n; i++) {
        if (from[i].sll_pkttype == PACKET_OUTGOING) {
            u->outgoing_skipped++;
            continue;
        }
        uint8_t *b = p->rxbuf[i] + VN_HEADROOM - VH;
        size_t len = mm[i].msg_len;
        if (len < VH + VN_ETH_HLEN || (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
            p->stats.rx_frames++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            continue;
        }
        struct virtio_net_hdr h;
        memcpy(&h, b, VH);
        struct vn_frame *f = &p->rxframes[k];
        *f = (struct vn_frame){ .data = b + VH, .len = (uint32_t)(len - VH) };
        f->off = (struct vn_offload){ .flags = h.flags, .gso_type = h.gso_type & 0x7f,
                                      .hdr_len = h.hdr_len, .gso_size = h.gso_size,
                                      .csum_start = h.csum_start, .csum_offset = h.csum_offset };
        /* Put back the 802.1Q tag the kernel moved into the aux data. */
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr); c;
             c = CMSG_NXTHDR(&mm[i].msg_hdr, c)) {
            if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
                continue;
            struct tpacket_auxdata aux;
            memcpy(&aux, CMSG_DATA(c), sizeof aux);
            if (!(aux.tp_status & TP_STATUS_VLAN_VALID))
                continue;
            uint16_t tpid = (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) ? aux.tp_vlan_tpid
                                                                        : VN_ETH_TYPE_VLAN;
            memmove(f->data - VN_VLAN_HLEN, f->data, 2 * VN_ETH_ALEN);
            f->data -= VN_VLAN_HLEN;
            f->len += VN_VLAN_HLEN;
            vn_put_be16(f->data + 12, tpid);
            vn_put_be16(f->data + 14, aux.tp_vlan_tci);
            if (f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
                f->off.csum_start += VN_VLAN_HLEN;
            if (f->off.hdr_len)
                f->off.hdr_len += VN_VLAN_HLEN;
        }
        k++;
    }
    if (k)
        vn_port_input(p, p->rxframes, k);
}

static void uplink_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct uplink *u = p->priv;
    if (u->fd < 0) {
        for (unsigned i = 0; i < n; i++)
            vn_port_drop_tx(p, VN_DROP_NO_PEER);
        return;
    }
    struct mmsghdr mm[VN_BATCH];
    struct iovec iov[VN_BATCH][4];
    struct virtio_net_hdr vh[VN_BATCH];
    uint8_t tag[VN_BATCH][4];
    size_t len[VN_BATCH];
    for (unsigned i = 0; i < n; i++) {
        const struct vn_frame *f = fr[i];
        int c = vn_port_frame_iov(p, f, tag[i], iov[i] + 1, &len[i]);
        uint16_t shift = c > 1 ? VN_VLAN_HLEN : 0;
        vh[i] = (struct virtio_net_hdr){
            .flags = f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM,
            .gso_type = f->off.gso_type,
            .hdr_len = (uint16_t)(f->off.hdr_len ? f->off.hdr_len + shift : 0),
            .gso_size = f->off.gso_size,
            .csum_start = (uint16_t)((f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
                                         ? f->off.csum_start + shift
                                         : 0),
            .csum_offset = f->off.csum_offset,
        };
        iov[i][0] = (struct iovec){ &vh[i], VH };
        mm[i].msg_hdr = (struct msghdr){ .msg_iov = iov[i], .msg_iovlen = (size_t)c + 1 };
    }
    unsigned sent = 0;
    while (sent < n) {
        int r = sendmmsg(u->fd, mm + sent, n - sent, MSG_DONTWAIT);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            enum vn_drop why = VN_DROP_TX_ERROR;
            if (errno == EAGAIN || errno == ENOBUFS)
                why = VN_DROP_TX_FULL;
            else if (errno == ENETDOWN || errno == ENXIO || errno == ENODEV) {
                why = VN_DROP_NO_PEER; /* link down: like a NIC without carrier */
                u->down_drops += n - sent;
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

static int uplink_open(struct vn_port *p, char *err, size_t errlen)
{
    struct uplink *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    u->port = p;
    u->fd = open_socket(p->conf.ifname, &u->ifindex, err, errlen);
    if (u->fd < 0 || vn_io_add(p->loop, &u->io, u->fd, EPOLLIN, uplink_event) < 0) {
        if (u->fd >= 0)
            close(u->fd);
        free(u);
        return -1;
    }
    p->priv = u;
    p->connected = true;
    p->caps = VN_CAP_CSUM | VN_CAP_GSO;
    p->rx_io = &u->io;
    vn_timer_init(&u->check, check_tick);
    vn_timer_arm(p->loop, &u->check, CHECK_MS);
    return 0;
}

static void uplink_close(struct vn_port *p)
{
    struct uplink *u = p->priv;
    vn_timer_cancel(p->loop, &u->check);
    p->rx_io = NULL;
    detach(u);
    free(u);
}

static void uplink_describe(struct vn_port *p, json_t *o)
{
    struct uplink *u = p->priv;
    json_object_set_new(o, "ifname", json_string(p->conf.ifname));
    json_object_set_new(o, "ifindex", json_integer(u->ifindex));
    json_object_set_new(o, "rebinds", json_integer((json_int_t)u->rebinds));
    json_object_set_new(o, "link_down_drops", json_integer((json_int_t)u->down_drops));
}

/* ---- config: the key of an uplink port ---- */

static const struct vn_conf_key uplink_keys[] = {
    { .name = "ifname", .type = VN_CT_IFNAME, .off = offsetof(struct vn_port_conf, ifname),
      .size = sizeof(((struct vn_port_conf *)0)->ifname), .flags = VN_KF_QUOTE,
      .bad = "%s: '%s' is not a valid interface name", .doc_type = "interface name",
      .help = "tap: name of the interface; uplink: the host interface" },
};

static int uplink_validate(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    (void)c;
    if (!p->ifname[0])
        return vn_conf_fail(err, p->src, "port '%s': an uplink needs 'ifname' (the host interface)",
                            p->name);
    return 0;
}

static const struct vn_conf_port_type uplink_type = {
    .name = "uplink",
    .keys = uplink_keys,
    .nkeys = VN_ARRAY_LEN(uplink_keys),
    .foreign = "it takes ifname only",
    .validate = uplink_validate,
    .access = VN_PORT_ACCESS_ROOT,
};

const struct vn_port_ops vn_port_uplink_ops = {
    .type = "uplink",
    .conf = &uplink_type,
    .open = uplink_open,
    .send = uplink_send,
    .close = uplink_close,
    .describe = uplink_describe,
    .needs_net_raw = true,
};
