/* The port provider interface: what a port backend (one file per type in src/port/) may see of
 * a port and of the switch, and what it must provide.
 *
 * Theory of operation: a backend is one file: a struct vn_port_ops under its
 * type name, with the config keys and checks of its ports (ops->conf). It
 * is listed once, in port/port.c's table, which registers the keys with
 * the config layer when the program starts and which the daemon registers
 * with the switch (the switch never looks a backend up by itself). The switch creates the
 * struct vn_port, fills the fields marked "switch", and calls open(); from
 * then on the backend reads frames into the shared receive buffers
 * (rxbuf/rxframes, valid until vn_port_input() returns), hands them over
 * with vn_port_input(), and writes what send() gives it, tagging trunk
 * frames with vn_port_egress_vid(). A backend whose port type classifies
 * (conf->classifies: vxlan, which tells networks apart by VNI) sets the
 * network of every frame it hands over itself (f->net, one of the networks
 * vn_port_networks() lists; the frame untagged), and the switch takes it as
 * given instead of reading a VLAN tag. Everything else of a port — its network
 * membership, policy, ACLs, mirrors and egress queue — is the switch's own
 * (struct vn_port_fwd, switch/switch.h), which a backend never includes:
 * scripts/check-layers.sh fails the build when port/ includes switch/. */
#ifndef VN_PORT_PROVIDER_H
#define VN_PORT_PROVIDER_H

#include "conf/config.h"
#include "core/loop.h"
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
    VN_DROP_VNI,           /* VXLAN network identifier not carried by the port */
    VN_DROP_VTEP,          /* VXLAN packet from a VTEP the port does not accept */
    VN_DROP__COUNT
};
const char *vn_drop_name(enum vn_drop d);

struct vn_counters {
    uint64_t rx_frames, rx_bytes;  /* received from the port's peer */
    uint64_t tx_frames, tx_bytes;  /* delivered to the port's peer */
    uint64_t rx_drops[VN_DROP__COUNT];
    uint64_t tx_drops[VN_DROP__COUNT];
};

struct vn_switch;                  /* opaque to backends */
struct vn_conf_port_type;          /* conf/schema.h */
struct vn_port_fwd;                /* the switch's state of a port (switch/switch.h) */
struct vn_port_ops;

struct vn_port {
    /* switch: set before open(), constant afterwards */
    struct vn_switch *sw;
    struct vn_port_fwd *fwd;
    uint16_t id;
    const struct vn_port_ops *ops;
    struct vn_port_conf conf;
    struct vn_loop *loop;
    uint8_t *const *rxbuf;          /* VN_BATCH shared receive buffers (VN_RXBUF_SIZE + headroom) */
    struct vn_frame *rxframes;      /* VN_BATCH frame slots for them */
    /* backend: kept up to date by the backend */
    void *priv;                     /* backend state */
    bool connected;                 /* a peer is attached (stream/dgram) or link up (tap) */
    unsigned caps;                  /* VN_CAP_*: offloaded frames it accepts */
    struct vn_io *rx_io;            /* the receive fd, if reads can be paused (rate limits) */
    struct vn_counters stats;       /* rx counted by the switch, tx by send() */
};

/* A backend: one file per type in src/port/, listed in port/port.c. */
struct vn_port_ops {
    const char *type;               /* the config's type name */
    /* Its config keys, checks and what a client that is not root may do
     * with it (conf/schema.h), registered with the config layer at start. */
    const struct vn_conf_port_type *conf;
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
    /* Add backend-specific fields (peer, path, ifname...) to a JSON object;
     * the daemon's "port ready" log line is made from them. */
    void (*describe)(struct vn_port *p, json_t *obj);
    /* Optional: reads were resumed after a rate-limit pause (process what the
     * backend buffered meanwhile). */
    void (*rx_resume)(struct vn_port *p);
};

/* Hand n received frames (in p->rxframes or the backend's own buffers) to the
 * switch. Not from inside send(). */
void vn_port_input(struct vn_port *p, struct vn_frame *frames, unsigned n);

/* Count delivery of one frame of len bytes to p's peer (from send()). */
static inline void vn_port_tx_ok(struct vn_port *p, size_t len)
{
    p->stats.tx_frames++;
    p->stats.tx_bytes += len;
}
/* Count a drop of one frame on port p (rx: from its peer; tx: toward it). */
void vn_port_drop_rx(struct vn_port *p, enum vn_drop why);
void vn_port_drop_tx(struct vn_port *p, enum vn_drop why);

/* VLAN id to tag frames of network net with when leaving p (0 = untagged). */
uint16_t vn_port_egress_vid(const struct vn_port *p, uint16_t net);
/* Whether reads are paused by the port's ingress rate limit: backends that
 * read in a loop stop when this turns true. */
bool vn_port_rx_paused(const struct vn_port *p);
/* The largest MTU of the networks p carries. */
uint32_t vn_port_max_mtu(const struct vn_port *p);
/* The networks p carries, in the switch's order: their ids (as in a frame's
 * net) into ids[] and their configuration (valid while the switch lives)
 * into confs[], at most max of each. Returns how many p carries. */
unsigned vn_port_networks(const struct vn_port *p, uint16_t *ids, const struct vn_net_conf **confs,
                          unsigned max);

#endif
