/* DHCPv6 lease file: load and atomic save; see dhcp6_lease.h. */
#include "dhcp6_lease.h"
#include "core/syscalls.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

VN_SYSCALLS("rename", "renameat", "renameat2", "fsync", "fdatasync");

static const char *const state_names[] = { "free", "offered", "bound", "released", "declined" };
_Static_assert(VN_ARRAY_LEN(state_names) == VN_LEASE6__COUNT, "a lease state without a name");

const char *vn_lease6_state_name(const struct vn_lease6 *l, int64_t now)
{
    if ((l->state == VN_LEASE6_BOUND || l->state == VN_LEASE6_OFFERED) && l->expires <= now)
        return "expired";
    return l->state < VN_ARRAY_LEN(state_names) ? state_names[l->state] : "?";
}

char *vn_duid_hex(const uint8_t *duid, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[duid[i] >> 4];
        out[2 * i + 1] = hex[duid[i] & 15];
    }
    out[2 * len] = 0;
    return out;
}

int vn_duid_parse(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (*s == ':' && n) {
            s++;
            continue;
        }
        int hi = vn_hexval(s[0]), lo = hi < 0 ? -1 : vn_hexval(s[1]);
        if (lo < 0 || n == cap)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return n ? (int)n : -1;
}

static int set_aside(const char *path, char *err, size_t errlen, const char *why)
{
    char bad[4200];
    snprintf(bad, sizeof bad, "%s.corrupt", path);
    int r = rename(path, bad);
    snprintf(err, errlen, "%s: %s; %s", path, why,
             r ? "could not be set aside" : "set aside as .corrupt, starting with no leases");
    return -1;
}

/* One lease of the file into l; -1 when an entry cannot be read. */
static int read_entry(json_t *e, struct vn_lease6 *l)
{
    memset(l, 0, sizeof *l);
    const char *ds = json_string_value(json_object_get(e, "duid"));
    const char *is = json_string_value(json_object_get(e, "ip"));
    const char *ms = json_string_value(json_object_get(e, "mac"));
    json_t *iaid = json_object_get(e, "iaid");
    int n = ds ? vn_duid_parse(ds, l->duid, sizeof l->duid) : -1;
    if (n < VN_DHCP6_DUID_MIN || !is || vn_addr_parse(is, &l->addr) ||
        l->addr.family != AF_INET6 || !json_is_integer(iaid) || json_integer_value(iaid) < 0 ||
        json_integer_value(iaid) > (json_int_t)UINT32_MAX)
        return -1;
    l->duid_len = (uint8_t)n;
    l->iaid = (uint32_t)json_integer_value(iaid);
    l->has_mac = ms && !vn_mac_parse(ms, l->mac);
    l->expires = json_integer_value(json_object_get(e, "expires"));
    l->changed = json_integer_value(json_object_get(e, "changed"));
    l->state = VN_LEASE6_BOUND;
    l->host = -1;
    l->slot = VN_LEASE6_NO_SLOT;
    return 0;
}

int vn_lease6_load(const char *path, int64_t now,
                   void (*add)(void *ctx, const struct vn_lease6 *l), void *ctx, char *err,
                   size_t errlen)
{
    if (access(path, F_OK) && errno == ENOENT)
        return 0;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        char why[300];
        snprintf(why, sizeof why, "line %d: %s", je.line, je.text);
        return set_aside(path, err, errlen, why);
    }
    json_t *arr = json_object_get(root, "leases");
    if (!json_is_array(arr)) {
        json_decref(root);
        return set_aside(path, err, errlen, "no \"leases\" array");
    }
    int loaded = 0;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        struct vn_lease6 l;
        const char *st = json_string_value(json_object_get(e, "state"));
        if (read_entry(e, &l) || !st || strcmp(st, "bound") || l.expires <= now)
            continue; /* unreadable or over: skipped, not fatal */
        add(ctx, &l);
        loaded++;
    }
    json_decref(root);
    return loaded;
}

static json_t *entry_json(const struct vn_lease6 *l)
{
    char d[2 * VN_DHCP6_DUID_MAX + 1], a[VN_ADDR_STRLEN], m[18];
    json_t *o = json_pack("{s:s, s:I, s:s, s:s, s:I, s:I}", "duid",
                          vn_duid_hex(l->duid, l->duid_len, d), "iaid", (json_int_t)l->iaid,
                          "ip", vn_addr_str(&l->addr, a, sizeof a), "state", "bound", "expires",
                          (json_int_t)l->expires, "changed", (json_int_t)l->changed);
    if (o && l->has_mac)
        json_object_set_new(o, "mac", json_string(vn_mac_str(l->mac, m)));
    return o;
}

/* Write text to path through path.tmp, fsync and rename. */
static int write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = ENOSPC;
            break;
        }
        off += (size_t)w;
    }
    const char *step = off < len ? "write" : fsync(fd) ? "fsync" : NULL;
    int e = errno;
    if (close(fd) && !step) {
        step = "close";
        e = errno;
    }
    if (!step && rename(tmp, path)) {
        step = "rename";
        e = errno;
    }
    if (step) {
        snprintf(err, errlen, "%s: %s: %s", path, step, strerror(e));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int vn_lease6_save(const char *path, const char *network, const struct vn_lease6 *e, uint32_t n,
                   int64_t now, char *err, size_t errlen)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < n; i++)
        if (e[i].duid_len && vn_lease6_active(&e[i], now))
            json_array_append_new(arr, entry_json(&e[i]));
    json_t *root = json_pack("{s:i, s:s, s:o}", "version", 1, "network", network, "leases", arr);
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int r = write_atomic(path, text, err, errlen);
    free(text);
    return r;
}
