/* test_number.c: CSV number conversion against independent answers: hand-checked edge cases
 * for int64, and strtod (the C library's correctly rounded conversion) for float64. */
#include "testutil.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/number.h"

static bool parse_i(const char *text, int64_t *out) {
    return ember_parse_int64(text, strlen(text), out);
}

static void test_int64_edges(void **state) {
    (void)state;
    int64_t v = 0;
    assert_true(parse_i("0", &v) && v == 0);
    assert_true(parse_i("-0", &v) && v == 0);
    assert_true(parse_i("+17", &v) && v == 17);
    assert_true(parse_i("9223372036854775807", &v) && v == INT64_MAX);
    assert_true(parse_i("-9223372036854775808", &v) && v == INT64_MIN);
    assert_true(parse_i("000123", &v) && v == 123);
    assert_false(parse_i("9223372036854775808", &v));
    assert_false(parse_i("-9223372036854775809", &v));
    assert_false(parse_i("99999999999999999999", &v));
    assert_false(parse_i("", &v));
    assert_false(parse_i("-", &v));
    assert_false(parse_i("+", &v));
    assert_false(parse_i(" 1", &v));
    assert_false(parse_i("1 ", &v));
    assert_false(parse_i("1.0", &v));
    assert_false(parse_i("0x10", &v));
    assert_false(parse_i("1e3", &v));
    /* The length bounds the text: no reliance on a terminating NUL. */
    assert_true(ember_parse_int64("12345", 3, &v) && v == 123);
    /* Around the 18-digit inline limit. */
    assert_true(parse_i("999999999999999999", &v) && v == 999999999999999999);
    assert_true(parse_i("-999999999999999999", &v) && v == -999999999999999999);
    assert_true(parse_i("1000000000000000000", &v) && v == 1000000000000000000);
    assert_true(parse_i("+0000000000000000001", &v) && v == 1);
    assert_false(parse_i("12a", &v));
    assert_false(parse_i("1-", &v));
    assert_false(parse_i("--1", &v));
}

/* Random decimal strings of 1 to 21 digits: the same as strtoll (overflow rejected). */
static void test_int64_matches_strtoll(void **state) {
    (void)state;
    uint64_t seed = 2463534242ull;
    char text[32];
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int len = 0, digits = 1 + (int)(seed % 21);
        if (seed & (1ull << 40))
            text[len++] = (seed & (1ull << 41)) ? '-' : '+';
        uint64_t bits = seed >> 8;
        for (int d = 0; d < digits; d++, bits = bits * 6364136223846793005ull + 1)
            text[len++] = (char)('0' + (bits >> 60) % 10);
        text[len] = '\0';
        errno = 0;
        char *end = NULL;
        long long reference = strtoll(text, &end, 10);
        bool fits = errno == 0 && end == text + len;
        int64_t ours = 0;
        bool ok = ember_parse_int64(text, (size_t)len, &ours);
        if (ok != fits || (ok && ours != reference))
            fail_msg("%s: ember %d %lld, strtoll %d %lld", text, ok, (long long)ours, fits,
                     reference);
    }
}

static bool parse_f(const char *text, double *out) {
    return ember_parse_float64(text, strlen(text), out);
}

static void test_float64_edges(void **state) {
    (void)state;
    double d = 0;
    assert_true(parse_f("1.5", &d) && d == 1.5);
    assert_true(parse_f("-0.25", &d) && d == -0.25);
    assert_true(parse_f(".5", &d) && d == 0.5);
    assert_true(parse_f("5.", &d) && d == 5.0);
    assert_true(parse_f("1e3", &d) && d == 1000.0);
    assert_true(parse_f("1E-2", &d) && d == 0.01);
    assert_true(parse_f("-0", &d) && d == 0.0 && signbit(d));
    assert_true(parse_f("inf", &d) && isinf(d) && d > 0);
    assert_true(parse_f("-Infinity", &d) && isinf(d) && d < 0);
    assert_true(parse_f("NaN", &d) && isnan(d));
    assert_true(parse_f("1e400", &d) && isinf(d));
    assert_true(parse_f("123456789012345678901234567890", &d) && d == 1.2345678901234568e29);
    assert_false(parse_f("", &d));
    assert_false(parse_f(".", &d));
    assert_false(parse_f("-", &d));
    assert_false(parse_f("e5", &d));
    assert_false(parse_f("1e", &d));
    assert_false(parse_f("1e+", &d));
    assert_false(parse_f(" 1", &d));
    assert_false(parse_f("1 ", &d));
    assert_false(parse_f("0x1p3", &d));
    assert_false(parse_f("1,5", &d));
    assert_false(parse_f("1.2.3", &d));
    assert_false(parse_f("nanx", &d));
    assert_false(parse_f("abc", &d));
    /* Around the 15-digit inline limit and its other exits. */
    assert_true(parse_f("-0.0", &d) && d == 0.0 && signbit(d));
    assert_true(parse_f("+.5", &d) && d == 0.5);
    assert_true(parse_f("12345678.9012345", &d) && d == 12345678.9012345);
    assert_true(parse_f("1234567890123456", &d) && d == 1234567890123456.0);
    assert_true(parse_f("0.1234567890123456", &d) && d == 0.1234567890123456);
    assert_true(parse_f("9007199254740993", &d) && d == 9007199254740992.0);
    assert_false(parse_f("1..5", &d));
    assert_false(parse_f("1.5-", &d));
    assert_false(parse_f("+-1", &d));
}

/* Random decimal strings: the result must be bit-identical to strtod's. */
static void test_float64_matches_strtod(void **state) {
    (void)state;
    uint64_t seed = 88172645463325252ull;
    char text[64];
    for (int i = 0; i < 200000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int int_digits = (int)(seed % 12), frac_digits = (int)((seed >> 8) % 12);
        int exponent = (int)((seed >> 16) % 61) - 30;
        int len = 0;
        if (seed & (1ull << 40))
            text[len++] = '-';
        uint64_t digits = seed >> 20;
        for (int d = 0; d < int_digits; d++, digits = digits * 6364136223846793005ull + 1)
            text[len++] = (char)('0' + (digits >> 60) % 10);
        if (int_digits == 0 || frac_digits) {
            text[len++] = '.';
            for (int d = 0; d < frac_digits + (int_digits == 0);
                 d++, digits = digits * 6364136223846793005ull + 1)
                text[len++] = (char)('0' + (digits >> 60) % 10);
        }
        if (seed & (1ull << 41))
            len += snprintf(text + len, sizeof text - (size_t)len, "e%d", exponent);
        text[len] = '\0';
        double ours = 0, reference = strtod(text, NULL);
        assert_true(ember_parse_float64(text, (size_t)len, &ours));
        if (memcmp(&ours, &reference, sizeof ours) != 0)
            fail_msg("%s: ember %.17g, strtod %.17g", text, ours, reference);
    }
}

/* The word forms read 8 bytes whatever the length: random short texts (digits, points, signs,
 * exponents, other bytes), with random bytes after them, must give what the plain forms give. */
static void test_word_forms_match(void **state) {
    (void)state;
    static const char alphabet[] = "0123456789012345678901234567890123456789..-+eE /:x\0\xff";
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    char text[16];
    for (int i = 0; i < 400000; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        size_t len = seed % 11;
        uint64_t bits = seed >> 8;
        for (size_t k = 0; k < sizeof text; k++, bits = bits * 6364136223846793005ull + 1)
            text[k] = k < len ? alphabet[(bits >> 58) % (sizeof alphabet - 1)] : (char)(bits >> 56);
        int64_t a = 7, b = 7;
        bool ok_a = ember_parse_int64_word(text, len, &a), ok_b = ember_parse_int64(text, len, &b);
        if (ok_a != ok_b || a != b)
            fail_msg("int64 '%.*s': word %d %lld, plain %d %lld", (int)len, text, ok_a,
                     (long long)a, ok_b, (long long)b);
        double x = 7, y = 7;
        ok_a = ember_parse_float64_word(text, len, &x);
        ok_b = ember_parse_float64(text, len, &y);
        if (ok_a != ok_b || memcmp(&x, &y, sizeof x) != 0)
            fail_msg("float64 '%.*s': word %d %.17g, plain %d %.17g", (int)len, text, ok_a, x, ok_b,
                     y);
    }
    /* Every integer and every two-decimal price of up to 8 bytes around the shapes of the data. */
    for (int64_t v = -100000; v <= 100000; v++) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
        int64_t got = 0;
        assert_true(ember_parse_int64_word(buf, (size_t)n, &got) && got == v);
        n = snprintf(buf, sizeof buf, "%lld.%02lld", (long long)(v / 100),
                     (long long)(llabs(v) % 100));
        double d = 0, reference = strtod(buf, NULL);
        assert_true(ember_parse_float64_word(buf, (size_t)n, &d));
        if (memcmp(&d, &reference, sizeof d) != 0)
            fail_msg("%s: word %.17g, strtod %.17g", buf, d, reference);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int64_edges),      cmocka_unit_test(test_int64_matches_strtoll),
        cmocka_unit_test(test_float64_edges),    cmocka_unit_test(test_float64_matches_strtod),
        cmocka_unit_test(test_word_forms_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
