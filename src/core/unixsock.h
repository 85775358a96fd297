/* Unix sockets bound at a path (control socket, stream and dgram ports). */
#ifndef VN_CORE_UNIXSOCK_H
#define VN_CORE_UNIXSOCK_H

#include <stddef.h>

/* Create a unix socket of the given type bound at path: creates the parent
 * directory if missing, replaces a stale socket file left by a dead process,
 * refuses to replace a live one or a non-socket file. Returns the fd
 * (non-blocking, close-on-exec) or -1 with a reason in err. */
int vn_unix_bind(const char *path, int type, char *err, size_t errlen);

#endif
