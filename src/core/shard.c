/* Shards of networks and their workers: see shard.h. */
#include "shard.h"

#include <string.h>

/* The root of network i's set (path halving). */
static unsigned find(uint8_t *parent, unsigned i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* Join the sets of a and b; the lower root stays the root. */
static void join(uint8_t *parent, unsigned a, unsigned b)
{
    a = find(parent, a);
    b = find(parent, b);
    if (a < b)
        parent[b] = (uint8_t)a;
    else if (b < a)
        parent[a] = (uint8_t)b;
}

int vn_shard_plan(unsigned nnets, const struct vn_shard_item *items, unsigned nitems,
                  unsigned nworkers, struct vn_shard_plan *out)
{
    if (nnets > VN_SHARD_MAX_NETS || nworkers < 1 || nworkers > VN_SHARD_MAX_WORKERS)
        return -1;
    memset(out, 0, sizeof *out);
    uint8_t parent[VN_SHARD_MAX_NETS];
    for (unsigned i = 0; i < nnets; i++)
        parent[i] = (uint8_t)i;
    uint64_t valid = nnets == 64 ? ~0ull : (1ull << nnets) - 1;
    for (unsigned k = 0; k < nitems; k++) {
        uint64_t s = items[k].nets & valid;
        if (!s)
            continue;
        unsigned first = (unsigned)__builtin_ctzll(s);
        for (uint64_t r = s & (s - 1); r; r &= r - 1)
            join(parent, first, (unsigned)__builtin_ctzll(r));
    }
    /* Number the shards by their lowest network (the root). */
    uint8_t root_shard[VN_SHARD_MAX_NETS];
    for (unsigned i = 0; i < nnets; i++) {
        unsigned r = find(parent, i);
        if (r == i)
            root_shard[i] = (uint8_t)out->nshards++;
        out->net_shard[i] = root_shard[r];
    }
    for (unsigned k = 0; k < nitems; k++) {
        uint64_t s = items[k].nets & valid;
        if (s)
            out->shard_weight[out->net_shard[__builtin_ctzll(s)]] += items[k].weight;
    }
    /* Largest first onto the least loaded worker. */
    uint8_t order[VN_SHARD_MAX_NETS];
    for (unsigned i = 0; i < out->nshards; i++)
        order[i] = (uint8_t)i;
    for (unsigned i = 1; i < out->nshards; i++) /* insertion sort: stable, at most 64 */
        for (unsigned j = i; j > 0 && out->shard_weight[order[j]] > out->shard_weight[order[j - 1]];
             j--) {
            uint8_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    for (unsigned i = 0; i < out->nshards; i++) {
        unsigned best = 0;
        for (unsigned w = 1; w < nworkers; w++)
            if (out->worker_weight[w] < out->worker_weight[best])
                best = w;
        out->shard_worker[order[i]] = (uint8_t)best;
        out->worker_weight[best] += out->shard_weight[order[i]];
    }
    for (unsigned i = 0; i < nnets; i++)
        out->net_worker[i] = out->shard_worker[out->net_shard[i]];
    return 0;
}
