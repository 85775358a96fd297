/* vnetctl: inspect and change a running vnetd over its control socket.
 *
 * main() takes the global options (--control, -j) and hands the rest of
 * the command line to dispatch(), which looks the command up in the table
 * of commands.c: NAME, or NAME SUB for the commands that have subcommands
 * (NAME alone is the subcommand marked CMD_DEFAULT; SUB may be two words,
 * as in `vpn peer add`). The command line is
 * checked before anything is opened or sent: --help or -h anywhere prints
 * the entry's usage (exit 0); a wrong argument count, or a builder or run
 * function refusing the arguments, prints the reason and the usage line on
 * stderr (exit 2). Then, for most commands, one request and one reply,
 * printed by the entry's printer (or as JSON with -j); an error reply exits
 * 1 (call.c). All usage text, `vnetctl --help` included, is generated from
 * the table. */
#include "call.h"
#include "commands.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The synopsis column of the command list is this wide; longer synopses
 * put their help on the next line. */
enum { SYNOPSIS_WIDTH = 30 };

void cmd_wrong(const struct command *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "vnetctl: %s%s%s: ", c->name, c->sub ? " " : "", c->sub ? c->sub : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int is_help(const char *a)
{
    return !strcmp(a, "--help") || !strcmp(a, "-h");
}

/* The entry NAME SUB (sub NULL: the entry of a command without
 * subcommands), or NULL. */
static const struct command *find(const char *name, const char *sub)
{
    for (size_t i = 0; i < n_commands; i++) {
        const struct command *c = &commands[i];
        if (!strcmp(c->name, name) &&
            (sub ? c->sub && !strcmp(c->sub, sub) : !c->sub))
            return c;
    }
    return NULL;
}

/* The entry NAME "SUB1 SUB2" (`vpn peer add`), or NULL. */
static const struct command *find_two(const char *name, const char *sub1, const char *sub2)
{
    char sub[128];
    if ((size_t)snprintf(sub, sizeof sub, "%s %s", sub1, sub2) >= sizeof sub)
        return NULL;
    return find(name, sub);
}

/* Whether word is the first word of a two-word subcommand of NAME
 * (`peer` of `vpn peer add`). */
static int is_word_of(const char *name, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name) && commands[i].sub &&
            !strncmp(commands[i].sub, word, n) && commands[i].sub[n] == ' ')
            return 1;
    return 0;
}

/* Whether NAME is a command without subcommands (0), a command with
 * subcommands (1), both (2: `fdb [NETWORK]` beside `fdb add`; a second word
 * that is not a subcommand is the bare command's argument), or unknown (-1). */
static int kind_of(const char *name)
{
    int bare = 0, subs = 0;
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name)) {
            bare |= !commands[i].sub;
            subs |= commands[i].sub != NULL;
        }
    return subs ? (bare ? 2 : 1) : bare ? 0 : -1;
}

static const struct command *default_of(const char *name)
{
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name) && (commands[i].flags & CMD_DEFAULT))
            return &commands[i];
    return NULL;
}

/* "NAME [SUB] ARGS" into buf. */
static void synopsis(const struct command *c, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s%s%s%s", c->name, c->sub ? " " : "", c->sub ? c->sub : "",
             *c->args ? " " : "", c->args);
}

/* The lines of text, each with indent before it. */
static void indented(FILE *f, const char *indent, const char *text)
{
    while (text && *text) {
        const char *e = strchrnul(text, '\n');
        fprintf(f, "%s%.*s\n", indent, (int)(e - text), text);
        text = *e ? e + 1 : e;
    }
}

/* One entry of the command list: synopsis, help, further lines below. */
static void list_entry(FILE *f, const struct command *c)
{
    char syn[256];
    synopsis(c, syn, sizeof syn);
    if (strlen(syn) > SYNOPSIS_WIDTH)
        fprintf(f, "  %s\n  %-*s  ", syn, SYNOPSIS_WIDTH, "");
    else
        fprintf(f, "  %-*s  ", SYNOPSIS_WIDTH, syn);
    fprintf(f, "%s", c->help);
    if (c->flags & CMD_DEFAULT)
        fprintf(f, " (also: %s)", c->name);
    fputc('\n', f);
    indented(f, "      ", c->more);
}

/* `vnetctl --help`: every entry of the table, in its order. */
static void usage(FILE *f)
{
    fprintf(f, "usage: vnetctl [--control PATH] [-j|--json] COMMAND [ARGUMENTS]\n"
               "commands:\n");
    for (size_t i = 0; i < n_commands; i++)
        list_entry(f, &commands[i]);
    fprintf(f, "Every command takes --help (or -h) for its own usage. -j prints results as\n"
               "JSON. Exit status: 0 done, 1 vnetd answered an error or was not reached,\n"
               "2 wrong command line. The control socket defaults to $VNET_CONTROL, else\n"
               "/run/vnet/vnetd.sock (root), $XDG_RUNTIME_DIR/vnet/vnetd.sock or\n"
               "/tmp/vnet-UID/vnetd.sock.\n");
}

/* A command with subcommands: its usage line and its subcommands. */
static void group_usage(FILE *f, const char *name)
{
    fprintf(f, "usage: vnetctl %s SUBCOMMAND [ARGUMENTS]\n", name);
    for (size_t i = 0; i < n_commands; i++)
        if (!strcmp(commands[i].name, name))
            list_entry(f, &commands[i]);
}

static void command_usage(FILE *f, const struct command *c)
{
    char syn[256];
    synopsis(c, syn, sizeof syn);
    fprintf(f, "usage: vnetctl %s\n", syn);
}

/* NAME [SUB] --help. */
static void command_help(FILE *f, const struct command *c)
{
    command_usage(f, c);
    fprintf(f, "%s%s%s\n", c->help, c->flags & CMD_DEFAULT ? "; also: vnetctl " : "",
            c->flags & CMD_DEFAULT ? c->name : "");
    indented(f, "  ", c->more);
}

/* help [--commands] [COMMAND [SUBCOMMAND]]: --commands prints "NAME" or
 * "NAME SUB" for each entry, one a line, in table order (for scripts and
 * the tests). */
int run_help(const struct command *c, const struct vnetctl *o, int ac, char **av)
{
    (void)o;
    if (ac == 0) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(av[0], "--commands")) {
        if (ac > 1) {
            cmd_wrong(c, "--commands takes no arguments");
            return 2;
        }
        for (size_t i = 0; i < n_commands; i++)
            printf("%s%s%s\n", commands[i].name, commands[i].sub ? " " : "",
                   commands[i].sub ? commands[i].sub : "");
        return 0;
    }
    int k = kind_of(av[0]);
    const struct command *e = ac == 3   ? find_two(av[0], av[1], av[2])
                              : ac == 2 ? find(av[0], av[1])
                              : k == 0  ? find(av[0], NULL)
                                        : NULL;
    if (ac == 3 && e) {
        command_help(stdout, e);
        return 0;
    }
    if (ac > 2) {
        cmd_wrong(c, "too many arguments");
        return 2;
    }
    if (k < 0 || (ac == 2 && !e)) {
        if (k < 0)
            cmd_wrong(c, "unknown command '%s'", av[0]);
        else
            cmd_wrong(c, "no command '%s %s'", av[0], av[1]);
        return 2;
    }
    if (e)
        command_help(stdout, e);
    else
        group_usage(stdout, av[0]);
    return 0;
}

/* Find the command of av[0..ac) and run it; returns the exit status. */
static int dispatch(const struct vnetctl *o, int ac, char **av)
{
    const struct command *c = NULL;
    int k = kind_of(av[0]), skip = 1;
    if (k < 0) {
        fprintf(stderr, "vnetctl: unknown command '%s'\n", av[0]);
        usage(stderr);
        return 2;
    }
    if (k == 0 || (k == 2 && ac == 1)) {
        c = find(av[0], NULL);
    } else if (ac == 1) {
        if (!(c = default_of(av[0]))) {
            fprintf(stderr, "vnetctl: %s: which subcommand?\n", av[0]);
            group_usage(stderr, av[0]);
            return 2;
        }
    } else if (is_help(av[1])) {
        group_usage(stdout, av[0]);
        return 0;
    } else if (ac >= 3 && (c = find_two(av[0], av[1], av[2]))) {
        skip = 3;
    } else if (!find(av[0], av[1]) && is_word_of(av[0], av[1])) {
        fprintf(stderr, "vnetctl: %s %s: %s\n", av[0], av[1],
                ac >= 3 && !is_help(av[2]) ? "unknown subcommand" : "which subcommand?");
        group_usage(ac >= 3 && is_help(av[2]) ? stdout : stderr, av[0]);
        return ac >= 3 && is_help(av[2]) ? 0 : 2;
    } else if (!(c = find(av[0], av[1])) && k == 2) {
        c = find(av[0], NULL); /* its argument */
    } else if (!c) {
        fprintf(stderr, "vnetctl: %s: unknown subcommand '%s'\n", av[0], av[1]);
        group_usage(stderr, av[0]);
        return 2;
    } else {
        skip = 2;
    }
    ac -= skip;
    av += skip;
    for (int i = 0; i < ac; i++)
        if (is_help(av[i])) {
            command_help(stdout, c);
            return 0;
        }
    if (ac < c->min || (c->max != ARGS_ANY && ac > c->max)) {
        cmd_wrong(c, ac < c->min ? "missing arguments" : "too many arguments");
        command_usage(stderr, c);
        return 2;
    }
    if (c->run) {
        int rc = c->run(c, o, ac, av);
        if (rc == 2)
            command_usage(stderr, c);
        return rc;
    }
    json_t *req = (c->build ? c->build : cmd_build_members)(c, ac, av);
    if (!req) {
        command_usage(stderr, c);
        return 2;
    }
    json_t *res = c->exchange ? c->exchange(o, req) : call(o->control, req);
    if (o->json || !c->print)
        print_json(res);
    else
        c->print(res, req);
    json_decref(req);
    json_decref(res);
    return 0;
}

int main(int argc, char **argv)
{
    char control[256];
    call_default_control(control, sizeof control);
    struct vnetctl o = { .control = control };
    static const struct option lo[] = { { "control", required_argument, 0, 'C' },
                                        { "json", no_argument, 0, 'j' },
                                        { "help", no_argument, 0, 'h' },
                                        { 0, 0, 0, 0 } };
    int c;
    while ((c = getopt_long(argc, argv, "+C:jh", lo, NULL)) != -1) {
        switch (c) {
        case 'C': snprintf(control, sizeof control, "%s", optarg); break;
        case 'j': o.json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    return dispatch(&o, argc - optind, argv + optind);
}
