/* `vnetd run`: the daemon side (see run.h and ns.h).
 *
 * The daemon builds the configuration model (one nat network "default" and a
 * tap port whose fd comes from the child), creates a private directory for
 * the control socket and the generated resolv.conf, forks the namespace
 * child, receives the tap fd from it over a socketpair (SCM_RIGHTS), runs the
 * ordinary daemon (daemon.c) with the child as its supervised process, tells
 * the child to go ahead, and exits with the child's status once it is gone.
 * SIGINT, SIGTERM and SIGHUP sent to vnetd are passed to the command. The
 * directory and everything in it is removed on the way out. */
#include "run.h"
#include "conf/config.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/util.h"
#include "daemon.h"
#include "ns.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SETS 128

struct run_opts {
    const char *keys[MAX_SETS], *vals[MAX_SETS]; /* network keys, in order */
    char *owned[MAX_SETS];                       /* "-o KEY=VALUE" copies */
    unsigned nsets;
    const char *ifname, *control, *log;
    bool dhcp, print_config, no_sandbox, no_resolv;
};

static void run_usage(FILE *o)
{
    fprintf(o,
            "usage: vnetd run [OPTIONS] [--] CMD [ARGS...]\n"
            "\n"
            "Run CMD in a new network namespace (and a user namespace when not root: CMD\n"
            "runs as root of that namespace) whose interface eth0 is on a NAT network that\n"
            "this vnetd serves: address 10.0.2.15/24, gateway 10.0.2.2 (which also reaches the\n"
            "host's 127.0.0.1), DNS 10.0.2.3 in a private /etc/resolv.conf. vnetd exits with\n"
            "CMD's exit status (128+N when CMD was killed by signal N), 125 if it could not\n"
            "set up, 126/127 if CMD could not be run or found; everything it created (tap,\n"
            "namespaces, sockets, files, processes CMD left behind) is gone then.\n"
            "Without CMD it runs $SHELL.\n"
            "\n"
            "  --subnet CIDR            the network (default 10.0.2.0/24)\n"
            "  --gateway ADDR           gateway address (default: .2 of the default subnet,\n"
            "                           else the first address)\n"
            "  --mtu N                  MTU of the network and eth0 (default 1500)\n"
            "  --dns ADDR               DNS address in the network (default .3 / the gateway)\n"
            "  --dns-upstream ADDR[:PORT]  resolver the DNS forwarder asks (repeatable;\n"
            "                           default: the host's /etc/resolv.conf)\n"
            "  --no-dns                 no DNS service; keep the host's /etc/resolv.conf\n"
            "  --no-host-loopback       the gateway address does not reach the host's loopback\n"
            "  --forward SPEC           host -> CMD port forward (repeatable):\n"
            "                           PROTO:HOSTPORT[:GUESTIP]:GUESTPORT (host 127.0.0.1) or\n"
            "                           PROTO:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT\n"
            "  -o, --set KEY=VALUE      any network key of vnetd.conf (dns.domain=..., \n"
            "                           dhcp.range=A-B, nat.max_flows=N, acl.default=...)\n"
            "  --ifname NAME            name of the interface (default eth0)\n"
            "  --dhcp                   configure the interface with DHCP (from vnetd's server)\n"
            "                           instead of directly\n"
            "  --control PATH           control socket for vnetctl (default: in a private\n"
            "                           directory that is removed at exit)\n"
            "  --log LEVEL              error, warn (default), info or debug\n"
            "  --no-sandbox             do not confine the daemon with seccomp\n"
            "  --print-config           print the network configuration as YAML and exit\n"
            "  -h, --help               this text\n"
            "\n"
            "Unprivileged use needs user namespaces (user.max_user_namespaces > 0, and\n"
            "kernel.unprivileged_userns_clone=1 where that sysctl exists) and a /dev/net/tun\n"
            "that the user may open (mode 0666, as most distributions ship it).\n"
            "\n"
            "Example: vnetd run --forward tcp:8080:80 -- python3 -m http.server 80\n");
}

static int add_set(struct run_opts *o, const char *key, const char *val)
{
    if (o->nsets >= MAX_SETS) {
        fprintf(stderr, "vnetd run: too many network options\n");
        return -1;
    }
    o->keys[o->nsets] = key;
    o->vals[o->nsets++] = val;
    return 0;
}

static void free_opts(struct run_opts *o)
{
    for (unsigned i = 0; i < o->nsets; i++)
        free(o->owned[i]);
}

static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
    enum { O_SUBNET = 256, O_GATEWAY, O_MTU, O_DNS, O_UPSTREAM, O_NODNS, O_NOLOOP, O_FORWARD,
           O_IFNAME, O_DHCP, O_CONTROL, O_LOG, O_NOSANDBOX, O_PRINT };
    static const struct option lo[] = {
        { "subnet", required_argument, 0, O_SUBNET },
        { "gateway", required_argument, 0, O_GATEWAY },
        { "mtu", required_argument, 0, O_MTU },
        { "dns", required_argument, 0, O_DNS },
        { "dns-upstream", required_argument, 0, O_UPSTREAM },
        { "no-dns", no_argument, 0, O_NODNS },
        { "no-host-loopback", no_argument, 0, O_NOLOOP },
        { "forward", required_argument, 0, O_FORWARD },
        { "set", required_argument, 0, 'o' },
        { "ifname", required_argument, 0, O_IFNAME },
        { "dhcp", no_argument, 0, O_DHCP },
        { "control", required_argument, 0, O_CONTROL },
        { "log", required_argument, 0, O_LOG },
        { "no-sandbox", no_argument, 0, O_NOSANDBOX },
        { "print-config", no_argument, 0, O_PRINT },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    int c, rc = 0;
    optind = 1;
    argv[0] = (char *)"vnetd run"; /* for getopt's messages */
    while (rc == 0 && (c = getopt_long(argc, argv, "+o:h", lo, NULL)) != -1) {
        switch (c) {
        case O_SUBNET: rc = add_set(o, "subnet", optarg); break;
        case O_GATEWAY: rc = add_set(o, "gateway", optarg); break;
        case O_MTU: rc = add_set(o, "mtu", optarg); break;
        case O_DNS: rc = add_set(o, "dns.address", optarg); break;
        case O_UPSTREAM: rc = add_set(o, "dns.upstream", optarg); break;
        case O_NODNS:
            o->no_resolv = true;
            rc = add_set(o, "dns.enabled", "false");
            break;
        case O_NOLOOP: rc = add_set(o, "map_host_loopback", "false"); break;
        case O_FORWARD: rc = add_set(o, "forward", optarg); break;
        case 'o': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "vnetd run: --set '%s': expected KEY=VALUE\n", optarg);
                return -1;
            }
            char *k = strdup(optarg);
            if (!k)
                return -1;
            k[eq - optarg] = 0;
            rc = add_set(o, k, k + (eq - optarg) + 1);
            if (rc == 0)
                o->owned[o->nsets - 1] = k;
            else
                free(k);
            break;
        }
        case O_IFNAME: o->ifname = optarg; break;
        case O_DHCP: o->dhcp = true; break;
        case O_CONTROL: o->control = optarg; break;
        case O_LOG: o->log = optarg; break;
        case O_NOSANDBOX: o->no_sandbox = true; break;
        case O_PRINT: o->print_config = true; break;
        case 'h': run_usage(stdout); exit(0);
        default:
            fprintf(stderr, "Try 'vnetd run --help'.\n");
            return -1;
        }
    }
    return rc;
}

/* A private directory for the control socket and resolv.conf. */
static int make_dir(char *buf, size_t n)
{
    const char *bases[] = { getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), "/tmp" };
    for (unsigned i = 0; i < 3; i++) {
        if (!bases[i] || bases[i][0] != '/')
            continue;
        if ((size_t)snprintf(buf, n, "%s/vnetd-run.XXXXXX", bases[i]) >= n)
            continue;
        if (mkdtemp(buf))
            return 0;
    }
    return -1;
}

/* Remove dir and the files in it (it holds no subdirectories). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                unlinkat(dirfd(d), e->d_name, 0);
        closedir(d);
    }
    /* unlinkat rather than rmdir: the sandbox's allow-list has it. */
    if (unlinkat(AT_FDCWD, dir, AT_REMOVEDIR) < 0 && errno != ENOENT)
        vn_warn("msg=\"cannot remove the run directory\" dir=%s error=\"%s\"", dir,
                strerror(errno));
}

static int write_resolv(const char *path, const struct vn_net_conf *n)
{
    char a[16];
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fchmod(fileno(f), 0644);
    fprintf(f, "# written by vnetd run: the DNS forwarder of network '%s'\nnameserver %s\n",
            n->name, vn_ip4_str(n->dns_addr, a));
    char a6[VN_ADDR_STRLEN];
    if (n->ipv6 && n->dns_addr6.family)
        fprintf(f, "nameserver %s\n", vn_addr_str(&n->dns_addr6, a6, sizeof a6));
    if (n->domain[0])
        fprintf(f, "search %s\n", n->domain);
    return fclose(f);
}

static struct vn_config *build_config(const struct run_opts *o, const char *dir)
{
    const struct vn_conf_src cl = { NULL, 0 };
    struct vn_conf_err err = { "" };
    struct vn_config *c = vn_conf_new();
    struct vn_net_conf *n;
    struct vn_port_conf *p;
    char ctl[300];
    if (!c) {
        fprintf(stderr, "vnetd run: out of memory\n");
        return NULL;
    }
    if (!(n = vn_conf_add_net(c, cl, &err)) || vn_conf_net_set(n, "name", "default", cl, &err) ||
        vn_conf_net_set(n, "mode", "nat", cl, &err))
        goto fail;
    for (unsigned i = 0; i < o->nsets; i++)
        if (vn_conf_net_set(n, o->keys[i], o->vals[i], cl, &err))
            goto fail;
    if (n->mode != VN_MODE_NAT) {
        vn_conf_fail(&err, cl, "vnetd run needs a nat network (mode cannot be changed)");
        goto fail;
    }
    if (n->ipv4_none) {
        vn_conf_fail(&err, cl, "vnetd run needs IPv4 (subnet none is not supported here)");
        goto fail;
    }
    const char *ifname = o->ifname ? o->ifname : "eth0";
    if (!(p = vn_conf_add_port(c, cl, &err)) || vn_conf_port_set(p, "name", ifname, cl, &err) ||
        vn_conf_port_set(p, "type", "tap", cl, &err) ||
        vn_conf_port_set(p, "network", "default", cl, &err) ||
        vn_conf_port_set(p, "ifname", ifname, cl, &err))
        goto fail;
    snprintf(ctl, sizeof ctl, "%s/vnetd.sock", dir);
    if (vn_conf_global_set(c, "control", o->control ? o->control : ctl, cl, &err) ||
        vn_conf_global_set(c, "state_dir", dir, cl, &err) ||
        vn_conf_global_set(c, "log", o->log ? o->log : "warn", cl, &err) ||
        (o->no_sandbox && vn_conf_global_set(c, "sandbox", "false", cl, &err)))
        goto fail;
    if (vn_conf_validate(c, &err))
        goto fail;
    return c;
fail:
    fprintf(stderr, "vnetd run: %s\n", err.msg);
    vn_conf_free(c);
    return NULL;
}

/* The tap fd the child sends, or -1 when it failed (and said why). */
static int recv_fd(int sock)
{
    char byte;
    struct iovec iov = { &byte, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                          .msg_controllen = sizeof u.buf };
    ssize_t r;
    while ((r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (r != 1)
        return -1;
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
        cm->cmsg_len != CMSG_LEN(sizeof(int)))
        return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cm), sizeof fd);
    return fd;
}

/* Wait for the child without the event loop (setup failed). */
static int reap(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return VN_RUN_EXIT_SETUP;
    return vn_wait_status_code(st);
}

int vn_run_main(int argc, char **argv)
{
    struct run_opts o = { 0 };
    if (parse_run_opts(argc, argv, &o) < 0) {
        free_opts(&o);
        return 2;
    }
    char *shell_argv[] = { getenv("SHELL"), NULL };
    if (!shell_argv[0] || !*shell_argv[0])
        shell_argv[0] = "/bin/sh";
    char *const *cmd = optind < argc ? argv + optind : shell_argv;

    char dir[256];
    if (make_dir(dir, sizeof dir) < 0) {
        fprintf(stderr, "vnetd run: cannot create a private directory in $XDG_RUNTIME_DIR, "
                        "$TMPDIR or /tmp: %s\n",
                strerror(errno));
        free_opts(&o);
        return VN_RUN_EXIT_SETUP;
    }
    struct vn_config *c = build_config(&o, dir);
    if (!c) {
        remove_dir(dir);
        free_opts(&o);
        return 2;
    }
    int rc = VN_RUN_EXIT_SETUP;
    struct vn_net_conf *n = &c->nets[0];
    struct vn_port_conf *port = &c->ports[0];
    char resolv[300];
    snprintf(resolv, sizeof resolv, "%s/resolv.conf", dir);
    if (o.print_config) {
        vn_conf_print(c, stdout);
        rc = 0;
        goto out;
    }
    if (n->dns && !o.no_resolv && write_resolv(resolv, n) < 0) {
        fprintf(stderr, "vnetd run: cannot write %s: %s\n", resolv, strerror(errno));
        goto out;
    }
    c->state_dir[0] = 0; /* leases in memory only: nothing to leave behind */
    if (c->log_level >= 0)
        vn_log_set_level((enum vn_log_level)c->log_level);

    struct vn_run_child a = {
        .daemon = getpid(),
        .userns = geteuid() != 0,
        .uid = geteuid(),
        .gid = getegid(),
        .mtu = port->mtu ? port->mtu : n->mtu,
        .dhcp = o.dhcp,
        .addr = n->dhcp_start,
        .prefix = n->prefix,
        .gateway = n->gateway,
        .ipv6 = n->ipv6 && n->subnet6.family == AF_INET6,
        .resolv = n->dns && !o.no_resolv ? resolv : NULL,
        .control = c->control,
        .argv = cmd,
        .verbose = vn_log_get_level() >= VN_LOG_DEBUG,
    };
    vn_strlcpy(a.ifname, port->ifname, sizeof a.ifname);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        fprintf(stderr, "vnetd run: socketpair: %s\n", strerror(errno));
        goto out;
    }
    vn_daemon_block_signals(&a.sigmask);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "vnetd run: fork: %s\n", strerror(errno));
        close(sv[0]);
        close(sv[1]);
        goto out;
    }
    if (pid == 0) {
        close(sv[0]);
        a.sock = sv[1];
        vn_run_child(&a);
    }
    close(sv[1]);
    int tap = recv_fd(sv[0]);
    if (tap < 0) {
        close(sv[0]);
        rc = reap(pid); /* the child printed why */
        if (rc == 0)
            rc = VN_RUN_EXIT_SETUP;
        goto out;
    }
    port->tap_fd = tap;
    signal(SIGPIPE, SIG_IGN);
    vn_hash_init();

    struct vn_daemon d;
    vn_daemon_init(&d);
    d.child = pid;
    if (vn_daemon_setup(&d, c) < 0 || vn_daemon_sandbox(&d, c) < 0) {
        close(sv[0]); /* the child reads EOF and gives up */
        vn_daemon_teardown(&d);
        reap(pid);
        rc = VN_RUN_EXIT_SETUP;
        goto out;
    }
    char ip[16], gw[16], dns[16];
    char addr[24] = "dhcp";
    if (!o.dhcp)
        snprintf(addr, sizeof addr, "%s/%u", vn_ip4_str(a.addr, ip), a.prefix);
    vn_info("msg=ready version=%s control=%s command=%s pid=%d ifname=%s address=%s "
            "gateway=%s dns=%s",
            VN_VERSION, c->control, cmd[0], (int)pid, a.ifname, addr,
            vn_ip4_str(n->gateway, gw), n->dns ? vn_ip4_str(n->dns_addr, dns) : "none");
    char go = 'R';
    if (write(sv[0], &go, 1) != 1)
        vn_warn("msg=\"cannot signal the command to start\" error=\"%s\"", strerror(errno));
    close(sv[0]);
    int lrc = vn_daemon_run(&d);
    if (d.child_exited) {
        rc = vn_wait_status_code(d.child_status);
    } else {
        vn_err("msg=\"event loop failed; stopping the command\"");
        kill(pid, SIGKILL);
        reap(pid);
        rc = VN_RUN_EXIT_SETUP;
    }
    (void)lrc;
    vn_daemon_teardown(&d);
out:
    remove_dir(dir);
    vn_conf_free(c);
    free_opts(&o);
    return rc;
}
