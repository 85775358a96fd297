/* Value parsers of the config: names, numbers, strings, booleans, IPv4
 * addresses, prefixes and ranges, port ranges, host socket addresses and
 * rates (see values.h; the schema in schema.c picks one per key). */
#include "values.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int vn_val_name(char *dst, const char *val, struct vn_conf_src src, const char *what,
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
    vn_strlcpy(dst, val, VN_NAME_MAX);
    return 0;
}

int vn_val_u32(uint32_t *dst, const char *key, const char *val, uint64_t min, uint64_t max,
               struct vn_conf_src src, struct vn_conf_err *err)
{
    uint64_t v;
    if (vn_parse_uint(val, min, max, &v))
        return vn_conf_fail(err, src, "%s: '%s' is not a whole number from %llu to %llu", key, val,
                            (unsigned long long)min, (unsigned long long)max);
    *dst = (uint32_t)v;
    return 0;
}

int vn_val_str(char *dst, size_t n, const char *key, const char *val, struct vn_conf_src src,
               struct vn_conf_err *err)
{
    if (!*val)
        return vn_conf_fail(err, src, "%s: must not be empty", key);
    if (vn_strlcpy(dst, val, n) >= n)
        return vn_conf_fail(err, src, "%s: '%s' is too long (at most %zu characters)", key, val,
                            n - 1);
    return 0;
}

int vn_val_bool(bool *dst, const char *key, const char *val, struct vn_conf_src src,
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

int vn_val_addr(struct vn_addr *dst, const char *key, const char *val, struct vn_conf_src src,
                struct vn_conf_err *err)
{
    memset(dst, 0, sizeof *dst);
    if (inet_pton(AF_INET, val, dst->a) == 1)
        dst->family = AF_INET;
    else if (inet_pton(AF_INET6, val, dst->a) == 1)
        dst->family = AF_INET6;
    else
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 or IPv6 address", key, val);
    return 0;
}

int vn_val_ip4(uint32_t *dst, const char *key, const char *val, struct vn_conf_src src,
               struct vn_conf_err *err)
{
    if (vn_ip4_parse(val, dst))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 address", key, val);
    return 0;
}

bool vn_val_ifname_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '/' || *s == ':' || isspace((unsigned char)*s))
            return false;
    return true;
}

bool vn_val_dns_name_ok(const char *s)
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

int vn_val_prefix(uint32_t *addr, uint8_t *len, const char *key, const char *val,
                  struct vn_conf_src src, struct vn_conf_err *err)
{
    char ip[32];
    const char *slash = strchr(val, '/');
    uint64_t pfx;
    if (!slash || (size_t)(slash - val) >= sizeof ip || vn_parse_uint(slash + 1, 8, 30, &pfx))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 prefix like 10.0.2.0/24 "
                                      "(prefix length 8 to 30)", key, val);
    memcpy(ip, val, (size_t)(slash - val));
    ip[slash - val] = 0;
    uint32_t a;
    if (vn_ip4_parse(ip, &a))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 address", key, ip);
    uint32_t mask = ~0u << (32 - pfx);
    if (a & ~mask)
        return vn_conf_fail(err, src, "%s: '%s' has host bits set (did you mean %s/%u?)", key,
                            val, vn_ip4_str(a & mask, ip), (unsigned)pfx);
    *addr = a;
    *len = (uint8_t)pfx;
    return 0;
}

int vn_val_ip4_range(uint32_t *first, uint32_t *last, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err)
{
    char a[32], b[32];
    const char *dash = strchr(val, '-');
    if (!dash || (size_t)(dash - val) >= sizeof a || strlen(dash + 1) >= sizeof b)
        return vn_conf_fail(err, src, "%s: '%s' is not FIRST-LAST", key, val);
    memcpy(a, val, (size_t)(dash - val));
    a[dash - val] = 0;
    vn_strlcpy(b, dash + 1, sizeof b);
    if (vn_ip4_parse(a, first) || vn_ip4_parse(b, last))
        return vn_conf_fail(err, src, "%s: '%s' is not two IPv4 addresses", key, val);
    if (*first > *last)
        return vn_conf_fail(err, src, "%s: '%s' ends before it starts", key, val);
    return 0;
}

int vn_val_ip6_range(struct vn_addr *first, struct vn_addr *last, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    char a[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN];
    const char *dash = strchr(val, '-');
    if (!dash || (size_t)(dash - val) >= sizeof a || strlen(dash + 1) >= sizeof b)
        return vn_conf_fail(err, src, "%s: '%s' is not FIRST-LAST", key, val);
    memcpy(a, val, (size_t)(dash - val));
    a[dash - val] = 0;
    vn_strlcpy(b, dash + 1, sizeof b);
    struct vn_addr x, y;
    if (vn_addr_parse(a, &x) || vn_addr_parse(b, &y) || x.family != AF_INET6 ||
        y.family != AF_INET6)
        return vn_conf_fail(err, src, "%s: '%s' is not two IPv6 addresses", key, val);
    if (memcmp(x.a, y.a, 16) > 0)
        return vn_conf_fail(err, src, "%s: '%s' ends before it starts", key, val);
    *first = x;
    *last = y;
    return 0;
}

int vn_val_duid(uint8_t *dst, uint8_t *len, const char *key, const char *val,
                struct vn_conf_src src, struct vn_conf_err *err)
{
    uint8_t d[VN_DUID_MAX];
    size_t n = 0;
    const char *s = val;
    for (;;) {
        if (!isxdigit((unsigned char)s[0]) || !isxdigit((unsigned char)s[1]) || n == sizeof d)
            goto bad;
        unsigned v;
        sscanf(s, "%2x", &v);
        d[n++] = (uint8_t)v;
        s += 2;
        if (!*s)
            break;
        if (*s++ != ':')
            goto bad;
    }
    if (n < VN_DUID_MIN)
        goto bad;
    memcpy(dst, d, n);
    *len = (uint8_t)n;
    return 0;
bad:
    return vn_conf_fail(err, src, "%s: '%s' is not a DUID (%d to %d hex bytes separated by ':', "
                        "e.g. 00:03:00:01:52:54:00:12:34:56)", key, val, VN_DUID_MIN, VN_DUID_MAX);
}

int vn_val_port_range(uint16_t r[2], const char *key, const char *val, struct vn_conf_src src,
                      struct vn_conf_err *err)
{
    uint64_t lo, hi;
    char a[16], b[16] = "";
    const char *dash = strchr(val, '-');
    size_t al = dash ? (size_t)(dash - val) : strlen(val);
    if (al >= sizeof a || (dash && strlen(dash + 1) >= sizeof b))
        return vn_conf_fail(err, src, "%s: '%s' is not PORT or LOW-HIGH", key, val);
    memcpy(a, val, al);
    a[al] = 0;
    if (dash)
        vn_strlcpy(b, dash + 1, sizeof b);
    if (vn_parse_uint(a, 1, 65535, &lo) || (dash && vn_parse_uint(b, 1, 65535, &hi)))
        return vn_conf_fail(err, src, "%s: '%s' is not PORT or LOW-HIGH (1-65535)", key, val);
    if (!dash)
        hi = lo;
    if (hi < lo)
        return vn_conf_fail(err, src, "%s: '%s': range ends before it starts", key, val);
    r[0] = (uint16_t)lo;
    r[1] = (uint16_t)hi;
    return 0;
}

void vn_conf_runtime_dir(char *buf, size_t n)
{
    const char *xdg = getenv("XDG_RUNTIME_DIR");
    if (geteuid() == 0)
        snprintf(buf, n, "/run/vnet");
    else if (xdg && *xdg)
        snprintf(buf, n, "%s/vnet", xdg);
    else
        snprintf(buf, n, "/tmp/vnet-%u", (unsigned)geteuid());
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
    if (inet_pton(AF_INET, host, out->ip.a) == 1)
        out->ip.family = AF_INET;
    else if (inet_pton(AF_INET6, host, out->ip.a) == 1)
        out->ip.family = AF_INET6;
    else
        return -1;
    return 0;
}

char *vn_sockaddr_str(const struct vn_sockaddr *a, char *buf, size_t n)
{
    char h[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->ip.family == AF_INET6 ? AF_INET6 : AF_INET, a->ip.a, h, sizeof h);
    snprintf(buf, n, a->ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", h, a->port);
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
