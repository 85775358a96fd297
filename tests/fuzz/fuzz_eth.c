/* Fuzz target: Ethernet/802.1Q parsing (pkt/eth.c), the in-place tag strip
 * the switch does, and what the ACL matcher reads from a frame (fw/acl.c:
 * ARP, IPv4, TCP/UDP ports, ICMP type) against a fixed rule list.
 * Input: one frame. */
#include "fw/acl.h"
#include "pkt/eth.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static struct vn_acl acl;

static void init_rules(void)
{
    static const char *const rules[] = {
        "allow in proto=tcp dport=22 src=10.0.2.0/24",
        "drop both ethertype=0x0806 src_mac=52:54:00:00:00:01",
        "reject out proto=udp sport=1000-2000 dst=192.168.0.0/16 state=new",
        "allow both proto=icmp icmp_type=8",
        "allow in state=established",
        "drop in dst_mac=ff:ff:ff:ff:ff:ff",
    };
    char err[256];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        struct vn_acl_rule r;
        if (vn_acl_rule_parse(rules[i], &r, err, sizeof err) ||
            vn_acl_insert(&acl, &r, -1, err, sizeof err))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!acl.n)
        init_rules();
    if (size > 65536 + 18)
        return 0;
    uint8_t *f = malloc(size ? size : 1); /* exact size: over-reads are caught */
    if (!f)
        return 0;
    memcpy(f, data, size);
    struct vn_eth_info ei;
    if (vn_eth_parse(f, size, &ei) == VN_ETH_OK) {
        if (ei.l3_off > size || (ei.tagged && ei.l3_off != 18) || (!ei.tagged && ei.l3_off != 14))
            abort();
        struct vn_frame fr = { .data = f, .len = (uint32_t)size };
        if (ei.tagged) { /* strip as the switch does */
            memmove(f + VN_VLAN_HLEN, f, 2 * VN_ETH_ALEN);
            fr.data += VN_VLAN_HLEN;
            fr.len -= VN_VLAN_HLEN;
        }
        struct vn_acl_pkt pkt;
        memset(&pkt, 0, sizeof pkt);
        vn_acl_classify(&fr, &pkt);
        for (unsigned dir = 1; dir <= 2; dir++) {
            pkt.established = dir == 2;
            vn_acl_match(&acl, dir, &pkt);
        }
    }
    free(f);
    return 0;
}
