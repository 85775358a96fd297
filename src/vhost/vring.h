/* One split virtqueue (virtio 1.x, 2.7) on the device side.
 *
 * Theory of operation. The guest driver owns the descriptor table and the
 * available ring, the device (vnetd) the used ring; all three live in guest
 * memory that the driver may rewrite at any moment, concurrently. So:
 *  - ring addresses are translated once, at vn_vring_start, and must lie
 *    wholly inside one region each (with the event-index fields);
 *  - avail->idx is read with acquire semantics, and the ring entries only
 *    after it; every descriptor is copied into a local before it is checked
 *    and nothing checked is read again from guest memory;
 *  - a chain is bounded: at most as many descriptors as its table has
 *    (so a loop cannot spin), at most VN_VRING_MAX_IOV buffers, one level of
 *    indirection, every buffer translated through the memory table and of the
 *    direction the caller asked for. Anything else is a driver that cannot be
 *    trusted: the ring is marked broken (vq->broken names why, a static
 *    string) and stays so until restarted;
 *  - used elements are written first (vn_vring_push) and made visible in one
 *    release store of used->idx per batch (vn_vring_publish); the decisions
 *    to interrupt the driver (vn_vring_should_call) and to ask for kicks
 *    (vn_vring_notify_enable) follow the event index rules (used_event /
 *    avail_event) when VIRTIO_RING_F_EVENT_IDX was negotiated, else the
 *    NO_INTERRUPT / NO_NOTIFY flags, with a full barrier between the store
 *    that publishes and the load that decides.
 * Little-endian only (virtio 1.x is little-endian; legacy rings are in the
 * guest's order, little-endian on x86). Sans-I/O: the caller owns the kick
 * and call eventfds. */
#ifndef VN_VHOST_VRING_H
#define VN_VHOST_VRING_H

#include "vhost/mem.h"

#include <linux/virtio_ring.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define VN_VRING_MAX_NUM 32768 /* largest queue size virtio allows */
#define VN_VRING_MAX_IOV 64    /* longest chain accepted (buffers, after indirection) */

struct vn_vring {
    uint16_t num;                          /* SET_VRING_NUM: power of two, 1..32768 */
    uint64_t desc_uva, avail_uva, used_uva; /* SET_VRING_ADDR */
    struct vring_desc *desc;               /* host pointers, valid while started */
    struct vring_avail *avail;
    struct vring_used *used;
    uint16_t last_avail;      /* next avail entry to take (SET/GET_VRING_BASE) */
    uint16_t used_idx;        /* next used entry to write (pushed, maybe not published) */
    uint16_t published;       /* used->idx as last published */
    bool event_idx, started, enabled;
    bool notify;              /* kicks wanted (vn_vring_notify_enable) */
    const char *broken;       /* NULL, or why the ring was stopped (a static string) */
    uint16_t signalled_used;  /* used->idx at the last call decided true */
    bool signalled_valid;     /* signalled_used means something (not right after start) */
    uint64_t popped, pushed, calls, broken_count;
};

/* A popped chain: its head (what vn_vring_push gives back) and its buffers
 * as host pointers (each inside one region), len = their total. */
struct vn_vring_chain {
    uint16_t head;
    unsigned niov;
    struct iovec iov[VN_VRING_MAX_IOV];
    uint64_t len;
};

/* Translate the ring addresses (desc_uva, avail_uva, used_uva; sizes from
 * num, with the event-index fields when event_idx) through mem and mark the
 * ring started (broken cleared, kicks wanted, used_idx taken from used->idx,
 * last_avail kept). Returns 0, or -1 with a reason in err (num not a power
 * of two in 1..32768, a ring misaligned or not wholly inside one region). */
int vn_vring_start(struct vn_vring *vq, const struct vn_vhost_mem *mem, bool event_idx, char *err,
                   size_t errlen);
/* Stop the ring: forget the host pointers (last_avail is kept for
 * GET_VRING_BASE). */
void vn_vring_stop(struct vn_vring *vq);
/* Mark a started ring broken with reason (a static string); it stops
 * returning chains. For callers that find a driver's violation above the
 * ring (e.g. an rx buffer shorter than the virtio-net header). */
void vn_vring_break(struct vn_vring *vq, const char *reason);
/* Whether the driver has made chains available that were not popped yet
 * (false when not started or broken). */
bool vn_vring_has_avail(const struct vn_vring *vq);
/* Take the next available chain. want_write: the chain must be all
 * device-writable (rx) or all device-readable (tx). Every buffer is
 * translated through mem; zero-length descriptors are skipped. Returns 1
 * with *c filled, 0 if none is available (or the ring is not started), -1
 * if the ring is broken (now or before: vq->broken says why). */
int vn_vring_pop(struct vn_vring *vq, const struct vn_vhost_mem *mem, bool want_write,
                 struct vn_vring_chain *c);
/* Give back the last k popped chains unused (rx: the frame did not fit);
 * they are popped again next time, in the same order. */
void vn_vring_unpop(struct vn_vring *vq, uint16_t k);
/* Write one used element (head, len bytes written into it) without making it
 * visible; vn_vring_publish then makes all pushed ones visible at once. */
void vn_vring_push(struct vn_vring *vq, uint16_t head, uint32_t len);
/* Take back the last k pushed, not yet published used elements (rx: a
 * frame spread over several chains did not fit after all). */
void vn_vring_unpush(struct vn_vring *vq, uint16_t k);
/* Make the pushed used elements visible (release store of used->idx) and,
 * with event idx and kicks wanted, move avail_event to last_avail. */
void vn_vring_publish(struct vn_vring *vq);
/* Whether the driver wants an interrupt for what was published since the
 * last call (event idx: vring_need_event on used_event;
 * else unless VRING_AVAIL_F_NO_INTERRUPT). The caller then writes the call
 * eventfd. False when nothing new was published. */
bool vn_vring_should_call(struct vn_vring *vq);
/* Ask for (on) or suppress kicks: used->flags VRING_USED_F_NO_NOTIFY, or
 * with event idx avail_event (moved to last_avail when on, left behind when
 * off). After turning kicks on the caller must look for chains once more
 * (vn_vring_has_avail / vn_vring_pop): one added meanwhile sent no kick. */
void vn_vring_notify_enable(struct vn_vring *vq, bool on);

#endif
