/* Address conflicts between guests, as the gateway sees them.
 *
 * Theory of operation: the switch's port policy shows the gateway every ARP
 * a guest port sends (unicast replies included, which the gateway would not
 * otherwise receive). A claim "IP is at MAC" conflicts when IP is held by a
 * different MAC: a DHCP lease or reservation of another client, or a
 * neighbour entry of another MAC seen within VN_CONFLICT_RECENT_S. Each
 * conflict is counted, logged (rate-limited) and kept in a small table of
 * recent conflicts (merged by address and claiming MAC) for vnetctl. The
 * claim itself is not dropped (address takeover is how failover works;
 * security.ip_binding is the strict option), but it cannot poison the
 * gateway: a neighbour entry refreshed by its owner within the same window
 * is not overwritten by another MAC (gateway.c). */
#ifndef VN_GW_CONFLICT_H
#define VN_GW_CONFLICT_H

#include <jansson.h>
#include <stdint.h>

struct vn_gw;

#define VN_CONFLICT_RECENT_S 10  /* a neighbour seen this recently holds its address */
#define VN_CONFLICT_LOG 16       /* recent conflicts kept */

struct vn_conflict {
    uint32_t ip;                 /* 0 = empty slot */
    uint8_t holder[6], claimer[6];
    uint16_t port;               /* switch port id the claim came from */
    char held_by[8];             /* "lease", "static" or "recent" */
    uint64_t count;
    int64_t first_s, last_s;     /* wall clock */
};

/* A guest on switch port `port` with MAC mac claims ip (host order) in an
 * ARP message. Records a conflict if another MAC holds ip; returns 1 then,
 * else 0. */
int vn_gw_arp_claim(struct vn_gw *gw, uint16_t port, const uint8_t mac[6], uint32_t ip);
/* The recent conflicts, newest first: [{address, holder_mac, claimer_mac, port, held_by,
 * count, first_seen, last_seen}]. */
json_t *vn_gw_conflicts_json(struct vn_gw *gw);

#endif
