/* Netlink for the EVPN mirror (libmnl): the few rtnetlink requests that make
 * the mirror devices, a look-up of a link by name, and the parser of the
 * bridge neighbour (fdb) messages FRR's zebra makes the kernel send.
 *
 * The parser is pure (a buffer in, a struct out) and is fuzzed; the requests
 * are synchronous and used only while vnetd sets up, before the sandbox. */
#ifndef VN_EVPN_NL_H
#define VN_EVPN_NL_H

#include "pkt/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;
struct nlmsghdr;

/* One AF_BRIDGE neighbour message (RTM_NEWNEIGH / RTM_DELNEIGH). */
struct vn_evpn_neigh {
    bool del;                 /* RTM_DELNEIGH */
    int ifindex;              /* ndm_ifindex: the device or bridge port it is on */
    int master;               /* NDA_MASTER (a bridge's entry on one of its ports), 0 = none */
    uint16_t state;           /* ndm_state (NUD_*) */
    uint8_t flags;            /* ndm_flags (NTF_*) */
    bool has_mac;
    uint8_t mac[6];           /* NDA_LLADDR */
    bool has_dst;
    struct vn_addr dst;       /* NDA_DST: the remote VTEP of a vxlan device's own entry */
};

/* The message at *off of buf (len bytes, 4-byte aligned), *off moved past
 * it; NULL at the end, or at a message whose nlmsg_len does not fit in
 * what is left (the rest is dropped). libmnl's mnl_nlmsg_ok() compares the
 * length as an int and takes one above 2^31 (found by fuzz_evpn). */
const struct nlmsghdr *vn_evpn_nl_walk(const void *buf, size_t len, size_t *off);

/* Parse one netlink message of len bytes (its nlmsg_len at most len).
 * Returns 1 and fills n for an AF_BRIDGE neighbour message, 0 for any other
 * message (another type or family: not ours), -1 when it is a neighbour
 * message that is malformed (short header, attributes that overrun or have
 * the wrong size). */
int vn_evpn_nl_parse_neigh(const void *msg, size_t len, struct vn_evpn_neigh *n);

/* What vn_evpn_nl_get_link() tells of a link. */
struct vn_evpn_link {
    int ifindex;
    int master;               /* IFLA_MASTER, 0 = none */
    bool up;                  /* IFF_UP */
    uint8_t mac[6];
    char kind[16];            /* IFLA_INFO_KIND: "bridge", "vxlan", "tun", "" */
    /* vxlan only */
    uint32_t vni;
    struct vn_addr local;
    uint16_t port;            /* host order */
    int link;                 /* IFLA_VXLAN_LINK, 0 = none */
    bool learning;
};

/* A blocking rtnetlink socket for the requests below (NULL: err says why). */
struct mnl_socket *vn_evpn_nl_open(char *err, size_t errlen);
void vn_evpn_nl_close(struct mnl_socket *nl);

/* The link called name: returns 1 (filled in), 0 (no such link) or -1 (err). */
int vn_evpn_nl_get_link(struct mnl_socket *nl, const char *name, struct vn_evpn_link *l,
                        char *err, size_t errlen);
/* Create bridge name (down) with the given MAC and ageing (seconds), no
 * multicast snooping; an existing bridge of that name gets them. 0 or -1
 * (err). */
int vn_evpn_nl_make_bridge(struct mnl_socket *nl, const char *name, const uint8_t mac[6],
                           uint32_t ageing_s, char *err, size_t errlen);
/* Create vxlan device name (down): vni, local address, destination and
 * listening UDP port, no learning, lower device link, enslaved to master.
 * Fails (EEXIST) when it exists. 0 or -1 (err). */
int vn_evpn_nl_make_vxlan(struct mnl_socket *nl, const char *name, uint32_t vni,
                          const struct vn_addr *local, uint16_t port, int link, int master,
                          char *err, size_t errlen);
/* Link ifindex: enslave it to master (0: leave as it is), no IPv6
 * addresses (where IPv6 is on), up. 0 or -1 (err). */
int vn_evpn_nl_set_link(struct mnl_socket *nl, int ifindex, int master, char *err,
                        size_t errlen);
/* Turn MAC learning of bridge port ifindex on or off. 0 or -1 (err). */
int vn_evpn_nl_set_port_learning(struct mnl_socket *nl, int ifindex, bool on, char *err,
                                 size_t errlen);

/* Put a request to dump every AF_BRIDGE neighbour into buf (at least
 * MNL_SOCKET_BUFFER_SIZE... 64 bytes are enough); returns its length. */
size_t vn_evpn_nl_dump_request(void *buf, size_t size, uint32_t seq);

#endif
