/* transform.c: the narrow and shuffle transformations (filter, select, with_column, map,
 * repartition, coalesce) and range(): each checks its arguments against the parent's columns
 * now, so a mistake is reported where it is made, and derives the new frame's columns. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "plan/expr.h"
#include "plan/frame.h"
#include "plan/groupby_plan.h"
#include "session/session_internal.h"

/* "id, category, ..." for messages. */
static void list_columns(const ember_schema *schema, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < schema->count; c++) {
        int n = snprintf(buf + used, size - used, "%s%s", c ? ", " : "", schema->names[c]);
        if (n < 0 || used + (size_t)n + 8 >= size) {
            snprintf(buf + used, size - used, ", ...");
            return;
        }
        used += (size_t)n;
    }
}

static ember_frame *frame_new(ember_frame *parent, ember_frame_kind kind) {
    ember_frame *frame = ember_calloc(1, sizeof *frame);
    if (!frame)
        return NULL;
    atomic_init(&frame->references, 1);
    frame->session = parent->session;
    frame->kind = kind;
    frame->parent = ember_frame_retain(parent);
    frame->parent_version = parent->version;
    return frame;
}

/* The type an expression gives a column; a bare null has none. */
static ember_status output_type(const ember_expr *expr, ember_type *type, ember_error *err) {
    ember_value_type t = ember_expr_type(expr);
    if (t == EMBER_VALUE_NULL)
        return ember_error_set(err, EMBER_ERROR_SCHEMA,
                               "expression \"%s\" is always null and has no type: give it one, "
                               "e.g. int(null), float(null) or if(false, 'x', null)",
                               expr->text);
    *type = (ember_type)t;
    return EMBER_OK;
}

/* Checks an expression against schema; its type into *type when type is not NULL. */
static ember_status check_expression(const char *text, const ember_schema *schema, ember_type *type,
                                     ember_error *err) {
    ember_expr *expr = NULL;
    ember_status status = ember_expr_parse(text, schema, &expr, err);
    if (status == EMBER_OK && type)
        status = output_type(expr, type, err);
    ember_expr_free(expr);
    return status;
}

/* The columns of frame from its parent's current ones. */
static ember_status derive_schema(ember_frame *frame, ember_error *err) {
    const ember_schema *parent = ember_frame_schema(frame->parent);
    ember_schema schema = {0};
    ember_status status = EMBER_OK;
    switch (frame->kind) {
    case EMBER_FRAME_FILTER: {
        ember_expr *expr = NULL;
        status = ember_expr_parse(frame->predicate, parent, &expr, err);
        if (status == EMBER_OK && ember_expr_type(expr) != EMBER_VALUE_BOOL &&
            ember_expr_type(expr) != EMBER_VALUE_NULL)
            status = ember_error_set(err, EMBER_ERROR_SCHEMA,
                                     "filter: expression \"%s\" is %s, not a boolean condition "
                                     "(compare it, e.g. \"%s > 0\")",
                                     frame->predicate, ember_value_type_name(ember_expr_type(expr)),
                                     frame->predicate);
        ember_expr_free(expr);
        if (status == EMBER_OK)
            status = ember_schema_copy(parent, &schema, err);
        break;
    }
    case EMBER_FRAME_PROJECT: {
        char **names = ember_calloc((size_t)frame->column_count + 1, sizeof *names);
        if (!names)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        for (int c = 0; c < frame->column_count; c++)
            names[c] = frame->columns[c].name;
        status = ember_schema_create(frame->column_count, names, &schema, err);
        ember_free(names);
        for (int c = 0; status == EMBER_OK && c < frame->column_count; c++) {
            const ember_project_column *column = &frame->columns[c];
            if (column->parent_column >= 0)
                schema.types[c] = parent->types[column->parent_column];
            else
                status = check_expression(column->expression, parent, &schema.types[c], err);
        }
        break;
    }
    case EMBER_FRAME_GROUP_BY:
        /* Aggregate output types follow the input's (a widened sum column sums floats). */
        return ember_groupby_plan_refresh(frame->group, parent, &frame->schema, err);
    default:
        status = ember_schema_copy(parent, &schema, err);
        break;
    }
    if (status != EMBER_OK) {
        ember_schema_clear(&schema);
        return status;
    }
    ember_schema_clear(&frame->schema);
    frame->schema = schema;
    return EMBER_OK;
}

ember_status ember_frame_refresh(ember_frame *frame, ember_error *err) {
    if (!frame->parent)
        return EMBER_OK;
    ember_status status = ember_frame_refresh(frame->parent, err);
    if (status != EMBER_OK || frame->parent_version == frame->parent->version)
        return status;
    status = derive_schema(frame, err);
    if (status != EMBER_OK)
        return status;
    frame->parent_version = frame->parent->version;
    frame->version++;
    return EMBER_OK;
}

/* Common ending of a transformation: derive the columns, report or hand out the frame. */
static ember_status finish(ember_frame *frame, ember_frame **out, const char *what) {
    ember_session *session = frame->session;
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_frame_refresh(frame->parent, &err);
    if (status == EMBER_OK)
        status = derive_schema(frame, &err);
    if (status != EMBER_OK) {
        ember_frame_free(frame);
        if (err.status == EMBER_OK)
            return ember_session_fail(session, status, "%s: failed", what);
        return ember_session_take_error(session, &err);
    }
    frame->parent_version = frame->parent->version;
    *out = frame;
    return EMBER_OK;
}

static ember_status start(ember_frame *parent, ember_frame **out) {
    if (!parent || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session_clear_error(parent->session);
    return EMBER_OK;
}

ember_status ember_filter(ember_frame *frame, const char *condition, ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    if (!condition)
        return ember_session_fail(frame->session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "filter: the condition is missing");
    ember_frame *filtered = frame_new(frame, EMBER_FRAME_FILTER);
    if (!filtered || !(filtered->predicate = ember_strdup(condition))) {
        ember_frame_free(filtered);
        return ember_session_fail(frame->session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    return finish(filtered, out, "filter");
}

/* A PROJECT frame with the parent's columns (all, or none when empty is set). */
static ember_frame *project_new(ember_frame *parent, int capacity, bool empty) {
    ember_frame *frame = frame_new(parent, EMBER_FRAME_PROJECT);
    const ember_schema *schema = ember_frame_schema(parent);
    if (!frame)
        return NULL;
    frame->columns = ember_calloc((size_t)capacity + 1, sizeof *frame->columns);
    if (!frame->columns) {
        ember_frame_free(frame);
        return NULL;
    }
    for (int c = 0; !empty && c < schema->count; c++) {
        frame->columns[c].parent_column = c;
        if (!(frame->columns[c].name = ember_strdup(schema->names[c]))) {
            ember_frame_free(frame);
            return NULL;
        }
        frame->column_count = c + 1;
    }
    return frame;
}

ember_status ember_select(ember_frame *frame, const char *const *columns, ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    ember_session *session = frame->session;
    const ember_schema *schema = ember_frame_schema(frame);
    int count = 0;
    while (columns && columns[count])
        count++;
    if (count == 0)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "select: no columns given");
    ember_frame *selected = project_new(frame, count, true);
    if (!selected)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < count; i++) {
        int c = ember_schema_find(schema, columns[i]);
        char names[1536];
        if (c < 0) {
            list_columns(schema, names, sizeof names);
            ember_frame_free(selected);
            return ember_session_fail(session, EMBER_ERROR_SCHEMA,
                                      "select: unknown column '%s' (columns: %s)", columns[i],
                                      names);
        }
        for (int j = 0; j < i; j++)
            if (strcmp(columns[j], columns[i]) == 0) {
                ember_frame_free(selected);
                return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                          "select: column '%s' is named twice", columns[i]);
            }
        selected->columns[i].parent_column = c;
        if (!(selected->columns[i].name = ember_strdup(columns[i]))) {
            ember_frame_free(selected);
            return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        }
        selected->column_count = i + 1;
    }
    return finish(selected, out, "select");
}

ember_status ember_with_column(ember_frame *frame, const char *name, const char *expression,
                               ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    ember_session *session = frame->session;
    if (!name || !*name || !expression)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "with_column: a column name and an expression are required");
    const ember_schema *schema = ember_frame_schema(frame);
    ember_frame *project = project_new(frame, schema->count + 1, false);
    if (!project)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    /* As in Spark, a column of the same name is replaced where it stands. */
    int c = ember_schema_find(schema, name);
    if (c < 0) {
        c = project->column_count++;
        project->columns[c].name = ember_strdup(name);
    }
    project->columns[c].parent_column = -1;
    project->columns[c].expression = ember_strdup(expression);
    if (!project->columns[c].name || !project->columns[c].expression) {
        ember_frame_free(project);
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    return finish(project, out, "with_column");
}

ember_status ember_map(ember_frame *frame, const char *expression, ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    ember_session *session = frame->session;
    const ember_schema *schema = ember_frame_schema(frame);
    if (schema->count != 1) {
        char names[1536];
        list_columns(schema, names, sizeof names);
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "map: the frame has %d columns (%s); map works on a one-column "
                                  "frame: use with_column, or select one column first",
                                  schema->count, names);
    }
    if (!expression)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "map: the expression is missing");
    ember_frame *project = project_new(frame, 1, true);
    if (!project)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    project->column_count = 1;
    project->columns[0].parent_column = -1;
    project->columns[0].name = ember_strdup("value");
    project->columns[0].expression = ember_strdup(expression);
    if (!project->columns[0].name || !project->columns[0].expression) {
        ember_frame_free(project);
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    return finish(project, out, "map");
}

ember_status ember_range(ember_session *session, int64_t start_value, int64_t end_value, int slices,
                         ember_frame **out) {
    if (!session || !out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session_clear_error(session);
    if (slices < 1)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "range: slices must be at least 1 (got %d)", slices);
    if (end_value < start_value)
        end_value = start_value; /* an empty range, as Python's range(5, 0) */
    /* Rows per slice must fit the kernels' 32-bit row indexes. */
    uint64_t rows = (uint64_t)end_value - (uint64_t)start_value;
    if (rows / (uint64_t)slices >= (uint64_t)INT32_MAX)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "range: %" PRIu64 " values in %d slices is more than 2^31 per "
                                  "slice; use more slices",
                                  rows, slices);
    ember_frame *frame = ember_calloc(1, sizeof *frame);
    ember_error err;
    ember_error_clear(&err);
    char *names[] = {"value"};
    if (!frame || ember_schema_create(1, names, &frame->schema, &err) != EMBER_OK) {
        ember_free(frame);
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    frame->schema.types[0] = EMBER_TYPE_INT64;
    atomic_init(&frame->references, 1);
    frame->session = session;
    frame->kind = EMBER_FRAME_RANGE;
    frame->range_start = start_value;
    frame->range_end = end_value;
    frame->partitions = slices;
    *out = frame;
    return EMBER_OK;
}

ember_status ember_repartition(ember_frame *frame, int partitions, ember_frame **out) {
    return ember_repartition_by(frame, partitions, NULL, out);
}

ember_status ember_repartition_by(ember_frame *frame, int partitions, const char *const *keys,
                                  ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    ember_session *session = frame->session;
    if (partitions < 1)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "repartition: the partition count must be at least 1 (got %d)",
                                  partitions);
    const ember_schema *schema = ember_frame_schema(frame);
    int count = 0;
    while (keys && keys[count])
        count++;
    if (count > EMBER_GROUP_BY_MAX_KEYS)
        return ember_session_fail(session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "repartition: at most %d key columns (got %d)",
                                  EMBER_GROUP_BY_MAX_KEYS, count);
    for (int k = 0; k < count; k++)
        if (ember_schema_find(schema, keys[k]) < 0) {
            char names[1536];
            list_columns(schema, names, sizeof names);
            return ember_session_fail(session, EMBER_ERROR_SCHEMA,
                                      "repartition: unknown key column '%s' (columns: %s)", keys[k],
                                      names);
        }
    ember_frame *shuffled = frame_new(frame, EMBER_FRAME_REPARTITION);
    if (!shuffled || !(shuffled->keys = ember_calloc((size_t)count + 1, sizeof(char *)))) {
        ember_frame_free(shuffled);
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    shuffled->partitions = partitions;
    for (int k = 0; k < count; k++) {
        if (!(shuffled->keys[k] = ember_strdup(keys[k]))) {
            ember_frame_free(shuffled);
            return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        }
        shuffled->key_count = k + 1;
    }
    return finish(shuffled, out, "repartition");
}

ember_status ember_coalesce(ember_frame *frame, int partitions, ember_frame **out) {
    ember_status status = start(frame, out);
    if (status != EMBER_OK)
        return status;
    if (partitions < 1)
        return ember_session_fail(frame->session, EMBER_ERROR_INVALID_ARGUMENT,
                                  "coalesce: the partition count must be at least 1 (got %d)",
                                  partitions);
    ember_frame *merged = frame_new(frame, EMBER_FRAME_COALESCE);
    if (!merged)
        return ember_session_fail(frame->session, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    /* As in Spark, coalesce only lowers the count; more partitions need a repartition. */
    int parent = ember_frame_partition_count(frame);
    merged->partitions = partitions < parent ? partitions : parent;
    return finish(merged, out, "coalesce");
}
