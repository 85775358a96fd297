/* WireGuard's cross-platform configuration protocol ("UAPI", the text
 * protocol of https://www.wireguard.com/xplatform/) for a VPN device, so
 * that stock `wg show`, `wg showconf` and `wg set` work against vnetd:
 * parsing requests, applying them, printing answers. No I/O here (the
 * socket is uapi_sock.c).
 *
 * Theory of operation. A request is "get=1\n\n" or "set=1\n" followed by
 * key=value lines and an empty line; the answer of a get is the device's
 * key=value lines, and every answer ends with "errno=N\n\n": 0 for success,
 * else minus an errno.h value (what wireguard-go sends and wg reads).
 * The request comes from an untrusted client and is parsed strictly and
 * completely before anything changes: lines of at most VN_UAPI_LINE_MAX
 * bytes, keys exactly as the protocol names them (in their place: device
 * keys before the first public_key, peer keys after it), keys in hex of
 * exactly 64 digits, decimal integers in range, numeric endpoints only,
 * "true" for flags. Any parse error answers errno=-22 (EINVAL) and changes
 * nothing. A parsed set is then applied in order, each peer all or nothing:
 * every check of a peer (its allowed IPs free and outside the network's
 * subnets, room in the peer and prefix tables) runs before any of its
 * fields change; a peer refused stops the request with its errno, the
 * peers before it stay applied (as in WireGuard). Device-wide keys cannot
 * change at run time: private_key and listen_port are accepted only with
 * the values in use (what `wg showconf` printed), fwmark only as 0;
 * anything else is EOPNOTSUPP, checked before any peer changes. Unlike
 * WireGuard, an allowed IP another peer holds is refused (EADDRINUSE), not
 * moved, as in the config file; and replace_peers (wg setconf) removes the
 * peers the request does not name while those it names are set as if new
 * (allowed IPs, preshared key, keepalive only as given) but keep their
 * name, counters, sessions and learned endpoint, where WireGuard would
 * remove and add them again. A get prints the private key, as every
 * WireGuard implementation does: the socket is for root only. */
#ifndef VN_VPN_UAPI_H
#define VN_VPN_UAPI_H

#include "device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VN_UAPI_LINE_MAX 256          /* longest line, its "\n" included */
#define VN_UAPI_REQ_MAX (1u << 20)    /* longest request */

struct vn_uapi_prefix {
    struct vn_addr prefix;            /* host bits cleared */
    uint8_t len;
};

/* What a set says about one peer (the lines after its public_key). */
struct vn_uapi_peer_op {
    uint8_t pub[VN_KEY_LEN];
    bool remove, update_only, replace_allowed;
    bool has_psk, has_endpoint, has_keepalive;
    uint8_t psk[VN_KEY_LEN];          /* zeros: no preshared key */
    struct vn_vpn_endpoint endpoint;
    uint16_t keepalive;
    unsigned first, nallowed;         /* its allowed_ip lines in vn_uapi_set.pfx */
};

/* A parsed set request. */
struct vn_uapi_set {
    bool has_priv, has_port, has_fwmark, replace_peers;
    uint8_t priv[VN_KEY_LEN];
    uint16_t port;
    uint32_t fwmark;
    struct vn_uapi_peer_op *peers;
    unsigned npeers, peers_cap;
    struct vn_uapi_prefix *pfx;
    unsigned npfx, pfx_cap;
};

/* What applying a set needs from the VPN around the device; every member
 * may be NULL (the device's own functions are used, nothing is checked
 * beyond the device's rules). */
struct vn_uapi_hooks {
    void *ctx;
    /* Whether prefix p/len may be a peer's allowed IP (not the network's
     * subnets): 0, or -1 with a reason in err. */
    int (*check_prefix)(void *ctx, const struct vn_addr *p, unsigned len, char *err,
                        size_t errlen);
    /* Add a peer (vn_vpn_add_peer's arguments). */
    struct vn_vpn_peer *(*add)(void *ctx, const char *name, const uint8_t pub[VN_KEY_LEN],
                               const uint8_t *psk, const struct vn_vpn_endpoint *ep,
                               uint16_t keepalive_s, const struct vn_addr *allowed,
                               const uint8_t *allowed_len, unsigned nallowed, char *err,
                               size_t errlen);
    /* Remove a peer. */
    void (*del)(void *ctx, struct vn_vpn_peer *p);
    /* Something changed (timers may need re-arming). */
    void (*changed)(void *ctx);
};

/* Parse the lines of a set request: body is what follows "set=1\n", up to
 * and without the empty line that ends the request (len bytes, every line
 * ending in "\n"). Fills s (zeroed first; vn_uapi_set_free it, also on
 * failure). Returns 0, EINVAL (a line that is not the protocol's, with a
 * reason in err) or ENOMEM. */
int vn_uapi_parse_set(const char *body, size_t len, struct vn_uapi_set *s, char *err,
                      size_t errlen);
/* Free s, wiping its keys. */
void vn_uapi_set_free(struct vn_uapi_set *s);

/* Apply a parsed set to d, whose socket listens on listen_port (see the
 * theory of operation). Returns 0 or an errno value (positive), with a
 * reason in err. */
int vn_uapi_apply(struct vn_vpn_dev *d, uint16_t listen_port, const struct vn_uapi_set *s,
                  const struct vn_uapi_hooks *h, char *err, size_t errlen);

/* The answer to a get of d: key=value lines, "errno=0" and the empty line,
 * in a malloc'ed buffer of *len bytes (NUL-terminated), or NULL when out
 * of memory. */
char *vn_uapi_get(struct vn_vpn_dev *d, uint16_t listen_port, size_t *len);

/* The length of the first complete request in buf (through its empty
 * line), 0 when it is not complete yet, or -1 when it cannot be one: a
 * line longer than VN_UAPI_LINE_MAX, a NUL byte, or VN_UAPI_REQ_MAX bytes
 * without its end. */
long vn_uapi_request_len(const char *buf, size_t len);

/* Answer one complete request (req, len bytes through its empty line):
 * get or set. Returns the malloc'ed answer (*outlen bytes), or NULL when
 * out of memory. *close is set when the connection should be closed after
 * the answer (not a get or a set). A set refused leaves a reason in err
 * ("" otherwise). */
char *vn_uapi_handle(struct vn_vpn_dev *d, uint16_t listen_port, const struct vn_uapi_hooks *h,
                     const char *req, size_t len, size_t *outlen, bool *close, char *err,
                     size_t errlen);

#endif
