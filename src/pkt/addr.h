/* A family-neutral IP address (IPv4 or IPv6), the one address type of the
 * layers above pkt/: NAT flows, conntrack and the ACL packet view, the
 * gateway's egress table, the switch's bindings, host addresses in the
 * config model (struct vn_sockaddr). */
#ifndef VN_PKT_ADDR_H
#define VN_PKT_ADDR_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

/* An address (as the guest sees it, in NAT flows). */
struct vn_addr {
    uint8_t family;      /* AF_INET or AF_INET6 */
    uint8_t a[16];       /* network byte order; IPv4 in a[0..3] */
};

static inline struct vn_addr vn_addr4(uint32_t host_order)
{
    struct vn_addr x = { .family = AF_INET };
    x.a[0] = (uint8_t)(host_order >> 24);
    x.a[1] = (uint8_t)(host_order >> 16);
    x.a[2] = (uint8_t)(host_order >> 8);
    x.a[3] = (uint8_t)host_order;
    return x;
}
static inline uint32_t vn_addr_v4(const struct vn_addr *x)
{
    return (uint32_t)x->a[0] << 24 | (uint32_t)x->a[1] << 16 | (uint32_t)x->a[2] << 8 | x->a[3];
}

/* Fill ss with x and port (host order) for bind/connect/sendto; returns the
 * length to pass, or 0 when x has no family. */
static inline socklen_t vn_addr_sockaddr(const struct vn_addr *x, uint16_t port,
                                         struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (x->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons(port);
        memcpy(&s->sin_addr, x->a, 4);
        return sizeof *s;
    }
    if (x->family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons(port);
        memcpy(&s->sin6_addr, x->a, 16);
        return sizeof *s;
    }
    return 0;
}

/* Address length in bits (32 or 128; 0 for an unset address). */
static inline unsigned vn_addr_bits(const struct vn_addr *x)
{
    return x->family == AF_INET ? 32 : x->family == AF_INET6 ? 128 : 0;
}

/* Same family and address (IPv4: a[0..3] only). Compares words of fixed
 * size, which compile to a few loads: a memcmp of a length known only at
 * run time is a library call, and the per-packet scans of the gateway's
 * addresses (egress table, bindings) make several per IPv6 packet. */
static inline bool vn_addr_eq(const struct vn_addr *x, const struct vn_addr *y)
{
    if (x->family != y->family)
        return false;
    if (x->family == AF_INET) {
        uint32_t p, q;
        memcpy(&p, x->a, 4);
        memcpy(&q, y->a, 4);
        return p == q;
    }
    uint64_t p0, p1, q0, q1;
    memcpy(&p0, x->a, 8);
    memcpy(&p1, x->a + 8, 8);
    memcpy(&q0, y->a, 8);
    memcpy(&q1, y->a + 8, 8);
    return !((p0 ^ q0) | (p1 ^ q1));
}

/* x with every bit after the first len cleared. */
static inline struct vn_addr vn_addr_masked(const struct vn_addr *x, unsigned len)
{
    struct vn_addr m = { .family = x->family };
    unsigned bits = vn_addr_bits(x);
    if (len > bits)
        len = bits;
    memcpy(m.a, x->a, len / 8);
    if (len % 8)
        m.a[len / 8] = (uint8_t)(x->a[len / 8] & (0xff00u >> (len % 8)));
    return m;
}

/* Whether x lies in prefix p/len (p's host bits zero, same family). */
static inline bool vn_addr_in_prefix(const struct vn_addr *x, const struct vn_addr *p,
                                     unsigned len)
{
    if (x->family != p->family || len > vn_addr_bits(x))
        return false;
    if (memcmp(x->a, p->a, len / 8))
        return false;
    return !(len % 8) || !((x->a[len / 8] ^ p->a[len / 8]) & (0xff00u >> (len % 8)));
}

#define VN_ADDR_STRLEN 46     /* INET6_ADDRSTRLEN */

/* Parse an IPv4 or IPv6 address (no brackets, no port). Returns 0 or -1. */
static inline int vn_addr_parse(const char *s, struct vn_addr *out)
{
    struct vn_addr a = { 0 };
    if (inet_pton(AF_INET, s, a.a) == 1)
        a.family = AF_INET;
    else if (inet_pton(AF_INET6, s, a.a) == 1)
        a.family = AF_INET6;
    else
        return -1;
    *out = a;
    return 0;
}

/* Format a as text into buf (n >= VN_ADDR_STRLEN); "" for an unset address. Returns buf. */
static inline const char *vn_addr_str(const struct vn_addr *a, char *buf, size_t n)
{
    if (!n)
        return buf;
    buf[0] = 0;
    if (a->family == AF_INET || a->family == AF_INET6)
        inet_ntop(a->family, a->a, buf, (socklen_t)n);
    return buf;
}

#endif
