/* Aligned text tables: see table.h. */
#include "table.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_COLS = 16 };

struct table {
    int ncols;
    char **cells; /* rows * ncols, row 0 = header */
    int nrows, cap;
    char **scratch;
    int nscratch, scap;
};

static void add_row(struct table *t, const char *first, va_list ap)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = realloc(t->cells, (size_t)t->cap * (size_t)t->ncols * sizeof *t->cells);
        if (!t->cells)
            abort();
    }
    char **row = t->cells + (size_t)t->nrows * (size_t)t->ncols;
    const char *s = first;
    for (int i = 0; i < t->ncols; i++) {
        row[i] = strdup(s ? s : "");
        if (s)
            s = va_arg(ap, const char *);
    }
    t->nrows++;
}

struct table *table_new(const char *first, ...)
{
    struct table *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    va_list ap;
    va_start(ap, first);
    for (const char *s = first; s && t->ncols < MAX_COLS; s = va_arg(ap, const char *))
        t->ncols++;
    va_end(ap);
    va_start(ap, first);
    add_row(t, first, ap);
    va_end(ap);
    return t;
}

void table_row(struct table *t, const char *first, ...)
{
    va_list ap;
    va_start(ap, first);
    add_row(t, first, ap);
    va_end(ap);
}

const char *table_int(struct table *t, long long n)
{
    if (t->nscratch == t->scap) {
        t->scap = t->scap ? t->scap * 2 : 64;
        t->scratch = realloc(t->scratch, (size_t)t->scap * sizeof *t->scratch);
        if (!t->scratch)
            abort();
    }
    char *s = malloc(24);
    if (!s)
        abort();
    snprintf(s, 24, "%lld", n);
    return t->scratch[t->nscratch++] = s;
}

static int is_number(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

void table_print(const struct table *t, FILE *o)
{
    size_t w[MAX_COLS] = { 0 };
    int num[MAX_COLS];
    for (int c = 0; c < t->ncols; c++) {
        num[c] = t->nrows > 1;
        for (int r = 0; r < t->nrows; r++) {
            const char *s = t->cells[r * t->ncols + c];
            if (strlen(s) > w[c])
                w[c] = strlen(s);
            if (r && !is_number(s))
                num[c] = 0;
        }
    }
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            int last = c == t->ncols - 1;
            if (num[c])
                fprintf(o, "%*s%s", (int)w[c], s, last ? "" : "  ");
            else if (last)
                fprintf(o, "%s", s);
            else
                fprintf(o, "%-*s  ", (int)w[c], s);
        }
        fputc('\n', o);
    }
}

void table_free(struct table *t)
{
    for (int i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    for (int i = 0; i < t->nscratch; i++)
        free(t->scratch[i]);
    free(t->cells);
    free(t->scratch);
    free(t);
}
