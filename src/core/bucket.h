/* Token buckets for storm control, policers and shapers.
 *
 * A bucket holds up to `burst` units and refills at `rate` units per second.
 * vn_bucket_take() spends n units only if they are there (a policer: the
 * caller drops what does not fit). vn_bucket_charge() always spends, letting
 * the level go into debt (a shaper: the caller then stops reading until
 * vn_bucket_delay_ms() has passed). The level is kept in nano-units so slow
 * rates refill smoothly between calls. A rate of 0 means unlimited. */
#ifndef VN_CORE_BUCKET_H
#define VN_CORE_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

struct vn_bucket {
    uint64_t rate;    /* units per second; 0 = unlimited */
    uint64_t burst;   /* units */
    int64_t level;    /* nano-units available (negative = debt) */
    uint64_t last_ns;
};

/* Configure: starts full. */
static inline void vn_bucket_init(struct vn_bucket *b, uint64_t rate, uint64_t burst)
{
    b->rate = rate;
    b->burst = burst ? burst : 1;
    b->level = (int64_t)(b->burst * 1000000000ull);
    b->last_ns = 0;
}

static inline void vn_bucket_refill(struct vn_bucket *b, uint64_t now_ns)
{
    int64_t cap = (int64_t)(b->burst * 1000000000ull);
    if (b->last_ns && now_ns > b->last_ns) {
        __int128 lvl = (__int128)b->level + (__int128)(now_ns - b->last_ns) * b->rate;
        b->level = lvl > cap ? cap : (int64_t)lvl;
    }
    b->last_ns = now_ns;
}

/* Take n units at time now_ns; returns false (and takes nothing) if short. */
static inline bool vn_bucket_take(struct vn_bucket *b, uint64_t n, uint64_t now_ns)
{
    if (!b->rate)
        return true;
    vn_bucket_refill(b, now_ns);
    int64_t need = (int64_t)(n * 1000000000ull);
    if (b->level < need)
        return false;
    b->level -= need;
    return true;
}

/* Spend n units unconditionally (may go into debt). */
static inline void vn_bucket_charge(struct vn_bucket *b, uint64_t n, uint64_t now_ns)
{
    if (!b->rate)
        return;
    vn_bucket_refill(b, now_ns);
    b->level -= (int64_t)(n * 1000000000ull);
}

/* Milliseconds until the bucket is out of debt (0 if it is not in debt). */
static inline uint64_t vn_bucket_delay_ms(const struct vn_bucket *b)
{
    if (!b->rate || b->level >= 0)
        return 0;
    return ((uint64_t)(-b->level) / b->rate + 999999) / 1000000;
}

#endif
