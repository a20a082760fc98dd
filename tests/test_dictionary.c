/* test_dictionary.c: the groups of a string column (data/dictionary.c) against a quadratic
 * reference: equal strings (and only those) share a group, ids follow first appearance, each
 * representative is its group's first row, nulls are one group; short keys (compared in the
 * table), long keys, keys equal in their first 16 bytes, empty strings and NUL bytes; the
 * max_groups refusal; allocation failures. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/dictionary.h"

static uint64_t rng = 12345;
static uint64_t next_random(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* A string column of rows values drawn from `distinct` keys of varied shapes; nulls when
 * null_every > 0 (about one row in null_every). */
static void make_column(ember_column *column, int64_t rows, int distinct, int null_every) {
    assert_true(ember_column_init(column, EMBER_TYPE_STRING, rows));
    for (int64_t r = 0; r < rows; r++) {
        if (null_every && next_random() % (uint64_t)null_every == 0) {
            assert_true(ember_column_append_null(column));
            continue;
        }
        int key = (int)(next_random() % (uint64_t)distinct);
        char text[64];
        size_t len;
        switch (key % 5) {
        case 0: /* short */
            len = (size_t)snprintf(text, sizeof text, "k%d", key);
            break;
        case 1: /* exactly 16 bytes, differing at the end */
            len = (size_t)snprintf(text, sizeof text, "sixteen-bytes%03d", key % 1000);
            break;
        case 2: /* long, equal in the first 16 bytes */
            len = (size_t)snprintf(text, sizeof text, "a-long-common-prefix-%d", key);
            break;
        case 3: /* an empty string (every key 3 mod 5 but one is a NUL byte) */
            len = key == 3 ? 0 : 1;
            text[0] = '\0';
            break;
        default: /* a NUL byte inside, so C string functions would see equal keys */
            len = (size_t)snprintf(text, sizeof text, "x%cy%d", 0, key);
            break;
        }
        assert_true(ember_column_append_string(column, text, len, NULL));
    }
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

/* Checks dictionary against the quadratic reference over column. */
static void check(const ember_column *column, const ember_dictionary *dictionary) {
    int64_t rows = column->length;
    int64_t *first = malloc(sizeof *first * (size_t)(rows + 1));
    int64_t groups = 0;
    for (int64_t r = 0; r < rows; r++) {
        int64_t g = 0;
        while (g < groups && !same_value(column, first[g], r))
            g++;
        if (g == groups)
            first[groups++] = r;
        assert_int_equal(dictionary->row_group[r], g);
    }
    assert_int_equal(dictionary->groups, groups);
    for (int64_t g = 0; g < groups; g++)
        assert_int_equal(dictionary->representative[g], first[g]);
    free(first);
}

static void test_matches_reference(void **state) {
    (void)state;
    const struct {
        int64_t rows;
        int distinct, null_every;
    } cases[] = {{1, 1, 0}, {7, 3, 0}, {500, 40, 7}, {3000, 700, 0}, {3000, 2000, 11}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_column column;
        make_column(&column, cases[i].rows, cases[i].distinct, cases[i].null_every);
        ember_dictionary dictionary;
        assert_true(ember_dictionary_build(&column, cases[i].rows, &dictionary));
        check(&column, &dictionary);
        ember_dictionary_clear(&dictionary);
        ember_column_clear(&column);
    }
}

static void test_all_null_and_empty(void **state) {
    (void)state;
    ember_column column;
    assert_true(ember_column_init(&column, EMBER_TYPE_STRING, 0));
    ember_dictionary dictionary;
    assert_true(ember_dictionary_build(&column, 4, &dictionary));
    assert_int_equal(dictionary.groups, 0);
    ember_dictionary_clear(&dictionary);
    for (int i = 0; i < 100; i++)
        assert_true(ember_column_append_null(&column));
    assert_true(ember_dictionary_build(&column, 4, &dictionary));
    assert_int_equal(dictionary.groups, 1);
    check(&column, &dictionary);
    ember_dictionary_clear(&dictionary);
    ember_column_clear(&column);
}

static void test_too_many_groups(void **state) {
    (void)state;
    ember_column column;
    make_column(&column, 2000, 1000, 9);
    ember_dictionary dictionary;
    /* Far fewer groups allowed than there are: refused, nothing left to free. */
    assert_false(ember_dictionary_build(&column, 10, &dictionary));
    assert_null(dictionary.row_group);
    assert_null(dictionary.representative);
    assert_int_equal(dictionary.groups, 0);
    ember_column_clear(&column);
}

static void test_allocation_failures(void **state) {
    (void)state;
    ember_column column;
    make_column(&column, 5000, 900, 13);
    for (int k = 0;; k++) {
        ember_alloc_fail_after(k);
        ember_dictionary dictionary;
        bool ok = ember_dictionary_build(&column, 5000, &dictionary);
        ember_alloc_fail_after(-1);
        if (ok) {
            check(&column, &dictionary);
            ember_dictionary_clear(&dictionary);
            break;
        }
        assert_null(dictionary.row_group);
        assert_true(k < 100);
    }
    ember_column_clear(&column);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_reference),
        cmocka_unit_test(test_all_null_and_empty),
        cmocka_unit_test(test_too_many_groups),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
