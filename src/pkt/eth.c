/* Ethernet/802.1Q parsing: see eth.h. */
#include "eth.h"

#include <string.h>

enum vn_eth_err vn_eth_parse(const uint8_t *f, size_t len, struct vn_eth_info *info)
{
    memset(info, 0, sizeof *info);
    if (len < VN_ETH_HLEN)
        return VN_ETH_SHORT;
    info->dst = f;
    info->src = f + 6;
    if ((f[6] & 1) || !(f[6] | f[7] | f[8] | f[9] | f[10] | f[11]))
        return VN_ETH_BAD_SRC;
    uint16_t type = vn_get_be16(f + 12);
    info->l3_off = VN_ETH_HLEN;
    if (type == VN_ETH_TYPE_VLAN || type == VN_ETH_TYPE_QINQ) {
        if (type == VN_ETH_TYPE_QINQ)
            return VN_ETH_QINQ;
        if (len < VN_ETH_HLEN + VN_VLAN_HLEN)
            return VN_ETH_SHORT;
        uint16_t tci = vn_get_be16(f + 14);
        info->tagged = true;
        info->vid = tci & 0x0fff;
        info->pcp = (uint8_t)(tci >> 13);
        type = vn_get_be16(f + 16);
        if (type == VN_ETH_TYPE_VLAN || type == VN_ETH_TYPE_QINQ)
            return VN_ETH_QINQ;
        info->l3_off = VN_ETH_HLEN + VN_VLAN_HLEN;
    }
    info->ethertype = type;
    return VN_ETH_OK;
}
