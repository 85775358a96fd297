/* The keys of a vxlan port, their checks, and the default MTU of the
 * networks it carries: see vxlan_conf.h and docs/vnetd.conf.md. */
#include "vxlan_conf.h"
#include "vxlan_hdr.h"
#include "conf/values.h"
#include "core/util.h"

#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define P(m) .off = offsetof(struct vn_port_conf, m), .size = sizeof(((struct vn_port_conf *)0)->m)
#define SET(m) .set_off = offsetof(struct vn_port_conf, m)
#define VX_LIST(arr, n)                                                                        \
    .shape = VN_CS_LIST, .off = offsetof(struct vn_port_conf, arr),                            \
    .size = sizeof(((struct vn_port_conf *)0)->arr[0]),                                        \
    .count_off = offsetof(struct vn_port_conf, n),                                             \
    .max = sizeof(((struct vn_port_conf *)0)->arr) / sizeof(((struct vn_port_conf *)0)->arr[0])

uint32_t vn_vxlan_overhead(int family)
{
    return family == AF_INET6 ? VN_VXLAN_OVERHEAD6 : VN_VXLAN_OVERHEAD4;
}

uint32_t vn_vxlan_underlay_mtu(const struct vn_addr *a)
{
    static const uint8_t zero[16];
    uint32_t mtu = 1500;
    if (!a->family || !memcmp(a->a, zero, a->family == AF_INET ? 4 : 16))
        return mtu;
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return mtu;
    for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != a->family)
            continue;
        const void *x = a->family == AF_INET
                            ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
                            : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
        if (memcmp(x, a->a, a->family == AF_INET ? 4 : 16))
            continue;
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct ifreq ifr = { 0 };
        vn_strlcpy(ifr.ifr_name, i->ifa_name, sizeof ifr.ifr_name);
        if (fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
            mtu = (uint32_t)ifr.ifr_mtu;
        if (fd >= 0)
            close(fd);
        break;
    }
    freeifaddrs(ifs);
    return mtu;
}

static bool addr_is_multicast(const struct vn_addr *a)
{
    return a->family == AF_INET ? (a->a[0] & 0xf0) == 0xe0 : a->a[0] == 0xff;
}

static bool addr_is_any(const struct vn_addr *a)
{
    static const uint8_t zero[16];
    return !memcmp(a->a, zero, a->family == AF_INET ? 4 : 16);
}

/* local: a unicast (or unspecified) address. */
static int chk_local(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    const struct vn_sockaddr *sa = dst;
    if (addr_is_multicast(&sa->ip))
        return vn_conf_fail(err, src, "%s: '%s' is a multicast address (give this host's own)",
                            key, val);
    return 0;
}

/* networks: each once. */
static int chk_network(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    const struct vn_port_conf *p = item;
    for (unsigned i = 0; i < p->ntrunk; i++)
        if (!strcmp(p->trunk[i], val))
            return vn_conf_fail(err, src, "%s: network '%s' listed twice", key, val);
    return 0;
}

/* remotes: unicast VTEP addresses, each once (dst is the new element, not counted yet). */
static int chk_remote(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                      const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k;
    const struct vn_port_conf *p = item;
    const struct vn_sockaddr *sa = dst;
    if (addr_is_multicast(&sa->ip))
        return vn_conf_fail(err, src,
                            "%s: '%s' is a multicast group: list the VTEPs themselves (head-end "
                            "replication; multicast underlays are not supported)",
                            key, val);
    if (addr_is_any(&sa->ip))
        return vn_conf_fail(err, src, "%s: '%s' is not a VTEP's address", key, val);
    for (unsigned i = 0; i < p->vxlan.nremotes; i++)
        if (vn_addr_eq(&p->vxlan.remotes[i].ip, &sa->ip))
            return vn_conf_fail(err, src,
                                "%s: '%s' listed twice (a VTEP is known by its address)", key,
                                val);
    return 0;
}

static const struct vn_conf_enum accept_enum[] = { { "listed", VN_VXLAN_ACCEPT_LISTED },
                                                   { "any", VN_VXLAN_ACCEPT_ANY } };

#define SOCK_BAD "%s: '%s' is not ADDR, ADDR:PORT or [V6ADDR]:PORT (port 1-65535)"

static const struct vn_conf_key vxlan_keys[] = {
    { .name = "local", .type = VN_CT_SOCKADDR, P(vxlan.local), .defport = VN_VXLAN_UDP_PORT,
      .parse = chk_local, .bad = SOCK_BAD, .flags = VN_KF_REQUIRED,
      .doc_type = "`ADDR[:PORT]`",
      .help = "vxlan: this VTEP's underlay address and UDP port (default 4789)" },
    { .name = "networks", .type = VN_CT_NAME, VX_LIST(trunk, ntrunk), .what = "network",
      .parse = chk_network, SET(vxlan.networks_given), .full = "%s: too many networks",
      .doc_type = "list of network names", .help = "vxlan: the networks it carries, by their vni" },
    { .name = "remotes", .type = VN_CT_SOCKADDR, VX_LIST(vxlan.remotes, vxlan.nremotes),
      .defport = VN_VXLAN_UDP_PORT, .parse = chk_remote, .bad = SOCK_BAD,
      .full = "%s: at most %u VTEPs", .doc_type = "list",
      .help = "vxlan: the flood list (VTEPs that get broadcast, multicast and unknown unicast)" },
    { .name = "learning", .type = VN_CT_BOOL, P(vxlan.learning), SET(vxlan.learning_set),
      .def = "true", .flags = VN_KF_ALWAYS,
      .help = "vxlan: learn remote MACs from the outer source of received frames" },
    { .name = "accept", .type = VN_CT_ENUM, .names = accept_enum,
      .nnames = VN_ARRAY_LEN(accept_enum), P(vxlan.accept), SET(vxlan.accept_set),
      .def = "listed", .flags = VN_KF_ALWAYS,
      .help = "vxlan: packets from VTEPs not listed (nor added by the control plane) are "
              "dropped (listed) or accepted (any)" },
    { .name = "ageing", .type = VN_CT_U32, .lo = 0, .hi = 31536000, P(vxlan.ageing),
      SET(vxlan.ageing_set), .def = "300", .flags = VN_KF_ALWAYS,
      .help = "vxlan: seconds before an idle learned remote MAC is forgotten (0 = never)" },
    { .name = "max_remote_macs", .type = VN_CT_U32, .lo = 16, .hi = 1u << 20,
      P(vxlan.max_macs), SET(vxlan.max_macs_set), .def = "4096", .flags = VN_KF_ALWAYS,
      .help = "vxlan: size of the remote MAC table" },
    { .name = "max_remote_macs_per_vtep", .type = VN_CT_U32, .lo = 0, .hi = 1u << 20,
      P(vxlan.max_macs_per_vtep), SET(vxlan.max_macs_per_vtep_set), .def = "0",
      .flags = VN_KF_ALWAYS,
      .help = "vxlan: learned MACs one VTEP may hold (0 = a quarter of max_remote_macs)" },
};

static int vxlan_validate(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    struct vn_vxlan_conf *x = &p->vxlan;
    char a[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN];
    if (!x->local.ip.family)
        return vn_conf_fail(err, p->src,
                            "port '%s': a vxlan port needs 'local' (this host's underlay "
                            "address, ADDR[:PORT])",
                            p->name);
    if (p->ntrunk && !x->networks_given)
        return vn_conf_fail(err, p->src,
                            "port '%s': a vxlan port lists its networks under 'networks', not "
                            "'trunk'",
                            p->name);
    for (unsigned i = 0; i < (p->network[0] ? 1 : p->ntrunk); i++) {
        const char *name = p->network[0] ? p->network : p->trunk[i];
        const struct vn_net_conf *n = vn_conf_find_net(c, name);
        if (n && !n->vni)
            return vn_conf_fail(err, p->src,
                                "port '%s': network '%s' has no 'vni' (a vxlan port carries "
                                "networks by their VXLAN network identifier)",
                                p->name, name);
    }
    for (unsigned i = 0; i < x->nremotes; i++) {
        const struct vn_sockaddr *r = &x->remotes[i];
        vn_addr_str(&r->ip, a, sizeof a);
        vn_addr_str(&x->local.ip, b, sizeof b);
        if (r->ip.family != x->local.ip.family)
            return vn_conf_fail(err, p->src,
                                "port '%s': remote %s is %s but local %s is %s (one underlay "
                                "family per port)",
                                p->name, a, r->ip.family == AF_INET ? "IPv4" : "IPv6", b,
                                x->local.ip.family == AF_INET ? "IPv4" : "IPv6");
        if (vn_addr_eq(&r->ip, &x->local.ip))
            return vn_conf_fail(err, p->src, "port '%s': remote %s is the local address",
                                p->name, a);
    }
    if (x->max_macs_per_vtep > x->max_macs)
        return vn_conf_fail(err, p->src,
                            "port '%s': max_remote_macs_per_vtep %u is more than max_remote_macs "
                            "%u",
                            p->name, x->max_macs_per_vtep, x->max_macs);
    x->underlay_mtu = vn_vxlan_underlay_mtu(&x->local.ip);
    return 0;
}

/* A network carried here fits the underlay with room for the encapsulation. */
static uint32_t vxlan_net_mtu(const struct vn_port_conf *p)
{
    uint32_t oh = vn_vxlan_overhead(p->vxlan.local.ip.family);
    return p->vxlan.underlay_mtu > oh ? p->vxlan.underlay_mtu - oh : 0;
}

const struct vn_conf_port_type vn_vxlan_conf_type = {
    .name = "vxlan",
    .keys = vxlan_keys,
    .nkeys = VN_ARRAY_LEN(vxlan_keys),
    .foreign = "it takes local, networks (or network), remotes, learning, accept, ageing, "
               "max_remote_macs and max_remote_macs_per_vtep",
    .validate = vxlan_validate,
    /* It sends to any address it is told and binds a UDP port: root's call. */
    .access = VN_PORT_ACCESS_ROOT,
    .classifies = true,
    .net_mtu = vxlan_net_mtu,
};
