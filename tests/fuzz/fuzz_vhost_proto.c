/* Fuzz target: the vhost-user message protocol (src/vhost/proto.c), as the
 * vhost-user port feeds it. The input is a sequence of messages, each
 *
 *     1 byte   descriptors: low 4 bits how many (0..9) come with it
 *     12 bytes header: request, flags, size (native order, as on the wire)
 *     size bytes payload
 *
 * A size over VN_VHOST_MAX_PAYLOAD, or more bytes than are left, ends the
 * input (the port closes the connection before the payload). Descriptors
 * are dups of one 64 KiB memfd made once, so memory tables map and kick,
 * call and error "eventfds" are real fds. A message the device calls a
 * violation resets the device, as the port's closing the connection does,
 * and the sequence goes on (a reconnect).
 *
 * Checked: nothing crashes; every reply is well formed (version 1, the
 * reply flag, the request echoed, a payload of 8 bytes); a violation's only
 * possible reply is a failure ack; after every message a started ring's
 * host pointers are usable (avail ring read, a chain popped and given back:
 * a new memory table must have re-translated them); and at the end, after
 * the device reset, every descriptor handed to it is closed (none leaked,
 * none kept). */
#include "vhost/proto.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEM_SIZE (64 * 1024)
#define MAX_HANDED 4096

static int memfd = -1;
static int handed[MAX_HANDED];
static unsigned nhanded;

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static void check_reply(const uint8_t *reply, size_t rlen, const struct vn_vhost_hdr *h, int rc)
{
    if (!rlen)
        return;
    struct vn_vhost_hdr r;
    if (rlen != VN_VHOST_HDR_SIZE + 8)
        die("reply of an odd length");
    memcpy(&r, reply, sizeof r);
    if (r.request != h->request || r.flags != (VN_VHOST_VERSION | VN_VHOST_FLAG_REPLY) ||
        r.size != 8)
        die("malformed reply header");
    uint64_t v;
    memcpy(&v, reply + VN_VHOST_HDR_SIZE, 8);
    if (rc < 0 && v == 0)
        die("a violation acked as success");
}

/* The rings' host pointers must point into the current mapping. */
static void touch_rings(struct vn_vhost_dev *d)
{
    for (unsigned i = 0; i < VN_VHOST_NVQ; i++) {
        struct vn_vring *vq = &d->vq[i];
        if (!vq->started || vq->broken)
            continue;
        (void)vn_vring_has_avail(vq);
        struct vn_vring_chain c;
        if (vn_vring_pop(vq, &d->mem, i == VN_VHOST_RX, &c) == 1) {
            vn_vring_push(vq, c.head, 0);
            vn_vring_publish(vq);
        } else if (vq->broken) {
            vn_vhost_dev_break(d, i, vq->broken);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0) {
        memfd = memfd_create("fuzz_vhost_proto", MFD_CLOEXEC);
        if (memfd < 0 || ftruncate(memfd, MEM_SIZE) < 0)
            die("memfd");
    }
    static struct vn_vhost_dev dev;
    vn_vhost_dev_init(&dev, NULL);
    nhanded = 0;
    size_t off = 0;
    while (off + 1 + VN_VHOST_HDR_SIZE <= size) {
        unsigned nfds = data[off] & 15;
        if (nfds > VN_VHOST_MAX_FDS + 1)
            nfds = VN_VHOST_MAX_FDS + 1;
        struct vn_vhost_hdr h;
        memcpy(&h, data + off + 1, sizeof h);
        off += 1 + VN_VHOST_HDR_SIZE;
        if (h.size > VN_VHOST_MAX_PAYLOAD || h.size > size - off)
            break;
        uint8_t payload[VN_VHOST_MAX_PAYLOAD];
        memcpy(payload, data + off, h.size);
        off += h.size;
        int fds[VN_VHOST_MAX_FDS + 1];
        unsigned n = 0;
        for (; n < nfds && nhanded < MAX_HANDED; n++) {
            fds[n] = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
            if (fds[n] < 0)
                die("dup");
            handed[nhanded++] = fds[n];
        }
        uint8_t reply[VN_VHOST_REPLY_MAX];
        size_t rlen;
        char err[256];
        int rc = vn_vhost_handle(&dev, &h, payload, fds, n, reply, &rlen, err, sizeof err);
        check_reply(reply, rlen, &h, rc);
        if (rc < 0) {
            if (!err[0])
                die("a violation without a reason");
            vn_vhost_dev_reset(&dev);
            continue;
        }
        touch_rings(&dev);
    }
    vn_vhost_dev_reset(&dev);
    for (unsigned i = 0; i < nhanded; i++)
        if (fcntl(handed[i], F_GETFD) >= 0)
            die("a descriptor handed to the device is still open after its reset");
    return 0;
}
