/* The EVPN mirror's table: see table.h for the theory of operation. */
#include "table.h"
#include "core/hash.h"

#include <linux/neighbour.h>

#include <stdlib.h>
#include <string.h>

static uint64_t key_of(unsigned slot, const uint8_t m[6])
{
    return (uint64_t)m[0] << 40 | (uint64_t)m[1] << 32 | (uint64_t)m[2] << 24 |
           (uint64_t)m[3] << 16 | (uint64_t)m[4] << 8 | m[5] | (uint64_t)slot << 48 | 1ull << 63;
}

void vn_evpn_key_mac(uint64_t key, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)(key >> (40 - 8 * i));
}

static bool mac_zero(const uint8_t m[6])
{
    return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

int vn_evpn_tab_init(struct vn_evpn_table *t, unsigned nslots, uint32_t max, uint32_t refresh_ms,
                     const struct vn_evpn_ops *ops)
{
    memset(t, 0, sizeof *t);
    if (nslots > VN_EVPN_MAX_SLOTS)
        return -1;
    uint32_t n = 16;
    while (n < 2 * (uint64_t)max && n < (1u << 30))
        n <<= 1;
    t->e = calloc(n, sizeof *t->e);
    if (!t->e)
        return -1;
    for (unsigned s = 0; s < nslots; s++) {
        t->slots[s].flood = calloc(VN_EVPN_MAX_FLOOD, sizeof *t->slots[s].flood);
        if (!t->slots[s].flood) {
            t->nslots = s;
            vn_evpn_tab_free(t);
            return -1;
        }
    }
    t->mask = n - 1;
    t->max = max;
    t->nslots = nslots;
    t->refresh_ms = refresh_ms;
    t->ops = *ops;
    return 0;
}

void vn_evpn_tab_free(struct vn_evpn_table *t)
{
    free(t->e);
    t->e = NULL;
    for (unsigned s = 0; s < t->nslots; s++) {
        free(t->slots[s].flood);
        t->slots[s].flood = NULL;
    }
}

void vn_evpn_tab_set_ifs(struct vn_evpn_table *t, unsigned slot, int vx, int br, int tap)
{
    if (slot < t->nslots) {
        t->slots[slot].vx = vx;
        t->slots[slot].br = br;
        t->slots[slot].tap = tap;
    }
}

/* ---- the hash table ---- */

static uint32_t probe(const struct vn_evpn_table *t, uint64_t key)
{
    uint32_t i = (uint32_t)vn_hash_u64(key) & t->mask;
    while (t->e[i].key && t->e[i].key != key)
        i = (i + 1) & t->mask;
    return i;
}

/* The entry of key, made if create and there is room; NULL otherwise. */
static struct vn_evpn_entry *get(struct vn_evpn_table *t, uint64_t key, bool create)
{
    struct vn_evpn_entry *e = &t->e[probe(t, key)];
    if (e->key)
        return e;
    if (!create)
        return NULL;
    if (t->count >= t->max) {
        t->c.full++;
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->key = key;
    t->count++;
    return e;
}

/* Remove the entry in slot i, shifting later members of its probe chain back. */
static void remove_slot(struct vn_evpn_table *t, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        t->e[i].key = 0;
        for (;;) {
            j = (j + 1) & t->mask;
            if (!t->e[j].key)
                goto done;
            uint32_t home = (uint32_t)vn_hash_u64(t->e[j].key) & t->mask;
            if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                break;
        }
        t->e[i] = t->e[j];
        i = j;
    }
done:
    t->count--;
}

static bool unused(const struct vn_evpn_entry *e)
{
    return !e->self && !e->mvx && !e->tap && !e->local && !e->installed.family;
}

static void drop_if_unused(struct vn_evpn_table *t, struct vn_evpn_entry *e)
{
    if (unused(e))
        remove_slot(t, (uint32_t)(e - t->e));
}

const struct vn_evpn_entry *vn_evpn_tab_next(const struct vn_evpn_table *t, uint32_t *pos)
{
    while (*pos <= t->mask) {
        const struct vn_evpn_entry *e = &t->e[(*pos)++];
        if (e->key)
            return e;
    }
    return NULL;
}

/* ---- imports ---- */

/* Make the vxlan port agree with what the kernel says of e. */
static void reconcile(struct vn_evpn_table *t, struct vn_evpn_entry *e)
{
    unsigned slot = vn_evpn_key_slot(e->key);
    uint8_t mac[6];
    vn_evpn_key_mac(e->key, mac);
    if (e->self && e->mvx && !e->tap) {
        if (e->installed.family && vn_addr_eq(&e->installed, &e->dst))
            return;
        if (t->ops.mac_add(t->ops.ctx, slot, mac, &e->dst) < 0) {
            t->c.mac_errors++;
            return;
        }
        if (!e->installed.family)
            t->remote++;
        e->installed = e->dst;
        e->remote_s = t->now_s;
        t->c.mac_added++;
    } else if (e->installed.family) {
        if (t->ops.mac_del(t->ops.ctx, slot, mac) < 0)
            t->c.mac_errors++; /* gone already (the port forgot it): forgotten here too */
        else
            t->c.mac_deleted++;
        memset(&e->installed, 0, sizeof e->installed);
        t->remote--;
    }
}

static int flood_find(const struct vn_evpn_slot *s, const struct vn_addr *a)
{
    for (unsigned i = 0; i < s->nflood; i++)
        if (vn_addr_eq(&s->flood[i].addr, a))
            return (int)i;
    return -1;
}

static void flood_remove(struct vn_evpn_table *t, unsigned slot, unsigned i)
{
    struct vn_evpn_slot *s = &t->slots[slot];
    if (t->ops.flood_del(t->ops.ctx, slot, &s->flood[i].addr) < 0)
        t->c.flood_errors++;
    else
        t->c.flood_deleted++;
    s->flood[i] = s->flood[--s->nflood];
}

static void flood_event(struct vn_evpn_table *t, unsigned slot, const struct vn_evpn_neigh *n)
{
    struct vn_evpn_slot *s = &t->slots[slot];
    int i = flood_find(s, &n->dst);
    if (n->del) {
        if (i >= 0)
            flood_remove(t, slot, (unsigned)i);
        return;
    }
    if (i >= 0) {
        s->flood[i].gen = t->gen;
        return;
    }
    if (s->nflood >= VN_EVPN_MAX_FLOOD) {
        t->c.full++;
        return;
    }
    if (t->ops.flood_add(t->ops.ctx, slot, &n->dst) < 0) {
        t->c.flood_errors++;
        return;
    }
    t->c.flood_added++;
    s->flood[s->nflood++] = (struct vn_evpn_flood){ .addr = n->dst, .gen = t->gen };
}

enum kind { K_NONE, K_SELF, K_MVX, K_TAP };

void vn_evpn_tab_neigh(struct vn_evpn_table *t, const struct vn_evpn_neigh *n)
{
    t->c.events++;
    enum kind k = K_NONE;
    unsigned slot = 0;
    for (; slot < t->nslots && k == K_NONE; slot++) {
        const struct vn_evpn_slot *s = &t->slots[slot];
        if (!n->master && n->ifindex == s->vx && s->vx)
            k = K_SELF;
        else if (n->master && n->master == s->br && s->br)
            k = n->ifindex == s->vx ? K_MVX : n->ifindex == s->tap ? K_TAP : K_NONE;
    }
    slot--;
    if (k == K_NONE || !n->has_mac || (k == K_SELF && !n->has_dst)) {
        t->c.ignored++;
        return;
    }
    if (k == K_SELF && mac_zero(n->mac)) {
        flood_event(t, slot, n);
        return;
    }
    if (n->mac[0] & 1 || mac_zero(n->mac)) { /* multicast: never a remote MAC */
        t->c.ignored++;
        return;
    }
    struct vn_evpn_entry *e = get(t, key_of(slot, n->mac), !n->del);
    if (!e)
        return;
    switch (k) {
    case K_SELF:
        if (n->del) {
            if (e->self && vn_addr_eq(&e->dst, &n->dst))
                e->self = false; /* a deletion of another dst is not ours */
        } else {
            e->self = true;
            e->dst = n->dst;
            e->gen_self = t->gen;
        }
        break;
    case K_MVX: /* the bridge's one entry of the MAC is on vx now (or gone from it) */
        e->mvx = !n->del && (n->flags & NTF_EXT_LEARNED);
        e->gen_mvx = t->gen;
        if (!n->del)
            e->tap = false;
        break;
    case K_TAP: /* ... on the tap */
        e->tap = !n->del;
        e->gen_tap = t->gen;
        if (!n->del)
            e->mvx = false;
        break;
    case K_NONE:
        break;
    }
    reconcile(t, e);
    drop_if_unused(t, e);
}

void vn_evpn_tab_resync_begin(struct vn_evpn_table *t)
{
    t->gen++;
    t->c.resyncs++;
}

void vn_evpn_tab_resync_end(struct vn_evpn_table *t)
{
    for (uint32_t i = 0; i <= t->mask;) {
        struct vn_evpn_entry *e = &t->e[i];
        if (!e->key) {
            i++;
            continue;
        }
        if (e->self && e->gen_self != t->gen)
            e->self = false;
        if (e->mvx && e->gen_mvx != t->gen)
            e->mvx = false;
        if (e->tap && e->gen_tap != t->gen)
            e->tap = false;
        reconcile(t, e);
        if (unused(e)) {
            remove_slot(t, i); /* may shift an unvisited entry into i: look again */
            continue;
        }
        i++;
    }
    for (unsigned s = 0; s < t->nslots; s++)
        for (unsigned i = 0; i < t->slots[s].nflood;)
            if (t->slots[s].flood[i].gen != t->gen)
                flood_remove(t, s, i); /* the last one moved into i */
            else
                i++;
}

/* ---- local MACs ---- */

void vn_evpn_tab_walk_begin(struct vn_evpn_table *t)
{
    t->walk++;
}

bool vn_evpn_tab_local(struct vn_evpn_table *t, unsigned slot, const uint8_t mac[6],
                       uint64_t now_ms, uint32_t seen_s)
{
    if (slot >= t->nslots || mac[0] & 1 || mac_zero(mac))
        return false;
    struct vn_evpn_entry *e = get(t, key_of(slot, mac), true);
    if (!e)
        return false;
    if (e->installed.family && (int32_t)(seen_s - e->remote_s) <= 0)
        return false; /* behind another VTEP since vnetd last heard from it */
    if (!e->local) {
        e->local = true;
        e->injects = 0;
        t->mirrored++;
    }
    e->local_gen = t->walk;
    if (e->injects && now_ms < e->next_ms)
        return false;
    /* the second frame follows the first after 1 s: right after start the
     * tap's bridge port may not forward (learn) yet */
    e->next_ms = now_ms + (e->injects ? t->refresh_ms : 1000);
    if (e->injects < 255)
        e->injects++;
    return true;
}

void vn_evpn_tab_walk_end(struct vn_evpn_table *t)
{
    for (uint32_t i = 0; i <= t->mask;) {
        struct vn_evpn_entry *e = &t->e[i];
        if (e->key && e->local && e->local_gen != t->walk) {
            e->local = false;
            e->injects = 0;
            t->mirrored--;
            if (unused(e)) {
                remove_slot(t, i);
                continue;
            }
        }
        i++;
    }
}
