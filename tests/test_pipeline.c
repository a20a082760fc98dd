/* test_pipeline.c: the narrow and shuffle transformations end to end (range, map, with_column,
 * select, filter, repartition, repartition_by, coalesce, group_by over them, cache, write_csv,
 * show, and the error of every transformation) against answers computed independently in the
 * test: closed forms, a plain-C evaluation of the same expressions over the same rows, and a
 * differential run of random expressions on the device (the fused project, reduce and count
 * kernels) against the host evaluator (the session's pipelines_on_host hook) and against
 * ember_expr_eval called directly on the collected columns.
 *
 * The public API cannot tell how many rows each partition holds, so the balance of
 * repartition(n), the slices of range() and the key placement of repartition_by are checked
 * through the internal ember_stage_partitions (plus, for repartition_by, what the public API
 * can show: the rows of a partition keep their order, so each key lies in one increasing run
 * of ids in collect order).
 *
 * Time: almost all of it is pocl compiling the generated kernels (test_differential builds
 * about 55 programs with 2000+ computed columns): a few seconds with warm program caches,
 * minutes with cold ones. EMBER_PIPELINE_ONLY=PATTERN runs the matching tests only; see
 * test_differential for its knobs. */
#include "testutil.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "data/table.h"
#include "exec/job.h"
#include "ops/stage.h"
#include "plan/expr.h"
#include "session/session_internal.h"

/* ---------------------------------------------------------------------------------------
 * Helpers: the shared session, frames and tables freed by each test's teardown.
 * ------------------------------------------------------------------------------------- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static ember_session *sess(void) {
    if (!tu_shared_session)
        skip();
    return tu_shared_session;
}

#define OK(call)                                                                                   \
    do {                                                                                           \
        ember_status ok_status_ = (call);                                                          \
        if (ok_status_ != EMBER_OK)                                                                \
            fail_msg("%s:%d: %s -> %s: %s", __FILE__, __LINE__, #call,                             \
                     ember_status_str(ok_status_), ember_session_error(sess()));                   \
    } while (0)

#define MAX_HELD 4096
static ember_frame *held_frames[MAX_HELD];
static int held_frame_count;
static ember_table *held_tables[MAX_HELD];
static int held_table_count;
static char *held_paths[64];
static int held_path_count;

static ember_frame *hold(ember_frame *frame) {
    assert_non_null(frame);
    assert_true(held_frame_count < MAX_HELD);
    held_frames[held_frame_count++] = frame;
    return frame;
}

static ember_table *hold_table(ember_table *table) {
    assert_non_null(table);
    assert_true(held_table_count < MAX_HELD);
    held_tables[held_table_count++] = table;
    return table;
}

/* A scratch path removed by the teardown. */
static char *scratch(const char *name) {
    char *path = tu_tmp_path(name);
    assert_true(held_path_count < 64);
    held_paths[held_path_count++] = path;
    return path;
}

static int release_all(void **state) {
    (void)state;
    for (int i = held_table_count - 1; i >= 0; i--)
        ember_table_free(held_tables[i]);
    for (int i = held_frame_count - 1; i >= 0; i--)
        ember_frame_free(held_frames[i]);
    for (int i = 0; i < held_path_count; i++) {
        if (held_paths[i])
            unlink(held_paths[i]);
        free(held_paths[i]);
    }
    held_table_count = held_frame_count = held_path_count = 0;
    if (tu_shared_session)
        tu_shared_session->pipelines_on_host = false;
    return 0;
}

static ember_frame *range_of(int64_t start, int64_t end, int slices) {
    ember_frame *frame = NULL;
    OK(ember_range(sess(), start, end, slices, &frame));
    return hold(frame);
}

static ember_frame *map_of(ember_frame *frame, const char *expression) {
    ember_frame *out = NULL;
    OK(ember_map(frame, expression, &out));
    return hold(out);
}

static ember_frame *with_column(ember_frame *frame, const char *name, const char *expression) {
    ember_frame *out = NULL;
    OK(ember_with_column(frame, name, expression, &out));
    return hold(out);
}

static ember_frame *filter_of(ember_frame *frame, const char *condition) {
    ember_frame *out = NULL;
    OK(ember_filter(frame, condition, &out));
    return hold(out);
}

static ember_frame *select_of(ember_frame *frame, const char *const *columns) {
    ember_frame *out = NULL;
    OK(ember_select(frame, columns, &out));
    return hold(out);
}

static ember_frame *repartition_of(ember_frame *frame, int partitions) {
    ember_frame *out = NULL;
    OK(ember_repartition(frame, partitions, &out));
    return hold(out);
}

static ember_frame *repartition_by_of(ember_frame *frame, int partitions, const char *const *keys) {
    ember_frame *out = NULL;
    OK(ember_repartition_by(frame, partitions, keys, &out));
    return hold(out);
}

static ember_frame *coalesce_of(ember_frame *frame, int partitions) {
    ember_frame *out = NULL;
    OK(ember_coalesce(frame, partitions, &out));
    return hold(out);
}

static ember_frame *group_by_of(ember_frame *frame, const char *const *keys,
                                const char *const *aggregates) {
    ember_frame *out = NULL;
    OK(ember_group_by(frame, keys, aggregates, &out));
    return hold(out);
}

static ember_table *collect_of(ember_frame *frame) {
    ember_table *table = NULL;
    OK(ember_collect(frame, &table));
    return hold_table(table);
}

static int64_t count_of(ember_frame *frame) {
    int64_t rows = -1;
    OK(ember_count(frame, &rows));
    return rows;
}

static int column_of(const ember_table *table, const char *name) {
    int c = ember_table_column_index(table, name);
    if (c < 0)
        fail_msg("no column '%s' in the result", name);
    return c;
}

/* Reads a CSV file with an explicit schema (NULL: inferred) and a partition count (0: the
 * default). */
static ember_frame *read_csv_of(const char *path, const char *schema, int partitions) {
    ember_csv_options *options = ember_csv_options_create();
    assert_non_null(options);
    if (schema)
        assert_int_equal(ember_csv_options_set_schema(options, schema), EMBER_OK);
    assert_int_equal(ember_csv_options_set_partitions(options, partitions), EMBER_OK);
    ember_frame *frame = NULL;
    ember_status status = ember_read_csv(sess(), path, options, &frame);
    ember_csv_options_free(options);
    OK(status);
    return hold(frame);
}

/* The names of the job's stages, space-separated. */
static void job_stages(char *buf, size_t size) {
    const ember_job *job = ember_session_last_job(sess());
    assert_non_null(job);
    buf[0] = '\0';
    int stages = (int)ember_job_metric_get(job, EMBER_JOB_STAGES);
    for (int i = 0; i < stages; i++) {
        strncat(buf, ember_job_stage_name(job, i), size - strlen(buf) - 1);
        strncat(buf, " ", size - strlen(buf) - 1);
    }
}

/* Per-partition row counts of frame, through the internal stage API (the public API has no
 * way to see them): sizes[] gets at most max entries; returns the partition count. */
static int partition_sizes(ember_frame *frame, int64_t *sizes, int max) {
    struct ember_job *job = ember_job_create(sess());
    assert_non_null(job);
    ember_partition *parts = NULL;
    int count = 0;
    ember_status status = ember_stage_partitions(frame, job, &parts, &count);
    ember_stage_release(frame);
    ember_job_free(job);
    OK(status);
    for (int i = 0; i < count; i++) {
        if (i < max)
            sizes[i] = parts[i].rows;
        ember_partition_clear(&parts[i]);
    }
    free(parts);
    return count;
}

/* Tests expect the message of the last failure to contain every one of the given parts. */
static void expect_error(ember_status got, ember_status expected, ...) {
    const char *message = ember_session_error(sess());
    if (got != expected)
        fail_msg("status %s (%s), expected %s", ember_status_str(got), message,
                 ember_status_str(expected));
    va_list args;
    va_start(args, expected);
    for (const char *part; (part = va_arg(args, const char *)) != NULL;)
        if (!strstr(message, part)) {
            va_end(args);
            fail_msg("message \"%s\" lacks \"%s\"", message, part);
        }
    va_end(args);
}

typedef struct rng {
    uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int rng_below(rng *r, int n) {
    return (int)(rng_next(r) % (uint64_t)n);
}

static bool rng_percent(rng *r, int percent) {
    return rng_below(r, 100) < percent;
}

/* ---------------------------------------------------------------------------------------
 * 1. range
 * ------------------------------------------------------------------------------------- */

static void check_range(int64_t start, int64_t end, int slices) {
    ember_frame *frame = range_of(start, end, slices);
    int64_t n = end > start ? (int64_t)((uint64_t)end - (uint64_t)start) : 0;
    assert_int_equal(ember_frame_column_count(frame), 1);
    assert_string_equal(ember_frame_column_name(frame, 0), "value");
    assert_int_equal(ember_frame_column_type(frame, 0), EMBER_TYPE_INT64);
    assert_int_equal(ember_frame_partition_count(frame), slices);
    if (count_of(frame) != n)
        fail_msg("range(%" PRId64 ", %" PRId64 ", %d).count() = %" PRId64 ", expected %" PRId64,
                 start, end, slices, count_of(frame), n);
    ember_table *table = collect_of(frame);
    assert_int_equal(ember_table_row_count(table), n);
    assert_int_equal(ember_table_column_count(table), 1);
    assert_string_equal(ember_table_column_name(table, 0), "value");
    assert_int_equal(ember_table_column_type(table, 0), EMBER_TYPE_INT64);
    for (int64_t i = 0; i < n; i++) {
        assert_false(ember_table_is_null(table, 0, i));
        int64_t expected = (int64_t)((uint64_t)start + (uint64_t)i);
        if (ember_table_int64(table, 0, i) != expected)
            fail_msg("range(%" PRId64 ", %" PRId64 ", %d) row %" PRId64 ": %" PRId64
                     ", expected %" PRId64,
                     start, end, slices, i, ember_table_int64(table, 0, i), expected);
    }
    /* Slice i holds the values i * n / slices to (i + 1) * n / slices - 1. */
    int64_t sizes[256];
    int parts = partition_sizes(frame, sizes, 256);
    assert_int_equal(parts, slices);
    for (int i = 0; i < parts && i < 256; i++) {
        int64_t lo = (int64_t)((__int128)i * n / slices);
        int64_t hi = (int64_t)((__int128)(i + 1) * n / slices);
        if (sizes[i] != hi - lo)
            fail_msg("range(%" PRId64 ", %" PRId64 ", %d): slice %d has %" PRId64
                     " rows, expected %" PRId64,
                     start, end, slices, i, sizes[i], hi - lo);
    }
}

static void test_range_collect(void **state) {
    (void)state;
    static const struct {
        int64_t start, end;
        int slices;
    } cases[] = {
        {0, 1000, 1},
        {0, 1000, 3},
        {0, 1000, 50},
        {0, 1000, 64},
        {0, 1001, 64},
        {0, 10, 64},
        {0, 1, 3},
        {7, 12, 200},
        {-500, -7, 7},
        {-37, 463, 13},
        {5, 5, 4},
        {10, 3, 2},
        {-3, -10, 1},
        {-3, 4, 1},
        {0, 100000, 64},
        {INT64_MAX - 5, INT64_MAX, 2},
        {INT64_MIN, INT64_MIN + 5, 3},
        {-1000000, 1000000, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_range(cases[i].start, cases[i].end, cases[i].slices);
}

static const char *const whole_aggregates[] = {"sum:value", "count",      "min:value",
                                               "max:value", "mean:value", NULL};

/* sum, count, min, max and mean of the value column of frame (one row, no keys). */
static void check_whole(ember_frame *frame, __int128 sum, int64_t count, int64_t min, int64_t max) {
    ember_frame *agg = group_by_of(frame, NULL, whole_aggregates);
    ember_table *table = collect_of(agg);
    assert_int_equal(ember_table_row_count(table), 1);
    assert_int_equal(ember_table_column_count(table), 5);
    int c_sum = column_of(table, "sum_value"), c_count = column_of(table, "count"),
        c_min = column_of(table, "min_value"), c_max = column_of(table, "max_value"),
        c_mean = column_of(table, "mean_value");
    assert_int_equal(ember_table_int64(table, c_count, 0), count);
    if (count == 0) {
        assert_true(ember_table_is_null(table, c_sum, 0));
        assert_true(ember_table_is_null(table, c_min, 0));
        assert_true(ember_table_is_null(table, c_max, 0));
        assert_true(ember_table_is_null(table, c_mean, 0));
        return;
    }
    if ((__int128)ember_table_int64(table, c_sum, 0) != sum)
        fail_msg("sum %" PRId64 ", expected %" PRId64, ember_table_int64(table, c_sum, 0),
                 (int64_t)sum);
    assert_int_equal(ember_table_int64(table, c_min, 0), min);
    assert_int_equal(ember_table_int64(table, c_max, 0), max);
    assert_int_equal(ember_table_column_type(table, c_mean), EMBER_TYPE_FLOAT64);
    double mean = (double)sum / (double)count;
    double got = ember_table_float64(table, c_mean, 0);
    if (fabs(got - mean) > 1e-9 * fmax(1.0, fabs(mean)))
        fail_msg("mean %.17g, expected %.17g", got, mean);
}

static void test_range_aggregates(void **state) {
    (void)state;
    static const struct {
        int64_t start, end;
        int slices;
    } cases[] = {{0, 1000, 50}, {-37, 463, 13}, {-1000, -1, 3}, {5, 5, 4},
                 {0, 1, 1},     {0, 12345, 64}, {3, 100, 200}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t a = cases[i].start, b = cases[i].end, n = b > a ? b - a : 0;
        __int128 sum = n ? (__int128)(a + b - 1) * n / 2 : 0;
        check_whole(range_of(a, b, cases[i].slices), sum, n, a, b - 1);
        /* map(value * 2): twice everything */
        ember_frame *doubled = map_of(range_of(a, b, cases[i].slices), "value * 2");
        check_whole(doubled, 2 * sum, n, 2 * a, 2 * (b - 1));
    }
}

/* range(0, 10^9, 64): the fused kernel generates and reduces the values on the device. */
static void test_range_billion(void **state) {
    (void)state;
    double start = now_seconds();
    ember_frame *frame = range_of(0, 1000000000, 64);
    assert_int_equal(count_of(frame), 1000000000);
    check_whole(frame, (__int128)499999999500000000ll, 1000000000, 0, 999999999);
    check_whole(map_of(frame, "value * 2"), (__int128)999999999000000000ll, 1000000000, 0,
                1999999998);
    /* A filter in the same kernel: the even values. */
    ember_frame *even = filter_of(frame, "value % 2 = 0");
    assert_int_equal(count_of(even), 500000000);
    double seconds = now_seconds() - start;
    fprintf(stderr, "range(0, 10^9, 64): count, 2 aggregates and a filtered count in %.2f s\n",
            seconds);
    /* Nothing is stored: 8 GB of values would not be done in this time (nor fit). */
    assert_true(seconds < 60);
}

static void test_range_errors(void **state) {
    (void)state;
    ember_frame *frame = (ember_frame *)1;
    expect_error(ember_range(sess(), 0, 10, 0, &frame), EMBER_ERROR_INVALID_ARGUMENT, "slices", "0",
                 NULL);
    assert_null(frame);
    expect_error(ember_range(sess(), 0, 10, -3, &frame), EMBER_ERROR_INVALID_ARGUMENT, "slices",
                 "-3", NULL);
    assert_null(frame);
    /* An int64 sum that leaves the range fails the action, never wraps. */
    ember_frame *big = range_of(INT64_MAX - 10, INT64_MAX, 2);
    const char *sum[] = {"sum:value", NULL};
    ember_frame *agg = group_by_of(big, NULL, sum);
    ember_table *table = NULL;
    expect_error(ember_collect(agg, &table), EMBER_ERROR_OVERFLOW, NULL);
    assert_null(table);
}

/* Spark's example: sc.parallelize(range(0, 1000), 50).map(lambda x: x * 2).collect(). */
static void test_range_map_spark_example(void **state) {
    (void)state;
    ember_frame *doubled = map_of(range_of(0, 1000, 50), "value * 2");
    assert_int_equal(ember_frame_partition_count(doubled), 50);
    assert_int_equal(ember_frame_column_count(doubled), 1);
    assert_string_equal(ember_frame_column_name(doubled, 0), "value");
    ember_table *table = collect_of(doubled);
    assert_int_equal(ember_table_row_count(table), 1000);
    for (int64_t i = 0; i < 1000; i++)
        assert_int_equal(ember_table_int64(table, 0, i), 2 * i);
    /* Chained maps change the type: value * 2 / 4 is float64, value % 3 = 0 a bool. */
    ember_frame *halves = map_of(doubled, "value / 4");
    ember_frame *thirds = map_of(range_of(-10, 10, 3), "value % 3 = 0");
    table = collect_of(halves);
    assert_int_equal(ember_table_column_type(table, 0), EMBER_TYPE_FLOAT64);
    for (int64_t i = 0; i < 1000; i++)
        assert_true(ember_table_float64(table, 0, i) == (double)i / 2.0);
    table = collect_of(thirds);
    assert_int_equal(ember_table_column_type(table, 0), EMBER_TYPE_BOOL);
    for (int64_t i = 0; i < 20; i++)
        assert_int_equal(ember_table_int64(table, 0, i), (i - 10) % 3 == 0);
    /* with_column on a range, a filter between, and the count of the result. */
    ember_frame *squares = with_column(range_of(-50, 50, 4), "square", "value * value");
    ember_frame *small = filter_of(squares, "square < 100");
    assert_int_equal(count_of(small), 19);
    table = collect_of(small);
    assert_int_equal(ember_table_row_count(table), 19);
    for (int64_t i = 0; i < 19; i++) {
        assert_int_equal(ember_table_int64(table, 0, i), i - 9);
        assert_int_equal(ember_table_int64(table, 1, i), (i - 9) * (i - 9));
    }
}

/* ---------------------------------------------------------------------------------------
 * 2. with_column / map / select / filter over a CSV file, against a plain-C evaluation.
 * ------------------------------------------------------------------------------------- */

/* One row of the generated file. Strings come from the pools (NUL-terminated, no NUL). */
typedef struct crow {
    int64_t id;
    bool price_null, qty_null, region_null, name_null, disc_null;
    double price, disc;
    int64_t qty;
    const char *region, *name;
} crow;

static const char *const region_pool[] = {"EU",       "EU",   "EU",          "US",          "eu",
                                          "",         "E,U",  "say \"hi\"",  "multi\nline", "APAC",
                                          "cr\r\nlf", "it's", "caf\xc3\xa9", " spaced "};
static const char *const name_pool[] = {"EU", "Bob", "Ann, Jr.", "\"quoted\"", "x\ny", "", "US",
                                        "\"", ",",   "a\"\"b",   "line\r\n\n", "APAC"};
static const int64_t qty_pool[] = {0,          1,           -1,
                                   2,          3,           10,
                                   11,         -7,          100,
                                   INT64_MAX,  INT64_MIN,   INT64_MAX - 1,
                                   3037000500, -3037000500, 4611686018427387904};
static const double float_pool[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    0.5,
                                    -2.5,
                                    2.5,
                                    100.5,
                                    1e300,
                                    -1e300,
                                    5e-324,
                                    1e-310,
                                    0.1,
                                    1e15,
                                    9.2233720368547758e18,
                                    -9.2233720368547758e18,
                                    1.7976931348623157e308,
                                    0.49999999999999994,
                                    3.0,
                                    -7.25};

#define POOL_PICK(r, pool) pool[rng_below(r, (int)(sizeof pool / sizeof pool[0]))]

static double random_float(rng *r) {
    switch (rng_below(r, 12)) {
    case 0:
        return NAN;
    case 1:
        return rng_percent(r, 50) ? INFINITY : -INFINITY;
    case 2:
    case 3:
    case 4:
        return (double)((int64_t)(rng_next(r) % 4001) - 2000) / 8.0;
    case 5: {
        uint64_t bits = rng_next(r);
        double d;
        memcpy(&d, &bits, sizeof d);
        return isfinite(d) ? d : 1.0;
    }
    default:
        return POOL_PICK(r, float_pool);
    }
}

static int64_t random_qty(rng *r) {
    switch (rng_below(r, 8)) {
    case 0:
        return (int64_t)rng_next(r);
    case 1:
    case 2:
        return POOL_PICK(r, qty_pool);
    default:
        return (int64_t)(rng_next(r) % 61) - 20;
    }
}

static crow *generate_rows(int64_t rows, uint64_t seed) {
    rng r = {seed};
    crow *data = calloc((size_t)rows + 1, sizeof *data);
    assert_non_null(data);
    for (int64_t i = 0; i < rows; i++) {
        crow *row = &data[i];
        row->id = i;
        row->price_null = rng_percent(&r, 12);
        row->price = random_float(&r);
        row->qty_null = rng_percent(&r, 10);
        row->qty = random_qty(&r);
        row->region_null = rng_percent(&r, 10);
        row->region = POOL_PICK(&r, region_pool);
        row->name_null = rng_percent(&r, 10);
        row->name = POOL_PICK(&r, name_pool);
        row->disc_null = rng_percent(&r, 15);
        row->disc = random_float(&r);
    }
    return data;
}

static void write_float_field(FILE *f, double v, rng *r) {
    if (isnan(v)) {
        fputs(rng_percent(r, 50) ? "NaN" : "nan", f);
    } else if (isinf(v)) {
        static const char *const spellings[] = {"inf", "Infinity", "INF", "+inf"};
        const char *text = spellings[rng_below(r, 4)];
        fprintf(f, "%s%s", v < 0 ? "-" : "", v < 0 && text[0] == '+' ? text + 1 : text);
    } else {
        fprintf(f, "%.17g", v);
    }
}

/* A CSV string field: quoted when it must be (delimiter, quote, CR, LF, empty) and now and then
 * when it need not be. */
static void write_string_field(FILE *f, const char *s, rng *r) {
    bool quote = !*s || strpbrk(s, ",\"\r\n") || rng_percent(r, 10);
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *const CROW_SCHEMA =
    "id:int64,price:float64,qty:int64,region:string,name:string,disc:float64";

static void write_rows(const char *path, const crow *data, int64_t rows) {
    rng r = {99};
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("id,price,qty,region,name,disc\n", f);
    for (int64_t i = 0; i < rows; i++) {
        const crow *row = &data[i];
        fprintf(f, "%" PRId64 ",", row->id);
        if (!row->price_null)
            write_float_field(f, row->price, &r);
        fputc(',', f);
        if (!row->qty_null)
            fprintf(f, "%" PRId64, row->qty);
        fputc(',', f);
        if (!row->region_null)
            write_string_field(f, row->region, &r);
        fputc(',', f);
        if (!row->name_null)
            write_string_field(f, row->name, &r);
        fputc(',', f);
        if (!row->disc_null)
            write_float_field(f, row->disc, &r);
        fputs(rng_percent(&r, 10) ? "\r\n" : "\n", f);
    }
    assert_int_equal(fclose(f), 0);
}

/* A reference value. */
typedef struct rv {
    bool null;
    int64_t i; /* int64, bool */
    double f;
    const char *s;
} rv;

static rv rv_null(void) {
    rv v = {.null = true};
    return v;
}
static rv rv_int(int64_t i) {
    rv v = {.i = i};
    return v;
}
static rv rv_bool(bool b) {
    rv v = {.i = b};
    return v;
}
static rv rv_float(double f) {
    rv v = {.f = f};
    return v;
}
static rv rv_str(const char *s) {
    rv v = {.s = s};
    return v;
}

static rv col_price(const crow *r) {
    return r->price_null ? rv_null() : rv_float(r->price);
}
static rv col_disc(const crow *r) {
    return r->disc_null ? rv_null() : rv_float(r->disc);
}
static rv col_qty(const crow *r) {
    return r->qty_null ? rv_null() : rv_int(r->qty);
}
static rv col_region(const crow *r) {
    return r->region_null ? rv_null() : rv_str(r->region);
}
static rv col_name(const crow *r) {
    return r->name_null ? rv_null() : rv_str(r->name);
}

/* Spark's order of doubles: NaN above everything and equal to NaN, -0.0 equal to 0.0. */
static int cmp_float(double a, double b) {
    if (isnan(a) || isnan(b))
        return isnan(a) && isnan(b) ? 0 : isnan(a) ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
}

static rv and3(rv a, rv b) {
    if ((!a.null && !a.i) || (!b.null && !b.i))
        return rv_bool(false);
    if (a.null || b.null)
        return rv_null();
    return rv_bool(true);
}

static rv or3(rv a, rv b) {
    if ((!a.null && a.i) || (!b.null && b.i))
        return rv_bool(true);
    if (a.null || b.null)
        return rv_null();
    return rv_bool(false);
}

static rv not3(rv a) {
    return a.null ? a : rv_bool(!a.i);
}

static int64_t wrap_add(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a + (uint64_t)b);
}
static int64_t wrap_mul(int64_t a, int64_t b) {
    return (int64_t)((uint64_t)a * (uint64_t)b);
}

static rv ref_total(const crow *r) { /* price * qty */
    return r->price_null || r->qty_null ? rv_null() : rv_float(r->price * (double)r->qty);
}
static rv ref_big_eu(const crow *r) { /* qty > 10 and region = 'EU' */
    rv a = r->qty_null ? rv_null() : rv_bool(r->qty > 10);
    rv b = r->region_null ? rv_null() : rv_bool(strcmp(r->region, "EU") == 0);
    return and3(a, b);
}
static rv ref_pick(const crow *r) { /* if(qty > 10, price, -price) */
    bool cond = !r->qty_null && r->qty > 10;
    if (r->price_null)
        return rv_null();
    return rv_float(cond ? r->price : -r->price);
}
static rv ref_fill(const crow *r) { /* coalesce(price, float(qty), -1.5) */
    if (!r->price_null)
        return rv_float(r->price);
    if (!r->qty_null)
        return rv_float((double)r->qty);
    return rv_float(-1.5);
}
static rv ref_fill_q(const crow *r) { /* coalesce(qty, 0) */
    return rv_int(r->qty_null ? 0 : r->qty);
}
static rv ref_same(const crow *r) { /* region = name */
    if (r->region_null || r->name_null)
        return rv_null();
    return rv_bool(strcmp(r->region, r->name) == 0);
}
static rv ref_wrap(const crow *r) { /* qty * 3037000500 + 9223372036854775807 */
    return r->qty_null ? rv_null() : rv_int(wrap_add(wrap_mul(r->qty, 3037000500), INT64_MAX));
}
static rv ref_neg_q(const crow *r) { /* -qty */
    return r->qty_null ? rv_null() : rv_int(wrap_mul(r->qty, -1));
}
static rv ref_ratio(const crow *r) { /* price / qty */
    if (r->price_null || r->qty_null || r->qty == 0)
        return rv_null();
    return rv_float(r->price / (double)r->qty);
}
static rv ref_ratio0(const crow *r) { /* qty / (qty - qty) */
    (void)r;
    return rv_null();
}
static rv ref_rem(const crow *r) { /* qty % (qty - 3) */
    if (r->qty_null)
        return rv_null();
    int64_t y = wrap_add(r->qty, -3);
    if (y == 0)
        return rv_null();
    if (y == -1)
        return rv_int(0);
    return rv_int(r->qty % y);
}
static rv ref_frem(const crow *r) { /* price % 2.5 */
    return r->price_null ? rv_null() : rv_float(fmod(r->price, 2.5));
}
static rv ref_frem0(const crow *r) { /* price % (disc - disc) */
    if (r->price_null || r->disc_null)
        return rv_null();
    double y = r->disc - r->disc;
    if (y == 0.0)
        return rv_null();
    return rv_float(fmod(r->price, y));
}
static rv ref_label(const crow *r) { /* if(qty > 0, region, name) */
    bool cond = !r->qty_null && r->qty > 0;
    return cond ? col_region(r) : col_name(r);
}
static rv ref_hi(const crow *r) { /* is_null(price) or price > 100.5 */
    rv a = rv_bool(r->price_null);
    rv b = r->price_null ? rv_null() : rv_bool(cmp_float(r->price, 100.5) > 0);
    return or3(a, b);
}
static rv ref_nonneg(const crow *r) { /* not (price < 0) */
    return not3(r->price_null ? rv_null() : rv_bool(cmp_float(r->price, 0.0) < 0));
}
static rv ref_greatest(const crow *r) { /* greatest(price, disc, qty) */
    rv args[3] = {col_price(r), col_disc(r), r->qty_null ? rv_null() : rv_float((double)r->qty)};
    rv best = rv_null();
    for (int i = 0; i < 3; i++)
        if (!args[i].null && (best.null || cmp_float(args[i].f, best.f) > 0))
            best = args[i];
    return best;
}
static rv ref_least(const crow *r) { /* least(qty, -5) */
    return rv_int(r->qty_null || r->qty > -5 ? -5 : r->qty);
}
static rv ref_round(const crow *r) { /* round(price) */
    return r->price_null ? rv_null() : rv_float(round(r->price));
}
static rv ref_floor_ceil(const crow *r) { /* floor(price) + ceil(disc) */
    if (r->price_null || r->disc_null)
        return rv_null();
    return rv_float(floor(r->price) + ceil(r->disc));
}
static rv ref_int(const crow *r) { /* int(price) */
    if (r->price_null || isnan(r->price) || r->price >= 9223372036854775808.0 ||
        r->price < -9223372036854775808.0)
        return rv_null();
    return rv_int((int64_t)trunc(r->price));
}
static rv ref_sqrt(const crow *r) { /* sqrt(price) */
    return r->price_null ? rv_null() : rv_float(sqrt(r->price));
}
static rv ref_nan_eq(const crow *r) { /* price = price */
    return r->price_null ? rv_null() : rv_bool(true);
}
static rv ref_zero_eq(const crow *r) { /* price = 0 */
    return r->price_null ? rv_null() : rv_bool(cmp_float(r->price, 0.0) == 0);
}
static rv ref_log(const crow *r) { /* log(price) */
    if (r->price_null || r->price <= 0)
        return rv_null();
    return rv_float(log(r->price));
}
static rv ref_exp(const crow *r) { /* exp(disc) */
    return r->disc_null ? rv_null() : rv_float(exp(r->disc));
}
static rv ref_str_lit(const crow *r) { /* if(region = 'E,U', 'comma', coalesce(name, 'it''s')) */
    if (!r->region_null && strcmp(r->region, "E,U") == 0)
        return rv_str("comma");
    return rv_str(r->name_null ? "it's" : r->name);
}
static rv ref_isn(const crow *r) { /* is_not_null(name) and not is_null(region) */
    return rv_bool(!r->name_null && !r->region_null);
}
static rv ref_abs_q(const crow *r) { /* abs(qty) */
    return r->qty_null ? rv_null() : rv_int(r->qty < 0 ? wrap_mul(r->qty, -1) : r->qty);
}
static rv ref_half_q(const crow *r) { /* float(qty) * 0.5 */
    return r->qty_null ? rv_null() : rv_float((double)r->qty * 0.5);
}
static rv ref_bool_or(const crow *r) { /* qty < 0 or price > 0 */
    rv a = r->qty_null ? rv_null() : rv_bool(r->qty < 0);
    rv b = r->price_null ? rv_null() : rv_bool(cmp_float(r->price, 0.0) > 0);
    return or3(a, b);
}
static rv ref_mixed_cmp(const crow *r) { /* qty = price (int64 converted to float64) */
    if (r->qty_null || r->price_null)
        return rv_null();
    return rv_bool(cmp_float((double)r->qty, r->price) == 0);
}

typedef struct ref_column {
    const char *name;
    const char *expression;
    ember_type type;
    rv (*eval)(const crow *);
    bool inexact; /* exp / log: a relative 1e-12 */
} ref_column;

static const ref_column ref_columns[] = {
    {"total", "price * qty", EMBER_TYPE_FLOAT64, ref_total, false},
    {"big_eu", "qty > 10 and region = 'EU'", EMBER_TYPE_BOOL, ref_big_eu, false},
    {"pick", "if(qty > 10, price, -price)", EMBER_TYPE_FLOAT64, ref_pick, false},
    {"fill", "coalesce(price, float(qty), -1.5)", EMBER_TYPE_FLOAT64, ref_fill, false},
    {"fill_q", "coalesce(qty, 0)", EMBER_TYPE_INT64, ref_fill_q, false},
    {"same", "region = name", EMBER_TYPE_BOOL, ref_same, false},
    {"wrap", "qty * 3037000500 + 9223372036854775807", EMBER_TYPE_INT64, ref_wrap, false},
    {"neg_q", "-qty", EMBER_TYPE_INT64, ref_neg_q, false},
    {"ratio", "price / qty", EMBER_TYPE_FLOAT64, ref_ratio, false},
    {"ratio0", "qty / (qty - qty)", EMBER_TYPE_FLOAT64, ref_ratio0, false},
    {"rem", "qty % (qty - 3)", EMBER_TYPE_INT64, ref_rem, false},
    {"frem", "price % 2.5", EMBER_TYPE_FLOAT64, ref_frem, false},
    {"frem0", "price % (disc - disc)", EMBER_TYPE_FLOAT64, ref_frem0, false},
    {"label", "if(qty > 0, region, name)", EMBER_TYPE_STRING, ref_label, false},
    {"hi", "is_null(price) or price > 100.5", EMBER_TYPE_BOOL, ref_hi, false},
    {"nonneg", "not (price < 0)", EMBER_TYPE_BOOL, ref_nonneg, false},
    {"g", "greatest(price, disc, qty)", EMBER_TYPE_FLOAT64, ref_greatest, false},
    {"l", "least(qty, -5)", EMBER_TYPE_INT64, ref_least, false},
    {"r", "round(price)", EMBER_TYPE_FLOAT64, ref_round, false},
    {"fc", "floor(price) + ceil(disc)", EMBER_TYPE_FLOAT64, ref_floor_ceil, false},
    {"iq", "int(price)", EMBER_TYPE_INT64, ref_int, false},
    {"sq", "sqrt(price)", EMBER_TYPE_FLOAT64, ref_sqrt, false},
    {"nan_eq", "price = price", EMBER_TYPE_BOOL, ref_nan_eq, false},
    {"zero_eq", "price = 0", EMBER_TYPE_BOOL, ref_zero_eq, false},
    {"lg", "log(price)", EMBER_TYPE_FLOAT64, ref_log, true},
    {"ex", "exp(disc)", EMBER_TYPE_FLOAT64, ref_exp, true},
    {"str_lit", "if(region = 'E,U', 'comma', coalesce(name, 'it''s'))", EMBER_TYPE_STRING,
     ref_str_lit, false},
    {"isn", "is_not_null(name) and not is_null(region)", EMBER_TYPE_BOOL, ref_isn, false},
    {"abs_q", "abs(qty)", EMBER_TYPE_INT64, ref_abs_q, false},
    {"half_q", "float(qty) * 0.5", EMBER_TYPE_FLOAT64, ref_half_q, false},
    {"bool_or", "qty < 0 or price > 0", EMBER_TYPE_BOOL, ref_bool_or, false},
    {"mixed_cmp", "qty = price", EMBER_TYPE_BOOL, ref_mixed_cmp, false},
};
#define REF_COLUMNS (sizeof ref_columns / sizeof ref_columns[0])

static void format_rv(rv v, ember_type type, char *buf, size_t size) {
    if (v.null)
        snprintf(buf, size, "null");
    else if (type == EMBER_TYPE_FLOAT64)
        snprintf(buf, size, "%.17g (%a)", v.f, v.f);
    else if (type == EMBER_TYPE_STRING)
        snprintf(buf, size, "'%s'", v.s);
    else
        snprintf(buf, size, "%" PRId64, v.i);
}

/* The cell of table (column, row) as a reference value. */
static rv table_rv(const ember_table *table, int column, int64_t row, char *buf, size_t size) {
    if (ember_table_is_null(table, (size_t)column, row))
        return rv_null();
    switch (ember_table_column_type(table, (size_t)column)) {
    case EMBER_TYPE_FLOAT64:
        return rv_float(ember_table_float64(table, (size_t)column, row));
    case EMBER_TYPE_STRING: {
        size_t len = 0;
        const char *s = ember_table_string(table, (size_t)column, row, &len);
        snprintf(buf, size, "%.*s", (int)len, s);
        if (strlen(buf) != len)
            snprintf(buf, size, "<NUL>");
        return rv_str(buf);
    }
    default:
        return rv_int(ember_table_int64(table, (size_t)column, row));
    }
}

/* Exact match (floats bit for bit, any NaN for any NaN), or within 1e-12 when inexact. */
static bool rv_match(rv got, rv want, ember_type type, bool inexact) {
    if (got.null != want.null)
        return false;
    if (got.null)
        return true;
    switch (type) {
    case EMBER_TYPE_FLOAT64:
        if (isnan(got.f) || isnan(want.f))
            return isnan(got.f) && isnan(want.f);
        if (memcmp(&got.f, &want.f, sizeof got.f) == 0)
            return true;
        return inexact && !isinf(got.f) && !isinf(want.f) &&
               fabs(got.f - want.f) <= 1e-12 * fmax(fabs(got.f), fabs(want.f));
    case EMBER_TYPE_STRING:
        return strcmp(got.s, want.s) == 0;
    default:
        return got.i == want.i;
    }
}

static void expect_cell(const ember_table *table, int column, int64_t row, rv want, bool inexact,
                        const char *what) {
    char buf[256];
    ember_type type = ember_table_column_type(table, (size_t)column);
    rv got = table_rv(table, column, row, buf, sizeof buf);
    if (!rv_match(got, want, type, inexact)) {
        char g[320], w[320];
        format_rv(got, type, g, sizeof g);
        format_rv(want, type, w, sizeof w);
        fail_msg("%s, column '%s', row %" PRId64 ": got %s, expected %s", what,
                 ember_table_column_name(table, (size_t)column), row, g, w);
    }
}

/* The table's columns id, price, qty, region, name, disc hold rows[ids[k]] for each k. */
static void expect_input_columns(const ember_table *table, const crow *data, const int64_t *ids,
                                 int64_t count, const char *what) {
    assert_int_equal(ember_table_row_count(table), count);
    int c_id = column_of(table, "id"), c_price = ember_table_column_index(table, "price"),
        c_qty = ember_table_column_index(table, "qty"),
        c_region = ember_table_column_index(table, "region"),
        c_name = ember_table_column_index(table, "name"),
        c_disc = ember_table_column_index(table, "disc");
    for (int64_t k = 0; k < count; k++) {
        const crow *r = &data[ids[k]];
        expect_cell(table, c_id, k, rv_int(r->id), false, what);
        if (c_price >= 0)
            expect_cell(table, c_price, k, col_price(r), false, what);
        if (c_qty >= 0)
            expect_cell(table, c_qty, k, col_qty(r), false, what);
        if (c_region >= 0)
            expect_cell(table, c_region, k, col_region(r), false, what);
        if (c_name >= 0)
            expect_cell(table, c_name, k, col_name(r), false, what);
        if (c_disc >= 0)
            expect_cell(table, c_disc, k, col_disc(r), false, what);
    }
}

#define CSV_ROWS 3000

static crow *csv_data;
static char *csv_path;

/* The generated file, written once per run. */
static void need_csv(void) {
    sess();
    if (csv_data)
        return;
    csv_data = generate_rows(CSV_ROWS, 20240611);
    csv_path = tu_tmp_path("pipeline.csv");
    write_rows(csv_path, csv_data, CSV_ROWS);
}

static int64_t *all_ids(int64_t n) {
    int64_t *ids = calloc((size_t)n + 1, sizeof *ids);
    assert_non_null(ids);
    for (int64_t i = 0; i < n; i++)
        ids[i] = i;
    return ids;
}

/* Every reference column as a with_column of the file, at 1, 2 and 7 partitions: the values
 * and the row order (the file's). */
static void test_csv_with_column(void **state) {
    (void)state;
    need_csv();
    int64_t *ids = all_ids(CSV_ROWS);
    static const int partition_counts[] = {1, 2, 7};
    for (int p = 0; p < 3; p++) {
        ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, partition_counts[p]);
        assert_int_equal(ember_frame_partition_count(frame), partition_counts[p]);
        /* The file alone first. */
        ember_table *plain = collect_of(frame);
        char what[64];
        snprintf(what, sizeof what, "read_csv at %d partitions", partition_counts[p]);
        expect_input_columns(plain, csv_data, ids, CSV_ROWS, what);
        for (size_t k = 0; k < REF_COLUMNS; k++) {
            frame = with_column(frame, ref_columns[k].name, ref_columns[k].expression);
            assert_int_equal(ember_frame_column_count(frame), 6 + k + 1);
            assert_int_equal(ember_frame_column_type(frame, 6 + k), ref_columns[k].type);
        }
        assert_int_equal(ember_frame_partition_count(frame), partition_counts[p]);
        ember_table *table = collect_of(frame);
        assert_int_equal(ember_table_column_count(table), 6 + REF_COLUMNS);
        snprintf(what, sizeof what, "with_column at %d partitions", partition_counts[p]);
        expect_input_columns(table, csv_data, ids, CSV_ROWS, what);
        for (size_t k = 0; k < REF_COLUMNS; k++) {
            int c = column_of(table, ref_columns[k].name);
            assert_int_equal(c, 6 + (int)k);
            assert_int_equal(ember_table_column_type(table, (size_t)c), ref_columns[k].type);
            snprintf(what, sizeof what, "%s at %d partitions", ref_columns[k].expression,
                     partition_counts[p]);
            for (int64_t i = 0; i < CSV_ROWS; i++)
                expect_cell(table, c, i, ref_columns[k].eval(&csv_data[i]), ref_columns[k].inexact,
                            what);
        }
    }
    free(ids);
}

/* Each reference column alone through select + map: a one-column frame "value". */
static void test_csv_map(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 2);
    const char *qty_only[] = {"qty", NULL};
    const char *price_only[] = {"price", NULL};
    const char *region_only[] = {"region", NULL};
    static const struct {
        int column; /* 0 qty, 1 price, 2 region */
        const char *expression;
        int ref; /* index in ref_columns of the same expression over the full frame */
    } cases[] = {
        {0, "qty * 3037000500 + 9223372036854775807", 6},
        {0, "-qty", 7},
        {0, "qty % (qty - 3)", 10},
        {0, "least(qty, -5)", 17},
        {1, "price % 2.5", 11},
        {1, "round(price)", 18},
        {1, "int(price)", 20},
        {1, "price = price", 22},
        {1, "is_null(price) or price > 100.5", 14},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_string_equal(ref_columns[cases[i].ref].expression, cases[i].expression);
        ember_frame *one = select_of(frame, cases[i].column == 0 ? qty_only : price_only);
        ember_frame *mapped = map_of(one, cases[i].expression);
        ember_table *table = collect_of(mapped);
        assert_int_equal(ember_table_column_count(table), 1);
        assert_string_equal(ember_table_column_name(table, 0), "value");
        assert_int_equal(ember_table_row_count(table), CSV_ROWS);
        for (int64_t r = 0; r < CSV_ROWS; r++)
            expect_cell(table, 0, r, ref_columns[cases[i].ref].eval(&csv_data[r]), false,
                        cases[i].expression);
    }
    /* A string map, and a map of a map. */
    ember_frame *regions = select_of(frame, region_only);
    ember_frame *flagged = map_of(regions, "coalesce(region, 'none')");
    ember_frame *is_eu = map_of(flagged, "value = 'EU'");
    ember_table *a = collect_of(flagged), *b = collect_of(is_eu);
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        expect_cell(a, 0, r, rv_str(row->region_null ? "none" : row->region), false,
                    "coalesce(region, 'none')");
        expect_cell(b, 0, r, rv_bool(!row->region_null && strcmp(row->region, "EU") == 0), false,
                    "value = 'EU'");
    }
}

/* Filters: the rows of the file for which the condition is true, in the file's order; the
 * fused count equals the reference count. */
static void test_csv_filter(void **state) {
    (void)state;
    need_csv();
    static const struct {
        const char *condition;
        int ref;              /* a bool reference column */
        bool negate_not_null; /* keep rows where the reference is false (for "not (...)") */
    } cases[] = {
        {"qty > 10 and region = 'EU'", 1, false},
        {"region = name", 5, false},
        {"is_null(price) or price > 100.5", 14, false},
        {"not (price < 0)", 15, false},
        {"price = price", 22, false},
        {"price = 0", 23, false},
        {"qty < 0 or price > 0", 30, false},
        {"qty = price", 31, false},
        {"is_not_null(name) and not is_null(region)", 27, false},
        {"not (qty > 10 and region = 'EU')", 1, true},
    };
    int64_t *ids = calloc(CSV_ROWS + 1, sizeof *ids);
    assert_non_null(ids);
    static const int partition_counts[] = {1, 2, 7};
    for (int p = 0; p < 3; p++) {
        ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, partition_counts[p]);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const ref_column *ref = &ref_columns[cases[i].ref];
            assert_int_equal(ref->type, EMBER_TYPE_BOOL);
            int64_t n = 0;
            for (int64_t r = 0; r < CSV_ROWS; r++) {
                rv v = ref->eval(&csv_data[r]);
                if (!v.null && (cases[i].negate_not_null ? !v.i : v.i))
                    ids[n++] = r;
            }
            ember_frame *filtered = filter_of(frame, cases[i].condition);
            assert_int_equal(ember_frame_partition_count(filtered), partition_counts[p]);
            int64_t counted = count_of(filtered);
            if (counted != n)
                fail_msg("filter(%s) at %d partitions: count %" PRId64 ", expected %" PRId64,
                         cases[i].condition, partition_counts[p], counted, n);
            char what[128];
            snprintf(what, sizeof what, "filter(%s) at %d partitions", cases[i].condition,
                     partition_counts[p]);
            expect_input_columns(collect_of(filtered), csv_data, ids, n, what);
        }
        /* Two filters in a row are their conjunction. */
        ember_frame *twice = filter_of(filter_of(frame, "qty > 0"), "region = 'EU'");
        int64_t n = 0;
        for (int64_t r = 0; r < CSV_ROWS; r++) {
            const crow *row = &csv_data[r];
            if (!row->qty_null && row->qty > 0 && !row->region_null &&
                strcmp(row->region, "EU") == 0)
                ids[n++] = r;
        }
        assert_int_equal(count_of(twice), n);
        expect_input_columns(collect_of(twice), csv_data, ids, n, "two filters");
        /* Always false, always null, always true. */
        assert_int_equal(count_of(filter_of(frame, "false")), 0);
        assert_int_equal(count_of(filter_of(frame, "null")), 0);
        assert_int_equal(count_of(filter_of(frame, "qty / 0 > 1")), 0);
        assert_int_equal(count_of(filter_of(frame, "true")), CSV_ROWS);
        ember_table *none = collect_of(filter_of(frame, "id < 0"));
        assert_int_equal(ember_table_row_count(none), 0);
        assert_int_equal(ember_table_column_count(none), 6);
    }
    free(ids);
}

/* with_column, a filter on the new column, select, then with_column replacing a column. */
static void test_csv_chain(void **state) {
    (void)state;
    need_csv();
    int64_t *ids = calloc(CSV_ROWS + 1, sizeof *ids);
    assert_non_null(ids);
    int64_t n = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        rv total = ref_total(&csv_data[r]);
        if (!total.null && cmp_float(total.f, 100.0) > 0) /* NaN > 100 is true */
            ids[n++] = r;
    }
    static const int partition_counts[] = {1, 2, 7};
    for (int p = 0; p < 3; p++) {
        ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, partition_counts[p]);
        ember_frame *with_total = with_column(frame, "total", "price * qty");
        ember_frame *big = filter_of(with_total, "total > 100");
        const char *columns[] = {"region", "id", "total", NULL};
        ember_frame *selected = select_of(big, columns);
        ember_frame *doubled = with_column(selected, "total", "total * 2");
        ember_frame *named = with_column(doubled, "region", "coalesce(region, 'none')");
        ember_frame *flag = with_column(named, "eu", "region = 'EU' and total > 1000");
        assert_int_equal(count_of(big), n);
        assert_int_equal(count_of(flag), n);
        assert_int_equal(ember_frame_column_count(flag), 4);
        static const char *const names[] = {"region", "id", "total", "eu"};
        static const ember_type types[] = {EMBER_TYPE_STRING, EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64,
                                           EMBER_TYPE_BOOL};
        for (size_t c = 0; c < 4; c++) {
            assert_string_equal(ember_frame_column_name(flag, c), names[c]);
            assert_int_equal(ember_frame_column_type(flag, c), types[c]);
        }
        ember_table *table = collect_of(flag);
        assert_int_equal(ember_table_row_count(table), n);
        for (int64_t k = 0; k < n; k++) {
            const crow *r = &csv_data[ids[k]];
            double total = ref_total(r).f * 2;
            expect_cell(table, 0, k, rv_str(r->region_null ? "none" : r->region), false,
                        "chain region");
            expect_cell(table, 1, k, rv_int(r->id), false, "chain id");
            expect_cell(table, 2, k, rv_float(total), false, "chain total");
            bool eu = !r->region_null && strcmp(r->region, "EU") == 0;
            expect_cell(table, 3, k, rv_bool(eu && cmp_float(total, 1000) > 0), false, "chain eu");
        }
        /* The parents are unchanged. */
        assert_int_equal(ember_frame_column_count(selected), 3);
        assert_int_equal(ember_frame_column_count(with_total), 7);
        ember_table *sel = collect_of(selected);
        for (int64_t k = 0; k < n; k++)
            expect_cell(sel, 2, k, ref_total(&csv_data[ids[k]]), false, "selected total");
        /* A filter after the select, on a column kept, and a select of one column. */
        ember_frame *eu_only = filter_of(named, "region = 'EU'");
        const char *just_id[] = {"id", NULL};
        ember_table *eu_ids = collect_of(select_of(eu_only, just_id));
        int64_t m = 0;
        for (int64_t k = 0; k < n; k++) {
            const crow *r = &csv_data[ids[k]];
            if (!r->region_null && strcmp(r->region, "EU") == 0)
                expect_cell(eu_ids, 0, m++, rv_int(r->id), false, "eu ids");
        }
        assert_int_equal(ember_table_row_count(eu_ids), m);
    }
    free(ids);
}

/* A reference group: key text, then the aggregates. */
typedef struct ref_group {
    char key[160];
    bool region_null, bucket_null;
    const char *region;
    int64_t bucket;
    int64_t rows, n_q, n_price;
    __int128 sum_q;
    int64_t min_q, max_q;
    double sum_price, min_price, max_price, sum_abs;
} ref_group;

/* group_by(region, bucket) over with_column(bucket = qty % 5, q = small qty) and a filter
 * that keeps finite prices, against a reference aggregation. */
static void test_csv_group_by(void **state) {
    (void)state;
    need_csv();
    ref_group *groups = calloc(512, sizeof *groups);
    assert_non_null(groups);
    int group_count = 0;
    int64_t kept = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        /* filter: abs(price) < 1e300 (drops null, NaN, inf and the huge ones) */
        if (row->price_null || isnan(row->price) || !(fabs(row->price) < 1e300))
            continue;
        kept++;
        bool bucket_null = row->qty_null;
        int64_t bucket = bucket_null ? 0 : row->qty % 5;
        /* q = if(qty > -1000 and qty < 1000, qty, null) */
        bool q_null = row->qty_null || !(row->qty > -1000 && row->qty < 1000);
        char key[160];
        snprintf(key, sizeof key, "%s|%s|%" PRId64, row->region_null ? "N" : "S",
                 row->region_null ? "" : row->region, bucket_null ? INT64_MIN : bucket);
        int g = 0;
        while (g < group_count && strcmp(groups[g].key, key) != 0)
            g++;
        ref_group *grp = &groups[g];
        if (g == group_count) {
            assert_true(group_count < 511);
            group_count++;
            strcpy(grp->key, key);
            grp->region_null = row->region_null;
            grp->region = row->region;
            grp->bucket_null = bucket_null;
            grp->bucket = bucket;
        }
        grp->rows++;
        if (!q_null) {
            grp->min_q = grp->n_q ? (row->qty < grp->min_q ? row->qty : grp->min_q) : row->qty;
            grp->max_q = grp->n_q ? (row->qty > grp->max_q ? row->qty : grp->max_q) : row->qty;
            grp->n_q++;
            grp->sum_q += row->qty;
        }
        grp->min_price = grp->n_price ? fmin(grp->min_price, row->price) : row->price;
        grp->max_price = grp->n_price ? fmax(grp->max_price, row->price) : row->price;
        grp->n_price++;
        grp->sum_price += row->price;
        grp->sum_abs += fabs(row->price);
    }
    static const int partition_counts[] = {1, 7};
    for (int p = 0; p < 2; p++) {
        ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, partition_counts[p]);
        frame = with_column(frame, "bucket", "qty % 5");
        frame = with_column(frame, "q", "if(qty > -1000 and qty < 1000, qty, null)");
        frame = filter_of(frame, "abs(price) < 1e300");
        assert_int_equal(count_of(frame), kept);
        const char *keys[] = {"region", "bucket", NULL};
        const char *aggs[] = {"count",      "count:q",      "sum:q",     "min:q",
                              "max:q",      "sum:price",    "min:price", "max:price",
                              "mean:price", "mean:q as mq", NULL};
        ember_frame *grouped = group_by_of(frame, keys, aggs);
        assert_int_equal(count_of(grouped), group_count);
        ember_table *table = collect_of(grouped);
        assert_int_equal(ember_table_row_count(table), group_count);
        assert_int_equal(ember_table_column_count(table), 12);
        bool *seen = calloc((size_t)group_count + 1, sizeof *seen);
        for (int64_t i = 0; i < group_count; i++) {
            char key[160], buf[160], ibuf[8];
            rv region = table_rv(table, 0, i, buf, sizeof buf);
            rv bucket = table_rv(table, 1, i, ibuf, sizeof ibuf);
            snprintf(key, sizeof key, "%s|%s|%" PRId64, region.null ? "N" : "S",
                     region.null ? "" : region.s, bucket.null ? INT64_MIN : bucket.i);
            int g = 0;
            while (g < group_count && strcmp(groups[g].key, key) != 0)
                g++;
            if (g == group_count)
                fail_msg("unexpected group %s", key);
            assert_false(seen[g]);
            seen[g] = true;
            const ref_group *grp = &groups[g];
            assert_int_equal(ember_table_int64(table, 2, i), grp->rows);
            assert_int_equal(ember_table_int64(table, 3, i), grp->n_q);
            expect_cell(table, 4, i, grp->n_q ? rv_int((int64_t)grp->sum_q) : rv_null(), false,
                        key);
            expect_cell(table, 5, i, grp->n_q ? rv_int(grp->min_q) : rv_null(), false, key);
            expect_cell(table, 6, i, grp->n_q ? rv_int(grp->max_q) : rv_null(), false, key);
            double sum = ember_table_float64(table, 7, i);
            /* float sums depend on the order of the additions */
            double tolerance = 1e-12 * fmax(1.0, grp->sum_abs);
            if (fabs(sum - grp->sum_price) > tolerance)
                fail_msg("%s: sum_price %.17g, expected %.17g", key, sum, grp->sum_price);
            expect_cell(table, 8, i, rv_float(grp->min_price), false, key);
            expect_cell(table, 9, i, rv_float(grp->max_price), false, key);
            double mean = ember_table_float64(table, 10, i), want = grp->sum_price / grp->n_price;
            if (fabs(mean - want) > tolerance / (double)grp->n_price)
                fail_msg("%s: mean_price %.17g, expected %.17g", key, mean, want);
            assert_string_equal(ember_table_column_name(table, 11), "mq");
            if (grp->n_q == 0) {
                assert_true(ember_table_is_null(table, 11, i));
            } else {
                double mq = ember_table_float64(table, 11, i),
                       wq = (double)grp->sum_q / (double)grp->n_q;
                if (fabs(mq - wq) > 1e-9 * fmax(1.0, fabs(wq)))
                    fail_msg("%s: mq %.17g, expected %.17g", key, mq, wq);
            }
        }
        free(seen);
    }
    free(groups);
    /* A bool key (a predicate column): the true, false and null groups. */
    ember_frame *flagged = with_column(read_csv_of(csv_path, CROW_SCHEMA, 2), "big", "qty > 10");
    const char *by_big[] = {"big", NULL};
    const char *count_price[] = {"count", "count:price", NULL};
    ember_table *table = collect_of(group_by_of(flagged, by_big, count_price));
    int64_t want[3][2] = {{0}}; /* false, true, null: rows, non-null prices */
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        int g = row->qty_null ? 2 : row->qty > 10;
        want[g][0]++;
        want[g][1] += !row->price_null;
    }
    assert_int_equal(ember_table_row_count(table), 3);
    assert_int_equal(ember_table_column_type(table, 0), EMBER_TYPE_BOOL);
    OK(ember_table_sort(table, 1));
    for (int64_t i = 0; i < 3; i++) {
        int g = ember_table_is_null(table, 0, i) ? 2 : (int)ember_table_int64(table, 0, i);
        assert_int_equal(g, i); /* false, true, null */
        assert_int_equal(ember_table_int64(table, 1, i), want[g][0]);
        assert_int_equal(ember_table_int64(table, 2, i), want[g][1]);
    }
}

/* ---------------------------------------------------------------------------------------
 * 3. Differential: random expressions as with_column steps, device against host.
 * ------------------------------------------------------------------------------------- */

#define DIFF_INPUTS 8
#define DIFF_ROWS   240
static const char *const diff_names[DIFF_INPUTS] = {"i0", "i1",  "i 2", "f0",
                                                    "f1", "f`3", "s0",  "s1"};
static const ember_type diff_types[DIFF_INPUTS] = {
    EMBER_TYPE_INT64,   EMBER_TYPE_INT64,   EMBER_TYPE_INT64,  EMBER_TYPE_FLOAT64,
    EMBER_TYPE_FLOAT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_STRING, EMBER_TYPE_STRING};
static const char *const diff_strings[] = {
    "", "a", "b", "EU", "eu", "US", "it's", "a,b", "say \"hi\"", "x\ny", "ab", "``", "caf\xc3\xa9"};

/* The differential's input file: i0 has no nulls, the others about 15%. */
static char *write_diff_file(uint64_t seed) {
    rng r = {seed};
    char *path = scratch("diff.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("i0,i1,i 2,f0,f1,\"f`3\",s0,s1\n", f);
    for (int64_t row = 0; row < DIFF_ROWS; row++) {
        for (int c = 0; c < DIFF_INPUTS; c++) {
            if (c)
                fputc(',', f);
            if (c > 0 && rng_percent(&r, 15))
                continue;
            if (diff_types[c] == EMBER_TYPE_INT64)
                fprintf(f, "%" PRId64, random_qty(&r));
            else if (diff_types[c] == EMBER_TYPE_FLOAT64)
                write_float_field(f, random_float(&r), &r);
            else
                write_string_field(f, POOL_PICK(&r, diff_strings), &r);
        }
        fputc('\n', f);
    }
    assert_int_equal(fclose(f), 0);
    return path;
}

static int env_int(const char *name, int fallback) {
    const char *v = getenv(name);
    return v && atoi(v) > 0 ? atoi(v) : fallback;
}

typedef enum gtype { G_INT, G_FLOAT, G_BOOL, G_STRING } gtype;

/* A computed column earlier in the batch that later expressions may read. */
typedef struct diff_column {
    char name[16];
    gtype type;
    bool inexact; /* reads exp, log or pow somewhere (through references too) */
    int size;     /* nodes once references are expanded (the kernel inlines them) */
    int depth;    /* depth once references are expanded */
} diff_column;

typedef struct dtext {
    char buf[2048];
    size_t len;
} dtext;

static void dput(dtext *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
static void dput(dtext *t, const char *format, ...) {
    va_list args;
    va_start(args, format);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, format, args);
    va_end(args);
    if (n > 0)
        t->len = t->len + (size_t)n < sizeof t->buf ? t->len + (size_t)n : sizeof t->buf - 1;
}

typedef struct dgen {
    rng *r;
    dtext *out;
    const diff_column *computed;
    int computed_count;
    int mutate_percent; /* chance that a node has a wrong type */
    bool inexact;       /* the expression reads exp/log/pow */
    int size, depth;    /* of the referenced columns' expansion */
    bool range_mode;    /* the input is a range: one int64 column "value" */
} dgen;

static void dgen_expr(dgen *g, gtype type, int depth, bool inexact_ok);

static void dgen_name(dgen *g, const char *name) {
    if (strpbrk(name, " `") || rng_percent(g->r, 10)) {
        dput(g->out, "`");
        for (const char *s = name; *s; s++)
            dput(g->out, *s == '`' ? "``" : "%c", *s);
        dput(g->out, "`");
    } else {
        dput(g->out, "%s", name);
    }
}

static void dgen_leaf(dgen *g, gtype type, bool inexact_ok) {
    rng *r = g->r;
    if (rng_percent(r, 4)) {
        dput(g->out, rng_percent(r, 50) ? "null" : "NULL");
        return;
    }
    /* An earlier computed column of this type: exact ones anywhere, inexact ones only where a
     * small relative error stays small; small expansions only. */
    if (g->computed_count && rng_percent(r, 20)) {
        int pick = rng_below(r, g->computed_count);
        const diff_column *c = &g->computed[pick];
        if (c->type == type && (!c->inexact || inexact_ok) && c->size < 40 && c->depth < 40) {
            dgen_name(g, c->name);
            g->inexact |= c->inexact;
            g->size = c->size > g->size ? c->size : g->size;
            g->depth = c->depth > g->depth ? c->depth : g->depth;
            return;
        }
    }
    bool column = rng_percent(r, 60);
    if (g->range_mode && column && type != G_BOOL) {
        dput(g->out, "%s", type == G_INT ? "value" : type == G_FLOAT ? "float(value)" : "'v'");
        return;
    }
    switch (type) {
    case G_INT:
        if (column)
            dgen_name(g, diff_names[rng_below(r, 3)]);
        else
            dput(g->out, "%" PRId64, random_qty(r));
        break;
    case G_FLOAT:
        if (column) {
            dgen_name(g, diff_names[3 + rng_below(r, 3)]);
        } else {
            char buf[64];
            snprintf(buf, sizeof buf, "%.17g", POOL_PICK(r, float_pool));
            dput(g->out, "%s%s", buf, strpbrk(buf, ".e") ? "" : ".0");
        }
        break;
    case G_BOOL:
        dput(g->out, "%s", rng_percent(r, 50) ? "true" : "False");
        break;
    case G_STRING:
        if (column) {
            dgen_name(g, diff_names[6 + rng_below(r, 2)]);
        } else {
            dput(g->out, "'");
            for (const char *s = POOL_PICK(r, diff_strings); *s; s++)
                dput(g->out, *s == '\'' ? "''" : "%c", *s);
            dput(g->out, "'");
        }
        break;
    }
}

static void dgen_numeric(dgen *g, int depth, bool inexact_ok) {
    dgen_expr(g, rng_percent(g->r, 50) ? G_INT : G_FLOAT, depth, inexact_ok);
}

static void dgen_expr(dgen *g, gtype type, int depth, bool inexact_ok) {
    rng *r = g->r;
    dtext *o = g->out;
    if (rng_percent(r, g->mutate_percent))
        type = (gtype)rng_below(r, 4); /* perhaps ill-typed */
    if (depth <= 0 || rng_percent(r, 20)) {
        dgen_leaf(g, type, inexact_ok);
        return;
    }
    int d = depth - 1;
    static const char *const arith[] = {"+", "-", "*"};
    static const char *const order[] = {"=", "==", "!=", "<>", "<", "<=", ">", ">="};
    static const char *const logic[] = {"and", "OR", "&&", "||"};
    switch (type) {
    case G_INT:
        switch (rng_below(r, 8)) {
        case 0:
        case 1:
            dput(o, "(");
            dgen_expr(g, G_INT, d, false);
            dput(o, " %s ", arith[rng_below(r, 3)]);
            dgen_expr(g, G_INT, d, false);
            dput(o, ")");
            break;
        case 2:
            dput(o, "(");
            dgen_expr(g, G_INT, d, false);
            dput(o, " %% ");
            dgen_expr(g, G_INT, d, false);
            dput(o, ")");
            break;
        case 3:
            if (rng_percent(r, 50)) {
                dput(o, "-");
                dgen_expr(g, G_INT, d, false);
            } else {
                dput(o, "abs(");
                dgen_expr(g, G_INT, d, false);
                dput(o, ")");
            }
            break;
        case 4:
            dput(o, "int(");
            dgen_expr(g, rng_percent(r, 80) ? G_FLOAT : G_BOOL, d, false);
            dput(o, ")");
            break;
        case 5:
            dput(o, "%s(", rng_percent(r, 50) ? "least" : "greatest");
            dgen_expr(g, G_INT, d, false);
            dput(o, ", ");
            dgen_expr(g, G_INT, d, false);
            dput(o, ")");
            break;
        case 6:
            dput(o, "if(");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ", ");
            dgen_expr(g, G_INT, d, false);
            dput(o, ", ");
            dgen_expr(g, G_INT, d, false);
            dput(o, ")");
            break;
        default:
            dput(o, "coalesce(");
            dgen_expr(g, G_INT, d, false);
            dput(o, ", ");
            dgen_expr(g, G_INT, d, false);
            dput(o, ")");
            break;
        }
        break;
    case G_FLOAT:
        switch (rng_below(r, 10)) {
        case 0:
            dput(o, "(");
            dgen_expr(g, G_FLOAT, d, false);
            dput(o, " %s ", rng_percent(r, 50) ? "+" : "-");
            dgen_numeric(g, d, false);
            dput(o, ")");
            break;
        case 1:
            dput(o, "(");
            dgen_expr(g, G_FLOAT, d, inexact_ok);
            dput(o, " * ");
            dgen_numeric(g, d, inexact_ok);
            dput(o, ")");
            break;
        case 2:
            dput(o, "(");
            dgen_numeric(g, d, inexact_ok);
            dput(o, " / ");
            dgen_numeric(g, d, false);
            dput(o, ")");
            break;
        case 3:
            dput(o, "(");
            dgen_expr(g, G_FLOAT, d, false);
            dput(o, " %% ");
            dgen_numeric(g, d, false);
            dput(o, ")");
            break;
        case 4:
            dput(o, "%s(", rng_percent(r, 50) ? "sqrt" : "abs");
            dgen_expr(g, G_FLOAT, d, inexact_ok);
            dput(o, ")");
            break;
        case 5:
            if (inexact_ok && rng_percent(r, 50)) {
                static const char *const inexact[] = {"exp", "log", "pow"};
                const char *fn = inexact[rng_below(r, 3)];
                dput(o, "%s(", fn);
                dgen_numeric(g, d, false);
                if (fn[0] == 'p') {
                    dput(o, ", ");
                    dgen_numeric(g, d, false);
                }
                dput(o, ")");
                g->inexact = true;
                break;
            }
            dput(o, "%s(", rng_percent(r, 50) ? "floor" : rng_percent(r, 50) ? "ceil" : "round");
            dgen_expr(g, G_FLOAT, d, false);
            dput(o, ")");
            break;
        case 6:
            dput(o, "if(");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ", ");
            dgen_expr(g, G_FLOAT, d, inexact_ok);
            dput(o, ", ");
            dgen_numeric(g, d, inexact_ok);
            dput(o, ")");
            break;
        case 7:
            dput(o, "%s(",
                 rng_percent(r, 34)   ? "coalesce"
                 : rng_percent(r, 50) ? "least"
                                      : "GREATEST");
            dgen_expr(g, G_FLOAT, d, inexact_ok);
            dput(o, ", ");
            dgen_numeric(g, d, inexact_ok);
            dput(o, ")");
            break;
        case 8:
            dput(o, "float(");
            dgen_expr(g, rng_percent(r, 70) ? G_INT : G_BOOL, d, false);
            dput(o, ")");
            break;
        default:
            dput(o, "-");
            dgen_expr(g, G_FLOAT, d, inexact_ok);
            break;
        }
        break;
    case G_BOOL:
        switch (rng_below(r, 7)) {
        case 0:
        case 1:
            dput(o, "(");
            dgen_numeric(g, d, false);
            dput(o, " %s ", order[rng_below(r, 8)]);
            dgen_numeric(g, d, false);
            dput(o, ")");
            break;
        case 2:
            dput(o, "(");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, " %s ", logic[rng_below(r, 4)]);
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ")");
            break;
        case 3:
            dput(o, "(");
            dgen_expr(g, G_STRING, d, false);
            dput(o, " %s ", order[rng_below(r, 4)]);
            dgen_expr(g, G_STRING, d, false);
            dput(o, ")");
            break;
        case 4:
            dput(o, "(not ");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ")");
            break;
        case 5:
            dput(o, "%s(", rng_percent(r, 50) ? "is_null" : "is_not_null");
            dgen_expr(g, (gtype)rng_below(r, 4), d, false);
            dput(o, ")");
            break;
        default:
            dput(o, "if(");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ", ");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ", ");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ")");
            break;
        }
        break;
    case G_STRING:
        if (rng_percent(r, 50)) {
            dput(o, "if(");
            dgen_expr(g, G_BOOL, d, false);
            dput(o, ", ");
            dgen_expr(g, G_STRING, d, false);
            dput(o, ", ");
            dgen_expr(g, G_STRING, d, false);
            dput(o, ")");
        } else {
            dput(o, "coalesce(");
            dgen_expr(g, G_STRING, d, false);
            dput(o, ", ");
            dgen_expr(g, G_STRING, d, false);
            dput(o, ")");
        }
        break;
    }
}

/* Now and then a syntax error: a character dropped or a stray token. */
static void dgen_damage(rng *r, dtext *t) {
    if (t->len < 2)
        return;
    size_t at = (size_t)rng_below(r, (int)t->len);
    if (rng_percent(r, 50)) {
        memmove(t->buf + at, t->buf + at + 1, t->len - at);
        t->len--;
    } else {
        static const char *const junk[] = {")", "(", ",", "'", "+", "`", "$", " and"};
        const char *j = POOL_PICK(r, junk);
        size_t jl = strlen(j);
        if (t->len + jl + 1 >= sizeof t->buf)
            return;
        memmove(t->buf + at + jl, t->buf + at, t->len - at + 1);
        memcpy(t->buf + at, j, jl);
        t->len += jl;
    }
}

static long count_nodes(const ember_expr_node *node) {
    long n = 1;
    for (int i = 0; i < node->child_count; i++)
        n += count_nodes(node->children[i]);
    return n;
}

/* exp, log and pow may differ by a few ulp between the host and the device. */
static bool reads_inexact(const ember_expr_node *node) {
    if (node->kind == EMBER_EXPR_CALL &&
        (node->function == EMBER_FN_EXP || node->function == EMBER_FN_LOG ||
         node->function == EMBER_FN_POW))
        return true;
    for (int i = 0; i < node->child_count; i++)
        if (reads_inexact(node->children[i]))
            return true;
    return false;
}

typedef struct diff_stats {
    int generated, accepted, rejected_parse, rejected_null, kernels;
    long cells, nulls, close, mismatches;
    double device_seconds, host_seconds;
    int by_type[4];
} diff_stats;

static void diff_mismatch(diff_stats *st, const char *what, const char *text, int64_t row, rv a,
                          rv b, ember_type type) {
    if (st->mismatches++ < 20) {
        char x[320], y[320];
        format_rv(a, type, x, sizeof x);
        format_rv(b, type, y, sizeof y);
        fprintf(stderr, "mismatch (%s): %s, row %" PRId64 ": %s vs %s\n", what, text, row, x, y);
    }
}

/* One batch: `count` random with_column steps on top of input, run on the device and on the
 * host, compared cell by cell and against ember_expr_eval on the collected columns. */
static void diff_reduce(ember_frame *frame, const ember_table *host, int inputs,
                        const diff_column *computed, int count, rng *r, diff_stats *st);

static void diff_batch(ember_frame *input, int inputs, int64_t expect_rows, bool range_mode,
                       bool reduce, rng *r, int count, diff_stats *st) {
    ember_session *s = sess();
    diff_column *computed = calloc((size_t)count + 1, sizeof *computed);
    char **texts = calloc((size_t)count + 1, sizeof *texts);
    assert_non_null(computed);
    assert_non_null(texts);
    ember_frame *frame = input;
    int accepted = 0;
    while (accepted < count) {
        dtext text = {{0}, 0};
        dgen g = {.r = r,
                  .out = &text,
                  .computed = computed,
                  .computed_count = accepted,
                  .mutate_percent = 4,
                  .range_mode = range_mode};
        static const gtype roots[] = {G_INT,  G_INT,  G_FLOAT, G_FLOAT, G_FLOAT,
                                      G_BOOL, G_BOOL, G_BOOL,  G_STRING};
        dgen_expr(&g, roots[rng_below(r, 9)], 1 + rng_below(r, env_int("EMBER_PIPELINE_DEPTH", 4)),
                  true);
        if (rng_percent(r, 3))
            dgen_damage(r, &text);
        st->generated++;
        /* What the expression module says about it over the frame's current columns. */
        size_t columns = ember_frame_column_count(frame);
        char *names[16 + 512];
        ember_type types[16 + 512];
        assert_true(columns <= 16 + 512);
        for (size_t c = 0; c < columns; c++) {
            names[c] = (char *)ember_frame_column_name(frame, c);
            types[c] = ember_frame_column_type(frame, c);
        }
        ember_schema schema = {(int)columns, names, types};
        ember_expr *expr = NULL;
        ember_error err;
        ember_error_clear(&err);
        ember_status parsed = ember_expr_parse(text.buf, &schema, &expr, &err);
        char name[16];
        snprintf(name, sizeof name, "x%d", accepted);
        ember_frame *next = NULL;
        ember_status status = ember_with_column(frame, name, text.buf, &next);
        if (parsed != EMBER_OK) {
            if (status != parsed)
                fail_msg("with_column(%s): %s, but ember_expr_parse gives %s (%s)", text.buf,
                         ember_status_str(status), ember_status_str(parsed), err.message);
            if (strcmp(ember_session_error(s), err.message) != 0)
                fail_msg("with_column(%s) says \"%s\", the parser \"%s\"", text.buf,
                         ember_session_error(s), err.message);
            assert_null(next);
            st->rejected_parse++;
            continue;
        }
        if (ember_expr_type(expr) == EMBER_VALUE_NULL) {
            if (status != EMBER_ERROR_SCHEMA)
                fail_msg("with_column(%s) of a null-typed expression: %s", text.buf,
                         ember_status_str(status));
            ember_expr_free(expr);
            st->rejected_null++;
            continue;
        }
        if (status != EMBER_OK)
            fail_msg("with_column(%s): %s: %s", text.buf, ember_status_str(status),
                     ember_session_error(s));
        frame = hold(next);
        diff_column *c = &computed[accepted];
        snprintf(c->name, sizeof c->name, "%s", name);
        ember_value_type t = ember_expr_type(expr);
        c->type = t == EMBER_VALUE_INT64     ? G_INT
                  : t == EMBER_VALUE_FLOAT64 ? G_FLOAT
                  : t == EMBER_VALUE_BOOL    ? G_BOOL
                                             : G_STRING;
        st->by_type[c->type]++;
        c->inexact = g.inexact || reads_inexact(expr->root);
        c->size = (int)count_nodes(expr->root) + g.size;
        c->depth = expr->root->depth + g.depth;
        ember_expr_free(expr);
        texts[accepted] = strdup(text.buf);
        accepted++;
        st->accepted++;
    }
    /* The device (fused kernel), then the host evaluator. */
    double t0 = now_seconds();
    ember_table *device = collect_of(frame);
    double t1 = now_seconds();
    s->pipelines_on_host = true;
    ember_table *host = NULL;
    ember_status status = ember_collect(frame, &host);
    s->pipelines_on_host = false;
    OK(status);
    hold_table(host);
    st->device_seconds += t1 - t0;
    st->host_seconds += now_seconds() - t1;
    st->kernels++;
    int64_t rows = ember_table_row_count(device);
    assert_int_equal(rows, expect_rows);
    assert_int_equal(ember_table_row_count(host), rows);
    size_t width = ember_table_column_count(device);
    assert_int_equal(width, (size_t)inputs + (size_t)count);
    assert_int_equal(ember_table_column_count(host), width);
    /* The schema of each step, to parse its text again for ember_expr_eval. */
    char *names[16 + 512];
    ember_type types[16 + 512];
    assert_true(width <= 16 + 512);
    for (size_t c = 0; c < width; c++) {
        names[c] = (char *)ember_table_column_name(device, c);
        types[c] = ember_table_column_type(device, c);
        assert_string_equal(ember_table_column_name(host, c), names[c]);
        assert_int_equal(ember_table_column_type(host, c), types[c]);
    }
    for (size_t c = 0; c < width; c++) {
        bool inexact = c >= (size_t)inputs && computed[c - (size_t)inputs].inexact;
        const char *text = c >= (size_t)inputs ? texts[c - (size_t)inputs] : names[c];
        ember_expr *expr = NULL;
        if (c >= (size_t)inputs) {
            ember_error err;
            ember_error_clear(&err);
            ember_schema schema = {(int)c, names, types};
            if (ember_expr_parse(text, &schema, &expr, &err) != EMBER_OK)
                fail_msg("%s: %s", text, err.message);
        }
        for (int64_t row = 0; row < rows; row++) {
            char b1[256], b2[256];
            rv d = table_rv(device, (int)c, row, b1, sizeof b1);
            rv h = table_rv(host, (int)c, row, b2, sizeof b2);
            st->cells++;
            st->nulls += h.null;
            if (!rv_match(d, h, types[c], false)) {
                if (inexact && rv_match(d, h, types[c], true))
                    st->close++;
                else
                    diff_mismatch(st, "device vs host", text, row, d, h, types[c]);
            }
            if (!expr)
                continue;
            /* The evaluator on the host's collected columns gives the host's value exactly,
             * and the device's within the tolerance of exp/log/pow. */
            ember_expr_value v;
            ember_expr_eval(expr, host->columns, row, &v);
            char b3[256];
            rv e = v.is_null ? rv_null() : rv_int(v.int_value);
            if (!v.is_null && v.type == EMBER_VALUE_FLOAT64)
                e = rv_float(v.float_value);
            if (!v.is_null && v.type == EMBER_VALUE_STRING) {
                snprintf(b3, sizeof b3, "%.*s", (int)v.string_length, v.string);
                e = rv_str(strlen(b3) == (size_t)v.string_length ? b3 : "<NUL>");
            }
            if (!rv_match(h, e, types[c], false))
                diff_mismatch(st, "host vs ember_expr_eval", text, row, h, e, types[c]);
            ember_expr_eval(expr, device->columns, row, &v);
            e = v.is_null ? rv_null() : rv_int(v.int_value);
            if (!v.is_null && v.type == EMBER_VALUE_FLOAT64)
                e = rv_float(v.float_value);
            if (!v.is_null && v.type == EMBER_VALUE_STRING) {
                snprintf(b3, sizeof b3, "%.*s", (int)v.string_length, v.string);
                e = rv_str(strlen(b3) == (size_t)v.string_length ? b3 : "<NUL>");
            }
            if (!rv_match(d, e, types[c], inexact))
                diff_mismatch(st, "device vs ember_expr_eval on the device's columns", text, row, d,
                              e, types[c]);
        }
        ember_expr_free(expr);
    }
    if (reduce)
        diff_reduce(frame, host, inputs, computed, count, r, st);
    for (int k = 0; k < count; k++)
        free(texts[k]);
    free(texts);
    free(computed);
}

/* Whole-frame aggregates (the fused reduce kernel) and filtered counts (the count kernel) of
 * some computed columns, on the device and on the host, against the host's collected values. */
static void diff_reduce(ember_frame *frame, const ember_table *host, int inputs,
                        const diff_column *computed, int count, rng *r, diff_stats *st) {
    ember_session *s = sess();
    int64_t rows = ember_table_row_count(host);
    int chosen[4], n = 0;
    for (int tries = 0; tries < 8 * count && n < 4; tries++) {
        int k = rng_below(r, count);
        if (computed[k].type != G_INT && computed[k].type != G_FLOAT)
            continue;
        bool again = false;
        for (int j = 0; j < n; j++)
            again |= chosen[j] == k;
        if (again)
            continue;
        if (computed[k].type == G_INT) { /* an int64 sum that does not fit fails the job */
            __int128 sum = 0;
            for (int64_t i = 0; i < rows; i++)
                if (!ember_table_is_null(host, (size_t)(inputs + k), i))
                    sum += ember_table_int64(host, (size_t)(inputs + k), i);
            if (sum > INT64_MAX || sum < INT64_MIN)
                continue;
        }
        chosen[n++] = k;
    }
    if (n > 0) {
        char texts[4 * 5 + 2][32];
        const char *aggs[4 * 5 + 2];
        int a = 0;
        snprintf(texts[a], sizeof texts[a], "count");
        aggs[a] = texts[a];
        a++;
        static const char *const kinds[] = {"sum", "min", "max", "count", "mean"};
        for (int j = 0; j < n; j++)
            for (int q = 0; q < 5; q++) {
                snprintf(texts[a], sizeof texts[a], "%s:%s", kinds[q], computed[chosen[j]].name);
                aggs[a] = texts[a];
                a++;
            }
        aggs[a] = NULL;
        ember_frame *agg = group_by_of(frame, NULL, aggs);
        ember_table *results[2];
        results[0] = collect_of(agg);
        s->pipelines_on_host = true;
        ember_status status = ember_collect(agg, &results[1]);
        s->pipelines_on_host = false;
        OK(status);
        hold_table(results[1]);
        st->kernels++;
        for (int side = 0; side < 2; side++) {
            const ember_table *t = results[side];
            const char *where = side ? "reduce on the host" : "reduce on the device";
            assert_int_equal(ember_table_row_count(t), 1);
            assert_int_equal(ember_table_column_count(t), (size_t)a);
            if (ember_table_int64(t, 0, 0) != rows)
                fail_msg("%s: count %" PRId64 ", expected %" PRId64, where,
                         ember_table_int64(t, 0, 0), rows);
            for (int j = 0; j < n; j++) {
                const diff_column *col = &computed[chosen[j]];
                size_t c = (size_t)(inputs + chosen[j]);
                int64_t nn = 0;
                __int128 isum = 0;
                int64_t imin = 0, imax = 0;
                double fsum = 0, sum_abs = 0, fmin_v = NAN, fmax_v = NAN;
                bool nan = false, pinf = false, ninf = false, any_number = false;
                for (int64_t i = 0; i < rows; i++) {
                    if (ember_table_is_null(host, c, i))
                        continue;
                    if (col->type == G_INT) {
                        int64_t v = ember_table_int64(host, c, i);
                        imin = nn == 0 || v < imin ? v : imin;
                        imax = nn == 0 || v > imax ? v : imax;
                        isum += v;
                    } else {
                        double v = ember_table_float64(host, c, i);
                        if (isnan(v)) {
                            nan = true;
                        } else {
                            if (isinf(v) && v > 0)
                                pinf = true;
                            else if (isinf(v))
                                ninf = true;
                            else {
                                fsum += v;
                                sum_abs += fabs(v);
                            }
                            fmin_v = !any_number || v < fmin_v ? v : fmin_v;
                            fmax_v = !any_number || v > fmax_v ? v : fmax_v;
                            any_number = true;
                        }
                    }
                    nn++;
                }
                size_t base = 1 + (size_t)j * 5;
                char what[160];
                snprintf(what, sizeof what, "%s of %s", where, col->name);
                if (ember_table_int64(t, base + 3, 0) != nn)
                    fail_msg("%s: count %" PRId64 ", expected %" PRId64, what,
                             ember_table_int64(t, base + 3, 0), nn);
                if (nn == 0) {
                    for (size_t q = 0; q < 5; q++)
                        if (q != 3 && !ember_table_is_null(t, base + q, 0))
                            fail_msg("%s: %s of no values is not null", what, kinds[q]);
                    continue;
                }
                if (col->type == G_INT) {
                    expect_cell(t, (int)base, 0, rv_int((int64_t)isum), false, what);
                    expect_cell(t, (int)base + 1, 0, rv_int(imin), false, what);
                    expect_cell(t, (int)base + 2, 0, rv_int(imax), false, what);
                    double mean = (double)isum / (double)nn;
                    double got = ember_table_float64(t, base + 4, 0);
                    if (!(fabs(got - mean) <= 1e-12 * fmax(1.0, fabs(mean))))
                        fail_msg("%s: mean %.17g, expected %.17g", what, got, mean);
                    continue;
                }
                /* float64: max is NaN when there is one (NaN is the greatest value), min the
                 * least number; -0.0 and 0.0 compare equal here. */
                double tol = col->inexact ? 1e-11 : 1e-12;
                double want_max = nan ? NAN : fmax_v, want_min = any_number ? fmin_v : NAN;
                double got_min = ember_table_float64(t, base + 1, 0);
                double got_max = ember_table_float64(t, base + 2, 0);
                bool min_ok = (isnan(got_min) && isnan(want_min)) || got_min == want_min ||
                              (col->inexact && fabs(got_min - want_min) <=
                                                   tol * fmax(fabs(got_min), fabs(want_min)));
                bool max_ok = (isnan(got_max) && isnan(want_max)) || got_max == want_max ||
                              (col->inexact && fabs(got_max - want_max) <=
                                                   tol * fmax(fabs(got_max), fabs(want_max)));
                if (!min_ok || !max_ok) {
                    if (st->mismatches++ < 20)
                        fprintf(stderr, "mismatch (%s): min %a max %a, expected %a %a\n", what,
                                got_min, got_max, want_min, want_max);
                }
                if (sum_abs > 1e300) /* the result depends on the order of additions */
                    continue;
                double want_sum = nan || (pinf && ninf) ? NAN
                                  : pinf                ? INFINITY
                                  : ninf                ? -INFINITY
                                                        : fsum;
                double got_sum = ember_table_float64(t, base, 0);
                double got_mean = ember_table_float64(t, base + 4, 0);
                double want_mean = want_sum / (double)nn;
                bool sum_ok, mean_ok;
                if (isnan(want_sum) || isinf(want_sum)) {
                    sum_ok = (isnan(want_sum) && isnan(got_sum)) || got_sum == want_sum;
                    mean_ok = (isnan(want_mean) && isnan(got_mean)) || got_mean == want_mean;
                } else {
                    sum_ok = fabs(got_sum - want_sum) <= tol * sum_abs + 1e-300;
                    mean_ok = fabs(got_mean - want_mean) <= (tol * sum_abs + 1e-300) / (double)nn;
                }
                if ((!sum_ok || !mean_ok) && st->mismatches++ < 20)
                    fprintf(stderr, "mismatch (%s): sum %a mean %a, expected %a %a\n", what,
                            got_sum, got_mean, want_sum, want_mean);
            }
        }
    }
    /* count of a filter on a bool computed column. */
    for (int tries = 0; tries < 4 * count; tries++) {
        int k = rng_below(r, count);
        if (computed[k].type != G_BOOL)
            continue;
        size_t c = (size_t)(inputs + k);
        int64_t want = 0;
        for (int64_t i = 0; i < rows; i++)
            want += !ember_table_is_null(host, c, i) && ember_table_int64(host, c, i);
        char condition[64];
        snprintf(condition, sizeof condition, "%s%s", rng_percent(r, 50) ? "" : "true and ",
                 computed[k].name);
        ember_frame *filtered = filter_of(frame, condition);
        int64_t device = count_of(filtered);
        s->pipelines_on_host = true;
        int64_t on_host = -1;
        ember_status status = ember_count(filtered, &on_host);
        s->pipelines_on_host = false;
        OK(status);
        st->kernels++;
        if (device != want || on_host != want)
            if (st->mismatches++ < 20)
                fprintf(stderr,
                        "mismatch: count(filter(%s)): device %" PRId64 ", host %" PRId64
                        ", expected %" PRId64 "\n",
                        condition, device, on_host, want);
        break;
    }
}

/* EMBER_PIPELINE_EXPRS (default 2000) random expressions over a CSV file in batches of
 * EMBER_PIPELINE_BATCH (default 60) with_column steps, each collected on the device and on the
 * host; every sixth batch also through the reduce and count kernels; then 3 x 40 over ranges.
 * EMBER_PIPELINE_SEED shifts the seed, EMBER_PIPELINE_DEPTH (default 4) bounds the depth.
 * Nearly all the time is pocl compiling the kernels (about 30 ms per computed column, some
 * 100 s in all on a cold program cache; about 1 s warm). */
static void test_differential(void **state) {
    (void)state;
    sess();
    int total = env_int("EMBER_PIPELINE_EXPRS", 2000);
    int batch = env_int("EMBER_PIPELINE_BATCH", 60);
    uint64_t seed = 777 + (uint64_t)env_int("EMBER_PIPELINE_SEED", 0);
    char *path = write_diff_file(seed);
    ember_frame *input = read_csv_of(
        path, "i0:int64,i1:int64,i 2:int64,f0:float64,f1:float64,f`3:float64,s0:string,s1:string",
        3);
    assert_int_equal(ember_frame_partition_count(input), 3);
    rng r = {seed * 31 + 1};
    diff_stats st = {0};
    double start = now_seconds();
    for (int done = 0; done < total; done += batch)
        diff_batch(input, DIFF_INPUTS, DIFF_ROWS, false, done / batch % 6 == 0, &r,
                   total - done < batch ? total - done : batch, &st);
    /* Ranges: the value column is generated in the kernel (start + row), here next to the
     * int64 extremes too. */
    static const int64_t starts[] = {-100, INT64_MAX - 150, INT64_MIN};
    for (int k = 0; k < 3; k++) {
        ember_frame *range = range_of(starts[k], starts[k] + 150, 3);
        diff_batch(range, 1, 150, true, true, &r, 40, &st);
    }
    fprintf(stderr,
            "differential: %d expressions generated, %d rejected by the parser (as by "
            "with_column), %d null-typed; %d run (%d int64, %d float64, %d bool, %d string) in "
            "%d kernels x %d rows = %ld cells (%.0f%% null); device %.2f s, host %.2f s, total "
            "%.2f s; %ld float64 within 1e-12 (exp/log/pow); %ld mismatches\n",
            st.generated, st.rejected_parse, st.rejected_null, st.accepted, st.by_type[G_INT],
            st.by_type[G_FLOAT], st.by_type[G_BOOL], st.by_type[G_STRING], st.kernels, DIFF_ROWS,
            st.cells, 100.0 * (double)st.nulls / (double)(st.cells ? st.cells : 1),
            st.device_seconds, st.host_seconds, now_seconds() - start, st.close, st.mismatches);
    assert_int_equal(st.mismatches, 0);
}

/* ---------------------------------------------------------------------------------------
 * 4. repartition, repartition_by; 5. coalesce.
 * ------------------------------------------------------------------------------------- */

/* True when the last job had a stage of this name. */
static bool job_has_stage(const char *name) {
    const ember_job *job = ember_session_last_job(sess());
    assert_non_null(job);
    int stages = (int)ember_job_metric_get(job, EMBER_JOB_STAGES);
    for (int i = 0; i < stages; i++)
        if (strcmp(ember_job_stage_name(job, i), name) == 0)
            return true;
    return false;
}

/* The id column of table (the rows' original positions). */
static int64_t *ids_of(const ember_table *table) {
    int64_t rows = ember_table_row_count(table);
    int c = column_of(table, "id");
    int64_t *ids = calloc((size_t)rows + 1, sizeof *ids);
    assert_non_null(ids);
    for (int64_t i = 0; i < rows; i++)
        ids[i] = ember_table_int64(table, (size_t)c, i);
    return ids;
}

/* ids is a permutation of 0..n-1 (the multiset of rows is the input's). */
static void expect_permutation(const int64_t *ids, int64_t n, const char *what) {
    bool *seen = calloc((size_t)n + 1, sizeof *seen);
    assert_non_null(seen);
    for (int64_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= n || seen[ids[i]])
            fail_msg("%s: row %" PRId64 " has id %" PRId64 " (out of range or repeated)", what, i,
                     ids[i]);
        seen[ids[i]] = true;
    }
    free(seen);
}

/* repartition(n) of the file (7 partitions) and of a range: the same rows, each partition the
 * rows i with i % n == d in their order (so sizes within one), a shuffle stage. */
static void test_repartition(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 7);
    static const int counts[] = {1, 3, 8, 200};
    for (int k = 0; k < 4; k++) {
        int n = counts[k];
        ember_frame *shuffled = repartition_of(frame, n);
        assert_int_equal(ember_frame_partition_count(shuffled), n);
        assert_int_equal(ember_frame_column_count(shuffled), 6);
        assert_int_equal(count_of(shuffled), CSV_ROWS);
        ember_table *table = collect_of(shuffled);
        if (!job_has_stage("shuffle")) {
            char stages[512];
            job_stages(stages, sizeof stages);
            fail_msg("repartition(%d): collect ran stages '%s', no shuffle", n, stages);
        }
        int64_t *ids = ids_of(table);
        char what[64];
        snprintf(what, sizeof what, "repartition(%d)", n);
        expect_permutation(ids, CSV_ROWS, what);
        /* Every row intact. */
        expect_input_columns(table, csv_data, ids, CSV_ROWS, what);
        /* The documented deal: partition d holds rows d, d + n, d + 2n, ... in order. */
        int64_t at = 0;
        for (int d = 0; d < n; d++)
            for (int64_t i = d; i < CSV_ROWS; i += n, at++)
                if (ids[at] != i)
                    fail_msg("repartition(%d): row %" PRId64 " of the result is input row %" PRId64
                             ", expected %" PRId64 " (partition %d)",
                             n, at, ids[at], i, d);
        free(ids);
        /* Sizes within one of each other. */
        int64_t sizes[256];
        assert_int_equal(partition_sizes(shuffled, sizes, 256), n);
        int64_t lo = INT64_MAX, hi = 0;
        for (int d = 0; d < n; d++) {
            lo = sizes[d] < lo ? sizes[d] : lo;
            hi = sizes[d] > hi ? sizes[d] : hi;
        }
        if (hi - lo > 1)
            fail_msg("repartition(%d): partition sizes from %" PRId64 " to %" PRId64, n, lo, hi);
    }
    /* A range, more partitions than rows, and an empty frame. */
    ember_frame *few = repartition_of(range_of(0, 10, 3), 64);
    assert_int_equal(ember_frame_partition_count(few), 64);
    assert_int_equal(count_of(few), 10);
    ember_table *table = collect_of(few);
    for (int64_t i = 0; i < 10; i++)
        assert_int_equal(ember_table_int64(table, 0, i), i);
    ember_frame *empty = repartition_of(filter_of(frame, "id < 0"), 5);
    assert_int_equal(ember_frame_partition_count(empty), 5);
    assert_int_equal(count_of(empty), 0);
    table = collect_of(empty);
    assert_int_equal(ember_table_row_count(table), 0);
    assert_int_equal(ember_table_column_count(table), 6);
    /* Computed columns of every type through the shuffle. */
    ember_frame *typed = with_column(
        with_column(with_column(frame, "flag", "qty > 10"), "label", "if(qty > 0, region, name)"),
        "half", "price / 2");
    table = collect_of(repartition_of(typed, 3));
    assert_int_equal(ember_table_column_type(table, 6), EMBER_TYPE_BOOL);
    int64_t *dealt_ids = ids_of(table);
    expect_input_columns(table, csv_data, dealt_ids, CSV_ROWS, "typed repartition");
    for (int64_t k = 0; k < CSV_ROWS; k++) {
        const crow *row = &csv_data[dealt_ids[k]];
        expect_cell(table, 6, k, row->qty_null ? rv_null() : rv_bool(row->qty > 10), false,
                    "repartitioned flag");
        expect_cell(table, 7, k, ref_label(row), false, "repartitioned label");
        expect_cell(table, 8, k, row->price_null ? rv_null() : rv_float(row->price / 2), false,
                    "repartitioned half");
    }
    free(dealt_ids);
    /* Narrow steps on both sides of the shuffle. */
    ember_frame *before = with_column(filter_of(frame, "qty > 0"), "total", "price * qty");
    ember_frame *after =
        filter_of(with_column(repartition_of(before, 4), "t2", "total * 2"), "region = 'EU'");
    table = collect_of(after);
    int64_t *ids = ids_of(table);
    int64_t n = ember_table_row_count(table), expected = 0;
    int64_t *want = calloc(CSV_ROWS + 1, sizeof *want);
    int64_t kept = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) /* the filtered rows, dealt into 4 */
        if (!csv_data[r].qty_null && csv_data[r].qty > 0)
            want[kept++] = r;
    int64_t at = 0;
    for (int d = 0; d < 4; d++)
        for (int64_t i = d; i < kept; i += 4) {
            const crow *row = &csv_data[want[i]];
            if (row->region_null || strcmp(row->region, "EU") != 0)
                continue;
            expected++;
            if (at >= n)
                fail_msg("narrow steps around repartition: too few rows (%" PRId64 ")", n);
            if (ids[at] != want[i])
                fail_msg("narrow steps around repartition: row %" PRId64 " is id %" PRId64
                         ", expected %" PRId64,
                         at, ids[at], want[i]);
            rv total = ref_total(row);
            expect_cell(table, column_of(table, "total"), at, total, false, "total");
            expect_cell(table, column_of(table, "t2"), at,
                        total.null ? total : rv_float(total.f * 2), false, "t2");
            at++;
        }
    assert_int_equal(n, expected);
    assert_int_equal(count_of(after), expected);
    free(ids);
    free(want);
}

/* group-by over repartition(200) gives the groups of the group-by without it. */
static void test_repartition_group_by(void **state) {
    (void)state;
    need_csv();
    /* Float sums depend on the order of the additions: the tolerance is relative to the sum
     * of the magnitudes (sum_absp). */
    ember_frame *frame =
        with_column(filter_of(read_csv_of(csv_path, CROW_SCHEMA, 3), "abs(price) < 1e300"), "absp",
                    "abs(price)");
    const char *keys[] = {"region", "name", NULL};
    const char *aggs[] = {"count",      "sum:price", "min:qty", "max:qty",
                          "count:disc", "sum:absp",  NULL};
    ember_table *plain = collect_of(group_by_of(frame, keys, aggs));
    ember_table *shuffled = collect_of(group_by_of(repartition_of(frame, 200), keys, aggs));
    assert_int_equal(ember_table_row_count(shuffled), ember_table_row_count(plain));
    OK(ember_table_sort(plain, 2));
    OK(ember_table_sort(shuffled, 2));
    assert_string_equal(ember_table_column_name(plain, 3), "sum_price");
    assert_string_equal(ember_table_column_name(plain, 7), "sum_absp");
    for (int64_t i = 0; i < ember_table_row_count(plain); i++)
        for (size_t c = 0; c < 8; c++) {
            char b1[256], b2[256];
            rv a = table_rv(plain, (int)c, i, b1, sizeof b1);
            rv b = table_rv(shuffled, (int)c, i, b2, sizeof b2);
            ember_type type = ember_table_column_type(plain, c);
            double magnitude = ember_table_float64(plain, 7, i);
            bool same =
                rv_match(b, a, type, false) || ((c == 3 || c == 7) && !a.null && !b.null &&
                                                fabs(a.f - b.f) <= 1e-12 * fmax(1.0, magnitude));
            if (!same) {
                char x[320], y[320];
                format_rv(a, type, x, sizeof x);
                format_rv(b, type, y, sizeof y);
                fail_msg("group %" PRId64 " column %s: %s without repartition, %s with", i,
                         ember_table_column_name(plain, c), x, y);
            }
        }
    /* The whole-frame aggregate too. */
    const char *whole[] = {"count", "min:id", "max:id", "sum:id", NULL};
    ember_table *all = collect_of(group_by_of(repartition_of(frame, 200), NULL, whole));
    ember_table *direct = collect_of(group_by_of(frame, NULL, whole));
    for (size_t c = 0; c < 4; c++)
        assert_int_equal(ember_table_int64(all, c, 0), ember_table_int64(direct, c, 0));
}

/* Key text of a row of table over key columns (NULL-aware), for "same key" checks. */
static void key_text(const ember_table *table, const int *columns, int count, int64_t row,
                     char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int k = 0; k < count; k++) {
        char b[256];
        rv v = table_rv(table, columns[k], row, b, sizeof b);
        ember_type type = ember_table_column_type(table, (size_t)columns[k]);
        int n;
        if (v.null)
            n = snprintf(buf + used, size - used, "N|");
        else if (type == EMBER_TYPE_FLOAT64)
            /* equal keys: -0.0 is 0.0, every NaN one NaN */
            n = isnan(v.f) ? snprintf(buf + used, size - used, "nan|")
                           : snprintf(buf + used, size - used, "%a|", v.f == 0 ? 0.0 : v.f);
        else if (type == EMBER_TYPE_STRING)
            n = snprintf(buf + used, size - used, "s%s|", v.s);
        else
            n = snprintf(buf + used, size - used, "%" PRId64 "|", v.i);
        used += (size_t)n < size - used ? (size_t)n : 0;
    }
}

/* Checks repartition_by(n, keys) of frame (with an increasing id column): the same rows; every
 * key in one partition (exactly, through the partition sizes; and through the public API:
 * rows of a partition keep their order, so each key lies in one increasing run of ids). */
static void check_repartition_by(ember_frame *frame, int n, const char *const *keys, int64_t rows) {
    char what[128];
    snprintf(what, sizeof what, "repartition_by(%d, %s%s%s)", n, keys[0], keys[1] ? ", " : "",
             keys[1] ? keys[1] : "");
    ember_frame *shuffled = repartition_by_of(frame, n, keys);
    assert_int_equal(ember_frame_partition_count(shuffled), n);
    assert_int_equal(count_of(shuffled), rows);
    ember_table *table = collect_of(shuffled);
    assert_true(job_has_stage("shuffle"));
    int64_t *ids = ids_of(table);
    expect_permutation(ids, rows, what);
    int columns[EMBER_GROUP_BY_MAX_KEYS], count = 0;
    for (; keys[count]; count++)
        columns[count] = column_of(table, keys[count]);
    /* Partition of each row from the partition sizes. */
    int64_t sizes[256];
    assert_int_equal(partition_sizes(shuffled, sizes, 256), n);
    int *part = calloc((size_t)rows + 1, sizeof *part);
    int *run = calloc((size_t)rows + 1, sizeof *run);
    for (int64_t i = 0, d = 0, left = n ? sizes[0] : 0; i < rows; i++) {
        while (left == 0 && d + 1 < n)
            left = sizes[++d];
        part[i] = (int)d;
        left--;
        /* ids increase within a partition */
        if (i > 0 && part[i - 1] == part[i] && ids[i - 1] > ids[i])
            fail_msg("%s: partition %d is out of order at row %" PRId64, what, part[i], i);
        run[i] = i > 0 && ids[i - 1] > ids[i] ? run[i - 1] + 1 : i > 0 ? run[i - 1] : 0;
    }
    if (run[rows ? rows - 1 : 0] >= n)
        fail_msg("%s: %d increasing runs of ids for %d partitions", what, run[rows - 1] + 1, n);
    /* Every key in one partition: sort (key, row) pairs and compare neighbours. */
    typedef struct kr {
        char key[320];
        int64_t row;
    } kr;
    kr *all = calloc((size_t)rows + 1, sizeof *all);
    for (int64_t i = 0; i < rows; i++) {
        key_text(table, columns, count, i, all[i].key, sizeof all[i].key);
        all[i].row = i;
    }
    int (*cmp)(const void *, const void *) = (int (*)(const void *, const void *))strcmp;
    qsort(all, (size_t)rows, sizeof *all, cmp); /* key first in the struct */
    int keys_seen = 0;
    for (int64_t i = 0; i < rows; i++) {
        if (i == 0 || strcmp(all[i].key, all[i - 1].key) != 0) {
            keys_seen++;
            continue;
        }
        int64_t a = all[i - 1].row, b = all[i].row;
        if (part[a] != part[b])
            fail_msg("%s: key %s in partitions %d (row %" PRId64 ") and %d (row %" PRId64 ")", what,
                     all[i].key, part[a], a, part[b], b);
        if (run[a] != run[b])
            fail_msg("%s: key %s in two runs of the collected rows", what, all[i].key);
    }
    /* With several keys and partitions, more than one partition is used. */
    if (keys_seen >= 4 * n && n > 1) {
        int used = 0;
        for (int d = 0; d < n; d++)
            used += sizes[d] > 0;
        if (used < 2)
            fail_msg("%s: %d keys all in one partition", what, keys_seen);
    }
    free(all);
    free(part);
    free(run);
    free(ids);
}

static void test_repartition_by(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 7);
    const char *by_region[] = {"region", NULL};
    const char *by_qty[] = {"qty", NULL};
    const char *by_price[] = {"price", NULL};
    const char *by_two[] = {"region", "qty", NULL};
    const char *by_three[] = {"name", "disc", "region", NULL};
    check_repartition_by(frame, 8, by_region, CSV_ROWS);
    check_repartition_by(frame, 1, by_region, CSV_ROWS);
    check_repartition_by(frame, 5, by_qty, CSV_ROWS);
    check_repartition_by(frame, 16, by_price, CSV_ROWS);
    check_repartition_by(frame, 3, by_two, CSV_ROWS);
    check_repartition_by(frame, 200, by_three, CSV_ROWS);
    /* On computed keys: an int64 and a bool. */
    ember_frame *bucketed = with_column(frame, "bucket", "qty % 4");
    const char *by_bucket[] = {"bucket", NULL};
    check_repartition_by(bucketed, 6, by_bucket, CSV_ROWS);
    ember_frame *flagged = with_column(frame, "flag", "qty > 10");
    const char *by_flag[] = {"flag", NULL};
    check_repartition_by(flagged, 4, by_flag, CSV_ROWS);
    /* Equal float keys: -0.0 and 0.0, NaN and -NaN, each pair one key. */
    char *path = scratch("float-keys.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("id,k\n", f);
    static const char *const texts[] = {"0.0",  "-0.0", "NaN", "-nan", "inf", "-inf", "1.5",
                                        "-1.5", "",     "0",   "-0",   "nan", "2"};
    for (int i = 0; i < 400; i++)
        fprintf(f, "%d,%s\n", i, texts[i % 13]);
    assert_int_equal(fclose(f), 0);
    ember_frame *floats = read_csv_of(path, "id:int64,k:float64", 3);
    const char *by_k[] = {"k", NULL};
    for (int n = 2; n <= 64; n *= 2)
        check_repartition_by(floats, n, by_k, 400);
    /* Equal rows where the key values repeat: the shuffle moves every row of a key together,
     * and a group-by after it agrees. */
    ember_frame *grouped = group_by_of(repartition_by_of(frame, 9, by_region), by_region, NULL);
    ember_frame *direct = group_by_of(frame, by_region, NULL);
    ember_table *a = collect_of(grouped), *b = collect_of(direct);
    OK(ember_table_sort(a, 1));
    OK(ember_table_sort(b, 1));
    assert_int_equal(ember_table_row_count(a), ember_table_row_count(b));
    for (int64_t i = 0; i < ember_table_row_count(a); i++) {
        char b1[256], b2[256];
        assert_true(rv_match(table_rv(a, 0, i, b1, sizeof b1), table_rv(b, 0, i, b2, sizeof b2),
                             EMBER_TYPE_STRING, false));
        assert_int_equal(ember_table_int64(a, 1, i), ember_table_int64(b, 1, i));
    }
}

/* coalesce(n): min(n, parent) partitions, the rows in their order, no shuffle. */
static void test_coalesce(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 7);
    int64_t *ids = all_ids(CSV_ROWS);
    static const int counts[] = {1, 2, 3, 6, 7, 10, 1000};
    for (int k = 0; k < 7; k++) {
        int n = counts[k];
        ember_frame *merged = coalesce_of(frame, n);
        assert_int_equal(ember_frame_partition_count(merged), n < 7 ? n : 7);
        assert_int_equal(count_of(merged), CSV_ROWS);
        ember_table *table = collect_of(merged);
        assert_false(job_has_stage("shuffle"));
        char what[64];
        snprintf(what, sizeof what, "coalesce(%d)", n);
        expect_input_columns(table, csv_data, ids, CSV_ROWS, what);
    }
    /* Narrow steps before and after; a coalesce of a coalesce. */
    ember_frame *twice = coalesce_of(coalesce_of(frame, 5), 2);
    assert_int_equal(ember_frame_partition_count(twice), 2);
    ember_frame *steps = with_column(
        coalesce_of(with_column(filter_of(frame, "qty > 0"), "neg", "-qty"), 3), "neg2", "neg * 2");
    ember_frame *last = filter_of(steps, "neg2 < -10");
    assert_int_equal(ember_frame_partition_count(last), 3);
    ember_table *table = collect_of(last);
    int64_t m = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        if (row->qty_null || row->qty <= 0 || !(wrap_mul(row->qty, -2) < -10))
            continue;
        expect_cell(table, column_of(table, "id"), m, rv_int(r), false, "coalesce steps id");
        expect_cell(table, column_of(table, "neg2"), m, rv_int(wrap_mul(row->qty, -2)), false,
                    "coalesce steps neg2");
        m++;
    }
    assert_int_equal(ember_table_row_count(table), m);
    assert_int_equal(count_of(last), m);
    expect_input_columns(collect_of(twice), csv_data, ids, CSV_ROWS, "coalesce twice");
    /* A range, and after a repartition: the shuffled partitions concatenated in order. */
    ember_frame *range = coalesce_of(range_of(0, 1000, 50), 7);
    assert_int_equal(ember_frame_partition_count(range), 7);
    table = collect_of(range);
    assert_int_equal(ember_table_row_count(table), 1000);
    for (int64_t i = 0; i < 1000; i++)
        assert_int_equal(ember_table_int64(table, 0, i), i);
    check_whole(coalesce_of(range_of(-100, 900, 64), 3), (__int128)(-100 + 899) * 1000 / 2, 1000,
                -100, 899);
    /* Empty slices merged with full ones. */
    ember_frame *sparse = coalesce_of(range_of(0, 10, 64), 3);
    assert_int_equal(ember_frame_partition_count(sparse), 3);
    table = collect_of(sparse);
    assert_int_equal(ember_table_row_count(table), 10);
    for (int64_t i = 0; i < 10; i++)
        assert_int_equal(ember_table_int64(table, 0, i), i);
    ember_frame *dealt = repartition_of(range_of(0, 100, 2), 10);
    ember_frame *merged = coalesce_of(dealt, 3);
    assert_int_equal(ember_frame_partition_count(merged), 3);
    ember_table *a = collect_of(dealt), *b = collect_of(merged);
    assert_int_equal(ember_table_row_count(b), 100);
    for (int64_t i = 0; i < 100; i++)
        assert_int_equal(ember_table_int64(b, 0, i), ember_table_int64(a, 0, i));
    free(ids);
}

/* A frame wider than one kernel's arguments: 120 computed columns. */
static void test_wide_frame(void **state) {
    (void)state;
    ember_frame *frame = range_of(0, 100, 3);
    for (int k = 0; k < 120; k++) {
        char name[16], expression[64];
        snprintf(name, sizeof name, "c%d", k);
        snprintf(expression, sizeof expression, k % 2 ? "value * %d" : "float(value) + %d.5", k);
        frame = with_column(frame, name, expression);
    }
    ember_table *table = NULL;
    ember_status status = ember_collect(frame, &table);
    if (status != EMBER_OK)
        fail_msg("collect of a frame of 121 columns: %s: %s", ember_status_str(status),
                 ember_session_error(sess()));
    hold_table(table);
    assert_int_equal(ember_table_column_count(table), 121);
    for (int64_t i = 0; i < 100; i++)
        for (int k = 0; k < 120; k++) {
            if (k % 2)
                assert_int_equal(ember_table_int64(table, (size_t)k + 1, i), i * k);
            else
                assert_true(ember_table_float64(table, (size_t)k + 1, i) == (double)i + k + 0.5);
        }
}

/* ---------------------------------------------------------------------------------------
 * More pipelines: column replacement and composition, narrow steps after a group-by, the
 * cache under and over narrow steps.
 * ------------------------------------------------------------------------------------- */

/* with_column replacing a column that an earlier computed column read: the earlier column
 * keeps the old values, later steps see the new ones. */
static void test_replace_and_compose(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 3);
    ember_frame *t = with_column(frame, "t", "qty + 1");
    ember_frame *zeroed = with_column(t, "qty", "coalesce(qty, 0) * 0 + 7");
    ember_frame *u = with_column(zeroed, "u", "qty * 5 + t");
    ember_frame *kept = filter_of(u, "qty = 7 and t > 5");
    assert_int_equal(ember_frame_column_count(u), 8);
    assert_string_equal(ember_frame_column_name(u, 2), "qty");
    assert_string_equal(ember_frame_column_name(u, 6), "t");
    assert_string_equal(ember_frame_column_name(u, 7), "u");
    ember_table *table = collect_of(kept);
    int64_t m = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        if (row->qty_null || !(wrap_add(row->qty, 1) > 5))
            continue;
        int64_t tv = wrap_add(row->qty, 1);
        expect_cell(table, 0, m, rv_int(r), false, "replace: id");
        expect_cell(table, 2, m, rv_int(7), false, "replace: qty");
        expect_cell(table, 6, m, rv_int(tv), false, "replace: t");
        expect_cell(table, 7, m, rv_int(wrap_add(35, tv)), false, "replace: u");
        m++;
    }
    assert_int_equal(ember_table_row_count(table), m);
    assert_int_equal(count_of(kept), m);
    /* The same through a whole-frame aggregate (the reduce kernel). */
    const char *aggs[] = {"count", "sum:qty", "count:u", NULL};
    ember_table *agg = collect_of(group_by_of(kept, NULL, aggs));
    assert_int_equal(ember_table_int64(agg, 0, 0), m);
    assert_int_equal(ember_table_int64(agg, 1, 0), 7 * m);
    assert_int_equal(ember_table_int64(agg, 2, 0), m);
    /* A type change in place: qty becomes a string, then a bool. */
    ember_frame *as_text = with_column(frame, "qty", "if(qty > 10, 'many', 'few')");
    assert_int_equal(ember_frame_column_type(as_text, 2), EMBER_TYPE_STRING);
    ember_frame *as_bool = with_column(as_text, "qty", "qty = 'many'");
    assert_int_equal(ember_frame_column_type(as_bool, 2), EMBER_TYPE_BOOL);
    table = collect_of(as_bool);
    for (int64_t r = 0; r < CSV_ROWS; r++)
        expect_cell(table, 2, r, rv_bool(!csv_data[r].qty_null && csv_data[r].qty > 10), false,
                    "qty = 'many'");
    /* Names that need backticks, and a range's value replaced. */
    ember_frame *spaced = with_column(frame, "unit price", "price / 2");
    ember_frame *cheap = filter_of(spaced, "`unit price` < 0.5 and `unit price` >= 0");
    int64_t cheap_rows = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        double half = row->price / 2;
        cheap_rows += !row->price_null && cmp_float(half, 0.5) < 0 && cmp_float(half, 0) >= 0;
    }
    assert_int_equal(count_of(cheap), cheap_rows);
    ember_frame *tripled = with_column(range_of(0, 100, 3), "value", "value * 3");
    ember_frame *big = filter_of(tripled, "value > 150");
    const char *sum[] = {"sum:value", "count", NULL};
    agg = collect_of(group_by_of(big, NULL, sum));
    int64_t want = 0, n = 0;
    for (int64_t i = 0; i < 100; i++)
        if (3 * i > 150) {
            want += 3 * i;
            n++;
        }
    assert_int_equal(ember_table_int64(agg, 0, 0), want);
    assert_int_equal(ember_table_int64(agg, 1, 0), n);
}

/* Narrow steps over a group-by's result: a "groups" stage. */
static void test_group_by_then_narrow(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 4);
    const char *keys[] = {"region", NULL};
    const char *aggs[] = {"count", "count:price", NULL};
    ember_frame *grouped = group_by_of(frame, keys, aggs);
    ember_frame *many = filter_of(grouped, "count > 150");
    ember_frame *doubled = with_column(many, "twice", "count * 2 + count_price");
    ember_table *table = collect_of(doubled);
    assert_true(job_has_stage("groups"));
    /* Reference: rows and prices per region. */
    int64_t rows[32] = {0}, prices[32] = {0}, null_rows = 0, null_prices = 0;
    const char *names[32];
    int regions = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++) {
        const crow *row = &csv_data[r];
        if (row->region_null) {
            null_rows++;
            null_prices += !row->price_null;
            continue;
        }
        int g = 0;
        while (g < regions && strcmp(names[g], row->region) != 0)
            g++;
        if (g == regions)
            names[regions++] = row->region;
        rows[g]++;
        prices[g] += !row->price_null;
    }
    int64_t expected = null_rows > 150;
    for (int g = 0; g < regions; g++)
        expected += rows[g] > 150;
    assert_int_equal(ember_table_row_count(table), expected);
    assert_int_equal(count_of(many), expected);
    for (int64_t i = 0; i < expected; i++) {
        int64_t want_rows, want_prices;
        if (ember_table_is_null(table, 0, i)) {
            want_rows = null_rows;
            want_prices = null_prices;
        } else {
            size_t len = 0;
            const char *key = ember_table_string(table, 0, i, &len);
            int g = 0;
            while (g < regions && !(strlen(names[g]) == len && memcmp(names[g], key, len) == 0))
                g++;
            assert_true(g < regions);
            want_rows = rows[g];
            want_prices = prices[g];
        }
        assert_int_equal(ember_table_int64(table, 1, i), want_rows);
        assert_int_equal(ember_table_int64(table, 2, i), want_prices);
        assert_int_equal(ember_table_int64(table, 3, i), 2 * want_rows + want_prices);
    }
    /* A group-by of a group-by. */
    const char *by_count[] = {"count", NULL};
    const char *rename[] = {"count as n", NULL};
    ember_table *again = collect_of(group_by_of(grouped, by_count, rename));
    int64_t total = 0;
    for (int64_t i = 0; i < ember_table_row_count(again); i++)
        total += ember_table_int64(again, 1, i);
    assert_int_equal(total, regions + (null_rows > 0));
}

/* ember_cache on a computed frame: later actions and children read the kept partitions and
 * give the same answers; unpersist goes back to computing. */
static void test_cache_pipeline(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 3);
    ember_frame *computed = with_column(filter_of(frame, "qty > 0"), "total", "price * qty");
    int64_t *ids = calloc(CSV_ROWS + 1, sizeof *ids);
    int64_t n = 0;
    for (int64_t r = 0; r < CSV_ROWS; r++)
        if (!csv_data[r].qty_null && csv_data[r].qty > 0)
            ids[n++] = r;
    OK(ember_cache(computed));
    assert_true(ember_frame_is_cached(computed));
    for (int round = 0; round < 3; round++) {
        assert_int_equal(count_of(computed), n);
        ember_table *table = collect_of(computed);
        expect_input_columns(table, csv_data, ids, n, "cached frame");
        for (int64_t k = 0; k < n; k++)
            expect_cell(table, 6, k, ref_total(&csv_data[ids[k]]), false, "cached total");
        if (round == 2 && job_has_stage("cache"))
            fail_msg("collect after unpersist still read the cache");
        if (round == 1 && !job_has_stage("cache")) {
            char stages[512];
            job_stages(stages, sizeof stages);
            fail_msg("collect #%d of a cached frame ran '%s'", round + 1, stages);
        }
        /* A child: a filter and a computed column over the cache. */
        ember_frame *child = with_column(filter_of(computed, "total > 100"), "t2", "total / 2");
        table = collect_of(child);
        int64_t m = 0;
        for (int64_t k = 0; k < n; k++) {
            rv total = ref_total(&csv_data[ids[k]]);
            if (total.null || !(cmp_float(total.f, 100) > 0))
                continue;
            expect_cell(table, 0, m, rv_int(ids[k]), false, "child of the cache: id");
            expect_cell(table, 7, m, rv_float(total.f / 2), false, "child of the cache: t2");
            m++;
        }
        assert_int_equal(ember_table_row_count(table), m);
        assert_int_equal(count_of(child), m);
        const char *keys[] = {"region", NULL};
        ember_table *groups = collect_of(group_by_of(computed, keys, NULL));
        int64_t total_rows = 0;
        for (int64_t i = 0; i < ember_table_row_count(groups); i++)
            total_rows += ember_table_int64(groups, 1, i);
        assert_int_equal(total_rows, n);
        if (round == 1)
            OK(ember_unpersist(computed));
    }
    /* A cached repartition: the dealt rows kept. */
    ember_frame *dealt = repartition_of(computed, 4);
    OK(ember_cache(dealt));
    ember_table *a = collect_of(dealt);
    ember_table *b = collect_of(dealt);
    assert_int_equal(ember_table_row_count(a), n);
    for (int64_t k = 0; k < n; k++)
        assert_int_equal(ember_table_int64(a, 0, k), ember_table_int64(b, 0, k));
    assert_int_equal(count_of(filter_of(dealt, "qty > 0")), n);
    free(ids);
}

/* mean of int64 values whose sum leaves int64: the 128-bit sum makes it exact; only sum
 * itself fails. */
static void test_range_mean_near_limit(void **state) {
    (void)state;
    ember_frame *frame = range_of(INT64_MAX - 1000, INT64_MAX, 4);
    const char *aggs[] = {"count", "min:value", "max:value", "mean:value", NULL};
    ember_table *table = NULL;
    ember_status status = ember_collect(group_by_of(frame, NULL, aggs), &table);
    if (status != EMBER_OK)
        fail_msg("mean of range(INT64_MAX - 1000, INT64_MAX): %s: %s", ember_status_str(status),
                 ember_session_error(sess()));
    hold_table(table);
    assert_int_equal(ember_table_int64(table, 0, 0), 1000);
    assert_int_equal(ember_table_int64(table, 1, 0), INT64_MAX - 1000);
    assert_int_equal(ember_table_int64(table, 2, 0), INT64_MAX - 1);
    double mean = ember_table_float64(table, 3, 0);
    assert_true(fabs(mean - 9223372036854775807.0) <= 1e-12 * 9223372036854775807.0);
    /* The values through a filter and a map near the limit: wrapping arithmetic. */
    ember_frame *wrapped = map_of(filter_of(frame, "value % 2 = 1"), "value + 2");
    ember_table *t = collect_of(wrapped);
    assert_int_equal(ember_table_row_count(t), 500);
    for (int64_t i = 0; i < 500; i++) {
        int64_t v = INT64_MAX - 1000 + 2 * i; /* odd values: INT64_MAX - 1000 is odd */
        assert_int_equal(ember_table_int64(t, 0, i), wrap_add(v, 2));
    }
}

/* An inferred column that widens during an action (a value the sample missed): the frames
 * above re-derive their columns; an expression that no longer type-checks fails the action
 * with its message. Rows have one length, so the sample (64 records at the start of each of 64
 * equal byte ranges) reads rows 0-63 of every 200 and misses rows 150 and 5150. */
static void test_widening(void **state) {
    (void)state;
    char *path = scratch("widen.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("id,x,y\n", f);
    const int rows = 64 * 200;
    for (int i = 0; i < rows; i++) {
        if (i == 150)
            fprintf(f, "%06d,002.50,%06d\n", i, i % 1000);
        else if (i == 5150)
            fprintf(f, "%06d,%06d,abcdef\n", i, i % 100);
        else
            fprintf(f, "%06d,%06d,%06d\n", i, i % 100, i % 1000);
    }
    assert_int_equal(fclose(f), 0);
    ember_frame *frame = read_csv_of(path, NULL, 4);
    assert_int_equal(ember_frame_column_type(frame, 1), EMBER_TYPE_INT64);
    assert_int_equal(ember_frame_column_type(frame, 2), EMBER_TYPE_INT64);
    ember_frame *doubled = with_column(frame, "x2", "x * 2");
    ember_frame *big = filter_of(doubled, "x2 > 190");
    const char *columns[] = {"id", "x2", NULL};
    ember_frame *selected = select_of(big, columns);
    assert_int_equal(ember_frame_column_type(doubled, 3), EMBER_TYPE_INT64);
    ember_table *table = NULL;
    ember_status status = ember_collect(selected, &table);
    if (status != EMBER_OK)
        fail_msg("collect over a widening column: %s: %s", ember_status_str(status),
                 ember_session_error(sess()));
    hold_table(table);
    /* x became float64 (2.5 at row 150), x2 with it. */
    assert_int_equal(ember_frame_column_type(frame, 1), EMBER_TYPE_FLOAT64);
    assert_int_equal(ember_frame_column_type(doubled, 3), EMBER_TYPE_FLOAT64);
    assert_int_equal(ember_frame_column_type(selected, 1), EMBER_TYPE_FLOAT64);
    assert_int_equal(ember_table_column_type(table, 1), EMBER_TYPE_FLOAT64);
    int64_t m = 0;
    for (int i = 0; i < rows; i++) {
        double x = i == 150 ? 2.5 : i % 100;
        if (!(2 * x > 190))
            continue;
        expect_cell(table, 0, m, rv_int(i), false, "widened: id");
        expect_cell(table, 1, m, rv_float(2 * x), false, "widened: x2");
        m++;
    }
    assert_int_equal(ember_table_row_count(table), m);
    /* y becomes a string at row 5150: "y + 1" no longer type-checks. */
    ember_frame *plus = with_column(frame, "y1", "y + 1");
    status = ember_collect(plus, &table);
    expect_error(status, EMBER_ERROR_SCHEMA, "expression \"y + 1\"", "needs numbers", NULL);
    assert_int_equal(ember_frame_column_type(frame, 2), EMBER_TYPE_STRING);
    /* A string comparison still works over the widened column. */
    ember_frame *text = filter_of(frame, "y = 'abcdef'");
    assert_int_equal(count_of(text), 1);
}

/* Malformed rows under the pipeline: DROPMALFORMED drops them before the filter and the
 * count, PERMISSIVE keeps them with nulls that the expressions see. */
static void test_malformed_pipeline(void **state) {
    (void)state;
    char *path = scratch("malformed.csv");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs("a,b\n", f);
    const int rows = 2000;
    for (int i = 0; i < rows; i++) {
        if (i % 7 == 3)
            fprintf(f, "%d,%d,extra\n", i, i % 10); /* a field too many */
        else if (i % 11 == 5)
            fprintf(f, "%d,x%d\n", i, i); /* not an int64 */
        else if (i % 13 == 6)
            fprintf(f, "%d\n", i); /* a field short */
        else
            fprintf(f, "%d,%d\n", i, i % 10);
    }
    assert_int_equal(fclose(f), 0);
    for (int mode = 0; mode < 2; mode++) {
        ember_csv_options *options = ember_csv_options_create();
        assert_int_equal(ember_csv_options_set_schema(options, "a:int64,b:int64"), EMBER_OK);
        assert_int_equal(ember_csv_options_set_mode(options, mode ? EMBER_CSV_DROPMALFORMED
                                                                  : EMBER_CSV_PERMISSIVE),
                         EMBER_OK);
        assert_int_equal(ember_csv_options_set_partitions(options, 5), EMBER_OK);
        ember_frame *frame = NULL;
        ember_status status = ember_read_csv(sess(), path, options, &frame);
        ember_csv_options_free(options);
        OK(status);
        hold(frame);
        ember_frame *steps = with_column(filter_of(frame, "a % 2 = 0"), "c", "coalesce(b, -1) + a");
        int64_t want = 0, malformed = 0;
        int64_t *a_values = calloc((size_t)rows + 1, sizeof *a_values);
        int64_t *c_values = calloc((size_t)rows + 1, sizeof *c_values);
        for (int i = 0; i < rows; i++) {
            bool bad = i % 7 == 3 || i % 11 == 5 || i % 13 == 6;
            malformed += bad;
            if ((mode && bad) || i % 2 != 0)
                continue;
            /* PERMISSIVE: a long row is cut (b kept), a bad or missing b is null */
            bool b_null = i % 7 != 3 && (i % 11 == 5 || i % 13 == 6);
            a_values[want] = i;
            c_values[want] = (b_null ? -1 : i % 10) + i;
            want++;
        }
        const char *what = mode ? "DROPMALFORMED" : "PERMISSIVE";
        /* As in Spark (docs/cli.md), a column an action does not use is not converted: the
         * count of the filter reads only a, so a bad b does not drop the row there. */
        int64_t count_want = 0;
        for (int i = 0; i < rows; i++)
            count_want += i % 2 == 0 && !(mode && (i % 7 == 3 || (i % 13 == 6 && i % 11 != 5)));
        int64_t counted = count_of(steps);
        if (counted != count_want)
            fail_msg("%s: count of the filter %" PRId64 ", expected %" PRId64, what, counted,
                     count_want);
        ember_table *table = collect_of(steps);
        const ember_job *job = ember_session_last_job(sess());
        assert_int_equal(
            ember_job_metric_get(job, mode ? EMBER_JOB_ROWS_DROPPED : EMBER_JOB_ROWS_MALFORMED),
            malformed);
        assert_int_equal(ember_table_row_count(table), want);
        for (int64_t k = 0; k < want; k++) {
            expect_cell(table, 0, k, rv_int(a_values[k]), false, what);
            expect_cell(table, 2, k, rv_int(c_values[k]), false, what);
        }
        /* The whole frame's count (only field counts checked) and a repartition of it. */
        int64_t short_or_long = 0;
        for (int i = 0; i < rows; i++)
            short_or_long += i % 7 == 3 || (i % 13 == 6 && i % 11 != 5);
        assert_int_equal(count_of(frame), mode ? rows - short_or_long : rows);
        table = collect_of(repartition_of(steps, 3));
        assert_int_equal(ember_table_row_count(table), want);
        free(a_values);
        free(c_values);
    }
}

/* Frames hold their parents: a chain whose intermediate handles are freed still runs. */
static void test_frame_lifetime(void **state) {
    (void)state;
    ember_frame *range = NULL, *mapped = NULL, *filtered = NULL, *dealt = NULL, *merged = NULL;
    OK(ember_range(sess(), 0, 1000, 8, &range));
    OK(ember_map(range, "value * 3", &mapped));
    ember_frame_free(range);
    OK(ember_filter(mapped, "value % 2 = 0", &filtered));
    ember_frame_free(mapped);
    OK(ember_repartition(filtered, 3, &dealt));
    ember_frame_free(filtered);
    OK(ember_coalesce(dealt, 2, &merged));
    ember_frame_free(dealt);
    hold(merged);
    assert_int_equal(count_of(merged), 500);
    ember_table *table = collect_of(merged);
    assert_int_equal(ember_table_row_count(table), 500);
    /* coalesce(repartition(3)) to 2: partition 0 and 1 of the deal, then partition 2. */
    int64_t at = 0;
    for (int d = 0; d < 3; d++)
        for (int64_t i = d; i < 500; i += 3)
            assert_int_equal(ember_table_int64(table, 0, at++), 6 * i);
    ember_frame *retained = ember_frame_retain(merged);
    assert_ptr_equal(retained, merged);
    ember_frame_free(retained);
    assert_ptr_equal(ember_frame_session(merged), sess());
    assert_int_equal(count_of(merged), 500);
}

/* ---------------------------------------------------------------------------------------
 * 6. write_csv and show.
 * ------------------------------------------------------------------------------------- */

/* Names of the entries of dir that start with prefix, or NULL; how many into *count. */
static int entries_with_prefix(const char *dir, const char *prefix, char *first, size_t size) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
            if (n++ == 0 && first)
                snprintf(first, size, "%s", e->d_name);
        }
    closedir(d);
    return n;
}

/* A scratch directory for write tests, emptied and removed by the caller. */
static char *scratch_dir(void) {
    char *dir = tu_tmp_path("write-dir");
    mkdir(dir, 0777);
    return dir;
}

static void remove_dir(char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        for (struct dirent *e; (e = readdir(d)) != NULL;) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (rmdir(path) != 0)
                unlink(path);
        }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* write_csv of a small frame: the exact text (quoting, null vs "", floats, booleans). */
static void test_write_csv_text(void **state) {
    (void)state;
    ember_frame *frame = range_of(-1, 5, 2);
    frame = with_column(frame, "s",
                        "if(value = 0, '', if(value = 1, null, if(value = 2, 'a,\"b\"', "
                        "if(value = 3, 'two\nlines', if(value = 4, ' x ', 'y')))))");
    frame = with_column(frame, "f", "if(value = 1, null, value / 2)");
    frame = with_column(frame, "b", "if(value = 0, null, value > 1)");
    frame = with_column(frame, "n,q\"", "if(value < 2, value * 1000000000000, null)");
    char *path = scratch("text.csv");
    OK(ember_write_csv(frame, path));
    assert_true(job_has_stage("write"));
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    assert_non_null(text);
    const char *expected = "value,s,f,b,\"n,q\"\"\"\n"
                           "-1,y,-0.5,false,-1000000000000\n"
                           "0,\"\",0.0,,0\n"
                           "1,,,false,1000000000000\n"
                           "2,\"a,\"\"b\"\"\",1.0,true,\n"
                           "3,\"two\nlines\",1.5,true,\n"
                           "4, x ,2.0,true,\n";
    if (strcmp(text, expected) != 0)
        fail_msg("write_csv wrote\n%s\nexpected\n%s", text, expected);
    free(text);
    /* An empty frame: the header only. */
    OK(ember_write_csv(filter_of(frame, "false"), path));
    text = tu_read_file(path, &len);
    assert_string_equal(text, "value,s,f,b,\"n,q\"\"\"\n");
    free(text);
}

/* write_csv then read_csv gives the same table: quotes, delimiters, CR/LF inside strings, null
 * vs empty strings, floats bit for bit (NaN, infinities, -0.0, subnormals, 17 digits). */
static void test_write_csv_round_trip(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 7);
    frame = with_column(frame, "total", "price * qty");
    frame = with_column(frame, "label", "if(qty > 0, region, name)");
    frame = with_column(frame, "tiny", "price / 1e300");
    char *path = scratch("round-trip.csv");
    OK(ember_write_csv(frame, path));
    ember_table *original = collect_of(frame);
    static const char *const schemas[] = {
        "id:int64,price:float64,qty:int64,region:string,name:string,disc:float64,"
        "total:float64,label:string,tiny:float64",
        NULL};
    for (int round = 0; round < 2; round++) {
        ember_frame *back = read_csv_of(path, schemas[round], round ? 3 : 1);
        ember_table *table = collect_of(back);
        assert_int_equal(ember_table_row_count(table), CSV_ROWS);
        assert_int_equal(ember_table_column_count(table), 9);
        for (size_t c = 0; c < 9; c++) {
            assert_string_equal(ember_table_column_name(table, c),
                                ember_table_column_name(original, c));
            if (ember_table_column_type(table, c) != ember_table_column_type(original, c))
                fail_msg("round trip (%s schema): column %s reads back as %s, written as %s",
                         round ? "inferred" : "explicit", ember_table_column_name(table, c),
                         ember_type_name(ember_table_column_type(table, c)),
                         ember_type_name(ember_table_column_type(original, c)));
            for (int64_t r = 0; r < CSV_ROWS; r++) {
                char b1[256], b2[256];
                ember_type type = ember_table_column_type(original, c);
                rv want = table_rv(original, (int)c, r, b1, sizeof b1);
                rv got = table_rv(table, (int)c, r, b2, sizeof b2);
                if (!rv_match(got, want, type, false)) {
                    char x[320], y[320];
                    format_rv(got, type, x, sizeof x);
                    format_rv(want, type, y, sizeof y);
                    fail_msg("round trip (%s schema): column %s row %" PRId64
                             ": read back %s, written %s",
                             round ? "inferred" : "explicit", ember_table_column_name(table, c), r,
                             x, y);
                }
            }
        }
    }
    /* A repartitioned frame is written in its collect order; a group-by frame can be written. */
    ember_frame *dealt = repartition_of(frame, 5);
    OK(ember_write_csv(dealt, path));
    ember_table *a = collect_of(dealt);
    ember_table *b = collect_of(read_csv_of(path, schemas[0], 2));
    assert_int_equal(ember_table_row_count(b), CSV_ROWS);
    for (int64_t r = 0; r < CSV_ROWS; r++)
        assert_int_equal(ember_table_int64(a, 0, r), ember_table_int64(b, 0, r));
    const char *keys[] = {"region", NULL};
    ember_frame *grouped = group_by_of(frame, keys, NULL);
    OK(ember_write_csv(grouped, path));
    ember_table *groups = collect_of(read_csv_of(path, "region:string,count:int64", 1));
    ember_table *direct = collect_of(grouped);
    assert_int_equal(ember_table_row_count(groups), ember_table_row_count(direct));
    OK(ember_table_sort(groups, 1));
    OK(ember_table_sort(direct, 1));
    for (int64_t r = 0; r < ember_table_row_count(direct); r++) {
        char b1[256], b2[256];
        assert_true(rv_match(table_rv(groups, 0, r, b1, sizeof b1),
                             table_rv(direct, 0, r, b2, sizeof b2), EMBER_TYPE_STRING, false));
        assert_int_equal(ember_table_int64(groups, 1, r), ember_table_int64(direct, 1, r));
    }
    /* A bool column reads back as the strings true / false (CSV has no bool type). */
    ember_frame *flags = with_column(range_of(0, 3, 1), "b", "value > 0");
    OK(ember_write_csv(flags, path));
    ember_table *t = collect_of(read_csv_of(path, "value:int64,b:string", 1));
    size_t len = 0;
    assert_memory_equal(ember_table_string(t, 1, 0, &len), "false", 5);
    assert_memory_equal(ember_table_string(t, 1, 2, &len), "true", 4);
}

/* A failed job leaves no file at the path (an old one unchanged) and no temporary file; a
 * missing directory fails with a message naming the path and the reason. */
static void test_write_csv_failures(void **state) {
    (void)state;
    char *dir = scratch_dir();
    char bad[4096], out[4096], first[256];
    snprintf(bad, sizeof bad, "%s/malformed.csv", dir);
    snprintf(out, sizeof out, "%s/out.csv", dir);
    /* Row 3000 of 4000 has a field too many. */
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    fputs("a,b\n", f);
    for (int i = 0; i < 4000; i++)
        fprintf(f, i == 3000 ? "%d,%d,%d\n" : "%d,%d\n", i, i * 2, i);
    assert_int_equal(fclose(f), 0);
    ember_csv_options *options = ember_csv_options_create();
    assert_int_equal(ember_csv_options_set_mode(options, EMBER_CSV_FAILFAST), EMBER_OK);
    assert_int_equal(ember_csv_options_set_partitions(options, 3), EMBER_OK);
    ember_frame *frame = NULL;
    ember_status status = ember_read_csv(sess(), bad, options, &frame);
    ember_csv_options_free(options);
    OK(status);
    hold(frame);
    ember_frame *doubled = with_column(frame, "c", "a * 2");
    /* No file before: none after. */
    expect_error(ember_write_csv(doubled, out), EMBER_ERROR_CSV, "malformed.csv", NULL);
    assert_int_equal(access(out, F_OK), -1);
    assert_int_equal(entries_with_prefix(dir, "out.csv", first, sizeof first), 0);
    /* An old file stays as it was. */
    tu_write_text(out, "old contents\n");
    expect_error(ember_write_csv(doubled, out), EMBER_ERROR_CSV, NULL);
    char *text = tu_read_file(out, NULL);
    assert_string_equal(text, "old contents\n");
    free(text);
    if (entries_with_prefix(dir, "out.csv", first, sizeof first) != 1)
        fail_msg("a failed write_csv left '%s' in the directory", first);
    /* A success replaces it. */
    ember_frame *good = range_of(0, 3, 2);
    OK(ember_write_csv(good, out));
    text = tu_read_file(out, NULL);
    assert_string_equal(text, "value\n0\n1\n2\n");
    free(text);
    assert_int_equal(entries_with_prefix(dir, "out.csv", first, sizeof first), 1);
    /* A directory that does not exist. */
    char missing[4096];
    snprintf(missing, sizeof missing, "%s/no-such-dir/out.csv", dir);
    expect_error(ember_write_csv(good, missing), EMBER_ERROR_IO, missing,
                 "No such file or directory", NULL);
    /* A path that is a directory: the rename fails; no temporary file stays. */
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/subdir", dir);
    assert_int_equal(mkdir(sub, 0777), 0);
    status = ember_write_csv(good, sub);
    assert_int_equal(status, EMBER_ERROR_IO);
    assert_non_null(strstr(ember_session_error(sess()), sub));
    if (entries_with_prefix(dir, "subdir", first, sizeof first) != 1)
        fail_msg("a failed write_csv left '%s' in the directory", first);
    /* An empty path. */
    expect_error(ember_write_csv(good, ""), EMBER_ERROR_INVALID_ARGUMENT, "path", NULL);
    remove_dir(dir);
}

/* The written file gets the permissions any new file gets (0666 less the umask), as
 * fopen(path, "w") and Spark's writers give, not mkstemp's 0600. */
static void test_write_csv_file_mode(void **state) {
    (void)state;
    char *path = scratch("mode.csv");
    mode_t mask = umask(022);
    ember_status status = ember_write_csv(range_of(0, 3, 1), path);
    umask(mask);
    OK(status);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if ((st.st_mode & 0777) != 0644)
        fail_msg("write_csv made a file of mode %o, expected 644 (0666 & ~umask 022)",
                 (unsigned)(st.st_mode & 0777));
}

/* The text show() wrote to a temporary file. */
static char *show_text(ember_frame *frame, int64_t max_rows) {
    FILE *f = tmpfile();
    assert_non_null(f);
    OK(ember_show(frame, max_rows, f));
    long size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    char *text = calloc((size_t)size + 1, 1);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    return text;
}

static void test_show(void **state) {
    (void)state;
    ember_frame *frame = range_of(0, 5, 2);
    frame = with_column(frame, "big", "value > 2");
    frame = with_column(frame, "half", "if(value = 1, null, value / 2)");
    frame = with_column(frame, "name", "if(value = 0, 'zero', if(value = 4, null, 'n'))");
    char *text = show_text(frame, 3);
    const char *expected = "+-----+-----+----+----+\n"
                           "|value|  big|half|name|\n"
                           "+-----+-----+----+----+\n"
                           "|    0|false| 0.0|zero|\n"
                           "|    1|false|null|n   |\n"
                           "|    2|false| 1.0|n   |\n"
                           "+-----+-----+----+----+\n"
                           "only showing top 3 rows\n";
    /* The layout is ember_table_print's: check the parts that do not depend on alignment. */
    if (strcmp(text, expected) != 0) {
        fprintf(stderr, "show(3) wrote:\n%s", text);
        assert_non_null(strstr(text, "value"));
        assert_non_null(strstr(text, "big"));
        assert_non_null(strstr(text, "half"));
        assert_non_null(strstr(text, "null"));
        assert_non_null(strstr(text, "false"));
        assert_non_null(strstr(text, "zero"));
        assert_non_null(strstr(text, "only showing top 3 rows\n"));
        assert_null(strstr(text, "true")); /* rows 3 and 4 are left out */
    }
    /* The same as printing the collected table. */
    ember_table *table = collect_of(frame);
    FILE *f = tmpfile();
    OK(ember_table_print(table, f, 3));
    long size = ftell(f);
    rewind(f);
    char *printed = calloc((size_t)size + 1, 1);
    assert_int_equal(fread(printed, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    assert_string_equal(text, printed);
    free(printed);
    free(text);
    /* All rows: no "only showing"; 5 data lines + 4 rules/header lines. */
    static const int64_t all_rows[] = {-1, 5, 100};
    for (int k = 0; k < 3; k++) {
        text = show_text(frame, all_rows[k]);
        assert_null(strstr(text, "only showing"));
        assert_non_null(strstr(text, "true"));
        int lines = 0;
        for (const char *p = text; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 5 + 4);
        free(text);
    }
    /* One row: "row", not "rows"; an empty frame: the header box only. */
    text = show_text(frame, 1);
    assert_non_null(strstr(text, "only showing top 1 row\n"));
    free(text);
    text = show_text(filter_of(frame, "value > 100"), 20);
    assert_non_null(strstr(text, "value"));
    assert_null(strstr(text, "only showing"));
    free(text);
    /* Like Spark, show(n) stops once the partitions before hold n rows: of 200 slices of a
     * million values, far fewer than all are computed, and the rows shown are the first. */
    text = show_text(range_of(0, 1000000, 200), 4);
    assert_non_null(strstr(text, "|    0|\n|    1|\n|    2|\n|    3|\n"));
    assert_non_null(strstr(text, "only showing top 4 rows\n"));
    free(text);
    const ember_job *job = ember_session_last_job(sess());
    int64_t computed = ember_job_stage_metric(job, 0, EMBER_STAGE_ROWS);
    if (computed <= 0 || computed >= 500000)
        fail_msg("show(4) computed %" PRId64 " of 1000000 rows", computed);
    /* A string with a newline is shown on one line. */
    text = show_text(map_of(range_of(0, 1, 1), "'a\nb'"), 5);
    int lines = 0;
    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 5);
    free(text);
}

/* ---------------------------------------------------------------------------------------
 * 7. The error of every transformation, reported when the frame is made.
 * ------------------------------------------------------------------------------------- */

static void test_errors(void **state) {
    (void)state;
    need_csv();
    ember_frame *frame = read_csv_of(csv_path, CROW_SCHEMA, 2);
    ember_frame *out = (ember_frame *)1;
    const char *columns = "(columns: id, price, qty, region, name, disc)";
    /* Unknown columns: the message lists the frame's columns. */
    expect_error(ember_filter(frame, "qtx > 1", &out), EMBER_ERROR_SCHEMA,
                 "expression \"qtx > 1\", position 1: unknown column 'qtx'", columns, NULL);
    assert_null(out);
    out = (ember_frame *)1;
    expect_error(ember_with_column(frame, "t", "price * qtx", &out), EMBER_ERROR_SCHEMA,
                 "expression \"price * qtx\", position 9: unknown column 'qtx'", columns, NULL);
    assert_null(out);
    const char *unknown[] = {"id", "Price", NULL};
    expect_error(ember_select(frame, unknown, &out), EMBER_ERROR_SCHEMA, "unknown column 'Price'",
                 columns, NULL);
    assert_null(out);
    /* After a select only the selected columns exist. */
    const char *just_id[] = {"id", NULL};
    ember_frame *ids = select_of(frame, just_id);
    expect_error(ember_filter(ids, "qty > 1", &out), EMBER_ERROR_SCHEMA, "unknown column 'qty'",
                 "(columns: id)", NULL);
    /* select: nothing, or a name twice. */
    const char *none[] = {NULL};
    expect_error(ember_select(frame, none, &out), EMBER_ERROR_INVALID_ARGUMENT, "select", NULL);
    expect_error(ember_select(frame, NULL, &out), EMBER_ERROR_INVALID_ARGUMENT, "select", NULL);
    const char *twice[] = {"id", "qty", "id", NULL};
    expect_error(ember_select(frame, twice, &out), EMBER_ERROR_INVALID_ARGUMENT, "'id'", "twice",
                 NULL);
    /* A filter that is not boolean. */
    expect_error(ember_filter(frame, "qty + 1", &out), EMBER_ERROR_SCHEMA,
                 "filter: expression \"qty + 1\" is int64, not a boolean condition", NULL);
    expect_error(ember_filter(frame, "region", &out), EMBER_ERROR_SCHEMA, "is string", NULL);
    expect_error(ember_filter(frame, "price", &out), EMBER_ERROR_SCHEMA, "is float64", NULL);
    /* map of a frame of several columns names them. */
    expect_error(ember_map(frame, "qty * 2", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "map: the frame has 6 columns (id, price, qty, region, name, disc)", NULL);
    assert_null(out);
    /* Syntax errors with their position. */
    expect_error(ember_with_column(frame, "x", "(qty + 2", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "expression \"(qty + 2\", position 9: expected ')' to close the '(' at "
                 "position 1, found the end of the expression",
                 NULL);
    expect_error(ember_filter(frame, "region = 'EU", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "expression \"region = 'EU\", position 10: unterminated string", NULL);
    expect_error(ember_filter(frame, "qty >", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "expression \"qty >\", position 6:", NULL);
    expect_error(ember_map(range_of(0, 10, 1), "value * * 2", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "expression \"value * * 2\", position 9:", NULL);
    expect_error(ember_with_column(frame, "x", "sqr(price)", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "position 1: unknown function 'sqr' (functions: abs, sqrt", NULL);
    expect_error(ember_with_column(frame, "x", "price + region", &out), EMBER_ERROR_SCHEMA,
                 "position 7: operator '+' needs numbers, got float64 and string", NULL);
    expect_error(ember_filter(frame, "pow(price) > 1", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "function pow takes 2 arguments, got 1", NULL);
    /* Null-typed columns have no type. */
    expect_error(ember_with_column(frame, "x", "null", &out), EMBER_ERROR_SCHEMA,
                 "expression \"null\" is always null", NULL);
    assert_null(out);
    expect_error(ember_with_column(frame, "x", "if(qty > 1, null, NULL)", &out), EMBER_ERROR_SCHEMA,
                 "always null", NULL);
    expect_error(ember_map(range_of(0, 10, 1), "null", &out), EMBER_ERROR_SCHEMA, "always null",
                 NULL);
    /* Missing arguments. */
    expect_error(ember_with_column(frame, "", "1", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "with_column", NULL);
    expect_error(ember_with_column(frame, NULL, "1", &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "with_column", NULL);
    expect_error(ember_with_column(frame, "x", NULL, &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "with_column", NULL);
    expect_error(ember_filter(frame, NULL, &out), EMBER_ERROR_INVALID_ARGUMENT, "filter", NULL);
    assert_int_equal(ember_filter(NULL, "true", &out), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_filter(frame, "true", NULL), EMBER_ERROR_INVALID_ARGUMENT);
    /* repartition and coalesce counts. */
    static const int bad_counts[] = {0, -1, INT32_MIN};
    for (int i = 0; i < 3; i++) {
        char got[32];
        snprintf(got, sizeof got, "(got %d)", bad_counts[i]);
        out = (ember_frame *)1;
        expect_error(ember_repartition(frame, bad_counts[i], &out), EMBER_ERROR_INVALID_ARGUMENT,
                     "repartition: the partition count must be at least 1", got, NULL);
        assert_null(out);
        const char *keys[] = {"region", NULL};
        expect_error(ember_repartition_by(frame, bad_counts[i], keys, &out),
                     EMBER_ERROR_INVALID_ARGUMENT, "at least 1", got, NULL);
        expect_error(ember_coalesce(frame, bad_counts[i], &out), EMBER_ERROR_INVALID_ARGUMENT,
                     "coalesce: the partition count must be at least 1", got, NULL);
        assert_null(out);
    }
    /* Unknown and too many repartition keys. */
    const char *unknown_key[] = {"region", "nope", NULL};
    expect_error(ember_repartition_by(frame, 4, unknown_key, &out), EMBER_ERROR_SCHEMA,
                 "repartition: unknown key column 'nope'", columns, NULL);
    const char *five[] = {"id", "price", "qty", "region", "name", NULL};
    expect_error(ember_repartition_by(frame, 4, five, &out), EMBER_ERROR_INVALID_ARGUMENT,
                 "at most 4", NULL);
    /* A failed call leaves the frame usable, and a good call clears the message. */
    assert_int_equal(count_of(frame), CSV_ROWS);
    assert_string_equal(ember_session_error(sess()), "");
}

static int group_close(void **state) {
    if (csv_path)
        unlink(csv_path);
    free(csv_path);
    free(csv_data);
    csv_path = NULL;
    csv_data = NULL;
    return tu_shared_session_close(state);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_range_collect, release_all),
        cmocka_unit_test_teardown(test_range_aggregates, release_all),
        cmocka_unit_test_teardown(test_range_billion, release_all),
        cmocka_unit_test_teardown(test_range_errors, release_all),
        cmocka_unit_test_teardown(test_range_map_spark_example, release_all),
        cmocka_unit_test_teardown(test_csv_with_column, release_all),
        cmocka_unit_test_teardown(test_csv_map, release_all),
        cmocka_unit_test_teardown(test_csv_filter, release_all),
        cmocka_unit_test_teardown(test_csv_chain, release_all),
        cmocka_unit_test_teardown(test_csv_group_by, release_all),
        cmocka_unit_test_teardown(test_differential, release_all),
        cmocka_unit_test_teardown(test_repartition, release_all),
        cmocka_unit_test_teardown(test_repartition_group_by, release_all),
        cmocka_unit_test_teardown(test_repartition_by, release_all),
        cmocka_unit_test_teardown(test_coalesce, release_all),
        cmocka_unit_test_teardown(test_wide_frame, release_all),
        cmocka_unit_test_teardown(test_replace_and_compose, release_all),
        cmocka_unit_test_teardown(test_group_by_then_narrow, release_all),
        cmocka_unit_test_teardown(test_cache_pipeline, release_all),
        cmocka_unit_test_teardown(test_range_mean_near_limit, release_all),
        cmocka_unit_test_teardown(test_widening, release_all),
        cmocka_unit_test_teardown(test_malformed_pipeline, release_all),
        cmocka_unit_test_teardown(test_frame_lifetime, release_all),
        cmocka_unit_test_teardown(test_write_csv_text, release_all),
        cmocka_unit_test_teardown(test_write_csv_round_trip, release_all),
        cmocka_unit_test_teardown(test_write_csv_failures, release_all),
        cmocka_unit_test_teardown(test_write_csv_file_mode, release_all),
        cmocka_unit_test_teardown(test_show, release_all),
        cmocka_unit_test_teardown(test_errors, release_all),
    };
    /* EMBER_PIPELINE_ONLY=pattern runs the matching tests only. */
    if (getenv("EMBER_PIPELINE_ONLY"))
        cmocka_set_test_filter(getenv("EMBER_PIPELINE_ONLY"));
    return cmocka_run_group_tests(tests, tu_shared_session_open, group_close);
}
