/* groupby_device.h: hash aggregation of one batch of rows on an OpenCL device: rows are grouped
 * by 1-4 key columns (int64, float64, string; a null key is a group of its own) and each group
 * gets its aggregate states. The same call serves both phases of a group-by: partial
 * aggregation of a partition's rows, and the merge of partial states from all partitions. */
#ifndef EMBER_OPS_GROUPBY_DEVICE_H
#define EMBER_OPS_GROUPBY_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "data/partition.h"
#include "device/device.h"
#include "device/program.h"

#define EMBER_GROUPBY_MAX_KEYS 4

/* What each aggregate keeps per group: count (of rows, or of non-null values) always; SUM,
 * MIN and MAX also a value of the input's type. MEAN is SUM + count, done by the caller. */
typedef enum ember_agg_op {
    EMBER_AGG_OP_COUNT = 0, /* only the count */
    EMBER_AGG_OP_SUM = 1,
    EMBER_AGG_OP_MIN = 2,
    EMBER_AGG_OP_MAX = 3,
} ember_agg_op;

/* A column as the device sees it: the host column, and device buffers for it when they exist
 * already (a cached partition); NULL buffers are made from the host column (zero-copy on CPU
 * devices) for the call and released after it. */
typedef struct ember_device_column {
    const ember_column *host;
    cl_mem values, validity, bytes;
} ember_device_column;

typedef struct ember_agg_input {
    ember_agg_op op;
    ember_type type; /* EMBER_TYPE_INT64 or EMBER_TYPE_FLOAT64 (ignored for COUNT) */
    /* The input values: NULL for COUNT of rows (every row counts 1). A null value is skipped
     * (not counted, not summed). */
    const ember_device_column *values;
    /* Merge phase: the incoming per-row counts (int64, no nulls); a row whose count is 0
     * contributes nothing, else its value is combined and its count added. NULL in the
     * partial phase (each non-null value counts 1). */
    const ember_device_column *counts;
} ember_agg_input;

typedef struct ember_group_result {
    int64_t groups;
    /* For each group, one input row holding its key (the caller gathers key values from it). */
    int64_t *representative;
    /* Per aggregate, per group: the count, and (SUM/MIN/MAX) the value as int64_t or double
     * by the input type; values[a] is NULL for COUNT. A group whose count is 0 has an
     * unspecified value. */
    int64_t **counts;
    void **values;
    /* An int64 SUM left the int64 range in some group: the first such (aggregate, group). */
    bool overflow;
    int overflow_aggregate;
    int64_t overflow_group;
} ember_group_result;

/* Groups known before the call (a cached string column's dictionary): every row's group id
 * in 0 .. groups - 1 and a row of each group. The call then skips hashing and goes straight
 * to the aggregates. */
typedef struct ember_dense_groups {
    int64_t groups;
    const uint32_t *row_group;     /* [rows]; from ember_malloc_aligned */
    cl_mem row_group_buffer;       /* its device buffer, or NULL: made from row_group */
    const int64_t *representative; /* [groups] */
} ember_dense_groups;

/* Knobs for tests and benchmarks, and known groups; zero-initialized means automatic. */
typedef struct ember_groupby_tuning {
    int force_path;        /* 0 auto, 1 global table only, 2 work-group-local first, 3 the
                              no-64-bit-atomics fallback */
    int hash_bits;         /* > 0: keep only this many low bits of each hash (collision test) */
    int64_t initial_slots; /* > 0: first table capacity (power of two), to exercise growth */
    int64_t groups_hint;   /* expected groups (e.g. from the previous partition); 0 unknown */
    int radix_bits;        /* exact tables: 0 automatic, > 0 radix-partition the rows by this
                              many hash bits first (at most 12), < 0 never */
    const ember_dense_groups *dense; /* the groups are known (the keys are then not read) */
} ember_groupby_tuning;

/* Groups rows rows. keys[k]->host->length == rows for every key and input column. Allocates
 * out's arrays (ember_malloc; free with ember_group_result_clear). Never loses a group: a full
 * table is detected on the device and the call grows it and runs again. Errors:
 * EMBER_ERROR_DEVICE / _DEVICE_MEMORY / _BUILD (with the build log) / _OUT_OF_MEMORY. */
ember_status ember_groupby_device(ember_program_cache *programs, const ember_worker *worker,
                                  cl_command_queue queue, const ember_device_column *const *keys,
                                  int key_count, const ember_agg_input *aggs, int agg_count,
                                  int64_t rows, const ember_groupby_tuning *tuning,
                                  ember_group_result *out, ember_error *err);

/* The radix bits an exact table of slots slots gets on a device (cpu_device: a CPU, whose
 * work-groups run one after another on a core; cache_bytes: its CL_DEVICE_GLOBAL_MEM_CACHE_SIZE)
 * when the tuning leaves it automatic: 0 (no partitioning) unless the table is too big to stay
 * in the cache. */
int ember_groupby_radix_bits(bool cpu_device, cl_ulong cache_bytes, int64_t slots);

void ember_group_result_clear(ember_group_result *result, int agg_count);

#endif
