/* The gateway of a network: a switch port with its own MAC that answers for
 * the gateway and DNS addresses and hosts the network's services.
 *
 * Theory of operation: the switch hands the gateway every frame addressed to
 * its MAC or flooded in its network (ops send()). The gateway parses them
 * (ARP, IPv4), learns which MAC owns which guest address (the neighbour
 * table), answers ARP and ICMP echo itself, and dispatches to its services:
 * DHCP (gw/dhcp4.c), DNS (gw/dns.c) and, on nat networks, the NAT engine
 * (nat/). Services never write to the switch directly: they build frames in
 * the gateway's transmit arena (vn_gw_frame_alloc/commit) and the gateway
 * injects the whole batch into the switch once the current round of events
 * is over (deferred work), or at once when the arena fills outside the
 * switch. So replies generated while a batch is being switched never
 * re-enter it, and everything produced in one loop round leaves in one
 * batch. The arena is allocated once; the data path does not allocate. */
#ifndef VN_GW_GATEWAY_H
#define VN_GW_GATEWAY_H

#include "conf/config.h"
#include "conflict.h"
#include "core/loop.h"
#include "pkt/ip.h"
#include "reasm.h"
#include "switch/switch.h"

#include <jansson.h>

struct vn_dhcp4;
struct vn_dns;
struct vn_nat;

#define VN_GW_ARENA (4u << 20)   /* transmit arena bytes */
#define VN_GW_TXMAX 512          /* frames per flush */
#define VN_GW_NEIGH_MAX 1024     /* neighbour table entries */

struct vn_gw_stats {
    uint64_t arp_requests, arp_replies, icmp_echo, icmp_errors_sent;
    uint64_t ip_bad, ip_fragments, ip_ttl_expired, ip_other_proto, ip6_ignored;
    uint64_t tx_frames, tx_arena_full;
    uint64_t neigh_full;
    uint64_t conflicts;       /* ARP claims for addresses other MACs hold (conflict.h) */
    uint64_t neigh_kept;      /* claims not allowed to replace a neighbour its owner refreshed */
    uint64_t fragmented;      /* replies sent as IPv4 fragments (larger than the MTU) */
};

struct vn_neigh {
    uint32_t ip;      /* host order; 0 = empty */
    uint8_t mac[6];
    uint32_t seen_s;
};

/* Where the gateway hands the IPv4 packets that are not its own services
 * (on nat networks all routed traffic; elsewhere guest TCP to the DNS
 * address). The NAT engine attaches itself here (nat/nat.h
 * vn_nat_attach); the gateway knows nothing else of it. */
struct vn_gw_next {
    void *ctx;
    void (*input4)(void *ctx, const uint8_t smac[6], const struct vn_ip4 *ip,
                   const struct vn_frame *f);
    json_t *(*json)(void *ctx);   /* its status, shown as the gateway's "nat" */
    void (*free)(void *ctx);
};

struct vn_gw {
    struct vn_switch *sw;
    struct vn_network *net;
    struct vn_port *port;
    struct vn_loop *loop;
    const struct vn_net_conf *conf;  /* the network's (validated) config */
    uint8_t mac[6];
    uint32_t addr, dns_addr, subnet, mask, bcast; /* host byte order */
    uint32_t router;               /* router offered to guests (0 = none: isolated) */
    uint16_t mtu;
    uint16_t ip_id;                 /* identification of packets we originate */
    /* neighbour table: open addressing on ip, never reallocated */
    struct vn_neigh neigh[VN_GW_NEIGH_MAX * 2];
    unsigned nneigh;
    /* transmit arena */
    uint8_t *arena;
    size_t arena_used;
    struct vn_frame tx[VN_GW_TXMAX];
    unsigned ntx;
    struct vn_defer flush;
    struct vn_reasm reasm;          /* fragments of guest datagrams */
    /* services (NULL when off) */
    struct vn_dhcp4 *dhcp;
    struct vn_dns *dns;
    struct vn_nat *nat;             /* NAT, or on other modes DNS-over-TCP only */
    struct vn_gw_next next;         /* where packets the gateway does not serve go */
    struct vn_conflict conflicts[VN_CONFLICT_LOG];
    struct vn_gw_stats stats;
};

/* Create the gateway of network n: a port named "gw-NAME" plus its services.
 * Returns NULL with err on failure. */
struct vn_gw *vn_gw_new(struct vn_switch *sw, struct vn_network *n, const char *state_dir,
                        char *err, size_t errlen);
void vn_gw_free(struct vn_gw *gw);

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
/* Whether ip (host order) is one of the gateway's own addresses (gateway,
 * DNS, the router it offers): guests may never claim these. */
static inline bool vn_gw_owns(const struct vn_gw *gw, uint32_t ip)
{
    return ip && (ip == gw->addr || ip == gw->dns_addr || ip == gw->router);
}
/* MAC for ip, or NULL if unknown (then an ARP request is sent). */
const uint8_t *vn_gw_neigh_lookup(struct vn_gw *gw, uint32_t ip);

static inline bool vn_gw_in_subnet(const struct vn_gw *gw, uint32_t ip)
{
    return (ip & gw->mask) == gw->subnet;
}

/* Status for vnetctl (network show). */
json_t *vn_gw_json(struct vn_gw *gw);

#endif
