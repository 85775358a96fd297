/* Unit tests of the configuration model: the YAML loader (src/conf/yaml.c),
 * the command-line specs (src/conf/flags.c), the schema and its setters
 * (src/conf/schema.c, port_types.c), validation (src/conf/validate.c) and
 * --print-config (src/conf/print.c). Good configs load with their defaults;
 * every error names FILE:LINE (or "command line") and the reason; numeric
 * keys accept their documented bounds and nothing beyond them; the key
 * tables of docs/vnetd.conf.md list exactly the schema's keys, with the
 * schema's types and defaults (test_docs_match_schema). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "conf/config.h"
#include "conf/flags.h"
#include "conf/schema.h"
#include "conf/vpn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The default subnet6 of a network called "lan" (FNV-1a 64 of "vnet-ula/lan"). */
#define ULA_LAN "fd15:6136:3c84:9f43::"

static struct vn_conf_err err;

/* Load text as "t.yaml" and validate it; returns 0 or -1 (message in err). */
static int load(const char *text, struct vn_config **out)
{
    return harness_load(text, out, &err);
}

/* The text must fail with an error at line `line` containing `what`. */
static void expect_error(const char *text, int line, const char *what)
{
    int rc = load(text, NULL);
    if (rc == 0)
        fail_msg("accepted, expected an error about '%s':\n%s", what, text);
    char where[32];
    snprintf(where, sizeof where, "t.yaml:%d: ", line);
    if (strncmp(err.msg, where, strlen(where)) || !strstr(err.msg, what))
        fail_msg("error '%s', expected '%s...%s'", err.msg, where, what);
}

static void expect_ok(const char *text)
{
    if (load(text, NULL))
        fail_msg("rejected: %s\n%s", err.msg, text);
}

static const char GOOD[] =
    "control: /tmp/vnet-unit/ctl.sock\n"
    "log: debug\n"
    "networks:\n"
    "  - name: lan\n"
    "    mode: nat\n"
    "    vlan: 10\n"
    "    mtu: 9000\n"
    "    fdb_max: 100\n"
    "    fdb_aging: 0\n"
    "    dhcp:\n"
    "      range: 10.0.2.100-10.0.2.120\n"
    "      lease_time: 600\n"
    "      hosts:\n"
    "        - mac: 52:54:00:00:00:01\n"
    "          ip: 10.0.2.50\n"
    "          name: db\n"
    "    dns:\n"
    "      domain: example.test\n"
    "      upstream: [127.0.0.1, \"[::1]:5353\"]\n"
    "    forwards:\n"
    "      - proto: tcp\n"
    "        host: 2222\n"
    "        guest: 10.0.2.50:22\n"
    "  - name: mgmt\n"
    "    mode: isolated\n"
    "    vlan: 20\n"
    "ports:\n"
    "  - name: vm1\n"
    "    type: stream\n"
    "    network: lan\n"
    "    path: /tmp/vnet-unit/vm1.sock\n"
    "  - name: up\n"
    "    type: dgram\n"
    "    trunk: [lan, mgmt]\n"
    "    native: lan\n"
    "    path: /tmp/vnet-unit/up.sock\n";

static void test_good(void **state)
{
    (void)state;
    struct vn_config *c;
    if (load(GOOD, &c))
        fail_msg("%s", err.msg);
    assert_string_equal(c->control, "/tmp/vnet-unit/ctl.sock");
    assert_int_equal(c->nnets, 2);
    assert_int_equal(c->nports, 2);
    const struct vn_net_conf *n = &c->nets[0];
    assert_string_equal(n->name, "lan");
    assert_int_equal(n->mode, VN_MODE_NAT);
    assert_int_equal(n->vlan, 10);
    assert_int_equal(n->mtu, 9000);
    assert_int_equal(n->fdb_max, 100);
    assert_int_equal(n->fdb_aging, 0);
    /* nat defaults without a subnet: QEMU's 10.0.2.0/24, .2 gateway, .3 DNS */
    assert_int_equal(n->subnet, 0x0a000200);
    assert_int_equal(n->prefix, 24);
    assert_int_equal(n->gateway, 0x0a000202);
    assert_int_equal(n->dns_addr, 0x0a000203);
    assert_true(n->dhcp);
    assert_int_equal(n->dhcp_start, 0x0a000264);
    assert_int_equal(n->dhcp_end, 0x0a000278);
    assert_int_equal(n->lease_time, 600);
    assert_int_equal(n->nhosts, 1);
    assert_int_equal(n->hosts[0].ip, 0x0a000232);
    assert_string_equal(n->hosts[0].name, "db");
    assert_string_equal(n->domain, "example.test");
    assert_int_equal(n->nupstream, 2);
    assert_int_equal(n->upstream[0].port, 53);
    assert_int_equal(n->upstream[1].ip.family, 10 /* AF_INET6 */);
    assert_int_equal(n->upstream[1].port, 5353);
    assert_int_equal(n->nforwards, 1);
    assert_int_equal(n->forwards[0].guest_port, 22);
    assert_int_equal(n->forwards[0].host.port, 2222);
    /* Each item remembers its line. */
    assert_string_equal(n->src.file, "t.yaml");
    assert_int_equal(n->src.line, 4);
    assert_int_equal(c->nets[1].src.line, 24);
    assert_int_equal(c->ports[1].src.line, 32);
    const struct vn_port_conf *p = &c->ports[1];
    assert_string_equal(vn_port_type_name(p->type), "dgram");
    assert_int_equal(p->ntrunk, 2);
    assert_string_equal(p->trunk[1], "mgmt");
    assert_string_equal(p->native, "lan");
    vn_conf_free(c);
}

static void test_defaults(void **state)
{
    (void)state;
    struct vn_config *c;
    if (load("networks:\n  - name: n\n    mode: isolated\n", &c))
        fail_msg("%s", err.msg);
    assert_int_equal(c->nets[0].mtu, VN_DEFAULT_MTU);
    assert_int_equal(c->nets[0].fdb_max, VN_DEFAULT_FDB_MAX);
    assert_int_equal(c->nets[0].fdb_aging, VN_DEFAULT_FDB_AGING);
    assert_false(vn_net_has_gateway(&c->nets[0]));
    vn_conf_free(c);
    /* An isolated network with a subnet gets gateway services. */
    if (load("networks:\n  - name: n\n    mode: isolated\n    subnet: 192.168.7.0/24\n", &c))
        fail_msg("%s", err.msg);
    assert_true(vn_net_has_gateway(&c->nets[0]));
    assert_int_equal(c->nets[0].gateway, 0xc0a80701);
    vn_conf_free(c);
}

/* --print-config output loads back to the same model (printed identically). */
static void test_print_roundtrip(void **state)
{
    (void)state;
    struct vn_config *c;
    if (load(GOOD, &c))
        fail_msg("%s", err.msg);
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *f = open_memstream(&t1, &l1);
    vn_conf_print(c, f);
    fclose(f);
    vn_conf_free(c);
    if (load(t1, &c))
        fail_msg("printed config rejected: %s\n%s", err.msg, t1);
    f = open_memstream(&t2, &l2);
    vn_conf_print(c, f);
    fclose(f);
    vn_conf_free(c);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
}

static void test_errors_name_line(void **state)
{
    (void)state;
    expect_error("networks:\n  - name: a\n    bogus: 1\n", 3, "unknown network key 'bogus'");
    expect_error("foo: bar\n", 1, "unknown key 'foo'");
    expect_error("log: loud\n", 1, "log: 'loud'");
    expect_error("control: /tmp/x\nworkers: 0\n", 2, "workers");
    expect_error("control: /tmp/x\nworkers: 65\n", 2, "workers");
    expect_ok("workers: 64\nnetworks:\n  - name: a\n");
    expect_error("networks:\n  - name: a\n    mode: bridgez\n", 3, "mode: 'bridgez'");
    expect_error("networks:\n  - name: a\n  - name: a\n", 3, "defined twice");
    expect_error("networks:\n  - name: a\n    vlan: 5\n  - name: b\n    vlan: 5\n", 4,
                 "vlan 5 is already used");
    expect_error("networks:\n  - name: -x\n", 2, "must start with a letter or digit");
    expect_error("networks:\n  - name: a\n    subnet: 10.0.2.1/24\n", 3, "host bits set");
    expect_error("networks:\n  - name: a\n    subnet: 10.0.2.0\n", 3, "subnet");
    expect_error("networks:\n  - name: a\n    dhcp:\n      range: 10.0.2.50-10.0.2.20\n", 4,
                 "ends before it starts");
    expect_error("networks:\n  - name: a\n    dhcp:\n      range: 10.0.3.10-10.0.3.20\n", 2,
                 "is not inside");
    expect_error("networks:\n  - name: a\n    dhcp:\n      hosts:\n        - mac: 01:00:00:00:00:01\n",
                 5, "not a unicast MAC");
    expect_error("networks:\n  - name: a\n    forwards:\n      - proto: sctp\n", 4,
                 "not tcp or udp");
    expect_error("networks:\n  - name: a\n    mode: isolated\n    gateway: 10.0.0.1\n", 2,
                 "need a 'subnet'");
    expect_error("ports:\n  - name: p\n    network: nope\n    type: stream\n", 2,
                 "network 'nope' is not defined");
    expect_error("networks:\n  - name: a\nports:\n  - name: p\n    network: a\n", 4,
                 "missing 'type'");
    expect_error("networks:\n  - name: a\nports:\n  - name: p\n    type: stream\n", 4,
                 "missing 'network'");
    expect_error("networks:\n  - name: a\nports:\n  - name: p\n    type: serial\n    network: a\n",
                 5, "type: 'serial'");
    expect_error("networks:\n  - name: a\n  - name: b\nports:\n  - name: p\n    type: stream\n"
                 "    trunk: [a, b]\n    native: a\n",
                 5, "has no 'vlan' id");
    expect_error("networks:\n  - name: a\n    vlan: 3\nports:\n  - name: p\n    type: stream\n"
                 "    trunk: [a, a]\n",
                 7, "listed twice");
    expect_error("networks:\n  - name: a\nports:\n  - name: p\n    type: tap\n    network: a\n"
                 "    mac: ff:ff:ff:ff:ff:ff\n",
                 7, "not a unicast address");
    expect_error("networks:\n  - name: a\nports:\n  - {name: p, type: stream, network: a, path: /tmp/x.sock}\n"
                 "  - {name: q, type: stream, network: a, path: /tmp/x.sock}\n",
                 5, "already used");
}

static void test_errors_structure(void **state)
{
    (void)state;
    expect_error("log: info\nfoo: bar: baz\npid: /x\n", 2, "YAML syntax error");
    expect_error("a: b\n  c: d\n", 1, "YAML syntax error");
    expect_error("log: info\npid: \"/x\n", 2, "YAML syntax error");
    expect_error("- 1\n- 2\n", 1, "top level must be a mapping");
    expect_error("networks: 5\n", 1, "must be a list");
    expect_error("networks:\n  - 5\n", 2, "must be a mapping");
    expect_error("log: [a, b]\n", 1, "expected a single value");
    expect_error("networks:\n  - name: a\n    mtu: [1, 2]\n", 3, "mtu");
    /* An empty document is refused and names the file. (The reason given
     * today is "cannot parse the YAML" / "cannot read the file", not that it
     * is empty: reported, not asserted.) */
    assert_int_equal(load("", NULL), -1);
    assert_non_null(strstr(err.msg, "t.yaml"));
    /* A missing file names the path. */
    struct vn_config *c = vn_conf_new();
    assert_int_equal(vn_conf_load_yaml(c, "/nonexistent/vnet.yaml", &err), -1);
    assert_non_null(strstr(err.msg, "/nonexistent/vnet.yaml"));
    vn_conf_free(c);
}

/* Every numeric key: the documented bounds are accepted, one beyond is not. */
static void test_bounds(void **state)
{
    (void)state;
    static const struct {
        const char *key;
        const char *lo, *hi, *below, *above;
    } b[] = {
        { "mtu", "68", "65520", "67", "65521" },
        { "vlan", "1", "4094", "0", "4095" },
        { "fdb_max", "1", "1048576", "0", "1048577" },
        { "fdb_aging", "0", "31536000", "-1", "31536001" },
        { "nat.max_flows", "16", "1048576", "15", "1048577" },
        { "nat.udp_timeout", "1", "86400", "0", "86401" },
        { "nat.tcp_timeout", "10", "604800", "9", "604801" },
        { "dhcp.lease_time", "60", "31536000", "59", "31536001" },
        { "dhcp6.lease_time", "10", "31536000", "9", "31536001" },
    };
    for (size_t i = 0; i < sizeof b / sizeof b[0]; i++) {
        char text[256];
        const char *vals[4] = { b[i].lo, b[i].hi, b[i].below, b[i].above };
        for (int k = 0; k < 4; k++) {
            /* dotted keys go in as flow mappings: dhcp: {lease_time: 60} */
            const char *dot = strchr(b[i].key, '.');
            if (dot)
                snprintf(text, sizeof text, "networks:\n  - name: a\n    %.*s: {%s: %s}\n",
                         (int)(dot - b[i].key), b[i].key, dot + 1, vals[k]);
            else
                snprintf(text, sizeof text, "networks:\n  - name: a\n    %s: %s\n", b[i].key,
                         vals[k]);
            if (k < 2)
                expect_ok(text);
            else
                expect_error(text, 3, b[i].key);
        }
        /* Not a number at all */
        snprintf(text, sizeof text, "networks:\n  - name: a\n    %s: lots\n", b[i].key);
        if (!strchr(b[i].key, '.'))
            expect_error(text, 3, "is not a whole number");
    }
    /* Names: 31 characters fit, 32 do not. */
    expect_ok("networks:\n  - name: abcdefghijabcdefghijabcdefghij1\n");
    expect_error("networks:\n  - name: abcdefghijabcdefghijabcdefghij12\n", 2, "1 to 31");
    /* Subnet prefix 8..30 */
    expect_ok("networks:\n  - name: a\n    subnet: 10.0.0.0/8\n    dhcp: {range: 10.0.0.20-10.0.0.200}\n");
    expect_ok("networks:\n  - name: a\n    subnet: 10.0.0.0/30\n    mode: isolated\n");
    expect_error("networks:\n  - name: a\n    subnet: 10.0.0.0/31\n", 3, "subnet");
    expect_error("networks:\n  - name: a\n    subnet: 10.0.0.0/7\n", 3, "subnet");
    /* control_mode is octal and at most 0777 */
    expect_ok("control_mode: \"0660\"\n");
    expect_error("control_mode: \"0800\"\n", 1, "octal");
    expect_error("control_mode: \"01777\"\n", 1, "octal");
    /* At most 4 upstreams */
    expect_error("networks:\n  - name: a\n    dns:\n      upstream: [127.0.0.1, 127.0.0.2, "
                 "127.0.0.3, 127.0.0.4, 127.0.0.5]\n",
                 4, "at most 4");
}

static void test_too_many(void **state)
{
    (void)state;
    /* 64 networks fit, the 65th is refused at its line. */
    size_t cap = 70 * 40 + 64;
    char *t = malloc(cap);
    size_t n = (size_t)snprintf(t, cap, "networks:\n");
    for (int i = 0; i < 65; i++)
        n += (size_t)snprintf(t + n, cap - n, "  - {name: n%d, mode: isolated}\n", i);
    expect_error(t, 66, "too many networks");
    free(t);
}

static void test_flags(void **state)
{
    (void)state;
    struct vn_config *c = vn_conf_new();
    assert_int_equal(vn_conf_flag_network(c, "lan,mode=isolated,vlan=7,mtu=1400", &err), 0);
    assert_int_equal(vn_conf_flag_network(c, "wan,vlan=8,dhcp.range=10.0.2.20-10.0.2.30,"
                                             "dns.upstream=127.0.0.1:5300",
                                          &err),
                     0);
    assert_int_equal(vn_conf_flag_port(c, "p1,type=stream,network=lan,path=/tmp/vnet-unit/p1.sock",
                                       &err),
                     0);
    assert_int_equal(vn_conf_flag_port(c, "t1,type=dgram,trunk=lan+wan,native=lan,"
                                          "path=/tmp/vnet-unit/t1.sock",
                                       &err),
                     0);
    if (vn_conf_validate(c, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(c->nets[0].vlan, 7);
    assert_int_equal(c->nets[0].mtu, 1400);
    assert_int_equal(c->nets[1].dhcp_start, 0x0a000214);
    assert_int_equal(c->nets[1].upstream[0].port, 5300);
    assert_int_equal(c->ports[1].ntrunk, 2);
    assert_null(c->nets[0].src.file);
    vn_conf_free(c);

    static const struct {
        int port;
        const char *spec, *what;
    } bad[] = {
        { 0, "lan,mtu=10", "mtu" },
        { 0, "lan,bogus=1", "unknown network key 'bogus'" },
        { 0, "lan,isolated", "expected key=value" },
        { 0, "bad name!", "name" },
        { 1, "p,type=stream,network=lan,color=red", "unknown port key 'color'" },
        { 1, "p,type=usb", "type: 'usb'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = vn_conf_new();
        memset(&err, 0, sizeof err);
        int rc = bad[i].port ? vn_conf_flag_port(c, bad[i].spec, &err)
                             : vn_conf_flag_network(c, bad[i].spec, &err);
        assert_int_equal(rc, -1);
        if (strncmp(err.msg, "command line: ", 14) || !strstr(err.msg, bad[i].what))
            fail_msg("'%s' gave '%s', expected '%s'", bad[i].spec, err.msg, bad[i].what);
        vn_conf_free(c);
    }
    /* Validation errors of flag items say "command line" too. */
    c = vn_conf_new();
    assert_int_equal(vn_conf_flag_port(c, "p,type=stream,network=ghost", &err), 0);
    assert_int_equal(vn_conf_validate(c, &err), -1);
    assert_non_null(strstr(err.msg, "command line: "));
    assert_non_null(strstr(err.msg, "ghost"));
    vn_conf_free(c);
    /* Over-long specs are refused, not truncated. */
    char longspec[1100];
    memset(longspec, 'a', sizeof longspec - 1);
    longspec[sizeof longspec - 1] = 0;
    c = vn_conf_new();
    assert_int_equal(vn_conf_flag_network(c, longspec, &err), -1);
    assert_non_null(strstr(err.msg, "too long"));
    vn_conf_free(c);
}

static void test_helpers(void **state)
{
    (void)state;
    uint64_t r;
    assert_int_equal(vn_parse_rate("100M", &r), 0);
    assert_int_equal(r, 100000000ull);
    assert_int_equal(vn_parse_rate("64k", &r), 0);
    assert_int_equal(r, 64000ull);
    assert_int_equal(vn_parse_rate("1.5G", &r), 0);
    assert_int_equal(r, 1500000000ull);
    assert_int_equal(vn_parse_rate("", &r), -1);
    assert_int_equal(vn_parse_rate("fast", &r), -1);
    struct vn_sockaddr sa;
    char buf[64];
    assert_int_equal(vn_sockaddr_parse("127.0.0.1:53", 0, &sa), 0);
    assert_string_equal(vn_sockaddr_str(&sa, buf, sizeof buf), "127.0.0.1:53");
    assert_int_equal(vn_sockaddr_parse("[::1]:5353", 0, &sa), 0);
    assert_string_equal(vn_sockaddr_str(&sa, buf, sizeof buf), "[::1]:5353");
    assert_int_equal(vn_sockaddr_parse("10.0.0.1", 53, &sa), 0);
    assert_int_equal(sa.port, 53);
    assert_int_equal(vn_sockaddr_parse("10.0.0.1:99999", 53, &sa), -1);
    assert_int_equal(vn_sockaddr_parse("nohost:1", 53, &sa), -1);
    struct vn_forward_conf f;
    struct vn_conf_src cl = { NULL, 0 };
    assert_int_equal(vn_conf_parse_forward("tcp:8080:80", &f, cl, &err), 0);
    assert_int_equal(f.host.port, 8080);
    assert_int_equal(f.guest_port, 80);
    assert_int_equal(vn_conf_parse_forward("udp:127.0.0.1:5353:10.0.2.15:53", &f, cl, &err), 0);
    assert_int_equal(vn_addr_v4(&f.guest), 0x0a00020f);
    assert_int_equal(vn_conf_parse_forward("icmp:1:2", &f, cl, &err), -1);
    assert_int_equal(vn_conf_parse_forward("tcp:8080", &f, cl, &err), -1);
}


/* Lists are a shape of the schema: a list where a value belongs, a value
 * where a list of mappings belongs, and mappings inside entries are refused
 * with the dotted key and the line. */
static void test_shapes(void **state)
{
    (void)state;
    expect_error("networks:\n  - name: a\n    forwards: 5\n", 3, "forwards must be a list of mappings");
    expect_error("networks:\n  - name: a\n    forwards: {proto: tcp}\n", 3,
                 "forwards must be a list of mappings");
    expect_error("networks:\n  - name: a\n    forwards: [5]\n", 3, "forwards must be a list of mappings");
    expect_error("networks:\n  - name: a\n    forwards:\n      - proto: [{}]\n", 4,
                 "forwards.proto: expected a single value");
    expect_error("networks:\n  - name: a\n    dhcp: {hosts: [{mac: [{}]}]}\n", 3,
                 "dhcp.hosts.mac: expected a single value");
    expect_error("networks:\n  - name: a\n    acl: {rules: [{}, drop]}\n", 3,
                 "acl.rules must be a list of mappings");
    expect_error("networks:\n  - name: a\n    acl: {rules: [{action: [{}]}]}\n", 3,
                 "acl.rules.action: expected a single value");
    expect_error("networks:\n  - name: a\n    forward: [{}]\n", 3, "forward: expected a single value");
    expect_error("networks:\n  - name: a\n    dns: {upstream: [{a: b}]}\n", 3,
                 "dns.upstream: each list element must be a single value");
    expect_error("networks:\n  - name: a\n    dns: {upstream: {a: b}}\n", 3, "dns.upstream must be a list");
    expect_error("networks:\n  - name: a\n    forwards: [{bogus: 1}]\n", 3,
                 "unknown forward key 'bogus' (proto, host, guest)");
    expect_error("networks:\n  - name: a\n    dhcp: {hosts: [{bogus: 1}]}\n", 3,
                 "unknown dhcp host key 'bogus' (mac, ip, name)");
    expect_error("networks:\n  - name: a\nports:\n  - {name: p, type: stream, network: a, rate: {in: {x: 1}}}\n",
                 4, "unknown rate key 'rate.in.x'");
    /* a scalar list element is appended; ACL rules get their fields */
    struct vn_config *c;
    if (load("networks:\n  - name: a\n    vlan: 2\n    acl: {rules: [{action: drop, proto: tcp}, {}]}\n"
             "ports:\n  - {name: p, type: stream, trunk: a, path: /tmp/vnet-unit/p.sock, "
             "acl: [{direction: out}]}\n", &c))
        fail_msg("%s", err.msg);
    assert_int_equal(c->nets[0].acl.n, 2);
    assert_int_equal(c->ports[0].ntrunk, 1);
    assert_int_equal(c->ports[0].acl.n, 1);
    vn_conf_free(c);
    /* The command line: list elements joined by '+', lists of mappings refused. */
    c = vn_conf_new();
    assert_int_equal(vn_conf_flag_network(c, "a,dns.upstream=127.0.0.1+127.0.0.2", &err), 0);
    assert_int_equal(c->nets[0].nupstream, 2);
    assert_int_equal(vn_conf_flag_network(c, "b,forwards.proto=tcp", &err), -1);
    assert_string_equal(err.msg, "command line: forwards must be a list of mappings");
    assert_int_equal(vn_conf_flag_network(c, "b,dhcp.hosts=x", &err), -1);
    assert_string_equal(err.msg, "command line: dhcp.hosts must be a list of mappings");
    vn_conf_free(c);
}

/* Keys of one port type on a port of another are refused with that type's message. */
static void test_port_types(void **state)
{
    (void)state;
    /* The backends' types, registered by port/port.c when the program starts,
     * in its table's order. */
    static const char *const names[] = { "stream", "dgram", "tap", "uplink", "vxlan",
                                         "vhost-user" };
    assert_int_equal(vn_conf_port_type_count(), 6);
    for (unsigned i = 0; i < 6; i++) {
        assert_string_equal(vn_conf_port_type_get(i)->name, names[i]);
        assert_string_equal(vn_port_type_name((int)i), names[i]);
        assert_int_equal(vn_conf_port_type_find(names[i]), (int)i);
    }
    assert_null(vn_conf_port_type_get(6));
    assert_string_equal(vn_port_type_name(VN_PORT_TYPE_UNSET), "?");
    /* What a client that is not root may do with each (ctl/switch_cmds.c). */
    assert_int_equal(vn_conf_port_type_get(0)->access, VN_PORT_ACCESS_SOCKET);
    assert_int_equal(vn_conf_port_type_get(1)->sock_type, SOCK_DGRAM);
    assert_true(vn_conf_port_type_get(2)->creates_ifname);
    assert_int_equal(vn_conf_port_type_get(3)->access, VN_PORT_ACCESS_ROOT);
    assert_int_equal(vn_conf_port_type_register(vn_conf_port_type_get(0)), -1); /* name taken */
    const char *pre = "networks:\n  - name: a\nports:\n  - name: p\n    network: a\n";
    static const struct {
        const char *rest, *what;
    } bad[] = {
        { "    type: stream\n    mtu: 1400\n", "'mtu' is a key of tap ports, not of stream ports (it takes path only and uses its network's mtu)" },
        { "    type: dgram\n    ifname: x\n", "'ifname' is a key of tap, uplink ports, not of dgram ports (it takes path only" },
        { "    type: tap\n    path: /tmp/x.sock\n", "'path' is a key of stream, dgram, vhost-user ports, not of tap ports (it takes netns, ifname, mac and mtu)" },
        { "    type: uplink\n    ifname: lo\n    mac: 52:54:00:00:00:01\n", "'mac' is a key of tap ports, not of uplink ports (it takes ifname only)" },
        { "    type: stream\n    mode: client\n", "'mode' is a key of vhost-user ports, not of stream ports" },
        { "    type: uplink\n", "an uplink needs 'ifname'" },
        { "    type: serial\n", "type: 'serial' is not one of stream, dgram, tap, uplink, vxlan" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "%s%s", pre, bad[i].rest);
        int rc = load(text, NULL);
        if (rc == 0 || !strstr(err.msg, bad[i].what) || strncmp(err.msg, "t.yaml:", 7))
            fail_msg("'%s' gave '%s', expected '%s'", bad[i].rest, rc ? err.msg : "ok", bad[i].what);
    }
    expect_ok("networks:\n  - name: a\nports:\n  - {name: p, type: uplink, network: a, ifname: lo}\n");
}

/* Rows that share a dotted prefix are consecutive (the printer opens each
 * prefix once), every row has help, every default parses and lies in range. */
static void check_rows(const char *scope, const struct vn_conf_key *k, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (!k[i].alias && !k[i].help)
            fail_msg("%s key '%s' has no help line", scope, k[i].name);
        const char *dot = strchr(k[i].name, '.');
        if (dot && i + 1 < n) {
            size_t l = (size_t)(dot - k[i].name) + 1;
            for (unsigned j = i + 2; j < n; j++)
                if (!strncmp(k[j].name, k[i].name, l) && strncmp(k[j - 1].name, k[i].name, l))
                    fail_msg("%s key '%s' is apart from the other '%.*s' keys", scope, k[j].name,
                             (int)l, k[i].name);
        }
        if (k[i].def && k[i].type == VN_CT_U32) {
            unsigned long long v = strtoull(k[i].def, NULL, 10);
            if (v < k[i].lo || v > k[i].hi)
                fail_msg("%s key '%s': default %s is out of range", scope, k[i].name, k[i].def);
        }
    }
}

static void test_schema_rows(void **state)
{
    (void)state;
    const struct vn_conf_table *t[] = { &vn_conf_global_table, &vn_conf_net_table,
                                        &vn_conf_port_table, &vn_conf_mirror_table,
                                        &vn_conf_forward_table, &vn_conf_dhcp_host_table,
                                        &vn_conf_dhcp6_host_table, &vn_conf_acl_rule_table,
                                        &vn_conf_vpn_peer_table };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        check_rows(t[i]->scope, t[i]->keys, t[i]->nkeys);
    for (unsigned i = 0; i < vn_conf_port_type_count(); i++)
        check_rows(vn_conf_port_type_get(i)->name, vn_conf_port_type_get(i)->keys,
                   vn_conf_port_type_get(i)->nkeys);
    /* Defaults come from the table. */
    struct vn_config *c = vn_conf_new();
    struct vn_net_conf *n = vn_conf_add_net(c, (struct vn_conf_src){ 0 }, &err);
    assert_int_equal(n->tcp_timeout, 7440);
    assert_int_equal(n->mode, VN_MODE_NAT);
    assert_true(n->map_host_loopback);
    assert_false(n->dhcp_set);
    assert_int_equal(c->control_mode, 0600);
    assert_int_equal(c->conntrack_max, 65536);
    assert_int_equal(vn_conf_add_mirror(c, (struct vn_conf_src){ 0 }, &err)->dir, 3);
    vn_conf_free(c);
}

/* ---- docs/vnetd.conf.md against the schema ---- */

#define DOC_MAX_ROWS 256
struct doc_row {
    char scope[16];
    char key[64];
    char type[512];    /* the type (or values) column, "\|" unescaped */
    char def[512];     /* the default column, or "" */
    bool has_def;
    const char *line;  /* the whole line */
    bool seen;
};
static struct doc_row doc_rows[DOC_MAX_ROWS];
static unsigned ndoc;
static char *doc_text;

static char *read_doc(void)
{
    /* __FILE__ is .../tests/unit/test_config.c, absolute or relative to the
     * build directory, which holds this binary as tests/unit/test_config. */
    char path[1024], build[512] = ".";
    const char *src = __FILE__;
    const char *cut = strstr(src, "tests/unit/test_config.c");
    if (src[0] != '/') {
        ssize_t n = readlink("/proc/self/exe", build, sizeof build - 1);
        build[n > 0 ? n : 0] = 0;
        for (int i = 0; i < 3; i++) {
            char *sl = strrchr(build, '/');
            if (sl)
                *sl = 0;
        }
    }
    snprintf(path, sizeof path, "%s%s%.*sdocs/vnetd.conf.md", src[0] == '/' ? "" : build,
             src[0] == '/' ? "" : "/", cut ? (int)(cut - src) : 0, src);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[256 * 1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return buf;
}

/* Split a table line into cells (no leading/trailing blanks), "\|" kept as "|". */
static unsigned cells(const char *line, char out[][512], unsigned max)
{
    unsigned n = 0;
    const char *s = strchr(line, '|');
    while (s && *s == '|' && n < max) {
        s++;
        size_t w = 0;
        while (*s && *s != '\n' && !(*s == '|' && s[-1] != '\\')) {
            if (!(*s == '\\' && s[1] == '|') && w < 511)
                out[n][w++] = *s;
            s++;
        }
        while (w && out[n][w - 1] == ' ')
            w--;
        out[n][w] = 0;
        size_t lead = strspn(out[n], " ");
        memmove(out[n], out[n] + lead, w - lead + 1);
        if (*s != '|')
            break;
        n++;
    }
    return n;
}

static void parse_doc(void)
{
    doc_text = read_doc();
    const char *scope = "";
    int tcol = -1, dcol = -1;
    bool keytable = false;
    for (char *line = doc_text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (!strncmp(line, "## ", 3) || !strncmp(line, "### ", 4)) {
            const char *h = line + (line[2] == ' ' ? 3 : 4);
            scope = !strncmp(h, "Top level", 9)       ? "global"
                    : !strncmp(h, "networks", 8)        ? "network"
                    : !strncmp(h, "Keys of every", 13)  ? "network"
                    : !strncmp(h, "Addressing", 10)     ? "network"
                    : !strncmp(h, "bridge", 6)          ? "network"
                    : !strncmp(h, "VPN", 3)             ? "network"
                    : !strncmp(h, "ACL rules", 9)       ? "acl rule"
                    : !strncmp(h, "ports", 5)           ? "port"
                    : !strncmp(h, "mirrors", 7)         ? "mirror"
                                                        : "";
        } else if (!strncmp(line, "`dhcp.hosts` entries", 20)) {
            scope = "dhcp host";
        } else if (!strncmp(line, "`dhcp6.hosts` entries", 21)) {
            scope = "dhcp6 host";
        } else if (!strncmp(line, "`forwards` entries", 18)) {
            scope = "forward";
        } else if (!strncmp(line, "`vpn.peers` entries", 19)) {
            scope = "vpn peer";
        } else if (line[0] == '|') {
            char c[8][512];
            unsigned n = cells(line, c, 8);
            if (!strcmp(c[0], "key") || !strcmp(c[0], "field")) {
                keytable = true;
                tcol = dcol = -1;
                for (unsigned i = 1; i < n; i++) {
                    if (!strcmp(c[i], "type") || !strcmp(c[i], "values"))
                        tcol = (int)i;
                    if (!strcmp(c[i], "default"))
                        dcol = (int)i;
                }
            } else if (keytable && *scope && c[0][0] == '`') {
                /* "`a`, `b`": one row per key */
                for (const char *k = c[0]; (k = strchr(k, '`'));) {
                    const char *e = strchr(k + 1, '`');
                    if (!e || ndoc >= DOC_MAX_ROWS)
                        break;
                    struct doc_row *r = &doc_rows[ndoc++];
                    snprintf(r->scope, sizeof r->scope, "%s", scope);
                    snprintf(r->key, sizeof r->key, "%.*s", (int)(e - k - 1), k + 1);
                    snprintf(r->type, sizeof r->type, "%s", tcol >= 0 ? c[tcol] : "");
                    snprintf(r->def, sizeof r->def, "%s", dcol >= 0 ? c[dcol] : "");
                    r->has_def = dcol >= 0;
                    r->line = line;
                    k = e + 1;
                }
            }
        } else {
            keytable = false;
        }
        if (nl)
            *nl = 0; /* lines end here from now on (r->line) */
        line = nl ? nl + 1 : NULL;
    }
}

static struct doc_row *doc_find(const char *scope, const char *key)
{
    for (unsigned i = 0; i < ndoc; i++)
        if (!strcmp(doc_rows[i].scope, scope) && !strcmp(doc_rows[i].key, key))
            return &doc_rows[i];
    return NULL;
}

/* The documented type and default agree with row k. */
static void check_doc_row(const char *scope, const struct vn_conf_key *k)
{
    if (k->alias || (k->flags & VN_KF_NODOC))
        return;
    struct doc_row *r = doc_find(scope, k->name);
    if (!r)
        fail_msg("%s key '%s' is not in the key tables of docs/vnetd.conf.md", scope, k->name);
    r->seen = true;
    char want[128];
    if (k->doc_type && !strstr(r->type, k->doc_type))
        fail_msg("docs: %s key '%s': type '%s' does not mention '%s'", scope, k->name, r->type,
                 k->doc_type);
    if (k->shape != VN_CS_SCALAR) {
        if (!strstr(r->type, "list"))
            fail_msg("docs: %s key '%s' is a list, documented as '%s'", scope, k->name, r->type);
        const char *am = strstr(r->line, "at most ");
        if (am && k->max && strtoul(am + 8, NULL, 10) != k->max)
            fail_msg("docs: %s key '%s': 'at most %lu', the schema says %u", scope, k->name,
                     strtoul(am + 8, NULL, 10), k->max);
    } else if (k->type == VN_CT_U32 || k->type == VN_CT_U16) {
        snprintf(want, sizeof want, "%llu–%llu", (unsigned long long)k->lo,
                 (unsigned long long)k->hi);
        if (!strstr(r->type, want))
            fail_msg("docs: %s key '%s': type '%s', the schema says %s", scope, k->name, r->type,
                     want);
    } else if (k->type == VN_CT_BOOL) {
        if (!strstr(r->type, "bool"))
            fail_msg("docs: %s key '%s' is a bool, documented as '%s'", scope, k->name, r->type);
    } else if (k->type == VN_CT_ENUM) {
        for (unsigned i = 0; i < k->nnames; i++) {
            snprintf(want, sizeof want, "`%s`", k->names[i].name);
            if (!strstr(r->type, want))
                fail_msg("docs: %s key '%s': type '%s' lacks %s", scope, k->name, r->type, want);
        }
    } else if (k->type == VN_CT_RATE) {
        if (!strstr(r->type, "rate"))
            fail_msg("docs: %s key '%s' is a rate, documented as '%s'", scope, k->name, r->type);
    }
    if (!r->has_def)
        return;
    if (k->flags & VN_KF_REQUIRED) {
        if (strcmp(r->def, "required"))
            fail_msg("docs: %s key '%s' is required, documented default '%s'", scope, k->name,
                     r->def);
    } else if (k->def) {
        char d[512];
        size_t w = 0;
        for (const char *s = r->def; *s && w < sizeof d - 1; s++)
            if (*s != '`' && *s != '"')
                d[w++] = *s;
        d[w] = 0;
        size_t l = strlen(k->def);
        if (strncmp(d, k->def, l) || (d[l] && d[l] != ' '))
            fail_msg("docs: %s key '%s': default '%s', the schema says '%s'", scope, k->name,
                     r->def, k->def);
    }
}

/* IPv6: the ULA default is a stable /64 derived from the name, the
 * addresses default per mode, and bad values name file, line and reason. */
static void test_ipv6(void **state)
{
    (void)state;
    struct vn_config *c = NULL, *c2 = NULL;
    assert_int_equal(load("networks:\n  - {name: lan}\n  - {name: ho, mode: host-only}\n"
                          "  - {name: iso, mode: isolated, subnet: 10.9.0.0/24}\n"
                          "  - {name: br, mode: bridge}\n  - {name: off, ipv6: false, subnet: 10.8.0.0/24}\n",
                          &c), 0);
    assert_int_equal(load("networks:\n  - {name: lan}\n", &c2), 0);
    const struct vn_net_conf *lan = &c->nets[0], *ho = &c->nets[1], *iso = &c->nets[2],
                             *br = &c->nets[3], *off = &c->nets[4];
    assert_true(lan->ipv6 && lan->subnet6.family == AF_INET6 && lan->subnet6.a[0] == 0xfd);
    static const uint8_t z[8];
    assert_memory_equal(lan->subnet6.a + 8, z, 8);                  /* a /64 */
    assert_memory_equal(lan->subnet6.a, c2->nets[0].subnet6.a, 16); /* stable */
    assert_memory_not_equal(lan->subnet6.a, ho->subnet6.a, 8);      /* differs by name */
    assert_int_equal(lan->gateway6.a[15], 2);
    assert_int_equal(lan->dns_addr6.a[15], 3);
    assert_true(lan->ra && lan->dhcp6_mode == VN_DHCP6_STATELESS);
    assert_int_equal(ho->gateway6.a[15], 1);
    assert_int_equal(ho->dns_addr6.a[15], 2);
    assert_true(iso->ipv6 && !iso->ra);
    assert_false(br->ipv6);
    assert_true(!off->ipv6 && !off->ra && off->dhcp6_mode == VN_DHCP6_OFF);
    /* the host-only tap gets gateway6 */
    bool found = false;
    for (unsigned i = 0; i < c->nports; i++)
        if (!strcmp(c->ports[i].name, "host-ho")) {
            found = true;
            assert_true(vn_addr_eq(&c->ports[i].host_addr6, &ho->gateway6));
        }
    assert_true(found);
    vn_conf_free(c);
    vn_conf_free(c2);
    expect_ok("networks:\n  - name: a\n    subnet6: fd00:1:2:3::/64\n    gateway6: fd00:1:2:3::1\n"
              "    ra: {interval: 30, lifetime: 0}\n    dhcp6: {mode: stateful}\n");
    expect_error("networks:\n  - name: a\n    subnet6: fd00::/48\n", 3, "not an IPv6 /64");
    expect_error("networks:\n  - name: a\n    subnet6: fd00::1/64\n", 3, "host bits set");
    expect_error("networks:\n  - name: a\n    subnet6: 10.0.0.0/64\n", 3, "not an IPv6 /64");
    expect_error("networks:\n  - name: a\n    subnet6: fd00::/64\n    gateway6: fd01::1\n", 2,
                 "gateway6 fd01::1 is not a host address");
    expect_error("networks:\n  - name: a\n    ra: {interval: 2}\n", 3, "interval");
    expect_error("networks:\n  - name: a\n    dhcp6: {mode: sometimes}\n", 3, "sometimes");
    expect_error("networks:\n  - {name: a, mode: isolated, subnet: 10.1.0.0/24, ra: true}\n", 2,
                 "isolated networks have no router");
    expect_error("networks:\n  - {name: a, mode: bridge, subnet6: fd00::/64}\n", 2,
                 "needs gateway services");
    /* forwards to IPv6 guests */
    struct vn_forward_conf f;
    struct vn_conf_err e;
    assert_int_equal(vn_conf_parse_forward("tcp:[::1]:8080:[fd00::15]:80", &f,
                                           (struct vn_conf_src){ NULL, 0 }, &e), 0);
    assert_int_equal(f.host.ip.family, AF_INET6);
    assert_int_equal(f.guest.family, AF_INET6);
    assert_int_equal(f.guest_port, 80);
    assert_int_equal(f.host.port, 8080);
    expect_error("networks:\n  - name: a\n    subnet6: fd00::/64\n    forwards:\n"
                 "      - {proto: tcp, host: \"[::1]:9000\", guest: \"[fd01::5]:80\"}\n", 5,
                 "not inside subnet6");
}

/* Print c, load the text back, print again: both texts must match. Returns
 * the first text (caller frees). */
static char *roundtrip(struct vn_config *c)
{
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    FILE *f = open_memstream(&t1, &l1);
    vn_conf_print(c, f);
    fclose(f);
    struct vn_config *c2;
    if (load(t1, &c2))
        fail_msg("printed config rejected: %s\n%s", err.msg, t1);
    f = open_memstream(&t2, &l2);
    vn_conf_print(c2, f);
    fclose(f);
    vn_conf_free(c2);
    assert_string_equal(t1, t2);
    free(t2);
    return t1;
}

static struct vn_addr a6(const char *s)
{
    struct vn_addr a;
    assert_int_equal(vn_addr_parse(s, &a), 0);
    return a;
}

/* The IPv6 keys one by one: the ULA's fixed derivation, the defaults of
 * each mode, ipv6: false, dhcp6.range and dhcp6.hosts, every bad value
 * with its line and reason, IPv6 forwards in every form, round trips. */
static void test_ipv6_keys(void **state)
{
    (void)state;
    struct vn_config *c;
    char a[VN_ADDR_STRLEN];
    /* The ULA is a fixed function of the name (FNV-1a 64): pinned here so a
     * change of it, which would renumber every user's network, shows. */
    assert_int_equal(load("networks:\n  - {name: lan}\n  - {name: lan2}\n"
                          "  - {name: ho, mode: host-only}\n"
                          "  - {name: iso, mode: isolated, subnet: 10.9.0.0/24}\n"
                          "  - {name: iso0, mode: isolated}\n  - {name: br, mode: bridge}\n",
                          &c), 0);
    const struct vn_net_conf *lan = &c->nets[0], *lan2 = &c->nets[1], *ho = &c->nets[2],
                             *iso = &c->nets[3], *iso0 = &c->nets[4], *br = &c->nets[5];
    assert_string_equal(vn_addr_str(&lan->subnet6, a, sizeof a), ULA_LAN);
    assert_memory_not_equal(lan->subnet6.a, lan2->subnet6.a, 8);
    for (unsigned i = 0; i < 4; i++) {
        const struct vn_net_conf *n = &c->nets[i];
        struct vn_addr m = vn_addr_masked(&n->subnet6, 64);
        assert_true(n->ipv6 && n->subnet6.a[0] == 0xfd && vn_addr_eq(&m, &n->subnet6));
        assert_true(vn_addr_in_prefix(&n->gateway6, &n->subnet6, 64));
        assert_true(vn_addr_in_prefix(&n->dns_addr6, &n->subnet6, 64));
        assert_int_equal(n->dhcp6_start.a[14], 0x10);
        assert_int_equal(n->dhcp6_start.a[15], 0x00);
        assert_int_equal(n->dhcp6_end.a[14], 0x1f);
        assert_int_equal(n->dhcp6_end.a[15], 0xff);
        assert_int_equal(n->dhcp6_mode, VN_DHCP6_STATELESS);
        assert_int_equal(n->ra_interval, 200);
        assert_int_equal(n->dhcp6_lease_time, 3600); /* dhcp.lease_time's default */
    }
    /* nat: ::2 gateway, ::3 DNS, a default router for 1800 s */
    assert_true(lan->ra);
    assert_int_equal(lan->ra_lifetime, 1800);
    /* host-only: the host on ::1, the services on ::2, RAs without a default route */
    assert_true(ho->ra);
    assert_int_equal(ho->ra_lifetime, 0);
    assert_int_equal(ho->gateway6.a[15], 1);
    assert_int_equal(ho->dns_addr6.a[15], 2);
    /* isolated with a subnet: ::2 for everything, no RAs */
    assert_false(iso->ra);
    assert_int_equal(iso->gateway6.a[15], 2);
    assert_true(vn_addr_eq(&iso->dns_addr6, &iso->gateway6));
    /* no gateway: no IPv6 service, nothing filled in */
    assert_true(!iso0->ipv6 && !iso0->subnet6.family && !iso0->ra);
    assert_true(!br->ipv6 && !br->subnet6.family && !br->ra && br->dhcp6_mode == VN_DHCP6_OFF);
    free(roundtrip(c));
    vn_conf_free(c);

    /* A given ra.lifetime holds on host-only too; ra: false turns RAs off. */
    assert_int_equal(load("networks:\n  - {name: ho, mode: host-only, ra: {lifetime: 600}}\n"
                          "  - {name: n, ra: false}\n", &c), 0);
    assert_int_equal(c->nets[0].ra_lifetime, 600);
    assert_false(c->nets[1].ra);
    free(roundtrip(c));
    vn_conf_free(c);

    /* dhcp6.lease_time follows dhcp.lease_time unless given. */
    assert_int_equal(load("networks:\n  - {name: a, dhcp: {lease_time: 600}}\n"
                          "  - {name: b, dhcp: {lease_time: 600}, dhcp6: {lease_time: 20}}\n",
                          &c), 0);
    assert_int_equal(c->nets[0].dhcp6_lease_time, 600);
    assert_int_equal(c->nets[1].dhcp6_lease_time, 20);
    assert_int_equal(c->nets[1].lease_time, 600);
    char *lt = roundtrip(c);
    assert_non_null(strstr(lt, "lease_time: 20"));
    free(lt);
    vn_conf_free(c);

    /* ipv6: false drops the IPv6 keys (frames still switch). */
    assert_int_equal(load("networks:\n  - name: off\n    ipv6: false\n    subnet6: fd00:1::/64\n"
                          "    gateway6: fd00:1::9\n    dns: {address6: fd00:1::8}\n"
                          "    ra: {enabled: true}\n    dhcp6:\n      mode: stateful\n"
                          "      range: fd00:1::100-fd00:1::200\n"
                          "      hosts: [{mac: \"52:54:00:00:00:01\", ip: \"fd00:1::50\"}]\n",
                          &c), 0);
    const struct vn_net_conf *off = &c->nets[0];
    assert_false(off->ipv6);
    assert_true(!off->subnet6.family && !off->gateway6.family && !off->dns_addr6.family);
    assert_true(!off->dhcp6_start.family && !off->nhosts6 && !off->ra);
    assert_int_equal(off->dhcp6_mode, VN_DHCP6_OFF);
    char *t = roundtrip(c);
    assert_non_null(strstr(t, "ipv6: false"));
    assert_null(strstr(t, "subnet6"));
    free(t);
    vn_conf_free(c);
    expect_error("networks:\n  - name: a\n    ipv6: false\n    forwards:\n"
                 "      - {proto: tcp, host: 9000, guest: \"[fd00::5]:80\"}\n", 5,
                 "is IPv6, but network 'a' has ipv6: false");

    /* Every key given, parsed, printed and read back. */
    static const char FULL[] =
        "networks:\n"
        "  - name: lab\n"
        "    subnet6: fd00:1:2:3::/64\n"
        "    gateway6: fd00:1:2:3::1\n"
        "    dns:\n"
        "      address6: fd00:1:2:3::53\n"
        "    ra:\n"
        "      enabled: true\n"
        "      interval: 30\n"
        "      lifetime: 0\n"
        "    dhcp6:\n"
        "      mode: stateful\n"
        "      range: fd00:1:2:3::100-fd00:1:2:3::1ff\n"
        "      hosts:\n"
        "        - mac: 52:54:00:00:00:01\n"
        "          ip: fd00:1:2:3::50\n"
        "          name: db\n"
        "        - duid: 00:02:00:00:ab:11:01:02:03:04\n"
        "          ip: fd00:1:2:3::51\n"
        "        - {mac: \"52:54:00:00:00:02\", name: web}\n"
        "        - {ip: \"fd00:1:2:3::60\", name: printer}\n"
        "    forwards:\n"
        "      - {proto: tcp, host: \"[::1]:8080\", guest: \"[fd00:1:2:3::50]:80\"}\n"
        "      - {proto: udp, host: \"[::]:5353\", guest: \"10.0.2.15:53\"}\n"
        "      - {proto: tcp, host: 2222, guest: \"[fd00:1:2:3::51]:22\"}\n";
    assert_int_equal(load(FULL, &c), 0);
    const struct vn_net_conf *n = &c->nets[0];
    assert_true(vn_addr_eq(&n->subnet6, &(struct vn_addr){ 0 }) == false);
    struct vn_addr x = a6("fd00:1:2:3::1");
    assert_true(vn_addr_eq(&n->gateway6, &x));
    x = a6("fd00:1:2:3::53");
    assert_true(vn_addr_eq(&n->dns_addr6, &x));
    assert_true(n->ra && n->ra_interval == 30 && n->ra_lifetime == 0);
    assert_int_equal(n->dhcp6_mode, VN_DHCP6_STATEFUL);
    x = a6("fd00:1:2:3::100");
    assert_true(vn_addr_eq(&n->dhcp6_start, &x));
    x = a6("fd00:1:2:3::1ff");
    assert_true(vn_addr_eq(&n->dhcp6_end, &x));
    assert_int_equal(n->nhosts6, 4);
    static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0, 0, 1 };
    static const uint8_t duid[] = { 0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4 };
    assert_true(n->hosts6[0].has_mac && !n->hosts6[0].duid_len);
    assert_memory_equal(n->hosts6[0].mac, mac1, 6);
    x = a6("fd00:1:2:3::50");
    assert_true(vn_addr_eq(&n->hosts6[0].ip, &x));
    assert_string_equal(n->hosts6[0].name, "db");
    assert_int_equal(n->hosts6[0].src.line, 15);
    assert_true(!n->hosts6[1].has_mac && n->hosts6[1].duid_len == sizeof duid);
    assert_memory_equal(n->hosts6[1].duid, duid, sizeof duid);
    assert_int_equal(n->hosts6[2].ip.family, 0);
    assert_string_equal(n->hosts6[2].name, "web");
    assert_true(!n->hosts6[3].has_mac && !n->hosts6[3].duid_len && n->hosts6[3].ip.family);
    assert_int_equal(n->nforwards, 3);
    assert_int_equal(n->forwards[0].guest.family, AF_INET6);
    assert_int_equal(n->forwards[0].guest_port, 80);
    assert_int_equal(n->forwards[0].host.ip.family, AF_INET6);
    assert_int_equal(n->forwards[1].guest.family, AF_INET);
    t = roundtrip(c);
    assert_non_null(strstr(t, "subnet6: \"fd00:1:2:3::/64\""));
    assert_non_null(strstr(t, "range: \"fd00:1:2:3::100-fd00:1:2:3::1ff\""));
    assert_non_null(strstr(t, "duid: \"00:02:00:00:ab:11:01:02:03:04\""));
    assert_non_null(strstr(t, "guest: \"[fd00:1:2:3::50]:80\""));
    assert_non_null(strstr(t, "host: \"[::]:5353\""));
    assert_non_null(strstr(t, "lifetime: 0"));
    free(t);
    vn_conf_free(c);

    /* Bad values: the key's line (or the item's, for checks across keys) and the reason. */
    static const struct {
        const char *text;
        int line;
        const char *what;
    } bad[] = {
        { "    subnet6: fd00::/48\n", 3, "subnet6: 'fd00::/48' is not an IPv6 /64" },
        { "    subnet6: \"fd00::\"\n", 3, "not an IPv6 /64" },
        { "    subnet6: fd00::1/64\n", 3, "host bits set" },
        { "    subnet6: nonsense/64\n", 3, "not an IPv6 /64" },
        { "    gateway6: 10.0.2.9\n", 3, "gateway6: '10.0.2.9' is not an IPv6 address" },
        { "    gateway6: fd00::zz\n", 3, "gateway6: 'fd00::zz' is not an IPv4 or IPv6 address" },
        { "    subnet6: fd00::/64\n    gateway6: fd01::1\n", 2, "gateway6 fd01::1 is not a host address of subnet6" },
        { "    subnet6: fd00::/64\n    gateway6: \"fd00::\"\n", 2, "subnet-router anycast" },
        { "    dns: {address6: 10.0.2.3}\n", 3, "dns.address6: '10.0.2.3' is not an IPv6 address" },
        { "    subnet6: fd00::/64\n    dns:\n      address6: fd00:0:0:1::3\n", 2,
          "dns.address6 fd00:0:0:1::3 is not a host address" },
        { "    ra: {interval: 3}\n", 3, "ra.interval: '3' is not a whole number from 4 to 1800" },
        { "    ra: {interval: 1801}\n", 3, "ra.interval" },
        { "    ra: {lifetime: 9001}\n", 3, "ra.lifetime: '9001' is not a whole number from 0 to 9000" },
        { "    ra: {enabled: maybe}\n", 3, "ra.enabled: 'maybe' is not true or false" },
        { "    ra: {color: red}\n", 3, "unknown network key 'ra.color'" },
        { "    dhcp6: {mode: sometimes}\n", 3, "dhcp6.mode: 'sometimes' is not stateless, stateful or off" },
        { "    dhcp6: {range: \"fd00::10\"}\n", 3, "dhcp6.range: 'fd00::10' is not FIRST-LAST" },
        { "    dhcp6: {range: \"fd00::20-fd00::10\"}\n", 3, "ends before it starts" },
        { "    dhcp6: {range: 10.0.2.20-10.0.2.30}\n", 3, "is not two IPv6 addresses" },
        { "    subnet6: fd00::/64\n    dhcp6: {range: \"fd01::10-fd01::20\"}\n", 2,
          "dhcp6.range fd01::10-fd01::20 is not inside subnet6" },
        { "    subnet6: fd00::/64\n    dhcp6: {range: \"fd00::1-fd00::20\"}\n", 2,
          "dhcp6.range holds gateway6 fd00::2" },
        { "    subnet6: fd00::/64\n    gateway6: fd00::1000\n", 2,
          "dhcp6.range (default PREFIX::1000-PREFIX::1fff) holds gateway6" },
        { "    dhcp6: {range: [fd00::1, fd00::2]}\n", 3, "expected a single value" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"01:00:5e:00:00:01\", name: a}\n", 5,
          "dhcp6.hosts.mac: '01:00:5e:00:00:01' is not a unicast MAC" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"00:0g:01\", name: a}\n", 5,
          "dhcp6.hosts.duid: '00:0g:01' is not a DUID" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"00:01\", name: a}\n", 5, "is not a DUID (3 to 130" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"0001\", name: a}\n", 5, "is not a DUID" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"00:01:\", name: a}\n", 5, "is not a DUID" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"52:54:00:00:00:01\", ip: 10.0.2.50}\n", 5,
          "dhcp6.hosts.ip: '10.0.2.50' is not an IPv6 address" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"52:54:00:00:00:01\", name: \"a.b\"}\n", 5,
          "dhcp6.hosts.name: 'a.b' is not a valid host name" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"52:54:00:00:00:01\", colour: red}\n", 5,
          "unknown dhcp6 host key 'colour'" },
        { "    subnet6: fd00::/64\n    dhcp6:\n      hosts:\n"
          "        - {mac: \"52:54:00:00:00:01\", ip: \"fd01::5\"}\n", 6,
          "dhcp6 host: ip fd01::5 is not a host address of subnet6" },
        { "    subnet6: fd00::/64\n    dhcp6:\n      hosts:\n"
          "        - {mac: \"52:54:00:00:00:01\", ip: \"fd00::2\"}\n", 6, "the gateway's own address" },
        { "    dhcp6:\n      hosts:\n"
          "        - {mac: \"52:54:00:00:00:01\", duid: \"00:03:00:01:52:54:00:00:00:01\", name: a}\n",
          5, "a 'mac' or a 'duid', not both" },
        { "    dhcp6:\n      hosts:\n        - {name: lonely}\n", 5, "a name alone matches nothing" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"52:54:00:00:00:01\"}\n", 5,
          "give an 'ip' or a 'name' for the MAC" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"00:03:00:01:52:54:00:00:00:01\"}\n", 5,
          "give an 'ip' or a 'name' for the DUID" },
        { "    dhcp6:\n      hosts:\n        - {mac: \"52:54:00:00:00:01\", name: a}\n"
          "        - {mac: \"52:54:00:00:00:01\", name: b}\n", 6, "MAC listed twice" },
        { "    dhcp6:\n      hosts:\n        - {duid: \"00:04:aa:bb\", name: a}\n"
          "        - {duid: \"00:04:aa:bb\", name: b}\n", 6, "DUID listed twice" },
        { "    subnet6: fd00::/64\n    dhcp6:\n      hosts:\n        - {ip: \"fd00::9\", name: a}\n"
          "        - {ip: \"fd00::9\", name: b}\n", 7, "ip fd00::9 listed twice" },
        { "    forwards:\n      - {proto: tcp, host: 9000, guest: \"[fd00::5\"}\n", 4,
          "forwards.guest" },
        { "    forwards:\n      - {proto: tcp, host: 9000, guest: \"[10.0.2.15]:80\"}\n", 4,
          "forwards.guest: '10.0.2.15' is not an IPv6 address" },
        { "    subnet6: fd00::/64\n    forwards:\n"
          "      - {proto: tcp, host: 9000, guest: \"[fd00::]:80\"}\n", 5, "not inside subnet6" },
        { "    mode: isolated\n    subnet: 10.1.0.0/24\n    ra: {enabled: true}\n", 2,
          "ra.enabled: isolated networks have no router" },
        { "    mode: isolated\n    ra: true\n", 2, "isolated networks have no router" },
        { "    mode: bridge\n    ra: {enabled: true}\n", 2, "a bridge network has no router" },
        { "    mode: bridge\n    ipv6: true\n", 2, "needs gateway services" },
        { "    mode: bridge\n    dhcp6: {range: \"fd00::10-fd00::20\"}\n", 2, "needs gateway services" },
        { "    mode: isolated\n    dhcp6:\n      hosts: [{mac: \"52:54:00:00:00:01\", name: a}]\n", 2,
          "needs gateway services" },
        { "    mode: host-only\n    subnet6: fd00::/64\n    dns: {address6: \"fd00::1\"}\n", 2,
          "gateway6 belongs to the host" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf(text, sizeof text, "networks:\n  - name: a\n%s", bad[i].text);
        expect_error(text, bad[i].line, bad[i].what);
    }

    /* The spec form (--forward, vnetctl forward add) with IPv6 on either side. */
    struct vn_forward_conf f;
    struct vn_conf_src cl = { NULL, 0 };
    char hs[64];
    assert_int_equal(vn_conf_parse_forward("tcp:[::1]:8080:80", &f, cl, &err), 0);
    assert_string_equal(vn_sockaddr_str(&f.host, hs, sizeof hs), "[::1]:8080");
    assert_int_equal(f.guest.family, 0);
    assert_int_equal(f.guest_port, 80);
    assert_int_equal(vn_conf_parse_forward("udp:[::]:5353:[fd00::15]:53", &f, cl, &err), 0);
    assert_string_equal(vn_sockaddr_str(&f.host, hs, sizeof hs), "[::]:5353");
    assert_string_equal(vn_addr_str(&f.guest, a, sizeof a), "fd00::15");
    assert_int_equal(vn_conf_parse_forward("tcp:8080:[fd00::15]:80", &f, cl, &err), 0);
    assert_string_equal(vn_sockaddr_str(&f.host, hs, sizeof hs), "127.0.0.1:8080");
    assert_int_equal(f.guest.family, AF_INET6);
    assert_int_equal(vn_conf_parse_forward("tcp:127.0.0.1:8080:80", &f, cl, &err), 0);
    assert_string_equal(vn_sockaddr_str(&f.host, hs, sizeof hs), "127.0.0.1:8080");
    assert_int_equal(f.guest.family, 0);
    assert_int_equal(vn_conf_parse_forward("tcp:8080:10.0.2.15:80", &f, cl, &err), 0);
    assert_int_equal(vn_addr_v4(&f.guest), 0x0a00020f);
    assert_int_equal(vn_conf_parse_forward("tcp:[::1]:8080:[fd00::15:80", &f, cl, &err), -1);
    assert_int_equal(vn_conf_parse_forward("tcp:[::1:8080:80", &f, cl, &err), -1);
    assert_int_equal(vn_conf_parse_forward("tcp:::1:8080:80", &f, cl, &err), -1);
    assert_int_equal(vn_conf_parse_forward("tcp:[::1]:8080:[10.0.2.15]:80", &f, cl, &err), -1);
    assert_non_null(strstr(err.msg, "command line: "));

    /* The command line: network keys and a forward to an IPv6 guest, printed back. */
    c = vn_conf_new();
    assert_int_equal(vn_conf_flag_network(c, "lan,subnet6=fd00:9::/64,gateway6=fd00:9::1,"
                                             "dns.address6=fd00:9::3,ra.interval=60,"
                                             "dhcp6.mode=stateful,"
                                             "dhcp6.range=fd00:9::10-fd00:9::20,"
                                             "forward=tcp:[::1]:8080:[fd00:9::10]:80", &err), 0);
    assert_int_equal(vn_conf_flag_network(c, "ho,mode=host-only,ipv6=false", &err), 0);
    if (vn_conf_validate(c, &err))
        fail_msg("%s", err.msg);
    n = &c->nets[0];
    assert_int_equal(n->ra_interval, 60);
    assert_int_equal(n->dhcp6_mode, VN_DHCP6_STATEFUL);
    assert_string_equal(vn_addr_str(&n->dhcp6_end, a, sizeof a), "fd00:9::20");
    assert_string_equal(vn_addr_str(&n->forwards[0].guest, a, sizeof a), "fd00:9::10");
    for (unsigned i = 0; i < c->nports; i++)
        if (!strcmp(c->ports[i].name, "host-ho"))
            assert_int_equal(c->ports[i].host_addr6.family, 0); /* ipv6: false: no address */
    t = roundtrip(c);
    assert_non_null(strstr(t, "guest: \"[fd00:9::10]:80\""));
    free(t);
    vn_conf_free(c);
    static const struct {
        const char *spec, *what;
    } badflags[] = {
        { "lan,subnet6=fd00::/56", "subnet6: 'fd00::/56' is not an IPv6 /64" },
        { "lan,dhcp6.range=fd00::9", "dhcp6.range: 'fd00::9' is not FIRST-LAST" },
        { "lan,ra.lifetime=99999", "ra.lifetime" },
        { "lan,gateway6=1.2.3.4", "gateway6: '1.2.3.4' is not an IPv6 address" },
        { "lan,forward=tcp:[::1]:8080:[fd00::1", "forward" },
        { "lan,dhcp6.hosts=x", "dhcp6.hosts must be a list of mappings" },
    };
    for (size_t i = 0; i < sizeof badflags / sizeof badflags[0]; i++) {
        c = vn_conf_new();
        memset(&err, 0, sizeof err);
        assert_int_equal(vn_conf_flag_network(c, badflags[i].spec, &err), -1);
        if (strncmp(err.msg, "command line: ", 14) || !strstr(err.msg, badflags[i].what))
            fail_msg("'%s' gave '%s', expected '%s'", badflags[i].spec, err.msg, badflags[i].what);
        vn_conf_free(c);
    }
}

static void test_docs_match_schema(void **state)
{
    (void)state;
    parse_doc();
    assert_true(ndoc > 50);
    const struct vn_conf_table *t[] = { &vn_conf_global_table, &vn_conf_net_table,
                                        &vn_conf_port_table, &vn_conf_mirror_table,
                                        &vn_conf_forward_table, &vn_conf_dhcp_host_table,
                                        &vn_conf_dhcp6_host_table, &vn_conf_acl_rule_table,
                                        &vn_conf_vpn_peer_table };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        for (unsigned j = 0; j < t[i]->nkeys; j++)
            check_doc_row(t[i]->scope, &t[i]->keys[j]);
    for (unsigned i = 0; i < vn_conf_port_type_count(); i++) {
        const struct vn_conf_port_type *pt = vn_conf_port_type_get(i);
        for (unsigned j = 0; j < pt->nkeys; j++)
            check_doc_row("port", &pt->keys[j]);
        /* the port type column names every registered type */
        char want[64];
        snprintf(want, sizeof want, "`%s`", pt->name);
        struct doc_row *r = doc_find("port", "type");
        if (!r || !strstr(r->type, want))
            fail_msg("docs: port type %s is not among the documented types", pt->name);
    }
    for (unsigned i = 0; i < ndoc; i++)
        if (!doc_rows[i].seen)
            fail_msg("docs/vnetd.conf.md documents %s key '%s', which the schema does not have",
                     doc_rows[i].scope, doc_rows[i].key);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_print_roundtrip), cmocka_unit_test(test_errors_name_line),
        cmocka_unit_test(test_errors_structure), cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_too_many),      cmocka_unit_test(test_flags),
        cmocka_unit_test(test_helpers),       cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_port_types),    cmocka_unit_test(test_schema_rows),
        cmocka_unit_test(test_docs_match_schema), cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_ipv6_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
