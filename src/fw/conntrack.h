/* Connection tracking for stateful ACLs (see acl.h for the model).
 * A fixed table of TCP/UDP/ICMP-echo/ICMPv6-echo connections of either IP
 * family, keyed by network and the endpoint pair (order-independent, so both
 * directions find the entry), with per-protocol idle timeouts; allocated
 * once, never grown. Endpoints are family-neutral (struct vn_addr), so an
 * entry is 56 bytes and the table max * 56 plus its buckets; IPv4 keys hash
 * only their 16 meaningful bytes, as the IPv4-only key did. */
#ifndef VN_FW_CONNTRACK_H
#define VN_FW_CONNTRACK_H

#include "acl.h"
#include "pkt/addr.h"

#include <jansson.h>
#include <stdint.h>

struct vn_ct_key {
    struct vn_addr a, b; /* endpoints, ordered so (a,pa) <= (b,pb); same family */
    uint16_t pa, pb;
    uint16_t net;
    uint8_t proto;
    uint8_t pad;         /* keys are compared and hashed whole: no implicit padding */
};
_Static_assert(sizeof(struct vn_ct_key) == 2 * sizeof(struct vn_addr) + 8,
               "vn_ct_key has no implicit padding");

struct vn_ct_entry {
    struct vn_ct_key key;
    bool used;
    bool closing;        /* TCP FIN or RST seen */
    uint32_t next;       /* chain index + 1; 0 = end */
    uint64_t expires_ms;
};

struct vn_conntrack {
    struct vn_ct_entry *e;
    uint32_t *bucket;    /* index + 1 of the chain head; 0 = empty */
    uint32_t max, mask, count;
    uint32_t free_head;  /* index + 1 */
    uint64_t created, full, expired;
};

/* Allocate a table for max connections; returns 0 or -1. */
int vn_ct_init(struct vn_conntrack *ct, uint32_t max);
void vn_ct_free(struct vn_conntrack *ct);
/* Whether pkt belongs to a tracked connection of network net (refreshes
 * it), or is an ICMP/ICMPv6 error about one sent to its quoted packet's
 * sender ("related"; refreshes nothing). */
bool vn_ct_lookup(struct vn_conntrack *ct, uint16_t net, const struct vn_acl_pkt *pkt,
                  uint64_t now_ms);
/* Record pkt's connection (no-op if present or not trackable; counted when full). */
void vn_ct_add(struct vn_conntrack *ct, uint16_t net, const struct vn_acl_pkt *pkt,
               uint64_t now_ms);
/* Drop expired entries; returns how many. */
uint32_t vn_ct_expire(struct vn_conntrack *ct, uint64_t now_ms);
json_t *vn_ct_stats_json(const struct vn_conntrack *ct);

#endif
