/* The config schema (see schema.h): the key tables of every scope, the
 * generic setter that parses a value by its row, lists and lists of
 * mappings, defaults, the port-type registry, and the setters other code
 * calls (vn_conf_net_set & co.), which are lookups in these tables. */
#include "schema.h"
#include "values.h"
#include "vpn.h"
#include "vpn_wg.h"
#include "core/log.h"
#include "core/util.h"
#include "pkt/nat64.h"

#include <grp.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define AT(item, off) ((void *)((char *)(item) + (off)))
#define CAT(item, off) ((const void *)((const char *)(item) + (off)))
#define FSIZE(S, m) sizeof(((S *)0)->m)
/* A scalar field of struct S. */
#define FIELD(S, m) .off = offsetof(S, m), .size = FSIZE(S, m)
/* A list: array arr of S with its count n. */
#define LIST(S, arr, n)                                                                        \
    .shape = VN_CS_LIST, .off = offsetof(S, arr), .size = FSIZE(S, arr[0]),                    \
    .count_off = offsetof(S, n), .max = FSIZE(S, arr) / FSIZE(S, arr[0])
#define MAPLIST(S, arr, n, table)                                                              \
    .shape = VN_CS_MAPLIST, .off = offsetof(S, arr), .size = FSIZE(S, arr[0]),                 \
    .count_off = offsetof(S, n), .max = FSIZE(S, arr) / FSIZE(S, arr[0]), .sub = &(table)
#define ENUM(tab) .type = VN_CT_ENUM, .names = (tab), .nnames = VN_ARRAY_LEN(tab)
#define STRX(x) #x
#define STR(x) STRX(x)

/* ---- generic setter ------------------------------------------------------ */

/* "A or B", "A, B or C", "one of A, B, C, D" (the wording of the errors). */
static void names_list(char *buf, size_t n, const char *const *names, unsigned count)
{
    size_t w = (size_t)snprintf(buf, n, "%s", count > 3 ? "one of " : "");
    for (unsigned i = 0; i < count && w < n; i++)
        w += (size_t)snprintf(buf + w, n - w, "%s%s",
                              !i ? "" : (count <= 3 && i == count - 1) ? " or " : ", ", names[i]);
}

static int enum_fail(const struct vn_conf_key *k, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err)
{
    const char *nm[16];
    char list[256];
    unsigned n = VN_MIN(k->nnames, 16u);
    for (unsigned i = 0; i < n; i++)
        nm[i] = k->names[i].name;
    names_list(list, sizeof list, nm, n);
    return vn_conf_fail(err, src, "%s: '%s' is not %s", key, val, list);
}

/* Parse val into dst by k's type (no presence flag, no list bookkeeping). */
static int set_value(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    switch (k->type) {
    case VN_CT_BOOL:
        return vn_val_bool(dst, key, val, src, err);
    case VN_CT_U32:
        return vn_val_u32(dst, key, val, k->lo, k->hi, src, err);
    case VN_CT_U16: {
        uint32_t v;
        if (vn_val_u32(&v, key, val, k->lo, k->hi, src, err))
            return -1;
        *(uint16_t *)dst = (uint16_t)v;
        return 0;
    }
    case VN_CT_RATE:
        if (vn_parse_rate(val, dst))
            return vn_conf_fail(err, src, k->bad, key, val);
        return 0;
    case VN_CT_STR:
        return vn_val_str(dst, k->size, key, val, src, err);
    case VN_CT_IFNAME:
        if (vn_val_str(dst, k->size, key, val, src, err))
            return -1;
        if (!vn_val_ifname_ok(val))
            return vn_conf_fail(err, src, k->bad, key, val);
        return 0;
    case VN_CT_NAME:
        return vn_val_name(dst, val, src, k->what, err);
    case VN_CT_IP4:
        return vn_val_ip4(dst, key, val, src, err);
    case VN_CT_ADDR:
        return vn_val_addr(dst, key, val, src, err);
    case VN_CT_MAC: {
        uint8_t *m = dst;
        if (vn_mac_parse(val, m) || vn_mac_is_multicast(m) || vn_mac_is_zero(m))
            return vn_conf_fail(err, src, k->bad, key, val);
        return 0;
    }
    case VN_CT_SOCKADDR:
        if (vn_sockaddr_parse(val, k->defport, dst))
            return vn_conf_fail(err, src, k->bad, key, val);
        return 0;
    case VN_CT_ENUM:
        for (unsigned i = 0; i < k->nnames; i++)
            if (!strcmp(val, k->names[i].name)) {
                if (k->size == sizeof(bool))
                    *(bool *)dst = k->names[i].value != 0;
                else
                    *(int *)dst = k->names[i].value;
                return 0;
            }
        return enum_fail(k, key, val, src, err);
    case VN_CT_OCTAL: {
        char *end;
        unsigned long m = strtoul(val, &end, 8);
        if (!*val || *end || m > 0777)
            return vn_conf_fail(err, src, "%s: '%s' is not an octal mode like 0600", key, val);
        *(uint32_t *)dst = (uint32_t)m;
        return 0;
    }
    case VN_CT_CUSTOM:
        return k->parse(k, item, dst, key, val, src, err);
    }
    return -1;
}

int vn_conf_key_set(const struct vn_conf_key *k, void *item, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err)
{
    void *dst = AT(item, k->off);
    unsigned *count = NULL;
    if (k->shape == VN_CS_MAPLIST)
        return vn_conf_fail(err, src, "%s must be a list of mappings", key);
    if (k->shape == VN_CS_LIST) {
        count = AT(item, k->count_off);
        if (*count >= k->max)
            return vn_conf_fail(err, src, k->full ? k->full : "%s: at most %u entries", key,
                                k->max);
        dst = AT(dst, *count * k->size);
    }
    if (set_value(k, item, dst, key, val, src, err))
        return -1;
    /* a check (or side effect) after the type's own parse */
    if (k->type != VN_CT_CUSTOM && k->parse && k->parse(k, item, dst, key, val, src, err))
        return -1;
    if (count)
        (*count)++;
    if (k->set_off)
        *(bool *)AT(item, k->set_off) = true;
    return 0;
}

const struct vn_conf_key *vn_conf_key_find(const struct vn_conf_table *t, const char *key)
{
    for (unsigned i = 0; i < t->nkeys; i++)
        if (!strcmp(t->keys[i].name, key)) {
            if (t->keys[i].alias)
                return vn_conf_key_find(t, t->keys[i].alias);
            return &t->keys[i];
        }
    return t->more ? t->more(key) : NULL;
}

int vn_conf_table_set(const struct vn_conf_table *t, void *item, const char *rel,
                      const char *key, const char *val, struct vn_conf_src src,
                      struct vn_conf_err *err)
{
    const struct vn_conf_key *k = vn_conf_key_find(t, rel);
    if (!k) {
        /* "forwards.proto": a field of a list of mappings, given alone */
        for (unsigned i = 0; i < t->nkeys; i++) {
            size_t l = strlen(t->keys[i].name);
            if (t->keys[i].shape == VN_CS_MAPLIST && !strncmp(rel, t->keys[i].name, l) &&
                rel[l] == '.')
                return vn_conf_fail(err, src, "%.*s must be a list of mappings",
                                    (int)(strlen(key) - strlen(rel) + l), key);
        }
        if (t->fallback)
            return t->fallback(item, rel, key, val, src, err);
        return vn_conf_fail(err, src, t->unknown, rel); /* the key within its entry */
    }
    if (!val)
        return vn_conf_fail(err, src, "%s: expected a single value", key);
    if (strcmp(k->name, rel) && rel == key) /* an alias: messages name the key it stands for */
        key = k->name;
    return vn_conf_key_set(k, item, key, val, src, err);
}

void *vn_conf_entry_add(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                        struct vn_conf_err *err)
{
    if (k->entries)
        return k->entries->add(k, item, src, err);
    unsigned *count = AT(item, k->count_off);
    if (*count >= k->max) {
        vn_conf_fail(err, src, k->full ? k->full : "%s: at most %u entries", k->name, k->max);
        return NULL;
    }
    void *e = AT(item, k->off + *count * k->size);
    (*count)++;
    memset(e, 0, k->size);
    *(struct vn_conf_src *)e = src; /* every entry struct starts with its source */
    vn_conf_table_defaults(k->sub, e);
    return e;
}

unsigned vn_conf_entry_count(const struct vn_conf_key *k, const void *item)
{
    if (k->entries)
        return k->entries->count(k, item);
    return *(const unsigned *)CAT(item, k->count_off);
}

const void *vn_conf_entry_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    if (k->entries)
        return k->entries->at(k, item, i);
    return CAT(item, k->off + i * k->size);
}

bool vn_conf_key_is_set(const struct vn_conf_key *k, const void *item)
{
    if (k->set_off)
        return *(const bool *)CAT(item, k->set_off);
    if (k->shape == VN_CS_LIST)
        return *(const unsigned *)CAT(item, k->count_off) != 0;
    if (k->shape == VN_CS_MAPLIST)
        return vn_conf_entry_count(k, item) != 0;
    const unsigned char *p = CAT(item, k->off);
    for (size_t i = 0; i < k->size; i++)
        if (p[i])
            return true;
    return false;
}

void vn_conf_keys_defaults(const struct vn_conf_key *rows, unsigned n, void *item)
{
    struct vn_conf_err err;
    for (unsigned i = 0; i < n; i++)
        if (rows[i].def && rows[i].shape == VN_CS_SCALAR && !rows[i].alias)
            set_value(&rows[i], item, AT(item, rows[i].off), rows[i].name, rows[i].def,
                      (struct vn_conf_src){ "(default)", 0 }, &err);
}

void vn_conf_table_defaults(const struct vn_conf_table *t, void *item)
{
    vn_conf_keys_defaults(t->keys, t->nkeys, item);
}

/* ---- custom values -------------------------------------------------------- */

static void print_plain(const char *s, FILE *o)
{
    fputs(s, o);
}

static int p_control_group(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                           const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    struct vn_config *c = item;
    struct group *g = getgrnam(val);
    uint64_t gid;
    if (g)
        c->control_gid = g->gr_gid;
    else if (vn_parse_uint(val, 0, 0x7fffffff, &gid) == 0)
        c->control_gid = (int64_t)gid;
    else
        return vn_conf_fail(err, src, "%s: no group named '%s'", key, val);
    return vn_val_str(dst, k->size, key, val, src, err);
}

static int p_metrics(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)item;
    struct vn_sockaddr sa;
    char buf[160];
    snprintf(buf, sizeof buf, "%s%s", val[0] == ':' ? "[::]" : "", val);
    if (vn_sockaddr_parse(buf, 0, &sa) || !strchr(val, ':'))
        return vn_conf_fail(err, src, "%s: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9464)", key,
                            val);
    return vn_val_str(dst, k->size, key, val, src, err);
}

static void pr_string(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    vn_conf_print_qstr(o, dst);
}

/* evpn.port: a port name; where it was given is kept for validation's messages. */
static int p_evpn_port(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    ((struct vn_config *)item)->evpn.src = src;
    return vn_val_str(dst, k->size, key, val, src, err);
}

static bool show_evpn(const void *item)
{
    return ((const struct vn_config *)item)->evpn.port[0] != 0;
}

static const char *const log_names[] = { "error", "warn", "info", "debug" };

static int p_log(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                 const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    int l = vn_log_parse_level(val);
    if (l < 0) {
        char list[80];
        names_list(list, sizeof list, log_names, VN_ARRAY_LEN(log_names));
        return vn_conf_fail(err, src, "%s: '%s' is not %s", key, val, list);
    }
    *(int *)dst = l;
    return 0;
}

static void pr_log(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    int l = *(const int *)dst;
    print_plain(log_names[l < 0 || l > 3 ? VN_LOG_INFO : l], o);
}

/* subnet: an IPv4 prefix, or "none" (an IPv6-only network: validation
 * checks that the mode allows it and that no IPv4 key is given). */
static int p_subnet(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                    const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    if (!strcmp(val, "none")) {
        n->ipv4_none = true;
        n->subnet = 0;
        n->prefix = 0;
        return 0;
    }
    n->ipv4_none = false;
    return vn_val_prefix(&n->subnet, &n->prefix, key, val, src, err);
}

static void pr_subnet(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)dst;
    const struct vn_net_conf *n = item;
    char a[16];
    if (n->ipv4_none)
        fputs("none", o);
    else
        fprintf(o, "%s/%u", vn_ip4_str(n->subnet, a), n->prefix);
}

/* The IPv4 keys print only where the network has IPv4 (not subnet: none). */
static bool show_ipv4(const void *item)
{
    return !((const struct vn_net_conf *)item)->ipv4_none;
}

/* nat64.prefix: an IPv6 prefix RFC 6052 allows; giving it turns nat64 on. */
static int p_nat64_prefix(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                          const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    char a[VN_ADDR_STRLEN];
    const char *slash = strchr(val, '/');
    uint64_t len;
    struct vn_addr x;
    if (!slash || (size_t)(slash - val) >= sizeof a || vn_parse_uint(slash + 1, 0, 128, &len))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 prefix like 64:ff9b::/96", key,
                            val);
    memcpy(a, val, (size_t)(slash - val));
    a[slash - val] = 0;
    if (vn_addr_parse(a, &x) || x.family != AF_INET6)
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 prefix like 64:ff9b::/96", key,
                            val);
    const char *why = vn_nat64_prefix_check(&x, (unsigned)len);
    if (why)
        return vn_conf_fail(err, src, "%s: '%s' %s", key, val, why);
    n->nat64_prefix = x;
    n->nat64_prefix_len = (uint8_t)len;
    n->nat64 = true;
    return 0;
}

static void pr_nat64_prefix(const struct vn_conf_key *k, const void *item, const void *dst,
                            FILE *o)
{
    (void)k, (void)dst;
    const struct vn_net_conf *n = item;
    char a[VN_ADDR_STRLEN];
    fprintf(o, "\"%s/%u\"", vn_addr_str(&n->nat64_prefix, a, sizeof a), n->nat64_prefix_len);
}

/* Whether nat64's prefix is the default (64:ff9b::/96, or not filled in yet). */
static bool nat64_default_prefix(const struct vn_net_conf *n)
{
    struct vn_addr wkp = vn_nat64_wkp();
    return !n->nat64_prefix.family ||
           (n->nat64_prefix_len == VN_NAT64_WKP_LEN && vn_addr_eq(&n->nat64_prefix, &wkp));
}

/* nat64 prints as a bool unless it is on with another prefix (then as
 * nat64: { prefix: ... }). */
static bool show_nat64_bool(const void *item)
{
    const struct vn_net_conf *n = item;
    return n->mode == VN_MODE_NAT && (!n->nat64 || nat64_default_prefix(n));
}

static bool show_nat64_prefix(const void *item)
{
    const struct vn_net_conf *n = item;
    return n->mode == VN_MODE_NAT && n->nat64 && !nat64_default_prefix(n);
}

/* subnet6: an IPv6 /64 with its host bits zero. */
static int p_subnet6(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    char a[VN_ADDR_STRLEN + 8];
    const char *slash = strchr(val, '/');
    if (!slash || (size_t)(slash - val) >= VN_ADDR_STRLEN || strcmp(slash, "/64"))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 /64 (PREFIX::/64)", key, val);
    memcpy(a, val, (size_t)(slash - val));
    a[slash - val] = 0;
    struct vn_addr x;
    if (vn_addr_parse(a, &x) || x.family != AF_INET6)
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 /64 (PREFIX::/64)", key, val);
    struct vn_addr m = vn_addr_masked(&x, 64);
    if (!vn_addr_eq(&m, &x))
        return vn_conf_fail(err, src, "%s: '%s' has host bits set (a /64 ends in ::)", key, val);
    n->subnet6 = x;
    return 0;
}

static void pr_subnet6(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)dst;
    const struct vn_net_conf *n = item;
    char a[VN_ADDR_STRLEN];
    fprintf(o, "\"%s/64\"", vn_addr_str(&n->subnet6, a, sizeof a));
}

static int p_dhcp_range(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                        const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    return vn_val_ip4_range(&n->dhcp_start, &n->dhcp_end, key, val, src, err);
}

static void pr_dhcp_range(const struct vn_conf_key *k, const void *item, const void *dst,
                          FILE *o)
{
    (void)k, (void)dst;
    const struct vn_net_conf *n = item;
    char a[16], b[16];
    fprintf(o, "%s-%s", vn_ip4_str(n->dhcp_start, a), vn_ip4_str(n->dhcp_end, b));
}

/* dhcp6.range: "FIRST-LAST", two IPv6 addresses in order (inside subnet6:
 * checked by validation, which knows the prefix). */
static int p_dhcp6_range(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                         const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    return vn_val_ip6_range(&n->dhcp6_start, &n->dhcp6_end, key, val, src, err);
}

static void pr_dhcp6_range(const struct vn_conf_key *k, const void *item, const void *dst,
                           FILE *o)
{
    (void)k, (void)dst;
    const struct vn_net_conf *n = item;
    char a[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN];
    fprintf(o, "\"%s-%s\"", vn_addr_str(&n->dhcp6_start, a, sizeof a),
            vn_addr_str(&n->dhcp6_end, b, sizeof b));
}

/* gateway6, dns.address6, dhcp6.hosts ip: an IPv6 address (after the
 * address parse, which takes both families). */
static int chk_ip6(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                   const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    if (((const struct vn_addr *)dst)->family != AF_INET6)
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 address", key, val);
    return 0;
}

static int p_domain(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                    const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)item;
    if (!vn_val_dns_name_ok(val) || strlen(val) >= k->size)
        return vn_conf_fail(err, src, "%s: '%s' is not a valid domain name", key, val);
    vn_strlcpy(dst, val, k->size);
    return 0;
}

static void pr_text(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    print_plain(dst, o);
}

/* map_host_loopback.ports: an allow-list element, PORT or LOW-HIGH. */
static int p_loopback_port(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                           const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k;
    if (vn_val_port_range(dst, key, val, src, err))
        return -1;
    ((struct vn_net_conf *)item)->map_host_loopback = true;
    return 0;
}

static void pr_loopback_port(const struct vn_conf_key *k, const void *item, const void *dst,
                             FILE *o)
{
    (void)k, (void)item;
    const uint16_t *r = dst;
    if (r[0] == r[1])
        fprintf(o, "%u", r[0]);
    else
        fprintf(o, "\"%u-%u\"", r[0], r[1]);
}

/* forward=PROTO:HOSTPORT[:GUESTIP]:GUESTPORT (the command-line form). */
static int p_forward_spec(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                          const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst, (void)key;
    struct vn_net_conf *n = item;
    if (n->nforwards >= VN_MAX_FORWARDS)
        return vn_conf_fail(err, src, "forwards: at most %d entries", VN_MAX_FORWARDS);
    return vn_conf_parse_forward(val, &n->forwards[n->nforwards++], src, err);
}

/* Whether map_host_loopback prints as a bool: nat without an allow-list. */
static bool show_loopback_bool(const void *item)
{
    const struct vn_net_conf *n = item;
    return n->mode == VN_MODE_NAT && !n->nloopback_ports;
}

static bool show_loopback_ports(const void *item)
{
    const struct vn_net_conf *n = item;
    return n->mode == VN_MODE_NAT;
}

static unsigned net_context(const void *item)
{
    const struct vn_net_conf *n = item;
    return (vn_net_has_gateway(n) ? VN_KF_GW : 0) | (n->mode == VN_MODE_NAT ? VN_KF_NAT : 0);
}

/* ---- forward and dhcp host entries ---------------------------------------- */

static const struct vn_conf_enum proto_names[] = { { "tcp", IPPROTO_TCP }, { "udp", IPPROTO_UDP } };

static int p_fwd_host(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                      const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    char buf[160];
    const char *v = val;
    if (!strchr(val, ':') || val[0] == ':') { /* "8080" or ":8080": loopback */
        snprintf(buf, sizeof buf, "127.0.0.1:%s", val[0] == ':' ? val + 1 : val);
        v = buf;
    }
    if (vn_sockaddr_parse(v, 0, dst))
        return vn_conf_fail(err, src, "%s: '%s' is not ADDR:PORT or PORT", key, val);
    return 0;
}

static void pr_sockaddr(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    char hs[64];
    fprintf(o, "\"%s\"", vn_sockaddr_str(dst, hs, sizeof hs));
}

static int p_fwd_guest(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_forward_conf *f = item;
    char ip[VN_ADDR_STRLEN];
    const char *c = strrchr(val, ':');
    uint64_t port;
    const char *ps = c ? c + 1 : val;
    if (vn_parse_uint(ps, 1, 65535, &port))
        return vn_conf_fail(err, src, "%s: '%s' is not [IP:]PORT", key, val);
    f->guest_port = (uint16_t)port;
    f->guest = (struct vn_addr){ 0 };
    if (c && val[0] == '[') { /* [V6ADDR]:PORT */
        if (c[-1] != ']' || (size_t)(c - val - 2) >= sizeof ip)
            return vn_conf_fail(err, src, "%s: '%s' is not [IP:]PORT or [IPV6]:PORT", key, val);
        memcpy(ip, val + 1, (size_t)(c - val - 2));
        ip[c - val - 2] = 0;
        if (vn_addr_parse(ip, &f->guest) || f->guest.family != AF_INET6)
            return vn_conf_fail(err, src, "%s: '%s' is not an IPv6 address", key, ip);
    } else if (c) {
        if ((size_t)(c - val) >= sizeof ip)
            return vn_conf_fail(err, src, "%s: '%s' is not [IP:]PORT", key, val);
        memcpy(ip, val, (size_t)(c - val));
        ip[c - val] = 0;
        uint32_t g4;
        if (vn_ip4_parse(ip, &g4))
            return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 address", key, ip);
        f->guest = vn_addr4(g4);
    }
    return 0;
}

static void pr_fwd_guest(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)dst;
    const struct vn_forward_conf *f = item;
    char a[VN_ADDR_STRLEN + 8];
    struct vn_sockaddr g = { f->guest, f->guest_port };
    fprintf(o, "\"%s\"", vn_sockaddr_str(&g, a, sizeof a));
}

static const struct vn_conf_key forward_keys[] = {
    { .name = "proto", ENUM(proto_names), FIELD(struct vn_forward_conf, proto),
      .flags = VN_KF_ALWAYS, .help = "protocol" },
    { .name = "host", .type = VN_CT_CUSTOM, FIELD(struct vn_forward_conf, host),
      .parse = p_fwd_host, .print = pr_sockaddr, .flags = VN_KF_ALWAYS,
      .doc_type = "`ADDR:PORT`", .help = "where vnetd listens on the host; a bare port means 127.0.0.1" },
    { .name = "guest", .type = VN_CT_CUSTOM, FIELD(struct vn_forward_conf, guest_port),
      .parse = p_fwd_guest, .print = pr_fwd_guest, .flags = VN_KF_ALWAYS,
      .doc_type = "`IP:PORT`", .help = "destination in the subnet (IP: the first DHCP address)" },
};

const struct vn_conf_table vn_conf_forward_table = {
    .scope = "forward", .keys = forward_keys, .nkeys = VN_ARRAY_LEN(forward_keys),
    .unknown = "unknown forward key '%s' (proto, host, guest)",
};

static int p_host_name(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)item;
    if (!vn_val_dns_name_ok(val) || strchr(val, '.') || strlen(val) >= k->size)
        return vn_conf_fail(err, src, "%s: '%s' is not a valid host name", key, val);
    vn_strlcpy(dst, val, k->size);
    return 0;
}

static const struct vn_conf_key dhcp_host_keys[] = {
    { .name = "mac", .type = VN_CT_MAC, FIELD(struct vn_dhcp_host, mac),
      .set_off = offsetof(struct vn_dhcp_host, has_mac),
      .bad = "%s: '%s' is not a unicast MAC address", .doc_type = "unicast MAC",
      .help = "the client" },
    { .name = "ip", .type = VN_CT_IP4, FIELD(struct vn_dhcp_host, ip), .doc_type = "IPv4",
      .help = "the address this MAC always gets" },
    { .name = "name", .type = VN_CT_CUSTOM, FIELD(struct vn_dhcp_host, name),
      .parse = p_host_name, .print = pr_text, .doc_type = "host name",
      .help = "DHCP option 12 and NAME.DOMAIN in DNS" },
};

const struct vn_conf_table vn_conf_dhcp_host_table = {
    .scope = "dhcp host", .keys = dhcp_host_keys, .nkeys = VN_ARRAY_LEN(dhcp_host_keys),
    .unknown = "unknown dhcp host key '%s' (mac, ip, name)",
};

/* dhcp6.hosts duid: hex bytes with colons into the entry's duid/duid_len. */
static int p_duid(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                  const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_dhcp6_host *h = item;
    return vn_val_duid(h->duid, &h->duid_len, key, val, src, err);
}

static void pr_duid(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)dst;
    const struct vn_dhcp6_host *h = item;
    fputc('"', o);
    for (unsigned i = 0; i < h->duid_len; i++)
        fprintf(o, "%s%02x", i ? ":" : "", h->duid[i]);
    fputc('"', o);
}

static const struct vn_conf_key dhcp6_host_keys[] = {
    { .name = "mac", .type = VN_CT_MAC, FIELD(struct vn_dhcp6_host, mac),
      .set_off = offsetof(struct vn_dhcp6_host, has_mac),
      .bad = "%s: '%s' is not a unicast MAC address", .doc_type = "unicast MAC",
      .help = "the client, by the MAC in its DUID-LL/LLT or of its frames" },
    { .name = "duid", .type = VN_CT_CUSTOM, FIELD(struct vn_dhcp6_host, duid_len),
      .parse = p_duid, .print = pr_duid, .doc_type = "DUID",
      .help = "the client, by its DHCP unique identifier" },
    { .name = "ip", .type = VN_CT_ADDR, FIELD(struct vn_dhcp6_host, ip), .parse = chk_ip6,
      .doc_type = "IPv6", .help = "the address this client always gets" },
    { .name = "name", .type = VN_CT_CUSTOM, FIELD(struct vn_dhcp6_host, name),
      .parse = p_host_name, .print = pr_text, .doc_type = "host name",
      .help = "NAME.DOMAIN (AAAA, PTR) in DNS" },
};

const struct vn_conf_table vn_conf_dhcp6_host_table = {
    .scope = "dhcp6 host", .keys = dhcp6_host_keys, .nkeys = VN_ARRAY_LEN(dhcp6_host_keys),
    .unknown = "unknown dhcp6 host key '%s' (mac, duid, ip, name)",
};

/* ---- ACL rules (fields parsed by fw/acl.c) --------------------------------- */

static int acl_field(struct vn_acl_rule *r, const char *field, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err)
{
    char msg[200];
    if (!val)
        return vn_conf_fail(err, src, "acl rule field '%s' takes a value, not a list", field);
    if (vn_acl_rule_set(r, field, val, msg, sizeof msg))
        return vn_conf_fail(err, src, "acl: %s", msg);
    vn_acl_rule_format(r);
    return 0;
}

static int p_acl_field(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)dst, (void)key;
    return acl_field(item, k->name, val, src, err);
}

static int acl_fallback(void *item, const char *rel, const char *key, const char *val,
                        struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)key;
    return acl_field(item, rel, val, src, err);
}

#define ACL_FIELD(n, t, d, h)                                                                  \
    { .name = n, .type = VN_CT_CUSTOM, .parse = p_acl_field, .flags = VN_KF_NOPRINT,           \
      .doc_type = t, .def = d, .help = h }
static const struct vn_conf_key acl_rule_keys[] = {
    ACL_FIELD("action", "`allow`", "allow", "allow, drop or reject"),
    ACL_FIELD("direction", "`in`", "in", "for port rules: in = from the peer, out = to it"),
    ACL_FIELD("state", "`established`", "any", "connection-tracking state"),
    ACL_FIELD("src", "CIDR", NULL, "IPv4 or IPv6 source address or prefix"),
    ACL_FIELD("dst", "CIDR", NULL, "IPv4 or IPv6 destination address or prefix"),
    ACL_FIELD("proto", "`tcp`", NULL, "IP protocol (IPv6: after the extension headers)"),
    ACL_FIELD("sport", "`LOW-HIGH`", NULL, "TCP/UDP source port"),
    ACL_FIELD("dport", "`LOW-HIGH`", NULL, "TCP/UDP destination port"),
    ACL_FIELD("icmp_type", "0–255", NULL, "ICMP or ICMPv6 type"),
    ACL_FIELD("icmp_code", "0–255", NULL, "ICMP or ICMPv6 code"),
    ACL_FIELD("src_mac", "MAC", NULL, "Ethernet source"),
    ACL_FIELD("dst_mac", "MAC", NULL, "Ethernet destination"),
    ACL_FIELD("ethertype", "`ipv4`", NULL, "Ethernet type"),
};

const struct vn_conf_table vn_conf_acl_rule_table = {
    .scope = "acl rule", .keys = acl_rule_keys, .nkeys = VN_ARRAY_LEN(acl_rule_keys),
    .fallback = acl_fallback,
};

static void *acl_add(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                     struct vn_conf_err *err)
{
    struct vn_acl *a = AT(item, k->off);
    struct vn_acl_rule r;
    char msg[200];
    vn_acl_rule_init(&r);
    vn_acl_rule_format(&r); /* an empty rule still has a text: "allow" */
    if (vn_acl_insert(a, &r, -1, msg, sizeof msg)) {
        vn_conf_fail(err, src, "acl: %s", msg);
        return NULL;
    }
    return &a->rules[a->n - 1];
}

static unsigned acl_count(const struct vn_conf_key *k, const void *item)
{
    return ((const struct vn_acl *)CAT(item, k->off))->n;
}

static const void *acl_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    return &((const struct vn_acl *)CAT(item, k->off))->rules[i];
}

/* A rule as one flow mapping: "allow in k=v" -> "{ action: allow, direction: in, k: "v" }". */
static void acl_print(const void *entry, FILE *o)
{
    const struct vn_acl_rule *r = entry;
    char buf[sizeof r->text];
    snprintf(buf, sizeof buf, "%s", r->text);
    char *save = NULL, *t = strtok_r(buf, " ", &save);
    fprintf(o, "{ action: %s", t ? t : "allow");
    t = strtok_r(NULL, " ", &save);
    fprintf(o, ", direction: %s", t ? t : "in");
    while ((t = strtok_r(NULL, " ", &save))) {
        char *eq = strchr(t, '=');
        if (!eq)
            continue;
        *eq = 0;
        fprintf(o, ", %s: \"%s\"", t, eq + 1);
    }
    fprintf(o, " }");
}

static const struct vn_conf_entries acl_entries = {
    .add = acl_add, .count = acl_count, .at = acl_at, .print_entry = acl_print,
};

/* ---- networks ---------------------------------------------------------------- */

static const struct vn_conf_enum mode_enum[] = {
    { "nat", VN_MODE_NAT }, { "host-only", VN_MODE_HOST_ONLY },
    { "isolated", VN_MODE_ISOLATED }, { "bridge", VN_MODE_BRIDGE },
};
_Static_assert(VN_ARRAY_LEN(mode_enum) == VN_MODE__COUNT, "a network mode without a name");
static const struct vn_conf_enum acl_default_enum[] = { { "allow", 0 }, { "drop", 1 } };
static const struct vn_conf_enum dhcp6_mode_enum[] = {
    { "stateless", VN_DHCP6_STATELESS }, { "stateful", VN_DHCP6_STATEFUL }, { "off", VN_DHCP6_OFF } };

#define N(m) FIELD(struct vn_net_conf, m)
#define U32(lo_, hi_) .type = VN_CT_U32, .lo = (lo_), .hi = (hi_)
static const struct vn_conf_key net_keys[] = {
    { .name = "name", .type = VN_CT_NAME, N(name), .what = "network",
      .flags = VN_KF_ALWAYS | VN_KF_REQUIRED, .help = "unique network name" },
    { .name = "mode", ENUM(mode_enum), N(mode), .def = "nat", .flags = VN_KF_ALWAYS,
      .help = "what lies beyond the network" },
    { .name = "vlan", .type = VN_CT_U16, .lo = 1, .hi = 4094, N(vlan),
      .help = "802.1Q id on trunk ports and bridge uplinks" },
    { .name = "vni", U32(1, 16777215), N(vni),
      .help = "VXLAN network identifier on vxlan ports" },
    { .name = "mtu", U32(VN_MIN_MTU, VN_MAX_MTU), N(mtu), .def = STR(VN_DEFAULT_MTU),
      .set_off = offsetof(struct vn_net_conf, mtu_set), .flags = VN_KF_ALWAYS,
      .help = "largest L3 packet" },
    { .name = "fdb_max", U32(1, 1u << 20), N(fdb_max), .def = STR(VN_DEFAULT_FDB_MAX),
      .flags = VN_KF_ALWAYS, .help = "MAC table size" },
    { .name = "fdb_aging", U32(0, 86400 * 365), N(fdb_aging), .def = STR(VN_DEFAULT_FDB_AGING),
      .flags = VN_KF_ALWAYS, .help = "seconds before an idle MAC is forgotten (0 = never)" },
    { .name = "acl.default", ENUM(acl_default_enum), N(acl_default_drop), .def = "allow",
      .help = "verdict when no ACL rule matches" },
    { .name = "acl.rules", .shape = VN_CS_MAPLIST, .off = offsetof(struct vn_net_conf, acl),
      .max = VN_ACL_MAX_RULES, .sub = &vn_conf_acl_rule_table, .entries = &acl_entries,
      .doc_type = "list of rules", .help = "the network's ACL rules" },
    { .name = "uplink", .type = VN_CT_IFNAME, N(uplink), .flags = VN_KF_QUOTE,
      .bad = "%s: '%s' is not an interface name", .doc_type = "host interface name",
      .help = "bridge: the host interface the network extends onto" },
    { .name = "host_interface", .type = VN_CT_IFNAME, N(host_interface), .flags = VN_KF_QUOTE,
      .bad = "%s: '%s' is not an interface name", .doc_type = "interface name",
      .help = "host-only: name of the host's tap" },
    { .name = "subnet", .type = VN_CT_CUSTOM, N(subnet), .parse = p_subnet, .print = pr_subnet,
      .flags = VN_KF_GW | VN_KF_ALWAYS, .doc_type = "CIDR, prefix 8–30",
      .help = "the guests' subnet" },
    { .name = "gateway", .type = VN_CT_IP4, N(gateway), .flags = VN_KF_GW | VN_KF_ALWAYS,
      .show = show_ipv4, .doc_type = "IPv4", .help = "the gateway's address" },
    { .name = "ipv6", .type = VN_CT_BOOL, N(ipv6), .set_off = offsetof(struct vn_net_conf, ipv6_set),
      .def = "true", .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "serve IPv6 (neighbour discovery, router advertisements, DHCPv6, DNS, NAT); "
              "false: IPv6 frames still switch" },
    { .name = "subnet6", .type = VN_CT_CUSTOM, N(subnet6), .parse = p_subnet6, .print = pr_subnet6,
      .flags = VN_KF_GW, .doc_type = "IPv6 CIDR, /64",
      .help = "the guests' IPv6 prefix (default: a unique local /64 derived from the network "
              "name, the same on every start)" },
    { .name = "gateway6", .type = VN_CT_ADDR, N(gateway6), .parse = chk_ip6, .flags = VN_KF_GW,
      .doc_type = "IPv6",
      .help = "the gateway's IPv6 address (default PREFIX::2; host-only: PREFIX::1, the host's tap)" },
    { .name = "ra", .alias = "ra.enabled", .flags = VN_KF_NODOC },
    { .name = "ra.enabled", .type = VN_CT_BOOL, N(ra), .set_off = offsetof(struct vn_net_conf, ra_set),
      .def = "true", .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "send router advertisements (SLAAC prefix, MTU, RDNSS, DNSSL; never on isolated networks)" },
    { .name = "ra.interval", U32(4, 1800), N(ra_interval), .def = "200", .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "most seconds between unsolicited RAs (each wait is random in [interval/3, interval])" },
    { .name = "ra.lifetime", U32(0, 9000), N(ra_lifetime),
      .set_off = offsetof(struct vn_net_conf, ra_lifetime_set), .def = "1800",
      .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "router lifetime in seconds (0: guests do not use the gateway as default router; "
              "the default on host-only)" },
    { .name = "dhcp6.mode", ENUM(dhcp6_mode_enum), N(dhcp6_mode), .def = "stateless",
      .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "DHCPv6: stateless (DNS and domain by Information-Request; addresses by SLAAC), "
              "stateful (adds IA_NA leases), off" },
    { .name = "dhcp6.range", .type = VN_CT_CUSTOM, N(dhcp6_start), .parse = p_dhcp6_range,
      .print = pr_dhcp6_range, .flags = VN_KF_GW, .doc_type = "`FIRST-LAST`",
      .help = "the stateful pool (default PREFIX::1000-PREFIX::1fff)" },
    { .name = "dhcp6.lease_time", U32(10, 86400 * 365), N(dhcp6_lease_time),
      .set_off = offsetof(struct vn_net_conf, dhcp6_lease_time_set),
      .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "stateful: valid and preferred lifetime of a lease in seconds (T1 half, T2 0.8 "
              "of it; default dhcp.lease_time)" },
    { .name = "dhcp6.hosts", MAPLIST(struct vn_net_conf, hosts6, nhosts6, vn_conf_dhcp6_host_table),
      .full = "%s: at most %u entries", .flags = VN_KF_GW, .help = "DHCPv6 reservations" },
    { .name = "map_host_loopback", .type = VN_CT_BOOL, N(map_host_loopback), .def = "true",
      .show = show_loopback_bool, .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "nat: the gateway address reaches the host's 127.0.0.1" },
    { .name = "map_host_loopback.ports", .type = VN_CT_CUSTOM,
      LIST(struct vn_net_conf, loopback_ports, nloopback_ports), .parse = p_loopback_port,
      .print = pr_loopback_port, .show = show_loopback_ports, .flags = VN_KF_GW | VN_KF_NODOC,
      .help = "nat: only these host ports (PORT or LOW-HIGH)" },
    { .name = "nat64", .type = VN_CT_BOOL, N(nat64), .def = "false", .show = show_nat64_bool,
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS,
      .help = "nat: guests reach IPv4 destinations through IPv4-embedded IPv6 addresses "
              "(NAT64), and the DNS forwarder synthesizes AAAA records from A records (DNS64)" },
    { .name = "nat64.prefix", .type = VN_CT_CUSTOM, N(nat64_prefix), .parse = p_nat64_prefix,
      .print = pr_nat64_prefix, .show = show_nat64_prefix, .flags = VN_KF_GW | VN_KF_NAT,
      .doc_type = "IPv6 CIDR, /32, /40, /48, /56, /64 or /96",
      .help = "the NAT64 prefix (RFC 6052); giving it turns nat64 on" },
    { .name = "dhcp", .alias = "dhcp.enabled", .flags = VN_KF_NODOC },
    { .name = "dhcp.enabled", .type = VN_CT_BOOL, N(dhcp),
      .set_off = offsetof(struct vn_net_conf, dhcp_set), .def = "true",
      .flags = VN_KF_GW | VN_KF_ALWAYS, .help = "serve DHCPv4" },
    { .name = "dhcp.range", .type = VN_CT_CUSTOM, N(dhcp_start), .parse = p_dhcp_range,
      .print = pr_dhcp_range, .flags = VN_KF_GW | VN_KF_ALWAYS, .show = show_ipv4,
      .doc_type = "`FIRST-LAST`", .help = "the dynamic pool" },
    { .name = "dhcp.lease_time", U32(60, 86400 * 365), N(lease_time), .def = "3600",
      .flags = VN_KF_GW | VN_KF_ALWAYS, .help = "lease duration in seconds" },
    { .name = "dhcp.hosts", MAPLIST(struct vn_net_conf, hosts, nhosts, vn_conf_dhcp_host_table),
      .full = "%s: at most %u entries", .flags = VN_KF_GW, .help = "static reservations" },
    { .name = "dns", .alias = "dns.enabled", .flags = VN_KF_NODOC },
    { .name = "dns.enabled", .type = VN_CT_BOOL, N(dns),
      .set_off = offsetof(struct vn_net_conf, dns_set), .def = "true",
      .flags = VN_KF_GW | VN_KF_ALWAYS, .help = "serve DNS on dns.address" },
    { .name = "dns.address", .type = VN_CT_IP4, N(dns_addr), .flags = VN_KF_GW | VN_KF_ALWAYS,
      .show = show_ipv4, .doc_type = "IPv4", .help = "the DNS forwarder's address" },
    { .name = "dns.address6", .type = VN_CT_ADDR, N(dns_addr6), .parse = chk_ip6,
      .flags = VN_KF_GW, .doc_type = "IPv6",
      .help = "the DNS forwarder's IPv6 address (default PREFIX::3 on nat, PREFIX::2 on host-only)" },
    { .name = "dns.domain", .type = VN_CT_CUSTOM, N(domain), .parse = p_domain, .print = pr_text,
      .flags = VN_KF_GW | VN_KF_ALWAYS, .doc_type = "DNS name", .help = "local domain" },
    { .name = "dns.cache", U32(0, 65536), N(dns_cache), .def = "1024",
      .flags = VN_KF_GW | VN_KF_ALWAYS, .help = "answers the forwarder keeps" },
    { .name = "dns.upstream", .type = VN_CT_SOCKADDR, LIST(struct vn_net_conf, upstream, nupstream),
      .defport = 53, .bad = "%s: '%s' is not ADDR, ADDR:PORT or [V6ADDR]:PORT",
      .full = "%s: at most %u servers", .flags = VN_KF_GW,
      .help = "resolvers that non-local queries go to" },
    { .name = "nat.max_flows", U32(16, 1u << 20), N(max_flows), .def = "4096",
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS, .help = "NAT flow table size" },
    { .name = "nat.max_flows_per_guest", U32(0, 1u << 20), N(max_flows_per_guest), .def = "0",
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS, .help = "flows one guest may hold" },
    { .name = "nat.forward_pending", U32(1, 4096), N(forward_pending), .def = "64",
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS,
      .help = "connections of a forward waiting for the guest's SYN-ACK" },
    { .name = "nat.forward_syn_timeout", U32(1, 75), N(forward_syn_timeout), .def = "10",
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS,
      .help = "seconds a forwarded connection waits for the guest" },
    { .name = "nat.udp_timeout", U32(1, 86400), N(udp_timeout), .def = "60",
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS, .help = "idle seconds of a UDP flow" },
    { .name = "nat.tcp_timeout", U32(10, 86400 * 7), N(tcp_timeout),
      .def = "7440", /* RFC 5382 REQ-5: at least 2 h 4 min */
      .flags = VN_KF_GW | VN_KF_NAT | VN_KF_ALWAYS, .help = "idle seconds of a TCP flow" },
    { .name = "forwards", MAPLIST(struct vn_net_conf, forwards, nforwards, vn_conf_forward_table),
      .full = "%s: at most %u entries", .flags = VN_KF_GW, .help = "nat: port forwards" },
    { .name = "forward", .type = VN_CT_CUSTOM, .parse = p_forward_spec,
      .flags = VN_KF_NOPRINT | VN_KF_NODOC,
      .help = "command line: PROTO:HOSTPORT[:GUESTIP]:GUESTPORT adds a forward" },
    /* vpn: the network's WireGuard endpoint (conf/vpn.c) */
    { .name = "vpn.listen", .type = VN_CT_CUSTOM, N(vpn.listen), .parse = vn_conf_vpn_p_listen,
      .print = vn_conf_vpn_pr_listen, .show = vn_conf_vpn_show, .flags = VN_KF_GW | VN_KF_ALWAYS,
      .doc_type = "`ADDR:PORT`", .help = "the UDP address peers send to (default 0.0.0.0:51820)" },
    { .name = "vpn.private_key_file", .type = VN_CT_CUSTOM, N(vpn.private_key_file),
      .parse = vn_conf_vpn_p_key_file, .print = vn_conf_vpn_pr_str, .show = vn_conf_vpn_show,
      .flags = VN_KF_GW | VN_KF_REQUIRED, .doc_type = "path",
      .help = "a file holding `wg genkey`'s output, mode 0600 or stricter" },
    { .name = "vpn.address", .type = VN_CT_CUSTOM, .shape = VN_CS_LIST, N(vpn.address),
      .count_off = offsetof(struct vn_net_conf, vpn.naddress), .max = 2,
      .parse = vn_conf_vpn_p_address, .print = vn_conf_vpn_pr_address, .show = vn_conf_vpn_show,
      .flags = VN_KF_GW, .full = "%s: one IPv4 and one IPv6 address at most", .doc_type = "CIDR",
      .help = "the gateway's tunnel-side address with the tunnel's prefix length" },
    { .name = "vpn.nat", .type = VN_CT_BOOL, N(vpn.nat), .def = "false", .parse = vn_conf_vpn_p_mark,
      .show = vn_conf_vpn_show, .flags = VN_KF_GW | VN_KF_ALWAYS,
      .help = "nat networks: peers may reach the host's world through the network's NAT" },
    { .name = "vpn.max_peers", U32(1, VN_VPN_MAX_PEERS), N(vpn.max_peers),
      .def = STR(VN_VPN_DEFAULT_MAX_PEERS), .parse = vn_conf_vpn_p_mark, .show = vn_conf_vpn_show,
      .flags = VN_KF_GW | VN_KF_ALWAYS, .help = "most peers, also for peers added at run time" },
    { .name = "vpn.wg_interface", .type = VN_CT_CUSTOM, N(vpn.wg_interface),
      .parse = vn_conf_vpn_p_wg_interface, .print = vn_conf_vpn_pr_str, .show = vn_conf_vpn_show,
      .flags = VN_KF_GW, .doc_type = "WireGuard interface name",
      .help = "serve WireGuard's configuration protocol as this interface (wg show NAME)" },
    { .name = "vpn.peers", .shape = VN_CS_MAPLIST, .off = offsetof(struct vn_net_conf, vpn.peers),
      .max = VN_VPN_MAX_PEERS, .sub = &vn_conf_vpn_peer_table, .entries = &vn_conf_vpn_peer_entries,
      .show = vn_conf_vpn_show, .flags = VN_KF_GW | VN_KF_ALWAYS, .doc_type = "list of peers",
      .help = "the peers allowed to connect" },
};
#undef N

const struct vn_conf_table vn_conf_net_table = {
    .scope = "network", .keys = net_keys, .nkeys = VN_ARRAY_LEN(net_keys),
    .unknown = "unknown network key '%s'", .context = net_context,
};

/* ---- ports ---------------------------------------------------------------------- */

static int p_type(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                  const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    int t = vn_conf_port_type_find(val);
    if (t < 0) {
        const char *nm[16];
        char list[256];
        unsigned n = VN_MIN(vn_conf_port_type_count(), 16u);
        for (unsigned i = 0; i < n; i++)
            nm[i] = vn_conf_port_type_get(i)->name;
        names_list(list, sizeof list, nm, n);
        return vn_conf_fail(err, src, "%s: '%s' is not %s", key, val, list);
    }
    *(int *)dst = t;
    return 0;
}

static void pr_type(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    int i = *(const int *)dst;
    const struct vn_conf_port_type *t = i >= 0 ? vn_conf_port_type_get((unsigned)i) : NULL;
    print_plain(t ? t->name : "?", o);
}

/* trunk: a network may be listed once (checked after the name parsed into dst). */
static int chk_trunk(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_port_conf *p = item;
    for (unsigned i = 0; i < p->ntrunk; i++)
        if (!strcmp(p->trunk[i], val))
            return vn_conf_fail(err, src, "%s: network '%s' listed twice", key, val);
    return 0;
}

/* security.ips: listing any address turns ip_binding on. */
static int chk_sec_ip(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                      const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst, (void)key, (void)val, (void)src, (void)err;
    ((struct vn_port_conf *)item)->ip_binding = true;
    return 0;
}

static bool show_ip_binding(const void *item)
{
    const struct vn_port_conf *p = item;
    return p->ip_binding || p->nsec_ips;
}

/* trunk is printed as such unless the port's type names its networks
 * itself (a vxlan port's 'networks', which live in the same list). */
static bool show_trunk(const void *item)
{
    const struct vn_port_conf *p = item;
    const struct vn_conf_port_type *t = p->type >= 0 ? vn_conf_port_type_get((unsigned)p->type)
                                                     : NULL;
    return !t || !t->classifies;
}

static int port_fallback(void *item, const char *rel, const char *key, const char *val,
                         struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)item, (void)rel, (void)val;
    if (!strncmp(key, "rate.", 5))
        return vn_conf_fail(err, src, "unknown rate key '%s' (in|out . bps|pps|burst)", key);
    return vn_conf_fail(err, src, "unknown port key '%s'", key);
}

static const struct vn_conf_key *port_more(const char *key)
{
    for (unsigned i = 0; i < vn_conf_port_type_count(); i++) {
        const struct vn_conf_port_type *t = vn_conf_port_type_get(i);
        for (unsigned j = 0; j < t->nkeys; j++)
            if (!strcmp(t->keys[j].name, key))
                return &t->keys[j];
    }
    return NULL;
}

static const struct vn_conf_key *port_item_keys(const void *item, unsigned *n)
{
    const struct vn_conf_port_type *t =
        vn_conf_port_type_get(((const struct vn_port_conf *)item)->type);
    *n = t ? t->nkeys : 0;
    return t ? t->keys : NULL;
}

#define P(m) FIELD(struct vn_port_conf, m)
#define RATE(n, m, h)                                                                          \
    { .name = n, .type = VN_CT_RATE, P(m),                                                     \
      .bad = "%s: '%s' is not a number with an optional k, M or G suffix", .help = h }
static const struct vn_conf_key port_keys[] = {
    { .name = "name", .type = VN_CT_NAME, P(name), .what = "port",
      .flags = VN_KF_ALWAYS | VN_KF_REQUIRED, .help = "unique port name" },
    { .name = "type", .type = VN_CT_CUSTOM, P(type), .parse = p_type, .print = pr_type,
      .flags = VN_KF_ALWAYS | VN_KF_REQUIRED, .doc_type = "`stream`|`dgram`|`tap`|`uplink`|`vxlan`",
      .help = "backend" },
    { .name = "network", .type = VN_CT_NAME, P(network), .what = "network",
      .doc_type = "network name", .help = "access port: carries this network untagged" },
    { .name = "trunk", .type = VN_CT_NAME, LIST(struct vn_port_conf, trunk, ntrunk),
      .what = "network", .parse = chk_trunk, .full = "%s: too many networks", .show = show_trunk,
      .doc_type = "list of network names", .help = "trunk port: these networks, tagged" },
    { .name = "native", .type = VN_CT_NAME, P(native), .what = "network",
      .doc_type = "a network of `trunk`", .help = "the trunk's untagged network" },
    { .name = "trusted", .type = VN_CT_BOOL, P(trusted), .def = "false",
      .help = "may send DHCP-server messages and router advertisements" },
    { .name = "security.macs", .type = VN_CT_MAC, LIST(struct vn_port_conf, sec_macs, nsec_macs),
      .bad = "%s: '%s' is not a unicast MAC", .full = "%s: at most %u",
      .doc_type = "list of unicast MACs", .help = "allowed source MACs" },
    { .name = "security.ips", .type = VN_CT_ADDR, LIST(struct vn_port_conf, sec_ips, nsec_ips),
      .parse = chk_sec_ip, .full = "%s: at most %u", .doc_type = "list of IP addresses",
      .help = "allowed IPv4 and IPv6 sources (turns ip_binding on)" },
    { .name = "security.ip_binding", .type = VN_CT_BOOL, P(ip_binding), .def = "false",
      .show = show_ip_binding, .flags = VN_KF_ALWAYS,
      .help = "sources limited to the listed addresses and DHCP leases" },
    { .name = "security.max_macs", U32(0, VN_PORT_MAC_LIMIT_MAX), P(max_macs), .def = "0",
      .help = "distinct source MACs accepted (0 = no limit)" },
    RATE("rate.in.bps", rate_in_bps, "bits/s the peer may send"),
    RATE("rate.in.pps", rate_in_pps, "packets/s the peer may send"),
    RATE("rate.in.burst", rate_in_burst, "token bucket depth in bytes"),
    RATE("rate.out.bps", rate_out_bps, "bits/s delivered to the peer"),
    RATE("rate.out.pps", rate_out_pps, "packets/s delivered to the peer"),
    RATE("rate.out.burst", rate_out_burst, "token bucket depth in bytes"),
    { .name = "storm.broadcast", U32(0, 100000000), P(storm_bcast), .def = "0",
      .help = "broadcast frames/s accepted from the port" },
    { .name = "storm.multicast", U32(0, 100000000), P(storm_mcast), .def = "0",
      .help = "multicast frames/s accepted from the port" },
    { .name = "acl", .shape = VN_CS_MAPLIST, .off = offsetof(struct vn_port_conf, acl),
      .max = VN_ACL_MAX_RULES, .sub = &vn_conf_acl_rule_table, .entries = &acl_entries,
      .doc_type = "list of [rules](#acl-rules)", .help = "the port's ACL" },
};
#undef P

const struct vn_conf_table vn_conf_port_table = {
    .scope = "port", .keys = port_keys, .nkeys = VN_ARRAY_LEN(port_keys),
    .unknown = "unknown port key '%s'", .more = port_more, .item_keys = port_item_keys,
    .fallback = port_fallback,
};

/* ---- mirrors ------------------------------------------------------------------ */

static const struct vn_conf_enum dir_enum[] = { { "in", 1 }, { "out", 2 }, { "both", 3 } };

#define M(m) FIELD(struct vn_mirror_conf, m)
static const struct vn_conf_key mirror_keys[] = {
    { .name = "name", .type = VN_CT_NAME, M(name), .what = "mirror",
      .flags = VN_KF_ALWAYS | VN_KF_REQUIRED, .help = "session name" },
    { .name = "from", .type = VN_CT_NAME, LIST(struct vn_mirror_conf, from, nfrom), .what = "port",
      .full = "%s: at most %u ports", .flags = VN_KF_REQUIRED, .doc_type = "list of port names",
      .help = "source ports" },
    { .name = "direction", ENUM(dir_enum), M(dir), .def = "both", .flags = VN_KF_ALWAYS,
      .help = "copy what the sources send (in), receive (out), or both" },
    { .name = "to", .type = VN_CT_NAME, M(to), .what = "port",
      .flags = VN_KF_ALWAYS | VN_KF_REQUIRED, .doc_type = "port name",
      .help = "destination port" },
};
#undef M

const struct vn_conf_table vn_conf_mirror_table = {
    .scope = "mirror", .keys = mirror_keys, .nkeys = VN_ARRAY_LEN(mirror_keys),
    .unknown = "unknown mirror key '%s' (name, from, to, direction)",
};

/* ---- top level ------------------------------------------------------------------ */

static void *add_net(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                     struct vn_conf_err *err)
{
    (void)k;
    return vn_conf_add_net(item, src, err);
}
static unsigned count_nets(const struct vn_conf_key *k, const void *item)
{
    (void)k;
    return ((const struct vn_config *)item)->nnets;
}
static const void *net_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    (void)k;
    return &((const struct vn_config *)item)->nets[i];
}
static void *add_port(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                      struct vn_conf_err *err)
{
    (void)k;
    return vn_conf_add_port(item, src, err);
}
static unsigned count_ports(const struct vn_conf_key *k, const void *item)
{
    (void)k;
    return ((const struct vn_config *)item)->nports;
}
static const void *port_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    (void)k;
    return &((const struct vn_config *)item)->ports[i];
}
static bool port_hidden(const void *entry)
{
    return ((const struct vn_port_conf *)entry)->implicit;
}
static void *add_mirror(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                        struct vn_conf_err *err)
{
    (void)k;
    return vn_conf_add_mirror(item, src, err);
}
static unsigned count_mirrors(const struct vn_conf_key *k, const void *item)
{
    (void)k;
    return ((const struct vn_config *)item)->nmirrors;
}
static const void *mirror_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    (void)k;
    return &((const struct vn_config *)item)->mirrors[i];
}

static const struct vn_conf_entries net_entries = { add_net, count_nets, net_at, NULL, NULL };
static const struct vn_conf_entries port_entries = { add_port, count_ports, port_at, port_hidden,
                                                     NULL };
static const struct vn_conf_entries mirror_entries = { add_mirror, count_mirrors, mirror_at,
                                                       NULL, NULL };

#define G(m) FIELD(struct vn_config, m)
static const struct vn_conf_key global_keys[] = {
    { .name = "control", .type = VN_CT_STR, G(control), .flags = VN_KF_ALWAYS | VN_KF_QUOTE,
      .doc_type = "path", .help = "control socket for vnetctl" },
    { .name = "control_mode", .type = VN_CT_OCTAL, G(control_mode), .def = "0600",
      .flags = VN_KF_ALWAYS, .doc_type = "octal string",
      .help = "permission bits of the control socket file" },
    { .name = "control_group", .type = VN_CT_CUSTOM, G(control_group), .parse = p_control_group,
      .print = pr_string, .doc_type = "group name or number",
      .help = "members of this group may use the control socket" },
    { .name = "pid", .type = VN_CT_STR, G(pidfile), .flags = VN_KF_QUOTE, .doc_type = "path",
      .help = "PID file" },
    { .name = "state_dir", .type = VN_CT_STR, G(state_dir), .flags = VN_KF_QUOTE,
      .doc_type = "path", .help = "where DHCP lease files live" },
    { .name = "log", .type = VN_CT_CUSTOM, G(log_level), .parse = p_log, .print = pr_log,
      .flags = VN_KF_ALWAYS, .doc_type = "`error`|`warn`|`info`|`debug`", .help = "log level" },
    { .name = "conntrack_max", U32(64, 1u << 22), G(conntrack_max), .def = "65536",
      .flags = VN_KF_ALWAYS, .help = "connection-tracking table size" },
    { .name = "busy_poll_us", U32(0, 10000), G(busy_poll_us), .def = "50",
      .flags = VN_KF_ALWAYS,
      .help = "microseconds the event loop keeps polling after traffic before it sleeps" },
    { .name = "workers", U32(1, 64), G(workers), .doc_type = "1–64",
      .help = "worker threads of the data path (default: online CPUs, at most 8)" },
    { .name = "sandbox", .type = VN_CT_BOOL, G(sandbox), .def = "true", .flags = VN_KF_ALWAYS,
      .help = "drop capabilities and install seccomp after setup" },
    { .name = "metrics", .type = VN_CT_CUSTOM, G(metrics), .parse = p_metrics,
      .print = pr_string, .doc_type = "`ADDR:PORT`", .help = "Prometheus endpoint" },
    { .name = "networks", .shape = VN_CS_MAPLIST, .sub = &vn_conf_net_table,
      .entries = &net_entries, .flags = VN_KF_BLOCK | VN_KF_ALWAYS, .doc_type = "list",
      .help = "broadcast domains" },
    { .name = "ports", .shape = VN_CS_MAPLIST, .sub = &vn_conf_port_table,
      .entries = &port_entries, .flags = VN_KF_BLOCK | VN_KF_ALWAYS, .doc_type = "list",
      .help = "where VMs, namespaces and host interfaces attach" },
    { .name = "mirrors", .shape = VN_CS_MAPLIST, .sub = &vn_conf_mirror_table,
      .entries = &mirror_entries, .flags = VN_KF_BLOCK, .doc_type = "list",
      .help = "permanent mirror sessions" },
    { .name = "evpn.port", .type = VN_CT_CUSTOM, G(evpn.port), .parse = p_evpn_port,
      .print = pr_string, .doc_type = "port name",
      .help = "join a BGP EVPN fabric run by FRR: the vxlan port whose VNIs it mirrors" },
    { .name = "evpn.kernel_port", .type = VN_CT_U16, .lo = 1, .hi = 65535, G(evpn.kernel_port),
      .def = "4788", .show = show_evpn, .flags = VN_KF_ALWAYS,
      .help = "UDP port of the mirror vxlan devices (not the vxlan port's)" },
    { .name = "evpn.ageing", .type = VN_CT_U32, .lo = 3, .hi = 600, G(evpn.ageing), .def = "30",
      .show = show_evpn, .flags = VN_KF_ALWAYS,
      .help = "seconds a MAC vnetd no longer has stays advertised" },
    { .name = "evpn.create", .type = VN_CT_BOOL, G(evpn.create), .def = "true",
      .show = show_evpn, .flags = VN_KF_ALWAYS,
      .help = "make the mirror devices at start (root); false: use existing ones" },
};
#undef G

const struct vn_conf_table vn_conf_global_table = {
    .scope = "global", .keys = global_keys, .nkeys = VN_ARRAY_LEN(global_keys),
    .unknown = "unknown key '%s'",
};

/* ---- port-type registry ---------------------------------------------------------- */

#define VN_MAX_PORT_TYPES 16
static const struct vn_conf_port_type *port_types[VN_MAX_PORT_TYPES];
static unsigned nport_types;

int vn_conf_port_type_register(const struct vn_conf_port_type *t)
{
    if (nport_types >= VN_MAX_PORT_TYPES || vn_conf_port_type_find(t->name) >= 0)
        return -1;
    port_types[nport_types] = t;
    return (int)nport_types++;
}

const struct vn_conf_port_type *vn_conf_port_type_get(unsigned i)
{
    return i < nport_types ? port_types[i] : NULL;
}

unsigned vn_conf_port_type_count(void)
{
    return nport_types;
}

int vn_conf_port_type_find(const char *name)
{
    for (unsigned i = 0; i < nport_types; i++)
        if (!strcmp(port_types[i]->name, name))
            return (int)i;
    return -1;
}

static bool type_has_key(const struct vn_conf_port_type *t, const char *name)
{
    for (unsigned i = 0; i < t->nkeys; i++)
        if (!strcmp(t->keys[i].name, name))
            return true;
    return false;
}

/* Refuse key, which port p of type own was given but belongs to other
 * types: "port 'p': 'mode' is a key of vhost-user ports, not of stream ports
 * (it takes path only ...)". Returns -1. */
static int foreign_key(const struct vn_conf_port_type *own, const char *key,
                       const struct vn_port_conf *p, struct vn_conf_err *err)
{
    char types[128] = "";
    size_t n = 0;
    for (unsigned i = 0; i < nport_types; i++)
        if (port_types[i] != own && type_has_key(port_types[i], key) && n < sizeof types) {
            int w = snprintf(types + n, sizeof types - n, "%s%s", n ? ", " : "",
                             port_types[i]->name);
            n += w > 0 ? (size_t)w : 0;
        }
    return vn_conf_fail(err, p->src, "port '%s': '%s' is a key of %s ports, not of %s ports (%s)",
                        p->name, key, types, own->name, own->foreign ? own->foreign : "");
}

int vn_conf_port_type_validate(struct vn_config *c, struct vn_port_conf *p,
                               struct vn_conf_err *err)
{
    const struct vn_conf_port_type *own =
        p->type >= 0 ? vn_conf_port_type_get((unsigned)p->type) : NULL;
    if (!own)
        return 0;
    /* A key of another type that this one does not take, given: refused. */
    for (unsigned i = 0; i < nport_types; i++)
        for (unsigned j = 0; port_types[i] != own && j < port_types[i]->nkeys; j++) {
            const struct vn_conf_key *k = &port_types[i]->keys[j];
            if (!type_has_key(own, k->name) && vn_conf_key_is_set(k, p))
                return foreign_key(own, k->name, p, err);
        }
    return own->validate ? own->validate(c, p, err) : 0;
}

/* ---- the setters other code calls -------------------------------------------------- */

int vn_conf_net_set(struct vn_net_conf *n, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err)
{
    return vn_conf_table_set(&vn_conf_net_table, n, key, key, val, src, err);
}

int vn_conf_port_set(struct vn_port_conf *p, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err)
{
    return vn_conf_table_set(&vn_conf_port_table, p, key, key, val, src, err);
}

int vn_conf_mirror_set(struct vn_mirror_conf *m, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err)
{
    return vn_conf_table_set(&vn_conf_mirror_table, m, key, key, val, src, err);
}

int vn_conf_global_set(struct vn_config *c, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err)
{
    return vn_conf_table_set(&vn_conf_global_table, c, key, key, val, src, err);
}

int vn_conf_parse_forward(const char *spec, struct vn_forward_conf *f, struct vn_conf_src src,
                          struct vn_conf_err *err)
{
    char buf[256], *parts[6];
    int np = 0;
    memset(f, 0, sizeof *f);
    f->src = src;
    if (vn_strlcpy(buf, spec, sizeof buf) >= sizeof buf)
        return vn_conf_fail(err, src, "forward '%s': too long", spec);
    /* Split at the colons outside [brackets] (IPv6 addresses are bracketed). */
    int depth = 0;
    char *start = buf;
    for (char *c = buf;; c++) {
        if (*c == '[')
            depth++;
        else if (*c == ']')
            depth--;
        if ((*c == ':' && depth == 0) || !*c) {
            bool end = !*c;
            *c = 0;
            if (np == 6 || !*start)
                return vn_conf_fail(err, src, "forward '%s': empty or too many fields", spec);
            parts[np++] = start;
            start = c + 1;
            if (end)
                break;
        }
    }
    if (np < 3 || np > 5)
        return vn_conf_fail(err, src,
                            "forward '%s': expected PROTO:HOSTPORT[:GUESTIP]:GUESTPORT or "
                            "PROTO:HOSTADDR:HOSTPORT[:GUESTIP]:GUESTPORT",
                            spec);
    char host[160], guest[96];
    /* Four fields: PROTO:HOSTPORT:GUESTIP:GUESTPORT when the second is a
     * port number, else PROTO:HOSTADDR:HOSTPORT:GUESTPORT ("tcp:[::1]:8080:80"). */
    bool host_addr = np == 5 || (np == 4 && strspn(parts[1], "0123456789") != strlen(parts[1]));
    if (host_addr) {
        snprintf(host, sizeof host, "%s:%s", parts[1], parts[2]);
        if (np == 5)
            snprintf(guest, sizeof guest, "%s:%s", parts[3], parts[4]);
        else
            snprintf(guest, sizeof guest, "%s", parts[3]);
    } else {
        snprintf(host, sizeof host, "127.0.0.1:%s", parts[1]);
        if (np == 4)
            snprintf(guest, sizeof guest, "%s:%s", parts[2], parts[3]);
        else
            snprintf(guest, sizeof guest, "%s", parts[2]);
    }
    const struct vn_conf_table *t = &vn_conf_forward_table;
    if (vn_conf_table_set(t, f, "proto", "forwards.proto", parts[0], src, err) ||
        vn_conf_table_set(t, f, "host", "forwards.host", host, src, err) ||
        vn_conf_table_set(t, f, "guest", "forwards.guest", guest, src, err))
        return -1;
    return 0;
}
