/* Listener back-off on descriptor exhaustion: see accept.h. */
#include "accept.h"
#include "core/syscalls.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <string.h>

VN_SYSCALLS("accept", "accept4");

enum { BACKOFF_MS = 200 };

static void resume(struct vn_timer *t)
{
    struct vn_listen_guard *g = VN_CONTAINER_OF(t, struct vn_listen_guard, timer);
    vn_io_mod(g->loop, g->io, g->events);
}

void vn_listen_guard_init(struct vn_listen_guard *g, struct vn_loop *loop, struct vn_io *io,
                          const char *what)
{
    g->loop = loop;
    g->io = io;
    g->what = what;
    g->backoffs = 0;
    vn_timer_init(&g->timer, resume);
}

int vn_listen_guard_accept(struct vn_listen_guard *g, struct sockaddr *sa, socklen_t *len)
{
    int fd = accept4(g->io->fd, sa, len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0)
        return fd;
    int e = errno;
    if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM) {
        g->backoffs++;
        if (!vn_timer_armed(&g->timer)) {
            g->events = g->io->events;
            vn_io_mod(g->loop, g->io, 0);
            vn_timer_arm(g->loop, &g->timer, BACKOFF_MS);
        }
        VN_LOG_RL(VN_LOG_WARN,
                  "msg=\"accept failed, listener paused\" listener=%s error=\"%s\" pause_ms=%d",
                  g->what, strerror(e), BACKOFF_MS);
    }
    errno = e;
    return -1;
}

void vn_listen_guard_cancel(struct vn_listen_guard *g)
{
    if (g->loop)
        vn_timer_cancel(g->loop, &g->timer);
}
