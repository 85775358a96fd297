/* Fuzz target: IPv4/TCP/UDP/ICMP header parsing (pkt/ip.c), IPv4
 * reassembly (gw/reasm.c) and the software offload fallbacks (pkt/gso.c).
 * Input: byte 0 selects checksum checking and reassembly; bytes 1..8 are
 * offload metadata (virtio-net style) for a GSO/checksum attempt on the
 * frame Ethernet + packet; the rest is one IPv4 packet, or several
 * fragments each preceded by a 2-byte length when reassembling. */
#include "gw/reasm.h"
#include "pkt/eth.h"
#include "pkt/gso.h"
#include "pkt/ip.h"

#include <linux/virtio_net.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct vn_reasm reasm;
static uint8_t *segbuf;
static struct vn_frame segs[256];

static void parse_l4(const struct vn_ip4 *ip)
{
    if (ip->frag_off || ip->mf)
        return;
    struct vn_tcp t;
    struct vn_udp u;
    struct vn_icmp ic;
    volatile uint8_t sink = 0;
    switch (ip->proto) {
    case VN_IPPROTO_TCP:
        if (vn_tcp_parse(ip->l4, ip->l4_len, &t) == 0) {
            if (t.hlen > ip->l4_len || t.data + t.dlen != ip->l4 + ip->l4_len)
                abort();
            for (size_t i = 0; i < t.dlen; i++)
                sink ^= t.data[i];
        }
        break;
    case VN_IPPROTO_UDP:
        if (vn_udp_parse(ip->l4, ip->l4_len, &u) == 0) {
            if (u.len > ip->l4_len)
                abort();
            for (size_t i = 0; i < u.dlen; i++)
                sink ^= u.data[i];
        }
        break;
    case VN_IPPROTO_ICMP:
        if (vn_icmp_parse(ip->l4, ip->l4_len, &ic) == 0)
            for (size_t i = 0; i < ic.dlen; i++)
                sink ^= ic.data[i];
        break;
    }
    (void)sink;
}

/* Ethernet + packet with fuzzed offload metadata through the GSO paths. */
static void offloads(const uint8_t *meta, const uint8_t *pkt, size_t len)
{
    if (len > 65535)
        return;
    uint8_t *f = malloc(14 + len);
    if (!f)
        return;
    static const uint8_t hdr[14] = { 0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0 };
    memcpy(f, hdr, 14);
    memcpy(f + 14, pkt, len);
    struct vn_frame fr = { .data = f, .len = (uint32_t)(14 + len) };
    fr.off.flags = meta[0] & 3;
    fr.off.gso_type = (meta[1] & 1) ? VIRTIO_NET_HDR_GSO_TCPV4 : VIRTIO_NET_HDR_GSO_NONE;
    fr.off.hdr_len = (uint16_t)(meta[2] | meta[3] << 8);
    fr.off.gso_size = (uint16_t)(meta[4] | meta[5] << 8);
    fr.off.csum_start = (uint16_t)(meta[6] | (meta[7] & 1) << 8);
    fr.off.csum_offset = (meta[7] >> 1) & 31;
    if (fr.off.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        if (vn_gso_hdr_len(&fr) >= 0)
            vn_gso_segment(&fr, segbuf, 256 * 1024, segs, 256);
    } else {
        vn_csum_complete(&fr);
    }
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!segbuf) {
        if (vn_reasm_init(&reasm) || !(segbuf = malloc(256 * 1024)))
            abort();
    }
    if (size < 9 || size > 200000)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *meta = data + 1;
    data += 9;
    size -= 9;
    struct vn_ip4 ip;
    if (!(mode & 2)) {
        uint8_t *p = malloc(size ? size : 1);
        memcpy(p, data, size);
        if (vn_ip4_parse_hdr(p, size, mode & 1, &ip) == VN_IP_OK) {
            if (ip.ihl < 20 || ip.tot_len > size || ip.l4 + ip.l4_len > p + size)
                abort();
            parse_l4(&ip);
        }
        offloads(meta, p, size);
        free(p);
        return 0;
    }
    /* Fragments into one reassembly context, timestamps advancing. */
    uint64_t now = 1000;
    while (size >= 2) {
        size_t l = (size_t)(data[0] | data[1] << 8);
        data += 2;
        size -= 2;
        if (l > size)
            l = size;
        uint8_t *p = malloc(l ? l : 1);
        memcpy(p, data, l);
        data += l;
        size -= l;
        now += mode >> 2;
        struct vn_ip4 whole;
        if (vn_ip4_parse_hdr(p, l, false, &ip) == VN_IP_OK && (ip.mf || ip.frag_off) &&
            vn_reasm_add(&reasm, &ip, now, &whole) == 1) {
            if (whole.tot_len < whole.ihl)
                abort();
            parse_l4(&whole);
        }
        free(p);
    }
    return 0;
}
