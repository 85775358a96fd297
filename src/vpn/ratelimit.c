/* Per-source limit of handshake messages: see ratelimit.h. */
#include "ratelimit.h"

#include "core/hash.h"

#include <string.h>
#include <sys/socket.h>

void vn_rl_init(struct vn_rl *rl)
{
    memset(rl, 0, sizeof *rl);
}

/* The table key of a source: family, then the IPv4 address or IPv6 /64. */
static void rl_key(const struct vn_addr *src, uint8_t key[9])
{
    memset(key, 0, 9);
    if (src->family == AF_INET6) {
        key[0] = 6;
        memcpy(key + 1, src->a, 8);
    } else {
        key[0] = 4;
        memcpy(key + 1, src->a, 4);
    }
}

/* The entry of key in its set: the one holding it, else a free one or the
 * least recently used one if idle; NULL when the set is busy. *fresh says
 * the entry is new for key. */
static struct vn_rl_entry *rl_find(struct vn_rl *rl, const uint8_t key[9], uint64_t now_ms,
                                   bool *fresh)
{
    struct vn_rl_entry *set = &rl->e[(vn_hash(key, 9) % VN_RL_SETS) * VN_RL_WAYS];
    struct vn_rl_entry *victim = NULL;
    for (unsigned i = 0; i < VN_RL_WAYS; i++) {
        struct vn_rl_entry *e = &set[i];
        if (e->used && !memcmp(e->key, key, 9)) {
            *fresh = false;
            return e;
        }
        if (!victim || (victim->used && (!e->used || e->last_ms < victim->last_ms)))
            victim = e;
    }
    if (victim->used && (now_ms < victim->last_ms || now_ms - victim->last_ms < VN_RL_IDLE_MS))
        return NULL;
    *fresh = true;
    return victim;
}

bool vn_rl_allow(struct vn_rl *rl, const struct vn_addr *src, uint64_t now_ms)
{
    uint8_t key[9];
    rl_key(src, key);
    bool fresh;
    struct vn_rl_entry *e = rl_find(rl, key, now_ms, &fresh);
    if (!e)
        return false;
    if (fresh) {
        memcpy(e->key, key, sizeof e->key);
        e->used = true;
        e->milli_tokens = VN_RL_BURST * 1000u;
    } else if (now_ms > e->last_ms) {
        uint64_t t = e->milli_tokens + (now_ms - e->last_ms) * VN_RL_RATE;
        e->milli_tokens = (uint32_t)(t > VN_RL_BURST * 1000u ? VN_RL_BURST * 1000u : t);
    }
    if (now_ms > e->last_ms || fresh)
        e->last_ms = now_ms;
    if (e->milli_tokens < 1000u)
        return false;
    e->milli_tokens -= 1000u;
    return true;
}
