/* The gateway's egress table: where a packet a guest sent to the gateway goes.
 *
 * Theory of operation: the gateway's input parses a frame and asks this table
 * once; the answer is exactly one egress: a local service (ARP/ND, ICMP
 * echo, DHCP, DNS: a handler of the gateway), the next hop (the NAT engine),
 * a tunnel peer (reserved for the VPN: a route to it), an ICMP unreachable
 * (type and code), or a silent drop. The table has three parts, searched by
 * the packet's destination:
 *   - local addresses (the gateway's own: gateway, DNS, link-local and
 *     IPv6 service addresses):
 *     an ordered rule list per address matching protocol and destination
 *     port, first match wins, the last rule catches the rest;
 *   - broadcast and multicast destinations: one rule list (DHCP, DHCPv6),
 *     whose rules may name the family they take;
 *   - the tunnel's prefixes (the VPN peers' AllowedIPs), asked of the
 *     tunnel itself, whose own table finds the longest prefix;
 *   - routes for every other destination: longest prefix wins, a miss gives
 *     the table's route_miss egress (on a network that routes nothing:
 *     network unreachable).
 * A rule not marked bcast_ok never takes a frame sent to a link-layer
 * broadcast or multicast address. The table is built once, when the gateway
 * starts, from the network's mode and services (gateway.c); adding a service
 * or a peer is adding a rule or a route, not a branch. Addresses are the
 * family-neutral struct vn_addr, so IPv6 and tunnels plug into the same
 * lookup. Nothing here allocates or knows the gateway's internals. */
#ifndef VN_GW_EGRESS_H
#define VN_GW_EGRESS_H

#include "pkt/addr.h"

#include <stdbool.h>
#include <stdint.h>

enum vn_gw_egress_kind {
    VN_EG_DROP = 0,   /* silently (not ours to answer) */
    VN_EG_SERVICE,    /* a local service's handler */
    VN_EG_NEXT,       /* the gateway's next hop (the NAT engine) */
    VN_EG_TUNNEL,     /* a tunnel peer (ctx says which) */
    VN_EG_UNREACH,    /* answer with an ICMP error of the packet's family (icmp) */
    VN_EG__COUNT
};
const char *vn_gw_egress_kind_name(enum vn_gw_egress_kind k);

/* What the table answers. */
struct vn_gw_egress {
    uint8_t kind;             /* enum vn_gw_egress_kind */
    uint8_t icmp;             /* VN_EG_UNREACH: which error (enum vn_icmp_err, l3.h) */
    bool routed;              /* forwarded, not delivered: TTL is checked (RFC 1812) */
    uint8_t service;          /* VN_EG_SERVICE: the gateway's service index */
    void *ctx;                /* VN_EG_TUNNEL: the peer */
};

#define VN_EG_ANY 0           /* proto / port wildcard */

struct vn_gw_rule {
    uint8_t proto;            /* IP protocol, VN_EG_ANY = every */
    uint16_t dport;           /* destination port (TCP/UDP), VN_EG_ANY = every */
    bool bcast_ok;            /* also for frames sent to a link broadcast/multicast MAC */
    struct vn_gw_egress to;
    uint8_t family;           /* only packets of this family (AF_INET/AF_INET6), 0 = both */
};

#define VN_GW_LOCAL_MAX 8     /* addresses the gateway answers on */
#define VN_GW_RULES_MAX 8     /* rules per address */
#define VN_GW_ROUTES_MAX 32

struct vn_gw_local {
    struct vn_addr addr;
    struct vn_gw_rule rule[VN_GW_RULES_MAX];
    uint8_t nrules;
};

struct vn_gw_route {
    struct vn_addr prefix;    /* host bits zero */
    uint8_t len;              /* prefix length in bits */
    struct vn_gw_egress to;
};

struct vn_gw_egress_table {
    struct vn_gw_local local[VN_GW_LOCAL_MAX];
    uint8_t nlocal;
    struct vn_gw_rule bcast[VN_GW_RULES_MAX];
    uint8_t nbcast;
    struct vn_gw_route route[VN_GW_ROUTES_MAX];
    uint8_t nroute;
    struct vn_gw_egress route_miss;
    /* The tunnel's prefixes (the VPN's AllowedIPs, longest prefix in its
     * own table): a destination tunnel_match() claims goes to tunnel
     * before any route; NULL = no tunnel. */
    bool (*tunnel_match)(void *ctx, const struct vn_addr *dst);
    void *tunnel_ctx;
    struct vn_gw_egress tunnel;
    uint64_t hits[VN_EG__COUNT];  /* lookups that ended in each kind */
};

/* Empty table whose route misses end in miss. */
void vn_gw_egress_init(struct vn_gw_egress_table *t, struct vn_gw_egress miss);

/* Append a rule for local address a (the address is added on first use).
 * Returns 0, or -1 when the address or rule list is full. */
int vn_gw_egress_add_local(struct vn_gw_egress_table *t, struct vn_addr a, struct vn_gw_rule r);
/* Append a rule for broadcast/multicast destinations. Returns 0 or -1 (full). */
int vn_gw_egress_add_bcast(struct vn_gw_egress_table *t, struct vn_gw_rule r);
/* Add a route for prefix/len (host bits are cleared). Returns 0, or -1 when
 * the table is full or the length is out of range for the family. */
int vn_gw_egress_add_route(struct vn_gw_egress_table *t, struct vn_addr prefix, uint8_t len,
                           struct vn_gw_egress to);

/* Whether a is one of the table's local addresses. */
bool vn_gw_egress_is_local(const struct vn_gw_egress_table *t, const struct vn_addr *a);

/* Where a packet to dst goes: ip_bcast says dst is a broadcast or multicast
 * address of its family, link_bcast that the frame was sent to a broadcast
 * or multicast MAC; dport is 0 when the protocol has no ports. Returns the
 * egress (never NULL) and counts it. */
const struct vn_gw_egress *vn_gw_egress_lookup(struct vn_gw_egress_table *t,
                                               const struct vn_addr *dst, bool ip_bcast,
                                               bool link_bcast, uint8_t proto, uint16_t dport);
/* The same without counting (a caller deciding before the real lookup). */
const struct vn_gw_egress *vn_gw_egress_peek(const struct vn_gw_egress_table *t,
                                             const struct vn_addr *dst, bool ip_bcast,
                                             bool link_bcast, uint8_t proto, uint16_t dport);

#endif
