/* IP/UDP/TCP/ICMP parsing: see ip.h. */
#include "ip.h"
#include "csum.h"
#include "eth.h"

#include <string.h>

enum vn_ip_err vn_ip4_parse_hdr(const uint8_t *p, size_t len, bool check_csum, struct vn_ip4 *ip)
{
    memset(ip, 0, sizeof *ip);
    if (len < 20)
        return VN_IP_SHORT;
    if (p[0] >> 4 != 4)
        return VN_IP_VERSION;
    ip->ihl = (uint8_t)((p[0] & 15) * 4);
    if (ip->ihl < 20 || ip->ihl > len)
        return VN_IP_HDRLEN;
    ip->tot_len = vn_get_be16(p + 2);
    if (ip->tot_len < ip->ihl)
        return VN_IP_HDRLEN;
    if (ip->tot_len > len)
        return VN_IP_SHORT;
    if (check_csum && vn_csum_fold(vn_csum_add(0, p, ip->ihl)) != 0)
        return VN_IP_CSUM;
    ip->tos = p[1];
    ip->id = vn_get_be16(p + 4);
    uint16_t fo = vn_get_be16(p + 6);
    ip->df = fo & 0x4000;
    ip->mf = fo & 0x2000;
    ip->frag_off = fo & 0x1fff;
    ip->ttl = p[8];
    ip->proto = p[9];
    ip->src = vn_get_be32(p + 12);
    ip->dst = vn_get_be32(p + 16);
    ip->hdr = p;
    ip->l4 = p + ip->ihl;
    ip->l4_len = (uint16_t)(ip->tot_len - ip->ihl);
    return VN_IP_OK;
}

enum vn_ip_err vn_ip6_parse(const uint8_t *p, size_t len, struct vn_ip6 *ip)
{
    memset(ip, 0, sizeof *ip);
    if (len < 40)
        return VN_IP_SHORT;
    if (p[0] >> 4 != 6)
        return VN_IP_VERSION;
    uint16_t plen = vn_get_be16(p + 4);
    if (plen == 0 && p[6] == VN_IPPROTO_HOPOPTS)
        return VN_IP_EXTHDR; /* a jumbogram (RFC 2675): never on our links */
    if ((size_t)40 + plen > len)
        return VN_IP_SHORT;
    ip->tclass = (uint8_t)((p[0] & 15) << 4 | p[1] >> 4);
    ip->flow = (uint32_t)(p[1] & 15) << 16 | (uint32_t)vn_get_be16(p + 2);
    ip->hlim = p[7];
    memcpy(ip->src, p + 8, 16);
    memcpy(ip->dst, p + 24, 16);
    ip->hdr = p;
    ip->tot_len = (uint16_t)(40 + plen);
    size_t off = 40, nh_off = 6;
    uint8_t nh = p[6];
    for (unsigned n = 0;; n++) {
        if (nh != VN_IPPROTO_HOPOPTS && nh != VN_IPPROTO_ROUTING && nh != VN_IPPROTO_FRAGMENT &&
            nh != VN_IPPROTO_DSTOPTS)
            break; /* the upper layer (or no next header, or one we do not walk) */
        if (n == VN_IP6_EXT_MAX || (nh == VN_IPPROTO_HOPOPTS && n) || ip->tot_len - off < 8)
            return VN_IP_EXTHDR;
        const uint8_t *e = p + off;
        if (nh == VN_IPPROTO_FRAGMENT) {
            if (ip->frag)
                return VN_IP_EXTHDR; /* two fragment headers */
            uint16_t fo = vn_get_be16(e + 2);
            ip->frag = true;
            ip->frag_off = fo >> 3;
            ip->mf = fo & 1;
            ip->frag_id = vn_get_be32(e + 4);
            ip->unfrag_len = (uint16_t)off;
            ip->frag_nh_off = (uint16_t)nh_off;
            nh_off = off;
            nh = e[0];
            off += 8;
            if (ip->frag_off)
                break; /* later fragments: the rest of the chain is in the first */
            continue;
        }
        size_t elen = ((size_t)e[1] + 1) * 8;
        if (elen > ip->tot_len - off)
            return VN_IP_EXTHDR;
        if (nh == VN_IPPROTO_HOPOPTS)
            ip->hbh = true;
        nh_off = off;
        nh = e[0];
        off += elen;
    }
    ip->proto = nh;
    ip->ext_len = (uint16_t)(off - 40);
    ip->l4 = p + off;
    ip->l4_len = (uint16_t)(ip->tot_len - off);
    return VN_IP_OK;
}

void vn_ipp_from4(const struct vn_ip4 *ip, struct vn_ipp *o)
{
    *o = (struct vn_ipp){ .family = AF_INET, .proto = ip->proto, .ttl = ip->ttl, .tos = ip->tos,
                          .frag = ip->mf || ip->frag_off, .later_frag = ip->frag_off != 0, .src = vn_addr4(ip->src),
                          .dst = vn_addr4(ip->dst), .hdr = ip->hdr, .len = ip->tot_len,
                          .l4 = ip->l4, .l4_len = ip->l4_len };
}

void vn_ipp_from6(const struct vn_ip6 *ip, struct vn_ipp *o)
{
    *o = (struct vn_ipp){ .family = AF_INET6, .proto = ip->proto, .ttl = ip->hlim,
                          .tos = ip->tclass, .frag = ip->frag,
                          .later_frag = ip->frag && ip->frag_off, .hdr = ip->hdr,
                          .len = ip->tot_len, .l4 = ip->l4, .l4_len = ip->l4_len };
    o->src.family = o->dst.family = AF_INET6;
    memcpy(o->src.a, ip->src, 16);
    memcpy(o->dst.a, ip->dst, 16);
}

int vn_udp_parse(const uint8_t *p, size_t len, struct vn_udp *u)
{
    if (len < 8)
        return -1;
    u->sport = vn_get_be16(p);
    u->dport = vn_get_be16(p + 2);
    u->len = vn_get_be16(p + 4);
    if (u->len < 8 || u->len > len)
        return -1;
    u->data = p + 8;
    u->dlen = (uint16_t)(u->len - 8);
    return 0;
}

int vn_tcp_parse(const uint8_t *p, size_t len, struct vn_tcp *t)
{
    memset(t, 0, sizeof *t);
    t->wscale = -1;
    if (len < 20)
        return -1;
    t->sport = vn_get_be16(p);
    t->dport = vn_get_be16(p + 2);
    t->seq = vn_get_be32(p + 4);
    t->ack = vn_get_be32(p + 8);
    t->hlen = (uint8_t)((p[12] >> 4) * 4);
    if (t->hlen < 20 || t->hlen > len)
        return -1;
    t->flags = p[13];
    t->win = vn_get_be16(p + 14);
    const uint8_t *o = p + 20, *end = p + t->hlen;
    while (o < end) {
        uint8_t kind = o[0];
        if (kind == 0)
            break;
        if (kind == 1) {
            o++;
            continue;
        }
        if (end - o < 2 || o[1] < 2 || o[1] > end - o)
            return -1;
        uint8_t ol = o[1];
        switch (kind) {
        case 2:
            if (ol == 4)
                t->mss = vn_get_be16(o + 2);
            break;
        case 3:
            if (ol == 3)
                t->wscale = (int8_t)(o[2] > 14 ? 14 : o[2]);
            break;
        case 4:
            t->sack_ok = true;
            break;
        case 8:
            if (ol == 10) {
                t->has_ts = true;
                t->ts_val = vn_get_be32(o + 2);
                t->ts_ecr = vn_get_be32(o + 6);
            }
            break;
        default:
            break;
        }
        o += ol;
    }
    t->data = p + t->hlen;
    t->dlen = len - t->hlen;
    return 0;
}

int vn_icmp_parse(const uint8_t *p, size_t len, struct vn_icmp *ic)
{
    if (len < 8)
        return -1;
    ic->type = p[0];
    ic->code = p[1];
    ic->id = vn_get_be16(p + 4);
    ic->seq = vn_get_be16(p + 6);
    ic->data = p + 8;
    ic->dlen = len - 8;
    return 0;
}
