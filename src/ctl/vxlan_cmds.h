/* Control commands of the vxlan ports: vtep.list, vtep.add, vtep.del,
 * fdb.add, fdb.del (docs/control-protocol.md, "vtep.list ..." and "fdb"),
 * and what fdb and stats show of a vxlan port (the helpers below, called
 * by switch_cmds.c).
 *
 * Who may: every client lists; only privileged clients (root, the daemon's
 * own user) change a port's VTEPs and static remote MACs. Adding a vxlan
 * port is root's call because it decides where vnetd sends the networks'
 * traffic and whom it accepts it from; the flood list and static entries
 * decide the same, so they follow it (as uplinks, the host's side of the
 * network, are root's).
 *
 * Run-time changes are not written back to the configuration: a restart
 * starts again from `remotes` (as forwards, ports and ACL rules added at run
 * time). Changes the EVPN mirror made are its own: the operator's requests
 * leave them alone (port/vxlan.h, enum vn_vxlan_by). */
#ifndef VN_CTL_VXLAN_CMDS_H
#define VN_CTL_VXLAN_CMDS_H

#include "ctl.h"
#include "conf/config.h"
#include "switch/switch.h"

#include <stdbool.h>

/* Register the commands above. */
void vn_vxlan_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

/* Parse a VTEP as a request names it: "ADDR", "ADDR:PORT", "[V6ADDR]" or
 * "[V6ADDR]:PORT" (a bare IPv6 address has no port). out->port is 0 when
 * no port is given. Returns 0, or -1 with err. */
int vn_vxlan_cmds_parse_vtep(const char *s, struct vn_sockaddr *out, char *err, size_t errlen);

/* fdb: set row's "vtep" and "origin" (null when the port has no remote
 * entry for it) for a switch fdb entry of network net on vxlan port p. */
void vn_vxlan_cmds_fdb_row(struct vn_port *p, uint16_t net, const uint8_t mac[6], json_t *row);
/* fdb: append to rows the remote entries of network n whose MAC the
 * switch's fdb does not hold (static or EVPN entries that have sent nothing
 * yet, learned ones the switch aged first). A MAC the switch has on any
 * port is listed once, with the switch's entry: that is where it goes. */
void vn_vxlan_cmds_fdb_remote_only(struct vn_switch *sw, struct vn_network *n, json_t *rows);
/* stats: add a vxlan port's "vteps" and "vxlan_drops" to its object o. */
void vn_vxlan_cmds_stats(struct vn_port *p, json_t *o);

#endif
