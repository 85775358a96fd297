/* The guest memory table of a vhost-user device.
 *
 * Theory of operation. The front end (QEMU, a DPDK virtio-user process)
 * shares the guest's RAM as a few file-backed regions (memfd, hugetlbfs):
 * SET_MEM_TABLE names each region's guest-physical address (gpa), size, the
 * front end's own user address (uva) for it and the offset of the region in
 * its fd. vnetd maps every region read/write and MAP_SHARED, then translates
 * the two kinds of addresses the guest hands over: descriptor buffers are
 * guest-physical, the vring addresses of SET_VRING_ADDR are front-end user
 * addresses. A translation succeeds only when the whole byte range lies in
 * one region, so nothing the guest writes can make vnetd touch memory
 * outside what the front end shared. The table is checked when it is set:
 * 1..VN_VHOST_MAX_REGIONS regions, none empty, none wrapping the 64-bit
 * address space, no two overlapping in gpa or in uva, each fd large enough
 * for its offset plus size.
 *
 * Replacing or unmapping the table invalidates every host pointer taken from
 * it: started vrings must be restarted (vn_vring_start) or stopped first. */
#ifndef VN_VHOST_MEM_H
#define VN_VHOST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define VN_VHOST_MAX_REGIONS 8 /* VHOST_MEMORY_BASELINE_NREGIONS */

/* One region as SET_MEM_TABLE describes it. */
struct vn_vhost_region_desc {
    uint64_t gpa, size, uva, mmap_offset;
};

/* One mapped region: guest-physical [gpa, gpa+size) and front-end user
 * [uva, uva+size) are both at host[0..size). map/map_len: what to munmap
 * (NULL for memory set with vn_vhost_mem_set_local). */
struct vn_vhost_region {
    uint64_t gpa, size, uva;
    uint8_t *host;
    void *map;
    size_t map_len;
};

struct vn_vhost_mem {
    unsigned n;
    struct vn_vhost_region r[VN_VHOST_MAX_REGIONS];
};

/* Map n regions from fds (mmap MAP_SHARED, PROT_READ|PROT_WRITE, at
 * mmap_offset, which need not be page aligned; the fd's size from fstat must
 * cover mmap_offset+size). Checks: 1 <= n <= VN_VHOST_MAX_REGIONS, size > 0,
 * no address wrap (gpa, uva, offset), no two regions overlapping in gpa or in
 * uva. On success replaces *mem (unmapping the old table) and returns 0; on
 * failure returns -1 with a reason in err and leaves *mem untouched. Never
 * closes fds (the caller does; the mappings outlive them). *mem must be
 * zeroed or a table from an earlier call. */
int vn_vhost_mem_map(struct vn_vhost_mem *mem, const struct vn_vhost_region_desc *d, unsigned n,
                     const int *fds, char *err, size_t errlen);
/* The same checks for memory already in this process (unit tests, fuzz):
 * hosts[i] backs region i (d[i].mmap_offset is ignored). Replaces *mem like
 * vn_vhost_mem_map (unmapping an old mapped table). */
int vn_vhost_mem_set_local(struct vn_vhost_mem *mem, const struct vn_vhost_region_desc *d,
                           unsigned n, uint8_t *const *hosts, char *err, size_t errlen);
/* Unmap every region and empty the table (n = 0). */
void vn_vhost_mem_unmap(struct vn_vhost_mem *mem);
/* Host pointer for guest-physical [gpa, gpa+len) when it lies entirely inside
 * one region, else NULL (len 0: gpa inside a region). */
void *vn_vhost_gpa(const struct vn_vhost_mem *mem, uint64_t gpa, uint64_t len);
/* Host pointer for the longest prefix of guest-physical [gpa, gpa+len) that
 * lies in one region, its length in *got (1..len), or NULL if gpa is in no
 * region (len must be > 0). Lets a buffer cross from one region into an
 * adjacent one in two pieces. */
void *vn_vhost_gpa_part(const struct vn_vhost_mem *mem, uint64_t gpa, uint64_t len,
                        uint64_t *got);
/* The same as vn_vhost_gpa for front-end user addresses (the vring addresses
 * of SET_VRING_ADDR are user addresses). */
void *vn_vhost_uva(const struct vn_vhost_mem *mem, uint64_t uva, uint64_t len);

#endif
