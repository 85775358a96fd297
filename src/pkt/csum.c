/* Internet checksum: see csum.h.
 *
 * The bulk loop sums 16-byte blocks in vector lanes (GCC/Clang vector
 * extensions: SSE2 on x86-64, NEON on arm64, plain words elsewhere): each
 * native-endian 32-bit word is split into its two 16-bit halves, added into
 * 32-bit lanes that cannot overflow within a run of 2^16 blocks, and the
 * lanes are folded into a 64-bit total once per run. The one's-complement
 * sum of the native-endian 16-bit words equals the big-endian one up to a
 * final byte swap (RFC 1071 2(B)), which is done once at the end. The same
 * loop can store every block it loads (vn_csum_copy), so a copy and its
 * checksum cost one pass over the data. */
#include "csum.h"

#include <string.h>

typedef uint32_t vec32 __attribute__((vector_size(16)));

/* Lanes of 32 bits summed over at most 2^16 blocks stay below 2^32. */
#define RUN_BLOCKS 65536u

/* Sum (and when dst is not NULL, copy to dst) nblk 16-byte blocks of src
 * into *acc as native-endian 16-bit words. dst may equal src minus
 * something (a forward move): each block is loaded before it is stored. */
static void sum_blocks(uint8_t *dst, const uint8_t *src, size_t nblk, uint64_t *acc)
{
    const vec32 m16 = { 0xffff, 0xffff, 0xffff, 0xffff };
    while (nblk) {
        size_t run = nblk < RUN_BLOCKS ? nblk : RUN_BLOCKS, i = 0;
        vec32 lo0 = { 0 }, hi0 = { 0 }, lo1 = { 0 }, hi1 = { 0 };
        for (; i + 2 <= run; i += 2) {
            vec32 a, b;
            memcpy(&a, src + 16 * i, 16);
            memcpy(&b, src + 16 * i + 16, 16);
            if (dst) {
                memcpy(dst + 16 * i, &a, 16);
                memcpy(dst + 16 * i + 16, &b, 16);
            }
            lo0 += a & m16;
            hi0 += a >> 16;
            lo1 += b & m16;
            hi1 += b >> 16;
        }
        if (i < run) {
            vec32 a;
            memcpy(&a, src + 16 * i, 16);
            if (dst)
                memcpy(dst + 16 * i, &a, 16);
            lo0 += a & m16;
            hi0 += a >> 16;
        }
        for (int l = 0; l < 4; l++)
            *acc += (uint64_t)lo0[l] + hi0[l] + lo1[l] + hi1[l];
        src += 16 * run;
        if (dst)
            dst += 16 * run;
        nblk -= run;
    }
}

/* Add the 0..15 bytes at p (sum of native-endian 16-bit words, an odd
 * last byte padded with zero) to acc. */
static uint64_t sum_tail(const uint8_t *p, size_t len, uint64_t acc)
{
    while (len >= 2) {
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
    return acc;
}

/* Fold acc (native-endian word sum) to 16 bits, put it in network order
 * and add it to the running sum. */
static uint32_t finish(uint64_t acc, uint32_t sum)
{
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

uint32_t vn_csum_add(uint32_t sum, const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t acc = 0;
    sum_blocks(NULL, p, len / 16, &acc);
    return finish(sum_tail(p + (len & ~(size_t)15), len & 15, acc), sum);
}

uint32_t vn_csum_copy(void *dst, const void *src, size_t len, uint32_t sum)
{
    uint8_t *d = dst;
    const uint8_t *s = src;
    uint64_t acc = 0;
    size_t bulk = len & ~(size_t)15;
    sum_blocks(d, s, len / 16, &acc);
    memmove(d + bulk, s + bulk, len - bulk);
    return finish(sum_tail(d + bulk, len - bulk, acc), sum);
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
