/* table_print.c: a host table written for people (ember_table_print, an aligned box like
 * Spark's show()) and for programs (ember_table_write_csv, RFC 4180 with a header). */
#include <inttypes.h>
#include <stdint.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "data/table.h"

/* Longest text format_float64 makes: "-1.2345678901234567e-308" and a NUL fit easily. */
#define FLOAT_TEXT_SIZE 32
/* Spark's show() never draws a column narrower than this. */
#define MIN_COLUMN_WIDTH 3

/* Decimal digits of value into text (NUL-terminated; 21 bytes are enough); returns the
 * length. printf's machinery costs more than the digits when millions of cells are written. */
static int format_uint64(uint64_t value, char *text) {
    char reversed[24];
    int n = 0;
    do {
        reversed[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    for (int i = 0; i < n; i++)
        text[i] = reversed[n - 1 - i];
    text[n] = '\0';
    return n;
}

static int format_int64(int64_t value, char *text) {
    if (value >= 0)
        return format_uint64((uint64_t)value, text);
    text[0] = '-';
    return 1 + format_uint64(0 - (uint64_t)value, text + 1);
}

/* Writes the decimal digits[0..count) / 10^k (sign first when negative) as text: "0.00ddd"
 * when all digits are fractional, a whole number as "n.0". Returns the length. */
static size_t place_point(const char *digits, int count, int k, bool negative, char *text) {
    size_t len = 0;
    if (negative)
        text[len++] = '-';
    if (count <= k) {
        text[len++] = '0';
        text[len++] = '.';
        for (int z = 0; z < k - count; z++)
            text[len++] = '0';
    } else {
        memcpy(text + len, digits, (size_t)(count - k));
        len += (size_t)(count - k);
        text[len++] = '.';
        if (k == 0)
            text[len++] = '0';
    }
    int fraction = count < k ? count : k;
    memcpy(text + len, digits + count - fraction, (size_t)fraction);
    len += (size_t)fraction;
    text[len] = '\0';
    return len;
}

/* The fast path of format_float64 for the common case, a value with at most 15 significant
 * digits of which at most 9 after the point (prices, sums of them): the fewest fraction
 * digits k with round(value * 10^k) / 10^k == value. Both operands of that division are exact
 * doubles and IEEE division rounds correctly, so the text reads back (strtod rounds correctly
 * too) to value; with at most 15 digits it is also what %.15g prints. Returns the length, or 0
 * when the slow path must decide. */
static size_t format_decimal(double value, char *text) {
    static const double powers[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double magnitude = fabs(value);
    if (!(magnitude >= 1e-4 && magnitude < 1e15))
        return 0;
    for (int k = 0; k < 10; k++) {
        double scaled = nearbyint(magnitude * powers[k]);
        if (scaled >= 1e15)
            return 0;
        if (scaled / powers[k] != magnitude)
            continue;
        char digits[24];
        int n = format_uint64((uint64_t)scaled, digits);
        return place_point(digits, n, k, value < 0, text);
    }
    return 0;
}

/* The decimal of p significant digits nearest to value (1 <= value < 1e14) as *n / 10^*k, and
 * whether it reads back to value, decided exactly: value = m * 2^-q, and the decimal reads
 * back when it lies within half a unit in the last place of value (ties to even m, the narrower
 * gap below a power of two taken into account). All in 128-bit integers: n < 10^18, 10^k <=
 * 10^16, m < 2^53, q <= 52, so no product reaches 2^127. */
static bool nearest_decimal(double value, int p, uint64_t *n, int *k) {
    int exponent;
    double fraction = frexp(value, &exponent); /* value = fraction * 2^exponent, 0.5 <= f < 1 */
    uint64_t m = (uint64_t)ldexp(fraction, 53);
    int q = 53 - exponent; /* value = m * 2^-q; q >= 7 in this range */
    int digits = 1;        /* of the integer part */
    for (double power = 10.0; power <= value; power *= 10.0)
        digits++;
    *k = p - digits;
    unsigned __int128 scale = 1;
    for (int i = 0; i < *k; i++)
        scale *= 10;
    unsigned __int128 num = (unsigned __int128)m * scale;
    unsigned __int128 rounded = num >> q, rem = num & (((unsigned __int128)1 << q) - 1);
    unsigned __int128 half = (unsigned __int128)1 << (q - 1);
    if (rem > half || (rem == half && (rounded & 1)))
        rounded++;
    *n = (uint64_t)rounded;
    /* |n / 10^k - value| < gap / 2, times 10^k * 2^(q + 2): |4 n 2^q - 4 m 10^k| < 2 * 10^k */
    __int128 diff = (__int128)(rounded << (q + 2)) - (__int128)(num << 2);
    bool below = diff < 0;
    unsigned __int128 distance = (unsigned __int128)(below ? -diff : diff);
    unsigned __int128 limit = 2 * scale;
    if (below && m == (1ull << 52))
        limit = scale; /* the next double down is half as far */
    return distance < limit || (distance == limit && !(m & 1));
}

/* The slow path's answer for 1 <= |value| < 1e14 without printf or strtod: the shortest of
 * 15, 16, 17 significant digits that reads back, trailing zeros dropped. 0 when not in range. */
static size_t format_shortest(double value, char *text) {
    double magnitude = fabs(value);
    if (!(magnitude >= 1.0 && magnitude < 1e14))
        return 0;
    uint64_t n = 0;
    int k = 0;
    int p = 15;
    while (p <= 17 && !nearest_decimal(magnitude, p, &n, &k))
        p++;
    if (p > 17)
        return 0;
    char digits[24];
    int count = format_uint64(n, digits);
    while (k > 0 && digits[count - 1] == '0') { /* %g drops trailing zeros */
        count--;
        k--;
    }
    return place_point(digits, count, k, value < 0, text);
}

/* The shortest of %.15g, %.16g, %.17g that reads back to the same double (%.17g always does),
 * so 0.1 prints as "0.1", not "0.10000000000000001"; 2.0 prints as "2.0". NaN and the infinities
 * get the spelling Spark and ember's CSV reader use. Returns the length. */
static size_t format_float64(double value, char *text) {
    const char *word = NULL;
    if (isnan(value))
        word = "NaN";
    else if (isinf(value))
        word = value > 0 ? "Infinity" : "-Infinity";
    if (word) {
        strcpy(text, word);
        return strlen(text);
    }
    size_t fast = format_decimal(value, text);
    if (!fast)
        fast = format_shortest(value, text);
    if (fast)
        return fast;
    for (int precision = 15; precision <= 17; precision++) {
        snprintf(text, FLOAT_TEXT_SIZE, "%.*g", precision, value);
        if (precision == 17 || strtod(text, NULL) == value)
            break;
    }
    /* A locale with a decimal comma would make the text unreadable as CSV: %g has no other
     * use for a comma, so put the point back. */
    for (char *p = text; *p; p++) {
        if (*p == ',')
            *p = '.';
    }
    /* A whole number gets ".0", as Spark writes it, so a float64 column reads back as
     * float64 rather than int64. */
    if (!strpbrk(text, ".eE"))
        strcat(text, ".0");
    return strlen(text);
}

/* Flushes so that a write error still in the stream's buffer (a full disk) is seen now, by
 * the call that caused it, and not later by the caller's fclose. */
static ember_status finish_output(FILE *out) {
    if (fflush(out) != 0 || ferror(out))
        return EMBER_ERROR_IO;
    return EMBER_OK;
}

/* ---- ember_table_print ---------------------------------------------------------------- */

/* How a byte is shown in the table: control characters escaped so a row stays one line. */
static const char *escape_byte(unsigned char byte, char *buffer) {
    switch (byte) {
    case '\n':
        return "\\n";
    case '\r':
        return "\\r";
    case '\t':
        return "\\t";
    default:
        if (byte < 0x20 || byte == 0x7f) {
            snprintf(buffer, 5, "\\x%02x", byte);
            return buffer;
        }
        return NULL;
    }
}

/* Display width of text once escaped: UTF-8 continuation bytes take no column of their own,
 * so accented names still line up. */
static size_t text_width(const char *text, size_t len) {
    size_t width = 0;
    char buffer[5];
    for (size_t i = 0; i < len; i++) {
        unsigned char byte = (unsigned char)text[i];
        const char *escaped = escape_byte(byte, buffer);
        if (escaped)
            width += strlen(escaped);
        else if ((byte & 0xc0) != 0x80)
            width++;
    }
    return width;
}

static void write_escaped(const char *text, size_t len, FILE *out) {
    char buffer[5];
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        const char *escaped = escape_byte((unsigned char)text[i], buffer);
        if (!escaped)
            continue;
        fwrite(text + start, 1, i - start, out);
        fputs(escaped, out);
        start = i + 1;
    }
    fwrite(text + start, 1, len - start, out);
}

/* One cell's text, unescaped: points into the table, a literal, or number (FLOAT_TEXT_SIZE). */
static const char *cell_text(const ember_table *table, size_t column, int64_t row, char *number,
                             size_t *len) {
    if (ember_table_is_null(table, column, row)) {
        *len = 4;
        return "null";
    }
    switch (ember_table_column_type(table, column)) {
    case EMBER_TYPE_INT64:
        *len = (size_t)format_int64(ember_table_int64(table, column, row), number);
        return number;
    case EMBER_TYPE_FLOAT64:
        *len = format_float64(ember_table_float64(table, column, row), number);
        return number;
    case EMBER_TYPE_BOOL:
        *len = ember_table_int64(table, column, row) ? 4 : 5;
        return ember_table_int64(table, column, row) ? "true" : "false";
    case EMBER_TYPE_STRING:
        break;
    }
    return ember_table_string(table, column, row, len);
}

static void write_padding(size_t count, FILE *out) {
    for (size_t i = 0; i < count; i++)
        fputc(' ', out);
}

/* "|" + text padded to width: numbers to the right, strings to the left. */
static void write_cell(const char *text, size_t len, size_t width, bool right, FILE *out) {
    size_t used = text_width(text, len);
    size_t pad = width > used ? width - used : 0;
    fputc('|', out);
    if (right)
        write_padding(pad, out);
    write_escaped(text, len, out);
    if (!right)
        write_padding(pad, out);
}

static void write_border(const size_t *widths, size_t columns, FILE *out) {
    fputc('+', out);
    for (size_t c = 0; c < columns; c++) {
        for (size_t i = 0; i < widths[c]; i++)
            fputc('-', out);
        fputc('+', out);
    }
    fputc('\n', out);
}

ember_status ember_table_print(const ember_table *table, FILE *out, int64_t max_rows) {
    if (!table || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    size_t columns = ember_table_column_count(table);
    int64_t rows = ember_table_row_count(table);
    int64_t shown = max_rows < 0 || max_rows > rows ? rows : max_rows;
    size_t *widths = ember_calloc(columns ? columns : 1, sizeof *widths);
    if (!widths)
        return EMBER_ERROR_OUT_OF_MEMORY;

    /* Two passes over the shown cells, measuring and then writing, rather than keeping every
     * formatted cell: a table of millions of rows should not need its text twice in memory. */
    char number[FLOAT_TEXT_SIZE];
    size_t len;
    for (size_t c = 0; c < columns; c++) {
        const char *name = ember_table_column_name(table, c);
        widths[c] = text_width(name, strlen(name));
        if (widths[c] < MIN_COLUMN_WIDTH)
            widths[c] = MIN_COLUMN_WIDTH;
        for (int64_t r = 0; r < shown; r++) {
            const char *text = cell_text(table, c, r, number, &len);
            size_t width = text_width(text, len);
            if (width > widths[c])
                widths[c] = width;
        }
    }

    write_border(widths, columns, out);
    for (size_t c = 0; c < columns; c++) {
        const char *name = ember_table_column_name(table, c);
        bool right = ember_table_column_type(table, c) != EMBER_TYPE_STRING;
        write_cell(name, strlen(name), widths[c], right, out);
    }
    fputs("|\n", out);
    write_border(widths, columns, out);
    for (int64_t r = 0; r < shown && !ferror(out); r++) {
        for (size_t c = 0; c < columns; c++) {
            const char *text = cell_text(table, c, r, number, &len);
            bool right = ember_table_column_type(table, c) != EMBER_TYPE_STRING;
            write_cell(text, len, widths[c], right, out);
        }
        fputs("|\n", out);
    }
    write_border(widths, columns, out);
    if (shown < rows)
        fprintf(out, "only showing top %" PRId64 " %s\n", shown, shown == 1 ? "row" : "rows");
    ember_free(widths);
    return finish_output(out);
}

/* ---- ember_table_write_csv ------------------------------------------------------------ */

/* Quoted only when needed, so plain values stay plain; the empty string is quoted so that it
 * reads back as "" and not as null (ember's reader makes an unquoted empty field null). */
static void write_csv_text(const char *text, size_t len, FILE *out) {
    bool quote = len == 0;
    for (size_t i = 0; i < len && !quote; i++)
        quote = text[i] == ',' || text[i] == '"' || text[i] == '\r' || text[i] == '\n';
    if (!quote) {
        fwrite(text, 1, len, out);
        return;
    }
    fputc('"', out);
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '"')
            continue;
        fwrite(text + start, 1, i + 1 - start, out); /* up to and with the quote... */
        start = i;                                   /* ...which is then written again */
    }
    fwrite(text + start, 1, len - start, out);
    fputc('"', out);
}

static void write_csv_cell(const ember_table *table, size_t column, int64_t row, FILE *out) {
    if (ember_table_is_null(table, column, row))
        return;
    char number[FLOAT_TEXT_SIZE];
    size_t len;
    switch (ember_table_column_type(table, column)) {
    case EMBER_TYPE_INT64:
        len = (size_t)format_int64(ember_table_int64(table, column, row), number);
        fwrite(number, 1, len, out);
        return;
    case EMBER_TYPE_FLOAT64:
        len = format_float64(ember_table_float64(table, column, row), number);
        fwrite(number, 1, len, out);
        return;
    case EMBER_TYPE_BOOL:
        fputs(ember_table_int64(table, column, row) ? "true" : "false", out);
        return;
    case EMBER_TYPE_STRING: {
        const char *text = ember_table_string(table, column, row, &len);
        write_csv_text(text, len, out);
        return;
    }
    }
}

void ember_table_write_csv_rows(const ember_table *table, FILE *out, bool header) {
    size_t columns = ember_table_column_count(table);
    int64_t rows = ember_table_row_count(table);
    for (size_t c = 0; header && c < columns; c++) {
        const char *name = ember_table_column_name(table, c);
        if (c)
            fputc(',', out);
        write_csv_text(name, strlen(name), out);
    }
    if (header)
        fputc('\n', out);
    /* Stop at the first failed write (a closed pipe, a full disk): the rest would fail too. */
    for (int64_t r = 0; r < rows && !ferror(out); r++) {
        for (size_t c = 0; c < columns; c++) {
            if (c)
                fputc(',', out);
            write_csv_cell(table, c, r, out);
        }
        fputc('\n', out);
    }
}

ember_status ember_table_write_csv(const ember_table *table, FILE *out) {
    if (!table || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    ember_table_write_csv_rows(table, out, true);
    return finish_output(out);
}
