/* Aligned text tables for vnetctl's human output (like `ip` / `ovs-appctl`). */
#ifndef VN_TOOLS_TABLE_H
#define VN_TOOLS_TABLE_H

#include <stdio.h>

struct table;

/* New table with the given column headers (NULL-terminated). */
struct table *table_new(const char *first, ...);
/* Add a row of strings (NULL-terminated); values are copied. */
void table_row(struct table *t, const char *first, ...);
/* Format n into a string owned by the table (valid until table_free). */
const char *table_int(struct table *t, long long n);
/* Print with columns padded to their widest cell; numbers right-aligned. */
void table_print(const struct table *t, FILE *out);
void table_free(struct table *t);

#endif
