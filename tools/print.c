/* vnetctl's human-readable output.
 *
 * One printer per reply kind, each turning the "result" member of a reply
 * into what `ip` or `ovs-appctl` users expect: aligned columns (table.c)
 * with a header line, "-" for what is absent, counters right-aligned. The
 * layout is part of vnetctl's interface (the functional tests parse it);
 * with -j none of this runs and the result is printed as JSON instead. */
#include "print.h"
#include "table.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "-";
}

long long jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

/* Frames a port dropped, all reasons and both directions. */
static long long drops_sum(json_t *o)
{
    long long s = 0;
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(o, "rx_drops"), k, v) s += json_integer_value(v);
    json_object_foreach(json_object_get(o, "tx_drops"), k, v) s += json_integer_value(v);
    return s;
}

void print_status(json_t *r, json_t *req)
{
    (void)req;
    long long up = jint(r, "uptime_s");
    printf("vnetd %s, pid %lld, up %lldd %02lld:%02lld:%02lld\n", jstr(r, "version"),
           jint(r, "pid"), up / 86400, up / 3600 % 24, up / 60 % 60, up % 60);
    printf("networks: %lld   ports: %lld (%lld connected)\n", jint(r, "networks"),
           jint(r, "ports"), jint(r, "ports_connected"));
    printf("frames: rx %lld  tx %lld  dropped %lld\n", jint(r, "rx_frames"), jint(r, "tx_frames"),
           jint(r, "drops"));
}

/* The networks' counters, one row each. GATEWAY is the address the
 * gateway's services answer on: IPv4, or IPv6 on an IPv6-only network. */
static void print_network_counters(json_t *r)
{
    struct table *t = table_new("NAME", "MODE", "VLAN", "MTU", "UPLINK", "GATEWAY", "PORTS",
                                "FDB", "FRAMES", "FLOODED", NULL);
    size_t i;
    json_t *n;
    json_array_foreach(r, i, n) {
        json_t *fdb = json_object_get(n, "fdb"), *st = json_object_get(n, "stats");
        char vlan[8], fdbs[32];
        snprintf(vlan, sizeof vlan, "%lld", jint(n, "vlan"));
        snprintf(fdbs, sizeof fdbs, "%lld/%lld", jint(fdb, "entries"), jint(fdb, "max"));
        json_t *gw = json_object_get(n, "gateway");
        const char *ga = "-";
        if (gw)
            ga = json_is_string(json_object_get(gw, "address")) ? jstr(gw, "address")
                                                                : jstr(gw, "address6");
        table_row(t, jstr(n, "name"), jstr(n, "mode"), jint(n, "vlan") ? vlan : "-",
                  table_int(t, jint(n, "mtu")), jstr(n, "uplink"), ga,
                  table_int(t, jint(n, "ports")), fdbs,
                  table_int(t, jint(st, "frames")), table_int(t, jint(st, "flooded")), NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

/* The addresses of the networks with a gateway, a row per family it
 * serves (none of IPv4 on an IPv6-only network, none of IPv6 with ipv6:
 * false) and one for a NAT64 prefix; DNS "-" when the forwarder is off.
 * Nothing when no network has a gateway. */
static void print_network_addresses(json_t *r)
{
    struct table *t = table_new("NETWORK", "FAMILY", "SUBNET", "GATEWAY", "DNS", "LINK-LOCAL",
                                NULL);
    int rows = 0;
    size_t i;
    json_t *n;
    json_array_foreach(r, i, n) {
        json_t *gw = json_object_get(n, "gateway");
        if (!gw)
            continue;
        const char *name = jstr(n, "name");
        bool dns = json_object_get(gw, "dns") != NULL;
        if (json_is_string(json_object_get(gw, "address"))) {
            table_row(t, name, "ipv4", jstr(gw, "subnet"), jstr(gw, "address"),
                      dns ? jstr(gw, "dns_address") : "-", "-", NULL);
            rows++;
        }
        if (json_is_string(json_object_get(gw, "address6"))) {
            table_row(t, name, "ipv6", jstr(gw, "subnet6"), jstr(gw, "address6"),
                      dns ? jstr(gw, "dns_address6") : "-", jstr(gw, "link_local"), NULL);
            rows++;
        }
        if (json_is_string(json_object_get(gw, "nat64_prefix"))) {
            table_row(t, name, "nat64", jstr(gw, "nat64_prefix"), "-", "-", "-", NULL);
            rows++;
        }
    }
    if (rows) {
        printf("\n");
        table_print(t, stdout);
    }
    table_free(t);
}

/* network list/show: the counters, then the addresses of both families. */
void print_networks(json_t *r, json_t *req)
{
    (void)req;
    print_network_counters(r);
    print_network_addresses(r);
}

/* The NETWORK column of a port: its network, or a trunk's networks with
 * the native one starred ("a,b*"). */
static void port_net(json_t *p, char *buf, size_t n)
{
    if (!strcmp(jstr(p, "role"), "trunk")) {
        size_t off = 0, i;
        json_t *v;
        json_array_foreach(json_object_get(p, "networks"), i, v) {
            const char *name = json_string_value(v);
            int native = !strcmp(name, jstr(p, "native"));
            off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%s%s%s", i ? "," : "",
                                    name, native ? "*" : "");
        }
    } else {
        snprintf(buf, n, "%s", jstr(p, "network"));
    }
}

/* The names in array a, comma separated ("-" when empty). */
static void print_names(const char *label, json_t *a)
{
    size_t i;
    json_t *v;
    printf("  %s: ", label);
    json_array_foreach(a, i, v)
        printf("%s%s", i ? "," : "", json_string_value(v));
    printf("%s\n", json_array_size(a) ? "" : "-");
}

/* A vhost-user port's negotiation and rings (port show NAME). */
static void print_vhost_user(json_t *p)
{
    printf("port %s: vhost-user, mode %s, %s\n", jstr(p, "name"), jstr(p, "mode"),
           json_object_get(p, "features") ? "front end attached" : "no front end");
    if (json_object_get(p, "features")) {
        print_names("features", json_object_get(p, "features"));
        print_names("protocol features", json_object_get(p, "protocol_features"));
        printf("  rings: %s, rx queue %lld, tx queue %lld, %lld memory regions\n",
               jstr(p, "rings"), jint(p, "rx_queue_size"), jint(p, "tx_queue_size"),
               jint(p, "memory_regions"));
    }
    if (json_object_get(p, "broken"))
        printf("  broken: %s\n", jstr(p, "broken"));
    printf("  connects %lld, disconnects %lld, refused %lld, protocol errors %lld, breaks %lld\n",
           jint(p, "connects"), jint(p, "disconnects"), jint(p, "refused"),
           jint(p, "protocol_errors"), jint(p, "breaks"));
    printf("  from the guest: %lld TSO frames, %lld malformed\n", jint(p, "tx_gso"),
           jint(p, "tx_malformed"));
    if (json_object_get(p, "last_error"))
        printf("  last protocol error: %s\n", jstr(p, "last_error"));
}

void print_ports(json_t *r, json_t *req)
{
    struct table *t = table_new("NAME", "TYPE", "NETWORK", "VLAN-ROLE", "STATE", "ENDPOINT",
                                "RX", "TX", "DROPS", NULL);
    size_t i;
    json_t *p;
    json_array_foreach(r, i, p) {
        char net[256], ep[300];
        port_net(p, net, sizeof net);
        json_t *st = json_object_get(p, "stats");
        if (json_object_get(p, "ifname"))
            snprintf(ep, sizeof ep, "%s%s%s", jstr(p, "ifname"),
                     json_object_get(p, "netns") ? "@" : "",
                     json_object_get(p, "netns") ? jstr(p, "netns") : "");
        else
            snprintf(ep, sizeof ep, "%s", jstr(p, "path"));
        table_row(t, jstr(p, "name"), jstr(p, "type"), net, jstr(p, "role"),
                  json_is_true(json_object_get(p, "connected")) ? "up" : "waiting", ep,
                  table_int(t, jint(st, "rx_frames")), table_int(t, jint(st, "tx_frames")),
                  table_int(t, drops_sum(st)), NULL);
    }
    table_print(t, stdout);
    table_free(t);
    if (json_object_get(req, "port"))
        json_array_foreach(r, i, p)
            if (!strcmp(jstr(p, "type"), "vhost-user"))
                print_vhost_user(p);
}

/* The MAC table; VTEP and ORIGIN columns when a vxlan port has entries
 * (AGE "-": a static or EVPN entry that has sent nothing yet). */
void print_fdb(json_t *r, json_t *req)
{
    (void)req;
    size_t i;
    json_t *e;
    int remote = 0;
    json_array_foreach(r, i, e)
        remote |= json_object_get(e, "vtep") != NULL;
    struct table *t = remote ? table_new("NETWORK", "MAC", "PORT", "AGE", "VTEP", "ORIGIN", NULL)
                             : table_new("NETWORK", "MAC", "PORT", "AGE", NULL);
    json_array_foreach(r, i, e) {
        json_t *age = json_object_get(e, "age_s");
        const char *as = json_is_integer(age) ? table_int(t, json_integer_value(age)) : "-";
        if (remote)
            table_row(t, jstr(e, "network"), jstr(e, "mac"), jstr(e, "port"), as,
                      jstr(e, "vtep"), jstr(e, "origin"), NULL);
        else
            table_row(t, jstr(e, "network"), jstr(e, "mac"), jstr(e, "port"), as, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

void print_leases(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("NETWORK", "FAMILY", "MAC", "IP", "HOSTNAME", "EXPIRES", "STATE",
                                "DUID", "IAID", NULL);
    size_t i;
    json_t *e;
    time_t now = time(NULL);
    json_array_foreach(r, i, e) {
        /* When the lease ends, or since when it is over: never "never" for
         * a lease that merely was released. */
        char exp[48] = "-";
        json_t *x = json_object_get(e, "expires_in"), *at = json_object_get(e, "expires_at");
        const char *st = jstr(e, "state");
        if (json_is_integer(x))
            snprintf(exp, sizeof exp, "in %llds", (long long)json_integer_value(x));
        else if (!strcmp(st, "declined") && json_is_integer(at) && json_integer_value(at) > now)
            snprintf(exp, sizeof exp, "quarantine %llds",
                     (long long)(json_integer_value(at) - now));
        else if (json_is_integer(json_object_get(e, "since")) && strcmp(st, "reserved"))
            snprintf(exp, sizeof exp, "%s %llds ago", st, jint(e, "since"));
        char state[40];
        snprintf(state, sizeof state, "%s%s", jstr(e, "state"),
                 json_is_true(json_object_get(e, "static")) ? ",static" : "");
        /* DHCPv6 leases (family 6) are known by DUID (hex) and IAID. */
        json_t *fam = json_object_get(e, "family"), *iaid = json_object_get(e, "iaid");
        const char *host = jstr(e, "hostname");
        table_row(t, jstr(e, "network"),
                  json_is_integer(fam) ? table_int(t, json_integer_value(fam)) : "-",
                  jstr(e, "mac"), jstr(e, "ip"), host[0] ? host : "-", exp, state,
                  jstr(e, "duid"),
                  json_is_integer(iaid) ? table_int(t, json_integer_value(iaid)) : "-", NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

void print_conflicts(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("NETWORK", "ADDRESS", "CLAIMED-BY", "PORT", "HELD-BY", "HOLD",
                                "COUNT", "LAST", NULL);
    size_t i;
    json_t *e;
    time_t now = time(NULL);
    json_array_foreach(r, i, e) {
        char ago[32];
        snprintf(ago, sizeof ago, "%llds ago", (long long)(now - jint(e, "last_seen")));
        table_row(t, jstr(e, "network"), jstr(e, "address"), jstr(e, "claimer_mac"),
                  jstr(e, "port"), jstr(e, "holder_mac"), jstr(e, "held_by"),
                  table_int(t, jint(e, "count")), ago, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

void print_flows(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("NETWORK", "PROTO", "GUEST", "REMOTE", "STATE", "DIR",
                                "BYTES-OUT", "BYTES-IN", "AGE", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e) {
        char age[24];
        snprintf(age, sizeof age, "%llds", jint(e, "age_s"));
        table_row(t, jstr(e, "network"), jstr(e, "proto"), jstr(e, "guest"), jstr(e, "remote"),
                  jstr(e, "state"), jstr(e, "direction"), table_int(t, jint(e, "bytes_out")),
                  table_int(t, jint(e, "bytes_in")), age, NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

void print_forwards(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("NETWORK", "PROTO", "HOST", "GUEST", "ACCEPTED", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e)
        table_row(t, jstr(e, "network"), jstr(e, "proto"), jstr(e, "host"), jstr(e, "guest"),
                  table_int(t, jint(e, "accepted")), NULL);
    table_print(t, stdout);
    table_free(t);
}

void print_json(json_t *r)
{
    char *s = json_dumps(r, JSON_INDENT(2) | JSON_ENCODE_ANY);
    puts(s ? s : "null");
    free(s);
}

void print_ok(json_t *r, json_t *req)
{
    (void)r;
    (void)req;
    printf("ok\n");
}


void print_mirrors(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("NAME", "FROM", "DIRECTION", "TO", "FRAMES", "BYTES", NULL);
    size_t i;
    json_t *e;
    json_array_foreach(r, i, e) {
        char from[256] = "";
        size_t off = 0, k;
        json_t *v;
        json_array_foreach(json_object_get(e, "from"), k, v)
            off += (size_t)snprintf(from + off, off < sizeof from ? sizeof from - off : 0, "%s%s",
                                    k ? "," : "", json_string_value(v));
        table_row(t, jstr(e, "name"), from, jstr(e, "direction"), jstr(e, "to"),
                  table_int(t, jint(e, "frames")), table_int(t, jint(e, "bytes")), NULL);
    }
    table_print(t, stdout);
    table_free(t);
}

/* Each target with rules or a default other than allow (or every target
 * if the result has a "one" member, which vnetd does not send today), its
 * rules numbered as acl del takes them, then the connection tracker's fill
 * and the reject answers sent. */
void print_acls(json_t *r, json_t *req)
{
    (void)req;
    size_t i, k;
    json_t *e, *rule;
    json_array_foreach(json_object_get(r, "acls"), i, e) {
        json_t *rules = json_object_get(e, "rules");
        const char *def = json_string_value(json_object_get(e, "default"));
        if (!json_array_size(rules) && (!def || !strcmp(def, "allow")) && !json_object_get(r, "one"))
            continue;
        printf("%s %s%s%s\n", jstr(e, "kind"), jstr(e, "target"), def ? ", default " : "",
               def ? def : "");
        struct table *t = table_new("  #", "RULE", "HITS", NULL);
        json_array_foreach(rules, k, rule) {
            char idx[16];
            snprintf(idx, sizeof idx, "  %lld", jint(rule, "index"));
            table_row(t, idx, jstr(rule, "rule"), table_int(t, jint(rule, "hits")), NULL);
        }
        if (json_array_size(rules))
            table_print(t, stdout);
        table_free(t);
    }
    json_t *ct = json_object_get(r, "conntrack");
    printf("connections tracked: %lld of %lld (table full %lld times)\n", jint(ct, "entries"),
           jint(ct, "max"), jint(ct, "table_full"));
    json_t *rej = json_object_get(r, "reject");
    if (rej)
        printf("reject answers sent: %lld (rate-limited %lld)\n", jint(rej, "sent"),
               jint(rej, "rate_limited"));
}

/* One line per non-zero drop reason of direction dir ("rx" or "tx"). */
static void print_drops(json_t *st, const char *dir)
{
    char key[16];
    snprintf(key, sizeof key, "%s_drops", dir);
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(st, key), k, v)
        if (json_integer_value(v))
            printf("  %s dropped (%s): %lld\n", dir, k, (long long)json_integer_value(v));
}

/* All ports as a table, then the VTEPs of vxlan ports, then the networks'
 * counters; with a PORT, that port's counters and each non-zero drop reason
 * (and a vxlan port's drop causes and VTEPs). */
void print_stats(json_t *r, json_t *req)
{
    int one = json_object_get(req, "port") != NULL;
    json_t *ports = json_object_get(r, "ports");
    size_t i;
    json_t *p;
    if (one) {
        json_array_foreach(ports, i, p) {
            printf("port %s\n", jstr(p, "name"));
            printf("  rx: %lld frames, %lld bytes\n", jint(p, "rx_frames"), jint(p, "rx_bytes"));
            printf("  tx: %lld frames, %lld bytes\n", jint(p, "tx_frames"), jint(p, "tx_bytes"));
            print_drops(p, "rx");
            print_drops(p, "tx");
            const char *k;
            json_t *v;
            json_object_foreach(json_object_get(p, "vxlan_drops"), k, v)
                if (json_integer_value(v))
                    printf("  vxlan dropped (%s): %lld\n", k, (long long)json_integer_value(v));
        }
        print_vtep_counters(ports, 1);
        return;
    }
    struct table *t = table_new("PORT", "RX-FRAMES", "RX-BYTES", "TX-FRAMES", "TX-BYTES",
                                "RX-DROP", "TX-DROP", NULL);
    json_array_foreach(ports, i, p) {
        long long rd = 0, td = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, "rx_drops"), k, v) rd += json_integer_value(v);
        json_object_foreach(json_object_get(p, "tx_drops"), k, v) td += json_integer_value(v);
        table_row(t, jstr(p, "name"), table_int(t, jint(p, "rx_frames")),
                  table_int(t, jint(p, "rx_bytes")), table_int(t, jint(p, "tx_frames")),
                  table_int(t, jint(p, "tx_bytes")), table_int(t, rd), table_int(t, td), NULL);
    }
    table_print(t, stdout);
    table_free(t);
    print_vtep_counters(ports, 0);
    json_t *nets = json_object_get(r, "networks");
    if (json_array_size(nets)) {
        printf("\n");
        print_network_counters(nets);
    }
}
