/* The VXLAN header codec and the inner flow hash: see vxlan_hdr.h. */
#include "vxlan_hdr.h"
#include "core/hash.h"
#include "pkt/eth.h"

#include <string.h>

void vn_vxlan_hdr_put(uint8_t h[VN_VXLAN_HLEN], uint32_t vni)
{
    memset(h, 0, VN_VXLAN_HLEN);
    h[0] = VN_VXLAN_FLAG_I;
    h[4] = (uint8_t)(vni >> 16);
    h[5] = (uint8_t)(vni >> 8);
    h[6] = (uint8_t)vni;
}

enum vn_vxlan_hdr_err vn_vxlan_hdr_get(const uint8_t *p, size_t len, uint32_t *vni)
{
    if (len < VN_VXLAN_HLEN)
        return VN_VXLAN_HDR_SHORT;
    if (!(p[0] & VN_VXLAN_FLAG_I))
        return VN_VXLAN_HDR_NO_I;
    *vni = (uint32_t)p[4] << 16 | (uint32_t)p[5] << 8 | p[6];
    return VN_VXLAN_HDR_OK;
}

/* Whether protocol proto carries 16-bit source and destination ports first. */
static int has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || proto == 136; /* TCP UDP SCTP UDP-Lite */
}

uint32_t vn_vxlan_flow_hash(const uint8_t *f, size_t len)
{
    /* The key: MACs and ethertype, then L3 addresses, protocol and ports. */
    uint8_t key[14 + 32 + 1 + 4];
    size_t k = 0;
    if (len < VN_ETH_HLEN)
        return 0;
    memcpy(key, f, VN_ETH_HLEN);
    k = VN_ETH_HLEN;
    uint16_t type = vn_get_be16(f + 12);
    const uint8_t *l3 = f + VN_ETH_HLEN;
    size_t l3len = len - VN_ETH_HLEN;
    if (type == VN_ETH_TYPE_IPV4 && l3len >= 20 && (l3[0] >> 4) == 4) {
        size_t ihl = (size_t)(l3[0] & 15) * 4;
        memcpy(key + k, l3 + 12, 8);
        k += 8;
        key[k++] = l3[9];
        bool later_frag = (vn_get_be16(l3 + 6) & 0x1fff) != 0;
        if (ihl >= 20 && !later_frag && has_ports(l3[9]) && l3len >= ihl + 4) {
            memcpy(key + k, l3 + ihl, 4);
            k += 4;
        }
    } else if (type == VN_ETH_TYPE_IPV6 && l3len >= 40 && (l3[0] >> 4) == 6) {
        memcpy(key + k, l3 + 8, 32);
        k += 32;
        key[k++] = l3[6];
        /* Ports only right after the fixed header: behind extension headers
         * the flow label (hashed with the MACs above via the addresses)
         * has to do. */
        if (has_ports(l3[6]) && l3len >= 44) {
            memcpy(key + k, l3 + 40, 4);
            k += 4;
        } else {
            memcpy(key + k, l3 + 1, 3); /* traffic class low bits + flow label */
            key[k] &= 0x0f;
            k += 3;
        }
    }
    return (uint32_t)vn_hash(key, k);
}
