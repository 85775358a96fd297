/* DHCPv4 message parsing and reply building; see dhcp4_msg.h. */
#include "dhcp4_msg.h"
#include "dns_msg.h"

#include <ctype.h>
#include <string.h>

static const uint8_t cookie[4] = { 99, 130, 83, 99 };

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t vn_dhcp4_clean_hostname(const uint8_t *s, size_t len, char out[64])
{
    size_t n = 0;
    for (size_t i = 0; i < len && s[i] && s[i] != '.' && n < 63; i++) {
        int c = tolower(s[i]);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[n++] = (char)c;
        else if ((c == '-' || c == '_' || c == ' ') && n > 0 && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n && out[n - 1] == '-')
        n--;
    out[n] = 0;
    return n;
}

/* Walk one option area [p, p+len). Returns 0, or -1 on an option that runs
 * past the end or a known option with a wrong length. *overload gets
 * option 52's value when seen. */
static int parse_options(const uint8_t *p, size_t len, struct vn_dhcp4_msg *m, uint8_t *overload)
{
    size_t i = 0;
    while (i < len) {
        uint8_t code = p[i];
        if (code == VN_DHO_PAD) {
            i++;
            continue;
        }
        if (code == VN_DHO_END)
            return 0;
        if (i + 1 >= len || i + 2 + (size_t)p[i + 1] > len)
            return -1;
        uint8_t ol = p[i + 1];
        const uint8_t *v = p + i + 2;
        switch (code) {
        case VN_DHO_MSG_TYPE:
            if (ol != 1)
                return -1;
            if (!m->type)
                m->type = v[0];
            break;
        case VN_DHO_REQUESTED_IP:
            if (ol != 4)
                return -1;
            if (!m->requested_ip)
                m->requested_ip = be32(v);
            break;
        case VN_DHO_SERVER_ID:
            if (ol != 4)
                return -1;
            if (!m->server_id)
                m->server_id = be32(v);
            break;
        case VN_DHO_MAX_SIZE:
            if (ol != 2)
                return -1;
            m->max_size = (uint16_t)(v[0] << 8 | v[1]);
            break;
        case VN_DHO_OVERLOAD:
            if (ol != 1 || v[0] < 1 || v[0] > 3)
                return -1;
            *overload = v[0];
            break;
        case VN_DHO_HOSTNAME:
            if (!m->hostname[0])
                vn_dhcp4_clean_hostname(v, ol, m->hostname);
            break;
        case VN_DHO_PARAMS:
            for (uint8_t k = 0; k < ol && m->nparams < sizeof m->params; k++)
                m->params[m->nparams++] = v[k];
            break;
        default:
            break;
        }
        i += 2 + (size_t)ol;
    }
    return 0; /* a missing end option is tolerated */
}

int vn_dhcp4_parse(const uint8_t *p, size_t len, struct vn_dhcp4_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len < VN_DHCP4_MIN || memcmp(p + VN_DHCP4_FIXED, cookie, 4))
        return -1;
    m->op = p[0];
    m->htype = p[1];
    m->hlen = p[2];
    m->hops = p[3];
    m->xid = be32(p + 4);
    m->secs = (uint16_t)(p[8] << 8 | p[9]);
    m->flags = (uint16_t)(p[10] << 8 | p[11]);
    m->ciaddr = be32(p + 12);
    m->yiaddr = be32(p + 16);
    m->siaddr = be32(p + 20);
    m->giaddr = be32(p + 24);
    memcpy(m->chaddr, p + 28, 16);
    if (m->op != 1 || m->hlen > 16)
        return -1;
    uint8_t overload = 0, ignored = 0;
    if (parse_options(p + VN_DHCP4_MIN, len - VN_DHCP4_MIN, m, &overload))
        return -1;
    /* RFC 2132 9.3: the file field, then sname, may carry more options. */
    if ((overload & 1) && parse_options(p + 108, 128, m, &ignored))
        return -1;
    if ((overload & 2) && parse_options(p + 44, 64, m, &ignored))
        return -1;
    return 0;
}

bool vn_dhcp4_wants(const struct vn_dhcp4_msg *m, uint8_t code)
{
    return memchr(m->params, code, m->nparams) != NULL;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void vn_dhcp4_out_init(struct vn_dhcp4_out *o, uint8_t *buf, size_t cap,
                       const struct vn_dhcp4_msg *req, uint8_t type, uint32_t yiaddr,
                       uint32_t siaddr)
{
    o->buf = buf;
    o->cap = cap;
    o->overflow = false;
    memset(buf, 0, VN_DHCP4_BOOTP_MIN);
    buf[0] = 2; /* BOOTREPLY */
    buf[1] = req->htype;
    buf[2] = req->hlen;
    put32(buf + 4, req->xid);
    buf[10] = (uint8_t)(req->flags >> 8); /* the broadcast bit is echoed */
    buf[11] = (uint8_t)req->flags;
    if (type != VN_DHCP_NAK) {
        if (type == VN_DHCP_INFORM || type == VN_DHCP_ACK)
            put32(buf + 12, req->ciaddr);
        put32(buf + 20, siaddr);
    }
    put32(buf + 16, yiaddr);
    put32(buf + 24, req->giaddr);
    memcpy(buf + 28, req->chaddr, 16);
    memcpy(buf + VN_DHCP4_FIXED, cookie, 4);
    o->len = VN_DHCP4_MIN;
    vn_dhcp4_out_opt(o, VN_DHO_MSG_TYPE, &type, 1);
}

void vn_dhcp4_out_opt(struct vn_dhcp4_out *o, uint8_t code, const void *data, size_t len)
{
    /* keep one byte for the end option */
    if (len > 255 || o->len + 2 + len + 1 > o->cap) {
        o->overflow = true;
        return;
    }
    o->buf[o->len] = code;
    o->buf[o->len + 1] = (uint8_t)len;
    memcpy(o->buf + o->len + 2, data, len);
    o->len += 2 + len;
}

void vn_dhcp4_out_u32(struct vn_dhcp4_out *o, uint8_t code, uint32_t v)
{
    uint8_t b[4];
    put32(b, v);
    vn_dhcp4_out_opt(o, code, b, 4);
}

void vn_dhcp4_out_u16(struct vn_dhcp4_out *o, uint8_t code, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };
    vn_dhcp4_out_opt(o, code, b, 2);
}

void vn_dhcp4_out_search(struct vn_dhcp4_out *o, const char *domain)
{
    uint8_t b[256];
    int n = vn_dns_name_from_text(domain, b, sizeof b);
    if (n > 0)
        vn_dhcp4_out_opt(o, VN_DHO_SEARCH, b, (size_t)n); /* else not encodable: left out */
}

size_t vn_dhcp4_route_encode(uint8_t *r, uint32_t dst, uint8_t prefix, uint32_t router)
{
    size_t n = 0, sig = (prefix + 7u) / 8u;
    r[n++] = prefix;
    for (size_t i = 0; i < sig; i++)
        r[n++] = (uint8_t)(dst >> (24 - 8 * i));
    put32(r + n, router);
    return n + 4;
}

size_t vn_dhcp4_out_finish(struct vn_dhcp4_out *o)
{
    o->buf[o->len++] = VN_DHO_END;
    if (o->len < VN_DHCP4_BOOTP_MIN) {
        memset(o->buf + o->len, 0, VN_DHCP4_BOOTP_MIN - o->len);
        o->len = VN_DHCP4_BOOTP_MIN;
    }
    return o->len;
}
