/* Forwarding database: see fdb.h for the theory of operation. */
#include "fdb.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mac_key(const uint8_t m[6])
{
    return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
           (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5] | (1ull << 48);
}

void vn_fdb_key_mac(uint64_t key, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(key >> (40 - 8 * i));
}

int vn_fdb_init(struct vn_fdb *fdb, uint32_t max, uint32_t aging_s)
{
    memset(fdb, 0, sizeof *fdb);
    uint32_t n = 16;
    while (n < 2 * (uint64_t)max && n < (1u << 30))
        n <<= 1;
    fdb->slots = calloc(n, sizeof *fdb->slots);
    if (!fdb->slots)
        return -1;
    fdb->mask = n - 1;
    fdb->max = max;
    fdb->aging_s = aging_s;
    return 0;
}

void vn_fdb_free(struct vn_fdb *fdb)
{
    free(fdb->slots);
    fdb->slots = NULL;
}

static inline bool expired(const struct vn_fdb *fdb, const struct vn_fdb_entry *e, uint32_t now)
{
    return fdb->aging_s && now - e->seen_s > fdb->aging_s;
}

/* Slot index holding key, or the empty slot where it would go. */
static uint32_t probe(const struct vn_fdb *fdb, uint64_t key)
{
    uint32_t i = (uint32_t)vn_hash_u64(key) & fdb->mask;
    while (fdb->slots[i].key && fdb->slots[i].key != key)
        i = (i + 1) & fdb->mask;
    return i;
}

enum vn_fdb_result vn_fdb_learn(struct vn_fdb *fdb, const uint8_t mac[6], uint16_t port,
                                uint32_t now_s)
{
    uint64_t key = mac_key(mac);
    struct vn_fdb_entry *e = &fdb->slots[probe(fdb, key)];
    if (e->key) {
        e->seen_s = now_s;
        if (e->port != port) {
            e->port = port;
            fdb->moved++;
            return VN_FDB_MOVED;
        }
        return VN_FDB_REFRESHED;
    }
    if (fdb->count >= fdb->max) {
        fdb->full++;
        return VN_FDB_FULL;
    }
    e->key = key;
    e->port = port;
    e->seen_s = now_s;
    fdb->count++;
    fdb->learned++;
    return VN_FDB_NEW;
}

int vn_fdb_lookup(const struct vn_fdb *fdb, const uint8_t mac[6], uint32_t now_s)
{
    const struct vn_fdb_entry *e = &fdb->slots[probe(fdb, mac_key(mac))];
    if (!e->key || expired(fdb, e, now_s))
        return -1;
    return e->port;
}

/* Remove the entry in slot i, shifting later members of its probe chain back. */
static void remove_slot(struct vn_fdb *fdb, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        fdb->slots[i].key = 0;
        for (;;) {
            j = (j + 1) & fdb->mask;
            if (!fdb->slots[j].key)
                goto done;
            uint32_t home = (uint32_t)vn_hash_u64(fdb->slots[j].key) & fdb->mask;
            /* Entry j may move to i if its home is not in the cyclic range (i, j]. */
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        fdb->slots[i] = fdb->slots[j];
        i = j;
    }
done:
    fdb->count--;
}

/* Remove entries matching pred; restarts the scan position after each removal
 * because backward shifting may move a not-yet-visited entry into slot i. */
#define FDB_SWEEP(fdb, cond)                                                                       \
    ({                                                                                             \
        uint32_t removed_ = 0;                                                                     \
        for (uint32_t i_ = 0; i_ <= (fdb)->mask;) {                                                \
            struct vn_fdb_entry *e = &(fdb)->slots[i_];                                            \
            if (e->key && (cond)) {                                                                \
                remove_slot((fdb), i_);                                                            \
                removed_++;                                                                        \
                continue;                                                                          \
            }                                                                                      \
            i_++;                                                                                  \
        }                                                                                          \
        removed_;                                                                                  \
    })

uint32_t vn_fdb_age(struct vn_fdb *fdb, uint32_t now_s)
{
    if (!fdb->aging_s)
        return 0;
    uint32_t n = FDB_SWEEP(fdb, expired(fdb, e, now_s));
    fdb->aged += n;
    return n;
}

uint32_t vn_fdb_flush_port(struct vn_fdb *fdb, uint16_t port)
{
    return FDB_SWEEP(fdb, e->port == port);
}

int vn_fdb_forget(struct vn_fdb *fdb, const uint8_t mac[6], uint16_t port)
{
    uint32_t i = probe(fdb, mac_key(mac));
    if (!fdb->slots[i].key || fdb->slots[i].port != port)
        return 0;
    remove_slot(fdb, i);
    return 1;
}

void vn_fdb_flush(struct vn_fdb *fdb)
{
    memset(fdb->slots, 0, ((size_t)fdb->mask + 1) * sizeof *fdb->slots);
    fdb->count = 0;
}

const struct vn_fdb_entry *vn_fdb_next(const struct vn_fdb *fdb, uint32_t *pos)
{
    while (*pos <= fdb->mask) {
        const struct vn_fdb_entry *e = &fdb->slots[(*pos)++];
        if (e->key)
            return e;
    }
    return NULL;
}
