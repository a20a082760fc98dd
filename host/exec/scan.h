/* scan.h: the stage that reads a pipeline's source: one task per partition of the frame that
 * gets each source partition (parsed from its CSV split, a range() slice, or taken from
 * materialized or cached partitions) and hands it, in the same task, to the operator's device
 * work, so parsing of one partition overlaps device work of another. */
#ifndef EMBER_EXEC_SCAN_H
#define EMBER_EXEC_SCAN_H

#include "exec/job.h"
#include "plan/pipeline.h"

typedef struct ember_task {
    int index; /* source partition index */
    /* The source partition: the source's columns (those not wanted are not loaded). A range()
     * slice has rows but no column loaded: its values are range_start + row. */
    const ember_partition *partition;
    const ember_pipeline *pipeline;
    int64_t range_start;
    /* Non-NULL when the operator may take the partition's buffers (it is not cached): it then
     * leaves the partition empty (ember_partition_clear-able). */
    ember_partition *owned;
    /* A cached partition's device buffers, 3 per column (values, validity, bytes), or NULL. */
    cl_mem *buffers;
    /* The groups of string columns (ember_dictionary, per source column), or NULL: a cached
     * partition's, or those found while parsing the columns the operator asked for
     * (wants_dictionary). Where an entry has no row_group, the column has too many groups to
     * be worth it (or none was looked for). dictionary_buffers: a cached partition's device
     * buffers of the row group ids, or NULL. */
    const ember_dictionary *dictionaries;
    cl_mem *dictionary_buffers;
    ember_worker *worker;
    cl_command_queue queue;
} ember_task;

typedef struct ember_scan_op {
    /* Device work on one partition; called from pool threads concurrently. */
    ember_status (*run)(void *context, const ember_task *task, ember_error *err);
    /* Forgets partial results: the stage runs again after a column widened. */
    void (*reset)(void *context);
    /* Called before each run of the stage with the pipeline and the number of source
     * partitions (task indexes are below it); may be NULL. */
    ember_status (*start)(void *context, const ember_pipeline *pipeline, int partitions,
                          ember_error *err);
    /* May be NULL. Asked before a task reads its partitions (first: its first source
     * partition): true skips them, e.g. show() once the partitions before hold enough rows. */
    bool (*skip)(void *context, int first);
    /* May be NULL. Asked after start for each string column run will read: true has the parse
     * of a CSV split find the column's groups as it goes (task->dictionaries), which costs less
     * than a pass over the column afterwards. */
    bool (*wants_dictionary)(void *context, int column);
    void *context;
    const char *name; /* the stage's name; NULL: "scan", "range" or "cache" by the source */
} ember_scan_op;

/* Runs the stage over frame's pipeline, loading the source columns that top's columns in
 * wanted (NULL: none) and the pipeline's predicates need (all when the source is to be cached).
 * The source must not need materializing (ember_frame_is_stage_source sources other than CSV
 * and RANGE must have their cache filled). Adds the stage to job and fills the job's read
 * metrics. On failure the session holds the message of the failing partition with the lowest
 * index. */
ember_status ember_scan_run(ember_frame *frame, const bool *wanted, struct ember_job *job,
                            const ember_scan_op *op);

#endif
