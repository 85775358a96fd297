/* DHCPv4 lease file: load and atomic save; see dhcp4_lease.h. */
#include "dhcp4_lease.h"
#include "core/syscalls.h"

#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

VN_SYSCALLS("rename", "renameat", "renameat2", "fsync", "fdatasync");

static const char *const state_names[] = { "free", "offered", "bound", "released", "declined" };
_Static_assert(VN_ARRAY_LEN(state_names) == VN_LEASE__COUNT, "a lease state without a name");

const char *vn_lease_state_name(const struct vn_lease *l, int64_t now)
{
    if (l->state == VN_LEASE_BOUND && l->expires <= now)
        return "expired";
    if (l->state == VN_LEASE_OFFERED && l->expires <= now)
        return "expired";
    return l->state < VN_ARRAY_LEN(state_names) ? state_names[l->state] : "?";
}

int vn_mkdir_p(const char *path)
{
    char buf[4096];
    if (vn_strlcpy(buf, path, sizeof buf) >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, 0755) && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0755) && errno != EEXIST)
        return -1;
    return 0;
}

/* Fill entry l from one JSON lease object; the address is already checked. */
static void load_entry(struct vn_lease *l, const uint8_t mac[6], json_t *e)
{
    const char *st = json_string_value(json_object_get(e, "state"));
    const char *hn = json_string_value(json_object_get(e, "hostname"));
    memcpy(l->mac, mac, 6);
    l->has_mac = true;
    l->expires = json_integer_value(json_object_get(e, "expires"));
    l->changed = json_integer_value(json_object_get(e, "changed"));
    l->state = st && !strcmp(st, "bound") ? VN_LEASE_BOUND : VN_LEASE_RELEASED;
    if (hn)
        vn_strlcpy(l->hostname, hn, sizeof l->hostname);
}

/* Set a file that cannot be used aside so it is not overwritten. */
static int set_aside(const char *path, char *err, size_t errlen, const char *why)
{
    char bad[4200];
    snprintf(bad, sizeof bad, "%s.corrupt", path);
    int r = rename(path, bad);
    snprintf(err, errlen, "%s: %s; %s", path, why,
             r ? "could not be set aside" : "set aside as .corrupt, starting with no leases");
    return -1;
}

int vn_lease_load(const char *path, struct vn_lease *pool, uint32_t npool, uint32_t start,
                  struct vn_lease *statics, unsigned nstatic, char *err, size_t errlen)
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
        const char *ms = json_string_value(json_object_get(e, "mac"));
        const char *is = json_string_value(json_object_get(e, "ip"));
        uint8_t mac[6];
        uint32_t ip;
        if (!ms || !is || vn_mac_parse(ms, mac) || vn_ip4_parse(is, &ip))
            continue; /* an entry we cannot read is skipped, not fatal */
        struct vn_lease *l = NULL;
        for (unsigned k = 0; k < nstatic && !l; k++)
            if (statics[k].ip == ip && statics[k].has_mac && !memcmp(statics[k].mac, mac, 6))
                l = &statics[k];
        if (!l && ip - start < npool && !pool[ip - start].reserved)
            l = &pool[ip - start];
        if (!l)
            continue; /* the configuration changed: no longer ours */
        bool keep_static_name = l->is_static && l->hostname[0];
        char name[64];
        memcpy(name, l->hostname, sizeof name);
        load_entry(l, mac, e);
        if (keep_static_name)
            memcpy(l->hostname, name, sizeof name);
        loaded++;
    }
    json_decref(root);
    return loaded;
}

/* JSON object of one entry for the file. */
static json_t *entry_json(const struct vn_lease *l)
{
    char m[18], a[16];
    return json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "mac", vn_mac_str(l->mac, m), "ip",
                     vn_ip4_str(l->ip, a), "hostname", l->hostname, "state",
                     l->state == VN_LEASE_BOUND ? "bound" : "released", "expires",
                     (json_int_t)l->expires, "changed", (json_int_t)l->changed);
}

static bool worth_saving(const struct vn_lease *l)
{
    return l->has_mac && (l->state == VN_LEASE_BOUND || l->state == VN_LEASE_RELEASED);
}

int vn_lease_save(const char *path, const char *network, const struct vn_lease *pool,
                  uint32_t npool, const struct vn_lease *statics, unsigned nstatic, char *err,
                  size_t errlen)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; i < npool; i++)
        if (worth_saving(&pool[i]))
            json_array_append_new(arr, entry_json(&pool[i]));
    for (unsigned i = 0; i < nstatic; i++)
        if (worth_saving(&statics[i]))
            json_array_append_new(arr, entry_json(&statics[i]));
    json_t *root = json_pack("{s:i, s:s, s:o}", "version", 1, "network", network, "leases", arr);
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    if (!text) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        free(text);
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
    free(text);
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
