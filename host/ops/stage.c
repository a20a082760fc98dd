/* stage.c: materializing a pipeline's sources and applying its narrow steps for operators that
 * want ready partitions (see stage.h). */
#include "ops/stage.h"

#include <stdatomic.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/table.h"
#include "ops/groupby_internal.h"
#include "ops/pipeline_device.h"
#include "ops/repartition.h"
#include "session/session_internal.h"

/* ---------------------------------------------------------------------------------------
 * Applying the pipeline for an operator.
 * ------------------------------------------------------------------------------------- */

typedef struct apply_context {
    const ember_scan_op *inner;
    ember_session *session;
    const bool *wanted;
    bool *all;                       /* wanted NULL: nothing computed (a count of rows) */
    ember_pipeline_program *program; /* NULL when the pipeline is the identity */
} apply_context;

static ember_status apply_start(void *raw, const ember_pipeline *pipeline, int partitions,
                                ember_error *err) {
    apply_context *ctx = raw;
    ember_pipeline_program_free(ctx->program);
    ctx->program = NULL;
    ember_status status = EMBER_OK;
    if (!ember_pipeline_is_identity(pipeline) || pipeline->source->kind == EMBER_FRAME_RANGE) {
        ember_free(ctx->all);
        ctx->all = ember_calloc((size_t)pipeline->column_count + 1, sizeof *ctx->all);
        if (!ctx->all)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int c = 0; ctx->wanted && c < pipeline->column_count; c++)
            ctx->all[c] = ctx->wanted[c];
        status = ember_pipeline_program_create(pipeline, ctx->all, NULL, 0,
                                               ctx->session->pipelines_on_host, &ctx->program, err);
    }
    if (status == EMBER_OK && ctx->inner->start)
        status = ctx->inner->start(ctx->inner->context, pipeline, partitions, err);
    return status;
}

static ember_status apply_run(void *raw, const ember_task *task, ember_error *err) {
    apply_context *ctx = raw;
    if (!ctx->program)
        return ctx->inner->run(ctx->inner->context, task, err);
    ember_partition out;
    ember_status status =
        ember_pipeline_project(ctx->program, ctx->session->programs, task, &out, err);
    if (status != EMBER_OK)
        return status;
    ember_task applied = *task;
    applied.partition = &out;
    applied.owned = &out;
    applied.buffers = NULL;
    applied.dictionaries = NULL;
    applied.dictionary_buffers = NULL;
    status = ctx->inner->run(ctx->inner->context, &applied, err);
    ember_partition_clear(&out);
    return status;
}

static bool apply_skip(void *raw, int first) {
    apply_context *ctx = raw;
    return ctx->inner->skip && ctx->inner->skip(ctx->inner->context, first);
}

/* The operator's dictionaries hold for the source's rows only when no kernel reorders them. */
static bool apply_wants_dictionary(void *raw, int column) {
    apply_context *ctx = raw;
    return !ctx->program && ctx->inner->wants_dictionary &&
           ctx->inner->wants_dictionary(ctx->inner->context, column);
}

static void apply_reset(void *raw) {
    apply_context *ctx = raw;
    if (ctx->inner->reset)
        ctx->inner->reset(ctx->inner->context);
}

ember_status ember_stage_run(ember_frame *frame, const bool *wanted, struct ember_job *job,
                             const ember_scan_op *op, bool apply) {
    ember_status status = ember_stage_prepare(frame, job);
    if (status != EMBER_OK)
        return status;
    if (!apply)
        return ember_scan_run(frame, wanted, job, op);
    apply_context ctx = {.inner = op, .session = frame->session, .wanted = wanted};
    ember_scan_op wrapped = {.run = apply_run,
                             .reset = apply_reset,
                             .start = apply_start,
                             .skip = apply_skip,
                             .wants_dictionary = apply_wants_dictionary,
                             .context = &ctx,
                             .name = op->name};
    status = ember_scan_run(frame, wanted, job, &wrapped);
    ember_pipeline_program_free(ctx.program);
    ember_free(ctx.all);
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Materializing sources.
 * ------------------------------------------------------------------------------------- */

typedef struct keep_context {
    ember_partition *parts;
    int count;
    int64_t limit;     /* < 0: every partition; else enough rows, in order, to stop */
    atomic_char *kept; /* [count]: partition i is in parts */
} keep_context;

static ember_status keep_start(void *raw, const ember_pipeline *pipeline, int partitions,
                               ember_error *err) {
    (void)pipeline;
    keep_context *ctx = raw;
    if (ctx->parts)
        return EMBER_OK;
    ctx->parts = ember_calloc((size_t)partitions + 1, sizeof *ctx->parts);
    ctx->kept = ember_calloc((size_t)partitions + 1, sizeof *ctx->kept);
    ctx->count = partitions;
    return ctx->parts && ctx->kept
               ? EMBER_OK
               : ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
}

/* With a limit: a partition is not needed once the partitions kept from the first on, with no
 * gap, all before it, hold limit rows (one still running ends the prefix, so nothing needed
 * is skipped). */
static bool keep_skip(void *raw, int first) {
    keep_context *ctx = raw;
    if (ctx->limit < 0)
        return false;
    int64_t rows = 0;
    for (int i = 0; i < first && atomic_load(&ctx->kept[i]); i++)
        rows += ctx->parts[i].rows;
    return rows >= ctx->limit;
}

/* Keeps the partition: takes its buffers when the task owns them, else copies it (a cached
 * partition stays where it is). */
static ember_status keep_run(void *raw, const ember_task *task, ember_error *err) {
    keep_context *ctx = raw;
    ember_partition *slot = &ctx->parts[task->index];
    if (task->owned) {
        *slot = *task->owned;
        memset(task->owned, 0, sizeof *task->owned);
        slot->index = task->index;
        atomic_store(&ctx->kept[task->index], 1);
        return EMBER_OK;
    }
    const ember_partition *part = task->partition;
    slot->index = task->index;
    slot->rows = part->rows;
    slot->column_count = part->column_count;
    slot->columns = ember_calloc((size_t)part->column_count + 1, sizeof *slot->columns);
    if (!slot->columns)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int c = 0; c < part->column_count; c++) {
        const ember_column *src = &part->columns[c];
        bool too_big = false;
        if (!ember_column_init(&slot->columns[c], src->type, src->length))
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int64_t r = 0; r < src->length; r++)
            if (!ember_column_append_from(&slot->columns[c], src, r, &too_big))
                return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    atomic_store(&ctx->kept[task->index], 1);
    return EMBER_OK;
}

static void keep_reset(void *raw) {
    keep_context *ctx = raw;
    for (int i = 0; ctx->parts && i < ctx->count; i++) {
        ember_partition_clear(&ctx->parts[i]);
        atomic_store(&ctx->kept[i], 0);
    }
}

/* The partitions as a frame's cache (host columns; device buffers are made when used). */
static ember_status set_cache(ember_frame *frame, ember_partition *parts, int count,
                              bool transient) {
    ember_cached_partition *cache = ember_calloc((size_t)count + 1, sizeof *cache);
    if (!cache) {
        for (int i = 0; i < count; i++)
            ember_partition_clear(&parts[i]);
        return ember_session_fail(frame->session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int i = 0; i < count; i++) {
        cache[i].partition = parts[i];
        cache[i].partition.index = i;
        cache[i].worker = i % frame->session->worker_count; /* spread over the devices */
    }
    frame->cache = cache;
    frame->cache_count = count;
    frame->cache_transient = transient;
    return EMBER_OK;
}

ember_status ember_stage_partitions_first(ember_frame *frame, struct ember_job *job, int64_t limit,
                                          ember_partition **parts, int *count) {
    *parts = NULL;
    *count = 0;
    const ember_schema *schema = ember_frame_schema(frame);
    bool *all = ember_calloc((size_t)schema->count + 1, sizeof *all);
    if (!all)
        return ember_session_fail(frame->session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int c = 0; c < schema->count; c++)
        all[c] = true;
    keep_context ctx = {.limit = limit};
    ember_scan_op op = {.run = keep_run,
                        .reset = keep_reset,
                        .start = keep_start,
                        .skip = keep_skip,
                        .context = &ctx};
    ember_status status = ember_stage_run(frame, all, job, &op, true);
    ember_free(all);
    if (status != EMBER_OK)
        keep_reset(&ctx);
    ember_free(ctx.kept);
    if (status != EMBER_OK) {
        ember_free(ctx.parts);
        return status;
    }
    *parts = ctx.parts;
    *count = ctx.count;
    return EMBER_OK;
}

ember_status ember_stage_partitions(ember_frame *frame, struct ember_job *job,
                                    ember_partition **parts, int *count) {
    return ember_stage_partitions_first(frame, job, -1, parts, count);
}

/* Concatenates coalesced groups of parts into count partitions, in order. */
static ember_status merge_groups(const int *first, int groups, ember_partition *parts,
                                 ember_partition *out, ember_error *err);

/* A frame to be cached that is not a CSV file: its own stage, every column, kept. */
static ember_status materialize_narrow(ember_frame *frame, struct ember_job *job) {
    ember_partition *parts = NULL;
    int count = 0;
    frame->materializing = true;
    ember_status status = ember_stage_partitions(frame, job, &parts, &count);
    ember_pipeline *pipeline = NULL;
    ember_error err;
    ember_error_clear(&err);
    if (status == EMBER_OK)
        status = ember_pipeline_create(frame, &pipeline, &err);
    frame->materializing = false;
    int tasks = pipeline ? pipeline->task_count : 0;
    if (status == EMBER_OK && tasks < count) {
        /* coalesced: merge the source partitions of each task */
        ember_partition *merged = ember_calloc((size_t)tasks + 1, sizeof *merged);
        status = merged ? merge_groups(pipeline->task_first, tasks, parts, merged, &err)
                        : ember_error_set(&err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int i = 0; i < count; i++)
            ember_partition_clear(&parts[i]);
        ember_free(parts);
        parts = merged;
        count = tasks;
    }
    ember_pipeline_free(pipeline);
    if (status == EMBER_OK)
        status = set_cache(frame, parts, count, false);
    else if (err.status != EMBER_OK)
        ember_session_take_error(frame->session, &err);
    if (status != EMBER_OK)
        for (int i = 0; parts && i < count; i++)
            ember_partition_clear(&parts[i]);
    ember_free(parts);
    return status;
}

static ember_status merge_groups(const int *first, int groups, ember_partition *parts,
                                 ember_partition *out, ember_error *err) {
    for (int g = 0; g < groups; g++) {
        ember_partition *head = &parts[first[g]];
        ember_partition *merged = &out[g];
        merged->column_count = head->column_count;
        merged->columns = ember_calloc((size_t)head->column_count + 1, sizeof *merged->columns);
        if (!merged->columns)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int c = 0; c < head->column_count; c++) {
            ember_column *column = &merged->columns[c];
            int64_t rows = 0;
            for (int p = first[g]; p < first[g + 1]; p++)
                rows += parts[p].rows;
            if (!ember_column_init(column, head->columns[c].type, rows))
                return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            for (int p = first[g]; p < first[g + 1]; p++) {
                bool too_big = false;
                const ember_column *src = &parts[p].columns[c];
                for (int64_t r = 0; r < src->length; r++)
                    if (!ember_column_append_from(column, src, r, &too_big))
                        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                               "out of memory merging partitions");
            }
            merged->rows = rows;
        }
    }
    return EMBER_OK;
}

/* A group-by's result as one partition. */
static ember_status materialize_groupby(ember_frame *frame, struct ember_job *job) {
    struct ember_table *table = NULL;
    ember_status status = ember_groupby_run(frame, job, NULL, &table);
    if (status != EMBER_OK)
        return status;
    ember_partition part = {.rows = table->rows, .column_count = table->column_count};
    part.columns = ember_calloc((size_t)table->column_count + 1, sizeof *part.columns);
    if (!part.columns) {
        ember_table_free(table);
        return ember_session_fail(frame->session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int c = 0; c < table->column_count; c++) {
        part.columns[c] = table->columns[c];
        memset(&table->columns[c], 0, sizeof table->columns[c]);
    }
    ember_table_free(table);
    return set_cache(frame, &part, 1, !frame->cache_requested);
}

ember_status ember_stage_prepare(ember_frame *frame, struct ember_job *job) {
    ember_frame *source = frame;
    while (!ember_frame_is_stage_source(source))
        source = source->parent;
    if (source->cache)
        return EMBER_OK;
    switch (source->kind) {
    case EMBER_FRAME_CSV:
    case EMBER_FRAME_RANGE:
        return EMBER_OK; /* read by the scan itself (which fills a CSV cache) */
    case EMBER_FRAME_GROUP_BY:
        return materialize_groupby(source, job);
    case EMBER_FRAME_REPARTITION: {
        ember_partition *parts = NULL;
        int count = 0;
        ember_status status = ember_repartition_run(source, job, &parts, &count);
        if (status != EMBER_OK)
            return status;
        status = set_cache(source, parts, count, !source->cache_requested);
        ember_free(parts);
        return status;
    }
    default:
        return materialize_narrow(source, job);
    }
}

void ember_stage_release(ember_frame *frame) {
    for (; frame; frame = frame->parent)
        if (frame->cache && frame->cache_transient) {
            ember_frame_drop_cache(frame);
            frame->cache_transient = false;
        }
}
