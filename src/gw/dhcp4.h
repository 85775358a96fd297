/* DHCPv4 server of a gateway (RFC 2131, options RFC 2132/3397/3442).
 *
 * Leases are kept in a fixed table sized by the range (plus static hosts),
 * persisted atomically to STATE_DIR/leases-NETWORK.json so a restarted vnetd
 * gives a VM its address back, and expire after lease_time. */
#ifndef VN_GW_DHCP4_H
#define VN_GW_DHCP4_H

#include "pkt/ip.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct vn_gw;
struct vn_dhcp4;

/* Create the server for gw's network (gw->conf holds range, hosts, lease time,
 * domain). state_dir may be NULL or "" (leases then live in memory only).
 * Returns NULL with err. */
struct vn_dhcp4 *vn_dhcp4_new(struct vn_gw *gw, const char *state_dir, char *err, size_t errlen);
void vn_dhcp4_free(struct vn_dhcp4 *d);

/* The wall clock (seconds) leases are judged by; default (NULL) vn_wall_s.
 * Tests give a fake one to expire leases without waiting. */
void vn_dhcp4_set_clock(struct vn_dhcp4 *d, int64_t (*wall_s)(void));

/* A UDP datagram to port 67 from src_mac (ip/udp already parsed and bounded). */
void vn_dhcp4_input(struct vn_dhcp4 *d, const uint8_t src_mac[6], const struct vn_ip4 *ip,
                    const struct vn_udp *udp);

/* Host name (no domain, case-insensitive) -> address of an active lease or a
 * static host. Returns 0 and sets *ip (host order), or -1. */
int vn_dhcp4_lookup_name(struct vn_dhcp4 *d, const char *name, uint32_t *ip);
/* Address -> host name for PTR answers. Returns 0 and fills name, or -1. */
int vn_dhcp4_lookup_addr(struct vn_dhcp4 *d, uint32_t ip, char *name, size_t n);
/* MAC of the active lease of ip (for the neighbour table); 0 or -1. */
int vn_dhcp4_lookup_mac(struct vn_dhcp4 *d, uint32_t ip, uint8_t mac[6]);

/* Leases for vnetctl: array of {mac, ip, hostname, expires_in, state, static}. */
json_t *vn_dhcp4_leases_json(struct vn_dhcp4 *d);
/* Counters for vnetctl stats: {discover, offer, request, ack, nak, release,
 * decline, inform, pool_exhausted, malformed, leases_active}. */
json_t *vn_dhcp4_stats_json(struct vn_dhcp4 *d);

#endif
