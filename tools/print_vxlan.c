/* vnetctl's output of the vxlan ports: vtep list, and the VTEP counters
 * that stats adds (docs/control-protocol.md, "vtep.list" and "stats"). A
 * VTEP is shown as ADDR:UDPPORT ([ADDR]:UDPPORT for IPv6), a time since
 * last seen as "3s" or "never"; no cell holds a blank. */
#include "print.h"
#include "table.h"

#include <stdio.h>
#include <string.h>

/* "192.0.2.2:4789" or "[fd77::2]:4789". */
static void vtep_name(json_t *v, char *buf, size_t n)
{
    const char *a = jstr(v, "address");
    snprintf(buf, n, strchr(a, ':') ? "[%s]:%lld" : "%s:%lld", a, jint(v, "port"));
}

static void last_seen(json_t *v, char *buf, size_t n)
{
    json_t *s = json_object_get(v, "last_seen_s");
    if (json_is_integer(s))
        snprintf(buf, n, "%llds", (long long)json_integer_value(s));
    else
        snprintf(buf, n, "never");
}

/* The names of a JSON array of strings, comma-separated ("-" if none). */
static void names(json_t *a, char *buf, size_t n)
{
    size_t off = 0, i;
    json_t *v;
    buf[0] = 0;
    json_array_foreach(a, i, v)
        off += (size_t)snprintf(buf + off, off < n ? n - off : 0, "%s%s", i ? "," : "",
                                json_string_value(v));
    if (!off)
        snprintf(buf, n, "-");
}

/* vtep list: one row per VTEP of each vxlan port. */
void print_vteps(json_t *r, json_t *req)
{
    (void)req;
    struct table *t = table_new("PORT", "VTEP", "ORIGIN", "NETWORKS", "MACS", "STATIC",
                                "RX-FRAMES", "RX-BYTES", "TX-FRAMES", "TX-BYTES", "RX-DROP",
                                "TX-DROP", "LAST-SEEN", NULL);
    size_t i, k;
    json_t *p, *v;
    json_array_foreach(r, i, p) {
        json_array_foreach(json_object_get(p, "vteps"), k, v) {
            char name[80], nets[512], seen[32];
            vtep_name(v, name, sizeof name);
            names(json_object_get(v, "flood"), nets, sizeof nets);
            last_seen(v, seen, sizeof seen);
            table_row(t, jstr(p, "port"), name, jstr(v, "origin"), nets,
                      table_int(t, jint(v, "macs")), table_int(t, jint(v, "static_macs")),
                      table_int(t, jint(v, "rx_frames")), table_int(t, jint(v, "rx_bytes")),
                      table_int(t, jint(v, "tx_frames")), table_int(t, jint(v, "tx_bytes")),
                      table_int(t, jint(v, "rx_drops")), table_int(t, jint(v, "tx_drops")), seen,
                      NULL);
        }
    }
    table_print(t, stdout);
    table_free(t);
}

void print_vtep_counters(json_t *ports, int one)
{
    size_t i, k;
    json_t *p, *v;
    int any = 0;
    json_array_foreach(ports, i, p)
        any |= json_object_get(p, "vteps") != NULL;
    if (!any)
        return;
    struct table *t = one ? table_new("VTEP", "ORIGIN", "MACS", "RX-FRAMES", "RX-BYTES",
                                      "TX-FRAMES", "TX-BYTES", "RX-DROP", "TX-DROP",
                                      "LAST-SEEN", NULL)
                          : table_new("PORT", "VTEP", "RX-FRAMES", "RX-BYTES", "TX-FRAMES",
                                      "TX-BYTES", "RX-DROP", "TX-DROP", "LAST-SEEN", NULL);
    json_array_foreach(ports, i, p) {
        json_array_foreach(json_object_get(p, "vteps"), k, v) {
            char name[80], seen[32];
            vtep_name(v, name, sizeof name);
            last_seen(v, seen, sizeof seen);
            const char *rf = table_int(t, jint(v, "rx_frames")),
                       *rb = table_int(t, jint(v, "rx_bytes")),
                       *tf = table_int(t, jint(v, "tx_frames")),
                       *tb = table_int(t, jint(v, "tx_bytes")),
                       *rd = table_int(t, jint(v, "rx_drops")),
                       *td = table_int(t, jint(v, "tx_drops"));
            if (one)
                table_row(t, name, jstr(v, "origin"),
                          table_int(t, jint(v, "macs") + jint(v, "static_macs")), rf, rb, tf, tb,
                          rd, td, seen, NULL);
            else
                table_row(t, jstr(p, "name"), name, rf, rb, tf, tb, rd, td, seen, NULL);
        }
    }
    printf("\n");
    table_print(t, stdout);
    table_free(t);
}
