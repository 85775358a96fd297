/* Control command of the EVPN mirror: evpn (its status, evpn/evpn.h). */
#ifndef VN_CTL_EVPN_CMDS_H
#define VN_CTL_EVPN_CMDS_H

#include "ctl.h"

struct vn_evpn;

/* Register "evpn"; *evpn is read at each call (NULL: EVPN is off). */
void vn_evpn_cmds_register(struct vn_ctl *ctl, struct vn_evpn **evpn);

#endif
