/* repartition.c: the shuffle of a repartition frame (see repartition.h). Stage one runs the
 * parent's pipeline and keeps its partitions; stage "shuffle" plans each input partition's
 * moves on the device (histogram, prefix sum, stable scatter of row indexes) and then builds
 * each output partition from its slices of every input, in input order. */
#include "ops/repartition.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "ops/shuffle_device.h"
#include "ops/stage.h"
#include "session/session_internal.h"

typedef struct shuffle_context {
    ember_session *session;
    ember_partition *inputs;
    int input_count;
    int64_t *offsets; /* [input_count]: global index of each input's first row */
    int keys[EMBER_SHUFFLE_MAX_KEYS];
    int key_count;
    int n;
    ember_shuffle_plan *plans; /* [input_count] */
    ember_partition *outputs;  /* [n] */
    atomic_int failed;
    pthread_mutex_t lock;
    int error_index;
    ember_error error;
} shuffle_context;

static void record(shuffle_context *ctx, int index, const ember_error *err) {
    pthread_mutex_lock(&ctx->lock);
    if (ctx->error_index < 0 || index < ctx->error_index) {
        ctx->error_index = index;
        ctx->error = *err;
    }
    pthread_mutex_unlock(&ctx->lock);
}

static void plan_task(void *raw, int p, int thread) {
    shuffle_context *ctx = raw;
    ember_session *session = ctx->session;
    int w = ember_session_acquire_worker(session);
    ember_worker *worker = &session->workers[w];
    const ember_partition *part = &ctx->inputs[p];
    const ember_column *keys[EMBER_SHUFFLE_MAX_KEYS];
    for (int k = 0; k < ctx->key_count; k++)
        keys[k] = &part->columns[ctx->keys[k]];
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_shuffle_device(
        session->programs, worker, worker->queues[thread % worker->queue_count], keys,
        ctx->key_count, part->rows, ctx->offsets[p], ctx->n, &ctx->plans[p], &err);
    ember_session_release_worker(session, w);
    if (status != EMBER_OK)
        record(ctx, p, &err);
}

/* Output partition d: its slice of every input, in input order. */
static void build_task(void *raw, int d, int thread) {
    (void)thread;
    shuffle_context *ctx = raw;
    ember_partition *out = &ctx->outputs[d];
    const ember_partition *first = &ctx->inputs[0];
    int64_t rows = 0, longest = 0;
    for (int p = 0; p < ctx->input_count; p++) {
        rows += ctx->plans[p].counts[d];
        if (ctx->plans[p].counts[d] > longest)
            longest = ctx->plans[p].counts[d];
    }
    ember_error err;
    ember_error_clear(&err);
    int64_t *index = ember_malloc(sizeof *index * (size_t)(longest + 1));
    out->index = d;
    out->rows = rows;
    out->column_count = first->column_count;
    out->columns = ember_calloc((size_t)first->column_count + 1, sizeof *out->columns);
    bool ok = index && out->columns;
    bool too_big = false;
    for (int c = 0; ok && c < first->column_count; c++) {
        ok = ember_column_init(&out->columns[c], first->columns[c].type, rows);
        for (int p = 0; ok && p < ctx->input_count; p++) {
            const ember_shuffle_plan *plan = &ctx->plans[p];
            int64_t count = plan->counts[d];
            for (int64_t i = 0; i < count; i++)
                index[i] = plan->order[plan->starts[d] + i];
            ok = ember_column_gather(&out->columns[c], &ctx->inputs[p].columns[c], index, count,
                                     &too_big);
        }
    }
    ember_free(index);
    if (!ok) {
        ember_error_set(&err, EMBER_ERROR_OUT_OF_MEMORY,
                        too_big ? "repartition: a string column holds more than 2 GiB in one "
                                  "partition; use more partitions"
                                : "out of memory building shuffled partitions");
        record(ctx, d, &err);
    }
}

ember_status ember_repartition_run(ember_frame *frame, struct ember_job *job,
                                   ember_partition **parts, int *count) {
    ember_session *session = frame->session;
    *parts = NULL;
    *count = 0;
    shuffle_context ctx = {.session = session, .n = frame->partitions, .error_index = -1};
    ember_status status = ember_stage_partitions(frame->parent, job, &ctx.inputs, &ctx.input_count);
    if (status != EMBER_OK)
        return status;
    const ember_schema *schema = ember_frame_schema(frame->parent);
    ctx.key_count = frame->key_count;
    for (int k = 0; k < frame->key_count; k++)
        ctx.keys[k] = ember_schema_find(schema, frame->keys[k]);
    pthread_mutex_init(&ctx.lock, NULL);
    ember_error_clear(&ctx.error);
    double started = ember_now();
    ember_stage_record *stage = ember_job_stage_add(job, "shuffle");
    ctx.offsets = ember_calloc((size_t)ctx.input_count + 1, sizeof *ctx.offsets);
    ctx.plans = ember_calloc((size_t)ctx.input_count + 1, sizeof *ctx.plans);
    ctx.outputs = ember_calloc((size_t)ctx.n + 1, sizeof *ctx.outputs);
    if (!ctx.offsets || !ctx.plans || !ctx.outputs) {
        status = ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    int64_t total = 0;
    for (int p = 0; p < ctx.input_count; p++) {
        ctx.offsets[p] = total;
        total += ctx.inputs[p].rows;
    }
    if (ctx.input_count > 0) {
        ember_thread_pool_run(session->pool, ctx.input_count, plan_task, &ctx);
        if (ctx.error_index < 0)
            ember_thread_pool_run(session->pool, ctx.n, build_task, &ctx);
    } else {
        /* no input partition: n empty partitions of the right columns */
        for (int d = 0; d < ctx.n; d++) {
            ember_partition *out = &ctx.outputs[d];
            out->column_count = schema->count;
            out->columns = ember_calloc((size_t)schema->count + 1, sizeof *out->columns);
            for (int c = 0; out->columns && c < schema->count; c++)
                if (!ember_column_init(&out->columns[c], schema->types[c], 0))
                    break;
        }
    }
    if (stage) {
        stage->tasks = ctx.input_count + ctx.n;
        stage->rows = total;
        stage->seconds = ember_now() - started;
    }
    if (ctx.error_index >= 0) {
        status = ember_session_take_error(session, &ctx.error);
        goto done;
    }
    *parts = ctx.outputs;
    *count = ctx.n;
    ctx.outputs = NULL;
done:
    for (int p = 0; p < ctx.input_count; p++) {
        ember_partition_clear(&ctx.inputs[p]);
        if (ctx.plans)
            ember_shuffle_plan_clear(&ctx.plans[p]);
    }
    for (int d = 0; ctx.outputs && d < ctx.n; d++)
        ember_partition_clear(&ctx.outputs[d]);
    ember_free(ctx.outputs);
    ember_free(ctx.inputs);
    ember_free(ctx.plans);
    ember_free(ctx.offsets);
    pthread_mutex_destroy(&ctx.lock);
    return status;
}
