/* Minimal DHCPv4 client of `vnetd run --dhcp` (see dhcpc.h). */
#include "dhcpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { DISCOVER = 1, OFFER = 2, REQUEST = 3, ACK = 5, NAK = 6 };
#define BOOTP_LEN 300                 /* what we send: fixed part + options, padded */
#define MAGIC 0x63825363u

struct reply {
    int type;
    uint32_t yiaddr, mask, router, server, dns, lease;
};

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)(p[n - 1] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)(v >> 16)), put16(p + 2, (uint16_t)v); }
static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The BOOTP message into b (BOOTP_LEN bytes). */
static size_t build(uint8_t *b, const struct vn_dhcpc_lease *l, int type, uint32_t ciaddr,
                    uint32_t want, uint32_t server, int bcast)
{
    memset(b, 0, BOOTP_LEN);
    b[0] = 1, b[1] = 1, b[2] = 6;
    put32(b + 4, l->xid);
    if (bcast)
        put16(b + 10, 0x8000);
    put32(b + 12, ciaddr);
    memcpy(b + 28, l->mac, 6);
    put32(b + 236, MAGIC);
    uint8_t *o = b + 240;
    *o++ = 53, *o++ = 1, *o++ = (uint8_t)type;
    *o++ = 61, *o++ = 7, *o++ = 1; /* client id: hardware type + MAC */
    memcpy(o, l->mac, 6), o += 6;
    if (want)
        *o++ = 50, *o++ = 4, put32(o, want), o += 4;
    if (server)
        *o++ = 54, *o++ = 4, put32(o, server), o += 4;
    *o++ = 55, *o++ = 4, *o++ = 1, *o++ = 3, *o++ = 6, *o++ = 51; /* mask router dns lease */
    *o++ = 255;
    return BOOTP_LEN;
}

/* Parse a BOOTP reply for us (payload of UDP port 68). Returns 0 or -1. */
static int parse(const uint8_t *b, size_t n, const struct vn_dhcpc_lease *l, struct reply *r)
{
    memset(r, 0, sizeof *r);
    if (n < 240 || b[0] != 2 || get32(b + 4) != l->xid || memcmp(b + 28, l->mac, 6) ||
        get32(b + 236) != MAGIC)
        return -1;
    r->yiaddr = get32(b + 16);
    for (size_t i = 240; i < n;) {
        uint8_t code = b[i];
        if (code == 0) {
            i++;
            continue;
        }
        if (code == 255 || i + 1 >= n || i + 2 + b[i + 1] > n)
            break;
        uint8_t len = b[i + 1];
        const uint8_t *v = b + i + 2;
        if (code == 53 && len == 1)
            r->type = v[0];
        else if (code == 1 && len == 4)
            r->mask = get32(v);
        else if (code == 3 && len >= 4)
            r->router = get32(v);
        else if (code == 6 && len >= 4)
            r->dns = get32(v);
        else if (code == 51 && len == 4)
            r->lease = get32(v);
        else if (code == 54 && len == 4)
            r->server = get32(v);
        i += 2 + (size_t)len;
    }
    return r->type ? 0 : -1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Send one message as a broadcast frame (IP and UDP headers built here). */
static int send_raw(int ps, const struct vn_dhcpc_lease *l, const uint8_t *bootp, size_t blen)
{
    uint8_t pkt[28 + BOOTP_LEN];
    uint8_t *ip = pkt, *udp = pkt + 20;
    memset(pkt, 0, 28);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(28 + blen));
    ip[8] = 64;
    ip[9] = IPPROTO_UDP;
    put32(ip + 16, 0xffffffffu);
    put16(ip + 10, (uint16_t)~csum_add(0, ip, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)(8 + blen));
    memcpy(pkt + 28, bootp, blen);
    /* UDP checksum over the pseudo header (0.0.0.0 -> 255.255.255.255). */
    uint8_t ph[12] = { 0, 0, 0, 0, 255, 255, 255, 255, 0, IPPROTO_UDP };
    put16(ph + 10, (uint16_t)(8 + blen));
    uint16_t c = (uint16_t)~csum_add(csum_add(0, ph, 12), udp, 8 + blen);
    put16(udp + 6, c ? c : 0xffff);
    struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                              .sll_ifindex = l->ifindex, .sll_halen = 6 };
    memset(to.sll_addr, 0xff, 6);
    return sendto(ps, pkt, 28 + blen, 0, (struct sockaddr *)&to, sizeof to) < 0 ? -1 : 0;
}

/* Wait up to ms for a reply of one of the wanted types. */
static int wait_raw(int ps, const struct vn_dhcpc_lease *l, int ms, int want1, int want2,
                    struct reply *r)
{
    uint64_t end = now_ms() + (uint64_t)ms;
    uint8_t buf[2048];
    for (;;) {
        uint64_t now = now_ms();
        if (now >= end)
            return -1;
        struct pollfd pfd = { ps, POLLIN, 0 };
        if (poll(&pfd, 1, (int)(end - now)) <= 0)
            continue;
        ssize_t n = recv(ps, buf, sizeof buf, 0);
        if (n < 28 || (buf[0] >> 4) != 4 || buf[9] != IPPROTO_UDP)
            continue;
        size_t ihl = (size_t)(buf[0] & 15) * 4;
        if (ihl < 20 || (size_t)n < ihl + 8)
            continue;
        const uint8_t *udp = buf + ihl;
        if ((udp[2] << 8 | udp[3]) != 68)
            continue;
        if (parse(udp + 8, (size_t)n - ihl - 8, l, r) == 0 && (r->type == want1 || r->type == want2))
            return 0;
    }
}

static uint8_t mask_prefix(uint32_t mask)
{
    uint8_t p = 0;
    while (p < 32 && (mask & (0x80000000u >> p)))
        p++;
    return p;
}

int vn_dhcpc_run(int s, const char *ifname, struct vn_dhcpc_lease *l)
{
    memset(l, 0, sizeof *l);
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0 || (l->ifindex = (int)if_nametoindex(ifname)) == 0) {
        fprintf(stderr, "vnetd run: DHCP: cannot read %s: %s\n", ifname, strerror(errno));
        return -1;
    }
    memcpy(l->mac, ifr.ifr_hwaddr.sa_data, 6);
    if (getrandom(&l->xid, sizeof l->xid, 0) != sizeof l->xid)
        l->xid = (uint32_t)now_ms() ^ (uint32_t)getpid();
    int ps = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IP));
    struct sockaddr_ll me = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
                              .sll_ifindex = l->ifindex };
    if (ps < 0 || bind(ps, (struct sockaddr *)&me, sizeof me) < 0) {
        fprintf(stderr, "vnetd run: DHCP: packet socket on %s: %s\n", ifname, strerror(errno));
        if (ps >= 0)
            close(ps);
        return -1;
    }
    uint8_t b[BOOTP_LEN];
    struct reply offer, ack;
    int rc = -1;
    for (int attempt = 0; attempt < 5 && rc < 0; attempt++) {
        int wait = attempt ? 2000 : 1000;
        if (send_raw(ps, l, b, build(b, l, DISCOVER, 0, 0, 0, 1)) < 0 ||
            wait_raw(ps, l, wait, OFFER, OFFER, &offer) < 0 || !offer.yiaddr || !offer.server)
            continue;
        if (send_raw(ps, l, b, build(b, l, REQUEST, 0, offer.yiaddr, offer.server, 1)) < 0 ||
            wait_raw(ps, l, wait, ACK, NAK, &ack) < 0 || ack.type != ACK)
            continue;
        rc = 0;
    }
    close(ps);
    if (rc < 0) {
        fprintf(stderr, "vnetd run: DHCP: no lease on %s after 5 attempts\n", ifname);
        return -1;
    }
    l->addr = ack.yiaddr;
    l->prefix = ack.mask ? mask_prefix(ack.mask) : 24;
    l->router = ack.router;
    l->server = ack.server ? ack.server : offer.server;
    l->dns = ack.dns;
    l->lease_s = ack.lease ? ack.lease : 3600;
    return 0;
}

int vn_dhcpc_renew(struct vn_dhcpc_lease *l)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    int one = 1;
    struct sockaddr_in me = { .sin_family = AF_INET, .sin_port = htons(68),
                              .sin_addr.s_addr = htonl(l->addr) };
    struct sockaddr_in srv = { .sin_family = AF_INET, .sin_port = htons(67),
                               .sin_addr.s_addr = htonl(l->server) };
    uint8_t b[BOOTP_LEN];
    int rc = -1;
    l->xid++;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&me, sizeof me) < 0)
        goto out;
    for (int attempt = 0; attempt < 3 && rc < 0; attempt++) {
        size_t n = build(b, l, REQUEST, l->addr, 0, 0, 0);
        if (sendto(s, b, n, 0, (struct sockaddr *)&srv, sizeof srv) < 0)
            continue;
        uint64_t end = now_ms() + 2000;
        while (rc < 0) {
            uint64_t now = now_ms();
            if (now >= end)
                break;
            struct pollfd pfd = { s, POLLIN, 0 };
            if (poll(&pfd, 1, (int)(end - now)) <= 0)
                continue;
            uint8_t buf[1500];
            ssize_t r = recv(s, buf, sizeof buf, 0);
            struct reply ack;
            if (r > 0 && parse(buf, (size_t)r, l, &ack) == 0) {
                if (ack.type == ACK && ack.yiaddr == l->addr) {
                    l->lease_s = ack.lease ? ack.lease : l->lease_s;
                    rc = 0;
                } else if (ack.type == NAK) {
                    break;
                }
            }
        }
    }
out:
    close(s);
    return rc;
}
