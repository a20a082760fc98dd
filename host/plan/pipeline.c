/* pipeline.c: flattening a chain of narrow frames into one pipeline over its stage source (see
 * pipeline.h). Each step's expression is parsed against its parent's columns and rewritten over
 * the source's, so later steps see earlier with_column results without any being stored. */
#include "plan/pipeline.h"

#include "common/alloc.h"

bool ember_frame_is_stage_source(const ember_frame *frame) {
    switch (frame->kind) {
    case EMBER_FRAME_CSV:
    case EMBER_FRAME_RANGE:
    case EMBER_FRAME_GROUP_BY:
    case EMBER_FRAME_REPARTITION:
        return true;
    default:
        return frame->cache != NULL || (frame->cache_requested && !frame->materializing);
    }
}

void ember_pipeline_free(ember_pipeline *pipeline) {
    if (!pipeline)
        return;
    for (int p = 0; p < pipeline->predicate_count; p++)
        ember_expr_free(pipeline->predicates[p]);
    for (int c = 0; c < pipeline->column_count; c++)
        if (pipeline->computed)
            ember_expr_free(pipeline->computed[c]);
    ember_free(pipeline->predicates);
    ember_free(pipeline->computed);
    ember_free(pipeline->source_column);
    ember_free(pipeline->task_first);
    ember_free(pipeline);
}

/* A pipeline that passes source's columns and partitions through. */
static ember_status identity(ember_frame *source, ember_pipeline **out, ember_error *err) {
    ember_pipeline *p = ember_calloc(1, sizeof *p);
    const ember_schema *schema = ember_frame_schema(source);
    int tasks = ember_frame_partition_count(source);
    if (!p)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    p->top = p->source = source;
    p->source_schema = schema;
    p->column_count = schema->count;
    p->source_column = ember_calloc((size_t)schema->count + 1, sizeof *p->source_column);
    p->computed = ember_calloc((size_t)schema->count + 1, sizeof *p->computed);
    p->task_first = ember_calloc((size_t)tasks + 1, sizeof *p->task_first);
    if (!p->source_column || !p->computed || !p->task_first) {
        ember_pipeline_free(p);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    for (int c = 0; c < schema->count; c++)
        p->source_column[c] = c;
    p->task_count = tasks;
    for (int t = 0; t <= tasks; t++)
        p->task_first[t] = t;
    *out = p;
    return EMBER_OK;
}

/* Parses text against the parent step's columns and rewrites it over the source. */
static ember_status compose(const ember_pipeline *parent, const ember_schema *parent_schema,
                            const char *text, ember_expr **out, ember_error *err) {
    ember_expr *expr = NULL;
    ember_status status = ember_expr_parse(text, parent_schema, &expr, err);
    if (status == EMBER_OK)
        status = ember_expr_compose(expr, (const ember_expr *const *)parent->computed,
                                    parent->source_column, parent->source_schema, out, err);
    ember_expr_free(expr);
    return status;
}

static ember_status add_filter(ember_pipeline *p, const ember_schema *parent_schema,
                               const char *text, ember_error *err) {
    ember_expr **grown =
        ember_realloc(p->predicates, sizeof *grown * (size_t)(p->predicate_count + 1));
    if (!grown)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    p->predicates = grown;
    ember_status status = compose(p, parent_schema, text, &p->predicates[p->predicate_count], err);
    if (status == EMBER_OK)
        p->predicate_count++;
    return status;
}

static ember_status project(ember_pipeline *p, const ember_frame *frame,
                            const ember_schema *parent_schema, ember_error *err) {
    int count = frame->column_count;
    int *source_column = ember_calloc((size_t)count + 1, sizeof *source_column);
    ember_expr **computed = ember_calloc((size_t)count + 1, sizeof *computed);
    ember_status status = EMBER_OK;
    if (!source_column || !computed) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (int c = 0; c < count && status == EMBER_OK; c++) {
        const ember_project_column *column = &frame->columns[c];
        int from = column->parent_column;
        if (from >= 0) {
            source_column[c] = p->source_column[from];
            if (p->computed[from]) /* hand the parent's expression over */
                status = ember_expr_compose(p->computed[from], NULL, NULL, p->source_schema,
                                            &computed[c], err);
        } else {
            source_column[c] = -1;
            status = compose(p, parent_schema, column->expression, &computed[c], err);
        }
    }
    if (status == EMBER_OK) {
        for (int c = 0; c < p->column_count; c++)
            ember_expr_free(p->computed[c]);
        ember_free(p->computed);
        ember_free(p->source_column);
        p->computed = computed;
        p->source_column = source_column;
        p->column_count = count;
        return EMBER_OK;
    }
done:
    for (int c = 0; computed && c < count; c++)
        ember_expr_free(computed[c]);
    ember_free(computed);
    ember_free(source_column);
    return status;
}

/* Merges the tasks into n groups of neighbours, as even in count as they can be. */
static ember_status coalesce(ember_pipeline *p, int n, ember_error *err) {
    if (n >= p->task_count)
        return EMBER_OK;
    int *first = ember_calloc((size_t)n + 1, sizeof *first);
    if (!first)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    for (int j = 0; j <= n; j++)
        first[j] = p->task_first[(int)((int64_t)j * p->task_count / n)];
    ember_free(p->task_first);
    p->task_first = first;
    p->task_count = n;
    return EMBER_OK;
}

ember_status ember_pipeline_create(ember_frame *frame, ember_pipeline **out, ember_error *err) {
    *out = NULL;
    if (ember_frame_is_stage_source(frame))
        return identity(frame, out, err);
    ember_pipeline *p = NULL;
    ember_status status = ember_pipeline_create(frame->parent, &p, err);
    if (status != EMBER_OK)
        return status;
    const ember_schema *parent_schema = ember_frame_schema(frame->parent);
    switch (frame->kind) {
    case EMBER_FRAME_FILTER:
        status = add_filter(p, parent_schema, frame->predicate, err);
        break;
    case EMBER_FRAME_PROJECT:
        status = project(p, frame, parent_schema, err);
        break;
    case EMBER_FRAME_COALESCE:
        status = coalesce(p, frame->partitions, err);
        break;
    default:
        status = ember_error_set(err, EMBER_ERROR_INTERNAL, "pipeline: unexpected frame kind");
        break;
    }
    if (status != EMBER_OK) {
        ember_pipeline_free(p);
        return status;
    }
    p->top = frame;
    *out = p;
    return EMBER_OK;
}

bool ember_pipeline_is_identity(const ember_pipeline *p) {
    if (p->predicate_count || p->column_count != p->source_schema->count)
        return false;
    for (int c = 0; c < p->column_count; c++)
        if (p->source_column[c] != c)
            return false;
    return p->task_count == ember_frame_partition_count(p->source);
}

void ember_pipeline_source_columns(const ember_pipeline *p, const bool *wanted,
                                   bool *source_wanted) {
    for (int c = 0; c < p->source_schema->count; c++)
        source_wanted[c] = false;
    for (int c = 0; wanted && c < p->column_count; c++) {
        if (!wanted[c])
            continue;
        if (p->source_column[c] >= 0)
            source_wanted[p->source_column[c]] = true;
        else
            for (int s = 0; s < p->source_schema->count; s++)
                source_wanted[s] |= ember_expr_uses_column(p->computed[c], s);
    }
    for (int i = 0; i < p->predicate_count; i++)
        for (int s = 0; s < p->source_schema->count; s++)
            source_wanted[s] |= ember_expr_uses_column(p->predicates[i], s);
}
