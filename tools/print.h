/* vnetctl's human-readable output of each reply (see print.c). */
#ifndef VN_TOOLS_PRINT_H
#define VN_TOOLS_PRINT_H

#include <jansson.h>

/* A printer: the result of a reply, and the request it answers (a printer
 * may depend on what was asked: `stats PORT` is not `stats`). */
typedef void print_fn(json_t *result, json_t *request);

/* The string member k of o, or "-" if there is none. */
const char *jstr(json_t *o, const char *k);
/* The integer member k of o, or 0. */
long long jint(json_t *o, const char *k);

/* The -j output: r as indented JSON. */
void print_json(json_t *r);

print_fn print_ok, print_status, print_networks, print_ports, print_fdb, print_stats,
    print_leases, print_conflicts, print_flows, print_forwards, print_acls, print_mirrors,
    print_evpn, print_vteps, print_vpn_show, print_vpn_peer, print_vpn_peer_del;

/* stats: the VTEPs of the vxlan ports among ports, as a table after a blank
 * line (nothing without vxlan ports); one: the counters of one port. */
void print_vtep_counters(json_t *ports, int one);

#endif
