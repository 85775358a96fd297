/* Unit tests of the vxlan port (src/port/vxlan*.c): the header codec and
 * the inner flow hash; the remote table (learning, refresh, moves, ageing,
 * per-VTEP shares under a flood of random source MACs, eviction when full,
 * static entries, VTEPs and flood lists, and the index checked against a
 * model under random operations); the config keys and every bad value with
 * its file and line, MTU defaults and the printed round trip; and the data
 * path through a real switch with the port's sockets on loopback: flooding
 * to the flood list, learning, unicast to the learned VTEP, a MAC move,
 * never back to the VTEP a frame came from, VNIs kept apart, ageing on the
 * loop's clock, the control plane's calls and the status JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "conf/schema.h"
#include "core/hash.h"
#include "core/loop.h"
#include "harness.h"
#include "pkt/eth.h"
#include "port/vxlan.h"
#include "port/vxlan_gro.h"
#include "port/vxlan_hdr.h"
#include "port/vxlan_port.h"
#include "port/vxlan_table.h"
#include "port/vxlan_tso.h"
#include "pkt/csum.h"
#include "pkt/gso.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- the header and the flow hash ---- */

static void test_header(void **state)
{
    (void)state;
    uint8_t h[VN_VXLAN_HLEN];
    uint32_t vni = 0;
    vn_vxlan_hdr_put(h, 0xabcdef);
    static const uint8_t want[8] = { 0x08, 0, 0, 0, 0xab, 0xcd, 0xef, 0 };
    assert_memory_equal(h, want, 8);
    assert_int_equal(vn_vxlan_hdr_get(h, 8, &vni), VN_VXLAN_HDR_OK);
    assert_int_equal(vni, 0xabcdef);
    vn_vxlan_hdr_put(h, 1);
    assert_int_equal(vn_vxlan_hdr_get(h, 8, &vni), VN_VXLAN_HDR_OK);
    assert_int_equal(vni, 1);
    vn_vxlan_hdr_put(h, VN_VXLAN_VNI_MAX);
    assert_int_equal(vn_vxlan_hdr_get(h, 64, &vni), VN_VXLAN_HDR_OK);
    assert_int_equal(vni, VN_VXLAN_VNI_MAX);
    /* Short, and the I flag clear. */
    assert_int_equal(vn_vxlan_hdr_get(h, 7, &vni), VN_VXLAN_HDR_SHORT);
    assert_int_equal(vn_vxlan_hdr_get(h, 0, &vni), VN_VXLAN_HDR_SHORT);
    uint8_t g[8] = { 0x00, 0, 0, 0, 0, 0, 100, 0 };
    assert_int_equal(vn_vxlan_hdr_get(g, 8, &vni), VN_VXLAN_HDR_NO_I);
    g[0] = 0xf7; /* every flag but I */
    assert_int_equal(vn_vxlan_hdr_get(g, 8, &vni), VN_VXLAN_HDR_NO_I);
    /* Reserved bits are ignored (RFC 7348 section 5). */
    uint8_t r[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 100, 0xff };
    assert_int_equal(vn_vxlan_hdr_get(r, 8, &vni), VN_VXLAN_HDR_OK);
    assert_int_equal(vni, 100);
    /* The overheads the MTU defaults use. */
    assert_int_equal(VN_VXLAN_OVERHEAD4, 50);
    assert_int_equal(VN_VXLAN_OVERHEAD6, 70);
}

/* An IPv4 TCP/UDP frame of proto with the given ports (and fragment field). */
static size_t ip4_frame(uint8_t *f, uint8_t proto, uint16_t sport, uint16_t dport, uint16_t frag)
{
    static const uint8_t a[6] = { 2, 0, 0, 0, 0, 1 }, b[6] = { 2, 0, 0, 0, 0, 2 };
    uint8_t *l4 = harness_ip4(f, b, a, 0x0a000001, 0x0a000002, proto, 64, 20);
    vn_put_be16(f + 14 + 6, frag);
    vn_put_be16(l4, sport);
    vn_put_be16(l4 + 2, dport);
    return 14 + 20 + 20;
}

static void test_flow_hash(void **state)
{
    (void)state;
    uint8_t f[128], g[128];
    size_t n = ip4_frame(f, 6, 1000, 80, 0);
    uint32_t h = vn_vxlan_flow_hash(f, n);
    assert_int_equal(vn_vxlan_flow_hash(f, n), h); /* a function of the frame */
    memcpy(g, f, n);
    g[14 + 20 + 8] ^= 0xff; /* the TCP sequence number: same flow */
    assert_int_equal(vn_vxlan_flow_hash(g, n), h);
    /* Other ports are (almost surely) other flows: of 64 source ports, many hashes. */
    unsigned distinct = 0;
    uint32_t seen[64];
    for (uint16_t p = 0; p < 64; p++) {
        ip4_frame(g, 6, (uint16_t)(2000 + p), 80, 0);
        uint32_t x = vn_vxlan_flow_hash(g, n);
        bool dup = false;
        for (unsigned i = 0; i < distinct; i++)
            dup |= seen[i] == x;
        if (!dup)
            seen[distinct++] = x;
    }
    assert_true(distinct > 60);
    /* A later fragment has no ports: its hash ignores the bytes there. */
    ip4_frame(f, 17, 1, 2, 0x0010);
    ip4_frame(g, 17, 3, 4, 0x0010);
    assert_int_equal(vn_vxlan_flow_hash(f, n), vn_vxlan_flow_hash(g, n));
    /* Runts and non-IP frames hash without reading past the end. */
    assert_int_equal(vn_vxlan_flow_hash(f, 10), 0);
    vn_put_be16(f + 12, 0x0806);
    (void)vn_vxlan_flow_hash(f, 14);
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV4);
    (void)vn_vxlan_flow_hash(f, 20); /* IPv4 cut short */
    vn_put_be16(f + 12, VN_ETH_TYPE_IPV6);
    f[14] = 0x60;
    (void)vn_vxlan_flow_hash(f, 40);
    (void)vn_vxlan_flow_hash(f, 14 + 40);
}

/* ---- transmit and receive offloads ---- */

/* A TCP GSO frame at f: IPv4 (DF, ID 100) or IPv6, TCP with a 12-byte
 * timestamp option, flags, payload bytes of a pattern, cut at mss.
 * Returns its length; *off gets its offload metadata. */
static size_t tso_frame(uint8_t *f, bool v6, size_t payload, uint16_t mss, uint8_t flags,
                        struct vn_offload *off)
{
    static const uint8_t a[6] = { 2, 0, 0, 0, 0, 1 }, b[6] = { 2, 0, 0, 0, 0, 2 };
    static const uint8_t s6[16] = { 0xfd, [15] = 1 }, d6[16] = { 0xfd, [15] = 2 };
    size_t thl = 32, l4;
    uint8_t *tcp;
    if (v6) {
        tcp = harness_ip6(f, b, a, s6, d6, 6, 64, NULL, 0, thl + payload);
        l4 = 14 + 40;
    } else {
        tcp = harness_ip4(f, b, a, 0x0a000001, 0x0a000002, 6, 64, thl + payload);
        vn_put_be16(f + 14 + 4, 100);  /* ID */
        vn_put_be16(f + 14 + 6, 0x4000); /* DF */
        vn_put_be16(f + 14 + 10, 0);
        vn_put_be16(f + 14 + 10, vn_csum_ipv4_hdr(f + 14, 20));
        l4 = 14 + 20;
    }
    memset(tcp, 0, thl);
    vn_put_be16(tcp, 40000);
    vn_put_be16(tcp + 2, 5201);
    vn_put_be32(tcp + 4, 0xfffff000); /* the sequence number wraps */
    vn_put_be32(tcp + 8, 77);
    tcp[12] = (uint8_t)(thl / 4) << 4;
    tcp[13] = flags;
    vn_put_be16(tcp + 14, 512);
    tcp[20] = 1, tcp[21] = 1, tcp[22] = 8, tcp[23] = 10; /* NOP NOP timestamps */
    vn_put_be32(tcp + 24, 12345);
    vn_put_be32(tcp + 28, 678);
    for (size_t i = 0; i < payload; i++)
        tcp[thl + i] = (uint8_t)(i * 7 + i / 251);
    *off = (struct vn_offload){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                .gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6
                                               : VIRTIO_NET_HDR_GSO_TCPV4,
                                .hdr_len = (uint16_t)(l4 + thl), .gso_size = mss,
                                .csum_start = (uint16_t)l4, .csum_offset = 16 };
    return l4 + thl + payload;
}

static uint8_t big[70000], segbuf[VN_GSO_BUF_SIZE];
static struct vn_frame segs[VN_GSO_MAX_SEGS];
static struct vn_vxlan_tso tso;

/* Cutting a GSO frame into header copies and payload pointers gives the
 * segments of vn_gso_segment(), byte for byte. */
static void test_tso_split(void **state)
{
    (void)state;
    static const struct {
        bool v6;
        size_t payload;
        uint16_t mss;
        uint8_t flags;
    } cases[] = {
        { false, 64000, 1398, 0x18 }, { false, 2796, 1398, 0x10 }, { false, 100, 1398, 0x19 },
        { false, 5001, 1397, 0x90 },  { true, 60000, 1378, 0x18 },  { true, 1, 1000, 0x10 },
        { false, 0, 1000, 0x10 },     { false, 65000, 8898, 0x18 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        struct vn_frame f = { .data = big };
        f.len = (uint32_t)tso_frame(big, cases[c].v6, cases[c].payload, cases[c].mss,
                                    cases[c].flags, &f.off);
        int n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
        assert_true(n >= 1);
        assert_int_equal(vn_vxlan_tso_split(&f, &tso), 0);
        assert_int_equal(tso.n, (unsigned)n);
        for (int i = 0; i < n; i++) {
            assert_int_equal(tso.hlen + tso.plen[i], segs[i].len);
            assert_memory_equal(tso.hdr[i], segs[i].data, tso.hlen);
            if (tso.plen[i])
                assert_memory_equal(tso.payload[i], segs[i].data + tso.hlen, tso.plen[i]);
        }
    }
    /* Not a GSO frame, or too many segments. */
    struct vn_frame f = { .data = big };
    f.len = (uint32_t)tso_frame(big, false, 60000, 100, 0x10, &f.off);
    assert_int_equal(vn_vxlan_tso_split(&f, &tso), -1); /* 600 segments */
    f.off.gso_type = VIRTIO_NET_HDR_GSO_NONE;
    assert_int_equal(vn_vxlan_tso_split(&f, &tso), -1);
    f.off.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* the frame is IPv4 */
    assert_int_equal(vn_vxlan_tso_split(&f, &tso), -1);
}

static uint8_t blob[140000], orig[140000];

/* Lay frames in[0..n) out as one UDP_GRO buffer would hold them (each
 * behind an 8-byte VXLAN header) in blob, as frames of VTEP port/net. */
static unsigned lay_out(const struct vn_frame *in, unsigned n, struct vn_frame *out, uint16_t port)
{
    size_t o = 0;
    for (unsigned i = 0; i < n; i++) {
        o += VN_VXLAN_HLEN;
        memcpy(blob + o, in[i].data, in[i].len);
        out[i] = (struct vn_frame){ .data = blob + o, .len = in[i].len, .port = port };
        o += in[i].len;
    }
    return n;
}

/* The frames vn_vxlan_gro left, segmented again, must be exactly the
 * segments that went in (o[0..n), copied to orig), in order. */
static void check_resegments(const struct vn_frame *out, unsigned nout, const struct vn_frame *o,
                             unsigned n)
{
    static uint8_t sb[VN_GSO_BUF_SIZE];
    static struct vn_frame ss[VN_GSO_MAX_SEGS];
    unsigned k = 0;
    for (unsigned i = 0; i < nout; i++) {
        int m = 1;
        const struct vn_frame *x = &out[i];
        if (out[i].off.gso_type) {
            assert_true(out[i].off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
            m = vn_gso_segment(&out[i], sb, sizeof sb, ss, VN_GSO_MAX_SEGS);
            assert_true(m >= 2);
            x = ss;
        }
        for (int j = 0; j < m; j++, k++) {
            assert_true(k < n);
            assert_int_equal(x[j].len, o[k].len);
            assert_memory_equal(x[j].data, o[k].data, o[k].len);
        }
    }
    assert_int_equal(k, n);
}

static void test_gro(void **state)
{
    (void)state;
    struct vn_frame f = { .data = big }, in[VN_GSO_MAX_SEGS], o[VN_GSO_MAX_SEGS];
    uint64_t merged = 0;
    for (int v6 = 0; v6 < 2; v6++) {
        /* A train of 45 segments becomes one GSO frame again. */
        f.len = (uint32_t)tso_frame(big, v6, 63000, 1398, 0x18, &f.off);
        int n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
        assert_int_equal(n, 46);
        lay_out(segs, (unsigned)n, in, 3);
        memcpy(orig, segbuf, sizeof orig); /* segbuf holds them back to back */
        for (int i = 0; i < n; i++)
            o[i] = (struct vn_frame){ .data = orig + (segs[i].data - segbuf), .len = segs[i].len };
        merged = 0;
        unsigned k = vn_vxlan_gro(in, (unsigned)n, VN_VXLAN_HLEN, &merged);
        assert_int_equal(k, 1);
        assert_int_equal(merged, 45);
        assert_int_equal(in[0].off.gso_type,
                         v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
        assert_int_equal(in[0].off.gso_size, 1398);
        assert_int_equal(in[0].off.hdr_len, f.off.hdr_len);
        assert_int_equal(in[0].off.csum_start, v6 ? 54 : 34);
        assert_int_equal(in[0].len, f.len);
        assert_int_equal(in[0].port, 3);
        check_resegments(in, k, o, (unsigned)n);
    }
    /* Each rule that stops a merge, on a train of 6 IPv4 segments. */
    enum { NS = 6 };
    static const char *const what[] = {
        "none", "bad tcp checksum", "not adjacent", "other vtep", "other net", "psh",
        "short", "id", "no df", "ttl", "window", "option", "seq", "bad ip checksum", "ack",
    };
    for (unsigned rule = 0; rule < sizeof what / sizeof what[0]; rule++) {
        f.len = (uint32_t)tso_frame(big, false, 6 * 1000, 1000, 0x10, &f.off);
        int n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
        assert_int_equal(n, NS);
        uint8_t *s3 = segs[3].data, *ip = s3 + 14, *tcp = s3 + 34;
        switch (rule) {
        case 1: tcp[40] ^= 1; break;                       /* payload byte */
        case 5: segs[2].data[34 + 13] |= 0x08; break;      /* PSH on 2 */
        case 7: vn_put_be16(ip + 4, 9); break;
        case 8: vn_put_be16(ip + 6, 0); break;
        case 9: ip[8] = 3; break;
        case 10: vn_put_be16(tcp + 14, 9); break;
        case 11: tcp[27] ^= 1; break;
        case 12: vn_put_be32(tcp + 4, 5); break;
        case 13: ip[11] ^= 1; break;
        case 14: vn_put_be32(tcp + 8, 5); break;
        default: break;
        }
        if (rule >= 7 && rule != 13) { /* fix the checksums the change broke */
            vn_put_be16(ip + 10, 0);
            vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
            vn_put_be16(tcp + 16, 0);
            vn_put_be16(tcp + 16, vn_csum_fold(vn_csum_add(
                                      vn_csum_pseudo4(ip + 12, ip + 16, 6, segs[3].len - 34),
                                      tcp, segs[3].len - 34)));
        }
        if (rule == 5) {
            uint8_t *t2 = segs[2].data + 34;
            vn_put_be16(t2 + 16, 0);
            vn_put_be16(t2 + 16, vn_csum_fold(vn_csum_add(
                                     vn_csum_pseudo4(segs[2].data + 26, segs[2].data + 30, 6,
                                                     segs[2].len - 34),
                                     t2, segs[2].len - 34)));
        }
        struct vn_frame sh[NS];
        memcpy(sh, segs, sizeof sh);
        if (rule == 6)
            sh[2].len -= 10; /* cut short: IP length no longer matches, so seg 2 stands alone */
        lay_out(sh, NS, in, 1);
        if (rule == 2)
            memmove(in[3].data + 1, in[3].data, in[3].len), in[3].data++;
        if (rule == 3)
            in[3].port = 2;
        if (rule == 4)
            in[3].net = 1;
        for (int i = 0; i < NS; i++) {
            memcpy(orig + 2000 * i, in[i].data, in[i].len);
            o[i] = (struct vn_frame){ .data = orig + 2000 * i, .len = in[i].len };
        }
        merged = 0;
        unsigned k = vn_vxlan_gro(in, NS, VN_VXLAN_HLEN, &merged);
        static const unsigned want[] = { 1, 3, 3, 3, 3, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3 };
        if (k != want[rule])
            fail_msg("rule '%s': %u frames, expected %u", what[rule], k, want[rule]);
        assert_int_equal(merged, NS - k);
        check_resegments(in, k, o, NS);
    }
    /* Not TCP data: ARP, a SYN, an empty ACK, a UDP packet pass as they are. */
    uint8_t small[4][80];
    struct vn_frame fr[4];
    for (int i = 0; i < 4; i++) {
        memset(small[i], 0, sizeof small[i]);
        fr[i] = (struct vn_frame){ .data = small[i], .len = 60 };
    }
    merged = 0;
    assert_int_equal(vn_vxlan_gro(fr, 4, VN_VXLAN_HLEN, &merged), 4);
    assert_int_equal(merged, 0);
}

/* Frames in separate receive buffers (as recvmmsg leaves datagrams that
 * did not arrive as one UDP_GRO train) merge by copy into the free space
 * behind the last frame of a buffer, while it lasts: groups[] gives how
 * many consecutive segments each buffer holds back to back, extra the free
 * bytes behind each buffer's last frame. Every buffer is its own heap
 * block of exact size, so the sanitizers see any write past one. */
static unsigned gro_buffers(const unsigned *groups, unsigned ngroups, size_t extra,
                            unsigned n, const struct vn_frame *seg, const struct vn_frame *o,
                            uint64_t *merged)
{
    static struct vn_frame in[VN_GSO_MAX_SEGS];
    uint32_t room[VN_GSO_MAX_SEGS] = { 0 };
    uint8_t *bufs[VN_GSO_MAX_SEGS];
    unsigned k = 0;
    for (unsigned g = 0; g < ngroups; g++) {
        size_t size = extra, at = 0;
        for (unsigned j = 0; j < groups[g]; j++)
            size += VN_VXLAN_HLEN + seg[k + j].len;
        bufs[g] = malloc(size);
        assert_non_null(bufs[g]);
        for (unsigned j = 0; j < groups[g]; j++, k++) {
            at += VN_VXLAN_HLEN;
            memcpy(bufs[g] + at, seg[k].data, seg[k].len);
            in[k] = (struct vn_frame){ .data = bufs[g] + at, .len = seg[k].len, .port = 1 };
            at += seg[k].len;
        }
        room[k - 1] = (uint32_t)extra;
    }
    assert_int_equal(k, n);
    *merged = 0;
    unsigned out = vn_vxlan_gro_room(in, n, VN_VXLAN_HLEN, room, merged);
    assert_int_equal(out + *merged, n);
    check_resegments(in, out, o, n);
    for (unsigned g = 0; g < ngroups; g++)
        free(bufs[g]);
    return out;
}

static void test_gro_buffers(void **state)
{
    (void)state;
    struct vn_frame f = { .data = big }, o[VN_GSO_MAX_SEGS];
    uint64_t merged;
    for (int v6 = 0; v6 < 2; v6++) {
        f.len = (uint32_t)tso_frame(big, v6, 63000, 1398, 0x18, &f.off);
        int n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
        assert_int_equal(n, 46);
        memcpy(orig, segbuf, sizeof orig);
        for (int i = 0; i < n; i++)
            o[i] = (struct vn_frame){ .data = orig + (segs[i].data - segbuf), .len = segs[i].len };
        /* one datagram per buffer, room for all: one frame */
        unsigned ones[46];
        for (int i = 0; i < 46; i++)
            ones[i] = 1;
        assert_int_equal(gro_buffers(ones, 46, VN_RXBUF_SIZE, 46, segs, o, &merged), 1);
        /* no room: nothing merges across buffers */
        assert_int_equal(gro_buffers(ones, 46, 0, 46, segs, o, &merged), 46);
        /* room for 3 more payloads behind each buffer's last frame */
        unsigned k = gro_buffers(ones, 46, 3 * 1398, 46, segs, o, &merged);
        assert_int_equal(k, 12); /* 46 = 11 x 4 + 2 */
        /* trains and single datagrams mixed: in place within a train,
         * by copy across buffers, then in place again is not allowed
         * behind a copied frame (its buffer's neighbours are copied too) */
        static const unsigned mixed[] = { 10, 1, 5, 1, 29 };
        assert_int_equal(gro_buffers(mixed, 5, VN_RXBUF_SIZE, 46, segs, o, &merged), 1);
        /* a train whose last frame has no room stops at the buffer */
        static const unsigned two[] = { 20, 26 };
        assert_int_equal(gro_buffers(two, 2, 0, 46, segs, o, &merged), 2);
        assert_int_equal(gro_buffers(two, 2, VN_RXBUF_SIZE, 46, segs, o, &merged), 1);
    }
}

/* ---- the remote table ---- */

static struct vn_addr v4(uint32_t host_order) { return vn_addr4(host_order); }

static void mac_of(uint8_t m[6], uint32_t i)
{
    m[0] = 0x02;
    m[1] = 0;
    m[2] = (uint8_t)(i >> 24);
    m[3] = (uint8_t)(i >> 16);
    m[4] = (uint8_t)(i >> 8);
    m[5] = (uint8_t)i;
}

/* Every VTEP's learned list and counts agree with the entries. */
static void check_lists(const struct vn_vx_table *t)
{
    uint32_t total = 0;
    for (unsigned v = 0; v < t->vtep_hi; v++) {
        const struct vn_vx_vtep *e = &t->vteps[v];
        if (!e->addr.family)
            continue;
        uint32_t n = 0, prev = VN_VX_NIL;
        for (uint32_t i = e->head; i != VN_VX_NIL; i = t->macs[i].next) {
            assert_int_equal(t->macs[i].vtep, v);
            assert_false(t->macs[i].is_static);
            assert_int_equal(t->macs[i].prev, prev);
            if (prev != VN_VX_NIL)
                assert_true(t->macs[prev].seen_s <= t->macs[i].seen_s); /* oldest first */
            prev = i;
            n++;
        }
        assert_int_equal(prev, e->tail);
        assert_int_equal(n, e->nlearned);
        total += e->nlearned + e->nstatic;
    }
    assert_int_equal(total, t->count);
}

static void test_table_learn_move_age(void **state)
{
    (void)state;
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 64, 0, 300), 0);
    assert_int_equal(t.share, 16);
    struct vn_addr a = v4(0xc0000202), b = v4(0xc0000203);
    int va = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONFIG, 1), vb = vn_vx_vtep_add(&t, &b, 8472, VN_VX_CONFIG, 3);
    assert_true(va >= 0 && vb >= 0 && va != vb);
    assert_int_equal(vn_vx_vtep_find(&t, &a), va);
    assert_int_equal(vn_vx_vtep_add(&t, &a, 0, VN_VX_LEARNED, 0), va); /* existing: kept */
    assert_int_equal(t.vteps[va].origin, VN_VX_CONFIG);
    assert_int_equal(t.vteps[va].port, 4789);
    assert_int_equal(ntohs(t.vteps[vb].sa.in.sin_port), 8472);
    /* Flood lists: network 0 has both, network 1 only b. */
    unsigned n;
    const uint16_t *fl = vn_vx_flood_list(&t, 0, &n);
    assert_int_equal(n, 2);
    assert_true((fl[0] == va && fl[1] == vb) || (fl[0] == vb && fl[1] == va));
    fl = vn_vx_flood_list(&t, 1, &n);
    assert_int_equal(n, 1);
    assert_int_equal(fl[0], vb);
    vn_vx_flood_list(&t, 2, &n);
    assert_int_equal(n, 0);

    uint8_t m[6];
    mac_of(m, 1);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 10), -1);
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)va, 10), VN_VX_NEW);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 10), va);
    assert_int_equal(vn_vx_lookup(&t, 1, m, 10), -1); /* another network */
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)va, 20), VN_VX_REFRESHED);
    /* The same MAC in network 1 behind b is another entry. */
    assert_int_equal(vn_vx_learn(&t, 1, m, (uint16_t)vb, 20), VN_VX_NEW);
    assert_int_equal(t.count, 2);
    /* A move: followed at once. */
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)vb, 30), VN_VX_MOVED);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 30), vb);
    assert_int_equal(t.vteps[va].nlearned, 0);
    assert_int_equal(t.vteps[vb].nlearned, 2);
    assert_int_equal(t.moved, 1);
    check_lists(&t);
    /* Ageing: idle for more than 300 s is gone for lookups at once and
     * from the table at the next sweep; refreshed entries stay. */
    uint8_t m2[6];
    mac_of(m2, 2);
    vn_vx_learn(&t, 0, m2, (uint16_t)va, 100);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 330), vb);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 331), -1);
    assert_int_equal(vn_vx_lookup(&t, 0, m2, 331), va);
    assert_int_equal(vn_vx_age(&t, 331), 2); /* m in networks 0 and 1 */
    assert_int_equal(t.count, 1);
    assert_int_equal(t.aged, 2);
    assert_int_equal(vn_vx_age(&t, 400), 0);
    assert_int_equal(vn_vx_age(&t, 401), 1);
    assert_int_equal(t.count, 0);
    /* Config VTEPs are never aged away. */
    assert_int_equal(vn_vx_vtep_find(&t, &a), va);
    check_lists(&t);
    vn_vx_table_free(&t);

    /* ageing 0: never. */
    assert_int_equal(vn_vx_table_init(&t, 16, 0, 0), 0);
    va = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONFIG, 1);
    vn_vx_learn(&t, 0, m, (uint16_t)va, 0);
    assert_int_equal(vn_vx_age(&t, 4000000000u), 0);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 4000000000u), va);
    vn_vx_table_free(&t);
}

/* A VTEP flooding random source MACs stays within its share, recycling its
 * own oldest entries; another VTEP's entries are untouched. */
static void test_table_share(void **state)
{
    (void)state;
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 4096, 0, 300), 0);
    struct vn_addr a = v4(0xc0000202), b = v4(0xc0000203);
    int va = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONFIG, 1);
    int vb = vn_vx_vtep_add(&t, &b, 4789, VN_VX_CONFIG, 1);
    uint8_t m[6];
    for (uint32_t i = 0; i < 100; i++) {
        mac_of(m, 0x10000 + i);
        assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)vb, 1), VN_VX_NEW);
    }
    for (uint32_t i = 0; i < 50000; i++) {
        mac_of(m, 0x800000 + i);
        assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)va, 2 + i / 1000), VN_VX_NEW);
    }
    assert_int_equal(t.vteps[va].nlearned, 1024); /* a quarter */
    assert_int_equal(t.vteps[va].recycled, 50000 - 1024);
    assert_int_equal(t.recycled, 50000 - 1024);
    assert_int_equal(t.evicted, 0);
    assert_int_equal(t.vteps[vb].nlearned, 100);
    for (uint32_t i = 0; i < 100; i++) {
        mac_of(m, 0x10000 + i);
        assert_int_equal(vn_vx_lookup(&t, 0, m, 60), vb);
    }
    /* The flooder keeps its newest entries. */
    mac_of(m, 0x800000 + 49999);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 60), va);
    mac_of(m, 0x800000);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 60), -1);
    check_lists(&t);
    vn_vx_table_free(&t);
}

/* A full table: a VTEP below its share takes the oldest entry of the VTEP
 * holding the most, or its own when nobody holds more. */
static void test_table_full(void **state)
{
    (void)state;
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 16, 8, 0), 0);
    int v[4];
    for (int i = 0; i < 4; i++) {
        struct vn_addr a = v4(0xc0000210 + (uint32_t)i);
        v[i] = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONTROL, 0);
    }
    uint8_t m[6];
    uint32_t k = 0;
    for (int i = 0; i < 8; i++, k++) { /* v0: 8, v1: 6, v2: 2 = 16 */
        mac_of(m, k);
        vn_vx_learn(&t, 0, m, (uint16_t)v[0], k);
    }
    for (int i = 0; i < 6; i++, k++) {
        mac_of(m, k);
        vn_vx_learn(&t, 0, m, (uint16_t)v[1], k);
    }
    for (int i = 0; i < 2; i++, k++) {
        mac_of(m, k);
        vn_vx_learn(&t, 0, m, (uint16_t)v[2], k);
    }
    assert_int_equal(t.count, 16);
    /* v3 learns: v0's oldest (MAC 0) goes. */
    mac_of(m, 100);
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)v[3], 200), VN_VX_NEW);
    assert_int_equal(t.evicted, 1);
    mac_of(m, 0);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 200), -1);
    assert_int_equal(t.vteps[v[0]].nlearned, 7);
    /* v1 (6) learns twice: first from v0 (7), then v0 and v1 tie at 6 ... */
    mac_of(m, 101);
    vn_vx_learn(&t, 0, m, (uint16_t)v[1], 201);
    assert_int_equal(t.vteps[v[0]].nlearned, 6);
    assert_int_equal(t.vteps[v[1]].nlearned, 7);
    /* ... now v1 holds the most: its own oldest is recycled. */
    mac_of(m, 102);
    vn_vx_learn(&t, 0, m, (uint16_t)v[1], 202);
    assert_int_equal(t.vteps[v[1]].nlearned, 7);
    assert_int_equal(t.vteps[v[0]].nlearned, 6);
    assert_int_equal(t.recycled, 1);
    mac_of(m, 8); /* v1's first */
    assert_int_equal(vn_vx_lookup(&t, 0, m, 300), -1);
    assert_int_equal(t.count, 16);
    check_lists(&t);
    vn_vx_table_free(&t);
}

static void test_table_static(void **state)
{
    (void)state;
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 16, 16, 10), 0); /* a VTEP may fill it */
    struct vn_addr a = v4(0xc0000202), b = v4(0xc0000203);
    int va = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONFIG, 1);
    int vb = vn_vx_vtep_add(&t, &b, 4789, VN_VX_CONTROL, 0);
    uint8_t m[6], x[6];
    mac_of(m, 7);
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)va, 1), VN_VX_NEW);
    /* A static entry replaces the learned one ... */
    assert_int_equal(vn_vx_static_add(&t, 0, m, (uint16_t)vb), 0);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 1), vb);
    assert_int_equal(t.vteps[va].nlearned, 0);
    assert_int_equal(t.vteps[vb].nstatic, 1);
    /* ... is not moved by traffic from another VTEP, nor aged. */
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)va, 2), VN_VX_STATIC);
    assert_int_equal(t.static_conflicts, 1);
    assert_int_equal(vn_vx_learn(&t, 0, m, (uint16_t)vb, 2), VN_VX_REFRESHED);
    assert_int_equal(vn_vx_age(&t, 100000), 0);
    assert_int_equal(vn_vx_lookup(&t, 0, m, 100000), vb);
    /* Statics fill the table: learned entries make room, then learning
     * stops (full) and more statics are refused. */
    for (uint32_t i = 0; i < 15; i++) {
        mac_of(x, 100 + i);
        vn_vx_learn(&t, 0, x, (uint16_t)va, 100000);
    }
    assert_int_equal(t.count, 16);
    for (uint32_t i = 0; i < 15; i++) {
        mac_of(x, 200 + i);
        assert_int_equal(vn_vx_static_add(&t, 0, x, (uint16_t)vb), 0);
    }
    assert_int_equal(t.vteps[va].nlearned, 0);
    assert_int_equal(t.vteps[vb].nstatic, 16);
    mac_of(x, 300);
    assert_int_equal(vn_vx_static_add(&t, 0, x, (uint16_t)vb), -1);
    assert_int_equal(vn_vx_learn(&t, 0, x, (uint16_t)va, 100001), VN_VX_FULL);
    assert_int_equal(t.full, 1);
    /* Removing an entry; removing a VTEP takes its MACs along. */
    assert_int_equal(vn_vx_mac_del(&t, 0, m), 0);
    assert_int_equal(vn_vx_mac_del(&t, 0, m), -1);
    assert_int_equal(vn_vx_learn(&t, 0, x, (uint16_t)va, 100002), VN_VX_NEW);
    vn_vx_vtep_del(&t, (unsigned)vb);
    assert_int_equal(t.count, 1);
    assert_int_equal(vn_vx_vtep_find(&t, &b), -1);
    assert_int_equal(vn_vx_lookup(&t, 0, x, 100002), va);
    check_lists(&t);
    vn_vx_table_free(&t);
}

static void test_table_vteps(void **state)
{
    (void)state;
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 64, 0, 60), 0);
    /* At most VN_VX_MAX_VTEPS; IPv4 and IPv6 addresses apart. */
    for (uint32_t i = 0; i < VN_VX_MAX_VTEPS; i++) {
        struct vn_addr a = v4(0x0a000000 + i);
        assert_int_equal(vn_vx_vtep_add(&t, &a, 4789, VN_VX_LEARNED, 0), (int)i);
        t.vteps[i].seen = true;
        t.vteps[i].seen_s = i < 10 ? 0 : 50;
    }
    struct vn_addr six = { .family = AF_INET6, .a = { 0xfd, [15] = 1 } };
    assert_int_equal(vn_vx_vtep_add(&t, &six, 4789, VN_VX_CONFIG, 1), -1);
    for (uint32_t i = 0; i < VN_VX_MAX_VTEPS; i++) {
        struct vn_addr a = v4(0x0a000000 + i);
        assert_int_equal(vn_vx_vtep_find(&t, &a), (int)i);
    }
    /* Idle learned VTEPs without MACs go after the ageing time. */
    uint8_t m[6];
    mac_of(m, 1);
    vn_vx_learn(&t, 0, m, 3, 0); /* VTEP 3 has a MAC until it ages too */
    vn_vx_age(&t, 60);
    assert_int_equal(t.nvteps, VN_VX_MAX_VTEPS);
    vn_vx_age(&t, 61); /* 3's MAC expires, then 3 goes with 0-9 */
    assert_int_equal(t.nvteps, VN_VX_MAX_VTEPS - 10);
    assert_int_equal(t.vteps_aged, 10);
    for (uint32_t i = 0; i < VN_VX_MAX_VTEPS; i++) {
        struct vn_addr a = v4(0x0a000000 + i);
        assert_int_equal(vn_vx_vtep_find(&t, &a), i < 10 ? -1 : (int)i);
    }
    /* Freed slots are reused, the flood list follows masks. */
    int v = vn_vx_vtep_add(&t, &six, 4789, VN_VX_CONFIG, 5);
    assert_true(v >= 0 && v < 10);
    unsigned n;
    assert_non_null(vn_vx_flood_list(&t, 2, &n));
    assert_int_equal(n, 1);
    vn_vx_vtep_unflood(&t, (unsigned)v, 4);
    vn_vx_flood_list(&t, 2, &n);
    assert_int_equal(n, 0);
    vn_vx_flood_list(&t, 0, &n);
    assert_int_equal(n, 1);
    vn_vx_vtep_del(&t, (unsigned)v);
    vn_vx_flood_list(&t, 0, &n);
    assert_int_equal(n, 0);
    vn_vx_table_free(&t);
}

/* Random learning, moves, statics, deletions and ageing against a model:
 * the index must find exactly what the model holds (backward-shift
 * deletion keeps every probe chain intact). */
static void test_table_model(void **state)
{
    (void)state;
    enum { NM = 300, NV = 5 };
    struct vn_vx_table t;
    assert_int_equal(vn_vx_table_init(&t, 128, 40, 50), 0);
    int v[NV];
    for (int i = 0; i < NV; i++) {
        struct vn_addr a = v4(0xc0000220 + (uint32_t)i);
        v[i] = vn_vx_vtep_add(&t, &a, 4789, VN_VX_CONFIG, 1);
    }
    srand(12);
    uint32_t now = 0;
    for (int step = 0; step < 200000; step++) {
        uint8_t m[6];
        uint32_t k = (uint32_t)rand() % NM;
        mac_of(m, k);
        uint16_t net = (uint16_t)(k % 3);
        int r = rand() % 100;
        if (r < 80)
            vn_vx_learn(&t, net, m, (uint16_t)v[rand() % NV], now);
        else if (r < 85)
            vn_vx_static_add(&t, net, m, (uint16_t)v[rand() % NV]);
        else if (r < 95)
            vn_vx_mac_del(&t, net, m);
        else if (r < 99)
            now += (uint32_t)(rand() % 5);
        else
            vn_vx_age(&t, now);
        if (step % 1000 == 0) {
            check_lists(&t);
            /* Every entry is found through the index, and nothing else. */
            uint32_t pos = 0, live = 0;
            const struct vn_vx_mac *e;
            while ((e = vn_vx_next(&t, &pos))) {
                uint8_t mm[6];
                vn_vx_key_mac(e->key, mm);
                bool exp = !e->is_static && now - e->seen_s > 50;
                assert_int_equal(vn_vx_lookup(&t, vn_vx_key_net(e->key), mm, now),
                                 exp ? -1 : e->vtep);
                live++;
            }
            assert_int_equal(live, t.count);
            assert_true(t.count <= 128);
            for (int i = 0; i < NV; i++)
                assert_true(t.vteps[v[i]].nlearned <= 40);
        }
    }
    vn_vx_table_free(&t);
}

/* ---- the config ---- */

static struct vn_conf_err err;

static int load(const char *text, struct vn_config **out)
{
    return harness_load(text, out, &err);
}

static const char NETS[] = "networks:\n"                      /* 1 */
                           "  - {name: lan, vni: 100}\n"      /* 2 */
                           "  - {name: mgmt, vni: 200}\n"     /* 3 */
                           "  - {name: plain}\n"              /* 4 */
                           "ports:\n"                         /* 5 */
                           "  - name: vx\n"                   /* 6 */
                           "    type: vxlan\n";               /* 7 */

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *nets, *port; /* NULL nets: NETS */
        int line;
        const char *what;
    } bad[] = {
        { "networks:\n  - {name: a, vni: 7}\n  - {name: b, vni: 7}\n", "", 3,
          "network 'b': vni 7 is already used by 'a'" },
        { "networks:\n  - {name: a, vni: 0}\n", "", 2, "vni: '0'" },
        { "networks:\n  - {name: a, vni: 16777216}\n", "", 2, "vni: '16777216'" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan, plain]\n", 6,
          "port 'vx': network 'plain' has no 'vni'" },
        { NULL, "    local: 192.0.2.1\n    network: plain\n", 6, "network 'plain' has no 'vni'" },
        { NULL, "    networks: [lan]\n", 6, "a vxlan port needs 'local'" },
        { NULL, "    local: 192.0.2.1\n", 6, "missing 'networks' (or 'network')" },
        { NULL, "    local: not-an-address\n    networks: [lan]\n", 8,
          "local: 'not-an-address' is not ADDR, ADDR:PORT or [V6ADDR]:PORT" },
        { NULL, "    local: \"192.0.2.1:0\"\n    networks: [lan]\n", 8, "local: '192.0.2.1:0'" },
        { NULL, "    local: \"192.0.2.1:65536\"\n    networks: [lan]\n", 8, "(port 1-65535)" },
        { NULL, "    local: 239.1.2.3\n    networks: [lan]\n", 8, "is a multicast address" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan, lan]\n", 9,
          "networks: network 'lan' listed twice" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan, nope]\n", 6,
          "network 'nope' is not defined" },
        { NULL, "    local: 192.0.2.1\n    trunk: [lan]\n", 6,
          "lists its networks under 'networks', not 'trunk'" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan, mgmt]\n    native: lan\n", 6,
          "'native' does not apply to a vxlan port" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    remotes: [\"fd00::2\"]\n", 6,
          "remote fd00::2 is IPv6 but local 192.0.2.1 is IPv4" },
        { NULL, "    local: \"[fd00::1]\"\n    networks: [lan]\n    remotes: [192.0.2.2]\n", 6,
          "remote 192.0.2.2 is IPv4 but local fd00::1 is IPv6" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    remotes: [192.0.2.1]\n", 6,
          "remote 192.0.2.1 is the local address" },
        { NULL,
          "    local: 192.0.2.1\n    networks: [lan]\n    remotes:\n      - 192.0.2.2\n"
          "      - \"192.0.2.2:8472\"\n",
          12, "remotes: '192.0.2.2:8472' listed twice" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    remotes: [239.0.0.1]\n", 10,
          "is a multicast group" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    remotes: [0.0.0.0]\n", 10,
          "'0.0.0.0' is not a VTEP's address" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    remotes: [\"192.0.2.2:0\"]\n", 10,
          "remotes: '192.0.2.2:0'" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    accept: maybe\n", 10,
          "accept: 'maybe' is not listed or any" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    learning: sometimes\n", 10,
          "learning" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    ageing: 31536001\n", 10,
          "ageing" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    max_remote_macs: 8\n", 10,
          "max_remote_macs" },
        { NULL,
          "    local: 192.0.2.1\n    networks: [lan]\n    max_remote_macs: 100\n"
          "    max_remote_macs_per_vtep: 200\n",
          6, "max_remote_macs_per_vtep 200 is more than max_remote_macs 100" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    mtu: 1400\n", 6,
          "'mtu' is a key of tap ports, not of vxlan ports (it takes local, networks" },
        { NULL, "    local: 192.0.2.1\n    networks: [lan]\n    path: /tmp/x\n", 6,
          "'path' is a key of stream, dgram, vhost-user ports, not of vxlan ports" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024], where[32];
        if (bad[i].nets)
            snprintf(text, sizeof text, "%s", bad[i].nets);
        else
            snprintf(text, sizeof text, "%s%s", NETS, bad[i].port);
        if (load(text, NULL) == 0)
            fail_msg("accepted, expected '%s':\n%s", bad[i].what, text);
        snprintf(where, sizeof where, "t.yaml:%d: ", bad[i].line);
        if (strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, bad[i].what))
            fail_msg("error '%s', expected '%s...%s'", err.msg, where, bad[i].what);
    }
    /* vxlan keys on another type's port are refused by that type. */
    static const char *const foreign[] = { "remotes: [192.0.2.2]", "learning: false",
                                           "local: 192.0.2.1", "accept: any", "ageing: 5",
                                           "max_remote_macs: 100",
                                           "max_remote_macs_per_vtep: 3",
                                           "networks: [lan]" };
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "networks:\n  - {name: lan, vni: 100}\nports:\n"
                 "  - {name: s, type: stream, path: /tmp/x.sock, %s%s}\n",
                 foreign[i], strncmp(foreign[i], "networks", 8) ? ", network: lan" : "");
        if (load(text, NULL) == 0 || !strstr(err.msg, "t.yaml:4: "))
            fail_msg("'%s' on a stream port: %s", foreign[i], err.msg);
    }
}

/* Print c and load the text back; returns the text (free it). */
static char *roundtrip(const struct vn_config *c, struct vn_config **back)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    vn_conf_print(c, o);
    fclose(o);
    if (load(buf, back))
        fail_msg("printed config does not load: %s\n%s", err.msg, buf);
    return buf;
}

static void test_config_defaults(void **state)
{
    (void)state;
    struct vn_config *c = NULL, *c2 = NULL;
    /* 192.0.2.1 is no interface's here: a 1500 underlay, so 1450. */
    const char *text = "networks:\n"
                       "  - {name: lan, mode: nat, vni: 100}\n"
                       "  - {name: mgmt, mode: isolated, vni: 16777215, mtu: 9000}\n"
                       "  - {name: plain, mode: isolated}\n"
                       "  - {name: six, mode: isolated, vni: 300}\n"
                       "  - {name: both, mode: isolated, vni: 400}\n"
                       "ports:\n"
                       "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan, mgmt, both],\n"
                       "     remotes: [192.0.2.2, \"192.0.2.3:8472\"]}\n"
                       "  - {name: vx6, type: vxlan, local: \"[2001:db8::1]:4790\", networks: [six, both],\n"
                       "     learning: false, accept: any, ageing: 0, max_remote_macs: 100,\n"
                       "     max_remote_macs_per_vtep: 10}\n"
                       "  - {name: vm, type: stream, network: plain, path: /tmp/vm.sock}\n";
    if (load(text, &c))
        fail_msg("%s", err.msg);
    assert_int_equal(c->nets[0].mtu, 1450);
    assert_false(c->nets[0].mtu_set);
    assert_int_equal(c->nets[1].mtu, 9000); /* configured: kept (a warning at open) */
    assert_int_equal(c->nets[2].mtu, 1500); /* not carried */
    assert_int_equal(c->nets[3].mtu, 1430); /* IPv6 underlay */
    assert_int_equal(c->nets[4].mtu, 1430); /* the smaller of both ports */
    const struct vn_vxlan_conf *x = &c->ports[0].vxlan, *y = &c->ports[1].vxlan;
    assert_int_equal(x->local.port, 4789);
    assert_int_equal(x->underlay_mtu, 1500);
    assert_int_equal(x->nremotes, 2);
    assert_int_equal(x->remotes[0].port, 4789);
    assert_int_equal(x->remotes[1].port, 8472);
    assert_true(x->learning && x->accept == VN_VXLAN_ACCEPT_LISTED);
    assert_int_equal(x->ageing, 300);
    assert_int_equal(x->max_macs, 4096);
    assert_int_equal(x->max_macs_per_vtep, 0);
    assert_int_equal(c->ports[0].ntrunk, 3);
    assert_int_equal(y->local.port, 4790);
    assert_false(y->learning);
    assert_int_equal(y->accept, VN_VXLAN_ACCEPT_ANY);
    assert_int_equal(y->ageing, 0);
    /* Printed as networks (not trunk) and read back the same. */
    char *t = roundtrip(c, &c2);
    assert_non_null(strstr(t, "networks: [lan, mgmt, both]"));
    assert_null(strstr(t, "trunk:"));
    assert_non_null(strstr(t, "remotes: [\"192.0.2.2:4789\", \"192.0.2.3:8472\"]"));
    assert_non_null(strstr(t, "local: \"[2001:db8::1]:4790\""));
    assert_non_null(strstr(t, "vni: 16777215"));
    assert_non_null(strstr(t, "accept: any"));
    for (unsigned i = 0; i < c->nnets; i++) {
        assert_int_equal(c2->nets[i].mtu, c->nets[i].mtu);
        assert_int_equal(c2->nets[i].vni, c->nets[i].vni);
    }
    assert_memory_equal(&c2->ports[1].vxlan, &c->ports[1].vxlan, sizeof c->ports[1].vxlan - 0);
    free(t);
    vn_conf_free(c);
    vn_conf_free(c2);
    /* A loopback underlay: lo's MTU (65536) minus 50, within the maximum. */
    if (load("networks:\n  - {name: lan, vni: 1}\nports:\n"
             "  - {name: vx, type: vxlan, local: 127.0.0.1, network: lan}\n",
             &c))
        fail_msg("%s", err.msg);
    assert_true(c->nets[0].mtu > 9000 && c->nets[0].mtu <= VN_MAX_MTU);
    assert_true(vn_conf_port_type_get((unsigned)c->ports[0].type)->classifies);
    vn_conf_free(c);
    /* The command line spec (vnetctl port add) with lists joined by '+'. */
    c = vn_conf_new();
    struct vn_conf_src cl = { NULL, 0 };
    struct vn_net_conf *n = vn_conf_add_net(c, cl, &err);
    vn_strlcpy(n->name, "lan", sizeof n->name);
    assert_int_equal(vn_conf_net_set(n, "vni", "5", cl, &err), 0);
    struct vn_port_conf *p = vn_conf_add_port(c, cl, &err);
    assert_int_equal(vn_conf_port_set(p, "name", "vx", cl, &err), 0);
    assert_int_equal(vn_conf_port_set(p, "type", "vxlan", cl, &err), 0);
    assert_int_equal(vn_conf_port_set(p, "local", "[fd00::1]:8472", cl, &err), 0);
    assert_int_equal(vn_conf_port_set(p, "networks", "lan", cl, &err), 0);
    assert_int_equal(vn_conf_port_set(p, "remotes", "fd00::2", cl, &err), 0);
    assert_int_equal(vn_conf_port_set(p, "remotes", "[fd00::3]:4789", cl, &err), 0);
    if (vn_conf_validate(c, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(p->vxlan.remotes[0].port, 4789);
    assert_int_equal(c->nets[0].mtu, 1430);
    vn_conf_free(c);
}

/* ---- the data path through a real switch ---- */

struct dp {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_port *a, *m, *vx;
    struct harness_rec ra, rm;
    int r[3];        /* remote VTEPs: 127.0.0.2, .3, .4 (.4 is not listed) */
    uint16_t rport[3];
    uint64_t now_ns;
};

static uint64_t fake_clock(void *ctx) { return ((struct dp *)ctx)->now_ns; }

static const char DP_CONF[] =
    "networks:\n"
    "  - {name: lan, mode: isolated, vni: 100}\n"
    "  - {name: mgmt, mode: isolated, vni: 200}\n"
    "ports:\n"
    "  - {name: a, type: stream, network: lan, path: /nonexistent/a}\n"
    "  - {name: m, type: stream, network: mgmt, path: /nonexistent/m}\n"
    "  - {name: vx, type: vxlan, local: 127.0.0.1, networks: [lan, mgmt],\n"
    "     remotes: [127.0.0.2, 127.0.0.3], ageing: 60}\n";

/* A UDP socket on 127.0.0.N, ephemeral port. */
static int udp_on(uint8_t last, uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_in s = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000000u | last) };
    assert_int_equal(bind(fd, (struct sockaddr *)&s, sizeof s), 0);
    socklen_t sl = sizeof s;
    getsockname(fd, (struct sockaddr *)&s, &sl);
    *port = ntohs(s.sin_port);
    return fd;
}

static int dp_setup(void **state)
{
    struct dp *w = calloc(1, sizeof *w);
    char e[256];
    w->now_ns = 1000000000ull;
    w->c = harness_config(DP_CONF);
    w->loop = vn_loop_new();
    vn_loop_set_clock(w->loop, fake_clock, w);
    w->sw = vn_switch_new(w->loop);
    for (unsigned i = 0; i < w->c->nnets; i++)
        harness_network(w->sw, &w->c->nets[i]);
    w->a = harness_port(w->sw, &w->c->ports[0], &w->ra);
    w->m = harness_port(w->sw, &w->c->ports[1], &w->rm);
    for (int i = 0; i < 3; i++)
        w->r[i] = udp_on((uint8_t)(2 + i), &w->rport[i]);
    struct vn_port_conf *pc = &w->c->ports[2];
    pc->vxlan.local.port = 0; /* an ephemeral port: tests may run side by side */
    pc->vxlan.remotes[0].port = w->rport[0];
    pc->vxlan.remotes[1].port = w->rport[1];
    assert_int_equal(vn_switch_set_backend(w->sw, &vn_port_vxlan_ops), 0);
    w->vx = vn_switch_add_port(w->sw, pc, e, sizeof e);
    if (!w->vx)
        fail_msg("vxlan port: %s", e);
    *state = w;
    return 0;
}

static int dp_teardown(void **state)
{
    struct dp *w = *state;
    for (int i = 0; i < 3; i++)
        close(w->r[i]);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

static struct vn_vxlan *X(struct dp *w) { return w->vx->priv; }

/* A frame dst <- src of network lan (or any), 60 bytes, payload byte tag. */
static size_t frame(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], uint8_t tag)
{
    memset(f, tag, 60);
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    vn_put_be16(f + 12, 0x88b5); /* local experimental ethertype */
    return 60;
}

/* Send a VXLAN datagram of vni carrying frame f from remote i to the port,
 * then let the loop read it. */
static void from_remote(struct dp *w, int i, uint32_t vni, const uint8_t *f, size_t len)
{
    uint8_t d[1600];
    vn_vxlan_hdr_put(d, vni);
    memcpy(d + 8, f, len);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(X(w)->local_port),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    assert_int_equal(sendto(w->r[i], d, len + 8, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)(len + 8));
    vn_loop_once(w->loop, 200);
}

/* What remote i received: the number of datagrams (the last one in d). */
static int at_remote(struct dp *w, int i, uint8_t *d, size_t *len, uint16_t *sport)
{
    int n = 0;
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(w->r[i], d, 2048, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (r < 0) {
            assert_int_equal(errno, EAGAIN);
            return n;
        }
        *len = (size_t)r;
        if (sport)
            *sport = ntohs(from.sin_port);
        n++;
    }
}

static const uint8_t BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t GA[6] = { 0x52, 0x54, 0, 0, 0, 0x0a };
static const uint8_t R1[6] = { 0x52, 0x54, 0, 0, 1, 0x01 };

static void test_datapath(void **state)
{
    struct dp *w = *state;
    struct vn_vxlan *x = X(w);
    uint8_t f[64], d[2048];
    size_t len, dl = 0;
    uint16_t sport = 0;

    /* A broadcast from a guest of lan: once to each listed VTEP, with the
     * I flag, VNI 100 and the frame, from one of the source sockets. */
    len = frame(f, BC, GA, 1);
    harness_input(w->sw, w->a, f, len);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(at_remote(w, i, d, &dl, &sport), 1);
        assert_int_equal(dl, len + 8);
        static const uint8_t h[8] = { 0x08, 0, 0, 0, 0, 0, 100, 0 };
        assert_memory_equal(d, h, 8);
        assert_memory_equal(d + 8, f, len);
        bool ours = false;
        for (unsigned s = 0; s < x->ntx; s++)
            ours |= x->tx[s].port == sport;
        assert_true(ours);
    }
    assert_int_equal(at_remote(w, 2, d, &dl, NULL), 0);
    assert_int_equal(w->vx->stats.tx_frames, 1); /* a frame, sent twice */
    assert_int_equal(x->tab.vteps[0].tx_frames + x->tab.vteps[1].tx_frames, 2);

    /* A broadcast from remote 0 reaches lan's guest only: never mgmt, and
     * never the VTEPs (not back to its sender, not to the other). */
    len = frame(f, BC, R1, 2);
    from_remote(w, 0, 100, f, len);
    assert_int_equal(w->ra.n, 1);
    assert_memory_equal(w->ra.f[0], f, len);
    assert_int_equal(w->rm.n, 0);
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 0);
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 0);
    struct vn_addr r0 = vn_addr4(0x7f000002), r1 = vn_addr4(0x7f000003);
    int v0 = vn_vx_vtep_find(&x->tab, &r0), v1 = vn_vx_vtep_find(&x->tab, &r1);
    assert_int_equal(vn_vx_lookup(&x->tab, 0, R1, vn_vxlan_now(x)), v0); /* learned */
    assert_int_equal(x->tab.vteps[v0].rx_frames, 1);

    /* Unicast to R1 goes to remote 0 only. */
    len = frame(f, R1, GA, 3);
    harness_input(w->sw, w->a, f, len);
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 1);
    assert_memory_equal(d + 8, f, len);
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 0);

    /* R1 moves to remote 1 (its gratuitous ARP): followed at once. */
    len = frame(f, BC, R1, 4);
    from_remote(w, 1, 100, f, len);
    assert_int_equal(vn_vx_lookup(&x->tab, 0, R1, vn_vxlan_now(x)), v1);
    assert_int_equal(x->tab.moved, 1);
    len = frame(f, R1, GA, 5);
    harness_input(w->sw, w->a, f, len);
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 0);
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 1);

    /* VNI 200 is mgmt: its guest gets it, lan's does not. */
    w->ra.n = 0;
    len = frame(f, BC, R1, 6);
    from_remote(w, 1, 200, f, len);
    assert_int_equal(w->rm.n, 1);
    assert_int_equal(w->ra.n, 0);

    /* Dropped and counted: an unknown VNI, an unlisted VTEP, no I flag, a
     * runt, an inner VLAN tag. */
    from_remote(w, 1, 300, f, len);
    from_remote(w, 2, 100, f, len);
    assert_int_equal(x->st.unknown_vni, 1);
    assert_int_equal(x->st.unlisted, 1);
    assert_int_equal(w->vx->stats.rx_drops[VN_DROP_VNI], 1);
    assert_int_equal(w->vx->stats.rx_drops[VN_DROP_VTEP], 1);
    {
        struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(x->local_port),
                                  .sin_addr.s_addr = htonl(0x7f000001) };
        uint8_t bad[80] = { 0 };
        memcpy(bad + 8, f, 60);
        sendto(w->r[0], bad, 68, 0, (struct sockaddr *)&to, sizeof to); /* no I flag */
        sendto(w->r[0], bad, 5, 0, (struct sockaddr *)&to, sizeof to);  /* no header */
        vn_vxlan_hdr_put(bad, 100);
        sendto(w->r[0], bad, 8 + 13, 0, (struct sockaddr *)&to, sizeof to); /* runt */
        vn_put_be16(bad + 8 + 12, VN_ETH_TYPE_VLAN);
        sendto(w->r[0], bad, 68, 0, (struct sockaddr *)&to, sizeof to); /* tagged */
        vn_loop_once(w->loop, 200);
    }
    assert_int_equal(x->st.no_i_flag, 1);
    assert_int_equal(x->st.bad_header, 1);
    assert_int_equal(x->st.truncated, 1);
    assert_int_equal(x->st.inner_vlan, 1);
    assert_int_equal(w->vx->stats.rx_drops[VN_DROP_MALFORMED], 3);
    assert_int_equal(w->vx->stats.rx_drops[VN_DROP_VLAN], 1);

    /* Ageing on the loop's clock: after 60 s idle R1 is unknown again and
     * frames to it are flooded. */
    w->now_ns += 62ull * 1000000000ull;
    vn_loop_once(w->loop, 0);
    assert_int_equal(vn_vx_lookup(&x->tab, 0, R1, vn_vxlan_now(x)), -1);
    assert_true(x->tab.aged >= 1);
    len = frame(f, R1, GA, 7);
    harness_input(w->sw, w->a, f, len);
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 1);
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 1);
}

static void test_control_and_status(void **state)
{
    struct dp *w = *state;
    struct vn_vxlan *x = X(w);
    char e[256];
    uint8_t f[64], d[2048];
    size_t len, dl;
    struct vn_sockaddr r2 = { .ip = vn_addr4(0x7f000004), .port = w->rport[2] };
    /* A static entry (EVPN's) to a VTEP not in the flood list: unicast goes
     * there, and that VTEP is now accepted (listed by the control plane). */
    assert_int_equal(vn_vxlan_fdb_add(w->vx, 0, R1, &r2, VN_VXLAN_BY_EVPN, e, sizeof e), 0);
    len = frame(f, R1, GA, 1);
    harness_input(w->sw, w->a, f, len);
    assert_int_equal(at_remote(w, 2, d, &dl, NULL), 1);
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 0);
    len = frame(f, BC, R1, 2);
    from_remote(w, 2, 100, f, len);
    assert_int_equal(w->ra.n, 1);
    assert_int_equal(x->st.unlisted, 0);
    /* Traffic from a listed VTEP does not move a static entry. */
    from_remote(w, 0, 100, f, len);
    assert_int_equal(x->tab.static_conflicts, 1);
    json_t *fdb = vn_vxlan_fdb_json(w->vx, -1);
    assert_int_equal(json_array_size(fdb), 1);
    json_t *e0 = json_array_get(fdb, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "mac")), "52:54:00:00:01:01");
    assert_string_equal(json_string_value(json_object_get(e0, "vtep")), "127.0.0.4");
    assert_string_equal(json_string_value(json_object_get(e0, "origin")), "evpn");
    assert_string_equal(json_string_value(json_object_get(e0, "network")), "lan");
    assert_true(json_is_null(json_object_get(e0, "age_s")));
    json_decref(fdb);
    /* Errors: another family, a network not carried, a multicast MAC. */
    struct vn_sockaddr six = { .ip = { .family = AF_INET6, .a = { 0xfd, [15] = 2 } }, .port = 1 };
    assert_int_equal(vn_vxlan_fdb_add(w->vx, 0, R1, &six, VN_VXLAN_BY_EVPN, e, sizeof e), -1);
    assert_non_null(strstr(e, "IPv4"));
    assert_int_equal(vn_vxlan_fdb_add(w->vx, 5, R1, &r2, VN_VXLAN_BY_EVPN, e, sizeof e), -1);
    assert_int_equal(vn_vxlan_fdb_add(w->vx, 0, BC, &r2, VN_VXLAN_BY_EVPN, e, sizeof e), -1);
    assert_int_equal(vn_vxlan_fdb_add(w->a, 0, R1, &r2, VN_VXLAN_BY_EVPN, e, sizeof e), -1);
    assert_non_null(strstr(e, "not a vxlan port"));
    /* The flood list at run time: add .4 for mgmt only, remove .2. */
    assert_int_equal(vn_vxlan_vtep_add(w->vx, &r2, 1ull << 1, VN_VXLAN_BY_CONTROL, e, sizeof e), 0);
    struct vn_addr a0 = vn_addr4(0x7f000002);
    assert_int_equal(vn_vxlan_vtep_del(w->vx, &a0, 0, VN_VXLAN_BY_CONTROL, e, sizeof e), 0);
    assert_int_equal(vn_vxlan_vtep_del(w->vx, &a0, 0, VN_VXLAN_BY_CONTROL, e, sizeof e), -1);
    len = frame(f, BC, GA, 3);
    harness_input(w->sw, w->a, f, len); /* lan: only .3 left */
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 0);
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 1);
    assert_int_equal(at_remote(w, 2, d, &dl, NULL), 0);
    harness_input(w->sw, w->m, f, len); /* mgmt: .3 and .4 */
    assert_int_equal(at_remote(w, 1, d, &dl, NULL), 1);
    assert_int_equal(at_remote(w, 2, d, &dl, NULL), 1);
    /* .2 is no longer accepted. */
    from_remote(w, 0, 100, f, len);
    assert_int_equal(x->st.unlisted, 1);
    /* Deleting the static entry keeps .4 (it floods mgmt). */
    assert_int_equal(vn_vxlan_fdb_del(w->vx, 0, R1, VN_VXLAN_BY_CONTROL, e, sizeof e), -1);
    assert_non_null(strstr(e, "EVPN")); /* the operator leaves EVPN's entries alone */
    assert_int_equal(vn_vxlan_fdb_del(w->vx, 0, R1, VN_VXLAN_BY_EVPN, e, sizeof e), 0);
    assert_int_equal(vn_vxlan_fdb_del(w->vx, 0, R1, VN_VXLAN_BY_EVPN, e, sizeof e), -1);
    assert_true(vn_vx_vtep_find(&x->tab, &r2.ip) >= 0);

    /* The status. */
    json_t *o = json_object();
    w->vx->ops->describe(w->vx, o);
    assert_string_equal(json_string_value(json_object_get(o, "accept")), "listed");
    assert_true(json_is_true(json_object_get(o, "learning")));
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%u", x->local_port);
    assert_string_equal(json_string_value(json_object_get(o, "local")), want);
    assert_int_equal(json_array_size(json_object_get(o, "source_ports")), VN_VXLAN_TX_SOCKETS);
    json_t *vnis = json_object_get(o, "vnis");
    assert_int_equal(json_array_size(vnis), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(vnis, 0), "vni")), 100);
    json_t *vteps = json_object_get(o, "vteps");
    assert_int_equal(json_array_size(vteps), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *v = json_array_get(vteps, i);
        const char *addr = json_string_value(json_object_get(v, "address"));
        if (!strcmp(addr, "127.0.0.4")) {
            assert_string_equal(json_string_value(json_object_get(v, "origin")), "control");
            assert_int_equal(json_array_size(json_object_get(v, "flood")), 1);
        } else {
            assert_string_equal(addr, "127.0.0.3");
            assert_string_equal(json_string_value(json_object_get(v, "origin")), "config");
            assert_int_equal(json_array_size(json_object_get(v, "flood")), 2);
        }
    }
    json_t *rm = json_object_get(o, "remote_macs");
    assert_int_equal(json_integer_value(json_object_get(rm, "max")), 4096);
    assert_int_equal(json_integer_value(json_object_get(rm, "max_per_vtep")), 1024);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "vxlan_drops"),
                                                        "unlisted")),
                     1);
    json_decref(o);
}

/* Offloads through the sockets: a guest's 64 KiB GSO frame leaves as its
 * segments (a UDP_SEGMENT train), and a train sent to the port comes in as
 * one buffer, is merged back into one frame and reaches a guest without
 * offloads as exactly the segments that were sent. */
static void test_offloads(void **state)
{
    struct dp *w = *state;
    struct vn_vxlan *x = X(w);
    uint8_t d[2048];
    size_t dl;
    struct vn_frame f = { .data = big };
    f.len = (uint32_t)tso_frame(big, false, 40000, 1398, 0x18, &f.off);
    memcpy(big, R1, 6); /* to R1, behind remote 0 */
    memcpy(big + 6, GA, 6);
    uint8_t b[128];
    size_t bl = frame(b, BC, R1, 1);
    from_remote(w, 0, 100, b, bl); /* learn R1 */
    int n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
    assert_int_equal(n, 29);
    /* Straight to the port's send(), as the switch hands a tap's frame over. */
    struct vn_frame g = f, *gp = &g;
    uint64_t trains = x->st.gso_trains;
    w->vx->ops->send(w->vx, &gp, 1);
    assert_int_equal(x->st.gso_trains, trains + 1);
    for (int i = 0; i < n; i++) {
        ssize_t r = recv(w->r[0], d, sizeof d, MSG_DONTWAIT);
        assert_int_equal(r, (ssize_t)(segs[i].len + 8));
        assert_int_equal(d[0], 0x08);
        assert_memory_equal(d + 8, segs[i].data, segs[i].len);
    }
    assert_int_equal(at_remote(w, 0, d, &dl, NULL), 0);

    /* A train from remote 0: 29 datagrams in one UDP_SEGMENT send. */
    f.len = (uint32_t)tso_frame(big, false, 40000, 1398, 0x18, &f.off);
    memcpy(big, GA, 6);
    memcpy(big + 6, R1, 6);
    n = vn_gso_segment(&f, segbuf, sizeof segbuf, segs, VN_GSO_MAX_SEGS);
    static uint8_t train[65536];
    size_t tl = 0;
    for (int i = 0; i < n; i++) {
        vn_vxlan_hdr_put(train + tl, 100);
        memcpy(train + tl + 8, segs[i].data, segs[i].len);
        tl += 8 + segs[i].len;
    }
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } ctl;
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(x->local_port),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    struct iovec iov = { train, tl };
    struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = ctl.buf,
                        .msg_controllen = sizeof ctl.buf };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t gs = (uint16_t)(8 + segs[0].len);
    memcpy(CMSG_DATA(c), &gs, sizeof gs);
    assert_int_equal(sendmsg(w->r[0], &m, 0), (ssize_t)tl);
    w->ra.n = 0;
    uint64_t merged = x->st.coalesced;
    vn_loop_once(w->loop, 200);
    assert_int_equal(x->st.coalesced - merged, (uint64_t)n - 1);
    assert_true(x->st.gro_buffers >= 1);
    assert_int_equal(w->ra.n, (unsigned)n); /* the recording port takes no GSO */
    for (int i = 0; i < n; i++) {
        assert_int_equal(w->ra.len[i], segs[i].len);
        assert_memory_equal(w->ra.f[i], segs[i].data, segs[i].len);
    }
    struct vn_addr r0 = vn_addr4(0x7f000002);
    assert_int_equal(x->tab.vteps[vn_vx_vtep_find(&x->tab, &r0)].rx_frames, 1 + (uint64_t)n);
    /* The status says so. */
    json_t *o = json_object();
    w->vx->ops->describe(w->vx, o);
    json_t *off = json_object_get(o, "offloads");
    assert_true(json_is_true(json_object_get(off, "udp_gso")));
    assert_int_equal(json_integer_value(json_object_get(off, "coalesced")), n - 1);
    assert_int_equal(json_integer_value(json_object_get(off, "gso_trains")), 1);
    json_decref(o);
}

/* The switch's side: frames of a classifying port keep the network the
 * backend set, tagged ones are refused, and egress is never tagged. */
static void test_switch_classify(void **state)
{
    struct dp *w = *state;
    assert_true(w->vx->fwd->classifies && w->vx->fwd->trunk);
    assert_int_equal(vn_port_egress_vid(w->vx, 0), 0);
    assert_int_equal(vn_port_egress_vid(w->vx, 1), 0);
    uint16_t ids[4];
    const struct vn_net_conf *nc[4];
    assert_int_equal(vn_port_networks(w->vx, ids, nc, 4), 2);
    assert_string_equal(nc[0]->name, "lan");
    assert_int_equal(nc[1]->vni, 200);
    assert_int_equal(vn_port_networks(w->a, ids, nc, 4), 1);
    /* Straight into the switch: net 1 (mgmt) is taken as given ... */
    uint8_t *b = w->sw->dp[0]->rxbuf[0] + VN_HEADROOM;
    frame(b, BC, R1, 9);
    w->sw->dp[0]->rxframes[0] = (struct vn_frame){ .data = b, .len = 60, .net = 1 };
    vn_switch_input(w->sw, w->vx, w->sw->dp[0]->rxframes, 1);
    assert_int_equal(w->rm.n, 1);
    assert_int_equal(w->ra.n, 0);
    /* ... a network it does not carry, or a tagged frame, is a vlan drop. */
    uint64_t before = w->vx->stats.rx_drops[VN_DROP_VLAN];
    w->sw->dp[0]->rxframes[0] = (struct vn_frame){ .data = b, .len = 60, .net = 7 };
    vn_switch_input(w->sw, w->vx, w->sw->dp[0]->rxframes, 1);
    vn_put_be16(b + 12, VN_ETH_TYPE_VLAN);
    w->sw->dp[0]->rxframes[0] = (struct vn_frame){ .data = b, .len = 60, .net = 0 };
    vn_switch_input(w->sw, w->vx, w->sw->dp[0]->rxframes, 1);
    assert_int_equal(w->vx->stats.rx_drops[VN_DROP_VLAN], before + 2);
    assert_int_equal(w->ra.n, 0);
}

int main(void)
{
    vn_hash_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_flow_hash),
        cmocka_unit_test(test_tso_split),
        cmocka_unit_test(test_gro), cmocka_unit_test(test_gro_buffers),
        cmocka_unit_test(test_table_learn_move_age),
        cmocka_unit_test(test_table_share),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_table_static),
        cmocka_unit_test(test_table_vteps),
        cmocka_unit_test(test_table_model),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test_setup_teardown(test_datapath, dp_setup, dp_teardown),
        cmocka_unit_test_setup_teardown(test_control_and_status, dp_setup, dp_teardown),
        cmocka_unit_test_setup_teardown(test_switch_classify, dp_setup, dp_teardown),
        cmocka_unit_test_setup_teardown(test_offloads, dp_setup, dp_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
