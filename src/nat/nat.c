/* NAT engine: flow table, dispatch, idle sweeping and reporting.
 * See flow.h for the theory of operation of the table and nat/tcp.c for TCP. */
#include "core/hash.h"
#include "core/log.h"
#include "core/ownports.h"
#include "core/util.h"
#include "gw/dns.h"
#include "nat_internal.h"
#include "pkt/csum.h"
#include "pkt/eth.h"
#include "pkt/nat64.h"

#include <errno.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SWEEP_MS = 1000, SCRATCH_SIZE = 65536 };

static uint32_t key_hash(const struct vn_nat *nat, const struct vn_flow_key *k)
{
    return (uint32_t)vn_hash(k, sizeof *k) & nat->bmask;
}

struct vn_flow *vn_nat_flow_find(struct vn_nat *nat, const struct vn_flow_key *k)
{
    for (struct vn_flow *f = nat->buckets[key_hash(nat, k)]; f; f = f->hnext)
        if (!memcmp(&f->key, k, sizeof *k))
            return f;
    return NULL;
}

/* Name of a flow owner for logs and listings. */
static const char *owner_name(const struct vn_nat *nat, uint16_t owner, char *buf, size_t n)
{
    if (owner >= VN_MAX_PORTS) {
        char hs[80];
        const struct vn_fwd *fw = &nat->fwds[owner - VN_MAX_PORTS];
        snprintf(buf, n, "forward %s:%s", fw->conf.proto == IPPROTO_TCP ? "tcp" : "udp",
                 vn_sockaddr_str(&fw->conf.host, hs, sizeof hs));
    } else {
        const struct vn_port *p = nat->gw->sw->ports[owner];
        snprintf(buf, n, "%s", p ? p->conf.name : "?");
    }
    return buf;
}

struct vn_flow *vn_nat_flow_new(struct vn_nat *nat, const struct vn_flow_key *k,
                                const uint8_t gmac[6], uint16_t owner)
{
    struct vn_flow *f = nat->free_list;
    if (!f) {
        nat->stats.refused_full++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"NAT flow table full, new flow refused\" network=%s max=%u",
                  nat->conf->name, nat->max);
        return NULL;
    }
    if (owner >= VN_NAT_OWNERS)
        owner = 0;
    if (nat->owned[owner] >= nat->share) {
        char on[96];
        nat->stats.refused_share++;
        VN_LOG_RL(VN_LOG_WARN,
                  "msg=\"NAT flows of one guest at its share, new flow refused\" network=%s "
                  "guest=\"%s\" max_flows_per_guest=%u",
                  nat->conf->name, owner_name(nat, owner, on, sizeof on), nat->share);
        return NULL;
    }
    nat->free_list = f->fnext;
    memset(f, 0, sizeof *f);
    f->key = *k;
    f->nat = nat;
    f->fd = -1;
    f->in_use = true;
    f->owner = owner;
    nat->owned[owner]++;
    memcpy(f->gmac, gmac, 6);
    f->created_ms = f->last_ms = vn_nat_now_ms(nat);
    uint32_t h = key_hash(nat, k);
    f->hnext = nat->buckets[h];
    nat->buckets[h] = f;
    nat->active++;
    return f;
}

void vn_nat_flow_free(struct vn_flow *f)
{
    struct vn_nat *nat = f->nat;
    if (!f->in_use)
        return;
    if (f->key.proto == IPPROTO_TCP)
        vn_nat_tcp_free(f);
    if (f->pending)
        vn_nat_forward_handshake_done(f->u.tcp.fwd);
    nat->owned[f->owner]--;
    if (f->fd >= 0) {
        vn_io_del(nat->gw->loop, &f->io);
        close(f->fd);
        f->fd = -1;
    }
    struct vn_flow **pp = &nat->buckets[key_hash(nat, &f->key)];
    while (*pp && *pp != f)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = f->hnext;
    f->in_use = false;
    f->fnext = nat->free_list;
    nat->free_list = f;
    nat->active--;
}

/* Whether a guest flow to the gateway address may go to the host's
 * loopback: map_host_loopback on, the port in its allow-list (if any), and
 * never one of the daemon's own listeners (core/ownports.h). */
static bool loopback_allowed(struct vn_nat *nat, const struct vn_flow_key *k)
{
    const struct vn_net_conf *c = nat->conf;
    if (!c->map_host_loopback)
        return false;
    if (k->proto != IPPROTO_ICMP && k->proto != IPPROTO_ICMPV6 &&
        vn_own_port(k->proto, k->rport, (int)nat->gw->net->id))
        return false;
    if (!c->nloopback_ports || k->proto == IPPROTO_ICMP || k->proto == IPPROTO_ICMPV6)
        return true;
    for (unsigned i = 0; i < c->nloopback_ports; i++)
        if (k->rport >= c->loopback_ports[i][0] && k->rport <= c->loopback_ports[i][1])
            return true;
    return false;
}

/* The IPv4 side of vn_nat_host_sockaddr (dst in host order). */
static int host_sockaddr4(struct vn_nat *nat, const struct vn_flow_key *k, uint32_t dst,
                          struct sockaddr_storage *ss, socklen_t *len)
{
    struct vn_gw *gw = nat->gw;
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(k->rport);
    sin->sin_addr.s_addr = htonl(dst);
    *len = sizeof *sin;
    if (gw->dns_addr && dst == gw->dns_addr && k->proto == IPPROTO_TCP && gw->dns &&
        k->rport == 53) {
        *sin = *vn_dns_tcp_addr(gw->dns);
        return 0;
    }
    if (nat->conf->mode != VN_MODE_NAT)
        return -1; /* no NAT on this network, only the gateway's own services */
    if (gw->addr && dst == gw->addr) { /* none on an IPv6-only network */
        if (!loopback_allowed(nat, k))
            return -1;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        return 0;
    }
    if (dst == gw->dns_addr || vn_gw_in_subnet(gw, dst) || (dst >> 24) == 127 || dst == 0 ||
        (dst >> 28) >= 0xe)
        return -1; /* the guest's own subnet, loopback, multicast: not via NAT */
    return 0;
}

/* The IPv6 side: gateway6 is the host's ::1 (map_host_loopback), DNS TCP
 * goes to the forwarder's own listener; the network's own prefix,
 * link-local, loopback, multicast, unspecified and IPv4-mapped/compatible
 * destinations (which could reach the host's IPv4 loopback through a dual-
 * stack socket) are not reachable through NAT. With nat64, an address of
 * the NAT64 prefix is its embedded IPv4 address under exactly the IPv4
 * rules (the IPv4 gateway -> 127.0.0.1, 127/8 refused, ...); one that is not
 * an address of the mapping (u octet or suffix set) is refused. */
static int host_sockaddr6(struct vn_nat *nat, const struct vn_flow_key *k,
                          struct sockaddr_storage *ss, socklen_t *len)
{
    struct vn_gw *gw = nat->gw;
    struct vn_addr dst = { .family = AF_INET6 };
    memcpy(dst.a, k->raddr, 16);
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(k->rport);
    memcpy(&s6->sin6_addr, dst.a, 16);
    *len = sizeof *s6;
    if (gw->dns6.family && vn_addr_eq(&dst, &gw->dns6) && k->proto == IPPROTO_TCP && gw->dns &&
        k->rport == 53) {
        memcpy(ss, vn_dns_tcp_addr(gw->dns), sizeof(struct sockaddr_in));
        *len = sizeof(struct sockaddr_in);
        return 0;
    }
    if (nat->conf->mode != VN_MODE_NAT)
        return -1;
    const struct vn_net_conf *c = nat->conf;
    if (c->nat64 && vn_addr_in_prefix(&dst, &c->nat64_prefix, c->nat64_prefix_len)) {
        uint32_t v4;
        memset(ss, 0, sizeof *ss);
        if (!vn_nat64_extract(&c->nat64_prefix, c->nat64_prefix_len, &dst, &v4) ||
            host_sockaddr4(nat, k, v4, ss, len)) {
            nat->stats.nat64_refused++;
            return -1;
        }
        return 0;
    }
    if (gw->router6.family && vn_addr_eq(&dst, &gw->router6)) {
        if (!loopback_allowed(nat, k))
            return -1;
        memcpy(&s6->sin6_addr, &in6addr_loopback, 16);
        return 0;
    }
    const struct in6_addr *a = &s6->sin6_addr;
    if (vn_gw_owns_addr(gw, &dst) || vn_gw_on_link(gw, &dst) || IN6_IS_ADDR_LOOPBACK(a) ||
        IN6_IS_ADDR_UNSPECIFIED(a) || IN6_IS_ADDR_MULTICAST(a) || IN6_IS_ADDR_LINKLOCAL(a) ||
        IN6_IS_ADDR_SITELOCAL(a) || IN6_IS_ADDR_V4MAPPED(a) || IN6_IS_ADDR_V4COMPAT(a))
        return -1;
    return 0;
}

int vn_nat_host_sockaddr(struct vn_nat *nat, const struct vn_flow_key *k,
                         struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (k->family == AF_INET6)
        return host_sockaddr6(nat, k, ss, len);
    if (k->family != AF_INET)
        return -1;
    return host_sockaddr4(nat, k, vn_get_be32(k->raddr), ss, len);
}

void vn_nat64_note(struct vn_flow *f, const struct sockaddr_storage *ss)
{
    const struct vn_net_conf *c = f->nat->conf;
    struct vn_addr dst = vn_flow_raddr(&f->key);
    if (!c->nat64 || f->key.family != AF_INET6 || ss->ss_family != AF_INET ||
        !vn_addr_in_prefix(&dst, &c->nat64_prefix, c->nat64_prefix_len))
        return;
    f->nat64_host = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
    f->nat->stats.nat64_created++;
}

struct vn_addr vn_nat_guest_view(struct vn_nat *nat, const struct sockaddr_storage *ss,
                                 uint16_t *port, uint8_t family)
{
    struct vn_gw *gw = nat->gw;
    struct vn_addr v4 = { 0 };
    bool loop = false;
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        v4 = vn_addr4(ntohl(sin->sin_addr.s_addr));
        *port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
        *port = ntohs(s6->sin6_port);
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            uint32_t a;
            memcpy(&a, &s6->sin6_addr.s6_addr[12], 4);
            v4 = vn_addr4(ntohl(a));
        } else if (family == AF_INET6) {
            struct vn_addr a6 = { .family = AF_INET6 };
            memcpy(a6.a, &s6->sin6_addr, 16);
            /* Local clients appear as the gateway: replies come back here. */
            if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) || vn_gw_on_link(gw, &a6) ||
                IN6_IS_ADDR_V4COMPAT(&s6->sin6_addr))
                return gw->router6.family ? gw->router6 : gw->addr6;
            return a6;
        }
    }
    if (family == AF_INET && v4.family) {
        uint32_t a = vn_addr_v4(&v4);
        /* Local clients (loopback, or the host's own addresses as seen on
         * loopback) appear as the gateway: replies to it come back here. */
        loop = (a >> 24) == 127 || vn_gw_in_subnet(gw, a);
        return loop ? vn_addr4(gw->addr) : v4;
    }
    /* A client of the other family cannot be shown as it is: the gateway. */
    if (family == AF_INET6)
        return gw->router6.family ? gw->router6 : gw->addr6;
    return vn_addr4(gw->addr);
}

static void sweep(struct vn_timer *t)
{
    struct vn_nat *nat = VN_CONTAINER_OF(t, struct vn_nat, sweep);
    uint64_t now = vn_nat_now_ms(nat);
    for (unsigned i = 0; i < nat->max; i++) {
        struct vn_flow *f = &nat->pool[i];
        if (!f->in_use)
            continue;
        uint64_t idle = now - f->last_ms, limit;
        if (f->key.proto == IPPROTO_TCP && f->pending)
            limit = nat->conf->forward_syn_timeout * 1000ull; /* the guest does not answer */
        else if (f->key.proto == IPPROTO_TCP)
            limit = f->u.tcp.state == VN_TCP_ESTABLISHED ? nat->conf->tcp_timeout * 1000ull
                                                         : 75000; /* handshakes */
        else if (f->key.proto == IPPROTO_UDP)
            limit = nat->conf->udp_timeout * 1000ull;
        else
            limit = 30000; /* ICMP echo: RFC 5508 REQ-1 suggests 60 s; echo is short-lived */
        if (idle > limit && f->pending) {
            nat->stats.fwd_syn_timeouts++;
            f->u.tcp.fwd->syn_timeouts++;
            vn_nat_tcp_abort_host(f);
        } else if (idle > limit) {
            nat->stats.timeouts++;
            vn_nat_flow_free(f);
        }
    }
    vn_timer_arm(nat->gw->loop, &nat->sweep, SWEEP_MS);
}

static int sys_socket(void *ctx, int domain, int type, int protocol)
{
    (void)ctx;
    return socket(domain, type, protocol);
}

static int sys_connect(void *ctx, int fd, const struct sockaddr *sa, socklen_t len)
{
    (void)ctx;
    return connect(fd, sa, len);
}

static const struct vn_nat_sock_ops sys_sock = { sys_socket, sys_connect, NULL };

void vn_nat_set_sock_ops(struct vn_nat *nat, const struct vn_nat_sock_ops *ops)
{
    nat->sock = ops ? *ops : sys_sock;
}

static void ack_deferred(struct vn_defer *d)
{
    vn_nat_tcp_flush_acks(VN_CONTAINER_OF(d, struct vn_nat, ack_defer));
}

struct vn_nat *vn_nat_new(struct vn_gw *gw, char *err, size_t errlen)
{
    struct vn_nat *nat = calloc(1, sizeof *nat);
    if (!nat) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    nat->gw = gw;
    nat->conf = gw->conf;
    nat->sock = sys_sock;
    nat->max = gw->conf->max_flows;
    /* Each guest may hold a share, so one cannot take the table from the
     * others (a quarter by default, at least 8 when the table is tiny). */
    nat->share = gw->conf->max_flows_per_guest ? VN_MIN(gw->conf->max_flows_per_guest, nat->max)
                                               : VN_MAX(nat->max / 4, VN_MIN(8u, nat->max));
    uint32_t nb = 16;
    while (nb < nat->max)
        nb <<= 1;
    nat->bmask = nb - 1;
    nat->pool = calloc(nat->max, sizeof *nat->pool);
    nat->buckets = calloc(nb, sizeof *nat->buckets);
    nat->scratch = malloc(SCRATCH_SIZE);
    if (!nat->pool || !nat->buckets || !nat->scratch) {
        snprintf(err, errlen, "out of memory for %u NAT flows", nat->max);
        vn_nat_free(nat);
        return NULL;
    }
    for (unsigned i = nat->max; i-- > 0;) {
        nat->pool[i].fd = -1;
        nat->pool[i].fnext = nat->free_list;
        nat->free_list = &nat->pool[i];
    }
    nat->ack_defer.cb = ack_deferred;
    vn_timer_init(&nat->sweep, sweep);
    vn_timer_arm(gw->loop, &nat->sweep, SWEEP_MS);
    for (unsigned i = 0; i < nat->conf->nforwards; i++)
        if (vn_nat_forward_add(nat, &nat->conf->forwards[i], err, errlen)) {
            vn_nat_free(nat);
            return NULL;
        }
    return nat;
}

void vn_nat_flow_error(struct vn_flow *f, const uint8_t *l4, size_t l4len, enum vn_icmp_err k,
                       uint32_t extra)
{
    uint8_t q[60] = { 0 };
    struct vn_addr g = vn_flow_gaddr(&f->key), r = vn_flow_raddr(&f->key);
    size_t hl = f->key.family == AF_INET6 ? 40 : 20;
    l4len = VN_MIN(l4len, (size_t)20);
    if (hl == 40) {
        q[0] = 0x60;
        vn_put_be16(q + 4, (uint16_t)l4len);
        q[6] = f->key.proto;
        q[7] = 64;
        memcpy(q + 8, g.a, 16);
        memcpy(q + 24, r.a, 16);
    } else {
        q[0] = 0x45;
        vn_put_be16(q + 2, (uint16_t)(20 + l4len));
        q[8] = 64;
        q[9] = f->key.proto;
        memcpy(q + 12, g.a, 4);
        memcpy(q + 16, r.a, 4);
        vn_put_be16(q + 10, vn_csum_ipv4_hdr(q, 20));
    }
    memcpy(q + hl, l4, l4len);
    struct vn_ipp ip = { .family = f->key.family, .proto = f->key.proto, .ttl = 64, .src = g,
                         .dst = r, .hdr = q, .len = (uint16_t)(hl + l4len), .l4 = q + hl,
                         .l4_len = (uint16_t)l4len };
    vn_gw_icmp_error(f->nat->gw, f->gmac, &ip, k, extra);
}

enum vn_icmp_err vn_nat_errno_icmp(int e)
{
    return e == ENETUNREACH ? VN_ICMPE_NET_UNREACH
           : e == EACCES || e == EPERM ? VN_ICMPE_ADMIN
                                       : VN_ICMPE_HOST_UNREACH;
}

static void next_input(void *ctx, const uint8_t smac[6], const struct vn_ipp *ip,
                       const struct vn_frame *f)
{
    vn_nat_input(ctx, smac, ip, f);
}

static json_t *next_json(void *ctx) { return vn_nat_stats_json(ctx); }
static void next_free(void *ctx) { vn_nat_free(ctx); }

int vn_nat_attach(struct vn_gw *gw, char *err, size_t errlen)
{
    if (!vn_net_has_nat_engine(gw->conf))
        return 0;
    struct vn_nat *nat = vn_nat_new(gw, err, errlen);
    if (!nat)
        return -1;
    gw->nat = nat;
    gw->next = (struct vn_gw_next){ nat, next_input, next_json, next_free };
    return 0;
}

void vn_nat_free(struct vn_nat *nat)
{
    if (!nat)
        return;
    vn_nat_forwards_close(nat);
    if (nat->pool)
        for (unsigned i = 0; i < nat->max; i++)
            if (nat->pool[i].in_use)
                vn_nat_flow_free(&nat->pool[i]);
    vn_timer_cancel(nat->gw->loop, &nat->sweep);
    free(nat->pool);
    free(nat->buckets);
    free(nat->scratch);
    free(nat);
}

void vn_nat_input(struct vn_nat *nat, const uint8_t src_mac[6], const struct vn_ipp *ip,
                  const struct vn_frame *f)
{
    bool v6 = ip->family == AF_INET6;
    switch (ip->proto) {
    case VN_IPPROTO_TCP:
        vn_nat_tcp_input(nat, src_mac, ip, f);
        break;
    case VN_IPPROTO_UDP:
        vn_nat_udp_input(nat, src_mac, ip, f);
        break;
    case VN_IPPROTO_ICMP:
    case VN_IPPROTO_ICMPV6:
        if ((ip->proto == VN_IPPROTO_ICMPV6) == v6)
            vn_nat_icmp_input(nat, src_mac, ip, f);
        break;
    case VN_IPPROTO_NONE:
        break;
    default:
        /* Protocol unreachable (RFC 1812) or unrecognised next header
         * (RFC 4443) for what we cannot translate. */
        if (v6)
            vn_gw_icmp_error(nat->gw, src_mac, ip, VN_ICMPE_PARAM_NEXTHDR,
                             ip->l4 == ip->hdr + 40 ? 6u : 40u);
        else
            vn_gw_icmp4_error(nat->gw, src_mac, ip->hdr, ip->len, 3, 2, 0);
        break;
    }
}

static const char *proto_name(uint8_t p)
{
    return p == IPPROTO_TCP ? "tcp" : p == IPPROTO_UDP ? "udp" : p == IPPROTO_ICMPV6 ? "icmpv6" : "icmp";
}

static void addr_text(uint8_t family, const uint8_t *a, uint16_t port, bool with_port, char *buf,
                      size_t n)
{
    char h[INET6_ADDRSTRLEN];
    inet_ntop(family, a, h, sizeof h);
    if (!with_port)
        snprintf(buf, n, "%s", h);
    else
        snprintf(buf, n, family == AF_INET6 ? "[%s]:%u" : "%s:%u", h, port);
}

json_t *vn_nat_flows_json(struct vn_nat *nat)
{
    json_t *a = json_array();
    uint64_t now = vn_nat_now_ms(nat);
    for (unsigned i = 0; i < nat->max; i++) {
        struct vn_flow *f = &nat->pool[i];
        if (!f->in_use)
            continue;
        char g[64], r[64];
        bool ports = f->key.proto != IPPROTO_ICMP && f->key.proto != IPPROTO_ICMPV6;
        addr_text(f->key.family, f->key.gaddr, f->key.gport, ports, g, sizeof g);
        addr_text(f->key.family, f->key.raddr, f->key.rport, ports, r, sizeof r);
        const char *state = f->key.proto == IPPROTO_TCP ? vn_nat_tcp_state_name(f) : "active";
        json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "proto",
                              proto_name(f->key.proto), "guest", g, "remote", r, "state", state,
                              "direction", f->inbound ? "in" : "out", "bytes_out",
                              (json_int_t)f->bytes_out, "bytes_in", (json_int_t)f->bytes_in,
                              "age_s", (json_int_t)((now - f->created_ms) / 1000), "idle_s",
                              (json_int_t)((now - f->last_ms) / 1000));
        if (f->nat64_host) { /* NAT64: where the IPv4 host socket goes */
            char h4[16], hs[24];
            vn_ip4_str(f->nat64_host, h4);
            if (ports)
                snprintf(hs, sizeof hs, "%s:%u", h4, f->key.rport);
            json_object_set_new(o, "nat64", json_string(ports ? hs : h4));
        }
        if (f->key.proto == IPPROTO_ICMP || f->key.proto == IPPROTO_ICMPV6)
            json_object_set_new(o, "id", json_integer(f->key.gport));
        json_object_set_new(o, "family", json_integer(f->key.family == AF_INET6 ? 6 : 4));
        json_array_append_new(a, o);
    }
    return a;
}

json_t *vn_nat_stats_json(struct vn_nat *nat)
{
    const struct vn_nat_stats *s = &nat->stats;
    unsigned by[3] = { 0 };
    for (unsigned i = 0; i < nat->max; i++)
        if (nat->pool[i].in_use)
            by[nat->pool[i].key.proto == IPPROTO_TCP ? 0 : nat->pool[i].key.proto == IPPROTO_UDP ? 1 : 2]++;
    json_t *o = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "flows_active", nat->active, "flows_max",
                          nat->max, "flows_per_guest_max", nat->share, "tcp_active", by[0],
                          "udp_active", by[1], "icmp_active", by[2]);
    /* Who holds flows, so a guest near its share is visible. */
    json_t *owners = json_array();
    for (unsigned i = 0; i < VN_NAT_OWNERS; i++)
        if (nat->owned[i]) {
            char on[96];
            json_array_append_new(owners,
                                  json_pack("{s:s,s:i}", "guest",
                                            owner_name(nat, (uint16_t)i, on, sizeof on), "flows",
                                            nat->owned[i]));
        }
    json_object_set_new(o, "flows_by_guest", owners);
    json_t *c = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "tcp_created",
        (json_int_t)s->created[0], "udp_created", (json_int_t)s->created[1], "icmp_created",
        (json_int_t)s->created[2], "refused_table_full", (json_int_t)s->refused_full,
        "refused_policy", (json_int_t)s->refused_policy, "tcp_conn_refused",
        (json_int_t)s->tcp_conn_refused, "tcp_unreachable", (json_int_t)s->tcp_unreachable,
        "tcp_rst_to_guest", (json_int_t)s->tcp_rst_to_guest, "tcp_rst_from_guest",
        (json_int_t)s->tcp_rst_from_guest, "tcp_retransmits", (json_int_t)s->tcp_retransmits,
        "tcp_bad_segments", (json_int_t)s->tcp_bad_segments, "tcp_out_of_window",
        (json_int_t)s->tcp_out_of_window, "tcp_bad_checksum", (json_int_t)s->tcp_csum_bad,
        "udp_bad_checksum", (json_int_t)s->udp_csum_bad, "udp_send_errors",
        (json_int_t)s->udp_send_errors, "icmp_send_errors", (json_int_t)s->icmp_send_errors,
        "idle_timeouts", (json_int_t)s->timeouts);
    json_object_set_new(c, "refused_guest_share", json_integer((json_int_t)s->refused_share));
    json_object_set_new(c, "forward_syn_timeouts", json_integer((json_int_t)s->fwd_syn_timeouts));
    json_object_set_new(c, "nat64_created", json_integer((json_int_t)s->nat64_created));
    json_object_set_new(c, "nat64_refused", json_integer((json_int_t)s->nat64_refused));
    json_object_update(o, c);
    json_decref(c);
    return o;
}
