/* csv_source.h: a CSV file opened for reading: mapped into memory, header read, schema settled
 * (explicit or inferred from rows sampled across the file), and cut into record-aligned
 * splits, one per partition. */
#ifndef EMBER_IO_CSV_SOURCE_H
#define EMBER_IO_CSV_SOURCE_H

#include "io/csv_load.h"
#include "io/csv_options.h"

typedef struct ember_csv_source {
    char *path;
    const char *data; /* the mapping (NULL for an empty file) */
    size_t size;
    char *null_value;
    ember_csv_config config;
    ember_schema schema; /* widened in place when an action meets a value that does not fit */
    ember_split *splits;
    int split_count;
} ember_csv_source;

/* Opens path. default_partitions is the session's core count (the minimum default); parallel
 * (may be NULL) runs the split's chunks, one per thread. Errors
 * name the file: missing, a directory, unreadable, a bad schema. */
ember_status ember_csv_source_open(const char *path, const ember_csv_options *options,
                                   int default_partitions, const ember_csv_parallel *parallel,
                                   ember_csv_source **out, ember_error *err);
void ember_csv_source_free(ember_csv_source *source);

/* Bytes per partition the default partition count aims at. */
#define EMBER_CSV_PARTITION_BYTES (64u << 20)

#endif
