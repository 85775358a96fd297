/* Sandboxing with libcap-ng and libseccomp: see sandbox.h. */
#include "sandbox.h"
#include "log.h"

#include <cap-ng.h>
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Process-wide system calls (libc, memory, signals, the sanitizers); the
 * modules declare the rest next to their code (core/syscalls.h). */
static const char *const allowed[] = {
    /* event loop, timers, signals */
    "poll", "ppoll",
    "clock_gettime", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "rt_sigprocmask", "rt_sigreturn", "rt_sigaction", "restart_syscall",
    /* I/O on fds */
    "read", "write", "readv", "writev", "pread64", "pwrite64", "close", "fcntl", "ioctl",
    "dup", "dup2", "dup3", "lseek", "fstat", "newfstatat", "statx",
    "ftruncate", "eventfd2", "pipe2",
    /* sockets */
    "socket", "connect", "bind", "listen", "shutdown", "setsockopt",
    "getsockopt", "getsockname", "getpeername", "sendto", "sendmsg", "recvfrom", "socketpair",
    /* files: leases, captures, pid file, sockets' paths */
    "openat", "open", "unlink", "unlinkat", "mkdir",
    "mkdirat", "chmod", "fchmod", "fchmodat", "fchown", "readlink", "readlinkat", "access",
    "faccessat", "faccessat2", "getdents64", "umask",
    /* memory */
    "brk", "mmap", "munmap", "mremap", "madvise", "mprotect",
    /* process and identity */
    "getpid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getppid", "kill", "tgkill",
    "exit", "exit_group", "futex", "sched_yield", "uname", "sysinfo", "prlimit64",
    "getrlimit", "sigaltstack", "set_robust_list", "rseq", "wait4",
    /* what the sanitizer runtime needs when a report is written */
    "sched_getaffinity", "prctl", "personality", "getcwd",
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer builds: LeakSanitizer's exit check runs a tracer
     * thread that stops the process with ptrace. */
    "clone", "clone3", "ptrace", "waitid", "getdents", "sched_getparam", "sched_setparam",
#endif
};

int vn_sandbox_enter(const struct vn_sandbox_needs *needs, char *err, size_t errlen)
{
    if (geteuid() == 0 || capng_have_capabilities(CAPNG_SELECT_CAPS) != CAPNG_NONE) {
        capng_clear(CAPNG_SELECT_BOTH);
        if (needs->net_raw)
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_RAW);
        if (needs->net_bind_service)
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_BIND_SERVICE);
        if (capng_apply(CAPNG_SELECT_BOTH) != 0) {
            snprintf(err, errlen, "cannot drop capabilities");
            return -1;
        }
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        snprintf(err, errlen, "no_new_privs: %s", strerror(errno));
        return -1;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx) {
        snprintf(err, errlen, "seccomp_init failed");
        return -1;
    }
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
        int nr = seccomp_syscall_resolve_name(allowed[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not on this architecture */
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
            seccomp_release(ctx);
            snprintf(err, errlen, "seccomp rule for %s failed", allowed[i]);
            return -1;
        }
    }
    /* Threads (the workers, src/workers.h) start after the sandbox: clone
     * only with CLONE_THREAD (no new processes); clone3's flags are behind a
     * pointer the filter cannot read, so it fails with ENOSYS and glibc
     * falls back to clone. AddressSanitizer builds allow both already. */
#if !defined(__SANITIZE_ADDRESS__)
    if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)) != 0 ||
        seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0) {
        seccomp_release(ctx);
        snprintf(err, errlen, "seccomp rule for clone failed");
        return -1;
    }
#endif
    extern const char *const __start_vn_syscalls[], *const __stop_vn_syscalls[];
    for (const char *const *n = __start_vn_syscalls; n < __stop_vn_syscalls; n++) {
        int nr = seccomp_syscall_resolve_name(*n);
        if (nr == __NR_SCMP_ERROR)
            continue;
        if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) != 0) {
            seccomp_release(ctx);
            snprintf(err, errlen, "seccomp rule for %s failed", *n);
            return -1;
        }
    }
    int rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc != 0) {
        snprintf(err, errlen, "cannot load the seccomp filter: %s", strerror(-rc));
        return -1;
    }
    vn_info("msg=\"sandbox on\" seccomp=allow-list capabilities=%s%s%s",
            needs->net_raw ? "net_raw," : "", needs->net_bind_service ? "net_bind_service" : "",
            !needs->net_raw && !needs->net_bind_service ? "none" : "");
    return 0;
}
