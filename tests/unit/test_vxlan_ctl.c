/* Unit tests of the vxlan ports' control commands (src/ctl/vxlan_cmds.c)
 * through the control server's request handling, against a real switch
 * with a vxlan port whose sockets are on loopback: the VTEP parser; vtep
 * list/add/del with each refusal (unknown port, not a vxlan port, another
 * family, the port's own address, unspecified and multicast addresses,
 * already listed, networks not carried, a full VTEP table of 1024); fdb
 * add/del of static entries (a network no vxlan port carries, bad MACs, an
 * unknown VTEP, a table full of static entries, entries EVPN owns), what
 * fdb shows of remote entries (VTEP, origin, age) and what stats adds to a
 * vxlan port; and a datagram from a VTEP accepted only while it is listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/loop.h"
#include "ctl/ctl.h"
#include "ctl/switch_cmds.h"
#include "ctl/vxlan_cmds.h"
#include "harness.h"
#include "port/vxlan.h"
#include "port/vxlan_hdr.h"
#include "port/vxlan_port.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct w {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_port *a, *vx;
    struct vn_ctl *ctl;
    int r;           /* a VTEP's socket on 127.0.0.9 */
    uint16_t rport;
};

static const char CONF[] =
    "networks:\n"
    "  - {name: lan, mode: isolated, vni: 100}\n"
    "  - {name: mgmt, mode: isolated, vni: 200}\n"
    "  - {name: solo, mode: isolated}\n"
    "ports:\n"
    "  - {name: a, type: stream, network: lan, path: /nonexistent/a}\n"
    "  - {name: vx, type: vxlan, local: 127.0.0.1, networks: [lan, mgmt],\n"
    "     remotes: [127.0.0.2, \"127.0.0.3:8472\"], max_remote_macs: 16}\n";

static int setup(void **state)
{
    struct w *w = calloc(1, sizeof *w);
    char e[256];
    w->c = harness_config(CONF);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    for (unsigned i = 0; i < w->c->nnets; i++)
        harness_network(w->sw, &w->c->nets[i]);
    w->a = harness_port(w->sw, &w->c->ports[0], NULL);
    struct vn_port_conf *pc = &w->c->ports[1];
    pc->vxlan.local.port = 0; /* ephemeral: tests may run side by side */
    assert_int_equal(vn_switch_set_backend(w->sw, &vn_port_vxlan_ops), 0);
    w->vx = vn_switch_add_port(w->sw, pc, e, sizeof e);
    if (!w->vx)
        fail_msg("vxlan port: %s", e);
    w->ctl = vn_ctl_new_detached();
    vn_switch_cmds_register(w->ctl, w->sw);
    w->r = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in s = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000009) };
    socklen_t sl = sizeof s;
    assert_int_equal(bind(w->r, (struct sockaddr *)&s, sizeof s), 0);
    getsockname(w->r, (struct sockaddr *)&s, &sl);
    w->rport = ntohs(s.sin_port);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct w *w = *state;
    close(w->r);
    vn_ctl_close(w->ctl);
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

/* The reply to a request (printf-style). */
static json_t *ask(struct w *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static json_t *ask(struct w *w, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    char *r = vn_ctl_handle_line(w->ctl, line, strlen(line));
    json_t *j = json_loads(r, 0, NULL);
    free(r);
    assert_non_null(j);
    return j;
}

/* The result of a request that must succeed (a new reference). */
#define OK(w, ...) ok_result(ask(w, __VA_ARGS__))
static json_t *ok_result(json_t *j)
{
    if (!json_is_true(json_object_get(j, "ok")))
        fail_msg("request failed: %s", json_string_value(json_object_get(j, "error")));
    json_t *r = json_incref(json_object_get(j, "result"));
    json_decref(j);
    return r;
}

/* A request that must fail with an error containing want. */
#define FAILS(w, want, ...) fails_with(ask(w, __VA_ARGS__), want)
static void fails_with(json_t *j, const char *want)
{
    const char *e = json_string_value(json_object_get(j, "error"));
    if (json_is_true(json_object_get(j, "ok")) || !e || !strstr(e, want))
        fail_msg("wanted an error with '%s', got %s", want, e ? e : "success");
    json_decref(j);
}

/* The VTEP of port vx at address addr in vtep.list, or NULL (borrowed from *list). */
static json_t *vtep(struct w *w, const char *addr, json_t **list)
{
    *list = OK(w, "{\"cmd\":\"vtep.list\",\"port\":\"vx\"}");
    assert_int_equal(json_array_size(*list), 1);
    json_t *v;
    size_t i;
    json_array_foreach(json_object_get(json_array_get(*list, 0), "vteps"), i, v)
        if (!strcmp(json_string_value(json_object_get(v, "address")), addr))
            return v;
    return NULL;
}

static const char *flood_str(json_t *v, char *buf, size_t n)
{
    size_t off = 0, i;
    json_t *x;
    buf[0] = 0;
    json_array_foreach(json_object_get(v, "flood"), i, x)
        off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? "," : "", json_string_value(x));
    return buf;
}

static void test_parse_vtep(void **state)
{
    (void)state;
    struct vn_sockaddr sa;
    char e[160];
    assert_int_equal(vn_vxlan_cmds_parse_vtep("192.0.2.7", &sa, e, sizeof e), 0);
    assert_int_equal(sa.ip.family, AF_INET);
    assert_int_equal(sa.port, 0);
    assert_int_equal(vn_vxlan_cmds_parse_vtep("192.0.2.7:8472", &sa, e, sizeof e), 0);
    assert_int_equal(sa.port, 8472);
    assert_int_equal(vn_vxlan_cmds_parse_vtep("fd77::2", &sa, e, sizeof e), 0);
    assert_int_equal(sa.ip.family, AF_INET6);
    assert_int_equal(sa.port, 0);
    assert_int_equal(vn_vxlan_cmds_parse_vtep("[fd77::2]", &sa, e, sizeof e), 0);
    assert_int_equal(sa.port, 0);
    assert_int_equal(vn_vxlan_cmds_parse_vtep("[fd77::2]:4790", &sa, e, sizeof e), 0);
    assert_int_equal(sa.ip.family, AF_INET6);
    assert_int_equal(sa.port, 4790);
    static const char *const bad[] = { "", "nope", "192.0.2.7:0", "192.0.2.7:65536",
                                       "192.0.2.7:", "[fd77::2", "[fd77::2]x", "1.2.3",
                                       "192.0.2.7:80:1", "[fd77::2]:", "fd77::2::1" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e[0] = 0;
        if (vn_vxlan_cmds_parse_vtep(bad[i], &sa, e, sizeof e) != -1)
            fail_msg("'%s' parsed", bad[i]);
        assert_non_null(strstr(e, "is not ADDR, ADDR:PORT or [V6ADDR]:PORT"));
    }
}

static void test_vtep_commands(void **state)
{
    struct w *w = *state;
    json_t *l, *v;
    char buf[128];
    /* The configured flood list. */
    v = vtep(w, "127.0.0.3", &l);
    assert_non_null(v);
    assert_string_equal(json_string_value(json_object_get(v, "origin")), "config");
    assert_int_equal(json_integer_value(json_object_get(v, "port")), 8472);
    assert_string_equal(flood_str(v, buf, sizeof buf), "lan,mgmt");
    assert_true(json_is_null(json_object_get(v, "last_seen_s")));
    json_decref(l);
    l = OK(w, "{\"cmd\":\"vtep.list\"}");
    assert_int_equal(json_array_size(l), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(l, 0), "accept")),
                        "listed");
    json_decref(l);

    /* Refusals. */
    FAILS(w, "no port named 'zz'", "{\"cmd\":\"vtep.list\",\"port\":\"zz\"}");
    FAILS(w, "port 'a' is not a vxlan port (it is a", "{\"cmd\":\"vtep.list\",\"port\":\"a\"}");
    FAILS(w, "need \"port\"", "{\"cmd\":\"vtep.add\",\"vtep\":\"127.0.0.9\"}");
    FAILS(w, "need \"vtep\"", "{\"cmd\":\"vtep.add\",\"port\":\"vx\"}");
    FAILS(w, "no port named 'zz'", "{\"cmd\":\"vtep.add\",\"port\":\"zz\",\"vtep\":\"1.2.3.4\"}");
    FAILS(w, "not a vxlan port", "{\"cmd\":\"vtep.add\",\"port\":\"a\",\"vtep\":\"1.2.3.4\"}");
    FAILS(w, "is not ADDR", "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"nope\"}");
    FAILS(w, "the underlay of port 'vx' is IPv4: VTEP fd00::9 is IPv6",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"fd00::9\"}");
    FAILS(w, "127.0.0.1 is port 'vx''s own address",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.1\"}");
    FAILS(w, "0.0.0.0 is not a VTEP's address",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"0.0.0.0\"}");
    FAILS(w, "239.1.1.1 is not a VTEP's address",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"239.1.1.1\"}");
    FAILS(w, "VTEP 127.0.0.2 is already in the flood list of port 'vx' (lan, mgmt)",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "no network named 'nope'",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[\"nope\"]}");
    FAILS(w, "port 'vx' does not carry network 'solo'",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[\"solo\"]}");
    FAILS(w, "\"networks\" is an array of network names",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":\"lan\"}");
    FAILS(w, "\"networks\" is an array of network names",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[]}");

    /* .9 for mgmt, then lan too; the result is the VTEP as listed. */
    json_t *r = OK(w, "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9:%u\","
                      "\"networks\":[\"mgmt\"]}", w->rport);
    assert_string_equal(json_string_value(json_object_get(r, "port")), "vx");
    v = json_object_get(r, "vtep");
    assert_string_equal(json_string_value(json_object_get(v, "origin")), "control");
    assert_int_equal(json_integer_value(json_object_get(v, "port")), w->rport);
    assert_string_equal(flood_str(v, buf, sizeof buf), "mgmt");
    json_decref(r);
    FAILS(w, "already in the flood list of port 'vx' (mgmt)",
          "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[\"mgmt\"]}");
    json_decref(OK(w, "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\"}"));
    v = vtep(w, "127.0.0.9", &l);
    assert_string_equal(flood_str(v, buf, sizeof buf), "lan,mgmt");
    assert_int_equal(json_integer_value(json_object_get(v, "port")), w->rport); /* kept */
    json_decref(l);

    /* A datagram from .9 is accepted while it is listed. */
    uint8_t d[8 + 60] = { 0 };
    vn_vxlan_hdr_put(d, 100);
    memset(d + 8, 0xff, 6);
    memcpy(d + 14, (uint8_t[]){ 0x52, 0x54, 0, 0, 9, 9 }, 6);
    d[20] = 0x88, d[21] = 0xb5;
    struct sockaddr_in to = { .sin_family = AF_INET,
                              .sin_port = htons(((struct vn_vxlan *)w->vx->priv)->local_port),
                              .sin_addr.s_addr = htonl(0x7f000001) };
    assert_int_equal(sendto(w->r, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), sizeof d);
    vn_loop_once(w->loop, 200);
    v = vtep(w, "127.0.0.9", &l);
    assert_int_equal(json_integer_value(json_object_get(v, "rx_frames")), 1);
    assert_int_equal(json_integer_value(json_object_get(v, "macs")), 1);
    assert_true(json_is_integer(json_object_get(v, "last_seen_s")));
    json_decref(l);
    /* fdb: the switch's entry on vx names the VTEP behind it. */
    json_t *fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 1);
    json_t *e = json_array_get(fdb, 0);
    assert_string_equal(json_string_value(json_object_get(e, "mac")), "52:54:00:00:09:09");
    assert_string_equal(json_string_value(json_object_get(e, "port")), "vx");
    assert_string_equal(json_string_value(json_object_get(e, "vtep")), "127.0.0.9");
    assert_string_equal(json_string_value(json_object_get(e, "origin")), "learned");
    assert_true(json_is_integer(json_object_get(e, "age_s")));
    json_decref(fdb);
    /* stats: the port's VTEPs and drop causes. */
    json_t *st = OK(w, "{\"cmd\":\"stats\",\"port\":\"vx\"}");
    json_t *sp = json_array_get(json_object_get(st, "ports"), 0);
    assert_int_equal(json_array_size(json_object_get(sp, "vteps")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sp, "vxlan_drops"),
                                                        "unlisted")), 0);
    json_decref(st);
    st = OK(w, "{\"cmd\":\"stats\",\"port\":\"a\"}");
    assert_null(json_object_get(json_array_get(json_object_get(st, "ports"), 0), "vteps"));
    json_decref(st);

    /* fdb.del of a learned entry: gone from the switch's table too (fdb
     * lists nothing), learned again from the next datagram. */
    r = OK(w, "{\"cmd\":\"fdb.del\",\"network\":\"lan\",\"mac\":\"52:54:00:00:09:09\"}");
    assert_string_equal(json_string_value(json_object_get(r, "origin")), "learned");
    json_decref(r);
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 0);
    json_decref(fdb);
    assert_int_equal(sendto(w->r, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), sizeof d);
    vn_loop_once(w->loop, 200);
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(fdb, 0), "vtep")),
                        "127.0.0.9");
    json_decref(fdb);

    /* vtep.del: out of mgmt only (its MAC stays), then out of everything:
     * forgotten with its MAC, in the port's table and the switch's, and its
     * datagrams are dropped as unlisted. */
    FAILS(w, "no VTEP 127.0.0.8 in the flood list of port 'vx'",
          "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.8\"}");
    r = OK(w, "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[\"mgmt\"]}");
    assert_false(json_is_true(json_object_get(r, "forgotten")));
    json_decref(r);
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 1);
    json_decref(fdb);
    FAILS(w, "VTEP 127.0.0.9 is not in the flood list of mgmt",
          "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.9\",\"networks\":[\"mgmt\"]}");
    r = OK(w, "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.9:1\"}");
    assert_true(json_is_true(json_object_get(r, "forgotten")));
    assert_string_equal(json_string_value(json_object_get(r, "vtep")), "127.0.0.9");
    json_decref(r);
    assert_null(vtep(w, "127.0.0.9", &l));
    json_decref(l);
    assert_int_equal(sendto(w->r, d, sizeof d, 0, (struct sockaddr *)&to, sizeof to), sizeof d);
    vn_loop_once(w->loop, 200);
    assert_int_equal(((struct vn_vxlan *)w->vx->priv)->st.unlisted, 1);
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 0); /* the switch's entry went too */
    json_decref(fdb);
    /* A configured VTEP may go too (until a restart). */
    json_decref(OK(w, "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.2\"}"));

    /* The table of VTEPs holds 1024. */
    unsigned added = 0;
    for (unsigned i = 0; i < 1100; i++) {
        json_t *j = ask(w, "{\"cmd\":\"vtep.add\",\"port\":\"vx\",\"vtep\":\"10.%u.%u.1\"}",
                        i / 256, i % 256);
        if (!json_is_true(json_object_get(j, "ok"))) {
            fails_with(j, "the VTEP table is full (1024)");
            break;
        }
        added++;
        json_decref(j);
    }
    assert_int_equal(added, 1023); /* beside 127.0.0.3 */
}

static void test_fdb_commands(void **state)
{
    struct w *w = *state;
    FAILS(w, "need \"network\"", "{\"cmd\":\"fdb.add\",\"mac\":\"02:00:00:00:00:01\"}");
    FAILS(w, "no network named 'x'", "{\"cmd\":\"fdb.add\",\"network\":\"x\"}");
    FAILS(w, "need \"mac\"", "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "'02:00' is not a MAC address",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00\",\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "need \"vtep\"", "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\"}");
    FAILS(w, "no vxlan port carries network 'solo'",
          "{\"cmd\":\"fdb.add\",\"network\":\"solo\",\"mac\":\"02:00:00:00:00:01\","
          "\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "01:00:5e:00:00:01 is not a unicast MAC",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"01:00:5e:00:00:01\","
          "\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "00:00:00:00:00:00 is not a unicast MAC",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"00:00:00:00:00:00\","
          "\"vtep\":\"127.0.0.2\"}");
    FAILS(w, "VTEP 127.0.0.9 is not known to port 'vx' (add it first: vnetctl vtep add vx "
             "127.0.0.9)",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\","
          "\"vtep\":\"127.0.0.9\"}");
    FAILS(w, "VTEP fd00::2 is IPv6",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\","
          "\"vtep\":\"fd00::2\"}");
    FAILS(w, "port 'a' is not a vxlan port",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\","
          "\"vtep\":\"127.0.0.2\",\"port\":\"a\"}");

    /* A static entry: listed by fdb without an age (the switch has not seen
     * it), replaced by another. */
    json_t *r = OK(w, "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\","
                      "\"vtep\":\"127.0.0.2\"}");
    assert_string_equal(json_string_value(json_object_get(r, "port")), "vx");
    assert_true(json_is_null(json_object_get(r, "replaced")));
    json_decref(r);
    r = OK(w, "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\","
              "\"vtep\":\"[127.0.0.3]:9\"}");
    assert_string_equal(json_string_value(json_object_get(r, "replaced")), "static");
    assert_string_equal(json_string_value(json_object_get(r, "vtep")), "127.0.0.3");
    json_decref(r);
    json_t *fdb = OK(w, "{\"cmd\":\"fdb\"}");
    assert_int_equal(json_array_size(fdb), 1);
    json_t *e = json_array_get(fdb, 0);
    assert_string_equal(json_string_value(json_object_get(e, "port")), "vx");
    assert_string_equal(json_string_value(json_object_get(e, "vtep")), "127.0.0.3");
    assert_string_equal(json_string_value(json_object_get(e, "origin")), "static");
    assert_true(json_is_null(json_object_get(e, "age_s")));
    json_decref(fdb);
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"mgmt\"}");
    assert_int_equal(json_array_size(fdb), 0);
    json_decref(fdb);

    /* EVPN's entries are EVPN's. */
    char err[160];
    struct vn_sockaddr v2 = { .ip = vn_addr4(0x7f000002) };
    const uint8_t em[6] = { 2, 0, 0, 0, 0, 0xe };
    assert_int_equal(vn_vxlan_fdb_add(w->vx, 0, em, &v2, VN_VXLAN_BY_EVPN, err, sizeof err), 0);
    FAILS(w, "02:00:00:00:00:0e of network 'lan' was imported from EVPN",
          "{\"cmd\":\"fdb.del\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:0e\"}");
    FAILS(w, "was imported from EVPN",
          "{\"cmd\":\"fdb.add\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:0e\","
          "\"vtep\":\"127.0.0.3\"}");
    fdb = OK(w, "{\"cmd\":\"fdb\",\"network\":\"lan\"}");
    assert_int_equal(json_array_size(fdb), 2);
    json_decref(fdb);
    struct vn_sockaddr v8 = { .ip = vn_addr4(0x7f000008) };
    assert_int_equal(vn_vxlan_vtep_add(w->vx, &v8, 0, VN_VXLAN_BY_EVPN, err, sizeof err), 0);
    json_t *l;
    json_t *v = vtep(w, "127.0.0.8", &l);
    assert_string_equal(json_string_value(json_object_get(v, "origin")), "evpn");
    json_decref(l);
    FAILS(w, "VTEP 127.0.0.8 of port 'vx' comes from EVPN",
          "{\"cmd\":\"vtep.del\",\"port\":\"vx\",\"vtep\":\"127.0.0.8\"}");

    /* fdb.del. */
    FAILS(w, "no remote entry for 02:00:00:00:00:07 in network 'lan'",
          "{\"cmd\":\"fdb.del\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:07\"}");
    r = OK(w, "{\"cmd\":\"fdb.del\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\"}");
    assert_string_equal(json_string_value(json_object_get(r, "origin")), "static");
    json_decref(r);
    FAILS(w, "no remote entry for 02:00:00:00:00:01",
          "{\"cmd\":\"fdb.del\",\"network\":\"lan\",\"mac\":\"02:00:00:00:00:01\"}");

    /* A table of 16 full of static entries refuses the 17th. */
    unsigned added = 1; /* EVPN's */
    for (unsigned i = 0; i < 20; i++) {
        json_t *j = ask(w, "{\"cmd\":\"fdb.add\",\"network\":\"mgmt\",\"mac\":\"02:00:00:00:01:%02x\","
                           "\"vtep\":\"127.0.0.2\"}", i);
        if (!json_is_true(json_object_get(j, "ok"))) {
            fails_with(j, "the remote MAC table is full of static entries (16)");
            break;
        }
        added++;
        json_decref(j);
    }
    assert_int_equal(added, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vtep),
        cmocka_unit_test_setup_teardown(test_vtep_commands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fdb_commands, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
