/* Cutting a TCP GSO frame into header copies and payload pointers: see
 * vxlan_tso.h. The segments are those of vn_gso_segment() (pkt/gso.c),
 * byte for byte, which the unit tests check. */
#include "vxlan_tso.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/gso.h"

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <string.h>

int vn_vxlan_tso_split(const struct vn_frame *f, struct vn_vxlan_tso *t)
{
    int h = vn_gso_hdr_len(f); /* also checks the frame is a TCP GSO one */
    if (h < 0 || (size_t)h > VN_VXLAN_TSO_HDR)
        return -1;
    const uint8_t *d = f->data;
    bool v4 = f->off.gso_type == VIRTIO_NET_HDR_GSO_TCPV4;
    size_t l3 = VN_ETH_HLEN, iphl = v4 ? (size_t)(d[l3] & 15) * 4 : 40, l4 = l3 + iphl;
    size_t hdr = (size_t)h, thl = hdr - l4, payload = f->len - hdr, mss = f->off.gso_size;
    unsigned n = payload ? (unsigned)((payload + mss - 1) / mss) : 1;
    if (n > VN_VXLAN_TSO_MAX)
        return -1;
    t->n = n;
    t->hlen = (uint16_t)hdr;
    t->mss = (uint16_t)mss;
    uint32_t seq0 = vn_get_be32(d + l4 + 4);
    uint16_t id0 = v4 ? vn_get_be16(d + l3 + 4) : 0;
    uint8_t flags0 = d[l4 + 13];
    for (unsigned i = 0; i < n; i++) {
        size_t seg = payload - (size_t)i * mss < mss ? payload - (size_t)i * mss : mss;
        uint8_t *w = t->hdr[i], *ip = w + l3, *tcp = w + l4;
        const uint8_t *pl = d + hdr + (size_t)i * mss;
        uint32_t l4len = (uint32_t)(thl + seg);
        memcpy(w, d, hdr);
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
        if (i != n - 1)
            fl &= (uint8_t)~0x09; /* FIN, PSH only on the last segment */
        if (i)
            fl &= (uint8_t)~0x80; /* CWR only on the first */
        tcp[13] = fl;
        vn_put_be16(tcp + 16, 0);
        uint32_t ps = v4 ? vn_csum_pseudo4(ip + 12, ip + 16, 6, l4len)
                         : vn_csum_pseudo6(ip + 8, ip + 24, 6, l4len);
        uint32_t sum = vn_csum_add(ps, tcp, thl); /* thl is a multiple of 4 */
        vn_put_be16(tcp + 16, vn_csum_fold(vn_csum_add(sum, pl, seg)));
        t->payload[i] = pl;
        t->plen[i] = (uint16_t)seg;
    }
    return 0;
}
