/* vnetd: the vnet daemon. Loads the configuration, builds the switch and its
 * ports, serves the control socket and runs the event loop until SIGINT or
 * SIGTERM, then removes every socket and interface it created (daemon.c).
 * `vnetd run ...` runs a command in its own network namespace (run/run.c);
 * `vnetd vpn genkey|pubkey` makes and reads WireGuard keys (vpn/keytool.c). */
#include "conf/config.h"
#include "conf/flags.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/util.h"
#include "daemon.h"
#include "run/run.h"
#include "vpn/keytool.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef VN_VERSION
#define VN_VERSION "dev"
#endif

struct opts {
    const char *config;
    const char *control, *pidfile, *log, *metrics;
    bool daemon, print_config, check, use_syslog, nat, test_clock;
    const char *listen;
    const char *nets[VN_MAX_NETWORKS];
    unsigned nnets;
    const char **ports;
    unsigned nports;
    const char **forwards;
    unsigned nforwards;
};

static void usage(FILE *o)
{
    fprintf(o,
            "usage: vnetd [-c FILE] [--control PATH] [--foreground|--daemon] [--pid FILE]\n"
            "             [--log LEVEL] [--syslog] [--metrics ADDR:PORT] [--nat] [--listen SOCKPATH]\n"
            "             [--forward PROTO:HOSTPORT[:GUESTIP]:GUESTPORT]...\n"
            "             [--network SPEC]... [--port SPEC]... [--print-config] [--check] [--test-clock]\n"
            "       vnetd run [OPTIONS] [--] CMD [ARGS...]\n"
            "       vnetd vpn genkey|pubkey\n"
            "\n"
            "  -c, --config FILE    YAML configuration (see docs/vnetd.conf.md)\n"
            "      --control PATH   control socket (default /run/vnet/vnetd.sock as root,\n"
            "                       $XDG_RUNTIME_DIR/vnet/vnetd.sock or /tmp/vnet-UID/ otherwise)\n"
            "  -f, --foreground     stay in the foreground (default)\n"
            "  -d, --daemon         detach once everything is set up\n"
            "      --pid FILE       write the daemon's PID to FILE\n"
            "      --log LEVEL      error, warn, info (default) or debug\n"
            "      --syslog         log to syslog instead of stderr\n"
            "      --metrics ADDR:PORT  serve Prometheus metrics over HTTP at ADDR:PORT\n"
            "                       (e.g. 127.0.0.1:9464; /metrics)\n"
            "      --nat            the default NAT network 'default' (10.0.2.0/24, gateway .2,\n"
            "                       DNS .3, DHCP from .15) with a stream port 'vm' for QEMU; this\n"
            "                       is also what vnetd runs with no -c, --network or --port at all\n"
            "      --listen PATH    the unix socket QEMU connects to (the stream port 'vm' of the\n"
            "                       default network; with -c: a stream port on its nat network)\n"
            "      --forward SPEC   forward a host port into the guest, repeatable:\n"
            "                       PROTO:HOSTPORT[:GUESTIP]:GUESTPORT (host side 127.0.0.1) or\n"
            "                       PROTO:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT; the guest address\n"
            "                       defaults to the first DHCP address; goes to the default\n"
            "                       network, or the only nat network of the configuration\n"
            "      --network SPEC   add a network: NAME[,mode=M][,vlan=N][,mtu=N]...\n"
            "      --port SPEC      add a port: NAME,type=stream|dgram|tap|uplink,network=NET[,key=value]...\n"
            "                       (trunk ports: trunk=NET1+NET2[,native=NET1])\n"
            "      --print-config   print the effective configuration as YAML and exit\n"
            "      --check          validate the configuration and exit\n"
            "      --test-clock     FOR TESTS ONLY: the control command debug.clock.advance\n"
            "                       (vnetctl debug clock-advance MS) moves the daemon's timer\n"
            "                       clock forward, so protocol timeouts happen without waiting\n"
            "  -V, --version        print the version and exit\n"
            "\n"
            "With no configuration at all, vnetd runs one NAT network 'default' with a stream\n"
            "port 'vm' and logs the QEMU option that attaches to it:\n"
            "  qemu-system-x86_64 ... -netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH \\\n"
            "                         -device virtio-net-pci,netdev=n0\n"
            "\n"
            "vnetd run [OPTIONS] [--] CMD [ARGS...] runs CMD in a new network namespace (and a\n"
            "user namespace when not root) whose interface eth0 sits on a NAT network, like\n"
            "pasta or slirp4netns, and exits with CMD's status. 'vnetd run --help' lists its\n"
            "options; see docs/vnetd-run.md.\n"
            "\n"
            "vnetd vpn genkey prints a new WireGuard private key (base64); vnetd vpn pubkey\n"
            "reads one on stdin and prints its public key: the keys of wg genkey and wg pubkey,\n"
            "for a network's vpn.private_key_file and its peers' public_key.\n");
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
    enum { O_CONTROL = 256, O_PID, O_LOG, O_SYSLOG, O_NETWORK, O_PORT, O_PRINT, O_CHECK, O_NAT,
           O_LISTEN, O_FORWARD, O_METRICS, O_TEST_CLOCK };
    static const struct option lo[] = {
        { "config", required_argument, 0, 'c' },  { "control", required_argument, 0, O_CONTROL },
        { "foreground", no_argument, 0, 'f' },    { "daemon", no_argument, 0, 'd' },
        { "pid", required_argument, 0, O_PID },   { "log", required_argument, 0, O_LOG },
        { "syslog", no_argument, 0, O_SYSLOG },   { "network", required_argument, 0, O_NETWORK },
        { "port", required_argument, 0, O_PORT }, { "print-config", no_argument, 0, O_PRINT },
        { "check", no_argument, 0, O_CHECK },     { "help", no_argument, 0, 'h' },
        { "version", no_argument, 0, 'V' },       { "nat", no_argument, 0, O_NAT },
        { "listen", required_argument, 0, O_LISTEN },
        { "forward", required_argument, 0, O_FORWARD },
        { "metrics", required_argument, 0, O_METRICS },
        { "test-clock", no_argument, 0, O_TEST_CLOCK },
        { 0, 0, 0, 0 },
    };
    o->ports = calloc((size_t)argc, sizeof *o->ports);
    o->forwards = calloc((size_t)argc, sizeof *o->forwards);
    if (!o->ports || !o->forwards)
        return -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:fdhV", lo, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case O_CONTROL: o->control = optarg; break;
        case 'f': o->daemon = false; break;
        case 'd': o->daemon = true; break;
        case O_PID: o->pidfile = optarg; break;
        case O_METRICS: o->metrics = optarg; break;
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
        case O_NAT: o->nat = true; break;
        case O_LISTEN:
            if (o->listen) {
                fprintf(stderr, "vnetd: --listen given twice\n");
                return -1;
            }
            o->listen = optarg;
            break;
        case O_FORWARD: o->forwards[o->nforwards++] = optarg; break;
        case O_TEST_CLOCK: o->test_clock = true; break;
        case 'h': usage(stdout); exit(0);
        case 'V': printf("vnetd %s\n", VN_VERSION); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "vnetd: unexpected argument '%s'%s\n", argv[optind],
                !strcmp(argv[optind], "run") ? " ('run' must come first: vnetd run ...)" : "");
        return -1;
    }
    return 0;
}

/* The nat network --listen and --forward apply to: "default" when the
 * defaults or --nat made it, else the only nat network there is. */
static struct vn_net_conf *target_net(struct vn_config *c, const struct opts *o, bool made_default,
                                      struct vn_conf_err *err)
{
    const struct vn_conf_src cl = { NULL, 0 };
    const char *what = o->listen && o->nforwards ? "--listen and --forward"
                       : o->listen               ? "--listen"
                                                 : "--forward";
    const char *from = o->config ? o->config : "the --network flags";
    if (made_default)
        return vn_conf_find_net(c, "default");
    struct vn_net_conf *found = NULL;
    char names[200] = "";
    unsigned n = 0;
    for (unsigned i = 0; i < c->nnets; i++) {
        if (c->nets[i].mode != VN_MODE_NAT)
            continue;
        found = &c->nets[i];
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s%s", n ? ", " : "", c->nets[i].name);
        n++;
    }
    if (n == 1)
        return found;
    if (!n)
        vn_conf_fail(err, cl,
                     "%s %s a nat network, and %s defines none (add one, or give --nat for "
                     "the default network 10.0.2.0/24)",
                     what, o->listen && o->nforwards ? "need" : "needs", from);
    else
        vn_conf_fail(err, cl,
                     "%s: %s defines %u nat networks (%s), so it is ambiguous which one is "
                     "meant; put the port or forward into the configuration instead",
                     what, from, n, names);
    return NULL;
}

/* An absolute version of a relative --listen path (the daemon may chdir). */
static int absolute_path(const char *p, char *buf, size_t n)
{
    if (p[0] == '/')
        return vn_strlcpy(buf, p, n) < n ? 0 : -1;
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return -1;
    return (size_t)snprintf(buf, n, "%s/%s", cwd, p) < n ? 0 : -1;
}

/* Build and validate the model from file and flags; returns NULL after
 * printing the error. *qemu_port is set to the stream port to advertise. */
static struct vn_config *build_config(const struct opts *o, int *qemu_port)
{
    struct vn_config *c = vn_conf_new();
    struct vn_conf_err err = { "" };
    const struct vn_conf_src cl = { NULL, 0 };
    *qemu_port = -1;
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
        (o->log && vn_conf_global_set(c, "log", o->log, cl, &err)) ||
        (o->metrics && vn_conf_global_set(c, "metrics", o->metrics, cl, &err)))
        goto fail;
    bool bare = !o->config && !o->nnets && !o->nports;
    if (bare || o->nat) {
        if (!bare && vn_conf_find_net(c, "default")) {
            vn_conf_fail(&err, cl, "--nat adds the network 'default', but %s already defines one",
                         o->config ? o->config : "a --network flag");
            goto fail;
        }
        for (unsigned i = 0; i < c->nports; i++)
            if (!strcmp(c->ports[i].name, "vm")) {
                vn_conf_fail(&err, cl, "--nat adds the stream port 'vm', but %s already defines "
                                       "a port with that name",
                             o->config ? o->config : "a --port flag");
                goto fail;
            }
        if (vn_conf_apply_defaults(c, &err))
            goto fail;
        *qemu_port = (int)c->nports - 1;
    }
    if (o->listen || o->nforwards) {
        struct vn_net_conf *n = target_net(c, o, bare || o->nat, &err);
        if (!n)
            goto fail;
        if (o->listen) {
            char path[VN_PATH_MAX];
            if (absolute_path(o->listen, path, sizeof path) < 0) {
                vn_conf_fail(&err, cl, "--listen: '%s' is too long for a unix socket path "
                                       "(at most %d characters)",
                             o->listen, VN_PATH_MAX - 1);
                goto fail;
            }
            struct vn_port_conf *p = NULL;
            if (*qemu_port >= 0) {
                p = &c->ports[*qemu_port];
            } else {
                const char *names[] = { "vm", "listen", "qemu" };
                const char *name = NULL;
                for (unsigned k = 0; k < 3 && !name; k++) {
                    name = names[k];
                    for (unsigned i = 0; i < c->nports; i++)
                        if (!strcmp(c->ports[i].name, names[k]))
                            name = NULL;
                }
                if (!name) {
                    vn_conf_fail(&err, cl, "--listen: ports 'vm', 'listen' and 'qemu' all exist; "
                                           "add the stream port to the configuration instead");
                    goto fail;
                }
                if (!(p = vn_conf_add_port(c, cl, &err)) ||
                    vn_conf_port_set(p, "name", name, cl, &err) ||
                    vn_conf_port_set(p, "type", "stream", cl, &err) ||
                    vn_conf_port_set(p, "network", n->name, cl, &err))
                    goto fail;
                *qemu_port = (int)c->nports - 1;
            }
            if (vn_conf_port_set(p, "path", path, cl, &err))
                goto fail;
        }
        for (unsigned i = 0; i < o->nforwards; i++)
            if (vn_conf_net_set(n, "forward", o->forwards[i], cl, &err))
                goto fail;
    }
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
    if (argc > 1 && !strcmp(argv[1], "run"))
        return vn_run_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "vpn"))
        return vn_vpn_keytool_main(argc - 1, argv + 1);
    struct opts o = { 0 };
    if (parse_opts(argc, argv, &o) < 0) {
        free(o.ports);
        free(o.forwards);
        return 2;
    }
    int qemu_port;
    struct vn_config *c = build_config(&o, &qemu_port);
    free(o.ports);
    free(o.forwards);
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
    struct vn_daemon d;
    vn_daemon_init(&d);
    d.test_clock = o.test_clock;
    int rc = 1;
    bool pid_written = false;
    if (vn_daemon_setup(&d, c) == 0 &&
        (!c->pidfile[0] || (pid_written = write_pidfile(c->pidfile) == 0)) &&
        vn_daemon_sandbox(&d, c) == 0) {
        char q[VN_PATH_MAX + 96];
        if (qemu_port >= 0)
            vn_info("msg=ready version=%s control=%s networks=%u ports=%u qemu=\"%s "
                    "-device virtio-net-pci,netdev=n0\"",
                    VN_VERSION, c->control, c->nnets, c->nports,
                    vn_daemon_qemu_netdev(c->ports[qemu_port].path, q, sizeof q));
        else
            vn_info("msg=ready version=%s control=%s networks=%u ports=%u", VN_VERSION,
                    c->control, c->nnets, c->nports);
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
        rc = vn_daemon_run(&d) == 0 ? 0 : 1;
        vn_info("msg=\"shutting down\" signal=%d", d.signal_seen);
    }
    if (pid_written)
        unlink(c->pidfile);
    vn_daemon_teardown(&d);
    vn_conf_free(c);
    if (notify >= 0)
        close(notify); /* parent reads EOF: failure */
    return rc;
}
