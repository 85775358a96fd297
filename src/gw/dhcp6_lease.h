/* The lease entries of a DHCPv6 server and their file.
 *
 * Theory of operation: a lease belongs to one IA_NA of one client, keyed by
 * the client's DUID and the IAID (RFC 8415 12.1), and holds one address.
 * Entries live in a table the server allocates once (dhcp6.c); this file
 * defines them and reads and writes their file. Times are wall-clock
 * seconds (vn_wall_s) because they are written to disk.
 *
 * The file STATE_DIR/leases6-NETWORK.json holds the bound leases (DUID in
 * hex, IAID, address, MAC, expiry). It is written atomically (temporary
 * file, fsync, rename) and read at start-up, when leases that have expired
 * are dropped. A file that cannot be parsed is set aside as .corrupt and the
 * server starts empty. */
#ifndef VN_GW_DHCP6_LEASE_H
#define VN_GW_DHCP6_LEASE_H

#include "dhcp6_msg.h"
#include "pkt/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum vn_lease6_state {
    VN_LEASE6_FREE = 0,  /* unused entry */
    VN_LEASE6_OFFERED,   /* advertised, held for the client until expires (not a binding) */
    VN_LEASE6_BOUND,     /* leased until expires */
    VN_LEASE6_RELEASED,  /* given back by the client (address remembered) */
    VN_LEASE6_DECLINED,  /* in use by someone else: quarantined until expires, no client */
    VN_LEASE6__COUNT
};

#define VN_LEASE6_NO_SLOT UINT32_MAX

struct vn_lease6 {
    struct vn_addr addr;          /* AF_INET6 */
    uint8_t duid[VN_DHCP6_DUID_MAX];
    uint8_t duid_len;             /* 0 = no client */
    uint8_t state;                /* enum vn_lease6_state */
    bool is_static;               /* the entry of a reservation (dhcp6.hosts with an address) */
    bool has_mac;
    uint8_t mac[6];               /* where the client's frames came from */
    int16_t host;                 /* dhcp6.hosts entry the client matches, -1 = none */
    uint32_t iaid;
    int64_t expires;              /* wall-clock seconds (bound, offered, declined) */
    int64_t changed;              /* when the state last changed */
    uint32_t slot;                /* pool index, VN_LEASE6_NO_SLOT outside the pool */
    uint32_t next;                /* the server's key index: next entry + 1, 0 = end */
};

/* Is l an active lease at now? */
static inline bool vn_lease6_active(const struct vn_lease6 *l, int64_t now)
{
    return l->state == VN_LEASE6_BOUND && l->expires > now;
}

/* Textual state at now: free, offered, bound, expired, released, declined. */
const char *vn_lease6_state_name(const struct vn_lease6 *l, int64_t now);

/* DUID as lowercase hex into out (at least 2 * len + 1 bytes). Returns out. */
char *vn_duid_hex(const uint8_t *duid, size_t len, char *out);
/* Hex text (an even number of digits, ':' between bytes allowed) into out
 * (cap bytes). Returns the number of bytes, or -1. */
int vn_duid_parse(const char *s, uint8_t *out, size_t cap);

/* Read path and call add(ctx, l) for every lease in it still bound at now
 * (l has addr, duid, iaid, mac, expires, changed; state BOUND). Returns the
 * number of leases passed, or -1 when the file exists but is unusable (it
 * is renamed to PATH.corrupt; err says why). A missing file gives 0. */
int vn_lease6_load(const char *path, int64_t now,
                   void (*add)(void *ctx, const struct vn_lease6 *l), void *ctx, char *err,
                   size_t errlen);

/* Write the entries of e[0..n) bound at now to path atomically. Returns 0 or
 * -1 with err. */
int vn_lease6_save(const char *path, const char *network, const struct vn_lease6 *e, uint32_t n,
                   int64_t now, char *err, size_t errlen);

#endif
