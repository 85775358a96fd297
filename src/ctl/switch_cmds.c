/* Control commands about the switch: status, network.list, port.list, fdb,
 * stats (with what the vxlan ports add to fdb and stats: vxlan_cmds.h). */
#include "switch_cmds.h"
#include "core/util.h"
#include "conf/flags.h"
#include "conf/schema.h"
#include "gw/gateway.h"
#include "access.h"
#include "acl_cmds.h"
#include "obs_cmds.h"
#include "vxlan_cmds.h"
#include "port/vxlan.h"
#include "pkt/eth.h"

#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef VN_VERSION
#define VN_VERSION "dev"
#endif

static json_t *counters_json(const struct vn_counters *c)
{
    json_t *o = json_pack("{s:I,s:I,s:I,s:I}", "rx_frames", (json_int_t)c->rx_frames, "rx_bytes",
                          (json_int_t)c->rx_bytes, "tx_frames", (json_int_t)c->tx_frames,
                          "tx_bytes", (json_int_t)c->tx_bytes);
    json_t *rd = json_object(), *td = json_object();
    for (int i = 0; i < VN_DROP__COUNT; i++) {
        json_object_set_new(rd, vn_drop_name(i), json_integer((json_int_t)c->rx_drops[i]));
        json_object_set_new(td, vn_drop_name(i), json_integer((json_int_t)c->tx_drops[i]));
    }
    json_object_set_new(o, "rx_drops", rd);
    json_object_set_new(o, "tx_drops", td);
    return o;
}

static json_t *port_json(struct vn_port *p)
{
    struct vn_switch *sw = p->sw;
    json_t *o = json_pack("{s:s,s:s,s:s,s:b}", "name", p->conf.name, "type", p->ops->type,
                          "role", p->fwd->trunk ? "trunk" : "access", "connected", p->connected);
    if (p->fwd->trunk) {
        json_t *nets = json_array();
        for (unsigned i = 0; i < sw->nnets; i++)
            if (vn_port_carries(p, i))
                json_array_append_new(nets, json_string(sw->nets[i]->conf.name));
        json_object_set_new(o, "networks", nets);
        if (p->fwd->native_net >= 0)
            json_object_set_new(o, "native", json_string(sw->nets[p->fwd->native_net]->conf.name));
    } else {
        json_object_set_new(o, "network", json_string(sw->nets[p->fwd->access_net]->conf.name));
    }
    p->ops->describe(p, o);
    json_object_set_new(o, "stats", counters_json(&p->stats));
    return o;
}

static json_t *net_json(struct vn_network *n)
{
    json_t *o = json_pack("{s:s,s:s,s:i,s:i,s:i}", "name", n->conf.name, "mode",
                          vn_net_mode_name(n->conf.mode), "vlan", n->conf.vlan, "mtu",
                          n->conf.mtu, "ports", n->nmembers);
    json_object_set_new(o, "worker", json_integer(n->dp->id));
    json_object_set_new(o, "fdb", json_pack("{s:i,s:i,s:i,s:I,s:I,s:I,s:I}", "entries",
                                            n->fdb.count, "max", n->fdb.max, "aging",
                                            n->fdb.aging_s, "learned", (json_int_t)n->fdb.learned,
                                            "moved", (json_int_t)n->fdb.moved, "aged",
                                            (json_int_t)n->fdb.aged, "full",
                                            (json_int_t)n->fdb.full));
    json_object_set_new(o, "stats",
                        json_pack("{s:I,s:I,s:I,s:I,s:I}", "frames", (json_int_t)n->stats.frames,
                                  "bytes", (json_int_t)n->stats.bytes, "unicast",
                                  (json_int_t)n->stats.unicast, "flooded",
                                  (json_int_t)n->stats.flooded, "filtered",
                                  (json_int_t)n->stats.filtered));
    if (n->conf.uplink[0])
        json_object_set_new(o, "uplink", json_string(n->conf.uplink));
    json_t *members = json_array();
    for (unsigned i = 0; i < n->nmembers; i++)
        json_array_append_new(members, json_string(n->members[i]->conf.name));
    json_object_set_new(o, "members", members);
    if (n->gw)
        json_object_set_new(o, "gateway", vn_gw_json(n->gw));
    return o;
}

static json_t *cmd_status(void *ctx, json_t *req, char *err, size_t errlen)
{
    (void)req, (void)err, (void)errlen;
    struct vn_switch *sw = ctx;
    unsigned nports = 0, connected = 0;
    uint64_t rx = 0, tx = 0, drops = 0;
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!p)
            continue;
        nports++;
        connected += p->connected;
        rx += p->stats.rx_frames;
        tx += p->stats.tx_frames;
        for (int d = 0; d < VN_DROP__COUNT; d++)
            drops += p->stats.rx_drops[d] + p->stats.tx_drops[d];
    }
    return json_pack("{s:s,s:i,s:I,s:i,s:i,s:i,s:I,s:I,s:I,s:i}", "version", VN_VERSION, "pid",
                     (int)getpid(), "uptime_s",
                     (json_int_t)((vn_now_ns() - sw->start_ns) / 1000000000ull), "networks",
                     sw->nnets, "ports", nports, "ports_connected", connected, "rx_frames",
                     (json_int_t)rx, "tx_frames", (json_int_t)tx, "drops", (json_int_t)drops,
                     "workers", sw->ndp);
}

static json_t *cmd_network_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "network"));
    json_t *a = json_array();
    for (unsigned i = 0; i < sw->nnets; i++)
        if (!name || !strcmp(name, sw->nets[i]->conf.name))
            json_array_append_new(a, net_json(sw->nets[i]));
    if (name && !json_array_size(a)) {
        json_decref(a);
        snprintf(err, errlen, "no network named '%s'", name);
        return NULL;
    }
    return a;
}

static json_t *cmd_port_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "port"));
    json_t *a = json_array();
    for (unsigned i = 0; i < sw->nports; i++)
        if (sw->ports[i] && (!name || !strcmp(name, sw->ports[i]->conf.name)))
            json_array_append_new(a, port_json(sw->ports[i]));
    if (name && !json_array_size(a)) {
        json_decref(a);
        snprintf(err, errlen, "no port named '%s'", name);
        return NULL;
    }
    return a;
}

/* fdb {network?}: the switch's MAC table; an entry on a vxlan port also
 * names the VTEP behind it and how the port knows it, and the remote
 * entries the switch's table lacks follow each network's entries. */
static json_t *cmd_fdb(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "network"));
    if (name && !vn_switch_find_network(sw, name)) {
        snprintf(err, errlen, "no network named '%s'", name);
        return NULL;
    }
    json_t *a = json_array();
    for (unsigned i = 0; i < sw->nnets; i++) {
        struct vn_network *n = sw->nets[i];
        if (name && strcmp(name, n->conf.name))
            continue;
        uint32_t pos = 0;
        const struct vn_fdb_entry *e;
        while ((e = vn_fdb_next(&n->fdb, &pos))) {
            uint8_t mac[6];
            char ms[18];
            vn_fdb_key_mac(e->key, mac);
            struct vn_port *p = sw->ports[e->port];
            json_t *row = json_pack("{s:s,s:s,s:s,s:i}", "network", n->conf.name, "mac",
                                    vn_mac_str(mac, ms), "port", p ? p->conf.name : "?",
                                    "age_s", (int)(sw->now_s - e->seen_s));
            if (p && vn_vxlan_is(p))
                vn_vxlan_cmds_fdb_row(p, n->id, mac, row);
            json_array_append_new(a, row);
        }
        vn_vxlan_cmds_fdb_remote_only(sw, n, a);
    }
    return a;
}

static json_t *cmd_stats(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "port"));
    json_t *ports = json_array();
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!p || (name && strcmp(name, p->conf.name)))
            continue;
        json_t *o = json_pack("{s:s}", "name", p->conf.name), *c = counters_json(&p->stats);
        json_object_update(o, c);
        json_decref(c);
        vn_vxlan_cmds_stats(p, o);
        json_array_append_new(ports, o);
    }
    if (name && !json_array_size(ports)) {
        json_decref(ports);
        snprintf(err, errlen, "no port named '%s'", name);
        return NULL;
    }
    json_t *res = json_pack("{s:o}", "ports", ports);
    if (!name) {
        json_t *nets = json_array();
        for (unsigned i = 0; i < sw->nnets; i++)
            json_array_append_new(nets, net_json(sw->nets[i]));
        json_object_set_new(res, "networks", nets);
    }
    return res;
}

/* What a client that is not privileged may not do in a port.add (see
 * access.h), by what the port's type allows (conf/schema.h enum
 * vn_port_access); may open pc->netns_fd. Returns 0 or -1 with err. */
static int port_add_access(struct vn_port_conf *pc, char *err, size_t errlen)
{
    const struct vn_ctl_caller *who = vn_ctl_caller();
    if (who->privileged)
        return 0;
    const struct vn_conf_port_type *t = vn_conf_port_type_get((unsigned)pc->type);
    switch (t->access) {
    case VN_PORT_ACCESS_SOCKET:
        return pc->sock_fd >= 0 ? 0 : vn_access_socket_path(who->run_dir, pc->path, err, errlen);
    case VN_PORT_ACCESS_NETNS:
        pc->tap_excl = true; /* never someone else's existing interface */
        if (pc->netns[0] && (pc->netns_fd = vn_access_netns(pc->netns, who->uid, err, errlen)) < 0)
            return -1;
        return 0;
    case VN_PORT_ACCESS_ROOT:
        break;
    }
    snprintf(err, errlen, "permission denied: only root may add %s ports", t->name);
    return -1;
}

/* port.add {spec: "NAME,type=T,network=N,...", fd: true?}: the --port
 * syntax, checked like the configuration, then opened. With "fd": true a
 * stream or dgram port uses the socket passed with the request (the client
 * bound its path with its own rights; the daemon never unlinks it). */
static json_t *cmd_port_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *spec = json_string_value(json_object_get(req, "spec"));
    bool by_fd = json_is_true(json_object_get(req, "fd"));
    if (!spec) {
        snprintf(err, errlen, "need \"spec\": NAME,type=stream|dgram|tap|uplink,network=NET,...");
        return NULL;
    }
    struct vn_config *c = vn_conf_new();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (unsigned i = 0; i < sw->nnets; i++) {
        c->nets[i] = sw->nets[i]->conf;
        c->nets[i].acl = (struct vn_acl){ 0 }; /* the switch owns those rules */
        c->nets[i].vpn.peers = NULL;           /* and the config those peers */
        c->nets[i].vpn.npeers = 0;
    }
    c->nnets = sw->nnets;
    struct vn_conf_err ce;
    json_t *res = NULL;
    if (vn_conf_flag_port(c, spec, &ce) ||
        vn_conf_validate_port(c, &c->ports[c->nports - 1], &ce)) {
        snprintf(err, errlen, "%s", ce.msg + (strncmp(ce.msg, "command line: ", 14) ? 0 : 14));
        goto out;
    }
    struct vn_port_conf *pc = &c->ports[c->nports - 1];
    if (by_fd) {
        int type = vn_conf_port_type_get((unsigned)pc->type)->sock_type;
        if (!type) {
            snprintf(err, errlen, "\"fd\": true is for stream and dgram ports");
            goto out;
        }
        if ((pc->sock_fd = vn_ctl_take_fd()) < 0) {
            snprintf(err, errlen, "\"fd\": true but no descriptor came with the request");
            goto out;
        }
        if (vn_access_passed_socket(pc->sock_fd, type, err, errlen) < 0)
            goto out;
        pc->keep_path = true;
    }
    if (port_add_access(pc, err, errlen) < 0)
        goto out;
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *q = sw->ports[i];
        if (!q)
            continue;
        if (pc->path[0] && !strcmp(q->conf.path, pc->path)) {
            snprintf(err, errlen, "path '%s' is used by port '%s'", pc->path, q->conf.name);
            goto out;
        }
    }
    struct vn_port *p = vn_switch_add_port(sw, pc, err, errlen);
    if (p) {
        res = port_json(p);
        pc->sock_fd = -1; /* the port's now */
    }
out:
    if (c->nports && c->ports[c->nports - 1].sock_fd >= 0)
        close(c->ports[c->nports - 1].sock_fd);
    if (c->nports && c->ports[c->nports - 1].netns_fd >= 0)
        close(c->ports[c->nports - 1].netns_fd);
    vn_conf_free(c);
    return res;
}

static json_t *cmd_port_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "port"));
    struct vn_port *p = name ? vn_switch_find_port(sw, name) : NULL;
    if (!p) {
        snprintf(err, errlen, "no port named '%s'", name ? name : "");
        return NULL;
    }
    if (!strcmp(p->ops->type, "gateway") || p->conf.implicit) {
        snprintf(err, errlen, "port '%s' belongs to its network (gateway, uplink or host side)",
                 name);
        return NULL;
    }
    /* A socket the client bound is the client's to remove: say where. */
    json_t *r = p->conf.keep_path ? json_pack("{s:s,s:b}", "path", p->conf.path, "keep_path", 1)
                                  : json_object();
    vn_switch_del_port(sw, p);
    return r;
}

void vn_switch_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "port.add", cmd_port_add, sw);
    vn_ctl_register(ctl, "port.del", cmd_port_del, sw);
    vn_ctl_register(ctl, "status", cmd_status, sw);
    vn_ctl_register(ctl, "network.list", cmd_network_list, sw);
    vn_ctl_register(ctl, "port.list", cmd_port_list, sw);
    vn_ctl_register(ctl, "fdb", cmd_fdb, sw);
    vn_ctl_register(ctl, "stats", cmd_stats, sw);
    vn_obs_cmds_register(ctl, sw);
    vn_acl_cmds_register(ctl, sw);
    vn_vxlan_cmds_register(ctl, sw);
}
