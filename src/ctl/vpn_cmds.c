/* Control commands of the networks' VPNs: see vpn_cmds.h. The device
 * (vpn/device.h) keeps the peers; here requests are read and checked,
 * networks and peers found by name, and replies built. */
#include "vpn_cmds.h"
#include "conf/config.h"
#include "core/util.h"
#include "core/wgkey.h"
#include "gw/gateway.h"
#include "vpn/vpn.h"

#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define CLIENT_KEEPALIVE 25   /* seconds, what wg-quick users usually set behind NAT */
#define WG_OVERHEAD 80        /* wg-quick's MTU margin: IPv6 + UDP + WireGuard */
#define PATH_MTU 1500         /* the path a client usually has to vnetd */

/* ---- finding things ---- */

/* The VPN of the network named by member "network" of req (*np its
 * network), or NULL with err. */
static struct vn_vpn *req_vpn(struct vn_switch *sw, json_t *req, struct vn_network **np,
                              char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "network"));
    struct vn_network *n = name ? vn_switch_find_network(sw, name) : NULL;
    struct vn_vpn *v = n ? vn_vpn_of(n->gw) : NULL;
    if (!name)
        snprintf(err, errlen, "need \"network\" (a network with a vpn: block)");
    else if (!n)
        snprintf(err, errlen, "no network named '%s'", name);
    else if (!v)
        snprintf(err, errlen, "network '%s' has no VPN (no vpn: block in its configuration)",
                 name);
    if (np)
        *np = n;
    return v;
}

/* req_vpn, but a request without "network" means the only network with
 * a VPN (vpn.client-config PEER, as the issue writes it). */
static struct vn_vpn *req_vpn_or_only(struct vn_switch *sw, json_t *req, struct vn_network **np,
                                      char *err, size_t errlen)
{
    if (json_object_get(req, "network"))
        return req_vpn(sw, req, np, err, errlen);
    struct vn_vpn *only = NULL;
    unsigned nvpn = 0;
    for (unsigned i = 0; i < sw->nnets; i++) {
        struct vn_vpn *v = sw->nets[i]->gw ? vn_vpn_of(sw->nets[i]->gw) : NULL;
        if (v) {
            nvpn++;
            only = v;
            *np = sw->nets[i];
        }
    }
    if (nvpn != 1) {
        snprintf(err, errlen, nvpn ? "need \"network\": %u networks have a VPN" :
                                     "no network has a VPN (no vpn: block in the configuration)",
                 nvpn);
        return NULL;
    }
    return only;
}

/* The peer of d named s, or whose public key s is; NULL with err. */
static struct vn_vpn_peer *find_peer(struct vn_vpn_dev *d, const struct vn_network *n,
                                     const char *s, char *err, size_t errlen)
{
    if (!s) {
        snprintf(err, errlen, "need \"peer\" (a peer's name or public key)");
        return NULL;
    }
    struct vn_vpn_peer *p = vn_vpn_peer_by_name(d, s);
    uint8_t key[VN_KEY_LEN];
    if (!p && !vn_key_from_base64(key, s))
        p = vn_vpn_peer_by_key(d, key);
    if (!p)
        snprintf(err, errlen, "network '%s' has no VPN peer named '%.64s' or with that public key",
                 n->conf.name, s);
    return p;
}

/* The status of v (device JSON) with the network's name and listen address. */
static json_t *vpn_json(struct vn_network *n, struct vn_vpn *v)
{
    const struct vn_vpn_conf *c = &n->gw->conf->vpn;
    json_t *j = vn_vpn_dev_json(vn_vpn_device(v), vn_loop_now_ms(n->gw->loop));
    struct vn_sockaddr l = c->listen;
    char b[80], a[VN_ADDR_STRLEN + 8];
    if (!l.ip.family)
        l.ip.family = AF_INET;
    l.port = vn_vpn_listen_port(v);
    json_object_set_new(j, "network", json_string(n->conf.name));
    json_object_set_new(j, "listen", json_string(vn_sockaddr_str(&l, b, sizeof b)));
    json_object_set_new(j, "listen_port", json_integer(vn_vpn_listen_port(v)));
    json_t *addrs = json_array();
    const struct vn_vpn_prefix *ad[2] = { &c->address, &c->address6 };
    for (int i = 0; i < 2; i++)
        if (ad[i]->prefix.family) {
            vn_addr_str(&ad[i]->prefix, a, sizeof a);
            snprintf(a + strlen(a), sizeof a - strlen(a), "/%u", ad[i]->len);
            json_array_append_new(addrs, json_string(a));
        }
    json_object_set_new(j, "address", addrs);
    json_object_set_new(j, "nat", json_boolean(c->nat));
    return j;
}

/* The object of the peer named name in the status j of a device, or NULL. */
static json_t *peer_of(json_t *j, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(j, "peers"), i, p)
        if (!strcmp(json_string_value(json_object_get(p, "name")), name))
            return p;
    return NULL;
}

/* ---- vpn.show ---- */

/* vpn.show {network?}: per network with a VPN, its interface and peers. */
static json_t *cmd_show(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_switch *sw = ctx;
    struct vn_network *one = NULL;
    if (json_object_get(req, "network") && !req_vpn(sw, req, &one, err, errlen))
        return NULL;
    json_t *a = json_array();
    for (unsigned i = 0; i < sw->nnets; i++) {
        struct vn_network *n = sw->nets[i];
        struct vn_vpn *v = n->gw ? vn_vpn_of(n->gw) : NULL;
        if (v && (!one || one == n))
            json_array_append_new(a, vpn_json(n, v));
    }
    return a;
}

/* ---- vpn.peer.add ---- */

/* Changes are the privileged clients' (vpn_cmds.h). */
static bool may_change(char *err, size_t errlen)
{
    if (vn_ctl_caller()->privileged)
        return true;
    snprintf(err, errlen, "permission denied: only root may add or remove VPN peers (a peer "
                          "decides who enters the network)");
    return false;
}

/* A peer name: 1 to VN_VPN_NAME_MAX - 1 letters, digits, '.', '_', '-',
 * starting with a letter or digit (it is shown and used in ACLs). */
static bool good_name(const char *s)
{
    size_t n = strlen(s);
    if (!n || n >= VN_VPN_NAME_MAX || !isalnum((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return false;
    return true;
}

/* A prefix "ADDR/LEN" or a bare address (a host route) into *out; host bits
 * must be zero. Returns 0, or -1 with err. */
static int parse_prefix(const char *s, struct vn_vpn_prefix *out, char *err, size_t errlen)
{
    char buf[VN_ADDR_STRLEN + 8];
    if (strlen(s) >= sizeof buf) {
        snprintf(err, errlen, "allowed IP '%.60s...' is not ADDR/LEN", s);
        return -1;
    }
    strcpy(buf, s);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = 0;
    struct vn_addr a;
    uint64_t len = 0;
    if (vn_addr_parse(buf, &a) < 0) {
        snprintf(err, errlen, "allowed IP '%s' is not an IPv4 or IPv6 prefix (ADDR/LEN)", s);
        return -1;
    }
    len = vn_addr_bits(&a);
    if (slash && vn_parse_uint(slash + 1, 0, vn_addr_bits(&a), &len)) {
        snprintf(err, errlen, "allowed IP '%s': the prefix length must be 0 to %u", s,
                 vn_addr_bits(&a));
        return -1;
    }
    struct vn_addr m = vn_addr_masked(&a, (unsigned)len);
    if (!vn_addr_eq(&m, &a)) {
        char b[VN_ADDR_STRLEN];
        snprintf(err, errlen, "allowed IP '%s' has host bits set (did you mean %s/%u?)", s,
                 vn_addr_str(&m, b, sizeof b), (unsigned)len);
        return -1;
    }
    out->prefix = a;
    out->len = (uint8_t)len;
    return 0;
}

/* The members of a vpn.peer.add request into pc (name, keys, allowed
 * IPs, endpoint, keepalive). Returns 0, or -1 with err. */
static int read_peer(json_t *req, struct vn_vpn_peer_conf *pc, char *err, size_t errlen)
{
    const char *name = json_string_value(json_object_get(req, "name"));
    const char *pub = json_string_value(json_object_get(req, "public_key"));
    json_t *psk = json_object_get(req, "preshared_key");
    json_t *al = json_object_get(req, "allowed_ips"), *x;
    json_t *ep = json_object_get(req, "endpoint"), *ka = json_object_get(req, "persistent_keepalive");
    const char *why;
    memset(pc, 0, sizeof *pc);
    pc->src.file = "vpn.peer.add";
    if (!name || !good_name(name)) {
        snprintf(err, errlen, "need \"name\": 1 to %d letters, digits, '.', '_' or '-', starting "
                              "with a letter or digit%s%.40s%s", VN_VPN_NAME_MAX - 1,
                 name ? " (not '" : "", name ? name : "", name ? "')" : "");
        return -1;
    }
    snprintf(pc->name, sizeof pc->name, "%s", name);
    if (!pub) {
        snprintf(err, errlen, "need \"public_key\" (44 characters of base64, as wg pubkey prints)");
        return -1;
    }
    if ((why = vn_key_from_text(pc->public_key, pub, strlen(pub)))) {
        snprintf(err, errlen, "public_key '%.60s' is not a WireGuard public key: %s", pub, why);
        return -1;
    }
    pc->has_public_key = true;
    if (psk && !json_is_null(psk)) {
        const char *s = json_string_value(psk);
        if (!s || (why = vn_key_from_text(pc->psk, s, strlen(s)))) {
            snprintf(err, errlen, "preshared_key is not a WireGuard key (as wg genpsk prints): %s",
                     s ? why : "not a string");
            return -1;
        }
        pc->has_psk = true;
    }
    if (!json_is_array(al) || !json_array_size(al)) {
        snprintf(err, errlen, "need \"allowed_ips\": an array of 1 to %u prefixes (ADDR/LEN)",
                 VN_VPN_MAX_ALLOWED);
        return -1;
    }
    if (json_array_size(al) > VN_VPN_MAX_ALLOWED) {
        snprintf(err, errlen, "allowed_ips: at most %u prefixes per peer", VN_VPN_MAX_ALLOWED);
        return -1;
    }
    size_t i;
    json_array_foreach(al, i, x) {
        struct vn_vpn_prefix *p = &pc->allowed[pc->nallowed];
        if (!json_is_string(x)) {
            snprintf(err, errlen, "allowed_ips: an array of prefixes (strings like 10.66.0.2/32)");
            return -1;
        }
        if (parse_prefix(json_string_value(x), p, err, errlen) < 0)
            return -1;
        for (unsigned k = 0; k < pc->nallowed; k++)
            if (pc->allowed[k].len == p->len && vn_addr_eq(&pc->allowed[k].prefix, &p->prefix)) {
                snprintf(err, errlen, "allowed IP '%s' is listed twice", json_string_value(x));
                return -1;
            }
        pc->nallowed++;
    }
    if (ep && !json_is_null(ep)) {
        const char *s = json_string_value(ep);
        if (!s || vn_sockaddr_parse(s, 0, &pc->endpoint) < 0 || !pc->endpoint.port) {
            snprintf(err, errlen, "endpoint '%.80s' is not ADDR:PORT or [V6ADDR]:PORT with a "
                                  "numeric address", s ? s : "(not a string)");
            return -1;
        }
    }
    if (ka && !json_is_null(ka)) {
        if (!json_is_integer(ka) || json_integer_value(ka) < 0 ||
            json_integer_value(ka) > 65535) {
            snprintf(err, errlen, "persistent_keepalive: seconds, 0 (off) to 65535");
            return -1;
        }
        pc->keepalive = (uint16_t)json_integer_value(ka);
    }
    return 0;
}

/* The checks against the peers d has now (the configured ones are there
 * too): name, public key and exact prefixes are each one peer's; a full
 * table refuses. Returns 0, or -1 with err. */
static int check_against_device(struct vn_vpn_dev *d, const struct vn_network *n,
                                const struct vn_vpn_peer_conf *pc, char *err, size_t errlen)
{
    char k[VN_KEY_B64_LEN + 1], a[VN_ADDR_STRLEN];
    struct vn_vpn_peer *o;
    vn_key_to_base64(k, pc->public_key);
    if (vn_vpn_peer_by_name(d, pc->name)) {
        snprintf(err, errlen, "network '%s' already has a VPN peer named '%s'", n->conf.name,
                 pc->name);
        return -1;
    }
    if ((o = vn_vpn_peer_by_key(d, pc->public_key))) {
        snprintf(err, errlen, "network '%s': public key %s is already peer '%s''s", n->conf.name,
                 k, o->name);
        return -1;
    }
    for (unsigned s = 0; s < d->max_peers; s++) {
        if (!(o = d->peers[s]))
            continue;
        uint32_t cur = 0;
        struct vn_addr pa;
        unsigned pl;
        while (vn_allowed_next(&d->allowed, o->id, &cur, &pa, &pl))
            for (unsigned i = 0; i < pc->nallowed; i++) {
                const struct vn_vpn_prefix *x = &pc->allowed[i];
                if (pl == x->len && vn_addr_eq(&pa, &x->prefix)) {
                    snprintf(err, errlen, "network '%s': allowed IP %s/%u is already peer "
                                          "'%s''s", n->conf.name,
                             vn_addr_str(&x->prefix, a, sizeof a), x->len, o->name);
                    return -1;
                }
            }
    }
    if (d->npeers >= d->max_peers) {
        snprintf(err, errlen, "network '%s': the VPN's peer table is full (vpn.max_peers %u); "
                              "the peers it has are unchanged", n->conf.name, d->max_peers);
        return -1;
    }
    return 0;
}

/* vpn.peer.add {network, name, public_key, preshared_key?, allowed_ips: [],
 * endpoint?, persistent_keepalive?}: the peer as vpn.show shows it. */
static json_t *cmd_peer_add(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *n;
    struct vn_vpn *v;
    struct vn_vpn_peer_conf pc;
    struct vn_conf_err ce;
    if (!may_change(err, errlen) || !(v = req_vpn(ctx, req, &n, err, errlen)))
        return NULL;
    struct vn_vpn_dev *d = vn_vpn_device(v);
    json_t *r = NULL;
    if (read_peer(req, &pc, err, errlen) < 0)
        goto out;
    if (vn_conf_vpn_check_peer(n->gw->conf, &pc, NULL, 0, &ce) < 0) {
        snprintf(err, errlen, "%s", ce.msg);
        goto out;
    }
    if (check_against_device(d, n, &pc, err, errlen) < 0)
        goto out;
    struct vn_addr al[VN_VPN_MAX_ALLOWED];
    uint8_t ll[VN_VPN_MAX_ALLOWED];
    for (unsigned i = 0; i < pc.nallowed; i++) {
        al[i] = pc.allowed[i].prefix;
        ll[i] = pc.allowed[i].len;
    }
    struct vn_vpn_endpoint ep = { pc.endpoint.ip, pc.endpoint.port };
    char e[200];
    if (!vn_vpn_add_peer(v, pc.name, pc.public_key, pc.has_psk ? pc.psk : NULL, &ep,
                         pc.keepalive, al, ll, pc.nallowed, e, sizeof e)) {
        snprintf(err, errlen, "network '%s': vpn peer '%s': %s", n->conf.name, pc.name, e);
        goto out;
    }
    json_t *all = vpn_json(n, v), *p = peer_of(all, pc.name);
    r = p ? json_incref(p) : json_object();
    json_object_set_new(r, "network", json_string(n->conf.name));
    json_decref(all);
out:
    vn_wipe(&pc, sizeof pc);
    return r;
}

/* ---- vpn.peer.del ---- */

/* vpn.peer.del {network, peer: NAME or public key}. */
static json_t *cmd_peer_del(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *n;
    struct vn_vpn *v;
    struct vn_vpn_peer *p;
    if (!may_change(err, errlen) || !(v = req_vpn(ctx, req, &n, err, errlen)) ||
        !(p = find_peer(vn_vpn_device(v), n, json_string_value(json_object_get(req, "peer")),
                        err, errlen)))
        return NULL;
    char k[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(k, p->remote.pub);
    json_t *r = json_pack("{s:s,s:s,s:s}", "network", n->conf.name, "name", p->name,
                          "public_key", k);
    vn_vpn_del_peer(v, p);
    return r;
}

/* ---- vpn.client-config ---- */

static void add_prefix(json_t *a, const struct vn_addr *x, unsigned len)
{
    char s[VN_ADDR_STRLEN], b[VN_ADDR_STRLEN + 8];
    struct vn_addr m = vn_addr_masked(x, len);
    snprintf(b, sizeof b, "%s/%u", vn_addr_str(&m, s, sizeof s), len);
    json_array_append_new(a, json_string(b));
}

/* The endpoint clients use: the caller's "endpoint" (HOST, HOST:PORT,
 * [V6] or [V6]:PORT; a bare IPv6 address gets brackets, a missing port the
 * listening one), else the listen address when it is not the wildcard,
 * else NULL with *note saying why. Returns a new string, or NULL (and err
 * set when the caller's is malformed). */
static json_t *client_endpoint(struct vn_network *n, struct vn_vpn *v, json_t *req,
                               const char **note, char *err, size_t errlen)
{
    const char *s = json_string_value(json_object_get(req, "endpoint"));
    uint16_t port = vn_vpn_listen_port(v);
    char b[320];
    *note = NULL;
    if (s) {
        size_t len = strlen(s);
        bool ok = len > 0 && len <= 260;
        for (size_t i = 0; ok && i < len; i++)
            ok = isalnum((unsigned char)s[i]) || strchr(".-_:[]%", s[i]);
        if (!ok) {
            snprintf(err, errlen, "endpoint '%.80s' is not HOST, HOST:PORT, [V6ADDR] or "
                                  "[V6ADDR]:PORT", s);
            return NULL;
        }
        const char *colon = strchr(s, ':');
        if (s[0] == '[') {
            const char *e = strchr(s, ']');
            if (!e || (e[1] && e[1] != ':') || (e[1] == ':' && !e[2])) {
                snprintf(err, errlen, "endpoint '%.80s' is not [V6ADDR] or [V6ADDR]:PORT", s);
                return NULL;
            }
            if (e[1])
                snprintf(b, sizeof b, "%s", s);
            else
                snprintf(b, sizeof b, "%s:%u", s, port);
        } else if (colon && strchr(colon + 1, ':')) {
            snprintf(b, sizeof b, "[%s]:%u", s, port); /* a bare IPv6 address */
        } else if (colon) {
            uint64_t pn;
            if (vn_parse_uint(colon + 1, 1, 65535, &pn) || colon == s) {
                snprintf(err, errlen, "endpoint '%.80s': HOST:PORT with a port 1-65535", s);
                return NULL;
            }
            snprintf(b, sizeof b, "%s", s);
        } else {
            snprintf(b, sizeof b, "%s:%u", s, port);
        }
        return json_string(b);
    }
    struct vn_sockaddr l = n->gw->conf->vpn.listen;
    static const uint8_t zero[16];
    if (!l.ip.family || !memcmp(l.ip.a, zero, vn_addr_bits(&l.ip) / 8)) {
        *note = "vnetd listens on every address (vpn.listen is a wildcard): give the address "
                "clients reach it at with \"endpoint\" (vnetctl vpn client-config --endpoint HOST)";
        return NULL;
    }
    l.port = port;
    return json_string(vn_sockaddr_str(&l, b, sizeof b));
}

/* vpn.client-config {network?, peer, endpoint?}: what a wg-quick file of
 * the peer needs (see docs/control-protocol.md); without network, the
 * only network with a VPN. */
static json_t *cmd_client_config(void *ctx, json_t *req, char *err, size_t errlen)
{
    struct vn_network *n;
    struct vn_vpn *v;
    struct vn_vpn_peer *p;
    const char *note;
    if (!(v = req_vpn_or_only(ctx, req, &n, err, errlen)))
        return NULL;
    struct vn_vpn_dev *d = vn_vpn_device(v);
    struct vn_gw *gw = n->gw;
    const struct vn_vpn_conf *c = &gw->conf->vpn;
    if (!(p = find_peer(d, n, json_string_value(json_object_get(req, "peer")), err, errlen)))
        return NULL;
    json_t *ep = client_endpoint(n, v, req, &note, err, errlen);
    if (!ep && !note)
        return NULL;
    char k[VN_KEY_B64_LEN + 1], sk[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(k, p->remote.pub);
    vn_key_to_base64(sk, d->local.pub);

    /* the peer's own addresses: its host routes */
    json_t *addrs = json_array(), *routes = json_array(), *dns = json_array();
    uint32_t cur = 0;
    struct vn_addr pa;
    unsigned pl;
    while (vn_allowed_next(&d->allowed, p->id, &cur, &pa, &pl))
        if (pl == vn_addr_bits(&pa))
            add_prefix(addrs, &pa, pl);
    /* what it reaches through the tunnel: the network's subnets, the tunnel's */
    if (gw->conf->prefix && !gw->conf->ipv4_none) {
        struct vn_addr s4 = vn_addr4(gw->subnet);
        add_prefix(routes, &s4, gw->conf->prefix);
    }
    if (gw->prefix6.family == AF_INET6)
        add_prefix(routes, &gw->prefix6, 64);
    const struct vn_vpn_prefix *ad[2] = { &c->address, &c->address6 };
    for (int i = 0; i < 2; i++)
        if (ad[i]->prefix.family)
            add_prefix(routes, &ad[i]->prefix, ad[i]->len);
    if (gw->dns) {
        char s[VN_ADDR_STRLEN];
        struct vn_addr d4 = vn_addr4(gw->dns_addr);
        if (gw->dns_addr && !gw->conf->ipv4_none)
            json_array_append_new(dns, json_string(vn_addr_str(&d4, s, sizeof s)));
        if (gw->dns6.family == AF_INET6)
            json_array_append_new(dns, json_string(vn_addr_str(&gw->dns6, s, sizeof s)));
    }
    unsigned mtu = (gw->mtu < PATH_MTU ? gw->mtu : PATH_MTU) - WG_OVERHEAD;
    /* a roaming client (no endpoint known to us) keeps its NAT open, so
     * guests can reach it between its own packets */
    unsigned keep = p->endpoint.ip.family && p->keepalive_s ? 0 : CLIENT_KEEPALIVE;
    json_t *r = json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:i,s:i,s:b,s:b}", "network",
                          n->conf.name, "peer", p->name, "public_key", k, "server_public_key", sk,
                          "addresses", addrs, "allowed_ips", routes, "dns", dns, "mtu", (int)mtu,
                          "persistent_keepalive", (int)keep, "preshared_key",
                          !vn_ct_is_zero(p->remote.psk, VN_KEY_LEN), "nat", c->nat);
    json_object_set_new(r, "endpoint", ep ? ep : json_null());
    json_object_set_new(r, "listen_port", json_integer(vn_vpn_listen_port(v)));
    if (note)
        json_object_set_new(r, "endpoint_note", json_string(note));
    if (c->nat) {
        json_t *all = json_array();
        json_array_append_new(all, json_string("0.0.0.0/0"));
        if (gw->prefix6.family == AF_INET6)
            json_array_append_new(all, json_string("::/0"));
        json_object_set_new(r, "all_traffic_allowed_ips", all);
    }
    return r;
}

void vn_vpn_cmds_register(struct vn_ctl *ctl, struct vn_switch *sw)
{
    vn_ctl_register(ctl, "vpn.show", cmd_show, sw);
    vn_ctl_register(ctl, "vpn.peer.add", cmd_peer_add, sw);
    vn_ctl_register(ctl, "vpn.peer.del", cmd_peer_del, sw);
    vn_ctl_register(ctl, "vpn.client-config", cmd_client_config, sw);
}
