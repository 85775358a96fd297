/* The gateway's egress table: see egress.h for the theory of operation. */
#include "egress.h"
#include "core/util.h"

#include <string.h>

static const char *const kind_names[] = { "drop", "service", "next_hop", "tunnel", "unreachable" };
_Static_assert(VN_ARRAY_LEN(kind_names) == VN_EG__COUNT, "an egress kind without a name");

const char *vn_gw_egress_kind_name(enum vn_gw_egress_kind k)
{
    return (unsigned)k < VN_EG__COUNT ? kind_names[k] : "?";
}

void vn_gw_egress_init(struct vn_gw_egress_table *t, struct vn_gw_egress miss)
{
    memset(t, 0, sizeof *t);
    t->route_miss = miss;
}

/* The local entry for a, or NULL. */
static struct vn_gw_local *find_local(const struct vn_gw_egress_table *t, const struct vn_addr *a)
{
    for (unsigned i = 0; i < t->nlocal; i++)
        if (vn_addr_eq(&t->local[i].addr, a))
            return (struct vn_gw_local *)&t->local[i];
    return NULL;
}

int vn_gw_egress_add_local(struct vn_gw_egress_table *t, struct vn_addr a, struct vn_gw_rule r)
{
    struct vn_gw_local *l = find_local(t, &a);
    if (!l) {
        if (t->nlocal >= VN_GW_LOCAL_MAX)
            return -1;
        l = &t->local[t->nlocal++];
        memset(l, 0, sizeof *l);
        l->addr = a;
    }
    if (l->nrules >= VN_GW_RULES_MAX)
        return -1;
    l->rule[l->nrules++] = r;
    return 0;
}

int vn_gw_egress_add_bcast(struct vn_gw_egress_table *t, struct vn_gw_rule r)
{
    if (t->nbcast >= VN_GW_RULES_MAX)
        return -1;
    t->bcast[t->nbcast++] = r;
    return 0;
}

int vn_gw_egress_add_route(struct vn_gw_egress_table *t, struct vn_addr prefix, uint8_t len,
                           struct vn_gw_egress to)
{
    if (t->nroute >= VN_GW_ROUTES_MAX || !vn_addr_bits(&prefix) || len > vn_addr_bits(&prefix))
        return -1;
    struct vn_gw_route *r = &t->route[t->nroute++];
    r->prefix = vn_addr_masked(&prefix, len);
    r->len = len;
    r->to = to;
    return 0;
}

bool vn_gw_egress_is_local(const struct vn_gw_egress_table *t, const struct vn_addr *a)
{
    return find_local(t, a) != NULL;
}

static const struct vn_gw_egress drop = { .kind = VN_EG_DROP };

/* First rule of rules[0..n) for proto/dport; a frame to a link broadcast
 * only matches a rule that accepts it. NULL when none matches. */
static const struct vn_gw_egress *match(const struct vn_gw_rule *rules, unsigned n, bool link_bcast,
                                        uint8_t family, uint8_t proto, uint16_t dport)
{
    for (unsigned i = 0; i < n; i++) {
        const struct vn_gw_rule *r = &rules[i];
        if ((r->proto == VN_EG_ANY || r->proto == proto) && (!r->family || r->family == family) &&
            (r->dport == VN_EG_ANY || r->dport == dport))
            return link_bcast && !r->bcast_ok ? &drop : &r->to;
    }
    return NULL;
}

static const struct vn_gw_egress *lookup(const struct vn_gw_egress_table *t,
                                         const struct vn_addr *dst, bool ip_bcast, bool link_bcast,
                                         uint8_t proto, uint16_t dport)
{
    const struct vn_gw_local *l = find_local(t, dst);
    const struct vn_gw_egress *e;
    if (l)
        return (e = match(l->rule, l->nrules, link_bcast, dst->family, proto, dport)) ? e : &drop;
    if (ip_bcast)
        return (e = match(t->bcast, t->nbcast, link_bcast, dst->family, proto, dport)) ? e : &drop;
    if (link_bcast)
        return &drop; /* a unicast address in a broadcast frame is not routed */
    if (t->tunnel_match && t->tunnel_match(t->tunnel_ctx, dst))
        return &t->tunnel;
    const struct vn_gw_route *best = NULL;
    for (unsigned i = 0; i < t->nroute; i++) {
        const struct vn_gw_route *r = &t->route[i];
        if ((!best || r->len > best->len) && vn_addr_in_prefix(dst, &r->prefix, r->len))
            best = r;
    }
    return best ? &best->to : &t->route_miss;
}

const struct vn_gw_egress *vn_gw_egress_peek(const struct vn_gw_egress_table *t,
                                             const struct vn_addr *dst, bool ip_bcast,
                                             bool link_bcast, uint8_t proto, uint16_t dport)
{
    return lookup(t, dst, ip_bcast, link_bcast, proto, dport);
}

const struct vn_gw_egress *vn_gw_egress_lookup(struct vn_gw_egress_table *t,
                                               const struct vn_addr *dst, bool ip_bcast,
                                               bool link_bcast, uint8_t proto, uint16_t dport)
{
    const struct vn_gw_egress *e = lookup(t, dst, ip_bcast, link_bcast, proto, dport);
    t->hits[e->kind < VN_EG__COUNT ? e->kind : VN_EG_DROP]++;
    return e;
}
