/* aggregate.c: a group-by without keys (df.agg(...), rdd.sum()): each partition is folded by
 * the pipeline's fused reduce kernel (filters, computed columns and the aggregates in one pass,
 * no row stored), and the partials are combined on the host in partition order, so float sums
 * are the same on every run. */
#include <inttypes.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/table.h"
#include "ops/groupby_internal.h"
#include "ops/pipeline_device.h"
#include "ops/stage.h"
#include "plan/groupby_plan.h"
#include "session/session_internal.h"

typedef struct aggregate_context {
    ember_session *session;
    const ember_groupby_plan *plan;
    ember_pipeline_program *program;
    ember_reduce_agg *aggs; /* [agg_count] (COUNT_ROWS has no input: rows are counted) */
    int *slot;              /* [agg_count]: the reduce aggregate of each, or -1 */
    int reduce_count;       /* aggregates the kernel folds */
    bool *floats;           /* [reduce_count]: float64 input (kept past the stage's pipeline) */
    ember_expr **owned;     /* [agg_count]: column expressions made for pass-throughs */
    int partitions;
    int64_t *rows;              /* [partitions] */
    ember_reduce_value *values; /* [partitions][reduce_count] */
} aggregate_context;

static void forget(aggregate_context *ctx) {
    ember_pipeline_program_free(ctx->program);
    ctx->program = NULL;
    for (int a = 0; ctx->owned && a < ctx->plan->agg_count; a++) {
        ember_expr_free(ctx->owned[a]);
        ctx->owned[a] = NULL;
    }
    ember_free(ctx->rows);
    ember_free(ctx->values);
    ctx->rows = NULL;
    ctx->values = NULL;
}

static ember_status aggregate_start(void *raw, const ember_pipeline *pipeline, int partitions,
                                    ember_error *err) {
    aggregate_context *ctx = raw;
    const ember_groupby_plan *plan = ctx->plan;
    forget(ctx);
    ctx->reduce_count = 0;
    for (int a = 0; a < plan->agg_count; a++) {
        const ember_agg_spec *spec = &plan->aggs[a];
        ctx->slot[a] = -1;
        if (spec->column < 0)
            continue;
        const ember_expr *input = pipeline->computed[spec->column];
        if (!input) {
            ember_status status =
                ember_expr_column(pipeline->source_schema, pipeline->source_column[spec->column],
                                  &ctx->owned[a], err);
            if (status != EMBER_OK)
                return status;
            input = ctx->owned[a];
        }
        ctx->slot[a] = ctx->reduce_count;
        ctx->floats[ctx->reduce_count] = ember_expr_type(input) == EMBER_VALUE_FLOAT64;
        ctx->aggs[ctx->reduce_count++] = (ember_reduce_agg){ember_agg_device_op(spec->kind), input};
    }
    ctx->partitions = partitions;
    ctx->rows = ember_calloc((size_t)partitions + 1, sizeof *ctx->rows);
    ctx->values =
        ember_calloc((size_t)partitions * (size_t)ctx->reduce_count + 1, sizeof *ctx->values);
    if (!ctx->rows || !ctx->values)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    return ember_pipeline_program_create(pipeline, NULL, ctx->aggs, ctx->reduce_count,
                                         ctx->session->pipelines_on_host, &ctx->program, err);
}

static ember_status aggregate_partition(void *raw, const ember_task *task, ember_error *err) {
    aggregate_context *ctx = raw;
    return ember_pipeline_reduce(
        ctx->program, ctx->session->programs, task, &ctx->rows[task->index],
        &ctx->values[(size_t)task->index * (size_t)ctx->reduce_count], err);
}

static void aggregate_reset(void *raw) {
    aggregate_context *ctx = raw;
    if (ctx->rows)
        memset(ctx->rows, 0, sizeof *ctx->rows * (size_t)ctx->partitions);
}

/* The combined value of reduce aggregate r over every partition, in partition order. */
static ember_reduce_value combine(const aggregate_context *ctx, int r) {
    ember_reduce_value total = {0};
    const ember_reduce_agg *agg = &ctx->aggs[r];
    bool is_float = ctx->floats[r];
    for (int p = 0; p < ctx->partitions; p++) {
        const ember_reduce_value *v = &ctx->values[(size_t)p * (size_t)ctx->reduce_count + r];
        if (v->count == 0)
            continue;
        bool first = total.count == 0;
        total.count += v->count;
        if (agg->op == EMBER_AGG_OP_SUM) {
            total.int_sum += v->int_sum;
            total.float_value += v->float_value;
        } else if (agg->op == EMBER_AGG_OP_MIN || agg->op == EMBER_AGG_OP_MAX) {
            int want = agg->op == EMBER_AGG_OP_MIN ? -1 : 1;
            if (is_float) {
                if (first || ember_expr_compare_float64(v->float_value, total.float_value) == want)
                    total.float_value = v->float_value;
            } else if (first || (want < 0 ? v->int_value < total.int_value
                                          : v->int_value > total.int_value)) {
                total.int_value = v->int_value;
            }
        }
    }
    return total;
}

/* The one-row result table. */
static ember_status build_row(aggregate_context *ctx, const ember_schema *input,
                              const ember_schema *output, struct ember_table **out,
                              ember_error *err) {
    const ember_groupby_plan *plan = ctx->plan;
    int64_t rows = 0;
    for (int p = 0; p < ctx->partitions; p++)
        rows += ctx->rows[p];
    struct ember_table *table =
        ember_table_create(output->count, (const char *const *)output->names);
    if (!table)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    table->rows = 1;
    for (int a = 0; a < plan->agg_count; a++) {
        const ember_agg_spec *spec = &plan->aggs[a];
        ember_column *column = &table->columns[a];
        if (!ember_column_init(column, output->types[a], 1))
            goto oom;
        ember_reduce_value v = {.count = rows};
        if (ctx->slot[a] >= 0)
            v = combine(ctx, ctx->slot[a]);
        bool is_float = spec->input_type == EMBER_TYPE_FLOAT64;
        bool ok;
        if (spec->kind == EMBER_AGG_COUNT_ROWS || spec->kind == EMBER_AGG_COUNT) {
            ok = ember_column_append_int64(column, v.count);
        } else if (v.count == 0) {
            ok = ember_column_append_null(column);
        } else if (spec->kind == EMBER_AGG_MEAN) {
            ok = ember_column_append_float64(
                column, (is_float ? v.float_value : (double)v.int_sum) / (double)v.count);
        } else if (spec->kind == EMBER_AGG_SUM && !is_float) {
            if (v.int_sum > INT64_MAX || v.int_sum < INT64_MIN) {
                ember_table_free(table);
                return ember_error_set(err, EMBER_ERROR_OVERFLOW,
                                       "sum of '%s' overflows int64; cast the column to float64 "
                                       "(float(x)) to sum it approximately",
                                       input->names[spec->column]);
            }
            ok = ember_column_append_int64(column, (int64_t)v.int_sum);
        } else if (is_float) {
            ok = ember_column_append_float64(column, v.float_value);
        } else {
            ok = ember_column_append_int64(column, v.int_value);
        }
        if (!ok)
            goto oom;
    }
    *out = table;
    return EMBER_OK;
oom:
    ember_table_free(table);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
}

ember_status ember_aggregate_run(ember_frame *frame, struct ember_job *job,
                                 struct ember_table **out) {
    ember_session *session = frame->session;
    const ember_groupby_plan *plan = frame->group;
    aggregate_context ctx = {.session = session, .plan = plan};
    size_t n = (size_t)plan->agg_count + 1;
    ctx.aggs = ember_calloc(n, sizeof *ctx.aggs);
    ctx.slot = ember_calloc(n, sizeof *ctx.slot);
    ctx.owned = ember_calloc(n, sizeof *ctx.owned);
    ctx.floats = ember_calloc(n, sizeof *ctx.floats);
    const ember_schema *input = ember_frame_schema(frame->parent);
    bool *wanted = ember_calloc((size_t)input->count + 1, sizeof *wanted);
    ember_status status = EMBER_OK;
    if (!ctx.aggs || !ctx.slot || !ctx.owned || !ctx.floats || !wanted) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int a = 0; a < plan->agg_count; a++)
        if (plan->aggs[a].column >= 0)
            wanted[plan->aggs[a].column] = true;
    ember_scan_op op = {.run = aggregate_partition,
                        .reset = aggregate_reset,
                        .start = aggregate_start,
                        .context = &ctx};
    status = ember_stage_run(frame->parent, wanted, job, &op, false);
    if (status == EMBER_OK) {
        double started = ember_now();
        ember_error err;
        ember_error_clear(&err);
        status = build_row(&ctx, ember_frame_schema(frame->parent), &frame->schema, out, &err);
        if (status != EMBER_OK)
            ember_session_take_error(session, &err);
        ember_stage_record *stage = ember_job_stage_add(job, "reduce");
        if (stage) {
            stage->tasks = 1;
            stage->rows = ctx.partitions;
            stage->seconds = ember_now() - started;
        }
        if (status == EMBER_OK)
            job->metrics[EMBER_JOB_ROWS] = 1;
    }
done:
    forget(&ctx);
    ember_free(ctx.aggs);
    ember_free(ctx.slot);
    ember_free(ctx.owned);
    ember_free(ctx.floats);
    ember_free(wanted);
    return status;
}
