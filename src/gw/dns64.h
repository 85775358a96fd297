/* DNS64 (RFC 6147): what the DNS forwarder of a nat64 network does to
 * answers, as pure functions on DNS messages (no I/O, no allocation), so
 * they can be unit-tested and fuzzed on their own.
 *
 * Theory of operation. For a guest's AAAA query the forwarder asks upstream
 * for AAAA as usual. An answer holding a usable AAAA record (class IN, not
 * in ::ffff:0:0/96, RFC 6147 5.1.4) or NXDOMAIN goes to the guest as it is.
 * Otherwise (NODATA, only excluded AAAA, or an error other than NXDOMAIN:
 * RFC 6147 5.1.2) the forwarder asks for A; each A record of class IN whose
 * address NAT64 could carry (not 0/8, 127/8, 224/4 or 240/4) becomes an
 * AAAA record of the NAT64 prefix with the same owner (vn_dns64_synth), the
 * CNAME/DNAME chain of the A answer kept in front, TTL the smaller of the A
 * record's and the AAAA answer's negative TTL (RFC 6147 5.1.7: its SOA,
 * min(TTL, MINIMUM); 600 s without one). With no such A record the guest
 * gets the AAAA answer it would have had. A PTR query for an address of
 * the prefix (ip6.arpa) is asked upstream as the in-addr.arpa name of the
 * embedded IPv4 address (vn_dns64_ptr_map), and the answer comes back to
 * the guest as a CNAME from its name to the in-addr.arpa one followed by
 * the upstream's records (RFC 6147 5.3.1, vn_dns64_ptr_answer). Synthesized
 * answers are never authoritative nor authenticated (AA and AD clear). */
#ifndef VN_GW_DNS64_H
#define VN_GW_DNS64_H

#include "dns_msg.h"
#include "pkt/addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_DNS64_TTL_MAX 600 /* RFC 6147 5.1.7: the bound without an SOA */

/* Whether IPv4 address v4 (host order) is never synthesized: 0/8, 127/8,
 * multicast 224/4 and 240/4 (broadcast included), which NAT64 refuses on
 * every network. */
bool vn_dns64_v4_excluded(uint32_t v4);

/* Whether upstream answer m (len bytes) holds an AAAA record of class IN in
 * its answer section that is not in ::ffff:0:0/96. False when malformed. */
bool vn_dns64_has_aaaa(const uint8_t *m, size_t len);

/* The bound on synthesized TTLs from AAAA answer m: min(TTL, MINIMUM) of
 * the first SOA of its authority section, at most VN_DNS64_TTL_MAX;
 * VN_DNS64_TTL_MAX when it has none (or is malformed). TTLs with the top
 * bit set count as 0 (RFC 2181 8). */
uint32_t vn_dns64_ttl_bound(const uint8_t *m, size_t len);

/* Build in out (cap bytes) the answer to AAAA question q6 synthesized from
 * upstream A answer m (len bytes): id, m's flags less AA, AD and TC with
 * rcode NOERROR, q6's question, m's answer-section CNAME and DNAME records
 * (names written out), then an AAAA record PREFIX::A for each A record of
 * class IN not excluded (owner kept, TTL min(its TTL, ttl_bound)); no
 * authority or additional records but, when edns is not 0, an OPT record
 * advertising edns. Returns the length, or 0 when m is malformed, out is too
 * small, or no A record was synthesized. */
size_t vn_dns64_synth(uint8_t *out, size_t cap, const uint8_t *m, size_t len,
                      const struct vn_dns_question *q6, uint16_t id, const struct vn_addr *prefix,
                      unsigned plen, uint32_t ttl_bound, uint16_t edns);

/* If wire name `name` is the ip6.arpa name (32 nibbles) of an
 * IPv4-embedded address of prefix/plen, write the in-addr.arpa name of the
 * embedded IPv4 address into out (cap bytes, 30 suffice) and return its
 * length (storing the address, host order, in *v4 when v4 is not NULL);
 * otherwise -1. */
int vn_dns64_ptr_map(const uint8_t *name, const struct vn_addr *prefix, unsigned plen,
                     uint8_t *out, size_t cap, uint32_t *v4);

/* Build in out (cap bytes) the answer to question q6 (a PTR of an ip6.arpa
 * name vn_dns64_ptr_map mapped to the in-addr.arpa name q4name) from the
 * upstream answer m (len bytes) to q4name: id, m's flags less AA, AD and TC
 * (its rcode kept), q6's question, a CNAME q6 -> q4name (TTL the smallest of
 * the copied records', at most VN_DNS64_TTL_MAX), then m's answer and
 * authority records with their names written out; an OPT record when edns
 * is not 0. Returns the length, or 0 when m is malformed or out too small. */
size_t vn_dns64_ptr_answer(uint8_t *out, size_t cap, const uint8_t *m, size_t len,
                           const struct vn_dns_question *q6, const uint8_t *q4name, uint16_t id,
                           uint16_t edns);

#endif
