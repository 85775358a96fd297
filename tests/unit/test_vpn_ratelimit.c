/* Unit tests of the per-source handshake limit (src/vpn/ratelimit.c): a
 * burst then the rate, exactly; sources apart from each other (an IPv4
 * address, an IPv6 /64: other ports and other interface ids are the same
 * source); idle entries reused while busy sets refuse newcomers (so
 * rotating addresses buys no fresh bursts); a clock gone back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/hash.h"
#include "vpn/ratelimit.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct vn_rl *fresh(void)
{
    struct vn_rl *rl = malloc(sizeof *rl);
    assert_non_null(rl);
    vn_rl_init(rl);
    return rl;
}

static struct vn_addr v4(uint32_t host_order)
{
    return vn_addr4(host_order);
}

static struct vn_addr v6(uint64_t prefix, uint64_t iid)
{
    struct vn_addr a = { .family = AF_INET6 };
    for (int i = 0; i < 8; i++) {
        a.a[i] = (uint8_t)(prefix >> (56 - 8 * i));
        a.a[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
    }
    return a;
}

/* How many of n messages at now_ms are allowed. */
static unsigned allowed(struct vn_rl *rl, const struct vn_addr *a, unsigned n, uint64_t now_ms)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++)
        k += vn_rl_allow(rl, a, now_ms);
    return k;
}

static void test_burst_then_rate(void **state)
{
    (void)state;
    struct vn_rl *rl = fresh();
    struct vn_addr a = v4(0xc6120001);
    assert_int_equal(allowed(rl, &a, 100, 1000), VN_RL_BURST);
    /* one token each 1000 / VN_RL_RATE = 50 ms */
    assert_int_equal(allowed(rl, &a, 10, 1049), 0);
    assert_int_equal(allowed(rl, &a, 10, 1050), 1);
    assert_int_equal(allowed(rl, &a, 10, 1100), 1);
    /* over 10 s of a steady flood: the rate, not more */
    unsigned k = 0;
    for (uint64_t t = 1101; t <= 11100; t++)
        k += allowed(rl, &a, 3, t);
    assert_in_range(k, VN_RL_RATE * 10 - 1, VN_RL_RATE * 10 + 1);
    /* idle long enough: the burst again, never more */
    assert_int_equal(allowed(rl, &a, 100, 11100 + 60000), VN_RL_BURST);
    free(rl);
}

static void test_sources(void **state)
{
    (void)state;
    struct vn_rl *rl = fresh();
    struct vn_addr a = v4(0xc6120001), b = v4(0xc6120002);
    assert_int_equal(allowed(rl, &a, 20, 5000), VN_RL_BURST);
    assert_int_equal(allowed(rl, &b, 20, 5000), VN_RL_BURST); /* its own bucket */
    /* IPv6: one /64 is one source, another /64 another */
    struct vn_addr p1 = v6(0xfd00000000000001, 1), p1b = v6(0xfd00000000000001, 0xdead),
                   p2 = v6(0xfd00000000000002, 1);
    assert_int_equal(allowed(rl, &p1, 3, 5000), 3);
    assert_int_equal(allowed(rl, &p1b, 20, 5000), VN_RL_BURST - 3);
    assert_int_equal(allowed(rl, &p2, 20, 5000), VN_RL_BURST);
    /* an IPv4 address and an IPv6 address with the same first bytes differ */
    struct vn_addr x6 = v6((uint64_t)0xc6120001 << 32, 0);
    assert_int_equal(allowed(rl, &x6, 20, 5000), VN_RL_BURST);
    free(rl);
}

/* Addresses whose keys fall into the same set as a's (found by trying). */
static unsigned same_set(const struct vn_addr *a, struct vn_addr *out, unsigned n)
{
    uint8_t ka[9] = { 4 };
    memcpy(ka + 1, a->a, 4);
    uint64_t want = vn_hash(ka, 9) % VN_RL_SETS;
    unsigned k = 0;
    for (uint32_t x = 0x0a000001; k < n && x < 0x0a100000; x++) {
        struct vn_addr c = v4(x);
        uint8_t kc[9] = { 4 };
        memcpy(kc + 1, c.a, 4);
        if (vn_hash(kc, 9) % VN_RL_SETS == want && memcmp(c.a, a->a, 4))
            out[k++] = c;
    }
    return k;
}

static void test_busy_set_refuses_newcomers(void **state)
{
    (void)state;
    struct vn_rl *rl = fresh();
    struct vn_addr a = v4(0xc6120001), others[VN_RL_WAYS + 1];
    assert_int_equal(same_set(&a, others, VN_RL_WAYS + 1), VN_RL_WAYS + 1);
    /* fill the set with active sources */
    assert_true(vn_rl_allow(rl, &a, 1000));
    for (unsigned i = 0; i < VN_RL_WAYS - 1; i++)
        assert_true(vn_rl_allow(rl, &others[i], 1000));
    assert_int_equal(allowed(rl, &a, 20, 1000), VN_RL_BURST - 1);
    /* a newcomer while they are active: refused */
    assert_false(vn_rl_allow(rl, &others[VN_RL_WAYS - 1], 1000));
    assert_false(vn_rl_allow(rl, &others[VN_RL_WAYS - 1], 1000 + VN_RL_IDLE_MS - 1));
    /* rotating through new addresses gives no fresh bursts either */
    assert_false(vn_rl_allow(rl, &others[VN_RL_WAYS], 1000 + VN_RL_IDLE_MS - 1));
    /* once the others idle, a newcomer takes the least recently used entry */
    uint64_t t = 1000 + VN_RL_IDLE_MS + 10 * VN_RL_IDLE_MS;
    assert_int_equal(allowed(rl, &a, 1, t), 1);
    assert_int_equal(allowed(rl, &others[VN_RL_WAYS - 1], 20, t), VN_RL_BURST);
    free(rl);
}

static void test_clock_back(void **state)
{
    (void)state;
    struct vn_rl *rl = fresh();
    struct vn_addr a = v4(0x7f000001);
    assert_int_equal(allowed(rl, &a, 20, 100000), VN_RL_BURST);
    assert_int_equal(allowed(rl, &a, 20, 50000), 0);  /* back: nothing refilled */
    assert_int_equal(allowed(rl, &a, 20, 100049), 0);
    assert_int_equal(allowed(rl, &a, 20, 100050), 1);
    free(rl);
}

int main(void)
{
    vn_hash_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_sources),
        cmocka_unit_test(test_busy_set_refuses_newcomers),
        cmocka_unit_test(test_clock_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
