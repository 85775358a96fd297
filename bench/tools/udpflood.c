/* udpflood.c - a bounded UDP sender for bench/vhost.sh's reverse direction
 * (the kernel stack of a namespace sending into a tap, through vnetd, to a
 * vhost-user front end counting what arrives).
 *
 *   udpflood ADDR PORT SECONDS SIZE
 *       sends SIZE-byte UDP payloads to ADDR:PORT (IPv4) as fast as the
 *       socket takes them, in sendmmsg batches of 64, for SECONDS, then
 *       prints one line:
 *       "RunTime=S sec; Sent=N; SendErrors=E; Pps=P"
 *       Exit 1 on a set-up error. ENOBUFS/EAGAIN from a full queue are
 *       counted (SendErrors) and the loop goes on.
 *
 * Nothing is received: the other end (testpmd rxonly) only counts. The
 * caller bounds it again with timeout(1). Built by bench/vhost.sh with the
 * system's cc into the run directory.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_SIZE 65000

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s ADDR PORT SECONDS SIZE\n", argv[0]);
        return 1;
    }
    struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) {
        fprintf(stderr, "udpflood: bad address %s\n", argv[1]);
        return 1;
    }
    double secs = atof(argv[3]);
    long size = atol(argv[4]);
    if (secs <= 0 || secs > 3600 || size < 1 || size > MAX_SIZE) {
        fprintf(stderr, "udpflood: SECONDS in (0, 3600], SIZE in [1, %d]\n", MAX_SIZE);
        return 1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof dst) < 0) {
        perror("udpflood: socket/connect");
        return 1;
    }
    static char payload[MAX_SIZE];
    memset(payload, 0x5a, (size_t)size);
    struct iovec iov = { .iov_base = payload, .iov_len = (size_t)size };
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t sent = 0, errors = 0, t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), t;
    while ((t = now_ns()) < end) {
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n > 0) {
            sent += (uint64_t)n;
        } else if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED) {
            errors++;
        } else {
            perror("udpflood: sendmmsg");
            return 1;
        }
    }
    double run = (double)(t - t0) / 1e9;
    printf("RunTime=%.3f sec; Sent=%llu; SendErrors=%llu; Pps=%.0f\n", run,
           (unsigned long long)sent, (unsigned long long)errors, (double)sent / run);
    close(fd);
    return 0;
}
