/* partition.h: a partition is a columnar chunk of rows in Arrow layout (values buffer,
 * LSB-first validity bitmap with 1 = valid, int32 offsets + bytes for strings). Host buffers
 * are page-aligned so CPU devices can use them in place (zero-copy). */
#ifndef EMBER_DATA_PARTITION_H
#define EMBER_DATA_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "ember.h"

typedef struct ember_column {
    ember_type type;
    bool loaded;    /* false: the column was pruned (tokenized, not converted) */
    int64_t length; /* rows */
    int64_t null_count;
    uint8_t *validity; /* (length+7)/8 bytes, 1 = valid; NULL when null_count == 0 */
    void *values;      /* int64_t[length], double[length], or int32_t offsets[length + 1] */
    char *bytes;       /* string bytes (strings only) */
    int64_t bytes_len;
    /* capacities of the growable buffers, in elements / bytes */
    int64_t capacity, bytes_capacity;
} ember_column;

typedef struct ember_partition {
    int index;
    int64_t rows;
    int column_count;
    ember_column *columns;
    int64_t rows_malformed; /* PERMISSIVE rows kept with nulls */
    int64_t rows_dropped;   /* DROPMALFORMED rows dropped */
    int64_t source_bytes;   /* CSV bytes this partition came from */
} ember_partition;

static inline bool ember_column_is_valid(const ember_column *column, int64_t row) {
    return !column->validity || (column->validity[row >> 3] >> (row & 7)) & 1;
}

/* Frees every buffer of the partition's columns and the column array (not the partition
 * struct itself); leaves it empty. */
void ember_partition_clear(ember_partition *partition);
/* Frees a column's buffers; leaves it empty and not loaded (its type kept). */
void ember_column_clear(ember_column *column);

/* String value of row (not NUL-terminated). */
static inline const char *ember_column_string(const ember_column *column, int64_t row,
                                              int32_t *len) {
    const int32_t *offsets = (const int32_t *)column->values;
    *len = offsets[row + 1] - offsets[row];
    return column->bytes + offsets[row];
}

#endif
