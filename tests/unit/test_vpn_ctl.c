/* Unit tests of the VPN's control commands (src/ctl/vpn_cmds.c) through
 * the control server's request handling, against a real switch whose nat
 * network 'lan' has a VPN (its UDP socket on 127.0.0.1, an ephemeral port)
 * with one configured peer and max_peers 3, beside a network without one:
 * vpn.show of all and of one network; vpn.peer.add (the peer shown and
 * routed, its endpoint, keepalive and preshared key) and each refusal (bad
 * and missing members, bad keys, our own key, a duplicate name or key, a
 * prefix of the subnet, subnet6 or another peer, host bits, a prefix
 * listed twice, a full table leaving its peers as they were); vpn.peer.del
 * by name and by key; vpn.client-config (addresses, routes, DNS, MTU,
 * keepalive, the endpoint from the listen address, from the request in
 * every form, and a note for a wildcard listen; without "network", the
 * only network with a VPN). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/loop.h"
#include "core/wgkey.h"
#include "ctl/ctl.h"
#include "ctl/vpn_cmds.h"
#include "gw/gateway.h"
#include "harness.h"
#include "switch/switch.h"
#include "vpn/vpn.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct w {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_network *lan;
    struct vn_vpn *vpn;
    struct vn_ctl *ctl;
    char key_file[64];
    char pub[VN_KEY_B64_LEN + 1];    /* the VPN's */
    char peer_a[VN_KEY_B64_LEN + 1]; /* the configured peer's */
};

/* The public key (base64) of the private key whose bytes are all seed. */
static void key_pair(uint8_t seed, char priv[VN_KEY_B64_LEN + 1], char pub[VN_KEY_B64_LEN + 1])
{
    uint8_t k[VN_KEY_LEN], p[VN_KEY_LEN];
    memset(k, seed, sizeof k);
    k[0] &= 248;
    k[31] = (uint8_t)((k[31] & 127) | 64);
    assert_int_equal(vn_x25519_pubkey(p, k), 0);
    if (priv)
        vn_key_to_base64(priv, k);
    vn_key_to_base64(pub, p);
}

static int setup(void **state)
{
    struct w *w = calloc(1, sizeof *w);
    char priv[VN_KEY_B64_LEN + 1], e[256], yaml[1024];
    key_pair(7, priv, w->pub);
    key_pair(8, NULL, w->peer_a);
    snprintf(w->key_file, sizeof w->key_file, "/tmp/test_vpn_ctl.%d.key", (int)getpid());
    FILE *f = fopen(w->key_file, "w");
    assert_non_null(f);
    fprintf(f, "%s\n", priv);
    fclose(f);
    chmod(w->key_file, 0600);
    snprintf(yaml, sizeof yaml,
             "networks:\n"
             "  - name: lan\n"
             "    mode: nat\n"
             "    dhcp: {enabled: false}\n"
             "    vpn:\n"
             "      listen: \"127.0.0.1:51820\"\n"
             "      private_key_file: %s\n"
             "      address: 10.99.0.1/24\n"
             "      max_peers: 3\n"
             "      peers:\n"
             "        - {name: a, public_key: \"%s\", allowed_ips: [10.99.0.2/32, 10.98.0.0/16]}\n"
             "  - {name: plain, mode: isolated}\n",
             w->key_file, w->peer_a);
    w->c = harness_config(yaml);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    w->lan = harness_network(w->sw, &w->c->nets[0]);
    harness_network(w->sw, &w->c->nets[1]);
    w->lan->conf.vpn.listen.port = 0; /* ephemeral: tests may run side by side */
    w->lan->gw = vn_gw_new(w->sw, w->lan, "/nonexistent", e, sizeof e);
    if (!w->lan->gw)
        fail_msg("gateway: %s", e);
    if (vn_vpn_attach(w->lan->gw, e, sizeof e) < 0)
        fail_msg("vpn: %s", e);
    w->vpn = vn_vpn_of(w->lan->gw);
    assert_non_null(w->vpn);
    w->ctl = vn_ctl_new_detached();
    vn_vpn_cmds_register(w->ctl, w->sw);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct w *w = *state;
    vn_ctl_close(w->ctl);
    vn_gw_free(w->lan->gw);
    w->lan->gw = NULL;
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    unlink(w->key_file);
    free(w);
    return 0;
}

/* Run the request req (consumed) and return its reply. */
static json_t *call(struct w *w, json_t *req)
{
    char *line = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    char *rep = vn_ctl_handle_line(w->ctl, line, strlen(line));
    json_t *r = json_loads(rep, 0, NULL);
    free(line);
    free(rep);
    assert_non_null(r);
    return r;
}

/* The result of req, which must succeed. */
static json_t *ok(struct w *w, json_t *req)
{
    json_t *r = call(w, req);
    if (!json_is_true(json_object_get(r, "ok")))
        fail_msg("refused: %s", json_string_value(json_object_get(r, "error")));
    json_t *res = json_incref(json_object_get(r, "result"));
    json_decref(r);
    return res;
}

/* req must be refused with an error containing want. */
static void refused(struct w *w, json_t *req, const char *want)
{
    char *line = json_dumps(req, JSON_COMPACT);
    json_t *r = call(w, req);
    const char *e = json_string_value(json_object_get(r, "error"));
    if (json_is_true(json_object_get(r, "ok")) || !e || !strstr(e, want))
        fail_msg("%s: wanted an error with '%s', got %s", line, want, e ? e : "success");
    free(line);
    json_decref(r);
}

/* A vpn.peer.add request of peer name with a key from seed and one prefix. */
static json_t *add_req(const char *name, uint8_t seed, const char *prefix)
{
    char pub[VN_KEY_B64_LEN + 1];
    key_pair(seed, NULL, pub);
    return json_pack("{s:s,s:s,s:s,s:s,s:[s]}", "cmd", "vpn.peer.add", "network", "lan", "name",
                     name, "public_key", pub, "allowed_ips", prefix);
}

static unsigned npeers(struct w *w)
{
    return vn_vpn_device(w->vpn)->npeers;
}

static void test_show(void **state)
{
    struct w *w = *state;
    json_t *r = ok(w, json_pack("{s:s}", "cmd", "vpn.show"));
    assert_int_equal(json_array_size(r), 1);
    json_t *v = json_array_get(r, 0);
    char listen[40];
    snprintf(listen, sizeof listen, "127.0.0.1:%u", vn_vpn_listen_port(w->vpn));
    assert_string_equal(json_string_value(json_object_get(v, "network")), "lan");
    assert_string_equal(json_string_value(json_object_get(v, "public_key")), w->pub);
    assert_string_equal(json_string_value(json_object_get(v, "listen")), listen);
    assert_int_equal(json_integer_value(json_object_get(v, "listen_port")),
                     vn_vpn_listen_port(w->vpn));
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "address"), 0)),
                        "10.99.0.1/24");
    json_t *p = json_array_get(json_object_get(v, "peers"), 0);
    assert_string_equal(json_string_value(json_object_get(p, "name")), "a");
    assert_string_equal(json_string_value(json_object_get(p, "public_key")), w->peer_a);
    assert_true(json_is_null(json_object_get(p, "endpoint")));
    assert_int_equal(json_integer_value(json_object_get(p, "latest_handshake")), 0);
    json_decref(r);
    r = ok(w, json_pack("{s:s,s:s}", "cmd", "vpn.show", "network", "lan"));
    assert_int_equal(json_array_size(r), 1);
    json_decref(r);
    refused(w, json_pack("{s:s,s:s}", "cmd", "vpn.show", "network", "nope"),
            "no network named 'nope'");
    refused(w, json_pack("{s:s,s:s}", "cmd", "vpn.show", "network", "plain"),
            "network 'plain' has no VPN");
}

static void test_peer_add(void **state)
{
    struct w *w = *state;
    char pub[VN_KEY_B64_LEN + 1];
    key_pair(9, NULL, pub);
    json_t *req = add_req("b", 9, "10.99.0.3/32");
    json_array_append_new(json_object_get(req, "allowed_ips"), json_string("fd99::3"));
    json_object_set_new(req, "endpoint", json_string("127.0.0.1:9"));
    json_object_set_new(req, "persistent_keepalive", json_integer(25));
    json_object_set_new(req, "preshared_key", json_string(w->peer_a)); /* any key will do */
    json_t *r = ok(w, req);
    assert_string_equal(json_string_value(json_object_get(r, "name")), "b");
    assert_string_equal(json_string_value(json_object_get(r, "network")), "lan");
    assert_string_equal(json_string_value(json_object_get(r, "public_key")), pub);
    assert_string_equal(json_string_value(json_object_get(r, "endpoint")), "127.0.0.1:9");
    assert_int_equal(json_integer_value(json_object_get(r, "persistent_keepalive")), 25);
    assert_true(json_is_true(json_object_get(r, "preshared_key")));
    json_t *al = json_object_get(r, "allowed_ips");
    assert_int_equal(json_array_size(al), 2);
    json_decref(r);
    assert_int_equal(npeers(w), 2);
    struct vn_addr a;
    assert_int_equal(vn_addr_parse("fd99::3", &a), 0);
    struct vn_vpn_peer *p = vn_vpn_dev_route(vn_vpn_device(w->vpn), &a);
    assert_non_null(p);
    assert_string_equal(p->name, "b");
    /* refusals: nothing changes */
    refused(w, json_pack("{s:s,s:s}", "cmd", "vpn.peer.add", "network", "lan"), "need \"name\"");
    refused(w, add_req("bad name", 10, "10.99.0.4/32"), "need \"name\"");
    refused(w, add_req("-x", 10, "10.99.0.4/32"), "need \"name\"");
    refused(w, add_req("abcdefghijabcdefghijabcdefghijabc", 10, "10.99.0.4/32"), "need \"name\"");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_set_new(req, "public_key", json_string("AAAA"));
    refused(w, req, "is not a WireGuard public key");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_del(req, "public_key");
    refused(w, req, "need \"public_key\"");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_set_new(req, "public_key", json_string(w->pub));
    refused(w, req, "own public key");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_set_new(req, "preshared_key", json_string("short"));
    refused(w, req, "preshared_key is not a WireGuard key");
    refused(w, add_req("a", 10, "10.99.0.4/32"), "already has a VPN peer named 'a'");
    refused(w, add_req("c", 9, "10.99.0.4/32"), "is already peer 'b''s");
    refused(w, add_req("c", 10, "10.0.2.77/32"), "overlaps the network's subnet 10.0.2.0/24");
    refused(w, add_req("c", 10, "0.0.0.0/0"), "overlaps the network's subnet");
    char in6[80];
    vn_addr_str(&w->lan->gw->prefix6, in6, sizeof in6);
    strcat(in6, "/80");
    refused(w, add_req("c", 10, in6), "overlaps the network's subnet6");
    refused(w, add_req("c", 10, "10.99.0.2/32"), "allowed IP 10.99.0.2/32 is already peer 'a''s");
    refused(w, add_req("c", 10, "10.98.0.0/16"), "is already peer 'a''s");
    refused(w, add_req("c", 10, "10.99.0.5/24"), "host bits set (did you mean 10.99.0.0/24?)");
    refused(w, add_req("c", 10, "10.99.0.5/33"), "prefix length must be 0 to 32");
    refused(w, add_req("c", 10, "nowhere"), "is not an IPv4 or IPv6 prefix");
    req = add_req("c", 10, "10.99.0.4/32");
    json_array_append_new(json_object_get(req, "allowed_ips"), json_string("10.99.0.4"));
    refused(w, req, "listed twice");
    req = add_req("c", 10, "10.99.0.4/32");
    json_array_clear(json_object_get(req, "allowed_ips"));
    refused(w, req, "need \"allowed_ips\"");
    req = add_req("c", 10, "10.99.0.4/32");
    for (int i = 0; i < 32; i++)
        json_array_append_new(json_object_get(req, "allowed_ips"), json_string("10.97.0.1"));
    refused(w, req, "at most 32 prefixes");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_set_new(req, "endpoint", json_string("host.example:51820"));
    refused(w, req, "is not ADDR:PORT");
    req = add_req("c", 10, "10.99.0.4/32");
    json_object_set_new(req, "persistent_keepalive", json_integer(65536));
    refused(w, req, "persistent_keepalive: seconds");
    json_decref(ok(w, add_req("c", 10, "10.99.0.4/32")));
    assert_int_equal(npeers(w), 3);
    /* the table is full (max_peers 3): refused, the three kept and routed */
    refused(w, add_req("d", 11, "10.99.0.6/32"), "peer table is full (vpn.max_peers 3)");
    assert_int_equal(npeers(w), 3);
    assert_int_equal(vn_addr_parse("10.99.0.2", &a), 0);
    assert_non_null(vn_vpn_dev_route(vn_vpn_device(w->vpn), &a));
    req = add_req("d", 11, "10.99.0.6/32");
    json_object_set_new(req, "network", json_string("plain"));
    refused(w, req, "network 'plain' has no VPN");
}

static void test_peer_del(void **state)
{
    struct w *w = *state;
    json_decref(ok(w, add_req("b", 9, "10.99.0.3/32")));
    json_t *r = ok(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.peer.del", "network", "lan", "peer",
                                "b"));
    assert_string_equal(json_string_value(json_object_get(r, "name")), "b");
    json_decref(r);
    assert_int_equal(npeers(w), 1);
    struct vn_addr a;
    assert_int_equal(vn_addr_parse("10.99.0.3", &a), 0);
    assert_null(vn_vpn_dev_route(vn_vpn_device(w->vpn), &a));
    r = ok(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.peer.del", "network", "lan", "peer",
                        w->peer_a));
    assert_string_equal(json_string_value(json_object_get(r, "name")), "a");
    json_decref(r);
    assert_int_equal(npeers(w), 0);
    refused(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.peer.del", "network", "lan", "peer", "a"),
            "no VPN peer named 'a'");
    refused(w, json_pack("{s:s,s:s}", "cmd", "vpn.peer.del", "network", "lan"), "need \"peer\"");
    /* the name is free again */
    json_decref(ok(w, add_req("a", 8, "10.99.0.2/32")));
}

static const char *jarr(json_t *o, const char *k, size_t i)
{
    return json_string_value(json_array_get(json_object_get(o, k), i));
}

static void test_client_config(void **state)
{
    struct w *w = *state;
    json_t *r = ok(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan",
                                "peer", "a"));
    char ep[40], p6[80], s[VN_ADDR_STRLEN];
    snprintf(ep, sizeof ep, "127.0.0.1:%u", vn_vpn_listen_port(w->vpn));
    snprintf(p6, sizeof p6, "%s/64", vn_addr_str(&w->lan->gw->prefix6, s, sizeof s));
    assert_string_equal(json_string_value(json_object_get(r, "public_key")), w->peer_a);
    assert_string_equal(json_string_value(json_object_get(r, "server_public_key")), w->pub);
    assert_int_equal(json_array_size(json_object_get(r, "addresses")), 1); /* not the /16 */
    assert_string_equal(jarr(r, "addresses", 0), "10.99.0.2/32");
    assert_int_equal(json_array_size(json_object_get(r, "allowed_ips")), 3);
    assert_string_equal(jarr(r, "allowed_ips", 0), "10.0.2.0/24");
    assert_string_equal(jarr(r, "allowed_ips", 1), p6);
    assert_string_equal(jarr(r, "allowed_ips", 2), "10.99.0.0/24");
    assert_string_equal(jarr(r, "dns", 0), "10.0.2.3"); /* dns is on by default on nat */
    assert_int_equal(json_integer_value(json_object_get(r, "mtu")), 1420);
    assert_int_equal(json_integer_value(json_object_get(r, "persistent_keepalive")), 25);
    assert_string_equal(json_string_value(json_object_get(r, "endpoint")), ep);
    assert_true(json_is_false(json_object_get(r, "preshared_key")));
    assert_null(json_object_get(r, "all_traffic_allowed_ips")); /* no vpn.nat */
    json_decref(r);
    /* the endpoint given, in every form */
    static const char *const forms[][2] = {
        { "localhost", "localhost:%u" }, { "localhost:4500", "localhost:4500" },
        { "192.0.2.1", "192.0.2.1:%u" },           { "fd00::1", "[fd00::1]:%u" },
        { "[fd00::1]", "[fd00::1]:%u" },           { "[fd00::1]:4500", "[fd00::1]:4500" },
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char want[80];
        snprintf(want, sizeof want, forms[i][1], vn_vpn_listen_port(w->vpn));
        r = ok(w, json_pack("{s:s,s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan",
                            "peer", "a", "endpoint", forms[i][0]));
        assert_string_equal(json_string_value(json_object_get(r, "endpoint")), want);
        json_decref(r);
    }
    static const char *const bad[] = { "a b", "host:0", "host:99999", ":51820", "[fd00::1",
                                       "[fd00::1]x", "[fd00::1]:", "x;y" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        refused(w, json_pack("{s:s,s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan",
                             "peer", "a", "endpoint", bad[i]),
                "endpoint");
    /* a wildcard listen address: no endpoint, a note */
    memset(w->lan->conf.vpn.listen.ip.a, 0, 16);
    r = ok(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan", "peer",
                        "a"));
    assert_true(json_is_null(json_object_get(r, "endpoint")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "endpoint_note")), "wildcard"));
    json_decref(r);
    /* a peer with an endpoint and a keepalive of its own gets none from us */
    json_t *req = add_req("site", 12, "10.50.0.0/16");
    json_object_set_new(req, "endpoint", json_string("127.0.0.1:9"));
    json_object_set_new(req, "persistent_keepalive", json_integer(10));
    json_decref(ok(w, req));
    r = ok(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan", "peer",
                        "site"));
    assert_int_equal(json_integer_value(json_object_get(r, "persistent_keepalive")), 0);
    assert_int_equal(json_array_size(json_object_get(r, "addresses")), 0);
    json_decref(r);
    refused(w, json_pack("{s:s,s:s,s:s}", "cmd", "vpn.client-config", "network", "lan", "peer",
                         "nobody"),
            "no VPN peer named 'nobody'");
    refused(w, json_pack("{s:s,s:s}", "cmd", "vpn.client-config", "network", "lan"),
            "need \"peer\"");
    /* without "network": the only network with a VPN */
    r = ok(w, json_pack("{s:s,s:s}", "cmd", "vpn.client-config", "peer", "a"));
    assert_string_equal(json_string_value(json_object_get(r, "network")), "lan");
    json_decref(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_show, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_add, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_del, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
