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

/* Who changes a port's tables. The EVPN mirror (VN_VXLAN_BY_EVPN) follows
 * the fabric: its calls are idempotent, the VTEP it names for a MAC is made
 * (not flooded) when unknown, and a VTEP it takes out of its last flood list
 * stays while MACs are behind it. The operator (VN_VXLAN_BY_CONTROL: vnetctl
 * through the control socket) gets what docs/control-protocol.md promises:
 * refused are a VTEP already in the flood list of every network named, the
 * port's own address (or an unspecified or multicast one), a static MAC
 * behind a VTEP the port does not know, and changes to what the EVPN mirror
 * owns; a VTEP it takes out of its last flood list is forgotten with every
 * MAC behind it (so it is no longer accepted). Listings name the origin:
 * "evpn" or "control" (and "config", "learned"; MACs "static"). */
enum vn_vxlan_by { VN_VXLAN_BY_CONTROL = 0, VN_VXLAN_BY_EVPN };

/* Add the VTEP at vtep (its UDP port; 0 = the port's own VXLAN port for a
 * new VTEP, unchanged for a known one) to the flood lists of the networks
 * in nets (bit = network id; 0 = all the port carries). An existing VTEP
 * keeps its MACs and gets the networks added; it now counts as listed
 * (accept: listed takes its packets). */
int vn_vxlan_vtep_add(struct vn_port *p, const struct vn_sockaddr *vtep, uint64_t nets,
                      enum vn_vxlan_by by, char *err, size_t errlen);
/* Take the VTEP at addr out of the flood lists of nets (0 = all). */
int vn_vxlan_vtep_del(struct vn_port *p, const struct vn_addr *addr, uint64_t nets,
                      enum vn_vxlan_by by, char *err, size_t errlen);
/* A static entry: mac of network net is behind the VTEP at vtep (port 0 =
 * the port's VXLAN port, for a VTEP the EVPN mirror makes). Static entries
 * are never aged or moved by traffic; one replaces a learned or static
 * entry of the same MAC. */
int vn_vxlan_fdb_add(struct vn_port *p, uint16_t net, const uint8_t mac[6],
                     const struct vn_sockaddr *vtep, enum vn_vxlan_by by, char *err,
                     size_t errlen);
/* Remove the entry of mac in network net, learned or static. */
int vn_vxlan_fdb_del(struct vn_port *p, uint16_t net, const uint8_t mac[6], enum vn_vxlan_by by,
                     char *err, size_t errlen);

/* What the port knows of one remote MAC. */
struct vn_vxlan_remote {
    struct vn_addr vtep;
    const char *origin;   /* "learned", "static" or "evpn" */
    int64_t age_s;        /* since last seen; -1 for static and evpn entries */
};
/* The entry of (net, mac) into r: 0, or -1 when there is none (or it expired). */
int vn_vxlan_fdb_get(struct vn_port *p, uint16_t net, const uint8_t mac[6],
                     struct vn_vxlan_remote *r);

/* The remote MAC table: an array of {network, mac, vtep, origin
 * ("learned"|"static"|"evpn"), age_s (null unless learned)}, of network net
 * only when net >= 0. */
json_t *vn_vxlan_fdb_json(struct vn_port *p, int net);
/* The VTEPs: an array of objects (docs/control-protocol.md, "vxlan ports"). */
json_t *vn_vxlan_vteps_json(struct vn_port *p);

#endif
