/* The L2 switch: see switch.h for the theory of operation. */
#include "switch.h"
#include "conf/schema.h"
#include "core/log.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/gso.h"
#include "pkt/ip.h"
#include "mirror.h"
#include "policy.h"

#include <linux/virtio_net.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const drop_names[] = {
    [VN_DROP_MALFORMED] = "malformed", [VN_DROP_MTU] = "mtu",
    [VN_DROP_VLAN] = "vlan",           [VN_DROP_NO_PEER] = "no_peer",
    [VN_DROP_TX_FULL] = "tx_full",     [VN_DROP_TX_ERROR] = "tx_error",
    [VN_DROP_STORM] = "storm",         [VN_DROP_POLICER] = "policer",
    [VN_DROP_SPOOF] = "spoof",         [VN_DROP_MAC_LIMIT] = "mac_limit",
    [VN_DROP_GUARD] = "guard",         [VN_DROP_ACL] = "acl",
    [VN_DROP_VNI] = "vni",             [VN_DROP_VTEP] = "vtep",
};

_Static_assert(VN_ARRAY_LEN(drop_names) == VN_DROP__COUNT, "a drop reason without a name");

const char *vn_drop_name(enum vn_drop d) { return drop_names[d]; }

void vn_port_drop_rx(struct vn_port *p, enum vn_drop why) { p->stats.rx_drops[why]++; }
void vn_port_drop_tx(struct vn_port *p, enum vn_drop why) { p->stats.tx_drops[why]++; }

/* ---- the provider interface (port/provider.h) ---- */

void vn_port_input(struct vn_port *p, struct vn_frame *frames, unsigned n)
{
    vn_switch_input(p->sw, p, frames, n);
}

uint16_t vn_port_egress_vid(const struct vn_port *p, uint16_t net)
{
    if (!p->fwd->trunk || p->fwd->classifies || (int)net == p->fwd->native_net)
        return 0;
    return p->sw->nets[net]->conf.vlan;
}

uint32_t vn_port_max_mtu(const struct vn_port *p)
{
    uint32_t mtu = 0;
    for (unsigned i = 0; i < p->sw->nnets; i++)
        if (vn_port_carries(p, i) && p->sw->nets[i]->conf.mtu > mtu)
            mtu = p->sw->nets[i]->conf.mtu;
    return mtu;
}

unsigned vn_port_networks(const struct vn_port *p, uint16_t *ids, const struct vn_net_conf **confs,
                          unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < p->sw->nnets; i++) {
        if (!vn_port_carries(p, i))
            continue;
        if (n < max) {
            ids[n] = (uint16_t)i;
            confs[n] = &p->sw->nets[i]->conf;
        }
        n++;
    }
    return n;
}

enum { AGE_INTERVAL_MS = 1000 };

/* The switch's clock in seconds, moved forward by whichever worker sees it
 * change first (a relaxed store once a second; every worker reads it). */
static uint32_t tick_now_s(struct vn_switch *sw)
{
    uint32_t s = (uint32_t)((vn_now_ns() - sw->start_ns) / 1000000000ull);
    if (atomic_load_explicit(&sw->now_s, memory_order_relaxed) != s)
        atomic_store_explicit(&sw->now_s, s, memory_order_relaxed);
    return s;
}

/* Age the fdbs of the networks this worker serves. */
static void age_tick(struct vn_timer *t)
{
    struct vn_swdp *dp = VN_CONTAINER_OF(t, struct vn_swdp, age_timer);
    struct vn_switch *sw = dp->sw;
    uint32_t now = tick_now_s(sw);
    for (unsigned i = 0; i < sw->nnets; i++)
        if (sw->nets[i]->dp == dp)
            vn_fdb_age(&sw->nets[i]->fdb, now);
    vn_timer_arm(dp->loop, &dp->age_timer, AGE_INTERVAL_MS);
}

static void dp_free(struct vn_swdp *dp)
{
    if (!dp)
        return;
    vn_timer_cancel(dp->loop, &dp->age_timer);
    vn_ct_free(&dp->ct);
    for (int i = 0; i < VN_BATCH; i++)
        free(dp->rxbuf[i]);
    free(dp->segbuf);
    free(dp);
}

/* A worker's data path state on loop; NULL when out of memory. */
static struct vn_swdp *dp_new(struct vn_switch *sw, unsigned id, struct vn_loop *loop)
{
    struct vn_swdp *dp = calloc(1, sizeof *dp);
    if (!dp)
        return NULL;
    dp->sw = sw;
    dp->id = id;
    dp->loop = loop;
    vn_timer_init(&dp->age_timer, age_tick);
    dp->segbuf = malloc(VN_GSO_BUF_SIZE);
    bool ok = dp->segbuf != NULL;
    for (int i = 0; i < VN_GSO_MAX_SEGS; i++)
        dp->segptrs[i] = &dp->segframes[i];
    for (int i = 0; i < VN_BATCH; i++)
        ok &= (dp->rxbuf[i] = malloc(VN_HEADROOM + VN_RXBUF_SIZE)) != NULL;
    if (!ok) {
        dp_free(dp);
        return NULL;
    }
    vn_timer_arm(loop, &dp->age_timer, AGE_INTERVAL_MS);
    return dp;
}

struct vn_switch *vn_switch_new(struct vn_loop *loop)
{
    struct vn_switch *sw = calloc(1, sizeof *sw);
    if (!sw)
        return NULL;
    sw->loop = loop;
    sw->start_ns = vn_now_ns();
    for (int i = 0; i < 4096; i++)
        sw->vid_net[i] = -1;
    sw->mirrors = calloc(VN_MIRROR_MAX, sizeof *sw->mirrors);
    sw->dp[0] = dp_new(sw, 0, loop);
    sw->ndp = 1;
    if (!sw->mirrors || !sw->dp[0]) {
        vn_switch_free(sw);
        return NULL;
    }
    return sw;
}

int vn_switch_set_workers(struct vn_switch *sw, struct vn_loop *const *loops, unsigned n)
{
    if (n < 1 || n > VN_SWITCH_MAX_DP || sw->nnets)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        if (i < sw->ndp) {
            vn_timer_cancel(sw->dp[i]->loop, &sw->dp[i]->age_timer);
            sw->dp[i]->loop = loops[i];
            vn_timer_arm(loops[i], &sw->dp[i]->age_timer, AGE_INTERVAL_MS);
        } else if (!(sw->dp[i] = dp_new(sw, i, loops[i]))) {
            return -1;
        }
        sw->ndp = i + 1;
    }
    for (unsigned i = n; i < sw->ndp; i++) {
        dp_free(sw->dp[i]);
        sw->dp[i] = NULL;
    }
    sw->ndp = n;
    return 0;
}

void vn_switch_net_set_worker(struct vn_network *n, unsigned w)
{
    n->dp = n->sw->dp[w < n->sw->ndp ? w : 0];
}

void vn_switch_totals(const struct vn_switch *sw, struct vn_switch_totals *t)
{
    *t = (struct vn_switch_totals){ 0 };
    for (unsigned i = 0; i < sw->ndp; i++) {
        const struct vn_swdp *dp = sw->dp[i];
        t->ct_adopted += dp->ct_adopted;
        t->malformed_total += dp->malformed_total;
        t->gso_segmented += dp->gso_segmented;
        t->gso_failed += dp->gso_failed;
        t->csum_completed += dp->csum_completed;
    }
}

void vn_switch_free(struct vn_switch *sw)
{
    if (!sw)
        return;
    for (int i = 0; i < VN_MIRROR_MAX; i++)
        vn_mirror_del(sw, &sw->mirrors[i]);
    for (unsigned i = 0; i < sw->nports; i++)
        if (sw->ports[i])
            vn_switch_del_port(sw, sw->ports[i]);
    for (unsigned i = 0; i < sw->nnets; i++) {
        vn_acl_free(&sw->nets[i]->acl);
        vn_fdb_free(&sw->nets[i]->fdb);
        vn_bind_free(&sw->nets[i]->bind);
        free(sw->nets[i]->members);
        /* the network's copy of its config holds the VPN's private key */
        explicit_bzero(sw->nets[i]->conf.vpn.private_key, sizeof sw->nets[i]->conf.vpn.private_key);
        free(sw->nets[i]);
    }
    for (unsigned i = 0; i < sw->ndp; i++)
        dp_free(sw->dp[i]);
    free(sw->mirrors);
    free(sw);
}

/* Copy the rules of a config ACL into a runtime one. Returns 0 or -1. */
static int acl_copy(struct vn_acl *dst, const struct vn_acl *src)
{
    char err[64];
    dst->rules = NULL;
    dst->n = 0;
    for (unsigned i = 0; i < src->n; i++)
        if (vn_acl_insert(dst, &src->rules[i], -1, err, sizeof err))
            return -1;
    return 0;
}

int vn_switch_acl_changed(struct vn_switch *sw)
{
    bool active = false;
    for (unsigned i = 0; i < sw->nnets; i++)
        active |= sw->nets[i]->acl.n || sw->nets[i]->acl_default_drop;
    for (unsigned i = 0; i < sw->nports; i++)
        active |= sw->ports[i] && sw->ports[i]->fwd->acl.n;
    for (unsigned i = 0; active && i < sw->ndp; i++)
        if (!sw->dp[i]->ct.e && vn_ct_init(&sw->dp[i]->ct, sw->ct_max ? sw->ct_max : 65536))
            return -1;
    /* Connections are tracked only while some ACL exists. When ACLs are
     * switched on at run time, TCP connections already open are unknown:
     * for a while, a non-SYN TCP segment of an untracked connection that
     * no rule allows is adopted as established instead of being dropped,
     * so open connections survive while new ones still need a rule. */
    if (active && !sw->acl_active && sw->running)
        sw->ct_adopt_until_ms = vn_now_ms() + VN_CT_ADOPT_MS;
    sw->acl_active = active;
    return 0;
}

struct vn_network *vn_switch_add_network(struct vn_switch *sw, const struct vn_net_conf *nc,
                                         char *err, size_t errlen)
{
    if (sw->nnets >= VN_MAX_NETWORKS) {
        snprintf(err, errlen, "too many networks");
        return NULL;
    }
    if (nc->vlan && sw->vid_net[nc->vlan] >= 0) {
        snprintf(err, errlen, "vlan %u already used", nc->vlan);
        return NULL;
    }
    struct vn_network *n = calloc(1, sizeof *n);
    if (!n || !(n->members = calloc(VN_MAX_PORTS, sizeof *n->members)) ||
        vn_fdb_init(&n->fdb, nc->fdb_max, nc->fdb_aging)) {
        if (n)
            free(n->members);
        free(n);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    n->sw = sw;
    n->dp = sw->dp[0];
    n->id = (uint16_t)sw->nnets;
    n->conf = *nc;
    n->conf.acl = (struct vn_acl){ 0 };
    n->acl_default_drop = nc->acl_default_drop;
    if (acl_copy(&n->acl, &nc->acl)) {
        vn_fdb_free(&n->fdb);
        free(n->members);
        free(n);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (nc->vlan)
        sw->vid_net[nc->vlan] = (int16_t)n->id;
    sw->nets[sw->nnets++] = n;
    if (vn_switch_acl_changed(sw)) {
        snprintf(err, errlen, "out of memory for the connection table");
        return NULL;
    }
    return n;
}

struct vn_network *vn_switch_find_network(struct vn_switch *sw, const char *name)
{
    for (unsigned i = 0; i < sw->nnets; i++)
        if (!strcmp(sw->nets[i]->conf.name, name))
            return sw->nets[i];
    return NULL;
}

struct vn_port *vn_switch_find_port(struct vn_switch *sw, const char *name)
{
    for (unsigned i = 0; i < sw->nports; i++)
        if (sw->ports[i] && !strcmp(sw->ports[i]->conf.name, name))
            return sw->ports[i];
    return NULL;
}

static void net_add_member(struct vn_network *n, struct vn_port *p)
{
    n->members[n->nmembers++] = p;
}

static void net_del_member(struct vn_network *n, struct vn_port *p)
{
    for (unsigned i = 0; i < n->nmembers; i++)
        if (n->members[i] == p) {
            n->members[i] = n->members[--n->nmembers];
            return;
        }
}

/* Resolve the port's VLAN role from its config; returns 0 or -1 with err. */
static int port_set_role(struct vn_switch *sw, struct vn_port *p, char *err, size_t errlen)
{
    const struct vn_port_conf *pc = &p->conf;
    p->fwd->access_net = p->fwd->native_net = -1;
    p->fwd->classifies = p->ops->conf && p->ops->conf->classifies;
    if (pc->network[0]) {
        struct vn_network *n = vn_switch_find_network(sw, pc->network);
        if (!n) {
            snprintf(err, errlen, "network '%s' does not exist", pc->network);
            return -1;
        }
        p->fwd->access_net = n->id;
        p->fwd->nets[n->id / 64] |= 1ull << (n->id % 64);
        return 0;
    }
    p->fwd->trunk = true;
    for (unsigned i = 0; i < pc->ntrunk; i++) {
        struct vn_network *n = vn_switch_find_network(sw, pc->trunk[i]);
        if (!n) {
            snprintf(err, errlen, "network '%s' does not exist", pc->trunk[i]);
            return -1;
        }
        if (!p->fwd->classifies && !strcmp(pc->trunk[i], pc->native))
            p->fwd->native_net = n->id;
        else if (!p->fwd->classifies && !n->conf.vlan) {
            snprintf(err, errlen, "network '%s' has no vlan id to tag it with", pc->trunk[i]);
            return -1;
        }
        p->fwd->nets[n->id / 64] |= 1ull << (n->id % 64);
    }
    return 0;
}

/* Serve p on the worker of its networks: all of them must be on one (the
 * shards are planned at start, core/shard.h; a port added at run time
 * that would join two workers' networks is refused). Returns 0 or -1. */
static int port_set_worker(struct vn_switch *sw, struct vn_port *p, char *err, size_t errlen)
{
    struct vn_swdp *dp = NULL;
    for (unsigned i = 0; i < sw->nnets; i++) {
        if (!vn_port_carries(p, i))
            continue;
        if (dp && sw->nets[i]->dp != dp) {
            snprintf(err, errlen,
                     "its networks are served by different workers (network '%s' by worker %u, "
                     "others by worker %u): shards are planned at start, so a port that joins "
                     "them must be in the configuration file (or run with workers: 1)",
                     sw->nets[i]->conf.name, sw->nets[i]->dp->id, dp->id);
            return -1;
        }
        dp = sw->nets[i]->dp;
    }
    if (!dp)
        dp = sw->dp[0];
    p->fwd->dp = dp;
    p->loop = dp->loop;
    p->rxbuf = dp->rxbuf;
    p->rxframes = dp->rxframes;
    return 0;
}

int vn_switch_set_backend(struct vn_switch *sw, const struct vn_port_ops *ops)
{
    for (unsigned i = 0; i < sw->nbackends; i++)
        if (!strcmp(sw->backends[i]->type, ops->type)) {
            sw->backends[i] = ops;
            return 0;
        }
    if (sw->nbackends >= VN_MAX_BACKENDS)
        return -1;
    sw->backends[sw->nbackends++] = ops;
    return 0;
}

struct vn_port *vn_switch_add_port(struct vn_switch *sw, const struct vn_port_conf *pc,
                                   char *err, size_t errlen)
{
    const struct vn_port_ops *ops = NULL;
    const char *type = vn_port_type_name(pc->type);
    for (unsigned i = 0; i < sw->nbackends && !ops; i++)
        if (!strcmp(sw->backends[i]->type, type))
            ops = sw->backends[i];
    if (!ops) {
        snprintf(err, errlen, "port type not supported");
        return NULL;
    }
    return vn_switch_add_port_ops(sw, pc, ops, NULL, err, errlen);
}

struct vn_port *vn_switch_add_port_ops(struct vn_switch *sw, const struct vn_port_conf *pc,
                                       const struct vn_port_ops *ops, void *priv, char *err,
                                       size_t errlen)
{
    err[0] = 0;
    if (vn_switch_find_port(sw, pc->name)) {
        snprintf(err, errlen, "port '%s' already exists", pc->name);
        return NULL;
    }
    unsigned id = 0;
    while (id < VN_MAX_PORTS && sw->ports[id])
        id++;
    if (id == VN_MAX_PORTS) {
        snprintf(err, errlen, "too many ports (at most %d)", VN_MAX_PORTS);
        return NULL;
    }
    /* The port and the switch's state of it in one allocation. */
    struct port_alloc {
        struct vn_port port;
        struct vn_port_fwd fwd;
    } *pa = calloc(1, sizeof *pa);
    if (!pa) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    struct vn_port *p = &pa->port;
    p->fwd = &pa->fwd;
    p->fwd->port = p;
    p->sw = sw;
    p->loop = sw->dp[0]->loop;
    /* vn_policy_free() on the failure paths below may run before
     * vn_policy_init(): its timers must read as not armed. */
    vn_timer_init(&p->fwd->policy.resume, NULL);
    vn_timer_init(&p->fwd->policy.q.timer, NULL);
    p->id = (uint16_t)id;
    p->ops = ops;
    p->conf = *pc;
    p->conf.acl = (struct vn_acl){ 0 };
    p->priv = priv;
    if (acl_copy(&p->fwd->acl, &pc->acl)) {
        vn_acl_free(&p->fwd->acl);
        free(p);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Storm control: a fifth of a second's worth of burst. */
    vn_bucket_init(&p->fwd->storm_bcast, pc->storm_bcast, pc->storm_bcast / 5 + 1);
    vn_bucket_init(&p->fwd->storm_mcast, pc->storm_mcast, pc->storm_mcast / 5 + 1);
    if (port_set_role(sw, p, err, errlen) || port_set_worker(sw, p, err, errlen) ||
        vn_policy_init(p) || ops->open(p, err, errlen)) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        vn_policy_free(p);
        vn_acl_free(&p->fwd->acl);
        free(p);
        return NULL;
    }
    sw->ports[id] = p;
    if (id >= sw->nports)
        sw->nports = id + 1;
    for (unsigned i = 0; i < sw->nnets; i++)
        if (vn_port_carries(p, i))
            net_add_member(sw->nets[i], p);
    vn_switch_acl_changed(sw);
    return p;
}

void vn_switch_del_port(struct vn_switch *sw, struct vn_port *p)
{
    vn_mirror_forget_port(sw, p);
    for (unsigned i = 0; i < sw->nnets; i++)
        if (vn_port_carries(p, i)) {
            net_del_member(sw->nets[i], p);
            vn_fdb_flush_port(&sw->nets[i]->fdb, p->id);
        }
    p->ops->close(p);
    vn_policy_free(p);
    vn_acl_free(&p->fwd->acl);
    sw->ports[p->id] = NULL;
    while (sw->nports && !sw->ports[sw->nports - 1])
        sw->nports--;
    free(p);
}

static inline void enqueue_raw(struct vn_switch *sw, struct vn_port *out, struct vn_frame *f)
{
    (void)sw;
    if (out->fwd->txn == VN_TXQ) {
        vn_port_drop_tx(out, VN_DROP_TX_FULL);
        return;
    }
    struct vn_swdp *dp = out->fwd->dp;
    if (out->fwd->txn == 0)
        dp->dirty[dp->ndirty++] = out;
    out->fwd->txq[out->fwd->txn++] = f;
}

void vn_mirror_frame(struct vn_switch *sw, struct vn_mirror *m, struct vn_frame *f)
{
    m->frames++;
    m->bytes += f->len;
    if (m->to)
        enqueue_raw(sw, m->to, f);
    else if (m->cap)
        m->cap_ops->frame(m->cap, f);
}

/* Queue f for port out (and for the sessions mirroring out's egress). */
static inline void enqueue(struct vn_switch *sw, struct vn_port *out, struct vn_frame *f)
{
    enqueue_raw(sw, out, f);
    for (uint8_t i = 0; i < out->fwd->nmir_out; i++)
        vn_mirror_frame(sw, out->fwd->mir_out[i], f);
}

/* Classify f (arrived on in): set f->net and strip the tag. Returns 0, or -1
 * after counting a drop. */
static int classify(struct vn_switch *sw, struct vn_port *in, struct vn_frame *f)
{
    struct vn_eth_info ei;
    if (vn_eth_parse(f->data, f->len, &ei) != VN_ETH_OK) {
        vn_port_drop_rx(in, VN_DROP_MALFORMED);
        in->fwd->dp->malformed_total++;
        return -1;
    }
    int net;
    if (in->fwd->classifies) {
        /* The backend chose the network (VXLAN: by VNI); its frames are untagged. */
        net = f->net;
        if (ei.tagged || net >= (int)sw->nnets || !vn_port_carries(in, (unsigned)net)) {
            vn_port_drop_rx(in, VN_DROP_VLAN);
            return -1;
        }
    } else if (ei.tagged && ei.vid) {
        net = in->fwd->trunk ? sw->vid_net[ei.vid] : -1;
        if (net < 0 || !vn_port_carries(in, (unsigned)net) || net == in->fwd->native_net) {
            vn_port_drop_rx(in, VN_DROP_VLAN);
            return -1;
        }
    } else {
        net = in->fwd->trunk ? in->fwd->native_net : in->fwd->access_net;
        if (net < 0) {
            vn_port_drop_rx(in, VN_DROP_VLAN);
            return -1;
        }
    }
    if (ei.tagged) { /* strip in place: move the MACs 4 bytes forward */
        memmove(f->data + VN_VLAN_HLEN, f->data, 2 * VN_ETH_ALEN);
        f->data += VN_VLAN_HLEN;
        f->len -= VN_VLAN_HLEN;
        if (f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            if (f->off.csum_start < VN_ETH_HLEN + VN_VLAN_HLEN) {
                vn_port_drop_rx(in, VN_DROP_MALFORMED);
                return -1;
            }
            f->off.csum_start -= VN_VLAN_HLEN;
        }
        if (f->off.hdr_len >= VN_VLAN_HLEN)
            f->off.hdr_len -= VN_VLAN_HLEN;
    }
    struct vn_network *n = sw->nets[net];
    /* A GSO frame is a train of segments: each must fit the MTU. */
    uint32_t l3len = f->len - VN_ETH_HLEN;
    if (f->off.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        int hl = vn_gso_hdr_len(f);
        if (hl < 0) {
            vn_port_drop_rx(in, VN_DROP_MALFORMED);
            return -1;
        }
        l3len = (uint32_t)hl - VN_ETH_HLEN + f->off.gso_size;
    }
    if (l3len > n->conf.mtu) {
        vn_port_drop_rx(in, VN_DROP_MTU);
        return -1;
    }
    f->net = (uint16_t)net;
    f->port = in->id;
    return 0;
}

/* Hand frames to p (through its egress shaper, if it has one). */
static void emit(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr, unsigned n);

/* Hand frames to p now, converting offloaded frames p cannot take: checksums are
 * completed in place (which is then valid for every later receiver too), GSO
 * frames are segmented into scratch buffers and sent in their place. */
static void emit(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    if (p->fwd->policy.out_bits.rate || p->fwd->policy.out_pkts.rate) {
        n = vn_policy_egress(sw, p, fr, n);
        if (!n)
            return;
    }
    vn_switch_emit_now(sw, p, fr, n);
}

void vn_switch_emit_now(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    (void)sw;
    struct vn_swdp *dp = p->fwd->dp;
    if (p->caps & VN_CAP_GSO) {
        p->ops->send(p, fr, n);
        return;
    }
    unsigned start = 0;
    for (unsigned i = 0; i < n; i++) {
        struct vn_frame *f = fr[i];
        if (f->off.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
            if ((f->off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !(p->caps & VN_CAP_CSUM)) {
                if (vn_csum_complete(f) == 0)
                    dp->csum_completed++;
            }
            continue;
        }
        if (i > start)
            p->ops->send(p, fr + start, i - start);
        start = i + 1;
        int k = vn_gso_segment(f, dp->segbuf, VN_GSO_BUF_SIZE, dp->segframes, VN_GSO_MAX_SEGS);
        if (k < 0) {
            dp->gso_failed++;
            vn_port_drop_tx(p, VN_DROP_MALFORMED);
            continue;
        }
        dp->gso_segmented++;
        for (int off = 0; off < k; off += VN_BATCH)
            p->ops->send(p, dp->segptrs + off, (unsigned)VN_MIN(k - off, VN_BATCH));
    }
    if (n > start)
        p->ops->send(p, fr + start, n - start);
}

/* ACL verdict for frame f from port in to port out (see fw/acl.h): rules of
 * the sender (direction in), then of the receiver (direction out), then of
 * the network; first match wins, else the network default (which address
 * resolution always passes). A rejected frame's answer goes back into in.
 * pkt is filled on first use. Returns true to forward. */
static bool acl_permit(struct vn_switch *sw, struct vn_port *in, struct vn_port *out,
                       struct vn_frame *f, struct vn_acl_pkt *pkt, bool *have_pkt)
{
    struct vn_network *net = sw->nets[f->net];
    struct vn_swdp *dp = in->fwd->dp;
    uint64_t now = vn_now_ms();
    if (!*have_pkt) {
        vn_acl_classify(f, pkt);
        if (net->tun_peer_of && pkt->ip) {
            /* rules naming vpn: from the tunnel (the gateway's forward), to it */
            if ((f->flags & VN_FRAME_F_TUNNEL) && in == net->tun_port)
                pkt->src_peer = net->tun_peer_of(net->tun_ctx, &pkt->src);
            pkt->dst_peer = net->tun_peer_of(net->tun_ctx, &pkt->dst);
        }
        pkt->established = vn_ct_lookup(&dp->ct, f->net, pkt, now);
        *have_pkt = true;
    }
    struct vn_acl_rule *r = vn_acl_match(&in->fwd->acl, 1, pkt);
    if (!r && out)
        r = vn_acl_match(&out->fwd->acl, 2, pkt);
    if (!r)
        r = vn_acl_match(&net->acl, 3, pkt);
    bool allow = r ? r->action == VN_ACL_ALLOW : vn_acl_default_allows(pkt, net->acl_default_drop);
    if (!allow && !pkt->established && pkt->proto == 6 && now < sw->ct_adopt_until_ms &&
        !(pkt->tcp_flags & (VN_TCP_SYN | VN_TCP_RST))) {
        dp->ct_adopted++;
        vn_ct_add(&dp->ct, f->net, pkt, now);
        return true;
    }
    if (r)
        r->hits++;
    if (allow && !pkt->established)
        vn_ct_add(&dp->ct, f->net, pkt, now);
    if (!allow && r && r->action == VN_ACL_REJECT) {
        size_t n = vn_reject_answer(&dp->rej, f->data, f->len, vn_now_ns());
        if (n) {
            struct vn_frame rf = { .data = dp->rej.buf, .len = (uint32_t)n, .net = f->net };
            struct vn_frame *rp = &rf;
            in->ops->send(in, &rp, 1);
        }
    }
    return allow;
}

bool vn_switch_acl_route(struct vn_switch *sw, struct vn_network *n, struct vn_acl_pkt *pkt,
                         struct vn_acl_rule **hit)
{
    (void)sw;
    uint64_t now = vn_now_ms();
    pkt->established = vn_ct_lookup(&n->dp->ct, n->id, pkt, now);
    struct vn_acl_rule *r = vn_acl_match(&n->acl, 3, pkt);
    bool allow = r ? r->action == VN_ACL_ALLOW : vn_acl_default_allows(pkt, n->acl_default_drop);
    if (r)
        r->hits++;
    if (allow && !pkt->established)
        vn_ct_add(&n->dp->ct, n->id, pkt, now);
    *hit = r;
    return allow;
}

/* Switch one batch of at most VN_BATCH frames (each port's txq holds that many). */
static void input_batch(struct vn_switch *sw, struct vn_port *in, struct vn_frame *frames,
                        unsigned n, uint32_t now_s)
{
    struct vn_swdp *dp = in->fwd->dp;
    for (unsigned i = 0; i < n; i++) {
        struct vn_frame *f = &frames[i];
        in->stats.rx_frames++;
        in->stats.rx_bytes += f->len;
        if (classify(sw, in, f))
            continue;
        struct vn_network *net = sw->nets[f->net];
        for (uint8_t m = 0; m < in->fwd->nmir_in; m++)
            vn_mirror_frame(sw, in->fwd->mir_in[m], f);
        for (uint8_t m = 0; m < net->nmir; m++)
            vn_mirror_frame(sw, net->mir[m], f);
        net->stats.frames++;
        net->stats.bytes += f->len;
        const uint8_t *dst = f->data, *src = f->data + VN_ETH_ALEN;
        enum vn_drop why = vn_policy_ingress(sw, in, f);
        if (why != VN_DROP__COUNT) {
            vn_port_drop_rx(in, why);
            continue;
        }
        if (vn_mac_is_multicast(dst) && (in->fwd->storm_bcast.rate || in->fwd->storm_mcast.rate)) {
            bool bc = (dst[0] & dst[1] & dst[2] & dst[3] & dst[4] & dst[5]) == 0xff;
            if (!vn_bucket_take(bc ? &in->fwd->storm_bcast : &in->fwd->storm_mcast, 1, vn_now_ns())) {
                vn_port_drop_rx(in, VN_DROP_STORM);
                continue;
            }
        }
        vn_fdb_learn(&net->fdb, src, in->id, now_s);
        struct vn_acl_pkt pkt;
        bool have_pkt = false;
        if (!vn_mac_is_multicast(dst)) {
            int out = vn_fdb_lookup(&net->fdb, dst, now_s);
            if (out == in->id) {
                net->stats.filtered++;
                continue;
            }
            if (out >= 0 && sw->ports[out]) {
                if (sw->acl_active && !acl_permit(sw, in, sw->ports[out], f, &pkt, &have_pkt)) {
                    vn_port_drop_rx(in, VN_DROP_ACL);
                    continue;
                }
                net->stats.unicast++;
                enqueue(sw, sw->ports[out], f);
                continue;
            }
        }
        net->stats.flooded++;
        for (unsigned m = 0; m < net->nmembers; m++) {
            struct vn_port *o = net->members[m];
            if (o == in)
                continue;
            if (sw->acl_active && !acl_permit(sw, in, o, f, &pkt, &have_pkt)) {
                vn_port_drop_tx(o, VN_DROP_ACL);
                continue;
            }
            enqueue(sw, o, f);
        }
    }
    /* One write per egress port for the whole batch. */
    for (unsigned d = 0; d < dp->ndirty; d++) {
        struct vn_port *p = dp->dirty[d];
        unsigned k = p->fwd->txn;
        p->fwd->txn = 0;
        emit(sw, p, p->fwd->txq, k);
    }
    dp->ndirty = 0;
}

void vn_switch_input(struct vn_switch *sw, struct vn_port *in, struct vn_frame *frames,
                     unsigned n)
{
    uint32_t now = tick_now_s(sw);
    struct vn_swdp *dp = in->fwd->dp;
    dp->depth++;
    for (unsigned off = 0; off < n; off += VN_BATCH)
        input_batch(sw, in, frames + off, VN_MIN(n - off, VN_BATCH), now);
    dp->depth--;
    vn_policy_after_rx(sw, in);
}
