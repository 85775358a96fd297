/* Logging: key=value lines with levels, to stderr or syslog, with rate limiting.
 *
 * Every line is "level=LEVEL msg=\"...\" key=value ..." so logs can be parsed by
 * machines and read by people. Anything a guest can trigger must go through
 * VN_LOG_RL(), which allows a burst and then a steady rate per call site and
 * reports how many lines it suppressed. The limit is per call site and per
 * thread (each worker has its own burst), so no thread waits for another to
 * log; the suppressed total is one atomic counter. */
#ifndef VN_CORE_LOG_H
#define VN_CORE_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum vn_log_level { VN_LOG_ERR = 0, VN_LOG_WARN, VN_LOG_INFO, VN_LOG_DEBUG, VN_LOG__COUNT };

/* Per-call-site token bucket for rate-limited logging. */
struct vn_ratelimit {
    uint64_t last_ns;       /* last refill */
    uint32_t tokens;        /* lines still allowed now */
    uint32_t suppressed;    /* lines dropped since the last emitted line */
    bool init;
};

void vn_log_set_level(enum vn_log_level lvl);
enum vn_log_level vn_log_get_level(void);
/* Parse "error|warn|info|debug"; returns -1 on an unknown name. */
int vn_log_parse_level(const char *name);
/* Send log lines to syslog (daemon facility) instead of stderr. */
void vn_log_use_syslog(const char *ident);

void vn_log(enum vn_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like vn_log but only if the site's bucket allows it (burst 10, 5 lines/s). */
void vn_log_rl(struct vn_ratelimit *rl, enum vn_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Total lines suppressed by rate limiting since start (exported as a counter). */
uint64_t vn_log_suppressed_total(void);

#define vn_err(...)   vn_log(VN_LOG_ERR, __VA_ARGS__)
#define vn_warn(...)  vn_log(VN_LOG_WARN, __VA_ARGS__)
#define vn_info(...)  vn_log(VN_LOG_INFO, __VA_ARGS__)
#define vn_debug(...) do { if (vn_log_get_level() >= VN_LOG_DEBUG) vn_log(VN_LOG_DEBUG, __VA_ARGS__); } while (0)

/* Rate-limited log from a call site: one static bucket per site. */
#define VN_LOG_RL(lvl, ...) do { static _Thread_local struct vn_ratelimit rl_; vn_log_rl(&rl_, (lvl), __VA_ARGS__); } while (0)

#endif
