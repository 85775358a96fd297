/* The switch's address bindings: which MAC may use which IP address in a
 * network (DHCP snooping and DAD snooping, as hardware switches do it).
 *
 * Theory of operation: one table per network maps an address (struct
 * vn_addr, either family) to the MAC bound to it and why: the gateway's own
 * addresses (no guest may claim them), a DHCP lease (DHCPv4 or DHCPv6, until
 * it expires), a static reservation, or an IPv6 address a guest claimed by
 * duplicate address detection (SLAAC, a stable-privacy link-local address).
 * The network's DHCP servers fill the table as they bind, renew, release and
 * decline leases; the port policy records DAD claims (a neighbour
 * solicitation from :: for an address nobody else holds) and reads the
 * table to decide whether a source address (an ARP claim, a neighbour
 * advertisement) is allowed on a port and whether a guest speaks as the
 * gateway. So the switch needs no knowledge of the DHCP servers and a check
 * costs one hash lookup. Leases, reservations and DAD claims live in a table
 * allocated once at its full size (chained, keyed hash, free list), with
 * separate quotas: max leases and reservations (what the DHCP servers may
 * hand out) and dad_max DAD claims, so guests' SLAAC cannot starve the DHCP
 * pool nor the reverse; a port holds at most the limit its policy gives
 * (VN_BIND_DAD_PER_MAC per MAC it may use). When a quota is full new
 * bindings are refused (counted) and the old ones kept. A DAD claim lives
 * VN_BIND_DAD_LIFETIME from the last sign of its owner using it (a packet
 * from it on an ip_binding port, a neighbour advertisement or another DAD
 * for it); expired claims are reclaimed when room is needed (a sweep at
 * most once a second) and a port's claims go with the port. The gateway's
 * few addresses live in a small array beside the table, so the check every
 * guest IP frame and ARP message gets (does it speak as the gateway?) is a
 * few compares, not a hash. Expiry is checked on lookup against the
 * caller's clock, so nothing needs to sweep on a timer. */
#ifndef VN_SWITCH_BINDING_H
#define VN_SWITCH_BINDING_H

#include "pkt/addr.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum vn_bind_kind {
    VN_BIND_NONE = 0,
    VN_BIND_GATEWAY,     /* one of the gateway's addresses */
    VN_BIND_LEASE,       /* a DHCP lease */
    VN_BIND_STATIC,      /* a DHCP reservation with a MAC (dhcp.hosts) */
    VN_BIND_DAD,         /* an IPv6 address a guest claimed by DAD (vn_bind_claim_dad) */
    VN_BIND__COUNT
};
const char *vn_bind_kind_name(enum vn_bind_kind k);

struct vn_binding {
    struct vn_addr addr;
    uint8_t mac[6];
    uint8_t kind;        /* enum vn_bind_kind; NONE = free slot */
    int64_t expires;     /* wall-clock seconds; 0 = never */
    uint32_t next;       /* chain: index + 1; 0 = end */
    uint16_t port;       /* VN_BIND_DAD: the switch port that claimed it */
};

#define VN_BIND_GW_MAX 8 /* gateway addresses per network */
#define VN_BIND_DAD_DEFAULT 1024     /* DAD claims per network (vn_bind_init) */
#define VN_BIND_DAD_PER_MAC 16       /* DAD claims per MAC a port may use */
#define VN_BIND_DAD_LIFETIME 86400   /* seconds a DAD claim lives unused (a day,
                                      * the RA's default valid lifetime) */

struct vn_bindings {
    struct vn_binding gw[VN_BIND_GW_MAX]; /* kind GATEWAY */
    uint8_t ngw;
    struct vn_binding *e;                 /* leases and reservations */
    uint32_t *bucket;    /* index + 1 of the chain head; 0 = empty */
    uint32_t max, mask, count;          /* leases and reservations: quota, in use */
    uint32_t dad_max, ndad;             /* DAD claims: quota, in use (expired ones too) */
    uint16_t *dad_port;                 /* DAD claims per switch port (VN_MAX_PORTS) */
    uint32_t free_head;  /* index + 1 */
    int64_t swept;       /* when expired DAD claims were last reclaimed */
    uint64_t full;       /* leases and reservations refused: quota full */
    uint64_t dad_full;   /* DAD claims refused: the network's quota full */
    uint64_t dad_port_limit; /* DAD claims refused: the port's limit reached */
};

/* Allocate a table for max leases and reservations and VN_BIND_DAD_DEFAULT
 * DAD claims (max 0: an empty table that refuses all). Returns 0 or -1
 * (ENOMEM). */
int vn_bind_init(struct vn_bindings *b, uint32_t max);
/* The same with dad_max DAD claims. */
int vn_bind_init_dad(struct vn_bindings *b, uint32_t max, uint32_t dad_max);
void vn_bind_free(struct vn_bindings *b);
/* Bind addr to mac (replacing what addr was bound to, a DAD claim too) as
 * kind VN_BIND_GATEWAY, VN_BIND_LEASE or VN_BIND_STATIC (expires: wall-clock
 * seconds, 0 = never). Both families: the DHCPv4 and DHCPv6 servers bind
 * leases with this, the gateway its IPv4 and IPv6 addresses (link-local
 * included). Returns 0, or -1 when the quota (or, for VN_BIND_GATEWAY, the
 * gateway list) is full (counted; existing bindings untouched) or kind is
 * another one. */
int vn_bind_set(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                enum vn_bind_kind kind, int64_t expires);
/* Remove addr's lease or reservation if it is bound to mac (any MAC when mac
 * is NULL); the gateway's addresses and DAD claims stay. */
void vn_bind_del(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t *mac);
/* addr's binding if it exists and has not expired at now, else NULL. */
const struct vn_binding *vn_bind_find(const struct vn_bindings *b, const struct vn_addr *addr,
                                      int64_t now);

/* Who holds addr at now, seen from a frame whose source MAC is mac. */
enum vn_bind_owner {
    VN_OWNER_NONE,       /* nobody (unbound or expired) */
    VN_OWNER_SELF,       /* a lease, reservation or DAD claim of mac */
    VN_OWNER_OTHER,      /* bound to another MAC */
    VN_OWNER_GATEWAY,    /* one of the gateway's addresses */
};
/* The owner of addr for mac; a DAD claim of mac found this way lives on for
 * VN_BIND_DAD_LIFETIME from now (its owner still uses it). */
enum vn_bind_owner vn_bind_owner(struct vn_bindings *b, const struct vn_addr *addr,
                                 const uint8_t mac[6], int64_t now);
/* Whether mac may use addr at now: vn_bind_owner() == VN_OWNER_SELF. */
bool vn_bind_allows(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                    int64_t now);

/* Outcome of vn_bind_claim_dad(). */
enum vn_bind_claim {
    VN_CLAIM_OK,         /* recorded, refreshed, or already mac's lease/reservation */
    VN_CLAIM_TAKEN,      /* held by another MAC or the gateway: nothing changed */
    VN_CLAIM_FULL,       /* the network's DAD quota is full (counted) */
    VN_CLAIM_PORT_LIMIT, /* port holds port_max claims already (counted) */
};
/* Duplicate address detection seen from switch port `port`: mac claims the
 * IPv6 address addr. Unless another MAC or the gateway holds it, bind it
 * to mac as VN_BIND_DAD for VN_BIND_DAD_LIFETIME from now, within the
 * network's quota and at most port_max claims of that port. */
enum vn_bind_claim vn_bind_claim_dad(struct vn_bindings *b, const struct vn_addr *addr,
                                     const uint8_t mac[6], uint16_t port, unsigned port_max,
                                     int64_t now);
/* Drop every DAD claim made from switch port `port` (it goes away). */
void vn_bind_forget_port(struct vn_bindings *b, uint16_t port);
/* Whether addr is one of the gateway's addresses. */
bool vn_bind_is_gateway(const struct vn_bindings *b, const struct vn_addr *addr);
/* The bindings valid at now as a JSON array (vnetctl), with the table's counters. */
json_t *vn_bind_json(const struct vn_bindings *b, int64_t now);

#endif
