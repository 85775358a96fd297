/* Token buckets for storm control and rate limits.
 *
 * A bucket holds up to `burst` units and refills at `rate` units per second;
 * vn_bucket_take() spends n units if they are there. The level is kept in
 * nano-units so slow rates refill smoothly between calls. A rate of 0 means
 * unlimited. */
#ifndef VN_CORE_BUCKET_H
#define VN_CORE_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct vn_bucket {
    uint64_t rate;    /* units per second; 0 = unlimited */
    uint64_t burst;   /* units */
    uint64_t level;   /* nano-units available */
    uint64_t last_ns;
};

/* Configure: starts full. */
static inline void vn_bucket_init(struct vn_bucket *b, uint64_t rate, uint64_t burst)
{
    b->rate = rate;
    b->burst = burst ? burst : 1;
    b->level = b->burst * 1000000000ull;
    b->last_ns = 0;
}

/* Take n units at time now_ns; returns false (and takes nothing) if short. */
static inline bool vn_bucket_take(struct vn_bucket *b, uint64_t n, uint64_t now_ns)
{
    if (!b->rate)
        return true;
    uint64_t cap = b->burst * 1000000000ull;
    if (b->last_ns && now_ns > b->last_ns) {
        unsigned __int128 add = (unsigned __int128)(now_ns - b->last_ns) * b->rate;
        b->level = add >= cap - b->level ? cap : b->level + (uint64_t)add;
    }
    b->last_ns = now_ns;
    uint64_t need = n * 1000000000ull;
    if (b->level < need)
        return false;
    b->level -= need;
    return true;
}

#endif
