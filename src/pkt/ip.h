/* IPv4, IPv6, UDP, TCP and ICMP header parsing with bounds checks.
 * Every parser takes a pointer and the bytes available and either fills its
 * info struct or returns an error code; none reads past the given length. */
#ifndef VN_PKT_IP_H
#define VN_PKT_IP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_IPPROTO_ICMP 1
#define VN_IPPROTO_TCP 6
#define VN_IPPROTO_UDP 17
#define VN_IPPROTO_ICMPV6 58

enum vn_ip_err {
    VN_IP_OK = 0,
    VN_IP_SHORT,      /* fewer bytes than the header or total length says */
    VN_IP_VERSION,    /* not the expected version */
    VN_IP_HDRLEN,     /* IHL below 5 or beyond the packet */
    VN_IP_CSUM,       /* header checksum wrong */
    VN_IP_BADADDR,    /* multicast/broadcast/zero source */
};

struct vn_ip4 {
    uint8_t ihl;          /* header bytes */
    uint8_t tos, ttl, proto;
    uint16_t tot_len, id;
    bool df, mf;
    uint16_t frag_off;    /* in 8-byte units */
    uint32_t src, dst;    /* host byte order */
    const uint8_t *hdr;
    const uint8_t *l4;    /* payload */
    uint16_t l4_len;
};

/* Parse an IPv4 header at p (len bytes available, possibly with Ethernet
 * padding after tot_len). check_csum verifies the header checksum. */
enum vn_ip_err vn_ip4_parse_hdr(const uint8_t *p, size_t len, bool check_csum, struct vn_ip4 *ip);

struct vn_udp {
    uint16_t sport, dport, len;
    const uint8_t *data;
    uint16_t dlen;
};
/* Parse a UDP header; the UDP length must fit len. Returns 0 or -1. */
int vn_udp_parse(const uint8_t *p, size_t len, struct vn_udp *u);

#define VN_TCP_FIN 0x01
#define VN_TCP_SYN 0x02
#define VN_TCP_RST 0x04
#define VN_TCP_PSH 0x08
#define VN_TCP_ACK 0x10
#define VN_TCP_URG 0x20
#define VN_TCP_ECE 0x40
#define VN_TCP_CWR 0x80

struct vn_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t hlen;         /* header bytes, options included */
    uint8_t flags;
    uint16_t win;         /* raw window field */
    /* options (SYN only for mss/wscale/sack_ok) */
    uint16_t mss;         /* 0 = absent */
    int8_t wscale;        /* -1 = absent */
    bool sack_ok;
    bool has_ts;
    uint32_t ts_val, ts_ecr;
    const uint8_t *data;
    size_t dlen;
};
/* Parse a TCP header and its options. Returns 0 or -1 (bad offset or options). */
int vn_tcp_parse(const uint8_t *p, size_t len, struct vn_tcp *t);

struct vn_icmp {
    uint8_t type, code;
    uint16_t id, seq;     /* echo request/reply */
    const uint8_t *data;  /* after the 8-byte header */
    size_t dlen;
};
int vn_icmp_parse(const uint8_t *p, size_t len, struct vn_icmp *ic);

#endif
