/* The namespace side of `vnetd run` (see ns.h). Everything here runs in the
 * forked child, single-threaded, and reports failures on stderr itself. */
#include "ns.h"
#include "dhcpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/route.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int verbose;
static const char *a_ifname = "eth0";

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "vnetd run: %s\n", buf);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "vnetd run: %s\n", buf);
    _exit(VN_RUN_EXIT_SETUP);
}

static int write_file(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    int e = errno;
    close(fd);
    errno = e;
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* A sysctl's value as text ("?" when absent). */
static const char *sysctl(const char *path, char *buf, size_t n)
{
    snprintf(buf, n, "absent");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return buf;
    ssize_t r = read(fd, buf, n - 1);
    close(fd);
    if (r <= 0)
        return snprintf(buf, n, "?"), buf;
    buf[r] = 0;
    buf[strcspn(buf, "\n")] = 0;
    return buf;
}

static void fail_unshare(const struct vn_run_child *a, int e) __attribute__((noreturn));
static void fail_unshare(const struct vn_run_child *a, int e)
{
    if (!a->userns)
        fail("cannot create network and mount namespaces: %s (root needs CAP_SYS_ADMIN; inside "
             "a container, allow unshare or run vnetd run as an ordinary user with user "
             "namespaces)",
             strerror(e));
    char clone[32], maxns[32], aa[32], why[400];
    sysctl("/proc/sys/kernel/unprivileged_userns_clone", clone, sizeof clone);
    sysctl("/proc/sys/user/max_user_namespaces", maxns, sizeof maxns);
    sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", aa, sizeof aa);
    if (e == ENOSPC) {
        snprintf(why, sizeof why,
                 "the number of user namespaces allowed is used up (user.max_user_namespaces=%s "
                 "here; an enclosing namespace may set a lower limit)",
                 maxns);
    } else if (e == EINVAL) {
        snprintf(why, sizeof why, "a chrooted or multi-threaded process cannot create one");
    } else {
        size_t w = (size_t)snprintf(why, sizeof why,
                                    "unprivileged user namespaces are needed to run without root "
                                    "and seem to be disabled:");
        if (strcmp(clone, "absent") && w < sizeof why)
            w += (size_t)snprintf(why + w, sizeof why - w,
                                  " kernel.unprivileged_userns_clone=%s (needs 1);", clone);
        if (strcmp(aa, "absent") && w < sizeof why)
            w += (size_t)snprintf(why + w, sizeof why - w,
                                  " kernel.apparmor_restrict_unprivileged_userns=%s (needs 0, or "
                                  "an AppArmor profile for vnetd that allows userns);",
                                  aa);
        if (w < sizeof why)
            snprintf(why + w, sizeof why - w,
                     " user.max_user_namespaces=%s (needs > 0); a container or seccomp policy "
                     "may also forbid unshare(CLONE_NEWUSER)",
                     maxns);
    }
    fail("cannot create a user namespace: %s: %s. Or run vnetd run as root", strerror(e), why);
}

/* Become root of a new user namespace (when not root) in new network and
 * mount namespaces. */
static void enter_namespaces(const struct vn_run_child *a)
{
    int flags = CLONE_NEWNET | CLONE_NEWNS | (a->userns ? CLONE_NEWUSER : 0);
    if (unshare(flags) < 0)
        fail_unshare(a, errno);
    if (!a->userns)
        return;
    char map[64];
    /* Unprivileged writers must give up setgroups() before writing gid_map. */
    if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
        fail("cannot write /proc/self/setgroups: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)a->uid);
    if (write_file("/proc/self/uid_map", map) < 0)
        fail("cannot write /proc/self/uid_map: %s", strerror(errno));
    snprintf(map, sizeof map, "0 %u 1\n", (unsigned)a->gid);
    if (write_file("/proc/self/gid_map", map) < 0)
        fail("cannot write /proc/self/gid_map: %s", strerror(errno));
}

/* Private mounts, then the generated resolv.conf over /etc/resolv.conf. */
static void setup_mounts(const struct vn_run_child *a)
{
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail("cannot make mounts private: %s", strerror(errno));
    if (!a->resolv)
        return;
    if (mount(a->resolv, "/etc/resolv.conf", NULL, MS_BIND, NULL) < 0) {
        /* Not fatal: the command still has its network, only names would
         * go to the host's resolvers (which may not be reachable). */
        say("warning: cannot bind %s over /etc/resolv.conf: %s%s", a->resolv, strerror(errno),
            errno == ENOENT ? " (it is missing or a dangling symbolic link)" : "");
        return;
    }
    if (verbose)
        say("/etc/resolv.conf: %s", a->resolv);
}

static int ifreq_ioctl(int s, unsigned long req, struct ifreq *ifr, const char *what)
{
    if (ioctl(s, req, ifr) < 0) {
        say("cannot %s on %s: %s", what, ifr->ifr_name, strerror(errno));
        return -1;
    }
    return 0;
}

static int if_up(int s, const char *ifname)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ifreq_ioctl(s, SIOCGIFFLAGS, &ifr, "read the flags"))
        return -1;
    ifr.ifr_flags |= IFF_UP;
    return ifreq_ioctl(s, SIOCSIFFLAGS, &ifr, "bring the interface up");
}

static void set_sin(struct sockaddr *sa, uint32_t ip)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
    memcpy(sa, &sin, sizeof sin);
}

int vn_run_if_addr(int s, const char *ifname, uint32_t addr, uint8_t prefix)
{
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    set_sin(&ifr.ifr_addr, addr);
    if (ifreq_ioctl(s, SIOCSIFADDR, &ifr, "set the address"))
        return -1;
    set_sin(&ifr.ifr_netmask, prefix ? ~0u << (32 - prefix) : 0);
    return ifreq_ioctl(s, SIOCSIFNETMASK, &ifr, "set the netmask");
}

int vn_run_default_route(int s, const char *ifname, uint32_t gateway)
{
    struct rtentry rt = { 0 };
    char dev[IFNAMSIZ];
    snprintf(dev, sizeof dev, "%s", ifname);
    set_sin(&rt.rt_dst, 0);
    set_sin(&rt.rt_genmask, 0);
    set_sin(&rt.rt_gateway, gateway);
    rt.rt_flags = RTF_UP | RTF_GATEWAY;
    rt.rt_dev = dev;
    if (ioctl(s, SIOCADDRT, &rt) < 0) {
        say("cannot add the default route via the gateway: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* The tap in the new namespace; returns its fd. */
static int create_tap(const struct vn_run_child *a)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == ENOENT || e == ENODEV || e == ENXIO)
            fail("cannot open /dev/net/tun: %s (is the tun module loaded? 'modprobe tun')",
                 strerror(e));
        if (e == EACCES || e == EPERM) {
            if (stat("/dev/net/tun", &st) == 0 && a->userns)
                fail("cannot open /dev/net/tun: %s: it is mode %04o, so only root may create "
                     "tap devices. Most distributions ship it 0666 (the kernel still checks "
                     "CAP_NET_ADMIN in the namespace); 'chmod 0666 /dev/net/tun' as root, or "
                     "run vnetd run as root",
                     strerror(e), (unsigned)(st.st_mode & 07777));
        }
        fail("cannot open /dev/net/tun: %s", strerror(e));
    }
    struct ifreq ifr = { 0 };
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", a->ifname);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        fail("cannot create the tap %s: %s", a->ifname, strerror(errno));
    int hsz = sizeof(struct virtio_net_hdr);
    if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
        fail("cannot enable offloads on %s: %s", a->ifname, strerror(errno));
    return fd;
}

static void configure(const struct vn_run_child *a, int s)
{
    struct ifreq ifr = { 0 };
    if (if_up(s, "lo"))
        _exit(VN_RUN_EXIT_SETUP);
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", a->ifname);
    ifr.ifr_mtu = (int)a->mtu;
    if (ifreq_ioctl(s, SIOCSIFMTU, &ifr, "set the MTU"))
        _exit(VN_RUN_EXIT_SETUP);
    if (!a->dhcp && vn_run_if_addr(s, a->ifname, a->addr, a->prefix))
        _exit(VN_RUN_EXIT_SETUP);
    if (a->ipv6) {
        /* SLAAC from the gateway's router advertisements; no duplicate
         * address detection on this private link (the address is usable at
         * once; vnetd's port security guards the network). */
        static const char *const knobs[][2] = { { "accept_ra", "1" }, { "autoconf", "1" },
                                                 { "accept_dad", "0" }, { "disable_ipv6", "0" } };
        for (unsigned i = 0; i < sizeof knobs / sizeof knobs[0]; i++) {
            char path[96];
            snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", a->ifname, knobs[i][0]);
            if (write_file(path, knobs[i][1]) < 0 && verbose)
                say("note: cannot set %s: %s", path, strerror(errno));
        }
    }
    if (if_up(s, a->ifname))
        _exit(VN_RUN_EXIT_SETUP);
    if (!a->dhcp && a->gateway && vn_run_default_route(s, a->ifname, a->gateway))
        _exit(VN_RUN_EXIT_SETUP);
}

static void send_fd(int sock, int fd)
{
    char byte = 'T';
    struct iovec iov = { &byte, 1 };
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof u);
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                          .msg_controllen = sizeof u.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) != 1)
        fail("cannot pass the tap to the daemon: %s", strerror(errno));
}

/* The signals passed down to the command. */
static void forward_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
    sigaddset(set, SIGUSR1);
    sigaddset(set, SIGUSR2);
    sigaddset(set, SIGWINCH);
    sigaddset(set, SIGCHLD);
}

static void exec_cmd(const struct vn_run_child *a) __attribute__((noreturn));
static void exec_cmd(const struct vn_run_child *a)
{
    sigprocmask(SIG_SETMASK, &a->sigmask, NULL);
    if (a->control)
        setenv("VNET_CONTROL", a->control, 1); /* vnetctl inside finds its daemon */
    execvp(a->argv[0], a->argv);
    int e = errno;
    fprintf(stderr, "vnetd run: %s: %s\n", a->argv[0], strerror(e));
    _exit(e == ENOENT ? VN_RUN_EXIT_NOTFOUND : VN_RUN_EXIT_NOEXEC);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Wait for pid, reaping anything else, passing signals on, renewing the DHCP
 * lease l (if any) at T1; exits with pid's status (128+signal when it was
 * killed). */
static void supervise(pid_t pid, struct vn_dhcpc_lease *l) __attribute__((noreturn));
static void supervise(pid_t pid, struct vn_dhcpc_lease *l)
{
    sigset_t set;
    forward_set(&set);
    uint64_t renew_at = l ? mono_ms() + (uint64_t)l->lease_s * 500u : 0;
    for (;;) {
        siginfo_t si;
        int sig;
        if (l) {
            uint64_t now = mono_ms();
            if (now >= renew_at) {
                bool ok = vn_dhcpc_renew(l) == 0;
                if (!ok)
                    say("warning: DHCP: renewing the lease of %s failed; retrying", a_ifname);
                now = mono_ms();
                renew_at = now + (ok ? (uint64_t)l->lease_s * 500u
                                     : (uint64_t)(l->lease_s > 480 ? 60 : l->lease_s / 8) * 1000u);
                continue;
            }
            struct timespec ts = { (time_t)((renew_at - now) / 1000u),
                                   (long)((renew_at - now) % 1000u) * 1000000L };
            sig = sigtimedwait(&set, &si, &ts);
        } else {
            sig = sigwaitinfo(&set, &si);
        }
        if (sig < 0)
            continue;
        if (sig == SIGCHLD) {
            int st;
            pid_t w;
            while ((w = waitpid(-1, &st, WNOHANG)) > 0)
                if (w == pid) {
                    if (WIFEXITED(st))
                        _exit(WEXITSTATUS(st));
                    if (WIFSIGNALED(st))
                        _exit(128 + WTERMSIG(st));
                }
            continue;
        }
        /* A terminal's signal went to the whole process group already. */
        if (si.si_code != SI_KERNEL)
            kill(pid, sig);
    }
}

/* Wait (at most timeout_ms) until ifname has a global IPv6 address from
 * SLAAC. Returns true when it has one. */
static bool wait_slaac(const char *ifname, unsigned timeout_ms)
{
    uint64_t end = mono_ms() + timeout_ms;
    do {
        struct ifaddrs *ifa = NULL;
        bool found = false;
        if (getifaddrs(&ifa) == 0) {
            for (struct ifaddrs *i = ifa; i && !found; i = i->ifa_next) {
                if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || strcmp(i->ifa_name, ifname))
                    continue;
                const struct in6_addr *x = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
                found = !IN6_IS_ADDR_LINKLOCAL(x) && !IN6_IS_ADDR_LOOPBACK(x);
            }
            freeifaddrs(ifa);
        }
        if (found)
            return true;
        poll(NULL, 0, 20);
    } while (mono_ms() < end);
    return false;
}

/* pid 1 of the command's pid namespace. */
static void run_init(const struct vn_run_child *a, int alive) __attribute__((noreturn));
static void run_init(const struct vn_run_child *a, int alive)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    prctl(PR_SET_NAME, "vnetd-init");
    /* The parent may have died before PR_SET_PDEATHSIG took effect: then the
     * write end of alive is closed. */
    struct pollfd pfd = { alive, POLLIN, 0 };
    if (poll(&pfd, 1, 0) != 0)
        _exit(VN_RUN_EXIT_SETUP);
    close(alive);
    /* A /proc that shows this pid namespace (ps, /proc/self). */
    if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0 && verbose)
        say("note: cannot mount a new /proc (%s); /proc shows the host's processes",
            strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0)
        exec_cmd(a);
    supervise(pid, NULL);
}

void vn_run_child(const struct vn_run_child *a)
{
    verbose = a->verbose;
    a_ifname = a->ifname;
    sigset_t set;
    forward_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != a->daemon)
        _exit(VN_RUN_EXIT_SETUP);
    prctl(PR_SET_NAME, "vnetd-ns");

    enter_namespaces(a);
    setup_mounts(a);
    int tap = create_tap(a);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        fail("socket: %s", strerror(errno));
    configure(a, s);
    send_fd(a->sock, tap);
    close(tap);

    char ready;
    ssize_t r;
    while ((r = read(a->sock, &ready, 1)) < 0 && errno == EINTR)
        ;
    if (r != 1)
        _exit(VN_RUN_EXIT_SETUP); /* the daemon failed and said why */
    struct vn_dhcpc_lease l, *lease = NULL;
    if (a->dhcp) {
        lease = &l;
        if (vn_dhcpc_run(s, a->ifname, &l) < 0)
            _exit(VN_RUN_EXIT_SETUP);
        if (vn_run_if_addr(s, a->ifname, l.addr, l.prefix) ||
            (l.router && vn_run_default_route(s, a->ifname, l.router)))
            _exit(VN_RUN_EXIT_SETUP);
        if (verbose) {
            char ip[16], gw[16];
            say("DHCP: %s/%u router %s", inet_ntop(AF_INET, &(uint32_t){ htonl(l.addr) }, ip,
                                                    sizeof ip),
                l.prefix, inet_ntop(AF_INET, &(uint32_t){ htonl(l.router) }, gw, sizeof gw));
        }
    }
    if (a->ipv6 && !wait_slaac(a->ifname, 3000))
        say("warning: no IPv6 address from the gateway's router advertisements within 3 s");
    close(s);

    /* The command's own pid namespace, so nothing it starts outlives it. */
    int alive[2];
    if (pipe2(alive, O_CLOEXEC) < 0)
        fail("pipe: %s", strerror(errno));
    bool pidns = unshare(CLONE_NEWPID) == 0;
    if (!pidns && verbose)
        say("note: no pid namespace (%s); background processes may outlive the command",
            strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        close(a->sock);
        close(alive[1]);
        if (pidns)
            run_init(a, alive[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        exec_cmd(a);
    }
    close(alive[0]);
    supervise(pid, lease);
}
