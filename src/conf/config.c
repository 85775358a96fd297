/* The configuration model's lifecycle (see config.h): making the model and
 * its items with their defaults (the defaults come from the schema's rows,
 * schema.c), freeing it, finding items, name tables, and the "FILE:LINE: "
 * error prefix every loader and check uses. Setting keys is schema.c,
 * parsing values values.c, checking the whole model validate.c. */
#include "config.h"
#include "schema.h"
#include "core/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const mode_names[] = { "nat", "host-only", "isolated", "bridge" };
_Static_assert(VN_ARRAY_LEN(mode_names) == VN_MODE__COUNT, "a network mode without a name");

const char *vn_net_mode_name(enum vn_net_mode m) { return mode_names[m]; }
const char *vn_port_type_name(int t)
{
    const struct vn_conf_port_type *pt = t >= 0 ? vn_conf_port_type_get((unsigned)t) : NULL;
    return pt ? pt->name : "?";
}

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
    c->control_gid = -1;
    vn_conf_table_defaults(&vn_conf_global_table, c); /* control_mode, conntrack_max, sandbox */
    return c;
}

void vn_conf_free(struct vn_config *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nnets; i++) {
        vn_acl_free(&c->nets[i].acl);
        vn_conf_vpn_free(&c->nets[i].vpn);
    }
    for (unsigned i = 0; i < c->nports; i++)
        vn_acl_free(&c->ports[i].acl);
    free(c->ports);
    free(c->source);
    free(c);
}

void vn_conf_vpn_free(struct vn_vpn_conf *v)
{
    if (v->peers) {
        explicit_bzero(v->peers, v->npeers * sizeof *v->peers);
        free(v->peers);
    }
    v->peers = NULL;
    v->npeers = 0;
    explicit_bzero(v->private_key, sizeof v->private_key);
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
    vn_conf_table_defaults(&vn_conf_net_table, n);
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
    p->type = VN_PORT_TYPE_UNSET; /* must be set */
    p->tap_fd = -1;
    p->sock_fd = -1;
    p->netns_fd = -1;
    vn_conf_table_defaults(&vn_conf_port_table, p);
    for (unsigned i = 0; i < vn_conf_port_type_count(); i++) {
        const struct vn_conf_port_type *t = vn_conf_port_type_get(i);
        vn_conf_keys_defaults(t->keys, t->nkeys, p);
    }
    return p;
}

struct vn_mirror_conf *vn_conf_add_mirror(struct vn_config *c, struct vn_conf_src src,
                                          struct vn_conf_err *err)
{
    if (c->nmirrors >= VN_MAX_CONF_MIRRORS) {
        vn_conf_fail(err, src, "too many mirrors (at most %d)", VN_MAX_CONF_MIRRORS);
        return NULL;
    }
    struct vn_mirror_conf *m = &c->mirrors[c->nmirrors++];
    memset(m, 0, sizeof *m);
    m->src = src;
    vn_conf_table_defaults(&vn_conf_mirror_table, m); /* direction: both */
    return m;
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

bool vn_net_has_gateway(const struct vn_net_conf *n)
{
    /* Bridge networks use the LAN's own DHCP server and router. */
    return n->mode == VN_MODE_NAT || n->mode == VN_MODE_HOST_ONLY ||
           (n->mode == VN_MODE_ISOLATED && n->prefix);
}

bool vn_net_has_nat_engine(const struct vn_net_conf *n)
{
    return vn_net_has_gateway(n) && (n->mode == VN_MODE_NAT || n->dns);
}
