/* What a control client that is not privileged may name.
 *
 * Theory of operation: members of control_group run the network, but the
 * daemon must never lend them its own rights (often root's). So for them
 * every request that names something on the host is checked here:
 *   - socket paths (stream/dgram ports) the daemon binds: only inside its
 *     run directory, and only when that directory is the daemon's own and
 *     not writable by others; anywhere else the client binds the socket
 *     itself and passes the descriptor (vnetctl does);
 *   - network namespaces: only those whose owning user namespace belongs to
 *     the client's uid (a namespace it could enter itself); the namespace is
 *     opened here once, without following the path twice, and the open
 *     descriptor is what the tap port uses;
 *   - host interfaces (uplink ports) and privileged ports (forwards below
 *     net.ipv4.ip_unprivileged_port_start): not at all.
 * Files to write (captures) never come by name from such a client: only as
 * descriptors it opened (see obs_cmds.c). */
#ifndef VN_CTL_ACCESS_H
#define VN_CTL_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 0 if path (absolute, no "." or ".." components) lies inside run_dir, the
 * directory is owned by the daemon's user and not writable by group or
 * others, and no existing component below it is a symbolic link or owned by
 * someone else; else -1 with err. */
int vn_access_socket_path(const char *run_dir, const char *path, char *err, size_t errlen);

/* Open the network namespace at path for a client with the given uid:
 * returns an fd (O_RDONLY, close-on-exec) if path is a network namespace
 * owned by a user namespace of uid (other than the daemon's own), else -1
 * with err. */
int vn_access_netns(const char *path, uid_t uid, char *err, size_t errlen);

/* 0 if fd is a unix socket of the given type (SOCK_STREAM: listening;
 * SOCK_DGRAM: bound), made non-blocking and close-on-exec; else -1 with err. */
int vn_access_passed_socket(int fd, int type, char *err, size_t errlen);

/* Whether binding port needs privileges here (below the kernel's
 * ip_unprivileged_port_start; 1024 if it cannot be read). */
bool vn_access_port_privileged(uint16_t port);

#endif
