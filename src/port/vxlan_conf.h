/* The config of a vxlan port: its keys, their checks, and the MTU it gives
 * the networks it carries (vxlan_conf.c). */
#ifndef VN_PORT_VXLAN_CONF_H
#define VN_PORT_VXLAN_CONF_H

#include "conf/schema.h"

extern const struct vn_conf_port_type vn_vxlan_conf_type;

/* The MTU of the interface holding address a (getifaddrs), or 1500 when
 * a is unspecified or held by no interface. */
uint32_t vn_vxlan_underlay_mtu(const struct vn_addr *a);

/* Encapsulation overhead on an underlay of family f (50 IPv4, 70 IPv6). */
uint32_t vn_vxlan_overhead(int family);

#endif
