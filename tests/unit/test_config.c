/* Unit tests of the configuration model: the YAML loader (src/conf/yaml.c),
 * the command-line specs (src/conf/flags.c), the setters and validation
 * (src/conf/config.c) and --print-config (src/conf/print.c). Good configs
 * load with their defaults; every error names FILE:LINE (or "command line")
 * and the reason; numeric keys accept their documented bounds and nothing
 * beyond them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "conf/flags.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vn_conf_err err;

/* Load text as "t.yaml" and validate it; returns 0 or -1 (message in err). */
static int load(const char *text, struct vn_config **out)
{
    struct vn_config *c = vn_conf_new();
    assert_non_null(c);
    memset(&err, 0, sizeof err);
    int rc = vn_conf_load_yaml_string(c, "t.yaml", text, strlen(text), &err);
    if (!rc)
        rc = vn_conf_validate(c, &err);
    if (out)
        *out = c;
    else
        vn_conf_free(c);
    return rc;
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
    assert_int_equal(n->upstream[1].family, 10 /* AF_INET6 */);
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
    assert_int_equal(p->type, VN_PORT_DGRAM);
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
    assert_int_equal(f.guest_ip, 0x0a00020f);
    assert_int_equal(vn_conf_parse_forward("icmp:1:2", &f, cl, &err), -1);
    assert_int_equal(vn_conf_parse_forward("tcp:8080", &f, cl, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),          cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_print_roundtrip), cmocka_unit_test(test_errors_name_line),
        cmocka_unit_test(test_errors_structure), cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_too_many),      cmocka_unit_test(test_flags),
        cmocka_unit_test(test_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
