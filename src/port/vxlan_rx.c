/* Decapsulation: what a vxlan port does with received datagrams (see
 * vxlan_port.h and the theory of operation in vxlan.c). Every check counts
 * what it drops, in the port's rx_drops by reason and in the port's own
 * counters by cause (struct vn_vxlan_stats). */
#include "vxlan_port.h"
#include "vxlan_gro.h"
#include "core/util.h"
#include "pkt/eth.h"

#include <string.h>

int vn_vxlan_vni_net(const struct vn_vxlan *x, uint32_t vni)
{
    unsigned lo = 0, hi = x->nvnis;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (x->vnis[mid].vni == vni)
            return x->vnis[mid].net;
        if (x->vnis[mid].vni < vni)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* Drop one datagram: counted by the port as a received frame and a drop,
 * by cause in *cause, and against VTEP v when known. */
static void drop(struct vn_vxlan *x, enum vn_drop why, uint64_t *cause, struct vn_vx_vtep *v)
{
    x->port->stats.rx_frames++;
    vn_port_drop_rx(x->port, why);
    (*cause)++;
    if (v)
        v->rx_drops++;
}

/* The VTEP d came from, or NULL (counted) when the port does not accept it. */
static struct vn_vx_vtep *source_vtep(struct vn_vxlan *x, const struct vn_vxlan_dgram *d,
                                      uint32_t now)
{
    int v = vn_vx_vtep_find(&x->tab, &d->src);
    if (v < 0) {
        if (x->port->conf.vxlan.accept != VN_VXLAN_ACCEPT_ANY) {
            drop(x, VN_DROP_VTEP, &x->st.unlisted, NULL);
            return NULL;
        }
        v = vn_vx_vtep_add(&x->tab, &d->src, x->local_port, VN_VX_LEARNED, 0);
        if (v < 0) {
            drop(x, VN_DROP_VTEP, &x->st.vtep_full, NULL);
            return NULL;
        }
    }
    struct vn_vx_vtep *e = &x->tab.vteps[v];
    e->seen = true;
    e->seen_s = now;
    return e;
}

void vn_vxlan_rx(struct vn_vxlan *x, struct vn_vxlan_dgram *d, unsigned n)
{
    struct vn_port *p = x->port;
    uint32_t now = vn_vxlan_now(x);
    bool learning = p->conf.vxlan.learning;
    unsigned k = 0;
    /* The datagrams of a train come from one VTEP with one inner source:
     * the last VTEP and the last MAC learned are remembered for the batch. */
    const struct vn_addr *last_src = NULL;
    struct vn_vx_vtep *last_v = NULL;
    const uint8_t *last_mac = NULL;
    const struct vn_vx_vtep *last_learned = NULL;
    int last_net = -1;
    uint32_t room[VN_BATCH];
    for (unsigned i = 0; i < n && i < VN_BATCH; i++) {
        uint32_t vni;
        enum vn_vxlan_hdr_err he = vn_vxlan_hdr_get(d[i].data, d[i].len, &vni);
        if (he != VN_VXLAN_HDR_OK) {
            drop(x, VN_DROP_MALFORMED,
                 he == VN_VXLAN_HDR_SHORT ? &x->st.bad_header : &x->st.no_i_flag, NULL);
            continue;
        }
        /* Who sent it before what it carries: an unlisted VTEP learns
         * nothing about our VNIs from the counters it can provoke. */
        struct vn_vx_vtep *v = last_v && vn_addr_eq(last_src, &d[i].src)
                                   ? last_v
                                   : source_vtep(x, &d[i], now);
        if (!v)
            continue;
        last_src = &d[i].src;
        last_v = v;
        int net = vn_vxlan_vni_net(x, vni);
        if (net < 0) {
            drop(x, VN_DROP_VNI, &x->st.unknown_vni, v);
            continue;
        }
        uint8_t *f = d[i].data + VN_VXLAN_HLEN;
        uint32_t len = d[i].len - VN_VXLAN_HLEN;
        if (len < VN_ETH_HLEN) {
            drop(x, VN_DROP_MALFORMED, &x->st.truncated, v);
            continue;
        }
        const uint8_t *src = f + VN_ETH_ALEN;
        if (vn_mac_is_multicast(src) || vn_mac_is_zero(src)) {
            drop(x, VN_DROP_MALFORMED, &x->st.bad_inner_src, v);
            continue;
        }
        uint16_t type = vn_get_be16(f + 12);
        if (type == VN_ETH_TYPE_VLAN || type == VN_ETH_TYPE_QINQ) {
            /* RFC 7348 6.1: decapsulated frames with an inner VLAN tag
             * SHOULD be discarded; the VNI alone names the network. */
            drop(x, VN_DROP_VLAN, &x->st.inner_vlan, v);
            continue;
        }
        if (learning && !(v == last_learned && net == last_net && !memcmp(src, last_mac, 6))) {
            vn_vx_learn(&x->tab, (uint16_t)net, src, (uint16_t)(v - x->tab.vteps), now);
            last_learned = v;
            last_mac = src;
            last_net = net;
        }
        v->rx_frames++;
        v->rx_bytes += len;
        /* port: the VTEP, until the switch sets it (for vn_vxlan_gro) */
        room[k] = d[i].room;
        p->rxframes[k++] = (struct vn_frame){ .data = f, .len = len, .net = (uint16_t)net,
                                              .port = (uint16_t)(v - x->tab.vteps) };
    }
    if (k) {
        k = vn_vxlan_gro_room(p->rxframes, k, VN_VXLAN_HLEN, room, &x->st.coalesced);
        vn_port_input(p, p->rxframes, k);
    }
}
