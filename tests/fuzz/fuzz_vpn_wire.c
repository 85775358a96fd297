/* Fuzz target: WireGuard's message parser (src/vpn/wire.c) and the
 * AllowedIPs table (src/vpn/allowed.c).
 *
 * Every input is parsed as one datagram. A message that parses must be of
 * its type's length, have every view inside the input at its offset, and
 * build back (from the views) into exactly the input's bytes; a refused
 * one must be refused for a reason the parser names.
 *
 * An input whose first byte is 'A' also drives an AllowedIPs table:
 *   [0]='A' [1] max prefixes (low 6 bits + 1), then records
 *   [op][len][address: 4 or 16 bytes, missing bytes are zero]
 *   op bits 0-1: insert, remove, remove the peer, look up; bit 2: IPv6;
 *   bits 3-4: the peer (0..3).
 * Each operation is done on a brute-force list too, and the results,
 * counts, lookups of every listed prefix and the peers' iterations must
 * agree. */
#include "vpn/allowed.h"
#include "vpn/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

/* A view of len bytes at off of the input. */
static void view(const uint8_t *p, size_t n, const uint8_t *v, size_t off, size_t len)
{
    if (v != p + off || off + len > n)
        die("a view lies outside the message or off its field");
}

static void fuzz_parse(const uint8_t *p, size_t n)
{
    static uint8_t out[70000];
    struct vn_wg_msg m;
    int r = vn_wg_parse(p, n, &m);
    if (r < 0) {
        if (!strcmp(vn_wg_drop_name(r), "?"))
            die("a drop without a named reason");
        return;
    }
    if (r != m.type || r != p[0] || m.len != n || (p[1] | p[2] | p[3]))
        die("a message parsed with the wrong type, length or reserved bytes");
    size_t b = 0;
    switch (r) {
    case VN_WG_INITIATION:
        if (n != VN_WG_INIT_LEN || m.init.sender != vn_wg_get_le32(p + 4))
            die("initiation length or sender");
        view(p, n, m.init.ephemeral, VN_WG_INIT_EPHEMERAL, VN_WG_KEY_LEN);
        view(p, n, m.init.enc_static, VN_WG_INIT_STATIC, VN_WG_ENC_STATIC_LEN);
        view(p, n, m.init.enc_time, VN_WG_INIT_TIMESTAMP, VN_WG_ENC_TIME_LEN);
        view(p, n, m.init.mac1, VN_WG_INIT_MAC1, VN_WG_MAC_LEN);
        view(p, n, m.init.mac2, VN_WG_INIT_MAC2, VN_WG_MAC_LEN);
        b = vn_wg_build_init(out, sizeof out, &m.init);
        break;
    case VN_WG_RESPONSE:
        if (n != VN_WG_RESP_LEN)
            die("response length");
        view(p, n, m.resp.ephemeral, VN_WG_RESP_EPHEMERAL, VN_WG_KEY_LEN);
        view(p, n, m.resp.enc_empty, VN_WG_RESP_EMPTY, VN_WG_TAG_LEN);
        view(p, n, m.resp.mac1, VN_WG_RESP_MAC1, VN_WG_MAC_LEN);
        view(p, n, m.resp.mac2, VN_WG_RESP_MAC2, VN_WG_MAC_LEN);
        b = vn_wg_build_resp(out, sizeof out, &m.resp);
        break;
    case VN_WG_COOKIE:
        if (n != VN_WG_COOKIE_LEN)
            die("cookie length");
        view(p, n, m.cookie.nonce, VN_WG_COOKIE_NONCE, VN_WG_XNONCE_LEN);
        view(p, n, m.cookie.enc_cookie, VN_WG_COOKIE_COOKIE, VN_WG_ENC_COOKIE_LEN);
        b = vn_wg_build_cookie(out, sizeof out, &m.cookie);
        break;
    case VN_WG_DATA:
        if (n < VN_WG_DATA_MIN || m.data.packet_len != n - VN_WG_DATA_HLEN ||
            m.data.counter != vn_wg_get_le64(p + 8))
            die("data length or counter");
        view(p, n, m.data.packet, VN_WG_DATA_HLEN, m.data.packet_len);
        b = vn_wg_build_data(out, sizeof out, &m.data);
        break;
    default:
        die("an unknown type parsed");
    }
    if (n <= sizeof out && (b != n || memcmp(out, p, n)))
        die("a parsed message does not build back into the same bytes");
}

/* ---- the AllowedIPs table against a brute-force list ---- */

#define MAXP 64

struct entry {
    struct vn_addr p;
    unsigned len;
    uint16_t peer;
};
static struct entry model[MAXP];
static unsigned nmodel;

static int model_find(const struct vn_addr *p, unsigned len)
{
    for (unsigned i = 0; i < nmodel; i++)
        if (model[i].len == len && vn_addr_eq(&model[i].p, p))
            return (int)i;
    return -1;
}

static int model_lookup(const struct vn_addr *a)
{
    int best = -1, best_len = -1;
    for (unsigned i = 0; i < nmodel; i++)
        if (vn_addr_in_prefix(a, &model[i].p, model[i].len) && (int)model[i].len > best_len) {
            best = model[i].peer;
            best_len = (int)model[i].len;
        }
    return best;
}

static void check_table(const struct vn_allowed *t)
{
    if (t->count != nmodel)
        die("the table's count differs from the list");
    for (unsigned i = 0; i < nmodel; i++)
        if (vn_allowed_lookup(t, &model[i].p) != model_lookup(&model[i].p))
            die("a listed prefix looks up to another peer");
    for (uint16_t peer = 0; peer < 4; peer++) {
        uint32_t cur = 0;
        struct vn_addr p;
        unsigned len, n = 0, want = 0;
        while (vn_allowed_next(t, peer, &cur, &p, &len)) {
            int i = model_find(&p, len);
            if (i < 0 || model[i].peer != peer)
                die("iteration gives a prefix the peer does not hold");
            n++;
        }
        for (unsigned i = 0; i < nmodel; i++)
            want += model[i].peer == peer;
        if (n != want)
            die("iteration misses a prefix of the peer");
    }
}

static void fuzz_table(const uint8_t *d, size_t n)
{
    if (n < 2)
        return;
    unsigned max = (d[1] & 63u) + 1;
    struct vn_allowed t;
    if (vn_allowed_init(&t, max))
        die("init");
    nmodel = 0;
    size_t off = 2;
    while (off + 2 <= n) {
        uint8_t op = d[off], len = d[off + 1];
        bool v6 = op & 4;
        uint16_t peer = (op >> 3) & 3;
        off += 2;
        struct vn_addr a = { .family = v6 ? AF_INET6 : AF_INET };
        size_t al = v6 ? 16 : 4, take = n - off < al ? n - off : al;
        memcpy(a.a, d + off, take);
        off += take;
        unsigned bits = vn_addr_bits(&a);
        struct vn_addr m = vn_addr_masked(&a, len);
        int i = model_find(&m, len);
        switch (op & 3) {
        case 0: {
            int want = len > bits ? -2 : i >= 0 ? 0 : nmodel >= max ? -1 : 0;
            if (vn_allowed_insert(&t, &a, len, peer) != want)
                die("insert returned what the list does not say");
            if (want == 0 && i >= 0)
                model[i].peer = peer;
            else if (want == 0)
                model[nmodel++] = (struct entry){ m, len, peer };
            break;
        }
        case 1: {
            int want = len > bits || i < 0 ? -1 : model[i].peer;
            if (vn_allowed_remove(&t, &a, len) != want)
                die("remove returned what the list does not say");
            if (want >= 0)
                model[i] = model[--nmodel];
            break;
        }
        case 2: {
            unsigned k = 0;
            for (unsigned j = 0; j < nmodel;)
                if (model[j].peer == peer) {
                    model[j] = model[--nmodel];
                    k++;
                } else {
                    j++;
                }
            if (vn_allowed_remove_peer(&t, peer) != k)
                die("remove_peer removed another number");
            break;
        }
        default:
            if (vn_allowed_lookup(&t, &a) != model_lookup(&a))
                die("a lookup differs from the list's longest prefix");
            break;
        }
        check_table(&t);
    }
    vn_allowed_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_parse(data, size);
    if (size && data[0] == 'A')
        fuzz_table(data, size);
    return 0;
}
