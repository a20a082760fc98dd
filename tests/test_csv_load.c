/* test_csv_load.c: parsing one split into typed columns: null rules, the three malformed-row
 * modes with exact counts, FAILFAST messages with line and column, column pruning, type
 * widening signals, and allocation failures. Expected values are written out by hand. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "io/csv_load.h"

typedef struct parsed {
    ember_partition part;
    ember_type needed[8];
    ember_error err;
    ember_status status;
} parsed;

/* Parses text (no header) with spec as the schema. */
static void parse_text(parsed *p, const char *text, const char *spec, ember_csv_mode mode,
                       bool inferred, const bool *wanted, const char *null_value) {
    ember_schema schema = {0};
    ember_error_clear(&p->err);
    assert_int_equal(ember_schema_parse(spec, &schema, &p->err), EMBER_OK);
    ember_split split = {.begin = 0, .end = strlen(text), .first_line = 1, .first_record = 0};
    ember_csv_config config = {.dialect = {',', '"'},
                               .null_value = null_value,
                               .mode = mode,
                               .schema_inferred = inferred,
                               .path = "mem.csv"};
    p->status =
        ember_csv_parse_split(text, &split, &schema, wanted, &config, &p->part, p->needed, &p->err);
    ember_schema_clear(&schema);
}

static int64_t int_at(const parsed *p, int c, int64_t row) {
    assert_true(ember_column_is_valid(&p->part.columns[c], row));
    return ((const int64_t *)p->part.columns[c].values)[row];
}

static double float_at(const parsed *p, int c, int64_t row) {
    assert_true(ember_column_is_valid(&p->part.columns[c], row));
    return ((const double *)p->part.columns[c].values)[row];
}

static void assert_string_at(const parsed *p, int c, int64_t row, const char *expected) {
    assert_true(ember_column_is_valid(&p->part.columns[c], row));
    int32_t len;
    const char *text = ember_column_string(&p->part.columns[c], row, &len);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(text, expected, (size_t)len);
}

static void assert_null_at(const parsed *p, int c, int64_t row) {
    assert_false(ember_column_is_valid(&p->part.columns[c], row));
}

static void test_values_and_nulls(void **state) {
    (void)state;
    parsed p;
    parse_text(&p,
               "1,2.5,hello\n"
               ",,\n"
               "-3,NA,\"\"\n"
               "NA,1e2,\"a,\"\"b\"\"\nc\"\n"
               "4,5, spaced \n",
               "a:int64,b:float64,c:string", EMBER_CSV_FAILFAST, false, NULL, "NA");
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, 5);
    assert_int_equal(p.part.rows_malformed, 0);
    assert_int_equal(int_at(&p, 0, 0), 1);
    assert_true(float_at(&p, 1, 0) == 2.5);
    assert_string_at(&p, 2, 0, "hello");
    /* Empty unquoted fields are null in every type. */
    assert_null_at(&p, 0, 1);
    assert_null_at(&p, 1, 1);
    assert_null_at(&p, 2, 1);
    /* The null value is null; a quoted empty field is the empty string. */
    assert_int_equal(int_at(&p, 0, 2), -3);
    assert_null_at(&p, 1, 2);
    assert_string_at(&p, 2, 2, "");
    assert_null_at(&p, 0, 3);
    assert_true(float_at(&p, 1, 3) == 100.0);
    assert_string_at(&p, 2, 3, "a,\"b\"\nc");
    /* Spaces are data, not trimmed. */
    assert_string_at(&p, 2, 4, " spaced ");
    assert_int_equal(p.part.columns[0].null_count, 2);
    assert_int_equal(p.part.columns[1].null_count, 2);
    assert_int_equal(p.part.columns[2].null_count, 1);
    ember_partition_clear(&p.part);
}

/* Two good rows and four malformed ones: short, long, bad int, bad float. */
static const char *MIXED = "1,1.5,x\n"
                           "2,2.5\n"
                           "3,3.5,y,extra\n"
                           "four,4.5,z\n"
                           "5,five,w\n"
                           "6,6.5,v\n";

static void test_permissive(void **state) {
    (void)state;
    parsed p;
    parse_text(&p, MIXED, "a:int64,b:float64,c:string", EMBER_CSV_PERMISSIVE, false, NULL, NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, 6);
    assert_int_equal(p.part.rows_malformed, 4);
    assert_int_equal(p.part.rows_dropped, 0);
    assert_null_at(&p, 2, 1);        /* short row padded */
    assert_string_at(&p, 2, 2, "y"); /* long row cut */
    assert_null_at(&p, 0, 3);        /* "four" */
    assert_string_at(&p, 2, 3, "z");
    assert_null_at(&p, 1, 4); /* "five" */
    assert_int_equal(int_at(&p, 0, 5), 6);
    for (int c = 0; c < 3; c++)
        assert_int_equal(p.part.columns[c].length, 6);
    ember_partition_clear(&p.part);
}

static void test_dropmalformed(void **state) {
    (void)state;
    parsed p;
    parse_text(&p, MIXED, "a:int64,b:float64,c:string", EMBER_CSV_DROPMALFORMED, false, NULL, NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, 2);
    assert_int_equal(p.part.rows_malformed, 0);
    assert_int_equal(p.part.rows_dropped, 4);
    assert_int_equal(int_at(&p, 0, 0), 1);
    assert_int_equal(int_at(&p, 0, 1), 6);
    assert_string_at(&p, 2, 1, "v");
    assert_true(float_at(&p, 1, 1) == 6.5);
    for (int c = 0; c < 3; c++) {
        assert_int_equal(p.part.columns[c].length, 2);
        assert_int_equal(p.part.columns[c].null_count, 0);
    }
    ember_partition_clear(&p.part);
}

static void expect_failfast(const char *text, const char *needle) {
    parsed p;
    parse_text(&p, text, "a:int64,b:float64,c:string", EMBER_CSV_FAILFAST, false, NULL, NULL);
    assert_int_equal(p.status, EMBER_ERROR_CSV);
    if (!strstr(p.err.message, needle))
        fail_msg("message \"%s\" lacks \"%s\"", p.err.message, needle);
    assert_null(p.part.columns);
}

static void test_failfast_messages(void **state) {
    (void)state;
    expect_failfast(MIXED, "mem.csv:2: malformed row (FAILFAST): expected 3 fields, found 2");
    expect_failfast("1,1.5,x\n\n\"multi\nline\",2,q\n", "mem.csv:3:1: malformed value");
    expect_failfast("1,1.5,x\n\n\"multi\nline\",2,q\n", "\"multi\\nline\" in column 'a'");
    expect_failfast("1,1.5,x\r\n2,zz,y\r\n", "mem.csv:2:2:");
    expect_failfast("1,1.5,x\r\n2,zz,y\r\n", "is not a float64");
    expect_failfast("1,1,1\n1,1,1\n1,1,1,1", "mem.csv:3: malformed row");
}

static void test_pruned_columns_not_converted(void **state) {
    (void)state;
    parsed p;
    bool wanted[3] = {false, true, false};
    parse_text(&p, "x,1.5,a\ny,2.5,b\n", "a:int64,b:float64,c:string", EMBER_CSV_FAILFAST, false,
               wanted, NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, 2);
    assert_false(p.part.columns[0].loaded);
    assert_true(p.part.columns[1].loaded);
    assert_true(float_at(&p, 1, 1) == 2.5);
    ember_partition_clear(&p.part);
    /* Field counts are still checked. */
    parse_text(&p, "x,1.5\n", "a:int64,b:float64,c:string", EMBER_CSV_DROPMALFORMED, false, wanted,
               NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, 0);
    assert_int_equal(p.part.rows_dropped, 1);
    ember_partition_clear(&p.part);
}

static void test_inferred_widening_signal(void **state) {
    (void)state;
    parsed p;
    parse_text(&p, "1,1,1\n2,2.5,x\n3,3,3\n", "a:int64,b:int64,c:int64", EMBER_CSV_FAILFAST, true,
               NULL, NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.needed[0], EMBER_TYPE_INT64);
    assert_int_equal(p.needed[1], EMBER_TYPE_FLOAT64);
    assert_int_equal(p.needed[2], EMBER_TYPE_STRING);
    ember_partition_clear(&p.part);
    parse_text(&p, "1,1,1\n2,2,2\n", "a:int64,b:int64,c:int64", EMBER_CSV_FAILFAST, true, NULL,
               NULL);
    for (int c = 0; c < 3; c++)
        assert_int_equal(p.needed[c], EMBER_TYPE_INT64);
    ember_partition_clear(&p.part);
}

static void test_many_rows_grow_buffers(void **state) {
    (void)state;
    size_t rows = 100000;
    char *text = malloc(rows * 32);
    size_t len = 0;
    for (size_t i = 0; i < rows; i++)
        len += (size_t)sprintf(text + len, "%zu,%zu.25,s%zu\n", i, i, i % 97);
    parsed p;
    parse_text(&p, text, "a:int64,b:float64,c:string", EMBER_CSV_FAILFAST, false, NULL, NULL);
    assert_int_equal(p.status, EMBER_OK);
    assert_int_equal(p.part.rows, rows);
    for (size_t i = 0; i < rows; i += 997) {
        assert_int_equal(int_at(&p, 0, (int64_t)i), i);
        assert_true(float_at(&p, 1, (int64_t)i) == (double)i + 0.25);
        char expected[16];
        sprintf(expected, "s%zu", i % 97);
        assert_string_at(&p, 2, (int64_t)i, expected);
    }
    ember_partition_clear(&p.part);
    free(text);
}

/* A quoted empty field in a numeric column is null (never a widening, never a lost value). */
static void test_quoted_empty_in_numbers(void **state) {
    (void)state;
    for (int inferred = 0; inferred < 2; inferred++) {
        parsed p;
        parse_text(&p, "1,1.5,a\n\"\",\"\",\"\"\n2,2.5,b\n", "a:int64,b:float64,c:string",
                   EMBER_CSV_FAILFAST, inferred, NULL, NULL);
        assert_int_equal(p.status, EMBER_OK);
        assert_int_equal(p.part.rows, 3);
        assert_int_equal(p.needed[0], EMBER_TYPE_INT64);
        assert_int_equal(p.needed[1], EMBER_TYPE_FLOAT64);
        for (int c = 0; c < 3; c++)
            assert_int_equal(p.part.columns[c].length, 3);
        assert_null_at(&p, 0, 1);
        assert_null_at(&p, 1, 1);
        assert_string_at(&p, 2, 1, "");
        assert_int_equal(int_at(&p, 0, 2), 2);
        ember_partition_clear(&p.part);
    }
}

static void test_out_of_memory(void **state) {
    (void)state;
    for (long n = 1; n < 60; n++) {
        parsed p;
        ember_schema schema = {0};
        ember_error_clear(&p.err);
        assert_int_equal(ember_schema_parse("a:int64,b:float64,c:string", &schema, &p.err),
                         EMBER_OK);
        ember_split split = {.begin = 0, .end = strlen(MIXED), .first_line = 1};
        ember_csv_config config = {.dialect = {',', '"'}, .path = "mem.csv"};
        ember_alloc_fail_after(n);
        p.status =
            ember_csv_parse_split(MIXED, &split, &schema, NULL, &config, &p.part, p.needed, &p.err);
        ember_alloc_fail_after(0);
        assert_true(p.status == EMBER_OK || p.status == EMBER_ERROR_OUT_OF_MEMORY);
        if (p.status != EMBER_OK)
            assert_non_null(strstr(p.err.message, "out of host memory"));
        ember_partition_clear(&p.part);
        ember_schema_clear(&schema);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_nulls),
        cmocka_unit_test(test_permissive),
        cmocka_unit_test(test_dropmalformed),
        cmocka_unit_test(test_failfast_messages),
        cmocka_unit_test(test_pruned_columns_not_converted),
        cmocka_unit_test(test_inferred_widening_signal),
        cmocka_unit_test(test_many_rows_grow_buffers),
        cmocka_unit_test(test_quoted_empty_in_numbers),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
