/* vnetctl evpn: the EVPN mirror of a vxlan port (docs/control-protocol.md, "evpn"). */
#include "print.h"
#include "table.h"

#include <stdio.h>

/* One row per VNI (its mirror devices, the flood list and the MACs imported
 * from FRR and mirrored to it), then the counters. */
void print_evpn(json_t *r, json_t *req)
{
    (void)req;
    printf("port %s, mirror vxlan devices on UDP %lld, ageing %lld s, devices %s\n",
           jstr(r, "port"), jint(r, "kernel_port"), jint(r, "ageing"),
           json_is_true(json_object_get(r, "create")) ? "made by vnetd" : "made beforehand");
    struct table *t = table_new("VNI", "NETWORK", "BRIDGE", "VXLAN", "TAP", "FLOOD", "REMOTE",
                                "LOCAL", NULL);
    size_t i, k;
    json_t *e, *v;
    json_array_foreach(json_object_get(r, "vnis"), i, e) {
        char flood[512] = "";
        size_t off = 0;
        json_array_foreach(json_object_get(e, "flood"), k, v)
            off += (size_t)snprintf(flood + off, off < sizeof flood ? sizeof flood - off : 0,
                                    "%s%s", k ? "," : "", json_string_value(v));
        table_row(t, table_int(t, jint(e, "vni")), jstr(e, "network"), jstr(e, "bridge"),
                  jstr(e, "vxlan"), jstr(e, "tap"), off ? flood : "-",
                  table_int(t, jint(e, "remote_macs")), table_int(t, jint(e, "local_macs")), NULL);
    }
    table_print(t, stdout);
    table_free(t);
    json_t *s = json_object_get(r, "stats");
    const char *key;
    const char *sep = "";
    json_object_foreach(s, key, v) {
        printf("%s%s %lld", sep, key, (long long)json_integer_value(v));
        sep = ", ";
    }
    if (*sep)
        putchar('\n');
}
