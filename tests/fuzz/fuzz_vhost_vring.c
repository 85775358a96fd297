/* libFuzzer target: the virtqueue core (src/vhost/vring.c, vnet.c) over a
 * hostile guest. The input builds a memory table of 1-3 regions of local
 * memory (each its own allocation of exactly its size, so ASan sees any byte
 * touched outside them) and fills them with its bytes: the descriptor table,
 * the available ring and everything the descriptors point at come from the
 * fuzzer. Then the ring is run as a tx ring (pop, vn_vnet_tx_frame, push,
 * publish, should_call, notify_enable) until empty or broken, and restarted
 * as an rx ring receiving frames (vn_vnet_rx_frame, mergeable or not) until
 * it has no room or breaks. Checked besides memory safety: every buffer of
 * a popped chain lies inside one region's memory, the chain's length adds
 * up, a tx frame is what the chain holds after the header, "no room" takes
 * nothing, and every loop ends (bounded steps; libFuzzer's timeout).
 *
 * Input: [0] regions-1 (mod 3), [1] log2 ring size (mod 9), [2] flags
 * (1 mergeable, 2 12-byte header, 4 event idx, 8 kicks off, 16 ring
 * addresses from the input), [3..4] rx frame length, [5..10] per region:
 * size in 256-byte units - 1 and the gap before it in 64-byte units, [11..]
 * ring offsets (when flag 16: desc, avail, used, 2 bytes each, in region 0),
 * then the regions' contents in order. Region 0 has guest-physical address
 * 0 and holds the rings (by default desc at 0, avail and used after it). */
#include "vhost/mem.h"
#include "vhost/vnet.h"
#include "vhost/vring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                        \
    do {                                                                \
        if (!(c)) {                                                     \
            fprintf(stderr, "fuzz: check failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                    \
        }                                                               \
    } while (0)

static struct vn_vhost_mem mem;
static uint8_t *hosts[3];
static uint64_t sizes[3];
static unsigned nreg;

/* every buffer of c lies inside one region's memory; the lengths add up */
static void check_chain(const struct vn_vring_chain *c, uint16_t num)
{
    CHECK(c->niov <= VN_VRING_MAX_IOV);
    CHECK(c->head < num);
    uint64_t sum = 0;
    for (unsigned i = 0; i < c->niov; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        size_t n = c->iov[i].iov_len;
        CHECK(n > 0);
        bool inside = false;
        for (unsigned r = 0; r < nreg; r++)
            if (p >= hosts[r] && p + n <= hosts[r] + sizes[r] && p + n > p)
                inside = true;
        CHECK(inside);
        sum += n;
    }
    CHECK(sum == c->len);
}

static void run_tx(struct vn_vring *vq, size_t hdr_len, bool kicks_off)
{
    static uint8_t buf[VN_FRAME_MAX];
    struct vn_vring_chain c;
    for (unsigned i = 0; i < 2u * vq->num + 8; i++) {
        int r = vn_vring_pop(vq, &mem, false, &c);
        CHECK(r >= -1 && r <= 1);
        if (r <= 0) {
            CHECK(r == 0 || vq->broken);
            break;
        }
        check_chain(&c, vq->num);
        struct vn_offload off;
        int n = vn_vnet_tx_frame(&c, hdr_len, buf, sizeof(buf), &off);
        CHECK(n == -1 || (n >= 14 && (uint64_t)n + hdr_len == c.len));
        if (n > 0 && (off.flags & 1))
            CHECK((uint32_t)off.csum_start + off.csum_offset + 2 <= (uint32_t)n);
        vn_vring_push(vq, c.head, 0);
        if (i % 3 == 2) {
            vn_vring_publish(vq);
            (void)vn_vring_should_call(vq);
        }
        if (i == 1)
            vn_vring_notify_enable(vq, !kicks_off);
    }
    vn_vring_publish(vq);
    (void)vn_vring_should_call(vq);
    vn_vring_notify_enable(vq, true);
    (void)vn_vring_has_avail(vq);
}

static void run_rx(struct vn_vring *vq, size_t hdr_len, bool mergeable, size_t flen)
{
    static uint8_t frame[VN_FRAME_MAX];
    static const struct vn_offload off = { .flags = 1, .gso_type = 1, .hdr_len = 54,
                                           .gso_size = 1448, .csum_start = 34,
                                           .csum_offset = 16 };
    struct iovec iov[2] = { { frame, flen / 2 }, { frame + flen / 2, flen - flen / 2 } };
    for (unsigned i = 0; i < 2u * vq->num + 8; i++) {
        uint16_t la = vq->last_avail, ui = vq->used_idx;
        int r = vn_vnet_rx_frame(vq, &mem, hdr_len, mergeable, iov, 2, (i & 1) ? &off : NULL);
        CHECK(r >= -1 && r <= 1);
        if (r == 0) {
            CHECK(vq->last_avail == la && vq->used_idx == ui);
            break;
        }
        if (r < 0) {
            CHECK(vq->broken);
            break;
        }
        if (i % 2)
            vn_vring_publish(vq);
    }
    vn_vring_publish(vq);
    (void)vn_vring_should_call(vq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 17)
        return 0;
    nreg = 1 + data[0] % 3;
    uint16_t num = (uint16_t)(1u << (data[1] % 9));
    uint8_t flags = data[2];
    size_t flen = (size_t)(data[3] | data[4] << 8) % (VN_FRAME_MAX + 1);
    bool mergeable = flags & 1, event_idx = flags & 4;
    size_t hdr_len = (flags & 2) ? 12 : 10;
    uint32_t avail_off = 16u * num, used_off = (avail_off + 6u + 2u * num + 3u) & ~3u;
    uint32_t ring_end = used_off + 6u + 8u * num;

    struct vn_vhost_region_desc d[3];
    uint64_t gpa = 0;
    for (unsigned r = 0; r < nreg; r++) {
        uint64_t sz = 256u * (1u + data[5 + 2 * r]);
        if (r == 0 && !(flags & 16) && sz < ring_end)
            sz = ring_end;
        gpa += 64u * data[6 + 2 * r];
        if (r == 0)
            gpa = 0;
        d[r] = (struct vn_vhost_region_desc){ .gpa = gpa, .size = sz,
                                              .uva = 0x10000000ull * (r + 1) };
        gpa += sz;
        sizes[r] = sz;
        hosts[r] = malloc(sz);
        CHECK(hosts[r]);
    }
    const uint8_t *p = data + 17, *end = data + size;
    for (unsigned r = 0; r < nreg; r++) {
        size_t k = (size_t)(end - p) < sizes[r] ? (size_t)(end - p) : sizes[r];
        memcpy(hosts[r], p, k);
        memset(hosts[r] + k, 0, sizes[r] - k);
        p += k;
    }
    char err[160];
    CHECK(vn_vhost_mem_set_local(&mem, d, nreg, hosts, err, sizeof(err)) == 0);

    struct vn_vring vq = { .num = num };
    if (flags & 16) {
        vq.desc_uva = d[0].uva + (uint16_t)(data[11] | data[12] << 8);
        vq.avail_uva = d[0].uva + (uint16_t)(data[13] | data[14] << 8);
        vq.used_uva = d[0].uva + (uint16_t)(data[15] | data[16] << 8);
    } else {
        vq.desc_uva = d[0].uva;
        vq.avail_uva = d[0].uva + avail_off;
        vq.used_uva = d[0].uva + used_off;
    }
    if (vn_vring_start(&vq, &mem, event_idx, err, sizeof(err)) == 0) {
        CHECK(vq.started && !vq.broken);
        run_tx(&vq, hdr_len, flags & 8);
        /* the same memory as an rx ring, from the start */
        struct vn_vring rx = { .num = num, .desc_uva = vq.desc_uva, .avail_uva = vq.avail_uva,
                               .used_uva = vq.used_uva };
        CHECK(vn_vring_start(&rx, &mem, event_idx, err, sizeof(err)) == 0);
        run_rx(&rx, hdr_len, mergeable, flen);
        vn_vring_stop(&rx);
        vn_vring_stop(&vq);
    }
    vn_vhost_mem_unmap(&mem);
    for (unsigned r = 0; r < nreg; r++)
        free(hosts[r]);
    return 0;
}
