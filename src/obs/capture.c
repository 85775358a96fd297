/* Packet capture: see capture.h. */
#include "capture.h"
#include "core/log.h"
#include "core/util.h"
#include "switch/mirror.h"

#include "pkt/eth.h"
#include "pkt/gso.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

struct vn_capture {
    struct vn_loop *loop;
    pcap_t *dead;
    pcap_dumper_t *dump;
    char path[256];
    uint32_t snaplen;
    uint64_t count, frames, bytes;
    bool running;
    uint8_t *scratch;   /* room for one frame up to the snap length (checksums completed) */
    uint64_t completed;
    char reason[160];
    struct vn_timer flush, deadline;
};

static void flush_tick(struct vn_timer *t)
{
    struct vn_capture *c = VN_CONTAINER_OF(t, struct vn_capture, flush);
    if (!c->running)
        return;
    if (pcap_dump_flush(c->dump) != 0) {
        char why[200];
        snprintf(why, sizeof why, "write failed: %s", strerror(errno));
        vn_capture_stop(c, why);
        return;
    }
    /* A file whose last name is gone (its directory removed, say) would
     * take the frames nobody can ever read: stop with an error instead. */
    struct stat st;
    FILE *fp = pcap_dump_file(c->dump);
    if (fp && fstat(fileno(fp), &st) == 0 && st.st_nlink == 0) {
        vn_capture_stop(c, "write failed: the file was removed");
        return;
    }
    vn_timer_arm(c->loop, &c->flush, 1000);
}

static void deadline_tick(struct vn_timer *t)
{
    vn_capture_stop(VN_CONTAINER_OF(t, struct vn_capture, deadline), "duration reached");
}

int vn_capture_create(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        snprintf(err, errlen, "cannot create '%s': %s%s", path, strerror(errno),
                 errno == EEXIST ? " (the daemon writes new files only; vnetctl writes "
                                   "existing ones with your own rights)"
                                 : "");
    return fd;
}

struct vn_capture *vn_capture_open_fd(struct vn_loop *loop, int fd, const char *label,
                                      uint32_t snaplen, uint64_t count, uint32_t duration_s,
                                      char *err, size_t errlen)
{
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fl < 0 ||
        ((fl & O_ACCMODE) != O_WRONLY && (fl & O_ACCMODE) != O_RDWR)) {
        snprintf(err, errlen, "the capture descriptor must be a regular file open for writing");
        close(fd);
        return NULL;
    }
    struct vn_capture *c = calloc(1, sizeof *c);
    FILE *fp = c ? fdopen(fd, "w") : NULL;
    if (!fp) {
        snprintf(err, errlen, "out of memory");
        free(c);
        close(fd);
        return NULL;
    }
    c->loop = loop;
    c->snaplen = snaplen ? snaplen : 262144;
    c->count = count;
    c->scratch = malloc(VN_MIN(c->snaplen, (uint32_t)VN_FRAME_MAX));
    vn_strlcpy(c->path, label, sizeof c->path);
    c->dead = pcap_open_dead(DLT_EN10MB, (int)c->snaplen);
    if (!c->dead || !(c->dump = pcap_dump_fopen(c->dead, fp))) {
        snprintf(err, errlen, "cannot write '%s': %s", label,
                 c->dead ? pcap_geterr(c->dead) : "pcap_open_dead failed");
        if (c->dead)
            pcap_close(c->dead);
        fclose(fp);
        free(c->scratch);
        free(c);
        return NULL;
    }
    c->running = true;
    vn_timer_init(&c->flush, flush_tick);
    vn_timer_init(&c->deadline, deadline_tick);
    vn_timer_arm(loop, &c->flush, 1000);
    if (duration_s)
        vn_timer_arm(loop, &c->deadline, (uint64_t)duration_s * 1000);
    return c;
}

/* The first caplen bytes of f as the wire would carry them: a frame with
 * a partial checksum (checksum offload) gets it completed in a copy, so the
 * file shows good traffic as good. The frame itself is not touched. */
static const uint8_t *wire_bytes(struct vn_capture *c, const struct vn_frame *f, uint32_t caplen)
{
    uint16_t sum;
    uint32_t pos;
    if (vn_csum_partial(f, &sum, &pos) < 0 || pos + 2 > caplen || !c->scratch)
        return f->data; /* complete already, malformed (dropped later), or the field cut off */
    memcpy(c->scratch, f->data, caplen);
    vn_put_be16(c->scratch + pos, sum);
    c->completed++;
    return c->scratch;
}

void vn_capture_frame(struct vn_capture *c, const struct vn_frame *f)
{
    if (!c->running)
        return;
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct pcap_pkthdr h = { .ts = tv, .caplen = VN_MIN(f->len, c->snaplen), .len = f->len };
    pcap_dump((u_char *)c->dump, &h, wire_bytes(c, f, h.caplen));
    c->frames++;
    c->bytes += f->len;
    if (ferror(pcap_dump_file(c->dump))) {
        char why[200];
        snprintf(why, sizeof why, "write failed: %s", strerror(errno));
        vn_capture_stop(c, why);
        return;
    }
    if (c->count && c->frames >= c->count)
        vn_capture_stop(c, "frame count reached");
}

bool vn_capture_running(const struct vn_capture *c) { return c->running; }

void vn_capture_stop(struct vn_capture *c, const char *why)
{
    if (!c->running)
        return;
    c->running = false;
    vn_strlcpy(c->reason, why, sizeof c->reason);
    vn_timer_cancel(c->loop, &c->flush);
    vn_timer_cancel(c->loop, &c->deadline);
    bool failed = !strncmp(why, "write failed", 12);
    if (pcap_dump_flush(c->dump) != 0 && !failed) {
        snprintf(c->reason, sizeof c->reason, "write failed: %s", strerror(errno));
        failed = true;
    }
    FILE *fp = pcap_dump_file(c->dump);
    if (fp && (ferror(fp) || fflush(fp) != 0) && !failed) {
        snprintf(c->reason, sizeof c->reason, "write failed: %s", strerror(errno));
        failed = true;
    }
    pcap_dump_close(c->dump);
    c->dump = NULL;
    pcap_close(c->dead);
    c->dead = NULL;
    if (failed)
        vn_warn("msg=\"capture stopped\" file=%s reason=\"%s\" frames=%llu", c->path, c->reason,
                (unsigned long long)c->frames);
    else
        vn_info("msg=\"capture finished\" file=%s reason=\"%s\" frames=%llu", c->path,
                c->reason, (unsigned long long)c->frames);
}

void vn_capture_free(struct vn_capture *c)
{
    if (!c)
        return;
    vn_capture_stop(c, "stopped");
    free(c->scratch);
    free(c);
}

json_t *vn_capture_json(const struct vn_capture *c)
{
    const char *state = c->running                           ? "running"
                        : !strncmp(c->reason, "write failed", 12) ? "failed"
                                                              : "done";
    return json_pack("{s:s,s:I,s:I,s:s,s:s,s:i,s:I}", "file", c->path, "frames",
                     (json_int_t)c->frames, "bytes", (json_int_t)c->bytes, "state", state,
                     "reason", c->reason, "snaplen", (int)c->snaplen, "checksums_completed",
                     (json_int_t)c->completed);
}

const struct vn_mirror_sink_ops vn_capture_sink_ops = {
    .frame = vn_capture_frame,
    .json = vn_capture_json,
    .release = vn_capture_free,
};
