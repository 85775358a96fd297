/* Unit tests of a network's vpn: block (conf/vpn.c): a full block parses
 * into struct vn_vpn_conf with its keys read from their files, defaults
 * fill in, --print-config reads back the same, and every refusal names the
 * file, the line and the reason (key files: missing, not regular, mode
 * 0644, not one key; keys: bad base64, our own, twice; names twice;
 * allowed_ips: host bits, another peer's, the network's subnets; endpoint
 * not numeric; listen taken by another vpn, a vxlan port or a udp forward;
 * gateway-less networks; more peers than max_peers). Key files live in a
 * temporary directory made for the run. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "conf/config.h"
#include "core/wgkey.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static struct vn_conf_err err;

/* Base64 keys (wg genkey output and the matching wg pubkey output). */
#define OUR_PRIV "SFuhLqzIRnldbolSJ/cPgG56aLTSvrVC7sUGMkYEgHE="
#define PEER1 "GZ+CAXDFHZ61LbUFAe58Gklt6brok3XMcoq9d8jXQjs="
#define PEER2 "fYCuYRhUz8NFqQQSnt7VhElTJIH/MvQrAe6qFJWNw14="
#define PSK "UgTZLSYhEvxt+1O/vu4Olo1DPhKhUumhkSSgEriXMY0="

/* Write text to dir/name with mode; returns the path (static buffer per call site). */
static const char *put(const char *name, const char *text, mode_t mode)
{
    static char paths[16][128];
    static unsigned next;
    char *p = paths[next++ % 16];
    snprintf(p, 128, "%s/%s", dir, name);
    unlink(p);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
    return p;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/vnet-test-vpnconf-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* The text must be refused at t.yaml:line with a message containing what. */
static void expect_error(const char *text, int line, const char *what)
{
    if (harness_load(text, NULL, &err) == 0)
        fail_msg("accepted, expected an error about '%s':\n%s", what, text);
    char where[32];
    snprintf(where, sizeof where, "t.yaml:%d: ", line);
    if (strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, what))
        fail_msg("error '%s', expected '%s...%s'", err.msg, where, what);
}

/* A network 'lab' (line 2) whose vpn block (line 4 on) is body, with
 * private_key_file our key file on line 4 when key is NULL. */
static const char *lab(const char *mode, const char *key, const char *body)
{
    static char buf[4096];
    const char *k = key ? key : put("our.key", OUR_PRIV "\n", 0600);
    snprintf(buf, sizeof buf,
             "networks:\n"
             "  - name: lab\n"
             "    mode: %s\n"
             "    vpn:\n"
             "      private_key_file: %s\n"
             "%s",
             mode, k, body);
    return buf;
}

static void test_full_block(void **state)
{
    (void)state;
    const char *psk = put("p.psk", "  " PSK "\r\n\n", 0400);
    char text[2048];
    snprintf(text, sizeof text,
             "networks:\n"
             "  - name: lab\n"
             "    mode: nat\n"
             "    vpn:\n"
             "      listen: \"127.0.0.1:51999\"\n"
             "      private_key_file: %s\n"
             "      address: [10.99.0.1/24, \"fd99::1/64\"]\n"
             "      nat: true\n"
             "      max_peers: 4\n"
             "      peers:\n"
             "        - name: laptop\n"
             "          public_key: \"" PEER1 "\"\n"
             "          preshared_key_file: %s\n"
             "          allowed_ips: [10.99.0.2/32, \"fd99::2/128\", 10.98.0.7]\n"
             "          endpoint: \"[::1]:51821\"\n"
             "          persistent_keepalive: 25\n"
             "        - public_key: \"" PEER2 "\"\n"
             "          allowed_ips: [192.168.77.0/24]\n",
             put("our.key", OUR_PRIV, 0600), psk);
    struct vn_config *c = NULL;
    if (harness_load(text, &c, &err))
        fail_msg("%s", err.msg);
    const struct vn_vpn_conf *v = &c->nets[0].vpn;
    assert_true(v->enabled);
    assert_int_equal(v->src.line, 5);
    char s[80];
    assert_string_equal(vn_sockaddr_str(&v->listen, s, sizeof s), "127.0.0.1:51999");
    uint8_t k[VN_KEY_LEN], pub[VN_KEY_LEN];
    assert_null(vn_key_from_base64(k, OUR_PRIV));
    assert_memory_equal(v->private_key, k, VN_KEY_LEN);
    assert_int_equal(vn_x25519_pubkey(pub, k), 0);
    assert_memory_equal(v->public_key, pub, VN_KEY_LEN);
    assert_int_equal(v->address.prefix.family, AF_INET);
    assert_int_equal(v->address.len, 24);
    assert_int_equal(vn_addr_v4(&v->address.prefix), 0x0a630001);
    assert_int_equal(v->address6.prefix.family, AF_INET6);
    assert_int_equal(v->address6.len, 64);
    assert_int_equal(v->naddress, 2);
    assert_true(v->nat);
    assert_int_equal(v->max_peers, 4);
    assert_int_equal(v->npeers, 2);
    const struct vn_vpn_peer_conf *p = &v->peers[0], *q = &v->peers[1];
    assert_string_equal(p->name, "laptop");
    assert_null(vn_key_from_base64(k, PEER1));
    assert_memory_equal(p->public_key, k, VN_KEY_LEN);
    assert_true(p->has_psk);
    assert_null(vn_key_from_base64(k, PSK));
    assert_memory_equal(p->psk, k, VN_KEY_LEN);
    assert_int_equal(p->nallowed, 3);
    assert_int_equal(p->allowed[0].len, 32);
    assert_int_equal(p->allowed[1].prefix.family, AF_INET6);
    assert_int_equal(p->allowed[1].len, 128);
    assert_int_equal(p->allowed[2].len, 32); /* a bare address is a host */
    assert_int_equal(p->allowed_src[1].line, 14);
    assert_string_equal(vn_sockaddr_str(&p->endpoint, s, sizeof s), "[::1]:51821");
    assert_int_equal(p->keepalive, 25);
    assert_string_equal(q->name, "peer2"); /* its place in the list */
    assert_false(q->has_psk);
    assert_int_equal(q->endpoint.ip.family, 0);
    assert_int_equal(q->keepalive, 0);

    /* --print-config reads back the same, and holds no secret */
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    vn_conf_print(c, f);
    fclose(f);
    assert_null(strstr(out, OUR_PRIV));
    assert_null(strstr(out, PSK));
    assert_non_null(strstr(out, PEER1));
    struct vn_config *c2 = NULL;
    if (harness_load(out, &c2, &err))
        fail_msg("%s\n%s", err.msg, out);
    const struct vn_vpn_conf *v2 = &c2->nets[0].vpn;
    assert_int_equal(v2->npeers, 2);
    assert_memory_equal(v2->private_key, v->private_key, VN_KEY_LEN);
    assert_memory_equal(&v2->address6, &v->address6, sizeof v->address6);
    assert_memory_equal(v2->peers[0].allowed, v->peers[0].allowed, sizeof v->peers[0].allowed);
    assert_memory_equal(v2->peers[0].psk, v->peers[0].psk, VN_KEY_LEN);
    assert_string_equal(v2->peers[1].name, "peer2");
    char *out2 = NULL;
    size_t out2len = 0;
    f = open_memstream(&out2, &out2len);
    vn_conf_print(c2, f);
    fclose(f);
    assert_string_equal(out, out2);
    free(out);
    free(out2);
    vn_conf_free(c2);

    /* freeing wipes and releases the peers */
    vn_conf_vpn_free(&c->nets[0].vpn);
    assert_null(c->nets[0].vpn.peers);
    assert_int_equal(c->nets[0].vpn.npeers, 0);
    static const uint8_t zero[VN_KEY_LEN];
    assert_memory_equal(c->nets[0].vpn.private_key, zero, VN_KEY_LEN);
    vn_conf_free(c);
}

static void test_defaults_and_modes(void **state)
{
    (void)state;
    struct vn_config *c = NULL;
    if (harness_load(lab("nat", NULL, ""), &c, &err))
        fail_msg("%s", err.msg);
    const struct vn_vpn_conf *v = &c->nets[0].vpn;
    char s[80];
    assert_true(v->enabled);
    assert_string_equal(vn_sockaddr_str(&v->listen, s, sizeof s), "0.0.0.0:51820");
    assert_false(v->nat);
    assert_int_equal(v->max_peers, 256);
    assert_int_equal(v->npeers, 0);
    assert_int_equal(v->address.prefix.family, 0);
    vn_conf_free(c);
    /* no vpn: block, nothing enabled */
    assert_int_equal(harness_load("networks:\n  - name: a\n", &c, &err), 0);
    assert_false(c->nets[0].vpn.enabled);
    vn_conf_free(c);
    /* host-only, isolated with a subnet: a gateway; an IPv6 address alone */
    assert_int_equal(harness_load(lab("host-only", NULL, "      address: \"fd98::1/64\"\n"), NULL,
                                  &err), 0);
    assert_int_equal(harness_load("networks:\n  - name: iso\n    mode: isolated\n"
                                  "    subnet: 10.5.0.0/24\n    vpn:\n      private_key_file: "
                                  "x\n", NULL, &err), -1);
    assert_non_null(strstr(err.msg, "cannot open")); /* past the gateway check */
    /* bridge and isolated without subnet have none */
    expect_error(lab("bridge", NULL, "      listen: \"127.0.0.1:5\"\n"), 5, "vpn needs a gateway");
    expect_error(lab("isolated", NULL, ""), 5, "a isolated network has none");
    expect_error(lab("host-only", NULL, "      nat: true\n"), 5, "vpn.nat needs a nat network");
    /* the listen address's port may be left out */
    if (harness_load(lab("nat", NULL, "      listen: \"[::1]\"\n"), &c, &err))
        fail_msg("%s", err.msg);
    assert_string_equal(vn_sockaddr_str(&c->nets[0].vpn.listen, s, sizeof s), "[::1]:51820");
    vn_conf_free(c);
}

static void test_key_files(void **state)
{
    (void)state;
    char body[512];
    expect_error("networks:\n  - name: lab\n    vpn:\n      listen: \"127.0.0.1:1\"\n", 4,
                 "vpn needs private_key_file");
    expect_error(lab("nat", "/nonexistent-vnet/vnet.key", ""), 5,
                 "vpn.private_key_file '/nonexistent-vnet/vnet.key': cannot open");
    expect_error(lab("nat", put("open.key", OUR_PRIV "\n", 0644), ""), 5,
                 "mode 0644 lets group or others read or write a secret key; refused (chmod 600");
    expect_error(lab("nat", put("g.key", OUR_PRIV "\n", 0640), ""), 5, "mode 0640");
    expect_error(lab("nat", put("w.key", OUR_PRIV "\n", 0602), ""), 5, "mode 0602");
    expect_error(lab("nat", dir, ""), 5, "not a regular file");
    expect_error(lab("nat", put("bad.key", "not a key\n", 0600), ""), 5,
                 "not a WireGuard key (one base64 key, as `wg genkey` writes it)");
    expect_error(lab("nat", put("two.key", OUR_PRIV "\n" OUR_PRIV "\n", 0600), ""), 5,
                 "not a WireGuard key");
    expect_error(lab("nat", put("empty.key", "\n", 0600), ""), 5, "no key given");
    assert_int_equal(harness_load(lab("nat", put("ro.key", "\t" OUR_PRIV, 0400), ""), NULL, &err),
                     0);
    /* the preshared key: the same rules */
    snprintf(body, sizeof body,
             "      peers:\n        - public_key: \"" PEER1 "\"\n"
             "          preshared_key_file: %s\n",
             put("open.psk", PSK "\n", 0644));
    expect_error(lab("nat", NULL, body), 8, "preshared_key_file '");
    expect_error(lab("nat", NULL, body), 8, "mode 0644");
    snprintf(body, sizeof body,
             "      peers:\n        - public_key: \"" PEER1 "\"\n"
             "          preshared_key_file: %s/none.psk\n", dir);
    expect_error(lab("nat", NULL, body), 8, "cannot open");

    /* vn_key_from_text: white space around, nothing else */
    uint8_t k[VN_KEY_LEN];
    assert_null(vn_key_from_text(k, " \n" PSK "\r\n", strlen(" \n" PSK "\r\n")));
    assert_non_null(vn_key_from_text(k, PSK " x", strlen(PSK " x")));
    assert_non_null(vn_key_from_text(k, "   ", 3));
    assert_non_null(vn_key_from_text(k, PSK "\0", sizeof(PSK)));
}

static void test_peers_refused(void **state)
{
    (void)state;
    char body[2048];
    /* a bad public key, none, our own */
    expect_error(lab("nat", NULL, "      peers:\n        - public_key: \"abc\"\n"), 7,
                 "vpn.peers.public_key: not a WireGuard public key: a key is 44 characters");
    expect_error(lab("nat", NULL, "      peers:\n        - allowed_ips: [10.9.0.0/16]\n"), 7,
                 "vpn peer 'peer1' needs a public_key");
    uint8_t priv[VN_KEY_LEN], pub[VN_KEY_LEN];
    char own[VN_KEY_B64_LEN + 1];
    assert_null(vn_key_from_base64(priv, OUR_PRIV));
    assert_int_equal(vn_x25519_pubkey(pub, priv), 0);
    vn_key_to_base64(own, pub);
    snprintf(body, sizeof body,
             "      peers:\n        - name: me\n          public_key: \"%s\"\n", own);
    expect_error(lab("nat", NULL, body), 8,
                 "vpn peer 'me': public_key is this network's own public key");
    /* the same key or name twice */
    expect_error(lab("nat", NULL,
                     "      peers:\n"
                     "        - {name: a, public_key: \"" PEER1 "\"}\n"
                     "        - {name: b, public_key: \"" PEER1 "\"}\n"), 8,
                 "vpn peer 'b' has the public_key of peer 'a'");
    expect_error(lab("nat", NULL,
                     "      peers:\n"
                     "        - {name: a, public_key: \"" PEER1 "\"}\n"
                     "        - {name: a, public_key: \"" PEER2 "\"}\n"), 8,
                 "vpn peer name 'a' is used twice");
    /* a default name taken by a named peer */
    expect_error(lab("nat", NULL,
                     "      peers:\n"
                     "        - {name: peer2, public_key: \"" PEER1 "\"}\n"
                     "        - {public_key: \"" PEER2 "\"}\n"), 8,
                 "vpn peer name 'peer2' is used twice");
    expect_error(lab("nat", NULL, "      peers:\n        - {name: \"a b\", public_key: \""
                                  PEER1 "\"}\n"), 7, "a b");
    /* allowed_ips */
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [10.99.0.2/24]\n"), 8,
                 "vpn.peers.allowed_ips: '10.99.0.2/24' has host bits set (did you mean "
                 "10.99.0.0/24?)");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [\"fd99::1/64\"]\n"), 8,
                 "did you mean fd99::/64?");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [10.99.0.0/33]\n"), 8,
                 "the prefix length must be 0 to 32");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [nonsense]\n"), 8, "not an IPv4 or IPv6 address");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [10.9.0.0/16, 10.9.0.0/16]\n"), 8,
                 "'10.9.0.0/16' is listed twice");
    expect_error(lab("nat", NULL,
                     "      peers:\n"
                     "        - {public_key: \"" PEER1 "\", allowed_ips: [10.9.0.0/16]}\n"
                     "        - {public_key: \"" PEER2 "\", allowed_ips: [\"fd00:9::/48\", "
                     "10.9.0.0/16]}\n"), 8,
                 "vpn peer 'peer2': allowed_ips 10.9.0.0/16 is already peer 'peer1''s");
    /* the network's own subnets (nat default 10.0.2.0/24; subnet6 given) */
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [10.0.2.15/32]\n"), 8,
                 "allowed_ips 10.0.2.15/32 overlaps the network's subnet 10.0.2.0/24");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          allowed_ips: [0.0.0.0/0]\n"), 8, "overlaps the network's subnet");
    expect_error("networks:\n  - name: lab\n    subnet6: \"fd42:1:2:3::/64\"\n    vpn:\n"
                 "      private_key_file: /nonexistent-vnet/k\n", 5, "cannot open");
    snprintf(body, sizeof body,
             "networks:\n  - name: lab\n    subnet6: \"fd42:1:2:3::/64\"\n    vpn:\n"
             "      private_key_file: %s\n"
             "      peers:\n        - public_key: \"" PEER1 "\"\n"
             "          allowed_ips: [\"fd42:1::/32\"]\n",
             put("our.key", OUR_PRIV, 0600));
    expect_error(body, 8, "overlaps the network's subnet6 fd42:1:2:3::/64");
    /* at most 32 allowed_ips */
    char list[1024] = "";
    for (int i = 0; i < 33; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s10.%d.0.0/16", i ? ", " : "",
                 100 + i);
    snprintf(body, sizeof body,
             "      peers:\n        - public_key: \"" PEER1 "\"\n          allowed_ips: [%s]\n",
             list);
    expect_error(lab("nat", NULL, body), 8, "vpn.peers.allowed_ips: at most 32 prefixes");
    /* endpoint and keepalive */
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          endpoint: \"localhost:51820\"\n"), 8,
                 "with a numeric address (host names are not resolved when the config is loaded)");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          endpoint: 192.0.2.1\n"), 8, "the port is required");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          persistent_keepalive: 65536\n"), 8, "persistent_keepalive");
    expect_error(lab("nat", NULL,
                     "      peers:\n        - public_key: \"" PEER1 "\"\n"
                     "          color: blue\n"), 8, "unknown vpn peer key 'color'");
    /* more peers than max_peers */
    expect_error(lab("nat", NULL,
                     "      max_peers: 1\n      peers:\n"
                     "        - {public_key: \"" PEER1 "\"}\n"
                     "        - {public_key: \"" PEER2 "\"}\n"), 5,
                 "network 'lab': 2 vpn peers, vpn.max_peers is 1");
}

static void test_addresses_and_listen(void **state)
{
    (void)state;
    char text[1024];
    const char *key = put("our.key", OUR_PRIV, 0600);
    expect_error(lab("nat", NULL, "      address: 10.0.2.200/25\n"), 6,
                 "vpn.address 10.0.2.200/25 overlaps the network's subnet 10.0.2.0/24");
    expect_error(lab("nat", NULL, "      address: [10.99.0.1/24, 10.98.0.1/24]\n"), 6,
                 "one IPv4 and one IPv6 address at most");
    expect_error(lab("nat", NULL, "      address: 10.99.0.1/32\n"), 6,
                 "give the tunnel's subnet with the gateway's address");
    expect_error(lab("nat", NULL, "      address: [a, b, c]\n"), 6, "vpn.address");
    expect_error(lab("nat", NULL, "      listen: \"localhost:51820\"\n"), 6, "numeric address");
    /* two networks on one UDP address */
    snprintf(text, sizeof text,
             "networks:\n"
             "  - {name: a, vpn: {private_key_file: %s, listen: \"0.0.0.0:51820\"}}\n"
             "  - {name: b, subnet: 10.0.3.0/24, vpn: {private_key_file: %s,\n"
             "     listen: \"127.0.0.1:51820\"}}\n",
             key, key);
    expect_error(text, 4, "network 'b': vpn.listen 127.0.0.1:51820: network 'a''s vpn listens "
                          "there (0.0.0.0:51820)");
    snprintf(text, sizeof text,
             "networks:\n"
             "  - {name: a, vpn: {private_key_file: %s, listen: \"[::]:51820\"}}\n"
             "  - {name: b, subnet: 10.0.3.0/24, vpn: {private_key_file: %s}}\n",
             key, key);
    expect_error(text, 3, "listens there ([::]:51820)");
    snprintf(text, sizeof text,
             "networks:\n"
             "  - {name: a, vpn: {private_key_file: %s, listen: \"127.0.0.1:51820\"}}\n"
             "  - {name: b, subnet: 10.0.3.0/24, vpn: {private_key_file: %s,\n"
             "     listen: \"127.0.0.2:51820\"}}\n"
             "  - {name: c, subnet: 10.0.4.0/24, vpn: {private_key_file: %s,\n"
             "     listen: \"127.0.0.1:51821\"}}\n",
             key, key, key);
    assert_int_equal(harness_load(text, NULL, &err), 0);
    /* a vxlan port's socket, a udp forward's */
    snprintf(text, sizeof text,
             "networks:\n"
             "  - {name: a, vni: 100, vpn: {private_key_file: %s, listen: \"127.0.0.1:4789\"}}\n"
             "ports:\n"
             "  - {name: vx, type: vxlan, local: 127.0.0.1, networks: [a]}\n",
             key);
    expect_error(text, 2, "vpn.listen 127.0.0.1:4789: vxlan port 'vx' uses that UDP port");
    snprintf(text, sizeof text,
             "networks:\n"
             "  - name: a\n"
             "    forwards: [{proto: udp, host: \"0.0.0.0:51820\", guest: 53}]\n"
             "    vpn: {private_key_file: %s}\n",
             key);
    expect_error(text, 4, "a udp forward of network 'a' listens there");
    snprintf(text, sizeof text,
             "networks:\n"
             "  - name: a\n"
             "    forwards: [{proto: tcp, host: \"0.0.0.0:51820\", guest: 53}]\n"
             "    vpn: {private_key_file: %s}\n",
             key);
    assert_int_equal(harness_load(text, NULL, &err), 0);
    /* the command line sets the scalar keys */
    struct vn_config *c = vn_conf_new();
    struct vn_net_conf *n = vn_conf_add_net(c, (struct vn_conf_src){ 0 }, &err);
    assert_int_equal(vn_conf_net_set(n, "name", "cl", (struct vn_conf_src){ 0 }, &err), 0);
    assert_int_equal(vn_conf_net_set(n, "vpn.private_key_file", key, (struct vn_conf_src){ 0 },
                                     &err), 0);
    assert_int_equal(vn_conf_net_set(n, "vpn.listen", "127.0.0.1:7000",
                                     (struct vn_conf_src){ 0 }, &err), 0);
    assert_int_equal(vn_conf_validate(c, &err), 0);
    assert_true(n->vpn.enabled);
    assert_int_equal(n->vpn.listen.port, 7000);
    vn_conf_free(c);
}

/* vn_conf_vpn_check_peer, as a run-time add uses it. */
static void test_check_peer(void **state)
{
    (void)state;
    char body[512];
    snprintf(body, sizeof body,
             "      peers:\n        - {name: a, public_key: \"" PEER1 "\", allowed_ips: "
             "[10.9.0.0/16]}\n");
    struct vn_config *c = NULL;
    if (harness_load(lab("nat", NULL, body), &c, &err))
        fail_msg("%s", err.msg);
    const struct vn_net_conf *n = &c->nets[0];
    struct vn_vpn_peer_conf p = { .src = { "vnetctl", 0 } };
    snprintf(p.name, sizeof p.name, "b");
    assert_null(vn_key_from_base64(p.public_key, PEER2));
    p.has_public_key = true;
    assert_null(vn_key_from_base64(p.public_key, PEER2));
    assert_int_equal(vn_conf_vpn_check_peer(n, &p, n->vpn.peers, n->vpn.npeers, &err), 0);
    p.allowed[p.nallowed++] = (struct vn_vpn_prefix){ vn_addr4(0x0a090000), 16 };
    assert_int_equal(vn_conf_vpn_check_peer(n, &p, n->vpn.peers, n->vpn.npeers, &err), -1);
    assert_non_null(strstr(err.msg, "already peer 'a''s"));
    p.nallowed = 0;
    snprintf(p.name, sizeof p.name, "a");
    assert_int_equal(vn_conf_vpn_check_peer(n, &p, n->vpn.peers, n->vpn.npeers, &err), -1);
    assert_non_null(strstr(err.msg, "used twice"));
    snprintf(p.name, sizeof p.name, "b");
    memcpy(p.public_key, n->vpn.public_key, VN_KEY_LEN);
    assert_int_equal(vn_conf_vpn_check_peer(n, &p, n->vpn.peers, n->vpn.npeers, &err), -1);
    assert_non_null(strstr(err.msg, "own public key"));
    vn_conf_free(c);
}

/* Many peers: the array grows and every entry survives. */
static void test_many_peers(void **state)
{
    (void)state;
    size_t cap = 300 * 160 + 256;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t w = (size_t)snprintf(text, cap,
                                "networks:\n  - name: lab\n    vpn:\n      private_key_file: %s\n"
                                "      max_peers: 300\n      peers:\n",
                                put("our.key", OUR_PRIV, 0600));
    uint8_t k[VN_KEY_LEN];
    char b64[VN_KEY_B64_LEN + 1];
    for (int i = 0; i < 300; i++) {
        memset(k, 0, sizeof k);
        k[0] = (uint8_t)i;
        k[1] = (uint8_t)(i >> 8);
        k[2] = 1;
        vn_key_to_base64(b64, k);
        w += (size_t)snprintf(text + w, cap - w,
                              "        - {public_key: \"%s\", allowed_ips: [10.%d.%d.0/24]}\n", b64,
                              100 + i / 256, i % 256);
    }
    struct vn_config *c = NULL;
    if (harness_load(text, &c, &err))
        fail_msg("%s", err.msg);
    const struct vn_vpn_conf *v = &c->nets[0].vpn;
    assert_int_equal(v->npeers, 300);
    for (int i = 0; i < 300; i++) {
        char nm[16];
        snprintf(nm, sizeof nm, "peer%d", i + 1);
        assert_string_equal(v->peers[i].name, nm);
        assert_int_equal(v->peers[i].public_key[0], (uint8_t)i);
        assert_int_equal(v->peers[i].allowed[0].prefix.a[2], i % 256);
    }
    vn_conf_free(c);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_block),
        cmocka_unit_test(test_defaults_and_modes),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_peers_refused),
        cmocka_unit_test(test_addresses_and_listen),
        cmocka_unit_test(test_check_peer),
        cmocka_unit_test(test_many_peers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
