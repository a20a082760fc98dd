/* collect.c: the collect action: a frame's rows into a host table. The partitions of its
 * pipeline are computed with every column and concatenated in order; a group-by frame runs its
 * two-stage job. */
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/table.h"
#include "exec/scan.h"
#include "ops/groupby_internal.h"
#include "ops/stage.h"
#include "session/session_internal.h"

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

static ember_status collect_rows(ember_frame *frame, struct ember_job *job, int64_t limit,
                                 struct ember_table **out) {
    ember_partition *parts = NULL;
    int count = 0;
    ember_status status = ember_stage_partitions_first(frame, job, limit, &parts, &count);
    if (status == EMBER_OK) {
        ember_error err;
        ember_error_clear(&err);
        /* The schema may have widened during the scan: read it now. */
        status = table_from_partitions(ember_frame_schema(frame), parts, count, out, &err);
        if (status != EMBER_OK)
            ember_session_take_error(frame->session, &err);
        else
            job->metrics[EMBER_JOB_ROWS] = (*out)->rows;
    }
    for (int i = 0; i < count; i++)
        ember_partition_clear(&parts[i]);
    ember_free(parts);
    return status;
}

ember_status ember_collect_first(ember_frame *frame, int64_t limit, ember_table **out) {
    if (!frame || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session *session = frame->session;
    ember_session_clear_error(session);
    struct ember_job *job = ember_job_create(session);
    if (!job)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    ember_status status =
        frame->kind == EMBER_FRAME_GROUP_BY && !frame->cache && !frame->cache_requested
            ? ember_groupby_run(frame, job, NULL, out)
            : collect_rows(frame, job, limit, out);
    ember_stage_release(frame);
    ember_job_finish(job);
    ember_session_set_last_job(session, job);
    return status;
}

ember_status ember_collect(ember_frame *frame, ember_table **out) {
    return ember_collect_first(frame, -1, out);
}
