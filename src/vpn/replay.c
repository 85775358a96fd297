/* Sliding replay window of 8192 bits (see replay.h). */
#include "vpn/replay.h"

#include <string.h>

void vn_replay_init(struct vn_replay *r)
{
    memset(r, 0, sizeof(*r));
}

/* Where counter's bit lives in the ring: the word, and the bit in it. */
static inline unsigned word_of(uint64_t counter)
{
    return (unsigned)((counter / 64u) % VN_REPLAY_WORDS);
}

static inline uint64_t bit_of(uint64_t counter)
{
    return UINT64_C(1) << (counter % 64u);
}

bool vn_replay_check(const struct vn_replay *r, uint64_t counter)
{
    if (counter >= VN_REJECT_AFTER_MESSAGES)
        return false;
    if (counter >= r->next)                    /* above the highest (or the first) */
        return true;
    if (r->next - 1 - counter > VN_REPLAY_WINDOW)
        return false;                          /* too far behind */
    return !(r->seen[word_of(counter)] & bit_of(counter));
}

bool vn_replay_accept(struct vn_replay *r, uint64_t counter)
{
    if (!vn_replay_check(r, counter))
        return false;
    if (counter >= r->next) {
        /* New highest: clear the words the window moves onto, from the one
         * after the old highest's to the new one's (all of them at most). */
        if (r->next) {
            uint64_t from = (r->next - 1) / 64u + 1, to = counter / 64u;
            if (to >= from) {
                uint64_t n = to - from + 1;
                if (n > VN_REPLAY_WORDS)
                    n = VN_REPLAY_WORDS;
                for (uint64_t i = 0; i < n; i++)
                    r->seen[(from + i) % VN_REPLAY_WORDS] = 0;
            }
        }
        r->next = counter + 1;
    }
    r->seen[word_of(counter)] |= bit_of(counter);
    return true;
}
