/* vnetctl: inspect and change a running vnetd over its control socket.
 * Sends one JSON request line, reads one reply line, prints it as aligned
 * columns (or raw JSON with -j). */
#include "table.h"
#include "top.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int g_json;
/* A socket file vnetctl bound for a port add that the daemon has not yet
 * accepted: removed if vnetctl exits on an error. */
static const char *g_unlink_on_exit;

static void unlink_on_exit(void)
{
    if (g_unlink_on_exit)
        unlink(g_unlink_on_exit);
}

static void default_control(char *buf, size_t n)
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

/* Send req to the daemon, with pass_fd (if >= 0) handed over with it, and
 * return its reply ("result" on success). Exits with status 1 and a message
 * on any failure. */
static json_t *call_fd(const char *path, json_t *req, int pass_fd)
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
    size_t len = strlen(line);
    line[len] = '\n';
    send_request(fd, line, len + 1, pass_fd);
    free(line);
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (n == cap && !(buf = realloc(buf, cap *= 2))) {
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

static json_t *call(const char *path, json_t *req)
{
    return call_fd(path, req, -1);
}

static const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

static long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

static long long drops_sum(json_t *o)
{
    long long s = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(o, "rx_drops"), k, v) s += json_integer_value(v);
    json_object_foreach(json_object_get(o, "tx_drops"), k, v) s += json_integer_value(v);
    return s;
}

static void print_status(json_t *r)
{
    long long up = jint(r, "uptime_s");
    printf("vnetd %s, pid %lld, up %lldd %02lld:%02lld:%02lld\n", jstr(r, "version"),
           jint(r, "pid"), up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
    printf("networks: %lld   ports: %lld (%lld connected)\n", jint(r, "networks"),
           jint(r, "ports"), jint(r, "ports_connected"));
    printf("frames: rx %lld  tx %lld  dropped %lld\n", jint(r, "rx_frames"), jint(r, "tx_frames"),
           jint(r, "drops"));
}

static void print_networks(json_t *r)
{
    struct table *t = table_new("NAME", "MODE", "VLAN", "MTU", "UPLINK", "GATEWAY", "PORTS",
                                "FDB", "FRAMES", "FLOODED", NULL);
    size_t i;
    json_t *n;
    json_array_foreach(r, i, n) {
        json_t *fdb = json_object_get(n, "fdb"), *st = json_object_get(n, "stats");
        char vlan[8], fdbs[32];
        snprintf(vlan, sizeof vlan, "%lld", jint(n, "vlan"));
        snprintf(fdbs, sizeof fdbs, "%lld/%lld", jint(fdb, "entries"), jint(fdb, "max"));
        json_t *gw = json_object_get(n, "gateway");
        table_row(t, jstr(n, "name"), jstr(n, "mode"), jint(n, "vlan") ? vlan : "-",
                  table_int(t, jint(n, "mtu")), jstr(n, "uplink"), gw ? jstr(gw, "address") : "-",
                  table_int(t, jint(n, "ports")), fdbs,
                  table_int(t, jint(st, "frames")), table_int(t, jint(st, "flooded")), NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static void port_net(json_t *p, char *buf, size_t n)
{
    if (!strcmp(jstr(p, "role"), "trunk")) {
        size_t off = 0, i;
        json_t *v;
        json_array_foreach(json_object_get(p, "networks"), i, v) {
            const char *name = json_string_value(v);
            int native = !strcmp(name, jstr(p, "native"));
            off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%s%s%s", i ? "," : "",
                                    name, native ? "*" : "");
        }
    } else {
        snprintf(buf, n, "%s", jstr(p, "network"));
    }
}

static void print_ports(json_t *r)
{
    struct table *t = table_new("NAME", "TYPE", "NETWORK", "VLAN-ROLE", "STATE", "ENDPOINT",
                                "RX", "TX", "DROPS", NULL);
    size_t i;
    json_t *p;
    json_array_foreach(r, i, p) {
        char net[256], ep[300];
        port_net(p, net, sizeof net);
        json_t *st = json_object_get(p, "stats");
        if (json_object_get(p, "ifname"))
            snprintf(ep, sizeof ep, "%s%s%s", jstr(p, "ifname"),
                     json_object_get(p, "netns") ? "@" : "",
                     json_object_get(p, "netns") ? jstr(p, "netns") : "");
        else
            snprintf(ep, sizeof ep, "%s", jstr(p, "path"));
        table_row(t, jstr(p, "name"), jstr(p, "type"), net, jstr(p, "role"),
                  json_is_true(json_object_get(p, "connected")) ? "up" : "waiting", ep,
                  table_int(t, jint(st, "rx_frames")), table_int(t, jint(st, "tx_frames")),
                  table_int(t, drops_sum(st)), NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static void print_fdb(json_t *r)
{
    struct table *t = table_new("NETWORK", "MAC", "PORT", "AGE", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e)
        table_row(t, jstr(e, "network"), jstr(e, "mac"), jstr(e, "port"),
                  table_int(t, jint(e, "age_s")), NULL);
    table_print(t, stdout);
    table_free(t);
}

static void print_leases(json_t *r)
{
    struct table *t = table_new("NETWORK", "MAC", "IP", "HOSTNAME", "EXPIRES", "STATE", NULL);
    size_t i;
    json_t *e;
    time_t now = time(NULL);
    json_array_foreach(r, i, e) {
        /* When the lease ends, or since when it is over: never "never" for
         * a lease that merely was released. */
        char exp[48] = "-";
        json_t *x = json_object_get(e, "expires_in"), *at = json_object_get(e, "expires_at");
        const char *st = jstr(e, "state");
        if (json_is_integer(x))
            snprintf(exp, sizeof exp, "in %llds", (long long)json_integer_value(x));
        else if (!strcmp(st, "declined") && json_is_integer(at) && json_integer_value(at) > now)
            snprintf(exp, sizeof exp, "quarantine %llds",
                     (long long)(json_integer_value(at) - now));
        else if (json_is_integer(json_object_get(e, "since")) && strcmp(st, "reserved"))
            snprintf(exp, sizeof exp, "%s %llds ago", st, jint(e, "since"));
        char state[40];
        snprintf(state, sizeof state, "%s%s", jstr(e, "state"),
                 json_is_true(json_object_get(e, "static")) ? ",static" : "");
        table_row(t, jstr(e, "network"), jstr(e, "mac"), jstr(e, "ip"), jstr(e, "hostname"), exp,
                  state, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static void print_conflicts(json_t *r)
{
    struct table *t = table_new("NETWORK", "ADDRESS", "CLAIMED-BY", "PORT", "HELD-BY", "HOLD",
                                "COUNT", "LAST", NULL);
    size_t i;
    json_t *e;
    time_t now = time(NULL);
    json_array_foreach(r, i, e) {
        char ago[32];
        snprintf(ago, sizeof ago, "%llds ago", (long long)(now - jint(e, "last_seen")));
        table_row(t, jstr(e, "network"), jstr(e, "address"), jstr(e, "claimer_mac"),
                  jstr(e, "port"), jstr(e, "holder_mac"), jstr(e, "held_by"),
                  table_int(t, jint(e, "count")), ago, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static void print_flows(json_t *r)
{
    struct table *t = table_new("NETWORK", "PROTO", "GUEST", "REMOTE", "STATE", "DIR",
                                "BYTES-OUT", "BYTES-IN", "AGE", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e) {
        char age[24];
        snprintf(age, sizeof age, "%llds", jint(e, "age_s"));
        table_row(t, jstr(e, "network"), jstr(e, "proto"), jstr(e, "guest"), jstr(e, "remote"),
                  jstr(e, "state"), jstr(e, "direction"), table_int(t, jint(e, "bytes_out")),
                  table_int(t, jint(e, "bytes_in")), age, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static void print_forwards(json_t *r)
{
    struct table *t = table_new("NETWORK", "PROTO", "HOST", "GUEST", "ACCEPTED", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e)
        table_row(t, jstr(e, "network"), jstr(e, "proto"), jstr(e, "host"), jstr(e, "guest"),
                  table_int(t, jint(e, "accepted")), NULL);
    table_print(t, stdout);
    table_free(t);
}

static void print_ok(json_t *r)
{
    (void)r;
    printf("ok\n");
}

/* JSON with -j, else "ok". */
static void print_result(json_t *r)
{
    if (g_json) {
        char *s = json_dumps(r, JSON_INDENT(2));
        puts(s);
        free(s);
    } else {
        print_ok(r);
    }
}

static void print_mirrors(json_t *r)
{
    struct table *t = table_new("NAME", "FROM", "DIRECTION", "TO", "FRAMES", "BYTES", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e) {
        char from[256] = "";
        size_t off = 0, k;
        json_t *v;
        json_array_foreach(json_object_get(e, "from"), k, v)
            off += (size_t)snprintf(from + off, off < sizeof from ? sizeof from - off : 0, "%s%s",
                                    k ? "," : "", json_string_value(v));
        table_row(t, jstr(e, "name"), from, jstr(e, "direction"), jstr(e, "to"),
                  table_int(t, jint(e, "frames")), table_int(t, jint(e, "bytes")), NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

static volatile sig_atomic_t g_interrupted;
static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

/* The value of key in a --port spec "NAME,key=value,..." into buf; 0 or -1. */
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
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "vnetctl: socket path '%s' is too long\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        int probe = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        int live = !S_ISSOCK(st.st_mode) ||
                   (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof sa) == 0);
        if (probe >= 0)
            close(probe);
        if (live) {
            fprintf(stderr, "vnetctl: '%s' exists and is %s\n", path,
                    S_ISSOCK(st.st_mode) ? "in use" : "not a socket");
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        (type == SOCK_STREAM && listen(fd, 4) < 0)) {
        fprintf(stderr, "vnetctl: cannot bind '%s': %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* vnetctl port add SPEC. A user other than root binds a stream or dgram
 * port's socket itself, with its own rights, and hands the daemon the
 * descriptor: the daemon never creates files where the user names them. */
static int do_port_add(const char *control, const char *spec)
{
    char type[16] = "", path[256] = "";
    json_t *req = json_pack("{s:s,s:s}", "cmd", "port.add", "spec", spec);
    int fd = -1;
    if (geteuid() != 0 && !spec_value(spec, "type", type, sizeof type) &&
        (!strcmp(type, "stream") || !strcmp(type, "dgram")) &&
        !spec_value(spec, "path", path, sizeof path)) {
        if ((fd = bind_own_socket(path, !strcmp(type, "stream") ? SOCK_STREAM : SOCK_DGRAM)) < 0)
            return 1;
        json_object_set_new(req, "fd", json_true());
        g_unlink_on_exit = path; /* until the daemon has taken it */
        atexit(unlink_on_exit);
    }
    json_t *res = call_fd(control, req, fd);
    g_unlink_on_exit = NULL;
    if (fd >= 0)
        close(fd);
    json_decref(req);
    print_result(res);
    json_decref(res);
    return 0;
}

/* vnetctl port del NAME: a socket file we bound (the daemon says so) is
 * ours to remove. */
static int do_port_del(const char *control, const char *name)
{
    json_t *req = json_pack("{s:s,s:s}", "cmd", "port.del", "port", name);
    json_t *res = call(control, req);
    json_decref(req);
    const char *p = json_string_value(json_object_get(res, "path"));
    struct stat st;
    if (p && json_is_true(json_object_get(res, "keep_path")) && lstat(p, &st) == 0 &&
        S_ISSOCK(st.st_mode) && st.st_uid == geteuid())
        unlink(p);
    print_result(res);
    json_decref(res);
    return 0;
}

/* vnetctl capture TARGET -w FILE [-c N] [--duration S] [--snaplen N]
 * [--direction in|out|both]: start a capture in the daemon, wait for it to
 * end (or Ctrl-C), print the result. */
static int do_capture(const char *control, int ac, char **av)
{
    const char *target = NULL, *file = NULL, *dir = "both";
    long long count = 0, dur = 0, snap = 0;
    for (int i = 1; i < ac; i++) {
        const char *a = av[i];
        const char *v = i + 1 < ac ? av[i + 1] : NULL;
        if ((!strcmp(a, "-w") || !strcmp(a, "--write")) && v)
            file = v, i++;
        else if ((!strcmp(a, "-c") || !strcmp(a, "--count")) && v)
            count = atoll(v), i++;
        else if (!strcmp(a, "--duration") && v)
            dur = atoll(v), i++;
        else if ((!strcmp(a, "-s") || !strcmp(a, "--snaplen")) && v)
            snap = atoll(v), i++;
        else if (!strcmp(a, "--direction") && v)
            dir = v, i++;
        else if (a[0] != '-' && !target)
            target = a;
        else {
            fprintf(stderr, "vnetctl: capture: unexpected '%s'\n", a);
            return 2;
        }
    }
    if (!target || !file) {
        fprintf(stderr, "usage: vnetctl capture PORT|NETWORK -w FILE [-c COUNT] [--duration S] "
                        "[--snaplen N] [--direction in|out|both]\n");
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
        if (!getcwd(abs, sizeof abs - 1 - strlen(file) - 1)) {
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
    json_t *res = call_fd(control, req, cfd);
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
            cap = call(control, req);
            json_decref(req);
            break;
        }
        req = json_pack("{s:s}", "cmd", "capture.list");
        json_t *l = call(control, req);
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
    if (g_json) {
        char *s = json_dumps(cap, JSON_INDENT(2));
        puts(s);
        free(s);
    } else {
        printf("%lld frames (%lld bytes) written to %s: %s\n", jint(cap, "frames"),
               jint(cap, "bytes"), jstr(cap, "file"), jstr(cap, "reason"));
    }
    json_decref(cap);
    return failed ? 1 : 0;
}

static const char *g_control;

static json_t *fetch_stats(void *ctx)
{
    (void)ctx;
    json_t *req = json_pack("{s:s}", "cmd", "stats");
    json_t *r = call(g_control, req);
    json_decref(req);
    return r;
}

static void print_acls(json_t *r)
{
    size_t i, k;
    json_t *e, *rule;
    json_array_foreach(json_object_get(r, "acls"), i, e) {
        json_t *rules = json_object_get(e, "rules");
        const char *def = json_string_value(json_object_get(e, "default"));
        if (!json_array_size(rules) && (!def || !strcmp(def, "allow")) && !json_object_get(r, "one"))
            continue;
        printf("%s %s%s%s\n", jstr(e, "kind"), jstr(e, "target"), def ? ", default " : "",
               def ? def : "");
        struct table *t = table_new("  #", "RULE", "HITS", NULL);
        json_array_foreach(rules, k, rule) {
            char idx[16];
            snprintf(idx, sizeof idx, "  %lld", jint(rule, "index"));
            table_row(t, idx, jstr(rule, "rule"), table_int(t, jint(rule, "hits")), NULL);
        }
        if (json_array_size(rules))
            table_print(t, stdout);
        table_free(t);
    }
    json_t *ct = json_object_get(r, "conntrack");
    printf("connections tracked: %lld of %lld (table full %lld times)\n", jint(ct, "entries"),
           jint(ct, "max"), jint(ct, "table_full"));
}

static void print_drops(json_t *st, const char *dir)
{
    char key[16];
    snprintf(key, sizeof key, "%s_drops", dir);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, key), k, v)
        if (json_integer_value(v))
            printf("  %s dropped (%s): %lld\n", dir, k, (long long)json_integer_value(v));
}

static void print_stats(json_t *r, int one)
{
    json_t *ports = json_object_get(r, "ports");
    size_t i;
    json_t *p;
    if (one) {
        json_array_foreach(ports, i, p) {
            printf("port %s\n", jstr(p, "name"));
            printf("  rx: %lld frames, %lld bytes\n", jint(p, "rx_frames"), jint(p, "rx_bytes"));
            printf("  tx: %lld frames, %lld bytes\n", jint(p, "tx_frames"), jint(p, "tx_bytes"));
            print_drops(p, "rx");
            print_drops(p, "tx");
        }
        return;
    }
    struct table *t = table_new("PORT", "RX-FRAMES", "RX-BYTES", "TX-FRAMES", "TX-BYTES",
                                "RX-DROP", "TX-DROP", NULL);
    json_array_foreach(ports, i, p) {
        long long rd = 0, td = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, "rx_drops"), k, v) rd += json_integer_value(v);
        json_object_foreach(json_object_get(p, "tx_drops"), k, v) td += json_integer_value(v);
        table_row(t, jstr(p, "name"), table_int(t, jint(p, "rx_frames")),
                  table_int(t, jint(p, "rx_bytes")), table_int(t, jint(p, "tx_frames")),
                  table_int(t, jint(p, "tx_bytes")), table_int(t, rd), table_int(t, td), NULL);
    }
    table_print(t, stdout);
    table_free(t);
    json_t *nets = json_object_get(r, "networks");
    if (json_array_size(nets)) {
        printf("\n");
        print_networks(nets);
    }
}

static void usage(FILE *o)
{
    fprintf(o, "usage: vnetctl [--control PATH] [-j|--json] COMMAND\n"
               "commands:\n"
               "  status                 daemon summary\n"
               "  network list|show [NAME]\n"
               "  port list|show [NAME]\n"
               "  port add NAME,type=stream|dgram|tap|uplink,network=NET[,key=value...]\n"
               "  port del NAME\n"
               "  fdb [NETWORK]          learned MAC addresses\n"
               "  stats [PORT]           per-port counters and drops\n"
               "  leases [NETWORK]       DHCP leases\n"
               "  conflicts [NETWORK]    recent address conflicts between guests (ARP claims)\n"
               "  flows [NETWORK]        NAT flows\n"
               "  forward list [NETWORK]\n"
               "  forward add PROTO:HOSTPORT[:GUESTIP]:GUESTPORT [NETWORK]\n"
               "  forward add PROTO:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT [NETWORK]\n"
               "  forward del PROTO [HOSTADDR:]HOSTPORT [NETWORK]\n"
               "  capture PORT|NETWORK -w FILE [-c COUNT] [--duration S] [--snaplen N]\n"
               "          [--direction in|out|both]   write a pcap file\n"
               "  top [-d SECONDS] [-n ITERATIONS]   live per-port rates (q quits)\n"
               "  acl list [PORT|NETWORK]\n"
               "  acl add PORT|NETWORK ACTION [DIR] [key=value...] [--position N]\n"
               "          ACTION allow|drop|reject, DIR in|out|both; keys: state src dst proto\n"
               "          sport dport icmp_type src_mac dst_mac ethertype\n"
               "  acl del PORT|NETWORK INDEX\n"
               "  acl default NETWORK allow|drop\n"
               "  mirror list\n"
               "  mirror add NAME --from PORT[,PORT...] [--direction in|out|both] --to PORT\n"
               "  mirror del NAME\n"
               "The control socket defaults to $VNET_CONTROL, else /run/vnet/vnetd.sock (root)\n"
               "or $XDG_RUNTIME_DIR/vnet/vnetd.sock.\n");
}

int main(int argc, char **argv)
{
    char control[256];
    default_control(control, sizeof control);
    static const struct option lo[] = { { "control", required_argument, 0, 'C' },
                                        { "json", no_argument, 0, 'j' },
                                        { "help", no_argument, 0, 'h' },
                                        { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "+C:jh", lo, NULL)) != -1) {
        switch (c) {
        case 'C': snprintf(control, sizeof control, "%s", optarg); break;
        case 'j': g_json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    int ac = argc - optind;
    char **av = argv + optind;
    if (ac < 1) {
        usage(stderr);
        return 2;
    }
    const char *cmd = av[0], *sub = ac > 1 ? av[1] : NULL, *arg = NULL;
    json_t *req = NULL;
    void (*printer)(json_t *) = NULL;
    int stats_one = 0;
    if (!strcmp(cmd, "status") && ac == 1) {
        req = json_pack("{s:s}", "cmd", "status");
        printer = print_status;
    } else if (!strcmp(cmd, "port") && sub && !strcmp(sub, "add") && ac == 3) {
        return do_port_add(control, av[2]);
    } else if (!strcmp(cmd, "port") && sub && !strcmp(sub, "del") && ac == 3) {
        return do_port_del(control, av[2]);
    } else if ((!strcmp(cmd, "network") || !strcmp(cmd, "port")) &&
               (!sub || !strcmp(sub, "list") || !strcmp(sub, "show")) && ac <= 3) {
        int is_net = !strcmp(cmd, "network");
        req = json_pack("{s:s}", "cmd", is_net ? "network.list" : "port.list");
        arg = ac == 3 ? av[2] : NULL;
        if (arg)
            json_object_set_new(req, is_net ? "network" : "port", json_string(arg));
        printer = is_net ? print_networks : print_ports;
    } else if (!strcmp(cmd, "fdb") && ac <= 2) {
        req = json_pack("{s:s}", "cmd", "fdb");
        if (sub)
            json_object_set_new(req, "network", json_string(sub));
        printer = print_fdb;
    } else if ((!strcmp(cmd, "leases") || !strcmp(cmd, "flows") || !strcmp(cmd, "conflicts")) &&
               ac <= 2) {
        req = json_pack("{s:s}", "cmd", cmd);
        if (sub)
            json_object_set_new(req, "network", json_string(sub));
        printer = !strcmp(cmd, "leases")  ? print_leases
                  : !strcmp(cmd, "flows") ? print_flows
                                          : print_conflicts;
    } else if (!strcmp(cmd, "forward") && (ac == 1 || (!strcmp(sub, "list") && ac <= 3))) {
        req = json_pack("{s:s}", "cmd", "forward.list");
        if (ac == 3)
            json_object_set_new(req, "network", json_string(av[2]));
        printer = print_forwards;
    } else if (!strcmp(cmd, "forward") && !strcmp(sub, "add") && (ac == 3 || ac == 4)) {
        req = json_pack("{s:s,s:s}", "cmd", "forward.add", "spec", av[2]);
        if (ac == 4)
            json_object_set_new(req, "network", json_string(av[3]));
        printer = print_ok;
    } else if (!strcmp(cmd, "forward") && !strcmp(sub, "del") && (ac == 4 || ac == 5)) {
        req = json_pack("{s:s,s:s,s:s}", "cmd", "forward.del", "proto", av[2], "host", av[3]);
        if (ac == 5)
            json_object_set_new(req, "network", json_string(av[4]));
        printer = print_ok;
    } else if (!strcmp(cmd, "acl") && (ac == 1 || (!strcmp(sub, "list") && ac <= 3))) {
        req = json_pack("{s:s}", "cmd", "acl.list");
        if (ac == 3) {
            json_object_set_new(req, "target", json_string(av[2]));
        }
        printer = print_acls;
    } else if (!strcmp(cmd, "acl") && !strcmp(sub, "add") && ac >= 4) {
        char rule[1024] = "";
        size_t off = 0;
        int pos = -1;
        for (int i = 3; i < ac; i++) {
            if (!strcmp(av[i], "--position") && i + 1 < ac) {
                pos = atoi(av[++i]);
                continue;
            }
            off += (size_t)snprintf(rule + off, off < sizeof rule ? sizeof rule - off : 0, "%s%s",
                                    off ? " " : "", av[i]);
        }
        req = json_pack("{s:s,s:s,s:s}", "cmd", "acl.add", "target", av[2], "rule", rule);
        if (pos >= 0)
            json_object_set_new(req, "position", json_integer(pos));
        printer = print_ok;
    } else if (!strcmp(cmd, "acl") && !strcmp(sub, "del") && ac == 4) {
        req = json_pack("{s:s,s:s,s:i}", "cmd", "acl.del", "target", av[2], "index", atoi(av[3]));
        printer = print_ok;
    } else if (!strcmp(cmd, "acl") && !strcmp(sub, "default") && ac == 4) {
        req = json_pack("{s:s,s:s,s:s}", "cmd", "acl.default", "target", av[2], "policy", av[3]);
        printer = print_ok;
    } else if (!strcmp(cmd, "top")) {
        double secs = 1;
        unsigned iters = 0;
        for (int i = 1; i + 1 < ac; i += 2) {
            if (!strcmp(av[i], "-d"))
                secs = atof(av[i + 1]);
            else if (!strcmp(av[i], "-n"))
                iters = (unsigned)atoi(av[i + 1]);
        }
        if (secs < 0.1)
            secs = 0.1;
        g_control = control;
        return top_run(fetch_stats, NULL, (unsigned)(secs * 1000), iters);
    } else if (!strcmp(cmd, "capture")) {
        return do_capture(control, ac, av);
    } else if (!strcmp(cmd, "mirror") && (ac == 1 || !strcmp(sub, "list"))) {
        req = json_pack("{s:s}", "cmd", "mirror.list");
        printer = print_mirrors;
    } else if (!strcmp(cmd, "mirror") && !strcmp(sub, "del") && ac == 3) {
        req = json_pack("{s:s,s:s}", "cmd", "mirror.del", "name", av[2]);
        printer = print_ok;
    } else if (!strcmp(cmd, "mirror") && !strcmp(sub, "add") && ac >= 3) {
        const char *from = NULL, *to = NULL, *dir = "both";
        for (int i = 3; i + 1 < ac; i += 2) {
            if (!strcmp(av[i], "--from"))
                from = av[i + 1];
            else if (!strcmp(av[i], "--to"))
                to = av[i + 1];
            else if (!strcmp(av[i], "--direction"))
                dir = av[i + 1];
        }
        if (!from || !to || (ac - 3) % 2) {
            fprintf(stderr, "usage: vnetctl mirror add NAME --from PORT[,PORT] "
                            "[--direction in|out|both] --to PORT\n");
            return 2;
        }
        json_t *fa = json_array();
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", from);
        for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
            json_array_append_new(fa, json_string(t));
        req = json_pack("{s:s,s:s,s:o,s:s,s:s}", "cmd", "mirror.add", "name", av[2], "from", fa,
                        "to", to, "direction", dir);
        printer = print_ok;
    } else if (!strcmp(cmd, "stats") && ac <= 2) {
        req = json_pack("{s:s}", "cmd", "stats");
        if (sub) {
            json_object_set_new(req, "port", json_string(sub));
            stats_one = 1;
        }
    } else {
        fprintf(stderr, "vnetctl: unknown command or wrong arguments: ");
        for (int i = 0; i < ac; i++)
            fprintf(stderr, "%s%s", i ? " " : "", av[i]);
        fprintf(stderr, "\n");
        usage(stderr);
        return 2;
    }
    json_t *res = call(control, req);
    json_decref(req);
    if (g_json) {
        char *s = json_dumps(res, JSON_INDENT(2));
        puts(s);
        free(s);
    } else if (printer) {
        printer(res);
    } else {
        print_stats(res, stats_one);
    }
    json_decref(res);
    return 0;
}
