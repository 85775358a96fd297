/* The per-port policy state embedded in struct vn_port (see policy.h). */
#ifndef VN_SWITCH_POLICY_TYPES_H
#define VN_SWITCH_POLICY_TYPES_H

#include "core/bucket.h"
#include "core/loop.h"

#include <stdbool.h>
#include <stdint.h>

/* Egress shaper queue: frames waiting for the egress rate limit, copied
 * into a ring allocated when the port is created. */
struct vn_egress_q {
    uint8_t *ring;
    size_t cap, head, tail, used;
    unsigned frames;
    struct vn_timer timer;
};

struct vn_port_policy {
    struct vn_bucket in_bits, in_pkts, out_bits, out_pkts;
    bool any;                    /* something to check at all */
    bool guard;                  /* enforce the DHCP/RA guard */
    bool dad_claimed;            /* claimed an address by DAD (binding.h) once */
    uint16_t dad_limit;          /* DAD claims the port may hold per network */
    uint8_t (*macs)[6];          /* source MACs seen, for max_macs */
    unsigned nmacs;
    bool shaping;                /* ingress limit enforced by pausing reads */
    bool paused;
    struct vn_timer resume;
    struct vn_egress_q q;        /* egress shaper (rate.out) */
};

#endif
