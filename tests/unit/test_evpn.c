/* Unit tests of the EVPN mirror (src/evpn/): the parser of bridge neighbour
 * messages (every field, other families and types, every malformed
 * attribute) and the walk over a datagram; the table (a remote MAC needs both of zebra's entries, a
 * changed VTEP, a MAC that moved here, the flood list, failures counted and
 * retried, a resync sweeping what the dump no longer reports, a full table,
 * local MACs written at once, a second later and then every refresh,
 * forgotten after a walk without them, not claimed back from the fabric
 * until seen again, the bridge entry moving between the tap and vx); and the evpn keys: defaults, every
 * bad value with its file and line, the printed round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "conf/config.h"
#include "core/hash.h"
#include "evpn/nl.h"
#include "evpn/table.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AF_BRIDGE
#define AF_BRIDGE 7
#endif

static const uint8_t M1[6] = { 0x02, 0, 0, 0, 0, 1 }, M2[6] = { 0x02, 0, 0, 0, 0, 2 },
                     ZERO[6] = { 0 }, MCAST[6] = { 0x01, 0, 0x5e, 0, 0, 1 };

static struct vn_addr A4(const char *s)
{
    struct vn_addr a = { .family = AF_INET };
    inet_pton(AF_INET, s, a.a);
    return a;
}

/* ---- the parser ---- */

static uint64_t msgbuf[1024]; /* aligned */

/* A neighbour message: family, ifindex, flags; mac/dst/master when given
 * (dst: 4 or 16 bytes of dstlen). Returns its length. */
static size_t neigh(uint16_t type, int family, int ifindex, uint8_t flags, const uint8_t *mac,
                    size_t maclen, const void *dst, size_t dstlen, int master)
{
    memset(msgbuf, 0, sizeof msgbuf);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf);
    nlh->nlmsg_type = type;
    struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
    ndm->ndm_family = (uint8_t)family;
    ndm->ndm_ifindex = ifindex;
    ndm->ndm_flags = flags;
    ndm->ndm_state = NUD_REACHABLE;
    if (mac)
        mnl_attr_put(nlh, NDA_LLADDR, maclen, mac);
    if (dst)
        mnl_attr_put(nlh, NDA_DST, dstlen, dst);
    if (master)
        mnl_attr_put_u32(nlh, NDA_MASTER, (uint32_t)master);
    return nlh->nlmsg_len;
}

static void test_parse(void **state)
{
    (void)state;
    struct vn_evpn_neigh n;
    struct vn_addr a = A4("192.0.2.2");
    size_t len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, NTF_SELF | NTF_EXT_LEARNED, M1, 6, a.a, 4, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), 1);
    assert_false(n.del);
    assert_int_equal(n.ifindex, 7);
    assert_int_equal(n.master, 0);
    assert_int_equal(n.flags, NTF_SELF | NTF_EXT_LEARNED);
    assert_true(n.has_mac && n.has_dst);
    assert_memory_equal(n.mac, M1, 6);
    assert_true(vn_addr_eq(&n.dst, &a));
    /* a bridge's entry on a port, deleted; an IPv6 VTEP */
    len = neigh(RTM_DELNEIGH, AF_BRIDGE, 7, 0, M2, 6, NULL, 0, 9);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), 1);
    assert_true(n.del && !n.has_dst);
    assert_int_equal(n.master, 9);
    uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 };
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M2, 6, v6, 16, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), 1);
    assert_int_equal(n.dst.family, AF_INET6);
    assert_memory_equal(n.dst.a, v6, 16);
    /* not ours: IPv4 neighbours, links */
    len = neigh(RTM_NEWNEIGH, AF_INET, 7, 0, M1, 6, a.a, 4, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), 0);
    len = neigh(RTM_NEWLINK, AF_BRIDGE, 7, 0, M1, 6, NULL, 0, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), 0);
    /* malformed: a MAC or address of the wrong size, a short header, an
     * attribute running past the message, a message longer than the buffer */
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 5, NULL, 0, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), -1);
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 6, a.a, 3, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), -1);
    struct nlmsghdr *nlh = (struct nlmsghdr *)msgbuf;
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 6, NULL, 0, 0);
    nlh->nlmsg_len = sizeof *nlh + 4;
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, nlh->nlmsg_len, &n), -1);
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 6, NULL, 0, 0);
    struct nlattr *at = (struct nlattr *)((uint8_t *)msgbuf + MNL_NLMSG_HDRLEN +
                                          MNL_ALIGN(sizeof(struct ndmsg)));
    at->nla_len = 200;
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), -1);
    at->nla_len = 2;
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len, &n), -1);
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 6, NULL, 0, 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, len - 4, &n), 0);
    assert_int_equal(vn_evpn_nl_parse_neigh(msgbuf, 3, &n), 0);
    /* the walk over a datagram: whole messages only, never one whose length
     * does not fit (libmnl's mnl_nlmsg_ok takes one above 2^31) */
    len = neigh(RTM_NEWNEIGH, AF_BRIDGE, 7, 0, M1, 6, NULL, 0, 0);
    uint64_t two[128];
    memcpy(two, msgbuf, len);
    memcpy((uint8_t *)two + MNL_ALIGN(len), msgbuf, len);
    size_t off = 0, total = MNL_ALIGN(len) + len;
    assert_ptr_equal(vn_evpn_nl_walk(two, total, &off), (void *)two);
    assert_ptr_equal(vn_evpn_nl_walk(two, total, &off), (uint8_t *)two + MNL_ALIGN(len));
    assert_null(vn_evpn_nl_walk(two, total, &off));
    off = 0;
    assert_non_null(vn_evpn_nl_walk(two, total - 1, &off));
    assert_null(vn_evpn_nl_walk(two, total - 1, &off)); /* the second is cut short */
    uint32_t huge = 0xf9000030u, tiny = 8;
    memcpy(two, &huge, 4); /* nlmsg_len comes first */
    off = 0;
    assert_null(vn_evpn_nl_walk(two, total, &off));
    memcpy(two, &tiny, 4);
    assert_null(vn_evpn_nl_walk(two, total, &off));
    /* the dump request */
    char req[64];
    size_t rl = vn_evpn_nl_dump_request(req, sizeof req, 42);
    struct nlmsghdr *r = (struct nlmsghdr *)req;
    assert_int_equal(rl, r->nlmsg_len);
    assert_int_equal(r->nlmsg_type, RTM_GETNEIGH);
    assert_int_equal(r->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    assert_int_equal(((struct ndmsg *)mnl_nlmsg_get_payload(r))->ndm_family, AF_BRIDGE);
    assert_int_equal(vn_evpn_nl_dump_request(req, 8, 1), 0);
}

/* ---- the table ---- */

enum { VX = 10, BR = 11, TAP = 12, VX2 = 20, BR2 = 21, TAP2 = 22 };

struct call {
    char op;                /* a(dd), d(el), f(lood add), u(nflood) */
    unsigned slot;
    uint8_t mac[6];
    struct vn_addr vtep;
};

static struct {
    struct call c[64];
    unsigned n;
    int fail;               /* the next calls fail */
} rec;

static int rec_call(char op, unsigned slot, const uint8_t *mac, const struct vn_addr *v)
{
    assert_true(rec.n < 64);
    struct call *c = &rec.c[rec.n++];
    memset(c, 0, sizeof *c);
    c->op = op;
    c->slot = slot;
    if (mac)
        memcpy(c->mac, mac, 6);
    if (v)
        c->vtep = *v;
    return rec.fail ? -1 : 0;
}

static int r_add(void *ctx, unsigned s, const uint8_t mac[6], const struct vn_addr *v)
{
    (void)ctx;
    return rec_call('a', s, mac, v);
}
static int r_del(void *ctx, unsigned s, const uint8_t mac[6])
{
    (void)ctx;
    return rec_call('d', s, mac, NULL);
}
static int r_fadd(void *ctx, unsigned s, const struct vn_addr *v)
{
    (void)ctx;
    return rec_call('f', s, NULL, v);
}
static int r_fdel(void *ctx, unsigned s, const struct vn_addr *v)
{
    (void)ctx;
    return rec_call('u', s, NULL, v);
}

static const struct vn_evpn_ops OPS = { NULL, r_add, r_del, r_fadd, r_fdel };

/* Feed an event: kind s(elf), m(aster on vx, extern_learn), p (master on vx,
 * plain), t(ap master); del; mac; dst for self. */
static void ev(struct vn_evpn_table *t, char kind, bool del, const uint8_t mac[6], const char *dst,
               int slot)
{
    struct vn_evpn_neigh n = { .del = del, .has_mac = true };
    memcpy(n.mac, mac, 6);
    int vx = slot ? VX2 : VX, br = slot ? BR2 : BR, tap = slot ? TAP2 : TAP;
    switch (kind) {
    case 's':
        n.ifindex = vx;
        n.flags = NTF_SELF | NTF_EXT_LEARNED;
        n.has_dst = dst != NULL;
        if (dst)
            n.dst = A4(dst);
        break;
    case 'm':
    case 'p':
        n.ifindex = vx;
        n.master = br;
        n.flags = kind == 'm' ? NTF_EXT_LEARNED : 0;
        break;
    case 't':
        n.ifindex = tap;
        n.master = br;
        break;
    }
    vn_evpn_tab_neigh(t, &n);
}

static void expect(unsigned i, char op, unsigned slot, const uint8_t *mac, const char *vtep)
{
    assert_true(i < rec.n);
    assert_int_equal(rec.c[i].op, op);
    assert_int_equal(rec.c[i].slot, slot);
    if (mac)
        assert_memory_equal(rec.c[i].mac, mac, 6);
    if (vtep) {
        struct vn_addr a = A4(vtep);
        assert_true(vn_addr_eq(&rec.c[i].vtep, &a));
    }
}

static void setup_tab(struct vn_evpn_table *t, uint32_t max)
{
    vn_hash_init();
    memset(&rec, 0, sizeof rec);
    assert_int_equal(vn_evpn_tab_init(t, 2, max, 10000, &OPS), 0);
    vn_evpn_tab_set_ifs(t, 0, VX, BR, TAP);
    vn_evpn_tab_set_ifs(t, 1, VX2, BR2, TAP2);
}

static void test_remote_macs(void **state)
{
    (void)state;
    struct vn_evpn_table t;
    setup_tab(&t, 64);
    /* zebra's self entry alone is not a remote MAC; with the bridge's it is */
    ev(&t, 's', false, M1, "192.0.2.2", 0);
    assert_int_equal(rec.n, 0);
    ev(&t, 'p', false, M1, NULL, 0); /* learned on vx, not zebra's: still not */
    assert_int_equal(rec.n, 0);
    ev(&t, 'm', false, M1, NULL, 0);
    assert_int_equal(rec.n, 1);
    expect(0, 'a', 0, M1, "192.0.2.2");
    assert_int_equal(t.remote, 1);
    /* the same again: nothing; another VTEP: replaced */
    ev(&t, 's', false, M1, "192.0.2.2", 0);
    ev(&t, 'm', false, M1, NULL, 0);
    assert_int_equal(rec.n, 1);
    ev(&t, 's', false, M1, "192.0.2.3", 0);
    expect(1, 'a', 0, M1, "192.0.2.3");
    /* the MAC moved here: the bridge has it on the tap, zebra's self entry stays */
    ev(&t, 't', false, M1, NULL, 0);
    expect(2, 'd', 0, M1, NULL);
    assert_int_equal(t.remote, 0);
    ev(&t, 'm', true, M1, NULL, 0);
    assert_int_equal(rec.n, 3);
    /* and away again: remote once more */
    ev(&t, 't', true, M1, NULL, 0);
    ev(&t, 'm', false, M1, NULL, 0);
    expect(3, 'a', 0, M1, "192.0.2.3");
    /* a deletion of another dst is not this entry's; its own is */
    ev(&t, 's', true, M1, "192.0.2.9", 0);
    assert_int_equal(rec.n, 4);
    ev(&t, 's', true, M1, "192.0.2.3", 0);
    expect(4, 'd', 0, M1, NULL);
    ev(&t, 'm', true, M1, NULL, 0);
    assert_int_equal(t.count, 0); /* nothing left of it */
    /* slots are apart: the same MAC in slot 1 */
    ev(&t, 's', false, M1, "192.0.2.4", 1);
    ev(&t, 'm', false, M1, NULL, 1);
    expect(5, 'a', 1, M1, "192.0.2.4");
    /* not ours: another device, a multicast MAC, a self entry without dst */
    uint64_t ign = t.c.ignored;
    struct vn_evpn_neigh n = { .ifindex = 99, .has_mac = true, .has_dst = true };
    vn_evpn_tab_neigh(&t, &n);
    ev(&t, 's', false, MCAST, "192.0.2.2", 0);
    ev(&t, 's', false, M2, NULL, 0);
    assert_int_equal(t.c.ignored, ign + 3);
    assert_int_equal(rec.n, 6);
    vn_evpn_tab_free(&t);
}

static void test_flood_and_failures(void **state)
{
    (void)state;
    struct vn_evpn_table t;
    setup_tab(&t, 64);
    ev(&t, 's', false, ZERO, "192.0.2.2", 0);
    ev(&t, 's', false, ZERO, "192.0.2.3", 0);
    ev(&t, 's', false, ZERO, "192.0.2.2", 0);
    assert_int_equal(rec.n, 2);
    expect(0, 'f', 0, NULL, "192.0.2.2");
    expect(1, 'f', 0, NULL, "192.0.2.3");
    assert_int_equal(t.slots[0].nflood, 2);
    ev(&t, 's', true, ZERO, "192.0.2.2", 0);
    expect(2, 'u', 0, NULL, "192.0.2.2");
    assert_int_equal(t.slots[0].nflood, 1);
    /* the port refuses: counted, not recorded as done, tried again later */
    rec.fail = 1;
    ev(&t, 's', false, ZERO, "192.0.2.5", 0);
    ev(&t, 's', false, M2, "192.0.2.5", 0);
    ev(&t, 'm', false, M2, NULL, 0);
    assert_int_equal(t.c.flood_errors, 1);
    assert_int_equal(t.c.mac_errors, 1);
    assert_int_equal(t.slots[0].nflood, 1);
    assert_int_equal(t.remote, 0);
    rec.fail = 0;
    ev(&t, 's', false, ZERO, "192.0.2.5", 0);
    ev(&t, 'm', false, M2, NULL, 0);
    assert_int_equal(t.slots[0].nflood, 2);
    assert_int_equal(t.remote, 1);
    vn_evpn_tab_free(&t);
}

static void test_resync(void **state)
{
    (void)state;
    struct vn_evpn_table t;
    setup_tab(&t, 64);
    ev(&t, 's', false, ZERO, "192.0.2.2", 0);
    ev(&t, 's', false, ZERO, "192.0.2.3", 0);
    ev(&t, 's', false, M1, "192.0.2.2", 0);
    ev(&t, 'm', false, M1, NULL, 0);
    ev(&t, 's', false, M2, "192.0.2.3", 0);
    ev(&t, 'm', false, M2, NULL, 0);
    assert_int_equal(t.remote, 2);
    unsigned n0 = rec.n;
    /* events were lost: the dump reports 192.0.2.2 and M1 only */
    vn_evpn_tab_resync_begin(&t);
    ev(&t, 's', false, ZERO, "192.0.2.2", 0);
    ev(&t, 's', false, M1, "192.0.2.2", 0);
    ev(&t, 'm', false, M1, NULL, 0);
    vn_evpn_tab_resync_end(&t);
    assert_int_equal(rec.n, n0 + 2);
    assert_int_equal(t.remote, 1);
    assert_int_equal(t.slots[0].nflood, 1);
    bool del_m2 = false, unflood3 = false;
    for (unsigned i = n0; i < rec.n; i++) {
        struct vn_addr a3 = A4("192.0.2.3");
        del_m2 |= rec.c[i].op == 'd' && !memcmp(rec.c[i].mac, M2, 6);
        unflood3 |= rec.c[i].op == 'u' && vn_addr_eq(&rec.c[i].vtep, &a3);
    }
    assert_true(del_m2 && unflood3);
    assert_int_equal(t.c.resyncs, 1);
    vn_evpn_tab_free(&t);
}

static void test_full(void **state)
{
    (void)state;
    struct vn_evpn_table t;
    setup_tab(&t, 4);
    uint8_t m[6] = { 0x02, 0, 0, 0, 1, 0 };
    for (int i = 0; i < 10; i++) {
        m[5] = (uint8_t)i;
        ev(&t, 's', false, m, "192.0.2.2", 0);
        ev(&t, 'm', false, m, NULL, 0);
    }
    assert_int_equal(t.count, 4);
    assert_int_equal(t.remote, 4);
    assert_true(t.c.full >= 6);
    /* deletions of what is not there do not need room */
    uint64_t full = t.c.full;
    m[5] = 9;
    ev(&t, 's', true, m, "192.0.2.2", 0);
    assert_int_equal(t.c.full, full);
    vn_evpn_tab_free(&t);
}

static void test_local(void **state)
{
    (void)state;
    struct vn_evpn_table t;
    setup_tab(&t, 64);
    uint64_t now = 100000;
    vn_evpn_tab_walk_begin(&t);
    assert_true(vn_evpn_tab_local(&t, 0, M1, now, 5));       /* at once */
    assert_false(vn_evpn_tab_local(&t, 0, MCAST, now, 5));   /* never a multicast MAC */
    assert_false(vn_evpn_tab_local(&t, 5, M1, now, 5));      /* no such slot */
    vn_evpn_tab_walk_end(&t);
    assert_int_equal(t.mirrored, 1);
    vn_evpn_tab_walk_begin(&t);
    assert_false(vn_evpn_tab_local(&t, 0, M1, now + 999, 5));
    vn_evpn_tab_walk_end(&t);
    vn_evpn_tab_walk_begin(&t);
    assert_true(vn_evpn_tab_local(&t, 0, M1, now + 1000, 5)); /* a second later */
    vn_evpn_tab_walk_end(&t);
    vn_evpn_tab_walk_begin(&t);
    assert_false(vn_evpn_tab_local(&t, 0, M1, now + 10999, 5));
    vn_evpn_tab_walk_end(&t);
    vn_evpn_tab_walk_begin(&t);
    assert_true(vn_evpn_tab_local(&t, 0, M1, now + 11000, 5)); /* then every refresh */
    vn_evpn_tab_walk_end(&t);
    /* a local MAC is never imported, and the bridge having it on the tap is ours */
    ev(&t, 't', false, M1, NULL, 0);
    assert_int_equal(rec.n, 0);
    /* a walk without it: forgotten (the bridge ages it out) */
    vn_evpn_tab_walk_begin(&t);
    vn_evpn_tab_walk_end(&t);
    assert_int_equal(t.mirrored, 0);
    ev(&t, 't', true, M1, NULL, 0);
    assert_int_equal(t.count, 0);
    /* back: written at once again */
    vn_evpn_tab_walk_begin(&t);
    assert_true(vn_evpn_tab_local(&t, 0, M1, now + 12000, 5));
    vn_evpn_tab_walk_end(&t);
    /* the fabric puts it behind another VTEP (the VM moved away) at second 20:
     * vnetd's stale fdb entry (last seen at 5) is not claimed back... */
    t.now_s = 20;
    ev(&t, 's', false, M1, "192.0.2.7", 0);
    ev(&t, 'm', false, M1, NULL, 0); /* the bridge's entry moves from the tap to vx */
    assert_int_equal(t.remote, 1);
    vn_evpn_tab_walk_begin(&t);
    assert_false(vn_evpn_tab_local(&t, 0, M1, now + 60000, 5));
    assert_false(vn_evpn_tab_local(&t, 0, M1, now + 61000, 20));
    vn_evpn_tab_walk_end(&t);
    assert_int_equal(t.mirrored, 0);
    /* ...until it sends here again (it came back): then claimed at once */
    vn_evpn_tab_walk_begin(&t);
    assert_true(vn_evpn_tab_local(&t, 0, M1, now + 62000, 21));
    vn_evpn_tab_walk_end(&t);
    ev(&t, 't', false, M1, NULL, 0); /* the bridge learnt it on the tap: not remote */
    assert_int_equal(t.remote, 0);
    /* and away again: the bridge's entry moves to vx without a deletion on the tap */
    ev(&t, 'm', false, M1, NULL, 0);
    assert_int_equal(t.remote, 1);
    vn_evpn_tab_free(&t);
}

/* ---- the evpn keys ---- */

static struct vn_conf_err err;

static int load(const char *text, struct vn_config **out)
{
    return harness_load(text, out, &err);
}

#define NETS "networks:\n  - {name: lan, vni: 100}\n  - {name: mgmt, vni: 200}\nports:\n"

static void bad(const char *text, const char *want)
{
    if (load(text, NULL) == 0)
        fail_msg("accepted: %s", text);
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_config(void **state)
{
    (void)state;
    struct vn_config *c;
    const char *ok = NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan, mgmt], "
                          "learning: false}\nevpn: {port: vx}\n";
    assert_int_equal(load(ok, &c), 0);
    assert_string_equal(c->evpn.port, "vx");
    assert_int_equal(c->evpn.kernel_port, 4788);
    assert_int_equal(c->evpn.ageing, 30);
    assert_true(c->evpn.create);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    vn_conf_print(c, f);
    fclose(f);
    assert_non_null(strstr(text, "evpn:\n  port: \"vx\"\n  kernel_port: 4788\n  ageing: 30\n"
                                 "  create: true\n"));
    struct vn_config *c2;
    assert_int_equal(load(text, &c2), 0);
    assert_string_equal(c2->evpn.port, "vx");
    vn_conf_free(c2);
    free(text);
    vn_conf_free(c);
    /* off unless given, and then not printed */
    assert_int_equal(load(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan]}\n",
                          &c), 0);
    assert_string_equal(c->evpn.port, "");
    f = open_memstream(&text, &len);
    vn_conf_print(c, f);
    fclose(f);
    assert_null(strstr(text, "evpn"));
    free(text);
    vn_conf_free(c);
    assert_int_equal(load(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], "
                               "learning: false}\nevpn:\n  port: vx\n  kernel_port: 8472\n"
                               "  ageing: 600\n  create: false\n", &c), 0);
    assert_int_equal(c->evpn.kernel_port, 8472);
    assert_int_equal(c->evpn.ageing, 600);
    assert_false(c->evpn.create);
    vn_conf_free(c);
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan]}\nevpn: {port: vx}\n",
        "t.yaml:6: evpn.port: port 'vx' learns remote MACs from traffic");
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], learning: false}\n"
             "evpn: {port: nope}\n",
        "t.yaml:6: evpn.port: port 'nope' is not defined");
    bad(NETS "  - {name: t, type: tap, network: lan}\nevpn: {port: t}\n",
        "t.yaml:6: evpn.port: port 't' is not a vxlan port");
    bad(NETS "  - {name: vx, type: vxlan, local: \"[2001:db8::1]\", networks: [lan], learning: "
             "false}\nevpn: {port: vx}\n",
        "evpn.port: port 'vx' needs an IPv4 'local' address");
    bad(NETS "  - {name: vx, type: vxlan, local: \"192.0.2.1:4788\", networks: [lan], learning: "
             "false}\nevpn: {port: vx}\n",
        "evpn.kernel_port 4788 is the vxlan port's own UDP port");
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], learning: false}\n"
             "evpn: {port: vx, ageing: 2}\n",
        "t.yaml:6: evpn.ageing: '2' is not a whole number from 3 to 600");
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], learning: false}\n"
             "evpn: {port: vx, kernel_port: 0}\n",
        "t.yaml:6: evpn.kernel_port");
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], learning: false}\n"
             "evpn: {port: vx, bogus: 1}\n",
        "t.yaml:6: unknown key 'evpn.bogus'");
    bad(NETS "  - {name: vx, type: vxlan, local: 192.0.2.1, networks: [lan], learning: false}\n"
             "evpn: vx\n",
        "t.yaml:6: unknown key 'evpn'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_remote_macs),
        cmocka_unit_test(test_flood_and_failures),
        cmocka_unit_test(test_resync),
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_local),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
