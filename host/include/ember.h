/* ember.h: the one public header of ember, a library that runs Spark-style data-parallel
 * jobs (read CSV into partitions, count, and more) on OpenCL devices: GPUs, or the CPU
 * through pocl. This header is the reference documentation of the C API.
 *
 * Conventions, everywhere below:
 *  - Handles are opaque. Each has a create/open and a free/close; freeing NULL does nothing.
 *  - A call that can fail returns an ember_status. When it fails it leaves a human-readable
 *    message on its session, read with ember_session_error(); the message names what failed
 *    and where (file:line:column for CSV, the cl_int name and build log for OpenCL).
 *  - Output parameters are written only on success unless the function says otherwise.
 *  - The library never prints and never exits the process.
 *  - A session may be used by one thread at a time; the library runs its own threads inside.
 */
#ifndef EMBER_H
#define EMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define EMBER_API __attribute__((visibility("default")))
#else
#define EMBER_API
#endif

#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0

/* ---------------------------------------------------------------------------------------
 * Status codes. The numbers are stable: new codes are only ever appended.
 * X(name, number, description)
 * ------------------------------------------------------------------------------------- */
#define EMBER_STATUS_LIST(X)                                                                       \
    X(EMBER_OK, 0, "ok")                                                                           \
    X(EMBER_ERROR_INVALID_ARGUMENT, 1, "invalid argument")                                         \
    X(EMBER_ERROR_OUT_OF_MEMORY, 2, "out of host memory")                                          \
    X(EMBER_ERROR_IO, 3, "input/output error")                                                     \
    X(EMBER_ERROR_CSV, 4, "malformed CSV input")                                                   \
    X(EMBER_ERROR_SCHEMA, 5, "schema error")                                                       \
    X(EMBER_ERROR_NO_DEVICE, 6, "no usable OpenCL device")                                         \
    X(EMBER_ERROR_DEVICE, 7, "OpenCL device error")                                                \
    X(EMBER_ERROR_DEVICE_MEMORY, 8, "out of device memory")                                        \
    X(EMBER_ERROR_BUILD, 9, "OpenCL kernel build failed")                                          \
    X(EMBER_ERROR_INTERNAL, 10, "internal error")                                                  \
    X(EMBER_ERROR_OVERFLOW, 11, "arithmetic overflow")

typedef enum ember_status {
#define EMBER_STATUS_ENUM_(name, number, text) name = number,
    EMBER_STATUS_LIST(EMBER_STATUS_ENUM_)
#undef EMBER_STATUS_ENUM_
} ember_status;

/* The constant's name without the prefix ("ERROR_IO") is not returned; this returns the
 * short English description ("input/output error"). Unknown values give "unknown status". */
EMBER_API const char *ember_status_str(ember_status status);

/* The library's version as "MAJOR.MINOR.PATCH". */
EMBER_API const char *ember_version(void);

/* ---------------------------------------------------------------------------------------
 * Column types.
 * ------------------------------------------------------------------------------------- */
typedef enum ember_type {
    EMBER_TYPE_INT64 = 0,
    EMBER_TYPE_FLOAT64 = 1,
    EMBER_TYPE_STRING = 2,
    /* A boolean: the result of a map or with_column of a predicate. Stored like an int64 (0 or
     * 1), read with ember_table_int64; written and printed as true / false. */
    EMBER_TYPE_BOOL = 3,
} ember_type;

/* "int64", "float64", "string", "bool". */
EMBER_API const char *ember_type_name(ember_type type);

/* ---------------------------------------------------------------------------------------
 * Devices. Every OpenCL device of every platform is listed; the list needs no session.
 * ------------------------------------------------------------------------------------- */
typedef struct ember_device_list ember_device_list;

/* Enumerates the OpenCL platforms and devices. On failure *out is NULL and, when errbuf is not
 * NULL, a message is written there (at most errlen bytes, NUL-terminated). A machine with no
 * OpenCL platform gives EMBER_ERROR_NO_DEVICE. */
EMBER_API ember_status ember_device_list_create(ember_device_list **out, char *errbuf,
                                                size_t errlen);
EMBER_API void ember_device_list_free(ember_device_list *list);
EMBER_API size_t ember_device_list_count(const ember_device_list *list);
/* Accessors; i < count. Strings live as long as the list. */
EMBER_API int ember_device_list_platform_index(const ember_device_list *list, size_t i);
EMBER_API int ember_device_list_device_index(const ember_device_list *list, size_t i);
EMBER_API const char *ember_device_list_platform_name(const ember_device_list *list, size_t i);
EMBER_API const char *ember_device_list_device_name(const ember_device_list *list, size_t i);
/* "cpu", "gpu", "accelerator" or "other". */
EMBER_API const char *ember_device_list_type(const ember_device_list *list, size_t i);
EMBER_API uint32_t ember_device_list_compute_units(const ember_device_list *list, size_t i);
EMBER_API uint64_t ember_device_list_global_memory(const ember_device_list *list, size_t i);
EMBER_API uint64_t ember_device_list_max_allocation(const ember_device_list *list, size_t i);
EMBER_API const char *ember_device_list_opencl_c_version(const ember_device_list *list, size_t i);
/* True for the device a session opened with the default choice would use. */
EMBER_API bool ember_device_list_is_default(const ember_device_list *list, size_t i);

/* ---------------------------------------------------------------------------------------
 * Session: owns the devices, command queues, program cache, thread pool and job metrics.
 * ------------------------------------------------------------------------------------- */
typedef struct ember_session ember_session;
typedef struct ember_session_options ember_session_options;

/* Options start with the defaults: device from $EMBER_DEVICE, else a GPU when one is present,
 * else the CPU; one thread per core; the program cache directory from $EMBER_CACHE_DIR, else
 * $XDG_CACHE_HOME/ember, else ~/.cache/ember. Returns NULL when out of memory. */
EMBER_API ember_session_options *ember_session_options_create(void);
EMBER_API void ember_session_options_free(ember_session_options *options);
/* Device choice: "cpu", "gpu", "all" or "PLATFORM:DEVICE" indexes as `ember devices` lists
 * them (e.g. "0:1"). Overrides $EMBER_DEVICE. An unknown choice fails at ember_session_open
 * with a message that lists the devices that exist. */
EMBER_API ember_status ember_session_options_set_device(ember_session_options *options,
                                                        const char *choice);
/* Host threads for parsing; 0 means one per online core. */
EMBER_API ember_status ember_session_options_set_threads(ember_session_options *options,
                                                         int threads);
/* Directory for compiled OpenCL programs; "off" disables the disk cache. */
EMBER_API ember_status ember_session_options_set_cache_dir(ember_session_options *options,
                                                           const char *dir);

/* Opens a session. options may be NULL for the defaults. On failure other than out of memory,
 * *out still receives a session that holds the error message (read it with
 * ember_session_error) and must be closed; when out of memory *out is NULL. */
EMBER_API ember_status ember_session_open(ember_session **out,
                                          const ember_session_options *options);
/* Closes the session and frees everything it owns. Frames of the session must be freed
 * first; closing with frames alive is allowed but leaves those frames unusable. */
EMBER_API void ember_session_close(ember_session *session);
/* The message of the last failed call on this session ("" if none). ember_session_error(NULL)
 * gives "out of memory" (the only reason a session can be missing). Valid until the next
 * call on the session. */
EMBER_API const char *ember_session_error(const ember_session *session);
/* Number of devices (workers) the session uses, and a description of worker i
 * ("Portable Computing Language / pthread-skylake (cpu)"). */
EMBER_API size_t ember_session_device_count(const ember_session *session);
EMBER_API const char *ember_session_device_name(const ember_session *session, size_t i);
/* Host threads the session runs. */
EMBER_API int ember_session_threads(const ember_session *session);

/* ---------------------------------------------------------------------------------------
 * CSV options.
 * ------------------------------------------------------------------------------------- */
typedef enum ember_csv_mode {
    /* Bad values become null, short rows are padded with nulls and long rows cut; each such
     * row is kept and counted as malformed. The default. */
    EMBER_CSV_PERMISSIVE = 0,
    /* A malformed row is dropped and counted. */
    EMBER_CSV_DROPMALFORMED = 1,
    /* The first malformed row stops the job with EMBER_ERROR_CSV and a message naming file,
     * line, column and the offending text. */
    EMBER_CSV_FAILFAST = 2,
} ember_csv_mode;

typedef struct ember_csv_options ember_csv_options;

/* Defaults: header on, delimiter ',', quote '"', no null value besides the empty field,
 * schema inferred, PERMISSIVE, partition count from the file size. NULL when out of memory. */
EMBER_API ember_csv_options *ember_csv_options_create(void);
EMBER_API void ember_csv_options_free(ember_csv_options *options);
EMBER_API ember_status ember_csv_options_set_header(ember_csv_options *options, bool header);
/* Delimiter and quote are single bytes; they must differ and must not be CR or LF. */
EMBER_API ember_status ember_csv_options_set_delimiter(ember_csv_options *options, char delimiter);
EMBER_API ember_status ember_csv_options_set_quote(ember_csv_options *options, char quote);
/* A field equal to this text (unquoted) reads as null, as the empty field always does.
 * NULL removes it. */
EMBER_API ember_status ember_csv_options_set_null_value(ember_csv_options *options,
                                                        const char *text);
/* Explicit schema "name:type,name:type,..." with types int64, float64, string (aliases: int,
 * long, bigint; double, float; str, text). NULL goes back to inference. Checked by
 * ember_read_csv. */
EMBER_API ember_status ember_csv_options_set_schema(ember_csv_options *options, const char *schema);
EMBER_API ember_status ember_csv_options_set_mode(ember_csv_options *options, ember_csv_mode mode);
/* Number of partitions; 0 (the default) means about one per 64 MiB, at least one per core.
 * Partitions start at record boundaries and are never empty, so a file with fewer records than
 * requested partitions gets fewer partitions (ember_frame_partition_count tells). */
EMBER_API ember_status ember_csv_options_set_partitions(ember_csv_options *options, int partitions);

/* ---------------------------------------------------------------------------------------
 * Frames: immutable, lazy, reference-counted logical plans.
 * ------------------------------------------------------------------------------------- */
typedef struct ember_frame ember_frame;

/* Reads the header and settles the schema (explicit, or inferred from rows sampled across the
 * whole file) now; the rows are read by the first action. The file must stay unchanged while
 * frames read from it are alive. */
EMBER_API ember_status ember_read_csv(ember_session *session, const char *path,
                                      const ember_csv_options *options, ember_frame **out);
/* Adds a reference; returns frame. */
EMBER_API ember_frame *ember_frame_retain(ember_frame *frame);
/* Drops a reference; the last one frees the frame (and its cached partitions). */
EMBER_API void ember_frame_free(ember_frame *frame);
EMBER_API ember_session *ember_frame_session(const ember_frame *frame);
EMBER_API size_t ember_frame_column_count(const ember_frame *frame);
EMBER_API const char *ember_frame_column_name(const ember_frame *frame, size_t i);
/* The type known now; an inferred column can still widen (int64 -> float64 -> string) when an
 * action meets a value that does not fit; the type then reads as the widened one. */
EMBER_API ember_type ember_frame_column_type(const ember_frame *frame, size_t i);
EMBER_API int ember_frame_partition_count(const ember_frame *frame);

/* range(start, end, slices), like Spark's sc.parallelize(range(start, end), slices): one int64
 * column "value" holding start, start + 1, ..., end - 1 (nothing when end <= start), cut into
 * `slices` partitions of neighbouring values (slice i holds the values from i * n / slices to
 * (i + 1) * n / slices - 1, offset by start). The values are generated on the device where they
 * are used: no host data exists until an action needs rows on the host. */
EMBER_API ember_status ember_range(ember_session *session, int64_t start, int64_t end, int slices,
                                   ember_frame **out);

/* Marks the frame to be kept on the device: the next action loads all its columns and keeps
 * the partitions resident; later actions reuse them without re-reading the file. */
EMBER_API ember_status ember_cache(ember_frame *frame);
/* Releases the cached partitions; the next action reads the file again. */
EMBER_API ember_status ember_unpersist(ember_frame *frame);
EMBER_API bool ember_frame_is_cached(const ember_frame *frame);

/* ---------------------------------------------------------------------------------------
 * Transformations: each returns a new frame (the input is unchanged and stays owned by the
 * caller; the new frame holds its own reference to it). Nothing runs until an action.
 * ------------------------------------------------------------------------------------- */
#define EMBER_GROUP_BY_MAX_KEYS 4

/* The rows for which condition (an expression of docs/expressions.md, boolean) is true; a null
 * condition drops the row, as SQL's WHERE does. Row order is kept. */
EMBER_API ember_status ember_filter(ember_frame *frame, const char *condition, ember_frame **out);
/* The columns named in the NULL-terminated list, in its order. */
EMBER_API ember_status ember_select(ember_frame *frame, const char *const *columns,
                                    ember_frame **out);
/* frame's columns plus `name` computed by expression for each row; a column already named
 * `name` is replaced where it stands (as Spark's withColumn). The type is the expression's:
 * int64, float64, string or bool. */
EMBER_API ember_status ember_with_column(ember_frame *frame, const char *name,
                                         const char *expression, ember_frame **out);
/* rdd.map(): on a one-column frame, a one-column frame "value" computed by expression (which
 * names the input column, e.g. "value * 2" on a range). */
EMBER_API ember_status ember_map(ember_frame *frame, const char *expression, ember_frame **out);

/* repartition(n): the rows dealt round-robin into n partitions (the i-th row of the whole frame
 * goes to partition i % n, so every partition has the same number of rows to within one). A
 * shuffle: the job runs the frame's stage, then a "shuffle" stage on the device (histogram,
 * prefix sum, scatter kernels); the rows of a partition keep their relative order. */
EMBER_API ember_status ember_repartition(ember_frame *frame, int partitions, ember_frame **out);
/* repartition(n, keys): rows with equal keys (a NULL-terminated list of 1 to 4 columns) go to
 * the same partition, by a hash of the keys computed on the device. */
EMBER_API ember_status ember_repartition_by(ember_frame *frame, int partitions,
                                            const char *const *keys, ember_frame **out);
/* coalesce(n): neighbouring partitions merged into n (never more than there are), without a
 * shuffle; row order is kept. */
EMBER_API ember_status ember_coalesce(ember_frame *frame, int partitions, ember_frame **out);

/* groupBy(keys).agg(aggregates). keys: a NULL-terminated list of 0 to 4 column names (int64,
 * float64 or string columns); no keys (NULL or an empty list) aggregates the whole frame into
 * one row, as Spark's df.agg(). aggregates: a NULL-terminated list; NULL or an empty list means
 * {"count"}. Each aggregate is one of
 *     "count"        rows in the group                      -> int64 column "count"
 *     "count:COL"    non-null values of COL                 -> int64 column "count_COL"
 *     "sum:COL"      sum of the non-null values             -> "sum_COL", COL's type
 *     "min:COL", "max:COL"                                  -> "min_COL", "max_COL", COL's type
 *     "mean:COL"     sum / count of the non-null values     -> "mean_COL", float64
 * with COL an int64 or float64 column; " as NAME" after it renames the output column
 * ("sum:qty as total"). The output has the key columns, then one column per aggregate.
 * Nulls: a null key is a group of its own (as in Spark); aggregates skip null values; sum,
 * min, max and mean of no values are null. An int64 sum that leaves the int64 range fails the
 * action with EMBER_ERROR_OVERFLOW naming the group, never a silent wrap. The order of
 * the groups is unspecified (see ember_table_sort). Errors (unknown column, wrong type, bad
 * aggregate text, duplicate output name) are reported here, before anything runs. */
EMBER_API ember_status ember_group_by(ember_frame *frame, const char *const *keys,
                                      const char *const *aggregates, ember_frame **out);

/* ---------------------------------------------------------------------------------------
 * Actions: each runs a job.
 * ------------------------------------------------------------------------------------- */
/* Number of rows (after DROPMALFORMED drops; the number of groups of a group-by frame). As in
 * Spark, only the columns the count needs are converted (column pruning): under DROPMALFORMED a
 * row whose only bad value is in a column nothing reads is counted, while collect, which reads
 * every column, drops it. */
EMBER_API ember_status ember_count(ember_frame *frame, int64_t *out);

/* Runs the frame and returns its rows as a host table (owned by the caller). Without a
 * shuffle or group-by in the plan, the rows come in the order of the input (the file's, or the
 * range's), whatever the partition count. */
typedef struct ember_table ember_table;
EMBER_API ember_status ember_collect(ember_frame *frame, ember_table **out);

/* Spark's show(n): prints the first max_rows rows (all when max_rows < 0) as a table to out,
 * then "only showing top N rows" when some were left out. As in Spark, partitions that the
 * ones before them make unneeded (they already hold enough rows) are not computed. */
EMBER_API ember_status ember_show(ember_frame *frame, int64_t max_rows, FILE *out);

/* Writes the frame's rows to path as CSV (the format of ember_table_write_csv). The rows go to
 * a temporary file in the same directory, renamed to path only when the job succeeded, so a
 * failed job leaves no partial file (and an existing file at path untouched). */
EMBER_API ember_status ember_write_csv(ember_frame *frame, const char *path);

/* ---------------------------------------------------------------------------------------
 * Tables: results on the host, columns in Arrow layout.
 * ------------------------------------------------------------------------------------- */
EMBER_API void ember_table_free(ember_table *table);
EMBER_API int64_t ember_table_row_count(const ember_table *table);
EMBER_API size_t ember_table_column_count(const ember_table *table);
EMBER_API const char *ember_table_column_name(const ember_table *table, size_t column);
EMBER_API ember_type ember_table_column_type(const ember_table *table, size_t column);
/* -1 when there is no such column. */
EMBER_API int ember_table_column_index(const ember_table *table, const char *name);
/* Typed access; column and row must be in range and the column of the type asked for. A null
 * reads as 0, 0.0 or "" (check ember_table_is_null). Strings are not NUL-terminated: *len
 * gives the length. */
EMBER_API bool ember_table_is_null(const ember_table *table, size_t column, int64_t row);
EMBER_API int64_t ember_table_int64(const ember_table *table, size_t column, int64_t row);
EMBER_API double ember_table_float64(const ember_table *table, size_t column, int64_t row);
EMBER_API const char *ember_table_string(const ember_table *table, size_t column, int64_t row,
                                         size_t *len);
/* Sorts the rows ascending by the first key_columns columns in order: numbers numerically
 * (NaN after every number), strings by bytes, nulls last. Stable. */
EMBER_API ember_status ember_table_sort(ember_table *table, size_t key_columns);
/* Writes the first max_rows rows (all when max_rows < 0) as an aligned text table with a
 * header, like Spark's show(); says how many rows were left out. */
EMBER_API ember_status ember_table_print(const ember_table *table, FILE *out, int64_t max_rows);
/* Writes the table as CSV with a header line: fields are quoted only when they hold the
 * delimiter ',', a quote, CR or LF (quotes doubled); a null is an empty field, an empty string
 * is "". Floats are written with the shortest text that reads back to the same double. */
EMBER_API ember_status ember_table_write_csv(const ember_table *table, FILE *out);

/* Exports the table through the Arrow C Data Interface (https://arrow.apache.org/docs/format/
 * CDataInterface.html) as one record batch: a struct array ("+s") with one child per column
 * (int64 "l", float64 "g", utf8 "u", bool "b"), nulls in validity bitmaps. The structures are
 * declared in ember_arrow_abi.h (installed beside this header). Each child is named after its
 * column and flagged nullable; a column without nulls has no validity bitmap. On success the
 * caller owns *schema and *array and must call their release callbacks; the table may be freed
 * before that (the export holds its own 64-byte aligned copy of the buffers, one allocation per
 * column, so a child moved out of the batch may be released on its own). On failure
 * (EMBER_ERROR_INVALID_ARGUMENT for a NULL argument, EMBER_ERROR_OUT_OF_MEMORY) the release
 * members of the structures given are set to NULL: nothing is left to release. */
struct ArrowSchema;
struct ArrowArray;
EMBER_API ember_status ember_table_export_arrow(const ember_table *table,
                                                struct ArrowSchema *schema,
                                                struct ArrowArray *array);

/* ---------------------------------------------------------------------------------------
 * Job metrics of the last action run on a session (like Spark's Jobs UI).
 * ------------------------------------------------------------------------------------- */
typedef struct ember_job ember_job;

typedef enum ember_job_metric {
    EMBER_JOB_ROWS = 0,              /* rows the job produced (e.g. the count) */
    EMBER_JOB_ROWS_READ = 1,         /* data rows read from files (0 when all came from cache) */
    EMBER_JOB_ROWS_MALFORMED = 2,    /* PERMISSIVE rows kept with nulls */
    EMBER_JOB_ROWS_DROPPED = 3,      /* DROPMALFORMED rows dropped */
    EMBER_JOB_BYTES_READ = 4,        /* file bytes parsed */
    EMBER_JOB_PARTITIONS = 5,        /* partitions of the input */
    EMBER_JOB_PARTITIONS_CACHED = 6, /* partitions served from the device cache */
    EMBER_JOB_STAGES = 7,
    EMBER_JOB_TASKS = 8,
} ember_job_metric;

typedef enum ember_stage_metric {
    EMBER_STAGE_TASKS = 0,
    EMBER_STAGE_ROWS = 1,  /* rows the stage's tasks processed */
    EMBER_STAGE_BYTES = 2, /* bytes read (parse) or moved to the device */
} ember_stage_metric;

/* The last job run on the session, or NULL before the first. Valid until the next action on
 * the session, or its close. A failed job is reported too, with what it did before failing. */
EMBER_API const ember_job *ember_session_last_job(const ember_session *session);
EMBER_API int64_t ember_job_metric_get(const ember_job *job, ember_job_metric metric);
/* Wall time of the whole job in seconds. */
EMBER_API double ember_job_seconds(const ember_job *job);
/* Description of the device(s) the job ran on. */
EMBER_API const char *ember_job_device(const ember_job *job);
/* Stage i < ember_job_metric_get(job, EMBER_JOB_STAGES). Names: "scan" (read CSV into
 * partitions, with the narrow steps fused into each task), "range" (range() slices generated),
 * "cache" (partitions taken from the device cache), "shuffle" (a repartition: the device plans
 * each input partition's moves and the output partitions are built), "shuffle read" (the stage
 * after a shuffle), "groups" (a stage reading a group-by's result), "merge" (a group-by's final
 * aggregation), "reduce" (a whole-frame aggregate's partials combined), "count", "write". */
EMBER_API const char *ember_job_stage_name(const ember_job *job, int stage);
EMBER_API int64_t ember_job_stage_metric(const ember_job *job, int stage,
                                         ember_stage_metric metric);
EMBER_API double ember_job_stage_seconds(const ember_job *job, int stage);

#ifdef __cplusplus
}
#endif

#endif /* EMBER_H */
