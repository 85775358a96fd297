/* --print-config: the effective model as YAML that the loader reads back,
 * printed by walking the schema (schema.h): every row that holds a value
 * (or is marked to print always, or applies to the item: gateway keys only
 * with gateway services, nat.* only on nat networks), nested dotted keys as
 * block mappings, lists of values in flow style, the entries of lists of
 * mappings as one flow mapping each (networks, ports and mirrors in block
 * style). */
#include "config.h"
#include "schema.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <string.h>

void vn_conf_print_qstr(FILE *o, const char *s)
{
    fputc('"', o);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(o, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(o, "\\x%02x", ch);
        else
            fputc(ch, o);
    }
    fputc('"', o);
}

struct out {
    FILE *o;
    int dash; /* column of a "- " the next line starts with, or -1 */
};

static void line_start(struct out *w, int indent)
{
    if (w->dash >= 0) {
        fprintf(w->o, "%*s- ", w->dash, "");
        w->dash = -1;
    } else {
        fprintf(w->o, "%*s", indent, "");
    }
}

#define CAT(item, off) ((const void *)((const char *)(item) + (off)))

static void print_value(const struct vn_conf_key *k, const void *item, const void *v, FILE *o)
{
    char buf[64];
    switch (k->type) {
    case VN_CT_BOOL:
        fputs(*(const bool *)v ? "true" : "false", o);
        break;
    case VN_CT_U32:
        fprintf(o, "%u", *(const uint32_t *)v);
        break;
    case VN_CT_U16:
        fprintf(o, "%u", *(const uint16_t *)v);
        break;
    case VN_CT_RATE:
        fprintf(o, "%llu", (unsigned long long)*(const uint64_t *)v);
        break;
    case VN_CT_STR:
    case VN_CT_IFNAME:
    case VN_CT_NAME:
        if (k->flags & VN_KF_QUOTE)
            vn_conf_print_qstr(o, v);
        else
            fputs(v, o);
        break;
    case VN_CT_IP4:
        fputs(vn_ip4_str(*(const uint32_t *)v, buf), o);
        break;
    case VN_CT_ADDR: {
        const struct vn_addr *a = v;
        char t[INET6_ADDRSTRLEN];
        inet_ntop(a->family, a->a, t, sizeof t);
        fprintf(o, "\"%s\"", t);
        break;
    }
    case VN_CT_MAC:
        fprintf(o, "\"%s\"", vn_mac_str(v, buf));
        break;
    case VN_CT_SOCKADDR:
        fprintf(o, "\"%s\"", vn_sockaddr_str(v, buf, sizeof buf));
        break;
    case VN_CT_ENUM: {
        int val = k->size == sizeof(bool) ? *(const bool *)v : *(const int *)v;
        const char *name = "?";
        for (unsigned i = 0; i < k->nnames; i++)
            if (k->names[i].value == val)
                name = k->names[i].name;
        fputs(name, o);
        break;
    }
    case VN_CT_OCTAL:
        fprintf(o, "\"%04o\"", *(const uint32_t *)v);
        break;
    case VN_CT_CUSTOM:
        if (k->print)
            k->print(k, item, v, o);
        break;
    }
}

/* Whether row k of an item is printed; ctx: the VN_KF_GW/NAT that hold. */
static bool shown(const struct vn_conf_key *k, const void *item, unsigned ctx)
{
    if (k->alias || (k->flags & VN_KF_NOPRINT))
        return false;
    if ((k->flags & (VN_KF_GW | VN_KF_NAT)) & ~ctx)
        return false;
    if (k->show && !k->show(item))
        return false;
    return (k->flags & VN_KF_ALWAYS) || vn_conf_key_is_set(k, item);
}

static void print_item(struct out *w, const struct vn_conf_table *t, const void *item,
                       int indent);

/* One entry of a list of mappings as a flow mapping. */
static void print_flow_entry(const struct vn_conf_key *k, const void *e, FILE *o)
{
    if (k->entries && k->entries->print_entry) {
        k->entries->print_entry(e, o);
        return;
    }
    const char *sep = "{ ";
    for (unsigned i = 0; i < k->sub->nkeys; i++) {
        const struct vn_conf_key *f = &k->sub->keys[i];
        if (!shown(f, e, 0))
            continue;
        fprintf(o, "%s%s: ", sep, f->name);
        print_value(f, e, CAT(e, f->off), o);
        sep = ", ";
    }
    fputs(*sep == '{' ? "{}" : " }", o);
}

static void print_row(struct out *w, const struct vn_conf_key *k, const void *item, int indent,
                      const char *leaf)
{
    FILE *o = w->o;
    line_start(w, indent);
    fprintf(o, "%s:", leaf);
    if (k->shape == VN_CS_SCALAR) {
        fputc(' ', o);
        print_value(k, item, CAT(item, k->off), o);
        fputc('\n', o);
    } else if (k->shape == VN_CS_LIST) {
        unsigned n = *(const unsigned *)CAT(item, k->count_off);
        fputs(" [", o);
        for (unsigned i = 0; i < n; i++) {
            fputs(i ? ", " : "", o);
            print_value(k, item, CAT(item, k->off + i * k->size), o);
        }
        fputs("]\n", o);
    } else {
        unsigned n = vn_conf_entry_count(k, item), visible = 0;
        for (unsigned i = 0; i < n; i++) {
            const void *e = vn_conf_entry_at(k, item, i);
            visible += !(k->entries && k->entries->hidden && k->entries->hidden(e));
        }
        fputs(visible ? "\n" : " []\n", o);
        for (unsigned i = 0; i < n; i++) {
            const void *e = vn_conf_entry_at(k, item, i);
            if (k->entries && k->entries->hidden && k->entries->hidden(e))
                continue;
            if (k->flags & VN_KF_BLOCK) {
                w->dash = indent + 2;
                print_item(w, k->sub, e, indent + 4);
            } else {
                fprintf(o, "%*s- ", indent + 2, "");
                print_flow_entry(k, e, o);
                fputc('\n', o);
            }
        }
    }
}

#define MAX_DEPTH 4

/* Print the rows of item (table t, plus its item_keys) at indent; rows that
 * share a dotted prefix are consecutive in the table, so each prefix opens
 * one block mapping. */
static void print_item(struct out *w, const struct vn_conf_table *t, const void *item, int indent)
{
    unsigned ctx = t->context ? t->context(item) : 0;
    char open[MAX_DEPTH][64];
    unsigned nopen = 0, nextra = 0;
    const struct vn_conf_key *extra = t->item_keys ? t->item_keys(item, &nextra) : NULL;
    for (unsigned r = 0; r < t->nkeys + nextra; r++) {
        const struct vn_conf_key *k = r < t->nkeys ? &t->keys[r] : &extra[r - t->nkeys];
        if (!shown(k, item, ctx))
            continue;
        char name[128], *comp[MAX_DEPTH + 1];
        unsigned nc = 0;
        vn_strlcpy(name, k->name, sizeof name);
        for (char *s = name; nc <= MAX_DEPTH;) {
            comp[nc++] = s;
            if (!(s = strchr(s, '.')))
                break;
            *s++ = 0;
        }
        unsigned common = 0;
        while (common < nopen && common < nc - 1 && !strcmp(open[common], comp[common]))
            common++;
        nopen = common;
        for (; nopen < nc - 1; nopen++) {
            line_start(w, indent + 2 * (int)nopen);
            fprintf(w->o, "%s:\n", comp[nopen]);
            vn_strlcpy(open[nopen], comp[nopen], sizeof open[nopen]);
        }
        print_row(w, k, item, indent + 2 * (int)(nc - 1), comp[nc - 1]);
    }
}

void vn_conf_print(const struct vn_config *c, FILE *o)
{
    struct out w = { o, -1 };
    fprintf(o, "# effective vnetd configuration\n");
    print_item(&w, &vn_conf_global_table, c, 0);
}
