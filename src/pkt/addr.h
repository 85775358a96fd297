/* A family-neutral IP address (IPv4 or IPv6), the one address type of the
 * layers above pkt/ (NAT flows today; the gateway, ACLs and the config model
 * as they become dual-stack). */
#ifndef VN_PKT_ADDR_H
#define VN_PKT_ADDR_H

#include <stdint.h>
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

#endif
