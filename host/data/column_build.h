/* column_build.h: appending values to a partition's columns while parsing, with page-aligned
 * buffers that grow geometrically and a way to take back the last row (DROPMALFORMED). */
#ifndef EMBER_DATA_COLUMN_BUILD_H
#define EMBER_DATA_COLUMN_BUILD_H

#include <stdbool.h>
#include <stddef.h>

#include "data/partition.h"

/* Prepares an empty loaded column of type with room for about rows rows. Returns false when
 * out of memory. */
bool ember_column_init(ember_column *column, ember_type type, int64_t rows);
/* Append one value at row column->length. Return false when out of memory (or a string
 * column past 2 GiB of bytes in one partition: *too_big is then set). */
bool ember_column_append_int64(ember_column *column, int64_t value);
bool ember_column_append_float64(ember_column *column, double value);
bool ember_column_append_string(ember_column *column, const char *text, size_t len, bool *too_big);
bool ember_column_append_null(ember_column *column);
/* Appends row `row` of src (same type), null or not. */
bool ember_column_append_from(ember_column *column, const ember_column *src, int64_t row,
                              bool *too_big);
/* Appends src's rows rows[0..n) (a gather), nulls included. Returns false when out of memory
 * (or past 2 GiB of string bytes: *too_big). */
bool ember_column_gather(ember_column *column, const ember_column *src, const int64_t *rows,
                         int64_t n, bool *too_big);
/* Removes rows past length (the values of a dropped row). */
void ember_column_truncate(ember_column *column, int64_t length);

#endif
