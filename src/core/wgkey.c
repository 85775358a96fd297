/* WireGuard keys in base64 and the public key of a private key (see wgkey.h). */
#include "core/wgkey.h"

#include <sodium.h>
#include <stdbool.h>
#include <string.h>

void vn_key_to_base64(char out[VN_KEY_B64_LEN + 1], const uint8_t key[VN_KEY_LEN])
{
    sodium_bin2base64(out, VN_KEY_B64_LEN + 1, key, VN_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* Whether the first n characters are all in the standard base64 alphabet,
 * without branching on them (the string may be a private key). libsodium
 * 1.0.18 alone takes any byte >= 0x80 for '/', hence this check. */
static bool b64_alphabet(const char *s, size_t n)
{
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i];
        unsigned ok = (c - 'A' < 26u) | (c - 'a' < 26u) | (c - '0' < 10u) | (c == '+') | (c == '/');
        bad |= ok ^ 1u;
    }
    return bad == 0;
}

const char *vn_key_from_base64(uint8_t key[VN_KEY_LEN], const char *s)
{
    uint8_t tmp[VN_KEY_LEN];
    size_t n = 0, slen;
    const char *end = NULL;

    if (!s)
        return "no key given";
    slen = strlen(s);
    if (slen != VN_KEY_B64_LEN)
        return "a key is 44 characters of base64 (32 bytes, as `wg genkey` prints)";
    if (s[43] != '=' || s[42] == '=')
        return "a key's base64 ends in exactly one '='";
    if (!b64_alphabet(s, VN_KEY_B64_LEN - 1))
        return "a key's base64 has a character outside A-Z a-z 0-9 + /";
    if (sodium_base642bin(tmp, sizeof(tmp), s, slen, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0
        || n != VN_KEY_LEN || end != s + slen) {
        sodium_memzero(tmp, sizeof(tmp));
        return "a key's base64 has stray bits in its last character before '='";
    }
    memcpy(key, tmp, VN_KEY_LEN);
    sodium_memzero(tmp, sizeof(tmp));
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

const char *vn_key_from_text(uint8_t key[VN_KEY_LEN], const char *s, size_t len)
{
    char buf[VN_KEY_B64_LEN + 1];
    const char *msg;

    while (len && is_space(*s))
        s++, len--;
    while (len && is_space(s[len - 1]))
        len--;
    if (!len)
        return "no key given (empty)";
    if (len != VN_KEY_B64_LEN || memchr(s, '\0', len))
        return "a key is 44 characters of base64 (32 bytes, as `wg genkey` prints)";
    memcpy(buf, s, len);
    buf[len] = '\0';
    msg = vn_key_from_base64(key, buf);
    sodium_memzero(buf, sizeof buf);
    return msg;
}

int vn_x25519_pubkey(uint8_t pub[VN_KEY_LEN], const uint8_t priv[VN_KEY_LEN])
{
    if (sodium_init() < 0)
        return -1;
    return crypto_scalarmult_curve25519_base(pub, priv) == 0 ? 0 : -1;
}
