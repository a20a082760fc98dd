/* test_csv_groups.c: the groups found while a split is parsed (ember_csv_parse_split_grouped)
 * against two independent references on the parsed column: ember_dictionary_build, and a
 * quadratic search for first occurrences. Quoted fields (delimiters, line breaks and "" inside),
 * empty fields, quoted empty strings and the null value, CRLF, malformed rows in every mode
 * (a dropped row's new key must leave no id behind), a column past max_groups and one exactly
 * at it, widening, random inputs through the fast path and through libcsv alone, and
 * allocation failures. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "data/dictionary.h"
#include "io/csv_load.h"

#define MAX_COLUMNS 4

typedef struct parsed {
    ember_partition part;
    ember_dictionary dictionaries[MAX_COLUMNS];
    ember_type needed[MAX_COLUMNS];
    ember_error err;
    ember_status status;
} parsed;

static void parsed_clear(parsed *p) {
    for (int c = 0; c < MAX_COLUMNS; c++)
        ember_dictionary_clear(&p->dictionaries[c]);
    ember_partition_clear(&p->part);
}

/* Parses text (no header) with spec, finding the groups of every string column. */
static void parse(parsed *p, const char *text, const ember_schema *schema, ember_csv_mode mode,
                  bool inferred, const char *null_value, bool libcsv_only) {
    ember_split split = {.begin = 0, .end = strlen(text), .first_line = 1, .first_record = 0};
    ember_csv_config config = {.dialect = {',', '"'},
                               .null_value = null_value,
                               .mode = mode,
                               .schema_inferred = inferred,
                               .path = "groups.csv",
                               .libcsv_only = libcsv_only};
    bool grouped[MAX_COLUMNS] = {true, true, true, true};
    ember_error_clear(&p->err);
    p->status = ember_csv_parse_split_grouped(text, &split, schema, NULL, grouped, &config,
                                              &p->part, p->needed, p->dictionaries, &p->err);
}

static bool same_value(const ember_column *column, int64_t a, int64_t b) {
    bool va = ember_column_is_valid(column, a), vb = ember_column_is_valid(column, b);
    if (!va || !vb)
        return va == vb;
    int32_t la, lb;
    const char *sa = ember_column_string(column, a, &la);
    const char *sb = ember_column_string(column, b, &lb);
    return la == lb && memcmp(sa, sb, (size_t)la) == 0;
}

/* The groups of column by first occurrence, quadratic; -1 when there are more than max. */
static int64_t reference_groups(const ember_column *column, int64_t max, int64_t *first,
                                uint32_t *row_group) {
    int64_t groups = 0;
    for (int64_t r = 0; r < column->length; r++) {
        int64_t g = 0;
        while (g < groups && !same_value(column, first[g], r))
            g++;
        if (g == groups) {
            if (groups == max)
                return -1;
            first[groups++] = r;
        }
        row_group[r] = (uint32_t)g;
    }
    return groups;
}

/* Checks what the parse found for column c: exactly what ember_dictionary_build and the
 * quadratic reference find on the parsed column. */
static void check_column(const parsed *p, int c) {
    const ember_column *column = &p->part.columns[c];
    const ember_dictionary *found = &p->dictionaries[c];
    int64_t rows = p->part.rows, max = ember_dictionary_max_groups(rows);
    assert_int_equal(column->length, rows);
    ember_dictionary built;
    bool ok = ember_dictionary_build(column, max, &built);
    int64_t *first = malloc(sizeof *first * (size_t)(rows + 1));
    uint32_t *row_group = malloc(sizeof *row_group * (size_t)(rows + 1));
    int64_t groups = reference_groups(column, max, first, row_group);
    assert_int_equal(ok, groups >= 0);
    assert_int_equal(found->row_group != NULL, ok);
    if (ok) {
        assert_int_equal(found->groups, groups);
        assert_int_equal(built.groups, groups);
        for (int64_t r = 0; r < rows; r++) {
            assert_int_equal(found->row_group[r], row_group[r]);
            assert_int_equal(built.row_group[r], row_group[r]);
        }
        for (int64_t g = 0; g < groups; g++) {
            assert_int_equal(found->representative[g], first[g]);
            assert_int_equal(built.representative[g], first[g]);
        }
    }
    free(first);
    free(row_group);
    ember_dictionary_clear(&built);
}

/* Parses text both ways (fast path, libcsv alone) and checks every string column's groups;
 * when the parse fails or widens, that no dictionary is left. Returns the rows (-1: failed). */
static int64_t check_text(const char *text, const char *spec, ember_csv_mode mode, bool inferred,
                          const char *null_value) {
    ember_schema schema = {0};
    ember_error err;
    assert_int_equal(ember_schema_parse(spec, &schema, &err), EMBER_OK);
    assert_true(schema.count <= MAX_COLUMNS);
    int64_t rows = -1;
    for (int libcsv_only = 0; libcsv_only < 2; libcsv_only++) {
        parsed p = {0};
        parse(&p, text, &schema, mode, inferred, null_value, libcsv_only);
        bool widened = false;
        for (int c = 0; p.status == EMBER_OK && c < schema.count; c++)
            widened |= p.needed[c] != schema.types[c];
        for (int c = 0; c < schema.count; c++) {
            if (p.status == EMBER_OK && !widened && schema.types[c] == EMBER_TYPE_STRING)
                check_column(&p, c);
            else
                assert_null(p.dictionaries[c].row_group);
        }
        rows = p.status == EMBER_OK && !widened ? p.part.rows : -1;
        parsed_clear(&p);
    }
    ember_schema_clear(&schema);
    return rows;
}

static void test_quoted_fields(void **state) {
    (void)state;
    const char *text = "a,1\n\"a\",2\n\"x,y\",3\n\"x,y\",4\n\"q\"\"r\",5\n\"two\nlines\",6\n"
                       "q\"r,7\n\"two\nlines\",8\nb,9\n\"b\",10\n\"a\",11\n";
    for (int mode = 0; mode < 3; mode++)
        assert_int_equal(check_text(text, "k:string,n:int64", (ember_csv_mode)mode, false, NULL),
                         11);
    /* The key last, after a quoted field, and in a quoted record that the fast path hands to
     * libcsv after taking the first fields itself. */
    check_text("1,\"z\",a\n2,z,\"a\"\n3,\"z,\",a\n4,z,a\n5,\"\"\"\",\"\"\"\"\n",
               "n:int64,m:string,k:string", EMBER_CSV_PERMISSIVE, false, NULL);
}

static void test_empty_fields_and_nulls(void **state) {
    (void)state;
    /* Unquoted empty: null; quoted empty: the empty string, another group; NA: null when it is
     * the null value, a string otherwise. */
    const char *text = ",1\n\"\",2\nNA,3\na,4\n,5\n\"\",6\n\"NA\",7\nNA,8\na,9\n";
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL);
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, "NA");
    check_text(text, "k:string,n:int64", EMBER_CSV_DROPMALFORMED, false, "");
    /* Nothing but nulls, and a record of one empty field. */
    check_text(",1\n,2\n,3\n,4\n,5\n,6\n,7\n,8\n", "k:string,n:int64", EMBER_CSV_PERMISSIVE, false,
               NULL);
    check_text("\n\n", "k:string", EMBER_CSV_PERMISSIVE, false, NULL);
    check_text("", "k:string", EMBER_CSV_PERMISSIVE, false, NULL);
}

static void test_crlf(void **state) {
    (void)state;
    check_text("a,1\r\nb,2\r\na,3\r\n\"b\",4\r\n,5\r\nc,6\r\na,7\r\nb,8\r\n", "k:string,n:int64",
               EMBER_CSV_PERMISSIVE, false, NULL);
    check_text("a\r\nb\r\na\r\nb\r\na\r\nb\r\na\r\nb\r\na", "k:string", EMBER_CSV_FAILFAST, false,
               NULL);
}

/* Malformed rows: too few fields (the key padded with null), too many, and a bad number after
 * the key, so the fast path has already taken a key that the row then drops. New keys only in
 * malformed rows: dropped, they must leave no group behind. */
static void test_malformed_rows(void **state) {
    (void)state;
    const char *text = "a,1\nnew1,xx\na,2\nnew2\nb,3\nnew3,4,5\nb,4\n\"new4\",zz\na,5\nb,6\n"
                       "a,7\nb,8\nnew5,oops\n";
    assert_int_equal(check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL), 13);
    assert_int_equal(check_text(text, "k:string,n:int64", EMBER_CSV_DROPMALFORMED, false, NULL), 8);
    assert_int_equal(check_text(text, "k:string,n:int64", EMBER_CSV_FAILFAST, false, NULL), -1);
    /* Dropped rows first and last. */
    check_text("x,bad\na,1\nb,2\na,3\nb,4\na,5\nb,6\na,7\nb,8\ny,bad", "k:string,n:int64",
               EMBER_CSV_DROPMALFORMED, false, NULL);
}

/* A string of distinct keys as rows "k<i>,<i>" for i < distinct, then repeats of k0 to rows. */
static char *keyed_rows(int rows, int distinct, const char *tail) {
    size_t size = (size_t)rows * 32 + strlen(tail) + 1;
    char *text = malloc(size);
    size_t at = 0;
    for (int r = 0; r < rows; r++)
        at += (size_t)snprintf(text + at, size - at, "k%d,%d\n", r < distinct ? r : 0, r);
    snprintf(text + at, size - at, "%s", tail);
    return text;
}

static void test_max_groups(void **state) {
    (void)state;
    /* 100 rows allow 25 groups. */
    char *text = keyed_rows(100, 25, "");
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL);
    free(text);
    text = keyed_rows(100, 26, "");
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL);
    free(text);
    /* 25 groups and a dropped row with a 26th key: still a dictionary; kept, it is one too
     * many. */
    text = keyed_rows(100, 25, "extra,bad\n");
    assert_int_equal(check_text(text, "k:string,n:int64", EMBER_CSV_DROPMALFORMED, false, NULL),
                     100);
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL);
    free(text);
    /* Far past the limit: the builder gives up early. */
    text = keyed_rows(20000, 20000, "");
    check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, false, NULL);
    free(text);
}

/* An inferred column that meets text widens: no dictionary from that run; the run again with
 * the widened schema finds the groups of the column that is now a string. */
static void test_widening(void **state) {
    (void)state;
    const char *text = "a,1\nb,2\na,3\nb,x\na,3\nb,1\na,1\nb,1\n";
    assert_int_equal(check_text(text, "k:string,n:int64", EMBER_CSV_PERMISSIVE, true, NULL), -1);
    assert_int_equal(check_text(text, "k:string,n:string", EMBER_CSV_PERMISSIVE, true, NULL), 8);
}

/* Random records: keys of every shape (short, exactly 15 and 16 bytes, long, quoted with
 * delimiters and line breaks inside, empty, the null value), sometimes a bad number, a missing
 * or an extra field, LF or CRLF; in every mode. */
static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void test_random(void **state) {
    (void)state;
    static const char *keys[] = {"a",
                                 "b",
                                 "\"a\"",
                                 "",
                                 "\"\"",
                                 "NA",
                                 "\"x,y\"",
                                 "\"q\"\"r\"",
                                 "\"two\nlines\"",
                                 "fifteen-bytes15",
                                 "sixteen-bytes-16",
                                 "a-key-longer-than-sixteen-bytes",
                                 "a-key-longer-than-sixteen-bytez",
                                 "cat_0741",
                                 "cat_0742"};
    size_t key_count = sizeof keys / sizeof keys[0];
    size_t size = 1 << 16;
    char *text = malloc(size);
    for (int round = 0; round < 60; round++) {
        int rows = 20 + (int)(next_random() % 400);
        int distinct = 1 + (int)(next_random() % key_count);
        size_t at = 0;
        for (int r = 0; r < rows && at + 128 < size; r++) {
            const char *key = keys[next_random() % (uint64_t)distinct];
            int shape = (int)(next_random() % 16);
            const char *end = round % 2 ? "\r\n" : "\n";
            if (shape == 0)
                at += (size_t)snprintf(text + at, size - at, "%s%s", key, end); /* short */
            else if (shape == 1)
                at += (size_t)snprintf(text + at, size - at, "%s,%d,9%s", key, r, end); /* long */
            else if (shape == 2)
                at += (size_t)snprintf(text + at, size - at, "%s,z%d%s", key, r, end); /* bad */
            else
                at += (size_t)snprintf(text + at, size - at, "%s,%d%s", key, r, end);
        }
        text[at] = '\0';
        for (int mode = 0; mode < 2; mode++) {
            check_text(text, "k:string,n:int64", (ember_csv_mode)mode, false, NULL);
            check_text(text, "k:string,n:int64", (ember_csv_mode)mode, false, "NA");
        }
        check_text(text, "k:string,n:string", EMBER_CSV_PERMISSIVE, false, NULL);
    }
    free(text);
}

/* Every allocation failing in turn: an error with nothing left, or a partition whose groups,
 * where found, are right (a builder out of memory just gives up). */
static void test_allocation_failures(void **state) {
    (void)state;
    char *text = keyed_rows(3000, 300, "new,bad\n\"q,\",1\n");
    ember_schema schema = {0};
    ember_error err;
    assert_int_equal(ember_schema_parse("k:string,n:int64", &schema, &err), EMBER_OK);
    for (int k = 1;; k++) {
        parsed p = {0};
        ember_alloc_fail_after(k);
        parse(&p, text, &schema, EMBER_CSV_DROPMALFORMED, false, NULL, false);
        ember_alloc_fail_after(-1);
        if (p.status == EMBER_OK) {
            if (p.dictionaries[0].row_group)
                check_column(&p, 0);
            bool done = p.dictionaries[0].row_group != NULL;
            parsed_clear(&p);
            if (done)
                break;
        } else {
            assert_int_equal(p.status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_null(p.dictionaries[0].row_group);
            assert_null(p.part.columns);
        }
        assert_true(k < 200);
    }
    ember_schema_clear(&schema);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoted_fields), cmocka_unit_test(test_empty_fields_and_nulls),
        cmocka_unit_test(test_crlf),          cmocka_unit_test(test_malformed_rows),
        cmocka_unit_test(test_max_groups),    cmocka_unit_test(test_widening),
        cmocka_unit_test(test_random),        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
