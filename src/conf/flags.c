/* Command-line network and port specs: "--network NAME,key=value,..." and
 * "--port NAME,key=value,...". They go through the same setters as the YAML
 * loader; list values (trunk) are separated by '+'. */
#include "config.h"
#include "flags.h"
#include "core/util.h"

#include <string.h>

static const struct vn_conf_src CMDLINE = { NULL, 0 };

/* Split spec on ',' and feed "key=value" pairs to set(); a first element
 * without '=' is the name. Returns 0 or -1 with err. */
static int apply_spec(const char *spec, void *item, int is_port, struct vn_conf_err *err)
{
    char buf[1024];
    if (vn_strlcpy(buf, spec, sizeof buf) >= sizeof buf)
        return vn_conf_fail(err, CMDLINE, "'%.40s...': too long (at most %zu bytes)", spec, sizeof buf - 1);
    char *save = NULL;
    int first = 1;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
        char *eq = strchr(tok, '=');
        const char *key = "name", *val = tok;
        if (eq) {
            *eq = 0;
            key = tok;
            val = eq + 1;
        } else if (!first) {
            return vn_conf_fail(err, CMDLINE, "'%s': expected key=value, got '%s'", spec, tok);
        }
        if (is_port && !strcmp(key, "trunk")) {
            char *s2 = NULL;
            for (char *t = strtok_r((char *)val, "+", &s2); t; t = strtok_r(NULL, "+", &s2))
                if (vn_conf_port_set(item, key, t, CMDLINE, err))
                    return -1;
            continue;
        }
        int rc = is_port ? vn_conf_port_set(item, key, val, CMDLINE, err)
                         : vn_conf_net_set(item, key, val, CMDLINE, err);
        if (rc)
            return -1;
    }
    return 0;
}

int vn_conf_flag_network(struct vn_config *c, const char *spec, struct vn_conf_err *err)
{
    struct vn_net_conf *n = vn_conf_add_net(c, CMDLINE, err);
    return n ? apply_spec(spec, n, 0, err) : -1;
}

int vn_conf_flag_port(struct vn_config *c, const char *spec, struct vn_conf_err *err)
{
    struct vn_port_conf *p = vn_conf_add_port(c, CMDLINE, err);
    return p ? apply_spec(spec, p, 1, err) : -1;
}
