/* Port mirroring (SPAN) and the hook captures use.
 *
 * A mirror session copies frames seen on its source ports (received from the
 * peer: "in", sent to the peer: "out", or both) or everything entering a
 * network, to a destination: another port (a monitoring VM) or a sink (a
 * capture file, obs/capture.h, known to the switch only by its ops). Copies are made while the batch is switched: a port
 * destination gets the frame pointer queued like any egress frame (no copy
 * until its backend writes it); a capture writes it to its file. Frames are
 * mirrored as the network carries them (untagged, offload metadata kept). */
#ifndef VN_SWITCH_MIRROR_H
#define VN_SWITCH_MIRROR_H

#include "switch.h"

#include <jansson.h>

#define VN_MIRROR_MAX 32          /* sessions per switch */
#define VN_MIRROR_PER_PORT VN_MIRROR_SLOTS /* sessions a port can be a source of, per direction */

struct vn_capture;

/* A destination that is not a port. The session owns the sink once it was
 * added, and releases it when the session ends. */
struct vn_mirror_sink_ops {
    void (*frame)(struct vn_capture *sink, const struct vn_frame *f);
    json_t *(*json)(const struct vn_capture *sink);
    void (*release)(struct vn_capture *sink);
};

enum vn_mirror_dir { VN_MIRROR_IN = 1, VN_MIRROR_OUT = 2, VN_MIRROR_BOTH = 3 };

struct vn_mirror {
    char name[VN_NAME_MAX];
    bool in_use;
    unsigned dir;
    struct vn_port *to;          /* destination port, or NULL */
    struct vn_capture *cap;      /* destination sink (a capture), or NULL */
    const struct vn_mirror_sink_ops *cap_ops;
    int net;                     /* network source (-1 = port sources) */
    int tun_net;                 /* the tunnel of this network is the source (-1 = not) */
    bool reported;               /* a finished capture was shown to a client */
    uint64_t frames, bytes;
};

/* Create a session from the named source ports (or one network when net >= 0)
 * to a port or a sink (cap with its ops). Returns it, or NULL with err (the
 * sink then stays the caller's). */
struct vn_mirror *vn_mirror_add(struct vn_switch *sw, const char *name, struct vn_port **from,
                                unsigned nfrom, int net, unsigned dir, struct vn_port *to,
                                struct vn_capture *cap, const struct vn_mirror_sink_ops *cap_ops,
                                char *err, size_t errlen);
/* A session on the tunnel (the VPN) of network net: its inner IP packets,
 * in = received from peers, out = sent to them, to a sink only (they are
 * copied, not queued). Returns it, or NULL with err (the sink then stays the
 * caller's). */
struct vn_mirror *vn_mirror_add_tunnel(struct vn_switch *sw, const char *name, int net,
                                       unsigned dir, struct vn_capture *cap,
                                       const struct vn_mirror_sink_ops *cap_ops, char *err,
                                       size_t errlen);
/* Stop a session and detach it from its sources. */
void vn_mirror_del(struct vn_switch *sw, struct vn_mirror *m);
struct vn_mirror *vn_mirror_find(struct vn_switch *sw, const char *name);
/* Remove every session that involves port p (the port is going away). */
void vn_mirror_forget_port(struct vn_switch *sw, struct vn_port *p);
json_t *vn_mirror_list_json(struct vn_switch *sw);

/* Data path hooks (switch.c): a frame received on / sent to port p. */
void vn_mirror_frame(struct vn_switch *sw, struct vn_mirror *m, struct vn_frame *f);

/* The tunnel's hook: the IP packet ip (len bytes) crossed network n's
 * tunnel in direction dir (VN_MIRROR_IN: from a peer, VN_MIRROR_OUT: to
 * one); each session capturing it gets the packet behind an Ethernet header
 * from src to dst. Callers test n->ntmir_in / n->ntmir_out first (the hook
 * costs one branch while nothing captures). */
void vn_mirror_tunnel(struct vn_network *n, unsigned dir, const uint8_t src[6],
                      const uint8_t dst[6], const uint8_t *ip, size_t len);

#endif
