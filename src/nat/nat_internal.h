/* Internals shared by the NAT modules (nat.c, tcp.c, udp.c, icmp.c,
 * forward.c). Not for use outside src/nat. */
#ifndef VN_NAT_INTERNAL_H
#define VN_NAT_INTERNAL_H

#include "core/accept.h"
#include "flow.h"
#include "gw/gateway.h"
#include "nat.h"

#include <sys/socket.h>

#define VN_NAT_MAX_FORWARDS 256

struct vn_fwd {
    struct vn_forward_conf conf;
    int fd;
    struct vn_io io;
    struct vn_listen_guard guard;  /* backs off when descriptors run out */
    struct vn_nat *nat;
    bool in_use;
    bool full;                     /* not accepting: nat.forward_pending handshakes open */
    unsigned pending;              /* TCP flows still waiting for the guest's SYN-ACK */
    uint64_t accepted, refused, syn_timeouts, backlog_full;
};

/* Flow owners for nat.max_flows_per_guest: guest ports by switch port id,
 * then one owner per forward. */
#define VN_NAT_OWNERS (VN_MAX_PORTS + VN_NAT_MAX_FORWARDS)

struct vn_nat_stats {
    uint64_t created[3];       /* tcp, udp, icmp */
    uint64_t refused_full;     /* flow table full */
    uint64_t refused_share;    /* the guest holds its nat.max_flows_per_guest */
    uint64_t fwd_syn_timeouts; /* forwarded connections the guest never answered */
    uint64_t refused_policy;   /* destination not allowed (e.g. loopback mapping off) */
    uint64_t tcp_conn_refused, tcp_unreachable, tcp_rst_to_guest, tcp_rst_from_guest;
    uint64_t tcp_retransmits, tcp_bad_segments, tcp_out_of_window, tcp_csum_bad;
    uint64_t udp_csum_bad, udp_send_errors, icmp_send_errors;
    uint64_t timeouts;
    uint64_t nat64_created;    /* flows of IPv6 guests to IPv4 destinations (NAT64) */
    uint64_t nat64_refused;    /* ... refused: not an address of the mapping, or by policy */
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
    unsigned share;             /* flows per owner (nat.max_flows_per_guest, resolved) */
    uint16_t owned[VN_NAT_OWNERS]; /* flows held by each owner */
    uint8_t *scratch;           /* discard area for peeking without SO_PEEK_OFF */
    struct vn_nat_sock_ops sock; /* socket()/connect() of new flows (nat.h) */
    struct vn_nat_stats stats;
};

enum { VN_NAT_TCP = 0, VN_NAT_UDP = 1, VN_NAT_ICMP = 2 };

static inline uint16_t vn_nat_fwd_owner(const struct vn_nat *nat, const struct vn_fwd *fw)
{
    return (uint16_t)(VN_MAX_PORTS + (fw - nat->fwds));
}

/* Time for flows: the gateway loop's clock, the one its timers run on. */
static inline uint64_t vn_nat_now_ms(const struct vn_nat *nat)
{
    return vn_loop_now_ms(nat->gw->loop);
}

/* Flow table. */
struct vn_flow *vn_nat_flow_find(struct vn_nat *nat, const struct vn_flow_key *k);
/* A new flow (fd -1) inserted under k and charged to owner (the guest's
 * switch port id, or vn_nat_fwd_owner()), or NULL when the table is full or
 * the owner holds its share (both counted, logged rate-limited). */
struct vn_flow *vn_nat_flow_new(struct vn_nat *nat, const struct vn_flow_key *k,
                                const uint8_t gmac[6], uint16_t owner);
/* Close the flow's socket, stop its timers and return it to the pool. */
void vn_nat_flow_free(struct vn_flow *f);

/* Where a flow's remote address really goes on the host: the gateway
 * address becomes 127.0.0.1 (gateway6: ::1) with map_host_loopback, the DNS
 * address TCP:53 the DNS service. Returns 0, or -1 if the destination is not
 * reachable by policy. */
int vn_nat_host_sockaddr(struct vn_nat *nat, const struct vn_flow_key *k,
                         struct sockaddr_storage *ss, socklen_t *len);
/* A new outbound flow f goes to host address ss (vn_nat_host_sockaddr):
 * when that is NAT64 (an IPv6 guest, an address of the NAT64 prefix, an
 * IPv4 socket) note the IPv4 address in f->nat64_host and count it. */
void vn_nat64_note(struct vn_flow *f, const struct sockaddr_storage *ss);
/* The reverse, for inbound forwards: how a host client's address appears to
 * a guest of family (loopback clients, and clients of the other family,
 * appear as the gateway's address of that family). */
struct vn_addr vn_nat_guest_view(struct vn_nat *nat, const struct sockaddr_storage *ss,
                                 uint16_t *port, uint8_t family);

/* The guest and remote addresses of a flow key. */
static inline struct vn_addr vn_flow_gaddr(const struct vn_flow_key *k)
{
    struct vn_addr a = { .family = k->family };
    memcpy(a.a, k->gaddr, 16);
    return a;
}
static inline struct vn_addr vn_flow_raddr(const struct vn_flow_key *k)
{
    struct vn_addr a = { .family = k->family };
    memcpy(a.a, k->raddr, 16);
    return a;
}
/* The key of a guest packet ip: proto, guest = source, remote = destination. */
static inline struct vn_flow_key vn_nat_key(uint8_t proto, const struct vn_ipp *ip, uint16_t gport,
                                            uint16_t rport)
{
    struct vn_flow_key k = { .proto = proto, .family = ip->family, .gport = gport, .rport = rport };
    memcpy(k.gaddr, ip->src.a, 16);
    memcpy(k.raddr, ip->dst.a, 16);
    return k;
}
/* Send the ICMP error k (extra: MTU) to flow f's guest about a packet it
 * sent, rebuilt from the flow: an IP header guest -> remote and the first
 * l4len (at most 20) bytes l4 of its transport header. */
void vn_nat_flow_error(struct vn_flow *f, const uint8_t *l4, size_t l4len, enum vn_icmp_err k,
                       uint32_t extra);
/* The ICMP error for a failed host socket call (errno e): net, host or
 * administratively prohibited. */
enum vn_icmp_err vn_nat_errno_icmp(int e);

/* Protocol modules. */
void vn_nat_tcp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                      const struct vn_frame *fr);
int vn_nat_tcp_inbound(struct vn_nat *nat, struct vn_fwd *fw, int fd,
                       const struct sockaddr_storage *peer);
void vn_nat_tcp_free(struct vn_flow *f);
/* Reset the host side of f (SO_LINGER 0) and free it; the guest is not told. */
void vn_nat_tcp_abort_host(struct vn_flow *f);
void vn_nat_tcp_flush_acks(struct vn_nat *nat);
const char *vn_nat_tcp_state_name(const struct vn_flow *f);

void vn_nat_udp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                      const struct vn_frame *fr);
/* A datagram arrived on a UDP forward listener. */
void vn_nat_udp_forward_event(struct vn_fwd *fw);

void vn_nat_icmp_input(struct vn_nat *nat, const uint8_t gmac[6], const struct vn_ipp *ip,
                       const struct vn_frame *fr);

/* Forwards. */
void vn_nat_forwards_close(struct vn_nat *nat);
/* A forwarded TCP flow of fw left the handshake (answered, or gone): one
 * fewer pending; the forward accepts again if it had stopped. */
void vn_nat_forward_handshake_done(struct vn_fwd *fw);

#endif
