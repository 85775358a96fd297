/* The switch with two workers on two threads (docs/threading.md), for the
 * ThreadSanitizer build above all: networks a and b are served by workers 0
 * and 1, each thread feeds its own network's ports (unicast between two
 * learned MACs, broadcasts, and frames an ACL drops, so the per-worker
 * connection tables are used), and calls the gate's safe point between
 * batches, while the control thread stops the world over and over and reads
 * every port's counters and the switch's totals. Every frame is delivered
 * where it belongs and nothing crosses networks; under -fsanitize=thread the
 * run reports no race. A port whose networks are on two workers is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf/config.h"
#include "core/gate.h"
#include "core/loop.h"
#include "harness.h"
#include "pkt/eth.h"
#include "switch/switch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { A1, A2, B1, B2, NPORTS };
enum { ROUNDS = 3000 };

static const char CONF[] = "networks:\n"
                           "  - {name: a, mode: isolated, vlan: 10}\n"
                           "  - {name: b, mode: isolated, vlan: 20}\n"
                           "ports:\n"
                           "  - {name: a1, type: stream, network: a, path: /nonexistent/a1,\n"
                           "     acl: [{action: drop, proto: udp, dport: 9}]}\n"
                           "  - {name: a2, type: stream, network: a, path: /nonexistent/a2}\n"
                           "  - {name: b1, type: stream, network: b, path: /nonexistent/b1,\n"
                           "     acl: [{action: drop, proto: udp, dport: 9}]}\n"
                           "  - {name: b2, type: stream, network: b, path: /nonexistent/b2}\n"
                           "  - {name: t, type: stream, trunk: [a, b], path: /nonexistent/t}\n";

static struct vn_switch *sw;
static struct vn_port *p[NPORTS];
static struct vn_gate gate;
static atomic_bool done;

struct feeder {
    struct vn_port *from, *to;
    pthread_t th;
};

/* A UDP frame from port `from`'s MAC to dmac (dport 7: passes; 9: dropped). */
static size_t frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint16_t dport)
{
    uint8_t *l4 = harness_ip4(f, dmac, smac, 0x0a000001, 0x0a000002, 17, 64, 8);
    memset(l4, 0, 8);
    l4[2] = (uint8_t)(dport >> 8);
    l4[3] = (uint8_t)dport;
    l4[5] = 8;
    return (size_t)(l4 + 8 - f);
}

/* Feed one frame into in with its worker's receive buffers. */
static void input(struct vn_port *in, const uint8_t *f, size_t len)
{
    uint8_t *buf = in->rxbuf[0] + VN_HEADROOM;
    memcpy(buf, f, len);
    in->rxframes[0] = (struct vn_frame){ .data = buf, .len = (uint32_t)len };
    vn_switch_input(in->sw, in, in->rxframes, 1);
}

static void *feed(void *arg)
{
    struct feeder *fd = arg;
    uint8_t mac1[6] = { 2, 0, 0, 0, 0, (uint8_t)(fd->from->id + 1) };
    uint8_t mac2[6] = { 2, 0, 0, 0, 0, (uint8_t)(fd->to->id + 1) };
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t f[128];
    /* the peer speaks first: its MAC is learned, then unicast goes to it only */
    input(fd->to, f, frame(f, bcast, mac2, 7));
    for (int i = 0; i < ROUNDS; i++) {
        input(fd->from, f, frame(f, mac2, mac1, 7));
        if (i % 10 == 0)
            input(fd->from, f, frame(f, mac2, mac1, 9)); /* the ACL drops it */
        if (i % 100 == 0)
            input(fd->from, f, frame(f, bcast, mac1, 7));
        vn_gate_safe_point(&gate);
    }
    while (!atomic_load(&done)) {
        vn_gate_safe_point(&gate);
        usleep(100);
    }
    return NULL;
}

static void test_two_workers(void **state)
{
    (void)state;
    struct vn_config *c = harness_config(CONF);
    struct vn_loop *ctl = vn_loop_new(), *loops[2] = { vn_loop_new(), vn_loop_new() };
    sw = vn_switch_new(ctl);
    assert_int_equal(vn_switch_set_workers(sw, loops, 2), 0);
    for (unsigned i = 0; i < 2; i++)
        vn_switch_net_set_worker(harness_network(sw, &c->nets[i]), i);
    for (unsigned i = 0; i < NPORTS; i++)
        p[i] = harness_port(sw, &c->ports[i], NULL);
    assert_ptr_equal(p[A1]->loop, loops[0]);
    assert_ptr_equal(p[B2]->loop, loops[1]);
    /* the trunk would join the two workers' networks: refused */
    char err[256] = "";
    assert_null(vn_switch_add_port_ops(sw, &c->ports[NPORTS], &harness_rec_ops, NULL, err,
                                       sizeof err));
    assert_non_null(strstr(err, "different workers"));
    assert_int_equal(vn_gate_init(&gate, loops, 2), 0);
    atomic_store(&done, false);
    struct feeder fa = { p[A1], p[A2] }, fb = { p[B1], p[B2] };
    assert_int_equal(pthread_create(&fa.th, NULL, feed, &fa), 0);
    assert_int_equal(pthread_create(&fb.th, NULL, feed, &fb), 0);
    uint64_t seen = 0;
    for (int i = 0; i < 200; i++) {
        vn_gate_stop(&gate);
        struct vn_switch_totals t;
        vn_switch_totals(sw, &t);
        for (unsigned k = 0; k < NPORTS; k++)
            seen += p[k]->stats.rx_frames + p[k]->stats.tx_frames;
        vn_gate_go(&gate);
    }
    assert_true(seen > 0);
    /* wait (bounded) until both feeders are through */
    for (int i = 0; i < 20000; i++) {
        vn_gate_stop(&gate);
        bool through = p[A1]->stats.rx_frames == ROUNDS + ROUNDS / 10 + ROUNDS / 100 &&
                       p[B1]->stats.rx_frames == ROUNDS + ROUNDS / 10 + ROUNDS / 100;
        vn_gate_go(&gate);
        if (through)
            break;
        usleep(1000);
    }
    atomic_store(&done, true);
    pthread_join(fa.th, NULL);
    pthread_join(fb.th, NULL);
    for (int n = 0; n < 2; n++) {
        struct vn_port *from = p[n ? B1 : A1], *to = p[n ? B2 : A2];
        assert_int_equal(from->stats.rx_frames, ROUNDS + ROUNDS / 10 + ROUNDS / 100);
        assert_int_equal(from->stats.rx_drops[VN_DROP_ACL], ROUNDS / 10);
        /* unicast and broadcasts reach the peer; the first broadcast reached from */
        assert_int_equal(to->stats.tx_frames, ROUNDS + ROUNDS / 100);
        assert_int_equal(from->stats.tx_frames, 1);
    }
    vn_gate_destroy(&gate);
    vn_switch_free(sw);
    vn_loop_free(loops[0]);
    vn_loop_free(loops[1]);
    vn_loop_free(ctl);
    vn_conf_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_workers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
