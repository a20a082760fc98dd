/* table.h: an ember_table is a result on the host: named columns in Arrow layout, all of the
 * same length. */
#ifndef EMBER_DATA_TABLE_H
#define EMBER_DATA_TABLE_H

#include <stdio.h>

#include "data/partition.h"

struct ember_table {
    int64_t rows;
    int column_count;
    char **names;
    ember_column *columns; /* each loaded, length == rows */
};

/* An empty table of column_count columns (names copied, columns zeroed: the caller fills
 * them, e.g. with data/column_build.h). NULL when out of memory. */
struct ember_table *ember_table_create(int column_count, const char *const *names);

/* Writes table's rows as CSV (with the header line first when header is set); the caller checks
 * ferror(out). */
void ember_table_write_csv_rows(const struct ember_table *table, FILE *out, bool header);

#endif
