/* Unit tests of the DHCP lease file (src/gw/dhcp4_lease.c): save and load
 * round trip (pool and static entries, states, names), entries outside the
 * configuration skipped, unreadable entries skipped, a corrupt file set
 * aside as .corrupt, a missing file, and mkdir -p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/dhcp4_lease.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define START 0x0a00020f /* 10.0.2.15 */
#define NPOOL 8

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vnet-lease-test-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void init_pool(struct vn_lease *pool)
{
    memset(pool, 0, NPOOL * sizeof *pool);
    for (unsigned i = 0; i < NPOOL; i++)
        pool[i].ip = START + i;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct vn_lease pool[NPOOL], st[1], pool2[NPOOL], st2[1];
    init_pool(pool);
    memset(st, 0, sizeof st);
    st[0] = (struct vn_lease){ .ip = 0x0a000232, .is_static = true, .has_mac = true,
                               .mac = { 0x52, 0x54, 0, 0, 0, 9 }, .state = VN_LEASE_BOUND,
                               .expires = 5000, .hostname = "fixed" };
    pool[0] = (struct vn_lease){ .ip = START, .has_mac = true, .mac = { 0x52, 0x54, 0, 0, 0, 1 },
                                 .state = VN_LEASE_BOUND, .expires = 4000, .changed = 400,
                                 .hostname = "alpha" };
    pool[3] = (struct vn_lease){ .ip = START + 3, .has_mac = true,
                                 .mac = { 0x52, 0x54, 0, 0, 0, 4 }, .state = VN_LEASE_RELEASED,
                                 .expires = 100, .changed = 100 };
    pool[5] = (struct vn_lease){ .ip = START + 5, .has_mac = true,
                                 .mac = { 0x52, 0x54, 0, 0, 0, 6 }, .state = VN_LEASE_OFFERED,
                                 .expires = 99 }; /* offers are not saved */
    char path[300], err[300];
    snprintf(path, sizeof path, "%s/leases-lan.json", dir);
    assert_int_equal(vn_lease_save(path, "lan", pool, NPOOL, st, 1, err, sizeof err), 0);
    char tmp[310];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1); /* renamed into place */

    init_pool(pool2);
    memset(st2, 0, sizeof st2);
    st2[0] = (struct vn_lease){ .ip = 0x0a000232, .is_static = true, .has_mac = true,
                                .mac = { 0x52, 0x54, 0, 0, 0, 9 }, .hostname = "fixed" };
    assert_int_equal(vn_lease_load(path, pool2, NPOOL, START, st2, 1, err, sizeof err), 3);
    assert_true(pool2[0].has_mac && pool2[0].state == VN_LEASE_BOUND);
    assert_int_equal(pool2[0].expires, 4000);
    assert_string_equal(pool2[0].hostname, "alpha");
    assert_memory_equal(pool2[0].mac, pool[0].mac, 6);
    assert_int_equal(pool2[3].state, VN_LEASE_RELEASED);
    assert_false(pool2[5].has_mac);
    assert_int_equal(st2[0].state, VN_LEASE_BOUND);
    assert_string_equal(st2[0].hostname, "fixed");
    assert_string_equal(vn_lease_state_name(&pool2[0], 3999), "bound");
    assert_string_equal(vn_lease_state_name(&pool2[0], 4000), "expired");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_skips_foreign_and_bad_entries(void **state)
{
    (void)state;
    char path[300], err[300];
    snprintf(path, sizeof path, "%s/leases-x.json", dir);
    write_file(path, "{\"leases\": ["
                     "{\"mac\": \"52:54:00:00:00:01\", \"ip\": \"10.0.2.16\", \"state\": \"bound\","
                     " \"expires\": 7},"
                     "{\"mac\": \"52:54:00:00:00:02\", \"ip\": \"192.168.1.5\"},"
                     "{\"mac\": \"nonsense\", \"ip\": \"10.0.2.17\"},"
                     "{\"ip\": \"10.0.2.18\"},"
                     "{\"mac\": \"52:54:00:00:00:03\", \"ip\": \"10.0.2.19\"}]}");
    struct vn_lease pool[NPOOL];
    init_pool(pool);
    pool[4].reserved = true; /* 10.0.2.19 now belongs to a static host */
    assert_int_equal(vn_lease_load(path, pool, NPOOL, START, NULL, 0, err, sizeof err), 1);
    assert_true(pool[1].has_mac && pool[1].state == VN_LEASE_BOUND);
    assert_false(pool[2].has_mac);
    assert_false(pool[4].has_mac);
}

static void test_corrupt_and_missing(void **state)
{
    (void)state;
    char path[300], bad[320], err[300];
    struct vn_lease pool[NPOOL];
    init_pool(pool);
    snprintf(path, sizeof path, "%s/nothing.json", dir);
    assert_int_equal(vn_lease_load(path, pool, NPOOL, START, NULL, 0, err, sizeof err), 0);
    snprintf(path, sizeof path, "%s/leases-c.json", dir);
    write_file(path, "{ not json");
    assert_int_equal(vn_lease_load(path, pool, NPOOL, START, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "corrupt"));
    snprintf(bad, sizeof bad, "%s.corrupt", path);
    assert_int_equal(access(bad, F_OK), 0);
    assert_int_equal(access(path, F_OK), -1);
    write_file(path, "{\"leases\": 3}");
    assert_int_equal(vn_lease_load(path, pool, NPOOL, START, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "leases"));
}

static void test_mkdir_p_and_save_errors(void **state)
{
    (void)state;
    char sub[300], path[320], err[300];
    snprintf(sub, sizeof sub, "%s/a/b/c", dir);
    assert_int_equal(vn_mkdir_p(sub), 0);
    assert_int_equal(vn_mkdir_p(sub), 0); /* exists: fine */
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    struct vn_lease pool[NPOOL];
    init_pool(pool);
    snprintf(path, sizeof path, "%s/missing/dir/leases.json", dir);
    assert_int_equal(vn_lease_save(path, "lan", pool, NPOOL, NULL, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "leases.json"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_skips_foreign_and_bad_entries),
        cmocka_unit_test(test_corrupt_and_missing),
        cmocka_unit_test(test_mkdir_p_and_save_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
