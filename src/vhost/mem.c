/* The guest memory table: checking, mapping and translating (see mem.h). */
#include "vhost/mem.h"
#include "core/util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>


/* [a, a+alen) and [b, b+blen) overlap (neither wraps). */
static int overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

/* The checks every table passes, mapped or local. Returns 0 or -1 + err. */
static int check_table(const struct vn_vhost_region_desc *d, unsigned n, char *err, size_t errlen)
{
    if (n < 1 || n > VN_VHOST_MAX_REGIONS)
        return vn_errf(err, errlen, "%u memory regions (1..%d allowed)", n, VN_VHOST_MAX_REGIONS);
    for (unsigned i = 0; i < n; i++) {
        if (d[i].size == 0)
            return vn_errf(err, errlen, "memory region %u is empty", i);
        if (d[i].gpa + d[i].size < d[i].gpa || d[i].uva + d[i].size < d[i].uva ||
            d[i].mmap_offset + d[i].size < d[i].mmap_offset)
            return vn_errf(err, errlen, "memory region %u wraps the address space", i);
        if (d[i].size > (uint64_t)SIZE_MAX / 2)
            return vn_errf(err, errlen, "memory region %u is too large", i);
        for (unsigned j = 0; j < i; j++) {
            if (overlaps(d[i].gpa, d[i].size, d[j].gpa, d[j].size))
                return vn_errf(err, errlen, "memory regions %u and %u overlap in guest addresses",
                               j, i);
            if (overlaps(d[i].uva, d[i].size, d[j].uva, d[j].size))
                return vn_errf(err, errlen, "memory regions %u and %u overlap in user addresses",
                               j, i);
        }
    }
    return 0;
}

void vn_vhost_mem_unmap(struct vn_vhost_mem *mem)
{
    for (unsigned i = 0; i < mem->n && i < VN_VHOST_MAX_REGIONS; i++)
        if (mem->r[i].map)
            munmap(mem->r[i].map, mem->r[i].map_len);
    memset(mem, 0, sizeof(*mem));
}

int vn_vhost_mem_set_local(struct vn_vhost_mem *mem, const struct vn_vhost_region_desc *d,
                           unsigned n, uint8_t *const *hosts, char *err, size_t errlen)
{
    if (check_table(d, n, err, errlen) < 0)
        return -1;
    struct vn_vhost_mem t = { .n = n };
    for (unsigned i = 0; i < n; i++) {
        if (!hosts[i])
            return vn_errf(err, errlen, "memory region %u has no memory", i);
        t.r[i] = (struct vn_vhost_region){ .gpa = d[i].gpa, .size = d[i].size, .uva = d[i].uva,
                                           .host = hosts[i] };
    }
    vn_vhost_mem_unmap(mem);
    *mem = t;
    return 0;
}

/* Alignment an mmap offset of fd must have: the page size, or the file's
 * block size when larger (hugetlbfs reports its huge page size there). */
static uint64_t map_align(const struct stat *st)
{
    long pg = sysconf(_SC_PAGESIZE);
    uint64_t a = pg > 0 ? (uint64_t)pg : 4096;
    uint64_t bs = (uint64_t)st->st_blksize;
    if (bs > a && (bs & (bs - 1)) == 0 && bs <= (1u << 30))
        a = bs;
    return a;
}

int vn_vhost_mem_map(struct vn_vhost_mem *mem, const struct vn_vhost_region_desc *d, unsigned n,
                     const int *fds, char *err, size_t errlen)
{
    if (check_table(d, n, err, errlen) < 0)
        return -1;
    struct vn_vhost_mem t = { .n = 0 };
    for (unsigned i = 0; i < n; i++) {
        struct stat st;
        if (fds[i] < 0 || fstat(fds[i], &st) < 0) {
            vn_vhost_mem_unmap(&t);
            return vn_errf(err, errlen, "memory region %u: no usable fd", i);
        }
        if (st.st_size < 0 || (uint64_t)st.st_size < d[i].mmap_offset + d[i].size) {
            vn_vhost_mem_unmap(&t);
            return vn_errf(err, errlen,
                        "memory region %u: fd holds %lld bytes, the region needs %llu", i,
                        (long long)st.st_size,
                        (unsigned long long)(d[i].mmap_offset + d[i].size));
        }
        uint64_t align = map_align(&st);
        uint64_t off = d[i].mmap_offset & ~(align - 1);
        uint64_t delta = d[i].mmap_offset - off;
        size_t len = (size_t)(d[i].size + delta);
        void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], (off_t)off);
        if (p == MAP_FAILED) {
            int e = errno;
            vn_vhost_mem_unmap(&t);
            return vn_errf(err, errlen, "memory region %u: mmap failed: %s", i, strerror(e));
        }
        t.r[i] = (struct vn_vhost_region){ .gpa = d[i].gpa, .size = d[i].size, .uva = d[i].uva,
                                           .host = (uint8_t *)p + delta, .map = p,
                                           .map_len = len };
        t.n = i + 1;
    }
    vn_vhost_mem_unmap(mem);
    *mem = t;
    return 0;
}

void *vn_vhost_gpa(const struct vn_vhost_mem *mem, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < mem->n; i++) {
        const struct vn_vhost_region *r = &mem->r[i];
        if (gpa < r->gpa)
            continue;
        uint64_t o = gpa - r->gpa;
        if (o >= r->size || len > r->size - o)
            continue;
        return r->host + o;
    }
    return NULL;
}

void *vn_vhost_gpa_part(const struct vn_vhost_mem *mem, uint64_t gpa, uint64_t len,
                        uint64_t *got)
{
    for (unsigned i = 0; len && i < mem->n; i++) {
        const struct vn_vhost_region *r = &mem->r[i];
        if (gpa < r->gpa)
            continue;
        uint64_t o = gpa - r->gpa;
        if (o >= r->size)
            continue;
        *got = len < r->size - o ? len : r->size - o;
        return r->host + o;
    }
    return NULL;
}

void *vn_vhost_uva(const struct vn_vhost_mem *mem, uint64_t uva, uint64_t len)
{
    for (unsigned i = 0; i < mem->n; i++) {
        const struct vn_vhost_region *r = &mem->r[i];
        if (uva < r->uva)
            continue;
        uint64_t o = uva - r->uva;
        if (o >= r->size || len > r->size - o)
            continue;
        return r->host + o;
    }
    return NULL;
}
