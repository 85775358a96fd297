/* IPv4-embedded IPv6 addresses (RFC 6052 2.2): how NAT64 and DNS64 put an
 * IPv4 address into an IPv6 prefix of length 32, 40, 48, 56, 64 or 96, and
 * take it out again. The IPv4 address fills the 32 bits after the prefix,
 * skipping bits 64..71 (the "u" octet, always zero); the suffix after it is
 * zero too. Pure functions on bytes: the config checks prefixes with them,
 * the NAT maps destinations, the DNS forwarder synthesizes AAAA records and
 * maps reverse names. */
#ifndef VN_PKT_NAT64_H
#define VN_PKT_NAT64_H

#include "addr.h"

#include <stdbool.h>
#include <stdint.h>

/* The Well-Known Prefix 64:ff9b::/96 (RFC 6052 2.1). */
#define VN_NAT64_WKP_LEN 96
static inline struct vn_addr vn_nat64_wkp(void)
{
    struct vn_addr p = { .family = AF_INET6 };
    p.a[1] = 0x64;
    p.a[2] = 0xff;
    p.a[3] = 0x9b;
    return p;
}

/* Whether len is one of the prefix lengths RFC 6052 allows. */
bool vn_nat64_len_ok(unsigned len);

/* Why prefix/len cannot be a NAT64 prefix (a phrase for an error message),
 * or NULL when it can: an IPv6 address, an allowed length, no bits set after
 * the prefix, bits 64..71 zero (the u octet; for /96 it is inside the
 * prefix), and not overlapping ::/80 (unspecified, loopback, IPv4-compatible
 * and IPv4-mapped addresses), fe80::/10 (link-local) or ff00::/8 (multicast). */
const char *vn_nat64_prefix_check(const struct vn_addr *prefix, unsigned len);

/* The IPv6 address embedding v4 (host byte order) in prefix/len (len
 * allowed, prefix checked). */
struct vn_addr vn_nat64_embed(const struct vn_addr *prefix, unsigned len, uint32_t v4);

/* If a lies in prefix/len and is an IPv4-embedded address of it (u octet and
 * suffix zero), store the embedded IPv4 address (host byte order) in *v4 and
 * return true; otherwise false. */
bool vn_nat64_extract(const struct vn_addr *prefix, unsigned len, const struct vn_addr *a,
                      uint32_t *v4);

#endif
