/* test_groupby_device.c: ember_groupby_device against a plain-C reference (sort the rows by key,
 * fold each run), on every path (auto, global, work-group-local, host fallback): key types and
 * combinations, nulls, skew, hash collisions, table growth, overflow, and the merge phase. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/alloc.h"
#include "data/column_build.h"
#include "device/device.h"
#include "device/program.h"
#include "ops/groupby_device.h"

#define MAX_COLUMNS 12
#define MAX_AGGS    12

/* The worker the calls run on: tu_workers[0], or a copy that hides extensions from the code. */
static const ember_worker *worker;

/* A batch: key columns and value columns, all rows long. */
typedef struct table {
    int64_t rows;
    int key_count, column_count;
    ember_column keys[EMBER_GROUPBY_MAX_KEYS];
    ember_column columns[MAX_COLUMNS];
} table;

/* An aggregate over a value column (column -1: COUNT of rows). */
typedef struct agg_spec {
    ember_agg_op op;
    int column;
} agg_spec;

static void need_device(void) {
    if (tu_worker_count == 0)
        skip();
    worker = &tu_workers[0];
}

static uint64_t next_random(uint64_t *seed) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 17;
}

static double random_unit(uint64_t *seed) {
    return (double)(next_random(seed) >> 11) / (double)(1ull << 36);
}

static double bits_double(uint64_t bits) {
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_bits(double d) {
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

/* ---------------------------------------------------------------------------------------
 * Tables.
 * ------------------------------------------------------------------------------------- */

static void table_init(table *t, int key_count, const ember_type *key_types, int column_count,
                       const ember_type *column_types) {
    memset(t, 0, sizeof *t);
    t->key_count = key_count;
    t->column_count = column_count;
    for (int k = 0; k < key_count; k++)
        assert_true(ember_column_init(&t->keys[k], key_types[k], 64));
    for (int c = 0; c < column_count; c++)
        assert_true(ember_column_init(&t->columns[c], column_types[c], 64));
}

static void column_free(ember_column *column) {
    ember_free_aligned(column->validity);
    ember_free_aligned(column->values);
    ember_free_aligned(column->bytes);
    memset(column, 0, sizeof *column);
}

static void table_clear(table *t) {
    for (int k = 0; k < t->key_count; k++)
        column_free(&t->keys[k]);
    for (int c = 0; c < t->column_count; c++)
        column_free(&t->columns[c]);
}

static void append_int(ember_column *column, int64_t value) {
    assert_true(ember_column_append_int64(column, value));
}

static void append_float(ember_column *column, double value) {
    assert_true(ember_column_append_float64(column, value));
}

static void append_string(ember_column *column, const char *text, size_t len) {
    bool too_big = false;
    assert_true(ember_column_append_string(column, text, len, &too_big));
}

static void append_null(ember_column *column) {
    assert_true(ember_column_append_null(column));
}

/* Copies row of from onto the end of to (same type). */
static void append_copy(ember_column *to, const ember_column *from, int64_t row) {
    if (!ember_column_is_valid(from, row)) {
        append_null(to);
        return;
    }
    if (from->type == EMBER_TYPE_STRING) {
        int32_t len;
        const char *text = ember_column_string(from, row, &len);
        append_string(to, text, (size_t)len);
    } else if (from->type == EMBER_TYPE_INT64) {
        append_int(to, ((const int64_t *)from->values)[row]);
    } else {
        append_float(to, ((const double *)from->values)[row]);
    }
}

static void table_end_row(table *t) {
    t->rows++;
}

/* ---------------------------------------------------------------------------------------
 * Running the device.
 * ------------------------------------------------------------------------------------- */

typedef struct call_inputs {
    ember_device_column keys[EMBER_GROUPBY_MAX_KEYS];
    const ember_device_column *key_pointers[EMBER_GROUPBY_MAX_KEYS];
    ember_device_column values[MAX_AGGS], counts[MAX_AGGS];
    ember_agg_input aggs[MAX_AGGS];
} call_inputs;

/* Inputs for t with specs; counts (one int64 column per aggregate) makes it a merge. */
static void inputs_make(call_inputs *in, const table *t, const agg_spec *specs, int agg_count,
                        const ember_column *counts) {
    memset(in, 0, sizeof *in);
    for (int k = 0; k < t->key_count; k++) {
        in->keys[k].host = &t->keys[k];
        in->key_pointers[k] = &in->keys[k];
    }
    for (int a = 0; a < agg_count; a++) {
        in->aggs[a].op = specs[a].op;
        if (specs[a].column >= 0) {
            in->values[a].host = &t->columns[specs[a].column];
            in->aggs[a].values = &in->values[a];
            in->aggs[a].type = t->columns[specs[a].column].type;
        }
        if (counts) {
            in->counts[a].host = &counts[a];
            in->aggs[a].counts = &in->counts[a];
        }
    }
}

/* Radix bits every call gets where its tuning leaves them automatic (the radix tests set it, so
 * that the helpers' inner calls, such as check_merge's partials and merge, take that path). */
static int radix_bits_forced;

static ember_status run_groupby(const table *t, const agg_spec *specs, int agg_count,
                                const ember_column *counts, const ember_groupby_tuning *tuning,
                                ember_group_result *out, ember_error *err) {
    call_inputs in;
    inputs_make(&in, t, specs, agg_count, counts);
    ember_groupby_tuning forced = tuning ? *tuning : (ember_groupby_tuning){0};
    if (forced.radix_bits == 0)
        forced.radix_bits = radix_bits_forced;
    ember_error_clear(err);
    return ember_groupby_device(tu_programs, worker, worker->queues[0], in.key_pointers,
                                t->key_count, in.aggs, agg_count, t->rows,
                                tuning || radix_bits_forced ? &forced : NULL, out, err);
}

/* ---------------------------------------------------------------------------------------
 * The reference: rows sorted by key (nulls first, -0.0 == 0.0, NaNs equal and greatest,
 * strings by bytes then length), each run folded in plain C.
 * ------------------------------------------------------------------------------------- */

/* Total order used by MIN/MAX and the key sort: NaN above everything, -0.0 below 0.0. */
static int float_compare(double a, double b, bool zero_signs) {
    if (isnan(a) || isnan(b))
        return (isnan(a) != 0) - (isnan(b) != 0);
    if (a < b)
        return -1;
    if (a > b)
        return 1;
    if (!zero_signs)
        return 0;
    return (signbit(b) != 0) - (signbit(a) != 0);
}

static int value_compare(const ember_column *column, int64_t a, int64_t b) {
    bool va = ember_column_is_valid(column, a), vb = ember_column_is_valid(column, b);
    if (!va || !vb)
        return (int)va - (int)vb;
    if (column->type == EMBER_TYPE_INT64) {
        int64_t x = ((const int64_t *)column->values)[a], y = ((const int64_t *)column->values)[b];
        return (x > y) - (x < y);
    }
    if (column->type == EMBER_TYPE_FLOAT64)
        return float_compare(((const double *)column->values)[a],
                             ((const double *)column->values)[b], false);
    int32_t la, lb;
    const char *sa = ember_column_string(column, a, &la);
    const char *sb = ember_column_string(column, b, &lb);
    int c = memcmp(sa, sb, (size_t)(la < lb ? la : lb));
    return c ? c : (la > lb) - (la < lb);
}

static const table *sorting;

static int row_compare(const void *pa, const void *pb) {
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    for (int k = 0; k < sorting->key_count; k++) {
        int c = value_compare(&sorting->keys[k], a, b);
        if (c)
            return c;
    }
    return (a > b) - (a < b);
}

typedef struct ref_state {
    int64_t count;
    __int128 sum;
    long double float_sum;
    double abs_sum, best;
    int64_t best_int;
} ref_state;

typedef struct reference {
    int64_t groups;
    int64_t *group_of; /* per row */
    ref_state *states; /* groups x agg_count */
} reference;

static void reference_make(reference *ref, const table *t, const agg_spec *specs, int agg_count) {
    int64_t *order = malloc((size_t)(t->rows + 1) * sizeof *order);
    ref->group_of = malloc((size_t)(t->rows + 1) * sizeof *ref->group_of);
    assert_non_null(order);
    assert_non_null(ref->group_of);
    for (int64_t r = 0; r < t->rows; r++)
        order[r] = r;
    sorting = t;
    qsort(order, (size_t)t->rows, sizeof *order, row_compare);
    ref->groups = 0;
    for (int64_t i = 0; i < t->rows; i++) {
        bool same = i > 0;
        for (int k = 0; same && k < t->key_count; k++)
            same = value_compare(&t->keys[k], order[i - 1], order[i]) == 0;
        if (!same)
            ref->groups++;
        ref->group_of[order[i]] = ref->groups - 1;
    }
    free(order);
    ref->states = calloc((size_t)(ref->groups * agg_count + 1), sizeof *ref->states);
    assert_non_null(ref->states);
    for (int64_t g = 0; g < ref->groups; g++)
        for (int a = 0; a < agg_count; a++) {
            ref->states[g * agg_count + a].best_int =
                specs[a].op == EMBER_AGG_OP_MIN ? INT64_MAX : INT64_MIN;
            ref->states[g * agg_count + a].best = NAN;
        }
    for (int64_t r = 0; r < t->rows; r++) {
        for (int a = 0; a < agg_count; a++) {
            ref_state *s = &ref->states[ref->group_of[r] * agg_count + a];
            const ember_column *column = specs[a].column >= 0 ? &t->columns[specs[a].column] : NULL;
            if (column && !ember_column_is_valid(column, r))
                continue;
            bool first = s->count == 0;
            s->count++;
            if (!column || specs[a].op == EMBER_AGG_OP_COUNT)
                continue;
            if (column->type == EMBER_TYPE_INT64) {
                int64_t v = ((const int64_t *)column->values)[r];
                s->sum += v;
                if ((specs[a].op == EMBER_AGG_OP_MIN && v < s->best_int) ||
                    (specs[a].op == EMBER_AGG_OP_MAX && v > s->best_int))
                    s->best_int = v;
            } else {
                double v = ((const double *)column->values)[r];
                s->float_sum += v;
                s->abs_sum += fabs(v);
                int c = first ? 0 : float_compare(v, s->best, true);
                if (first || (specs[a].op == EMBER_AGG_OP_MIN && c < 0) ||
                    (specs[a].op == EMBER_AGG_OP_MAX && c > 0))
                    s->best = v;
            }
        }
    }
}

static void reference_clear(reference *ref) {
    free(ref->group_of);
    free(ref->states);
}

static bool sum_overflows(const ref_state *s) {
    return s->sum > INT64_MAX || s->sum < INT64_MIN;
}

/* Compares out with the reference. origin maps out's representative rows to rows of the
 * reference's table (NULL: the same table). */
static void check_against(const reference *ref, const table *t, const agg_spec *specs,
                          int agg_count, const ember_group_result *out, const int64_t *origin,
                          int64_t input_rows) {
    assert_int_equal(out->groups, ref->groups);
    bool *seen = calloc((size_t)ref->groups + 1, 1);
    assert_non_null(seen);
    int first_overflow_agg = -1;
    int64_t first_overflow_group = -1;
    for (int a = 0; a < agg_count && first_overflow_agg < 0; a++)
        for (int64_t g = 0; g < out->groups; g++) {
            int64_t row = origin ? origin[out->representative[g]] : out->representative[g];
            const ref_state *s = &ref->states[ref->group_of[row] * agg_count + a];
            if (specs[a].op == EMBER_AGG_OP_SUM && specs[a].column >= 0 &&
                t->columns[specs[a].column].type == EMBER_TYPE_INT64 && sum_overflows(s)) {
                first_overflow_agg = a;
                first_overflow_group = g;
                break;
            }
        }
    assert_int_equal(out->overflow, first_overflow_agg >= 0);
    if (out->overflow) {
        assert_int_equal(out->overflow_aggregate, first_overflow_agg);
        assert_int_equal(out->overflow_group, first_overflow_group);
    }
    for (int64_t g = 0; g < out->groups; g++) {
        int64_t rep = out->representative[g];
        assert_true(rep >= 0 && rep < input_rows);
        int64_t row = origin ? origin[rep] : rep;
        int64_t rg = ref->group_of[row];
        assert_false(seen[rg]);
        seen[rg] = true;
        for (int a = 0; a < agg_count; a++) {
            const ref_state *s = &ref->states[rg * agg_count + a];
            if (out->counts[a][g] != s->count)
                fail_msg("aggregate %d group %lld: count %lld, want %lld", a, (long long)g,
                         (long long)out->counts[a][g], (long long)s->count);
            if (specs[a].op == EMBER_AGG_OP_COUNT) {
                assert_null(out->values[a]);
                continue;
            }
            if (s->count == 0)
                continue;
            const ember_column *column = &t->columns[specs[a].column];
            if (column->type == EMBER_TYPE_INT64) {
                int64_t got = ((const int64_t *)out->values[a])[g];
                if (specs[a].op == EMBER_AGG_OP_SUM) {
                    if (!sum_overflows(s) && got != (int64_t)s->sum)
                        fail_msg("aggregate %d group %lld: sum %lld, want %lld", a, (long long)g,
                                 (long long)got, (long long)(int64_t)s->sum);
                } else if (got != s->best_int) {
                    fail_msg("aggregate %d group %lld: %lld, want %lld", a, (long long)g,
                             (long long)got, (long long)s->best_int);
                }
                continue;
            }
            double got = ((const double *)out->values[a])[g];
            if (specs[a].op == EMBER_AGG_OP_SUM) {
                double want = (double)s->float_sum;
                if (isnan(want) || isinf(want)) {
                    if (!(isnan(want) ? isnan(got) : got == want))
                        fail_msg("aggregate %d group %lld: sum %g, want %g", a, (long long)g, got,
                                 want);
                } else if (fabs(got - want) > 1e-9 * s->abs_sum + 1e-300) {
                    fail_msg("aggregate %d group %lld: sum %.17g, want %.17g", a, (long long)g, got,
                             want);
                }
            } else if (isnan(s->best) ? !isnan(got) : double_bits(got) != double_bits(s->best)) {
                fail_msg("aggregate %d group %lld: %g, want %g", a, (long long)g, got, s->best);
            }
        }
    }
    free(seen);
}

/* Runs t on one path and checks it. */
static void check_path(const table *t, const agg_spec *specs, int agg_count,
                       const ember_groupby_tuning *tuning) {
    ember_group_result out;
    ember_error err;
    ember_status status = run_groupby(t, specs, agg_count, NULL, tuning, &out, &err);
    if (status != EMBER_OK)
        fail_msg("ember_groupby_device: %s", err.message);
    reference ref;
    reference_make(&ref, t, specs, agg_count);
    check_against(&ref, t, specs, agg_count, &out, NULL, t->rows);
    reference_clear(&ref);
    ember_group_result_clear(&out, agg_count);
}

/* Every path: auto, global only, work-group-local first, the host fallback. */
static void check_paths(const table *t, const agg_spec *specs, int agg_count,
                        ember_groupby_tuning tuning) {
    for (int path = 0; path <= 3; path++) {
        tuning.force_path = path;
        check_path(t, specs, agg_count, &tuning);
    }
}

static void check_all(const table *t, const agg_spec *specs, int agg_count) {
    check_paths(t, specs, agg_count, (ember_groupby_tuning){0});
}

/* Every operation over the int64 column 0 and the float64 column 1, plus COUNT of rows. */
static const agg_spec every_op[] = {
    {EMBER_AGG_OP_COUNT, -1}, {EMBER_AGG_OP_COUNT, 0}, {EMBER_AGG_OP_SUM, 0},
    {EMBER_AGG_OP_MIN, 0},    {EMBER_AGG_OP_MAX, 0},   {EMBER_AGG_OP_COUNT, 1},
    {EMBER_AGG_OP_SUM, 1},    {EMBER_AGG_OP_MIN, 1},   {EMBER_AGG_OP_MAX, 1},
};
#define EVERY_OP_COUNT ((int)(sizeof every_op / sizeof every_op[0]))

static const ember_type value_types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64};

/* Values for the two columns of every_op: nulls now and then (every null_every rows). */
static void append_values(table *t, uint64_t *seed, int null_every) {
    uint64_t r = next_random(seed);
    if (null_every && r % (uint64_t)null_every == 0)
        append_null(&t->columns[0]);
    else
        append_int(&t->columns[0], (int64_t)(r % 2000001) - 1000000);
    r = next_random(seed);
    if (null_every && r % (uint64_t)null_every == 1)
        append_null(&t->columns[1]);
    else
        append_float(&t->columns[1], random_unit(seed) * 1000.0 - 100.0);
}

/* int64 keys: key_of(i) for rows rows. */
static void int_key_table(table *t, int64_t rows, int64_t (*key_of)(int64_t, uint64_t *),
                          uint64_t seed) {
    ember_type key_type = EMBER_TYPE_INT64;
    table_init(t, 1, &key_type, 2, value_types);
    for (int64_t i = 0; i < rows; i++) {
        append_int(&t->keys[0], key_of(i, &seed));
        append_values(t, &seed, 0);
        table_end_row(t);
    }
}

static int64_t uniform_key(int64_t i, uint64_t *seed) {
    return (int64_t)(next_random(seed) % 1000) * 7919 - 3000;
}

/* Zipf(1.1) over 1000 keys, drawn by inverting the CDF (as bench/gen.c does). */
static int64_t zipf_key(int64_t i, uint64_t *seed) {
    static double cdf[1000];
    if (cdf[999] == 0.0) {
        double total = 0.0;
        for (int k = 0; k < 1000; k++)
            total += 1.0 / pow(k + 1, 1.1);
        double run = 0.0;
        for (int k = 0; k < 1000; k++) {
            run += 1.0 / pow(k + 1, 1.1) / total;
            cdf[k] = run;
        }
        cdf[999] = 1.0;
    }
    double u = random_unit(seed);
    int low = 0, high = 999;
    while (low < high) {
        int mid = (low + high) / 2;
        if (u < cdf[mid])
            high = mid;
        else
            low = mid + 1;
    }
    return low;
}

static int64_t distinct_key(int64_t i, uint64_t *seed) {
    return i * 2654435761LL - 77;
}

static int64_t single_key(int64_t i, uint64_t *seed) {
    return 42;
}

/* ---------------------------------------------------------------------------------------
 * Tests.
 * ------------------------------------------------------------------------------------- */

static void test_uniform(void **state) {
    need_device();
    table t;
    int_key_table(&t, 20000, uniform_key, 1);
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

static void test_zipf(void **state) {
    need_device();
    table t;
    int_key_table(&t, 50000, zipf_key, 2);
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

static void test_single_key(void **state) {
    need_device();
    table t;
    int_key_table(&t, 30000, single_key, 3);
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

static void test_all_distinct(void **state) {
    need_device();
    table t;
    int_key_table(&t, 100000, distinct_key, 4);
    check_all(&t, every_op, EVERY_OP_COUNT);
    /* A hint far too small: the table must grow (and still lose nothing). */
    check_paths(&t, every_op, 3, (ember_groupby_tuning){.groups_hint = 10});
    table_clear(&t);
}

static void test_hash_collisions(void **state) {
    need_device();
    table t;
    int_key_table(&t, 5000, uniform_key, 5);
    for (int bits = 1; bits <= 3; bits++)
        check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.hash_bits = bits});
    table_clear(&t);
}

static void test_growth(void **state) {
    need_device();
    table t;
    int_key_table(&t, 8000, uniform_key, 6);
    check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.initial_slots = 4});
    check_paths(&t, every_op, 3, (ember_groupby_tuning){.initial_slots = 1});
    check_paths(&t, every_op, 3, (ember_groupby_tuning){.initial_slots = 1000, .hash_bits = 2});
    table_clear(&t);
}

/* Null keys form one group; a group whose values are all null has count 0 for them. */
static void test_nulls(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 7;
    for (int64_t i = 0; i < 6000; i++) {
        uint64_t r = next_random(&seed) % 60;
        if (r == 0)
            append_null(&t.keys[0]);
        else
            append_int(&t.keys[0], (int64_t)r);
        if (r == 59) { /* key 59: no value at all */
            append_null(&t.columns[0]);
            append_null(&t.columns[1]);
        } else {
            append_values(&t, &seed, 3);
        }
        table_end_row(&t);
    }
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);

    /* Every key null, every value null. */
    table_init(&t, 1, &key_type, 2, value_types);
    for (int i = 0; i < 100; i++) {
        append_null(&t.keys[0]);
        append_null(&t.columns[0]);
        append_null(&t.columns[1]);
        table_end_row(&t);
    }
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

static void test_empty_and_one_row(void **state) {
    need_device();
    table t;
    int_key_table(&t, 0, uniform_key, 8);
    for (int path = 0; path <= 3; path++) {
        ember_group_result out;
        ember_error err;
        ember_groupby_tuning tuning = {.force_path = path};
        assert_int_equal(run_groupby(&t, every_op, EVERY_OP_COUNT, NULL, &tuning, &out, &err),
                         EMBER_OK);
        assert_int_equal(out.groups, 0);
        assert_false(out.overflow);
        ember_group_result_clear(&out, EVERY_OP_COUNT);
        assert_null(out.representative);
    }
    table_clear(&t);
    int_key_table(&t, 1, uniform_key, 9);
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

/* Float keys: -0.0 == 0.0, all NaNs one key, infinities, nulls. */
static void test_float_keys(void **state) {
    need_device();
    static const uint64_t special[] = {
        0x0000000000000000ULL, 0x8000000000000000ULL, /* 0.0, -0.0 */
        0x7ff8000000000000ULL, 0x7ff0000000000001ULL, /* NaNs: quiet, signalling */
        0xfff8000000000000ULL, 0x7fffffffffffffffULL, /* negative NaN, all-ones NaN */
        0x7ff0000000000000ULL, 0xfff0000000000000ULL, /* +inf, -inf */
        0x3ff8000000000000ULL, 0x0000000000000001ULL, /* 1.5, the least subnormal */
    };
    ember_type key_type = EMBER_TYPE_FLOAT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 10;
    for (int64_t i = 0; i < 5000; i++) {
        uint64_t r = next_random(&seed) % 14;
        if (r == 13)
            append_null(&t.keys[0]);
        else if (r >= 10)
            append_float(&t.keys[0], (double)r * 0.25);
        else
            append_float(&t.keys[0], bits_double(special[r]));
        append_values(&t, &seed, 5);
        table_end_row(&t);
    }
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

/* Float values with NaN, infinities and signed zeros: MIN/MAX order NaN above everything and
 * -0.0 below 0.0; SUM propagates NaN and infinities. */
static void test_float_special_values(void **state) {
    need_device();
    static const uint64_t special[] = {0x8000000000000000ULL, 0x0000000000000000ULL,
                                       0x7ff8000000000000ULL, 0xfff8000000000001ULL,
                                       0x7ff0000000000000ULL, 0xfff0000000000000ULL};
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 11;
    for (int64_t i = 0; i < 3000; i++) {
        int64_t key = (int64_t)(next_random(&seed) % 40);
        append_int(&t.keys[0], key);
        append_int(&t.columns[0], (int64_t)(next_random(&seed) % 100));
        /* Keys 0-9 only see zeros; 10-19 also NaN; 20-29 infinities; the rest numbers. */
        uint64_t r = next_random(&seed);
        if (key < 10)
            append_float(&t.columns[1], bits_double(special[r % 2]));
        else if (key < 20)
            append_float(&t.columns[1], r % 5 ? (double)(r % 7) : bits_double(special[2 + r % 2]));
        else if (key < 30)
            append_float(&t.columns[1], bits_double(special[4 + r % 2]));
        else
            append_float(&t.columns[1], (double)(r % 1000) / 8.0);
        table_end_row(&t);
    }
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

static const char *const words[] = {"", "a", "b", "ab", "ba", "abc", "EU", "US", "APAC", "x y"};

/* Long strings that differ only in their last byte. */
static void append_long_string(ember_column *column, int variant) {
    char text[301];
    memset(text, 'q', sizeof text);
    text[299] = (char)('0' + variant);
    append_string(column, text, 300);
}

static void test_string_keys(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_STRING;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 12;
    for (int64_t i = 0; i < 6000; i++) {
        uint64_t r = next_random(&seed) % 16;
        if (r == 15)
            append_null(&t.keys[0]);
        else if (r >= 10)
            append_long_string(&t.keys[0], (int)(r - 10));
        else
            append_string(&t.keys[0], words[r], strlen(words[r]));
        append_values(&t, &seed, 7);
        table_end_row(&t);
    }
    check_all(&t, every_op, EVERY_OP_COUNT);
    check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.hash_bits = 2});
    table_clear(&t);
}

/* 2, 3 and 4 keys of mixed types, with nulls in each. */
static void test_multi_keys(void **state) {
    need_device();
    static const ember_type key_types[] = {EMBER_TYPE_STRING, EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64,
                                           EMBER_TYPE_INT64};
    for (int key_count = 2; key_count <= 4; key_count++) {
        table t;
        table_init(&t, key_count, key_types, 2, value_types);
        uint64_t seed = 13 + (uint64_t)key_count;
        for (int64_t i = 0; i < 8000; i++) {
            uint64_t r = next_random(&seed);
            if (r % 23 == 0)
                append_null(&t.keys[0]);
            else
                append_string(&t.keys[0], words[r % 4], strlen(words[r % 4]));
            r = next_random(&seed);
            if (r % 29 == 0)
                append_null(&t.keys[1]);
            else
                append_int(&t.keys[1], (int64_t)(r % 5));
            if (key_count > 2) {
                r = next_random(&seed);
                if (r % 31 == 0)
                    append_null(&t.keys[2]);
                else
                    append_float(&t.keys[2], r % 2 ? -0.0 : (double)(r % 3));
            }
            if (key_count > 3)
                append_int(&t.keys[3], (int64_t)(next_random(&seed) % 3));
            append_values(&t, &seed, 11);
            table_end_row(&t);
        }
        check_all(&t, every_op, EVERY_OP_COUNT);
        check_paths(&t, every_op, 3, (ember_groupby_tuning){.hash_bits = 3});
        table_clear(&t);
    }
}

/* Swapped values across two keys must not collide into one group. */
static void test_swapped_keys(void **state) {
    need_device();
    static const ember_type key_types[] = {EMBER_TYPE_INT64, EMBER_TYPE_INT64};
    table t;
    table_init(&t, 2, key_types, 2, value_types);
    uint64_t seed = 17;
    for (int64_t a = 0; a < 40; a++)
        for (int64_t b = 0; b < 40; b++) {
            append_int(&t.keys[0], a);
            append_int(&t.keys[1], b);
            append_values(&t, &seed, 0);
            table_end_row(&t);
        }
    check_all(&t, every_op, EVERY_OP_COUNT);
    table_clear(&t);
}

/* int64 SUM: exact 128-bit totals; overflow reported for the first (aggregate, group) that
 * leaves the int64 range, and near-limit totals (even with intermediate overflow) exact. */
static void test_sum_overflow(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    for (int rep = 0; rep < 50; rep++) {
        /* key 1: INT64_MAX - 5 through intermediate overflow; key 2: INT64_MIN exactly. */
        int64_t key1[] = {INT64_MAX, 5, -10}, key2[] = {INT64_MIN + 1, -1, 1, -1};
        for (int i = 0; i < 3; i++) {
            append_int(&t.keys[0], 1);
            append_int(&t.columns[0], rep == 0 ? key1[i] : 0);
            append_float(&t.columns[1], 1.0);
            table_end_row(&t);
        }
        for (int i = 0; i < 4; i++) {
            append_int(&t.keys[0], 2);
            append_int(&t.columns[0], rep == 0 ? key2[i] : 0);
            append_float(&t.columns[1], 1.0);
            table_end_row(&t);
        }
        /* key 3 sums far past INT64_MAX; key 4 far below INT64_MIN and back (exact). */
        append_int(&t.keys[0], 3);
        append_int(&t.columns[0], INT64_MAX / 3);
        append_float(&t.columns[1], 1.0);
        table_end_row(&t);
        append_int(&t.keys[0], 4);
        append_int(&t.columns[0], rep < 25 ? INT64_MIN : INT64_MAX);
        append_float(&t.columns[1], 1.0);
        table_end_row(&t);
    }
    /* key 4: 25 * INT64_MIN + 25 * INT64_MAX = -25. */
    static const agg_spec sums[] = {{EMBER_AGG_OP_COUNT, -1},
                                    {EMBER_AGG_OP_SUM, 0},
                                    {EMBER_AGG_OP_MIN, 0},
                                    {EMBER_AGG_OP_MAX, 0}};
    check_all(&t, sums, 4);
    ember_group_result out;
    ember_error err;
    assert_int_equal(run_groupby(&t, sums, 4, NULL, NULL, &out, &err), EMBER_OK);
    assert_true(out.overflow);
    assert_int_equal(out.overflow_aggregate, 1);
    ember_group_result_clear(&out, 4);
    table_clear(&t);
}

/* The merge phase: partial states of 3 chunks, concatenated, merged, compared with the
 * reference over all rows. Groups whose values were all null carry count 0 and a junk value
 * that must be ignored. */
static void check_merge(const table *t, const agg_spec *specs, int agg_count, int path) {
    ember_type key_types[EMBER_GROUPBY_MAX_KEYS] = {EMBER_TYPE_INT64};
    for (int k = 0; k < t->key_count; k++)
        key_types[k] = t->keys[k].type;
    ember_type merged_types[MAX_AGGS] = {EMBER_TYPE_INT64};
    agg_spec merged_specs[MAX_AGGS];
    for (int a = 0; a < agg_count; a++) {
        merged_types[a] =
            specs[a].column >= 0 ? t->columns[specs[a].column].type : EMBER_TYPE_INT64;
        merged_specs[a].op = specs[a].op;
        merged_specs[a].column = specs[a].op == EMBER_AGG_OP_COUNT ? -1 : a;
    }
    ember_type column_types[MAX_COLUMNS];
    for (int c = 0; c < t->column_count; c++)
        column_types[c] = t->columns[c].type;
    table merged;
    table_init(&merged, t->key_count, key_types, agg_count, merged_types);
    ember_column counts[MAX_AGGS];
    for (int a = 0; a < agg_count; a++)
        assert_true(ember_column_init(&counts[a], EMBER_TYPE_INT64, 64));
    int64_t *origin = malloc((size_t)(t->rows + 1) * sizeof *origin);
    assert_non_null(origin);

    int64_t bounds[4] = {0, t->rows / 5, t->rows / 2, t->rows};
    ember_groupby_tuning tuning = {.force_path = path};
    for (int c = 0; c < 3; c++) {
        table chunk;
        table_init(&chunk, t->key_count, key_types, t->column_count, column_types);
        for (int64_t r = bounds[c]; r < bounds[c + 1]; r++) {
            for (int k = 0; k < t->key_count; k++)
                append_copy(&chunk.keys[k], &t->keys[k], r);
            for (int col = 0; col < t->column_count; col++)
                append_copy(&chunk.columns[col], &t->columns[col], r);
            table_end_row(&chunk);
        }
        ember_group_result out;
        ember_error err;
        if (run_groupby(&chunk, specs, agg_count, NULL, &tuning, &out, &err) != EMBER_OK)
            fail_msg("partial: %s", err.message);
        for (int64_t g = 0; g < out.groups; g++) {
            int64_t rep = out.representative[g];
            origin[merged.rows] = bounds[c] + rep;
            for (int k = 0; k < t->key_count; k++)
                append_copy(&merged.keys[k], &chunk.keys[k], rep);
            for (int a = 0; a < agg_count; a++) {
                append_int(&counts[a], out.counts[a][g]);
                if (specs[a].op == EMBER_AGG_OP_COUNT)
                    append_int(&merged.columns[a], 0);
                else if (out.counts[a][g] == 0)
                    append_int(&merged.columns[a], 0x7ff4000000000123LL); /* junk */
                else
                    append_int(&merged.columns[a], ((const int64_t *)out.values[a])[g]);
            }
            table_end_row(&merged);
        }
        ember_group_result_clear(&out, agg_count);
        table_clear(&chunk);
    }
    ember_group_result out;
    ember_error err;
    /* The partial values went in as bit patterns (append_int), whatever the column type. */
    if (run_groupby(&merged, merged_specs, agg_count, counts, &tuning, &out, &err) != EMBER_OK)
        fail_msg("merge: %s", err.message);
    reference ref;
    reference_make(&ref, t, specs, agg_count);
    check_against(&ref, t, specs, agg_count, &out, origin, merged.rows);
    reference_clear(&ref);
    ember_group_result_clear(&out, agg_count);
    free(origin);
    for (int a = 0; a < agg_count; a++)
        column_free(&counts[a]);
    table_clear(&merged);
}

static void test_merge(void **state) {
    need_device();
    static const ember_type key_types[] = {EMBER_TYPE_STRING, EMBER_TYPE_FLOAT64};
    table t;
    table_init(&t, 2, key_types, 2, value_types);
    uint64_t seed = 19;
    for (int64_t i = 0; i < 9000; i++) {
        uint64_t r = next_random(&seed);
        if (r % 17 == 0)
            append_null(&t.keys[0]);
        else
            append_string(&t.keys[0], words[r % 10], strlen(words[r % 10]));
        r = next_random(&seed) % 12;
        append_float(&t.keys[1], r == 0 ? -0.0 : r == 1 ? NAN : (double)(r % 4));
        append_values(&t, &seed, 4);
        table_end_row(&t);
    }
    for (int path = 0; path <= 3; path++)
        check_merge(&t, every_op, EVERY_OP_COUNT, path);
    table_clear(&t);

    int_key_table(&t, 30000, zipf_key, 20);
    for (int path = 0; path <= 3; path++)
        check_merge(&t, every_op, EVERY_OP_COUNT, path);
    table_clear(&t);
}

/* The values of one group are all null in one chunk only, so a count-0 state with a junk
 * value meets real states in the merge. */
static void test_merge_null_group(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 21;
    for (int64_t i = 0; i < 3000; i++) {
        int64_t key = (int64_t)(next_random(&seed) % 8);
        append_int(&t.keys[0], key);
        if (key == 0 || (key == 1 && i < 1500)) {
            append_null(&t.columns[0]);
            append_null(&t.columns[1]);
        } else {
            append_values(&t, &seed, 0);
        }
        table_end_row(&t);
    }
    for (int path = 0; path <= 3; path++)
        check_merge(&t, every_op, EVERY_OP_COUNT, path);
    table_clear(&t);
}

/* Random shapes: key types and counts, cardinalities, null rates and knobs, each checked
 * against the reference (a fixed seed, so a failure reproduces). */
static void test_randomized(void **state) {
    need_device();
    static const ember_type types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_STRING};
    uint64_t seed = 26;
    for (int round = 0; round < 40; round++) {
        ember_type key_types[EMBER_GROUPBY_MAX_KEYS];
        int key_count = 1 + (int)(next_random(&seed) % EMBER_GROUPBY_MAX_KEYS);
        for (int k = 0; k < key_count; k++)
            key_types[k] = types[next_random(&seed) % 3];
        table t;
        table_init(&t, key_count, key_types, 2, value_types);
        int64_t rows = (int64_t)(next_random(&seed) % 3000);
        uint64_t cardinality = 1 + next_random(&seed) % 400;
        int null_every = (int)(next_random(&seed) % 8);
        for (int64_t i = 0; i < rows; i++) {
            for (int k = 0; k < key_count; k++) {
                uint64_t v = next_random(&seed) % cardinality;
                if (null_every && v % (uint64_t)(null_every + 5) == 0) {
                    append_null(&t.keys[k]);
                } else if (key_types[k] == EMBER_TYPE_INT64) {
                    append_int(&t.keys[k], (int64_t)v - 100);
                } else if (key_types[k] == EMBER_TYPE_FLOAT64) {
                    append_float(&t.keys[k], v % 7 == 0 ? -0.0 : (double)v / 4.0);
                } else {
                    char text[32];
                    int len = snprintf(text, sizeof text, "k%llu", (unsigned long long)v);
                    append_string(&t.keys[k], text, (size_t)len);
                }
            }
            append_values(&t, &seed, null_every);
            table_end_row(&t);
        }
        static const int hash_bits[] = {0, 0, 2, 5};
        static const int64_t slots[] = {0, 0, 1, 16};
        static const int64_t hints[] = {0, 5, 0, 10000};
        ember_groupby_tuning tuning = {
            .force_path = (int)(next_random(&seed) % 4),
            .hash_bits = hash_bits[next_random(&seed) % 4],
            .initial_slots = slots[next_random(&seed) % 4],
            .groups_hint = hints[next_random(&seed) % 4],
        };
        check_path(&t, every_op, EVERY_OP_COUNT, &tuning);
        table_clear(&t);
    }
}

static void test_invalid_arguments(void **state) {
    need_device();
    table t;
    int_key_table(&t, 10, uniform_key, 22);
    call_inputs in;
    inputs_make(&in, &t, every_op, EVERY_OP_COUNT, NULL);
    ember_group_result out;
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(ember_groupby_device(tu_programs, worker, worker->queues[0], in.key_pointers,
                                          0, in.aggs, 1, t.rows, NULL, &out, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    ember_error_clear(&err);
    assert_int_equal(ember_groupby_device(tu_programs, worker, worker->queues[0], in.key_pointers,
                                          1, in.aggs, 1, t.rows + 1, NULL, &out, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "rows"));
    ember_error_clear(&err);
    in.aggs[2].type = EMBER_TYPE_STRING;
    assert_int_equal(ember_groupby_device(tu_programs, worker, worker->queues[0], in.key_pointers,
                                          1, in.aggs, 3, t.rows, NULL, &out, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    table_clear(&t);
}

/* Every allocation of the call failing in turn: an error comes back, nothing leaks (ASan). */
static void test_allocation_failures(void **state) {
    need_device();
    table t;
    int_key_table(&t, 500, uniform_key, 23);
    ember_group_result out;
    ember_error err;
    ember_groupby_tuning tuning = {.initial_slots = 4};
    /* Warm the program cache first, so the countdown reaches the group-by's own code. */
    assert_int_equal(run_groupby(&t, every_op, EVERY_OP_COUNT, NULL, &tuning, &out, &err),
                     EMBER_OK);
    ember_group_result_clear(&out, EVERY_OP_COUNT);
    for (int path = 0; path <= 3; path += 3) {
        tuning.force_path = path;
        bool succeeded = false;
        for (long n = 1; n < 400 && !succeeded; n++) {
            ember_alloc_fail_after(n);
            ember_status status =
                run_groupby(&t, every_op, EVERY_OP_COUNT, NULL, &tuning, &out, &err);
            ember_alloc_fail_after(0);
            if (status == EMBER_OK) {
                succeeded = true;
                ember_group_result_clear(&out, EVERY_OP_COUNT);
            } else {
                assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
                assert_int_equal(out.groups, 0);
                assert_null(out.counts);
            }
        }
        assert_true(succeeded);
    }
    table_clear(&t);
}

/* Devices without 64-bit atomics or fp64 (the worker's description says so, the device
 * itself is the same): their program variants build, and the fallback (all aggregates, or
 * float SUM only) gives the same answers. */
static void test_devices_without_extensions(void **state) {
    need_device();
    table uniform, strings;
    int_key_table(&uniform, 5000, uniform_key, 24);
    ember_type key_type = EMBER_TYPE_STRING;
    table_init(&strings, 1, &key_type, 2, value_types);
    uint64_t seed = 25;
    for (int64_t i = 0; i < 3000; i++) {
        uint64_t r = next_random(&seed) % 11;
        if (r == 10)
            append_null(&strings.keys[0]);
        else
            append_string(&strings.keys[0], words[r], strlen(words[r]));
        append_values(&strings, &seed, 6);
        table_end_row(&strings);
    }
    for (int variant = 0; variant < 3; variant++) {
        ember_worker hidden = tu_workers[0];
        hidden.info.int64_atomics = variant == 1;
        hidden.info.fp64 = variant == 2;
        worker = &hidden;
        check_all(&uniform, every_op, EVERY_OP_COUNT);
        check_all(&strings, every_op, EVERY_OP_COUNT);
        check_merge(&uniform, every_op, EVERY_OP_COUNT, 0);
        worker = &tu_workers[0];
    }
    table_clear(&uniform);
    table_clear(&strings);
}

/* ---------------------------------------------------------------------------------------
 * One int64 or float64 key: the exact table (groupby_insert_exact) knows keys by their full
 * hash, and counts rows in the table when every aggregate is a row count. These tests build
 * keys from chosen hashes with the inverse of the kernel's hash (white-box: if the hash
 * changes they still pass, but stop aiming at its corners).
 * ------------------------------------------------------------------------------------- */

#define KERNEL_NULL_TAG  0x6a09e667f3bcc909ULL /* groupby.cl's NULL_TAG and HASH_SEED */
#define KERNEL_HASH_SEED 0x243f6a8885a308d3ULL

/* The inverse of an odd number modulo 2^64 (Newton's iteration doubles the good bits). */
static uint64_t odd_inverse(uint64_t x) {
    uint64_t inverse = x;
    for (int i = 0; i < 6; i++)
        inverse *= 2 - x * inverse;
    return inverse;
}

/* The int64 key whose row hash (mix64(HASH_SEED ^ key), murmur3's fmix64) is hash. */
static int64_t key_with_hash(uint64_t hash) {
    uint64_t x = hash;
    x ^= x >> 33;
    x *= odd_inverse(0xc4ceb9fe1a85ec53ULL);
    x ^= x >> 33;
    x *= odd_inverse(0xff51afd7ed558ccdULL);
    x ^= x >> 33;
    uint64_t check = x; /* forward again: the key must hash to hash */
    check ^= check >> 33;
    check *= 0xff51afd7ed558ccdULL;
    check ^= check >> 33;
    check *= 0xc4ceb9fe1a85ec53ULL;
    check ^= check >> 33;
    assert_true(check == hash);
    return (int64_t)(x ^ KERNEL_HASH_SEED);
}

static const agg_spec count_rows_only[] = {{EMBER_AGG_OP_COUNT, -1}};
/* Row counts only, COUNT(x) of a column without nulls among them: still counted in the table. */
static const agg_spec counts_only[] = {{EMBER_AGG_OP_COUNT, -1}, {EMBER_AGG_OP_COUNT, 2}};

/* Many groups of int64 keys, negative ones and the extremes among them, every row counted. */
static void test_exact_many_groups(void **state) {
    need_device();
    static const ember_type types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_INT64};
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 3, types);
    uint64_t seed = 31;
    for (int64_t i = 0; i < 120000; i++) {
        uint64_t r = next_random(&seed);
        int64_t key = (int64_t)(r % 70000) - 35000;
        if (r % 97 == 0)
            key = INT64_MIN + (int64_t)(r % 3);
        else if (r % 89 == 0)
            key = INT64_MAX - (int64_t)(r % 3);
        else if (r % 83 == 0)
            key = key * 1000003 * 131071; /* far apart, wrapping */
        append_int(&t.keys[0], key);
        append_values(&t, &seed, 0);
        append_int(&t.columns[2], (int64_t)r);
        table_end_row(&t);
    }
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){0});
    check_path(&t, counts_only, 2, &(ember_groupby_tuning){0});
    check_path(&t, counts_only, 2, &(ember_groupby_tuning){.groups_hint = 3});
    check_path(&t, counts_only, 2, &(ember_groupby_tuning){.groups_hint = 1000000});
    check_all(&t, every_op, EVERY_OP_COUNT);
    /* Without 64-bit atomics: counted in the table (32-bit), or by the host fallback. */
    ember_worker hidden = tu_workers[0];
    hidden.info.int64_atomics = false;
    worker = &hidden;
    check_path(&t, counts_only, 2, &(ember_groupby_tuning){.groups_hint = 1000000});
    check_path(&t, counts_only, 2, &(ember_groupby_tuning){0});
    worker = &tu_workers[0];
    table_clear(&t);
}

/* Keys whose hashes share their low half (the same home slot at every capacity), share their
 * high half, have a zero half (never seen as written, so compared by rows), or are 0 (the
 * key that hashes to 0); the key equal to the null's tag beside null keys (equal hashes, two
 * groups). With and without nulls, counted in the table, aggregated, regrown from tiny tables. */
static void test_exact_colliding_keys(void **state) {
    need_device();
    int64_t keys[48];
    int n = 0;
    for (uint64_t i = 1; i <= 12; i++)
        keys[n++] = key_with_hash(0x9e3779b900000000ULL * i | 0x12345678ULL); /* low halves */
    for (uint64_t i = 1; i <= 12; i++)
        keys[n++] = key_with_hash(0xabcdef0100000000ULL | (i * 0x01000193ULL)); /* high halves */
    for (uint64_t i = 1; i <= 6; i++) {
        keys[n++] = key_with_hash(i << 40);    /* low half 0 */
        keys[n++] = key_with_hash(i * 0x777u); /* high half 0 */
    }
    keys[n++] = key_with_hash(0);
    keys[n++] = (int64_t)KERNEL_NULL_TAG;
    keys[n++] = INT64_MIN;
    keys[n++] = INT64_MAX;
    keys[n++] = -1;
    keys[n++] = 0;
    assert_true(n <= (int)(sizeof keys / sizeof keys[0]));
    static const ember_type types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_INT64};
    for (int with_nulls = 0; with_nulls <= 1; with_nulls++) {
        ember_type key_type = EMBER_TYPE_INT64;
        table t;
        table_init(&t, 1, &key_type, 3, types);
        uint64_t seed = 32 + (uint64_t)with_nulls;
        for (int64_t i = 0; i < 20000; i++) {
            uint64_t r = next_random(&seed);
            if (with_nulls && r % 11 == 0)
                append_null(&t.keys[0]);
            else
                append_int(&t.keys[0], keys[r % (uint64_t)n]);
            append_values(&t, &seed, 0);
            append_int(&t.columns[2], (int64_t)r);
            table_end_row(&t);
        }
        check_path(&t, counts_only, 2, &(ember_groupby_tuning){0});
        check_path(&t, counts_only, 2, &(ember_groupby_tuning){.initial_slots = 1});
        check_all(&t, every_op, EVERY_OP_COUNT);
        check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.initial_slots = 1});
        for (int path = 0; path <= 3; path++)
            check_merge(&t, count_rows_only, 1, path);
        table_clear(&t);
    }
}

/* A full exact table (hints far too small, a tiny first table) grows and loses nothing, for
 * row counts taken in the table as for the other aggregates, also where every row is its own
 * group. */
static void test_exact_regrow(void **state) {
    need_device();
    table t;
    int_key_table(&t, 60000, distinct_key, 33);
    static const ember_groupby_tuning tunings[] = {
        {.initial_slots = 1}, {.initial_slots = 100}, {.groups_hint = 1}, {.groups_hint = 30000}};
    for (size_t i = 0; i < sizeof tunings / sizeof tunings[0]; i++) {
        check_path(&t, count_rows_only, 1, &tunings[i]);
        check_path(&t, every_op, EVERY_OP_COUNT, &tunings[i]);
    }
    table_clear(&t);
}

/* Float keys by the exact table: -0.0 and 0.0 one group, every NaN one group, counted in the
 * table and merged. */
static void test_exact_float_keys_counted(void **state) {
    need_device();
    static const uint64_t special[] = {0x0000000000000000ULL, 0x8000000000000000ULL,
                                       0x7ff8000000000000ULL, 0x7ff0000000000001ULL,
                                       0xfff8000000000000ULL, 0x7ff0000000000000ULL};
    ember_type key_type = EMBER_TYPE_FLOAT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 34;
    for (int64_t i = 0; i < 8000; i++) {
        uint64_t r = next_random(&seed) % 400;
        if (r < 6)
            append_float(&t.keys[0], bits_double(special[r]));
        else if (r == 6)
            append_null(&t.keys[0]);
        else
            append_float(&t.keys[0], (double)r * -0.5);
        append_values(&t, &seed, 0);
        table_end_row(&t);
    }
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){0});
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.initial_slots = 1});
    check_merge(&t, count_rows_only, 1, 0);
    table_clear(&t);
}

/* ---------------------------------------------------------------------------------------
 * Radix-partitioned exact inserts (groupby_radix_count / _scatter / groupby_insert_slices).
 * ------------------------------------------------------------------------------------- */

/* The int64 key whose hash has a low half with top bits prefix (of prefix_bits) and the rest
 * from r: every such key falls into one radix bucket for any radix bits up to prefix_bits. */
static int64_t key_in_bucket(uint64_t r, uint32_t prefix, int prefix_bits) {
    uint32_t low = (uint32_t)(prefix << (32 - prefix_bits)) | ((uint32_t)r >> prefix_bits);
    return key_with_hash((r & 0xffffffff00000000ULL) | low | (low == 0 ? 1u : 0u));
}

static const int radix_choices[] = {1, 2, 5, 12};

/* Many groups spread over every bucket, with every aggregate and path, regrown from a table
 * far too small and from hints far too small, and merged; on a device without 64-bit atomics
 * too (row counts in the table, the rest by the host). */
static void test_radix_many_groups(void **state) {
    need_device();
    table t;
    int_key_table(&t, 50000, distinct_key, 41);
    for (int64_t i = 0; i < 30000; i++) { /* and keys seen many times */
        uint64_t seed = (uint64_t)i;
        append_int(&t.keys[0], (int64_t)(next_random(&seed) % 20000) - 10000);
        append_values(&t, &seed, 0);
        table_end_row(&t);
    }
    for (size_t c = 0; c < sizeof radix_choices / sizeof radix_choices[0]; c++) {
        radix_bits_forced = radix_choices[c];
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 60000});
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){0});
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.initial_slots = 1});
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 10});
        check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.groups_hint = 60000});
        check_paths(&t, every_op, 3, (ember_groupby_tuning){.initial_slots = 100});
        check_merge(&t, count_rows_only, 1, 0);
        check_merge(&t, every_op, EVERY_OP_COUNT, 0);
    }
    ember_worker hidden = tu_workers[0];
    hidden.info.int64_atomics = false;
    worker = &hidden;
    radix_bits_forced = 5;
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 60000});
    check_path(&t, every_op, EVERY_OP_COUNT, &(ember_groupby_tuning){.initial_slots = 1});
    worker = &tu_workers[0];
    radix_bits_forced = 0;
    table_clear(&t);
}

/* Skew: every row in one bucket (thousands of groups in one slice: it fills, the table grows
 * until a slice per bucket's rows holds them), one key in half the rows, and buckets left
 * empty: a few keys, or one row, spread over 4096 buckets. */
static void test_radix_skew_and_empty_buckets(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 42;
    for (int64_t i = 0; i < 40000; i++) {
        uint64_t r = next_random(&seed) * 0x9e3779b97f4a7c15ULL;
        append_int(&t.keys[0],
                   i % 2 ? 7 : key_in_bucket(r % 6000 * 0x2545f4914f6cdd1dULL, 0xa5b, 12));
        append_values(&t, &seed, 0);
        table_end_row(&t);
    }
    for (size_t c = 0; c < sizeof radix_choices / sizeof radix_choices[0]; c++) {
        radix_bits_forced = radix_choices[c];
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 6000});
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.initial_slots = 1});
        check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.groups_hint = 6000});
    }
    table_clear(&t);

    table few;
    int_key_table(&few, 5000, uniform_key, 43); /* 1000 keys */
    table one;
    int_key_table(&one, 1, distinct_key, 44);
    radix_bits_forced = 12;
    check_path(&few, count_rows_only, 1, &(ember_groupby_tuning){0});
    check_paths(&few, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.groups_hint = 100000});
    check_paths(&one, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){0});
    check_path(&one, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 100000});
    radix_bits_forced = 0;
    table_clear(&few);
    table_clear(&one);
}

/* Null keys beside the key equal to the null's tag (the one pair with equal hashes) and keys
 * whose hash halves collide or are zero; float keys (-0.0 is 0.0, every NaN one group). */
static void test_radix_nulls_and_floats(void **state) {
    need_device();
    ember_type key_type = EMBER_TYPE_INT64;
    table t;
    table_init(&t, 1, &key_type, 2, value_types);
    uint64_t seed = 45;
    for (int64_t i = 0; i < 30000; i++) {
        uint64_t r = next_random(&seed);
        if (r % 7 == 0)
            append_null(&t.keys[0]);
        else if (r % 7 == 1)
            append_int(&t.keys[0], (int64_t)KERNEL_NULL_TAG);
        else if (r % 7 == 2)
            append_int(&t.keys[0], key_with_hash((r % 50) << 40)); /* low half 0 */
        else if (r % 7 == 3)
            append_int(&t.keys[0], key_with_hash(0x1234567800000000ULL | (r % 50)));
        else
            append_int(&t.keys[0], (int64_t)(r % 9000));
        append_values(&t, &seed, 0);
        table_end_row(&t);
    }
    static const uint64_t special[] = {0x0000000000000000ULL, 0x8000000000000000ULL,
                                       0x7ff8000000000000ULL, 0x7ff0000000000001ULL,
                                       0xfff8000000000000ULL, 0x7ff0000000000000ULL};
    key_type = EMBER_TYPE_FLOAT64;
    table floats;
    table_init(&floats, 1, &key_type, 2, value_types);
    for (int64_t i = 0; i < 30000; i++) {
        uint64_t r = next_random(&seed) % 12000;
        if (r < 6)
            append_float(&floats.keys[0], bits_double(special[r]));
        else if (r == 6)
            append_null(&floats.keys[0]);
        else
            append_float(&floats.keys[0], (double)r * -0.25);
        append_values(&floats, &seed, 0);
        table_end_row(&floats);
    }
    for (size_t c = 0; c < sizeof radix_choices / sizeof radix_choices[0]; c++) {
        radix_bits_forced = radix_choices[c];
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 10000});
        check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.initial_slots = 1});
        check_paths(&t, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){0});
        check_merge(&t, count_rows_only, 1, 0);
        check_path(&floats, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 10000});
        check_paths(&floats, every_op, EVERY_OP_COUNT, (ember_groupby_tuning){.initial_slots = 1});
        check_merge(&floats, every_op, EVERY_OP_COUNT, 0);
    }
    radix_bits_forced = 0;
    table_clear(&t);
    table_clear(&floats);
}

/* The automatic choice: only CPU devices, only tables too big for the device's cache, with
 * slices of a fraction of it; a big batch and a big hint take the path, a batch with few
 * groups and any hint does not need to, and both agree with the reference. */
static void test_radix_choice(void **state) {
    const cl_ulong cache = 32u << 20;
    assert_int_equal(ember_groupby_radix_bits(true, cache, 1700), 0);
    assert_int_equal(ember_groupby_radix_bits(true, cache, 100000), 0);
    assert_int_equal(ember_groupby_radix_bits(false, cache, 1333376), 0);
    assert_int_equal(ember_groupby_radix_bits(true, 0, 1333376), 0);
    assert_int_equal(ember_groupby_radix_bits(true, cache, 1333376), 7);    /* 21 MB: 164 KB */
    assert_int_equal(ember_groupby_radix_bits(true, 1u << 20, 1333376), 8); /* 4096-slot floor */
    need_device();
    table t;
    int_key_table(&t, 300000, distinct_key, 46);
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 300000});
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){0});
    check_path(&t, every_op, 3, &(ember_groupby_tuning){.groups_hint = 300000});
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.radix_bits = -1});
    table_clear(&t);
    int_key_table(&t, 20000, uniform_key, 47);
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 1000});
    check_path(&t, count_rows_only, 1, &(ember_groupby_tuning){.groups_hint = 1000000});
    table_clear(&t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_zipf),
        cmocka_unit_test(test_single_key),
        cmocka_unit_test(test_all_distinct),
        cmocka_unit_test(test_hash_collisions),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_nulls),
        cmocka_unit_test(test_empty_and_one_row),
        cmocka_unit_test(test_float_keys),
        cmocka_unit_test(test_float_special_values),
        cmocka_unit_test(test_string_keys),
        cmocka_unit_test(test_multi_keys),
        cmocka_unit_test(test_swapped_keys),
        cmocka_unit_test(test_sum_overflow),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_merge_null_group),
        cmocka_unit_test(test_randomized),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_devices_without_extensions),
        cmocka_unit_test(test_exact_many_groups),
        cmocka_unit_test(test_exact_colliding_keys),
        cmocka_unit_test(test_exact_regrow),
        cmocka_unit_test(test_exact_float_keys_counted),
        cmocka_unit_test(test_radix_many_groups),
        cmocka_unit_test(test_radix_skew_and_empty_buckets),
        cmocka_unit_test(test_radix_nulls_and_floats),
        cmocka_unit_test(test_radix_choice),
    };
    return cmocka_run_group_tests(tests, tu_devices_open, tu_devices_close);
}
