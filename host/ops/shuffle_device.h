/* shuffle_device.h: the device side of repartition: which output partition each row of one
 * input partition goes to (round robin or by a hash of its keys), and the rows grouped by it. */
#ifndef EMBER_OPS_SHUFFLE_DEVICE_H
#define EMBER_OPS_SHUFFLE_DEVICE_H

#include <stdint.h>

#include "data/partition.h"
#include "device/device.h"
#include "device/program.h"

#define EMBER_SHUFFLE_MAX_KEYS 4

/* Where the rows of one input partition go, and a stable permutation that lists them grouped
 * by destination: order[starts[d] .. starts[d] + counts[d]) are the rows bound for d, in
 * input order. */
typedef struct ember_shuffle_plan {
    int destinations; /* n >= 1 */
    int64_t *counts;  /* [n]: rows going to each destination */
    int64_t *starts;  /* [n]: exclusive prefix sum of counts */
    int32_t *order;   /* [rows] (never NULL after success, even for 0 rows) */
} ember_shuffle_plan;

/* Knobs for tests and benchmarks; zero-initialized means automatic. */
typedef struct ember_shuffle_tuning {
    int64_t block_rows; /* > 0: rows per histogram/scatter work-item (else chosen per device) */
} ember_shuffle_tuning;

/* Plans the move of rows rows (0 <= rows <= INT32_MAX) to n >= 1 destinations.
 *
 * key_count == 0: round robin; row i goes to (row_offset + i) % n, row_offset (>= 0) being the
 * global index of the partition's first row, so that over all partitions the destinations get
 * the same number of rows to within one. keys may then be NULL.
 *
 * key_count 1..4: hash partitioning by keys[0..key_count) (int64, float64, string or bool
 * columns, each loaded and rows long; row_offset is ignored). The destination is the high word
 * of hash * n for a 64-bit hash of the keys, and is a pure function of the key values and n:
 * the same on every partition, device and driver. Equal keys always go together: int64 and
 * bool by value, float64 with -0.0 == 0.0 and every NaN equal to every other NaN, strings by
 * bytes, and a null as a value of its own (all nulls of a key together).
 *
 * Allocates out's arrays (ember_malloc; free with ember_shuffle_plan_clear); on failure out is
 * left empty. rows == 0 and n == 1 need no kernel. queue must be an in-order queue of worker.
 * Safe to call from several threads at once, each on its own queue (kernels are made per call
 * from the thread-safe program cache). Errors: EMBER_ERROR_INVALID_ARGUMENT (n <= 0, a bad key
 * column, rows past INT32_MAX), EMBER_ERROR_DEVICE / _DEVICE_MEMORY / _BUILD (with the build
 * log) / _OUT_OF_MEMORY. */
ember_status ember_shuffle_device(ember_program_cache *programs, const ember_worker *worker,
                                  cl_command_queue queue, const ember_column *const *keys,
                                  int key_count, int64_t rows, int64_t row_offset, int n,
                                  ember_shuffle_plan *out, ember_error *err);

/* ember_shuffle_device with knobs (tuning may be NULL). */
ember_status ember_shuffle_device_tuned(ember_program_cache *programs, const ember_worker *worker,
                                        cl_command_queue queue, const ember_column *const *keys,
                                        int key_count, int64_t rows, int64_t row_offset, int n,
                                        const ember_shuffle_tuning *tuning, ember_shuffle_plan *out,
                                        ember_error *err);

/* Frees the plan's arrays and leaves it empty (NULL is fine). */
void ember_shuffle_plan_clear(ember_shuffle_plan *plan);

#endif
