/* ICMP echo translation: guest pings become pings from the host through
 * unprivileged ping sockets (SOCK_DGRAM, IPPROTO_ICMP); when the host does
 * not allow those (net.ipv4.ping_group_range) and vnetd has CAP_NET_RAW, a
 * raw ICMP socket filtered to echo replies is used instead. The reply's
 * identifier is restored to the guest's before it is relayed. */
#include "core/util.h"
#include "nat_internal.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <errno.h>
#include <linux/icmp.h>
#include <string.h>
#include <unistd.h>

enum { READ_BUDGET = 32 };

static void icmp_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_flow *f = VN_CONTAINER_OF(io, struct vn_flow, io);
    struct vn_nat *nat = f->nat;
    uint8_t *buf = nat->scratch;
    for (int i = 0; i < READ_BUDGET; i++) {
        ssize_t n = recv(f->fd, buf, 65535, MSG_DONTWAIT);
        if (n < 0)
            return;
        uint8_t *ic = buf;
        size_t len = (size_t)n;
        if (f->u.icmp.raw) { /* raw sockets deliver the IP header too */
            struct vn_ip4 ip;
            if (vn_ip4_parse_hdr(buf, len, false, &ip) != VN_IP_OK ||
                ip.src != vn_get_be32(f->key.raddr))
                continue;
            ic = (uint8_t *)ip.l4;
            len = ip.l4_len;
            if (len < 8 || ic[0] != 0 || vn_get_be16(ic + 4) != f->key.gport)
                continue;
        }
        if (len < 8 || ic[0] != 0)
            continue;
        size_t total = VN_ETH_HLEN + 20 + len;
        uint8_t *fr = vn_gw_frame_alloc(nat->gw, total);
        if (!fr)
            return;
        uint8_t *r = vn_gw_ip4_header(nat->gw, fr, f->gmac, vn_get_be32(f->key.raddr),
                                      vn_get_be32(f->key.gaddr), VN_IPPROTO_ICMP, len);
        memcpy(r, ic, len);
        vn_put_be16(r + 4, f->key.gport); /* the guest's identifier */
        vn_put_be16(r + 2, 0);
        vn_put_be16(r + 2, vn_csum_fold(vn_csum_add(0, r, len)));
        vn_gw_frame_commit(nat->gw, total, NULL);
        f->bytes_in += len;
        f->last_ms = vn_nat_now_ms(nat);
    }
}

/* Open a socket for pinging: a ping socket, else a raw one. */
static int open_ping(bool *raw)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    *raw = false;
    if (fd >= 0)
        return fd;
    fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMP);
    if (fd < 0)
        return -1;
    struct icmp_filter filt = { ~(1u << ICMP_ECHOREPLY) };
    setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt);
    *raw = true;
    return fd;
}

void vn_nat_icmp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ip4 *ip,
                       const struct vn_frame *fr)
{
    struct vn_icmp ic;
    if (vn_icmp_parse(ip->l4, ip->l4_len, &ic) || ic.type != 8 || ic.code != 0)
        return; /* only echo requests are translated */
    if (vn_csum_fold(vn_csum_add(0, ip->l4, ip->l4_len)) != 0)
        return;
    struct vn_flow_key k = { .proto = IPPROTO_ICMP, .family = AF_INET, .gport = ic.id };
    vn_put_be32(k.gaddr, ip->src);
    vn_put_be32(k.raddr, ip->dst);
    struct vn_flow *f = vn_nat_flow_find(nat, &k);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (vn_nat_host_sockaddr(nat, &k, &ss, &sl)) {
        nat->stats.refused_policy++;
        vn_gw_icmp4_error(nat->gw, gmac, ip->hdr, ip->tot_len, 3, 13, 0);
        return;
    }
    if (!f) {
        f = vn_nat_flow_new(nat, &k, gmac, fr->port);
        if (!f) {
            vn_gw_icmp4_error(nat->gw, gmac, ip->hdr, ip->tot_len, 3, 13, 0);
            return;
        }
        nat->stats.created[VN_NAT_ICMP]++;
        f->fd = open_ping(&f->u.icmp.raw);
        if (f->fd < 0 || vn_io_add(nat->gw->loop, &f->io, f->fd, EPOLLIN, icmp_event) < 0) {
            nat->stats.icmp_send_errors++;
            vn_nat_flow_free(f);
            vn_gw_icmp4_error(nat->gw, gmac, ip->hdr, ip->tot_len, 3, 13, 0);
            return;
        }
    }
    memcpy(f->gmac, gmac, 6);
    /* Ping sockets fill in identifier and checksum; raw ones send as is. */
    ssize_t w = sendto(f->fd, ip->l4, ip->l4_len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
    if (w < 0) {
        nat->stats.icmp_send_errors++;
        if (errno == ENETUNREACH || errno == EHOSTUNREACH)
            vn_gw_icmp4_error(nat->gw, gmac, ip->hdr, ip->tot_len, 3,
                              errno == ENETUNREACH ? 0 : 1, 0);
        return;
    }
    f->bytes_out += ip->l4_len;
    f->last_ms = vn_nat_now_ms(nat);
}
