/* Prometheus metrics endpoint (text exposition format 0.0.4) over HTTP,
 * served by libmicrohttpd inside vnetd's event loop (no threads). */
#ifndef VN_OBS_METRICS_H
#define VN_OBS_METRICS_H

#include "core/loop.h"

#include <stddef.h>

struct vn_switch;
struct vn_metrics;

/* Listen on addr ("127.0.0.1:9464", "[::1]:9464", or ":9464" for all
 * addresses). Returns NULL with err. */
struct vn_metrics *vn_metrics_open(struct vn_loop *loop, struct vn_switch *sw, const char *addr,
                                   char *err, size_t errlen);
void vn_metrics_close(struct vn_metrics *m);

/* The exposition text of every metric now (malloc'd). Exposed for tests. */
char *vn_metrics_render(struct vn_switch *sw, size_t *len);

#endif
