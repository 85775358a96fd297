/* Unit tests of WireGuard's configuration protocol (src/vpn/uapi.c): the
 * answer to get (keys in hex, endpoint forms, counters, allowed IPs, no
 * preshared_key line without one); set adding, updating and removing
 * peers (allowed_ip appended or replaced, endpoint, keepalive, preshared
 * key set and cleared, update_only, replace_peers); device keys accepted
 * only with the values in use; every malformed line refused with EINVAL
 * before anything changes; a peer refused (an allowed IP another peer
 * holds, one the network refuses, a full table, our own key) unchanged
 * while the peers before it stay applied; request framing; and the get
 * answer turned into a set (as wg showconf | wg setconf) changes nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "vpn/uapi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void io_send(void *c, const struct vn_vpn_endpoint *to, const uint8_t *buf, size_t len)
{
    (void)c, (void)to, (void)buf, (void)len;
}

static void io_deliver(void *c, struct vn_vpn_peer *p, uint8_t *buf, size_t len)
{
    (void)c, (void)p, (void)buf, (void)len;
}

static uint8_t key_priv[32], key_pub[32];

/* A key whose 32 bytes are all b. */
static void fill_key(uint8_t k[32], uint8_t b)
{
    memset(k, b, 32);
}

static void hex(char out[65], const uint8_t k[32])
{
    for (int i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", k[i]);
}

/* A peer public key: the public key of a private key of bytes b. */
static void peer_key(uint8_t pub[32], uint8_t b)
{
    uint8_t priv[32];
    fill_key(priv, b);
    vn_x25519_clamp(priv);
    assert_int_equal(vn_x25519_pubkey(pub, priv), 0);
}

static char *peer_hex(uint8_t b)
{
    static char bufs[4][65];
    static int n;
    uint8_t pub[32];
    peer_key(pub, b);
    char *o = bufs[n++ & 3];
    hex(o, pub);
    return o;
}

static struct vn_vpn_dev *new_dev(uint16_t max_peers)
{
    struct vn_vpn_io io = { NULL, io_send, io_deliver, NULL };
    char err[160];
    struct vn_vpn_dev *d = vn_vpn_dev_new(key_priv, max_peers, &io, err, sizeof err);
    assert_non_null(d);
    return d;
}

/* The network's subnet 10.0.2.0/24 may not be a peer's. */
static int check_prefix(void *ctx, const struct vn_addr *p, unsigned len, char *err,
                        size_t errlen)
{
    (void)ctx;
    struct vn_addr net;
    assert_int_equal(vn_addr_parse("10.0.2.0", &net), 0);
    unsigned l = len < 24 ? len : 24;
    struct vn_addr a = vn_addr_masked(p, l), b = vn_addr_masked(&net, l);
    if (p->family == AF_INET && vn_addr_eq(&a, &b)) {
        snprintf(err, errlen, "overlaps the network's subnet");
        return -1;
    }
    return 0;
}

static unsigned changed_calls;
static void changed(void *ctx)
{
    (void)ctx;
    changed_calls++;
}

static const struct vn_uapi_hooks hooks = { .check_prefix = check_prefix, .changed = changed };

/* Send "set=1\n" + lines + "\n"; returns the errno of the answer. */
static int set(struct vn_vpn_dev *d, const char *lines)
{
    size_t n = strlen(lines);
    char *req = malloc(n + 8);
    assert_non_null(req);
    memcpy(req, "set=1\n", 6);
    memcpy(req + 6, lines, n);
    req[6 + n] = '\n';
    size_t outlen = 0;
    bool close = true;
    char err[200];
    char *out = vn_uapi_handle(d, 51820, &hooks, req, n + 7, &outlen, &close, err, sizeof err);
    free(req);
    assert_non_null(out);
    assert_false(close);
    if (getenv("UAPI_DEBUG") && err[0])
        fprintf(stderr, "set: %s\n", err);
    int e = -1;
    assert_int_equal(sscanf(out, "errno=%d\n", &e), 1);
    assert_int_equal(outlen, strlen(out));
    assert_true(outlen >= 3 && out[outlen - 1] == '\n' && out[outlen - 2] == '\n');
    free(out);
    return -e; /* the answer carries minus the errno */
}

static char *get(struct vn_vpn_dev *d)
{
    size_t len = 0;
    bool close = true;
    char err[100];
    char *out = vn_uapi_handle(d, 51820, &hooks, "get=1\n\n", 7, &len, &close, err, sizeof err);
    assert_non_null(out);
    assert_false(close);
    assert_int_equal(len, strlen(out));
    return out;
}

/* Whether text has line as a whole line. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static struct vn_vpn_peer *peer(struct vn_vpn_dev *d, uint8_t b)
{
    uint8_t pub[32];
    peer_key(pub, b);
    return vn_vpn_peer_by_key(d, pub);
}

static unsigned nprefixes(struct vn_vpn_dev *d, struct vn_vpn_peer *p)
{
    uint32_t cur = 0;
    struct vn_addr a;
    unsigned l, n = 0;
    while (vn_allowed_next(&d->allowed, p->id, &cur, &a, &l))
        n++;
    return n;
}

static void test_get(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(4);
    uint8_t pk[32], psk[32];
    peer_key(pk, 1);
    fill_key(psk, 0xab);
    struct vn_vpn_endpoint ep = { .port = 51000 };
    assert_int_equal(vn_addr_parse("198.18.70.2", &ep.ip), 0);
    struct vn_addr al[2];
    uint8_t ll[2] = { 32, 64 };
    assert_int_equal(vn_addr_parse("10.99.0.2", &al[0]), 0);
    assert_int_equal(vn_addr_parse("fd99::", &al[1]), 0);
    char err[160];
    struct vn_vpn_peer *p = vn_vpn_peer_add(d, "laptop", pk, psk, &ep, 25, al, ll, 2, err,
                                            sizeof err);
    assert_non_null(p);
    p->st.rx_bytes = 12345;
    p->st.tx_bytes = 678;
    p->last_hs_sec = 1700000001;
    p->last_hs_nsec = 42;
    uint8_t pk2[32];
    peer_key(pk2, 2);
    struct vn_vpn_endpoint ep6 = { .port = 7 };
    assert_int_equal(vn_addr_parse("2001:db8::1", &ep6.ip), 0);
    assert_non_null(vn_vpn_peer_add(d, "", pk2, NULL, &ep6, 0, NULL, NULL, 0, err, sizeof err));

    char *g = get(d);
    char line[200], h[65];
    hex(h, d->local.priv);
    snprintf(line, sizeof line, "private_key=%s", h);
    assert_true(has_line(g, line));
    assert_true(has_line(g, "listen_port=51820"));
    snprintf(line, sizeof line, "public_key=%s", peer_hex(1));
    assert_true(has_line(g, line));
    hex(h, psk);
    snprintf(line, sizeof line, "preshared_key=%s", h);
    assert_true(has_line(g, line));
    assert_true(has_line(g, "endpoint=198.18.70.2:51000"));
    assert_true(has_line(g, "endpoint=[2001:db8::1]:7"));
    assert_true(has_line(g, "last_handshake_time_sec=1700000001"));
    assert_true(has_line(g, "last_handshake_time_nsec=42"));
    assert_true(has_line(g, "rx_bytes=12345"));
    assert_true(has_line(g, "tx_bytes=678"));
    assert_true(has_line(g, "persistent_keepalive_interval=25"));
    assert_true(has_line(g, "persistent_keepalive_interval=0"));
    assert_true(has_line(g, "allowed_ip=10.99.0.2/32"));
    assert_true(has_line(g, "allowed_ip=fd99::/64"));
    assert_true(has_line(g, "protocol_version=1"));
    /* one preshared key line: the second peer has none */
    assert_null(strstr(strstr(g, "preshared_key=") + 1, "preshared_key="));
    /* the answer ends with errno=0 and the empty line, nothing else */
    size_t n = strlen(g);
    assert_true(n > 10 && !strcmp(g + n - 9, "errno=0\n\n"));
    assert_ptr_equal(strstr(g, "\n\n"), g + n - 2);
    /* peers in slot order: the first's public key before the second's */
    snprintf(line, sizeof line, "public_key=%s", peer_hex(2));
    assert_true(strstr(g, line) > strstr(g, "endpoint=198.18.70.2:51000"));
    free(g);
    vn_vpn_dev_free(d);
}

static void test_set_add_update_remove(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(8);
    char req[2048];
    changed_calls = 0;
    /* add with everything wg set sends */
    snprintf(req, sizeof req,
             "public_key=%s\npreshared_key=%064x\nendpoint=198.18.70.9:4500\n"
             "persistent_keepalive_interval=25\nreplace_allowed_ips=true\n"
             "allowed_ip=10.99.0.9/32\nallowed_ip=fd99::9/128\nallowed_ip=10.98.0.7/16\n",
             peer_hex(9), 5);
    assert_int_equal(set(d, req), 0);
    assert_int_equal(changed_calls, 1);
    struct vn_vpn_peer *p = peer(d, 9);
    assert_non_null(p);
    assert_string_equal(p->name, "peer1");
    assert_int_equal(p->keepalive_s, 25);
    assert_int_equal(p->endpoint.port, 4500);
    assert_int_equal(p->endpoint.ip.family, AF_INET);
    assert_int_equal(p->remote.psk[31], 5);
    assert_int_equal(nprefixes(d, p), 3);
    char *g = get(d);
    assert_true(has_line(g, "allowed_ip=10.98.0.0/16")); /* host bits cleared */
    free(g);
    /* a second peer gets the next free name */
    snprintf(req, sizeof req, "public_key=%s\n", peer_hex(10));
    assert_int_equal(set(d, req), 0);
    assert_string_equal(peer(d, 10)->name, "peer2");

    /* allowed_ip without replace appends; with it, replaces */
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.97.0.0/24\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(nprefixes(d, p), 4);
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.97.0.0/24\n", peer_hex(9));
    assert_int_equal(set(d, req), 0); /* already its own: nothing new */
    assert_int_equal(nprefixes(d, p), 4);
    snprintf(req, sizeof req,
             "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.96.0.1/32\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(nprefixes(d, p), 1);
    struct vn_addr a;
    assert_int_equal(vn_addr_parse("10.96.0.1", &a), 0);
    assert_ptr_equal(vn_vpn_dev_route(d, &a), p);
    assert_int_equal(vn_addr_parse("10.99.0.9", &a), 0);
    assert_null(vn_vpn_dev_route(d, &a));
    /* replace with nothing empties the list */
    snprintf(req, sizeof req, "public_key=%s\nreplace_allowed_ips=true\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(nprefixes(d, p), 0);

    /* endpoint (IPv6, a mapped IPv4 becomes IPv4), keepalive, psk cleared */
    snprintf(req, sizeof req, "public_key=%s\nendpoint=[2001:db8::5]:51820\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(p->endpoint.ip.family, AF_INET6);
    snprintf(req, sizeof req, "public_key=%s\nendpoint=[::ffff:192.0.2.1]:9\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(p->endpoint.ip.family, AF_INET);
    assert_int_equal(p->endpoint.ip.a[0], 192);
    snprintf(req, sizeof req, "public_key=%s\npersistent_keepalive_interval=0\n"
                              "preshared_key=%064x\n", peer_hex(9), 0);
    assert_int_equal(set(d, req), 0);
    assert_int_equal(p->keepalive_s, 0);
    assert_int_equal(p->t_persistent, 0);
    g = get(d);
    assert_null(strstr(g, "preshared_key="));
    free(g);
    /* keepalive turned on with a known endpoint: due at once */
    snprintf(req, sizeof req, "public_key=%s\npersistent_keepalive_interval=10\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(p->keepalive_s, 10);
    assert_int_equal(p->t_persistent, 1);

    /* update_only leaves an unknown peer out, remove of an unknown peer is fine */
    snprintf(req, sizeof req, "public_key=%s\nupdate_only=true\nallowed_ip=10.95.0.1/32\n"
                              "public_key=%s\nremove=true\n", peer_hex(11), peer_hex(12));
    assert_int_equal(set(d, req), 0);
    assert_null(peer(d, 11));
    assert_int_equal(d->npeers, 2);
    /* update_only on a known peer updates it */
    snprintf(req, sizeof req, "public_key=%s\nupdate_only=true\nallowed_ip=10.95.0.1/32\n",
             peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(nprefixes(d, p), 1);
    /* remove */
    snprintf(req, sizeof req, "public_key=%s\nremove=true\n", peer_hex(9));
    assert_int_equal(set(d, req), 0);
    assert_null(peer(d, 9));
    assert_int_equal(d->npeers, 1);
    assert_int_equal(d->allowed.count, 0);
    /* replace_peers: only the listed stay (and protocol_version=1 is fine) */
    snprintf(req, sizeof req, "replace_peers=true\npublic_key=%s\nprotocol_version=1\n"
                              "allowed_ip=10.94.0.0/24\n", peer_hex(13));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(d->npeers, 1);
    assert_non_null(peer(d, 13));
    assert_null(peer(d, 10));
    /* an empty set changes nothing */
    assert_int_equal(set(d, ""), 0);
    assert_int_equal(d->npeers, 1);
    vn_vpn_dev_free(d);
}

static void test_device_keys(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(4);
    char req[1024], h[65];
    /* our own key (unclamped as a file may hold it, or as get prints it),
     * the port in use and fwmark 0 are accepted */
    uint8_t k[32];
    memcpy(k, key_priv, 32);
    k[0] |= 7; /* clamping clears these */
    hex(h, k);
    snprintf(req, sizeof req, "private_key=%s\nlisten_port=51820\nfwmark=0\nfwmark=\n"
                              "public_key=%s\n", h, peer_hex(1));
    assert_int_equal(set(d, req), 0);
    assert_int_equal(d->npeers, 1);
    /* anything else is refused before any peer changes */
    hex(h, key_pub);
    snprintf(req, sizeof req, "private_key=%s\npublic_key=%s\n", h, peer_hex(2));
    assert_int_equal(set(d, req), EOPNOTSUPP);
    snprintf(req, sizeof req, "listen_port=51821\npublic_key=%s\n", peer_hex(2));
    assert_int_equal(set(d, req), EOPNOTSUPP);
    snprintf(req, sizeof req, "fwmark=7\npublic_key=%s\n", peer_hex(2));
    assert_int_equal(set(d, req), EOPNOTSUPP);
    snprintf(req, sizeof req, "private_key=%064x\n", 0);
    assert_int_equal(set(d, req), EOPNOTSUPP);
    assert_int_equal(d->npeers, 1);
    assert_null(peer(d, 2));
    vn_vpn_dev_free(d);
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(4);
    char ok[200], req[2048];
    snprintf(ok, sizeof ok, "public_key=%s\nallowed_ip=10.99.0.2/32\n", peer_hex(1));
    assert_int_equal(set(d, ok), 0);
    char *before = get(d);
    char lng[400];
    memset(lng, 'x', sizeof lng);
    memcpy(lng, "endpoint=", 9);
    lng[300] = 0;
    const char *bad[] = {
        "public_key=%s\nendpoint=localhost:51820\n",
        "public_key=%s\nendpoint=127.0.0.2\n",
        "public_key=%s\nendpoint=127.0.0.2:0\n",
        "public_key=%s\nendpoint=127.0.0.2:65536\n",
        "public_key=%s\nendpoint=127.0.0.2:-1\n",
        "public_key=%s\nendpoint=127.0.0.2: 5\n",
        "public_key=%s\nendpoint=[::1]\n",
        "public_key=%s\nendpoint=::1:5\n",
        "public_key=%s\nendpoint=[fe80::1%%eth0]:5\n",
        "public_key=%s\nendpoint=[127.0.0.2]:5\n",
        "public_key=%s\nendpoint=127.00.0.2:5\n",
        "public_key=%s\nendpoint=\n",
        "public_key=%s\nallowed_ip=10.0.0.1\n",
        "public_key=%s\nallowed_ip=10.0.0.0/33\n",
        "public_key=%s\nallowed_ip=::/129\n",
        "public_key=%s\nallowed_ip=10.0.0.0/\n",
        "public_key=%s\nallowed_ip=/24\n",
        "public_key=%s\nallowed_ip=10.0.0.0/24x\n",
        "public_key=%s\nallowed_ip=10.0.0.0/+8\n",
        "public_key=%s\nallowed_ip=10.0.0/8\n",
        "public_key=%s\npersistent_keepalive_interval=65536\n",
        "public_key=%s\npersistent_keepalive_interval=\n",
        "public_key=%s\npersistent_keepalive_interval=1 \n",
        "public_key=%s\npersistent_keepalive_interval=99999999999\n",
        "public_key=%s\nremove=false\n",
        "public_key=%s\nremove=True\n",
        "public_key=%s\nupdate_only=1\n",
        "public_key=%s\nreplace_allowed_ips=\n",
        "public_key=%s\nprotocol_version=2\n",
        "public_key=%s\npreshared_key=1234\n",
        "public_key=%s\npreshared_key=%s\n",  /* 64 characters, not hex: see below */
        "public_key=%s\nlisten_port=51820\n", /* a device key after a peer */
        "public_key=%s\nprivate_key=\n",
        "public_key=%s\nfrobnicate=1\n",
        "public_key=%s\nno equals sign\n",
        "public_key=%s\n=value\n",
        "public_key=%s\nallowed_ip=10.0.0.0/8\n\n",  /* an empty line inside */
        "public_key=%s\nallowed_ip=10.0.0.0/8\r\n",
        "public_key=%s\nendpoint =127.0.0.2:5\n",
        "endpoint=127.0.0.2:5\npublic_key=%s\n",       /* a peer key before any peer */
        "replace_peers=false\npublic_key=%s\n",
        "listen_port=70000\npublic_key=%s\n",
        "fwmark=x\npublic_key=%s\n",
        "public_key=%s\npublic_key=zz\n",
        "public_key=%s\npublic_key=%s0\n",
        "public_key=%s\n%s\n",                       /* a 300-byte line */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        /* every request starts with a valid new peer that must not appear */
        char nothex[65];
        memset(nothex, '0', 64);
        nothex[63] = 'g';
        nothex[64] = 0;
        const char *arg2 = strstr(bad[i], "preshared_key=%s") ? nothex
                           : strstr(bad[i], "%s\n%s") ? lng : peer_hex(3);
        snprintf(req, sizeof req, bad[i], peer_hex(2), arg2);
        char *r = req;
        if (!strncmp(bad[i], "public_key=%s\n", 14)) {
            /* also with the bad line after an allowed_ip of the new peer */
            char tmp[2048];
            snprintf(tmp, sizeof tmp, "public_key=%s\nallowed_ip=10.90.0.0/16\n%s", peer_hex(2),
                     req + 76);
            assert_int_equal(set(d, tmp), EINVAL);
        }
        if (set(d, r) != EINVAL)
            fail_msg("not refused: %s", bad[i]);
        char *after = get(d);
        assert_string_equal(before, after);
        free(after);
        assert_null(peer(d, 2));
    }
    /* a line without its newline, NUL bytes: straight through the parser */
    struct vn_uapi_set s;
    char err[160];
    snprintf(req, sizeof req, "public_key=%s", peer_hex(2));
    assert_int_equal(vn_uapi_parse_set(req, strlen(req), &s, err, sizeof err), EINVAL);
    vn_uapi_set_free(&s);
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.0.0.0/8\n", peer_hex(2));
    req[80] = 0;
    assert_int_equal(vn_uapi_parse_set(req, strlen(req + 81) + 81, &s, err, sizeof err), EINVAL);
    vn_uapi_set_free(&s);
    /* 65 allowed IPs for one peer */
    size_t o = (size_t)snprintf(req, sizeof req, "public_key=%s\n", peer_hex(2));
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(req + o, sizeof req - o, "allowed_ip=10.1.%d.0/24\n", i);
    assert_int_equal(set(d, req), EINVAL);
    assert_null(peer(d, 2));
    /* 64 are fine, in upper-case hex too */
    o = (size_t)snprintf(req, sizeof req, "public_key=%s\n", peer_hex(2));
    for (char *c = req; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    memcpy(req, "public_key", 10);
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(req + o, sizeof req - o, "allowed_ip=10.1.%d.0/24\n", i);
    assert_int_equal(set(d, req), 0);
    assert_int_equal(nprefixes(d, peer(d, 2)), 64);
    free(before);
    vn_vpn_dev_free(d);
}

static void test_refused_peers(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(3);
    char req[2048];
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.99.0.2/32\nendpoint=192.0.2.1:1\n",
             peer_hex(1));
    assert_int_equal(set(d, req), 0);
    struct vn_vpn_peer *p1 = peer(d, 1);
    /* another peer's allowed IP: refused, not moved; the peer before it in
     * the request stays applied, the refused one is untouched */
    snprintf(req, sizeof req, "public_key=%s\n"
                              "public_key=%s\nendpoint=192.0.2.2:2\nallowed_ip=10.99.0.2/32\n",
             peer_hex(2), peer_hex(1));
    assert_int_equal(set(d, req), 0); /* its own prefix again: fine */
    snprintf(req, sizeof req, "public_key=%s\nendpoint=192.0.2.3:3\n"
                              "public_key=%s\nendpoint=192.0.2.4:4\nallowed_ip=10.99.0.2/32\n",
             peer_hex(1), peer_hex(2));
    assert_int_equal(set(d, req), EADDRINUSE);
    assert_int_equal(p1->endpoint.port, 3);
    assert_int_equal(peer(d, 2)->endpoint.port, 0);
    assert_int_equal(nprefixes(d, peer(d, 2)), 0);
    /* a new peer with it is not created */
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.99.0.2/32\n", peer_hex(3));
    assert_int_equal(set(d, req), EADDRINUSE);
    assert_null(peer(d, 3));
    /* a shorter or longer prefix around it is another prefix: fine */
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.99.0.0/24\n", peer_hex(2));
    assert_int_equal(set(d, req), 0);
    /* the network refuses its subnet, with or without replace */
    snprintf(req, sizeof req, "public_key=%s\nreplace_allowed_ips=true\nallowed_ip=10.0.2.0/25\n",
             peer_hex(2));
    assert_int_equal(set(d, req), EINVAL);
    assert_int_equal(nprefixes(d, peer(d, 2)), 1);
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=0.0.0.0/0\n", peer_hex(3));
    assert_int_equal(set(d, req), EINVAL);
    assert_null(peer(d, 3));
    /* our own public key */
    char h[65];
    hex(h, d->local.pub);
    snprintf(req, sizeof req, "public_key=%s\n", h);
    assert_int_equal(set(d, req), EINVAL);
    /* the table is full at max_peers */
    snprintf(req, sizeof req, "public_key=%s\n", peer_hex(3));
    assert_int_equal(set(d, req), 0);
    snprintf(req, sizeof req, "public_key=%s\n", peer_hex(4));
    assert_int_equal(set(d, req), ENOSPC);
    assert_int_equal(d->npeers, 3);
    /* 64 prefixes at most per peer, counting those it has */
    size_t o = (size_t)snprintf(req, sizeof req, "public_key=%s\n", peer_hex(3));
    for (int i = 0; i < 64; i++)
        o += (size_t)snprintf(req + o, sizeof req - o, "allowed_ip=10.1.%d.0/24\n", i);
    assert_int_equal(set(d, req), 0);
    snprintf(req, sizeof req, "public_key=%s\nallowed_ip=10.2.0.0/24\n", peer_hex(3));
    assert_int_equal(set(d, req), ENOSPC);
    assert_int_equal(nprefixes(d, peer(d, 3)), 64);
    vn_vpn_dev_free(d);
}

static void test_framing(void **state)
{
    (void)state;
    assert_int_equal(vn_uapi_request_len("", 0), 0);
    assert_int_equal(vn_uapi_request_len("get=1\n", 6), 0);
    assert_int_equal(vn_uapi_request_len("get=1\n\n", 7), 7);
    assert_int_equal(vn_uapi_request_len("get=1\n\nget=1\n\n", 14), 7);
    assert_int_equal(vn_uapi_request_len("\n", 1), 1);
    assert_int_equal(vn_uapi_request_len("get=1\0\n\n", 8), -1);
    char big[600];
    memset(big, 'a', sizeof big);
    assert_int_equal(vn_uapi_request_len(big, 255), 0);
    assert_int_equal(vn_uapi_request_len(big, 256), -1);
    /* many short lines up to the request limit */
    size_t n = VN_UAPI_REQ_MAX + 8;
    char *many = malloc(n);
    assert_non_null(many);
    for (size_t i = 0; i < n; i += 2) {
        many[i] = 'a';
        many[i + 1] = '\n';
    }
    assert_int_equal(vn_uapi_request_len(many, n), -1);
    assert_int_equal(vn_uapi_request_len(many, 4096), 0);
    free(many);

    /* anything but get=1 / set=1 gets EINVAL and the connection closes */
    struct vn_vpn_dev *d = new_dev(2);
    const char *reqs[] = { "\n", "get=2\n\n", "get=1\nx=y\n\n", "set=2\n\n", "hello\n\n" };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        size_t len;
        bool close = false;
        char err[100];
        char *out = vn_uapi_handle(d, 1, &hooks, reqs[i], strlen(reqs[i]), &len, &close, err,
                                   sizeof err);
        assert_non_null(out);
        assert_true(close);
        assert_string_equal(out, "errno=-22\n\n");
        free(out);
    }
    vn_vpn_dev_free(d);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort the lines of text in place (the order of allowed IPs is the
 * table's, which may change when prefixes are inserted again). */
static void sort_lines(char *text)
{
    char *copy = strdup(text), *save, *lines[256];
    size_t n = 0;
    for (char *l = strtok_r(copy, "\n", &save); l && n < 256; l = strtok_r(NULL, "\n", &save))
        lines[n++] = l;
    qsort(lines, n, sizeof lines[0], cmp_str);
    char *o = text;
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%s\n", lines[i]);
    free(copy);
}

/* What `wg showconf | wg setconf` does: the get answer's configuration
 * keys sent back as a set with replace_peers changes nothing. */
static void test_showconf_roundtrip(void **state)
{
    (void)state;
    struct vn_vpn_dev *d = new_dev(4);
    char req[2048];
    snprintf(req, sizeof req,
             "public_key=%s\npreshared_key=%064x\nendpoint=198.18.70.9:4500\n"
             "persistent_keepalive_interval=25\nallowed_ip=10.99.0.9/32\nallowed_ip=fd99::9/128\n"
             "public_key=%s\nendpoint=[2001:db8::2]:1\nallowed_ip=10.98.0.0/16\n",
             peer_hex(9), 77, peer_hex(8));
    assert_int_equal(set(d, req), 0);
    struct vn_vpn_peer *p9 = peer(d, 9), *p8 = peer(d, 8);
    p9->st.rx_bytes = 99;
    char name9[VN_VPN_NAME_MAX];
    snprintf(name9, sizeof name9, "%s", p9->name);
    char *g1 = get(d);
    /* keep the lines a set takes */
    char *conf = calloc(1, strlen(g1) + 64), *o = conf;
    o += sprintf(o, "set=1\n");
    char *save, *copy = strdup(g1);
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(l, "last_handshake", 14) || !strncmp(l, "rx_bytes", 8) ||
            !strncmp(l, "tx_bytes", 8) || !strncmp(l, "errno", 5))
            continue;
        if (!strncmp(l, "public_key", 10) && !strstr(conf, "replace_peers"))
            o += sprintf(o, "replace_peers=true\n");
        o += sprintf(o, "%s\n", l);
    }
    o += sprintf(o, "\n");
    size_t len;
    bool close;
    char err[200];
    char *out = vn_uapi_handle(d, 51820, &hooks, conf, strlen(conf), &len, &close, err,
                               sizeof err);
    assert_string_equal(out, "errno=0\n\n");
    free(out);
    char *g2 = get(d);
    sort_lines(g1);
    sort_lines(g2);
    assert_string_equal(g1, g2);
    /* the same peers, kept in place: names and counters too */
    assert_ptr_equal(peer(d, 9), p9);
    assert_ptr_equal(peer(d, 8), p8);
    assert_string_equal(p9->name, name9);
    assert_int_equal(p9->st.rx_bytes, 99);
    /* replace_peers naming 8 only: 9 goes; 8 is set anew (its allowed IPs
     * replaced, no keepalive, no preshared key) but stays the same peer */
    p8->keepalive_s = 5;
    memset(p8->remote.psk, 1, 32);
    char req2[512];
    snprintf(req2, sizeof req2, "replace_peers=true\npublic_key=%s\nallowed_ip=10.97.0.0/16\n",
             peer_hex(8));
    assert_int_equal(set(d, req2), 0);
    assert_null(peer(d, 9));
    assert_ptr_equal(peer(d, 8), p8);
    assert_int_equal(p8->keepalive_s, 0);
    assert_true(vn_ct_is_zero(p8->remote.psk, 32));
    assert_int_equal(nprefixes(d, p8), 1);
    assert_int_equal(p8->endpoint.port, 1); /* the learned endpoint stays */
    /* replace_peers with update_only for a known peer: it goes, as all do */
    snprintf(req2, sizeof req2, "replace_peers=true\npublic_key=%s\nupdate_only=true\n",
             peer_hex(8));
    assert_int_equal(set(d, req2), 0);
    assert_int_equal(d->npeers, 0);
    free(g1);
    free(g2);
    free(copy);
    free(conf);
    vn_vpn_dev_free(d);
}

int main(void)
{
    assert_int_equal(vn_crypto_init(), 0);
    fill_key(key_priv, 0x42);
    vn_x25519_clamp(key_priv);
    assert_int_equal(vn_x25519_pubkey(key_pub, key_priv), 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_set_add_update_remove),
        cmocka_unit_test(test_device_keys),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_refused_peers),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_showconf_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
