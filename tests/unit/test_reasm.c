/* Unit tests of IPv4 and IPv6 reassembly (src/gw/reasm.c): in-order and
 * out-of-order fragments, duplicates, interleaved datagrams, invalid
 * fragments (odd sizes, beyond 64 KiB), timeouts; fairness between guests
 * (a flooding guest keeps to its share, a full table gives a new datagram
 * the oldest slot of the guest holding the most, fragments of another port
 * never join a guest's datagram); IPv6: the unfragmentable part of the first fragment,
 * overlaps and inconsistent ends dropping the datagram, and a datagram
 * whose first fragment's headers would take it past 65535 bytes. */
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
    /* One guest starts a datagram more than its share: its oldest makes
     * room, the others complete. */
    uint64_t now = 100000;
    for (uint16_t id = 100; id < 100 + VN_REASM_SHARE + 1; id++) {
        frag(&ip, id, 0x0a00020f, 0, 80, true);
        assert_int_equal(vn_reasm_add(r, &ip, now++, &w), 0);
    }
    assert_int_equal(r->recycled_share, 1);
    assert_int_equal(r->evicted, 0);
    assert_int_equal(vn_reasm_in_use(r, now), VN_REASM_SHARE);
    assert_int_equal(vn_reasm_in_use(r, now + VN_REASM_TIMEOUT_MS + 1), 0);
    frag(&ip, 100, 0x0a00020f, 80, 8, false); /* the recycled one */
    assert_int_equal(vn_reasm_add(r, &ip, now, &w), 0);
    frag(&ip, 100 + VN_REASM_SHARE, 0x0a00020f, 80, 8, false);
    assert_int_equal(vn_reasm_add(r, &ip, now, &w), 1);
    check_whole(&w, 100 + VN_REASM_SHARE, 88);
}

/* ---- fairness between guests (switch ports) ---- */

/* Slots of the table held by owner (not expired at now). */
static unsigned held(const struct vn_reasm *r, uint16_t owner)
{
    unsigned n = 0;
    for (int i = 0; i < VN_REASM_SLOTS; i++)
        n += r->slot[i].used && r->slot[i].owner == owner;
    return n;
}

/* Owner starts datagram id from src: a first fragment of 80 bytes. */
static void start(struct vn_reasm *r, uint16_t owner, uint16_t id, uint32_t src, uint64_t now)
{
    struct vn_ip4 ip, w;
    frag(&ip, id, src, 0, 80, true);
    assert_int_equal(vn_reasm_add_from(r, owner, &ip, now, &w), 0);
}

/* Owner sends the last fragment of datagram id: 1 when it completes. */
static int finish(struct vn_reasm *r, uint16_t owner, uint16_t id, uint32_t src, uint64_t now)
{
    struct vn_ip4 ip, w;
    frag(&ip, id, src, 80, 8, false);
    int rc = vn_reasm_add_from(r, owner, &ip, now, &w);
    if (rc == 1)
        check_whole(&w, id, 88);
    return rc;
}

/* A guest flooding never-completed datagrams (from ever new source
 * addresses: the share is per port) keeps to its share, recycling its own
 * oldest; a fair guest's half-reassembled datagram is never touched, and
 * the table is bounded. */
static void test_flooder_keeps_to_its_share(void **state)
{
    struct vn_reasm *r = *state;
    uint64_t now = 1000;
    start(r, 2, 7, 0x0a000220, now);
    for (unsigned i = 0; i < 5000; i++) {
        start(r, 1, (uint16_t)i, 0x0a000000 + i, now);
        assert_true(held(r, 1) <= VN_REASM_SHARE);
        assert_true(vn_reasm_in_use(r, now) <= VN_REASM_SHARE + 1);
        now += i % 4 == 0;
    }
    assert_int_equal(held(r, 1), VN_REASM_SHARE);
    assert_int_equal(r->recycled_share, 5000 - VN_REASM_SHARE);
    assert_int_equal(r->evicted, 0);
    assert_int_equal(finish(r, 2, 7, 0x0a000220, now), 1);
    /* The flooder's newest datagrams are there and complete. */
    assert_int_equal(finish(r, 1, 4999, 0x0a000000 + 4999, now), 1);
    assert_int_equal(finish(r, 1, 4995, 0x0a000000 + 4995, now), 0); /* recycled */
}

/* Every slot busy: four flooders at their share. A fair guest still gets a
 * slot (the oldest of a guest holding the most), and while the flooders go
 * on, its datagram is never the one evicted: it holds fewer than they do. */
static void test_full_table_evicts_the_biggest(void **state)
{
    struct vn_reasm *r = *state;
    uint64_t now = 1000;
    uint16_t id = 0;
    for (uint16_t o = 1; o <= 4; o++)
        for (int k = 0; k < VN_REASM_SHARE; k++)
            start(r, o, id++, 0x0a000100 + o, now++);
    assert_int_equal(vn_reasm_in_use(r, now), VN_REASM_SLOTS);
    assert_int_equal(r->evicted, 0);
    start(r, 9, 77, 0x0a000109, now++);
    assert_int_equal(r->evicted, 1);
    assert_int_equal(held(r, 9), 1);
    assert_int_equal(held(r, 1), VN_REASM_SHARE - 1); /* the oldest slot was owner 1's */
    for (unsigned i = 0; i < 4000; i++) {
        uint16_t o = (uint16_t)(1 + i % 4);
        start(r, o, id++, 0x0a000100 + o, now);
        now += i % 8 == 0;
        assert_int_equal(vn_reasm_in_use(r, now), VN_REASM_SLOTS);
        assert_int_equal(held(r, 9), 1);
        for (uint16_t k = 1; k <= 4; k++)
            assert_true(held(r, k) <= VN_REASM_SHARE);
    }
    assert_true(r->evicted > 1 && r->recycled_share > 1);
    assert_int_equal(r->evicted + r->recycled_share, 4000 + 1);
    assert_int_equal(finish(r, 9, 77, 0x0a000109, now), 1);
}

/* When nobody holds more than the newcomer, it recycles its own oldest
 * rather than take a slot from a guest holding as few as it does. */
static void test_full_table_even(void **state)
{
    struct vn_reasm *r = *state;
    uint64_t now = 1000;
    uint16_t id = 0;
    for (uint16_t o = 1; o <= 5; o++)
        for (int k = 0; k < 3; k++)
            start(r, o, id++, 0x0a000100 + o, now++);
    start(r, 6, 66, 0x0a000106, now++); /* the 16th slot */
    assert_int_equal(vn_reasm_in_use(r, now), VN_REASM_SLOTS);
    start(r, 3, 300, 0x0a000103, now++); /* holds 3 like the most: its own oldest goes */
    assert_int_equal(r->evicted, 1);
    assert_int_equal(held(r, 3), 3);
    assert_int_equal(finish(r, 3, 7, 0x0a000103, now), 1);
    assert_int_equal(finish(r, 3, 6, 0x0a000103, now), 0); /* its first, recycled */
    assert_int_equal(held(r, 6), 1);
    start(r, 7, 70, 0x0a000107, now++); /* holds none: the oldest of the biggest (owner 1's) */
    assert_int_equal(r->evicted, 2);
    assert_int_equal(held(r, 1), 2);
    assert_int_equal(finish(r, 1, 0, 0x0a000101, now), 0);
    assert_int_equal(finish(r, 6, 66, 0x0a000106, now), 1);
    assert_int_equal(finish(r, 7, 70, 0x0a000107, now), 1);
}

/* Fragments from another port never join a guest's datagram: the same
 * addresses and identification from owner 2 are a datagram of their own,
 * and an IPv6 overlap sent by owner 2 does not drop owner 1's. */
static void test_owner_in_key(void **state)
{
    struct vn_reasm *r = *state;
    start(r, 1, 5, 0x0a00020f, 0);
    assert_int_equal(finish(r, 2, 5, 0x0a00020f, 0), 0);
    assert_int_equal(finish(r, 1, 5, 0x0a00020f, 0), 1);
}

/* A datagram whose first fragment has a 60-byte header and the others 20
 * bytes: the payload they may carry (65515) does not fit after 60 bytes. */
static void test_header_longer_in_first(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip4 ip, w;
    frag(&ip, 7, 0x0a00020f, 0, 8, true);
    pkt[0] = 0x4f; /* the same fragment with 40 bytes of options */
    memmove(pkt + 60, pkt + 20, 8);
    memset(pkt + 20, 1, 40); /* NOP options */
    vn_put_be16(pkt + 2, 68);
    vn_put_be16(pkt + 10, 0);
    vn_put_be16(pkt + 10, vn_csum_ipv4_hdr(pkt, 60));
    assert_int_equal(vn_ip4_parse_hdr(pkt, 68, true, &ip), VN_IP_OK);
    assert_int_equal(vn_reasm_add(r, &ip, 0, &w), 0);
    int rc = 0;
    for (uint32_t off = 8; off < 65515; off += 8000) {
        uint32_t len = 65515 - off > 8000 ? 8000 : 65515 - off;
        frag(&ip, 7, 0x0a00020f, off, len, off + len < 65515);
        rc = vn_reasm_add(r, &ip, 0, &w);
    }
    assert_int_equal(rc, -1);
}

/* ---- IPv6 ---- */

static uint8_t pkt6[70000];

/* Build IPv6 fragment [off, off+len) of datagram id (payload byte i =
 * i*5+id, upper layer UDP) with hbh bytes of hop-by-hop options before the
 * fragment header (0 for none), and parse it into *ip. */
static void frag6(struct vn_ip6 *ip, uint32_t id, uint32_t off, uint32_t len, bool mf,
                  size_t hbh)
{
    memset(pkt6, 0, 40 + hbh + 8);
    pkt6[0] = 0x60;
    vn_put_be16(pkt6 + 4, (uint16_t)(hbh + 8 + len));
    pkt6[6] = hbh ? VN_IPPROTO_HOPOPTS : VN_IPPROTO_FRAGMENT;
    pkt6[7] = 64;
    pkt6[8] = 0xfd, pkt6[23] = 0x15;  /* fd00::15 */
    pkt6[24] = 0xfd, pkt6[39] = 0x02; /* fd00::2 */
    uint8_t *fh = pkt6 + 40 + hbh;
    if (hbh) {
        pkt6[40] = VN_IPPROTO_FRAGMENT;
        pkt6[41] = (uint8_t)(hbh / 8 - 1);
        pkt6[42] = 1; /* PadN over the rest */
        pkt6[43] = (uint8_t)(hbh - 4);
    }
    fh[0] = VN_IPPROTO_UDP;
    vn_put_be16(fh + 2, (uint16_t)(off | (mf ? 1 : 0)));
    vn_put_be32(fh + 4, id);
    for (uint32_t i = 0; i < len; i++)
        fh[8 + i] = (uint8_t)((off + i) * 5 + id);
    assert_int_equal(vn_ip6_parse(pkt6, 40 + hbh + 8 + len, ip), VN_IP_OK);
    assert_true(ip->frag);
}

static void check_whole6(const struct vn_ip6 *w, uint32_t id, size_t hbh, uint32_t total)
{
    assert_int_equal(w->tot_len, 40 + hbh + total);
    assert_false(w->frag);
    assert_int_equal(w->proto, VN_IPPROTO_UDP);
    assert_int_equal(w->hbh, hbh != 0);
    assert_int_equal(w->l4_len, total);
    for (uint32_t i = 0; i < total; i++)
        if (w->l4[i] != (uint8_t)(i * 5 + id))
            fail_msg("byte %u differs", i);
}

static void test_ipv6(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip6 ip, w;
    /* out of order, the first fragment's hop-by-hop header kept */
    frag6(&ip, 1, 2400, 100, false, 16);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 1, 0, 1200, true, 16);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 1, 1200, 1200, true, 16);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 1);
    check_whole6(&w, 1, 16, 2500);
    assert_int_equal(r->completed, 1);
}

static void test_ipv6_dropped(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip6 ip, w;
    uint64_t overlaps = r->overlaps;
    /* an overlap drops the whole datagram (RFC 5722): the rest cannot complete it */
    frag6(&ip, 2, 0, 800, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 2, 792, 8, false, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), -1);
    frag6(&ip, 2, 800, 8, false, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    /* a duplicate is an overlap too */
    frag6(&ip, 3, 0, 800, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), -1);
    assert_int_equal(r->overlaps, overlaps + 2);
    /* a fragment past the end the last one fixed */
    frag6(&ip, 4, 800, 8, false, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 4, 808, 8, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), -1);
    /* a last fragment ending before data already received (it was
     * reassembled short, the data past its end silently lost) */
    frag6(&ip, 5, 1600, 800, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 5, 0, 800, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    frag6(&ip, 5, 800, 100, false, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), -1);
    frag6(&ip, 5, 800, 800, true, 0);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0); /* a new datagram: never completes */
    assert_int_equal(r->overlaps, overlaps + 2); /* inconsistent ends are not overlaps */
}

/* The first fragment carries 216 bytes of hop-by-hop options, the others
 * none: together they carry 65487 bytes, which do not fit in one packet
 * after 256 bytes of headers; the largest datagram that fits completes. */
static void test_ipv6_too_long(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip6 ip, w;
    frag6(&ip, 6, 0, 8, true, 216);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    uint32_t end = 65535 - 48, off = 8;
    int rc = 0;
    while (off < end) {
        uint32_t len = end - off > 8000 ? 8000 : end - off;
        frag6(&ip, 6, off, len, off + len < end, 0);
        rc = vn_reasm_add6(r, &ip, 0, &w);
        off += len;
    }
    assert_int_equal(rc, -1);
    /* the largest that fits does complete */
    frag6(&ip, 7, 0, 8, true, 216);
    assert_int_equal(vn_reasm_add6(r, &ip, 0, &w), 0);
    end = 65535 - 256;
    for (off = 8; off < end;) {
        uint32_t len = end - off > 8000 ? 8000 : end - off;
        frag6(&ip, 7, off, len, off + len < end, 0);
        rc = vn_reasm_add6(r, &ip, 0, &w);
        off += len;
    }
    assert_int_equal(rc, 1);
    check_whole6(&w, 7, 216, end);
}

/* IPv6: an overlapping fragment from another port is its own datagram. */
static void test_ipv6_owner_in_key(void **state)
{
    struct vn_reasm *r = *state;
    struct vn_ip6 ip, w;
    frag6(&ip, 8, 0, 800, true, 0);
    assert_int_equal(vn_reasm_add6_from(r, 1, &ip, 0, &w), 0);
    assert_int_equal(vn_reasm_add6_from(r, 2, &ip, 0, &w), 0); /* not an overlap of owner 1's */
    assert_int_equal(r->overlaps, 0);
    frag6(&ip, 8, 800, 8, false, 0);
    assert_int_equal(vn_reasm_add6_from(r, 1, &ip, 0, &w), 1);
    check_whole6(&w, 8, 0, 808);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reverse_and_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_timeout_and_eviction, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flooder_keeps_to_its_share, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_evicts_the_biggest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_table_even, setup, teardown),
        cmocka_unit_test_setup_teardown(test_owner_in_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_longer_in_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_too_long, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ipv6_owner_in_key, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
