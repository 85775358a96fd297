/* Per-port policy: see policy.h. */
#include "policy.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <linux/virtio_net.h>
#include <stdlib.h>
#include <string.h>

/* Burst defaults: 100 ms of traffic, but never less than two 64 KiB
 * segments (a GSO frame must fit) or 64 packets. */
static uint64_t burst_bytes(uint64_t bps, uint64_t given)
{
    if (given)
        return given;
    uint64_t b = bps / 80;
    return b < 2 * 65536 ? 2 * 65536 : b;
}

static void q_tick(struct vn_timer *t);

bool vn_port_rx_paused(const struct vn_port *p) { return p->fwd->policy.paused; }

static void resume_tick(struct vn_timer *t)
{
    struct vn_port_policy *pol = VN_CONTAINER_OF(t, struct vn_port_policy, resume);
    struct vn_port *p = VN_CONTAINER_OF(pol, struct vn_port_fwd, policy)->port;
    uint64_t now = vn_now_ns();
    vn_bucket_refill(&pol->in_bits, now);
    vn_bucket_refill(&pol->in_pkts, now);
    uint64_t wait = VN_MAX(vn_bucket_delay_ms(&pol->in_bits), vn_bucket_delay_ms(&pol->in_pkts));
    if (wait) {
        vn_timer_arm(p->loop, &pol->resume, wait);
        return;
    }
    pol->paused = false;
    if (p->rx_io)
        vn_io_mod(p->loop, p->rx_io, p->rx_io->events | EPOLLIN);
    if (p->ops->rx_resume)
        p->ops->rx_resume(p);
}

void vn_policy_after_rx(struct vn_switch *sw, struct vn_port *p)
{
    struct vn_port_policy *pol = &p->fwd->policy;
    if (!pol->shaping || pol->paused || !p->rx_io)
        return;
    uint64_t wait = VN_MAX(vn_bucket_delay_ms(&pol->in_bits), vn_bucket_delay_ms(&pol->in_pkts));
    if (!wait)
        return;
    pol->paused = true;
    (void)sw;
    vn_io_mod(p->loop, p->rx_io, p->rx_io->events & ~(uint32_t)EPOLLIN);
    vn_timer_arm(p->loop, &pol->resume, wait);
}

int vn_policy_init(struct vn_port *p)
{
    struct vn_port_policy *pol = &p->fwd->policy;
    const struct vn_port_conf *c = &p->conf;
    memset(pol, 0, sizeof *pol);
    vn_bucket_init(&pol->in_bits, c->rate_in_bps, burst_bytes(c->rate_in_bps, c->rate_in_burst) * 8);
    vn_bucket_init(&pol->in_pkts, c->rate_in_pps, VN_MAX(c->rate_in_pps / 10, 64u));
    vn_bucket_init(&pol->out_bits, c->rate_out_bps,
                   burst_bytes(c->rate_out_bps, c->rate_out_burst) * 8);
    vn_bucket_init(&pol->out_pkts, c->rate_out_pps, VN_MAX(c->rate_out_pps / 10, 64u));
    /* Services, uplinks and the overlay (the other hosts' part of the
     * network) are where DHCP servers and routers legitimately live. */
    bool infra = !strcmp(p->ops->type, "gateway") || !strcmp(p->ops->type, "uplink") ||
                 !strcmp(p->ops->type, "vxlan") || c->host_addr || c->trusted;
    pol->guard = !infra;
    /* DAD claims: VN_BIND_DAD_PER_MAC for each MAC the port may use. */
    unsigned nmacs = c->max_macs ? c->max_macs : c->nsec_macs;
    if (c->nsec_macs && c->nsec_macs < nmacs)
        nmacs = c->nsec_macs;
    pol->dad_limit = (uint16_t)(VN_BIND_DAD_PER_MAC * VN_MAX(nmacs, 1u));
    if (c->max_macs) {
        pol->macs = calloc(c->max_macs, 6);
        if (!pol->macs)
            return -1;
    }
    vn_timer_init(&pol->resume, resume_tick);
    vn_timer_init(&pol->q.timer, q_tick);
    if (c->rate_out_bps || c->rate_out_pps) {
        /* Room for 50 ms at the configured rate, at least 512 KiB. */
        size_t cap = (size_t)VN_MAX(c->rate_out_bps / 160, (uint64_t)512 * 1024);
        if (cap > 64u << 20)
            cap = 64u << 20;
        pol->q.ring = malloc(cap);
        if (!pol->q.ring)
            return -1;
        pol->q.cap = cap;
    }
    pol->shaping = c->rate_in_bps || c->rate_in_pps;
    pol->any = c->rate_in_bps || c->rate_in_pps || c->nsec_macs || c->max_macs || pol->guard ||
               c->ip_binding;
    return 0;
}

void vn_policy_free(struct vn_port *p)
{
    if (p->fwd->policy.dad_claimed) /* its addresses go with it */
        for (unsigned i = 0; i < p->sw->nnets; i++)
            if (vn_port_carries(p, i))
                vn_bind_forget_port(&p->sw->nets[i]->bind, p->id);
    vn_timer_cancel(p->loop, &p->fwd->policy.resume);
    vn_timer_cancel(p->loop, &p->fwd->policy.q.timer);
    free(p->fwd->policy.q.ring);
    p->fwd->policy.q.ring = NULL;
    free(p->fwd->policy.macs);
    p->fwd->policy.macs = NULL;
}

/* Segments a frame stands for (a GSO frame is many on the wire). */
static uint64_t segments(const struct vn_frame *f)
{
    if (f->off.gso_type == VIRTIO_NET_HDR_GSO_NONE || !f->off.gso_size)
        return 1;
    return (f->len + f->off.gso_size - 1) / f->off.gso_size;
}

static bool policer(struct vn_bucket *bits, struct vn_bucket *pkts, const struct vn_frame *f)
{
    if (!bits->rate && !pkts->rate)
        return true;
    uint64_t now = vn_now_ns();
    /* Check both before spending either. */
    struct vn_bucket b2 = *bits, p2 = *pkts;
    if (!vn_bucket_take(&b2, (uint64_t)f->len * 8, now) || !vn_bucket_take(&p2, segments(f), now))
        return false;
    *bits = b2;
    *pkts = p2;
    return true;
}

static bool mac_listed(const struct vn_port_conf *c, const uint8_t *mac)
{
    for (unsigned i = 0; i < c->nsec_macs; i++)
        if (!memcmp(c->sec_macs[i], mac, 6))
            return true;
    return false;
}

/* Whether a is one of the port's security.ips. */
static bool listed(const struct vn_port_conf *c, const struct vn_addr *a)
{
    for (unsigned i = 0; i < c->nsec_ips; i++)
        if (vn_addr_eq(&c->sec_ips[i], a))
            return true;
    return false;
}

/* Whether a (fe80::/64) has the modified EUI-64 interface identifier of mac
 * (RFC 4291 2.5.1, appendix A). */
static bool ll_eui64_of(const uint8_t a[16], const uint8_t mac[6])
{
    static const uint8_t ll[8] = { 0xfe, 0x80 };
    return !memcmp(a, ll, 8) && a[8] == (mac[0] ^ 2) && a[9] == mac[1] && a[10] == mac[2] &&
           a[11] == 0xff && a[12] == 0xfe && a[13] == mac[3] && a[14] == mac[4] &&
           a[15] == mac[5];
}

/* Whether mac may use source address a (either family) on a port with
 * config c: one of its security.ips, an IPv6 link-local address derived by
 * EUI-64 from mac or another MAC the port lists, or bound to mac in the
 * network's table b: a DHCPv4 or DHCPv6 lease, a reservation, an IPv6
 * address mac claimed by DAD (binding.h; a use keeps the claim alive). */
static bool addr_allowed(struct vn_bindings *b, const struct vn_port_conf *c,
                         const struct vn_addr *a, const uint8_t *mac)
{
    if (listed(c, a))
        return true;
    if (a->family == AF_INET6) {
        if (ll_eui64_of(a->a, mac))
            return true;
        for (unsigned i = 0; i < c->nsec_macs; i++)
            if (ll_eui64_of(a->a, c->sec_macs[i]))
                return true;
    }
    return vn_bind_allows(b, a, mac, vn_wall_s());
}

/* Whether mac may claim a in neighbour discovery: nobody else (no other
 * MAC, not the gateway) holds it in the table. */
static bool claim_ok(struct vn_bindings *b, const struct vn_addr *a, const uint8_t *mac,
                     int64_t now)
{
    enum vn_bind_owner o = vn_bind_owner(b, a, mac, now);
    return o == VN_OWNER_NONE || o == VN_OWNER_SELF;
}

static enum vn_drop malformed(struct vn_port *p)
{
    p->fwd->dp->malformed_total++;
    return VN_DROP_MALFORMED;
}

/* Whether a DHCP client message (UDP 68 -> 67, first fragment) speaks for
 * the frame's own source MAC: Ethernet hardware type and length, chaddr
 * equal to src, and the BOOTP header complete in this fragment (so a tiny
 * first fragment cannot hide chaddr from the check). */
static bool dhcp_for_itself(const struct vn_ip4 *ip, const uint8_t *src)
{
    const uint8_t *b = ip->l4 + 8; /* BOOTP: op htype hlen hops xid secs flags 4 addrs chaddr */
    if (ip->l4_len < 8 + 28 + 6)
        return false;
    return b[1] == 1 && b[2] == 6 && !memcmp(b + 28, src, 6);
}

/* Whether d is the solicited-node multicast address of t (ff02::1:ffXX:XXXX,
 * RFC 4291 2.7.1). */
static bool solicited_node_of(const uint8_t d[16], const uint8_t t[16])
{
    static const uint8_t sn[13] = { 0xff, 0x02, [11] = 0x01, [12] = 0xff };
    return !memcmp(d, sn, 13) && !memcmp(d + 13, t + 13, 3);
}

static bool unspecified(const uint8_t a[16])
{
    static const uint8_t zero[16];
    return !memcmp(a, zero, 16);
}

/* Check the link-layer address options of type want (1 source, 2 target) in
 * the neighbour discovery options at o (len bytes) against the frame's
 * source mac: -1 when the options are malformed (a zero length, or past the
 * end: receivers discard the message, RFC 4861 7.1), 1 when one names
 * another address (every one is checked: receivers differ in which of two
 * they take), else 0; *has tells whether there was one. */
static int nd_lla_check(const uint8_t *o, size_t len, uint8_t want, const uint8_t *mac, bool *has)
{
    int r = 0;
    *has = false;
    while (len) {
        if (len < 8 || !o[1] || (size_t)o[1] * 8 > len)
            return -1;
        if (o[0] == want) {
            *has = true;
            if (o[1] != 1 || memcmp(o + 2, mac, 6))
                r = 1;
        }
        len -= (size_t)o[1] * 8;
        o += (size_t)o[1] * 8;
    }
    return r;
}

/* An IPv6 packet from port p on a guarded or ip_binding port (see policy.h):
 * the router-advertisement/redirect/DHCPv6-server guard on the upper layer
 * behind the extension headers, the gateway's addresses, neighbour
 * discovery that claims addresses (another MAC's or the gateway's, a
 * link-layer address other than the frame's source; DAD claims recorded),
 * then source binding. Only NS/NA/RS and sources of ip_binding ports cost a
 * table lookup. */
static enum vn_drop ingress6(struct vn_switch *sw, struct vn_port *p, const struct vn_frame *f,
                             const uint8_t *l3, size_t l3len)
{
    struct vn_port_policy *pol = &p->fwd->policy;
    const struct vn_port_conf *c = &p->conf;
    struct vn_bindings *b = &sw->nets[f->net]->bind;
    const uint8_t *src = f->data + 6;
    struct vn_ip6 ip;
    if (vn_ip6_parse(l3, l3len, &ip) != VN_IP_OK)
        return malformed(p); /* bad chain: too long, hop-by-hop not first, past the end */
    uint8_t proto = ip.proto;
    const uint8_t *l4 = ip.l4;
    size_t l4len = ip.l4_len;
    bool later = ip.frag && ip.frag_off; /* a non-first fragment: no upper-layer header */
    /* vn_ip6_parse stops at an authentication header (RFC 4302); options
     * may follow it: walk on to the upper layer. */
    for (unsigned n = 0; !later && (proto == IPPROTO_AH ||
                                    (n && (proto == VN_IPPROTO_DSTOPTS ||
                                           proto == VN_IPPROTO_ROUTING)));
         n++) {
        if (n == VN_IP6_EXT_MAX || l4len < 8)
            return malformed(p);
        size_t hl = proto == IPPROTO_AH ? ((size_t)l4[1] + 2) * 4 : ((size_t)l4[1] + 1) * 8;
        if (hl > l4len)
            return malformed(p);
        proto = l4[0];
        l4 += hl;
        l4len -= hl;
    }
    struct vn_addr sa = { .family = AF_INET6 };
    memcpy(sa.a, ip.src, 16);
    bool unspec = unspecified(ip.src);
    int icmp = -1; /* the ICMPv6 type, when the packet shows one */
    if (!later && (proto == VN_IPPROTO_ICMPV6 || proto == VN_IPPROTO_UDP)) {
        if (l4len < (proto == VN_IPPROTO_UDP || ip.frag ? 8u : 4u)) {
            if (!ip.frag)
                return malformed(p);
            if (pol->guard) /* the upper-layer header is not in the first fragment (RFC 7112) */
                return VN_DROP_GUARD;
        } else if (proto == VN_IPPROTO_ICMPV6) {
            icmp = l4[0];
        } else if (pol->guard && vn_get_be16(l4) == 547) {
            return VN_DROP_GUARD; /* a DHCPv6 server (or relay) on a VM port */
        }
    }
    if (pol->guard) {
        if (icmp == 134 || icmp == 137)
            return VN_DROP_GUARD; /* router advertisement, redirect */
        if (ip.frag && icmp >= 133 && icmp <= 137)
            return VN_DROP_GUARD; /* fragmented neighbour discovery (RFC 6980 forbids it) */
        if (vn_bind_is_gateway(b, &sa))
            return VN_DROP_SPOOF; /* a guest speaking as the gateway */
    }
    /* Neighbour discovery: what it claims must be the sender's. */
    if (!ip.frag && (icmp == 133 || icmp == 135 || icmp == 136)) {
        size_t hl = icmp == 133 ? 8 : 24; /* RS; NS and NA have the target after 8 */
        if (l4len < hl)
            return malformed(p);
        bool has_lla;
        int lla = nd_lla_check(l4 + hl, l4len - hl, icmp == 136 ? 2 : 1, src, &has_lla);
        if (lla < 0)
            return malformed(p);
        if (lla)
            return VN_DROP_SPOOF; /* names a link-layer address other than its own */
        int64_t now = vn_wall_s();
        if (!unspec && !claim_ok(b, &sa, src, now))
            return VN_DROP_SPOOF; /* from another MAC's address */
        struct vn_addr t = { .family = AF_INET6 };
        if (icmp != 133)
            memcpy(t.a, l4 + 8, 16);
        if (icmp == 136 && !claim_ok(b, &t, src, now))
            return VN_DROP_SPOOF; /* advertises another MAC's or the gateway's address */
        if (icmp == 135 && unspec) { /* duplicate address detection */
            bool dad = ip.hlim == 255 && l4[1] == 0 && !has_lla && t.a[0] != 0xff &&
                       !unspecified(t.a) && solicited_node_of(ip.dst, t.a);
            if (!dad) {
                if (!claim_ok(b, &t, src, now))
                    return VN_DROP_SPOOF;
            } else if (vn_bind_claim_dad(b, &t, src, p->id, pol->dad_limit, now) ==
                       VN_CLAIM_TAKEN) {
                return VN_DROP_SPOOF; /* DAD for another MAC's or the gateway's address */
            } else {
                pol->dad_claimed = true; /* (refused claims are counted in the table) */
            }
        }
    }
    if (c->ip_binding) {
        if (unspec) {
            /* :: only for DAD (NS to a solicited-node group), MLD reports
             * (RFC 3590) and router solicitations (RFC 4861 6.3.7). */
            bool dad = icmp == 135 && l4len >= 24 && solicited_node_of(ip.dst, l4 + 8);
            if (!(dad || icmp == 143 || icmp == 131 || icmp == 133))
                return VN_DROP_SPOOF;
        } else if (!addr_allowed(b, c, &sa, src)) {
            return VN_DROP_SPOOF;
        }
    }
    return VN_DROP__COUNT;
}

enum vn_drop vn_policy_ingress(struct vn_switch *sw, struct vn_port *p, const struct vn_frame *f)
{
    struct vn_port_policy *pol = &p->fwd->policy;
    if (!pol->any)
        return VN_DROP__COUNT;
    const struct vn_port_conf *c = &p->conf;
    const uint8_t *src = f->data + 6;
    if (pol->shaping && p->rx_io) {
        uint64_t now = vn_now_ns();
        vn_bucket_charge(&pol->in_bits, (uint64_t)f->len * 8, now);
        vn_bucket_charge(&pol->in_pkts, segments(f), now);
    } else if (!policer(&pol->in_bits, &pol->in_pkts, f)) {
        return VN_DROP_POLICER;
    }
    if (c->nsec_macs && !mac_listed(c, src))
        return VN_DROP_SPOOF;
    if (pol->macs) {
        bool known = false;
        for (unsigned i = 0; i < pol->nmacs && !known; i++)
            known = !memcmp(pol->macs[i], src, 6);
        if (!known) {
            if (pol->nmacs >= c->max_macs)
                return VN_DROP_MAC_LIMIT;
            memcpy(pol->macs[pol->nmacs++], src, 6);
        }
    }
    if (!pol->guard && !c->ip_binding)
        return VN_DROP__COUNT;
    uint16_t et = vn_get_be16(f->data + 12);
    const uint8_t *l3 = f->data + VN_ETH_HLEN;
    size_t l3len = f->len - VN_ETH_HLEN;
    struct vn_network *net = sw->nets[f->net];
    struct vn_bindings *bind = &net->bind;
    if (et == VN_ETH_TYPE_IPV4) {
        struct vn_ip4 ip;
        if (vn_ip4_parse_hdr(l3, l3len, false, &ip) != VN_IP_OK)
            return c->ip_binding ? VN_DROP_SPOOF : VN_DROP__COUNT;
        bool dhcp_client = ip.proto == VN_IPPROTO_UDP && ip.l4_len >= 4 && !ip.frag_off &&
                           vn_get_be16(ip.l4) == 68 && vn_get_be16(ip.l4 + 2) == 67;
        if (pol->guard && ip.proto == VN_IPPROTO_UDP && ip.l4_len >= 4 && !ip.frag_off &&
            vn_get_be16(ip.l4) == 67)
            return VN_DROP_GUARD; /* a DHCP server on a VM port */
        struct vn_addr sa = vn_addr4(ip.src);
        if (pol->guard && vn_bind_is_gateway(bind, &sa))
            return VN_DROP_SPOOF; /* a guest speaking as the gateway (its DNS, say) */
        if (pol->guard && dhcp_client && !dhcp_for_itself(&ip, src))
            return VN_DROP_SPOOF; /* DHCP on behalf of another client's hardware address */
        if (c->ip_binding && !(ip.src == 0 && dhcp_client) && !addr_allowed(bind, c, &sa, src))
            return VN_DROP_SPOOF;
    } else if (et == VN_ETH_TYPE_ARP) {
        if (l3len < 28)
            return c->ip_binding ? VN_DROP_SPOOF : VN_DROP__COUNT;
        const uint8_t *sha = l3 + 8;
        uint32_t spa = vn_get_be32(l3 + 14);
        struct vn_addr sa = vn_addr4(spa);
        if (pol->guard && vn_bind_is_gateway(bind, &sa))
            return VN_DROP_SPOOF; /* a guest claiming the gateway's address */
        if (c->ip_binding && memcmp(sha, src, 6))
            return VN_DROP_SPOOF; /* ARP that lies about its own MAC */
        if (c->ip_binding && spa && !addr_allowed(bind, c, &sa, src))
            return VN_DROP_SPOOF; /* ARP claiming an address the port does not own */
        if (pol->guard && net->l3.arp_claim && spa)
            net->l3.arp_claim(net->l3.ctx, p->id, sha, spa); /* conflicts are noticed, not dropped */
    } else if (et == VN_ETH_TYPE_IPV6) {
        return ingress6(sw, p, f, l3, l3len);
    }
    return VN_DROP__COUNT;
}

/* ---- egress shaper queue ---- */

struct qrec {
    uint32_t len;            /* frame bytes; QREC_WRAP = continue at the ring start */
    uint16_t net, pad;
    struct vn_offload off;
};
#define QREC_WRAP UINT32_MAX
#define QREC_SIZE(len) ((sizeof(struct qrec) + (len) + 7) & ~(size_t)7)

/* Copy f into the queue; false if it does not fit. */
static bool q_push(struct vn_egress_q *q, const struct vn_frame *f)
{
    size_t need = QREC_SIZE(f->len);
    size_t pos;
    if (q->used == 0)
        q->head = q->tail = 0;
    if (q->tail >= q->head) {
        if (q->cap - q->tail >= need) {
            pos = q->tail;
        } else if (q->head > need) { /* wrap: mark the end, continue at 0 */
            if (q->cap - q->tail >= sizeof(struct qrec))
                ((struct qrec *)(void *)(q->ring + q->tail))->len = QREC_WRAP;
            q->used += q->cap - q->tail;
            pos = 0;
        } else {
            return false;
        }
    } else if (q->head - q->tail > need) {
        pos = q->tail;
    } else {
        return false;
    }
    struct qrec *r = (struct qrec *)(void *)(q->ring + pos);
    *r = (struct qrec){ .len = f->len, .net = f->net, .off = f->off };
    memcpy(r + 1, f->data, f->len);
    q->tail = pos + need;
    q->used += need;
    q->frames++;
    return true;
}

/* The record at the head (skipping a wrap mark), or NULL if empty. */
static struct qrec *q_peek(struct vn_egress_q *q)
{
    if (!q->frames)
        return NULL;
    if (q->cap - q->head < sizeof(struct qrec) ||
        ((struct qrec *)(void *)(q->ring + q->head))->len == QREC_WRAP) {
        q->used -= q->cap - q->head;
        q->head = 0;
    }
    return (struct qrec *)(void *)(q->ring + q->head);
}

static void q_pop(struct vn_egress_q *q, const struct qrec *r)
{
    size_t sz = QREC_SIZE(r->len);
    q->head += sz;
    q->used -= sz;
    q->frames--;
}

static uint64_t q_delay_ms(const struct vn_port_policy *pol)
{
    uint64_t d = VN_MAX(vn_bucket_delay_ms(&pol->out_bits), vn_bucket_delay_ms(&pol->out_pkts));
    return d ? d : 1;
}

/* Timer: release queued frames as far as the buckets allow. */
static void q_tick(struct vn_timer *t)
{
    struct vn_port_policy *pol = VN_CONTAINER_OF(t, struct vn_port_policy, q.timer);
    struct vn_port *p = VN_CONTAINER_OF(pol, struct vn_port_fwd, policy)->port;
    struct vn_egress_q *q = &pol->q;
    for (;;) {
        struct vn_frame fr[VN_BATCH], *ptr[VN_BATCH];
        unsigned n = 0;
        while (n < VN_BATCH) {
            struct qrec *r = q_peek(q);
            if (!r)
                break;
            fr[n] = (struct vn_frame){ .data = (uint8_t *)(r + 1), .len = r->len, .net = r->net,
                                       .off = r->off };
            if (!policer(&pol->out_bits, &pol->out_pkts, &fr[n]))
                break;
            ptr[n] = &fr[n];
            q_pop(q, r);
            n++;
        }
        if (n) /* the records stay intact until new frames are pushed */
            vn_switch_emit_now(p->sw, p, ptr, n);
        if (n < VN_BATCH)
            break;
    }
    if (q->frames)
        vn_timer_arm(p->loop, &q->timer, q_delay_ms(pol));
}

unsigned vn_policy_egress(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr,
                          unsigned n)
{
    (void)sw;
    struct vn_port_policy *pol = &p->fwd->policy;
    unsigned k = 0;
    for (unsigned i = 0; i < n; i++) {
        /* Keep order: once something waits, everything after it waits too. */
        if (!pol->q.frames && policer(&pol->out_bits, &pol->out_pkts, fr[i])) {
            fr[k++] = fr[i];
            continue;
        }
        if (!pol->q.ring || !q_push(&pol->q, fr[i])) {
            vn_port_drop_tx(p, VN_DROP_POLICER);
            continue;
        }
        if (!vn_timer_armed(&pol->q.timer))
            vn_timer_arm(p->loop, &pol->q.timer, q_delay_ms(pol));
    }
    return k;
}
