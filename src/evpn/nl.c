/* Netlink for the EVPN mirror: see nl.h. */
#include "nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#ifndef AF_BRIDGE
#define AF_BRIDGE 7
#endif

/* ---- the neighbour parser (pure) ---- */

const struct nlmsghdr *vn_evpn_nl_walk(const void *buf, size_t len, size_t *off)
{
    if (*off > len || len - *off < sizeof(struct nlmsghdr))
        return NULL;
    const struct nlmsghdr *nlh = (const struct nlmsghdr *)((const uint8_t *)buf + *off);
    if (nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len - *off)
        return NULL;
    *off += MNL_ALIGN(nlh->nlmsg_len);
    return nlh;
}

int vn_evpn_nl_parse_neigh(const void *msg, size_t len, struct vn_evpn_neigh *n)
{
    const struct nlmsghdr *nlh = msg;
    if (len < sizeof *nlh || nlh->nlmsg_len < sizeof *nlh || nlh->nlmsg_len > len)
        return 0; /* not a message: the caller's walk stops before this */
    if (nlh->nlmsg_type != RTM_NEWNEIGH && nlh->nlmsg_type != RTM_DELNEIGH)
        return 0;
    if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ndmsg))
        return -1;
    const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
    if (ndm->ndm_family != AF_BRIDGE)
        return 0;
    memset(n, 0, sizeof *n);
    n->del = nlh->nlmsg_type == RTM_DELNEIGH;
    n->ifindex = ndm->ndm_ifindex;
    n->state = ndm->ndm_state;
    n->flags = ndm->ndm_flags;
    /* walk the attributes by hand: every one must lie inside the message */
    size_t off = MNL_ALIGN(sizeof *nlh) + MNL_ALIGN(sizeof(struct ndmsg));
    while (off < nlh->nlmsg_len) {
        if (nlh->nlmsg_len - off < sizeof(struct nlattr))
            return -1;
        const struct nlattr *a = (const struct nlattr *)((const uint8_t *)msg + off);
        if (a->nla_len < sizeof *a || a->nla_len > nlh->nlmsg_len - off)
            return -1;
        const uint8_t *v = (const uint8_t *)a + sizeof *a;
        size_t vl = a->nla_len - sizeof *a;
        switch (a->nla_type & NLA_TYPE_MASK) {
        case NDA_LLADDR:
            if (vl != 6)
                return -1;
            memcpy(n->mac, v, 6);
            n->has_mac = true;
            break;
        case NDA_DST:
            if (vl == 4) {
                n->dst.family = AF_INET;
                memcpy(n->dst.a, v, 4);
            } else if (vl == 16) {
                n->dst.family = AF_INET6;
                memcpy(n->dst.a, v, 16);
            } else {
                return -1;
            }
            n->has_dst = true;
            break;
        case NDA_MASTER: {
            uint32_t m;
            if (vl != 4)
                return -1;
            memcpy(&m, v, 4);
            n->master = (int)m;
            break;
        }
        default:
            break;
        }
        off += MNL_ALIGN(a->nla_len);
    }
    return 1;
}

size_t vn_evpn_nl_dump_request(void *buf, size_t size, uint32_t seq)
{
    if (size < MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ndmsg)))
        return 0;
    memset(buf, 0, MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct ndmsg)));
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = RTM_GETNEIGH;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = seq;
    struct ndmsg *ndm = mnl_nlmsg_put_extra_header(nlh, sizeof *ndm);
    ndm->ndm_family = AF_BRIDGE;
    return nlh->nlmsg_len;
}

/* ---- synchronous requests (set-up) ---- */

struct mnl_socket *vn_evpn_nl_open(char *err, size_t errlen)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl) {
        snprintf(err, errlen, "netlink socket: %s", strerror(errno));
        return NULL;
    }
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        snprintf(err, errlen, "netlink bind: %s", strerror(errno));
        mnl_socket_close(nl);
        return NULL;
    }
    return nl;
}

void vn_evpn_nl_close(struct mnl_socket *nl)
{
    if (nl)
        mnl_socket_close(nl);
}

static uint32_t next_seq(void)
{
    static uint32_t seq;
    if (!seq)
        seq = (uint32_t)time(NULL);
    return ++seq;
}

/* Send req (NLM_F_ACK added) and read until its acknowledgement; cb sees
 * every reply before it. Returns 0, or -1 with errno (the kernel's error). */
static int talk(struct mnl_socket *nl, struct nlmsghdr *req, mnl_cb_t cb, void *data)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
    req->nlmsg_seq = next_seq();
    if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
        return -1;
    uint32_t portid = mnl_socket_get_portid(nl);
    for (;;) {
        ssize_t r = mnl_socket_recvfrom(nl, buf, sizeof buf);
        if (r < 0)
            return -1;
        int rc = mnl_cb_run(buf, (size_t)r, req->nlmsg_seq, portid, cb, data);
        if (rc == MNL_CB_ERROR)
            return -1;
        if (rc == MNL_CB_STOP)
            return 0;
    }
}

static struct nlmsghdr *link_req(char *buf, uint16_t type, uint16_t flags, int family, int index)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = flags;
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof *ifi);
    ifi->ifi_family = (unsigned char)family;
    ifi->ifi_index = index;
    return nlh;
}

/* IFLA_AF_SPEC { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } }: the device
 * gets no IPv6 link-local address, so it sends no DAD, RS or MLD. */
static void put_no_ipv6(struct nlmsghdr *nlh)
{
    struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
    struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);
    mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
    mnl_attr_nest_end(nlh, in6);
    mnl_attr_nest_end(nlh, spec);
}

static int fail(char *err, size_t errlen, const char *what, const char *name)
{
    snprintf(err, errlen, "%s %s: %s", what, name, strerror(errno));
    return -1;
}

/* ---- link look-up ---- */

static int vxlan_data_cb(const struct nlattr *a, void *data)
{
    struct vn_evpn_link *l = data;
    switch (mnl_attr_get_type(a)) {
    case IFLA_VXLAN_ID:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
            l->vni = mnl_attr_get_u32(a);
        break;
    case IFLA_VXLAN_LOCAL:
        if (mnl_attr_get_payload_len(a) == 4) {
            l->local.family = AF_INET;
            memcpy(l->local.a, mnl_attr_get_payload(a), 4);
        }
        break;
    case IFLA_VXLAN_LOCAL6:
        if (mnl_attr_get_payload_len(a) == 16) {
            l->local.family = AF_INET6;
            memcpy(l->local.a, mnl_attr_get_payload(a), 16);
        }
        break;
    case IFLA_VXLAN_PORT:
        if (mnl_attr_validate(a, MNL_TYPE_U16) == 0)
            l->port = ntohs(mnl_attr_get_u16(a));
        break;
    case IFLA_VXLAN_LINK:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
            l->link = (int)mnl_attr_get_u32(a);
        break;
    case IFLA_VXLAN_LEARNING:
        if (mnl_attr_validate(a, MNL_TYPE_U8) == 0)
            l->learning = mnl_attr_get_u8(a) != 0;
        break;
    }
    return MNL_CB_OK;
}

static int linkinfo_cb(const struct nlattr *a, void *data)
{
    struct vn_evpn_link *l = data;
    if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) == 0)
        snprintf(l->kind, sizeof l->kind, "%s", mnl_attr_get_str(a));
    else if (mnl_attr_get_type(a) == IFLA_INFO_DATA && mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
        mnl_attr_parse_nested(a, vxlan_data_cb, l); /* only vxlan's are read */
    return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *a, void *data)
{
    struct vn_evpn_link *l = data;
    switch (mnl_attr_get_type(a)) {
    case IFLA_MASTER:
        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
            l->master = (int)mnl_attr_get_u32(a);
        break;
    case IFLA_ADDRESS:
        if (mnl_attr_get_payload_len(a) == 6)
            memcpy(l->mac, mnl_attr_get_payload(a), 6);
        break;
    case IFLA_LINKINFO:
        if (mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
            mnl_attr_parse_nested(a, linkinfo_cb, l);
        break;
    }
    return MNL_CB_OK;
}

static int link_cb(const struct nlmsghdr *nlh, void *data)
{
    struct vn_evpn_link *l = data;
    if (nlh->nlmsg_type != RTM_NEWLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(struct ifinfomsg))
        return MNL_CB_OK;
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    memset(l, 0, sizeof *l);
    l->ifindex = ifi->ifi_index;
    l->up = ifi->ifi_flags & IFF_UP;
    l->learning = true;
    mnl_attr_parse(nlh, sizeof *ifi, link_attr_cb, l);
    return MNL_CB_OK;
}

int vn_evpn_nl_get_link(struct mnl_socket *nl, const char *name, struct vn_evpn_link *l,
                        char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = link_req(buf, RTM_GETLINK, 0, AF_UNSPEC, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    memset(l, 0, sizeof *l);
    if (talk(nl, nlh, link_cb, l) < 0) {
        if (errno == ENODEV)
            return 0;
        return fail(err, errlen, "cannot look up", name);
    }
    return l->ifindex > 0 ? 1 : 0;
}

/* ---- making the devices ---- */

int vn_evpn_nl_make_bridge(struct mnl_socket *nl, const char *name, const uint8_t mac[6],
                           uint32_t ageing_s, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = link_req(buf, RTM_NEWLINK, NLM_F_CREATE, AF_UNSPEC, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
    struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_BR_AGEING_TIME, ageing_s * 100); /* centiseconds */
    /* no multicast snooping: the bridge would join the snoopers' groups and
     * send IGMP/MLD reports through the vxlan device onto the underlay */
    mnl_attr_put_u8(nlh, IFLA_BR_MCAST_SNOOPING, 0);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, li);
    if (talk(nl, nlh, NULL, NULL) < 0)
        return fail(err, errlen, "cannot create bridge", name);
    return 0;
}

int vn_evpn_nl_make_vxlan(struct mnl_socket *nl, const char *name, uint32_t vni,
                          const struct vn_addr *local, uint16_t port, int link, int master,
                          char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh = link_req(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, AF_UNSPEC, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    if (master)
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
    struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vxlan");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, vni);
    if (local->family == AF_INET)
        mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, local->a);
    else
        mnl_attr_put(nlh, IFLA_VXLAN_LOCAL6, 16, local->a);
    mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(port));
    mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
    if (link)
        mnl_attr_put_u32(nlh, IFLA_VXLAN_LINK, (uint32_t)link);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, li);
    if (talk(nl, nlh, NULL, NULL) < 0)
        return fail(err, errlen, "cannot create vxlan device", name);
    return 0;
}

int vn_evpn_nl_set_link(struct mnl_socket *nl, int ifindex, int master, char *err,
                        size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], name[16];
    snprintf(name, sizeof name, "%d", ifindex);
    struct nlmsghdr *nlh;
    if (master) {
        nlh = link_req(buf, RTM_NEWLINK, 0, AF_UNSPEC, ifindex);
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
        if (talk(nl, nlh, NULL, NULL) < 0)
            return fail(err, errlen, "cannot enslave link", name);
    }
    /* no IPv6 address before it comes up; where IPv6 is off altogether
     * (EAFNOSUPPORT) there is nothing to keep quiet */
    nlh = link_req(buf, RTM_NEWLINK, 0, AF_UNSPEC, ifindex);
    put_no_ipv6(nlh);
    if (talk(nl, nlh, NULL, NULL) < 0 && errno != EAFNOSUPPORT)
        return fail(err, errlen, "cannot turn IPv6 addresses off on link", name);
    nlh = link_req(buf, RTM_NEWLINK, 0, AF_UNSPEC, ifindex);
    struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
    if (talk(nl, nlh, NULL, NULL) < 0)
        return fail(err, errlen, "cannot bring up link", name);
    return 0;
}

int vn_evpn_nl_set_port_learning(struct mnl_socket *nl, int ifindex, bool on, char *err,
                                 size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], name[16];
    snprintf(name, sizeof name, "%d", ifindex);
    struct nlmsghdr *nlh = link_req(buf, RTM_SETLINK, 0, AF_BRIDGE, ifindex);
    struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
    mnl_attr_put_u8(nlh, IFLA_BRPORT_LEARNING, on);
    mnl_attr_nest_end(nlh, pi);
    if (talk(nl, nlh, NULL, NULL) < 0)
        return fail(err, errlen, "cannot set bridge port learning of link", name);
    return 0;
}
