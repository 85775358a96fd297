/* UDP sockets from the DNS forwarder to one upstream resolver.
 *
 * Theory of operation: opening a socket per query costs half a dozen system
 * calls and a descriptor each; instead every upstream gets a small pool of
 * connected UDP sockets (each with its own kernel-chosen random source
 * port, and accepting datagrams from the upstream's address only). Queries
 * are spread over the active sockets in turn; a socket that has carried
 * VN_DNS_POOL_ROTATE queries stops taking new ones, drains (its answers
 * still arrive) and is closed once nothing is in flight on it, and a fresh
 * socket (a new random port) takes its place, so an off-path attacker
 * cannot learn a port and keep guessing ids against it. Sends are queued and
 * leave in one sendmmsg() per socket after the current round of events (a
 * batch of guest queries costs one system call); answers are read with
 * recvmmsg() in batches and handed to the owner's callback one by one. */
#ifndef VN_GW_DNS_POOL_H
#define VN_GW_DNS_POOL_H

#include "core/loop.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define VN_DNS_POOL_ACTIVE 4      /* sockets taking new queries */
#define VN_DNS_POOL_SLOTS 8       /* active + draining */
#define VN_DNS_POOL_ROTATE 512    /* queries per socket before it is replaced */
#define VN_DNS_POOL_BATCH 32      /* datagrams per sendmmsg/recvmmsg */
#define VN_DNS_POOL_MSG 1500      /* largest query sent */

struct vn_dns_pool;
struct vn_dns_psock;

/* An answer m (len bytes) arrived on socket s. */
typedef void (*vn_dns_pool_rx_fn)(void *ctx, struct vn_dns_psock *s, uint8_t *m, size_t len);
/* A queued send on s failed (the query must be tried elsewhere). */
typedef void (*vn_dns_pool_err_fn)(void *ctx, struct vn_dns_psock *s, uint16_t id, int err);

struct vn_dns_pool_stats {
    uint64_t sent, received, send_calls, recv_calls, rotated, errors, truncated;
};

/* A pool toward sa (copied). Returns NULL on out of memory. */
struct vn_dns_pool *vn_dns_pool_new(struct vn_loop *loop, const struct sockaddr *sa,
                                    socklen_t salen, vn_dns_pool_rx_fn rx,
                                    vn_dns_pool_err_fn on_err, void *ctx);
void vn_dns_pool_free(struct vn_dns_pool *p);

/* The socket for a new query (opening one if needed), or NULL with errno
 * when none can be opened. The query is in flight on it until
 * vn_dns_pool_done(). */
struct vn_dns_psock *vn_dns_pool_pick(struct vn_dns_pool *p);
/* Queue query m (len <= VN_DNS_POOL_MSG bytes, its id at m[0..1]) on s;
 * it is sent after the current round. Returns 0, or -1 if the batch is full
 * and could not be flushed now. */
int vn_dns_pool_send(struct vn_dns_psock *s, const uint8_t *m, size_t len);
/* A query on s is over (answered, timed out, abandoned). */
void vn_dns_pool_done(struct vn_dns_psock *s);

/* The number of this pool's sockets open (for descriptor planning: at most
 * VN_DNS_POOL_SLOTS). */
unsigned vn_dns_pool_open(const struct vn_dns_pool *p);
void vn_dns_pool_get_stats(const struct vn_dns_pool *p, struct vn_dns_pool_stats *st);

#endif
