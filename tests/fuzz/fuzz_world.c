/* The fuzz world: see fuzz_world.h. */
#include "fuzz_world.h"
#include "core/hash.h"
#include "core/log.h"
#include "gw/gateway.h"
#include "nat/nat.h"
#include "pkt/eth.h"
#include "port/port.h"

#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

bool fz_isolate(void)
{
    static int state = -1;
    if (state >= 0)
        return state;
    state = 0;
    if (unshare(CLONE_NEWNET) < 0)
        return false;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        struct ifreq ifr = { 0 };
        snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
        if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
            ifr.ifr_flags |= IFF_UP;
            ioctl(fd, SIOCSIFFLAGS, &ifr);
        }
        close(fd);
    }
    state = 1;
    return true;
}

/* The fake backend: every frame is "delivered" after its bytes (with the
 * egress tag) were read once. */
static int fake_open(struct vn_port *p, char *err, size_t errlen)
{
    (void)err, (void)errlen;
    p->connected = true;
    p->caps = 0;
    return 0;
}

static volatile uint8_t fz_sink;

static void fake_send(struct vn_port *p, struct vn_frame **frames, unsigned n)
{
    struct fz_world *w = p->priv;
    for (unsigned i = 0; i < n; i++) {
        struct vn_frame *f = frames[i];
        if (f->len < VN_ETH_HLEN || f->len > VN_FRAME_MAX) {
            fprintf(stderr, "fuzz: port %s was given a frame of %u bytes\n", p->conf.name,
                    f->len);
            abort();
        }
        uint8_t tag[4], x = 0;
        struct iovec iov[3];
        size_t len;
        int k = vn_port_frame_iov(p, f, tag, iov, &len);
        for (int j = 0; j < k; j++)
            for (size_t b = 0; b < iov[j].iov_len; b++)
                x ^= ((const uint8_t *)iov[j].iov_base)[b];
        fz_sink ^= x;
        vn_port_tx_ok(p, len);
        if (w)
            w->tx_frames++;
        if (w && w->on_tx)
            w->on_tx(w, p, f);
    }
}

static void fake_close(struct vn_port *p) { (void)p; }
static void fake_describe(struct vn_port *p, json_t *obj) { (void)p, (void)obj; }

static const struct vn_port_ops fake_ops = {
    .type = "fake",
    .open = fake_open,
    .send = fake_send,
    .close = fake_close,
    .describe = fake_describe,
};

struct fz_world *fz_world_new(const char *yaml)
{
    static bool once;
    if (!once) {
        once = true;
        vn_log_set_level(VN_LOG_ERR);
        vn_hash_init();
    }
    struct fz_world *w = calloc(1, sizeof *w);
    struct vn_conf_err ce;
    char err[512];
    if (!w || !(w->conf = vn_conf_new()))
        abort();
    if (vn_conf_load_yaml_string(w->conf, "fuzz-world", yaml, strlen(yaml), &ce) ||
        vn_conf_validate(w->conf, &ce)) {
        fprintf(stderr, "fuzz world config: %s\n", ce.msg);
        abort();
    }
    w->loop = vn_loop_new();
    w->sw = w->loop ? vn_switch_new(w->loop) : NULL;
    if (!w->sw)
        abort();
    w->sw->ct_max = 1024;
    for (unsigned i = 0; i < w->conf->nnets; i++) {
        struct vn_network *n = vn_switch_add_network(w->sw, &w->conf->nets[i], err, sizeof err);
        if (!n) {
            fprintf(stderr, "fuzz world network: %s\n", err);
            abort();
        }
        if (vn_net_has_gateway(&n->conf) &&
            (!(n->gw = vn_gw_new(w->sw, n, NULL, err, sizeof err)) ||
             vn_nat_attach(n->gw, err, sizeof err) < 0)) {
            fprintf(stderr, "fuzz world gateway: %s\n", err);
            abort();
        }
    }
    for (unsigned i = 0; i < w->conf->nports; i++)
        if (!vn_switch_add_port_ops(w->sw, &w->conf->ports[i], &fake_ops, w, err, sizeof err)) {
            fprintf(stderr, "fuzz world port: %s\n", err);
            abort();
        }
    return w;
}

void fz_world_free(struct fz_world *w)
{
    if (!w)
        return;
    for (unsigned i = 0; i < w->sw->nnets; i++) {
        vn_gw_free(w->sw->nets[i]->gw);
        w->sw->nets[i]->gw = NULL;
    }
    vn_switch_free(w->sw);
    vn_loop_free(w->loop);
    vn_conf_free(w->conf);
    free(w);
}

struct vn_port *fz_world_port(struct fz_world *w, unsigned i)
{
    for (unsigned k = 0; k < w->sw->nports; k++) {
        struct vn_port *p = w->sw->ports[k];
        if (p && p->ops == &fake_ops && i-- == 0)
            return p;
    }
    return NULL;
}

/* The gateway MAC is derived from a per-process random hash key, so inputs
 * name it with a placeholder: frames to 52:54:00:00:00:02 are readdressed to
 * the gateway of the network they will be classified into. */
static const uint8_t GW_PLACEHOLDER[6] = { 0x52, 0x54, 0, 0, 0, 2 };

static void readdress(struct vn_switch *sw, struct vn_port *p, uint8_t *f, size_t len)
{
    if (len < VN_ETH_HLEN || memcmp(f, GW_PLACEHOLDER, 6))
        return;
    int net = p->fwd->trunk ? p->fwd->native_net : p->fwd->access_net;
    if (len >= VN_ETH_HLEN + VN_VLAN_HLEN && vn_get_be16(f + 12) == VN_ETH_TYPE_VLAN &&
        (vn_get_be16(f + 14) & 0xfff))
        net = sw->vid_net[vn_get_be16(f + 14) & 0xfff];
    if (net >= 0 && (unsigned)net < sw->nnets && sw->nets[net]->gw)
        memcpy(f, sw->nets[net]->gw->mac, 6);
}

void fz_world_input(struct fz_world *w, struct vn_port *p, const uint8_t *const *frames,
                    const size_t *lens, unsigned n)
{
    struct vn_switch *sw = w->sw;
    unsigned k = 0;
    for (unsigned i = 0; i < n && k < VN_BATCH; i++) {
        if (lens[i] > VN_RXBUF_SIZE)
            continue;
        uint8_t *buf = sw->dp[0]->rxbuf[k] + VN_HEADROOM;
        memcpy(buf, frames[i], lens[i]);
        readdress(sw, p, buf, lens[i]);
        sw->dp[0]->rxframes[k] = (struct vn_frame){ .data = buf, .len = (uint32_t)lens[i] };
        k++;
    }
    if (k)
        vn_switch_input(sw, p, sw->dp[0]->rxframes, k);
    vn_loop_once(w->loop, 0);
}
