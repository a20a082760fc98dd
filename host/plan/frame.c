/* frame.c: frame lifecycle (read_csv, retain/free), schema accessors and cache marking (the
 * transformations are in transform.c). */
#include "plan/frame.h"

#include "common/alloc.h"
#include "io/csv_options.h"
#include "plan/groupby_plan.h"
#include "session/session_internal.h"

/* The split's chunks run on the session's threads. */
static void run_on_pool(void *pool, int count, void (*task)(void *context, int index, int worker),
                        void *context) {
    ember_thread_pool_run(pool, count, task, context);
}

ember_status ember_read_csv(ember_session *session, const char *path,
                            const ember_csv_options *options, ember_frame **out) {
    if (!session || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    ember_session_clear_error(session);
    *out = NULL;
    if (!path || !*path)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "ember_read_csv: the path is empty");
    ember_csv_options *defaults = NULL;
    if (!options && !(options = defaults = ember_csv_options_create()))
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    ember_frame *frame = ember_calloc(1, sizeof *frame);
    if (!frame) {
        ember_csv_options_free(defaults);
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    atomic_init(&frame->references, 1);
    frame->session = session;
    frame->kind = EMBER_FRAME_CSV;
    ember_error err;
    ember_error_clear(&err);
    ember_csv_parallel parallel = {run_on_pool, session->pool, session->threads};
    ember_status status =
        ember_csv_source_open(path, options, session->threads, &parallel, &frame->source, &err);
    ember_csv_options_free(defaults);
    if (status != EMBER_OK) {
        ember_free(frame);
        return ember_session_take_error(session, &err);
    }
    *out = frame;
    return EMBER_OK;
}

ember_frame *ember_frame_retain(ember_frame *frame) {
    if (frame)
        atomic_fetch_add(&frame->references, 1);
    return frame;
}

void ember_frame_drop_cache(ember_frame *frame) {
    for (int i = 0; i < frame->cache_count; i++) {
        ember_cached_partition *cached = &frame->cache[i];
        if (cached->buffers)
            for (int b = 0; b < 3 * cached->partition.column_count; b++)
                if (cached->buffers[b])
                    clReleaseMemObject(cached->buffers[b]);
        ember_free(cached->buffers);
        for (int c = 0; cached->dictionaries && c < cached->partition.column_count; c++) {
            if (cached->dictionary_buffers && cached->dictionary_buffers[c])
                clReleaseMemObject(cached->dictionary_buffers[c]);
            ember_dictionary_clear(&cached->dictionaries[c]);
        }
        ember_free(cached->dictionary_buffers);
        ember_free(cached->dictionaries);
        ember_partition_clear(&cached->partition);
    }
    ember_free(frame->cache);
    frame->cache = NULL;
    frame->cache_count = 0;
}

void ember_frame_free(ember_frame *frame) {
    if (!frame || atomic_fetch_sub(&frame->references, 1) != 1)
        return;
    ember_frame_drop_cache(frame);
    ember_free(frame->predicate);
    for (int c = 0; c < frame->column_count; c++) {
        ember_free(frame->columns[c].name);
        ember_free(frame->columns[c].expression);
    }
    ember_free(frame->columns);
    for (int k = 0; k < frame->key_count; k++)
        ember_free(frame->keys[k]);
    ember_free(frame->keys);
    ember_csv_source_free(frame->source);
    ember_groupby_plan_free(frame->group);
    ember_schema_clear(&frame->schema);
    ember_frame_free(frame->parent);
    ember_free(frame);
}

ember_session *ember_frame_session(const ember_frame *frame) {
    return frame ? frame->session : NULL;
}

const ember_schema *ember_frame_schema(const ember_frame *frame) {
    return frame->kind == EMBER_FRAME_CSV ? &frame->source->schema : &frame->schema;
}

size_t ember_frame_column_count(const ember_frame *frame) {
    return frame ? (size_t)ember_frame_schema(frame)->count : 0;
}

const char *ember_frame_column_name(const ember_frame *frame, size_t i) {
    if (!frame || i >= (size_t)ember_frame_schema(frame)->count)
        return NULL;
    return ember_frame_schema(frame)->names[i];
}

ember_type ember_frame_column_type(const ember_frame *frame, size_t i) {
    if (!frame || i >= (size_t)ember_frame_schema(frame)->count)
        return EMBER_TYPE_STRING;
    return ember_frame_schema(frame)->types[i];
}

int ember_frame_partition_count(const ember_frame *frame) {
    if (!frame)
        return 0;
    if (frame->cache)
        return frame->cache_count;
    switch (frame->kind) {
    case EMBER_FRAME_CSV:
        return frame->source->split_count;
    case EMBER_FRAME_GROUP_BY:
        return 1; /* the merged groups */
    case EMBER_FRAME_RANGE:
    case EMBER_FRAME_REPARTITION:
    case EMBER_FRAME_COALESCE:
        return frame->partitions;
    default:
        return ember_frame_partition_count(frame->parent);
    }
}

ember_status ember_cache(ember_frame *frame) {
    if (!frame)
        return EMBER_ERROR_INVALID_ARGUMENT;
    frame->cache_requested = true;
    return EMBER_OK;
}

ember_status ember_unpersist(ember_frame *frame) {
    if (!frame)
        return EMBER_ERROR_INVALID_ARGUMENT;
    frame->cache_requested = false;
    ember_frame_drop_cache(frame);
    return EMBER_OK;
}

bool ember_frame_is_cached(const ember_frame *frame) {
    return frame && frame->cache_requested;
}
