/* The switch's address bindings: which MAC may use which IP address in a
 * network (DHCP snooping, as hardware switches do it).
 *
 * Theory of operation: one table per network maps an address (struct
 * vn_addr, either family) to the MAC bound to it and why: the gateway's own
 * addresses (no guest may claim them), a DHCP lease (until it expires), or
 * a static reservation. The network's DHCP server fills the table as it
 * binds, renews, releases and declines leases; the port policy reads it to
 * decide whether a source address (or an ARP claim) is allowed on an
 * ip_binding port and whether a guest speaks as the gateway. So the switch
 * needs no knowledge of the DHCP server and the check costs one hash
 * lookup. Leases and reservations live in a table allocated once at its
 * full size (chained, keyed hash, free list); when full it refuses new
 * bindings (counted) and keeps the old ones. The gateway's few addresses
 * live in a small array beside it, so the check every guest IPv4 frame and
 * ARP message gets (does it speak as the gateway?) is a few compares, not a
 * hash. Expiry is checked on lookup against the caller's clock, so
 * nothing needs to sweep it. */
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
    VN_BIND__COUNT
};
const char *vn_bind_kind_name(enum vn_bind_kind k);

struct vn_binding {
    struct vn_addr addr;
    uint8_t mac[6];
    uint8_t kind;        /* enum vn_bind_kind; NONE = free slot */
    int64_t expires;     /* wall-clock seconds; 0 = never */
    uint32_t next;       /* chain: index + 1; 0 = end */
};

#define VN_BIND_GW_MAX 8 /* gateway addresses per network */

struct vn_bindings {
    struct vn_binding gw[VN_BIND_GW_MAX]; /* kind GATEWAY */
    uint8_t ngw;
    struct vn_binding *e;                 /* leases and reservations */
    uint32_t *bucket;    /* index + 1 of the chain head; 0 = empty */
    uint32_t max, mask, count;
    uint32_t free_head;  /* index + 1 */
    uint64_t full;       /* bindings refused because the table was full */
};

/* Allocate a table for max bindings (0: an empty table that refuses all).
 * Returns 0 or -1 (ENOMEM). */
int vn_bind_init(struct vn_bindings *b, uint32_t max);
void vn_bind_free(struct vn_bindings *b);
/* Bind addr to mac (replacing what addr was bound to). Returns 0, or -1 when
 * the table (or, for VN_BIND_GATEWAY, the gateway list) is full (counted;
 * existing bindings untouched). */
int vn_bind_set(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                enum vn_bind_kind kind, int64_t expires);
/* Remove addr's lease or reservation if it is bound to mac (any MAC when mac
 * is NULL); the gateway's addresses stay. */
void vn_bind_del(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t *mac);
/* addr's binding if it exists and has not expired at now, else NULL. */
const struct vn_binding *vn_bind_find(const struct vn_bindings *b, const struct vn_addr *addr,
                                      int64_t now);
/* Whether mac may use addr at now (a lease or reservation of that MAC). */
bool vn_bind_allows(const struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                    int64_t now);
/* Whether addr is one of the gateway's addresses. */
bool vn_bind_is_gateway(const struct vn_bindings *b, const struct vn_addr *addr);
/* The bindings valid at now as a JSON array (vnetctl), with the table's counters. */
json_t *vn_bind_json(const struct vn_bindings *b, int64_t now);

#endif
