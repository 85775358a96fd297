/* Unix socket helpers: see unixsock.h. */
#include "unixsock.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIX_PATH_MAX 108 /* sun_path */

/* mkdir -p for the parent directory of path (mode 0755). */
static int make_parent(const char *path)
{
    char dir[UNIX_PATH_MAX];
    vn_strlcpy(dir, path, sizeof dir);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = 0;
    for (char *s = dir + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        if (mkdir(dir, 0755) == 0)
            chmod(dir, 0755); /* whatever the umask */
        else if (errno != EEXIST)
            return -1;
        *s = '/';
    }
    if (mkdir(dir, 0755) == 0)
        chmod(dir, 0755);
    else if (errno != EEXIST)
        return -1;
    return 0;
}

int vn_unix_bind(const char *path, int type, char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (vn_strlcpy(sa.sun_path, path, sizeof sa.sun_path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "socket path '%s' is too long", path);
        return -1;
    }
    if (make_parent(path) < 0) {
        snprintf(err, errlen, "cannot create the directory of '%s': %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "'%s' exists and is not a socket", path);
            return -1;
        }
        /* A socket file: in use if something accepts connections or datagrams. */
        int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        int live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (probe >= 0)
            close(probe);
        if (live) {
            snprintf(err, errlen, "'%s' is in use by another process", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        snprintf(err, errlen, "cannot bind '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
