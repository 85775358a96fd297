/* Reject answers: see reject.h. */
#include "reject.h"
#include "core/util.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <string.h>

/* Ethernet header back to the sender of f, then an IPv4 header from src to
 * dst (host order); returns where the l4len bytes of proto go. */
static uint8_t *ip4_header(uint8_t *o, const uint8_t *f, uint32_t src, uint32_t dst,
                           uint8_t proto, size_t l4len)
{
    memcpy(o, f + 6, 6);
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

/* The same with an IPv6 header (addresses of 16 bytes, hop limit 64). */
static uint8_t *ip6_header(uint8_t *o, const uint8_t *f, const uint8_t src[16],
                           const uint8_t dst[16], uint8_t proto, size_t l4len)
{
    memcpy(o, f + 6, 6);
    memcpy(o + 6, f, 6);
    vn_put_be16(o + 12, VN_ETH_TYPE_IPV6);
    uint8_t *ip = o + VN_ETH_HLEN;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    vn_put_be16(ip + 4, (uint16_t)l4len);
    ip[6] = proto;
    ip[7] = 64;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    return ip + 40;
}

/* A 20-byte RST at th answering segment t (RFC 9293 3.10.7.1: with the
 * segment's ACK as its sequence number, else an ACK of what it carried).
 * The checksum is left zero. */
static void tcp_rst(uint8_t *th, const struct vn_tcp *t)
{
    memset(th, 0, 20);
    vn_put_be16(th, t->dport);
    vn_put_be16(th + 2, t->sport);
    if (t->flags & VN_TCP_ACK) {
        vn_put_be32(th + 4, t->ack);
        th[13] = VN_TCP_RST;
    } else {
        uint32_t a = t->seq + (uint32_t)t->dlen + ((t->flags & VN_TCP_SYN) ? 1 : 0) +
                     ((t->flags & VN_TCP_FIN) ? 1 : 0);
        vn_put_be32(th + 8, a);
        th[13] = VN_TCP_RST | VN_TCP_ACK;
    }
    th[12] = 0x50;
}

static size_t reject4(const uint8_t *f, size_t len, uint8_t *out, size_t outlen)
{
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(f + VN_ETH_HLEN, len - VN_ETH_HLEN, false, &ip) != VN_IP_OK ||
        ip.frag_off || (ip.dst >> 28) == 0xe || ip.dst == 0xffffffffu)
        return 0;
    if (ip.proto == VN_IPPROTO_TCP) {
        struct vn_tcp t;
        if (vn_tcp_parse(ip.l4, ip.l4_len, &t) || (t.flags & VN_TCP_RST) ||
            outlen < VN_ETH_HLEN + 40)
            return 0;
        uint8_t *th = ip4_header(out, f, ip.dst, ip.src, VN_IPPROTO_TCP, 20);
        tcp_rst(th, &t);
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
    uint8_t *ic = ip4_header(out, f, ip.dst, ip.src, VN_IPPROTO_ICMP, 8 + quote);
    memset(ic, 0, 8);
    ic[0] = 3;
    ic[1] = 13;
    memcpy(ic + 8, f + VN_ETH_HLEN, quote);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(0, ic, 8 + quote)));
    return VN_ETH_HLEN + 28 + quote;
}

static size_t reject6(const uint8_t *f, size_t len, uint8_t *out, size_t outlen)
{
    static const uint8_t unspec[16];
    struct vn_ip6 ip;
    if (vn_ip6_parse(f + VN_ETH_HLEN, len - VN_ETH_HLEN, &ip) != VN_IP_OK || ip.frag_off ||
        ip.dst[0] == 0xff || ip.src[0] == 0xff || !memcmp(ip.src, unspec, 16))
        return 0;
    if (ip.proto == VN_IPPROTO_TCP) {
        struct vn_tcp t;
        if (vn_tcp_parse(ip.l4, ip.l4_len, &t) || (t.flags & VN_TCP_RST) ||
            outlen < VN_ETH_HLEN + 60)
            return 0;
        uint8_t *th = ip6_header(out, f, ip.dst, ip.src, VN_IPPROTO_TCP, 20);
        tcp_rst(th, &t);
        vn_put_be16(th + 16, vn_csum_fold(vn_csum_add(
                                 vn_csum_pseudo6(ip.dst, ip.src, VN_IPPROTO_TCP, 20), th, 20)));
        return VN_ETH_HLEN + 60;
    }
    /* Of ICMPv6 only echo requests are answered: never an error, a reply
     * or neighbour discovery (RFC 4443 2.4 e). */
    if (ip.proto == VN_IPPROTO_ICMPV6 && (ip.l4_len < 1 || ip.l4[0] != 128))
        return 0;
    /* As much of the packet as keeps the answer within the IPv6 minimum
     * MTU (RFC 4443 2.4 c). */
    if (outlen < VN_ETH_HLEN + 48 + 40)
        return 0;
    size_t room = VN_MIN((size_t)(1280 - 48), outlen - VN_ETH_HLEN - 48);
    size_t quote = VN_MIN((size_t)ip.tot_len, room);
    uint8_t *ic = ip6_header(out, f, ip.dst, ip.src, VN_IPPROTO_ICMPV6, 8 + quote);
    memset(ic, 0, 8);
    ic[0] = 1;
    ic[1] = 1;
    memcpy(ic + 8, f + VN_ETH_HLEN, quote);
    vn_put_be16(ic + 2, vn_csum_fold(vn_csum_add(
                            vn_csum_pseudo6(ip.dst, ip.src, VN_IPPROTO_ICMPV6,
                                            (uint32_t)(8 + quote)), ic, 8 + quote)));
    return VN_ETH_HLEN + 48 + quote;
}

size_t vn_reject_build(const uint8_t *f, size_t len, uint8_t *out, size_t outlen)
{
    if (len < VN_ETH_HLEN || vn_mac_is_multicast(f))
        return 0;
    uint16_t type = vn_get_be16(f + 12);
    if (type == VN_ETH_TYPE_IPV4)
        return reject4(f, len, out, outlen);
    if (type == VN_ETH_TYPE_IPV6)
        return reject6(f, len, out, outlen);
    return 0;
}

size_t vn_reject_answer(struct vn_reject *r, const uint8_t *f, size_t len, uint64_t now_ns)
{
    size_t n = vn_reject_build(f, len, r->buf, sizeof r->buf);
    if (!n)
        return 0;
    if (!r->bucket.rate)
        vn_bucket_init(&r->bucket, VN_REJECT_RATE, VN_REJECT_BURST);
    if (!vn_bucket_take(&r->bucket, 1, now_ns)) {
        r->rate_limited++;
        return 0;
    }
    r->sent++;
    return n;
}

json_t *vn_reject_stats_json(const struct vn_reject *r)
{
    return json_pack("{s:I,s:I}", "sent", (json_int_t)r->sent, "rate_limited",
                     (json_int_t)r->rate_limited);
}
