/* A batch of outgoing UDP datagrams of one socket, sent together.
 *
 * Theory of operation. The VPN encrypts packets one at a time, but sends
 * them in batches: vn_udp_tx_add() copies a datagram into the batch and
 * asks the loop to flush after the current round of events; a full batch,
 * a datagram too large for a slot, or the round's end flushes. At a flush,
 * runs of consecutive datagrams to one address, all of one size but the
 * last (which may be shorter), become UDP_SEGMENT trains: one message the
 * kernel cuts into datagrams (the single stream of a TCP transfer is such
 * a run); the messages go with one sendmmsg(). When the kernel refuses a
 * train (no UDP GSO on the route) the batch falls back to one datagram per
 * message for the rest of the socket's life. Order is kept. */
#ifndef VN_VPN_UDP_TX_H
#define VN_VPN_UDP_TX_H

#include "core/loop.h"
#include "pkt/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VN_UDP_TX_BATCH 64
#define VN_UDP_TX_SLOT 2048     /* larger datagrams are sent on their own */

struct vn_udp_tx {
    int fd;
    struct vn_loop *loop;
    struct vn_defer flush;
    bool no_gso;                /* the kernel refused a train once */
    unsigned n;
    uint16_t len[VN_UDP_TX_BATCH];
    struct vn_addr to[VN_UDP_TX_BATCH];
    uint16_t port[VN_UDP_TX_BATCH];
    uint8_t (*buf)[VN_UDP_TX_SLOT];
    uint64_t sent, dropped, trains, syscalls;
};

/* Set up t for socket fd (allocates the slots). Returns 0 or -1. */
int vn_udp_tx_init(struct vn_udp_tx *t, struct vn_loop *loop, int fd);
void vn_udp_tx_free(struct vn_udp_tx *t);

/* Queue len bytes to ip:port (host order). Datagrams that cannot be sent
 * are counted in dropped. */
void vn_udp_tx_add(struct vn_udp_tx *t, const struct vn_addr *ip, uint16_t port, const void *buf,
                   size_t len);

/* Send what is queued now. */
void vn_udp_tx_flush(struct vn_udp_tx *t);

#endif
