/* Unit tests of the forwarding database (src/switch/fdb.c): learning,
 * lookup, moves, aging, the hard maximum, deletion by backward shifting
 * (checked against a simple reference model) and independence of the
 * tables of different networks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/hash.h"
#include "switch/fdb.h"

#include <stdlib.h>
#include <string.h>

static void mac_of(uint32_t i, uint8_t m[6])
{
    m[0] = 0x52;
    m[1] = 0x54;
    m[2] = (uint8_t)(i >> 24);
    m[3] = (uint8_t)(i >> 16);
    m[4] = (uint8_t)(i >> 8);
    m[5] = (uint8_t)i;
}

static void test_learn_lookup(void **state)
{
    (void)state;
    struct vn_fdb f;
    assert_int_equal(vn_fdb_init(&f, 16, 300), 0);
    uint8_t a[6], b[6];
    mac_of(1, a);
    mac_of(2, b);
    assert_int_equal(vn_fdb_lookup(&f, a, 0), -1);
    assert_int_equal(vn_fdb_learn(&f, a, 3, 0), VN_FDB_NEW);
    assert_int_equal(vn_fdb_lookup(&f, a, 0), 3);
    assert_int_equal(vn_fdb_lookup(&f, b, 0), -1);
    assert_int_equal(vn_fdb_learn(&f, a, 3, 1), VN_FDB_REFRESHED);
    assert_int_equal(f.count, 1);
    assert_int_equal(f.learned, 1);
    /* The key round-trips to the MAC. */
    uint32_t pos = 0;
    const struct vn_fdb_entry *e = vn_fdb_next(&f, &pos);
    assert_non_null(e);
    uint8_t back[6];
    vn_fdb_key_mac(e->key, back);
    assert_memory_equal(back, a, 6);
    assert_null(vn_fdb_next(&f, &pos));
    vn_fdb_free(&f);
}

static void test_move(void **state)
{
    (void)state;
    struct vn_fdb f;
    assert_int_equal(vn_fdb_init(&f, 16, 300), 0);
    uint8_t a[6];
    mac_of(7, a);
    assert_int_equal(vn_fdb_learn(&f, a, 1, 0), VN_FDB_NEW);
    assert_int_equal(vn_fdb_learn(&f, a, 2, 1), VN_FDB_MOVED);
    assert_int_equal(vn_fdb_lookup(&f, a, 1), 2);
    assert_int_equal(f.moved, 1);
    assert_int_equal(f.count, 1);
    /* Flushing the old port does not remove the moved entry. */
    assert_int_equal(vn_fdb_flush_port(&f, 1), 0);
    assert_int_equal(vn_fdb_lookup(&f, a, 1), 2);
    assert_int_equal(vn_fdb_flush_port(&f, 2), 1);
    assert_int_equal(vn_fdb_lookup(&f, a, 1), -1);
    assert_int_equal(f.count, 0);
    /* Forgetting one MAC: only where it points at the port named. */
    assert_int_equal(vn_fdb_learn(&f, a, 3, 1), VN_FDB_NEW);
    assert_int_equal(vn_fdb_forget(&f, a, 4), 0);
    assert_int_equal(vn_fdb_lookup(&f, a, 1), 3);
    assert_int_equal(vn_fdb_forget(&f, a, 3), 1);
    assert_int_equal(vn_fdb_lookup(&f, a, 1), -1);
    assert_int_equal(vn_fdb_forget(&f, a, 3), 0);
    assert_int_equal(f.count, 0);
    vn_fdb_free(&f);
}

static void test_aging(void **state)
{
    (void)state;
    struct vn_fdb f;
    assert_int_equal(vn_fdb_init(&f, 16, 10), 0);
    uint8_t a[6], b[6];
    mac_of(1, a);
    mac_of(2, b);
    vn_fdb_learn(&f, a, 1, 100);
    vn_fdb_learn(&f, b, 2, 100);
    assert_int_equal(vn_fdb_lookup(&f, a, 110), 1); /* exactly the aging time: still there */
    vn_fdb_learn(&f, b, 2, 105);                    /* b refreshed */
    assert_int_equal(vn_fdb_lookup(&f, a, 111), -1); /* lookups treat it as absent */
    assert_int_equal(vn_fdb_lookup(&f, b, 111), 2);
    assert_int_equal(vn_fdb_age(&f, 111), 1);
    assert_int_equal(f.count, 1);
    assert_int_equal(f.aged, 1);
    assert_int_equal(vn_fdb_lookup(&f, b, 115), 2);
    assert_int_equal(vn_fdb_age(&f, 116), 1);
    assert_int_equal(f.count, 0);
    /* An aged-out MAC is learned anew. */
    assert_int_equal(vn_fdb_learn(&f, a, 4, 200), VN_FDB_NEW);
    assert_int_equal(vn_fdb_lookup(&f, a, 200), 4);
    vn_fdb_free(&f);

    /* aging 0 = never */
    assert_int_equal(vn_fdb_init(&f, 16, 0), 0);
    vn_fdb_learn(&f, a, 1, 0);
    assert_int_equal(vn_fdb_lookup(&f, a, 4000000000u), 1);
    assert_int_equal(vn_fdb_age(&f, 4000000000u), 0);
    vn_fdb_free(&f);
}

static void test_full_table(void **state)
{
    (void)state;
    struct vn_fdb f;
    enum { MAX = 100 };
    assert_int_equal(vn_fdb_init(&f, MAX, 300), 0);
    uint8_t m[6];
    for (uint32_t i = 0; i < MAX; i++) {
        mac_of(i, m);
        assert_int_equal(vn_fdb_learn(&f, m, (uint16_t)(i % 7), 0), VN_FDB_NEW);
    }
    assert_int_equal(f.count, MAX);
    /* New MACs are refused ... */
    for (uint32_t i = MAX; i < 3 * MAX; i++) {
        mac_of(i, m);
        assert_int_equal(vn_fdb_learn(&f, m, 1, 1), VN_FDB_FULL);
        assert_int_equal(vn_fdb_lookup(&f, m, 1), -1);
    }
    assert_int_equal(f.full, 2 * MAX);
    assert_int_equal(f.count, MAX);
    /* ... old ones keep working, refresh and move. */
    for (uint32_t i = 0; i < MAX; i++) {
        mac_of(i, m);
        assert_int_equal(vn_fdb_lookup(&f, m, 1), (int)(i % 7));
    }
    mac_of(0, m);
    assert_int_equal(vn_fdb_learn(&f, m, 0, 2), VN_FDB_REFRESHED);
    assert_int_equal(vn_fdb_learn(&f, m, 9, 2), VN_FDB_MOVED);
    assert_int_equal(f.count, MAX);
    /* After removing some, new MACs are learned again. */
    uint32_t gone = vn_fdb_flush_port(&f, 3);
    assert_true(gone > 0);
    mac_of(5000, m);
    assert_int_equal(vn_fdb_learn(&f, m, 1, 3), VN_FDB_NEW);
    vn_fdb_flush(&f);
    assert_int_equal(f.count, 0);
    mac_of(1, m);
    assert_int_equal(vn_fdb_lookup(&f, m, 3), -1);
    vn_fdb_free(&f);
}

/* Random learn/flush/age operations against a reference array: backward
 * shift deletion must never lose or duplicate an entry. */
static void test_model(void **state)
{
    (void)state;
    enum { N = 600, MAX = 400 };
    struct vn_fdb f;
    assert_int_equal(vn_fdb_init(&f, MAX, 50), 0);
    int port[N];   /* -1 = absent */
    uint32_t seen[N];
    for (int i = 0; i < N; i++)
        port[i] = -1;
    unsigned count = 0;
    srand(12345);
    uint32_t now = 0;
    for (int step = 0; step < 20000; step++) {
        int op = rand() % 100;
        uint8_t m[6];
        if (op < 85) {
            int i = rand() % N;
            uint16_t p = (uint16_t)(rand() % 8);
            mac_of((uint32_t)i * 2654435761u, m);
            enum vn_fdb_result r = vn_fdb_learn(&f, m, p, now);
            /* The fdb keeps entries that expired until vn_fdb_age() runs. */
            if (port[i] < 0) {
                if (count >= MAX) {
                    assert_int_equal(r, VN_FDB_FULL);
                } else {
                    assert_int_equal(r, VN_FDB_NEW);
                    port[i] = p;
                    seen[i] = now;
                    count++;
                }
            } else {
                assert_int_equal(r, port[i] == p ? VN_FDB_REFRESHED : VN_FDB_MOVED);
                port[i] = p;
                seen[i] = now;
            }
        } else if (op < 90) {
            uint16_t p = (uint16_t)(rand() % 8);
            unsigned expect = 0;
            for (int i = 0; i < N; i++)
                if (port[i] == p) {
                    port[i] = -1;
                    expect++;
                }
            assert_int_equal(vn_fdb_flush_port(&f, p), expect);
            count -= expect;
        } else if (op < 95) {
            unsigned expect = 0;
            for (int i = 0; i < N; i++)
                if (port[i] >= 0 && now - seen[i] > 50) {
                    port[i] = -1;
                    expect++;
                }
            assert_int_equal(vn_fdb_age(&f, now), expect);
            count -= expect;
        } else {
            now += (uint32_t)(rand() % 20);
        }
        assert_int_equal(f.count, count);
    }
    for (int i = 0; i < N; i++) {
        uint8_t m[6];
        mac_of((uint32_t)i * 2654435761u, m);
        int want = port[i] >= 0 && now - seen[i] <= 50 ? port[i] : -1;
        assert_int_equal(vn_fdb_lookup(&f, m, now), want);
    }
    uint32_t pos = 0, live = 0;
    while (vn_fdb_next(&f, &pos))
        live++;
    assert_int_equal(live, count);
    vn_fdb_free(&f);
}

/* Each network has its own table: the same MAC lives on different ports in
 * different networks, and changes in one never show in another. */
static void test_per_network(void **state)
{
    (void)state;
    struct vn_fdb n1, n2;
    assert_int_equal(vn_fdb_init(&n1, 4, 300), 0);
    assert_int_equal(vn_fdb_init(&n2, 4, 300), 0);
    uint8_t a[6];
    mac_of(42, a);
    assert_int_equal(vn_fdb_learn(&n1, a, 1, 0), VN_FDB_NEW);
    assert_int_equal(vn_fdb_learn(&n2, a, 2, 0), VN_FDB_NEW);
    assert_int_equal(vn_fdb_lookup(&n1, a, 0), 1);
    assert_int_equal(vn_fdb_lookup(&n2, a, 0), 2);
    vn_fdb_flush_port(&n1, 1);
    assert_int_equal(vn_fdb_lookup(&n1, a, 0), -1);
    assert_int_equal(vn_fdb_lookup(&n2, a, 0), 2);
    /* Filling one network does not stop another from learning. */
    uint8_t m[6];
    for (uint32_t i = 0; i < 4; i++) {
        mac_of(100 + i, m);
        assert_int_equal(vn_fdb_learn(&n1, m, 1, 0), VN_FDB_NEW);
    }
    mac_of(200, m);
    assert_int_equal(vn_fdb_learn(&n1, m, 1, 0), VN_FDB_FULL);
    assert_int_equal(vn_fdb_learn(&n2, m, 1, 0), VN_FDB_NEW);
    vn_fdb_free(&n1);
    vn_fdb_free(&n2);
}

/* Sizes near the configured bounds allocate and work. */
static void test_bounds(void **state)
{
    (void)state;
    struct vn_fdb f;
    assert_int_equal(vn_fdb_init(&f, 1, 1), 0);
    uint8_t a[6], b[6];
    mac_of(1, a);
    mac_of(2, b);
    assert_int_equal(vn_fdb_learn(&f, a, 0, 0), VN_FDB_NEW);
    assert_int_equal(vn_fdb_learn(&f, b, 0, 0), VN_FDB_FULL);
    vn_fdb_free(&f);
    assert_int_equal(vn_fdb_init(&f, 1u << 20, 300), 0);
    assert_true(f.mask + 1 >= 2u << 20);
    assert_int_equal(vn_fdb_learn(&f, a, 0, 0), VN_FDB_NEW);
    vn_fdb_free(&f);
}

int main(void)
{
    vn_hash_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learn_lookup), cmocka_unit_test(test_move),
        cmocka_unit_test(test_aging),        cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_model),        cmocka_unit_test(test_per_network),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
