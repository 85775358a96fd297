/* ACL rules: parsing, formatting, classifying frames, matching. See acl.h. */
#include "acl.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vn_acl_rule_init(struct vn_acl_rule *r)
{
    memset(r, 0, sizeof *r);
    r->dir = 1;
    r->proto = r->mproto = -1;
    r->icmp_type = r->icmp_code = -1;
    r->sport_hi = r->dport_hi = 65535;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
                                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* "ADDR" or "ADDR/LEN" of either family into a and len (no LEN: the whole
 * address). Host bits must be zero. Returns 0 or -1 with err saying why. */
static int parse_prefix(const char *key, const char *v, struct vn_addr *a, uint8_t *len,
                        char *err, size_t errlen)
{
    char buf[VN_ADDR_STRLEN];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    struct vn_addr x;
    if (!n || n >= sizeof buf)
        return fail(err, errlen, "%s: '%s' is not an IPv4 or IPv6 address or prefix "
                                 "(ADDR or ADDR/LEN)", key, v);
    memcpy(buf, v, n);
    buf[n] = 0;
    if (vn_addr_parse(buf, &x))
        return fail(err, errlen, "%s: '%s' is not an IPv4 or IPv6 address or prefix "
                                 "(ADDR or ADDR/LEN)", key, v);
    unsigned bits = vn_addr_bits(&x);
    uint64_t l = bits;
    if (slash && vn_parse_uint(slash + 1, 0, bits, &l))
        return fail(err, errlen, "%s: '%s': the prefix length of an IPv%c address is 0-%u", key,
                    v, x.family == AF_INET ? '4' : '6', bits);
    struct vn_addr m = vn_addr_masked(&x, (unsigned)l);
    if (!vn_addr_eq(&m, &x)) {
        char s[VN_ADDR_STRLEN];
        return fail(err, errlen, "%s: '%s' has host bits set (did you mean %s/%u?)", key, v,
                    vn_addr_str(&m, s, sizeof s), (unsigned)l);
    }
    *a = x;
    *len = (uint8_t)l;
    return 0;
}

/* "vpn" (any peer of the network's VPN) or "vpn:PEER" (the peer of that
 * name: 1-31 characters, none of white space, ',' or '='). Returns 0 with
 * *vpn and peer set, or -1 with err. */
static int parse_vpn(const char *key, const char *v, uint8_t *vpn, char peer[VN_ACL_PEER_MAX],
                     char *err, size_t errlen)
{
    if (!v[3]) {
        *vpn = VN_ACL_VPN_ANY;
        peer[0] = 0;
        return 0;
    }
    const char *name = v + 4;
    size_t n = strlen(name);
    if (!n || n >= VN_ACL_PEER_MAX || strpbrk(name, " \t\n,="))
        return fail(err, errlen, "%s: '%s': vpn:PEER needs a peer name of 1-%d characters "
                                 "(no spaces, ',' or '=')", key, v, VN_ACL_PEER_MAX - 1);
    *vpn = VN_ACL_VPN_PEER;
    memcpy(peer, name, n + 1);
    return 0;
}

static int parse_range(const char *v, uint16_t *lo, uint16_t *hi)
{
    uint64_t a, b;
    const char *dash = strchr(v, '-');
    char buf[16];
    if (!dash) {
        if (vn_parse_uint(v, 0, 65535, &a))
            return -1;
        *lo = *hi = (uint16_t)a;
        return 0;
    }
    size_t n = (size_t)(dash - v);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    if (vn_parse_uint(buf, 0, 65535, &a) || vn_parse_uint(dash + 1, 0, 65535, &b) || a > b)
        return -1;
    *lo = (uint16_t)a;
    *hi = (uint16_t)b;
    return 0;
}

static bool has_ports(const struct vn_acl_rule *r)
{
    return r->sport_lo || r->sport_hi != 65535 || r->dport_lo || r->dport_hi != 65535;
}

static bool has_icmp(const struct vn_acl_rule *r)
{
    return r->icmp_type >= 0 || r->icmp_code >= 0;
}

static bool ip_ethertype(uint16_t t)
{
    return t == VN_ETH_TYPE_IPV4 || t == VN_ETH_TYPE_IPV6;
}

/* The family key k of r claims (AF_INET/AF_INET6), or 0; its value as
 * written into buf for messages. */
static uint8_t claim(const struct vn_acl_rule *r, const char *k, char *buf, size_t n)
{
    const struct vn_addr *a = !strcmp(k, "src") ? &r->src : !strcmp(k, "dst") ? &r->dst : NULL;
    buf[0] = 0;
    if (a) {
        if (!a->family)
            return 0;
        char s[VN_ADDR_STRLEN];
        snprintf(buf, n, "%s/%u", vn_addr_str(a, s, sizeof s),
                 a == &r->src ? r->src_len : r->dst_len);
        return a->family;
    }
    if (!strcmp(k, "proto") && (r->proto == 1 || r->proto == 58)) {
        snprintf(buf, n, "%s", r->proto == 1 ? "icmp" : "icmpv6");
        return r->proto == 1 ? AF_INET : AF_INET6;
    }
    if (!strcmp(k, "ethertype") && ip_ethertype(r->ethertype)) {
        snprintf(buf, n, "%s", r->ethertype == VN_ETH_TYPE_IPV4 ? "ipv4" : "ipv6");
        return r->ethertype == VN_ETH_TYPE_IPV4 ? AF_INET : AF_INET6;
    }
    return 0;
}

/* After key was set to val: refuse contradictions between r's keys (naming
 * both), then derive the matcher's fields. Returns 0 or -1 with err. */
static int settle(struct vn_acl_rule *r, const char *key, const char *val, char *err,
                  size_t errlen)
{
    static const char *const fam_keys[] = { "src", "dst", "proto", "ethertype" };
    char mine[64], other[64];
    uint8_t f = 0;
    /* One family per rule: the key just set against the others. */
    uint8_t kf = claim(r, key, mine, sizeof mine);
    for (size_t i = 0; i < VN_ARRAY_LEN(fam_keys); i++) {
        uint8_t of = claim(r, fam_keys[i], other, sizeof other);
        if (!of)
            continue;
        if (kf && of != kf)
            return fail(err, errlen,
                        "%s: '%s' makes the rule IPv%c, but %s %s makes it IPv%c (a rule "
                        "matches one family: write one rule per family%s)", key, val,
                        kf == AF_INET ? '4' : '6', fam_keys[i], other, of == AF_INET ? '4' : '6',
                        (r->proto == 1 || r->proto == 58) ? "; ICMPv6 is proto icmpv6" : "");
        if (!f)
            f = of;
    }
    if (r->ethertype && !ip_ethertype(r->ethertype) &&
        (r->src.family || r->dst.family || r->proto >= 0 || has_ports(r) || has_icmp(r) ||
         r->src_vpn || r->dst_vpn))
        return fail(err, errlen, "%s: '%s': a rule for ethertype 0x%04x (not IP) cannot have "
                                 "IP conditions (src, dst, proto, sport, dport, icmp_type, "
                                 "icmp_code)", key, val, r->ethertype);
    if (has_icmp(r) && r->proto >= 0 && r->proto != 1 && r->proto != 58)
        return fail(err, errlen, "%s: '%s': icmp_type and icmp_code need proto icmp or icmpv6 "
                                 "(or none), not proto %d", key, val, r->proto);
    if (has_ports(r) && r->proto >= 0 && r->proto != 6 && r->proto != 17)
        return fail(err, errlen, "%s: '%s': sport and dport need proto tcp or udp (or none), "
                                 "not proto %d", key, val, r->proto);
    if (has_ports(r) && has_icmp(r))
        return fail(err, errlen, "%s: '%s': a rule cannot have both ports (sport, dport) and "
                                 "icmp_type/icmp_code", key, val);
    /* The matcher's view. icmp_type alone: ICMPv6 in an IPv6 rule, else ICMP. */
    r->mproto = r->proto >= 0 ? r->proto : has_icmp(r) ? (f == AF_INET6 ? 58 : 1) : -1;
    if (!f && (r->mproto == 1 || r->mproto == 58))
        f = r->mproto == 1 ? AF_INET : AF_INET6;
    r->family = f;
    r->l3 = f || r->mproto >= 0 || r->src_vpn || r->dst_vpn;
    r->ip_cond = r->src.family || r->dst.family || r->proto >= 0 || has_ports(r) ||
                 has_icmp(r) || r->state != VN_ACL_ANY || r->src_vpn || r->dst_vpn;
    r->names_nd = r->mproto == 58 && vn_icmp6_is_nd(r->icmp_type);
    return 0;
}

/* Set one key's field; settle() checks it against the others. */
static int set_field(struct vn_acl_rule *r, const char *key, const char *val, char *err,
                     size_t errlen)
{
    if (!strcmp(key, "action")) {
        if (!strcmp(val, "allow") || !strcmp(val, "accept"))
            r->action = VN_ACL_ALLOW;
        else if (!strcmp(val, "drop") || !strcmp(val, "deny"))
            r->action = VN_ACL_DROP;
        else if (!strcmp(val, "reject"))
            r->action = VN_ACL_REJECT;
        else
            return fail(err, errlen, "action: '%s' is not allow, drop or reject", val);
        return 0;
    }
    if (!strcmp(key, "direction")) {
        if (!strcmp(val, "in"))
            r->dir = 1;
        else if (!strcmp(val, "out"))
            r->dir = 2;
        else if (!strcmp(val, "both"))
            r->dir = 3;
        else
            return fail(err, errlen, "direction: '%s' is not in, out or both", val);
        return 0;
    }
    if (!strcmp(key, "state")) {
        if (!strcmp(val, "new"))
            r->state = VN_ACL_NEW;
        else if (!strcmp(val, "established"))
            r->state = VN_ACL_ESTABLISHED;
        else if (!strcmp(val, "any"))
            r->state = VN_ACL_ANY;
        else
            return fail(err, errlen, "state: '%s' is not new, established or any", val);
        return 0;
    }
    if (!strcmp(key, "src") || !strcmp(key, "dst")) {
        bool s = key[0] == 's';
        uint8_t *vpn = s ? &r->src_vpn : &r->dst_vpn;
        if (!strcmp(val, "vpn") || !strncmp(val, "vpn:", 4)) {
            int rc = parse_vpn(key, val, vpn, s ? r->src_peer : r->dst_peer, err, errlen);
            if (!rc)
                memset(s ? &r->src : &r->dst, 0, sizeof r->src);
            return rc;
        }
        *vpn = VN_ACL_VPN_NONE;
        return parse_prefix(key, val, s ? &r->src : &r->dst, s ? &r->src_len : &r->dst_len,
                            err, errlen);
    }
    if (!strcmp(key, "proto")) {
        static const struct { const char *name; int num; } names[] = {
            { "tcp", 6 }, { "udp", 17 }, { "icmp", 1 }, { "icmpv6", 58 }, { "ipv6-icmp", 58 },
            { "any", -1 },
        };
        for (size_t i = 0; i < VN_ARRAY_LEN(names); i++)
            if (!strcmp(val, names[i].name)) {
                r->proto = names[i].num;
                return 0;
            }
        uint64_t p;
        if (vn_parse_uint(val, 0, 255, &p))
            return fail(err, errlen, "proto: '%s' is not tcp, udp, icmp, icmpv6, any or 0-255",
                        val);
        r->proto = (int)p;
        return 0;
    }
    if (!strcmp(key, "sport") || !strcmp(key, "dport")) {
        bool s = key[0] == 's';
        if (parse_range(val, s ? &r->sport_lo : &r->dport_lo, s ? &r->sport_hi : &r->dport_hi))
            return fail(err, errlen, "%s: '%s' is not a port or a range like 1000-2000", key,
                        val);
        return 0;
    }
    if (!strcmp(key, "icmp_type") || !strcmp(key, "icmp_code")) {
        uint64_t t;
        if (vn_parse_uint(val, 0, 255, &t))
            return fail(err, errlen, "%s: '%s' is not 0-255", key, val);
        *(key[5] == 't' ? &r->icmp_type : &r->icmp_code) = (int)t;
        return 0;
    }
    if (!strcmp(key, "src_mac") || !strcmp(key, "dst_mac")) {
        bool s = key[0] == 's';
        if (vn_mac_parse(val, s ? r->src_mac : r->dst_mac))
            return fail(err, errlen, "%s: '%s' is not a MAC address", key, val);
        if (s)
            r->has_src_mac = true;
        else
            r->has_dst_mac = true;
        return 0;
    }
    if (!strcmp(key, "ethertype")) {
        if (!strcmp(val, "ipv4"))
            r->ethertype = VN_ETH_TYPE_IPV4;
        else if (!strcmp(val, "arp"))
            r->ethertype = VN_ETH_TYPE_ARP;
        else if (!strcmp(val, "ipv6"))
            r->ethertype = VN_ETH_TYPE_IPV6;
        else {
            char *end;
            unsigned long v = strtoul(val, &end, 0);
            if (!*val || *end || v < 0x600 || v > 0xffff)
                return fail(err, errlen, "ethertype: '%s' is not ipv4, arp, ipv6 or a number "
                                         "0x0600-0xffff", val);
            r->ethertype = (uint16_t)v;
        }
        return 0;
    }
    return fail(err, errlen, "unknown ACL key '%s'", key);
}

int vn_acl_rule_set(struct vn_acl_rule *r, const char *key, const char *val, char *err,
                    size_t errlen)
{
    if (set_field(r, key, val, err, errlen))
        return -1;
    return settle(r, key, val, err, errlen);
}

int vn_acl_rule_parse(const char *text, struct vn_acl_rule *r, char *err, size_t errlen)
{
    char buf[512];
    vn_acl_rule_init(r);
    if (vn_strlcpy(buf, text, sizeof buf) >= sizeof buf)
        return fail(err, errlen, "rule too long");
    char *save = NULL;
    int i = 0;
    for (char *t = strtok_r(buf, " \t,", &save); t; t = strtok_r(NULL, " \t,", &save), i++) {
        char *eq = strchr(t, '=');
        if (eq) {
            *eq = 0;
            if (vn_acl_rule_set(r, t, eq + 1, err, errlen))
                return -1;
        } else if (i == 0) {
            if (vn_acl_rule_set(r, "action", t, err, errlen))
                return -1;
        } else if (i == 1) {
            if (vn_acl_rule_set(r, "direction", t, err, errlen))
                return -1;
        } else {
            return fail(err, errlen, "expected key=value, got '%s'", t);
        }
    }
    if (i == 0)
        return fail(err, errlen, "empty rule");
    vn_acl_rule_format(r);
    return 0;
}

void vn_acl_rule_format(struct vn_acl_rule *r)
{
    static const char *const an[] = { "allow", "drop", "reject" };
    static const char *const dn[] = { "", "in", "out", "both" };
    char *o = r->text;
    size_t n = sizeof r->text, l = 0;
    char a[VN_ADDR_STRLEN], m[18];
#define ADD(...) (l += (size_t)snprintf(o + l, l < n ? n - l : 0, __VA_ARGS__))
    ADD("%s %s", an[r->action], dn[r->dir]);
    if (r->state)
        ADD(" state=%s", r->state == VN_ACL_NEW ? "new" : "established");
    if (r->has_src_mac)
        ADD(" src_mac=%s", vn_mac_str(r->src_mac, m));
    if (r->has_dst_mac)
        ADD(" dst_mac=%s", vn_mac_str(r->dst_mac, m));
    if (r->ethertype == VN_ETH_TYPE_ARP)
        ADD(" ethertype=arp");
    else if (r->ethertype == VN_ETH_TYPE_IPV4)
        ADD(" ethertype=ipv4");
    else if (r->ethertype == VN_ETH_TYPE_IPV6)
        ADD(" ethertype=ipv6");
    else if (r->ethertype)
        ADD(" ethertype=0x%04x", r->ethertype);
    if (r->src.family)
        ADD(" src=%s/%u", vn_addr_str(&r->src, a, sizeof a), r->src_len);
    else if (r->src_vpn)
        ADD(" src=vpn%s%s", r->src_vpn == VN_ACL_VPN_PEER ? ":" : "",
            r->src_vpn == VN_ACL_VPN_PEER ? r->src_peer : "");
    if (r->dst.family)
        ADD(" dst=%s/%u", vn_addr_str(&r->dst, a, sizeof a), r->dst_len);
    else if (r->dst_vpn)
        ADD(" dst=vpn%s%s", r->dst_vpn == VN_ACL_VPN_PEER ? ":" : "",
            r->dst_vpn == VN_ACL_VPN_PEER ? r->dst_peer : "");
    if (r->proto >= 0) {
        const char *pn = r->proto == 6    ? "tcp"
                         : r->proto == 17 ? "udp"
                         : r->proto == 1  ? "icmp"
                         : r->proto == 58 ? "icmpv6"
                                          : NULL;
        if (pn)
            ADD(" proto=%s", pn);
        else
            ADD(" proto=%d", r->proto);
    }
    if (r->sport_lo || r->sport_hi != 65535)
        ADD(r->sport_lo == r->sport_hi ? " sport=%u" : " sport=%u-%u", r->sport_lo, r->sport_hi);
    if (r->dport_lo || r->dport_hi != 65535)
        ADD(r->dport_lo == r->dport_hi ? " dport=%u" : " dport=%u-%u", r->dport_lo, r->dport_hi);
    if (r->icmp_type >= 0)
        ADD(" icmp_type=%d", r->icmp_type);
    if (r->icmp_code >= 0)
        ADD(" icmp_code=%d", r->icmp_code);
#undef ADD
}

int vn_acl_insert(struct vn_acl *a, const struct vn_acl_rule *r, int pos, char *err,
                  size_t errlen)
{
    if (!a->rules && !(a->rules = calloc(VN_ACL_MAX_RULES, sizeof *a->rules)))
        return fail(err, errlen, "out of memory");
    if (a->n >= VN_ACL_MAX_RULES)
        return fail(err, errlen, "too many rules (at most %d)", VN_ACL_MAX_RULES);
    unsigned at = pos < 0 || (unsigned)pos > a->n ? a->n : (unsigned)pos;
    memmove(&a->rules[at + 1], &a->rules[at], (a->n - at) * sizeof *a->rules);
    a->rules[at] = *r;
    a->rules[at].hits = 0;
    a->n++;
    return 0;
}

int vn_acl_delete(struct vn_acl *a, unsigned idx)
{
    if (idx >= a->n)
        return -1;
    memmove(&a->rules[idx], &a->rules[idx + 1], (a->n - idx - 1) * sizeof *a->rules);
    a->n--;
    return 0;
}

void vn_acl_free(struct vn_acl *a)
{
    free(a->rules);
    a->rules = NULL;
    a->n = 0;
}

json_t *vn_acl_json(const struct vn_acl *a)
{
    json_t *arr = json_array();
    for (unsigned i = 0; i < a->n; i++)
        json_array_append_new(arr, json_pack("{s:i,s:s,s:I}", "index", i, "rule",
                                             a->rules[i].text, "hits",
                                             (json_int_t)a->rules[i].hits));
    return arr;
}

/* ---- classifying a frame ---- */

/* Ports and TCP flags, or the ICMP/ICMPv6 type, code and echo id, of the
 * upper-layer header l4 (n bytes) of protocol p->proto; icmp is the ICMP
 * protocol number of the packet's family. */
static void upper_layer(struct vn_acl_pkt *p, const uint8_t *l4, size_t n, int icmp)
{
    if ((p->proto == VN_IPPROTO_TCP || p->proto == VN_IPPROTO_UDP) && n >= 4) {
        p->sport = vn_get_be16(l4);
        p->dport = vn_get_be16(l4 + 2);
        if (p->proto == VN_IPPROTO_TCP && n >= 14)
            p->tcp_flags = l4[13];
    } else if (p->proto == icmp && n >= 8) {
        p->icmp_type = l4[0];
        p->icmp_code = l4[1];
        p->sport = p->dport = vn_get_be16(l4 + 4); /* the echo id */
    }
}

/* The ports (or echo id) of a quoted packet's upper layer l4 (n bytes) of
 * protocol proto into p's inner fields; false when they are not there. */
static bool inner_ports(struct vn_acl_pkt *p, int proto, const uint8_t *l4, size_t n)
{
    if (proto == VN_IPPROTO_TCP || proto == VN_IPPROTO_UDP) {
        if (n < 4)
            return false;
        p->in_sport = vn_get_be16(l4);
        p->in_dport = vn_get_be16(l4 + 2);
        return true;
    }
    if (proto == VN_IPPROTO_ICMP || proto == VN_IPPROTO_ICMPV6) {
        if (n < 6)
            return false;
        p->in_sport = p->in_dport = vn_get_be16(l4 + 4);
        return true;
    }
    return false;
}

/* An ICMP error quotes the IP header and at least 8 bytes of the packet it
 * is about (RFC 792): enough for the ports. The quote is usually shorter
 * than its total length says, so it is read by hand. q: n bytes. */
static void inner4(struct vn_acl_pkt *p, const uint8_t *q, size_t n)
{
    size_t ihl = n >= 20 ? (size_t)(q[0] & 0x0f) * 4 : 0;
    if (ihl < 20 || (q[0] >> 4) != 4 || n < ihl + 8)
        return;
    if (!inner_ports(p, q[9], q + ihl, n - ihl))
        return;
    p->has_inner = true;
    p->in_src.family = p->in_dst.family = AF_INET;
    memcpy(p->in_src.a, q + 12, 4);
    memcpy(p->in_dst.a, q + 16, 4);
    p->in_proto = q[9];
}

#define QUOTE6_MAX 256 /* bytes of an ICMPv6 error's quote read for its chain */

/* An ICMPv6 error quotes as much of the packet as fits in 1280 bytes (RFC
 * 4443), so its payload length may promise more than is there: a copy of
 * the first QUOTE6_MAX bytes with the payload length cut to them goes
 * through the IPv6 parser, which walks the extension headers with bounds. */
static void inner6(struct vn_acl_pkt *p, const uint8_t *q, size_t n)
{
    uint8_t buf[QUOTE6_MAX];
    n = VN_MIN(n, sizeof buf);
    if (n < 40)
        return;
    memcpy(buf, q, n);
    vn_put_be16(buf + 4, (uint16_t)(n - 40));
    struct vn_ip6 in;
    if (vn_ip6_parse(buf, n, &in) != VN_IP_OK || in.frag_off)
        return;
    if (!inner_ports(p, in.proto, in.l4, in.l4_len))
        return;
    p->has_inner = true;
    p->in_src.family = p->in_dst.family = AF_INET6;
    memcpy(p->in_src.a, in.src, 16);
    memcpy(p->in_dst.a, in.dst, 16);
    p->in_proto = in.proto;
}

static void classify4(struct vn_acl_pkt *p, const uint8_t *l3, size_t len)
{
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(l3, len, false, &ip) != VN_IP_OK)
        return;
    p->ip = true;
    p->src.family = p->dst.family = AF_INET; /* (the rest of the bytes are zero) */
    memcpy(p->src.a, ip.hdr + 12, 4);
    memcpy(p->dst.a, ip.hdr + 16, 4);
    p->proto = ip.proto;
    if (ip.frag_off)
        return; /* later fragments carry no ports */
    upper_layer(p, ip.l4, ip.l4_len, VN_IPPROTO_ICMP);
    if (p->proto == VN_IPPROTO_ICMP && vn_icmp_is_error(p->icmp_type))
        inner4(p, ip.l4 + 8, ip.l4_len - 8u);
}

static void classify6(struct vn_acl_pkt *p, const uint8_t *l3, size_t len)
{
    struct vn_ip6 ip;
    if (vn_ip6_parse(l3, len, &ip) != VN_IP_OK)
        return; /* a broken extension header chain is not IP to the rules */
    p->ip = true;
    p->src.family = p->dst.family = AF_INET6;
    memcpy(p->src.a, ip.src, 16);
    memcpy(p->dst.a, ip.dst, 16);
    p->proto = ip.proto;
    if (ip.frag_off)
        return; /* later fragments carry no upper-layer header */
    upper_layer(p, ip.l4, ip.l4_len, VN_IPPROTO_ICMPV6);
    if (p->proto != VN_IPPROTO_ICMPV6 || p->icmp_type < 0)
        return;
    if (vn_icmp6_is_error(p->icmp_type))
        inner6(p, ip.l4 + 8, ip.l4_len - 8u);
    /* Neighbour discovery as RFC 4861 accepts it: hop limit 255, code 0,
     * never fragmented. */
    p->resolution = vn_icmp6_is_nd(p->icmp_type) && ip.hlim == 255 && p->icmp_code == 0 &&
                    !ip.frag;
}

void vn_acl_classify(const struct vn_frame *f, struct vn_acl_pkt *p)
{
    memset(p, 0, sizeof *p);
    p->dst_mac = f->data;
    p->src_mac = f->data + 6;
    p->ethertype = vn_get_be16(f->data + 12);
    p->proto = -1;
    p->icmp_type = p->icmp_code = -1;
    if (p->ethertype == VN_ETH_TYPE_IPV4)
        classify4(p, f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN);
    else if (p->ethertype == VN_ETH_TYPE_IPV6)
        classify6(p, f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN);
    else if (p->ethertype == VN_ETH_TYPE_ARP)
        p->resolution = true;
}

/* ---- matching ---- */

static bool match(const struct vn_acl_rule *r, const struct vn_acl_pkt *p)
{
    if (p->resolution && r->ip_cond && !r->names_nd)
        return false; /* rules about IP traffic pass over address resolution */
    if (r->state == VN_ACL_ESTABLISHED && !p->established)
        return false;
    if (r->state == VN_ACL_NEW && p->established)
        return false;
    if (r->has_src_mac && memcmp(r->src_mac, p->src_mac, 6))
        return false;
    if (r->has_dst_mac && memcmp(r->dst_mac, p->dst_mac, 6))
        return false;
    if (r->ethertype && r->ethertype != p->ethertype)
        return false;
    if (r->l3 && !p->ip)
        return false;
    if (r->family && r->family != p->src.family)
        return false;
    if (r->src_vpn && (!p->src_peer || (r->src_vpn == VN_ACL_VPN_PEER &&
                                         strcmp(r->src_peer, p->src_peer))))
        return false;
    if (r->dst_vpn && (!p->dst_peer || (r->dst_vpn == VN_ACL_VPN_PEER &&
                                         strcmp(r->dst_peer, p->dst_peer))))
        return false;
    if (r->src.family && !vn_addr_in_prefix(&p->src, &r->src, r->src_len))
        return false;
    if (r->dst.family && !vn_addr_in_prefix(&p->dst, &r->dst, r->dst_len))
        return false;
    if (r->mproto >= 0 && r->mproto != p->proto)
        return false;
    if (p->proto == VN_IPPROTO_TCP || p->proto == VN_IPPROTO_UDP) {
        if (p->sport < r->sport_lo || p->sport > r->sport_hi || p->dport < r->dport_lo ||
            p->dport > r->dport_hi)
            return false;
    } else if (has_ports(r)) {
        return false; /* a port match only matches protocols with ports */
    }
    if (r->icmp_type >= 0 && r->icmp_type != p->icmp_type)
        return false;
    if (r->icmp_code >= 0 && r->icmp_code != p->icmp_code)
        return false;
    return true;
}

struct vn_acl_rule *vn_acl_match(struct vn_acl *a, unsigned dir, const struct vn_acl_pkt *p)
{
    for (unsigned i = 0; i < a->n; i++)
        if ((a->rules[i].dir & dir) && match(&a->rules[i], p))
            return &a->rules[i];
    return NULL;
}
