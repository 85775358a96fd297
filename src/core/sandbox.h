/* Sandboxing: once everything privileged is open, vnetd keeps only the
 * capabilities it may still need and confines itself to an allow-list of
 * system calls.
 *
 * Theory of operation. Setup (taps in namespaces, AF_PACKET uplinks, host
 * interfaces) needs CAP_NET_ADMIN and CAP_NET_RAW; the running daemon does
 * not, except: CAP_NET_RAW while an uplink may have to be reattached or ICMP
 * echo must fall back to raw sockets, and CAP_NET_BIND_SERVICE so forwards
 * on ports below 1024 can still be added. Every other capability is dropped
 * from the effective, permitted, inheritable, bounding and ambient sets
 * (libcap-ng), no_new_privs is set, and a seccomp filter (libseccomp) allows
 * only the system calls the event loop, sockets, files (leases, captures)
 * and memory management use (process-wide ones listed in sandbox.c, the
 * others declared by each module beside its code, core/syscalls.h);
 * anything else fails with EPERM instead of running. A daemon started without privileges has nothing to drop and only
 * installs the filter. */
#ifndef VN_CORE_SANDBOX_H
#define VN_CORE_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

struct vn_sandbox_needs {
    bool net_raw;           /* keep CAP_NET_RAW */
    bool net_bind_service;  /* keep CAP_NET_BIND_SERVICE */
};

/* Drop capabilities (when privileged) and install the seccomp filter.
 * Returns 0, or -1 with err. */
int vn_sandbox_enter(const struct vn_sandbox_needs *needs, char *err, size_t errlen);

#endif
