/* scan.h: the first stage of every job on a CSV frame: one task per partition that gets the
 * partition (parsed from its split, or taken from the device cache) and hands it, in the same
 * task, to the operator's device work, so parsing of one partition overlaps device work of
 * another. */
#ifndef EMBER_EXEC_SCAN_H
#define EMBER_EXEC_SCAN_H

#include "exec/job.h"
#include "plan/frame.h"

typedef struct ember_task {
    int index; /* partition index */
    const ember_partition *partition;
    /* Non-NULL when the operator may take the partition's buffers (it is not cached): it then
     * leaves the partition empty (ember_partition_clear-able). */
    ember_partition *owned;
    /* A cached partition's device buffers, 3 per column (values, validity, bytes), or NULL. */
    cl_mem *buffers;
    ember_worker *worker;
    cl_command_queue queue;
} ember_task;

typedef struct ember_scan_op {
    /* Device work on one partition; called from pool threads concurrently. */
    ember_status (*run)(void *context, const ember_task *task, ember_error *err);
    /* Forgets partial results: the stage runs again after a column widened. */
    void (*reset)(void *context);
    void *context;
} ember_scan_op;

/* Runs the stage over frame's partitions, converting the columns in wanted (NULL: none; all
 * when the frame is to be cached). Adds the stage to job and fills the job's read metrics. On
 * failure the session holds the message of the failing partition with the lowest index. */
ember_status ember_scan_run(ember_frame *frame, const bool *wanted, struct ember_job *job,
                            const ember_scan_op *op);

#endif
