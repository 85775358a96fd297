/* WireGuard's configuration protocol: parser, applier and printer. See
 * uapi.h for the theory of operation. */
#include "uapi.h"

#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- output ---- */

struct obuf {
    char *b;
    size_t len, cap;
    bool oom;
};

static void outf(struct obuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void outf(struct obuf *o, const char *fmt, ...)
{
    if (o->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->b ? o->b + o->len : NULL, o->b ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->oom = true;
            return;
        }
        if (o->b && (size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t want = o->len + (size_t)n + 1, cap = o->cap ? o->cap : 1024;
        while (cap < want)
            cap *= 2;
        char *nb = realloc(o->b, cap);
        if (!nb) {
            o->oom = true;
            return;
        }
        o->b = nb;
        o->cap = cap;
    }
}

/* The buffer's text (NUL-terminated) and length, or NULL (freed) on OOM. */
static char *ofinish(struct obuf *o, size_t *len)
{
    if (o->oom || !o->b) {
        if (o->b)
            vn_wipe(o->b, o->cap);
        free(o->b);
        return NULL;
    }
    *len = o->len;
    return o->b;
}

static void key_hex(char out[2 * VN_KEY_LEN + 1], const uint8_t k[VN_KEY_LEN])
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < VN_KEY_LEN; i++) {
        out[2 * i] = digits[k[i] >> 4];
        out[2 * i + 1] = digits[k[i] & 15];
    }
    out[2 * VN_KEY_LEN] = 0;
}

static bool all_zero(const uint8_t *k, size_t n)
{
    return vn_ct_is_zero(k, n);
}

/* ---- get ---- */

static void print_peer(struct obuf *o, struct vn_vpn_dev *d, const struct vn_vpn_peer *p)
{
    char hex[2 * VN_KEY_LEN + 1], a[VN_ADDR_STRLEN];
    key_hex(hex, p->remote.pub);
    outf(o, "public_key=%s\n", hex);
    if (!all_zero(p->remote.psk, VN_KEY_LEN)) {
        key_hex(hex, p->remote.psk);
        outf(o, "preshared_key=%s\n", hex);
        vn_wipe(hex, sizeof hex);
    }
    outf(o, "protocol_version=1\n");
    if (p->endpoint.ip.family == AF_INET)
        outf(o, "endpoint=%s:%u\n", vn_addr_str(&p->endpoint.ip, a, sizeof a), p->endpoint.port);
    else if (p->endpoint.ip.family == AF_INET6)
        outf(o, "endpoint=[%s]:%u\n", vn_addr_str(&p->endpoint.ip, a, sizeof a),
             p->endpoint.port);
    outf(o, "last_handshake_time_sec=%llu\nlast_handshake_time_nsec=%u\n",
         (unsigned long long)p->last_hs_sec, (unsigned)p->last_hs_nsec);
    outf(o, "tx_bytes=%llu\nrx_bytes=%llu\n", (unsigned long long)p->st.tx_bytes,
         (unsigned long long)p->st.rx_bytes);
    outf(o, "persistent_keepalive_interval=%u\n", p->keepalive_s);
    uint32_t cur = 0;
    struct vn_addr pa;
    unsigned pl;
    while (vn_allowed_next(&d->allowed, p->id, &cur, &pa, &pl))
        outf(o, "allowed_ip=%s/%u\n", vn_addr_str(&pa, a, sizeof a), pl);
}

char *vn_uapi_get(struct vn_vpn_dev *d, uint16_t listen_port, size_t *len)
{
    struct obuf o = { 0 };
    char hex[2 * VN_KEY_LEN + 1];
    key_hex(hex, d->local.priv);
    outf(&o, "private_key=%s\nlisten_port=%u\n", hex, listen_port);
    vn_wipe(hex, sizeof hex);
    for (unsigned i = 0; i < d->max_peers; i++)
        if (d->peers[i])
            print_peer(&o, d, d->peers[i]);
    outf(&o, "errno=0\n\n");
    return ofinish(&o, len);
}

/* ---- parsing ---- */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return EINVAL;
}

/* v made safe for a log line: at most 48 bytes, anything but printable
 * ASCII (and quotes, backslashes) shown as '?'. Returns buf. */
static const char *shown(const char *v, char buf[49])
{
    size_t i = 0;
    for (; v[i] && i < 48; i++) {
        unsigned char c = (unsigned char)v[i];
        buf[i] = c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    buf[i] = 0;
    return buf;
}

/* A key in exactly 64 hex digits. Returns 0 or -1. */
static int parse_hex_key(const char *v, uint8_t out[VN_KEY_LEN])
{
    if (strlen(v) != 2 * VN_KEY_LEN)
        return -1;
    for (unsigned i = 0; i < VN_KEY_LEN; i++) {
        int hi = vn_hexval(v[2 * i]), lo = vn_hexval(v[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* A decimal number of 1 to 10 digits, at most max. Returns 0 or -1. */
static int parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 10)
        return -1;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    if (x > max)
        return -1;
    *out = x;
    return 0;
}

/* An IPv4-mapped IPv6 address becomes IPv4 (the socket sees such peers so). */
static void unmap(struct vn_addr *a)
{
    static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (a->family == AF_INET6 && !memcmp(a->a, mapped, 12)) {
        memmove(a->a, a->a + 12, 4);
        memset(a->a + 4, 0, 12);
        a->family = AF_INET;
    }
}

/* "A.B.C.D:PORT" or "[V6]:PORT", numeric, port 1-65535. Returns 0 or -1. */
static int parse_endpoint(const char *v, struct vn_vpn_endpoint *ep)
{
    char host[INET6_ADDRSTRLEN];
    const char *port;
    size_t hl;
    int fam;
    if (v[0] == '[') {
        const char *e = strchr(v, ']');
        if (!e || e[1] != ':')
            return -1;
        hl = (size_t)(e - v - 1);
        v++;
        port = e + 2;
        fam = AF_INET6;
    } else {
        const char *c = strchr(v, ':');
        if (!c || strchr(c + 1, ':'))
            return -1;
        hl = (size_t)(c - v);
        port = c + 1;
        fam = AF_INET;
    }
    if (hl == 0 || hl >= sizeof host)
        return -1;
    memcpy(host, v, hl);
    host[hl] = 0;
    uint64_t pn;
    memset(ep, 0, sizeof *ep);
    if (inet_pton(fam, host, ep->ip.a) != 1 || parse_uint(port, 65535, &pn) || pn == 0)
        return -1;
    ep->ip.family = (uint8_t)fam;
    ep->port = (uint16_t)pn;
    unmap(&ep->ip);
    return 0;
}

/* "ADDR/LEN" (the length required), host bits cleared. Returns 0 or -1. */
static int parse_prefix(const char *v, struct vn_uapi_prefix *out)
{
    const char *slash = strchr(v, '/');
    char host[INET6_ADDRSTRLEN];
    if (!slash || (size_t)(slash - v) >= sizeof host || slash == v)
        return -1;
    memcpy(host, v, (size_t)(slash - v));
    host[slash - v] = 0;
    struct vn_addr a = { 0 };
    int fam = strchr(host, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(fam, host, a.a) != 1)
        return -1;
    a.family = (uint8_t)fam;
    uint64_t len;
    if (parse_uint(slash + 1, vn_addr_bits(&a), &len))
        return -1;
    out->prefix = vn_addr_masked(&a, (unsigned)len);
    out->len = (uint8_t)len;
    return 0;
}

static int grow(void **arr, unsigned *cap, unsigned n, size_t elem)
{
    if (n < *cap)
        return 0;
    unsigned nc = *cap ? 2 * *cap : 8;
    void *na = realloc(*arr, (size_t)nc * elem);
    if (!na)
        return -1;
    *arr = na;
    *cap = nc;
    return 0;
}

void vn_uapi_set_free(struct vn_uapi_set *s)
{
    if (s->peers)
        vn_wipe(s->peers, (size_t)s->peers_cap * sizeof *s->peers);
    free(s->peers);
    free(s->pfx);
    vn_wipe(s, sizeof *s);
}

/* One key=value line (key, value NUL-terminated) into s. Returns 0,
 * EINVAL (reason in err) or ENOMEM. */
static int set_line(struct vn_uapi_set *s, const char *k, const char *v, char *err,
                    size_t errlen)
{
    struct vn_uapi_peer_op *op = s->npeers ? &s->peers[s->npeers - 1] : NULL;
    uint64_t x;
    char sb[49];
    if (!strcmp(k, "public_key")) {
        if (grow((void **)&s->peers, &s->peers_cap, s->npeers, sizeof *s->peers))
            return ENOMEM;
        op = &s->peers[s->npeers];
        memset(op, 0, sizeof *op);
        if (parse_hex_key(v, op->pub))
            return fail(err, errlen, "public_key: not 64 hex digits");
        op->first = s->npfx;
        s->npeers++;
        return 0;
    }
    if (!op) { /* the device's keys */
        if (!strcmp(k, "private_key")) {
            if (parse_hex_key(v, s->priv))
                return fail(err, errlen, "private_key: not 64 hex digits");
            s->has_priv = true;
        } else if (!strcmp(k, "listen_port")) {
            if (parse_uint(v, 65535, &x))
                return fail(err, errlen, "listen_port: not a number 0-65535");
            s->port = (uint16_t)x;
            s->has_port = true;
        } else if (!strcmp(k, "fwmark")) {
            if (v[0] && parse_uint(v, UINT32_MAX, &x))
                return fail(err, errlen, "fwmark: not a 32-bit number");
            s->fwmark = v[0] ? (uint32_t)x : 0;
            s->has_fwmark = true;
        } else if (!strcmp(k, "replace_peers")) {
            if (strcmp(v, "true"))
                return fail(err, errlen, "replace_peers: only 'true'");
            s->replace_peers = true;
        } else {
            return fail(err, errlen, "'%s' is not a device key (private_key, listen_port, "
                                     "fwmark, replace_peers, public_key)", shown(k, sb));
        }
        return 0;
    }
    if (!strcmp(k, "remove") || !strcmp(k, "update_only") || !strcmp(k, "replace_allowed_ips")) {
        if (strcmp(v, "true"))
            return fail(err, errlen, "%s: only 'true'", k);
        if (!strcmp(k, "remove"))
            op->remove = true;
        else if (!strcmp(k, "update_only"))
            op->update_only = true;
        else
            op->replace_allowed = true;
    } else if (!strcmp(k, "preshared_key")) {
        if (parse_hex_key(v, op->psk))
            return fail(err, errlen, "preshared_key: not 64 hex digits");
        op->has_psk = true;
    } else if (!strcmp(k, "endpoint")) {
        if (parse_endpoint(v, &op->endpoint))
            return fail(err, errlen, "endpoint '%s': not A.B.C.D:PORT or [IPV6]:PORT "
                                     "(numeric)", shown(v, sb));
        op->has_endpoint = true;
    } else if (!strcmp(k, "persistent_keepalive_interval")) {
        if (parse_uint(v, 65535, &x))
            return fail(err, errlen, "persistent_keepalive_interval: not a number 0-65535");
        op->keepalive = (uint16_t)x;
        op->has_keepalive = true;
    } else if (!strcmp(k, "allowed_ip")) {
        if (op->nallowed >= VN_VPN_ALLOWED_PER_PEER)
            return fail(err, errlen, "allowed_ip: at most %u per peer", VN_VPN_ALLOWED_PER_PEER);
        if (grow((void **)&s->pfx, &s->pfx_cap, s->npfx, sizeof *s->pfx))
            return ENOMEM;
        if (parse_prefix(v, &s->pfx[s->npfx]))
            return fail(err, errlen, "allowed_ip '%s': not ADDR/LEN", shown(v, sb));
        s->npfx++;
        op->nallowed++;
    } else if (!strcmp(k, "protocol_version")) {
        if (strcmp(v, "1"))
            return fail(err, errlen, "protocol_version: only 1");
    } else {
        return fail(err, errlen, "'%s' is not a peer key", shown(k, sb));
    }
    return 0;
}

int vn_uapi_parse_set(const char *body, size_t len, struct vn_uapi_set *s, char *err,
                      size_t errlen)
{
    memset(s, 0, sizeof *s);
    err[0] = 0;
    if (len > VN_UAPI_REQ_MAX)
        return fail(err, errlen, "request too long");
    size_t off = 0;
    char line[VN_UAPI_LINE_MAX];
    while (off < len) {
        const char *p = body + off;
        const char *nl = memchr(p, '\n', len - off);
        if (!nl)
            return fail(err, errlen, "a line without its newline");
        size_t ll = (size_t)(nl - p);
        if (ll + 1 > VN_UAPI_LINE_MAX)
            return fail(err, errlen, "a line longer than %u bytes", VN_UAPI_LINE_MAX);
        if (ll == 0)
            return fail(err, errlen, "an empty line inside the request");
        if (memchr(p, 0, ll))
            return fail(err, errlen, "a NUL byte");
        memcpy(line, p, ll);
        line[ll] = 0;
        off += ll + 1;
        char *eq = strchr(line, '=');
        if (!eq || eq == line) {
            vn_wipe(line, sizeof line);
            return fail(err, errlen, "a line that is not key=value");
        }
        *eq = 0;
        int r = set_line(s, line, eq + 1, err, errlen);
        vn_wipe(line, sizeof line);
        if (r)
            return r;
    }
    return 0;
}

/* ---- applying ---- */

/* The peer holding exactly prefix m/len (host bits clear), or -1. */
static int exact_owner(const struct vn_allowed *t, const struct vn_addr *m, unsigned len)
{
    uint32_t i = t->root[m->family == AF_INET6];
    while (i != VN_ALLOWED_NIL) {
        const struct vn_allowed_node *n = &t->nodes[i];
        if (n->bits > len)
            return -1;
        struct vn_addr k = vn_addr_masked(m, n->bits);
        if (memcmp(k.a, n->key, 16))
            return -1;
        if (n->bits == len)
            return n->peer == VN_ALLOWED_NONE ? -1 : n->peer;
        i = n->child[(m->a[n->bits >> 3] >> (7 - (n->bits & 7))) & 1];
    }
    return -1;
}

static bool has_prefix(const struct vn_uapi_prefix *l, unsigned n, const struct vn_uapi_prefix *x)
{
    for (unsigned i = 0; i < n; i++)
        if (l[i].len == x->len && vn_addr_eq(&l[i].prefix, &x->prefix))
            return true;
    return false;
}

/* Append x to l (n entries, room for max) unless listed. Returns -1 when full. */
static int add_unique(struct vn_uapi_prefix *l, unsigned *n, unsigned max,
                      const struct vn_uapi_prefix *x)
{
    if (has_prefix(l, *n, x))
        return 0;
    if (*n >= max)
        return -1;
    l[(*n)++] = *x;
    return 0;
}

/* Check that the prefixes of fin not in old may become peer self's: not
 * the network's, not another peer's. Returns 0 or an errno with err. */
static int check_new_prefixes(struct vn_vpn_dev *d, const struct vn_uapi_hooks *h, int self,
                              const struct vn_uapi_prefix *fin, unsigned nfin,
                              const struct vn_uapi_prefix *old, unsigned nold, char *err,
                              size_t errlen)
{
    char a[VN_ADDR_STRLEN], why[160];
    for (unsigned i = 0; i < nfin; i++) {
        if (has_prefix(old, nold, &fin[i]))
            continue;
        vn_addr_str(&fin[i].prefix, a, sizeof a);
        int o = exact_owner(&d->allowed, &fin[i].prefix, fin[i].len);
        if (o >= 0 && o != self) {
            snprintf(err, errlen, "allowed_ip %s/%u belongs to peer '%s'", a, fin[i].len,
                     d->peers[o] ? d->peers[o]->name : "?");
            return EADDRINUSE;
        }
        why[0] = 0;
        if (h && h->check_prefix &&
            h->check_prefix(h->ctx, &fin[i].prefix, fin[i].len, why, sizeof why) < 0) {
            snprintf(err, errlen, "allowed_ip %s/%u: %s", a, fin[i].len, why);
            return EINVAL;
        }
    }
    return 0;
}

/* The smallest "peerN" no peer is called. */
static void free_name(struct vn_vpn_dev *d, char *buf, size_t n)
{
    for (unsigned i = 1;; i++) {
        snprintf(buf, n, "peer%u", i);
        if (!vn_vpn_peer_by_name(d, buf))
            return;
    }
}

static int create_peer(struct vn_vpn_dev *d, const struct vn_uapi_set *s,
                       const struct vn_uapi_peer_op *op, const struct vn_uapi_hooks *h,
                       char *err, size_t errlen)
{
    struct vn_uapi_prefix fin[VN_VPN_ALLOWED_PER_PEER];
    unsigned nfin = 0;
    for (unsigned i = 0; i < op->nallowed; i++)
        add_unique(fin, &nfin, VN_VPN_ALLOWED_PER_PEER, &s->pfx[op->first + i]);
    if (!memcmp(op->pub, d->local.pub, VN_KEY_LEN)) {
        snprintf(err, errlen, "the peer's public key is the device's own");
        return EINVAL;
    }
    if (d->npeers >= d->max_peers) {
        snprintf(err, errlen, "the peer table is full (max_peers %u)", d->max_peers);
        return ENOSPC;
    }
    if (d->allowed.count + nfin > d->allowed.max) {
        snprintf(err, errlen, "the allowed IPs table is full");
        return ENOSPC;
    }
    int r = check_new_prefixes(d, h, -1, fin, nfin, NULL, 0, err, errlen);
    if (r)
        return r;
    struct vn_addr al[VN_VPN_ALLOWED_PER_PEER];
    uint8_t ll[VN_VPN_ALLOWED_PER_PEER];
    for (unsigned i = 0; i < nfin; i++) {
        al[i] = fin[i].prefix;
        ll[i] = fin[i].len;
    }
    char name[VN_VPN_NAME_MAX];
    free_name(d, name, sizeof name);
    const uint8_t *psk = op->has_psk && !all_zero(op->psk, VN_KEY_LEN) ? op->psk : NULL;
    const struct vn_vpn_endpoint *ep = op->has_endpoint ? &op->endpoint : NULL;
    uint16_t ka = op->has_keepalive ? op->keepalive : 0;
    char e[160] = "";
    struct vn_vpn_peer *p = h && h->add
        ? h->add(h->ctx, name, op->pub, psk, ep, ka, al, ll, nfin, e, sizeof e)
        : vn_vpn_peer_add(d, name, op->pub, psk, ep, ka, al, ll, nfin, e, sizeof e);
    if (!p) {
        snprintf(err, errlen, "cannot add the peer: %s", e);
        return EINVAL;
    }
    return 0;
}

/* Change peer p as op says. fresh: the request replaces every peer and
 * this is p's first mention, so p is set as if made anew (allowed IPs,
 * preshared key and keepalive only those given) but keeps its name,
 * counters, sessions and learned endpoint. */
static int update_peer(struct vn_vpn_dev *d, const struct vn_uapi_set *s,
                       const struct vn_uapi_peer_op *op, struct vn_vpn_peer *p, bool fresh,
                       char *err, size_t errlen, const struct vn_uapi_hooks *h)
{
    bool replace = op->replace_allowed || fresh;
    struct vn_uapi_prefix old[VN_VPN_ALLOWED_PER_PEER], fin[VN_VPN_ALLOWED_PER_PEER];
    unsigned nold = 0, nfin = 0;
    uint32_t cur = 0;
    struct vn_addr pa;
    unsigned pl;
    while (nold < VN_VPN_ALLOWED_PER_PEER && vn_allowed_next(&d->allowed, p->id, &cur, &pa, &pl))
        old[nold++] = (struct vn_uapi_prefix){ pa, (uint8_t)pl };
    if (!replace)
        for (unsigned i = 0; i < nold; i++)
            fin[nfin++] = old[i];
    for (unsigned i = 0; i < op->nallowed; i++)
        if (add_unique(fin, &nfin, VN_VPN_ALLOWED_PER_PEER, &s->pfx[op->first + i]) < 0) {
            snprintf(err, errlen, "at most %u allowed IPs per peer", VN_VPN_ALLOWED_PER_PEER);
            return ENOSPC;
        }
    if (d->allowed.count - nold + nfin > d->allowed.max) {
        snprintf(err, errlen, "the allowed IPs table is full");
        return ENOSPC;
    }
    int r = check_new_prefixes(d, h, p->id, fin, nfin, old, nold, err, errlen);
    if (r)
        return r;
    /* every check passed: change the peer */
    if (replace || op->nallowed) {
        vn_allowed_remove_peer(&d->allowed, p->id);
        for (unsigned i = 0; i < nfin; i++)
            if (vn_allowed_insert(&d->allowed, &fin[i].prefix, fin[i].len, p->id) < 0) {
                /* cannot happen after the checks; put the old list back */
                vn_allowed_remove_peer(&d->allowed, p->id);
                for (unsigned j = 0; j < nold; j++)
                    vn_allowed_insert(&d->allowed, &old[j].prefix, old[j].len, p->id);
                snprintf(err, errlen, "the allowed IPs table refused a prefix");
                return ENOSPC;
            }
    }
    if (op->has_psk)
        memcpy(p->remote.psk, op->psk, VN_KEY_LEN);
    else if (fresh)
        memset(p->remote.psk, 0, VN_KEY_LEN);
    bool kick = false;
    if (op->has_endpoint) {
        kick = !p->endpoint.ip.family;
        p->endpoint = op->endpoint;
    }
    if (op->has_keepalive || fresh) {
        uint16_t ka = op->has_keepalive ? op->keepalive : 0;
        kick |= ka != p->keepalive_s;
        p->keepalive_s = ka;
        if (!ka)
            p->t_persistent = 0;
    }
    /* a keepalive newly on (or an endpoint newly known) goes at once */
    if (kick && p->keepalive_s && p->endpoint.ip.family)
        p->t_persistent = 1;
    return 0;
}

/* Whether one of the first n peer entries of s names pub. */
static bool mentioned(const struct vn_uapi_set *s, const uint8_t pub[VN_KEY_LEN], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!memcmp(s->peers[i].pub, pub, VN_KEY_LEN))
            return true;
    return false;
}

/* Whether a request with replace_peers keeps peer pub: its first entry
 * neither removes it nor is update_only (which skips a peer that is gone,
 * as all are after WireGuard's replace_peers). */
static bool kept(const struct vn_uapi_set *s, const uint8_t pub[VN_KEY_LEN], unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (!memcmp(s->peers[i].pub, pub, VN_KEY_LEN))
            return !s->peers[i].remove && !s->peers[i].update_only;
    return false;
}

int vn_uapi_apply(struct vn_vpn_dev *d, uint16_t listen_port, const struct vn_uapi_set *s,
                  const struct vn_uapi_hooks *h, char *err, size_t errlen)
{
    err[0] = 0;
    if (s->has_priv) {
        uint8_t k[VN_KEY_LEN];
        memcpy(k, s->priv, VN_KEY_LEN);
        vn_x25519_clamp(k);
        bool same = vn_ct_equal(k, d->local.priv, VN_KEY_LEN);
        vn_wipe(k, sizeof k);
        if (!same) {
            snprintf(err, errlen, "private_key cannot change at run time (vpn.private_key_file)");
            return EOPNOTSUPP;
        }
    }
    if (s->has_port && s->port != listen_port) {
        snprintf(err, errlen, "listen_port cannot change at run time (vpn.listen, %u)",
                 listen_port);
        return EOPNOTSUPP;
    }
    if (s->has_fwmark && s->fwmark) {
        snprintf(err, errlen, "fwmark is not supported");
        return EOPNOTSUPP;
    }
    int r = 0;
    bool changed = false;
    /* replace_peers: those the request does not keep go first (a kept one
     * is set anew at its first mention, see update_peer) */
    if (s->replace_peers)
        for (unsigned i = 0; i < d->max_peers; i++)
            if (d->peers[i] && !kept(s, d->peers[i]->remote.pub, s->npeers)) {
                if (h && h->del)
                    h->del(h->ctx, d->peers[i]);
                else
                    vn_vpn_peer_del(d, d->peers[i]);
                changed = true;
            }
    for (unsigned i = 0; i < s->npeers && !r; i++) {
        const struct vn_uapi_peer_op *op = &s->peers[i];
        struct vn_vpn_peer *p = vn_vpn_peer_by_key(d, op->pub);
        bool fresh = s->replace_peers && !mentioned(s, op->pub, i);
        if (op->remove) {
            if (p) {
                if (h && h->del)
                    h->del(h->ctx, p);
                else
                    vn_vpn_peer_del(d, p);
                changed = true;
            }
            continue;
        }
        if (!p && op->update_only)
            continue;
        r = p ? update_peer(d, s, op, p, fresh, err, errlen, h)
              : create_peer(d, s, op, h, err, errlen);
        changed |= r == 0;
    }
    if (changed && h && h->changed)
        h->changed(h->ctx);
    return r;
}

/* ---- requests ---- */

long vn_uapi_request_len(const char *buf, size_t len)
{
    size_t off = 0;
    while (off < len) {
        const char *nl = memchr(buf + off, '\n', len - off);
        size_t ll = nl ? (size_t)(nl - (buf + off)) : len - off;
        if (ll + 1 > VN_UAPI_LINE_MAX || memchr(buf + off, 0, ll))
            return -1;
        if (!nl)
            break;
        off += ll + 1;
        if (ll == 0)
            return off > VN_UAPI_REQ_MAX ? -1 : (long)off;
    }
    return len >= VN_UAPI_REQ_MAX ? -1 : 0;
}

static char *errno_reply(int e, size_t *outlen)
{
    struct obuf o = { 0 };
    outf(&o, "errno=%d\n\n", -e); /* negative, as wg reads it */
    return ofinish(&o, outlen);
}

char *vn_uapi_handle(struct vn_vpn_dev *d, uint16_t listen_port, const struct vn_uapi_hooks *h,
                     const char *req, size_t len, size_t *outlen, bool *close, char *err,
                     size_t errlen)
{
    err[0] = 0;
    *close = false;
    if (len == 7 && !memcmp(req, "get=1\n\n", 7))
        return vn_uapi_get(d, listen_port, outlen);
    if (len >= 7 && !memcmp(req, "set=1\n", 6) && req[len - 1] == '\n' && req[len - 2] == '\n') {
        struct vn_uapi_set s;
        int r = vn_uapi_parse_set(req + 6, len - 7, &s, err, errlen);
        if (!r)
            r = vn_uapi_apply(d, listen_port, &s, h, err, errlen);
        vn_uapi_set_free(&s);
        return errno_reply(r, outlen);
    }
    snprintf(err, errlen, "not a get=1 or set=1 request");
    *close = true;
    return errno_reply(EINVAL, outlen);
}
