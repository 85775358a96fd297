/* Control commands of the vxlan ports: see vxlan_cmds.h. The tables
 * themselves and what may change in them are the port's (port/vxlan.h);
 * here requests are read, ports and networks found by name, and replies
 * built. */
#include "vxlan_cmds.h"
#include "core/util.h"
#include "port/vxlan.h"

#include <stdio.h>
#include <string.h>

/* ---- parsing ---- */

int vn_vxlan_cmds_parse_vtep(const char *s, struct vn_sockaddr *out, char *err, size_t errlen)
{
    bool has_port;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        has_port = e && e[1] == ':';
    } else {
        const char *c = strchr(s, ':');
        has_port = c && !strchr(c + 1, ':'); /* several colons: a bare IPv6 address */
    }
    if (vn_sockaddr_parse(s, 1, out) < 0) {
        snprintf(err, errlen, "VTEP '%.80s' is not ADDR, ADDR:PORT or [V6ADDR]:PORT (port "
                              "1-65535)", s);
        return -1;
    }
    if (!has_port)
        out->port = 0;
    return 0;
}

/* The MAC in member "mac" of req into mac: 0, or -1 with err. */
static int req_mac(json_t *req, uint8_t mac[6], char *err, size_t errlen)
{
    const char *s = json_string_value(json_object_get(req, "mac"));
    if (!s) {
        snprintf(err, errlen, "need \"mac\" (xx:xx:xx:xx:xx:xx)");
        return -1;
    }
    if (vn_mac_parse(s, mac) < 0) {
        snprintf(err, errlen, "'%.40s' is not a MAC address (xx:xx:xx:xx:xx:xx)", s);
        return -1;
    }
    return 0;
}

/* The network named by member "network" of req, or NULL with err. */
static struct vn_network *req_network(struct vn_switch *sw, json_t *req, char *err,
                                      size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "network"));
    struct vn_network *n = name ? vn_switch_find_network(sw, name) : NULL;
    if (!name)
        snprintf(err, errlen, "need \"network\"");
    else if (!n)
        snprintf(err, errlen, "no network named '%s'", name);
    return n;
}

static bool is_vxlan(const struct vn_port *p)
{
    return p && vn_vxlan_is(p) && p->priv;
}

/* The vxlan port named name, or NULL with err. */
static struct vn_port *vxlan_port(struct vn_switch *sw, const char *name, char *err,
                                  size_t errlen)
{
    if (!name) {
        snprintf(err, errlen, "need \"port\" (a vxlan port)");
        return NULL;
    }
    struct vn_port *p = vn_switch_find_port(sw, name);
    if (!p)
        snprintf(err, errlen, "no port named '%s'", name);
    else if (!is_vxlan(p))
        snprintf(err, errlen, "port '%s' is not a vxlan port (it is a %s port)", name,
                 p->ops->type);
    return p && is_vxlan(p) ? p : NULL;
}

/* The networks of member "networks" (an array of names, each carried by
 * p) as a mask into *mask; none given: 0 (all). Returns 0, or -1 with err. */
static int req_networks(struct vn_switch *sw, struct vn_port *p, json_t *req, uint64_t *mask,
                        char *err, size_t errlen)
{
    json_t *a = json_object_get(req, "networks"), *v;
    size_t i;
    *mask = 0;
    if (!a)
        return 0;
    if (!json_is_array(a) || !json_array_size(a)) {
        snprintf(err, errlen, "\"networks\" is an array of network names");
        return -1;
    }
    json_array_foreach(a, i, v) {
        const char *name = json_string_value(v);
        struct vn_network *n = name ? vn_switch_find_network(sw, name) : NULL;
        if (!name) {
            snprintf(err, errlen, "\"networks\" is an array of network names");
            return -1;
        }
        if (!n) {
            snprintf(err, errlen, "no network named '%s'", name);
            return -1;
        }
        if (!vn_port_carries(p, n->id)) {
            snprintf(err, errlen, "port '%s' does not carry network '%s'", p->conf.name, name);
            return -1;
        }
        *mask |= 1ull << n->id;
    }
    return 0;
}

/* Changes are the privileged clients' (vxlan_cmds.h). */
static bool may_change(char *err, size_t errlen)
{
    if (vn_ctl_caller()->privileged)
        return true;
    snprintf(err, errlen, "permission denied: only root may change a vxlan port's VTEPs and "
                          "remote MACs (they decide where vnetd sends the networks' traffic)");
    return false;
}

/* ---- listings ---- */

/* The VTEP object of p whose address is a (as vtep.list shows it), or NULL. */
static json_t *vtep_of(struct vn_port *p, const struct vn_addr *a)
{
    char as[VN_ADDR_STRLEN];
    vn_addr_str(a, as, sizeof as);
    json_t *all = vn_vxlan_vteps_json(p), *v, *found = NULL;
    size_t i;
    json_array_foreach(all, i, v)
        if (!strcmp(json_string_value(json_object_get(v, "address")), as)) {
            found = json_incref(v);
            break;
        }
    json_decref(all);
    return found;
}

/* The members of p's status (describe()) named in keys, into o. */
static void copy_status(struct vn_port *p, json_t *o, const char *const *keys, size_t n)
{
    json_t *d = json_object();
    p->ops->describe(p, d);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_object_get(d, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    json_decref(d);
}

/* vtep.list {port?}: per vxlan port, its local address and its VTEPs. */
static json_t *cmd_vtep_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "port"));
    struct vn_port *one = NULL;
    if (name && !(one = vxlan_port(sw, name, err, errlen)))
        return NULL;
    static const char *const keys[] = { "local", "learning", "accept", "vteps" };
    json_t *a = json_array();
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!is_vxlan(p) || (one && p != one))
            continue;
        json_t *o = json_pack("{s:s}", "port", p->conf.name);
        copy_status(p, o, keys, VN_ARRAY_LEN(keys));
        json_array_append_new(a, o);
    }
    return a;
}

void vn_vxlan_cmds_stats(struct vn_port *p, json_t *o)
{
    static const char *const keys[] = { "vteps", "vxlan_drops" };
    if (is_vxlan(p))
        copy_status(p, o, keys, VN_ARRAY_LEN(keys));
}

void vn_vxlan_cmds_fdb_row(struct vn_port *p, uint16_t net, const uint8_t mac[6], json_t *row)
{
    struct vn_vxlan_remote r;
    char as[VN_ADDR_STRLEN];
    if (vn_vxlan_fdb_get(p, net, mac, &r) < 0) {
        json_object_set_new(row, "vtep", json_null());
        json_object_set_new(row, "origin", json_null());
        return;
    }
    json_object_set_new(row, "vtep", json_string(vn_addr_str(&r.vtep, as, sizeof as)));
    json_object_set_new(row, "origin", json_string(r.origin));
}

void vn_vxlan_cmds_fdb_remote_only(struct vn_switch *sw, struct vn_network *n, json_t *rows)
{
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!is_vxlan(p) || !vn_port_carries(p, n->id))
            continue;
        json_t *all = vn_vxlan_fdb_json(p, n->id), *e;
        size_t k;
        json_array_foreach(all, k, e) {
            uint8_t mac[6];
            if (vn_mac_parse(json_string_value(json_object_get(e, "mac")), mac) < 0 ||
                vn_fdb_lookup(&n->fdb, mac, sw->now_s) >= 0)
                continue; /* the switch's entry decides (listed above) */
            json_array_append_new(
                rows, json_pack("{s:O,s:O,s:s,s:O,s:O,s:O}", "network", json_object_get(e, "network"),
                                "mac", json_object_get(e, "mac"), "port", p->conf.name, "age_s",
                                json_object_get(e, "age_s"), "vtep", json_object_get(e, "vtep"),
                                "origin", json_object_get(e, "origin")));
        }
        json_decref(all);
    }
}

/* ---- the flood list ---- */

/* The members of a vtep.add or vtep.del request, for a privileged caller:
 * the vxlan port named by "port" (returned), "vtep" (written as what, in
 * the error when missing) into *sa and "networks" into *nets. NULL with err
 * when any is wrong. */
static struct vn_port *vtep_request(struct vn_switch *sw, json_t *req, const char *what,
                                    struct vn_sockaddr *sa, uint64_t *nets, char *err,
                                    size_t errlen)
{
    const char *vs = json_string_value(json_object_get(req, "vtep"));
    struct vn_port *p;
    if (!may_change(err, errlen) ||
        !(p = vxlan_port(sw, json_string_value(json_object_get(req, "port")), err, errlen)))
        return NULL;
    if (!vs) {
        snprintf(err, errlen, "need \"vtep\": %s", what);
        return NULL;
    }
    if (vn_vxlan_cmds_parse_vtep(vs, sa, err, errlen) < 0 ||
        req_networks(sw, p, req, nets, err, errlen) < 0)
        return NULL;
    return p;
}

/* vtep.add {port, vtep: "ADDR[:PORT]", networks?: [names]}. */
static json_t *cmd_vtep_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_sockaddr sa;
    uint64_t nets;
    struct vn_port *p = vtep_request(ctx, req, "ADDR[:PORT]", &sa, &nets, err, errlen);
    if (!p || vn_vxlan_vtep_add(p, &sa, nets, VN_VXLAN_BY_CONTROL, err, errlen) < 0)
        return NULL;
    json_t *v = vtep_of(p, &sa.ip);
    return json_pack("{s:s,s:o}", "port", p->conf.name, "vtep", v ? v : json_null());
}

/* The switch's entry of mac in network n, when it points at vxlan port p,
 * is forgotten: p no longer knows where the MAC is (its remote entry went
 * with fdb.del or vtep.del), so fdb stops listing it there and frames to
 * it are unknown unicast again until it sends (and is learned anew). */
static void forget_switch_entry(struct vn_network *n, struct vn_port *p, const uint8_t mac[6])
{
    vn_fdb_forget(&n->fdb, mac, p->id);
}

/* The remote entries of p behind the VTEP at a: an array of {network, mac}. */
static json_t *macs_behind(struct vn_port *p, const struct vn_addr *a)
{
    char as[VN_ADDR_STRLEN];
    vn_addr_str(a, as, sizeof as);
    json_t *all = vn_vxlan_fdb_json(p, -1), *e, *out = json_array();
    size_t i;
    json_array_foreach(all, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "vtep")), as))
            json_array_append_new(out, json_pack("{s:O,s:O}", "network",
                                                 json_object_get(e, "network"), "mac",
                                                 json_object_get(e, "mac")));
    json_decref(all);
    return out;
}

/* vtep.del {port, vtep: "ADDR", networks?: [names]}. A VTEP out of its
 * last flood list is forgotten with the MACs behind it, in the port's table
 * and the switch's. */
static json_t *cmd_vtep_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    struct vn_sockaddr sa;
    uint64_t nets;
    struct vn_port *p = vtep_request(sw, req, "ADDR", &sa, &nets, err, errlen);
    if (!p)
        return NULL;
    json_t *behind = macs_behind(p, &sa.ip), *e;
    if (vn_vxlan_vtep_del(p, &sa.ip, nets, VN_VXLAN_BY_CONTROL, err, errlen) < 0) {
        json_decref(behind);
        return NULL;
    }
    char as[VN_ADDR_STRLEN];
    json_t *v = vtep_of(p, &sa.ip);
    size_t i;
    json_array_foreach(behind, i, e) {
        struct vn_network *n =
            vn_switch_find_network(sw, json_string_value(json_object_get(e, "network")));
        uint8_t mac[6];
        struct vn_vxlan_remote r;
        if (n && vn_mac_parse(json_string_value(json_object_get(e, "mac")), mac) == 0 &&
            vn_vxlan_fdb_get(p, n->id, mac, &r) < 0)
            forget_switch_entry(n, p, mac);
    }
    json_decref(behind);
    json_t *r = json_pack("{s:s,s:s,s:b}", "port", p->conf.name, "vtep",
                          vn_addr_str(&sa.ip, as, sizeof as), "forgotten", !v);
    json_decref(v);
    return r;
}

/* ---- static remote MACs ---- */

/* The vxlan port a fdb.add or fdb.del of network n is for: the one named by
 * member "port", else the only vxlan port carrying n, else among those the
 * one for which match() holds. NULL with err when there is none or it is
 * not clear which. */
static struct vn_port *fdb_port(struct vn_switch *sw, json_t *req, struct vn_network *n,
                                bool (*match)(struct vn_port *p, void *arg), void *arg,
                                const char *nomatch, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "port"));
    if (name) {
        struct vn_port *p = vxlan_port(sw, name, err, errlen);
        if (p && !vn_port_carries(p, n->id)) {
            snprintf(err, errlen, "port '%s' does not carry network '%s'", name, n->conf.name);
            return NULL;
        }
        return p;
    }
    struct vn_port *only = NULL, *matched = NULL;
    unsigned carriers = 0, matches = 0;
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!is_vxlan(p) || !vn_port_carries(p, n->id))
            continue;
        carriers++;
        only = p;
        if (match(p, arg)) {
            matches++;
            matched = p;
        }
    }
    if (!carriers) {
        snprintf(err, errlen, "no vxlan port carries network '%s'", n->conf.name);
        return NULL;
    }
    if (carriers == 1)
        return only;
    if (matches == 1)
        return matched;
    if (matches)
        snprintf(err, errlen, "several vxlan ports carry network '%s': say which with \"port\"",
                 n->conf.name);
    else
        snprintf(err, errlen, "%s (none of the vxlan ports carrying network '%s')", nomatch,
                 n->conf.name);
    return NULL;
}

static bool knows_vtep(struct vn_port *p, void *arg)
{
    json_t *v = vtep_of(p, arg);
    json_decref(v);
    return v != NULL;
}

struct mac_key {
    uint16_t net;
    const uint8_t *mac;
};

static bool has_entry(struct vn_port *p, void *arg)
{
    struct mac_key *k = arg;
    struct vn_vxlan_remote r;
    return vn_vxlan_fdb_get(p, k->net, k->mac, &r) == 0;
}

/* fdb.add {network, mac, vtep: "ADDR", port?}: a static remote entry. The
 * switch's entry of the MAC, if on another port, moves to the vxlan port
 * (the operator says where the MAC is now). */
static json_t *cmd_fdb_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    struct vn_network *n;
    uint8_t mac[6];
    struct vn_sockaddr sa;
    const char *vs = json_string_value(json_object_get(req, "vtep"));
    if (!may_change(err, errlen) || !(n = req_network(sw, req, err, errlen)) ||
        req_mac(req, mac, err, errlen) < 0)
        return NULL;
    if (!vs) {
        snprintf(err, errlen, "need \"vtep\": the address of the VTEP the MAC is behind");
        return NULL;
    }
    if (vn_vxlan_cmds_parse_vtep(vs, &sa, err, errlen) < 0)
        return NULL;
    sa.port = 0; /* a VTEP is known by its address: its port is the table's */
    char as[VN_ADDR_STRLEN], nomatch[160];
    vn_addr_str(&sa.ip, as, sizeof as);
    snprintf(nomatch, sizeof nomatch, "VTEP %s is not known", as);
    struct vn_port *p = fdb_port(sw, req, n, knows_vtep, &sa.ip, nomatch, err, errlen);
    if (!p)
        return NULL;
    struct vn_vxlan_remote before;
    bool had = vn_vxlan_fdb_get(p, n->id, mac, &before) == 0;
    if (vn_vxlan_fdb_add(p, n->id, mac, &sa, VN_VXLAN_BY_CONTROL, err, errlen) < 0)
        return NULL;
    int cur = vn_fdb_lookup(&n->fdb, mac, sw->now_s);
    if (cur >= 0 && cur != p->id)
        vn_fdb_learn(&n->fdb, mac, p->id, sw->now_s);
    char ms[18];
    return json_pack("{s:s,s:s,s:s,s:s,s:o}", "port", p->conf.name, "network", n->conf.name,
                     "mac", vn_mac_str(mac, ms), "vtep", as, "replaced",
                     had ? json_string(before.origin) : json_null());
}

/* fdb.del {network, mac, port?}: remove a remote entry (static, or learned:
 * learned again from the next frame), and the switch's entry on the port. */
static json_t *cmd_fdb_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    struct vn_network *n;
    uint8_t mac[6];
    if (!may_change(err, errlen) || !(n = req_network(sw, req, err, errlen)) ||
        req_mac(req, mac, err, errlen) < 0)
        return NULL;
    char ms[18], nomatch[160];
    vn_mac_str(mac, ms);
    snprintf(nomatch, sizeof nomatch, "no remote entry for %s", ms);
    struct mac_key k = { n->id, mac };
    struct vn_port *p = fdb_port(sw, req, n, has_entry, &k, nomatch, err, errlen);
    struct vn_vxlan_remote r;
    if (!p)
        return NULL;
    if (vn_vxlan_fdb_get(p, n->id, mac, &r) < 0) {
        snprintf(err, errlen, "no remote entry for %s in network '%s'", ms, n->conf.name);
        return NULL;
    }
    if (vn_vxlan_fdb_del(p, n->id, mac, VN_VXLAN_BY_CONTROL, err, errlen) < 0)
        return NULL;
    forget_switch_entry(n, p, mac);
    return json_pack("{s:s,s:s,s:s,s:s}", "port", p->conf.name, "network", n->conf.name, "mac",
                     ms, "origin", r.origin);
}

void vn_vxlan_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "vtep.list", cmd_vtep_list, sw);
    vn_ctl_register(ctl, "vtep.add", cmd_vtep_add, sw);
    vn_ctl_register(ctl, "vtep.del", cmd_vtep_del, sw);
    vn_ctl_register(ctl, "fdb.add", cmd_fdb_add, sw);
    vn_ctl_register(ctl, "fdb.del", cmd_fdb_del, sw);
}
