/* vnetctl's client of the control socket.
 *
 * One connection per request: connect to the unix socket, write the request
 * as one JSON line (with, for the commands that hand vnetd a file or socket
 * vnetctl opened itself, the descriptor attached to the first byte as
 * SCM_RIGHTS), read up to the first newline, and close. The reply is
 * {"ok":true,"result":...} or {"ok":false,"error":MESSAGE}; anything other
 * than a result ends vnetctl with status 1 and the message on stderr, so a
 * caller only ever sees results. */
#include "call.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void call_default_control(char *buf, size_t n)
{
    const char *env = getenv("VNET_CONTROL"), *xdg = getenv("XDG_RUNTIME_DIR");
    if (env && *env)
        snprintf(buf, n, "%s", env);
    else if (geteuid() == 0)
        snprintf(buf, n, "/run/vnet/vnetd.sock");
    else if (xdg && *xdg)
        snprintf(buf, n, "%s/vnet/vnetd.sock", xdg);
    else
        snprintf(buf, n, "/tmp/vnet-%u/vnetd.sock", (unsigned)geteuid());
}

/* Send the request line to fd, with pass_fd (if >= 0) attached to its first
 * byte as SCM_RIGHTS. Returns 0, or -1 if the daemon closed the connection
 * (its reason may still be readable); exits on other errors. */
static int send_request(int fd, const char *line, size_t len, int pass_fd)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } cm;
    for (size_t off = 0; off < len;) {
        struct iovec iov = { (char *)line + off, len - off };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
        if (off == 0 && pass_fd >= 0) {
            mh.msg_control = cm.buf;
            mh.msg_controllen = sizeof cm.buf;
            struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
            h->cmsg_level = SOL_SOCKET;
            h->cmsg_type = SCM_RIGHTS;
            h->cmsg_len = CMSG_LEN(sizeof(int));
            memcpy(CMSG_DATA(h), &pass_fd, sizeof(int));
        }
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            return -1;
        if (w < 0) {
            fprintf(stderr, "vnetctl: write: %s\n", strerror(errno));
            exit(1);
        }
        off += (size_t)w;
    }
    return 0;
}

json_t *call_fd(const char *path, json_t *req, int pass_fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vnetctl: control path too long\n");
        exit(1);
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "vnetctl: cannot connect to vnetd at %s: %s\n", path, strerror(errno));
        exit(1);
    }
    char *line = json_dumps(req, JSON_COMPACT);
    if (!line) {
        fprintf(stderr, "vnetctl: out of memory\n");
        exit(1);
    }
    size_t len = strlen(line);
    line[len] = '\n'; /* over the terminating NUL: the length is known */
    send_request(fd, line, len + 1, pass_fd);
    free(line);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf || (n == cap && !(buf = realloc(buf, cap *= 2)))) {
            fprintf(stderr, "vnetctl: out of memory\n");
            exit(1);
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (memchr(buf + n - (size_t)r, '\n', (size_t)r))
            break;
    }
    close(fd);
    json_error_t je;
    json_t *rep = json_loadb(buf, n, 0, &je);
    free(buf);
    if (!rep && n == 0) {
        fprintf(stderr, "vnetctl: vnetd at %s closed the connection without a reply\n", path);
        exit(1);
    }
    if (!rep) {
        fprintf(stderr, "vnetctl: bad reply from vnetd: %s\n", je.text);
        exit(1);
    }
    if (!json_is_true(json_object_get(rep, "ok"))) {
        const char *e = json_string_value(json_object_get(rep, "error"));
        fprintf(stderr, "vnetctl: %s\n", e ? e : "request failed");
        exit(1);
    }
    json_t *res = json_incref(json_object_get(rep, "result"));
    json_decref(rep);
    return res;
}

json_t *call(const char *path, json_t *req)
{
    return call_fd(path, req, -1);
}
