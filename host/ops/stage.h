/* stage.h: running a frame's last stage for an action: first the stages its sources need
 * (a group-by's or a shuffle's output, a cache to fill), then the scan stage with the narrow
 * steps applied, either by the operator itself (a fused kernel) or here (the project kernel). */
#ifndef EMBER_OPS_STAGE_H
#define EMBER_OPS_STAGE_H

#include "exec/scan.h"

/* Materializes what frame's pipeline reads from (recursively): group-by results, repartition
 * outputs, frames to be cached. Adds their stages to job. */
ember_status ember_stage_prepare(ember_frame *frame, struct ember_job *job);

/* Drops the partitions ember_stage_prepare materialized only for this action. */
void ember_stage_release(ember_frame *frame);

/* ember_stage_prepare, then the scan stage over frame. apply: op sees partitions in frame's
 * columns (the wanted ones computed, filtered rows gone) instead of source partitions and the
 * pipeline. */
ember_status ember_stage_run(ember_frame *frame, const bool *wanted, struct ember_job *job,
                             const ember_scan_op *op, bool apply);

/* Every partition of frame's pipeline (source partition order, so the rows are in the frame's
 * order), with every column loaded: *parts (ember_malloc'd, free each with
 * ember_partition_clear) and *count. */
ember_status ember_stage_partitions(ember_frame *frame, struct ember_job *job,
                                    ember_partition **parts, int *count);

/* The same, but partitions that the ones before them make unneeded (they hold limit rows, in
 * order) may be skipped and left empty: for show(). */
ember_status ember_stage_partitions_first(ember_frame *frame, struct ember_job *job, int64_t limit,
                                          ember_partition **parts, int *count);

/* collect, but with limit >= 0 it may stop computing partitions once those before hold limit
 * rows (the table then has at least limit rows, or all of them). For show(). */
ember_status ember_collect_first(ember_frame *frame, int64_t limit, struct ember_table **out);

#endif
