/* expr_codegen.c: emits a type-checked expression tree as an OpenCL C 1.2 function for a
 * kernel template (the contract is in expr.h). Every node becomes a few statements over
 * generated variables (vK value, nK null flag; sK/oK/lK source/offset/length for strings),
 * computed eagerly in tree order: nothing the tree can compute traps on a device (integer
 * division is guarded), so no branches are needed. The rules mirror expr_eval.c line by line.
 * No byte of the user's text is copied: literals come from their parsed values. */
#include "plan/expr.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/text.h"

typedef struct emitter {
    ember_text text;
    const char *name;
    const ember_expr *expr;
    uint32_t *literal_offsets; /* [string_literal_count]: offsets in NAME_literals */
    int next_var;
    int generated_column; /* the range column computed from the row, or -1 */
} emitter;

static void emit(emitter *e, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void emit(emitter *e, const char *format, ...) {
    va_list args;
    va_start(args, format);
    ember_text_vprintf(&e->text, format, args);
    va_end(args);
}

/* Shared by every expression of a program: the guard lets a template include several. */
static const char prelude[] =
    "#ifndef EMBER_EXPR_PRELUDE\n"
    "#define EMBER_EXPR_PRELUDE\n"
    "#ifdef cl_khr_fp64\n"
    "#pragma OPENCL EXTENSION cl_khr_fp64 : enable\n"
    "#endif\n"
    "/* No a * b + c fused into fma: results must match the host's bit for bit. */\n"
    "#pragma OPENCL FP_CONTRACT OFF\n"
    "static inline int ember_expr_valid(__global const uchar *validity, const ulong row) {\n"
    "    return !validity || ((validity[row >> 3] >> (row & 7)) & 1);\n"
    "}\n"
    "#ifdef cl_khr_fp64\n"
    "/* Spark's order: NaN equals NaN and is above every other value. */\n"
    "static inline int ember_expr_compare_f64(const double a, const double b) {\n"
    "    if (a != a)\n"
    "        return b != b ? 0 : 1;\n"
    "    if (b != b)\n"
    "        return -1;\n"
    "    return a < b ? -1 : (a > b ? 1 : 0);\n"
    "}\n"
    "#endif\n"
    "#endif\n";

static const char *c_type(ember_value_type type) {
    switch (type) {
    case EMBER_VALUE_FLOAT64:
        return "double";
    case EMBER_VALUE_BOOL:
        return "int";
    default: /* int64, and null (a long that is always null) */
        return "long";
    }
}

/* A generated variable's value as the operation wants it: int64 and bool operands of a
 * float64 operation are converted (round to nearest, as the host's C conversion). */
static void operand(char *buf, size_t size, int var, ember_value_type from, ember_value_type to) {
    if (to == EMBER_VALUE_FLOAT64 && from != EMBER_VALUE_FLOAT64)
        snprintf(buf, size, "convert_double(v%d)", var);
    else
        snprintf(buf, size, "v%d", var);
}

static void emit_float(emitter *e, double value) {
    if (isnan(value))
        emit(e, "((double)NAN)");
    else if (isinf(value))
        emit(e, "(%s(double)INFINITY)", value < 0 ? "-" : "");
    else
        emit(e, "(%a)", value); /* hexadecimal: exact */
}

static void emit_int(emitter *e, int64_t value) {
    if (value == INT64_MIN)
        emit(e, "(-9223372036854775807L - 1L)");
    else
        emit(e, "(%" PRId64 "L)", value);
}

static int emit_node(emitter *e, const ember_expr_node *node);

static void emit_literal(emitter *e, const ember_expr_node *node, int k) {
    const ember_expr_value *lit = &node->literal;
    if (node->type == EMBER_VALUE_STRING) {
        if (lit->is_null)
            emit(e, "    int s%d = -1; uint o%d = 0; uint l%d = 0;\n", k, k, k);
        else
            emit(e, "    int s%d = %d; uint o%d = %" PRIu32 "u; uint l%d = %du;\n", k,
                 -(node->string_literal_index + 1), k,
                 e->literal_offsets[node->string_literal_index], k, (int)lit->string_length);
        emit(e, "    int n%d = %d;\n", k, lit->is_null);
        return;
    }
    emit(e, "    %s v%d = ", c_type(node->type), k);
    if (lit->is_null)
        emit(e, "0");
    else if (node->type == EMBER_VALUE_FLOAT64)
        emit_float(e, lit->float_value);
    else
        emit_int(e, lit->int_value); /* int64, or bool 0/1 */
    emit(e, ";\n    int n%d = %d;\n", k, lit->is_null);
}

static void emit_column(emitter *e, const ember_expr_node *node, int k) {
    int c = node->column;
    if (node->type == EMBER_VALUE_STRING) {
        emit(e,
             "    const int s%d = %d;\n"
             "    const uint o%d = (uint)col%d_offsets[row];\n"
             "    const uint l%d = (uint)col%d_offsets[row + 1] - o%d;\n",
             k, c, k, c, k, c, k);
    } else if (c == e->generated_column) {
        /* range(): the value is the row's position, nothing is read. */
        emit(e, "    const long v%d = ember_range_start + (long)row;\n    const int n%d = 0;\n", k,
             k);
        return;
    } else if (node->type == EMBER_VALUE_BOOL) {
        emit(e, "    const int v%d = col%d_values[row] != 0;\n", k, c);
    } else {
        emit(e, "    const %s v%d = col%d_values[row];\n", c_type(node->type), k, c);
    }
    emit(e, "    const int n%d = !ember_expr_valid(col%d_validity, row);\n", k, c);
}

static const char *comparison_operator(ember_expr_op op) {
    switch (op) {
    case EMBER_OP_EQUAL:
        return "==";
    case EMBER_OP_NOT_EQUAL:
        return "!=";
    case EMBER_OP_LESS:
        return "<";
    case EMBER_OP_LESS_EQUAL:
        return "<=";
    case EMBER_OP_GREATER:
        return ">";
    default:
        return ">=";
    }
}

static void emit_binary(emitter *e, const ember_expr_node *node, int k) {
    const ember_expr_node *left = node->children[0], *right = node->children[1];
    int a = emit_node(e, left), b = emit_node(e, right);
    char x[64], y[64];
    operand(x, sizeof x, a, left->type, node->operand_type);
    operand(y, sizeof y, b, right->type, node->operand_type);
    switch (node->op) {
    case EMBER_OP_AND:
    case EMBER_OP_OR: {
        /* SQL's three-valued logic: a decisive operand (false for and, true for or) decides,
         * otherwise a null operand makes the result null. */
        const char *want = node->op == EMBER_OP_AND ? "!" : "";
        emit(e,
             "    const int v%d = %s((!n%d && %sv%d) || (!n%d && %sv%d));\n"
             "    const int n%d = !((!n%d && %sv%d) || (!n%d && %sv%d)) & (n%d | n%d);\n",
             k, want, a, want, a, b, want, b, k, a, want, a, b, want, b, a, b);
        return;
    }
    case EMBER_OP_EQUAL:
    case EMBER_OP_NOT_EQUAL:
    case EMBER_OP_LESS:
    case EMBER_OP_LESS_EQUAL:
    case EMBER_OP_GREATER:
    case EMBER_OP_GREATER_EQUAL: {
        const char *op = comparison_operator(node->op);
        if (node->operand_type == EMBER_VALUE_STRING)
            emit(e,
                 "    const int v%d = %s%s_string_equal(s%d, o%d, l%d, s%d, o%d, l%d %s_ARGS);\n",
                 k, node->op == EMBER_OP_EQUAL ? "" : "!", e->name, a, a, a, b, b, b, e->name);
        else if (node->operand_type == EMBER_VALUE_FLOAT64)
            emit(e, "    const int v%d = ember_expr_compare_f64(%s, %s) %s 0;\n", k, x, y, op);
        else
            emit(e, "    const int v%d = %s %s %s;\n", k, x, op, y);
        emit(e, "    const int n%d = n%d | n%d;\n", k, a, b);
        return;
    }
    default:
        break;
    }
    const char *type = c_type(node->type);
    if (node->type == EMBER_VALUE_INT64) {
        if (node->op == EMBER_OP_MODULO) {
            /* x % 0 is null; x % -1 is 0, and the divisor 1 stands in for both so that the
             * device never divides by zero or overflows. */
            emit(e,
                 "    const long v%d = %s %% ((%s == 0 || %s == -1) ? 1L : %s);\n"
                 "    const int n%d = n%d | n%d | (%s == 0);\n",
                 k, x, y, y, y, k, a, b, y);
            return;
        }
        /* Wraps in two's complement: unsigned arithmetic is defined modulo 2^64. */
        const char *op = node->op == EMBER_OP_ADD ? "+" : node->op == EMBER_OP_SUBTRACT ? "-" : "*";
        emit(e, "    const long v%d = as_long(as_ulong(%s) %s as_ulong(%s));\n", k, x, op, y);
        emit(e, "    const int n%d = n%d | n%d;\n", k, a, b);
        return;
    }
    switch (node->op) {
    case EMBER_OP_ADD:
        emit(e, "    const %s v%d = %s + %s;\n", type, k, x, y);
        break;
    case EMBER_OP_SUBTRACT:
        emit(e, "    const %s v%d = %s - %s;\n", type, k, x, y);
        break;
    case EMBER_OP_MULTIPLY:
        emit(e, "    const %s v%d = %s * %s;\n", type, k, x, y);
        break;
    case EMBER_OP_DIVIDE:
        emit(e, "    const double v%d = %s / %s;\n", k, x, y);
        break;
    default:
        emit(e, "    const double v%d = fmod(%s, %s);\n", k, x, y);
        break;
    }
    if (node->op == EMBER_OP_DIVIDE || node->op == EMBER_OP_MODULO)
        emit(e, "    const int n%d = n%d | n%d | (%s == 0.0);\n", k, a, b, y);
    else
        emit(e, "    const int n%d = n%d | n%d;\n", k, a, b);
}

static void emit_unary(emitter *e, const ember_expr_node *node, int k) {
    int a = emit_node(e, node->children[0]);
    if (node->op == EMBER_OP_NOT)
        emit(e, "    const int v%d = !v%d;\n", k, a);
    else if (node->type == EMBER_VALUE_INT64)
        emit(e, "    const long v%d = as_long((ulong)0 - as_ulong(v%d));\n", k, a);
    else
        emit(e, "    const double v%d = -v%d;\n", k, a);
    emit(e, "    const int n%d = n%d;\n", k, a);
}

/* Assigns variable a (converted) to k: the three string variables, or the value. */
static void emit_assign(emitter *e, const ember_expr_node *node, int k, int a,
                        ember_value_type from) {
    if (node->type == EMBER_VALUE_STRING) {
        emit(e, "s%d = s%d; o%d = o%d; l%d = l%d; ", k, a, k, a, k, a);
    } else {
        char x[64];
        operand(x, sizeof x, a, from, node->type);
        emit(e, "v%d = %s; ", k, x);
    }
}

static void emit_declare(emitter *e, const ember_expr_node *node, int k) {
    if (node->type == EMBER_VALUE_STRING)
        emit(e, "    int s%d = -1; uint o%d = 0; uint l%d = 0; int n%d = 1;\n", k, k, k, k);
    else
        emit(e, "    %s v%d = 0; int n%d = 1;\n", c_type(node->type), k, k);
}

static void emit_call(emitter *e, const ember_expr_node *node, int k) {
    int count = node->child_count;
    int vars[EMBER_EXPR_MAX_DEPTH];
    int *args = count <= EMBER_EXPR_MAX_DEPTH ? vars : ember_malloc(sizeof *args * (size_t)count);
    if (!args) {
        e->text.failed = true;
        return;
    }
    for (int i = 0; i < count; i++)
        args[i] = emit_node(e, node->children[i]);
    ember_expr_node *const *children = node->children;
    const char *type = c_type(node->type);
    int a = args[0];
    char x[64], y[64];
    operand(x, sizeof x, a, children[0]->type, node->operand_type);
    switch (node->function) {
    case EMBER_FN_IS_NULL:
    case EMBER_FN_IS_NOT_NULL:
        emit(e, "    const int v%d = %sn%d;\n    int n%d = 0;\n", k,
             node->function == EMBER_FN_IS_NULL ? "" : "!", a, k);
        break;
    case EMBER_FN_IF:
        /* A null condition is not true: if(null, x, y) is y. */
        emit(e, "    const int c%d = !n%d && v%d;\n", k, a, a);
        emit_declare(e, node, k);
        emit(e, "    if (c%d) { ", k);
        emit_assign(e, node, k, args[1], children[1]->type);
        emit(e, "n%d = n%d; } else { ", k, args[1]);
        emit_assign(e, node, k, args[2], children[2]->type);
        emit(e, "n%d = n%d; }\n", k, args[2]);
        break;
    case EMBER_FN_COALESCE:
        /* From the last argument back, so the first non-null one is what remains. */
        emit_declare(e, node, k);
        for (int i = count - 1; i >= 0; i--) {
            emit(e, "    if (!n%d) { ", args[i]);
            emit_assign(e, node, k, args[i], children[i]->type);
            emit(e, "n%d = 0; }\n", k);
        }
        break;
    case EMBER_FN_LEAST:
    case EMBER_FN_GREATEST: {
        /* Nulls are skipped; the first of equal values wins. */
        const char *op = node->function == EMBER_FN_LEAST ? "<" : ">";
        emit_declare(e, node, k);
        for (int i = 0; i < count; i++) {
            operand(x, sizeof x, args[i], children[i]->type, node->operand_type);
            if (node->type == EMBER_VALUE_FLOAT64)
                emit(e,
                     "    if (!n%d && (n%d || ember_expr_compare_f64(%s, v%d) %s 0)) { v%d = %s; "
                     "n%d = 0; }\n",
                     args[i], k, x, k, op, k, x, k);
            else
                emit(e, "    if (!n%d && (n%d || %s %s v%d)) { v%d = %s; n%d = 0; }\n", args[i], k,
                     x, op, k, k, x, k);
        }
        break;
    }
    case EMBER_FN_POW:
        operand(y, sizeof y, args[1], children[1]->type, node->operand_type);
        emit(e, "    const double v%d = pow(%s, %s);\n    const int n%d = n%d | n%d;\n", k, x, y, k,
             a, args[1]);
        break;
    case EMBER_FN_LOG:
        /* Spark: the logarithm of zero or a negative number is null (of NaN, NaN). */
        emit(e, "    const double v%d = log(%s);\n    const int n%d = n%d | (%s <= 0.0);\n", k, x,
             k, a, x);
        break;
    case EMBER_FN_INT:
        if (children[0]->type == EMBER_VALUE_FLOAT64)
            /* Truncates toward zero; NaN and values outside int64 are null. */
            emit(e,
                 "    const int n%d = n%d | isnan(v%d) | (v%d >= 0x1p63) | (v%d < -0x1p63);\n"
                 "    const long v%d = n%d ? 0L : convert_long(v%d);\n",
                 k, a, a, a, a, k, k, a);
        else
            emit(e, "    const long v%d = (long)v%d;\n    const int n%d = n%d;\n", k, a, k, a);
        break;
    case EMBER_FN_FLOAT:
        operand(x, sizeof x, a, children[0]->type, EMBER_VALUE_FLOAT64);
        emit(e, "    const double v%d = %s;\n    const int n%d = n%d;\n", k, x, k, a);
        break;
    default: {
        const char *call = NULL;
        bool is_int = node->type == EMBER_VALUE_INT64;
        switch (node->function) {
        case EMBER_FN_ABS:
            call = is_int ? NULL : "fabs";
            break;
        case EMBER_FN_SQRT:
            call = "sqrt";
            break;
        case EMBER_FN_EXP:
            call = "exp";
            break;
        case EMBER_FN_FLOOR:
            call = is_int ? "" : "floor";
            break;
        case EMBER_FN_CEIL:
            call = is_int ? "" : "ceil";
            break;
        default: /* round: half away from zero, in OpenCL as in C */
            call = is_int ? "" : "round";
            break;
        }
        if (!call) /* abs of int64: wraps, so abs(INT64_MIN) is INT64_MIN */
            emit(e, "    const long v%d = v%d < 0 ? as_long((ulong)0 - as_ulong(v%d)) : v%d;\n", k,
                 a, a, a);
        else
            emit(e, "    const %s v%d = %s(%s);\n", type, k, call, x);
        emit(e, "    const int n%d = n%d;\n", k, a);
        break;
    }
    }
    if (args != vars)
        ember_free(args);
}

/* Emits the statements of node (children first) and returns its variable number. Numbers
 * only need to be unique; a node's statements follow its children's. */
static int emit_node(emitter *e, const ember_expr_node *node) {
    int k = e->next_var++;
    switch (node->kind) {
    case EMBER_EXPR_LITERAL:
        emit_literal(e, node, k);
        break;
    case EMBER_EXPR_COLUMN:
        emit_column(e, node, k);
        break;
    case EMBER_EXPR_UNARY:
        emit_unary(e, node, k);
        break;
    case EMBER_EXPR_BINARY:
        emit_binary(e, node, k);
        break;
    case EMBER_EXPR_CALL:
        emit_call(e, node, k);
        break;
    }
    return k;
}

static bool valid_name(const char *name) {
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > 64 || !(isalpha((unsigned char)name[0]) || name[0] == '_'))
        return false;
    if (strncmp(name, "ember_expr", 10) == 0) /* the prelude's names */
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_')
            return false;
    return true;
}

static bool has_string_comparison(const ember_expr_node *node) {
    if (node->kind == EMBER_EXPR_BINARY && node->operand_type == EMBER_VALUE_STRING)
        return true;
    for (int i = 0; i < node->child_count; i++)
        if (has_string_comparison(node->children[i]))
            return true;
    return false;
}

/* The column parameters and arguments (expr.h lists them), as two macros. */
static void emit_parameters(emitter *e) {
    const ember_expr *expr = e->expr;
    emit(e, "#define %s_PARAMS", e->name);
    for (int c = 0; c < expr->column_count; c++) {
        if (!expr->columns_used[c])
            continue;
        if (c == e->generated_column) {
            emit(e, " , const long ember_range_start");
            continue;
        }
        if (expr->column_types[c] == EMBER_TYPE_STRING)
            emit(e, " , __global const int *col%d_offsets, __global const uchar *col%d_bytes", c,
                 c);
        else
            emit(e, " , __global const %s *col%d_values",
                 expr->column_types[c] == EMBER_TYPE_FLOAT64 ? "double" : "long", c);
        emit(e, ", __global const uchar *col%d_validity", c);
    }
    emit(e, "\n#define %s_ARGS", e->name);
    for (int c = 0; c < expr->column_count; c++) {
        if (!expr->columns_used[c])
            continue;
        if (c == e->generated_column) {
            emit(e, " , ember_range_start");
            continue;
        }
        if (expr->column_types[c] == EMBER_TYPE_STRING)
            emit(e, " , col%d_offsets, col%d_bytes", c, c);
        else
            emit(e, " , col%d_values", c);
        emit(e, ", col%d_validity", c);
    }
    emit(e, "\n");
}

/* String equality over bytes that live in a column (source C >= 0) or in the literal table
 * (source < 0): one byte reader switches on the source, so a comparison needs no copies. */
static void emit_string_helpers(emitter *e) {
    const ember_expr *expr = e->expr;
    uint32_t total = 0;
    for (int k = 0; k < expr->string_literal_count; k++) {
        e->literal_offsets[k] = total;
        total += (uint32_t)expr->string_literals[k]->literal.string_length;
    }
    if (total > 0) {
        emit(e, "__constant uchar %s_literals[%" PRIu32 "] = {", e->name, total);
        uint32_t n = 0;
        for (int k = 0; k < expr->string_literal_count; k++) {
            const ember_expr_value *lit = &expr->string_literals[k]->literal;
            for (int32_t i = 0; i < lit->string_length; i++, n++)
                emit(e, "%s0x%02x",
                     n == 0        ? ""
                     : n % 16 == 0 ? ",\n    "
                                   : ", ",
                     (unsigned char)lit->string[i]);
        }
        emit(e, "};\n");
    }
    if (!has_string_comparison(expr->root))
        return;
    emit(e, "static inline uchar %s_byte(const int source, const uint i %s_PARAMS) {\n", e->name,
         e->name);
    for (int c = 0; c < expr->column_count; c++)
        if (expr->columns_used[c] && expr->column_types[c] == EMBER_TYPE_STRING)
            emit(e, "    if (source == %d)\n        return col%d_bytes[i];\n", c, c);
    if (total > 0)
        emit(e, "    return %s_literals[i];\n}\n", e->name);
    else
        emit(e, "    return 0;\n}\n");
    emit(e,
         "static inline int %s_string_equal(const int sa, const uint oa, const uint la, const int "
         "sb, const uint ob, const uint lb %s_PARAMS) {\n"
         "    if (la != lb)\n"
         "        return 0;\n"
         "    for (uint i = 0; i < la; i++)\n"
         "        if (%s_byte(sa, oa + i %s_ARGS) != %s_byte(sb, ob + i %s_ARGS))\n"
         "            return 0;\n"
         "    return 1;\n"
         "}\n",
         e->name, e->name, e->name, e->name, e->name, e->name);
}

ember_status ember_expr_codegen(const ember_expr *expr, const char *name, char **source,
                                size_t *length, ember_error *err) {
    return ember_expr_codegen_range(expr, name, -1, source, length, err);
}

ember_status ember_expr_codegen_range(const ember_expr *expr, const char *name,
                                      int generated_column, char **source, size_t *length,
                                      ember_error *err) {
    *source = NULL;
    if (!expr || !valid_name(name))
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "expression code: the function name must be a C identifier of "
                               "at most 64 characters, not starting with ember_expr");
    emitter e = {.name = name, .expr = expr, .generated_column = generated_column};
    e.literal_offsets = ember_calloc((size_t)expr->string_literal_count + 1, sizeof(uint32_t));
    if (!e.literal_offsets)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "out of memory emitting expression code");
    ember_value_type type = expr->root->type;
    emit(&e, "%s", prelude);
    emit(&e, "/* expression %s: %s */\n", name, ember_value_type_name(type));
    emit(&e, "#define %s_VALUE %s\n", name, c_type(type));
    emit_parameters(&e);
    emit_string_helpers(&e);
    emit(&e, "static inline void %s(const ulong row, %s_VALUE *value, int *is_null %s_PARAMS) {\n",
         name, name, name);
    int root = emit_node(&e, expr->root);
    if (type == EMBER_VALUE_STRING) /* a reference: the column, or -(literal + 1) */
        emit(&e, "    *value = n%d ? 0L : (long)s%d;\n", root, root);
    else
        emit(&e, "    *value = n%d ? (%s)0 : v%d;\n", root, c_type(type), root);
    emit(&e, "    *is_null = n%d;\n}\n", root);
    ember_free(e.literal_offsets);
    if (e.text.failed) {
        ember_free(e.text.buf);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                               "out of memory emitting expression code");
    }
    *source = e.text.buf;
    if (length)
        *length = e.text.length;
    return EMBER_OK;
}
