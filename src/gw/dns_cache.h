/* A bounded cache of upstream DNS answers for the gateway's DNS forwarder.
 *
 * Theory of operation. The forwarder asks the cache before sending a guest's
 * query upstream (vn_dns_cache_get) and offers it every answer that comes back
 * (vn_dns_cache_put). The cache keeps whole response messages, byte for byte
 * as received (less any bytes after the last record), keyed by their question (name compared ASCII case-insensitively,
 * type, class) and by the query's DNSSEC wishes (the EDNS DO bit and the header
 * CD bit), so an answer fetched with signatures or without validation is never
 * handed to a query that asked otherwise.
 *
 * Only plain, complete answers are kept (RFC 1035 §7.4): QR set, opcode QUERY,
 * one question, not truncated, rcode NOERROR or NXDOMAIN (no EDNS extended
 * rcode), a message that parses cleanly and fits VN_DNS_CACHE_MSG_MAX bytes
 * with at most VN_DNS_CACHE_MAX_RRS records besides the OPT pseudo-record,
 * whose question name is stored uncompressed (so a hit can put the guest's
 * spelling of it back in place), whose RDATA names of the compressible RFC 1035
 * types (NS, CNAME, PTR, MX, SOA) are well formed and fill their RDATA, and in
 * which no name (owner or such RDATA) is compressed through the bytes a hit
 * rewrites (the id, the TTL fields), which would make it change with the
 * guest's id or the answer's age. An entry lives for the smallest TTL of the
 * answer and authority records (positive answers) or, for a negative answer
 * (NXDOMAIN, or NOERROR with no answer record: NODATA), for
 * min(SOA TTL, SOA MINIMUM) of the SOA in the authority section (RFC 2308 §5;
 * without one it is not cached; the answer records of an NXDOMAIN, a CNAME
 * chain, bound it too). TTLs with the top bit set count as 0
 * (RFC 2181 §8). Lifetimes are capped at VN_DNS_CACHE_MAX_TTL; a lifetime of 0
 * is not cached.
 *
 * A hit copies the stored message out with the guest's id and question
 * spelling, and every record's TTL (not the OPT's) lowered by the seconds the
 * answer spent in the cache. The offsets of those TTL fields are found once, at
 * put time, so a hit is a copy and a few stores, with no parsing.
 *
 * Memory: everything is allocated by vn_dns_cache_new (a pool of max entries,
 * each holding its message inline, and a bucket array); put and get never
 * allocate. Entries hang in chained hash buckets (the process's keyed hash of the lowercased name,
 * type, class and bits; at least 2 buckets per entry, a power of two) and on an
 * LRU list; when the pool is full the least recently used entry is reused.
 *
 * The cache trusts the caller to offer only answers that match a query it
 * really sent (id, question, source address checked): a spoofed answer offered
 * here would be served to every guest until it expires. Time is monotonic
 * seconds supplied by the caller. Not thread-safe (vnetd has one loop). */
#ifndef VN_GW_DNS_CACHE_H
#define VN_GW_DNS_CACHE_H

#include "dns_msg.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_DNS_CACHE_MSG_MAX 1232   /* largest answer kept (the common EDNS size) */
#define VN_DNS_CACHE_MAX_TTL 3600u  /* no entry lives longer, seconds */
#define VN_DNS_CACHE_MAX_RRS 64     /* records (OPT excluded) of an answer kept */
#define VN_DNS_CACHE_MAX_ENTRIES (1u << 20) /* largest max accepted by vn_dns_cache_new */

/* The header CD (checking disabled, RFC 4035) bit. */
#define VN_DNS_CACHE_F_CD VN_DNS_F_CD
/* The DO bit in the flags of the EDNS0 OPT record (RFC 3225). */
#define VN_DNS_CACHE_EDNS_DO 0x8000

struct vn_dns_cache;

struct vn_dns_cache_stats {
    uint64_t hits;        /* get returned an answer */
    uint64_t misses;      /* get returned 0 (absent, expired, or cap too small) */
    uint64_t inserts;     /* put stored an answer (new key or replacement) */
    uint64_t evictions;   /* live entries dropped to make room */
    uint64_t expired;     /* entries dropped because their lifetime was over */
    uint64_t uncacheable; /* put refused an answer */
    unsigned entries, max;
};

/* A cache of at most max entries (0 = a disabled cache that stores nothing).
 * Returns NULL when out of memory or max > VN_DNS_CACHE_MAX_ENTRIES. */
struct vn_dns_cache *vn_dns_cache_new(unsigned max);
void vn_dns_cache_free(struct vn_dns_cache *c);

/* Store answer m (len bytes, as received from an upstream, bytes after its last
 * record dropped) under the question it carries and the DO/CD bits of the query
 * it answers, at now_s (monotonic seconds). An existing entry with the same key is overwritten; when the pool is
 * full the least recently used entry makes room. Returns 0 if stored, 1 if not
 * (an uncacheable answer, counted; or a disabled cache, not counted), -1 if c is
 * NULL or m is NULL with len > 0. */
int vn_dns_cache_put(struct vn_dns_cache *c, const uint8_t *m, size_t len, bool do_bit,
                     bool cd_bit, uint64_t now_s);

/* Look up question q with the query's DO/CD bits at now_s. On a hit, write into
 * out (cap bytes) the stored answer with id `id`, q's own spelling of the
 * question name, and every RR TTL (OPT excluded) lowered by the time spent in
 * the cache (not below 0); the entry becomes the most recently used. Returns the
 * length written, or 0 on a miss, an expired entry (dropped), or cap too small
 * (the entry is kept); each 0 counts as a miss. */
size_t vn_dns_cache_get(struct vn_dns_cache *c, const struct vn_dns_question *q, bool do_bit,
                        bool cd_bit, uint16_t id, uint8_t *out, size_t cap, uint64_t now_s);

/* Counters since creation and the current occupancy. */
void vn_dns_cache_stats(const struct vn_dns_cache *c, struct vn_dns_cache_stats *st);

/* Drop every entry (e.g. when the upstreams change); counters are kept. */
void vn_dns_cache_flush(struct vn_dns_cache *c);

/* Whether query m (len bytes) parses cleanly and carries an EDNS0 OPT record
 * with the DO bit set. */
bool vn_dns_query_do_bit(const uint8_t *m, size_t len);
/* Whether query m has the header CD bit set (false if shorter than a header). */
bool vn_dns_query_cd_bit(const uint8_t *m, size_t len);

#endif
