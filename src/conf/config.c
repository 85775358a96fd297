/* Configuration model: setters, validation and defaults (see config.h). */
#include "config.h"
#include "core/log.h"
#include "core/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const mode_names[] = { "nat", "host-only", "isolated", "bridge" };
static const char *const type_names[] = { "stream", "dgram", "tap" };

const char *vn_net_mode_name(enum vn_net_mode m) { return mode_names[m]; }
const char *vn_port_type_name(enum vn_port_type t) { return type_names[t]; }

const char *vn_conf_where(struct vn_conf_src src, char *buf, size_t n)
{
    if (!src.file)
        snprintf(buf, n, "command line: ");
    else if (src.line > 0)
        snprintf(buf, n, "%s:%d: ", src.file, src.line);
    else
        snprintf(buf, n, "%s: ", src.file);
    return buf;
}

int vn_conf_fail(struct vn_conf_err *err, struct vn_conf_src src, const char *fmt, ...)
{
    char where[300];
    vn_conf_where(src, where, sizeof where);
    size_t w = vn_strlcpy(err->msg, where, sizeof err->msg);
    if (w < sizeof err->msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg + w, sizeof err->msg - w, fmt, ap);
        va_end(ap);
    }
    return -1;
}

struct vn_config *vn_conf_new(void)
{
    struct vn_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->ports = calloc(VN_MAX_PORTS, sizeof *c->ports);
    if (!c->ports) {
        free(c);
        return NULL;
    }
    c->log_level = -1;
    c->control_mode = 0600;
    return c;
}

void vn_conf_free(struct vn_config *c)
{
    if (!c)
        return;
    free(c->ports);
    free(c->source);
    free(c);
}

struct vn_net_conf *vn_conf_add_net(struct vn_config *c, struct vn_conf_src src,
                                    struct vn_conf_err *err)
{
    if (c->nnets >= VN_MAX_NETWORKS) {
        vn_conf_fail(err, src, "too many networks (at most %d)", VN_MAX_NETWORKS);
        return NULL;
    }
    struct vn_net_conf *n = &c->nets[c->nnets++];
    memset(n, 0, sizeof *n);
    n->src = src;
    n->mode = VN_MODE_NAT;
    n->mtu = VN_DEFAULT_MTU;
    n->fdb_max = VN_DEFAULT_FDB_MAX;
    n->fdb_aging = VN_DEFAULT_FDB_AGING;
    return n;
}

struct vn_port_conf *vn_conf_add_port(struct vn_config *c, struct vn_conf_src src,
                                      struct vn_conf_err *err)
{
    if (c->nports >= VN_MAX_PORTS) {
        vn_conf_fail(err, src, "too many ports (at most %d)", VN_MAX_PORTS);
        return NULL;
    }
    struct vn_port_conf *p = &c->ports[c->nports++];
    memset(p, 0, sizeof *p);
    p->src = src;
    p->type = VN_PORT__COUNT; /* must be set */
    return p;
}

/* Names: 1..31 characters of [A-Za-z0-9_.-], starting with a letter or digit. */
static int check_name(const char *val, struct vn_conf_src src, const char *what,
                      struct vn_conf_err *err)
{
    size_t n = strlen(val);
    if (n == 0 || n >= VN_NAME_MAX)
        return vn_conf_fail(err, src, "%s name '%s' must be 1 to %d characters", what, val,
                            VN_NAME_MAX - 1);
    if (!isalnum((unsigned char)val[0]))
        return vn_conf_fail(err, src, "%s name '%s' must start with a letter or digit", what, val);
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)val[i]) && !strchr("_.-", val[i]))
            return vn_conf_fail(err, src,
                                "%s name '%s' may only contain letters, digits, '_', '.', '-'",
                                what, val);
    return 0;
}

static int set_name(char *dst, const char *val, struct vn_conf_src src, const char *what,
                    struct vn_conf_err *err)
{
    if (check_name(val, src, what, err))
        return -1;
    vn_strlcpy(dst, val, VN_NAME_MAX);
    return 0;
}

static int set_u32(uint32_t *dst, const char *key, const char *val, uint64_t min, uint64_t max,
                   struct vn_conf_src src, struct vn_conf_err *err)
{
    uint64_t v;
    if (vn_parse_uint(val, min, max, &v))
        return vn_conf_fail(err, src, "%s: '%s' is not a whole number from %llu to %llu", key, val,
                            (unsigned long long)min, (unsigned long long)max);
    *dst = (uint32_t)v;
    return 0;
}

static int set_str(char *dst, size_t n, const char *key, const char *val, struct vn_conf_src src,
                   struct vn_conf_err *err)
{
    if (!*val)
        return vn_conf_fail(err, src, "%s: must not be empty", key);
    if (vn_strlcpy(dst, val, n) >= n)
        return vn_conf_fail(err, src, "%s: '%s' is too long (at most %zu characters)", key, val,
                            n - 1);
    return 0;
}

int vn_conf_net_set(struct vn_net_conf *n, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!val)
        return vn_conf_fail(err, src, "network key '%s' is not a list", key);
    if (!strcmp(key, "name"))
        return set_name(n->name, val, src, "network", err);
    if (!strcmp(key, "mode")) {
        for (unsigned i = 0; i < VN_ARRAY_LEN(mode_names); i++)
            if (!strcmp(val, mode_names[i])) {
                n->mode = (enum vn_net_mode)i;
                return 0;
            }
        return vn_conf_fail(err, src, "mode: '%s' is not one of nat, host-only, isolated, bridge",
                            val);
    }
    if (!strcmp(key, "vlan")) {
        uint32_t v = 0;
        if (set_u32(&v, key, val, 1, 4094, src, err))
            return -1;
        n->vlan = (uint16_t)v;
        return 0;
    }
    if (!strcmp(key, "mtu"))
        return set_u32(&n->mtu, key, val, VN_MIN_MTU, VN_MAX_MTU, src, err);
    if (!strcmp(key, "fdb_max"))
        return set_u32(&n->fdb_max, key, val, 1, 1u << 20, src, err);
    if (!strcmp(key, "fdb_aging"))
        return set_u32(&n->fdb_aging, key, val, 0, 86400 * 365, src, err);
    return vn_conf_fail(err, src, "unknown network key '%s'", key);
}

int vn_conf_port_set(struct vn_port_conf *p, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!val)
        return vn_conf_fail(err, src, "port key '%s' is not a list of mappings", key);
    if (!strcmp(key, "name"))
        return set_name(p->name, val, src, "port", err);
    if (!strcmp(key, "type")) {
        for (unsigned i = 0; i < VN_ARRAY_LEN(type_names); i++)
            if (!strcmp(val, type_names[i])) {
                p->type = (enum vn_port_type)i;
                return 0;
            }
        return vn_conf_fail(err, src, "type: '%s' is not one of stream, dgram, tap", val);
    }
    if (!strcmp(key, "network"))
        return set_name(p->network, val, src, "network", err);
    if (!strcmp(key, "trunk")) {
        if (p->ntrunk >= VN_MAX_NETWORKS)
            return vn_conf_fail(err, src, "trunk: too many networks");
        for (unsigned i = 0; i < p->ntrunk; i++)
            if (!strcmp(p->trunk[i], val))
                return vn_conf_fail(err, src, "trunk: network '%s' listed twice", val);
        return set_name(p->trunk[p->ntrunk++], val, src, "network", err);
    }
    if (!strcmp(key, "native"))
        return set_name(p->native, val, src, "network", err);
    if (!strcmp(key, "path"))
        return set_str(p->path, sizeof p->path, key, val, src, err);
    if (!strcmp(key, "netns"))
        return set_str(p->netns, sizeof p->netns, key, val, src, err);
    if (!strcmp(key, "ifname")) {
        if (set_str(p->ifname, sizeof p->ifname, key, val, src, err))
            return -1;
        for (const char *s = val; *s; s++)
            if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
                return vn_conf_fail(err, src, "ifname: '%s' is not a valid interface name", val);
        return 0;
    }
    if (!strcmp(key, "mac")) {
        if (vn_mac_parse(val, p->mac))
            return vn_conf_fail(err, src, "mac: '%s' is not a MAC address like 52:54:00:12:34:56",
                                val);
        if (vn_mac_is_multicast(p->mac) || vn_mac_is_zero(p->mac))
            return vn_conf_fail(err, src, "mac: '%s' is not a unicast address", val);
        p->has_mac = true;
        return 0;
    }
    if (!strcmp(key, "mtu"))
        return set_u32(&p->mtu, key, val, VN_MIN_MTU, VN_MAX_MTU, src, err);
    return vn_conf_fail(err, src, "unknown port key '%s'", key);
}

int vn_conf_global_set(struct vn_config *c, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!val)
        return vn_conf_fail(err, src, "key '%s' is not a list", key);
    if (!strcmp(key, "control"))
        return set_str(c->control, sizeof c->control, key, val, src, err);
    if (!strcmp(key, "control_mode")) {
        char *end;
        unsigned long m = strtoul(val, &end, 8);
        if (!*val || *end || m > 0777)
            return vn_conf_fail(err, src, "control_mode: '%s' is not an octal mode like 0600", val);
        c->control_mode = (uint32_t)m;
        return 0;
    }
    if (!strcmp(key, "pid"))
        return set_str(c->pidfile, sizeof c->pidfile, key, val, src, err);
    if (!strcmp(key, "state_dir"))
        return set_str(c->state_dir, sizeof c->state_dir, key, val, src, err);
    if (!strcmp(key, "log")) {
        int l = vn_log_parse_level(val);
        if (l < 0)
            return vn_conf_fail(err, src, "log: '%s' is not one of error, warn, info, debug", val);
        c->log_level = l;
        return 0;
    }
    return vn_conf_fail(err, src, "unknown key '%s'", key);
}

struct vn_net_conf *vn_conf_find_net(struct vn_config *c, const char *name)
{
    int i = vn_conf_net_index(c, name);
    return i < 0 ? NULL : &c->nets[i];
}

int vn_conf_net_index(const struct vn_config *c, const char *name)
{
    for (unsigned i = 0; i < c->nnets; i++)
        if (!strcmp(c->nets[i].name, name))
            return (int)i;
    return -1;
}

/* Directory for sockets when the config does not say: /run/vnet for root,
 * $XDG_RUNTIME_DIR/vnet or /tmp/vnet-UID otherwise. */
static void runtime_dir(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        snprintf(buf, n, "/run/vnet");
    else if (xdg && *xdg)
        snprintf(buf, n, "%s/vnet", xdg);
    else
        snprintf(buf, n, "/tmp/vnet-%u", (unsigned)geteuid());
}

static int validate_port(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    char rd[200];
    if (!p->name[0])
        return vn_conf_fail(err, p->src, "port without a 'name'");
    if (p->type == VN_PORT__COUNT)
        return vn_conf_fail(err, p->src, "port '%s': missing 'type' (stream, dgram or tap)",
                            p->name);
    if (p->network[0] && p->ntrunk)
        return vn_conf_fail(err, p->src,
                            "port '%s': give either 'network' (access port) or 'trunk', not both",
                            p->name);
    if (!p->network[0] && !p->ntrunk)
        return vn_conf_fail(err, p->src, "port '%s': missing 'network' (or 'trunk')", p->name);
    if (p->network[0] && vn_conf_net_index(c, p->network) < 0)
        return vn_conf_fail(err, p->src, "port '%s': network '%s' is not defined", p->name,
                            p->network);
    for (unsigned i = 0; i < p->ntrunk; i++)
        if (vn_conf_net_index(c, p->trunk[i]) < 0)
            return vn_conf_fail(err, p->src, "port '%s': trunk network '%s' is not defined",
                                p->name, p->trunk[i]);
    if (p->native[0]) {
        if (!p->ntrunk)
            return vn_conf_fail(err, p->src, "port '%s': 'native' only applies to a trunk port",
                                p->name);
        bool found = false;
        for (unsigned i = 0; i < p->ntrunk; i++)
            found |= !strcmp(p->trunk[i], p->native);
        if (!found)
            return vn_conf_fail(err, p->src,
                                "port '%s': native network '%s' is not in its trunk list",
                                p->name, p->native);
    }
    /* Every tagged network of a trunk needs a VLAN id. */
    for (unsigned i = 0; i < p->ntrunk; i++) {
        const struct vn_net_conf *n = vn_conf_find_net(c, p->trunk[i]);
        if (strcmp(p->trunk[i], p->native) && !n->vlan)
            return vn_conf_fail(err, p->src,
                                "port '%s': trunk network '%s' has no 'vlan' id to tag it with "
                                "(give it one, or make it the port's 'native' network)",
                                p->name, p->trunk[i]);
    }
    switch (p->type) {
    case VN_PORT_STREAM:
    case VN_PORT_DGRAM:
        if (p->netns[0] || p->ifname[0] || p->has_mac)
            return vn_conf_fail(err, p->src,
                                "port '%s': netns, ifname and mac apply to tap ports only",
                                p->name);
        if (!p->path[0]) {
            runtime_dir(rd, sizeof rd);
            if ((size_t)snprintf(p->path, sizeof p->path, "%s/%s.sock", rd, p->name) >=
                sizeof p->path)
                return vn_conf_fail(err, p->src, "port '%s': default socket path too long",
                                    p->name);
        }
        break;
    case VN_PORT_TAP:
        if (p->path[0])
            return vn_conf_fail(err, p->src, "port '%s': 'path' applies to stream and dgram ports",
                                p->name);
        if (!p->ifname[0])
            vn_strlcpy(p->ifname, p->name, sizeof p->ifname);
        if (p->netns[0]) {
            struct stat st;
            if (stat(p->netns, &st) < 0)
                return vn_conf_fail(err, p->src, "port '%s': netns '%s' does not exist", p->name,
                                    p->netns);
        }
        break;
    case VN_PORT__COUNT:
        break;
    }
    return 0;
}

int vn_conf_validate(struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (!n->name[0])
            return vn_conf_fail(err, n->src, "network without a 'name'");
        for (unsigned j = 0; j < i; j++) {
            if (!strcmp(c->nets[j].name, n->name))
                return vn_conf_fail(err, n->src, "network '%s' is defined twice", n->name);
            if (n->vlan && c->nets[j].vlan == n->vlan)
                return vn_conf_fail(err, n->src, "network '%s': vlan %u is already used by '%s'",
                                    n->name, n->vlan, c->nets[j].name);
        }
        if (n->mode != VN_MODE_ISOLATED)
            return vn_conf_fail(err, n->src,
                                "network '%s': mode '%s' is not available yet; this build "
                                "switches frames only (mode: isolated)",
                                n->name, vn_net_mode_name(n->mode));
    }
    for (unsigned i = 0; i < c->nports; i++) {
        struct vn_port_conf *p = &c->ports[i];
        if (validate_port(c, p, err))
            return -1;
        for (unsigned j = 0; j < i; j++) {
            struct vn_port_conf *q = &c->ports[j];
            if (!strcmp(q->name, p->name))
                return vn_conf_fail(err, p->src, "port '%s' is defined twice", p->name);
            if (p->path[0] && !strcmp(q->path, p->path))
                return vn_conf_fail(err, p->src, "port '%s': path '%s' is already used by '%s'",
                                    p->name, p->path, q->name);
            if (p->type == VN_PORT_TAP && q->type == VN_PORT_TAP &&
                !strcmp(p->ifname, q->ifname) && !strcmp(p->netns, q->netns))
                return vn_conf_fail(err, p->src,
                                    "port '%s': interface '%s' is already created by '%s'",
                                    p->name, p->ifname, q->name);
        }
    }
    if (!c->control[0]) {
        char rd[200];
        runtime_dir(rd, sizeof rd);
        if ((size_t)snprintf(c->control, sizeof c->control, "%.*s/vnetd.sock", 96, rd) >=
            sizeof c->control)
            return vn_conf_fail(err, (struct vn_conf_src){ c->source, 0 },
                                "default control socket path too long; set 'control'");
    }
    return 0;
}

int vn_conf_apply_defaults(struct vn_config *c, struct vn_conf_err *err)
{
    struct vn_conf_src src = { 0 };
    struct vn_net_conf *n = vn_conf_add_net(c, src, err);
    if (!n)
        return -1;
    vn_strlcpy(n->name, "default", sizeof n->name);
    n->mode = VN_MODE_ISOLATED;
    struct vn_port_conf *p = vn_conf_add_port(c, src, err);
    if (!p)
        return -1;
    vn_strlcpy(p->name, "vm", sizeof p->name);
    p->type = VN_PORT_STREAM;
    vn_strlcpy(p->network, "default", sizeof p->network);
    return 0;
}
