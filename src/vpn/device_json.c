/* The status of a VPN device as JSON (vnetctl vpn show, metrics). */
#include "device.h"

#include <stdio.h>

/* "ADDR:PORT" ("[v6]:PORT") of an endpoint, or null when unknown. */
static json_t *endpoint_json(const struct vn_vpn_endpoint *ep)
{
    if (!ep->ip.family)
        return json_null();
    char a[64], b[80];
    vn_addr_str(&ep->ip, a, sizeof a);
    snprintf(b, sizeof b, ep->ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, ep->port);
    return json_string(b);
}

static json_t *allowed_json(struct vn_vpn_dev *d, const struct vn_vpn_peer *p)
{
    json_t *a = json_array();
    uint32_t cur = 0;
    struct vn_addr pa;
    unsigned pl;
    while (vn_allowed_next(&d->allowed, p->id, &cur, &pa, &pl)) {
        char s[64], b[72];
        vn_addr_str(&pa, s, sizeof s);
        snprintf(b, sizeof b, "%s/%u", s, pl);
        json_array_append_new(a, json_string(b));
    }
    return a;
}

static json_t *peer_json(struct vn_vpn_dev *d, const struct vn_vpn_peer *p, uint64_t now_ms)
{
    char pub[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(pub, p->remote.pub);
    const struct vn_vpn_peer_stats *s = &p->st;
    json_t *j = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:i, s:b}", "name", p->name,
                          "public_key", pub, "endpoint", endpoint_json(&p->endpoint),
                          "allowed_ips", allowed_json(d, p), "latest_handshake",
                          (json_int_t)p->last_hs_sec, "transfer_rx", (json_int_t)s->rx_bytes,
                          "transfer_tx", (json_int_t)s->tx_bytes, "persistent_keepalive",
                          (int)p->keepalive_s, "preshared_key",
                          !vn_ct_is_zero(p->remote.psk, VN_KEY_LEN));
    if (p->cur && p->cur->valid)
        json_object_set_new(j, "session",
                            json_pack("{s:I, s:b, s:I}", "age_ms",
                                      (json_int_t)(now_ms - p->cur->born_ms), "initiator",
                                      p->cur->k.initiator, "sent_counter",
                                      (json_int_t)p->cur->send_counter));
    else
        json_object_set_new(j, "session", json_null());
    json_object_set_new(j, "handshake_pending", json_boolean(p->hs.state == VN_NOISE_INIT_SENT));
    json_object_set_new(
        j, "counters",
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "rx_packets",
                  (json_int_t)s->rx_packets, "tx_packets", (json_int_t)s->tx_packets,
                  "handshakes", (json_int_t)s->handshakes, "initiations_sent",
                  (json_int_t)s->hs_initiations_sent, "responses_sent",
                  (json_int_t)s->hs_responses_sent, "cookies_received",
                  (json_int_t)s->cookies_rcvd, "keepalives_sent", (json_int_t)s->keepalives_sent,
                  "keepalives_received", (json_int_t)s->keepalives_rcvd, "replayed",
                  (json_int_t)s->replayed, "source_refused", (json_int_t)s->src_refused,
                  "queue_dropped", (json_int_t)s->queue_dropped, "roams", (json_int_t)s->roams));
    return j;
}

/* The device counters, every drop by cause. */
static json_t *counters_json(const struct vn_vpn_dev *d)
{
    const struct vn_vpn_dev_stats *s = &d->st;
    json_t *c = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:I}",
        "rx_datagrams", (json_int_t)s->rx_datagrams, "tx_datagrams", (json_int_t)s->tx_datagrams,
        "bad_mac1", (json_int_t)s->bad_mac1, "unknown_peer", (json_int_t)s->unknown_peer,
        "bad_handshake", (json_int_t)s->bad_handshake, "stale_timestamp",
        (json_int_t)s->stale_timestamp, "initiation_flood", (json_int_t)s->init_flood,
        "unknown_index", (json_int_t)s->unknown_index, "bad_packet", (json_int_t)s->bad_packet,
        "replayed", (json_int_t)s->replayed, "expired", (json_int_t)s->expired, "source_refused",
        (json_int_t)s->src_refused, "bad_inner", (json_int_t)s->bad_inner, "cookies_sent",
        (json_int_t)s->cookies_sent, "bad_cookie", (json_int_t)s->bad_cookie, "under_load",
        (json_int_t)s->under_load, "ratelimited", (json_int_t)s->ratelimited, "no_route", (json_int_t)s->no_route, "no_endpoint",
        (json_int_t)s->no_endpoint, "queue_dropped", (json_int_t)s->queue_dropped);
    for (int r = 1; r < VN_WG_DROP_N; r++) {
        char k[40];
        snprintf(k, sizeof k, "malformed_%s", vn_wg_drop_name(-r));
        json_object_set_new(c, k, json_integer((json_int_t)s->malformed[r]));
    }
    return c;
}

json_t *vn_vpn_dev_json(struct vn_vpn_dev *d, uint64_t now_ms)
{
    char pub[VN_KEY_B64_LEN + 1];
    vn_key_to_base64(pub, d->local.pub);
    json_t *peers = json_array();
    for (unsigned i = 0; i < d->max_peers; i++)
        if (d->peers[i])
            json_array_append_new(peers, peer_json(d, d->peers[i], now_ms));
    return json_pack("{s:s, s:i, s:o, s:o, s:b}", "public_key", pub, "max_peers",
                     (int)d->max_peers, "peers", peers, "counters", counters_json(d),
                     "under_load", now_ms < d->load_until_ms);
}
