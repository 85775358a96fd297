/* Control commands for observation: capture.start|stop|list, mirror.add|del|list. */
#ifndef VN_CTL_OBS_CMDS_H
#define VN_CTL_OBS_CMDS_H

#include "ctl.h"
#include "switch/switch.h"

void vn_obs_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

#endif
