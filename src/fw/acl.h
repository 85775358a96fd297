/* ACLs (micro-segmentation) with connection tracking.
 *
 * Theory of operation. Rules live in ordered lists: one per port and one per
 * network. A rule matches on direction (relative to a port: "in" = sent by
 * the port's peer into the switch, "out" = delivered by the switch to the
 * peer), MACs, ethertype, source/destination prefixes of either IP family,
 * protocol, port ranges, ICMP/ICMPv6 type and code, and connection state
 * (new or established). A frame from port A to port B is checked against
 * A's "in" rules, then B's "out" rules, then the network's rules (whose
 * direction field is not used: a network rule sees every frame of the
 * network); the first match decides (allow, drop, or reject: TCP RST or
 * ICMP/ICMPv6 administratively prohibited back to the sender, rate-limited).
 * No match: the network's default policy. Every rule counts its hits.
 *
 * Families: a rule with an IPv4 prefix (or proto icmp, or ethertype ipv4)
 * matches IPv4 packets only, one with an IPv6 prefix (or proto icmpv6, or
 * ethertype ipv6) IPv6 packets only; a rule that says neither (proto tcp,
 * ports, state...) matches both. IPv6 packets are read behind their
 * extension headers (pkt/ip.c's parser); a later fragment has no ports.
 *
 * Address resolution (ARP, and IPv6 neighbour discovery: RS, RA, NS, NA
 * with hop limit 255) is what every other frame needs, so it is never
 * dropped by the default policy, and rules about IP traffic (addresses,
 * protocol, ports, ICMP type, state) pass over it. It is decided only by a
 * rule that names it: one with no IP condition (MACs, ethertype, direction
 * only, e.g. "drop" or "drop ethertype=arp") or, for ND, one whose
 * icmp_type is 133-136.
 *
 * Connection tracking: when a TCP/UDP/ICMP-echo/ICMPv6-echo packet is
 * allowed, its connection is recorded (both directions), and packets of a
 * recorded connection match rules with state "established", as do ICMP and
 * ICMPv6 errors quoting one ("related") sent back to its sender — so
 * allowing return traffic is one rule, and changing rules later does not
 * break connections that are still allowed. The table is fixed-size;
 * expired entries are reused, and when it is full new connections are still
 * judged by the rules but not recorded (counted), so old entries are never
 * disturbed.
 *
 * VPN: src/dst may name a network's tunnel instead of a prefix: "vpn" (any
 * peer) or "vpn:PEER" (one peer, by name). Whoever evaluates tells the
 * matcher which peer a packet came from (src_peer: only for packets the
 * gateway took out of the tunnel, whose source the VPN checked against the
 * peer's AllowedIPs) and which peer it goes to (dst_peer: the peer whose
 * AllowedIPs hold the destination, where the gateway routes it); NULL when
 * neither, so such rules match nothing else. The switch does so for frames
 * between guests and the gateway, the gateway for packets between the
 * tunnel and itself (its services, the NAT) or between two peers. */
#ifndef VN_FW_ACL_H
#define VN_FW_ACL_H

#include "pkt/addr.h"
#include "pkt/frame.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define VN_ACL_MAX_RULES 256

enum vn_acl_action { VN_ACL_ALLOW = 0, VN_ACL_DROP, VN_ACL_REJECT };
enum vn_acl_state { VN_ACL_ANY = 0, VN_ACL_NEW, VN_ACL_ESTABLISHED };
/* src/dst of a rule about the VPN: none, "vpn" (any peer), "vpn:PEER" */
enum { VN_ACL_VPN_NONE = 0, VN_ACL_VPN_ANY, VN_ACL_VPN_PEER };
#define VN_ACL_PEER_MAX 32        /* = VN_VPN_NAME_MAX (vpn/peer.h) */

struct vn_acl_rule {
    enum vn_acl_action action;
    uint8_t dir;                  /* bit 0: in, bit 1: out */
    enum vn_acl_state state;
    bool has_src_mac, has_dst_mac;
    uint8_t src_mac[6], dst_mac[6];
    uint16_t ethertype;           /* as written; 0 = any */
    struct vn_addr src, dst;      /* prefixes, host bits zero; family 0 = any */
    uint8_t src_vpn, dst_vpn;     /* VN_ACL_VPN_*: src/dst names the tunnel instead */
    char src_peer[VN_ACL_PEER_MAX], dst_peer[VN_ACL_PEER_MAX]; /* with VN_ACL_VPN_PEER */
    uint8_t src_len, dst_len;     /* prefix lengths */
    int proto;                    /* as written; -1 = any */
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi; /* 0..65535 = any */
    int icmp_type, icmp_code;     /* -1 = any */
    /* Derived from the fields above by vn_acl_rule_set (the matcher's view): */
    uint8_t family;               /* AF_INET, AF_INET6, or 0 = either */
    int mproto;                   /* protocol matched (icmp_type alone: the
                                   * family's ICMP); -1 = any */
    bool l3;                      /* needs an IP packet (family or protocol) */
    bool ip_cond;                 /* has a condition about IP traffic */
    bool names_nd;                /* its icmp_type is a neighbour discovery one */
    uint64_t hits;
    char text[320];               /* the rule as written, for listings */
};

struct vn_acl {
    struct vn_acl_rule *rules;    /* VN_ACL_MAX_RULES */
    unsigned n;
};

/* Parse a rule from "ACTION [DIR] key=value ..." (the vnetctl form; DIR is
 * in, out or both, default in). Returns 0 or -1 with err. */
int vn_acl_rule_parse(const char *text, struct vn_acl_rule *r, char *err, size_t errlen);
/* Set one key of a rule (YAML form: action, direction, state, src, dst, proto,
 * sport, dport, icmp_type, icmp_code, src_mac, dst_mac, ethertype), then
 * derive the matcher's fields; a value that contradicts the rule's other
 * keys (an IPv6 prefix in an IPv4 rule...) is an error naming both. The
 * keys may come in any order. Returns 0 or -1 with err. */
int vn_acl_rule_set(struct vn_acl_rule *r, const char *key, const char *val, char *err,
                    size_t errlen);
/* Fill r->text from its fields. */
void vn_acl_rule_format(struct vn_acl_rule *r);
void vn_acl_rule_init(struct vn_acl_rule *r);

/* Lists: insert at pos (-1 = end) / delete by index. Return 0 or -1. */
int vn_acl_insert(struct vn_acl *a, const struct vn_acl_rule *r, int pos, char *err,
                  size_t errlen);
int vn_acl_delete(struct vn_acl *a, unsigned idx);
void vn_acl_free(struct vn_acl *a);
json_t *vn_acl_json(const struct vn_acl *a);

/* What the matcher knows about a frame. */
struct vn_acl_pkt {
    const uint8_t *src_mac, *dst_mac;
    uint16_t ethertype;
    bool ip;                      /* an IPv4 or IPv6 header parsed */
    bool resolution;              /* ARP or neighbour discovery (see above) */
    struct vn_addr src, dst;
    int proto;                    /* upper-layer protocol (IPv6: after the
                                   * extension headers); -1 = not IP */
    uint16_t sport, dport;        /* or ICMP/ICMPv6 id for echo */
    int icmp_type, icmp_code;     /* ICMP or ICMPv6; -1 = neither */
    uint8_t tcp_flags;
    bool established;             /* belongs to a tracked connection (or is an
                                   * ICMP error about one: "related") */
    /* the VPN peer (its name) the packet came out of / goes into; NULL:
     * not from / not to the tunnel (set by the caller, see above) */
    const char *src_peer, *dst_peer;
    /* ICMP and ICMPv6 errors (destination unreachable, packet too big, time
     * exceeded, parameter problem): the quoted packet's addresses and ports
     * (for a quoted echo request, its id) */
    bool has_inner;
    struct vn_addr in_src, in_dst;
    int in_proto;
    uint16_t in_sport, in_dport;
};

/* Is ICMP type t an error that quotes the packet it is about? */
static inline bool vn_icmp_is_error(int t) { return t == 3 || t == 11 || t == 12; }
/* The same for ICMPv6 (RFC 4443: 1-4; other types below 128 are unassigned). */
static inline bool vn_icmp6_is_error(int t) { return t >= 1 && t <= 4; }
/* Is ICMPv6 type t a neighbour discovery message (RS, RA, NS, NA)? */
static inline bool vn_icmp6_is_nd(int t) { return t >= 133 && t <= 136; }

/* The verdict for a frame no rule matched: the network's default, except
 * that address resolution always passes (see above). True = forward. */
static inline bool vn_acl_default_allows(const struct vn_acl_pkt *p, bool default_drop)
{
    return !default_drop || p->resolution;
}

/* Fill pkt from an untagged frame. */
void vn_acl_classify(const struct vn_frame *f, struct vn_acl_pkt *pkt);
/* First matching rule of a for direction dir (1 in, 2 out), or NULL. */
struct vn_acl_rule *vn_acl_match(struct vn_acl *a, unsigned dir, const struct vn_acl_pkt *pkt);

#endif
