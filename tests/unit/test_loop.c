/* Unit tests of the event loop's busy polling (src/core/loop.c): after a
 * round that dispatched events the loop looks again without sleeping until a
 * window passes with no event, a round with events reopens the window, an
 * event found while polling is dispatched as usual, and with polling off (or
 * once the window has passed) the loop waits as before. The window is on the
 * monotonic clock even when the loop's own clock is a test clock standing
 * still. No test measures a time: the loop's counters tell whether a wait was
 * a poll. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/loop.h"

#include <fcntl.h>
#include <unistd.h>

static int events_seen;

static void on_read(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    char buf[64];
    while (read(io->fd, buf, sizeof buf) > 0)
        ;
    events_seen++;
}

struct fixture {
    struct vn_loop *loop;
    int pipe[2];
    struct vn_io io;
};

static int setup(void **state)
{
    static struct fixture f;
    f.loop = vn_loop_new();
    assert_non_null(f.loop);
    assert_int_equal(pipe2(f.pipe, O_NONBLOCK | O_CLOEXEC), 0);
    assert_int_equal(vn_io_add(f.loop, &f.io, f.pipe[0], EPOLLIN, on_read), 0);
    events_seen = 0;
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    vn_io_del(f->loop, &f->io);
    close(f->pipe[0]);
    close(f->pipe[1]);
    vn_loop_free(f->loop);
    return 0;
}

static void poke(struct fixture *f) { assert_int_equal(write(f->pipe[1], "x", 1), 1); }

static void test_off_never_polls(void **state)
{
    struct fixture *f = *state;
    poke(f);
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(events_seen, 1);
    assert_int_equal(vn_loop_once(f->loop, 1), 0); /* nothing: waits (1 ms) */
    const struct vn_loop_stats *s = vn_loop_stats(f->loop);
    assert_int_equal(s->rounds, 2);
    assert_int_equal(s->polls, 0);
}

static void test_polls_after_events_and_catches_the_next(void **state)
{
    struct fixture *f = *state;
    const struct vn_loop_stats *s = vn_loop_stats(f->loop);
    vn_loop_set_busy_poll(f->loop, 3600ull * 1000000000ull); /* an hour: never passes here */
    /* Nothing happened yet: the first wait is an ordinary one. */
    poke(f);
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(events_seen, 1);
    assert_int_equal(s->polls, 0);
    /* After a round with events: polls (returns at once although asked to
     * wait up to 100 s), finds nothing. */
    assert_int_equal(vn_loop_once(f->loop, 100000), 0);
    assert_int_equal(s->polls, 1);
    assert_int_equal(s->poll_hits, 0);
    assert_int_equal(events_seen, 1);
    /* An event arriving in the window is found by a poll and dispatched. */
    poke(f);
    assert_int_equal(vn_loop_once(f->loop, 100000), 0);
    assert_int_equal(s->polls, 2);
    assert_int_equal(s->poll_hits, 1);
    assert_int_equal(events_seen, 2);
    /* Turning it off ends the window at once. */
    vn_loop_set_busy_poll(f->loop, 0);
    assert_int_equal(vn_loop_once(f->loop, 1), 0);
    assert_int_equal(s->polls, 2);
}

static uint64_t frozen_clock(void *ctx)
{
    (void)ctx;
    return 42;
}

static void test_window_passes_even_with_a_frozen_test_clock(void **state)
{
    struct fixture *f = *state;
    const struct vn_loop_stats *s = vn_loop_stats(f->loop);
    vn_loop_set_clock(f->loop, frozen_clock, NULL);
    vn_loop_set_busy_poll(f->loop, 1000); /* 1 us */
    poke(f);
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(events_seen, 1);
    usleep(2000); /* the monotonic clock moves past the window */
    assert_int_equal(vn_loop_once(f->loop, 1), 0);
    assert_int_equal(s->polls, 0); /* an ordinary wait, not a spin for ever */
}

static int fired;
static void on_timer(struct vn_timer *t)
{
    (void)t;
    fired++;
}

static void test_timers_fire_while_polling(void **state)
{
    struct fixture *f = *state;
    const struct vn_loop_stats *s = vn_loop_stats(f->loop);
    vn_loop_set_busy_poll(f->loop, 3600ull * 1000000000ull);
    struct vn_timer t;
    vn_timer_init(&t, on_timer);
    vn_timer_arm(f->loop, &t, 0); /* due now */
    poke(f);
    fired = 0;
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(fired, 1);
    vn_timer_arm(f->loop, &t, 0);
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(fired, 2);
    /* A due timer makes the wait 0 by itself: not counted as a busy poll. */
    assert_int_equal(s->polls, 0);
    assert_int_equal(vn_loop_once(f->loop, 1000), 0);
    assert_int_equal(s->polls, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_off_never_polls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polls_after_events_and_catches_the_next, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_window_passes_even_with_a_frozen_test_clock, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_timers_fire_while_polling, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
