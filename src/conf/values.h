/* Value parsers of the config (values.c), shared by the schema (schema.c),
 * the port types (port_types.c) and validation: each parses one text value
 * into its model field, and on failure fills err with "WHERE: KEY: 'VALUE'
 * is not ..." (KEY being the documented dotted key). Internal to conf/; the
 * public ones (vn_sockaddr_parse, vn_parse_rate) are declared in config.h. */
#ifndef VN_CONF_VALUES_H
#define VN_CONF_VALUES_H

#include "config.h"

/* Names: 1..31 characters of [A-Za-z0-9_.-], starting with a letter or
 * digit; `what` ("network", "port", "mirror") names the kind in errors. */
int vn_val_name(char *dst, const char *val, struct vn_conf_src src, const char *what,
                struct vn_conf_err *err);
int vn_val_u32(uint32_t *dst, const char *key, const char *val, uint64_t min, uint64_t max,
               struct vn_conf_src src, struct vn_conf_err *err);
/* A non-empty string that fits n bytes with its NUL. */
int vn_val_str(char *dst, size_t n, const char *key, const char *val, struct vn_conf_src src,
               struct vn_conf_err *err);
int vn_val_bool(bool *dst, const char *key, const char *val, struct vn_conf_src src,
                struct vn_conf_err *err);
/* An IPv4 or IPv6 address into *dst. Returns 0 or -1 with err. */
int vn_val_addr(struct vn_addr *dst, const char *key, const char *val, struct vn_conf_src src,
                struct vn_conf_err *err);
int vn_val_ip4(uint32_t *dst, const char *key, const char *val, struct vn_conf_src src,
               struct vn_conf_err *err);
/* Whether s has no '/', ':' or blank (an interface name as the kernel takes it). */
bool vn_val_ifname_ok(const char *s);
/* A DNS name: labels of [A-Za-z0-9-], 1..63 each, 253 in all. */
bool vn_val_dns_name_ok(const char *s);
/* "A.B.C.D/LEN" with LEN 8..30 and no host bits set. */
int vn_val_prefix(uint32_t *addr, uint8_t *len, const char *key, const char *val,
                  struct vn_conf_src src, struct vn_conf_err *err);
/* "FIRST-LAST", two IPv4 addresses in order. */
int vn_val_ip4_range(uint32_t *first, uint32_t *last, const char *key, const char *val,
                     struct vn_conf_src src, struct vn_conf_err *err);
/* "FIRST-LAST", two IPv6 addresses in order (dhcp6.range). */
int vn_val_ip6_range(struct vn_addr *first, struct vn_addr *last, const char *key,
                     const char *val, struct vn_conf_src src, struct vn_conf_err *err);
/* A DUID as hex bytes separated by ':' ("00:03:00:01:52:54:00:12:34:56"),
 * VN_DUID_MIN..VN_DUID_MAX bytes, into dst (VN_DUID_MAX bytes) and *len. */
int vn_val_duid(uint8_t *dst, uint8_t *len, const char *key, const char *val,
                struct vn_conf_src src, struct vn_conf_err *err);
/* "PORT" or "LOW-HIGH" (1-65535) into r[0], r[1]. */
int vn_val_port_range(uint16_t r[2], const char *key, const char *val, struct vn_conf_src src,
                      struct vn_conf_err *err);
/* The directory for sockets when the config does not say: /run/vnet for
 * root, $XDG_RUNTIME_DIR/vnet or /tmp/vnet-UID otherwise. */
void vn_conf_runtime_dir(char *buf, size_t n);

#endif
