/* The switch's address bindings: see binding.h for the theory of operation. */
#include "binding.h"
#include "core/hash.h"
#include "core/util.h"
#include "conf/config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = { "none", "gateway", "lease", "static", "dad" };
_Static_assert(VN_ARRAY_LEN(kind_names) == VN_BIND__COUNT, "a binding kind without a name");

const char *vn_bind_kind_name(enum vn_bind_kind k)
{
    return (unsigned)k < VN_BIND__COUNT ? kind_names[k] : "?";
}

int vn_bind_init(struct vn_bindings *b, uint32_t max)
{
    return vn_bind_init_dad(b, max, max ? VN_BIND_DAD_DEFAULT : 0);
}

int vn_bind_init_dad(struct vn_bindings *b, uint32_t max, uint32_t dad_max)
{
    memset(b, 0, sizeof *b);
    if (max > (1u << 30) || dad_max > (1u << 30))
        return -1;
    uint32_t total = max + dad_max;
    if (!total)
        return 0;
    uint32_t nb = 16;
    while (nb < total && nb < (1u << 30))
        nb <<= 1;
    b->e = calloc(total, sizeof *b->e);
    b->bucket = calloc(nb, sizeof *b->bucket);
    b->dad_port = dad_max ? calloc(VN_MAX_PORTS, sizeof *b->dad_port) : NULL;
    if (!b->e || !b->bucket || (dad_max && !b->dad_port)) {
        vn_bind_free(b);
        return -1;
    }
    b->max = max;
    b->dad_max = dad_max;
    b->mask = nb - 1;
    for (uint32_t i = 0; i < total; i++)
        b->e[i].next = i + 1 < total ? i + 2 : 0;
    b->free_head = 1;
    return 0;
}

void vn_bind_free(struct vn_bindings *b)
{
    free(b->e);
    free(b->bucket);
    free(b->dad_port);
    memset(b, 0, sizeof *b);
}

static uint32_t slot(const struct vn_bindings *b, const struct vn_addr *a)
{
    return (uint32_t)vn_hash(a, sizeof *a) & b->mask;
}

/* Index + 1 of addr's entry, or 0; *prev gets the chain link pointing at it. */
static uint32_t find(const struct vn_bindings *b, const struct vn_addr *a, uint32_t **prev)
{
    if (!b->bucket)
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

/* Count entry e (kind k) in or out of its quota. */
static void account(struct vn_bindings *b, const struct vn_binding *e, int d)
{
    if (e->kind == VN_BIND_DAD) {
        b->ndad += (uint32_t)d;
        if (e->port < VN_MAX_PORTS && b->dad_port)
            b->dad_port[e->port] += (uint16_t)d;
    } else if (e->kind != VN_BIND_NONE) {
        b->count += (uint32_t)d;
    }
}

/* Index + 1 of a new entry for key (linked into its chain, counted under
 * kind), or 0 when kind's quota or the table is full. */
static uint32_t insert(struct vn_bindings *b, const struct vn_addr *key, enum vn_bind_kind kind)
{
    bool dad = kind == VN_BIND_DAD;
    if (!b->free_head || (dad ? b->ndad >= b->dad_max : b->count >= b->max))
        return 0;
    uint32_t i = b->free_head;
    b->free_head = b->e[i - 1].next;
    uint32_t *head = &b->bucket[slot(b, key)];
    b->e[i - 1].next = *head;
    *head = i;
    b->e[i - 1].addr = *key;
    return i;
}

/* Unlink entry i (*prev points at it) and put it on the free list. */
static void unlink_entry(struct vn_bindings *b, uint32_t *prev, uint32_t i)
{
    struct vn_binding *e = &b->e[i - 1];
    account(b, e, -1);
    *prev = e->next;
    memset(e, 0, sizeof *e);
    e->next = b->free_head;
    b->free_head = i;
}

/* Fill entry i as kind for mac, moving it between quotas if its kind changes. */
static void fill(struct vn_bindings *b, uint32_t i, const uint8_t mac[6], enum vn_bind_kind kind,
                 int64_t expires, uint16_t port)
{
    struct vn_binding *e = &b->e[i - 1];
    account(b, e, -1);
    memcpy(e->mac, mac, 6);
    e->kind = (uint8_t)kind;
    e->expires = expires;
    e->port = port;
    account(b, e, +1);
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
    if (kind != VN_BIND_LEASE && kind != VN_BIND_STATIC)
        return -1;
    uint32_t i = find(b, &key, NULL);
    if (!i && !(i = insert(b, &key, kind))) {
        b->full++;
        return -1;
    }
    fill(b, i, mac, kind, expires, 0);
    return 0;
}

void vn_bind_del(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t *mac)
{
    struct vn_addr key = key_of(addr);
    uint32_t *prev = NULL, i = find(b, &key, &prev);
    if (!i || b->e[i - 1].kind == VN_BIND_DAD || (mac && memcmp(b->e[i - 1].mac, mac, 6)))
        return;
    unlink_entry(b, prev, i);
}

/* Reclaim the DAD claims expired at now (of port only, unless port is
 * UINT32_MAX: every port's). */
static void sweep(struct vn_bindings *b, int64_t now, uint32_t port)
{
    for (uint32_t s = 0; b->bucket && s <= b->mask; s++)
        for (uint32_t *link = &b->bucket[s], i = *link; i; i = *link) {
            struct vn_binding *e = &b->e[i - 1];
            if (e->kind == VN_BIND_DAD && (port == UINT32_MAX ? e->expires <= now
                                                              : e->port == port))
                unlink_entry(b, link, i);
            else
                link = &e->next;
        }
}

enum vn_bind_claim vn_bind_claim_dad(struct vn_bindings *b, const struct vn_addr *addr,
                                     const uint8_t mac[6], uint16_t port, unsigned port_max,
                                     int64_t now)
{
    struct vn_addr key = key_of(addr);
    if (find_gw(b, &key))
        return VN_CLAIM_TAKEN;
    uint32_t i = find(b, &key, NULL);
    struct vn_binding *e = i ? &b->e[i - 1] : NULL;
    bool live = e && !(e->expires && e->expires <= now);
    if (live && memcmp(e->mac, mac, 6))
        return VN_CLAIM_TAKEN;
    if (live && e->kind != VN_BIND_DAD)
        return VN_CLAIM_OK; /* its own lease or reservation already */
    if (live && e->port == port) {
        e->expires = now + VN_BIND_DAD_LIFETIME;
        return VN_CLAIM_OK;
    }
    /* A new claim (or the MAC's claim moving to this port): room for it? */
    uint16_t held = port < VN_MAX_PORTS && b->dad_port ? b->dad_port[port] : 0;
    bool need_slot = !e;
    if ((held >= port_max || (need_slot && (b->ndad >= b->dad_max || !b->free_head))) &&
        now > b->swept) {
        b->swept = now; /* reclaim expired claims, at most once a second */
        sweep(b, now, UINT32_MAX);
        i = find(b, &key, NULL);
        e = i ? &b->e[i - 1] : NULL;
        need_slot = !e;
        held = port < VN_MAX_PORTS && b->dad_port ? b->dad_port[port] : 0;
    }
    if (held >= port_max || port >= VN_MAX_PORTS) {
        b->dad_port_limit++;
        return VN_CLAIM_PORT_LIMIT;
    }
    if (need_slot && !(i = insert(b, &key, VN_BIND_DAD))) {
        b->dad_full++;
        return VN_CLAIM_FULL;
    }
    if (!need_slot && e->kind != VN_BIND_DAD && b->ndad >= b->dad_max) {
        b->dad_full++; /* an expired lease would move to the DAD quota */
        return VN_CLAIM_FULL;
    }
    fill(b, i, mac, VN_BIND_DAD, now + VN_BIND_DAD_LIFETIME, port);
    return VN_CLAIM_OK;
}

void vn_bind_forget_port(struct vn_bindings *b, uint16_t port)
{
    if (b->dad_port && port < VN_MAX_PORTS && b->dad_port[port])
        sweep(b, 0, port);
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

enum vn_bind_owner vn_bind_owner(struct vn_bindings *b, const struct vn_addr *addr,
                                 const uint8_t mac[6], int64_t now)
{
    struct vn_binding *e = (struct vn_binding *)vn_bind_find(b, addr, now);
    if (!e)
        return VN_OWNER_NONE;
    if (e->kind == VN_BIND_GATEWAY)
        return VN_OWNER_GATEWAY;
    if (memcmp(e->mac, mac, 6))
        return VN_OWNER_OTHER;
    if (e->kind == VN_BIND_DAD && e->expires < now + VN_BIND_DAD_LIFETIME - 60)
        e->expires = now + VN_BIND_DAD_LIFETIME; /* (rewritten once a minute at most) */
    return VN_OWNER_SELF;
}

bool vn_bind_allows(struct vn_bindings *b, const struct vn_addr *addr, const uint8_t mac[6],
                    int64_t now)
{
    return vn_bind_owner(b, addr, mac, now) == VN_OWNER_SELF;
}

bool vn_bind_is_gateway(const struct vn_bindings *b, const struct vn_addr *addr)
{
    return find_gw(b, addr) != NULL; /* callers' addresses come zero-padded (vn_addr4) */
}

json_t *vn_bind_json(const struct vn_bindings *b, int64_t now)
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < b->ngw + b->max + b->dad_max; i++) {
        const struct vn_binding *e = i < b->ngw ? &b->gw[i] : &b->e[i - b->ngw];
        if (e->kind == VN_BIND_NONE || (e->expires && e->expires <= now))
            continue;
        char a[INET6_ADDRSTRLEN], m[18];
        inet_ntop(e->addr.family, e->addr.a, a, sizeof a);
        json_t *o = json_pack("{s:s,s:s,s:s}", "ip", a, "mac", vn_mac_str(e->mac, m), "kind",
                              vn_bind_kind_name((enum vn_bind_kind)e->kind));
        if (e->expires)
            json_object_set_new(o, "expires_in", json_integer(e->expires - now));
        if (e->kind == VN_BIND_DAD)
            json_object_set_new(o, "port", json_integer(e->port));
        json_array_append_new(list, o);
    }
    return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "bindings", list, "count",
                     (json_int_t)(b->count + b->ngw), "max", (json_int_t)b->max,
                     "refused_full", (json_int_t)b->full, "dad", (json_int_t)b->ndad,
                     "dad_max", (json_int_t)b->dad_max, "dad_refused_full",
                     (json_int_t)b->dad_full, "dad_refused_port_limit",
                     (json_int_t)b->dad_port_limit);
}
