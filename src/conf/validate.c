/* Validation and defaults of the model: references between items, ranges
 * that depend on other keys, conflicts, the gateway services' defaults (the
 * QEMU and VirtualBox addresses), the implicit ports of host-only and bridge
 * networks, and the default model (one nat network, one stream port). Runs
 * after the loaders (yaml.c, flags.c) filled the model. */
#include "config.h"
#include "schema.h"
#include "values.h"
#include "vpn.h"
#include "vpn_wg.h"
#include "core/util.h"
#include "pkt/nat64.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The checks every port gets (name, type, network or trunk, VLAN ids), then
 * those of its type (schema.c: keys of other types refused, then the type's
 * own validate). */
int vn_conf_validate_port(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    if (!p->name[0])
        return vn_conf_fail(err, p->src, "port without a 'name'");
    if (p->type == VN_PORT_TYPE_UNSET)
        return vn_conf_fail(err, p->src, "port '%s': missing 'type' (stream, dgram or tap)",
                            p->name);
    /* A type that tells its networks apart itself (vxlan) lists them in
     * 'networks' (kept in trunk), with no VLAN ids and no native one. */
    const struct vn_conf_port_type *pt = vn_conf_port_type_get((unsigned)p->type);
    if (pt && pt->classifies) {
        if (!p->network[0] && !p->ntrunk)
            return vn_conf_fail(err, p->src, "port '%s': missing 'networks' (or 'network')",
                                p->name);
        if (p->native[0])
            return vn_conf_fail(err, p->src, "port '%s': 'native' does not apply to a %s port",
                                p->name, pt->name);
    }
    if (p->network[0] && p->ntrunk)
        return vn_conf_fail(err, p->src,
                            "port '%s': give either 'network' (access port) or 'trunk', not both",
                            p->name);
    if (!p->network[0] && !p->ntrunk)
        return vn_conf_fail(err, p->src, "port '%s': missing 'network' (or 'trunk')", p->name);
    if (p->network[0] && vn_conf_net_index(c, p->network) < 0)
        return vn_conf_fail(err, p->src, "port '%s': network '%s' is not defined", p->name,
                            p->network);
    for (unsigned i = 0; i < p->ntrunk; i++)
        if (vn_conf_net_index(c, p->trunk[i]) < 0)
            return vn_conf_fail(err, p->src, "port '%s': trunk network '%s' is not defined",
                                p->name, p->trunk[i]);
    if (p->native[0]) {
        if (!p->ntrunk)
            return vn_conf_fail(err, p->src, "port '%s': 'native' only applies to a trunk port",
                                p->name);
        bool found = false;
        for (unsigned i = 0; i < p->ntrunk; i++)
            found |= !strcmp(p->trunk[i], p->native);
        if (!found)
            return vn_conf_fail(err, p->src,
                                "port '%s': native network '%s' is not in its trunk list",
                                p->name, p->native);
    }
    /* Every tagged network of a trunk needs a VLAN id. */
    for (unsigned i = 0; i < p->ntrunk && !(pt && pt->classifies); i++) {
        const struct vn_net_conf *n = vn_conf_find_net(c, p->trunk[i]);
        if (strcmp(p->trunk[i], p->native) && !n->vlan)
            return vn_conf_fail(err, p->src,
                                "port '%s': trunk network '%s' has no 'vlan' id to tag it with "
                                "(give it one, or make it the port's 'native' network)",
                                p->name, p->trunk[i]);
    }
    return vn_conf_port_type_validate(c, p, err);
}

/* Bridge networks name their uplink interface; make one trunk port per
 * interface carrying all of them (the one without a VLAN id untagged). */
static int add_uplink_ports(struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (n->host_interface[0] && n->mode != VN_MODE_HOST_ONLY)
            return vn_conf_fail(err, n->src, "network '%s': 'host_interface' needs mode: host-only",
                                n->name);
        if (n->mode != VN_MODE_HOST_ONLY)
            continue;
        /* The host's side of a host-only network: a tap holding the gateway address. */
        struct vn_port_conf *p = vn_conf_add_port(c, n->src, err);
        if (!p)
            return -1;
        snprintf(p->name, sizeof p->name, "host-%.*s", VN_NAME_MAX - 6, n->name);
        if ((p->type = vn_conf_port_type_find("tap")) < 0)
            return vn_conf_fail(err, n->src, "network '%s': host-only needs tap ports, which "
                                "this build lacks", n->name);
        p->implicit = true;
        vn_strlcpy(p->network, n->name, sizeof p->network);
        vn_strlcpy(p->ifname, n->host_interface, sizeof p->ifname);
        p->host_addr = n->gateway;
        p->host_prefix = n->prefix;
        if (n->ipv6)
            p->host_addr6 = n->gateway6;
    }
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (!n->uplink[0])
            continue;
        if (n->mode != VN_MODE_BRIDGE)
            return vn_conf_fail(err, n->src, "network '%s': 'uplink' needs mode: bridge",
                                n->name);
        struct vn_port_conf *p = NULL;
        for (unsigned j = 0; j < c->nports; j++)
            if (c->ports[j].implicit && !strcmp(c->ports[j].ifname, n->uplink))
                p = &c->ports[j];
        if (!p) {
            if (!(p = vn_conf_add_port(c, n->src, err)))
                return -1;
            snprintf(p->name, sizeof p->name, "uplink-%.*s", VN_IFNAME_MAX, n->uplink);
            if ((p->type = vn_conf_port_type_find("uplink")) < 0)
                return vn_conf_fail(err, n->src, "network '%s': 'uplink' needs uplink ports, "
                                    "which this build lacks", n->name);
            p->implicit = true;
            vn_strlcpy(p->ifname, n->uplink, sizeof p->ifname);
        }
        if (!n->vlan) {
            if (p->native[0])
                return vn_conf_fail(err, n->src,
                                    "network '%s': uplink %s already carries '%s' untagged; "
                                    "give one of them a 'vlan'",
                                    n->name, n->uplink, p->native);
            vn_strlcpy(p->native, n->name, sizeof p->native);
        }
        vn_strlcpy(p->trunk[p->ntrunk++], n->name, VN_NAME_MAX);
    }
    return 0;
}

/* The default IPv6 prefix of network name: a unique local /64 in the style
 * of RFC 4193 (fd + 40-bit global ID + 16-bit subnet ID), taken from a fixed
 * hash of the name (FNV-1a 64, not the per-process keyed hash) so it is the
 * same on every start and every host, and differs between names. */
static struct vn_addr ula_of(const char *name)
{
    uint64_t h = 14695981039346656037ull;
    for (const char *p = "vnet-ula/"; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    struct vn_addr a = { .family = AF_INET6 };
    a.a[0] = 0xfd;
    for (int i = 1; i < 8; i++)
        a.a[i] = (uint8_t)(h >> (8 * (i - 1)));
    return a;
}

/* PREFIX::host of a /64. */
static struct vn_addr in6(const struct vn_addr *prefix, uint64_t host)
{
    struct vn_addr a = *prefix;
    for (int i = 0; i < 8; i++)
        a.a[15 - i] = (uint8_t)(host >> (8 * i));
    return a;
}

/* Whether a is a usable host address of the /64 p (not PREFIX::0, the
 * subnet-router anycast address). */
static bool in_prefix6(const struct vn_addr *a, const struct vn_addr *p)
{
    static const uint8_t z[8];
    return a->family == AF_INET6 && vn_addr_in_prefix(a, p, 64) && memcmp(a->a + 8, z, 8);
}

/* Why a is not a host address of the /64 p (for messages). */
static const char *not_in6(const struct vn_addr *a, const struct vn_addr *p)
{
    return a->family == AF_INET6 && vn_addr_in_prefix(a, p, 64)
               ? "is the prefix's subnet-router anycast address, not a host address of subnet6"
               : "is not a host address of subnet6";
}

/* Whether a lies in [lo, hi] (IPv6, network byte order compares as bytes). */
static bool in_range6(const struct vn_addr *a, const struct vn_addr *lo, const struct vn_addr *hi)
{
    return memcmp(a->a, lo->a, 16) >= 0 && memcmp(a->a, hi->a, 16) <= 0;
}

/* dhcp6.hosts entries, checked like dhcp.hosts: who (a MAC or a DUID, not
 * both), an ip of subnet6 that is not the gateway's, nothing listed twice. */
static int validate_hosts6(struct vn_net_conf *n, struct vn_conf_err *err)
{
    char a[VN_ADDR_STRLEN];
    for (unsigned i = 0; i < n->nhosts6; i++) {
        struct vn_dhcp6_host *h = &n->hosts6[i];
        bool who = h->has_mac || h->duid_len;
        if (h->has_mac && h->duid_len)
            return vn_conf_fail(err, h->src, "dhcp6 host: give a 'mac' or a 'duid', not both");
        if (!who && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp6 host: give a 'mac' or a 'duid' (and "
                                "'ip'/'name')");
        if (!who && !h->ip.family)
            return vn_conf_fail(err, h->src,
                                "dhcp6 host '%s': a name alone matches nothing; give its 'mac' "
                                "or 'duid' (a reservation) or its 'ip' (a DNS name)", h->name);
        if (who && !h->ip.family && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp6 host: give an 'ip' or a 'name' for the %s",
                                h->has_mac ? "MAC" : "DUID");
        if (h->ip.family && !in_prefix6(&h->ip, &n->subnet6))
            return vn_conf_fail(err, h->src, "dhcp6 host: ip %s %s",
                                vn_addr_str(&h->ip, a, sizeof a), not_in6(&h->ip, &n->subnet6));
        if (h->ip.family && (vn_addr_eq(&h->ip, &n->gateway6) || vn_addr_eq(&h->ip, &n->dns_addr6)))
            return vn_conf_fail(err, h->src, "dhcp6 host: ip %s is the gateway's own address",
                                vn_addr_str(&h->ip, a, sizeof a));
        for (unsigned j = 0; j < i; j++) {
            const struct vn_dhcp6_host *o = &n->hosts6[j];
            if (h->has_mac && o->has_mac && !memcmp(h->mac, o->mac, 6))
                return vn_conf_fail(err, h->src, "dhcp6 host: MAC listed twice");
            if (h->duid_len && h->duid_len == o->duid_len && !memcmp(h->duid, o->duid, h->duid_len))
                return vn_conf_fail(err, h->src, "dhcp6 host: DUID listed twice");
            if (h->ip.family && vn_addr_eq(&h->ip, &o->ip))
                return vn_conf_fail(err, h->src, "dhcp6 host: ip %s listed twice",
                                    vn_addr_str(&h->ip, a, sizeof a));
        }
    }
    return 0;
}

/* IPv6 of a network with gateway services (after its IPv4 services were
 * validated): on by default for nat, host-only and isolated-with-subnet;
 * fills subnet6 (ULA default), gateway6, dns.address6, the RA and DHCPv6
 * defaults. ipv6: false clears all of it. Returns 0 or -1. */
static int validate_ipv6(struct vn_net_conf *n, struct vn_conf_err *err)
{
    char a[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN];
    if (!n->dhcp6_lease_time_set)
        n->dhcp6_lease_time = n->lease_time;
    if (!n->ipv6_set)
        n->ipv6 = true;
    if (!n->ipv6) {
        for (unsigned i = 0; i < n->nforwards; i++) {
            struct vn_forward_conf *f = &n->forwards[i];
            if (f->guest.family == AF_INET6)
                return vn_conf_fail(err, f->src, "forward: guest %s is IPv6, but network '%s' "
                                    "has ipv6: false", vn_addr_str(&f->guest, a, sizeof a),
                                    n->name);
        }
        /* No IPv6 service: what the IPv6 keys said is dropped (frames still switch). */
        n->subnet6 = n->gateway6 = n->dns_addr6 = (struct vn_addr){ 0 };
        n->dhcp6_start = n->dhcp6_end = (struct vn_addr){ 0 };
        n->nhosts6 = 0;
        n->ra = false;
        n->dhcp6_mode = VN_DHCP6_OFF;
        return 0;
    }
    if (!n->subnet6.family)
        n->subnet6 = ula_of(n->name);
    bool host_only = n->mode == VN_MODE_HOST_ONLY;
    if (!n->gateway6.family)
        n->gateway6 = in6(&n->subnet6, host_only ? 1 : 2);
    if (!in_prefix6(&n->gateway6, &n->subnet6))
        return vn_conf_fail(err, n->src, "network '%s': gateway6 %s %s", n->name,
                            vn_addr_str(&n->gateway6, a, sizeof a),
                            not_in6(&n->gateway6, &n->subnet6));
    if (!n->dns_addr6.family)
        n->dns_addr6 = n->mode == VN_MODE_NAT ? in6(&n->subnet6, 3)
                       : host_only            ? in6(&n->subnet6, 2)
                                              : n->gateway6;
    if (!in_prefix6(&n->dns_addr6, &n->subnet6))
        return vn_conf_fail(err, n->src, "network '%s': dns.address6 %s %s", n->name,
                            vn_addr_str(&n->dns_addr6, a, sizeof a),
                            not_in6(&n->dns_addr6, &n->subnet6));
    if (host_only && vn_addr_eq(&n->dns_addr6, &n->gateway6))
        return vn_conf_fail(err, n->src, "network '%s': on a host-only network gateway6 belongs "
                            "to the host; give dns.address6 another address", n->name);
    if (n->mode == VN_MODE_ISOLATED) {
        if (n->ra_set && n->ra)
            return vn_conf_fail(err, n->src, "network '%s': ra.enabled: isolated networks have "
                                "no router", n->name);
        n->ra = false;
    } else if (!n->ra_set) {
        n->ra = true;
    }
    /* host-only: the host does not route, so the gateway is no default router. */
    if (host_only && !n->ra_lifetime_set)
        n->ra_lifetime = 0;
    bool range_given = n->dhcp6_start.family != 0;
    if (!range_given) {
        n->dhcp6_start = in6(&n->subnet6, 0x1000);
        n->dhcp6_end = in6(&n->subnet6, 0x1fff);
    }
    if (!in_prefix6(&n->dhcp6_start, &n->subnet6) || !in_prefix6(&n->dhcp6_end, &n->subnet6))
        return vn_conf_fail(err, n->src, "network '%s': dhcp6.range %s-%s is not inside subnet6",
                            n->name, vn_addr_str(&n->dhcp6_start, a, sizeof a),
                            vn_addr_str(&n->dhcp6_end, b, sizeof b));
    const struct vn_addr *own[2] = { &n->gateway6, &n->dns_addr6 };
    for (unsigned i = 0; i < 2; i++)
        if (in_range6(own[i], &n->dhcp6_start, &n->dhcp6_end))
            return vn_conf_fail(err, n->src, "network '%s': dhcp6.range%s holds %s %s (the "
                                "gateway's own address); move one of them", n->name,
                                range_given ? "" : " (default PREFIX::1000-PREFIX::1fff)",
                                i ? "dns.address6" : "gateway6", vn_addr_str(own[i], a, sizeof a));
    if (validate_hosts6(n, err))
        return -1;
    for (unsigned i = 0; i < n->nforwards; i++) {
        struct vn_forward_conf *f = &n->forwards[i];
        if (f->guest.family == AF_INET6 && !in_prefix6(&f->guest, &n->subnet6))
            return vn_conf_fail(err, f->src, "forward: guest %s is not inside subnet6",
                                vn_addr_str(&f->guest, a, sizeof a));
    }
    return 0;
}

/* subnet: none, an IPv6-only network: nat only, no IPv4 key given, IPv6
 * on (it is the only family), forwards to IPv6 guests; DHCPv4 off, DNS on
 * (dns.address6). Returns 0 or -1. */
static int validate_ipv4_none(struct vn_net_conf *n, struct vn_conf_err *err)
{
    if (n->mode != VN_MODE_NAT)
        return vn_conf_fail(err, n->src, "network '%s': subnet: none (an IPv6-only network) is "
                            "supported on nat networks only", n->name);
    if (n->gateway || n->dns_addr || n->dhcp_start || n->nhosts)
        return vn_conf_fail(err, n->src, "network '%s': subnet: none leaves no IPv4 for "
                            "gateway, dns.address, dhcp.range or dhcp.hosts", n->name);
    if (n->dhcp_set && n->dhcp)
        return vn_conf_fail(err, n->src, "network '%s': dhcp.enabled: a network with subnet: "
                            "none has no DHCPv4 (guests get addresses by SLAAC or DHCPv6)",
                            n->name);
    if (n->ipv6_set && !n->ipv6)
        return vn_conf_fail(err, n->src, "network '%s': subnet: none needs IPv6 (ipv6: false "
                            "would leave the network no addresses)", n->name);
    for (unsigned i = 0; i < n->nforwards; i++) {
        struct vn_forward_conf *f = &n->forwards[i];
        if (!f->proto || !f->host.ip.family || !f->guest_port)
            return vn_conf_fail(err, f->src, "forward: needs proto, host and guest");
        if (f->guest.family != AF_INET6)
            return vn_conf_fail(err, f->src, "forward: on network '%s' (subnet: none) the guest "
                                "must be an IPv6 address ([ADDRESS]:PORT)", n->name);
    }
    n->dhcp = false;
    if (!n->dns_set)
        n->dns = true;
    if (!n->domain[0])
        vn_strlcpy(n->domain, "vnet.internal", sizeof n->domain);
    return 0;
}

/* nat64 (after IPv6 was validated): nat networks with IPv6 only; the
 * prefix defaults to 64:ff9b::/96 and may not overlap subnet6. Returns 0
 * or -1. */
static int validate_nat64(struct vn_net_conf *n, struct vn_conf_err *err)
{
    char a[VN_ADDR_STRLEN];
    if (!n->nat64)
        return 0;
    if (n->mode != VN_MODE_NAT)
        return vn_conf_fail(err, n->src, "network '%s': nat64 needs a nat network (a %s network "
                            "routes nothing through the gateway)", n->name,
                            vn_net_mode_name(n->mode));
    if (!n->ipv6)
        return vn_conf_fail(err, n->src, "network '%s': nat64 needs IPv6 (ipv6: false)", n->name);
    if (!n->nat64_prefix.family) {
        n->nat64_prefix = vn_nat64_wkp();
        n->nat64_prefix_len = VN_NAT64_WKP_LEN;
    }
    unsigned len = n->nat64_prefix_len;
    if (vn_addr_in_prefix(&n->subnet6, &n->nat64_prefix, VN_MIN(len, 64u)) ||
        vn_addr_in_prefix(&n->nat64_prefix, &n->subnet6, 64))
        return vn_conf_fail(err, n->src, "network '%s': nat64.prefix %s/%u overlaps subnet6",
                            n->name, vn_addr_str(&n->nat64_prefix, a, sizeof a), len);
    return 0;
}

/* Fill defaults of the gateway services and check that addresses agree. */
static int validate_services(struct vn_net_conf *n, struct vn_conf_err *err)
{
    char a[16], b[16];
    if (n->ipv4_none)
        return validate_ipv4_none(n, err);
    if (!vn_net_has_gateway(n)) {
        if (n->gateway || n->nhosts || n->nforwards || n->nupstream || n->dhcp_start ||
            n->dns_addr || (n->dhcp_set && n->dhcp) || (n->dns_set && n->dns) ||
            n->domain[0] || (n->mode == VN_MODE_BRIDGE && n->prefix))
            return vn_conf_fail(err, n->src,
                                n->mode == VN_MODE_ISOLATED
                                    ? "network '%s': gateway services (gateway, dhcp, dns, "
                                      "forwards) on an isolated network need a 'subnet'"
                                    : "network '%s': a %s network has no gateway services "
                                      "(gateway, dhcp, dns, forwards): the LAN provides them",
                                n->name, vn_net_mode_name(n->mode));
        if (n->ra_set && n->ra)
            return vn_conf_fail(err, n->src, "network '%s': ra.enabled: %s", n->name,
                                n->mode == VN_MODE_ISOLATED
                                    ? "isolated networks have no router"
                                    : "a bridge network has no router of its own (the LAN's "
                                      "router advertisements pass)");
        if ((n->ipv6_set && n->ipv6) || n->subnet6.family || n->gateway6.family ||
            n->dns_addr6.family || n->dhcp6_start.family || n->nhosts6)
            return vn_conf_fail(err, n->src, "network '%s': IPv6 service (ipv6, subnet6, "
                                "gateway6, dns.address6, dhcp6) needs gateway services (%s)",
                                n->name,
                                n->mode == VN_MODE_BRIDGE ? "a bridge passes the LAN's own RAs"
                                                          : "an isolated network needs a 'subnet'");
        n->ipv6 = false;
        n->ra = false;
        n->dhcp6_mode = VN_DHCP6_OFF;
        return 0;
    }
    /* Without a subnet: what QEMU (nat) and VirtualBox (host-only) users know. */
    bool qemu_defaults = !n->prefix && n->mode == VN_MODE_NAT;
    bool vbox_defaults = !n->prefix && n->mode == VN_MODE_HOST_ONLY;
    if (qemu_defaults) {
        n->subnet = 0x0a000200; /* 10.0.2.0/24: gateway .2, DNS .3, DHCP from .15 */
        n->prefix = 24;
    }
    if (vbox_defaults) {
        n->subnet = 0xc0a83800; /* 192.168.56.0/24: host .1, DHCP/DNS .2, DHCP from .101 */
        n->prefix = 24;
    }
    uint32_t mask = ~0u << (32 - n->prefix), bcast = n->subnet | ~mask;
#define IN_SUBNET(ip) (((ip) & mask) == n->subnet && (ip) != n->subnet && (ip) != bcast)
    if (!n->gateway)
        n->gateway = n->subnet + (qemu_defaults ? 2 : 1);
    if (!IN_SUBNET(n->gateway))
        return vn_conf_fail(err, n->src, "network '%s': gateway %s is not a host address of %s/%u",
                            n->name, vn_ip4_str(n->gateway, a), vn_ip4_str(n->subnet, b),
                            n->prefix);
    if (!n->dhcp_set)
        n->dhcp = true;
    if (!n->dns_set)
        n->dns = true;
    if (!n->dns_addr)
        n->dns_addr = qemu_defaults                 ? n->subnet + 3
                      : n->mode == VN_MODE_HOST_ONLY ? n->gateway + 1
                                                    : n->gateway;
    if (n->mode == VN_MODE_HOST_ONLY && n->dns_addr == n->gateway)
        return vn_conf_fail(err, n->src,
                            "network '%s': on a host-only network the gateway address belongs "
                            "to the host; give dns.address another address",
                            n->name);
    if (n->mode == VN_MODE_HOST_ONLY && !n->host_interface[0])
        snprintf(n->host_interface, sizeof n->host_interface, "vnet-%.10s", n->name);
    if (!IN_SUBNET(n->dns_addr))
        return vn_conf_fail(err, n->src,
                            "network '%s': dns.address %s is not a host address of the subnet",
                            n->name, vn_ip4_str(n->dns_addr, a));
    if (!n->domain[0])
        vn_strlcpy(n->domain, "vnet.internal", sizeof n->domain);
    uint32_t top = VN_MAX(n->gateway, n->dns_addr);
    if (!n->dhcp_start) {
        n->dhcp_start = n->subnet + (vbox_defaults ? 101 : 15);
        if (n->dhcp_start <= top || n->dhcp_start >= bcast)
            n->dhcp_start = top + 1;
        n->dhcp_end = bcast - 1;
        if (n->dhcp_end - n->dhcp_start >= 65536) /* a big subnet: the first 65536 */
            n->dhcp_end = n->dhcp_start + 65535;
        if (n->dhcp_start > n->dhcp_end)
            return vn_conf_fail(err, n->src, "network '%s': no room for a DHCP range in %s/%u",
                                n->name, vn_ip4_str(n->subnet, a), n->prefix);
    }
    if (!IN_SUBNET(n->dhcp_start) || !IN_SUBNET(n->dhcp_end))
        return vn_conf_fail(err, n->src, "network '%s': dhcp.range %s-%s is not inside %s/%u",
                            n->name, vn_ip4_str(n->dhcp_start, a), vn_ip4_str(n->dhcp_end, b),
                            vn_ip4_str(n->subnet, b), n->prefix);
    if (n->dhcp_end - n->dhcp_start >= 65536)
        return vn_conf_fail(err, n->src, "network '%s': dhcp.range holds more than 65536 addresses "
                            "(a lease table is allocated for all of them)", n->name);
    for (unsigned i = 0; i < n->nhosts; i++) {
        struct vn_dhcp_host *h = &n->hosts[i];
        if (!h->has_mac && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp host: give a 'mac' (and 'ip'/'name')");
        if (!h->has_mac && !h->ip)
            return vn_conf_fail(err, h->src,
                                "dhcp host '%s': a name alone matches nothing; give its 'mac' "
                                "(a reservation) or its 'ip' (a DNS name)", h->name);
        if (h->ip && !IN_SUBNET(h->ip))
            return vn_conf_fail(err, h->src, "dhcp host: ip %s is not inside the subnet",
                                vn_ip4_str(h->ip, a));
        if (h->ip && (h->ip == n->gateway || h->ip == n->dns_addr))
            return vn_conf_fail(err, h->src, "dhcp host: ip %s is the gateway's own address",
                                vn_ip4_str(h->ip, a));
        if (h->has_mac && !h->ip && !h->name[0])
            return vn_conf_fail(err, h->src, "dhcp host: give an 'ip' or a 'name' for the MAC");
        for (unsigned j = 0; j < i; j++) {
            if (h->has_mac && n->hosts[j].has_mac && !memcmp(h->mac, n->hosts[j].mac, 6))
                return vn_conf_fail(err, h->src, "dhcp host: MAC listed twice");
            if (h->ip && h->ip == n->hosts[j].ip)
                return vn_conf_fail(err, h->src, "dhcp host: ip %s listed twice",
                                    vn_ip4_str(h->ip, a));
        }
    }
    for (unsigned i = 0; i < n->nforwards; i++) {
        struct vn_forward_conf *f = &n->forwards[i];
        if (n->mode != VN_MODE_NAT)
            return vn_conf_fail(err, f->src, "forwards need a nat network");
        if (!f->proto || !f->host.ip.family || !f->guest_port)
            return vn_conf_fail(err, f->src, "forward: needs proto, host and guest");
        if (!f->guest.family)
            f->guest = vn_addr4(n->dhcp_start);
        if (f->guest.family == AF_INET && !IN_SUBNET(vn_addr_v4(&f->guest)))
            return vn_conf_fail(err, f->src, "forward: guest %s is not inside the subnet",
                                vn_ip4_str(vn_addr_v4(&f->guest), a));
    }
#undef IN_SUBNET
    return 0;
}

/* A network that sets no mtu takes the smallest bound of the ports that
 * carry it and have one (vxlan: the underlay MTU minus the encapsulation,
 * so 8950 on a jumbo underlay), else keeps the default. Ports validated. */
static void net_mtu_defaults(struct vn_config *c)
{
    uint32_t bound[VN_MAX_NETWORKS] = { 0 };
    for (unsigned i = 0; i < c->nports; i++) {
        const struct vn_port_conf *p = &c->ports[i];
        const struct vn_conf_port_type *pt = vn_conf_port_type_get((unsigned)p->type);
        uint32_t m = pt && pt->net_mtu ? pt->net_mtu(p) : 0;
        if (!m)
            continue;
        for (unsigned k = 0; k < (p->network[0] ? 1 : p->ntrunk); k++) {
            int n = vn_conf_net_index(c, p->network[0] ? p->network : p->trunk[k]);
            if (n >= 0 && (!bound[n] || m < bound[n]))
                bound[n] = m;
        }
    }
    for (unsigned i = 0; i < c->nnets; i++)
        if (bound[i] && !c->nets[i].mtu_set)
            c->nets[i].mtu = VN_MAX(VN_MIN_MTU, VN_MIN(bound[i], (uint32_t)VN_MAX_MTU));
}

/* evpn: the vxlan port it names, which must leave remote MACs to the
 * control plane and have an explicit IPv4 address (FRR's VTEP address). */
static int validate_evpn(const struct vn_config *c, struct vn_conf_err *err)
{
    const struct vn_evpn_conf *e = &c->evpn;
    if (!e->port[0])
        return 0;
    const struct vn_port_conf *p = NULL;
    for (unsigned i = 0; i < c->nports && !p; i++)
        if (!strcmp(c->ports[i].name, e->port))
            p = &c->ports[i];
    if (!p)
        return vn_conf_fail(err, e->src, "evpn.port: port '%s' is not defined", e->port);
    const struct vn_conf_port_type *t = vn_conf_port_type_get((unsigned)p->type);
    if (!t || strcmp(t->name, "vxlan"))
        return vn_conf_fail(err, e->src, "evpn.port: port '%s' is not a vxlan port", e->port);
    const struct vn_vxlan_conf *x = &p->vxlan;
    if (x->learning)
        return vn_conf_fail(err, e->src,
                            "evpn.port: port '%s' learns remote MACs from traffic: with EVPN the "
                            "control plane tells them, set 'learning: false' on it", e->port);
    if (x->local.ip.family != AF_INET || !vn_addr_v4(&x->local.ip))
        return vn_conf_fail(err, e->src,
                            "evpn.port: port '%s' needs an IPv4 'local' address (FRR advertises "
                            "it as the VTEP address)", e->port);
    if (x->local.port == e->kernel_port)
        return vn_conf_fail(err, e->src,
                            "evpn.kernel_port %u is the vxlan port's own UDP port: the mirror "
                            "devices need another", e->kernel_port);
    return 0;
}

int vn_conf_validate(struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++) {
        struct vn_net_conf *n = &c->nets[i];
        if (!n->name[0])
            return vn_conf_fail(err, n->src, "network without a 'name'");
        for (unsigned j = 0; j < i; j++) {
            if (!strcmp(c->nets[j].name, n->name))
                return vn_conf_fail(err, n->src, "network '%s' is defined twice", n->name);
            if (n->vlan && c->nets[j].vlan == n->vlan)
                return vn_conf_fail(err, n->src, "network '%s': vlan %u is already used by '%s'",
                                    n->name, n->vlan, c->nets[j].name);
            if (n->vni && c->nets[j].vni == n->vni)
                return vn_conf_fail(err, n->src, "network '%s': vni %u is already used by '%s'",
                                    n->name, n->vni, c->nets[j].name);
        }
        if (validate_services(n, err) || (vn_net_has_gateway(n) && validate_ipv6(n, err)) ||
            validate_nat64(n, err))
            return -1;
    }
    /* A host listener can serve one forward only. */
    for (unsigned i = 0; i < c->nnets; i++)
        for (unsigned f = 0; f < c->nets[i].nforwards; f++)
            for (unsigned j = 0; j <= i; j++)
                for (unsigned g = 0; g < (j == i ? f : c->nets[j].nforwards); g++) {
                    const struct vn_forward_conf *a = &c->nets[i].forwards[f],
                                                 *b = &c->nets[j].forwards[g];
                    if (a->proto == b->proto && a->host.port == b->host.port &&
                        vn_addr_eq(&a->host.ip, &b->host.ip)) {
                        char hs[64];
                        return vn_conf_fail(err, a->src, "forward: %s %s is already forwarded",
                                            a->proto == IPPROTO_TCP ? "tcp" : "udp",
                                            vn_sockaddr_str(&a->host, hs, sizeof hs));
                    }
                }
    if (add_uplink_ports(c, err))
        return -1;
    for (unsigned i = 0; i < c->nports; i++) {
        struct vn_port_conf *p = &c->ports[i];
        if (vn_conf_validate_port(c, p, err))
            return -1;
        for (unsigned j = 0; j < i; j++) {
            struct vn_port_conf *q = &c->ports[j];
            if (!strcmp(q->name, p->name))
                return vn_conf_fail(err, p->src, "port '%s' is defined twice", p->name);
            if (p->path[0] && !strcmp(q->path, p->path))
                return vn_conf_fail(err, p->src, "port '%s': path '%s' is already used by '%s'",
                                    p->name, p->path, q->name);
            const struct vn_conf_port_type *pt = vn_conf_port_type_get((unsigned)p->type),
                                           *qt = vn_conf_port_type_get((unsigned)q->type);
            if (pt->creates_ifname && qt->creates_ifname && !strcmp(p->ifname, q->ifname) &&
                !strcmp(p->netns, q->netns))
                return vn_conf_fail(err, p->src,
                                    "port '%s': interface '%s' is already created by '%s'",
                                    p->name, p->ifname, q->name);
        }
    }
    if (vn_conf_validate_vpn(c, err) || vn_conf_validate_wg_interfaces(c, err))
        return -1;
    net_mtu_defaults(c);
    for (unsigned i = 0; i < c->nmirrors; i++) {
        struct vn_mirror_conf *m = &c->mirrors[i];
        bool to_ok = false;
        if (!m->name[0] || !m->to[0] || !m->nfrom)
            return vn_conf_fail(err, m->src, "mirror: needs name, from and to");
        for (unsigned j = 0; j < c->nports; j++)
            to_ok |= !strcmp(c->ports[j].name, m->to);
        if (!to_ok)
            return vn_conf_fail(err, m->src, "mirror '%s': port '%s' is not defined", m->name,
                                m->to);
        for (unsigned k = 0; k < m->nfrom; k++) {
            bool ok = false;
            for (unsigned j = 0; j < c->nports; j++)
                ok |= !strcmp(c->ports[j].name, m->from[k]);
            if (!ok)
                return vn_conf_fail(err, m->src, "mirror '%s': port '%s' is not defined",
                                    m->name, m->from[k]);
            if (!strcmp(m->from[k], m->to))
                return vn_conf_fail(err, m->src, "mirror '%s': port '%s' cannot mirror to itself",
                                    m->name, m->to);
        }
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->mirrors[j].name, m->name))
                return vn_conf_fail(err, m->src, "mirror '%s' is defined twice", m->name);
    }
    if (validate_evpn(c, err))
        return -1;
    if (!c->state_dir[0]) {
        const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
        if (geteuid() == 0)
            snprintf(c->state_dir, sizeof c->state_dir, "/var/lib/vnet");
        else if (xdg && *xdg)
            snprintf(c->state_dir, sizeof c->state_dir, "%.200s/vnet", xdg);
        else if (home && *home)
            snprintf(c->state_dir, sizeof c->state_dir, "%.200s/.local/state/vnet", home);
    }
    if (!c->control[0]) {
        char rd[200];
        vn_conf_runtime_dir(rd, sizeof rd);
        if ((size_t)snprintf(c->control, sizeof c->control, "%.*s/vnetd.sock", 96, rd) >=
            sizeof c->control)
            return vn_conf_fail(err, (struct vn_conf_src){ c->source, 0 },
                                "default control socket path too long; set 'control'");
    }
    return 0;
}

int vn_conf_apply_defaults(struct vn_config *c, struct vn_conf_err *err)
{
    struct vn_conf_src src = { 0 };
    struct vn_net_conf *n = vn_conf_add_net(c, src, err);
    if (!n)
        return -1;
    vn_strlcpy(n->name, "default", sizeof n->name);
    n->mode = VN_MODE_NAT;
    struct vn_port_conf *p = vn_conf_add_port(c, src, err);
    if (!p)
        return -1;
    vn_strlcpy(p->name, "vm", sizeof p->name);
    if ((p->type = vn_conf_port_type_find("stream")) < 0)
        return vn_conf_fail(err, src, "the default port needs stream ports, which this build lacks");
    vn_strlcpy(p->network, "default", sizeof p->network);
    return 0;
}
