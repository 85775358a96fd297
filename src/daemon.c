/* The running daemon: setup, event loop, signals, teardown (see daemon.h). */
#include "daemon.h"
#include "core/fdlimit.h"
#include "core/log.h"
#include "core/sandbox.h"
#include "core/util.h"
#include "ctl/acl_cmds.h"
#include "ctl/ctl.h"
#include "ctl/debug_cmds.h"
#include "ctl/evpn_cmds.h"
#include "ctl/vpn_cmds.h"
#include "ctl/gw_cmds.h"
#include "ctl/obs_cmds.h"
#include "ctl/switch_cmds.h"
#include "evpn/evpn.h"
#include "vpn/vpn.h"
#include "gw/dns.h"
#include "gw/gateway.h"
#include "nat/nat.h"
#include "obs/metrics.h"
#include "port/port.h"
#include "switch/mirror.h"
#include "switch/switch.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>


void vn_daemon_block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, old);
}

void vn_daemon_init(struct vn_daemon *d)
{
    memset(d, 0, sizeof *d);
    d->sigfd = -1;
}

int vn_wait_status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

const char *vn_daemon_qemu_netdev(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "-netdev stream,id=n0,server=off,addr.type=unix,addr.path=%s", path);
    return buf;
}

/* Reap exited children; notes the supervised one. */
static void reap_children(struct vn_daemon *d)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (d->child && pid == d->child && (WIFEXITED(st) || WIFSIGNALED(st))) {
            d->child_exited = true;
            d->child_status = st;
            vn_info("msg=\"command exited\" pid=%d status=%d", (int)pid, vn_wait_status_code(st));
            vn_loop_stop(d->loop);
        }
    }
}

static void signal_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_daemon *d = VN_CONTAINER_OF(io, struct vn_daemon, sigio);
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof si) == sizeof si) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD) {
            reap_children(d);
            continue;
        }
        if (d->child && !d->child_exited) {
            /* vnetd run: the command decides when to end. A signal from the
             * terminal (SI_KERNEL) reached the command's process group
             * already; anything sent to vnetd alone is passed on. */
            if (si.ssi_code != SI_KERNEL) {
                vn_info("msg=\"forwarding signal to the command\" signal=%d pid=%d", sig,
                        (int)d->child);
                kill(d->child, sig);
            }
            continue;
        }
        if (sig == SIGHUP) {
            vn_info("msg=\"SIGHUP ignored: use 'vnetctl' to change the running network\"");
            continue;
        }
        d->signal_seen = sig;
        vn_loop_stop(d->loop);
    }
}

/* "port ready" with what the backend says of itself (the string members of
 * its describe(): path, ifname, netns...), so no backend is known here. */
static void log_port_ready(struct vn_port *p)
{
    char kv[512] = "";
    size_t off = 0;
    json_t *o = json_object(), *v;
    const char *k;
    p->ops->describe(p, o);
    json_object_foreach(o, k, v)
        if (json_is_string(v) && off < sizeof kv)
            off += (size_t)snprintf(kv + off, sizeof kv - off, " %s=%s", k, json_string_value(v));
    json_decref(o);
    vn_info("msg=\"port ready\" port=%s type=%s%s", p->conf.name, p->ops->type, kv);
}

/* Mirror sessions from the configuration (ports already exist). */
static int setup_mirrors(struct vn_daemon *d, const struct vn_config *c)
{
    char err[256];
    for (unsigned i = 0; i < c->nmirrors; i++) {
        const struct vn_mirror_conf *m = &c->mirrors[i];
        struct vn_port *from[16], *to = vn_switch_find_port(d->sw, m->to);
        for (unsigned k = 0; k < m->nfrom; k++)
            if (!(from[k] = vn_switch_find_port(d->sw, m->from[k]))) {
                vn_err("msg=\"cannot create mirror\" mirror=%s reason=\"no port '%s'\"", m->name,
                       m->from[k]);
                return -1;
            }
        if (!to || !vn_mirror_add(d->sw, m->name, from, m->nfrom, -1, m->dir, to, NULL, NULL, err,
                                  sizeof err)) {
            vn_err("msg=\"cannot create mirror\" mirror=%s reason=\"%s\"", m->name,
                   to ? err : "no destination port");
            return -1;
        }
        vn_info("msg=\"mirror ready\" mirror=%s to=%s", m->name, m->to);
    }
    return 0;
}

/* Descriptors kept free for everything that is not a NAT flow or a DNS
 * query: control clients (32), metrics connections (32), captures, lease
 * and state files, ports added at run time, the log. */
enum { FD_RESERVE = 160 };

/* Size the NAT flow tables to the descriptors the process may open: raise
 * the soft limit to the hard one, then, if the configured tables (one host
 * socket per flow) would not fit beside the ports, forwards, DNS
 * forwarders and the reserve, scale every table down (logged), so guests
 * exhaust their NAT table, never the daemon's descriptors. Returns in
 * max_flows[i] the table size of network i. */
static void plan_descriptors(const struct vn_config *c, uint32_t *max_flows)
{
    unsigned was, limit = vn_fd_raise_limit(&was);
    if (limit > was)
        vn_info("msg=\"descriptor limit raised\" from=%u to=%u", was, limit);
    uint64_t fixed = vn_fd_open_count() + FD_RESERVE + 2ull * c->nports, want = 0;
    for (unsigned i = 0; i < c->nnets; i++) {
        const struct vn_net_conf *n = &c->nets[i];
        max_flows[i] = n->max_flows;
        if (!vn_net_has_gateway(n))
            continue;
        fixed += n->nforwards + (n->dns ? vn_dns_fd_need() : 0);
        if (vn_net_has_nat_engine(n))
            want += n->max_flows;
    }
    uint64_t avail = limit > fixed ? limit - fixed : 0;
    if (want <= avail)
        return;
    for (unsigned i = 0; i < c->nnets; i++) {
        const struct vn_net_conf *n = &c->nets[i];
        if (!vn_net_has_nat_engine(n))
            continue;
        max_flows[i] = (uint32_t)VN_MAX(16, (uint64_t)n->max_flows * avail / want);
        vn_warn("msg=\"NAT flow table capped by the descriptor limit\" network=%s "
                "configured=%u max_flows=%u nofile=%u hint=\"raise the hard limit of open "
                "files (ulimit -Hn, systemd LimitNOFILE=) for the configured size\"",
                n->name, n->max_flows, max_flows[i], limit);
    }
}

int vn_daemon_setup(struct vn_daemon *d, const struct vn_config *c)
{
    char err[512];
    unsigned nworkers = c->workers ? c->workers : vn_workers_default();
    d->loop = vn_loop_new();
    if (!d->loop || vn_workers_init(&d->workers, nworkers) < 0) {
        vn_err("msg=\"cannot create the event loops\" error=\"%s\"", strerror(errno));
        return -1;
    }
    d->sw = vn_switch_new(d->loop);
    if (!d->sw || vn_switch_set_workers(d->sw, d->workers.loops, nworkers) < 0) {
        vn_err("msg=\"out of memory\"");
        return -1;
    }
    vn_workers_attach_control(&d->workers, d->loop);
    if (d->test_clock) { /* before anything arms a timer */
        vn_test_clock_install(d->loop);
        for (unsigned i = 0; i < nworkers; i++)
            vn_test_clock_install(d->workers.loops[i]);
        vn_warn("msg=\"test clock on: debug.clock.advance moves the loop's time (for tests "
                "only)\"");
    }
    for (unsigned i = 0; vn_port_backends[i]; i++)
        vn_switch_set_backend(d->sw, vn_port_backends[i]);
    d->sw->ct_max = c->conntrack_max;
    for (unsigned i = 0; i < nworkers; i++) /* the control loop never spins */
        vn_loop_set_busy_poll(d->workers.loops[i], (uint64_t)c->busy_poll_us * 1000u);
    struct vn_shard_plan plan;
    vn_workers_plan(c, nworkers, &plan);
    vn_info("msg=\"workers planned\" workers=%u shards=%u", nworkers, plan.nshards);
    uint32_t max_flows[VN_MAX_NETWORKS];
    plan_descriptors(c, max_flows);
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_network *n = vn_switch_add_network(d->sw, &c->nets[i], err, sizeof err);
        if (!n) {
            vn_err("msg=\"cannot create network\" network=%s reason=\"%s\"", c->nets[i].name, err);
            return -1;
        }
        n->conf.max_flows = max_flows[i];
        vn_switch_net_set_worker(n, plan.net_worker[i]); /* before its ports and gateway */
        vn_debug("msg=\"network on worker\" network=%s worker=%u shard=%u", n->conf.name,
                 plan.net_worker[i], plan.net_shard[i]);
        if (vn_net_has_gateway(&n->conf)) {
            n->gw = vn_gw_new(d->sw, n, c->state_dir, err, sizeof err);
            if (n->gw && (vn_nat_attach(n->gw, err, sizeof err) < 0 ||
                          vn_vpn_attach(n->gw, err, sizeof err) < 0)) {
                vn_gw_free(n->gw);
                n->gw = NULL;
            }
            if (!n->gw) {
                vn_err("msg=\"cannot start gateway services\" network=%s reason=\"%s\"",
                       n->conf.name, err);
                return -1;
            }
            char a[16];
            vn_info("msg=\"gateway ready\" network=%s mode=%s address=%s/%u", n->conf.name,
                    vn_net_mode_name(n->conf.mode), vn_ip4_str(n->conf.gateway, a),
                    n->conf.prefix);
        }
    }
    for (unsigned i = 0; i < c->nports; i++) {
        const struct vn_port_conf *pc = &c->ports[i];
        struct vn_port *p = vn_switch_add_port(d->sw, pc, err, sizeof err);
        if (!p) {
            vn_err("msg=\"cannot open port\" port=%s reason=\"%s\"", pc->name, err);
            return -1;
        }
        log_port_ready(p);
    }
    if (setup_mirrors(d, c) < 0)
        return -1;
    if (c->evpn.port[0]) {
        d->evpn = vn_evpn_open(d->sw, &c->evpn, err, sizeof err);
        if (!d->evpn) {
            vn_err("msg=\"cannot start the EVPN mirror\" port=%s reason=\"%s\"", c->evpn.port,
                   err);
            return -1;
        }
    }
    d->ctl = vn_ctl_open(d->loop, c->control, c->control_mode, err, sizeof err);
    if (!d->ctl) {
        vn_err("msg=\"cannot open control socket\" reason=\"%s\"", err);
        return -1;
    }
    if (c->control_gid >= 0 && vn_ctl_allow_group(d->ctl, (gid_t)c->control_gid) < 0) {
        vn_err("msg=\"cannot give the control socket to its group\" group=%s error=\"%s\"",
               c->control_group, strerror(errno));
        return -1;
    }
    vn_switch_cmds_register(d->ctl, d->sw);
    vn_gw_cmds_register(d->ctl, d->sw);
    vn_obs_cmds_register(d->ctl, d->sw);
    vn_acl_cmds_register(d->ctl, d->sw);
    vn_evpn_cmds_register(d->ctl, &d->evpn);
    vn_debug_cmds_register(d->ctl);
    vn_vpn_cmds_register(d->ctl, d->sw);
    if (c->metrics[0]) {
        d->metrics = vn_metrics_open(d->loop, d->sw, c->metrics, err, sizeof err);
        if (!d->metrics) {
            vn_err("msg=\"cannot open the metrics endpoint\" address=%s reason=\"%s\"",
                   c->metrics, err);
            return -1;
        }
        vn_info("msg=\"metrics ready\" address=%s", c->metrics);
    }

    sigset_t set;
    vn_daemon_block_signals(NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGCHLD);
    d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0 || vn_io_add(d->loop, &d->sigio, d->sigfd, EPOLLIN, signal_event) < 0) {
        vn_err("msg=\"signalfd failed\" error=\"%s\"", strerror(errno));
        return -1;
    }
    return 0;
}

int vn_daemon_sandbox(struct vn_daemon *d, const struct vn_config *c)
{
    if (!c->sandbox)
        return 0;
    struct vn_sandbox_needs needs = { .net_bind_service = true };
    bool nat = false;
    for (unsigned i = 0; i < c->nnets; i++)
        nat |= c->nets[i].mode == VN_MODE_NAT;
    if (nat) { /* ICMP echo needs raw sockets only where ping sockets are not allowed */
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);
        if (fd >= 0)
            close(fd);
        else
            needs.net_raw = true;
    }
    for (unsigned i = 0; i < d->sw->nports; i++)
        needs.net_raw |= d->sw->ports[i] && d->sw->ports[i]->ops->needs_net_raw;
    char err[256];
    if (vn_sandbox_enter(&needs, err, sizeof err) < 0) {
        vn_err("msg=\"cannot enter the sandbox\" reason=\"%s\" hint=\"set 'sandbox: false' to run "
               "without it\"",
               err);
        return -1;
    }
    return 0;
}

int vn_daemon_run(struct vn_daemon *d)
{
    /* A child that ended before the signalfd existed. */
    if (d->child)
        reap_children(d);
    if (d->child_exited)
        return 0;
    d->sw->running = true;
    if (vn_workers_start(&d->workers) < 0)
        return -1;
    int rc = vn_loop_run(d->loop) == 0 ? 0 : -1;
    vn_workers_stop(&d->workers);
    return rc;
}

void vn_daemon_teardown(struct vn_daemon *d)
{
    vn_workers_stop(&d->workers); /* everything below runs on this thread alone */
    vn_metrics_close(d->metrics);
    d->metrics = NULL;
    vn_ctl_close(d->ctl);
    d->ctl = NULL;
    vn_evpn_close(d->evpn);
    d->evpn = NULL;
    if (d->sw)
        for (unsigned i = 0; i < d->sw->nnets; i++) {
            vn_gw_free(d->sw->nets[i]->gw);
            d->sw->nets[i]->gw = NULL;
        }
    vn_switch_free(d->sw);
    d->sw = NULL;
    if (d->sigfd >= 0) {
        if (d->loop)
            vn_io_del(d->loop, &d->sigio);
        close(d->sigfd);
        d->sigfd = -1;
    }
    vn_loop_free(d->loop);
    d->loop = NULL;
    vn_workers_free(&d->workers);
}
