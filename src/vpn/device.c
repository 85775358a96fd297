/* A WireGuard device: peers, indexes, handshakes and the data path. See
 * device.h for the theory of operation. */
#include "device.h"

#include "core/log.h"
#include "timers.h"
#include "wire.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the receiver index table ---- */

static uint32_t idx_slot(const struct vn_vpn_dev *d, uint32_t index)
{
    return (index * 2654435761u) & (d->idx_cap - 1);
}

/* The peer id index belongs to, or VN_ALLOWED_NONE. */
static uint16_t idx_find(const struct vn_vpn_dev *d, uint32_t index)
{
    for (uint32_t i = idx_slot(d, index), n = 0; n < d->idx_cap; i = (i + 1) & (d->idx_cap - 1), n++) {
        if (!d->idx[i].used)
            return VN_ALLOWED_NONE;
        if (d->idx[i].index == index)
            return d->idx[i].peer;
    }
    return VN_ALLOWED_NONE;
}

/* Forget index (backward-shift deletion keeps probe chains whole). */
static void idx_del(struct vn_vpn_dev *d, uint32_t index)
{
    uint32_t mask = d->idx_cap - 1, i = idx_slot(d, index);
    for (uint32_t n = 0; n < d->idx_cap && d->idx[i].used; n++, i = (i + 1) & mask) {
        if (d->idx[i].index != index)
            continue;
        d->idx[i].used = false;
        for (uint32_t j = (i + 1) & mask; d->idx[j].used; j = (j + 1) & mask) {
            uint32_t home = idx_slot(d, d->idx[j].index);
            /* move j back to the hole at i unless its home lies in (i, j] */
            bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (stays)
                continue;
            d->idx[i] = d->idx[j];
            d->idx[j].used = false;
            i = j;
        }
        return;
    }
}

/* A fresh random index for peer, registered. The table holds at most four
 * indexes per peer slot in twice that room, so a free slot always exists. */
static uint32_t idx_new(struct vn_vpn_dev *d, uint16_t peer)
{
    for (;;) {
        uint32_t index;
        vn_crypto_random(&index, sizeof index);
        if (idx_find(d, index) != VN_ALLOWED_NONE)
            continue;
        uint32_t i = idx_slot(d, index);
        while (d->idx[i].used)
            i = (i + 1) & (d->idx_cap - 1);
        d->idx[i] = (struct vn_vpn_idx){ index, peer, true };
        return index;
    }
}

/* ---- sessions ---- */

static void session_clear(struct vn_vpn_dev *d, struct vn_vpn_session *s)
{
    if (s->valid)
        idx_del(d, s->k.local_index);
    vn_noise_keys_clear(&s->k);
    memset(s, 0, sizeof *s);
}

void vn_vpn_peer_clear_keys(struct vn_vpn_dev *d, struct vn_vpn_peer *p)
{
    for (int i = 0; i < 3; i++)
        session_clear(d, &p->sess[i]);
    if (p->hs.state)
        idx_del(d, p->hs.local_index);
    vn_noise_hs_clear(&p->hs);
    p->t_retransmit = p->t_keepalive = p->t_new_hs = p->t_zero = 0;
    p->hs_attempts = 0;
}

/* The session slot none of cur/prev/next uses (after clearing it). */
static struct vn_vpn_session *session_spare(struct vn_vpn_dev *d, struct vn_vpn_peer *p)
{
    for (int i = 0; i < 3; i++) {
        struct vn_vpn_session *s = &p->sess[i];
        if (s != p->cur && s != p->prev && s != p->next)
            return s;
    }
    /* all three in use: the previous one goes */
    struct vn_vpn_session *s = p->prev;
    p->prev = NULL;
    session_clear(d, s);
    return s;
}

/* Whether s may still send at now_ms. */
static bool session_sendable(const struct vn_vpn_session *s, uint64_t now_ms)
{
    return s && s->valid && now_ms - s->born_ms < VN_REJECT_AFTER_TIME &&
           s->send_counter < VN_REJECT_AFTER_MESSAGES;
}

/* ---- sending ---- */

static void send_raw(struct vn_vpn_dev *d, struct vn_vpn_peer *p, const uint8_t *buf, size_t len,
                     uint64_t now_ms)
{
    d->io.send(d->io.ctx, &p->endpoint, buf, len);
    d->st.tx_datagrams++;
    p->st.tx_bytes += len;
    vn_vpn_timers_any_sent(p, now_ms);
}

static void wall_now(struct vn_vpn_dev *d, uint64_t *sec, uint32_t *nsec)
{
    if (d->io.wall) {
        d->io.wall(d->io.ctx, sec, nsec);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    *sec = (uint64_t)ts.tv_sec;
    *nsec = (uint32_t)ts.tv_nsec;
}

void vn_vpn_send_initiation(struct vn_vpn_dev *d, struct vn_vpn_peer *p, bool is_retry,
                            uint64_t now_ms)
{
    if (!p->endpoint.ip.family) {
        d->st.no_endpoint++;
        return;
    }
    if (!is_retry && p->hs.state == VN_NOISE_INIT_SENT && p->hs_sent_ms &&
        now_ms - p->hs_sent_ms < VN_REKEY_TIMEOUT)
        return; /* one is on its way */
    if (!is_retry)
        p->hs_attempts = 0;
    if (p->hs.state)
        idx_del(d, p->hs.local_index);
    uint64_t sec;
    uint32_t nsec;
    wall_now(d, &sec, &nsec);
    uint8_t ts[VN_WG_TAI64N_LEN], msg[VN_WG_INIT_LEN];
    /* rounded down to 2^24 ns, as WireGuard does: the timestamp must not
     * reveal the sender's clock finely */
    vn_noise_tai64n(ts, sec, nsec & ~((UINT32_C(1) << 24) - 1));
    uint32_t index = idx_new(d, p->id);
    if (vn_noise_init_create(&p->hs, &d->local, &p->remote, index, ts, msg) < 0 ||
        vn_cookie_add_macs(&p->cookie, p->remote.mac1_key, msg, sizeof msg, now_ms) < 0) {
        idx_del(d, index);
        vn_noise_hs_clear(&p->hs);
        return;
    }
    p->hs_sent_ms = now_ms;
    p->hs_attempts++;
    p->st.hs_initiations_sent++;
    send_raw(d, p, msg, sizeof msg, now_ms);
    vn_vpn_timers_hs_initiated(p, now_ms);
}

/* Encrypt pkt (len bytes; NULL/0 = keepalive) with p's current session and
 * send it. Returns 0, or -1 when there is no usable session. */
static int send_data(struct vn_vpn_dev *d, struct vn_vpn_peer *p, const uint8_t *pkt, size_t len,
                     uint64_t now_ms)
{
    struct vn_vpn_session *s = p->cur;
    if (!session_sendable(s, now_ms) || !p->endpoint.ip.family)
        return -1;
    size_t padded = len + vn_wg_pad_len(len, d->mtu);
    size_t total = VN_WG_DATA_HLEN + padded + VN_WG_TAG_LEN;
    uint8_t stackbuf[2048], *buf = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (!buf)
        return -1;
    uint64_t counter = s->send_counter++;
    vn_wg_build_data_hdr(buf, total, s->k.remote_index, counter);
    uint8_t *pl = buf + VN_WG_DATA_HLEN;
    if (len)
        memcpy(pl, pkt, len);
    memset(pl + len, 0, padded - len);
    vn_aead_seal(pl, pl, padded, counter, s->k.send, NULL, 0);
    send_raw(d, p, buf, total, now_ms);
    if (buf != stackbuf)
        free(buf);
    if (len) {
        p->st.tx_packets++;
        vn_vpn_timers_data_sent(p, now_ms);
    } else {
        p->st.keepalives_sent++;
    }
    /* keep the key fresh (whitepaper 6.2): the initiator rekeys after
     * REKEY_AFTER_TIME, either side after REKEY_AFTER_MESSAGES */
    if (s->send_counter > VN_REKEY_AFTER_MESSAGES ||
        (s->k.initiator && now_ms - s->born_ms >= VN_REKEY_AFTER_TIME))
        vn_vpn_send_initiation(d, p, false, now_ms);
    return 0;
}

void vn_vpn_send_keepalive(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms)
{
    if (p->qcount)
        return; /* queued data will go as soon as a session exists */
    if (send_data(d, p, NULL, 0, now_ms) < 0)
        vn_vpn_send_initiation(d, p, false, now_ms);
}

void vn_vpn_peer_queue_clear(struct vn_vpn_peer *p)
{
    while (p->qcount) {
        free(p->queue[p->qhead]);
        p->queue[p->qhead] = NULL;
        p->qhead = (p->qhead + 1) % VN_VPN_QUEUE;
        p->qcount--;
    }
}

/* Keep pkt until a session exists; the oldest goes when the queue is full. */
static void queue_packet(struct vn_vpn_dev *d, struct vn_vpn_peer *p, const uint8_t *pkt,
                         size_t len)
{
    if (p->qcount == VN_VPN_QUEUE) {
        free(p->queue[p->qhead]);
        p->queue[p->qhead] = NULL;
        p->qhead = (p->qhead + 1) % VN_VPN_QUEUE;
        p->qcount--;
        p->st.queue_dropped++;
        d->st.queue_dropped++;
    }
    uint8_t *c = malloc(len ? len : 1);
    if (!c) {
        d->st.queue_dropped++;
        return;
    }
    memcpy(c, pkt, len);
    unsigned at = (p->qhead + p->qcount) % VN_VPN_QUEUE;
    p->queue[at] = c;
    p->queue_len[at] = (uint16_t)len;
    p->qcount++;
}

/* Send what waited for a session; with nothing waiting, a keepalive (the
 * initiator's confirmation of a new session). */
static void queue_flush(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms)
{
    if (!p->qcount) {
        send_data(d, p, NULL, 0, now_ms);
        return;
    }
    while (p->qcount) {
        unsigned at = p->qhead;
        if (send_data(d, p, p->queue[at], p->queue_len[at], now_ms) < 0)
            return;
        free(p->queue[at]);
        p->queue[at] = NULL;
        p->qhead = (p->qhead + 1) % VN_VPN_QUEUE;
        p->qcount--;
    }
}

void vn_vpn_peer_send(struct vn_vpn_dev *d, struct vn_vpn_peer *p, const uint8_t *pkt,
                      size_t len, uint64_t now_ms)
{
    if (len > UINT16_MAX)
        return;
    if (p->qcount || send_data(d, p, pkt, len, now_ms) < 0) {
        queue_packet(d, p, pkt, len);
        vn_vpn_send_initiation(d, p, false, now_ms);
    }
}

/* The destination address of an IP packet; -1 when it is not one. */
static int packet_addr(const uint8_t *pkt, size_t len, bool dst, struct vn_addr *a)
{
    if (len >= 20 && pkt[0] >> 4 == 4) {
        memset(a, 0, sizeof *a);
        a->family = AF_INET;
        memcpy(a->a, pkt + (dst ? 16 : 12), 4);
        return 0;
    }
    if (len >= 40 && pkt[0] >> 4 == 6) {
        memset(a, 0, sizeof *a);
        a->family = AF_INET6;
        memcpy(a->a, pkt + (dst ? 24 : 8), 16);
        return 0;
    }
    return -1;
}

struct vn_vpn_peer *vn_vpn_dev_route(struct vn_vpn_dev *d, const struct vn_addr *a)
{
    int id = vn_allowed_lookup(&d->allowed, a);
    return id < 0 || id >= d->max_peers ? NULL : d->peers[id];
}

struct vn_vpn_peer *vn_vpn_dev_output(struct vn_vpn_dev *d, const uint8_t *pkt, size_t len,
                                      uint64_t now_ms)
{
    struct vn_addr dst;
    struct vn_vpn_peer *p = packet_addr(pkt, len, true, &dst) ? NULL : vn_vpn_dev_route(d, &dst);
    if (!p) {
        d->st.no_route++;
        return NULL;
    }
    vn_vpn_peer_send(d, p, pkt, len, now_ms);
    return p;
}

/* ---- receiving ---- */

/* The source as the cookie's MAC covers it: address bytes, then the port. */
static size_t cookie_src(const struct vn_vpn_endpoint *ep, uint8_t out[VN_COOKIE_SRC_MAX])
{
    size_t n = ep->ip.family == AF_INET6 ? 16 : 4;
    memcpy(out, ep->ip.a, n);
    out[n] = (uint8_t)(ep->port >> 8);
    out[n + 1] = (uint8_t)ep->port;
    return n + 2;
}

/* Whether the device is under load now (and take a token for this message). */
static bool under_load(struct vn_vpn_dev *d, uint64_t now_ms)
{
    uint64_t el = now_ms - d->hs_refill_ms;
    if (el) {
        uint64_t add = el * VN_VPN_HS_RATE / 1000u;
        if (add) {
            d->hs_tokens = (uint32_t)(d->hs_tokens + add > VN_VPN_HS_BURST ? VN_VPN_HS_BURST
                                                                          : d->hs_tokens + add);
            d->hs_refill_ms = now_ms;
        }
    }
    if (d->hs_tokens) {
        d->hs_tokens--;
    } else {
        d->load_until_ms = now_ms + VN_VPN_LOAD_HOLD_MS;
    }
    return now_ms < d->load_until_ms;
}

/* mac1 (and under load mac2) of a handshake message. Returns true when it
 * may be processed; false when dropped or answered with a cookie. */
static bool handshake_gate(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                           size_t len, uint64_t now_ms)
{
    uint8_t src[VN_COOKIE_SRC_MAX];
    size_t srclen = cookie_src(ep, src);
    enum vn_cookie_verdict v = vn_cookie_check(&d->checker, buf, len, src, srclen, false, now_ms);
    if (v == VN_COOKIE_BAD_MAC1) {
        d->st.bad_mac1++;
        return false;
    }
    /* only a message with a valid mac1 counts as load: garbage costs one
     * keyed hash, and must not make every peer pay a cookie round trip */
    bool load = under_load(d, now_ms);
    if (load)
        v = vn_cookie_check(&d->checker, buf, len, src, srclen, true, now_ms);
    if (load && v != VN_COOKIE_MAC2_OK) {
        d->st.under_load++;
        uint8_t reply[VN_WG_COOKIE_LEN];
        if (vn_cookie_reply_create(&d->checker, buf, len, src, srclen, now_ms, reply) == 0) {
            d->io.send(d->io.ctx, ep, reply, sizeof reply);
            d->st.tx_datagrams++;
            d->st.cookies_sent++;
        }
        return false;
    }
    if (load && !vn_rl_allow(&d->rl, &ep->ip, now_ms)) {
        d->st.ratelimited++; /* a cookie proves the address only: bound its work */
        return false;
    }
    return true;
}

static void roam(struct vn_vpn_peer *p, const struct vn_vpn_endpoint *ep)
{
    if (p->endpoint.port != ep->port || !vn_addr_eq(&p->endpoint.ip, &ep->ip)) {
        if (p->endpoint.ip.family)
            p->st.roams++;
        p->endpoint = *ep;
    }
}

static void handshake_done(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms)
{
    p->st.handshakes++;
    uint64_t sec;
    uint32_t nsec;
    wall_now(d, &sec, &nsec);
    p->last_hs_sec = sec;
    p->last_hs_nsec = nsec;
    p->rekey_on_rx_done = false;
    vn_vpn_timers_session_derived(p, now_ms);
}

static void input_init(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                       size_t len, const struct vn_wg_init *m, uint64_t now_ms)
{
    if (!handshake_gate(d, ep, buf, len, now_ms))
        return;
    struct vn_noise_hs hs;
    uint8_t spub[VN_KEY_LEN], ts[VN_WG_TAI64N_LEN];
    if (vn_noise_init_consume(&hs, &d->local, m, spub, ts) < 0) {
        d->st.bad_handshake++;
        return;
    }
    struct vn_vpn_peer *p = vn_vpn_peer_by_key(d, spub);
    if (!p) {
        d->st.unknown_peer++;
        vn_noise_hs_clear(&hs);
        return;
    }
    if (memcmp(ts, p->last_tai64n, sizeof ts) <= 0) {
        d->st.stale_timestamp++; /* a replayed initiation */
        vn_noise_hs_clear(&hs);
        return;
    }
    if (p->last_init_ms && now_ms - p->last_init_ms < VN_INIT_MIN_GAP_MS) {
        d->st.init_flood++;
        vn_noise_hs_clear(&hs);
        return;
    }
    /* an unconfirmed session gives way to the newer one */
    struct vn_vpn_session *s = p->next ? p->next : session_spare(d, p);
    session_clear(d, s);
    uint8_t msg[VN_WG_RESP_LEN];
    uint32_t index = idx_new(d, p->id);
    if (vn_noise_resp_create(&hs, &d->local, &p->remote, index, msg, &s->k) < 0) {
        idx_del(d, index);
        d->st.bad_handshake++;
        return;
    }
    memcpy(p->last_tai64n, ts, sizeof ts);
    p->last_init_ms = now_ms;
    s->valid = true;
    s->born_ms = now_ms;
    s->send_counter = 0;
    vn_replay_init(&s->replay);
    p->next = s;
    roam(p, ep);
    p->st.rx_bytes += len;
    vn_vpn_timers_any_rcvd(p, now_ms);
    if (vn_cookie_add_macs(&p->cookie, p->remote.mac1_key, msg, sizeof msg, now_ms) < 0)
        return;
    p->st.hs_responses_sent++;
    send_raw(d, p, msg, sizeof msg, now_ms);
    handshake_done(d, p, now_ms);
}

static void input_resp(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                       size_t len, const struct vn_wg_resp *m, uint64_t now_ms)
{
    uint16_t id = idx_find(d, m->receiver);
    struct vn_vpn_peer *p = id < d->max_peers ? d->peers[id] : NULL;
    if (!p || p->hs.state != VN_NOISE_INIT_SENT || p->hs.local_index != m->receiver) {
        d->st.unknown_index++;
        return;
    }
    if (!handshake_gate(d, ep, buf, len, now_ms))
        return;
    struct vn_vpn_session *s = session_spare(d, p);
    uint32_t index = p->hs.local_index;
    if (vn_noise_resp_consume(&p->hs, &d->local, &p->remote, m, &s->k) < 0) {
        d->st.bad_handshake++;
        return;
    }
    /* the handshake's index now names the session */
    s->valid = true;
    s->born_ms = now_ms;
    s->send_counter = 0;
    s->k.local_index = index;
    vn_replay_init(&s->replay);
    if (p->prev)
        session_clear(d, p->prev);
    p->prev = p->cur;
    p->cur = s;
    roam(p, ep);
    p->st.rx_bytes += len;
    vn_vpn_timers_any_rcvd(p, now_ms);
    vn_vpn_timers_hs_complete(p);
    handshake_done(d, p, now_ms);
    queue_flush(d, p, now_ms);
}

static void input_cookie(struct vn_vpn_dev *d, const struct vn_wg_cookie *m, uint64_t now_ms)
{
    uint16_t id = idx_find(d, m->receiver);
    struct vn_vpn_peer *p = id < d->max_peers ? d->peers[id] : NULL;
    if (!p) {
        d->st.unknown_index++;
        return;
    }
    if (vn_cookie_reply_consume(&p->cookie, p->remote.cookie_key, m, now_ms) < 0) {
        d->st.bad_cookie++;
        return;
    }
    p->st.cookies_rcvd++;
}

/* The session of p that index names, or NULL. */
static struct vn_vpn_session *session_of(struct vn_vpn_peer *p, uint32_t index)
{
    struct vn_vpn_session *c[3] = { p->cur, p->next, p->prev };
    for (int i = 0; i < 3; i++)
        if (c[i] && c[i]->valid && c[i]->k.local_index == index)
            return c[i];
    return NULL;
}

/* The length of the IP packet at pl (plaintext of n bytes, padding after
 * it), or 0 when it is not a well-formed one. */
static size_t inner_len(const uint8_t *pl, size_t n)
{
    size_t l;
    if (n >= 20 && pl[0] >> 4 == 4)
        l = (size_t)pl[2] << 8 | pl[3];
    else if (n >= 40 && pl[0] >> 4 == 6)
        l = 40 + ((size_t)pl[4] << 8 | pl[5]);
    else
        return 0;
    return l <= n && l >= 20 ? l : 0;
}

static void input_data(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                       size_t len, const struct vn_wg_data *m, uint64_t now_ms)
{
    uint16_t id = idx_find(d, m->receiver);
    struct vn_vpn_peer *p = id < d->max_peers ? d->peers[id] : NULL;
    struct vn_vpn_session *s = p ? session_of(p, m->receiver) : NULL;
    if (!s) {
        d->st.unknown_index++;
        return;
    }
    if (now_ms - s->born_ms >= VN_REJECT_AFTER_TIME) {
        d->st.expired++;
        return;
    }
    if (!vn_replay_check(&s->replay, m->counter)) {
        d->st.replayed++;
        p->st.replayed++;
        return;
    }
    uint8_t *pl = buf + VN_WG_DATA_HLEN;
    size_t n = m->packet_len - VN_WG_TAG_LEN;
    if (vn_aead_open(pl, pl, m->packet_len, m->counter, s->k.recv, NULL, 0) < 0) {
        d->st.bad_packet++;
        return;
    }
    if (!vn_replay_accept(&s->replay, m->counter)) {
        d->st.replayed++;
        p->st.replayed++;
        return;
    }
    /* authenticated */
    roam(p, ep);
    p->st.rx_bytes += len;
    vn_vpn_timers_any_rcvd(p, now_ms);
    if (s == p->next) {
        /* the initiator's first packet confirms the responder's session */
        if (p->prev)
            session_clear(d, p->prev);
        p->prev = p->cur;
        p->cur = s;
        p->next = NULL;
        vn_vpn_timers_hs_complete(p);
        queue_flush(d, p, now_ms);
    }
    /* keep the key fresh from the receiving side (whitepaper 6.2) */
    if (s == p->cur && s->k.initiator && !p->rekey_on_rx_done &&
        now_ms - s->born_ms >= VN_REJECT_AFTER_TIME - VN_KEEPALIVE_TIMEOUT - VN_REKEY_TIMEOUT) {
        p->rekey_on_rx_done = true;
        vn_vpn_send_initiation(d, p, false, now_ms);
    }
    if (n == 0) {
        p->st.keepalives_rcvd++;
        return;
    }
    size_t il = inner_len(pl, n);
    struct vn_addr src;
    if (!il || packet_addr(pl, il, false, &src) < 0) {
        d->st.bad_inner++;
        return;
    }
    if (vn_vpn_dev_route(d, &src) != p) {
        d->st.src_refused++;
        p->st.src_refused++;
        return;
    }
    vn_vpn_timers_data_rcvd(p, now_ms);
    p->st.rx_packets++;
    d->io.deliver(d->io.ctx, p, pl, il);
}

void vn_vpn_dev_input(struct vn_vpn_dev *d, const struct vn_vpn_endpoint *ep, uint8_t *buf,
                      size_t len, uint64_t now_ms)
{
    d->st.rx_datagrams++;
    struct vn_wg_msg m;
    int t = vn_wg_parse(buf, len, &m);
    if (t < 0) {
        d->st.malformed[-t]++;
        return;
    }
    switch (t) {
    case VN_WG_INITIATION:
        input_init(d, ep, buf, len, &m.init, now_ms);
        break;
    case VN_WG_RESPONSE:
        input_resp(d, ep, buf, len, &m.resp, now_ms);
        break;
    case VN_WG_COOKIE:
        input_cookie(d, &m.cookie, now_ms);
        break;
    case VN_WG_DATA:
        input_data(d, ep, buf, len, &m.data, now_ms);
        break;
    }
}

/* ---- the device and its peers ---- */

struct vn_vpn_dev *vn_vpn_dev_new(const uint8_t priv[VN_KEY_LEN], uint16_t max_peers,
                                  const struct vn_vpn_io *io, char *err, size_t errlen)
{
    if (!max_peers || max_peers >= VN_ALLOWED_NONE) {
        snprintf(err, errlen, "max_peers must be 1..%u", VN_ALLOWED_NONE - 1);
        return NULL;
    }
    struct vn_vpn_dev *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->io = *io;
    d->max_peers = max_peers;
    d->hs_tokens = VN_VPN_HS_BURST;
    d->idx_cap = 16;
    while (d->idx_cap < (uint32_t)max_peers * 8u)
        d->idx_cap <<= 1;
    d->peers = calloc(max_peers, sizeof *d->peers);
    d->idx = calloc(d->idx_cap, sizeof *d->idx);
    if (!d->peers || !d->idx ||
        vn_allowed_init(&d->allowed, (uint32_t)max_peers * VN_VPN_ALLOWED_PER_PEER) < 0) {
        snprintf(err, errlen, "out of memory");
        vn_vpn_dev_free(d);
        return NULL;
    }
    if (vn_noise_local_init(&d->local, priv) < 0 ||
        vn_cookie_checker_init(&d->checker, d->local.pub) < 0) {
        snprintf(err, errlen, "the private key gives no usable public key");
        vn_vpn_dev_free(d);
        return NULL;
    }
    return d;
}

void vn_vpn_dev_free(struct vn_vpn_dev *d)
{
    if (!d)
        return;
    if (d->peers)
        for (unsigned i = 0; i < d->max_peers; i++)
            if (d->peers[i])
                vn_vpn_peer_del(d, d->peers[i]);
    free(d->peers);
    free(d->idx);
    if (d->allowed.nodes)
        vn_allowed_free(&d->allowed);
    vn_wipe(d, sizeof *d);
    free(d);
}

struct vn_vpn_peer *vn_vpn_peer_by_key(struct vn_vpn_dev *d, const uint8_t pub[VN_KEY_LEN])
{
    for (unsigned i = 0; i < d->max_peers; i++)
        if (d->peers[i] && !memcmp(d->peers[i]->remote.pub, pub, VN_KEY_LEN))
            return d->peers[i];
    return NULL;
}

struct vn_vpn_peer *vn_vpn_peer_by_name(struct vn_vpn_dev *d, const char *name)
{
    for (unsigned i = 0; i < d->max_peers; i++)
        if (d->peers[i] && !strcmp(d->peers[i]->name, name))
            return d->peers[i];
    return NULL;
}

struct vn_vpn_peer *vn_vpn_peer_add(struct vn_vpn_dev *d, const char *name,
                                    const uint8_t pub[VN_KEY_LEN], const uint8_t *psk,
                                    const struct vn_vpn_endpoint *ep, uint16_t keepalive_s,
                                    const struct vn_addr *allowed, const uint8_t *allowed_len,
                                    unsigned nallowed, char *err, size_t errlen)
{
    if (!memcmp(pub, d->local.pub, VN_KEY_LEN)) {
        snprintf(err, errlen, "the peer's public key is the device's own");
        return NULL;
    }
    if (vn_vpn_peer_by_key(d, pub)) {
        snprintf(err, errlen, "a peer with this public key exists");
        return NULL;
    }
    if (name && name[0] && vn_vpn_peer_by_name(d, name)) {
        snprintf(err, errlen, "a peer named '%s' exists", name);
        return NULL;
    }
    if (nallowed > VN_VPN_ALLOWED_PER_PEER) {
        snprintf(err, errlen, "at most %u allowed IPs per peer", VN_VPN_ALLOWED_PER_PEER);
        return NULL;
    }
    for (unsigned i = 0; i < nallowed; i++) {
        /* an exact prefix of another peer would move to this one: refuse */
        int o = vn_allowed_owner(&d->allowed, &allowed[i], allowed_len[i]);
        if (o >= 0 && o < d->max_peers && d->peers[o]) {
            char b[64];
            vn_addr_str(&allowed[i], b, sizeof b);
            snprintf(err, errlen, "allowed IP %s/%u belongs to peer '%s'", b, allowed_len[i],
                     d->peers[o]->name);
            return NULL;
        }
    }
    unsigned slot = 0;
    while (slot < d->max_peers && d->peers[slot])
        slot++;
    if (slot == d->max_peers) {
        snprintf(err, errlen, "the peer table is full (max_peers %u)", d->max_peers);
        return NULL;
    }
    struct vn_vpn_peer *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->id = (uint16_t)slot;
    if (name && name[0])
        snprintf(p->name, sizeof p->name, "%s", name);
    else
        snprintf(p->name, sizeof p->name, "peer%u", slot + 1);
    if (vn_noise_remote_init(&p->remote, &d->local, pub, psk) < 0) {
        snprintf(err, errlen, "the peer's public key is not usable (low order)");
        vn_wipe(p, sizeof *p);
        free(p);
        return NULL;
    }
    if (ep)
        p->endpoint = *ep;
    p->keepalive_s = keepalive_s;
    for (unsigned i = 0; i < nallowed; i++) {
        int r = vn_allowed_insert(&d->allowed, &allowed[i], allowed_len[i], p->id);
        if (r < 0) {
            vn_allowed_remove_peer(&d->allowed, p->id);
            snprintf(err, errlen, r == -1 ? "the allowed IPs table is full" : "bad allowed IP prefix");
            vn_wipe(p, sizeof *p);
            free(p);
            return NULL;
        }
    }
    d->peers[slot] = p;
    d->npeers++;
    /* a peer we know how to reach with a persistent keepalive connects at once */
    if (p->keepalive_s && p->endpoint.ip.family)
        p->t_persistent = 1;
    return p;
}

void vn_vpn_peer_del(struct vn_vpn_dev *d, struct vn_vpn_peer *p)
{
    vn_vpn_peer_clear_keys(d, p);
    vn_vpn_peer_queue_clear(p);
    vn_allowed_remove_peer(&d->allowed, p->id);
    d->peers[p->id] = NULL;
    d->npeers--;
    vn_wipe(p, sizeof *p);
    free(p);
}

uint64_t vn_vpn_dev_tick(struct vn_vpn_dev *d, uint64_t now_ms)
{
    uint64_t next = 0;
    for (unsigned i = 0; i < d->max_peers; i++) {
        struct vn_vpn_peer *p = d->peers[i];
        if (!p)
            continue;
        uint64_t t = vn_vpn_timers_run(d, p, now_ms);
        if (t && (!next || t < next))
            next = t;
    }
    return next;
}
