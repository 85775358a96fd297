/* IPv4 and IPv6 reassembly for datagrams guests fragment (large UDP, ICMP).
 *
 * A fixed set of slots, each with a 64 KiB buffer and a bitmap of received
 * 8-byte blocks, allocated once. A datagram is complete when the last
 * fragment (MF clear) has fixed its length and every block up to it has
 * arrived. Slots expire after a few seconds. TCP is never reassembled
 * (guests use path MTU discovery). IPv6 (RFC 8200 4.5): the key adds the
 * 32-bit identification, the unfragmentable part of the first fragment
 * becomes the header of the whole, and a fragment that overlaps another
 * drops the whole datagram (RFC 5722).
 *
 * Fairness. The table is shared by every guest of a network, so each slot
 * records its owner: the switch port the fragments came in by (the one
 * thing a guest cannot forge; source addresses and MACs it can rotate at
 * will to get a new share each time). The owner is part of the datagram's
 * key, so fragments from another port never land in, complete or (IPv6)
 * overlap-drop a guest's datagram. A guest holds at most VN_REASM_SHARE
 * slots: a new datagram from a guest at its share takes the place of that
 * guest's own oldest one (counted in recycled_share), never another
 * guest's, so a guest flooding never-completed fragments churns only its
 * own share and the rest of the table stays open to the others. Only when
 * every slot is busy (four or more guests at once) does a new datagram
 * take a slot from someone else: the oldest datagram of the guest holding
 * the most slots, or the newcomer's own oldest if it holds as many as
 * anyone (counted in evicted). The size stays fixed (16 slots, 1 MiB per
 * network): a legitimate datagram holds its slot only from its first to
 * its last fragment, which arrive back to back. */
#ifndef VN_GW_REASM_H
#define VN_GW_REASM_H

#include "pkt/ip.h"

#include <stdint.h>

#define VN_REASM_SLOTS 16
#define VN_REASM_SHARE (VN_REASM_SLOTS / 4) /* slots one guest (switch port) may hold */
#define VN_REASM_TIMEOUT_MS 5000

#define VN_REASM_HDR_MAX 256     /* IPv6 unfragmentable part accepted (fixed + extension headers) */

struct vn_reasm_slot {
    bool used;
    uint8_t family;
    uint16_t owner;           /* the guest: id of the switch port the fragments came in by */
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto;
    uint64_t first_ms;
    uint32_t total;           /* payload length once the last fragment arrived, else 0 */
    uint8_t hdr[VN_REASM_HDR_MAX]; /* IP header (IPv6: unfragmentable part) of the first fragment */
    uint16_t ihl;             /* its bytes, 0 until the first fragment arrived */
    uint8_t next;             /* IPv6: the fragment header's next header */
    uint16_t nh_off;          /* IPv6: where the unfragmentable part names the fragment header */
    uint8_t blocks[8192 / 8]; /* bitmap of received 8-byte blocks */
    uint8_t *data;            /* 65536 bytes of payload */
};

struct vn_reasm {
    struct vn_reasm_slot slot[VN_REASM_SLOTS];
    uint8_t *out;             /* the last completed datagram (header + payload) */
    uint64_t completed, timeouts, bad;
    uint64_t evicted;         /* datagrams dropped for another's because every slot was busy */
    uint64_t recycled_share;  /* a guest at its share started another datagram: its own oldest went */
    uint64_t overlaps;        /* datagrams dropped for an overlapping fragment (RFC 5722; also in bad) */
};

int vn_reasm_init(struct vn_reasm *r);
void vn_reasm_free(struct vn_reasm *r);

/* Add a fragment (ip parsed from it) that guest owner (a switch port id)
 * sent. Returns 1 and fills *whole (pointing into r->out) when the
 * datagram is complete, 0 when more is needed, -1 if the fragment is
 * invalid (counted). */
int vn_reasm_add_from(struct vn_reasm *r, uint16_t owner, const struct vn_ip4 *ip,
                      uint64_t now_ms, struct vn_ip4 *whole);
/* The same for an IPv6 fragment (ip->frag set). */
int vn_reasm_add6_from(struct vn_reasm *r, uint16_t owner, const struct vn_ip6 *ip,
                       uint64_t now_ms, struct vn_ip6 *whole);

/* The same with every fragment from one source (owner 0): tests, and
 * tools that put back together what the gateway itself fragmented. */
static inline int vn_reasm_add(struct vn_reasm *r, const struct vn_ip4 *ip, uint64_t now_ms,
                               struct vn_ip4 *whole)
{
    return vn_reasm_add_from(r, 0, ip, now_ms, whole);
}
static inline int vn_reasm_add6(struct vn_reasm *r, const struct vn_ip6 *ip, uint64_t now_ms,
                                struct vn_ip6 *whole)
{
    return vn_reasm_add6_from(r, 0, ip, now_ms, whole);
}

/* Slots holding a datagram that has not expired at now_ms (at most
 * VN_REASM_SLOTS). */
unsigned vn_reasm_in_use(const struct vn_reasm *r, uint64_t now_ms);

#endif
