/* DHCPv6 message parsing and reply building; see dhcp6_msg.h. */
#include "dhcp6_msg.h"
#include "core/util.h"
#include "dns_msg.h"
#include "pkt/eth.h"

#include <string.h>

/* One option of an area: code, length and where its data is. */
struct opt {
    uint16_t code, len;
    const uint8_t *v;
};

/* The option at *i of [p, p+len), advancing *i past it. Returns 1 with o
 * filled, 0 at the end of the area, -1 when the option runs past it. */
static int next_opt(const uint8_t *p, size_t len, size_t *i, struct opt *o)
{
    if (*i == len)
        return 0;
    if (len - *i < 4)
        return -1;
    o->code = vn_get_be16(p + *i);
    o->len = vn_get_be16(p + *i + 2);
    if ((size_t)o->len > len - *i - 4)
        return -1;
    o->v = p + *i + 4;
    *i += 4 + (size_t)o->len;
    return 1;
}

/* Options inside an IAADDR (a status code, unknown ones): only bounds. */
static int walk_bounded(const uint8_t *p, size_t len)
{
    size_t i = 0;
    struct opt o;
    int r;
    while ((r = next_opt(p, len, &i, &o)) == 1)
        if (o.code == VN_D6O_STATUS_CODE && o.len < 2)
            return -1;
    return r;
}

/* An IA_NA's data: IAID, T1, T2, then options (IAADDR, status code). */
static int parse_ia_na(const uint8_t *p, size_t len, struct vn_dhcp6_msg *m)
{
    if (len < 12)
        return -1;
    uint32_t iaid = vn_get_be32(p);
    struct vn_dhcp6_ia *ia = NULL;
    bool dup = false;
    for (unsigned k = 0; k < m->nia; k++)
        dup |= m->ia[k].iaid == iaid;
    if (dup || m->nia == VN_DHCP6_MAX_IA) {
        if (m->ia_dropped < UINT16_MAX)
            m->ia_dropped++;
    } else {
        ia = &m->ia[m->nia++];
        memset(ia, 0, sizeof *ia);
        ia->iaid = iaid;
        ia->t1 = vn_get_be32(p + 4);
        ia->t2 = vn_get_be32(p + 8);
    }
    /* The nested options are checked even of an IA_NA not kept. */
    const uint8_t *q = p + 12;
    size_t ql = len - 12, i = 0;
    struct opt o;
    int r;
    while ((r = next_opt(q, ql, &i, &o)) == 1) {
        if (o.code == VN_D6O_STATUS_CODE && o.len < 2)
            return -1;
        if (o.code != VN_D6O_IAADDR)
            continue;
        if (o.len < 24 || walk_bounded(o.v + 24, o.len - 24u) < 0)
            return -1;
        if (!ia)
            continue;
        if (ia->naddr == VN_DHCP6_MAX_IAADDR) {
            if (ia->addr_dropped < UINT8_MAX)
                ia->addr_dropped++;
            continue;
        }
        struct vn_dhcp6_iaaddr *a = &ia->addr[ia->naddr++];
        memcpy(a->addr, o.v, 16);
        a->preferred = vn_get_be32(o.v + 16);
        a->valid = vn_get_be32(o.v + 20);
    }
    return r;
}

/* Options inside an IA_TA or IA_PD: bounds, the fixed part of IAADDR (24
 * bytes) and IAPREFIX (25), and the options nested in those. */
static int walk_other_ia(const uint8_t *p, size_t len)
{
    size_t i = 0;
    struct opt o;
    int r;
    while ((r = next_opt(p, len, &i, &o)) == 1) {
        if (o.code == VN_D6O_STATUS_CODE && o.len < 2)
            return -1;
        size_t fixed = o.code == VN_D6O_IAADDR ? 24 : o.code == VN_D6O_IAPREFIX ? 25 : 0;
        if (fixed && (o.len < fixed || walk_bounded(o.v + fixed, o.len - fixed) < 0))
            return -1;
    }
    return r;
}

/* An IA_TA's data (IAID, options) or an IA_PD's (IAID, T1, T2, options):
 * its kind and IAID are kept unless its IAID repeats one of its kind or
 * the table is full (vn_dhcp6_parse trims it to the room the IA_NAs leave). */
static int parse_other_ia(uint16_t code, const uint8_t *p, size_t len, struct vn_dhcp6_msg *m)
{
    size_t fixed = code == VN_D6O_IA_TA ? 4 : 12;
    if (len < fixed)
        return -1;
    m->has_other_ia = true;
    uint32_t iaid = vn_get_be32(p);
    bool dup = false;
    for (unsigned k = 0; k < m->nother; k++)
        dup |= m->other[k].code == code && m->other[k].iaid == iaid;
    if (dup || m->nother == VN_DHCP6_MAX_IA) {
        if (m->ia_dropped < UINT16_MAX)
            m->ia_dropped++;
    } else {
        m->other[m->nother++] = (struct vn_dhcp6_other_ia){ code, iaid };
    }
    return walk_other_ia(p + fixed, len - fixed);
}

int vn_dhcp6_parse(const uint8_t *p, size_t len, struct vn_dhcp6_msg *m)
{
    memset(m, 0, sizeof *m);
    if (len < VN_DHCP6_HDR)
        return -1;
    m->type = p[0];
    m->xid = (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    if (m->type == VN_DHCP6_RELAY_FORW || m->type == VN_DHCP6_RELAY_REPL)
        return 0; /* another layout (hop count, link and peer address); never read */
    const uint8_t *q = p + VN_DHCP6_HDR;
    size_t ql = len - VN_DHCP6_HDR, i = 0;
    struct opt o;
    int r;
    while ((r = next_opt(q, ql, &i, &o)) == 1) {
        switch (o.code) {
        case VN_D6O_CLIENTID:
        case VN_D6O_SERVERID: {
            if (o.len < VN_DHCP6_DUID_MIN || o.len > VN_DHCP6_DUID_MAX)
                return -1;
            bool cl = o.code == VN_D6O_CLIENTID;
            bool *has = cl ? &m->has_clientid : &m->has_serverid;
            if (*has)
                break;
            *has = true;
            memcpy(cl ? m->clientid : m->serverid, o.v, o.len);
            *(cl ? &m->clientid_len : &m->serverid_len) = (uint8_t)o.len;
            break;
        }
        case VN_D6O_IA_NA:
            if (parse_ia_na(o.v, o.len, m))
                return -1;
            break;
        case VN_D6O_IA_TA:
        case VN_D6O_IA_PD:
            if (parse_other_ia(o.code, o.v, o.len, m))
                return -1;
            break;
        case VN_D6O_ORO:
            if (o.len % 2)
                return -1;
            for (size_t k = 0; k + 1 < o.len && m->noro < VN_DHCP6_MAX_ORO; k += 2)
                m->oro[m->noro++] = vn_get_be16(o.v + k);
            break;
        case VN_D6O_ELAPSED_TIME:
            if (o.len != 2)
                return -1;
            if (!m->has_elapsed) {
                m->has_elapsed = true;
                m->elapsed = vn_get_be16(o.v);
            }
            break;
        case VN_D6O_RAPID_COMMIT:
            if (o.len != 0)
                return -1;
            m->rapid_commit = true;
            break;
        case VN_D6O_STATUS_CODE:
            if (o.len < 2)
                return -1;
            break;
        default:
            break; /* unknown options are ignored (RFC 8415 16) */
        }
    }
    /* At most VN_DHCP6_MAX_IA IAs in all, the IA_NAs (which the server
     * serves) before the others, wherever they stood in the message. */
    if (m->nia + m->nother > VN_DHCP6_MAX_IA) {
        unsigned over = m->nia + m->nother - VN_DHCP6_MAX_IA;
        m->nother = (uint8_t)(m->nother - over);
        m->ia_dropped = (uint16_t)VN_MIN((unsigned)UINT16_MAX, m->ia_dropped + over);
    }
    return r;
}

bool vn_dhcp6_wants(const struct vn_dhcp6_msg *m, uint16_t code)
{
    for (unsigned i = 0; i < m->noro; i++)
        if (m->oro[i] == code)
            return true;
    return false;
}

int vn_dhcp6_duid_mac(const uint8_t *duid, size_t len, uint8_t mac[6])
{
    if (len < 4 || vn_get_be16(duid + 2) != 1)
        return -1;
    uint16_t type = vn_get_be16(duid);
    if (type == VN_DUID_LL && len == 10) {
        memcpy(mac, duid + 4, 6);
        return 0;
    }
    if (type == VN_DUID_LLT && len == 14) {
        memcpy(mac, duid + 8, 6);
        return 0;
    }
    return -1;
}

void vn_dhcp6_out_init(struct vn_dhcp6_out *o, uint8_t *buf, size_t cap, uint8_t type,
                       uint32_t xid)
{
    o->buf = buf;
    o->cap = cap;
    o->overflow = false;
    buf[0] = type;
    buf[1] = (uint8_t)(xid >> 16);
    buf[2] = (uint8_t)(xid >> 8);
    buf[3] = (uint8_t)xid;
    o->len = VN_DHCP6_HDR;
}

void vn_dhcp6_out_opt(struct vn_dhcp6_out *o, uint16_t code, const void *data, size_t len)
{
    if (len > UINT16_MAX || o->cap - o->len < 4 + len) {
        o->overflow = true;
        return;
    }
    vn_put_be16(o->buf + o->len, code);
    vn_put_be16(o->buf + o->len + 2, (uint16_t)len);
    if (len)
        memcpy(o->buf + o->len + 4, data, len);
    o->len += 4 + len;
}

size_t vn_dhcp6_out_begin(struct vn_dhcp6_out *o, uint16_t code, const void *fixed, size_t hlen)
{
    size_t off = o->len;
    vn_dhcp6_out_opt(o, code, fixed, hlen);
    return o->len == off ? VN_DHCP6_NO_OPT : off;
}

void vn_dhcp6_out_end(struct vn_dhcp6_out *o, size_t off)
{
    if (off == VN_DHCP6_NO_OPT || off + 4 > o->len)
        return;
    size_t l = o->len - off - 4;
    if (l > UINT16_MAX) { /* cannot happen with a cap under 64 KiB; keep it well-formed */
        o->len = off;
        o->overflow = true;
        return;
    }
    vn_put_be16(o->buf + off + 2, (uint16_t)l);
}

void vn_dhcp6_out_status(struct vn_dhcp6_out *o, uint16_t code, const char *msg)
{
    uint8_t b[2 + 128];
    size_t n = msg ? strnlen(msg, 128) : 0;
    vn_put_be16(b, code);
    if (n)
        memcpy(b + 2, msg, n);
    vn_dhcp6_out_opt(o, VN_D6O_STATUS_CODE, b, 2 + n);
}

void vn_dhcp6_out_ia_na(struct vn_dhcp6_out *o, uint32_t iaid, uint32_t t1, uint32_t t2,
                        const uint8_t *addr, uint32_t preferred, uint32_t valid, int status,
                        const char *msg)
{
    uint8_t h[12];
    vn_put_be32(h, iaid);
    vn_put_be32(h + 4, t1);
    vn_put_be32(h + 8, t2);
    size_t save = o->len;
    bool before = o->overflow;
    o->overflow = false;
    size_t ia = vn_dhcp6_out_begin(o, VN_D6O_IA_NA, h, sizeof h);
    if (ia == VN_DHCP6_NO_OPT) {
        o->overflow = true;
        return;
    }
    if (addr) {
        uint8_t a[24];
        memcpy(a, addr, 16);
        vn_put_be32(a + 16, preferred);
        vn_put_be32(a + 20, valid);
        vn_dhcp6_out_opt(o, VN_D6O_IAADDR, a, sizeof a);
    }
    if (status >= 0)
        vn_dhcp6_out_status(o, (uint16_t)status, msg);
    if (o->overflow) /* an IA without what it says is worse than none */
        o->len = save;
    else
        vn_dhcp6_out_end(o, ia);
    o->overflow |= before;
}

void vn_dhcp6_out_ia_status(struct vn_dhcp6_out *o, uint16_t code, uint32_t iaid, uint16_t status,
                            const char *msg)
{
    uint8_t h[12] = { 0 }; /* IAID, then T1 and T2 zero (IA_NA, IA_PD) */
    vn_put_be32(h, iaid);
    size_t save = o->len;
    bool before = o->overflow;
    o->overflow = false;
    size_t ia = vn_dhcp6_out_begin(o, code, h, code == VN_D6O_IA_TA ? 4 : sizeof h);
    if (ia != VN_DHCP6_NO_OPT)
        vn_dhcp6_out_status(o, status, msg);
    if (o->overflow) /* an IA without its status is worse than none */
        o->len = save;
    else
        vn_dhcp6_out_end(o, ia);
    o->overflow |= before;
}

void vn_dhcp6_out_domain_list(struct vn_dhcp6_out *o, const char *domain)
{
    uint8_t b[256];
    int n = domain && domain[0] ? vn_dns_name_from_text(domain, b, sizeof b) : -1;
    if (n > 0)
        vn_dhcp6_out_opt(o, VN_D6O_DOMAIN_LIST, b, (size_t)n);
}
