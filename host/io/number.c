/* number.c: CSV number conversion. The float fast path is Clinger's: a mantissa below 2^53
 * and a power of ten up to 22 are both exact doubles, so one IEEE multiply or divide gives the
 * correctly rounded result; everything else goes to strtod. */
#include "io/number.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

/* Length of a leading '+' or '-' (0 or 1); *negative tells which. */
static size_t sign_length(const char *text, size_t len, bool *negative) {
    *negative = len > 0 && text[0] == '-';
    return len > 0 && (text[0] == '-' || text[0] == '+');
}

bool ember_parse_int64_general(const char *text, size_t len, int64_t *out) {
    bool negative;
    size_t i = sign_length(text, len, &negative);
    if (i == len)
        return false;
    uint64_t value = 0;
    /* The magnitude limit: 2^63 - 1, or 2^63 for a negative number. */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)text[i] - '0';
        if (digit > 9)
            return false;
        if (value > (limit - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

static const double powers_of_ten[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static bool special_value(const char *text, size_t len, double *out) {
    double sign = 1.0;
    if (len && (text[0] == '-' || text[0] == '+')) {
        sign = text[0] == '-' ? -1.0 : 1.0;
        text++;
        len--;
    }
    if ((len == 3 && strncasecmp(text, "inf", 3) == 0) ||
        (len == 8 && strncasecmp(text, "infinity", 8) == 0)) {
        *out = sign * __builtin_inf();
        return true;
    }
    if (len == 3 && strncasecmp(text, "nan", 3) == 0) {
        *out = __builtin_nan("");
        return true;
    }
    return false;
}

/* strtod on a NUL-terminated copy; the text was already checked against the grammar. */
static bool slow_path(const char *text, size_t len, double *out) {
    char local[128];
    char *copy = len < sizeof local ? local : ember_malloc(len + 1);
    if (!copy)
        return false;
    memcpy(copy, text, len);
    copy[len] = '\0';
    char *end = NULL;
    *out = strtod(copy, &end);
    bool ok = end == copy + len;
    if (copy != local)
        ember_free(copy);
    return ok;
}

bool ember_parse_float64_general(const char *text, size_t len, double *out) {
    if (len == 0)
        return false;
    bool negative;
    size_t i = sign_length(text, len, &negative);
    uint64_t mantissa = 0;
    int digits = 0, significant = 0, fraction_digits = 0;
    bool exact = true;
    for (; i < len && (unsigned)(unsigned char)text[i] - '0' <= 9; i++, digits++) {
        if (mantissa || text[i] != '0')
            significant++;
        if (significant > 19)
            exact = false;
        else
            mantissa = mantissa * 10 + (unsigned)(text[i] - '0');
    }
    if (i < len && text[i] == '.') {
        for (i++; i < len && (unsigned)(unsigned char)text[i] - '0' <= 9; i++, digits++) {
            if (mantissa || text[i] != '0')
                significant++;
            if (significant > 19)
                exact = false;
            else {
                mantissa = mantissa * 10 + (unsigned)(text[i] - '0');
                fraction_digits++;
            }
        }
    }
    if (digits == 0)
        return special_value(text, len, out);
    int exponent = 0;
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool exponent_negative = false;
        if (i < len && (text[i] == '-' || text[i] == '+'))
            exponent_negative = text[i++] == '-';
        size_t start = i;
        for (; i < len && (unsigned)(unsigned char)text[i] - '0' <= 9; i++)
            if (exponent < 100000)
                exponent = exponent * 10 + (text[i] - '0');
        if (i == start)
            return false;
        if (exponent_negative)
            exponent = -exponent;
    }
    if (i != len)
        return false;
    int scale = exponent - fraction_digits;
    if (exact && mantissa < (1ull << 53) && scale >= -22 && scale <= 22) {
        double value = (double)mantissa;
        value = scale < 0 ? value / powers_of_ten[-scale] : value * powers_of_ten[scale];
        *out = negative ? -value : value;
        return true;
    }
    return slow_path(text, len, out);
}
