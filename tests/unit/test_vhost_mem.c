/* Unit tests of the guest memory table (src/vhost/mem.c): mapping memfd
 * regions (also at an offset that is not page aligned) and seeing writes on
 * both sides, every refusal of a table (count, empty, wrap, overlap in gpa or
 * uva, fd too small, bad fd) leaving the old table in place, and address
 * translation: inside, at the edges, straddling a region's end or a gap,
 * across adjacent regions in pieces, user addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vhost/mem.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int memfd(size_t size)
{
    int fd = memfd_create("test_vhost_mem", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

static void test_map_memfd(void **state)
{
    (void)state;
    int fd = memfd(3 * 4096);
    struct vn_vhost_region_desc d[2] = {
        { .gpa = 0x100000, .size = 4096, .uva = 0x7f0000000000, .mmap_offset = 0 },
        { .gpa = 0x200000, .size = 6000, .uva = 0x7f0000100000, .mmap_offset = 4096 + 100 },
    };
    int fds[2] = { fd, fd };
    struct vn_vhost_mem m = { 0 };
    char err[128] = "";
    assert_int_equal(vn_vhost_mem_map(&m, d, 2, fds, err, sizeof(err)), 0);
    assert_int_equal(m.n, 2);
    uint8_t *p = vn_vhost_gpa(&m, 0x200000, 6000);
    assert_non_null(p);
    memcpy(p, "hello", 5);
    char buf[5];
    assert_int_equal(pread(fd, buf, 5, 4096 + 100), 5);
    assert_memory_equal(buf, "hello", 5);
    /* the same bytes through the user address */
    assert_ptr_equal(vn_vhost_uva(&m, 0x7f0000100000, 5), p);
    assert_int_equal(pwrite(fd, "abc", 3, 10), 3);
    uint8_t *q = vn_vhost_gpa(&m, 0x10000a, 3);
    assert_non_null(q);
    assert_memory_equal(q, "abc", 3);
    close(fd); /* the mapping outlives the fd */
    assert_memory_equal(vn_vhost_gpa(&m, 0x10000a, 3), "abc", 3);
    /* a new table replaces the old */
    int fd2 = memfd(4096);
    struct vn_vhost_region_desc d2 = { .gpa = 0, .size = 4096, .uva = 0x1000 };
    assert_int_equal(vn_vhost_mem_map(&m, &d2, 1, &fd2, err, sizeof(err)), 0);
    assert_int_equal(m.n, 1);
    assert_null(vn_vhost_gpa(&m, 0x100000, 1));
    assert_non_null(vn_vhost_gpa(&m, 0, 4096));
    close(fd2);
    vn_vhost_mem_unmap(&m);
    assert_int_equal(m.n, 0);
    assert_null(vn_vhost_gpa(&m, 0, 1));
}

/* d/n must be refused with a message containing what; m keeps its table */
static void refused(struct vn_vhost_mem *m, const struct vn_vhost_region_desc *d, unsigned n,
                    const int *fds, const char *what)
{
    char err[160] = "";
    struct vn_vhost_mem before = *m;
    if (fds)
        assert_int_equal(vn_vhost_mem_map(m, d, n, fds, err, sizeof(err)), -1);
    else {
        uint8_t *hosts[VN_VHOST_MAX_REGIONS + 2];
        static uint8_t dummy[16];
        for (unsigned i = 0; i < VN_VHOST_MAX_REGIONS + 2; i++)
            hosts[i] = dummy;
        assert_int_equal(vn_vhost_mem_set_local(m, d, n, hosts, err, sizeof(err)), -1);
    }
    if (!strstr(err, what))
        fail_msg("error \"%s\" does not say \"%s\"", err, what);
    assert_memory_equal(&before, m, sizeof(before));
}

static void test_refusals(void **state)
{
    (void)state;
    static uint8_t back[4096];
    uint8_t *hosts[1] = { back };
    struct vn_vhost_mem m = { 0 };
    struct vn_vhost_region_desc ok = { .gpa = 0x1000, .size = 4096, .uva = 0x9000 };
    char err[128];
    assert_int_equal(vn_vhost_mem_set_local(&m, &ok, 1, hosts, err, sizeof(err)), 0);

    struct vn_vhost_region_desc d[VN_VHOST_MAX_REGIONS + 1];
    for (unsigned i = 0; i < VN_VHOST_MAX_REGIONS + 1; i++)
        d[i] = (struct vn_vhost_region_desc){ .gpa = i * 0x10000ull, .size = 16,
                                              .uva = i * 0x10000ull };
    refused(&m, d, 0, NULL, "0 memory regions");
    refused(&m, d, VN_VHOST_MAX_REGIONS + 1, NULL, "memory regions");
    struct vn_vhost_region_desc e[2] = { { .gpa = 0, .size = 0, .uva = 0 } };
    refused(&m, e, 1, NULL, "empty");
    e[0] = (struct vn_vhost_region_desc){ .gpa = UINT64_MAX - 10, .size = 16, .uva = 0 };
    refused(&m, e, 1, NULL, "wraps");
    e[0] = (struct vn_vhost_region_desc){ .gpa = 0, .size = 16, .uva = UINT64_MAX - 15 };
    refused(&m, e, 1, NULL, "wraps");
    e[0] = (struct vn_vhost_region_desc){ .gpa = 0, .size = 16, .uva = 0,
                                          .mmap_offset = UINT64_MAX };
    refused(&m, e, 1, NULL, "wraps");
    e[0] = (struct vn_vhost_region_desc){ .gpa = 0, .size = 0x1000, .uva = 0 };
    e[1] = (struct vn_vhost_region_desc){ .gpa = 0xfff, .size = 0x1000, .uva = 0x10000 };
    refused(&m, e, 2, NULL, "overlap in guest");
    e[1] = (struct vn_vhost_region_desc){ .gpa = 0x1000, .size = 0x1000, .uva = 0x800 };
    refused(&m, e, 2, NULL, "overlap in user");
    /* a region inside another */
    e[1] = (struct vn_vhost_region_desc){ .gpa = 0x10, .size = 0x10, .uva = 0x10000 };
    refused(&m, e, 2, NULL, "overlap in guest");

    /* fds: too small for offset + size, and not an fd */
    int fd = memfd(8192);
    int fds[2] = { fd, fd };
    e[0] = (struct vn_vhost_region_desc){ .gpa = 0, .size = 8192, .uva = 0, .mmap_offset = 1 };
    refused(&m, e, 1, fds, "needs 8193");
    e[0] = (struct vn_vhost_region_desc){ .gpa = 0, .size = 4096, .uva = 0 };
    e[1] = (struct vn_vhost_region_desc){ .gpa = 0x10000, .size = 4096, .uva = 0x10000 };
    int bad[2] = { fd, -1 };
    refused(&m, e, 2, bad, "no usable fd");
    assert_int_equal(vn_vhost_mem_map(&m, e, 2, fds, err, sizeof(err)), 0);
    close(fd);
    vn_vhost_mem_unmap(&m);
}

static void test_translate(void **state)
{
    (void)state;
    static uint8_t a[0x1000], b[0x1000], c[0x800];
    uint8_t *hosts[3] = { a, b, c };
    struct vn_vhost_region_desc d[3] = {
        { .gpa = 0x10000, .size = 0x1000, .uva = 0x500000 },
        { .gpa = 0x11000, .size = 0x1000, .uva = 0x400000 }, /* adjacent in gpa */
        { .gpa = 0x20000, .size = 0x800, .uva = 0x600000 },
    };
    struct vn_vhost_mem m = { 0 };
    char err[128];
    assert_int_equal(vn_vhost_mem_set_local(&m, d, 3, hosts, err, sizeof(err)), 0);
    assert_ptr_equal(vn_vhost_gpa(&m, 0x10000, 0x1000), a);
    assert_ptr_equal(vn_vhost_gpa(&m, 0x10fff, 1), a + 0xfff);
    assert_ptr_equal(vn_vhost_gpa(&m, 0x10fff, 0), a + 0xfff);
    assert_null(vn_vhost_gpa(&m, 0x10fff, 2));          /* crosses into the next region */
    assert_null(vn_vhost_gpa(&m, 0x0ffff, 2));          /* starts before */
    assert_null(vn_vhost_gpa(&m, 0x20000, 0x801));      /* past the end */
    assert_null(vn_vhost_gpa(&m, 0x20800, 0));          /* one past the end */
    assert_null(vn_vhost_gpa(&m, 0x20400, UINT64_MAX)); /* huge */
    assert_null(vn_vhost_gpa(&m, UINT64_MAX, 2));       /* wraps */
    assert_ptr_equal(vn_vhost_gpa(&m, 0x20010, 0x10), c + 0x10);
    /* pieces */
    uint64_t got = 0;
    assert_ptr_equal(vn_vhost_gpa_part(&m, 0x10ff0, 0x20, &got), a + 0xff0);
    assert_int_equal(got, 0x10);
    assert_ptr_equal(vn_vhost_gpa_part(&m, 0x11000, 0x10, &got), b);
    assert_int_equal(got, 0x10);
    assert_null(vn_vhost_gpa_part(&m, 0x12000, 1, &got));
    assert_null(vn_vhost_gpa_part(&m, 0x10000, 0, &got));
    /* user addresses are their own space */
    assert_ptr_equal(vn_vhost_uva(&m, 0x400010, 0x10), b + 0x10);
    assert_null(vn_vhost_uva(&m, 0x10000, 1));
    assert_null(vn_vhost_uva(&m, 0x4ffff0, 0x20));
    assert_null(vn_vhost_uva(&m, 0x600000, 0x801));
    vn_vhost_mem_unmap(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_map_memfd),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_translate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
