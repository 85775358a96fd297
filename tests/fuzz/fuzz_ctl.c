/* Fuzz target: control requests (ctl/ctl.c request parsing and dispatch,
 * and the commands of ctl/{switch,gw,obs,acl,vxlan,vpn}_cmds.c) against a running
 * world (see fuzz_world.h) with a nat and a tagged isolated network and four
 * ports, and, when the fuzzer runs in its own network namespace, a real
 * vxlan port carrying both networks (VNIs 100 and 200; local 127.0.0.1 on
 * an ephemeral UDP port, remotes 127.0.0.2 and [127.0.0.3]:8472), so that
 * vtep.* and fdb.add/del reach its tables and the frames flood to whatever
 * VTEPs requests listed (in that namespace, only loopback answers), and a
 * VPN on network lan's gateway (127.0.0.1, an ephemeral UDP port, one
 * peer, max_peers 4) so that vpn.* reach its peer table (also only in
 * that namespace: a peer added with an endpoint and a keepalive is sent a
 * handshake at once). Each
 * reply must be one JSON object with a boolean "ok". After every request
 * two fixed frames cross the switch, so rules, mirrors, port changes and
 * flood lists made by requests are exercised.
 *
 * Not fuzzed, because they act outside the process: "port.add" (creates
 * sockets or tap devices at paths the request chooses) and "capture.start"
 * (writes a file). Requests naming them are skipped.
 *
 * Input: newline-separated JSON requests. */
#include "ctl/acl_cmds.h"
#include "ctl/ctl.h"
#include "ctl/gw_cmds.h"
#include "ctl/obs_cmds.h"
#include "ctl/switch_cmds.h"
#include "ctl/vpn_cmds.h"
#include "core/wgkey.h"
#include "fuzz_world.h"
#include "gw/gateway.h"
#include "port/vxlan.h"
#include "vpn/vpn.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char yaml[2048];
static char key_file[64];
static bool isolated;

/* The real vxlan port (only in the fuzzer's own network namespace). */
static void add_vxlan(struct fz_world *w)
{
    struct vn_conf_err ce;
    struct vn_conf_src src = { "fuzz", 0 };
    struct vn_port_conf *pc = vn_conf_add_port(w->conf, src, &ce);
    char err[256];
    if (!pc || vn_conf_port_set(pc, "name", "vx", src, &ce) ||
        vn_conf_port_set(pc, "type", "vxlan", src, &ce) ||
        vn_conf_port_set(pc, "local", "127.0.0.1", src, &ce) ||
        vn_conf_port_set(pc, "networks", "lan", src, &ce) ||
        vn_conf_port_set(pc, "networks", "iso", src, &ce) ||
        vn_conf_port_set(pc, "remotes", "127.0.0.2", src, &ce) ||
        vn_conf_port_set(pc, "remotes", "127.0.0.3:8472", src, &ce) ||
        vn_conf_port_set(pc, "max_remote_macs", "16", src, &ce) ||
        vn_conf_validate_port(w->conf, pc, &ce)) {
        fprintf(stderr, "fuzz: %s\n", ce.msg);
        abort();
    }
    pc->vxlan.local.port = 0; /* ephemeral */
    if (!vn_switch_add_port_ops(w->sw, pc, &vn_port_vxlan_ops, NULL, err, sizeof err)) {
        fprintf(stderr, "fuzz: vxlan port: %s\n", err);
        abort();
    }
}

/* The VPN's private key file (mode 0600, removed at exit) and the vpn:
 * block of network lan with one peer; "" when not isolated. Keys are fixed
 * bytes: the peer's is seed 2, the VPN's seed 1. */
static void remove_key(void)
{
    unlink(key_file);
}

static void vpn_block(char *out, size_t n)
{
    uint8_t k[32];
    char priv[VN_KEY_B64_LEN + 1], pub[VN_KEY_B64_LEN + 1];
    memset(k, 1, sizeof k);
    vn_key_to_base64(priv, k);
    memset(k, 2, sizeof k);
    uint8_t p[32];
    if (vn_x25519_pubkey(p, k) < 0)
        abort();
    vn_key_to_base64(pub, p);
    snprintf(key_file, sizeof key_file, "/tmp/fuzz_ctl.%d.key", (int)getpid());
    FILE *f = fopen(key_file, "w");
    if (!f)
        abort();
    fprintf(f, "%s\n", priv);
    fclose(f);
    chmod(key_file, 0600);
    atexit(remove_key);
    snprintf(out, n,
             ",\n     vpn: {listen: \"127.0.0.1:51820\", private_key_file: %s, address: 10.99.0.1/24,"
             "\n           max_peers: 4, peers: [{name: a, public_key: \"%s\", allowed_ips: "
             "[10.99.0.2/32]}]}",
             key_file, pub);
}

/* Attach the VPN of network lan (its socket on an ephemeral port). */
static void attach_vpn(struct fz_world *w)
{
    struct vn_network *n = vn_switch_find_network(w->sw, "lan");
    char err[256];
    if (!n || !n->gw)
        abort();
    n->conf.vpn.listen.port = 0;
    if (vn_vpn_attach(n->gw, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz: vpn: %s\n", err);
        abort();
    }
}

static const char *const SKIP[] = { "port.add", "capture.start" };

static bool skipped(const char *line, size_t len)
{
    json_t *j = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
    const char *cmd = json_string_value(json_object_get(j, "cmd"));
    bool skip = false;
    for (size_t i = 0; cmd && i < sizeof SKIP / sizeof SKIP[0]; i++)
        skip |= !strcmp(cmd, SKIP[i]);
    json_decref(j);
    return skip;
}

/* An ARP request (broadcast) and a UDP datagram toward the gateway's DNS. */
static const uint8_t ARP[42] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x06,
    0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0, 0, 1, 10, 0, 2, 15,
    0, 0, 0, 0, 0, 0, 10, 0, 2, 2 };
static const uint8_t UDP[60] = {
    0x52, 0x54, 0, 0, 0, 2, 0x52, 0x54, 0, 0, 0, 1, 0x08, 0x00,
    0x45, 0, 0, 46, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 15, 10, 0, 2, 16,
    0x30, 0x39, 0, 9, 0, 26, 0, 0, 'h', 'e', 'l', 'l', 'o', ' ', 'f', 'u', 'z', 'z',
    '!', '!', '!', '!', '!', '!' };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!yaml[0]) {
        isolated = fz_isolate();
        char vpn[512] = "";
        if (isolated)
            vpn_block(vpn, sizeof vpn);
        snprintf(yaml, sizeof yaml,
                 "networks:\n"
                 "  - {name: lan, mode: %s, subnet: 10.0.2.0/24, gateway: 10.0.2.2,\n"
                 "     dns: {upstream: [127.0.0.1:1]}, vni: 100%s}\n"
                 "  - {name: iso, mode: isolated, vlan: 20, vni: 200}\n"
                 "ports:\n"
                 "  - {name: vm1, type: stream, network: lan, path: /nonexistent/vm1.sock}\n"
                 "  - {name: vm2, type: stream, network: lan, path: /nonexistent/vm2.sock}\n"
                 "  - {name: t1, type: stream, trunk: [lan, iso], native: lan,\n"
                 "     path: /nonexistent/t1.sock}\n"
                 "  - {name: vm3, type: stream, network: iso, path: /nonexistent/vm3.sock}\n",
                 isolated ? "nat" : "isolated", vpn);
    }
    if (size > 64 * 1024)
        return 0;
    struct fz_world *w = fz_world_new(yaml);
    if (isolated) {
        add_vxlan(w);
        attach_vpn(w);
    }
    struct vn_ctl *ctl = vn_ctl_new_detached();
    vn_switch_cmds_register(ctl, w->sw);
    vn_gw_cmds_register(ctl, w->sw);
    vn_obs_cmds_register(ctl, w->sw);
    vn_acl_cmds_register(ctl, w->sw);
    vn_vpn_cmds_register(ctl, w->sw);
    const char *p = (const char *)data, *end = p + size;
    for (int lines = 0; p < end && lines < 64; lines++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        if (!skipped(p, len)) {
            char *reply = vn_ctl_handle_line(ctl, p, len);
            json_error_t je;
            json_t *r = reply ? json_loads(reply, 0, &je) : NULL;
            if (!r || !json_is_object(r) || !json_is_boolean(json_object_get(r, "ok")) ||
                strchr(reply, '\n')) {
                fprintf(stderr, "bad reply: %s\n", reply ? reply : "(null)");
                abort();
            }
            json_decref(r);
            free(reply);
            struct vn_port *vm1 = vn_switch_find_port(w->sw, "vm1");
            if (vm1) {
                const uint8_t *fr[2] = { ARP, UDP };
                size_t ls[2] = { sizeof ARP, sizeof UDP };
                fz_world_input(w, vm1, fr, ls, 2);
            }
        }
        p += len + 1;
    }
    vn_ctl_close(ctl);
    fz_world_free(w);
    return 0;
}
