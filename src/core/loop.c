/* Event loop implementation: see loop.h for the theory of operation. */
#include "loop.h"
#include "core/syscalls.h"
#include "util.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/eventfd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

VN_SYSCALLS("epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl", "epoll_create1",
            "sched_yield", "eventfd2");

enum { MAX_EVENTS = 128 };

struct vn_loop {
    int epfd;
    atomic_bool stop;               /* set by any thread (vn_loop_stop) */
    int wakefd;                     /* eventfd: vn_loop_wake() ends a sleeping epoll_wait */
    struct vn_io wake_io;
    const struct vn_loop_hooks *hooks;
    void *hooks_ctx;
    struct epoll_event ev[MAX_EVENTS];
    int ev_n, ev_i; /* events of the round being dispatched */
    struct vn_timer **heap;
    int heap_n, heap_cap;
    struct vn_defer *defer_head, **defer_tail;
    uint64_t (*clock)(void *ctx);   /* NULL: vn_now_ns() */
    void *clock_ctx;
    uint64_t busy_poll_ns;          /* 0: busy polling off */
    uint64_t poll_until_ns;         /* poll (timeout 0) while vn_now_ns() is before this */
    struct vn_loop_stats stats;
};

void vn_loop_set_busy_poll(struct vn_loop *l, uint64_t busy_poll_ns)
{
    l->busy_poll_ns = busy_poll_ns;
    l->poll_until_ns = 0;
}

const struct vn_loop_stats *vn_loop_stats(const struct vn_loop *l) { return &l->stats; }

uint64_t vn_loop_now_ns(const struct vn_loop *l)
{
    return l->clock ? l->clock(l->clock_ctx) : vn_now_ns();
}

void vn_loop_set_clock(struct vn_loop *l, uint64_t (*now_ns)(void *ctx), void *ctx)
{
    l->clock = now_ns;
    l->clock_ctx = ctx;
}

/* The wake-up eventfd: drain it; the wake-up itself was the point. */
static void wake_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    vn_eventfd_drain(io->fd);
}

struct vn_loop *vn_loop_new(void)
{
    struct vn_loop *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (l->epfd < 0) {
        free(l);
        return NULL;
    }
    l->defer_tail = &l->defer_head;
    l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wakefd < 0 || vn_io_add(l, &l->wake_io, l->wakefd, EPOLLIN, wake_event) < 0) {
        if (l->wakefd >= 0)
            close(l->wakefd);
        close(l->epfd);
        free(l);
        return NULL;
    }
    return l;
}

void vn_loop_wake(struct vn_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->wakefd, &one, sizeof one);
    (void)r; /* EAGAIN: the counter is already non-zero, a wake-up is pending */
}

void vn_loop_set_hooks(struct vn_loop *l, const struct vn_loop_hooks *h, void *ctx)
{
    l->hooks = h;
    l->hooks_ctx = ctx;
}

void vn_loop_free(struct vn_loop *l)
{
    if (!l)
        return;
    close(l->wakefd);
    close(l->epfd);
    free(l->heap);
    free(l);
}

int vn_io_add(struct vn_loop *l, struct vn_io *io, int fd, uint32_t events, vn_io_cb cb)
{
    io->fd = fd;
    io->events = events;
    io->cb = cb;
    struct epoll_event e = { .events = events, .data.ptr = io };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &e) < 0)
        return -1;
    io->added = true;
    return 0;
}

int vn_io_mod(struct vn_loop *l, struct vn_io *io, uint32_t events)
{
    if (!io->added || io->events == events)
        return 0;
    struct epoll_event e = { .events = events, .data.ptr = io };
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &e) < 0)
        return -1;
    io->events = events;
    return 0;
}

void vn_io_del(struct vn_loop *l, struct vn_io *io)
{
    if (!io->added)
        return;
    epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    io->added = false;
    for (int i = l->ev_i + 1; i < l->ev_n; i++)
        if (l->ev[i].data.ptr == io)
            l->ev[i].data.ptr = NULL;
}

/* ---- timers: binary min-heap on due_ns ---- */

void vn_timer_init(struct vn_timer *t, void (*cb)(struct vn_timer *))
{
    t->cb = cb;
    t->due_ns = 0;
    t->heap_idx = -1;
}

static void heap_swap(struct vn_loop *l, int a, int b)
{
    struct vn_timer *t = l->heap[a];
    l->heap[a] = l->heap[b];
    l->heap[b] = t;
    l->heap[a]->heap_idx = a;
    l->heap[b]->heap_idx = b;
}

static void heap_up(struct vn_loop *l, int i)
{
    while (i > 0) {
        int p = (i - 1) / 2;
        if (l->heap[p]->due_ns <= l->heap[i]->due_ns)
            break;
        heap_swap(l, p, i);
        i = p;
    }
}

static void heap_down(struct vn_loop *l, int i)
{
    for (;;) {
        int c = 2 * i + 1, m = i;
        if (c < l->heap_n && l->heap[c]->due_ns < l->heap[m]->due_ns)
            m = c;
        if (c + 1 < l->heap_n && l->heap[c + 1]->due_ns < l->heap[m]->due_ns)
            m = c + 1;
        if (m == i)
            return;
        heap_swap(l, i, m);
        i = m;
    }
}

void vn_timer_cancel(struct vn_loop *l, struct vn_timer *t)
{
    int i = t->heap_idx;
    if (i < 0)
        return;
    t->heap_idx = -1;
    l->heap_n--;
    if (i == l->heap_n)
        return;
    l->heap[i] = l->heap[l->heap_n];
    l->heap[i]->heap_idx = i;
    heap_up(l, i);
    heap_down(l, l->heap[i]->heap_idx);
}

void vn_timer_arm(struct vn_loop *l, struct vn_timer *t, uint64_t delay_ms)
{
    vn_timer_cancel(l, t);
    if (l->heap_n == l->heap_cap) {
        int cap = l->heap_cap ? l->heap_cap * 2 : 64;
        struct vn_timer **h = realloc(l->heap, (size_t)cap * sizeof *h);
        if (!h)
            abort(); /* out of memory while arming a timer: nothing sane to do */
        l->heap = h;
        l->heap_cap = cap;
    }
    t->due_ns = vn_loop_now_ns(l) + delay_ms * 1000000ull;
    t->heap_idx = l->heap_n;
    l->heap[l->heap_n++] = t;
    heap_up(l, t->heap_idx);
}

static void run_timers(struct vn_loop *l)
{
    uint64_t now = vn_loop_now_ns(l);
    while (l->heap_n && l->heap[0]->due_ns <= now) {
        struct vn_timer *t = l->heap[0];
        vn_timer_cancel(l, t);
        t->cb(t);
    }
}

static int next_timeout_ms(struct vn_loop *l)
{
    if (l->defer_head)
        return 0;
    if (!l->heap_n)
        return -1;
    uint64_t now = vn_loop_now_ns(l), due = l->heap[0]->due_ns;
    if (due <= now)
        return 0;
    uint64_t ms = (due - now + 999999) / 1000000;
    return ms > 60000 ? 60000 : (int)ms;
}

/* ---- deferred work ---- */

void vn_defer(struct vn_loop *l, struct vn_defer *d)
{
    if (d->queued)
        return;
    d->queued = true;
    d->next = NULL;
    *l->defer_tail = d;
    l->defer_tail = &d->next;
}

void vn_defer_cancel(struct vn_loop *l, struct vn_defer *d)
{
    if (!d->queued)
        return;
    for (struct vn_defer **pp = &l->defer_head; *pp; pp = &(*pp)->next) {
        if (*pp != d)
            continue;
        *pp = d->next;
        if (l->defer_tail == &d->next)
            l->defer_tail = pp;
        break;
    }
    d->queued = false;
    d->next = NULL;
}

static void run_deferred(struct vn_loop *l)
{
    /* Deferred work may queue more deferred work; bound the rounds so a
     * ping-pong between two services cannot starve the loop. */
    for (int round = 0; round < 16 && l->defer_head; round++) {
        struct vn_defer *d = l->defer_head;
        l->defer_head = NULL;
        l->defer_tail = &l->defer_head;
        while (d) {
            struct vn_defer *next = d->next;
            d->queued = false;
            d->cb(d);
            d = next;
        }
    }
}

int vn_loop_once(struct vn_loop *l, int timeout_ms)
{
    /* A safe point: nothing of this loop's is in use (see the hooks). */
    if (l->hooks && l->hooks->safe_point)
        l->hooks->safe_point(l->hooks_ctx);
    int to = next_timeout_ms(l);
    if (timeout_ms >= 0 && (to < 0 || timeout_ms < to))
        to = timeout_ms;
    /* Inside a busy-poll window: look, do not sleep (see loop.h). */
    bool polling = l->busy_poll_ns && to != 0 && vn_now_ns() < l->poll_until_ns;
    if (polling)
        to = 0;
    int n = epoll_wait(l->epfd, l->ev, MAX_EVENTS, to);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return -1;
    }
    l->stats.rounds++;
    l->stats.polls += polling;
    l->stats.poll_hits += polling && n > 0;
    /* An empty poll gives the CPU to whatever else is runnable on it: when
     * the receiver of the frame just forwarded shares our CPU, spinning would
     * keep it from running (and answering) until the window ends. With
     * nothing else runnable this returns at once. */
    if (polling && n == 0)
        sched_yield();
    if (n > 0 && l->busy_poll_ns) /* events: (re)open the window */
        l->poll_until_ns = vn_now_ns() + l->busy_poll_ns;
    bool hooked = l->hooks && l->hooks->enter &&
                  (n > 0 || l->defer_head || (l->heap_n && l->heap[0]->due_ns <= vn_loop_now_ns(l)));
    if (hooked)
        l->hooks->enter(l->hooks_ctx);
    l->ev_n = n;
    for (l->ev_i = 0; l->ev_i < n; l->ev_i++) {
        struct vn_io *io = l->ev[l->ev_i].data.ptr;
        if (io)
            io->cb(io, l->ev[l->ev_i].events);
    }
    l->ev_n = l->ev_i = 0;
    run_deferred(l);
    run_timers(l);
    run_deferred(l);
    if (hooked)
        l->hooks->leave(l->hooks_ctx);
    return 0;
}

int vn_loop_run(struct vn_loop *l)
{
    atomic_store(&l->stop, false);
    while (!atomic_load_explicit(&l->stop, memory_order_relaxed))
        if (vn_loop_once(l, -1) < 0)
            return -1;
    return 0;
}

bool vn_loop_stopped(const struct vn_loop *l) { return atomic_load(&l->stop); }

void vn_loop_stop(struct vn_loop *l)
{
    atomic_store(&l->stop, true);
    vn_loop_wake(l);
}
