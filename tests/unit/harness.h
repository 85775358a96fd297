/* What the unit tests that drive the real switch share: a port backend that
 * records the frames it is sent (as they would leave the port, VLAN tag
 * included), loading a configuration, and feeding a frame into a port. Each
 * helper fails the running cmocka test when something it needs fails. */
#ifndef VN_TESTS_HARNESS_H
#define VN_TESTS_HARNESS_H

#include "conf/config.h"
#include "port/port.h"
#include "switch/switch.h"

#include <stddef.h>
#include <stdint.h>

#define HARNESS_MAXREC 96

/* Frames a recording port was sent, in order; those past HARNESS_MAXREC or
 * longer than a slot are counted in lost. */
struct harness_rec {
    unsigned n, lost;
    uint8_t f[HARNESS_MAXREC][1600];
    size_t len[HARNESS_MAXREC];
};

/* The recording backend: port priv is a struct harness_rec (or NULL: count only). */
extern const struct vn_port_ops harness_rec_ops;

/* Load yaml and validate it; returns the model (vn_conf_free it). */
struct vn_config *harness_config(const char *yaml);
/* Load text as "t.yaml" and validate it, for tests of what is refused:
 * returns 0, or -1 with the message in *ce. The model goes to *out (even
 * when refused; vn_conf_free it), or is freed when out is NULL. */
int harness_load(const char *text, struct vn_config **out, struct vn_conf_err *ce);
/* Add network nc to sw. */
struct vn_network *harness_network(struct vn_switch *sw, const struct vn_net_conf *nc);
/* Add port pc to sw as a recording port writing into rec (may be NULL). */
struct vn_port *harness_port(struct vn_switch *sw, const struct vn_port_conf *pc,
                             struct harness_rec *rec);
/* Write a 20-byte IPv4 header at ip for l4len bytes of proto from src to dst
 * (host order; TTL ttl, fragment field zero, checksum filled in); returns
 * where the L4 header goes. */
uint8_t *harness_ip4_hdr(uint8_t *ip, uint32_t src, uint32_t dst, uint8_t proto, uint8_t ttl,
                         size_t l4len);
/* The same behind an Ethernet header from smac to dmac at f. */
uint8_t *harness_ip4(uint8_t *f, const uint8_t dmac[6], const uint8_t smac[6], uint32_t src,
                     uint32_t dst, uint8_t proto, uint8_t ttl, size_t l4len);
/* Write an IPv6 header at ip from src to dst (16 bytes each, network
 * order) with hop limit hlim, then the extension headers exts[0..nexts)
 * (VN_IPPROTO_HOPOPTS, _DSTOPTS, _ROUTING: 8 bytes each, padded with PadN;
 * _FRAGMENT: offset 0 with more fragments set, identification 1), then
 * room for l4len bytes of proto (payload length covers it all); returns
 * where the upper-layer header goes. */
uint8_t *harness_ip6_hdr(uint8_t *ip, const uint8_t src[16], const uint8_t dst[16], uint8_t proto,
                         uint8_t hlim, const uint8_t *exts, unsigned nexts, size_t l4len);
/* The same behind an Ethernet header from smac to dmac at f (dmac NULL: the
 * multicast MAC of dst, 33:33 and its last four bytes). */
uint8_t *harness_ip6(uint8_t *f, const uint8_t *dmac, const uint8_t smac[6], const uint8_t src[16],
                     const uint8_t dst[16], uint8_t proto, uint8_t hlim, const uint8_t *exts,
                     unsigned nexts, size_t l4len);
/* Fill in the ICMPv6/UDP/TCP checksum at l4 + csum_off of an upper-layer
 * message of l4len bytes from src to dst. */
void harness_csum6(uint8_t *l4, size_t l4len, const uint8_t src[16], const uint8_t dst[16],
                   uint8_t proto, size_t csum_off);

/* Copy the frame f of len bytes into the switch's receive buffer and switch
 * it as received on port in. */
void harness_input(struct vn_switch *sw, struct vn_port *in, const uint8_t *f, size_t len);

/* Bytes of the hex string hex into out (at most cap); returns how many. */
size_t harness_unhex(uint8_t *out, size_t cap, const char *hex);
/* Fail the test unless got[0..len) is the hex string hex (both shown). */
void harness_assert_hex(const uint8_t *got, size_t len, const char *hex);

#endif
