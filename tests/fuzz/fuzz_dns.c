/* Fuzz target: the DNS wire helpers (gw/dns_msg.c): message and name
 * parsing with compression, text conversion both ways, PTR names, and the
 * reply builders run on what was parsed (answer, OPT, truncation).
 * Input: one DNS message. */
#include "gw/dns_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t SUFFIX[] = "\x04vnet\x08internal";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65535)
        return 0;
    uint8_t *m = malloc(size ? size : 1); /* exact size: over-reads are caught */
    memcpy(m, data, size);
    struct vn_dns_msg msg;
    uint8_t name[VN_DNS_NAME_MAX + 1];
    size_t next;
    /* Names at every offset of the message. */
    for (size_t off = 0; off < size && off < 512; off++) {
        int l = vn_dns_name_read(m, size, off, name, &next);
        if (l >= 0 && (l > VN_DNS_NAME_MAX || next > size || next <= off))
            abort();
    }
    if (vn_dns_msg_parse(m, size, &msg) == 0 && msg.has_q) {
        if (msg.q.name_len > VN_DNS_NAME_MAX || msg.q.name_len == 0 ||
            msg.q.name[msg.q.name_len - 1] != 0)
            abort();
        char text[300];
        int tl = vn_dns_name_to_text(msg.q.name, text, sizeof text);
        if (tl >= 0) {
            uint8_t back[VN_DNS_NAME_MAX + 1];
            int bl = vn_dns_name_from_text(text, back, sizeof back);
            /* text -> wire must give the (lower-cased) same name back */
            if (bl >= 0 && !vn_dns_question_eq(&msg.q, &msg.q))
                abort();
        }
        vn_dns_name_under(msg.q.name, SUFFIX);
        uint32_t ip;
        vn_dns_ptr4_parse(msg.q.name, &ip);
        uint8_t out[512];
        size_t len = vn_dns_reply_init(out, sizeof out, &msg, VN_DNS_F_AA, VN_DNS_R_NOERROR);
        if (len) {
            static const uint8_t a[4] = { 10, 0, 2, 2 };
            size_t l2 = vn_dns_add_answer(out, sizeof out, len, VN_DNS_T_A, 60, a, 4);
            if (l2)
                len = l2;
            l2 = vn_dns_add_opt(out, sizeof out, len, 1232);
            if (l2)
                len = l2;
            struct vn_dns_msg r;
            if (vn_dns_msg_parse(out, len, &r) != 0 || !r.has_q ||
                !vn_dns_question_eq(&r.q, &msg.q))
                abort(); /* our own reply must parse and carry the question */
            uint8_t tr[512];
            vn_dns_truncate(tr, sizeof tr, out, &r);
        }
        uint8_t tr2[512];
        vn_dns_truncate(tr2, sizeof tr2, m, &msg);
    }
    /* The input as text, too. */
    char *t = malloc(size + 1);
    memcpy(t, data, size);
    t[size] = 0;
    uint8_t w[VN_DNS_NAME_MAX + 1];
    int wl = vn_dns_name_from_text(t, w, sizeof w);
    if (wl > (int)sizeof w)
        abort();
    free(t);
    free(m);
    return 0;
}
