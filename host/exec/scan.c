/* scan.c: the scan stage (see scan.h). When an inferred column meets a value that does not
 * fit, the stage finishes its pass collecting every needed widening, widens the schema and
 * runs again, so no value is ever lost; each column widens at most twice. */
#include "exec/scan.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "device/buffer.h"
#include "session/session_internal.h"

typedef struct scan_context {
    ember_frame *frame;
    ember_session *session;
    const bool *wanted;
    const ember_scan_op *op;
    bool keep;         /* fill the frame's cache */
    bool convert_none; /* no column to convert: count records without parsing (fast path) */
    ember_cached_partition *kept;
    pthread_mutex_t lock; /* guards everything below */
    ember_type *needed;
    bool widen;
    int64_t rows, malformed, dropped, bytes;
    int error_index; /* partition of the recorded error, -1 when none */
    ember_error error;
} scan_context;

/* Keeps the error of the lowest partition index, so the message is the same at any thread
 * count (FAILFAST reports the first bad row of the file). */
static void record_error(scan_context *scan, int index, const ember_error *err) {
    pthread_mutex_lock(&scan->lock);
    if (scan->error_index < 0 || index < scan->error_index) {
        scan->error_index = index;
        scan->error = *err;
    }
    pthread_mutex_unlock(&scan->lock);
}

/* Device buffers for every host buffer of a partition to be cached. */
static ember_status upload_for_cache(ember_cached_partition *cached, ember_worker *worker,
                                     cl_command_queue queue, ember_error *err) {
    ember_partition *part = &cached->partition;
    cached->buffers = ember_calloc((size_t)part->column_count * 3 + 1, sizeof(cl_mem));
    if (!cached->buffers)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory caching");
    for (int c = 0; c < part->column_count; c++) {
        ember_column *column = &part->columns[c];
        if (!column->loaded)
            continue;
        size_t values = (size_t)(column->length + (column->type == EMBER_TYPE_STRING)) * 8;
        if (column->type == EMBER_TYPE_STRING)
            values = (size_t)(column->length + 1) * sizeof(int32_t);
        void *hosts[3] = {column->values, column->validity, column->bytes};
        size_t sizes[3] = {values, (size_t)(column->length + 7) / 8, (size_t)column->bytes_len};
        for (int b = 0; b < 3; b++) {
            if (!hosts[b])
                continue;
            ember_status status = ember_buffer_from_host(worker, queue, hosts[b], sizes[b],
                                                         &cached->buffers[3 * c + b], err);
            if (status != EMBER_OK)
                return status;
        }
    }
    return EMBER_OK;
}

static void scan_task(void *raw, int index, int thread) {
    scan_context *scan = raw;
    ember_frame *frame = scan->frame;
    ember_csv_source *source = frame->source;
    ember_session *session = scan->session;
    ember_error err;
    ember_error_clear(&err);
    /* A cached partition's buffers live on the device that cached it. */
    int w = frame->cache ? frame->cache[index].worker : ember_session_acquire_worker(session);
    if (frame->cache)
        atomic_fetch_add(&session->worker_load[w], 1);
    ember_worker *worker = &session->workers[w];
    ember_task task = {
        .index = index, .worker = worker, .queue = worker->queues[thread % worker->queue_count]};
    ember_partition local;
    ember_cached_partition *cached = NULL;
    ember_partition *part = &local;
    ember_type *needed = ember_calloc((size_t)source->schema.count + 1, sizeof *needed);
    ember_status status = EMBER_OK;
    if (frame->cache) {
        cached = &frame->cache[index];
        part = &cached->partition;
    } else if (!needed) {
        status = ember_error_set(&err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    } else {
        if (scan->keep) {
            cached = &scan->kept[index];
            cached->worker = w;
            part = &cached->partition;
        }
        /* Nothing widens unless the loader says so. */
        memcpy(needed, source->schema.types, (size_t)source->schema.count * sizeof *needed);
        if (scan->convert_none)
            status = ember_csv_count_split(source->data, &source->splits[index], &source->schema,
                                           &source->config, part, &err);
        else
            status = ember_csv_parse_split(source->data, &source->splits[index], &source->schema,
                                           scan->keep ? NULL : scan->wanted, &source->config, part,
                                           needed, &err);
        part->index = index;
        bool widen = false;
        for (int c = 0; status == EMBER_OK && c < source->schema.count; c++)
            widen |= needed[c] != source->schema.types[c];
        pthread_mutex_lock(&scan->lock);
        if (status == EMBER_OK) {
            scan->malformed += part->rows_malformed;
            scan->dropped += part->rows_dropped;
            scan->bytes += part->source_bytes;
        }
        if (widen) {
            scan->widen = true;
            for (int c = 0; c < source->schema.count; c++)
                if (needed[c] > scan->needed[c])
                    scan->needed[c] = needed[c];
        }
        pthread_mutex_unlock(&scan->lock);
        if (widen) {
            ember_partition_clear(part);
            goto done;
        }
    }
    if (status == EMBER_OK && scan->keep)
        status = upload_for_cache(cached, worker, task.queue, &err);
    if (status == EMBER_OK) {
        task.partition = part;
        task.owned = cached ? NULL : part;
        task.buffers = cached ? cached->buffers : NULL;
        int64_t rows = part->rows;
        status = scan->op->run(scan->op->context, &task, &err);
        pthread_mutex_lock(&scan->lock);
        scan->rows += status == EMBER_OK ? rows : 0;
        pthread_mutex_unlock(&scan->lock);
    }
    if (!frame->cache && !scan->keep)
        ember_partition_clear(part);
done:
    if (status != EMBER_OK)
        record_error(scan, index, &err);
    ember_free(needed);
    ember_session_release_worker(session, w);
}

static void free_kept(scan_context *scan, int count) {
    if (!scan->kept)
        return;
    ember_frame tmp = {.cache = scan->kept, .cache_count = count};
    ember_frame_drop_cache(&tmp);
    scan->kept = NULL;
}

ember_status ember_scan_run(ember_frame *frame, const bool *wanted, struct ember_job *job,
                            const ember_scan_op *op) {
    ember_session *session = frame->session;
    ember_csv_source *source = frame->source;
    int count = frame->cache ? frame->cache_count : source->split_count;
    scan_context scan = {.frame = frame,
                         .session = session,
                         .wanted = wanted,
                         .op = op,
                         .keep = frame->cache_requested && !frame->cache,
                         .error_index = -1};
    pthread_mutex_init(&scan.lock, NULL);
    ember_error_clear(&scan.error);
    ember_status status = EMBER_OK;
    bool *none = NULL;
    scan.needed = ember_calloc((size_t)source->schema.count + 1, sizeof *scan.needed);
    /* The loader reads a NULL wanted list as "all"; the scan's NULL means "none". */
    if (!wanted)
        scan.wanted = none = ember_calloc((size_t)source->schema.count + 1, sizeof *none);
    scan.convert_none = !scan.keep;
    for (int c = 0; scan.wanted && c < source->schema.count; c++)
        scan.convert_none &= !scan.wanted[c];
    if (!scan.needed || !scan.wanted) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (;;) {
        ember_stage_record *stage = ember_job_stage_add(job, frame->cache ? "cache" : "scan");
        double started = ember_now();
        memcpy(scan.needed, source->schema.types,
               (size_t)source->schema.count * sizeof *scan.needed);
        scan.widen = false;
        scan.rows = scan.malformed = scan.dropped = scan.bytes = 0;
        if (scan.keep && !(scan.kept = ember_calloc((size_t)count + 1, sizeof *scan.kept))) {
            status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        ember_thread_pool_run(session->pool, count, scan_task, &scan);
        if (stage) {
            stage->tasks = count;
            stage->rows = scan.rows;
            stage->bytes = scan.bytes;
            stage->seconds = ember_now() - started;
        }
        if (scan.error_index >= 0) {
            free_kept(&scan, count);
            status = ember_session_take_error(session, &scan.error);
            goto done;
        }
        if (!scan.widen)
            break;
        /* A value did not fit its inferred type: widen and run the stage again. */
        memcpy(source->schema.types, scan.needed,
               (size_t)source->schema.count * sizeof *scan.needed);
        free_kept(&scan, count);
        if (op->reset)
            op->reset(op->context);
    }
    job->metrics[EMBER_JOB_PARTITIONS] = count;
    if (frame->cache) {
        job->metrics[EMBER_JOB_PARTITIONS_CACHED] = count;
    } else {
        job->metrics[EMBER_JOB_ROWS_READ] = scan.rows + scan.dropped;
        job->metrics[EMBER_JOB_ROWS_MALFORMED] = scan.malformed;
        job->metrics[EMBER_JOB_ROWS_DROPPED] = scan.dropped;
        job->metrics[EMBER_JOB_BYTES_READ] = scan.bytes;
    }
    if (scan.keep) {
        frame->cache = scan.kept;
        frame->cache_count = count;
        scan.kept = NULL;
    }
done:
    ember_free(none);
    ember_free(scan.needed);
    pthread_mutex_destroy(&scan.lock);
    return status;
}
