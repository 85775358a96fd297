/* The descriptor limit: raising RLIMIT_NOFILE at start and counting what
 * is open, so the daemon can size its tables to what it may really open
 * (see vn_daemon_setup: the NAT flow tables are capped so that flows never
 * take the descriptors that control, DNS, lease saving and captures need). */
#ifndef VN_CORE_FDLIMIT_H
#define VN_CORE_FDLIMIT_H

/* Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit
 * now in force (capped at 1<<20). *raised_from gets the old soft limit. */
unsigned vn_fd_raise_limit(unsigned *raised_from);
/* Descriptors open in this process now (counted in /proc/self/fd; 16 if it
 * cannot be read). */
unsigned vn_fd_open_count(void);

#endif
