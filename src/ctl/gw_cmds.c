/* Control commands of the gateway services: leases, flows, forward ..., gateway. */
#include "gw_cmds.h"
#include "access.h"
#include "gw/dhcp4.h"
#include "gw/dhcp6.h"
#include "gw/gateway.h"
#include "nat/nat.h"

#include <netinet/in.h>
#include <string.h>

/* The networks a request is about: the one named by "network", or all with
 * a gateway. Returns 0, or -1 with err when the name is unknown or has no
 * gateway. */
static int pick(struct vn_switch *sw, json_t *req, struct vn_network **one, char *err,
                size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "network"));
    *one = NULL;
    if (!name)
        return 0;
    *one = vn_switch_find_network(sw, name);
    if (!*one) {
        snprintf(err, errlen, "no network named '%s'", name);
        return -1;
    }
    if (!(*one)->gw) {
        snprintf(err, errlen, "network '%s' has no gateway services", name);
        return -1;
    }
    return 0;
}

/* Append per-network arrays from get() into one array, tagging each element
 * with its network name. */
static json_t *collect(struct vn_switch *sw, struct vn_network *one,
                       json_t *(*get)(struct vn_gw *gw))
{
    json_t *all = json_array();
    for (unsigned i = 0; i < sw->nnets; i++) {
        struct vn_network *n = sw->nets[i];
        if (!n->gw || (one && one != n))
            continue;
        json_t *a = get(n->gw);
        size_t k;
        json_t *e;
        json_array_foreach(a, k, e) {
            json_object_set_new(e, "network", json_string(n->conf.name));
            json_array_append(all, e);
        }
        json_decref(a);
    }
    return all;
}

/* DHCPv4 leases (family 4), then DHCPv6 leases (family 6). */
static json_t *leases_of(struct vn_gw *gw)
{
    json_t *a = gw->dhcp ? vn_dhcp4_leases_json(gw->dhcp) : json_array();
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
        json_object_set_new(e, "family", json_integer(4));
    if (gw->dhcp6) {
        json_t *b = vn_dhcp6_leases_json(gw->dhcp6);
        json_array_extend(a, b);
        json_decref(b);
    }
    return a;
}
static json_t *flows_of(struct vn_gw *gw) { return gw->nat ? vn_nat_flows_json(gw->nat) : json_array(); }
static json_t *forwards_of(struct vn_gw *gw)
{
    return gw->nat ? vn_nat_forwards_json(gw->nat) : json_array();
}

static json_t *cmd_leases(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *one;
    if (pick(ctx, req, &one, err, errlen))
        return NULL;
    return collect(ctx, one, leases_of);
}

/* conflicts {network?}: recent address conflicts between guests (conflict.h). */
static json_t *cmd_conflicts(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *one;
    if (pick(ctx, req, &one, err, errlen))
        return NULL;
    return collect(ctx, one, vn_gw_conflicts_json);
}

static json_t *cmd_flows(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *one;
    if (pick(ctx, req, &one, err, errlen))
        return NULL;
    return collect(ctx, one, flows_of);
}

static json_t *cmd_forward_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *one;
    if (pick(ctx, req, &one, err, errlen))
        return NULL;
    return collect(ctx, one, forwards_of);
}

/* The NAT network a forward change applies to: the named one, or the only
 * NAT network there is. */
static struct vn_network *nat_network(struct vn_switch *sw, json_t *req, char *err,
                                      size_t errlen)
{
    struct vn_network *one;
    if (pick(sw, req, &one, err, errlen))
        return NULL;
    if (!one) {
        for (unsigned i = 0; i < sw->nnets; i++)
            if (sw->nets[i]->gw && sw->nets[i]->gw->nat && sw->nets[i]->conf.mode == VN_MODE_NAT) {
                if (one) {
                    snprintf(err, errlen, "several NAT networks: say which with \"network\"");
                    return NULL;
                }
                one = sw->nets[i];
            }
    }
    if (!one || !one->gw->nat || one->conf.mode != VN_MODE_NAT) {
        snprintf(err, errlen, one ? "network '%s' is not a nat network: forwards need NAT"
                                  : "no NAT network to forward into%s",
                 one ? one->conf.name : "");
        return NULL;
    }
    return one;
}

static json_t *cmd_forward_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *n = nat_network(ctx, req, err, errlen);
    const char *spec = json_string_value(json_object_get(req, "spec"));
    if (!n)
        return NULL;
    if (!spec) {
        snprintf(err, errlen, "missing \"spec\" (PROTO:HOSTPORT[:GUESTIP]:GUESTPORT)");
        return NULL;
    }
    struct vn_forward_conf fc;
    struct vn_conf_err ce;
    if (vn_conf_parse_forward(spec, &fc, (struct vn_conf_src){ "request", 0 }, &ce)) {
        snprintf(err, errlen, "%s", ce.msg + strlen("request: "));
        return NULL;
    }
    if (!vn_ctl_caller()->privileged && vn_access_port_privileged(fc.host.port)) {
        snprintf(err, errlen, "permission denied: host port %u is privileged; only root may "
                              "forward it", fc.host.port);
        return NULL;
    }
    const struct vn_net_conf *c = &n->conf;
    if (c->ipv4_none && fc.guest.family != AF_INET6) {
        snprintf(err, errlen, "network '%s' has no IPv4 (subnet: none): give an IPv6 guest "
                              "([ADDRESS]:PORT)", c->name);
        return NULL;
    }
    uint32_t mask = c->prefix ? ~0u << (32 - c->prefix) : 0;
    if (!fc.guest.family)
        fc.guest = vn_addr4(c->dhcp_start);
    static const uint8_t zero_iid[8];
    bool v6 = fc.guest.family == AF_INET6;
    bool inside = v6 ? c->ipv6 && vn_addr_in_prefix(&fc.guest, &c->subnet6, 64) &&
                           memcmp(fc.guest.a + 8, zero_iid, 8) /* not PREFIX:: */
                     : (vn_addr_v4(&fc.guest) & mask) == c->subnet;
    if (!inside) {
        snprintf(err, errlen, v6 && !c->ipv6 ? "network '%s' has no IPv6 (ipv6: false)"
                              : v6 ? "guest address is not a host address of the subnet6 of network '%s'"
                                   : "guest address is not inside network '%s'",
                 c->name);
        return NULL;
    }
    if (vn_nat_forward_add(n->gw->nat, &fc, err, errlen))
        return NULL;
    return json_pack("{s:s}", "network", c->name);
}

static json_t *cmd_forward_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *n = nat_network(ctx, req, err, errlen);
    const char *proto = json_string_value(json_object_get(req, "proto"));
    const char *host = json_string_value(json_object_get(req, "host"));
    if (!n)
        return NULL;
    if (!proto || !host || (strcmp(proto, "tcp") && strcmp(proto, "udp"))) {
        snprintf(err, errlen, "need \"proto\" (tcp|udp) and \"host\" ([ADDR:]PORT)");
        return NULL;
    }
    struct vn_sockaddr sa;
    char buf[160];
    if (!strchr(host, ':'))
        snprintf(buf, sizeof buf, "127.0.0.1:%s", host);
    else
        snprintf(buf, sizeof buf, "%s", host);
    if (vn_sockaddr_parse(buf, 0, &sa)) {
        snprintf(err, errlen, "'%s' is not [ADDR:]PORT", host);
        return NULL;
    }
    if (vn_nat_forward_del(n->gw->nat, strcmp(proto, "tcp") ? IPPROTO_UDP : IPPROTO_TCP, &sa, err,
                           errlen))
        return NULL;
    return json_pack("{s:s}", "network", n->conf.name);
}

void vn_gw_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "leases", cmd_leases, sw);
    vn_ctl_register(ctl, "flows", cmd_flows, sw);
    vn_ctl_register(ctl, "conflicts", cmd_conflicts, sw);
    vn_ctl_register(ctl, "forward.list", cmd_forward_list, sw);
    vn_ctl_register(ctl, "forward.add", cmd_forward_add, sw);
    vn_ctl_register(ctl, "forward.del", cmd_forward_del, sw);
}
