/* The VTEPs and remote MACs of a VXLAN port: see vxlan_table.h. */
#include "vxlan_table.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mac_key(uint16_t net, const uint8_t m[6])
{
    return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
           (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5] | (uint64_t)(net & 0x7fff) << 48 |
           1ull << 63;
}

void vn_vx_key_mac(uint64_t key, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(key >> (40 - 8 * i));
}

int vn_vx_table_init(struct vn_vx_table *t, uint32_t max, uint32_t share, uint32_t ageing_s)
{
    memset(t, 0, sizeof *t);
    if (!max)
        max = 1;
    uint32_t n = 16;
    while (n < 2 * (uint64_t)max && n < (1u << 30))
        n <<= 1;
    t->macs = calloc(max, sizeof *t->macs);
    t->index = calloc(n, sizeof *t->index);
    t->vteps = calloc(VN_VX_MAX_VTEPS, sizeof *t->vteps);
    t->vindex = calloc(2 * VN_VX_MAX_VTEPS, sizeof *t->vindex);
    if (!t->macs || !t->index || !t->vteps || !t->vindex) {
        vn_vx_table_free(t);
        return -1;
    }
    t->mask = n - 1;
    t->max = max;
    t->share = share ? VN_MIN(share, max) : VN_MAX(max / 4, 1u);
    t->ageing_s = ageing_s;
    for (uint32_t i = 0; i < max; i++)
        t->macs[i].next = i + 1 < max ? i + 1 : VN_VX_NIL;
    t->free_head = 0;
    return 0;
}

void vn_vx_table_free(struct vn_vx_table *t)
{
    free(t->macs);
    free(t->index);
    free(t->vteps);
    free(t->vindex);
    for (unsigned i = 0; i < VN_MAX_NETWORKS; i++)
        free(t->flood[i]);
    memset(t, 0, sizeof *t);
}

/* ---- VTEPs ---- */

static uint32_t addr_hash(const struct vn_addr *a)
{
    uint8_t k[17];
    k[0] = a->family;
    memcpy(k + 1, a->a, a->family == AF_INET ? 4 : 16); /* what vn_addr_eq compares */
    return (uint32_t)vn_hash(k, a->family == AF_INET ? 5 : 17);
}

#define VMASK (2 * VN_VX_MAX_VTEPS - 1)

/* Slot of vindex holding VTEP a, or the empty slot where it would go. */
static uint32_t vprobe(const struct vn_vx_table *t, const struct vn_addr *a)
{
    uint32_t i = addr_hash(a) & VMASK;
    while (t->vindex[i] && !vn_addr_eq(&t->vteps[t->vindex[i] - 1].addr, a))
        i = (i + 1) & VMASK;
    return i;
}

int vn_vx_vtep_find(const struct vn_vx_table *t, const struct vn_addr *a)
{
    uint32_t i = vprobe(t, a);
    return t->vindex[i] ? t->vindex[i] - 1 : -1;
}

/* Rebuild the per-network flood lists from the VTEPs' masks. Returns 0 or
 * -1 when a list cannot be allocated. */
static int rebuild_flood(struct vn_vx_table *t)
{
    for (unsigned n = 0; n < VN_MAX_NETWORKS; n++) {
        t->nflood[n] = 0;
        for (unsigned v = 0; v < t->vtep_hi; v++) {
            if (!t->vteps[v].addr.family || !(t->vteps[v].flood >> n & 1))
                continue;
            if (!t->flood[n] && !(t->flood[n] = calloc(VN_VX_MAX_VTEPS, sizeof(uint16_t))))
                return -1;
            t->flood[n][t->nflood[n]++] = (uint16_t)v;
        }
    }
    return 0;
}

int vn_vx_vtep_add(struct vn_vx_table *t, const struct vn_addr *a, uint16_t port,
                   enum vn_vx_origin origin, uint64_t flood)
{
    uint32_t slot = vprobe(t, a);
    struct vn_vx_vtep *e;
    int v;
    if (t->vindex[slot]) {
        v = t->vindex[slot] - 1;
        e = &t->vteps[v];
        if (origin > e->origin)
            e->origin = (uint8_t)origin;
    } else {
        if (t->nvteps >= VN_VX_MAX_VTEPS || (a->family != AF_INET && a->family != AF_INET6))
            return -1;
        for (v = 0; t->vteps[v].addr.family; v++)
            ;
        e = &t->vteps[v];
        memset(e, 0, sizeof *e);
        e->addr = *a;
        e->origin = (uint8_t)origin;
        e->head = e->tail = VN_VX_NIL;
        t->vindex[slot] = (uint16_t)(v + 1);
        t->nvteps++;
        if ((unsigned)v >= t->vtep_hi)
            t->vtep_hi = (unsigned)v + 1;
        if (origin == VN_VX_LEARNED)
            t->vteps_learned++;
    }
    if (port) {
        e->port = port;
        struct sockaddr_storage ss;
        e->salen = vn_addr_sockaddr(&e->addr, port, &ss);
        memcpy(&e->sa, &ss, e->salen);
    }
    if (flood & ~e->flood) {
        e->flood |= flood;
        if (rebuild_flood(t) < 0) {
            e->flood &= ~flood;
            rebuild_flood(t);
            return -1;
        }
    }
    return v;
}

void vn_vx_vtep_unflood(struct vn_vx_table *t, unsigned v, uint64_t nets)
{
    t->vteps[v].flood &= nets ? ~nets : 0;
    rebuild_flood(t); /* shrinking: never allocates */
}

/* ---- the MAC index ---- */

static uint32_t home(const struct vn_vx_table *t, uint64_t key)
{
    return (uint32_t)vn_hash_u64(key) & t->mask;
}

/* Slot of index holding key, or the empty slot where it would go. */
static uint32_t probe(const struct vn_vx_table *t, uint64_t key)
{
    uint32_t i = home(t, key);
    while (t->index[i] && t->macs[t->index[i] - 1].key != key)
        i = (i + 1) & t->mask;
    return i;
}

/* Empty index slot i, shifting later members of its probe chain back (no
 * tombstones). */
static void index_remove(struct vn_vx_table *t, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        t->index[i] = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (!t->index[j])
                return;
            uint32_t h = home(t, t->macs[t->index[j] - 1].key);
            /* j's entry may move to i if its home is not in the cyclic range (i, j]. */
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
                break;
        }
        t->index[i] = t->index[j];
        i = j;
    }
}

/* Learned list of a VTEP: append entry e at the tail, or unlink it. */
static void list_append(struct vn_vx_table *t, struct vn_vx_vtep *v, uint32_t e)
{
    t->macs[e].prev = v->tail;
    t->macs[e].next = VN_VX_NIL;
    if (v->tail != VN_VX_NIL)
        t->macs[v->tail].next = e;
    else
        v->head = e;
    v->tail = e;
    v->nlearned++;
}

static void list_unlink(struct vn_vx_table *t, struct vn_vx_vtep *v, uint32_t e)
{
    struct vn_vx_mac *m = &t->macs[e];
    if (m->prev != VN_VX_NIL)
        t->macs[m->prev].next = m->next;
    else
        v->head = m->next;
    if (m->next != VN_VX_NIL)
        t->macs[m->next].prev = m->prev;
    else
        v->tail = m->prev;
    v->nlearned--;
}

/* Remove entry e entirely (index, its VTEP's list or static count, the pool). */
static void entry_remove(struct vn_vx_table *t, uint32_t e)
{
    struct vn_vx_mac *m = &t->macs[e];
    struct vn_vx_vtep *v = &t->vteps[m->vtep];
    if (m->is_static)
        v->nstatic--;
    else
        list_unlink(t, v, e);
    index_remove(t, probe(t, m->key));
    m->key = 0;
    m->next = t->free_head;
    t->free_head = e;
    t->count--;
}

/* A free pool entry for key, indexed (the caller links it). Needs count < max. */
static uint32_t entry_alloc(struct vn_vx_table *t, uint64_t key, uint16_t vtep, uint32_t now)
{
    uint32_t e = t->free_head;
    t->free_head = t->macs[e].next;
    t->macs[e] = (struct vn_vx_mac){ .key = key, .seen_s = now, .vtep = vtep,
                                     .prev = VN_VX_NIL, .next = VN_VX_NIL };
    t->index[probe(t, key)] = e + 1;
    t->count++;
    return e;
}

/* Make room for one learned entry when the table is full: the oldest
 * learned entry of the VTEP holding the most, preferring others over `own`
 * only when they hold more than it. Returns false when every entry is static. */
static bool make_room(struct vn_vx_table *t, int own)
{
    int victim = -1;
    uint32_t most = 0;
    for (unsigned v = 0; v < t->vtep_hi; v++)
        if (t->vteps[v].addr.family && t->vteps[v].nlearned > most) {
            most = t->vteps[v].nlearned;
            victim = (int)v;
        }
    if (victim < 0)
        return false;
    if (own >= 0 && t->vteps[own].nlearned == most)
        victim = own; /* nobody holds more: its own oldest */
    entry_remove(t, t->vteps[victim].head);
    if (victim == own)
        t->recycled++;
    else
        t->evicted++;
    return true;
}

static inline bool expired(const struct vn_vx_table *t, const struct vn_vx_mac *m, uint32_t now)
{
    return !m->is_static && t->ageing_s && now - m->seen_s > t->ageing_s;
}

enum vn_vx_learn_result vn_vx_learn(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6],
                                    uint16_t vi, uint32_t now)
{
    uint64_t key = mac_key(net, mac);
    uint32_t slot = probe(t, key);
    struct vn_vx_vtep *v = &t->vteps[vi];
    if (t->index[slot]) {
        uint32_t e = t->index[slot] - 1;
        struct vn_vx_mac *m = &t->macs[e];
        if (m->is_static) {
            if (m->vtep == vi)
                return VN_VX_REFRESHED;
            t->static_conflicts++;
            return VN_VX_STATIC;
        }
        if (m->vtep == vi) {
            if (m->seen_s != now) { /* most recently seen goes last */
                m->seen_s = now;
                if (v->tail != e) {
                    list_unlink(t, v, e);
                    list_append(t, v, e);
                }
            }
            return VN_VX_REFRESHED;
        }
        /* A move: followed at once, within the new VTEP's share. */
        list_unlink(t, &t->vteps[m->vtep], e);
        if (v->nlearned >= t->share) {
            entry_remove(t, v->head);
            v->recycled++;
            t->recycled++;
        }
        m->vtep = vi;
        m->seen_s = now;
        list_append(t, v, e);
        t->moved++;
        return VN_VX_MOVED;
    }
    if (v->nlearned >= t->share) {
        entry_remove(t, v->head); /* its own oldest, never another's */
        v->recycled++;
        t->recycled++;
    } else if (t->count >= t->max && !make_room(t, vi)) {
        t->full++;
        return VN_VX_FULL;
    }
    list_append(t, v, entry_alloc(t, key, vi, now));
    t->learned++;
    return VN_VX_NEW;
}

int vn_vx_lookup(const struct vn_vx_table *t, uint16_t net, const uint8_t mac[6], uint32_t now)
{
    uint32_t slot = probe(t, mac_key(net, mac));
    if (!t->index[slot])
        return -1;
    const struct vn_vx_mac *m = &t->macs[t->index[slot] - 1];
    return expired(t, m, now) ? -1 : m->vtep;
}

int vn_vx_static_add(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6], uint16_t vi)
{
    uint64_t key = mac_key(net, mac);
    uint32_t slot = probe(t, key);
    if (t->index[slot])
        entry_remove(t, t->index[slot] - 1);
    else if (t->count >= t->max && !make_room(t, -1))
        return -1;
    uint32_t e = entry_alloc(t, key, vi, 0);
    t->macs[e].is_static = true;
    t->vteps[vi].nstatic++;
    return 0;
}

struct vn_vx_mac *vn_vx_find(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6])
{
    uint32_t slot = probe(t, mac_key(net, mac));
    return t->index[slot] ? &t->macs[t->index[slot] - 1] : NULL;
}

int vn_vx_mac_del(struct vn_vx_table *t, uint16_t net, const uint8_t mac[6])
{
    uint32_t slot = probe(t, mac_key(net, mac));
    if (!t->index[slot])
        return -1;
    entry_remove(t, t->index[slot] - 1);
    return 0;
}

void vn_vx_vtep_del(struct vn_vx_table *t, unsigned vi)
{
    struct vn_vx_vtep *v = &t->vteps[vi];
    if (!v->addr.family)
        return;
    while (v->head != VN_VX_NIL)
        entry_remove(t, v->head);
    for (uint32_t e = 0; v->nstatic && e < t->max; e++)
        if (t->macs[e].key && t->macs[e].vtep == vi)
            entry_remove(t, e);
    /* Out of the address index (backward shift, as for MACs). */
    uint32_t i = vprobe(t, &v->addr), j = i;
    for (;;) {
        t->vindex[i] = 0;
        for (;;) {
            j = (j + 1) & VMASK;
            if (!t->vindex[j])
                goto done;
            uint32_t h = addr_hash(&t->vteps[t->vindex[j] - 1].addr) & VMASK;
            if (i <= j ? (h <= i || h > j) : (h <= i && h > j))
                break;
        }
        t->vindex[i] = t->vindex[j];
        i = j;
    }
done:;
    bool flooded = v->flood != 0;
    memset(v, 0, sizeof *v);
    t->nvteps--;
    while (t->vtep_hi && !t->vteps[t->vtep_hi - 1].addr.family)
        t->vtep_hi--;
    if (flooded)
        rebuild_flood(t);
}

uint32_t vn_vx_age(struct vn_vx_table *t, uint32_t now)
{
    uint32_t n = 0;
    uint32_t idle = t->ageing_s ? t->ageing_s : VN_VX_IDLE_VTEP_S;
    for (unsigned vi = 0; vi < t->vtep_hi; vi++) {
        struct vn_vx_vtep *v = &t->vteps[vi];
        if (!v->addr.family)
            continue;
        while (v->head != VN_VX_NIL && expired(t, &t->macs[v->head], now)) {
            entry_remove(t, v->head);
            n++;
        }
        if (v->origin == VN_VX_LEARNED && !v->nlearned && !v->nstatic &&
            (!v->seen || now - v->seen_s > idle)) {
            vn_vx_vtep_del(t, vi);
            t->vteps_aged++;
        }
    }
    t->aged += n;
    return n;
}

const struct vn_vx_mac *vn_vx_next(const struct vn_vx_table *t, uint32_t *pos)
{
    while (*pos < t->max) {
        const struct vn_vx_mac *m = &t->macs[(*pos)++];
        if (m->key)
            return m;
    }
    return NULL;
}
