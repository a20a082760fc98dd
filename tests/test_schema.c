/* test_schema.c: explicit schema specs (types, aliases, errors) and the inference lattice. */
#include "testutil.h"

#include <string.h>

#include "common/alloc.h"
#include "io/schema.h"

static void test_parse_ok(void **state) {
    (void)state;
    ember_schema schema = {0};
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(
        ember_schema_parse(" id : int64, name:string,price:DOUBLE,n:bigint,t:text", &schema, &err),
        EMBER_OK);
    assert_int_equal(schema.count, 5);
    assert_string_equal(schema.names[0], "id");
    assert_string_equal(schema.names[1], "name");
    assert_int_equal(schema.types[0], EMBER_TYPE_INT64);
    assert_int_equal(schema.types[1], EMBER_TYPE_STRING);
    assert_int_equal(schema.types[2], EMBER_TYPE_FLOAT64);
    assert_int_equal(schema.types[3], EMBER_TYPE_INT64);
    assert_int_equal(schema.types[4], EMBER_TYPE_STRING);
    assert_int_equal(ember_schema_find(&schema, "price"), 2);
    assert_int_equal(ember_schema_find(&schema, "nope"), -1);
    ember_schema_clear(&schema);
}

static void expect_error(const char *spec, const char *needle) {
    ember_schema schema = {0};
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(ember_schema_parse(spec, &schema, &err), EMBER_ERROR_SCHEMA);
    if (!strstr(err.message, needle))
        fail_msg("schema \"%s\": message \"%s\" lacks \"%s\"", spec, err.message, needle);
    assert_int_equal(schema.count, 0);
}

static void test_parse_errors(void **state) {
    (void)state;
    expect_error("id:int64,name", "column 2");
    expect_error("id:int64,name:varchar", "unknown type \"varchar\"");
    expect_error("id:int64,id:string", "'id' appears twice");
    expect_error(":int64", "expected name:type");
    expect_error("", "expected name:type");
    expect_error("a:int64,", "column 2");
}

static void test_parse_out_of_memory(void **state) {
    (void)state;
    for (long n = 1; n < 20; n++) {
        ember_schema schema = {0};
        ember_error err;
        ember_error_clear(&err);
        ember_alloc_fail_after(n);
        ember_status status = ember_schema_parse("a:int64,b:string,c:float64", &schema, &err);
        ember_alloc_fail_after(0);
        assert_true(status == EMBER_OK || status == EMBER_ERROR_OUT_OF_MEMORY);
        ember_schema_clear(&schema);
    }
}

static ember_type widen(ember_type type, const char *text) {
    return ember_type_widen_for(type, text, strlen(text));
}

static void test_widening_lattice(void **state) {
    (void)state;
    assert_int_equal(widen(EMBER_TYPE_INT64, "42"), EMBER_TYPE_INT64);
    assert_int_equal(widen(EMBER_TYPE_INT64, "-7"), EMBER_TYPE_INT64);
    assert_int_equal(widen(EMBER_TYPE_INT64, "4.2"), EMBER_TYPE_FLOAT64);
    assert_int_equal(widen(EMBER_TYPE_INT64, "1e9"), EMBER_TYPE_FLOAT64);
    assert_int_equal(widen(EMBER_TYPE_INT64, "99999999999999999999"), EMBER_TYPE_FLOAT64);
    assert_int_equal(widen(EMBER_TYPE_INT64, "x1"), EMBER_TYPE_STRING);
    assert_int_equal(widen(EMBER_TYPE_FLOAT64, "3"), EMBER_TYPE_FLOAT64);
    assert_int_equal(widen(EMBER_TYPE_FLOAT64, "abc"), EMBER_TYPE_STRING);
    assert_int_equal(widen(EMBER_TYPE_STRING, "1"), EMBER_TYPE_STRING);
    /* An empty value says nothing about the type. */
    assert_int_equal(widen(EMBER_TYPE_INT64, ""), EMBER_TYPE_INT64);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_ok),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_parse_out_of_memory),
        cmocka_unit_test(test_widening_lattice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
