/* Control commands for ACLs (acl.list|add|del|default). */
#ifndef VN_CTL_ACL_CMDS_H
#define VN_CTL_ACL_CMDS_H

#include "ctl.h"
#include "switch/switch.h"

void vn_acl_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw);

#endif
