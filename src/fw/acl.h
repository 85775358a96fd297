/* ACLs (micro-segmentation) with connection tracking.
 *
 * Theory of operation. Rules live in ordered lists: one per port and one per
 * network. A rule matches on direction (relative to a port: "in" = sent by
 * the port's peer into the switch, "out" = delivered by the switch to the
 * peer), MACs, ethertype, source/destination IPv4 prefixes, protocol, port
 * ranges, ICMP type, and connection state (new or established). A frame from
 * port A to port B is checked against A's "in" rules, then B's "out" rules,
 * then the network's rules (whose direction field is not used: a network
 * rule sees every frame of the network); the first match decides (allow,
 * drop, or reject: TCP RST or ICMP administratively prohibited back to the
 * sender). No match: the network's default policy. Every rule counts its
 * hits.
 *
 * Connection tracking: when an IPv4 TCP/UDP/ICMP-echo frame is allowed, its
 * connection is recorded (both directions), and frames of a recorded
 * connection match rules with state "established" — so allowing return
 * traffic is one rule, and changing rules later does not break connections
 * that are still allowed. The table is fixed-size; expired entries are
 * reused, and when it is full new connections are still judged by the rules
 * but not recorded (counted), so old entries are never disturbed. */
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

struct vn_acl_rule {
    enum vn_acl_action action;
    uint8_t dir;                  /* bit 0: in, bit 1: out */
    enum vn_acl_state state;
    bool has_src_mac, has_dst_mac;
    uint8_t src_mac[6], dst_mac[6];
    uint16_t ethertype;           /* 0 = any */
    uint32_t src, src_mask, dst, dst_mask; /* host order; mask 0 = any */
    int proto;                    /* -1 = any */
    uint16_t sport_lo, sport_hi, dport_lo, dport_hi; /* 0..65535 = any */
    int icmp_type;                /* -1 = any */
    uint64_t hits;
    char text[160];               /* the rule as written, for listings */
};

struct vn_acl {
    struct vn_acl_rule *rules;    /* VN_ACL_MAX_RULES */
    unsigned n;
};

/* Parse a rule from "ACTION [DIR] key=value ..." (the vnetctl form; DIR is
 * in, out or both, default in). Returns 0 or -1 with err. */
int vn_acl_rule_parse(const char *text, struct vn_acl_rule *r, char *err, size_t errlen);
/* Set one key of a rule (YAML form: action, direction, state, src, dst, proto,
 * sport, dport, icmp_type, src_mac, dst_mac, ethertype). Returns 0 or -1. */
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
    bool ip;                      /* IP header parsed (IPv4 for now) */
    struct vn_addr src, dst;
    int proto;
    uint16_t sport, dport;        /* or ICMP id for echo */
    int icmp_type;
    uint8_t tcp_flags;
    bool established;             /* belongs to a tracked connection (or is an
                                   * ICMP error about one: "related") */
    /* ICMP errors (destination unreachable, time exceeded, parameter
     * problem): the quoted packet's addresses and ports */
    bool has_inner;
    struct vn_addr in_src, in_dst;
    int in_proto;
    uint16_t in_sport, in_dport;
};

/* Is ICMP type t an error that quotes the packet it is about? */
static inline bool vn_icmp_is_error(int t) { return t == 3 || t == 11 || t == 12; }

/* Fill pkt from an untagged frame. */
void vn_acl_classify(const struct vn_frame *f, struct vn_acl_pkt *pkt);
/* First matching rule of a for direction dir (1 in, 2 out), or NULL. */
struct vn_acl_rule *vn_acl_match(struct vn_acl *a, unsigned dir, const struct vn_acl_pkt *pkt);

#endif
