/* What the control plane may do with a vxlan port (vxlan_api.c): run-time
 * VTEPs of the flood list, static remote MACs, and listings as JSON (the
 * shapes are in docs/control-protocol.md). Networks are the switch's
 * network ids (a frame's net); a VTEP is known by its address. Every call
 * returns 0, or -1 with a reason in err. */
#ifndef VN_PORT_VXLAN_H
#define VN_PORT_VXLAN_H

#include "provider.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

extern const struct vn_port_ops vn_port_vxlan_ops;

/* Whether p is a vxlan port. */
bool vn_vxlan_is(const struct vn_port *p);

/* Add the VTEP at vtep (its UDP port; 0 = the port's own VXLAN port) to the
 * flood lists of the networks in nets (bit = network id; 0 = all the port
 * carries). An existing VTEP keeps its MACs and gets the networks added;
 * it now counts as listed (accept: listed takes its packets). */
int vn_vxlan_vtep_add(struct vn_port *p, const struct vn_sockaddr *vtep, uint64_t nets, char *err,
                      size_t errlen);
/* Take the VTEP at addr out of the flood lists of nets (0 = all). When it
 * floods no network any more it is forgotten with every MAC behind it. */
int vn_vxlan_vtep_del(struct vn_port *p, const struct vn_addr *addr, uint64_t nets, char *err,
                      size_t errlen);
/* A static entry: mac of network net is behind the VTEP at vtep (created,
 * not flooded, when unknown; port 0 = the port's VXLAN port). Static
 * entries are never aged or moved by traffic. */
int vn_vxlan_fdb_add(struct vn_port *p, uint16_t net, const uint8_t mac[6],
                     const struct vn_sockaddr *vtep, char *err, size_t errlen);
/* Remove the entry of mac in network net, learned or static. */
int vn_vxlan_fdb_del(struct vn_port *p, uint16_t net, const uint8_t mac[6], char *err,
                     size_t errlen);

/* The remote MAC table: an array of {network, mac, vtep, origin
 * ("learned"|"static"), age_s (null for static)}, of network net only
 * when net >= 0. */
json_t *vn_vxlan_fdb_json(struct vn_port *p, int net);
/* The VTEPs: an array of objects (docs/control-protocol.md, "vxlan ports"). */
json_t *vn_vxlan_vteps_json(struct vn_port *p);

#endif
