/* The gateway's L3 node: what every gateway service uses to speak IPv4 to the
 * guests, and nothing else of the gateway.
 *
 * Theory of operation: frames are built in the gateway's transmit arena
 * (allocated once) and injected into the switch as one batch after the
 * current round of events (deferred work), or at once when the arena fills
 * outside the switch, so replies never re-enter a batch being switched. On
 * top of the arena: IPv4 headers, datagrams that are fragmented when larger
 * than the MTU (UDP, ICMP echo replies), ICMP errors quoting the offending
 * packet (RFC 1812), and the neighbour table (IPv4 address -> guest MAC,
 * open addressing, oldest entry evicted when full, an active owner's entry
 * not replaced by another MAC). DHCP, DNS and NAT use only this interface
 * and the struct vn_gw fields it documents (gateway.h). */
#ifndef VN_GW_L3_H
#define VN_GW_L3_H

#include "pkt/frame.h"

#include <stddef.h>
#include <stdint.h>

struct vn_gw;
struct vn_neigh;

/* Set up the transmit arena's deferred flush (vn_gw_new calls this). */
void vn_gw_l3_init(struct vn_gw *gw);

/* Space for a frame of up to maxlen bytes (from the Ethernet header), or NULL
 * if the arena is full (counted). Must be followed by vn_gw_frame_commit(). */
uint8_t *vn_gw_frame_alloc(struct vn_gw *gw, size_t maxlen);
/* Queue the frame last allocated, len bytes, with offload metadata (or NULL). */
void vn_gw_frame_commit(struct vn_gw *gw, size_t len, const struct vn_offload *off);
/* Inject queued frames now (only outside vn_switch_input()). */
void vn_gw_flush(struct vn_gw *gw);

/* Write an Ethernet + IPv4 header for a packet of l4len payload bytes from
 * src to dst (host order) toward dmac at f; returns the L4 header pointer. */
uint8_t *vn_gw_ip4_header(struct vn_gw *gw, uint8_t *f, const uint8_t dmac[6], uint32_t src,
                          uint32_t dst, uint8_t proto, size_t l4len);
/* Send an IPv4 datagram made of the 8-byte header h (UDP, ICMP echo) and
 * len bytes of data to a guest, as fragments when larger than the MTU.
 * Returns 0, or -1 if no space. */
int vn_gw_send_ip4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint32_t dst,
                   uint8_t proto, const uint8_t h[8], const void *data, size_t len);
/* Send a UDP datagram to a guest (checksummed; fragmented when larger than
 * the MTU). Returns 0, or -1 if no space. */
int vn_gw_send_udp4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, const void *data, size_t len);
/* Send an ICMP error (type, code, extra = next-hop MTU for type 3 code 4)
 * about the offending IPv4 packet orig (len bytes from its IP header) to
 * dmac. Never answers an ICMP error or a non-first fragment. */
void vn_gw_icmp4_error(struct vn_gw *gw, const uint8_t dmac[6], const uint8_t *orig, size_t len,
                       uint8_t type, uint8_t code, uint16_t extra);

/* Neighbour table: remember that ip (host order) is at mac, on authority
 * (a DHCP lease): replaces whatever was there. */
void vn_gw_neigh_learn(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6]);
/* The same from what a guest sent (ARP, IPv4 source): an entry another MAC
 * refreshed within VN_CONFLICT_RECENT_S is kept (counted), so a guest
 * cannot redirect the gateway's traffic for an active neighbour. */
void vn_gw_neigh_observe(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6]);
/* The entry for ip, or NULL (no ARP request is sent). */
const struct vn_neigh *vn_gw_neigh_peek(struct vn_gw *gw, uint32_t ip);
/* MAC for ip, or NULL if unknown (then an ARP request is sent). */
const uint8_t *vn_gw_neigh_lookup(struct vn_gw *gw, uint32_t ip);

#endif
