/* vnetctl's VPN commands (vpn.c): `vpn peer add` and `vpn client-config`
 * read key files and may make a key pair, so they are run functions;
 * print_vpn.c prints their results and `vpn show`. */
#ifndef VN_TOOLS_VPN_H
#define VN_TOOLS_VPN_H

#include <jansson.h>
#include <stdio.h>

struct command;
struct vnetctl;

/* vpn peer add NETWORK NAME (--public-key KEY | --genkey) --allowed-ips A[,B...]
 * [--preshared-key-file F] [--endpoint ADDR:PORT] [--keepalive N]
 * [--server-endpoint HOST[:PORT]]. */
int run_vpn_peer_add(const struct command *c, const struct vnetctl *o, int ac, char **av);
/* vpn client-config [NETWORK] PEER [--private-key-file F] [--preshared-key-file F]
 * [--endpoint HOST[:PORT]] [--all-traffic]. */
int run_vpn_client_config(const struct command *c, const struct vnetctl *o, int ac, char **av);

/* The wg-quick file of a vpn.client-config result r to f: priv and psk
 * (base64, or NULL: a comment says what to put there), AllowedIPs every
 * address (all_traffic, on a network with vpn.nat) or the network's. */
void print_client_config(FILE *f, json_t *r, const char *priv, const char *psk, int all_traffic);

#endif
