/* The unix socket where a network's VPN serves WireGuard's configuration
 * protocol (uapi.h): /var/run/wireguard/NAME.sock for vpn.wg_interface
 * NAME, where stock `wg` looks for userspace interfaces.
 *
 * Theory of operation. The socket is made at start (mode 0600, created
 * under a umask that lets nobody in before the chmod, like the control
 * socket; the directory is made 0755 if missing) and removed at exit when
 * it is still ours (same inode). A client must be root or vnetd's own
 * user (SO_PEERCRED), as the socket answers with the private key. Each
 * connection is read into a buffer of at most VN_UAPI_REQ_MAX bytes; every
 * complete request (through its empty line) is answered in order, the
 * next one only once the answer is written (non-blocking, EPOLLOUT), and
 * buffers holding keys are wiped. A request that cannot be one (an
 * over-long line, a NUL byte) or is not get/set is answered errno=-22 and
 * the connection closed. Peers added, changed or removed take effect at
 * once (gateway routes follow the device's AllowedIPs), are logged, and
 * are not written back to the config file. */
#ifndef VN_VPN_UAPI_SOCK_H
#define VN_VPN_UAPI_SOCK_H

#include "conf/config.h"
#include "core/loop.h"

#include <stddef.h>

#define VN_WG_RUN_DIR "/var/run/wireguard"

struct vn_vpn;
struct vn_uapi_sock;

/* Serve the VPN v of network n (its vpn.wg_interface) on loop. Returns the
 * server, or NULL with err (a socket of that name in use, the directory
 * not writable, out of memory). */
struct vn_uapi_sock *vn_uapi_sock_open(struct vn_loop *loop, struct vn_vpn *v,
                                       const struct vn_net_conf *n, char *err, size_t errlen);
/* Close every connection and remove the socket (NULL is fine). */
void vn_uapi_sock_close(struct vn_uapi_sock *s);

#endif
