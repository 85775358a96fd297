/* pingpong.c - request/response benchmark client and server for bench/, over
 * TCP or UDP and either address family (the Debian sockperf, 3.7, speaks only
 * IPv4; the NAT suite compares IPv6 with IPv4 using one tool for both).
 *
 *   pingpong server tcp|udp ADDR PORT
 *       echo every message back, until killed (TCP: one connection at a time)
 *   pingpong client tcp|udp ADDR PORT SECONDS SIZE
 *       one SIZE-byte message in flight: send, wait for the whole echo, repeat;
 *       a warm-up of WARMUP_MS is not counted, then SECONDS are measured.
 *       Prints one line:
 *       "RunTime=S sec; ReceivedMessages=N; Lost=L; RttAvgUs=A; RttP50Us=B; RttP99Us=C"
 *       (round trips, not half round trips like sockperf).  Exit 1 on error.
 *
 * Blocking sockets, TCP_NODELAY on both ends, no multiplexing: the smallest
 * number of system calls per round trip (client: send + recv; server: recv +
 * send), so the figures show the path between them.  A UDP message not
 * answered within 1 s is counted as lost and the next one is sent (messages
 * carry a sequence number, so a late echo is not taken for the next one).
 * Built by bench/lib/harness.sh with the system's cc into the run directory.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define WARMUP_MS 300
#define MAX_SIZE 65000
#define MAX_SAMPLES (8u << 20)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "pingpong: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* parse_addr: ADDR (IPv4 or IPv6, no brackets) and PORT into *ss; returns
 * the socket length, or exits with a message on a bad address. */
static socklen_t parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss)
{
    int p = atoi(port);
    memset(ss, 0, sizeof(*ss));
    if (p <= 0 || p > 65535) {
        fprintf(stderr, "pingpong: bad port %s\n", port);
        exit(2);
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)p);
        return sizeof(*s4);
    }
    if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)p);
        return sizeof(*s6);
    }
    fprintf(stderr, "pingpong: bad address %s\n", addr);
    exit(2);
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* read_full: read exactly n bytes from a stream; returns 0, or -1 on EOF/error */
static int read_full(int fd, char *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* write_full: write all n bytes to a stream; returns 0, or -1 on error */
static int write_full(int fd, const char *buf, size_t n)
{
    size_t put = 0;
    while (put < n) {
        ssize_t r = send(fd, buf + put, n - put, MSG_NOSIGNAL);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        put += (size_t)r;
    }
    return 0;
}

static _Noreturn void serve(int tcp, const struct sockaddr_storage *ss, socklen_t len)
{
    static char buf[MAX_SIZE];
    int one = 1;
    int fd = socket(ss->ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)ss, len) < 0)
        die("bind");
    if (!tcp) {
        for (;;) {
            struct sockaddr_storage peer;
            socklen_t pl = sizeof(peer);
            ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&peer, &pl);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                die("recvfrom");
            }
            sendto(fd, buf, (size_t)r, 0, (struct sockaddr *)&peer, pl);
        }
    }
    if (listen(fd, 4) < 0)
        die("listen");
    for (;;) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            die("accept");
        }
        nodelay(c);
        for (;;) {
            ssize_t r = recv(c, buf, sizeof(buf), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0 || write_full(c, buf, (size_t)r) < 0)
                break;
        }
        close(c);
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int client(int tcp, const struct sockaddr_storage *ss, socklen_t len, double secs, size_t size)
{
    static char out[MAX_SIZE], in[MAX_SIZE];
    uint32_t *rtt = malloc(MAX_SAMPLES * sizeof(*rtt));
    uint64_t n = 0, lost = 0, sum = 0;
    uint32_t seq = 0;
    int fd = socket(ss->ss_family, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    if (fd < 0 || !rtt)
        die("socket");
    if (!tcp) {
        struct timeval tv = { .tv_sec = 1 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    if (connect(fd, (const struct sockaddr *)ss, len) < 0)
        die("connect");
    if (tcp)
        nodelay(fd);
    memset(out, 'p', size);
    uint64_t t0 = now_ns(), start = t0 + WARMUP_MS * 1000000ull;
    uint64_t end = start + (uint64_t)(secs * 1e9), t = t0, stop = t0;
    while (t < end) {
        uint64_t a = now_ns();
        int ok;
        if (tcp) {
            if (write_full(fd, out, size) < 0 || read_full(fd, in, size) < 0)
                die("tcp round trip");
            ok = 1;
        } else {
            seq++;
            memcpy(out, &seq, sizeof(seq));
            if (send(fd, out, size, 0) < 0)
                die("send");
            ssize_t r;
            for (;;) {  /* skip late echoes of lost messages */
                r = recv(fd, in, sizeof(in), 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r == (ssize_t)size && !memcmp(in, &seq, sizeof(seq)))
                    break;
                if (r < 0)
                    break;
            }
            if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
                die("recv");
            ok = r == (ssize_t)size;
        }
        t = now_ns();
        if (a < start)
            continue;
        stop = t;
        if (!ok) {
            lost++;
            continue;
        }
        uint64_t d = t - a;
        sum += d;
        if (n < MAX_SAMPLES)
            rtt[n] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
        n++;
    }
    close(fd);
    uint64_t kept = n < MAX_SAMPLES ? n : MAX_SAMPLES;
    qsort(rtt, kept, sizeof(*rtt), cmp_u32);
    double run = stop > start ? (double)(stop - start) / 1e9 : 0;
    printf("RunTime=%.3f sec; ReceivedMessages=%llu; Lost=%llu; RttAvgUs=%.3f; RttP50Us=%.3f; RttP99Us=%.3f\n",
           run, (unsigned long long)n, (unsigned long long)lost, n ? (double)sum / (double)n / 1e3 : 0,
           kept ? rtt[kept / 2] / 1e3 : 0, kept ? rtt[kept * 99 / 100] / 1e3 : 0);
    free(rtt);
    return n ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct sockaddr_storage ss;
    if (argc < 5 || (strcmp(argv[2], "tcp") && strcmp(argv[2], "udp")) ||
        (!strcmp(argv[1], "client") && argc != 7) || (!strcmp(argv[1], "server") && argc != 5) ||
        (strcmp(argv[1], "client") && strcmp(argv[1], "server"))) {
        fprintf(stderr, "usage: pingpong server tcp|udp ADDR PORT\n"
                        "       pingpong client tcp|udp ADDR PORT SECONDS SIZE\n");
        return 2;
    }
    int tcp = !strcmp(argv[2], "tcp");
    socklen_t len = parse_addr(argv[3], argv[4], &ss);
    if (!strcmp(argv[1], "server"))
        serve(tcp, &ss, len);
    double secs = atof(argv[5]);
    long size = atol(argv[6]);
    if (secs <= 0 || size <= 0 || size > MAX_SIZE || (!tcp && (size < 4 || size > 1400))) {
        fprintf(stderr, "pingpong: bad SECONDS or SIZE (1..%d, UDP 4..1400)\n", MAX_SIZE);
        return 2;
    }
    return client(tcp, &ss, len, secs, (size_t)size);
}
