/* vpn.wg_interface: the name under which a network's VPN serves
 * WireGuard's configuration protocol (vpn/uapi_sock.c), so that `wg show
 * NAME` and `wg set NAME ...` reach it. Internal to conf/. */
#ifndef VN_CONF_VPN_WG_H
#define VN_CONF_VPN_WG_H

#include "config.h"
#include "schema.h"

/* The row's parser: a WireGuard interface name (1-15 of A-Z a-z 0-9 _ = +
 * . -, as wg-quick takes them); marks the vpn: block present. */
int vn_conf_vpn_p_wg_interface(const struct vn_conf_key *k, void *item, void *dst,
                               const char *key, const char *val, struct vn_conf_src src,
                               struct vn_conf_err *err);

/* No two networks with the same vpn.wg_interface. Returns 0 or -1. */
int vn_conf_validate_wg_interfaces(const struct vn_config *c, struct vn_conf_err *err);

#endif
