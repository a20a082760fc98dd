/* table_sort.c: ember_table_sort, a stable sort of a host table's rows by its leading columns.
 * An array of (key prefix, row) entries is merge-sorted once per key, last key first (stable,
 * O(n log n) worst case, unlike qsort); then every column is rebuilt in the new order. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "data/table.h"

/* Runs this short are insertion-sorted before merging: cheaper than merging single rows. */
#define SORT_RUN 16

static int compare_int64(int64_t x, int64_t y) {
    return (x > y) - (x < y);
}

/* NaN after every number (two NaNs are equal); -0.0 and 0.0 are equal as IEEE says. */
static int compare_float64(double x, double y) {
    bool x_nan = isnan(x), y_nan = isnan(y);
    if (x_nan || y_nan)
        return (int)x_nan - (int)y_nan;
    return (x > y) - (x < y);
}

/* Bytes as unsigned (memcmp), then the shorter first: "ab" < "abc" < "b". */
static int compare_string(const ember_column *column, int64_t a, int64_t b) {
    int32_t a_len, b_len;
    const char *a_text = ember_column_string(column, a, &a_len);
    const char *b_text = ember_column_string(column, b, &b_len);
    int32_t common = a_len < b_len ? a_len : b_len;
    if (common > 0) {
        int order = memcmp(a_text, b_text, (size_t)common);
        if (order)
            return order;
    }
    return (a_len > b_len) - (a_len < b_len);
}

/* One key of rows a and b: nulls last (two nulls tie), then by the column's type. */
static int compare_key(const ember_column *column, int64_t a, int64_t b) {
    bool a_valid = ember_column_is_valid(column, a);
    bool b_valid = ember_column_is_valid(column, b);
    if (!a_valid || !b_valid)
        return a_valid == b_valid ? 0 : a_valid ? -1 : 1;
    switch (column->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_BOOL:
        return compare_int64(((const int64_t *)column->values)[a],
                             ((const int64_t *)column->values)[b]);
    case EMBER_TYPE_FLOAT64:
        return compare_float64(((const double *)column->values)[a],
                               ((const double *)column->values)[b]);
    case EMBER_TYPE_STRING:
        return compare_string(column, a, b);
    }
    return 0;
}

/* What the sort moves around: a row and an order-preserving 64-bit prefix of the key being
 * sorted on (and a string's length), so that most comparisons read this array sequentially
 * rather than the column at random rows. prefix(a) < prefix(b) implies a < b; when the
 * prefixes are equal, compare_entries says whether they hold the whole key. */
typedef struct sort_entry {
    uint64_t prefix;
    int64_t row;
    int32_t length; /* string keys: the length in bytes; else 0 */
} sort_entry;

/* Nulls sort last: the largest prefix. A value can share it (INT64_MAX), which only means the
 * full comparison decides. */
#define NULL_PREFIX UINT64_MAX

/* The entry of row for key column. */
static sort_entry key_entry(const ember_column *column, int64_t row) {
    sort_entry entry = {NULL_PREFIX, row, 0};
    if (!ember_column_is_valid(column, row))
        return entry;
    switch (column->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_BOOL:
        /* Flipping the sign bit turns two's complement order into unsigned order. */
        entry.prefix = (uint64_t)((const int64_t *)column->values)[row] ^ (1ull << 63);
        break;
    case EMBER_TYPE_FLOAT64: {
        double value = ((const double *)column->values)[row];
        if (isnan(value)) {
            entry.prefix = NULL_PREFIX - 1; /* every NaN alike, above +Infinity, below null */
            break;
        }
        if (value == 0.0)
            value = 0.0; /* -0.0 sorts as 0.0 */
        uint64_t bits;
        memcpy(&bits, &value, sizeof bits);
        /* IEEE bits as unsigned: negatives reversed and below the positives. */
        entry.prefix = bits >> 63 ? ~bits : bits | (1ull << 63);
        break;
    }
    case EMBER_TYPE_STRING: {
        /* The first 8 bytes, big-endian, zero-padded: an order that never contradicts
         * memcmp-then-length. */
        const unsigned char *text =
            (const unsigned char *)ember_column_string(column, row, &entry.length);
        entry.prefix = 0;
        for (int i = 0; i < 8; i++)
            entry.prefix = entry.prefix << 8 | (i < entry.length ? text[i] : 0u);
        break;
    }
    }
    return entry;
}

static int compare_entries(const ember_column *key, const sort_entry *a, const sort_entry *b) {
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    /* Nulls, or values that happen to share their prefix (INT64_MAX, eight 0xff bytes). */
    if (a->prefix == NULL_PREFIX)
        return compare_key(key, a->row, b->row);
    /* A number's prefix holds all of it. */
    if (key->type != EMBER_TYPE_STRING)
        return 0;
    /* Equal padded prefixes and one string within them: it is the start of the other (which
     * may go on with zero bytes), so the shorter is first. */
    if (a->length <= 8 || b->length <= 8)
        return (a->length > b->length) - (a->length < b->length);
    return compare_key(key, a->row, b->row);
}

/* Stable: an entry moves left only past strictly greater ones. */
static void insertion_sort(const ember_column *key, sort_entry *entries, int64_t n) {
    for (int64_t i = 1; i < n; i++) {
        sort_entry entry = entries[i];
        int64_t j = i;
        while (j > 0 && compare_entries(key, &entries[j - 1], &entry) > 0) {
            entries[j] = entries[j - 1];
            j--;
        }
        entries[j] = entry;
    }
}

/* Merges the sorted runs from[lo, mid) and from[mid, hi) into to[lo, hi); ties take the left
 * run first, which keeps the sort stable. */
static void merge(const ember_column *key, const sort_entry *from, sort_entry *to, int64_t lo,
                  int64_t mid, int64_t hi) {
    /* Runs already in order (common in grouped or presorted data) are just copied. */
    if (mid == hi || compare_entries(key, &from[mid - 1], &from[mid]) <= 0) {
        memcpy(to + lo, from + lo, (size_t)(hi - lo) * sizeof *to);
        return;
    }
    int64_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        to[k++] = compare_entries(key, &from[j], &from[i]) < 0 ? from[j++] : from[i++];
    while (i < mid)
        to[k++] = from[i++];
    while (j < hi)
        to[k++] = from[j++];
}

/* Bottom-up merge sort of entries[0, n) using scratch (n slots); returns the array that holds
 * the result (entries or scratch). */
static sort_entry *merge_sort(const ember_column *key, sort_entry *entries, sort_entry *scratch,
                              int64_t n) {
    for (int64_t lo = 0; lo < n; lo += SORT_RUN)
        insertion_sort(key, entries + lo, n - lo < SORT_RUN ? n - lo : SORT_RUN);
    sort_entry *from = entries, *to = scratch;
    for (int64_t width = SORT_RUN; width < n; width *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * width) {
            int64_t mid = lo + width < n ? lo + width : n;
            int64_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            merge(key, from, to, lo, mid, hi);
        }
        sort_entry *swap = from;
        from = to;
        to = swap;
    }
    return from;
}

/* The rebuilt buffers of one column, swapped in only once every column has them, so a failed
 * allocation leaves the table as it was. */
typedef struct rebuilt {
    void *values;
    uint8_t *validity;
    char *bytes;
    int64_t bytes_capacity;
} rebuilt;

static void rebuilt_free(rebuilt *r) {
    ember_free_aligned(r->values);
    ember_free_aligned(r->validity);
    ember_free_aligned(r->bytes);
}

static bool permute_column(const ember_column *column, const sort_entry *order, int64_t n,
                           rebuilt *out) {
    if (column->validity) {
        out->validity = ember_malloc_aligned(((size_t)n + 7) / 8);
        if (!out->validity)
            return false;
        memset(out->validity, 0, ((size_t)n + 7) / 8);
        for (int64_t i = 0; i < n; i++) {
            if (ember_column_is_valid(column, order[i].row))
                out->validity[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
    }
    if (column->type == EMBER_TYPE_INT64 || column->type == EMBER_TYPE_BOOL) {
        int64_t *values = ember_malloc_aligned((size_t)n * sizeof *values);
        if (!values)
            return false;
        const int64_t *old = column->values;
        for (int64_t i = 0; i < n; i++)
            values[i] = old[order[i].row];
        out->values = values;
        return true;
    }
    if (column->type == EMBER_TYPE_FLOAT64) {
        double *values = ember_malloc_aligned((size_t)n * sizeof *values);
        if (!values)
            return false;
        const double *old = column->values;
        for (int64_t i = 0; i < n; i++)
            values[i] = old[order[i].row];
        out->values = values;
        return true;
    }
    /* The same strings in another order: the same byte total, so the int32 offsets fit. */
    int32_t *offsets = ember_malloc_aligned(((size_t)n + 1) * sizeof *offsets);
    if (!offsets)
        return false;
    out->values = offsets;
    const int32_t *old = column->values;
    int64_t total = old[n] - old[0];
    out->bytes_capacity = total > 64 ? total : 64;
    out->bytes = ember_malloc_aligned((size_t)out->bytes_capacity);
    if (!out->bytes)
        return false;
    int32_t end = 0;
    offsets[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        int32_t len = old[order[i].row + 1] - old[order[i].row];
        if (len > 0)
            memcpy(out->bytes + end, column->bytes + old[order[i].row], (size_t)len);
        end += len;
        offsets[i + 1] = end;
    }
    return true;
}

/* Every column must really hold table->rows rows before any of them is read. */
static bool table_is_consistent(const ember_table *table) {
    for (int c = 0; c < table->column_count; c++) {
        const ember_column *column = &table->columns[c];
        if (column->length != table->rows || !column->values)
            return false;
        if (column->type == EMBER_TYPE_STRING) {
            const int32_t *offsets = column->values;
            if (offsets[0] < 0 || offsets[table->rows] < offsets[0] ||
                (offsets[table->rows] > 0 && !column->bytes))
                return false;
        }
    }
    return true;
}

ember_status ember_table_sort(ember_table *table, size_t key_columns) {
    if (!table || key_columns > ember_table_column_count(table))
        return EMBER_ERROR_INVALID_ARGUMENT;
    int64_t n = table->rows;
    if (key_columns == 0 || n < 2)
        return EMBER_OK;
    if (!table_is_consistent(table))
        return EMBER_ERROR_INVALID_ARGUMENT;
    if ((uint64_t)n > SIZE_MAX / 2 / sizeof(sort_entry))
        return EMBER_ERROR_OUT_OF_MEMORY;

    ember_status status = EMBER_ERROR_OUT_OF_MEMORY;
    sort_entry *entries = ember_malloc((size_t)n * sizeof *entries);
    sort_entry *scratch = ember_malloc((size_t)n * sizeof *scratch);
    rebuilt *columns = ember_calloc((size_t)table->column_count, sizeof *columns);
    if (!entries || !scratch || !columns)
        goto done;
    /* Least significant key first: each pass is stable, so rows equal on a key keep the
     * order the passes for the later keys gave them. One key per pass keeps every comparison
     * on the entry array instead of chasing rows through several columns. */
    for (int64_t i = 0; i < n; i++)
        entries[i].row = i;
    sort_entry *sorted = entries;
    for (size_t k = key_columns; k-- > 0;) {
        const ember_column *key = &table->columns[k];
        for (int64_t i = 0; i < n; i++)
            sorted[i] = key_entry(key, sorted[i].row);
        sorted = merge_sort(key, sorted, sorted == entries ? scratch : entries, n);
    }

    for (int c = 0; c < table->column_count; c++) {
        if (!permute_column(&table->columns[c], sorted, n, &columns[c]))
            goto done;
    }
    for (int c = 0; c < table->column_count; c++) {
        ember_column *column = &table->columns[c];
        ember_free_aligned(column->values);
        ember_free_aligned(column->validity);
        ember_free_aligned(column->bytes);
        column->values = columns[c].values;
        column->validity = columns[c].validity;
        column->bytes = columns[c].bytes;
        column->capacity = n;
        if (column->type == EMBER_TYPE_STRING) {
            column->bytes_len = ((const int32_t *)column->values)[n];
            column->bytes_capacity = columns[c].bytes_capacity;
        }
        columns[c] = (rebuilt){0};
    }
    status = EMBER_OK;

done:
    if (columns) {
        for (int c = 0; c < table->column_count; c++)
            rebuilt_free(&columns[c]);
    }
    ember_free(columns);
    ember_free(scratch);
    ember_free(entries);
    return status;
}
