/* Control command of the EVPN mirror: see evpn_cmds.h. */
#include "evpn_cmds.h"
#include "evpn/evpn.h"

#include <stdio.h>

static json_t *cmd_evpn(void *ctx, json_t *req, char *err, size_t errlen)
{
    (void)req;
    struct vn_evpn *e = *(struct vn_evpn **)ctx;
    if (!e) {
        snprintf(err, errlen, "EVPN is off (no evpn.port in the configuration)");
        return NULL;
    }
    return vn_evpn_status(e);
}

void vn_evpn_cmds_register(struct vn_ctl *ctl, struct vn_evpn **evpn)
{
    vn_ctl_register(ctl, "evpn", cmd_evpn, evpn);
}
