/* groupby.c: groupBy(keys).agg(...) as a two-stage job. Stage "scan": each partition is
 * aggregated on the device into partial groups (fused into the scan task). Stage "merge": the
 * partial groups of all partitions are concatenated and aggregated again on the device with
 * combining semantics, so a heavy key costs one row per partition in the merge, never a hot
 * spot. The result is gathered into a host table. */
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/dictionary.h"
#include "data/table.h"
#include "exec/scan.h"
#include "ops/groupby_device.h"
#include "ops/groupby_internal.h"
#include "ops/stage.h"
#include "plan/groupby_plan.h"
#include "session/session_internal.h"

/* Column layout of a partial result: keys, then a count column per aggregate, then a value
 * column per aggregate (unloaded for counts). */
static int count_column(const ember_groupby_plan *plan, int a) {
    return plan->key_count + a;
}

static int value_column(const ember_groupby_plan *plan, int a) {
    return plan->key_count + plan->agg_count + a;
}

ember_agg_op ember_agg_device_op(ember_agg_kind kind) {
    switch (kind) {
    case EMBER_AGG_SUM:
    case EMBER_AGG_MEAN:
        return EMBER_AGG_OP_SUM;
    case EMBER_AGG_MIN:
        return EMBER_AGG_OP_MIN;
    case EMBER_AGG_MAX:
        return EMBER_AGG_OP_MAX;
    default:
        return EMBER_AGG_OP_COUNT;
    }
}

/* "region=EU, category=null" for messages about a group. */
static void describe_group(const ember_groupby_plan *plan, const ember_schema *input,
                           const ember_column *const *keys, int64_t row, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < plan->key_count && used + 1 < len; k++) {
        const ember_column *key = keys[k];
        const char *name = input->names[plan->keys[k]];
        const char *sep = k ? ", " : "";
        int n;
        if (!ember_column_is_valid(key, row))
            n = snprintf(buf + used, len - used, "%s%s=null", sep, name);
        else if (key->type == EMBER_TYPE_INT64 || key->type == EMBER_TYPE_BOOL)
            n = snprintf(buf + used, len - used, "%s%s=%" PRId64, sep, name,
                         ((const int64_t *)key->values)[row]);
        else if (key->type == EMBER_TYPE_FLOAT64)
            n = snprintf(buf + used, len - used, "%s%s=%.17g", sep, name,
                         ((const double *)key->values)[row]);
        else {
            int32_t slen;
            const char *text = ember_column_string(key, row, &slen);
            n = snprintf(buf + used, len - used, "%s%s=%.*s", sep, name, slen > 64 ? 64 : slen,
                         text);
        }
        if (n < 0)
            break;
        used += (size_t)n < len - used ? (size_t)n : len - used - 1;
    }
}

static ember_status overflow_error(const ember_groupby_plan *plan, const ember_schema *input,
                                   const ember_column *const *keys,
                                   const ember_group_result *result, ember_error *err) {
    char group[512];
    describe_group(plan, input, keys, result->representative[result->overflow_group], group,
                   sizeof group);
    const ember_agg_spec *spec = &plan->aggs[result->overflow_aggregate];
    return ember_error_set(err, EMBER_ERROR_OVERFLOW,
                           "sum of '%s' overflows int64 in group (%s); cast the column to "
                           "float64 with --schema to sum it approximately",
                           input->names[spec->column], group);
}

/* Copies n int64/double values into a fresh loaded column without nulls. */
static bool column_from_array(ember_column *column, ember_type type, const void *values,
                              int64_t n) {
    if (!ember_column_init(column, type, n))
        return false;
    if (n)
        memcpy(column->values, values, (size_t)n * 8);
    column->length = n;
    return true;
}

/* Builds the partial partition of one aggregation: keys gathered from the representative
 * rows of keys[], counts and values from result. */
static ember_status build_partial(const ember_groupby_plan *plan, const ember_column *const *keys,
                                  const ember_group_result *result, ember_partition *out,
                                  ember_error *err) {
    memset(out, 0, sizeof *out);
    out->column_count = plan->key_count + 2 * plan->agg_count;
    out->columns = ember_calloc((size_t)out->column_count, sizeof *out->columns);
    if (!out->columns)
        goto oom;
    out->rows = result->groups;
    for (int k = 0; k < plan->key_count; k++) {
        ember_column *column = &out->columns[k];
        if (!ember_column_init(column, keys[k]->type, result->groups))
            goto oom;
        bool too_big = false;
        if (!ember_column_gather(column, keys[k], result->representative, result->groups, &too_big))
            goto oom;
    }
    for (int a = 0; a < plan->agg_count; a++) {
        if (!column_from_array(&out->columns[count_column(plan, a)], EMBER_TYPE_INT64,
                               result->counts[a], result->groups))
            goto oom;
        if (result->values[a] &&
            !column_from_array(&out->columns[value_column(plan, a)], plan->aggs[a].input_type,
                               result->values[a], result->groups))
            goto oom;
    }
    return EMBER_OK;
oom:
    ember_partition_clear(out);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory gathering groups");
}

/* A device view of a host column, with cached buffers when there are some. */
static ember_device_column device_column(const ember_column *host, cl_mem *buffers) {
    ember_device_column column = {.host = host};
    if (buffers) {
        column.values = buffers[0];
        column.validity = buffers[1];
        column.bytes = buffers[2];
    }
    return column;
}

typedef struct groupby_context {
    ember_session *session;
    const ember_groupby_plan *plan;
    const ember_schema *input;
    ember_partition *partials; /* one per partition */
    int64_t *scanned_rows;     /* the input rows of each partial */
    int partition_count;
    atomic_llong groups_hint;
    ember_groupby_tuning tuning;
} groupby_context;

/* A group-by by one key takes its groups from a dictionary of it (the tuning knobs of the tests
 * want the hashing paths). */
static bool wants_dictionary(void *raw, int column) {
    groupby_context *ctx = raw;
    return ctx->plan->key_count == 1 && column == ctx->plan->keys[0] && !ctx->tuning.force_path &&
           !ctx->tuning.hash_bits;
}

static ember_status aggregate_partition(void *raw, const ember_task *task, ember_error *err) {
    groupby_context *ctx = raw;
    const ember_groupby_plan *plan = ctx->plan;
    const ember_partition *part = task->partition;
    ember_device_column keys[EMBER_GROUP_BY_MAX_KEYS];
    const ember_device_column *key_ptrs[EMBER_GROUP_BY_MAX_KEYS];
    const ember_column *key_hosts[EMBER_GROUP_BY_MAX_KEYS];
    for (int k = 0; k < plan->key_count; k++) {
        int c = plan->keys[k];
        keys[k] = device_column(&part->columns[c], task->buffers ? task->buffers + 3 * c : NULL);
        key_ptrs[k] = &keys[k];
        key_hosts[k] = &part->columns[c];
    }
    ember_device_column *values = ember_calloc((size_t)plan->agg_count, sizeof *values);
    ember_agg_input *inputs = ember_calloc((size_t)plan->agg_count, sizeof *inputs);
    if (!values || !inputs) {
        ember_free(values);
        ember_free(inputs);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int a = 0; a < plan->agg_count; a++) {
        const ember_agg_spec *spec = &plan->aggs[a];
        inputs[a].op = ember_agg_device_op(spec->kind);
        inputs[a].type = spec->input_type;
        if (spec->column >= 0) {
            values[a] = device_column(&part->columns[spec->column],
                                      task->buffers ? task->buffers + 3 * spec->column : NULL);
            inputs[a].values = &values[a];
        }
    }
    ember_groupby_tuning tuning = ctx->tuning;
    if (!tuning.groups_hint)
        tuning.groups_hint = atomic_load(&ctx->groups_hint);
    /* One string key: its groups are found on the host (kept by the cache, found while the
     * split was parsed, or else here in one pass, which costs less than hashing strings on the
     * device), so the device skips hashing (ember_dense_groups). A key with too many distinct
     * values is hashed as usual. */
    ember_dense_groups dense = {0};
    ember_dictionary local = {0};
    const ember_dictionary *dictionary = NULL;
    int c0 = plan->keys[0];
    if (wants_dictionary(ctx, c0)) {
        if (task->dictionaries) {
            if (task->dictionaries[c0].row_group)
                dictionary = &task->dictionaries[c0];
        } else if (part->columns[c0].type == EMBER_TYPE_STRING &&
                   ember_dictionary_build(&part->columns[c0],
                                          ember_dictionary_max_groups(part->rows), &local)) {
            dictionary = &local;
        }
    }
    if (dictionary) {
        dense = (ember_dense_groups){.groups = dictionary->groups,
                                     .row_group = dictionary->row_group,
                                     .representative = dictionary->representative,
                                     .row_group_buffer =
                                         dictionary == &local || !task->dictionary_buffers
                                             ? NULL
                                             : task->dictionary_buffers[c0]};
        tuning.dense = &dense;
    }
    ember_group_result result = {0};
    ember_status status = ember_groupby_device(ctx->session->programs, task->worker, task->queue,
                                               key_ptrs, plan->key_count, inputs, plan->agg_count,
                                               part->rows, &tuning, &result, err);
    if (status == EMBER_OK && result.overflow)
        status = overflow_error(plan, ctx->input, key_hosts, &result, err);
    if (status == EMBER_OK)
        status = build_partial(plan, key_hosts, &result, &ctx->partials[task->index], err);
    if (status == EMBER_OK)
        ctx->scanned_rows[task->index] = part->rows;
    if (status == EMBER_OK && result.groups > atomic_load(&ctx->groups_hint))
        atomic_store(&ctx->groups_hint, result.groups);
    ember_group_result_clear(&result, plan->agg_count);
    ember_dictionary_clear(&local);
    ember_free(values);
    ember_free(inputs);
    return status;
}

/* A column widened: the stage runs again, so the partials so far are stale. */
static void aggregate_reset(void *raw) {
    groupby_context *ctx = raw;
    for (int i = 0; i < ctx->partition_count; i++)
        ember_partition_clear(&ctx->partials[i]);
}

/* Concatenates the partials (in partition order) into one partition. */
static ember_status concatenate(const ember_groupby_plan *plan, const ember_schema *input,
                                ember_partition *partials, int count, ember_partition *out,
                                ember_error *err) {
    memset(out, 0, sizeof *out);
    int64_t rows = 0;
    for (int i = 0; i < count; i++)
        rows += partials[i].rows;
    out->column_count = plan->key_count + 2 * plan->agg_count;
    out->columns = ember_calloc((size_t)out->column_count, sizeof *out->columns);
    if (!out->columns)
        goto oom;
    out->rows = rows;
    for (int c = 0; c < out->column_count; c++) {
        /* Keys, counts, then values (none for a count); typed by the plan, so an input with
         * no partitions still has every column. */
        ember_type type = EMBER_TYPE_INT64;
        if (c < plan->key_count) {
            type = input->types[plan->keys[c]];
        } else if (c >= plan->key_count + plan->agg_count) {
            const ember_agg_spec *spec = &plan->aggs[c - plan->key_count - plan->agg_count];
            if (ember_agg_device_op(spec->kind) == EMBER_AGG_OP_COUNT)
                continue;
            type = spec->input_type;
        }
        if (!ember_column_init(&out->columns[c], type, rows))
            goto oom;
        for (int i = 0; i < count; i++) {
            const ember_column *src = partials[i].columns ? &partials[i].columns[c] : NULL;
            if (!src || !src->loaded)
                continue;
            if (type != EMBER_TYPE_STRING && !src->validity && !out->columns[c].validity) {
                /* Numbers without nulls: one copy. */
                memcpy((int64_t *)out->columns[c].values + out->columns[c].length, src->values,
                       (size_t)src->length * 8);
                out->columns[c].length += src->length;
                continue;
            }
            bool too_big = false;
            for (int64_t r = 0; r < src->length; r++)
                if (!ember_column_append_from(&out->columns[c], src, r, &too_big))
                    goto oom;
        }
    }
    return EMBER_OK;
oom:
    ember_partition_clear(out);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory merging groups");
}

/* Turns the merged groups into the output table. */
static ember_status build_table(const ember_groupby_plan *plan, const ember_schema *output,
                                const ember_partition *merged, const ember_group_result *result,
                                struct ember_table **out, ember_error *err) {
    struct ember_table *table =
        ember_table_create(output->count, (const char *const *)output->names);
    if (!table)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    table->rows = result->groups;
    for (int c = 0; c < output->count; c++)
        if (!ember_column_init(&table->columns[c], output->types[c], result->groups))
            goto oom;
    for (int k = 0; k < plan->key_count; k++) {
        bool too_big = false;
        if (!ember_column_gather(&table->columns[k], &merged->columns[k], result->representative,
                                 result->groups, &too_big))
            goto oom;
    }
    for (int a = 0; a < plan->agg_count; a++) {
        const ember_agg_spec *spec = &plan->aggs[a];
        ember_column *column = &table->columns[plan->key_count + a];
        const int64_t *counts = result->counts[a];
        const void *values = result->values[a];
        for (int64_t g = 0; g < result->groups; g++) {
            bool ok;
            if (spec->kind == EMBER_AGG_COUNT_ROWS || spec->kind == EMBER_AGG_COUNT)
                ok = ember_column_append_int64(column, counts[g]);
            else if (counts[g] == 0)
                ok = ember_column_append_null(column);
            else if (spec->kind == EMBER_AGG_MEAN)
                ok = ember_column_append_float64(column, (spec->input_type == EMBER_TYPE_INT64
                                                              ? (double)((const int64_t *)values)[g]
                                                              : ((const double *)values)[g]) /
                                                             (double)counts[g]);
            else if (spec->input_type == EMBER_TYPE_INT64)
                ok = ember_column_append_int64(column, ((const int64_t *)values)[g]);
            else
                ok = ember_column_append_float64(column, ((const double *)values)[g]);
            if (!ok)
                goto oom;
        }
    }
    *out = table;
    return EMBER_OK;
oom:
    ember_table_free(table);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory building the result");
}

/* The groups the merge will find, for sizing its table: as if keys were drawn uniformly from
 * some number of distinct keys. The largest partial tells that number (n rows drawn from d
 * keys show d (1 - e^(-n/d)) of them), and all the rows drawn show as many of them in the
 * merge; never fewer than the largest partial, never more than all partials together. A
 * skewed input makes this low, and the table then grows as for any wrong guess. */
static int64_t merge_groups_estimate(const groupby_context *ctx) {
    int64_t total_rows = 0, total_groups = 0, best = 0;
    for (int i = 0; i < ctx->partition_count; i++) {
        total_rows += ctx->scanned_rows[i];
        total_groups += ctx->partials[i].rows;
        if (ctx->partials[i].rows > ctx->partials[best].rows)
            best = i;
    }
    double n = (double)ctx->scanned_rows[best], g = (double)ctx->partials[best].rows;
    if (g < 1 || g >= n * 0.999) /* all distinct: the keys may be endless */
        return total_groups;
    double low = g, high = g;
    while (high * (1 - exp(-n / high)) < g && high < 1e18)
        high *= 2;
    for (int step = 0; step < 60; step++) {
        double mid = (low + high) / 2;
        if (mid * (1 - exp(-n / mid)) < g)
            low = mid;
        else
            high = mid;
    }
    double expected = high * (1 - exp(-(double)total_rows / high));
    int64_t estimate = expected < (double)total_groups ? (int64_t)expected : total_groups;
    return estimate > ctx->partials[best].rows ? estimate : ctx->partials[best].rows;
}

/* The merge stage: one device aggregation over the concatenated partials. */
static ember_status merge_partials(groupby_context *ctx, const ember_schema *output,
                                   ember_partition *partials, int count, struct ember_job *job,
                                   struct ember_table **out, ember_error *err) {
    const ember_groupby_plan *plan = ctx->plan;
    double started = ember_now();
    ember_partition merged;
    ember_status status = concatenate(plan, ctx->input, partials, count, &merged, err);
    if (status != EMBER_OK)
        return status;
    const ember_device_column *key_ptrs[EMBER_GROUP_BY_MAX_KEYS];
    const ember_column *key_hosts[EMBER_GROUP_BY_MAX_KEYS];
    ember_device_column *columns = ember_calloc((size_t)merged.column_count, sizeof *columns);
    ember_agg_input *inputs = ember_calloc((size_t)plan->agg_count, sizeof *inputs);
    ember_group_result result = {0};
    if (!columns || !inputs) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int c = 0; c < merged.column_count; c++)
        columns[c] = device_column(&merged.columns[c], NULL);
    for (int k = 0; k < plan->key_count; k++) {
        key_ptrs[k] = &columns[k];
        key_hosts[k] = &merged.columns[k];
    }
    for (int a = 0; a < plan->agg_count; a++) {
        inputs[a].op = ember_agg_device_op(plan->aggs[a].kind);
        inputs[a].type = plan->aggs[a].input_type;
        inputs[a].counts = &columns[count_column(plan, a)];
        if (merged.columns[value_column(plan, a)].loaded)
            inputs[a].values = &columns[value_column(plan, a)];
    }
    ember_session *session = ctx->session;
    int w = ember_session_acquire_worker(session);
    ember_worker *worker = &session->workers[w];
    ember_groupby_tuning tuning = ctx->tuning;
    if (!tuning.groups_hint)
        tuning.groups_hint = merge_groups_estimate(ctx);
    /* Each partial lists its groups in its table's order, which is hash order, so the merge's
     * insert already sweeps its table once per partial: radix partitioning would only add its
     * passes. */
    if (!tuning.radix_bits)
        tuning.radix_bits = -1;
    status = ember_groupby_device(session->programs, worker, worker->queues[0], key_ptrs,
                                  plan->key_count, inputs, plan->agg_count, merged.rows, &tuning,
                                  &result, err);
    ember_session_release_worker(session, w);
    if (status == EMBER_OK && result.overflow)
        status = overflow_error(plan, ctx->input, key_hosts, &result, err);
    if (status == EMBER_OK)
        status = build_table(plan, output, &merged, &result, out, err);
    ember_stage_record *stage = ember_job_stage_add(job, "merge");
    if (stage) {
        stage->tasks = 1;
        stage->rows = merged.rows;
        stage->seconds = ember_now() - started;
    }
    if (status == EMBER_OK)
        job->metrics[EMBER_JOB_ROWS] = result.groups;
done:
    ember_group_result_clear(&result, plan->agg_count);
    ember_free(columns);
    ember_free(inputs);
    ember_partition_clear(&merged);
    return status;
}

/* Sizes the partials by the source partitions of this run. */
static ember_status aggregate_start(void *raw, const ember_pipeline *pipeline, int partitions,
                                    ember_error *err) {
    (void)pipeline;
    groupby_context *ctx = raw;
    if (ctx->partials && ctx->partition_count == partitions)
        return EMBER_OK;
    aggregate_reset(ctx);
    ember_free(ctx->partials);
    ember_free(ctx->scanned_rows);
    ctx->partials = ember_calloc((size_t)partitions + 1, sizeof *ctx->partials);
    ctx->scanned_rows = ember_calloc((size_t)partitions + 1, sizeof *ctx->scanned_rows);
    bool ok = ctx->partials && ctx->scanned_rows;
    ctx->partition_count = ok ? partitions : 0;
    return ok ? EMBER_OK : ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
}

ember_status ember_groupby_run(ember_frame *frame, struct ember_job *job,
                               const ember_groupby_tuning *tuning, struct ember_table **out) {
    const ember_groupby_plan *plan = frame->group;
    if (plan->key_count == 0)
        return ember_aggregate_run(frame, job, out);
    ember_session *session = frame->session;
    ember_frame *input = frame->parent;
    const ember_schema *schema = ember_frame_schema(input);
    bool *wanted = ember_calloc((size_t)schema->count + 1, sizeof *wanted);
    groupby_context ctx = {.session = session, .plan = plan, .input = schema};
    if (tuning)
        ctx.tuning = *tuning;
    ember_error err;
    ember_error_clear(&err);
    ember_status status = EMBER_OK;
    if (!wanted) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int k = 0; k < plan->key_count; k++)
        wanted[plan->keys[k]] = true;
    for (int a = 0; a < plan->agg_count; a++)
        if (plan->aggs[a].column >= 0)
            wanted[plan->aggs[a].column] = true;
    ember_scan_op op = {.run = aggregate_partition,
                        .reset = aggregate_reset,
                        .start = aggregate_start,
                        .wants_dictionary = wants_dictionary,
                        .context = &ctx};
    status = ember_stage_run(input, wanted, job, &op, true);
    if (status == EMBER_OK) {
        ctx.input = ember_frame_schema(input);
        status =
            merge_partials(&ctx, &frame->schema, ctx.partials, ctx.partition_count, job, out, &err);
        if (status != EMBER_OK)
            ember_session_take_error(session, &err);
    }
done:
    aggregate_reset(&ctx);
    ember_free(ctx.partials);
    ember_free(ctx.scanned_rows);
    ember_free(wanted);
    return status;
}

ember_status ember_group_by(ember_frame *frame, const char *const *keys,
                            const char *const *aggregates, ember_frame **out) {
    if (!frame || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session *session = frame->session;
    ember_session_clear_error(session);
    ember_frame *grouped = ember_calloc(1, sizeof *grouped);
    if (!grouped)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_frame_refresh(frame, &err);
    if (status != EMBER_OK) {
        ember_free(grouped);
        return ember_session_take_error(session, &err);
    }
    status = ember_groupby_plan_create(ember_frame_schema(frame), keys, aggregates, &grouped->group,
                                       &grouped->schema, &err);
    if (status != EMBER_OK) {
        ember_free(grouped);
        return ember_session_take_error(session, &err);
    }
    atomic_init(&grouped->references, 1);
    grouped->session = session;
    grouped->kind = EMBER_FRAME_GROUP_BY;
    grouped->parent = ember_frame_retain(frame);
    grouped->parent_version = frame->version;
    *out = grouped;
    return EMBER_OK;
}
