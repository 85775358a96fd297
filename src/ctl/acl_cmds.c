/* Control commands for ACLs: acl.list, acl.add, acl.del, acl.default.
 * A target is a port or a network name (ports are looked up first). Rule
 * changes take effect for the next frame; tracked connections stay. Rules
 * are text in the vnetctl form (IPv4 and IPv6 alike), parsed by fw/acl.c. */
#include "acl_cmds.h"
#include "fw/acl.h"

#include <string.h>

/* The ACL named by the request's "target"; NULL with err. */
static struct vn_acl *target_acl(struct vn_switch *sw, json_t *req, const char **kind,
                                 struct vn_network **net, char *err, size_t errlen)
{
    const char *t = json_string_value(json_object_get(req, "target"));
    *net = NULL;
    if (!t) {
        snprintf(err, errlen, "need \"target\" (a port or network name)");
        return NULL;
    }
    struct vn_port *p = vn_switch_find_port(sw, t);
    if (p) {
        *kind = "port";
        return &p->fwd->acl;
    }
    struct vn_network *n = vn_switch_find_network(sw, t);
    if (n) {
        *kind = "network";
        *net = n;
        return &n->acl;
    }
    snprintf(err, errlen, "no port or network named '%s'", t);
    return NULL;
}

static json_t *list_one(const char *name, const char *kind, struct vn_acl *a,
                        struct vn_network *n)
{
    json_t *o = json_pack("{s:s,s:s,s:o}", "target", name, "kind", kind, "rules", vn_acl_json(a));
    if (n)
        json_object_set_new(o, "default", json_string(n->acl_default_drop ? "drop" : "allow"));
    return o;
}

/* Add the integer members of add to those of acc (the workers' tables and
 * counters summed into one view); frees add. Returns acc. */
static json_t *json_sum(json_t *acc, json_t *add)
{
    if (!acc)
        return add;
    const char *k;
    json_t *v;
    json_object_foreach(add, k, v) {
        json_t *a = json_object_get(acc, k);
        if (json_is_integer(v) && json_is_integer(a))
            json_integer_set(a, json_integer_value(a) + json_integer_value(v));
    }
    json_decref(add);
    return acc;
}

/* Conntrack counters (of every worker's table) plus the connections
 * adopted when ACLs appeared. */
static json_t *ct_json(struct vn_switch *sw)
{
    json_t *o = NULL;
    for (unsigned i = 0; i < sw->ndp; i++)
        o = json_sum(o, vn_ct_stats_json(&sw->dp[i]->ct));
    struct vn_switch_totals t;
    vn_switch_totals(sw, &t);
    json_object_set_new(o, "adopted", json_integer((json_int_t)t.ct_adopted));
    return o;
}

/* The reject answers' counters of every worker. */
static json_t *rej_json(struct vn_switch *sw)
{
    json_t *o = NULL;
    for (unsigned i = 0; i < sw->ndp; i++)
        o = json_sum(o, vn_reject_stats_json(&sw->dp[i]->rej));
    return o;
}

static json_t *cmd_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    json_t *out = json_array();
    if (json_object_get(req, "target")) {
        const char *kind;
        struct vn_network *n;
        struct vn_acl *a = target_acl(sw, req, &kind, &n, err, errlen);
        if (!a) {
            json_decref(out);
            return NULL;
        }
        json_array_append_new(
            out, list_one(json_string_value(json_object_get(req, "target")), kind, a, n));
        return json_pack("{s:o,s:o,s:o}", "acls", out, "conntrack", ct_json(sw), "reject",
                         rej_json(sw));
    }
    for (unsigned i = 0; i < sw->nnets; i++)
        json_array_append_new(out, list_one(sw->nets[i]->conf.name, "network", &sw->nets[i]->acl,
                                            sw->nets[i]));
    for (unsigned i = 0; i < sw->nports; i++)
        if (sw->ports[i] && sw->ports[i]->fwd->acl.n)
            json_array_append_new(
                out, list_one(sw->ports[i]->conf.name, "port", &sw->ports[i]->fwd->acl, NULL));
    return json_pack("{s:o,s:o,s:o}", "acls", out, "conntrack", ct_json(sw), "reject",
                     rej_json(sw));
}

static json_t *cmd_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *kind, *text = json_string_value(json_object_get(req, "rule"));
    struct vn_network *n;
    struct vn_acl *a = target_acl(sw, req, &kind, &n, err, errlen);
    if (!a)
        return NULL;
    if (!text) {
        snprintf(err, errlen, "need \"rule\", e.g. \"allow in proto=tcp dport=22\"");
        return NULL;
    }
    struct vn_acl_rule r;
    if (vn_acl_rule_parse(text, &r, err, errlen))
        return NULL;
    json_t *pos = json_object_get(req, "position");
    int at = json_is_integer(pos) ? (int)json_integer_value(pos) : -1;
    if (vn_acl_insert(a, &r, at, err, errlen) || vn_switch_acl_changed(sw)) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return json_pack("{s:s}", "rule", r.text);
}

static json_t *cmd_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *kind;
    struct vn_network *n;
    struct vn_acl *a = target_acl(sw, req, &kind, &n, err, errlen);
    if (!a)
        return NULL;
    json_t *idx = json_object_get(req, "index");
    if (!json_is_integer(idx) || vn_acl_delete(a, (unsigned)json_integer_value(idx))) {
        snprintf(err, errlen, "need \"index\" of an existing rule (see acl list)");
        return NULL;
    }
    vn_switch_acl_changed(sw);
    return json_object();
}

static json_t *cmd_default(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *kind, *pol = json_string_value(json_object_get(req, "policy"));
    struct vn_network *n;
    if (!target_acl(sw, req, &kind, &n, err, errlen))
        return NULL;
    if (!n || !pol || (strcmp(pol, "allow") && strcmp(pol, "drop"))) {
        snprintf(err, errlen, "need a network \"target\" and \"policy\" allow|drop");
        return NULL;
    }
    n->acl_default_drop = !strcmp(pol, "drop");
    if (vn_switch_acl_changed(sw)) {
        snprintf(err, errlen, "out of memory for the connection table");
        return NULL;
    }
    return json_object();
}

void vn_acl_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "acl.list", cmd_list, sw);
    vn_ctl_register(ctl, "acl.add", cmd_add, sw);
    vn_ctl_register(ctl, "acl.del", cmd_del, sw);
    vn_ctl_register(ctl, "acl.default", cmd_default, sw);
}
