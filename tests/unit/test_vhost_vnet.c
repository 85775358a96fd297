/* Unit tests of virtio-net over a vring (src/vhost/vnet.c) against a guest
 * driver in local memory (vhost_guest.h): header lengths by feature; tx
 * chains with the header split over descriptors, sharing one with the
 * frame, or alone, and every malformed header refused with the ring left
 * working; rx into one chain (legacy 10-byte header), too small (nothing
 * consumed), mergeable buffers across several chains with num_buffers,
 * rollback when the ring runs out, a buffer shorter than the header
 * breaking the ring; and the offload metadata surviving rx -> tx. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "port/port.h"
#include "vhost/vnet.h"
#include "vhost_guest.h"

#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <string.h>

static struct guest *new_guest(uint16_t num)
{
    struct guest *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    assert_int_equal(guest_init(g, num, true), 0);
    return g;
}

static void del_guest(struct guest *g)
{
    guest_free(g);
    free(g);
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed);
}

/* The first len bytes the device wrote into the chain at head (following
 * the driver's own descriptors). */
static void read_chain(struct guest *g, uint16_t head, uint8_t *out, size_t len)
{
    size_t got = 0;
    uint16_t i = head;
    for (;;) {
        const struct vring_desc *d = &g->desc[i];
        size_t k = d->len < len - got ? d->len : len - got;
        memcpy(out + got, guest_ptr(g, d->addr), k);
        got += k;
        if (got == len || !(d->flags & VRING_DESC_F_NEXT))
            break;
        i = d->next;
    }
    assert_int_equal(got, len);
}

static void test_hdr_len(void **state)
{
    (void)state;
    assert_int_equal(vn_vnet_hdr_len(0), 10);
    assert_int_equal(vn_vnet_hdr_len(1ull << VIRTIO_F_VERSION_1), 12);
    assert_int_equal(vn_vnet_hdr_len(1ull << VIRTIO_NET_F_MRG_RXBUF), 12);
    assert_int_equal(vn_vnet_hdr_len(1ull << VIRTIO_NET_F_CSUM), 10);
}

static const struct vn_offload tso = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                                       .hdr_len = 54,
                                       .gso_size = 1448,
                                       .csum_start = 34,
                                       .csum_offset = 16 };

static void put_hdr(uint8_t *h, const struct vn_offload *o)
{
    struct virtio_net_hdr_mrg_rxbuf x = { .hdr = { .flags = o->flags, .gso_type = o->gso_type,
                                                   .hdr_len = o->hdr_len, .gso_size = o->gso_size,
                                                   .csum_start = o->csum_start,
                                                   .csum_offset = o->csum_offset } };
    memcpy(h, &x, sizeof(x));
}

/* Add header+frame (hdr 12) to g as a tx chain cut at the given offsets,
 * pop it and return vn_vnet_tx_frame's result. */
static int tx_cut(struct guest *g, const uint8_t *bytes, size_t len, const size_t *cuts,
                  unsigned ncuts, uint8_t *buf, size_t cap, struct vn_offload *off)
{
    struct gbuf b[8];
    size_t at = 0;
    for (unsigned i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        b[i] = (struct gbuf){ bytes + at, (uint32_t)(end - at), false };
        at = end;
    }
    uint16_t head = guest_add(g, b, ncuts + 1);
    struct vn_vring_chain c;
    assert_int_equal(vn_vring_pop(&g->vq, &g->m, false, &c), 1);
    assert_int_equal(c.head, head);
    int r = vn_vnet_tx_frame(&c, 12, buf, cap, off);
    vn_vring_push(&g->vq, c.head, 0);
    vn_vring_publish(&g->vq);
    return r;
}

static void test_tx(void **state)
{
    (void)state;
    struct guest *g = new_guest(16);
    uint8_t bytes[12 + 300];
    put_hdr(bytes, &tso);
    fill(bytes + 12, 300, 1);
    static uint8_t buf[VN_FRAME_MAX];
    struct vn_offload off;
    const size_t split[] = { 5, 20, 100 };     /* header split, shares a buffer with the frame */
    const size_t alone[] = { 12 };             /* header alone */
    const size_t shared[] = { 200 };           /* header and most of the frame together */
    const struct {
        const size_t *c;
        unsigned n;
    } ways[] = { { split, 3 }, { alone, 1 }, { shared, 1 }, { NULL, 0 } };
    for (unsigned w = 0; w < 4; w++) {
        memset(buf, 0, 400);
        memset(&off, 0xee, sizeof(off));
        assert_int_equal(tx_cut(g, bytes, sizeof(bytes), ways[w].c, ways[w].n, buf, sizeof(buf),
                                &off), 300);
        assert_memory_equal(buf, bytes + 12, 300);
        assert_memory_equal(&off, &tso, sizeof(off));
    }
    /* a plain frame: all zero, and fields without their flag are not taken */
    struct vn_offload plain = { .csum_start = 5, .csum_offset = 6 };
    put_hdr(bytes, &plain);
    bytes[0] = 0x80; /* an unknown flag is ignored */
    assert_int_equal(tx_cut(g, bytes, sizeof(bytes), NULL, 0, buf, sizeof(buf), &off), 300);
    struct vn_offload zero = { 0 };
    assert_memory_equal(&off, &zero, sizeof(off));
    assert_null(g->vq.broken);
    del_guest(g);
}

static void test_tx_malformed(void **state)
{
    (void)state;
    struct guest *g = new_guest(32);
    uint8_t bytes[12 + 100];
    fill(bytes + 12, 100, 2);
    static uint8_t buf[VN_FRAME_MAX];
    struct vn_offload off, o;
    const struct vn_offload bad[] = {
        { .gso_type = VIRTIO_NET_HDR_GSO_UDP, .gso_size = 100 },
        { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, .gso_size = 100 },
        { .gso_type = 5, .gso_size = 100 },
        { .gso_type = VIRTIO_NET_HDR_GSO_TCPV6, .gso_size = 0 },
        { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 10, .hdr_len = 101 },
        { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90, .csum_offset = 9 },
        { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 0xffff, .csum_offset = 0xffff },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        put_hdr(bytes, &bad[i]);
        assert_int_equal(tx_cut(g, bytes, sizeof(bytes), NULL, 0, buf, sizeof(buf), &off), -1);
    }
    /* the last byte pair of the frame is still a valid checksum place */
    o = (struct vn_offload){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 90,
                             .csum_offset = 8 };
    put_hdr(bytes, &o);
    assert_int_equal(tx_cut(g, bytes, sizeof(bytes), NULL, 0, buf, sizeof(buf), &off), 100);
    /* too short (header + 13 bytes), longer than cap, shorter than the header */
    put_hdr(bytes, &(struct vn_offload){ 0 });
    assert_int_equal(tx_cut(g, bytes, 12 + 13, NULL, 0, buf, sizeof(buf), &off), -1);
    assert_int_equal(tx_cut(g, bytes, 12 + 14, NULL, 0, buf, sizeof(buf), &off), 14);
    assert_int_equal(tx_cut(g, bytes, sizeof(bytes), NULL, 0, buf, 99, &off), -1);
    assert_int_equal(tx_cut(g, bytes, 7, NULL, 0, buf, sizeof(buf), &off), -1);
    /* the ring goes on */
    assert_null(g->vq.broken);
    assert_int_equal(tx_cut(g, bytes, sizeof(bytes), NULL, 0, buf, sizeof(buf), &off), 100);
    del_guest(g);
}

static void test_rx_single(void **state)
{
    (void)state;
    struct guest *g = new_guest(8);
    uint8_t frame[1500];
    fill(frame, sizeof(frame), 3);
    struct iovec src[2] = { { frame, 700 }, { frame + 700, 800 } };
    /* legacy 10-byte header, a chain of two 1000-byte buffers */
    struct gbuf w[2] = { { NULL, 1000, true }, { NULL, 1000, true } };
    uint16_t head = guest_add(g, w, 2);
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 10, false, src, 2, &tso), 1);
    uint32_t id = 0, len = 0;
    assert_false(guest_used(g, &id, &len)); /* the caller publishes */
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(id, head);
    assert_int_equal(len, 1510);
    static uint8_t got[1510];
    read_chain(g, head, got, 1510);
    struct virtio_net_hdr h;
    memcpy(&h, got, 10);
    assert_int_equal(h.flags, tso.flags);
    assert_int_equal(h.gso_type, tso.gso_type);
    assert_int_equal(h.hdr_len, tso.hdr_len);
    assert_int_equal(h.gso_size, tso.gso_size);
    assert_int_equal(h.csum_start, tso.csum_start);
    assert_int_equal(h.csum_offset, tso.csum_offset);
    assert_memory_equal(got + 10, frame, 1500);

    /* a chain too small: nothing consumed, it stays first in line */
    struct gbuf small = { NULL, 200, true };
    uint16_t shead = guest_add(g, &small, 1);
    uint16_t la = g->vq.last_avail, ui = g->vq.used_idx;
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 10, false, src, 2, NULL), 0);
    assert_int_equal(g->vq.last_avail, la);
    assert_int_equal(g->vq.used_idx, ui);
    struct iovec one = { frame, 100 };
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 10, false, &one, 1, NULL), 1);
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(id, shead);
    assert_int_equal(len, 110);
    read_chain(g, shead, got, 110);
    uint8_t zero[10] = { 0 };
    assert_memory_equal(got, zero, 10);
    assert_memory_equal(got + 10, frame, 100);
    /* empty ring */
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 10, false, &one, 1, NULL), 0);
    del_guest(g);
}

static void test_rx_mergeable(void **state)
{
    (void)state;
    struct guest *g = new_guest(8);
    uint8_t frame[250];
    fill(frame, sizeof(frame), 4);
    struct iovec src = { frame, sizeof(frame) };
    struct gbuf b = { NULL, 100, true };
    uint16_t heads[4];
    for (int i = 0; i < 4; i++)
        heads[i] = guest_add(g, &b, 1);
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), 1);
    vn_vring_publish(&g->vq);
    const uint32_t want[3] = { 100, 100, 62 };
    uint8_t all[262];
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        uint32_t id = 0, len = 0;
        assert_true(guest_used(g, &id, &len));
        assert_int_equal(id, heads[i]);
        assert_int_equal(len, want[i]);
        read_chain(g, (uint16_t)id, all + at, len);
        at += len;
    }
    uint32_t id = 0, len = 0;
    assert_false(guest_used(g, &id, &len));
    struct virtio_net_hdr_mrg_rxbuf h;
    memcpy(&h, all, 12);
    assert_int_equal(h.num_buffers, 3);
    assert_int_equal(h.hdr.flags, 0);
    assert_memory_equal(all + 12, frame, 250);
    /* one buffer left: a 250-byte frame does not fit, nothing consumed */
    assert_int_equal(g->vq.last_avail, 3);
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), 0);
    assert_int_equal(g->vq.last_avail, 3);
    assert_int_equal(g->vq.used_idx, 3);
    vn_vring_publish(&g->vq);
    assert_false(guest_used(g, &id, &len));
    /* two more buffers: now it fits, starting with the one left */
    guest_add(g, &b, 1);
    guest_add(g, &b, 1);
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), 1);
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(id, heads[3]);
    assert_int_equal(len, 100);
    /* a frame that fits one buffer: num_buffers 1 */
    guest_add(g, &b, 1);
    guest_add(g, &b, 1);
    assert_true(guest_used(g, &id, &len));
    assert_true(guest_used(g, &id, &len));
    struct iovec small = { frame, 50 };
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &small, 1, NULL), 1);
    vn_vring_publish(&g->vq);
    assert_true(guest_used(g, &id, &len));
    assert_int_equal(len, 62);
    read_chain(g, (uint16_t)id, all, 62);
    memcpy(&h, all, 12);
    assert_int_equal(h.num_buffers, 1);
    assert_null(g->vq.broken);
    del_guest(g);
}

static void test_rx_short_buffer(void **state)
{
    (void)state;
    uint8_t frame[100] = { 0 };
    struct iovec src = { frame, sizeof(frame) };
    for (int second = 0; second < 2; second++) {
        struct guest *g = new_guest(8);
        struct gbuf ok = { NULL, 64, true }, tiny = { NULL, 8, true };
        guest_add(g, second ? &ok : &tiny, 1);
        guest_add(g, &tiny, 1);
        assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), -1);
        assert_non_null(g->vq.broken);
        assert_non_null(strstr(g->vq.broken, "shorter than the virtio-net header"));
        assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), -1);
        del_guest(g);
    }
    /* a read-only chain on the rx ring */
    struct guest *g = new_guest(8);
    struct gbuf ro = { NULL, 2000, false };
    guest_add(g, &ro, 1);
    assert_int_equal(vn_vnet_rx_frame(&g->vq, &g->m, 12, true, &src, 1, NULL), -1);
    assert_non_null(strstr(g->vq.broken, "read-only"));
    del_guest(g);
}

static void test_offload_round_trip(void **state)
{
    (void)state;
    struct guest *rx = new_guest(8), *tx = new_guest(8);
    static uint8_t frame[3000], got[3012], buf[VN_FRAME_MAX];
    fill(frame, sizeof(frame), 5);
    const struct vn_offload offs[] = {
        tso,
        { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV6,
          .hdr_len = 74, .gso_size = 1428, .csum_start = 54, .csum_offset = 16 },
        { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34, .csum_offset = 6 },
        { .flags = VIRTIO_NET_HDR_F_DATA_VALID },
        { 0 },
    };
    for (unsigned i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        struct gbuf b[3] = { { NULL, 1000, true }, { NULL, 1000, true }, { NULL, 1012, true } };
        uint16_t head = guest_add(rx, b, 3);
        struct iovec src = { frame, sizeof(frame) };
        assert_int_equal(vn_vnet_rx_frame(&rx->vq, &rx->m, 12, true, &src, 1, &offs[i]), 1);
        vn_vring_publish(&rx->vq);
        uint32_t id = 0, len = 0;
        assert_true(guest_used(rx, &id, &len));
        assert_int_equal(id, head);
        assert_int_equal(len, 3012);
        read_chain(rx, head, got, 3012);
        /* the guest sends back what it received, header and all */
        const size_t cuts[] = { 7, 1500 };
        struct vn_offload off;
        assert_int_equal(tx_cut(tx, got, 3012, cuts, 2, buf, sizeof(buf), &off), 3000);
        assert_memory_equal(&off, &offs[i], sizeof(off));
        assert_memory_equal(buf, frame, 3000);
    }
    del_guest(rx);
    del_guest(tx);
}

/* A frame that leaves tagged (vn_port_frame_iov gave 3 entries) has its
 * offload offsets moved by the tag; untagged (1 entry) they stay; without a
 * partial checksum csum_start is 0 whatever it held. */
static void test_tagged_offload(void **state)
{
    (void)state;
    struct vn_offload o = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
                            .hdr_len = 54, .gso_size = 1448, .csum_start = 34, .csum_offset = 16 };
    struct vn_offload t = vn_port_frame_offload(&o, 3);
    assert_int_equal(t.hdr_len, 58);
    assert_int_equal(t.csum_start, 38);
    assert_int_equal(t.csum_offset, 16);
    assert_int_equal(t.gso_size, 1448);
    struct vn_offload u = vn_port_frame_offload(&o, 1);
    assert_int_equal(u.hdr_len, 54);
    assert_int_equal(u.csum_start, 34);
    struct vn_offload v = { .flags = VIRTIO_NET_HDR_F_DATA_VALID, .csum_start = 99 };
    struct vn_offload w = vn_port_frame_offload(&v, 3);
    assert_int_equal(w.csum_start, 0);
    assert_int_equal(w.hdr_len, 0);
    assert_int_equal(w.flags, VIRTIO_NET_HDR_F_DATA_VALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hdr_len),
        cmocka_unit_test(test_tx),
        cmocka_unit_test(test_tx_malformed),
        cmocka_unit_test(test_rx_single),
        cmocka_unit_test(test_rx_mergeable),
        cmocka_unit_test(test_rx_short_buffer),
        cmocka_unit_test(test_offload_round_trip),
        cmocka_unit_test(test_tagged_offload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
