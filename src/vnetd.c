/* vnetd: the vnet daemon. Loads the configuration, builds the switch and its
 * ports, serves the control socket and runs the event loop until SIGINT or
 * SIGTERM, then removes every socket and interface it created. */
#include "conf/config.h"
#include "conf/flags.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/util.h"
#include "ctl/ctl.h"
#include "ctl/gw_cmds.h"
#include "ctl/switch_cmds.h"
#include "gw/gateway.h"
#include "switch/switch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VN_VERSION
#define VN_VERSION "dev"
#endif

struct opts {
    const char *config;
    const char *control, *pidfile, *log;
    bool daemon, print_config, check, use_syslog;
    const char *nets[VN_MAX_NETWORKS];
    unsigned nnets;
    const char **ports;
    unsigned nports;
};

static void usage(FILE *o)
{
    fprintf(o,
            "usage: vnetd [-c FILE] [--control PATH] [--foreground|--daemon] [--pid FILE]\n"
            "             [--log LEVEL] [--syslog] [--network SPEC]... [--port SPEC]...\n"
            "             [--print-config] [--check]\n"
            "\n"
            "  -c, --config FILE    YAML configuration (see vnetd.conf(5))\n"
            "      --control PATH   control socket (default /run/vnet/vnetd.sock as root)\n"
            "  -f, --foreground     stay in the foreground (default)\n"
            "  -d, --daemon         detach once everything is set up\n"
            "      --pid FILE       write the daemon's PID to FILE\n"
            "      --log LEVEL      error, warn, info (default) or debug\n"
            "      --syslog         log to syslog instead of stderr\n"
            "      --network SPEC   add a network: NAME[,mode=M][,vlan=N][,mtu=N]...\n"
            "      --port SPEC      add a port: NAME,type=stream|dgram|tap,network=NET[,key=value]...\n"
            "                       (trunk ports: trunk=NET1+NET2[,native=NET1])\n"
            "      --print-config   print the effective configuration as YAML and exit\n"
            "      --check          validate the configuration and exit\n"
            "  -V, --version        print the version and exit\n"
            "\n"
            "With no configuration at all, vnetd runs one network 'default' with a stream port\n"
            "'vm' for QEMU (-netdev stream,server=off,addr.type=unix,addr.path=PATH).\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum { O_CONTROL = 256, O_PID, O_LOG, O_SYSLOG, O_NETWORK, O_PORT, O_PRINT, O_CHECK };
    static const struct option lo[] = {
        { "config", required_argument, 0, 'c' },  { "control", required_argument, 0, O_CONTROL },
        { "foreground", no_argument, 0, 'f' },    { "daemon", no_argument, 0, 'd' },
        { "pid", required_argument, 0, O_PID },   { "log", required_argument, 0, O_LOG },
        { "syslog", no_argument, 0, O_SYSLOG },   { "network", required_argument, 0, O_NETWORK },
        { "port", required_argument, 0, O_PORT }, { "print-config", no_argument, 0, O_PRINT },
        { "check", no_argument, 0, O_CHECK },     { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },       { 0, 0, 0, 0 },
    };
    o->ports = calloc((size_t)argc, sizeof *o->ports);
    if (!o->ports)
        return -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:fdhV", lo, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case O_CONTROL: o->control = optarg; break;
        case 'f': o->daemon = false; break;
        case 'd': o->daemon = true; break;
        case O_PID: o->pidfile = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_SYSLOG: o->use_syslog = true; break;
        case O_NETWORK:
            if (o->nnets >= VN_MAX_NETWORKS) {
                fprintf(stderr, "vnetd: too many --network flags\n");
                return -1;
            }
            o->nets[o->nnets++] = optarg;
            break;
        case O_PORT: o->ports[o->nports++] = optarg; break;
        case O_PRINT: o->print_config = true; break;
        case O_CHECK: o->check = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("vnetd %s\n", VN_VERSION); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vnetd: unexpected argument '%s'\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* Build and validate the model from file and flags; returns NULL after
 * printing the error. */
static struct vn_config *build_config(const struct opts *o)
{
    struct vn_config *c = vn_conf_new();
    struct vn_conf_err err = { "" };
    const struct vn_conf_src cl = { NULL, 0 };
    if (!c) {
        fprintf(stderr, "vnetd: out of memory\n");
        return NULL;
    }
    if (o->config && vn_conf_load_yaml(c, o->config, &err))
        goto fail;
    for (unsigned i = 0; i < o->nnets; i++)
        if (vn_conf_flag_network(c, o->nets[i], &err))
            goto fail;
    for (unsigned i = 0; i < o->nports; i++)
        if (vn_conf_flag_port(c, o->ports[i], &err))
            goto fail;
    if ((o->control && vn_conf_global_set(c, "control", o->control, cl, &err)) ||
        (o->pidfile && vn_conf_global_set(c, "pid", o->pidfile, cl, &err)) ||
        (o->log && vn_conf_global_set(c, "log", o->log, cl, &err)))
        goto fail;
    if (!o->config && !o->nnets && !o->nports && vn_conf_apply_defaults(c, &err))
        goto fail;
    if (vn_conf_validate(c, &err))
        goto fail;
    return c;
fail:
    fprintf(stderr, "vnetd: %s\n", err.msg);
    vn_conf_free(c);
    return NULL;
}

/* Write the pid file atomically; refuses if it names a live process. */
static int write_pidfile(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f) {
        int pid = 0;
        if (fscanf(f, "%d", &pid) == 1 && pid > 0 && pid != getpid() && kill(pid, 0) == 0) {
            fclose(f);
            vn_err("msg=\"pid file names a running process\" pidfile=%s pid=%d", path, pid);
            return -1;
        }
        fclose(f);
    }
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0 || rename(tmp, path) < 0) {
        vn_err("msg=\"cannot write pid file\" pidfile=%s error=\"%s\"", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

struct daemon_state {
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_ctl *ctl;
    struct vn_io sigio;
    int sigfd;
    int signal_seen;
};

static void signal_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct daemon_state *d = VN_CONTAINER_OF(io, struct daemon_state, sigio);
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
            vn_info("msg=\"SIGHUP ignored: use 'vnetctl' to change the running network\"");
            continue;
        }
        d->signal_seen = (int)si.ssi_signo;
        vn_loop_stop(d->loop);
    }
}

/* Create everything the config describes; returns 0 or -1 after logging. */
static int setup(struct daemon_state *d, const struct vn_config *c)
{
    char err[512];
    d->loop = vn_loop_new();
    d->sw = d->loop ? vn_switch_new(d->loop) : NULL;
    if (!d->sw) {
        vn_err("msg=\"out of memory\"");
        return -1;
    }
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_network *n = vn_switch_add_network(d->sw, &c->nets[i], err, sizeof err);
        if (!n) {
            vn_err("msg=\"cannot create network\" network=%s reason=\"%s\"", c->nets[i].name, err);
            return -1;
        }
        if (vn_net_has_gateway(&n->conf)) {
            n->gw = vn_gw_new(d->sw, n, c->state_dir, err, sizeof err);
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
        if (!vn_switch_add_port(d->sw, pc, err, sizeof err)) {
            vn_err("msg=\"cannot open port\" port=%s reason=\"%s\"", pc->name, err);
            return -1;
        }
        if (pc->type == VN_PORT_TAP)
            vn_info("msg=\"port ready\" port=%s type=tap ifname=%s%s%s", pc->name, pc->ifname,
                    pc->netns[0] ? " netns=" : "", pc->netns);
        else
            vn_info("msg=\"port ready\" port=%s type=%s path=%s", pc->name,
                    vn_port_type_name(pc->type), pc->path);
    }
    d->ctl = vn_ctl_open(d->loop, c->control, c->control_mode, err, sizeof err);
    if (!d->ctl) {
        vn_err("msg=\"cannot open control socket\" reason=\"%s\"", err);
        return -1;
    }
    vn_switch_cmds_register(d->ctl, d->sw);
    vn_gw_cmds_register(d->ctl, d->sw);

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0 || vn_io_add(d->loop, &d->sigio, d->sigfd, EPOLLIN, signal_event) < 0) {
        vn_err("msg=\"signalfd failed\" error=\"%s\"", strerror(errno));
        return -1;
    }
    return 0;
}

static void teardown(struct daemon_state *d)
{
    vn_ctl_close(d->ctl);
    if (d->sw)
        for (unsigned i = 0; i < d->sw->nnets; i++) {
            vn_gw_free(d->sw->nets[i]->gw);
            d->sw->nets[i]->gw = NULL;
        }
    vn_switch_free(d->sw);
    if (d->sigfd > 0)
        close(d->sigfd);
    vn_loop_free(d->loop);
}

/* Fork; the parent waits until the child reports setup success (exit 0) or
 * failure (exit 1) over a pipe. Returns the write end in the child. */
static int daemonize(void)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        close(pfd[1]);
        char st = 1;
        ssize_t r = read(pfd[0], &st, 1);
        _exit(r == 1 && st == 0 ? 0 : 1);
    }
    close(pfd[0]);
    setsid();
    if (chdir("/") < 0)
        return -1;
    return pfd[1];
}

int main(int argc, char **argv)
{
    struct opts o = { 0 };
    if (parse_opts(argc, argv, &o) < 0)
        return 2;
    struct vn_config *c = build_config(&o);
    free(o.ports);
    if (!c)
        return 2;
    if (o.print_config) {
        vn_conf_print(c, stdout);
        vn_conf_free(c);
        return 0;
    }
    if (o.check) {
        printf("configuration ok: %u network(s), %u port(s)\n", c->nnets, c->nports);
        vn_conf_free(c);
        return 0;
    }
    if (c->log_level >= 0)
        vn_log_set_level((enum vn_log_level)c->log_level);
    if (o.use_syslog)
        vn_log_use_syslog("vnetd");
    signal(SIGPIPE, SIG_IGN);
    vn_hash_init();

    int notify = -1;
    if (o.daemon && (notify = daemonize()) < 0) {
        fprintf(stderr, "vnetd: cannot daemonize: %s\n", strerror(errno));
        return 1;
    }
    struct daemon_state d = { .sigfd = -1 };
    int rc = 1;
    if (setup(&d, c) == 0 && (!c->pidfile[0] || write_pidfile(c->pidfile) == 0)) {
        vn_info("msg=ready version=%s control=%s networks=%u ports=%u", VN_VERSION, c->control,
                c->nnets, c->nports);
        if (notify >= 0) {
            char ok = 0;
            if (write(notify, &ok, 1) != 1)
                vn_warn("msg=\"cannot notify the parent process\"");
            close(notify);
            notify = -1;
            int nul = open("/dev/null", O_RDWR);
            if (nul >= 0) {
                dup2(nul, 0);
                dup2(nul, 1);
                if (!o.use_syslog)
                    vn_log_use_syslog("vnetd");
                dup2(nul, 2);
                close(nul);
            }
        }
        rc = vn_loop_run(d.loop) == 0 ? 0 : 1;
        vn_info("msg=\"shutting down\" signal=%d", d.signal_seen);
        if (c->pidfile[0])
            unlink(c->pidfile);
    }
    teardown(&d);
    vn_conf_free(c);
    if (notify >= 0)
        close(notify); /* parent reads EOF: failure */
    return rc;
}
