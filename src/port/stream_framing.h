/* QEMU stream framing: each frame is a 4-byte big-endian length followed by
 * that many bytes of Ethernet frame. Pure functions, shared by the stream
 * port, its unit tests and its fuzz target. */
#ifndef VN_PORT_STREAM_FRAMING_H
#define VN_PORT_STREAM_FRAMING_H

#include "pkt/frame.h"

#include <stddef.h>
#include <stdint.h>

#define VN_STREAM_MIN_FRAME 14
#define VN_STREAM_MAX_FRAME (65535 + 14)

/* Extract up to max complete frames from buf[0..len). Frames point into buf.
 * Returns the number extracted and sets *consumed to the bytes they used (a
 * trailing partial frame is left for the next read). Returns -1 if a length
 * field is out of range (below 14, above 65535+14): the stream cannot be
 * resynchronised and must be closed; *why says which. */
int vn_stream_extract(uint8_t *buf, size_t len, struct vn_frame *out, unsigned max,
                      size_t *consumed, const char **why);

#endif
