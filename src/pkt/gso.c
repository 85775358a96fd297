/* Checksum completion and TCP segmentation in software: see gso.h. */
#include "gso.h"
#include "csum.h"
#include "eth.h"

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>

int vn_csum_partial(const struct vn_frame *f, uint16_t *csum, uint32_t *pos)
{
    if (!(f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return -1;
    uint32_t start = f->off.csum_start;
    *pos = start + f->off.csum_offset;
    if (start >= f->len || *pos + 2 > f->len)
        return -1;
    /* The field holds the pseudo-header sum; summing over it folds it in. */
    *csum = vn_csum_fold(vn_csum_add(0, f->data + start, f->len - start));
    return 0;
}

int vn_csum_complete(struct vn_frame *f)
{
    if (!(f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        return 0;
    uint16_t c;
    uint32_t pos;
    if (vn_csum_partial(f, &c, &pos) < 0)
        return -1;
    vn_put_be16(f->data + pos, c);
    f->off.flags &= (uint8_t)~VIRTIO_NET_HDR_F_NEEDS_CSUM;
    f->off.flags |= VIRTIO_NET_HDR_F_DATA_VALID;
    return 0;
}

/* Parse the headers of a TCP GSO frame: IP header length and TCP header
 * length. Returns 0 or -1. */
static int gso_parse(const struct vn_frame *f, size_t *iphl, size_t *thl)
{
    const uint8_t *d = f->data;
    size_t len = f->len, l3 = VN_ETH_HLEN;
    if (len < VN_ETH_HLEN + 20 || !f->off.gso_size)
        return -1;
    uint16_t et = vn_get_be16(d + 12);
    if (f->off.gso_type == VIRTIO_NET_HDR_GSO_TCPV4) {
        if (et != VN_ETH_TYPE_IPV4 || (d[l3] >> 4) != 4)
            return -1;
        *iphl = (size_t)(d[l3] & 15) * 4;
        if (*iphl < 20 || d[l3 + 9] != 6)
            return -1;
    } else if (f->off.gso_type == VIRTIO_NET_HDR_GSO_TCPV6) {
        if (et != VN_ETH_TYPE_IPV6 || (d[l3] >> 4) != 6 || len < l3 + 40 || d[l3 + 6] != 6)
            return -1; /* extension headers before TCP are not segmented */
        *iphl = 40;
    } else {
        return -1;
    }
    size_t l4 = l3 + *iphl;
    if (len < l4 + 20)
        return -1;
    *thl = (size_t)(d[l4 + 12] >> 4) * 4;
    if (*thl < 20 || len < l4 + *thl)
        return -1;
    return 0;
}

int vn_gso_hdr_len(const struct vn_frame *f)
{
    size_t iphl, thl;
    if (gso_parse(f, &iphl, &thl))
        return -1;
    return (int)(VN_ETH_HLEN + iphl + thl);
}

int vn_gso_segment(const struct vn_frame *f, uint8_t *buf, size_t buflen, struct vn_frame *out,
                   unsigned max)
{
    const uint8_t *d = f->data;
    size_t iphl, thl;
    if (gso_parse(f, &iphl, &thl))
        return -1;
    bool v4 = f->off.gso_type == VIRTIO_NET_HDR_GSO_TCPV4;
    size_t len = f->len, l3 = VN_ETH_HLEN, l4 = l3 + iphl;
    size_t hdr = l4 + thl, payload = len - hdr, mss = f->off.gso_size;
    unsigned nseg = (unsigned)((payload + mss - 1) / mss);
    if (!payload)
        nseg = 1;
    if (nseg > max || nseg * hdr + payload > buflen)
        return -1;
    uint32_t seq0 = vn_get_be32(d + l4 + 4);
    uint16_t id0 = v4 ? vn_get_be16(d + l3 + 4) : 0;
    uint8_t flags0 = d[l4 + 13];
    uint8_t *w = buf;
    for (unsigned i = 0; i < nseg; i++) {
        size_t seg = payload - (size_t)i * mss < mss ? payload - (size_t)i * mss : mss;
        bool last = i == nseg - 1;
        memcpy(w, d, hdr);
        memcpy(w + hdr, d + hdr + (size_t)i * mss, seg);
        uint8_t *ip = w + l3, *tcp = w + l4;
        uint32_t l4len = (uint32_t)(thl + seg);
        if (v4) {
            vn_put_be16(ip + 2, (uint16_t)(iphl + l4len));
            vn_put_be16(ip + 4, (uint16_t)(id0 + i));
            vn_put_be16(ip + 10, 0);
            vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, iphl));
        } else {
            vn_put_be16(ip + 4, (uint16_t)l4len);
        }
        vn_put_be32(tcp + 4, seq0 + (uint32_t)(i * mss));
        uint8_t fl = flags0;
        if (!last)
            fl &= (uint8_t)~0x09; /* FIN, PSH only on the last segment */
        if (i)
            fl &= (uint8_t)~0x80; /* CWR only on the first */
        tcp[13] = fl;
        vn_put_be16(tcp + 16, 0);
        uint32_t ps = v4 ? vn_csum_pseudo4(ip + 12, ip + 16, 6, l4len)
                         : vn_csum_pseudo6(ip + 8, ip + 24, 6, l4len);
        vn_put_be16(tcp + 16, vn_csum_fold(vn_csum_add(ps, tcp, l4len)));
        out[i] = (struct vn_frame){ .data = w, .len = (uint32_t)(hdr + seg), .net = f->net,
                                    .off = { .flags = VIRTIO_NET_HDR_F_DATA_VALID } };
        w += hdr + seg;
    }
    return (int)nseg;
}
