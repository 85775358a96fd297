/* Fuzz target: the DHCPv4 message parser (gw/dhcp4_msg.c) and the reply
 * builder fed with what was parsed (host name cleaning, requested
 * parameters, options that may not fit).
 * Input: one DHCP message (UDP payload). */
#include "gw/dhcp4_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    uint8_t *p = malloc(size ? size : 1); /* exact size: over-reads are caught */
    memcpy(p, data, size);
    struct vn_dhcp4_msg m;
    if (vn_dhcp4_parse(p, size, &m) == 0) {
        size_t hl = strnlen(m.hostname, sizeof m.hostname);
        if (hl >= sizeof m.hostname)
            abort();
        for (size_t i = 0; i < hl; i++) {
            char c = m.hostname[i];
            if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
                abort();
        }
        for (unsigned c = 0; c < 256; c++)
            vn_dhcp4_wants(&m, (uint8_t)c);
        /* A reply the size the client allows, options chosen by its request. */
        size_t cap = m.max_size >= VN_DHCP4_MAX_REPLY ? m.max_size : VN_DHCP4_MAX_REPLY;
        if (cap > 1500)
            cap = 1500;
        uint8_t *out = malloc(cap);
        struct vn_dhcp4_out o;
        vn_dhcp4_out_init(&o, out, cap, &m, VN_DHCP_OFFER, 0x0a00020f, 0x0a000202);
        vn_dhcp4_out_u32(&o, VN_DHO_SUBNET_MASK, 0xffffff00);
        if (vn_dhcp4_wants(&m, VN_DHO_ROUTER))
            vn_dhcp4_out_u32(&o, VN_DHO_ROUTER, 0x0a000202);
        if (m.hostname[0])
            vn_dhcp4_out_opt(&o, VN_DHO_HOSTNAME, m.hostname, strlen(m.hostname));
        vn_dhcp4_out_search(&o, "vnet.internal");
        for (unsigned i = 0; i < m.nparams; i++) /* echo options back, filling the reply */
            if (m.params[i] != VN_DHO_PAD && m.params[i] != VN_DHO_END)
                vn_dhcp4_out_opt(&o, m.params[i], p, size < 255 ? size : 255);
        uint8_t r[9];
        size_t rl = vn_dhcp4_route_encode(r, 0, 0, 0x0a000202);
        vn_dhcp4_out_opt(&o, VN_DHO_CLASSLESS_ROUTES, r, rl);
        size_t len = vn_dhcp4_out_finish(&o);
        if (len > cap || len < VN_DHCP4_BOOTP_MIN)
            abort();
        free(out);
    }
    char name[64];
    if (vn_dhcp4_clean_hostname(p, size, name) >= 64)
        abort();
    free(p);
    return 0;
}
