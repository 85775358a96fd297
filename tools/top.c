/* vnetctl top: per-port packet and bit rates and drops, refreshed every
 * interval, sorted by load, like iftop for virtual ports. Plain ANSI escape
 * sequences (works over ssh and in tmux); the terminal is put in
 * non-canonical mode so 'q' quits at once, and restored on exit. */
#include "top.h"
#include "table.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

struct sample {
    char name[64];
    char type[16];
    double rxf, rxb, txf, txb, drops;
};

struct rate {
    char name[64];
    char type[16];
    double rx_pps, tx_pps, rx_bps, tx_bps, drops_ps, total;
};

static volatile sig_atomic_t stop_flag;
static void on_sig(int s)
{
    (void)s;
    stop_flag = 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t read_samples(json_t *st, struct sample *s, size_t max)
{
    size_t n = 0, i;
    json_t *p;
    json_array_foreach(json_object_get(st, "ports"), i, p) {
        if (n == max)
            break;
        struct sample *x = &s[n++];
        snprintf(x->name, sizeof x->name, "%s", json_string_value(json_object_get(p, "name")));
        x->rxf = (double)json_integer_value(json_object_get(p, "rx_frames"));
        x->rxb = (double)json_integer_value(json_object_get(p, "rx_bytes"));
        x->txf = (double)json_integer_value(json_object_get(p, "tx_frames"));
        x->txb = (double)json_integer_value(json_object_get(p, "tx_bytes"));
        x->drops = 0;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(p, "rx_drops"), k, v) x->drops += (double)json_integer_value(v);
        json_object_foreach(json_object_get(p, "tx_drops"), k, v) x->drops += (double)json_integer_value(v);
    }
    return n;
}

static int by_load(const void *a, const void *b)
{
    const struct rate *x = a, *y = b;
    if (x->total != y->total)
        return x->total < y->total ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Human units: 1.2k, 3.4M, 5.6G. */
static const char *human(double v, const char *unit, char *buf, size_t n)
{
    const char *p[] = { "", "k", "M", "G", "T" };
    int i = 0;
    while (v >= 1000 && i < 4) {
        v /= 1000;
        i++;
    }
    snprintf(buf, n, i ? "%.1f%s%s" : "%.0f%s%s", v, p[i], unit);
    return buf;
}

int top_run(top_fetch_fn fetch, void *ctx, unsigned interval_ms, unsigned iterations)
{
    enum { MAXP = 1024 };
    struct sample *prev = calloc(MAXP, sizeof *prev), *cur = calloc(MAXP, sizeof *cur);
    struct rate *rates = calloc(MAXP, sizeof *rates);
    if (!prev || !cur || !rates)
        return 1;
    struct termios old;
    int tty = isatty(0) && tcgetattr(0, &old) == 0;
    if (tty) {
        struct termios raw = old;
        raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
        raw.c_cc[VMIN] = 0;
        raw.c_cc[VTIME] = 0;
        tcsetattr(0, TCSANOW, &raw);
    }
    signal(SIGINT, on_sig);
    signal(SIGTERM, on_sig);
    json_t *st = fetch(ctx);
    if (!st)
        goto out;
    size_t np = read_samples(st, prev, MAXP);
    json_decref(st);
    double t0 = now_s();
    for (unsigned it = 0; !stop_flag && (!iterations || it < iterations); it++) {
        struct pollfd pfd = { .fd = 0, .events = POLLIN };
        if (poll(&pfd, tty ? 1 : 0, (int)interval_ms) > 0) {
            char c;
            if (read(0, &c, 1) == 1 && (c == 'q' || c == 'Q'))
                break;
        }
        st = fetch(ctx);
        if (!st)
            break;
        size_t nc = read_samples(st, cur, MAXP);
        json_decref(st);
        double t1 = now_s(), dt = t1 - t0 > 0 ? t1 - t0 : 1;
        size_t nr = 0;
        for (size_t i = 0; i < nc; i++) {
            const struct sample *a = &cur[i], *b = NULL;
            for (size_t j = 0; j < np && !b; j++)
                if (!strcmp(prev[j].name, a->name))
                    b = &prev[j];
            struct rate *r = &rates[nr++];
            snprintf(r->name, sizeof r->name, "%s", a->name);
            r->rx_pps = b ? (a->rxf - b->rxf) / dt : 0;
            r->tx_pps = b ? (a->txf - b->txf) / dt : 0;
            r->rx_bps = b ? (a->rxb - b->rxb) * 8 / dt : 0;
            r->tx_bps = b ? (a->txb - b->txb) * 8 / dt : 0;
            r->drops_ps = b ? (a->drops - b->drops) / dt : 0;
            r->total = r->rx_bps + r->tx_bps;
        }
        qsort(rates, nr, sizeof *rates, by_load);
        struct table *t = table_new("PORT", "RX-PPS", "RX-BPS", "TX-PPS", "TX-BPS", "DROPS/S",
                                    NULL);
        for (size_t i = 0; i < nr; i++) {
            char a[32], b[32], c[32], d[32], e[32];
            table_row(t, rates[i].name, human(rates[i].rx_pps, "", a, sizeof a),
                      human(rates[i].rx_bps, "b", b, sizeof b),
                      human(rates[i].tx_pps, "", c, sizeof c),
                      human(rates[i].tx_bps, "b", d, sizeof d),
                      human(rates[i].drops_ps, "", e, sizeof e), NULL);
        }
        time_t wall = time(NULL);
        struct tm tm;
        localtime_r(&wall, &tm);
        printf("\033[H\033[2J"); /* home, clear */
        printf("vnetctl top - %02d:%02d:%02d - %zu ports - every %.1fs - q quits\n\n", tm.tm_hour,
               tm.tm_min, tm.tm_sec, nr, interval_ms / 1000.0);
        table_print(t, stdout);
        fflush(stdout);
        table_free(t);
        struct sample *sw = prev;
        prev = cur;
        cur = sw;
        np = nc;
        t0 = t1;
    }
out:
    if (tty)
        tcsetattr(0, TCSANOW, &old);
    free(prev);
    free(cur);
    free(rates);
    return 0;
}
