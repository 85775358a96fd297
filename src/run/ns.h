/* The namespace side of `vnetd run`: what the forked child does.
 *
 * Theory of operation (see also run.c for the daemon side):
 *
 *   vnetd (daemon, host namespaces)
 *     └─ child: unshare(user (when not root), net, mount); maps the caller's
 *        uid/gid to 0; makes mounts private and binds the generated
 *        resolv.conf over /etc/resolv.conf; brings lo up; creates the tap
 *        (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR) with the network's MTU, gives it
 *        the first DHCP address and a default route via the gateway; passes
 *        the tap fd up over the socketpair (SCM_RIGHTS) and waits for the
 *        daemon's ready byte; then unshare(pid) and forks
 *          └─ init (pid 1 of the new pid namespace): mounts a fresh /proc,
 *             forks and reaps, passes signals on
 *               └─ CMD (execvp)
 *
 * Every level dies with the one above it (PR_SET_PDEATHSIG), and when init
 * ends the kernel kills whatever CMD left running in the pid namespace, so
 * the network namespace (and with it eth0) disappears with the command. Exit
 * statuses travel up unchanged: CMD's exit code, or 128+signal. Signals from
 * the terminal reach every level at once and are not passed on; signals sent
 * to one level are passed down. Failures of the child itself exit with
 * VN_RUN_EXIT_SETUP after printing "vnetd run: ..." on stderr. */
#ifndef VN_RUN_NS_H
#define VN_RUN_NS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define VN_RUN_EXIT_SETUP 125   /* vnetd run itself failed */
#define VN_RUN_EXIT_NOEXEC 126  /* CMD found but could not be run */
#define VN_RUN_EXIT_NOTFOUND 127

struct vn_run_child {
    int sock;                /* our end of the socketpair to the daemon */
    pid_t daemon;            /* the daemon's pid (our parent) */
    bool userns;             /* create a user namespace (not root) */
    uid_t uid;               /* caller's ids, mapped to 0 inside */
    gid_t gid;
    char ifname[16];
    uint32_t mtu;
    bool dhcp;               /* configure eth0 by DHCP instead of statically */
    uint32_t addr;           /* host byte order */
    uint8_t prefix;
    uint32_t gateway;
    bool ipv6;               /* the network serves IPv6: SLAAC on the interface, wait for it */
    const char *resolv;      /* file to bind over /etc/resolv.conf, NULL = keep */
    const char *control;     /* the daemon's control socket, exported as VNET_CONTROL */
    char *const *argv;       /* CMD */
    sigset_t sigmask;        /* the caller's signal mask, restored for CMD */
    int verbose;             /* print what is done (debug log level) */
};

/* Runs in the forked child; never returns. */
void vn_run_child(const struct vn_run_child *a) __attribute__((noreturn));

#endif
