/* Small helpers shared by every module: time, MAC and address text, fd flags. */
#ifndef VN_CORE_UTIL_H
#define VN_CORE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define VN_MIN(a, b) ((a) < (b) ? (a) : (b))
#define VN_MAX(a, b) ((a) > (b) ? (a) : (b))
#define VN_UNUSED __attribute__((unused))
#define VN_CONTAINER_OF(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* Monotonic clock in nanoseconds / milliseconds / seconds. */
uint64_t vn_now_ns(void);
static inline uint64_t vn_now_ms(void) { return vn_now_ns() / 1000000u; }
/* Wall clock seconds since the epoch (for lease files). */
int64_t vn_wall_s(void);

/* Format a MAC as "aa:bb:cc:dd:ee:ff" into buf (at least 18 bytes); returns buf. */
char *vn_mac_str(const uint8_t mac[6], char *buf);
/* Parse "aa:bb:cc:dd:ee:ff" (or '-' separators); returns 0 or -1. */
int vn_mac_parse(const char *s, uint8_t mac[6]);
/* The value of hex digit c (either case), or -1. */
int vn_hexval(char c);
static inline bool vn_mac_is_multicast(const uint8_t *mac) { return mac[0] & 1; }
static inline bool vn_mac_is_zero(const uint8_t *mac)
{
    return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}
/* Random locally administered unicast MAC with the given first two bytes. */
void vn_mac_random(uint8_t mac[6]);

/* Dotted IPv4 text of a host-order address into buf (16 bytes); returns buf. */
char *vn_ip4_str(uint32_t ip, char *buf);
/* Parse dotted IPv4 into host order; returns 0 or -1. */
int vn_ip4_parse(const char *s, uint32_t *ip);

/* Copy a NUL-terminated string into dst of size n, always terminating.
 * Returns the length of src (truncation happened if >= n). */
size_t vn_strlcpy(char *dst, const char *src, size_t n);

/* Parse a decimal unsigned integer in [min,max]; returns 0 or -1. */
int vn_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Set O_NONBLOCK and FD_CLOEXEC on fd; returns 0 or -1 with errno. */
int vn_set_nonblock(int fd);

/* Fill buf with n random bytes from getrandom(); never fails (falls back to a PRNG). */
void vn_random_bytes(void *buf, size_t n);
uint32_t vn_random_u32(void);

/* Read an eventfd's counter to zero (nonblocking; nothing to report: the
 * wake-up was the point). */
void vn_eventfd_drain(int fd);

/* Format a reason into err (errlen bytes; nothing when err is NULL or errlen
 * 0) and return -1: the error convention of calls that take (err, errlen). */
int vn_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
