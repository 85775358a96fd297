/* Receive offload of a vxlan port: consecutive inner TCP segments of one
 * flow become one TSO frame (what GRO does in a kernel), so a guest behind
 * a tap gets 64 KiB at a time instead of one write per segment.
 *
 * Theory of operation. The port's sockets use UDP_GRO: a burst a peer sent
 * as one UDP_SEGMENT train (vnetd does, see vxlan_tx.c) arrives as one
 * buffer of equal-sized datagrams, which the port splits in place. Frames
 * that were neighbours in such a buffer (the next one starts right after
 * the previous datagram), came from the same VTEP and network, and are
 * segments of one TCP connection in order are merged: the first keeps its
 * headers and the payloads of the others are moved up behind it, in the
 * same buffer (never past where they were, so nothing else is touched).
 * Datagrams that arrived one by one (a peer that does not send trains, or
 * a path without UDP GRO) each fill a buffer of their own: a frame that
 * owns the free space behind it (the last of its buffer, or a head that
 * took in every frame behind it in place) takes the next frames' payloads
 * by copy, as far as the space lasts; a frame copied from another buffer
 * ends the moves in place (its neighbours there are copied too).
 * The rules are those of kernel GRO: IPv4 without options, DF, no
 * fragment, incrementing IDs, the same TOS and TTL, a valid header
 * checksum, or IPv6 without extension headers, the same traffic class,
 * flow label and hop limit; the same MACs, ports, ACK, window and TCP
 * options; only ACK (PSH on the last: it ends the train), the next
 * sequence number, every segment but the last of the first one's size; a
 * valid TCP checksum on every segment (a damaged one is passed on alone,
 * for the guest to drop), at most 64 KiB of IP. The merged frame carries
 * virtio-net GSO metadata (TCPV4/TCPV6, the segment size) and a partial
 * checksum, which the switch keeps for ports that take offloads and
 * resolves (segments again, byte for byte the segments that arrived) for
 * the others. */
#ifndef VN_PORT_VXLAN_GRO_H
#define VN_PORT_VXLAN_GRO_H

#include "pkt/frame.h"

#include <stdint.h>

/* Merge runs of f[0..n) in place, keeping order. Neighbours: f[i].data
 * is gap bytes after the end of f[i-1] as it arrived; f[i].port holds
 * the frame's VTEP and f[i].net its network, which must be equal too.
 * Returns the number of frames left; *merged grows by the number of
 * frames merged into the one before. */
unsigned vn_vxlan_gro(struct vn_frame *f, unsigned n, unsigned gap, uint64_t *merged);
/* The same, where frames that are not neighbours may merge too: room[i]
 * (NULL: all 0) is how many bytes behind f[i] are free in its buffer (the
 * last datagram of a buffer). A frame that owns such room, alone or after
 * its neighbours merged into it, takes the payloads of the next frames
 * (of other buffers) by copy while they fit. */
unsigned vn_vxlan_gro_room(struct vn_frame *f, unsigned n, unsigned gap, const uint32_t *room,
                           uint64_t *merged);

#endif
