/* vnetctl top: a live view of per-port rates (see top.c). */
#ifndef VN_TOOLS_TOP_H
#define VN_TOOLS_TOP_H

#include <jansson.h>

/* Fetch function: returns the "stats" result (owned by the caller) or NULL. */
typedef json_t *(*top_fetch_fn)(void *ctx);

/* Run the view until 'q', Ctrl-C or (iterations > 0) that many refreshes.
 * interval_ms between refreshes. Returns the exit status. */
int top_run(top_fetch_fn fetch, void *ctx, unsigned interval_ms, unsigned iterations);

#endif
