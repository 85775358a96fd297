/* vnetctl's output of the networks' VPNs (docs/control-protocol.md,
 * "vpn.show" and "vpn.client-config"): `vpn show` in the layout of
 * `wg show` (an "interface:" block, then a "peer:" block per peer, keys
 * indented by two spaces, sizes in B/KiB/MiB/GiB/TiB, times as "1 minute,
 * 5 seconds ago"), and a peer's wg-quick file. */
#include "print.h"
#include "vpn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* n bytes as wg show writes them: "512 B", "1.50 KiB", "3.20 MiB"... */
static void size_str(long long n, char *buf, size_t len)
{
    static const char *const unit[] = { "KiB", "MiB", "GiB", "TiB" };
    double v = (double)n;
    int u = -1;
    if (n < 1024) {
        snprintf(buf, len, "%lld B", n);
        return;
    }
    while (v >= 1024 && u < 3) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.2f %s", v, unit[u]);
}

/* "1 day, 2 hours, 1 minute, 5 seconds ago" (parts that are 0 left
 * out; "Now" for no time at all). */
static void ago_str(long long s, char *buf, size_t len)
{
    static const struct { const char *name; long long secs; } parts[] = {
        { "year", 365 * 86400LL }, { "day", 86400 }, { "hour", 3600 }, { "minute", 60 },
        { "second", 1 }
    };
    size_t off = 0;
    if (s <= 0) {
        snprintf(buf, len, "Now");
        return;
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        long long k = s / parts[i].secs;
        s %= parts[i].secs;
        if (k && off < len)
            off += (size_t)snprintf(buf + off, len - off, "%s%lld %s%s", off ? ", " : "", k,
                                    parts[i].name, k == 1 ? "" : "s");
    }
    if (off < len)
        snprintf(buf + off, len - off, " ago");
}

/* The strings of array a joined with sep into buf ("" if none). */
static void joined(json_t *a, const char *sep, char *buf, size_t n)
{
    size_t off = 0, i;
    json_t *v;
    buf[0] = 0;
    json_array_foreach(a, i, v)
        if (off < n)
            off += (size_t)snprintf(buf + off, n - off, "%s%s", i ? sep : "", json_string_value(v));
}

static void print_peer(json_t *p, time_t now)
{
    char buf[4096], rx[32], tx[32];
    printf("\npeer: %s\n", jstr(p, "public_key"));
    printf("  name: %s\n", jstr(p, "name"));
    if (json_is_true(json_object_get(p, "preshared_key")))
        printf("  preshared key: (hidden)\n");
    if (json_is_string(json_object_get(p, "endpoint")))
        printf("  endpoint: %s\n", jstr(p, "endpoint"));
    joined(json_object_get(p, "allowed_ips"), ", ", buf, sizeof buf);
    printf("  allowed ips: %s\n", *buf ? buf : "(none)");
    long long hs = jint(p, "latest_handshake");
    if (hs) {
        ago_str((long long)now - hs, buf, sizeof buf);
        printf("  latest handshake: %s\n", buf);
    }
    long long r = jint(p, "transfer_rx"), t = jint(p, "transfer_tx");
    if (r || t) {
        size_str(r, rx, sizeof rx);
        size_str(t, tx, sizeof tx);
        printf("  transfer: %s received, %s sent\n", rx, tx);
    }
    long long ka = jint(p, "persistent_keepalive");
    if (ka)
        printf("  persistent keepalive: every %lld second%s\n", ka, ka == 1 ? "" : "s");
}

void print_vpn_show(json_t *r, json_t *req)
{
    (void)req;
    time_t now = time(NULL);
    size_t i, k;
    json_t *v, *p;
    json_array_foreach(r, i, v) {
        printf("%sinterface: %s\n", i ? "\n" : "", jstr(v, "network"));
        printf("  public key: %s\n", jstr(v, "public_key"));
        printf("  private key: (hidden)\n");
        printf("  listening port: %lld\n", jint(v, "listen_port"));
        json_array_foreach(json_object_get(v, "peers"), k, p)
            print_peer(p, now);
    }
}

void print_vpn_peer(json_t *r, json_t *req)
{
    (void)req;
    char buf[4096];
    joined(json_object_get(r, "allowed_ips"), ", ", buf, sizeof buf);
    printf("peer %s added to network %s\n  public key: %s\n  allowed ips: %s\n", jstr(r, "name"),
           jstr(r, "network"), jstr(r, "public_key"), buf);
}

void print_vpn_peer_del(json_t *r, json_t *req)
{
    (void)req;
    printf("peer %s (%s) removed from network %s\n", jstr(r, "name"), jstr(r, "public_key"),
           jstr(r, "network"));
}

void print_client_config(FILE *f, json_t *r, const char *priv, const char *psk, int all_traffic)
{
    char buf[4096];
    fprintf(f, "# WireGuard configuration of peer '%s' of vnet network '%s'\n", jstr(r, "peer"),
            jstr(r, "network"));
    fprintf(f, "# (vnetctl vpn client-config; for wg-quick: save as /etc/wireguard/NAME.conf)\n");
    fprintf(f, "[Interface]\n");
    if (priv)
        fprintf(f, "PrivateKey = %s\n", priv);
    else
        fprintf(f, "# PrivateKey = the private key of public key %s\n"
                   "#   (not known to vnetd: put it here, or give --private-key-file FILE)\n",
                jstr(r, "public_key"));
    joined(json_object_get(r, "addresses"), ", ", buf, sizeof buf);
    if (*buf)
        fprintf(f, "Address = %s\n", buf);
    else
        fprintf(f, "# Address = the peer's address: none of its allowed IPs is a host route "
                   "(/32 or /128)\n");
    joined(json_object_get(r, "dns"), ", ", buf, sizeof buf);
    if (*buf)
        fprintf(f, "DNS = %s\n", buf);
    if (jint(r, "mtu"))
        fprintf(f, "MTU = %lld\n", jint(r, "mtu"));
    fprintf(f, "\n[Peer]\n");
    fprintf(f, "PublicKey = %s\n", jstr(r, "server_public_key"));
    if (psk)
        fprintf(f, "PresharedKey = %s\n", psk);
    else if (json_is_true(json_object_get(r, "preshared_key")))
        fprintf(f, "# PresharedKey = the peer's preshared key (vnetd has one for it; give "
                   "--preshared-key-file FILE)\n");
    json_t *routes = json_object_get(r, all_traffic ? "all_traffic_allowed_ips" : "allowed_ips");
    joined(routes, ", ", buf, sizeof buf);
    fprintf(f, "AllowedIPs = %s\n", buf);
    if (json_is_string(json_object_get(r, "endpoint")))
        fprintf(f, "Endpoint = %s\n", jstr(r, "endpoint"));
    else
        fprintf(f, "# Endpoint = HOST:%lld\n#   (%s)\n", jint(r, "listen_port"),
                jstr(r, "endpoint_note"));
    if (jint(r, "persistent_keepalive"))
        fprintf(f, "PersistentKeepalive = %lld\n", jint(r, "persistent_keepalive"));
}
