/* The VPN of a network: socket, loop and gateway glue around the device.
 * See vpn.h for the theory of operation. */
#include "vpn.h"
#include "uapi_sock.h"

#include "core/log.h"
#include "core/syscalls.h"
#include "core/util.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/gso.h"
#include "udp_tx.h"
#include "switch/mirror.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

VN_SYSCALLS("recvmmsg");

#define RX_BATCH 32
#define RX_BUF 9216            /* a datagram of a jumbo-MTU peer fits */
#define SOCKBUF (4 << 20)

struct vn_vpn {
    struct vn_gw *gw;
    struct vn_loop *loop;
    const struct vn_vpn_conf *conf;
    struct vn_vpn_dev *dev;
    int fd;
    uint16_t port;                 /* bound */
    uint8_t family;                /* of the socket */
    struct vn_io io;
    struct vn_udp_tx tx;           /* datagrams out, batched */
    struct vn_timer timer;
    struct vn_defer rearm_later;   /* rearm once per round of events, not per frame */
    struct vn_uapi_sock *uapi;     /* vpn.wg_interface's socket, or NULL */
    uint64_t timer_at;             /* deadline armed (ms), 0 = none */
    uint8_t (*rx)[RX_BUF];         /* RX_BATCH receive buffers */
    uint8_t *seg;                  /* segments of an offloaded frame */
    uint8_t *scratch;              /* one packet being forwarded */
    struct {
        uint64_t rx_truncated, ttl_expired, bad_frame;
    } st;
};

enum { SEG_BUF = 2 * 65536 + 4096, SCRATCH = 65536 + 64 };

/* Re-arm the timer for the device's next deadline (after any event). */
static void rearm(struct vn_vpn *v)
{
    uint64_t now = vn_loop_now_ms(v->loop);
    uint64_t next = vn_vpn_dev_tick(v->dev, now);
    if (next == v->timer_at && vn_timer_armed(&v->timer))
        return;
    v->timer_at = next;
    if (!next) {
        vn_timer_cancel(v->loop, &v->timer);
        return;
    }
    vn_timer_arm(v->loop, &v->timer, next > now ? next - now : 0);
}

/* Deferred: the packet paths ask for it, the loop runs it once per round. */
static void rearm_deferred(struct vn_defer *d)
{
    rearm(VN_CONTAINER_OF(d, struct vn_vpn, rearm_later));
}

static void on_timer(struct vn_timer *t)
{
    struct vn_vpn *v = VN_CONTAINER_OF(t, struct vn_vpn, timer);
    v->timer_at = 0;
    rearm(v);
}

/* ---- the device's I/O ---- */

/* Capture hook: the inner packet ip crossed the tunnel (dir VN_MIRROR_IN
 * from a peer, VN_MIRROR_OUT to one); copied to the captures of "vpn:NET"
 * (obs/capture.h) as an Ethernet frame between the tunnel's MAC and the
 * gateway's. One branch while nothing captures. */
static inline void tap(struct vn_vpn *v, unsigned dir, const uint8_t *ip, size_t len)
{
    struct vn_network *n = v->gw->net;
    if (dir == VN_MIRROR_IN ? n->ntmir_in : n->ntmir_out)
        vn_mirror_tunnel(n, dir, dir == VN_MIRROR_IN ? v->gw->tunnel.mac : v->gw->mac,
                         dir == VN_MIRROR_IN ? v->gw->mac : v->gw->tunnel.mac, ip, len);
}

static void io_send(void *ctx, const struct vn_vpn_endpoint *ep, const uint8_t *buf, size_t len)
{
    struct vn_vpn *v = ctx;
    if (v->family == AF_INET6 && ep->ip.family == AF_INET) {
        /* an IPv4 peer of a dual-stack socket: its v4-mapped address */
        struct vn_addr m = { .family = AF_INET6 };
        m.a[10] = m.a[11] = 0xff;
        memcpy(m.a + 12, ep->ip.a, 4);
        vn_udp_tx_add(&v->tx, &m, ep->port, buf, len);
        return;
    }
    vn_udp_tx_add(&v->tx, &ep->ip, ep->port, buf, len);
}

/* A decrypted packet: to another peer (hairpin) or into the network. The
 * buffer has the transport header's 16 bytes before it, room for the
 * Ethernet header the gateway writes. */
static void io_deliver(void *ctx, struct vn_vpn_peer *p, uint8_t *buf, size_t len)
{
    struct vn_vpn *v = ctx;
    tap(v, VN_MIRROR_IN, buf, len);
    struct vn_addr dst;
    memset(&dst, 0, sizeof dst);
    if (buf[0] >> 4 == 4) {
        dst.family = AF_INET;
        memcpy(dst.a, buf + 16, 4);
    } else {
        dst.family = AF_INET6;
        memcpy(dst.a, buf + 24, 16);
    }
    struct vn_vpn_peer *to = vn_vpn_dev_route(v->dev, &dst);
    if (to && to != p) {
        if (!vn_gw_tunnel_acl(v->gw, buf, len, true)) /* rules naming both peers */
            return;
        uint8_t *ttl = buf + (dst.family == AF_INET ? 8 : 7);
        if (*ttl <= 1) {
            v->st.ttl_expired++;
            return;
        }
        (*ttl)--;
        if (dst.family == AF_INET) {
            vn_put_be16(buf + 10, 0);
            vn_put_be16(buf + 10, vn_csum_ipv4_hdr(buf, (size_t)(buf[0] & 0x0f) * 4));
        }
        tap(v, VN_MIRROR_OUT, buf, len);
        vn_vpn_peer_send(v->dev, to, buf, len, vn_loop_now_ms(v->loop));
        return;
    }
    vn_gw_tunnel_input(v->gw, buf, len);
}

/* ---- the socket ---- */

static void on_readable(struct vn_io *io, uint32_t events)
{
    (void)events;
    struct vn_vpn *v = VN_CONTAINER_OF(io, struct vn_vpn, io);
    struct mmsghdr mm[RX_BATCH];
    struct iovec iov[RX_BATCH];
    struct sockaddr_storage from[RX_BATCH];
    for (int i = 0; i < RX_BATCH; i++) {
        iov[i] = (struct iovec){ v->rx[i], RX_BUF };
        mm[i].msg_hdr = (struct msghdr){ .msg_name = &from[i], .msg_namelen = sizeof from[i],
                                         .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(v->fd, mm, RX_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    uint64_t now = vn_loop_now_ms(v->loop);
    for (int i = 0; i < n; i++) {
        if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
            v->st.rx_truncated++;
            continue;
        }
        struct vn_vpn_endpoint ep = { 0 };
        if (from[i].ss_family == AF_INET) {
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)&from[i];
            ep.ip.family = AF_INET;
            memcpy(ep.ip.a, &s4->sin_addr, 4);
            ep.port = ntohs(s4->sin_port);
        } else if (from[i].ss_family == AF_INET6) {
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&from[i];
            ep.ip.family = AF_INET6;
            memcpy(ep.ip.a, &s6->sin6_addr, 16);
            ep.port = ntohs(s6->sin6_port);
            /* an IPv4 peer on a dual-stack socket: keep it as IPv4 */
            static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
            if (!memcmp(ep.ip.a, mapped, 12)) {
                memmove(ep.ip.a, ep.ip.a + 12, 4);
                memset(ep.ip.a + 4, 0, 12);
                ep.ip.family = AF_INET;
            }
        } else {
            continue;
        }
        vn_vpn_dev_input(v->dev, &ep, v->rx[i], mm[i].msg_len, now);
    }
    vn_defer(v->loop, &v->rearm_later);
}

/* ---- from the gateway ---- */

/* Send the IP packet inside the Ethernet frame f (offloads resolved by
 * the caller) into the tunnel, TTL decremented when routed. */
static void send_frame(struct vn_vpn *v, const uint8_t *ip, size_t len, bool routed)
{
    if (len > SCRATCH || len < 20)
        return;
    uint8_t *pkt = v->scratch;
    memcpy(pkt, ip, len);
    if (routed) {
        uint8_t *ttl = pkt + (pkt[0] >> 4 == 4 ? 8 : 7);
        if (*ttl <= 1) {
            v->st.ttl_expired++;
            return;
        }
        (*ttl)--;
        if (pkt[0] >> 4 == 4) {
            vn_put_be16(pkt + 10, 0);
            vn_put_be16(pkt + 10, vn_csum_ipv4_hdr(pkt, (size_t)(pkt[0] & 0x0f) * 4));
        }
    }
    tap(v, VN_MIRROR_OUT, pkt, len);
    vn_vpn_dev_output(v->dev, pkt, len, vn_loop_now_ms(v->loop)); /* no peer: counted there */
}

/* A frame (maybe offloaded) to send: segmented or completed first. */
static void frame_out(struct vn_vpn *v, const struct vn_frame *f, bool routed)
{
    if (f->len < VN_ETH_HLEN + 20) {
        v->st.bad_frame++;
        return;
    }
    if (f->off.gso_type) {
        struct vn_frame segs[64];
        int n = vn_gso_segment(f, v->seg, SEG_BUF, segs, 64);
        if (n < 0) {
            v->st.bad_frame++;
            return;
        }
        for (int i = 0; i < n; i++)
            send_frame(v, segs[i].data + VN_ETH_HLEN, segs[i].len - VN_ETH_HLEN, routed);
    } else if (f->off.flags & 1 /* VIRTIO_NET_HDR_F_NEEDS_CSUM */) {
        if (f->len > SEG_BUF) {
            v->st.bad_frame++;
            return;
        }
        memcpy(v->seg, f->data, f->len);
        struct vn_frame c = *f;
        c.data = v->seg;
        if (vn_csum_complete(&c) < 0) {
            v->st.bad_frame++;
            return;
        }
        send_frame(v, c.data + VN_ETH_HLEN, c.len - VN_ETH_HLEN, routed);
    } else {
        send_frame(v, f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN, routed);
    }
    vn_defer(v->loop, &v->rearm_later);
}

/* A guest routed a packet to a peer's AllowedIPs. */
static void tun_input(void *ctx, const struct vn_ipp *ip, const struct vn_frame *f)
{
    struct vn_vpn *v = ctx;
    if (f->off.gso_type || (f->off.flags & 1)) {
        frame_out(v, f, true);
        return;
    }
    /* ip may be a reassembled datagram: send what the gateway parsed */
    send_frame(v, ip->hdr, ip->len, true);
    vn_defer(v->loop, &v->rearm_later);
}

/* A frame the gateway built for an address behind the tunnel. */
static void tun_output(void *ctx, const struct vn_frame *f)
{
    frame_out(ctx, f, false);
}

/* For ACL rules naming vpn (struct vn_network's tun_peer_of): the name of
 * the peer whose AllowedIPs hold a, or NULL. */
static const char *tun_peer_name(void *ctx, const struct vn_addr *a)
{
    struct vn_vpn *v = ctx;
    struct vn_vpn_peer *p = vn_vpn_dev_route(v->dev, a);
    return p ? p->name : NULL;
}

static bool tun_owns(void *ctx, const struct vn_addr *a)
{
    struct vn_vpn *v = ctx;
    return vn_vpn_dev_route(v->dev, a) != NULL;
}

static json_t *tun_json(void *ctx)
{
    struct vn_vpn *v = ctx;
    json_t *j = vn_vpn_dev_json(v->dev, vn_loop_now_ms(v->loop));
    json_object_set_new(j, "listen_port", json_integer(v->port));
    json_object_set_new(j, "socket",
                        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "rx_truncated",
                                  (json_int_t)v->st.rx_truncated, "tx_dropped",
                                  (json_int_t)v->tx.dropped, "tx_sent", (json_int_t)v->tx.sent,
                                  "tx_trains", (json_int_t)v->tx.trains, "tx_syscalls",
                                  (json_int_t)v->tx.syscalls, "ttl_expired",
                                  (json_int_t)v->st.ttl_expired, "bad_frame",
                                  (json_int_t)v->st.bad_frame));
    return j;
}

static void vpn_free(void *ctx)
{
    struct vn_vpn *v = ctx;
    if (!v)
        return;
    if (v->gw->net->tun_ctx == v) {
        v->gw->net->tun_peer_of = NULL;
        v->gw->net->tun_ctx = NULL;
        v->gw->net->tun_port = NULL;
    }
    vn_uapi_sock_close(v->uapi);
    vn_timer_cancel(v->loop, &v->timer);
    vn_defer_cancel(v->loop, &v->rearm_later);
    if (v->tx.buf) {
        vn_udp_tx_flush(&v->tx);
        vn_defer_cancel(v->loop, &v->tx.flush);
        vn_udp_tx_free(&v->tx);
    }
    if (v->fd >= 0) {
        vn_io_del(v->loop, &v->io);
        close(v->fd);
    }
    vn_vpn_dev_free(v->dev);
    free(v->rx);
    free(v->seg);
    free(v->scratch);
    free(v);
}

static bool tunnel_match(void *ctx, const struct vn_addr *dst)
{
    return tun_owns(ctx, dst);
}

/* The UDP socket of vpn.listen. Returns the fd or -1 with err. */
static int open_socket(const struct vn_sockaddr *l, uint16_t *bound, char *err, size_t errlen)
{
    struct vn_addr any4 = { .family = AF_INET };
    const struct vn_addr *a = l->ip.family ? &l->ip : &any4;
    int fd = socket(a->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "UDP socket: %s", strerror(errno));
        return -1;
    }
    int big = SOCKBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (a->family == AF_INET6) {
        int off = 0; /* [::] takes IPv4 peers too, as WireGuard's socket does */
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof off);
    }
    struct sockaddr_storage ss;
    socklen_t sl = vn_addr_sockaddr(a, l->port, &ss);
    char s[VN_ADDR_STRLEN];
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
        snprintf(err, errlen, "cannot bind %s%s%s:%u: %s", a->family == AF_INET6 ? "[" : "",
                 vn_addr_str(a, s, sizeof s), a->family == AF_INET6 ? "]" : "", l->port,
                 strerror(errno));
        close(fd);
        return -1;
    }
    sl = sizeof ss;
    *bound = l->port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        *bound = ntohs(a->family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                            : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* Add a configured peer. Returns 0 or -1 with err. */
static int add_conf_peer(struct vn_vpn *v, const struct vn_vpn_peer_conf *pc, char *err,
                         size_t errlen)
{
    struct vn_addr al[VN_VPN_MAX_ALLOWED];
    uint8_t ll[VN_VPN_MAX_ALLOWED];
    for (unsigned i = 0; i < pc->nallowed; i++) {
        al[i] = pc->allowed[i].prefix;
        ll[i] = pc->allowed[i].len;
    }
    struct vn_vpn_endpoint ep = { pc->endpoint.ip, pc->endpoint.port };
    char e[160];
    if (!vn_vpn_add_peer(v, pc->name, pc->public_key, pc->has_psk ? pc->psk : NULL, &ep,
                         pc->keepalive, al, ll, pc->nallowed, e, sizeof e)) {
        snprintf(err, errlen, "vpn peer '%s': %s", pc->name, e);
        return -1;
    }
    return 0;
}

int vn_vpn_attach(struct vn_gw *gw, char *err, size_t errlen)
{
    const struct vn_vpn_conf *c = &gw->conf->vpn;
    if (!c->enabled)
        return 0;
    if (vn_crypto_init() < 0) {
        snprintf(err, errlen, "the VPN's cryptography did not initialise");
        return -1;
    }
    if (c->max_peers >= VN_ALLOWED_NONE) {
        snprintf(err, errlen, "vpn.max_peers: at most %u", VN_ALLOWED_NONE - 1);
        return -1;
    }
    struct vn_vpn *v = calloc(1, sizeof *v);
    if (!v) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    v->gw = gw;
    v->loop = gw->loop;
    v->conf = c;
    v->fd = -1;
    vn_timer_init(&v->timer, on_timer);
    v->rearm_later.cb = rearm_deferred;
    v->rx = malloc(RX_BATCH * sizeof *v->rx);
    v->seg = malloc(SEG_BUF);
    v->scratch = malloc(SCRATCH);
    struct vn_vpn_io io = { v, io_send, io_deliver, NULL };
    if (!v->rx || !v->seg || !v->scratch) {
        snprintf(err, errlen, "out of memory");
        vpn_free(v);
        return -1;
    }
    v->dev = vn_vpn_dev_new(c->private_key, (uint16_t)(c->max_peers ? c->max_peers : 256), &io,
                            err, errlen);
    if (!v->dev) {
        vpn_free(v);
        return -1;
    }
    v->dev->mtu = gw->mtu;
    for (unsigned i = 0; i < c->npeers; i++)
        if (add_conf_peer(v, &c->peers[i], err, errlen) < 0) {
            vpn_free(v);
            return -1;
        }
    v->fd = open_socket(&c->listen, &v->port, err, errlen);
    v->family = c->listen.ip.family ? c->listen.ip.family : AF_INET;
    if (v->fd >= 0 && vn_udp_tx_init(&v->tx, v->loop, v->fd) < 0) {
        snprintf(err, errlen, "out of memory");
        close(v->fd);
        v->fd = -1;
        vpn_free(v);
        return -1;
    }
    if (v->fd < 0 || vn_io_add(v->loop, &v->io, v->fd, EPOLLIN, on_readable) < 0) {
        if (v->fd >= 0) {
            snprintf(err, errlen, "cannot watch the VPN socket");
            close(v->fd);
            v->fd = -1;
        }
        vpn_free(v);
        return -1;
    }
    if (c->wg_interface[0] && !(v->uapi = vn_uapi_sock_open(v->loop, v, gw->conf, err, errlen))) {
        vpn_free(v);
        return -1;
    }
    const struct vn_vpn_prefix *addrs[2] = { &c->address, &c->address6 };
    for (int i = 0; i < 2; i++)
        if (addrs[i]->prefix.family && vn_gw_add_alias(gw, &addrs[i]->prefix) < 0) {
            snprintf(err, errlen, "vpn.address: the gateway's address table is full");
            vpn_free(v);
            return -1;
        }
    gw->tunnel = (struct vn_gw_tunnel){ .ctx = v, .input = tun_input, .output = tun_output,
                                        .owns = tun_owns, .json = tun_json, .free = vpn_free,
                                        .mac = { 0x02, 0x76, 0x70, 0x6e, 0x00, 0x01 },
                                        .routed_ok = c->nat };
    gw->net->tun_peer_of = tun_peer_name;
    gw->net->tun_ctx = v;
    gw->net->tun_port = gw->port;
    gw->egress.tunnel_match = tunnel_match;
    gw->egress.tunnel_ctx = v;
    gw->egress.tunnel = (struct vn_gw_egress){ .kind = VN_EG_TUNNEL, .routed = true, .ctx = v };
    rearm(v);
    char pub[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(pub, v->dev->local.pub);
    vn_info("msg=\"VPN listening\" network=%s port=%u peers=%u public_key=%s", gw->conf->name,
            v->port, v->dev->npeers, pub);
    return 0;
}

struct vn_vpn *vn_vpn_of(struct vn_gw *gw)
{
    return gw && gw->tunnel.free == vpn_free ? gw->tunnel.ctx : NULL;
}

struct vn_vpn_dev *vn_vpn_device(struct vn_vpn *v)
{
    return v->dev;
}

uint16_t vn_vpn_listen_port(const struct vn_vpn *v)
{
    return v->port;
}

struct vn_vpn_peer *vn_vpn_add_peer(struct vn_vpn *v, const char *name,
                                    const uint8_t pub[VN_KEY_LEN], const uint8_t *psk,
                                    const struct vn_vpn_endpoint *ep, uint16_t keepalive_s,
                                    const struct vn_addr *allowed, const uint8_t *allowed_len,
                                    unsigned nallowed, char *err, size_t errlen)
{
    struct vn_vpn_peer *p = vn_vpn_peer_add(v->dev, name, pub, psk, ep, keepalive_s, allowed,
                                            allowed_len, nallowed, err, errlen);
    if (p && v->fd >= 0)
        rearm(v);
    return p;
}

void vn_vpn_del_peer(struct vn_vpn *v, struct vn_vpn_peer *p)
{
    vn_vpn_peer_del(v->dev, p);
    rearm(v);
}

void vn_vpn_kick(struct vn_vpn *v)
{
    rearm(v);
}
