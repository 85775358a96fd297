/* Per-port ingress/egress policy: rate limits, port security, DHCP/RA guard.
 *
 * Theory of operation: each frame entering the switch from port p passes
 * vn_policy_ingress() after its network is known: the ingress policer (bits
 * and packets per second, token buckets), the allowed source MACs and the
 * per-port MAC limit, the DHCP-server/router-advertisement guard (only the
 * gateway, uplinks and ports marked trusted may send them: DHCPv4 and
 * DHCPv6 server messages, router advertisements and redirects, found
 * behind any IPv6 extension headers; fragmented neighbour discovery and
 * first fragments without their upper-layer header are dropped, and so are
 * IPv6 packets whose header chain does not parse, as malformed), the
 * gateway's addresses (no guest speaks from them or advertises them),
 * neighbour discovery that claims what is not the sender's (an address
 * another MAC holds in the network's binding table, a link-layer address
 * other than the frame's source; duplicate address detection of a free
 * address records it for the sender's MAC, binding.h), and IP source
 * binding (IPv4, ARP and IPv6 sources must be listed addresses or bound to
 * that MAC in the table: DHCPv4/DHCPv6 leases and reservations, DAD
 * claims; IPv6 also the EUI-64 link-local address of the MAC, and :: for
 * DAD, MLD reports and router solicitations). Frames leaving a port pass
 * vn_policy_egress() (the egress shaper: a bounded queue released at the
 * configured rate, so TCP toward the port sees delay rather than loss). A failing frame is dropped and
 * counted under its reason. The ingress rate limit of a port whose backend
 * exposes its receive fd (p->rx_io) is a shaper instead of a policer: every
 * frame is accepted and charged, and when the bucket is in debt the switch
 * stops reading from the port until it is paid back, so the guest sees
 * backpressure (its TCP slows down) rather than loss. Everything is per port
 * and allocation-free. */
#ifndef VN_SWITCH_POLICY_H
#define VN_SWITCH_POLICY_H

#include "switch.h"


/* Set up p->policy from p->conf; returns 0 or -1 (ENOMEM). */
int vn_policy_init(struct vn_port *p);
void vn_policy_free(struct vn_port *p);

/* VN_DROP__COUNT if frame f (untagged, f->net set) may enter from p, else the
 * reason to drop it. */
enum vn_drop vn_policy_ingress(struct vn_switch *sw, struct vn_port *p, const struct vn_frame *f);
/* After a batch from p: if its ingress shaper is in debt, stop reading from
 * it until the debt is paid (reads resume from a timer). */
void vn_policy_after_rx(struct vn_switch *sw, struct vn_port *p);

/* Egress shaper: keeps in fr[] (compacted, returns their count) the frames
 * that may leave p now; the others are copied to p's queue and released by a
 * timer as the rate allows, or dropped (policer) when the queue is full. */
unsigned vn_policy_egress(struct vn_switch *sw, struct vn_port *p, struct vn_frame **fr,
                          unsigned n);

#endif
