/* AllowedIPs: a path-compressed binary trie per family (see allowed.h). */
#include "vpn/allowed.h"

#include <stdlib.h>
#include <string.h>

/* Bit i (0 = most significant of key[0]) of key. */
static unsigned bit_at(const uint8_t *key, unsigned i)
{
    return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

/* How many leading bits x and y share, at most limit. */
static unsigned common_bits(const uint8_t *x, const uint8_t *y, unsigned limit)
{
    for (unsigned i = 0; i < limit; i += 8) {
        unsigned d = x[i >> 3] ^ y[i >> 3];
        if (d) {
            unsigned c = i + (unsigned)__builtin_clz(d) - 24;
            return c < limit ? c : limit;
        }
    }
    return limit;
}

/* 0 for IPv4, 1 for IPv6, -1 for anything else. */
static int fam_index(const struct vn_addr *a)
{
    return a->family == AF_INET ? 0 : a->family == AF_INET6 ? 1 : -1;
}

int vn_allowed_init(struct vn_allowed *t, uint32_t max)
{
    memset(t, 0, sizeof *t);
    if (!max || max > UINT32_MAX / 2 - 1)
        return -1;
    t->max = max;
    t->cap = 2 * max;
    t->nodes = calloc(t->cap, sizeof *t->nodes);
    if (!t->nodes)
        return -1;
    for (uint32_t i = 0; i < t->cap; i++)
        t->nodes[i].child[0] = i + 1 < t->cap ? i + 1 : VN_ALLOWED_NIL;
    t->free_head = 0;
    t->root[0] = t->root[1] = VN_ALLOWED_NIL;
    return 0;
}

void vn_allowed_free(struct vn_allowed *t)
{
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

/* Take a node from the pool for key/bits (key's host bits cleared here);
 * the pool cannot run dry while count <= max (see allowed.h). */
static uint32_t node_new(struct vn_allowed *t, uint8_t family, const uint8_t *key, unsigned bits,
                         uint16_t peer, uint32_t parent)
{
    uint32_t i = t->free_head;
    struct vn_allowed_node *n = &t->nodes[i];
    t->free_head = n->child[0];
    struct vn_addr a = { .family = family };
    memcpy(a.a, key, 16);
    a = vn_addr_masked(&a, bits);
    memcpy(n->key, a.a, 16);
    n->bits = (uint8_t)bits;
    n->family = family;
    n->peer = peer;
    n->parent = parent;
    n->child[0] = n->child[1] = VN_ALLOWED_NIL;
    return i;
}

static void node_free(struct vn_allowed *t, uint32_t i)
{
    t->nodes[i].family = 0;
    t->nodes[i].peer = VN_ALLOWED_NONE;
    t->nodes[i].child[0] = t->free_head;
    t->free_head = i;
}

/* The link (a root or a child slot) that points at node i. */
static uint32_t *link_to(struct vn_allowed *t, uint32_t i)
{
    const struct vn_allowed_node *n = &t->nodes[i];
    if (n->parent == VN_ALLOWED_NIL)
        return &t->root[n->family == AF_INET6];
    struct vn_allowed_node *p = &t->nodes[n->parent];
    return &p->child[p->child[1] == i];
}

int vn_allowed_insert(struct vn_allowed *t, const struct vn_addr *p, unsigned len, uint16_t peer)
{
    int f = fam_index(p);
    if (f < 0 || len > vn_addr_bits(p) || peer == VN_ALLOWED_NONE)
        return -2;
    struct vn_addr m = vn_addr_masked(p, len);
    uint32_t *link = &t->root[f], parent = VN_ALLOWED_NIL;
    while (*link != VN_ALLOWED_NIL) {
        struct vn_allowed_node *n = &t->nodes[*link];
        unsigned lim = len < n->bits ? len : n->bits;
        if (common_bits(m.a, n->key, lim) < n->bits)
            break; /* n is not inside the new prefix's path */
        if (n->bits == len) { /* the prefix itself: (re)assign it */
            if (n->peer == VN_ALLOWED_NONE) {
                if (t->count >= t->max)
                    return -1;
                t->count++;
            }
            n->peer = peer;
            return 0;
        }
        parent = *link;
        link = &n->child[bit_at(m.a, n->bits)];
    }
    if (t->count >= t->max)
        return -1;
    t->count++;
    uint32_t leaf = node_new(t, m.family, m.a, len, peer, parent);
    if (*link == VN_ALLOWED_NIL) {
        *link = leaf;
        return 0;
    }
    uint32_t old = *link;
    struct vn_allowed_node *o = &t->nodes[old];
    unsigned lim = len < o->bits ? len : o->bits;
    unsigned c = common_bits(m.a, o->key, lim);
    if (c == len) { /* the new prefix holds the old subtree */
        t->nodes[leaf].child[bit_at(o->key, len)] = old;
        o->parent = leaf;
        *link = leaf;
        return 0;
    }
    /* They part at bit c: a branch point holds both. */
    uint32_t br = node_new(t, m.family, m.a, c, VN_ALLOWED_NONE, parent);
    t->nodes[br].child[bit_at(m.a, c)] = leaf;
    t->nodes[br].child[bit_at(o->key, c)] = old;
    t->nodes[leaf].parent = br;
    o->parent = br;
    *link = br;
    return 0;
}

/* Take node i's peer away and drop the branch points left with fewer than
 * two children, upwards. */
static void unassign(struct vn_allowed *t, uint32_t i)
{
    t->nodes[i].peer = VN_ALLOWED_NONE;
    t->count--;
    while (i != VN_ALLOWED_NIL) {
        struct vn_allowed_node *n = &t->nodes[i];
        if (n->peer != VN_ALLOWED_NONE || (n->child[0] != VN_ALLOWED_NIL &&
                                           n->child[1] != VN_ALLOWED_NIL))
            return;
        uint32_t only = n->child[0] != VN_ALLOWED_NIL ? n->child[0] : n->child[1];
        uint32_t parent = n->parent;
        *link_to(t, i) = only;
        node_free(t, i);
        if (only != VN_ALLOWED_NIL) {
            t->nodes[only].parent = parent;
            return; /* the parent keeps as many children */
        }
        i = parent; /* the parent lost one: check it too */
    }
}

/* The node of exactly p/len, or VN_ALLOWED_NIL. */
static uint32_t find_exact(const struct vn_allowed *t, const struct vn_addr *p, unsigned len)
{
    int f = fam_index(p);
    if (f < 0 || len > vn_addr_bits(p))
        return VN_ALLOWED_NIL;
    struct vn_addr m = vn_addr_masked(p, len);
    uint32_t i = t->root[f];
    while (i != VN_ALLOWED_NIL) {
        const struct vn_allowed_node *n = &t->nodes[i];
        if (n->bits > len || common_bits(m.a, n->key, n->bits) < n->bits)
            return VN_ALLOWED_NIL;
        if (n->bits == len)
            return i;
        i = n->child[bit_at(m.a, n->bits)];
    }
    return VN_ALLOWED_NIL;
}

int vn_allowed_owner(const struct vn_allowed *t, const struct vn_addr *p, unsigned len)
{
    uint32_t i = find_exact(t, p, len);
    return i == VN_ALLOWED_NIL || t->nodes[i].peer == VN_ALLOWED_NONE ? -1 : t->nodes[i].peer;
}

int vn_allowed_remove(struct vn_allowed *t, const struct vn_addr *p, unsigned len)
{
    uint32_t i = find_exact(t, p, len);
    if (i == VN_ALLOWED_NIL || t->nodes[i].peer == VN_ALLOWED_NONE)
        return -1;
    int peer = t->nodes[i].peer;
    unassign(t, i);
    return peer;
}

unsigned vn_allowed_remove_peer(struct vn_allowed *t, uint16_t peer)
{
    unsigned n = 0;
    /* Removing frees only branch points and the node itself, so the scan
     * never skips a node of peer. */
    for (uint32_t i = 0; i < t->cap; i++)
        if (t->nodes[i].family && t->nodes[i].peer == peer && peer != VN_ALLOWED_NONE) {
            unassign(t, i);
            n++;
        }
    return n;
}

int vn_allowed_lookup(const struct vn_allowed *t, const struct vn_addr *a)
{
    int f = fam_index(a), best = -1;
    if (f < 0)
        return -1;
    unsigned maxbits = vn_addr_bits(a);
    uint32_t i = t->root[f];
    while (i != VN_ALLOWED_NIL) {
        const struct vn_allowed_node *n = &t->nodes[i];
        if (common_bits(a->a, n->key, n->bits) < n->bits)
            break;
        if (n->peer != VN_ALLOWED_NONE)
            best = n->peer;
        if (n->bits >= maxbits)
            break;
        i = n->child[bit_at(a->a, n->bits)];
    }
    return best;
}

bool vn_allowed_next(const struct vn_allowed *t, uint16_t peer, uint32_t *cursor,
                     struct vn_addr *p, unsigned *len)
{
    for (uint32_t i = *cursor; i < t->cap; i++) {
        const struct vn_allowed_node *n = &t->nodes[i];
        if (!n->family || n->peer != peer || peer == VN_ALLOWED_NONE)
            continue;
        memset(p, 0, sizeof *p);
        p->family = n->family;
        memcpy(p->a, n->key, 16);
        *len = n->bits;
        *cursor = i + 1;
        return true;
    }
    *cursor = t->cap;
    return false;
}
