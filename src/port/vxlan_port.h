/* The state of one vxlan port, shared by its files (internal to
 * src/port/vxlan*.c): vxlan.c (sockets, open/close, the ageing timer),
 * vxlan_rx.c (decapsulation), vxlan_tx.c (encapsulation and head-end
 * replication), vxlan_api.c (status JSON and the control plane's calls). */
#ifndef VN_PORT_VXLAN_PORT_H
#define VN_PORT_VXLAN_PORT_H

#include "provider.h"
#include "vxlan_hdr.h"
#include "vxlan_table.h"

#include <sys/socket.h>

/* UDP source ports a port sends from (one socket each, bound to kernel-
 * chosen ephemeral ports); a frame's flow hash picks one, which is the
 * entropy ECMP paths see. */
#define VN_VXLAN_TX_SOCKETS 8

/* One received datagram handed to vn_vxlan_rx(): its UDP payload (VXLAN
 * header first) in a buffer the switch may use until the call returns,
 * and where it came from. Datagrams split from one UDP_GRO buffer follow
 * each other in memory, which is what lets their frames merge. */
struct vn_vxlan_dgram {
    uint8_t *data;
    uint32_t len;
    uint32_t room; /* free bytes behind it in its buffer (the last of a buffer) */
    struct vn_addr src;
};

/* Why packets were dropped at decapsulation, and other events, beyond the
 * port's rx_drops by reason (the reason each maps to in brackets). */
struct vn_vxlan_stats {
    uint64_t bad_header;    /* shorter than the VXLAN header (malformed) */
    uint64_t no_i_flag;     /* I flag clear (malformed) */
    uint64_t unknown_vni;   /* a VNI the port does not carry (vni) */
    uint64_t unlisted;      /* from a VTEP not accepted, accept: listed (vtep) */
    uint64_t vtep_full;     /* accept: any, no room for one more VTEP (vtep) */
    uint64_t truncated;     /* inner frame shorter than an Ethernet header (malformed) */
    uint64_t bad_inner_src; /* inner source MAC multicast or zero (malformed) */
    uint64_t inner_vlan;    /* inner frame 802.1Q/802.1ad-tagged, RFC 7348 6.1 (vlan) */
    uint64_t rx_truncated;  /* datagram larger than the receive buffer (malformed) */
    uint64_t no_vtep;       /* a frame to flood and no VTEP to flood it to (tx no_peer) */
    uint64_t too_big;       /* the underlay refused a datagram's size, DF (tx mtu) */
    /* offloads (not drops) */
    uint64_t gso_trains;    /* UDP_SEGMENT sends (vxlan_tx.c) */
    uint64_t gso_refused;   /* trains the kernel refused, sent one by one instead */
    uint64_t coalesced;     /* received frames merged into the one before (vxlan_gro.h) */
    uint64_t gro_buffers;   /* received UDP_GRO buffers holding several datagrams */
};

struct vn_vxlan_txq; /* vxlan_tx.c */
struct vn_vxlan;

/* One of the port's UDP sockets. */
struct vn_vxlan_sock {
    struct vn_vxlan *x;
    int fd;                           /* -1 = not open */
    struct vn_io io;
    uint16_t port;                    /* the UDP port it is bound to */
    bool csum_on;                     /* IPv4: sends UDP checksums now (for trains) */
};

struct vn_vxlan {
    struct vn_port *port;
    int family;                       /* of the underlay: AF_INET or AF_INET6 */
    struct vn_vxlan_sock rx;          /* bound to local:port */
    struct vn_vxlan_sock tx[VN_VXLAN_TX_SOCKETS]; /* bound to local:ephemeral */
    unsigned ntx;
    bool udp_gso;                     /* the kernel takes UDP_SEGMENT trains */
    uint16_t local_port;              /* learned VTEPs are sent to it (rx.port) */
    struct vn_vx_table tab;
    uint32_t net_vni[VN_MAX_NETWORKS];                 /* by network id; 0 = not carried */
    const struct vn_net_conf *net_conf[VN_MAX_NETWORKS]; /* by network id */
    struct {
        uint32_t vni;
        uint16_t net;
    } vnis[VN_MAX_NETWORKS];          /* sorted by vni */
    unsigned nvnis;
    uint64_t carried;                 /* mask of network ids */
    uint32_t underlay_mtu;
    uint64_t start_ns;                /* the table's clock counts seconds from here */
    struct vn_timer age;
    struct vn_vxlan_stats st;
    struct vn_vxlan_txq *txq;         /* send scratch */
};

/* Seconds on the table's clock (the loop's clock, so tests can step it). */
uint32_t vn_vxlan_now(const struct vn_vxlan *x);
/* The network id of vni, or -1 when the port does not carry it. */
int vn_vxlan_vni_net(const struct vn_vxlan *x, uint32_t vni);

/* Decapsulate n datagrams (at most VN_BATCH): check each, learn its inner
 * source, merge TCP segments that arrived as one train (vxlan_gro.h), and
 * hand the frames to the switch with their networks set. Every datagram is
 * counted: as a frame the switch receives, as merged into the one before
 * (st.coalesced), or as a drop. */
void vn_vxlan_rx(struct vn_vxlan *x, struct vn_vxlan_dgram *d, unsigned n);

/* The port's send(): encapsulate and send each frame to its VTEP, or to
 * every VTEP of its network's flood list. */
void vn_vxlan_send(struct vn_port *p, struct vn_frame **frames, unsigned n);
int vn_vxlan_txq_init(struct vn_vxlan *x);
void vn_vxlan_txq_free(struct vn_vxlan *x);

/* describe(): the port's status (vxlan_api.c, documented in
 * docs/control-protocol.md). */
void vn_vxlan_describe(struct vn_port *p, json_t *o);

#endif
