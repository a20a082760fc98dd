/* table.c: creating and freeing host result tables and the typed accessors of the public API.
 * Every accessor checks its arguments: a caller out of range gets a neutral value, not a crash. */
#include "data/table.h"

#include <string.h>

#include "common/alloc.h"

struct ember_table *ember_table_create(int column_count, const char *const *names) {
    if (column_count < 0 || (column_count > 0 && !names))
        return NULL;
    struct ember_table *table = ember_calloc(1, sizeof *table);
    if (!table)
        return NULL;
    /* calloc of at least one element, so a zero-column table still has non-NULL arrays. */
    size_t slots = column_count > 0 ? (size_t)column_count : 1;
    table->names = ember_calloc(slots, sizeof *table->names);
    table->columns = ember_calloc(slots, sizeof *table->columns);
    if (!table->names || !table->columns) {
        ember_table_free(table);
        return NULL;
    }
    table->column_count = column_count;
    for (int i = 0; i < column_count; i++) {
        table->names[i] = ember_strdup(names[i] ? names[i] : "");
        if (!table->names[i]) {
            ember_table_free(table);
            return NULL;
        }
    }
    return table;
}

void ember_table_free(ember_table *table) {
    if (!table)
        return;
    for (int i = 0; i < table->column_count; i++) {
        if (table->names)
            ember_free(table->names[i]);
        if (table->columns) {
            ember_free_aligned(table->columns[i].validity);
            ember_free_aligned(table->columns[i].values);
            ember_free_aligned(table->columns[i].bytes);
        }
    }
    ember_free(table->names);
    ember_free(table->columns);
    ember_free(table);
}

int64_t ember_table_row_count(const ember_table *table) {
    return table ? table->rows : 0;
}

size_t ember_table_column_count(const ember_table *table) {
    return table && table->column_count > 0 ? (size_t)table->column_count : 0;
}

const char *ember_table_column_name(const ember_table *table, size_t column) {
    if (column >= ember_table_column_count(table) || !table->names[column])
        return "";
    return table->names[column];
}

ember_type ember_table_column_type(const ember_table *table, size_t column) {
    if (column >= ember_table_column_count(table))
        return EMBER_TYPE_INT64;
    return table->columns[column].type;
}

int ember_table_column_index(const ember_table *table, const char *name) {
    if (!name)
        return -1;
    size_t count = ember_table_column_count(table);
    for (size_t i = 0; i < count; i++) {
        if (table->names[i] && strcmp(table->names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

/* The column when (column, row) is in range and its values exist, else NULL. The row is checked
 * against the column's own length too, so a table whose rows field disagrees with a column
 * (a bug elsewhere) still cannot read past a buffer. */
static const ember_column *cell_column(const ember_table *table, size_t column, int64_t row) {
    if (column >= ember_table_column_count(table) || row < 0 || row >= table->rows)
        return NULL;
    const ember_column *c = &table->columns[column];
    if (row >= c->length || !c->values)
        return NULL;
    return c;
}

bool ember_table_is_null(const ember_table *table, size_t column, int64_t row) {
    const ember_column *c = cell_column(table, column, row);
    return c && !ember_column_is_valid(c, row);
}

int64_t ember_table_int64(const ember_table *table, size_t column, int64_t row) {
    const ember_column *c = cell_column(table, column, row);
    if (!c || (c->type != EMBER_TYPE_INT64 && c->type != EMBER_TYPE_BOOL) ||
        !ember_column_is_valid(c, row))
        return 0;
    return ((const int64_t *)c->values)[row];
}

double ember_table_float64(const ember_table *table, size_t column, int64_t row) {
    const ember_column *c = cell_column(table, column, row);
    if (!c || c->type != EMBER_TYPE_FLOAT64 || !ember_column_is_valid(c, row))
        return 0.0;
    return ((const double *)c->values)[row];
}

const char *ember_table_string(const ember_table *table, size_t column, int64_t row, size_t *len) {
    size_t ignored;
    if (!len)
        len = &ignored;
    *len = 0;
    const ember_column *c = cell_column(table, column, row);
    if (!c || c->type != EMBER_TYPE_STRING || !c->bytes || !ember_column_is_valid(c, row))
        return "";
    int32_t text_len;
    const char *text = ember_column_string(c, row, &text_len);
    if (text_len < 0)
        return "";
    *len = (size_t)text_len;
    return text;
}
