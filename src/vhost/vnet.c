/* virtio-net over a vring (see vnet.h): tx chains copied out into frames,
 * frames scattered into one or several rx chains. */
#include "vhost/vnet.h"

#include <limits.h>
#include <linux/virtio_config.h>
#include <linux/virtio_net.h>
#include <string.h>

size_t vn_vnet_hdr_len(uint64_t features)
{
    if (features & ((1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_NET_F_MRG_RXBUF)))
        return sizeof(struct virtio_net_hdr_mrg_rxbuf);
    return sizeof(struct virtio_net_hdr);
}

int vn_vnet_tx_frame(const struct vn_vring_chain *c, size_t hdr_len, uint8_t *buf, size_t cap,
                     struct vn_offload *off)
{
    uint8_t h[sizeof(struct virtio_net_hdr_mrg_rxbuf)] = { 0 };
    if (hdr_len > sizeof(h) || hdr_len < sizeof(struct virtio_net_hdr))
        return -1;
    if (c->len < hdr_len + 14)
        return -1;
    uint64_t flen = c->len - hdr_len;
    if (flen > cap || flen > INT_MAX)
        return -1;
    /* one pass over the buffers: the header's bytes first, then the frame's */
    size_t hpos = 0, fpos = 0;
    for (unsigned i = 0; i < c->niov; i++) {
        const uint8_t *p = c->iov[i].iov_base;
        size_t n = c->iov[i].iov_len;
        if (hpos < hdr_len) {
            size_t k = n < hdr_len - hpos ? n : hdr_len - hpos;
            memcpy(h + hpos, p, k);
            hpos += k;
            p += k;
            n -= k;
        }
        if (n > flen - fpos) /* c->len is the sum of the buffers; stay safe anyway */
            n = flen - fpos;
        memcpy(buf + fpos, p, n);
        fpos += n;
    }
    if (fpos != flen)
        return -1;
    struct virtio_net_hdr vh;
    memcpy(&vh, h, sizeof(vh)); /* from the copy: the guest cannot change it now */
    *off = (struct vn_offload){ 0 };
    uint8_t gso = vh.gso_type;
    if (gso != VIRTIO_NET_HDR_GSO_NONE && gso != VIRTIO_NET_HDR_GSO_TCPV4 &&
        gso != VIRTIO_NET_HDR_GSO_TCPV6)
        return -1; /* UDP, UDP_L4, ECN: not negotiated */
    if (gso != VIRTIO_NET_HDR_GSO_NONE) {
        if (vh.gso_size == 0 || vh.hdr_len > flen)
            return -1;
        off->gso_type = gso;
        off->gso_size = vh.gso_size;
        off->hdr_len = vh.hdr_len;
    }
    off->flags = vh.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID);
    if (off->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        if ((uint32_t)vh.csum_start + vh.csum_offset + 2 > flen)
            return -1;
        off->csum_start = vh.csum_start;
        off->csum_offset = vh.csum_offset;
    }
    return (int)flen;
}

/* A read position in a list of source buffers. */
struct cursor {
    const struct iovec *iov;
    unsigned n, i;
    size_t off;
};

/* Copy up to len bytes from cur to dst; returns how many (fewer at the end). */
static size_t cursor_copy(struct cursor *cur, uint8_t *dst, size_t len)
{
    size_t done = 0;
    while (done < len && cur->i < cur->n) {
        const struct iovec *v = &cur->iov[cur->i];
        size_t k = v->iov_len - cur->off;
        if (k > len - done)
            k = len - done;
        memcpy(dst + done, (const uint8_t *)v->iov_base + cur->off, k);
        done += k;
        cur->off += k;
        if (cur->off == v->iov_len) {
            cur->i++;
            cur->off = 0;
        }
    }
    return done;
}

/* Write up to len bytes from cur into chain c starting at byte at; returns
 * how many were written (limited by the chain and the source). */
static size_t chain_write(const struct vn_vring_chain *c, size_t at, struct cursor *cur, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < c->niov && done < len; i++) {
        size_t n = c->iov[i].iov_len;
        if (at >= n) {
            at -= n;
            continue;
        }
        size_t k = n - at < len - done ? n - at : len - done;
        size_t got = cursor_copy(cur, (uint8_t *)c->iov[i].iov_base + at, k);
        done += got;
        at = 0;
        if (got < k)
            break;
    }
    return done;
}

/* Write the virtio-net header (hdr_len bytes) for off at the start of c. */
static void put_header(const struct vn_vring_chain *c, size_t hdr_len, const struct vn_offload *off,
                       uint16_t num_buffers)
{
    struct virtio_net_hdr_mrg_rxbuf h = { .num_buffers = num_buffers };
    if (off) {
        h.hdr.flags = off->flags;
        h.hdr.gso_type = off->gso_type;
        h.hdr.hdr_len = off->hdr_len;
        h.hdr.gso_size = off->gso_size;
        h.hdr.csum_start = off->csum_start;
        h.hdr.csum_offset = off->csum_offset;
    }
    struct iovec v = { .iov_base = &h, .iov_len = hdr_len };
    struct cursor cur = { .iov = &v, .n = 1 };
    chain_write(c, 0, &cur, hdr_len);
}

int vn_vnet_rx_frame(struct vn_vring *vq, const struct vn_vhost_mem *mem, size_t hdr_len,
                     bool mergeable, const struct iovec *iov, unsigned niov,
                     const struct vn_offload *off)
{
    size_t flen = 0;
    for (unsigned i = 0; i < niov; i++)
        flen += iov[i].iov_len;
    if (hdr_len > sizeof(struct virtio_net_hdr_mrg_rxbuf) || flen > UINT32_MAX - hdr_len)
        return 0;
    struct cursor src = { .iov = iov, .n = niov };
    struct vn_vring_chain first, more;
    int r = vn_vring_pop(vq, mem, true, &first);
    if (r <= 0)
        return r;
    if (first.len < hdr_len) {
        vn_vring_break(vq, "receive buffer shorter than the virtio-net header");
        return -1;
    }
    if (!mergeable) {
        if (first.len < hdr_len + flen) {
            vn_vring_unpop(vq, 1);
            return 0;
        }
        put_header(&first, hdr_len, off, 1);
        chain_write(&first, hdr_len, &src, flen);
        vn_vring_push(vq, first.head, (uint32_t)(hdr_len + flen));
        return 1;
    }
    /* mergeable: fill chains in turn; the first header says how many */
    size_t done = chain_write(&first, hdr_len, &src, flen);
    vn_vring_push(vq, first.head, (uint32_t)(hdr_len + done));
    uint16_t count = 1;
    while (done < flen) {
        r = vn_vring_pop(vq, mem, true, &more);
        if (r < 0)
            return -1;
        if (r == 0) {
            vn_vring_unpush(vq, count);
            vn_vring_unpop(vq, count);
            return 0;
        }
        count++;
        if (more.len < hdr_len) {
            vn_vring_break(vq, "receive buffer shorter than the virtio-net header");
            return -1;
        }
        size_t n = chain_write(&more, 0, &src, flen - done);
        vn_vring_push(vq, more.head, (uint32_t)n);
        done += n;
    }
    put_header(&first, hdr_len, off, count);
    return 1;
}
