/* scan.c: the stage that reads a pipeline's source (see scan.h). When an inferred CSV column
 * meets a value that does not fit, the stage finishes its pass collecting every needed
 * widening, widens the schema, re-checks the steps above and runs again, so no value is ever
 * lost; each column widens at most twice. */
#include "exec/scan.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "data/dictionary.h"
#include "device/buffer.h"
#include "session/session_internal.h"

typedef struct scan_context {
    ember_frame *frame; /* the pipeline's source */
    const ember_pipeline *pipeline;
    ember_session *session;
    const bool *wanted;
    const ember_scan_op *op;
    bool keep;         /* fill the frame's cache */
    bool convert_none; /* no column to convert: count records without parsing (fast path) */
    bool *grouped;     /* [columns]: find the column's groups while parsing; NULL: none */
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

/* The groups of the cached string columns with few distinct values (a group-by by one of
 * them then needs no hashing), found while parsing, on the device too. No dictionary is not an
 * error. */
static ember_status dictionary_for_cache(ember_cached_partition *cached, ember_worker *worker,
                                         cl_command_queue queue, ember_error *err) {
    ember_partition *part = &cached->partition;
    if (!cached->dictionaries) /* no string column was grouped */
        cached->dictionaries =
            ember_calloc((size_t)part->column_count + 1, sizeof(ember_dictionary));
    cached->dictionary_buffers = ember_calloc((size_t)part->column_count + 1, sizeof(cl_mem));
    if (!cached->dictionaries || !cached->dictionary_buffers)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory caching");
    for (int c = 0; c < part->column_count; c++) {
        ember_dictionary *dictionary = &cached->dictionaries[c];
        if (!dictionary->row_group)
            continue;
        if (ember_dictionary_max_groups(part->rows) < 1) {
            ember_dictionary_clear(dictionary); /* no rows: nothing to skip hashing for */
            continue;
        }
        ember_status status = ember_buffer_from_host(worker, queue, dictionary->row_group,
                                                     (size_t)part->rows * sizeof(uint32_t),
                                                     &cached->dictionary_buffers[c], err);
        if (status != EMBER_OK)
            return status;
    }
    return EMBER_OK;
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
    return dictionary_for_cache(cached, worker, queue, err);
}

/* Rows [first, last) of range slice index. */
static void range_slice(const ember_frame *frame, int index, int64_t *first, int64_t *rows) {
    unsigned __int128 n = (uint64_t)frame->range_end - (uint64_t)frame->range_start;
    uint64_t a = (uint64_t)(n * (unsigned)index / (unsigned)frame->partitions);
    uint64_t b = (uint64_t)(n * (unsigned)(index + 1) / (unsigned)frame->partitions);
    *first = (int64_t)((uint64_t)frame->range_start + a);
    *rows = (int64_t)(b - a);
}

/* One source partition through the operator. */
static ember_status scan_partition(scan_context *scan, int index, ember_worker *worker, int w,
                                   cl_command_queue queue, ember_type *needed, ember_error *err) {
    ember_frame *frame = scan->frame;
    ember_task task = {
        .index = index, .worker = worker, .queue = queue, .pipeline = scan->pipeline};
    ember_partition local = {0};
    ember_dictionary *dictionaries = NULL; /* found while parsing, for the grouped columns */
    ember_cached_partition *cached = NULL;
    ember_partition *part = &local;
    ember_status status = EMBER_OK;
    if (frame->cache) {
        cached = &frame->cache[index];
        part = &cached->partition;
    } else if (frame->kind == EMBER_FRAME_RANGE) {
        /* No data: the kernels compute each value from its row. */
        ember_column *column = ember_calloc(1, sizeof *column);
        if (!column)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        column->type = EMBER_TYPE_INT64;
        local.columns = column;
        local.column_count = 1;
        local.index = index;
        range_slice(frame, index, &task.range_start, &local.rows);
        column->length = local.rows;
    } else {
        ember_csv_source *source = frame->source;
        if (scan->keep) {
            cached = &scan->kept[index];
            cached->worker = w;
            part = &cached->partition;
        }
        /* Nothing widens unless the loader says so. */
        memcpy(needed, source->schema.types, (size_t)source->schema.count * sizeof *needed);
        if (scan->grouped) {
            dictionaries = ember_calloc((size_t)source->schema.count, sizeof *dictionaries);
            if (!dictionaries)
                return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            if (cached)
                cached->dictionaries = dictionaries; /* the cache's from now on */
        }
        if (scan->convert_none)
            status = ember_csv_count_split(source->data, &source->splits[index], &source->schema,
                                           &source->config, part, err);
        else
            status =
                ember_csv_parse_split_grouped(source->data, &source->splits[index], &source->schema,
                                              scan->keep ? NULL : scan->wanted, scan->grouped,
                                              &source->config, part, needed, dictionaries, err);
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
            if (!cached)
                ember_free(dictionaries); /* empty: the parse widened */
            return EMBER_OK;
        }
    }
    if (status == EMBER_OK && scan->keep)
        status = upload_for_cache(cached, worker, queue, err);
    if (status == EMBER_OK) {
        task.partition = part;
        task.owned = cached ? NULL : part;
        task.buffers = cached ? cached->buffers : NULL;
        task.dictionaries = cached ? cached->dictionaries : dictionaries;
        task.dictionary_buffers = cached ? cached->dictionary_buffers : NULL;
        int64_t rows = part->rows;
        status = scan->op->run(scan->op->context, &task, err);
        pthread_mutex_lock(&scan->lock);
        scan->rows += status == EMBER_OK ? rows : 0;
        pthread_mutex_unlock(&scan->lock);
    }
    if (!frame->cache && !scan->keep) {
        for (int c = 0; dictionaries && c < frame->source->schema.count; c++)
            ember_dictionary_clear(&dictionaries[c]);
        ember_free(dictionaries);
        ember_partition_clear(part);
    }
    return status;
}

/* Task j: the source partitions of the frame's partition j, in order, on one worker. */
static void scan_task(void *raw, int j, int thread) {
    scan_context *scan = raw;
    ember_frame *frame = scan->frame;
    ember_session *session = scan->session;
    const ember_pipeline *pipeline = scan->pipeline;
    ember_error err;
    ember_error_clear(&err);
    int first = pipeline->task_first[j];
    if (scan->op->skip && scan->op->skip(scan->op->context, first))
        return;
    /* A cached partition's buffers live on the device that cached it. */
    int w = frame->cache ? frame->cache[first].worker : ember_session_acquire_worker(session);
    if (frame->cache)
        atomic_fetch_add(&session->worker_load[w], 1);
    ember_worker *worker = &session->workers[w];
    cl_command_queue queue = worker->queues[thread % worker->queue_count];
    int columns = frame->kind == EMBER_FRAME_CSV ? frame->source->schema.count : 0;
    ember_type *needed = ember_calloc((size_t)columns + 1, sizeof *needed);
    int index = first;
    ember_status status = EMBER_OK;
    if (!needed)
        status = ember_error_set(&err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    while (status == EMBER_OK && index < pipeline->task_first[j + 1]) {
        status = scan_partition(scan, index, worker, w, queue, needed, &err);
        if (status == EMBER_OK)
            index++;
    }
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

/* The pipeline of top, after its columns caught up with a widened source. */
static ember_status plan(ember_frame *top, ember_pipeline **pipeline) {
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_frame_refresh(top, &err);
    if (status == EMBER_OK)
        status = ember_pipeline_create(top, pipeline, &err);
    if (status != EMBER_OK)
        return ember_session_take_error(top->session, &err);
    if ((*pipeline)->source->kind != EMBER_FRAME_CSV &&
        (*pipeline)->source->kind != EMBER_FRAME_RANGE && !(*pipeline)->source->cache) {
        ember_pipeline_free(*pipeline);
        *pipeline = NULL;
        return ember_session_fail(top->session, EMBER_ERROR_INTERNAL,
                                  "scan: the stage's source was not materialized");
    }
    return EMBER_OK;
}

/* The string columns whose groups the parse finds (in grouped, returned; NULL when none): all
 * when the partitions are to be cached (the cache keeps dictionaries of them all), else those
 * the operator asks for. */
static bool *find_groups_while_parsing(const scan_context *scan, const ember_schema *schema,
                                       const bool *source_wanted, bool *grouped) {
    if (scan->frame->kind != EMBER_FRAME_CSV || scan->frame->cache || scan->convert_none)
        return NULL;
    bool any = false;
    for (int c = 0; c < schema->count; c++) {
        grouped[c] = schema->types[c] == EMBER_TYPE_STRING &&
                     (scan->keep || (source_wanted[c] && scan->op->wants_dictionary &&
                                     scan->op->wants_dictionary(scan->op->context, c)));
        any |= grouped[c];
    }
    return any ? grouped : NULL;
}

static const char *stage_name(const scan_context *scan) {
    if (scan->op->name)
        return scan->op->name;
    if (scan->frame->cache && scan->frame->cache_transient)
        return scan->frame->kind == EMBER_FRAME_REPARTITION ? "shuffle read" : "groups";
    if (scan->frame->cache)
        return "cache";
    return scan->frame->kind == EMBER_FRAME_RANGE ? "range" : "scan";
}

ember_status ember_scan_run(ember_frame *top, const bool *wanted, struct ember_job *job,
                            const ember_scan_op *op) {
    ember_session *session = top->session;
    ember_pipeline *pipeline = NULL;
    ember_status status = plan(top, &pipeline);
    if (status != EMBER_OK)
        return status;
    ember_frame *frame = pipeline->source;
    const ember_schema *schema = ember_frame_schema(frame);
    int count = ember_frame_partition_count(frame);
    scan_context scan = {.frame = frame,
                         .pipeline = pipeline,
                         .session = session,
                         .op = op,
                         .keep = frame->kind == EMBER_FRAME_CSV && frame->cache_requested &&
                                 !frame->cache,
                         .error_index = -1};
    pthread_mutex_init(&scan.lock, NULL);
    ember_error_clear(&scan.error);
    bool *source_wanted = ember_calloc((size_t)schema->count + 1, sizeof *source_wanted);
    bool *grouped = ember_calloc((size_t)schema->count + 1, sizeof *grouped);
    scan.needed = ember_calloc((size_t)schema->count + 1, sizeof *scan.needed);
    if (!scan.needed || !source_wanted || !grouped) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (;;) {
        ember_pipeline_source_columns(pipeline, wanted, source_wanted);
        scan.wanted = source_wanted;
        scan.convert_none = !scan.keep;
        for (int c = 0; c < schema->count; c++)
            scan.convert_none &= !source_wanted[c];
        if (op->start) {
            ember_error err;
            ember_error_clear(&err);
            status = op->start(op->context, pipeline, count, &err);
            if (status != EMBER_OK) {
                ember_session_take_error(session, &err);
                goto done;
            }
        }
        scan.grouped = find_groups_while_parsing(&scan, schema, source_wanted, grouped);
        ember_stage_record *stage = ember_job_stage_add(job, stage_name(&scan));
        double started = ember_now();
        memcpy(scan.needed, schema->types, (size_t)schema->count * sizeof *scan.needed);
        scan.widen = false;
        scan.rows = scan.malformed = scan.dropped = scan.bytes = 0;
        if (scan.keep && !(scan.kept = ember_calloc((size_t)count + 1, sizeof *scan.kept))) {
            status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        ember_thread_pool_run(session->pool, pipeline->task_count, scan_task, &scan);
        if (stage) {
            stage->tasks = pipeline->task_count;
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
        /* A value did not fit its inferred type: widen, re-check the steps, run again. */
        memcpy(frame->source->schema.types, scan.needed,
               (size_t)schema->count * sizeof *scan.needed);
        frame->version++;
        free_kept(&scan, count);
        if (op->reset)
            op->reset(op->context);
        ember_pipeline_free(pipeline);
        scan.pipeline = pipeline = NULL;
        if ((status = plan(top, &pipeline)) != EMBER_OK)
            goto done;
        scan.pipeline = pipeline;
    }
    /* The input's partitions: those of the job's first stage (later stages read its output). */
    if (!job->metrics[EMBER_JOB_PARTITIONS])
        job->metrics[EMBER_JOB_PARTITIONS] = count;
    if (frame->cache) {
        if (!frame->cache_transient)
            job->metrics[EMBER_JOB_PARTITIONS_CACHED] = count;
    } else if (frame->kind == EMBER_FRAME_CSV) {
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
    ember_pipeline_free(pipeline);
    ember_free(source_wanted);
    ember_free(grouped);
    ember_free(scan.needed);
    pthread_mutex_destroy(&scan.lock);
    return status;
}
