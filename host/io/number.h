/* number.h: exact text -> int64 / float64 conversion for CSV fields, with a fast path for the
 * plain decimal forms that make up nearly all data and strtod for the rest. */
#ifndef EMBER_IO_NUMBER_H
#define EMBER_IO_NUMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* [+-]digits, no spaces, no overflow. */
bool ember_parse_int64(const char *text, size_t len, int64_t *out);
/* [+-]digits[.digits][(e|E)[+-]digits] (a leading or trailing '.' allowed when a digit is
 * present), or nan / inf / infinity with optional sign, case-insensitive. No spaces, no hex.
 * Correctly rounded. */
bool ember_parse_float64(const char *text, size_t len, double *out);

#endif
