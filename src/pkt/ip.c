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
