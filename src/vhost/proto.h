/* The vhost-user message protocol, device side, without I/O.
 *
 * Theory of operation. A struct vn_vhost_dev is the state one front end
 * (QEMU, a DPDK virtio-user process) builds over its connection: negotiated
 * features and protocol features, the guest memory table, and one queue
 * pair (vring 0 = rx, guest <- vnetd; vring 1 = tx, guest -> vnetd) with
 * their kick, call and error eventfds. The port (port/vhost_user.c) reads a
 * whole message (12-byte header, payload, the descriptors that came with
 * it) and hands it to vn_vhost_handle(), which checks it, acts and writes
 * the reply, if any, for the port to send. The device owns every
 * descriptor it is given from then on: it keeps the kick/call/error
 * eventfds, maps and closes memory fds, and closes any fd that came with a
 * message that takes none.
 *
 * Sizes are checked exactly per request; a request of the wrong size, a
 * version other than 1, a reply flag on a request, a vring index other
 * than 0 or 1, fds missing, more regions than VN_VHOST_MAX_REGIONS or a
 * memory table vn_vhost_mem_map refuses is a protocol violation: handle
 * returns -1 with the reason and the port closes the connection (the
 * specification lets a back end close on errors; with REPLY_ACK and
 * need_reply the front end first gets a failure ack). A request this
 * device does not implement (log, IOTLB, config space, inflight, mem slots,
 * status...) is refused: with need_reply (REPLY_ACK negotiated) by a
 * failure ack, the connection staying up; without it the front end might
 * be waiting for a reply we cannot give, so it is a violation too.
 * SEND_RARP and NET_SET_MTU (their protocol features are not offered) are
 * accepted without effect (NET_SET_MTU checks the value), acked when asked.
 *
 * Ring states follow the specification: a ring is started once it has its
 * size, addresses, a kick eventfd and the memory table (SET_VRING_KICK
 * usually completes it); GET_VRING_BASE stops it and closes its kick fd
 * (a restart sends a new one). A ring starts where its used ring stands
 * when the front end's base disagrees (see ring_update). Enabled: by SET_VRING_ENABLE when
 * VHOST_USER_F_PROTOCOL_FEATURES was negotiated, else from the start. A
 * started ring that is disabled must still consume tx (and discard it) and
 * must not be given rx frames: the port looks at vq->enabled. A new memory
 * table re-translates started rings. vn_vhost_dev_break stops both rings
 * after the data path found a hostile ring; they stay stopped until the
 * front end restarts them (GET_VRING_BASE, then a new kick) or resets. */
#ifndef VN_VHOST_PROTO_H
#define VN_VHOST_PROTO_H

#include "vhost/mem.h"
#include "vhost/vring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Requests (front end -> back end), as numbered by the specification. */
enum vn_vhost_req {
    VN_VHOST_GET_FEATURES = 1,
    VN_VHOST_SET_FEATURES = 2,
    VN_VHOST_SET_OWNER = 3,
    VN_VHOST_RESET_OWNER = 4,
    VN_VHOST_SET_MEM_TABLE = 5,
    VN_VHOST_SET_LOG_BASE = 6,
    VN_VHOST_SET_LOG_FD = 7,
    VN_VHOST_SET_VRING_NUM = 8,
    VN_VHOST_SET_VRING_ADDR = 9,
    VN_VHOST_SET_VRING_BASE = 10,
    VN_VHOST_GET_VRING_BASE = 11,
    VN_VHOST_SET_VRING_KICK = 12,
    VN_VHOST_SET_VRING_CALL = 13,
    VN_VHOST_SET_VRING_ERR = 14,
    VN_VHOST_GET_PROTOCOL_FEATURES = 15,
    VN_VHOST_SET_PROTOCOL_FEATURES = 16,
    VN_VHOST_GET_QUEUE_NUM = 17,
    VN_VHOST_SET_VRING_ENABLE = 18,
    VN_VHOST_SEND_RARP = 19,
    VN_VHOST_NET_SET_MTU = 20,
};

#define VN_VHOST_HDR_SIZE 12u
#define VN_VHOST_VERSION 0x1u        /* flags bits 0-1 */
#define VN_VHOST_FLAG_REPLY 0x4u     /* bit 2: a reply from the back end */
#define VN_VHOST_FLAG_NEED_REPLY 0x8u /* bit 3: REPLY_ACK requested */
/* Largest payload read: a memory table of 8 regions (8 + 8 * 32 bytes).
 * A larger size is a violation before the payload is read. */
#define VN_VHOST_MAX_PAYLOAD 264u
#define VN_VHOST_MAX_FDS VN_VHOST_MAX_REGIONS /* per message */
#define VN_VHOST_REPLY_MAX (VN_VHOST_HDR_SIZE + 8u)
#define VN_VHOST_VRING_IDX_MASK 0xffu /* kick/call/err u64: vring index */
#define VN_VHOST_VRING_NOFD 0x100u    /* kick/call/err u64: no fd */

/* Feature bits (virtio 1.x; vhost-user). */
#define VN_VIRTIO_NET_F_CSUM 0
#define VN_VIRTIO_NET_F_GUEST_CSUM 1
#define VN_VIRTIO_NET_F_GUEST_TSO4 7
#define VN_VIRTIO_NET_F_GUEST_TSO6 8
#define VN_VIRTIO_NET_F_HOST_TSO4 11
#define VN_VIRTIO_NET_F_HOST_TSO6 12
#define VN_VIRTIO_NET_F_MRG_RXBUF 15
#define VN_VIRTIO_RING_F_INDIRECT_DESC 28
#define VN_VIRTIO_RING_F_EVENT_IDX 29
#define VN_VHOST_USER_F_PROTOCOL_FEATURES 30
#define VN_VIRTIO_F_VERSION_1 32
#define VN_VHOST_PF_MQ 0
#define VN_VHOST_PF_REPLY_ACK 3

#define VN_BIT(b) (1ull << (b))
/* What this device offers. */
#define VN_VHOST_FEATURES                                                                      \
    (VN_BIT(VN_VIRTIO_NET_F_CSUM) | VN_BIT(VN_VIRTIO_NET_F_GUEST_CSUM) |                      \
     VN_BIT(VN_VIRTIO_NET_F_GUEST_TSO4) | VN_BIT(VN_VIRTIO_NET_F_GUEST_TSO6) |                \
     VN_BIT(VN_VIRTIO_NET_F_HOST_TSO4) | VN_BIT(VN_VIRTIO_NET_F_HOST_TSO6) |                  \
     VN_BIT(VN_VIRTIO_NET_F_MRG_RXBUF) | VN_BIT(VN_VIRTIO_RING_F_INDIRECT_DESC) |             \
     VN_BIT(VN_VIRTIO_RING_F_EVENT_IDX) | VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES) |         \
     VN_BIT(VN_VIRTIO_F_VERSION_1))
#define VN_VHOST_PROTOCOL_FEATURES (VN_BIT(VN_VHOST_PF_MQ) | VN_BIT(VN_VHOST_PF_REPLY_ACK))

#define VN_VHOST_RX 0u /* vring indexes */
#define VN_VHOST_TX 1u
#define VN_VHOST_NVQ 2u

struct vn_vhost_hdr {
    uint32_t request, flags, size;
};

/* What the port learns as it happens (all optional). */
struct vn_vhost_hooks {
    void *ctx;
    /* Ring idx's kick eventfd changes: called with -1 before the old one is
     * closed, and with the new fd once it is kept (register it). */
    void (*kick)(void *ctx, unsigned idx, int fd);
};

struct vn_vhost_dev {
    uint64_t features;          /* acked by SET_FEATURES */
    uint64_t protocol_features; /* acked by SET_PROTOCOL_FEATURES */
    bool owner;                 /* SET_OWNER seen */
    struct vn_vhost_mem mem;
    struct vn_vring vq[VN_VHOST_NVQ];
    bool has_num[VN_VHOST_NVQ], has_addr[VN_VHOST_NVQ];
    int kick_fd[VN_VHOST_NVQ], call_fd[VN_VHOST_NVQ], err_fd[VN_VHOST_NVQ];
    const char *broken;         /* why the rings were stopped (vn_vhost_dev_break), or NULL */
    uint32_t mtu;               /* NET_SET_MTU, 0 = not given */
    struct vn_vhost_hooks hooks;
    uint64_t messages, refused, breaks, mem_tables;
    uint64_t resyncs;           /* rings started at used->idx, not the front end's base */
};

/* A device with nothing negotiated and no descriptors. */
void vn_vhost_dev_init(struct vn_vhost_dev *d, const struct vn_vhost_hooks *hooks);
/* The front end is gone: stop the rings, unmap the memory, close every fd
 * (kick fds through the hook first) and forget what was negotiated; d is
 * then as vn_vhost_dev_init left it (hooks kept). */
void vn_vhost_dev_reset(struct vn_vhost_dev *d);

/* Handle one message: header h, payload (h->size bytes, at most
 * VN_VHOST_MAX_PAYLOAD), the nfds descriptors received with it (the device
 * owns them from here, on every path). The reply to send, if any, goes to
 * reply (VN_VHOST_REPLY_MAX bytes), its length to *rlen (0 = none).
 * Returns 0, or -1 on a protocol violation with the reason in err: the
 * caller sends the reply (a failure ack, if one was asked for) and closes
 * the connection. */
int vn_vhost_handle(struct vn_vhost_dev *d, const struct vn_vhost_hdr *h, const uint8_t *payload,
                    const int *fds, unsigned nfds, uint8_t *reply, size_t *rlen, char *err,
                    size_t errlen);

/* Stop both rings after the data path found ring idx broken (reason: a
 * static string): counted, the error eventfd of that ring signalled. */
void vn_vhost_dev_break(struct vn_vhost_dev *d, unsigned idx, const char *reason);

/* Whether feature bit b was negotiated. */
static inline bool vn_vhost_has(const struct vn_vhost_dev *d, unsigned b)
{
    return (d->features >> b) & 1;
}
/* Whether ring idx may carry frames now (started, enabled, not broken). */
static inline bool vn_vhost_ring_live(const struct vn_vhost_dev *d, unsigned idx)
{
    return d->vq[idx].started && d->vq[idx].enabled && !d->vq[idx].broken;
}
/* Name of a request ("SET_MEM_TABLE"), or NULL if unknown. */
const char *vn_vhost_req_name(uint32_t req);
/* Name of a feature bit this device offers ("mrg_rxbuf"), or NULL. */
const char *vn_vhost_feature_name(unsigned bit);
/* Name of a protocol feature bit this device offers ("reply_ack"), or NULL. */
const char *vn_vhost_protocol_feature_name(unsigned bit);

#endif
