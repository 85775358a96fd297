/* The control socket: newline-delimited JSON requests and replies over a unix
 * stream socket (protocol in docs/control-protocol.md).
 *
 * Each request is one JSON object on one line with a "cmd" member and
 * command-specific members; each reply is one line:
 *   {"ok":true,"result":...}   or   {"ok":false,"error":"..."}.
 * Commands are registered by the modules that own the data, so the control
 * server itself knows nothing about switches or gateways.
 *
 * Access: besides the socket file's permissions, every client is checked
 * with SO_PEERCRED: root and the daemon's own user are accepted, and members
 * of a configured group (control_group); anyone else is refused with a
 * logged reason. Accepted clients are either privileged (root, or the
 * daemon's own user: nothing the daemon could do exceeds their rights) or
 * group members, whom handlers must not lend the daemon's rights: they may
 * not name files for the daemon to write, namespaces they could not enter
 * themselves, host interfaces or privileged ports (see the README's
 * security section).
 *
 * Descriptor passing: a client may attach open descriptors (SCM_RIGHTS) to
 * the bytes of a request; they are queued per connection in arrival order
 * and a handler takes them with vn_ctl_take_fd() (e.g. a capture file that
 * vnetctl opened with its user's rights). Descriptors a request did not
 * take are closed once it is answered, so nothing a client sends is kept
 * by accident.
 *
 * While a handler runs, vn_ctl_caller() describes the client. The loop is
 * single-threaded, so the "current caller" is simply the one being served. */
#ifndef VN_CTL_CTL_H
#define VN_CTL_CTL_H

#include "core/loop.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct vn_ctl;

/* Who sent the request being handled. */
struct vn_ctl_caller {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    bool privileged;   /* root or the daemon's own user */
    const char *run_dir; /* the control socket's directory (see access.h) */
};

/* Handle one request; return a new JSON value (the result), or NULL with a
 * message in err for the client. */
typedef json_t *(*vn_ctl_fn)(void *ctx, json_t *req, char *err, size_t errlen);

/* Listen on path with the given permission bits; returns NULL with err on failure. */
struct vn_ctl *vn_ctl_open(struct vn_loop *loop, const char *path, unsigned mode, char *err,
                           size_t errlen);
/* Also accept clients whose primary or supplementary group is gid, and make
 * the socket file group-owned by gid with mode 0660. Returns 0 or -1. */
int vn_ctl_allow_group(struct vn_ctl *ctl, gid_t gid);

/* Register handler fn for command name cmd (a static string). Returns 0 or -1. */
int vn_ctl_register(struct vn_ctl *ctl, const char *cmd, vn_ctl_fn fn, void *ctx);
/* Close all clients and the listener, remove the socket file. */
void vn_ctl_close(struct vn_ctl *ctl);

/* The client of the request being handled (only valid inside a handler). */
const struct vn_ctl_caller *vn_ctl_caller(void);
/* Take the oldest descriptor the current client passed and no request has
 * taken yet; the caller owns it. Returns -1 if there is none. */
int vn_ctl_take_fd(void);

/* Run one request line (without newline) from a privileged caller that
 * passed no descriptors, and return the reply line (malloc'd, without
 * newline). Exposed for tests and the fuzz target. */
char *vn_ctl_handle_line(struct vn_ctl *ctl, const char *line, size_t len);
/* A control object without a socket (tests, fuzzing). */
struct vn_ctl *vn_ctl_new_detached(void);

#endif
