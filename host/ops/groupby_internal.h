/* groupby_internal.h: running a group-by frame's job, for the actions (collect, count) and for
 * tests and benchmarks that set the device tuning. */
#ifndef EMBER_OPS_GROUPBY_INTERNAL_H
#define EMBER_OPS_GROUPBY_INTERNAL_H

#include "exec/job.h"
#include "ops/groupby_device.h"
#include "plan/frame.h"
#include "plan/groupby_plan.h"

/* Runs frame (a GROUP_BY frame) into a new table; adds its stages to job. tuning may be NULL.
 * On failure the session holds the message. */
ember_status ember_groupby_run(ember_frame *frame, struct ember_job *job,
                               const ember_groupby_tuning *tuning, struct ember_table **out);

/* The same for a group-by without keys (one row): the fused reduce of ops/aggregate.c. */
ember_status ember_aggregate_run(ember_frame *frame, struct ember_job *job,
                                 struct ember_table **out);

/* What the device keeps for an aggregate (MEAN is a SUM and its count). */
ember_agg_op ember_agg_device_op(ember_agg_kind kind);

#endif
