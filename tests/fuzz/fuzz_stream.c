/* Fuzz target: QEMU stream framing (port/stream_framing.c), driven the way
 * the stream port drives it: input arrives in reads whose sizes come from
 * the input itself; unconsumed bytes are kept for the next read; a framing
 * error ends the stream. Checks that frames lie inside the buffer, have
 * legal lengths, and that consumed bytes match the frames extracted.
 * Input: byte 0 = batch limit, byte 1 = read size seed, rest = the stream. */
#include "port/stream_framing.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 300000)
        return 0;
    unsigned max = (data[0] % 64) + 1;
    size_t chunk = (size_t)data[1] * 97 + 1;
    data += 2;
    size -= 2;
    size_t cap = size + 1;
    uint8_t *acc = malloc(cap);
    struct vn_frame *fr = malloc(64 * sizeof *fr);
    size_t have = 0, fed = 0;
    for (;;) {
        size_t take = size - fed < chunk ? size - fed : chunk;
        memcpy(acc + have, data + fed, take);
        have += take;
        fed += take;
        /* exact-size view of what we have, so over-reads are caught */
        uint8_t *view = malloc(have ? have : 1);
        memcpy(view, acc, have);
        size_t used = 0;
        const char *why = NULL;
        int n = vn_stream_extract(view, have, fr, max, &used, &why);
        if (n < 0) {
            if (!why)
                abort();
            free(view);
            break;
        }
        if ((unsigned)n > max || used > have || why)
            abort();
        size_t sum = 0;
        for (int i = 0; i < n; i++) {
            if (fr[i].len < VN_STREAM_MIN_FRAME || fr[i].len > VN_STREAM_MAX_FRAME ||
                fr[i].data < view + 4 || fr[i].data + fr[i].len > view + have)
                abort();
            sum += 4 + fr[i].len;
        }
        if (sum != used)
            abort();
        free(view);
        memmove(acc, acc + used, have - used);
        have -= used;
        if (!take && !n)
            break;
    }
    free(acc);
    free(fr);
    return 0;
}
