/* The L2 switch: networks (broadcast domains), ports, and the batch path.
 *
 * Theory of operation: a port backend reads up to VN_BATCH frames per wake-up
 * into buffers that stay valid until vn_switch_input() returns, and hands them
 * over in one call. For each frame the switch classifies the network (access
 * port: its network; trunk: the 802.1Q tag, or the native network when
 * untagged) and strips the tag in place, enforces the network's MTU, learns the
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
#include "fdb.h"
#include "fw/conntrack.h"
#include "pkt/frame.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Why a frame was dropped; counted per port and in total. */
enum vn_drop {
    VN_DROP_MALFORMED = 0, /* runt, bad source MAC, stacked tags, bad framing */
    VN_DROP_MTU,           /* larger than the network's MTU */
    VN_DROP_VLAN,          /* tag (or lack of one) not carried by the port */
    VN_DROP_NO_PEER,       /* egress port has no peer connected */
    VN_DROP_TX_FULL,       /* egress backlog full / peer not reading */
    VN_DROP_TX_ERROR,      /* egress write failed */
    VN_DROP_STORM,         /* over the port's broadcast/multicast storm limit */
    VN_DROP_POLICER,       /* over the port's rate limit */
    VN_DROP_SPOOF,         /* source MAC/IP (or ARP claim) not allowed on the port */
    VN_DROP_MAC_LIMIT,     /* more source MACs than the port may use */
    VN_DROP_GUARD,         /* DHCP server message or router advertisement from a VM port */
    VN_DROP_ACL,           /* denied by an ACL rule or the network's default policy */
    VN_DROP__COUNT
};
const char *vn_drop_name(enum vn_drop d);

struct vn_counters {
    uint64_t rx_frames, rx_bytes;  /* received from the port's peer */
    uint64_t tx_frames, tx_bytes;  /* delivered to the port's peer */
    uint64_t rx_drops[VN_DROP__COUNT];
    uint64_t tx_drops[VN_DROP__COUNT];
};

struct vn_switch;
struct vn_port;
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

/* What a network's L3 node (its gateway) tells the switch's port policy.
 * The gateway fills it in when it attaches; the switch knows the gateway
 * only through it (everything NULL: no gateway). */
struct vn_net_l3 {
    void *ctx;
    /* ip (host order) is one of the gateway's own addresses */
    bool (*owns)(void *ctx, uint32_t ip);
    /* ip is leased (or reserved) to mac by the network's DHCP server */
    bool (*bound)(void *ctx, uint32_t ip, const uint8_t mac[6]);
    /* a guest on switch port `port` claims ip in an ARP message */
    void (*arp_claim)(void *ctx, uint16_t port, const uint8_t mac[6], uint32_t ip);
};

struct vn_network {
    struct vn_switch *sw;
    uint16_t id;
    struct vn_net_conf conf;
    struct vn_fdb fdb;
    struct vn_port **members;  /* ports carrying this network (VN_MAX_PORTS slots) */
    unsigned nmembers;
    struct vn_net_counters stats;
    struct vn_gw *gw;          /* gateway services, or NULL (opaque here) */
    struct vn_net_l3 l3;       /* the gateway's answers for port policy */
    struct vn_mirror *mir[VN_MIRROR_SLOTS]; /* sessions copying everything entering it */
    struct vn_acl acl;         /* network rules (fw/acl.h) */
    bool acl_default_drop;
    uint8_t nmir;
};

struct vn_port_ops;
#include "policy_types.h"

struct vn_port {
    struct vn_switch *sw;
    uint16_t id;
    const struct vn_port_ops *ops;
    struct vn_port_conf conf;
    bool trunk;
    int access_net;                 /* access port: its network; trunk: -1 */
    int native_net;                 /* trunk: untagged network or -1 */
    uint64_t nets[VN_MAX_NETWORKS / 64 > 0 ? VN_MAX_NETWORKS / 64 : 1]; /* carried networks */
    bool connected;                 /* a peer is attached (stream/dgram) or link up (tap) */
    unsigned caps;                  /* VN_CAP_*: offloaded frames it accepts */
    struct vn_io *rx_io;            /* the backend's receive fd, if reads can be paused */
    struct vn_counters stats;
    struct vn_bucket storm_bcast, storm_mcast; /* storm control (rate 0 = off) */
    struct vn_port_policy policy;   /* rate limits, port security, guards (policy.h) */
    struct vn_acl acl;              /* port rules (fw/acl.h) */
    struct vn_mirror *mir_in[VN_MIRROR_SLOTS], *mir_out[VN_MIRROR_SLOTS];
    uint8_t nmir_in, nmir_out;      /* mirror sessions this port is a source of */
    struct vn_frame *txq[VN_TXQ];   /* egress list of the batch being switched */
    unsigned txn;
    void *priv;                     /* backend state */
};

/* Backend interface: one file per type in src/port/. */
struct vn_port_ops {
    const char *type;
    /* The sandbox must keep CAP_NET_RAW while a port of this type exists. */
    bool needs_net_raw;
    /* Create sockets/devices and register with the loop. Returns 0, or -1 with
     * a reason in err (errlen bytes). */
    int (*open)(struct vn_port *p, char *err, size_t errlen);
    /* Write n frames (frames' net says which network; tag per vn_port_egress_vid).
     * Must count tx_frames/tx_bytes or a tx drop for each frame. */
    void (*send)(struct vn_port *p, struct vn_frame **frames, unsigned n);
    /* Release everything, remove sockets it created. */
    void (*close)(struct vn_port *p);
    /* Add backend-specific fields (peer, path, ifname...) to a JSON object. */
    void (*describe)(struct vn_port *p, json_t *obj);
    /* Optional: reads were resumed after a rate-limit pause (process what the
     * backend buffered meanwhile). */
    void (*rx_resume)(struct vn_port *p);
};

struct vn_switch {
    struct vn_loop *loop;
    struct vn_network *nets[VN_MAX_NETWORKS];
    unsigned nnets;
    struct vn_port *ports[VN_MAX_PORTS]; /* by id; NULL = free slot */
    unsigned nports;                     /* highest id + 1 */
    int16_t vid_net[4096];               /* VLAN id -> network index, -1 none */
    struct vn_port *dirty[VN_MAX_PORTS]; /* ports with queued egress frames */
    unsigned ndirty;
    uint32_t now_s;                      /* seconds since start, for the fdb */
    unsigned depth;                      /* >0 while vn_switch_input() runs */
    uint64_t start_ns;
    struct vn_timer age_timer;
    /* Receive buffers shared by all ports: a port fills them, the switch
     * consumes them before the next port reads. */
    uint8_t *rxbuf[VN_BATCH];
    struct vn_frame rxframes[VN_BATCH];
    /* Scratch for segmenting a GSO frame toward a port without VN_CAP_GSO. */
    uint8_t *segbuf;
    struct vn_frame segframes[VN_GSO_MAX_SEGS];
    struct vn_frame *segptrs[VN_GSO_MAX_SEGS];
    struct vn_mirror *mirrors;           /* VN_MIRROR_MAX sessions (mirror.h) */
    struct vn_conntrack ct;              /* connections allowed by ACLs */
    uint32_t ct_max;
    bool acl_active;                     /* any rule or default-drop anywhere */
    bool running;                        /* set-up is over (run-time changes from now) */
    uint64_t ct_adopt_until_ms;          /* see vn_switch_acl_changed() */
    uint64_t ct_adopted;                 /* open TCP connections adopted */
    uint8_t rejbuf[640];                 /* scratch for reject answers */
    uint64_t malformed_total;
    uint64_t gso_segmented, gso_failed, csum_completed;
    const struct vn_port_ops *backends[VN_PORT__COUNT]; /* registered by port/ */
};

struct vn_switch *vn_switch_new(struct vn_loop *loop);
/* Close every port and free everything. */
void vn_switch_free(struct vn_switch *sw);

/* Count delivery of one frame of len bytes to p's peer (backends and the
 * gateway call this from their send op). */
static inline void vn_port_tx_ok(struct vn_port *p, size_t len)
{
    p->stats.tx_frames++;
    p->stats.tx_bytes += len;
}

/* Register the backend for ports of type t (the port layer does this: the
 * switch knows backends only through what is registered). */
void vn_switch_set_backend(struct vn_switch *sw, enum vn_port_type t, const struct vn_port_ops *ops);

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

/* Deliver frames to port p now (offloads converted for its capabilities);
 * the egress shaper uses it to release queued frames. */
void vn_switch_emit_now(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr, unsigned n);

/* VLAN id to tag frames of network net with when leaving port p (0 = untagged). */
static inline uint16_t vn_port_egress_vid(const struct vn_port *p, uint16_t net)
{
    if (!p->trunk || (int)net == p->native_net)
        return 0;
    return p->sw->nets[net]->conf.vlan;
}
/* Whether the port's reads are paused by its ingress rate limit: backends
 * that read in a loop stop when this turns true. */
static inline bool vn_port_rx_paused(const struct vn_port *p) { return p->policy.paused; }

static inline bool vn_port_carries(const struct vn_port *p, unsigned net)
{
    return p->nets[net / 64] >> (net % 64) & 1;
}

/* Count a drop of one frame on port p (rx: from its peer; tx: toward it). */
void vn_port_drop_rx(struct vn_port *p, enum vn_drop why);
void vn_port_drop_tx(struct vn_port *p, enum vn_drop why);

#endif
