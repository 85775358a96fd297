/* `vnetd run [OPTIONS] [--] CMD [ARGS...]`: run CMD in a new network
 * namespace (plus a user namespace when not root) whose tap eth0 is a port
 * of a NAT network served by this process, like pasta or slirp4netns. The
 * daemon side is here (run.c); the namespace side in ns.c. */
#ifndef VN_RUN_RUN_H
#define VN_RUN_RUN_H

/* argv[0] is "run". Returns the exit status: CMD's (128+signal if it was
 * killed), 2 for usage errors, 125 when vnetd run itself failed. */
int vn_run_main(int argc, char **argv);

#endif
