/* DNS wire format (RFC 1035, EDNS0 RFC 6891): parsing and building helpers.
 *
 * Pure functions on byte buffers, no I/O and no allocation, so they can be
 * unit-tested and fuzzed on their own. Every read is bounds-checked; names
 * are decompressed with a loop guard (each compression pointer must point
 * strictly before the start of the segment that led to it, which makes the
 * walk terminate) and limited to 255 bytes in wire form. */
#ifndef VN_GW_DNS_MSG_H
#define VN_GW_DNS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_DNS_HLEN 12
#define VN_DNS_NAME_MAX 255 /* wire form, terminating root label included */

/* header flags */
#define VN_DNS_F_QR 0x8000
#define VN_DNS_F_OPCODE 0x7800
#define VN_DNS_F_AA 0x0400
#define VN_DNS_F_TC 0x0200
#define VN_DNS_F_RD 0x0100
#define VN_DNS_F_RA 0x0080
#define VN_DNS_F_CD 0x0010 /* checking disabled (RFC 4035) */
#define VN_DNS_F_RCODE 0x000f

enum {
    VN_DNS_T_A = 1,
    VN_DNS_T_NS = 2,
    VN_DNS_T_CNAME = 5,
    VN_DNS_T_SOA = 6,
    VN_DNS_T_PTR = 12,
    VN_DNS_T_TXT = 16,
    VN_DNS_T_AAAA = 28,
    VN_DNS_T_OPT = 41,
    VN_DNS_T_ANY = 255,
};
#define VN_DNS_C_IN 1

enum {
    VN_DNS_R_NOERROR = 0,
    VN_DNS_R_FORMERR = 1,
    VN_DNS_R_SERVFAIL = 2,
    VN_DNS_R_NXDOMAIN = 3,
    VN_DNS_R_NOTIMP = 4,
    VN_DNS_R_REFUSED = 5,
};

struct vn_dns_hdr {
    uint16_t id, flags, qdcount, ancount, nscount, arcount;
};

struct vn_dns_question {
    uint8_t name[VN_DNS_NAME_MAX + 1]; /* uncompressed wire form, case kept */
    uint16_t name_len;                 /* bytes of name, root label included */
    uint16_t qtype, qclass;
};

/* A parsed message: header, its (single) question and the EDNS0 OPT record. */
struct vn_dns_msg {
    struct vn_dns_hdr h;
    bool has_q;             /* qdcount == 1 */
    struct vn_dns_question q;
    bool edns;              /* an OPT record in the additional section */
    uint16_t edns_size;     /* its advertised UDP payload size */
    bool edns_do;           /* its DO bit (RFC 3225) */
    uint32_t opt_off, opt_end; /* where the OPT record starts and ends */
    uint32_t end;           /* end of the last record parsed */
};

/* Header at m; returns 0, or -1 if len < 12. */
int vn_dns_hdr_parse(const uint8_t *m, size_t len, struct vn_dns_hdr *h);

/* Decompress the name at offset off of message m (len bytes) into out
 * (VN_DNS_NAME_MAX + 1 bytes). Returns the name's wire length and sets *next
 * to the offset just after it in the message, or -1 if malformed (out of
 * bounds, reserved label types, over 255 bytes, a pointer loop). */
int vn_dns_name_read(const uint8_t *m, size_t len, size_t off, uint8_t *out, size_t *next);

/* Parse a whole message: header, at most one question (more = -1), and every
 * resource record of the three other sections, bounds-checked, noting the OPT
 * record. Returns 0 or -1 if malformed. Trailing bytes are ignored. */
int vn_dns_msg_parse(const uint8_t *m, size_t len, struct vn_dns_msg *out);

/* ASCII lower case of one byte of a wire name. */
static inline uint8_t vn_dns_lc(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c; }
/* Compare n bytes of wire names case-insensitively; label length bytes are
 * never letters, so lower-casing every byte is exact. */
bool vn_dns_wire_eq(const uint8_t *a, const uint8_t *b, size_t n);
/* Same name (ASCII case-insensitive), type and class. */
bool vn_dns_question_eq(const struct vn_dns_question *a, const struct vn_dns_question *b);

/* Wire name -> lower-case dotted text without the trailing dot ("" for the
 * root). Returns the text length, or -1 if it does not fit n or a label holds
 * a byte that is not a letter, digit, '-' or '_'. */
int vn_dns_name_to_text(const uint8_t *wire, char *out, size_t n);
/* Dotted text (trailing dot optional) -> wire form in out (cap bytes).
 * Returns the wire length, or -1 (empty label, label > 63, name > 255). */
int vn_dns_name_from_text(const char *text, uint8_t *out, size_t cap);

/* If wire name `name` equals `suffix` or lies below it (labels compared
 * case-insensitively), return how many bytes of labels precede the suffix
 * (0 = equal); otherwise -1. */
int vn_dns_name_under(const uint8_t *name, const uint8_t *suffix);

/* "d.c.b.a.in-addr.arpa" -> a.b.c.d (host order) in *ip; 0 or -1 when the name
 * is not exactly four decimal octets under in-addr.arpa. */
int vn_dns_ptr4_parse(const uint8_t *wire, uint32_t *ip);
/* RFC 3596 2.5: "b.a.9.8. ... .1.0.0.2.ip6.arpa" (32 one-nibble labels, the
 * last nibble of the address first; hex digits and "ip6.arpa" in either
 * case) -> the 16 bytes of the address in addr (network order); 0, or -1
 * when the name is not exactly that. */
int vn_dns_ptr6_parse(const uint8_t *wire, uint8_t addr[16]);
/* The reverse name of the first `nibbles` (1..32) nibbles of addr under
 * ip6.arpa, in wire form (lower-case hex): 32 names the address itself, 16
 * the zone of its /64. Returns the wire length (2 * nibbles + 10), or -1 if
 * nibbles is out of range or cap too small. */
int vn_dns_ptr6_name(const uint8_t addr[16], unsigned nibbles, uint8_t *out, size_t cap);

/* Start a response to query q in out (cap bytes): the query's id, QR, its
 * opcode and RD, RA, the extra flags (e.g. AA) and rcode, and its question
 * (when it has one). Returns the length, or 0 if cap is too small. */
size_t vn_dns_reply_init(uint8_t *out, size_t cap, const struct vn_dns_msg *q, uint16_t flags,
                         unsigned rcode);
/* Append an answer RR owned by the question name (a pointer to offset 12):
 * type, class IN, ttl, rdata. Returns the new length, or 0 if it does not fit. */
size_t vn_dns_add_answer(uint8_t *out, size_t cap, size_t len, uint16_t type, uint32_t ttl,
                         const void *rdata, uint16_t rdlen);
/* Append an EDNS0 OPT record advertising udp_size. Returns the new length or 0. */
size_t vn_dns_add_opt(uint8_t *out, size_t cap, size_t len, uint16_t udp_size);

/* A query for q's question as the forwarder sends it upstream: id, the RD and
 * CD bits of q, the question, and an OPT record of our own (UDP size 1232,
 * the DO bit if do_bit, no options: nothing of the guest's EDNS options, such
 * as cookies or client subnets, leaves). Returns the length or 0. */
size_t vn_dns_query_build(uint8_t *out, size_t cap, const struct vn_dns_msg *q, uint16_t id,
                          bool do_bit);
/* Remove the OPT record from message m (len bytes, parsed as r) when it is
 * the last record (as every responder puts it), for a guest that did not
 * send EDNS (RFC 6891 6.1.1). Returns the new length (len if there is no OPT
 * or it is not last). */
size_t vn_dns_strip_opt(uint8_t *m, size_t len, const struct vn_dns_msg *r);

/* A truncated copy of response r (parsed from rm): its header with TC set and
 * all counts but the question zero, then its question. Returns the length or 0. */
size_t vn_dns_truncate(uint8_t *out, size_t cap, const uint8_t *rm, const struct vn_dns_msg *r);

static inline uint16_t vn_dns_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline void vn_dns_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

#endif
