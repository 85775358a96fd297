/* System calls a module makes, declared next to its code and collected by
 * the linker into one allow-list for the sandbox (core/sandbox.c).
 *
 * VN_SYSCALLS("recvmmsg", "sendmmsg"); at file scope puts the names into the
 * ELF section "vn_syscalls"; the sandbox walks it between the linker's
 * __start_vn_syscalls and __stop_vn_syscalls symbols. A module that starts
 * making a new call lists it here, beside the call, instead of in a
 * central table far away. */
#ifndef VN_CORE_SYSCALLS_H
#define VN_CORE_SYSCALLS_H

#define VN_SC_CAT2(a, b) a##b
#define VN_SC_CAT(a, b) VN_SC_CAT2(a, b)
#define VN_SYSCALLS(...)                                                                        \
    static const char *const VN_SC_CAT(vn_syscalls_, __LINE__)[]                                \
        __attribute__((used, section("vn_syscalls"), aligned(sizeof(void *)))) = { __VA_ARGS__ }

#endif
