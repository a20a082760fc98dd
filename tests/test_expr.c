/* test_expr.c: expressions (host/plan/expr*.c): parsing and type checking with every error
 * message, the host evaluator on hand-computed cases (nulls, division by zero, wrapping, NaN,
 * infinities), and a differential test: thousands of random well-typed expressions over random
 * data with nulls, evaluated by the host evaluator and by the generated OpenCL code on the
 * device, compared exactly (floats bit for bit, except where exp/log/pow are involved). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "testutil.h"

#include "common/alloc.h"
#include "data/column_build.h"
#include "device/buffer.h"
#include "device/device.h"
#include "device/program.h"
#include "plan/expr.h"

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------------------------
 * The fixed table of the hand-written cases.
 * ------------------------------------------------------------------------------------- */

static char *fixed_names[] = {"id", "price", "qty", "region", "unit price"};
static ember_type fixed_types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_INT64,
                                   EMBER_TYPE_STRING, EMBER_TYPE_FLOAT64};
static const ember_schema fixed_schema = {5, fixed_names, fixed_types};
#define FIXED_ROWS 3

typedef struct table {
    int column_count;
    int64_t rows;
    ember_column columns[16];
} table;

static void table_init(table *t, int column_count, const ember_type *types) {
    memset(t, 0, sizeof *t);
    t->column_count = column_count;
    for (int c = 0; c < column_count; c++)
        assert_true(ember_column_init(&t->columns[c], types[c], 64));
}

static void table_clear(table *t) {
    for (int c = 0; c < t->column_count; c++) {
        ember_free_aligned(t->columns[c].validity);
        ember_free_aligned(t->columns[c].values);
        ember_free_aligned(t->columns[c].bytes);
    }
    memset(t, 0, sizeof *t);
}

static void put_int(table *t, int c, int64_t v) {
    assert_true(ember_column_append_int64(&t->columns[c], v));
}
static void put_float(table *t, int c, double v) {
    assert_true(ember_column_append_float64(&t->columns[c], v));
}
static void put_string(table *t, int c, const char *s, size_t len) {
    bool too_big = false;
    assert_true(ember_column_append_string(&t->columns[c], s, len, &too_big));
}
static void put_null(table *t, int c) {
    assert_true(ember_column_append_null(&t->columns[c]));
}

/* Rows: (1, 2.5, 4, 'EU', null), (null, null, null, null, 1.0),
 * (INT64_MAX, NaN, -3, '', -inf). */
static void fixed_table(table *t) {
    table_init(t, 5, fixed_types);
    put_int(t, 0, 1);
    put_float(t, 1, 2.5);
    put_int(t, 2, 4);
    put_string(t, 3, "EU", 2);
    put_null(t, 4);
    for (int c = 0; c < 4; c++)
        put_null(t, c);
    put_float(t, 4, 1.0);
    put_int(t, 0, INT64_MAX);
    put_float(t, 1, NAN);
    put_int(t, 2, -3);
    put_string(t, 3, "", 0);
    put_float(t, 4, -INFINITY);
    t->rows = FIXED_ROWS;
}

/* ---------------------------------------------------------------------------------------
 * Values as text, for hand-written expectations and messages.
 * ------------------------------------------------------------------------------------- */

static void value_format(const ember_expr_value *v, char *buf, size_t size) {
    if (v->is_null) {
        snprintf(buf, size, "null");
        return;
    }
    switch (v->type) {
    case EMBER_VALUE_INT64:
        snprintf(buf, size, "%" PRId64, v->int_value);
        break;
    case EMBER_VALUE_BOOL:
        snprintf(buf, size, "%s", v->int_value ? "true" : "false");
        break;
    case EMBER_VALUE_FLOAT64:
        if (isnan(v->float_value)) {
            snprintf(buf, size, "nan");
        } else if (isinf(v->float_value)) {
            snprintf(buf, size, "%sinf", v->float_value < 0 ? "-" : "");
        } else {
            snprintf(buf, size, "%.17g", v->float_value);
            if (!strpbrk(buf, ".e"))
                strncat(buf, ".0", size - strlen(buf) - 1);
        }
        break;
    case EMBER_VALUE_STRING:
        snprintf(buf, size, "'%.*s'", (int)v->string_length, v->string);
        break;
    default:
        snprintf(buf, size, "?");
        break;
    }
}

static ember_expr *parse_ok(const char *text, const ember_schema *schema) {
    ember_error err;
    ember_error_clear(&err);
    ember_expr *expr = NULL;
    ember_status status = ember_expr_parse(text, schema, &expr, &err);
    if (status != EMBER_OK)
        fail_msg("%s: %s", text, err.message);
    return expr;
}

/* ---------------------------------------------------------------------------------------
 * Parsing and type checking.
 * ------------------------------------------------------------------------------------- */

static void test_parse_types(void **state) {
    static const struct {
        const char *text;
        ember_value_type type;
    } cases[] = {
        {"price * qty", EMBER_VALUE_FLOAT64},
        {"qty * 2", EMBER_VALUE_INT64},
        {"qty / 2", EMBER_VALUE_FLOAT64},
        {"qty % 2", EMBER_VALUE_INT64},
        {"qty % 2.0", EMBER_VALUE_FLOAT64},
        {"region = 'EU' and qty > 1", EMBER_VALUE_BOOL},
        {"region == 'EU' && qty >= 1 || !(price < 2)", EMBER_VALUE_BOOL},
        {"null", EMBER_VALUE_NULL},
        {"if(true, null, null)", EMBER_VALUE_NULL},
        {"coalesce(null, null)", EMBER_VALUE_NULL},
        {"null + null", EMBER_VALUE_INT64},
        {"null / null", EMBER_VALUE_FLOAT64},
        {"null = null", EMBER_VALUE_BOOL},
        {"coalesce(region, null)", EMBER_VALUE_STRING},
        {"if(null, 1, 2.5)", EMBER_VALUE_FLOAT64},
        {"`unit price`", EMBER_VALUE_FLOAT64},
        {"ABS(qty)", EMBER_VALUE_INT64},
        {"Sqrt(qty)", EMBER_VALUE_FLOAT64},
        {"floor(qty)", EMBER_VALUE_INT64},
        {"round(price)", EMBER_VALUE_FLOAT64},
        {"least(qty, 2, id)", EMBER_VALUE_INT64},
        {"greatest(qty, 2.5)", EMBER_VALUE_FLOAT64},
        {"int(price)", EMBER_VALUE_INT64},
        {"int(true)", EMBER_VALUE_INT64},
        {"float(qty)", EMBER_VALUE_FLOAT64},
        {"is_null(region)", EMBER_VALUE_BOOL},
        {"is_not_null(null)", EMBER_VALUE_BOOL},
        {"TRUE AND NOT FALSE", EMBER_VALUE_BOOL},
        {"not qty = 2", EMBER_VALUE_BOOL}, /* not (qty = 2) */
        {"(true) = (1 < 2)", EMBER_VALUE_BOOL},
        {"'it''s'", EMBER_VALUE_STRING},
        {"-9223372036854775808", EMBER_VALUE_INT64},
        {" \t\n qty \r\n", EMBER_VALUE_INT64},
        {".5 + 1. + 1e3 + 2E-2", EMBER_VALUE_FLOAT64},
        {"if(qty > 1, region, 'none')", EMBER_VALUE_STRING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_expr *expr = parse_ok(cases[i].text, &fixed_schema);
        if (ember_expr_type(expr) != cases[i].type)
            fail_msg("%s: type %s, expected %s", cases[i].text,
                     ember_value_type_name(ember_expr_type(expr)),
                     ember_value_type_name(cases[i].type));
        ember_expr_free(expr);
    }
    ember_expr_free(NULL);
}

static void test_columns_used(void **state) {
    ember_expr *expr = parse_ok("price * qty + coalesce(`unit price`, 0)", &fixed_schema);
    assert_false(ember_expr_uses_column(expr, 0));
    assert_true(ember_expr_uses_column(expr, 1));
    assert_true(ember_expr_uses_column(expr, 2));
    assert_false(ember_expr_uses_column(expr, 3));
    assert_true(ember_expr_uses_column(expr, 4));
    assert_false(ember_expr_uses_column(expr, 5));
    assert_false(ember_expr_uses_column(expr, -1));
    assert_true(ember_expr_needs_fp64(expr));
    ember_expr_free(expr);
    expr = parse_ok("qty > 3 and region = 'EU'", &fixed_schema);
    assert_false(ember_expr_needs_fp64(expr));
    assert_int_equal(expr->string_literal_count, 1);
    int32_t len;
    const char *text = ember_expr_string_literal(expr, 0, &len);
    assert_int_equal(len, 2);
    assert_memory_equal(text, "EU", 2);
    ember_expr_free(expr);
    /* Comparing int64 with float64 computes in float64. */
    expr = parse_ok("qty < 2.5", &fixed_schema);
    assert_true(ember_expr_needs_fp64(expr));
    ember_expr_free(expr);
}

static void test_parse_errors(void **state) {
    static const struct {
        const char *text;
        ember_status status;
        const char *message;
    } cases[] = {
        {"price * qtx", EMBER_ERROR_SCHEMA,
         "expression \"price * qtx\", position 9: unknown column 'qtx' (columns: id, price, qty, "
         "region, `unit price`)"},
        {"`unit  price` > 1", EMBER_ERROR_SCHEMA,
         "expression \"`unit  price` > 1\", position 1: unknown column 'unit  price' (columns: id, "
         "price, qty, region, `unit price`)"},
        {"Price", EMBER_ERROR_SCHEMA,
         "expression \"Price\", position 1: unknown column 'Price' (columns: id, price, qty, "
         "region, `unit price`)"},
        {"", EMBER_ERROR_INVALID_ARGUMENT, "expression \"\", position 1: empty expression"},
        {"   ", EMBER_ERROR_INVALID_ARGUMENT, "expression \"   \", position 1: empty expression"},
        {"1 +", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"1 +\", position 4: expected a value, found the end of the expression"},
        {"qty * * 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"qty * * 2\", position 7: expected a value, found '*'"},
        {"(1 + 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"(1 + 2\", position 7: expected ')' to close the '(' at position 1, found "
         "the end of the expression"},
        {"1 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"1 2\", position 3: unexpected '2' after a complete expression (an "
         "operator is missing?)"},
        {"qty)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"qty)\", position 4: unexpected ')' after a complete expression (an "
         "operator is missing?)"},
        {"region = 'EU", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"region = 'EU\", position 10: unterminated string (a ' is missing)"},
        {"`unit price > 1", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"`unit price > 1\", position 1: unterminated column name (a ` is missing)"},
        {"price # 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"price # 2\", position 7: unexpected character '#'"},
        {"qty > 1 & qty < 3", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"qty > 1 & qty < 3\", position 9: unexpected character '&' (did you mean "
         "'&&'?)"},
        {"qty | 1", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"qty | 1\", position 5: unexpected character '|' (did you mean '||'?)"},
        {"12abc", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"12abc\", position 1: malformed number '12abc'"},
        {"1.2.3", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"1.2.3\", position 1: malformed number '1.2.3'"},
        {"99999999999999999999", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"99999999999999999999\", position 1: integer 99999999999999999999 is out "
         "of range for int64"},
        {"9223372036854775808", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"9223372036854775808\", position 1: integer 9223372036854775808 is out of "
         "range for int64"},
        {"-9223372036854775809", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"-9223372036854775809\", position 2: integer 9223372036854775809 is out of "
         "range for int64"},
        {"1e999", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"1e999\", position 1: number 1e999 is out of range for float64"},
        {"price + region", EMBER_ERROR_SCHEMA,
         "expression \"price + region\", position 7: operator '+' needs numbers, got float64 and "
         "string"},
        {"region < 'x'", EMBER_ERROR_SCHEMA,
         "expression \"region < 'x'\", position 8: operator '<' cannot order string values "
         "(strings support only = and !=)"},
        {"true >= false", EMBER_ERROR_SCHEMA,
         "expression \"true >= false\", position 6: operator '>=' cannot order bool values "
         "(booleans support only = and !=)"},
        {"region = 1", EMBER_ERROR_SCHEMA,
         "expression \"region = 1\", position 8: operator '=' cannot compare string and int64"},
        {"qty AND true", EMBER_ERROR_SCHEMA,
         "expression \"qty AND true\", position 5: operator 'and' needs booleans, got int64 and "
         "bool"},
        {"true || 1", EMBER_ERROR_SCHEMA,
         "expression \"true || 1\", position 6: operator '||' needs booleans, got bool and "
         "int64"},
        {"not qty", EMBER_ERROR_SCHEMA,
         "expression \"not qty\", position 1: operator 'not' needs a boolean, got int64"},
        {"!price", EMBER_ERROR_SCHEMA,
         "expression \"!price\", position 1: operator '!' needs a boolean, got float64"},
        {"-region", EMBER_ERROR_SCHEMA,
         "expression \"-region\", position 1: operator '-' needs a number, got string"},
        {"1 < 2 < 3", EMBER_ERROR_SCHEMA,
         "expression \"1 < 2 < 3\", position 7: operator '<' cannot compare bool and int64"},
        {"sqr(price)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"sqr(price)\", position 1: unknown function 'sqr' (functions: abs, sqrt, "
         "exp, log, pow, floor, ceil, round, least, greatest, if, coalesce, is_null, "
         "is_not_null, int, float)"},
        {"pow(price)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"pow(price)\", position 1: function pow takes 2 arguments, got 1"},
        {"qty + abs()", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"qty + abs()\", position 7: function abs takes 1 argument, got 0"},
        {"least(1)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"least(1)\", position 1: function least takes at least 2 arguments, got "
         "1"},
        {"coalesce()", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"coalesce()\", position 1: function coalesce takes at least 1 argument, "
         "got 0"},
        {"if(true, 1)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"if(true, 1)\", position 1: function if takes 3 arguments, got 2"},
        {"sqrt(region)", EMBER_ERROR_SCHEMA,
         "expression \"sqrt(region)\", position 1: function sqrt needs a number, got string"},
        {"least(1, 'a')", EMBER_ERROR_SCHEMA,
         "expression \"least(1, 'a')\", position 1: function least needs numbers, got string "
         "(argument 2)"},
        {"if(qty, 1, 2)", EMBER_ERROR_SCHEMA,
         "expression \"if(qty, 1, 2)\", position 1: function if needs a boolean condition, got "
         "int64"},
        {"if(true, 1, 'a')", EMBER_ERROR_SCHEMA,
         "expression \"if(true, 1, 'a')\", position 1: function if has branches of different "
         "types, int64 and string"},
        {"coalesce(null, 1, 'a')", EMBER_ERROR_SCHEMA,
         "expression \"coalesce(null, 1, 'a')\", position 1: function coalesce has arguments of "
         "different types, int64 and string (argument 3)"},
        {"int(region)", EMBER_ERROR_SCHEMA,
         "expression \"int(region)\", position 1: function int cannot convert string (it takes "
         "int64, float64 or bool)"},
        {"pow(1, 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"pow(1, 2\", position 9: expected ',' or ')' in the arguments of pow, "
         "found the end of the expression"},
        {"pow(1 2)", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"pow(1 2)\", position 7: expected ',' or ')' in the arguments of pow, "
         "found '2'"},
        /* Positions count characters, not bytes: é is two bytes. */
        {"'\xc3\xa9' = regionx", EMBER_ERROR_SCHEMA,
         "expression \"'\xc3\xa9' = regionx\", position 7: unknown column 'regionx' (columns: id, "
         "price, qty, region, `unit price`)"},
        /* Bytes of UTF-8 sequences are identifier characters: € is a (bare) name here. */
        {"price \xe2\x82\xac 2", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"price \xe2\x82\xac 2\", position 7: unexpected '\xe2\x82\xac' after a "
         "complete expression (an operator is missing?)"},
        {"\xe2\x82\xac + 1", EMBER_ERROR_SCHEMA,
         "expression \"\xe2\x82\xac + 1\", position 1: unknown column '\xe2\x82\xac' (columns: id, "
         "price, qty, region, `unit price`)"},
        {"true = not false", EMBER_ERROR_INVALID_ARGUMENT,
         "expression \"true = not false\", position 8: expected a value, found 'not' (not binds "
         "more loosely than comparisons: write (not x))"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ember_error err;
        ember_error_clear(&err);
        ember_expr *expr = (ember_expr *)&err; /* must be reset to NULL */
        ember_status status = ember_expr_parse(cases[i].text, &fixed_schema, &expr, &err);
        if (status != cases[i].status || strcmp(err.message, cases[i].message) != 0)
            fail_msg("%s:\n  got      %d %s\n  expected %d %s", cases[i].text, status, err.message,
                     cases[i].status, cases[i].message);
        assert_null(expr);
    }
}

/* Nesting and chains deeper than EMBER_EXPR_MAX_DEPTH are refused, not recursed into. */
static void test_parse_depth(void **state) {
    size_t n = 300;
    char *text = malloc(4 * n + 16);
    assert_non_null(text);
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        text[len++] = '(';
    text[len++] = '1';
    for (size_t i = 0; i < n; i++)
        text[len++] = ')';
    text[len] = '\0';
    ember_error err;
    ember_error_clear(&err);
    ember_expr *expr;
    assert_int_equal(ember_expr_parse(text, &fixed_schema, &expr, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "nested too deeply (more than 256 levels)"));
    len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "1+");
    sprintf(text + len, "1");
    ember_error_clear(&err);
    assert_int_equal(ember_expr_parse(text, &fixed_schema, &expr, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "nested too deeply"));
    len = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(text + len, "-");
    sprintf(text + len, "qty");
    ember_error_clear(&err);
    assert_int_equal(ember_expr_parse(text, &fixed_schema, &expr, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    assert_non_null(strstr(err.message, "nested too deeply"));
    /* 200 levels are fine. */
    len = 0;
    for (size_t i = 0; i < 200; i++)
        len += (size_t)sprintf(text + len, "abs(");
    len += (size_t)sprintf(text + len, "qty");
    for (size_t i = 0; i < 200; i++)
        text[len++] = ')';
    text[len] = '\0';
    expr = parse_ok(text, &fixed_schema);
    ember_expr_free(expr);
    free(text);
}

/* ---------------------------------------------------------------------------------------
 * Hand-computed cases: the semantics of docs/expressions.md, one line each.
 * ------------------------------------------------------------------------------------- */

typedef struct hand_case {
    const char *text;
    int row;
    const char *expected;
} hand_case;

static const hand_case hand_cases[] = {
    /* arithmetic and precedence */
    {"1 + 2", 0, "3"},
    {"2 + 3 * 4", 0, "14"},
    {"(2 + 3) * 4", 0, "20"},
    {"10 - 2 - 3", 0, "5"},
    {"2 * 3.5", 0, "7.0"},
    {"-qty * 2", 0, "-8"},
    {"- -5", 0, "5"},
    {"7 / 2", 0, "3.5"},
    {"-7 / 2", 0, "-3.5"},
    {"0.1 + 0.2", 0, "0.30000000000000004"},
    /* % : the sign follows the dividend; x % 0 is null */
    {"7 % 3", 0, "1"},
    {"-7 % 3", 0, "-1"},
    {"7 % -3", 0, "1"},
    {"7 % 0", 0, "null"},
    {"-9223372036854775808 % -1", 0, "0"},
    {"7.5 % 2", 0, "1.5"},
    {"-7.5 % 2", 0, "-1.5"},
    {"7.5 % 0", 0, "null"},
    {"-1.0 % 1", 0, "-0.0"},
    /* / : division by zero (either zero) is null, as in Spark */
    {"1 / 0", 0, "null"},
    {"1.0 / 0.0", 0, "null"},
    {"0.0 / 0.0", 0, "null"},
    {"1 / -0.0", 0, "null"},
    {"qty / (qty - 4)", 0, "null"},
    /* int64 wraps in two's complement */
    {"9223372036854775807 + 1", 0, "-9223372036854775808"},
    {"-9223372036854775808 - 1", 0, "9223372036854775807"},
    {"4611686018427387904 * 2", 0, "-9223372036854775808"},
    {"3037000500 * 3037000500", 0, "-9223372036709301616"},
    {"-(-9223372036854775808)", 0, "-9223372036854775808"},
    {"abs(-9223372036854775808)", 0, "-9223372036854775808"},
    {"id + 1", 2, "-9223372036854775808"},
    /* floats: IEEE results, infinities, NaN */
    {"1e308 * 10", 0, "inf"},
    {"-1e308 * 10", 0, "-inf"},
    {"1e308 * 10 - 1e308 * 10", 0, "nan"},
    {"5e-324 / 2", 0, "0.0"},
    {"2.2250738585072014e-308 / 4", 0, "5.5626846462680035e-309"},
    {"`unit price` * 0", 2, "nan"},
    {"price + 1", 2, "nan"},
    {"sqrt(-1.0)", 0, "nan"},
    {"sqrt(4)", 0, "2.0"},
    {"sqrt(2)", 0, "1.4142135623730951"},
    {"sqrt(-0.0)", 0, "-0.0"},
    {"exp(0)", 0, "1.0"},
    {"exp(1000)", 0, "inf"},
    {"exp(-1000)", 0, "0.0"},
    {"log(1)", 0, "0.0"},
    {"log(0)", 0, "null"},
    {"log(-0.0)", 0, "null"},
    {"log(-1)", 0, "null"},
    {"log(sqrt(-1.0))", 0, "nan"},
    {"log(1e308 * 10)", 0, "inf"},
    {"pow(2, 10)", 0, "1024.0"},
    {"pow(0, 0)", 0, "1.0"},
    {"pow(2, -1)", 0, "0.5"},
    {"pow(-8, 1.0 / 3)", 0, "nan"},
    {"pow(0, -1)", 0, "inf"},
    {"pow(sqrt(-1.0), 0)", 0, "1.0"},
    /* rounding */
    {"round(2.5)", 0, "3.0"},
    {"round(-2.5)", 0, "-3.0"},
    {"round(0.5)", 0, "1.0"},
    {"round(-0.4)", 0, "-0.0"},
    {"round(0.49999999999999994)", 0, "0.0"},
    {"floor(-1.5)", 0, "-2.0"},
    {"ceil(-1.5)", 0, "-1.0"},
    {"ceil(-0.5)", 0, "-0.0"},
    {"floor(7)", 0, "7"},
    {"round(-7)", 0, "-7"},
    {"floor(sqrt(-1.0))", 0, "nan"},
    /* conversions */
    {"int(2.9)", 0, "2"},
    {"int(-2.9)", 0, "-2"},
    {"int(1e19)", 0, "null"},
    {"int(9223372036854775807.0)", 0, "null"}, /* that double is 2^63 */
    {"int(-9223372036854775808.0)", 0, "-9223372036854775808"},
    {"int(9223372036854774784.0)", 0, "9223372036854774784"},
    {"int(sqrt(-1.0))", 0, "null"},
    {"int(1e308 * 10)", 0, "null"},
    {"int(true)", 0, "1"},
    {"int(qty)", 0, "4"},
    {"float(3)", 0, "3.0"},
    {"float(9007199254740993)", 0, "9007199254740992.0"},
    {"float(false)", 0, "0.0"},
    {"float(id)", 2, "9.2233720368547758e+18"},
    /* comparisons; Spark's NaN order: NaN = NaN and NaN above everything */
    {"1 < 2", 0, "true"},
    {"1 = 1.0", 0, "true"},
    {"2 <> 2", 0, "false"},
    {"2 == 2", 0, "true"},
    {"sqrt(-1.0) = sqrt(-1.0)", 0, "true"},
    {"sqrt(-1.0) != sqrt(-1.0)", 0, "false"},
    {"sqrt(-1.0) > 1e308 * 10", 0, "true"},
    {"sqrt(-1.0) < 0", 0, "false"},
    {"price > 1e308", 2, "true"},
    {"price >= price", 2, "true"},
    {"0.0 = -0.0", 0, "true"},
    {"-1e308 * 10 < -1e308", 0, "true"},
    {"9007199254740993 = 9007199254740992.0", 0, "true"}, /* compared in float64 */
    {"9007199254740993 = 9007199254740992", 0, "false"},
    {"'a' = 'a'", 0, "true"},
    {"'a' != 'b'", 0, "true"},
    {"'a' = 'A'", 0, "false"},
    {"'a' = 'a '", 0, "false"},
    {"'it''s' = 'it''s'", 0, "true"},
    {"'' = ''", 0, "true"},
    {"true = false", 0, "false"},
    {"(1 < 2) = (2 < 3)", 0, "true"},
    {"null = null", 0, "null"},
    {"qty > null", 0, "null"},
    /* three-valued logic */
    {"true and null", 0, "null"},
    {"false and null", 0, "false"},
    {"null and false", 0, "false"},
    {"true or null", 0, "true"},
    {"null or true", 0, "true"},
    {"false or null", 0, "null"},
    {"null and null", 0, "null"},
    {"not null", 0, "null"},
    {"!true", 0, "false"},
    {"true && false || true", 0, "true"},
    {"true or false and false", 0, "true"},
    {"not 1 = 2", 0, "true"},
    {"not not true", 0, "true"},
    {"qty > 1 and region = 'EU'", 0, "true"},
    {"qty > 1 and region = 'EU'", 1, "null"},
    {"qty > 1 or region = 'EU'", 1, "null"},
    {"is_null(qty) or qty > 1", 1, "true"},
    /* if, coalesce, least, greatest */
    {"if(null, 1, 2)", 0, "2"},
    {"if(true, 1, 2.5)", 0, "1.0"},
    {"if(false, 'x', 'y')", 0, "'y'"},
    {"if(1 > 2, null, 3)", 0, "3"},
    {"if(1 < 2, null, 3)", 0, "null"},
    {"if(qty > 1, 'big', 'small')", 1, "'small'"},
    {"coalesce(null, 2, 3)", 0, "2"},
    {"coalesce(null, null)", 0, "null"},
    {"coalesce(null, 1.5)", 0, "1.5"},
    {"coalesce(qty, 1.5)", 0, "4.0"},
    {"coalesce(region, 'none')", 1, "'none'"},
    {"coalesce(region, 'none')", 2, "''"},
    {"coalesce(id / 0, -1)", 0, "-1.0"},
    {"least(3, 1, 2)", 0, "1"},
    {"greatest(3, null, 5)", 0, "5"},
    {"least(null, null)", 0, "null"},
    {"least(1, 2.5)", 0, "1.0"},
    {"greatest(1, sqrt(-1.0))", 0, "nan"},
    {"least(1, sqrt(-1.0))", 0, "1.0"},
    {"least(0.0, -0.0)", 0, "0.0"},
    {"greatest(-0.0, 0.0)", 0, "-0.0"},
    {"greatest(qty, id, -5)", 1, "-5"},
    /* null tests */
    {"is_null(null)", 0, "true"},
    {"is_not_null(1)", 0, "true"},
    {"is_null(1 / 0)", 0, "true"},
    {"is_null(region)", 1, "true"},
    {"is_not_null(`unit price`)", 0, "false"},
    /* columns */
    {"price * qty", 0, "10.0"},
    {"price * qty", 1, "null"},
    {"id + qty", 1, "null"},
    {"region = 'EU'", 0, "true"},
    {"region = 'EU'", 1, "null"},
    {"region = ''", 2, "true"},
    {"region", 0, "'EU'"},
    {"`unit price` + 1", 1, "2.0"},
    {"`unit price`", 2, "-inf"},
    {"null", 0, "null"},
    {"'caf\xc3\xa9'", 0, "'caf\xc3\xa9'"},
};
#define HAND_CASES (sizeof hand_cases / sizeof hand_cases[0])

static void test_eval_cases(void **state) {
    table t;
    fixed_table(&t);
    int failures = 0;
    for (size_t i = 0; i < HAND_CASES; i++) {
        ember_expr *expr = parse_ok(hand_cases[i].text, &fixed_schema);
        ember_expr_value value;
        ember_expr_eval(expr, t.columns, hand_cases[i].row, &value);
        char got[128];
        value_format(&value, got, sizeof got);
        if (strcmp(got, hand_cases[i].expected) != 0) {
            fprintf(stderr, "%s (row %d): got %s, expected %s\n", hand_cases[i].text,
                    hand_cases[i].row, got, hand_cases[i].expected);
            failures++;
        }
        ember_expr_free(expr);
    }
    table_clear(&t);
    assert_int_equal(failures, 0);
}

/* ---------------------------------------------------------------------------------------
 * Code generation without a device.
 * ------------------------------------------------------------------------------------- */

/* Neither the expression's text nor a column's name reaches the source. */
static void test_codegen_text(void **state) {
    char *names[] = {"x */ evil_name", "s"};
    ember_type types[] = {EMBER_TYPE_INT64, EMBER_TYPE_STRING};
    ember_schema schema = {2, names, types};
    ember_expr *expr =
        parse_ok("`x */ evil_name` > 1 and s = '*/ evil_literal #include \"\\\n'", &schema);
    char *source = NULL;
    size_t length = 0;
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(ember_expr_codegen(expr, "f1", &source, &length, &err), EMBER_OK);
    assert_int_equal(length, strlen(source));
    assert_null(strstr(source, "evil"));
    assert_null(strstr(source, "#include"));
    assert_non_null(strstr(source, "#define f1_VALUE int\n"));
    assert_non_null(strstr(source, "static inline void f1(const ulong row, f1_VALUE *value"));
    assert_non_null(strstr(source, "#define f1_PARAMS , __global const long *col0_values, "
                                   "__global const uchar *col0_validity , __global const int "
                                   "*col1_offsets, __global const uchar *col1_bytes, __global "
                                   "const uchar *col1_validity\n"));
    assert_non_null(strstr(source, "#define f1_ARGS , col0_values, col0_validity , "
                                   "col1_offsets, col1_bytes, col1_validity\n"));
    ember_free(source);
    /* Without float64 in the expression, no double outside the prelude's #ifdef: such code
     * builds on devices without cl_khr_fp64. */
    ember_expr *ints = parse_ok("qty % 3 > -2 and region = 'EU' or is_null(id)", &fixed_schema);
    assert_false(ember_expr_needs_fp64(ints));
    assert_int_equal(ember_expr_codegen(ints, "f2", &source, NULL, &err), EMBER_OK);
    const char *body = strstr(source, "/* expression f2");
    assert_non_null(body);
    assert_null(strstr(body, "double"));
    ember_free(source);
    ember_expr_free(ints);
    /* Bad names are refused: not identifiers, the prelude's prefix, longer than 64. */
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = '\0';
    const char *bad[] = {"", "1f", "f-1", "f 1", NULL, "ember_expr_valid", long_name};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_error_clear(&err);
        assert_int_equal(ember_expr_codegen(expr, bad[i], &source, NULL, &err),
                         EMBER_ERROR_INVALID_ARGUMENT);
        assert_null(source);
    }
    ember_expr_free(expr);
}

/* Every allocation of parsing and emitting can fail: the call reports it and leaks nothing
 * (ASan checks the leaks). */
static void test_alloc_failures(void **state) {
    const char *text = "if(region = 'EU' or `unit price` > 1, price * qty, -1.5) > least(qty, 2, "
                       "coalesce(id, 0)) and region != 'x''y'";
    bool parsed = false, emitted = false;
    for (long n = 1; n < 1000 && !(parsed && emitted); n++) {
        ember_error err;
        ember_error_clear(&err);
        ember_expr *expr = NULL;
        ember_alloc_fail_after(n);
        ember_status status = ember_expr_parse(text, &fixed_schema, &expr, &err);
        if (status != EMBER_OK) {
            ember_alloc_fail_after(0);
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_null(expr);
            assert_non_null(strstr(err.message, "out of memory"));
            continue;
        }
        parsed = true;
        char *source = NULL;
        status = ember_expr_codegen(expr, "e", &source, NULL, &err);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            emitted = true;
            ember_free(source);
        } else {
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_null(source);
        }
        ember_expr_free(expr);
    }
    ember_alloc_fail_after(0);
    assert_true(parsed && emitted);
}

/* ---------------------------------------------------------------------------------------
 * Running expressions on the device: one program holds a batch of expressions (functions
 * e0, e1, ...) and one kernel that evaluates expression get_global_id(1) for row
 * get_global_id(0), declaring every column with the names the generated code expects.
 * ------------------------------------------------------------------------------------- */

typedef struct device_results {
    int64_t *ints;  /* int64, bool, string references; [expression * rows + row] */
    double *floats; /* float64 */
    int32_t *nulls; /* 1 = null */
    double build_seconds, run_seconds;
} device_results;

static void device_results_free(device_results *r) {
    free(r->ints);
    free(r->floats);
    free(r->nulls);
}

typedef struct text {
    char *data;
    size_t length, capacity;
} text;

static void text_add(text *t, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *format, ...) {
    for (;;) {
        va_list args;
        va_start(args, format);
        int n = vsnprintf(t->data ? t->data + t->length : NULL,
                          t->data ? t->capacity - t->length : 0, format, args);
        va_end(args);
        assert_true(n >= 0);
        if (t->data && (size_t)n < t->capacity - t->length) {
            t->length += (size_t)n;
            return;
        }
        t->capacity = (t->capacity + (size_t)n + 1) * 2;
        t->data = realloc(t->data, t->capacity);
        assert_non_null(t->data);
    }
}

/* Expressions per kernel. pocl's build and launch work grows with the number of kernels and,
 * faster than linearly, with the size of one kernel: a few hundred per kernel was fastest
 * (2000 expressions: 30 s against 45 s with 50 and 52 s with all in one kernel). */
#define KERNEL_BATCH 250

static void build_source(text *src, ember_expr *const *exprs, int count, const table *t) {
    for (int k = 0; k < count; k++) {
        char name[32], *code = NULL;
        snprintf(name, sizeof name, "e%d", k);
        ember_error err;
        ember_error_clear(&err);
        assert_int_equal(ember_expr_codegen(exprs[k], name, &code, NULL, &err), EMBER_OK);
        text_add(src, "%s", code);
        ember_free(code);
    }
    text_add(src, "#define ALL_COLUMNS");
    for (int c = 0; c < t->column_count; c++) {
        if (t->columns[c].type == EMBER_TYPE_STRING)
            text_add(src, ", __global const int *col%d_offsets, __global const uchar *col%d_bytes",
                     c, c);
        else
            text_add(src, ", __global const %s *col%d_values",
                     t->columns[c].type == EMBER_TYPE_INT64 ? "long" : "double", c);
        text_add(src, ", __global const uchar *col%d_validity", c);
    }
    text_add(src, "\n");
    int batch = KERNEL_BATCH;
    for (int first = 0; first < count; first += batch) {
        text_add(src,
                 "__kernel void expr_test_%d(const ulong rows, __global long *out_int, __global "
                 "double *out_float, __global int *out_null ALL_COLUMNS) {\n"
                 "    const ulong row = get_global_id(0);\n"
                 "    const uint which = %d + (uint)get_global_id(1);\n"
                 "    if (row >= rows)\n        return;\n"
                 "    const ulong slot = which * rows + row;\n    switch (which) {\n",
                 first / batch, first);
        for (int k = first; k < count && k < first + batch; k++) {
            const char *out =
                ember_expr_type(exprs[k]) == EMBER_VALUE_FLOAT64 ? "out_float" : "out_int";
            text_add(src,
                     "    case %d: { e%d_VALUE v; int n; e%d(row, &v, &n e%d_ARGS); %s[slot] = v; "
                     "out_null[slot] = n; break; }\n",
                     k, k, k, k, out);
        }
        text_add(src, "    }\n}\n");
    }
}

#define CL_CHECK(call)                                                                             \
    do {                                                                                           \
        cl_int rc_ = (call);                                                                       \
        if (rc_ != CL_SUCCESS)                                                                     \
            fail_msg("%s: %s", #call, ember_cl_error_name(rc_));                                   \
    } while (0)

static void run_on_device(ember_expr *const *exprs, int count, const table *t, const char *options,
                          device_results *out) {
    const ember_worker *worker = &tu_workers[0];
    cl_command_queue queue = worker->queues[0];
    text src = {0};
    build_source(&src, exprs, count, t);
    ember_error err;
    ember_error_clear(&err);
    double start = now_seconds();
    cl_program program;
    ember_status status =
        ember_program_get(tu_programs, worker, src.data, src.length, options, &program, &err);
    if (status != EMBER_OK) {
        char *path = tu_tmp_path("expr_failed.cl"); /* kept for reading */
        tu_write_file(path, src.data, src.length);
        fail_msg("build (source in %s): %.4000s", path, err.message);
    }
    free(src.data);
    out->build_seconds = now_seconds() - start;

    start = now_seconds();
    size_t cells = (size_t)count * (size_t)t->rows;
    cl_mem outputs[3];
    size_t sizes[3] = {cells * sizeof(int64_t), cells * sizeof(double), cells * sizeof(int32_t)};
    for (int i = 0; i < 3; i++)
        assert_int_equal(ember_buffer_create(worker, sizes[i], &outputs[i], &err), EMBER_OK);
    cl_mem inputs[48], args[48];
    int input_count = 0, arg_count = 0;
    for (int c = 0; c < t->column_count; c++) {
        const ember_column *column = &t->columns[c];
        void *host[3] = {column->values, column->bytes, column->validity};
        size_t bytes[3] = {column->type == EMBER_TYPE_STRING
                               ? ((size_t)t->rows + 1) * sizeof(int32_t)
                               : (size_t)t->rows * 8,
                           (size_t)column->bytes_len, ((size_t)t->rows + 7) / 8};
        for (int b = 0; b < 3; b++) {
            if (b == 1 && column->type != EMBER_TYPE_STRING)
                continue;
            if (!host[b]) { /* no nulls: the kernel gets a NULL validity buffer */
                args[arg_count++] = NULL;
                continue;
            }
            cl_mem *mem = &inputs[input_count++];
            assert_int_equal(ember_buffer_from_host(worker, queue, host[b], bytes[b], mem, &err),
                             EMBER_OK);
            args[arg_count++] = *mem;
        }
    }
    int batch = KERNEL_BATCH;
    cl_ulong rows = (cl_ulong)t->rows;
    for (int first = 0; first < count; first += batch) {
        char name[64];
        snprintf(name, sizeof name, "expr_test_%d", first / batch);
        cl_int rc;
        cl_kernel kernel = clCreateKernel(program, name, &rc);
        CL_CHECK(rc);
        cl_uint arg = 0;
        CL_CHECK(clSetKernelArg(kernel, arg++, sizeof rows, &rows));
        for (int i = 0; i < 3; i++)
            CL_CHECK(clSetKernelArg(kernel, arg++, sizeof(cl_mem), &outputs[i]));
        for (int i = 0; i < arg_count; i++)
            CL_CHECK(clSetKernelArg(kernel, arg++, sizeof(cl_mem), args[i] ? &args[i] : NULL));
        size_t global[2] = {(size_t)t->rows,
                            (size_t)(count - first < batch ? count - first : batch)};
        CL_CHECK(clEnqueueNDRangeKernel(queue, kernel, 2, NULL, global, NULL, 0, NULL, NULL));
        clReleaseKernel(kernel); /* the queued launch keeps what it needs */
    }
    out->ints = malloc(sizes[0]);
    out->floats = malloc(sizes[1]);
    out->nulls = malloc(sizes[2]);
    assert_true(out->ints && out->floats && out->nulls);
    void *dest[3] = {out->ints, out->floats, out->nulls};
    for (int i = 0; i < 3; i++)
        CL_CHECK(
            clEnqueueReadBuffer(queue, outputs[i], CL_TRUE, 0, sizes[i], dest[i], 0, NULL, NULL));
    out->run_seconds = now_seconds() - start;
    for (int i = 0; i < 3; i++)
        clReleaseMemObject(outputs[i]);
    for (int i = 0; i < input_count; i++)
        clReleaseMemObject(inputs[i]);
}

/* The device's result for expression k, row as a value (string references resolved). */
static ember_expr_value device_value(const ember_expr *expr, const table *t,
                                     const device_results *r, int k, int64_t row) {
    size_t slot = (size_t)k * (size_t)t->rows + (size_t)row;
    ember_expr_value v = {.type = ember_expr_type(expr), .is_null = r->nulls[slot] != 0};
    if (v.is_null)
        return v;
    if (v.type == EMBER_VALUE_FLOAT64) {
        v.float_value = r->floats[slot];
    } else if (v.type == EMBER_VALUE_STRING) {
        int64_t ref = r->ints[slot];
        if (ref >= 0) {
            assert_true(ref < t->column_count && t->columns[ref].type == EMBER_TYPE_STRING);
            v.string = ember_column_string(&t->columns[ref], row, &v.string_length);
        } else {
            assert_true(-ref - 1 < expr->string_literal_count);
            v.string = ember_expr_string_literal(expr, (int)(-ref - 1), &v.string_length);
        }
    } else {
        v.int_value = r->ints[slot];
    }
    return v;
}

/* exp, log and pow are not correctly rounded on every device (OpenCL allows a few ulp). */
static bool uses_inexact_function(const ember_expr_node *node) {
    if (node->kind == EMBER_EXPR_CALL &&
        (node->function == EMBER_FN_EXP || node->function == EMBER_FN_LOG ||
         node->function == EMBER_FN_POW))
        return true;
    for (int i = 0; i < node->child_count; i++)
        if (uses_inexact_function(node->children[i]))
            return true;
    return false;
}

typedef enum match { MATCH_EXACT, MATCH_CLOSE, MATCH_NO } match;

/* Exact: same null flag and same value (floats bit for bit; any NaN matches any NaN). Close:
 * floats within 1e-12 relative, allowed only when tolerant. */
static match values_match(const ember_expr_value *a, const ember_expr_value *b) {
    if (a->is_null != b->is_null)
        return MATCH_NO;
    if (a->is_null)
        return MATCH_EXACT;
    switch (a->type) {
    case EMBER_VALUE_FLOAT64: {
        double x = a->float_value, y = b->float_value;
        if (isnan(x) || isnan(y))
            return isnan(x) && isnan(y) ? MATCH_EXACT : MATCH_NO;
        if (memcmp(&x, &y, sizeof x) == 0)
            return MATCH_EXACT;
        if (isinf(x) || isinf(y))
            return MATCH_NO;
        return fabs(x - y) <= 1e-12 * fmax(fabs(x), fabs(y)) ? MATCH_CLOSE : MATCH_NO;
    }
    case EMBER_VALUE_STRING:
        return a->string_length == b->string_length &&
                       (a->string_length == 0 ||
                        memcmp(a->string, b->string, (size_t)a->string_length) == 0)
                   ? MATCH_EXACT
                   : MATCH_NO;
    default:
        return a->int_value == b->int_value ? MATCH_EXACT : MATCH_NO;
    }
}

typedef struct compare_stats {
    long cells, nulls, close, mismatches;
} compare_stats;

/* Compares host and device for every expression and row; prints the first mismatches. */
static void compare_all(ember_expr *const *exprs, int count, const table *t,
                        const device_results *r, compare_stats *stats) {
    for (int k = 0; k < count; k++) {
        bool tolerant = uses_inexact_function(exprs[k]->root);
        for (int64_t row = 0; row < t->rows; row++) {
            ember_expr_value host, device = device_value(exprs[k], t, r, k, row);
            ember_expr_eval(exprs[k], t->columns, row, &host);
            match m = values_match(&host, &device);
            stats->cells++;
            stats->nulls += host.is_null;
            if (m == MATCH_EXACT || (m == MATCH_CLOSE && tolerant)) {
                stats->close += m == MATCH_CLOSE;
                continue;
            }
            if (stats->mismatches++ < 20) {
                char h[128], d[128];
                value_format(&host, h, sizeof h);
                value_format(&device, d, sizeof d);
                fprintf(stderr, "mismatch: %s, row %" PRId64 ": host %s (%a), device %s (%a)\n",
                        exprs[k]->text, row, h, host.float_value, d, device.float_value);
            }
        }
    }
}

static void need_device(void) {
    if (tu_worker_count == 0)
        skip();
}

/* The hand-written cases again, on the device. */
static void test_device_cases(void **state) {
    need_device();
    table t;
    fixed_table(&t);
    ember_expr *exprs[HAND_CASES];
    for (size_t i = 0; i < HAND_CASES; i++)
        exprs[i] = parse_ok(hand_cases[i].text, &fixed_schema);
    device_results r = {0};
    run_on_device(exprs, (int)HAND_CASES, &t, NULL, &r);
    compare_stats stats = {0};
    compare_all(exprs, (int)HAND_CASES, &t, &r, &stats);
    /* And each case's own row against its expectation. */
    int failures = 0;
    for (size_t i = 0; i < HAND_CASES; i++) {
        ember_expr_value v = device_value(exprs[i], &t, &r, (int)i, hand_cases[i].row);
        char got[128];
        value_format(&v, got, sizeof got);
        if (strcmp(got, hand_cases[i].expected) != 0 && !uses_inexact_function(exprs[i]->root)) {
            fprintf(stderr, "device: %s (row %d): got %s, expected %s\n", hand_cases[i].text,
                    hand_cases[i].row, got, hand_cases[i].expected);
            failures++;
        }
    }
    fprintf(stderr,
            "device cases: %zu expressions x %" PRId64 " rows, build %.2f s, run %.3f s, "
            "%ld close, %ld mismatches\n",
            HAND_CASES, t.rows, r.build_seconds, r.run_seconds, stats.close, stats.mismatches);
    for (size_t i = 0; i < HAND_CASES; i++)
        ember_expr_free(exprs[i]);
    device_results_free(&r);
    table_clear(&t);
    assert_int_equal(failures, 0);
    assert_int_equal(stats.mismatches, 0);
}

/* ---------------------------------------------------------------------------------------
 * Random expressions.
 * ------------------------------------------------------------------------------------- */

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

/* The values edge cases live at (kept in rows, not one per line). */
/* clang-format off */
static const int64_t int_pool[] = {
    0, 1, -1, 2, -2, 3, 7, -7, 10, 100, -1000, INT64_MAX, INT64_MIN, INT64_MAX - 1,
    INT64_MIN + 1, 4294967296, -2147483648, 3037000500, 9007199254740993, 4611686018427387904};

static const double float_pool[] = {
    0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 3.0, -7.25, 1e300, -1e300, 1e-300,
    5e-324, 1e-310, 1.7976931348623157e308, 1e15, -1e15, 4503599627370497.0,
    9.2233720368547758e18, -9.2233720368547758e18, 0.49999999999999994, 100.0, 2.0};
/* clang-format on */

static const char *const string_pool[] = {
    "", "a", "b", "ab", "EU", "US", "eu", "hello world", "it's", "caf\xc3\xa9", "a'b''c", "`x`"};

static double random_float(rng *r) {
    switch (rng_below(r, 10)) {
    case 0:
        return NAN;
    case 1:
        return rng_percent(r, 50) ? INFINITY : -INFINITY;
    case 2:
    case 3:
        return (double)((int64_t)(rng_next(r) % 2001) - 1000) / 8.0;
    case 4: { /* any finite bit pattern */
        uint64_t bits = rng_next(r);
        double d;
        memcpy(&d, &bits, sizeof d);
        return isfinite(d) ? d : 1.0;
    }
    default:
        return float_pool[rng_below(r, (int)(sizeof float_pool / sizeof float_pool[0]))];
    }
}

static int64_t random_int(rng *r) {
    switch (rng_below(r, 6)) {
    case 0:
        return (int64_t)rng_next(r);
    case 1:
        return (int64_t)(rng_next(r) % 201) - 100;
    default:
        return int_pool[rng_below(r, (int)(sizeof int_pool / sizeof int_pool[0]))];
    }
}

/* A random schema: at least two columns of each type, some names that need backticks, and
 * a first column without nulls (its validity buffer is NULL on the device). */
#define RANDOM_COLUMNS 9
static char *random_names[RANDOM_COLUMNS] = {"c0",  "c1", "c2",    "col 3", "c4",
                                             "c`5", "c6", "col 7", "c8"};
static ember_type random_types[RANDOM_COLUMNS];

static void random_table(rng *r, table *t, int64_t rows) {
    for (int c = 0; c < RANDOM_COLUMNS; c++)
        random_types[c] = (ember_type)(c % 3);
    for (int c = RANDOM_COLUMNS - 1; c > 0; c--) {
        int other = rng_below(r, c + 1);
        ember_type swap = random_types[c];
        random_types[c] = random_types[other];
        random_types[other] = swap;
    }
    table_init(t, RANDOM_COLUMNS, random_types);
    for (int64_t row = 0; row < rows; row++) {
        for (int c = 0; c < RANDOM_COLUMNS; c++) {
            if (c > 0 && rng_percent(r, 15)) {
                put_null(t, c);
                continue;
            }
            if (random_types[c] == EMBER_TYPE_INT64) {
                put_int(t, c, random_int(r));
            } else if (random_types[c] == EMBER_TYPE_FLOAT64) {
                put_float(t, c, random_float(r));
            } else {
                const char *s =
                    string_pool[rng_below(r, (int)(sizeof string_pool / sizeof string_pool[0]))];
                if (rng_percent(r, 5))
                    put_string(t, c, "a\0b", 3); /* bytes, not C strings */
                else
                    put_string(t, c, s, strlen(s));
            }
        }
    }
    t->rows = rows;
}

typedef enum gen_type { GEN_INT, GEN_FLOAT, GEN_BOOL, GEN_STRING } gen_type;

typedef struct gen {
    rng *r;
    text *out;
} gen;

static void gen_expr(gen *g, gen_type type, int depth, bool inexact_ok);

static void gen_column(gen *g, ember_type type) {
    int candidates[RANDOM_COLUMNS], n = 0;
    for (int c = 0; c < RANDOM_COLUMNS; c++)
        if (random_types[c] == type)
            candidates[n++] = c;
    const char *name = random_names[candidates[rng_below(g->r, n)]];
    if (strchr(name, ' ') || strchr(name, '`') || rng_percent(g->r, 10)) {
        text_add(g->out, "`");
        for (const char *s = name; *s; s++)
            text_add(g->out, *s == '`' ? "``" : "%c", *s);
        text_add(g->out, "`");
    } else {
        text_add(g->out, "%s", name);
    }
}

static void gen_null(gen *g) {
    text_add(g->out, rng_percent(g->r, 50) ? "null" : "NULL");
}

static void gen_leaf(gen *g, gen_type type) {
    rng *r = g->r;
    if (rng_percent(r, 5)) {
        gen_null(g);
        return;
    }
    bool column = rng_percent(r, 60);
    switch (type) {
    case GEN_INT:
        if (column)
            gen_column(g, EMBER_TYPE_INT64);
        else
            text_add(g->out, "%" PRId64, random_int(r));
        break;
    case GEN_FLOAT:
        if (column) {
            gen_column(g, EMBER_TYPE_FLOAT64);
        } else {
            double d = float_pool[rng_below(r, (int)(sizeof float_pool / sizeof float_pool[0]))];
            char buf[64];
            snprintf(buf, sizeof buf, "%.17g", d);
            text_add(g->out, "%s%s", buf, strpbrk(buf, ".e") ? "" : ".0");
        }
        break;
    case GEN_BOOL:
        text_add(g->out, "%s", rng_percent(r, 50) ? "true" : "FALSE");
        break;
    case GEN_STRING:
        if (column) {
            gen_column(g, EMBER_TYPE_STRING);
        } else {
            const char *s =
                string_pool[rng_below(r, (int)(sizeof string_pool / sizeof string_pool[0]))];
            text_add(g->out, "'");
            for (; *s; s++)
                text_add(g->out, *s == '\'' ? "''" : "%c", *s);
            text_add(g->out, "'");
        }
        break;
    }
}

static void gen_numeric(gen *g, int depth, bool inexact_ok) {
    gen_expr(g, rng_percent(g->r, 50) ? GEN_INT : GEN_FLOAT, depth, inexact_ok);
}

static const char *pick(rng *r, const char *const *words, int n) {
    return words[rng_below(r, n)];
}

/* Two or three arguments of which the first has type. */
static void gen_args(gen *g, gen_type type, bool numeric_rest, int depth, bool inexact_ok) {
    int n = 2 + rng_below(g->r, 2);
    for (int i = 0; i < n; i++) {
        if (i)
            text_add(g->out, ", ");
        if (i == 0 || !numeric_rest)
            gen_expr(g, type, depth, inexact_ok);
        else
            gen_numeric(g, depth, inexact_ok);
    }
}

static void gen_int(gen *g, int depth) {
    rng *r = g->r;
    text *o = g->out;
    int d = depth - 1;
    static const char *const arith[] = {"+", "-", "*"};
    static const char *const rounding[] = {"floor", "ceil", "round", "FLOOR"};
    switch (rng_below(r, 11)) {
    case 0:
    case 1:
        text_add(o, "(");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, " %s ", pick(r, arith, 3));
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ")");
        break;
    case 2:
        text_add(o, "(");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, " %% ");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ")");
        break;
    case 3:
        text_add(o, "-");
        gen_expr(g, GEN_INT, d, false);
        break;
    case 4:
        text_add(o, "abs(");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ")");
        break;
    case 5:
        text_add(o, "int(");
        gen_expr(g, rng_percent(r, 80) ? GEN_FLOAT : GEN_BOOL, d, false);
        text_add(o, ")");
        break;
    case 6:
        text_add(o, "%s(", pick(r, rounding, 4));
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ")");
        break;
    case 7:
        text_add(o, "%s(", rng_percent(r, 50) ? "least" : "greatest");
        gen_args(g, GEN_INT, false, d, false);
        text_add(o, ")");
        break;
    case 8:
        text_add(o, "if(");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ", ");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ", ");
        gen_expr(g, GEN_INT, d, false);
        text_add(o, ")");
        break;
    case 9:
        text_add(o, "coalesce(");
        gen_args(g, GEN_INT, false, d, false);
        text_add(o, ")");
        break;
    default:
        gen_leaf(g, GEN_INT);
        break;
    }
}

/* Float expressions. exp, log and pow (not correctly rounded on every device) appear only
 * where inexact_ok: on paths to the root through operations that keep a small relative error
 * small (* / numerator, -, abs, sqrt, least, greatest, if and coalesce branches), never under
 * + - (cancellation), comparisons, rounding, int() or a divisor (a null flag could flip). */
static void gen_float(gen *g, int depth, bool inexact_ok) {
    rng *r = g->r;
    text *o = g->out;
    int d = depth - 1;
    static const char *const rounding[] = {"floor", "ceil", "round"};
    static const char *const inexact[] = {"exp", "log", "pow"};
    bool swap = rng_percent(r, 50);
    switch (rng_below(r, 14)) {
    case 0: /* one float operand makes the sum float */
    case 1:
        text_add(o, "(");
        if (swap)
            gen_numeric(g, d, false);
        else
            gen_expr(g, GEN_FLOAT, d, false);
        text_add(o, " %s ", rng_percent(r, 50) ? "+" : "-");
        if (swap)
            gen_expr(g, GEN_FLOAT, d, false);
        else
            gen_numeric(g, d, false);
        text_add(o, ")");
        break;
    case 2:
        text_add(o, "(");
        gen_expr(g, GEN_FLOAT, d, inexact_ok);
        text_add(o, " * ");
        gen_numeric(g, d, inexact_ok);
        text_add(o, ")");
        break;
    case 3:
        text_add(o, "(");
        gen_numeric(g, d, inexact_ok);
        text_add(o, " / ");
        gen_numeric(g, d, false);
        text_add(o, ")");
        break;
    case 4:
        text_add(o, "(");
        gen_expr(g, GEN_FLOAT, d, false);
        text_add(o, " %% ");
        gen_numeric(g, d, false);
        text_add(o, ")");
        break;
    case 5:
        text_add(o, "-");
        gen_expr(g, GEN_FLOAT, d, inexact_ok);
        break;
    case 6:
        text_add(o, "%s(", rng_percent(r, 50) ? "abs" : "sqrt");
        gen_expr(g, GEN_FLOAT, d, inexact_ok);
        text_add(o, ")");
        break;
    case 7:
        if (inexact_ok) {
            const char *f = pick(r, inexact, 3);
            text_add(o, "%s(", f);
            gen_numeric(g, d, false);
            if (f[0] == 'p') {
                text_add(o, ", ");
                gen_numeric(g, d, false);
            }
            text_add(o, ")");
            break;
        }
        /* fall through */
    case 8:
        text_add(o, "%s(", pick(r, rounding, 3));
        gen_expr(g, GEN_FLOAT, d, false);
        text_add(o, ")");
        break;
    case 9:
        text_add(o, "%s(", rng_percent(r, 50) ? "least" : "Greatest");
        gen_args(g, GEN_FLOAT, true, d, inexact_ok);
        text_add(o, ")");
        break;
    case 10:
        text_add(o, "if(");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ", ");
        if (swap)
            gen_numeric(g, d, inexact_ok);
        else
            gen_expr(g, GEN_FLOAT, d, inexact_ok);
        text_add(o, ", ");
        if (swap)
            gen_expr(g, GEN_FLOAT, d, inexact_ok);
        else
            gen_numeric(g, d, inexact_ok);
        text_add(o, ")");
        break;
    case 11:
        text_add(o, "coalesce(");
        gen_args(g, GEN_FLOAT, true, d, inexact_ok);
        text_add(o, ")");
        break;
    case 12:
        text_add(o, "float(");
        if (rng_percent(r, 70))
            gen_expr(g, GEN_INT, d, false);
        else
            gen_expr(g, rng_percent(r, 50) ? GEN_BOOL : GEN_FLOAT, d, false);
        text_add(o, ")");
        break;
    default:
        gen_leaf(g, GEN_FLOAT);
        break;
    }
}

static void gen_bool(gen *g, int depth) {
    rng *r = g->r;
    text *o = g->out;
    int d = depth - 1;
    static const char *const logic[] = {"and", "AND", "&&", "or", "OR", "||"};
    static const char *const order[] = {"=", "==", "!=", "<>", "<", "<=", ">", ">="};
    static const char *const equality[] = {"=", "==", "!=", "<>"};
    switch (rng_below(r, 10)) {
    case 0:
    case 1:
        text_add(o, "(");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, " %s ", pick(r, logic, 6));
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ")");
        break;
    case 2:
        /* In parentheses: not binds more loosely than a comparison around it. */
        text_add(o, "(%s", rng_percent(r, 50) ? "not " : "!");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ")");
        break;
    case 3:
    case 4:
        text_add(o, "(");
        gen_numeric(g, d, false);
        text_add(o, " %s ", pick(r, order, 8));
        gen_numeric(g, d, false);
        text_add(o, ")");
        break;
    case 5:
        text_add(o, "(");
        gen_expr(g, GEN_STRING, d, false);
        text_add(o, " %s ", pick(r, equality, 4));
        gen_expr(g, GEN_STRING, d, false);
        text_add(o, ")");
        break;
    case 6:
        text_add(o, "(");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, " %s ", pick(r, equality, 4));
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ")");
        break;
    case 7:
        text_add(o, "%s(", rng_percent(r, 50) ? "is_null" : "is_not_null");
        gen_expr(g, (gen_type)rng_below(r, 4), d, false);
        text_add(o, ")");
        break;
    case 8:
        if (rng_percent(r, 50)) {
            text_add(o, "if(");
            gen_expr(g, GEN_BOOL, d, false);
            text_add(o, ", ");
            gen_expr(g, GEN_BOOL, d, false);
            text_add(o, ", ");
            gen_expr(g, GEN_BOOL, d, false);
        } else {
            text_add(o, "coalesce(");
            gen_args(g, GEN_BOOL, false, d, false);
        }
        text_add(o, ")");
        break;
    default:
        gen_leaf(g, GEN_BOOL);
        break;
    }
}

static void gen_string(gen *g, int depth) {
    rng *r = g->r;
    text *o = g->out;
    int d = depth - 1;
    switch (rng_below(r, 4)) {
    case 0:
        text_add(o, "if(");
        gen_expr(g, GEN_BOOL, d, false);
        text_add(o, ", ");
        gen_expr(g, GEN_STRING, d, false);
        text_add(o, ", ");
        gen_expr(g, GEN_STRING, d, false);
        text_add(o, ")");
        break;
    case 1:
        text_add(o, "coalesce(");
        gen_args(g, GEN_STRING, false, d, false);
        text_add(o, ")");
        break;
    default:
        gen_leaf(g, GEN_STRING);
        break;
    }
}

static void gen_expr(gen *g, gen_type type, int depth, bool inexact_ok) {
    if (depth <= 0 || rng_percent(g->r, 15)) {
        if (type == GEN_BOOL && depth > 0) { /* a leaf comparison */
            text_add(g->out, "(");
            gen_leaf(g, GEN_INT);
            text_add(g->out, " < ");
            gen_leaf(g, rng_percent(g->r, 50) ? GEN_INT : GEN_FLOAT);
            text_add(g->out, ")");
            return;
        }
        gen_leaf(g, type);
        return;
    }
    switch (type) {
    case GEN_INT:
        gen_int(g, depth);
        break;
    case GEN_FLOAT:
        gen_float(g, depth, inexact_ok);
        break;
    case GEN_BOOL:
        gen_bool(g, depth);
        break;
    case GEN_STRING:
        gen_string(g, depth);
        break;
    }
}

#define RANDOM_ROWS 200

static long count_nodes(const ember_expr_node *node) {
    long n = 1;
    for (int i = 0; i < node->child_count; i++)
        n += count_nodes(node->children[i]);
    return n;
}

/* Random expressions over a random table, host against device. The seed (and the count) can
 * be set with EMBER_EXPR_SEED (EMBER_EXPR_COUNT) to reproduce or widen a run. */
static void differential(uint64_t seed, int count, const char *options) {
    need_device();
    const char *env = getenv("EMBER_EXPR_SEED");
    if (env && *env)
        seed += strtoull(env, NULL, 10);
    env = getenv("EMBER_EXPR_COUNT");
    if (env && atoi(env) > 0)
        count = atoi(env);
    rng r = {seed};
    table t;
    random_table(&r, &t, RANDOM_ROWS);
    ember_schema schema = {RANDOM_COLUMNS, random_names, random_types};
    ember_expr **exprs = calloc((size_t)count, sizeof *exprs);
    assert_non_null(exprs);
    int by_type[5] = {0};
    long nodes = 0;
    for (int k = 0; k < count; k++) {
        text src = {0};
        gen g = {&r, &src};
        static const gen_type roots[] = {GEN_INT,  GEN_INT,  GEN_FLOAT, GEN_FLOAT, GEN_FLOAT,
                                         GEN_BOOL, GEN_BOOL, GEN_BOOL,  GEN_STRING};
        gen_expr(&g, roots[rng_below(&r, 9)], 1 + rng_below(&r, 5), true);
        exprs[k] = parse_ok(src.data, &schema);
        by_type[ember_expr_type(exprs[k])]++;
        nodes += count_nodes(exprs[k]->root);
        free(src.data);
    }
    double start = now_seconds();
    device_results results = {0};
    run_on_device(exprs, count, &t, options, &results);
    compare_stats stats = {0};
    double compare_start = now_seconds();
    compare_all(exprs, count, &t, &results, &stats);
    fprintf(stderr,
            "differential (seed %" PRIu64 ", options '%s'): %d expressions (%d int64, %d float64, "
            "%d bool, %d string, %d null; %.1f nodes on average) x %d rows = %ld results, %.0f%% "
            "null; build %.2f s, "
            "run %.2f s, host %.2f s, total %.2f s; %ld float64 results within 1e-12 but not "
            "bit-equal (exp, log, pow); %ld mismatches\n",
            seed, options ? options : "", count, by_type[0], by_type[1], by_type[3], by_type[2],
            by_type[4], (double)nodes / count, RANDOM_ROWS, stats.cells,
            100.0 * (double)stats.nulls / (double)stats.cells, results.build_seconds,
            results.run_seconds, now_seconds() - compare_start, now_seconds() - start, stats.close,
            stats.mismatches);
    for (int k = 0; k < count; k++)
        ember_expr_free(exprs[k]);
    free(exprs);
    device_results_free(&results);
    table_clear(&t);
    assert_int_equal(stats.mismatches, 0);
}

/* Volume: thousands of expressions, built without optimization, which pocl compiles about
 * three times faster (the semantics do not depend on the optimizer: contraction is off). */
static void test_differential(void **state) {
    differential(20240611, 2000, "-cl-opt-disable");
}

/* The optimizer's turn: fewer expressions, built as ember builds its kernels. */
static void test_differential_optimized(void **state) {
    differential(7, 200, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_types),    cmocka_unit_test(test_columns_used),
        cmocka_unit_test(test_parse_errors),   cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_eval_cases),     cmocka_unit_test(test_codegen_text),
        cmocka_unit_test(test_alloc_failures), cmocka_unit_test(test_device_cases),
        cmocka_unit_test(test_differential),   cmocka_unit_test(test_differential_optimized),
    };
    return cmocka_run_group_tests(tests, tu_devices_open, tu_devices_close);
}
