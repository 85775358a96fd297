/* Fuzz target: WireGuard's configuration protocol (src/vpn/uapi.c), as the
 * socket serves it (vpn/uapi_sock.c): the input is a client's byte stream,
 * cut into requests by vn_uapi_request_len and answered one by one by
 * vn_uapi_handle against a VPN device with room for 8 peers (a fresh one
 * per input; the network refuses 10.0.2.0/24 like a subnet).
 *
 * Checked for every request:
 *   - the answer is a get answer (key=value lines ending "errno=0" and the
 *     empty line) or "errno=-N" with N one of the errno values uapi.c
 *     uses, and the connection closes exactly when the request was neither
 *     get nor set;
 *   - a set the parser refuses answers EINVAL and leaves the device's get
 *     answer unchanged, byte for byte;
 *   - after every request the device keeps its bounds (peers, prefixes,
 *     at most 64 per peer);
 *   - the get answer, sent back as a set with replace_peers (what `wg
 *     showconf | wg setconf` does), is accepted and changes nothing (the
 *     answer's lines compared as sorted sets: prefixes may come back in
 *     another order). */
#include "vpn/uapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PEERS 8

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static void io_send(void *c, const struct vn_vpn_endpoint *to, const uint8_t *buf, size_t len)
{
    (void)c, (void)to, (void)buf, (void)len;
}

static void io_deliver(void *c, struct vn_vpn_peer *p, uint8_t *buf, size_t len)
{
    (void)c, (void)p, (void)buf, (void)len;
}

static int check_prefix(void *ctx, const struct vn_addr *p, unsigned len, char *err,
                        size_t errlen)
{
    (void)ctx;
    static const uint8_t net[4] = { 10, 0, 2, 0 };
    unsigned l = len < 24 ? len : 24;
    struct vn_addr n = { .family = AF_INET };
    memcpy(n.a, net, 4);
    struct vn_addr a = vn_addr_masked(p, l), b = vn_addr_masked(&n, l);
    if (p->family == AF_INET && vn_addr_eq(&a, &b)) {
        snprintf(err, errlen, "the network's subnet");
        return -1;
    }
    return 0;
}

static const struct vn_uapi_hooks hooks = { .check_prefix = check_prefix };

static char *get(struct vn_vpn_dev *d, size_t *len)
{
    char *g = vn_uapi_get(d, 51820, len);
    if (!g)
        die("get failed");
    return g;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The lines of text, sorted, joined again (a new string). */
static char *sorted(const char *text)
{
    size_t n = 0, len = strlen(text);
    for (size_t i = 0; i < len; i++)
        n += text[i] == '\n';
    char *copy = strdup(text), **lines = calloc(n + 1, sizeof *lines), *save;
    char *out = malloc(len + 2);
    if (!copy || !lines || !out)
        die("out of memory");
    size_t k = 0;
    for (char *l = strtok_r(copy, "\n", &save); l && k <= n; l = strtok_r(NULL, "\n", &save))
        lines[k++] = l;
    qsort(lines, k, sizeof *lines, cmp_str);
    char *o = out;
    for (size_t i = 0; i < k; i++)
        o += sprintf(o, "%s\n", lines[i]);
    *o = 0;
    free(lines);
    free(copy);
    return out;
}

static void check_bounds(struct vn_vpn_dev *d)
{
    unsigned n = 0;
    for (unsigned i = 0; i < d->max_peers; i++) {
        struct vn_vpn_peer *p = d->peers[i];
        if (!p)
            continue;
        n++;
        if (p->id != i)
            die("a peer out of its slot");
        uint32_t cur = 0;
        struct vn_addr a;
        unsigned l, k = 0;
        while (vn_allowed_next(&d->allowed, p->id, &cur, &a, &l))
            k++;
        if (k > VN_VPN_ALLOWED_PER_PEER)
            die("a peer with more than 64 allowed IPs");
    }
    if (n != d->npeers || n > MAX_PEERS || d->allowed.count > d->allowed.max)
        die("the device's counts are off");
}

/* Whether text is a get answer: key=value lines, then errno=0 and the
 * empty line. */
static bool is_get_answer(const char *text, size_t len)
{
    if (len < 9 || strcmp(text + len - 9, "errno=0\n\n") || strlen(text) != len)
        return false;
    for (const char *l = text; l < text + len - 9;) {
        const char *nl = strchr(l, '\n'), *eq = strchr(l, '=');
        if (!nl || !eq || eq > nl || eq == l)
            return false;
        l = nl + 1;
    }
    return true;
}

/* Send the get answer back as a set with replace_peers: it must be taken
 * and change nothing. */
static void roundtrip(struct vn_vpn_dev *d)
{
    size_t glen;
    char *g = get(d, &glen);
    char *req = malloc(glen + 64), *o = req;
    if (!req)
        die("out of memory");
    o += sprintf(o, "set=1\n");
    bool first = true;
    for (char *l = g; *l && strncmp(l, "errno=", 6);) {
        char *nl = strchr(l, '\n');
        size_t n = (size_t)(nl - l) + 1;
        if (!strncmp(l, "public_key=", 11) && first) {
            o += sprintf(o, "replace_peers=true\n");
            first = false;
        }
        if (strncmp(l, "last_handshake", 14) && strncmp(l, "rx_bytes", 8) &&
            strncmp(l, "tx_bytes", 8)) {
            memcpy(o, l, n);
            o += n;
        }
        l = nl + 1;
    }
    *o++ = '\n';
    size_t outlen;
    bool bye;
    char err[256];
    char *ans = vn_uapi_handle(d, 51820, &hooks, req, (size_t)(o - req), &outlen, &bye, err,
                               sizeof err);
    if (!ans || bye || strcmp(ans, "errno=0\n\n")) {
        fprintf(stderr, "fuzz: %s\n%.*s", err, (int)(o - req), req);
        die("the get answer was not taken back as a set");
    }
    size_t g2len;
    char *g2 = get(d, &g2len);
    char *s1 = sorted(g), *s2 = sorted(g2);
    if (strcmp(s1, s2))
        die("the get answer set back changed the device");
    free(s1);
    free(s2);
    free(g2);
    free(ans);
    free(req);
    free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    static uint8_t priv[VN_KEY_LEN];
    if (!init) {
        if (vn_crypto_init() < 0)
            die("crypto");
        memset(priv, 0x42, sizeof priv);
        vn_x25519_clamp(priv);
        init = true;
    }
    if (size > VN_UAPI_REQ_MAX + 1024)
        return 0;
    struct vn_vpn_io io = { NULL, io_send, io_deliver, NULL };
    char err[256];
    struct vn_vpn_dev *d = vn_vpn_dev_new(priv, MAX_PEERS, &io, err, sizeof err);
    if (!d)
        die("device");
    const char *buf = (const char *)data;
    size_t left = size;
    for (unsigned rounds = 0; rounds < 64; rounds++) {
        long n = vn_uapi_request_len(buf, left);
        if (n <= 0)
            break;
        size_t blen;
        char *before = get(d, &blen);
        bool is_set = n >= 7 && !memcmp(buf, "set=1\n", 6);
        bool is_get = n == 7 && !memcmp(buf, "get=1\n\n", 7);
        bool refused = false;
        if (is_set) {
            struct vn_uapi_set s;
            refused = vn_uapi_parse_set(buf + 6, (size_t)n - 7, &s, err, sizeof err) != 0;
            vn_uapi_set_free(&s);
        }
        size_t outlen;
        bool bye = false;
        char *ans = vn_uapi_handle(d, 51820, &hooks, buf, (size_t)n, &outlen, &bye, err,
                                   sizeof err);
        if (!ans)
            die("no answer");
        if (bye != !(is_set || is_get))
            die("the connection closes for the wrong requests");
        if (is_get) {
            if (!is_get_answer(ans, outlen))
                die("a malformed get answer");
        } else {
            int e = 1;
            if (sscanf(ans, "errno=%d", &e) != 1 || strlen(ans) != outlen ||
                outlen < 9 || strcmp(ans + outlen - 2, "\n\n") || strchr(ans, '\n') != ans + outlen - 2)
                die("a malformed set answer");
            if (e != 0 && e != -EINVAL && e != -EOPNOTSUPP && e != -EADDRINUSE &&
                e != -ENOSPC && e != -ENOMEM)
                die("an unexpected errno");
            if ((refused || !is_set) && e != -EINVAL)
                die("a refused request answered otherwise than EINVAL");
        }
        if (refused || !is_set) {
            size_t alen;
            char *after = get(d, &alen);
            if (alen != blen || memcmp(before, after, blen))
                die("a refused request changed the device");
            free(after);
        }
        free(before);
        free(ans);
        check_bounds(d);
        buf += n;
        left -= (size_t)n;
    }
    roundtrip(d);
    check_bounds(d);
    vn_vpn_dev_free(d);
    return 0;
}
