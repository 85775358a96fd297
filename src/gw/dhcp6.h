/* DHCPv6 server of a gateway (RFC 8415; DNS options RFC 3646).
 *
 * dhcp6.mode stateless answers Information-request with the DNS server and
 * search list (and Solicit/Request with NoAddrsAvail); stateful also leases
 * addresses of dhcp6.range to IA_NAs, keyed by DUID and IAID, honours
 * dhcp6.hosts reservations (by DUID, or by the MAC of a DUID-LL/LLT or of
 * the frame), and persists bound leases atomically to
 * STATE_DIR/leases6-NETWORK.json so a restarted vnetd gives a VM its
 * address back. Neither mode gives temporary addresses or delegates
 * prefixes: IA_TAs are answered NoAddrsAvail and IA_PDs NoPrefixAvail (the
 * IA_NAs of the same message served as usual). The server identifier is
 * the DUID-LL of the gateway's MAC. */
#ifndef VN_GW_DHCP6_H
#define VN_GW_DHCP6_H

#include "conf/config.h"
#include "pkt/ip.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct vn_gw;
struct vn_dhcp6;

/* Start the DHCPv6 server of gw (gw->conf->dhcp6_mode != VN_DHCP6_OFF);
 * leases from/to state_dir. NULL with err on failure. */
struct vn_dhcp6 *vn_dhcp6_new(struct vn_gw *gw, const char *state_dir, char *err, size_t errlen);
void vn_dhcp6_free(struct vn_dhcp6 *d);
/* A UDP datagram to port 547 from a guest (ip: family-neutral view, pkt/ip.h
 * struct vn_ipp; u: its parsed UDP header). */
void vn_dhcp6_input(struct vn_dhcp6 *d, const uint8_t src_mac[6], const struct vn_ipp *ip,
                    const struct vn_udp *u);
json_t *vn_dhcp6_stats_json(struct vn_dhcp6 *d);
json_t *vn_dhcp6_leases_json(struct vn_dhcp6 *d);   /* for vnetctl leases */
/* The address leased or reserved for name (DNS AAAA of lease names). Returns 0 or -1. */
int vn_dhcp6_lookup_name(struct vn_dhcp6 *d, const char *name, struct vn_addr *out);
/* The name of the client holding addr (DNS PTR), or NULL. */
const char *vn_dhcp6_name_of(struct vn_dhcp6 *d, const struct vn_addr *addr);

/* The wall clock (seconds) leases are judged by; default (NULL) vn_wall_s.
 * Tests give a fake one to expire leases without waiting. */
void vn_dhcp6_set_clock(struct vn_dhcp6 *d, int64_t (*wall_s)(void));

/* How many address bindings (switch/binding.h) the server of network c may
 * hold beyond its reservations: the gateway sizes the table with it. */
uint32_t vn_dhcp6_bindings_max(const struct vn_net_conf *c);

#endif
