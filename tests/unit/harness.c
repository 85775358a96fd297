/* Shared unit-test helpers: see harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

static int rec_open(struct vn_port *p, char *e, size_t el)
{
    (void)e, (void)el;
    p->connected = true;
    return 0;
}

static void rec_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct harness_rec *r = p->priv;
    for (unsigned i = 0; i < n; i++) {
        uint8_t tag[4];
        struct iovec iov[3];
        size_t len;
        int k = vn_port_frame_iov(p, fr[i], tag, iov, &len);
        vn_port_tx_ok(p, len);
        if (!r)
            continue;
        if (r->n == HARNESS_MAXREC || len > sizeof r->f[0]) {
            r->lost++;
            continue;
        }
        uint8_t *o = r->f[r->n];
        for (int j = 0; j < k; j++) {
            memcpy(o, iov[j].iov_base, iov[j].iov_len);
            o += iov[j].iov_len;
        }
        r->len[r->n++] = len;
    }
}

static void rec_close(struct vn_port *p) { (void)p; }
static void rec_describe(struct vn_port *p, json_t *o) { (void)p, (void)o; }

const struct vn_port_ops harness_rec_ops = {
    .type = "rec", .open = rec_open, .send = rec_send, .close = rec_close,
    .describe = rec_describe,
};

struct vn_config *harness_config(const char *yaml)
{
    struct vn_conf_err ce;
    struct vn_config *c = vn_conf_new();
    assert_non_null(c);
    if (vn_conf_load_yaml_string(c, "t", yaml, strlen(yaml), &ce) || vn_conf_validate(c, &ce))
        fail_msg("%s", ce.msg);
    return c;
}

int harness_load(const char *text, struct vn_config **out, struct vn_conf_err *ce)
{
    struct vn_config *c = vn_conf_new();
    assert_non_null(c);
    memset(ce, 0, sizeof *ce);
    int rc = vn_conf_load_yaml_string(c, "t.yaml", text, strlen(text), ce);
    if (!rc)
        rc = vn_conf_validate(c, ce);
    if (out)
        *out = c;
    else
        vn_conf_free(c);
    return rc;
}

struct vn_network *harness_network(struct vn_switch *sw, const struct vn_net_conf *nc)
{
    char err[256];
    struct vn_network *n = vn_switch_add_network(sw, nc, err, sizeof err);
    if (!n)
        fail_msg("%s", err);
    return n;
}

struct vn_port *harness_port(struct vn_switch *sw, const struct vn_port_conf *pc,
                             struct harness_rec *rec)
{
    char err[256];
    struct vn_port *p = vn_switch_add_port_ops(sw, pc, &harness_rec_ops, rec, err, sizeof err);
    if (!p)
        fail_msg("%s", err);
    return p;
}

uint8_t *harness_ip4_hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl,
                         size_t l4len)
{
    memset(ip, 0, 20);
    ip[0] = 0x45;
    vn_put_be16(ip + 2, (uint16_t)(20 + l4len));
    ip[8] = ttl;
    ip[9] = proto;
    vn_put_be32(ip + 12, src);
    vn_put_be32(ip + 16, dst);
    vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
    return ip + 20;
}

uint8_t *harness_ip4(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6], uint32_t src,
                     uint32_t dst, uint8_t proto, uint8_t ttl, size_t l4len)
{
    memcpy(f, dmac, 6);
    memcpy(f + 6, smac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
    return harness_ip4_hdr(f + VN_ETH_HLEN, src, dst, proto, ttl, l4len);
}

uint8_t *harness_ip6_hdr(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                         uint8_t hlim, const uint8_t *exts, unsigned nexts, size_t l4len)
{
    memset(ip, 0, 40 + 8 * (size_t)nexts);
    ip[0] = 0x60;
    vn_put_be16(ip + 4, (uint16_t)(8 * nexts + l4len));
    ip[7] = hlim;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *nh = ip + 6, *e = ip + 40;
    for (unsigned i = 0; i < nexts; i++, e += 8) {
        *nh = exts[i];
        nh = e;
        if (exts[i] == VN_IPPROTO_FRAGMENT) {
            vn_put_be16(e + 2, 1); /* offset 0, M */
            vn_put_be32(e + 4, 1);
        } else if (exts[i] == VN_IPPROTO_HOPOPTS || exts[i] == VN_IPPROTO_DSTOPTS) {
            e[2] = 1, e[3] = 4; /* PadN over the 4 bytes left */
        }
    }
    *nh = proto;
    return e;
}

uint8_t *harness_ip6(uint8_t *f, const uint8_t *dmac, const uint8_t smac[6], const uint8_t src[16],
                     const uint8_t dst[16], uint8_t proto, uint8_t hlim, const uint8_t *exts,
                     unsigned nexts, size_t l4len)
{
    if (dmac) {
        memcpy(f, dmac, 6);
    } else {
        f[0] = f[1] = 0x33;
        memcpy(f + 2, dst + 12, 4);
    }
    memcpy(f + 6, smac, 6);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    return harness_ip6_hdr(f + VN_ETH_HLEN, src, dst, proto, hlim, exts, nexts, l4len);
}

void harness_csum6(uint8_t *l4, size_t l4len, const uint8_t src[16], const uint8_t dst[16],
                   uint8_t proto, size_t csum_off)
{
    vn_put_be16(l4 + csum_off, 0);
    uint16_t c = vn_csum_fold(vn_csum_add(vn_csum_pseudo6(src, dst, proto, (uint32_t)l4len), l4,
                                          l4len));
    if (proto == VN_IPPROTO_UDP && !c)
        c = 0xffff;
    vn_put_be16(l4 + csum_off, c);
}

void harness_input(struct vn_switch *sw, struct vn_port *in, const uint8_t *f, size_t len)
{
    uint8_t *buf = sw->dp[0]->rxbuf[0] + VN_HEADROOM;
    memcpy(buf, f, len);
    sw->dp[0]->rxframes[0] = (struct vn_frame){ .data = buf, .len = (uint32_t)len };
    vn_switch_input(sw, in, sw->dp[0]->rxframes, 1);
}

size_t harness_unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

void harness_assert_hex(const uint8_t *got, size_t len, const char *hex)
{
    uint8_t want[256];
    assert_int_equal(harness_unhex(want, sizeof(want), hex), len);
    if (memcmp(got, want, len) != 0) {
        char buf[513];
        for (size_t i = 0; i < len; i++)
            snprintf(buf + 2 * i, 3, "%02x", got[i]);
        fail_msg("got %s\nwant %s", buf, hex);
    }
}
