/* mac1, mac2 and cookie replies (see cookie.h; WireGuard whitepaper 5.4.4
 * and 5.4.7). The cookie of a source is MAC(secret, source), the secret
 * 32 random bytes made again when older than VN_COOKIE_SECRET_MS; mac2 is
 * keyed with that 16-byte cookie. */
#include "vpn/cookie.h"

#include <string.h>

static const char LABEL_MAC1[] = "mac1----";
static const char LABEL_COOKIE[] = "cookie--";

/* Whether a timestamp taken at then is at least max_ms old at now (a clock
 * that went backwards: yes). */
static bool expired(uint64_t then, uint64_t now, uint64_t max_ms)
{
    return now < then || now - then >= max_ms;
}

/* The offsets of mac1 and mac2 in msg when it is a whole initiation or
 * response (by its type byte and length). Returns 0 or -1. */
static int macs_at(const uint8_t *msg, size_t len, size_t *mac1, size_t *mac2)
{
    if (!msg || len < 4 || vn_wg_mac_offsets(msg[0], mac1, mac2) < 0)
        return -1;
    size_t want = msg[0] == VN_WG_INITIATION ? VN_WG_INIT_LEN : VN_WG_RESP_LEN;
    return len == want ? 0 : -1;
}

int vn_cookie_checker_init(struct vn_cookie_checker *c, const uint8_t pub[VN_KEY_LEN])
{
    memset(c, 0, sizeof(*c));
    if (vn_hash2(c->mac1_key, LABEL_MAC1, 8, pub, VN_KEY_LEN) < 0
        || vn_hash2(c->cookie_key, LABEL_COOKIE, 8, pub, VN_KEY_LEN) < 0)
        return -1;
    return 0;
}

/* The cookie of src now: MAC(secret, src), the secret renewed first when
 * there is none or it is too old. Returns 0 or -1. */
static int make_cookie(struct vn_cookie_checker *c, uint8_t cookie[VN_MAC_LEN],
                       const uint8_t *src, size_t srclen, uint64_t now_ms)
{
    if (!src || srclen == 0 || srclen > VN_COOKIE_SRC_MAX)
        return -1;
    if (!c->secret_valid || expired(c->secret_ms, now_ms, VN_COOKIE_SECRET_MS)) {
        vn_crypto_random(c->secret, sizeof(c->secret));
        c->secret_ms = now_ms;
        c->secret_valid = true;
    }
    return vn_mac(cookie, c->secret, sizeof(c->secret), src, srclen);
}

enum vn_cookie_verdict vn_cookie_check(struct vn_cookie_checker *c, const uint8_t *msg,
                                       size_t len, const uint8_t *src, size_t srclen,
                                       bool check_mac2, uint64_t now_ms)
{
    uint8_t mac[VN_MAC_LEN], cookie[VN_MAC_LEN];
    size_t o1, o2;
    enum vn_cookie_verdict v = VN_COOKIE_BAD_MAC1;

    if (macs_at(msg, len, &o1, &o2) < 0)
        return VN_COOKIE_BAD_MAC1;
    if (vn_mac(mac, c->mac1_key, VN_HASH_LEN, msg, o1) < 0 || !vn_ct_equal(mac, msg + o1, VN_MAC_LEN))
        goto out;
    v = VN_COOKIE_MAC1_OK;
    if (!check_mac2)
        goto out;
    if (make_cookie(c, cookie, src, srclen, now_ms) < 0
        || vn_mac(mac, cookie, VN_MAC_LEN, msg, o2) < 0)
        goto out;
    if (vn_ct_equal(mac, msg + o2, VN_MAC_LEN))
        v = VN_COOKIE_MAC2_OK;
out:
    vn_wipe(cookie, sizeof(cookie));
    return v;
}

int vn_cookie_reply_create(struct vn_cookie_checker *c, const uint8_t *msg, size_t len,
                           const uint8_t *src, size_t srclen, uint64_t now_ms,
                           uint8_t out[VN_WG_COOKIE_LEN])
{
    uint8_t cookie[VN_MAC_LEN], nonce[VN_XNONCE_LEN], enc[VN_WG_ENC_COOKIE_LEN];
    size_t o1, o2;
    int rc = -1;

    if (macs_at(msg, len, &o1, &o2) < 0 || make_cookie(c, cookie, src, srclen, now_ms) < 0)
        goto out;
    vn_crypto_random(nonce, sizeof(nonce));
    /* both an initiation and a response carry their sender index at 4 */
    vn_xaead_seal(enc, cookie, VN_MAC_LEN, nonce, c->cookie_key, msg + o1, VN_MAC_LEN);
    vn_wg_build_cookie(out, VN_WG_COOKIE_LEN,
                       &(struct vn_wg_cookie){ .receiver = vn_wg_get_le32(msg + VN_WG_INIT_SENDER),
                                               .nonce = nonce,
                                               .enc_cookie = enc });
    rc = 0;
out:
    vn_wipe(cookie, sizeof(cookie));
    return rc;
}

int vn_cookie_add_macs(struct vn_cookie_maker *m, const uint8_t mac1_key[VN_HASH_LEN],
                       uint8_t *msg, size_t len, uint64_t now_ms)
{
    size_t o1, o2;

    if (macs_at(msg, len, &o1, &o2) < 0 || vn_mac(msg + o1, mac1_key, VN_HASH_LEN, msg, o1) < 0)
        return -1;
    memcpy(m->last_mac1, msg + o1, VN_MAC_LEN);
    m->last_mac1_valid = true;
    if (m->cookie_valid && !expired(m->cookie_ms, now_ms, VN_COOKIE_VALID_MS))
        return vn_mac(msg + o2, m->cookie, VN_MAC_LEN, msg, o2);
    memset(msg + o2, 0, VN_MAC_LEN);
    return 0;
}

int vn_cookie_reply_consume(struct vn_cookie_maker *m, const uint8_t cookie_key[VN_HASH_LEN],
                            const struct vn_wg_cookie *r, uint64_t now_ms)
{
    uint8_t cookie[VN_MAC_LEN];

    if (!m->last_mac1_valid
        || vn_xaead_open(cookie, r->enc_cookie, VN_WG_ENC_COOKIE_LEN, r->nonce, cookie_key,
                         m->last_mac1, VN_MAC_LEN) < 0) {
        vn_wipe(cookie, sizeof(cookie));
        return -1;
    }
    memcpy(m->cookie, cookie, VN_MAC_LEN);
    m->cookie_ms = now_ms;
    m->cookie_valid = true;
    /* one cookie per message sent: a replayed reply is refused */
    m->last_mac1_valid = false;
    vn_wipe(cookie, sizeof(cookie));
    return 0;
}
