/* DNS wire format helpers: see dns_msg.h. */
#include "dns_msg.h"

#include <string.h>

#define MAX_JUMPS 64

int vn_dns_hdr_parse(const uint8_t *m, size_t len, struct vn_dns_hdr *h)
{
    if (len < VN_DNS_HLEN)
        return -1;
    h->id = vn_dns_get16(m);
    h->flags = vn_dns_get16(m + 2);
    h->qdcount = vn_dns_get16(m + 4);
    h->ancount = vn_dns_get16(m + 6);
    h->nscount = vn_dns_get16(m + 8);
    h->arcount = vn_dns_get16(m + 10);
    return 0;
}

int vn_dns_name_read(const uint8_t *m, size_t len, size_t off, uint8_t *out, size_t *next)
{
    size_t pos = off, seg_start = off, olen = 0;
    bool jumped = false;
    unsigned jumps = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t c = m[pos];
        if ((c & 0xc0) == 0xc0) {
            if (pos + 1 >= len)
                return -1;
            size_t ptr = (size_t)(c & 0x3f) << 8 | m[pos + 1];
            /* Strictly before the segment we came from: offsets decrease
             * with every jump, so the walk ends. */
            if (ptr >= seg_start || ++jumps > MAX_JUMPS)
                return -1;
            if (!jumped)
                *next = pos + 2;
            jumped = true;
            pos = seg_start = ptr;
            continue;
        }
        if (c & 0xc0)
            return -1; /* extended / reserved label types */
        if (c == 0) {
            if (olen + 1 > VN_DNS_NAME_MAX)
                return -1;
            out[olen++] = 0;
            if (!jumped)
                *next = pos + 1;
            return (int)olen;
        }
        if (pos + 1 + c > len || olen + 1 + c + 1 > VN_DNS_NAME_MAX)
            return -1;
        memcpy(out + olen, m + pos, 1 + (size_t)c);
        olen += 1 + (size_t)c;
        pos += 1 + (size_t)c;
    }
}

/* Skip the resource records of one section starting at *off. */
static int skip_rrs(const uint8_t *m, size_t len, size_t *off, unsigned n, bool additional,
                    struct vn_dns_msg *out)
{
    uint8_t name[VN_DNS_NAME_MAX + 1];
    for (unsigned i = 0; i < n; i++) {
        size_t next, start = *off;
        int nl = vn_dns_name_read(m, len, *off, name, &next);
        if (nl < 0 || next + 10 > len)
            return -1;
        uint16_t type = vn_dns_get16(m + next), cls = vn_dns_get16(m + next + 2);
        uint16_t rdlen = vn_dns_get16(m + next + 8);
        if (next + 10 + rdlen > len)
            return -1;
        if (type == VN_DNS_T_OPT) {
            /* RFC 6891: only in the additional section, owner the root, once. */
            if (!additional || nl != 1 || out->edns)
                return -1;
            out->edns = true;
            out->edns_size = cls;
            out->edns_do = (m[next + 6] & 0x80) != 0;
            out->opt_off = (uint32_t)start;
            out->opt_end = (uint32_t)(next + 10 + rdlen);
        }
        *off = next + 10 + rdlen;
    }
    return 0;
}

int vn_dns_msg_parse(const uint8_t *m, size_t len, struct vn_dns_msg *out)
{
    memset(out, 0, sizeof *out);
    if (vn_dns_hdr_parse(m, len, &out->h))
        return -1;
    size_t off = VN_DNS_HLEN;
    if (out->h.qdcount > 1)
        return -1;
    if (out->h.qdcount == 1) {
        size_t next;
        int nl = vn_dns_name_read(m, len, off, out->q.name, &next);
        if (nl < 0 || next + 4 > len)
            return -1;
        out->q.name_len = (uint16_t)nl;
        out->q.qtype = vn_dns_get16(m + next);
        out->q.qclass = vn_dns_get16(m + next + 2);
        out->has_q = true;
        off = next + 4;
    }
    if (skip_rrs(m, len, &off, out->h.ancount, false, out) ||
        skip_rrs(m, len, &off, out->h.nscount, false, out) ||
        skip_rrs(m, len, &off, out->h.arcount, true, out))
        return -1;
    out->end = (uint32_t)off;
    return 0;
}

bool vn_dns_wire_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (vn_dns_lc(a[i]) != vn_dns_lc(b[i]))
            return false;
    return true;
}

bool vn_dns_question_eq(const struct vn_dns_question *a, const struct vn_dns_question *b)
{
    return a->qtype == b->qtype && a->qclass == b->qclass && a->name_len == b->name_len &&
           vn_dns_wire_eq(a->name, b->name, a->name_len);
}

static bool host_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int vn_dns_name_to_text(const uint8_t *wire, char *out, size_t n)
{
    size_t o = 0, i = 0;
    if (!n)
        return -1;
    while (wire[i]) {
        uint8_t l = wire[i++];
        if (o && o + 1 >= n)
            return -1;
        if (o)
            out[o++] = '.';
        for (uint8_t k = 0; k < l; k++, i++) {
            if (!host_char(wire[i]) || o + 1 >= n)
                return -1;
            out[o++] = (char)vn_dns_lc(wire[i]);
        }
    }
    out[o] = 0;
    return (int)o;
}

int vn_dns_name_from_text(const char *text, uint8_t *out, size_t cap)
{
    size_t o = 0, tl = strlen(text);
    if (tl && text[tl - 1] == '.')
        tl--;
    size_t i = 0;
    while (i < tl) {
        size_t j = i;
        while (j < tl && text[j] != '.')
            j++;
        size_t l = j - i;
        if (l == 0 || l > 63 || o + 1 + l + 1 > VN_DNS_NAME_MAX || o + 1 + l + 1 > cap)
            return -1;
        out[o++] = (uint8_t)l;
        memcpy(out + o, text + i, l);
        o += l;
        i = j + 1;
        if (j == tl - 1 && j < tl && text[j] == '.')
            return -1; /* "a..": an empty label after trimming one dot */
    }
    if (o + 1 > cap)
        return -1;
    out[o++] = 0;
    return (int)o;
}

/* Length of a wire name (root label included); names here are well formed. */
static size_t wire_len(const uint8_t *w)
{
    size_t i = 0;
    while (w[i])
        i += 1 + (size_t)w[i];
    return i + 1;
}

int vn_dns_name_under(const uint8_t *name, const uint8_t *suffix)
{
    size_t nl = wire_len(name), sl = wire_len(suffix);
    /* Walk name's label boundaries; the suffix must start on one. */
    size_t i = 0;
    while (nl - i >= sl) {
        if (nl - i == sl)
            return vn_dns_wire_eq(name + i, suffix, sl) ? (int)i : -1;
        i += 1 + (size_t)name[i];
    }
    return -1;
}

int vn_dns_ptr4_parse(const uint8_t *wire, uint32_t *ip)
{
    static const uint8_t arpa[] = "\7in-addr\4arpa";
    uint32_t a = 0;
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        uint8_t l = wire[i];
        if (l < 1 || l > 3)
            return -1;
        unsigned v = 0;
        for (uint8_t j = 1; j <= l; j++) {
            uint8_t c = wire[i + j];
            if (c < '0' || c > '9')
                return -1;
            v = v * 10 + (unsigned)(c - '0');
        }
        if (v > 255 || (l > 1 && wire[i + 1] == '0'))
            return -1;
        a |= (uint32_t)v << (8 * k); /* first label is the last octet */
        i += 1 + l;
    }
    if (!vn_dns_wire_eq(wire + i, arpa, sizeof arpa)) /* includes the root label */
        return -1;
    *ip = a;
    return 0;
}

static const uint8_t ip6_arpa[] = "\3ip6\4arpa"; /* with its root label: sizeof */

static int hex_nibble(uint8_t c)
{
    c = vn_dns_lc(c);
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int vn_dns_ptr6_parse(const uint8_t *wire, uint8_t addr[16])
{
    uint8_t a[16] = { 0 };
    size_t i = 0;
    /* Label k holds nibble 31 - k (counted from the most significant). */
    for (int k = 0; k < 32; k++, i += 2) {
        int v = wire[i] == 1 ? hex_nibble(wire[i + 1]) : -1;
        if (v < 0)
            return -1;
        unsigned n = 31u - (unsigned)k;
        a[n / 2] |= (uint8_t)(n % 2 ? v : v << 4);
    }
    if (!vn_dns_wire_eq(wire + i, ip6_arpa, sizeof ip6_arpa))
        return -1;
    memcpy(addr, a, 16);
    return 0;
}

int vn_dns_ptr6_name(const uint8_t addr[16], unsigned nibbles, uint8_t *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t need = 2u * nibbles + sizeof ip6_arpa;
    if (nibbles < 1 || nibbles > 32 || cap < need)
        return -1;
    size_t o = 0;
    for (unsigned n = nibbles; n-- > 0;) {
        uint8_t b = addr[n / 2];
        out[o++] = 1;
        out[o++] = (uint8_t)hex[n % 2 ? b & 0xf : b >> 4];
    }
    memcpy(out + o, ip6_arpa, sizeof ip6_arpa);
    return (int)need;
}

size_t vn_dns_reply_init(uint8_t *out, size_t cap, const struct vn_dns_msg *q, uint16_t flags,
                         unsigned rcode)
{
    size_t need = VN_DNS_HLEN + (q->has_q ? q->q.name_len + 4u : 0u);
    if (cap < need)
        return 0;
    vn_dns_put16(out, q->h.id);
    uint16_t f = VN_DNS_F_QR | VN_DNS_F_RA | (q->h.flags & (VN_DNS_F_OPCODE | VN_DNS_F_RD)) |
                 flags | (uint16_t)(rcode & 0xf);
    vn_dns_put16(out + 2, f);
    vn_dns_put16(out + 4, q->has_q ? 1 : 0);
    memset(out + 6, 0, 6);
    if (q->has_q) {
        memcpy(out + VN_DNS_HLEN, q->q.name, q->q.name_len);
        uint8_t *p = out + VN_DNS_HLEN + q->q.name_len;
        vn_dns_put16(p, q->q.qtype);
        vn_dns_put16(p + 2, q->q.qclass);
    }
    return need;
}

size_t vn_dns_add_answer(uint8_t *out, size_t cap, size_t len, uint16_t type, uint32_t ttl,
                         const void *rdata, uint16_t rdlen)
{
    if (!len || len + 12u + rdlen > cap || vn_dns_get16(out + 6) == 0xffff)
        return 0;
    uint8_t *p = out + len;
    vn_dns_put16(p, 0xc000 | VN_DNS_HLEN);
    vn_dns_put16(p + 2, type);
    vn_dns_put16(p + 4, VN_DNS_C_IN);
    vn_dns_put16(p + 6, (uint16_t)(ttl >> 16));
    vn_dns_put16(p + 8, (uint16_t)ttl);
    vn_dns_put16(p + 10, rdlen);
    memcpy(p + 12, rdata, rdlen);
    vn_dns_put16(out + 6, (uint16_t)(vn_dns_get16(out + 6) + 1));
    return len + 12u + rdlen;
}

size_t vn_dns_add_opt(uint8_t *out, size_t cap, size_t len, uint16_t udp_size)
{
    if (!len || len + 11 > cap || vn_dns_get16(out + 10) == 0xffff)
        return 0;
    uint8_t *p = out + len;
    p[0] = 0; /* root owner */
    vn_dns_put16(p + 1, VN_DNS_T_OPT);
    vn_dns_put16(p + 3, udp_size);
    memset(p + 5, 0, 6); /* extended rcode, version, flags, rdlen */
    vn_dns_put16(out + 10, (uint16_t)(vn_dns_get16(out + 10) + 1));
    return len + 11;
}

size_t vn_dns_query_build(uint8_t *out, size_t cap, const struct vn_dns_msg *q, uint16_t id,
                          bool do_bit)
{
    if (!q->has_q || cap < VN_DNS_HLEN + q->q.name_len + 4u + 11u)
        return 0;
    vn_dns_put16(out, id);
    vn_dns_put16(out + 2, (uint16_t)(q->h.flags & (VN_DNS_F_RD | VN_DNS_F_CD)));
    vn_dns_put16(out + 4, 1);
    memset(out + 6, 0, 6);
    memcpy(out + VN_DNS_HLEN, q->q.name, q->q.name_len);
    uint8_t *p = out + VN_DNS_HLEN + q->q.name_len;
    vn_dns_put16(p, q->q.qtype);
    vn_dns_put16(p + 2, q->q.qclass);
    size_t n = vn_dns_add_opt(out, cap, (size_t)(p + 4 - out), 1232);
    if (n && do_bit)
        out[n - 11 + 7] |= 0x80; /* the DO bit: first byte of the OPT flags */
    return n;
}

size_t vn_dns_strip_opt(uint8_t *m, size_t len, const struct vn_dns_msg *r)
{
    if (!r->edns || r->opt_end != r->end || r->opt_end > len || r->opt_off >= r->opt_end ||
        r->h.arcount == 0)
        return len;
    vn_dns_put16(m + 10, (uint16_t)(r->h.arcount - 1));
    return r->opt_off;
}

size_t vn_dns_truncate(uint8_t *out, size_t cap, const uint8_t *rm, const struct vn_dns_msg *r)
{
    size_t need = VN_DNS_HLEN + (r->has_q ? r->q.name_len + 4u : 0u);
    if (cap < need)
        return 0;
    memcpy(out, rm, 4);
    vn_dns_put16(out + 2, (uint16_t)(r->h.flags | VN_DNS_F_TC));
    vn_dns_put16(out + 4, r->has_q ? 1 : 0);
    memset(out + 6, 0, 6);
    if (r->has_q) {
        memcpy(out + VN_DNS_HLEN, r->q.name, r->q.name_len);
        uint8_t *p = out + VN_DNS_HLEN + r->q.name_len;
        vn_dns_put16(p, r->q.qtype);
        vn_dns_put16(p + 2, r->q.qclass);
    }
    return need;
}
