/* DHCPv4 server of a gateway; see dhcp4.h.
 *
 * Theory of operation: the gateway hands every UDP datagram to port 67 to
 * vn_dhcp4_input(). The client is identified by its hardware address
 * (chaddr). Addresses come from the lease table (dhcp4_lease.h): a static
 * reservation for the MAC first, then the address the client held before,
 * then the one it asks for, then a never-used one, then the least recently
 * used one of a departed client, and finally the oldest pending offer of
 * another client (so a flood of DISCOVERs from random MACs cannot hold the
 * pool). Bound leases of other clients are never taken: an exhausted pool
 * gets no offer, a counter and a rate-limited log line. The server is
 * authoritative for its network: a REQUEST for an address that is not the
 * client's gets a NAK. Expiry is evaluated lazily against the wall clock.
 * Changes are saved to the lease file by a short timer, so a burst of
 * clients costs one write. */
#include "dhcp4.h"

#include "core/log.h"
#include "core/util.h"
#include "dhcp4_lease.h"
#include "dhcp4_msg.h"
#include "gateway.h"
#include "pkt/eth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFFER_HOLD_S 60          /* an offer reserves its address this long */
#define DECLINE_QUARANTINE_S 600 /* a declined address is not offered again for */
#define SAVE_DELAY_MS 200        /* lease file writes are coalesced over this */

struct vn_dhcp4_stats {
    uint64_t discover, offer, request, ack, nak, release, decline, inform;
    uint64_t pool_exhausted, malformed, ignored, save_errors;
};

struct vn_dhcp4 {
    struct vn_gw *gw;
    uint32_t start;              /* first pool address (host order) */
    uint32_t npool;
    struct vn_lease *pool;       /* npool entries, index = ip - start */
    struct vn_lease statics[VN_MAX_DHCP_HOSTS];
    unsigned nstatic;
    char path[4096];             /* lease file, "" = memory only */
    bool dirty;
    struct vn_timer save_timer;
    int64_t (*wall_s)(void);     /* the clock leases are judged by (vn_wall_s) */
    struct vn_dhcp4_stats st;
};

/* ---- lease table ---- */

static struct vn_lease *static_by_mac(struct vn_dhcp4 *d, const uint8_t mac[6])
{
    for (unsigned i = 0; i < d->nstatic; i++)
        if (d->statics[i].has_mac && !memcmp(d->statics[i].mac, mac, 6))
            return &d->statics[i];
    return NULL;
}

static struct vn_lease *pool_entry(struct vn_dhcp4 *d, uint32_t ip)
{
    return ip - d->start < d->npool ? &d->pool[ip - d->start] : NULL;
}

static struct vn_lease *pool_by_mac(struct vn_dhcp4 *d, const uint8_t mac[6])
{
    for (uint32_t i = 0; i < d->npool; i++)
        if (d->pool[i].has_mac && !memcmp(d->pool[i].mac, mac, 6))
            return &d->pool[i];
    return NULL;
}

/* The name configuration gives the client holding l (its static host's),
 * or NULL. */
static const char *configured_name(struct vn_dhcp4 *d, const struct vn_lease *l)
{
    const struct vn_lease *s = l->is_static ? l : l->has_mac ? static_by_mac(d, l->mac) : NULL;
    return s && s->hostname[0] ? s->hostname : NULL;
}

/* The name of l for DNS and listings: the configured one, else the one the
 * client sent ("" if none). */
static const char *lease_name(struct vn_dhcp4 *d, const struct vn_lease *l)
{
    const char *c = configured_name(d, l);
    return c ? c : l->hostname;
}

/* The entry that holds (or last held) the client's address, or NULL. A
 * static host with an address has its own entry; one with only a name
 * takes its address from the pool. */
static struct vn_lease *entry_of(struct vn_dhcp4 *d, const uint8_t mac[6])
{
    struct vn_lease *s = static_by_mac(d, mac);
    if (s && s->ip)
        return s;
    return pool_by_mac(d, mac);
}

/* May a client with this MAC be given pool entry l at now? */
static bool usable_by(const struct vn_lease *l, const uint8_t mac[6], int64_t now)
{
    if (l->reserved)
        return false;
    if (l->has_mac && !memcmp(l->mac, mac, 6))
        return l->state != VN_LEASE_DECLINED || l->expires <= now;
    switch (l->state) {
    case VN_LEASE_FREE:
    case VN_LEASE_RELEASED:
        return true;
    default:
        return l->expires <= now;
    }
}

/* Choose a pool entry for a client without one, preferring requested. */
static struct vn_lease *allocate(struct vn_dhcp4 *d, const uint8_t mac[6], uint32_t requested,
                                 int64_t now)
{
    struct vn_lease *l = pool_entry(d, requested);
    if (l && usable_by(l, mac, now) && (!l->has_mac || l->state == VN_LEASE_FREE))
        return l;
    struct vn_lease *lru = NULL, *offer = NULL;
    for (uint32_t i = 0; i < d->npool; i++) {
        l = &d->pool[i];
        if (l->reserved)
            continue;
        if (l->state == VN_LEASE_FREE && !l->has_mac)
            return l;
        if (usable_by(l, mac, now)) {
            if (!lru || l->changed < lru->changed)
                lru = l;
        } else if (l->state == VN_LEASE_OFFERED && (!offer || l->changed < offer->changed)) {
            offer = l;
        }
    }
    return lru ? lru : offer;
}

/* Give entry l to mac (forgetting its previous client). */
static void assign(struct vn_lease *l, const uint8_t mac[6], int64_t now)
{
    if (!l->has_mac || memcmp(l->mac, mac, 6)) {
        if (!l->is_static)
            l->hostname[0] = 0;
        memcpy(l->mac, mac, 6);
        l->has_mac = true;
    }
    l->changed = now;
}

static void mark_dirty(struct vn_dhcp4 *d)
{
    d->dirty = true;
    if (d->path[0] && !vn_timer_armed(&d->save_timer))
        vn_timer_arm(d->gw->loop, &d->save_timer, SAVE_DELAY_MS);
}

static void save_now(struct vn_dhcp4 *d)
{
    if (!d->path[0] || !d->dirty)
        return;
    char err[512];
    d->dirty = false;
    if (vn_lease_save(d->path, d->gw->conf->name, d->pool, d->npool, d->statics, d->nstatic, err,
                      sizeof err)) {
        d->st.save_errors++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"cannot save DHCP leases\" network=%s error=\"%s\"",
                  d->gw->conf->name, err);
    }
}

static void save_timer_cb(struct vn_timer *t)
{
    save_now(VN_CONTAINER_OF(t, struct vn_dhcp4, save_timer));
}

/* ---- replies ---- */

/* Options every ACK/OFFER carries (and INFORM's ACK, without lease times). */
static void add_config_options(struct vn_dhcp4 *d, struct vn_dhcp4_out *o,
                               const struct vn_dhcp4_msg *m, const struct vn_lease *l,
                               bool with_lease)
{
    struct vn_gw *gw = d->gw;
    const struct vn_net_conf *c = gw->conf;
    vn_dhcp4_out_u32(o, VN_DHO_SERVER_ID, gw->addr);
    if (with_lease) {
        vn_dhcp4_out_u32(o, VN_DHO_LEASE_TIME, c->lease_time);
        vn_dhcp4_out_u32(o, VN_DHO_T1, c->lease_time / 2);
        vn_dhcp4_out_u32(o, VN_DHO_T2, (uint32_t)((uint64_t)c->lease_time * 7 / 8));
    }
    vn_dhcp4_out_u32(o, VN_DHO_SUBNET_MASK, gw->mask);
    vn_dhcp4_out_u32(o, VN_DHO_BROADCAST, gw->bcast);
    if (gw->router) {
        vn_dhcp4_out_u32(o, VN_DHO_ROUTER, gw->router);
        /* RFC 3442: a client using option 121 ignores option 3, so the
         * default route goes into 121 too. */
        if (vn_dhcp4_wants(m, VN_DHO_CLASSLESS_ROUTES)) {
            uint8_t r[9];
            size_t n = vn_dhcp4_route_encode(r, 0, 0, gw->router);
            vn_dhcp4_out_opt(o, VN_DHO_CLASSLESS_ROUTES, r, n);
        }
    }
    if (gw->dns) {
        vn_dhcp4_out_u32(o, VN_DHO_DNS, gw->dns_addr);
        vn_dhcp4_out_opt(o, VN_DHO_DOMAIN, c->domain, strlen(c->domain));
        vn_dhcp4_out_search(o, c->domain);
    }
    vn_dhcp4_out_u16(o, VN_DHO_MTU, gw->mtu);
    const char *name = l ? configured_name(d, l) : NULL;
    if (name) /* only names the configuration gives: the client knows its own */
        vn_dhcp4_out_opt(o, VN_DHO_HOSTNAME, name, strlen(name));
}

/* Send a finished reply following RFC 2131 4.1: to ciaddr when the client
 * has one (except NAK), broadcast when asked or NAK, else to yiaddr at
 * chaddr (we build the frame, so no ARP is needed). */
static void send_reply(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, const uint8_t src_mac[6],
                       uint8_t type, uint32_t yiaddr, struct vn_dhcp4_out *o)
{
    static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    size_t len = vn_dhcp4_out_finish(o);
    const uint8_t *dmac = m->htype == 1 && m->hlen == 6 ? m->chaddr : src_mac;
    uint32_t dst;
    if (type == VN_DHCP_NAK || (!m->ciaddr && (m->flags & 0x8000))) {
        dst = 0xffffffffu;
        dmac = bcast_mac;
    } else if (m->ciaddr) {
        dst = m->ciaddr;
    } else {
        dst = yiaddr;
    }
    if (vn_gw_send_udp4(d->gw, dmac, d->gw->addr, 67, dst, 68, o->buf, len) == 0) {
        if (type == VN_DHCP_OFFER)
            d->st.offer++;
        else if (type == VN_DHCP_ACK)
            d->st.ack++;
        else if (type == VN_DHCP_NAK)
            d->st.nak++;
    }
}

static void reply(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, const uint8_t src_mac[6],
                  uint8_t type, const struct vn_lease *l)
{
    uint8_t buf[VN_DHCP4_MAX_REPLY];
    size_t cap = sizeof buf;
    if (m->max_size >= VN_DHCP4_BOOTP_MIN + 28 && (size_t)m->max_size - 28 < cap)
        cap = (size_t)m->max_size - 28; /* the client counts IP and UDP headers */
    struct vn_dhcp4_out o;
    uint32_t yiaddr = l && type != VN_DHCP_INFORM ? l->ip : 0;
    vn_dhcp4_out_init(&o, buf, cap, m, type == VN_DHCP_INFORM ? VN_DHCP_ACK : type, yiaddr,
                      d->gw->addr);
    if (type == VN_DHCP_NAK) {
        vn_dhcp4_out_u32(&o, VN_DHO_SERVER_ID, d->gw->addr);
        static const char msg[] = "address not valid on this network";
        vn_dhcp4_out_opt(&o, VN_DHO_MESSAGE, msg, sizeof msg - 1);
    } else {
        add_config_options(d, &o, m, l, type != VN_DHCP_INFORM);
    }
    send_reply(d, m, src_mac, type == VN_DHCP_INFORM ? VN_DHCP_ACK : type, yiaddr, &o);
}

/* ---- message handlers ---- */

static void exhausted(struct vn_dhcp4 *d, const uint8_t mac[6])
{
    char ms[18];
    d->st.pool_exhausted++;
    VN_LOG_RL(VN_LOG_WARN, "msg=\"DHCP pool exhausted, no offer\" network=%s client=%s",
              d->gw->conf->name, vn_mac_str(mac, ms));
}

static void on_discover(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, const uint8_t *src_mac,
                        int64_t now)
{
    const uint8_t *mac = m->chaddr;
    struct vn_lease *l = entry_of(d, mac);
    if (l && !l->is_static && !usable_by(l, mac, now))
        l = NULL; /* declined and still quarantined */
    if (!l)
        l = allocate(d, mac, m->requested_ip, now);
    if (!l) {
        exhausted(d, mac);
        return;
    }
    assign(l, mac, now);
    if (!vn_lease_active(l, now)) {
        l->state = VN_LEASE_OFFERED;
        l->expires = now + OFFER_HOLD_S;
    }
    reply(d, m, src_mac, VN_DHCP_OFFER, l);
}

/* Tell the switch's binding table (DHCP snooping, switch/binding.h) that
 * l's address is now bound to its MAC until it expires, or no longer is.
 * Reservations with a MAC are bound for good and never unbound. */
static void publish(struct vn_dhcp4 *d, const struct vn_lease *l, bool bound, const uint8_t *mac)
{
    if (!l->ip || (l->is_static && (!bound || !l->has_mac)))
        return;
    struct vn_addr a = vn_addr4(l->ip);
    if (!bound)
        vn_bind_del(&d->gw->net->bind, &a, mac);
    else if (l->is_static)
        vn_bind_set(&d->gw->net->bind, &a, l->mac, VN_BIND_STATIC, 0);
    else
        vn_bind_set(&d->gw->net->bind, &a, l->mac, VN_BIND_LEASE, l->expires);
}

/* Bind l to the client and ACK. */
static void bind_ack(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, const uint8_t *src_mac,
                     struct vn_lease *l, int64_t now)
{
    assign(l, m->chaddr, now);
    l->state = VN_LEASE_BOUND;
    l->expires = now + d->gw->conf->lease_time;
    if (m->hostname[0] && !l->is_static)
        vn_strlcpy(l->hostname, m->hostname, sizeof l->hostname);
    struct vn_addr a = vn_addr4(l->ip);
    vn_gw_neigh_learn(d->gw, &a, m->chaddr);
    publish(d, l, true, NULL);
    mark_dirty(d);
    reply(d, m, src_mac, VN_DHCP_ACK, l);
}

static void on_request(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, const uint8_t *src_mac,
                       int64_t now)
{
    const uint8_t *mac = m->chaddr;
    struct vn_lease *l = entry_of(d, mac);
    if (m->server_id) {
        /* SELECTING: the client answers one server's offer. */
        if (m->server_id != d->gw->addr) {
            if (l && l->state == VN_LEASE_OFFERED && !l->is_static) {
                l->state = VN_LEASE_RELEASED; /* it chose another server */
                l->changed = now;
            }
            d->st.ignored++;
            return;
        }
        if (l && m->requested_ip == l->ip && usable_by(l, mac, now))
            bind_ack(d, m, src_mac, l, now);
        else
            reply(d, m, src_mac, VN_DHCP_NAK, NULL);
        return;
    }
    /* INIT-REBOOT (option 50) or RENEWING/REBINDING (ciaddr). */
    uint32_t want = m->requested_ip ? m->requested_ip : m->ciaddr;
    if (!want) {
        d->st.malformed++;
        return;
    }
    if (l && l->ip == want && (l->is_static || usable_by(l, mac, now))) {
        bind_ack(d, m, src_mac, l, now);
        return;
    }
    /* Not the address we know for the client. If we know nothing of it and
     * the address is free in our pool (say the lease file was lost), the
     * client may keep it; otherwise it must start over. */
    struct vn_lease *p = pool_entry(d, want);
    if (!l && p && usable_by(p, mac, now) && (!p->has_mac || p->state != VN_LEASE_BOUND ||
                                              !memcmp(p->mac, mac, 6))) {
        bind_ack(d, m, src_mac, p, now);
        return;
    }
    reply(d, m, src_mac, VN_DHCP_NAK, NULL);
}

static void on_release(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, int64_t now)
{
    struct vn_lease *l = entry_of(d, m->chaddr);
    if (!l || l->ip != m->ciaddr || (m->server_id && m->server_id != d->gw->addr))
        return;
    if (l->state == VN_LEASE_BOUND) {
        l->state = VN_LEASE_RELEASED; /* the client is remembered for next time */
        l->expires = now;
        l->changed = now;
        publish(d, l, false, m->chaddr);
        mark_dirty(d);
    }
}

static void on_decline(struct vn_dhcp4 *d, const struct vn_dhcp4_msg *m, int64_t now)
{
    struct vn_lease *l = entry_of(d, m->chaddr);
    if (!l || l->ip != m->requested_ip || l->is_static)
        return;
    char a[16];
    VN_LOG_RL(VN_LOG_WARN, "msg=\"DHCP address declined by client, quarantined\" network=%s ip=%s",
              d->gw->conf->name, vn_ip4_str(l->ip, a));
    publish(d, l, false, m->chaddr);
    l->has_mac = false; /* the client must get another address */
    l->state = VN_LEASE_DECLINED;
    l->expires = now + DECLINE_QUARANTINE_S;
    l->changed = now;
    l->hostname[0] = 0;
    mark_dirty(d);
}

void vn_dhcp4_input(struct vn_dhcp4 *d, const uint8_t src_mac[6], const struct vn_ip4 *ip,
                    const struct vn_udp *udp)
{
    (void)ip;
    struct vn_dhcp4_msg m;
    if (vn_dhcp4_parse(udp->data, udp->dlen, &m) || m.htype != 1 || m.hlen != 6 ||
        vn_mac_is_multicast(m.chaddr) || vn_mac_is_zero(m.chaddr)) {
        d->st.malformed++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"malformed DHCP message dropped\" network=%s",
                  d->gw->conf->name);
        return;
    }
    if (m.giaddr) { /* relays do not exist on a virtual segment we own */
        d->st.ignored++;
        return;
    }
    int64_t now = d->wall_s();
    switch (m.type) {
    case VN_DHCP_DISCOVER:
        d->st.discover++;
        on_discover(d, &m, src_mac, now);
        break;
    case VN_DHCP_REQUEST:
        d->st.request++;
        on_request(d, &m, src_mac, now);
        break;
    case VN_DHCP_RELEASE:
        d->st.release++;
        on_release(d, &m, now);
        break;
    case VN_DHCP_DECLINE:
        d->st.decline++;
        on_decline(d, &m, now);
        break;
    case VN_DHCP_INFORM:
        d->st.inform++;
        if (m.ciaddr)
            reply(d, &m, src_mac, VN_DHCP_INFORM, entry_of(d, m.chaddr));
        break;
    default:
        d->st.ignored++; /* BOOTP or a server message type */
        break;
    }
}

/* ---- life cycle ---- */

struct vn_dhcp4 *vn_dhcp4_new(struct vn_gw *gw, const char *state_dir, char *err, size_t errlen)
{
    const struct vn_net_conf *c = gw->conf;
    struct vn_dhcp4 *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "network %s: out of memory for DHCP", c->name);
        return NULL;
    }
    d->gw = gw;
    d->wall_s = vn_wall_s;
    d->start = c->dhcp_start;
    d->npool = c->dhcp_end - c->dhcp_start + 1;
    d->pool = calloc(d->npool, sizeof *d->pool);
    if (!d->pool) {
        free(d);
        snprintf(err, errlen, "network %s: out of memory for %u DHCP leases", c->name,
                 (unsigned)(c->dhcp_end - c->dhcp_start + 1));
        return NULL;
    }
    vn_timer_init(&d->save_timer, save_timer_cb);
    for (uint32_t i = 0; i < d->npool; i++) {
        d->pool[i].ip = d->start + i;
        /* A range written over the gateway's own addresses (the config
         * allows it) must never hand them out. */
        d->pool[i].reserved = vn_gw_owns(gw, d->pool[i].ip);
    }
    for (unsigned i = 0; i < c->nhosts; i++) {
        const struct vn_dhcp_host *h = &c->hosts[i];
        struct vn_lease *s = &d->statics[d->nstatic++];
        s->is_static = true;
        s->ip = h->ip;
        s->has_mac = h->has_mac;
        memcpy(s->mac, h->mac, 6);
        vn_strlcpy(s->hostname, h->name, sizeof s->hostname);
        struct vn_lease *p = h->ip ? pool_entry(d, h->ip) : NULL;
        if (p)
            p->reserved = true;
    }
    if (state_dir && state_dir[0]) {
        if (vn_mkdir_p(state_dir)) {
            vn_warn("msg=\"cannot create state directory; DHCP leases kept in memory only\" "
                    "network=%s dir=\"%s\" error=\"%s\"", c->name, state_dir, strerror(errno));
        } else {
            snprintf(d->path, sizeof d->path, "%s/leases-%s.json", state_dir, c->name);
            char lerr[600];
            int n = vn_lease_load(d->path, d->pool, d->npool, d->start, d->statics, d->nstatic,
                                  lerr, sizeof lerr);
            if (n < 0)
                vn_warn("msg=\"DHCP lease file unusable\" network=%s error=\"%s\"", c->name,
                        lerr);
            else if (n > 0)
                vn_info("msg=\"DHCP leases loaded\" network=%s leases=%d file=\"%s\"", c->name, n,
                        d->path);
        }
    }
    /* The switch learns what is bound: reservations with a MAC for good,
     * leases (also those loaded from the file) until they expire. */
    for (unsigned i = 0; i < d->nstatic; i++)
        publish(d, &d->statics[i], true, NULL);
    int64_t now = d->wall_s();
    for (uint32_t i = 0; i < d->npool; i++)
        if (d->pool[i].has_mac && vn_lease_active(&d->pool[i], now))
            publish(d, &d->pool[i], true, NULL);
    return d;
}

void vn_dhcp4_set_clock(struct vn_dhcp4 *d, int64_t (*wall_s)(void))
{
    d->wall_s = wall_s ? wall_s : vn_wall_s;
}

void vn_dhcp4_free(struct vn_dhcp4 *d)
{
    if (!d)
        return;
    vn_timer_cancel(d->gw->loop, &d->save_timer);
    save_now(d);
    free(d->pool);
    free(d);
}

/* ---- lookups ---- */

/* The active lease (or static address) called name, or NULL. */
static const struct vn_lease *by_name(struct vn_dhcp4 *d, const char *name, int64_t now)
{
    for (unsigned i = 0; i < d->nstatic; i++) {
        const struct vn_lease *s = &d->statics[i];
        if (!s->hostname[0] || strcasecmp(s->hostname, name))
            continue;
        if (s->ip)
            return s;
        const struct vn_lease *p = s->has_mac ? pool_by_mac(d, s->mac) : NULL;
        return p && vn_lease_active(p, now) ? p : NULL;
    }
    const struct vn_lease *best = NULL;
    for (uint32_t i = 0; i < d->npool; i++) {
        const struct vn_lease *l = &d->pool[i];
        if (vn_lease_active(l, now) && !strcasecmp(lease_name(d, l), name) &&
            (!best || l->changed > best->changed))
            best = l;
    }
    return best;
}

int vn_dhcp4_lookup_name(struct vn_dhcp4 *d, const char *name, uint32_t *ip)
{
    const struct vn_lease *l = by_name(d, name, d->wall_s());
    if (!l)
        return -1;
    *ip = l->ip;
    return 0;
}

int vn_dhcp4_lookup_addr(struct vn_dhcp4 *d, uint32_t ip, char *name, size_t n)
{
    int64_t now = d->wall_s();
    for (unsigned i = 0; i < d->nstatic; i++)
        if (d->statics[i].ip == ip && d->statics[i].hostname[0]) {
            vn_strlcpy(name, d->statics[i].hostname, n);
            return 0;
        }
    const struct vn_lease *l = pool_entry(d, ip);
    if (!l || !vn_lease_active(l, now))
        return -1;
    const char *h = lease_name(d, l);
    if (!h[0])
        return -1;
    vn_strlcpy(name, h, n);
    return 0;
}

int vn_dhcp4_lookup_mac(struct vn_dhcp4 *d, uint32_t ip, uint8_t mac[6])
{
    for (unsigned i = 0; i < d->nstatic; i++)
        if (d->statics[i].ip == ip && d->statics[i].has_mac) {
            memcpy(mac, d->statics[i].mac, 6);
            return 0;
        }
    const struct vn_lease *l = pool_entry(d, ip);
    if (!l || !l->has_mac || !vn_lease_active(l, d->wall_s()))
        return -1;
    memcpy(mac, l->mac, 6);
    return 0;
}

/* ---- status ---- */

static json_t *lease_json(struct vn_dhcp4 *d, const struct vn_lease *l, int64_t now)
{
    char m[18], a[16];
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "mac", vn_mac_str(l->mac, m), "ip",
                          vn_ip4_str(l->ip, a), "hostname", lease_name(d, l), "state",
                          vn_lease_state_name(l, now), "static", l->is_static);
    if (l->state == VN_LEASE_BOUND || l->state == VN_LEASE_OFFERED)
        json_object_set_new(o, "expires_in",
                            json_integer(l->expires > now ? l->expires - now : 0));
    if (l->state != VN_LEASE_FREE && l->expires > 0) /* wall clock: when it ends or ended */
        json_object_set_new(o, "expires_at", json_integer(l->expires));
    if (l->state != VN_LEASE_FREE && l->changed > 0) /* seconds in its current state */
        json_object_set_new(o, "since", json_integer(now > l->changed ? now - l->changed : 0));
    return o;
}

json_t *vn_dhcp4_leases_json(struct vn_dhcp4 *d)
{
    int64_t now = d->wall_s();
    json_t *a = json_array();
    for (unsigned i = 0; i < d->nstatic; i++) {
        const struct vn_lease *s = &d->statics[i];
        if (!s->has_mac || !s->ip)
            continue;
        json_t *o = lease_json(d, s, now);
        if (s->state == VN_LEASE_FREE)
            json_object_set_new(o, "state", json_string("reserved"));
        json_array_append_new(a, o);
    }
    for (uint32_t i = 0; i < d->npool; i++) {
        const struct vn_lease *l = &d->pool[i];
        if (l->has_mac && l->state != VN_LEASE_FREE) {
            json_t *o = lease_json(d, l, now);
            if (static_by_mac(d, l->mac))
                json_object_set_new(o, "static", json_true());
            json_array_append_new(a, o);
        }
    }
    return a;
}

json_t *vn_dhcp4_stats_json(struct vn_dhcp4 *d)
{
    int64_t now = d->wall_s();
    uint64_t active = 0;
    for (uint32_t i = 0; i < d->npool; i++)
        active += vn_lease_active(&d->pool[i], now);
    for (unsigned i = 0; i < d->nstatic; i++)
        active += vn_lease_active(&d->statics[i], now);
    const struct vn_dhcp4_stats *s = &d->st;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "discover", (json_int_t)s->discover, "offer", (json_int_t)s->offer,
                     "request", (json_int_t)s->request, "ack", (json_int_t)s->ack, "nak",
                     (json_int_t)s->nak, "release", (json_int_t)s->release, "decline",
                     (json_int_t)s->decline, "inform", (json_int_t)s->inform, "pool_exhausted",
                     (json_int_t)s->pool_exhausted, "malformed", (json_int_t)s->malformed,
                     "ignored", (json_int_t)s->ignored, "save_errors",
                     (json_int_t)s->save_errors, "leases_active", (json_int_t)active,
                     "pool_size", (json_int_t)d->npool);
}
