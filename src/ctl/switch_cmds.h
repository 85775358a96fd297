/* Control commands that expose the switch (status, networks, ports, fdb, stats). */
#ifndef VN_CTL_SWITCH_CMDS_H
#define VN_CTL_SWITCH_CMDS_H

#include "ctl.h"
#include "switch/switch.h"

void vn_switch_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

#endif
