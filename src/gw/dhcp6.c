/* DHCPv6 server of a gateway; see dhcp6.h.
 *
 * Theory of operation: the gateway hands every UDP datagram to port 547
 * (its link-local and service addresses, ff02::1:2) to vn_dhcp6_input().
 * The message is parsed with bounds (dhcp6_msg.h), validated as RFC 8415
 * section 16 asks (a client identifier where one is required; our server
 * identifier on Request, Renew, Release and Decline, none on Solicit,
 * Rebind and Confirm), and answered from the gateway's link-local address
 * to the client's source address and MAC. Relay messages are dropped: the
 * virtual segment has no relays.
 *
 * Stateful leases: the pool is the first VN_DHCP6_POOL_MAX addresses of
 * dhcp6.range (slot i = start + i); one entry per IA_NA (dhcp6_lease.h)
 * is found by its key (DUID, IAID) through a keyed hash index. A new IA's
 * address is chosen by a fixed hash of its key and linear probing over the
 * slots, so a client that comes back (even after a restart without its
 * lease) gets the same address while that slot is free: the first free
 * slot from the home slot, else the least recently used address of a
 * departed client (released or expired), else the oldest pending offer of
 * another client. Offers (Advertise) are not bindings: they hold their
 * address OFFER_HOLD_S and are taken back when the pool or the entry table
 * runs out, so a flood of Solicits from invented DUIDs cannot hold the
 * pool; bound leases of other clients are never taken (NoAddrsAvail,
 * counted). Reservations (dhcp6.hosts with an address) have entries of
 * their own, before the dynamic ones, and their addresses are never in the
 * pool. Expiry is judged lazily against the wall clock; changes are saved
 * by a short timer so a burst of clients costs one write.
 *
 * Other IAs: the server hands out neither temporary addresses (IA_TA) nor
 * prefixes (IA_PD), but answers every such IA of a message beside its
 * IA_NAs, as RFC 8415 asks (18.3.2, 18.3.4, 18.3.5, 18.3.9): the IA with a
 * Status Code of NoAddrsAvail (IA_TA) or NoPrefixAvail (IA_PD) and nothing
 * else, in an Advertise or Reply that still serves the IA_NAs; in the Reply
 * to a Release or Decline, NoBinding (18.3.7, 18.3.8). Renew and Rebind get
 * NoPrefixAvail rather than NoBinding: there will never be a binding, and
 * NoBinding would only send the client back with a Request (18.2.10.1).
 * The parser keeps at most VN_DHCP6_MAX_IA IAs of all kinds (IA_NAs first),
 * so REPLY_MAX holds the largest reply whatever the mix. */
#include "dhcp6.h"

#include "core/hash.h"
#include "core/log.h"
#include "core/util.h"
#include "dhcp4_lease.h"
#include "dhcp6_lease.h"
#include "dhcp6_msg.h"
#include "gateway.h"
#include "pkt/eth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define VN_DHCP6_POOL_MAX 65536u    /* addresses of the range tracked */
#define VN_DHCP6_LEASES_MAX 16384u  /* dynamic entries (offers, leases, remembered) */
#define OFFER_HOLD_S 60             /* an Advertise holds its address this long */
#define DECLINE_QUARANTINE_S 600    /* a declined address is not given out again for */
#define SAVE_DELAY_MS 200           /* lease file writes are coalesced over this */
/* The largest reply: 8 IA_NAs of 5 addresses (a Renew/Rebind listing 4
 * addresses besides its binding: 8 * 156 bytes; an IA_TA or IA_PD takes
 * the place of an IA_NA and is smaller), header and identifiers (4 + 14 +
 * 134), DNS server (20) and the search list of a domain of at most 63
 * characters (69): 1489 bytes (unit test test_largest_reply). */
#define REPLY_MAX 2048

#define SLOT_FREE 0u
#define SLOT_RESERVED UINT32_MAX    /* the gateway's own address or a reservation's */
#define NO_ENTRY UINT32_MAX

struct vn_dhcp6_stats {
    uint64_t rx[VN_DHCP6_RELAY_REPL + 1]; /* received, per message type */
    uint64_t advertise, reply;
    uint64_t malformed, dropped_server_id, dropped_no_client_id, dropped_relay, dropped_other;
    uint64_t no_addrs, ia_ignored, save_errors;
};

struct vn_dhcp6 {
    struct vn_gw *gw;
    bool stateful;
    uint8_t duid[10];            /* DUID-LL: type 3, hardware type 1, the gateway's MAC */
    struct vn_addr start;        /* first pool address */
    uint32_t npool;              /* 0 when stateless */
    uint32_t *slot;              /* npool: SLOT_FREE, SLOT_RESERVED or entry index + 1 */
    struct vn_lease6 *e;         /* nstatic reservations, then the dynamic entries */
    uint32_t nstatic, nent;
    int32_t host_entry[VN_MAX_DHCP_HOSTS]; /* hosts6 index -> its static entry, -1 */
    uint32_t free_head;          /* free dynamic entries: index + 1, chained by next */
    uint32_t *bucket;            /* key index: entry index + 1 */
    uint32_t mask;
    char path[4096];             /* lease file, "" = memory only */
    bool dirty;
    struct vn_timer save_timer;
    int64_t (*wall_s)(void);
    unsigned loaded;
    struct vn_dhcp6_stats st;
};

/* The client a message comes from. */
struct client {
    const uint8_t *duid;
    uint8_t duid_len;
    const uint8_t *mac;          /* the frame's source */
    int host;                    /* dhcp6.hosts index, -1 */
};

/* ---- addresses of the pool ---- */

static struct vn_addr addr_add(const struct vn_addr *a, uint32_t k)
{
    struct vn_addr r = *a;
    uint32_t carry = k;
    for (int i = 15; i >= 0 && carry; i--) {
        uint32_t s = r.a[i] + (carry & 0xff);
        r.a[i] = (uint8_t)s;
        carry = (carry >> 8) + (s >> 8);
    }
    return r;
}

/* b - a when a <= b and the difference fits 32 bits; -1 when b < a, -2 when it is larger. */
static int64_t addr_diff(const struct vn_addr *a, const struct vn_addr *b)
{
    if (memcmp(b->a, a->a, 16) < 0)
        return -1;
    /* 128-bit subtraction, byte by byte */
    uint8_t d[16];
    int borrow = 0;
    for (int i = 15; i >= 0; i--) {
        int v = (int)b->a[i] - (int)a->a[i] - borrow;
        borrow = v < 0;
        d[i] = (uint8_t)(v + (borrow ? 256 : 0));
    }
    for (int i = 0; i < 12; i++)
        if (d[i])
            return -2;
    return (int64_t)vn_get_be32(d + 12);
}

/* The pool slot of addr, or VN_LEASE6_NO_SLOT. */
static uint32_t slot_of(const struct vn_dhcp6 *d, const struct vn_addr *addr)
{
    if (!d->npool || addr->family != AF_INET6)
        return VN_LEASE6_NO_SLOT;
    int64_t k = addr_diff(&d->start, addr);
    return k >= 0 && k < d->npool ? (uint32_t)k : VN_LEASE6_NO_SLOT;
}

/* ---- clients and reservations ---- */

static bool same_duid(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
    return al == bl && al && !memcmp(a, b, al);
}

/* The dhcp6.hosts entry of a client: by DUID first, then by the MAC of its
 * DUID-LL/LLT, else of its frames. -1 if none. */
static int host_of(const struct vn_dhcp6 *d, const uint8_t *duid, size_t len,
                   const uint8_t *frame_mac)
{
    const struct vn_net_conf *c = d->gw->conf;
    for (unsigned i = 0; i < c->nhosts6; i++)
        if (c->hosts6[i].duid_len && same_duid(c->hosts6[i].duid, c->hosts6[i].duid_len, duid, len))
            return (int)i;
    uint8_t m[6];
    const uint8_t *mac = vn_dhcp6_duid_mac(duid, len, m) == 0 ? m : frame_mac;
    if (!mac)
        return -1;
    for (unsigned i = 0; i < c->nhosts6; i++)
        if (!c->hosts6[i].duid_len && c->hosts6[i].has_mac && !memcmp(c->hosts6[i].mac, mac, 6))
            return (int)i;
    return -1;
}

static const char *host_name(const struct vn_dhcp6 *d, int host)
{
    if (host < 0 || (unsigned)host >= d->gw->conf->nhosts6)
        return NULL;
    const char *n = d->gw->conf->hosts6[host].name;
    return n[0] ? n : NULL;
}

/* ---- the key index ---- */

static uint32_t key_hash(const struct vn_dhcp6 *d, const uint8_t *duid, size_t len, uint32_t iaid)
{
    uint8_t k[VN_DHCP6_DUID_MAX + 4];
    memcpy(k, duid, len);
    vn_put_be32(k + len, iaid);
    return (uint32_t)vn_hash(k, len + 4) & d->mask;
}

/* A fixed hash (FNV-1a) of the key: the home slot, the same after a restart. */
static uint32_t home_slot(const struct vn_dhcp6 *d, const uint8_t *duid, size_t len, uint32_t iaid)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ duid[i]) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint8_t)(iaid >> (24 - 8 * i))) * 16777619u;
    return h % d->npool;
}

static void key_link(struct vn_dhcp6 *d, uint32_t idx)
{
    struct vn_lease6 *l = &d->e[idx];
    uint32_t b = key_hash(d, l->duid, l->duid_len, l->iaid);
    l->next = d->bucket[b];
    d->bucket[b] = idx + 1;
}

static void key_unlink(struct vn_dhcp6 *d, uint32_t idx)
{
    struct vn_lease6 *l = &d->e[idx];
    uint32_t *p = &d->bucket[key_hash(d, l->duid, l->duid_len, l->iaid)];
    while (*p && *p != idx + 1)
        p = &d->e[*p - 1].next;
    if (*p)
        *p = l->next;
    l->next = 0;
}

static struct vn_lease6 *key_find(struct vn_dhcp6 *d, const uint8_t *duid, size_t len,
                                  uint32_t iaid)
{
    if (!d->bucket)
        return NULL;
    for (uint32_t i = d->bucket[key_hash(d, duid, len, iaid)]; i; i = d->e[i - 1].next) {
        struct vn_lease6 *l = &d->e[i - 1];
        if (l->iaid == iaid && same_duid(l->duid, l->duid_len, duid, len))
            return l;
    }
    return NULL;
}

static uint32_t index_of(const struct vn_dhcp6 *d, const struct vn_lease6 *l)
{
    return (uint32_t)(l - d->e);
}

/* ---- bindings and the file ---- */

/* Tell the switch's binding table (switch/binding.h) that l's address is
 * bound to its MAC until it expires, or no longer is. Reservations with a
 * MAC are bound for good at start and never unbound. */
static void publish(struct vn_dhcp6 *d, const struct vn_lease6 *l, bool bound)
{
    const struct vn_net_conf *c = d->gw->conf;
    bool fixed = l->is_static && l->host >= 0 && c->hosts6[l->host].has_mac &&
                 !c->hosts6[l->host].duid_len;
    if (fixed || !l->has_mac)
        return;
    if (bound)
        vn_bind_set(&d->gw->net->bind, &l->addr, l->mac, VN_BIND_LEASE, l->expires);
    else
        vn_bind_del(&d->gw->net->bind, &l->addr, l->mac);
}

static void mark_dirty(struct vn_dhcp6 *d)
{
    d->dirty = true;
    if (d->path[0] && !vn_timer_armed(&d->save_timer))
        vn_timer_arm(d->gw->loop, &d->save_timer, SAVE_DELAY_MS);
}

static void save_now(struct vn_dhcp6 *d)
{
    if (!d->path[0] || !d->dirty)
        return;
    char err[512];
    d->dirty = false;
    if (vn_lease6_save(d->path, d->gw->conf->name, d->e, d->nent, d->wall_s(), err, sizeof err)) {
        d->st.save_errors++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"cannot save DHCPv6 leases\" network=%s error=\"%s\"",
                  d->gw->conf->name, err);
    }
}

static void save_timer_cb(struct vn_timer *t)
{
    save_now(VN_CONTAINER_OF(t, struct vn_dhcp6, save_timer));
}

/* ---- the lease table ---- */

/* May another client's entry l be taken at now (a departed client's)? */
static bool reclaimable(const struct vn_lease6 *l, int64_t now)
{
    switch (l->state) {
    case VN_LEASE6_FREE:
    case VN_LEASE6_RELEASED:
        return true;
    default:
        return l->expires <= now;
    }
}

/* Forget dynamic entry idx: out of the key index and its slot, back on the free list. */
static void drop_entry(struct vn_dhcp6 *d, uint32_t idx)
{
    if (idx < d->nstatic)
        return; /* reservations keep their entries */
    struct vn_lease6 *l = &d->e[idx];
    if (l->state == VN_LEASE6_BOUND)
        publish(d, l, false); /* an expired lease may still sit in the binding table */
    if (l->duid_len)
        key_unlink(d, idx);
    if (l->slot != VN_LEASE6_NO_SLOT && d->slot[l->slot] == idx + 1)
        d->slot[l->slot] = SLOT_FREE;
    memset(l, 0, sizeof *l);
    l->host = -1;
    l->slot = VN_LEASE6_NO_SLOT;
    l->next = d->free_head;
    d->free_head = idx + 1;
}

/* The best victim among the dynamic entries for client c: the least
 * recently used reclaimable one, else the oldest pending offer of another
 * client. NO_ENTRY if every entry is a live binding (or c's own). */
static uint32_t victim(struct vn_dhcp6 *d, const struct client *c, int64_t now)
{
    uint32_t lru = NO_ENTRY, offer = NO_ENTRY;
    for (uint32_t i = d->nstatic; i < d->nent; i++) {
        const struct vn_lease6 *l = &d->e[i];
        if (l->state == VN_LEASE6_FREE)
            continue;
        if (reclaimable(l, now)) {
            if (lru == NO_ENTRY || l->changed < d->e[lru].changed)
                lru = i;
        } else if (l->state == VN_LEASE6_OFFERED &&
                   !same_duid(l->duid, l->duid_len, c->duid, c->duid_len) &&
                   (offer == NO_ENTRY || l->changed < d->e[offer].changed)) {
            offer = i;
        }
    }
    return lru != NO_ENTRY ? lru : offer;
}

/* Give entry l (its slot already set) to (c, iaid) as an offer. */
static void assign(struct vn_dhcp6 *d, struct vn_lease6 *l, const struct client *c,
                   uint32_t iaid, int64_t now)
{
    memcpy(l->duid, c->duid, c->duid_len);
    l->duid_len = c->duid_len;
    l->iaid = iaid;
    memcpy(l->mac, c->mac, 6);
    l->has_mac = true;
    l->host = (int16_t)c->host;
    l->state = VN_LEASE6_OFFERED;
    l->expires = now + OFFER_HOLD_S;
    l->changed = now;
    if (!l->is_static)
        key_link(d, index_of(d, l));
}

/* A new pool address for (c, iaid): see the theory of operation. NULL when
 * only live bindings (and c's own offers) are left. */
static struct vn_lease6 *allocate(struct vn_dhcp6 *d, const struct client *c, uint32_t iaid,
                                  int64_t now)
{
    if (!d->npool)
        return NULL;
    uint32_t home = home_slot(d, c->duid, c->duid_len, iaid), free_slot = VN_LEASE6_NO_SLOT;
    uint32_t lru = NO_ENTRY, offer = NO_ENTRY;
    for (uint32_t k = 0; k < d->npool; k++) {
        uint32_t i = (home + k) % d->npool, s = d->slot[i];
        if (s == SLOT_FREE) {
            free_slot = i;
            break;
        }
        if (s == SLOT_RESERVED)
            continue;
        const struct vn_lease6 *l = &d->e[s - 1];
        if (reclaimable(l, now)) {
            if (lru == NO_ENTRY || l->changed < d->e[lru].changed)
                lru = s - 1;
        } else if (l->state == VN_LEASE6_OFFERED &&
                   !same_duid(l->duid, l->duid_len, c->duid, c->duid_len) &&
                   (offer == NO_ENTRY || l->changed < d->e[offer].changed)) {
            offer = s - 1;
        }
    }
    uint32_t idx;
    if (free_slot != VN_LEASE6_NO_SLOT) {
        if (!d->free_head) {
            uint32_t v = victim(d, c, now);
            if (v == NO_ENTRY)
                return NULL;
            drop_entry(d, v);
        }
        idx = d->free_head - 1;
        d->free_head = d->e[idx].next;
        d->e[idx].next = 0;
    } else {
        uint32_t v = lru != NO_ENTRY ? lru : offer;
        if (v == NO_ENTRY)
            return NULL;
        free_slot = d->e[v].slot;
        drop_entry(d, v);
        idx = d->free_head - 1; /* drop_entry put v first on the free list */
        d->free_head = d->e[idx].next;
        d->e[idx].next = 0;
    }
    struct vn_lease6 *l = &d->e[idx];
    l->slot = free_slot;
    l->addr = addr_add(&d->start, free_slot);
    l->is_static = false;
    d->slot[free_slot] = idx + 1;
    assign(d, l, c, iaid, now);
    return l;
}

/* Is reservation entry s free for (c, iaid)? Not while another IA holds it. */
static bool static_free_for(const struct vn_lease6 *s, const struct client *c, uint32_t iaid,
                            int64_t now)
{
    if (!s->duid_len || reclaimable(s, now))
        return true;
    return same_duid(s->duid, s->duid_len, c->duid, c->duid_len) && s->iaid == iaid;
}

/* The entry holding (or last holding) the address of (c, iaid), or NULL. */
static struct vn_lease6 *find(struct vn_dhcp6 *d, const struct client *c, uint32_t iaid)
{
    if (c->host >= 0 && d->host_entry[c->host] >= 0) {
        struct vn_lease6 *s = &d->e[d->host_entry[c->host]];
        if (s->iaid == iaid && same_duid(s->duid, s->duid_len, c->duid, c->duid_len))
            return s;
    }
    return key_find(d, c->duid, c->duid_len, iaid);
}

/* The entry to offer or bind for (c, iaid): its own, its reservation, or a
 * new pool address. NULL: no address (stateless, or nothing left). */
static struct vn_lease6 *lease_for(struct vn_dhcp6 *d, const struct client *c, uint32_t iaid,
                                   int64_t now)
{
    if (!d->stateful)
        return NULL;
    struct vn_lease6 *l = find(d, c, iaid);
    if (c->host >= 0 && d->host_entry[c->host] >= 0) {
        struct vn_lease6 *s = &d->e[d->host_entry[c->host]];
        if (l == s)
            return s;
        if (static_free_for(s, c, iaid, now)) {
            if (l) /* a pool address from before the reservation: given up */
                drop_entry(d, index_of(d, l));
            if (s->state == VN_LEASE6_BOUND && s->duid_len)
                publish(d, s, false);
            assign(d, s, c, iaid, now);
            return s;
        }
    }
    return l ? l : allocate(d, c, iaid, now);
}

/* Make l a binding of its client until now + lease_time. */
static void bind_lease(struct vn_dhcp6 *d, struct vn_lease6 *l, const struct client *c, int64_t now)
{
    if (l->state != VN_LEASE6_BOUND)
        l->changed = now;
    l->state = VN_LEASE6_BOUND;
    l->expires = now + d->gw->conf->dhcp6_lease_time;
    memcpy(l->mac, c->mac, 6);
    l->has_mac = true;
    l->host = (int16_t)c->host;
    vn_gw_neigh_learn(d->gw, &l->addr, c->mac);
    publish(d, l, true);
    mark_dirty(d);
}

/* ---- replies ---- */

struct reply {
    struct vn_dhcp6_out o;
    uint8_t buf[REPLY_MAX];
};

static void reply_start(struct vn_dhcp6 *d, struct reply *r, uint8_t type,
                        const struct vn_dhcp6_msg *m)
{
    vn_dhcp6_out_init(&r->o, r->buf, sizeof r->buf, type, m->xid);
    vn_dhcp6_out_opt(&r->o, VN_D6O_SERVERID, d->duid, sizeof d->duid);
    if (m->has_clientid)
        vn_dhcp6_out_opt(&r->o, VN_D6O_CLIENTID, m->clientid, m->clientid_len);
}

/* The configuration options every Advertise and Reply carries. */
static void add_config(struct vn_dhcp6 *d, struct reply *r)
{
    struct vn_gw *gw = d->gw;
    if (gw->dns && gw->dns6.family == AF_INET6)
        vn_dhcp6_out_opt(&r->o, VN_D6O_DNS_SERVERS, gw->dns6.a, 16);
    vn_dhcp6_out_domain_list(&r->o, gw->conf->domain);
}

static void send_reply(struct vn_dhcp6 *d, struct reply *r, const uint8_t src_mac[6],
                       const struct vn_ipp *ip)
{
    if (vn_gw_send_udp(d->gw, src_mac, &d->gw->ll6, 547, &ip->src, 546, r->buf, r->o.len) != 0)
        return;
    if (r->buf[0] == VN_DHCP6_ADVERTISE)
        d->st.advertise++;
    else
        d->st.reply++;
}

static uint32_t t1_of(const struct vn_dhcp6 *d) { return d->gw->conf->dhcp6_lease_time / 2; }
static uint32_t t2_of(const struct vn_dhcp6 *d)
{
    return (uint32_t)((uint64_t)d->gw->conf->dhcp6_lease_time * 4 / 5);
}

/* IA_NA of l's address with the full lifetimes. */
static void ia_with(struct vn_dhcp6 *d, struct reply *r, uint32_t iaid, const struct vn_lease6 *l)
{
    uint32_t lt = d->gw->conf->dhcp6_lease_time;
    vn_dhcp6_out_ia_na(&r->o, iaid, t1_of(d), t2_of(d), l->addr.a, lt, lt, -1, NULL);
}

static void ia_status(struct reply *r, uint32_t iaid, uint16_t status, const char *msg)
{
    vn_dhcp6_out_ia_status(&r->o, VN_D6O_IA_NA, iaid, status, msg);
}

/* Answer the IA_TAs and IA_PDs of m (see the theory of operation): each
 * with only a status, NoBinding when no_binding, else NoAddrsAvail (IA_TA)
 * or NoPrefixAvail (IA_PD). */
static void other_ias(struct reply *r, const struct vn_dhcp6_msg *m, bool no_binding)
{
    for (unsigned i = 0; i < m->nother; i++) {
        const struct vn_dhcp6_other_ia *x = &m->other[i];
        if (no_binding)
            vn_dhcp6_out_ia_status(&r->o, x->code, x->iaid, VN_D6S_NO_BINDING,
                                   "no binding for this IA");
        else if (x->code == VN_D6O_IA_PD)
            vn_dhcp6_out_ia_status(&r->o, x->code, x->iaid, VN_D6S_NO_PREFIX_AVAIL,
                                   "no prefixes available");
        else
            vn_dhcp6_out_ia_status(&r->o, x->code, x->iaid, VN_D6S_NO_ADDRS_AVAIL,
                                   "no temporary addresses available");
    }
}

/* Whether m asks for prefixes and for no addresses (IA_PDs only). */
static bool prefixes_only(const struct vn_dhcp6_msg *m)
{
    if (m->nia || !m->nother)
        return false;
    for (unsigned i = 0; i < m->nother; i++)
        if (m->other[i].code != VN_D6O_IA_PD)
            return false;
    return true;
}

/* Log (rate-limited) that a client of d asked for what the server never
 * gives: a prefix to delegate or temporary addresses. */
static void log_other_ias(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m, const uint8_t *mac)
{
    if (!m->nother)
        return;
    char ms[18];
    VN_LOG_RL(VN_LOG_INFO, "msg=\"DHCPv6 client asked for a delegated prefix or temporary "
              "addresses; answered NoPrefixAvail/NoAddrsAvail\" network=%s client=%s",
              d->gw->conf->name, vn_mac_str(mac, ms));
}

static void no_addrs(struct vn_dhcp6 *d, const struct client *c)
{
    char ms[18];
    d->st.no_addrs++;
    VN_LOG_RL(VN_LOG_WARN, "msg=\"DHCPv6 has no address for a client\" network=%s client=%s "
              "mode=%s", d->gw->conf->name, vn_mac_str(c->mac, ms),
              d->stateful ? "stateful" : "stateless");
}

static bool on_link(const struct vn_dhcp6 *d, const uint8_t a[16])
{
    struct vn_addr x = { .family = AF_INET6 };
    memcpy(x.a, a, 16);
    return vn_addr_in_prefix(&x, &d->gw->prefix6, 64);
}

/* ---- message handlers ---- */

static void on_solicit(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m, const struct client *c,
                       const uint8_t *src_mac, const struct vn_ipp *ip, int64_t now)
{
    struct vn_lease6 *ls[VN_DHCP6_MAX_IA];
    unsigned got = 0;
    for (unsigned i = 0; i < m->nia; i++) {
        ls[i] = lease_for(d, c, m->ia[i].iaid, now);
        got += ls[i] != NULL;
    }
    /* Rapid Commit (RFC 8415 18.3.1): a Reply that commits what is given;
     * with nothing to give, an Advertise that commits nothing. */
    bool commit = m->rapid_commit && got;
    struct reply r;
    reply_start(d, &r, commit ? VN_DHCP6_REPLY : VN_DHCP6_ADVERTISE, m);
    if (commit)
        vn_dhcp6_out_opt(&r.o, VN_D6O_RAPID_COMMIT, NULL, 0);
    for (unsigned i = 0; i < m->nia; i++) {
        struct vn_lease6 *l = ls[i];
        if (!l) {
            no_addrs(d, c);
            ia_status(&r, m->ia[i].iaid, VN_D6S_NO_ADDRS_AVAIL, "no addresses available");
            continue;
        }
        if (commit) {
            bind_lease(d, l, c, now);
        } else if (!vn_lease6_active(l, now)) {
            if (l->state == VN_LEASE6_BOUND)
                publish(d, l, false); /* expired: out of the binding table */
            l->state = VN_LEASE6_OFFERED;
            l->expires = now + OFFER_HOLD_S;
            l->changed = now;
        }
        ia_with(d, &r, m->ia[i].iaid, l);
    }
    other_ias(&r, m, false);
    log_other_ias(d, m, src_mac);
    /* Nothing to give: besides each IA's own status (RFC 8415 18.3.9), a
     * top-level NoAddrsAvail for clients of RFC 3315 (17.2.2), unless the
     * client asked only for prefixes (its IA_PDs say NoPrefixAvail). */
    if (!got) {
        if (!m->nia && !m->nother)
            no_addrs(d, c);
        if (!prefixes_only(m))
            vn_dhcp6_out_status(&r.o, VN_D6S_NO_ADDRS_AVAIL, "no addresses available");
    }
    add_config(d, &r);
    send_reply(d, &r, src_mac, ip);
}

/* Whether every address the IA lists is on the link. */
static bool ia_on_link(const struct vn_dhcp6 *d, const struct vn_dhcp6_ia *ia)
{
    for (unsigned k = 0; k < ia->naddr; k++)
        if (!on_link(d, ia->addr[k].addr))
            return false;
    return true;
}

static void on_request(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m, const struct client *c,
                       const uint8_t *src_mac, const struct vn_ipp *ip, int64_t now)
{
    struct reply r;
    reply_start(d, &r, VN_DHCP6_REPLY, m);
    for (unsigned i = 0; i < m->nia; i++) {
        const struct vn_dhcp6_ia *ia = &m->ia[i];
        if (!ia_on_link(d, ia)) {
            ia_status(&r, ia->iaid, VN_D6S_NOT_ON_LINK, "address not on this link");
            continue;
        }
        struct vn_lease6 *l = lease_for(d, c, ia->iaid, now);
        if (!l) {
            no_addrs(d, c);
            ia_status(&r, ia->iaid, VN_D6S_NO_ADDRS_AVAIL, "no addresses available");
            continue;
        }
        bind_lease(d, l, c, now);
        ia_with(d, &r, ia->iaid, l);
    }
    other_ias(&r, m, false);
    log_other_ias(d, m, src_mac);
    if (!m->nia && !m->nother && !d->stateful)
        vn_dhcp6_out_status(&r.o, VN_D6S_NO_ADDRS_AVAIL, "no addresses available");
    add_config(d, &r);
    send_reply(d, &r, src_mac, ip);
}

/* Whether the IA lists l's address. */
static bool ia_lists(const struct vn_dhcp6_ia *ia, const struct vn_lease6 *l)
{
    for (unsigned k = 0; k < ia->naddr; k++)
        if (!memcmp(ia->addr[k].addr, l->addr.a, 16))
            return true;
    return false;
}

/* The addresses an IA lists that are not addr, with lifetimes 0 (the
 * client must stop using them). */
static void ia_extend(struct vn_dhcp6 *d, struct reply *r, const struct vn_dhcp6_ia *ia,
                      const struct vn_lease6 *l)
{
    uint8_t h[12];
    vn_put_be32(h, ia->iaid);
    vn_put_be32(h + 4, t1_of(d));
    vn_put_be32(h + 8, t2_of(d));
    size_t save = r->o.len;
    bool before = r->o.overflow;
    r->o.overflow = false;
    size_t off = vn_dhcp6_out_begin(&r->o, VN_D6O_IA_NA, h, sizeof h);
    uint32_t lt = d->gw->conf->dhcp6_lease_time;
    for (int k = -1; k < (int)ia->naddr; k++) {
        const uint8_t *a = k < 0 ? (l ? l->addr.a : NULL) : ia->addr[k].addr;
        if (!a || (k >= 0 && l && !memcmp(a, l->addr.a, 16)))
            continue;
        uint8_t o[24];
        memcpy(o, a, 16);
        vn_put_be32(o + 16, k < 0 ? lt : 0);
        vn_put_be32(o + 20, k < 0 ? lt : 0);
        vn_dhcp6_out_opt(&r->o, VN_D6O_IAADDR, o, sizeof o);
    }
    if (r->o.overflow || off == VN_DHCP6_NO_OPT)
        r->o.len = save;
    else
        vn_dhcp6_out_end(&r->o, off);
    r->o.overflow |= before || off == VN_DHCP6_NO_OPT;
}

/* A binding at the address a Rebind (or a client that lost its server's
 * state) names, when that address of the pool is free for it. */
static struct vn_lease6 *restore(struct vn_dhcp6 *d, const struct client *c,
                                 const struct vn_dhcp6_ia *ia, int64_t now)
{
    if (!d->stateful)
        return NULL;
    for (unsigned k = 0; k < ia->naddr; k++) {
        struct vn_addr a = { .family = AF_INET6 };
        memcpy(a.a, ia->addr[k].addr, 16);
        uint32_t s = slot_of(d, &a);
        if (s == VN_LEASE6_NO_SLOT || d->slot[s] == SLOT_RESERVED)
            continue;
        if (d->slot[s] != SLOT_FREE) {
            uint32_t v = d->slot[s] - 1;
            if (!reclaimable(&d->e[v], now))
                continue;
            drop_entry(d, v);
        }
        if (!d->free_head) {
            uint32_t v = victim(d, c, now);
            if (v == NO_ENTRY)
                return NULL;
            drop_entry(d, v);
        }
        uint32_t idx = d->free_head - 1;
        d->free_head = d->e[idx].next;
        struct vn_lease6 *l = &d->e[idx];
        l->next = 0;
        l->slot = s;
        l->addr = a;
        d->slot[s] = idx + 1;
        assign(d, l, c, ia->iaid, now);
        return l;
    }
    return NULL;
}

static void on_renew(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m, const struct client *c,
                     const uint8_t *src_mac, const struct vn_ipp *ip, int64_t now, bool rebind)
{
    struct reply r;
    reply_start(d, &r, VN_DHCP6_REPLY, m);
    for (unsigned i = 0; i < m->nia; i++) {
        const struct vn_dhcp6_ia *ia = &m->ia[i];
        struct vn_lease6 *l = find(d, c, ia->iaid);
        if (l && l->state == VN_LEASE6_BOUND) { /* expired but nobody took it: extended too */
            bind_lease(d, l, c, now);
            ia_extend(d, &r, ia, l);
            continue;
        }
        if (rebind && !ia_on_link(d, ia)) {
            ia_extend(d, &r, ia, NULL); /* RFC 8415 18.3.5: lifetimes 0 */
            continue;
        }
        if (rebind && d->stateful) {
            /* The client's own entry (offered, released) at an address it
             * names is bound again; else the address it names, if free. */
            if (!l || !ia_lists(ia, l)) {
                if (l && !l->is_static)
                    drop_entry(d, index_of(d, l));
                l = l && l->is_static ? NULL : restore(d, c, ia, now);
            }
            if (l) {
                bind_lease(d, l, c, now);
                ia_extend(d, &r, ia, l);
                continue;
            }
        }
        ia_status(&r, ia->iaid, VN_D6S_NO_BINDING, "no binding for this IA");
    }
    other_ias(&r, m, false);
    add_config(d, &r);
    send_reply(d, &r, src_mac, ip);
}

static void on_release_decline(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m,
                               const struct client *c, const uint8_t *src_mac,
                               const struct vn_ipp *ip, int64_t now, bool decline)
{
    struct reply r;
    reply_start(d, &r, VN_DHCP6_REPLY, m);
    for (unsigned i = 0; i < m->nia; i++) {
        const struct vn_dhcp6_ia *ia = &m->ia[i];
        struct vn_lease6 *l = find(d, c, ia->iaid);
        if (!l || l->state != VN_LEASE6_BOUND || !ia_lists(ia, l)) {
            ia_status(&r, ia->iaid, VN_D6S_NO_BINDING, "no binding for this IA");
            continue;
        }
        publish(d, l, false);
        l->changed = now;
        mark_dirty(d);
        if (!decline || l->is_static) {
            /* released (a reservation cannot be quarantined: it is released
             * too); the client is remembered for next time */
            l->state = VN_LEASE6_RELEASED;
            l->expires = now;
            continue;
        }
        char a[VN_ADDR_STRLEN];
        VN_LOG_RL(VN_LOG_WARN, "msg=\"DHCPv6 address declined by client, quarantined\" "
                  "network=%s ip=%s", d->gw->conf->name, vn_addr_str(&l->addr, a, sizeof a));
        key_unlink(d, index_of(d, l)); /* no client: it must get another address */
        l->duid_len = 0;
        l->has_mac = false;
        l->host = -1;
        l->state = VN_LEASE6_DECLINED;
        l->expires = now + DECLINE_QUARANTINE_S;
    }
    other_ias(&r, m, true);
    vn_dhcp6_out_status(&r.o, VN_D6S_SUCCESS, decline ? "declined" : "released");
    send_reply(d, &r, src_mac, ip);
}

static void on_confirm(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m,
                       const uint8_t *src_mac, const struct vn_ipp *ip)
{
    unsigned n = 0;
    bool ok = true;
    for (unsigned i = 0; i < m->nia; i++) {
        n += m->ia[i].naddr;
        ok &= ia_on_link(d, &m->ia[i]);
    }
    if (!n)
        return; /* RFC 8415 18.3.3: nothing to confirm, no reply */
    struct reply r;
    reply_start(d, &r, VN_DHCP6_REPLY, m);
    if (ok)
        vn_dhcp6_out_status(&r.o, VN_D6S_SUCCESS, "addresses on link");
    else
        vn_dhcp6_out_status(&r.o, VN_D6S_NOT_ON_LINK, "address not on this link");
    send_reply(d, &r, src_mac, ip);
}

static void on_information_request(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m,
                                   const uint8_t *src_mac, const struct vn_ipp *ip)
{
    struct reply r;
    reply_start(d, &r, VN_DHCP6_REPLY, m);
    add_config(d, &r);
    send_reply(d, &r, src_mac, ip);
}

/* RFC 8415 16: which identifiers each message must (not) carry. Returns
 * true when m may be processed; counts why not. */
static bool valid_for(struct vn_dhcp6 *d, const struct vn_dhcp6_msg *m)
{
    bool ours = m->has_serverid && same_duid(m->serverid, m->serverid_len, d->duid, sizeof d->duid);
    switch (m->type) {
    case VN_DHCP6_SOLICIT:
    case VN_DHCP6_REBIND:
    case VN_DHCP6_CONFIRM:
        if (!m->has_clientid)
            break;
        if (m->has_serverid) {
            d->st.dropped_server_id++;
            return false;
        }
        return true;
    case VN_DHCP6_REQUEST:
    case VN_DHCP6_RENEW:
    case VN_DHCP6_RELEASE:
    case VN_DHCP6_DECLINE:
        if (!m->has_clientid)
            break;
        if (!ours) {
            d->st.dropped_server_id++; /* another server's, or none */
            return false;
        }
        return true;
    case VN_DHCP6_INFORMATION_REQUEST:
        if (m->has_serverid && !ours) {
            d->st.dropped_server_id++;
            return false;
        }
        if (m->nia || m->ia_dropped || m->has_other_ia) {
            d->st.malformed++; /* an IA option does not belong here */
            return false;
        }
        return true;
    default:
        d->st.dropped_other++; /* a server's message type, or unknown */
        return false;
    }
    d->st.dropped_no_client_id++;
    return false;
}

void vn_dhcp6_input(struct vn_dhcp6 *d, const uint8_t src_mac[6], const struct vn_ipp *ip,
                    const struct vn_udp *u)
{
    struct vn_dhcp6_msg m;
    if (ip->family != AF_INET6 || vn_mac_is_multicast(src_mac) || vn_mac_is_zero(src_mac) ||
        ip->src.a[0] == 0xff || !memcmp(ip->src.a, (uint8_t[16]){ 0 }, 16) ||
        vn_dhcp6_parse(u->data, u->dlen, &m)) {
        d->st.malformed++;
        VN_LOG_RL(VN_LOG_DEBUG, "msg=\"malformed DHCPv6 message dropped\" network=%s",
                  d->gw->conf->name);
        return;
    }
    if (m.type < VN_ARRAY_LEN(d->st.rx))
        d->st.rx[m.type]++;
    if (m.type == VN_DHCP6_RELAY_FORW || m.type == VN_DHCP6_RELAY_REPL) {
        d->st.dropped_relay++; /* no relays on a segment we own */
        return;
    }
    if (!valid_for(d, &m))
        return;
    d->st.ia_ignored += m.ia_dropped;
    struct client c = { m.clientid, m.clientid_len, src_mac, -1 };
    if (m.has_clientid && d->stateful)
        c.host = host_of(d, m.clientid, m.clientid_len, src_mac);
    int64_t now = d->wall_s();
    switch (m.type) {
    case VN_DHCP6_SOLICIT:
        on_solicit(d, &m, &c, src_mac, ip, now);
        break;
    case VN_DHCP6_REQUEST:
        on_request(d, &m, &c, src_mac, ip, now);
        break;
    case VN_DHCP6_RENEW:
    case VN_DHCP6_REBIND:
        on_renew(d, &m, &c, src_mac, ip, now, m.type == VN_DHCP6_REBIND);
        break;
    case VN_DHCP6_RELEASE:
    case VN_DHCP6_DECLINE:
        on_release_decline(d, &m, &c, src_mac, ip, now, m.type == VN_DHCP6_DECLINE);
        break;
    case VN_DHCP6_CONFIRM:
        on_confirm(d, &m, src_mac, ip);
        break;
    case VN_DHCP6_INFORMATION_REQUEST:
        on_information_request(d, &m, src_mac, ip);
        break;
    default:
        break;
    }
}

/* ---- life cycle ---- */

uint32_t vn_dhcp6_bindings_max(const struct vn_net_conf *c)
{
    if (c->dhcp6_mode != VN_DHCP6_STATEFUL)
        return 0;
    int64_t n = addr_diff(&c->dhcp6_start, &c->dhcp6_end);
    if (n == -1)
        return 0;
    uint64_t size = n < 0 ? VN_DHCP6_POOL_MAX : (uint64_t)n + 1;
    size = VN_MIN(size, (uint64_t)VN_DHCP6_POOL_MAX);
    return (uint32_t)VN_MIN(size, (uint64_t)VN_DHCP6_LEASES_MAX);
}

/* A lease from the file: into its reservation, else its pool slot. */
static void load_one(void *ctx, const struct vn_lease6 *rec)
{
    struct vn_dhcp6 *d = ctx;
    int host = host_of(d, rec->duid, rec->duid_len, rec->has_mac ? rec->mac : NULL);
    struct vn_lease6 *l = NULL;
    if (host >= 0 && d->host_entry[host] >= 0) {
        struct vn_lease6 *s = &d->e[d->host_entry[host]];
        if (vn_addr_eq(&s->addr, &rec->addr) && !s->duid_len)
            l = s;
    }
    uint32_t slot = VN_LEASE6_NO_SLOT;
    if (!l) {
        slot = slot_of(d, &rec->addr);
        if (slot == VN_LEASE6_NO_SLOT || d->slot[slot] != SLOT_FREE || !d->free_head ||
            key_find(d, rec->duid, rec->duid_len, rec->iaid))
            return; /* the configuration changed, or a duplicate: no longer ours */
        uint32_t idx = d->free_head - 1;
        d->free_head = d->e[idx].next;
        l = &d->e[idx];
        d->slot[slot] = idx + 1;
    }
    bool is_static = l->is_static;
    struct vn_addr addr = l->is_static ? l->addr : rec->addr;
    *l = *rec;
    l->is_static = is_static;
    l->addr = addr;
    l->host = (int16_t)host;
    l->slot = is_static ? VN_LEASE6_NO_SLOT : slot;
    l->next = 0;
    if (!is_static)
        key_link(d, index_of(d, l));
    d->loaded++;
}

static int setup_pool(struct vn_dhcp6 *d, char *err, size_t errlen)
{
    struct vn_gw *gw = d->gw;
    const struct vn_net_conf *c = gw->conf;
    char a[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN];
    int64_t n = addr_diff(&c->dhcp6_start, &c->dhcp6_end);
    if (c->dhcp6_start.family != AF_INET6 || c->dhcp6_end.family != AF_INET6 || n == -1 ||
        !vn_addr_in_prefix(&c->dhcp6_start, &gw->prefix6, 64) ||
        !vn_addr_in_prefix(&c->dhcp6_end, &gw->prefix6, 64)) {
        snprintf(err, errlen, "network %s: dhcp6.range %s-%s is not a range inside subnet6",
                 c->name, vn_addr_str(&c->dhcp6_start, a, sizeof a),
                 vn_addr_str(&c->dhcp6_end, b, sizeof b));
        return -1;
    }
    d->start = c->dhcp6_start;
    d->npool = n < 0 || n >= VN_DHCP6_POOL_MAX ? VN_DHCP6_POOL_MAX : (uint32_t)n + 1;
    uint32_t ndyn = vn_dhcp6_bindings_max(c);
    for (unsigned i = 0; i < c->nhosts6; i++)
        d->nstatic += c->hosts6[i].ip.family == AF_INET6;
    d->nent = d->nstatic + ndyn;
    uint32_t nb = 1;
    while (nb < 2 * ndyn)
        nb <<= 1;
    d->mask = nb - 1;
    d->slot = calloc(d->npool, sizeof *d->slot);
    d->e = calloc(d->nent, sizeof *d->e);
    d->bucket = calloc(nb, sizeof *d->bucket);
    if (!d->slot || !d->e || !d->bucket) {
        snprintf(err, errlen, "network %s: out of memory for %u DHCPv6 leases", c->name, ndyn);
        return -1;
    }
    for (uint32_t i = 0; i < d->npool; i++) {
        struct vn_addr x = addr_add(&d->start, i);
        if (vn_gw_owns_addr(gw, &x)) /* a range over the gateway's own addresses */
            d->slot[i] = SLOT_RESERVED;
    }
    uint32_t k = 0;
    for (unsigned i = 0; i < c->nhosts6; i++) {
        const struct vn_dhcp6_host *h = &c->hosts6[i];
        if (h->ip.family != AF_INET6)
            continue;
        struct vn_lease6 *s = &d->e[k];
        s->is_static = true;
        s->addr = h->ip;
        s->host = (int16_t)i;
        s->slot = VN_LEASE6_NO_SLOT;
        if (h->has_mac) { /* the binding table knows the MAC before the client asks */
            memcpy(s->mac, h->mac, 6);
            s->has_mac = true;
        }
        d->host_entry[i] = (int32_t)k++;
        uint32_t sl = slot_of(d, &h->ip);
        if (sl != VN_LEASE6_NO_SLOT)
            d->slot[sl] = SLOT_RESERVED;
    }
    for (uint32_t i = d->nent; i > d->nstatic; i--) {
        struct vn_lease6 *l = &d->e[i - 1];
        l->host = -1;
        l->slot = VN_LEASE6_NO_SLOT;
        l->next = d->free_head;
        d->free_head = i;
    }
    return 0;
}

struct vn_dhcp6 *vn_dhcp6_new(struct vn_gw *gw, const char *state_dir, char *err, size_t errlen)
{
    const struct vn_net_conf *c = gw->conf;
    struct vn_dhcp6 *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "network %s: out of memory for DHCPv6", c->name);
        return NULL;
    }
    d->gw = gw;
    d->wall_s = vn_wall_s;
    d->stateful = c->dhcp6_mode == VN_DHCP6_STATEFUL;
    vn_put_be16(d->duid, VN_DUID_LL);
    vn_put_be16(d->duid + 2, 1);
    memcpy(d->duid + 4, gw->mac, 6);
    for (unsigned i = 0; i < VN_MAX_DHCP_HOSTS; i++)
        d->host_entry[i] = -1;
    vn_timer_init(&d->save_timer, save_timer_cb);
    if (d->stateful && setup_pool(d, err, errlen)) {
        vn_dhcp6_free(d);
        return NULL;
    }
    if (d->stateful && state_dir && state_dir[0]) {
        if (vn_mkdir_p(state_dir)) {
            vn_warn("msg=\"cannot create state directory; DHCPv6 leases kept in memory only\" "
                    "network=%s dir=\"%s\" error=\"%s\"", c->name, state_dir, strerror(errno));
        } else {
            snprintf(d->path, sizeof d->path, "%s/leases6-%s.json", state_dir, c->name);
            char lerr[600];
            if (vn_lease6_load(d->path, d->wall_s(), load_one, d, lerr, sizeof lerr) < 0)
                vn_warn("msg=\"DHCPv6 lease file unusable\" network=%s error=\"%s\"", c->name,
                        lerr);
            else if (d->loaded)
                vn_info("msg=\"DHCPv6 leases loaded\" network=%s leases=%u file=\"%s\"", c->name,
                        d->loaded, d->path);
        }
    }
    /* The switch learns what is bound: reservations with a MAC for good,
     * leases (also those loaded from the file) until they expire. */
    for (uint32_t i = 0; i < d->nstatic; i++) {
        const struct vn_lease6 *s = &d->e[i];
        const struct vn_dhcp6_host *h = &c->hosts6[s->host];
        if (h->has_mac && !h->duid_len)
            vn_bind_set(&gw->net->bind, &s->addr, h->mac, VN_BIND_STATIC, 0);
    }
    int64_t now = d->wall_s();
    for (uint32_t i = 0; i < d->nent; i++)
        if (d->e[i].duid_len && vn_lease6_active(&d->e[i], now))
            publish(d, &d->e[i], true);
    return d;
}

void vn_dhcp6_set_clock(struct vn_dhcp6 *d, int64_t (*wall_s)(void))
{
    d->wall_s = wall_s ? wall_s : vn_wall_s;
}

void vn_dhcp6_free(struct vn_dhcp6 *d)
{
    if (!d)
        return;
    vn_timer_cancel(d->gw->loop, &d->save_timer);
    save_now(d);
    free(d->slot);
    free(d->e);
    free(d->bucket);
    free(d);
}

/* ---- lookups ---- */

int vn_dhcp6_lookup_name(struct vn_dhcp6 *d, const char *name, struct vn_addr *out)
{
    const struct vn_net_conf *c = d->gw->conf;
    int64_t now = d->wall_s();
    for (unsigned i = 0; i < c->nhosts6; i++) {
        const struct vn_dhcp6_host *h = &c->hosts6[i];
        if (!h->name[0] || strcasecmp(h->name, name))
            continue;
        if (h->ip.family == AF_INET6 && d->stateful) {
            *out = h->ip;
            return 0;
        }
        const struct vn_lease6 *best = NULL;
        for (uint32_t k = d->nstatic; k < d->nent; k++) {
            const struct vn_lease6 *l = &d->e[k];
            if (l->host == (int)i && vn_lease6_active(l, now) &&
                (!best || l->changed > best->changed))
                best = l;
        }
        if (best) {
            *out = best->addr;
            return 0;
        }
    }
    return -1;
}

const char *vn_dhcp6_name_of(struct vn_dhcp6 *d, const struct vn_addr *addr)
{
    if (!d->stateful || addr->family != AF_INET6)
        return NULL;
    for (uint32_t i = 0; i < d->nstatic; i++)
        if (vn_addr_eq(&d->e[i].addr, addr))
            return host_name(d, d->e[i].host);
    uint32_t s = slot_of(d, addr);
    if (s == VN_LEASE6_NO_SLOT || d->slot[s] == SLOT_FREE || d->slot[s] == SLOT_RESERVED)
        return NULL;
    const struct vn_lease6 *l = &d->e[d->slot[s] - 1];
    return vn_lease6_active(l, d->wall_s()) ? host_name(d, l->host) : NULL;
}

/* ---- status ---- */

static json_t *lease_json(struct vn_dhcp6 *d, const struct vn_lease6 *l, int64_t now)
{
    char a[VN_ADDR_STRLEN], m[18], du[2 * VN_DHCP6_DUID_MAX + 1];
    const char *name = host_name(d, l->host);
    json_t *o = json_pack("{s:i, s:s, s:s, s:s, s:b}", "family", 6, "ip",
                          vn_addr_str(&l->addr, a, sizeof a), "hostname", name ? name : "",
                          "state", vn_lease6_state_name(l, now), "static",
                          l->is_static || l->host >= 0);
    json_object_set_new(o, "mac", l->has_mac ? json_string(vn_mac_str(l->mac, m)) : json_null());
    if (l->duid_len) {
        json_object_set_new(o, "duid", json_string(vn_duid_hex(l->duid, l->duid_len, du)));
        json_object_set_new(o, "iaid", json_integer((json_int_t)l->iaid));
    }
    if (l->state == VN_LEASE6_BOUND || l->state == VN_LEASE6_OFFERED)
        json_object_set_new(o, "expires_in",
                            json_integer(l->expires > now ? l->expires - now : 0));
    if (l->state != VN_LEASE6_FREE && l->expires > 0)
        json_object_set_new(o, "expires_at", json_integer(l->expires));
    if (l->state != VN_LEASE6_FREE && l->changed > 0)
        json_object_set_new(o, "since", json_integer(now > l->changed ? now - l->changed : 0));
    return o;
}

json_t *vn_dhcp6_leases_json(struct vn_dhcp6 *d)
{
    int64_t now = d->wall_s();
    json_t *arr = json_array();
    for (uint32_t i = 0; i < d->nent; i++) {
        const struct vn_lease6 *l = &d->e[i];
        if (l->is_static && l->state == VN_LEASE6_FREE) {
            const struct vn_dhcp6_host *h = &d->gw->conf->hosts6[l->host];
            json_t *o = lease_json(d, l, now);
            json_object_set_new(o, "state", json_string("reserved"));
            if (h->duid_len) {
                char du[2 * VN_DHCP6_DUID_MAX + 1];
                json_object_set_new(o, "duid", json_string(vn_duid_hex(h->duid, h->duid_len, du)));
            }
            json_array_append_new(arr, o);
        } else if (l->state != VN_LEASE6_FREE) {
            json_array_append_new(arr, lease_json(d, l, now));
        }
    }
    return arr;
}

json_t *vn_dhcp6_stats_json(struct vn_dhcp6 *d)
{
    int64_t now = d->wall_s();
    uint64_t active = 0;
    for (uint32_t i = 0; i < d->nent; i++)
        active += d->e[i].duid_len && vn_lease6_active(&d->e[i], now);
    const struct vn_dhcp6_stats *s = &d->st;
    json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "mode",
                          d->stateful ? "stateful" : "stateless", "solicit",
                          (json_int_t)s->rx[VN_DHCP6_SOLICIT], "request",
                          (json_int_t)s->rx[VN_DHCP6_REQUEST], "confirm",
                          (json_int_t)s->rx[VN_DHCP6_CONFIRM], "renew",
                          (json_int_t)s->rx[VN_DHCP6_RENEW], "rebind",
                          (json_int_t)s->rx[VN_DHCP6_REBIND], "release",
                          (json_int_t)s->rx[VN_DHCP6_RELEASE], "decline",
                          (json_int_t)s->rx[VN_DHCP6_DECLINE], "information_request",
                          (json_int_t)s->rx[VN_DHCP6_INFORMATION_REQUEST], "relay_forw",
                          (json_int_t)s->rx[VN_DHCP6_RELAY_FORW], "advertise",
                          (json_int_t)s->advertise);
    json_t *p = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "reply",
                          (json_int_t)s->reply, "malformed", (json_int_t)s->malformed,
                          "dropped_server_id", (json_int_t)s->dropped_server_id,
                          "dropped_no_client_id", (json_int_t)s->dropped_no_client_id,
                          "dropped_relay", (json_int_t)s->dropped_relay, "dropped_other",
                          (json_int_t)s->dropped_other, "no_addrs", (json_int_t)s->no_addrs,
                          "ia_ignored", (json_int_t)s->ia_ignored, "save_errors",
                          (json_int_t)s->save_errors, "leases_active", (json_int_t)active,
                          "pool_size", (json_int_t)d->npool);
    json_object_update(o, p);
    json_decref(p);
    return o;
}
