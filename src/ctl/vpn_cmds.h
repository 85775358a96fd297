/* Control commands of the networks' VPNs (issue 13): vpn.show,
 * vpn.peer.add, vpn.peer.del and vpn.client-config
 * (docs/control-protocol.md, "vpn.show ...").
 *
 * Who may: every client shows a VPN and asks for a peer's client
 * configuration (public keys and addresses only: no secret leaves vnetd);
 * only privileged clients (root, the daemon's own user) add and remove
 * peers, because a peer decides who may enter the network and which
 * addresses are routed to whom.
 *
 * A peer added at run time is checked as a configured one
 * (vn_conf_vpn_check_peer: not our own key, no overlap with the network's
 * subnets) and against the peers the VPN has now (name, key, prefixes),
 * and a full table refuses it with the others unchanged. Run-time changes
 * are not written back to the configuration: a restart starts again from
 * vpn.peers (as forwards, ports and ACL rules added at run time). */
#ifndef VN_CTL_VPN_CMDS_H
#define VN_CTL_VPN_CMDS_H

#include "ctl.h"
#include "switch/switch.h"

/* Register the commands above. */
void vn_vpn_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

#endif
