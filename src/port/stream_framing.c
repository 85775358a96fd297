/* QEMU stream framing: see stream_framing.h. */
#include "stream_framing.h"
#include "pkt/eth.h"

int vn_stream_extract(uint8_t *buf, size_t len, struct vn_frame *out, unsigned max,
                      size_t *consumed, const char **why)
{
    size_t off = 0;
    unsigned n = 0;
    *why = NULL;
    while (n < max && len - off >= 4) {
        uint32_t flen = vn_get_be32(buf + off);
        if (flen == 0) {
            *why = "zero frame length";
            return -1;
        }
        if (flen < VN_STREAM_MIN_FRAME) {
            *why = "frame length below 14 bytes";
            return -1;
        }
        if (flen > VN_STREAM_MAX_FRAME) {
            *why = "frame length above 65549 bytes";
            return -1;
        }
        if (len - off - 4 < flen)
            break;
        out[n].data = buf + off + 4;
        out[n].len = flen;
        out[n].net = 0;
        out[n].flags = 0;
        out[n].off = (struct vn_offload){ 0 };
        n++;
        off += 4 + flen;
    }
    *consumed = off;
    return (int)n;
}
