/* tap port: a TAP interface on the host or inside a network namespace.
 *
 * The device is created with IFF_TAP|IFF_NO_PI while the daemon is
 * temporarily inside the target namespace (setns), so it belongs to that
 * namespace; its MAC, MTU and up state are set there too, then the daemon
 * returns to its own namespace. The device is not persistent: closing the fd
 * removes it. Reads take up to VN_BATCH frames per wake-up into the switch's
 * shared buffers; writes are one writev per frame (the tun driver has no
 * batch write).
 *
 * Read quota: reading until EAGAIN costs one empty read() per wake-up, a
 * quarter of the system calls of an idle round trip (epoll_wait, read, the
 * empty read, writev on each side). The loop's epoll is level-triggered, so a
 * round may stop early and the rest is reported again; each port reads at most
 * its quota of frames per round: 1 at first, doubled (up to VN_BATCH) when the
 * port is ready again in the round right after one that used up its quota
 * (frames were waiting), set to what a round found when a read comes back
 * empty. A lone frame costs one read; a stream soon reads whole batches.
 *
 * The device is opened with IFF_VNET_HDR and told (TUNSETOFFLOAD) that vnetd
 * takes partial checksums and TCP segmentation offload, so the kernel on the
 * other side hands over 64 KiB TCP segments in one read and accepts them in
 * one write: a virtio_net_hdr precedes every frame and maps 1:1 onto
 * struct vn_offload. */
#include "core/log.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <arpa/inet.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct tap_port {
    struct vn_port *port;
    int fd;
    struct vn_io io;
    char ifname[IFNAMSIZ];
    unsigned quota;       /* frames a round may read (see the read quota above) */
    uint64_t full_round;  /* the loop round whose reads stopped on the quota, 0 = none */
};

static void tap_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct tap_port *t = VN_CONTAINER_OF(io, struct tap_port, io);
    struct vn_port *p = t->port;
    unsigned k = 0, reads = 0;
    const size_t vh = sizeof(struct virtio_net_hdr);
    uint64_t round = vn_loop_stats(p->loop)->rounds;
    if (t->full_round && round == t->full_round + 1) /* frames were left waiting */
        t->quota = VN_MIN(2 * t->quota, (unsigned)VN_BATCH);
    bool drained = false;
    while (reads < t->quota) {
        uint8_t *b = p->rxbuf[k] + VN_HEADROOM - vh;
        ssize_t n = read(t->fd, b, VN_RXBUF_SIZE + vh);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                VN_LOG_RL(VN_LOG_WARN, "msg=\"tap read failed\" port=%s error=\"%s\"",
                          p->conf.name, strerror(errno));
            drained = true;
            break;
        }
        reads++;
        if ((size_t)n < vh) {
            p->stats.rx_frames++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            continue;
        }
        struct virtio_net_hdr h;
        memcpy(&h, b, vh);
        struct vn_frame *f = &p->rxframes[k];
        *f = (struct vn_frame){ .data = b + vh, .len = (uint32_t)((size_t)n - vh) };
        f->off = (struct vn_offload){ .flags = h.flags, .gso_type = h.gso_type & 0x7f,
                                      .hdr_len = h.hdr_len, .gso_size = h.gso_size,
                                      .csum_start = h.csum_start, .csum_offset = h.csum_offset };
        if ((h.gso_type & 0x7f) != VIRTIO_NET_HDR_GSO_NONE &&
            (f->off.gso_type == VIRTIO_NET_HDR_GSO_UDP || !h.gso_size)) {
            p->stats.rx_frames++;
            vn_port_drop_rx(p, VN_DROP_MALFORMED);
            continue;
        }
        k++;
    }
    if (drained) {
        t->quota = VN_MAX(reads, 1u);
        t->full_round = 0;
    } else {
        t->full_round = round;
    }
    if (k)
        vn_port_input(p, p->rxframes, k);
}

static void tap_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct tap_port *t = p->priv;
    const size_t vh = sizeof(struct virtio_net_hdr);
    for (unsigned i = 0; i < n; i++) {
        const struct vn_frame *f = fr[i];
        uint8_t tag[4];
        struct iovec iov[4];
        size_t len;
        int c = vn_port_frame_iov(p, f, tag, iov + 1, &len);
        struct vn_offload o = vn_port_frame_offload(&f->off, c);
        struct virtio_net_hdr h = {
            .flags = o.flags,
            .gso_type = o.gso_type,
            .hdr_len = o.hdr_len,
            .gso_size = o.gso_size,
            .csum_start = o.csum_start,
            .csum_offset = o.csum_offset,
        };
        iov[0] = (struct iovec){ &h, vh };
        ssize_t w = writev(t->fd, iov, c + 1);
        if (w == (ssize_t)(len + vh))
            vn_port_tx_ok(p, len);
        else
            vn_port_drop_tx(p, (w < 0 && errno == EAGAIN) ? VN_DROP_TX_FULL : VN_DROP_TX_ERROR);
    }
}

/* The MAC of a tap without a configured one: locally administered (02:...),
 * derived from the host's machine id and the port name, so the interface
 * (and the DHCP lease of what lives behind it) stays the same across
 * restarts, as a VM's fixed MAC does, and differs between hosts. */
static void default_mac(const struct vn_port *p, uint8_t mac[6])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64: a fixed function */
    char id[64] = "";
    FILE *f = fopen("/etc/machine-id", "re");
    if (f) {
        if (!fgets(id, sizeof id, f))
            id[0] = 0;
        fclose(f);
    }
    for (const char *s = id; *s && *s != '\n'; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    h = (h ^ '/') * 1099511628211ull;
    for (const char *s = p->conf.name; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    mac[0] = 0x02;
    for (int i = 1; i < 6; i++)
        mac[i] = (uint8_t)(h >> (8 * (i - 1)));
}

/* host-only: give the host's tap its IPv6 address (gateway6/64), without
 * duplicate address detection so it is usable at once (the network is
 * vnet's own and the gateway never claims it), and without SLAAC or routes
 * from the network's router advertisements. A host without IPv6 gets a
 * warning, not a failure: IPv4 works on. */
static void host_addr6(struct vn_port *p, const char *ifname)
{
    char path[96], a[VN_ADDR_STRLEN];
    /* No DAD, and the host never takes the gateway's router advertisements
     * (no SLAAC address, no default route via the network). */
    static const char *const knobs[] = { "accept_dad", "accept_ra", "autoconf" };
    for (unsigned i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/%s", ifname, knobs[i]);
        FILE *f = fopen(path, "w");
        if (f) {
            fputs("0", f);
            fclose(f);
        }
    }
    struct in6_ifreq {
        struct in6_addr addr;
        uint32_t prefixlen;
        int ifindex;
    } r = { .prefixlen = 64 };
    memcpy(&r.addr, p->conf.host_addr6.a, 16);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    int s6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s6 >= 0 && ioctl(s6, SIOCGIFINDEX, &ifr) == 0)
        r.ifindex = ifr.ifr_ifindex;
    if (s6 < 0 || !r.ifindex || (ioctl(s6, SIOCSIFADDR, &r) < 0 && errno != EEXIST))
        vn_warn("msg=\"cannot give the host-only tap its IPv6 address (IPv6 disabled on the "
                "host?)\" ifname=%s address=%s error=\"%s\"",
                ifname, vn_addr_str(&p->conf.host_addr6, a, sizeof a), strerror(errno));
    if (s6 >= 0)
        close(s6);
}

/* Configure MAC, MTU and addresses and bring the interface up; runs inside
 * the target netns. */
static int tap_configure(struct vn_port *p, const char *ifname, char *err, size_t errlen)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr = { 0 };
    vn_strlcpy(ifr.ifr_name, ifname, IFNAMSIZ);
    int rc = -1;
    {
        uint8_t mac[6];
        if (p->conf.has_mac)
            memcpy(mac, p->conf.mac, 6);
        else
            default_mac(p, mac);
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
        if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
            snprintf(err, errlen, "cannot set MAC of %s: %s", ifname, strerror(errno));
            goto out;
        }
    }
    uint32_t mtu = p->conf.mtu;
    if (!mtu) /* the largest MTU of the networks it carries */
        mtu = vn_port_max_mtu(p);
    ifr.ifr_mtu = (int)mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
        snprintf(err, errlen, "cannot set MTU %u on %s: %s", mtu, ifname, strerror(errno));
        goto out;
    }
    if (p->conf.host_addr) { /* host-only: the host's address on the network */
        struct sockaddr_in *sin = (struct sockaddr_in *)&ifr.ifr_addr;
        memset(&ifr.ifr_addr, 0, sizeof ifr.ifr_addr);
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(p->conf.host_addr);
        if (ioctl(s, SIOCSIFADDR, &ifr) < 0) {
            snprintf(err, errlen, "cannot set the address of %s: %s", ifname, strerror(errno));
            goto out;
        }
        sin->sin_addr.s_addr = htonl(~0u << (32 - p->conf.host_prefix));
        if (ioctl(s, SIOCSIFNETMASK, &ifr) < 0) {
            snprintf(err, errlen, "cannot set the netmask of %s: %s", ifname, strerror(errno));
            goto out;
        }
    }
    if (p->conf.host_addr6.family == AF_INET6)
        host_addr6(p, ifname);
    if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
        snprintf(err, errlen, "cannot read flags of %s: %s", ifname, strerror(errno));
        goto out;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
        snprintf(err, errlen, "cannot bring %s up: %s", ifname, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    close(s);
    return rc;
}

/* Create the device (in the current netns); returns the fd or -1. */
static int tap_create(struct vn_port *p, char *ifname, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr = { 0 };
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (p->conf.tap_excl ? IFF_TUN_EXCL : 0);
    vn_strlcpy(ifr.ifr_name, p->conf.ifname, IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "cannot create tap '%s': %s%s", p->conf.ifname, strerror(errno),
                 errno == EBUSY ? " (an interface with that name exists)" : "");
        close(fd);
        return -1;
    }
    vn_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
    int hsz = sizeof(struct virtio_net_hdr);
    if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0) {
        snprintf(err, errlen, "cannot enable offloads on '%s': %s", ifname, strerror(errno));
        close(fd);
        return -1;
    }
    if (tap_configure(p, ifname, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tap_open(struct vn_port *p, char *err, size_t errlen)
{
    struct tap_port *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->port = p;
    t->quota = 1;
    if (p->conf.tap_fd >= 0) { /* handed over already created (vnetd run) */
        struct ifreq ifr = { 0 };
        int hsz = sizeof(struct virtio_net_hdr);
        t->fd = p->conf.tap_fd;
        if (ioctl(t->fd, TUNGETIFF, &ifr) < 0 || !(ifr.ifr_flags & IFF_VNET_HDR) ||
            ioctl(t->fd, TUNSETVNETHDRSZ, &hsz) < 0 ||
            ioctl(t->fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0 ||
            vn_set_nonblock(t->fd) < 0) {
            snprintf(err, errlen, "the given tap fd is not a tap opened with IFF_VNET_HDR");
            free(t);
            return -1;
        }
        vn_strlcpy(t->ifname, ifr.ifr_name, sizeof t->ifname);
        goto registered;
    }
    int home = -1, target = -1;
    if (p->conf.netns[0] || p->conf.netns_fd >= 0) {
        home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        /* A namespace checked by the control server comes open already. */
        target = p->conf.netns_fd >= 0 ? dup(p->conf.netns_fd)
                                       : open(p->conf.netns, O_RDONLY | O_CLOEXEC);
        if (home < 0 || target < 0 || setns(target, CLONE_NEWNET) < 0) {
            snprintf(err, errlen, "cannot enter netns '%s': %s", p->conf.netns, strerror(errno));
            if (home >= 0)
                close(home);
            if (target >= 0)
                close(target);
            free(t);
            return -1;
        }
    }
    t->fd = tap_create(p, t->ifname, err, errlen);
    if (home >= 0) {
        if (setns(home, CLONE_NEWNET) < 0) {
            /* Cannot return: continuing would create everything else in the
             * wrong namespace. */
            vn_err("msg=\"cannot return to the daemon's netns\" error=\"%s\"", strerror(errno));
            abort();
        }
        close(home);
        close(target);
    }
    if (t->fd < 0) {
        free(t);
        return -1;
    }
registered:
    if (vn_io_add(p->loop, &t->io, t->fd, EPOLLIN, tap_event) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(t->fd);
        free(t);
        return -1;
    }
    p->priv = t;
    p->connected = true;
    p->caps = VN_CAP_CSUM | VN_CAP_GSO;
    p->rx_io = &t->io;
    return 0;
}

static void tap_close(struct vn_port *p)
{
    struct tap_port *t = p->priv;
    p->rx_io = NULL;
    vn_io_del(p->loop, &t->io);
    close(t->fd);
    free(t);
}

static void tap_describe(struct vn_port *p, json_t *o)
{
    struct tap_port *t = p->priv;
    json_object_set_new(o, "ifname", json_string(t->ifname));
    if (p->conf.netns[0])
        json_object_set_new(o, "netns", json_string(p->conf.netns));
}

/* ---- config: the keys of a tap port ---- */

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

static const struct vn_conf_key tap_keys[] = {
    { .name = "netns", .type = VN_CT_STR, P(netns), .flags = VN_KF_QUOTE,
      .doc_type = "path of a netns file", .help = "tap: namespace the interface is created in" },
    { .name = "ifname", .type = VN_CT_IFNAME, P(ifname), .flags = VN_KF_QUOTE,
      .bad = "%s: '%s' is not a valid interface name", .doc_type = "interface name",
      .help = "tap: name of the interface; uplink: the host interface" },
    { .name = "mac", .type = VN_CT_CUSTOM, P(mac), .set_off = offsetof(struct vn_port_conf, has_mac),
      .parse = p_mac, .print = pr_mac, .doc_type = "unicast MAC",
      .help = "tap: MAC of the interface" },
    { .name = "mtu", .type = VN_CT_U32, .lo = VN_MIN_MTU, .hi = VN_MAX_MTU, P(mtu),
      .help = "tap: interface MTU (0 = the network's)" },
};

/* The interface is named after the port unless told; the netns must exist. */
static int tap_validate(struct vn_config *c, struct vn_port_conf *p, struct vn_conf_err *err)
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

static const struct vn_conf_port_type tap_type = {
    .name = "tap",
    .keys = tap_keys,
    .nkeys = VN_ARRAY_LEN(tap_keys),
    .foreign = "it takes netns, ifname, mac and mtu",
    .validate = tap_validate,
    .access = VN_PORT_ACCESS_NETNS,
    .creates_ifname = true,
};

const struct vn_port_ops vn_port_tap_ops = {
    .type = "tap",
    .conf = &tap_type,
    .open = tap_open,
    .send = tap_send,
    .close = tap_close,
    .describe = tap_describe,
};
