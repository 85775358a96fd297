/* The gateway port: see gateway.h for the theory of operation. */
#include "gateway.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/util.h"
#include "dhcp4.h"
#include "dhcp6.h"
#include "dns.h"
#include "nd.h"
#include "pkt/csum.h"
#include "pkt/eth.h"

#include <stdlib.h>
#include <string.h>

/* ---- ARP ---- */

static void arp_input(struct vn_gw *gw, const struct vn_frame *f)
{
    const uint8_t *a = f->data + VN_ETH_HLEN;
    if (f->len < VN_ETH_HLEN + 28 || vn_get_be16(a) != 1 || vn_get_be16(a + 2) != VN_ETH_TYPE_IPV4 ||
        a[4] != 6 || a[5] != 4) {
        gw->stats.ip_bad++;
        return;
    }
    uint16_t op = vn_get_be16(a + 6);
    uint32_t sip = vn_get_be32(a + 14), tip = vn_get_be32(a + 24);
    struct vn_addr sa = vn_addr4(sip);
    if (sip && !vn_mac_is_multicast(a + 8))
        vn_gw_neigh_observe(gw, &sa, a + 8);
    if (op != 1 || (tip != gw->addr && tip != gw->dns_addr))
        return;
    gw->stats.arp_requests++;
    uint8_t *r = vn_gw_frame_alloc(gw, 42);
    if (!r)
        return;
    memcpy(r, a + 8, 6);
    memcpy(r + 6, gw->mac, 6);
    vn_put_be16(r + 12, VN_ETH_TYPE_ARP);
    uint8_t *ra = r + 14;
    memcpy(ra, a, 6); /* htype, ptype, hlen, plen */
    vn_put_be16(ra + 6, 2);
    memcpy(ra + 8, gw->mac, 6);
    vn_put_be32(ra + 14, tip);
    memcpy(ra + 18, a + 8, 6);
    memcpy(ra + 24, a + 14, 4);
    vn_gw_frame_commit(gw, 42, NULL);
    gw->stats.arp_replies++;
}

/* ---- IPv4 ---- */

/* Answer an ICMP or ICMPv6 echo request to one of the gateway's addresses. */
static void icmp_echo(struct vn_gw *gw, const uint8_t *smac, const struct vn_ipp *ip)
{
    struct vn_icmp ic;
    bool v6 = ip->family == AF_INET6;
    if (vn_icmp_parse(ip->l4, ip->l4_len, &ic) || ic.type != (v6 ? 128 : 8) || ic.code != 0)
        return;
    uint32_t ps = v6 ? vn_csum_pseudo(&ip->src, &ip->dst, VN_IPPROTO_ICMPV6, ip->l4_len) : 0;
    if (vn_csum_fold(vn_csum_add(ps, ip->l4, ip->l4_len)) != 0) {
        gw->stats.ip_bad++;
        return;
    }
    /* The reply: type 0 (129), same id, sequence and data; a request
     * reassembled from fragments gets its reply fragmented the same way. A
     * request to a multicast group is answered from the link-local address. */
    const struct vn_addr *src = &ip->dst;
    if (v6 && ip->dst.a[0] == 0xff)
        src = &gw->ll6;
    uint8_t h[8];
    memcpy(h, ip->l4, 8);
    h[0] = v6 ? 129 : 0;
    vn_put_be16(h + 2, 0);
    uint32_t sum = v6 ? vn_csum_pseudo(src, &ip->src, VN_IPPROTO_ICMPV6, ip->l4_len) : 0;
    sum = vn_csum_add(vn_csum_add(sum, h, 8), ip->l4 + 8, ip->l4_len - 8);
    vn_put_be16(h + 2, vn_csum_fold(sum));
    if (vn_gw_send_ip(gw, smac, src, &ip->src, ip->proto, h, ip->l4 + 8, ip->l4_len - 8) == 0) {
        if (v6)
            gw->stats.icmp6_echo++;
        else
            gw->stats.icmp_echo++;
    }
}

/* The gateway's local services, as the egress table names them. */
enum { SVC_ECHO, SVC_DHCP, SVC_DNS, SVC_DHCP6 };

/* Hand a packet to the egress the table chose (either family). */
static void dispatch(struct vn_gw *gw, const struct vn_frame *f, const struct vn_gw_egress *e,
                     const struct vn_ipp *ip, const struct vn_ip4 *ip4, const struct vn_udp *u)
{
    const uint8_t *smac = f->data + 6;
    switch ((enum vn_gw_egress_kind)e->kind) {
    case VN_EG_SERVICE:
        if (e->service == SVC_ECHO)
            icmp_echo(gw, smac, ip);
        else if (e->service == SVC_DHCP && ip4)
            vn_dhcp4_input(gw->dhcp, smac, ip4, u);
        else if (e->service == SVC_DHCP6 && gw->dhcp6)
            vn_dhcp6_input(gw->dhcp6, smac, ip, u);
        else if (e->service == SVC_DNS)
            vn_dns_input_udp(gw->dns, smac, f->port, ip, u);
        return;
    case VN_EG_NEXT:
        if (e->routed && ip->ttl <= 1) {
            gw->stats.ip_ttl_expired++;
            vn_gw_icmp_error(gw, smac, ip, VN_ICMPE_TIME_EXCEEDED, 0);
            return;
        }
        if (gw->next.input)
            gw->next.input(gw->next.ctx, smac, ip, f);
        return;
    case VN_EG_UNREACH:
        vn_gw_icmp_error(gw, smac, ip, (enum vn_icmp_err)e->icmp, 0);
        return;
    case VN_EG_TUNNEL:
        if (ip->ttl <= 1) {
            gw->stats.ip_ttl_expired++;
            vn_gw_icmp_error(gw, smac, ip, VN_ICMPE_TIME_EXCEEDED, 0);
            return;
        }
        if (gw->tunnel.input)
            gw->tunnel.input(gw->tunnel.ctx, ip, f);
        return;
    case VN_EG_DROP:
    case VN_EG__COUNT:
        return;
    }
}

/* The destination port of a TCP/UDP packet (0 for other protocols); -1 for
 * a UDP header that does not parse (counted by the caller). */
static int l4_dport(const struct vn_ipp *ip, struct vn_udp *u)
{
    if (ip->proto == VN_IPPROTO_UDP)
        return vn_udp_parse(ip->l4, ip->l4_len, u) ? -1 : u->dport;
    if (ip->proto == VN_IPPROTO_TCP && ip->l4_len >= 4)
        return vn_get_be16(ip->l4 + 2);
    return 0;
}

static void ip4_input(struct vn_gw *gw, const struct vn_frame *f)
{
    const uint8_t *smac = f->data + 6, *dmac = f->data;
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN, true, &ip) != VN_IP_OK) {
        gw->stats.ip_bad++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"malformed IPv4 packet dropped\" network=%s",
                  gw->net->conf.name);
        return;
    }
    struct vn_ipp pp;
    vn_ipp_from4(&ip, &pp);
    if (ip.src && vn_gw_in_subnet(gw, ip.src))
        vn_gw_neigh_observe(gw, &pp.src, smac);
    if (ip.mf || ip.frag_off) {
        gw->stats.ip_fragments++;
        if (ip.proto == VN_IPPROTO_TCP) /* guests use path MTU discovery for TCP */
            return;
        struct vn_ip4 whole;
        if (vn_reasm_add_from(&gw->reasm, f->port, &ip, vn_now_ms(), &whole) != 1)
            return;
        ip = whole;
        vn_ipp_from4(&ip, &pp);
    }
    struct vn_udp u;
    int dport = l4_dport(&pp, &u);
    if (dport < 0) {
        gw->stats.ip_bad++;
        return;
    }
    bool bcast = ip.dst == 0xffffffffu || ip.dst == gw->bcast || (ip.dst >> 28) == 0xe;
    const struct vn_gw_egress *e = vn_gw_egress_lookup(&gw->egress, &pp.dst, bcast,
                                                       vn_mac_is_multicast(dmac), ip.proto,
                                                       (uint16_t)dport);
    dispatch(gw, f, e, &pp, &ip, &u);
}

/* ---- IPv6 ---- */

static void ip6_input(struct vn_gw *gw, const struct vn_frame *f)
{
    const uint8_t *smac = f->data + 6, *dmac = f->data;
    if (!gw->ll6.family) {
        gw->stats.ip6_ignored++; /* the network serves no IPv6 (ipv6: false) */
        return;
    }
    struct vn_ip6 ip;
    if (vn_ip6_parse(f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN, &ip) != VN_IP_OK ||
        ip.src[0] == 0xff) {
        gw->stats.ip6_bad++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"malformed IPv6 packet dropped\" network=%s",
                  gw->net->conf.name);
        return;
    }
    if (vn_gw_nd_input(gw, smac, &ip))
        return;
    struct vn_ipp pp;
    vn_ipp_from6(&ip, &pp);
    if (vn_gw_on_link(gw, &pp.src))
        vn_gw_neigh_observe(gw, &pp.src, smac);
    if (ip.frag) {
        gw->stats.ip6_fragments++;
        if (ip.proto == VN_IPPROTO_TCP && !ip.frag_off)
            return; /* guests use path MTU discovery for TCP */
        struct vn_ip6 whole;
        if (vn_reasm_add6_from(&gw->reasm, f->port, &ip, vn_now_ms(), &whole) != 1)
            return;
        ip = whole;
        vn_ipp_from6(&ip, &pp);
    }
    struct vn_udp u;
    int dport = l4_dport(&pp, &u);
    if (dport < 0) {
        gw->stats.ip6_bad++;
        return;
    }
    const struct vn_gw_egress *e = vn_gw_egress_lookup(&gw->egress, &pp.dst, ip.dst[0] == 0xff,
                                                       vn_mac_is_multicast(dmac), ip.proto,
                                                       (uint16_t)dport);
    dispatch(gw, f, e, &pp, NULL, &u);
}

/* The IPv6 part of the egress table: on the link-local, service and DNS
 * addresses DHCPv6 (UDP 547), DNS on the DNS address (UDP 53, TCP to the
 * engine), ICMPv6 echo; on nat networks what else reaches the service
 * address (gateway6) goes to the NAT engine (it maps it to the host's ::1)
 * and every other destination is routed through NAT; DHCPv6 to the
 * All_DHCP_Relay_Agents_and_Servers group (ff02::1:2) and echo to the
 * all-nodes group are served. */
static void build_egress6(struct vn_gw *gw, bool engine)
{
    const struct vn_net_conf *c = gw->conf;
    bool nat = c->mode == VN_MODE_NAT;
    const struct vn_gw_egress drop = { .kind = VN_EG_DROP }, next = { .kind = VN_EG_NEXT },
                              port_unreach = { .kind = VN_EG_UNREACH,
                                               .icmp = VN_ICMPE_PORT_UNREACH },
                              echo = { .kind = VN_EG_SERVICE, .service = SVC_ECHO };
    const struct vn_gw_egress dhcp6 = c->dhcp6_mode != VN_DHCP6_OFF
                                          ? (struct vn_gw_egress){ .kind = VN_EG_SERVICE,
                                                                   .service = SVC_DHCP6 }
                                          : drop;
    struct vn_gw_egress_table *t = &gw->egress;
    const struct vn_addr *addrs[3] = { &gw->ll6, &gw->addr6, &gw->dns6 };
    for (unsigned i = 0; i < 3; i++) {
        struct vn_addr a = *addrs[i];
        if (!a.family || vn_gw_egress_is_local(t, &a))
            continue;
        bool is_svc = vn_addr_eq(&a, &gw->addr6), is_dns = vn_addr_eq(&a, &gw->dns6);
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, 547, true, dhcp6 });
        if (is_dns && gw->dns)
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, 53, false,
                                                              { .kind = VN_EG_SERVICE,
                                                                .service = SVC_DNS } });
        if (is_dns && gw->dns && engine && (!is_svc || !nat))
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_TCP, VN_EG_ANY, false, next });
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_ICMPV6, VN_EG_ANY, false, echo });
        if (is_svc && nat) {
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_EG_ANY, VN_EG_ANY, false, next });
            continue;
        }
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, VN_EG_ANY, false,
                                                          port_unreach });
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_EG_ANY, VN_EG_ANY, false, drop });
    }
    vn_gw_egress_add_bcast(t, (struct vn_gw_rule){ VN_IPPROTO_UDP, 547, true, dhcp6, AF_INET6 });
    vn_gw_egress_add_bcast(t, (struct vn_gw_rule){ VN_IPPROTO_ICMPV6, VN_EG_ANY, true, echo,
                                                   AF_INET6 });
    if (nat) {
        /* The link-local prefix is never routed; everything else goes through NAT. */
        struct vn_addr ll = { AF_INET6, { 0xfe, 0x80 } };
        vn_gw_egress_add_route(t, ll, 10, drop);
        struct vn_addr any6 = { .family = AF_INET6 };
        vn_gw_egress_add_route(t, any6, 0,
                               (struct vn_gw_egress){ .kind = VN_EG_NEXT, .routed = true });
        /* NAT64: the prefix goes to the engine too, which maps it onto IPv4. */
        if (c->nat64)
            vn_gw_egress_add_route(t, c->nat64_prefix, c->nat64_prefix_len,
                                   (struct vn_gw_egress){ .kind = VN_EG_NEXT, .routed = true });
    }
}

/* Fill the egress table from the network's mode and the services that
 * run (see egress.h). On every gateway address: DHCP (UDP 67), DNS on the
 * DNS address (UDP 53), ICMP echo; what else reaches the gateway address
 * goes to the NAT engine on nat networks (it maps the gateway to the host),
 * guest TCP to the DNS address goes to the engine's DNS-over-TCP side, the
 * rest is port unreachable (UDP) or dropped. Other destinations are routed
 * through NAT on nat networks and network unreachable elsewhere. */
static void build_egress(struct vn_gw *gw)
{
    const struct vn_net_conf *c = gw->conf;
    bool nat = c->mode == VN_MODE_NAT, engine = vn_net_has_nat_engine(c);
    const struct vn_gw_egress drop = { .kind = VN_EG_DROP }, next = { .kind = VN_EG_NEXT },
                              port_unreach = { .kind = VN_EG_UNREACH, .icmp = VN_ICMPE_PORT_UNREACH },
                              net_unreach = { .kind = VN_EG_UNREACH, .icmp = VN_ICMPE_NET_UNREACH },
                              echo = { .kind = VN_EG_SERVICE, .service = SVC_ECHO };
    const struct vn_gw_egress dhcp = gw->dhcp ? (struct vn_gw_egress){ .kind = VN_EG_SERVICE,
                                                                       .service = SVC_DHCP }
                                              : drop;
    struct vn_gw_egress_table *t = &gw->egress;
    vn_gw_egress_init(t, net_unreach);
    uint32_t addrs[2] = { gw->addr, gw->dns_addr };
    for (unsigned i = 0; i < 2; i++) {
        uint32_t x = addrs[i];
        struct vn_addr a = vn_addr4(x);
        if (!x || vn_gw_egress_is_local(t, &a))
            continue;
        bool is_gw = x == gw->addr, is_dns = x == gw->dns_addr;
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, 67, true, dhcp });
        if (is_dns && gw->dns)
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, 53, true,
                                                              { .kind = VN_EG_SERVICE,
                                                                .service = SVC_DNS } });
        if (is_dns && gw->dns && engine && (!is_gw || !nat))
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_TCP, VN_EG_ANY, false, next });
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_ICMP, VN_EG_ANY, false, echo });
        if (is_gw && nat) {
            vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_EG_ANY, VN_EG_ANY, false, next });
            continue;
        }
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_IPPROTO_UDP, VN_EG_ANY, false,
                                                          port_unreach });
        vn_gw_egress_add_local(t, a, (struct vn_gw_rule){ VN_EG_ANY, VN_EG_ANY, false, drop });
    }
    vn_gw_egress_add_bcast(t, (struct vn_gw_rule){ VN_IPPROTO_UDP, 67, true, dhcp, AF_INET });
    if (nat)
        vn_gw_egress_add_route(t, vn_addr4(0), 0,
                               (struct vn_gw_egress){ .kind = VN_EG_NEXT, .routed = true });
    if (gw->ll6.family)
        build_egress6(gw, engine);
}

int vn_gw_add_alias(struct vn_gw *gw, const struct vn_addr *a)
{
    struct vn_gw_egress_table *t = &gw->egress;
    if (vn_gw_egress_is_local(t, a))
        return 0;
    uint8_t echo_proto = a->family == AF_INET6 ? VN_IPPROTO_ICMPV6 : VN_IPPROTO_ICMP;
    int rc = 0;
    if (gw->dns)
        rc |= vn_gw_egress_add_local(t, *a, (struct vn_gw_rule){ VN_IPPROTO_UDP, 53, false,
                                                                 { .kind = VN_EG_SERVICE,
                                                                   .service = SVC_DNS } });
    rc |= vn_gw_egress_add_local(t, *a, (struct vn_gw_rule){ echo_proto, VN_EG_ANY, false,
                                                             { .kind = VN_EG_SERVICE,
                                                               .service = SVC_ECHO } });
    rc |= vn_gw_egress_add_local(t, *a, (struct vn_gw_rule){ VN_IPPROTO_UDP, VN_EG_ANY, false,
                                                             { .kind = VN_EG_UNREACH,
                                                               .icmp = VN_ICMPE_PORT_UNREACH } });
    rc |= vn_gw_egress_add_local(t, *a, (struct vn_gw_rule){ VN_EG_ANY, VN_EG_ANY, false,
                                                             { .kind = VN_EG_DROP } });
    return rc ? -1 : 0;
}

/* Port op: frames the switch delivers to the gateway. */
static void gw_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct vn_gw *gw = p->priv;
    for (unsigned i = 0; i < n; i++) {
        const struct vn_frame *f = fr[i];
        vn_port_tx_ok(p, f->len);
        const uint8_t *dst = f->data;
        if (!vn_mac_is_multicast(dst) && memcmp(dst, gw->mac, 6))
            continue; /* unknown unicast flooded to us: not ours */
        uint16_t et = vn_get_be16(f->data + 12);
        if ((et == VN_ETH_TYPE_ARP || et == VN_ETH_TYPE_IPV4) && gw->conf->ipv4_none)
            gw->stats.ip4_ignored++; /* an IPv6-only network (subnet: none) */
        else if (et == VN_ETH_TYPE_ARP)
            arp_input(gw, f);
        else if (et == VN_ETH_TYPE_IPV4 || et == VN_ETH_TYPE_IPV6)
            vn_gw_ip_input(gw, f);
        else
            gw->stats.ip_other_proto++;
    }
}

void vn_gw_ip_input(struct vn_gw *gw, const struct vn_frame *f)
{
    if (vn_get_be16(f->data + 12) == VN_ETH_TYPE_IPV4)
        ip4_input(gw, f);
    else
        ip6_input(gw, f);
}

static int gw_open(struct vn_port *p, char *err, size_t errlen)
{
    (void)p, (void)err, (void)errlen;
    return 0; /* the gateway object is attached by vn_gw_new */
}

static void gw_close(struct vn_port *p) { (void)p; }

static void gw_describe(struct vn_port *p, json_t *o)
{
    struct vn_gw *gw = p->priv;
    char ip[16], mac[18];
    json_object_set_new(o, "address", json_string(vn_ip4_str(gw->addr, ip)));
    json_object_set_new(o, "mac", json_string(vn_mac_str(gw->mac, mac)));
}

/* What the switch's port policy tells this gateway (switch.h struct vn_net_l3). */
static void l3_arp_claim(void *ctx, uint16_t port, const uint8_t mac[6], uint32_t ip)
{
    vn_gw_arp_claim(ctx, port, mac, ip);
}

static const struct vn_port_ops gw_ops = {
    .type = "gateway",
    .open = gw_open,
    .send = gw_send,
    .close = gw_close,
    .describe = gw_describe,
};

/* Size the switch's binding table of the network for the DHCP pool and
 * reservations, and bind the gateway's own addresses in it (the DHCP
 * server binds the leases). Returns 0 or -1 with err. */
static int bind_addresses(struct vn_gw *gw, char *err, size_t errlen)
{
    const struct vn_net_conf *c = gw->conf;
    uint64_t max = 8 + c->nhosts + c->nhosts6;
    if (c->dhcp && c->dhcp_end >= c->dhcp_start)
        max += (uint64_t)c->dhcp_end - c->dhcp_start + 1;
    max += vn_dhcp6_bindings_max(c);
    if (vn_bind_init(&gw->net->bind, (uint32_t)VN_MIN(max, 1u << 24)) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const uint32_t own[3] = { gw->addr, gw->dns_addr, gw->router };
    for (unsigned i = 0; i < 3; i++)
        if (own[i]) {
            struct vn_addr a = vn_addr4(own[i]);
            vn_bind_set(&gw->net->bind, &a, gw->mac, VN_BIND_GATEWAY, 0);
        }
    const struct vn_addr *own6[4] = { &gw->ll6, &gw->addr6, &gw->dns6, &gw->router6 };
    for (unsigned i = 0; i < 4; i++)
        if (own6[i]->family)
            vn_bind_set(&gw->net->bind, own6[i], gw->mac, VN_BIND_GATEWAY, 0);
    return 0;
}

struct vn_gw *vn_gw_new(struct vn_switch *sw, struct vn_network *n, const char *state_dir,
                        char *err, size_t errlen)
{
    struct vn_gw *gw = calloc(1, sizeof *gw);
    if (!gw || !(gw->arena = malloc(VN_GW_ARENA)) || vn_reasm_init(&gw->reasm)) {
        if (gw) {
            vn_reasm_free(&gw->reasm);
            free(gw->arena);
        }
        free(gw);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    const struct vn_net_conf *c = &n->conf;
    gw->sw = sw;
    gw->net = n;
    gw->loop = n->dp->loop; /* the worker of its network (docs/threading.md) */
    gw->conf = c;
    /* On host-only networks the host owns the gateway address; the services
     * answer on the DNS address instead. Isolated networks have no router. */
    gw->addr = c->mode == VN_MODE_HOST_ONLY ? c->dns_addr : c->gateway;
    gw->dns_addr = c->dns_addr;
    gw->router = c->mode == VN_MODE_ISOLATED ? 0 : c->gateway;
    /* An IPv6-only network (subnet: none) has no IPv4 address at all; its
     * "subnet" is the single address 0.0.0.0 so nothing is on its link. */
    gw->mask = c->prefix ? ~0u << (32 - c->prefix) : ~0u;
    gw->subnet = c->subnet;
    gw->bcast = c->prefix ? c->subnet | ~gw->mask : 0;
    gw->mtu = (uint16_t)VN_MIN(c->mtu, 65535u);
    vn_gw_l3_init(gw);
    /* A stable MAC per network, the same after every restart (guests keep
     * it in their ARP caches): locally administered, 52:56 then 32 bits of
     * the name's FNV-1a hash (a fixed function, unlike the keyed vn_hash). */
    uint32_t h = 2166136261u;
    for (const char *q = c->name; *q; q++)
        h = (h ^ (uint8_t)*q) * 16777619u;
    gw->mac[0] = 0x52;
    gw->mac[1] = 0x56;
    for (int i = 2; i < 6; i++)
        gw->mac[i] = (uint8_t)(h >> (8 * (i - 2)));

    struct vn_port_conf pc = { 0 };
    snprintf(pc.name, sizeof pc.name, "gw-%.*s", VN_NAME_MAX - 4, c->name);
    vn_strlcpy(pc.network, c->name, sizeof pc.network);
    pc.type = VN_PORT_TYPE_UNSET; /* a service port, not a backend's */
    gw->port = vn_switch_add_port_ops(sw, &pc, &gw_ops, gw, err, errlen);
    if (!gw->port)
        goto fail;
    gw->port->caps = VN_CAP_CSUM | VN_CAP_GSO;
    gw->port->connected = true;
    vn_gw_nd_init(gw);
    if (bind_addresses(gw, err, errlen) < 0)
        goto fail;
    if (c->dhcp && !(gw->dhcp = vn_dhcp4_new(gw, state_dir, err, errlen)))
        goto fail;
    if (gw->ll6.family && c->dhcp6_mode != VN_DHCP6_OFF &&
        !(gw->dhcp6 = vn_dhcp6_new(gw, state_dir, err, errlen)))
        goto fail;
    if (c->dns && !(gw->dns = vn_dns_new(gw, err, errlen)))
        goto fail;
    build_egress(gw);
    n->l3 = (struct vn_net_l3){ gw, l3_arp_claim };
    return gw;
fail:
    vn_gw_free(gw);
    return NULL;
}

void vn_gw_free(struct vn_gw *gw)
{
    if (!gw)
        return;
    if (gw->net && gw->net->l3.ctx == gw) {
        gw->net->l3 = (struct vn_net_l3){ 0 };
        vn_bind_free(&gw->net->bind);
    }
    if (gw->tunnel.free)
        gw->tunnel.free(gw->tunnel.ctx);
    gw->tunnel = (struct vn_gw_tunnel){ 0 };
    if (gw->next.free)
        gw->next.free(gw->next.ctx);
    gw->next = (struct vn_gw_next){ 0 };
    gw->nat = NULL;
    vn_gw_nd_stop(gw);
    vn_dns_free(gw->dns);
    vn_dhcp4_free(gw->dhcp);
    vn_dhcp6_free(gw->dhcp6);
    if (gw->port)
        vn_switch_del_port(gw->sw, gw->port);
    vn_reasm_free(&gw->reasm);
    free(gw->arena);
    free(gw);
}

json_t *vn_gw_json(struct vn_gw *gw)
{
    char a[16], mac[18];
    const struct vn_gw_stats *s = &gw->stats;
    json_t *o = json_pack("{s:s,s:s,s:s,s:i}", "address", vn_ip4_str(gw->addr, a), "mac",
                          vn_mac_str(gw->mac, mac), "port", gw->port->conf.name, "neighbours",
                          gw->nneigh);
    json_object_set_new(o, "dns_address", json_string(vn_ip4_str(gw->dns_addr, a)));
    json_object_set_new(o, "subnet", json_sprintf("%s/%u", vn_ip4_str(gw->subnet, a),
                                                  (unsigned)gw->conf->prefix));
    json_object_set_new(
        o, "stats",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "arp_requests",
                  (json_int_t)s->arp_requests, "arp_replies", (json_int_t)s->arp_replies,
                  "icmp_echo", (json_int_t)s->icmp_echo, "icmp_errors_sent",
                  (json_int_t)s->icmp_errors_sent, "ip_malformed", (json_int_t)s->ip_bad,
                  "ip_fragments", (json_int_t)s->ip_fragments, "reassembled", (json_int_t)gw->reasm.completed, "ttl_expired",
                  (json_int_t)s->ip_ttl_expired, "other_protocols", (json_int_t)s->ip_other_proto,
                  "ipv6_ignored", (json_int_t)s->ip6_ignored, "tx_frames",
                  (json_int_t)s->tx_frames, "tx_arena_full", (json_int_t)s->tx_arena_full,
                  "neighbours_full", (json_int_t)s->neigh_full));
    json_t *st = json_object_get(o, "stats");
    json_object_set_new(st, "arp_conflicts", json_integer((json_int_t)s->conflicts));
    json_object_set_new(st, "neighbours_kept", json_integer((json_int_t)s->neigh_kept));
    json_object_set_new(st, "fragmented_replies", json_integer((json_int_t)s->fragmented));
    json_object_set_new(st, "icmp_rate_limited", json_integer((json_int_t)s->icmp_rate_limited));
    if (gw->conf->ipv4_none) {
        /* No IPv4 addresses: say so instead of 0.0.0.0. */
        json_object_set_new(o, "address", json_null());
        json_object_set_new(o, "dns_address", json_null());
        json_object_set_new(o, "subnet", json_null());
        json_object_set_new(st, "ipv4_ignored", json_integer((json_int_t)s->ip4_ignored));
    }
    if (gw->conf->nat64) {
        char p6[VN_ADDR_STRLEN];
        json_object_set_new(o, "nat64_prefix",
                            json_sprintf("%s/%u", vn_addr_str(&gw->conf->nat64_prefix, p6, sizeof p6),
                                         gw->conf->nat64_prefix_len));
    }
    const struct vn_reasm *ra = &gw->reasm;
    json_object_set_new(o, "reassembly",
                        json_pack("{s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I}", "in_use",
                                  (int)vn_reasm_in_use(ra, vn_now_ms()), "max", VN_REASM_SLOTS,
                                  "per_guest_max", VN_REASM_SHARE, "completed",
                                  (json_int_t)ra->completed, "overlaps", (json_int_t)ra->overlaps,
                                  "invalid", (json_int_t)(ra->bad - ra->overlaps), "timeouts",
                                  (json_int_t)ra->timeouts, "evicted", (json_int_t)ra->evicted,
                                  "recycled_guest_share", (json_int_t)ra->recycled_share));
    if (gw->ll6.family) {
        char a6[VN_ADDR_STRLEN];
        json_object_set_new(o, "address6", json_string(vn_addr_str(&gw->addr6, a6, sizeof a6)));
        json_object_set_new(o, "link_local", json_string(vn_addr_str(&gw->ll6, a6, sizeof a6)));
        json_object_set_new(o, "dns_address6", json_string(vn_addr_str(&gw->dns6, a6, sizeof a6)));
        char pfx[VN_ADDR_STRLEN + 4];
        snprintf(pfx, sizeof pfx, "%s/64", vn_addr_str(&gw->prefix6, a6, sizeof a6));
        json_object_set_new(o, "subnet6", json_string(pfx));
        json_object_set_new(
            o, "stats6",
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "malformed",
                      (json_int_t)s->ip6_bad, "fragments", (json_int_t)s->ip6_fragments,
                      "ns_received", (json_int_t)s->nd_ns, "na_sent", (json_int_t)s->nd_na_sent,
                      "na_received", (json_int_t)s->nd_na_rcvd, "rs_received",
                      (json_int_t)s->nd_rs, "ra_sent", (json_int_t)s->nd_ra_sent, "nd_invalid",
                      (json_int_t)s->nd_bad, "dad_defended", (json_int_t)s->nd_dad_defended,
                      "icmp6_echo", (json_int_t)s->icmp6_echo));
    }
    json_t *eg = json_object();
    for (unsigned k = 0; k < VN_EG__COUNT; k++)
        json_object_set_new(eg, vn_gw_egress_kind_name((enum vn_gw_egress_kind)k),
                            json_integer((json_int_t)gw->egress.hits[k]));
    json_object_set_new(o, "egress", eg);
    if (gw->dhcp)
        json_object_set_new(o, "dhcp", vn_dhcp4_stats_json(gw->dhcp));
    if (gw->dhcp6)
        json_object_set_new(o, "dhcp6", vn_dhcp6_stats_json(gw->dhcp6));
    if (gw->dns)
        json_object_set_new(o, "dns", vn_dns_stats_json(gw->dns));
    if (gw->next.json)
        json_object_set_new(o, "nat", gw->next.json(gw->next.ctx));
    if (gw->tunnel.json) {
        json_t *v = gw->tunnel.json(gw->tunnel.ctx);
        json_object_set_new(v, "gateway",
                            json_pack("{s:I,s:I,s:I,s:I,s:I}", "forwarded",
                                      (json_int_t)s->tun_forwarded, "neighbour_miss",
                                      (json_int_t)s->tun_neigh_miss, "refused",
                                      (json_int_t)s->tun_refused, "malformed",
                                      (json_int_t)s->tun_bad, "acl_dropped",
                                      (json_int_t)s->tun_acl));
        json_object_set_new(o, "vpn", v);
    }
    return o;
}
