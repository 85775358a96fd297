/* WireGuard's handshake, Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (see noise.h).
 * The steps follow the WireGuard whitepaper, section 5.4.2 (initiation),
 * 5.4.3 (response) and 5.4.5 (transport keys), one line of the paper per
 * statement where possible: C is the chaining key, H the hash. Every step
 * works on copies of C and H held on the stack and wiped on the way out,
 * so a failure leaves nothing behind but what the caller is told. */
#include "vpn/noise.h"

#include <string.h>

static const char CONSTRUCTION[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char IDENTIFIER[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";
static const char LABEL_MAC1[] = "mac1----";
static const char LABEL_COOKIE[] = "cookie--";

/* The handshake state both sides start from when the responder's static
 * public key is rpub: C = HASH(CONSTRUCTION), H = HASH(HASH(C || IDENTIFIER)
 * || rpub). Returns 0 or -1. */
static int start(uint8_t ck[VN_HASH_LEN], uint8_t h[VN_HASH_LEN], const uint8_t rpub[VN_KEY_LEN])
{
    if (vn_hash(ck, CONSTRUCTION, sizeof(CONSTRUCTION) - 1) < 0
        || vn_hash2(h, ck, VN_HASH_LEN, IDENTIFIER, sizeof(IDENTIFIER) - 1) < 0
        || vn_hash2(h, h, VN_HASH_LEN, rpub, VN_KEY_LEN) < 0)
        return -1;
    return 0;
}

/* H := HASH(H || data). */
static int mix_hash(uint8_t h[VN_HASH_LEN], const uint8_t *data, size_t len)
{
    return vn_hash2(h, h, VN_HASH_LEN, data, len);
}

/* C, k := KDF2(C, DH(priv, pub)) (k NULL: C := KDF1(C, DH(priv, pub))).
 * Returns 0, or -1 when the DH result is all zeros. */
static int mix_dh(uint8_t ck[VN_HASH_LEN], uint8_t *k, const uint8_t priv[VN_KEY_LEN],
                  const uint8_t pub[VN_KEY_LEN])
{
    uint8_t ss[VN_KEY_LEN];
    int rc = -1;
    if (vn_x25519(ss, priv, pub) == 0)
        rc = vn_kdf(ck, k, NULL, ck, ss, sizeof(ss));
    vn_wipe(ss, sizeof(ss));
    return rc;
}

/* The psk step both sides share: C, tau, k := KDF3(C, psk); H := HASH(H || tau).
 * Returns 0 or -1. */
static int mix_psk(uint8_t ck[VN_HASH_LEN], uint8_t h[VN_HASH_LEN], uint8_t k[VN_KEY_LEN],
                   const uint8_t psk[VN_KEY_LEN])
{
    uint8_t tau[VN_HASH_LEN];
    int rc = vn_kdf(ck, tau, k, ck, psk, VN_KEY_LEN);
    if (rc == 0)
        rc = mix_hash(h, tau, sizeof(tau));
    vn_wipe(tau, sizeof(tau));
    return rc;
}

/* The transport keys from the final C: T1, T2 := KDF2(C, empty); the
 * initiator sends with T1, the responder with T2. Returns 0 or -1. */
static int derive_keys(struct vn_noise_keys *keys, const uint8_t ck[VN_HASH_LEN], bool initiator,
                       uint32_t local_index, uint32_t remote_index)
{
    uint8_t t1[VN_KEY_LEN], t2[VN_KEY_LEN];
    int rc = vn_kdf(t1, t2, NULL, ck, NULL, 0);
    if (rc == 0) {
        memcpy(initiator ? keys->send : keys->recv, t1, VN_KEY_LEN);
        memcpy(initiator ? keys->recv : keys->send, t2, VN_KEY_LEN);
        keys->local_index = local_index;
        keys->remote_index = remote_index;
        keys->initiator = initiator;
    }
    vn_wipe(t1, sizeof(t1));
    vn_wipe(t2, sizeof(t2));
    return rc;
}

/* out := HASH(label || pub), label being 8 characters. */
static int label_key(uint8_t out[VN_HASH_LEN], const char *label, const uint8_t pub[VN_KEY_LEN])
{
    return vn_hash2(out, label, 8, pub, VN_KEY_LEN);
}

int vn_noise_local_init(struct vn_noise_local *l, const uint8_t priv[VN_KEY_LEN])
{
    memset(l, 0, sizeof(*l));
    memcpy(l->priv, priv, VN_KEY_LEN);
    vn_x25519_clamp(l->priv);
    if (vn_x25519_pubkey(l->pub, l->priv) < 0 || vn_ct_is_zero(l->pub, VN_KEY_LEN)
        || label_key(l->mac1_key, LABEL_MAC1, l->pub) < 0
        || label_key(l->cookie_key, LABEL_COOKIE, l->pub) < 0) {
        vn_wipe(l, sizeof(*l));
        return -1;
    }
    return 0;
}

int vn_noise_remote_init(struct vn_noise_remote *r, const struct vn_noise_local *l,
                         const uint8_t pub[VN_KEY_LEN], const uint8_t psk[VN_KEY_LEN])
{
    memset(r, 0, sizeof(*r));
    memcpy(r->pub, pub, VN_KEY_LEN);
    if (psk)
        memcpy(r->psk, psk, VN_KEY_LEN);
    if (vn_x25519(r->ss, l->priv, pub) < 0 || label_key(r->mac1_key, LABEL_MAC1, pub) < 0
        || label_key(r->cookie_key, LABEL_COOKIE, pub) < 0) {
        vn_wipe(r, sizeof(*r));
        return -1;
    }
    return 0;
}

void vn_noise_hs_clear(struct vn_noise_hs *hs)
{
    vn_wipe(hs, sizeof(*hs));
    hs->state = VN_NOISE_NONE;
}

void vn_noise_keys_clear(struct vn_noise_keys *k)
{
    vn_wipe(k, sizeof(*k));
}

int vn_noise_init_create_with_e(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                                const struct vn_noise_remote *r, uint32_t local_index,
                                const uint8_t tai64n[VN_WG_TAI64N_LEN],
                                const uint8_t e_priv[VN_KEY_LEN], uint8_t msg[VN_WG_INIT_LEN])
{
    uint8_t ck[VN_HASH_LEN], h[VN_HASH_LEN], k[VN_KEY_LEN], e_pub[VN_KEY_LEN];
    uint8_t *enc_static = msg + VN_WG_INIT_STATIC, *enc_time = msg + VN_WG_INIT_TIMESTAMP;
    int rc = -1;

    vn_noise_hs_clear(hs);
    vn_wg_build_init(msg, VN_WG_INIT_LEN, &(struct vn_wg_init){ .sender = local_index });
    memcpy(hs->e_priv, e_priv, VN_KEY_LEN);
    vn_x25519_clamp(hs->e_priv);
    if (vn_x25519_pubkey(e_pub, hs->e_priv) < 0 || start(ck, h, r->pub) < 0)
        goto out;
    /* C := KDF1(C, E_i^pub); msg.ephemeral := E_i^pub; H := HASH(H || msg.ephemeral) */
    if (vn_kdf(ck, NULL, NULL, ck, e_pub, VN_KEY_LEN) < 0)
        goto out;
    memcpy(msg + VN_WG_INIT_EPHEMERAL, e_pub, VN_KEY_LEN);
    if (mix_hash(h, e_pub, VN_KEY_LEN) < 0)
        goto out;
    /* C, k := KDF2(C, DH(E_i^priv, S_r^pub)); msg.static := AEAD(k, 0, S_i^pub, H);
     * H := HASH(H || msg.static) */
    if (mix_dh(ck, k, hs->e_priv, r->pub) < 0)
        goto out;
    vn_aead_seal(enc_static, l->pub, VN_KEY_LEN, 0, k, h, VN_HASH_LEN);
    if (mix_hash(h, enc_static, VN_WG_ENC_STATIC_LEN) < 0)
        goto out;
    /* C, k := KDF2(C, DH(S_i^priv, S_r^pub)) (precomputed in r->ss);
     * msg.timestamp := AEAD(k, 0, TAI64N, H); H := HASH(H || msg.timestamp) */
    if (vn_ct_is_zero(r->ss, VN_KEY_LEN) || vn_kdf(ck, k, NULL, ck, r->ss, VN_KEY_LEN) < 0)
        goto out;
    vn_aead_seal(enc_time, tai64n, VN_WG_TAI64N_LEN, 0, k, h, VN_HASH_LEN);
    if (mix_hash(h, enc_time, VN_WG_ENC_TIME_LEN) < 0)
        goto out;
    memcpy(hs->ck, ck, VN_HASH_LEN);
    memcpy(hs->h, h, VN_HASH_LEN);
    hs->local_index = local_index;
    hs->state = VN_NOISE_INIT_SENT;
    rc = 0;
out:
    if (rc < 0)
        vn_noise_hs_clear(hs);
    vn_wipe(ck, sizeof(ck));
    vn_wipe(h, sizeof(h));
    vn_wipe(k, sizeof(k));
    return rc;
}

int vn_noise_init_create(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                         const struct vn_noise_remote *r, uint32_t local_index,
                         const uint8_t tai64n[VN_WG_TAI64N_LEN], uint8_t msg[VN_WG_INIT_LEN])
{
    uint8_t e[VN_KEY_LEN];
    vn_x25519_genkey(e);
    int rc = vn_noise_init_create_with_e(hs, l, r, local_index, tai64n, e, msg);
    vn_wipe(e, sizeof(e));
    return rc;
}

int vn_noise_init_consume(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                          const struct vn_wg_init *m, uint8_t static_out[VN_KEY_LEN],
                          uint8_t tai64n_out[VN_WG_TAI64N_LEN])
{
    uint8_t ck[VN_HASH_LEN], h[VN_HASH_LEN], k[VN_KEY_LEN];
    uint8_t s_pub[VN_KEY_LEN], ts[VN_WG_TAI64N_LEN];
    int rc = -1;

    vn_noise_hs_clear(hs);
    if (start(ck, h, l->pub) < 0)
        goto out;
    /* C := KDF1(C, msg.ephemeral); H := HASH(H || msg.ephemeral) */
    if (vn_kdf(ck, NULL, NULL, ck, m->ephemeral, VN_KEY_LEN) < 0
        || mix_hash(h, m->ephemeral, VN_KEY_LEN) < 0)
        goto out;
    /* C, k := KDF2(C, DH(S_r^priv, msg.ephemeral)); S_i^pub := AEAD-open(k, 0,
     * msg.static, H); H := HASH(H || msg.static) */
    if (mix_dh(ck, k, l->priv, m->ephemeral) < 0
        || vn_aead_open(s_pub, m->enc_static, VN_WG_ENC_STATIC_LEN, 0, k, h, VN_HASH_LEN) < 0
        || mix_hash(h, m->enc_static, VN_WG_ENC_STATIC_LEN) < 0)
        goto out;
    /* C, k := KDF2(C, DH(S_r^priv, S_i^pub)); timestamp := AEAD-open(k, 0,
     * msg.timestamp, H); H := HASH(H || msg.timestamp) */
    if (mix_dh(ck, k, l->priv, s_pub) < 0
        || vn_aead_open(ts, m->enc_time, VN_WG_ENC_TIME_LEN, 0, k, h, VN_HASH_LEN) < 0
        || mix_hash(h, m->enc_time, VN_WG_ENC_TIME_LEN) < 0)
        goto out;
    memcpy(hs->ck, ck, VN_HASH_LEN);
    memcpy(hs->h, h, VN_HASH_LEN);
    memcpy(hs->e_remote, m->ephemeral, VN_KEY_LEN);
    hs->remote_index = m->sender;
    hs->state = VN_NOISE_INIT_RCVD;
    memcpy(static_out, s_pub, VN_KEY_LEN);
    memcpy(tai64n_out, ts, VN_WG_TAI64N_LEN);
    rc = 0;
out:
    if (rc < 0)
        vn_noise_hs_clear(hs);
    vn_wipe(ck, sizeof(ck));
    vn_wipe(h, sizeof(h));
    vn_wipe(k, sizeof(k));
    vn_wipe(s_pub, sizeof(s_pub));
    vn_wipe(ts, sizeof(ts));
    return rc;
}

int vn_noise_resp_create_with_e(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                                const struct vn_noise_remote *r, uint32_t local_index,
                                const uint8_t e_priv[VN_KEY_LEN], uint8_t msg[VN_WG_RESP_LEN],
                                struct vn_noise_keys *keys)
{
    uint8_t ck[VN_HASH_LEN], h[VN_HASH_LEN], k[VN_KEY_LEN];
    uint8_t e[VN_KEY_LEN], e_pub[VN_KEY_LEN];
    uint8_t *enc_empty = msg + VN_WG_RESP_EMPTY;
    int rc = -1;

    (void)l;
    vn_noise_keys_clear(keys);
    if (hs->state != VN_NOISE_INIT_RCVD)
        goto out;
    memcpy(ck, hs->ck, VN_HASH_LEN);
    memcpy(h, hs->h, VN_HASH_LEN);
    memcpy(e, e_priv, VN_KEY_LEN);
    vn_x25519_clamp(e);
    vn_wg_build_resp(msg, VN_WG_RESP_LEN,
                     &(struct vn_wg_resp){ .sender = local_index, .receiver = hs->remote_index });
    if (vn_x25519_pubkey(e_pub, e) < 0)
        goto out;
    /* C := KDF1(C, E_r^pub); msg.ephemeral := E_r^pub; H := HASH(H || msg.ephemeral) */
    if (vn_kdf(ck, NULL, NULL, ck, e_pub, VN_KEY_LEN) < 0)
        goto out;
    memcpy(msg + VN_WG_RESP_EPHEMERAL, e_pub, VN_KEY_LEN);
    if (mix_hash(h, e_pub, VN_KEY_LEN) < 0)
        goto out;
    /* C := KDF1(C, DH(E_r^priv, E_i^pub)); C := KDF1(C, DH(E_r^priv, S_i^pub)) */
    if (mix_dh(ck, NULL, e, hs->e_remote) < 0 || mix_dh(ck, NULL, e, r->pub) < 0)
        goto out;
    /* C, tau, k := KDF3(C, Q); H := HASH(H || tau); msg.empty := AEAD(k, 0,
     * empty, H); H := HASH(H || msg.empty) */
    if (mix_psk(ck, h, k, r->psk) < 0)
        goto out;
    vn_aead_seal(enc_empty, k /* no plaintext */, 0, 0, k, h, VN_HASH_LEN);
    if (mix_hash(h, enc_empty, VN_WG_TAG_LEN) < 0)
        goto out;
    rc = derive_keys(keys, ck, false, local_index, hs->remote_index);
out:
    if (rc < 0) {
        vn_noise_keys_clear(keys);
        memset(msg, 0, VN_WG_RESP_LEN);
    }
    vn_noise_hs_clear(hs);
    vn_wipe(ck, sizeof(ck));
    vn_wipe(h, sizeof(h));
    vn_wipe(k, sizeof(k));
    vn_wipe(e, sizeof(e));
    return rc;
}

int vn_noise_resp_create(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                         const struct vn_noise_remote *r, uint32_t local_index,
                         uint8_t msg[VN_WG_RESP_LEN], struct vn_noise_keys *keys)
{
    uint8_t e[VN_KEY_LEN];
    vn_x25519_genkey(e);
    int rc = vn_noise_resp_create_with_e(hs, l, r, local_index, e, msg, keys);
    vn_wipe(e, sizeof(e));
    return rc;
}

int vn_noise_resp_consume(struct vn_noise_hs *hs, const struct vn_noise_local *l,
                          const struct vn_noise_remote *r, const struct vn_wg_resp *m,
                          struct vn_noise_keys *keys)
{
    uint8_t ck[VN_HASH_LEN], h[VN_HASH_LEN], k[VN_KEY_LEN], none[1];
    int rc = -1;

    vn_noise_keys_clear(keys);
    if (hs->state != VN_NOISE_INIT_SENT)
        return -1;
    memcpy(ck, hs->ck, VN_HASH_LEN);
    memcpy(h, hs->h, VN_HASH_LEN);
    /* C := KDF1(C, msg.ephemeral); H := HASH(H || msg.ephemeral) */
    if (vn_kdf(ck, NULL, NULL, ck, m->ephemeral, VN_KEY_LEN) < 0
        || mix_hash(h, m->ephemeral, VN_KEY_LEN) < 0)
        goto out;
    /* C := KDF1(C, DH(E_i^priv, msg.ephemeral)); C := KDF1(C, DH(S_i^priv, msg.ephemeral)) */
    if (mix_dh(ck, NULL, hs->e_priv, m->ephemeral) < 0 || mix_dh(ck, NULL, l->priv, m->ephemeral) < 0)
        goto out;
    /* C, tau, k := KDF3(C, Q); H := HASH(H || tau); AEAD-open(k, 0, msg.empty, H);
     * H := HASH(H || msg.empty) */
    if (mix_psk(ck, h, k, r->psk) < 0
        || vn_aead_open(none, m->enc_empty, VN_WG_TAG_LEN, 0, k, h, VN_HASH_LEN) < 0
        || mix_hash(h, m->enc_empty, VN_WG_TAG_LEN) < 0)
        goto out;
    if (derive_keys(keys, ck, true, hs->local_index, m->sender) < 0)
        goto out;
    vn_noise_hs_clear(hs);
    rc = 0;
out:
    if (rc < 0)
        vn_noise_keys_clear(keys);
    vn_wipe(ck, sizeof(ck));
    vn_wipe(h, sizeof(h));
    vn_wipe(k, sizeof(k));
    return rc;
}

void vn_noise_tai64n(uint8_t out[VN_WG_TAI64N_LEN], uint64_t unix_sec, uint32_t nsec)
{
    uint64_t label = 0x400000000000000aull + unix_sec;
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(label >> (56 - 8 * i));
    for (int i = 0; i < 4; i++)
        out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}
