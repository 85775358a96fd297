/* The data path's worker threads: see workers.h. */
#include "workers.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/syscalls.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Creating threads after the sandbox (the filter allows clone only with
 * CLONE_THREAD, core/sandbox.c), naming them, and what glibc's pthread_create
 * needs for a new thread's stack and its registration. */
VN_SYSCALLS("set_robust_list", "rseq", "mmap", "mprotect", "munmap", "madvise", "futex");

unsigned vn_workers_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    return n > VN_WORKERS_DEFAULT_MAX ? VN_WORKERS_DEFAULT_MAX : (unsigned)n;
}

int vn_workers_init(struct vn_workers *w, unsigned n)
{
    memset(w, 0, sizeof *w);
    if (n < 1 || n > VN_WORKERS_MAX)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (!(w->loops[i] = vn_loop_new()))
            return -1;
        w->n = i + 1;
    }
    if (vn_gate_init(&w->gate, w->loops, n))
        return -1;
    w->gate_ok = true;
    return 0;
}

/* The networks of c that port pc carries, as a bitset. */
static uint64_t port_nets(const struct vn_config *c, const struct vn_port_conf *pc)
{
    uint64_t s = 0;
    for (unsigned i = 0; i < c->nnets; i++) {
        if (pc->network[0] && !strcmp(pc->network, c->nets[i].name))
            s |= 1ull << i;
        for (unsigned k = 0; !pc->network[0] && k < pc->ntrunk; k++)
            if (!strcmp(pc->trunk[k], c->nets[i].name))
                s |= 1ull << i;
    }
    return s;
}

static uint64_t named_port_nets(const struct vn_config *c, const char *name)
{
    for (unsigned i = 0; i < c->nports; i++)
        if (!strcmp(c->ports[i].name, name))
            return port_nets(c, &c->ports[i]);
    return 0;
}

void vn_workers_plan(const struct vn_config *c, unsigned n, struct vn_shard_plan *plan)
{
    _Static_assert(VN_MAX_NETWORKS <= VN_SHARD_MAX_NETS, "a network the shard plan cannot hold");
    static struct vn_shard_item items[VN_MAX_PORTS + VN_MAX_NETWORKS + VN_MAX_CONF_MIRRORS];
    unsigned k = 0;
    for (unsigned i = 0; i < c->nports; i++)
        items[k++] = (struct vn_shard_item){ port_nets(c, &c->ports[i]), 1 };
    for (unsigned i = 0; i < c->nnets; i++)
        if (vn_net_has_gateway(&c->nets[i]))
            items[k++] = (struct vn_shard_item){ 1ull << i, 1 };
    for (unsigned i = 0; i < c->nmirrors; i++) {
        const struct vn_mirror_conf *m = &c->mirrors[i];
        uint64_t s = named_port_nets(c, m->to);
        for (unsigned f = 0; f < m->nfrom; f++)
            s |= named_port_nets(c, m->from[f]);
        items[k++] = (struct vn_shard_item){ s, 0 };
    }
    vn_shard_plan(c->nnets, items, k, n, plan);
}

static void control_enter(void *ctx)
{
    struct vn_workers *w = ctx;
    if (w->started)
        vn_gate_stop(&w->gate);
}

static void control_leave(void *ctx)
{
    struct vn_workers *w = ctx;
    if (w->started)
        vn_gate_go(&w->gate);
}

static const struct vn_loop_hooks control_hooks = { .enter = control_enter,
                                                    .leave = control_leave };

void vn_workers_attach_control(struct vn_workers *w, struct vn_loop *control)
{
    vn_loop_set_hooks(control, &control_hooks, w);
}

static void worker_safe_point(void *ctx)
{
    vn_gate_safe_point(ctx);
}

static const struct vn_loop_hooks worker_hooks = { .safe_point = worker_safe_point };

struct start_arg {
    struct vn_workers *w;
    unsigned i;
};

static void *worker_main(void *arg)
{
    struct start_arg *a = arg;
    struct vn_loop *loop = a->w->loops[a->i];
    /* not vn_loop_run(): a stop asked before this thread ran must hold */
    while (!vn_loop_stopped(loop))
        if (vn_loop_once(loop, -1) < 0) {
            /* epoll_wait failed for good (EBADF, EFAULT, EINVAL: a bug).
             * A worker that stopped would never park again and the next
             * control command would wait for it for ever: end here. */
            vn_err("msg=\"worker loop failed\" worker=%u error=\"%s\"", a->i, strerror(errno));
            abort();
        }
    return NULL;
}

int vn_workers_start(struct vn_workers *w)
{
    static struct start_arg args[VN_WORKERS_MAX];
    vn_hash_init(); /* the hash keys are set once, before any thread reads them */
    /* The threads inherit the signal mask: every asynchronous signal stays
     * blocked there and goes to the main thread (its signalfd). Synchronous
     * ones stay open: a blocked SIGSEGV would bypass the handlers of the
     * sanitizers and of a debugger. */
    sigset_t all, old;
    sigfillset(&all);
    static const int sync_sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS };
    for (size_t i = 0; i < sizeof sync_sigs / sizeof sync_sigs[0]; i++)
        sigdelset(&all, sync_sigs[i]);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    for (unsigned i = 0; i < w->n; i++) {
        vn_loop_set_hooks(w->loops[i], &worker_hooks, &w->gate);
        args[i] = (struct start_arg){ w, i };
        int rc = pthread_create(&w->th[i], NULL, worker_main, &args[i]);
        if (rc) {
            vn_err("msg=\"cannot start a worker thread\" worker=%u error=\"%s\"", i, strerror(rc));
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            w->started = true;
            w->n = i; /* stop what started */
            vn_workers_stop(w);
            return -1;
        }
        char name[16];
        snprintf(name, sizeof name, "vnetd-w%u", i % 100u);
        pthread_setname_np(w->th[i], name);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    w->started = true;
    vn_info("msg=\"workers running\" workers=%u", w->n);
    return 0;
}

void vn_workers_stop(struct vn_workers *w)
{
    if (!w->started)
        return;
    for (unsigned i = 0; i < w->n; i++)
        vn_loop_stop(w->loops[i]);
    for (unsigned i = 0; i < w->n; i++)
        pthread_join(w->th[i], NULL);
    w->started = false;
}

void vn_workers_free(struct vn_workers *w)
{
    vn_workers_stop(w);
    for (unsigned i = 0; i < VN_WORKERS_MAX; i++) {
        vn_loop_free(w->loops[i]);
        w->loops[i] = NULL;
    }
    if (w->gate_ok)
        vn_gate_destroy(&w->gate);
    w->gate_ok = false;
}
