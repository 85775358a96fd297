/* vpn.wg_interface (see vpn_wg.h). */
#include "vpn_wg.h"
#include "vpn.h"

#include <string.h>

int vn_conf_vpn_p_wg_interface(const struct vn_conf_key *k, void *item, void *dst,
                               const char *key, const char *val, struct vn_conf_src src,
                               struct vn_conf_err *err)
{
    struct vn_net_conf *n = item;
    size_t len = strlen(val);
    bool ok = len >= 1 && len < VN_WG_IFNAME_MAX;
    for (size_t i = 0; ok && i < len; i++) {
        char c = val[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_' || c == '=' || c == '+' || c == '.' || c == '-';
    }
    if (!ok || !strcmp(val, ".") || !strcmp(val, ".."))
        return vn_conf_fail(err, src, "%s: '%s' is not a WireGuard interface name (1 to %u of "
                                      "A-Z a-z 0-9 _ = + . -, as `wg` takes it)",
                            key, val, VN_WG_IFNAME_MAX - 1);
    vn_conf_vpn_p_mark(k, item, dst, key, val, src, err);
    memcpy(dst, val, len + 1);
    n->vpn.wg_src = src;
    return 0;
}

int vn_conf_validate_wg_interfaces(const struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++) {
        const struct vn_vpn_conf *v = &c->nets[i].vpn;
        if (!v->enabled || !v->wg_interface[0])
            continue;
        for (unsigned j = 0; j < i; j++)
            if (c->nets[j].vpn.enabled && !strcmp(c->nets[j].vpn.wg_interface, v->wg_interface))
                return vn_conf_fail(err, v->wg_src, "network '%s': vpn.wg_interface '%s' is "
                                                    "network '%s''s already", c->nets[i].name,
                                    v->wg_interface, c->nets[j].name);
    }
    return 0;
}
