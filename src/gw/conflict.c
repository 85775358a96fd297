/* Address conflict detection: see conflict.h. */
#include "conflict.h"
#include "core/log.h"
#include "core/util.h"
#include "dhcp4.h"
#include "gateway.h"

#include <string.h>

/* Who holds ip, if not mac: fills holder and the kind of hold. */
static bool held_by_other(struct vn_gw *gw, uint32_t ip, const uint8_t mac[6], uint8_t holder[6],
                          const char **kind)
{
    if (gw->dhcp && vn_dhcp4_lookup_mac(gw->dhcp, ip, holder) == 0) {
        *kind = "lease";
        return memcmp(holder, mac, 6) != 0;
    }
    struct vn_addr a = vn_addr4(ip);
    const struct vn_neigh *n = vn_gw_neigh_peek(gw, &a);
    if (n && memcmp(n->mac, mac, 6) && gw->sw->now_s - n->seen_s < VN_CONFLICT_RECENT_S) {
        memcpy(holder, n->mac, 6);
        *kind = "recent";
        return true;
    }
    return false;
}

int vn_gw_arp_claim(struct vn_gw *gw, uint16_t port, const uint8_t mac[6], uint32_t ip)
{
    if (!ip || !vn_gw_in_subnet(gw, ip))
        return 0;
    uint8_t holder[6];
    const char *kind = "";
    if (!held_by_other(gw, ip, mac, holder, &kind))
        return 0;
    gw->stats.conflicts++;
    int64_t now = vn_wall_s();
    struct vn_conflict *slot = NULL, *oldest = &gw->conflicts[0];
    for (int i = 0; i < VN_CONFLICT_LOG && !slot; i++) {
        struct vn_conflict *c = &gw->conflicts[i];
        if (c->ip == ip && !memcmp(c->claimer, mac, 6))
            slot = c;
        else if (!c->ip || (oldest->ip && c->last_s < oldest->last_s))
            oldest = c;
    }
    if (!slot) {
        slot = oldest;
        memset(slot, 0, sizeof *slot);
        slot->ip = ip;
        slot->first_s = now;
        memcpy(slot->claimer, mac, 6);
    }
    memcpy(slot->holder, holder, 6);
    vn_strlcpy(slot->held_by, kind, sizeof slot->held_by);
    slot->port = port;
    slot->count++;
    slot->last_s = now;
    char a[16], m1[18], m2[18];
    const struct vn_port *p = gw->sw->ports[port];
    VN_LOG_RL(VN_LOG_WARN,
              "msg=\"address conflict: a guest claims an address another holds\" network=%s "
              "address=%s claimer=%s port=%s holder=%s held_by=%s",
              gw->conf->name, vn_ip4_str(ip, a), vn_mac_str(mac, m1), p ? p->conf.name : "?",
              vn_mac_str(holder, m2), kind);
    return 1;
}

json_t *vn_gw_conflicts_json(struct vn_gw *gw)
{
    json_t *a = json_array();
    const struct vn_conflict *order[VN_CONFLICT_LOG];
    unsigned n = 0;
    for (int i = 0; i < VN_CONFLICT_LOG; i++)
        if (gw->conflicts[i].ip)
            order[n++] = &gw->conflicts[i];
    for (unsigned i = 1; i < n; i++) /* newest first (insertion sort of 16) */
        for (unsigned k = i; k > 0 && order[k]->last_s > order[k - 1]->last_s; k--) {
            const struct vn_conflict *t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    for (unsigned i = 0; i < n; i++) {
        const struct vn_conflict *c = order[i];
        char ip[16], h[18], m[18];
        const struct vn_port *p = gw->sw->ports[c->port];
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "network", gw->conf->name,
                         "address", vn_ip4_str(c->ip, ip), "holder_mac", vn_mac_str(c->holder, h),
                         "claimer_mac", vn_mac_str(c->claimer, m), "port",
                         p ? p->conf.name : "?", "held_by", c->held_by, "count",
                         (json_int_t)c->count, "first_seen", (json_int_t)c->first_s,
                         "last_seen", (json_int_t)c->last_s));
    }
    return a;
}
