/* `vnetd vpn genkey|pubkey` (keytool.c): WireGuard keys from the command
 * line, the same base64 keys `wg genkey` and `wg pubkey` make and read. */
#ifndef VN_VPN_KEYTOOL_H
#define VN_VPN_KEYTOOL_H

/* argv[0] is "vpn", argv[1] the subcommand. genkey prints a new private
 * key; pubkey reads a private key on stdin and prints its public key.
 * Returns the exit status: 0, 1 when a key cannot be made or read, 2 for
 * a bad command line. */
int vn_vpn_keytool_main(int argc, char **argv);

#endif
