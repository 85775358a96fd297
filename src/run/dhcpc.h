/* A minimal DHCPv4 client for `vnetd run --dhcp`: DISCOVER, OFFER, REQUEST,
 * ACK over an AF_PACKET socket on the namespace's interface (which has no
 * address yet), then the supervising process renews the lease at T1 with a
 * REQUEST to the server (RFC 2131 sections 3.1 and 4.4.5). No DHCPINFORM,
 * no options beyond mask, router, DNS, lease time and server id. */
#ifndef VN_RUN_DHCPC_H
#define VN_RUN_DHCPC_H

#include <stdint.h>

struct vn_dhcpc_lease {
    uint32_t addr, router, server, dns; /* host byte order; 0 = none */
    uint8_t prefix;
    uint32_t lease_s;
    uint8_t mac[6];
    int ifindex;
    uint32_t xid;
};

/* Obtain a lease on ifname (up, without address). Prints why on failure.
 * Returns 0 or -1. */
int vn_dhcpc_run(int s, const char *ifname, struct vn_dhcpc_lease *l);
/* Renew l (unicast-addressed REQUEST, sent as a broadcast frame); updates
 * lease_s. Returns 0, or -1 (keep the address and try again later). */
int vn_dhcpc_renew(struct vn_dhcpc_lease *l);

/* Interface helpers shared with ns.c (ioctl based); return 0 or -1 after
 * printing the reason. */
int vn_run_if_addr(int s, const char *ifname, uint32_t addr, uint8_t prefix);
int vn_run_default_route(int s, const char *ifname, uint32_t gateway);

#endif
