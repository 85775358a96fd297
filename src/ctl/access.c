/* What a non-privileged control client may name: see access.h. */
#include "access.h"
#include "core/syscalls.h"
#include "conf/config.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

VN_SYSCALLS("fstatfs", "statfs");

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* Whether a directory is the daemon's alone (its user owns it, nobody else
 * may write it). */
static bool daemon_owned_dir(const struct stat *st)
{
    return S_ISDIR(st->st_mode) && st->st_uid == geteuid() && !(st->st_mode & 022);
}

int vn_access_socket_path(const char *run_dir, const char *path, char *err, size_t errlen)
{
    size_t rl = strlen(run_dir);
    while (rl > 1 && run_dir[rl - 1] == '/')
        rl--;
    if (!rl || path[0] != '/' || strncmp(path, run_dir, rl) || path[rl] != '/' || !path[rl + 1]) {
        snprintf(err, errlen, "permission denied: a group member's socket path must be inside "
                              "the daemon's run directory %.*s (or bind it yourself and pass "
                              "the descriptor, as vnetctl does)", (int)rl, run_dir);
        return -1;
    }
    struct stat st;
    char dir[VN_PATH_MAX];
    if (rl >= sizeof dir || stat(run_dir, &st) < 0 || !daemon_owned_dir(&st)) {
        snprintf(err, errlen, "permission denied: the run directory %.*s is not the daemon's "
                              "alone (owned by it, not writable by others), so it lends no "
                              "paths; pass a bound socket instead", (int)rl, run_dir);
        return -1;
    }
    /* Walk the components below the run directory. */
    memcpy(dir, path, rl);
    size_t dl = rl;
    for (const char *s = path + rl + 1;;) {
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (!n || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) {
            snprintf(err, errlen, "socket path '%s' has an empty, '.' or '..' component", path);
            return -1;
        }
        if (dl + 1 + n >= sizeof dir) {
            snprintf(err, errlen, "socket path '%s' is too long", path);
            return -1;
        }
        dir[dl++] = '/';
        memcpy(dir + dl, s, n);
        dl += n;
        dir[dl] = 0;
        if (!*e)
            break; /* the socket itself: vn_unix_bind() checks what is there */
        if (lstat(dir, &st) == 0) {
            if (!daemon_owned_dir(&st)) {
                snprintf(err, errlen, "permission denied: '%s' is a link, not a directory, or "
                                      "not the daemon's alone", dir);
                return -1;
            }
        } else if (errno != ENOENT) {
            snprintf(err, errlen, "'%s': %s", dir, strerror(errno));
            return -1;
        }
        s = e + 1;
    }
    if (lstat(path, &st) == 0 && (S_ISLNK(st.st_mode) || st.st_uid != geteuid())) {
        snprintf(err, errlen, "permission denied: '%s' exists and is not the daemon's", path);
        return -1;
    }
    return 0;
}

int vn_access_netns(const char *path, uid_t uid, char *err, size_t errlen)
{
    /* O_PATH opens nothing (no device side effects); check that it is a
     * namespace before really opening it through its descriptor. */
    int pfd = open(path, O_PATH | O_CLOEXEC);
    if (pfd < 0) {
        snprintf(err, errlen, "cannot open netns '%s': %s", path, strerror(errno));
        return -1;
    }
    struct statfs sf;
    if (fstatfs(pfd, &sf) < 0 || sf.f_type != NSFS_MAGIC) {
        snprintf(err, errlen, "'%s' is not a namespace", path);
        close(pfd);
        return -1;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
    int fd = open(proc, O_RDONLY | O_CLOEXEC);
    close(pfd);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open netns '%s': %s", path, strerror(errno));
        return -1;
    }
    if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
        snprintf(err, errlen, "'%s' is not a network namespace", path);
        close(fd);
        return -1;
    }
    int ufd = ioctl(fd, NS_GET_USERNS);
    uid_t owner = (uid_t)-1;
    struct stat a, b;
    bool ok = ufd >= 0 && ioctl(ufd, NS_GET_OWNER_UID, &owner) == 0 && fstat(ufd, &a) == 0 &&
              stat("/proc/self/ns/user", &b) == 0 && !(a.st_dev == b.st_dev && a.st_ino == b.st_ino) &&
              owner == uid;
    if (ufd >= 0)
        close(ufd);
    if (!ok) {
        snprintf(err, errlen, "permission denied: netns '%s' is not owned by a user namespace "
                              "of uid %u (only namespaces you could enter yourself)",
                 path, (unsigned)uid);
        close(fd);
        return -1;
    }
    return fd;
}

int vn_access_passed_socket(int fd, int type, char *err, size_t errlen)
{
    int dom = 0, ty = 0, acc = 0;
    socklen_t l1 = sizeof dom, l2 = sizeof ty, l3 = sizeof acc;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l1) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &ty, &l2) < 0 || dom != AF_UNIX || ty != type ||
        (type == SOCK_STREAM &&
         (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l3) < 0 || !acc))) {
        snprintf(err, errlen, "the passed descriptor is not a %s unix socket",
                 type == SOCK_STREAM ? "listening stream" : "bound datagram");
        return -1;
    }
    if (vn_set_nonblock(fd) < 0) {
        snprintf(err, errlen, "the passed socket: %s", strerror(errno));
        return -1;
    }
    return 0;
}

bool vn_access_port_privileged(uint16_t port)
{
    unsigned start = 1024;
    FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "re");
    if (f) {
        if (fscanf(f, "%u", &start) != 1)
            start = 1024;
        fclose(f);
    }
    return port < start;
}
