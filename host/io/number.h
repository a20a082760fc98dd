/* number.h: exact text -> int64 / float64 conversion for CSV fields, with a fast path for the
 * plain decimal forms that make up nearly all data and strtod for the rest. */
#ifndef EMBER_IO_NUMBER_H
#define EMBER_IO_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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

/* The word forms: the same results as the functions above, for callers that can read 8 bytes
 * at text whatever len is (text[0..8) must be readable). A text of at most 8 bytes in the
 * plain forms ([+-]digits, and for float64 [+-]digits[.digits]) is converted from one 64-bit
 * load without a loop or a data-dependent branch per digit; anything else goes to the
 * functions above. Little-endian only; elsewhere they are the functions above. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define EMBER_NUMBER_WORD 1

/* The top n (1 to 8) bytes of word as bytes 0..n), the bytes below them cleared. */
static inline __attribute__((always_inline)) uint64_t ember_word_top(const char *text, size_t len,
                                                                     size_t n) {
    uint64_t word;
    memcpy(&word, text, sizeof word);
    word <<= 8 * (8 - len);
    return word & (~UINT64_C(0) << (8 * (8 - n)));
}

/* The value of the decimal digits in the top n bytes of word (all below them zero; n from 1 to
 * 8), or false when one of those bytes is not a digit. Leading zero bytes read as leading zeros
 * (the first digit is the lowest byte). The conversion is the one of simdjson's
 * parse_eight_digits_unrolled. */
static inline __attribute__((always_inline)) bool ember_word_digits(uint64_t word, size_t n,
                                                                    uint64_t *value) {
    const uint64_t keep = ~UINT64_C(0) << (8 * (8 - n));
    const uint64_t d = word - (UINT64_C(0x3030303030303030) & keep);
    /* A byte below '0' wraps to 0xC0 or more, one above '9' reaches 0x10 after adding 6; a
     * borrow only leaves a byte that failed already. */
    if ((d | (d + UINT64_C(0x0606060606060606))) & UINT64_C(0xF0F0F0F0F0F0F0F0))
        return false;
    uint64_t v = (d * 2561) >> 8;
    v = ((v & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
    *value = ((v & UINT64_C(0x0000FFFF0000FFFF)) * UINT64_C(42949672960001)) >> 32;
    return true;
}

static inline __attribute__((always_inline)) bool ember_parse_int64_word(const char *text,
                                                                         size_t len, int64_t *out) {
    size_t sign = len > 0 && (text[0] == '-' || text[0] == '+');
    uint64_t value;
    if (len > 8 || len == sign ||
        !ember_word_digits(ember_word_top(text, len, len - sign), len - sign, &value))
        return ember_parse_int64(text, len, out);
    *out = text[0] == '-' ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

static inline __attribute__((always_inline)) bool
ember_parse_float64_word(const char *text, size_t len, double *out) {
    static const double tens[8] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
    size_t sign = len > 0 && (text[0] == '-' || text[0] == '+');
    if (len > 8 || len == sign)
        return ember_parse_float64_general(text, len, out);
    size_t n = len - sign;
    uint64_t word = ember_word_top(text, len, n);
    /* The point's byte (exact compare: x is zero only where the byte is '.'). */
    uint64_t x = word ^ UINT64_C(0x2E2E2E2E2E2E2E2E);
    uint64_t points = ~(((x & UINT64_C(0x7F7F7F7F7F7F7F7F)) + UINT64_C(0x7F7F7F7F7F7F7F7F)) | x) &
                      UINT64_C(0x8080808080808080);
    size_t fraction = 0;
    if (points) {
        size_t k = (size_t)__builtin_ctzll(points) >> 3;
        if ((points & (points - 1)) || n == 1)
            return ember_parse_float64_general(text, len, out);
        /* Drop the point: the digits before it (lower bytes) move up one byte. */
        uint64_t below = (UINT64_C(1) << (8 * k)) - 1;
        word = ((word & below) << 8) | (word & ~below & ~(UINT64_C(0xFF) << (8 * k)));
        fraction = 7 - k;
        n--;
    }
    uint64_t mantissa;
    if (!ember_word_digits(word, n, &mantissa))
        return ember_parse_float64_general(text, len, out);
    /* At most 8 digits: an exact double over an exact power of ten, one rounding. */
    double value = (double)mantissa / tens[fraction];
    *out = text[0] == '-' ? -value : value;
    return true;
}
#else
static inline bool ember_parse_int64_word(const char *text, size_t len, int64_t *out) {
    return ember_parse_int64(text, len, out);
}
static inline bool ember_parse_float64_word(const char *text, size_t len, double *out) {
    return ember_parse_float64(text, len, out);
}
#endif

#endif
