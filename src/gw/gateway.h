/* The gateway of a network: a switch port with its own MAC that answers for
 * the gateway and DNS addresses and hosts the network's services.
 *
 * Theory of operation: the switch hands the gateway every frame addressed to
 * its MAC or flooded in its network (ops send()). The gateway parses them
 * (ARP, IPv4), learns which MAC owns which guest address (the neighbour
 * table), answers ARP itself and asks its egress table (egress.h) where each
 * IPv4 packet goes: exactly one of a local service (ICMP echo, DHCP in
 * gw/dhcp4.c, DNS in gw/dns.c), the next hop (on nat networks the NAT
 * engine in nat/, attached as struct vn_gw_next), a tunnel peer (reserved
 * for the VPN), an ICMP unreachable, or a silent drop. Services never write to the
 * switch directly: they use the gateway's L3 node (l3.h: transmit arena,
 * IPv4 headers and datagrams, ICMP errors, neighbours), which injects what
 * they built as one batch after the current round of events. */
#ifndef VN_GW_GATEWAY_H
#define VN_GW_GATEWAY_H

#include "conf/config.h"
#include "conflict.h"
#include "egress.h"
#include "l3.h"
#include "core/loop.h"
#include "pkt/ip.h"
#include "reasm.h"
#include "switch/switch.h"

#include <jansson.h>

struct vn_dhcp4;
struct vn_dhcp6;
struct vn_dns;
struct vn_nat;

#define VN_GW_ARENA (4u << 20)   /* transmit arena bytes */
#define VN_GW_TXMAX 512          /* frames per flush */
#define VN_GW_NEIGH_MAX 1024     /* neighbour table entries */

struct vn_gw_stats {
    uint64_t arp_requests, arp_replies, icmp_echo, icmp_errors_sent;
    uint64_t ip_bad, ip_fragments, ip_ttl_expired, ip_other_proto, ip6_ignored;
    uint64_t ip4_ignored;     /* ARP and IPv4 on an IPv6-only network (subnet: none) */
    uint64_t tx_frames, tx_arena_full;
    uint64_t neigh_full;
    uint64_t conflicts;       /* ARP claims for addresses other MACs hold (conflict.h) */
    uint64_t neigh_kept;      /* claims not allowed to replace a neighbour its owner refreshed */
    uint64_t fragmented;      /* replies sent as fragments (larger than the MTU) */
    uint64_t icmp_rate_limited; /* ICMP errors not sent (rate limit) */
    /* IPv6 */
    uint64_t ip6_bad;         /* malformed IPv6 (header, extension chain) */
    uint64_t ip6_fragments;   /* IPv6 fragments received */
    uint64_t nd_ns, nd_na_sent, nd_na_rcvd, nd_rs, nd_ra_sent, nd_bad, nd_dad_defended;
    uint64_t icmp6_echo;
    /* the tunnel (VPN) */
    uint64_t tun_forwarded;   /* packets from the tunnel forwarded to guests */
    uint64_t tun_neigh_miss;  /* ... dropped: the guest's MAC is not known yet (asked) */
    uint64_t tun_refused;     /* ... dropped: beyond the link without vpn.nat */
    uint64_t tun_bad;         /* ... malformed */
    uint64_t tun_acl;         /* packets from the tunnel an ACL dropped here (not the switch) */
};

struct vn_neigh {
    struct vn_addr ip; /* family 0 = empty */
    uint8_t mac[6];
    uint32_t seen_s;
};

/* Where the gateway hands the packets (either family) that are not its own services
 * (on nat networks all routed traffic; elsewhere guest TCP to the DNS
 * address). The NAT engine attaches itself here (nat/nat.h
 * vn_nat_attach); the gateway knows nothing else of it. */
struct vn_gw_next {
    void *ctx;
    void (*input)(void *ctx, const uint8_t smac[6], const struct vn_ipp *ip,
                  const struct vn_frame *f);
    json_t *(*json)(void *ctx);   /* its status, shown as the gateway's "nat" */
    void (*free)(void *ctx);
};

/* The tunnel peer of the gateway (the VPN, vpn/vpn.h): the gateway routes
 * the prefixes behind it to it (VN_EG_TUNNEL routes, ctx = this ctx),
 * frames the gateway builds for its MAC go to output instead of the
 * switch, and the neighbour lookup answers its MAC for addresses it owns,
 * so every service and the NAT engine reach tunnel peers unchanged. */
struct vn_gw_tunnel {
    void *ctx;
    /* a packet a guest routed into the tunnel (TTL already checked) */
    void (*input)(void *ctx, const struct vn_ipp *ip, const struct vn_frame *f);
    /* a frame the gateway built for an address behind the tunnel */
    void (*output)(void *ctx, const struct vn_frame *f);
    /* whether a (an address off the link) is behind the tunnel */
    bool (*owns)(void *ctx, const struct vn_addr *a);
    json_t *(*json)(void *ctx);   /* its status, shown as the gateway's "vpn" */
    void (*free)(void *ctx);
    uint8_t mac[6];               /* a locally administered MAC no guest uses */
    bool routed_ok;               /* packets from the tunnel may go beyond the link (vpn.nat) */
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
    /* IPv6 (family 0 everywhere when the network serves no IPv6) */
    struct vn_addr ll6;             /* link-local: fe80:: + modified EUI-64 of mac */
    struct vn_addr addr6;           /* where the services answer: gateway6 (on host-only: dns6) */
    struct vn_addr dns6;            /* DNS service address */
    struct vn_addr router6;         /* gateway6 when the network routes (nat) */
    struct vn_addr prefix6;         /* the network's /64 */
    uint32_t frag6_id;              /* identification of IPv6 fragments we originate */
    struct vn_timer ra_timer;       /* unsolicited router advertisements (nd.c) */
    unsigned ra_initial;            /* initial advertisements still to send fast */
    uint64_t ra_last_ms;            /* when the last multicast RA left */
    uint32_t ra_tokens;             /* solicited RAs that may still go (nd.c) */
    uint64_t ra_refill_ms;
    /* ICMP error rate limit (both families): tokens, refilled per ms */
    uint32_t icmp_tokens;
    uint64_t icmp_refill_ms;
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
    struct vn_dhcp6 *dhcp6;
    struct vn_dns *dns;
    struct vn_nat *nat;             /* NAT, or on other modes DNS-over-TCP only */
    struct vn_gw_next next;         /* where packets the gateway does not serve go */
    struct vn_gw_tunnel tunnel;     /* the VPN, when the network has one (ctx NULL: none) */
    struct vn_gw_egress_table egress; /* where each packet to the gateway goes (egress.h) */
    struct vn_conflict conflicts[VN_CONFLICT_LOG];
    struct vn_gw_stats stats;
};

/* Create the gateway of network n: a port named "gw-NAME" plus its services.
 * Returns NULL with err on failure. */
struct vn_gw *vn_gw_new(struct vn_switch *sw, struct vn_network *n, const char *state_dir,
                        char *err, size_t errlen);
void vn_gw_free(struct vn_gw *gw);

static inline bool vn_gw_in_subnet(const struct vn_gw *gw, uint32_t ip)
{
    return (ip & gw->mask) == gw->subnet;
}

/* Whether ip (host order) is one of the gateway's own addresses (gateway,
 * DNS, the router it offers): guests may never claim these. */
static inline bool vn_gw_owns(const struct vn_gw *gw, uint32_t ip)
{
    return ip && (ip == gw->addr || ip == gw->dns_addr || ip == gw->router);
}
/* The same for an address of either family (IPv6: link-local, addr6, dns6, router6). */
static inline bool vn_gw_owns_addr(const struct vn_gw *gw, const struct vn_addr *a)
{
    if (a->family == AF_INET)
        return vn_gw_owns(gw, vn_addr_v4(a));
    return a->family == AF_INET6 && gw->ll6.family &&
           (vn_addr_eq(a, &gw->ll6) || vn_addr_eq(a, &gw->addr6) || vn_addr_eq(a, &gw->dns6) ||
            (gw->router6.family && vn_addr_eq(a, &gw->router6)));
}
/* Whether a is on the network's link: its IPv4 subnet, its IPv6 prefix or link-local. */
static inline bool vn_gw_on_link(const struct vn_gw *gw, const struct vn_addr *a)
{
    if (a->family == AF_INET)
        return vn_gw_in_subnet(gw, vn_addr_v4(a));
    return a->family == AF_INET6 && gw->ll6.family &&
           (vn_addr_in_prefix(a, &gw->prefix6, 64) || (a->a[0] == 0xfe && (a->a[1] & 0xc0) == 0x80));
}


/* The IP input of the gateway for a whole frame f (IPv4 or IPv6 after
 * the Ethernet header): what the switch's frames go through. */
void vn_gw_ip_input(struct vn_gw *gw, const struct vn_frame *f);

/* A packet that came out of the tunnel (decrypted, its source checked by
 * the VPN): pkt holds len bytes of an IP packet and has at least
 * VN_ETH_HLEN writable bytes before it. A destination on the link is
 * forwarded to its guest (TTL decremented); the gateway's own addresses
 * are served as if a guest had asked; anything else goes through the
 * gateway's routes (the NAT) only when tunnel.routed_ok (gw/tunnel.c). */
void vn_gw_tunnel_input(struct vn_gw *gw, uint8_t *pkt, size_t len);

/* The network's ACL verdict (vn_switch_acl_route) for a packet out of the
 * tunnel that does not cross the switch: to the gateway itself or the NAT
 * (to_peer false), or to another peer (to_peer: hairpin). pkt as for
 * vn_gw_tunnel_input (its Ethernet header room is written). Its peers are
 * found by address (the source was checked against the sender's
 * AllowedIPs). Returns true to pass; a drop is counted (tun_acl), a reject
 * answered with ICMP administratively prohibited into the tunnel. */
bool vn_gw_tunnel_acl(struct vn_gw *gw, uint8_t *pkt, size_t len, bool to_peer);

/* Answer on address a too (the VPN's tunnel-side address): ICMP echo,
 * DNS when the network serves it, port unreachable for other UDP. Returns
 * 0, or -1 when the local address table is full. */
int vn_gw_add_alias(struct vn_gw *gw, const struct vn_addr *a);

/* Status for vnetctl (network show). */
json_t *vn_gw_json(struct vn_gw *gw);

#endif
