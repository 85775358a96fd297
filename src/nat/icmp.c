/* ICMP and ICMPv6 echo translation: guest pings become pings from the host
 * through unprivileged ping sockets (SOCK_DGRAM, IPPROTO_ICMP/ICMPV6); when the host does
 * not allow those (net.ipv4.ping_group_range) and vnetd has CAP_NET_RAW, a
 * raw ICMP socket filtered to echo replies is used instead. The reply's
 * identifier is restored to the guest's before it is relayed. A NAT64 flow
 * (an IPv6 guest pinging an address of the NAT64 prefix) pings over IPv4:
 * its ICMPv6 echo request leaves as an ICMP echo request with the same
 * identifier, sequence and data, and the ICMP echo replies come back as
 * ICMPv6 echo replies (RFC 7915 4.2 and 5.2). */
#include "core/util.h"
#include "nat_internal.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <errno.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <string.h>
#include <unistd.h>

enum { READ_BUDGET = 32 };

static void icmp_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_flow *f = VN_CONTAINER_OF(io, struct vn_flow, io);
    struct vn_nat *nat = f->nat;
    uint8_t *buf = nat->scratch;
    bool gv6 = f->key.family == AF_INET6;      /* the guest's family */
    bool v6 = gv6 && !f->nat64_host;           /* the host socket's */
    uint8_t reply = v6 ? 129 : 0;
    uint32_t host4 = f->nat64_host ? f->nat64_host : vn_get_be32(f->key.raddr);
    struct vn_addr g = vn_flow_gaddr(&f->key), r = vn_flow_raddr(&f->key);
    for (int i = 0; i < READ_BUDGET; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(f->fd, buf, 65535, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        uint8_t *ic = buf;
        size_t len = (size_t)n;
        if (f->u.icmp.raw && !v6) { /* raw IPv4 sockets deliver the IP header too */
            struct vn_ip4 ip;
            if (vn_ip4_parse_hdr(buf, len, false, &ip) != VN_IP_OK || ip.src != host4)
                continue;
            ic = (uint8_t *)ip.l4;
            len = ip.l4_len;
        }
        if (f->u.icmp.raw && v6 &&
            (from.ss_family != AF_INET6 ||
             memcmp(&((struct sockaddr_in6 *)&from)->sin6_addr, r.a, 16)))
            continue;
        if (len < 8 || ic[0] != reply || (f->u.icmp.raw && vn_get_be16(ic + 4) != f->key.gport))
            continue;
        size_t hl = gv6 ? 40 : 20, total = VN_ETH_HLEN + hl + len;
        uint8_t *fr = vn_gw_frame_alloc(nat->gw, total);
        if (!fr)
            return;
        uint8_t *rp = vn_gw_ip_header(nat->gw, fr, f->gmac, &r, &g,
                                      gv6 ? VN_IPPROTO_ICMPV6 : VN_IPPROTO_ICMP, len);
        memcpy(rp, ic, len);
        rp[0] = gv6 ? 129 : 0; /* the echo reply of the guest's family (NAT64: translated) */
        vn_put_be16(rp + 4, f->key.gport); /* the guest's identifier */
        vn_put_be16(rp + 2, 0);
        uint32_t ps = gv6 ? vn_csum_pseudo(&r, &g, VN_IPPROTO_ICMPV6, (uint32_t)len) : 0;
        vn_put_be16(rp + 2, vn_csum_fold(vn_csum_add(ps, rp, len)));
        vn_gw_frame_commit(nat->gw, total, NULL);
        f->bytes_in += len;
        f->last_ms = vn_nat_now_ms(nat);
    }
}

/* Open a socket for pinging (family AF_INET or AF_INET6): a ping socket,
 * else a raw one filtered to echo replies. */
static int open_ping(int family, bool *raw)
{
    int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
    int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    *raw = false;
    if (fd >= 0)
        return fd;
    fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
    if (fd < 0)
        return -1;
    if (family == AF_INET6) {
        struct icmp6_filter filt;
        ICMP6_FILTER_SETBLOCKALL(&filt);
        ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filt);
        setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filt, sizeof filt);
    } else {
        struct icmp_filter filt = { ~(1u << ICMP_ECHOREPLY) };
        setsockopt(fd, SOL_RAW, ICMP_FILTER, &filt, sizeof filt);
    }
    *raw = true;
    return fd;
}

void vn_nat_icmp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                       const struct vn_frame *fr)
{
    struct vn_icmp ic;
    bool v6 = ip->family == AF_INET6;
    if (vn_icmp_parse(ip->l4, ip->l4_len, &ic) || ic.type != (v6 ? 128 : 8) || ic.code != 0)
        return; /* only echo requests are translated */
    uint32_t ps = v6 ? vn_csum_pseudo(&ip->src, &ip->dst, VN_IPPROTO_ICMPV6, ip->l4_len) : 0;
    if (vn_csum_fold(vn_csum_add(ps, ip->l4, ip->l4_len)) != 0)
        return;
    struct vn_flow_key k = vn_nat_key(v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP, ip, ic.id, 0);
    struct vn_flow *f = vn_nat_flow_find(nat, &k);
    struct sockaddr_storage ss;
    socklen_t sl;
    if (vn_nat_host_sockaddr(nat, &k, &ss, &sl)) {
        nat->stats.refused_policy++;
        vn_gw_icmp_error(nat->gw, gmac, ip, VN_ICMPE_ADMIN, 0);
        return;
    }
    if (!f) {
        f = vn_nat_flow_new(nat, &k, gmac, fr->port);
        if (!f) {
            vn_gw_icmp_error(nat->gw, gmac, ip, VN_ICMPE_ADMIN, 0);
            return;
        }
        nat->stats.created[VN_NAT_ICMP]++;
        vn_nat64_note(f, &ss);
        f->fd = open_ping(ss.ss_family, &f->u.icmp.raw);
        if (f->fd < 0 || vn_io_add(nat->gw->loop, &f->io, f->fd, EPOLLIN, icmp_event) < 0) {
            nat->stats.icmp_send_errors++;
            vn_nat_flow_free(f);
            vn_gw_icmp_error(nat->gw, gmac, ip, VN_ICMPE_ADMIN, 0);
            return;
        }
    }
    memcpy(f->gmac, gmac, 6);
    /* Ping sockets fill in identifier and checksum; raw ones send as is
     * (the kernel computes ICMPv6 checksums of raw sockets itself). A NAT64
     * flow's request becomes an ICMP echo request (type 8, its own checksum). */
    const uint8_t *req = ip->l4;
    if (f->nat64_host) {
        uint8_t *t = nat->scratch;
        memcpy(t, ip->l4, ip->l4_len);
        t[0] = 8;
        t[1] = 0;
        vn_put_be16(t + 2, 0);
        vn_put_be16(t + 2, vn_csum_fold(vn_csum_add(0, t, ip->l4_len)));
        req = t;
    }
    ssize_t w = sendto(f->fd, req, ip->l4_len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
    if (w < 0) {
        nat->stats.icmp_send_errors++;
        if (errno == ENETUNREACH || errno == EHOSTUNREACH)
            vn_gw_icmp_error(nat->gw, gmac, ip, vn_nat_errno_icmp(errno), 0);
        return;
    }
    f->bytes_out += ip->l4_len;
    f->last_ms = vn_nat_now_ms(nat);
}
