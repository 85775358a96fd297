/* Unit tests of the switch's VLAN handling and per-network learning
 * (src/switch/switch.c with src/port/port.c), through ports whose backend
 * records what they are given: tags are stripped at ingress (802.1Q and
 * priority tags), added at egress on trunks only for tagged networks, frames
 * never cross networks, unknown/forbidden tags are dropped and counted, and
 * the same MAC is learned independently in each network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/loop.h"
#include "harness.h"
#include "pkt/eth.h"
#include "port/port.h"
#include "switch/switch.h"

#include <stdlib.h>
#include <string.h>

enum { P1, P2, T1, P3, NPORTS };

struct world {
    struct vn_config *c;
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_port *p[NPORTS];
    struct harness_rec rec[NPORTS];
};

static const char CONF[] = "networks:\n"
                           "  - {name: a, mode: isolated, vlan: 10}\n"
                           "  - {name: b, mode: isolated, vlan: 20}\n"
                           "  - {name: c, mode: isolated, mtu: 100}\n"
                           "ports:\n"
                           "  - {name: p1, type: stream, network: a, path: /nonexistent/p1}\n"
                           "  - {name: p2, type: stream, network: b, path: /nonexistent/p2}\n"
                           "  - {name: t1, type: stream, trunk: [a, b, c], native: c,\n"
                           "     path: /nonexistent/t1}\n"
                           "  - {name: p3, type: stream, network: c, path: /nonexistent/p3}\n";

static int setup(void **state)
{
    struct world *w = calloc(1, sizeof *w);
    w->c = harness_config(CONF);
    w->loop = vn_loop_new();
    w->sw = vn_switch_new(w->loop);
    for (unsigned i = 0; i < w->c->nnets; i++)
        harness_network(w->sw, &w->c->nets[i]);
    for (unsigned i = 0; i < NPORTS; i++)
        w->p[i] = harness_port(w->sw, &w->c->ports[i], &w->rec[i]);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    struct world *w = *state;
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->c);
    free(w);
    return 0;
}

static void clear(struct world *w) { memset(w->rec, 0, sizeof w->rec); }

/* Send one frame into port `in` (copied into a switch receive buffer). */
static void send_frame(struct world *w, int in, const uint8_t *f, size_t len)
{
    harness_input(w->sw, w->p[in], f, len);
}

static size_t mk(uint8_t *f, const uint8_t dst[6], uint8_t src_last, int tci, size_t payload)
{
    memcpy(f, dst, 6);
    const uint8_t src[6] = { 0x52, 0x54, 0, 0, 0, src_last };
    memcpy(f + 6, src, 6);
    size_t o = 12;
    if (tci >= 0) {
        vn_put_be16(f + 12, VN_ETH_TYPE_VLAN);
        vn_put_be16(f + 14, (uint16_t)tci);
        o = 16;
    }
    vn_put_be16(f + o, 0x88b5); /* local experimental ethertype */
    for (size_t i = 0; i < payload; i++)
        f[o + 2 + i] = (uint8_t)i;
    return o + 2 + payload;
}

static const uint8_t BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static void test_trunk_ingress_strip(void **state)
{
    struct world *w = *state;
    uint8_t f[256];
    size_t len = mk(f, BC, 1, (3 << 13) | 10, 46);
    clear(w);
    send_frame(w, T1, f, len);
    /* Network a: only p1, untagged, 4 bytes shorter, payload intact. */
    assert_int_equal(w->rec[P1].n, 1);
    assert_int_equal(w->rec[P2].n, 0);
    assert_int_equal(w->rec[P3].n, 0);
    assert_int_equal(w->rec[T1].n, 0); /* never back out of its ingress port */
    assert_int_equal(w->rec[P1].len[0], len - 4);
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(w->rec[P1].f[0], w->rec[P1].len[0], &ei), VN_ETH_OK);
    assert_false(ei.tagged);
    assert_int_equal(ei.ethertype, 0x88b5);
    assert_memory_equal(w->rec[P1].f[0], f, 12);
    assert_memory_equal(w->rec[P1].f[0] + 14, f + 18, 46);
    /* Untagged on the trunk: its native network c. */
    clear(w);
    len = mk(f, BC, 1, -1, 46);
    send_frame(w, T1, f, len);
    assert_int_equal(w->rec[P3].n, 1);
    assert_int_equal(w->rec[P1].n + w->rec[P2].n, 0);
}

static void test_egress_tagging(void **state)
{
    struct world *w = *state;
    uint8_t f[256];
    size_t len = mk(f, BC, 2, -1, 46);
    clear(w);
    send_frame(w, P2, f, len); /* network b */
    assert_int_equal(w->rec[T1].n, 1);
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(w->rec[T1].f[0], w->rec[T1].len[0], &ei), VN_ETH_OK);
    assert_true(ei.tagged);
    assert_int_equal(ei.vid, 20);
    assert_int_equal(w->rec[T1].len[0], len + 4);
    assert_int_equal(w->rec[P1].n + w->rec[P3].n, 0);
    /* From the native network: untagged on the trunk. */
    clear(w);
    send_frame(w, P3, f, len);
    assert_int_equal(w->rec[T1].n, 1);
    assert_int_equal(vn_eth_parse(w->rec[T1].f[0], w->rec[T1].len[0], &ei), VN_ETH_OK);
    assert_false(ei.tagged);
    assert_int_equal(w->rec[T1].len[0], len);
}

static void test_vlan_drops(void **state)
{
    struct world *w = *state;
    uint8_t f[256];
    size_t len;
    clear(w);
    /* Unknown vid on the trunk */
    len = mk(f, BC, 1, 99, 46);
    send_frame(w, T1, f, len);
    assert_int_equal(w->p[T1]->stats.rx_drops[VN_DROP_VLAN], 1);
    /* A tag on an access port, even its own network's */
    len = mk(f, BC, 1, 10, 46);
    send_frame(w, P1, f, len);
    assert_int_equal(w->p[P1]->stats.rx_drops[VN_DROP_VLAN], 1);
    /* Stacked tags */
    len = mk(f, BC, 1, 10, 46);
    vn_put_be16(f + 16, VN_ETH_TYPE_VLAN);
    send_frame(w, T1, f, len);
    assert_int_equal(w->p[T1]->stats.rx_drops[VN_DROP_MALFORMED], 1);
    /* Runt */
    send_frame(w, P1, f, 13);
    assert_int_equal(w->p[P1]->stats.rx_drops[VN_DROP_MALFORMED], 1);
    for (int i = 0; i < NPORTS; i++)
        assert_int_equal(w->rec[i].n, 0);
    /* Priority tag (vid 0) on an access port: accepted, stripped. */
    len = mk(f, BC, 1, 5 << 13, 46);
    send_frame(w, P1, f, len);
    assert_int_equal(w->rec[T1].n, 1);
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(w->rec[T1].f[0], w->rec[T1].len[0], &ei), VN_ETH_OK);
    assert_int_equal(ei.vid, 10); /* re-tagged for network a on the trunk */
    assert_int_equal(ei.pcp, 0);
    /* MTU of network c is 100: 101 bytes of L3 are dropped. */
    clear(w);
    len = mk(f, BC, 3, -1, 101);
    send_frame(w, P3, f, len);
    assert_int_equal(w->p[P3]->stats.rx_drops[VN_DROP_MTU], 1);
    len = mk(f, BC, 3, -1, 100);
    send_frame(w, P3, f, len);
    assert_int_equal(w->rec[T1].n, 1);
}

/* MAC 52:54:00:00:00:07 lives on p1 in network a and on the trunk in
 * network b; unicast to it goes to the right port in each network. */
static void test_per_network_fdb(void **state)
{
    struct world *w = *state;
    uint8_t f[256];
    const uint8_t X[6] = { 0x52, 0x54, 0, 0, 0, 7 };
    send_frame(w, P1, f, mk(f, BC, 7, -1, 46));
    send_frame(w, T1, f, mk(f, BC, 7, 20, 46));
    assert_int_equal(vn_fdb_lookup(&w->sw->nets[0]->fdb, X, w->sw->now_s), (int)w->p[P1]->id);
    assert_int_equal(vn_fdb_lookup(&w->sw->nets[1]->fdb, X, w->sw->now_s), (int)w->p[T1]->id);
    assert_int_equal(vn_fdb_lookup(&w->sw->nets[2]->fdb, X, w->sw->now_s), -1);
    clear(w);
    send_frame(w, T1, f, mk(f, X, 8, 10, 46)); /* to X in network a */
    assert_int_equal(w->rec[P1].n, 1);
    assert_int_equal(w->rec[P2].n + w->rec[P3].n, 0);
    clear(w);
    send_frame(w, P2, f, mk(f, X, 9, -1, 46)); /* to X in network b */
    assert_int_equal(w->rec[T1].n, 1);
    assert_int_equal(w->rec[P1].n + w->rec[P3].n, 0);
    struct vn_eth_info ei;
    assert_int_equal(vn_eth_parse(w->rec[T1].f[0], w->rec[T1].len[0], &ei), VN_ETH_OK);
    assert_int_equal(ei.vid, 20);
    /* Deleting the trunk forgets X in b only. */
    vn_switch_del_port(w->sw, w->p[T1]);
    w->p[T1] = NULL;
    assert_int_equal(vn_fdb_lookup(&w->sw->nets[1]->fdb, X, w->sw->now_s), -1);
    assert_int_equal(vn_fdb_lookup(&w->sw->nets[0]->fdb, X, w->sw->now_s), (int)w->p[P1]->id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_trunk_ingress_strip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_egress_tagging, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vlan_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_per_network_fdb, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
