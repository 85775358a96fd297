/* vnetctl's VPN commands that are more than one request: see vpn.h.
 *
 * Secrets stay on the command's side where they can: a preshared key is
 * read from a file (never the command line, where `ps` shows it) and sent
 * to vnetd, which needs it; a private key never goes to vnetd: --genkey
 * makes the pair here, sends the public key, and prints the private one
 * only in the client configuration on stdout. */
#include "vpn.h"
#include "call.h"
#include "commands.h"
#include "core/wgkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The value of option name at av[*i] ("--name VALUE" or "--name=VALUE"),
 * advancing *i past it; NULL when av[*i] is not that option. Sets *missing
 * when the option is there without a value. */
static const char *opt(int ac, char **av, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);
    if (strncmp(av[*i], name, n))
        return NULL;
    if (av[*i][n] == '=')
        return av[*i] + n + 1;
    if (av[*i][n])
        return NULL;
    if (*i + 1 >= ac) {
        *missing = true;
        return NULL;
    }
    return av[++*i];
}

/* Read a WireGuard key (base64 as wg genkey/genpsk write it) from path into
 * b64. Returns 0, or -1 having said why (what names the key). */
static int read_key_file(const struct command *c, const char *path, const char *what,
                         char b64[VN_KEY_B64_LEN + 1])
{
    char buf[256];
    uint8_t key[VN_KEY_LEN];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        cmd_wrong(c, "cannot read the %s file %s: %s", what, path, strerror(errno));
        return -1;
    }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    const char *why = n < 0 ? strerror(errno)
                      : (size_t)n == sizeof buf ? "longer than one key"
                                                : vn_key_from_text(key, buf, (size_t)n);
    sodium_memzero(buf, sizeof buf);
    if (why) {
        cmd_wrong(c, "%s file %s: %s", what, path, why);
        return -1;
    }
    vn_key_to_base64(b64, key);
    sodium_memzero(key, sizeof key);
    return 0;
}

/* A key pair as wg genkey and wg pubkey make it (the private key clamped),
 * both in base64. Returns 0 or -1. */
static int genkey(char priv[VN_KEY_B64_LEN + 1], char pub[VN_KEY_B64_LEN + 1])
{
    uint8_t k[VN_KEY_LEN], p[VN_KEY_LEN];
    if (sodium_init() < 0)
        return -1;
    randombytes_buf(k, sizeof k);
    k[0] &= 248;
    k[31] = (uint8_t)((k[31] & 127) | 64);
    if (vn_x25519_pubkey(p, k) < 0) {
        sodium_memzero(k, sizeof k);
        return -1;
    }
    vn_key_to_base64(priv, k);
    vn_key_to_base64(pub, p);
    sodium_memzero(k, sizeof k);
    return 0;
}

/* "A,B,C" as a JSON array of strings, or NULL when an element is empty. */
static json_t *csv_array(const char *s)
{
    json_t *a = json_array();
    for (;;) {
        const char *e = strchrnul(s, ',');
        while (*s == ' ')
            s++;
        size_t n = (size_t)(e - s);
        while (n && s[n - 1] == ' ')
            n--;
        json_t *v = n ? json_stringn(s, n) : NULL;
        if (!v) {
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, v);
        if (!*e)
            return a;
        s = e + 1;
    }
}

/* The vpn.client-config request of peer in network (NULL: the only
 * network with a VPN), with endpoint (may be NULL). */
static json_t *client_config_req(const char *network, const char *peer, const char *endpoint)
{
    json_t *req = json_pack("{s:s,s:s}", "cmd", "vpn.client-config", "peer", peer);
    if (req && network)
        json_object_set_new(req, "network", json_string(network));
    if (req && endpoint)
        json_object_set_new(req, "endpoint", json_string(endpoint));
    return req;
}

/* Print the client configuration (JSON with -j: the result with the
 * private key added when there is one). */
static void show_config(const struct vnetctl *o, json_t *r, const char *priv, const char *psk,
                        bool all)
{
    if (all && !json_object_get(r, "all_traffic_allowed_ips")) {
        fprintf(stderr, "vnetctl: note: network %s has no vpn.nat, so --all-traffic would send "
                        "the peer's traffic nowhere: its AllowedIPs are the network's\n",
                json_string_value(json_object_get(r, "network")));
        all = false;
    }
    if (o->json) {
        if (priv)
            json_object_set_new(r, "private_key", json_string(priv));
        print_json(r);
        return;
    }
    print_client_config(stdout, r, priv, psk, all);
}

int run_vpn_peer_add(const struct command *c, const struct vnetctl *o, int ac, char **av)
{
    const char *pub = NULL, *allowed = NULL, *pskf = NULL, *ep = NULL, *ka = NULL, *sep = NULL;
    bool gen = false, missing = false;
    char psk[VN_KEY_B64_LEN + 1], priv[VN_KEY_B64_LEN + 1], genpub[VN_KEY_B64_LEN + 1];
    for (int i = 2; i < ac; i++) {
        const char *v;
        if ((v = opt(ac, av, &i, "--public-key", &missing)))
            pub = v;
        else if ((v = opt(ac, av, &i, "--allowed-ips", &missing)))
            allowed = v;
        else if ((v = opt(ac, av, &i, "--preshared-key-file", &missing)))
            pskf = v;
        else if ((v = opt(ac, av, &i, "--endpoint", &missing)))
            ep = v;
        else if ((v = opt(ac, av, &i, "--keepalive", &missing)))
            ka = v;
        else if ((v = opt(ac, av, &i, "--server-endpoint", &missing)))
            sep = v;
        else if (!missing && !strcmp(av[i], "--genkey"))
            gen = true;
        else if (!missing && !strcmp(av[i], "--preshared-key")) {
            cmd_wrong(c, "a preshared key is read from a file (--preshared-key-file FILE), "
                         "never the command line");
            return 2;
        } else {
            cmd_wrong(c, missing ? "%s wants a value" : "unexpected '%s'", av[i]);
            return 2;
        }
    }
    if (!!pub == gen) {
        cmd_wrong(c, pub ? "--public-key and --genkey exclude each other"
                         : "give the peer's --public-key KEY, or --genkey to make a key pair");
        return 2;
    }
    if (!allowed) {
        cmd_wrong(c, "--allowed-ips A[,B...] is required (the peer's addresses, like "
                     "10.66.0.2/32)");
        return 2;
    }
    if (sep && !gen) {
        cmd_wrong(c, "--server-endpoint is for the client configuration --genkey prints");
        return 2;
    }
    json_t *al = csv_array(allowed);
    if (!al) {
        cmd_wrong(c, "--allowed-ips wants prefixes separated by commas, not '%s'", allowed);
        return 2;
    }
    long kav = 0;
    if (ka) {
        char *end;
        errno = 0;
        kav = strtol(ka, &end, 10);
        if (errno || end == ka || *end || kav < 0 || kav > 65535) {
            cmd_wrong(c, "--keepalive wants seconds (0 to 65535), not '%s'", ka);
            json_decref(al);
            return 2;
        }
    }
    if (pskf && read_key_file(c, pskf, "preshared key", psk) < 0) {
        json_decref(al);
        return 2;
    }
    if (gen && genkey(priv, genpub) < 0) {
        fprintf(stderr, "vnetctl: cannot make a key pair (libsodium)\n");
        json_decref(al);
        return 1;
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:o}", "cmd", "vpn.peer.add", "network", av[0],
                            "name", av[1], "public_key", gen ? genpub : pub, "allowed_ips", al);
    if (!req) {
        cmd_wrong(c, "the arguments are not valid UTF-8");
        return 2;
    }
    if (pskf)
        json_object_set_new(req, "preshared_key", json_string(psk));
    if (ep)
        json_object_set_new(req, "endpoint", json_string(ep));
    if (ka)
        json_object_set_new(req, "persistent_keepalive", json_integer(kav));
    json_t *res = call(o->control, req);
    json_decref(req);
    if (!gen) {
        if (o->json)
            print_json(res);
        else
            print_vpn_peer(res, NULL);
        json_decref(res);
        sodium_memzero(psk, sizeof psk);
        return 0;
    }
    json_decref(res);
    req = client_config_req(av[0], av[1], sep);
    res = call(o->control, req);
    show_config(o, res, priv, pskf ? psk : NULL, false);
    json_decref(req);
    json_decref(res);
    sodium_memzero(priv, sizeof priv);
    sodium_memzero(psk, sizeof psk);
    return 0;
}

int run_vpn_client_config(const struct command *c, const struct vnetctl *o, int ac, char **av)
{
    const char *privf = NULL, *pskf = NULL, *ep = NULL;
    bool all = false, missing = false;
    char psk[VN_KEY_B64_LEN + 1], priv[VN_KEY_B64_LEN + 1];
    /* [NETWORK] PEER: the words before the first option */
    int npos = 0;
    while (npos < ac && strncmp(av[npos], "--", 2))
        npos++;
    if (npos < 1 || npos > 2) {
        cmd_wrong(c, npos ? "too many arguments before the options" : "which PEER?");
        return 2;
    }
    const char *network = npos == 2 ? av[0] : NULL, *peer = av[npos - 1];
    for (int i = npos; i < ac; i++) {
        const char *v;
        if ((v = opt(ac, av, &i, "--private-key-file", &missing)))
            privf = v;
        else if ((v = opt(ac, av, &i, "--preshared-key-file", &missing)))
            pskf = v;
        else if ((v = opt(ac, av, &i, "--endpoint", &missing)))
            ep = v;
        else if (!missing && !strcmp(av[i], "--all-traffic"))
            all = true;
        else {
            cmd_wrong(c, missing ? "%s wants a value" : "unexpected '%s'", av[i]);
            return 2;
        }
    }
    if (privf && read_key_file(c, privf, "private key", priv) < 0)
        return 2;
    if (pskf && read_key_file(c, pskf, "preshared key", psk) < 0)
        return 2;
    json_t *req = client_config_req(network, peer, ep);
    if (!req) {
        cmd_wrong(c, "the arguments are not valid UTF-8");
        return 2;
    }
    json_t *res = call(o->control, req);
    json_decref(req);
    if (privf) {
        /* the key must be the peer's: a wrong file makes a client that never connects */
        uint8_t k[VN_KEY_LEN], p[VN_KEY_LEN];
        char pb[VN_KEY_B64_LEN + 1];
        vn_key_from_base64(k, priv);
        int bad = vn_x25519_pubkey(p, k) < 0;
        sodium_memzero(k, sizeof k);
        vn_key_to_base64(pb, p);
        const char *want = json_string_value(json_object_get(res, "public_key"));
        if (bad || !want || strcmp(pb, want)) {
            fprintf(stderr, "vnetctl: vpn client-config: the private key in %s is not peer "
                            "%s's: its public key is %s, the peer's %s\n", privf, peer, pb,
                    want ? want : "?");
            json_decref(res);
            sodium_memzero(priv, sizeof priv);
            return 1;
        }
    }
    show_config(o, res, privf ? priv : NULL, pskf ? psk : NULL, all);
    json_decref(res);
    sodium_memzero(priv, sizeof priv);
    sodium_memzero(psk, sizeof psk);
    return 0;
}
