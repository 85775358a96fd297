/* WireGuard's configuration socket of a VPN: see uapi_sock.h. */
#include "uapi_sock.h"

#include "core/accept.h"
#include "core/log.h"
#include "core/syscalls.h"
#include "core/unixsock.h"
#include "core/util.h"
#include "uapi.h"
#include "vpn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

VN_SYSCALLS("recvfrom", "sendto", "getsockopt");

enum { MAX_CLIENTS = 16, READ_CHUNK = 16384 };

struct uapi_client {
    struct vn_uapi_sock *s;
    int fd;
    struct vn_io io;
    char *in;                  /* request bytes not yet answered */
    size_t inlen, incap;
    char *out;                 /* the answer being written */
    size_t olen, ooff;
    bool closing;              /* close once out is written */
    bool eof;                  /* the client closed its side */
    pid_t pid;
    uid_t uid;
};

struct vn_uapi_sock {
    struct vn_loop *loop;
    struct vn_vpn *vpn;
    const struct vn_net_conf *net;
    int lfd;
    struct vn_io lio;
    struct vn_listen_guard guard;
    char path[108];
    dev_t dev;                 /* of the socket file we made */
    ino_t ino;
    struct uapi_client *clients[MAX_CLIENTS];
};

/* ---- what a set may do to the VPN ---- */

/* A prefix the network refuses for a peer (its own subnets), by the
 * config's own per-peer check. */
static int hook_check(void *ctx, const struct vn_addr *p, unsigned len, char *err,
                      size_t errlen)
{
    struct vn_uapi_sock *s = ctx;
    struct vn_vpn_peer_conf pc;
    memset(&pc, 0, sizeof pc);
    vn_strlcpy(pc.name, "(wg set)", sizeof pc.name);
    pc.has_public_key = true; /* all zeros: never the network's own key */
    pc.allowed[0].prefix = *p;
    pc.allowed[0].len = (uint8_t)len;
    pc.nallowed = 1;
    struct vn_conf_err ce;
    if (vn_conf_vpn_check_peer(s->net, &pc, NULL, 0, &ce) < 0) {
        vn_strlcpy(err, ce.msg, errlen);
        return -1;
    }
    return 0;
}

static struct vn_vpn_peer *hook_add(void *ctx, const char *name, const uint8_t pub[VN_KEY_LEN],
                                    const uint8_t *psk, const struct vn_vpn_endpoint *ep,
                                    uint16_t keepalive_s, const struct vn_addr *allowed,
                                    const uint8_t *allowed_len, unsigned nallowed, char *err,
                                    size_t errlen)
{
    struct vn_uapi_sock *s = ctx;
    return vn_vpn_add_peer(s->vpn, name, pub, psk, ep, keepalive_s, allowed, allowed_len,
                           nallowed, err, errlen);
}

static void hook_del(void *ctx, struct vn_vpn_peer *p)
{
    struct vn_uapi_sock *s = ctx;
    vn_vpn_del_peer(s->vpn, p);
}

static void hook_changed(void *ctx)
{
    struct vn_uapi_sock *s = ctx;
    vn_vpn_kick(s->vpn);
}

/* ---- connections ---- */

static void client_free(struct uapi_client *c)
{
    struct vn_uapi_sock *s = c->s;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i] == c)
            s->clients[i] = NULL;
    vn_io_del(s->loop, &c->io);
    close(c->fd);
    if (c->in)
        vn_wipe(c->in, c->incap);
    if (c->out)
        vn_wipe(c->out, c->olen);
    free(c->in);
    free(c->out);
    free(c);
}

/* Write what is pending. Returns -1 when the client is gone (freed). */
static int client_flush(struct uapi_client *c)
{
    while (c->ooff < c->olen) {
        ssize_t w = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) {
                vn_io_mod(c->s->loop, &c->io, EPOLLOUT);
                return 0;
            }
            client_free(c);
            return -1;
        }
        c->ooff += (size_t)w;
    }
    if (c->out)
        vn_wipe(c->out, c->olen);
    free(c->out);
    c->out = NULL;
    c->olen = c->ooff = 0;
    if (c->closing) {
        client_free(c);
        return -1;
    }
    vn_io_mod(c->s->loop, &c->io, EPOLLIN);
    return 0;
}

/* Answer one complete request of n bytes at the start of c->in. */
static void answer(struct uapi_client *c, size_t n)
{
    struct vn_uapi_sock *s = c->s;
    struct vn_uapi_hooks h = { s, hook_check, hook_add, hook_del, hook_changed };
    struct vn_vpn_dev *d = vn_vpn_device(s->vpn);
    unsigned npeers = d->npeers;
    char err[256];
    bool bye = false;
    bool is_set = n > 6 && !memcmp(c->in, "set=1\n", 6);
    c->out = vn_uapi_handle(d, vn_vpn_listen_port(s->vpn), &h, c->in, n, &c->olen, &bye, err,
                            sizeof err);
    c->ooff = 0;
    c->closing |= bye || !c->out;
    if (err[0])
        VN_LOG_RL(VN_LOG_WARN, "msg=\"wg configuration request refused\" network=%s "
                               "interface=%s pid=%d uid=%u reason=\"%s\"", s->net->name,
                  s->net->vpn.wg_interface, (int)c->pid, (unsigned)c->uid, err);
    else if (is_set)
        vn_info("msg=\"wg set applied\" network=%s interface=%s pid=%d uid=%u peers=%u->%u",
                s->net->name, s->net->vpn.wg_interface, (int)c->pid, (unsigned)c->uid, npeers,
                d->npeers);
    vn_wipe(c->in, n);
    memmove(c->in, c->in + n, c->inlen - n);
    c->inlen -= n;
}

/* Answer the complete requests buffered, one at a time. Returns -1 when
 * the client was freed. */
static int serve(struct uapi_client *c)
{
    while (!c->out) {
        long n = vn_uapi_request_len(c->in, c->inlen);
        if (n < 0) {
            c->out = strdup("errno=-22\n\n");
            c->olen = c->out ? strlen(c->out) : 0;
            c->ooff = 0;
            c->closing = true;
            VN_LOG_RL(VN_LOG_WARN, "msg=\"wg configuration request refused\" network=%s "
                                   "reason=\"not the protocol's framing\" pid=%d uid=%u",
                      c->s->net->name, (int)c->pid, (unsigned)c->uid);
            return client_flush(c);
        }
        if (n == 0) {
            if (c->eof) {
                client_free(c);
                return -1;
            }
            return 0;
        }
        answer(c, (size_t)n);
        if (client_flush(c) < 0)
            return -1;
    }
    return 0;
}

static void client_event(struct vn_io *io, uint32_t ev)
{
    struct uapi_client *c = VN_CONTAINER_OF(io, struct uapi_client, io);
    if (ev & EPOLLOUT) {
        if (client_flush(c) < 0 || c->out)
            return;
        if (serve(c) < 0 || c->out)
            return;
    }
    if (!(ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->out)
        return;
    if (c->incap - c->inlen < READ_CHUNK && c->incap < VN_UAPI_REQ_MAX + READ_CHUNK) {
        size_t nc = c->incap ? 2 * c->incap : READ_CHUNK;
        char *nb = malloc(nc);
        if (!nb) {
            client_free(c);
            return;
        }
        if (c->in) {
            memcpy(nb, c->in, c->inlen);
            vn_wipe(c->in, c->incap);
            free(c->in);
        }
        c->in = nb;
        c->incap = nc;
    }
    ssize_t n = 0;
    if (!c->eof) {
        n = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                client_free(c);
            return;
        }
    }
    if (n == 0)
        c->eof = true;
    c->inlen += (size_t)n;
    serve(c);
}

/* Root and vnetd's own user only: the answer holds the private key. */
static bool peer_allowed(int fd, struct ucred *cr)
{
    socklen_t l = sizeof *cr;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &l) < 0)
        return false;
    return cr->uid == 0 || cr->uid == geteuid();
}

static void listen_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_uapi_sock *s = VN_CONTAINER_OF(io, struct vn_uapi_sock, lio);
    int fd = vn_listen_guard_accept(&s->guard, NULL, NULL);
    if (fd < 0)
        return;
    struct ucred cr = { 0 };
    if (!peer_allowed(fd, &cr)) {
        VN_LOG_RL(VN_LOG_WARN, "msg=\"wg configuration client refused: not root nor the "
                               "daemon's user\" network=%s pid=%d uid=%u", s->net->name,
                  (int)cr.pid, (unsigned)cr.uid);
        close(fd);
        return;
    }
    int slot = -1;
    for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
        if (!s->clients[i])
            slot = i;
    struct uapi_client *c = slot < 0 ? NULL : calloc(1, sizeof *c);
    if (!c) {
        VN_LOG_RL(VN_LOG_WARN, "msg=\"wg configuration socket: too many clients\" network=%s",
                  s->net->name);
        close(fd);
        return;
    }
    c->s = s;
    c->fd = fd;
    c->pid = cr.pid;
    c->uid = cr.uid;
    if (vn_io_add(s->loop, &c->io, fd, EPOLLIN, client_event) < 0) {
        close(fd);
        free(c);
        return;
    }
    s->clients[slot] = c;
}

struct vn_uapi_sock *vn_uapi_sock_open(struct vn_loop *loop, struct vn_vpn *v,
                                       const struct vn_net_conf *n, char *err, size_t errlen)
{
    struct vn_uapi_sock *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->loop = loop;
    s->vpn = v;
    s->net = n;
    snprintf(s->path, sizeof s->path, "%s/%s.sock", VN_WG_RUN_DIR, n->vpn.wg_interface);
    char e[300];
    mode_t old = umask(0777);
    s->lfd = vn_unix_bind(s->path, SOCK_STREAM, e, sizeof e);
    umask(old);
    if (s->lfd < 0) {
        snprintf(err, errlen, "vpn.wg_interface '%s': %s (wg looks for userspace interfaces "
                              "in " VN_WG_RUN_DIR ", which vnetd must be able to write, as "
                              "root usually)", n->vpn.wg_interface, e);
        free(s);
        return NULL;
    }
    struct stat st;
    if (chmod(s->path, 0600) < 0 || lstat(s->path, &st) < 0 || listen(s->lfd, 16) < 0 ||
        vn_io_add(loop, &s->lio, s->lfd, EPOLLIN, listen_event) < 0) {
        snprintf(err, errlen, "vpn.wg_interface '%s': %s: %s", n->vpn.wg_interface, s->path,
                 strerror(errno));
        close(s->lfd);
        unlink(s->path);
        free(s);
        return NULL;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    vn_listen_guard_init(&s->guard, loop, &s->lio, "wg configuration");
    vn_info("msg=\"WireGuard configuration socket ready\" network=%s interface=%s path=%s",
            n->name, n->vpn.wg_interface, s->path);
    return s;
}

void vn_uapi_sock_close(struct vn_uapi_sock *s)
{
    if (!s)
        return;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (s->clients[i])
            client_free(s->clients[i]);
    vn_listen_guard_cancel(&s->guard);
    vn_io_del(s->loop, &s->lio);
    close(s->lfd);
    /* remove the file only while it is still the one we made */
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    free(s);
}
