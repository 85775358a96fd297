/* YAML loader (libfyaml): walks the document along the schema (schema.h).
 *
 * Mappings nested under an item are flattened into dotted keys
 * ("dhcp.range"); the row of a key says whether its value is a single value,
 * a list of values (each appended) or a list of mappings (each an entry of
 * its own table: dhcp.hosts, forwards, ACL rules, and at the top level
 * networks, ports and mirrors). Every error names the file and the line of
 * the offending node. */
#include "config.h"
#include "schema.h"
#include "core/util.h"

#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

struct yctx {
    struct vn_config *c;
    const char *file;
    struct vn_conf_err *err;
};

/* Line (1-based) where node starts, or 0 if unknown. */
static int node_line(struct fy_node *n)
{
    if (!n)
        return 0;
    if (fy_node_is_scalar(n)) {
        struct fy_token *t = fy_node_get_scalar_token(n);
        const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
        return m ? m->line + 1 : 0;
    }
    void *it = NULL;
    if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
        return p ? node_line(fy_node_pair_key(p)) : 0;
    }
    if (fy_node_is_sequence(n))
        return node_line(fy_node_sequence_iterate(n, &it));
    return 0;
}

static struct vn_conf_src src_of(struct yctx *y, struct fy_node *n)
{
    return (struct vn_conf_src){ .file = y->file, .line = node_line(n) };
}

/* Scalar text of n as a NUL-terminated string (into buf); NULL if not a scalar. */
static const char *scalar(struct fy_node *n, char *buf, size_t sz)
{
    if (!n || !fy_node_is_scalar(n))
        return NULL;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s)
        return NULL;
    if (len >= sz)
        len = sz - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    if (strlen(buf) != len) /* embedded NUL */
        return NULL;
    return buf;
}

/* Feed every key of mapping m to item, whose keys are table t. rel is the
 * prefix of nested mappings inside t ("dhcp."), disp the prefix that makes
 * the dotted key of messages ("forwards." inside a forward entry). What a
 * key's value may be (a single value, a list of values, a list of
 * mappings) is its row's shape in the schema. */
static int load_item(struct yctx *y, struct fy_node *m, const struct vn_conf_table *t,
                     void *item, const char *rel, const char *disp)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(m, &it))) {
        char kbuf[128], rkey[192], key[320], vbuf[1024];
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        const char *k = scalar(kn, kbuf, sizeof kbuf);
        if (!k)
            return vn_conf_fail(y->err, src_of(y, kn), "keys must be plain words");
        snprintf(rkey, sizeof rkey, "%s%s", rel, k);
        snprintf(key, sizeof key, "%s%s", disp, rkey);
        const struct vn_conf_key *row = vn_conf_key_find(t, rkey);
        if (!vn)
            return vn_conf_fail(y->err, src_of(y, kn), "%s: missing value", key);
        if (fy_node_is_scalar(vn)) {
            const char *v = scalar(vn, vbuf, sizeof vbuf);
            if (!v)
                return vn_conf_fail(y->err, src_of(y, vn), "%s: invalid value", key);
            if (vn_conf_table_set(t, item, rkey, key, v, src_of(y, vn), y->err))
                return -1;
        } else if (fy_node_is_mapping(vn)) {
            if (row && row->shape == VN_CS_MAPLIST)
                return vn_conf_fail(y->err, src_of(y, vn), "%s must be a list of mappings", key);
            if (row && row->shape == VN_CS_LIST)
                return vn_conf_fail(y->err, src_of(y, vn), "%s must be a list", key);
            char pre[200];
            snprintf(pre, sizeof pre, "%s.", rkey);
            if (load_item(y, vn, t, item, pre, disp))
                return -1;
        } else if (!row || row->shape == VN_CS_SCALAR) {
            /* a list where a single value (or an unknown key) is */
            if (vn_conf_table_set(t, item, rkey, key, NULL, src_of(y, kn), y->err))
                return -1;
        } else {
            void *sit = NULL;
            struct fy_node *e;
            while ((e = fy_node_sequence_iterate(vn, &sit))) {
                struct vn_conf_src es = src_of(y, e);
                if (!es.line) /* an empty mapping has no key to point at */
                    es = src_of(y, kn);
                if (row->shape == VN_CS_LIST) {
                    const char *v = scalar(e, vbuf, sizeof vbuf);
                    if (!v)
                        return vn_conf_fail(y->err, es, "%s: each list element must be a single value", key);
                    if (vn_conf_key_set(row, item, key, v, es, y->err))
                        return -1;
                    continue;
                }
                if (!fy_node_is_mapping(e))
                    return vn_conf_fail(y->err, es, "%s must be a list of mappings", key);
                char pre[340];
                snprintf(pre, sizeof pre, "%s.", key);
                void *entry = vn_conf_entry_add(row, item, es, y->err);
                if (!entry) {
                    /* the entry's own messages name it by its dotted key */
                    return -1;
                }
                if (load_item(y, e, row->sub, entry, "", pre))
                    return -1;
            }
        }
    }
    return 0;
}

/* networks, ports, mirrors: a list of mappings at the top level. */
static int load_list(struct yctx *y, struct fy_node *seq, const struct vn_conf_key *row)
{
    if (!fy_node_is_sequence(seq))
        return vn_conf_fail(y->err, src_of(y, seq), "'%s' must be a list", row->name);
    void *it = NULL;
    struct fy_node *e;
    while ((e = fy_node_sequence_iterate(seq, &it))) {
        if (!fy_node_is_mapping(e))
            return vn_conf_fail(y->err, src_of(y, e), "each entry of '%s' must be a mapping",
                                row->name);
        void *item = vn_conf_entry_add(row, y->c, src_of(y, e), y->err);
        if (!item || load_item(y, e, row->sub, item, "", ""))
            return -1;
    }
    return 0;
}

static int load_doc(struct yctx *y, struct fy_document *doc)
{
    struct fy_node *root = fy_document_root(doc);
    if (!root)
        return vn_conf_fail(y->err, (struct vn_conf_src){ y->file, 1 }, "the file is empty");
    if (!fy_node_is_mapping(root))
        return vn_conf_fail(y->err, src_of(y, root), "the top level must be a mapping");
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(root, &it))) {
        char kbuf[64], vbuf[512];
        struct fy_node *kn = fy_node_pair_key(p), *vn = fy_node_pair_value(p);
        const char *k = scalar(kn, kbuf, sizeof kbuf);
        if (!k)
            return vn_conf_fail(y->err, src_of(y, kn), "keys must be plain words");
        const struct vn_conf_key *row = vn_conf_key_find(&vn_conf_global_table, k);
        if (row && row->shape == VN_CS_MAPLIST) {
            if (!vn)
                continue;
            if (load_list(y, vn, row))
                return -1;
            continue;
        }
        if (vn && fy_node_is_mapping(vn)) { /* evpn: { port: ... }: dotted global keys */
            char pre[80];
            snprintf(pre, sizeof pre, "%s.", k);
            if (load_item(y, vn, &vn_conf_global_table, y->c, pre, ""))
                return -1;
            continue;
        }
        const char *v = scalar(vn, vbuf, sizeof vbuf);
        if (!v)
            return vn_conf_fail(y->err, src_of(y, vn ? vn : kn), "%s: expected a single value", k);
        if (vn_conf_global_set(y->c, k, v, src_of(y, vn), y->err))
            return -1;
    }
    return 0;
}

/* Line (1-based) of the first byte sequence that is not UTF-8, or 0 when
 * all of text is. (YAML is UTF-8, and libfyaml 0.7 can loop forever on some
 * invalid sequences, so they never reach it.) */
static int bad_utf8_line(const unsigned char *t, size_t len)
{
    int line = 1;
    for (size_t i = 0; i < len;) {
        unsigned char b = t[i];
        size_t n = b < 0x80 ? 1 : (b >= 0xc2 && b <= 0xdf) ? 2 : (b & 0xf0) == 0xe0 ? 3
                 : (b >= 0xf0 && b <= 0xf4) ? 4 : 0;
        if (!n || i + n > len)
            return line;
        for (size_t k = 1; k < n; k++)
            if ((t[i + k] & 0xc0) != 0x80)
                return line;
        if ((n == 3 && ((b == 0xe0 && t[i + 1] < 0xa0) || (b == 0xed && t[i + 1] >= 0xa0))) ||
            (n == 4 && ((b == 0xf0 && t[i + 1] < 0x90) || (b == 0xf4 && t[i + 1] >= 0x90))))
            return line; /* overlong, surrogate or beyond U+10FFFF */
        if (b == '\n')
            line++;
        i += n;
    }
    return 0;
}

/* Whether text holds anything but blanks, comments and document markers. */
static bool has_content(const char *t, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && t[e] != '\n')
            e++;
        size_t b = i;
        while (b < e && (t[b] == ' ' || t[b] == '\t' || t[b] == '\r'))
            b++;
        bool marker = e - b >= 3 && (!strncmp(t + b, "---", 3) || !strncmp(t + b, "...", 3));
        if (b < e && t[b] != '#' && !marker)
            return true;
        i = e + 1;
    }
    return false;
}

/* Parse text (len bytes, named name in errors) into c. */
static int parse_with_diag(struct vn_config *c, const char *name, const char *text, size_t len,
                           struct vn_conf_err *err)
{
    int bad = bad_utf8_line((const unsigned char *)text, len);
    if (bad)
        return vn_conf_fail(err, (struct vn_conf_src){ name, bad },
                            "not valid UTF-8 (YAML files are UTF-8 text)");
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    dcfg.level = FYET_ERROR;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag)
        return vn_conf_fail(err, (struct vn_conf_src){ name, 0 }, "out of memory");
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = { .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG, .diag = diag };
    struct fy_document *doc = fy_document_build_from_string(&pcfg, text, len);
    int rc;
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e)
            rc = vn_conf_fail(err, (struct vn_conf_src){ name, e->line }, /* 1-based */
                              "YAML syntax error: %s", e->msg);
        else if (!has_content(text, len))
            rc = vn_conf_fail(err, (struct vn_conf_src){ name, 0 },
                              "empty: no settings in the file (see docs/vnetd.conf.md)");
        else
            rc = vn_conf_fail(err, (struct vn_conf_src){ name, 0 }, "cannot parse the YAML");
    } else {
        struct yctx y = { .c = c, .file = name, .err = err };
        rc = load_doc(&y, doc);
        fy_document_destroy(doc);
    }
    fy_diag_destroy(diag);
    return rc;
}

#define VN_CONF_MAX_BYTES (4u << 20)

int vn_conf_load_yaml(struct vn_config *c, const char *path, struct vn_conf_err *err)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return vn_conf_fail(err, (struct vn_conf_src){ path, 0 }, "cannot open: %m");
    char *text = malloc(VN_CONF_MAX_BYTES + 1);
    size_t len = text ? fread(text, 1, VN_CONF_MAX_BYTES + 1, f) : 0;
    bool rerr = ferror(f);
    fclose(f);
    free(c->source);
    c->source = strdup(path);
    int rc;
    if (!text || !c->source)
        rc = vn_conf_fail(err, (struct vn_conf_src){ path, 0 }, "out of memory");
    else if (rerr)
        rc = vn_conf_fail(err, (struct vn_conf_src){ path, 0 }, "cannot read the file");
    else if (len > VN_CONF_MAX_BYTES)
        rc = vn_conf_fail(err, (struct vn_conf_src){ path, 0 }, "larger than %u MiB",
                          VN_CONF_MAX_BYTES >> 20);
    else
        rc = parse_with_diag(c, c->source, text, len, err);
    free(text);
    return rc;
}

int vn_conf_load_yaml_string(struct vn_config *c, const char *name, const char *text, size_t len,
                             struct vn_conf_err *err)
{
    return parse_with_diag(c, name, text, len, err);
}
