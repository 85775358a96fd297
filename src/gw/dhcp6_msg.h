/* DHCPv6 wire format (RFC 8415 sections 8 and 21): a bounds-checked parser
 * of client messages and a builder of server replies. Pure functions, no
 * state: the server logic lives in dhcp6.c.
 *
 * A message is msg-type (1 byte), transaction-id (3 bytes), then options,
 * each code (2), length (2) and data. The parser walks them with bounds,
 * checks the lengths of the options the server reads (client and server
 * identifiers at most 130 bytes, RFC 8415 11), walks the options nested in
 * IA_NA, IA_TA, IA_PD, IAADDR and IAPREFIX the same way, keeps at most
 * VN_DHCP6_MAX_IAADDR addresses of each IA_NA and at most VN_DHCP6_MAX_IA
 * IAs of every kind together, IA_NAs first (the rest are counted, not
 * kept: the reply to one message stays bounded), and skips options it does
 * not know. Of an IA_TA or IA_PD only the kind and IAID are kept: the
 * server assigns neither temporary addresses nor prefixes and answers them
 * with a status. Relay messages (RELAY-FORW and RELAY-REPL) are recognised
 * by type only: the server drops them. */
#ifndef VN_GW_DHCP6_MSG_H
#define VN_GW_DHCP6_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_DHCP6_HDR 4            /* msg-type + transaction-id */
#define VN_DHCP6_DUID_MIN 3       /* a type code and at least one byte */
#define VN_DHCP6_DUID_MAX 130     /* RFC 8415 11: 2-byte type + at most 128 */
#define VN_DHCP6_MAX_IA 8         /* IAs (IA_NA, IA_TA, IA_PD) of one message handled */
#define VN_DHCP6_MAX_IAADDR 4     /* addresses kept per IA_NA */
#define VN_DHCP6_MAX_ORO 32       /* option codes kept from the ORO */

enum vn_dhcp6_type {
    VN_DHCP6_SOLICIT = 1, VN_DHCP6_ADVERTISE = 2, VN_DHCP6_REQUEST = 3, VN_DHCP6_CONFIRM = 4,
    VN_DHCP6_RENEW = 5, VN_DHCP6_REBIND = 6, VN_DHCP6_REPLY = 7, VN_DHCP6_RELEASE = 8,
    VN_DHCP6_DECLINE = 9, VN_DHCP6_RECONFIGURE = 10, VN_DHCP6_INFORMATION_REQUEST = 11,
    VN_DHCP6_RELAY_FORW = 12, VN_DHCP6_RELAY_REPL = 13,
};

/* Option codes (RFC 8415 21, RFC 3646). */
enum {
    VN_D6O_CLIENTID = 1, VN_D6O_SERVERID = 2, VN_D6O_IA_NA = 3, VN_D6O_IA_TA = 4,
    VN_D6O_IAADDR = 5, VN_D6O_ORO = 6, VN_D6O_ELAPSED_TIME = 8, VN_D6O_STATUS_CODE = 13,
    VN_D6O_RAPID_COMMIT = 14, VN_D6O_DNS_SERVERS = 23, VN_D6O_DOMAIN_LIST = 24,
    VN_D6O_IA_PD = 25, VN_D6O_IAPREFIX = 26,
};

/* Status codes (RFC 8415 21.13). */
enum vn_dhcp6_status {
    VN_D6S_SUCCESS = 0, VN_D6S_UNSPEC_FAIL = 1, VN_D6S_NO_ADDRS_AVAIL = 2,
    VN_D6S_NO_BINDING = 3, VN_D6S_NOT_ON_LINK = 4, VN_D6S_USE_MULTICAST = 5,
    VN_D6S_NO_PREFIX_AVAIL = 6,
};

/* DUID types (RFC 8415 11.1). */
enum { VN_DUID_LLT = 1, VN_DUID_EN = 2, VN_DUID_LL = 3, VN_DUID_UUID = 4 };

struct vn_dhcp6_iaaddr {
    uint8_t addr[16];
    uint32_t preferred, valid;
};

struct vn_dhcp6_ia {
    uint32_t iaid, t1, t2;
    struct vn_dhcp6_iaaddr addr[VN_DHCP6_MAX_IAADDR];
    uint8_t naddr;
    uint8_t addr_dropped;      /* IAADDRs past VN_DHCP6_MAX_IAADDR (not kept) */
};

/* An IA_TA or IA_PD of a client message: what its answer needs. */
struct vn_dhcp6_other_ia {
    uint16_t code;             /* VN_D6O_IA_TA or VN_D6O_IA_PD */
    uint32_t iaid;
};

/* A parsed client message. Options seen more than once: the first counts. */
struct vn_dhcp6_msg {
    uint8_t type;              /* enum vn_dhcp6_type */
    uint32_t xid;              /* 24 bits */
    bool has_clientid, has_serverid;
    uint8_t clientid_len, serverid_len;
    uint8_t clientid[VN_DHCP6_DUID_MAX];
    uint8_t serverid[VN_DHCP6_DUID_MAX];
    struct vn_dhcp6_ia ia[VN_DHCP6_MAX_IA];   /* IA_NAs, distinct IAIDs */
    uint8_t nia;
    /* IA_TAs and IA_PDs, distinct IAIDs per kind; nia + nother <= VN_DHCP6_MAX_IA */
    struct vn_dhcp6_other_ia other[VN_DHCP6_MAX_IA];
    uint8_t nother;
    uint16_t ia_dropped;       /* IAs past VN_DHCP6_MAX_IA or repeating an IAID of their kind */
    bool has_other_ia;         /* an IA_TA or IA_PD (kept or not) */
    uint16_t oro[VN_DHCP6_MAX_ORO];
    uint8_t noro;
    bool has_elapsed;
    uint16_t elapsed;          /* hundredths of a second */
    bool rapid_commit;
};

/* Parse a DHCPv6 message of len bytes (the UDP payload). Returns 0, or -1
 * when it is malformed: shorter than the header, an option (or a nested
 * option of an IA, IAADDR or IAPREFIX) running past its container, a
 * known option with a wrong length (identifiers outside 3..130 bytes, IA_NA
 * or IA_PD under 12, IA_TA under 4, IAADDR under 24, IAPREFIX under 25, a
 * status code under 2, ORO odd, ELAPSED_TIME not 2, RAPID_COMMIT not empty).
 * Relay messages give 0 with only type set (their body is not read). */
int vn_dhcp6_parse(const uint8_t *p, size_t len, struct vn_dhcp6_msg *m);

/* True if the client listed option code in its ORO. */
bool vn_dhcp6_wants(const struct vn_dhcp6_msg *m, uint16_t code);

/* The link-layer address of an Ethernet DUID-LL or DUID-LLT (hardware type
 * 1, 6 bytes). Returns 0 and fills mac, or -1 for other DUIDs. */
int vn_dhcp6_duid_mac(const uint8_t *duid, size_t len, uint8_t mac[6]);

/* Reply builder over a caller's buffer. Options that do not fit are left
 * out and mark the builder overflowed (the reply stays well-formed). */
struct vn_dhcp6_out {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

#define VN_DHCP6_NO_OPT ((size_t)-1) /* vn_dhcp6_out_begin when it did not fit */

/* Start a message of type with transaction id xid in buf (cap >= 4). */
void vn_dhcp6_out_init(struct vn_dhcp6_out *o, uint8_t *buf, size_t cap, uint8_t type,
                       uint32_t xid);
void vn_dhcp6_out_opt(struct vn_dhcp6_out *o, uint16_t code, const void *data, size_t len);
/* Open an option that contains others (IA_NA, IAADDR) with hlen bytes of
 * fixed data; returns its offset for vn_dhcp6_out_end, or VN_DHCP6_NO_OPT
 * (overflowed) when it does not fit. */
size_t vn_dhcp6_out_begin(struct vn_dhcp6_out *o, uint16_t code, const void *fixed, size_t hlen);
/* Close the option opened at off (its length is what was added since). */
void vn_dhcp6_out_end(struct vn_dhcp6_out *o, size_t off);
/* Status Code option: code and a UTF-8 message for the user. */
void vn_dhcp6_out_status(struct vn_dhcp6_out *o, uint16_t code, const char *msg);
/* IA_NA with one IAADDR (lifetimes preferred/valid), or with no address
 * (addr NULL) and a nested status (status >= 0). Left out whole when it
 * does not fit. */
void vn_dhcp6_out_ia_na(struct vn_dhcp6_out *o, uint32_t iaid, uint32_t t1, uint32_t t2,
                        const uint8_t *addr, uint32_t preferred, uint32_t valid, int status,
                        const char *msg);
/* An IA of kind code (VN_D6O_IA_NA, _IA_TA or _IA_PD) holding only a
 * Status Code option (T1 and T2 zero where the kind has them); left out
 * whole when it does not fit. */
void vn_dhcp6_out_ia_status(struct vn_dhcp6_out *o, uint16_t code, uint32_t iaid, uint16_t status,
                            const char *msg);
/* Domain Search List (RFC 3646) of one domain, DNS-encoded; left out when
 * it cannot be encoded. */
void vn_dhcp6_out_domain_list(struct vn_dhcp6_out *o, const char *domain);

#endif
