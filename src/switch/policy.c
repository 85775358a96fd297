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
        vn_timer_arm(p->sw->loop, &pol->resume, wait);
        return;
    }
    pol->paused = false;
    if (p->rx_io)
        vn_io_mod(p->sw->loop, p->rx_io, p->rx_io->events | EPOLLIN);
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
    vn_io_mod(sw->loop, p->rx_io, p->rx_io->events & ~(uint32_t)EPOLLIN);
    vn_timer_arm(sw->loop, &pol->resume, wait);
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
    /* Services and uplinks are where DHCP servers and routers legitimately live. */
    bool infra = !strcmp(p->ops->type, "gateway") || !strcmp(p->ops->type, "uplink") ||
                 c->host_addr || c->trusted;
    pol->guard = !infra;
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
    vn_timer_cancel(p->sw->loop, &p->fwd->policy.resume);
    vn_timer_cancel(p->sw->loop, &p->fwd->policy.q.timer);
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

/* Whether ip (host order) may be used by mac on port p. */
static bool ip_allowed(struct vn_switch *sw, const struct vn_port *p, uint16_t net, uint32_t ip,
                       const uint8_t *mac)
{
    const struct vn_port_conf *c = &p->conf;
    struct vn_addr a = vn_addr4(ip);
    if (listed(c, &a))
        return true;
    return vn_bind_allows(&sw->nets[net]->bind, &a, mac, vn_wall_s());
}

/* Whether ip (host order) is bound to the network's gateway. */
static bool is_gateway(const struct vn_network *net, uint32_t ip)
{
    struct vn_addr a = vn_addr4(ip);
    return vn_bind_is_gateway(&net->bind, &a);
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
    const struct vn_network *net = sw->nets[f->net];
    if (et == VN_ETH_TYPE_IPV4) {
        struct vn_ip4 ip;
        if (vn_ip4_parse_hdr(l3, l3len, false, &ip) != VN_IP_OK)
            return c->ip_binding ? VN_DROP_SPOOF : VN_DROP__COUNT;
        bool dhcp_client = ip.proto == VN_IPPROTO_UDP && ip.l4_len >= 4 && !ip.frag_off &&
                           vn_get_be16(ip.l4) == 68 && vn_get_be16(ip.l4 + 2) == 67;
        if (pol->guard && ip.proto == VN_IPPROTO_UDP && ip.l4_len >= 4 && !ip.frag_off &&
            vn_get_be16(ip.l4) == 67)
            return VN_DROP_GUARD; /* a DHCP server on a VM port */
        if (pol->guard && is_gateway(net, ip.src))
            return VN_DROP_SPOOF; /* a guest speaking as the gateway (its DNS, say) */
        if (pol->guard && dhcp_client && !dhcp_for_itself(&ip, src))
            return VN_DROP_SPOOF; /* DHCP on behalf of another client's hardware address */
        if (c->ip_binding && !(ip.src == 0 && dhcp_client) &&
            !ip_allowed(sw, p, f->net, ip.src, src))
            return VN_DROP_SPOOF;
    } else if (et == VN_ETH_TYPE_ARP) {
        if (l3len < 28)
            return c->ip_binding ? VN_DROP_SPOOF : VN_DROP__COUNT;
        const uint8_t *sha = l3 + 8;
        uint32_t spa = vn_get_be32(l3 + 14);
        if (pol->guard && is_gateway(net, spa))
            return VN_DROP_SPOOF; /* a guest claiming the gateway's address */
        if (c->ip_binding && memcmp(sha, src, 6))
            return VN_DROP_SPOOF; /* ARP that lies about its own MAC */
        if (c->ip_binding && spa && !ip_allowed(sw, p, f->net, spa, src))
            return VN_DROP_SPOOF; /* ARP claiming an address the port does not own */
        if (pol->guard && net->l3.arp_claim && spa)
            net->l3.arp_claim(net->l3.ctx, p->id, sha, spa); /* conflicts are noticed, not dropped */
    } else if (et == VN_ETH_TYPE_IPV6) {
        if (l3len < 40)
            return VN_DROP__COUNT;
        uint8_t nh = l3[6];
        if (pol->guard && nh == VN_IPPROTO_ICMPV6 && l3len >= 41 && l3[40] == 134)
            return VN_DROP_GUARD; /* router advertisement */
        if (pol->guard && nh == VN_IPPROTO_UDP && l3len >= 44 && vn_get_be16(l3 + 40) == 547)
            return VN_DROP_GUARD; /* DHCPv6 server */
        /* On a bound port IPv6 sources are link-local or unspecified
         * (neighbour discovery) or listed in security.ips. */
        if (c->ip_binding) {
            bool unspec = true;
            for (int i = 8; i < 24; i++)
                unspec &= l3[i] == 0;
            struct vn_addr a6 = { .family = AF_INET6 };
            memcpy(a6.a, l3 + 8, 16);
            if (!unspec && !(l3[8] == 0xfe && (l3[9] & 0xc0) == 0x80) && !listed(c, &a6))
                return VN_DROP_SPOOF;
        }
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
        vn_timer_arm(p->sw->loop, &q->timer, q_delay_ms(pol));
}

unsigned vn_policy_egress(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr,
                          unsigned n)
{
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
            vn_timer_arm(sw->loop, &pol->q.timer, q_delay_ms(pol));
    }
    return k;
}
