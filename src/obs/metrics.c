/* Prometheus metrics: see metrics.h.
 *
 * The page is rendered from the same JSON the control socket serves (so the
 * two never disagree): per-port counters and drops by reason, per-network
 * switching and fdb figures, and every counter of the gateway services,
 * flattened to vnet_<service>_<name>{network="..."} (IPv6 ones under
 * vnet_gateway6_ and vnet_dhcp6_, reassembly under vnet_reassembly_).
 * Names ending in _active, _max or _size, and entries, max, in_use,
 * neighbours, upstream_sockets, are gauges; everything else counts up and
 * gets the _total suffix. A vxlan port adds per-VTEP families
 * (vnet_vxlan_vtep_*{port,vtep}: at most 1024 VTEPs per port, the size of
 * its table, so the label's values stay bounded) and its remote MAC table
 * and decapsulation drops by cause (vnet_vxlan_*{port}). */
#include "core/ownports.h"
#include "metrics.h"
#include "conf/config.h"
#include "core/log.h"
#include "core/util.h"
#include "gw/gateway.h"
#include "port/vxlan.h"
#include "switch/switch.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>

struct vn_metrics {
    struct vn_loop *loop;
    struct vn_switch *sw;
    struct MHD_Daemon *d;
    struct vn_io io;
    struct vn_timer timer;
    uint64_t scrapes;
    uint16_t port;      /* the port it listens on (hidden from guests: core/ownports.h) */
};

struct out {
    char *buf;
    size_t len, cap;
};

static void emit(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < o->cap - o->len) {
            o->len += (size_t)n;
            return;
        }
        size_t cap = o->cap * 2 + (size_t)n;
        char *b = realloc(o->buf, cap);
        if (!b)
            return;
        o->buf = b;
        o->cap = cap;
    }
}

/* Label values: escape backslash, quote and newline. */
static const char *esc(const char *s, char *buf, size_t n)
{
    size_t j = 0;
    for (; *s && j + 2 < n; s++) {
        if (*s == '\\' || *s == '"') {
            buf[j++] = '\\';
            buf[j++] = *s;
        } else if (*s == '\n') {
            buf[j++] = '\\';
            buf[j++] = 'n';
        } else {
            buf[j++] = *s;
        }
    }
    buf[j] = 0;
    return buf;
}

static void header(struct out *o, const char *name, const char *type, const char *help)
{
    emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static bool is_gauge(const char *k)
{
    size_t n = strlen(k);
    return (n > 7 && !strcmp(k + n - 7, "_active")) || (n > 4 && !strcmp(k + n - 4, "_max")) ||
           (n > 5 && !strcmp(k + n - 5, "_size")) || !strcmp(k, "entries") ||
           !strcmp(k, "neighbours") || !strcmp(k, "max") || !strcmp(k, "aging") ||
           !strcmp(k, "in_use") || !strcmp(k, "upstream_sockets");
}

/* The part of a gateway's status a family of metrics comes from: the
 * member named sect, or the top level itself (sect NULL). */
static json_t *section(json_t *g, const char *sect)
{
    return !g ? NULL : sect ? json_object_get(g, sect) : g;
}

/* One family per integer member of section sect of the gateways' status
 * (views[i]: network i's, or NULL), named vnet_PREFIX_KEY (_total unless a
 * gauge), one sample per network that has it. Families are the union over
 * the networks, each emitted whole (the text format wants a family's
 * samples together). */
static void service_metrics(struct out *o, struct vn_switch *sw, json_t **views, const char *sect,
                            const char *prefix)
{
    json_t *seen = json_object();
    for (unsigned i = 0; i < sw->nnets; i++) {
        const char *key;
        json_t *v;
        json_object_foreach(section(views[i], sect), key, v) {
            if (!json_is_integer(v) || json_object_get(seen, key))
                continue;
            json_object_set_new(seen, key, json_true());
            bool gauge = is_gauge(key);
            char name[160], help[200], lab[96];
            snprintf(name, sizeof name, "vnet_%s_%s%s", prefix, key, gauge ? "" : "_total");
            snprintf(help, sizeof help, "The gateway's %s%s%s of vnetctl network show.",
                     sect ? sect : "", sect ? "." : "", key);
            header(o, name, gauge ? "gauge" : "counter", help);
            for (unsigned j = i; j < sw->nnets; j++) {
                json_t *x = json_object_get(section(views[j], sect), key);
                if (json_is_integer(x))
                    emit(o, "%s{network=\"%s\"} %lld\n", name,
                         esc(sw->nets[j]->conf.name, lab, sizeof lab),
                         (long long)json_integer_value(x));
            }
        }
    }
    json_decref(seen);
}

/* Label text of one peer: network, peer name and public key (escaped). */
static void peer_labels(char *buf, size_t n, const char *net, json_t *p)
{
    char a[96], b[96], c[96];
    const char *name = json_string_value(json_object_get(p, "name"));
    const char *key = json_string_value(json_object_get(p, "public_key"));
    snprintf(buf, n, "network=\"%s\",peer=\"%s\",public_key=\"%s\"", esc(net, a, sizeof a),
             esc(name ? name : "", b, sizeof b), esc(key ? key : "", c, sizeof c));
}

/* The integer at path "a" or "a.b" of o, or -1 when absent. */
static long long int_at(json_t *o, const char *key, const char *sub)
{
    json_t *x = json_object_get(o, key);
    if (sub)
        x = json_object_get(x, sub);
    return json_is_integer(x) ? (long long)json_integer_value(x) : -1;
}

/* The VPNs of the networks (views[i]: network i's gateway status, whose
 * "vpn" member is vnetctl vpn show's data): per peer, then per device. */
static void vpn_metrics(struct out *o, struct vn_switch *sw, json_t **views)
{
    json_t *vpns[VN_MAX_NETWORKS];
    unsigned idx[VN_MAX_NETWORKS], n = 0;
    for (unsigned i = 0; i < sw->nnets && n < VN_MAX_NETWORKS; i++) {
        json_t *v = views[i] ? json_object_get(views[i], "vpn") : NULL;
        if (json_is_object(v)) {
            vpns[n] = v;
            idx[n++] = i;
        }
    }
    if (!n)
        return;
    /* per peer: {key, sub-key of "counters" or NULL (top level), name, type, help} */
    static const struct {
        const char *key, *sub, *name, *type, *help;
    } pm[] = {
        { "transfer_rx", NULL, "vnet_vpn_peer_rx_bytes_total", "counter",
          "Bytes of the authenticated datagrams received from the peer (wg show's transfer)." },
        { "transfer_tx", NULL, "vnet_vpn_peer_tx_bytes_total", "counter",
          "Bytes of the datagrams sent to the peer (wg show's transfer)." },
        { "counters", "rx_packets", "vnet_vpn_peer_rx_packets_total", "counter",
          "Inner packets received from the peer and delivered." },
        { "counters", "tx_packets", "vnet_vpn_peer_tx_packets_total", "counter",
          "Inner packets sent to the peer." },
        { "counters", "handshakes", "vnet_vpn_peer_handshakes_total", "counter",
          "Handshakes completed with the peer (either role)." },
        { "counters", "initiations_sent", "vnet_vpn_peer_initiations_sent_total", "counter",
          "Handshake initiations sent to the peer." },
        { "counters", "responses_sent", "vnet_vpn_peer_responses_sent_total", "counter",
          "Handshake responses sent to the peer." },
        { "counters", "cookies_received", "vnet_vpn_peer_cookies_received_total", "counter",
          "Cookie replies received from the peer (it was under load)." },
        { "counters", "keepalives_sent", "vnet_vpn_peer_keepalives_sent_total", "counter",
          "Keepalives sent to the peer." },
        { "counters", "keepalives_received", "vnet_vpn_peer_keepalives_received_total",
          "counter", "Keepalives received from the peer." },
        { "counters", "replayed", "vnet_vpn_peer_replayed_total", "counter",
          "Data from the peer dropped as replayed (counter seen or too old)." },
        { "counters", "source_refused", "vnet_vpn_peer_source_refused_total", "counter",
          "Inner packets from the peer dropped: source not in its allowed IPs." },
        { "counters", "queue_dropped", "vnet_vpn_peer_queue_dropped_total", "counter",
          "Packets to the peer dropped while waiting for a handshake." },
        { "counters", "roams", "vnet_vpn_peer_roams_total", "counter",
          "Changes of the peer's endpoint (roaming)." },
        { "latest_handshake", NULL, "vnet_vpn_peer_latest_handshake_seconds", "gauge",
          "Unix time of the latest completed handshake with the peer (0: never)." },
        { "persistent_keepalive", NULL, "vnet_vpn_peer_persistent_keepalive_seconds", "gauge",
          "The peer's persistent keepalive interval (0: off)." },
    };
    char lab[320], nl[96];
    for (size_t k = 0; k < VN_ARRAY_LEN(pm); k++) {
        header(o, pm[k].name, pm[k].type, pm[k].help);
        for (unsigned i = 0; i < n; i++) {
            size_t j;
            json_t *p;
            json_array_foreach(json_object_get(vpns[i], "peers"), j, p) {
                long long x = int_at(p, pm[k].key, pm[k].sub);
                if (x < 0)
                    continue;
                peer_labels(lab, sizeof lab, sw->nets[idx[i]]->conf.name, p);
                emit(o, "%s{%s} %lld\n", pm[k].name, lab, x);
            }
        }
    }
    header(o, "vnet_vpn_peer_session", "gauge",
           "1 while the peer has a valid transport session.");
    for (unsigned i = 0; i < n; i++) {
        size_t j;
        json_t *p;
        json_array_foreach(json_object_get(vpns[i], "peers"), j, p) {
            peer_labels(lab, sizeof lab, sw->nets[idx[i]]->conf.name, p);
            emit(o, "vnet_vpn_peer_session{%s} %d\n", lab,
                 json_is_object(json_object_get(p, "session")) ? 1 : 0);
        }
    }
    /* per device: gauges, event counters, then every other counter is a drop */
    static const struct {
        const char *key, *sub, *name, *type, *help;
    } dm[] = {
        { "peers", NULL, "vnet_vpn_peers", "gauge", "Peers configured." },
        { "max_peers", NULL, "vnet_vpn_max_peers", "gauge", "Size of the peer table." },
        { "listen_port", NULL, "vnet_vpn_listen_port", "gauge", "The UDP port listened on." },
        { "counters", "rx_datagrams", "vnet_vpn_rx_datagrams_total", "counter",
          "UDP datagrams received on the VPN's socket." },
        { "counters", "tx_datagrams", "vnet_vpn_tx_datagrams_total", "counter",
          "UDP datagrams sent from the VPN's socket." },
        { "counters", "cookies_sent", "vnet_vpn_cookies_sent_total", "counter",
          "Cookie replies sent (handshake messages without mac2 under load)." },
        { "gateway", "forwarded", "vnet_vpn_forwarded_total", "counter",
          "Packets from the tunnel forwarded to guests on the link." },
    };
    for (size_t k = 0; k < VN_ARRAY_LEN(dm); k++) {
        header(o, dm[k].name, dm[k].type, dm[k].help);
        for (unsigned i = 0; i < n; i++) {
            long long x = !strcmp(dm[k].key, "peers")
                              ? (long long)json_array_size(json_object_get(vpns[i], "peers"))
                              : int_at(vpns[i], dm[k].key, dm[k].sub);
            if (x >= 0)
                emit(o, "%s{network=\"%s\"} %lld\n", dm[k].name,
                     esc(sw->nets[idx[i]]->conf.name, nl, sizeof nl), x);
        }
    }
    header(o, "vnet_vpn_under_load", "gauge",
           "1 while the VPN answers handshakes without mac2 with cookie replies.");
    for (unsigned i = 0; i < n; i++)
        emit(o, "vnet_vpn_under_load{network=\"%s\"} %d\n",
             esc(sw->nets[idx[i]]->conf.name, nl, sizeof nl),
             json_is_true(json_object_get(vpns[i], "under_load")) ? 1 : 0);
    header(o, "vnet_vpn_drops_total", "counter",
           "Datagrams and packets the VPN dropped, by cause (the device's counters of vnetctl "
           "vpn show, its socket's and the gateway's; under_load: handshakes answered with a "
           "cookie).");
    static const char *const not_drops[] = { "rx_datagrams", "tx_datagrams", "cookies_sent",
                                             "forwarded", "tx_errors" };
    static const char *const sects[] = { "counters", "socket", "gateway" };
    for (unsigned i = 0; i < n; i++) {
        esc(sw->nets[idx[i]]->conf.name, nl, sizeof nl);
        for (size_t s = 0; s < VN_ARRAY_LEN(sects); s++) {
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(vpns[i], sects[s]), key, v) {
                bool skip = !json_is_integer(v);
                for (size_t k = 0; k < VN_ARRAY_LEN(not_drops) && !skip; k++)
                    skip = !strcmp(key, not_drops[k]);
                if (!skip)
                    emit(o, "vnet_vpn_drops_total{network=\"%s\",cause=\"%s\"} %lld\n", nl,
                         key, (long long)json_integer_value(v));
            }
        }
    }
    header(o, "vnet_vpn_tx_errors_total", "counter", "Datagrams the socket could not send.");
    for (unsigned i = 0; i < n; i++) {
        long long x = int_at(vpns[i], "socket", "tx_errors");
        if (x >= 0)
            emit(o, "vnet_vpn_tx_errors_total{network=\"%s\"} %lld\n",
                 esc(sw->nets[idx[i]]->conf.name, nl, sizeof nl), x);
    }
}

/* Every gateway service's figures: the status of each network's gateway is
 * built once and read for every family. IPv6 has its own families
 * (vnet_gateway6_* from stats6: neighbour discovery, router advertisements,
 * ICMPv6; vnet_dhcp6_*) beside the IPv4 ones; DNS counts both families in
 * vnet_dns_* (queries_udp4/queries_udp6 split them). */
static void gateway_metrics(struct out *o, struct vn_switch *sw)
{
    json_t **views = calloc(sw->nnets ? sw->nnets : 1, sizeof *views);
    if (!views)
        return;
    for (unsigned i = 0; i < sw->nnets; i++)
        views[i] = sw->nets[i]->gw ? vn_gw_json(sw->nets[i]->gw) : NULL;
    static const struct {
        const char *sect, *prefix;
    } fam[] = {
        { NULL, "gateway" },   { "stats", "gateway" },    { "stats6", "gateway6" },
        { "reassembly", "reassembly" }, { "dhcp", "dhcp" }, { "dhcp6", "dhcp6" },
        { "dns", "dns" },      { "nat", "nat" },
    };
    for (size_t k = 0; k < VN_ARRAY_LEN(fam); k++)
        service_metrics(o, sw, views, fam[k].sect, fam[k].prefix);
    vpn_metrics(o, sw, views);
    for (unsigned i = 0; i < sw->nnets; i++)
        json_decref(views[i]);
    free(views);
}

/* The vxlan ports' figures, from their status (describe(), as port.list
 * shows it): per VTEP, then per port. */
static void vxlan_metrics(struct out *o, struct vn_switch *sw)
{
    json_t *views[VN_MAX_PORTS];
    unsigned n = 0;
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *p = sw->ports[i];
        if (!p || !vn_vxlan_is(p) || !p->priv)
            continue;
        views[n] = json_pack("{s:s}", "name", p->conf.name);
        p->ops->describe(p, views[n]);
        n++;
    }
    if (!n)
        return;
    static const struct {
        const char *key, *name, *type, *help;
    } vt[] = {
        { "rx_frames", "vnet_vxlan_vtep_rx_frames_total", "counter",
          "Datagrams received from the VTEP." },
        { "rx_bytes", "vnet_vxlan_vtep_rx_bytes_total", "counter",
          "Bytes of the inner frames received from the VTEP." },
        { "tx_frames", "vnet_vxlan_vtep_tx_frames_total", "counter",
          "Frames sent to the VTEP (a flooded frame counts once per VTEP)." },
        { "tx_bytes", "vnet_vxlan_vtep_tx_bytes_total", "counter",
          "Bytes of the inner frames sent to the VTEP." },
        { "rx_drops", "vnet_vxlan_vtep_rx_drops_total", "counter",
          "Datagrams from the VTEP dropped." },
        { "tx_drops", "vnet_vxlan_vtep_tx_drops_total", "counter",
          "Frames to the VTEP dropped." },
        { "recycled", "vnet_vxlan_vtep_recycled_total", "counter",
          "New MACs of the VTEP that replaced its own oldest (it held its share)." },
        { "macs", "vnet_vxlan_vtep_macs", "gauge", "Learned remote MACs behind the VTEP." },
        { "static_macs", "vnet_vxlan_vtep_static_macs", "gauge",
          "Static (control or EVPN) remote MACs behind the VTEP." },
        { "last_seen_s", "vnet_vxlan_vtep_last_seen_seconds", "gauge",
          "Seconds since the VTEP last sent anything (no sample: never)." },
    };
    char pl[96], vl[96];
    for (size_t k = 0; k < VN_ARRAY_LEN(vt); k++) {
        header(o, vt[k].name, vt[k].type, vt[k].help);
        for (unsigned i = 0; i < n; i++) {
            size_t j;
            json_t *v;
            esc(json_string_value(json_object_get(views[i], "name")), pl, sizeof pl);
            json_array_foreach(json_object_get(views[i], "vteps"), j, v) {
                json_t *x = json_object_get(v, vt[k].key);
                if (json_is_integer(x))
                    emit(o, "%s{port=\"%s\",vtep=\"%s\"} %lld\n", vt[k].name, pl,
                         esc(json_string_value(json_object_get(v, "address")), vl, sizeof vl),
                         (long long)json_integer_value(x));
            }
        }
    }
    static const struct {
        const char *key, *name, *help;
    } gauges[] = {
        { "entries", "vnet_vxlan_remote_macs", "Remote MACs in the port's table." },
        { "static", "vnet_vxlan_remote_macs_static", "Static remote MACs in the port's table." },
        { "max", "vnet_vxlan_remote_macs_max", "Size of the port's remote MAC table." },
        { "vteps", "vnet_vxlan_vteps", "VTEPs the port knows (at most 1024)." },
    };
    for (size_t k = 0; k < VN_ARRAY_LEN(gauges); k++) {
        header(o, gauges[k].name, "gauge", gauges[k].help);
        for (unsigned i = 0; i < n; i++)
            emit(o, "%s{port=\"%s\"} %lld\n", gauges[k].name,
                 esc(json_string_value(json_object_get(views[i], "name")), pl, sizeof pl),
                 (long long)json_integer_value(json_object_get(
                     json_object_get(views[i], "remote_macs"), gauges[k].key)));
    }
    static const char *const events[] = { "learned", "moved", "aged", "recycled", "evicted",
                                          "full", "static_conflicts", "vteps_learned",
                                          "vteps_aged" };
    header(o, "vnet_vxlan_remote_mac_events_total", "counter",
           "Events of the port's remote MAC table, by event (as port.list's remote_macs).");
    for (unsigned i = 0; i < n; i++)
        for (size_t k = 0; k < VN_ARRAY_LEN(events); k++)
            emit(o, "vnet_vxlan_remote_mac_events_total{port=\"%s\",event=\"%s\"} %lld\n",
                 esc(json_string_value(json_object_get(views[i], "name")), pl, sizeof pl),
                 events[k],
                 (long long)json_integer_value(
                     json_object_get(json_object_get(views[i], "remote_macs"), events[k])));
    header(o, "vnet_vxlan_drops_total", "counter",
           "Datagrams the port dropped, by cause (each also in vnet_port_drops_total by reason).");
    for (unsigned i = 0; i < n; i++) {
        const char *key;
        json_t *v;
        esc(json_string_value(json_object_get(views[i], "name")), pl, sizeof pl);
        json_object_foreach(json_object_get(views[i], "vxlan_drops"), key, v)
            emit(o, "vnet_vxlan_drops_total{port=\"%s\",cause=\"%s\"} %lld\n", pl, key,
                 (long long)json_integer_value(v));
    }
    for (unsigned i = 0; i < n; i++)
        json_decref(views[i]);
}

char *vn_metrics_render(struct vn_switch *sw, size_t *len)
{
    struct out o = { malloc(16384), 0, 16384 };
    if (!o.buf)
        return NULL;
    o.buf[0] = 0;
    char p[96], n[96];
    header(&o, "vnet_up", "gauge", "1 while vnetd runs.");
    emit(&o, "vnet_up 1\n");
    header(&o, "vnet_uptime_seconds", "gauge", "Seconds since vnetd started.");
    emit(&o, "vnet_uptime_seconds %llu\n",
         (unsigned long long)((vn_now_ns() - sw->start_ns) / 1000000000ull));
    header(&o, "vnet_log_lines_suppressed_total", "counter",
           "Log lines dropped by rate limiting (guest-triggered floods).");
    emit(&o, "vnet_log_lines_suppressed_total %llu\n",
         (unsigned long long)vn_log_suppressed_total());

    static const struct {
        const char *name, *help;
        size_t off;
    } pc[] = {
        { "vnet_port_rx_frames_total", "Frames received from the port's peer.",
          offsetof(struct vn_counters, rx_frames) },
        { "vnet_port_rx_bytes_total", "Bytes received from the port's peer.",
          offsetof(struct vn_counters, rx_bytes) },
        { "vnet_port_tx_frames_total", "Frames delivered to the port's peer.",
          offsetof(struct vn_counters, tx_frames) },
        { "vnet_port_tx_bytes_total", "Bytes delivered to the port's peer.",
          offsetof(struct vn_counters, tx_bytes) },
    };
    for (size_t k = 0; k < VN_ARRAY_LEN(pc); k++) {
        header(&o, pc[k].name, "counter", pc[k].help);
        for (unsigned i = 0; i < sw->nports; i++) {
            struct vn_port *pt = sw->ports[i];
            if (!pt)
                continue;
            uint64_t v;
            memcpy(&v, (const char *)&pt->stats + pc[k].off, sizeof v);
            emit(&o, "%s{port=\"%s\",type=\"%s\"} %llu\n", pc[k].name,
                 esc(pt->conf.name, p, sizeof p), pt->ops->type, (unsigned long long)v);
        }
    }
    header(&o, "vnet_port_drops_total", "counter", "Frames dropped, by port, direction and reason.");
    for (unsigned i = 0; i < sw->nports; i++) {
        struct vn_port *pt = sw->ports[i];
        if (!pt)
            continue;
        for (int d = 0; d < VN_DROP__COUNT; d++) {
            emit(&o, "vnet_port_drops_total{port=\"%s\",direction=\"rx\",reason=\"%s\"} %llu\n",
                 esc(pt->conf.name, p, sizeof p), vn_drop_name(d),
                 (unsigned long long)pt->stats.rx_drops[d]);
            emit(&o, "vnet_port_drops_total{port=\"%s\",direction=\"tx\",reason=\"%s\"} %llu\n",
                 p, vn_drop_name(d), (unsigned long long)pt->stats.tx_drops[d]);
        }
    }
    header(&o, "vnet_port_up", "gauge", "1 when a peer is attached (link up).");
    for (unsigned i = 0; i < sw->nports; i++)
        if (sw->ports[i])
            emit(&o, "vnet_port_up{port=\"%s\"} %d\n", esc(sw->ports[i]->conf.name, p, sizeof p),
                 sw->ports[i]->connected ? 1 : 0);

    static const struct {
        const char *name, *help;
        size_t off;
    } nc[] = {
        { "vnet_network_frames_total", "Frames accepted into the network.",
          offsetof(struct vn_net_counters, frames) },
        { "vnet_network_bytes_total", "Bytes accepted into the network.",
          offsetof(struct vn_net_counters, bytes) },
        { "vnet_network_unicast_total", "Frames forwarded to one learned port.",
          offsetof(struct vn_net_counters, unicast) },
        { "vnet_network_flooded_total", "Frames flooded (broadcast, multicast, unknown).",
          offsetof(struct vn_net_counters, flooded) },
    };
    for (size_t k = 0; k < VN_ARRAY_LEN(nc); k++) {
        header(&o, nc[k].name, "counter", nc[k].help);
        for (unsigned i = 0; i < sw->nnets; i++) {
            uint64_t v;
            memcpy(&v, (const char *)&sw->nets[i]->stats + nc[k].off, sizeof v);
            emit(&o, "%s{network=\"%s\",mode=\"%s\"} %llu\n", nc[k].name,
                 esc(sw->nets[i]->conf.name, n, sizeof n),
                 vn_net_mode_name(sw->nets[i]->conf.mode), (unsigned long long)v);
        }
    }
    header(&o, "vnet_fdb_entries", "gauge", "Learned MAC addresses.");
    for (unsigned i = 0; i < sw->nnets; i++)
        emit(&o, "vnet_fdb_entries{network=\"%s\"} %u\n",
             esc(sw->nets[i]->conf.name, n, sizeof n), sw->nets[i]->fdb.count);
    header(&o, "vnet_fdb_full_total", "counter", "MACs not learned because the table was full.");
    for (unsigned i = 0; i < sw->nnets; i++)
        emit(&o, "vnet_fdb_full_total{network=\"%s\"} %llu\n",
             esc(sw->nets[i]->conf.name, n, sizeof n), (unsigned long long)sw->nets[i]->fdb.full);
    gateway_metrics(&o, sw);
    vxlan_metrics(&o, sw);
    *len = o.len;
    return o.buf;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls;
    struct vn_metrics *m = cls;
    struct MHD_Response *r;
    unsigned status = MHD_HTTP_OK;
    if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
        static const char msg[] = "only GET\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_METHOD_NOT_ALLOWED;
    } else if (strcmp(url, "/metrics") && strcmp(url, "/")) {
        static const char msg[] = "vnetd: metrics are at /metrics\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg, MHD_RESPMEM_PERSISTENT);
        status = MHD_HTTP_NOT_FOUND;
    } else {
        size_t len;
        char *body = vn_metrics_render(m->sw, &len);
        if (!body)
            return MHD_NO;
        r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        m->scrapes++;
    }
    if (!r)
        return MHD_NO;
    enum MHD_Result res = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return res;
}

/* Run MHD and re-arm its timeout. */
static void service(struct vn_metrics *m)
{
    MHD_run(m->d);
    MHD_UNSIGNED_LONG_LONG to;
    if (MHD_get_timeout(m->d, &to) == MHD_YES)
        vn_timer_arm(m->loop, &m->timer, to);
    else
        vn_timer_cancel(m->loop, &m->timer);
}

static void on_io(struct vn_io *io, uint32_t ev)
{
    (void)ev;
    service(VN_CONTAINER_OF(io, struct vn_metrics, io));
}

static void on_timer(struct vn_timer *t) { service(VN_CONTAINER_OF(t, struct vn_metrics, timer)); }

struct vn_metrics *vn_metrics_open(struct vn_loop *loop, struct vn_switch *sw, const char *addr,
                                   char *err, size_t errlen)
{
    struct vn_sockaddr sa;
    char buf[160];
    if (addr[0] == ':') /* ":9464": every address */
        snprintf(buf, sizeof buf, "[::]%s", addr);
    else
        snprintf(buf, sizeof buf, "%s", addr);
    if (vn_sockaddr_parse(buf, 0, &sa)) {
        snprintf(err, errlen, "metrics address '%s' is not ADDR:PORT", addr);
        return NULL;
    }
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    vn_addr_sockaddr(&sa.ip, sa.port, &ss);
    if (sa.ip.family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct vn_metrics *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    m->loop = loop;
    m->sw = sw;
    m->d = MHD_start_daemon(flags, sa.port, NULL, NULL, handle, m, MHD_OPTION_SOCK_ADDR, &ss,
                            MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                            MHD_OPTION_END);
    const union MHD_DaemonInfo *di = m->d ? MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD)
                                          : NULL;
    if (!di || vn_io_add(loop, &m->io, di->epoll_fd, EPOLLIN, on_io) < 0) {
        snprintf(err, errlen, "cannot serve metrics on %s (address in use?)", addr);
        if (m->d)
            MHD_stop_daemon(m->d);
        free(m);
        return NULL;
    }
    vn_timer_init(&m->timer, on_timer);
    const union MHD_DaemonInfo *pi = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = pi ? pi->port : sa.port;
    vn_own_port_add(IPPROTO_TCP, m->port, VN_OWN_ALL_NETWORKS);
    return m;
}

void vn_metrics_close(struct vn_metrics *m)
{
    if (!m)
        return;
    vn_io_del(m->loop, &m->io);
    vn_timer_cancel(m->loop, &m->timer);
    vn_own_port_del(IPPROTO_TCP, m->port, VN_OWN_ALL_NETWORKS);
    MHD_stop_daemon(m->d);
    free(m);
}
