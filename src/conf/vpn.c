/* The vpn: block of a network (see vpn.h and struct vn_vpn_conf in config.h).
 *
 * Theory of operation. The vpn.* keys are rows of the network table like
 * any other (schema.c), parsed here; each one marks the block present. A
 * peer is an entry of vpn.peers, kept in an array the config owns and grows
 * as the loader adds entries. Nothing is read from disk while parsing:
 * validation (vn_conf_validate_vpn, run after every network and port is
 * valid, so the subnets and vxlan sockets are known) fills the defaults,
 * reads the private and preshared keys from their files (regular files,
 * no group or other permission bits, one base64 key with white space
 * around it), derives our public key and checks the peers against the
 * network and each other (vn_conf_vpn_check_peer, which run-time adds use
 * too). Keys are wiped when the config is freed (vn_conf_vpn_free). */
#include "vpn.h"
#include "values.h"
#include "core/util.h"
#include "core/wgkey.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AT(item, off) ((void *)((char *)(item) + (off)))

static void mark(struct vn_net_conf *n, struct vn_conf_src src)
{
    if (!n->vpn.enabled) {
        n->vpn.enabled = true;
        n->vpn.src = src;
    }
}

int vn_conf_vpn_p_mark(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst, (void)key, (void)val, (void)err;
    mark(item, src);
    return 0;
}

bool vn_conf_vpn_show(const void *item)
{
    return ((const struct vn_net_conf *)item)->vpn.enabled;
}

/* "ADDR:PORT" or "[V6]:PORT" with a numeric address (no DNS at load); the
 * port may be left out where defport is not 0. */
static int sockaddr_val(struct vn_sockaddr *out, uint16_t defport, const char *key,
                        const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    struct vn_sockaddr a;
    if (vn_sockaddr_parse(val, defport, &a) || !a.port)
        return vn_conf_fail(err, src,
                            "%s: '%s' is not ADDR:PORT or [V6ADDR]:PORT with a numeric address "
                            "(host names are not resolved when the config is loaded)%s",
                            key, val, defport ? "" : "; the port is required");
    *out = a;
    return 0;
}

int vn_conf_vpn_p_listen(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                         const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    mark(n, src);
    if (sockaddr_val(&n->vpn.listen, VN_VPN_DEFAULT_PORT, key, val, src, err))
        return -1;
    n->vpn.listen_src = src;
    return 0;
}

void vn_conf_vpn_pr_listen(const struct vn_conf_key *k, const void *item, const void *dst,
                           FILE *o)
{
    (void)k, (void)item;
    char b[80];
    fprintf(o, "\"%s\"", vn_sockaddr_str(dst, b, sizeof b));
}

int vn_conf_vpn_p_key_file(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                           const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    struct vn_net_conf *n = item;
    mark(n, src);
    if (vn_val_str(dst, k->size, key, val, src, err))
        return -1;
    n->vpn.key_src = src;
    return 0;
}

void vn_conf_vpn_pr_str(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    vn_conf_print_qstr(o, dst);
}

/* "ADDR/LEN" (or a bare address: a host, /32 or /128) into p; with
 * want_net, host bits must be zero (a hint names the prefix meant). */
static int prefix_val(struct vn_vpn_prefix *p, bool want_net, const char *key, const char *val,
                      struct vn_conf_src src, struct vn_conf_err *err)
{
    char a[VN_ADDR_STRLEN + 1];
    const char *slash = strchr(val, '/');
    size_t alen = slash ? (size_t)(slash - val) : strlen(val);
    struct vn_addr x;
    uint64_t len;
    if (alen >= sizeof a)
        return vn_conf_fail(err, src, "%s: '%s' is not an address or prefix (ADDR/LEN)", key, val);
    memcpy(a, val, alen);
    a[alen] = 0;
    if (vn_addr_parse(a, &x))
        return vn_conf_fail(err, src, "%s: '%s' is not an IPv4 or IPv6 address or prefix "
                                      "(ADDR/LEN)", key, val);
    len = vn_addr_bits(&x);
    if (slash && vn_parse_uint(slash + 1, 0, vn_addr_bits(&x), &len))
        return vn_conf_fail(err, src, "%s: '%s': the prefix length must be 0 to %u", key, val,
                            vn_addr_bits(&x));
    struct vn_addr m = vn_addr_masked(&x, (unsigned)len);
    if (want_net && !vn_addr_eq(&m, &x)) {
        char b[VN_ADDR_STRLEN];
        return vn_conf_fail(err, src, "%s: '%s' has host bits set (did you mean %s/%u?)", key,
                            val, vn_addr_str(&m, b, sizeof b), (unsigned)len);
    }
    p->prefix = x;
    p->len = (uint8_t)len;
    return 0;
}

static void prefix_print(const struct vn_vpn_prefix *p, FILE *o)
{
    char b[VN_ADDR_STRLEN];
    fprintf(o, "\"%s/%u\"", vn_addr_str(&p->prefix, b, sizeof b), p->len);
}

int vn_conf_vpn_p_address(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                          const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_net_conf *n = item;
    struct vn_vpn_prefix p;
    mark(n, src);
    if (prefix_val(&p, false, key, val, src, err))
        return -1;
    if (p.len == 0 || p.len == vn_addr_bits(&p.prefix))
        return vn_conf_fail(err, src, "%s: '%s': give the tunnel's subnet with the gateway's "
                                      "address (like 10.99.0.1/24)", key, val);
    struct vn_vpn_prefix *slot = p.prefix.family == AF_INET ? &n->vpn.address : &n->vpn.address6;
    if (slot->prefix.family)
        return vn_conf_fail(err, src, "%s: one IPv4 and one IPv6 address at most (%s is the "
                                      "second %s one)", key, val,
                            p.prefix.family == AF_INET ? "IPv4" : "IPv6");
    *slot = p;
    n->vpn.address_src = src;
    return 0;
}

void vn_conf_vpn_pr_address(const struct vn_conf_key *k, const void *item, const void *dst,
                            FILE *o)
{
    /* the list's i-th element is the i-th address given: IPv4 first */
    const struct vn_net_conf *n = item;
    size_t i = (size_t)((const char *)dst - (const char *)&n->vpn.address) / k->size;
    const struct vn_vpn_prefix *p = &n->vpn.address;
    if (!p->prefix.family || i == 1)
        p = &n->vpn.address6;
    prefix_print(p, o);
}

/* ---- vpn.peers entries ------------------------------------------------------ */

static int p_public_key(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                        const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)dst;
    struct vn_vpn_peer_conf *p = item;
    const char *why = vn_key_from_base64(p->public_key, val);
    if (why)
        return vn_conf_fail(err, src, "%s: not a WireGuard public key: %s", key, why);
    p->key_src = src;
    return 0;
}

static void pr_public_key(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    char b[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(b, dst);
    fprintf(o, "\"%s\"", b);
}

static int p_psk_file(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                      const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    struct vn_vpn_peer_conf *p = item;
    if (vn_val_str(dst, k->size, key, val, src, err))
        return -1;
    p->psk_src = src;
    return 0;
}

static int p_allowed(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k;
    struct vn_vpn_peer_conf *p = item;
    struct vn_vpn_prefix *x = dst;
    if (prefix_val(x, true, key, val, src, err))
        return -1;
    for (unsigned i = 0; i < p->nallowed; i++)
        if (p->allowed[i].len == x->len && vn_addr_eq(&p->allowed[i].prefix, &x->prefix))
            return vn_conf_fail(err, src, "%s: '%s' is listed twice", key, val);
    p->allowed_src[x - p->allowed] = src;
    return 0;
}

static void pr_allowed(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o)
{
    (void)k, (void)item;
    prefix_print(dst, o);
}

static int p_endpoint(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                      const char *val, struct vn_conf_src src, struct vn_conf_err *err)
{
    (void)k, (void)item;
    return sockaddr_val(dst, 0, key, val, src, err);
}

#define FSIZE(S, m) sizeof(((S *)0)->m)
#define PF(m) .off = offsetof(struct vn_vpn_peer_conf, m), .size = FSIZE(struct vn_vpn_peer_conf, m)
static const struct vn_conf_key peer_keys[] = {
    { .name = "name", .type = VN_CT_NAME, PF(name), .what = "peer", .flags = VN_KF_ALWAYS,
      .doc_type = "name", .help = "the peer's name in vnetctl, ACLs and logs (default peerN, "
                                  "N its place in the list from 1)" },
    { .name = "public_key", .type = VN_CT_CUSTOM, PF(public_key), .parse = p_public_key,
      .print = pr_public_key, .set_off = offsetof(struct vn_vpn_peer_conf, has_public_key),
      .flags = VN_KF_REQUIRED, .doc_type = "base64 key",
      .help = "the peer's public key, as `wg pubkey` prints it" },
    { .name = "preshared_key_file", .type = VN_CT_CUSTOM, PF(psk_file), .parse = p_psk_file,
      .print = vn_conf_vpn_pr_str, .doc_type = "path",
      .help = "a file holding a key from `wg genpsk` (mode 0600 or stricter)" },
    { .name = "allowed_ips", .type = VN_CT_CUSTOM, .shape = VN_CS_LIST, PF(allowed[0]),
      .count_off = offsetof(struct vn_vpn_peer_conf, nallowed), .max = VN_VPN_MAX_ALLOWED,
      .parse = p_allowed, .print = pr_allowed, .full = "%s: at most %u prefixes",
      .doc_type = "CIDR", .help = "what the peer may send from and is sent to" },
    { .name = "endpoint", .type = VN_CT_CUSTOM, PF(endpoint), .parse = p_endpoint,
      .print = vn_conf_vpn_pr_listen, .doc_type = "`ADDR:PORT`",
      .help = "where the peer is reached (else it connects first)" },
    { .name = "persistent_keepalive", .type = VN_CT_U16, .lo = 0, .hi = 65535, PF(keepalive),
      .help = "seconds between keepalives when idle (0 = off)" },
};
#undef PF

const struct vn_conf_table vn_conf_vpn_peer_table = {
    .scope = "vpn peer", .keys = peer_keys, .nkeys = VN_ARRAY_LEN(peer_keys),
    .unknown = "unknown vpn peer key '%s' (name, public_key, preshared_key_file, allowed_ips, "
               "endpoint, persistent_keepalive)",
};

static void *peer_add(const struct vn_conf_key *k, void *item, struct vn_conf_src src,
                      struct vn_conf_err *err)
{
    struct vn_net_conf *n = item;
    struct vn_vpn_conf *v = &n->vpn;
    mark(n, src);
    if (v->npeers >= k->max) {
        vn_conf_fail(err, src, "vpn.peers: at most %u peers", k->max);
        return NULL;
    }
    /* the array grows by doubling (its size is the power of two at or
     * above npeers); the old one is wiped */
    if (!(v->npeers & (v->npeers - 1))) {
        struct vn_vpn_peer_conf *np = calloc(v->npeers ? 2 * v->npeers : 1, sizeof *np);
        if (!np) {
            vn_conf_fail(err, src, "out of memory");
            return NULL;
        }
        if (v->peers) {
            memcpy(np, v->peers, v->npeers * sizeof *np);
            explicit_bzero(v->peers, v->npeers * sizeof *np);
            free(v->peers);
        }
        v->peers = np;
    }
    struct vn_vpn_peer_conf *p = &v->peers[v->npeers++];
    memset(p, 0, sizeof *p);
    p->src = src;
    vn_conf_table_defaults(&vn_conf_vpn_peer_table, p);
    return p;
}

static unsigned peer_count(const struct vn_conf_key *k, const void *item)
{
    (void)k;
    return ((const struct vn_net_conf *)item)->vpn.npeers;
}

static const void *peer_at(const struct vn_conf_key *k, const void *item, unsigned i)
{
    (void)k;
    return &((const struct vn_net_conf *)item)->vpn.peers[i];
}

/* A peer as one flow mapping. */
static void peer_print(const void *entry, FILE *o)
{
    const struct vn_vpn_peer_conf *p = entry;
    char b[VN_KEY_B64_LEN + 1], s[80];
    vn_key_to_base64(b, p->public_key);
    fprintf(o, "{ name: %s, public_key: \"%s\"", p->name, b);
    if (p->psk_file[0]) {
        fputs(", preshared_key_file: ", o);
        vn_conf_print_qstr(o, p->psk_file);
    }
    fputs(", allowed_ips: [", o);
    for (unsigned i = 0; i < p->nallowed; i++) {
        fputs(i ? ", " : "", o);
        prefix_print(&p->allowed[i], o);
    }
    fputc(']', o);
    if (p->endpoint.ip.family)
        fprintf(o, ", endpoint: \"%s\"", vn_sockaddr_str(&p->endpoint, s, sizeof s));
    if (p->keepalive)
        fprintf(o, ", persistent_keepalive: %u", p->keepalive);
    fputs(" }", o);
}

const struct vn_conf_entries vn_conf_vpn_peer_entries = {
    .add = peer_add, .count = peer_count, .at = peer_at, .print_entry = peer_print,
};

/* ---- validation ---------------------------------------------------------------- */

#define KEY_FILE_MAX 256 /* a key with white space around it, generously */

/* Read the one base64 key of file path into key: a regular file without
 * group or other permission bits. Returns 0, or -1 with err at src naming
 * the file and what is wrong. */
static int read_key_file(uint8_t key[VN_KEY_LEN], const char *path, const char *what,
                         struct vn_conf_src src, struct vn_conf_err *err)
{
    char buf[KEY_FILE_MAX + 1];
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return vn_conf_fail(err, src, "%s '%s': cannot open: %s", what, path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        close(fd);
        return vn_conf_fail(err, src, "%s '%s': not a regular file", what, path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return vn_conf_fail(err, src, "%s '%s': mode %04o lets group or others read or write a "
                                      "secret key; refused (chmod 600 '%s')",
                            what, path, (unsigned)(st.st_mode & 07777), path);
    }
    size_t len = 0;
    while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            explicit_bzero(buf, sizeof buf);
            return vn_conf_fail(err, src, "%s '%s': cannot read: %s", what, path, strerror(e));
        }
        len += (size_t)n;
    }
    close(fd);
    const char *why = len > KEY_FILE_MAX ? "the file is longer than one key"
                                         : vn_key_from_text(key, buf, len);
    explicit_bzero(buf, sizeof buf);
    if (why)
        return vn_conf_fail(err, src, "%s '%s': not a WireGuard key (one base64 key, as `wg "
                                      "genkey` writes it): %s", what, path, why);
    return 0;
}

static bool prefixes_overlap(const struct vn_addr *a, unsigned alen, const struct vn_addr *b,
                             unsigned blen)
{
    unsigned l = VN_MIN(alen, blen);
    struct vn_addr ma = vn_addr_masked(a, l), mb = vn_addr_masked(b, l);
    return a->family == b->family && vn_addr_eq(&ma, &mb);
}

/* Whether prefix/len overlaps one of n's own subnets; names it in buf. */
static bool overlaps_subnet(const struct vn_net_conf *n, const struct vn_addr *x, unsigned len,
                            char *buf, size_t bn)
{
    char a[VN_ADDR_STRLEN];
    if (n->prefix && !n->ipv4_none) {
        struct vn_addr s = vn_addr4(n->subnet);
        if (prefixes_overlap(x, len, &s, n->prefix)) {
            snprintf(buf, bn, "subnet %s/%u", vn_addr_str(&s, a, sizeof a), n->prefix);
            return true;
        }
    }
    if (n->ipv6 && n->subnet6.family == AF_INET6 && prefixes_overlap(x, len, &n->subnet6, 64)) {
        snprintf(buf, bn, "subnet6 %s/64", vn_addr_str(&n->subnet6, a, sizeof a));
        return true;
    }
    return false;
}

int vn_conf_vpn_check_peer(const struct vn_net_conf *n, const struct vn_vpn_peer_conf *p,
                           const struct vn_vpn_peer_conf *others, unsigned nothers,
                           struct vn_conf_err *err)
{
    const struct vn_vpn_conf *v = &n->vpn;
    char a[VN_ADDR_STRLEN], sub[96];
    struct vn_conf_src ks = p->key_src.file || p->key_src.line ? p->key_src : p->src;
    if (!p->has_public_key)
        return vn_conf_fail(err, p->src, "network '%s': vpn peer '%s' needs a public_key",
                            n->name, p->name);
    if (!memcmp(p->public_key, v->public_key, VN_KEY_LEN))
        return vn_conf_fail(err, ks, "network '%s': vpn peer '%s': public_key is this network's "
                                     "own public key (of vpn.private_key_file)", n->name, p->name);
    for (unsigned i = 0; i < nothers; i++) {
        const struct vn_vpn_peer_conf *q = &others[i];
        if (!strcmp(q->name, p->name))
            return vn_conf_fail(err, p->src, "network '%s': vpn peer name '%s' is used twice",
                                n->name, p->name);
        if (!memcmp(q->public_key, p->public_key, VN_KEY_LEN))
            return vn_conf_fail(err, ks, "network '%s': vpn peer '%s' has the public_key of "
                                         "peer '%s'", n->name, p->name, q->name);
    }
    for (unsigned j = 0; j < p->nallowed; j++) {
        const struct vn_vpn_prefix *x = &p->allowed[j];
        struct vn_conf_src as = p->allowed_src[j].file || p->allowed_src[j].line
                                    ? p->allowed_src[j] : p->src;
        if (overlaps_subnet(n, &x->prefix, x->len, sub, sizeof sub))
            return vn_conf_fail(err, as, "network '%s': vpn peer '%s': allowed_ips %s/%u "
                                         "overlaps the network's %s (that is the guests')",
                                n->name, p->name, vn_addr_str(&x->prefix, a, sizeof a), x->len,
                                sub);
        for (unsigned i = 0; i < nothers; i++)
            for (unsigned k = 0; k < others[i].nallowed; k++) {
                const struct vn_vpn_prefix *y = &others[i].allowed[k];
                if (x->len == y->len && vn_addr_eq(&x->prefix, &y->prefix))
                    return vn_conf_fail(err, as, "network '%s': vpn peer '%s': allowed_ips "
                                                 "%s/%u is already peer '%s''s", n->name,
                                        p->name, vn_addr_str(&x->prefix, a, sizeof a), x->len,
                                        others[i].name);
            }
    }
    return 0;
}

/* Whether two UDP sockets would want the same port: the same port and
 * the same address, or either is the wildcard (IPv6's covers IPv4 too). */
static bool udp_clash(const struct vn_sockaddr *a, const struct vn_sockaddr *b)
{
    static const uint8_t zero[16];
    if (a->port != b->port || !a->ip.family || !b->ip.family)
        return false;
    bool aw = !memcmp(a->ip.a, zero, a->ip.family == AF_INET ? 4 : 16);
    bool bw = !memcmp(b->ip.a, zero, b->ip.family == AF_INET ? 4 : 16);
    if (a->ip.family == b->ip.family)
        return aw || bw || vn_addr_eq(&a->ip, &b->ip);
    return (a->ip.family == AF_INET6 && aw) || (b->ip.family == AF_INET6 && bw);
}

static int validate_one(struct vn_config *c, struct vn_net_conf *n, struct vn_conf_err *err)
{
    struct vn_vpn_conf *v = &n->vpn;
    char a[VN_ADDR_STRLEN], s[80], sub[96];
    if (!vn_net_has_gateway(n))
        return vn_conf_fail(err, v->src, "network '%s': vpn needs a gateway (mode nat or "
                                         "host-only, or isolated with a subnet); a %s network "
                                         "has none", n->name, vn_net_mode_name(n->mode));
    if (v->nat && n->mode != VN_MODE_NAT)
        return vn_conf_fail(err, v->src, "network '%s': vpn.nat needs a nat network (this one is "
                                         "%s)", n->name, vn_net_mode_name(n->mode));
    if (!v->listen.ip.family) {
        v->listen.ip = vn_addr4(0);
        v->listen.port = VN_VPN_DEFAULT_PORT;
        v->listen_src = v->src;
    }
    if (!v->private_key_file[0])
        return vn_conf_fail(err, v->src, "network '%s': vpn needs private_key_file (a file "
                                         "holding `wg genkey`'s output, mode 0600)", n->name);
    if (read_key_file(v->private_key, v->private_key_file, "vpn.private_key_file", v->key_src,
                      err))
        return -1;
    if (vn_x25519_pubkey(v->public_key, v->private_key))
        return vn_conf_fail(err, v->key_src, "vpn.private_key_file '%s': cannot derive the "
                                             "public key", v->private_key_file);
    const struct vn_vpn_prefix *ad[2] = { &v->address, &v->address6 };
    for (unsigned i = 0; i < 2; i++)
        if (ad[i]->prefix.family &&
            overlaps_subnet(n, &ad[i]->prefix, ad[i]->len, sub, sizeof sub))
            return vn_conf_fail(err, v->address_src, "network '%s': vpn.address %s/%u overlaps "
                                                     "the network's %s (the tunnel needs a "
                                                     "subnet of its own)", n->name,
                                vn_addr_str(&ad[i]->prefix, a, sizeof a),
                                ad[i]->len, sub);
    if (v->npeers > v->max_peers)
        return vn_conf_fail(err, v->src, "network '%s': %u vpn peers, vpn.max_peers is %u",
                            n->name, v->npeers, v->max_peers);
    for (unsigned i = 0; i < v->npeers; i++) {
        struct vn_vpn_peer_conf *p = &v->peers[i];
        if (!p->name[0])
            snprintf(p->name, sizeof p->name, "peer%u", i + 1);
        if (p->psk_file[0]) {
            if (read_key_file(p->psk, p->psk_file, "preshared_key_file", p->psk_src, err))
                return -1;
            p->has_psk = true;
        }
        if (vn_conf_vpn_check_peer(n, p, v->peers, i, err))
            return -1;
    }
    /* one UDP socket per listen address */
    for (struct vn_net_conf *m = c->nets; m < n; m++)
        if (m->vpn.enabled && udp_clash(&m->vpn.listen, &v->listen))
            return vn_conf_fail(err, v->listen_src, "network '%s': vpn.listen %s: network '%s''s "
                                                    "vpn listens there (%s)", n->name,
                                vn_sockaddr_str(&v->listen, s, sizeof s), m->name,
                                vn_sockaddr_str(&m->vpn.listen, sub, sizeof sub));
    int vx = vn_conf_port_type_find("vxlan");
    for (unsigned i = 0; i < c->nports; i++) {
        const struct vn_port_conf *p = &c->ports[i];
        if (vx >= 0 && p->type == vx && udp_clash(&p->vxlan.local, &v->listen))
            return vn_conf_fail(err, v->listen_src, "network '%s': vpn.listen %s: vxlan port "
                                                    "'%s' uses that UDP port (local %s)",
                                n->name, vn_sockaddr_str(&v->listen, s, sizeof s), p->name,
                                vn_sockaddr_str(&p->vxlan.local, sub, sizeof sub));
    }
    for (struct vn_net_conf *m = c->nets; m < c->nets + c->nnets; m++)
        for (unsigned f = 0; f < m->nforwards; f++)
            if (m->forwards[f].proto == IPPROTO_UDP && udp_clash(&m->forwards[f].host, &v->listen))
                return vn_conf_fail(err, v->listen_src, "network '%s': vpn.listen %s: a udp "
                                                        "forward of network '%s' listens there",
                                    n->name, vn_sockaddr_str(&v->listen, s, sizeof s), m->name);
    return 0;
}

int vn_conf_validate_vpn(struct vn_config *c, struct vn_conf_err *err)
{
    for (unsigned i = 0; i < c->nnets; i++)
        if (c->nets[i].vpn.enabled && validate_one(c, &c->nets[i], err))
            return -1;
    return 0;
}
