/* DNS forwarder of a gateway, on the network's DNS address, UDP and TCP.
 *
 * Local names are answered from the DHCP leases and static hosts
 * (NAME.DOMAIN, and host.DOMAIN -> the gateway; A and AAAA, and PTR for the
 * subnet and the IPv6 /64); everything else is forwarded
 * to the upstream resolvers with a fresh random id and source port per
 * query, and the answer is matched by id, question and upstream address
 * before it is relayed back with the guest's original id. */
#ifndef VN_GW_DNS_H
#define VN_GW_DNS_H

#include "pkt/ip.h"

#include <jansson.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

struct vn_gw;
struct vn_dns;

/* Create the forwarder for gw's network (gw->conf: dns.upstream, dns.domain;
 * no upstream configured = the nameservers of /etc/resolv.conf). Returns NULL
 * with err. */
struct vn_dns *vn_dns_new(struct vn_gw *gw, char *err, size_t errlen);
void vn_dns_free(struct vn_dns *d);

/* A UDP datagram to a DNS address (IPv4 or IPv6), port 53, from a guest at
 * src_mac on switch port `port` (each port may hold a share of the pending
 * queries); the answer comes from the address it was sent to. */
void vn_dns_input_udp(struct vn_dns *d, const uint8_t src_mac[6], uint16_t port,
                      const struct vn_ipp *ip, const struct vn_udp *udp);

/* Loopback TCP address where the DNS service accepts DNS-over-TCP: the NAT
 * connects guest TCP flows to either DNS address (IPv4 or IPv6), port 53,
 * here. The service never looks at the client's address. */
const struct sockaddr_in *vn_dns_tcp_addr(struct vn_dns *d);

/* Counters: {queries_udp (of which queries_udp4 and queries_udp6 by the
 * guest's family), queries_tcp, local_answers, forwarded, answers,
 * nxdomain, servfail, timeouts, malformed, dropped_busy, ...}. */
json_t *vn_dns_stats_json(struct vn_dns *d);

/* Descriptors one DNS forwarder may hold at most (pending upstream
 * queries, guest TCP connections, listeners). */
unsigned vn_dns_fd_need(void);

#endif
