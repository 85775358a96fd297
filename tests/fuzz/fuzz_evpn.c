/* libFuzzer target: the EVPN mirror's netlink side (src/evpn/nl.c, table.c).
 *
 * The input is a stream of netlink messages as the kernel's neighbour
 * socket would deliver them, cut by their nlmsg_len as vnetd cuts a
 * datagram (vn_evpn_nl_walk); every one goes through vn_evpn_nl_parse_neigh() and, when it
 * parses, into a table of two slots (ifindexes 10-12 and 20-22, so small
 * numbers in the input hit them). The first byte drives the rest: bit 0
 * makes the vxlan port refuse every call, bit 1 runs the local-MAC walk
 * between messages, bit 2 wraps the stream in a resync (begin ... end).
 *
 * An independent model of the rules (table.h: a MAC is remote while the
 * vxlan device's self entry with a dst and the bridge's extern_learn entry
 * on the vxlan device exist, the bridge having one entry per MAC, on vx or
 * on the tap; the zero MAC's self entries are the flood list) is kept beside the table, and
 * the vxlan port the table drives is simulated: after every message, when
 * the port accepts everything and nothing was dropped for room, the port
 * holds exactly the model's remote MACs (with their VTEPs) and flood lists;
 * it never gets a second add of a flood VTEP, a delete of something it does
 * not have, a multicast or zero MAC. Parsed messages are checked too: a MAC
 * is 6 bytes, an address 4 or 16. */
#include "core/hash.h"
#include "evpn/nl.h"
#include "evpn/table.h"

#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAXM 128 /* model entries; beyond that the model stops checking */

struct m_mac {
    unsigned slot;
    uint8_t mac[6];
    bool self, mvx, tap;
    struct vn_addr dst;
    bool seen_self, seen_mvx, seen_tap; /* reported during the resync */
};
struct m_flood {
    unsigned slot;
    struct vn_addr a;
    bool seen;
};

static struct {
    struct m_mac m[MAXM];
    unsigned nm;
    struct m_flood f[MAXM];
    unsigned nf;
    bool lost;               /* the model ran out of room: no more comparisons */
    bool resync;
} model;

/* the simulated vxlan port */
static struct {
    struct m_mac m[2 * MAXM];
    unsigned nm;
    struct m_flood f[2 * MAXM];
    unsigned nf;
    bool refuse;
    bool overflow;
} port;

static bool zero(const uint8_t m[6])
{
    return !(m[0] | m[1] | m[2] | m[3] | m[4] | m[5]);
}

static int p_find(unsigned slot, const uint8_t mac[6])
{
    for (unsigned i = 0; i < port.nm; i++)
        if (port.m[i].slot == slot && !memcmp(port.m[i].mac, mac, 6))
            return (int)i;
    return -1;
}

static int p_ffind(unsigned slot, const struct vn_addr *a)
{
    for (unsigned i = 0; i < port.nf; i++)
        if (port.f[i].slot == slot && vn_addr_eq(&port.f[i].a, a))
            return (int)i;
    return -1;
}

static int op_add(void *ctx, unsigned slot, const uint8_t mac[6], const struct vn_addr *v)
{
    (void)ctx;
    if (mac[0] & 1 || zero(mac) || slot >= 2 || !v->family)
        abort();
    if (port.refuse)
        return -1;
    int i = p_find(slot, mac);
    if (i < 0) {
        if (port.nm >= 2 * MAXM) {
            port.overflow = true;
            return -1;
        }
        i = (int)port.nm++;
        port.m[i].slot = slot;
        memcpy(port.m[i].mac, mac, 6);
    }
    port.m[i].dst = *v;
    return 0;
}

static int op_del(void *ctx, unsigned slot, const uint8_t mac[6])
{
    (void)ctx;
    int i = p_find(slot, mac);
    if (i < 0 && !port.overflow)
        abort(); /* deleting what it was never given */
    if (port.refuse || i < 0)
        return -1;
    port.m[i] = port.m[--port.nm];
    return 0;
}

static int op_fadd(void *ctx, unsigned slot, const struct vn_addr *v)
{
    (void)ctx;
    if (slot >= 2 || !v->family)
        abort();
    if (port.refuse)
        return -1;
    if (p_ffind(slot, v) >= 0)
        abort(); /* the same VTEP twice */
    if (port.nf >= 2 * MAXM) {
        port.overflow = true;
        return -1;
    }
    port.f[port.nf++] = (struct m_flood){ .slot = slot, .a = *v };
    return 0;
}

static int op_fdel(void *ctx, unsigned slot, const struct vn_addr *v)
{
    (void)ctx;
    int i = p_ffind(slot, v);
    if (i < 0 && !port.overflow)
        abort();
    if (port.refuse || i < 0)
        return -1;
    port.f[i] = port.f[--port.nf];
    return 0;
}

/* ---- the model ---- */

static const int VX[2] = { 10, 20 }, BR[2] = { 11, 21 }, TAP[2] = { 12, 22 };

static struct m_mac *m_get(unsigned slot, const uint8_t mac[6], bool create)
{
    for (unsigned i = 0; i < model.nm; i++)
        if (model.m[i].slot == slot && !memcmp(model.m[i].mac, mac, 6))
            return &model.m[i];
    if (!create)
        return NULL;
    if (model.nm >= MAXM) {
        model.lost = true;
        return NULL;
    }
    struct m_mac *e = &model.m[model.nm++];
    memset(e, 0, sizeof *e);
    e->slot = slot;
    memcpy(e->mac, mac, 6);
    return e;
}

static void m_event(const struct vn_evpn_neigh *n)
{
    int kind = 0; /* 1 self, 2 master on vx, 3 master on tap */
    unsigned s = 0;
    for (; s < 2 && !kind; s++) {
        if (!n->master && n->ifindex == VX[s])
            kind = 1;
        else if (n->master && n->master == BR[s])
            kind = n->ifindex == VX[s] ? 2 : n->ifindex == TAP[s] ? 3 : 0;
    }
    s--;
    if (!kind || !n->has_mac || (kind == 1 && !n->has_dst))
        return;
    if (kind == 1 && zero(n->mac)) {
        unsigned i = 0;
        while (i < model.nf && !(model.f[i].slot == s && vn_addr_eq(&model.f[i].a, &n->dst)))
            i++;
        if (n->del) {
            if (i < model.nf)
                model.f[i] = model.f[--model.nf];
        } else if (i < model.nf) {
            model.f[i].seen = true;
        } else if (model.nf < MAXM) {
            model.f[model.nf++] = (struct m_flood){ .slot = s, .a = n->dst, .seen = true };
        } else {
            model.lost = true;
        }
        return;
    }
    if (n->mac[0] & 1 || zero(n->mac))
        return;
    struct m_mac *e = m_get(s, n->mac, !n->del);
    if (!e)
        return;
    switch (kind) {
    case 1:
        if (n->del) {
            if (e->self && vn_addr_eq(&e->dst, &n->dst))
                e->self = false;
        } else {
            e->self = true;
            e->dst = n->dst;
            e->seen_self = true;
        }
        break;
    case 2: /* the bridge has one entry per MAC: on vx now, so not on the tap */
        e->mvx = !n->del && (n->flags & NTF_EXT_LEARNED);
        e->seen_mvx = true;
        if (!n->del)
            e->tap = false;
        break;
    case 3:
        e->tap = !n->del;
        e->seen_tap = true;
        if (!n->del)
            e->mvx = false;
        break;
    }
}

static void m_resync_begin(void)
{
    for (unsigned i = 0; i < model.nm; i++)
        model.m[i].seen_self = model.m[i].seen_mvx = model.m[i].seen_tap = false;
    for (unsigned i = 0; i < model.nf; i++)
        model.f[i].seen = false;
}

static void m_resync_end(void)
{
    for (unsigned i = 0; i < model.nm; i++) {
        struct m_mac *e = &model.m[i];
        e->self &= e->seen_self;
        e->mvx &= e->seen_mvx;
        e->tap &= e->seen_tap;
    }
    for (unsigned i = 0; i < model.nf;)
        if (!model.f[i].seen)
            model.f[i] = model.f[--model.nf];
        else
            i++;
}

/* The port holds exactly what the model says it should. */
static void compare(const struct vn_evpn_table *t)
{
    if (model.lost || port.refuse || port.overflow || t->c.full)
        return;
    unsigned want = 0;
    for (unsigned i = 0; i < model.nm; i++) {
        const struct m_mac *e = &model.m[i];
        if (!(e->self && e->mvx && !e->tap))
            continue;
        want++;
        int k = p_find(e->slot, e->mac);
        if (k < 0 || !vn_addr_eq(&port.m[k].dst, &e->dst))
            abort();
    }
    if (want != port.nm || want != t->remote)
        abort();
    if (model.nf != port.nf)
        abort();
    for (unsigned i = 0; i < model.nf; i++)
        if (p_ffind(model.f[i].slot, &model.f[i].a) < 0)
            abort();
}

static uint64_t buf[8192];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    if (!init) {
        vn_hash_init();
        init = true;
    }
    if (size < 1 || size - 1 > sizeof buf)
        return 0;
    uint8_t ctl = data[0];
    memcpy(buf, data + 1, size - 1); /* aligned, as recv() fills vnetd's buffer */
    size_t len = size - 1;
    memset(&model, 0, sizeof model);
    memset(&port, 0, sizeof port);
    port.refuse = ctl & 1;
    struct vn_evpn_table t;
    const struct vn_evpn_ops ops = { NULL, op_add, op_del, op_fadd, op_fdel };
    if (vn_evpn_tab_init(&t, 2, 64, 10000, &ops) < 0)
        return 0;
    for (unsigned s = 0; s < 2; s++)
        vn_evpn_tab_set_ifs(&t, s, VX[s], BR[s], TAP[s]);
    if (ctl & 4) {
        vn_evpn_tab_resync_begin(&t);
        m_resync_begin();
    }
    uint64_t now = 1000;
    const struct nlmsghdr *nlh;
    size_t off = 0;
    while ((nlh = vn_evpn_nl_walk(buf, len, &off))) {
        struct vn_evpn_neigh n;
        int rc = vn_evpn_nl_parse_neigh(nlh, nlh->nlmsg_len, &n);
        if (rc <= 0)
            continue;
        if ((n.has_dst && n.dst.family != AF_INET && n.dst.family != AF_INET6) ||
            (!n.has_dst && n.dst.family))
            abort();
        t.now_s = n.state >> 8; /* the clock, from the input */
        vn_evpn_tab_neigh(&t, &n);
        m_event(&n);
        compare(&t);
        if (ctl & 2) { /* local MACs: this message's MAC, if unicast */
            vn_evpn_tab_walk_begin(&t);
            if (n.has_mac)
                vn_evpn_tab_local(&t, (unsigned)n.ifindex & 1, n.mac, now, n.state & 0xff);
            vn_evpn_tab_walk_end(&t);
            now += 700;
            if (t.mirrored > 1)
                abort(); /* one walk, one MAC */
            compare(&t);
        }
    }
    if (ctl & 4) {
        vn_evpn_tab_resync_end(&t);
        m_resync_end();
        compare(&t);
    }
    /* a last walk without anything: nothing stays mirrored */
    vn_evpn_tab_walk_begin(&t);
    vn_evpn_tab_walk_end(&t);
    if (t.mirrored)
        abort();
    if (t.count > t.max)
        abort();
    vn_evpn_tab_free(&t);
    return 0;
}
