/* pipeline_device.h: running a pipeline's fused kernel on one source partition: "project"
 * computes the wanted columns of the rows the filters keep (a new partition in the top frame's
 * columns), "reduce" folds the kept rows into a count and aggregates without storing any row.
 * Both use one generated kernel per pipeline (kernels/pipeline.cl), compiled once per device
 * through the program cache; devices without fp64 run float pipelines on the host evaluator. */
#ifndef EMBER_OPS_PIPELINE_DEVICE_H
#define EMBER_OPS_PIPELINE_DEVICE_H

#include "exec/scan.h"
#include "ops/groupby_device.h"

/* One aggregate of a reduce: COUNT (non-null values), SUM, MIN or MAX of an expression over
 * the source. */
typedef struct ember_reduce_agg {
    ember_agg_op op;
    const ember_expr *input;
} ember_reduce_agg;

typedef struct ember_reduce_value {
    int64_t count;      /* non-null values folded */
    __int128 int_sum;   /* SUM of an int64 input (exact) */
    double float_value; /* SUM, MIN or MAX of a float64 input */
    int64_t int_value;  /* MIN or MAX of an int64 input */
} ember_reduce_value;

/* A compiled pipeline program: built once per stage, used by every task. */
typedef struct ember_pipeline_program ember_pipeline_program;

/* wanted: top's columns to compute for project (NULL for a reduce); aggs: the reduce's
 * aggregates (agg_count may be 0: a count). force_host runs the host evaluator (tests). */
ember_status ember_pipeline_program_create(const ember_pipeline *pipeline, const bool *wanted,
                                           const ember_reduce_agg *aggs, int agg_count,
                                           bool force_host, ember_pipeline_program **out,
                                           ember_error *err);
void ember_pipeline_program_free(ember_pipeline_program *program);

/* The kept rows of task's partition with the wanted columns computed (the others not loaded),
 * in the top frame's column order, rows in their order. Takes the source columns it passes
 * through from task->owned when it may. */
ember_status ember_pipeline_project(ember_pipeline_program *program, ember_program_cache *cache,
                                    const ember_task *task, ember_partition *out, ember_error *err);

/* Kept rows (*rows) and the aggregates (values[agg_count]) of task's partition. */
ember_status ember_pipeline_reduce(ember_pipeline_program *program, ember_program_cache *cache,
                                   const ember_task *task, int64_t *rows,
                                   ember_reduce_value *values, ember_error *err);

#endif
