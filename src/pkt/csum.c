/* Internet checksum: see csum.h. Sums 64 bits at a time into a 64-bit
 * accumulator (carries are folded at the end), which is several times faster
 * than the 16-bit loop on the bulk-data path. */
#include "csum.h"

#include <string.h>

uint32_t vn_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = 0;
    /* Sum native-endian 32-bit words, fix byte order once at the end: the
     * one's-complement sum is byte-order independent up to a final swap. */
    while (len >= 32) {
        uint32_t w[8];
        memcpy(w, p, 32);
        acc += (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + w[6] + w[7];
        p += 32;
        len -= 32;
    }
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        acc += w;
        p += 4;
        len -= 4;
    }
    if (len >= 2) {
        uint16_t w;
        memcpy(&w, p, 2);
        acc += w;
        p += 2;
        len -= 2;
    }
    if (len) {
        uint8_t last[2] = { p[0], 0 };
        uint16_t w;
        memcpy(&w, last, 2);
        acc += w;
    }
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    uint16_t s16 = (uint16_t)acc;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    s16 = (uint16_t)(s16 << 8 | s16 >> 8);
#endif
    uint64_t total = (uint64_t)sum + s16;
    while (total >> 16)
        total = (total & 0xffff) + (total >> 16);
    return (uint32_t)total;
}

uint16_t vn_csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t vn_csum_pseudo4(const uint8_t src[4], const uint8_t dst[4], uint8_t proto, uint32_t len)
{
    uint32_t s = vn_csum_add(0, src, 4);
    s = vn_csum_add(s, dst, 4);
    return s + proto + (len >> 16) + (len & 0xffff);
}

uint32_t vn_csum_pseudo6(const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                         uint32_t len)
{
    uint32_t s = vn_csum_add(0, src, 16);
    s = vn_csum_add(s, dst, 16);
    return s + proto + (len >> 16) + (len & 0xffff);
}

uint32_t vn_csum_pseudo(const struct vn_addr *s, const struct vn_addr *d, uint8_t proto,
                        uint32_t len)
{
    return s->family == AF_INET6 ? vn_csum_pseudo6(s->a, d->a, proto, len)
                                 : vn_csum_pseudo4(s->a, d->a, proto, len);
}

uint16_t vn_csum_ipv4_hdr(const uint8_t *hdr, size_t hlen)
{
    return vn_csum_fold(vn_csum_add(0, hdr, hlen));
}
