/* Unit tests of the DHCPv4 codec (src/gw/dhcp4_msg.c): parsing of client
 * messages with every bound checked (truncation, cookie, option lengths,
 * option overload), host name cleaning, and the reply builder (padding,
 * overflow, search list and classless route encodings). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "gw/dhcp4_msg.h"

#include <string.h>

/* A DISCOVER with the given options (after option 53) in buf; returns length. */
static size_t make_msg(uint8_t *buf, uint8_t type, const uint8_t *opts, size_t optlen)
{
    memset(buf, 0, 600);
    buf[0] = 1;
    buf[1] = 1;
    buf[2] = 6;
    buf[4] = 0xde, buf[5] = 0xad, buf[6] = 0xbe, buf[7] = 0xef;
    buf[10] = 0x80;
    static const uint8_t mac[6] = { 0x52, 0x54, 0, 1, 2, 3 };
    memcpy(buf + 28, mac, 6);
    buf[236] = 99, buf[237] = 130, buf[238] = 83, buf[239] = 99;
    size_t n = 240;
    buf[n++] = 53, buf[n++] = 1, buf[n++] = type;
    memcpy(buf + n, opts, optlen);
    n += optlen;
    buf[n++] = 255;
    return n;
}

static void test_parse_discover(void **state)
{
    (void)state;
    uint8_t b[600];
    const uint8_t o[] = { 50, 4, 10, 0, 2, 20, 12, 5, 'M', 'y', '_', 'V', 'm', 55, 3, 1, 3, 121,
                          57, 2, 0x05, 0xdc, 54, 4, 10, 0, 2, 2 };
    size_t n = make_msg(b, VN_DHCP_DISCOVER, o, sizeof o);
    struct vn_dhcp4_msg m;
    assert_int_equal(vn_dhcp4_parse(b, n, &m), 0);
    assert_int_equal(m.type, VN_DHCP_DISCOVER);
    assert_int_equal(m.xid, 0xdeadbeef);
    assert_int_equal(m.flags, 0x8000);
    assert_int_equal(m.requested_ip, 0x0a000214);
    assert_int_equal(m.server_id, 0x0a000202);
    assert_int_equal(m.max_size, 1500);
    assert_string_equal(m.hostname, "my-vm");
    assert_true(vn_dhcp4_wants(&m, 121));
    assert_false(vn_dhcp4_wants(&m, 119));
    assert_int_equal(m.chaddr[5], 3);
}

static void test_parse_rejects_bad_input(void **state)
{
    (void)state;
    uint8_t b[600];
    struct vn_dhcp4_msg m;
    size_t n = make_msg(b, 1, NULL, 0);
    for (size_t len = 0; len < 240; len++)
        assert_int_equal(vn_dhcp4_parse(b, len, &m), -1);
    assert_int_equal(vn_dhcp4_parse(b, n, &m), 0);
    b[237] = 0; /* cookie */
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
    n = make_msg(b, 1, NULL, 0);
    b[0] = 2; /* a BOOTREPLY is not a client message */
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
    const uint8_t overrun[] = { 12, 200, 'a' };
    n = make_msg(b, 1, overrun, sizeof overrun);
    assert_int_equal(vn_dhcp4_parse(b, n - 1, &m), -1);
    const uint8_t badlen[] = { 50, 3, 1, 2, 3 };
    n = make_msg(b, 1, badlen, sizeof badlen);
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
    const uint8_t badtype[] = { 53, 2, 1, 1 };
    n = make_msg(b, 1, badtype, sizeof badtype);
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
    /* option length byte missing at the very end */
    n = make_msg(b, 1, NULL, 0);
    b[n - 1] = 12;
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
}

static void test_parse_overload(void **state)
{
    (void)state;
    uint8_t b[600];
    const uint8_t o[] = { 52, 1, 3 };
    size_t n = make_msg(b, VN_DHCP_REQUEST, o, sizeof o);
    /* file field (108..235) carries option 50, sname (44..107) option 12 */
    const uint8_t f[] = { 50, 4, 10, 0, 2, 33, 255 };
    memcpy(b + 108, f, sizeof f);
    const uint8_t s[] = { 12, 3, 'v', 'm', '1', 255 };
    memcpy(b + 44, s, sizeof s);
    struct vn_dhcp4_msg m;
    assert_int_equal(vn_dhcp4_parse(b, n, &m), 0);
    assert_int_equal(m.requested_ip, 0x0a000221);
    assert_string_equal(m.hostname, "vm1");
    b[108 + 1] = 200; /* overrun inside the file field */
    assert_int_equal(vn_dhcp4_parse(b, n, &m), -1);
}

static void test_clean_hostname(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(vn_dhcp4_clean_hostname((const uint8_t *)"Web-01.example.test", 19, out), 6);
    assert_string_equal(out, "web-01");
    assert_int_equal(vn_dhcp4_clean_hostname((const uint8_t *)"--__--", 6, out), 0);
    assert_int_equal(vn_dhcp4_clean_hostname((const uint8_t *)"a b\x01<c>", 8, out), 4);
    assert_string_equal(out, "a-bc");
    uint8_t longname[200];
    memset(longname, 'x', sizeof longname);
    assert_int_equal(vn_dhcp4_clean_hostname(longname, sizeof longname, out), 63);
}

static void test_builder(void **state)
{
    (void)state;
    uint8_t req[600], buf[576];
    size_t n = make_msg(req, 1, NULL, 0);
    struct vn_dhcp4_msg m;
    assert_int_equal(vn_dhcp4_parse(req, n, &m), 0);
    struct vn_dhcp4_out o;
    vn_dhcp4_out_init(&o, buf, sizeof buf, &m, VN_DHCP_OFFER, 0x0a00020f, 0x0a000202);
    vn_dhcp4_out_u32(&o, VN_DHO_SERVER_ID, 0x0a000202);
    vn_dhcp4_out_search(&o, "vnet.internal");
    uint8_t r[9];
    size_t rl = vn_dhcp4_route_encode(r, 0, 0, 0x0a000202);
    assert_int_equal(rl, 5);
    const uint8_t want_r[] = { 0, 10, 0, 2, 2 };
    assert_memory_equal(r, want_r, 5);
    rl = vn_dhcp4_route_encode(r, 0xc0a80100, 24, 0x0a000202);
    const uint8_t want_r24[] = { 24, 192, 168, 1, 10, 0, 2, 2 };
    assert_int_equal(rl, 8);
    assert_memory_equal(r, want_r24, 8);
    size_t len = vn_dhcp4_out_finish(&o);
    assert_int_equal(len, 300); /* padded to the BOOTP minimum */
    assert_false(o.overflow);
    assert_int_equal(buf[0], 2);
    assert_memory_equal(buf + 4, req + 4, 4);        /* xid */
    assert_memory_equal(buf + 28, req + 28, 6);      /* chaddr */
    assert_int_equal(buf[16], 10);
    assert_int_equal(buf[19], 15);                   /* yiaddr */
    assert_int_equal(buf[240], 53);
    assert_int_equal(buf[242], VN_DHCP_OFFER);
    /* search list: 4vnet8internal0 */
    const uint8_t want_s[] = { 119, 15, 4, 'v', 'n', 'e', 't', 8, 'i', 'n', 't', 'e', 'r', 'n',
                               'a', 'l', 0 };
    assert_non_null(memmem(buf, len, want_s, sizeof want_s));

    /* Options beyond the buffer are left out; the end option always fits. */
    vn_dhcp4_out_init(&o, buf, 300, &m, VN_DHCP_ACK, 1, 2);
    uint8_t big[255];
    memset(big, 'x', sizeof big);
    vn_dhcp4_out_opt(&o, 15, big, sizeof big);
    assert_true(o.overflow);
    assert_true(vn_dhcp4_out_finish(&o) <= 300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_discover),
        cmocka_unit_test(test_parse_rejects_bad_input),
        cmocka_unit_test(test_parse_overload),
        cmocka_unit_test(test_clean_hostname),
        cmocka_unit_test(test_builder),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
