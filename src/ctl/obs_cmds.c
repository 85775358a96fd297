/* Control commands for captures and mirror sessions. Captures are mirror
 * sessions named "capture-N" whose destination is a pcap file; finished ones
 * stay listed (with their result) until the next capture.start reaps them. */
#include "obs_cmds.h"
#include "core/util.h"
#include "obs/capture.h"
#include "switch/mirror.h"
#include "vpn/vpn.h"

#include <string.h>

static unsigned dir_of(const char *s)
{
    if (!s || !strcmp(s, "both"))
        return VN_MIRROR_BOTH;
    if (!strcmp(s, "in"))
        return VN_MIRROR_IN;
    if (!strcmp(s, "out"))
        return VN_MIRROR_OUT;
    return 0;
}

/* Drop finished capture sessions that were already reported at least once. */
static void reap(struct vn_switch *sw)
{
    for (int i = 0; i < VN_MIRROR_MAX; i++) {
        struct vn_mirror *m = &sw->mirrors[i];
        if (m->in_use && m->cap && !vn_capture_running(m->cap) && m->reported)
            vn_mirror_del(sw, m);
    }
}

static json_t *cmd_capture_start(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *target = json_string_value(json_object_get(req, "target"));
    const char *file = json_string_value(json_object_get(req, "file"));
    json_int_t count = json_integer_value(json_object_get(req, "count"));
    json_int_t dur = json_integer_value(json_object_get(req, "duration"));
    json_int_t snap = json_integer_value(json_object_get(req, "snaplen"));
    unsigned dir = dir_of(json_string_value(json_object_get(req, "direction")));
    bool by_fd = json_is_true(json_object_get(req, "fd"));
    if (!target || (!file && !by_fd) || count < 0 || dur < 0 || snap < 0 || snap > 262144 ||
        !dir) {
        snprintf(err, errlen, "need \"target\" (port or network) and \"fd\": true with a "
                              "passed descriptor (or \"file\"); count, duration, snaplen "
                              "(<= 262144) non-negative; direction in|out|both");
        return NULL;
    }
    if (!by_fd && !vn_ctl_caller()->privileged) {
        snprintf(err, errlen, "permission denied: only root may have the daemon create a capture "
                              "file; pass an open descriptor (vnetctl does)");
        return NULL;
    }
    if (!by_fd && file[0] != '/') {
        snprintf(err, errlen, "\"file\" must be an absolute path (the daemon creates it)");
        return NULL;
    }
    reap(sw);
    struct vn_port *p = vn_switch_find_port(sw, target);
    struct vn_network *n = p ? NULL : vn_switch_find_network(sw, target);
    struct vn_network *tun = NULL;
    if (!p && !n && !strncmp(target, "vpn:", 4)) {
        /* "vpn:NETWORK": the inner packets of the network's VPN tunnel */
        tun = vn_switch_find_network(sw, target + 4);
        if (!tun) {
            snprintf(err, errlen, "no network '%s' (capture vpn:NETWORK)", target + 4);
            return NULL;
        }
        if (!vn_vpn_of(tun->gw)) {
            snprintf(err, errlen, "network '%s' has no VPN (no vpn: block)", target + 4);
            return NULL;
        }
    } else if (!p && !n) {
        snprintf(err, errlen, "no port or network named '%s' (a VPN's tunnel: vpn:NETWORK)",
                 target);
        return NULL;
    }
    int fd = by_fd ? vn_ctl_take_fd() : vn_capture_create(file, err, errlen);
    if (fd < 0) {
        if (by_fd)
            snprintf(err, errlen, "\"fd\": true but no descriptor came with the request "
                                  "(send it with SCM_RIGHTS)");
        return NULL;
    }
    struct vn_capture *cap = vn_capture_open_fd(sw->loop, fd, file ? file : "(descriptor)",
                                                (uint32_t)snap, (uint64_t)count, (uint32_t)dur,
                                                err, errlen);
    if (!cap)
        return NULL;
    static unsigned seq;
    char name[VN_NAME_MAX];
    snprintf(name, sizeof name, "capture-%u", ++seq);
    struct vn_mirror *m =
        tun ? vn_mirror_add_tunnel(sw, name, tun->id, dir, cap, &vn_capture_sink_ops, err, errlen)
            : vn_mirror_add(sw, name, p ? &p : NULL, p ? 1 : 0, n ? n->id : -1, dir, NULL, cap,
                            &vn_capture_sink_ops, err, errlen);
    if (!m) {
        vn_capture_free(cap);
        return NULL;
    }
    return json_pack("{s:s}", "id", name);
}

static json_t *cmd_capture_stop(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *id = json_string_value(json_object_get(req, "id"));
    struct vn_mirror *m = id ? vn_mirror_find(sw, id) : NULL;
    if (!m || !m->cap) {
        snprintf(err, errlen, "no capture '%s'", id ? id : "");
        return NULL;
    }
    vn_capture_stop(m->cap, "stopped");
    json_t *r = vn_capture_json(m->cap);
    m->reported = true;
    return r;
}

static json_t *cmd_capture_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    (void)req, (void)err, (void)errlen;
    struct vn_switch *sw = ctx;
    json_t *all = vn_mirror_list_json(sw), *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
        if (json_object_get(e, "capture"))
            json_array_append(a, e);
    json_decref(all);
    for (int k = 0; k < VN_MIRROR_MAX; k++) {
        struct vn_mirror *m = &sw->mirrors[k];
        if (m->in_use && m->cap && !vn_capture_running(m->cap))
            m->reported = true;
    }
    return a;
}

static json_t *cmd_mirror_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *to = json_string_value(json_object_get(req, "to"));
    json_t *from = json_object_get(req, "from");
    unsigned dir = dir_of(json_string_value(json_object_get(req, "direction")));
    if (!name || !*name || strlen(name) >= VN_NAME_MAX || !to || !json_is_array(from) ||
        !json_array_size(from) || json_array_size(from) > 64 || !dir) {
        snprintf(err, errlen, "need \"name\", \"from\" (list of ports), \"to\" (a port), "
                              "\"direction\" in|out|both");
        return NULL;
    }
    if (!strncmp(name, "capture-", 8)) {
        snprintf(err, errlen, "names starting with 'capture-' are reserved");
        return NULL;
    }
    struct vn_port *dst = vn_switch_find_port(sw, to), *src[64];
    if (!dst) {
        snprintf(err, errlen, "no port named '%s'", to);
        return NULL;
    }
    size_t i;
    json_t *e;
    json_array_foreach(from, i, e) {
        const char *pn = json_string_value(e);
        if (!pn || !(src[i] = vn_switch_find_port(sw, pn))) {
            snprintf(err, errlen, "no port named '%s'", pn ? pn : "?");
            return NULL;
        }
    }
    if (!vn_mirror_add(sw, name, src, (unsigned)json_array_size(from), -1, dir, dst, NULL, NULL, err,
                       errlen))
        return NULL;
    return json_pack("{s:s}", "name", name);
}

static json_t *cmd_mirror_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    const char *name = json_string_value(json_object_get(req, "name"));
    struct vn_mirror *m = name ? vn_mirror_find(sw, name) : NULL;
    if (!m) {
        snprintf(err, errlen, "no mirror named '%s'", name ? name : "");
        return NULL;
    }
    vn_mirror_del(sw, m);
    return json_pack("{s:s}", "name", name);
}

static json_t *cmd_mirror_list(void *ctx, json_t *req, char *err, size_t errlen)
{
    (void)req, (void)err, (void)errlen;
    json_t *all = vn_mirror_list_json(ctx), *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(all, i, e)
        if (!json_object_get(e, "capture"))
            json_array_append(a, e);
    json_decref(all);
    return a;
}

void vn_obs_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "capture.start", cmd_capture_start, sw);
    vn_ctl_register(ctl, "capture.stop", cmd_capture_stop, sw);
    vn_ctl_register(ctl, "capture.list", cmd_capture_list, sw);
    vn_ctl_register(ctl, "mirror.add", cmd_mirror_add, sw);
    vn_ctl_register(ctl, "mirror.del", cmd_mirror_del, sw);
    vn_ctl_register(ctl, "mirror.list", cmd_mirror_list, sw);
}
