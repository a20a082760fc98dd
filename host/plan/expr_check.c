/* expr_check.c: the type rules of expressions (docs/expressions.md, "Types"), applied to each
 * node as the parser builds it, so the first mistake from the left is the one reported. */
#include "plan/expr.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int least, most;
} functions[] = {
#define EMBER_EXPR_FUNCTION_ROW_(suffix, name, least, most) {name, least, most},
    EMBER_EXPR_FUNCTION_LIST(EMBER_EXPR_FUNCTION_ROW_)
#undef EMBER_EXPR_FUNCTION_ROW_
};

const char *ember_value_type_name(ember_value_type type) {
    switch (type) {
    case EMBER_VALUE_INT64:
        return "int64";
    case EMBER_VALUE_FLOAT64:
        return "float64";
    case EMBER_VALUE_STRING:
        return "string";
    case EMBER_VALUE_BOOL:
        return "bool";
    case EMBER_VALUE_NULL:
        return "null";
    }
    return "unknown";
}

int ember_expr_function_find(const char *name, size_t len) {
    for (int f = 0; f < EMBER_FN_COUNT_; f++) {
        const char *candidate = functions[f].name;
        size_t i = 0;
        while (i < len && candidate[i] &&
               tolower((unsigned char)name[i]) == (unsigned char)candidate[i])
            i++;
        if (i == len && !candidate[i])
            return f;
    }
    return -1;
}

const char *ember_expr_function_name(ember_expr_function function) {
    return (unsigned)function < EMBER_FN_COUNT_ ? functions[function].name : "?";
}

int ember_expr_compare_float64(double a, double b) {
    /* The same text as ember_expr_compare_f64 in the OpenCL prelude (expr_codegen.c). */
    if (a != a)
        return b != b ? 0 : 1;
    if (b != b)
        return -1;
    return a < b ? -1 : (a > b ? 1 : 0);
}

static bool is_numeric(ember_value_type type) {
    return type == EMBER_VALUE_INT64 || type == EMBER_VALUE_FLOAT64 || type == EMBER_VALUE_NULL;
}

/* Gives a null-typed node (a `null`, or if/coalesce over nulls only) the type its context
 * wants, down to the null literals, so evaluator and code generator see concrete types. */
static void settle(ember_expr_node *node, ember_value_type type) {
    if (node->type != EMBER_VALUE_NULL || type == EMBER_VALUE_NULL)
        return;
    node->type = type;
    if (node->kind == EMBER_EXPR_LITERAL) {
        node->literal.type = type;
        return;
    }
    if (node->kind == EMBER_EXPR_CALL) {
        node->operand_type = type;
        /* if: the branches; coalesce: every argument (the condition is settled as bool). */
        for (int i = node->function == EMBER_FN_IF ? 1 : 0; i < node->child_count; i++)
            settle(node->children[i], type);
    }
}

/* The type two values meet in (branches of if, arguments of coalesce), or -1 when they do
 * not: numbers promote to float64, null joins anything. */
static int common_type(ember_value_type a, ember_value_type b) {
    if (a == EMBER_VALUE_NULL)
        return (int)b;
    if (b == EMBER_VALUE_NULL || a == b)
        return (int)a;
    if (is_numeric(a) && is_numeric(b))
        return EMBER_VALUE_FLOAT64;
    return -1;
}

static ember_status problem_set(char *problem, size_t size, ember_status status, const char *format,
                                ...) __attribute__((format(printf, 4, 5)));

/* Writes a problem (the parser adds the expression and position) and returns status. */
static ember_status problem_set(char *problem, size_t size, ember_status status, const char *format,
                                ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(problem, size, format, args);
    va_end(args);
    return status;
}

#define TYPE_NAME(node) ember_value_type_name((node)->type)

static ember_status check_unary(ember_expr_node *node, const char *spelling, char *problem,
                                size_t size) {
    ember_expr_node *operand = node->children[0];
    if (node->op == EMBER_OP_NEGATE) {
        if (!is_numeric(operand->type))
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "operator '%s' needs a number, got %s", spelling,
                               TYPE_NAME(operand));
        settle(operand, EMBER_VALUE_INT64);
        node->type = node->operand_type = operand->type;
        return EMBER_OK;
    }
    if (operand->type != EMBER_VALUE_BOOL && operand->type != EMBER_VALUE_NULL)
        return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                           "operator '%s' needs a boolean, got %s", spelling, TYPE_NAME(operand));
    settle(operand, EMBER_VALUE_BOOL);
    node->type = node->operand_type = EMBER_VALUE_BOOL;
    return EMBER_OK;
}

static bool is_comparison(ember_expr_op op) {
    return op >= EMBER_OP_EQUAL && op <= EMBER_OP_GREATER_EQUAL;
}

static ember_status check_binary(ember_expr_node *node, const char *spelling, char *problem,
                                 size_t size) {
    ember_expr_node *left = node->children[0], *right = node->children[1];
    ember_value_type a = left->type, b = right->type;
    if (node->op == EMBER_OP_AND || node->op == EMBER_OP_OR) {
        if ((a != EMBER_VALUE_BOOL && a != EMBER_VALUE_NULL) ||
            (b != EMBER_VALUE_BOOL && b != EMBER_VALUE_NULL))
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "operator '%s' needs booleans, got %s and %s", spelling,
                               ember_value_type_name(a), ember_value_type_name(b));
        settle(left, EMBER_VALUE_BOOL);
        settle(right, EMBER_VALUE_BOOL);
        node->type = node->operand_type = EMBER_VALUE_BOOL;
        return EMBER_OK;
    }
    if (is_comparison(node->op)) {
        int common = common_type(a, b);
        if (common < 0)
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "operator '%s' cannot compare %s and %s", spelling,
                               ember_value_type_name(a), ember_value_type_name(b));
        if (common == EMBER_VALUE_NULL)
            common = EMBER_VALUE_INT64;
        bool ordering = node->op != EMBER_OP_EQUAL && node->op != EMBER_OP_NOT_EQUAL;
        if (ordering && (common == EMBER_VALUE_STRING || common == EMBER_VALUE_BOOL))
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "operator '%s' cannot order %s values (%s support only = and "
                               "!=)",
                               spelling, ember_value_type_name((ember_value_type)common),
                               common == EMBER_VALUE_STRING ? "strings" : "booleans");
        settle(left, (ember_value_type)common);
        settle(right, (ember_value_type)common);
        node->operand_type = (ember_value_type)common;
        node->type = EMBER_VALUE_BOOL;
        return EMBER_OK;
    }
    /* + - * / % */
    if (!is_numeric(a) || !is_numeric(b))
        return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                           "operator '%s' needs numbers, got %s and %s", spelling,
                           ember_value_type_name(a), ember_value_type_name(b));
    ember_value_type operands = (a == EMBER_VALUE_FLOAT64 || b == EMBER_VALUE_FLOAT64)
                                    ? EMBER_VALUE_FLOAT64
                                    : EMBER_VALUE_INT64;
    if (node->op == EMBER_OP_DIVIDE)
        operands = EMBER_VALUE_FLOAT64; /* as in Spark: 7 / 2 is 3.5 */
    settle(left, operands);
    settle(right, operands);
    node->operand_type = node->type = operands;
    return EMBER_OK;
}

static ember_status check_call(ember_expr_node *node, char *problem, size_t size) {
    const char *name = functions[node->function].name;
    int count = node->child_count;
    int least = functions[node->function].least, most = functions[node->function].most;
    if (count < least || (most >= 0 && count > most)) {
        if (least == most)
            return problem_set(problem, size, EMBER_ERROR_INVALID_ARGUMENT,
                               "function %s takes %d argument%s, got %d", name, least,
                               least == 1 ? "" : "s", count);
        return problem_set(problem, size, EMBER_ERROR_INVALID_ARGUMENT,
                           "function %s takes at least %d argument%s, got %d", name, least,
                           least == 1 ? "" : "s", count);
    }
    ember_expr_node **args = node->children;
    switch (node->function) {
    case EMBER_FN_IS_NULL:
    case EMBER_FN_IS_NOT_NULL:
        node->operand_type = args[0]->type;
        node->type = EMBER_VALUE_BOOL;
        return EMBER_OK;
    case EMBER_FN_INT:
    case EMBER_FN_FLOAT:
        if (args[0]->type == EMBER_VALUE_STRING)
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "function %s cannot convert string (it takes int64, float64 or "
                               "bool)",
                               name);
        node->type = node->function == EMBER_FN_INT ? EMBER_VALUE_INT64 : EMBER_VALUE_FLOAT64;
        settle(args[0], node->type);
        node->operand_type = args[0]->type;
        return EMBER_OK;
    case EMBER_FN_IF: {
        if (args[0]->type != EMBER_VALUE_BOOL && args[0]->type != EMBER_VALUE_NULL)
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "function if needs a boolean condition, got %s", TYPE_NAME(args[0]));
        settle(args[0], EMBER_VALUE_BOOL);
        int common = common_type(args[1]->type, args[2]->type);
        if (common < 0)
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "function if has branches of different types, %s and %s",
                               TYPE_NAME(args[1]), TYPE_NAME(args[2]));
        settle(args[1], (ember_value_type)common);
        settle(args[2], (ember_value_type)common);
        node->type = node->operand_type = (ember_value_type)common;
        return EMBER_OK;
    }
    case EMBER_FN_COALESCE: {
        int common = EMBER_VALUE_NULL;
        for (int i = 0; i < count; i++) {
            int next = common_type((ember_value_type)common, args[i]->type);
            if (next < 0)
                return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                                   "function coalesce has arguments of different types, %s and "
                                   "%s (argument %d)",
                                   ember_value_type_name((ember_value_type)common),
                                   TYPE_NAME(args[i]), i + 1);
            common = next;
        }
        for (int i = 0; i < count; i++)
            settle(args[i], (ember_value_type)common);
        node->type = node->operand_type = (ember_value_type)common;
        return EMBER_OK;
    }
    default:
        break;
    }
    /* The numeric functions. */
    bool any_float = false;
    for (int i = 0; i < count; i++) {
        if (!is_numeric(args[i]->type)) {
            if (count == 1)
                return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                                   "function %s needs a number, got %s", name, TYPE_NAME(args[i]));
            return problem_set(problem, size, EMBER_ERROR_SCHEMA,
                               "function %s needs numbers, got %s (argument %d)", name,
                               TYPE_NAME(args[i]), i + 1);
        }
        any_float |= args[i]->type == EMBER_VALUE_FLOAT64;
    }
    ember_value_type operands = any_float ? EMBER_VALUE_FLOAT64 : EMBER_VALUE_INT64;
    switch (node->function) {
    case EMBER_FN_SQRT:
    case EMBER_FN_EXP:
    case EMBER_FN_LOG:
    case EMBER_FN_POW:
        operands = EMBER_VALUE_FLOAT64;
        break;
    default: /* abs, floor, ceil, round, least, greatest keep the (promoted) type */
        break;
    }
    for (int i = 0; i < count; i++)
        settle(args[i], operands);
    node->type = node->operand_type = operands;
    return EMBER_OK;
}

ember_status ember_expr_check_node(ember_expr_node *node, const char *spelling, char *problem,
                                   size_t problem_size) {
    switch (node->kind) {
    case EMBER_EXPR_UNARY:
        return check_unary(node, spelling, problem, problem_size);
    case EMBER_EXPR_BINARY:
        return check_binary(node, spelling, problem, problem_size);
    case EMBER_EXPR_CALL:
        return check_call(node, problem, problem_size);
    default:
        return EMBER_OK;
    }
}
