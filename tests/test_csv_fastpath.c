/* test_csv_fastpath.c: the loader's fast path for records without quotes against libcsv.
 * ember_csv_parse_split takes records without a quote itself and hands the rest to libcsv;
 * with config.libcsv_only every record goes through libcsv. Both must give the same partition
 * bit for bit (values, nulls, offsets, string bytes, row counts), the same widening signals and
 * the same error, over random inputs drawn from the bytes that matter (delimiters, quotes, CR,
 * LF, NUL, digits, signs), hand-written inputs that put those bytes at the 64-byte block
 * boundaries of the mask scanner, and the AFL-found inputs of tests/data, each cut in two at
 * many positions, in every mode, schema kind, null setting and column selection. */
#include "testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "io/csv_load.h"

#define MAX_COLUMNS 6

typedef struct variant {
    const char *spec;
    ember_csv_mode mode;
    bool inferred;
    const char *null_value;
    bool wanted[MAX_COLUMNS];
    bool all; /* wanted = NULL */
    ember_csv_dialect dialect;
} variant;

typedef struct result {
    ember_partition part;
    ember_type needed[MAX_COLUMNS];
    ember_error err;
    ember_status status;
} result;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static size_t rng_below(size_t n) {
    return (size_t)(rng_next() % n);
}

static void parse(const char *buf, const ember_split *split, const ember_schema *schema,
                  const variant *v, bool libcsv_only, result *r) {
    ember_csv_config config = {.dialect = v->dialect,
                               .null_value = v->null_value,
                               .mode = v->mode,
                               .schema_inferred = v->inferred,
                               .path = "fast.csv",
                               .libcsv_only = libcsv_only};
    ember_error_clear(&r->err);
    r->status = ember_csv_parse_split(buf, split, schema, v->all ? NULL : v->wanted, &config,
                                      &r->part, r->needed, &r->err);
}

/* Where the two disagree, with enough to reproduce. */
static void mismatch(const char *what, const char *buf, const ember_split *split,
                     const variant *v) {
    fprintf(stderr,
            "fast path != libcsv (%s): schema %s mode %d inferred %d null %s split [%zu, "
            "%zu) of:\n",
            what, v->spec, (int)v->mode, (int)v->inferred, v->null_value ? v->null_value : "-",
            split->begin, split->end);
    for (size_t i = split->begin; i < split->end; i++)
        fprintf(stderr, "%02x%s", (unsigned char)buf[i],
                (i - split->begin) % 32 == 31 ? "\n" : " ");
    fprintf(stderr, "\n");
    fail_msg("fast path != libcsv: %s", what);
}

static void compare_columns(const ember_column *a, const ember_column *b, const char *buf,
                            const ember_split *split, const variant *v) {
    if (a->type != b->type || a->loaded != b->loaded || a->length != b->length ||
        a->null_count != b->null_count)
        mismatch("column shape", buf, split, v);
    if (!a->loaded)
        return;
    for (int64_t row = 0; row < a->length; row++) {
        bool valid = ember_column_is_valid(a, row);
        if (valid != ember_column_is_valid(b, row))
            mismatch("validity", buf, split, v);
        if (a->type == EMBER_TYPE_STRING) {
            int32_t la, lb;
            const char *ta = ember_column_string(a, row, &la);
            const char *tb = ember_column_string(b, row, &lb);
            if (la != lb || (la && memcmp(ta, tb, (size_t)la) != 0))
                mismatch("string value", buf, split, v);
        } else if (memcmp((const int64_t *)a->values + row, (const int64_t *)b->values + row,
                          sizeof(int64_t)) != 0) {
            mismatch("number value", buf, split, v);
        }
    }
    if (a->type == EMBER_TYPE_STRING && a->bytes_len != b->bytes_len)
        mismatch("string bytes", buf, split, v);
}

static void compare_split(const char *buf, const ember_split *split, const ember_schema *schema,
                          const variant *v) {
    result fast, slow;
    parse(buf, split, schema, v, false, &fast);
    parse(buf, split, schema, v, true, &slow);
    if (fast.status != slow.status)
        mismatch("status", buf, split, v);
    if (fast.status != EMBER_OK) {
        if (strcmp(fast.err.message, slow.err.message) != 0) {
            fprintf(stderr, "fast: %s\nlibcsv: %s\n", fast.err.message, slow.err.message);
            mismatch("error message", buf, split, v);
        }
        return;
    }
    if (memcmp(fast.needed, slow.needed, (size_t)schema->count * sizeof fast.needed[0]) != 0)
        mismatch("needed types", buf, split, v);
    const ember_partition *a = &fast.part, *b = &slow.part;
    if (a->rows != b->rows || a->rows_malformed != b->rows_malformed ||
        a->rows_dropped != b->rows_dropped || a->column_count != b->column_count ||
        a->source_bytes != b->source_bytes)
        mismatch("row counts", buf, split, v);
    for (int c = 0; c < a->column_count; c++)
        compare_columns(&a->columns[c], &b->columns[c], buf, split, v);
    ember_partition_clear(&fast.part);
    ember_partition_clear(&slow.part);
}

/* The whole buffer, then two splits at the record start at or after each of the cut
 * positions (every position when step is 1). */
static void compare_cuts(const char *buf, size_t len, const variant *v, size_t step) {
    ember_schema schema = {0};
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(ember_schema_parse(v->spec, &schema, &err), EMBER_OK);
    ember_split whole = {0, len, 1, 0};
    compare_split(buf, &whole, &schema, v);
    for (size_t cut = 1; cut < len; cut += step) {
        ember_split *splits = NULL;
        int count = 0;
        assert_int_equal(
            ember_csv_split_at(buf, len, 0, 1, &cut, 1, v->dialect, &splits, &count, &err),
            EMBER_OK);
        for (int k = 0; k < count; k++)
            compare_split(buf, &splits[k], &schema, v);
        ember_free(splits);
    }
    ember_schema_clear(&schema);
}

static const char *const specs[] = {"a:int64,b:float64,c:string", "a:string", "a:int64,b:int64",
                                    "a:float64,b:string,c:int64,d:string"};
#define SPEC_COUNT (sizeof specs / sizeof specs[0])

/* A variant drawn at random: schema, mode, inference, null value, columns, dialect. */
static variant random_variant(bool other_dialects) {
    variant v = {.spec = specs[rng_below(SPEC_COUNT)],
                 .mode = (ember_csv_mode)rng_below(3),
                 .inferred = rng_below(2),
                 .null_value = rng_below(3) == 0 ? "NA"
                               : rng_below(2)    ? NULL
                                                 : "",
                 .all = rng_below(3) == 0,
                 .dialect = {',', '"'}};
    static const ember_csv_mode modes[] = {EMBER_CSV_PERMISSIVE, EMBER_CSV_DROPMALFORMED,
                                           EMBER_CSV_FAILFAST};
    v.mode = modes[rng_below(3)];
    for (int c = 0; c < MAX_COLUMNS; c++)
        v.wanted[c] = rng_below(2);
    if (other_dialects && rng_below(3) == 0) {
        static const ember_csv_dialect others[] = {
            {';', '\''}, {'\t', '"'}, {'"', ','}, {'a', '1'}};
        v.dialect = others[rng_below(sizeof others / sizeof others[0])];
    }
    return v;
}

/* Random bytes, mostly the ones that steer the parser. */
static size_t random_input(char *buf, size_t max) {
    static const char alphabet[] = ",,,,\"\"\"\n\n\n\r\r;\t'1234567890-+.eENA naxé\0";
    size_t len = rng_below(max);
    bool long_fields = rng_below(4) == 0;
    for (size_t i = 0; i < len; i++) {
        if (long_fields && rng_below(2))
            buf[i] = (char)('0' + rng_below(10));
        else
            buf[i] = alphabet[rng_below(sizeof alphabet - 1)];
    }
    return len;
}

static void test_random_inputs(void **state) {
    (void)state;
    char buf[200];
    for (int round = 0; round < 3000; round++) {
        size_t len = random_input(buf, sizeof buf);
        variant v = random_variant(true);
        compare_cuts(buf, len, &v, 1 + rng_below(3));
    }
}

/* Plain data with a few special bytes planted at and around the 64-byte block edges. */
static void test_block_edges(void **state) {
    (void)state;
    static const char *const planted[] = {"\"",     "\"\"",  "\r\n", "\r",       "\n",
                                          ",",      "\",\"", "\"\n", "\n\n\r\n", "\"a\"\"b\"",
                                          "\"x\nz", "NA",    ",\"",  "1e5",      "-"};
    char buf[400];
    for (int round = 0; round < 1500; round++) {
        size_t len = 64 + rng_below(300);
        /* Rows of three short numeric fields. */
        for (size_t i = 0; i < len; i++) {
            size_t k = i % 9;
            buf[i] = k == 8 ? '\n' : (k == 2 || k == 5) ? ',' : (char)('0' + rng_below(10));
        }
        int plants = 1 + (int)rng_below(3);
        for (int p = 0; p < plants; p++) {
            const char *text = planted[rng_below(sizeof planted / sizeof planted[0])];
            size_t n = strlen(text);
            size_t edge = 64 * (1 + rng_below(len / 64));
            long at = (long)edge - 2 - (long)(n / 2) + (long)rng_below(5);
            if (at >= 0 && (size_t)at + n <= len)
                memcpy(buf + at, text, n);
        }
        variant v = random_variant(false);
        v.spec = "a:int64,b:float64,c:string";
        compare_cuts(buf, len, &v, 1 + rng_below(7));
    }
}

static const char *const handwritten[] = {
    "",
    "\n",
    "\r\n\r\n",
    ",",
    ",,\n,,",
    "1,2.5,x\n\"3\",4,\"y\"\"z\"\n5,6,7",
    "1,2,\"unterminated\n3,4,5\n",
    "1,2,a\"b\n3,\"4\"x,5\r\n6,7,\"8\"",
    "\"\"\n\"\",\"\",\"\"\n",
    "NA,NA,NA\n,NA,\"NA\"\n",
    "1,2,3,4,5,6,7,8\n1\n\n1,2\r",
    "9223372036854775807,1e308,x\n-9223372036854775808,1e-400,y\n9223372036854775808,inf,z",
    "1,2,3\r\r\n\n\r4,5,6",
    "1,2,\"quoted at the end\"",
    "1,2,\"",
    "\"a\nb\",1,2\n",
};

static void test_handwritten(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof handwritten / sizeof handwritten[0]; i++)
        for (int k = 0; k < 40; k++) {
            variant v = random_variant(true);
            compare_cuts(handwritten[i], strlen(handwritten[i]), &v, 1);
        }
}

static void test_fuzz_inputs(void **state) {
    (void)state;
    DIR *dir = opendir(tu_data_path("duckdb-csv-afl"));
    assert_non_null(dir);
    struct dirent *entry;
    int files = 0;
    while ((entry = readdir(dir))) {
        if (entry->d_name[0] == '.')
            continue;
        char rel[512];
        snprintf(rel, sizeof rel, "duckdb-csv-afl/%s", entry->d_name);
        size_t len = 0;
        char *data = tu_read_file(tu_data_path(rel), &len);
        assert_non_null(data);
        for (int k = 0; k < 4; k++) {
            variant v = random_variant(k == 3);
            /* About 24 cut positions per file (every one for small files). */
            compare_cuts(data, len, &v, len / 24 + 1);
        }
        free(data);
        files++;
    }
    closedir(dir);
    assert_true(files >= 244);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handwritten),
        cmocka_unit_test(test_block_edges),
        cmocka_unit_test(test_random_inputs),
        cmocka_unit_test(test_fuzz_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
