/* vnetctl's command table (commands.c) and what its entries point to. */
#ifndef VN_TOOLS_COMMANDS_H
#define VN_TOOLS_COMMANDS_H

#include "print.h"

#include <jansson.h>
#include <stddef.h>

/* The global options, the same for every command. */
struct vnetctl {
    const char *control; /* the control socket */
    int json;            /* -j: print results as JSON */
};

struct command;

/* Build the request from the positional arguments (after NAME [SUB]).
 * Returns NULL for wrong arguments, having said why with cmd_wrong (the
 * dispatcher adds the usage line). */
typedef json_t *build_fn(const struct command *c, int ac, char **av);
/* Send the request and return the result; exits with status 1 on failure. */
typedef json_t *exchange_fn(const struct vnetctl *o, json_t *req);
/* A whole command that is more than one request and one reply. Returns
 * the exit status: 2 for wrong arguments, having said why with cmd_wrong. */
typedef int run_fn(const struct command *c, const struct vnetctl *o, int ac, char **av);

enum { ARGS_ANY = -1 };

enum {
    CMD_DEFAULT = 1, /* also what NAME alone does (`network` is `network list`) */
};

/* One command or subcommand. Most are one request whose members are the
 * positional arguments: `forward del tcp 8080 lan` is
 * {"cmd":"forward.del","proto":"tcp","host":"8080","network":"lan"}, from
 * request = "forward.del" and members = {"proto","host","network"}; the
 * argument count is checked against min..max before anything else. */
struct command {
    const char *name;        /* the first word */
    const char *sub;         /* the second word, NULL for a command without */
    const char *args;        /* synopsis of what follows NAME [SUB] ("" if nothing) */
    const char *help;        /* one line */
    const char *more;        /* further help lines, each ending in \n, or NULL */
    int min, max;            /* bounds of the argument count; max may be ARGS_ANY */
    const char *request;     /* the "cmd" of the request */
    const char *members[3];  /* the request member each positional argument goes to */
    build_fn *build;         /* NULL: cmd_build_members */
    exchange_fn *exchange;   /* NULL: call() */
    print_fn *print;         /* human output of the result (NULL, or -j: JSON) */
    run_fn *run;             /* set: the command is this, none of the above applies */
    unsigned flags;          /* CMD_* */
};

extern const struct command commands[];
extern const size_t n_commands;

/* The default builder: {"cmd": c->request, members[i]: av[i]...}. */
json_t *cmd_build_members(const struct command *c, int ac, char **av);

/* "vnetctl: NAME [SUB]: REASON" on stderr (vnetctl.c). */
void cmd_wrong(const struct command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Commands defined elsewhere: help (vnetctl.c), capture, and port add/del's
 * exchanges, which create socket files and hand over descriptors (fdpass.c). */
run_fn run_help, run_capture;
exchange_fn exchange_port_add, exchange_port_del;

#endif
