/* Small shared helpers: see util.h. */
#include "util.h"
#include "core/syscalls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

VN_SYSCALLS("getrandom");

uint64_t vn_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t vn_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec;
}

char *vn_mac_str(const uint8_t mac[6], char *buf)
{
    snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
    return buf;
}

int vn_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int vn_mac_parse(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = vn_hexval(s[0]), lo = vn_hexval(s[1]);
        if (hi < 0 || lo < 0)
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5) {
            if (*s != ':' && *s != '-')
                return -1;
            s++;
        }
    }
    return *s ? -1 : 0;
}

void vn_mac_random(uint8_t mac[6])
{
    vn_random_bytes(mac, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
}

size_t vn_strlcpy(char *dst, const char *src, size_t n)
{
    size_t len = strlen(src);
    if (n) {
        size_t c = len < n - 1 ? len : n - 1;
        memcpy(dst, src, c);
        dst[c] = 0;
    }
    return len;
}

int vn_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int vn_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return -1;
    return 0;
}

void vn_random_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = getrandom(p, n, GRND_NONBLOCK);
        if (r <= 0) {
            /* Entropy pool not ready (very early boot): use a seeded PRNG. */
            static uint64_t s;
            if (!s)
                s = vn_now_ns() | 1;
            while (n) {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                *p++ = (uint8_t)s;
                n--;
            }
            return;
        }
        p += r;
        n -= (size_t)r;
    }
}

uint32_t vn_random_u32(void)
{
    /* Drawn from a buffer of getrandom() bytes refilled 128 values at a
     * time: the data path (DNS ids, TCP sequence numbers) makes one system
     * call per 128 values instead of one each. */
    static uint32_t buf[128];
    static unsigned left;
    if (!left) {
        vn_random_bytes(buf, sizeof buf);
        left = VN_ARRAY_LEN(buf);
    }
    uint32_t v = buf[--left];
    buf[left] = 0; /* a value is never handed out twice, nor left lying around */
    return v;
}

char *vn_ip4_str(uint32_t ip, char *buf)
{
    struct in_addr a = { htonl(ip) };
    inet_ntop(AF_INET, &a, buf, 16);
    return buf;
}

int vn_ip4_parse(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -1;
    *ip = ntohl(a.s_addr);
    return 0;
}


int vn_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void vn_eventfd_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof v);
    (void)r;
}
