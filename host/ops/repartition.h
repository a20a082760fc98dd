/* repartition.h: the shuffle of a repartition frame: its parent's rows dealt into n partitions
 * (round robin, or by a hash of key columns) with the device's histogram, prefix sum and
 * scatter kernels (ops/shuffle_device.h). */
#ifndef EMBER_OPS_REPARTITION_H
#define EMBER_OPS_REPARTITION_H

#include "exec/job.h"
#include "plan/frame.h"

/* Runs frame's parent stage and the shuffle; *parts (ember_malloc'd, *count = n) are the output
 * partitions with every column loaded. Adds the stages to job. */
ember_status ember_repartition_run(ember_frame *frame, struct ember_job *job,
                                   ember_partition **parts, int *count);

#endif
