/* Unit tests of the split virtqueue (src/vhost/vring.c) against a guest
 * driver built in local memory (vhost_guest.h): chains direct and indirect,
 * unpop, used elements and index wrap, buffers crossing adjacent regions,
 * and every hostile case marking the ring broken (a loop, next out of range,
 * more than 64 buffers, a buffer outside or straddling memory, huge or
 * wrapping, the wrong direction, indirect in indirect, bad indirect lengths,
 * indices out of range); ring addresses refused at start; interrupt and kick
 * suppression with and without the event index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vhost_guest.h"

#include <string.h>

static struct guest *new_guest(uint16_t num, bool event_idx)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(guest_init(g, num, event_idx), 0);
    return g;
}

static void del_guest(struct guest *g)
{
    guest_free(g);
    free(g);
}

/* pop must break the ring with a reason containing why */
static void pop_breaks(struct guest *g, bool want_write, const char *why)
{
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, want_write, &c), -1);
    assert_non_null(g->vq.broken);
    if (!strstr(g->vq.broken, why))
        fail_msg("broken \"%s\" does not say \"%s\"", g->vq.broken, why);
    assert_int_equal(g->vq.broken_count, 1);
    /* and it stays broken */
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, want_write, &c), -1);
    assert_false(vn_vring_has_avail(&g->vq));
}

static void test_chain(void **state)
{
    (void)state;
    struct guest *g = new_guest(8, false);
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 0);
    assert_false(vn_vring_has_avail(&g->vq));
    struct gbuf b[3] = { { "abc", 3, false }, { "defgh", 5, false }, { "i", 1, false } };
    uint16_t head = guest_add(g, b, 3);
    assert_true(vn_vring_has_avail(&g->vq));
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    assert_int_equal(c.head, head);
    assert_int_equal(c.niov, 3);
    assert_int_equal(c.len, 9);
    assert_memory_equal(c.iov[1].iov_base, "defgh", 5);
    assert_ptr_equal(c.iov[0].iov_base, guest_ptr(g, g->desc[head].addr));
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 0);
    uint32_t id = 0, len = 0;
    vn_vring_push(&g->vq, head, 0);
    assert_false(guest_used(g, &id, &len)); /* not published yet */
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 0);
    /* a writable chain for rx, and a zero-length descriptor skipped */
    struct gbuf w[3] = { { NULL, 100, true }, { NULL, 0, true }, { NULL, 50, true } };
    head = guest_add(g, w, 3);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, true, &c), 1);
    assert_int_equal(c.niov, 2);
    assert_int_equal(c.len, 150);
    vn_vring_push(&g->vq, head, 150);
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(len, 150);
    assert_null(g->vq.broken);
    del_guest(g);
}

static void test_indirect(void **state)
{
    (void)state;
    struct guest *g = new_guest(4, false);
    struct gbuf b[3] = { { "12", 2, false }, { "345", 3, false }, { "6789", 4, false } };
    uint16_t head = guest_add_indirect(g, b, 3, NULL);
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    assert_int_equal(c.head, head);
    assert_int_equal(c.niov, 3);
    assert_int_equal(c.len, 9);
    assert_memory_equal(c.iov[2].iov_base, "6789", 4);
    /* a table longer than the ring is fine (bounded by its own length) */
    struct gbuf many[20];
    for (unsigned i = 0; i < 20; i++)
        many[i] = (struct gbuf){ NULL, 10, true };
    guest_add_indirect(g, many, 20, NULL);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, true, &c), 1);
    assert_int_equal(c.niov, 20);
    assert_int_equal(c.len, 200);
    del_guest(g);
}

static void test_unpop_and_wrap(void **state)
{
    (void)state;
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(guest_init(g, 4, true), 0);
    /* resume near the end of the 16-bit index space (SET_VRING_BASE) */
    g->avail_idx = g->used_seen = 65533;
    g->avail->idx = 65533;
    g->used->idx = 65533;
    g->vq.last_avail = 65533;
    char err[128];
    assert_int_equal(vn_vring_start(&g->vq, &g->m, true, err, sizeof(err)), 0);
    assert_int_equal(g->vq.used_idx, 65533);
    struct gbuf b = { "x", 1, false };
    struct vn_vring_chain c;
    for (int round = 0; round < 3; round++) {
        uint16_t h1 = guest_add(g, &b, 1), h2 = guest_add(g, &b, 1);
        assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
        assert_int_equal(c.head, h1);
        assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
        vn_vring_unpop(&g->vq, 2);
        assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
        assert_int_equal(c.head, h1);
        assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
        assert_int_equal(c.head, h2);
        vn_vring_push(&g->vq, h1, 1);
        vn_vring_push(&g->vq, h2, 2);
        vn_vring_push(&g->vq, 3, 3);
        vn_vring_unpush(&g->vq, 1);
        vn_vring_publish(&g->vq);
        uint32_t id = 0, len = 0;
        assert_true(guest_used(g, &id, &len));
        assert_int_equal(id, h1);
        assert_true(guest_used(g, &id, &len));
        assert_int_equal(id, h2);
        assert_int_equal(len, 2);
        assert_false(guest_used(g, &id, &len));
    }
    assert_int_equal(g->vq.last_avail, (uint16_t)(65533 + 6));
    assert_int_equal(g->used->idx, (uint16_t)(65533 + 6));
    del_guest(g);
}

static void test_adjacent_regions(void **state)
{
    (void)state;
    /* two regions adjacent in gpa: a buffer over the seam comes in two pieces */
    struct guest *g = new_guest(4, false);
    uint8_t *other = calloc(1, 4096);
    assert_non_null(other);
    struct vn_vhost_region_desc d[2] = {
        { .gpa = GUEST_GPA, .size = GUEST_SIZE, .uva = GUEST_UVA },
        { .gpa = GUEST_GPA + GUEST_SIZE, .size = 4096, .uva = 0x1000 },
    };
    uint8_t *hosts[2] = { g->mem, other };
    char err[128];
    assert_int_equal(vn_vhost_mem_set_local(&g->m, d, 2, hosts, err, sizeof(err)), 0);
    assert_int_equal(vn_vring_start(&g->vq, &g->m, false, err, sizeof(err)), 0);
    g->desc[0] = (struct vring_desc){ .addr = GUEST_GPA + GUEST_SIZE - 10, .len = 30 };
    guest_publish_head(g, 0);
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    assert_int_equal(c.niov, 2);
    assert_ptr_equal(c.iov[0].iov_base, g->mem + GUEST_SIZE - 10);
    assert_int_equal(c.iov[0].iov_len, 10);
    assert_ptr_equal(c.iov[1].iov_base, other);
    assert_int_equal(c.iov[1].iov_len, 20);
    /* past the second region: outside */
    g->desc[1] = (struct vring_desc){ .addr = GUEST_GPA + GUEST_SIZE + 4000, .len = 200 };
    guest_publish_head(g, 1);
    pop_breaks(g, false, "outside guest memory");
    del_guest(g);
    free(other);
}

/* A guest whose descriptor slots 0.. are set by the test, head 0 published. */
static struct guest *raw(uint16_t num)
{
    struct guest *g = new_guest(num, false);
    return g;
}

static void set_desc(struct guest *g, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    g->desc[i] = (struct vring_desc){ .addr = addr, .len = len, .flags = flags, .next = next };
}

static void test_hostile_chains(void **state)
{
    (void)state;
    const uint64_t buf = GUEST_GPA + GUEST_DATA;
    struct guest *g;

    /* a loop: 0 -> 1 -> 0 */
    g = raw(8);
    set_desc(g, 0, buf, 10, VRING_DESC_F_NEXT, 1);
    set_desc(g, 1, buf, 10, VRING_DESC_F_NEXT, 0);
    guest_publish_head(g, 0);
    pop_breaks(g, false, "loops");
    del_guest(g);

    /* a loop of zero-length descriptors (no buffer to count) */
    g = raw(8);
    set_desc(g, 0, buf, 0, VRING_DESC_F_NEXT, 0);
    guest_publish_head(g, 0);
    pop_breaks(g, false, "loops");
    del_guest(g);

    /* next out of range */
    g = raw(8);
    set_desc(g, 0, buf, 10, VRING_DESC_F_NEXT, 8);
    guest_publish_head(g, 0);
    pop_breaks(g, false, "next descriptor out of range");
    del_guest(g);

    /* 65 buffers */
    g = raw(128);
    for (uint16_t i = 0; i < 65; i++)
        set_desc(g, i, buf + i, 1, i < 64 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    guest_publish_head(g, 0);
    pop_breaks(g, false, "more than 64 buffers");
    del_guest(g);
    /* 64 are fine */
    g = raw(128);
    for (uint16_t i = 0; i < 64; i++)
        set_desc(g, i, buf + i, 1, i < 63 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
    guest_publish_head(g, 0);
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    assert_int_equal(c.niov, 64);
    del_guest(g);

    /* buffers outside, straddling the end, before the start, huge, wrapping */
    const struct {
        uint64_t addr;
        uint32_t len;
    } bad[] = {
        { GUEST_GPA + GUEST_SIZE, 1 },
        { GUEST_GPA + GUEST_SIZE - 4, 8 },
        { GUEST_GPA - 4, 8 },
        { 0, 16 },
        { GUEST_GPA, 0xffffffffu },
        { UINT64_MAX - 3, 100 },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        g = raw(8);
        set_desc(g, 0, buf, 10, VRING_DESC_F_NEXT, 1);
        set_desc(g, 1, bad[i].addr, bad[i].len, 0, 0);
        guest_publish_head(g, 0);
        pop_breaks(g, false, "outside guest memory");
        del_guest(g);
    }

    /* the wrong direction, both ways */
    g = raw(8);
    set_desc(g, 0, buf, 10, VRING_DESC_F_NEXT, 1);
    set_desc(g, 1, buf, 10, VRING_DESC_F_WRITE, 0);
    guest_publish_head(g, 0);
    pop_breaks(g, false, "device-writable buffer in a transmit chain");
    del_guest(g);
    g = raw(8);
    set_desc(g, 0, buf, 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(g, 1, buf, 10, 0, 0);
    guest_publish_head(g, 0);
    pop_breaks(g, true, "read-only buffer in a receive chain");
    del_guest(g);

    /* available ring: head out of range, index running ahead */
    g = raw(8);
    guest_publish_head(g, 8);
    pop_breaks(g, false, "descriptor out of range");
    del_guest(g);
    g = raw(8);
    g->avail->idx = 9;
    pop_breaks(g, false, "more than the ring size");
    del_guest(g);
}

static void test_hostile_indirect(void **state)
{
    (void)state;
    struct gbuf b[2] = { { "ab", 2, false }, { "cd", 2, false } };
    struct vring_desc *t;
    struct guest *g;

    /* indirect inside indirect */
    g = raw(8);
    guest_add_indirect(g, b, 2, &t);
    t[1].flags = VRING_DESC_F_INDIRECT;
    t[1].len = 16;
    t[1].addr = guest_gpa(g, t);
    pop_breaks(g, false, "indirect descriptor inside an indirect table");
    del_guest(g);

    /* lengths: zero, not a multiple of 16, too long, outside */
    const uint32_t lens[] = { 0, 17, 8, 16u * 32769u };
    for (unsigned i = 0; i < 4; i++) {
        g = raw(8);
        guest_add_indirect(g, b, 2, NULL);
        g->desc[0].len = lens[i];
        pop_breaks(g, false, "indirect table length");
        del_guest(g);
    }
    g = raw(8);
    guest_add_indirect(g, b, 2, NULL);
    g->desc[0].addr = GUEST_GPA + GUEST_SIZE - 16;
    pop_breaks(g, false, "indirect table outside guest memory");
    del_guest(g);

    /* indirect with next */
    g = raw(8);
    guest_add_indirect(g, b, 2, NULL);
    g->desc[0].flags |= VRING_DESC_F_NEXT;
    pop_breaks(g, false, "indirect descriptor with the next flag");
    del_guest(g);

    /* a loop and next out of range inside the table */
    g = raw(8);
    guest_add_indirect(g, b, 2, &t);
    t[1].flags = VRING_DESC_F_NEXT;
    t[1].next = 0;
    pop_breaks(g, false, "loops");
    del_guest(g);
    g = raw(8);
    guest_add_indirect(g, b, 2, &t);
    t[1].flags = VRING_DESC_F_NEXT;
    t[1].next = 2;
    pop_breaks(g, false, "next descriptor out of range");
    del_guest(g);

    /* a buffer of the table outside memory */
    g = raw(8);
    guest_add_indirect(g, b, 2, &t);
    t[0].addr = GUEST_GPA + GUEST_SIZE - 1;
    pop_breaks(g, false, "outside guest memory");
    del_guest(g);
}

static void test_ring_addresses(void **state)
{
    (void)state;
    struct guest *g = new_guest(16, true);
    char err[160];
    struct vn_vring saved = g->vq;
    /* each part alone moved outside, misaligned, straddling the end */
    struct {
        int part;
        uint64_t uva;
        const char *why;
    } cases[] = {
        { 0, GUEST_UVA + GUEST_SIZE, "descriptor table" },
        { 0, GUEST_UVA + 8, "aligned" },
        { 0, GUEST_UVA + GUEST_SIZE - 16 * 16 + 16, "not inside" },
        { 1, GUEST_UVA + 1, "aligned" },
        { 1, GUEST_UVA - 64, "available ring" },
        { 2, GUEST_UVA + 2, "aligned" },
        { 2, GUEST_UVA + GUEST_SIZE - 4 - 8 * 16, "used ring" }, /* the event field is outside */
        { 2, 0, "used ring" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        g->vq = saved;
        uint64_t *u = cases[i].part == 0 ? &g->vq.desc_uva
                      : cases[i].part == 1 ? &g->vq.avail_uva : &g->vq.used_uva;
        *u = cases[i].uva;
        err[0] = 0;
        assert_int_equal(vn_vring_start(&g->vq, &g->m, true, err, sizeof(err)), -1);
        assert_false(g->vq.started);
        if (!strstr(err, cases[i].why))
            fail_msg("case %u: \"%s\" does not say \"%s\"", i, err, cases[i].why);
    }
    /* the used ring ending exactly at the region's end fits without the event field */
    g->vq = saved;
    g->vq.used_uva = GUEST_UVA + GUEST_SIZE - 4 - 8 * 16;
    assert_int_equal(vn_vring_start(&g->vq, &g->m, false, err, sizeof(err)), 0);
    /* ring sizes */
    const unsigned nums[] = { 0, 3, 12 };
    for (unsigned i = 0; i < 3; i++) {
        g->vq = saved;
        g->vq.num = (uint16_t)nums[i];
        assert_int_equal(vn_vring_start(&g->vq, &g->m, true, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "power of two"));
    }
    g->vq = saved;
    struct vn_vring_chain c;
    vn_vring_stop(&g->vq);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 0);
    del_guest(g);
}

static void test_call_event_idx(void **state)
{
    (void)state;
    struct guest *g = new_guest(8, true);
    struct gbuf b = { "x", 1, false };
    struct vn_vring_chain c;
    assert_false(vn_vring_should_call(&g->vq)); /* nothing published */
    /* driver: interrupt me after the first used element (used_event 0) */
    *guest_used_event(g) = 0;
    for (int i = 0; i < 4; i++)
        guest_add(g, &b, 1);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    assert_int_equal(guest_avail_event(g), 1); /* kick me after avail 1 */
    assert_true(vn_vring_should_call(&g->vq)); /* first decision after start */
    assert_false(vn_vring_should_call(&g->vq)); /* nothing new */
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    assert_false(vn_vring_should_call(&g->vq)); /* used 1 -> 2 does not pass used_event 0 */
    *guest_used_event(g) = 2;                   /* interrupt me when used passes 2 */
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    assert_true(vn_vring_should_call(&g->vq)); /* 2 -> 4 stepped over 2 */
    assert_int_equal(g->vq.calls, 2);
    /* kicks: off leaves avail_event behind, on moves it to last_avail */
    vn_vring_notify_enable(&g->vq, false);
    guest_add(g, &b, 1);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    assert_int_equal(guest_avail_event(g), 4);
    vn_vring_notify_enable(&g->vq, true);
    assert_int_equal(guest_avail_event(g), 5);
    assert_false(vn_vring_has_avail(&g->vq));
    /* used_event far behind (wrapped): no call until it is stepped over */
    *guest_used_event(g) = 100;
    assert_false(vn_vring_should_call(&g->vq));
    del_guest(g);
}

static void test_call_flags(void **state)
{
    (void)state;
    struct guest *g = new_guest(8, false);
    struct gbuf b = { "x", 1, false };
    struct vn_vring_chain c;
    assert_int_equal(g->used->flags, 0);
    vn_vring_notify_enable(&g->vq, false);
    assert_int_equal(g->used->flags, VRING_USED_F_NO_NOTIFY);
    vn_vring_notify_enable(&g->vq, true);
    assert_int_equal(g->used->flags, 0);
    g->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
    guest_add(g, &b, 1);
    guest_add(g, &b, 1);
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    assert_false(vn_vring_should_call(&g->vq));
    g->avail->flags = 0;
    assert_false(vn_vring_should_call(&g->vq)); /* nothing new since */
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    vn_vring_push(&g->vq, c.head, 0);
    assert_false(vn_vring_should_call(&g->vq)); /* pushed, not published */
    vn_vring_publish(&g->vq);
    assert_true(vn_vring_should_call(&g->vq));
    del_guest(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_indirect),
        cmocka_unit_test(test_unpop_and_wrap),
        cmocka_unit_test(test_adjacent_regions),
        cmocka_unit_test(test_hostile_chains),
        cmocka_unit_test(test_hostile_indirect),
        cmocka_unit_test(test_ring_addresses),
        cmocka_unit_test(test_call_event_idx),
        cmocka_unit_test(test_call_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
