/* One WireGuard peer of a VPN device: its keys, handshake, sessions,
 * timers, queue and counters. The device (device.h) owns peers; timers.c
 * runs their timers. */
#ifndef VN_VPN_PEER_H
#define VN_VPN_PEER_H

#include "cookie.h"
#include "noise.h"
#include "pkt/addr.h"
#include "replay.h"

#include <stdbool.h>
#include <stdint.h>

/* The protocol's constants (WireGuard whitepaper, section 6.1), in ms. */
#define VN_REKEY_AFTER_MESSAGES (UINT64_C(1) << 60)
#define VN_REKEY_AFTER_TIME 120000u
#define VN_REJECT_AFTER_TIME 180000u
#define VN_REKEY_ATTEMPT_TIME 90000u
#define VN_REKEY_TIMEOUT 5000u
#define VN_KEEPALIVE_TIMEOUT 10000u
#define VN_REKEY_JITTER_MS 334u       /* retries are delayed by up to a third of a second */
#define VN_MAX_HS_ATTEMPTS (VN_REKEY_ATTEMPT_TIME / VN_REKEY_TIMEOUT)
#define VN_INIT_MIN_GAP_MS 20u        /* initiations of one peer closer than this are a flood */

#define VN_VPN_QUEUE 64               /* packets kept per peer while a handshake runs */
#define VN_VPN_NAME_MAX 32

/* A transport session: the keys of one completed handshake. */
struct vn_vpn_session {
    bool valid;
    struct vn_noise_keys k;
    uint64_t born_ms;
    uint64_t send_counter;            /* the next counter we send with */
    struct vn_replay replay;          /* counters received */
};

/* Where a UDP datagram comes from or goes to. */
struct vn_vpn_endpoint {
    struct vn_addr ip;                /* family 0: unknown */
    uint16_t port;                    /* host order */
};

struct vn_vpn_peer_stats {
    uint64_t rx_bytes, tx_bytes;      /* authenticated datagrams, whole (as wg show counts) */
    uint64_t rx_packets, tx_packets;  /* inner packets delivered / sent */
    uint64_t handshakes;              /* completed, either role */
    uint64_t hs_initiations_sent, hs_responses_sent, cookies_rcvd;
    uint64_t keepalives_sent, keepalives_rcvd;
    uint64_t replayed;                /* data whose counter was seen or too old */
    uint64_t src_refused;             /* inner source not in the peer's allowed IPs */
    uint64_t queue_dropped;           /* packets dropped waiting for a handshake */
    uint64_t roams;                   /* endpoint changes */
};

struct vn_vpn_peer {
    uint16_t id;                      /* slot in the device (its AllowedIPs peer id) */
    char name[VN_VPN_NAME_MAX];
    struct vn_noise_remote remote;
    struct vn_cookie_maker cookie;
    struct vn_vpn_endpoint endpoint;
    uint16_t keepalive_s;             /* persistent keepalive, 0 = off */

    /* handshake we initiated */
    struct vn_noise_hs hs;
    uint64_t hs_sent_ms;              /* last initiation sent (0 = never) */
    unsigned hs_attempts;             /* initiations sent without an answer */
    uint8_t last_tai64n[VN_WG_TAI64N_LEN]; /* greatest timestamp of an initiation taken */
    uint64_t last_init_ms;            /* when we last took an initiation from it */

    /* sessions: the current one, the one before (still receives), the
     * next (responder: made, not yet confirmed by the initiator's first
     * packet) */
    struct vn_vpn_session sess[3];
    struct vn_vpn_session *cur, *prev, *next;
    bool rekey_on_rx_done;            /* the receive-side rekey of cur was asked */

    /* timers: absolute ms deadlines, 0 = off (timers.c) */
    uint64_t t_retransmit, t_keepalive, t_new_hs, t_zero, t_persistent;

    /* wall-clock time of the last completed handshake (for show) */
    uint64_t last_hs_sec;
    uint32_t last_hs_nsec;

    /* packets waiting for a session (each malloc'ed, lengths beside) */
    uint8_t *queue[VN_VPN_QUEUE];
    uint16_t queue_len[VN_VPN_QUEUE];
    unsigned qhead, qcount;

    struct vn_vpn_peer_stats st;
};

#endif
