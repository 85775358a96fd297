/* Shards: which networks must be served by the same worker thread, and
 * which worker serves each.
 *
 * Theory of operation (docs/threading.md): a frame is switched, routed and
 * written by the thread that received it, so everything one frame can touch
 * must belong to one thread. A port that carries several networks (a trunk,
 * an uplink, a vxlan port) and a mirror whose sources and destination lie in
 * different networks join those networks; the closure of that relation (a
 * union-find over the networks, one union per item) gives the shards. A
 * network no item mentions is a shard of its own. Shards go to workers
 * largest first (by weight: the ports they hold), each onto the worker with
 * the least weight so far (ties: the lowest index), which balances the
 * ports and keeps the result deterministic. Pure computation: no I/O, no
 * allocation. */
#ifndef VN_CORE_SHARD_H
#define VN_CORE_SHARD_H

#include <stdint.h>

#define VN_SHARD_MAX_NETS 64      /* >= VN_MAX_NETWORKS (checked in daemon.c) */
#define VN_SHARD_MAX_WORKERS 64

/* Something that ties networks together: a port (weight 1) or a mirror
 * (weight 0), with the set of networks it touches. */
struct vn_shard_item {
    uint64_t nets;      /* bit i: network i */
    unsigned weight;
};

struct vn_shard_plan {
    unsigned nshards;
    uint8_t net_shard[VN_SHARD_MAX_NETS];     /* network -> shard (0..nshards-1) */
    uint8_t shard_worker[VN_SHARD_MAX_NETS];  /* shard -> worker */
    uint8_t net_worker[VN_SHARD_MAX_NETS];    /* network -> worker */
    unsigned shard_weight[VN_SHARD_MAX_NETS];
    unsigned worker_weight[VN_SHARD_MAX_WORKERS];
};

/* Plan nnets networks tied by items onto nworkers workers (1..64). Shards
 * are numbered in the order of their lowest network. Returns 0, or -1 if
 * nnets or nworkers is out of range. */
int vn_shard_plan(unsigned nnets, const struct vn_shard_item *items, unsigned nitems,
                  unsigned nworkers, struct vn_shard_plan *out);

#endif
