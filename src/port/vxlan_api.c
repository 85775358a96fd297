/* A vxlan port's status (describe()) and the control plane's calls: see
 * vxlan.h; the JSON shapes are documented in docs/control-protocol.md. */
#include "vxlan.h"
#include "vxlan_port.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

static const char *const origin_names[] = { "learned", "evpn", "control", "config" };

static const char *mac_origin(const struct vn_vx_mac *m)
{
    return m->evpn ? "evpn" : m->is_static ? "static" : "learned";
}

static json_t *addr_json(const struct vn_addr *a)
{
    char s[VN_ADDR_STRLEN];
    return json_string(vn_addr_str(a, s, sizeof s));
}

/* The names of the networks in mask (bit = network id). */
static json_t *nets_json(const struct vn_vxlan *x, uint64_t mask)
{
    json_t *a = json_array();
    for (unsigned i = 0; i < VN_MAX_NETWORKS; i++)
        if ((mask >> i & 1) && x->net_conf[i])
            json_array_append_new(a, json_string(x->net_conf[i]->name));
    return a;
}

static json_t *vtep_json(const struct vn_vxlan *x, const struct vn_vx_vtep *v, uint32_t now)
{
    json_t *o = json_object();
    json_object_set_new(o, "address", addr_json(&v->addr));
    json_object_set_new(o, "port", json_integer(v->port));
    json_object_set_new(o, "origin", json_string(origin_names[v->origin]));
    json_object_set_new(o, "flood", nets_json(x, v->flood));
    json_object_set_new(o, "macs", json_integer(v->nlearned));
    json_object_set_new(o, "static_macs", json_integer(v->nstatic));
    json_object_set_new(o, "rx_frames", json_integer((json_int_t)v->rx_frames));
    json_object_set_new(o, "rx_bytes", json_integer((json_int_t)v->rx_bytes));
    json_object_set_new(o, "tx_frames", json_integer((json_int_t)v->tx_frames));
    json_object_set_new(o, "tx_bytes", json_integer((json_int_t)v->tx_bytes));
    json_object_set_new(o, "rx_drops", json_integer((json_int_t)v->rx_drops));
    json_object_set_new(o, "tx_drops", json_integer((json_int_t)v->tx_drops));
    json_object_set_new(o, "recycled", json_integer((json_int_t)v->recycled));
    json_object_set_new(o, "last_seen_s",
                        v->seen ? json_integer((json_int_t)(now - v->seen_s)) : json_null());
    return o;
}

json_t *vn_vxlan_vteps_json(struct vn_port *p)
{
    struct vn_vxlan *x = p->priv;
    uint32_t now = vn_vxlan_now(x);
    json_t *a = json_array();
    for (unsigned i = 0; i < x->tab.vtep_hi; i++)
        if (x->tab.vteps[i].addr.family)
            json_array_append_new(a, vtep_json(x, &x->tab.vteps[i], now));
    return a;
}

json_t *vn_vxlan_fdb_json(struct vn_port *p, int net)
{
    struct vn_vxlan *x = p->priv;
    uint32_t now = vn_vxlan_now(x), pos = 0;
    json_t *a = json_array();
    const struct vn_vx_mac *m;
    while ((m = vn_vx_next(&x->tab, &pos))) {
        uint16_t n = vn_vx_key_net(m->key);
        if ((net >= 0 && n != net) || n >= VN_MAX_NETWORKS || !x->net_conf[n])
            continue;
        if (!m->is_static && x->tab.ageing_s && now - m->seen_s > x->tab.ageing_s)
            continue; /* expired, not yet swept */
        uint8_t mac[6];
        char ms[18];
        vn_vx_key_mac(m->key, mac);
        json_t *o = json_object();
        json_object_set_new(o, "network", json_string(x->net_conf[n]->name));
        json_object_set_new(o, "mac", json_string(vn_mac_str(mac, ms)));
        json_object_set_new(o, "vtep", addr_json(&x->tab.vteps[m->vtep].addr));
        json_object_set_new(o, "origin", json_string(mac_origin(m)));
        json_object_set_new(o, "age_s", m->is_static ? json_null()
                                                     : json_integer((json_int_t)(now - m->seen_s)));
        json_array_append_new(a, o);
    }
    return a;
}

void vn_vxlan_describe(struct vn_port *p, json_t *o)
{
    struct vn_vxlan *x = p->priv;
    const struct vn_vxlan_conf *c = &p->conf.vxlan;
    char ls[80];
    struct vn_sockaddr local = { .ip = c->local.ip, .port = x->local_port };
    json_object_set_new(o, "local", json_string(vn_sockaddr_str(&local, ls, sizeof ls)));
    json_object_set_new(o, "underlay_mtu", json_integer(x->underlay_mtu));
    json_object_set_new(o, "learning", json_boolean(c->learning));
    json_object_set_new(o, "accept", json_string(c->accept == VN_VXLAN_ACCEPT_ANY ? "any"
                                                                                  : "listed"));
    json_object_set_new(o, "ageing", json_integer(c->ageing));
    json_t *sp = json_array();
    for (unsigned i = 0; i < x->ntx; i++)
        json_array_append_new(sp, json_integer(x->tx[i].port));
    json_object_set_new(o, "source_ports", sp);
    json_t *vnis = json_array();
    for (unsigned i = 0; i < x->nvnis; i++) {
        const struct vn_net_conf *nc = x->net_conf[x->vnis[i].net];
        json_array_append_new(vnis, json_pack("{s:s,s:I,s:I}", "network", nc->name, "vni",
                                              (json_int_t)x->vnis[i].vni, "mtu",
                                              (json_int_t)nc->mtu));
    }
    json_object_set_new(o, "vnis", vnis);
    json_object_set_new(o, "vteps", vn_vxlan_vteps_json(p));
    const struct vn_vx_table *t = &x->tab;
    uint32_t nstatic = 0;
    for (unsigned i = 0; i < t->vtep_hi; i++)
        nstatic += t->vteps[i].nstatic;
    json_t *rm = json_object();
    json_object_set_new(rm, "entries", json_integer(t->count));
    json_object_set_new(rm, "static", json_integer(nstatic));
    json_object_set_new(rm, "max", json_integer(t->max));
    json_object_set_new(rm, "max_per_vtep", json_integer(t->share));
    json_object_set_new(rm, "learned", json_integer((json_int_t)t->learned));
    json_object_set_new(rm, "moved", json_integer((json_int_t)t->moved));
    json_object_set_new(rm, "aged", json_integer((json_int_t)t->aged));
    json_object_set_new(rm, "recycled", json_integer((json_int_t)t->recycled));
    json_object_set_new(rm, "evicted", json_integer((json_int_t)t->evicted));
    json_object_set_new(rm, "full", json_integer((json_int_t)t->full));
    json_object_set_new(rm, "static_conflicts", json_integer((json_int_t)t->static_conflicts));
    json_object_set_new(rm, "vteps", json_integer(t->nvteps));
    json_object_set_new(rm, "vteps_learned", json_integer((json_int_t)t->vteps_learned));
    json_object_set_new(rm, "vteps_aged", json_integer((json_int_t)t->vteps_aged));
    json_object_set_new(o, "remote_macs", rm);
    const struct vn_vxlan_stats *s = &x->st;
    json_object_set_new(
        o, "vxlan_drops",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "bad_header",
                  (json_int_t)s->bad_header, "no_i_flag", (json_int_t)s->no_i_flag,
                  "unknown_vni", (json_int_t)s->unknown_vni, "unlisted", (json_int_t)s->unlisted,
                  "vtep_full", (json_int_t)s->vtep_full, "truncated", (json_int_t)s->truncated,
                  "bad_inner_src", (json_int_t)s->bad_inner_src, "inner_vlan",
                  (json_int_t)s->inner_vlan, "rx_truncated", (json_int_t)s->rx_truncated,
                  "no_vtep", (json_int_t)s->no_vtep, "too_big", (json_int_t)s->too_big));
    json_object_set_new(o, "offloads",
                        json_pack("{s:b,s:I,s:I,s:I,s:I}", "udp_gso", x->udp_gso, "gso_trains",
                                  (json_int_t)s->gso_trains, "gso_refused",
                                  (json_int_t)s->gso_refused, "gro_buffers",
                                  (json_int_t)s->gro_buffers, "coalesced",
                                  (json_int_t)s->coalesced));
}

/* ---- the control plane's calls ---- */

/* The port's state, or NULL (err) when p is not a vxlan port. */
static struct vn_vxlan *get(struct vn_port *p, char *err, size_t errlen)
{
    if (!vn_vxlan_is(p) || !p->priv) {
        snprintf(err, errlen, "port '%s' is not a vxlan port", p ? p->conf.name : "?");
        return NULL;
    }
    return p->priv;
}

/* vtep's family is the underlay's. */
static int check_vtep(const struct vn_vxlan *x, const struct vn_addr *a, char *err,
                      size_t errlen)
{
    if (a->family != x->family) {
        char as[VN_ADDR_STRLEN];
        snprintf(err, errlen, "the underlay of port '%s' is %s: VTEP %s is %s (one family per "
                              "port)", x->port->conf.name, x->family == AF_INET ? "IPv4" : "IPv6",
                 vn_addr_str(a, as, sizeof as), a->family == AF_INET ? "IPv4" : "IPv6");
        return -1;
    }
    return 0;
}

/* A VTEP that floods nothing and has no static entries was only for them. */
static void forget_if_unused(struct vn_vxlan *x, int v)
{
    const struct vn_vx_vtep *e = &x->tab.vteps[v];
    if (e->origin != VN_VX_LEARNED && !e->flood && !e->nstatic)
        vn_vx_vtep_del(&x->tab, (unsigned)v);
}

/* The names of the networks in mask, comma-separated, into buf. */
static const char *nets_str(const struct vn_vxlan *x, uint64_t mask, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < VN_MAX_NETWORKS; i++)
        if ((mask >> i & 1) && x->net_conf[i] && off < n)
            off += (size_t)snprintf(buf + off, n - off, "%s%s", off ? ", " : "",
                                    x->net_conf[i]->name);
    return buf;
}

/* The operator's checks of a VTEP address: not the port's own, not
 * unspecified or multicast. */
static int check_operator_vtep(const struct vn_port *p, const struct vn_addr *a, char *err,
                               size_t errlen)
{
    static const uint8_t zero[16];
    char as[VN_ADDR_STRLEN];
    vn_addr_str(a, as, sizeof as);
    bool mcast = a->family == AF_INET ? (a->a[0] & 0xf0) == 0xe0 : a->a[0] == 0xff;
    if (mcast || !memcmp(a->a, zero, a->family == AF_INET ? 4 : 16)) {
        snprintf(err, errlen, "%s is not a VTEP's address (a unicast address; multicast "
                              "underlays are not supported)", as);
        return -1;
    }
    if (vn_addr_eq(a, &p->conf.vxlan.local.ip)) {
        snprintf(err, errlen, "%s is port '%s''s own address", as, p->conf.name);
        return -1;
    }
    return 0;
}

static int table_full(const struct vn_vxlan *x, char *err, size_t errlen)
{
    if (x->tab.nvteps >= VN_VX_MAX_VTEPS)
        snprintf(err, errlen, "the VTEP table is full (%d)", VN_VX_MAX_VTEPS);
    else
        snprintf(err, errlen, "out of memory for the flood lists");
    return -1;
}

int vn_vxlan_vtep_add(struct vn_port *p, const struct vn_sockaddr *vtep, uint64_t nets,
                      enum vn_vxlan_by by, char *err, size_t errlen)
{
    struct vn_vxlan *x = get(p, err, errlen);
    if (!x || check_vtep(x, &vtep->ip, err, errlen) < 0)
        return -1;
    if (nets & ~x->carried) {
        snprintf(err, errlen, "port '%s' does not carry every network named", p->conf.name);
        return -1;
    }
    uint64_t want = nets ? nets : x->carried;
    int v = vn_vx_vtep_find(&x->tab, &vtep->ip);
    if (by == VN_VXLAN_BY_CONTROL) {
        if (check_operator_vtep(p, &vtep->ip, err, errlen) < 0)
            return -1;
        const struct vn_vx_vtep *e = v >= 0 ? &x->tab.vteps[v] : NULL;
        if (e && e->origin != VN_VX_LEARNED && !(want & ~e->flood) &&
            (!vtep->port || vtep->port == e->port)) {
            char as[VN_ADDR_STRLEN], ns[256];
            snprintf(err, errlen, "VTEP %s is already in the flood list of port '%s' (%s)",
                     vn_addr_str(&vtep->ip, as, sizeof as), p->conf.name,
                     nets_str(x, e->flood, ns, sizeof ns));
            return -1;
        }
    }
    uint16_t port = vtep->port ? vtep->port : v >= 0 ? 0 : x->local_port; /* 0: keep its port */
    if (vn_vx_vtep_add(&x->tab, &vtep->ip, port,
                       by == VN_VXLAN_BY_EVPN ? VN_VX_EVPN : VN_VX_CONTROL, want) < 0)
        return table_full(x, err, errlen);
    return 0;
}

int vn_vxlan_vtep_del(struct vn_port *p, const struct vn_addr *addr, uint64_t nets,
                      enum vn_vxlan_by by, char *err, size_t errlen)
{
    struct vn_vxlan *x = get(p, err, errlen);
    if (!x)
        return -1;
    char as[VN_ADDR_STRLEN], ns[256];
    vn_addr_str(addr, as, sizeof as);
    int v = vn_vx_vtep_find(&x->tab, addr);
    if (v < 0 || x->tab.vteps[v].origin == VN_VX_LEARNED) {
        snprintf(err, errlen, "no VTEP %s in the flood list of port '%s'", as, p->conf.name);
        return -1;
    }
    struct vn_vx_vtep *e = &x->tab.vteps[v];
    if (by == VN_VXLAN_BY_EVPN) {
        vn_vx_vtep_unflood(&x->tab, (unsigned)v, nets);
        forget_if_unused(x, v);
        return 0;
    }
    if (e->origin == VN_VX_EVPN) {
        snprintf(err, errlen, "VTEP %s of port '%s' comes from EVPN (the fabric's type-3 "
                              "routes): it leaves when the fabric withdraws it", as, p->conf.name);
        return -1;
    }
    if (nets & ~e->flood) {
        snprintf(err, errlen, "VTEP %s is not in the flood list of %s", as,
                 nets_str(x, nets & ~e->flood, ns, sizeof ns));
        return -1;
    }
    vn_vx_vtep_unflood(&x->tab, (unsigned)v, nets);
    if (!e->flood)
        vn_vx_vtep_del(&x->tab, (unsigned)v); /* with every MAC behind it */
    return 0;
}

int vn_vxlan_fdb_add(struct vn_port *p, uint16_t net, const uint8_t mac[6],
                     const struct vn_sockaddr *vtep, enum vn_vxlan_by by, char *err,
                     size_t errlen)
{
    struct vn_vxlan *x = get(p, err, errlen);
    if (!x || check_vtep(x, &vtep->ip, err, errlen) < 0)
        return -1;
    if (net >= VN_MAX_NETWORKS || !(x->carried >> net & 1)) {
        snprintf(err, errlen, "port '%s' does not carry that network", p->conf.name);
        return -1;
    }
    char ms[18], as[VN_ADDR_STRLEN];
    if (vn_mac_is_multicast(mac) || vn_mac_is_zero(mac)) {
        snprintf(err, errlen, "%s is not a unicast MAC", vn_mac_str(mac, ms));
        return -1;
    }
    int v = vn_vx_vtep_find(&x->tab, &vtep->ip);
    bool made = v < 0;
    struct vn_vx_mac *m = vn_vx_find(&x->tab, net, mac);
    if (by == VN_VXLAN_BY_CONTROL) {
        if (made) {
            vn_addr_str(&vtep->ip, as, sizeof as);
            snprintf(err, errlen, "VTEP %s is not known to port '%s' (add it first: vnetctl "
                                  "vtep add %s %s)", as, p->conf.name, p->conf.name, as);
            return -1;
        }
        if (m && m->evpn) {
            snprintf(err, errlen, "%s of network '%s' was imported from EVPN (the fabric's "
                                  "type-2 routes)", vn_mac_str(mac, ms), x->net_conf[net]->name);
            return -1;
        }
    } else {
        uint16_t port = vtep->port ? vtep->port : x->local_port;
        v = vn_vx_vtep_add(&x->tab, &vtep->ip, made ? port : vtep->port, VN_VX_EVPN, 0);
        if (v < 0)
            return table_full(x, err, errlen);
    }
    if (vn_vx_static_add(&x->tab, net, mac, (uint16_t)v) < 0) {
        if (made)
            forget_if_unused(x, v);
        snprintf(err, errlen, "the remote MAC table is full of static entries (%u)", x->tab.max);
        return -1;
    }
    vn_vx_find(&x->tab, net, mac)->evpn = by == VN_VXLAN_BY_EVPN;
    return 0;
}

int vn_vxlan_fdb_del(struct vn_port *p, uint16_t net, const uint8_t mac[6], enum vn_vxlan_by by,
                     char *err, size_t errlen)
{
    struct vn_vxlan *x = get(p, err, errlen);
    if (!x)
        return -1;
    char ms[18];
    int v = net < VN_MAX_NETWORKS ? vn_vx_lookup(&x->tab, net, mac, vn_vxlan_now(x)) : -1;
    if (v >= 0 && by == VN_VXLAN_BY_CONTROL && vn_vx_find(&x->tab, net, mac)->evpn) {
        snprintf(err, errlen, "%s of network '%s' was imported from EVPN (the fabric's type-2 "
                              "routes)", vn_mac_str(mac, ms), x->net_conf[net]->name);
        return -1;
    }
    if (v < 0 || vn_vx_mac_del(&x->tab, net, mac) < 0) {
        snprintf(err, errlen, "no remote entry for %s", vn_mac_str(mac, ms));
        return -1;
    }
    forget_if_unused(x, v);
    return 0;
}

int vn_vxlan_fdb_get(struct vn_port *p, uint16_t net, const uint8_t mac[6],
                     struct vn_vxlan_remote *r)
{
    struct vn_vxlan *x = vn_vxlan_is(p) ? p->priv : NULL;
    if (!x || net >= VN_MAX_NETWORKS)
        return -1;
    uint32_t now = vn_vxlan_now(x);
    int v = vn_vx_lookup(&x->tab, net, mac, now);
    if (v < 0)
        return -1;
    const struct vn_vx_mac *m = vn_vx_find(&x->tab, net, mac);
    r->vtep = x->tab.vteps[v].addr;
    r->origin = mac_origin(m);
    r->age_s = m->is_static ? -1 : (int64_t)(now - m->seen_s);
    return 0;
}
