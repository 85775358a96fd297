/* virtio-net over a vring: the virtio_net_hdr in front of every frame, tx
 * chains into frames, frames into rx chains (mergeable receive buffers).
 *
 * Theory of operation. A tx chain (guest -> vnetd) is a header of hdr_len
 * bytes followed by the frame, spread over any number of readable buffers
 * (the header may be split, or share a buffer with the frame); it is copied
 * out into one contiguous buffer, because the guest can rewrite its memory
 * at any moment and the switch must parse a stable copy, and the header is
 * checked and turned into struct vn_offload. An rx frame (vnetd -> guest)
 * goes into one writable chain, or with VIRTIO_NET_F_MRG_RXBUF into as many
 * chains as it needs, the first header's num_buffers saying how many; when
 * the ring has too little room nothing is consumed (the chains taken are
 * given back with vn_vring_unpop) and the caller drops or retries. */
#ifndef VN_VHOST_VNET_H
#define VN_VHOST_VNET_H

#include "pkt/frame.h"
#include "vhost/mem.h"
#include "vhost/vring.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Header length: 12 (struct virtio_net_hdr_mrg_rxbuf) when VIRTIO_F_VERSION_1
 * or VIRTIO_NET_F_MRG_RXBUF was negotiated, else 10. */
size_t vn_vnet_hdr_len(uint64_t features);
/* Guest -> switch: copy the frame of tx chain c (after a hdr_len header) into
 * buf (cap bytes), fill off from the header (checked: gso type TCPV4/TCPV6/
 * NONE only, no ECN bit, gso_size > 0 with GSO, csum_start/offset inside the
 * frame with NEEDS_CSUM; flags other than NEEDS_CSUM/DATA_VALID ignored).
 * Returns the frame length, or -1 (malformed: shorter than the header plus
 * an Ethernet header, longer than cap, a bad header: count and drop, the
 * ring stays OK). */
int vn_vnet_tx_frame(const struct vn_vring_chain *c, size_t hdr_len, uint8_t *buf, size_t cap,
                     struct vn_offload *off);
/* Switch -> guest: write one frame (iov/niov, with offload metadata off, NULL
 * for none) into the rx ring vq: one chain, or with mergeable buffers as many
 * as needed (num_buffers set). Returns 1 delivered, 0 no room (nothing
 * consumed), -1 ring broken (a chain shorter than the header also breaks it).
 * Pushes the used elements; the caller publishes once per batch. */
int vn_vnet_rx_frame(struct vn_vring *vq, const struct vn_vhost_mem *mem, size_t hdr_len,
                     bool mergeable, const struct iovec *iov, unsigned niov,
                     const struct vn_offload *off);

#endif
