/* test_arrow.c: ember_table_export_arrow read back through the Arrow C Data Interface alone (a
 * small reader of format strings, buffers, bitmaps and offsets) and compared cell by cell with
 * the table's accessors; ownership (export outliving its table, moved structs, release order),
 * allocation failures, and a table that came through ember_read_csv + ember_collect. */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/table.h"
#include "ember_arrow_abi.h"

/* ---- building tables ------------------------------------------------------------------ */

static ember_table *new_table(int columns, const char *const *names, const ember_type *types) {
    ember_table *table = ember_table_create(columns, names);
    assert_non_null(table);
    for (int c = 0; c < columns; c++)
        assert_true(ember_column_init(&table->columns[c], types[c], 0));
    return table;
}

static void put_int64(ember_table *table, int c, int64_t value) {
    assert_true(ember_column_append_int64(&table->columns[c], value));
}

static void put_float64(ember_table *table, int c, double value) {
    assert_true(ember_column_append_float64(&table->columns[c], value));
}

static void put_bytes(ember_table *table, int c, const char *text, size_t len) {
    assert_true(ember_column_append_string(&table->columns[c], text, len, NULL));
}

static void put_string(ember_table *table, int c, const char *text) {
    put_bytes(table, c, text, strlen(text));
}

static void put_null(ember_table *table, int c) {
    assert_true(ember_column_append_null(&table->columns[c]));
}

static void finish(ember_table *table) {
    table->rows = table->column_count ? table->columns[0].length : 0;
    for (int c = 1; c < table->column_count; c++)
        assert_int_equal(table->columns[c].length, table->rows);
}

/* Each builder makes the same table every time it is called, so a test can export one copy,
 * free it, and check the export against a second copy. */
typedef ember_table *(*table_builder)(void);

static ember_table *numbers_table(void) {
    static const char *const names[] = {"i", "f", "dense"};
    static const ember_type types[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_INT64};
    static const double floats[] = {0.0,  -0.0,   NAN,   -NAN,      INFINITY,
                                    -1.5, 5e-324, 1e300, -INFINITY, 0.1};
    ember_table *t = new_table(3, names, types);
    static const int64_t ints[] = {0, INT64_MIN, INT64_MAX,     -1,
                                   1, 42,        INT64_MIN + 1, INT64_MAX - 1};
    for (int r = 0; r < 10; r++) {
        if (r == 3 || r == 9)
            put_null(t, 0);
        else
            put_int64(t, 0, ints[r % 8]);
        if (r == 5)
            put_null(t, 1);
        else
            put_float64(t, 1, floats[r]);
        put_int64(t, 2, r % 2 ? INT64_MIN : INT64_MAX);
    }
    finish(t);
    return t;
}

static ember_table *strings_table(void) {
    static const char *const names[] = {"s", "dense"};
    static const ember_type types[] = {EMBER_TYPE_STRING, EMBER_TYPE_STRING};
    static const char *const texts[] = {
        "",   "plain",    "has,comma",        "say \"hi\"",       "line\nbreak\r\n",
        NULL, "\xc3\xbc", "\xe2\x82\xac uro", "\xf0\x9f\x98\x80", NULL,
        "",   "last"};
    ember_table *t = new_table(2, names, types);
    for (int r = 0; r < 12; r++) {
        if (texts[r])
            put_string(t, 0, texts[r]);
        else
            put_null(t, 0);
        if (r == 1)
            put_bytes(t, 1, "a\0b", 3); /* an embedded NUL is just a byte */
        else
            put_string(t, 1, r % 3 ? "x" : "");
    }
    char long_text[300];
    memset(long_text, 'z', sizeof long_text);
    put_bytes(t, 0, long_text, sizeof long_text);
    put_bytes(t, 1, long_text, 7);
    finish(t);
    return t;
}

/* 19 rows: the bitmaps cross two byte boundaries and end inside a byte. */
static ember_table *bools_table(void) {
    static const char *const names[] = {"b", "dense"};
    static const ember_type types[] = {EMBER_TYPE_BOOL, EMBER_TYPE_BOOL};
    ember_table *t = new_table(2, names, types);
    for (int r = 0; r < 19; r++) {
        if (r % 5 == 2)
            put_null(t, 0);
        else
            put_int64(t, 0, r % 3 == 0);
        put_int64(t, 1, r % 2);
    }
    finish(t);
    return t;
}

static const char *const ALL_TYPES_NAMES[] = {"int", "float", "text", "flag"};
static const ember_type ALL_TYPES[] = {EMBER_TYPE_INT64, EMBER_TYPE_FLOAT64, EMBER_TYPE_STRING,
                                       EMBER_TYPE_BOOL};

static ember_table *empty_rows_table(void) {
    ember_table *t = new_table(4, ALL_TYPES_NAMES, ALL_TYPES);
    finish(t);
    return t;
}

static ember_table *no_columns_table(void) {
    ember_table *t = ember_table_create(0, NULL);
    assert_non_null(t);
    return t;
}

/* One row: each type once valid, once null. */
static ember_table *one_row_table(void) {
    static const char *const names[] = {"i", "f", "s", "b", "i0", "f0", "s0", "b0"};
    static const ember_type types[] = {EMBER_TYPE_INT64,  EMBER_TYPE_FLOAT64, EMBER_TYPE_STRING,
                                       EMBER_TYPE_BOOL,   EMBER_TYPE_INT64,   EMBER_TYPE_FLOAT64,
                                       EMBER_TYPE_STRING, EMBER_TYPE_BOOL};
    ember_table *t = new_table(8, names, types);
    put_int64(t, 0, -7);
    put_float64(t, 1, 2.5);
    put_string(t, 2, "one");
    put_int64(t, 3, 1);
    for (int c = 4; c < 8; c++)
        put_null(t, c);
    finish(t);
    return t;
}

static uint64_t next_random(uint64_t *seed) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 33;
}

/* 1000 rows of every type with about one null in five, and names that need care. */
static ember_table *random_table(void) {
    static const char *const names[] = {"id", "na\xc3\xafve", "", "a,b \"q\""};
    ember_table *t = new_table(4, names, ALL_TYPES);
    uint64_t seed = 12345;
    char text[40];
    for (int r = 0; r < 1000; r++) {
        for (int c = 0; c < 4; c++) {
            uint64_t x = next_random(&seed);
            if (x % 5 == 0) {
                put_null(t, c);
                continue;
            }
            switch (c) {
            case 0:
                put_int64(t, c, (int64_t)(x * 0x9e3779b97f4a7c15ull));
                break;
            case 1:
                put_float64(t, c, ((double)x - 1e9) / 7.0);
                break;
            case 2: {
                size_t len = x % sizeof text;
                for (size_t i = 0; i < len; i++)
                    text[i] = (char)(' ' + (next_random(&seed) % 95));
                put_bytes(t, c, text, len);
                break;
            }
            case 3:
                put_int64(t, c, (x >> 7) & 1);
                break;
            }
        }
    }
    finish(t);
    return t;
}

/* A few rows of every type with nulls: the subject of the ownership and failure tests. */
static ember_table *mixed_table(void) {
    ember_table *t = new_table(4, ALL_TYPES_NAMES, ALL_TYPES);
    for (int r = 0; r < 10; r++) {
        for (int c = 0; c < 4; c++) {
            if ((r + c) % 4 == 0) {
                put_null(t, c);
                continue;
            }
            switch (c) {
            case 0:
                put_int64(t, c, r * 1000 - 3);
                break;
            case 1:
                put_float64(t, c, r / 4.0);
                break;
            case 2:
                put_string(t, c, r % 2 ? "odd \xe2\x9c\x93" : "even");
                break;
            case 3:
                put_int64(t, c, r % 3 == 1);
                break;
            }
        }
    }
    finish(t);
    return t;
}

/* ---- reading through the ABI ---------------------------------------------------------- */

static bool bit_is_set(const void *bitmap, int64_t i) {
    return (((const uint8_t *)bitmap)[i >> 3] >> (i & 7)) & 1;
}

static void assert_aligned(const void *buffer) {
    assert_non_null(buffer);
    if ((uintptr_t)buffer % 64 != 0)
        fail_msg("buffer %p is not 64-byte aligned", buffer);
}

/* The bits of a bitmap past length, in its last byte, are clear (tidy, not required). */
static void assert_tail_clear(const void *bitmap, int64_t length) {
    if (length % 8) {
        uint8_t last = ((const uint8_t *)bitmap)[length / 8];
        assert_int_equal(last >> (length % 8), 0);
    }
}

/* One cell as decoded from the ABI, by the child's format string. */
typedef struct arrow_cell {
    bool valid;
    int64_t integer;  /* "l", and "b" as 0 / 1 */
    double real;      /* "g" */
    const char *text; /* "u" */
    int32_t len;
} arrow_cell;

static arrow_cell read_cell(const struct ArrowSchema *schema, const struct ArrowArray *array,
                            int64_t row) {
    arrow_cell cell = {.valid = true};
    int64_t i = array->offset + row;
    if (array->buffers[0])
        cell.valid = bit_is_set(array->buffers[0], i);
    const char *format = schema->format;
    if (strcmp(format, "l") == 0) {
        cell.integer = ((const int64_t *)array->buffers[1])[i];
    } else if (strcmp(format, "g") == 0) {
        cell.real = ((const double *)array->buffers[1])[i];
    } else if (strcmp(format, "b") == 0) {
        cell.integer = bit_is_set(array->buffers[1], i);
    } else if (strcmp(format, "u") == 0) {
        const int32_t *offsets = array->buffers[1];
        cell.text = (const char *)array->buffers[2] + offsets[i];
        cell.len = offsets[i + 1] - offsets[i];
    } else {
        fail_msg("unexpected format \"%s\"", format);
    }
    return cell;
}

static const char *expected_format(ember_type type) {
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
    return "?";
}

/* Child c of an export against column c of the table, every cell. */
static void verify_column(const ember_table *t, size_t c, const struct ArrowSchema *schema,
                          const struct ArrowArray *array) {
    int64_t rows = ember_table_row_count(t);
    ember_type type = ember_table_column_type(t, c);

    assert_non_null(schema->release);
    assert_string_equal(schema->format, expected_format(type));
    assert_string_equal(schema->name, ember_table_column_name(t, c));
    assert_null(schema->metadata);
    assert_int_equal(schema->flags, ARROW_FLAG_NULLABLE);
    assert_int_equal(schema->n_children, 0);
    assert_null(schema->dictionary);

    assert_non_null(array->release);
    assert_int_equal(array->length, rows);
    assert_int_equal(array->offset, 0);
    assert_int_equal(array->n_children, 0);
    assert_null(array->dictionary);
    bool is_string = type == EMBER_TYPE_STRING;
    assert_int_equal(array->n_buffers, is_string ? 3 : 2);
    assert_non_null(array->buffers);
    for (int64_t b = 1; b < array->n_buffers; b++)
        assert_aligned(array->buffers[b]);

    int64_t table_nulls = 0;
    for (int64_t r = 0; r < rows; r++)
        table_nulls += ember_table_is_null(t, c, r);
    assert_int_equal(array->null_count, table_nulls);
    if (table_nulls == 0) {
        assert_null(array->buffers[0]); /* no nulls: no bitmap */
    } else {
        assert_aligned(array->buffers[0]);
        assert_tail_clear(array->buffers[0], rows);
    }
    if (type == EMBER_TYPE_BOOL)
        assert_tail_clear(array->buffers[1], rows);
    if (is_string) {
        const int32_t *offsets = array->buffers[1];
        assert_int_equal(offsets[0], 0);
        for (int64_t r = 0; r < rows; r++)
            assert_true(offsets[r + 1] >= offsets[r]);
    }

    for (int64_t r = 0; r < rows; r++) {
        arrow_cell cell = read_cell(schema, array, r);
        if (cell.valid == ember_table_is_null(t, c, r))
            fail_msg("column %zu row %lld: valid %d, table null %d", c, (long long)r, cell.valid,
                     ember_table_is_null(t, c, r));
        if (!cell.valid)
            continue;
        switch (type) {
        case EMBER_TYPE_INT64:
            if (cell.integer != ember_table_int64(t, c, r))
                fail_msg("column %zu row %lld: %lld, expected %lld", c, (long long)r,
                         (long long)cell.integer, (long long)ember_table_int64(t, c, r));
            break;
        case EMBER_TYPE_BOOL:
            assert_int_equal(cell.integer, ember_table_int64(t, c, r) != 0);
            break;
        case EMBER_TYPE_FLOAT64: {
            double want = ember_table_float64(t, c, r);
            if (memcmp(&cell.real, &want, sizeof want) != 0) /* the same bits: -0.0, NaNs */
                fail_msg("column %zu row %lld: %.17g, expected %.17g", c, (long long)r, cell.real,
                         want);
            break;
        }
        case EMBER_TYPE_STRING: {
            size_t len;
            const char *want = ember_table_string(t, c, r, &len);
            assert_int_equal(cell.len, len);
            assert_memory_equal(cell.text, want, len);
            break;
        }
        }
    }
}

/* The whole batch against the table. */
static void verify_batch(const ember_table *t, const struct ArrowSchema *schema,
                         const struct ArrowArray *array) {
    size_t columns = ember_table_column_count(t);
    assert_non_null(schema->release);
    assert_string_equal(schema->format, "+s");
    assert_int_equal(schema->n_children, columns);
    assert_null(schema->dictionary);
    assert_non_null(array->release);
    assert_int_equal(array->length, ember_table_row_count(t));
    assert_int_equal(array->null_count, 0);
    assert_int_equal(array->offset, 0);
    assert_int_equal(array->n_buffers, 1);
    assert_null(array->buffers[0]);
    assert_int_equal(array->n_children, columns);
    assert_null(array->dictionary);
    for (size_t c = 0; c < columns; c++)
        verify_column(t, c, schema->children[c], array->children[c]);
}

/* Garbage in every field, so a test sees what the export really wrote. */
static void poison(struct ArrowSchema *schema, struct ArrowArray *array) {
    memset(schema, 0xa5, sizeof *schema);
    memset(array, 0xa5, sizeof *array);
}

static void release_both(struct ArrowSchema *schema, struct ArrowArray *array) {
    schema->release(schema);
    assert_null(schema->release);
    array->release(array);
    assert_null(array->release);
}

/* Exports a table, frees it, then reads the export against a second copy: the export must own
 * everything it points to (ASan catches a buffer still borrowed from the freed table). */
static void export_and_verify(table_builder build) {
    ember_table *t = build();
    struct ArrowSchema schema;
    struct ArrowArray array;
    poison(&schema, &array);
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_OK);
    ember_table_free(t);
    ember_table *expected = build();
    verify_batch(expected, &schema, &array);
    release_both(&schema, &array);
    ember_table_free(expected);
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_numbers(void **state) {
    export_and_verify(numbers_table);
}

static void test_strings(void **state) {
    export_and_verify(strings_table);
}

static void test_bools(void **state) {
    export_and_verify(bools_table);
}

static void test_zero_rows(void **state) {
    export_and_verify(empty_rows_table);
    /* The utf8 child still has its one offset, 0. */
    ember_table *t = empty_rows_table();
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_OK);
    ember_table_free(t);
    assert_int_equal(((const int32_t *)array.children[2]->buffers[1])[0], 0);
    assert_non_null(array.children[2]->buffers[2]);
    release_both(&schema, &array);
}

static void test_zero_columns(void **state) {
    export_and_verify(no_columns_table);
}

static void test_one_row(void **state) {
    export_and_verify(one_row_table);
}

static void test_random_rows(void **state) {
    export_and_verify(random_table);
}

/* String offsets that do not start at 0 (a column viewed from its second row on) are exported
 * rebased, with only the bytes they reach. */
static void test_string_offsets_rebased(void **state) {
    static const char *const names[] = {"s"};
    static const ember_type types[] = {EMBER_TYPE_STRING};
    ember_table *t = new_table(1, names, types);
    put_string(t, 0, "ab");
    put_string(t, 0, "cd");
    put_string(t, 0,
               "\xc3\xa9"
               "f");
    finish(t);
    int32_t *offsets = t->columns[0].values;
    t->columns[0].values = offsets + 1;
    t->columns[0].length = t->rows = 2;
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_OK);
    t->columns[0].values = offsets;
    ember_table_free(t);

    ember_table *expected = new_table(1, names, types);
    put_string(expected, 0, "cd");
    put_string(expected, 0,
               "\xc3\xa9"
               "f");
    finish(expected);
    verify_batch(expected, &schema, &array);
    assert_int_equal(((const int32_t *)array.children[0]->buffers[1])[2], 5);
    release_both(&schema, &array);
    ember_table_free(expected);
}

static void test_arguments(void **state) {
    ember_table *t = mixed_table();
    struct ArrowSchema schema;
    struct ArrowArray array;
    poison(&schema, &array);
    assert_int_equal(ember_table_export_arrow(NULL, &schema, &array), EMBER_ERROR_INVALID_ARGUMENT);
    assert_null(schema.release);
    assert_null(array.release);
    poison(&schema, &array);
    assert_int_equal(ember_table_export_arrow(t, NULL, &array), EMBER_ERROR_INVALID_ARGUMENT);
    assert_null(array.release);
    assert_int_equal(ember_table_export_arrow(t, &schema, NULL), EMBER_ERROR_INVALID_ARGUMENT);
    assert_null(schema.release);
    assert_int_equal(ember_table_export_arrow(NULL, NULL, NULL), EMBER_ERROR_INVALID_ARGUMENT);

    /* A table whose row count disagrees with its columns is refused, not read past. */
    t->rows = 11;
    poison(&schema, &array);
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_ERROR_INVALID_ARGUMENT);
    assert_null(schema.release);
    assert_null(array.release);
    t->rows = 10;
    ember_table_free(t);
}

/* The consumer may move the structs (the spec's way: copy, then mark the source released) and
 * release the copies; a child moved out of the batch lives on after its parent is released. */
static void test_move(void **state) {
    ember_table *t = mixed_table();
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_OK);
    ember_table_free(t);
    ember_table *expected = mixed_table();

    /* Move child 0 and child 2 out of both the schema and the array; scribble over the
     * vacated structs so that nothing may still depend on them. */
    struct ArrowSchema early_schema, late_schema;
    struct ArrowArray early_array, late_array;
    memcpy(&early_schema, schema.children[0], sizeof early_schema);
    memcpy(&early_array, array.children[0], sizeof early_array);
    memcpy(&late_schema, schema.children[2], sizeof late_schema);
    memcpy(&late_array, array.children[2], sizeof late_array);
    const size_t moved[] = {0, 2};
    for (size_t i = 0; i < 2; i++) {
        memset(schema.children[moved[i]], 0x5a, sizeof(struct ArrowSchema));
        memset(array.children[moved[i]], 0x5a, sizeof(struct ArrowArray));
        schema.children[moved[i]]->release = NULL;
        array.children[moved[i]]->release = NULL;
    }

    /* Move the batch itself too, and scribble over the original. */
    struct ArrowSchema batch_schema;
    struct ArrowArray batch_array;
    memcpy(&batch_schema, &schema, sizeof schema);
    memcpy(&batch_array, &array, sizeof array);
    poison(&schema, &array);
    schema.release = NULL;
    array.release = NULL;

    /* A moved child released before its old parent. */
    verify_column(expected, 0, &early_schema, &early_array);
    release_both(&early_schema, &early_array);

    /* The children left in the batch still read right through the moved batch. */
    verify_column(expected, 1, batch_schema.children[1], batch_array.children[1]);
    verify_column(expected, 3, batch_schema.children[3], batch_array.children[3]);
    release_both(&batch_schema, &batch_array);

    /* A moved child released after its old parent: still whole. */
    verify_column(expected, 2, &late_schema, &late_array);
    release_both(&late_schema, &late_array);
    ember_table_free(expected);
}

/* Each allocation of the export failing in turn: out of memory with nothing to release (the
 * release members NULL) and nothing leaked (ASan); then a full export once all succeed. */
static void sweep_out_of_memory(table_builder build) {
    ember_table *t = build();
    for (long fail = 1;; fail++) {
        struct ArrowSchema schema;
        struct ArrowArray array;
        poison(&schema, &array);
        ember_alloc_fail_after(fail);
        ember_status status = ember_table_export_arrow(t, &schema, &array);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            assert_true(fail > 2); /* at least the schema and the array allocate */
            verify_batch(t, &schema, &array);
            release_both(&schema, &array);
            break;
        }
        assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
        assert_null(schema.release);
        assert_null(array.release);
    }
    ember_table_free(t);
}

static void test_out_of_memory(void **state) {
    sweep_out_of_memory(mixed_table);
    sweep_out_of_memory(one_row_table);
    sweep_out_of_memory(no_columns_table);
    sweep_out_of_memory(empty_rows_table);
}

/* A table from the real pipeline: a CSV read and collected, then exported. */
static void test_collected_csv(void **state) {
    ember_session *session = tu_shared_session;
    if (!session)
        skip(); /* no OpenCL device */
    char *path = tu_tmp_path("arrow.csv");
    tu_write_text(path, "id,name,price\n"
                        "1,apple,1.5\n"
                        "2,,\n"
                        "-3,\"a,b \"\"c\"\"\n\xc3\xbc\",-0.0\n");
    ember_frame *frame = NULL;
    ember_table *t = NULL;
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    if (ember_collect(frame, &t) != EMBER_OK)
        fail_msg("ember_collect: %s", ember_session_error(session));
    ember_frame_free(frame);
    unlink(path);
    free(path);

    assert_int_equal(ember_table_column_type(t, 0), EMBER_TYPE_INT64);
    assert_int_equal(ember_table_column_type(t, 1), EMBER_TYPE_STRING);
    assert_int_equal(ember_table_column_type(t, 2), EMBER_TYPE_FLOAT64);
    struct ArrowSchema schema;
    struct ArrowArray array;
    assert_int_equal(ember_table_export_arrow(t, &schema, &array), EMBER_OK);
    verify_batch(t, &schema, &array);
    ember_table_free(t);

    /* Known values, read after the table is gone. */
    assert_int_equal(array.length, 3);
    assert_string_equal(schema.children[1]->name, "name");
    arrow_cell cell = read_cell(schema.children[0], array.children[0], 2);
    assert_true(cell.valid);
    assert_int_equal(cell.integer, -3);
    cell = read_cell(schema.children[1], array.children[1], 1);
    assert_false(cell.valid); /* the empty field reads as null */
    assert_int_equal(array.children[1]->null_count, 1);
    cell = read_cell(schema.children[1], array.children[1], 2);
    assert_true(cell.valid);
    assert_int_equal(cell.len, 10);
    assert_memory_equal(cell.text, "a,b \"c\"\n\xc3\xbc", 10);
    cell = read_cell(schema.children[2], array.children[2], 2);
    assert_true(cell.valid && cell.real == 0.0 && signbit(cell.real));
    release_both(&schema, &array);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_numbers),       cmocka_unit_test(test_strings),
        cmocka_unit_test(test_bools),         cmocka_unit_test(test_zero_rows),
        cmocka_unit_test(test_zero_columns),  cmocka_unit_test(test_one_row),
        cmocka_unit_test(test_random_rows),   cmocka_unit_test(test_string_offsets_rebased),
        cmocka_unit_test(test_arguments),     cmocka_unit_test(test_move),
        cmocka_unit_test(test_out_of_memory), cmocka_unit_test(test_collected_csv),
    };
    return cmocka_run_group_tests(tests, tu_shared_session_open, tu_shared_session_close);
}
