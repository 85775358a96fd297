/* Ethernet and 802.1Q header parsing with bounds checks. */
#ifndef VN_PKT_ETH_H
#define VN_PKT_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_ETH_ALEN 6
#define VN_ETH_HLEN 14
#define VN_VLAN_HLEN 4
#define VN_ETH_TYPE_IPV4 0x0800
#define VN_ETH_TYPE_ARP 0x0806
#define VN_ETH_TYPE_VLAN 0x8100
#define VN_ETH_TYPE_QINQ 0x88a8
#define VN_ETH_TYPE_IPV6 0x86dd

/* What vn_eth_parse() learned about a frame. */
struct vn_eth_info {
    const uint8_t *dst, *src;
    uint16_t ethertype; /* inner ethertype (after one 802.1Q tag) */
    bool tagged;        /* an 802.1Q tag was present */
    uint16_t vid;       /* VLAN id of that tag (0 = priority tag) */
    uint8_t pcp;        /* priority code point */
    uint16_t l3_off;    /* offset of the L3 header */
};

enum vn_eth_err {
    VN_ETH_OK = 0,
    VN_ETH_SHORT,       /* shorter than an Ethernet header (or a tag) */
    VN_ETH_BAD_SRC,     /* multicast or all-zero source MAC */
    VN_ETH_QINQ,        /* stacked tags (802.1ad / double 802.1Q) are not carried */
};

/* Parse the Ethernet header (and at most one 802.1Q tag) of len bytes at f.
 * Returns VN_ETH_OK and fills *info, or an error code; never reads past len. */
enum vn_eth_err vn_eth_parse(const uint8_t *f, size_t len, struct vn_eth_info *info);

static inline uint16_t vn_get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t vn_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void vn_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void vn_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

#endif
