/* Internals shared by the NAT modules (nat.c, tcp.c, udp.c, icmp.c,
 * forward.c). Not for use outside src/nat. */
#ifndef VN_NAT_INTERNAL_H
#define VN_NAT_INTERNAL_H

#include "flow.h"
#include "gw/gateway.h"
#include "nat.h"

#include <sys/socket.h>

#define VN_NAT_MAX_FORWARDS 256

struct vn_fwd {
    struct vn_forward_conf conf;
    int fd;
    struct vn_io io;
    struct vn_nat *nat;
    bool in_use;
    uint64_t accepted, refused;
};

struct vn_nat_stats {
    uint64_t created[3];       /* tcp, udp, icmp */
    uint64_t refused_full;     /* flow table full */
    uint64_t refused_policy;   /* destination not allowed (e.g. loopback mapping off) */
    uint64_t tcp_conn_refused, tcp_unreachable, tcp_rst_to_guest, tcp_rst_from_guest;
    uint64_t tcp_retransmits, tcp_bad_segments, tcp_out_of_window, tcp_csum_bad;
    uint64_t udp_csum_bad, udp_send_errors, icmp_send_errors;
    uint64_t timeouts;
};

struct vn_nat {
    struct vn_gw *gw;
    const struct vn_net_conf *conf;
    struct vn_flow *pool;
    unsigned max, active;
    struct vn_flow *free_list;
    struct vn_flow **buckets;
    uint32_t bmask;
    struct vn_timer sweep;
    struct vn_flow *ack_list;   /* TCP flows owing the guest an ACK */
    struct vn_defer ack_defer;
    struct vn_fwd fwds[VN_NAT_MAX_FORWARDS];
    uint8_t *scratch;           /* discard area for peeking without SO_PEEK_OFF */
    struct vn_nat_stats stats;
};

enum { VN_NAT_TCP = 0, VN_NAT_UDP = 1, VN_NAT_ICMP = 2 };

/* Flow table. */
struct vn_flow *vn_nat_flow_find(struct vn_nat *nat, const struct vn_flow_key *k);
/* A new flow (fd -1) inserted under k, or NULL when the table is full (counted). */
struct vn_flow *vn_nat_flow_new(struct vn_nat *nat, const struct vn_flow_key *k,
                                const uint8_t gmac[6]);
/* Close the flow's socket, stop its timers and return it to the pool. */
void vn_nat_flow_free(struct vn_flow *f);

/* Where a flow's remote address really goes on the host: the gateway
 * address becomes 127.0.0.1 (map_host_loopback), the DNS address TCP:53 the
 * DNS service. Returns 0, or -1 if the destination is not reachable by
 * policy. */
int vn_nat_host_sockaddr(struct vn_nat *nat, const struct vn_flow_key *k,
                         struct sockaddr_storage *ss, socklen_t *len);
/* The reverse, for inbound forwards: how a host client's address appears to
 * the guest (loopback clients appear as the gateway address). */
struct vn_addr vn_nat_guest_view(struct vn_nat *nat, const struct sockaddr_storage *ss,
                                 uint16_t *port);

/* Protocol modules. */
void vn_nat_tcp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ip4 *ip,
                      const struct vn_frame *fr);
int vn_nat_tcp_inbound(struct vn_nat *nat, struct vn_fwd *fw, int fd,
                       const struct sockaddr_storage *peer);
void vn_nat_tcp_free(struct vn_flow *f);
void vn_nat_tcp_flush_acks(struct vn_nat *nat);
const char *vn_nat_tcp_state_name(const struct vn_flow *f);

void vn_nat_udp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ip4 *ip,
                      const struct vn_frame *fr);
/* A datagram arrived on a UDP forward listener. */
void vn_nat_udp_forward_event(struct vn_fwd *fw);

void vn_nat_icmp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ip4 *ip);

/* Forwards. */
void vn_nat_forwards_close(struct vn_nat *nat);

#endif
