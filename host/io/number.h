/* number.h: exact text -> int64 / float64 conversion for CSV fields, with a fast path for the
 * plain decimal forms that make up nearly all data and strtod for the rest. */
#ifndef EMBER_IO_NUMBER_H
#define EMBER_IO_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The general conversions behind the inline ones below (any length, exponents, nan/inf). */
bool ember_parse_int64_general(const char *text, size_t len, int64_t *out);
bool ember_parse_float64_general(const char *text, size_t len, double *out);

/* [+-]digits, no spaces, no overflow. Up to 18 digits cannot overflow, so they take a short
 * loop inline; longer texts go to ember_parse_int64_general. */
static inline bool ember_parse_int64(const char *text, size_t len, int64_t *out) {
    size_t i = len > 0 && (text[0] == '-' || text[0] == '+');
    if (i == len || len - i > 18)
        return ember_parse_int64_general(text, len, out);
    uint64_t value = 0;
    for (; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)text[i] - '0';
        if (digit > 9)
            return false;
        value = value * 10 + digit;
    }
    *out = text[0] == '-' ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

/* [+-]digits[.digits][(e|E)[+-]digits] (a leading or trailing '.' allowed when a digit is
 * present), or nan / inf / infinity with optional sign, case-insensitive. No spaces, no hex.
 * Correctly rounded. Inline: [+-]digits[.digits] with 1 to 15 digits, which is a mantissa below
 * 2^53 over a power of ten up to 10^15, both exact doubles, so one IEEE division gives the
 * correctly rounded value (Clinger's fast path); the rest goes to ember_parse_float64_general. */
static inline bool ember_parse_float64(const char *text, size_t len, double *out) {
    static const double tens[16] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    size_t i = len > 0 && (text[0] == '-' || text[0] == '+');
    size_t start = i, point = len;
    uint64_t mantissa = 0;
    if (len - i > 16)
        return ember_parse_float64_general(text, len, out);
    for (; i < len; i++) {
        unsigned digit = (unsigned)(unsigned char)text[i] - '0';
        if (digit <= 9)
            mantissa = mantissa * 10 + digit;
        else if (text[i] == '.' && point == len)
            point = i;
        else
            return ember_parse_float64_general(text, len, out);
    }
    /* Digits: the bytes after the sign less the point; at least one, at most 15. */
    size_t digits = len - start - (point != len);
    if (digits == 0 || digits > 15)
        return ember_parse_float64_general(text, len, out);
    double value = (double)mantissa;
    if (point != len)
        value /= tens[len - 1 - point];
    *out = text[0] == '-' ? -value : value;
    return true;
}

#endif
