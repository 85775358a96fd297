/* UDP translation: one connected host socket per guest flow (address- and
 * port-dependent filtering), idle timeout nat.udp_timeout. Inbound forwards
 * share their listener socket: replies from the guest are sent back to the
 * host client with sendto() on the listener. Host-side errors become ICMP
 * errors toward the guest (port unreachable, fragmentation needed). */
#include "core/log.h"
#include "core/util.h"
#include "nat_internal.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <errno.h>
#include <linux/virtio_net.h>
#include <netinet/ip.h>
#include <string.h>
#include <unistd.h>

enum { READ_BUDGET = 64, UDP_MAX = 65507 };

/* Deliver one datagram from the host to the guest side of flow f. */
static void to_guest(struct vn_flow *f, const uint8_t *d, size_t len)
{
    struct vn_nat *nat = f->nat;
    struct vn_addr g = vn_flow_gaddr(&f->key), r = vn_flow_raddr(&f->key);
    if (vn_mac_is_zero(f->gmac)) {
        const uint8_t *mac = vn_gw_neigh_lookup(nat->gw, &g);
        if (!mac)
            return; /* ARP request / NS sent; the datagram is lost like on a real LAN */
        memcpy(f->gmac, mac, 6);
    }
    if (vn_gw_send_udp(nat->gw, f->gmac, &r, f->key.rport, &g, f->key.gport, d, len) == 0) {
        f->bytes_in += len;
        f->last_ms = vn_nat_now_ms(nat);
    }
}

static void udp_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_flow *f = VN_CONTAINER_OF(io, struct vn_flow, io);
    uint8_t *buf = f->nat->scratch;
    for (int i = 0; i < READ_BUDGET; i++) {
        ssize_t n = recv(f->fd, buf, UDP_MAX, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == ECONNREFUSED) { /* the remote port is closed */
                uint8_t uh[8] = { 0 };
                vn_put_be16(uh, f->key.gport);
                vn_put_be16(uh + 2, f->key.rport);
                vn_put_be16(uh + 4, 8);
                vn_nat_flow_error(f, uh, sizeof uh, VN_ICMPE_PORT_UNREACH, 0);
                continue;
            }
            return;
        }
        to_guest(f, buf, (size_t)n);
    }
}

/* Send the guest's payload out of flow f; ICMP errors for what fails. */
static void from_guest(struct vn_flow *f, const struct vn_ipp *ip, const uint8_t *d, size_t len)
{
    struct vn_nat *nat = f->nat;
    ssize_t w;
    if (f->u.udp.fwd)
        w = sendto(f->u.udp.fwd->fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL,
                   (struct sockaddr *)&f->u.udp.peer, f->u.udp.peerlen);
    else
        w = send(f->fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (w >= 0) {
        f->bytes_out += len;
        f->last_ms = vn_nat_now_ms(nat);
        return;
    }
    nat->stats.udp_send_errors++;
    if (errno == ECONNREFUSED)
        vn_gw_icmp_error(nat->gw, f->gmac, ip, VN_ICMPE_PORT_UNREACH, 0);
    else if (errno == EMSGSIZE) {
        int mtu = 0;
        socklen_t sl = sizeof mtu;
        bool v6 = ip->family == AF_INET6 && !f->nat64_host; /* the host socket's family */
        if (f->fd < 0 || getsockopt(f->fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU,
                                    &mtu, &sl) < 0)
            mtu = 1500;
        else if (f->nat64_host) /* RFC 7915 4.2: IPv6 headers are 20 bytes longer */
            mtu = VN_MAX(mtu + 20, 1280);
        vn_gw_icmp_error(nat->gw, f->gmac, ip, VN_ICMPE_TOO_BIG, (uint32_t)mtu);
    } else if (errno == ENETUNREACH || errno == EHOSTUNREACH)
        vn_gw_icmp_error(nat->gw, f->gmac, ip, vn_nat_errno_icmp(errno), 0);
}

void vn_nat_udp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                      const struct vn_frame *fr)
{
    struct vn_udp u;
    if (vn_udp_parse(ip->l4, ip->l4_len, &u))
        return;
    uint16_t ck = vn_get_be16(ip->l4 + 6);
    if (!ck && ip->family == AF_INET6) {
        nat->stats.udp_csum_bad++; /* RFC 8200 8.1: a zero UDP checksum is invalid in IPv6 */
        return;
    }
    if (ck && !(fr->off.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))) {
        uint32_t ps = vn_csum_pseudo(&ip->src, &ip->dst, VN_IPPROTO_UDP, u.len);
        if (vn_csum_fold(vn_csum_add(ps, ip->l4, u.len)) != 0) {
            nat->stats.udp_csum_bad++;
            return;
        }
    }
    struct vn_flow_key k = vn_nat_key(IPPROTO_UDP, ip, u.sport, u.dport);
    struct vn_flow *f = vn_nat_flow_find(nat, &k);
    if (f) {
        memcpy(f->gmac, gmac, 6);
        from_guest(f, ip, u.data, u.dlen);
        return;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (vn_nat_host_sockaddr(nat, &k, &ss, &sl)) {
        nat->stats.refused_policy++;
        vn_gw_icmp_error(nat->gw, gmac, ip, VN_ICMPE_ADMIN, 0);
        return;
    }
    f = vn_nat_flow_new(nat, &k, gmac, fr->port);
    if (!f) {
        vn_gw_icmp_error(nat->gw, gmac, ip, VN_ICMPE_ADMIN, 0);
        return;
    }
    nat->stats.created[VN_NAT_UDP]++;
    vn_nat64_note(f, &ss);
    f->fd = nat->sock.socket(nat->sock.ctx, ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                             0);
    if (f->fd < 0 || nat->sock.connect(nat->sock.ctx, f->fd, (struct sockaddr *)&ss, sl) < 0 ||
        vn_io_add(nat->gw->loop, &f->io, f->fd, EPOLLIN, udp_event) < 0) {
        int e = errno;
        vn_nat_flow_free(f);
        vn_gw_icmp_error(nat->gw, gmac, ip, vn_nat_errno_icmp(e), 0);
        return;
    }
    from_guest(f, ip, u.data, u.dlen);
}

void vn_nat_udp_forward_event(struct vn_fwd *fw)
{
    struct vn_nat *nat = fw->nat;
    uint8_t *buf = nat->scratch;
    for (int i = 0; i < READ_BUDGET; i++) {
        struct sockaddr_storage peer;
        socklen_t pl = sizeof peer;
        ssize_t n = recvfrom(fw->fd, buf, UDP_MAX, MSG_DONTWAIT, (struct sockaddr *)&peer, &pl);
        if (n < 0)
            return;
        const struct vn_addr *ga = &fw->conf.guest;
        struct vn_flow_key k = { .proto = IPPROTO_UDP, .family = ga->family,
                                 .gport = fw->conf.guest_port };
        uint16_t cport;
        struct vn_addr ra = vn_nat_guest_view(nat, &peer, &cport, ga->family);
        k.rport = cport;
        memcpy(k.gaddr, ga->a, 16);
        memcpy(k.raddr, ra.a, 16);
        struct vn_flow *f = vn_nat_flow_find(nat, &k);
        if (!f) {
            uint8_t zero[6] = { 0 };
            const uint8_t *mac = vn_gw_neigh_lookup(nat->gw, ga);
            f = vn_nat_flow_new(nat, &k, mac ? mac : zero, vn_nat_fwd_owner(nat, fw));
            if (!f) {
                fw->refused++;
                continue;
            }
            nat->stats.created[VN_NAT_UDP]++;
            fw->accepted++;
            f->inbound = true;
            f->u.udp.fwd = fw;
        }
        f->u.udp.peer = peer;
        f->u.udp.peerlen = pl;
        to_guest(f, buf, (size_t)n);
    }
}
