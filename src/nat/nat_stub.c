/* TEMPORARY placeholder while the NAT engine is written. */
#include "nat.h"
#include <stdlib.h>
struct vn_nat { int x; };
struct vn_nat *vn_nat_new(struct vn_gw *gw, char *err, size_t errlen) { (void)gw; (void)err; (void)errlen; return calloc(1, sizeof(struct vn_nat)); }
void vn_nat_free(struct vn_nat *n) { free(n); }
void vn_nat_input4(struct vn_nat *n, const uint8_t m[6], const struct vn_ip4 *ip, const struct vn_frame *f) { (void)n; (void)m; (void)ip; (void)f; }
int vn_nat_forward_add(struct vn_nat *n, const struct vn_forward_conf *fc, char *err, size_t errlen) { (void)n; (void)fc; snprintf(err, errlen, "not yet"); return -1; }
int vn_nat_forward_del(struct vn_nat *n, int proto, const struct vn_sockaddr *h, char *err, size_t errlen) { (void)n; (void)proto; (void)h; snprintf(err, errlen, "not yet"); return -1; }
json_t *vn_nat_forwards_json(struct vn_nat *n) { (void)n; return json_array(); }
json_t *vn_nat_flows_json(struct vn_nat *n) { (void)n; return json_array(); }
json_t *vn_nat_stats_json(struct vn_nat *n) { (void)n; return json_object(); }
