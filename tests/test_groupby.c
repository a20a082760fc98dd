/* test_groupby.c: ember_group_by + ember_collect end to end, against a plain-C reference
 * aggregation of the same rows computed in the test: uniform, Zipf-skewed, single-key and
 * all-distinct keys, hash collisions (a hook that narrows the hash), nulls in keys and values,
 * empty input, one row, lopsided partitions, partition counts 1 to 200, every aggregate, and
 * the error cases. Integers must match exactly, float sums and means within 1e-9 relative. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/table.h"
#include "exec/job.h"
#include "ops/groupby_internal.h"

/* One generated row. */
typedef struct row {
    int64_t k_int;
    bool k_int_null;
    char k_str[24];
    bool k_str_null;
    double k_float;
    int64_t v_int;
    bool v_int_null;
    double v_float;
    bool v_float_null;
    int pad; /* extra bytes written, to make partitions lopsided */
} row;

typedef enum shape { UNIFORM, ZIPF, SINGLE, DISTINCT } shape;

static uint64_t rng_state;

static uint64_t next_u64(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static double next_unit(void) {
    return (double)(next_u64() >> 11) / 9007199254740992.0;
}

/* A Zipf(1.1) draw over n keys, by inverting a precomputed CDF. */
static int64_t zipf_key(const double *cdf, int64_t n) {
    double u = next_unit();
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static row *generate(int64_t rows, shape kind, bool nulls, bool lopsided, uint64_t seed) {
    rng_state = seed;
    row *data = calloc((size_t)rows + 1, sizeof *data);
    const int64_t keys = 1000;
    double *cdf = calloc(keys, sizeof *cdf);
    double total = 0;
    for (int64_t i = 0; i < keys; i++)
        total += 1.0 / pow((double)(i + 1), 1.1);
    for (int64_t i = 0, acc = 0; i < keys; i++) {
        (void)acc;
        cdf[i] = (i ? cdf[i - 1] : 0) + 1.0 / pow((double)(i + 1), 1.1) / total;
    }
    for (int64_t i = 0; i < rows; i++) {
        row *r = &data[i];
        int64_t key = kind == UNIFORM  ? (int64_t)(next_u64() % keys)
                      : kind == ZIPF   ? zipf_key(cdf, keys)
                      : kind == SINGLE ? 7
                                       : i;
        r->k_int = key * 7919 - 500000;
        snprintf(r->k_str, sizeof r->k_str, "s%lld", (long long)(key % 997));
        r->k_float = (double)(key % 13) * 0.5 - 1.0;
        r->v_int = (int64_t)(next_u64() % 2000001) - 1000000;
        r->v_float = (double)(int64_t)(next_u64() % 2000001) / 1024.0 - 900.0;
        if (nulls) {
            r->k_int_null = next_u64() % 17 == 0;
            r->k_str_null = next_u64() % 19 == 0;
            r->v_int_null = next_u64() % 5 == 0;
            r->v_float_null = next_u64() % 7 == 0;
        }
        r->pad = lopsided && i < rows / 10 ? 400 : 0;
    }
    free(cdf);
    return data;
}

static char *write_rows(const row *data, int64_t rows) {
    char *path = tu_tmp_path("groupby.csv");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "k_int,k_str,k_float,v_int,v_float,pad\n");
    for (int64_t i = 0; i < rows; i++) {
        const row *r = &data[i];
        if (!r->k_int_null)
            fprintf(f, "%lld", (long long)r->k_int);
        fprintf(f, ",%s,%.17g,", r->k_str_null ? "" : r->k_str, r->k_float);
        if (!r->v_int_null)
            fprintf(f, "%lld", (long long)r->v_int);
        fputc(',', f);
        if (!r->v_float_null)
            fprintf(f, "%.17g", r->v_float);
        fputc(',', f);
        for (int p = 0; p < r->pad; p++)
            fputc('x', f);
        fputc('\n', f);
    }
    fclose(f);
    return path;
}

static const char *SCHEMA =
    "k_int:int64,k_str:string,k_float:float64,v_int:int64,v_float:float64,pad:string";

/* Reference group state. */
typedef struct ref_group {
    char key[96];
    int64_t rows, n_int, n_float;
    __int128 sum_int;
    int64_t min_int, max_int;
    double sum_float, min_float, max_float;
} ref_group;

/* The key tuple of the chosen key columns as one comparable string. */
static void ref_key(const row *r, const int *key_columns, int key_count, char *buf, size_t len) {
    size_t used = 0;
    for (int k = 0; k < key_count; k++) {
        int n = 0;
        switch (key_columns[k]) {
        case 0:
            n = r->k_int_null ? snprintf(buf + used, len - used, "N|")
                              : snprintf(buf + used, len - used, "%lld|", (long long)r->k_int);
            break;
        case 1:
            n = r->k_str_null ? snprintf(buf + used, len - used, "N|")
                              : snprintf(buf + used, len - used, "s:%s|", r->k_str);
            break;
        case 2:
            n = snprintf(buf + used, len - used, "%.17g|", r->k_float);
            break;
        }
        used += (size_t)n;
    }
}

static int compare_groups(const void *a, const void *b) {
    return strcmp(((const ref_group *)a)->key, ((const ref_group *)b)->key);
}

/* The reference: sort row keys, then aggregate runs. */
static ref_group *reference(const row *data, int64_t rows, const int *key_columns, int key_count,
                            int64_t *groups) {
    ref_group *all = calloc((size_t)rows + 1, sizeof *all);
    for (int64_t i = 0; i < rows; i++) {
        ref_key(&data[i], key_columns, key_count, all[i].key, sizeof all[i].key);
        const row *r = &data[i];
        all[i].rows = 1;
        all[i].n_int = !r->v_int_null;
        all[i].sum_int = r->v_int_null ? 0 : r->v_int;
        all[i].min_int = all[i].max_int = r->v_int;
        all[i].n_float = !r->v_float_null;
        all[i].sum_float = r->v_float_null ? 0 : r->v_float;
        all[i].min_float = all[i].max_float = r->v_float;
    }
    qsort(all, (size_t)rows, sizeof *all, compare_groups);
    int64_t out = 0;
    for (int64_t i = 0; i < rows; i++) {
        if (out > 0 && strcmp(all[out - 1].key, all[i].key) == 0) {
            ref_group *g = &all[out - 1];
            g->rows++;
            if (all[i].n_int) {
                g->min_int = g->n_int ? (all[i].min_int < g->min_int ? all[i].min_int : g->min_int)
                                      : all[i].min_int;
                g->max_int = g->n_int ? (all[i].max_int > g->max_int ? all[i].max_int : g->max_int)
                                      : all[i].max_int;
                g->n_int++;
                g->sum_int += all[i].sum_int;
            }
            if (all[i].n_float) {
                g->min_float = g->n_float ? fmin(all[i].min_float, g->min_float) : all[i].min_float;
                g->max_float = g->n_float ? fmax(all[i].max_float, g->max_float) : all[i].max_float;
                g->n_float++;
                g->sum_float += all[i].sum_float;
            }
        } else {
            all[out++] = all[i];
        }
    }
    *groups = out;
    return all;
}

static void assert_close(double got, double expected, const char *what, const char *key) {
    double scale = fmax(fabs(expected), 1.0);
    if (fabs(got - expected) > 1e-9 * scale)
        fail_msg("group %s: %s = %.17g, expected %.17g", key, what, got, expected);
}

static const char *const AGGS[] = {"count",       "count:v_int",  "sum:v_int",     "min:v_int",
                                   "max:v_int",   "mean:v_int",   "sum:v_float",   "min:v_float",
                                   "max:v_float", "mean:v_float", "count:v_float", NULL};

/* Compares an ember result table against the reference, group by group. */
static void check_table(const struct ember_table *table, const row *data, int64_t rows,
                        const int *key_columns, int key_count) {
    int64_t groups = 0;
    ref_group *ref = reference(data, rows, key_columns, key_count, &groups);
    if (ember_table_row_count(table) != groups)
        fail_msg("ember found %lld groups, the reference %lld",
                 (long long)ember_table_row_count(table), (long long)groups);
    assert_int_equal(ember_table_column_count(table), key_count + 11);
    char *seen = calloc((size_t)groups + 1, 1);
    for (int64_t g = 0; g < groups; g++) {
        /* Rebuild the key string from the table row. */
        row r = {0};
        for (int k = 0; k < key_count; k++) {
            bool null = ember_table_is_null(table, (size_t)k, g);
            switch (key_columns[k]) {
            case 0:
                r.k_int_null = null;
                r.k_int = ember_table_int64(table, (size_t)k, g);
                break;
            case 1: {
                size_t len = 0;
                const char *text = ember_table_string(table, (size_t)k, g, &len);
                r.k_str_null = null;
                snprintf(r.k_str, sizeof r.k_str, "%.*s", (int)len, text);
                break;
            }
            case 2:
                r.k_float = ember_table_float64(table, (size_t)k, g);
                break;
            }
        }
        ref_group probe;
        ref_key(&r, key_columns, key_count, probe.key, sizeof probe.key);
        ref_group *found = bsearch(&probe, ref, (size_t)groups, sizeof *ref, compare_groups);
        if (!found)
            fail_msg("ember group %s is not in the reference", probe.key);
        size_t index = (size_t)(found - ref);
        if (seen[index])
            fail_msg("group %s appears twice", probe.key);
        seen[index] = 1;
        size_t c = (size_t)key_count;
        assert_int_equal(ember_table_int64(table, c + 0, g), found->rows);
        assert_int_equal(ember_table_int64(table, c + 1, g), found->n_int);
        if (found->n_int == 0) {
            for (size_t a = 2; a <= 5; a++)
                assert_true(ember_table_is_null(table, c + a, g));
        } else {
            assert_true(ember_table_int64(table, c + 2, g) == (int64_t)found->sum_int);
            assert_int_equal(ember_table_int64(table, c + 3, g), found->min_int);
            assert_int_equal(ember_table_int64(table, c + 4, g), found->max_int);
            assert_close(ember_table_float64(table, c + 5, g),
                         (double)found->sum_int / (double)found->n_int, "mean_v_int", probe.key);
        }
        if (found->n_float == 0) {
            for (size_t a = 6; a <= 9; a++)
                assert_true(ember_table_is_null(table, c + a, g));
        } else {
            assert_close(ember_table_float64(table, c + 6, g), found->sum_float, "sum_v_float",
                         probe.key);
            assert_true(ember_table_float64(table, c + 7, g) == found->min_float);
            assert_true(ember_table_float64(table, c + 8, g) == found->max_float);
            assert_close(ember_table_float64(table, c + 9, g),
                         found->sum_float / (double)found->n_float, "mean_v_float", probe.key);
        }
        assert_int_equal(ember_table_int64(table, c + 10, g), found->n_float);
    }
    free(seen);
    free(ref);
}

/* One session for the whole group (opening one builds nothing, but finds the devices). */
#define session tu_shared_session

static const char *const KEY_NAMES[] = {"k_int", "k_str", "k_float"};

/* Runs one group-by over data written to a CSV and checks it; tuning may be NULL. */
static void run_case(const row *data, int64_t rows, const int *key_columns, int key_count,
                     int partitions, const ember_groupby_tuning *tuning) {
    if (!session)
        skip();
    char *path = write_rows(data, rows);
    ember_csv_options *options = ember_csv_options_create();
    ember_csv_options_set_schema(options, SCHEMA);
    ember_csv_options_set_partitions(options, partitions);
    ember_frame *frame = NULL, *grouped = NULL;
    assert_int_equal(ember_read_csv(session, path, options, &frame), EMBER_OK);
    const char *keys[EMBER_GROUP_BY_MAX_KEYS + 1] = {0};
    for (int k = 0; k < key_count; k++)
        keys[k] = KEY_NAMES[key_columns[k]];
    if (ember_group_by(frame, keys, AGGS, &grouped) != EMBER_OK)
        fail_msg("ember_group_by: %s", ember_session_error(session));
    struct ember_table *table = NULL;
    ember_status status;
    if (tuning) {
        struct ember_job *job = ember_job_create(session);
        status = ember_groupby_run(grouped, job, tuning, &table);
        ember_job_free(job);
    } else {
        status = ember_collect(grouped, &table);
    }
    if (status != EMBER_OK)
        fail_msg("group by: %s", ember_session_error(session));
    check_table(table, data, rows, key_columns, key_count);
    if (!tuning) {
        const ember_job *job = ember_session_last_job(session);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS), ember_table_row_count(table));
        assert_string_equal(ember_job_stage_name(job, 0), "scan");
        assert_string_equal(ember_job_stage_name(job, 1), "merge");
    }
    ember_table_free(table);
    ember_frame_free(grouped);
    ember_frame_free(frame);
    ember_csv_options_free(options);
    unlink(path);
    free(path);
}

static void test_shapes(void **state) {
    (void)state;
    const int int_key[] = {0}, str_key[] = {1}, two_keys[] = {1, 2}, three_keys[] = {2, 0, 1};
    const shape shapes[] = {UNIFORM, ZIPF, SINGLE};
    for (size_t s = 0; s < 3; s++) {
        row *data = generate(20000, shapes[s], true, false, 11 + s);
        run_case(data, 20000, int_key, 1, 4, NULL);
        run_case(data, 20000, str_key, 1, 3, NULL);
        run_case(data, 20000, two_keys, 2, 2, NULL);
        run_case(data, 20000, three_keys, 3, 5, NULL);
        free(data);
    }
}

static void test_all_distinct_million(void **state) {
    (void)state;
    const int int_key[] = {0};
    row *data = generate(1000000, DISTINCT, false, false, 5);
    run_case(data, 1000000, int_key, 1, 0, NULL);
    free(data);
}

static void test_partition_counts(void **state) {
    (void)state;
    const int str_key[] = {1};
    row *data = generate(3000, UNIFORM, true, true, 21);
    const int counts[] = {1, 2, 3, 7, 16, 64, 200};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        run_case(data, 3000, str_key, 1, counts[i], NULL);
    free(data);
}

static void test_tiny_inputs(void **state) {
    (void)state;
    const int keys[] = {0, 1};
    row *data = generate(1, UNIFORM, false, false, 3);
    run_case(data, 0, keys, 2, 1, NULL);
    run_case(data, 1, keys, 2, 1, NULL);
    free(data);
    /* Every key null, every value null. */
    data = generate(50, UNIFORM, false, false, 4);
    for (int i = 0; i < 50; i++) {
        data[i].k_int_null = data[i].k_str_null = true;
        data[i].v_int_null = data[i].v_float_null = true;
    }
    run_case(data, 50, keys, 2, 3, NULL);
    free(data);
}

static void test_collisions_and_paths(void **state) {
    (void)state;
    const int keys[] = {1, 0};
    row *data = generate(5000, UNIFORM, true, false, 8);
    ember_groupby_tuning narrow = {.hash_bits = 3};
    run_case(data, 5000, keys, 2, 3, &narrow);
    for (int path = 1; path <= 3; path++) {
        ember_groupby_tuning forced = {.force_path = path, .initial_slots = 4};
        run_case(data, 5000, keys, 2, 3, &forced);
    }
    free(data);
}

static void test_int64_sum_overflow_names_group(void **state) {
    (void)state;
    if (!session)
        skip();
    char *path = tu_tmp_path("overflow.csv");
    tu_write_text(path, "k,v\na,9223372036854775000\na,1000\nb,1\nb,9223372036854775000\n"
                        "c,-9223372036854775808\nc,0\n");
    ember_frame *frame = NULL, *grouped = NULL;
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    const char *keys[] = {"k", NULL};
    const char *sums[] = {"sum:v", NULL};
    assert_int_equal(ember_group_by(frame, keys, sums, &grouped), EMBER_OK);
    struct ember_table *table = NULL;
    assert_int_equal(ember_collect(grouped, &table), EMBER_ERROR_OVERFLOW);
    const char *message = ember_session_error(session);
    if (!strstr(message, "k=a") || !strstr(message, "'v'"))
        fail_msg("message does not name the group and column: %s", message);
    assert_null(table);
    ember_frame_free(grouped);
    ember_frame_free(frame);
    /* Near the limit but inside it: exact. */
    tu_write_text(path, "k,v\na,9223372036854775000\na,807\nb,-9223372036854775807\nb,-1\n");
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    assert_int_equal(ember_group_by(frame, keys, sums, &grouped), EMBER_OK);
    assert_int_equal(ember_collect(grouped, &table), EMBER_OK);
    assert_int_equal(ember_table_row_count(table), 2);
    for (int64_t r = 0; r < 2; r++) {
        size_t len;
        const char *k = ember_table_string(table, 0, r, &len);
        assert_int_equal(ember_table_int64(table, 1, r), *k == 'a' ? INT64_MAX : INT64_MIN);
    }
    ember_table_free(table);
    ember_frame_free(grouped);
    ember_frame_free(frame);
    unlink(path);
    free(path);
}

static void expect_plan_error(ember_frame *frame, const char *const *keys, const char *const *aggs,
                              ember_status expected, const char *needle) {
    ember_frame *grouped = NULL;
    assert_int_equal(ember_group_by(frame, keys, aggs, &grouped), expected);
    assert_null(grouped);
    const char *message = ember_session_error(session);
    if (!strstr(message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", message, needle);
}

static void test_plan_errors_and_names(void **state) {
    (void)state;
    if (!session)
        skip();
    char *path = tu_tmp_path("plan.csv");
    tu_write_text(path, "category,qty,price,name\nx,1,2.5,a\ny,2,3.5,b\nx,3,,c\n");
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    const char *cat[] = {"category", NULL};
    const char *none[] = {NULL};
    const char *five[] = {"category", "qty", "price", "name", "category", NULL};
    const char *bad_key[] = {"categroy", NULL};
    const char *unknown_col[] = {"sum:qtx", NULL};
    const char *string_sum[] = {"sum:name", NULL};
    const char *bad_fn[] = {"median:qty", NULL};
    const char *no_col[] = {"sum", NULL};
    const char *dup[] = {"count", "count", NULL};
    (void)none; /* no keys is a whole-frame aggregate (test_global_aggregates) */
    expect_plan_error(frame, five, NULL, EMBER_ERROR_INVALID_ARGUMENT, "0 to 4");
    expect_plan_error(frame, bad_key, NULL, EMBER_ERROR_SCHEMA,
                      "unknown column 'categroy' (columns: category, qty, price, name)");
    expect_plan_error(frame, cat, unknown_col, EMBER_ERROR_SCHEMA, "unknown column 'qtx'");
    expect_plan_error(frame, cat, string_sum, EMBER_ERROR_SCHEMA, "is a string");
    expect_plan_error(frame, cat, bad_fn, EMBER_ERROR_INVALID_ARGUMENT, "unknown function");
    expect_plan_error(frame, cat, no_col, EMBER_ERROR_INVALID_ARGUMENT, "needs a column");
    expect_plan_error(frame, cat, dup, EMBER_ERROR_INVALID_ARGUMENT, "named 'count'");

    /* Output names, renaming, and the default aggregate. */
    const char *aggs[] = {"count",    "count:price",        "sum:qty", "min:price", "max:price",
                          "mean:qty", "sum:price as total", NULL};
    ember_frame *grouped = NULL;
    assert_int_equal(ember_group_by(frame, cat, aggs, &grouped), EMBER_OK);
    const char *expected[] = {"category",  "count",     "count_price", "sum_qty",
                              "min_price", "max_price", "mean_qty",    "total"};
    assert_int_equal(ember_frame_column_count(grouped), 8);
    for (size_t i = 0; i < 8; i++)
        assert_string_equal(ember_frame_column_name(grouped, i), expected[i]);
    assert_int_equal(ember_frame_column_type(grouped, 6), EMBER_TYPE_FLOAT64);
    assert_int_equal(ember_frame_column_type(grouped, 3), EMBER_TYPE_INT64);
    int64_t groups = 0;
    assert_int_equal(ember_count(grouped, &groups), EMBER_OK);
    assert_int_equal(groups, 2);
    ember_frame_free(grouped);
    assert_int_equal(ember_group_by(frame, cat, NULL, &grouped), EMBER_OK);
    assert_int_equal(ember_frame_column_count(grouped), 2);
    assert_string_equal(ember_frame_column_name(grouped, 1), "count");
    ember_frame_free(grouped);
    ember_frame_free(frame);
    unlink(path);
    free(path);
}

/* Cached input, twice (the second round reads the cache). The uniform case has few enough
 * distinct strings per partition that the cache keeps their groups (ember_dictionary) and the
 * group-by takes its known-groups path; the Zipf case over small partitions may not. */
static void test_cached_input(void **state) {
    (void)state;
    if (!session)
        skip();
    const struct {
        shape kind;
        int64_t rows;
        int partitions;
    } cases[] = {{ZIPF, 10000, 4}, {UNIFORM, 40000, 2}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t rows = cases[i].rows;
        row *data = generate(rows, cases[i].kind, true, false, 77 + i);
        char *path = write_rows(data, rows);
        ember_csv_options *options = ember_csv_options_create();
        ember_csv_options_set_schema(options, SCHEMA);
        ember_csv_options_set_partitions(options, cases[i].partitions);
        ember_frame *frame = NULL, *grouped = NULL;
        assert_int_equal(ember_read_csv(session, path, options, &frame), EMBER_OK);
        ember_cache(frame);
        const char *keys[] = {"k_str", NULL};
        assert_int_equal(ember_group_by(frame, keys, AGGS, &grouped), EMBER_OK);
        const int str_key[] = {1};
        for (int round = 0; round < 2; round++) {
            struct ember_table *table = NULL;
            assert_int_equal(ember_collect(grouped, &table), EMBER_OK);
            check_table(table, data, rows, str_key, 1);
            const ember_job *job = ember_session_last_job(session);
            assert_int_equal(ember_job_metric_get(job, EMBER_JOB_PARTITIONS_CACHED),
                             round ? cases[i].partitions : 0);
            ember_table_free(table);
        }
        ember_frame_free(grouped);
        ember_frame_free(frame);
        ember_csv_options_free(options);
        unlink(path);
        free(path);
        free(data);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_errors_and_names),
        cmocka_unit_test(test_tiny_inputs),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_partition_counts),
        cmocka_unit_test(test_collisions_and_paths),
        cmocka_unit_test(test_int64_sum_overflow_names_group),
        cmocka_unit_test(test_cached_input),
        cmocka_unit_test(test_all_distinct_million),
    };
    return cmocka_run_group_tests(tests, tu_shared_session_open, tu_shared_session_close);
}
