/* The vpn: block of a network (conf/vpn.c): the row parsers and printers
 * the network table (schema.c) uses for the vpn.* keys, the table of a
 * vpn.peers entry, and the checks vn_conf_validate runs once every network
 * and port is valid. Internal to conf/ (the model is in config.h). */
#ifndef VN_CONF_VPN_H
#define VN_CONF_VPN_H

#include "config.h"
#include "schema.h"

extern const struct vn_conf_table vn_conf_vpn_peer_table;
extern const struct vn_conf_entries vn_conf_vpn_peer_entries;

/* Rows of the network table. Every vpn.* parse marks the block present
 * (vpn.enabled) and remembers where it starts. */
int vn_conf_vpn_p_mark(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                       const char *val, struct vn_conf_src src, struct vn_conf_err *err);
int vn_conf_vpn_p_listen(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                         const char *val, struct vn_conf_src src, struct vn_conf_err *err);
int vn_conf_vpn_p_key_file(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                           const char *val, struct vn_conf_src src, struct vn_conf_err *err);
int vn_conf_vpn_p_address(const struct vn_conf_key *k, void *item, void *dst, const char *key,
                          const char *val, struct vn_conf_src src, struct vn_conf_err *err);
void vn_conf_vpn_pr_listen(const struct vn_conf_key *k, const void *item, const void *dst,
                           FILE *o);
void vn_conf_vpn_pr_str(const struct vn_conf_key *k, const void *item, const void *dst, FILE *o);
void vn_conf_vpn_pr_address(const struct vn_conf_key *k, const void *item, const void *dst,
                            FILE *o);
/* Whether the network has a vpn: block (its rows are printed only then). */
bool vn_conf_vpn_show(const void *item);

/* The checks of every network's vpn: block (see config.h for what each
 * refuses); fills the defaults and reads the key files. Returns 0 or -1. */
int vn_conf_validate_vpn(struct vn_config *c, struct vn_conf_err *err);

#endif
