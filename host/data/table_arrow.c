/* table_arrow.c: ember_table_export_arrow, a host table as one Arrow record batch (a "+s" struct
 * array, one child per column) through the Arrow C Data Interface. */
#include <stdint.h>
#include <string.h>

#include "common/alloc.h"
#include "data/table.h"
#include "ember_arrow_abi.h"

/* Arrow recommends 64-byte alignment and padding, so consumers can use aligned SIMD loads over
 * whole buffers. */
#define ARROW_ALIGNMENT 64

/* The head of a column's one allocation. The buffers follow it (aligned), and the struct's
 * buffers member points here, never into the ArrowArray itself: the consumer may move the
 * ArrowArray (memcpy) anywhere, even out of its parent, and release it on its own. */
typedef struct column_block {
    const void *buffers[3];
} column_block;

/* Space for a buffer of size bytes, padded to the alignment. An empty buffer still gets a slot
 * so that its pointer is non-NULL and points into the allocation, as consumers may expect. */
static size_t buffer_space(size_t size) {
    size_t padded = (size + ARROW_ALIGNMENT - 1) / ARROW_ALIGNMENT * ARROW_ALIGNMENT;
    return padded ? padded : ARROW_ALIGNMENT;
}

/* Takes the next buffer of size bytes at *at; its padding is zeroed so that no uninitialized
 * heap bytes reach the consumer. */
static void *take_buffer(unsigned char **at, size_t size) {
    unsigned char *buffer = *at;
    size_t space = buffer_space(size);
    memset(buffer + size, 0, space - size);
    *at += space;
    return buffer;
}

/* Nulls among the first rows bits of a validity bitmap. Counted rather than taken from the
 * column's null_count so the exported count always agrees with the exported bitmap. */
static int64_t count_nulls(const uint8_t *validity, int64_t rows) {
    int64_t valid = 0;
    int64_t full = rows / 8;
    for (int64_t i = 0; i < full; i++)
        valid += __builtin_popcount(validity[i]);
    if (rows % 8)
        valid += __builtin_popcount(validity[full] & ((1u << (rows % 8)) - 1));
    return rows - valid;
}

static const char *column_format(ember_type type) {
    switch (type) {
    case EMBER_TYPE_INT64:
        return "l";
    case EMBER_TYPE_FLOAT64:
        return "g";
    case EMBER_TYPE_STRING:
        return "u";
    case EMBER_TYPE_BOOL:
        return "b";
    }
    return NULL;
}

/* Every column must hold exactly table->rows rows of a known type before any is read (the same
 * guard as ember_table_sort): a broken table is refused, not read past its buffers. */
static bool table_is_exportable(const ember_table *table) {
    if (table->rows < 0 || table->column_count < 0 || (table->column_count > 0 && !table->columns))
        return false;
    for (int c = 0; c < table->column_count; c++) {
        const ember_column *column = &table->columns[c];
        if (!column_format(column->type) || column->length != table->rows)
            return false;
        if (table->rows == 0)
            continue; /* nothing is read, so buffers may be missing */
        if (!column->values)
            return false;
        if (column->type == EMBER_TYPE_STRING) {
            const int32_t *offsets = column->values;
            if (offsets[0] < 0 || offsets[table->rows] < offsets[0] ||
                (offsets[table->rows] > offsets[0] && !column->bytes))
                return false;
        }
    }
    return true;
}

/* ---- release callbacks ---------------------------------------------------------------- */

/* Children first (skipping those the consumer moved out, whose release it set to NULL), then
 * the private data, then release = NULL: the order the spec requires. */
static void release_batch_array(struct ArrowArray *array) {
    for (int64_t i = 0; i < array->n_children; i++) {
        struct ArrowArray *child = array->children[i];
        if (child->release)
            child->release(child);
    }
    ember_free(array->private_data);
    array->private_data = NULL;
    array->release = NULL;
}

static void release_column_array(struct ArrowArray *array) {
    ember_free(array->private_data);
    array->private_data = NULL;
    array->release = NULL;
}

static void release_batch_schema(struct ArrowSchema *schema) {
    for (int64_t i = 0; i < schema->n_children; i++) {
        struct ArrowSchema *child = schema->children[i];
        if (child->release)
            child->release(child);
    }
    ember_free(schema->private_data);
    schema->private_data = NULL;
    schema->release = NULL;
}

static void release_column_schema(struct ArrowSchema *schema) {
    ember_free(schema->private_data); /* the name */
    schema->private_data = NULL;
    schema->release = NULL;
}

/* ---- schema --------------------------------------------------------------------------- */

/* One allocation holds the child structs and the pointer array to them; each child owns a copy
 * of its name, so a child schema moved out of the batch stays valid on its own. */
static ember_status export_schema(const ember_table *table, size_t columns,
                                  struct ArrowSchema *out) {
    struct ArrowSchema *kids =
        ember_malloc(columns * (sizeof *kids + sizeof(struct ArrowSchema *)));
    if (!kids)
        return EMBER_ERROR_OUT_OF_MEMORY;
    struct ArrowSchema **pointers = (struct ArrowSchema **)(kids + columns);
    for (size_t i = 0; i < columns; i++) {
        kids[i] = (struct ArrowSchema){.release = NULL};
        pointers[i] = &kids[i];
    }
    /* A record batch's struct has no name and no nulls of its own. */
    *out = (struct ArrowSchema){
        .format = "+s",
        .name = "",
        .metadata = NULL,
        .flags = 0,
        .n_children = (int64_t)columns,
        .children = pointers,
        .dictionary = NULL,
        .release = release_batch_schema,
        .private_data = kids,
    };
    for (size_t i = 0; i < columns; i++) {
        char *name = ember_strdup(ember_table_column_name(table, i));
        if (!name) {
            out->release(out);
            return EMBER_ERROR_OUT_OF_MEMORY;
        }
        kids[i] = (struct ArrowSchema){
            .format = column_format(table->columns[i].type),
            .name = name,
            .metadata = NULL,
            .flags = ARROW_FLAG_NULLABLE,
            .n_children = 0,
            .children = NULL,
            .dictionary = NULL,
            .release = release_column_schema,
            .private_data = name,
        };
    }
    return EMBER_OK;
}

/* ---- arrays --------------------------------------------------------------------------- */

/* Copies one column of rows rows into a single allocation: the buffers table, then validity
 * (only when there are nulls), values (or offsets) and string bytes, each aligned. */
static ember_status export_column(const ember_column *column, int64_t rows,
                                  struct ArrowArray *out) {
    size_t n = (size_t)rows;
    size_t bitmap_bytes = (n + 7) / 8;
    int64_t nulls = rows > 0 && column->validity ? count_nulls(column->validity, rows) : 0;
    const int32_t *offsets = column->values;
    int32_t first = 0; /* string offsets are rebased so that the bytes start at 0 */
    size_t data_bytes = 0;
    size_t sizes[3] = {nulls ? bitmap_bytes : 0, 0, 0};
    int n_buffers = 2;
    switch (column->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_FLOAT64:
        sizes[1] = n * sizeof(int64_t);
        break;
    case EMBER_TYPE_BOOL:
        sizes[1] = bitmap_bytes;
        break;
    case EMBER_TYPE_STRING:
        if (rows > 0) {
            first = offsets[0];
            data_bytes = (size_t)(offsets[rows] - first);
        }
        sizes[1] = (n + 1) * sizeof(int32_t);
        sizes[2] = data_bytes;
        n_buffers = 3;
        break;
    }
    size_t total = sizeof(column_block) + ARROW_ALIGNMENT - 1;
    for (int b = 0; b < n_buffers; b++)
        total += b == 0 && !nulls ? 0 : buffer_space(sizes[b]);
    column_block *block = ember_malloc(total);
    if (!block)
        return EMBER_ERROR_OUT_OF_MEMORY;

    unsigned char *at = (unsigned char *)(block + 1);
    at += (ARROW_ALIGNMENT - (uintptr_t)at % ARROW_ALIGNMENT) % ARROW_ALIGNMENT;
    block->buffers[0] = NULL; /* without nulls the bitmap may be left out, so it is */
    block->buffers[2] = NULL;
    if (nulls) {
        uint8_t *validity = take_buffer(&at, bitmap_bytes);
        memcpy(validity, column->validity, bitmap_bytes);
        if (n % 8) /* bits past the last row are unspecified in ember; give them as 0 */
            validity[n / 8] &= (uint8_t)((1u << (n % 8)) - 1);
        block->buffers[0] = validity;
    }
    void *values = take_buffer(&at, sizes[1]);
    block->buffers[1] = values;
    switch (column->type) {
    case EMBER_TYPE_INT64:
    case EMBER_TYPE_FLOAT64:
        if (n)
            memcpy(values, column->values, sizes[1]);
        break;
    case EMBER_TYPE_BOOL: {
        /* ember keeps a bool as an int64 0 / 1; Arrow's is one bit, LSB first. */
        uint8_t *bits = values;
        const int64_t *from = column->values;
        memset(bits, 0, bitmap_bytes);
        for (size_t i = 0; i < n; i++)
            if (from[i])
                bits[i / 8] |= (uint8_t)(1u << (i % 8));
        break;
    }
    case EMBER_TYPE_STRING: {
        int32_t *to = values;
        to[0] = 0;
        for (size_t i = 1; i <= n; i++)
            to[i] = offsets[i] - first;
        char *data = take_buffer(&at, data_bytes);
        if (data_bytes)
            memcpy(data, column->bytes + first, data_bytes);
        block->buffers[2] = data;
        break;
    }
    }
    *out = (struct ArrowArray){
        .length = rows,
        .null_count = nulls,
        .offset = 0,
        .n_buffers = n_buffers,
        .n_children = 0,
        .buffers = block->buffers,
        .children = NULL,
        .dictionary = NULL,
        .release = release_column_array,
        .private_data = block,
    };
    return EMBER_OK;
}

/* One allocation holds the child structs, the pointer array to them and the struct's one
 * buffer slot (its validity, NULL); each child owns its own buffers. */
static ember_status export_array(const ember_table *table, size_t columns, struct ArrowArray *out) {
    size_t bytes =
        columns * (sizeof(struct ArrowArray) + sizeof(struct ArrowArray *)) + sizeof(const void *);
    struct ArrowArray *kids = ember_malloc(bytes);
    if (!kids)
        return EMBER_ERROR_OUT_OF_MEMORY;
    struct ArrowArray **pointers = (struct ArrowArray **)(kids + columns);
    const void **buffers = (const void **)(pointers + columns);
    buffers[0] = NULL;
    for (size_t i = 0; i < columns; i++) {
        kids[i] = (struct ArrowArray){.release = NULL};
        pointers[i] = &kids[i];
    }
    *out = (struct ArrowArray){
        .length = table->rows,
        .null_count = 0,
        .offset = 0,
        .n_buffers = 1,
        .n_children = (int64_t)columns,
        .buffers = buffers,
        .children = pointers,
        .dictionary = NULL,
        .release = release_batch_array,
        .private_data = kids,
    };
    for (size_t i = 0; i < columns; i++) {
        ember_status status = export_column(&table->columns[i], table->rows, &kids[i]);
        if (status != EMBER_OK) {
            out->release(out);
            return status;
        }
    }
    return EMBER_OK;
}

ember_status ember_table_export_arrow(const ember_table *table, struct ArrowSchema *schema,
                                      struct ArrowArray *array) {
    /* Cleared first, so that every failure leaves nothing a consumer could try to release. */
    if (schema)
        schema->release = NULL;
    if (array)
        array->release = NULL;
    if (!table || !schema || !array || !table_is_exportable(table))
        return EMBER_ERROR_INVALID_ARGUMENT;
    size_t columns = (size_t)table->column_count;
    /* Far beyond any table that fits in memory; keeps the size arithmetic below from wrapping. */
    if ((uint64_t)table->rows > SIZE_MAX / 16 || columns > SIZE_MAX / 256)
        return EMBER_ERROR_OUT_OF_MEMORY;

    /* Built in locals and moved out only when whole, so the outputs never see a half export. */
    struct ArrowSchema out_schema;
    struct ArrowArray out_array;
    ember_status status = export_schema(table, columns, &out_schema);
    if (status != EMBER_OK)
        return status;
    status = export_array(table, columns, &out_array);
    if (status != EMBER_OK) {
        out_schema.release(&out_schema);
        return status;
    }
    *schema = out_schema;
    *array = out_array;
    return EMBER_OK;
}
