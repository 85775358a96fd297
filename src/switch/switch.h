/* The L2 switch: networks (broadcast domains), ports, and the batch path.
 *
 * Theory of operation: a port backend reads up to VN_BATCH frames per wake-up
 * into buffers that stay valid until vn_switch_input() returns, and hands them
 * over in one call. For each frame the switch classifies the network (access
 * port: its network; trunk: the 802.1Q tag, or the native network when
 * untagged; a port whose backend classifies, vxlan: the network the backend
 * set from the VNI) and strips the tag in place, enforces the network's MTU, learns the
 * source MAC in that network's fdb, and looks up the destination: a known
 * unicast MAC goes to its one port, anything else is flooded to the network's
 * other member ports. Frames are only queued (a pointer per egress port) while
 * the batch is classified; afterwards every egress port that got frames is
 * written once with its whole list (port ops send()). A frame never leaves by
 * its ingress port and never crosses into another network. Egress backends
 * add the tag for trunk ports themselves (vn_port_egress_vid()) so one
 * buffer serves ports that want it tagged and ports that don't.
 *
 * Frames may carry virtio-net offload metadata (a partial checksum, or a
 * TCP segment of up to 64 KiB to be cut into MSS-sized ones). They cross the
 * switch whole; only when the egress port lacks the capability (port->caps)
 * does the switch complete the checksum or segment the frame in software.
 *
 * Backends must not call vn_switch_input() from inside send(): services that
 * answer (the gateway) queue their replies and inject them from deferred work
 * (core/loop.h). */
#ifndef VN_SWITCH_SWITCH_H
#define VN_SWITCH_SWITCH_H

#include "conf/config.h"
#include "core/loop.h"
#include "core/bucket.h"
#include "binding.h"
#include "fdb.h"
#include "fw/conntrack.h"
#include "fw/reject.h"
#include "pkt/frame.h"
#include "port/provider.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_gw;
struct vn_mirror;
#define VN_MIRROR_SLOTS 4 /* = VN_MIRROR_PER_PORT (mirror.h) */
#define VN_CT_ADOPT_MS 60000  /* open TCP connections are adopted this long after ACLs appear */
#define VN_TXQ (VN_BATCH * 4)  /* egress list: a batch plus mirror copies */

#define VN_GSO_MAX_SEGS 256
#define VN_GSO_BUF_SIZE (256 * 1024)

struct vn_net_counters {
    uint64_t frames, bytes;  /* accepted into the network */
    uint64_t unicast;        /* forwarded to a single learned port */
    uint64_t flooded;        /* flooded (broadcast, multicast, unknown unicast) */
    uint64_t filtered;       /* destination learned on the ingress port itself */
};

/* What the switch's port policy tells a network's L3 node (its gateway),
 * which fills it in when it attaches (NULL: no gateway). Which MAC may use
 * which address the switch knows itself (struct vn_network's bind). */
struct vn_net_l3 {
    void *ctx;
    /* a guest on switch port `port` claims ip in an ARP message */
    void (*arp_claim)(void *ctx, uint16_t port, const uint8_t mac[6], uint32_t ip);
};

struct vn_swdp;

struct vn_network {
    struct vn_switch *sw;
    struct vn_swdp *dp;        /* the worker that serves it (set before its ports, gateway) */
    uint16_t id;
    struct vn_net_conf conf;
    struct vn_fdb fdb;
    struct vn_port **members;  /* ports carrying this network (VN_MAX_PORTS slots) */
    unsigned nmembers;
    struct vn_net_counters stats;
    struct vn_gw *gw;          /* gateway services, or NULL (opaque here) */
    struct vn_net_l3 l3;       /* what the port policy tells the gateway */
    struct vn_bindings bind;   /* address -> MAC bindings (binding.h), sized by the gateway */
    struct vn_mirror *mir[VN_MIRROR_SLOTS]; /* sessions copying everything entering it */
    struct vn_acl acl;         /* network rules (fw/acl.h) */
    bool acl_default_drop;
    uint8_t nmir;
    /* sessions capturing the inner packets of its tunnel (the VPN, vpn/vpn.h):
     * in = received from peers, out = sent to them */
    uint8_t ntmir_in, ntmir_out;
    struct vn_mirror *tmir_in[VN_MIRROR_SLOTS], *tmir_out[VN_MIRROR_SLOTS];
    /* its tunnel for ACL rules naming vpn (fw/acl.h), set by the VPN: the
     * name of the peer whose AllowedIPs hold a, or NULL (tun_peer_of NULL:
     * the network has no VPN); frames out of the tunnel come from tun_port
     * (the gateway's) with VN_FRAME_F_TUNNEL */
    const char *(*tun_peer_of)(void *ctx, const struct vn_addr *a);
    void *tun_ctx;
    struct vn_port *tun_port;
};

#include "policy_types.h"

/* The switch's own state of a port: what backends never see (they get
 * struct vn_port, port/provider.h). Allocated with the port. */
struct vn_port_fwd {
    struct vn_port *port;           /* the port this is the state of */
    struct vn_swdp *dp;             /* the worker that serves it (that of its networks) */
    bool trunk;
    bool classifies;                /* the backend sets each frame's network (provider.h) */
    int access_net;                 /* access port: its network; trunk: -1 */
    int native_net;                 /* trunk: untagged network or -1 */
    uint64_t nets[VN_MAX_NETWORKS / 64 > 0 ? VN_MAX_NETWORKS / 64 : 1]; /* carried networks */
    struct vn_bucket storm_bcast, storm_mcast; /* storm control (rate 0 = off) */
    struct vn_port_policy policy;   /* rate limits, port security, guards (policy.h) */
    struct vn_acl acl;              /* port rules (fw/acl.h) */
    struct vn_mirror *mir_in[VN_MIRROR_SLOTS], *mir_out[VN_MIRROR_SLOTS];
    uint8_t nmir_in, nmir_out;      /* mirror sessions this port is a source of */
    struct vn_frame *txq[VN_TXQ];   /* egress list of the batch being switched */
    unsigned txn;
};

#define VN_MAX_BACKENDS 16
#define VN_SWITCH_MAX_DP 64  /* workers (the config's workers: maximum) */

/* What one worker's frames use: one per worker thread (docs/threading.md).
 * Every frame a worker's ports receive is switched with its worker's
 * buffers, egress list, connection table and counters, so two workers
 * never share anything on the per-frame path. */
struct vn_swdp {
    struct vn_switch *sw;
    unsigned id;
    struct vn_loop *loop;                /* the worker's loop: its ports' fds and timers */
    unsigned depth;                      /* >0 while vn_switch_input() runs on this worker */
    /* Receive buffers shared by the worker's ports: a port fills them, the
     * switch consumes them before the next port reads. */
    uint8_t *rxbuf[VN_BATCH];
    struct vn_frame rxframes[VN_BATCH];
    struct vn_port *dirty[VN_MAX_PORTS]; /* ports with queued egress frames */
    unsigned ndirty;
    /* Scratch for segmenting a GSO frame toward a port without VN_CAP_GSO. */
    uint8_t *segbuf;
    struct vn_frame segframes[VN_GSO_MAX_SEGS];
    struct vn_frame *segptrs[VN_GSO_MAX_SEGS];
    struct vn_conntrack ct;              /* connections allowed by ACLs, of its networks */
    struct vn_reject rej;                /* reject answers: buffer, rate, counters */
    struct vn_timer age_timer;           /* ages the fdbs of its networks */
    uint64_t ct_adopted;                 /* open TCP connections adopted */
    uint64_t malformed_total;
    uint64_t gso_segmented, gso_failed, csum_completed;
};

struct vn_switch {
    struct vn_loop *loop;                /* the control plane's loop */
    struct vn_network *nets[VN_MAX_NETWORKS];
    unsigned nnets;
    struct vn_port *ports[VN_MAX_PORTS]; /* by id; NULL = free slot */
    unsigned nports;                     /* highest id + 1 */
    int16_t vid_net[4096];               /* VLAN id -> network index, -1 none */
    _Atomic uint32_t now_s;              /* seconds since start, for the fdb (any worker moves it) */
    uint64_t start_ns;
    struct vn_swdp *dp[VN_SWITCH_MAX_DP]; /* the workers' data path state; dp[0] always */
    unsigned ndp;
    struct vn_mirror *mirrors;           /* VN_MIRROR_MAX sessions (mirror.h) */
    uint32_t ct_max;                     /* connection table size, per worker */
    bool acl_active;                     /* any rule or default-drop anywhere */
    bool running;                        /* set-up is over (run-time changes from now) */
    uint64_t ct_adopt_until_ms;          /* see vn_switch_acl_changed() */
    const struct vn_port_ops *backends[VN_MAX_BACKENDS]; /* registered by type name */
    unsigned nbackends;
};

/* The sums of the workers' counters (struct vn_swdp). */
struct vn_switch_totals {
    uint64_t ct_adopted, malformed_total, gso_segmented, gso_failed, csum_completed;
};
void vn_switch_totals(const struct vn_switch *sw, struct vn_switch_totals *t);

/* Give the switch n workers running loops[0..n-1] (1..VN_SWITCH_MAX_DP),
 * before any network exists: dp[i] then uses loops[i]. Returns 0 or -1. */
int vn_switch_set_workers(struct vn_switch *sw, struct vn_loop *const *loops, unsigned n);
/* Serve network n on worker w (before any of its ports or its gateway). */
void vn_switch_net_set_worker(struct vn_network *n, unsigned w);


/* A switch whose control plane and one worker (dp[0]) use loop. */
struct vn_switch *vn_switch_new(struct vn_loop *loop);
/* Close every port and free everything. */
void vn_switch_free(struct vn_switch *sw);

/* Register the backend for ports of type ops->type (the daemon registers
 * port/port.c's table: the switch knows backends only through what is
 * registered). Returns 0, or -1 when the table is full. */
int vn_switch_set_backend(struct vn_switch *sw, const struct vn_port_ops *ops);

/* Add a network from its config; returns it, or NULL (err) on failure. */
struct vn_network *vn_switch_add_network(struct vn_switch *sw, const struct vn_net_conf *nc,
                                         char *err, size_t errlen);
struct vn_network *vn_switch_find_network(struct vn_switch *sw, const char *name);

/* Create and open a port from its (validated) config. Returns it, or NULL with
 * a reason in err. The port is attached only if its backend opened. */
struct vn_port *vn_switch_add_port(struct vn_switch *sw, const struct vn_port_conf *pc,
                                   char *err, size_t errlen);
/* Same with an explicit backend (services such as the gateway); priv is set
 * before ops->open runs. */
struct vn_port *vn_switch_add_port_ops(struct vn_switch *sw, const struct vn_port_conf *pc,
                                       const struct vn_port_ops *ops, void *priv, char *err,
                                       size_t errlen);
struct vn_port *vn_switch_find_port(struct vn_switch *sw, const char *name);
/* Close a port, forget its MACs and free it. */
void vn_switch_del_port(struct vn_switch *sw, struct vn_port *p);

/* Switch n frames received on port in (see theory of operation). */
void vn_switch_input(struct vn_switch *sw, struct vn_port *in, struct vn_frame *frames,
                     unsigned n);

/* Recompute whether ACLs are in use (after rules change); allocates the
 * connection table the first time. Returns 0 or -1 (ENOMEM). */
int vn_switch_acl_changed(struct vn_switch *sw);
/* The verdict of network n's rules (then its default) for an IP packet
 * that crosses n without a switch port: between its gateway and its
 * tunnel, or between two peers of the tunnel. pkt is classified with its
 * src_peer/dst_peer set by the caller; connection tracking as for frames
 * between ports; the matching rule counts a hit and is returned in *hit
 * (NULL: the default decided). Returns true to pass. Call it only while
 * sw->acl_active. */
bool vn_switch_acl_route(struct vn_switch *sw, struct vn_network *n, struct vn_acl_pkt *pkt,
                         struct vn_acl_rule **hit);

/* Deliver frames to port p now (offloads converted for its capabilities);
 * the egress shaper uses it to release queued frames. */
void vn_switch_emit_now(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr, unsigned n);

static inline bool vn_port_carries(const struct vn_port *p, unsigned net)
{
    return p->fwd->nets[net / 64] >> (net % 64) & 1;
}

#endif
