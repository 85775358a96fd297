/* EVPN: vnetd in a BGP EVPN fabric whose control plane is FRR, unmodified.
 *
 * Theory of operation. FRR's zebra only talks to the kernel: it advertises
 * the MACs a kernel bridge learned on its local ports (type-2 routes) and the
 * VNI of each vxlan device in a bridge (type-3), and installs what its peers
 * advertise as fdb entries of the vxlan device (remote MACs, and the flood
 * list as 00:00:00:00:00:00 entries). vnetd carries the traffic in user space
 * and owns the VXLAN UDP port, so a kernel VTEP on that port cannot exist
 * beside it. Instead, for every VNI of the vxlan port named by `evpn.port`,
 * vnetd makes a control-plane-only kernel VTEP in its own network namespace
 * (the one FRR runs in):
 *
 *     vnt<VNI>  a tap vnetd holds (it disappears when vnetd exits)
 *     vnb<VNI>  a bridge (ageing evpn.ageing), no IPv6 addresses
 *     vnx<VNI>  vxlan id VNI local <the port's address> dstport evpn.kernel_port
 *               (not vnetd's port) nolearning, lower device the tap (so it is
 *               deleted with the tap), bridge port learning off
 *
 * vnetd -> FRR: every MAC of the network in vnetd's fdb on a port other than
 * the vxlan port is written into the tap as a frame from that MAC to the
 * bridge's own address (ethertype 0x88b5): the bridge learns it on the tap
 * port and delivers the frame to itself, where it is dropped; nothing
 * reaches the vxlan device. Refreshed every ageing/3; a MAC vnetd forgets
 * ages out of the bridge, and FRR withdraws it.
 * FRR -> vnetd: an rtnetlink socket subscribed to neighbour events (and a
 * dump at start and after an overflow) feeds table.h, which turns the
 * entries zebra installed on vnx<VNI> into the vxlan port's static entries
 * and flood list (port/vxlan.h). Reading those events needs no privilege;
 * making the devices needs CAP_NET_ADMIN, at start only (evpn.create: false
 * uses devices an administrator made, with a persistent tap vnetd's user
 * may open). The design and what was measured: /work/notes/evpn-design.md,
 * and the README's Overlay section. */
#ifndef VN_EVPN_EVPN_H
#define VN_EVPN_EVPN_H

#include "conf/config.h"

#include <jansson.h>
#include <stddef.h>

struct vn_switch;
struct vn_evpn;

/* Start the mirror of c (c->port names a vxlan port of sw, already open).
 * Returns it, or NULL with the reason in err. */
struct vn_evpn *vn_evpn_open(struct vn_switch *sw, const struct vn_evpn_conf *c, char *err,
                             size_t errlen);
/* Stop: the taps close (and with them the vxlan devices); the bridges stay. */
void vn_evpn_close(struct vn_evpn *e);
/* The status (docs/control-protocol.md, "evpn"). */
json_t *vn_evpn_status(struct vn_evpn *e);

#endif
