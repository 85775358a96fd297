/* Command-line specs for networks and ports (see flags.c). */
#ifndef VN_CONF_FLAGS_H
#define VN_CONF_FLAGS_H

#include "config.h"

/* "--network NAME[,key=value...]": add a network; returns 0 or -1 with err. */
int vn_conf_flag_network(struct vn_config *c, const char *spec, struct vn_conf_err *err);
/* "--port NAME,type=T,network=N[,key=value...]": add a port; returns 0 or -1 with err. */
int vn_conf_flag_port(struct vn_config *c, const char *spec, struct vn_conf_err *err);

#endif
