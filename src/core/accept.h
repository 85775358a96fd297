/* accept() that backs off instead of spinning when descriptors run out.
 *
 * Theory of operation: listeners are level-triggered. When accept4() fails
 * with EMFILE/ENFILE (or ENOBUFS/ENOMEM) the pending connection stays
 * queued and epoll would wake the loop again at once, forever: the daemon
 * would spin and starve everything else. Instead the listener stops being
 * polled for a short while (BACKOFF_MS) and is polled again from a timer;
 * the connections wait in the kernel's backlog meanwhile. Each back-off is
 * counted and logged (rate-limited). */
#ifndef VN_CORE_ACCEPT_H
#define VN_CORE_ACCEPT_H

#include "loop.h"

#include <stdint.h>
#include <sys/socket.h>

struct vn_listen_guard {
    struct vn_timer timer;
    struct vn_loop *loop;
    struct vn_io *io;        /* the listener */
    uint32_t events;         /* its mask while paused */
    const char *what;        /* for the log: "control", "forward", ... */
    uint64_t backoffs;
};

/* Watch listener io (already added to loop). */
void vn_listen_guard_init(struct vn_listen_guard *g, struct vn_loop *loop, struct vn_io *io,
                          const char *what);
/* accept4(io->fd, sa, len, SOCK_NONBLOCK|SOCK_CLOEXEC). On descriptor or
 * memory exhaustion the listener is paused (see above). Returns the new fd,
 * or -1 with errno (EAGAIN: nothing pending). */
int vn_listen_guard_accept(struct vn_listen_guard *g, struct sockaddr *sa, socklen_t *len);
/* Whether the listener is paused by a back-off. */
static inline int vn_listen_guard_paused(const struct vn_listen_guard *g)
{
    return vn_timer_armed(&g->timer);
}
/* Stop the back-off timer (before the listener is closed). */
void vn_listen_guard_cancel(struct vn_listen_guard *g);

#endif
