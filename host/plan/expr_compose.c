/* expr_compose.c: rewriting checked expressions over a pipeline's source columns, so that a
 * chain of with_column / filter steps becomes expressions one fused kernel evaluates, with no
 * intermediate column in memory. */
#include <string.h>

#include "common/alloc.h"
#include "plan/expr.h"

typedef struct composer {
    const ember_expr *const *definitions;
    const int *map;
    bool failed; /* out of memory */
} composer;

/* A copy of node with the step's columns replaced (see ember_expr_compose). */
static ember_expr_node *copy_tree(composer *c, const ember_expr_node *node, bool substitute) {
    if (substitute && node->kind == EMBER_EXPR_COLUMN && c->definitions &&
        c->definitions[node->column])
        return copy_tree(c, c->definitions[node->column]->root, false);
    ember_expr_node *copy = ember_malloc(sizeof *copy);
    if (!copy) {
        c->failed = true;
        return NULL;
    }
    *copy = *node;
    copy->children = NULL;
    copy->child_count = 0;
    if (node->kind == EMBER_EXPR_LITERAL && node->literal.string) {
        char *bytes = ember_malloc((size_t)node->literal.string_length + 1);
        if (!bytes) {
            c->failed = true;
            ember_free(copy);
            return NULL;
        }
        memcpy(bytes, node->literal.string, (size_t)node->literal.string_length);
        bytes[node->literal.string_length] = '\0';
        copy->literal.string = bytes;
    } else if (node->kind == EMBER_EXPR_LITERAL) {
        copy->literal.string = NULL;
    }
    if (substitute && node->kind == EMBER_EXPR_COLUMN && c->map)
        copy->column = c->map[node->column];
    if (node->child_count > 0) {
        copy->children = ember_calloc((size_t)node->child_count, sizeof *copy->children);
        if (!copy->children) {
            c->failed = true;
            ember_expr_node_free(copy);
            return NULL;
        }
        for (int i = 0; i < node->child_count; i++) {
            copy->children[i] = copy_tree(c, node->children[i], substitute);
            copy->child_count = i + 1;
            if (!copy->children[i]) {
                ember_expr_node_free(copy);
                return NULL;
            }
        }
    }
    return copy;
}

/* Recomputes depths, the columns read and the string literal table (in tree order). */
static int index_tree(ember_expr *expr, ember_expr_node *node, bool count_only) {
    int depth = 0;
    for (int i = 0; i < node->child_count; i++) {
        int d = index_tree(expr, node->children[i], count_only);
        if (d > depth)
            depth = d;
    }
    node->depth = depth + 1;
    if (node->kind == EMBER_EXPR_COLUMN && !count_only)
        expr->columns_used[node->column] = true;
    if (node->kind == EMBER_EXPR_LITERAL && node->type == EMBER_VALUE_STRING &&
        node->literal.string) {
        if (!count_only) {
            node->string_literal_index = expr->string_literal_count;
            expr->string_literals[expr->string_literal_count] = node;
        }
        expr->string_literal_count++;
    }
    return node->depth;
}

static ember_status finish(ember_expr *expr, const char *text, ember_expr_node *root,
                           const ember_schema *source, ember_expr **out, ember_error *err) {
    expr->root = root;
    size_t columns = source->count > 0 ? (size_t)source->count : 1;
    expr->text = ember_strdup(text);
    expr->column_types = ember_calloc(columns, sizeof *expr->column_types);
    expr->columns_used = ember_calloc(columns, sizeof *expr->columns_used);
    if (!expr->text || !expr->column_types || !expr->columns_used)
        goto oom;
    expr->column_count = source->count;
    for (int c = 0; c < source->count; c++)
        expr->column_types[c] = source->types[c];
    int depth = index_tree(expr, root, true);
    int literals = expr->string_literal_count;
    expr->string_literal_count = 0;
    expr->string_literals = ember_calloc((size_t)literals + 1, sizeof *expr->string_literals);
    if (!expr->string_literals)
        goto oom;
    index_tree(expr, root, false);
    if (depth > EMBER_EXPR_MAX_DEPTH) {
        ember_expr_free(expr);
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "expression \"%s\": nested more than %d deep once combined with "
                               "the columns it reads from earlier steps",
                               text, EMBER_EXPR_MAX_DEPTH);
    }
    *out = expr;
    return EMBER_OK;
oom:
    ember_expr_free(expr);
    return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory combining expressions");
}

ember_status ember_expr_compose(const ember_expr *expr, const ember_expr *const *definitions,
                                const int *map, const ember_schema *source, ember_expr **out,
                                ember_error *err) {
    *out = NULL;
    composer c = {.definitions = definitions, .map = map};
    ember_expr *composed = ember_calloc(1, sizeof *composed);
    ember_expr_node *root = composed ? copy_tree(&c, expr->root, true) : NULL;
    if (!root) {
        ember_free(composed);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "out of memory combining expressions");
    }
    return finish(composed, expr->text, root, source, out, err);
}

ember_status ember_expr_column(const ember_schema *schema, int column, ember_expr **out,
                               ember_error *err) {
    *out = NULL;
    ember_expr *expr = ember_calloc(1, sizeof *expr);
    ember_expr_node *node = expr ? ember_calloc(1, sizeof *node) : NULL;
    if (!node) {
        ember_free(expr);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
    }
    node->kind = EMBER_EXPR_COLUMN;
    node->type = node->operand_type = (ember_value_type)schema->types[column];
    node->literal.type = node->type;
    node->column = column;
    node->string_literal_index = -1;
    return finish(expr, schema->names[column], node, schema, out, err);
}
