/* Packets out of the gateway's tunnel peer (the VPN) into the network: see
 * vn_gw_tunnel_input in gateway.h. Peers reach the guests on the link and
 * the gateway's own services (DNS, ping); the NAT engine (the host's
 * loopback through the gateway address, the world beyond) only with
 * vpn.nat. The gateway is the router between the
 * tunnel and the link, so a forwarded packet's TTL (hop limit) drops by
 * one, an expiring one is answered with time exceeded, one larger than
 * the link's MTU with "fragmentation needed" / "packet too big" (the
 * tunnel side does path MTU discovery), and the guest's MAC comes from
 * the neighbour table (a miss asks for it and drops the packet, as a
 * router with no queue does). */
#include "gateway.h"

#include "core/log.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "switch/switch.h"

#include <string.h>

/* Parse the packet (len bytes) into ip. Returns 0, or -1 when malformed. */
static int parse(const uint8_t *pkt, size_t len, struct vn_ipp *ip)
{
    if (len >= 20 && pkt[0] >> 4 == 4) {
        struct vn_ip4 h;
        if (vn_ip4_parse_hdr(pkt, len, true, &h) != VN_IP_OK)
            return -1;
        vn_ipp_from4(&h, ip);
        return 0;
    }
    if (len >= 40 && pkt[0] >> 4 == 6) {
        struct vn_ip6 h;
        if (vn_ip6_parse(pkt, len, &h) != VN_IP_OK)
            return -1;
        vn_ipp_from6(&h, ip);
        return 0;
    }
    return -1;
}

/* Forward ip (the packet at pkt, len bytes) to the guest that has its
 * destination on the link. */
static void forward(struct vn_gw *gw, uint8_t *pkt, size_t len, const struct vn_ipp *ip)
{
    const uint8_t *tmac = gw->tunnel.mac;
    if (ip->ttl <= 1) {
        gw->stats.ip_ttl_expired++;
        vn_gw_icmp_error(gw, tmac, ip, VN_ICMPE_TIME_EXCEEDED, 0);
        return;
    }
    if (len > gw->mtu) {
        /* IPv4 without DF could be fragmented; the tunnel's senders set it
         * (and IPv6 routers never fragment): report the MTU */
        vn_gw_icmp_error(gw, tmac, ip, VN_ICMPE_TOO_BIG, gw->mtu);
        return;
    }
    const uint8_t *mac = vn_gw_neigh_lookup(gw, &ip->dst);
    if (!mac) {
        gw->stats.tun_neigh_miss++;
        return;
    }
    uint8_t *f = vn_gw_frame_alloc(gw, VN_ETH_HLEN + len);
    if (!f)
        return;
    memcpy(f, mac, 6);
    memcpy(f + 6, gw->mac, 6);
    vn_put_be16(f + 12, ip->family == AF_INET ? VN_ETH_TYPE_IPV4 : VN_ETH_TYPE_IPV6);
    uint8_t *h = f + VN_ETH_HLEN;
    memcpy(h, pkt, len);
    if (ip->family == AF_INET) {
        /* TTL - 1 and the header checksum again */
        h[8]--;
        vn_put_be16(h + 10, 0);
        vn_put_be16(h + 10, vn_csum_ipv4_hdr(h, (size_t)(h[0] & 0x0f) * 4));
    } else {
        h[7]--;
    }
    gw->stats.tun_forwarded++;
    vn_gw_frame_commit(gw, VN_ETH_HLEN + len, NULL);
    /* out of the tunnel: the switch's ACLs may match it as src vpn */
    if (gw->ntx && gw->tx[gw->ntx - 1].data == f)
        gw->tx[gw->ntx - 1].flags |= VN_FRAME_F_TUNNEL;
}

/* Without vpn.nat, whether the gateway itself answers ip (a local
 * service, an ICMP error): not the NAT engine, which would take peers to
 * the host's loopback or beyond. */
static bool serves(struct vn_gw *gw, const struct vn_ipp *ip, bool local)
{
    if (!local)
        return false;
    uint16_t dport = 0;
    if ((ip->proto == VN_IPPROTO_UDP || ip->proto == VN_IPPROTO_TCP) && ip->l4_len >= 4)
        dport = vn_get_be16(ip->l4 + 2);
    const struct vn_gw_egress *e = vn_gw_egress_peek(&gw->egress, &ip->dst, false, false,
                                                     ip->proto, dport);
    return e->kind != VN_EG_NEXT;
}

bool vn_gw_tunnel_acl(struct vn_gw *gw, uint8_t *pkt, size_t len, bool to_peer)
{
    struct vn_network *n = gw->net;
    struct vn_ipp ip;
    if (!gw->sw->acl_active || !n->tun_peer_of)
        return true;
    if (len > UINT16_MAX || parse(pkt, len, &ip) < 0)
        return true; /* the caller refuses it */
    uint8_t *f = pkt - VN_ETH_HLEN;
    memcpy(f, gw->mac, 6);
    memcpy(f + 6, gw->tunnel.mac, 6);
    vn_put_be16(f + 12, ip.family == AF_INET ? VN_ETH_TYPE_IPV4 : VN_ETH_TYPE_IPV6);
    struct vn_frame fr = { .data = f, .len = (uint32_t)(len + VN_ETH_HLEN) };
    struct vn_acl_pkt ap;
    vn_acl_classify(&fr, &ap);
    if (!ap.ip)
        return true;
    ap.src_peer = n->tun_peer_of(n->tun_ctx, &ap.src);
    ap.dst_peer = to_peer ? n->tun_peer_of(n->tun_ctx, &ap.dst) : NULL;
    struct vn_acl_rule *r;
    if (vn_switch_acl_route(gw->sw, n, &ap, &r))
        return true;
    gw->stats.tun_acl++;
    if (r && r->action == VN_ACL_REJECT)
        vn_gw_icmp_error(gw, gw->tunnel.mac, &ip, VN_ICMPE_ADMIN, 0);
    return false;
}

void vn_gw_tunnel_input(struct vn_gw *gw, uint8_t *pkt, size_t len)
{
    struct vn_ipp ip;
    if (len > UINT16_MAX || parse(pkt, len, &ip) < 0) {
        gw->stats.tun_bad++;
        return;
    }
    bool local = vn_gw_egress_is_local(&gw->egress, &ip.dst);
    if (!local && vn_gw_on_link(gw, &ip.dst) && ip.dst.a[0] != 0xff) {
        forward(gw, pkt, len, &ip);
        return;
    }
    if (!gw->tunnel.routed_ok && !serves(gw, &ip, local)) {
        gw->stats.tun_refused++;
        vn_gw_icmp_error(gw, gw->tunnel.mac, &ip, VN_ICMPE_ADMIN, 0);
        return;
    }
    if (!vn_gw_tunnel_acl(gw, pkt, len, false))
        return;
    /* to the gateway itself, or routed on (vpn.nat): the gateway's input
     * takes it as a frame from the tunnel's MAC, so its answers come back */
    uint8_t *f = pkt - VN_ETH_HLEN;
    memcpy(f, gw->mac, 6);
    memcpy(f + 6, gw->tunnel.mac, 6);
    vn_put_be16(f + 12, ip.family == AF_INET ? VN_ETH_TYPE_IPV4 : VN_ETH_TYPE_IPV6);
    struct vn_frame fr = { .data = f, .len = (uint32_t)(len + VN_ETH_HLEN), .port = gw->port->id };
    vn_gw_ip_input(gw, &fr);
}
