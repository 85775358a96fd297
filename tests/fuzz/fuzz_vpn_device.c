/* Fuzz target: the WireGuard device (src/vpn/device.c, timers.c) on
 * untrusted datagrams and inner packets.
 *
 * A fixed world: device A (a "laptop", 10.0.0.0/24) and device B (a
 * "server", 10.1.0.0/24) with fixed static keys, joined by an in-memory
 * network and a fake clock; the handshake between them is completed once at
 * start. The input is a sequence of records, [op][len][bytes...]:
 *   op 0: a datagram from A's endpoint into B, as is (parser, index table,
 *         replay window, decryption refusals);
 *   op 1: an inner packet A encrypts and B receives (inner length, source
 *         check, delivery), also a packet with no session yet queued;
 *   op 2: the same from B to A;
 *   op 3: the clock moves by bytes[0] * 1000 ms and both devices' timers run
 *         (rekeys, keepalives, zeroing, retries), traffic delivered;
 *   op 4: a datagram from a foreign endpoint into B (cookie and load path).
 * Delivered packets must be inside the record that was sent. */
#include "vpn/device.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

#define QMAX 256
struct dgram {
    int to;
    uint8_t buf[2048];
    size_t len;
};

static struct {
    struct vn_vpn_dev *dev[2];
    struct vn_vpn_endpoint ep[2];
    struct dgram q[QMAX];
    unsigned nq;
    uint64_t now;
    size_t sent_len;           /* length of the inner packet last sent (0: none) */
    unsigned ctx[2];
} w;

static void io_send(void *c, const struct vn_vpn_endpoint *to, const uint8_t *buf, size_t len)
{
    unsigned me = *(unsigned *)c;
    if (w.nq == QMAX || len > sizeof w.q[0].buf)
        return;
    struct dgram *g = &w.q[w.nq++];
    g->to = 2;
    for (int i = 0; i < 2; i++)
        if ((unsigned)i != me && to->port == w.ep[i].port && vn_addr_eq(&to->ip, &w.ep[i].ip))
            g->to = i;
    memcpy(g->buf, buf, len);
    g->len = len;
}

static void io_deliver(void *c, struct vn_vpn_peer *p, uint8_t *buf, size_t len)
{
    (void)c, (void)p;
    if (!len || len > 65535)
        die("delivered an empty or huge packet");
    volatile uint8_t x = buf[0] ^ buf[len - 1]; /* the whole packet is readable */
    (void)x;
}

static void io_wall(void *c, uint64_t *sec, uint32_t *nsec)
{
    (void)c;
    *sec = 1700000000u + w.now / 1000u;
    *nsec = (uint32_t)(w.now % 1000u) * 1000000u;
}

static void pump(void)
{
    for (unsigned r = 0; r < 16 && w.nq; r++) {
        static struct dgram q[QMAX];
        unsigned n = w.nq;
        memcpy(q, w.q, n * sizeof q[0]);
        w.nq = 0;
        for (unsigned i = 0; i < n; i++)
            if (q[i].to < 2)
                vn_vpn_dev_input(w.dev[q[i].to], &w.ep[1 - q[i].to], q[i].buf, q[i].len, w.now);
    }
}

static void setup(void)
{
    if (vn_crypto_init() < 0)
        die("crypto");
    uint8_t priv[2][32], pub[2][32];
    for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 32; k++)
            priv[i][k] = (uint8_t)(0x40 + 0x20 * i + k);
        if (vn_x25519_pubkey(pub[i], priv[i]) < 0)
            die("pubkey");
        w.ctx[i] = (unsigned)i;
        struct vn_vpn_io io = { &w.ctx[i], io_send, io_deliver, io_wall };
        char err[128];
        w.dev[i] = vn_vpn_dev_new(priv[i], 4, &io, err, sizeof err);
        if (!w.dev[i])
            die(err);
        w.dev[i]->mtu = 1420;
    }
    w.ep[0] = (struct vn_vpn_endpoint){ { AF_INET, { 192, 0, 2, 1 } }, 40000 };
    w.ep[1] = (struct vn_vpn_endpoint){ { AF_INET, { 192, 0, 2, 2 } }, 51820 };
    struct vn_addr a0 = { AF_INET, { 10, 1, 0, 0 } }, a1 = { AF_INET, { 10, 0, 0, 0 } },
                   a6 = { AF_INET6, { 0xfd } };
    struct vn_addr al0[2] = { a0, a6 };
    uint8_t l0[2] = { 24, 8 }, l1 = 24;
    char err[128];
    if (!vn_vpn_peer_add(w.dev[0], "b", pub[1], NULL, &w.ep[1], 25, al0, l0, 2, err, sizeof err) ||
        !vn_vpn_peer_add(w.dev[1], "a", pub[0], NULL, NULL, 0, &a1, &l1, 1, err, sizeof err))
        die(err);
    w.now = 1000;
    vn_vpn_dev_tick(w.dev[0], w.now); /* persistent keepalive: the handshake */
    pump();
}

/* A minimal IPv4 header in front of the fuzzer's bytes (so the source
 * check and the inner length see plausible packets), or the bytes as is. */
static size_t inner(uint8_t *out, const uint8_t *in, size_t n, int from)
{
    if (n && in[0] & 1) {
        memcpy(out, in, n);
        return n;
    }
    size_t len = 20 + n;
    memset(out, 0, 20);
    out[0] = 0x45;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    out[8] = 64;
    out[9] = 17;
    out[12] = 10, out[13] = (uint8_t)from, out[15] = 2;
    out[16] = 10, out[17] = (uint8_t)(1 - from), out[19] = 5;
    memcpy(out + 20, in, n);
    return len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        setup();
        ready = true;
    }
    size_t i = 0;
    while (i + 2 <= size) {
        uint8_t op = data[i] % 5;
        size_t n = data[i + 1];
        n = n * 8 < size - i - 2 ? n * 8 : size - i - 2;
        const uint8_t *b = data + i + 2;
        i += 2 + n;
        uint8_t buf[2300];
        switch (op) {
        case 0:
        case 4: {
            memcpy(buf, b, n);
            struct vn_vpn_endpoint foreign = { { AF_INET6, { 0x20, 0x01, 0x0d, 0xb8 } }, 999 };
            vn_vpn_dev_input(w.dev[1], op == 0 ? &w.ep[0] : &foreign, buf, n, w.now);
            break;
        }
        case 1:
        case 2: {
            size_t len = inner(buf, b, n, op - 1);
            vn_vpn_dev_output(w.dev[op - 1], buf, len, w.now);
            break;
        }
        case 3:
            w.now += (n ? b[0] : 1) * 1000u;
            vn_vpn_dev_tick(w.dev[0], w.now);
            vn_vpn_dev_tick(w.dev[1], w.now);
            break;
        }
        pump();
    }
    /* The world goes on with whatever state the input left; keep the clock
     * from running away across inputs. */
    if (w.now > UINT64_C(1) << 40)
        w.now = 1000;
    return 0;
}
