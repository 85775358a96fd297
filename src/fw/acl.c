/* ACL rules: parsing, formatting, matching. See acl.h. */
#include "acl.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/ip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void vn_acl_rule_init(struct vn_acl_rule *r)
{
    memset(r, 0, sizeof *r);
    r->dir = 1;
    r->proto = -1;
    r->icmp_type = -1;
    r->sport_hi = r->dport_hi = 65535;
}

static int fail(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    snprintf(err, errlen, fmt, a, b);
    return -1;
}

static int parse_cidr(const char *v, uint32_t *ip, uint32_t *mask)
{
    char buf[40];
    uint64_t pfx = 32;
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = 0;
    if (slash && vn_parse_uint(slash + 1, 0, 32, &pfx))
        return -1;
    if (vn_ip4_parse(buf, ip))
        return -1;
    *mask = pfx ? ~0u << (32 - pfx) : 0;
    *ip &= *mask;
    if (!pfx) /* 0.0.0.0/0 = any: represented as mask 0 with a marker */
        *mask = 0;
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

int vn_acl_rule_set(struct vn_acl_rule *r, const char *key, const char *val, char *err,
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
            return fail(err, errlen, "action: '%s' is not allow, drop or reject%s", val, "");
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
            return fail(err, errlen, "direction: '%s' is not in, out or both%s", val, "");
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
            return fail(err, errlen, "state: '%s' is not new, established or any%s", val, "");
        return 0;
    }
    if (!strcmp(key, "src") || !strcmp(key, "dst")) {
        uint32_t *ip = key[0] == 's' ? &r->src : &r->dst;
        uint32_t *mask = key[0] == 's' ? &r->src_mask : &r->dst_mask;
        if (parse_cidr(val, ip, mask))
            return fail(err, errlen, "%s: '%s' is not an IPv4 address or prefix", key, val);
        if (!r->ethertype)
            r->ethertype = VN_ETH_TYPE_IPV4;
        return 0;
    }
    if (!strcmp(key, "proto")) {
        if (!strcmp(val, "tcp"))
            r->proto = 6;
        else if (!strcmp(val, "udp"))
            r->proto = 17;
        else if (!strcmp(val, "icmp"))
            r->proto = 1;
        else if (!strcmp(val, "any"))
            r->proto = -1;
        else {
            uint64_t p;
            if (vn_parse_uint(val, 0, 255, &p))
                return fail(err, errlen, "proto: '%s' is not tcp, udp, icmp, any or 0-255%s",
                            val, "");
            r->proto = (int)p;
        }
        if (r->proto >= 0 && !r->ethertype)
            r->ethertype = VN_ETH_TYPE_IPV4;
        return 0;
    }
    if (!strcmp(key, "sport") || !strcmp(key, "dport")) {
        bool s = key[0] == 's';
        if (parse_range(val, s ? &r->sport_lo : &r->dport_lo, s ? &r->sport_hi : &r->dport_hi))
            return fail(err, errlen, "%s: '%s' is not a port or a range like 1000-2000", key, val);
        return 0;
    }
    if (!strcmp(key, "icmp_type")) {
        uint64_t t;
        if (vn_parse_uint(val, 0, 255, &t))
            return fail(err, errlen, "icmp_type: '%s' is not 0-255%s", val, "");
        r->icmp_type = (int)t;
        r->proto = 1;
        r->ethertype = VN_ETH_TYPE_IPV4;
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
            if (*end || v < 0x600 || v > 0xffff)
                return fail(err, errlen, "ethertype: '%s' is not ipv4, arp, ipv6 or a number%s",
                            val, "");
            r->ethertype = (uint16_t)v;
        }
        return 0;
    }
    return fail(err, errlen, "unknown ACL key '%s'%s", key, "");
}

int vn_acl_rule_parse(const char *text, struct vn_acl_rule *r, char *err, size_t errlen)
{
    char buf[512];
    vn_acl_rule_init(r);
    if (vn_strlcpy(buf, text, sizeof buf) >= sizeof buf)
        return fail(err, errlen, "rule too long%s%s", "", "");
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
            return fail(err, errlen, "expected key=value, got '%s'%s", t, "");
        }
    }
    if (i == 0)
        return fail(err, errlen, "empty rule%s%s", "", "");
    vn_acl_rule_format(r);
    return 0;
}

void vn_acl_rule_format(struct vn_acl_rule *r)
{
    static const char *const an[] = { "allow", "drop", "reject" };
    static const char *const dn[] = { "", "in", "out", "both" };
    char *o = r->text;
    size_t n = sizeof r->text, l = 0;
    char a[16], m[18];
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
    else if (r->ethertype == VN_ETH_TYPE_IPV6)
        ADD(" ethertype=ipv6");
    else if (r->ethertype && r->ethertype != VN_ETH_TYPE_IPV4)
        ADD(" ethertype=0x%04x", r->ethertype);
    if (r->src_mask)
        ADD(" src=%s/%d", vn_ip4_str(r->src, a), __builtin_popcount(r->src_mask));
    if (r->dst_mask)
        ADD(" dst=%s/%d", vn_ip4_str(r->dst, a), __builtin_popcount(r->dst_mask));
    if (r->proto >= 0)
    {
        if (r->proto == 6 || r->proto == 17 || r->proto == 1)
            ADD(" proto=%s", r->proto == 6 ? "tcp" : r->proto == 17 ? "udp" : "icmp");
        else
            ADD(" proto=%d", r->proto);
    }
    if (r->sport_lo || r->sport_hi != 65535)
        ADD(r->sport_lo == r->sport_hi ? " sport=%u" : " sport=%u-%u", r->sport_lo, r->sport_hi);
    if (r->dport_lo || r->dport_hi != 65535)
        ADD(r->dport_lo == r->dport_hi ? " dport=%u" : " dport=%u-%u", r->dport_lo, r->dport_hi);
    if (r->icmp_type >= 0)
        ADD(" icmp_type=%d", r->icmp_type);
#undef ADD
}

int vn_acl_insert(struct vn_acl *a, const struct vn_acl_rule *r, int pos, char *err,
                  size_t errlen)
{
    if (!a->rules && !(a->rules = calloc(VN_ACL_MAX_RULES, sizeof *a->rules)))
        return fail(err, errlen, "out of memory%s%s", "", "");
    if (a->n >= VN_ACL_MAX_RULES)
        return fail(err, errlen, "too many rules (at most 256)%s%s", "", "");
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

void vn_acl_classify(const struct vn_frame *f, struct vn_acl_pkt *p)
{
    memset(p, 0, sizeof *p);
    p->dst_mac = f->data;
    p->src_mac = f->data + 6;
    p->ethertype = vn_get_be16(f->data + 12);
    p->proto = -1;
    p->icmp_type = -1;
    if (p->ethertype != VN_ETH_TYPE_IPV4)
        return;
    struct vn_ip4 ip;
    if (vn_ip4_parse_hdr(f->data + VN_ETH_HLEN, f->len - VN_ETH_HLEN, false, &ip) != VN_IP_OK)
        return;
    p->ip = true;
    p->src.family = p->dst.family = AF_INET; /* (the rest of the bytes are zero) */
    memcpy(p->src.a, ip.hdr + 12, 4);
    memcpy(p->dst.a, ip.hdr + 16, 4);
    p->proto = ip.proto;
    if (ip.frag_off)
        return; /* later fragments carry no ports */
    if ((ip.proto == 6 || ip.proto == 17) && ip.l4_len >= 4) {
        p->sport = vn_get_be16(ip.l4);
        p->dport = vn_get_be16(ip.l4 + 2);
        if (ip.proto == 6 && ip.l4_len >= 14)
            p->tcp_flags = ip.l4[13];
    } else if (ip.proto == 1 && ip.l4_len >= 8) {
        p->icmp_type = ip.l4[0];
        p->sport = p->dport = vn_get_be16(ip.l4 + 4);
        /* An error quotes the IP header and at least 8 bytes of the packet
         * it is about (RFC 792): enough for the ports. The quote is usually
         * shorter than its total length says, so it is read by hand. */
        const uint8_t *q = ip.l4 + 8;
        size_t ihl = ip.l4_len >= 8u + 20u ? (size_t)(q[0] & 0x0f) * 4 : 0;
        if (ihl >= 20 && vn_icmp_is_error(p->icmp_type) && (q[0] >> 4) == 4 &&
            ip.l4_len >= 8u + ihl + 8u) {
            p->has_inner = true;
            p->in_src.family = p->in_dst.family = AF_INET;
            memcpy(p->in_src.a, q + 12, 4);
            memcpy(p->in_dst.a, q + 16, 4);
            p->in_proto = q[9];
            /* ports, or for a quoted ICMP echo its identifier */
            p->in_sport = vn_get_be16(q + ihl + (p->in_proto == 1 ? 4 : 0));
            p->in_dport = vn_get_be16(q + ihl + (p->in_proto == 1 ? 4 : 2));
        }
    }
}

/* s4, d4: p's addresses as IPv4 numbers (host order), computed once per
 * packet by vn_acl_match; rules' prefixes are IPv4 and match IPv4 only. */
static bool match(const struct vn_acl_rule *r, const struct vn_acl_pkt *p, uint32_t s4,
                  uint32_t d4)
{
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
    bool l3 = r->src_mask || r->dst_mask || r->proto >= 0;
    if (l3 && !p->ip)
        return false;
    if ((r->src_mask || r->dst_mask) && p->src.family != AF_INET)
        return false;
    if ((s4 & r->src_mask) != r->src || (d4 & r->dst_mask) != r->dst)
        return false;
    if (r->proto >= 0 && r->proto != p->proto)
        return false;
    if (p->proto == 6 || p->proto == 17) {
        if (p->sport < r->sport_lo || p->sport > r->sport_hi || p->dport < r->dport_lo ||
            p->dport > r->dport_hi)
            return false;
    } else if (r->sport_lo || r->sport_hi != 65535 || r->dport_lo || r->dport_hi != 65535) {
        return false; /* a port match only matches protocols with ports */
    }
    if (r->icmp_type >= 0 && r->icmp_type != p->icmp_type)
        return false;
    return true;
}

struct vn_acl_rule *vn_acl_match(struct vn_acl *a, unsigned dir, const struct vn_acl_pkt *p)
{
    uint32_t s4 = vn_addr_v4(&p->src), d4 = vn_addr_v4(&p->dst);
    for (unsigned i = 0; i < a->n; i++)
        if ((a->rules[i].dir & dir) && match(&a->rules[i], p, s4, d4))
            return &a->rules[i];
    return NULL;
}
