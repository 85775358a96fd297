/* The built-in port types' config keys and checks: stream and dgram (a unix
 * socket path), tap (namespace, interface name, MAC, MTU) and uplink (a host
 * interface). Each is a struct vn_conf_port_type registered with the
 * registry in schema.c, in the order of enum vn_port_type. They live here
 * for now; each is meant to move into its backend in src/port/ and register
 * from there. */
#include "schema.h"
#include "values.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define P(m) .off = offsetof(struct vn_port_conf, m), .size = sizeof(((struct vn_port_conf *)0)->m)

static int p_mac(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                 const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    uint8_t *m = dst;
    if (vn_mac_parse(val, m))
        return vn_conf_fail(err, src, "%s: '%s' is not a MAC address like 52:54:00:12:34:56", key,
                            val);
    if (vn_mac_is_multicast(m) || vn_mac_is_zero(m))
        return vn_conf_fail(err, src, "%s: '%s' is not a unicast address", key, val);
    return 0;
}

static void pr_mac(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    char mac[18];
    fprintf(o, "\"%s\"", vn_mac_str(dst, mac));
}

/* Rows more than one type has (each type lists the keys it takes). */
#define PATH_KEY                                                                               \
    { .name = "path", .type = VN_CT_STR, P(path), .flags = VN_KF_QUOTE, .doc_type = "path",    \
      .help = "stream, dgram: the unix socket vnetd binds (default RUNDIR/NAME.sock)" }
#define IFNAME_KEY                                                                             \
    { .name = "ifname", .type = VN_CT_IFNAME, P(ifname), .flags = VN_KF_QUOTE,                \
      .bad = "%s: '%s' is not a valid interface name", .doc_type = "interface name",          \
      .help = "tap: name of the interface; uplink: the host interface" }

static const struct vn_conf_key socket_keys[] = { PATH_KEY };

static const struct vn_conf_key tap_keys[] = {
    { .name = "netns", .type = VN_CT_STR, P(netns), .flags = VN_KF_QUOTE,
      .doc_type = "path of a netns file", .help = "tap: namespace the interface is created in" },
    IFNAME_KEY,
    { .name = "mac", .type = VN_CT_CUSTOM, P(mac), .set_off = offsetof(struct vn_port_conf, has_mac),
      .parse = p_mac, .print = pr_mac, .doc_type = "unicast MAC",
      .help = "tap: MAC of the interface" },
    { .name = "mtu", .type = VN_CT_U32, .lo = VN_MIN_MTU, .hi = VN_MAX_MTU, P(mtu),
      .help = "tap: interface MTU (0 = the network's)" },
};

static const struct vn_conf_key uplink_keys[] = { IFNAME_KEY };

/* stream, dgram: the socket path defaults to RUNDIR/NAME.sock. */
static int validate_socket(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    (void)c;
    char rd[200];
    if (!p->path[0]) {
        vn_conf_runtime_dir(rd, sizeof rd);
        if ((size_t)snprintf(p->path, sizeof p->path, "%s/%s.sock", rd, p->name) >=
            sizeof p->path)
            return vn_conf_fail(err, p->src, "port '%s': default socket path too long", p->name);
    }
    return 0;
}

/* tap: the interface is named after the port unless told; the netns must exist. */
static int validate_tap(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    (void)c;
    if (!p->ifname[0] && p->tap_fd < 0)
        vn_strlcpy(p->ifname, p->name, sizeof p->ifname);
    if (p->netns[0]) {
        struct stat st;
        if (stat(p->netns, &st) < 0)
            return vn_conf_fail(err, p->src, "port '%s': netns '%s' does not exist", p->name,
                                p->netns);
    }
    return 0;
}

static int validate_uplink(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
{
    (void)c;
    if (!p->ifname[0])
        return vn_conf_fail(err, p->src, "port '%s': an uplink needs 'ifname' (the host interface)",
                            p->name);
    return 0;
}

#define SOCKET_FOREIGN                                                                         \
    "port '%s': netns, ifname, mac and mtu apply to tap ports only "                          \
    "(a socket port uses its network's mtu)"

static const struct vn_conf_port_type builtin[] = {
    [VN_PORT_STREAM] = { "stream", socket_keys, VN_ARRAY_LEN(socket_keys), SOCKET_FOREIGN,
                         validate_socket },
    [VN_PORT_DGRAM] = { "dgram", socket_keys, VN_ARRAY_LEN(socket_keys), SOCKET_FOREIGN,
                        validate_socket },
    [VN_PORT_TAP] = { "tap", tap_keys, VN_ARRAY_LEN(tap_keys),
                      "port '%s': 'path' applies to stream and dgram ports", validate_tap },
    [VN_PORT_UPLINK] = { "uplink", uplink_keys, VN_ARRAY_LEN(uplink_keys),
                         "port '%s': an uplink takes 'ifname' only", validate_uplink },
};
_Static_assert(VN_ARRAY_LEN(builtin) == VN_PORT__COUNT, "a port type without its keys");

void vn_conf_port_types_builtin(void)
{
    for (unsigned i = 0; i < VN_ARRAY_LEN(builtin); i++)
        if (vn_conf_port_type_register(&builtin[i]) != (int)i)
            abort(); /* the index is the enum vn_port_type value */
}
