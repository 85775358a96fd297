/* IPv6 neighbour discovery of the gateway (RFC 4861) and its router
 * advertisements (RFC 4861 6.2, RDNSS/DNSSL of RFC 8106).
 *
 * Theory of operation: the gateway answers neighbour solicitations for its
 * own IPv6 addresses (link-local, service address, DNS address) with
 * advertisements carrying the router flag, defends them against a guest's
 * duplicate address detection, and learns guests' link-layer addresses
 * from their NS/NA into the neighbour table (l3.h), whose rules keep an
 * active owner's entry from being replaced by another MAC. It never
 * answers for an address that is not its own, so a guest's tentative
 * address is never claimed. Every NDP message is validated as RFC 4861
 * 7.1 asks (hop limit 255, code 0, checksum, lengths, options of non-zero
 * length within the message) before it is looked at. Router
 * advertisements (prefix for SLAAC, MTU, RDNSS, DNSSL, M/O flags from the
 * DHCPv6 mode) go out to all nodes on a jittered timer, three fast ones
 * after start, and to a soliciting guest on RS (a token bucket bounds how
 * many a flood of RS can cause). */
#ifndef VN_GW_ND_H
#define VN_GW_ND_H

#include "pkt/addr.h"
#include "pkt/ip.h"

#include <stdint.h>

struct vn_gw;

/* Set up the gateway's IPv6 addresses from its config and MAC (ll6, addr6,
 * dns6, router6, prefix6; all left unset when the network serves no IPv6)
 * and start the router advertisement timer. */
void vn_gw_nd_init(struct vn_gw *gw);
/* Stop the timer. */
void vn_gw_nd_stop(struct vn_gw *gw);
/* An ICMPv6 neighbour discovery message (types 133-137) from a guest:
 * returns true when it was one (handled or dropped as invalid, counted),
 * false when the ICMPv6 type is not neighbour discovery. */
bool vn_gw_nd_input(struct vn_gw *gw, const uint8_t smac[6], const struct vn_ip6 *ip);
/* Send a neighbour solicitation for target (to its solicited-node group). */
void vn_gw_nd_solicit(struct vn_gw *gw, const struct vn_addr *target);
/* The link-local address of mac (fe80:: + modified EUI-64). */
struct vn_addr vn_nd_link_local(const uint8_t mac[6]);

#endif
