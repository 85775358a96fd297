/* The lease table of a DHCPv4 server and its file.
 *
 * Theory of operation: one entry per address of the dynamic range, allocated
 * once (the range is at most 65536 addresses), plus one entry per static host
 * of the configuration. An entry remembers the last client (MAC) that held it
 * even after its lease ended, so a returning VM gets the same address while
 * the range has never-used addresses left; only then are the addresses of
 * departed clients reused, least recently used first. Times are wall-clock
 * seconds (vn_wall_s) because they are written to disk.
 *
 * The file STATE_DIR/leases-NETWORK.json holds every entry that has a client;
 * it is written atomically (temporary file, fsync, rename) at most a few times
 * per second however many clients change state, and read at start-up. A file
 * that cannot be parsed is set aside as .corrupt and the server starts empty. */
#ifndef VN_GW_DHCP4_LEASE_H
#define VN_GW_DHCP4_LEASE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum vn_lease_state {
    VN_LEASE_FREE = 0,   /* never given out */
    VN_LEASE_OFFERED,    /* held for the client until expires */
    VN_LEASE_BOUND,      /* leased until expires */
    VN_LEASE_RELEASED,   /* given back by the client (address remembered) */
    VN_LEASE_DECLINED,   /* in use by someone else: quarantined until expires */
    VN_LEASE__COUNT
};

struct vn_lease {
    uint32_t ip;          /* host byte order */
    uint8_t mac[6];
    bool has_mac;         /* a client is (or was last) associated */
    bool reserved;        /* a pool address reserved by a static host, or the gateway's own */
    bool is_static;       /* entry of a static host */
    uint8_t state;        /* enum vn_lease_state */
    int64_t expires;      /* wall-clock seconds (bound/offered/declined) */
    int64_t changed;      /* when the state last changed */
    char hostname[64];
};

/* Is the entry an active lease at time now? */
static inline bool vn_lease_active(const struct vn_lease *l, int64_t now)
{
    return l->state == VN_LEASE_BOUND && l->expires > now;
}

/* Textual state at now: free, offered, bound, expired, released, declined. */
const char *vn_lease_state_name(const struct vn_lease *l, int64_t now);

/* Load leases from path into the entries (pool: ip - start indexes pool[],
 * statics matched by MAC and address). Returns the number loaded, or -1 when
 * the file exists but is unusable (it is renamed to PATH.corrupt; err says
 * why). A missing file loads 0. */
int vn_lease_load(const char *path, struct vn_lease *pool, uint32_t npool, uint32_t start,
                  struct vn_lease *statics, unsigned nstatic, char *err, size_t errlen);

/* Write every entry with a client to path atomically. Returns 0 or -1 with
 * err. */
int vn_lease_save(const char *path, const char *network, const struct vn_lease *pool,
                  uint32_t npool, const struct vn_lease *statics, unsigned nstatic, char *err,
                  size_t errlen);

/* Create directory path and its parents (mode 0755). Returns 0 or -1 with errno. */
int vn_mkdir_p(const char *path);

#endif
