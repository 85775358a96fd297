/* vnetctl's side of the control socket (see call.c). */
#ifndef VN_TOOLS_CALL_H
#define VN_TOOLS_CALL_H

#include <jansson.h>
#include <stddef.h>

/* The control socket when --control is not given: $VNET_CONTROL, else
 * /run/vnet/vnetd.sock for root, else $XDG_RUNTIME_DIR/vnet/vnetd.sock, else
 * /tmp/vnet-UID/vnetd.sock (the daemon's own defaults). */
void call_default_control(char *buf, size_t n);

/* Send req to the daemon at path, with pass_fd (if >= 0) attached as
 * SCM_RIGHTS, and return the "result" of its reply (a new reference). Exits
 * with status 1 and a "vnetctl: ..." message on any failure, including an
 * error reply. */
json_t *call_fd(const char *path, json_t *req, int pass_fd);

/* call_fd without a descriptor. */
json_t *call(const char *path, json_t *req);

#endif
