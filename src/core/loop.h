/* The event loop: one epoll instance, min-heap timers and deferred work.
 *
 * Theory of operation: every file descriptor the daemon owns is a struct vn_io
 * embedded in its owner; the loop calls io->cb(io, events) when epoll reports it.
 * Timers live in a binary min-heap keyed by due time; the epoll timeout is the
 * time to the earliest one. Deferred work (struct vn_defer) runs after all
 * events of one epoll_wait() round were dispatched: the switch uses it to flush
 * frames that services generated while handling a batch, so a batch is never
 * re-entered from inside itself. Removing an io cancels any events of it that
 * are still pending in the current round. Nothing here allocates after
 * vn_loop_new() except the timer heap growing to its high-water mark.
 *
 * Busy polling (vn_loop_set_busy_poll, the config's busy_poll_us): sleeping in
 * epoll_wait() and being woken costs a frame the scheduler's wake-up latency
 * (an IPI and, in a VM, a halted vCPU's exit: tens of microseconds), which
 * dominates a switch's round trip. So after a round that dispatched events,
 * the loop keeps polling (epoll_wait with timeout 0) until busy_poll ns have
 * passed with no event; a round with events restarts the window. Whatever
 * arrives meanwhile (the answer the other side produces to what we just
 * forwarded, the next segment of a stream) is taken without sleeping. Once a
 * window passes empty the loop sleeps as before, so an idle daemon spins at
 * most one window after its last event and then costs no CPU; a steady trickle
 * of traffic costs at most one window of spinning per event. An empty poll
 * yields the CPU (sched_yield), so a spinning loop never holds off the process
 * it is waiting for when both share a CPU. Timers still fire
 * on time (a due timer makes the timeout 0 anyway). The window is measured on
 * the monotonic clock, never on a test clock (vn_loop_set_clock), which may
 * stand still and would make the loop spin for ever.
 *
 * Threads (core/gate.h, docs/threading.md): a loop is run by one thread; the
 * only calls another thread may make on it are vn_loop_wake() and
 * vn_loop_stop(), or anything at all while that thread is parked at its safe
 * point. Hooks let the owner of the threads see the two moments that
 * matter: safe_point runs before every wait (nothing of the loop is in
 * use: a worker parks there), and enter/leave bracket the dispatch of a
 * round that has something to do (the control thread stops the workers
 * around its own events there). */
#ifndef VN_CORE_LOOP_H
#define VN_CORE_LOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

struct vn_loop;
struct vn_io;
typedef void (*vn_io_cb)(struct vn_io *io, uint32_t events);

struct vn_io {
    int fd;
    uint32_t events;
    vn_io_cb cb;
    bool added;
};

struct vn_timer {
    uint64_t due_ns;
    void (*cb)(struct vn_timer *t);
    int heap_idx; /* -1 when not armed */
};

struct vn_defer {
    struct vn_defer *next;
    void (*cb)(struct vn_defer *d);
    bool queued;
};

struct vn_loop *vn_loop_new(void);

/* Called by vn_loop_once() (each member may be NULL; enter and leave go
 * together): safe_point before each wait, enter and leave around the
 * dispatch of a round with events, due timers or deferred work. */
struct vn_loop_hooks {
    void (*safe_point)(void *ctx);
    void (*enter)(void *ctx);
    void (*leave)(void *ctx);
};
void vn_loop_set_hooks(struct vn_loop *loop, const struct vn_loop_hooks *h, void *ctx);
/* End the loop's current or next wait now (any thread; async-signal-safe). */
void vn_loop_wake(struct vn_loop *loop);
void vn_loop_free(struct vn_loop *loop);

/* Register fd for events (EPOLLIN, EPOLLOUT...); returns 0 or -1 with errno. */
int vn_io_add(struct vn_loop *loop, struct vn_io *io, int fd, uint32_t events, vn_io_cb cb);
/* Change the event mask; returns 0 or -1. A no-op when unchanged. */
int vn_io_mod(struct vn_loop *loop, struct vn_io *io, uint32_t events);
/* Unregister (does not close the fd). Safe from inside callbacks. */
void vn_io_del(struct vn_loop *loop, struct vn_io *io);

void vn_timer_init(struct vn_timer *t, void (*cb)(struct vn_timer *));
/* (Re)arm t to fire once after delay_ms milliseconds. */
void vn_timer_arm(struct vn_loop *loop, struct vn_timer *t, uint64_t delay_ms);
void vn_timer_cancel(struct vn_loop *loop, struct vn_timer *t);
static inline bool vn_timer_armed(const struct vn_timer *t) { return t->heap_idx >= 0; }

/* Queue d to run once after the current round of events (idempotent). */
void vn_defer(struct vn_loop *loop, struct vn_defer *d);
/* Take d off the deferred list (before freeing its owner); no-op when not
 * queued. */
void vn_defer_cancel(struct vn_loop *loop, struct vn_defer *d);

/* The clock of the loop's timers (monotonic ns). Default (now_ns NULL):
 * vn_now_ns(). Tests give a fake clock so timeouts fire without waiting;
 * modules that compare times with their timers read vn_loop_now_ns(). */
void vn_loop_set_clock(struct vn_loop *loop, uint64_t (*now_ns)(void *ctx), void *ctx);
uint64_t vn_loop_now_ns(const struct vn_loop *loop);
static inline uint64_t vn_loop_now_ms(const struct vn_loop *loop)
{
    return vn_loop_now_ns(loop) / 1000000u;
}

/* Busy-poll for busy_poll_ns after each round that dispatched events before
 * sleeping again (0 = never: every wait sleeps until an event or a timer). */
void vn_loop_set_busy_poll(struct vn_loop *loop, uint64_t busy_poll_ns);

/* Counters of the loop (for tests and metrics). */
struct vn_loop_stats {
    uint64_t rounds;     /* vn_loop_once calls that waited (epoll_wait returned) */
    uint64_t polls;      /* of them, waits with timeout 0 because of busy polling */
    uint64_t poll_hits;  /* of those, polls that found events (a sleep saved) */
};
const struct vn_loop_stats *vn_loop_stats(const struct vn_loop *loop);

/* Run until vn_loop_stop(); returns 0, or -1 if epoll_wait failed. */
int vn_loop_run(struct vn_loop *loop);
/* Make vn_loop_run() return after the current round (any thread). */
void vn_loop_stop(struct vn_loop *loop);
/* Whether vn_loop_stop() was called (and vn_loop_run() not started since).
 * A thread that may be asked to stop before it starts runs
 * `while (!vn_loop_stopped(l)) vn_loop_once(l, -1);` instead of
 * vn_loop_run(), which forgets a stop asked before it began. */
bool vn_loop_stopped(const struct vn_loop *loop);
/* Run one round (wait at most timeout_ms, -1 = timers decide); for tests. */
int vn_loop_once(struct vn_loop *loop, int timeout_ms);

#endif
