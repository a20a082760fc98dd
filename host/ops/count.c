/* count.c: the count action. Each partition's row mask is reduced on the device (fused into
 * the scan task, so no partition waits for the others), or, with filters above the source, one
 * fused kernel evaluates them and counts the rows kept; the partial counts are summed on the
 * host in a final one-task stage. */
#include <stdatomic.h>
#include <string.h>

#include "common/alloc.h"
#include "device/buffer.h"
#include "device/kernels.h"
#include "data/table.h"
#include "exec/scan.h"
#include "ops/groupby_internal.h"
#include "ops/pipeline_device.h"
#include "ops/stage.h"
#include "session/session_internal.h"

#define COUNT_LOCAL_SIZE 64
#define COUNT_MAX_GROUPS 64

typedef struct count_context {
    ember_session *session;
    atomic_llong total;
    atomic_llong mask_bytes;
    ember_pipeline_program *program; /* filters to evaluate (fused kernel), or NULL */
} count_context;

/* The row mask of a partition with every row present: rows bits set, the rest of the last
 * 32-bit word zero. */
static uint32_t *full_mask(int64_t rows, size_t *words) {
    *words = (size_t)(rows + 31) / 32;
    uint32_t *mask = ember_malloc_aligned(*words * sizeof *mask);
    if (!mask)
        return NULL;
    memset(mask, 0xff, *words * sizeof *mask);
    if (rows % 32)
        mask[*words - 1] = (uint32_t)((1ull << (rows % 32)) - 1);
    return mask;
}

static size_t round_up(size_t value, size_t multiple) {
    return (value + multiple - 1) / multiple * multiple;
}

/* Filters (or computed steps) above the source: one fused kernel evaluates them and counts. */
static ember_status count_start(void *raw, const ember_pipeline *pipeline, int partitions,
                                ember_error *err) {
    (void)partitions;
    count_context *ctx = raw;
    ember_pipeline_program_free(ctx->program);
    ctx->program = NULL;
    if (pipeline->predicate_count == 0)
        return EMBER_OK;
    return ember_pipeline_program_create(pipeline, NULL, NULL, 0, ctx->session->pipelines_on_host,
                                         &ctx->program, err);
}

static ember_status count_partition(void *raw, const ember_task *task, ember_error *err) {
    count_context *ctx = raw;
    int64_t rows = task->partition->rows;
    if (rows == 0)
        return EMBER_OK;
    if (ctx->program) {
        int64_t kept = 0;
        ember_status status =
            ember_pipeline_reduce(ctx->program, ctx->session->programs, task, &kept, NULL, err);
        if (status == EMBER_OK)
            atomic_fetch_add(&ctx->total, kept);
        return status;
    }
    if (!task->partition->columns || task->pipeline->source->kind == EMBER_FRAME_RANGE) {
        atomic_fetch_add(&ctx->total, rows); /* a range slice: its length */
        return EMBER_OK;
    }
    size_t source_len = 0;
    const char *source = ember_kernel_source("count", &source_len);
    cl_program program;
    ember_status status = ember_program_get(ctx->session->programs, task->worker, source,
                                            source_len, "", &program, err);
    if (status != EMBER_OK)
        return status;

    size_t words = 0;
    uint32_t *mask = full_mask(rows, &words);
    cl_mem mask_buffer = NULL, partials_buffer = NULL;
    cl_kernel kernel = NULL;
    cl_int rc = CL_SUCCESS;
    if (!mask)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory for a row mask");
    size_t local = COUNT_LOCAL_SIZE;
    if (local > task->worker->info.max_work_group_size)
        local = task->worker->info.max_work_group_size;
    size_t groups = round_up(words, local) / local;
    if (groups > COUNT_MAX_GROUPS)
        groups = COUNT_MAX_GROUPS;
    cl_ulong partials[COUNT_MAX_GROUPS];
    size_t global = groups * local;
    cl_uint word_count = (cl_uint)words;

    status = ember_buffer_from_host(task->worker, task->queue, mask, words * sizeof *mask,
                                    &mask_buffer, err);
    if (status == EMBER_OK)
        status =
            ember_buffer_create(task->worker, groups * sizeof(cl_ulong), &partials_buffer, err);
    if (status != EMBER_OK)
        goto done;
    kernel = clCreateKernel(program, "count_rows", &rc);
    if (rc != CL_SUCCESS) {
        status = ember_cl_fail(err, rc, "clCreateKernel(count_rows)");
        goto done;
    }
    if ((rc = clSetKernelArg(kernel, 0, sizeof mask_buffer, &mask_buffer)) != CL_SUCCESS ||
        (rc = clSetKernelArg(kernel, 1, sizeof word_count, &word_count)) != CL_SUCCESS ||
        (rc = clSetKernelArg(kernel, 2, sizeof partials_buffer, &partials_buffer)) != CL_SUCCESS ||
        (rc = clSetKernelArg(kernel, 3, local * sizeof(cl_ulong), NULL)) != CL_SUCCESS) {
        status = ember_cl_fail(err, rc, "clSetKernelArg(count_rows)");
        goto done;
    }
    rc = clEnqueueNDRangeKernel(task->queue, kernel, 1, NULL, &global, &local, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        status = ember_cl_fail(err, rc, "clEnqueueNDRangeKernel(count_rows)");
        goto done;
    }
    rc = clEnqueueReadBuffer(task->queue, partials_buffer, CL_TRUE, 0, groups * sizeof(cl_ulong),
                             partials, 0, NULL, NULL);
    if (rc != CL_SUCCESS) {
        status = ember_cl_fail(err, rc, "clEnqueueReadBuffer(count partials)");
        goto done;
    }
    long long sum = 0;
    for (size_t g = 0; g < groups; g++)
        sum += (long long)partials[g];
    atomic_fetch_add(&ctx->total, sum);
    atomic_fetch_add(&ctx->mask_bytes, (long long)(words * sizeof *mask));
done:
    if (kernel)
        clReleaseKernel(kernel);
    if (partials_buffer)
        clReleaseMemObject(partials_buffer);
    if (mask_buffer)
        clReleaseMemObject(mask_buffer);
    ember_free_aligned(mask);
    return status;
}

static void count_reset(void *raw) {
    count_context *ctx = raw;
    atomic_store(&ctx->total, 0);
    atomic_store(&ctx->mask_bytes, 0);
}

ember_status ember_count(ember_frame *frame, int64_t *out) {
    if (!frame || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    ember_session *session = frame->session;
    ember_session_clear_error(session);
    struct ember_job *job = ember_job_create(session);
    if (!job)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    if (frame->kind == EMBER_FRAME_GROUP_BY && !frame->cache && !frame->cache_requested) {
        /* The groups are the rows: run the group-by and count its result. */
        struct ember_table *table = NULL;
        ember_status status = ember_groupby_run(frame, job, NULL, &table);
        if (status == EMBER_OK)
            *out = table->rows;
        ember_table_free(table);
        ember_stage_release(frame);
        ember_job_finish(job);
        ember_session_set_last_job(session, job);
        return status;
    }
    count_context ctx = {.session = session};
    ember_scan_op op = {
        .run = count_partition, .reset = count_reset, .start = count_start, .context = &ctx};
    ember_status status = ember_stage_run(frame, NULL, job, &op, false);
    ember_stage_release(frame);
    ember_pipeline_program_free(ctx.program);
    if (status == EMBER_OK) {
        double started = ember_now();
        ember_stage_record *stage = ember_job_stage_add(job, "count");
        int64_t total = atomic_load(&ctx.total);
        if (stage) {
            stage->tasks = 1;
            stage->rows = total;
            stage->bytes = atomic_load(&ctx.mask_bytes);
            stage->seconds = ember_now() - started;
        }
        job->metrics[EMBER_JOB_ROWS] = total;
        *out = total;
    }
    ember_job_finish(job);
    ember_session_set_last_job(session, job);
    return status;
}
