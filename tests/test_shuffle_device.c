/* test_shuffle_device.c: ember_shuffle_device against a plain-C reference (the same hash, then a
 * stable counting sort): round robin and hash destinations, key types, nulls, special doubles,
 * balance, block shapes, errors, allocation failures, and calls from several threads. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "common/alloc.h"
#include "data/column_build.h"
#include "device/device.h"
#include "device/program.h"
#include "ops/shuffle_device.h"

/* Each device twice: as it is, and described as the other kind (CPU <-> GPU), so both launch
 * shapes (single-item work-groups and 64-item ones, few and many blocks) run everywhere. */
#define MAX_SHAPES 16
static ember_worker shapes[MAX_SHAPES];
static int shape_count;

static void need_device(void) {
    if (tu_worker_count == 0)
        skip();
    shape_count = 0;
    for (int w = 0; w < tu_worker_count && shape_count + 2 <= MAX_SHAPES; w++) {
        shapes[shape_count++] = tu_workers[w];
        ember_worker other = tu_workers[w];
        other.info.type =
            (other.info.type & CL_DEVICE_TYPE_CPU) ? CL_DEVICE_TYPE_GPU : CL_DEVICE_TYPE_CPU;
        shapes[shape_count++] = other;
    }
}

static uint64_t next_random(uint64_t *seed) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 17;
}

/* ---------------------------------------------------------------------------------------
 * Columns.
 * ------------------------------------------------------------------------------------- */

static void column_new(ember_column *column, ember_type type) {
    memset(column, 0, sizeof *column);
    assert_true(ember_column_init(column, type, 64));
}

static void column_free(ember_column *column) {
    ember_free_aligned(column->validity);
    ember_free_aligned(column->values);
    ember_free_aligned(column->bytes);
    memset(column, 0, sizeof *column);
}

static void append_int(ember_column *column, int64_t value) {
    assert_true(ember_column_append_int64(column, value));
}

/* By bits, so NaN payloads reach the column exactly. */
static void append_bits(ember_column *column, uint64_t bits) {
    assert_true(ember_column_append_float64(column, 0.0));
    memcpy((char *)column->values + 8 * (column->length - 1), &bits, sizeof bits);
}

static void append_text(ember_column *column, const char *text) {
    bool too_big = false;
    assert_true(ember_column_append_string(column, text, strlen(text), &too_big));
}

static void append_null(ember_column *column) {
    assert_true(ember_column_append_null(column));
}

/* ---------------------------------------------------------------------------------------
 * The reference: shuffle.cl's hash in plain C, and the plan it implies.
 * ------------------------------------------------------------------------------------- */

#define SHUFFLE_SEED 0x9e3779b97f4a7c15ull
#define NULL_TAG     0xb7e151628aed2a6bull

static uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static uint64_t canonical_double(uint64_t bits) {
    if ((bits & 0x7fffffffffffffffull) == 0)
        return 0;
    if ((bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull && (bits & 0x000fffffffffffffull))
        return 0x7ff8000000000000ull;
    return bits;
}

static uint64_t key_part(const ember_column *column, int64_t row) {
    if (!ember_column_is_valid(column, row))
        return NULL_TAG;
    if (column->type == EMBER_TYPE_STRING) {
        int32_t len;
        const unsigned char *text = (const unsigned char *)ember_column_string(column, row, &len);
        uint64_t h = 0xcbf29ce484222325ull ^ (uint64_t)(uint32_t)len;
        for (int32_t i = 0; i < len; i++)
            h = (h ^ text[i]) * 0x100000001b3ull;
        return mix64(h);
    }
    uint64_t bits;
    memcpy(&bits, (const char *)column->values + 8 * row, sizeof bits);
    return column->type == EMBER_TYPE_FLOAT64 ? canonical_double(bits) : bits;
}

/* The high word of h * n, from 32-bit halves (n < 2^31, so nothing overflows). */
static int reference_destination(const ember_column *const *keys, int key_count, int64_t row,
                                 int n) {
    uint64_t h = mix64(SHUFFLE_SEED ^ key_part(keys[0], row));
    for (int k = 1; k < key_count; k++)
        h = mix64(h ^ key_part(keys[k], row));
    uint64_t high = (h >> 32) * (uint64_t)n, low = (h & 0xffffffffull) * (uint64_t)n;
    return (int)((high + (low >> 32)) >> 32);
}

/* Asserts that plan is exactly what dest (each row's destination) implies: the counts, their
 * exclusive sums, and a stable counting sort of the rows. */
static void check_plan(const ember_shuffle_plan *plan, const int *dest, int64_t rows, int n) {
    assert_int_equal(plan->destinations, n);
    assert_non_null(plan->counts);
    assert_non_null(plan->starts);
    assert_non_null(plan->order);
    int64_t *counts = calloc((size_t)n, sizeof *counts);
    int64_t *next = calloc((size_t)n, sizeof *next);
    assert_non_null(counts);
    assert_non_null(next);
    for (int64_t i = 0; i < rows; i++) {
        assert_true(dest[i] >= 0 && dest[i] < n);
        counts[dest[i]]++;
    }
    int64_t start = 0;
    for (int d = 0; d < n; d++) {
        if (plan->counts[d] != counts[d] || plan->starts[d] != start)
            fail_msg("destination %d: count %lld start %lld, want %lld and %lld", d,
                     (long long)plan->counts[d], (long long)plan->starts[d], (long long)counts[d],
                     (long long)start);
        next[d] = start;
        start += counts[d];
    }
    for (int64_t i = 0; i < rows; i++) {
        int64_t at = next[dest[i]]++;
        if (plan->order[at] != i)
            fail_msg("order[%lld] is %d, want row %lld (destination %d)", (long long)at,
                     plan->order[at], (long long)i, dest[i]);
    }
    free(counts);
    free(next);
}

static void shuffle_on(const ember_worker *worker, const ember_column *const *keys, int key_count,
                       int64_t rows, int64_t offset, int n, const ember_shuffle_tuning *tuning,
                       ember_shuffle_plan *plan) {
    ember_error err;
    ember_error_clear(&err);
    ember_status status =
        ember_shuffle_device_tuned(tu_programs, worker, worker->queues[0], keys, key_count, rows,
                                   offset, n, tuning, plan, &err);
    if (status != EMBER_OK)
        fail_msg("shuffle of %lld rows to %d on %s: %s", (long long)rows, n, worker->info.name,
                 err.message);
}

/* Hash-shuffles keys on every shape and checks each plan against the reference; returns the
 * destinations (the same on every shape). */
static int *check_hash(const ember_column *const *keys, int key_count, int64_t offset, int n,
                       const ember_shuffle_tuning *tuning) {
    int64_t rows = keys[0]->length;
    int *dest = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *dest);
    assert_non_null(dest);
    for (int64_t i = 0; i < rows; i++)
        dest[i] = reference_destination(keys, key_count, i, n);
    for (int s = 0; s < shape_count; s++) {
        ember_shuffle_plan plan;
        shuffle_on(&shapes[s], keys, key_count, rows, offset, n, tuning, &plan);
        check_plan(&plan, dest, rows, n);
        ember_shuffle_plan_clear(&plan);
    }
    return dest;
}

/* ---------------------------------------------------------------------------------------
 * Round robin.
 * ------------------------------------------------------------------------------------- */

/* Rows i with (offset + i) % n == d, in closed form. */
static int64_t round_robin_count(int64_t rows, int64_t offset, int n, int d) {
    int64_t first = ((int64_t)d - offset % n + n) % n; /* the first i that lands on d */
    return first < rows ? (rows - first + n - 1) / n : 0;
}

static void check_round_robin(const ember_worker *worker, int64_t rows, int64_t offset, int n,
                              const ember_shuffle_tuning *tuning) {
    ember_shuffle_plan plan;
    shuffle_on(worker, NULL, 0, rows, offset, n, tuning, &plan);
    int *dest = malloc((size_t)(rows > 0 ? rows : 1) * sizeof *dest);
    assert_non_null(dest);
    for (int64_t i = 0; i < rows; i++)
        dest[i] = (int)((offset + i) % n);
    for (int d = 0; d < n; d++)
        assert_int_equal(plan.counts[d], round_robin_count(rows, offset, n, d));
    check_plan(&plan, dest, rows, n);
    free(dest);
    ember_shuffle_plan_clear(&plan);
}

static void test_round_robin(void **state) {
    need_device();
    static const int ns[] = {1, 2, 7, 200};
    static const int64_t row_counts[] = {0, 1, 5, 1000, 100003};
    static const int64_t offsets[] = {0, 3, 12345678901ll};
    for (int s = 0; s < shape_count; s++)
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
            for (size_t r = 0; r < sizeof row_counts / sizeof *row_counts; r++)
                for (size_t o = 0; o < sizeof offsets / sizeof *offsets; o++)
                    check_round_robin(&shapes[s], row_counts[r], offsets[o], ns[a], NULL);
}

/* Partitions of uneven sizes at their global offsets: every destination ends within one row
 * of every other. */
static void test_round_robin_balance(void **state) {
    need_device();
    static const int64_t sizes[] = {5, 1000, 0, 1, 333, 7777, 2, 4096};
    static const int ns[] = {3, 7, 200};
    for (int s = 0; s < shape_count; s++)
        for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
            int n = ns[a];
            int64_t totals[200] = {0}, offset = 0;
            for (size_t p = 0; p < sizeof sizes / sizeof *sizes; p++) {
                ember_shuffle_plan plan;
                shuffle_on(&shapes[s], NULL, 0, sizes[p], offset, n, NULL, &plan);
                for (int d = 0; d < n; d++)
                    totals[d] += plan.counts[d];
                ember_shuffle_plan_clear(&plan);
                offset += sizes[p];
            }
            int64_t least = totals[0], most = totals[0], sum = 0;
            for (int d = 0; d < n; d++) {
                least = totals[d] < least ? totals[d] : least;
                most = totals[d] > most ? totals[d] : most;
                sum += totals[d];
            }
            assert_int_equal(sum, offset);
            assert_true(most - least <= 1);
        }
}

/* Forced block lengths: one row per block (the scan then covers n * rows counters, far more
 * than its work-group), odd lengths, and one block for everything; also the cap that makes
 * blocks longer when n is large. */
static void test_block_shapes(void **state) {
    need_device();
    static const int64_t block_rows[] = {1, 3, 1000, 1 << 30};
    ember_column key;
    column_new(&key, EMBER_TYPE_INT64);
    uint64_t seed = 1;
    for (int i = 0; i < 5000; i++)
        append_int(&key, (int64_t)(next_random(&seed) % 700));
    const ember_column *keys[] = {&key};
    for (size_t b = 0; b < sizeof block_rows / sizeof *block_rows; b++) {
        ember_shuffle_tuning tuning = {.block_rows = block_rows[b]};
        for (int s = 0; s < shape_count; s++) {
            check_round_robin(&shapes[s], 5000, 17, 7, &tuning);
            check_round_robin(&shapes[s], 5000, 0, 200, &tuning);
        }
        free(check_hash(keys, 1, 0, 7, &tuning));
        free(check_hash(keys, 1, 0, 3000, &tuning));
    }
    ember_shuffle_tuning one = {.block_rows = 1};
    for (int s = 0; s < shape_count; s++)
        check_round_robin(&shapes[s], 100003, 5, 200, &one);
    column_free(&key);
}

/* ---------------------------------------------------------------------------------------
 * Hash partitioning.
 * ------------------------------------------------------------------------------------- */

/* Rows whose key columns hold equal values (by the key semantics, not the hash) must share a
 * destination: checked pairwise against the first row of each value. */
static void check_same_destination(const int *dest, const int64_t *rows, int count) {
    for (int i = 1; i < count; i++)
        if (dest[rows[i]] != dest[rows[0]])
            fail_msg("rows %lld and %lld hold equal keys but go to %d and %d", (long long)rows[0],
                     (long long)rows[i], dest[rows[0]], dest[rows[i]]);
}

static void test_hash_int64(void **state) {
    need_device();
    ember_column key;
    column_new(&key, EMBER_TYPE_INT64);
    uint64_t seed = 2;
    static const int64_t specials[] = {0, -1, 1, INT64_MIN, INT64_MAX, 42};
    for (int i = 0; i < 20000; i++) {
        uint64_t r = next_random(&seed);
        append_int(&key, i % 5 == 0 ? specials[r % 6] : (int64_t)(r % 3000) - 1500);
    }
    const ember_column *keys[] = {&key};
    static const int ns[] = {2, 7, 200};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        int *dest = check_hash(keys, 1, 0, ns[a], NULL);
        /* Every 42 together, wherever it is. */
        int64_t same[64];
        int count = 0;
        for (int64_t i = 0; i < key.length && count < 64; i++)
            if (((const int64_t *)key.values)[i] == 42)
                same[count++] = i;
        assert_true(count > 1);
        check_same_destination(dest, same, count);
        free(dest);
    }
    column_free(&key);
}

/* Distinct keys spread evenly: 10000 consecutive, then 10000 random ones, over 8. */
static void test_hash_balance(void **state) {
    need_device();
    uint64_t seed = 3;
    for (int kind = 0; kind < 2; kind++) {
        ember_column key;
        column_new(&key, EMBER_TYPE_INT64);
        for (int i = 0; i < 10000; i++)
            append_int(&key, kind == 0 ? i : (int64_t)next_random(&seed) * 7919);
        const ember_column *keys[] = {&key};
        for (int s = 0; s < shape_count; s++) {
            ember_shuffle_plan plan;
            shuffle_on(&shapes[s], keys, 1, key.length, 0, 8, NULL, &plan);
            for (int d = 0; d < 8; d++)
                if (plan.counts[d] < 900 || plan.counts[d] > 1600)
                    fail_msg("destination %d got %lld of 10000 rows", d, (long long)plan.counts[d]);
            ember_shuffle_plan_clear(&plan);
        }
        column_free(&key);
    }
}

/* -0.0 with 0.0, every NaN with every other, infinities and denormals as values. */
static void test_hash_float64(void **state) {
    need_device();
    static const uint64_t zeros[] = {0x0000000000000000ull, 0x8000000000000000ull};
    static const uint64_t nans[] = {0x7ff8000000000000ull, 0x7ff0000000000001ull,
                                    0xfff8000000000000ull, 0x7fffffffffffffffull,
                                    0xfff0000000000001ull, 0x7ff4000000000000ull};
    static const uint64_t others[] = {0x7ff0000000000000ull /* +inf */,
                                      0xfff0000000000000ull /* -inf */,
                                      0x0000000000000001ull /* smallest denormal */,
                                      0x3ff0000000000000ull /* 1.0 */, 0xbff0000000000000ull};
    ember_column key;
    column_new(&key, EMBER_TYPE_FLOAT64);
    int64_t zero_rows[64], nan_rows[64];
    int zero_count = 0, nan_count = 0;
    uint64_t seed = 4;
    for (int i = 0; i < 3000; i++) {
        uint64_t r = next_random(&seed) % 8;
        if (r == 0 && zero_count < 64) {
            zero_rows[zero_count++] = key.length;
            append_bits(&key, zeros[next_random(&seed) % 2]);
        } else if (r == 1 && nan_count < 64) {
            nan_rows[nan_count++] = key.length;
            append_bits(&key, nans[next_random(&seed) % 6]);
        } else if (r == 2) {
            append_bits(&key, others[next_random(&seed) % 5]);
        } else {
            double value = (double)(int64_t)(next_random(&seed) % 100000) / 8.0 - 5000.0;
            assert_true(ember_column_append_float64(&key, value));
        }
    }
    const ember_column *keys[] = {&key};
    static const int ns[] = {2, 7, 200};
    for (size_t a = 0; a < sizeof ns / sizeof *ns; a++) {
        int *dest = check_hash(keys, 1, 0, ns[a], NULL);
        check_same_destination(dest, zero_rows, zero_count);
        check_same_destination(dest, nan_rows, nan_count);
        free(dest);
    }
    column_free(&key);
}

static const char *const words[] = {"",
                                    "a",
                                    "b",
                                    "ab",
                                    "ba",
                                    "apple",
                                    "Apple",
                                    "apple ",
                                    "banana",
                                    "cherry",
                                    "\xc3\xa9t\xc3\xa9",
                                    "a longer string, past sixteen bytes",
                                    "x\ty",
                                    "0",
                                    "00"};
#define WORD_COUNT ((int)(sizeof words / sizeof *words))

/* A string column of count words from seed, nulls every null_every rows (0: none). */
static void string_column(ember_column *column, int count, uint64_t seed, int null_every) {
    column_new(column, EMBER_TYPE_STRING);
    for (int i = 0; i < count; i++) {
        if (null_every && i % null_every == null_every - 1)
            append_null(column);
        else
            append_text(column, words[next_random(&seed) % WORD_COUNT]);
    }
}

/* Each word's destination from one plan must match the one from another input. */
static void check_words_agree(const ember_column *a, const int *dest_a, const ember_column *b,
                              const int *dest_b) {
    for (int64_t i = 0; i < a->length; i++)
        for (int64_t j = 0; j < b->length; j++) {
            bool va = ember_column_is_valid(a, i), vb = ember_column_is_valid(b, j);
            if (va != vb)
                continue;
            int32_t la = 0, lb = 0;
            const char *ta = va ? ember_column_string(a, i, &la) : NULL;
            const char *tb = vb ? ember_column_string(b, j, &lb) : NULL;
            if (va && (la != lb || memcmp(ta, tb, (size_t)la) != 0))
                continue;
            if (dest_a[i] != dest_b[j])
                fail_msg("equal keys at rows %lld and %lld go to %d and %d", (long long)i,
                         (long long)j, dest_a[i], dest_b[j]);
        }
}

/* Equal strings in different positions, and in partitions of their own at other offsets,
 * go together; so do the empty string's rows, and the nulls. */
static void test_hash_strings(void **state) {
    need_device();
    ember_column a, b, empty;
    string_column(&a, 400, 5, 0);
    string_column(&b, 137, 6, 9);
    column_new(&empty, EMBER_TYPE_STRING); /* only empty strings: no bytes at all */
    for (int i = 0; i < 10; i++)
        append_text(&empty, "");
    static const int ns[] = {2, 7, 200};
    for (size_t s = 0; s < sizeof ns / sizeof *ns; s++) {
        const ember_column *ka[] = {&a}, *kb[] = {&b}, *ke[] = {&empty};
        int *da = check_hash(ka, 1, 0, ns[s], NULL);
        int *db = check_hash(kb, 1, 400, ns[s], NULL);
        int *de = check_hash(ke, 1, 537, ns[s], NULL);
        check_words_agree(&a, da, &b, db);
        check_words_agree(&a, da, &empty, de);
        check_words_agree(&b, db, &b, db);
        free(da);
        free(db);
        free(de);
    }
    /* Made by hand: no bytes buffer at all, as a column of empty strings may come; and a
     * partition with no rows. */
    ember_column bare = {.type = EMBER_TYPE_STRING, .loaded = true, .length = 3};
    bare.values = ember_malloc_aligned(4 * sizeof(int32_t));
    assert_non_null(bare.values);
    memset(bare.values, 0, 4 * sizeof(int32_t));
    ember_column none;
    column_new(&none, EMBER_TYPE_STRING);
    const ember_column *k_bare[] = {&bare}, *k_none[] = {&none};
    int *d_bare = check_hash(k_bare, 1, 0, 7, NULL);
    assert_true(d_bare[0] == d_bare[1] && d_bare[1] == d_bare[2]);
    free(d_bare);
    free(check_hash(k_none, 1, 0, 7, NULL));
    column_free(&bare);
    column_free(&none);
    column_free(&a);
    column_free(&b);
    column_free(&empty);
}

/* Nulls of every type: all null rows of a key together, apart from the values (by the
 * reference), also when the null slot's stored value is what a real value holds. */
static void test_hash_nulls(void **state) {
    need_device();
    ember_column ints, floats, strings;
    column_new(&ints, EMBER_TYPE_INT64);
    column_new(&floats, EMBER_TYPE_FLOAT64);
    string_column(&strings, 600, 7, 4);
    uint64_t seed = 8;
    int64_t null_rows[600];
    int null_count = 0;
    for (int i = 0; i < 600; i++) {
        if (i % 3 == 0) {
            null_rows[null_count++] = i;
            append_null(&ints);
            append_null(&floats);
        } else {
            append_int(&ints, (int64_t)(next_random(&seed) % 50));
            assert_true(ember_column_append_float64(&floats, (double)(next_random(&seed) % 50)));
        }
    }
    const ember_column *k_ints[] = {&ints}, *k_floats[] = {&floats}, *k_strings[] = {&strings};
    int *d = check_hash(k_ints, 1, 0, 7, NULL);
    check_same_destination(d, null_rows, null_count);
    free(d);
    d = check_hash(k_floats, 1, 0, 7, NULL);
    check_same_destination(d, null_rows, null_count);
    free(d);
    d = check_hash(k_strings, 1, 0, 7, NULL);
    free(d);
    /* All nulls: one destination takes everything. */
    ember_column all_null;
    column_new(&all_null, EMBER_TYPE_INT64);
    for (int i = 0; i < 300; i++)
        append_null(&all_null);
    const ember_column *k_all[] = {&all_null};
    for (int s = 0; s < shape_count; s++) {
        ember_shuffle_plan plan;
        shuffle_on(&shapes[s], k_all, 1, 300, 0, 7, NULL, &plan);
        int full = 0;
        for (int dd = 0; dd < 7; dd++)
            full += plan.counts[dd] == 300;
        assert_int_equal(full, 1);
        ember_shuffle_plan_clear(&plan);
    }
    column_free(&all_null);
    column_free(&ints);
    column_free(&floats);
    column_free(&strings);
}

/* 2 to 4 keys of mixed types (bool among them), with nulls; and two separately built inputs
 * holding the same key tuples in another order and at another offset agree. */
static void test_hash_multi_keys(void **state) {
    need_device();
    enum { ROWS = 3000 };
    ember_column a[4], b[4];
    static const ember_type types[4] = {EMBER_TYPE_STRING, EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64,
                                        EMBER_TYPE_BOOL};
    for (int k = 0; k < 4; k++) {
        column_new(&a[k], types[k]);
        column_new(&b[k], types[k]);
    }
    uint64_t seed = 9;
    for (int i = 0; i < ROWS; i++) {
        uint64_t r = next_random(&seed);
        if (r % 13 == 0)
            append_null(&a[0]);
        else
            append_text(&a[0], words[r % WORD_COUNT]);
        if (r % 11 == 0)
            append_null(&a[1]);
        else
            append_int(&a[1], (int64_t)(r >> 8) % 5);
        append_bits(&a[2], (r >> 12) % 3 == 0   ? 0x8000000000000000ull
                           : (r >> 12) % 3 == 1 ? 0
                                                : 0x7ff8000000000001ull);
        append_int(&a[3], (int64_t)((r >> 16) & 1));
    }
    /* b: a's rows backwards, -0.0 and 0.0 swapped, one NaN pattern for another. */
    for (int64_t i = ROWS - 1; i >= 0; i--) {
        bool too_big = false;
        for (int k = 0; k < 4; k++) {
            if (k == 2) {
                uint64_t bits;
                memcpy(&bits, (const char *)a[2].values + 8 * i, sizeof bits);
                append_bits(&b[2], bits == 0                       ? 0x8000000000000000ull
                                   : bits == 0x8000000000000000ull ? 0
                                                                   : 0xfff0000000000002ull);
            } else {
                assert_true(ember_column_append_from(&b[k], &a[k], i, &too_big));
            }
        }
    }
    for (int key_count = 2; key_count <= 4; key_count++) {
        const ember_column *ka[4] = {&a[0], &a[1], &a[2], &a[3]};
        const ember_column *kb[4] = {&b[0], &b[1], &b[2], &b[3]};
        int *da = check_hash(ka, key_count, 0, 7, NULL);
        int *db = check_hash(kb, key_count, ROWS, 7, NULL);
        for (int64_t i = 0; i < ROWS; i++)
            if (da[i] != db[ROWS - 1 - i])
                fail_msg("%d keys: row %lld goes to %d here and %d in the other input", key_count,
                         (long long)i, da[i], db[ROWS - 1 - i]);
        free(da);
        free(db);
    }
    /* Key order matters to the hash: (x, y) and (y, x) are different tuples. */
    const ember_column *swapped[2] = {&a[1], &a[3]};
    free(check_hash(swapped, 2, 0, 200, NULL));
    for (int k = 0; k < 4; k++) {
        column_free(&a[k]);
        column_free(&b[k]);
    }
}

/* ---------------------------------------------------------------------------------------
 * Errors, allocation failures, threads.
 * ------------------------------------------------------------------------------------- */

static void test_invalid_arguments(void **state) {
    need_device();
    const ember_worker *worker = &tu_workers[0];
    ember_column key;
    column_new(&key, EMBER_TYPE_INT64);
    for (int i = 0; i < 10; i++)
        append_int(&key, i);
    const ember_column *keys[5] = {&key, &key, &key, &key, &key};
    ember_shuffle_plan plan;
    ember_error err;
    struct {
        int key_count;
        int64_t rows, offset;
        int n;
    } cases[] = {{0, 10, 0, 0},
                 {1, 10, 0, -3},
                 {5, 10, 0, 2},
                 {1, 11, 0, 2},
                 {0, -1, 0, 2},
                 {0, 10, -1, 2},
                 {0, (int64_t)INT32_MAX + 1, 0, 2}};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        ember_error_clear(&err);
        memset(&plan, 0x55, sizeof plan);
        assert_int_equal(ember_shuffle_device(tu_programs, worker, worker->queues[0], keys,
                                              cases[c].key_count, cases[c].rows, cases[c].offset,
                                              cases[c].n, &plan, &err),
                         EMBER_ERROR_INVALID_ARGUMENT);
        assert_true(err.message[0] != '\0');
        assert_null(plan.order);
        assert_null(plan.counts);
    }
    ember_error_clear(&err);
    assert_int_equal(
        ember_shuffle_device(tu_programs, worker, worker->queues[0], keys, 1, 10, 0, 2, NULL, &err),
        EMBER_ERROR_INVALID_ARGUMENT);
    ember_error_clear(&err);
    key.type = (ember_type)7;
    assert_int_equal(ember_shuffle_device(tu_programs, worker, worker->queues[0], keys, 1, 10, 0, 2,
                                          &plan, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    key.type = EMBER_TYPE_INT64;
    column_free(&key);
}

/* Every allocation of the call failing in turn: an error comes back, nothing leaks (ASan). */
static void test_allocation_failures(void **state) {
    need_device();
    const ember_worker *worker = &tu_workers[0];
    ember_column key;
    string_column(&key, 500, 10, 5);
    const ember_column *keys[] = {&key};
    ember_shuffle_plan plan;
    /* Warm the program cache first, so the countdown reaches the shuffle's own code. */
    shuffle_on(worker, keys, 1, key.length, 0, 7, NULL, &plan);
    ember_shuffle_plan_clear(&plan);
    bool succeeded = false;
    for (long countdown = 1; countdown < 100 && !succeeded; countdown++) {
        ember_error err;
        ember_error_clear(&err);
        ember_alloc_fail_after(countdown);
        ember_status status = ember_shuffle_device(tu_programs, worker, worker->queues[0], keys, 1,
                                                   key.length, 0, 7, &plan, &err);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            succeeded = true;
            ember_shuffle_plan_clear(&plan);
        } else {
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_null(plan.order);
            assert_null(plan.counts);
            assert_null(plan.starts);
        }
    }
    assert_true(succeeded);
    column_free(&key);
}

typedef struct thread_job {
    const ember_worker *worker;
    cl_command_queue queue;
    const ember_column *key;
    const int *dest;
    int failures;
} thread_job;

static void *thread_main(void *arg) {
    thread_job *job = arg;
    const ember_column *keys[] = {job->key};
    for (int round = 0; round < 8; round++) {
        ember_shuffle_plan plan;
        ember_error err;
        ember_error_clear(&err);
        if (ember_shuffle_device(tu_programs, job->worker, job->queue, keys, 1, job->key->length, 0,
                                 13, &plan, &err) != EMBER_OK) {
            job->failures++;
            continue;
        }
        for (int d = 0; d < 13; d++)
            for (int64_t j = plan.starts[d]; j < plan.starts[d] + plan.counts[d]; j++)
                job->failures += job->dest[plan.order[j]] != d;
        ember_shuffle_plan_clear(&plan);
    }
    return NULL;
}

/* Several pool threads at once, each on its own queue of one device. */
static void test_threads(void **state) {
    need_device();
    const ember_worker *worker = &tu_workers[0];
    ember_column key;
    string_column(&key, 20000, 11, 7);
    const ember_column *keys[] = {&key};
    int *dest = check_hash(keys, 1, 0, 13, NULL);
    enum { THREADS = 4 };
    thread_job jobs[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        jobs[t] = (thread_job){worker, worker->queues[t % worker->queue_count], &key, dest, 0};
        assert_int_equal(pthread_create(&threads[t], NULL, thread_main, &jobs[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].failures, 0);
    }
    free(dest);
    column_free(&key);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin),         cmocka_unit_test(test_round_robin_balance),
        cmocka_unit_test(test_block_shapes),        cmocka_unit_test(test_hash_int64),
        cmocka_unit_test(test_hash_balance),        cmocka_unit_test(test_hash_float64),
        cmocka_unit_test(test_hash_strings),        cmocka_unit_test(test_hash_nulls),
        cmocka_unit_test(test_hash_multi_keys),     cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_allocation_failures), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, tu_devices_open, tu_devices_close);
}
