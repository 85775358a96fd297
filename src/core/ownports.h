/* The daemon's own listening ports on the host, so that NAT never carries a
 * guest to them through the host's loopback (map_host_loopback).
 *
 * Internal helpers (the DNS-over-TCP listeners) and the metrics endpoint
 * register for every network; a port forward registers for its own network
 * only (a guest reaching its own network's forward through the host would
 * be a loop; for the guests of other networks it is a published service
 * like any other on the host). */
#ifndef VN_CORE_OWNPORTS_H
#define VN_CORE_OWNPORTS_H

#include <stdbool.h>
#include <stdint.h>

#define VN_OWN_ALL_NETWORKS (-1)

/* Note that the daemon listens on (proto, port), hidden from network net
 * (or VN_OWN_ALL_NETWORKS). Returns 0, or -1 when the table is full. */
int vn_own_port_add(uint8_t proto, uint16_t port, int net);
void vn_own_port_del(uint8_t proto, uint16_t port, int net);
/* Whether a guest of network net must not reach (proto, port). */
bool vn_own_port(uint8_t proto, uint16_t port, int net);

#endif
