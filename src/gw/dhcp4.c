/* TEMPORARY placeholder so the tree links while the DHCP server is written. */
#include "dhcp4.h"
#include <stdlib.h>
struct vn_dhcp4 { int x; };
struct vn_dhcp4 *vn_dhcp4_new(struct vn_gw *gw, const char *state_dir, char *err, size_t errlen)
{ (void)gw; (void)state_dir; (void)err; (void)errlen; return calloc(1, sizeof(struct vn_dhcp4)); }
void vn_dhcp4_free(struct vn_dhcp4 *d) { free(d); }
void vn_dhcp4_input(struct vn_dhcp4 *d, const uint8_t m[6], const struct vn_ip4 *ip, const struct vn_udp *u) { (void)d; (void)m; (void)ip; (void)u; }
int vn_dhcp4_lookup_name(struct vn_dhcp4 *d, const char *name, uint32_t *ip) { (void)d; (void)name; (void)ip; return -1; }
int vn_dhcp4_lookup_addr(struct vn_dhcp4 *d, uint32_t ip, char *name, size_t n) { (void)d; (void)ip; (void)name; (void)n; return -1; }
int vn_dhcp4_lookup_mac(struct vn_dhcp4 *d, uint32_t ip, uint8_t mac[6]) { (void)d; (void)ip; (void)mac; return -1; }
json_t *vn_dhcp4_leases_json(struct vn_dhcp4 *d) { (void)d; return json_array(); }
json_t *vn_dhcp4_stats_json(struct vn_dhcp4 *d) { (void)d; return json_object(); }
