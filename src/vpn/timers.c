/* A peer's timers: see timers.h. */
#include "timers.h"

#include "crypto.h"

/* A delay of base ms plus up to VN_REKEY_JITTER_MS of jitter. */
static uint64_t jittered(uint64_t now_ms, uint64_t base)
{
    uint32_t r;
    vn_crypto_random(&r, sizeof r);
    return now_ms + base + r % VN_REKEY_JITTER_MS;
}

void vn_vpn_timers_data_sent(struct vn_vpn_peer *p, uint64_t now_ms)
{
    if (!p->t_new_hs)
        p->t_new_hs = jittered(now_ms, VN_KEEPALIVE_TIMEOUT + VN_REKEY_TIMEOUT);
}

void vn_vpn_timers_data_rcvd(struct vn_vpn_peer *p, uint64_t now_ms)
{
    if (!p->t_keepalive)
        p->t_keepalive = now_ms + VN_KEEPALIVE_TIMEOUT;
}

void vn_vpn_timers_any_sent(struct vn_vpn_peer *p, uint64_t now_ms)
{
    p->t_keepalive = 0;
    if (p->keepalive_s)
        p->t_persistent = now_ms + (uint64_t)p->keepalive_s * 1000u;
}

void vn_vpn_timers_any_rcvd(struct vn_vpn_peer *p, uint64_t now_ms)
{
    p->t_new_hs = 0;
    if (p->keepalive_s)
        p->t_persistent = now_ms + (uint64_t)p->keepalive_s * 1000u;
}

void vn_vpn_timers_hs_initiated(struct vn_vpn_peer *p, uint64_t now_ms)
{
    p->t_retransmit = jittered(now_ms, VN_REKEY_TIMEOUT);
}

void vn_vpn_timers_hs_complete(struct vn_vpn_peer *p)
{
    p->t_retransmit = 0;
    p->hs_attempts = 0;
}

void vn_vpn_timers_session_derived(struct vn_vpn_peer *p, uint64_t now_ms)
{
    p->t_zero = now_ms + 3u * (uint64_t)VN_REJECT_AFTER_TIME;
}

/* Whether deadline t (0 = off) has come. */
static bool due(uint64_t t, uint64_t now_ms)
{
    return t && t <= now_ms;
}

static uint64_t earliest(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

uint64_t vn_vpn_timers_run(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms)
{
    if (due(p->t_retransmit, now_ms)) {
        p->t_retransmit = 0;
        if (p->hs_attempts >= VN_MAX_HS_ATTEMPTS) {
            /* Give up: the packets waiting for this handshake go too. */
            vn_noise_hs_clear(&p->hs);
            p->hs_attempts = 0;
            p->t_new_hs = 0;
            vn_vpn_peer_queue_clear(p);
        } else {
            vn_vpn_send_initiation(d, p, true, now_ms);
        }
    }
    if (due(p->t_keepalive, now_ms)) {
        p->t_keepalive = 0;
        vn_vpn_send_keepalive(d, p, now_ms);
    }
    if (due(p->t_new_hs, now_ms)) {
        p->t_new_hs = 0;
        vn_vpn_send_initiation(d, p, false, now_ms);
    }
    if (due(p->t_zero, now_ms)) {
        p->t_zero = 0;
        vn_vpn_peer_clear_keys(d, p);
    }
    if (due(p->t_persistent, now_ms)) {
        p->t_persistent = 0;
        vn_vpn_send_keepalive(d, p, now_ms);
        if (p->keepalive_s && !p->t_persistent) /* no session yet: try again later */
            p->t_persistent = now_ms + (uint64_t)p->keepalive_s * 1000u;
    }
    uint64_t next = earliest(p->t_retransmit, p->t_keepalive);
    next = earliest(next, p->t_new_hs);
    next = earliest(next, p->t_zero);
    return earliest(next, p->t_persistent);
}
