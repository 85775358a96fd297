/* A guest driver's side of a split virtqueue, for the vhost unit tests: one
 * region of local memory laid out as a guest would (descriptor table,
 * available ring, used ring with the event-index fields, then a data area),
 * registered as a memory table and a started vn_vring, and the driver's
 * operations on it: add a chain (direct or through an indirect table),
 * read used elements, poke raw descriptors for the hostile cases. Test-only,
 * header-only (static inline). */
#ifndef VN_TESTS_VHOST_GUEST_H
#define VN_TESTS_VHOST_GUEST_H

#include "vhost/mem.h"
#include "vhost/vring.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define GUEST_GPA 0x40000000ull    /* guest-physical base of the region */
#define GUEST_UVA 0x7f1200000000ull /* the front end's user address of it */
#define GUEST_SIZE (1u << 20)
#define GUEST_DATA 0x80000u         /* data area offset: buffers and indirect tables */

struct guest {
    uint8_t *mem;
    struct vn_vhost_mem m;
    struct vn_vring vq;
    struct vring_desc *desc;
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t num;
    uint16_t avail_idx;  /* driver's copy of avail->idx */
    uint16_t next_desc;  /* next free descriptor slot (round robin) */
    uint16_t used_seen;  /* used elements read so far */
    uint32_t data_next;  /* bump allocator in the data area */
};

/* One buffer of a chain to add: len bytes (from data, or zeros), device
 * writable or not. */
struct gbuf {
    const void *data;
    uint32_t len;
    bool write;
};

static inline uint64_t guest_gpa(const struct guest *g, const void *p)
{
    return GUEST_GPA + (uint64_t)((const uint8_t *)p - g->mem);
}

static inline void *guest_ptr(const struct guest *g, uint64_t gpa)
{
    return g->mem + (gpa - GUEST_GPA);
}

/* Room in the data area (16-byte aligned); NULL when full. */
static inline void *guest_alloc(struct guest *g, uint32_t len)
{
    uint32_t at = (g->data_next + 15u) & ~15u;
    if (at + (uint64_t)len > GUEST_SIZE)
        return NULL;
    g->data_next = at + len;
    return g->mem + at;
}

/* Lay out a ring of num entries and start the device side; returns what
 * vn_vring_start returns. */
static inline int guest_init(struct guest *g, uint16_t num, bool event_idx)
{
    memset(g, 0, sizeof(*g));
    g->mem = aligned_alloc(4096, GUEST_SIZE);
    if (!g->mem)
        return -1;
    memset(g->mem, 0, GUEST_SIZE);
    g->num = num;
    g->desc = (struct vring_desc *)g->mem;
    g->avail = (struct vring_avail *)(g->mem + 16u * num);
    uint32_t used_off = (16u * num + 6u + 2u * num + 3u) & ~3u;
    g->used = (struct vring_used *)(g->mem + used_off);
    g->data_next = GUEST_DATA;
    struct vn_vhost_region_desc d = { .gpa = GUEST_GPA, .size = GUEST_SIZE, .uva = GUEST_UVA };
    uint8_t *hosts[1] = { g->mem };
    char err[128];
    if (vn_vhost_mem_set_local(&g->m, &d, 1, hosts, err, sizeof(err)) < 0)
        return -1;
    g->vq.num = num;
    g->vq.desc_uva = GUEST_UVA;
    g->vq.avail_uva = GUEST_UVA + 16u * num;
    g->vq.used_uva = GUEST_UVA + used_off;
    return vn_vring_start(&g->vq, &g->m, event_idx, err, sizeof(err));
}

static inline void guest_free(struct guest *g)
{
    vn_vring_stop(&g->vq);
    vn_vhost_mem_unmap(&g->m);
    free(g->mem);
    g->mem = NULL;
}

/* Make head available (avail ring entry, then the index with release). */
static inline void guest_publish_head(struct guest *g, uint16_t head)
{
    g->avail->ring[g->avail_idx % g->num] = head;
    g->avail_idx++;
    __atomic_store_n(&g->avail->idx, g->avail_idx, __ATOMIC_RELEASE);
}

/* Fill descriptor slot i of table t for buffer b (data copied into the data
 * area), chained to next when more. */
static inline void guest_fill(struct guest *g, struct vring_desc *t, uint16_t i,
                              const struct gbuf *b, bool more, uint16_t next)
{
    void *p = guest_alloc(g, b->len ? b->len : 1);
    if (p && b->data)
        memcpy(p, b->data, b->len);
    t[i] = (struct vring_desc){ .addr = guest_gpa(g, p), .len = b->len,
                                .flags = (uint16_t)((b->write ? VRING_DESC_F_WRITE : 0) |
                                                    (more ? VRING_DESC_F_NEXT : 0)),
                                .next = more ? next : 0 };
}

/* Add a chain of n buffers in consecutive free slots (wrapping) and make it
 * available; returns its head. */
static inline uint16_t guest_add(struct guest *g, const struct gbuf *b, unsigned n)
{
    uint16_t head = g->next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t slot = (uint16_t)((head + i) % g->num);
        guest_fill(g, g->desc, slot, &b[i], i + 1 < n, (uint16_t)((slot + 1) % g->num));
    }
    g->next_desc = (uint16_t)((head + n) % g->num);
    guest_publish_head(g, head);
    return head;
}

/* Add a chain of n buffers through one indirect table; returns its head.
 * *table (if not NULL) is set to the table for tests that spoil it. */
static inline uint16_t guest_add_indirect(struct guest *g, const struct gbuf *b, unsigned n,
                                          struct vring_desc **table)
{
    struct vring_desc *t = guest_alloc(g, 16u * n);
    for (unsigned i = 0; i < n; i++)
        guest_fill(g, t, (uint16_t)i, &b[i], i + 1 < n, (uint16_t)(i + 1));
    uint16_t head = g->next_desc;
    g->desc[head] = (struct vring_desc){ .addr = guest_gpa(g, t), .len = 16u * n,
                                         .flags = VRING_DESC_F_INDIRECT };
    g->next_desc = (uint16_t)((head + 1) % g->num);
    guest_publish_head(g, head);
    if (table)
        *table = t;
    return head;
}

/* Read the next used element; returns false when there is none. */
static inline bool guest_used(struct guest *g, uint32_t *id, uint32_t *len)
{
    uint16_t idx = __atomic_load_n(&g->used->idx, __ATOMIC_ACQUIRE);
    if (idx == g->used_seen)
        return false;
    struct vring_used_elem *e = &g->used->ring[g->used_seen % g->num];
    *id = e->id;
    *len = e->len;
    g->used_seen++;
    return true;
}

/* used_event (the driver's interrupt threshold) and avail_event. */
static inline uint16_t *guest_used_event(struct guest *g)
{
    return &g->avail->ring[g->num];
}

static inline uint16_t guest_avail_event(struct guest *g)
{
    uint16_t v;
    memcpy(&v, (const uint8_t *)g->used + 4 + 8u * g->num, sizeof(v));
    return v;
}

#endif
