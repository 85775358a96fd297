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
/* IPv6 extension headers (RFC 8200 4.1) */
#define VN_IPPROTO_HOPOPTS 0
#define VN_IPPROTO_ROUTING 43
#define VN_IPPROTO_FRAGMENT 44
#define VN_IPPROTO_NONE 59
#define VN_IPPROTO_DSTOPTS 60
#define VN_IP6_EXT_MAX 8      /* extension headers accepted before the upper layer */

enum vn_ip_err {
    VN_IP_OK = 0,
    VN_IP_SHORT,      /* fewer bytes than the header or total length says */
    VN_IP_VERSION,    /* not the expected version */
    VN_IP_HDRLEN,     /* IHL below 5 or beyond the packet */
    VN_IP_CSUM,       /* header checksum wrong */
    VN_IP_BADADDR,    /* multicast/broadcast/zero source */
    VN_IP_EXTHDR,     /* IPv6: extension header chain malformed, misplaced or too long */
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

/* A parsed IPv6 packet: the fixed header, then the extension header chain
 * walked up to the upper-layer header (or, in a non-first fragment, up to
 * the fragment's data). */
struct vn_ip6 {
    uint8_t tclass, hlim;
    uint32_t flow;
    uint8_t src[16], dst[16];
    uint8_t proto;        /* upper-layer protocol (after the extension headers) */
    const uint8_t *hdr;
    uint16_t tot_len;     /* 40 + payload length */
    uint16_t ext_len;     /* bytes of extension headers */
    bool hbh;             /* a hop-by-hop options header was present */
    /* fragment header (RFC 8200 4.5) */
    bool frag;            /* the packet is a fragment (has a fragment header) */
    bool mf;
    uint16_t frag_off;    /* in 8-byte units */
    uint32_t frag_id;
    uint16_t unfrag_len;  /* bytes before the fragment header (the unfragmentable part) */
    uint16_t frag_nh_off; /* offset from hdr of the next-header byte naming the fragment header */
    const uint8_t *l4;    /* upper-layer header (fragment data for a non-first fragment) */
    uint16_t l4_len;
};

/* Parse an IPv6 packet at p (len bytes available, possibly with Ethernet
 * padding after the payload). Extension headers are walked with bounds
 * checks: hop-by-hop only first, at most VN_IP6_EXT_MAX, each within the
 * payload; a fragment with a non-zero offset stops the walk. Jumbograms are
 * refused. Returns VN_IP_OK or the first problem. */
enum vn_ip_err vn_ip6_parse(const uint8_t *p, size_t len, struct vn_ip6 *ip);

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

/* The family-neutral view of a parsed IPv4 or IPv6 packet: what the
 * gateway's services, its ICMP errors and the NAT work on. */
#include "addr.h"
struct vn_ipp {
    uint8_t family;       /* AF_INET or AF_INET6 */
    uint8_t proto;        /* upper-layer protocol */
    uint8_t ttl;          /* TTL or hop limit */
    uint8_t tos;          /* TOS or traffic class */
    bool frag;            /* a fragment (not reassembled) */
    bool later_frag;      /* a fragment other than the first (offset not 0) */
    struct vn_addr src, dst;
    const uint8_t *hdr;   /* the IP header */
    uint16_t len;         /* bytes from hdr to the end of the packet */
    const uint8_t *l4;    /* upper-layer header */
    uint16_t l4_len;
};
void vn_ipp_from4(const struct vn_ip4 *ip, struct vn_ipp *out);
void vn_ipp_from6(const struct vn_ip6 *ip, struct vn_ipp *out);

#endif
