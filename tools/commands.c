/* vnetctl's command table.
 *
 * One entry per command and subcommand, in the order `vnetctl --help` lists
 * them: its words, its usage (synopsis, one line of help, maybe a few more
 * lines), the bounds of its argument count, and how it runs. The dispatcher
 * (vnetctl.c) finds the entry, answers --help and wrong argument counts from
 * it, then either hands the arguments to the entry's run function (capture,
 * top, help) or does the common thing: build the request (the positional
 * arguments become members, or a builder parses them), send it (call(), or
 * an exchange that also passes a descriptor), and print the result (the
 * entry's printer, or JSON with -j). Usage text is generated from these
 * entries only, so a command cannot be missing from it.
 *
 * The requests are those of docs/control-protocol.md ("vnetctl" section). */
#include "commands.h"
#include "call.h"
#include "top.h"
#include "vpn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *cmd_build_members(const struct command *c, int ac, char **av)
{
    json_t *req = json_pack("{s:s}", "cmd", c->request);
    for (int i = 0; i < ac && i < (int)(sizeof c->members / sizeof c->members[0]); i++) {
        json_t *v = json_string(av[i]);
        if (!v) {
            cmd_wrong(c, "'%s' is not valid UTF-8", av[i]);
            json_decref(req);
            return NULL;
        }
        json_object_set_new(req, c->members[i], v);
    }
    return req;
}

/* A non-negative decimal integer that fits an int; 0 or -1. */
static int parse_index(const char *s, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (errno || end == s || *end || n < 0 || n > 0x7fffffff)
        return -1;
    *out = (int)n;
    return 0;
}

/* acl add T ACTION [DIR] [key=value...] [--position N]: the words other
 * than --position N, joined with spaces, are the rule; vnetd parses it. */
static json_t *build_acl_add(const struct command *c, int ac, char **av)
{
    size_t len = 1;
    for (int i = 1; i < ac; i++)
        len += strlen(av[i]) + 1;
    char *rule = calloc(1, len);
    int pos = -1;
    if (!rule)
        return NULL;
    for (int i = 1; i < ac; i++) {
        if (!strcmp(av[i], "--position")) {
            if (i + 1 == ac || parse_index(av[i + 1], &pos) < 0) {
                cmd_wrong(c, "--position wants a rule index (0 is the first)");
                free(rule);
                return NULL;
            }
            i++;
            continue;
        }
        if (*rule)
            strcat(rule, " ");
        strcat(rule, av[i]);
    }
    if (!*rule) {
        cmd_wrong(c, "no ACTION");
        free(rule);
        return NULL;
    }
    json_t *req = json_pack("{s:s,s:s,s:s}", "cmd", c->request, "target", av[0], "rule", rule);
    free(rule);
    if (!req)
        cmd_wrong(c, "the arguments are not valid UTF-8");
    else if (pos >= 0)
        json_object_set_new(req, "position", json_integer(pos));
    return req;
}

/* acl del T INDEX: the index is a number in the request. */
static json_t *build_acl_del(const struct command *c, int ac, char **av)
{
    (void)ac;
    int idx;
    if (parse_index(av[1], &idx) < 0) {
        cmd_wrong(c, "INDEX is a rule number (see acl list), not '%s'", av[1]);
        return NULL;
    }
    json_t *req = json_pack("{s:s,s:s,s:i}", "cmd", c->request, "target", av[0], "index", idx);
    if (!req)
        cmd_wrong(c, "'%s' is not valid UTF-8", av[0]);
    return req;
}

/* mirror add NAME --from P1[,P2...] [--direction D] --to PORT, options in
 * any order; "from" is sent as an array, "direction" always (both unless
 * given). */
static json_t *build_mirror_add(const struct command *c, int ac, char **av)
{
    const char *from = NULL, *to = NULL, *dir = "both";
    for (int i = 1; i < ac; i += 2) {
        const char *v = i + 1 < ac ? av[i + 1] : NULL;
        if (!strcmp(av[i], "--from") && v)
            from = v;
        else if (!strcmp(av[i], "--to") && v)
            to = v;
        else if (!strcmp(av[i], "--direction") && v)
            dir = v;
        else {
            int known = !strcmp(av[i], "--from") || !strcmp(av[i], "--to") ||
                        !strcmp(av[i], "--direction");
            cmd_wrong(c, known ? "%s wants a value" : "unexpected '%s'", av[i]);
            return NULL;
        }
    }
    if (!from || !to) {
        cmd_wrong(c, "%s is required", from ? "--to" : "--from");
        return NULL;
    }
    json_t *fa = json_array();
    char *buf = strdup(from);
    if (!buf)
        return NULL;
    for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv))
        json_array_append_new(fa, json_string(t));
    free(buf);
    json_t *req = json_pack("{s:s,s:s,s:o,s:s,s:s}", "cmd", c->request, "name", av[0], "from", fa,
                            "to", to, "direction", dir);
    if (!req)
        cmd_wrong(c, "the arguments are not valid UTF-8");
    return req;
}

/* The "--networks NET[,NET...]" of vtep add/del at av[0..ac) into req's
 * "networks" (an array). Returns 0, or -1 having said why. */
static int vtep_networks(const struct command *c, int ac, char **av, json_t *req)
{
    if (!ac)
        return 0;
    const char *v = NULL;
    int used = 0;
    if (!strcmp(av[0], "--networks") && ac >= 2)
        v = av[1], used = 2;
    else if (!strncmp(av[0], "--networks=", 11))
        v = av[0] + 11, used = 1;
    if (!strcmp(av[0], "--networks") && ac == 1) {
        cmd_wrong(c, "--networks wants NET[,NET...]");
        return -1;
    }
    if (!v || used < ac) {
        cmd_wrong(c, "unexpected '%s'", av[v ? used : 0]);
        return -1;
    }
    json_t *a = json_array();
    for (const char *s = v;;) {
        const char *e = strchrnul(s, ',');
        json_t *n = e > s ? json_stringn(s, (size_t)(e - s)) : NULL;
        if (!n) {
            cmd_wrong(c, "--networks wants network names separated by commas, not '%s'", v);
            json_decref(a);
            return -1;
        }
        json_array_append_new(a, n);
        if (!*e)
            break;
        s = e + 1;
    }
    json_object_set_new(req, "networks", a);
    return 0;
}

/* vtep add|del PORT ADDR [--networks NET[,NET...]]: vnetd parses ADDR. */
static json_t *build_vtep(const struct command *c, int ac, char **av)
{
    json_t *req = json_pack("{s:s,s:s,s:s}", "cmd", c->request, "port", av[0], "vtep", av[1]);
    if (!req) {
        cmd_wrong(c, "the arguments are not valid UTF-8");
        return NULL;
    }
    if (vtep_networks(c, ac - 2, av + 2, req) < 0) {
        json_decref(req);
        return NULL;
    }
    return req;
}

/* fdb add NETWORK MAC vtep ADDR: the word "vtep" says what ADDR is. */
static json_t *build_fdb_add(const struct command *c, int ac, char **av)
{
    (void)ac;
    if (strcmp(av[2], "vtep")) {
        cmd_wrong(c, "expected 'vtep ADDR' after the MAC, not '%s'", av[2]);
        return NULL;
    }
    json_t *req = json_pack("{s:s,s:s,s:s,s:s}", "cmd", c->request, "network", av[0], "mac",
                            av[1], "vtep", av[3]);
    if (!req)
        cmd_wrong(c, "the arguments are not valid UTF-8");
    return req;
}

/* top's source of samples: one stats request; ctx is the control path. */
static json_t *fetch_stats(void *ctx)
{
    json_t *req = json_pack("{s:s}", "cmd", "stats");
    json_t *r = call(ctx, req);
    json_decref(req);
    return r;
}

/* top [-d SECONDS] [-n ITERATIONS]: stats every SECONDS (at least 0.1),
 * shown by top.c until q, Ctrl-C or ITERATIONS refreshes (0: no end). */
static int run_top(const struct command *c, const struct vnetctl *o, int ac, char **av)
{
    double secs = 1;
    unsigned iters = 0;
    for (int i = 0; i < ac; i += 2) {
        const char *v = i + 1 < ac ? av[i + 1] : NULL;
        char *end = NULL;
        if (!strcmp(av[i], "-d") && v) {
            secs = strtod(v, &end);
        } else if (!strcmp(av[i], "-n") && v) {
            long n = strtol(v, &end, 10);
            if (n < 0 || n > 0x7fffffff)
                end = (char *)v;
            iters = (unsigned)n;
        } else {
            int known = !strcmp(av[i], "-d") || !strcmp(av[i], "-n");
            cmd_wrong(c, known ? "%s wants a value" : "unexpected '%s'", av[i]);
            return 2;
        }
        if (end == v || *end) {
            cmd_wrong(c, "%s wants a number, not '%s'", av[i], v);
            return 2;
        }
    }
    if (!(secs >= 0.1))
        secs = 0.1;
    if (secs > 86400)
        secs = 86400;
    return top_run(fetch_stats, (void *)o->control, (unsigned)(secs * 1000), iters);
}

const struct command commands[] = {
    { .name = "status", .args = "", .help = "daemon summary", .request = "status",
      .print = print_status },

    { .name = "network", .sub = "list", .args = "[NAME]", .max = 1,
      .help = "networks and their counters", .request = "network.list",
      .members = { "network" }, .print = print_networks, .flags = CMD_DEFAULT },
    { .name = "network", .sub = "show", .args = "[NAME]", .max = 1,
      .help = "the same as network list", .request = "network.list",
      .members = { "network" }, .print = print_networks },

    { .name = "port", .sub = "list", .args = "[NAME]", .max = 1,
      .help = "ports, their state and counters", .request = "port.list",
      .members = { "port" }, .print = print_ports, .flags = CMD_DEFAULT },
    { .name = "port", .sub = "show", .args = "[NAME]", .max = 1,
      .help = "the same as port list", .request = "port.list", .members = { "port" },
      .print = print_ports },
    { .name = "port", .sub = "add",
      .args = "NAME,type=stream|dgram|tap|uplink,network=NET[,key=value...]", .min = 1,
      .max = 1, .help = "add a port (the keys of a port in vnetd.conf)",
      .more = "A user other than root binds a stream or dgram port's path itself and\n"
              "passes the socket to vnetd.\n",
      .request = "port.add", .members = { "spec" }, .exchange = exchange_port_add,
      .print = print_ok },
    { .name = "port", .sub = "del", .args = "NAME", .min = 1, .max = 1, .help = "remove a port",
      .request = "port.del", .members = { "port" }, .exchange = exchange_port_del,
      .print = print_ok },

    { .name = "fdb", .args = "[NETWORK]", .max = 1,
      .help = "learned MAC addresses (on a vxlan port: the VTEP and origin)",
      .more = "A network named add or del: vnetctl fdb list NETWORK.\n",
      .request = "fdb", .members = { "network" }, .print = print_fdb },
    { .name = "fdb", .sub = "list", .args = "[NETWORK]", .max = 1,
      .help = "the same as fdb", .request = "fdb", .members = { "network" },
      .print = print_fdb },
    { .name = "fdb", .sub = "add", .args = "NETWORK MAC vtep ADDR", .min = 4, .max = 4,
      .help = "a static remote MAC behind the VTEP at ADDR (root only)",
      .more = "Never aged; the VTEP must be known to the vxlan port carrying NETWORK\n"
              "(vtep list). Not kept across a restart of vnetd.\n",
      .request = "fdb.add", .build = build_fdb_add, .print = print_ok },
    { .name = "fdb", .sub = "del", .args = "NETWORK MAC", .min = 2, .max = 2,
      .help = "remove a remote MAC of a vxlan port, static or learned (root only)",
      .request = "fdb.del", .members = { "network", "mac" }, .print = print_ok },
    { .name = "stats", .args = "[PORT]", .max = 1, .help = "per-port counters and drops",
      .request = "stats", .members = { "port" }, .print = print_stats },
    { .name = "leases", .args = "[NETWORK]", .max = 1, .help = "DHCP leases",
      .request = "leases", .members = { "network" }, .print = print_leases },
    { .name = "conflicts", .args = "[NETWORK]", .max = 1,
      .help = "address conflicts between guests (ARP)", .request = "conflicts",
      .members = { "network" }, .print = print_conflicts },
    { .name = "flows", .args = "[NETWORK]", .max = 1, .help = "NAT flows", .request = "flows",
      .members = { "network" }, .print = print_flows },

    { .name = "forward", .sub = "list", .args = "[NETWORK]", .max = 1, .help = "port forwards",
      .request = "forward.list", .members = { "network" }, .print = print_forwards,
      .flags = CMD_DEFAULT },
    { .name = "forward", .sub = "add", .args = "SPEC [NETWORK]", .min = 1, .max = 2,
      .help = "forward a host port to a guest",
      .more = "SPEC: PROTO:HOSTPORT[:GUESTIP]:GUESTPORT or\n"
              "      PROTO:HOSTADDR:HOSTPORT:GUESTIP:GUESTPORT\n",
      .request = "forward.add", .members = { "spec", "network" }, .print = print_ok },
    { .name = "forward", .sub = "del", .args = "PROTO [HOSTADDR:]HOSTPORT [NETWORK]", .min = 2,
      .max = 3, .help = "remove a port forward", .request = "forward.del",
      .members = { "proto", "host", "network" }, .print = print_ok },

    { .name = "capture",
      .args = "PORT|NETWORK -w FILE [-c COUNT] [--duration S] [--snaplen N] [--direction D]",
      .max = ARGS_ANY, .help = "capture frames into a pcap file",
      .more = "-w|--write, -c|--count, -s|--snaplen; D is in, out or both (the default).\n"
              "Stops after COUNT frames, S seconds or Ctrl-C. vnetctl creates FILE, vnetd\n"
              "writes into it.\n",
      .run = run_capture },
    { .name = "top", .args = "[-d SECONDS] [-n ITERATIONS]", .max = ARGS_ANY,
      .help = "live per-port rates (q quits)", .run = run_top },

    { .name = "acl", .sub = "list", .args = "[PORT|NETWORK]", .max = 1,
      .help = "ACL rules and connection tracking", .request = "acl.list",
      .members = { "target" }, .print = print_acls, .flags = CMD_DEFAULT },
    { .name = "acl", .sub = "add",
      .args = "PORT|NETWORK ACTION [DIR] [key=value...] [--position N]", .min = 2, .max = ARGS_ANY, .help = "add a rule (at the end, or at index N)",
      .more = "ACTION allow|drop|reject, DIR in|out|both; keys: state src dst proto\n"
              "sport dport icmp_type src_mac dst_mac ethertype\n",
      .request = "acl.add", .build = build_acl_add, .print = print_ok },
    { .name = "acl", .sub = "del", .args = "PORT|NETWORK INDEX", .min = 2, .max = 2,
      .help = "remove rule INDEX (as acl list numbers them)", .request = "acl.del",
      .build = build_acl_del, .print = print_ok },
    { .name = "acl", .sub = "default", .args = "NETWORK allow|drop", .min = 2, .max = 2,
      .help = "a network's policy for what no rule matches", .request = "acl.default",
      .members = { "target", "policy" }, .print = print_ok },

    { .name = "mirror", .sub = "list", .args = "", .help = "port mirrors",
      .request = "mirror.list", .print = print_mirrors, .flags = CMD_DEFAULT },
    { .name = "mirror", .sub = "add",
      .args = "NAME --from PORT[,PORT...] [--direction in|out|both] --to PORT", .min = 1,
      .max = ARGS_ANY, .help = "copy the frames of ports to another port",
      .request = "mirror.add", .build = build_mirror_add, .print = print_ok },
    { .name = "mirror", .sub = "del", .args = "NAME", .min = 1, .max = 1,
      .help = "remove a mirror", .request = "mirror.del", .members = { "name" },
      .print = print_ok },

    { .name = "vtep", .sub = "list", .args = "[PORT]", .max = 1,
      .help = "the VTEPs of vxlan ports: flood lists, counters, MACs",
      .request = "vtep.list", .members = { "port" }, .print = print_vteps,
      .flags = CMD_DEFAULT },
    { .name = "vtep", .sub = "add", .args = "PORT ADDR[:UDPPORT] [--networks NET[,NET...]]",
      .min = 2, .max = 4, .help = "add a VTEP to the flood list (root only)",
      .more = "Default: every network of the port, UDP port the port's own. Its packets\n"
              "are accepted from now on. Not kept across a restart of vnetd.\n",
      .request = "vtep.add", .build = build_vtep, .print = print_ok },
    { .name = "vtep", .sub = "del", .args = "PORT ADDR [--networks NET[,NET...]]", .min = 2,
      .max = 4, .help = "take a VTEP out of the flood list (root only)",
      .more = "Out of every list: forgotten with its MACs, its packets dropped.\n",
      .request = "vtep.del", .build = build_vtep, .print = print_ok },

    { .name = "evpn", .args = "", .help = "EVPN mirror: VNIs, flood lists, MACs from FRR",
      .request = "evpn", .print = print_evpn },

    { .name = "debug", .sub = "clock-advance", .args = "MS", .min = 1, .max = 1,
      .help = "move vnetd's timer clock MS milliseconds forward (vnetd --test-clock only)",
      .more = "For tests: protocol timeouts (VPN rekey, NAT flows) happen without waiting.\n",
      .request = "debug.clock.advance", .members = { "ms" }, .print = print_ok },

    { .name = "vpn", .sub = "show", .args = "[NETWORK]", .max = 1,
      .help = "the networks' VPNs and their peers, as wg show prints them",
      .more = "Handshake times, transfer and endpoints per peer; -j adds the counters.\n",
      .request = "vpn.show", .members = { "network" }, .print = print_vpn_show,
      .flags = CMD_DEFAULT },
    { .name = "vpn", .sub = "peer add",
      .args = "NETWORK NAME --public-key KEY|--genkey --allowed-ips A[,B...] "
              "[--preshared-key-file F] [--endpoint ADDR:PORT] [--keepalive N] "
              "[--server-endpoint HOST[:PORT]]",
      .min = 2, .max = ARGS_ANY, .help = "add a VPN peer (root only)",
      .more = "--genkey makes the peer's key pair here (vnetd gets only the public key)\n"
              "and prints its wg-quick file with the private key (--server-endpoint: the\n"
              "address clients reach vnetd at, when vpn.listen is a wildcard). A\n"
              "preshared key is read from a file, never the command line. Not kept\n"
              "across a restart of vnetd.\n",
      .run = run_vpn_peer_add },
    { .name = "vpn", .sub = "peer del", .args = "NETWORK NAME|PUBLIC-KEY", .min = 2, .max = 2,
      .help = "remove a VPN peer (root only)", .request = "vpn.peer.del",
      .members = { "network", "peer" }, .print = print_vpn_peer_del },
    { .name = "vpn", .sub = "client-config",
      .args = "[NETWORK] PEER [--private-key-file F] [--preshared-key-file F] "
              "[--endpoint HOST[:PORT]] [--all-traffic]",
      .min = 1, .max = ARGS_ANY, .help = "print a peer's wg-quick file",
      .more = "PEER: its name or public key; NETWORK may be left out when only one\n"
              "network has a VPN. Address, DNS, MTU, the server's key, the network's\n"
              "routes, Endpoint, PersistentKeepalive. Keys vnetd does not know are\n"
              "comments unless given by file. --endpoint: where clients reach vnetd\n"
              "(needed when vpn.listen is a wildcard). --all-traffic (vpn.nat\n"
              "networks): AllowedIPs everything.\n",
      .run = run_vpn_client_config },

    { .name = "help", .args = "[--commands] [COMMAND [SUBCOMMAND]]", .max = ARGS_ANY,
      .help = "usage (--commands: the command names)",
      .run = run_help },
};

const size_t n_commands = sizeof commands / sizeof commands[0];
