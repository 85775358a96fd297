/* A peer's timers (WireGuard whitepaper, section 6), as deadlines the
 * device's tick runs.
 *
 * Theory of operation. Each timer is an absolute deadline in ms on the
 * peer (0 = off), moved by the events the packet paths report:
 *   retransmit  an initiation got no answer within REKEY_TIMEOUT (+ jitter):
 *               send another, at most VN_MAX_HS_ATTEMPTS in all, then give
 *               up and drop the queued packets;
 *   keepalive   we received data and sent nothing for KEEPALIVE_TIMEOUT:
 *               send an empty message so the other side knows we live;
 *   new_hs      we sent data and heard nothing for KEEPALIVE_TIMEOUT +
 *               REKEY_TIMEOUT: the session may be dead, handshake again;
 *   zero        no new session for 3 x REJECT_AFTER_TIME: wipe the keys;
 *   persistent  the configured persistent keepalive: an empty message
 *               after that many seconds without sending anything
 *               authenticated (keeps NAT mappings open).
 * Jitter comes from the crypto RNG so retries of many peers spread out. */
#ifndef VN_VPN_TIMERS_H
#define VN_VPN_TIMERS_H

#include "device.h"

void vn_vpn_timers_data_sent(struct vn_vpn_peer *p, uint64_t now_ms);
void vn_vpn_timers_data_rcvd(struct vn_vpn_peer *p, uint64_t now_ms);
void vn_vpn_timers_any_sent(struct vn_vpn_peer *p, uint64_t now_ms);
void vn_vpn_timers_any_rcvd(struct vn_vpn_peer *p, uint64_t now_ms);
void vn_vpn_timers_hs_initiated(struct vn_vpn_peer *p, uint64_t now_ms);
void vn_vpn_timers_hs_complete(struct vn_vpn_peer *p);
void vn_vpn_timers_session_derived(struct vn_vpn_peer *p, uint64_t now_ms);

/* Run p's timers due at now_ms; returns p's next deadline (0: none). */
uint64_t vn_vpn_timers_run(struct vn_vpn_dev *d, struct vn_vpn_peer *p, uint64_t now_ms);

#endif
