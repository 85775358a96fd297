/* Packet capture to pcap files with libpcap's writer.
 *
 * A capture is the destination of a mirror session (switch/mirror.h). Frames
 * are written with pcap_dump() as the switch sees them, cut to the snap
 * length, except that a partial checksum left by checksum offload is
 * completed in the copy written (the file holds what the wire would carry;
 * GSO frames stay whole, as in a capture on a tap); the file is flushed every second and when the capture ends. The
 * capture ends after its frame count or duration, when stopped, or on the
 * first write error (disk full, directory removed): the error is kept for
 * vnetctl and the daemon carries on. */
#ifndef VN_OBS_CAPTURE_H
#define VN_OBS_CAPTURE_H

#include "core/loop.h"
#include "pkt/frame.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct vn_capture;
struct vn_switch;

/* Start a capture into fd, an open regular file the capture now owns (closed
 * on failure too), and arm the limits (count 0 / duration 0 = none). label
 * names the file in listings. Returns NULL with err. */
struct vn_capture *vn_capture_open_fd(struct vn_loop *loop, int fd, const char *label,
                                      uint32_t snaplen, uint64_t count, uint32_t duration_s,
                                      char *err, size_t errlen);
/* Create path for a capture: a new file only (O_CREAT|O_EXCL, mode 0600),
 * never through a symbolic link. Returns the fd or -1 with err. */
int vn_capture_create(const char *path, char *err, size_t errlen);
/* Write one frame; stops the capture (not the caller) on error or limit. */
void vn_capture_frame(struct vn_capture *c, const struct vn_frame *f);
/* Whether it is still recording. */
bool vn_capture_running(const struct vn_capture *c);
/* End the capture (flush, close the file); idempotent. */
void vn_capture_stop(struct vn_capture *c, const char *why);
void vn_capture_free(struct vn_capture *c);
/* {file, frames, bytes, state: running|done|failed, reason} */
json_t *vn_capture_json(const struct vn_capture *c);
/* A capture as a mirror session's destination (switch/mirror.h). */
extern const struct vn_mirror_sink_ops vn_capture_sink_ops;

#endif
