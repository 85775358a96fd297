/* Test-only control commands and the test clock: see debug_cmds.h. */
#include "debug_cmds.h"
#include "core/log.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One loop per process: the test clock is a single object. */
static struct {
    bool on;
    uint64_t offset_ns;
} tclock;

/* The loop's clock under --test-clock: monotonic time plus the offset. */
static uint64_t test_clock_now(void *ctx)
{
    (void)ctx;
    return vn_now_ns() + tclock.offset_ns;
}

void vn_test_clock_install(struct vn_loop *loop)
{
    tclock.on = true;
    tclock.offset_ns = 0;
    vn_loop_set_clock(loop, test_clock_now, NULL);
}

bool vn_test_clock_on(void)
{
    return tclock.on;
}

uint64_t vn_test_clock_offset_ms(void)
{
    return tclock.offset_ns / 1000000u;
}

/* The "ms" member: a JSON integer, or a string of decimal digits (what
 * vnetctl sends from its command line). Returns 0 with *ms, or -1. */
static int step_ms(json_t *req, uint64_t *ms)
{
    json_t *v = json_object_get(req, "ms");
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            return -1;
        *ms = (uint64_t)json_integer_value(v);
        return 0;
    }
    const char *s = json_string_value(v);
    if (!s || !*s || strlen(s) > 12 || strspn(s, "0123456789") != strlen(s))
        return -1;
    *ms = strtoull(s, NULL, 10);
    return 0;
}

/* debug.clock.advance {"ms": N}: move the test clock N ms forward.
 * Returns {"advanced_ms": N, "offset_ms": total}. */
static json_t *cmd_clock_advance(void *ctx, json_t *req, char *err, size_t errlen)
{
    (void)ctx;
    if (!tclock.on) {
        snprintf(err, errlen, "debug.clock.advance needs vnetd started with --test-clock "
                              "(an option for tests only)");
        return NULL;
    }
    if (!vn_ctl_caller()->privileged) {
        snprintf(err, errlen, "permission denied: debug.clock.advance is for root or vnetd's "
                              "own user");
        return NULL;
    }
    uint64_t ms;
    if (step_ms(req, &ms) < 0 || ms < 1 || ms > VN_TEST_CLOCK_MAX_STEP_MS) {
        snprintf(err, errlen, "debug.clock.advance: 'ms' must be a number of milliseconds, "
                              "1 to %u",
                 VN_TEST_CLOCK_MAX_STEP_MS);
        return NULL;
    }
    tclock.offset_ns += ms * 1000000u;
    vn_warn("msg=\"test clock advanced\" ms=%llu offset_ms=%llu", (unsigned long long)ms,
            (unsigned long long)vn_test_clock_offset_ms());
    return json_pack("{s:I, s:I}", "advanced_ms", (json_int_t)ms, "offset_ms",
                     (json_int_t)vn_test_clock_offset_ms());
}

void vn_debug_cmds_register(struct vn_ctl *ctl)
{
    vn_ctl_register(ctl, "debug.clock.advance", cmd_clock_advance, NULL);
}
