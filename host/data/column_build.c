/* column_build.c: growable Arrow-layout column buffers. Buffers are page-aligned (zero-copy on
 * CPU devices), so growth is allocate + copy rather than realloc. */
#include "data/column_build.h"

#include <string.h>

#include "common/alloc.h"

static size_t value_size(ember_type type) {
    return type == EMBER_TYPE_STRING ? sizeof(int32_t) : sizeof(int64_t);
}

/* Moves *buffer (used bytes of it) into a new aligned block of new_bytes. */
static bool regrow(void **buffer, size_t used, size_t new_bytes) {
    void *grown = ember_malloc_aligned(new_bytes);
    if (!grown)
        return false;
    if (used)
        memcpy(grown, *buffer, used);
    ember_free_aligned(*buffer);
    *buffer = grown;
    return true;
}

bool ember_column_init(ember_column *column, ember_type type, int64_t rows) {
    memset(column, 0, sizeof *column);
    column->type = type;
    column->loaded = true;
    column->capacity = rows < 64 ? 64 : rows;
    size_t slots = (size_t)column->capacity + (type == EMBER_TYPE_STRING);
    column->values = ember_malloc_aligned(slots * value_size(type));
    if (!column->values)
        return false;
    if (type == EMBER_TYPE_STRING) {
        ((int32_t *)column->values)[0] = 0;
        column->bytes_capacity = column->capacity * 8;
        column->bytes = ember_malloc_aligned((size_t)column->bytes_capacity);
        if (!column->bytes)
            return false;
    }
    return true;
}

/* Makes room for one more row (values and validity). */
static bool reserve_row(ember_column *column) {
    if (column->length < column->capacity)
        return true;
    int64_t capacity = column->capacity * 2;
    size_t extra = column->type == EMBER_TYPE_STRING;
    size_t size = value_size(column->type);
    if (!regrow(&column->values, ((size_t)column->length + extra) * size,
                ((size_t)capacity + extra) * size))
        return false;
    if (column->validity && !regrow((void **)&column->validity, ((size_t)column->length + 7) / 8,
                                    ((size_t)capacity + 7) / 8))
        return false;
    column->capacity = capacity;
    return true;
}

static void set_valid(ember_column *column, int64_t row, bool valid) {
    uint8_t bit = (uint8_t)(1u << (row & 7));
    if (valid)
        column->validity[row >> 3] |= bit;
    else
        column->validity[row >> 3] &= (uint8_t)~bit;
}

/* Marks the row being appended as valid (only needed once a bitmap exists). */
static void mark_valid(ember_column *column) {
    if (column->validity)
        set_valid(column, column->length, true);
}

bool ember_column_append_int64(ember_column *column, int64_t value) {
    if (!reserve_row(column))
        return false;
    ((int64_t *)column->values)[column->length] = value;
    mark_valid(column);
    column->length++;
    return true;
}

bool ember_column_append_float64(ember_column *column, double value) {
    if (!reserve_row(column))
        return false;
    ((double *)column->values)[column->length] = value;
    mark_valid(column);
    column->length++;
    return true;
}

bool ember_column_append_string(ember_column *column, const char *text, size_t len, bool *too_big) {
    if (!reserve_row(column))
        return false;
    int32_t *offsets = column->values;
    int64_t end = (int64_t)offsets[column->length] + (int64_t)len;
    if (end > INT32_MAX) {
        if (too_big)
            *too_big = true;
        return false;
    }
    if (end > column->bytes_capacity) {
        int64_t capacity = column->bytes_capacity * 2;
        while (capacity < end)
            capacity *= 2;
        if (capacity > (int64_t)INT32_MAX + 1)
            capacity = (int64_t)INT32_MAX + 1;
        if (!regrow((void **)&column->bytes, (size_t)offsets[column->length], (size_t)capacity))
            return false;
        column->bytes_capacity = capacity;
    }
    if (len)
        memcpy(column->bytes + offsets[column->length], text, len);
    offsets[column->length + 1] = (int32_t)end;
    column->bytes_len = end;
    mark_valid(column);
    column->length++;
    return true;
}

bool ember_column_append_null(ember_column *column) {
    if (!reserve_row(column))
        return false;
    if (!column->validity) {
        /* First null: the bitmap appears, with every earlier row valid. */
        size_t bytes = ((size_t)column->capacity + 7) / 8;
        column->validity = ember_malloc_aligned(bytes);
        if (!column->validity)
            return false;
        memset(column->validity, 0xff, bytes);
    }
    switch (column->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_BOOL:
        ((int64_t *)column->values)[column->length] = 0;
        break;
    case EMBER_TYPE_FLOAT64:
        ((double *)column->values)[column->length] = 0.0;
        break;
    case EMBER_TYPE_STRING: {
        int32_t *offsets = column->values;
        offsets[column->length + 1] = offsets[column->length];
        break;
    }
    }
    set_valid(column, column->length, false);
    column->null_count++;
    column->length++;
    return true;
}

void ember_column_truncate(ember_column *column, int64_t length) {
    while (column->length > length) {
        column->length--;
        if (!ember_column_is_valid(column, column->length))
            column->null_count--;
    }
    if (column->type == EMBER_TYPE_STRING)
        column->bytes_len = ((int32_t *)column->values)[column->length];
}

bool ember_column_append_from(ember_column *column, const ember_column *src, int64_t row,
                              bool *too_big) {
    if (!ember_column_is_valid(src, row))
        return ember_column_append_null(column);
    switch (src->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_BOOL:
        return ember_column_append_int64(column, ((const int64_t *)src->values)[row]);
    case EMBER_TYPE_FLOAT64:
        return ember_column_append_float64(column, ((const double *)src->values)[row]);
    case EMBER_TYPE_STRING: {
        int32_t len;
        const char *text = ember_column_string(src, row, &len);
        return ember_column_append_string(column, text, (size_t)len, too_big);
    }
    }
    return false;
}

/* Grows the values (and validity) to hold at least rows rows. */
static bool reserve_rows(ember_column *column, int64_t rows) {
    while (column->capacity < rows) {
        int64_t length = column->length;
        column->length = column->capacity; /* reserve_row grows only when full */
        bool ok = reserve_row(column);
        column->length = length;
        if (!ok)
            return false;
    }
    return true;
}

bool ember_column_gather(ember_column *column, const ember_column *src, const int64_t *rows,
                         int64_t n, bool *too_big) {
    if (src->type == EMBER_TYPE_STRING || src->validity || column->validity) {
        for (int64_t i = 0; i < n; i++)
            if (!ember_column_append_from(column, src, rows[i], too_big))
                return false;
        return true;
    }
    /* Numbers without nulls: a tight typed loop. */
    if (!reserve_rows(column, column->length + n))
        return false;
    int64_t *to = (int64_t *)column->values + column->length;
    const int64_t *from = src->values;
    for (int64_t i = 0; i < n; i++)
        to[i] = from[rows[i]];
    column->length += n;
    return true;
}
