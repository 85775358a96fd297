/* The stop-the-world gate between the control thread and the workers.
 *
 * Theory of operation: the workers own the data path (docs/threading.md);
 * the control thread (control socket, metrics, signals, EVPN) reads and
 * changes the same state only while every worker is parked. vn_gate_stop()
 * raises a flag, wakes every worker's loop (a worker asleep in epoll_wait
 * returns through its eventfd, core/loop.h) and waits until all have
 * parked; a worker parks in vn_gate_safe_point(), which its loop calls
 * between rounds, when nothing of its own is in use. vn_gate_go() lets them
 * run again. A worker that runs the safe point while no stop is wanted pays
 * one relaxed atomic load. vn_gate_go() returns only once every worker
 * has left its park: a worker has then passed its safe point and runs at
 * least one round before the next stop can hold it, so the control thread
 * cannot starve the workers however often it stops them. The mutex around parking orders everything the control thread did before
 * vn_gate_go() before everything the workers do after it.
 *
 * The gate does not nest: stop, work, go, from one thread. */
#ifndef VN_CORE_GATE_H
#define VN_CORE_GATE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_loop;

struct vn_gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    atomic_bool want;          /* a stop is wanted (read by the workers' safe points) */
    unsigned parked;           /* workers parked, under mu */
    unsigned nloops;           /* workers (their loops) */
    struct vn_loop **loops;
    uint64_t stops;            /* vn_gate_stop calls (for metrics and tests) */
};

/* A gate for the workers running loops[0..n-1] (the array is kept).
 * Returns 0 or -1. */
int vn_gate_init(struct vn_gate *g, struct vn_loop **loops, unsigned n);
void vn_gate_destroy(struct vn_gate *g);

/* Control thread: park every worker and return once all are parked. */
void vn_gate_stop(struct vn_gate *g);
/* Control thread: let the parked workers run again; returns once all
 * have left their park. */
void vn_gate_go(struct vn_gate *g);
/* Worker: park here if a stop is wanted, until it is over. */
void vn_gate_safe_point(struct vn_gate *g);

#endif
