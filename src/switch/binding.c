/* The switch's address bindings: see binding.h for the theory of operation. */
#include "binding.h"
#include "core/hash.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "none", "gateway", "lease", "static" };
_Static_assert(VN_ARRAY_LEN(kind_names) == VN_BIND__COUNT, "a binding kind without a name");

const char *vn_bind_kind_name(enum vn_bind_kind k)
{
    return (unsigned)k < VN_BIND__COUNT ? kind_names[k] : "?";
}

int vn_bind_init(struct vn_bindings *b, uint32_t max)
{
    memset(b, 0, sizeof *b);
    if (!max)
        return 0;
    uint32_t nb = 16;
    while (nb < max && nb < (1u << 30))
        nb <<= 1;
    b->e = calloc(max, sizeof *b->e);
    b->bucket = calloc(nb, sizeof *b->bucket);
    if (!b->e || !b->bucket) {
        vn_bind_free(b);
        return -1;
    }
    b->max = max;
    b->mask = nb - 1;
    for (uint32_t i = 0; i < max; i++)
        b->e[i].next = i + 1 < max ? i + 2 : 0;
    b->free_head = 1;
    return 0;
}

void vn_bind_free(struct vn_bindings *b)
{
    free(b->e);
    free(b->bucket);
    memset(b, 0, sizeof *b);
}

static uint32_t slot(const struct vn_bindings *b, const struct vn_addr *a)
{
    return (uint32_t)vn_hash(a, sizeof *a) & b->mask;
}

/* Index + 1 of addr's entry, or 0; *prev gets the chain link pointing at it. */
static uint32_t find(const struct vn_bindings *b, const struct vn_addr *a, uint32_t **prev)
{
    if (!b->max)
        return 0;
    uint32_t *link = &b->bucket[slot(b, a)];
    for (uint32_t i = *link; i; link = &b->e[i - 1].next, i = *link)
        if (vn_addr_eq(&b->e[i - 1].addr, a)) {
            if (prev)
                *prev = link;
            return i;
        }
    return 0;
}

/* The gateway entry for a, or NULL. */
static const struct vn_binding *find_gw(const struct vn_bindings *b, const struct vn_addr *a)
{
    for (unsigned i = 0; i < b->ngw; i++)
        if (vn_addr_eq(&b->gw[i].addr, a))
            return &b->gw[i];
    return NULL;
}

/* addr with no stray bytes after its family's length (keys are hashed whole). */
static struct vn_addr key_of(const struct vn_addr *addr)
{
    struct vn_addr key = { .family = addr->family };
    memcpy(key.a, addr->a, addr->family == AF_INET ? 4 : 16);
    return key;
}

int vn_bind_set(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                enum vn_bind_kind kind, int64_t expires)
{
    struct vn_addr key = key_of(addr);
    if (kind == VN_BIND_GATEWAY) {
        struct vn_binding *g = (struct vn_binding *)find_gw(b, &key);
        if (!g) {
            if (b->ngw >= VN_BIND_GW_MAX) {
                b->full++;
                return -1;
            }
            g = &b->gw[b->ngw++];
            g->addr = key;
        }
        memcpy(g->mac, mac, 6);
        g->kind = VN_BIND_GATEWAY;
        g->expires = 0;
        return 0;
    }
    uint32_t i = find(b, &key, NULL);
    if (!i) {
        if (!b->free_head) {
            b->full++;
            return -1;
        }
        i = b->free_head;
        b->free_head = b->e[i - 1].next;
        uint32_t *head = &b->bucket[slot(b, &key)];
        b->e[i - 1].next = *head;
        *head = i;
        b->e[i - 1].addr = key;
        b->count++;
    }
    struct vn_binding *e = &b->e[i - 1];
    memcpy(e->mac, mac, 6);
    e->kind = (uint8_t)kind;
    e->expires = expires;
    return 0;
}

void vn_bind_del(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t *mac)
{
    struct vn_addr key = key_of(addr);
    uint32_t *prev = NULL, i = find(b, &key, &prev);
    if (!i || (mac && memcmp(b->e[i - 1].mac, mac, 6)))
        return;
    *prev = b->e[i - 1].next;
    memset(&b->e[i - 1], 0, sizeof b->e[i - 1]);
    b->e[i - 1].next = b->free_head;
    b->free_head = i;
    b->count--;
}

const struct vn_binding *vn_bind_find(const struct vn_bindings *b, const struct vn_addr *addr,
                                      int64_t now)
{
    struct vn_addr key = key_of(addr);
    const struct vn_binding *g = find_gw(b, &key);
    if (g)
        return g;
    uint32_t i = find(b, &key, NULL);
    if (!i)
        return NULL;
    const struct vn_binding *e = &b->e[i - 1];
    return e->expires && e->expires <= now ? NULL : e;
}

bool vn_bind_allows(const struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                    int64_t now)
{
    const struct vn_binding *e = vn_bind_find(b, addr, now);
    return e && (e->kind == VN_BIND_LEASE || e->kind == VN_BIND_STATIC) && !memcmp(e->mac, mac, 6);
}

bool vn_bind_is_gateway(const struct vn_bindings *b, const struct vn_addr *addr)
{
    return find_gw(b, addr) != NULL; /* callers' addresses come zero-padded (vn_addr4) */
}

json_t *vn_bind_json(const struct vn_bindings *b, int64_t now)
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < b->ngw + b->max; i++) {
        const struct vn_binding *e = i < b->ngw ? &b->gw[i] : &b->e[i - b->ngw];
        if (e->kind == VN_BIND_NONE || (e->expires && e->expires <= now))
            continue;
        char a[INET6_ADDRSTRLEN], m[18];
        inet_ntop(e->addr.family, e->addr.a, a, sizeof a);
        json_t *o = json_pack("{s:s,s:s,s:s}", "ip", a, "mac", vn_mac_str(e->mac, m), "kind",
                              vn_bind_kind_name((enum vn_bind_kind)e->kind));
        if (e->expires)
            json_object_set_new(o, "expires_in", json_integer(e->expires - now));
        json_array_append_new(list, o);
    }
    return json_pack("{s:o,s:I,s:I,s:I}", "bindings", list, "count",
                     (json_int_t)(b->count + b->ngw), "max",
                     (json_int_t)b->max, "refused_full", (json_int_t)b->full);
}
