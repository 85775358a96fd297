/* The vnetctl commands that create files themselves and hand vnetd the
 * descriptor: port add (a stream or dgram port's socket, for a user other
 * than root), port del (removing that socket file again) and capture (the
 * pcap file).
 *
 * vnetd runs as root and never creates a file where an unprivileged client
 * names it: vnetctl creates it with the user's own rights (never through a
 * symbolic link) and passes the open descriptor with SCM_RIGHTS (call.c),
 * the request saying "fd": true. vnetd then only ever writes to, or
 * accepts on, what the user could open anyway. */
#include "call.h"
#include "commands.h"
#include "core/unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* A socket file vnetctl bound for a port add that the daemon has not yet
 * accepted: removed if vnetctl exits on an error. */
static const char *g_unlink_on_exit;

static void unlink_on_exit(void)
{
    if (g_unlink_on_exit)
        unlink(g_unlink_on_exit);
}

/* The value of key in a port spec "NAME,key=value,..." into buf; 0 or -1. */
static int spec_value(const char *spec, const char *key, char *buf, size_t n)
{
    size_t kl = strlen(key);
    for (const char *s = strchr(spec, ','); s; s = strchr(s, ',')) {
        s++;
        if (!strncmp(s, key, kl) && s[kl] == '=') {
            const char *v = s + kl + 1, *e = strchrnul(v, ',');
            if ((size_t)(e - v) >= n)
                return -1;
            memcpy(buf, v, (size_t)(e - v));
            buf[e - v] = 0;
            return 0;
        }
    }
    return -1;
}

/* Bind (and for stream, listen on) the unix socket path with our own
 * rights, replacing a stale socket file nobody serves. Returns the fd or -1
 * after printing why. */
static int bind_own_socket(const char *path, int type)
{
    char err[512];
    int fd = vn_unix_bind(path, type, err, sizeof err);
    if (fd >= 0 && type == SOCK_STREAM && listen(fd, 4) < 0) {
        snprintf(err, sizeof err, "cannot listen on '%.300s': %s", path, strerror(errno));
        close(fd);
        unlink(path);
        fd = -1;
    }
    if (fd < 0)
        fprintf(stderr, "vnetctl: %s\n", err);
    return fd;
}

/* port add SPEC ({"cmd":"port.add","spec":SPEC}). A user other than root
 * binds a stream or dgram port's socket itself and sends it along, the
 * request then saying "fd": true; root lets the daemon bind it. */
json_t *exchange_port_add(const struct vnetctl *o, json_t *req)
{
    const char *spec = json_string_value(json_object_get(req, "spec"));
    static char path[256]; /* outlives this call: unlink_on_exit may need it */
    char type[16] = "";
    int fd = -1;
    if (geteuid() != 0 && spec && !spec_value(spec, "type", type, sizeof type) &&
        (!strcmp(type, "stream") || !strcmp(type, "dgram")) &&
        !spec_value(spec, "path", path, sizeof path)) {
        if ((fd = bind_own_socket(path, !strcmp(type, "stream") ? SOCK_STREAM : SOCK_DGRAM)) < 0)
            exit(1);
        json_object_set_new(req, "fd", json_true());
        g_unlink_on_exit = path; /* until the daemon has taken it */
        atexit(unlink_on_exit);
    }
    json_t *res = call_fd(o->control, req, fd);
    g_unlink_on_exit = NULL;
    if (fd >= 0)
        close(fd);
    return res;
}

/* port del NAME: a socket file we bound (the daemon says so with
 * "keep_path") is ours to remove, if it is still a socket of ours. */
json_t *exchange_port_del(const struct vnetctl *o, json_t *req)
{
    json_t *res = call(o->control, req);
    const char *p = json_string_value(json_object_get(res, "path"));
    struct stat st;
    if (p && json_is_true(json_object_get(res, "keep_path")) && lstat(p, &st) == 0 &&
        S_ISSOCK(st.st_mode) && st.st_uid == geteuid())
        unlink(p);
    return res;
}

static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* A non-negative decimal count of the option opt into *out; 0 or -1. */
static int capture_number(const struct command *c, const char *opt, const char *v, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < 0) {
        cmd_wrong(c, "%s wants a number, not '%s'", opt, v);
        return -1;
    }
    *out = n;
    return 0;
}

/* capture TARGET -w FILE [-c N] [--duration S] [-s|--snaplen N]
 * [--direction in|out|both]: open FILE, start a capture in the daemon
 * writing to it (capture.start), poll capture.list every 200 ms until it is
 * no longer running (Ctrl-C: capture.stop), print how it ended. Exits 1 if
 * the capture failed. */
int run_capture(const struct command *c, const struct vnetctl *o, int ac, char **av)
{
    const char *target = NULL, *file = NULL, *dir = "both";
    long long count = 0, dur = 0, snap = 0;
    for (int i = 0; i < ac; i++) {
        const char *a = av[i];
        const char *v = i + 1 < ac ? av[i + 1] : NULL;
        if ((!strcmp(a, "-w") || !strcmp(a, "--write")) && v)
            file = v, i++;
        else if ((!strcmp(a, "-c") || !strcmp(a, "--count")) && v) {
            if (capture_number(c, a, v, &count) < 0)
                return 2;
            i++;
        } else if (!strcmp(a, "--duration") && v) {
            if (capture_number(c, a, v, &dur) < 0)
                return 2;
            i++;
        } else if ((!strcmp(a, "-s") || !strcmp(a, "--snaplen")) && v) {
            if (capture_number(c, a, v, &snap) < 0)
                return 2;
            i++;
        } else if (!strcmp(a, "--direction") && v)
            dir = v, i++;
        else if (a[0] != '-' && !target)
            target = a;
        else {
            static const char *const opts[] = { "-w", "--write", "-c", "--count", "--duration",
                                                "-s", "--snaplen", "--direction" };
            int known = 0;
            for (size_t k = 0; k < sizeof opts / sizeof opts[0]; k++)
                known |= !strcmp(a, opts[k]);
            cmd_wrong(c, known ? "%s wants a value" : "unexpected '%s'", a);
            return 2;
        }
    }
    if (!target || !file) {
        cmd_wrong(c, "%s", !target ? "no PORT or NETWORK" : "no -w FILE");
        return 2;
    }
    /* The file is ours to open, with our own rights (never the daemon's),
     * and never through a symbolic link someone planted; the daemon gets the
     * open descriptor. */
    int cfd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (cfd < 0) {
        fprintf(stderr, "vnetctl: cannot write '%s': %s\n", file,
                errno == ELOOP ? "it is a symbolic link (not followed)" : strerror(errno));
        return 1;
    }
    char abs[4096];
    if (file[0] != '/') {
        if (strlen(file) + 2 >= sizeof abs || !getcwd(abs, sizeof abs - 1 - strlen(file) - 1)) {
            fprintf(stderr, "vnetctl: getcwd failed\n");
            return 1;
        }
        strcat(abs, "/");
        strcat(abs, file);
        file = abs;
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:s}", "cmd", "capture.start",
                            "target", target, "file", file, "fd", 1, "count", (json_int_t)count,
                            "duration", (json_int_t)dur, "snaplen", (json_int_t)snap,
                            "direction", dir);
    if (!req) {
        close(cfd);
        cmd_wrong(c, "the arguments are not valid UTF-8");
        return 2;
    }
    json_t *res = call_fd(o->control, req, cfd);
    close(cfd);
    json_decref(req);
    char id[64];
    snprintf(id, sizeof id, "%s", jstr(res, "id"));
    json_decref(res);
    fprintf(stderr, "capturing on %s into %s (Ctrl-C to stop)\n", target, file);
    signal(SIGINT, on_sigint);
    signal(SIGTERM, on_sigint);
    json_t *cap = NULL;
    for (;;) {
        if (g_interrupted) {
            req = json_pack("{s:s,s:s}", "cmd", "capture.stop", "id", id);
            cap = call(o->control, req);
            json_decref(req);
            break;
        }
        req = json_pack("{s:s}", "cmd", "capture.list");
        json_t *l = call(o->control, req);
        json_decref(req);
        size_t i;
        json_t *e;
        json_array_foreach(l, i, e)
            if (!strcmp(jstr(e, "name"), id))
                cap = json_incref(json_object_get(e, "capture"));
        json_decref(l);
        if (!cap || strcmp(jstr(cap, "state"), "running"))
            break;
        json_decref(cap);
        cap = NULL;
        usleep(200000);
    }
    if (!cap) {
        fprintf(stderr, "vnetctl: the capture disappeared\n");
        return 1;
    }
    int failed = !strcmp(jstr(cap, "state"), "failed");
    if (o->json)
        print_json(cap);
    else
        printf("%lld frames (%lld bytes) written to %s: %s\n", jint(cap, "frames"),
               jint(cap, "bytes"), jstr(cap, "file"), jstr(cap, "reason"));
    json_decref(cap);
    return failed ? 1 : 0;
}
