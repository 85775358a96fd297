/* The running daemon: everything a validated configuration turns into (the
 * switch, its networks with their gateways, the ports, the control socket,
 * the metrics endpoint, mirror sessions), the signal handling and the event
 * loop. Shared by `vnetd` (src/vnetd.c) and `vnetd run` (src/run/run.c).
 *
 * Theory of operation: vn_daemon_setup() creates everything or fails with a
 * logged reason; vn_daemon_run() runs the loop until SIGINT/SIGTERM (plain
 * daemon) or until the supervised child exits (vnetd run: SIGINT, SIGTERM and
 * SIGHUP are then forwarded to the child instead of stopping the loop);
 * vn_daemon_teardown() removes every socket and interface that was created.
 * The data path runs on worker threads (workers.h), started by
 * vn_daemon_run() after the sandbox and stopped before it returns; this
 * thread keeps the control plane. 
 * Signals are taken from a signalfd, so they must be blocked first
 * (vn_daemon_block_signals(), before any fork whose child must be seen). */
#ifndef VN_DAEMON_H
#define VN_DAEMON_H

#include "conf/config.h"
#include "core/loop.h"
#include "workers.h"

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct vn_switch;
struct vn_ctl;
struct vn_metrics;
struct vn_evpn;

struct vn_daemon {
    struct vn_loop *loop;     /* the control plane's (docs/threading.md) */
    struct vn_workers workers; /* the data path's threads and their loops */
    struct vn_switch *sw;
    struct vn_ctl *ctl;
    struct vn_metrics *metrics;
    struct vn_evpn *evpn;     /* EVPN mirror (evpn.port), or NULL */
    struct vn_io sigio;
    int sigfd;
    int signal_seen;      /* the signal that stopped the loop, 0 = none */
    /* vnetd run: the child whose exit ends the loop (0 = none). */
    pid_t child;
    bool child_exited;
    int child_status;     /* its wait status once exited */
    /* vnetd --test-clock (tests only): the loop runs on the test clock
     * that debug.clock.advance moves (ctl/debug_cmds.h). */
    bool test_clock;
};

/* Block the signals the daemon takes from its signalfd (SIGINT, SIGTERM,
 * SIGHUP, SIGCHLD); the previous mask is stored in old if not NULL. */
void vn_daemon_block_signals(sigset_t *old);

void vn_daemon_init(struct vn_daemon *d);
/* Create everything c describes; returns 0 or -1 after logging the reason. */
int vn_daemon_setup(struct vn_daemon *d, const struct vn_config *c);
/* Drop privileges and install the seccomp filter if c says so ('sandbox').
 * Returns 0 or -1 after logging. */
int vn_daemon_sandbox(struct vn_daemon *d, const struct vn_config *c);
/* Run until stopped; returns 0, or -1 if the loop failed. */
int vn_daemon_run(struct vn_daemon *d);
void vn_daemon_teardown(struct vn_daemon *d);

/* The QEMU option that connects to stream port path:
 * "-netdev stream,id=n0,server=off,addr.type=unix,addr.path=PATH". */
const char *vn_daemon_qemu_netdev(const char *path, char *buf, size_t n);

/* Exit status for a wait status: the exit code, or 128+signal. */
int vn_wait_status_code(int status);

#endif
