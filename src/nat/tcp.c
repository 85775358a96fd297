/* TCP translation: a guest's TCP connection spliced onto a host socket.
 *
 * Theory of operation. The gateway is the guest's TCP peer, but it keeps no
 * stream buffers of its own: the host socket's kernel buffers hold the data.
 *  - Host -> guest: data is read from the host socket with MSG_PEEK into
 *    guest frames (large ones: the switch segments them only if the guest's
 *    port cannot take TCP segmentation offload), and stays in the socket
 *    until the guest acknowledges it; then it is discarded with MSG_TRUNC.
 *    SO_PEEK_OFF lets each peek start after the bytes already in flight;
 *    where the kernel lacks it, the in-flight prefix is peeked into a
 *    scratch buffer and thrown away. Retransmission is go-back-N from the
 *    oldest unacknowledged byte (reset the peek offset), on timeout or three
 *    duplicate ACKs. The guest's window and MSS bound what is in flight.
 *  - Guest -> host: an in-order segment is written to the host socket at once
 *    and acknowledged for exactly the bytes the socket took. The window we
 *    advertise is the free space of the host socket's send buffer, so the
 *    guest cannot outrun the host side; out-of-order segments are dropped
 *    and answered with a duplicate ACK (we do not offer SACK).
 *  - Handshakes are mirrored: the guest's SYN starts a non-blocking connect()
 *    and the guest gets its SYN-ACK only once the host connection exists (or
 *    an RST if it was refused, an ICMP error if unreachable). A port forward
 *    accepts on the host and then performs the handshake toward the guest.
 *  - FIN and RST are mirrored with shutdown(SHUT_WR) and close() with
 *    SO_LINGER 0. ACKs owed to the guest are coalesced: one per flow per
 *    loop round, sent from deferred work after the batch was processed.
 * The socket is registered edge-triggered: a wake-up means new data or
 * space; while the guest's window is closed nothing is read and the next
 * ACK from the guest resumes sending. A peek that found the socket drained
 * marks the flow quiet: no more peeks (the guest's every data segment
 * carries an ACK that pushes) until epoll reports new data.
 *
 * Guest data is written segment by segment on purpose: gathering a switch
 * batch's segments of a flow into one sendmsg (tried in d05d475) cut the
 * system calls per 64 KiB from 2.8 to 1.4 and vnetd's CPU per byte by
 * about a fifth, but held the data back from the host's reader and the ACK
 * from the guest until the batch was read, and single-stream throughput
 * fell (0.79x paired, 0.93x with writes every 256 KiB): this path is bound
 * by how the three tasks (guest sender, vnetd, host reader) overlap on the
 * CPUs, not by vnetd's system calls. */
#include "core/log.h"
#include "core/util.h"
#include "nat_internal.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <errno.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
    OUR_WSCALE = 7,          /* windows up to 8 MiB */
    RTO_MIN_MS = 200,
    RTO_MAX_MS = 10000,
    SYN_RETRIES = 6,
    DATA_RETRIES = 12,
    PUSH_BUDGET = 32,        /* frames per flow per wake-up, for fairness */
};

/* Bytes of Ethernet, IP and (option-less) TCP header of f's segments. */
static inline size_t hdr_len(const struct vn_flow *f)
{
    return VN_ETH_HLEN + (f->key.family == AF_INET6 ? 40u : 20u) + 20;
}

/* The largest TCP payload one (GSO) segment carries: what the IP length
 * field holds (IPv4: total length, IPv6: payload length). */
static inline uint32_t max_payload(const struct vn_flow *f)
{
    return f->key.family == AF_INET6 ? 65535u - 20 : 65535u - 20 - 20;
}

/* The segment size toward the guest the network's MTU allows. */
static inline uint32_t mtu_mss(const struct vn_flow *f)
{
    return VN_MIN(f->nat->gw->mtu - (f->key.family == AF_INET6 ? 60u : 40u), max_payload(f));
}

#define SEQ_LT(a, b) ((int32_t)((a) - (b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((a) - (b)) <= 0)

static void tcp_event(struct vn_io *io, uint32_t ev);
static void tcp_timer(struct vn_timer *tm);
static void tcp_push(struct vn_flow *f);
static void set_events(struct vn_flow *f);

static struct vn_tcp_flow *T(struct vn_flow *f) { return &f->u.tcp; }

const char *vn_nat_tcp_state_name(const struct vn_flow *f)
{
    const struct vn_tcp_flow *t = &f->u.tcp;
    switch (t->state) {
    case VN_TCP_CONNECTING: return "connecting";
    case VN_TCP_SYN_RCVD: return "syn-received";
    case VN_TCP_SYN_SENT: return "syn-sent";
    case VN_TCP_CLOSED: return "closed";
    case VN_TCP_ESTABLISHED: break;
    }
    if (t->guest_fin && t->host_eof)
        return "closing";
    if (t->guest_fin)
        return "guest-closed";
    if (t->host_eof)
        return "remote-closed";
    return "established";
}

/* Mark that the flow owes the guest an ACK (or has data to push) and make
 * sure the NAT's deferred flush will visit it. */
static void want_ack(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    t->ack_pending = true;
    if (!t->on_ack_list) {
        t->on_ack_list = true;
        t->ack_next = f->nat->ack_list;
        f->nat->ack_list = f;
    }
    vn_defer(f->nat->gw->loop, &f->nat->ack_defer);
}

/* Free space in the host socket's send buffer: the window we offer. The
 * kernel accepts a write while the queued memory (truesize) is below
 * SO_SNDBUF, so that is what we measure (SO_MEMINFO), with a margin for
 * per-buffer overhead. */
static uint32_t rcv_window(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    uint32_t mi[SK_MEMINFO_VARS] = { 0 };
    socklen_t sl = sizeof mi;
    if (f->fd < 0 || t->guest_fin)
        return 0;
    uint32_t max = t->ws_ok ? (65535u << t->rcv_wscale) : 65535u;
    if (getsockopt(f->fd, SOL_SOCKET, SO_MEMINFO, mi, &sl) < 0)
        return VN_MIN(max, 65535u);
    int64_t free_b = (int64_t)mi[SK_MEMINFO_SNDBUF] - mi[SK_MEMINFO_WMEM_QUEUED];
    free_b -= free_b / 8;
    if (free_b < 0)
        free_b = 0;
    return (uint32_t)VN_MIN((uint64_t)free_b, (uint64_t)max);
}

/* Write Ethernet/IP/TCP headers for a segment toward the guest into fr.
 * Returns the TCP header. optlen bytes of options follow it (caller fills). */
static uint8_t *build_hdr(struct vn_flow *f, uint8_t *fr, uint32_t seq, uint8_t flags,
                          size_t optlen, size_t dlen, uint32_t wnd)
{
    struct vn_tcp_flow *t = T(f);
    struct vn_addr g = vn_flow_gaddr(&f->key), r = vn_flow_raddr(&f->key);
    size_t l4 = 20 + optlen + dlen;
    uint8_t *th = vn_gw_ip_header(f->nat->gw, fr, f->gmac, &r, &g, VN_IPPROTO_TCP, l4);
    vn_put_be16(th, f->key.rport);
    vn_put_be16(th + 2, f->key.gport);
    vn_put_be32(th + 4, seq);
    t->adv_wnd = wnd;
    if (wnd < 65536 && !t->want_out && f->fd >= 0 && !t->guest_fin &&
        t->state == VN_TCP_ESTABLISHED) {
        /* A small window: announce it again as soon as the socket drains. */
        t->want_out = true;
        set_events(f);
    }
    vn_put_be32(th + 8, (flags & VN_TCP_ACK) ? t->rcv_nxt : 0);
    th[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    th[13] = flags;
    uint32_t field = (flags & VN_TCP_SYN) ? VN_MIN(wnd, 65535u)
                     : t->ws_ok          ? VN_MIN(wnd >> t->rcv_wscale, 65535u)
                                         : VN_MIN(wnd, 65535u);
    vn_put_be16(th + 14, (uint16_t)field);
    vn_put_be16(th + 16, 0);
    vn_put_be16(th + 18, 0);
    if (flags & VN_TCP_ACK)
        t->ack_pending = false;
    return th;
}

/* Finish the TCP checksum over l4len bytes at th: complete, or partial for
 * offload (off != NULL) so the frame's consumer (or the switch) completes it. */
static void tcp_csum(struct vn_flow *f, uint8_t *th, size_t l4len, struct vn_offload *off)
{
    struct vn_addr g = vn_flow_gaddr(&f->key), r = vn_flow_raddr(&f->key);
    uint32_t ps = vn_csum_pseudo(&r, &g, VN_IPPROTO_TCP, (uint32_t)l4len);
    if (off) {
        vn_put_be16(th + 16, (uint16_t)~vn_csum_fold(ps));
        off->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        off->csum_start = (uint16_t)(hdr_len(f) - 20);
        off->csum_offset = 16;
    } else {
        vn_put_be16(th + 16, vn_csum_fold(vn_csum_add(ps, th, l4len)));
    }
}

/* Send a segment without payload (SYN, ACK, FIN, RST combinations). */
static void send_ctl(struct vn_flow *f, uint8_t flags, uint32_t seq)
{
    struct vn_tcp_flow *t = T(f);
    uint8_t opt[12];
    size_t optlen = 0;
    if (flags & VN_TCP_SYN) {
        uint16_t mss = (uint16_t)mtu_mss(f);
        opt[0] = 2;
        opt[1] = 4;
        vn_put_be16(opt + 2, mss);
        optlen = 4;
        if (t->ws_ok || t->state == VN_TCP_SYN_SENT) {
            opt[4] = 1;
            opt[5] = 3;
            opt[6] = 3;
            opt[7] = OUR_WSCALE;
            optlen = 8;
        }
    }
    size_t len = hdr_len(f) + optlen;
    uint8_t *fr = vn_gw_frame_alloc(f->nat->gw, len);
    if (!fr)
        return;
    uint8_t *th = build_hdr(f, fr, seq, flags, optlen, 0, rcv_window(f));
    memcpy(th + 20, opt, optlen);
    tcp_csum(f, th, 20 + optlen, NULL);
    vn_gw_frame_commit(f->nat->gw, len, NULL);
}

/* RST toward the guest for a segment that has no flow (or a refused one). */
static void rst_for(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                    const struct vn_tcp *tc)
{
    if (tc->flags & VN_TCP_RST)
        return;
    struct vn_flow tmp = { .nat = nat };
    tmp.key = vn_nat_key(IPPROTO_TCP, ip, tc->sport, tc->dport);
    memcpy(tmp.gmac, gmac, 6);
    uint32_t seq = 0;
    uint8_t flags = VN_TCP_RST;
    if (tc->flags & VN_TCP_ACK) {
        seq = tc->ack;
    } else {
        flags |= VN_TCP_ACK;
        tmp.u.tcp.rcv_nxt = tc->seq + (uint32_t)tc->dlen + ((tc->flags & VN_TCP_SYN) ? 1 : 0) +
                            ((tc->flags & VN_TCP_FIN) ? 1 : 0);
    }
    send_ctl(&tmp, flags, seq);
    nat->stats.tcp_rst_to_guest++;
}

/* ICMP destination unreachable (kind k) for a flow whose connect failed:
 * quote a reconstructed copy of the guest's SYN. */
static void unreach(struct vn_flow *f, enum vn_icmp_err k)
{
    uint8_t q[20] = { 0 };
    vn_put_be16(q, f->key.gport);
    vn_put_be16(q + 2, f->key.rport);
    vn_put_be32(q + 4, T(f)->rcv_nxt - 1);
    q[12] = 0x50;
    q[13] = VN_TCP_SYN;
    vn_nat_flow_error(f, q, sizeof q, k, 0);
}

/* Abort: RST to the guest (unless it sent one), RST to the host peer. */
static void tcp_abort(struct vn_flow *f, bool tell_guest)
{
    struct vn_tcp_flow *t = T(f);
    if (tell_guest && t->state != VN_TCP_CONNECTING) {
        send_ctl(f, VN_TCP_RST | VN_TCP_ACK, t->snd_nxt);
        f->nat->stats.tcp_rst_to_guest++;
    }
    if (f->fd >= 0) {
        struct linger l = { 1, 0 };
        setsockopt(f->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    vn_nat_flow_free(f);
}

void vn_nat_tcp_abort_host(struct vn_flow *f)
{
    tcp_abort(f, false);
}

void vn_nat_tcp_free(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    vn_timer_cancel(f->nat->gw->loop, &t->timer);
    /* Unlink from the ACK list. */
    if (t->on_ack_list)
        for (struct vn_flow **pp = &f->nat->ack_list; *pp; pp = &T(*pp)->ack_next)
            if (*pp == f) {
                *pp = t->ack_next;
                break;
            }
    t->on_ack_list = false;
    t->ack_pending = false;
    t->state = VN_TCP_CLOSED;
}

static void arm_rto(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    if (!t->rto_ms)
        t->rto_ms = RTO_MIN_MS;
    vn_timer_arm(f->nat->gw->loop, &t->timer, t->rto_ms);
}

static void set_events(struct vn_flow *f)
{
    uint32_t ev = EPOLLIN | EPOLLRDHUP | EPOLLET;
    if (T(f)->want_out || T(f)->state == VN_TCP_CONNECTING)
        ev |= EPOLLOUT;
    vn_io_mod(f->nat->gw->loop, &f->io, ev);
}

/* Free the flow once both directions are closed and acknowledged. */
static bool maybe_done(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    if (t->guest_fin && t->fin_acked) {
        /* The guest's FIN may still be owed its ACK: send it now, the flow
         * (and its place on the deferred ACK list) goes away. */
        if (t->ack_pending)
            send_ctl(f, VN_TCP_ACK, t->snd_nxt);
        vn_nat_flow_free(f);
        return true;
    }
    return false;
}

/* Go back to the oldest unacknowledged byte and send again. */
static void go_back(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    if (t->snd_nxt == t->snd_una)
        return;
    if (t->fin_sent && !t->fin_acked)
        t->fin_sent = false;
    t->snd_nxt = t->snd_una;
    t->host_quiet = false;
    if (t->peek_off) {
        int zero = 0;
        setsockopt(f->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
    }
    f->nat->stats.tcp_retransmits++;
    tcp_push(f);
}

/* Peek up to len bytes after the in-flight ones into buf. */
static ssize_t peek_data(struct vn_flow *f, uint8_t *buf, size_t len)
{
    struct vn_tcp_flow *t = T(f);
    if (t->peek_off)
        return recv(f->fd, buf, len, MSG_PEEK | MSG_DONTWAIT);
    /* No SO_PEEK_OFF: skip the in-flight prefix into scratch iovecs. */
    size_t skip = t->snd_nxt - t->snd_una;
    struct iovec iov[1025];
    int n = 0;
    while (skip && n < 1024) {
        size_t c = VN_MIN(skip, (size_t)65536);
        iov[n++] = (struct iovec){ f->nat->scratch, c };
        skip -= c;
    }
    if (skip)
        return 0; /* more in flight than we can skip: wait for ACKs */
    size_t skipped = t->snd_nxt - t->snd_una;
    iov[n++] = (struct iovec){ buf, len };
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
    ssize_t r = recvmsg(f->fd, &mh, MSG_PEEK | MSG_DONTWAIT);
    if (r <= 0)
        return r;
    if ((size_t)r <= skipped) {
        errno = EAGAIN;
        return -1; /* nothing new beyond what is in flight */
    }
    return r - (ssize_t)skipped;
}

/* Send host data (and our FIN) to the guest as far as its window allows. */
static void tcp_push(struct vn_flow *f)
{
    struct vn_tcp_flow *t = T(f);
    struct vn_gw *gw = f->nat->gw;
    if (t->state != VN_TCP_ESTABLISHED || t->fin_sent)
        return;
    uint32_t mss = VN_MIN((uint32_t)t->mss, mtu_mss(f));
    uint32_t maxseg = max_payload(f) / mss * mss;
    size_t hl = hdr_len(f);
    uint32_t wnd = UINT32_MAX;
    for (int budget = PUSH_BUDGET; budget > 0; budget--) {
        uint32_t inflight = t->snd_nxt - t->snd_una;
        if (t->snd_wnd <= inflight) {
            if (!vn_timer_armed(&t->timer))
                arm_rto(f); /* zero window: the timer probes it */
            return;
        }
        uint32_t len = VN_MIN(t->snd_wnd - inflight, maxseg);
        if (t->host_eof) {
            /* Everything was read: send FIN after the data. */
            send_ctl(f, VN_TCP_FIN | VN_TCP_ACK, t->snd_nxt);
            t->snd_nxt++;
            t->fin_sent = true;
            arm_rto(f);
            return;
        }
        if (t->host_quiet)
            return; /* nothing new since the last peek: wait for EPOLLIN */
        uint8_t *fr = vn_gw_frame_alloc(gw, hl + len);
        if (!fr) { /* arena full inside the switch: retry from deferred work */
            want_ack(f);
            return;
        }
        ssize_t n = peek_data(f, fr + hl, len);
        if (n == 0) {
            t->host_eof = true;
            continue;
        }
        if (n < 0) {
            if (errno == EAGAIN)
                t->host_quiet = true;
            if (errno == EAGAIN || errno == EINTR)
                return;
            tcp_abort(f, true);
            return;
        }
        if (wnd == UINT32_MAX) /* once per push: it costs a system call */
            wnd = rcv_window(f);
        uint8_t *th = build_hdr(f, fr, t->snd_nxt, VN_TCP_ACK | VN_TCP_PSH, 0, (size_t)n, wnd);
        struct vn_offload off = { 0 };
        tcp_csum(f, th, 20 + (size_t)n, &off);
        if ((uint32_t)n > mss) {
            off.gso_type = f->key.family == AF_INET6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                                     : VIRTIO_NET_HDR_GSO_TCPV4;
            off.gso_size = (uint16_t)mss;
            off.hdr_len = (uint16_t)hl;
        }
        vn_gw_frame_commit(gw, hl + (size_t)n, &off);
        t->snd_nxt += (uint32_t)n;
        f->bytes_in += (uint64_t)n;
        f->last_ms = vn_nat_now_ms(f->nat);
        if (!vn_timer_armed(&t->timer))
            arm_rto(f);
        if ((uint32_t)n < len && !t->host_rdhup) {
            /* Drained for now: the socket held less than we asked for, so
             * until epoll reports more (edge-triggered: every arrival after
             * this peek is reported) another peek would find nothing, and
             * a guest sending data (its every segment carries an ACK that
             * pushes) would cost a system call each. */
            t->host_quiet = true;
            return;
        }
        /* Short, but the host's FIN is queued behind the data: read on to
         * the end of stream (no extra call otherwise) so the FIN follows
         * the data now, not after the guest's next ACK. */
    }
    want_ack(f); /* budget used up: continue after this round */
}

/* Discard n acknowledged bytes from the host socket. */
static void discard(struct vn_flow *f, uint32_t n)
{
    while (n) {
        ssize_t r = recv(f->fd, NULL, n, MSG_TRUNC | MSG_DONTWAIT);
        if (r <= 0)
            return;
        n -= (uint32_t)r;
    }
}

static void handle_ack(struct vn_flow *f, const struct vn_tcp *tc)
{
    struct vn_tcp_flow *t = T(f);
    uint32_t wnd = t->ws_ok ? (uint32_t)tc->win << t->snd_wscale : tc->win;
    if (SEQ_LT(t->snd_una, tc->ack) && SEQ_LEQ(tc->ack, t->snd_nxt)) {
        uint32_t acked = tc->ack - t->snd_una;
        bool fin_now = t->fin_sent && tc->ack == t->snd_nxt;
        uint32_t data = acked - (fin_now ? 1 : 0);
        if (data)
            discard(f, data);
        t->snd_una = tc->ack;
        t->dupacks = 0;
        t->retries = 0;
        t->rto_ms = RTO_MIN_MS;
        if (fin_now)
            t->fin_acked = true;
        if (t->snd_una == t->snd_nxt)
            vn_timer_cancel(f->nat->gw->loop, &t->timer);
        else
            arm_rto(f);
    } else if (tc->ack == t->snd_una && t->snd_nxt != t->snd_una && !tc->dlen &&
               !(tc->flags & (VN_TCP_SYN | VN_TCP_FIN)) && wnd == t->snd_wnd) {
        if (++t->dupacks == 3) {
            t->dupacks = 0;
            t->snd_wnd = wnd;
            go_back(f);
            return;
        }
    }
    t->snd_wnd = wnd;
}

/* Write guest payload to the host socket; returns bytes accepted. */
static size_t write_host(struct vn_flow *f, const uint8_t *d, size_t len)
{
    struct vn_tcp_flow *t = T(f);
    ssize_t w = send(f->fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w < 0) {
        if (errno == EAGAIN || errno == EINTR)
            w = 0;
        else
            return (size_t)-1;
    }
    if ((size_t)w < len) {
        t->refused = true;
        if (!t->want_out) {
            t->want_out = true;
            set_events(f);
        }
    }
    return (size_t)w;
}

/* A segment of an established (or closing) flow. */
static void established_input(struct vn_flow *f, const struct vn_tcp *tc)
{
    struct vn_tcp_flow *t = T(f);
    if (tc->flags & VN_TCP_SYN) { /* retransmitted SYN or SYN-ACK: re-ACK */
        want_ack(f);
        return;
    }
    if (tc->flags & VN_TCP_ACK)
        handle_ack(f, tc);
    if (!f->in_use)
        return;
    const uint8_t *d = tc->data;
    size_t len = tc->dlen;
    uint32_t seq = tc->seq;
    if (len) {
        if (SEQ_LT(seq, t->rcv_nxt)) { /* overlaps what we have: trim */
            uint32_t old = t->rcv_nxt - seq;
            if (old >= len) {
                len = 0;
            } else {
                d += old;
                len -= old;
                seq = t->rcv_nxt;
            }
            want_ack(f);
        }
        if (len && seq != t->rcv_nxt) {
            f->nat->stats.tcp_out_of_window++;
            want_ack(f); /* duplicate ACK: the guest retransmits */
            len = 0;
        }
        if (len && t->guest_fin)
            len = 0;
        if (len) {
            size_t w = write_host(f, d, len);
            if (w == (size_t)-1) {
                tcp_abort(f, true);
                return;
            }
            t->rcv_nxt += (uint32_t)w;
            f->bytes_out += w;
            want_ack(f);
            if (w < len)
                return; /* the FIN (if any) is not reached yet */
        }
    }
    if ((tc->flags & VN_TCP_FIN) && !t->guest_fin && seq + len == t->rcv_nxt) {
        t->guest_fin = true;
        t->rcv_nxt++;
        shutdown(f->fd, SHUT_WR);
        want_ack(f);
    }
    if (!maybe_done(f) && (tc->flags & VN_TCP_ACK))
        tcp_push(f);
}

/* Guest SYN for a new outbound connection: start connect(). */
static void open_outbound(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                          const struct vn_tcp *tc, const struct vn_flow_key *k, uint16_t owner)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    if (vn_nat_host_sockaddr(nat, k, &ss, &sl)) {
        nat->stats.refused_policy++;
        rst_for(nat, gmac, ip, tc);
        return;
    }
    struct vn_flow *f = vn_nat_flow_new(nat, k, gmac, owner);
    if (!f) {
        rst_for(nat, gmac, ip, tc);
        return;
    }
    nat->stats.created[VN_NAT_TCP]++;
    vn_nat64_note(f, &ss);
    struct vn_tcp_flow *t = T(f);
    vn_timer_init(&t->timer, tcp_timer);
    t->state = VN_TCP_CONNECTING;
    t->rcv_nxt = tc->seq + 1;
    t->mss = tc->mss ? tc->mss : k->family == AF_INET6 ? 1220 : 536;
    t->ws_ok = tc->wscale >= 0;
    t->snd_wscale = t->ws_ok ? (uint8_t)tc->wscale : 0;
    t->rcv_wscale = t->ws_ok ? OUR_WSCALE : 0;
    t->snd_wnd = tc->win; /* SYN windows are never scaled */
    vn_random_bytes(&t->iss, sizeof t->iss);
    t->snd_una = t->snd_nxt = t->iss;
    f->fd = nat->sock.socket(nat->sock.ctx, ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0);
    if (f->fd < 0) {
        rst_for(nat, gmac, ip, tc);
        vn_nat_flow_free(f);
        return;
    }
    int one = 1;
    setsockopt(f->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int zero = 0;
    t->peek_off = setsockopt(f->fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) == 0;
    int r = nat->sock.connect(nat->sock.ctx, f->fd, (struct sockaddr *)&ss, sl);
    if (r < 0 && errno != EINPROGRESS) {
        int e = errno;
        if (e == ECONNREFUSED) {
            nat->stats.tcp_conn_refused++;
            rst_for(nat, gmac, ip, tc);
        } else {
            nat->stats.tcp_unreachable++;
            unreach(f, vn_nat_errno_icmp(e));
        }
        vn_nat_flow_free(f);
        return;
    }
    if (vn_io_add(nat->gw->loop, &f->io, f->fd, EPOLLOUT | EPOLLIN | EPOLLRDHUP | EPOLLET,
                  tcp_event) < 0) {
        rst_for(nat, gmac, ip, tc);
        vn_nat_flow_free(f);
        return;
    }
}

void vn_nat_tcp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                      const struct vn_frame *fr)
{
    struct vn_tcp tc;
    if (vn_tcp_parse(ip->l4, ip->l4_len, &tc)) {
        nat->stats.tcp_bad_segments++;
        return;
    }
    if (!(fr->off.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))) {
        uint32_t ps = vn_csum_pseudo(&ip->src, &ip->dst, VN_IPPROTO_TCP, ip->l4_len);
        if (vn_csum_fold(vn_csum_add(ps, ip->l4, ip->l4_len)) != 0) {
            nat->stats.tcp_csum_bad++;
            return;
        }
    }
    struct vn_flow_key k = vn_nat_key(IPPROTO_TCP, ip, tc.sport, tc.dport);
    struct vn_flow *f = vn_nat_flow_find(nat, &k);
    if (!f) {
        /* Only a plain SYN opens a connection; SYN+FIN (a scanner's trick)
         * is dropped, as a listening Linux socket would. */
        if ((tc.flags & (VN_TCP_SYN | VN_TCP_FIN)) == (VN_TCP_SYN | VN_TCP_FIN)) {
            nat->stats.tcp_bad_segments++;
            return;
        }
        if ((tc.flags & (VN_TCP_SYN | VN_TCP_ACK | VN_TCP_RST)) == VN_TCP_SYN)
            open_outbound(nat, gmac, ip, &tc, &k, fr->port);
        else
            rst_for(nat, gmac, ip, &tc);
        return;
    }
    struct vn_tcp_flow *t = T(f);
    f->last_ms = vn_nat_now_ms(nat);
    if (tc.flags & VN_TCP_RST) {
        /* Accept an RST inside the window only (RFC 5961 in spirit). */
        uint32_t lo = t->rcv_nxt, hi = t->rcv_nxt + VN_MAX(t->adv_wnd, 1u);
        if (t->state == VN_TCP_SYN_SENT ? (tc.flags & VN_TCP_ACK && tc.ack == t->iss + 1)
                                        : (SEQ_LEQ(lo, tc.seq) && SEQ_LT(tc.seq, hi))) {
            nat->stats.tcp_rst_from_guest++;
            tcp_abort(f, false);
        }
        return;
    }
    switch (t->state) {
    case VN_TCP_CONNECTING:
        return; /* retransmitted SYN while the host connects */
    case VN_TCP_SYN_RCVD:
        if ((tc.flags & VN_TCP_SYN) && !(tc.flags & VN_TCP_ACK)) {
            send_ctl(f, VN_TCP_SYN | VN_TCP_ACK, t->iss); /* our SYN-ACK was lost */
            return;
        }
        if (!(tc.flags & VN_TCP_ACK) || tc.ack != t->iss + 1) {
            rst_for(nat, gmac, ip, &tc);
            return;
        }
        t->state = VN_TCP_ESTABLISHED;
        t->snd_una = t->snd_nxt = t->iss + 1;
        vn_timer_cancel(nat->gw->loop, &t->timer);
        t->rto_ms = RTO_MIN_MS;
        t->retries = 0;
        established_input(f, &tc);
        return;
    case VN_TCP_SYN_SENT:
        if ((tc.flags & (VN_TCP_SYN | VN_TCP_ACK)) != (VN_TCP_SYN | VN_TCP_ACK) ||
            tc.ack != t->iss + 1)
            return;
        t->rcv_nxt = tc.seq + 1;
        t->mss = tc.mss ? tc.mss : f->key.family == AF_INET6 ? 1220 : 536;
        t->ws_ok = tc.wscale >= 0;
        t->snd_wscale = t->ws_ok ? (uint8_t)tc.wscale : 0;
        t->rcv_wscale = t->ws_ok ? OUR_WSCALE : 0;
        t->snd_wnd = tc.win;
        t->state = VN_TCP_ESTABLISHED;
        t->snd_una = t->snd_nxt = t->iss + 1;
        vn_timer_cancel(nat->gw->loop, &t->timer);
        t->rto_ms = RTO_MIN_MS;
        t->retries = 0;
        if (f->pending) { /* the guest answered: no longer a half-open connection */
            f->pending = false;
            vn_nat_forward_handshake_done(t->fwd);
        }
        send_ctl(f, VN_TCP_ACK, t->snd_nxt);
        tcp_push(f);
        return;
    case VN_TCP_ESTABLISHED:
        established_input(f, &tc);
        return;
    case VN_TCP_CLOSED:
        return;
    }
}

/* Host socket events. */
static void tcp_event(struct vn_io *io, uint32_t ev)
{
    struct vn_flow *f = VN_CONTAINER_OF(io, struct vn_flow, io);
    struct vn_tcp_flow *t = T(f);
    struct vn_nat *nat = f->nat;
    if (t->state == VN_TCP_CONNECTING) {
        if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            if (err == ECONNREFUSED) {
                nat->stats.tcp_conn_refused++;
                send_ctl(f, VN_TCP_RST | VN_TCP_ACK, 0);
                nat->stats.tcp_rst_to_guest++;
            } else {
                nat->stats.tcp_unreachable++;
                unreach(f, err == ENETUNREACH ? 0 : 1);
            }
            vn_nat_flow_free(f);
            return;
        }
        t->state = VN_TCP_SYN_RCVD;
        send_ctl(f, VN_TCP_SYN | VN_TCP_ACK, t->iss);
        arm_rto(f);
        set_events(f);
        return;
    }
    if (ev & EPOLLERR) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err && err != EAGAIN) {
            tcp_abort(f, true);
            return;
        }
    }
    if ((ev & EPOLLOUT) && t->want_out) {
        t->want_out = false;
        set_events(f);
        /* Space again: re-open the window. After a refused write, a window
         * update followed by three identical duplicate ACKs makes the guest
         * resend what the socket refused without waiting for its
         * retransmission timer. */
        int n = t->refused ? 4 : 1;
        t->refused = false;
        for (int i = 0; i < n && t->state == VN_TCP_ESTABLISHED; i++)
            send_ctl(f, VN_TCP_ACK, t->snd_nxt);
    }
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        t->host_rdhup = true;
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
        t->host_quiet = false;
        tcp_push(f);
    }
}

/* Retransmission, handshake and zero-window probe timer. */
static void tcp_timer(struct vn_timer *tm)
{
    struct vn_flow *f = VN_CONTAINER_OF(tm, struct vn_flow, u.tcp.timer);
    struct vn_tcp_flow *t = T(f);
    t->rto_ms = VN_MIN(t->rto_ms * 2, (uint32_t)RTO_MAX_MS);
    if (t->state == VN_TCP_SYN_RCVD || t->state == VN_TCP_SYN_SENT) {
        if (++t->retries > SYN_RETRIES) {
            tcp_abort(f, false);
            return;
        }
        if (t->state == VN_TCP_SYN_SENT && vn_mac_is_zero(f->gmac)) {
            struct vn_addr g = vn_flow_gaddr(&f->key);
            const uint8_t *mac = vn_gw_neigh_lookup(f->nat->gw, &g);
            if (mac)
                memcpy(f->gmac, mac, 6);
        }
        if (!vn_mac_is_zero(f->gmac))
            send_ctl(f, t->state == VN_TCP_SYN_SENT ? VN_TCP_SYN : VN_TCP_SYN | VN_TCP_ACK,
                     t->iss);
        f->nat->stats.tcp_retransmits++;
        arm_rto(f);
        return;
    }
    if (t->state != VN_TCP_ESTABLISHED)
        return;
    if (t->snd_nxt == t->snd_una) { /* zero-window probe: an ACK makes the guest report */
        if (t->snd_wnd == 0) {
            send_ctl(f, VN_TCP_ACK, t->snd_nxt);
            arm_rto(f);
        }
        return;
    }
    if (++t->retries > DATA_RETRIES) {
        tcp_abort(f, true);
        return;
    }
    go_back(f);
    arm_rto(f);
}

void vn_nat_tcp_flush_acks(struct vn_nat *nat)
{
    struct vn_flow *f = nat->ack_list;
    nat->ack_list = NULL;
    while (f) {
        struct vn_tcp_flow *t = T(f);
        struct vn_flow *next = t->ack_next;
        t->ack_next = NULL;
        t->on_ack_list = false;
        if (f->in_use && t->ack_pending) {
            uint32_t before = t->snd_nxt;
            t->ack_pending = false;
            tcp_push(f); /* data segments carry the ACK too */
            if (f->in_use && t->snd_nxt == before && t->state == VN_TCP_ESTABLISHED)
                send_ctl(f, VN_TCP_ACK, t->snd_nxt);
        }
        f = next;
    }
}

int vn_nat_tcp_inbound(struct vn_nat *nat, struct vn_fwd *fw, int fd,
                       const struct sockaddr_storage *peer)
{
    const struct vn_addr *ga = &fw->conf.guest;
    struct vn_flow_key k = { .proto = IPPROTO_TCP, .family = ga->family };
    uint16_t cport;
    struct vn_addr ra = vn_nat_guest_view(nat, peer, &cport, ga->family);
    k.gport = fw->conf.guest_port;
    k.rport = cport;
    memcpy(k.gaddr, ga->a, 16);
    memcpy(k.raddr, ra.a, 16);
    if (vn_nat_flow_find(nat, &k))
        return -1; /* same tuple still in use (a very fast port reuse) */
    uint8_t zero_mac[6] = { 0 };
    const uint8_t *mac = vn_gw_neigh_lookup(nat->gw, ga);
    struct vn_flow *f = vn_nat_flow_new(nat, &k, mac ? mac : zero_mac, vn_nat_fwd_owner(nat, fw));
    if (!f)
        return -1;
    nat->stats.created[VN_NAT_TCP]++;
    f->inbound = true;
    f->fd = fd;
    struct vn_tcp_flow *t = T(f);
    vn_timer_init(&t->timer, tcp_timer);
    t->fwd = fw;
    f->pending = true;
    fw->pending++;
    t->state = VN_TCP_SYN_SENT;
    t->mss = ga->family == AF_INET6 ? 1220 : 536;
    vn_random_bytes(&t->iss, sizeof t->iss);
    t->snd_una = t->snd_nxt = t->iss;
    int one = 1, zero = 0;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    t->peek_off = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) == 0;
    if (vn_io_add(nat->gw->loop, &f->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, tcp_event) < 0) {
        f->fd = -1;
        vn_nat_flow_free(f);
        return -1;
    }
    if (mac)
        send_ctl(f, VN_TCP_SYN, t->iss);
    t->rto_ms = mac ? 1000 : 100; /* unknown MAC: retry soon after the ARP reply */
    vn_timer_arm(nat->gw->loop, &t->timer, t->rto_ms);
    return 0;
}
