/* The gateway's L3 node: what every gateway service uses to speak IP (both families) to the
 * guests, and nothing else of the gateway.
 *
 * Theory of operation: frames are built in the gateway's transmit arena
 * (allocated once) and injected into the switch as one batch after the
 * current round of events (deferred work), or at once when the arena fills
 * outside the switch, so replies never re-enter a batch being switched. On
 * top of the arena: IPv4 and IPv6 headers, datagrams that are fragmented
 * when larger than the MTU (UDP, ICMP echo replies), ICMP and ICMPv6
 * errors quoting the offending packet (RFC 1812, RFC 4443), rate-limited,
 * and the neighbour table of both families (address -> guest MAC, open
 * addressing, oldest entry evicted when full, an active owner's entry not
 * replaced by another MAC; IPv6 misses send a neighbour solicitation to the
 * solicited-node group). DHCP, DNS and NAT use only this interface and the
 * struct vn_gw fields it documents (gateway.h). */
#ifndef VN_GW_L3_H
#define VN_GW_L3_H

#include "pkt/frame.h"
#include "pkt/ip.h"

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

/* Bytes of the IP header the gateway writes for a's family (20 or 40). */
static inline size_t vn_gw_ip_hlen(const struct vn_addr *a)
{
    return a->family == AF_INET6 ? 40 : 20;
}
/* Write an Ethernet + IP header (the family of src and dst) for a packet of
 * l4len payload bytes toward dmac at f; returns the L4 header pointer.
 * IPv4: DF set, TTL 64; IPv6: hop limit 64 (255 for neighbour discovery is
 * set by its caller). */
uint8_t *vn_gw_ip_header(struct vn_gw *gw, uint8_t *f, const uint8_t dmac[6],
                         const struct vn_addr *src, const struct vn_addr *dst, uint8_t proto,
                         size_t l4len);
/* Write an Ethernet + IPv4 header (addresses in host order); the IPv4-only
 * services (DHCPv4, ARP-era code) use it. */
uint8_t *vn_gw_ip4_header(struct vn_gw *gw, uint8_t *f, const uint8_t dmac[6], uint32_t src,
                          uint32_t dst, uint8_t proto, size_t l4len);
/* Send a datagram made of the 8-byte header h (UDP, ICMP echo) and len bytes
 * of data to a guest, as fragments when larger than the MTU (IPv4
 * fragments, or IPv6 fragment headers: the gateway is the source). The
 * checksum in h must already be right. Returns 0, or -1 if no space or dst
 * is the IPv6 unspecified address (a request from :: is not answered). */
int vn_gw_send_ip(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *src,
                  const struct vn_addr *dst, uint8_t proto, const uint8_t h[8], const void *data,
                  size_t len);
int vn_gw_send_ip4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint32_t dst,
                   uint8_t proto, const uint8_t h[8], const void *data, size_t len);
/* Send a UDP datagram to a guest, either family (checksummed; fragmented
 * when larger than the MTU). Returns 0, or -1 if no space. */
int vn_gw_send_udp(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_addr *src,
                   uint16_t sport, const struct vn_addr *dst, uint16_t dport, const void *data,
                   size_t len);
int vn_gw_send_udp4(struct vn_gw *gw, const uint8_t dmac[6], uint32_t src, uint16_t sport,
                    uint32_t dst, uint16_t dport, const void *data, size_t len);

/* The ICMP errors a router sends, named once for both families (ICMPv4
 * type/code, ICMPv6 type/code). */
enum vn_icmp_err {
    VN_ICMPE_NET_UNREACH = 0, /* 3/0,  1/0 no route */
    VN_ICMPE_HOST_UNREACH,    /* 3/1,  1/3 address unreachable */
    VN_ICMPE_PORT_UNREACH,    /* 3/3,  1/4 */
    VN_ICMPE_ADMIN,           /* 3/13, 1/1 administratively prohibited */
    VN_ICMPE_TOO_BIG,         /* 3/4 (extra = next-hop MTU), 2/0 packet too big (MTU) */
    VN_ICMPE_TIME_EXCEEDED,   /* 11/0, 3/0 hop limit */
    VN_ICMPE_PARAM,           /* 12/0, 4/0 erroneous header field (extra = pointer) */
    VN_ICMPE_PARAM_NEXTHDR,   /* 12/0, 4/1 unrecognised next header (extra = pointer) */
    VN_ICMPE__COUNT
};
/* Send an ICMP or ICMPv6 error of kind k about the offending packet orig to
 * dmac (extra: the MTU or pointer the kind takes). Never answers an ICMP
 * error, a non-first fragment, or a packet from an unspecified or multicast
 * source; errors are rate-limited per gateway (a token bucket, RFC 4443
 * 2.4(f)), drops counted. */
void vn_gw_icmp_error(struct vn_gw *gw, const uint8_t dmac[6], const struct vn_ipp *orig,
                      enum vn_icmp_err k, uint32_t extra);
/* IPv4 form: orig is len bytes from its IPv4 header, type/code raw. */
void vn_gw_icmp4_error(struct vn_gw *gw, const uint8_t dmac[6], const uint8_t *orig, size_t len,
                       uint8_t type, uint8_t code, uint16_t extra);

/* Neighbour table (both families: ARP and neighbour discovery fill it).
 * Remember that ip is at mac, on authority (a DHCP lease): replaces
 * whatever was there. Addresses outside the network (its IPv4 subnet, its
 * IPv6 prefix and link-local fe80::/64) and the gateway's own are ignored. */
void vn_gw_neigh_learn(struct vn_gw *gw, const struct vn_addr *ip, const uint8_t mac[6]);
/* The same from what a guest sent (ARP, NS/NA, a packet's source): an entry
 * another MAC refreshed within VN_CONFLICT_RECENT_S is kept (counted), so a
 * guest cannot redirect the gateway's traffic for an active neighbour. */
void vn_gw_neigh_observe(struct vn_gw *gw, const struct vn_addr *ip, const uint8_t mac[6]);
/* The entry for ip, or NULL (nothing is sent). */
const struct vn_neigh *vn_gw_neigh_peek(struct vn_gw *gw, const struct vn_addr *ip);
/* MAC for ip, or NULL if unknown (then an ARP request or a neighbour
 * solicitation is sent). */
const uint8_t *vn_gw_neigh_lookup(struct vn_gw *gw, const struct vn_addr *ip);
/* IPv4 shorthands (host order). */
static inline const uint8_t *vn_gw_neigh_lookup4(struct vn_gw *gw, uint32_t ip)
{
    struct vn_addr a = vn_addr4(ip);
    return vn_gw_neigh_lookup(gw, &a);
}
/* Up to max addresses of family (AF_INET6: global/ULA ones, not link-local)
 * the neighbour table holds for mac, into out. Returns how many. DNS uses
 * it to answer AAAA for a guest's SLAAC addresses. */
size_t vn_gw_neigh_addrs(struct vn_gw *gw, const uint8_t mac[6], uint8_t family,
                         struct vn_addr *out, size_t max);

#endif
