/* The vhost-user message protocol, device side: see proto.h. */
#include "vhost/proto.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const req_names[] = {
    [VN_VHOST_GET_FEATURES] = "GET_FEATURES",
    [VN_VHOST_SET_FEATURES] = "SET_FEATURES",
    [VN_VHOST_SET_OWNER] = "SET_OWNER",
    [VN_VHOST_RESET_OWNER] = "RESET_OWNER",
    [VN_VHOST_SET_MEM_TABLE] = "SET_MEM_TABLE",
    [VN_VHOST_SET_LOG_BASE] = "SET_LOG_BASE",
    [VN_VHOST_SET_LOG_FD] = "SET_LOG_FD",
    [VN_VHOST_SET_VRING_NUM] = "SET_VRING_NUM",
    [VN_VHOST_SET_VRING_ADDR] = "SET_VRING_ADDR",
    [VN_VHOST_SET_VRING_BASE] = "SET_VRING_BASE",
    [VN_VHOST_GET_VRING_BASE] = "GET_VRING_BASE",
    [VN_VHOST_SET_VRING_KICK] = "SET_VRING_KICK",
    [VN_VHOST_SET_VRING_CALL] = "SET_VRING_CALL",
    [VN_VHOST_SET_VRING_ERR] = "SET_VRING_ERR",
    [VN_VHOST_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
    [VN_VHOST_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
    [VN_VHOST_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
    [VN_VHOST_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
    [VN_VHOST_SEND_RARP] = "SEND_RARP",
    [VN_VHOST_NET_SET_MTU] = "NET_SET_MTU",
};

const char *vn_vhost_req_name(uint32_t req)
{
    return req < sizeof req_names / sizeof req_names[0] ? req_names[req] : NULL;
}

static const char *const feature_names[64] = {
    [VN_VIRTIO_NET_F_CSUM] = "csum",
    [VN_VIRTIO_NET_F_GUEST_CSUM] = "guest_csum",
    [VN_VIRTIO_NET_F_GUEST_TSO4] = "guest_tso4",
    [VN_VIRTIO_NET_F_GUEST_TSO6] = "guest_tso6",
    [VN_VIRTIO_NET_F_HOST_TSO4] = "host_tso4",
    [VN_VIRTIO_NET_F_HOST_TSO6] = "host_tso6",
    [VN_VIRTIO_NET_F_MRG_RXBUF] = "mrg_rxbuf",
    [VN_VIRTIO_RING_F_INDIRECT_DESC] = "indirect_desc",
    [VN_VIRTIO_RING_F_EVENT_IDX] = "event_idx",
    [VN_VHOST_USER_F_PROTOCOL_FEATURES] = "protocol_features",
    [VN_VIRTIO_F_VERSION_1] = "version_1",
};

const char *vn_vhost_feature_name(unsigned bit)
{
    return bit < 64 ? feature_names[bit] : NULL;
}

const char *vn_vhost_protocol_feature_name(unsigned bit)
{
    return bit == VN_VHOST_PF_MQ ? "mq" : bit == VN_VHOST_PF_REPLY_ACK ? "reply_ack" : NULL;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Replace ring idx's kick fd by fd (-1: none), telling the port first. */
static void set_kick(struct vn_vhost_dev *d, unsigned idx, int fd)
{
    if (d->kick_fd[idx] >= 0) {
        if (d->hooks.kick)
            d->hooks.kick(d->hooks.ctx, idx, -1);
        close_fd(&d->kick_fd[idx]);
    }
    d->kick_fd[idx] = fd;
    if (fd >= 0 && d->hooks.kick)
        d->hooks.kick(d->hooks.ctx, idx, fd);
}

void vn_vhost_dev_init(struct vn_vhost_dev *d, const struct vn_vhost_hooks *hooks)
{
    memset(d, 0, sizeof *d);
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++)
        d->kick_fd[i] = d->call_fd[i] = d->err_fd[i] = -1;
    if (hooks)
        d->hooks = *hooks;
}

void vn_vhost_dev_reset(struct vn_vhost_dev *d)
{
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++) {
        vn_vring_stop(&d->vq[i]);
        set_kick(d, i, -1);
        close_fd(&d->call_fd[i]);
        close_fd(&d->err_fd[i]);
    }
    vn_vhost_mem_unmap(&d->mem);
    struct vn_vhost_hooks h = d->hooks;
    uint64_t messages = d->messages, refused = d->refused, breaks = d->breaks,
             tables = d->mem_tables;
    vn_vhost_dev_init(d, &h);
    d->messages = messages, d->refused = refused, d->breaks = breaks, d->mem_tables = tables;
}

/* Whether rings start enabled (no VHOST_USER_F_PROTOCOL_FEATURES). */
static bool auto_enable(const struct vn_vhost_dev *d)
{
    return !vn_vhost_has(d, VN_VHOST_USER_F_PROTOCOL_FEATURES);
}

/* Start ring idx if it has all it needs and is stopped; re-translate it if
 * restart (new memory table, new addresses, new features). Returns 0, or -1
 * with err (its rings lie outside the memory table: a violation). */
static int ring_update(struct vn_vhost_dev *d, unsigned idx, bool restart, char *err,
                       size_t errlen)
{
    struct vn_vring *vq = &d->vq[idx];
    if (vq->started && !restart)
        return 0;
    if (!d->has_num[idx] || !d->has_addr[idx] || d->kick_fd[idx] < 0 || !d->mem.n || d->broken) {
        if (vq->started)
            vn_vring_stop(vq);
        return 0;
    }
    bool enabled = vq->enabled || auto_enable(d);
    if (vq->started)
        vn_vring_stop(vq);
    char why[160];
    if (vn_vring_start(vq, &d->mem, vn_vhost_has(d, VN_VIRTIO_RING_F_EVENT_IDX), why,
                       sizeof why) < 0) {
        snprintf(err, errlen, "vring %u: %s", idx, why);
        return -1;
    }
    vq->enabled = enabled;
    /* Every chain this device pops is pushed back before it returns, so
     * where the used ring stands is where the ring stopped. A front end
     * whose base disagrees (DPDK's virtio_user re-sends 0 to a back end that
     * reconnects while its rings are in use) would make the rings replay
     * old entries: the used ring wins. */
    if (!restart && vq->last_avail != vq->used_idx) {
        vq->last_avail = vq->used_idx;
        d->resyncs++;
    }
    /* Nothing waits for receive buffers (a frame that finds none is dropped),
     * so the guest need not kick when it adds some: each kick would be a
     * wake-up of the daemon for nothing. */
    if (idx == VN_VHOST_RX)
        vn_vring_notify_enable(vq, false);
    return 0;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* The reply header plus payload (native byte order, as the protocol says). */
static void put_reply(const struct vn_vhost_hdr *h, uint8_t *reply, size_t *rlen,
                      const void *payload, uint32_t size)
{
    struct vn_vhost_hdr r = { h->request, VN_VHOST_VERSION | VN_VHOST_FLAG_REPLY, size };
    memcpy(reply, &r, VN_VHOST_HDR_SIZE);
    memcpy(reply + VN_VHOST_HDR_SIZE, payload, size);
    *rlen = VN_VHOST_HDR_SIZE + size;
}

static void put_u64_reply(const struct vn_vhost_hdr *h, uint8_t *reply, size_t *rlen, uint64_t v)
{
    put_reply(h, reply, rlen, &v, 8);
}

#define FAIL(...) (snprintf(err, errlen, __VA_ARGS__), -1)

/* The memory table: count, then n regions of 32 bytes. Accepts a payload of
 * exactly n regions or of the full 8-region struct (both seen in front
 * ends). The caller closes the fds (the mappings outlive them). */
static int set_mem_table(struct vn_vhost_dev *d, const struct vn_vhost_hdr *h, const uint8_t *pl,
                         const int *fds, unsigned nfds, char *err, size_t errlen)
{
    if (h->size < 8)
        return FAIL("SET_MEM_TABLE: payload of %u bytes", h->size);
    uint32_t n = get_u32(pl);
    if (n < 1 || n > VN_VHOST_MAX_REGIONS)
        return FAIL("SET_MEM_TABLE: %u regions (1..%u)", n, VN_VHOST_MAX_REGIONS);
    if (h->size != 8 + 32 * n && h->size != 8 + 32 * VN_VHOST_MAX_REGIONS)
        return FAIL("SET_MEM_TABLE: payload of %u bytes for %u regions", h->size, n);
    if (nfds != n)
        return FAIL("SET_MEM_TABLE: %u fds for %u regions", nfds, n);
    struct vn_vhost_region_desc r[VN_VHOST_MAX_REGIONS];
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *q = pl + 8 + 32 * i;
        r[i] = (struct vn_vhost_region_desc){ get_u64(q), get_u64(q + 8), get_u64(q + 16),
                                               get_u64(q + 24) };
    }
    char why[160];
    /* The rings point into the old table: stop them before it goes. */
    bool was[VN_VHOST_NVQ];
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++) {
        was[i] = d->vq[i].started;
        if (was[i])
            vn_vring_stop(&d->vq[i]);
    }
    if (vn_vhost_mem_map(&d->mem, r, n, fds, why, sizeof why) < 0) {
        /* The old table is kept, but this front end is not to be trusted. */
        return FAIL("SET_MEM_TABLE: %s", why);
    }
    d->mem_tables++;
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++)
        if (ring_update(d, i, was[i], err, errlen) < 0)
            return -1;
    return 0;
}

/* vring index of a state or address payload (its first u32). */
static int vring_index(const uint8_t *pl, unsigned *idx, const char *what, char *err,
                       size_t errlen)
{
    uint32_t i = get_u32(pl);
    if (i >= VN_VHOST_NVQ)
        return FAIL("%s: vring %u (this device has vrings 0 and 1)", what, i);
    *idx = i;
    return 0;
}

/* SET_VRING_KICK/CALL/ERR: u64 with the index and the no-fd flag; an fd
 * kept is taken out of fds[] (set to -1), the caller closes the rest. */
static int set_vring_fd(struct vn_vhost_dev *d, const struct vn_vhost_hdr *h, const uint8_t *pl,
                        int *fds, unsigned nfds, char *err, size_t errlen)
{
    const char *what = vn_vhost_req_name(h->request);
    uint64_t v = get_u64(pl);
    if (v & ~(uint64_t)(VN_VHOST_VRING_IDX_MASK | VN_VHOST_VRING_NOFD))
        return FAIL("%s: unknown bits in 0x%llx", what, (unsigned long long)v);
    unsigned idx = (unsigned)(v & VN_VHOST_VRING_IDX_MASK);
    if (idx >= VN_VHOST_NVQ)
        return FAIL("%s: vring %u (this device has vrings 0 and 1)", what, idx);
    bool nofd = v & VN_VHOST_VRING_NOFD;
    if (nofd && h->request == VN_VHOST_SET_VRING_KICK)
        return FAIL("SET_VRING_KICK: polling (no kick fd) is not supported");
    if (nofd && nfds)
        return FAIL("%s: an fd with the no-fd flag", what);
    if (!nofd && nfds != 1)
        return FAIL("%s: %u fds (one expected)", what, nfds);
    int fd = -1;
    if (!nofd) {
        fd = fds[0];
        fds[0] = -1;
    }
    switch (h->request) {
    case VN_VHOST_SET_VRING_KICK:
        vn_vring_stop(&d->vq[idx]);
        set_kick(d, idx, fd);
        return ring_update(d, idx, false, err, errlen);
    case VN_VHOST_SET_VRING_CALL:
        close_fd(&d->call_fd[idx]);
        d->call_fd[idx] = fd;
        return 0;
    default:
        close_fd(&d->err_fd[idx]);
        d->err_fd[idx] = fd;
        return 0;
    }
}

/* Expected payload size of a request, or -1 when it varies (memory table)
 * or the request is not implemented (-2). */
static int expected_size(uint32_t req)
{
    switch (req) {
    case VN_VHOST_GET_FEATURES:
    case VN_VHOST_SET_OWNER:
    case VN_VHOST_RESET_OWNER:
    case VN_VHOST_GET_PROTOCOL_FEATURES:
    case VN_VHOST_GET_QUEUE_NUM:
        return 0;
    case VN_VHOST_SET_FEATURES:
    case VN_VHOST_SET_PROTOCOL_FEATURES:
    case VN_VHOST_SET_VRING_NUM:
    case VN_VHOST_SET_VRING_BASE:
    case VN_VHOST_GET_VRING_BASE:
    case VN_VHOST_SET_VRING_ENABLE:
    case VN_VHOST_SET_VRING_KICK:
    case VN_VHOST_SET_VRING_CALL:
    case VN_VHOST_SET_VRING_ERR:
    case VN_VHOST_SEND_RARP:
    case VN_VHOST_NET_SET_MTU:
        return 8;
    case VN_VHOST_SET_VRING_ADDR:
        return 40; /* index, flags, desc, used, avail, log */
    case VN_VHOST_SET_MEM_TABLE:
        return -1;
    default:
        return -2;
    }
}

/* Whether a request carries fds. */
static bool takes_fds(uint32_t req)
{
    return req == VN_VHOST_SET_MEM_TABLE || req == VN_VHOST_SET_VRING_KICK ||
           req == VN_VHOST_SET_VRING_CALL || req == VN_VHOST_SET_VRING_ERR;
}

/* Act on a request whose size was checked. Returns 1 when it already wrote
 * its reply, 0 done (ack 0 if asked), -1 violation, -2 refused (ack
 * non-zero if asked; a violation otherwise). */
static int dispatch(struct vn_vhost_dev *d, const struct vn_vhost_hdr *h, const uint8_t *pl,
                    int *fds, unsigned nfds, uint8_t *reply, size_t *rlen, char *err,
                    size_t errlen)
{
    unsigned idx;
    switch (h->request) {
    case VN_VHOST_GET_FEATURES:
        put_u64_reply(h, reply, rlen, VN_VHOST_FEATURES);
        return 1;
    case VN_VHOST_SET_FEATURES: {
        uint64_t f = get_u64(pl);
        if (f & ~(uint64_t)VN_VHOST_FEATURES)
            return FAIL("SET_FEATURES: 0x%llx not offered",
                        (unsigned long long)(f & ~(uint64_t)VN_VHOST_FEATURES));
        uint64_t changed = f ^ d->features;
        d->features = f;
        /* The event index moved in or out of the rings' layout. */
        if (changed & (VN_BIT(VN_VIRTIO_RING_F_EVENT_IDX)))
            for (unsigned i = 0; i < VN_VHOST_NVQ; i++)
                if (d->vq[i].started && ring_update(d, i, true, err, errlen) < 0)
                    return -1;
        if (changed & VN_BIT(VN_VHOST_USER_F_PROTOCOL_FEATURES))
            for (unsigned i = 0; i < VN_VHOST_NVQ; i++)
                if (auto_enable(d) && d->vq[i].started)
                    d->vq[i].enabled = true;
        return 0;
    }
    case VN_VHOST_GET_PROTOCOL_FEATURES:
        put_u64_reply(h, reply, rlen, VN_VHOST_PROTOCOL_FEATURES);
        return 1;
    case VN_VHOST_SET_PROTOCOL_FEATURES: {
        uint64_t f = get_u64(pl);
        if (f & ~(uint64_t)VN_VHOST_PROTOCOL_FEATURES)
            return FAIL("SET_PROTOCOL_FEATURES: 0x%llx not offered",
                        (unsigned long long)(f & ~(uint64_t)VN_VHOST_PROTOCOL_FEATURES));
        d->protocol_features = f;
        return 0;
    }
    case VN_VHOST_SET_OWNER:
        d->owner = true;
        return 0;
    case VN_VHOST_RESET_OWNER:
        /* Deprecated; the specification recommends ignoring it or disabling
         * the rings: they are stopped (kick fds closed), the rest stays. */
        for (unsigned i = 0; i < VN_VHOST_NVQ; i++) {
            vn_vring_stop(&d->vq[i]);
            d->vq[i].enabled = false;
            set_kick(d, i, -1);
        }
        d->broken = NULL;
        return 0;
    case VN_VHOST_SET_MEM_TABLE:
        return set_mem_table(d, h, pl, fds, nfds, err, errlen);
    case VN_VHOST_SET_VRING_NUM: {
        if (vring_index(pl, &idx, "SET_VRING_NUM", err, errlen) < 0)
            return -1;
        uint32_t num = get_u32(pl + 4);
        if (num < 1 || num > VN_VRING_MAX_NUM || (num & (num - 1)))
            return FAIL("SET_VRING_NUM: size %u (a power of two, 1..%u)", num, VN_VRING_MAX_NUM);
        if (d->vq[idx].started)
            return FAIL("SET_VRING_NUM: vring %u is running", idx);
        d->vq[idx].num = (uint16_t)num;
        d->has_num[idx] = true;
        return 0;
    }
    case VN_VHOST_SET_VRING_ADDR: {
        if (vring_index(pl, &idx, "SET_VRING_ADDR", err, errlen) < 0)
            return -1;
        uint32_t flags = get_u32(pl + 4);
        if (flags)
            return FAIL("SET_VRING_ADDR: flags 0x%x (logging is not supported)", flags);
        struct vn_vring *vq = &d->vq[idx];
        vq->desc_uva = get_u64(pl + 8);
        vq->used_uva = get_u64(pl + 16);
        vq->avail_uva = get_u64(pl + 24);
        d->has_addr[idx] = true;
        return ring_update(d, idx, vq->started, err, errlen);
    }
    case VN_VHOST_SET_VRING_BASE: {
        if (vring_index(pl, &idx, "SET_VRING_BASE", err, errlen) < 0)
            return -1;
        uint32_t base = get_u32(pl + 4);
        if (base > UINT16_MAX)
            return FAIL("SET_VRING_BASE: %u is not a 16-bit index", base);
        if (d->vq[idx].started)
            return FAIL("SET_VRING_BASE: vring %u is running", idx);
        d->vq[idx].last_avail = (uint16_t)base;
        return 0;
    }
    case VN_VHOST_GET_VRING_BASE: {
        if (vring_index(pl, &idx, "GET_VRING_BASE", err, errlen) < 0)
            return -1;
        vn_vring_stop(&d->vq[idx]);
        set_kick(d, idx, -1);
        d->broken = NULL; /* the front end is resetting the rings */
        uint32_t st[2] = { idx, d->vq[idx].last_avail };
        put_reply(h, reply, rlen, st, 8);
        return 1;
    }
    case VN_VHOST_SET_VRING_KICK:
    case VN_VHOST_SET_VRING_CALL:
    case VN_VHOST_SET_VRING_ERR:
        return set_vring_fd(d, h, pl, fds, nfds, err, errlen);
    case VN_VHOST_GET_QUEUE_NUM:
        put_u64_reply(h, reply, rlen, 1); /* one queue pair */
        return 1;
    case VN_VHOST_SET_VRING_ENABLE: {
        if (vring_index(pl, &idx, "SET_VRING_ENABLE", err, errlen) < 0)
            return -1;
        uint32_t on = get_u32(pl + 4);
        if (on > 1)
            return FAIL("SET_VRING_ENABLE: %u (0 or 1)", on);
        d->vq[idx].enabled = on;
        return 0;
    }
    case VN_VHOST_SEND_RARP:
        /* Needed after a migration only, which this device does not do; the
         * switch learns the guest's MAC from its first frame. */
        return 0;
    case VN_VHOST_NET_SET_MTU: {
        uint64_t mtu = get_u64(pl);
        if (mtu < 68 || mtu > 65535) {
            snprintf(err, errlen, "NET_SET_MTU: %llu (68..65535)", (unsigned long long)mtu);
            return -2;
        }
        d->mtu = (uint32_t)mtu;
        return 0;
    }
    default:
        return -2;
    }
}

int vn_vhost_handle(struct vn_vhost_dev *d, const struct vn_vhost_hdr *h, const uint8_t *payload,
                    const int *fds, unsigned nfds, uint8_t *reply, size_t *rlen, char *err,
                    size_t errlen)
{
    /* The fds this message cannot own are closed on every path below: copy
     * them so each is closed exactly once. */
    int own[VN_VHOST_MAX_FDS];
    unsigned nown = 0;
    int rc = 0;
    *rlen = 0;
    d->messages++;
    for (unsigned i = 0; i < nfds; i++) {
        if (nown < VN_VHOST_MAX_FDS)
            own[nown++] = fds[i];
        else
            close(fds[i]);
    }
    const char *name = vn_vhost_req_name(h->request);
    bool ack_was = (d->protocol_features >> VN_VHOST_PF_REPLY_ACK) & 1;
    if ((h->flags & 3) != VN_VHOST_VERSION) {
        rc = FAIL("request %u: version %u (1 expected)", h->request, h->flags & 3);
        goto out;
    }
    if (h->flags & VN_VHOST_FLAG_REPLY) {
        rc = FAIL("request %u: reply flag set on a request", h->request);
        goto out;
    }
    if (nfds > VN_VHOST_MAX_FDS) {
        rc = FAIL("request %u: %u fds", h->request, nfds);
        goto out;
    }
    if (h->size > VN_VHOST_MAX_PAYLOAD) {
        rc = FAIL("request %u: payload of %u bytes", h->request, h->size);
        goto out;
    }
    int want = expected_size(h->request);
    if (want >= 0 && h->size != (uint32_t)want) {
        rc = FAIL("%s: payload of %u bytes (%d expected)", name, h->size, want);
        goto out;
    }
    if (!takes_fds(h->request)) {
        /* An fd with a message that takes none is closed, not used. */
        for (unsigned i = 0; i < nown; i++)
            close(own[i]);
        nown = 0;
    }
    if (want == -2) {
        rc = -2;
        if (name) /* "SET_LOG_BASE not supported" */
            snprintf(err, errlen, "%s not supported", name);
        else
            snprintf(err, errlen, "request %u not supported", h->request);
    } else {
        rc = dispatch(d, h, payload, own, nown, reply, rlen, err, errlen);
    }
out:
    for (unsigned i = 0; i < nown; i++) /* what the handler did not keep */
        if (own[i] >= 0)
            close(own[i]);
    bool ack_now = (d->protocol_features >> VN_VHOST_PF_REPLY_ACK) & 1;
    bool ack = (h->flags & VN_VHOST_FLAG_NEED_REPLY) && (ack_was || ack_now) && !*rlen &&
               (h->flags & 3) == VN_VHOST_VERSION;
    if (rc == 1)
        return 0;
    if (ack)
        put_u64_reply(h, reply, rlen, rc == 0 ? 0 : 1);
    if (rc == -2) {
        d->refused++;
        return ack ? 0 : -1; /* refused: said so, or the front end may wait forever */
    }
    return rc;
}

void vn_vhost_dev_break(struct vn_vhost_dev *d, unsigned idx, const char *reason)
{
    if (d->broken)
        return;
    d->broken = reason;
    d->breaks++;
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++)
        if (d->vq[i].started)
            vn_vring_stop(&d->vq[i]);
    if (idx < VN_VHOST_NVQ && d->err_fd[idx] >= 0) {
        uint64_t one = 1;
        ssize_t w = write(d->err_fd[idx], &one, sizeof one);
        (void)w; /* a full eventfd is already signalled */
    }
}
