/* vnetd vpn genkey|pubkey (see keytool.h). Keys pass through buffers that
 * are wiped before returning; a private key written to a file others may
 * read gets a warning, since vnetd would refuse that file as a key file. */
#include "vpn/keytool.h"
#include "vpn/crypto.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STDIN_MAX 1024 /* a key with white space around it, generously */

static void usage(FILE *o)
{
    fprintf(o, "usage: vnetd vpn genkey        print a new private key (base64, as wg genkey)\n"
               "       vnetd vpn pubkey        read a private key on stdin, print its public key\n"
               "                               (as wg pubkey)\n"
               "e.g.   umask 077; vnetd vpn genkey > lab.key; vnetd vpn pubkey < lab.key\n");
}

/* Warn when stdout is a file group or others can read. */
static void warn_if_readable(void)
{
    struct stat st;
    if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077))
        fprintf(stderr, "vnetd vpn genkey: warning: writing a private key to a file group or "
                        "others can read (mode %04o): chmod 600 it, vnetd refuses such key "
                        "files\n", (unsigned)(st.st_mode & 07777));
}

static int genkey(void)
{
    uint8_t k[VN_KEY_LEN];
    char b64[VN_KEY_B64_LEN + 1];
    warn_if_readable();
    vn_x25519_genkey(k);
    vn_key_to_base64(b64, k);
    vn_wipe(k, sizeof k);
    int ok = printf("%s\n", b64) > 0 && fflush(stdout) == 0;
    vn_wipe(b64, sizeof b64);
    if (!ok) {
        fprintf(stderr, "vnetd vpn genkey: cannot write the key\n");
        return 1;
    }
    return 0;
}

static int pubkey(void)
{
    char buf[STDIN_MAX + 1];
    uint8_t priv[VN_KEY_LEN], pub[VN_KEY_LEN];
    char b64[VN_KEY_B64_LEN + 1];
    size_t len = fread(buf, 1, sizeof buf, stdin);
    const char *why = ferror(stdin)       ? "cannot read standard input"
                      : len > STDIN_MAX   ? "more than one key on standard input"
                                          : vn_key_from_text(priv, buf, len);
    vn_wipe(buf, sizeof buf);
    if (why) {
        fprintf(stderr, "vnetd vpn pubkey: not a WireGuard private key: %s\n", why);
        return 1;
    }
    int rc = vn_x25519_pubkey(pub, priv);
    vn_wipe(priv, sizeof priv);
    if (rc) {
        fprintf(stderr, "vnetd vpn pubkey: cannot derive the public key\n");
        return 1;
    }
    vn_key_to_base64(b64, pub);
    if (printf("%s\n", b64) < 0 || fflush(stdout)) {
        fprintf(stderr, "vnetd vpn pubkey: cannot write the key\n");
        return 1;
    }
    return 0;
}

int vn_vpn_keytool_main(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return 0;
    }
    if (argc != 2 || (strcmp(argv[1], "genkey") && strcmp(argv[1], "pubkey"))) {
        usage(stderr);
        return 2;
    }
    if (vn_crypto_init())
        return 1;
    return !strcmp(argv[1], "genkey") ? genkey() : pubkey();
}
