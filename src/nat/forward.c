/* Port forwards: host listeners whose connections (TCP) or datagrams (UDP)
 * are carried to a guest address and port. Added from config, flags or at
 * run time; removing one closes its listener while flows already carried
 * continue until they end.
 *
 * Half-open connections are bounded like a kernel SYN backlog: a TCP
 * connection is pending from accept() until the guest answers our SYN.
 * With nat.forward_pending of them open the listener stops being polled
 * (new clients wait in the kernel's listen backlog) and resumes as soon as
 * one completes or times out (nat.forward_syn_timeout), so clients of a
 * guest that does not answer cannot fill the flow table. */
#include "core/log.h"
#include "core/ownports.h"
#include "core/util.h"
#include "nat_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

/* Stop accepting while the guest owes nat.forward_pending handshakes. */
static bool backlog_full(struct vn_fwd *fw)
{
    if (fw->pending < fw->nat->conf->forward_pending)
        return false;
    if (!vn_listen_guard_paused(&fw->guard))
        vn_io_mod(fw->nat->gw->loop, &fw->io, 0); /* level-triggered: never poll while full */
    if (!fw->full) {
        fw->full = true;
        fw->backlog_full++;
        char hs[80];
        VN_LOG_RL(VN_LOG_WARN,
                  "msg=\"forward: guest does not answer, accepting paused\" network=%s host=%s "
                  "pending=%u",
                  fw->nat->conf->name, vn_sockaddr_str(&fw->conf.host, hs, sizeof hs),
                  fw->pending);
    }
    return true;
}

void vn_nat_forward_handshake_done(struct vn_fwd *fw)
{
    if (fw->pending)
        fw->pending--;
    if (fw->full && fw->in_use && fw->pending < fw->nat->conf->forward_pending) {
        fw->full = false;
        if (!vn_listen_guard_paused(&fw->guard))
            vn_io_mod(fw->nat->gw->loop, &fw->io, EPOLLIN);
    }
}

static void tcp_accept(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_fwd *fw = VN_CONTAINER_OF(io, struct vn_fwd, io);
    for (int i = 0; i < 64; i++) {
        if (backlog_full(fw))
            return;
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        int fd = vn_listen_guard_accept(&fw->guard, (struct sockaddr *)&peer, &pl);
        if (fd < 0)
            return;
        if (vn_nat_tcp_inbound(fw->nat, fw, fd, &peer) < 0) {
            fw->refused++;
            struct linger l = { 1, 0 };
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
            close(fd);
            continue;
        }
        fw->accepted++;
    }
}

static void udp_readable(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    vn_nat_udp_forward_event(VN_CONTAINER_OF(io, struct vn_fwd, io));
}

static struct vn_fwd *find(struct vn_nat *nat, int proto, const struct vn_sockaddr *h)
{
    for (int i = 0; i < VN_NAT_MAX_FORWARDS; i++) {
        struct vn_fwd *fw = &nat->fwds[i];
        if (fw->in_use && fw->conf.proto == proto && fw->conf.host.port == h->port &&
            vn_addr_eq(&fw->conf.host.ip, &h->ip))
            return fw;
    }
    return NULL;
}

int vn_nat_forward_add(struct vn_nat *nat, const struct vn_forward_conf *fc, char *err,
                       size_t errlen)
{
    char hs[80];
    const char *pn = fc->proto == IPPROTO_TCP ? "tcp" : "udp";
    vn_sockaddr_str(&fc->host, hs, sizeof hs);
    if (find(nat, fc->proto, &fc->host)) {
        snprintf(err, errlen, "%s %s is already forwarded", pn, hs);
        return -1;
    }
    struct vn_fwd *fw = NULL;
    for (int i = 0; i < VN_NAT_MAX_FORWARDS && !fw; i++)
        if (!nat->fwds[i].in_use)
            fw = &nat->fwds[i];
    if (!fw) {
        snprintf(err, errlen, "too many forwards (at most %d)", VN_NAT_MAX_FORWARDS);
        return -1;
    }
    struct sockaddr_storage ss;
    socklen_t sl = vn_addr_sockaddr(&fc->host.ip, fc->host.port, &ss);
    int type = fc->proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM;
    int fd = socket(fc->host.ip.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0) {
        snprintf(err, errlen, "%s %s: socket: %s", pn, hs, strerror(errno));
        return -1;
    }
    if (type == SOCK_STREAM)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* "[::]:PORT" listens on IPv6 only, so "0.0.0.0:PORT" can be forwarded
     * beside it (to another guest, say), whatever net.ipv6.bindv6only says. */
    if (fc->host.ip.family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
        (type == SOCK_STREAM && listen(fd, 128) < 0)) {
        snprintf(err, errlen, "%s %s: %s", pn, hs,
                 errno == EADDRINUSE ? "address already in use" : strerror(errno));
        close(fd);
        return -1;
    }
    memset(fw, 0, sizeof *fw);
    fw->conf = *fc;
    fw->fd = fd;
    fw->nat = nat;
    if (vn_io_add(nat->gw->loop, &fw->io, fd, EPOLLIN,
                  type == SOCK_STREAM ? tcp_accept : udp_readable) < 0) {
        snprintf(err, errlen, "%s %s: epoll: %s", pn, hs, strerror(errno));
        close(fd);
        return -1;
    }
    vn_listen_guard_init(&fw->guard, nat->gw->loop, &fw->io, "forward");
    vn_own_port_add(fc->proto, fc->host.port, nat->gw->net->id);
    fw->in_use = true;
    char g[VN_ADDR_STRLEN];
    vn_info("msg=\"forward added\" network=%s proto=%s host=%s guest=%s:%u", nat->conf->name, pn,
            hs, vn_addr_str(&fc->guest, g, sizeof g), fc->guest_port);
    return 0;
}

static void fwd_close(struct vn_fwd *fw)
{
    /* UDP flows answer through the listener: they end with it. */
    if (fw->conf.proto == IPPROTO_UDP)
        for (unsigned i = 0; i < fw->nat->max; i++) {
            struct vn_flow *f = &fw->nat->pool[i];
            if (f->in_use && f->key.proto == IPPROTO_UDP && f->u.udp.fwd == fw)
                vn_nat_flow_free(f);
        }
    /* TCP flows carried on: they no longer count against this forward. */
    for (unsigned i = 0; i < fw->nat->max; i++) {
        struct vn_flow *f = &fw->nat->pool[i];
        if (f->in_use && f->key.proto == IPPROTO_TCP && f->inbound && f->u.tcp.fwd == fw) {
            f->pending = false;
            f->u.tcp.fwd = NULL;
        }
    }
    fw->pending = 0;
    fw->full = false;
    vn_listen_guard_cancel(&fw->guard);
    vn_io_del(fw->nat->gw->loop, &fw->io);
    close(fw->fd);
    vn_own_port_del(fw->conf.proto, fw->conf.host.port, fw->nat->gw->net->id);
    fw->in_use = false;
}

int vn_nat_forward_del(struct vn_nat *nat, int proto, const struct vn_sockaddr *host, char *err,
                       size_t errlen)
{
    struct vn_fwd *fw = find(nat, proto, host);
    if (!fw) {
        char hs[80];
        snprintf(err, errlen, "no %s forward on %s", proto == IPPROTO_TCP ? "tcp" : "udp",
                 vn_sockaddr_str(host, hs, sizeof hs));
        return -1;
    }
    fwd_close(fw);
    return 0;
}

void vn_nat_forwards_close(struct vn_nat *nat)
{
    for (int i = 0; i < VN_NAT_MAX_FORWARDS; i++)
        if (nat->fwds[i].in_use)
            fwd_close(&nat->fwds[i]);
}

json_t *vn_nat_forwards_json(struct vn_nat *nat)
{
    json_t *a = json_array();
    for (int i = 0; i < VN_NAT_MAX_FORWARDS; i++) {
        struct vn_fwd *fw = &nat->fwds[i];
        if (!fw->in_use)
            continue;
        char hs[80], g[VN_ADDR_STRLEN + 8];
        struct vn_sockaddr gs = { fw->conf.guest, fw->conf.guest_port };
        vn_sockaddr_str(&gs, g, sizeof g);
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:i,s:I,s:I}", "proto",
                         fw->conf.proto == IPPROTO_TCP ? "tcp" : "udp", "host",
                         vn_sockaddr_str(&fw->conf.host, hs, sizeof hs), "guest", g, "accepted",
                         (json_int_t)fw->accepted, "refused", (json_int_t)fw->refused,
                         "pending", fw->pending, "syn_timeouts", (json_int_t)fw->syn_timeouts,
                         "backlog_full", (json_int_t)fw->backlog_full));
    }
    return a;
}
