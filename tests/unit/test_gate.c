/* Unit tests of the stop-the-world gate (src/core/gate.c) with real
 * threads: vn_gate_stop() returns with every worker parked, even workers
 * asleep in epoll_wait with no timer (woken through their loop's eventfd);
 * nothing a parked worker owns moves until vn_gate_go(); state the control
 * thread changed while they were parked is what they see afterwards; many
 * stops in a row neither deadlock nor starve the workers; vn_loop_stop()
 * from another thread ends a worker. No test asserts a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/gate.h"
#include "core/loop.h"

#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <unistd.h>

enum { NW = 3 };

struct worker {
    struct vn_loop *loop;
    struct vn_io io;
    int pipe[2];
    pthread_t th;
    uint64_t events;          /* plain: read by the test only while parked */
    atomic_uint_fast64_t seen; /* the same, for waiting without the gate */
    uint64_t shared;          /* written by the control thread while parked */
    uint64_t shared_seen;
};

static struct vn_gate gate;
static struct worker w[NW];

static void safe_point(void *ctx)
{
    (void)ctx;
    vn_gate_safe_point(&gate);
}
static const struct vn_loop_hooks hooks = { .safe_point = safe_point };

static void on_read(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct worker *k = (struct worker *)((char *)io - offsetof(struct worker, io));
    char buf[64];
    while (read(io->fd, buf, sizeof buf) > 0)
        ;
    k->events++;
    k->shared_seen = k->shared;
    atomic_fetch_add(&k->seen, 1);
}

static void *run(void *arg)
{
    struct worker *k = arg;
    while (!vn_loop_stopped(k->loop))
        vn_loop_once(k->loop, -1);
    return NULL;
}

static int setup(void **state)
{
    (void)state;
    static struct vn_loop *loops[NW];
    for (int i = 0; i < NW; i++) {
        w[i] = (struct worker){ 0 };
        assert_non_null(w[i].loop = vn_loop_new());
        loops[i] = w[i].loop;
        assert_int_equal(pipe2(w[i].pipe, O_NONBLOCK), 0);
        assert_int_equal(vn_io_add(w[i].loop, &w[i].io, w[i].pipe[0], EPOLLIN, on_read), 0);
        vn_loop_set_hooks(w[i].loop, &hooks, NULL);
    }
    assert_int_equal(vn_gate_init(&gate, loops, NW), 0);
    for (int i = 0; i < NW; i++)
        assert_int_equal(pthread_create(&w[i].th, NULL, run, &w[i]), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < NW; i++)
        vn_loop_stop(w[i].loop);
    for (int i = 0; i < NW; i++) {
        pthread_join(w[i].th, NULL);
        vn_io_del(w[i].loop, &w[i].io);
        close(w[i].pipe[0]);
        close(w[i].pipe[1]);
        vn_loop_free(w[i].loop);
    }
    vn_gate_destroy(&gate);
    return 0;
}

/* Wait (bounded: 10 s) until worker k has handled n events. */
static void wait_seen(int k, uint64_t n)
{
    for (int i = 0; i < 10000 && atomic_load(&w[k].seen) < n; i++)
        usleep(1000);
    assert_true(atomic_load(&w[k].seen) >= n);
}

static void test_stop_parks_sleeping_workers(void **state)
{
    (void)state;
    /* the workers sleep in epoll_wait with no timer at all */
    usleep(10000);
    vn_gate_stop(&gate);
    assert_int_equal(gate.parked, NW);
    for (int i = 0; i < NW; i++) {
        assert_int_equal(write(w[i].pipe[1], "x", 1), 1);
        w[i].shared = 42 + (uint64_t)i;
    }
    usleep(20000); /* parked workers do not read their pipe meanwhile */
    for (int i = 0; i < NW; i++)
        assert_int_equal(w[i].events, 0);
    vn_gate_go(&gate);
    assert_int_equal(gate.parked, 0);
    for (int i = 0; i < NW; i++)
        wait_seen(i, 1);
    vn_gate_stop(&gate);
    for (int i = 0; i < NW; i++) {
        assert_int_equal(w[i].events, 1);
        assert_int_equal(w[i].shared_seen, 42 + (uint64_t)i); /* what was written while parked */
    }
    vn_gate_go(&gate);
}

static void test_many_stops_no_starvation(void **state)
{
    (void)state;
    for (int round = 1; round <= 300; round++) {
        vn_gate_stop(&gate);
        for (int i = 0; i < NW; i++) {
            assert_int_equal(w[i].events, (uint64_t)round - 1);
            assert_int_equal(write(w[i].pipe[1], "y", 1), 1);
        }
        vn_gate_go(&gate);
        /* stop again at once: a worker still gets its round in between */
        for (int i = 0; i < NW; i++)
            wait_seen(i, (uint64_t)round);
    }
    assert_true(gate.stops >= 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_parks_sleeping_workers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_stops_no_starvation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
