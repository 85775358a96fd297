/* Command-line network and port specs: "--network NAME,key=value,..." and
 * "--port NAME,key=value,...". They go through the same schema as the YAML
 * loader (schema.h): a key whose row is a list takes its elements separated
 * by '+' (trunk=lan+mgmt); lists of mappings cannot be written here. */
#include "config.h"
#include "flags.h"
#include "schema.h"
#include "core/util.h"

#include <string.h>

static const struct vn_conf_src CMDLINE = { NULL, 0 };

/* Split spec on ',' and set each "key=value" in item (keys of table t); a
 * first element without '=' is the name. Returns 0 or -1 with err. */
static int apply_spec(const char *spec, const struct vn_conf_table *t, void *item,
                      struct vn_conf_err *err)
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
        const struct vn_conf_key *k = vn_conf_key_find(t, key);
        if (k && k->shape == VN_CS_LIST) {
            char *s2 = NULL;
            for (char *e = strtok_r((char *)val, "+", &s2); e; e = strtok_r(NULL, "+", &s2))
                if (vn_conf_key_set(k, item, key, e, CMDLINE, err))
                    return -1;
            continue;
        }
        if (vn_conf_table_set(t, item, key, key, val, CMDLINE, err))
            return -1;
    }
    return 0;
}

int vn_conf_flag_network(struct vn_config *c, const char *spec, struct vn_conf_err *err)
{
    struct vn_net_conf *n = vn_conf_add_net(c, CMDLINE, err);
    return n ? apply_spec(spec, &vn_conf_net_table, n, err) : -1;
}

int vn_conf_flag_port(struct vn_config *c, const char *spec, struct vn_conf_err *err)
{
    struct vn_port_conf *p = vn_conf_add_port(c, CMDLINE, err);
    return p ? apply_spec(spec, &vn_conf_port_table, p, err) : -1;
}
