/* User-mode NAT of a gateway: guest TCP, UDP and ICMP echo flows mapped onto
 * ordinary host sockets (no privileges), plus port forwards from host
 * listeners into guests. See nat/tcp.c for the TCP design. */
#ifndef VN_NAT_NAT_H
#define VN_NAT_NAT_H

#include "conf/config.h"
#include "pkt/ip.h"
#include "pkt/frame.h"

#include <jansson.h>
#include <sys/socket.h>

struct vn_gw;
struct vn_nat;

struct vn_nat *vn_nat_new(struct vn_gw *gw, char *err, size_t errlen);

/* The host socket calls the NAT makes once per new outbound TCP or UDP flow:
 * socket() and connect(). The defaults are the system calls; tests give
 * fakes that record where a flow goes and redirect or fail the connect. The
 * data path (send, recv) works on the flow's descriptor directly, and time
 * comes from the gateway loop's clock (vn_loop_set_clock). */
struct vn_nat_sock_ops {
    int (*socket)(void *ctx, int domain, int type, int protocol);
    int (*connect)(void *ctx, int fd, const struct sockaddr *sa, socklen_t len);
    void *ctx;
};
/* Replace the socket calls (NULL: back to the system calls). */
void vn_nat_set_sock_ops(struct vn_nat *nat, const struct vn_nat_sock_ops *ops);
void vn_nat_free(struct vn_nat *nat);
/* Give gw the NAT engine it needs (nat networks: NAT; networks with DNS:
 * DNS over TCP only), attached as the gateway's next hop (gw->next). The
 * gateway frees it. Returns 0 (also when none is needed), or -1 with err. */
int vn_nat_attach(struct vn_gw *gw, char *err, size_t errlen);

/* A packet (IPv4 or IPv6) from a guest (src_mac) that the NAT handles:
 * anything not addressed to the gateway's own services. f is the whole
 * frame (offload metadata included). */
void vn_nat_input(struct vn_nat *nat, const uint8_t src_mac[6], const struct vn_ipp *ip,
                  const struct vn_frame *f);

/* Port forwards at run time. Return 0, or -1 with err (e.g. port in use). */
int vn_nat_forward_add(struct vn_nat *nat, const struct vn_forward_conf *fc, char *err,
                       size_t errlen);
int vn_nat_forward_del(struct vn_nat *nat, int proto, const struct vn_sockaddr *host, char *err,
                       size_t errlen);
json_t *vn_nat_forwards_json(struct vn_nat *nat);
/* Flows for vnetctl: proto, guest side, remote side, state, bytes each way, age. */
json_t *vn_nat_flows_json(struct vn_nat *nat);
json_t *vn_nat_stats_json(struct vn_nat *nat);

#endif
