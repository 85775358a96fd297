/* Reject answers: see reject.h. */
#include "reject.h"
#include "core/util.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <string.h>

static uint8_t *ip_header(uint8_t *o, const uint8_t *f, uint32_t src, uint32_t dst, uint8_t proto,
                          size_t l4len)
{
    memcpy(o, f + 6, 6); /* back to the sender */
    memcpy(o + 6, f, 6);
    vn_put_be16(o + 12, VN_ETH_TYPE_IPV4);
    uint8_t *ip = o + VN_ETH_HLEN;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    vn_put_be16(ip + 2, (uint16_t)(20 + l4len));
    ip[8] = 64;
    ip[9] = proto;
    vn_put_be32(ip + 12, src);
    vn_put_be32(ip + 16, dst);
    vn_put_be16(ip + 10, vn_csum_ipv4_hdr(ip, 20));
    return ip + 20;
}

size_t vn_reject_build(const uint8_t *f, size_t len, uint8_t *out, size_t outlen)
{
    if (len < VN_ETH_HLEN || vn_get_be16(f + 12) != VN_ETH_TYPE_IPV4 || vn_mac_is_multicast(f))
        return 0;
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(f + VN_ETH_HLEN, len - VN_ETH_HLEN, false, &ip) != VN_IP_OK ||
        ip.frag_off || (ip.dst >> 28) == 0xe || ip.dst == 0xffffffffu)
        return 0;
    if (ip.proto == VN_IPPROTO_TCP) {
        struct vn_tcp t;
        if (vn_tcp_parse(ip.l4, ip.l4_len, &t) || (t.flags & VN_TCP_RST) || outlen < 54)
            return 0;
        uint8_t *th = ip_header(out, f, ip.dst, ip.src, VN_IPPROTO_TCP, 20);
        memset(th, 0, 20);
        vn_put_be16(th, t.dport);
        vn_put_be16(th + 2, t.sport);
        if (t.flags & VN_TCP_ACK) {
            vn_put_be32(th + 4, t.ack);
            th[13] = VN_TCP_RST;
        } else {
            uint32_t a = t.seq + (uint32_t)t.dlen + ((t.flags & VN_TCP_SYN) ? 1 : 0) +
                         ((t.flags & VN_TCP_FIN) ? 1 : 0);
            vn_put_be32(th + 8, a);
            th[13] = VN_TCP_RST | VN_TCP_ACK;
        }
        th[12] = 0x50;
        uint8_t s[4], d[4];
        vn_put_be32(s, ip.dst);
        vn_put_be32(d, ip.src);
        vn_put_be16(th + 16, vn_csum_fold(vn_csum_add(vn_csum_pseudo4(s, d, 6, 20), th, 20)));
        return VN_ETH_HLEN + 40;
    }
    if (ip.proto == VN_IPPROTO_ICMP && ip.l4_len >= 1 && ip.l4[0] != 8)
        return 0; /* never answer an ICMP error (or a reply) with one */
    size_t quote = VN_MIN((size_t)ip.tot_len, (size_t)(ip.ihl + 8));
    if (outlen < VN_ETH_HLEN + 28 + quote)
        return 0;
    uint8_t *ic = ip_header(out, f, ip.dst, ip.src, VN_IPPROTO_ICMP, 8 + quote);
    memset(ic, 0, 8);
    ic[0] = 3;
    ic[1] = 13;
    memcpy(ic + 8, f + VN_ETH_HLEN, quote);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(0, ic, 8 + quote)));
    return VN_ETH_HLEN + 28 + quote;
}
