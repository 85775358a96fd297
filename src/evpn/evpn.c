/* EVPN mirror: see evpn.h for the theory of operation. */
#include "evpn.h"
#include "nl.h"
#include "table.h"
#include "core/log.h"
#include "core/util.h"
#include "port/vxlan.h"
#include "switch/switch.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define WALK_MS 1000            /* the local MACs are looked at this often */
#define RESYNC_RETRY_MS 1000    /* a failed dump is asked for again after this */
#define NL_RCVBUF (4 << 20)
#define NL_BUF 65536
#define ETHERTYPE_MIRROR 0x88b5 /* IEEE 802 local experimental */

struct evpn_slot {
    uint16_t net;               /* the switch's network id */
    uint32_t vni;
    char br[IFNAMSIZ], vx[IFNAMSIZ], tap[IFNAMSIZ];
    int br_ifindex, vx_ifindex, tap_ifindex;
    uint8_t br_mac[6];          /* the injected frames' destination */
    int tap_fd;
    struct vn_io tap_io;
    struct vn_evpn *e;
};

struct vn_evpn {
    struct vn_switch *sw;
    struct vn_port *port;       /* the vxlan port */
    struct vn_evpn_conf conf;
    struct evpn_slot slots[VN_EVPN_MAX_SLOTS];
    unsigned nslots;
    struct vn_evpn_table tab;
    struct mnl_socket *nl;      /* events and dumps (non-blocking) */
    struct vn_io nl_io;
    uint8_t *buf;
    uint32_t dump_seq;          /* of the dump in progress, 0 = none */
    bool dump_again;            /* overflowed or interrupted during the dump */
    struct vn_timer walk, resync;
    /* counters beyond the table's */
    uint64_t tap_rx, inject_errors, nl_overruns, nl_malformed, dump_errors, links_lost;
};

/* ---- the vxlan port, as table.h asks ---- */

static int op_mac_add(void *ctx, unsigned slot, const uint8_t mac[6], const struct vn_addr *vtep)
{
    struct vn_evpn *e = ctx;
    char err[160], ms[18], as[VN_ADDR_STRLEN];
    struct vn_sockaddr sa = { .ip = *vtep };
    if (vn_vxlan_fdb_add(e->port, e->slots[slot].net, mac, &sa, VN_VXLAN_BY_EVPN, err,
                         sizeof err) < 0) {
        VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: cannot import a remote MAC\" vni=%u mac=%s vtep=%s "
                  "reason=\"%s\"", e->slots[slot].vni, vn_mac_str(mac, ms),
                  vn_addr_str(vtep, as, sizeof as), err);
        return -1;
    }
    /* a MAC vnetd has on a local port moved to another host (a VM migrated
     * without a frame reaching vnetd since): move the switch's entry to the
     * vxlan port, as the kernel bridge moves its entry to the vxlan device */
    struct vn_fdb *fdb = &e->sw->nets[e->slots[slot].net]->fdb;
    int cur = vn_fdb_lookup(fdb, mac, e->sw->now_s);
    if (cur >= 0 && cur != e->port->id)
        vn_fdb_learn(fdb, mac, e->port->id, e->sw->now_s);
    return 0;
}

static int op_mac_del(void *ctx, unsigned slot, const uint8_t mac[6])
{
    struct vn_evpn *e = ctx;
    char err[160];
    return vn_vxlan_fdb_del(e->port, e->slots[slot].net, mac, VN_VXLAN_BY_EVPN, err, sizeof err);
}

static int op_flood_add(void *ctx, unsigned slot, const struct vn_addr *vtep)
{
    struct vn_evpn *e = ctx;
    char err[160], as[VN_ADDR_STRLEN];
    struct vn_sockaddr sa = { .ip = *vtep };
    if (vn_vxlan_vtep_add(e->port, &sa, 1ull << e->slots[slot].net, VN_VXLAN_BY_EVPN, err,
                          sizeof err) < 0) {
        VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: cannot add a VTEP to the flood list\" vni=%u vtep=%s "
                  "reason=\"%s\"", e->slots[slot].vni, vn_addr_str(vtep, as, sizeof as), err);
        return -1;
    }
    return 0;
}

static int op_flood_del(void *ctx, unsigned slot, const struct vn_addr *vtep)
{
    struct vn_evpn *e = ctx;
    char err[160];
    return vn_vxlan_vtep_del(e->port, vtep, 1ull << e->slots[slot].net, VN_VXLAN_BY_EVPN, err,
                             sizeof err);
}

/* ---- netlink events ---- */

static void request_dump(struct vn_evpn *e)
{
    if (e->dump_seq) { /* one at a time: ask again when it ends */
        e->dump_again = true;
        return;
    }
    char req[64];
    static uint32_t seq = 0x65767000;
    size_t n = vn_evpn_nl_dump_request(req, sizeof req, ++seq);
    if (mnl_socket_sendto(e->nl, req, n) < 0) {
        e->dump_errors++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: cannot ask for the kernel's fdb\" error=\"%s\"",
                  strerror(errno));
        vn_timer_arm(e->sw->loop, &e->resync, RESYNC_RETRY_MS);
        return;
    }
    e->dump_seq = seq;
    e->dump_again = false;
    vn_evpn_tab_resync_begin(&e->tab);
}

static void resync_tick(struct vn_timer *t)
{
    struct vn_evpn *e = VN_CONTAINER_OF(t, struct vn_evpn, resync);
    request_dump(e);
}

static void dump_done(struct vn_evpn *e, bool ok)
{
    if (ok && !e->dump_again)
        vn_evpn_tab_resync_end(&e->tab);
    e->dump_seq = 0;
    if (!ok)
        e->dump_errors++;
    if (!ok || e->dump_again)
        vn_timer_arm(e->sw->loop, &e->resync, ok ? 0 : RESYNC_RETRY_MS);
}

/* A link went away: one of ours means the mirror of that VNI is broken. */
static void link_event(struct vn_evpn *e, const struct nlmsghdr *nlh)
{
    if (nlh->nlmsg_type != RTM_DELLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
        return;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    for (unsigned i = 0; i < e->nslots; i++) {
        struct evpn_slot *s = &e->slots[i];
        if (ifi->ifi_index == s->vx_ifindex || ifi->ifi_index == s->br_ifindex) {
            e->links_lost++;
            vn_err("msg=\"evpn: a mirror device was deleted: FRR no longer sees this VNI\" vni=%u "
                   "device=%s", s->vni, ifi->ifi_index == s->vx_ifindex ? s->vx : s->br);
        }
    }
}

static void handle(struct vn_evpn *e, const uint8_t *buf, size_t len)
{
    e->tab.now_s = e->sw->now_s;
    const struct nlmsghdr *nlh;
    size_t off = 0;
    while ((nlh = vn_evpn_nl_walk(buf, len, &off))) {
        bool of_dump = e->dump_seq && nlh->nlmsg_seq == e->dump_seq;
        if (of_dump && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
            e->dump_again = true;
        switch (nlh->nlmsg_type) {
        case NLMSG_DONE:
            if (of_dump)
                dump_done(e, true);
            continue;
        case NLMSG_ERROR:
            if (of_dump)
                dump_done(e, false);
            continue;
        case RTM_NEWLINK:
        case RTM_DELLINK:
            link_event(e, nlh);
            continue;
        }
        struct vn_evpn_neigh n;
        int rc = vn_evpn_nl_parse_neigh(nlh, nlh->nlmsg_len, &n);
        if (rc < 0)
            e->nl_malformed++;
        else if (rc > 0)
            vn_evpn_tab_neigh(&e->tab, &n);
    }
}

static void nl_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct vn_evpn *e = VN_CONTAINER_OF(io, struct vn_evpn, nl_io);
    for (int i = 0; i < 64; i++) {
        ssize_t r = recv(mnl_socket_get_fd(e->nl), e->buf, NL_BUF, 0);
        if (r < 0) {
            if (errno == ENOBUFS) { /* events were lost: read the kernel's state again */
                e->nl_overruns++;
                VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: netlink events lost, dumping the fdb again\"");
                if (e->dump_seq)
                    e->dump_again = true;
                else
                    request_dump(e);
                continue;
            }
            if (errno != EAGAIN && errno != EINTR)
                VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: netlink read failed\" error=\"%s\"",
                          strerror(errno));
            return;
        }
        handle(e, e->buf, (size_t)r);
    }
}

/* ---- local MACs into the taps ---- */

static void inject(struct vn_evpn *e, struct evpn_slot *s, const uint8_t mac[6])
{
    uint8_t f[60] = { 0 };
    memcpy(f, s->br_mac, 6);
    memcpy(f + 6, mac, 6);
    f[12] = ETHERTYPE_MIRROR >> 8;
    f[13] = ETHERTYPE_MIRROR & 0xff;
    memcpy(f + 14, "vnet evpn mirror", 16);
    if (write(s->tap_fd, f, sizeof f) != (ssize_t)sizeof f) {
        e->inject_errors++;
        VN_LOG_RL(VN_LOG_WARN, "msg=\"evpn: cannot write into the mirror tap\" tap=%s error=\"%s\"",
                  s->tap, strerror(errno));
        return;
    }
    e->tab.c.injected++;
}

static bool fresh(const struct vn_fdb *fdb, const struct vn_fdb_entry *x, uint32_t now)
{
    return !fdb->aging_s || now - x->seen_s <= fdb->aging_s;
}

static void walk_tick(struct vn_timer *t)
{
    struct vn_evpn *e = VN_CONTAINER_OF(t, struct vn_evpn, walk);
    uint64_t now = vn_loop_now_ms(e->sw->loop);
    e->tab.now_s = e->sw->now_s;
    vn_evpn_tab_walk_begin(&e->tab);
    for (unsigned i = 0; i < e->nslots; i++) {
        struct evpn_slot *s = &e->slots[i];
        const struct vn_network *n = e->sw->nets[s->net];
        uint32_t pos = 0;
        const struct vn_fdb_entry *x;
        while ((x = vn_fdb_next(&n->fdb, &pos))) {
            if (x->port == e->port->id || !fresh(&n->fdb, x, e->sw->now_s))
                continue;
            uint8_t mac[6];
            vn_fdb_key_mac(x->key, mac);
            if (vn_evpn_tab_local(&e->tab, i, mac, now, x->seen_s))
                inject(e, s, mac);
        }
    }
    vn_evpn_tab_walk_end(&e->tab);
    vn_timer_arm(e->sw->loop, &e->walk, WALK_MS);
}

/* Whatever the bridge sends into the tap (nothing, unless a stray packet
 * reached the mirror vxlan device) is read and dropped. */
static void tap_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct evpn_slot *s = VN_CONTAINER_OF(io, struct evpn_slot, tap_io);
    uint8_t f[2048];
    for (int i = 0; i < 64 && read(s->tap_fd, f, sizeof f) > 0; i++)
        s->e->tap_rx++;
}

/* ---- set-up ---- */

static int open_tap(const char *name, bool create, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr = { 0 };
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (create ? IFF_TUN_EXCL : 0);
    vn_strlcpy(ifr.ifr_name, name, IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "cannot %s tap %s: %s%s", create ? "create" : "open", name,
                 strerror(errno),
                 create && errno == EBUSY ? " (an interface with that name exists)" : "");
        close(fd);
        return -1;
    }
    return fd;
}

/* The bridge's MAC when vnetd makes it: locally administered, from the VNI. */
static void bridge_mac(uint32_t vni, uint8_t mac[6])
{
    const uint8_t m[6] = { 0x02, 0x76, 0x6e, (uint8_t)(vni >> 16), (uint8_t)(vni >> 8),
                           (uint8_t)vni };
    memcpy(mac, m, 6);
}

static int make_slot(struct vn_evpn *e, struct mnl_socket *nl, struct evpn_slot *s,
                     const struct vn_addr *local, char *err, size_t errlen)
{
    const struct vn_evpn_conf *c = &e->conf;
    struct vn_evpn_link l;
    int rc;
    snprintf(s->br, sizeof s->br, "vnb%u", s->vni);
    snprintf(s->vx, sizeof s->vx, "vnx%u", s->vni);
    snprintf(s->tap, sizeof s->tap, "vnt%u", s->vni);
    if (c->create) {
        uint8_t mac[6];
        bridge_mac(s->vni, mac);
        if ((rc = vn_evpn_nl_get_link(nl, s->vx, &l, err, errlen)) != 0) {
            if (rc > 0)
                snprintf(err, errlen, "%s exists already (made by someone else: delete it, or "
                         "use evpn.create: false)", s->vx);
            return -1;
        }
        s->tap_fd = open_tap(s->tap, true, err, errlen);
        if (s->tap_fd < 0 || vn_evpn_nl_make_bridge(nl, s->br, mac, c->ageing, err, errlen) < 0)
            return -1;
        if (vn_evpn_nl_get_link(nl, s->br, &l, err, errlen) <= 0)
            goto gone;
        s->br_ifindex = l.ifindex;
        memcpy(s->br_mac, l.mac, 6);
        if (vn_evpn_nl_get_link(nl, s->tap, &l, err, errlen) <= 0)
            goto gone;
        s->tap_ifindex = l.ifindex;
        if (vn_evpn_nl_make_vxlan(nl, s->vx, s->vni, local, c->kernel_port, s->tap_ifindex,
                                  s->br_ifindex, err, errlen) < 0)
            return -1;
        if (vn_evpn_nl_get_link(nl, s->vx, &l, err, errlen) <= 0)
            goto gone;
        s->vx_ifindex = l.ifindex;
        if (vn_evpn_nl_set_link(nl, s->tap_ifindex, s->br_ifindex, err, errlen) < 0 ||
            vn_evpn_nl_set_port_learning(nl, s->vx_ifindex, false, err, errlen) < 0 ||
            vn_evpn_nl_set_link(nl, s->vx_ifindex, 0, err, errlen) < 0 ||
            vn_evpn_nl_set_link(nl, s->br_ifindex, 0, err, errlen) < 0)
            return -1;
        return 0;
    }
    /* evpn.create: false: check what the administrator made, open the tap */
    struct vn_evpn_link br, vx, tap;
    const char *missing = NULL;
    if ((rc = vn_evpn_nl_get_link(nl, s->br, &br, err, errlen)) <= 0)
        missing = rc < 0 ? "" : s->br;
    else if ((rc = vn_evpn_nl_get_link(nl, s->vx, &vx, err, errlen)) <= 0)
        missing = rc < 0 ? "" : s->vx;
    else if ((rc = vn_evpn_nl_get_link(nl, s->tap, &tap, err, errlen)) <= 0)
        missing = rc < 0 ? "" : s->tap;
    if (missing) {
        if (*missing)
            snprintf(err, errlen, "%s does not exist (evpn.create is false: make the bridge %s, "
                     "the tap %s and the vxlan device %s first)", missing, s->br, s->tap, s->vx);
        return -1;
    }
    char as[VN_ADDR_STRLEN];
    if (strcmp(br.kind, "bridge") || strcmp(vx.kind, "vxlan"))
        snprintf(err, errlen, "%s must be a bridge and %s a vxlan device", s->br, s->vx);
    else if (vx.vni != s->vni || !vn_addr_eq(&vx.local, local))
        snprintf(err, errlen, "%s must be 'vxlan id %u local %s'", s->vx, s->vni,
                 vn_addr_str(local, as, sizeof as));
    else if (vx.port == e->port->conf.vxlan.local.port)
        snprintf(err, errlen, "%s listens on UDP %u, the vxlan port's own: give it another "
                 "dstport", s->vx, vx.port);
    else if (vx.master != br.ifindex || tap.master != br.ifindex)
        snprintf(err, errlen, "%s and %s must be ports of the bridge %s", s->vx, s->tap, s->br);
    else if (vx.learning)
        snprintf(err, errlen, "%s must be 'nolearning'", s->vx);
    else
        err[0] = 0;
    if (err[0])
        return -1;
    s->br_ifindex = br.ifindex;
    s->vx_ifindex = vx.ifindex;
    s->tap_ifindex = tap.ifindex;
    memcpy(s->br_mac, br.mac, 6);
    s->tap_fd = open_tap(s->tap, false, err, errlen);
    return s->tap_fd < 0 ? -1 : 0;
gone:
    snprintf(err, errlen, "a device of VNI %u vanished while it was being made", s->vni);
    return -1;
}

static int open_events(struct vn_evpn *e, char *err, size_t errlen)
{
    e->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (!e->nl || mnl_socket_bind(e->nl, RTMGRP_NEIGH | RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
        snprintf(err, errlen, "netlink event socket: %s", strerror(errno));
        return -1;
    }
    int sz = NL_RCVBUF, fd = mnl_socket_get_fd(e->nl);
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz); /* without CAP_NET_ADMIN */
    if (vn_io_add(e->sw->loop, &e->nl_io, fd, EPOLLIN, nl_event) < 0) {
        snprintf(err, errlen, "netlink event socket: %s", strerror(errno));
        return -1;
    }
    return 0;
}

struct vn_evpn *vn_evpn_open(struct vn_switch *sw, const struct vn_evpn_conf *c, char *err,
                             size_t errlen)
{
    struct vn_port *p = vn_switch_find_port(sw, c->port);
    if (!p || !vn_vxlan_is(p)) {
        snprintf(err, errlen, "evpn.port '%s' is not a vxlan port", c->port);
        return NULL;
    }
    struct vn_evpn *e = calloc(1, sizeof *e);
    uint8_t *buf = malloc(NL_BUF);
    if (!e || !buf) {
        free(e);
        free(buf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->sw = sw;
    e->port = p;
    e->conf = *c;
    e->buf = buf;
    vn_timer_init(&e->walk, walk_tick);
    vn_timer_init(&e->resync, resync_tick);
    uint16_t ids[VN_MAX_NETWORKS];
    const struct vn_net_conf *confs[VN_MAX_NETWORKS];
    unsigned n = vn_port_networks(p, ids, confs, VN_MAX_NETWORKS);
    uint32_t max = 2 * p->conf.vxlan.max_macs + 1024;
    for (unsigned i = 0; i < n && i < VN_EVPN_MAX_SLOTS; i++) {
        e->slots[i] = (struct evpn_slot){ .net = ids[i], .vni = confs[i]->vni, .tap_fd = -1,
                                          .e = e };
        max += sw->nets[ids[i]]->fdb.max;
    }
    e->nslots = n;
    struct vn_evpn_ops ops = { e, op_mac_add, op_mac_del, op_flood_add, op_flood_del };
    if (vn_evpn_tab_init(&e->tab, n, max, c->ageing * 1000 / 3, &ops) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    struct mnl_socket *nl = vn_evpn_nl_open(err, errlen);
    if (!nl)
        goto fail;
    const struct vn_addr *local = &p->conf.vxlan.local.ip;
    for (unsigned i = 0; i < e->nslots; i++) {
        struct evpn_slot *s = &e->slots[i];
        if (make_slot(e, nl, s, local, err, errlen) < 0) {
            vn_evpn_nl_close(nl);
            goto fail;
        }
        vn_evpn_tab_set_ifs(&e->tab, i, s->vx_ifindex, s->br_ifindex, s->tap_ifindex);
        if (vn_io_add(sw->loop, &s->tap_io, s->tap_fd, EPOLLIN, tap_event) < 0) {
            snprintf(err, errlen, "tap %s: %s", s->tap, strerror(errno));
            vn_evpn_nl_close(nl);
            goto fail;
        }
    }
    vn_evpn_nl_close(nl);
    if (open_events(e, err, errlen) < 0)
        goto fail;
    request_dump(e);
    vn_timer_arm(sw->loop, &e->walk, 0);
    for (unsigned i = 0; i < e->nslots; i++)
        vn_info("msg=\"evpn mirror ready\" port=%s vni=%u network=%s bridge=%s vxlan=%s tap=%s "
                "kernel_port=%u", p->conf.name, e->slots[i].vni,
                sw->nets[e->slots[i].net]->conf.name, e->slots[i].br, e->slots[i].vx,
                e->slots[i].tap, c->kernel_port);
    return e;
fail:
    vn_evpn_close(e);
    return NULL;
}

void vn_evpn_close(struct vn_evpn *e)
{
    if (!e)
        return;
    struct vn_loop *loop = e->sw->loop;
    vn_timer_cancel(loop, &e->walk);
    vn_timer_cancel(loop, &e->resync);
    if (e->nl) {
        if (e->nl_io.added)
            vn_io_del(loop, &e->nl_io);
        mnl_socket_close(e->nl);
    }
    for (unsigned i = 0; i < e->nslots; i++) {
        struct evpn_slot *s = &e->slots[i];
        if (s->tap_fd >= 0) {
            if (s->tap_io.added)
                vn_io_del(loop, &s->tap_io);
            close(s->tap_fd); /* a non-persistent tap goes, and its vxlan device with it */
        }
    }
    vn_evpn_tab_free(&e->tab);
    free(e->buf);
    free(e);
}

/* ---- status ---- */

json_t *vn_evpn_status(struct vn_evpn *e)
{
    json_t *o = json_object(), *vnis = json_array();
    json_object_set_new(o, "port", json_string(e->conf.port));
    json_object_set_new(o, "kernel_port", json_integer(e->conf.kernel_port));
    json_object_set_new(o, "ageing", json_integer(e->conf.ageing));
    json_object_set_new(o, "create", json_boolean(e->conf.create));
    uint32_t remote[VN_EVPN_MAX_SLOTS] = { 0 }, local[VN_EVPN_MAX_SLOTS] = { 0 }, pos = 0;
    const struct vn_evpn_entry *x;
    while ((x = vn_evpn_tab_next(&e->tab, &pos))) {
        unsigned sl = vn_evpn_key_slot(x->key);
        if (sl < e->nslots) {
            remote[sl] += x->installed.family != 0;
            local[sl] += x->local;
        }
    }
    for (unsigned i = 0; i < e->nslots; i++) {
        const struct evpn_slot *s = &e->slots[i];
        json_t *fl = json_array();
        const struct vn_evpn_slot *ts = &e->tab.slots[i];
        for (unsigned k = 0; k < ts->nflood; k++) {
            char as[VN_ADDR_STRLEN];
            json_array_append_new(fl, json_string(vn_addr_str(&ts->flood[k].addr, as, sizeof as)));
        }
        json_array_append_new(
            vnis, json_pack("{s:s,s:I,s:s,s:s,s:s,s:o,s:I,s:I}", "network",
                            e->sw->nets[s->net]->conf.name, "vni", (json_int_t)s->vni, "bridge",
                            s->br, "vxlan", s->vx, "tap", s->tap, "flood", fl, "remote_macs",
                            (json_int_t)remote[i], "local_macs", (json_int_t)local[i]));
    }
    json_object_set_new(o, "vnis", vnis);
    const struct vn_evpn_counters *c = &e->tab.c;
    json_t *st = json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "neigh_events", (json_int_t)c->events,
        "ignored", (json_int_t)c->ignored, "mac_added", (json_int_t)c->mac_added, "mac_deleted",
        (json_int_t)c->mac_deleted, "mac_errors", (json_int_t)c->mac_errors, "flood_added",
        (json_int_t)c->flood_added, "flood_deleted", (json_int_t)c->flood_deleted, "flood_errors",
        (json_int_t)c->flood_errors, "full", (json_int_t)c->full, "resyncs",
        (json_int_t)c->resyncs, "injected", (json_int_t)c->injected);
    json_object_set_new(st, "inject_errors", json_integer((json_int_t)e->inject_errors));
    json_object_set_new(st, "tap_rx", json_integer((json_int_t)e->tap_rx));
    json_object_set_new(st, "overruns", json_integer((json_int_t)e->nl_overruns));
    json_object_set_new(st, "malformed", json_integer((json_int_t)e->nl_malformed));
    json_object_set_new(st, "dump_errors", json_integer((json_int_t)e->dump_errors));
    json_object_set_new(st, "links_lost", json_integer((json_int_t)e->links_lost));
    json_object_set_new(o, "stats", st);
    return o;
}
