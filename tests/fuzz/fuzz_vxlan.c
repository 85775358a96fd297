/* Fuzz target: the vxlan port's decapsulation and learning path, with a
 * real switch behind it (fuzz_world.h: a nat network lan, VNI 100, and an
 * isolated mgmt, VNI 200, each with a fake guest port) and the real vxlan
 * backend, whose sockets live on loopback (in the fuzzer's own network
 * namespace when it could make one).
 *
 * Input: a mode byte, then records [sel][len_hi][len_lo][data...].
 *   mode bit 0: accept: any; bit 1: learning: false; bit 2: a small table
 *   (max_remote_macs 16, 4 per VTEP); bit 3: ageing 10 s (else 300); bit 4:
 *   the datagrams of a batch lie back to back in one buffer, as a UDP_GRO
 *   buffer holds a train, so their TCP segments may be merged.
 *   sel bits 0-1: the VTEP (127.0.0.2 and .3 are listed, .4 and .5 not);
 *   bit 2 clear: data is a UDP payload from that VTEP to the port
 *   (vn_vxlan_rx, as after recvmmsg); set: data is a frame a guest sends
 *   (bit 3: vm2 on mgmt, else vm1 on lan), which leaves by the vxlan port;
 *   bits 4-5: the loop's clock steps 0, 1, 11 or 301 s first (ageing);
 *   bit 6: a control-plane call instead (data[0] & 3: static entry add, entry
 *   del, flood-list add, flood-list del; data[0] & 4: as the operator, else
 *   as the EVPN mirror; data[1] & 1: the network; data[2..7] the MAC), for
 *   that VTEP; bit 7 ends a batch (up to 64 datagrams).
 *
 * Checked after every batch: every datagram is counted by the port (as a
 * frame the switch received, merged into the one before, or as a drop); the
 * merging of TCP segments (vxlan_gro.h), run on a copy of the batch, gives
 * frames that segment back into exactly the frames that went in, and
 * merged frames carry valid offload metadata; the remote table is consistent
 * (per-VTEP lists oldest first, counts, nobody above its share, at most its
 * size, every entry found by lookup unless expired, learned VTEPs only
 * under accept: any); frames reach the guests untagged; and no listed VTEP
 * is ever sent back a frame it sent in the same batch (the switch never
 * sends a frame out of the port it came in by). A fresh world per input. */
#include "fuzz_world.h"
#include "core/loop.h"
#include "core/util.h"
#include "pkt/eth.h"
#include "pkt/gso.h"
#include "port/vxlan.h"
#include "port/vxlan_gro.h"
#include "port/vxlan_port.h"

#include <linux/virtio_net.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char NAT_NET[] = "  - {name: lan, mode: nat, vni: 100, dns: {upstream: [127.0.0.1:1]},\n"
                              "     nat: {max_flows: 64}}\n";
static const char ISO_NET[] = "  - {name: lan, mode: isolated, vni: 100, subnet: 10.0.2.0/24,\n"
                              "     dns: {upstream: [127.0.0.1:1]}}\n";
static const char REST[] = "  - {name: mgmt, mode: isolated, vni: 200}\n"
                           "ports:\n"
                           "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1}\n"
                           "  - {name: vm2, type: stream, network: mgmt, path: /nonexistent/vm2}\n";

static char yaml[1024];
static int remote_fd[2]; /* the listed VTEPs' sockets, bound once per process */
static uint16_t remote_port[2];
static uint64_t clock_ns;

static uint64_t fake_clock(void *ctx)
{
    (void)ctx;
    return clock_ns;
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz: %s\n", what);
    abort();
}

static void open_remotes(void)
{
    for (int i = 0; i < 2; i++) {
        int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_in s = { .sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)i) };
        socklen_t sl = sizeof s;
        if (fd < 0 || bind(fd, (struct sockaddr *)&s, sizeof s) < 0 ||
            getsockname(fd, (struct sockaddr *)&s, &sl) < 0)
            die("remote socket");
        remote_fd[i] = fd;
        remote_port[i] = ntohs(s.sin_port);
    }
}

/* Inner frames each listed VTEP sent in the current batch. */
struct sent {
    const uint8_t *f[VN_BATCH];
    uint32_t len[VN_BATCH];
    unsigned n;
};

/* Read what the listed VTEPs were sent; none may be a frame it sent itself
 * in this batch. */
static void drain(const struct sent *s)
{
    static uint8_t d[70000];
    for (int i = 0; i < 2; i++)
        for (;;) {
            ssize_t r = recv(remote_fd[i], d, sizeof d, MSG_DONTWAIT);
            if (r < 0)
                break;
            if (r < VN_VXLAN_HLEN || d[0] != VN_VXLAN_FLAG_I)
                die("a datagram without a VXLAN header left the port");
            for (unsigned k = 0; s && k < s[i].n; k++)
                if ((size_t)r - VN_VXLAN_HLEN == s[i].len[k] &&
                    !memcmp(d + VN_VXLAN_HLEN, s[i].f[k], s[i].len[k]))
                    die("a frame went back to the VTEP it came from");
        }
}

static void check_table(const struct vn_vxlan *x, bool any)
{
    const struct vn_vx_table *t = &x->tab;
    uint32_t total = 0, now = vn_vxlan_now(x);
    for (unsigned v = 0; v < t->vtep_hi; v++) {
        const struct vn_vx_vtep *e = &t->vteps[v];
        if (!e->addr.family)
            continue;
        if (e->origin == VN_VX_LEARNED && !any)
            die("a VTEP learned under accept: listed");
        uint32_t n = 0, prev = VN_VX_NIL;
        for (uint32_t i = e->head; i != VN_VX_NIL; i = t->macs[i].next) {
            if (t->macs[i].vtep != v || t->macs[i].is_static || t->macs[i].prev != prev ||
                (prev != VN_VX_NIL && t->macs[prev].seen_s > t->macs[i].seen_s) || n > t->max)
                die("a VTEP's list of learned MACs is broken");
            prev = i;
            n++;
        }
        if (prev != e->tail || n != e->nlearned || n > t->share)
            die("a VTEP's learned count is wrong or above its share");
        total += e->nlearned + e->nstatic;
    }
    if (total != t->count || t->count > t->max || t->nvteps > VN_VX_MAX_VTEPS)
        die("the remote table's counts disagree");
    uint32_t pos = 0, live = 0;
    const struct vn_vx_mac *m;
    while ((m = vn_vx_next(t, &pos))) {
        uint8_t mac[6];
        vn_vx_key_mac(m->key, mac);
        bool expired = !m->is_static && t->ageing_s && now - m->seen_s > t->ageing_s;
        if (vn_vx_lookup(t, vn_vx_key_net(m->key), mac, now) != (expired ? -1 : m->vtep))
            die("an entry of the remote table is not found");
        if (vn_mac_is_multicast(mac))
            die("a multicast MAC was learned");
        live++;
    }
    if (live != t->count)
        die("the remote table holds more than it counts");
}

static void on_tx(struct fz_world *w, struct vn_port *p, const struct vn_frame *f)
{
    (void)w, (void)p;
    if (f->len >= VN_ETH_HLEN && vn_get_be16(f->data + 12) == VN_ETH_TYPE_VLAN)
        die("a tagged frame reached a guest");
}

/* Add the real vxlan port to the world; returns it. */
static struct vn_port *add_vxlan(struct fz_world *w, uint8_t mode)
{
    struct vn_conf_err ce;
    struct vn_conf_src src = { "fuzz", 0 };
    struct vn_port_conf *pc = vn_conf_add_port(w->conf, src, &ce);
    char rem[2][32], err[256];
    snprintf(rem[0], sizeof rem[0], "127.0.0.2:%u", remote_port[0]);
    snprintf(rem[1], sizeof rem[1], "127.0.0.3:%u", remote_port[1]);
    if (!pc || vn_conf_port_set(pc, "name", "vx", src, &ce) ||
        vn_conf_port_set(pc, "type", "vxlan", src, &ce) ||
        vn_conf_port_set(pc, "local", "127.0.0.1", src, &ce) ||
        vn_conf_port_set(pc, "networks", "lan", src, &ce) ||
        vn_conf_port_set(pc, "networks", "mgmt", src, &ce) ||
        vn_conf_port_set(pc, "remotes", rem[0], src, &ce) ||
        vn_conf_port_set(pc, "remotes", rem[1], src, &ce) ||
        vn_conf_port_set(pc, "accept", mode & 1 ? "any" : "listed", src, &ce) ||
        vn_conf_port_set(pc, "learning", mode & 2 ? "false" : "true", src, &ce) ||
        (mode & 4 && (vn_conf_port_set(pc, "max_remote_macs", "16", src, &ce) ||
                      vn_conf_port_set(pc, "max_remote_macs_per_vtep", "4", src, &ce))) ||
        vn_conf_port_set(pc, "ageing", mode & 8 ? "10" : "300", src, &ce) ||
        vn_conf_validate_port(w->conf, pc, &ce))
        die(ce.msg);
    pc->vxlan.local.port = 0; /* ephemeral: no clash with anything on the host */
    struct vn_port *p = vn_switch_add_port_ops(w->sw, pc, &vn_port_vxlan_ops, NULL, err, sizeof err);
    if (!p)
        die(err);
    return p;
}

static void control(struct vn_port *p, unsigned vtep, const uint8_t *d, size_t n)
{
    char err[256];
    uint8_t op = n ? d[0] & 3 : 0, net = n > 1 ? d[1] & 1 : 0, mac[6] = { 2, 0, 0, 0, 0, 1 };
    if (n >= 8)
        memcpy(mac, d + 2, 6);
    struct vn_sockaddr a = { .ip = vn_addr4(0x7f000002u + vtep),
                             .port = vtep < 2 ? remote_port[vtep] : 0 };
    enum vn_vxlan_by by = n && d[0] & 4 ? VN_VXLAN_BY_CONTROL : VN_VXLAN_BY_EVPN;
    switch (op) {
    case 0: vn_vxlan_fdb_add(p, net, mac, &a, by, err, sizeof err); break;
    case 1: vn_vxlan_fdb_del(p, net, mac, by, err, sizeof err); break;
    case 2: vn_vxlan_vtep_add(p, &a, n > 1 ? d[1] & 3 : 0, by, err, sizeof err); break;
    default: vn_vxlan_vtep_del(p, &a.ip, n > 1 ? d[1] & 3 : 0, by, err, sizeof err); break;
    }
}

/* Merge the inner frames of datagrams dg[0..nd) on a copy, as the port
 * does, and check that the result segments back into exactly them. */
static void check_gro(const struct vn_vxlan_dgram *dg, unsigned nd)
{
    static uint8_t work[2][VN_RXBUF_SIZE + VN_HEADROOM], seg[VN_GSO_BUF_SIZE];
    static struct vn_frame f[VN_BATCH], o[VN_BATCH], ss[VN_GSO_MAX_SEGS];
    if (!nd)
        return;
    const uint8_t *base = dg[0].data;
    size_t span = (size_t)(dg[nd - 1].data + dg[nd - 1].len - base);
    if (span > sizeof work[0] || dg[nd - 1].data < base)
        return; /* not one buffer */
    memcpy(work[0], base, span);
    memcpy(work[1], base, span);
    unsigned m = 0;
    for (unsigned i = 0; i < nd; i++) {
        if (dg[i].len < VN_VXLAN_HLEN)
            continue;
        size_t at = (size_t)(dg[i].data - base) + VN_VXLAN_HLEN;
        uint16_t vtep = dg[i].src.a[3], net = dg[i].data[6] & 1;
        f[m] = (struct vn_frame){ .data = work[0] + at, .len = dg[i].len - VN_VXLAN_HLEN,
                                  .port = vtep, .net = net };
        o[m++] = (struct vn_frame){ .data = work[1] + at, .len = dg[i].len - VN_VXLAN_HLEN };
    }
    uint64_t merged = 0;
    unsigned k = vn_vxlan_gro(f, m, VN_VXLAN_HLEN, &merged), j = 0;
    if (k + merged != m)
        die("merging lost or made frames");
    for (unsigned i = 0; i < k; i++) {
        int n = 1;
        const struct vn_frame *x = &f[i];
        if (f[i].off.gso_type) {
            if (!(f[i].off.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || vn_gso_hdr_len(&f[i]) < 0 ||
                f[i].off.hdr_len != vn_gso_hdr_len(&f[i]))
                die("a merged frame's offload metadata is wrong");
            n = vn_gso_segment(&f[i], seg, sizeof seg, ss, VN_GSO_MAX_SEGS);
            if (n < 2)
                die("a merged frame does not segment");
            x = ss;
        }
        for (int q = 0; q < n; q++, j++)
            if (j >= m || x[q].len != o[j].len || memcmp(x[q].data, o[j].data, o[j].len))
                die("a merged frame does not segment back into what came in");
    }
    if (j != m)
        die("merged frames hold fewer segments than came in");
}

/* Decapsulate the pending batch, check it was all counted and that no
 * listed VTEP got back what it sent. Returns 0 (the new batch size). */
static unsigned flush(struct fz_world *w, struct vn_vxlan *x, struct vn_vxlan_dgram *dg,
                      unsigned nd, struct sent *sent, uint64_t *rx_before)
{
    check_gro(dg, nd);
    uint64_t merged = x->st.coalesced;
    vn_vxlan_rx(x, dg, nd);
    if (x->port->stats.rx_frames - *rx_before + (x->st.coalesced - merged) != nd)
        die("a datagram was not counted");
    vn_loop_once(w->loop, 0); /* the gateway's answers */
    drain(sent);
    *rx_before = x->port->stats.rx_frames;
    memset(sent, 0, 2 * sizeof *sent);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!yaml[0]) {
        snprintf(yaml, sizeof yaml, "networks:\n%s%s", fz_isolate() ? NAT_NET : ISO_NET, REST);
        open_remotes();
    }
    if (size < 1 || size > 256 * 1024)
        return 0;
    uint8_t mode = data[0];
    struct fz_world *w = fz_world_new(yaml);
    w->on_tx = on_tx;
    clock_ns = vn_now_ns();
    vn_loop_set_clock(w->loop, fake_clock, NULL);
    struct vn_port *vx = add_vxlan(w, mode);
    struct vn_vxlan *x = vx->priv;
    struct vn_port *vm[2] = { fz_world_port(w, 0), fz_world_port(w, 1) };
    drain(NULL);

    struct vn_vxlan_dgram dg[VN_BATCH];
    struct sent sent[2] = { 0 };
    unsigned nd = 0;
    size_t train = 0; /* bytes of the batch's train so far */
    uint64_t rx_before = vx->stats.rx_frames;
    size_t off = 1;
    while (off + 3 <= size) {
        uint8_t sel = data[off];
        /* Anything but another datagram switches the pending batch first:
         * the switch's receive buffers hold it. */
        if (nd && (sel & 0x74))
            nd = flush(w, x, dg, nd, sent, &rx_before);
        size_t len = (size_t)data[off + 1] << 8 | data[off + 2];
        off += 3;
        if (len > size - off)
            len = size - off;
        const uint8_t *d = data + off;
        off += len;
        static const uint32_t steps[4] = { 0, 1, 11, 301 };
        if (sel & 0x30) {
            clock_ns += steps[(sel >> 4) & 3] * 1000000000ull;
            vn_loop_once(w->loop, 0);
        }
        unsigned vtep = sel & 3;
        if (sel & 0x40) {
            control(vx, vtep, d, len);
        } else if (sel & 4) {
            const uint8_t *fr[1] = { d };
            size_t fl[1] = { len };
            if (len >= VN_ETH_HLEN)
                fz_world_input(w, vm[(sel >> 3) & 1], fr, fl, 1);
        } else if (len + VN_VXLAN_HLEN <= VN_RXBUF_SIZE) {
            /* As recvmmsg leaves it: the header in the headroom; a train
             * (mode bit 4) back to back in the first buffer, as UDP_GRO. */
            if ((mode & 0x10) && nd && train + len > VN_RXBUF_SIZE + VN_VXLAN_HLEN)
                nd = flush(w, x, dg, nd, sent, &rx_before);
            if (!nd)
                train = 0;
            uint8_t *b = w->sw->dp[0]->rxbuf[nd] + VN_HEADROOM - VN_VXLAN_HLEN;
            if (mode & 0x10) {
                b = w->sw->dp[0]->rxbuf[0] + VN_HEADROOM - VN_VXLAN_HLEN + train;
                train += len;
            }
            memcpy(b, d, len);
            /* a datagram alone in its buffer has the rest of it free */
            dg[nd] = (struct vn_vxlan_dgram){
                .data = b, .len = (uint32_t)len, .src = vn_addr4(0x7f000002u + vtep),
                .room = (mode & 0x10) ? 0 : (uint32_t)(VN_RXBUF_SIZE + VN_VXLAN_HLEN - len)
            };
            if (vtep < 2 && len >= VN_VXLAN_HLEN && sent[vtep].n < VN_BATCH) {
                sent[vtep].f[sent[vtep].n] = b + VN_VXLAN_HLEN;
                sent[vtep].len[sent[vtep].n++] = (uint32_t)(len - VN_VXLAN_HLEN);
            }
            nd++;
        }
        if (nd && ((sel & 0x80) || nd == VN_BATCH || off + 3 > size))
            nd = flush(w, x, dg, nd, sent, &rx_before);
        check_table(x, mode & 1);
    }
    if (nd)
        flush(w, x, dg, nd, sent, &rx_before);
    drain(NULL);
    fz_world_free(w);
    return 0;
}
