/* expr_eval.c: the host interpreter of expression trees, one row at a time. It is the
 * reference the generated OpenCL code is tested against, so it spells out each rule of
 * docs/expressions.md plainly rather than fast; expr_codegen.c emits the same rules. */
#include "plan/expr.h"

#include <math.h>
#include <string.h>

/* Two's-complement wrapping, computed on unsigned values where C defines overflow. */
static int64_t wrap(uint64_t bits) {
    int64_t value;
    memcpy(&value, &bits, sizeof value);
    return value;
}

static double as_float64(const ember_expr_value *v) {
    return v->type == EMBER_VALUE_FLOAT64 ? v->float_value : (double)v->int_value;
}

static void set_null(ember_expr_value *out) {
    out->is_null = true;
    out->int_value = 0;
    out->float_value = 0;
    out->string = NULL;
    out->string_length = 0;
}

/* Converts a non-null int64 value to float64 when the operation works on float64. */
static void promote(ember_expr_value *v, ember_value_type to) {
    if (to == EMBER_VALUE_FLOAT64 && v->type != EMBER_VALUE_FLOAT64) {
        v->float_value = as_float64(v);
        v->type = EMBER_VALUE_FLOAT64;
    }
}

static void eval_node(const ember_expr_node *node, const ember_column *columns, int64_t row,
                      ember_expr_value *out);

static void eval_column(const ember_expr_node *node, const ember_column *columns, int64_t row,
                        ember_expr_value *out) {
    const ember_column *column = &columns[node->column];
    if (!ember_column_is_valid(column, row)) {
        set_null(out);
        return;
    }
    switch (node->type) {
    case EMBER_VALUE_INT64:
        out->int_value = ((const int64_t *)column->values)[row];
        break;
    case EMBER_VALUE_BOOL: /* stored as an int64 0 or 1 */
        out->int_value = ((const int64_t *)column->values)[row] != 0;
        break;
    case EMBER_VALUE_FLOAT64:
        out->float_value = ((const double *)column->values)[row];
        break;
    default:
        out->string = ember_column_string(column, row, &out->string_length);
        break;
    }
}

static bool strings_equal(const ember_expr_value *a, const ember_expr_value *b) {
    return a->string_length == b->string_length &&
           (a->string_length == 0 || memcmp(a->string, b->string, (size_t)a->string_length) == 0);
}

/* -1, 0, 1 for a against b in the operand type (int64 or float64). */
static int compare_numbers(const ember_expr_value *a, const ember_expr_value *b) {
    if (a->type == EMBER_VALUE_INT64)
        return a->int_value < b->int_value ? -1 : a->int_value > b->int_value;
    return ember_expr_compare_float64(a->float_value, b->float_value);
}

static void eval_comparison(ember_expr_op op, const ember_expr_value *a, const ember_expr_value *b,
                            ember_expr_value *out) {
    bool result;
    if (a->type == EMBER_VALUE_STRING || a->type == EMBER_VALUE_BOOL) {
        bool equal =
            a->type == EMBER_VALUE_STRING ? strings_equal(a, b) : a->int_value == b->int_value;
        result = op == EMBER_OP_EQUAL ? equal : !equal;
    } else {
        int c = compare_numbers(a, b);
        switch (op) {
        case EMBER_OP_EQUAL:
            result = c == 0;
            break;
        case EMBER_OP_NOT_EQUAL:
            result = c != 0;
            break;
        case EMBER_OP_LESS:
            result = c < 0;
            break;
        case EMBER_OP_LESS_EQUAL:
            result = c <= 0;
            break;
        case EMBER_OP_GREATER:
            result = c > 0;
            break;
        default:
            result = c >= 0;
            break;
        }
    }
    out->int_value = result;
}

static void eval_arithmetic(ember_expr_op op, const ember_expr_value *a, const ember_expr_value *b,
                            ember_expr_value *out) {
    if (out->type == EMBER_VALUE_INT64) {
        uint64_t x = (uint64_t)a->int_value, y = (uint64_t)b->int_value;
        switch (op) {
        case EMBER_OP_ADD:
            out->int_value = wrap(x + y);
            break;
        case EMBER_OP_SUBTRACT:
            out->int_value = wrap(x - y);
            break;
        case EMBER_OP_MULTIPLY:
            out->int_value = wrap(x * y);
            break;
        default: /* % : null for 0; -1 would overflow in C for INT64_MIN, and x % -1 is 0 */
            if (b->int_value == 0)
                set_null(out);
            else
                out->int_value = b->int_value == -1 ? 0 : a->int_value % b->int_value;
            break;
        }
        return;
    }
    double x = a->float_value, y = b->float_value;
    switch (op) {
    case EMBER_OP_ADD:
        out->float_value = x + y;
        break;
    case EMBER_OP_SUBTRACT:
        out->float_value = x - y;
        break;
    case EMBER_OP_MULTIPLY:
        out->float_value = x * y;
        break;
    case EMBER_OP_DIVIDE:
        if (y == 0)
            set_null(out);
        else
            out->float_value = x / y;
        break;
    default:
        if (y == 0)
            set_null(out);
        else
            out->float_value = fmod(x, y);
        break;
    }
}

static void eval_binary(const ember_expr_node *node, const ember_column *columns, int64_t row,
                        ember_expr_value *out) {
    ember_expr_value a, b;
    eval_node(node->children[0], columns, row, &a);
    eval_node(node->children[1], columns, row, &b);
    if (node->op == EMBER_OP_AND || node->op == EMBER_OP_OR) {
        /* SQL's three-valued logic: false and x is false, true or x is true, whatever x is;
         * otherwise a null operand makes the result null. */
        bool decisive = node->op == EMBER_OP_OR;
        if ((!a.is_null && a.int_value == decisive) || (!b.is_null && b.int_value == decisive))
            out->int_value = decisive;
        else if (a.is_null || b.is_null)
            set_null(out);
        else
            out->int_value = !decisive;
        return;
    }
    if (a.is_null || b.is_null) {
        set_null(out);
        return;
    }
    promote(&a, node->operand_type);
    promote(&b, node->operand_type);
    if (node->op >= EMBER_OP_EQUAL && node->op <= EMBER_OP_GREATER_EQUAL)
        eval_comparison(node->op, &a, &b, out);
    else
        eval_arithmetic(node->op, &a, &b, out);
}

static void eval_unary(const ember_expr_node *node, const ember_column *columns, int64_t row,
                       ember_expr_value *out) {
    ember_expr_value a;
    eval_node(node->children[0], columns, row, &a);
    if (a.is_null) {
        set_null(out);
        return;
    }
    if (node->op == EMBER_OP_NOT)
        out->int_value = !a.int_value;
    else if (node->type == EMBER_VALUE_INT64)
        out->int_value = wrap(0 - (uint64_t)a.int_value);
    else
        out->float_value = -a.float_value;
}

/* least / greatest: nulls are skipped (as in Spark); the first of equal values wins. */
static void eval_extreme(const ember_expr_node *node, const ember_column *columns, int64_t row,
                         ember_expr_value *out) {
    int want = node->function == EMBER_FN_LEAST ? -1 : 1;
    set_null(out);
    for (int i = 0; i < node->child_count; i++) {
        ember_expr_value v;
        eval_node(node->children[i], columns, row, &v);
        if (v.is_null)
            continue;
        promote(&v, node->operand_type);
        if (out->is_null || compare_numbers(&v, out) == want) {
            out->is_null = false;
            out->int_value = v.int_value;
            out->float_value = v.float_value;
        }
    }
}

/* The numeric functions of one argument. */
static void eval_math(const ember_expr_node *node, ember_expr_value *a, ember_expr_value *out) {
    promote(a, node->operand_type);
    double x = a->float_value;
    switch (node->function) {
    case EMBER_FN_ABS:
        if (node->type == EMBER_VALUE_INT64)
            out->int_value = a->int_value < 0 ? wrap(0 - (uint64_t)a->int_value) : a->int_value;
        else
            out->float_value = fabs(x);
        break;
    case EMBER_FN_SQRT:
        out->float_value = sqrt(x);
        break;
    case EMBER_FN_EXP:
        out->float_value = exp(x);
        break;
    case EMBER_FN_LOG:
        if (x <= 0) /* NaN is not <= 0: log(NaN) is NaN */
            set_null(out);
        else
            out->float_value = log(x);
        break;
    case EMBER_FN_FLOOR:
    case EMBER_FN_CEIL:
    case EMBER_FN_ROUND:
        if (node->type == EMBER_VALUE_INT64)
            out->int_value = a->int_value;
        else
            out->float_value = node->function == EMBER_FN_FLOOR  ? floor(x)
                               : node->function == EMBER_FN_CEIL ? ceil(x)
                                                                 : round(x);
        break;
    case EMBER_FN_INT:
        if (a->type != EMBER_VALUE_FLOAT64)
            out->int_value = a->int_value;
        else if (x != x || x >= 0x1p63 || x < -0x1p63)
            set_null(out);
        else
            out->int_value = (int64_t)x; /* C truncates toward zero */
        break;
    case EMBER_FN_FLOAT:
        out->float_value = as_float64(a);
        break;
    default:
        break;
    }
}

/* Copies the value of a chosen branch, converted to the node's type. */
static void take(ember_expr_value *out, ember_expr_value *v, ember_value_type type) {
    if (v->is_null) {
        set_null(out);
        return;
    }
    promote(v, type);
    out->is_null = false;
    out->int_value = v->int_value;
    out->float_value = v->float_value;
    out->string = v->string;
    out->string_length = v->string_length;
}

static void eval_call(const ember_expr_node *node, const ember_column *columns, int64_t row,
                      ember_expr_value *out) {
    ember_expr_node *const *args = node->children;
    ember_expr_value a, b;
    switch (node->function) {
    case EMBER_FN_IS_NULL:
    case EMBER_FN_IS_NOT_NULL:
        eval_node(args[0], columns, row, &a);
        out->int_value = a.is_null == (node->function == EMBER_FN_IS_NULL);
        return;
    case EMBER_FN_IF:
        eval_node(args[0], columns, row, &a);
        /* A null condition is not true: if(null, x, y) is y. */
        eval_node(args[!a.is_null && a.int_value ? 1 : 2], columns, row, &b);
        take(out, &b, node->type);
        return;
    case EMBER_FN_COALESCE:
        for (int i = 0; i < node->child_count; i++) {
            eval_node(args[i], columns, row, &a);
            if (!a.is_null) {
                take(out, &a, node->type);
                return;
            }
        }
        set_null(out);
        return;
    case EMBER_FN_LEAST:
    case EMBER_FN_GREATEST:
        eval_extreme(node, columns, row, out);
        return;
    case EMBER_FN_POW:
        eval_node(args[0], columns, row, &a);
        eval_node(args[1], columns, row, &b);
        if (a.is_null || b.is_null) {
            set_null(out);
            return;
        }
        out->float_value = pow(as_float64(&a), as_float64(&b));
        return;
    default:
        eval_node(args[0], columns, row, &a);
        if (a.is_null)
            set_null(out);
        else
            eval_math(node, &a, out);
        return;
    }
}

static void eval_node(const ember_expr_node *node, const ember_column *columns, int64_t row,
                      ember_expr_value *out) {
    memset(out, 0, sizeof *out);
    out->type = node->type;
    switch (node->kind) {
    case EMBER_EXPR_LITERAL:
        *out = node->literal;
        out->type = node->type;
        return;
    case EMBER_EXPR_COLUMN:
        eval_column(node, columns, row, out);
        return;
    case EMBER_EXPR_UNARY:
        eval_unary(node, columns, row, out);
        return;
    case EMBER_EXPR_BINARY:
        eval_binary(node, columns, row, out);
        return;
    case EMBER_EXPR_CALL:
        eval_call(node, columns, row, out);
        return;
    }
}

void ember_expr_eval(const ember_expr *expr, const ember_column *columns, int64_t row,
                     ember_expr_value *out) {
    eval_node(expr->root, columns, row, out);
}
