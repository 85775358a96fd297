/* What the EVPN mirror knows per (VNI slot, MAC): the kernel's fdb entries
 * FRR's zebra installed (imported into the vxlan port), and the MACs vnetd
 * has locally (mirrored into the kernel bridge). Pure: no I/O; what must
 * happen to the vxlan port goes out through struct vn_evpn_ops, so the unit
 * tests and the fuzzer drive it with made-up events.
 *
 * Theory of operation. A slot is one VNI of the vxlan port, mirrored by a
 * bridge (br), a vxlan device (vx) and vnetd's tap (tap) in the kernel.
 * Zebra installs a remote MAC as two entries on vx: the vxlan device's own
 * (`MAC dst VTEP self`) and the bridge's (`MAC master br`, extern_learn). The
 * bridge has one entry per MAC, on one port: a message about it on a port
 * moves it there (the kernel sends no deletion for the port it left). When a
 * remote MAC shows up locally, the bridge entry moves to the tap but zebra
 * leaves the self entry behind, so a MAC counts as remote only while both
 * exist and the bridge entry is on vx with NTF_EXT_LEARNED; then it is in
 * the vxlan port's table (ops->mac_add, a static entry), otherwise not
 * (ops->mac_del). The self entries of 00:00:00:00:00:00 are the flood list
 * (ops->flood_add/del). Every event reconciles one entry, so the vxlan port
 * follows the kernel one change at a time.
 *
 * After the event socket overflowed (ENOBUFS) the kernel is dumped again:
 * resync_begin() starts a generation, every fact the dump (or a newer event)
 * reports carries it, and resync_end() drops the facts the dump did not
 * report — mark and sweep, as if the missed deletions had been seen.
 *
 * Local MACs: the daemon walks the switch's fdb once a second and calls
 * local() for each MAC of a slot's network on a port other than the vxlan
 * port; local() says when to write the MAC into the tap (at once, again 1 s
 * later, then every refresh), walk_end() forgets the MACs the walk did not
 * see, which then age out of the kernel bridge. A MAC the fabric put behind
 * another VTEP is not written again until vnetd has seen it send after that
 * (the caller's seen_s, on the clock now_s it keeps up to date): a VM that
 * moved away while vnetd's fdb still has it must not be claimed back (every
 * claim is a MAC move in EVPN, and zebra freezes MACs that move too often).
 *
 * The table holds at most max entries (open addressing, keys hashed with
 * the process key, backward-shift deletion); a fact that needs a new entry
 * when it is full is dropped and counted (full). */
#ifndef VN_EVPN_TABLE_H
#define VN_EVPN_TABLE_H

#include "nl.h"
#include "pkt/addr.h"

#include <stdbool.h>
#include <stdint.h>

#define VN_EVPN_MAX_SLOTS 64
#define VN_EVPN_MAX_FLOOD 1024 /* flood-list VTEPs per slot (= the vxlan port's VTEP limit) */

/* What the table asks of the vxlan port; each returns 0 or -1 (counted). */
struct vn_evpn_ops {
    void *ctx;
    int (*mac_add)(void *ctx, unsigned slot, const uint8_t mac[6], const struct vn_addr *vtep);
    int (*mac_del)(void *ctx, unsigned slot, const uint8_t mac[6]);
    int (*flood_add)(void *ctx, unsigned slot, const struct vn_addr *vtep);
    int (*flood_del)(void *ctx, unsigned slot, const struct vn_addr *vtep);
};

struct vn_evpn_entry {
    uint64_t key;                 /* MAC | slot << 48 | 1 << 63; 0 = empty */
    struct vn_addr dst;           /* of the self entry (valid while self) */
    struct vn_addr installed;     /* what the vxlan port has (family 0 = nothing) */
    uint32_t gen_self, gen_mvx, gen_tap;
    bool self;                    /* vx: MAC dst VTEP self */
    bool mvx;                     /* br: the MAC's entry is on vx, extern_learn */
    bool tap;                     /* br: ... on the tap (vnetd's own, or moved here) */
    bool local;                   /* in vnetd's fdb at the last walk */
    uint32_t remote_s;            /* when the port got it as remote (now_s clock) */
    uint8_t injects;              /* frames written for it so far (saturating) */
    uint32_t local_gen;
    uint64_t next_ms;             /* when to write it into the tap again */
};

struct vn_evpn_flood {
    struct vn_addr addr;
    uint32_t gen;
};

struct vn_evpn_slot {
    int vx, br, tap;              /* ifindexes (0 = none) */
    struct vn_evpn_flood *flood;  /* VN_EVPN_MAX_FLOOD, allocated with the table */
    unsigned nflood;
};

struct vn_evpn_counters {
    uint64_t events, ignored;     /* neighbour messages; not about our devices */
    uint64_t mac_added, mac_deleted, mac_errors;
    uint64_t flood_added, flood_deleted, flood_errors;
    uint64_t full;                /* facts dropped: table or flood list full */
    uint64_t resyncs;
    uint64_t injected;            /* local MACs written into the tap (by the caller) */
};

struct vn_evpn_table {
    struct vn_evpn_entry *e;
    uint32_t mask, count, max;
    uint32_t gen;                 /* resync generation */
    uint32_t walk;                /* local-walk generation */
    uint32_t refresh_ms;          /* local MACs are written again this often */
    uint32_t now_s;               /* the caller's clock (the switch's fdb seconds) */
    struct vn_evpn_slot slots[VN_EVPN_MAX_SLOTS];
    unsigned nslots;
    struct vn_evpn_ops ops;
    struct vn_evpn_counters c;
    uint32_t remote, mirrored;    /* entries installed in the port; local MACs mirrored */
};

/* Allocate for max entries and nslots slots. Returns 0 or -1 (ENOMEM). */
int vn_evpn_tab_init(struct vn_evpn_table *t, unsigned nslots, uint32_t max, uint32_t refresh_ms,
                     const struct vn_evpn_ops *ops);
void vn_evpn_tab_free(struct vn_evpn_table *t);
void vn_evpn_tab_set_ifs(struct vn_evpn_table *t, unsigned slot, int vx, int br, int tap);

/* Apply one neighbour message (nl.h) and reconcile what it touched. */
void vn_evpn_tab_neigh(struct vn_evpn_table *t, const struct vn_evpn_neigh *n);
void vn_evpn_tab_resync_begin(struct vn_evpn_table *t);
void vn_evpn_tab_resync_end(struct vn_evpn_table *t);

/* Local MACs: begin a walk, report each MAC with when vnetd last saw it
 * send (seen_s, now_s clock; returns true when a frame for it should be
 * written now), end the walk. */
void vn_evpn_tab_walk_begin(struct vn_evpn_table *t);
bool vn_evpn_tab_local(struct vn_evpn_table *t, unsigned slot, const uint8_t mac[6],
                       uint64_t now_ms, uint32_t seen_s);
void vn_evpn_tab_walk_end(struct vn_evpn_table *t);

/* Iterate: *pos starts at 0; the next entry in use or NULL. */
const struct vn_evpn_entry *vn_evpn_tab_next(const struct vn_evpn_table *t, uint32_t *pos);
static inline unsigned vn_evpn_key_slot(uint64_t key) { return (unsigned)(key >> 48 & 0x7fff); }
void vn_evpn_key_mac(uint64_t key, uint8_t mac[6]);

#endif
