/* The forwarding database of one network: MAC address -> port, with aging
 * and a hard maximum.
 *
 * Theory of operation: an open-addressing hash table with linear probing,
 * sized once (a power of two at least twice the maximum, so probes stay
 * short) and never reallocated: learning a MAC never allocates. Keys are
 * hashed with a secret key (core/hash.h) so a guest cannot aim collisions.
 * When the table holds `max` entries, new MACs are not learned (frames to
 * them are flooded by the switch) and existing entries keep working. An entry
 * older than the aging time is treated as absent by lookups and removed by
 * vn_fdb_age(), which the switch calls periodically. Deletion uses backward
 * shifting, so there are no tombstones to degrade probes over time. */
#ifndef VN_SWITCH_FDB_H
#define VN_SWITCH_FDB_H

#include <stdbool.h>
#include <stdint.h>

struct vn_fdb_entry {
    uint64_t key;     /* MAC in the low 48 bits, bit 48 set; 0 = empty slot */
    uint32_t seen_s;  /* last time the MAC was seen as a source (vn_fdb clock) */
    uint16_t port;    /* port id */
};

struct vn_fdb {
    struct vn_fdb_entry *slots;
    uint32_t mask;     /* slots - 1 */
    uint32_t count;    /* entries in use */
    uint32_t max;      /* refuse to learn beyond this */
    uint32_t aging_s;  /* 0 = never age */
    /* counters */
    uint64_t learned, moved, aged, full;
};

enum vn_fdb_result { VN_FDB_NEW, VN_FDB_REFRESHED, VN_FDB_MOVED, VN_FDB_FULL };

/* Allocate a table for up to max entries; returns 0 or -1 (ENOMEM). */
int vn_fdb_init(struct vn_fdb *fdb, uint32_t max, uint32_t aging_s);
void vn_fdb_free(struct vn_fdb *fdb);

/* Record that mac was seen on port at time now_s; returns what happened. */
enum vn_fdb_result vn_fdb_learn(struct vn_fdb *fdb, const uint8_t mac[6], uint16_t port,
                                uint32_t now_s);
/* Port id for mac, or -1 if unknown or aged out. */
int vn_fdb_lookup(const struct vn_fdb *fdb, const uint8_t mac[6], uint32_t now_s);
/* Remove entries not seen for the aging time; returns how many. */
uint32_t vn_fdb_age(struct vn_fdb *fdb, uint32_t now_s);
/* Remove every entry pointing at port; returns how many. */
uint32_t vn_fdb_flush_port(struct vn_fdb *fdb, uint16_t port);
/* Remove mac's entry if it points at port (the port no longer knows where
 * the MAC is); returns 1 if removed, 0 if there was none there. */
int vn_fdb_forget(struct vn_fdb *fdb, const uint8_t mac[6], uint16_t port);
/* Remove everything. */
void vn_fdb_flush(struct vn_fdb *fdb);

/* Iterate: *pos starts at 0; returns the next live entry or NULL at the end. */
const struct vn_fdb_entry *vn_fdb_next(const struct vn_fdb *fdb, uint32_t *pos);
/* MAC bytes of an entry's key. */
void vn_fdb_key_mac(uint64_t key, uint8_t mac[6]);

#endif
