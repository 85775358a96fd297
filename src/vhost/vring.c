/* One split virtqueue on the device side (see vring.h for the rules this
 * follows: bounded chains, one copy of every descriptor, acquire/release on
 * the indices, a full barrier before the notification decisions). */
#include "vhost/vring.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vhost/vring.c assumes a little-endian host (virtio 1.x rings are little-endian)"
#endif

/* The compiler may not re-read guest memory in place of a local copy. */
#define GUEST_BARRIER() __asm__ __volatile__("" ::: "memory")

static uint16_t ld16(const uint16_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void st16(uint16_t *p, uint16_t v)
{
    __atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* used_event: the driver's "interrupt me when used->idx passes this". */
static uint16_t *used_event(const struct vn_vring *vq)
{
    return &vq->avail->ring[vq->num];
}

/* avail_event: the device's "kick me when avail->idx passes this". */
static uint16_t *avail_event(const struct vn_vring *vq)
{
    return (uint16_t *)((uint8_t *)vq->used + 4 + 8u * vq->num);
}


/* Host pointer for ring part what at uva (len bytes, host alignment align),
 * or NULL with the reason in err. */
static void *ring_part(const struct vn_vhost_mem *mem, const char *what, uint64_t uva,
                       uint64_t len, uintptr_t align, char *err, size_t errlen)
{
    if (uva % align) {
        vn_errf(err, errlen, "%s at 0x%llx is not %u-byte aligned", what, (unsigned long long)uva,
             (unsigned)align);
        return NULL;
    }
    void *p = vn_vhost_uva(mem, uva, len);
    if (!p) {
        vn_errf(err, errlen, "%s at 0x%llx (%llu bytes) is not inside one memory region", what,
             (unsigned long long)uva, (unsigned long long)len);
        return NULL;
    }
    if ((uintptr_t)p % align) {
        vn_errf(err, errlen, "%s is misaligned in the mapped memory", what);
        return NULL;
    }
    return p;
}

int vn_vring_start(struct vn_vring *vq, const struct vn_vhost_mem *mem, bool event_idx, char *err,
                   size_t errlen)
{
    vn_vring_stop(vq);
    uint32_t num = vq->num;
    if (num == 0 || num > VN_VRING_MAX_NUM || (num & (num - 1)))
        return vn_errf(err, errlen, "ring size %u is not a power of two in 1..%d", num,
                    VN_VRING_MAX_NUM);
    uint64_t ev = event_idx ? 2 : 0;
    struct vring_desc *desc = ring_part(mem, "descriptor table", vq->desc_uva,
                                        (uint64_t)num * sizeof(struct vring_desc), 16, err, errlen);
    if (!desc)
        return -1;
    struct vring_avail *avail = ring_part(mem, "available ring", vq->avail_uva,
                                          4 + 2ull * num + ev, 2, err, errlen);
    if (!avail)
        return -1;
    struct vring_used *used = ring_part(mem, "used ring", vq->used_uva, 4 + 8ull * num + ev, 4,
                                        err, errlen);
    if (!used)
        return -1;
    vq->desc = desc;
    vq->avail = avail;
    vq->used = used;
    vq->event_idx = event_idx;
    vq->used_idx = vq->published = __atomic_load_n(&used->idx, __ATOMIC_ACQUIRE);
    vq->broken = NULL;
    vq->signalled_used = vq->published;
    vq->signalled_valid = false; /* the first publish calls, whatever used_event says */
    vq->started = true;
    vn_vring_notify_enable(vq, true);
    return 0;
}

void vn_vring_stop(struct vn_vring *vq)
{
    vq->started = false;
    vq->desc = NULL;
    vq->avail = NULL;
    vq->used = NULL;
}

void vn_vring_break(struct vn_vring *vq, const char *reason)
{
    if (!vq->broken) {
        vq->broken = reason;
        vq->broken_count++;
    }
}

static int brk(struct vn_vring *vq, const char *reason)
{
    vn_vring_break(vq, reason);
    return -1;
}

bool vn_vring_has_avail(const struct vn_vring *vq)
{
    if (!vq->started || vq->broken)
        return false;
    return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

/* Append the buffer [addr, addr+len) of guest memory to c, in as many pieces
 * as the regions it crosses. Returns 0, or -1 with the ring broken. */
static int add_buffer(struct vn_vring *vq, const struct vn_vhost_mem *mem,
                      struct vn_vring_chain *c, uint64_t addr, uint32_t len)
{
    uint64_t left = len;
    while (left) {
        if (c->niov == VN_VRING_MAX_IOV)
            return brk(vq, "descriptor chain of more than 64 buffers");
        uint64_t got = 0;
        void *p = vn_vhost_gpa_part(mem, addr, left, &got);
        if (!p)
            return brk(vq, "descriptor buffer outside guest memory");
        c->iov[c->niov++] = (struct iovec){ .iov_base = p, .iov_len = (size_t)got };
        addr += got; /* cannot wrap: the piece ends inside a region */
        left -= got;
    }
    c->len += len;
    return 0;
}

int vn_vring_pop(struct vn_vring *vq, const struct vn_vhost_mem *mem, bool want_write,
                 struct vn_vring_chain *c)
{
    if (vq->broken)
        return -1;
    if (!vq->started)
        return 0;
    uint16_t aidx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(aidx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > vq->num)
        return brk(vq, "available index ran more than the ring size ahead");
    uint16_t head = ld16(&vq->avail->ring[vq->last_avail & (vq->num - 1)]);
    if (head >= vq->num)
        return brk(vq, "available ring names a descriptor out of range");

    c->head = head;
    c->niov = 0;
    c->len = 0;
    const struct vring_desc *table = vq->desc;
    uint32_t tsize = vq->num, idx = head, seen = 0;
    bool indirect = false;
    for (;;) {
        /* a chain visits each descriptor of its table at most once */
        if (seen++ >= tsize)
            return brk(vq, "descriptor chain loops or is longer than its table");
        struct vring_desc d;
        memcpy(&d, &table[idx], sizeof(d));
        GUEST_BARRIER();
        if (d.flags & VRING_DESC_F_INDIRECT) {
            if (indirect)
                return brk(vq, "indirect descriptor inside an indirect table");
            if (d.flags & VRING_DESC_F_NEXT)
                return brk(vq, "indirect descriptor with the next flag");
            if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
                d.len / sizeof(struct vring_desc) > VN_VRING_MAX_NUM)
                return brk(vq, "indirect table length is not 16..524288 in steps of 16");
            table = vn_vhost_gpa(mem, d.addr, d.len);
            if (!table)
                return brk(vq, "indirect table outside guest memory");
            tsize = d.len / sizeof(struct vring_desc);
            idx = 0;
            seen = 0;
            indirect = true;
            continue;
        }
        if (!!(d.flags & VRING_DESC_F_WRITE) != want_write)
            return brk(vq, want_write ? "read-only buffer in a receive chain"
                                      : "device-writable buffer in a transmit chain");
        if (add_buffer(vq, mem, c, d.addr, d.len) < 0)
            return -1;
        if (!(d.flags & VRING_DESC_F_NEXT))
            break;
        if (d.next >= tsize)
            return brk(vq, "next descriptor out of range");
        idx = d.next;
    }
    vq->last_avail++;
    vq->popped++;
    return 1;
}

void vn_vring_unpop(struct vn_vring *vq, uint16_t k)
{
    vq->last_avail = (uint16_t)(vq->last_avail - k);
    vq->popped -= k;
}

void vn_vring_push(struct vn_vring *vq, uint16_t head, uint32_t len)
{
    if (!vq->started || vq->broken)
        return;
    struct vring_used_elem *e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
    __atomic_store_n(&e->id, (uint32_t)head, __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, len, __ATOMIC_RELAXED);
    vq->used_idx++;
    vq->pushed++;
}

void vn_vring_unpush(struct vn_vring *vq, uint16_t k)
{
    if (!vq->started || vq->broken)
        return;
    vq->used_idx = (uint16_t)(vq->used_idx - k);
    vq->pushed -= k;
}

void vn_vring_publish(struct vn_vring *vq)
{
    if (!vq->started || vq->broken)
        return;
    /* the elements written before become visible with the index */
    __atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
    vq->published = vq->used_idx;
    if (vq->event_idx && vq->notify)
        st16(avail_event(vq), vq->last_avail);
}

bool vn_vring_should_call(struct vn_vring *vq)
{
    if (!vq->started || vq->broken)
        return false;
    uint16_t now = vq->published, old = vq->signalled_used;
    bool valid = vq->signalled_valid;
    if (now == old)
        return false;
    /* order the store of used->idx before the load of the driver's wish */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    bool need;
    if (vq->event_idx) {
        uint16_t ev = ld16(used_event(vq));
        /* vring_need_event: did used->idx step over used_event, from old to now? */
        need = !valid || (uint16_t)(now - ev - 1) < (uint16_t)(now - old);
    } else {
        need = !(ld16(&vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
    }
    vq->signalled_used = now;
    vq->signalled_valid = true;
    if (need)
        vq->calls++;
    return need;
}

void vn_vring_notify_enable(struct vn_vring *vq, bool on)
{
    if (!vq->started || vq->broken)
        return;
    vq->notify = on;
    if (vq->event_idx) {
        if (on)
            st16(avail_event(vq), vq->last_avail);
    } else {
        st16(&vq->used->flags, on ? 0 : VRING_USED_F_NO_NOTIFY);
    }
    /* the caller's next look at avail->idx must come after this store */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
