/* Unit tests of QEMU stream framing (src/port/stream_framing.c): a 4-byte
 * big-endian length before each frame. Covers frames split across reads at
 * every byte, several frames per read, the batch limit, and the lengths that
 * must close the stream (zero, below 14, above 65535 + 14). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pkt/eth.h"
#include "port/stream_framing.h"

#include <stdlib.h>
#include <string.h>

/* Append a frame of len bytes (filled with seed+i) to buf; returns bytes written. */
static size_t put_frame(uint8_t *buf, uint32_t len, uint8_t seed)
{
    vn_put_be32(buf, len);
    for (uint32_t i = 0; i < len; i++)
        buf[4 + i] = (uint8_t)(seed + i);
    return 4 + len;
}

static void check_frame(const struct vn_frame *f, uint32_t len, uint8_t seed)
{
    assert_int_equal(f->len, len);
    for (uint32_t i = 0; i < len; i++)
        assert_int_equal(f->data[i], (uint8_t)(seed + i));
    assert_int_equal(f->net, 0);
    assert_int_equal(f->off.gso_type, 0);
    assert_int_equal(f->off.flags, 0);
}

static void test_single(void **state)
{
    (void)state;
    uint8_t buf[200];
    size_t n = put_frame(buf, 60, 1);
    struct vn_frame fr[4];
    size_t used = 99;
    const char *why = "x";
    assert_int_equal(vn_stream_extract(buf, n, fr, 4, &used, &why), 1);
    assert_null(why);
    assert_int_equal(used, n);
    assert_ptr_equal(fr[0].data, buf + 4);
    check_frame(&fr[0], 60, 1);
    /* Nothing at all */
    assert_int_equal(vn_stream_extract(buf, 0, fr, 4, &used, &why), 0);
    assert_int_equal(used, 0);
    assert_null(why);
}

static void test_several_and_limit(void **state)
{
    (void)state;
    uint8_t buf[2000];
    size_t n = 0;
    uint32_t lens[5] = { 14, 60, 1514, 100, 18 };
    for (int i = 0; i < 5; i++)
        n += put_frame(buf + n, lens[i], (uint8_t)(i * 16));
    struct vn_frame fr[8];
    size_t used;
    const char *why;
    assert_int_equal(vn_stream_extract(buf, n, fr, 8, &used, &why), 5);
    assert_int_equal(used, n);
    for (int i = 0; i < 5; i++)
        check_frame(&fr[i], lens[i], (uint8_t)(i * 16));
    /* At most max frames per call; the rest stays for the next call. */
    assert_int_equal(vn_stream_extract(buf, n, fr, 2, &used, &why), 2);
    assert_int_equal(used, 4 + 14 + 4 + 60);
    assert_int_equal(vn_stream_extract(buf + used, n - used, fr, 8, &used, &why), 3);
    check_frame(&fr[0], 1514, 32);
    assert_int_equal(vn_stream_extract(buf, n, fr, 0, &used, &why), 0);
    assert_int_equal(used, 0);
}

/* Feed a stream of frames in chunks of every size from 1 byte up, the way a
 * stream port does (keep the unconsumed tail, append the next read). */
static void test_split_reads(void **state)
{
    (void)state;
    uint8_t stream[1200];
    size_t total = 0;
    uint32_t lens[6] = { 60, 14, 300, 64, 15, 500 };
    for (int i = 0; i < 6; i++)
        total += put_frame(stream + total, lens[i], (uint8_t)(i * 3));
    for (size_t chunk = 1; chunk <= total; chunk++) {
        uint8_t acc[1200];
        size_t have = 0, fed = 0;
        int got = 0;
        while (fed < total || have) {
            size_t take = total - fed < chunk ? total - fed : chunk;
            memcpy(acc + have, stream + fed, take);
            have += take;
            fed += take;
            struct vn_frame fr[2];
            size_t used;
            const char *why;
            int n = vn_stream_extract(acc, have, fr, 2, &used, &why);
            assert_true(n >= 0);
            for (int i = 0; i < n; i++)
                check_frame(&fr[i], lens[got + i], (uint8_t)((got + i) * 3));
            got += n;
            memmove(acc, acc + used, have - used);
            have -= used;
            if (!take && !n)
                break;
        }
        assert_int_equal(got, 6);
        assert_int_equal(have, 0);
    }
}

/* A partial frame (or a partial length field) is not consumed. */
static void test_partial(void **state)
{
    (void)state;
    uint8_t buf[100];
    size_t n = put_frame(buf, 60, 0);
    struct vn_frame fr[2];
    size_t used;
    const char *why;
    for (size_t l = 0; l < n; l++) {
        uint8_t *d = malloc(l ? l : 1);
        memcpy(d, buf, l);
        assert_int_equal(vn_stream_extract(d, l, fr, 2, &used, &why), 0);
        assert_int_equal(used, 0);
        assert_null(why);
        free(d);
    }
}

static int extract_len(uint32_t flen, const char **why)
{
    uint8_t buf[8] = { 0 };
    vn_put_be32(buf, flen);
    struct vn_frame fr[1];
    size_t used;
    return vn_stream_extract(buf, sizeof buf, fr, 1, &used, why);
}

static void test_bad_lengths(void **state)
{
    (void)state;
    const char *why;
    assert_int_equal(extract_len(0, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, "zero"));
    for (uint32_t l = 1; l < 14; l++) {
        assert_int_equal(extract_len(l, &why), -1);
        assert_non_null(strstr(why, "below"));
    }
    assert_int_equal(extract_len(VN_STREAM_MAX_FRAME + 1, &why), -1);
    assert_non_null(strstr(why, "above"));
    assert_int_equal(extract_len(0xffffffffu, &why), -1);
    assert_int_equal(extract_len(0x80000000u, &why), -1);
    /* The largest legal length is only waited for (not enough bytes yet). */
    assert_int_equal(extract_len(VN_STREAM_MAX_FRAME, &why), 0);
    assert_null(why);
    assert_int_equal(extract_len(14, &why), 0);
    /* A bad length after good frames: the stream is closed (-1), even though
     * complete frames came before it. */
    uint8_t buf[200];
    size_t n = put_frame(buf, 60, 0);
    vn_put_be32(buf + n, 3);
    struct vn_frame fr[4];
    size_t used;
    assert_int_equal(vn_stream_extract(buf, n + 4, fr, 4, &used, &why), -1);
    assert_non_null(why);
}

static void test_max_frame(void **state)
{
    (void)state;
    size_t len = 4 + VN_STREAM_MAX_FRAME;
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    put_frame(buf, VN_STREAM_MAX_FRAME, 9);
    struct vn_frame fr[1];
    size_t used;
    const char *why;
    assert_int_equal(vn_stream_extract(buf, len, fr, 1, &used, &why), 1);
    assert_int_equal(used, len);
    assert_int_equal(fr[0].len, VN_STREAM_MAX_FRAME);
    assert_int_equal(vn_stream_extract(buf, len - 1, fr, 1, &used, &why), 0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single),     cmocka_unit_test(test_several_and_limit),
        cmocka_unit_test(test_split_reads), cmocka_unit_test(test_partial),
        cmocka_unit_test(test_bad_lengths), cmocka_unit_test(test_max_frame),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
