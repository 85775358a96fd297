/* The remote side of a VXLAN port: the VTEPs it knows and the table of
 * remote MACs, (network, MAC) -> VTEP.
 *
 * Theory of operation. A VTEP is known by its underlay address alone: a VTEP
 * sends from UDP source ports hashed from each inner flow (RFC 7348 section
 * 5), so the source port of what it sends says nothing about it; what it
 * listens on is the port it was listed with (remotes: ADDR:PORT), or for one
 * learned from its packets the port's own VXLAN port (4789 unless set).
 * VTEPs come from the configuration's flood list (origin config), from the
 * operator at run time (control: `vnetctl vtep add`), from the EVPN mirror
 * (evpn: type-3 flood lists, the VTEPs of type-2 MACs) or from packets when
 * the port accepts any VTEP (learned). Each has a flood mask: the
 * networks whose broadcast, multicast and unknown unicast frames it gets
 * (head-end replication; learned VTEPs get none: they are reached by the
 * flooding of the VTEPs that are listed), per-VTEP counters and the MACs
 * behind it. At most VN_VX_MAX_VTEPS; a learned VTEP with no MACs that has
 * sent nothing for the ageing time (300 s when ageing is off) is forgotten.
 *
 * The MAC table is sized once (max entries in a pool, an open-addressing
 * index of at least twice as many slots, keys hashed with the process's
 * secret key so a remote cannot aim collisions) and never allocates on the
 * data path. Learned entries of a VTEP sit on its own list, least recently
 * seen first, so ageing walks only what expires and the oldest entry of a
 * VTEP is at hand. A MAC seen from another VTEP moves there at once (a
 * migrated VM's gratuitous ARP). Fairness when a remote floods random
 * source MACs: a VTEP holds at most its share of learned entries (a quarter
 * of the table unless set), and a new MAC of a VTEP at its share replaces
 * that VTEP's own oldest entry (recycled), never another's. When the whole
 * table is full, a VTEP below its share takes the oldest entry of the VTEP
 * holding the most (evicted), or its own oldest when nobody holds more;
 * only a table full of static entries refuses (full). Static entries (the
 * control plane's) are never aged, moved by traffic or evicted; they do not
 * count against a share. */
#ifndef VN_PORT_VXLAN_TABLE_H
#define VN_PORT_VXLAN_TABLE_H

#include "conf/config.h"
#include "pkt/addr.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#define VN_VX_MAX_VTEPS 1024
#define VN_VX_NIL 0xffffffffu
#define VN_VX_IDLE_VTEP_S 300 /* idle learned VTEPs go after this when ageing is off */

/* How a VTEP got into the table; an existing VTEP keeps the highest. */
enum vn_vx_origin { VN_VX_LEARNED = 0, VN_VX_EVPN, VN_VX_CONTROL, VN_VX_CONFIG };

struct vn_vx_vtep {
    struct vn_addr addr;        /* family 0 = free slot */
    uint16_t port;              /* UDP port datagrams go to */
    uint8_t origin;             /* enum vn_vx_origin */
    bool seen;                  /* it has sent something (seen_s valid) */
    uint64_t flood;             /* networks (bit = network id) it gets BUM frames of */
    uint32_t nlearned, nstatic; /* MACs behind it */
    uint32_t head, tail;        /* its learned MACs, least recently seen first */
    uint32_t seen_s;            /* last packet from it (table clock) */
    union {
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
    } sa;                       /* addr:port to send to */
    socklen_t salen;
    /* counters (frames and bytes are inner frames) */
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_drops, tx_drops;
    uint64_t recycled;          /* its new MACs that replaced its own oldest (share) */
};

struct vn_vx_mac {
    uint64_t key;               /* MAC | network << 48 | 1 << 63; 0 = free */
    uint32_t seen_s;
    uint32_t prev, next;        /* its VTEP's learned list; next: the free list */
    uint16_t vtep;
    bool is_static;
    bool evpn;                  /* a static entry the EVPN mirror imported (listings) */
};

struct vn_vx_table {
    struct vn_vx_mac *macs;     /* max entries */
    uint32_t *index;            /* entry + 1, 0 = empty; mask + 1 slots */
    uint32_t mask, max, share, count, free_head;
    uint32_t ageing_s;          /* 0 = never */
    struct vn_vx_vtep *vteps;   /* VN_VX_MAX_VTEPS slots */
    uint16_t *vindex;           /* vtep + 1 by address, 2 * VN_VX_MAX_VTEPS slots */
    unsigned nvteps, vtep_hi;   /* in use; highest slot used + 1 */
    uint16_t *flood[VN_MAX_NETWORKS]; /* VTEPs flooded per network (allocated on first use) */
    unsigned nflood[VN_MAX_NETWORKS];
    /* counters */
    uint64_t learned, moved, aged, recycled, evicted, full, static_conflicts;
    uint64_t vteps_learned, vteps_aged;
};

enum vn_vx_learn_result {
    VN_VX_NEW,        /* a new entry (possibly recycled or evicted another) */
    VN_VX_REFRESHED,  /* known on this VTEP */
    VN_VX_MOVED,      /* was on another VTEP, now on this one */
    VN_VX_STATIC,     /* a static entry names another VTEP: unchanged */
    VN_VX_FULL,       /* not learned: the table holds only static entries */
};

/* Allocate for max MACs (a VTEP may learn share of them; 0 = max / 4) aged
 * after ageing_s seconds (0 = never). Returns 0 or -1 (ENOMEM). */
int vn_vx_table_init(struct vn_vx_table *t, uint32_t max, uint32_t share, uint32_t ageing_s);
void vn_vx_table_free(struct vn_vx_table *t);

/* The VTEP at address a, or -1. */
int vn_vx_vtep_find(const struct vn_vx_table *t, const struct vn_addr *a);
/* Add or update the VTEP at a: port (0 = keep, for an existing one),
 * origin (an existing VTEP takes the higher of its own and this), flood
 * networks added to its mask. Returns its index, or -1 when the table is
 * full (or the flood lists cannot be allocated). */
int vn_vx_vtep_add(struct vn_vx_table *t, const struct vn_addr *a, uint16_t port,
                   enum vn_vx_origin origin, uint64_t flood);
/* Forget VTEP v and every MAC behind it. */
void vn_vx_vtep_del(struct vn_vx_table *t, unsigned v);
/* Take networks out of VTEP v's flood mask (0 = all). */
void vn_vx_vtep_unflood(struct vn_vx_table *t, unsigned v, uint64_t nets);
/* The VTEPs frames of network net are flooded to: *n of them. */
static inline const uint16_t *vn_vx_flood_list(const struct vn_vx_table *t, uint16_t net,
                                               unsigned *n)
{
    *n = net < VN_MAX_NETWORKS ? t->nflood[net] : 0;
    return *n ? t->flood[net] : NULL;
}

/* Record that mac of network net came from VTEP v at now (seconds). */
enum vn_vx_learn_result vn_vx_learn(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6],
                                    uint16_t v, uint32_t now);
/* The VTEP behind (net, mac), or -1 when unknown or aged out. */
int vn_vx_lookup(const struct vn_vx_table *t, uint16_t net, const uint8_t mac[6], uint32_t now);
/* A static entry (net, mac) -> v (replacing a learned or static one).
 * Returns 0, or -1 when the table is full of static entries. */
int vn_vx_static_add(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6], uint16_t v);
/* The entry of (net, mac), expired or not, or NULL. */
struct vn_vx_mac *vn_vx_find(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6]);
/* Remove the entry of (net, mac), learned or static. Returns 0, -1 if none. */
int vn_vx_mac_del(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6]);
/* Remove the learned entries older than the ageing time and the idle
 * learned VTEPs without MACs. Returns how many MACs went. */
uint32_t vn_vx_age(struct vn_vx_table *t, uint32_t now);

/* Iterate: *pos starts at 0; the next entry in use or NULL at the end. */
const struct vn_vx_mac *vn_vx_next(const struct vn_vx_table *t, uint32_t *pos);
/* The network and MAC of an entry's key. */
static inline uint16_t vn_vx_key_net(uint64_t key) { return (uint16_t)((key >> 48) & 0x7fff); }
void vn_vx_key_mac(uint64_t key, uint8_t mac[6]);
/* The share of learned entries one VTEP may hold. */
static inline uint32_t vn_vx_share(const struct vn_vx_table *t) { return t->share; }

#endif
