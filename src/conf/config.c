/* Configuration model: setters, validation and defaults (see config.h). */
#include "config.h"
#include "core/log.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const mode_names[] = { "nat", "host-only", "isolated", "bridge" };
static const char *const type_names[] = { "stream", "dgram", "tap", "uplink" };
_Static_assert(VN_ARRAY_LEN(mode_names) == VN_MODE__COUNT, "a network mode without a name");
_Static_assert(VN_ARRAY_LEN(type_names) == VN_PORT__COUNT, "a port type without a name");

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
    c->control_gid = -1;
    c->conntrack_max = 65536;
    c->sandbox = true;
    return c;
}

void vn_conf_free(struct vn_config *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < c->nnets; i++)
        vn_acl_free(&c->nets[i].acl);
    for (unsigned i = 0; i < c->nports; i++)
        vn_acl_free(&c->ports[i].acl);
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
    n->lease_time = 3600;
    n->map_host_loopback = true;
    n->max_flows = 4096;
    n->forward_pending = 64;
    n->dns_cache = 1024;
    n->forward_syn_timeout = 10;
    n->udp_timeout = 60;
    n->tcp_timeout = 7440; /* RFC 5382 REQ-5: at least 2 h 4 min */
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
    p->tap_fd = -1;
    p->sock_fd = -1;
    p->netns_fd = -1;
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

int vn_sockaddr_parse(const char *s, uint16_t defport, struct vn_sockaddr *out)
{
    char host[128];
    const char *port = NULL;
    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (!e || (size_t)(e - s - 1) >= sizeof host)
            return -1;
        memcpy(host, s + 1, (size_t)(e - s - 1));
        host[e - s - 1] = 0;
        if (e[1] == ':')
            port = e + 2;
        else if (e[1])
            return -1;
    } else {
        const char *c = strchr(s, ':');
        if (c && strchr(c + 1, ':')) { /* bare IPv6 without port */
            if (vn_strlcpy(host, s, sizeof host) >= sizeof host)
                return -1;
        } else if (c) {
            if ((size_t)(c - s) >= sizeof host)
                return -1;
            memcpy(host, s, (size_t)(c - s));
            host[c - s] = 0;
            port = c + 1;
        } else if (vn_strlcpy(host, s, sizeof host) >= sizeof host) {
            return -1;
        }
    }
    uint64_t p = defport;
    if (port && vn_parse_uint(port, 1, 65535, &p))
        return -1;
    if (!p)
        return -1;
    out->port = (uint16_t)p;
    if (inet_pton(AF_INET, host, out->addr) == 1)
        out->family = AF_INET;
    else if (inet_pton(AF_INET6, host, out->addr) == 1)
        out->family = AF_INET6;
    else
        return -1;
    return 0;
}

char *vn_sockaddr_str(const struct vn_sockaddr *a, char *buf, size_t n)
{
    char h[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->family == AF_INET6 ? AF_INET6 : AF_INET, a->addr, h, sizeof h);
    snprintf(buf, n, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", h, a->port);
    return buf;
}

int vn_parse_rate(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return -1;
    double mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1e3, end++;
    else if (*end == 'M')
        mul = 1e6, end++;
    else if (*end == 'G')
        mul = 1e9, end++;
    if (*end || v * mul > 1e15)
        return -1;
    *out = (uint64_t)(v * mul);
    return 0;
}

static int set_bool(bool *dst, const char *key, const char *val, struct vn_conf_src src,
                    struct vn_conf_err *err)
{
    if (!strcmp(val, "true") || !strcmp(val, "yes") || !strcmp(val, "on")) {
        *dst = true;
        return 0;
    }
    if (!strcmp(val, "false") || !strcmp(val, "no") || !strcmp(val, "off")) {
        *dst = false;
        return 0;
    }
    return vn_conf_fail(err, src, "%s: '%s' is not true or false", key, val);
}

static int set_ip4(uint32_t *dst, const char *key, const char *val, struct vn_conf_src src,
                   struct vn_conf_err *err)
{
    if (vn_ip4_parse(val, dst))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 address", key, val);
    return 0;
}

/* A DNS name: labels of [A-Za-z0-9-], 1..63 each, 253 in all. */
static bool valid_dns_name(const char *s)
{
    size_t n = strlen(s), lab = 0;
    if (!n || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (!lab)
                return false;
            lab = 0;
        } else if (isalnum((unsigned char)s[i]) || (s[i] == '-' && lab)) {
            if (++lab > 63)
                return false;
        } else {
            return false;
        }
    }
    return lab > 0;
}

static int set_forward_key(struct vn_forward_conf *f, const char *key, const char *val,
                           struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!strcmp(key, "proto")) {
        if (!strcmp(val, "tcp"))
            f->proto = IPPROTO_TCP;
        else if (!strcmp(val, "udp"))
            f->proto = IPPROTO_UDP;
        else
            return vn_conf_fail(err, src, "forwards.proto: '%s' is not tcp or udp", val);
        return 0;
    }
    if (!strcmp(key, "host")) {
        char buf[160];
        const char *v = val;
        if (!strchr(val, ':') || val[0] == ':') { /* "8080" or ":8080": loopback */
            snprintf(buf, sizeof buf, "127.0.0.1:%s", val[0] == ':' ? val + 1 : val);
            v = buf;
        }
        if (vn_sockaddr_parse(v, 0, &f->host))
            return vn_conf_fail(err, src, "forwards.host: '%s' is not ADDR:PORT or PORT", val);
        return 0;
    }
    if (!strcmp(key, "guest")) {
        char ip[32];
        const char *c = strrchr(val, ':');
        uint64_t port;
        const char *ps = c ? c + 1 : val;
        if (vn_parse_uint(ps, 1, 65535, &port))
            return vn_conf_fail(err, src, "forwards.guest: '%s' is not [IP:]PORT", val);
        f->guest_port = (uint16_t)port;
        f->guest_ip = 0;
        if (c) {
            if ((size_t)(c - val) >= sizeof ip)
                return vn_conf_fail(err, src, "forwards.guest: '%s' is not [IP:]PORT", val);
            memcpy(ip, val, (size_t)(c - val));
            ip[c - val] = 0;
            if (vn_ip4_parse(ip, &f->guest_ip))
                return vn_conf_fail(err, src, "forwards.guest: '%s' is not an IPv4 address", ip);
        }
        return 0;
    }
    return vn_conf_fail(err, src, "unknown forward key '%s' (proto, host, guest)", key);
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
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t && np < 6; t = strtok_r(NULL, ":", &save))
        parts[np++] = t;
    if (np < 3 || np > 5)
        return vn_conf_fail(err, src,
                            "forward '%s': expected PROTO:HOSTPORT[:GUESTIP]:GUESTPORT or "
                            "PROTO:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT",
                            spec);
    char host[160], guest[64];
    if (np == 5) {
        snprintf(host, sizeof host, "%s:%s", parts[1], parts[2]);
        snprintf(guest, sizeof guest, "%s:%s", parts[3], parts[4]);
    } else {
        snprintf(host, sizeof host, "127.0.0.1:%s", parts[1]);
        if (np == 4)
            snprintf(guest, sizeof guest, "%s:%s", parts[2], parts[3]);
        else
            snprintf(guest, sizeof guest, "%s", parts[2]);
    }
    if (set_forward_key(f, "proto", parts[0], src, err) ||
        set_forward_key(f, "host", host, src, err) || set_forward_key(f, "guest", guest, src, err))
        return -1;
    return 0;
}

static int set_dhcp_host_key(struct vn_dhcp_host *h, const char *key, const char *val,
                             struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!strcmp(key, "mac")) {
        if (vn_mac_parse(val, h->mac) || vn_mac_is_multicast(h->mac) || vn_mac_is_zero(h->mac))
            return vn_conf_fail(err, src, "dhcp.hosts.mac: '%s' is not a unicast MAC address",
                                val);
        h->has_mac = true;
        return 0;
    }
    if (!strcmp(key, "ip"))
        return set_ip4(&h->ip, "dhcp.hosts.ip", val, src, err);
    if (!strcmp(key, "name")) {
        if (!valid_dns_name(val) || strchr(val, '.') || strlen(val) >= sizeof h->name)
            return vn_conf_fail(err, src, "dhcp.hosts.name: '%s' is not a valid host name", val);
        vn_strlcpy(h->name, val, sizeof h->name);
        return 0;
    }
    return vn_conf_fail(err, src, "unknown dhcp host key '%s' (mac, ip, name)", key);
}

/* ACL keys: "acl" (val NULL starts a rule) and "acl.FIELD" set it. For
 * networks the list is "acl.rules" and there is "acl.default". */
static int set_acl_key(struct vn_acl *a, const char *field, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err)
{
    char msg[200];
    if (!val && field)
        return vn_conf_fail(err, src, "acl rule field '%s' takes a value, not a list", field);
    if (!val) {
        struct vn_acl_rule r;
        vn_acl_rule_init(&r);
        vn_acl_rule_format(&r); /* an empty rule still has a text: "allow" */
        if (vn_acl_insert(a, &r, -1, msg, sizeof msg))
            return vn_conf_fail(err, src, "acl: %s", msg);
        return 0;
    }
    if (!a->n || !field) /* no rule started, or a scalar where a rule mapping belongs */
        return vn_conf_fail(err, src, "acl rules must be a list of mappings");
    struct vn_acl_rule *r = &a->rules[a->n - 1];
    if (vn_acl_rule_set(r, field, val, msg, sizeof msg))
        return vn_conf_fail(err, src, "acl: %s", msg);
    vn_acl_rule_format(r);
    return 0;
}

int vn_conf_net_set(struct vn_net_conf *n, const char *key, const char *val,
                    struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!strcmp(key, "acl.rules"))
        return set_acl_key(&n->acl, NULL, val, src, err);
    if (!strncmp(key, "acl.rules.", 10))
        return set_acl_key(&n->acl, key + 10, val, src, err);
    /* Only the list-of-mappings keys start an entry without a value. */
    if (!val && strcmp(key, "dhcp.hosts") && strcmp(key, "forwards"))
        return vn_conf_fail(err, src, "network key '%s' takes a value, not a list of mappings",
                            key);
    if (!strcmp(key, "acl.default") && val) {
        if (!strcmp(val, "drop"))
            n->acl_default_drop = true;
        else if (!strcmp(val, "allow"))
            n->acl_default_drop = false;
        else
            return vn_conf_fail(err, src, "acl.default: '%s' is not allow or drop", val);
        return 0;
    }
    if (!strcmp(key, "dhcp.hosts") && !val) {
        if (n->nhosts >= VN_MAX_DHCP_HOSTS)
            return vn_conf_fail(err, src, "dhcp.hosts: at most %d entries", VN_MAX_DHCP_HOSTS);
        memset(&n->hosts[n->nhosts], 0, sizeof n->hosts[0]);
        n->hosts[n->nhosts++].src = src;
        return 0;
    }
    if (!strncmp(key, "dhcp.hosts.", 11)) {
        if (!n->nhosts)
            return vn_conf_fail(err, src, "dhcp.hosts must be a list of mappings");
        return set_dhcp_host_key(&n->hosts[n->nhosts - 1], key + 11, val, src, err);
    }
    if (!strcmp(key, "forwards") && !val) {
        if (n->nforwards >= VN_MAX_FORWARDS)
            return vn_conf_fail(err, src, "forwards: at most %d entries", VN_MAX_FORWARDS);
        memset(&n->forwards[n->nforwards], 0, sizeof n->forwards[0]);
        n->forwards[n->nforwards++].src = src;
        return 0;
    }
    if (!strncmp(key, "forwards.", 9)) {
        if (!n->nforwards)
            return vn_conf_fail(err, src, "forwards must be a list of mappings");
        return set_forward_key(&n->forwards[n->nforwards - 1], key + 9, val, src, err);
    }
    if (!strcmp(key, "forward")) { /* command-line form: forward=tcp:8080:80 */
        if (n->nforwards >= VN_MAX_FORWARDS)
            return vn_conf_fail(err, src, "forwards: at most %d entries", VN_MAX_FORWARDS);
        return vn_conf_parse_forward(val, &n->forwards[n->nforwards++], src, err);
    }
    if (!val)
        return vn_conf_fail(err, src, "network key '%s' is not a list", key);
    if (!strcmp(key, "subnet")) {
        char ip[32];
        const char *slash = strchr(val, '/');
        uint64_t pfx;
        if (!slash || (size_t)(slash - val) >= sizeof ip ||
            vn_parse_uint(slash + 1, 8, 30, &pfx))
            return vn_conf_fail(err, src, "subnet: '%s' is not an IPv4 prefix like 10.0.2.0/24 "
                                          "(prefix length 8 to 30)", val);
        memcpy(ip, val, (size_t)(slash - val));
        ip[slash - val] = 0;
        uint32_t a;
        if (vn_ip4_parse(ip, &a))
            return vn_conf_fail(err, src, "subnet: '%s' is not an IPv4 address", ip);
        uint32_t mask = ~0u << (32 - pfx);
        if (a & ~mask)
            return vn_conf_fail(err, src, "subnet: '%s' has host bits set (did you mean %s/%u?)",
                                val, vn_ip4_str(a & mask, ip), (unsigned)pfx);
        n->subnet = a;
        n->prefix = (uint8_t)pfx;
        return 0;
    }
    if (!strcmp(key, "gateway"))
        return set_ip4(&n->gateway, key, val, src, err);
    if (!strcmp(key, "host_interface")) {
        if (set_str(n->host_interface, sizeof n->host_interface, key, val, src, err))
            return -1;
        for (const char *c = val; *c; c++)
            if (*c == '/' || *c == ':' || isspace((unsigned char)*c))
                return vn_conf_fail(err, src, "host_interface: '%s' is not an interface name", val);
        return 0;
    }
    if (!strcmp(key, "uplink")) {
        if (set_str(n->uplink, sizeof n->uplink, key, val, src, err))
            return -1;
        for (const char *c = val; *c; c++)
            if (*c == '/' || *c == ':' || isspace((unsigned char)*c))
                return vn_conf_fail(err, src, "uplink: '%s' is not an interface name", val);
        return 0;
    }
    if (!strcmp(key, "map_host_loopback"))
        return set_bool(&n->map_host_loopback, key, val, src, err);
    if (!strcmp(key, "map_host_loopback.ports")) {
        /* an allow-list: PORT or LOW-HIGH */
        uint64_t lo, hi;
        char a[16], b[16] = "";
        const char *dash = strchr(val, '-');
        size_t al = dash ? (size_t)(dash - val) : strlen(val);
        if (al >= sizeof a || (dash && strlen(dash + 1) >= sizeof b))
            return vn_conf_fail(err, src, "map_host_loopback.ports: '%s' is not PORT or LOW-HIGH",
                                val);
        memcpy(a, val, al);
        a[al] = 0;
        if (dash)
            vn_strlcpy(b, dash + 1, sizeof b);
        if (vn_parse_uint(a, 1, 65535, &lo) || (dash && vn_parse_uint(b, 1, 65535, &hi)))
            return vn_conf_fail(err, src, "map_host_loopback.ports: '%s' is not PORT or LOW-HIGH "
                                "(1-65535)", val);
        if (!dash)
            hi = lo;
        if (hi < lo)
            return vn_conf_fail(err, src, "map_host_loopback.ports: '%s': range ends before it "
                                "starts", val);
        if (n->nloopback_ports >= VN_MAX_LOOPBACK_PORTS)
            return vn_conf_fail(err, src, "map_host_loopback.ports: at most %d entries",
                                VN_MAX_LOOPBACK_PORTS);
        n->loopback_ports[n->nloopback_ports][0] = (uint16_t)lo;
        n->loopback_ports[n->nloopback_ports][1] = (uint16_t)hi;
        n->nloopback_ports++;
        n->map_host_loopback = true;
        return 0;
    }
    if (!strcmp(key, "dhcp.enabled")) {
        n->dhcp_set = true;
        return set_bool(&n->dhcp, key, val, src, err);
    }
    if (!strcmp(key, "dhcp.range")) {
        char a[32], b[32];
        const char *dash = strchr(val, '-');
        if (!dash || (size_t)(dash - val) >= sizeof a || strlen(dash + 1) >= sizeof b)
            return vn_conf_fail(err, src, "dhcp.range: '%s' is not FIRST-LAST", val);
        memcpy(a, val, (size_t)(dash - val));
        a[dash - val] = 0;
        vn_strlcpy(b, dash + 1, sizeof b);
        if (vn_ip4_parse(a, &n->dhcp_start) || vn_ip4_parse(b, &n->dhcp_end))
            return vn_conf_fail(err, src, "dhcp.range: '%s' is not two IPv4 addresses", val);
        if (n->dhcp_start > n->dhcp_end)
            return vn_conf_fail(err, src, "dhcp.range: '%s' ends before it starts", val);
        return 0;
    }
    if (!strcmp(key, "dhcp.lease_time"))
        return set_u32(&n->lease_time, key, val, 60, 86400 * 365, src, err);
    if (!strcmp(key, "dns") || !strcmp(key, "dhcp")) {
        /* "dhcp: false" / "dns: true" are short for dhcp.enabled / dns.enabled */
        char k[16];
        snprintf(k, sizeof k, "%s.enabled", key);
        return vn_conf_net_set(n, k, val, src, err);
    }
    if (!strcmp(key, "dns.enabled")) {
        n->dns_set = true;
        return set_bool(&n->dns, key, val, src, err);
    }
    if (!strcmp(key, "dns.address"))
        return set_ip4(&n->dns_addr, key, val, src, err);
    if (!strcmp(key, "dns.domain")) {
        if (!valid_dns_name(val) || strlen(val) >= sizeof n->domain)
            return vn_conf_fail(err, src, "dns.domain: '%s' is not a valid domain name", val);
        vn_strlcpy(n->domain, val, sizeof n->domain);
        return 0;
    }
    if (!strcmp(key, "dns.cache"))
        return set_u32(&n->dns_cache, key, val, 0, 65536, src, err);
    if (!strcmp(key, "dns.upstream")) {
        if (n->nupstream >= VN_MAX_UPSTREAMS)
            return vn_conf_fail(err, src, "dns.upstream: at most %d servers", VN_MAX_UPSTREAMS);
        if (vn_sockaddr_parse(val, 53, &n->upstream[n->nupstream]))
            return vn_conf_fail(err, src,
                                "dns.upstream: '%s' is not ADDR, ADDR:PORT or [V6ADDR]:PORT", val);
        n->nupstream++;
        return 0;
    }
    if (!strcmp(key, "nat.max_flows"))
        return set_u32(&n->max_flows, key, val, 16, 1u << 20, src, err);
    if (!strcmp(key, "nat.max_flows_per_guest"))
        return set_u32(&n->max_flows_per_guest, key, val, 0, 1u << 20, src, err);
    if (!strcmp(key, "nat.forward_pending"))
        return set_u32(&n->forward_pending, key, val, 1, 4096, src, err);
    if (!strcmp(key, "nat.forward_syn_timeout"))
        return set_u32(&n->forward_syn_timeout, key, val, 1, 75, src, err);
    if (!strcmp(key, "nat.udp_timeout"))
        return set_u32(&n->udp_timeout, key, val, 1, 86400, src, err);
    if (!strcmp(key, "nat.tcp_timeout"))
        return set_u32(&n->tcp_timeout, key, val, 10, 86400 * 7, src, err);
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
    if (!strcmp(key, "acl"))
        return set_acl_key(&p->acl, NULL, val, src, err);
    if (!strncmp(key, "acl.", 4))
        return set_acl_key(&p->acl, key + 4, val, src, err);
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
        return vn_conf_fail(err, src, "type: '%s' is not one of stream, dgram, tap, uplink", val);
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
    if (!strcmp(key, "security.macs")) {
        if (p->nsec_macs >= VN_SEC_MAX)
            return vn_conf_fail(err, src, "security.macs: at most %d", VN_SEC_MAX);
        uint8_t *m = p->sec_macs[p->nsec_macs];
        if (vn_mac_parse(val, m) || vn_mac_is_multicast(m) || vn_mac_is_zero(m))
            return vn_conf_fail(err, src, "security.macs: '%s' is not a unicast MAC", val);
        p->nsec_macs++;
        return 0;
    }
    if (!strcmp(key, "security.ips")) {
        if (p->nsec_ips >= VN_SEC_MAX)
            return vn_conf_fail(err, src, "security.ips: at most %d", VN_SEC_MAX);
        if (vn_ip4_parse(val, &p->sec_ips[p->nsec_ips]))
            return vn_conf_fail(err, src, "security.ips: '%s' is not an IPv4 address", val);
        p->nsec_ips++;
        p->ip_binding = true;
        return 0;
    }
    if (!strcmp(key, "security.ip_binding"))
        return set_bool(&p->ip_binding, key, val, src, err);
    if (!strcmp(key, "security.max_macs"))
        return set_u32(&p->max_macs, key, val, 0, VN_PORT_MAC_LIMIT_MAX, src, err);
    if (!strcmp(key, "trusted"))
        return set_bool(&p->trusted, key, val, src, err);
    if (!strncmp(key, "rate.", 5)) {
        uint64_t *dst = NULL;
        const char *k = key + 5;
        if (!strcmp(k, "in.bps")) dst = &p->rate_in_bps;
        else if (!strcmp(k, "in.pps")) dst = &p->rate_in_pps;
        else if (!strcmp(k, "in.burst")) dst = &p->rate_in_burst;
        else if (!strcmp(k, "out.bps")) dst = &p->rate_out_bps;
        else if (!strcmp(k, "out.pps")) dst = &p->rate_out_pps;
        else if (!strcmp(k, "out.burst")) dst = &p->rate_out_burst;
        if (!dst)
            return vn_conf_fail(err, src, "unknown rate key '%s' (in|out . bps|pps|burst)", key);
        if (vn_parse_rate(val, dst))
            return vn_conf_fail(err, src, "%s: '%s' is not a number with an optional k, M or G "
                                          "suffix", key, val);
        return 0;
    }
    if (!strcmp(key, "storm.broadcast"))
        return set_u32(&p->storm_bcast, key, val, 0, 100000000, src, err);
    if (!strcmp(key, "storm.multicast"))
        return set_u32(&p->storm_mcast, key, val, 0, 100000000, src, err);
    return vn_conf_fail(err, src, "unknown port key '%s'", key);
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
    m->dir = 3;
    return m;
}

int vn_conf_mirror_set(struct vn_mirror_conf *m, const char *key, const char *val,
                       struct vn_conf_src src, struct vn_conf_err *err)
{
    if (!val)
        return vn_conf_fail(err, src, "mirror key '%s' is not a list of mappings", key);
    if (!strcmp(key, "name"))
        return set_name(m->name, val, src, "mirror", err);
    if (!strcmp(key, "to"))
        return set_name(m->to, val, src, "port", err);
    if (!strcmp(key, "from")) {
        if (m->nfrom >= 16)
            return vn_conf_fail(err, src, "from: at most 16 ports");
        return set_name(m->from[m->nfrom++], val, src, "port", err);
    }
    if (!strcmp(key, "direction")) {
        if (!strcmp(val, "in"))
            m->dir = 1;
        else if (!strcmp(val, "out"))
            m->dir = 2;
        else if (!strcmp(val, "both"))
            m->dir = 3;
        else
            return vn_conf_fail(err, src, "direction: '%s' is not in, out or both", val);
        return 0;
    }
    return vn_conf_fail(err, src, "unknown mirror key '%s' (name, from, to, direction)", key);
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
    if (!strcmp(key, "control_group")) {
        struct group *g = getgrnam(val);
        uint64_t gid;
        if (g)
            c->control_gid = g->gr_gid;
        else if (vn_parse_uint(val, 0, 0x7fffffff, &gid) == 0)
            c->control_gid = (int64_t)gid;
        else
            return vn_conf_fail(err, src, "control_group: no group named '%s'", val);
        return set_str(c->control_group, sizeof c->control_group, key, val, src, err);
    }
    if (!strcmp(key, "state_dir"))
        return set_str(c->state_dir, sizeof c->state_dir, key, val, src, err);
    if (!strcmp(key, "sandbox"))
        return set_bool(&c->sandbox, key, val, src, err);
    if (!strcmp(key, "conntrack_max"))
        return set_u32(&c->conntrack_max, key, val, 64, 1u << 22, src, err);
    if (!strcmp(key, "metrics")) {
        struct vn_sockaddr sa;
        char buf[160];
        snprintf(buf, sizeof buf, "%s%s", val[0] == ':' ? "[::]" : "", val);
        if (vn_sockaddr_parse(buf, 0, &sa) || !strchr(val, ':'))
            return vn_conf_fail(err, src, "metrics: '%s' is not ADDR:PORT (e.g. 127.0.0.1:9464)",
                                val);
        return set_str(c->metrics, sizeof c->metrics, key, val, src, err);
    }
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

int vn_conf_validate_port(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
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
        if (p->netns[0] || p->ifname[0] || p->has_mac || p->mtu)
            return vn_conf_fail(err, p->src,
                                "port '%s': netns, ifname, mac and mtu apply to tap ports only "
                                "(a socket port uses its network's mtu)",
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
        if (!p->ifname[0] && p->tap_fd < 0)
            vn_strlcpy(p->ifname, p->name, sizeof p->ifname);
        if (p->netns[0]) {
            struct stat st;
            if (stat(p->netns, &st) < 0)
                return vn_conf_fail(err, p->src, "port '%s': netns '%s' does not exist", p->name,
                                    p->netns);
        }
        break;
    case VN_PORT_UPLINK:
        if (p->path[0] || p->netns[0] || p->has_mac || p->mtu)
            return vn_conf_fail(err, p->src, "port '%s': an uplink takes 'ifname' only", p->name);
        if (!p->ifname[0])
            return vn_conf_fail(err, p->src,
                                "port '%s': an uplink needs 'ifname' (the host interface)",
                                p->name);
        break;
    case VN_PORT__COUNT:
        break;
    }
    return 0;
}

/* Bridge networks name their uplink interface; make one trunk port per
 * interface carrying all of them (the one without a VLAN id untagged). */
static int add_uplink_ports(struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (n->host_interface[0] && n->mode != VN_MODE_HOST_ONLY)
            return vn_conf_fail(err, n->src, "network '%s': 'host_interface' needs mode: host-only",
                                n->name);
        if (n->mode != VN_MODE_HOST_ONLY)
            continue;
        /* The host's side of a host-only network: a tap holding the gateway address. */
        struct vn_port_conf *p = vn_conf_add_port(c, n->src, err);
        if (!p)
            return -1;
        snprintf(p->name, sizeof p->name, "host-%.*s", VN_NAME_MAX - 6, n->name);
        p->type = VN_PORT_TAP;
        p->implicit = true;
        vn_strlcpy(p->network, n->name, sizeof p->network);
        vn_strlcpy(p->ifname, n->host_interface, sizeof p->ifname);
        p->host_addr = n->gateway;
        p->host_prefix = n->prefix;
    }
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (!n->uplink[0])
            continue;
        if (n->mode != VN_MODE_BRIDGE)
            return vn_conf_fail(err, n->src, "network '%s': 'uplink' needs mode: bridge",
                                n->name);
        struct vn_port_conf *p = NULL;
        for (unsigned j = 0; j < c->nports; j++)
            if (c->ports[j].implicit && !strcmp(c->ports[j].ifname, n->uplink))
                p = &c->ports[j];
        if (!p) {
            if (!(p = vn_conf_add_port(c, n->src, err)))
                return -1;
            snprintf(p->name, sizeof p->name, "uplink-%.*s", VN_IFNAME_MAX, n->uplink);
            p->type = VN_PORT_UPLINK;
            p->implicit = true;
            vn_strlcpy(p->ifname, n->uplink, sizeof p->ifname);
        }
        if (!n->vlan) {
            if (p->native[0])
                return vn_conf_fail(err, n->src,
                                    "network '%s': uplink %s already carries '%s' untagged; "
                                    "give one of them a 'vlan'",
                                    n->name, n->uplink, p->native);
            vn_strlcpy(p->native, n->name, sizeof p->native);
        }
        vn_strlcpy(p->trunk[p->ntrunk++], n->name, VN_NAME_MAX);
    }
    return 0;
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

/* Fill defaults of the gateway services and check that addresses agree. */
static int validate_services(struct vn_net_conf *n, struct vn_conf_err *err)
{
    char a[16], b[16];
    if (!vn_net_has_gateway(n)) {
        if (n->gateway || n->nhosts || n->nforwards || n->nupstream || n->dhcp_start ||
            n->dns_addr || (n->dhcp_set && n->dhcp) || (n->dns_set && n->dns) ||
            n->domain[0] || (n->mode == VN_MODE_BRIDGE && n->prefix))
            return vn_conf_fail(err, n->src,
                                n->mode == VN_MODE_ISOLATED
                                    ? "network '%s': gateway services (gateway, dhcp, dns, "
                                      "forwards) on an isolated network need a 'subnet'"
                                    : "network '%s': a %s network has no gateway services "
                                      "(gateway, dhcp, dns, forwards): the LAN provides them",
                                n->name, vn_net_mode_name(n->mode));
        return 0;
    }
    /* Without a subnet: what QEMU (nat) and VirtualBox (host-only) users know. */
    bool qemu_defaults = !n->prefix && n->mode == VN_MODE_NAT;
    bool vbox_defaults = !n->prefix && n->mode == VN_MODE_HOST_ONLY;
    if (qemu_defaults) {
        n->subnet = 0x0a000200; /* 10.0.2.0/24: gateway .2, DNS .3, DHCP from .15 */
        n->prefix = 24;
    }
    if (vbox_defaults) {
        n->subnet = 0xc0a83800; /* 192.168.56.0/24: host .1, DHCP/DNS .2, DHCP from .101 */
        n->prefix = 24;
    }
    uint32_t mask = ~0u << (32 - n->prefix), bcast = n->subnet | ~mask;
#define IN_SUBNET(ip) (((ip) & mask) == n->subnet && (ip) != n->subnet && (ip) != bcast)
    if (!n->gateway)
        n->gateway = n->subnet + (qemu_defaults ? 2 : 1);
    if (!IN_SUBNET(n->gateway))
        return vn_conf_fail(err, n->src, "network '%s': gateway %s is not a host address of %s/%u",
                            n->name, vn_ip4_str(n->gateway, a), vn_ip4_str(n->subnet, b),
                            n->prefix);
    if (!n->dhcp_set)
        n->dhcp = true;
    if (!n->dns_set)
        n->dns = true;
    if (!n->dns_addr)
        n->dns_addr = qemu_defaults                 ? n->subnet + 3
                      : n->mode == VN_MODE_HOST_ONLY ? n->gateway + 1
                                                    : n->gateway;
    if (n->mode == VN_MODE_HOST_ONLY && n->dns_addr == n->gateway)
        return vn_conf_fail(err, n->src,
                            "network '%s': on a host-only network the gateway address belongs "
                            "to the host; give dns.address another address",
                            n->name);
    if (n->mode == VN_MODE_HOST_ONLY && !n->host_interface[0])
        snprintf(n->host_interface, sizeof n->host_interface, "vnet-%.10s", n->name);
    if (!IN_SUBNET(n->dns_addr))
        return vn_conf_fail(err, n->src,
                            "network '%s': dns.address %s is not a host address of the subnet",
                            n->name, vn_ip4_str(n->dns_addr, a));
    if (!n->domain[0])
        vn_strlcpy(n->domain, "vnet.internal", sizeof n->domain);
    uint32_t top = VN_MAX(n->gateway, n->dns_addr);
    if (!n->dhcp_start) {
        n->dhcp_start = n->subnet + (vbox_defaults ? 101 : 15);
        if (n->dhcp_start <= top || n->dhcp_start >= bcast)
            n->dhcp_start = top + 1;
        n->dhcp_end = bcast - 1;
        if (n->dhcp_end - n->dhcp_start >= 65536) /* a big subnet: the first 65536 */
            n->dhcp_end = n->dhcp_start + 65535;
        if (n->dhcp_start > n->dhcp_end)
            return vn_conf_fail(err, n->src, "network '%s': no room for a DHCP range in %s/%u",
                                n->name, vn_ip4_str(n->subnet, a), n->prefix);
    }
    if (!IN_SUBNET(n->dhcp_start) || !IN_SUBNET(n->dhcp_end))
        return vn_conf_fail(err, n->src, "network '%s': dhcp.range %s-%s is not inside %s/%u",
                            n->name, vn_ip4_str(n->dhcp_start, a), vn_ip4_str(n->dhcp_end, b),
                            vn_ip4_str(n->subnet, b), n->prefix);
    if (n->dhcp_end - n->dhcp_start >= 65536)
        return vn_conf_fail(err, n->src, "network '%s': dhcp.range holds more than 65536 addresses "
                            "(a lease table is allocated for all of them)", n->name);
    for (unsigned i = 0; i < n->nhosts; i++) {
        struct vn_dhcp_host *h = &n->hosts[i];
        if (!h->has_mac && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp host: give a 'mac' (and 'ip'/'name')");
        if (!h->has_mac && !h->ip)
            return vn_conf_fail(err, h->src,
                                "dhcp host '%s': a name alone matches nothing; give its 'mac' "
                                "(a reservation) or its 'ip' (a DNS name)", h->name);
        if (h->ip && !IN_SUBNET(h->ip))
            return vn_conf_fail(err, h->src, "dhcp host: ip %s is not inside the subnet",
                                vn_ip4_str(h->ip, a));
        if (h->ip && (h->ip == n->gateway || h->ip == n->dns_addr))
            return vn_conf_fail(err, h->src, "dhcp host: ip %s is the gateway's own address",
                                vn_ip4_str(h->ip, a));
        if (h->has_mac && !h->ip && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp host: give an 'ip' or a 'name' for the MAC");
        for (unsigned j = 0; j < i; j++) {
            if (h->has_mac && n->hosts[j].has_mac && !memcmp(h->mac, n->hosts[j].mac, 6))
                return vn_conf_fail(err, h->src, "dhcp host: MAC listed twice");
            if (h->ip && h->ip == n->hosts[j].ip)
                return vn_conf_fail(err, h->src, "dhcp host: ip %s listed twice",
                                    vn_ip4_str(h->ip, a));
        }
    }
    for (unsigned i = 0; i < n->nforwards; i++) {
        struct vn_forward_conf *f = &n->forwards[i];
        if (n->mode != VN_MODE_NAT)
            return vn_conf_fail(err, f->src, "forwards need a nat network");
        if (!f->proto || !f->host.family || !f->guest_port)
            return vn_conf_fail(err, f->src, "forward: needs proto, host and guest");
        if (!f->guest_ip)
            f->guest_ip = n->dhcp_start;
        if (!IN_SUBNET(f->guest_ip))
            return vn_conf_fail(err, f->src, "forward: guest %s is not inside the subnet",
                                vn_ip4_str(f->guest_ip, a));
    }
#undef IN_SUBNET
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
        if (validate_services(n, err))
            return -1;
    }
    /* A host listener can serve one forward only. */
    for (unsigned i = 0; i < c->nnets; i++)
        for (unsigned f = 0; f < c->nets[i].nforwards; f++)
            for (unsigned j = 0; j <= i; j++)
                for (unsigned g = 0; g < (j == i ? f : c->nets[j].nforwards); g++) {
                    const struct vn_forward_conf *a = &c->nets[i].forwards[f],
                                                 *b = &c->nets[j].forwards[g];
                    if (a->proto == b->proto && a->host.port == b->host.port &&
                        a->host.family == b->host.family &&
                        !memcmp(a->host.addr, b->host.addr, 16)) {
                        char hs[64];
                        return vn_conf_fail(err, a->src, "forward: %s %s is already forwarded",
                                            a->proto == IPPROTO_TCP ? "tcp" : "udp",
                                            vn_sockaddr_str(&a->host, hs, sizeof hs));
                    }
                }
    if (add_uplink_ports(c, err))
        return -1;
    for (unsigned i = 0; i < c->nports; i++) {
        struct vn_port_conf *p = &c->ports[i];
        if (vn_conf_validate_port(c, p, err))
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
    for (unsigned i = 0; i < c->nmirrors; i++) {
        struct vn_mirror_conf *m = &c->mirrors[i];
        bool to_ok = false;
        if (!m->name[0] || !m->to[0] || !m->nfrom)
            return vn_conf_fail(err, m->src, "mirror: needs name, from and to");
        for (unsigned j = 0; j < c->nports; j++)
            to_ok |= !strcmp(c->ports[j].name, m->to);
        if (!to_ok)
            return vn_conf_fail(err, m->src, "mirror '%s': port '%s' is not defined", m->name,
                                m->to);
        for (unsigned k = 0; k < m->nfrom; k++) {
            bool ok = false;
            for (unsigned j = 0; j < c->nports; j++)
                ok |= !strcmp(c->ports[j].name, m->from[k]);
            if (!ok)
                return vn_conf_fail(err, m->src, "mirror '%s': port '%s' is not defined",
                                    m->name, m->from[k]);
            if (!strcmp(m->from[k], m->to))
                return vn_conf_fail(err, m->src, "mirror '%s': port '%s' cannot mirror to itself",
                                    m->name, m->to);
        }
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->mirrors[j].name, m->name))
                return vn_conf_fail(err, m->src, "mirror '%s' is defined twice", m->name);
    }
    if (!c->state_dir[0]) {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (geteuid() == 0)
            snprintf(c->state_dir, sizeof c->state_dir, "/var/lib/vnet");
        else if (xdg && *xdg)
            snprintf(c->state_dir, sizeof c->state_dir, "%.200s/vnet", xdg);
        else if (home && *home)
            snprintf(c->state_dir, sizeof c->state_dir, "%.200s/.local/state/vnet", home);
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
    n->mode = VN_MODE_NAT;
    struct vn_port_conf *p = vn_conf_add_port(c, src, err);
    if (!p)
        return -1;
    vn_strlcpy(p->name, "vm", sizeof p->name);
    p->type = VN_PORT_STREAM;
    vn_strlcpy(p->network, "default", sizeof p->network);
    return 0;
}
