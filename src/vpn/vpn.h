/* The VPN of a network: a WireGuard endpoint on the network's gateway.
 *
 * Theory of operation. The tunnel is L3: it is the gateway's tunnel peer
 * (struct vn_gw_tunnel), not a switch port. vn_vpn_attach() opens the UDP
 * socket of vpn.listen, builds the device (device.h) from the network's
 * vpn: block and adds one gateway route per peer prefix (VN_EG_TUNNEL), so
 * a guest's packet to a peer's AllowedIPs reaches the gateway (its default
 * router) and is handed here; it is encrypted to that peer. A datagram
 * from the socket is decrypted by the device and its inner packet goes to
 * vn_gw_tunnel_input(): to a guest on the link (forwarded, TTL - 1), to
 * the gateway's services (DNS, ping), to another peer (hairpin), or with
 * vpn.nat through the NAT engine. What the gateway builds for an address
 * behind the tunnel comes back here (the tunnel's MAC), so every service
 * and NAT answer peers unchanged. Offloaded frames (TSO, partial
 * checksums) are segmented and completed before encryption. */
#ifndef VN_VPN_VPN_H
#define VN_VPN_VPN_H

#include "device.h"
#include "gw/gateway.h"

struct vn_vpn;

/* Attach the VPN of gw's network (when its config has a vpn: block).
 * Returns 0 (also when there is none), or -1 with err. The gateway frees
 * it (tunnel.free). */
int vn_vpn_attach(struct vn_gw *gw, char *err, size_t errlen);

/* The VPN of a gateway, or NULL. */
struct vn_vpn *vn_vpn_of(struct vn_gw *gw);
/* Its device (peers, counters). */
struct vn_vpn_dev *vn_vpn_device(struct vn_vpn *v);
/* The UDP port it listens on. */
uint16_t vn_vpn_listen_port(const struct vn_vpn *v);

/* Add a peer at run time (also its gateway routes). Returns the peer or
 * NULL with err. */
struct vn_vpn_peer *vn_vpn_add_peer(struct vn_vpn *v, const char *name,
                                    const uint8_t pub[VN_KEY_LEN], const uint8_t *psk,
                                    const struct vn_vpn_endpoint *ep, uint16_t keepalive_s,
                                    const struct vn_addr *allowed, const uint8_t *allowed_len,
                                    unsigned nallowed, char *err, size_t errlen);
/* Remove a peer and its routes. */
void vn_vpn_del_peer(struct vn_vpn *v, struct vn_vpn_peer *p);
/* Run the timers again after a peer changed in place (uapi.c: endpoint,
 * persistent keepalive). */
void vn_vpn_kick(struct vn_vpn *v);

#endif
