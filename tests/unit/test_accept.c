/* Unit tests of the listener guard (src/core/accept.c) and the descriptor
 * limit helpers (src/core/fdlimit.c): an accept() that fails with EMFILE
 * pauses the listener instead of leaving it level-triggered and ready (the
 * spin of issue 9), the timer resumes it, and the pending connection is
 * then accepted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/accept.h"
#include "core/fdlimit.h"
#include "core/loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int events_seen;

static void on_listen(struct vn_io *io, uint32_t ev)
{
    (void)io, (void)ev;
    events_seen++;
}

/* A loopback listener with one connection waiting in its backlog. */
static int listener_with_pending(int *client)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(l, 4), 0);
    assert_int_equal(getsockname(l, (struct sockaddr *)&sa, &sl), 0);
    *client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(*client, (struct sockaddr *)&sa, sizeof sa), 0);
    return l;
}

static void test_emfile_pauses_then_resumes(void **state)
{
    (void)state;
    struct vn_loop *loop = vn_loop_new();
    int client, l = listener_with_pending(&client);
    struct vn_io io;
    struct vn_listen_guard g;
    assert_int_equal(vn_io_add(loop, &io, l, EPOLLIN, on_listen), 0);
    vn_listen_guard_init(&g, loop, &io, "test");

    /* No descriptor left: accept fails, the listener stops being polled. */
    struct rlimit old, tight;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    tight = old;
    tight.rlim_cur = (rlim_t)vn_fd_open_count();
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &tight), 0);
    int fd = vn_listen_guard_accept(&g, NULL, NULL);
    int e = errno;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    assert_int_equal(fd, -1);
    assert_int_equal(e, EMFILE);
    assert_true(vn_listen_guard_paused(&g));
    assert_int_equal(io.events, 0u);
    assert_int_equal((int)g.backoffs, 1);

    /* While paused the ready listener does not wake the loop. */
    events_seen = 0;
    vn_loop_once(loop, 50);
    assert_int_equal(events_seen, 0);

    /* The timer restores polling; the connection is still there. */
    for (int i = 0; i < 20 && vn_listen_guard_paused(&g); i++)
        vn_loop_once(loop, 50);
    assert_false(vn_listen_guard_paused(&g));
    assert_int_equal(io.events, (uint32_t)EPOLLIN);
    vn_loop_once(loop, 50);
    assert_true(events_seen > 0);
    fd = vn_listen_guard_accept(&g, NULL, NULL);
    assert_true(fd >= 0);
    close(fd);
    /* Nothing pending: EAGAIN, no pause. */
    assert_int_equal(vn_listen_guard_accept(&g, NULL, NULL), -1);
    assert_int_equal(errno, EAGAIN);
    assert_false(vn_listen_guard_paused(&g));

    vn_listen_guard_cancel(&g);
    vn_io_del(loop, &io);
    close(l);
    close(client);
    vn_loop_free(loop);
}

static void test_raise_limit(void **state)
{
    (void)state;
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = old.rlim_max > 256 ? 256 : old.rlim_max;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    unsigned was = 0, now = vn_fd_raise_limit(&was);
    assert_int_equal(was, (unsigned)low.rlim_cur);
    struct rlimit cur;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &cur), 0);
    assert_int_equal((unsigned)cur.rlim_cur, now);
    assert_true(now >= was);
    assert_true(vn_fd_open_count() >= 3);
    setrlimit(RLIMIT_NOFILE, &old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_emfile_pauses_then_resumes),
        cmocka_unit_test(test_raise_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
