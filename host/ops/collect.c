/* collect.c: the collect action: a frame's rows into a host table. For a CSV frame the
 * partitions are scanned with every column converted and concatenated in file order; a
 * group-by frame runs its two-stage job. */
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/table.h"
#include "exec/scan.h"
#include "ops/groupby_internal.h"
#include "session/session_internal.h"

typedef struct collect_context {
    ember_partition *parts; /* by partition index */
    int count;
} collect_context;

/* Keeps the partition: takes its buffers when allowed, else copies it (cached partitions stay
 * where they are). */
static ember_status keep_partition(void *raw, const ember_task *task, ember_error *err) {
    collect_context *ctx = raw;
    ember_partition *slot = &ctx->parts[task->index];
    if (task->owned) {
        *slot = *task->owned;
        memset(task->owned, 0, sizeof *task->owned);
        return EMBER_OK;
    }
    const ember_partition *part = task->partition;
    slot->rows = part->rows;
    slot->column_count = part->column_count;
    slot->columns = ember_calloc((size_t)part->column_count + 1, sizeof *slot->columns);
    if (!slot->columns)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory collecting");
    for (int c = 0; c < part->column_count; c++) {
        const ember_column *src = &part->columns[c];
        bool too_big = false;
        if (!ember_column_init(&slot->columns[c], src->type, src->length))
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory collecting");
        for (int64_t r = 0; r < src->length; r++)
            if (!ember_column_append_from(&slot->columns[c], src, r, &too_big))
                return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory collecting");
    }
    return EMBER_OK;
}

/* Also the scan's reset: after a widening the kept partitions are stale. */
static void forget_partitions(void *raw) {
    collect_context *ctx = raw;
    for (int i = 0; i < ctx->count; i++)
        ember_partition_clear(&ctx->parts[i]);
}

/* Concatenates partitions (in order) into a table with schema's columns. */
static ember_status table_from_partitions(const ember_schema *schema, ember_partition *parts,
                                          int count, struct ember_table **out, ember_error *err) {
    struct ember_table *table =
        ember_table_create(schema->count, (const char *const *)schema->names);
    if (!table)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    int64_t rows = 0;
    for (int i = 0; i < count; i++)
        rows += parts[i].rows;
    table->rows = rows;
    for (int c = 0; c < schema->count; c++) {
        if (!ember_column_init(&table->columns[c], schema->types[c], rows))
            goto oom;
        for (int i = 0; i < count; i++) {
            if (!parts[i].columns)
                continue;
            bool too_big = false;
            const ember_column *src = &parts[i].columns[c];
            for (int64_t r = 0; r < src->length; r++)
                if (!ember_column_append_from(&table->columns[c], src, r, &too_big)) {
                    ember_table_free(table);
                    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                           too_big ? "column '%s' holds more than 2 GiB of text"
                                                   : "out of memory collecting column '%s'",
                                           schema->names[c]);
                }
        }
    }
    *out = table;
    return EMBER_OK;
oom:
    ember_table_free(table);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
}

static ember_status collect_csv(ember_frame *frame, struct ember_job *job,
                                struct ember_table **out) {
    ember_session *session = frame->session;
    const ember_schema *schema = ember_frame_schema(frame);
    int count = frame->cache ? frame->cache_count : frame->source->split_count;
    collect_context ctx = {.parts = ember_calloc((size_t)count + 1, sizeof *ctx.parts),
                           .count = count};
    bool *wanted = ember_calloc((size_t)schema->count + 1, sizeof *wanted);
    ember_status status = EMBER_OK;
    if (!ctx.parts || !wanted) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int c = 0; c < schema->count; c++)
        wanted[c] = true;
    ember_scan_op op = {.run = keep_partition, .reset = forget_partitions, .context = &ctx};
    status = ember_scan_run(frame, wanted, job, &op);
    if (status == EMBER_OK) {
        ember_error err;
        ember_error_clear(&err);
        /* The schema may have widened during the scan: read it again. */
        status = table_from_partitions(ember_frame_schema(frame), ctx.parts, count, out, &err);
        if (status != EMBER_OK)
            ember_session_take_error(session, &err);
        else
            job->metrics[EMBER_JOB_ROWS] = (*out)->rows;
    }
done:
    if (ctx.parts)
        forget_partitions(&ctx);
    ember_free(ctx.parts);
    ember_free(wanted);
    return status;
}

ember_status ember_collect(ember_frame *frame, ember_table **out) {
    if (!frame || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session *session = frame->session;
    ember_session_clear_error(session);
    struct ember_job *job = ember_job_create(session);
    if (!job)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    ember_status status = frame->kind == EMBER_FRAME_GROUP_BY
                              ? ember_groupby_run(frame, job, NULL, out)
                              : collect_csv(frame, job, out);
    ember_job_finish(job);
    ember_session_set_last_job(session, job);
    return status;
}
