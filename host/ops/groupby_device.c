/* groupby_device.c: hash aggregation of one batch on an OpenCL device (kernels/groupby.cl):
 * insert every row into an open-addressing table (grown and re-run when full), compact the
 * slots into dense group ids, then fold each aggregate with 64-bit atomics, or on the host from
 * the per-row group ids where the device lacks them (or force_path 3 asks). */
#include "ops/groupby_device.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "device/buffer.h"
#include "device/kernels.h"

/* Work-items per work-group, and work-groups per compute unit: enough to keep a GPU busy,
 * few enough that each work-item loops over many rows. */
#define LOCAL_SIZE            256
#define GROUPS_PER_UNIT       16
#define LOCAL_GROUPS_PER_UNIT 4
/* Table capacities: the first guess without a hint stays small, so low-cardinality batches
 * do not clear and scan a big table; high-cardinality ones fail it fast (the fill limit)
 * and grow to the size their observed fill extrapolates to. */
#define FIRST_SLOTS_MAX ((int64_t)1 << 16)
#define SLOTS_MIN       64
#define SLOTS_MAX       ((int64_t)1 << 31)
/* The work-group-local pre-aggregation table: at most this many slots, and at most half the
 * device's local memory (the rest keeps GPU occupancy up). */
#define LOCAL_SLOTS_MAX 4096
/* Rows above this do not fit the kernels' 32-bit row numbers (owner words hold row + 1). */
#define ROWS_MAX ((int64_t)INT32_MAX)
/* Radix partitioning of an exact insert (see ember_groupby_radix_bits): it starts where the
 * table outgrows 1/RADIX_TABLE_SHARE of the device's cache, with buckets whose table slices
 * fit 1/RADIX_SLICE_SHARE of it. */
#define RADIX_TABLE_SHARE 8
#define RADIX_SLICE_SHARE 128
#define RADIX_BITS_MIN    2
#define RADIX_BITS_MAX    12
/* Slices of fewer slots would see their share of the groups vary too much around 60% (the
 * target fill), and a slice past 3/4 regrows the whole table. */
#define RADIX_SLICE_SLOTS_MIN 4096
/* Blocks of rows for the histogram and scatter: a few per compute unit, so that the cores stay
 * busy, but a bounded number, as each block's work-item reads every block's counts. */
#define RADIX_BLOCKS_PER_UNIT 4
#define RADIX_BLOCKS_MAX      256

/* Shared with groupby.cl. */
enum { STATE_FILL, STATE_FULL, STATE_ROWS_DONE, STATE_GROUPS, STATE_WORDS };
#define FILL_BATCH 32
enum { KEY_HAS_VALIDITY = 4 };
enum {
    AGG_FLOAT64 = 4,
    AGG_HAS_VALUES = 8,
    AGG_VALUES_VALID = 16,
    AGG_HAS_COUNTS = 32,
    AGG_COUNTS_VALID = 64
};

/* The aggregate kernels (from K_SEED on) exist only in the 64-bit-atomics program. */
enum {
    K_FILL,
    K_INSERT,
    K_INSERT_EXACT,
    K_COMPACT,
    K_REMAP,
    K_RADIX_COUNT,
    K_RADIX_SCATTER,
    K_INSERT_SLICES,
    K_SEED,
    K_AGGREGATE,
    K_AGGREGATE_LOCAL,
    K_OVERFLOW,
    K_COUNT
};
static const char *const kernel_names[K_COUNT] = {
    "groupby_fill",  "groupby_insert",      "groupby_insert_exact",    "groupby_compact",
    "groupby_remap", "groupby_radix_count", "groupby_radix_scatter",   "groupby_insert_slices",
    "groupby_seed",  "groupby_aggregate",   "groupby_aggregate_local", "groupby_overflow"};

/* One aggregate's arrays as the host fallback folds them, in the kernels' form: count, a (the
 * int64 value or low word of an int64 sum, double bits, or the ordered image of a float
 * min/max) and b (the high word of an int64 sum). */
typedef struct agg_raw {
    int64_t *count, *a, *b;
} agg_raw;

/* Columns already given buffers (COUNT(x) and SUM(x) share x's), so nothing is uploaded twice
 * on devices without shared memory. */
typedef struct column_seen {
    const ember_device_column *column;
    cl_mem buffers[3];
    bool has_validity;
} column_seen;

typedef struct groupby_call {
    const ember_worker *worker;
    cl_command_queue queue;
    ember_error *err;
    cl_kernel kernels[K_COUNT];
    int kernel_count; /* created so far */
    size_t local_size[K_COUNT];
    bool contiguous; /* CPU device: each work-item takes a contiguous run of rows */
    /* Buffers made for this call, released at its end. */
    cl_mem *owned;
    int owned_count, owned_max;
    cl_mem placeholder; /* stands for absent buffers (a kernel argument cannot be NULL) */
    column_seen *seen;
    int seen_count;
    cl_mem key_buffers[EMBER_GROUPBY_MAX_KEYS][3];
    cl_uint key_info, key_count;
    /* slots: slot_words words per slot, (owner, tag) or, for an exact key, (owner, rows, hash
     * low, hash high); compaction replaces the owner by the group id */
    cl_mem row_slot, slots, state, representative;
    /* exact: one int64/float64/bool key, whose full hash identifies it (groupby_insert_exact).
     * table_counts: every aggregate is a row count, counted in the table, so no per-row group
     * ids are made and the counts arrive in group_rows. */
    bool exact, table_counts;
    /* table_counts would do: the build turns it on once it partitions (the slices count their
     * rows without atomics, so few groups cost nothing there) */
    bool countable;
    cl_uint slot_words;
    cl_mem group_rows;
    /* radix_bits > 0: the rows are partitioned by that many hash bits before an exact insert,
     * into order_hash / order_row (see groupby_radix_count). */
    int radix_bits;
    cl_mem order_hash, order_row, bucket_start;
    cl_uint rows;
    int64_t capacity, groups;
    /* Per aggregate: the first overflowing group of a device int64 SUM (UINT32_MAX: none), on
     * the device and read back; the high words of a host int64 SUM. */
    cl_mem overflow;
    cl_uint *overflow_first;
    int64_t **high_words;
} groupby_call;

typedef struct kernel_arg {
    size_t size;
    const void *value;
} kernel_arg;
#define ARG(x)                                                                                     \
    { sizeof(x), &(x) }

static int64_t next_pow2(int64_t value) {
    int64_t p = 1;
    while (p < value && p < SLOTS_MAX)
        p <<= 1;
    return p;
}

static int64_t clamp64(int64_t value, int64_t low, int64_t high) {
    return value < low ? low : value > high ? high : value;
}

/* ---------------------------------------------------------------------------------------
 * OpenCL plumbing.
 * ------------------------------------------------------------------------------------- */

static ember_status cl_failed(groupby_call *call, cl_int rc, const char *call_name,
                              const char *what) {
    char text[160];
    snprintf(text, sizeof text, "%s(%s)", call_name, what);
    return ember_cl_fail(call->err, rc, text);
}

/* Records a buffer the call releases at its end (or releases it at once when out of memory). */
static ember_status own(groupby_call *call, cl_mem buffer) {
    if (call->owned_count == call->owned_max) {
        int max = call->owned_max ? call->owned_max * 2 : 16;
        cl_mem *grown = ember_realloc(call->owned, (size_t)max * sizeof *grown);
        if (!grown) {
            clReleaseMemObject(buffer);
            return ember_error_set(call->err, EMBER_ERROR_OUT_OF_MEMORY,
                                   "out of memory for the group-by buffer list");
        }
        call->owned = grown;
        call->owned_max = max;
    }
    call->owned[call->owned_count++] = buffer;
    return EMBER_OK;
}

static ember_status device_buffer(groupby_call *call, size_t bytes, cl_mem *out) {
    ember_status status = ember_buffer_create(call->worker, bytes, out, call->err);
    return status == EMBER_OK ? own(call, *out) : status;
}

static ember_status host_buffer(groupby_call *call, void *host, size_t bytes, cl_mem *out) {
    ember_status status =
        ember_buffer_from_host(call->worker, call->queue, host, bytes, out, call->err);
    return status == EMBER_OK ? own(call, *out) : status;
}

/* Releases a buffer early (a table being regrown) and forgets it. */
static void disown(groupby_call *call, cl_mem buffer) {
    for (int i = 0; i < call->owned_count; i++)
        if (call->owned[i] == buffer) {
            clReleaseMemObject(buffer);
            call->owned[i] = call->owned[--call->owned_count];
            return;
        }
}

static ember_status read_buffer(groupby_call *call, cl_mem buffer, bool blocking, size_t bytes,
                                void *host, const char *what) {
    if (bytes == 0)
        return EMBER_OK;
    cl_int rc = clEnqueueReadBuffer(call->queue, buffer, blocking ? CL_TRUE : CL_FALSE, 0, bytes,
                                    host, 0, NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK : cl_failed(call, rc, "clEnqueueReadBuffer", what);
}

static ember_status set_args(groupby_call *call, int k, cl_uint first, const kernel_arg *args,
                             int count) {
    for (int i = 0; i < count; i++) {
        cl_int rc =
            clSetKernelArg(call->kernels[k], first + (cl_uint)i, args[i].size, args[i].value);
        if (rc != CL_SUCCESS)
            return cl_failed(call, rc, "clSetKernelArg", kernel_names[k]);
    }
    return EMBER_OK;
}

/* Work-groups for a kernel over items items: one item per work-item, up to a cap. */
static size_t grid_groups(const groupby_call *call, int k, int64_t items, size_t per_unit) {
    size_t local = call->local_size[k];
    size_t wanted = (size_t)((items + (int64_t)local - 1) / (int64_t)local);
    size_t cap = (size_t)call->worker->info.compute_units * per_unit;
    if (cap < 1)
        cap = 1;
    return wanted < 1 ? 1 : wanted > cap ? cap : wanted;
}

/* Items per work-item on CPU devices (see row_range in groupby.cl); 0 elsewhere. */
static cl_uint row_chunk(const groupby_call *call, int k, size_t groups, int64_t items) {
    if (!call->contiguous)
        return 0;
    int64_t per = (int64_t)(groups * call->local_size[k]);
    return (cl_uint)((items + per - 1) / per);
}

static ember_status launch(groupby_call *call, int k, size_t groups) {
    size_t local = call->local_size[k], global = groups * local;
    cl_int rc = clEnqueueNDRangeKernel(call->queue, call->kernels[k], 1, NULL, &global, &local, 0,
                                       NULL, NULL);
    return rc == CL_SUCCESS ? EMBER_OK
                            : cl_failed(call, rc, "clEnqueueNDRangeKernel", kernel_names[k]);
}

/* Sets words 64-bit words of buffer to value with a kernel (see groupby_fill). */
static ember_status fill(groupby_call *call, cl_mem buffer, int64_t words, cl_ulong value) {
    size_t groups = grid_groups(call, K_FILL, words, GROUPS_PER_UNIT);
    cl_uint count = (cl_uint)words, chunk = row_chunk(call, K_FILL, groups, words);
    kernel_arg args[] = {ARG(buffer), ARG(count), ARG(chunk), ARG(value)};
    ember_status status = set_args(call, K_FILL, 0, args, 4);
    return status == EMBER_OK ? launch(call, K_FILL, groups) : status;
}

/* One program per (64-bit atomics, fp64) pair: types travel as kernel arguments, so no other
 * variant is ever compiled. Only these fixed tokens reach the build options. */
static ember_status kernels_create(groupby_call *call, ember_program_cache *programs) {
    const ember_device_info *info = &call->worker->info;
    const char *options =
        info->int64_atomics
            ? (info->fp64 ? "-DEMBER_INT64_ATOMICS=1 -DEMBER_FP64=1" : "-DEMBER_INT64_ATOMICS=1")
            : (info->fp64 ? "-DEMBER_FP64=1" : "");
    size_t source_len = 0;
    const char *source = ember_kernel_source("groupby", &source_len);
    if (!source)
        return ember_error_set(call->err, EMBER_ERROR_INTERNAL, "kernel groupby is not embedded");
    cl_program program;
    ember_status status =
        ember_program_get(programs, call->worker, source, source_len, options, &program, call->err);
    if (status != EMBER_OK)
        return status;
    int count = info->int64_atomics ? K_COUNT : K_SEED;
    for (int k = 0; k < count; k++) {
        cl_int rc = CL_SUCCESS;
        call->kernels[k] = clCreateKernel(program, kernel_names[k], &rc);
        if (rc != CL_SUCCESS || !call->kernels[k])
            return cl_failed(call, rc != CL_SUCCESS ? rc : CL_INVALID_KERNEL, "clCreateKernel",
                             kernel_names[k]);
        call->kernel_count = k + 1;
        size_t most = 0;
        rc = clGetKernelWorkGroupInfo(call->kernels[k], info->device, CL_KERNEL_WORK_GROUP_SIZE,
                                      sizeof most, &most, NULL);
        if (rc != CL_SUCCESS)
            return cl_failed(call, rc, "clGetKernelWorkGroupInfo", kernel_names[k]);
        size_t local = LOCAL_SIZE;
        if (local > most)
            local = most;
        if (local > info->max_work_group_size)
            local = info->max_work_group_size;
        /* On CPU devices a work-group's items run one after another on one core: a local table
         * per single-item work-group then needs no local atomics (see fold_alone). */
        if ((k == K_AGGREGATE_LOCAL || k == K_RADIX_COUNT || k == K_RADIX_SCATTER ||
             k == K_INSERT_SLICES) &&
            call->contiguous)
            local = 1;
        call->local_size[k] = local < 1 ? 1 : local;
    }
    return EMBER_OK;
}

/* The device buffers of a column: given ones, or wrapped/uploaded from the host column.
 * out[0] values (or offsets), out[1] validity, out[2] string bytes; the placeholder where a
 * column has none. */
static ember_status column_buffers(groupby_call *call, const ember_device_column *column,
                                   cl_mem out[3], bool *has_validity) {
    for (int i = 0; i < call->seen_count; i++) {
        const ember_device_column *other = call->seen[i].column;
        if (other->host == column->host && other->values == column->values &&
            other->validity == column->validity && other->bytes == column->bytes) {
            memcpy(out, call->seen[i].buffers, sizeof call->seen[i].buffers);
            *has_validity = call->seen[i].has_validity;
            return EMBER_OK;
        }
    }
    const ember_column *host = column->host;
    bool is_string = host->type == EMBER_TYPE_STRING;
    size_t length = (size_t)host->length;
    ember_status status = EMBER_OK;
    out[0] = column->values;
    if (!out[0])
        status =
            host_buffer(call, host->values, (is_string ? (length + 1) * 4 : length * 8), &out[0]);
    *has_validity = column->validity || host->validity;
    out[1] = column->validity ? column->validity : call->placeholder;
    if (status == EMBER_OK && !column->validity && host->validity)
        status = host_buffer(call, host->validity, (length + 7) / 8, &out[1]);
    out[2] = column->bytes ? column->bytes : call->placeholder;
    if (status == EMBER_OK && is_string && !column->bytes)
        status = host_buffer(call, host->bytes, (size_t)host->bytes_len, &out[2]);
    if (status == EMBER_OK) {
        column_seen *entry = &call->seen[call->seen_count++];
        entry->column = column;
        memcpy(entry->buffers, out, sizeof entry->buffers);
        entry->has_validity = *has_validity;
    }
    return status;
}

/* ---------------------------------------------------------------------------------------
 * The table: insert (growing), compact, remap.
 * ------------------------------------------------------------------------------------- */

#define KEY_ARG_COUNT (2 + 3 * EMBER_GROUPBY_MAX_KEYS)

static ember_status set_key_args(groupby_call *call, int k) {
    kernel_arg args[KEY_ARG_COUNT] = {ARG(call->key_count), ARG(call->key_info)};
    for (int key = 0; key < EMBER_GROUPBY_MAX_KEYS; key++)
        for (int b = 0; b < 3; b++)
            args[2 + 3 * key + b] = (kernel_arg)ARG(call->key_buffers[key][b]);
    return set_args(call, k, 0, args, KEY_ARG_COUNT);
}

/* A table of at least slots slots: a power of two for groupby_insert (it masks the hash), a
 * multiple of 64 for groupby_insert_exact (it scales the hash), so that table stays close to
 * the size asked for. */
static int64_t table_size(const groupby_call *call, int64_t slots) {
    if (!call->exact)
        return next_pow2(slots);
    return clamp64((slots + 63) / 64 * 64, SLOTS_MIN, SLOTS_MAX);
}

/* The slots wanted for groups groups: twice as many (half full), or for the exact table 5/3
 * as many (60% full): its probes compare hashes only, so a longer run costs little, and its
 * slots are twice as big. */
static int64_t slots_for(const groupby_call *call, int64_t groups) {
    return table_size(call, call->exact ? groups * 5 / 3 + 1 : 2 * groups);
}

/* The capacity that holds rows groups under the fill limit (3/4, less the claims a work-group
 * may not have pushed yet), so an insert into it never fails. */
static int64_t sure_capacity(const groupby_call *call, int64_t rows) {
    return clamp64(table_size(call, (rows + FILL_BATCH) * 4 / 3 + 1), SLOTS_MIN, SLOTS_MAX);
}

static int64_t first_capacity(const groupby_call *call, int64_t rows,
                              const ember_groupby_tuning *tuning) {
    if (tuning && tuning->initial_slots > 0)
        return table_size(call, tuning->initial_slots);
    int64_t guess =
        tuning && tuning->groups_hint > 0 ? slots_for(call, tuning->groups_hint) : FIRST_SLOTS_MAX;
    return clamp64(guess, SLOTS_MIN, sure_capacity(call, rows));
}

/* One insert of the partitioned rows, a work-item per bucket (see groupby_insert_slices): the
 * slices clear themselves, so the table needs no fill. */
static ember_status insert_slices(groupby_call *call) {
    int64_t words = call->capacity * call->slot_words;
    ember_status status = device_buffer(call, (size_t)words * sizeof(cl_uint), &call->slots);
    if (status == EMBER_OK)
        status = fill(call, call->state, STATE_WORDS / 2, 0);
    cl_uint buckets = 1u << call->radix_bits, capacity = (cl_uint)call->capacity;
    cl_uint by_rows = call->capacity >= sure_capacity(call, call->rows);
    cl_uint count_rows = call->table_counts;
    kernel_arg args[] = {ARG(call->rows),       ARG(buckets),         ARG(call->bucket_start),
                         ARG(call->order_hash), ARG(call->order_row), ARG(call->slots),
                         ARG(capacity),         ARG(by_rows),         ARG(call->row_slot),
                         ARG(count_rows),       ARG(call->state)};
    if (status == EMBER_OK)
        status = set_key_args(call, K_INSERT_SLICES);
    if (status == EMBER_OK)
        status = set_args(call, K_INSERT_SLICES, KEY_ARG_COUNT, args, 11);
    size_t local = call->local_size[K_INSERT_SLICES];
    if (status == EMBER_OK)
        status = launch(call, K_INSERT_SLICES, (buckets + local - 1) / local);
    return status;
}

/* One insert attempt into a fresh table of call->capacity slots; *full says it must grow. */
static ember_status insert_once(groupby_call *call, cl_uint hash_bits,
                                cl_uint state_words[STATE_WORDS], bool *full) {
    if (call->radix_bits > 0) {
        ember_status status = insert_slices(call);
        if (status == EMBER_OK)
            status = read_buffer(call, call->state, true, STATE_WORDS * sizeof(cl_uint),
                                 state_words, "group-by state");
        *full = status == EMBER_OK && state_words[STATE_FULL] != 0;
        return status;
    }
    cl_uint mask = (cl_uint)(call->capacity - 1), capacity = (cl_uint)call->capacity;
    /* The fill limit keeps linear probing short: past 3/4 full it is cheaper to regrow. */
    cl_uint limit = (cl_uint)(call->capacity - call->capacity / 4);
    int k = call->exact ? K_INSERT_EXACT : K_INSERT;
    size_t groups = grid_groups(call, k, call->rows, GROUPS_PER_UNIT);
    cl_uint chunk = row_chunk(call, k, groups, call->rows);
    int64_t words = call->capacity * call->slot_words;
    ember_status status = device_buffer(call, (size_t)words * sizeof(cl_uint), &call->slots);
    if (status == EMBER_OK)
        status = fill(call, call->slots, words / 2, 0);
    if (status == EMBER_OK)
        status = fill(call, call->state, STATE_WORDS / 2, 0);
    cl_uint count_rows = call->table_counts;
    kernel_arg args[] = {ARG(call->rows), ARG(chunk),          ARG(hash_bits),   ARG(call->slots),
                         ARG(mask),       ARG(call->row_slot), ARG(call->state), ARG(limit)};
    kernel_arg exact_args[] = {ARG(call->rows), ARG(chunk),          ARG(call->slots),
                               ARG(capacity),   ARG(call->row_slot), ARG(call->state),
                               ARG(limit),      ARG(count_rows)};
    if (status == EMBER_OK)
        status = set_key_args(call, k);
    if (status == EMBER_OK)
        status = call->exact ? set_args(call, k, KEY_ARG_COUNT, exact_args, 8)
                             : set_args(call, k, KEY_ARG_COUNT, args, 8);
    if (status == EMBER_OK)
        status = launch(call, k, groups);
    if (status == EMBER_OK)
        status = read_buffer(call, call->state, true, STATE_WORDS * sizeof(cl_uint), state_words,
                             "group-by state");
    *full = status == EMBER_OK && state_words[STATE_FULL] != 0;
    return status;
}

/* The radix bits for an exact table of slots slots on a device with cache_bytes of global
 * memory cache, or 0 where partitioning does not pay (see groupby_device.h). */
int ember_groupby_radix_bits(bool cpu_device, cl_ulong cache_bytes, int64_t slots) {
    int64_t table_bytes = slots * 16;
    if (!cpu_device || cache_bytes == 0 ||
        table_bytes <= (int64_t)(cache_bytes / RADIX_TABLE_SHARE) ||
        (slots >> RADIX_BITS_MIN) < RADIX_SLICE_SLOTS_MIN)
        return 0;
    int bits = RADIX_BITS_MIN;
    while (bits < RADIX_BITS_MAX && (slots >> (bits + 1)) >= RADIX_SLICE_SLOTS_MIN &&
           (table_bytes >> bits) > (int64_t)(cache_bytes / RADIX_SLICE_SHARE))
        bits++;
    return bits;
}

static ember_status radix_choose(groupby_call *call, const ember_groupby_tuning *tuning) {
    call->radix_bits = 0;
    if (!call->exact)
        return EMBER_OK;
    int forced = tuning ? tuning->radix_bits : 0;
    if (forced != 0) {
        call->radix_bits = forced > 0 ? (forced > RADIX_BITS_MAX ? RADIX_BITS_MAX : forced) : 0;
        return EMBER_OK;
    }
    cl_ulong cache_bytes = 0;
    cl_int rc = clGetDeviceInfo(call->worker->info.device, CL_DEVICE_GLOBAL_MEM_CACHE_SIZE,
                                sizeof cache_bytes, &cache_bytes, NULL);
    if (rc != CL_SUCCESS)
        return cl_failed(call, rc, "clGetDeviceInfo", "CL_DEVICE_GLOBAL_MEM_CACHE_SIZE");
    call->radix_bits = ember_groupby_radix_bits(call->contiguous, cache_bytes, call->capacity);
    /* The partitioned rows' hashes take one more buffer of 8 bytes a row: where the device
     * cannot allocate that, the unpartitioned insert still works. */
    if ((cl_ulong)call->rows * sizeof(cl_ulong) > call->worker->info.max_allocation)
        call->radix_bits = 0;
    return EMBER_OK;
}

/* Partitions the rows by the top radix_bits bits of their hash (groupby_radix_count, then
 * groupby_radix_scatter) into order_hash / order_row, with each bucket's first position in
 * bucket_start. Done once per call: a regrown table has bigger slices of the same buckets. */
static ember_status radix_partition(groupby_call *call) {
    cl_uint shift = (cl_uint)(32 - call->radix_bits), buckets = 1u << call->radix_bits;
    int64_t wanted = clamp64((int64_t)call->worker->info.compute_units * RADIX_BLOCKS_PER_UNIT, 1,
                             RADIX_BLOCKS_MAX);
    cl_uint block_rows = (cl_uint)((call->rows + wanted - 1) / wanted);
    cl_uint blocks = (call->rows + block_rows - 1) / block_rows;
    size_t count_bytes = (size_t)blocks * buckets * sizeof(cl_uint);
    cl_mem counts = NULL, cursors = NULL;
    ember_status status = device_buffer(call, count_bytes, &counts);
    if (status == EMBER_OK)
        status = device_buffer(call, count_bytes, &cursors);
    if (status == EMBER_OK)
        status = device_buffer(call, (size_t)call->rows * sizeof(cl_ulong), &call->order_hash);
    if (status == EMBER_OK)
        status = device_buffer(call, (size_t)call->rows * sizeof(cl_uint), &call->order_row);
    if (status == EMBER_OK)
        status = device_buffer(call, ((size_t)buckets + 1) * sizeof(cl_uint), &call->bucket_start);
    kernel_arg count_args[] = {ARG(call->rows), ARG(block_rows), ARG(blocks), ARG(shift),
                               ARG(counts)};
    kernel_arg scatter_args[] = {ARG(call->rows),
                                 ARG(block_rows),
                                 ARG(blocks),
                                 ARG(shift),
                                 ARG(counts),
                                 ARG(cursors),
                                 ARG(call->order_hash),
                                 ARG(call->order_row),
                                 ARG(call->bucket_start)};
    for (int k = K_RADIX_COUNT; k <= K_RADIX_SCATTER && status == EMBER_OK; k++) {
        size_t local = call->local_size[k];
        status = set_key_args(call, k);
        if (status == EMBER_OK)
            status = k == K_RADIX_COUNT ? set_args(call, k, KEY_ARG_COUNT, count_args, 5)
                                        : set_args(call, k, KEY_ARG_COUNT, scatter_args, 9);
        if (status == EMBER_OK)
            status = launch(call, k, (blocks + local - 1) / local);
    }
    return status;
}

/* Inserts until a table holds every group. A full table is grown at least 4x, to twice the
 * groups that its fill extrapolates to over all rows (an overestimate: new keys turn up ever
 * more rarely as rows go by), but never past the size that cannot fail, and after a second
 * failure straight to that size. */
static ember_status build_table(groupby_call *call, const ember_groupby_tuning *tuning) {
    cl_uint hash_bits = tuning && tuning->hash_bits > 0 ? (cl_uint)tuning->hash_bits : 0;
    call->capacity = first_capacity(call, call->rows, tuning);
    for (int failures = 0;; failures++) {
        cl_uint state[STATE_WORDS];
        bool full = false;
        /* Chosen again after each growth: a first guess without a hint is small. */
        ember_status status = call->radix_bits > 0 ? EMBER_OK : radix_choose(call, tuning);
        if (status == EMBER_OK && call->radix_bits > 0 && !call->order_hash) {
            status = radix_partition(call);
            call->table_counts = call->table_counts || call->countable;
        }
        if (status == EMBER_OK)
            status = insert_once(call, hash_bits, state, &full);
        if (status != EMBER_OK)
            return status;
        if (!full) {
            call->groups = state[STATE_FILL];
            return EMBER_OK;
        }
        if (call->capacity >= SLOTS_MAX)
            return ember_error_set(call->err, EMBER_ERROR_DEVICE_MEMORY,
                                   "group-by table full at %lld slots", (long long)call->capacity);
        disown(call, call->slots);
        call->slots = NULL;
        int64_t done = state[STATE_ROWS_DONE] ? state[STATE_ROWS_DONE] : 1;
        int64_t estimate = (int64_t)state[STATE_FILL] * call->rows / done;
        int64_t grown = slots_for(call, estimate), sure = sure_capacity(call, call->rows);
        if (grown < call->capacity * 4)
            grown = call->capacity * 4;
        if (grown > sure || failures >= 1)
            grown = sure;
        if (grown <= call->capacity) /* only an initial_slots past the sure size */
            grown = call->capacity * 2;
        call->capacity = clamp64(grown, 1, SLOTS_MAX);
    }
}

/* Dense group ids for the occupied slots (with a representative row each), and row_slot
 * turned into row_group (or, with table counts, the groups' row counts into group_rows). */
static ember_status compact(groupby_call *call) {
    size_t group_bytes = (size_t)(call->groups > 0 ? call->groups : 1) * sizeof(cl_ulong);
    ember_status status = device_buffer(call, group_bytes, &call->representative);
    cl_mem group_rows = call->placeholder;
    if (status == EMBER_OK && call->table_counts) {
        status = device_buffer(call, group_bytes, &call->group_rows);
        group_rows = call->group_rows;
    }
    size_t groups = grid_groups(call, K_COMPACT, call->capacity, GROUPS_PER_UNIT);
    size_t items = groups * call->local_size[K_COMPACT];
    cl_uint capacity = (cl_uint)call->capacity, count_rows = call->table_counts;
    cl_uint per_item = (cl_uint)(((size_t)call->capacity + items - 1) / items);
    kernel_arg args[] = {
        ARG(call->slots),          ARG(capacity),         ARG(per_item),   ARG(call->state),
        ARG(call->representative), ARG(call->slot_words), ARG(count_rows), ARG(group_rows)};
    if (status == EMBER_OK)
        status = set_args(call, K_COMPACT, 0, args, 8);
    if (status == EMBER_OK)
        status = launch(call, K_COMPACT, groups);
    if (call->table_counts)
        return status;
    size_t remap_groups = grid_groups(call, K_REMAP, call->rows, GROUPS_PER_UNIT);
    cl_uint chunk = row_chunk(call, K_REMAP, remap_groups, call->rows);
    kernel_arg remap_args[] = {ARG(call->row_slot), ARG(call->slots), ARG(call->rows), ARG(chunk),
                               ARG(call->slot_words)};
    if (status == EMBER_OK)
        status = set_args(call, K_REMAP, 0, remap_args, 5);
    if (status == EMBER_OK)
        status = launch(call, K_REMAP, remap_groups);
    return status;
}

/* Known groups: the row group ids and representatives come from the caller, the state says
 * how many groups there are, as compaction would have. */
static ember_status dense_prepare(groupby_call *call, const ember_dense_groups *dense) {
    call->groups = dense->groups;
    ember_status status = EMBER_OK;
    if (dense->row_group_buffer)
        call->row_slot = dense->row_group_buffer; /* the cache's: not owned */
    else
        status = host_buffer(call, (void *)dense->row_group, (size_t)call->rows * sizeof(cl_uint),
                             &call->row_slot);
    if (status == EMBER_OK)
        status = device_buffer(call, (size_t)(dense->groups > 0 ? dense->groups : 1) * 8,
                               &call->representative);
    cl_uint state[STATE_WORDS] = {0};
    state[STATE_GROUPS] = (cl_uint)dense->groups;
    cl_int rc = CL_SUCCESS;
    if (status == EMBER_OK)
        rc = clEnqueueWriteBuffer(call->queue, call->representative, CL_TRUE, 0,
                                  (size_t)dense->groups * 8, dense->representative, 0, NULL, NULL);
    if (status == EMBER_OK && rc == CL_SUCCESS)
        rc = clEnqueueWriteBuffer(call->queue, call->state, CL_TRUE, 0, sizeof state, state, 0,
                                  NULL, NULL);
    if (status == EMBER_OK && rc != CL_SUCCESS)
        status = cl_failed(call, rc, "clEnqueueWriteBuffer", "known groups");
    return status;
}

/* ---------------------------------------------------------------------------------------
 * Aggregates.
 * ------------------------------------------------------------------------------------- */

static bool is_int64_sum(const ember_agg_input *agg) {
    return agg->op == EMBER_AGG_OP_SUM && agg->type == EMBER_TYPE_INT64;
}

/* The ordered integer image of a double (see float_order in groupby.cl): NaNs made one, then
 * the magnitude bits of negatives flipped. order_flip alone undoes it. */
static int64_t order_flip(uint64_t bits) {
    return (int64_t)(bits ^ ((bits >> 63) ? 0x7fffffffffffffffULL : 0));
}

static int64_t float_order(uint64_t bits) {
    if ((bits & 0x7ff0000000000000ULL) == 0x7ff0000000000000ULL && (bits & 0x000fffffffffffffULL))
        bits = 0x7ff8000000000000ULL;
    return order_flip(bits);
}

static int64_t agg_initial(const ember_agg_input *agg) {
    return agg->op == EMBER_AGG_OP_MIN ? INT64_MAX : agg->op == EMBER_AGG_OP_MAX ? INT64_MIN : 0;
}

static uint64_t host_bits(const ember_device_column *column, int64_t row) {
    uint64_t bits;
    memcpy(&bits, (const char *)column->host->values + 8 * row, sizeof bits);
    return bits;
}

/* The fallback: the same folds as the kernels, in row order, from the per-row group ids. */
static void host_aggregate(const ember_agg_input *agg, const cl_uint *row_group, int64_t rows,
                           int64_t groups, agg_raw raw) {
    int64_t initial = agg_initial(agg);
    for (int64_t g = 0; g < groups; g++) {
        raw.count[g] = 0;
        if (raw.a)
            raw.a[g] = initial;
        if (raw.b)
            raw.b[g] = 0;
    }
    bool is_float = agg->type == EMBER_TYPE_FLOAT64;
    for (int64_t row = 0; row < rows; row++) {
        if (agg->values && !ember_column_is_valid(agg->values->host, row))
            continue;
        int64_t n = 1;
        if (agg->counts) {
            n = ember_column_is_valid(agg->counts->host, row) ? (int64_t)host_bits(agg->counts, row)
                                                              : 0;
            if (n == 0)
                continue;
        }
        cl_uint g = row_group[row];
        raw.count[g] = (int64_t)((uint64_t)raw.count[g] + (uint64_t)n);
        if (agg->op == EMBER_AGG_OP_COUNT)
            continue;
        uint64_t bits = host_bits(agg->values, row);
        int64_t v = (int64_t)bits;
        if (is_float && agg->op != EMBER_AGG_OP_SUM)
            v = float_order(bits);
        if (agg->op == EMBER_AGG_OP_MIN) {
            if (v < raw.a[g])
                raw.a[g] = v;
        } else if (agg->op == EMBER_AGG_OP_MAX) {
            if (v > raw.a[g])
                raw.a[g] = v;
        } else if (is_float) {
            double sum, add;
            memcpy(&sum, &raw.a[g], sizeof sum);
            memcpy(&add, &bits, sizeof add);
            sum += add;
            memcpy(&raw.a[g], &sum, sizeof sum);
        } else {
            /* 128-bit add, as on the device: the carry out of the low word goes high. */
            uint64_t old = (uint64_t)raw.a[g], lo = old + bits;
            raw.a[g] = (int64_t)lo;
            raw.b[g] += (v < 0 ? -1 : 0) + (lo < old ? 1 : 0);
        }
    }
}

/* Bytes of __local memory, queried per call (the worker does not keep it). */
static ember_status local_memory(groupby_call *call, cl_ulong *bytes) {
    cl_int rc = clGetDeviceInfo(call->worker->info.device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof *bytes,
                                bytes, NULL);
    return rc == CL_SUCCESS ? EMBER_OK
                            : cl_failed(call, rc, "clGetDeviceInfo", "CL_DEVICE_LOCAL_MEM_SIZE");
}

/* Launches kernel k over the groups; its last two arguments are the group count and chunk. */
static ember_status over_groups(groupby_call *call, int k, const kernel_arg *args, int count) {
    size_t groups = grid_groups(call, k, call->groups, GROUPS_PER_UNIT);
    cl_uint group_count = (cl_uint)call->groups;
    cl_uint chunk = row_chunk(call, k, groups, call->groups);
    kernel_arg tail[] = {ARG(group_count), ARG(chunk)};
    ember_status status = set_args(call, k, 0, args, count);
    if (status == EMBER_OK)
        status = set_args(call, k, (cl_uint)count, tail, 2);
    return status == EMBER_OK ? launch(call, k, groups) : status;
}

/* Folds aggregate index on the device and queues the reads of its counts and values straight
 * into the result. An int64 SUM's high words stay on the device, where a kernel finds the
 * first overflowing group. */
static ember_status device_aggregate(groupby_call *call, const ember_agg_input *aggs, int index,
                                     int force_path, cl_ulong local_bytes,
                                     ember_group_result *out) {
    const ember_agg_input *agg = &aggs[index];
    size_t bytes = (size_t)call->groups * 8;
    bool has_value = agg->op != EMBER_AGG_OP_COUNT, sum128 = is_int64_sum(agg);
    size_t stride = 1 + (size_t)has_value + (size_t)sum128;
    cl_mem count = NULL, a = call->placeholder, b = call->placeholder;
    cl_mem values[3] = {call->placeholder, call->placeholder, call->placeholder};
    cl_mem counts[3] = {call->placeholder, call->placeholder, call->placeholder};
    bool values_valid = false, counts_valid = false;
    ember_status status = device_buffer(call, bytes, &count);
    if (status == EMBER_OK && has_value)
        status = device_buffer(call, bytes, &a);
    if (status == EMBER_OK && sum128)
        status = device_buffer(call, bytes, &b);
    if (status == EMBER_OK && agg->values)
        status = column_buffers(call, agg->values, values, &values_valid);
    if (status == EMBER_OK && agg->counts)
        status = column_buffers(call, agg->counts, counts, &counts_valid);
    cl_uint info = (cl_uint)agg->op | (agg->type == EMBER_TYPE_FLOAT64 ? AGG_FLOAT64 : 0) |
                   (has_value ? AGG_HAS_VALUES : 0) | (values_valid ? AGG_VALUES_VALID : 0) |
                   (agg->counts ? AGG_HAS_COUNTS : 0) | (counts_valid ? AGG_COUNTS_VALID : 0);
    kernel_arg seed_args[] = {ARG(count), ARG(a), ARG(b)};
    kernel_arg seed_info[] = {ARG(info)};
    if (status == EMBER_OK)
        status = set_args(call, K_SEED, 5, seed_info, 1);
    if (status == EMBER_OK)
        status = over_groups(call, K_SEED, seed_args, 3);
    if (status != EMBER_OK)
        return status;

    /* Local first when every group has a local slot and each work-group sees more rows than
     * there are groups: then hot keys stay off global atomics, and the flush costs less than
     * the rows it saves. */
    int64_t local_slots = clamp64((int64_t)(local_bytes / 2 / (stride * 8)), 0, LOCAL_SLOTS_MAX);
    size_t local_groups = grid_groups(call, K_AGGREGATE_LOCAL, call->rows, LOCAL_GROUPS_PER_UNIT);
    bool use_local = force_path == 2 || (force_path == 0 && call->groups <= local_slots &&
                                         call->groups * (int64_t)local_groups <= call->rows);
    if (local_slots < 1)
        use_local = false;
    int k = use_local ? K_AGGREGATE_LOCAL : K_AGGREGATE;
    size_t groups = use_local ? local_groups : grid_groups(call, k, call->rows, GROUPS_PER_UNIT);
    /* The local kernel's chunk is per work-item within its work-group's rows. */
    cl_uint group_rows = (cl_uint)(((size_t)call->rows + groups - 1) / groups);
    cl_uint chunk = !use_local ? row_chunk(call, k, groups, call->rows)
                    : call->contiguous
                        ? (cl_uint)((group_rows + call->local_size[k] - 1) / call->local_size[k])
                        : 0;
    kernel_arg args[] = {ARG(call->row_slot), ARG(call->rows), ARG(chunk),     ARG(info),
                         ARG(values[0]),      ARG(values[1]),  ARG(counts[0]), ARG(counts[1]),
                         ARG(count),          ARG(a),          ARG(b)};
    status = set_args(call, k, 0, args, 11);
    if (status == EMBER_OK && use_local) {
        if (local_slots > call->groups)
            local_slots = call->groups;
        cl_uint slots = (cl_uint)local_slots;
        size_t table_bytes = (size_t)(local_slots > 0 ? local_slots : 1) * 8 * stride;
        kernel_arg local_args[] = {ARG(slots), ARG(group_rows), {table_bytes, NULL}};
        status = set_args(call, k, 11, local_args, 3);
    }
    if (status == EMBER_OK)
        status = launch(call, k, groups);
    cl_uint agg_index = (cl_uint)index;
    kernel_arg overflow_args[] = {ARG(a), ARG(b), ARG(call->overflow), ARG(agg_index)};
    if (status == EMBER_OK && sum128)
        status = over_groups(call, K_OVERFLOW, overflow_args, 4);
    if (status == EMBER_OK)
        status = read_buffer(call, count, false, bytes, out->counts[index], "group counts");
    if (status == EMBER_OK && has_value)
        status = read_buffer(call, a, false, bytes, out->values[index], "group values");
    return status;
}

/* Results into their final form: the first overflowing int64 SUM group (from the device's
 * overflow word, or checked here for host sums: the 128-bit total must be the sign extension
 * of its low word), float min/max decoded. */
static void finish_aggregate(const groupby_call *call, const ember_agg_input *agg, int index,
                             ember_group_result *out) {
    int64_t *values = out->values[index];
    if (is_int64_sum(agg) && !out->overflow) {
        int64_t first = -1;
        if (call->high_words[index]) {
            const int64_t *high = call->high_words[index];
            for (int64_t g = 0; g < call->groups && first < 0; g++)
                if (high[g] != (values[g] < 0 ? -1 : 0))
                    first = g;
        } else if (call->overflow_first[index] != UINT32_MAX) {
            first = call->overflow_first[index];
        }
        if (first >= 0) {
            out->overflow = true;
            out->overflow_aggregate = index;
            out->overflow_group = first;
        }
    } else if (agg->type == EMBER_TYPE_FLOAT64 && agg->op != EMBER_AGG_OP_SUM &&
               agg->op != EMBER_AGG_OP_COUNT) {
        for (int64_t g = 0; g < call->groups; g++)
            values[g] = order_flip((uint64_t)values[g]);
    }
}

/* ---------------------------------------------------------------------------------------
 * The call.
 * ------------------------------------------------------------------------------------- */

static ember_status check_column(const ember_device_column *column, int64_t rows, const char *what,
                                 int index, bool any_type, ember_error *err) {
    if (!column || !column->host)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "group-by %s %d is missing", what,
                               index);
    const ember_column *host = column->host;
    if (!host->loaded || host->length != rows)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group-by %s %d has %lld rows (want %lld)%s", what, index,
                               (long long)host->length, (long long)rows,
                               host->loaded ? "" : " and is not loaded");
    if (!any_type && host->type == EMBER_TYPE_STRING)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group-by %s %d is a string column", what, index);
    if (host->type != EMBER_TYPE_INT64 && host->type != EMBER_TYPE_FLOAT64 &&
        host->type != EMBER_TYPE_STRING && host->type != EMBER_TYPE_BOOL)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group-by %s %d has an unknown type", what, index);
    return EMBER_OK;
}

static ember_status check_arguments(const ember_device_column *const *keys, int key_count,
                                    const ember_agg_input *aggs, int agg_count, int64_t rows,
                                    ember_group_result *out, ember_error *err) {
    if (!out || (!keys && key_count > 0) || (!aggs && agg_count > 0) || agg_count < 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "group-by: a NULL argument");
    if (key_count < 1 || key_count > EMBER_GROUPBY_MAX_KEYS)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group-by: %d key columns (1 to %d allowed)", key_count,
                               EMBER_GROUPBY_MAX_KEYS);
    if (rows < 0 || rows > ROWS_MAX)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group-by: %lld rows in one batch (at most %lld)", (long long)rows,
                               (long long)ROWS_MAX);
    ember_status status = EMBER_OK;
    for (int k = 0; k < key_count && status == EMBER_OK; k++)
        status = check_column(keys[k], rows, "key", k, true, err);
    for (int a = 0; a < agg_count && status == EMBER_OK; a++) {
        const ember_agg_input *agg = &aggs[a];
        if (agg->op < EMBER_AGG_OP_COUNT || agg->op > EMBER_AGG_OP_MAX ||
            (agg->op != EMBER_AGG_OP_COUNT &&
             ((agg->type != EMBER_TYPE_INT64 && agg->type != EMBER_TYPE_FLOAT64) || !agg->values)))
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "group-by aggregate %d: bad operation, type or values", a);
        if (agg->values)
            status = check_column(agg->values, rows, "aggregate input", a,
                                  agg->op == EMBER_AGG_OP_COUNT, err);
        if (status == EMBER_OK && agg->op != EMBER_AGG_OP_COUNT &&
            agg->values->host->type != agg->type)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "group-by aggregate %d: values are not of its type", a);
        if (status == EMBER_OK && agg->counts) {
            status = check_column(agg->counts, rows, "aggregate count", a, false, err);
            if (status == EMBER_OK && agg->counts->host->type != EMBER_TYPE_INT64)
                return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                       "group-by aggregate %d: counts are not int64", a);
        }
    }
    return status;
}

void ember_group_result_clear(ember_group_result *result, int agg_count) {
    if (!result)
        return;
    for (int a = 0; a < agg_count; a++) {
        if (result->counts)
            ember_free(result->counts[a]);
        if (result->values)
            ember_free(result->values[a]);
    }
    ember_free(result->counts);
    ember_free(result->values);
    ember_free(result->representative);
    memset(result, 0, sizeof *result);
}

/* The result's arrays, sized for the groups (at least one element, so none is NULL but the
 * values of COUNT aggregates). */
static ember_status result_allocate(ember_group_result *out, const ember_agg_input *aggs,
                                    int agg_count, int64_t groups, ember_error *err) {
    size_t bytes = (size_t)(groups > 0 ? groups : 1) * 8;
    out->groups = groups;
    out->representative = ember_malloc(bytes);
    out->counts = ember_calloc((size_t)(agg_count > 0 ? agg_count : 1), sizeof *out->counts);
    out->values = ember_calloc((size_t)(agg_count > 0 ? agg_count : 1), sizeof *out->values);
    bool ok = out->representative && out->counts && out->values;
    for (int a = 0; a < agg_count && ok; a++) {
        out->counts[a] = ember_malloc(bytes);
        if (aggs[a].op != EMBER_AGG_OP_COUNT)
            out->values[a] = ember_malloc(bytes);
        ok = out->counts[a] && (aggs[a].op == EMBER_AGG_OP_COUNT || out->values[a]);
    }
    return ok ? EMBER_OK
              : ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                "out of memory for %lld group-by results", (long long)groups);
}

static bool aggregate_on_device(const groupby_call *call, const ember_agg_input *agg,
                                int force_path) {
    const ember_device_info *info = &call->worker->info;
    return info->int64_atomics && force_path != 3 &&
           (agg->op != EMBER_AGG_OP_SUM || agg->type != EMBER_TYPE_FLOAT64 || info->fp64);
}

/* Everything after the table: aggregates (device or host) and the representatives. */
static ember_status aggregate_all(groupby_call *call, const ember_agg_input *aggs, int agg_count,
                                  const ember_groupby_tuning *tuning, ember_group_result *out) {
    int force_path = tuning ? tuning->force_path : 0;
    int64_t groups = call->groups;
    cl_uint *row_group = NULL;
    cl_ulong local_bytes = 0;
    cl_uint state[STATE_WORDS];
    ember_status status = result_allocate(out, aggs, agg_count, groups, call->err);
    if (status == EMBER_OK && call->worker->info.int64_atomics) {
        status = local_memory(call, &local_bytes);
        /* One overflow word per aggregate, UINT32_MAX until a group overflows. */
        int64_t words = (agg_count + 1) / 2;
        if (status == EMBER_OK)
            status = device_buffer(call, (size_t)words * 8, &call->overflow);
        if (status == EMBER_OK)
            status = fill(call, call->overflow, words, ~(cl_ulong)0);
    }
    for (int a = 0; a < agg_count && status == EMBER_OK; a++)
        if (call->table_counts)
            status = read_buffer(call, call->group_rows, false, (size_t)groups * sizeof(cl_ulong),
                                 out->counts[a], "group counts");
        else if (aggregate_on_device(call, &aggs[a], force_path))
            status = device_aggregate(call, aggs, a, force_path, local_bytes, out);
    if (status == EMBER_OK && call->overflow)
        status = read_buffer(call, call->overflow, false, (size_t)agg_count * sizeof(cl_uint),
                             call->overflow_first, "group-by overflow");
    if (status == EMBER_OK)
        status = read_buffer(call, call->state, false, sizeof state, state, "group-by state");
    if (status == EMBER_OK)
        status = read_buffer(call, call->representative, false, (size_t)groups * sizeof(cl_ulong),
                             out->representative, "group representatives");
    /* The host aggregates while the device runs the queued work. */
    for (int a = 0; a < agg_count && status == EMBER_OK && !call->table_counts; a++) {
        if (aggregate_on_device(call, &aggs[a], force_path))
            continue;
        if (!row_group) {
            row_group = ember_malloc((size_t)call->rows * sizeof *row_group);
            if (!row_group) {
                status = ember_error_set(call->err, EMBER_ERROR_OUT_OF_MEMORY,
                                         "out of memory for %u row groups", call->rows);
                break;
            }
            status = read_buffer(call, call->row_slot, true, (size_t)call->rows * sizeof(cl_uint),
                                 row_group, "row groups");
            if (status != EMBER_OK)
                break;
        }
        if (is_int64_sum(&aggs[a]) &&
            !(call->high_words[a] = ember_malloc((size_t)(groups > 0 ? groups : 1) * 8))) {
            status = ember_error_set(call->err, EMBER_ERROR_OUT_OF_MEMORY,
                                     "out of memory for group sums");
            break;
        }
        agg_raw raw = {out->counts[a], out->values[a], call->high_words[a]};
        host_aggregate(&aggs[a], row_group, call->rows, groups, raw);
    }
    ember_free(row_group);
    /* Always waited for: state is read into this frame. */
    cl_int rc = clFinish(call->queue);
    if (status == EMBER_OK && rc != CL_SUCCESS)
        status = cl_failed(call, rc, "clFinish", "group-by");
    if (status == EMBER_OK && state[STATE_GROUPS] != (cl_uint)groups)
        status = ember_error_set(call->err, EMBER_ERROR_INTERNAL,
                                 "group-by compaction found %u groups, the table %lld",
                                 state[STATE_GROUPS], (long long)groups);
    for (int a = 0; a < agg_count && status == EMBER_OK; a++)
        finish_aggregate(call, &aggs[a], a, out);
    return status;
}

/* Buffers for the key columns, with placeholders for the unused key slots. */
static ember_status keys_prepare(groupby_call *call, const ember_device_column *const *keys,
                                 int key_count) {
    ember_status status = device_buffer(call, 64, &call->placeholder);
    for (int k = 0; k < EMBER_GROUPBY_MAX_KEYS && status == EMBER_OK; k++) {
        if (k >= key_count) {
            for (int b = 0; b < 3; b++)
                call->key_buffers[k][b] = call->placeholder;
            continue;
        }
        bool has_validity = false;
        status = column_buffers(call, keys[k], call->key_buffers[k], &has_validity);
        /* a bool is stored as an int64 0 or 1 and grouped as one */
        ember_type type =
            keys[k]->host->type == EMBER_TYPE_BOOL ? EMBER_TYPE_INT64 : keys[k]->host->type;
        call->key_info |= ((cl_uint)type | (has_validity ? KEY_HAS_VALIDITY : 0)) << (4 * k);
    }
    return status;
}

/* The table's kind. A single int64, float64 or bool key is found by its full hash alone
 * (hash_bits, the collision test, makes hashes lossy, so it keeps the key comparisons). Row
 * counts are taken in the table itself when nothing else is aggregated, no aggregation path
 * is forced, and the groups are expected to be too many for the work-group-local table (few
 * groups would have every row's atomic increment fight over a few hot slots): the per-row
 * group ids, their remap and the aggregate pass are then skipped, and no 64-bit atomics are
 * needed (a slot's 32-bit count holds a batch's rows). Without such a hint they are still taken
 * in the table if the build ends up radix-partitioned (see countable). */
static void table_choose(groupby_call *call, const ember_device_column *const *keys, int key_count,
                         const ember_agg_input *aggs, int agg_count,
                         const ember_groupby_tuning *tuning) {
    int hash_bits = tuning ? tuning->hash_bits : 0;
    call->exact = key_count == 1 && keys[0]->host->type != EMBER_TYPE_STRING &&
                  (hash_bits <= 0 || hash_bits >= 64);
    call->countable = call->exact && (!tuning || tuning->force_path == 0);
    for (int a = 0; a < agg_count; a++) {
        const ember_agg_input *agg = &aggs[a];
        bool counts_rows =
            agg->op == EMBER_AGG_OP_COUNT && !agg->counts &&
            (!agg->values || (!agg->values->validity && !agg->values->host->validity));
        call->countable = call->countable && counts_rows;
    }
    call->table_counts = call->countable && tuning && tuning->groups_hint > LOCAL_SLOTS_MAX;
    call->slot_words = call->exact ? 4 : 2;
}

ember_status ember_groupby_device(ember_program_cache *programs, const ember_worker *worker,
                                  cl_command_queue queue, const ember_device_column *const *keys,
                                  int key_count, const ember_agg_input *aggs, int agg_count,
                                  int64_t rows, const ember_groupby_tuning *tuning,
                                  ember_group_result *out, ember_error *err) {
    if (out)
        memset(out, 0, sizeof *out);
    ember_status status = check_arguments(keys, key_count, aggs, agg_count, rows, out, err);
    if (status != EMBER_OK)
        return status;
    if (!programs || !worker || !queue)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "group-by: no device");
    if (rows == 0)
        return result_allocate(out, aggs, agg_count, 0, err);

    groupby_call call = {.worker = worker,
                         .queue = queue,
                         .err = err,
                         .contiguous = (worker->info.type & CL_DEVICE_TYPE_CPU) != 0,
                         .rows = (cl_uint)rows,
                         .key_count = (cl_uint)key_count};
    size_t per_agg = (size_t)(agg_count > 0 ? agg_count : 1);
    call.seen = ember_malloc((size_t)(key_count + 2 * agg_count) * sizeof *call.seen);
    call.overflow_first = ember_malloc(per_agg * sizeof *call.overflow_first);
    call.high_words = ember_calloc(per_agg, sizeof *call.high_words);
    if (!call.seen || !call.overflow_first || !call.high_words)
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory for a group-by");
    if (status == EMBER_OK)
        status = kernels_create(&call, programs);
    if (status == EMBER_OK)
        status = keys_prepare(&call, keys, key_count);
    const ember_dense_groups *dense = tuning ? tuning->dense : NULL;
    if (status == EMBER_OK && !dense)
        table_choose(&call, keys, key_count, aggs, agg_count, tuning);
    if (status == EMBER_OK && !dense && call.table_counts)
        call.row_slot = call.placeholder;
    else if (status == EMBER_OK && !dense)
        status = device_buffer(&call, (size_t)rows * sizeof(cl_uint), &call.row_slot);
    if (status == EMBER_OK)
        status = device_buffer(&call, STATE_WORDS * sizeof(cl_uint), &call.state);
    if (status == EMBER_OK && dense) {
        status = dense_prepare(&call, dense);
    } else {
        if (status == EMBER_OK)
            status = build_table(&call, tuning);
        if (status == EMBER_OK)
            status = compact(&call);
    }
    if (status == EMBER_OK)
        status = aggregate_all(&call, aggs, agg_count, tuning, out);

    if (status != EMBER_OK) {
        /* Non-blocking reads may still target host arrays: let the queue drain first. */
        clFinish(queue);
        ember_group_result_clear(out, agg_count);
    }
    for (int a = 0; a < agg_count && call.high_words; a++)
        ember_free(call.high_words[a]);
    ember_free(call.overflow_first);
    ember_free(call.high_words);
    for (int i = call.owned_count - 1; i >= 0; i--)
        clReleaseMemObject(call.owned[i]);
    ember_free(call.owned);
    ember_free(call.seen);
    for (int k = call.kernel_count - 1; k >= 0; k--)
        clReleaseKernel(call.kernels[k]);
    return status;
}
