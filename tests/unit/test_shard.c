/* Unit tests of the shard plan (src/core/shard.c): networks joined by a
 * multi-network port or a mirror form one shard, transitively; networks
 * nothing joins are shards of their own; shards go to workers largest first
 * onto the least loaded one, deterministically; out-of-range inputs are
 * refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/shard.h"

#define B(i) (1ull << (i))

/* Access ports only: every network is its own shard. */
static void test_access_ports_only(void **state)
{
    (void)state;
    struct vn_shard_item it[] = { { B(0), 1 }, { B(0), 1 }, { B(1), 1 }, { B(1), 1 } };
    struct vn_shard_plan p;
    assert_int_equal(vn_shard_plan(3, it, 4, 2, &p), 0);
    assert_int_equal(p.nshards, 3);
    assert_int_equal(p.net_shard[0], 0);
    assert_int_equal(p.net_shard[1], 1);
    assert_int_equal(p.net_shard[2], 2);
    /* two shards of two ports on different workers; the empty one joins
     * the less loaded (a tie: the lowest) */
    assert_int_not_equal(p.net_worker[0], p.net_worker[1]);
    assert_int_equal(p.worker_weight[0] + p.worker_weight[1], 4);
    assert_int_equal(p.worker_weight[0], 2);
}

/* A trunk joins its networks, a second trunk chains them, a mirror joins
 * another: the closure is one shard, on one worker. */
static void test_trunks_and_mirrors_join(void **state)
{
    (void)state;
    struct vn_shard_item it[] = {
        { B(0) | B(1), 1 },  /* trunk 0+1 */
        { B(1) | B(2), 1 },  /* trunk 1+2: chains 0-1-2 */
        { B(3), 1 },
        { B(4), 1 },
        { B(4) | B(5), 0 },  /* mirror from network 4 to a port of 5 */
        { B(5), 1 },
    };
    struct vn_shard_plan p;
    assert_int_equal(vn_shard_plan(6, it, 6, 4, &p), 0);
    assert_int_equal(p.nshards, 3);
    assert_int_equal(p.net_shard[0], p.net_shard[1]);
    assert_int_equal(p.net_shard[1], p.net_shard[2]);
    assert_int_equal(p.net_shard[4], p.net_shard[5]);
    assert_int_not_equal(p.net_shard[0], p.net_shard[3]);
    assert_int_not_equal(p.net_shard[3], p.net_shard[4]);
    assert_int_equal(p.net_worker[0], p.net_worker[2]);
    assert_int_equal(p.net_worker[4], p.net_worker[5]);
    /* weights: shard {0,1,2} 2, {3} 1, {4,5} 2 (the mirror weighs nothing) */
    assert_int_equal(p.shard_weight[p.net_shard[0]], 2);
    assert_int_equal(p.shard_weight[p.net_shard[3]], 1);
    assert_int_equal(p.shard_weight[p.net_shard[4]], 2);
    /* three shards, four workers: each on its own */
    assert_int_not_equal(p.net_worker[0], p.net_worker[3]);
    assert_int_not_equal(p.net_worker[0], p.net_worker[4]);
    assert_int_not_equal(p.net_worker[3], p.net_worker[4]);
}

/* Largest first onto the least loaded: weights 5,4,3,3 on two workers give
 * 5+3 and 4+3. */
static void test_balance(void **state)
{
    (void)state;
    struct vn_shard_item it[] = { { B(0), 3 }, { B(1), 5 }, { B(2), 3 }, { B(3), 4 } };
    struct vn_shard_plan p;
    assert_int_equal(vn_shard_plan(4, it, 4, 2, &p), 0);
    assert_int_equal(p.net_worker[1], 0);    /* 5: first, worker 0 */
    assert_int_equal(p.net_worker[3], 1);    /* 4: the empty worker 1 */
    assert_int_equal(p.net_worker[0], 1);    /* 3 (lower shard first): worker 1 has 4 < 5 */
    assert_int_equal(p.net_worker[2], 0);    /* 3: worker 0 has 5 < 7 */
    assert_int_equal(p.worker_weight[0], 8);
    assert_int_equal(p.worker_weight[1], 7);
    /* one worker: everything on it */
    assert_int_equal(vn_shard_plan(4, it, 4, 1, &p), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p.net_worker[i], 0);
    assert_int_equal(p.worker_weight[0], 15);
}

/* All 64 networks in a ring of trunks: one shard; bits beyond nnets are
 * ignored; out of range is refused. */
static void test_limits(void **state)
{
    (void)state;
    struct vn_shard_item it[64];
    for (int i = 0; i < 64; i++)
        it[i] = (struct vn_shard_item){ B(i) | B((i + 1) % 64), 1 };
    struct vn_shard_plan p;
    assert_int_equal(vn_shard_plan(64, it, 64, 8, &p), 0);
    assert_int_equal(p.nshards, 1);
    for (int i = 0; i < 64; i++)
        assert_int_equal(p.net_shard[i], 0);
    struct vn_shard_item beyond[] = { { B(0) | B(40), 1 } };
    assert_int_equal(vn_shard_plan(2, beyond, 1, 2, &p), 0);
    assert_int_equal(p.nshards, 2);
    assert_int_equal(vn_shard_plan(65, it, 1, 2, &p), -1);
    assert_int_equal(vn_shard_plan(2, it, 1, 0, &p), -1);
    assert_int_equal(vn_shard_plan(2, it, 1, 65, &p), -1);
    assert_int_equal(vn_shard_plan(0, NULL, 0, 2, &p), 0);
    assert_int_equal(p.nshards, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_access_ports_only),
        cmocka_unit_test(test_trunks_and_mirrors_join),
        cmocka_unit_test(test_balance),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
