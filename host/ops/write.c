/* write.c: the actions that hand a frame's rows to people and files: show (a table of the first
 * rows) and write_csv (partitions formatted in parallel, written in order to a temporary file
 * that is renamed over the path only when everything succeeded). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "data/table.h"
#include "ops/stage.h"
#include "session/session_internal.h"

ember_status ember_show(ember_frame *frame, int64_t max_rows, FILE *out) {
    if (!frame || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    ember_table *table = NULL;
    /* One row more than shown, so the table says whether rows were left out. */
    ember_status status = ember_collect_first(frame, max_rows < 0 ? -1 : max_rows + 1, &table);
    if (status != EMBER_OK)
        return status;
    status = ember_table_print(table, out, max_rows);
    ember_table_free(table);
    if (status != EMBER_OK)
        return ember_session_fail(frame->session, status, "show: writing the table failed: %s",
                                  strerror(errno));
    return EMBER_OK;
}

typedef struct format_context {
    const ember_schema *schema;
    ember_partition *parts;
    char **text;
    size_t *length;
    atomic_int failed;
} format_context;

/* Partition i as CSV rows in memory. */
static void format_task(void *raw, int i, int thread) {
    (void)thread;
    format_context *ctx = raw;
    ember_partition *part = &ctx->parts[i];
    struct ember_table view = {.rows = part->rows,
                               .column_count = ctx->schema->count,
                               .names = ctx->schema->names,
                               .columns = part->columns};
    FILE *memory = open_memstream(&ctx->text[i], &ctx->length[i]);
    if (!memory) {
        atomic_store(&ctx->failed, 1);
        return;
    }
    ember_table_write_csv_rows(&view, memory, false);
    if (ferror(memory))
        atomic_store(&ctx->failed, 1);
    fclose(memory);
    /* the rows are text now: free the columns early */
    ember_partition_clear(part);
}

/* Writes header and texts to a temporary file beside path, then renames it to path. */
static ember_status write_file(ember_session *session, const char *path, const ember_schema *schema,
                               char **text, const size_t *length, int count) {
    size_t len = strlen(path);
    char *temp = ember_malloc(len + 16);
    if (!temp)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    /* A new name beside path, created with the mode fopen would give (0666 less the umask;
     * mkstemp's 0600 would stay on the file after the rename). */
    int fd = -1;
    for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
        snprintf(temp, len + 16, "%s.tmp.%06x", path,
                 ((unsigned)getpid() * 2654435761u + attempt * 40503u) & 0xffffffu);
        fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        ember_status status = ember_session_fail(session, EMBER_ERROR_IO,
                                                 "write_csv: cannot create a file beside '%s': %s",
                                                 path, strerror(errno));
        ember_free(temp);
        return status;
    }
    FILE *file = fdopen(fd, "w");
    bool ok = file != NULL;
    if (ok) {
        struct ember_table header = {.column_count = schema->count, .names = schema->names};
        ember_table_write_csv_rows(&header, file, true);
        for (int i = 0; i < count && !ferror(file); i++)
            if (length[i])
                fwrite(text[i], 1, length[i], file);
        ok = fflush(file) == 0 && !ferror(file) && fsync(fd) == 0;
    }
    int saved = errno;
    if (file)
        ok = (fclose(file) == 0) && ok;
    else
        close(fd);
    if (ok && rename(temp, path) != 0) {
        saved = errno;
        ok = false;
    }
    ember_status status = EMBER_OK;
    if (!ok) {
        unlink(temp);
        status = ember_session_fail(session, EMBER_ERROR_IO, "write_csv: writing '%s' failed: %s",
                                    path, strerror(saved));
    }
    ember_free(temp);
    return status;
}

ember_status ember_write_csv(ember_frame *frame, const char *path) {
    if (!frame || !path)
        return EMBER_ERROR_INVALID_ARGUMENT;
    ember_session *session = frame->session;
    ember_session_clear_error(session);
    if (!*path)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "write_csv: the path is empty");
    struct ember_job *job = ember_job_create(session);
    if (!job)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    ember_partition *parts = NULL;
    int count = 0;
    ember_status status = ember_stage_partitions(frame, job, &parts, &count);
    if (status == EMBER_OK) {
        double started = ember_now();
        ember_stage_record *stage = ember_job_stage_add(job, "write");
        format_context ctx = {.schema = ember_frame_schema(frame), .parts = parts};
        ctx.text = ember_calloc((size_t)count + 1, sizeof *ctx.text);
        ctx.length = ember_calloc((size_t)count + 1, sizeof *ctx.length);
        int64_t rows = 0;
        for (int i = 0; i < count; i++)
            rows += parts[i].rows;
        if (!ctx.text || !ctx.length) {
            status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        } else {
            ember_thread_pool_run(session->pool, count, format_task, &ctx);
            status = atomic_load(&ctx.failed)
                         ? ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY,
                                              "out of memory formatting CSV")
                         : write_file(session, path, ctx.schema, ctx.text, ctx.length, count);
        }
        for (int i = 0; ctx.text && i < count; i++)
            free(ctx.text[i]); /* open_memstream's buffers come from malloc */
        ember_free(ctx.text);
        ember_free(ctx.length);
        if (stage) {
            stage->tasks = count;
            stage->rows = rows;
            stage->seconds = ember_now() - started;
        }
        if (status == EMBER_OK)
            job->metrics[EMBER_JOB_ROWS] = rows;
    }
    for (int i = 0; i < count; i++)
        ember_partition_clear(&parts[i]);
    ember_free(parts);
    ember_stage_release(frame);
    ember_job_finish(job);
    ember_session_set_last_job(session, job);
    return status;
}
