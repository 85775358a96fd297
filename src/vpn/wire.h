/* WireGuard's four messages on the wire: layout, a bounds-checked parser
 * and builders. No cryptography here (see vpn/crypto.h).
 *
 * Theory of operation. Every WireGuard datagram opens with a 4-byte header:
 * the message type, then three reserved bytes that must be zero. The four
 * types (WireGuard whitepaper, section 5.4) are:
 *
 *   1 handshake initiation, exactly 148 bytes:
 *     type(1) reserved(3) sender(4) ephemeral(32) static(32+16)
 *     timestamp(12+16) mac1(16) mac2(16)
 *   2 handshake response, exactly 92 bytes:
 *     type(1) reserved(3) sender(4) receiver(4) ephemeral(32) empty(0+16)
 *     mac1(16) mac2(16)
 *   3 cookie reply, exactly 64 bytes:
 *     type(1) reserved(3) receiver(4) nonce(24) cookie(16+16)
 *   4 transport data, at least 32 bytes:
 *     type(1) reserved(3) receiver(4) counter(8) packet(n+16)
 *     (the plaintext padded by the sender, then the AEAD tag; a keepalive
 *     is an empty plaintext, so its packet is just the 16-byte tag)
 *
 * "x+16" is an AEAD ciphertext of x bytes plus its tag. Indexes and the
 * counter are little-endian; they are read and written byte by byte, so
 * the code is the same on any host. mac1 is computed over every byte
 * before it, mac2 over every byte before it (mac1 included).
 *
 * vn_wg_parse() classifies a datagram and returns its type with views
 * (pointers into the datagram, never copies) of its fields, or a negative
 * reason the caller counts and drops it for. The builders write a message
 * from the same structures, so what the parser gives back builds the same
 * bytes again; a field left NULL is written as zeros (the MACs are filled
 * in afterwards, at VN_WG_*_MAC1/MAC2, over the bytes before them). */
#ifndef VN_VPN_WIRE_H
#define VN_VPN_WIRE_H

#include <stddef.h>
#include <stdint.h>

enum vn_wg_type {
    VN_WG_INITIATION = 1,
    VN_WG_RESPONSE = 2,
    VN_WG_COOKIE = 3,
    VN_WG_DATA = 4,
};

/* Why vn_wg_parse() refused a datagram (negative, so they never clash with
 * a type). Counters: an array of VN_WG_DROP_N indexed by -reason ([0] unused). */
enum vn_wg_drop {
    VN_WG_DROP_SHORT = -1,      /* shorter than the 4-byte header */
    VN_WG_DROP_TYPE = -2,       /* type byte not 1..4 */
    VN_WG_DROP_RESERVED = -3,   /* a reserved byte is not zero */
    VN_WG_DROP_LENGTH = -4,     /* a handshake or cookie message of the wrong length */
    VN_WG_DROP_DATA_SHORT = -5, /* transport data without room for a tag */
};
#define VN_WG_DROP_N 6

#define VN_WG_KEY_LEN 32      /* an X25519 public key */
#define VN_WG_TAG_LEN 16      /* AEAD tag */
#define VN_WG_MAC_LEN 16      /* mac1, mac2, a cookie */
#define VN_WG_TAI64N_LEN 12   /* timestamp */
#define VN_WG_XNONCE_LEN 24   /* cookie reply nonce */
#define VN_WG_ENC_STATIC_LEN (VN_WG_KEY_LEN + VN_WG_TAG_LEN)
#define VN_WG_ENC_TIME_LEN (VN_WG_TAI64N_LEN + VN_WG_TAG_LEN)
#define VN_WG_ENC_COOKIE_LEN (VN_WG_MAC_LEN + VN_WG_TAG_LEN)

/* Message lengths and field offsets. */
#define VN_WG_INIT_LEN 148
#define VN_WG_INIT_SENDER 4
#define VN_WG_INIT_EPHEMERAL 8
#define VN_WG_INIT_STATIC 40
#define VN_WG_INIT_TIMESTAMP 88
#define VN_WG_INIT_MAC1 116
#define VN_WG_INIT_MAC2 132

#define VN_WG_RESP_LEN 92
#define VN_WG_RESP_SENDER 4
#define VN_WG_RESP_RECEIVER 8
#define VN_WG_RESP_EPHEMERAL 12
#define VN_WG_RESP_EMPTY 44
#define VN_WG_RESP_MAC1 60
#define VN_WG_RESP_MAC2 76

#define VN_WG_COOKIE_LEN 64
#define VN_WG_COOKIE_RECEIVER 4
#define VN_WG_COOKIE_NONCE 8
#define VN_WG_COOKIE_COOKIE 32

#define VN_WG_DATA_RECEIVER 4
#define VN_WG_DATA_COUNTER 8
#define VN_WG_DATA_HLEN 16    /* the packet starts here */
#define VN_WG_DATA_MIN (VN_WG_DATA_HLEN + VN_WG_TAG_LEN)

struct vn_wg_init {
    uint32_t sender;
    const uint8_t *ephemeral;  /* VN_WG_KEY_LEN */
    const uint8_t *enc_static; /* VN_WG_ENC_STATIC_LEN */
    const uint8_t *enc_time;   /* VN_WG_ENC_TIME_LEN */
    const uint8_t *mac1, *mac2;
};

struct vn_wg_resp {
    uint32_t sender, receiver;
    const uint8_t *ephemeral; /* VN_WG_KEY_LEN */
    const uint8_t *enc_empty; /* VN_WG_TAG_LEN */
    const uint8_t *mac1, *mac2;
};

struct vn_wg_cookie {
    uint32_t receiver;
    const uint8_t *nonce;      /* VN_WG_XNONCE_LEN */
    const uint8_t *enc_cookie; /* VN_WG_ENC_COOKIE_LEN */
};

struct vn_wg_data {
    uint32_t receiver;
    uint64_t counter;
    const uint8_t *packet; /* ciphertext then tag */
    size_t packet_len;     /* >= VN_WG_TAG_LEN */
};

/* A parsed message: type selects the member of the union. */
struct vn_wg_msg {
    int type;   /* enum vn_wg_type */
    size_t len; /* of the whole message */
    union {
        struct vn_wg_init init;
        struct vn_wg_resp resp;
        struct vn_wg_cookie cookie;
        struct vn_wg_data data;
    };
};

/* Classify and parse the n bytes at p. Returns the type (1..4) with *out
 * filled, its views pointing into p, or a negative enum vn_wg_drop (*out
 * then untouched). Never reads outside p[0..n). */
int vn_wg_parse(const uint8_t *p, size_t n, struct vn_wg_msg *out);

/* The name of a drop reason for counters ("short", ...); "?" when not one. */
const char *vn_wg_drop_name(int reason);

/* Where mac1 and mac2 lie in a message of type t (initiation or response):
 * each is computed over the bytes before its offset. Returns 0, or -1 for
 * a type without MACs. */
int vn_wg_mac_offsets(int t, size_t *mac1, size_t *mac2);

/* Builders: write the message into buf (cap bytes), header included.
 * Return its length, or 0 when cap is too small. NULL fields are zeros. */
size_t vn_wg_build_init(uint8_t *buf, size_t cap, const struct vn_wg_init *m);
size_t vn_wg_build_resp(uint8_t *buf, size_t cap, const struct vn_wg_resp *m);
size_t vn_wg_build_cookie(uint8_t *buf, size_t cap, const struct vn_wg_cookie *m);
/* m->packet may lie anywhere, also at buf + VN_WG_DATA_HLEN already (then
 * only the header is written); NULL writes packet_len zero bytes. Returns
 * 0 also when packet_len < VN_WG_TAG_LEN. */
size_t vn_wg_build_data(uint8_t *buf, size_t cap, const struct vn_wg_data *m);
/* Only the 16-byte transport header, for a packet encrypted in place
 * behind it. Returns VN_WG_DATA_HLEN, or 0 when cap is too small. */
size_t vn_wg_build_data_hdr(uint8_t *buf, size_t cap, uint32_t receiver, uint64_t counter);

/* The zero bytes a sender appends to a plaintext of len bytes before
 * encrypting it: up to a multiple of 16, but not past mtu (0: no limit),
 * as WireGuard pads. */
size_t vn_wg_pad_len(size_t len, size_t mtu);

/* Little-endian fields, portable. */
static inline uint32_t vn_wg_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vn_wg_get_le64(const uint8_t *p)
{
    return (uint64_t)vn_wg_get_le32(p) | (uint64_t)vn_wg_get_le32(p + 4) << 32;
}
static inline void vn_wg_put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vn_wg_put_le64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

#endif
