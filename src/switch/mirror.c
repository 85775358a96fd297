/* Port mirroring: see mirror.h. */
#include "mirror.h"
#include "core/util.h"
#include "pkt/eth.h"

#include <stdio.h>
#include <string.h>

static bool attach(struct vn_mirror **list, uint8_t *n, struct vn_mirror *m)
{
    if (*n >= VN_MIRROR_PER_PORT)
        return false;
    list[(*n)++] = m;
    return true;
}

static void detach(struct vn_mirror **list, uint8_t *n, struct vn_mirror *m)
{
    for (uint8_t i = 0; i < *n; i++)
        if (list[i] == m) {
            list[i] = list[--*n];
            return;
        }
}

struct vn_mirror *vn_mirror_find(struct vn_switch *sw, const char *name)
{
    for (int i = 0; i < VN_MIRROR_MAX; i++)
        if (sw->mirrors[i].in_use && !strcmp(sw->mirrors[i].name, name))
            return &sw->mirrors[i];
    return NULL;
}

void vn_mirror_del(struct vn_switch *sw, struct vn_mirror *m)
{
    if (!m->in_use)
        return;
    if (m->net >= 0) {
        struct vn_network *n = sw->nets[m->net];
        detach(n->mir, &n->nmir, m);
    }
    if (m->tun_net >= 0) {
        struct vn_network *n = sw->nets[m->tun_net];
        detach(n->tmir_in, &n->ntmir_in, m);
        detach(n->tmir_out, &n->ntmir_out, m);
    }
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!p)
            continue;
        detach(p->fwd->mir_in, &p->fwd->nmir_in, m);
        detach(p->fwd->mir_out, &p->fwd->nmir_out, m);
    }
    if (m->cap)
        m->cap_ops->release(m->cap);
    memset(m, 0, sizeof *m);
}

struct vn_mirror *vn_mirror_add(struct vn_switch *sw, const char *name, struct vn_port **from,
                                unsigned nfrom, int net, unsigned dir, struct vn_port *to,
                                struct vn_capture *cap, const struct vn_mirror_sink_ops *cap_ops,
                                char *err, size_t errlen)
{
    if (vn_mirror_find(sw, name)) {
        snprintf(err, errlen, "a mirror named '%s' exists", name);
        return NULL;
    }
    struct vn_mirror *m = NULL;
    for (int i = 0; i < VN_MIRROR_MAX && !m; i++)
        if (!sw->mirrors[i].in_use)
            m = &sw->mirrors[i];
    if (!m) {
        snprintf(err, errlen, "too many mirror and capture sessions (at most %d)", VN_MIRROR_MAX);
        return NULL;
    }
    for (unsigned i = 0; i < nfrom; i++)
        if (from[i] == to) {
            snprintf(err, errlen, "port '%s' cannot mirror to itself", to->conf.name);
            return NULL;
        }
    /* A session is served by one worker (docs/threading.md): the daemon
     * plans the mirrors of its file that way; a run-time one that would
     * join two workers is refused. */
    struct vn_swdp *dp = net >= 0 ? sw->nets[net]->dp : to ? to->fwd->dp : NULL;
    for (unsigned i = 0; i < nfrom; i++) {
        if (!dp)
            dp = from[i]->fwd->dp;
        if (from[i]->fwd->dp != dp || (to && to->fwd->dp != dp)) {
            snprintf(err, errlen,
                     "its sources and destination are served by different workers: a session "
                     "joining them must be in the configuration file (or run with workers: 1)");
            return NULL;
        }
    }
    m->in_use = true;
    vn_strlcpy(m->name, name, sizeof m->name);
    m->dir = dir;
    m->to = to;
    m->cap = cap;
    m->cap_ops = cap_ops;
    m->net = net;
    m->tun_net = -1;
    bool ok = true;
    if (net >= 0)
        ok = attach(sw->nets[net]->mir, &sw->nets[net]->nmir, m);
    for (unsigned i = 0; i < nfrom && ok; i++) {
        if (dir & VN_MIRROR_IN)
            ok = attach(from[i]->fwd->mir_in, &from[i]->fwd->nmir_in, m);
        if (ok && (dir & VN_MIRROR_OUT))
            ok = attach(from[i]->fwd->mir_out, &from[i]->fwd->nmir_out, m);
    }
    if (!ok) {
        m->cap = NULL; /* the caller still owns it on failure */
        vn_mirror_del(sw, m);
        snprintf(err, errlen, "a source is already in %d sessions", VN_MIRROR_PER_PORT);
        return NULL;
    }
    return m;
}

struct vn_mirror *vn_mirror_add_tunnel(struct vn_switch *sw, const char *name, int net,
                                       unsigned dir, struct vn_capture *cap,
                                       const struct vn_mirror_sink_ops *cap_ops, char *err,
                                       size_t errlen)
{
    struct vn_mirror *m = vn_mirror_add(sw, name, NULL, 0, -1, dir, NULL, cap, cap_ops, err,
                                        errlen);
    if (!m)
        return NULL;
    struct vn_network *n = sw->nets[net];
    m->tun_net = net;
    bool ok = true;
    if (dir & VN_MIRROR_IN)
        ok = attach(n->tmir_in, &n->ntmir_in, m);
    if (ok && (dir & VN_MIRROR_OUT))
        ok = attach(n->tmir_out, &n->ntmir_out, m);
    if (!ok) {
        m->cap = NULL; /* the caller still owns it on failure */
        vn_mirror_del(sw, m);
        snprintf(err, errlen, "the tunnel is already in %d sessions", VN_MIRROR_PER_PORT);
        return NULL;
    }
    return m;
}

void vn_mirror_tunnel(struct vn_network *n, unsigned dir, const uint8_t src[6],
                      const uint8_t dst[6], const uint8_t *ip, size_t len)
{
    static uint8_t buf[VN_ETH_HLEN + 65535]; /* one copy at a time (one thread) */
    if (!len || len > sizeof buf - VN_ETH_HLEN)
        return;
    memcpy(buf, dst, 6);
    memcpy(buf + 6, src, 6);
    vn_put_be16(buf + 12, ip[0] >> 4 == 6 ? VN_ETH_TYPE_IPV6 : VN_ETH_TYPE_IPV4);
    memcpy(buf + VN_ETH_HLEN, ip, len);
    struct vn_frame f = { .data = buf, .len = (uint32_t)(VN_ETH_HLEN + len), .net = n->id };
    struct vn_mirror **list = dir == VN_MIRROR_IN ? n->tmir_in : n->tmir_out;
    uint8_t cnt = dir == VN_MIRROR_IN ? n->ntmir_in : n->ntmir_out;
    for (uint8_t i = 0; i < cnt; i++)
        vn_mirror_frame(n->sw, list[i], &f);
}

void vn_mirror_forget_port(struct vn_switch *sw, struct vn_port *p)
{
    for (int i = 0; i < VN_MIRROR_MAX; i++) {
        struct vn_mirror *m = &sw->mirrors[i];
        if (m->in_use && m->to == p)
            vn_mirror_del(sw, m);
    }
    p->fwd->nmir_in = p->fwd->nmir_out = 0;
}

json_t *vn_mirror_list_json(struct vn_switch *sw)
{
    json_t *a = json_array();
    for (int i = 0; i < VN_MIRROR_MAX; i++) {
        struct vn_mirror *m = &sw->mirrors[i];
        if (!m->in_use)
            continue;
        static const char *const dn[] = { "", "in", "out", "both" };
        json_t *from = json_array();
        if (m->net >= 0)
            json_array_append_new(from, json_string(sw->nets[m->net]->conf.name));
        if (m->tun_net >= 0) {
            char t[VN_NAME_MAX + 8];
            snprintf(t, sizeof t, "vpn:%s", sw->nets[m->tun_net]->conf.name);
            json_array_append_new(from, json_string(t));
        }
        for (unsigned k = 0; k < sw->nports; k++) {
            struct vn_port *p = sw->ports[k];
            if (!p)
                continue;
            bool src = false;
            for (uint8_t j = 0; j < p->fwd->nmir_in; j++)
                src |= p->fwd->mir_in[j] == m;
            for (uint8_t j = 0; j < p->fwd->nmir_out; j++)
                src |= p->fwd->mir_out[j] == m;
            if (src)
                json_array_append_new(from, json_string(p->conf.name));
        }
        json_t *o = json_pack("{s:s,s:o,s:s,s:I,s:I}", "name", m->name, "from", from,
                              "direction", dn[m->dir], "frames", (json_int_t)m->frames, "bytes",
                              (json_int_t)m->bytes);
        if (m->to)
            json_object_set_new(o, "to", json_string(m->to->conf.name));
        if (m->cap)
            json_object_set_new(o, "capture", m->cap_ops->json(m->cap));
        json_array_append_new(a, o);
    }
    return a;
}
