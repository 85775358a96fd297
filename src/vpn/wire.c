/* WireGuard message parsing and building (layout: wire.h). */
#include "vpn/wire.h"

#include <string.h>

static const char *const drop_names[VN_WG_DROP_N] = {
    [-VN_WG_DROP_SHORT] = "short",
    [-VN_WG_DROP_TYPE] = "type",
    [-VN_WG_DROP_RESERVED] = "reserved",
    [-VN_WG_DROP_LENGTH] = "length",
    [-VN_WG_DROP_DATA_SHORT] = "data_short",
};

const char *vn_wg_drop_name(int reason)
{
    if (reason >= 0 || reason <= -VN_WG_DROP_N)
        return "?";
    return drop_names[-reason];
}

int vn_wg_parse(const uint8_t *p, size_t n, struct vn_wg_msg *out)
{
    if (n < 4)
        return VN_WG_DROP_SHORT;
    if (p[0] < VN_WG_INITIATION || p[0] > VN_WG_DATA)
        return VN_WG_DROP_TYPE;
    if (p[1] | p[2] | p[3])
        return VN_WG_DROP_RESERVED;
    struct vn_wg_msg m = { .type = p[0], .len = n };
    switch (p[0]) {
    case VN_WG_INITIATION:
        if (n != VN_WG_INIT_LEN)
            return VN_WG_DROP_LENGTH;
        m.init = (struct vn_wg_init){
            .sender = vn_wg_get_le32(p + VN_WG_INIT_SENDER),
            .ephemeral = p + VN_WG_INIT_EPHEMERAL,
            .enc_static = p + VN_WG_INIT_STATIC,
            .enc_time = p + VN_WG_INIT_TIMESTAMP,
            .mac1 = p + VN_WG_INIT_MAC1,
            .mac2 = p + VN_WG_INIT_MAC2,
        };
        break;
    case VN_WG_RESPONSE:
        if (n != VN_WG_RESP_LEN)
            return VN_WG_DROP_LENGTH;
        m.resp = (struct vn_wg_resp){
            .sender = vn_wg_get_le32(p + VN_WG_RESP_SENDER),
            .receiver = vn_wg_get_le32(p + VN_WG_RESP_RECEIVER),
            .ephemeral = p + VN_WG_RESP_EPHEMERAL,
            .enc_empty = p + VN_WG_RESP_EMPTY,
            .mac1 = p + VN_WG_RESP_MAC1,
            .mac2 = p + VN_WG_RESP_MAC2,
        };
        break;
    case VN_WG_COOKIE:
        if (n != VN_WG_COOKIE_LEN)
            return VN_WG_DROP_LENGTH;
        m.cookie = (struct vn_wg_cookie){
            .receiver = vn_wg_get_le32(p + VN_WG_COOKIE_RECEIVER),
            .nonce = p + VN_WG_COOKIE_NONCE,
            .enc_cookie = p + VN_WG_COOKIE_COOKIE,
        };
        break;
    default:
        if (n < VN_WG_DATA_MIN)
            return VN_WG_DROP_DATA_SHORT;
        m.data = (struct vn_wg_data){
            .receiver = vn_wg_get_le32(p + VN_WG_DATA_RECEIVER),
            .counter = vn_wg_get_le64(p + VN_WG_DATA_COUNTER),
            .packet = p + VN_WG_DATA_HLEN,
            .packet_len = n - VN_WG_DATA_HLEN,
        };
        break;
    }
    *out = m;
    return m.type;
}

int vn_wg_mac_offsets(int t, size_t *mac1, size_t *mac2)
{
    if (t == VN_WG_INITIATION) {
        *mac1 = VN_WG_INIT_MAC1;
        *mac2 = VN_WG_INIT_MAC2;
        return 0;
    }
    if (t == VN_WG_RESPONSE) {
        *mac1 = VN_WG_RESP_MAC1;
        *mac2 = VN_WG_RESP_MAC2;
        return 0;
    }
    return -1;
}

/* Copy len bytes of src to dst, or zeros when src is NULL. */
static void field(uint8_t *dst, const uint8_t *src, size_t len)
{
    if (src)
        memmove(dst, src, len);
    else
        memset(dst, 0, len);
}

static void header(uint8_t *buf, int type)
{
    buf[0] = (uint8_t)type;
    buf[1] = buf[2] = buf[3] = 0;
}

size_t vn_wg_build_init(uint8_t *buf, size_t cap, const struct vn_wg_init *m)
{
    if (cap < VN_WG_INIT_LEN)
        return 0;
    header(buf, VN_WG_INITIATION);
    vn_wg_put_le32(buf + VN_WG_INIT_SENDER, m->sender);
    field(buf + VN_WG_INIT_EPHEMERAL, m->ephemeral, VN_WG_KEY_LEN);
    field(buf + VN_WG_INIT_STATIC, m->enc_static, VN_WG_ENC_STATIC_LEN);
    field(buf + VN_WG_INIT_TIMESTAMP, m->enc_time, VN_WG_ENC_TIME_LEN);
    field(buf + VN_WG_INIT_MAC1, m->mac1, VN_WG_MAC_LEN);
    field(buf + VN_WG_INIT_MAC2, m->mac2, VN_WG_MAC_LEN);
    return VN_WG_INIT_LEN;
}

size_t vn_wg_build_resp(uint8_t *buf, size_t cap, const struct vn_wg_resp *m)
{
    if (cap < VN_WG_RESP_LEN)
        return 0;
    header(buf, VN_WG_RESPONSE);
    vn_wg_put_le32(buf + VN_WG_RESP_SENDER, m->sender);
    vn_wg_put_le32(buf + VN_WG_RESP_RECEIVER, m->receiver);
    field(buf + VN_WG_RESP_EPHEMERAL, m->ephemeral, VN_WG_KEY_LEN);
    field(buf + VN_WG_RESP_EMPTY, m->enc_empty, VN_WG_TAG_LEN);
    field(buf + VN_WG_RESP_MAC1, m->mac1, VN_WG_MAC_LEN);
    field(buf + VN_WG_RESP_MAC2, m->mac2, VN_WG_MAC_LEN);
    return VN_WG_RESP_LEN;
}

size_t vn_wg_build_cookie(uint8_t *buf, size_t cap, const struct vn_wg_cookie *m)
{
    if (cap < VN_WG_COOKIE_LEN)
        return 0;
    header(buf, VN_WG_COOKIE);
    vn_wg_put_le32(buf + VN_WG_COOKIE_RECEIVER, m->receiver);
    field(buf + VN_WG_COOKIE_NONCE, m->nonce, VN_WG_XNONCE_LEN);
    field(buf + VN_WG_COOKIE_COOKIE, m->enc_cookie, VN_WG_ENC_COOKIE_LEN);
    return VN_WG_COOKIE_LEN;
}

size_t vn_wg_build_data_hdr(uint8_t *buf, size_t cap, uint32_t receiver, uint64_t counter)
{
    if (cap < VN_WG_DATA_HLEN)
        return 0;
    header(buf, VN_WG_DATA);
    vn_wg_put_le32(buf + VN_WG_DATA_RECEIVER, receiver);
    vn_wg_put_le64(buf + VN_WG_DATA_COUNTER, counter);
    return VN_WG_DATA_HLEN;
}

size_t vn_wg_build_data(uint8_t *buf, size_t cap, const struct vn_wg_data *m)
{
    if (m->packet_len < VN_WG_TAG_LEN || cap < VN_WG_DATA_HLEN ||
        m->packet_len > cap - VN_WG_DATA_HLEN)
        return 0;
    /* The packet first: it may overlap the header's bytes. */
    if (m->packet != buf + VN_WG_DATA_HLEN)
        field(buf + VN_WG_DATA_HLEN, m->packet, m->packet_len);
    vn_wg_build_data_hdr(buf, cap, m->receiver, m->counter);
    return VN_WG_DATA_HLEN + m->packet_len;
}

size_t vn_wg_pad_len(size_t len, size_t mtu)
{
    size_t last = len;
    if (mtu && last > mtu)
        last %= mtu; /* a large packet: only its last MTU-sized unit is padded */
    size_t padded = (last + 15) & ~(size_t)15;
    if (mtu && padded > mtu)
        padded = mtu;
    return padded > last ? padded - last : 0;
}
