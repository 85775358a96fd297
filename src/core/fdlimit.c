/* Descriptor limit helpers: see fdlimit.h. */
#include "fdlimit.h"

#include <dirent.h>
#include <sys/resource.h>

unsigned vn_fd_raise_limit(unsigned *raised_from)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        *raised_from = 1024;
        return 1024;
    }
    *raised_from = rl.rlim_cur > (1u << 20) ? 1u << 20 : (unsigned)rl.rlim_cur;
    rlim_t want = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1u << 20) ? 1u << 20 : rl.rlim_max;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return *raised_from;
    }
    return rl.rlim_cur > (1u << 20) ? 1u << 20 : (unsigned)rl.rlim_cur;
}

unsigned vn_fd_open_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 16;
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n > 0 ? n - 1 : 0; /* the directory's own descriptor */
}
