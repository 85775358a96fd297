/* tap port: a TAP interface on the host or inside a network namespace.
 *
 * The device is created with IFF_TAP|IFF_NO_PI while the daemon is
 * temporarily inside the target namespace (setns), so it belongs to that
 * namespace; its MAC, MTU and up state are set there too, then the daemon
 * returns to its own namespace. The device is not persistent: closing the fd
 * removes it. Reads drain up to VN_BATCH frames per wake-up into the switch's
 * shared buffers; writes are one write/writev per frame (the tun driver has no
 * batch write). */
#include "core/log.h"
#include "core/util.h"
#include "port.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <net/if_arp.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

struct tap_port {
    struct vn_port *port;
    int fd;
    struct vn_io io;
    char ifname[IFNAMSIZ];
};

static void tap_event(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    struct tap_port *t = VN_CONTAINER_OF(io, struct tap_port, io);
    struct vn_port *p = t->port;
    struct vn_switch *sw = p->sw;
    unsigned k = 0;
    while (k < VN_BATCH) {
        ssize_t n = read(t->fd, sw->rxbuf[k] + VN_HEADROOM, VN_FRAME_MAX);
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                VN_LOG_RL(VN_LOG_WARN, "msg=\"tap read failed\" port=%s error=\"%s\"",
                          p->conf.name, strerror(errno));
            break;
        }
        sw->rxframes[k] = (struct vn_frame){ .data = sw->rxbuf[k] + VN_HEADROOM,
                                             .len = (uint32_t)n };
        k++;
    }
    if (k)
        vn_switch_input(sw, p, sw->rxframes, k);
}

static void tap_send(struct vn_port *p, struct vn_frame **fr, unsigned n)
{
    struct tap_port *t = p->priv;
    for (unsigned i = 0; i < n; i++) {
        uint8_t tag[4];
        struct iovec iov[3];
        size_t len;
        int c = vn_port_frame_iov(p, fr[i], tag, iov, &len);
        ssize_t w = writev(t->fd, iov, c);
        if (w == (ssize_t)len)
            vn_port_tx_ok(p, len);
        else
            vn_port_drop_tx(p, (w < 0 && errno == EAGAIN) ? VN_DROP_TX_FULL : VN_DROP_TX_ERROR);
    }
}

/* Configure MAC, MTU and bring the interface up; runs inside the target netns. */
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
    if (p->conf.has_mac) {
        ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
        memcpy(ifr.ifr_hwaddr.sa_data, p->conf.mac, 6);
        if (ioctl(s, SIOCSIFHWADDR, &ifr) < 0) {
            snprintf(err, errlen, "cannot set MAC of %s: %s", ifname, strerror(errno));
            goto out;
        }
    }
    uint32_t mtu = p->conf.mtu;
    if (!mtu) { /* the largest MTU of the networks it carries */
        for (unsigned i = 0; i < p->sw->nnets; i++)
            if (vn_port_carries(p, i) && p->sw->nets[i]->conf.mtu > mtu)
                mtu = p->sw->nets[i]->conf.mtu;
    }
    ifr.ifr_mtu = (int)mtu;
    if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
        snprintf(err, errlen, "cannot set MTU %u on %s: %s", mtu, ifname, strerror(errno));
        goto out;
    }
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
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    vn_strlcpy(ifr.ifr_name, p->conf.ifname, IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "cannot create tap '%s': %s%s", p->conf.ifname, strerror(errno),
                 errno == EBUSY ? " (an interface with that name exists)" : "");
        close(fd);
        return -1;
    }
    vn_strlcpy(ifname, ifr.ifr_name, IFNAMSIZ);
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
    int home = -1, target = -1;
    if (p->conf.netns[0]) {
        home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        target = open(p->conf.netns, O_RDONLY | O_CLOEXEC);
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
    if (vn_io_add(p->sw->loop, &t->io, t->fd, EPOLLIN, tap_event) < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        close(t->fd);
        free(t);
        return -1;
    }
    p->priv = t;
    p->connected = true;
    return 0;
}

static void tap_close(struct vn_port *p)
{
    struct tap_port *t = p->priv;
    vn_io_del(p->sw->loop, &t->io);
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

const struct vn_port_ops vn_port_tap_ops = {
    .type = "tap",
    .open = tap_open,
    .send = tap_send,
    .close = tap_close,
    .describe = tap_describe,
};
