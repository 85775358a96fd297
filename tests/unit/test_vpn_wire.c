/* Unit tests of WireGuard's message layout (src/vpn/wire.c): every length,
 * reserved-byte and type rule of the parser, views at the right offsets,
 * builders round-tripping through the parser, little-endian fields, the
 * offsets mac1 and mac2 are computed over, and the padding rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpn/wire.h"

#include <string.h>

static uint8_t buf[2048];

/* Fill n bytes with a pattern distinct per field (seed). */
static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 3);
}

static void test_lengths_and_types(void **state)
{
    (void)state;
    struct vn_wg_msg m;
    memset(buf, 0, sizeof buf);
    assert_int_equal(vn_wg_parse(buf, 0, &m), VN_WG_DROP_SHORT);
    buf[0] = 1;
    assert_int_equal(vn_wg_parse(buf, 3, &m), VN_WG_DROP_SHORT);
    /* Unknown types, with any length. */
    static const uint8_t bad_types[] = { 0, 5, 0x80, 0xff };
    for (size_t i = 0; i < sizeof bad_types; i++) {
        buf[0] = bad_types[i];
        assert_int_equal(vn_wg_parse(buf, 4, &m), VN_WG_DROP_TYPE);
        assert_int_equal(vn_wg_parse(buf, 148, &m), VN_WG_DROP_TYPE);
    }
    /* Each fixed-length type: only its own length. */
    static const size_t fixed[3] = { VN_WG_INIT_LEN, VN_WG_RESP_LEN, VN_WG_COOKIE_LEN };
    for (int t = 1; t <= 3; t++) {
        buf[0] = (uint8_t)t;
        for (size_t n = 4; n < 300; n++) {
            int r = vn_wg_parse(buf, n, &m);
            if (n == fixed[t - 1]) {
                assert_int_equal(r, t);
                assert_int_equal(m.type, t);
                assert_int_equal(m.len, n);
            } else {
                assert_int_equal(r, VN_WG_DROP_LENGTH);
            }
        }
    }
    /* Transport data: at least header + tag, any length above. */
    buf[0] = 4;
    for (size_t n = 4; n < VN_WG_DATA_MIN; n++)
        assert_int_equal(vn_wg_parse(buf, n, &m), VN_WG_DROP_DATA_SHORT);
    for (size_t n = VN_WG_DATA_MIN; n < sizeof buf; n += 7) {
        assert_int_equal(vn_wg_parse(buf, n, &m), VN_WG_DATA);
        assert_int_equal(m.data.packet_len, n - VN_WG_DATA_HLEN);
        assert_ptr_equal(m.data.packet, buf + 16);
    }
    /* Reserved bytes: any nonzero one, for every type, before the length. */
    for (int t = 1; t <= 4; t++)
        for (int r = 1; r <= 3; r++) {
            memset(buf, 0, sizeof buf);
            buf[0] = (uint8_t)t;
            buf[r] = 0x01;
            assert_int_equal(vn_wg_parse(buf, t == 4 ? 100 : fixed[t - 1], &m),
                             VN_WG_DROP_RESERVED);
            buf[r] = 0x80;
            assert_int_equal(vn_wg_parse(buf, 4, &m), VN_WG_DROP_RESERVED);
        }
    /* *out untouched on a drop. */
    memset(&m, 0x5a, sizeof m);
    buf[0] = 9;
    assert_true(vn_wg_parse(buf, 148, &m) < 0);
    assert_int_equal(m.type, 0x5a5a5a5a);
}

static void test_drop_names(void **state)
{
    (void)state;
    assert_string_equal(vn_wg_drop_name(VN_WG_DROP_SHORT), "short");
    assert_string_equal(vn_wg_drop_name(VN_WG_DROP_DATA_SHORT), "data_short");
    for (int r = -1; r > -VN_WG_DROP_N; r--)
        assert_string_not_equal(vn_wg_drop_name(r), "?");
    assert_string_equal(vn_wg_drop_name(0), "?");
    assert_string_equal(vn_wg_drop_name(1), "?");
    assert_string_equal(vn_wg_drop_name(-VN_WG_DROP_N), "?");
}

static void test_init_round_trip(void **state)
{
    (void)state;
    uint8_t eph[32], st[48], ts[28], m1[16], m2[16], out[VN_WG_INIT_LEN];
    pattern(eph, sizeof eph, 1);
    pattern(st, sizeof st, 2);
    pattern(ts, sizeof ts, 3);
    pattern(m1, sizeof m1, 4);
    pattern(m2, sizeof m2, 5);
    struct vn_wg_init in = { .sender = 0x11223344, .ephemeral = eph, .enc_static = st,
                             .enc_time = ts, .mac1 = m1, .mac2 = m2 };
    assert_int_equal(vn_wg_build_init(buf, VN_WG_INIT_LEN - 1, &in), 0);
    memset(buf, 0xee, sizeof buf);
    assert_int_equal(vn_wg_build_init(buf, sizeof buf, &in), VN_WG_INIT_LEN);
    assert_int_equal(buf[VN_WG_INIT_LEN], 0xee); /* nothing written past it */
    static const uint8_t hdr[8] = { 1, 0, 0, 0, 0x44, 0x33, 0x22, 0x11 };
    assert_memory_equal(buf, hdr, 8);
    assert_memory_equal(buf + 8, eph, 32);
    assert_memory_equal(buf + 40, st, 48);
    assert_memory_equal(buf + 88, ts, 28);
    assert_memory_equal(buf + 116, m1, 16);
    assert_memory_equal(buf + 132, m2, 16);

    struct vn_wg_msg m;
    assert_int_equal(vn_wg_parse(buf, VN_WG_INIT_LEN, &m), VN_WG_INITIATION);
    assert_int_equal(m.init.sender, 0x11223344);
    assert_ptr_equal(m.init.ephemeral, buf + 8);
    assert_ptr_equal(m.init.enc_static, buf + 40);
    assert_ptr_equal(m.init.enc_time, buf + 88);
    assert_ptr_equal(m.init.mac1, buf + 116);
    assert_ptr_equal(m.init.mac2, buf + 132);
    /* The parsed views build the same bytes again. */
    assert_int_equal(vn_wg_build_init(out, sizeof out, &m.init), VN_WG_INIT_LEN);
    assert_memory_equal(out, buf, VN_WG_INIT_LEN);

    /* NULL fields are zeros. */
    struct vn_wg_init z = { .sender = 7 };
    memset(out, 0xff, sizeof out);
    assert_int_equal(vn_wg_build_init(out, sizeof out, &z), VN_WG_INIT_LEN);
    for (size_t i = 8; i < VN_WG_INIT_LEN; i++)
        assert_int_equal(out[i], 0);
}

static void test_resp_round_trip(void **state)
{
    (void)state;
    uint8_t eph[32], empty[16], m1[16], m2[16], out[VN_WG_RESP_LEN];
    pattern(eph, sizeof eph, 10);
    pattern(empty, sizeof empty, 11);
    pattern(m1, sizeof m1, 12);
    pattern(m2, sizeof m2, 13);
    struct vn_wg_resp in = { .sender = 0xdeadbeef, .receiver = 0x01020304, .ephemeral = eph,
                             .enc_empty = empty, .mac1 = m1, .mac2 = m2 };
    assert_int_equal(vn_wg_build_resp(buf, VN_WG_RESP_LEN - 1, &in), 0);
    assert_int_equal(vn_wg_build_resp(buf, sizeof buf, &in), VN_WG_RESP_LEN);
    static const uint8_t hdr[12] = { 2, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde, 4, 3, 2, 1 };
    assert_memory_equal(buf, hdr, 12);
    assert_memory_equal(buf + 12, eph, 32);
    assert_memory_equal(buf + 44, empty, 16);
    assert_memory_equal(buf + 60, m1, 16);
    assert_memory_equal(buf + 76, m2, 16);
    struct vn_wg_msg m;
    assert_int_equal(vn_wg_parse(buf, VN_WG_RESP_LEN, &m), VN_WG_RESPONSE);
    assert_int_equal(m.resp.sender, 0xdeadbeef);
    assert_int_equal(m.resp.receiver, 0x01020304);
    assert_ptr_equal(m.resp.ephemeral, buf + 12);
    assert_ptr_equal(m.resp.enc_empty, buf + 44);
    assert_ptr_equal(m.resp.mac1, buf + 60);
    assert_ptr_equal(m.resp.mac2, buf + 76);
    assert_int_equal(vn_wg_build_resp(out, sizeof out, &m.resp), VN_WG_RESP_LEN);
    assert_memory_equal(out, buf, VN_WG_RESP_LEN);
}

static void test_cookie_round_trip(void **state)
{
    (void)state;
    uint8_t nonce[24], cookie[32], out[VN_WG_COOKIE_LEN];
    pattern(nonce, sizeof nonce, 20);
    pattern(cookie, sizeof cookie, 21);
    struct vn_wg_cookie in = { .receiver = 0x80000001, .nonce = nonce, .enc_cookie = cookie };
    assert_int_equal(vn_wg_build_cookie(buf, VN_WG_COOKIE_LEN - 1, &in), 0);
    assert_int_equal(vn_wg_build_cookie(buf, sizeof buf, &in), VN_WG_COOKIE_LEN);
    static const uint8_t hdr[8] = { 3, 0, 0, 0, 1, 0, 0, 0x80 };
    assert_memory_equal(buf, hdr, 8);
    assert_memory_equal(buf + 8, nonce, 24);
    assert_memory_equal(buf + 32, cookie, 32);
    struct vn_wg_msg m;
    assert_int_equal(vn_wg_parse(buf, VN_WG_COOKIE_LEN, &m), VN_WG_COOKIE);
    assert_int_equal(m.cookie.receiver, 0x80000001);
    assert_ptr_equal(m.cookie.nonce, buf + 8);
    assert_ptr_equal(m.cookie.enc_cookie, buf + 32);
    assert_int_equal(vn_wg_build_cookie(out, sizeof out, &m.cookie), VN_WG_COOKIE_LEN);
    assert_memory_equal(out, buf, VN_WG_COOKIE_LEN);
}

static void test_data_round_trip(void **state)
{
    (void)state;
    uint8_t pkt[100], out[200];
    pattern(pkt, sizeof pkt, 30);
    struct vn_wg_data in = { .receiver = 0xa1b2c3d4, .counter = 0x0102030405060708ull,
                             .packet = pkt, .packet_len = sizeof pkt };
    assert_int_equal(vn_wg_build_data(buf, 16 + sizeof pkt - 1, &in), 0);
    assert_int_equal(vn_wg_build_data(buf, 15, &in), 0);
    assert_int_equal(vn_wg_build_data(buf, sizeof buf, &in), 16 + sizeof pkt);
    static const uint8_t hdr[16] = { 4, 0, 0, 0, 0xd4, 0xc3, 0xb2, 0xa1,
                                     8, 7, 6, 5, 4, 3, 2, 1 };
    assert_memory_equal(buf, hdr, 16);
    assert_memory_equal(buf + 16, pkt, sizeof pkt);
    struct vn_wg_msg m;
    assert_int_equal(vn_wg_parse(buf, 16 + sizeof pkt, &m), VN_WG_DATA);
    assert_int_equal(m.data.receiver, 0xa1b2c3d4);
    assert_true(m.data.counter == 0x0102030405060708ull);
    assert_ptr_equal(m.data.packet, buf + 16);
    assert_int_equal(m.data.packet_len, sizeof pkt);
    assert_int_equal(vn_wg_build_data(out, sizeof out, &m.data), 16 + sizeof pkt);
    assert_memory_equal(out, buf, 16 + sizeof pkt);
    /* In place: the packet already behind the header stays. */
    m.data.counter = UINT64_MAX;
    assert_int_equal(vn_wg_build_data(buf, sizeof buf, &m.data), 16 + sizeof pkt);
    assert_memory_equal(buf + 16, pkt, sizeof pkt);
    assert_int_equal(vn_wg_parse(buf, 16 + sizeof pkt, &m), VN_WG_DATA);
    assert_true(m.data.counter == UINT64_MAX);
    /* A keepalive: only the tag. Shorter than a tag: refused. */
    in.packet_len = VN_WG_TAG_LEN;
    assert_int_equal(vn_wg_build_data(buf, sizeof buf, &in), VN_WG_DATA_MIN);
    assert_int_equal(vn_wg_parse(buf, VN_WG_DATA_MIN, &m), VN_WG_DATA);
    in.packet_len = VN_WG_TAG_LEN - 1;
    assert_int_equal(vn_wg_build_data(buf, sizeof buf, &in), 0);
    /* The header alone. */
    assert_int_equal(vn_wg_build_data_hdr(buf, 15, 1, 2), 0);
    assert_int_equal(vn_wg_build_data_hdr(buf, 16, 0xa1b2c3d4, 0x0102030405060708ull), 16);
    assert_memory_equal(buf, hdr, 16);
}

static void test_le_fields(void **state)
{
    (void)state;
    uint8_t b[8];
    vn_wg_put_le64(b, 0x8877665544332211ull);
    static const uint8_t want[8] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88 };
    assert_memory_equal(b, want, 8);
    assert_true(vn_wg_get_le64(b) == 0x8877665544332211ull);
    assert_int_equal(vn_wg_get_le32(b), 0x44332211u);
    vn_wg_put_le32(b, 0xfffffffe);
    assert_int_equal(b[0], 0xfe);
    assert_int_equal(b[3], 0xff);
    assert_int_equal(vn_wg_get_le32(b), 0xfffffffeu);
}

static void test_mac_offsets(void **state)
{
    (void)state;
    size_t m1 = 1, m2 = 1;
    assert_int_equal(vn_wg_mac_offsets(VN_WG_INITIATION, &m1, &m2), 0);
    assert_int_equal(m1, 116);
    assert_int_equal(m2, 132);
    assert_int_equal(m2, m1 + VN_WG_MAC_LEN);
    assert_int_equal(m2 + VN_WG_MAC_LEN, VN_WG_INIT_LEN);
    assert_int_equal(vn_wg_mac_offsets(VN_WG_RESPONSE, &m1, &m2), 0);
    assert_int_equal(m1, 60);
    assert_int_equal(m2, 76);
    assert_int_equal(m2 + VN_WG_MAC_LEN, VN_WG_RESP_LEN);
    assert_int_equal(vn_wg_mac_offsets(VN_WG_COOKIE, &m1, &m2), -1);
    assert_int_equal(vn_wg_mac_offsets(VN_WG_DATA, &m1, &m2), -1);
    assert_int_equal(vn_wg_mac_offsets(0, &m1, &m2), -1);
    /* The parsed MAC views are at those offsets. */
    struct vn_wg_init in = { .sender = 1 };
    struct vn_wg_msg m;
    vn_wg_build_init(buf, sizeof buf, &in);
    assert_int_equal(vn_wg_parse(buf, VN_WG_INIT_LEN, &m), 1);
    assert_int_equal(m.init.mac1 - buf, VN_WG_INIT_MAC1);
    assert_int_equal(m.init.mac2 - buf, VN_WG_INIT_MAC2);
    /* Field layout adds up: each field ends where the next starts. */
    assert_int_equal(VN_WG_INIT_EPHEMERAL + VN_WG_KEY_LEN, VN_WG_INIT_STATIC);
    assert_int_equal(VN_WG_INIT_STATIC + VN_WG_ENC_STATIC_LEN, VN_WG_INIT_TIMESTAMP);
    assert_int_equal(VN_WG_INIT_TIMESTAMP + VN_WG_ENC_TIME_LEN, VN_WG_INIT_MAC1);
    assert_int_equal(VN_WG_RESP_EPHEMERAL + VN_WG_KEY_LEN, VN_WG_RESP_EMPTY);
    assert_int_equal(VN_WG_RESP_EMPTY + VN_WG_TAG_LEN, VN_WG_RESP_MAC1);
    assert_int_equal(VN_WG_COOKIE_NONCE + VN_WG_XNONCE_LEN, VN_WG_COOKIE_COOKIE);
    assert_int_equal(VN_WG_COOKIE_COOKIE + VN_WG_ENC_COOKIE_LEN, VN_WG_COOKIE_LEN);
}

static void test_padding(void **state)
{
    (void)state;
    assert_int_equal(vn_wg_pad_len(0, 0), 0);
    assert_int_equal(vn_wg_pad_len(1, 0), 15);
    assert_int_equal(vn_wg_pad_len(16, 0), 0);
    assert_int_equal(vn_wg_pad_len(17, 0), 15);
    for (size_t n = 0; n < 3000; n++) {
        size_t p = vn_wg_pad_len(n, 0);
        assert_true(p < 16 && (n + p) % 16 == 0);
        p = vn_wg_pad_len(n, 1420);
        if (n <= 1420)
            assert_true(n + p <= 1420 && ((n + p) % 16 == 0 || n + p == 1420));
    }
    /* Never past the MTU: 1419 bytes at MTU 1420 get one byte. */
    assert_int_equal(vn_wg_pad_len(1419, 1420), 1);
    assert_int_equal(vn_wg_pad_len(1420, 1420), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lengths_and_types),
        cmocka_unit_test(test_drop_names),
        cmocka_unit_test(test_init_round_trip),
        cmocka_unit_test(test_resp_round_trip),
        cmocka_unit_test(test_cookie_round_trip),
        cmocka_unit_test(test_data_round_trip),
        cmocka_unit_test(test_le_fields),
        cmocka_unit_test(test_mac_offsets),
        cmocka_unit_test(test_padding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
