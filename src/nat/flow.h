/* NAT flows: the state shared by TCP, UDP and ICMP echo translations, and
 * the flow table that finds them.
 *
 * Theory of operation: every guest conversation with the outside world is a
 * flow, keyed by (protocol, guest address and port, remote address and port)
 * exactly as the guest sees it, and backed by one ordinary host socket. Flows
 * come from a pool allocated once (nat.max_flows); when the pool is empty a
 * new flow is refused (TCP: RST, UDP/ICMP: ICMP administratively prohibited)
 * and counted, while existing flows keep working. The table is a chained hash
 * on a keyed hash of the tuple. Addresses are stored dual-stack (family +
 * 16 bytes). A NAT64 flow (nat64: an IPv6 guest talking to an IPv4-embedded
 * address of the network's NAT64 prefix) is keyed by the IPv6 addresses the
 * guest uses; only its host socket is IPv4 (nat64_host says where to). */
#ifndef VN_NAT_FLOW_H
#define VN_NAT_FLOW_H

#include "core/loop.h"
#include "pkt/addr.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_nat;
struct vn_fwd;

struct vn_flow_key {
    uint8_t proto;
    uint8_t family;
    uint16_t gport, rport;   /* host byte order; ICMP: id in gport, 0 in rport */
    uint8_t gaddr[16], raddr[16];
};

enum vn_tcp_state {
    VN_TCP_CONNECTING = 0,   /* guest SYN seen, host connect() in progress */
    VN_TCP_SYN_RCVD,         /* SYN-ACK sent to the guest, waiting for its ACK */
    VN_TCP_SYN_SENT,         /* forwarded connection: SYN sent to the guest */
    VN_TCP_ESTABLISHED,
    VN_TCP_CLOSED,
};

/* Per-flow TCP state: see nat/tcp.c. Sequence numbers are the gateway's view
 * of the guest connection. */
struct vn_tcp_flow {
    enum vn_tcp_state state;
    /* guest -> host direction */
    uint32_t rcv_nxt;        /* next sequence number expected from the guest */
    uint32_t adv_wnd;        /* window we last advertised (bytes) */
    uint8_t rcv_wscale;      /* shift we apply to windows we advertise */
    /* host -> guest direction */
    uint32_t iss;            /* our initial sequence number */
    uint32_t snd_una;        /* oldest byte the guest has not acknowledged */
    uint32_t snd_nxt;        /* next byte to send */
    uint32_t snd_wnd;        /* the guest's window (bytes, scaled) */
    uint8_t snd_wscale;      /* shift the guest applies to its windows */
    uint16_t mss;            /* segment size toward the guest */
    uint8_t dupacks;
    uint8_t retries;
    bool ws_ok;              /* both sides agreed on window scaling */
    bool guest_fin;          /* guest sent FIN (and we accepted it) */
    bool host_eof;           /* host socket reached end of stream */
    bool host_rdhup;         /* epoll reported the host's FIN: a short read is not the end */
    bool host_quiet;         /* a peek found nothing beyond what is in flight: no peek
                              * until epoll reports new data (or we go back) */
    bool fin_sent, fin_acked;
    bool ack_pending;        /* an ACK to the guest is owed (or data to push) */
    bool on_ack_list;        /* linked on the NAT's ack_list */
    bool want_out;           /* waiting for EPOLLOUT on the host socket */
    bool refused;            /* the host socket refused part of a segment */
    bool peek_off;           /* SO_PEEK_OFF works on this socket */
    uint32_t rto_ms;
    struct vn_timer timer;   /* retransmission / handshake timer */
    struct vn_fwd *fwd;      /* inbound: the forward it came through */
    struct vn_flow *ack_next;/* list of flows with ack_pending */
};

struct vn_flow {
    struct vn_flow_key key;
    struct vn_nat *nat;
    struct vn_flow *hnext;   /* hash chain */
    struct vn_flow *fnext;   /* free list / all-flows list link */
    uint8_t gmac[6];         /* the guest's MAC */
    bool inbound;            /* created by a port forward */
    bool in_use;
    bool pending;            /* inbound TCP, counted in its forward's pending handshakes */
    uint16_t owner;          /* charged to (nat.max_flows_per_guest) */
    uint32_t nat64_host;     /* NAT64 (an IPv6 guest, an IPv4 host socket): the IPv4 address
                              * (host order) the socket goes to; 0 = not a NAT64 flow */
    int fd;
    struct vn_io io;
    uint64_t created_ms, last_ms;
    uint64_t bytes_out, bytes_in;   /* guest->remote, remote->guest (payload) */
    union {
        struct vn_tcp_flow tcp;
        struct {
            struct vn_fwd *fwd;             /* inbound: replies leave by the listener */
            struct sockaddr_storage peer;   /* inbound: the host client */
            socklen_t peerlen;
        } udp;
        struct {
            bool raw;                       /* raw socket (no ping socket permission) */
            uint16_t host_id;               /* id the kernel gave the ping socket */
        } icmp;
    } u;
};

#endif
