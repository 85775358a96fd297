/* DHCPv4 wire format (RFC 2131 message, RFC 2132 options): a bounds-checked
 * parser of client messages and a builder of server replies. Pure functions,
 * no state: the server logic lives in dhcp4.c. */
#ifndef VN_GW_DHCP4_MSG_H
#define VN_GW_DHCP4_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_DHCP4_FIXED 236          /* op .. file, before the magic cookie */
#define VN_DHCP4_MIN (VN_DHCP4_FIXED + 4)
#define VN_DHCP4_BOOTP_MIN 300      /* replies are padded to this size */
#define VN_DHCP4_MAX_REPLY 576      /* what every client must accept */

enum vn_dhcp4_type {
    VN_DHCP_DISCOVER = 1, VN_DHCP_OFFER, VN_DHCP_REQUEST, VN_DHCP_DECLINE,
    VN_DHCP_ACK, VN_DHCP_NAK, VN_DHCP_RELEASE, VN_DHCP_INFORM,
};

/* Option codes used by the server. */
enum {
    VN_DHO_PAD = 0, VN_DHO_SUBNET_MASK = 1, VN_DHO_ROUTER = 3, VN_DHO_DNS = 6,
    VN_DHO_HOSTNAME = 12, VN_DHO_DOMAIN = 15, VN_DHO_MTU = 26, VN_DHO_BROADCAST = 28,
    VN_DHO_REQUESTED_IP = 50, VN_DHO_LEASE_TIME = 51, VN_DHO_OVERLOAD = 52,
    VN_DHO_MSG_TYPE = 53, VN_DHO_SERVER_ID = 54, VN_DHO_PARAMS = 55, VN_DHO_MESSAGE = 56,
    VN_DHO_MAX_SIZE = 57, VN_DHO_T1 = 58, VN_DHO_T2 = 59, VN_DHO_CLIENT_ID = 61,
    VN_DHO_SEARCH = 119, VN_DHO_CLASSLESS_ROUTES = 121, VN_DHO_END = 255,
};

/* A parsed client message. Addresses are in host byte order; 0 = absent. */
struct vn_dhcp4_msg {
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr;
    uint8_t chaddr[16];
    uint8_t type;              /* option 53; 0 = absent (plain BOOTP) */
    uint32_t requested_ip;     /* option 50 */
    uint32_t server_id;        /* option 54 */
    uint16_t max_size;         /* option 57; 0 = absent */
    char hostname[64];         /* option 12 reduced to a DNS label; "" = absent/unusable */
    uint8_t params[255];       /* option 55 */
    uint8_t nparams;
};

/* Parse a DHCP message of len bytes (the UDP payload). Returns 0, or -1 when
 * it is not a well-formed BOOTREQUEST (too short, bad cookie, option running
 * past the end, wrong lengths of known options). */
int vn_dhcp4_parse(const uint8_t *p, size_t len, struct vn_dhcp4_msg *m);

/* True if the client listed option code in its parameter request list. */
bool vn_dhcp4_wants(const struct vn_dhcp4_msg *m, uint8_t code);

/* Reduce a client-supplied host name to one lowercase DNS label
 * ([a-z0-9-], at most 63 bytes, cut at the first dot) in out (64 bytes).
 * Returns the length (0 if nothing usable remains). */
size_t vn_dhcp4_clean_hostname(const uint8_t *s, size_t len, char out[64]);

/* Reply builder over a caller's buffer. Options that do not fit are left
 * out and mark the builder overflowed (the reply is still well-formed). */
struct vn_dhcp4_out {
    uint8_t *buf;
    size_t cap, len;
    bool overflow;
};

/* Start a BOOTREPLY of the given type answering req in buf (cap >= 300). */
void vn_dhcp4_out_init(struct vn_dhcp4_out *o, uint8_t *buf, size_t cap,
                       const struct vn_dhcp4_msg *req, uint8_t type, uint32_t yiaddr,
                       uint32_t siaddr);
void vn_dhcp4_out_opt(struct vn_dhcp4_out *o, uint8_t code, const void *data, size_t len);
void vn_dhcp4_out_u32(struct vn_dhcp4_out *o, uint8_t code, uint32_t v);
void vn_dhcp4_out_u16(struct vn_dhcp4_out *o, uint8_t code, uint16_t v);
/* Domain name as a DNS-encoded search list (option 119, RFC 3397). */
void vn_dhcp4_out_search(struct vn_dhcp4_out *o, const char *domain);
/* Classless static route dst/prefix via router (option 121, RFC 3442),
 * one route per call appended to a single option built by the caller:
 * writes the encoded route into r (at most 9 bytes) and returns its size. */
size_t vn_dhcp4_route_encode(uint8_t *r, uint32_t dst, uint8_t prefix, uint32_t router);
/* Add the end option and pad to the BOOTP minimum. Returns the length. */
size_t vn_dhcp4_out_finish(struct vn_dhcp4_out *o);

#endif
