/* Control commands of the gateway services: leases, flows, forward list|add|del. */
#ifndef VN_CTL_GW_CMDS_H
#define VN_CTL_GW_CMDS_H

#include "ctl.h"
#include "switch/switch.h"

void vn_gw_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

#endif
