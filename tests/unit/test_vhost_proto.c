/* Unit tests of the vhost-user message protocol (src/vhost/proto.c): every
 * request's size check, version and flag checks, feature and protocol
 * feature negotiation (only what is offered), REPLY_ACK (acks only when
 * negotiated, failure acks for refused requests, one reply for requests that
 * have their own), the memory table (too many regions, fds missing, a table
 * the mapper refuses, a full 8-region payload), kick/call/err (index, no-fd
 * flag, unknown bits, fds missing), fds sent with messages that take none
 * closed, a ring starting once complete and enabled by SET_VRING_ENABLE,
 * GET_VRING_BASE stopping it and returning last_avail, RESET_OWNER and the
 * device reset closing every descriptor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vhost/proto.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (64 * 1024)
#define UVA 0x7f0000000000ull
#define GPA 0x100000ull

static struct vn_vhost_dev dev;
static uint8_t reply[VN_VHOST_REPLY_MAX];
static size_t rlen;
static char err[256];
static int kicks[2] = { -1, -1 }; /* what the hook was told last */
static unsigned kick_calls;

static void kick_hook(void *ctx, unsigned idx, int fd)
{
    (void)ctx;
    kicks[idx] = fd;
    kick_calls++;
}

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static bool fd_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

static int memfd(void)
{
    int fd = memfd_create("test_vhost_proto", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, MEM_SIZE), 0);
    return fd;
}

static int efd(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    assert_true(fd >= 0);
    return fd;
}

static int send_msg(uint32_t req, uint32_t flags, const void *pl, uint32_t size, const int *fds,
                    unsigned nfds)
{
    struct vn_vhost_hdr h = { req, flags, size };
    uint8_t buf[VN_VHOST_MAX_PAYLOAD + 8] = { 0 };
    if (size && pl) /* the size field may lie: copy what the caller has */
        memcpy(buf, pl, size < VN_VHOST_MAX_PAYLOAD ? size : VN_VHOST_MAX_PAYLOAD);
    err[0] = 0;
    return vn_vhost_handle(&dev, &h, buf, fds, nfds, reply, &rlen, err, sizeof err);
}

static int send_u64(uint32_t req, uint64_t v, const int *fds, unsigned nfds)
{
    return send_msg(req, VN_VHOST_VERSION, &v, 8, fds, nfds);
}

static int send_state(uint32_t req, uint32_t idx, uint32_t num)
{
    uint32_t st[2] = { idx, num };
    return send_msg(req, VN_VHOST_VERSION, st, 8, NULL, 0);
}

static uint64_t reply_u64(uint32_t req)
{
    struct vn_vhost_hdr h;
    assert_int_equal(rlen, VN_VHOST_HDR_SIZE + 8);
    memcpy(&h, reply, sizeof h);
    assert_int_equal(h.request, req);
    assert_int_equal(h.flags, VN_VHOST_VERSION | VN_VHOST_FLAG_REPLY);
    assert_int_equal(h.size, 8);
    uint64_t v;
    memcpy(&v, reply + VN_VHOST_HDR_SIZE, 8);
    return v;
}

static int setup(void **state)
{
    (void)state;
    struct vn_vhost_hooks h = { .kick = kick_hook };
    vn_vhost_dev_init(&dev, &h);
    kicks[0] = kicks[1] = -1;
    kick_calls = 0;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    vn_vhost_dev_reset(&dev);
    return 0;
}

/* A memory table of one memfd region at GPA / UVA. */
static int set_mem(void)
{
    uint8_t pl[8 + 32] = { 0 };
    uint32_t n = 1;
    uint64_t r[4] = { GPA, MEM_SIZE, UVA, 0 };
    memcpy(pl, &n, 4);
    memcpy(pl + 8, r, 32);
    int fd = memfd();
    int rc = send_msg(VN_VHOST_SET_MEM_TABLE, VN_VHOST_VERSION, pl, sizeof pl, &fd, 1);
    assert_false(fd_open(fd)); /* mapped and closed */
    return rc;
}

/* Ring idx: size 256 at UVA + idx * 16 KiB (desc, avail at +4 KiB, used at +8 KiB). */
static int set_addr(uint32_t idx)
{
    uint8_t pl[40] = { 0 };
    uint64_t base = UVA + idx * 16384;
    uint64_t a[4] = { base, base + 8192, base + 4096, 0 }; /* desc, used, avail, log */
    memcpy(pl, &idx, 4);
    memcpy(pl + 8, a, 32);
    return send_msg(VN_VHOST_SET_VRING_ADDR, VN_VHOST_VERSION, pl, sizeof pl, NULL, 0);
}

static void negotiate(uint64_t features, uint64_t pf)
{
    assert_int_equal(send_u64(VN_VHOST_SET_FEATURES, features, NULL, 0), 0);
    assert_int_equal(send_u64(VN_VHOST_SET_PROTOCOL_FEATURES, pf, NULL, 0), 0);
}

static void test_features(void **state)
{
    (void)state;
    assert_int_equal(send_msg(VN_VHOST_GET_FEATURES, VN_VHOST_VERSION, NULL, 0, NULL, 0), 0);
    uint64_t f = reply_u64(VN_VHOST_GET_FEATURES);
    assert_int_equal(f, VN_VHOST_FEATURES);
    assert_true(f & VN_BIT(VN_VIRTIO_NET_F_MRG_RXBUF));
    assert_true(f & VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES));
    assert_false(f & VN_BIT(26)); /* VHOST_F_LOG_ALL: no migration */
    /* Protocol features may be asked before SET_FEATURES. */
    assert_int_equal(send_msg(VN_VHOST_GET_PROTOCOL_FEATURES, 1, NULL, 0, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_GET_PROTOCOL_FEATURES), VN_VHOST_PROTOCOL_FEATURES);
    /* Only what was offered. */
    assert_int_equal(send_u64(VN_VHOST_SET_FEATURES, f | VN_BIT(26), NULL, 0), -1);
    assert_non_null(strstr(err, "not offered"));
    assert_int_equal(send_u64(VN_VHOST_SET_PROTOCOL_FEATURES, VN_BIT(1), NULL, 0), -1);
    assert_int_equal(send_u64(VN_VHOST_SET_FEATURES, f, NULL, 0), 0);
    assert_int_equal(dev.features, f);
    assert_int_equal(rlen, 0); /* no reply without need_reply */
    assert_int_equal(send_msg(VN_VHOST_GET_QUEUE_NUM, 1, NULL, 0, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_GET_QUEUE_NUM), 1);
    assert_string_equal(vn_vhost_feature_name(VN_VIRTIO_RING_F_EVENT_IDX), "event_idx");
    assert_null(vn_vhost_feature_name(5));
    assert_string_equal(vn_vhost_protocol_feature_name(VN_VHOST_PF_REPLY_ACK), "reply_ack");
}

/* Every request with a payload one byte short or long is a violation. */
static void test_sizes(void **state)
{
    (void)state;
    static const struct {
        uint32_t req, size;
    } t[] = {
        { VN_VHOST_GET_FEATURES, 0 },       { VN_VHOST_SET_FEATURES, 8 },
        { VN_VHOST_SET_OWNER, 0 },          { VN_VHOST_RESET_OWNER, 0 },
        { VN_VHOST_SET_VRING_NUM, 8 },      { VN_VHOST_SET_VRING_ADDR, 40 },
        { VN_VHOST_SET_VRING_BASE, 8 },     { VN_VHOST_GET_VRING_BASE, 8 },
        { VN_VHOST_SET_VRING_KICK, 8 },     { VN_VHOST_SET_VRING_CALL, 8 },
        { VN_VHOST_SET_VRING_ERR, 8 },      { VN_VHOST_GET_PROTOCOL_FEATURES, 0 },
        { VN_VHOST_SET_PROTOCOL_FEATURES, 8 }, { VN_VHOST_GET_QUEUE_NUM, 0 },
        { VN_VHOST_SET_VRING_ENABLE, 8 },   { VN_VHOST_SEND_RARP, 8 },
        { VN_VHOST_NET_SET_MTU, 8 },
    };
    uint8_t pl[VN_VHOST_MAX_PAYLOAD + 8] = { 0 };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (send_msg(t[i].req, VN_VHOST_VERSION, pl, t[i].size + 1, NULL, 0) != -1)
            fail_msg("%s with %u bytes accepted", vn_vhost_req_name(t[i].req), t[i].size + 1);
        assert_non_null(strstr(err, "payload"));
        if (t[i].size && send_msg(t[i].req, VN_VHOST_VERSION, pl, t[i].size - 1, NULL, 0) != -1)
            fail_msg("%s with %u bytes accepted", vn_vhost_req_name(t[i].req), t[i].size - 1);
    }
    /* Larger than any message. */
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, VN_VHOST_MAX_PAYLOAD + 1, NULL, 0),
                     -1);
    /* Memory table: shorter than its count, or sized for other than n or 8 regions. */
    uint32_t n = 2;
    memcpy(pl, &n, 4);
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 4, NULL, 0), -1);
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 32, NULL, 0), -1);
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 32 * 3, NULL, 0), -1);
}

static void test_flags(void **state)
{
    (void)state;
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, 0, NULL, 0, NULL, 0), -1);
    assert_non_null(strstr(err, "version"));
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, 2, NULL, 0, NULL, 0), -1);
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, 1 | VN_VHOST_FLAG_REPLY, NULL, 0, NULL, 0), -1);
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, 1, NULL, 0, NULL, 0), 0);
    assert_true(dev.owner);
    assert_int_equal(rlen, 0);
}

static void test_reply_ack(void **state)
{
    (void)state;
    uint32_t nr = VN_VHOST_VERSION | VN_VHOST_FLAG_NEED_REPLY;
    /* Not negotiated: need_reply is not honoured. */
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, nr, NULL, 0, NULL, 0), 0);
    assert_int_equal(rlen, 0);
    /* Unknown request without need_reply: a violation (the front end may wait). */
    assert_int_equal(send_msg(99, 1, NULL, 0, NULL, 0), -1);
    assert_non_null(strstr(err, "request 99 not supported"));
    /* SET_PROTOCOL_FEATURES that turns REPLY_ACK on is acked itself. */
    uint64_t pf = VN_VHOST_PROTOCOL_FEATURES;
    assert_int_equal(send_msg(VN_VHOST_SET_PROTOCOL_FEATURES, nr, &pf, 8, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_SET_PROTOCOL_FEATURES), 0);
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, nr, NULL, 0, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_SET_OWNER), 0);
    /* A violation still answers the ack (failure) before the close. */
    uint32_t st[2] = { 0, 3 };
    assert_int_equal(send_msg(VN_VHOST_SET_VRING_NUM, nr, st, 8, NULL, 0), -1);
    assert_int_equal(reply_u64(VN_VHOST_SET_VRING_NUM), 1);
    /* Unimplemented requests are refused by a failure ack, the connection stays. */
    uint64_t v = 0;
    assert_int_equal(send_msg(VN_VHOST_SET_LOG_BASE, nr, &v, 8, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_SET_LOG_BASE), 1);
    assert_int_equal(send_msg(99, nr, NULL, 0, NULL, 0), 0);
    assert_int_equal(reply_u64(99), 1);
    assert_int_equal(dev.refused, 3); /* with the violation above */
    /* A refused request with an fd: the fd is closed. */
    int fd = efd();
    assert_int_equal(send_msg(VN_VHOST_SET_LOG_FD, nr, NULL, 0, &fd, 1), 0);
    assert_false(fd_open(fd));
    /* Requests with their own reply get that one only. */
    assert_int_equal(send_msg(VN_VHOST_GET_FEATURES, nr, NULL, 0, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_GET_FEATURES), VN_VHOST_FEATURES);
    /* NET_SET_MTU: a sane value acked, a silly one refused; SEND_RARP acked. */
    v = 1500;
    assert_int_equal(send_msg(VN_VHOST_NET_SET_MTU, nr, &v, 8, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_NET_SET_MTU), 0);
    assert_int_equal(dev.mtu, 1500);
    v = 10;
    assert_int_equal(send_msg(VN_VHOST_NET_SET_MTU, nr, &v, 8, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_NET_SET_MTU), 1);
    v = 0x112233445566ull;
    assert_int_equal(send_msg(VN_VHOST_SEND_RARP, nr, &v, 8, NULL, 0), 0);
    assert_int_equal(reply_u64(VN_VHOST_SEND_RARP), 0);
}

static void test_mem_table(void **state)
{
    (void)state;
    int before = open_fds();
    assert_int_equal(set_mem(), 0);
    assert_int_equal(dev.mem.n, 1);
    /* Nine regions. */
    uint8_t pl[VN_VHOST_MAX_PAYLOAD] = { 0 };
    uint32_t n = 9;
    memcpy(pl, &n, 4);
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 32 * 8, NULL, 0), -1);
    assert_non_null(strstr(err, "9 regions"));
    n = 0;
    memcpy(pl, &n, 4);
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8, NULL, 0), -1);
    /* Two regions, one fd: refused, the fd closed. */
    n = 2;
    memcpy(pl, &n, 4);
    uint64_t r[8] = { 0, 4096, UVA, 0, 8192, 4096, UVA + 8192, 0 };
    memcpy(pl + 8, r, sizeof r);
    int fd = memfd();
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 64, &fd, 1), -1);
    assert_non_null(strstr(err, "1 fds for 2 regions"));
    assert_false(fd_open(fd));
    /* Overlapping in gpa: the mapper refuses, both fds closed, the old table stays. */
    uint64_t o[8] = { 0, 8192, UVA, 0, 4096, 4096, UVA + 65536, 0 };
    memcpy(pl + 8, o, sizeof o);
    int fds[2] = { memfd(), memfd() };
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 64, fds, 2), -1);
    assert_false(fd_open(fds[0]));
    assert_false(fd_open(fds[1]));
    assert_int_equal(dev.mem.n, 1);
    /* The full 8-region payload with two regions used. */
    memcpy(pl + 8, r, sizeof r);
    fds[0] = memfd(), fds[1] = memfd();
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 32 * 8, fds, 2), 0);
    assert_int_equal(dev.mem.n, 2);
    assert_false(fd_open(fds[0]));
    /* More fds than a message carries. */
    int many[9];
    for (int i = 0; i < 9; i++)
        many[i] = efd();
    assert_int_equal(send_msg(VN_VHOST_SET_MEM_TABLE, 1, pl, 8 + 64, many, 9), -1);
    for (int i = 0; i < 9; i++)
        assert_false(fd_open(many[i]));
    vn_vhost_dev_reset(&dev);
    assert_int_equal(dev.mem.n, 0);
    assert_int_equal(open_fds(), before);
}

static void test_vring_fds(void **state)
{
    (void)state;
    int before = open_fds();
    /* Kick without its fd. */
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 0, NULL, 0), -1);
    assert_non_null(strstr(err, "0 fds"));
    /* Polling (no-fd flag) is refused for kicks. */
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, VN_VHOST_VRING_NOFD, NULL, 0), -1);
    /* Index out of range, unknown bits. */
    int fd = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, 2, &fd, 1), -1);
    assert_false(fd_open(fd));
    fd = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_ERR, 0x200, &fd, 1), -1);
    assert_false(fd_open(fd));
    /* An fd with the no-fd flag. */
    fd = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, VN_VHOST_VRING_NOFD | 1, &fd, 1), -1);
    assert_false(fd_open(fd));
    /* Call and err: kept, replaced (the old closed), cleared by no-fd. */
    int c1 = efd(), c2 = efd(), e1 = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, 1, &c1, 1), 0);
    assert_int_equal(dev.call_fd[1], c1);
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, 1, &c2, 1), 0);
    assert_false(fd_open(c1));
    assert_int_equal(dev.call_fd[1], c2);
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, 1 | VN_VHOST_VRING_NOFD, NULL, 0), 0);
    assert_false(fd_open(c2));
    assert_int_equal(dev.call_fd[1], -1);
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_ERR, 0, &e1, 1), 0);
    assert_int_equal(dev.err_fd[0], e1);
    /* Kick: the hook hears of it, and of its replacement. */
    int k1 = efd(), k2 = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 0, &k1, 1), 0);
    assert_int_equal(kicks[0], k1);
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 0, &k2, 1), 0);
    assert_int_equal(kicks[0], k2);
    assert_false(fd_open(k1));
    /* An fd with a message that takes none is closed; the message works. */
    fd = efd();
    assert_int_equal(send_msg(VN_VHOST_SET_OWNER, 1, NULL, 0, &fd, 1), 0);
    assert_false(fd_open(fd));
    vn_vhost_dev_reset(&dev);
    assert_int_equal(kicks[0], -1);
    assert_int_equal(open_fds(), before);
}

/* A ring starts once it has everything, runs when enabled, and stops at
 * GET_VRING_BASE, which returns where it was. */
static void test_ring_lifecycle(void **state)
{
    (void)state;
    int before = open_fds();
    negotiate(VN_BIT(VN_VIRTIO_F_VERSION_1) | VN_BIT(VN_VIRTIO_RING_F_EVENT_IDX) |
                  VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES) | VN_BIT(VN_VIRTIO_NET_F_MRG_RXBUF),
              VN_VHOST_PROTOCOL_FEATURES);
    assert_int_equal(set_mem(), 0);
    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, i, 256), 0);
        assert_int_equal(send_state(VN_VHOST_SET_VRING_BASE, i, 5 + i), 0);
        assert_int_equal(set_addr(i), 0);
        assert_false(dev.vq[i].started);
        /* the used ring stands where the base says (used->idx, 2 bytes in) */
        uint16_t at = (uint16_t)(5 + i);
        memcpy(dev.mem.r[0].host + i * 16384 + 8192 + 2, &at, 2);
        int k = efd(), c = efd();
        assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, i, &k, 1), 0);
        assert_int_equal(send_u64(VN_VHOST_SET_VRING_CALL, i, &c, 1), 0);
        assert_true(dev.vq[i].started);
        assert_false(vn_vhost_ring_live(&dev, i)); /* protocol features: disabled until enabled */
        assert_int_equal(send_state(VN_VHOST_SET_VRING_ENABLE, i, 1), 0);
        assert_true(vn_vhost_ring_live(&dev, i));
    }
    /* Bad values on a running ring. */
    assert_int_equal(send_state(VN_VHOST_SET_VRING_BASE, 1, 9), -1);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, 1, 128), -1);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_ENABLE, 1, 2), -1);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_ENABLE, 2, 1), -1);
    /* A new memory table re-translates the running rings. */
    assert_int_equal(set_mem(), 0);
    assert_true(vn_vhost_ring_live(&dev, 0) && vn_vhost_ring_live(&dev, 1));
    /* GET_VRING_BASE: stopped, last_avail back, kick closed. */
    int k1 = dev.kick_fd[1];
    assert_int_equal(send_state(VN_VHOST_GET_VRING_BASE, 1, 0), 0);
    uint32_t st[2];
    assert_int_equal(rlen, VN_VHOST_HDR_SIZE + 8);
    memcpy(st, reply + VN_VHOST_HDR_SIZE, 8);
    assert_int_equal(st[0], 1);
    assert_int_equal(st[1], 6);
    assert_false(dev.vq[1].started);
    assert_false(fd_open(k1));
    assert_int_equal(kicks[1], -1);
    /* Restart: new base, new kick; stays enabled. A base the used ring
     * contradicts (virtio_user after a back end restart) gives way to it. */
    assert_int_equal(dev.resyncs, 0);
    uint16_t at = 6; /* the new table is a fresh memfd: its used ring says 6 */
    memcpy(dev.mem.r[0].host + 16384 + 8192 + 2, &at, 2);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_BASE, 1, 40), 0);
    int k = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 1, &k, 1), 0);
    assert_true(vn_vhost_ring_live(&dev, 1));
    assert_int_equal(dev.vq[1].last_avail, 6);
    assert_int_equal(dev.resyncs, 1);
    /* A break stops both until the front end restarts one. */
    vn_vhost_dev_break(&dev, 1, "test break");
    assert_string_equal(dev.broken, "test break");
    assert_false(dev.vq[0].started || dev.vq[1].started);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_ENABLE, 0, 1), 0);
    assert_false(dev.vq[0].started);
    assert_int_equal(send_state(VN_VHOST_GET_VRING_BASE, 1, 0), 0);
    assert_null(dev.broken);
    k = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 1, &k, 1), 0);
    assert_true(vn_vhost_ring_live(&dev, 1));
    /* Ring addresses outside the memory: a violation. */
    uint8_t pl[40] = { 0 };
    uint32_t idx = 0;
    uint64_t a[4] = { UVA + MEM_SIZE, UVA + 8192, UVA + 4096, 0 };
    memcpy(pl, &idx, 4);
    memcpy(pl + 8, a, 32);
    assert_int_equal(send_msg(VN_VHOST_SET_VRING_ADDR, 1, pl, 40, NULL, 0), -1);
    /* Logging flags are refused. */
    uint32_t fl = 1;
    memcpy(pl + 4, &fl, 4);
    assert_int_equal(send_msg(VN_VHOST_SET_VRING_ADDR, 1, pl, 40, NULL, 0), -1);
    /* RESET_OWNER: rings stopped, kicks closed; memory kept. */
    assert_int_equal(send_msg(VN_VHOST_RESET_OWNER, 1, NULL, 0, NULL, 0), 0);
    assert_false(dev.vq[1].started);
    assert_int_equal(dev.kick_fd[0], -1);
    assert_int_equal(dev.kick_fd[1], -1);
    vn_vhost_dev_reset(&dev);
    assert_int_equal(open_fds(), before);
    assert_int_equal(dev.features, 0);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES a ring is enabled at its start. */
static void test_no_protocol_features(void **state)
{
    (void)state;
    assert_int_equal(send_u64(VN_VHOST_SET_FEATURES, VN_BIT(VN_VIRTIO_F_VERSION_1), NULL, 0), 0);
    assert_int_equal(set_mem(), 0);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, 0, 256), 0);
    assert_int_equal(set_addr(0), 0);
    int k = efd();
    assert_int_equal(send_u64(VN_VHOST_SET_VRING_KICK, 0, &k, 1), 0);
    assert_true(vn_vhost_ring_live(&dev, 0));
    /* A queue size that is not a power of two. */
    assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, 1, 100), -1);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, 1, 65536), -1);
    assert_int_equal(send_state(VN_VHOST_SET_VRING_NUM, 1, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vring_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ring_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_protocol_features, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
