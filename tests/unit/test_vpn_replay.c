/* Unit tests of the replay window (src/vpn/replay.c): in order, out of
 * order inside the window, duplicates, far jumps (also by exact multiples
 * of the ring's size), the window's edge 8128 counters back whatever the
 * highest counter's place in its word, the Reject-After-Messages limit, the
 * pre-check changing nothing, and random walks checked step by step
 * against a plain model (every counter seen remembered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpn/replay.h"

#include <stdlib.h>
#include <string.h>

static struct vn_replay *fresh(void)
{
    struct vn_replay *r = malloc(sizeof(*r));
    assert_non_null(r);
    vn_replay_init(r);
    return r;
}

/* accept counter once: the pre-check agrees, the second time is refused */
static void once(struct vn_replay *r, uint64_t c)
{
    assert_true(vn_replay_check(r, c));
    assert_true(vn_replay_accept(r, c));
    assert_false(vn_replay_check(r, c));
    assert_false(vn_replay_accept(r, c));
}

static void test_in_order(void **state)
{
    (void)state;
    struct vn_replay *r = fresh();
    for (uint64_t c = 0; c < 20000; c++)
        once(r, c);
    for (uint64_t c = 20000 - VN_REPLAY_WINDOW - 1; c < 20000; c++)
        assert_false(vn_replay_accept(r, c));
    assert_false(vn_replay_accept(r, 0));
    free(r);
}

static void test_out_of_order(void **state)
{
    (void)state;
    struct vn_replay *r = fresh();
    once(r, 1000);
    for (uint64_t c = 999; c != UINT64_MAX; c--)     /* 999 .. 0, backwards */
        once(r, c);
    once(r, 1002);                                   /* a gap at 1001 */
    once(r, 1001);
    for (uint64_t c = 2000; c < 3000; c += 2)        /* evens, then odds */
        once(r, c);
    for (uint64_t c = 2001; c < 3000; c += 2)
        once(r, c);
    for (uint64_t c = 0; c < 3000; c++)                 /* 1003..1999: never seen */
        assert_int_equal(vn_replay_accept(r, c), c >= 1003 && c < 2000);
    free(r);
}

/* A first counter anywhere is fine; nothing below the window survives a
 * jump, and the bits of words the window passes over are forgotten. */
static void test_far_jumps(void **state)
{
    (void)state;
    struct vn_replay *r = fresh();
    once(r, 5);
    once(r, 1000000);
    assert_false(vn_replay_accept(r, 5));
    assert_false(vn_replay_accept(r, 6));            /* never seen, but too old */
    once(r, 1000000 - 1);
    once(r, 1000000 - VN_REPLAY_WINDOW);

    /* Jumps by the ring's size land on the same ring slot. */
    vn_replay_init(r);
    once(r, 100);
    once(r, 100 + VN_REPLAY_BITS);
    assert_false(vn_replay_accept(r, 100));
    once(r, 100 + VN_REPLAY_BITS - VN_REPLAY_WINDOW);
    once(r, 100 + 2 * VN_REPLAY_BITS);
    once(r, 100 + 2 * VN_REPLAY_BITS - 1);
    assert_false(vn_replay_accept(r, 100 + VN_REPLAY_BITS));

    /* Jumps of one word at a time reuse cleared words: a counter seen in a
     * word the ring left behind long ago is new again only once in range. */
    vn_replay_init(r);
    for (uint64_t c = 0; c < 64 * 1000; c += 64)
        once(r, c);
    for (uint64_t c = 64 * 1000 - VN_REPLAY_WINDOW; c < 64 * 1000; c++)
        assert_int_equal(vn_replay_accept(r, c), c % 64 != 0);
    free(r);
}

/* The highest counter at each place in its word (and the word before):
 * exactly VN_REPLAY_WINDOW back is the oldest accepted. */
static void test_window_edge(void **state)
{
    (void)state;
    struct vn_replay *r = fresh();
    for (uint64_t h = 100000; h < 100000 + 130; h++) {
        vn_replay_init(r);
        once(r, h);
        assert_false(vn_replay_check(r, h - VN_REPLAY_WINDOW - 1));
        assert_false(vn_replay_check(r, h - VN_REPLAY_BITS));
        assert_false(vn_replay_accept(r, h - VN_REPLAY_BITS));
        assert_false(vn_replay_accept(r, h - VN_REPLAY_WINDOW - 1));
        for (uint64_t c = h - VN_REPLAY_WINDOW; c < h; c++)
            assert_true(vn_replay_accept(r, c));
        for (uint64_t c = h - VN_REPLAY_WINDOW; c <= h; c++)
            assert_false(vn_replay_accept(r, c));
    }
    /* Near zero, "back" never wraps around. */
    vn_replay_init(r);
    once(r, 10);
    assert_false(vn_replay_check(r, UINT64_MAX));
    once(r, 0);
    free(r);
}

static void test_reject_limit(void **state)
{
    (void)state;
    const uint64_t limit = VN_REJECT_AFTER_MESSAGES;
    struct vn_replay *r = fresh();
    assert_true(limit == UINT64_MAX - 8192);         /* 2^64 - 2^13 - 1 */
    assert_false(vn_replay_check(r, limit));
    assert_false(vn_replay_accept(r, limit));
    assert_false(vn_replay_accept(r, UINT64_MAX));
    once(r, limit - 1);
    assert_false(vn_replay_accept(r, limit));
    once(r, limit - 2);
    once(r, limit - 1 - VN_REPLAY_WINDOW);
    assert_false(vn_replay_accept(r, limit - 2 - VN_REPLAY_WINDOW));
    free(r);
}

/* vn_replay_check never changes the window. */
static void test_check_is_pure(void **state)
{
    (void)state;
    struct vn_replay *r = fresh(), *copy = malloc(sizeof(*r));
    assert_non_null(copy);
    for (uint64_t c = 0; c < 300; c += 3)
        once(r, c);
    memcpy(copy, r, sizeof(*r));
    static const uint64_t probe[] = { 0, 1, 299, 300, 301, 5000, 1000000, UINT64_MAX - 8193,
                                      UINT64_MAX };
    for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++)
        (void)vn_replay_check(r, probe[i]);
    assert_memory_equal(r, copy, sizeof(*r));
    free(r);
    free(copy);
}

/* Random walks: mostly near the highest counter, sometimes far ahead or
 * far behind, compared at each step with a model that remembers every
 * counter it accepted (counters below MAXC). */
#define MAXC 8000000u
static void test_random_vs_model(void **state)
{
    (void)state;
    struct vn_replay *r = fresh();
    uint8_t *seen = calloc(MAXC, 1);
    assert_non_null(seen);
    srand(13);
    long steps = 0;
    for (int round = 0; round < 20; round++) {
        uint64_t highest = 10000 + (uint64_t)(rand() % 1000);
        bool any = true;
        vn_replay_init(r);
        memset(seen, 0, MAXC);
        once(r, highest);
        seen[highest] = 1;
        for (int step = 0; step < 20000; step++) {
            uint64_t c;
            int kind = rand() % 100;
            if (kind < 60)
                c = highest + (uint64_t)(rand() % 200) - 100;
            else if (kind < 90)
                c = highest + (uint64_t)(rand() % (2 * VN_REPLAY_BITS)) - VN_REPLAY_BITS - 4000;
            else if (kind < 99)
                c = highest + (uint64_t)(rand() % 64);
            else
                c = highest + (uint64_t)(rand() % 20000);
            if (c >= MAXC - 20000)
                break;
            steps++;
            bool want = !seen[c] && (!any || c > highest || highest - c <= VN_REPLAY_WINDOW);
            assert_int_equal(vn_replay_check(r, c), want);
            assert_int_equal(vn_replay_accept(r, c), want);
            if (want) {
                seen[c] = 1;
                if (!any || c > highest)
                    highest = c;
                any = true;
            }
        }
    }
    assert_true(steps > 100000);
    free(seen);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order),
        cmocka_unit_test(test_out_of_order),
        cmocka_unit_test(test_far_jumps),
        cmocka_unit_test(test_window_edge),
        cmocka_unit_test(test_reject_limit),
        cmocka_unit_test(test_check_is_pure),
        cmocka_unit_test(test_random_vs_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
