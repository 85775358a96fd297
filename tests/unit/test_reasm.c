/* Unit tests of IPv4 reassembly (src/gw/reasm.c): in-order and out-of-order
 * fragments, duplicates, interleaved datagrams, invalid fragments (odd
 * sizes, beyond 64 KiB), timeouts, and eviction when all slots are busy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/reasm.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <stdlib.h>
#include <string.h>

static uint8_t pkt[70000];

/* Build fragment [off, off+len) of a datagram (payload byte i = i*7+id) and
 * parse it into *ip (pointing into the static buffer). */
static void frag(struct vn_ip4 *ip, uint16_t id, uint32_t src, uint32_t off, uint32_t len, bool mf)
{
    memset(pkt, 0, 20);
    pkt[0] = 0x45;
    vn_put_be16(pkt + 2, (uint16_t)(20 + len));
    vn_put_be16(pkt + 4, id);
    vn_put_be16(pkt + 6, (uint16_t)((mf ? 0x2000 : 0) | (off / 8)));
    pkt[8] = 64;
    pkt[9] = 17;
    vn_put_be32(pkt + 12, src);
    vn_put_be32(pkt + 16, 0x0a000202);
    vn_put_be16(pkt + 10, vn_csum_ipv4_hdr(pkt, 20));
    for (uint32_t i = 0; i < len; i++)
        pkt[20 + i] = (uint8_t)((off + i) * 7 + id);
    assert_int_equal(vn_ip4_parse_hdr(pkt, 20 + len, true, ip), VN_IP_OK);
}

static void check_whole(const struct vn_ip4 *w, uint16_t id, uint32_t total)
{
    assert_int_equal(w->tot_len, 20 + total);
    assert_int_equal(w->l4_len, total);
    assert_false(w->mf);
    assert_int_equal(w->frag_off, 0);
    assert_int_equal(w->id, id);
    for (uint32_t i = 0; i < total; i++)
        if (w->l4[i] != (uint8_t)(i * 7 + id))
            fail_msg("byte %u differs", i);
    /* A valid header checksum on the rebuilt packet. */
    assert_int_equal(vn_csum_fold(vn_csum_add(0, w->hdr, 20)), 0);
}

static int setup(void **state)
{
    struct vn_reasm *r = malloc(sizeof *r);
    if (!r || vn_reasm_init(r))
        return -1;
    *state = r;
    return 0;
}

static int teardown(void **state)
{
    vn_reasm_free(*state);
    free(*state);
    return 0;
}

static void test_in_order(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    frag(&ip, 1, 0x0a00020f, 0, 1480, true);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    frag(&ip, 1, 0x0a00020f, 1480, 1480, true);
    assert_int_equal(vn_reasm_add(r, &ip, 1, &w), 0);
    frag(&ip, 1, 0x0a00020f, 2960, 40, false);
    assert_int_equal(vn_reasm_add(r, &ip, 2, &w), 1);
    check_whole(&w, 1, 3000);
    assert_int_equal(r->completed, 1);
}

static void test_reverse_and_duplicates(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    frag(&ip, 2, 0x0a00020f, 2000, 5, false);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    frag(&ip, 2, 0x0a00020f, 1000, 1000, true);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0); /* duplicate */
    frag(&ip, 2, 0x0a00020f, 0, 1000, true);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 1);
    check_whole(&w, 2, 2005);
}

static void test_interleaved(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    /* Same id, different sources: two datagrams. */
    frag(&ip, 3, 0x0a00020f, 0, 800, true);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    frag(&ip, 3, 0x0a000210, 0, 800, true);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    frag(&ip, 3, 0x0a000210, 800, 100, false);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 1);
    check_whole(&w, 3, 900);
    assert_int_equal(w.src, 0x0a000210);
    frag(&ip, 3, 0x0a00020f, 800, 8, false);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 1);
    check_whole(&w, 3, 808);
    assert_int_equal(w.src, 0x0a00020f);
}

static void test_invalid(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    uint64_t bad = r->bad;
    frag(&ip, 4, 0x0a00020f, 0, 1001, true); /* MF with a size not a multiple of 8 */
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), -1);
    frag(&ip, 4, 0x0a00020f, 0, 0, true); /* empty non-last fragment */
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), -1);
    frag(&ip, 4, 0x0a00020f, 65528, 100, false); /* beyond 65535 */
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), -1);
    assert_int_equal(r->bad, bad + 3);
    /* The largest legal datagram: 65515 bytes of payload. */
    uint32_t off = 0;
    int rc = 0;
    while (off < 65515) {
        uint32_t len = 65515 - off > 8000 ? 8000 : 65515 - off;
        frag(&ip, 5, 0x0a00020f, off, len, off + len < 65515);
        rc = vn_reasm_add(r, &ip, 0, &w);
        off += len;
    }
    assert_int_equal(rc, 1);
    check_whole(&w, 5, 65515);
}

static void test_timeout_and_eviction(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    frag(&ip, 6, 0x0a00020f, 0, 800, true);
    assert_int_equal(vn_reasm_add(r, &ip, 1000, &w), 0);
    /* The rest arrives after the timeout: the first part is gone. */
    frag(&ip, 6, 0x0a00020f, 800, 8, false);
    assert_int_equal(vn_reasm_add(r, &ip, 1000 + VN_REASM_TIMEOUT_MS + 1, &w), 0);
    assert_true(r->timeouts >= 1);
    /* Fill every slot, then one more: the oldest is evicted, others complete. */
    uint64_t now = 100000;
    for (uint16_t id = 100; id < 100 + VN_REASM_SLOTS + 1; id++) {
        frag(&ip, id, 0x0a00020f, 0, 80, true);
        assert_int_equal(vn_reasm_add(r, &ip, now++, &w), 0);
    }
    assert_true(r->evicted >= 1);
    frag(&ip, 100, 0x0a00020f, 80, 8, false); /* the evicted one */
    assert_int_equal(vn_reasm_add(r, &ip, now, &w), 0);
    frag(&ip, 100 + VN_REASM_SLOTS, 0x0a00020f, 80, 8, false);
    assert_int_equal(vn_reasm_add(r, &ip, now, &w), 1);
    check_whole(&w, 100 + VN_REASM_SLOTS, 88);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reverse_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_eviction, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
