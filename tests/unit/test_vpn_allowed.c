/* Unit tests of the AllowedIPs table (src/vpn/allowed.c): longest-prefix
 * lookups in both families (/0, host routes), host bits masked, prefixes
 * moving between peers, removal of a prefix and of a peer, iteration, a
 * full table refusing without disturbing anything, bad arguments; and
 * random inserts/moves/removals checked against a brute-force list after
 * every step, with the trie's own invariants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpn/allowed.h"

#include <stdio.h>
#include <string.h>

static struct vn_addr A(const char *s)
{
    struct vn_addr a;
    if (vn_addr_parse(s, &a))
        fail_msg("bad address %s", s);
    return a;
}

static int ins(struct vn_allowed *t, const char *s, unsigned len, uint16_t peer)
{
    struct vn_addr a = A(s);
    return vn_allowed_insert(t, &a, len, peer);
}

static int look(const struct vn_allowed *t, const char *s)
{
    struct vn_addr a = A(s);
    return vn_allowed_lookup(t, &a);
}

/* The trie's invariants: links and parents agree, children lie inside
 * their parent on the side of their bit, branch points have two children,
 * and the nodes in the tries are exactly the used ones of the pool. */
static uint32_t check_node(const struct vn_allowed *t, uint32_t i, uint32_t parent, uint8_t fam,
                           uint32_t *prefixes)
{
    if (i == VN_ALLOWED_NIL)
        return 0;
    const struct vn_allowed_node *n = &t->nodes[i];
    assert_int_equal(n->family, fam);
    assert_int_equal(n->parent, parent);
    assert_true(n->bits <= (fam == AF_INET ? 32 : 128));
    struct vn_addr k = { .family = fam };
    memcpy(k.a, n->key, 16);
    struct vn_addr m = vn_addr_masked(&k, n->bits);
    assert_memory_equal(m.a, n->key, 16);
    if (n->peer == VN_ALLOWED_NONE)
        assert_true(n->child[0] != VN_ALLOWED_NIL && n->child[1] != VN_ALLOWED_NIL);
    else
        (*prefixes)++;
    uint32_t nodes = 1;
    for (unsigned b = 0; b < 2; b++) {
        uint32_t c = n->child[b];
        if (c == VN_ALLOWED_NIL)
            continue;
        const struct vn_allowed_node *cn = &t->nodes[c];
        assert_true(cn->bits > n->bits);
        struct vn_addr ck = { .family = fam };
        memcpy(ck.a, cn->key, 16);
        assert_true(vn_addr_in_prefix(&ck, &k, n->bits));
        assert_int_equal((cn->key[n->bits / 8] >> (7 - n->bits % 8)) & 1, b);
        nodes += check_node(t, c, i, fam, prefixes);
    }
    return nodes;
}

static void check_trie(const struct vn_allowed *t)
{
    uint32_t prefixes = 0;
    uint32_t nodes = check_node(t, t->root[0], VN_ALLOWED_NIL, AF_INET, &prefixes) +
                     check_node(t, t->root[1], VN_ALLOWED_NIL, AF_INET6, &prefixes);
    uint32_t used = 0;
    for (uint32_t i = 0; i < t->cap; i++)
        used += t->nodes[i].family != 0;
    assert_int_equal(nodes, used);
    assert_int_equal(prefixes, t->count);
    assert_true(t->count <= t->max);
}

static void test_basic_v4(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 64), 0);
    assert_int_equal(look(&t, "10.1.2.3"), -1);
    assert_int_equal(ins(&t, "10.0.0.0", 8, 1), 0);
    assert_int_equal(ins(&t, "10.1.0.0", 16, 2), 0);
    assert_int_equal(ins(&t, "10.1.2.3", 32, 4), 0);
    assert_int_equal(look(&t, "10.1.2.3"), 4);
    assert_int_equal(look(&t, "10.1.2.4"), 2);
    assert_int_equal(look(&t, "10.2.0.1"), 1);
    assert_int_equal(look(&t, "11.0.0.1"), -1);
    assert_int_equal(ins(&t, "0.0.0.0", 0, 3), 0);
    assert_int_equal(look(&t, "11.0.0.1"), 3);
    assert_int_equal(look(&t, "255.255.255.255"), 3);
    assert_int_equal(look(&t, "10.1.2.3"), 4);
    /* IPv4 entries never answer for IPv6 and the other way round. */
    assert_int_equal(look(&t, "::a01:203"), -1);
    assert_int_equal(look(&t, "::ffff:10.1.2.3"), -1);
    assert_int_equal(t.count, 4);
    check_trie(&t);
    /* Removal falls back to the next shorter prefix. */
    struct vn_addr a = A("10.1.2.3");
    assert_int_equal(vn_allowed_remove(&t, &a, 32), 4);
    assert_int_equal(vn_allowed_remove(&t, &a, 32), -1);
    assert_int_equal(vn_allowed_remove(&t, &a, 24), -1);
    assert_int_equal(look(&t, "10.1.2.3"), 2);
    a = A("10.1.0.0");
    assert_int_equal(vn_allowed_remove(&t, &a, 16), 2);
    assert_int_equal(look(&t, "10.1.2.3"), 1);
    a = A("0.0.0.0");
    assert_int_equal(vn_allowed_remove(&t, &a, 0), 3);
    assert_int_equal(look(&t, "11.0.0.1"), -1);
    assert_int_equal(t.count, 1);
    check_trie(&t);
    vn_allowed_free(&t);
}

static void test_basic_v6(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 64), 0);
    assert_int_equal(ins(&t, "2001:db8::", 32, 1), 0);
    assert_int_equal(ins(&t, "2001:db8:1::", 48, 2), 0);
    assert_int_equal(ins(&t, "2001:db8:1::7", 128, 3), 0);
    assert_int_equal(ins(&t, "fd00::", 8, 5), 0);
    assert_int_equal(look(&t, "2001:db8:1::7"), 3);
    assert_int_equal(look(&t, "2001:db8:1::8"), 2);
    assert_int_equal(look(&t, "2001:db8:2::1"), 1);
    assert_int_equal(look(&t, "fdff::1"), 5);
    assert_int_equal(look(&t, "fe80::1"), -1);
    assert_int_equal(look(&t, "32.1.13.184"), -1); /* 2001:db8 as IPv4 bytes */
    assert_int_equal(ins(&t, "::", 0, 6), 0);
    assert_int_equal(look(&t, "fe80::1"), 6);
    assert_int_equal(look(&t, "10.0.0.1"), -1);
    check_trie(&t);
    vn_allowed_free(&t);
}

static void test_host_bits_masked(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 8), 0);
    assert_int_equal(ins(&t, "10.1.2.3", 8, 1), 0);
    assert_int_equal(ins(&t, "2001:db8::ffff", 32, 2), 0);
    uint32_t cur = 0;
    struct vn_addr p;
    unsigned len;
    assert_true(vn_allowed_next(&t, 1, &cur, &p, &len));
    assert_int_equal(len, 8);
    struct vn_addr want = A("10.0.0.0");
    assert_true(vn_addr_eq(&p, &want));
    assert_false(vn_allowed_next(&t, 1, &cur, &p, &len));
    /* The same prefix written with other host bits is the same entry. */
    assert_int_equal(ins(&t, "10.200.0.0", 8, 3), 0);
    assert_int_equal(t.count, 2);
    assert_int_equal(look(&t, "10.9.9.9"), 3);
    struct vn_addr r = A("2001:db8:1234::");
    assert_int_equal(vn_allowed_remove(&t, &r, 32), 2);
    check_trie(&t);
    vn_allowed_free(&t);
}

static unsigned count_of(const struct vn_allowed *t, uint16_t peer)
{
    uint32_t cur = 0;
    struct vn_addr p;
    unsigned len, n = 0;
    while (vn_allowed_next(t, peer, &cur, &p, &len))
        n++;
    return n;
}

static void test_moves_and_remove_peer(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 16), 0);
    assert_int_equal(ins(&t, "10.0.0.0", 24, 1), 0);
    assert_int_equal(ins(&t, "10.0.1.0", 24, 1), 0);
    assert_int_equal(ins(&t, "fd00::", 64, 1), 0);
    assert_int_equal(ins(&t, "10.0.2.0", 24, 2), 0);
    assert_int_equal(count_of(&t, 1), 3);
    /* Moving a prefix to peer 2, as wg does. */
    assert_int_equal(ins(&t, "10.0.1.0", 24, 2), 0);
    assert_int_equal(t.count, 4);
    assert_int_equal(count_of(&t, 1), 2);
    assert_int_equal(count_of(&t, 2), 2);
    assert_int_equal(look(&t, "10.0.1.9"), 2);
    /* Removing peer 1 leaves peer 2's prefixes. */
    assert_int_equal(vn_allowed_remove_peer(&t, 1), 2);
    assert_int_equal(vn_allowed_remove_peer(&t, 1), 0);
    assert_int_equal(count_of(&t, 1), 0);
    assert_int_equal(look(&t, "10.0.0.1"), -1);
    assert_int_equal(look(&t, "fd00::1"), -1);
    assert_int_equal(look(&t, "10.0.1.1"), 2);
    assert_int_equal(look(&t, "10.0.2.1"), 2);
    assert_int_equal(t.count, 2);
    check_trie(&t);
    assert_int_equal(vn_allowed_remove_peer(&t, 2), 2);
    assert_int_equal(t.count, 0);
    assert_int_equal(t.root[0], VN_ALLOWED_NIL);
    assert_int_equal(t.root[1], VN_ALLOWED_NIL);
    check_trie(&t);
    vn_allowed_free(&t);
}

static void test_full_table(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 4), 0);
    assert_int_equal(ins(&t, "10.0.0.0", 8, 1), 0);
    assert_int_equal(ins(&t, "10.1.0.0", 16, 2), 0);
    assert_int_equal(ins(&t, "192.168.0.0", 16, 3), 0);
    assert_int_equal(ins(&t, "fd00::", 8, 4), 0);
    /* Full: new prefixes refused, in either family, nothing disturbed. */
    assert_int_equal(ins(&t, "10.1.2.0", 24, 5), -1);
    assert_int_equal(ins(&t, "0.0.0.0", 0, 5), -1);
    assert_int_equal(ins(&t, "fd00::1", 128, 5), -1);
    assert_int_equal(t.count, 4);
    assert_int_equal(look(&t, "10.1.2.3"), 2);
    assert_int_equal(look(&t, "10.2.0.1"), 1);
    assert_int_equal(look(&t, "192.168.9.9"), 3);
    assert_int_equal(look(&t, "fd00::1"), 4);
    assert_int_equal(look(&t, "11.0.0.1"), -1);
    assert_int_equal(count_of(&t, 5), 0);
    check_trie(&t);
    /* A move needs no room. */
    assert_int_equal(ins(&t, "10.1.0.0", 16, 5), 0);
    assert_int_equal(look(&t, "10.1.2.3"), 5);
    /* Room again after a removal. */
    struct vn_addr a = A("192.168.0.0");
    assert_int_equal(vn_allowed_remove(&t, &a, 16), 3);
    assert_int_equal(ins(&t, "10.1.2.0", 24, 6), 0);
    assert_int_equal(look(&t, "10.1.2.3"), 6);
    check_trie(&t);
    vn_allowed_free(&t);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct vn_allowed t;
    assert_int_equal(vn_allowed_init(&t, 0), -1);
    vn_allowed_free(&t);
    assert_int_equal(vn_allowed_init(&t, 4), 0);
    assert_int_equal(ins(&t, "10.0.0.0", 33, 1), -2);
    assert_int_equal(ins(&t, "fd00::", 129, 1), -2);
    assert_int_equal(ins(&t, "10.0.0.0", 8, VN_ALLOWED_NONE), -2);
    struct vn_addr none = { 0 };
    assert_int_equal(vn_allowed_insert(&t, &none, 0, 1), -2);
    assert_int_equal(vn_allowed_lookup(&t, &none), -1);
    assert_int_equal(vn_allowed_remove(&t, &none, 0), -1);
    assert_int_equal(t.count, 0);
    vn_allowed_free(&t);
}

/* ---- random operations against a brute-force list ---- */

#define MODEL_MAX 48

struct entry {
    struct vn_addr p;
    unsigned len;
    uint16_t peer;
};

struct model {
    struct entry e[MODEL_MAX];
    unsigned n, max;
};

static int model_find(const struct model *m, const struct vn_addr *p, unsigned len)
{
    struct vn_addr k = vn_addr_masked(p, len);
    for (unsigned i = 0; i < m->n; i++)
        if (m->e[i].len == len && vn_addr_eq(&m->e[i].p, &k))
            return (int)i;
    return -1;
}

static int model_insert(struct model *m, const struct vn_addr *p, unsigned len, uint16_t peer)
{
    int i = model_find(m, p, len);
    if (i >= 0) {
        m->e[i].peer = peer;
        return 0;
    }
    if (m->n >= m->max)
        return -1;
    m->e[m->n++] = (struct entry){ vn_addr_masked(p, len), len, peer };
    return 0;
}

static int model_remove_at(struct model *m, unsigned i)
{
    int peer = m->e[i].peer;
    m->e[i] = m->e[--m->n];
    return peer;
}

static int model_lookup(const struct model *m, const struct vn_addr *a)
{
    int best = -1, best_len = -1;
    for (unsigned i = 0; i < m->n; i++)
        if (vn_addr_in_prefix(a, &m->e[i].p, m->e[i].len) && (int)m->e[i].len > best_len) {
            best = m->e[i].peer;
            best_len = (int)m->e[i].len;
        }
    return best;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* An address near a few bases, so that prefixes nest and part often. */
static struct vn_addr rand_addr(bool v6)
{
    static const char *const b4[] = { "10.0.0.0", "10.1.2.3", "192.168.1.1", "255.255.255.255",
                                      "0.0.0.0" };
    static const char *const b6[] = { "2001:db8::", "2001:db8:1::7", "fd00::1", "::",
                                      "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
    struct vn_addr a = A(v6 ? b6[rnd() % 5] : b4[rnd() % 5]);
    unsigned bits = v6 ? 128 : 32;
    unsigned flips = rnd() % 3;
    for (unsigned k = 0; k < flips; k++) {
        unsigned q = rnd() % bits;
        a.a[q / 8] ^= (uint8_t)(0x80 >> (q % 8));
    }
    if (rnd() % 4 == 0) /* random tail */
        for (unsigned q = rnd() % bits; q < bits; q++)
            if (rnd() & 1)
                a.a[q / 8] ^= (uint8_t)(0x80 >> (q % 8));
    return a;
}

static unsigned rand_len(bool v6)
{
    unsigned bits = v6 ? 128 : 32;
    switch (rnd() % 6) {
    case 0: return 0;
    case 1: return bits;
    case 2: return bits - 1;
    default: return rnd() % (bits + 1);
    }
}

static void compare(const struct vn_allowed *t, const struct model *m)
{
    assert_int_equal(t->count, m->n);
    for (int k = 0; k < 60; k++) {
        bool v6 = rnd() & 1;
        struct vn_addr a = rand_addr(v6);
        if (k < 2 * (int)m->n && m->n) /* also the prefixes' own first addresses */
            a = m->e[(unsigned)k % m->n].p;
        if (vn_allowed_lookup(t, &a) != model_lookup(m, &a)) {
            char s[VN_ADDR_STRLEN];
            fail_msg("lookup %s: table %d, model %d", vn_addr_str(&a, s, sizeof s),
                     vn_allowed_lookup(t, &a), model_lookup(m, &a));
        }
    }
    /* Iteration gives exactly each peer's entries. */
    for (uint16_t peer = 0; peer < 4; peer++) {
        uint32_t cur = 0;
        struct vn_addr p;
        unsigned len, n = 0, want = 0;
        while (vn_allowed_next(t, peer, &cur, &p, &len)) {
            int i = model_find(m, &p, len);
            assert_true(i >= 0);
            assert_int_equal(m->e[i].peer, peer);
            n++;
        }
        for (unsigned i = 0; i < m->n; i++)
            want += m->e[i].peer == peer;
        assert_int_equal(n, want);
    }
    check_trie(t);
}

static void test_random_against_model(void **state)
{
    (void)state;
    for (int round = 0; round < 40; round++) {
        struct vn_allowed t;
        struct model m = { .max = 1 + (unsigned)round % MODEL_MAX };
        assert_int_equal(vn_allowed_init(&t, m.max), 0);
        for (int step = 0; step < 400; step++) {
            unsigned op = rnd() % 10;
            bool v6 = rnd() & 1;
            if (op < 6) {
                struct vn_addr p = rand_addr(v6);
                unsigned len = rand_len(v6);
                uint16_t peer = (uint16_t)(rnd() % 4);
                assert_int_equal(vn_allowed_insert(&t, &p, len, peer),
                                 model_insert(&m, &p, len, peer));
            } else if (op < 9) {
                if (m.n && rnd() % 4) { /* an existing prefix, with other host bits */
                    unsigned i = rnd() % m.n;
                    struct vn_addr p = m.e[i].p;
                    unsigned len = m.e[i].len;
                    if (len < vn_addr_bits(&p))
                        p.a[len / 8] |= (uint8_t)((0xffu >> (len % 8)) & rnd());
                    assert_int_equal(vn_allowed_remove(&t, &p, len), model_remove_at(&m, i));
                } else {
                    struct vn_addr p = rand_addr(v6);
                    unsigned len = rand_len(v6);
                    int i = model_find(&m, &p, len);
                    assert_int_equal(vn_allowed_remove(&t, &p, len),
                                     i < 0 ? -1 : model_remove_at(&m, (unsigned)i));
                }
            } else {
                uint16_t peer = (uint16_t)(rnd() % 4);
                unsigned n = 0;
                for (unsigned i = 0; i < m.n;)
                    if (m.e[i].peer == peer) {
                        model_remove_at(&m, i);
                        n++;
                    } else {
                        i++;
                    }
                assert_int_equal(vn_allowed_remove_peer(&t, peer), n);
            }
            compare(&t, &m);
        }
        vn_allowed_free(&t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_v4),
        cmocka_unit_test(test_basic_v6),
        cmocka_unit_test(test_host_bits_masked),
        cmocka_unit_test(test_moves_and_remove_peer),
        cmocka_unit_test(test_full_table),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_random_against_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
