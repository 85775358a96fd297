/* IPv4-embedded IPv6 addresses: see nat64.h. */
#include "nat64.h"

#include <string.h>

bool vn_nat64_len_ok(unsigned len)
{
    return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

const char *vn_nat64_prefix_check(const struct vn_addr *prefix, unsigned len)
{
    if (prefix->family != AF_INET6)
        return "is not an IPv6 prefix";
    if (!vn_nat64_len_ok(len))
        return "has a length RFC 6052 does not allow (32, 40, 48, 56, 64 or 96)";
    struct vn_addr m = vn_addr_masked(prefix, len);
    if (!vn_addr_eq(&m, prefix))
        return "has bits set after the prefix length";
    if (prefix->a[8])
        return "has bits 64-71 set (RFC 6052 2.2: they must be zero)";
    const uint8_t *a = prefix->a;
    static const uint8_t zero[10];
    if (!memcmp(a, zero, sizeof zero))
        return "overlaps ::/80 (unspecified, loopback, IPv4-compatible and IPv4-mapped "
               "addresses)";
    if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
        return "is link-local";
    if (a[0] == 0xff)
        return "is multicast";
    return NULL;
}

/* Where the four bytes of the IPv4 address go for a prefix of len bits:
 * the bytes after the prefix, byte 8 (the u octet) skipped. */
static void v4_slots(unsigned len, unsigned slot[4])
{
    unsigned b = len / 8;
    for (unsigned i = 0; i < 4; i++, b++) {
        if (b == 8)
            b++;
        slot[i] = b;
    }
}

struct vn_addr vn_nat64_embed(const struct vn_addr *prefix, unsigned len, uint32_t v4)
{
    struct vn_addr a = vn_addr_masked(prefix, len);
    a.family = AF_INET6;
    unsigned slot[4];
    v4_slots(len, slot);
    for (unsigned i = 0; i < 4; i++)
        a.a[slot[i]] = (uint8_t)(v4 >> (24 - 8 * i));
    return a;
}

bool vn_nat64_extract(const struct vn_addr *prefix, unsigned len, const struct vn_addr *a,
                      uint32_t *v4)
{
    if (a->family != AF_INET6 || !vn_nat64_len_ok(len) || !vn_addr_in_prefix(a, prefix, len))
        return false;
    unsigned slot[4];
    v4_slots(len, slot);
    uint32_t x = 0;
    bool used[16] = { false };
    for (unsigned i = 0; i < 4; i++) {
        x = x << 8 | a->a[slot[i]];
        used[slot[i]] = true;
    }
    /* The u octet and the suffix are zero in an address of the mapping. */
    for (unsigned b = len / 8; b < 16; b++)
        if (!used[b] && a->a[b])
            return false;
    *v4 = x;
    return true;
}
