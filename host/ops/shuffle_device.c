/* shuffle_device.c: the device side of repartition (kernels/shuffle.cl): a per-block histogram
 * of destinations, an exclusive scan of it, and a stable scatter of the row numbers. */
#include "ops/shuffle_device.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "device/buffer.h"
#include "device/kernels.h"

/* Blocks (one work-item each) per compute unit: on CPUs a few per core, for balance; on GPUs
 * enough work-items to fill the device. A block is never shorter than BLOCK_ROWS_MIN rows
 * unless the partition is, so each work-item amortizes its column of counters. */
#define BLOCKS_PER_UNIT_CPU 8
#define BLOCKS_PER_UNIT_GPU 256
#define BLOCK_ROWS_MIN      256
#define GPU_LOCAL_SIZE      64
/* The scan's single work-group: at most this many work-items (its local memory is tiny). */
#define SCAN_LOCAL_MAX 256
/* The counters (n per block) are kept to max(rows, COUNTS_FLOOR) words, so a large n means
 * fewer, longer blocks rather than counters that outgrow the data. */
#define COUNTS_FLOOR ((int64_t)1 << 20)
/* The kernels number rows in 32 bits, and order is int32. */
#define ROWS_MAX ((int64_t)INT32_MAX)

/* Shared with shuffle.cl. */
enum { KEY_HAS_VALIDITY = 4 };

enum { K_HISTOGRAM, K_PREFIX_SUM, K_SCATTER, K_COUNT };
static const char *const kernel_names[K_COUNT] = {"shuffle_histogram", "shuffle_prefix_sum",
                                                  "shuffle_scatter"};

/* Every buffer a call can make: three per key, the placeholder, and four working buffers. */
#define OWNED_MAX (3 * EMBER_SHUFFLE_MAX_KEYS + 5)

typedef struct shuffle_call {
    const ember_worker *worker;
    cl_command_queue queue;
    ember_error *err;
    cl_kernel kernels[K_COUNT];
    int kernel_count; /* created so far */
    size_t local_size[K_COUNT];
    cl_mem owned[OWNED_MAX]; /* released at the end of the call */
    int owned_count;
    cl_mem placeholder; /* stands for absent buffers (a kernel argument cannot be NULL) */
    cl_mem key_buffers[EMBER_SHUFFLE_MAX_KEYS][3];
    cl_uint key_count, key_info;
    cl_uint rows, n, rr_start, block_rows, blocks;
    cl_mem counts, dest, dest_starts, order;
} shuffle_call;

typedef struct kernel_arg {
    size_t size;
    const void *value;
} kernel_arg;
#define ARG(x)                                                                                     \
    { sizeof(x), &(x) }

/* ---------------------------------------------------------------------------------------
 * OpenCL plumbing.
 * ------------------------------------------------------------------------------------- */

static ember_status cl_failed(shuffle_call *call, cl_int rc, const char *call_name,
                              const char *what) {
    char text[160];
    snprintf(text, sizeof text, "%s(%s)", call_name, what);
    return ember_cl_fail(call->err, rc, text);
}

static void own(shuffle_call *call, cl_mem buffer) {
    call->owned[call->owned_count++] = buffer;
}

/* A device-only buffer; one past the device's largest allocation is refused here, with a
 * message that says so, rather than by the driver. */
static ember_status device_buffer(shuffle_call *call, size_t bytes, const char *what, cl_mem *out) {
    if ((cl_ulong)bytes > call->worker->info.max_allocation)
        return ember_error_set(call->err, EMBER_ERROR_DEVICE_MEMORY,
                               "shuffle: %s needs %zu bytes, more than one allocation on %s allows",
                               what, bytes, call->worker->info.name);
    ember_status status = ember_buffer_create(call->worker, bytes, out, call->err);
    if (status == EMBER_OK)
        own(call, *out);
    return status;
}

static ember_status host_buffer(shuffle_call *call, void *host, size_t bytes, cl_mem *out) {
    ember_status status =
        ember_buffer_from_host(call->worker, call->queue, host, bytes, out, call->err);
    if (status == EMBER_OK)
        own(call, *out);
    return status;
}

static ember_status set_args(shuffle_call *call, int k, cl_uint first, const kernel_arg *args,
                             int count) {
    for (int i = 0; i < count; i++) {
        cl_int rc =
            clSetKernelArg(call->kernels[k], first + (cl_uint)i, args[i].size, args[i].value);
        if (rc != CL_SUCCESS)
            return cl_failed(call, rc, "clSetKernelArg", kernel_names[k]);
    }
    return EMBER_OK;
}

/* Launches kernel k over items work-items (rounded up to whole work-groups; the kernels skip
 * the extra ones). */
static ember_status launch(shuffle_call *call, int k, size_t items) {
    size_t local = call->local_size[k];
    size_t global = (items + local - 1) / local * local;
    cl_int rc = clEnqueueNDRangeKernel(call->queue, call->kernels[k], 1, NULL, &global, &local, 0,
                                       NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK
                            : cl_failed(call, rc, "clEnqueueNDRangeKernel", kernel_names[k]);
}

static ember_status read_buffer(shuffle_call *call, cl_mem buffer, size_t bytes, void *host,
                                const char *what) {
    cl_int rc = clEnqueueReadBuffer(call->queue, buffer, CL_TRUE, 0, bytes, host, 0, NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK : cl_failed(call, rc, "clEnqueueReadBuffer", what);
}

/* Work-group sizes from what the device and each compiled kernel allow. On CPU devices a
 * work-group's items run one after another on one core, so histogram and scatter use
 * single-item groups that spread over the cores. The scan is one work-group whose local
 * memory (a word per item) must fit in half the device's. */
static ember_status local_sizes(shuffle_call *call) {
    const ember_device_info *info = &call->worker->info;
    bool cpu = (info->type & CL_DEVICE_TYPE_CPU) != 0;
    cl_ulong local_bytes = 0;
    cl_int rc = clGetDeviceInfo(info->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local_bytes,
                                &local_bytes, NULL);
    if (rc != CL_SUCCESS)
        return cl_failed(call, rc, "clGetDeviceInfo", "CL_DEVICE_LOCAL_MEM_SIZE");
    for (int k = 0; k < K_COUNT; k++) {
        size_t most = 0;
        rc = clGetKernelWorkGroupInfo(call->kernels[k], info->device, CL_KERNEL_WORK_GROUP_SIZE,
                                      sizeof most, &most, NULL);
        if (rc != CL_SUCCESS)
            return cl_failed(call, rc, "clGetKernelWorkGroupInfo", kernel_names[k]);
        size_t local = k == K_PREFIX_SUM ? SCAN_LOCAL_MAX : cpu ? 1 : GPU_LOCAL_SIZE;
        if (local > most)
            local = most;
        if (local > info->max_work_group_size)
            local = info->max_work_group_size;
        if (k == K_PREFIX_SUM && local > local_bytes / 2 / sizeof(cl_uint))
            local = (size_t)(local_bytes / 2 / sizeof(cl_uint));
        call->local_size[k] = local < 1 ? 1 : local;
    }
    return EMBER_OK;
}

/* The program has no build options: nothing in it depends on an extension. */
static ember_status kernels_create(shuffle_call *call, ember_program_cache *programs) {
    size_t source_len = 0;
    const char *source = ember_kernel_source("shuffle", &source_len);
    if (!source)
        return ember_error_set(call->err, EMBER_ERROR_INTERNAL, "kernel shuffle is not embedded");
    cl_program program;
    ember_status status =
        ember_program_get(programs, call->worker, source, source_len, "", &program, call->err);
    if (status != EMBER_OK)
        return status;
    for (int k = 0; k < K_COUNT; k++) {
        cl_int rc = CL_SUCCESS;
        call->kernels[k] = clCreateKernel(program, kernel_names[k], &rc);
        if (rc != CL_SUCCESS || !call->kernels[k])
            return cl_failed(call, rc != CL_SUCCESS ? rc : CL_INVALID_KERNEL, "clCreateKernel",
                             kernel_names[k]);
        call->kernel_count = k + 1;
    }
    return local_sizes(call);
}

/* Buffers for the key columns (zero-copy on CPU devices), placeholders for unused slots. */
static ember_status keys_prepare(shuffle_call *call, const ember_column *const *keys,
                                 int key_count) {
    ember_status status = device_buffer(call, 64, "a placeholder", &call->placeholder);
    for (int k = 0; k < EMBER_SHUFFLE_MAX_KEYS && status == EMBER_OK; k++) {
        cl_mem *out = call->key_buffers[k];
        out[0] = out[1] = out[2] = call->placeholder;
        if (k >= key_count)
            continue;
        const ember_column *host = keys[k];
        bool is_string = host->type == EMBER_TYPE_STRING;
        size_t length = (size_t)host->length;
        status =
            host_buffer(call, host->values, is_string ? (length + 1) * 4 : length * 8, &out[0]);
        if (status == EMBER_OK && host->validity)
            status = host_buffer(call, host->validity, (length + 7) / 8, &out[1]);
        if (status == EMBER_OK && is_string)
            status = host_buffer(call, host->bytes, (size_t)host->bytes_len, &out[2]);
        call->key_info |= ((cl_uint)host->type | (host->validity ? KEY_HAS_VALIDITY : 0))
                          << (4 * k);
    }
    return status;
}

/* Block length: enough blocks to keep the device busy, each at least BLOCK_ROWS_MIN rows, and
 * few enough that n counters per block stay within max(rows, COUNTS_FLOOR) words (this also
 * keeps every index into the counters below 2^31). */
static void choose_blocks(shuffle_call *call, int64_t rows, int n,
                          const ember_shuffle_tuning *tuning) {
    const ember_device_info *info = &call->worker->info;
    int64_t block_rows;
    if (tuning && tuning->block_rows > 0) {
        block_rows = tuning->block_rows;
    } else {
        int64_t units = info->compute_units > 0 ? (int64_t)info->compute_units : 1;
        int64_t target =
            units * ((info->type & CL_DEVICE_TYPE_CPU) ? BLOCKS_PER_UNIT_CPU : BLOCKS_PER_UNIT_GPU);
        block_rows = (rows + target - 1) / target;
        if (block_rows < BLOCK_ROWS_MIN)
            block_rows = BLOCK_ROWS_MIN;
    }
    int64_t max_blocks = (rows > COUNTS_FLOOR ? rows : COUNTS_FLOOR) / n;
    if (max_blocks < 1)
        max_blocks = 1;
    int64_t least = (rows + max_blocks - 1) / max_blocks;
    if (block_rows < least)
        block_rows = least;
    if (block_rows > rows)
        block_rows = rows;
    call->block_rows = (cl_uint)block_rows;
    call->blocks = (cl_uint)((rows + block_rows - 1) / block_rows);
}

/* The three phases, then the order and each destination's start read back. */
static ember_status run(shuffle_call *call, ember_shuffle_plan *out) {
    size_t total = (size_t)call->n * call->blocks;
    ember_status status =
        device_buffer(call, total * sizeof(cl_uint), "the counters", &call->counts);
    if (status == EMBER_OK)
        status = device_buffer(call, (size_t)call->rows * sizeof(cl_uint), "the destinations",
                               &call->dest);
    if (status == EMBER_OK)
        status = device_buffer(call, (size_t)call->n * sizeof(cl_uint), "the starts",
                               &call->dest_starts);
    if (status == EMBER_OK)
        status =
            device_buffer(call, (size_t)call->rows * sizeof(cl_uint), "the order", &call->order);
    if (status != EMBER_OK)
        return status;

    kernel_arg keys[2 + 3 * EMBER_SHUFFLE_MAX_KEYS] = {ARG(call->key_count), ARG(call->key_info)};
    for (int k = 0; k < EMBER_SHUFFLE_MAX_KEYS; k++)
        for (int b = 0; b < 3; b++)
            keys[2 + 3 * k + b] = (kernel_arg)ARG(call->key_buffers[k][b]);
    kernel_arg histogram[] = {ARG(call->rows), ARG(call->block_rows), ARG(call->blocks),
                              ARG(call->n),    ARG(call->rr_start),   ARG(call->counts),
                              ARG(call->dest)};
    status = set_args(call, K_HISTOGRAM, 0, keys, 2 + 3 * EMBER_SHUFFLE_MAX_KEYS);
    if (status == EMBER_OK)
        status = set_args(call, K_HISTOGRAM, 2 + 3 * EMBER_SHUFFLE_MAX_KEYS, histogram,
                          (int)(sizeof histogram / sizeof *histogram));
    if (status == EMBER_OK)
        status = launch(call, K_HISTOGRAM, call->blocks);

    cl_uint total_words = (cl_uint)total;
    size_t scan_items = call->local_size[K_PREFIX_SUM];
    kernel_arg scan[] = {ARG(call->counts),
                         ARG(total_words),
                         ARG(call->blocks),
                         ARG(call->dest_starts),
                         {scan_items * sizeof(cl_uint), NULL}};
    if (status == EMBER_OK)
        status = set_args(call, K_PREFIX_SUM, 0, scan, 5);
    if (status == EMBER_OK)
        status = launch(call, K_PREFIX_SUM, scan_items);

    kernel_arg scatter[] = {ARG(call->rows), ARG(call->block_rows), ARG(call->blocks),
                            ARG(call->dest), ARG(call->counts),     ARG(call->order)};
    if (status == EMBER_OK)
        status = set_args(call, K_SCATTER, 0, scatter, 6);
    if (status == EMBER_OK)
        status = launch(call, K_SCATTER, call->blocks);

    /* cl_uint and int32_t have one size, and every row number is below 2^31. */
    if (status == EMBER_OK)
        status = read_buffer(call, call->order, (size_t)call->rows * sizeof(cl_uint), out->order,
                             "shuffle order");
    if (status != EMBER_OK)
        return status;
    cl_uint *starts = ember_malloc((size_t)call->n * sizeof *starts);
    if (!starts)
        return ember_error_set(call->err, EMBER_ERROR_OUT_OF_MEMORY,
                               "out of memory for %d shuffle starts", out->destinations);
    status = read_buffer(call, call->dest_starts, (size_t)call->n * sizeof *starts, starts,
                         "shuffle starts");
    for (int d = 0; d < out->destinations && status == EMBER_OK; d++) {
        out->starts[d] = starts[d];
        out->counts[d] =
            (d + 1 < out->destinations ? (int64_t)starts[d + 1] : (int64_t)call->rows) -
            (int64_t)starts[d];
    }
    ember_free(starts);
    return status;
}

/* ---------------------------------------------------------------------------------------
 * The call.
 * ------------------------------------------------------------------------------------- */

static ember_status check_arguments(const ember_column *const *keys, int key_count, int64_t rows,
                                    int64_t row_offset, int n, ember_shuffle_plan *out,
                                    ember_error *err) {
    if (!out || (!keys && key_count > 0))
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "shuffle: a NULL argument");
    if (n < 1)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "shuffle: %d destinations (at least 1 needed)", n);
    if (key_count < 0 || key_count > EMBER_SHUFFLE_MAX_KEYS)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "shuffle: %d key columns (0 to %d allowed)", key_count,
                               EMBER_SHUFFLE_MAX_KEYS);
    if (rows < 0 || rows > ROWS_MAX)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "shuffle: %lld rows in one partition (at most %lld)",
                               (long long)rows, (long long)ROWS_MAX);
    if (row_offset < 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "shuffle: negative row offset %lld", (long long)row_offset);
    for (int k = 0; k < key_count; k++) {
        const ember_column *key = keys[k];
        if (!key)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "shuffle key %d is missing",
                                   k);
        if (!key->loaded || key->length != rows)
            return ember_error_set(
                err, EMBER_ERROR_INVALID_ARGUMENT, "shuffle key %d has %lld rows (want %lld)%s", k,
                (long long)key->length, (long long)rows, key->loaded ? "" : " and is not loaded");
        if (key->type != EMBER_TYPE_INT64 && key->type != EMBER_TYPE_FLOAT64 &&
            key->type != EMBER_TYPE_STRING && key->type != EMBER_TYPE_BOOL)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "shuffle key %d has an unknown type", k);
        if (rows > 0 &&
            (!key->values || (key->type == EMBER_TYPE_STRING && key->bytes_len > 0 && !key->bytes)))
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "shuffle key %d has no values", k);
    }
    return EMBER_OK;
}

void ember_shuffle_plan_clear(ember_shuffle_plan *plan) {
    if (!plan)
        return;
    ember_free(plan->counts);
    ember_free(plan->starts);
    ember_free(plan->order);
    memset(plan, 0, sizeof *plan);
}

static ember_status plan_allocate(ember_shuffle_plan *out, int n, int64_t rows, ember_error *err) {
    out->destinations = n;
    out->counts = ember_calloc((size_t)n, sizeof *out->counts);
    out->starts = ember_calloc((size_t)n, sizeof *out->starts);
    out->order = ember_malloc((size_t)(rows > 0 ? rows : 1) * sizeof *out->order);
    if (out->counts && out->starts && out->order)
        return EMBER_OK;
    ember_shuffle_plan_clear(out);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                           "out of memory for a shuffle plan of %lld rows to %d destinations",
                           (long long)rows, n);
}

ember_status ember_shuffle_device_tuned(ember_program_cache *programs, const ember_worker *worker,
                                        cl_command_queue queue, const ember_column *const *keys,
                                        int key_count, int64_t rows, int64_t row_offset, int n,
                                        const ember_shuffle_tuning *tuning, ember_shuffle_plan *out,
                                        ember_error *err) {
    if (out)
        memset(out, 0, sizeof *out);
    ember_status status = check_arguments(keys, key_count, rows, row_offset, n, out, err);
    if (status != EMBER_OK)
        return status;
    if (!programs || !worker || !queue)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "shuffle: no device");
    status = plan_allocate(out, n, rows, err);
    if (status != EMBER_OK || rows == 0)
        return status;
    if (n == 1) {
        out->counts[0] = rows;
        for (int64_t i = 0; i < rows; i++)
            out->order[i] = (int32_t)i;
        return EMBER_OK;
    }

    shuffle_call call = {.worker = worker,
                         .queue = queue,
                         .err = err,
                         .key_count = (cl_uint)key_count,
                         .rows = (cl_uint)rows,
                         .n = (cl_uint)n,
                         .rr_start = (cl_uint)(row_offset % n)};
    choose_blocks(&call, rows, n, tuning);
    status = kernels_create(&call, programs);
    if (status == EMBER_OK)
        status = keys_prepare(&call, keys, key_count);
    if (status == EMBER_OK)
        status = run(&call, out);
    if (status != EMBER_OK) {
        /* Kernels may still be queued against buffers that wrap the caller's columns. */
        clFinish(queue);
        ember_shuffle_plan_clear(out);
    }
    for (int i = call.owned_count - 1; i >= 0; i--)
        clReleaseMemObject(call.owned[i]);
    for (int k = call.kernel_count - 1; k >= 0; k--)
        clReleaseKernel(call.kernels[k]);
    return status;
}

ember_status ember_shuffle_device(ember_program_cache *programs, const ember_worker *worker,
                                  cl_command_queue queue, const ember_column *const *keys,
                                  int key_count, int64_t rows, int64_t row_offset, int n,
                                  ember_shuffle_plan *out, ember_error *err) {
    return ember_shuffle_device_tuned(programs, worker, queue, keys, key_count, rows, row_offset, n,
                                      NULL, out, err);
}
