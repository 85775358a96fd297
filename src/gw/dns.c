/* DNS forwarder of a gateway.
 *
 * Theory of operation. Guests reach the service two ways:
 *  - UDP datagrams to DNS_ADDR:53 (IPv4) or DNS6:53 (IPv6) arrive from the
 *    gateway (vn_dns_input_udp) from guests on the link; answers go back
 *    with vn_gw_send_udp from the address the query was sent to, in the
 *    query's family (a pending query remembers both addresses);
 *  - TCP connections to either DNS address, port 53, are spliced by the NAT
 *    onto a listener on 127.0.0.1 (ephemeral port, vn_dns_tcp_addr; the NAT
 *    splices guest flows of either family onto host sockets); each
 *    connection carries length-prefixed messages both ways (RFC 1035
 *    4.2.2, RFC 7766). Nothing here looks at a TCP client's address.
 * A query under the local domain (NAME.DOMAIN, host.DOMAIN: A and AAAA),
 * a reverse name of the IPv4 subnet, or any name in the ip6.arpa zone of the
 * network's IPv6 /64 (a private prefix) is answered here from the DHCP
 * leases and reservations, the addresses neighbour discovery saw for a
 * named guest's MAC (SLAAC) and the host's addresses, and is
 * never forwarded. Anything else becomes a pending query (a fixed table of
 * DNS_PENDING slots, of which one guest port may hold DNS_SHARE and guest TCP
 * DNS_TCP_SHARE; excess is dropped and counted) with a fresh random id no
 * other query in flight uses. Upstreams are of either family (dns.upstream
 * such as [::1]:5353, resolv.conf nameservers with an IPv6 zone such as
 * fe80::1%eth0), whatever the guest's. Over UDP it leaves on a socket of the
 * upstream's pool (of the upstream's family; dns_pool.h: connected sockets
 * with random source ports, rotated, sends batched into one sendmmsg per
 * round, answers read with recvmmsg); over TCP (the guest asked over TCP)
 * on a connection of its own.
 * What goes upstream is a query of our own making (dns_msg.h
 * vn_dns_query_build: the question, RD/CD, our EDNS with the guest's DO bit,
 * none of the guest's EDNS options), so answers can be shared: valid answers
 * are kept in a cache (dns_cache.h, dns.cache entries) keyed by question and
 * DO/CD, and a query the cache can answer never leaves; a guest that sent no
 * EDNS gets answers without the OPT record.
 * On a network with nat64 the forwarder is a DNS64 (dns64.h): an AAAA
 * query whose answer has no usable AAAA is asked again for A and answered
 * with AAAA records synthesized in the NAT64 prefix, and a PTR query for an
 * address of the prefix is asked as the embedded IPv4 address's
 * in-addr.arpa name and answered through a CNAME. The pending query keeps
 * the guest's question beside the one on the wire; the cache holds what
 * upstream said to each question asked (the A answer under A) and the
 * answer the guest got under the guest's question (the synthesized AAAA
 * answer under AAAA), never an AAAA answer that synthesis replaced.
 * A reply counts only when it arrives on the query's socket and its
 * id and question match; it is then relayed with the guest's id, truncated
 * (TC=1, question only) when it is larger than the guest's UDP buffer (512, or
 * its EDNS0 size) so the guest retries over TCP. Each upstream gets
 * DNS_TRY_MS; then the next upstream is tried, and when all failed the guest
 * gets SERVFAIL. On an isolated network without configured upstreams nothing
 * is forwarded: other names get REFUSED. Guest TCP connections are bounded in number, in queries in
 * flight each (reading pauses beyond it), in buffered output, and closed after
 * an idle period. */
#include "dns.h"
#include "core/accept.h"
#include "core/log.h"
#include "core/ownports.h"
#include "core/util.h"
#include "dhcp4.h"
#include "dhcp6.h"
#include "dns64.h"
#include "dns_cache.h"
#include "dns_msg.h"
#include "dns_pool.h"
#include "gateway.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    DNS_PENDING = 1024,      /* queries in flight to upstreams, all guests */
    DNS_SHARE = 256,         /* ... of which one guest port may hold */
    DNS_TCP_SHARE = 64,      /* ... and all guest TCP together (each has its own socket) */
    DNS_CONNS = 32,          /* guest TCP connections */
    DNS_CONN_INFLIGHT = 8,   /* forwarded queries in flight per TCP connection */
    DNS_QMAX = 1500,         /* largest query accepted */
    DNS_TRY_MS = 2000,       /* per upstream */
    DNS_IDLE_MS = 10000,     /* guest TCP connection without traffic */
    DNS_OUT_MAX = 256 << 10, /* buffered answers per TCP connection */
    DNS_OUT_PAUSE = 64 << 10,/* stop reading queries above this much output */
    DNS_LOCAL_TTL = 10,
    DNS_LOCAL_EDNS = 1232,
    UDP_READ_BUDGET = 16,
    DNS64_OUT = 65535,       /* a synthesized answer (TCP guests take that much) */
};

/* DNS64 stage of a pending query (dns64.h). */
enum { X64_NONE = 0, X64_AAAA, X64_A, X64_PTR };

struct upstream {
    struct sockaddr_storage ss;
    socklen_t len;
    char text[64];
};

struct conn;

/* A query forwarded to the upstreams. */
struct pend {
    struct vn_dns *d;
    bool used;
    bool tcp;                      /* guest asked over TCP: upstream over TCP */
    uint16_t gid, uid;             /* the guest's id, ours on the wire */
    uint16_t owner;                /* guest port id, or OWNER_TCP (the share it counts in) */
    struct vn_dns_psock *sock;     /* UDP attempt: the pool socket it went out on */
    struct pend *next_free;
    uint8_t gmac[6];
    struct vn_addr gip, glocal;    /* UDP guest: its address and ours it asked (either family), */
    uint16_t gport, gmax;          /* its port and buffer size */
    bool guest_edns;               /* the guest sent EDNS: keep the answer's OPT */
    bool do_bit, cd_bit;           /* of the guest's query: part of the cache key */
    struct conn *conn;             /* TCP guest */
    struct vn_dns_question q;      /* the question asked upstream */
    uint16_t qflags;               /* the guest's RD and CD bits */
    uint8_t x64;                   /* DNS64 stage: X64_NONE, or what is asked for the guest */
    struct vn_dns_question q6;     /* X64_*: the guest's question */
    uint8_t *saved;                /* X64_A: the AAAA answer, the guest's if nothing is synthesized */
    uint16_t saved_len;
    uint32_t ttl_bound;            /* X64_A: the AAAA answer's bound on synthesized TTLs */
    uint8_t query[2 + DNS_QMAX];   /* length prefix + message */
    uint16_t qlen;
    unsigned tried;                /* upstreams tried so far */
    int fd;                        /* -1 when no attempt is running */
    struct vn_io io;
    struct vn_timer timer;
    /* TCP upstream */
    bool connected;
    size_t wdone;
    uint8_t *rbuf;
    size_t rlen;
};

/* A guest TCP connection (via the NAT). */
struct conn {
    struct vn_dns *d;
    bool used, eof, dead, in_cb;
    int fd;
    struct vn_io io;
    struct vn_timer idle;
    uint8_t in[2 + DNS_QMAX];
    size_t inlen;
    uint8_t *out;
    size_t outlen, outoff, outcap;
    unsigned npending;
    uint64_t last_ms;              /* last query or answer (eviction picks the oldest idle) */
};

#define OWNER_TCP VN_MAX_PORTS

struct dns_stats {
    uint64_t queries_udp, queries_udp4, queries_udp6, queries_tcp, local_answers, forwarded, answers, nxdomain, servfail,
        timeouts, malformed, dropped_busy, truncated, upstream_bad, upstream_errors,
        tcp_connections, refused, dropped_share, tcp_evicted, cache_hits;
    uint64_t dns64_a_queries, dns64_synthesized, dns64_ptr;
};

struct vn_dns {
    struct vn_gw *gw;
    struct upstream up[VN_MAX_UPSTREAMS];
    unsigned nup;
    uint8_t domain[VN_DNS_NAME_MAX + 1]; /* wire form */
    size_t domain_len;
    uint8_t zone6[2 * 16 + 10];    /* the reverse zone of the /64 (ip6.arpa), when IPv6 */
    bool has_zone6;
    int lfd;
    struct vn_io lio;
    struct vn_listen_guard guard;
    struct sockaddr_in taddr;
    bool own_port;                 /* taddr's port is registered as the daemon's own */
    struct pend *pend;
    struct pend *free_pend;
    unsigned npend;
    struct vn_dns_pool *pools[VN_MAX_UPSTREAMS]; /* UDP sockets per upstream (dns_pool.h) */
    uint16_t *by_uid;              /* our query id -> pending index + 1 (0: none) */
    uint16_t owned[VN_MAX_PORTS + 1]; /* pending queries per owner */
    struct conn *conns;
    unsigned nconns;
    struct dns_stats st;
    struct vn_dns_cache *cache;    /* answers (dns_cache.h); NULL: dns.cache 0 */
    bool dns64;                    /* nat64 on the network: DNS64 (dns64.h) */
    uint8_t *synth;                /* DNS64_OUT bytes for synthesized answers */
};

/* Where an answer goes. */
struct dest {
    struct conn *conn;    /* NULL: UDP */
    uint16_t in_port;     /* UDP: the guest's switch port id */
    const uint8_t *mac;
    struct vn_addr ip;    /* UDP: the guest's address (either family) */
    struct vn_addr local; /* ... and ours it sent the query to: the answer's source */
    uint16_t port;
};

static void send_attempt(struct pend *p);
static void conn_update(struct conn *c);

/* ---------------------------------------------------------------- upstreams */

/* Add upstream server a:port (scope: an IPv6 link-local's interface).
 * Returns 0, or -1 when the list is full. */
static int add_upstream(struct vn_dns *d, const struct vn_addr *a, uint16_t port, uint32_t scope)
{
    if (d->nup >= VN_MAX_UPSTREAMS)
        return -1;
    struct upstream *u = &d->up[d->nup];
    memset(u, 0, sizeof *u);
    char t[INET6_ADDRSTRLEN];
    u->len = vn_addr_sockaddr(a, port, &u->ss);
    inet_ntop(a->family, a->a, t, sizeof t);
    if (a->family == AF_INET6) {
        ((struct sockaddr_in6 *)&u->ss)->sin6_scope_id = scope;
        snprintf(u->text, sizeof u->text, "[%s]:%u", t, port);
    } else {
        snprintf(u->text, sizeof u->text, "%s:%u", t, port);
    }
    d->nup++;
    return 0;
}

/* The nameservers of /etc/resolv.conf (at most VN_MAX_UPSTREAMS). */
static void upstreams_from_resolv_conf(struct vn_dns *d)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        char kw[16], addr[128];
        if (sscanf(line, "%15s %127s", kw, addr) != 2 || strcmp(kw, "nameserver"))
            continue;
        uint32_t scope = 0;
        char *pct = strchr(addr, '%');
        if (pct) {
            *pct++ = 0;
            scope = if_nametoindex(pct);
            if (!scope)
                scope = (uint32_t)strtoul(pct, NULL, 10);
        }
        struct vn_addr a = { 0 };
        if (inet_pton(AF_INET, addr, a.a) == 1)
            a.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, a.a) == 1)
            a.family = AF_INET6;
        if (a.family)
            add_upstream(d, &a, 53, a.family == AF_INET6 ? scope : 0);
    }
    fclose(f);
}

/* ---------------------------------------------------------------- answers */

static void count_reply(struct vn_dns *d, const uint8_t *m, size_t len)
{
    if (len < 4)
        return;
    unsigned rcode = m[3] & 0xf;
    if (rcode == VN_DNS_R_NXDOMAIN)
        d->st.nxdomain++;
    else if (rcode == VN_DNS_R_SERVFAIL)
        d->st.servfail++;
}

/* Append a length-prefixed message to a guest connection's output. */
static void conn_write(struct conn *c, const uint8_t *m, size_t len)
{
    if (c->dead)
        return;
    size_t need = c->outlen - c->outoff + 2 + len;
    if (need > DNS_OUT_MAX) {
        VN_LOG_RL(VN_LOG_INFO, "msg=\"dns: guest TCP connection does not read its answers, closed\" "
                  "network=%s", c->d->gw->conf->name);
        c->dead = true;
        return;
    }
    if (c->outoff) {
        memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
        c->outlen -= c->outoff;
        c->outoff = 0;
    }
    if (need > c->outcap) {
        size_t cap = VN_MAX(need, c->outcap * 2);
        cap = VN_MIN(cap, (size_t)DNS_OUT_MAX);
        uint8_t *o = realloc(c->out, cap);
        if (!o) {
            c->dead = true;
            return;
        }
        c->out = o;
        c->outcap = cap;
    }
    vn_dns_put16(c->out + c->outlen, (uint16_t)len);
    memcpy(c->out + c->outlen + 2, m, len);
    c->outlen += 2 + len;
}

static void deliver(struct vn_dns *d, const struct dest *to, const uint8_t *m, size_t len)
{
    count_reply(d, m, len);
    if (to->conn) { /* flushed by conn_update() when the caller is done */
        conn_write(to->conn, m, len);
        return;
    }
    if (vn_gw_send_udp(d->gw, to->mac, &to->local, 53, &to->ip, to->port, m, len))
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"dns: no room to send an answer\" network=%s",
                  d->gw->conf->name);
}

/* An answer with no records (errors, NODATA) to query q. */
static void reply_empty(struct vn_dns *d, const struct dest *to, const struct vn_dns_msg *q,
                        uint16_t flags, unsigned rcode)
{
    uint8_t out[VN_DNS_HLEN + VN_DNS_NAME_MAX + 4 + 11];
    size_t n = vn_dns_reply_init(out, sizeof out, q, flags, rcode);
    if (n && q->edns && rcode != VN_DNS_R_FORMERR)
        n = vn_dns_add_opt(out, sizeof out, n, DNS_LOCAL_EDNS);
    if (n)
        deliver(d, to, out, n);
}

/* ---------------------------------------------------------------- local names */

/* Deliver answer m (len bytes, parsed as r) to a guest whose UDP buffer is
 * gmax bytes: truncated (TC, question only) when larger, so that it asks
 * again over TCP. */
static void deliver_fit(struct vn_dns *d, const struct dest *to, const uint8_t *m, size_t len,
                        const struct vn_dns_msg *r, uint16_t gmax)
{
    if (to->conn || len <= gmax) {
        deliver(d, to, m, len);
        return;
    }
    uint8_t t[VN_DNS_HLEN + VN_DNS_NAME_MAX + 4];
    size_t n = vn_dns_truncate(t, sizeof t, m, r);
    d->st.truncated++;
    if (n)
        deliver(d, to, t, n);
}

/* The address host.DOMAIN names: the host, which is the router on nat and
 * host-only networks (on host-only it owns the gateway address itself). */
static uint32_t host_addr(const struct vn_gw *gw)
{
    return gw->router ? gw->router : gw->addr;
}

/* The same in IPv6: gateway6 as guests reach the host (on nat router6, the
 * address the NAT maps to the host's ::1; on host-only the host's tap has
 * gateway6; on isolated networks it is the gateway's own); family 0 when
 * the network serves no IPv6. */
static struct vn_addr host_addr6(const struct vn_gw *gw)
{
    if (gw->router6.family)
        return gw->router6;
    if (gw->ll6.family)
        return gw->conf->gateway6;
    return (struct vn_addr){ 0 };
}

/* DHCPv6 leases and reservations (gw/dhcp6.h; no server: nothing). */
static int dhcp6_addr_of(struct vn_gw *gw, const char *name, struct vn_addr *out)
{
    return gw->dhcp6 ? vn_dhcp6_lookup_name(gw->dhcp6, name, out) : -1;
}

static const char *dhcp6_name_of(struct vn_gw *gw, const struct vn_addr *a)
{
    return gw->dhcp6 ? vn_dhcp6_name_of(gw->dhcp6, a) : NULL;
}

enum { LOCAL_ADDRS = 8 };

/* What a local name holds: whether it exists, its addresses of both
 * families (deduplicated, at most LOCAL_ADDRS each). */
struct local_rrs {
    bool exists;
    unsigned n4, n6;
    struct vn_addr a4[LOCAL_ADDRS], a6[LOCAL_ADDRS];
};

static void rrs_add(struct local_rrs *r, const struct vn_addr *a)
{
    bool v6 = a->family == AF_INET6;
    if (!v6 && a->family != AF_INET)
        return;
    struct vn_addr *arr = v6 ? r->a6 : r->a4;
    unsigned *n = v6 ? &r->n6 : &r->n4;
    r->exists = true;
    for (unsigned i = 0; i < *n; i++)
        if (vn_addr_eq(&arr[i], a))
            return;
    if (*n < LOCAL_ADDRS)
        arr[(*n)++] = *a;
}

/* The MAC of the guest called name: that of its DHCPv4 lease (ip4, 0 if
 * none) or of a reservation naming a MAC (dhcp.hosts, dhcp6.hosts). */
static bool mac_of_name(struct vn_dns *d, const char *name, uint32_t ip4, uint8_t mac[6])
{
    struct vn_gw *gw = d->gw;
    const struct vn_net_conf *c = gw->conf;
    if (ip4) {
        struct vn_addr a = vn_addr4(ip4);
        const struct vn_neigh *n;
        if (gw->dhcp && vn_dhcp4_lookup_mac(gw->dhcp, ip4, mac) == 0)
            return true;
        if ((n = vn_gw_neigh_peek(gw, &a)) && vn_addr_eq(&n->ip, &a)) {
            memcpy(mac, n->mac, 6);
            return true;
        }
    }
    for (unsigned i = 0; gw->dhcp && i < c->nhosts; i++)
        if (c->hosts[i].has_mac && !strcasecmp(c->hosts[i].name, name)) {
            memcpy(mac, c->hosts[i].mac, 6);
            return true;
        }
    for (unsigned i = 0; c->dhcp6_mode != VN_DHCP6_OFF && i < c->nhosts6; i++)
        if (c->hosts6[i].has_mac && !strcasecmp(c->hosts6[i].name, name)) {
            memcpy(mac, c->hosts6[i].mac, 6);
            return true;
        }
    return false;
}

/* The name of the guest at mac (n >= 64 bytes): that of its DHCPv4 lease
 * (found by the IPv4 addresses the neighbour table holds for it), or of a
 * reservation of that MAC. */
static bool name_of_mac(struct vn_dns *d, const uint8_t mac[6], char *name, size_t n)
{
    struct vn_gw *gw = d->gw;
    const struct vn_net_conf *c = gw->conf;
    struct vn_addr a4[4];
    size_t k = gw->dhcp ? vn_gw_neigh_addrs(gw, mac, AF_INET, a4, 4) : 0;
    for (size_t i = 0; i < k; i++) {
        uint32_t ip = vn_addr_v4(&a4[i]);
        uint8_t lm[6];
        if (vn_dhcp4_lookup_mac(gw->dhcp, ip, lm) == 0 && !memcmp(lm, mac, 6) &&
            vn_dhcp4_lookup_addr(gw->dhcp, ip, name, n) == 0)
            return true;
    }
    for (unsigned i = 0; gw->dhcp && i < c->nhosts; i++)
        if (c->hosts[i].has_mac && c->hosts[i].name[0] && !memcmp(c->hosts[i].mac, mac, 6)) {
            vn_strlcpy(name, c->hosts[i].name, n);
            return true;
        }
    for (unsigned i = 0; c->dhcp6_mode != VN_DHCP6_OFF && i < c->nhosts6; i++)
        if (c->hosts6[i].has_mac && c->hosts6[i].name[0] && !memcmp(c->hosts6[i].mac, mac, 6)) {
            vn_strlcpy(name, c->hosts6[i].name, n);
            return true;
        }
    return false;
}

/* The records of label.DOMAIN: host (the host, both families), DHCPv4
 * leases and reservations (A), DHCPv6 ones (AAAA), and the SLAAC
 * addresses neighbour discovery saw for the MAC the name belongs to. */
static void local_name(struct vn_dns *d, const char *label, struct local_rrs *r)
{
    struct vn_gw *gw = d->gw;
    if (!strcmp(label, "host")) {
        struct vn_addr a4 = vn_addr4(host_addr(gw)), a6 = host_addr6(gw);
        if (host_addr(gw)) /* none on an IPv6-only network */
            rrs_add(r, &a4);
        rrs_add(r, &a6);
        return;
    }
    uint32_t ip4 = 0;
    if (gw->dhcp && vn_dhcp4_lookup_name(gw->dhcp, label, &ip4) == 0) {
        struct vn_addr a4 = vn_addr4(ip4);
        rrs_add(r, &a4);
    } else {
        ip4 = 0;
    }
    if (!gw->ll6.family)
        return;
    struct vn_addr a6[LOCAL_ADDRS];
    if (dhcp6_addr_of(gw, label, &a6[0]) == 0 && vn_addr_in_prefix(&a6[0], &gw->prefix6, 64))
        rrs_add(r, &a6[0]);
    uint8_t mac[6];
    if (mac_of_name(d, label, ip4, mac)) {
        size_t k = vn_gw_neigh_addrs(gw, mac, AF_INET6, a6, LOCAL_ADDRS);
        for (size_t i = 0; i < k; i++)
            if (vn_addr_in_prefix(&a6[i], &gw->prefix6, 64))
                rrs_add(r, &a6[i]);
    }
}

/* The label of the name of IPv6 address a (in the prefix): host, a DHCPv6
 * lease or reservation, or the guest whose SLAAC address it is. */
static bool name_of_addr6(struct vn_dns *d, const struct vn_addr *a, char *name, size_t n)
{
    struct vn_gw *gw = d->gw;
    struct vn_addr h = host_addr6(gw);
    if (h.family && vn_addr_eq(a, &h)) {
        vn_strlcpy(name, "host", n);
        return true;
    }
    const char *s = dhcp6_name_of(gw, a);
    if (s && s[0]) {
        vn_strlcpy(name, s, n);
        return true;
    }
    const struct vn_neigh *ne = vn_gw_neigh_peek(gw, a);
    return ne && vn_addr_eq(&ne->ip, a) && name_of_mac(d, ne->mac, name, n);
}

/* label.DOMAIN in wire form (PTR data); its length, or -1 if too long. */
static int local_wire(const struct vn_dns *d, const char *label, uint8_t *out)
{
    size_t l = strlen(label);
    if (!l || l > 63 || 1 + l + d->domain_len > VN_DNS_NAME_MAX)
        return -1;
    out[0] = (uint8_t)l;
    memcpy(out + 1, label, l);
    memcpy(out + 1 + l, d->domain, d->domain_len);
    return (int)(1 + l + d->domain_len);
}

/* Answer q if it is a local name; returns false if it must be forwarded.
 * Local: names under DOMAIN, the reverse names of the IPv4 subnet, and
 * every name in the reverse zone of the IPv6 /64 (a private prefix: none
 * of it is asked upstream; the zone itself exists, below it the addresses
 * with a name). A name that exists without records of the type asked gets
 * NODATA (NOERROR, no answer), e.g. AAAA of a guest with only an IPv4
 * lease; one that does not exist gets NXDOMAIN. */
static bool answer_local(struct vn_dns *d, const struct dest *to, const struct vn_dns_msg *q)
{
    struct vn_gw *gw = d->gw;
    struct local_rrs rr = { 0 };
    char target[64] = ""; /* reverse names: the label of the name the address has */
    uint32_t ip;
    uint8_t a6[16];

    int under = vn_dns_name_under(q->q.name, d->domain);
    int under6 = d->has_zone6 ? vn_dns_name_under(q->q.name, d->zone6) : -1;
    if (under >= 0) {
        if (under == 0) {
            rr.exists = true; /* the domain itself exists, with no records we serve */
        } else if (q->q.name[0] + 1 == under) { /* exactly one label */
            uint8_t w[65];
            char label[64];
            memcpy(w, q->q.name, (size_t)under);
            w[under] = 0;
            if (vn_dns_name_to_text(w, label, sizeof label) > 0)
                local_name(d, label, &rr);
        }
    } else if (vn_dns_ptr4_parse(q->q.name, &ip) == 0 && gw->addr && vn_gw_in_subnet(gw, ip)) {
        if (ip == host_addr(gw))
            vn_strlcpy(target, "host", sizeof target);
        else if (!gw->dhcp || vn_dhcp4_lookup_addr(gw->dhcp, ip, target, sizeof target))
            target[0] = 0;
    } else if (under6 >= 0) {
        if (under6 == 0) {
            rr.exists = true; /* the zone of the /64 */
        } else if (vn_dns_ptr6_parse(q->q.name, a6) == 0) {
            struct vn_addr a = { .family = AF_INET6 };
            memcpy(a.a, a6, 16);
            if (!name_of_addr6(d, &a, target, sizeof target))
                target[0] = 0;
        }
    } else {
        return false;
    }
    uint8_t ptr[VN_DNS_NAME_MAX + 1];
    int ptrlen = target[0] ? local_wire(d, target, ptr) : -1;
    if (ptrlen > 0)
        rr.exists = true;
    d->st.local_answers++;
    if (!rr.exists) {
        reply_empty(d, to, q, VN_DNS_F_AA, VN_DNS_R_NXDOMAIN);
        return true;
    }
    uint16_t qt = q->q.qtype;
    bool any = qt == VN_DNS_T_ANY;
    bool cls_ok = q->q.qclass == VN_DNS_C_IN || q->q.qclass == VN_DNS_T_ANY;
    uint8_t out[VN_DNS_HLEN + VN_DNS_NAME_MAX + 1 + 4 + 12 + VN_DNS_NAME_MAX + 1 +
                LOCAL_ADDRS * (12 + 4 + 12 + 16) + 11];
    size_t n = vn_dns_reply_init(out, sizeof out, q, VN_DNS_F_AA, VN_DNS_R_NOERROR);
    if (cls_ok && ptrlen > 0 && (qt == VN_DNS_T_PTR || any) && n)
        n = vn_dns_add_answer(out, sizeof out, n, VN_DNS_T_PTR, DNS_LOCAL_TTL, ptr,
                              (uint16_t)ptrlen);
    for (unsigned i = 0; cls_ok && (qt == VN_DNS_T_A || any) && i < rr.n4 && n; i++)
        n = vn_dns_add_answer(out, sizeof out, n, VN_DNS_T_A, DNS_LOCAL_TTL, rr.a4[i].a, 4);
    for (unsigned i = 0; cls_ok && (qt == VN_DNS_T_AAAA || any) && i < rr.n6 && n; i++)
        n = vn_dns_add_answer(out, sizeof out, n, VN_DNS_T_AAAA, DNS_LOCAL_TTL, rr.a6[i].a, 16);
    if (n && q->edns)
        n = vn_dns_add_opt(out, sizeof out, n, DNS_LOCAL_EDNS);
    struct vn_dns_msg r;
    if (n && vn_dns_msg_parse(out, n, &r) == 0)
        deliver_fit(d, to, out, n, &r, q->edns ? VN_MAX(q->edns_size, 512) : 512);
    return true;
}

/* ---------------------------------------------------------------- pending queries */

static struct dest pend_dest(struct pend *p)
{
    return (struct dest){ .conn = p->conn, .mac = p->gmac, .ip = p->gip, .local = p->glocal,
                          .port = p->gport };
}

/* Stop the running attempt (socket, timer, TCP buffers). */
static void attempt_close(struct pend *p)
{
    struct vn_dns *d = p->d;
    if (p->sock) {
        d->by_uid[p->uid] = 0;
        vn_dns_pool_done(p->sock);
        p->sock = NULL;
    }
    if (p->fd >= 0) {
        vn_io_del(d->gw->loop, &p->io);
        close(p->fd);
        p->fd = -1;
    }
    vn_timer_cancel(d->gw->loop, &p->timer);
    free(p->rbuf);
    p->rbuf = NULL;
    p->rlen = 0;
    p->wdone = 0;
    p->connected = false;
}

static void pend_release(struct pend *p)
{
    attempt_close(p);
    free(p->saved);
    p->saved = NULL;
    p->x64 = X64_NONE;
    p->used = false;
    p->d->npend--;
    p->d->owned[p->owner]--;
    p->next_free = p->d->free_pend;
    p->d->free_pend = p;
    struct conn *c = p->conn;
    p->conn = NULL;
    if (c) {
        c->npending--;
        conn_update(c);
    }
}

static void deliver_saved(struct pend *p);

/* All upstreams failed: SERVFAIL to the guest (for its own question), or,
 * when only DNS64's A query failed, the AAAA answer it had. */
static void pend_give_up(struct pend *p)
{
    struct vn_dns *d = p->d;
    struct vn_dns_msg q;
    if (p->x64 == X64_A && p->saved) {
        deliver_saved(p);
        return;
    }
    if (vn_dns_msg_parse(p->query + 2, p->qlen, &q) == 0) {
        q.h.id = p->gid;
        if (p->x64 != X64_NONE)
            q.q = p->q6;
        struct dest to = pend_dest(p);
        reply_empty(d, &to, &q, 0, VN_DNS_R_SERVFAIL);
    }
    pend_release(p);
}

/* The current attempt failed: try the next upstream. */
static void attempt_next(struct pend *p)
{
    attempt_close(p);
    p->tried++;
    send_attempt(p);
}

/* ---------------------------------------------------------------- DNS64 */

/* Hand the guest of p its final answer m (len bytes, any id; a DNS64 answer
 * to its own question): cached under that question, the guest's id, its
 * OPT record dropped if the guest sent none; then p is released. */
static void deliver_final(struct pend *p, uint8_t *m, size_t len)
{
    struct vn_dns *d = p->d;
    struct vn_dns_msg r;
    if (vn_dns_msg_parse(m, len, &r)) {
        pend_release(p);
        return;
    }
    if (d->cache)
        vn_dns_cache_put(d->cache, m, len, p->do_bit, p->cd_bit, vn_now_ms() / 1000);
    vn_dns_put16(m, p->gid);
    d->st.answers++;
    if (!p->guest_edns)
        len = vn_dns_strip_opt(m, len, &r);
    struct dest to = pend_dest(p);
    deliver_fit(d, &to, m, len, &r, p->gmax);
    pend_release(p);
}

/* Nothing to synthesize: the guest gets the AAAA answer upstream gave. */
static void deliver_saved(struct pend *p)
{
    memcpy(p->d->synth, p->saved, p->saved_len);
    deliver_final(p, p->d->synth, p->saved_len);
}

/* The answer m (len bytes) to what DNS64 asked for p (A for its AAAA
 * query, or the in-addr.arpa PTR for its ip6.arpa one): build and deliver
 * the guest's answer. */
static void dns64_finish(struct pend *p, const uint8_t *m, size_t len)
{
    struct vn_dns *d = p->d;
    const struct vn_net_conf *c = d->gw->conf;
    size_t n;
    if (p->x64 == X64_A && len >= 4 && (vn_dns_get16(m + 2) & VN_DNS_F_TC)) {
        /* A truncated A answer (UDP): the guest retries over TCP, where the
         * A query goes over TCP too. */
        struct vn_dns_msg q = { .h = { .id = p->gid, .flags = p->qflags }, .has_q = true,
                                .q = p->q6, .edns = p->guest_edns };
        struct dest to = pend_dest(p);
        d->st.truncated++;
        reply_empty(d, &to, &q, VN_DNS_F_TC, VN_DNS_R_NOERROR);
        pend_release(p);
        return;
    }
    if (p->x64 == X64_A) {
        n = vn_dns64_synth(d->synth, DNS64_OUT, m, len, &p->q6, p->gid, &c->nat64_prefix,
                           c->nat64_prefix_len, p->ttl_bound, DNS_LOCAL_EDNS);
        if (!n) {
            deliver_saved(p); /* no A record NAT64 could carry */
            return;
        }
        d->st.dns64_synthesized++;
    } else {
        n = vn_dns64_ptr_answer(d->synth, DNS64_OUT, m, len, &p->q6, p->q.name, p->gid,
                                DNS_LOCAL_EDNS);
        if (!n) { /* an answer we cannot carry over: SERVFAIL */
            pend_give_up(p);
            return;
        }
        d->st.dns64_ptr++;
    }
    deliver_final(p, d->synth, n);
}

/* Whether upstream's answer m (len bytes, parsed as r) to p's AAAA query
 * leaves DNS64 to ask for A: no usable AAAA record, and not NXDOMAIN or
 * truncated (which go to the guest as they are). */
static bool dns64_wants_a(const struct pend *p, const uint8_t *m, size_t len,
                          const struct vn_dns_msg *r)
{
    unsigned rcode = r->h.flags & VN_DNS_F_RCODE;
    return p->x64 == X64_AAAA && rcode != VN_DNS_R_NXDOMAIN && !(r->h.flags & VN_DNS_F_TC) &&
           !vn_dns64_has_aaaa(m, len);
}

/* p's AAAA query got m (len bytes) without a usable AAAA: keep m, then ask
 * for A (from the cache if it has the answer, else upstream). */
static void dns64_ask_a(struct pend *p, const uint8_t *m, size_t len)
{
    struct vn_dns *d = p->d;
    uint8_t *keep = malloc(len);
    if (!keep) { /* keep nothing: the guest gets the AAAA answer now */
        memcpy(d->synth, m, len);
        deliver_final(p, d->synth, len);
        return;
    }
    memcpy(keep, m, len); /* before attempt_close: m may be the attempt's buffer */
    attempt_close(p);
    free(p->saved);
    p->saved = keep;
    p->saved_len = (uint16_t)len;
    p->ttl_bound = vn_dns64_ttl_bound(keep, len);
    p->x64 = X64_A;
    p->q.qtype = VN_DNS_T_A;
    struct vn_dns_msg qa = { .h.flags = p->qflags, .has_q = true, .q = p->q };
    p->qlen = (uint16_t)vn_dns_query_build(p->query + 2, DNS_QMAX, &qa, 0, p->do_bit);
    vn_dns_put16(p->query, p->qlen);
    d->st.dns64_a_queries++;
    if (d->cache) {
        uint8_t a[VN_DNS_CACHE_MSG_MAX];
        size_t n = vn_dns_cache_get(d->cache, &p->q, p->do_bit, p->cd_bit, 0, a, sizeof a,
                                    vn_now_ms() / 1000);
        if (n) {
            d->st.cache_hits++;
            dns64_finish(p, a, n);
            return;
        }
    }
    p->tried = 0;
    send_attempt(p);
}

/* A complete reply m (len bytes) arrived for p: check and relay it. */
static void pend_reply(struct pend *p, uint8_t *m, size_t len)
{
    struct vn_dns *d = p->d;
    struct vn_dns_msg r;
    if (vn_dns_msg_parse(m, len, &r) || !(r.h.flags & VN_DNS_F_QR) || r.h.id != p->uid ||
        !r.has_q || !vn_dns_question_eq(&r.q, &p->q)) {
        d->st.upstream_bad++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"dns: unmatched or malformed reply from upstream\" "
                  "network=%s upstream=%s", d->gw->conf->name,
                  d->up[p->tried % d->nup].text);
        if (p->tcp) /* the stream is out of sync: next upstream */
            attempt_next(p);
        return;
    }
    if (dns64_wants_a(p, m, len, &r)) {
        dns64_ask_a(p, m, len);
        return;
    }
    if (d->cache)
        vn_dns_cache_put(d->cache, m, len, p->do_bit, p->cd_bit, vn_now_ms() / 1000);
    if (p->x64 == X64_A || p->x64 == X64_PTR) {
        dns64_finish(p, m, len);
        return;
    }
    vn_dns_put16(m, p->gid);
    d->st.answers++;
    if (!p->guest_edns) /* the query we sent had EDNS; the guest's did not */
        len = vn_dns_strip_opt(m, len, &r);
    struct dest to = pend_dest(p);
    deliver_fit(d, &to, m, len, &r, p->gmax);
    pend_release(p);
}

static void pend_timeout(struct vn_timer *t)
{
    struct pend *p = VN_CONTAINER_OF(t, struct pend, timer);
    struct vn_dns *d = p->d;
    d->st.timeouts++;
    VN_LOG_RL(VN_LOG_INFO, "msg=\"dns: upstream did not answer in time\" network=%s upstream=%s",
              d->gw->conf->name, d->up[p->tried % d->nup].text);
    attempt_next(p);
}

/* The pending query a datagram on pool socket s with id uid answers, or NULL. */
static struct pend *pend_by_uid(struct vn_dns *d, struct vn_dns_psock *s, uint16_t uid)
{
    unsigned i = d->by_uid[uid];
    struct pend *p = i ? &d->pend[i - 1] : NULL;
    return p && p->used && p->sock == s ? p : NULL;
}

/* Pool callback: an answer from an upstream. */
static void pool_rx(void *ctx, struct vn_dns_psock *s, uint8_t *m, size_t len)
{
    struct vn_dns *d = ctx;
    struct pend *p = len >= 2 ? pend_by_uid(d, s, vn_dns_get16(m)) : NULL;
    if (!p) {
        d->st.upstream_bad++; /* late (already answered or timed out), or forged */
        return;
    }
    pend_reply(p, m, len);
}

/* Pool callback: a queued query could not be sent. */
static void pool_err(void *ctx, struct vn_dns_psock *s, uint16_t uid, int err)
{
    struct vn_dns *d = ctx;
    struct pend *p = pend_by_uid(d, s, uid);
    d->st.upstream_errors++;
    if (!p)
        return;
    VN_LOG_RL(VN_LOG_INFO, "msg=\"dns: cannot send to upstream\" network=%s upstream=%s "
              "err=\"%s\"", d->gw->conf->name, d->up[p->tried % d->nup].text, strerror(err));
    attempt_next(p);
}

/* A query id no query in flight uses (the reply must match it). */
static uint16_t fresh_uid(struct vn_dns *d)
{
    uint16_t u = (uint16_t)vn_random_u32();
    for (int i = 0; i < 64 && d->by_uid[u]; i++)
        u = (uint16_t)vn_random_u32();
    return u;
}

static void tcp_upstream_event(struct vn_io *io, uint32_t ev)
{
    struct pend *p = VN_CONTAINER_OF(io, struct pend, io);
    struct vn_dns *d = p->d;
    struct vn_loop *loop = d->gw->loop;
    if (!p->connected) {
        int err = 0;
        socklen_t el = sizeof err;
        if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &el) || err)
            goto fail;
        if (!(ev & EPOLLOUT))
            return;
        p->connected = true;
    }
    size_t total = 2u + p->qlen;
    if (p->wdone < total) {
        ssize_t n = send(p->fd, p->query + p->wdone, total - p->wdone, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                return;
            goto fail;
        }
        p->wdone += (size_t)n;
        if (p->wdone < total)
            return;
        vn_io_mod(loop, &p->io, EPOLLIN);
        return;
    }
    if (!p->rbuf && !(p->rbuf = malloc(2 + 65535)))
        goto fail;
    for (;;) {
        size_t want = p->rlen < 2 ? 2 : 2u + vn_dns_get16(p->rbuf);
        if (p->rlen >= 2 && want == 2)
            goto fail; /* zero-length message */
        if (p->rlen == want) {
            unsigned tried = p->tried;
            pend_reply(p, p->rbuf + 2, want - 2);
            if (p->used && p->tried == tried) /* ignored: keep reading */
                p->rlen = 0;
            return;
        }
        ssize_t n = recv(p->fd, p->rbuf + p->rlen, want - p->rlen, MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n <= 0)
            goto fail;
        p->rlen += (size_t)n;
    }
fail:
    d->st.upstream_errors++;
    VN_LOG_RL(VN_LOG_INFO, "msg=\"dns: TCP upstream failed\" network=%s upstream=%s",
              d->gw->conf->name, d->up[p->tried % d->nup].text);
    attempt_next(p);
}

/* Send p to upstream number p->tried (then the next ones on immediate
 * failure); SERVFAIL when none is left. */
static void send_attempt(struct pend *p)
{
    struct vn_dns *d = p->d;
    struct vn_loop *loop = d->gw->loop;
    for (; p->tried < d->nup; p->tried++) {
        const struct upstream *u = &d->up[p->tried];
        if (!p->tcp) { /* UDP: a socket of the upstream's pool, sent after this round */
            struct vn_dns_psock *s = d->pools[p->tried] ? vn_dns_pool_pick(d->pools[p->tried])
                                                        : NULL;
            if (!s) {
                d->st.upstream_errors++;
                VN_LOG_RL(VN_LOG_WARN, "msg=\"dns: no socket for an upstream query\" "
                          "network=%s err=\"%s\"", d->gw->conf->name, strerror(errno));
                continue;
            }
            p->uid = fresh_uid(d);
            if (d->by_uid[p->uid]) { /* all 64 draws taken (a flood): try later */
                vn_dns_pool_done(s);
                d->st.upstream_errors++;
                continue;
            }
            vn_dns_put16(p->query + 2, p->uid);
            if (vn_dns_pool_send(s, p->query + 2, p->qlen) < 0) {
                vn_dns_pool_done(s);
                d->st.upstream_errors++;
                continue;
            }
            p->sock = s;
            d->by_uid[p->uid] = (uint16_t)(p - d->pend + 1);
            vn_timer_arm(loop, &p->timer, DNS_TRY_MS);
            return;
        }
        int type = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
        int fd = socket(u->ss.ss_family, type, 0);
        if (fd < 0) {
            d->st.upstream_errors++;
            VN_LOG_RL(VN_LOG_WARN, "msg=\"dns: no socket for an upstream query\" network=%s "
                      "err=\"%s\"", d->gw->conf->name, strerror(errno));
            continue;
        }
        /* TCP: a fresh id and a connection of its own (a random port). */
        p->uid = (uint16_t)vn_random_u32();
        vn_dns_put16(p->query + 2, p->uid);
        int r = connect(fd, (const struct sockaddr *)&u->ss, u->len);
        if (r && errno != EINPROGRESS)
            goto fail;
        if (vn_io_add(loop, &p->io, fd, EPOLLOUT, tcp_upstream_event))
            goto fail;
        p->fd = fd;
        vn_timer_arm(loop, &p->timer, DNS_TRY_MS);
        return;
    fail:
        d->st.upstream_errors++;
        VN_LOG_RL(VN_LOG_INFO, "msg=\"dns: cannot send to upstream\" network=%s upstream=%s "
                  "err=\"%s\"", d->gw->conf->name, u->text, strerror(errno));
        close(fd);
    }
    pend_give_up(p);
}

/* Answer q from the cache if it holds the answer: as the guest would have
 * had it from the upstream (its id and spelling, aged TTLs, no OPT record
 * if it sent none, truncated if larger than its UDP buffer gmax). Returns
 * whether it answered. */
static bool answer_cached(struct vn_dns *d, const struct dest *to, const struct vn_dns_msg *q,
                          bool cd, uint16_t gmax)
{
    uint8_t m[VN_DNS_CACHE_MSG_MAX];
    size_t n = vn_dns_cache_get(d->cache, &q->q, q->edns_do, cd, q->h.id, m, sizeof m,
                                vn_now_ms() / 1000);
    struct vn_dns_msg r;
    if (!n || vn_dns_msg_parse(m, n, &r))
        return false;
    d->st.cache_hits++;
    if (!q->edns)
        n = vn_dns_strip_opt(m, n, &r);
    deliver_fit(d, to, m, n, &r, gmax);
    return true;
}

/* Forward query q (len bytes as the guest sent it) for a guest. */
static void forward(struct vn_dns *d, const struct dest *to, const struct vn_dns_msg *q,
                    size_t len)
{
    if (len > DNS_QMAX) {
        d->st.malformed++;
        reply_empty(d, to, q, 0, VN_DNS_R_FORMERR);
        return;
    }
    if (!d->nup) { /* an isolated network without upstreams: local names only */
        d->st.refused++;
        reply_empty(d, to, q, 0, VN_DNS_R_REFUSED);
        return;
    }
    bool cd = (q->h.flags & VN_DNS_F_CD) != 0;
    uint16_t gmax = q->edns ? VN_MAX(q->edns_size, 512) : 512;
    if (d->cache && answer_cached(d, to, q, cd, gmax))
        return;
    /* DNS64: what goes upstream for the guest's question (the guest's own
     * question unless it is AAAA or a reverse name of the prefix). A guest
     * that validates itself (DO and CD, RFC 6147 5.5) gets no synthesis. */
    struct vn_dns_msg up = *q;
    uint8_t x64 = X64_NONE;
    if (d->dns64 && q->q.qclass == VN_DNS_C_IN && !(cd && q->edns_do)) {
        const struct vn_net_conf *c = d->gw->conf;
        uint8_t n4[VN_DNS_NAME_MAX + 1];
        uint32_t v4;
        int l4;
        if (q->q.qtype == VN_DNS_T_AAAA) {
            x64 = X64_AAAA;
        } else if (q->q.qtype == VN_DNS_T_PTR &&
                   (l4 = vn_dns64_ptr_map(q->q.name, &c->nat64_prefix, c->nat64_prefix_len, n4,
                                          sizeof n4, &v4)) > 0 &&
                   !(d->gw->addr && vn_gw_in_subnet(d->gw, v4))) {
            /* (an address of the guests' own subnet is not asked upstream) */
            x64 = X64_PTR;
            memcpy(up.q.name, n4, (size_t)l4);
            up.q.name_len = (uint16_t)l4;
        }
    }
    struct pend *p = d->free_pend;
    uint16_t owner = to->conn ? OWNER_TCP : VN_MIN(to->in_port, (uint16_t)(VN_MAX_PORTS - 1));
    bool share = d->owned[owner] >= (to->conn ? DNS_TCP_SHARE : DNS_SHARE);
    if (!p || share) {
        if (share)
            d->st.dropped_share++;
        else
            d->st.dropped_busy++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"dns: too many queries in flight, query dropped\" "
                  "network=%s max=%d per_guest=%d by=%s", d->gw->conf->name, DNS_PENDING,
                  DNS_SHARE, share ? "guest" : "all");
        if (to->conn) /* a TCP client would wait for nothing */
            reply_empty(d, to, q, 0, VN_DNS_R_SERVFAIL);
        return;
    }
    d->free_pend = p->next_free;
    p->used = true;
    d->npend++;
    p->owner = owner;
    d->owned[owner]++;
    p->tcp = to->conn != NULL;
    p->conn = to->conn;
    if (p->conn)
        p->conn->npending++;
    p->gid = q->h.id;
    if (to->mac)
        memcpy(p->gmac, to->mac, 6);
    p->gip = to->ip;
    p->glocal = to->local;
    p->gport = to->port;
    p->gmax = gmax;
    p->q = up.q;
    p->q6 = q->q;
    p->x64 = x64;
    p->qflags = q->h.flags & (VN_DNS_F_RD | VN_DNS_F_CD);
    p->guest_edns = q->edns;
    p->do_bit = q->edns_do;
    p->cd_bit = cd;
    /* Upstream gets a query of our own making: the question, RD/CD, our
     * EDNS (so answers are shared between guests, cached alike, and none of
     * a guest's EDNS options leaves). */
    p->qlen = (uint16_t)vn_dns_query_build(p->query + 2, DNS_QMAX, &up, 0, q->edns_do);
    vn_dns_put16(p->query, p->qlen);
    p->tried = 0;
    p->fd = -1;
    d->st.forwarded++;
    send_attempt(p);
}

/* A query from a guest (UDP or TCP): answer, forward or drop it. */
static void handle_query(struct vn_dns *d, const struct dest *to, const uint8_t *m, size_t len)
{
    struct vn_dns_msg q;
    if (vn_dns_msg_parse(m, len, &q) || (q.h.flags & VN_DNS_F_QR)) {
        d->st.malformed++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"dns: malformed query dropped\" network=%s len=%zu",
                  d->gw->conf->name, len);
        return;
    }
    if (q.h.flags & VN_DNS_F_OPCODE) {
        reply_empty(d, to, &q, 0, VN_DNS_R_NOTIMP);
        return;
    }
    if (!q.has_q) {
        d->st.malformed++;
        reply_empty(d, to, &q, 0, VN_DNS_R_FORMERR);
        return;
    }
    if (answer_local(d, to, &q))
        return;
    forward(d, to, &q, len);
}

/* Whether a query from a may be answered: a guest on the link, or a
 * VPN peer (an address the gateway's tunnel owns: the network's DNS is
 * its DNS too, as the client configuration says). */
static bool may_ask(struct vn_gw *gw, const struct vn_addr *a)
{
    return vn_gw_on_link(gw, a) || (gw->tunnel.owns && gw->tunnel.owns(gw->tunnel.ctx, a));
}

void vn_dns_input_udp(struct vn_dns *d, const uint8_t src_mac[6], uint16_t port,
                      const struct vn_ipp *ip, const struct vn_udp *udp)
{
    struct vn_gw *gw = d->gw;
    d->st.queries_udp++;
    bool v6 = ip->family == AF_INET6;
    if (v6)
        d->st.queries_udp6++;
    else
        d->st.queries_udp4++;
    /* A guest on the link (IPv4 subnet; IPv6 prefix or link-local) or a
     * VPN peer, never an unspecified or multicast source nor one of the
     * gateway's own. */
    if ((ip->family != AF_INET && !v6) || udp->sport == 0 || vn_mac_is_multicast(src_mac) ||
        (!v6 && !vn_addr_v4(&ip->src)) || !may_ask(gw, &ip->src) ||
        vn_gw_owns_addr(gw, &ip->src)) {
        d->st.malformed++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"dns: query from an invalid source dropped\" network=%s",
                  gw->conf->name);
        return;
    }
    /* Answers leave from the address the query was sent to: the DNS
     * address (IPv4: also for queries that came as broadcasts). */
    struct vn_addr local = v6 ? (vn_gw_owns_addr(gw, &ip->dst) ? ip->dst : gw->dns6)
                              : vn_addr4(gw->dns_addr);
    struct dest to = { .conn = NULL, .in_port = port, .mac = src_mac, .ip = ip->src,
                       .local = local, .port = udp->sport };
    handle_query(d, &to, udp->data, udp->dlen);
}

/* ---------------------------------------------------------------- guest TCP */

static void conn_close(struct conn *c)
{
    struct vn_dns *d = c->d;
    for (unsigned i = 0; i < DNS_PENDING && c->npending; i++) {
        struct pend *p = &d->pend[i];
        if (p->used && p->conn == c) {
            p->conn = NULL;
            c->npending--;
            pend_release(p);
        }
    }
    vn_io_del(d->gw->loop, &c->io);
    vn_timer_cancel(d->gw->loop, &c->idle);
    close(c->fd);
    free(c->out);
    c->out = NULL;
    c->outcap = c->outlen = c->outoff = 0;
    c->used = false;
    d->nconns--;
}

static void conn_flush(struct conn *c)
{
    while (!c->dead && c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                c->dead = true;
            return;
        }
        c->outoff += (size_t)n;
        vn_timer_arm(c->d->gw->loop, &c->idle, DNS_IDLE_MS);
    }
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
}

/* Handle the complete queries in c's input buffer (while it may take more). */
static void conn_parse(struct conn *c)
{
    struct vn_dns *d = c->d;
    size_t off = 0;
    c->last_ms = vn_now_ms();
    while (!c->dead && c->inlen - off >= 2 && c->npending < DNS_CONN_INFLIGHT) {
        size_t l = vn_dns_get16(c->in + off);
        if (l < VN_DNS_HLEN || l > DNS_QMAX) {
            d->st.malformed++;
            VN_LOG_RL(VN_LOG_DEBUG, "msg=\"dns: bad TCP message length, connection closed\" "
                      "network=%s len=%zu", d->gw->conf->name, l);
            c->dead = true;
            break;
        }
        if (c->inlen - off < 2 + l)
            break;
        d->st.queries_tcp++;
        struct dest to = { .conn = c };
        handle_query(d, &to, c->in + off + 2, l);
        off += 2 + l;
    }
    if (off) {
        memmove(c->in, c->in + off, c->inlen - off);
        c->inlen -= off;
    }
}

/* After any change: handle buffered queries, flush answers, then close or
 * set the event mask from the connection's state. */
static void conn_update(struct conn *c)
{
    if (c->in_cb)
        return; /* the outer call finishes the job */
    c->in_cb = true;
    conn_parse(c);
    if (c->eof && c->inlen && c->npending < DNS_CONN_INFLIGHT)
        c->inlen = 0; /* a partial message before EOF never completes */
    c->in_cb = false;
    conn_flush(c);
    bool out = c->outoff < c->outlen;
    if (c->dead || (c->eof && !c->npending && !out)) {
        conn_close(c);
        return;
    }
    uint32_t ev = 0;
    if (!c->eof && c->npending < DNS_CONN_INFLIGHT && c->outlen - c->outoff < DNS_OUT_PAUSE &&
        c->inlen < sizeof c->in)
        ev |= EPOLLIN;
    if (out)
        ev |= EPOLLOUT;
    vn_io_mod(c->d->gw->loop, &c->io, ev);
}

static void conn_event(struct vn_io *io, uint32_t ev)
{
    struct conn *c = VN_CONTAINER_OF(io, struct conn, io);
    /* HUP: both directions are closed (or reset): answers cannot be sent. */
    if (ev & (EPOLLERR | EPOLLHUP))
        c->dead = true;
    if (!c->dead && !c->eof && (ev & EPOLLIN) && c->inlen < sizeof c->in) {
        ssize_t n = recv(c->fd, c->in + c->inlen, sizeof c->in - c->inlen, MSG_DONTWAIT);
        if (n > 0) {
            c->inlen += (size_t)n;
            vn_timer_arm(c->d->gw->loop, &c->idle, DNS_IDLE_MS);
        } else if (n == 0) {
            c->eof = true;
        } else if (errno != EAGAIN && errno != EINTR) {
            c->dead = true;
        }
    }
    conn_update(c);
}

static void conn_idle(struct vn_timer *t)
{
    struct conn *c = VN_CONTAINER_OF(t, struct conn, idle);
    if (c->npending) {
        vn_timer_arm(c->d->gw->loop, &c->idle, DNS_IDLE_MS);
        return;
    }
    conn_close(c);
}

static void listen_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_dns *d = VN_CONTAINER_OF(io, struct vn_dns, lio);
    for (int i = 0; i < 16; i++) {
        int fd = vn_listen_guard_accept(&d->guard, NULL, NULL);
        if (fd < 0)
            return; /* nothing pending, or paused (logged) */
        struct conn *c = NULL, *idle = NULL;
        for (unsigned k = 0; k < DNS_CONNS && !c; k++) {
            struct conn *x = &d->conns[k];
            if (!x->used)
                c = x;
            else if (!x->npending && !x->in_cb && (!idle || x->last_ms < idle->last_ms))
                idle = x;
        }
        if (!c && idle) {
            /* Full: the connection idle the longest makes room (so idle
             * connections held open cannot lock the others out). */
            d->st.tcp_evicted++;
            conn_close(idle);
            c = idle;
        }
        if (!c) {
            d->st.dropped_busy++;
            VN_LOG_RL(VN_LOG_WARN, "msg=\"dns: too many TCP connections, one refused\" "
                      "network=%s max=%d", d->gw->conf->name, DNS_CONNS);
            close(fd);
            continue;
        }
        memset(c, 0, sizeof *c);
        c->d = d;
        c->fd = fd;
        vn_timer_init(&c->idle, conn_idle);
        if (vn_io_add(d->gw->loop, &c->io, fd, EPOLLIN, conn_event)) {
            close(fd);
            continue;
        }
        c->used = true;
        c->last_ms = vn_now_ms();
        d->nconns++;
        d->st.tcp_connections++;
        vn_timer_arm(d->gw->loop, &c->idle, DNS_IDLE_MS);
    }
}

/* ---------------------------------------------------------------- life cycle */

struct vn_dns *vn_dns_new(struct vn_gw *gw, char *err, size_t errlen)
{
    struct vn_dns *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->gw = gw;
    d->lfd = -1;
    d->pend = calloc(DNS_PENDING, sizeof *d->pend);
    d->conns = calloc(DNS_CONNS, sizeof *d->conns);
    d->by_uid = calloc(65536, sizeof *d->by_uid);
    if (!d->pend || !d->conns || !d->by_uid) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (unsigned i = DNS_PENDING; i-- > 0;) {
        d->pend[i].d = d;
        d->pend[i].fd = -1;
        vn_timer_init(&d->pend[i].timer, pend_timeout);
        d->pend[i].next_free = d->free_pend;
        d->free_pend = &d->pend[i];
    }
    const struct vn_net_conf *c = gw->conf;
    int dl = vn_dns_name_from_text(c->domain[0] ? c->domain : "vnet.internal", d->domain,
                                   sizeof d->domain);
    if (dl < 0) {
        snprintf(err, errlen, "network '%s': bad DNS domain '%s'", c->name, c->domain);
        goto fail;
    }
    d->domain_len = (size_t)dl;
    if (gw->prefix6.family == AF_INET6)
        d->has_zone6 = vn_dns_ptr6_name(gw->prefix6.a, 16, d->zone6, sizeof d->zone6) > 0;
    for (unsigned i = 0; i < c->nupstream; i++)
        add_upstream(d, &c->upstream[i].ip, c->upstream[i].port, 0);
    /* An isolated network reaches nothing beyond itself, the host's
     * resolvers included, unless upstreams are configured explicitly. */
    bool isolated = c->mode == VN_MODE_ISOLATED;
    if (!d->nup && !isolated)
        upstreams_from_resolv_conf(d);
    if (!d->nup && !isolated) { /* the resolver library's default */
        struct vn_addr lo = vn_addr4(0x7f000001);
        add_upstream(d, &lo, 53, 0);
    }

    d->dns64 = c->nat64 && c->mode == VN_MODE_NAT;
    if (d->dns64 && !(d->synth = malloc(DNS64_OUT))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (c->dns_cache && !(d->cache = vn_dns_cache_new(c->dns_cache))) {
        snprintf(err, errlen, "out of memory for a DNS cache of %u answers", c->dns_cache);
        goto fail;
    }
    for (unsigned i = 0; i < d->nup; i++)
        if (!(d->pools[i] = vn_dns_pool_new(gw->loop, (struct sockaddr *)&d->up[i].ss,
                                            d->up[i].len, pool_rx, pool_err, d))) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }

    d->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    d->taddr.sin_family = AF_INET;
    d->taddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof d->taddr;
    if (d->lfd < 0 || bind(d->lfd, (struct sockaddr *)&d->taddr, sizeof d->taddr) ||
        listen(d->lfd, 64) || getsockname(d->lfd, (struct sockaddr *)&d->taddr, &sl) ||
        vn_io_add(gw->loop, &d->lio, d->lfd, EPOLLIN, listen_event)) {
        snprintf(err, errlen, "network '%s': DNS over TCP listener: %s", c->name,
                 strerror(errno));
        goto fail;
    }
    vn_listen_guard_init(&d->guard, gw->loop, &d->lio, "dns-tcp");
    vn_own_port_add(IPPROTO_TCP, ntohs(d->taddr.sin_port), VN_OWN_ALL_NETWORKS);
    d->own_port = true;
    char ups[VN_MAX_UPSTREAMS * 66] = "";
    for (unsigned i = 0; i < d->nup; i++) {
        size_t l = strlen(ups);
        snprintf(ups + l, sizeof ups - l, "%s%s", i ? "," : "", d->up[i].text);
    }
    char a[16], a6[VN_ADDR_STRLEN];
    vn_info("msg=\"dns forwarder\" network=%s address=%s address6=%s domain=%s upstreams=%s "
            "tcp=127.0.0.1:%u", c->name, gw->dns_addr ? vn_ip4_str(gw->dns_addr, a) : "-",
            gw->dns6.family ? vn_addr_str(&gw->dns6, a6, sizeof a6) : "-", c->domain, ups,
            ntohs(d->taddr.sin_port));
    return d;
fail:
    vn_dns_free(d);
    return NULL;
}

unsigned vn_dns_fd_need(void)
{
    return VN_MAX_UPSTREAMS * VN_DNS_POOL_SLOTS + DNS_CONNS + DNS_TCP_SHARE + 4;
}

void vn_dns_free(struct vn_dns *d)
{
    if (!d)
        return;
    if (d->conns)
        for (unsigned i = 0; i < DNS_CONNS; i++)
            if (d->conns[i].used)
                conn_close(&d->conns[i]);
    if (d->pend)
        for (unsigned i = 0; i < DNS_PENDING; i++)
            if (d->pend[i].used)
                pend_release(&d->pend[i]);
    if (d->own_port)
        vn_own_port_del(IPPROTO_TCP, ntohs(d->taddr.sin_port), VN_OWN_ALL_NETWORKS);
    if (d->lfd >= 0) {
        vn_listen_guard_cancel(&d->guard);
        vn_io_del(d->gw->loop, &d->lio);
        close(d->lfd);
    }
    for (unsigned i = 0; i < VN_MAX_UPSTREAMS; i++)
        vn_dns_pool_free(d->pools[i]);
    vn_dns_cache_free(d->cache);
    free(d->synth);
    free(d->by_uid);
    free(d->pend);
    free(d->conns);
    free(d);
}

const struct sockaddr_in *vn_dns_tcp_addr(struct vn_dns *d) { return &d->taddr; }

json_t *vn_dns_stats_json(struct vn_dns *d)
{
    const struct dns_stats *s = &d->st;
    json_t *o = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}", "queries_udp",
        (json_int_t)s->queries_udp, "queries_tcp", (json_int_t)s->queries_tcp, "local_answers",
        (json_int_t)s->local_answers, "forwarded", (json_int_t)s->forwarded, "answers",
        (json_int_t)s->answers, "nxdomain", (json_int_t)s->nxdomain, "servfail",
        (json_int_t)s->servfail, "timeouts", (json_int_t)s->timeouts, "malformed",
        (json_int_t)s->malformed, "dropped_busy", (json_int_t)s->dropped_busy, "truncated",
        (json_int_t)s->truncated, "upstream_bad", (json_int_t)s->upstream_bad,
        "upstream_errors", (json_int_t)s->upstream_errors, "tcp_connections",
        (json_int_t)s->tcp_connections, "queries_active", (int)d->npend, "tcp_active",
        (int)d->nconns);
    json_object_set_new(o, "queries_udp4", json_integer((json_int_t)s->queries_udp4));
    json_object_set_new(o, "queries_udp6", json_integer((json_int_t)s->queries_udp6));
    json_object_set_new(o, "dropped_guest_share", json_integer((json_int_t)s->dropped_share));
    json_object_set_new(o, "tcp_evicted", json_integer((json_int_t)s->tcp_evicted));
    struct vn_dns_pool_stats ps, sum = { 0 };
    unsigned open_socks = 0;
    for (unsigned i = 0; i < d->nup; i++) {
        vn_dns_pool_get_stats(d->pools[i], &ps);
        sum.send_calls += ps.send_calls;
        sum.recv_calls += ps.recv_calls;
        sum.rotated += ps.rotated;
        open_socks += vn_dns_pool_open(d->pools[i]);
    }
    json_object_set_new(o, "upstream_sockets", json_integer(open_socks));
    struct vn_dns_cache_stats cs = { 0 };
    if (d->cache)
        vn_dns_cache_stats(d->cache, &cs);
    json_object_set_new(o, "cache", json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i}", "hits",
                                              (json_int_t)cs.hits, "misses", (json_int_t)cs.misses,
                                              "inserts", (json_int_t)cs.inserts, "evictions",
                                              (json_int_t)cs.evictions, "expired",
                                              (json_int_t)cs.expired, "uncacheable",
                                              (json_int_t)cs.uncacheable, "entries",
                                              (int)cs.entries, "max", (int)cs.max));
    json_object_set_new(o, "upstream_send_calls", json_integer((json_int_t)sum.send_calls));
    json_object_set_new(o, "upstream_recv_calls", json_integer((json_int_t)sum.recv_calls));
    json_object_set_new(o, "upstream_sockets_rotated", json_integer((json_int_t)sum.rotated));
    json_t *ups = json_array();
    for (unsigned i = 0; i < d->nup; i++)
        json_array_append_new(ups, json_string(d->up[i].text));
    json_object_set_new(o, "upstreams", ups);
    json_object_set_new(o, "refused", json_integer((json_int_t)s->refused));
    if (d->dns64)
        json_object_set_new(o, "dns64",
                            json_pack("{s:I,s:I,s:I}", "a_queries", (json_int_t)s->dns64_a_queries,
                                      "synthesized", (json_int_t)s->dns64_synthesized,
                                      "ptr_mapped", (json_int_t)s->dns64_ptr));
    return o;
}
