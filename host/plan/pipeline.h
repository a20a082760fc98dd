/* pipeline.h: the narrow part of a plan as one stage runs it: a source of partitions (a CSV
 * file, range(), or partitions materialized by an earlier stage or the cache) and the filter /
 * select / with_column / map / coalesce steps above it, flattened into predicates and output
 * columns over the source's columns, so one fused kernel per partition can do them all. */
#ifndef EMBER_PLAN_PIPELINE_H
#define EMBER_PLAN_PIPELINE_H

#include "plan/expr.h"
#include "plan/frame.h"

typedef struct ember_pipeline {
    ember_frame *top;    /* the frame the action runs */
    ember_frame *source; /* CSV, RANGE, or a frame read from its materialized partitions */
    const ember_schema *source_schema;
    int predicate_count;
    ember_expr **predicates; /* over the source; a row is kept when every one is true */
    int column_count;        /* top's columns */
    int *source_column;      /* [column_count]: the source column passed through, or -1 */
    ember_expr **computed;   /* [column_count]: the column as an expression over the source */
    int task_count;          /* partitions of top */
    int *task_first;         /* [task_count + 1]: task j reads source partitions [j], [j+1]) */
} ember_pipeline;

/* True when frame is read from materialized partitions rather than computed by its parent's
 * pipeline: a group-by, a repartition, or a frame cached (or to be cached) that is not a CSV
 * file (a CSV frame fills its cache while it is scanned). */
bool ember_frame_is_stage_source(const ember_frame *frame);

/* Flattens frame's narrow steps down to its stage source. Expressions are checked against the
 * current columns (after ember_frame_refresh). */
ember_status ember_pipeline_create(ember_frame *frame, ember_pipeline **out, ember_error *err);
void ember_pipeline_free(ember_pipeline *pipeline);

/* True when the pipeline neither filters nor computes nor reorders: the source's partitions
 * are the top frame's. */
bool ember_pipeline_is_identity(const ember_pipeline *pipeline);

/* Marks in source_wanted the source columns needed to produce top's columns in wanted (NULL:
 * none) and to evaluate the predicates. */
void ember_pipeline_source_columns(const ember_pipeline *pipeline, const bool *wanted,
                                   bool *source_wanted);

#endif
