/* Logging implementation: see log.h. */
#include "log.h"
#include "util.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static enum vn_log_level g_level = VN_LOG_INFO;
static bool g_syslog;
static _Atomic uint64_t g_suppressed_total; /* any thread counts */

static const char *const level_names[] = { "error", "warn", "info", "debug" };
_Static_assert(sizeof level_names / sizeof level_names[0] == VN_LOG__COUNT, "a log level without a name");

void vn_log_set_level(enum vn_log_level lvl) { g_level = lvl; }
enum vn_log_level vn_log_get_level(void) { return g_level; }
uint64_t vn_log_suppressed_total(void)
{
    return atomic_load_explicit(&g_suppressed_total, memory_order_relaxed);
}

int vn_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    if (strcmp(name, "err") == 0)
        return VN_LOG_ERR;
    if (strcmp(name, "warning") == 0)
        return VN_LOG_WARN;
    return -1;
}

void vn_log_use_syslog(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    g_syslog = true;
}

static void vlog(enum vn_log_level lvl, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    if (g_syslog) {
        static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
        syslog(prio[lvl], "level=%s %s", level_names[lvl], line);
        return;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    fprintf(stderr, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s %s\n", tm.tm_year + 1900,
            tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
            level_names[lvl], line);
}

void vn_log(enum vn_log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, fmt, ap);
    va_end(ap);
}

enum { RL_BURST = 10, RL_PER_SEC = 5 };

void vn_log_rl(struct vn_ratelimit *rl, enum vn_log_level lvl, const char *fmt, ...)
{
    if (lvl > g_level)
        return;
    uint64_t now = vn_now_ns();
    if (!rl->init) {
        rl->init = true;
        rl->tokens = RL_BURST;
        rl->last_ns = now;
    }
    uint64_t add = (now - rl->last_ns) * RL_PER_SEC / 1000000000ull;
    if (add) {
        rl->tokens = (uint32_t)((rl->tokens + add > RL_BURST) ? RL_BURST : rl->tokens + add);
        rl->last_ns = now;
    }
    if (rl->tokens == 0) {
        rl->suppressed++;
        atomic_fetch_add_explicit(&g_suppressed_total, 1, memory_order_relaxed);
        return;
    }
    rl->tokens--;
    va_list ap;
    va_start(ap, fmt);
    vlog(lvl, fmt, ap);
    va_end(ap);
    if (rl->suppressed) {
        vn_log(lvl, "msg=\"rate limit: similar lines suppressed\" suppressed=%u", rl->suppressed);
        rl->suppressed = 0;
    }
}
