/* Control socket server: see ctl.h. */
#include "ctl.h"
#include "core/syscalls.h"
#include "core/accept.h"
#include "core/log.h"
#include "core/util.h"
#include "conf/config.h"
#include "core/unixsock.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

VN_SYSCALLS("recvmsg");

enum { MAX_CMDS = 64, MAX_CLIENTS = 32, REQ_MAX = 64 * 1024, FDS_MAX = 8 };

/* A descriptor a client passed, and where in its byte stream it arrived. */
struct passed_fd {
    int fd;
    uint64_t at;        /* stream offset of the first byte it came with */
};

struct ctl_cmd {
    const char *name;
    vn_ctl_fn fn;
    void *ctx;
};

struct ctl_client {
    struct vn_ctl *ctl;
    int fd;
    struct vn_io io;
    char rbuf[REQ_MAX];
    size_t rlen;
    char *out;          /* pending reply bytes */
    size_t olen, ooff;
    bool closing;       /* close once out is flushed */
    bool eof;           /* the client closed its side */
    struct vn_ctl_caller who;
    uint64_t consumed;  /* stream bytes before rbuf[0] */
    struct passed_fd fds[FDS_MAX];
    unsigned nfds;
    uint64_t last_ms;   /* last request bytes (eviction picks the longest idle) */
};

struct vn_ctl {
    struct vn_loop *loop;
    int lfd;
    struct vn_io lio;
    struct vn_listen_guard guard;
    char path[VN_PATH_MAX];
    struct ctl_cmd cmds[MAX_CMDS];
    unsigned ncmds;
    struct ctl_client *clients[MAX_CLIENTS];
    bool group_set;
    gid_t group;
    uint64_t refused;
    char run_dir[VN_PATH_MAX];
};

/* The request being served (the loop is single-threaded; see ctl.h). */
static struct {
    const struct vn_ctl_caller *who;
    struct passed_fd *fds;
    unsigned *nfds;
    uint64_t upto;      /* descriptors that arrived at or before this offset belong to it */
} current;

static const struct vn_ctl_caller root_caller = { .privileged = true, .run_dir = "" };

const struct vn_ctl_caller *vn_ctl_caller(void)
{
    return current.who ? current.who : &root_caller;
}

int vn_ctl_take_fd(void)
{
    if (!current.fds || !*current.nfds || current.fds[0].at > current.upto)
        return -1;
    int fd = current.fds[0].fd;
    memmove(current.fds, current.fds + 1, (*current.nfds - 1) * sizeof *current.fds);
    (*current.nfds)--;
    return fd;
}

/* Close the descriptors that arrived with bytes up to offset upto. */
static void drop_fds_upto(struct ctl_client *c, uint64_t upto)
{
    unsigned k = 0;
    for (unsigned i = 0; i < c->nfds; i++) {
        if (c->fds[i].at <= upto)
            close(c->fds[i].fd);
        else
            c->fds[k++] = c->fds[i];
    }
    c->nfds = k;
}

int vn_ctl_allow_group(struct vn_ctl *ctl, gid_t gid)
{
    ctl->group_set = true;
    ctl->group = gid;
    if (ctl->lfd >= 0 && (chown(ctl->path, (uid_t)-1, gid) < 0 || chmod(ctl->path, 0660) < 0))
        return -1;
    return 0;
}

/* Whether the peer on fd may use the control socket (see ctl.h). */
static bool peer_allowed(struct vn_ctl *ctl, int fd, struct ucred *cr)
{
    socklen_t l = sizeof *cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &l) < 0)
        return false;
    if (cr->uid == 0 || cr->uid == geteuid())
        return true;
    if (!ctl->group_set)
        return false;
    if (cr->gid == ctl->group)
        return true;
    gid_t groups[256];
    socklen_t gl = sizeof groups;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0)
        for (size_t i = 0; i < gl / sizeof groups[0]; i++)
            if (groups[i] == ctl->group)
                return true;
    return false;
}

int vn_ctl_register(struct vn_ctl *ctl, const char *cmd, vn_ctl_fn fn, void *ctx)
{
    if (ctl->ncmds >= MAX_CMDS)
        return -1;
    ctl->cmds[ctl->ncmds++] = (struct ctl_cmd){ cmd, fn, ctx };
    return 0;
}

static char *reply_error(const char *msg)
{
    json_t *r = json_pack("{s:b,s:s}", "ok", 0, "error", msg);
    char *s = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return s;
}

/* Run one request for the current caller (set by the caller of this). */
static char *handle_line(struct vn_ctl *ctl, const char *line, size_t len)
{
    json_error_t je;
    json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!req) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s", je.text);
        return reply_error(msg);
    }
    const char *cmd = json_string_value(json_object_get(req, "cmd"));
    if (!json_is_object(req) || !cmd) {
        json_decref(req);
        return reply_error("request must be an object with a string member \"cmd\"");
    }
    for (unsigned i = 0; i < ctl->ncmds; i++) {
        if (strcmp(ctl->cmds[i].name, cmd))
            continue;
        char err[512] = "";
        json_t *res = ctl->cmds[i].fn(ctl->cmds[i].ctx, req, err, sizeof err);
        json_decref(req);
        if (!res)
            return reply_error(err[0] ? err : "failed");
        json_t *r = json_pack("{s:b,s:o}", "ok", 1, "result", res);
        char *s = json_dumps(r, JSON_COMPACT);
        json_decref(r);
        return s;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "unknown command '%.64s'", cmd);
    json_decref(req);
    return reply_error(msg);
}

char *vn_ctl_handle_line(struct vn_ctl *ctl, const char *line, size_t len)
{
    current.who = &root_caller;
    current.fds = NULL;
    current.nfds = NULL;
    char *r = handle_line(ctl, line, len);
    current.who = NULL;
    return r;
}

static void client_free(struct ctl_client *c)
{
    struct vn_ctl *ctl = c->ctl;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl->clients[i] == c)
            ctl->clients[i] = NULL;
    vn_io_del(ctl->loop, &c->io);
    close(c->fd);
    drop_fds_upto(c, UINT64_MAX);
    free(c->out);
    free(c);
}

/* Write pending output; returns -1 if the client went away (and was freed). */
static int client_flush(struct ctl_client *c)
{
    while (c->ooff < c->olen) {
        ssize_t w = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                vn_io_mod(c->ctl->loop, &c->io, EPOLLOUT);
                return 0;
            }
            client_free(c);
            return -1;
        }
        c->ooff += (size_t)w;
    }
    free(c->out);
    c->out = NULL;
    c->olen = c->ooff = 0;
    if (c->closing) {
        client_free(c);
        return -1;
    }
    vn_io_mod(c->ctl->loop, &c->io, EPOLLIN);
    return 0;
}

static void queue_reply(struct ctl_client *c, char *reply)
{
    size_t l = strlen(reply);
    c->out = reply;
    reply[l] = '\n'; /* json_dumps leaves the NUL; replace it (we track length) */
    c->olen = l + 1;
    c->ooff = 0;
}

/* Answer the complete requests already buffered, one at a time, in order;
 * stops while a reply is still being written (EPOLLOUT resumes it). A
 * client that has closed its side is freed once nothing is left to answer.
 * Returns -1 if the client was freed. */
static int serve_buffered(struct ctl_client *c)
{
    while (!c->out) {
        char *nl = memchr(c->rbuf, '\n', c->rlen);
        if (!nl) {
            if (c->rlen == sizeof c->rbuf) {
                queue_reply(c, reply_error("request too long"));
                c->closing = true;
                return client_flush(c);
            }
            if (c->eof) {
                client_free(c);
                return -1;
            }
            return 0;
        }
        size_t ll = (size_t)(nl - c->rbuf);
        uint64_t end = c->consumed + ll; /* offset of the newline */
        current.who = &c->who;
        current.fds = c->fds;
        current.nfds = &c->nfds;
        current.upto = end;
        char *reply = handle_line(c->ctl, c->rbuf, ll);
        current.who = NULL;
        current.fds = NULL;
        current.nfds = NULL;
        drop_fds_upto(c, end); /* what this request did not take */
        memmove(c->rbuf, nl + 1, c->rlen - ll - 1);
        c->rlen -= ll + 1;
        c->consumed = end + 1;
        if (!reply) {
            client_free(c);
            return -1;
        }
        queue_reply(c, reply);
        if (client_flush(c) < 0)
            return -1;
    }
    return 0;
}

/* Read request bytes and any descriptors that came with them (queued with
 * the stream offset of their first byte; beyond FDS_MAX they are closed).
 * Returns what recvmsg() returned. */
static ssize_t recv_with_fds(struct ctl_client *c)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
    } cm;
    struct iovec iov = { c->rbuf + c->rlen, sizeof c->rbuf - c->rlen };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
                         .msg_controllen = sizeof cm.buf };
    ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    if (n < 0)
        return n;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
            if (c->nfds < FDS_MAX && n > 0) {
                c->fds[c->nfds++] = (struct passed_fd){ fd, c->consumed + c->rlen };
            } else {
                close(fd); /* beyond FDS_MAX, or with no request bytes */
            }
        }
    }
    return n;
}

static void client_event(struct vn_io *io, uint32_t ev)
{
    struct ctl_client *c = VN_CONTAINER_OF(io, struct ctl_client, io);
    if (ev & EPOLLOUT) {
        if (client_flush(c) < 0 || c->out)
            return;
        if (serve_buffered(c) < 0 || c->out)
            return;
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->out)
        return;
    ssize_t n = c->eof ? 0 : recv_with_fds(c);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            client_free(c);
        return;
    }
    if (n == 0)
        c->eof = true;
    c->rlen += (size_t)n;
    c->last_ms = vn_now_ms();
    serve_buffered(c);
}

static void listen_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_ctl *ctl = VN_CONTAINER_OF(io, struct vn_ctl, lio);
    int fd = vn_listen_guard_accept(&ctl->guard, NULL, NULL);
    if (fd < 0)
        return;
    struct ucred cr = { 0 };
    if (!peer_allowed(ctl, fd, &cr)) {
        ctl->refused++;
        VN_LOG_RL(VN_LOG_WARN,
                  "msg=\"control client refused: not root, not the daemon's user, not in "
                  "the control group\" pid=%d uid=%u",
                  (int)cr.pid, (unsigned)cr.uid);
        /* Say why before closing, so the client can tell its user. */
        char *r = reply_error("permission denied: the control socket accepts root, the "
                              "daemon's user and the control_group");
        if (r) {
            size_t l = strlen(r);
            r[l] = '\n'; /* the NUL becomes the line end; the length is tracked */
            ssize_t w = send(fd, r, l + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            (void)w;
            free(r);
        }
        close(fd);
        return;
    }
    int slot = -1, idle = -1;
    for (int i = 0; i < MAX_CLIENTS && slot < 0; i++) {
        struct ctl_client *x = ctl->clients[i];
        if (!x)
            slot = i;
        else if (!x->out && !x->rlen &&
                 (idle < 0 || x->last_ms < ctl->clients[idle]->last_ms))
            idle = i;
    }
    if (slot < 0 && idle >= 0) {
        /* Full: a client that waits without asking anything makes room, so
         * connections held open cannot lock the others out. */
        client_free(ctl->clients[idle]);
        slot = idle;
    }
    struct ctl_client *c = slot < 0 ? NULL : calloc(1, sizeof *c);
    if (!c) {
        VN_LOG_RL(VN_LOG_WARN, "msg=\"control: too many clients\"");
        close(fd);
        return;
    }
    c->ctl = ctl;
    c->fd = fd;
    c->last_ms = vn_now_ms();
    c->who = (struct vn_ctl_caller){ .pid = cr.pid, .uid = cr.uid, .gid = cr.gid,
                                     .privileged = cr.uid == 0 || cr.uid == geteuid(),
                                     .run_dir = ctl->run_dir };
    /* Descriptors passed with a request are taken by recvmsg() only. */
    if (vn_io_add(ctl->loop, &c->io, fd, EPOLLIN, client_event) < 0) {
        close(fd);
        free(c);
        return;
    }
    ctl->clients[slot] = c;
}

struct vn_ctl *vn_ctl_new_detached(void)
{
    struct vn_ctl *ctl = calloc(1, sizeof *ctl);
    if (ctl)
        ctl->lfd = -1;
    return ctl;
}

struct vn_ctl *vn_ctl_open(struct vn_loop *loop, const char *path, unsigned mode, char *err,
                           size_t errlen)
{
    struct vn_ctl *ctl = vn_ctl_new_detached();
    if (!ctl) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ctl->loop = loop;
    vn_strlcpy(ctl->path, path, sizeof ctl->path);
    vn_strlcpy(ctl->run_dir, path, sizeof ctl->run_dir);
    char *slash = strrchr(ctl->run_dir, '/');
    if (slash)
        *(slash == ctl->run_dir ? slash + 1 : slash) = 0;
    else
        vn_strlcpy(ctl->run_dir, ".", sizeof ctl->run_dir);
    /* Create the socket with no access at all, then open it up to mode, so
     * there is no window where it is wider than configured. */
    mode_t old = umask(0777);
    ctl->lfd = vn_unix_bind(path, SOCK_STREAM, err, errlen);
    umask(old);
    if (ctl->lfd < 0) {
        free(ctl);
        return NULL;
    }
    if (chmod(path, mode) < 0 || listen(ctl->lfd, 16) < 0 ||
        vn_io_add(loop, &ctl->lio, ctl->lfd, EPOLLIN, listen_event) < 0) {
        snprintf(err, errlen, "control socket '%s': %s", path, strerror(errno));
        close(ctl->lfd);
        unlink(path);
        free(ctl);
        return NULL;
    }
    vn_listen_guard_init(&ctl->guard, loop, &ctl->lio, "control");
    return ctl;
}

void vn_ctl_close(struct vn_ctl *ctl)
{
    if (!ctl)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl->clients[i])
            client_free(ctl->clients[i]);
    if (ctl->lfd >= 0) {
        vn_listen_guard_cancel(&ctl->guard);
        vn_io_del(ctl->loop, &ctl->lio);
        close(ctl->lfd);
        unlink(ctl->path);
    }
    free(ctl);
}
