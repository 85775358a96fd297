/* A whole vnet "world" for fuzz targets: an event loop, a switch whose
 * networks (and gateways) come from a YAML configuration, and ports whose
 * backend is a fake that accepts every frame (touching all its bytes, so the
 * sanitizers see bad pointers or lengths) instead of a socket.
 *
 * Safety: a world with a nat gateway opens host sockets toward whatever
 * addresses the fuzzer invents. fz_isolate() therefore moves the process
 * into a new, empty network namespace (only loopback, brought up) before
 * anything is created; when that is impossible (not root), targets fall back
 * to configurations without NAT. DNS upstreams are always 127.0.0.1 inside
 * that namespace, and DHCP leases stay in memory (no state_dir). */
#ifndef VN_FUZZ_WORLD_H
#define VN_FUZZ_WORLD_H

#include "conf/config.h"
#include "core/loop.h"
#include "switch/switch.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fz_world {
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct vn_config *conf;
    uint64_t tx_frames; /* frames the fake ports were given */
    /* When set, called with every frame a fake port is given (after its
     * bytes were read): targets check what the world sends to guests. */
    void (*on_tx)(struct fz_world *w, struct vn_port *p, const struct vn_frame *f);
    void *ctx;          /* the target's, for on_tx */
};

/* Enter a private network namespace (once per process). Returns true when
 * the process is isolated, false when it could not be (then NAT must not be
 * configured). */
bool fz_isolate(void);

/* Build a world from YAML (ports of any type get the fake backend). Aborts
 * on configuration errors: the texts are the harness's own. */
struct fz_world *fz_world_new(const char *yaml);
void fz_world_free(struct fz_world *w);

/* Feed n frames (copied into the switch's receive buffers, at most
 * VN_BATCH) into port p, then run the loop once without waiting so
 * gateway replies are injected. */
void fz_world_input(struct fz_world *w, struct vn_port *p, const uint8_t *const *frames,
                    const size_t *lens, unsigned n);

/* Ports in creation order (NULL past the end). */
struct vn_port *fz_world_port(struct fz_world *w, unsigned i);

#endif
