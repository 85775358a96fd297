/* The data path's worker threads (docs/threading.md).
 *
 * Theory of operation: the networks are cut into shards (core/shard.h) that
 * are closed: every frame a shard's port receives is switched, routed
 * (gateway, NAT, DNS, DHCP, VPN of its networks) and written by the thread
 * that serves the shard, with that worker's buffers and tables (struct
 * vn_swdp, switch/switch.h), so the per-frame path takes no lock and no frame
 * crosses threads. Each worker runs its own event loop holding the fds and
 * timers of its shards' ports and services: everything registers on the
 * loop of the network or port it belongs to (p->loop, gw->loop). The
 * control plane (control socket, metrics, signals, EVPN, captures' timers,
 * the switch's own loop sw->loop) stays on the main thread's loop, and every
 * round of that loop that has something to do runs with all workers parked
 * at the gate (core/gate.h): control commands, scrapes and run-time changes
 * see and change a still data path, with no lock in it. With workers: 1
 * there is still one worker thread beside the control thread, so there is
 * one code path.
 *
 * Threads start in vn_workers_start(), after the sandbox: a thread created
 * after seccomp_load() and the capability drop inherits both (clone copies
 * the filter and the credentials), so every worker runs with the reduced
 * set; the filter allows clone only for threads. */
#ifndef VN_WORKERS_H
#define VN_WORKERS_H

#include "conf/config.h"
#include "core/gate.h"
#include "core/loop.h"
#include "core/shard.h"

#include <pthread.h>
#include <stdbool.h>

#define VN_WORKERS_MAX 64
#define VN_WORKERS_DEFAULT_MAX 8

struct vn_workers {
    unsigned n;
    struct vn_loop *loops[VN_WORKERS_MAX];
    pthread_t th[VN_WORKERS_MAX];
    bool started;              /* threads running */
    struct vn_gate gate;
    bool gate_ok;
};

/* The default number of workers: online CPUs, at most 8. */
unsigned vn_workers_default(void);

/* Create n loops (no threads yet) and the gate; returns 0 or -1. */
int vn_workers_init(struct vn_workers *w, unsigned n);
/* Plan the shards of c's networks onto n workers (core/shard.h): ports and
 * gateways weigh 1, mirrors join their ports' networks. */
void vn_workers_plan(const struct vn_config *c, unsigned n, struct vn_shard_plan *plan);
/* Hooks for the control loop: its busy rounds run with the workers parked. */
void vn_workers_attach_control(struct vn_workers *w, struct vn_loop *control);
/* Start the threads; returns 0 or -1 (logged; those started are stopped). */
int vn_workers_start(struct vn_workers *w);
/* Stop and join the threads (no-op when not started). */
void vn_workers_stop(struct vn_workers *w);
/* Free the loops and the gate (after everything on the loops is gone). */
void vn_workers_free(struct vn_workers *w);

#endif
