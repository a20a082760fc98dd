/* expr.h: expressions over a frame's columns ("price * qty", "qty > 10 and region = 'EU'"):
 * parsed and type-checked against a schema into a typed tree, evaluated row by row on the host
 * (the reference), and emitted as OpenCL C for a kernel template. The language and every rule
 * of its semantics are in docs/expressions.md; the evaluator and the generated code follow the
 * same rules, and tests/test_expr.c compares the two on thousands of random expressions.
 *
 * Ownership: ember_expr_parse allocates an ember_expr that the caller frees with
 * ember_expr_free (NULL is a no-op). The tree is read-only after parsing; one expression may be
 * evaluated or emitted from several threads at once. */
#ifndef EMBER_PLAN_EXPR_H
#define EMBER_PLAN_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "data/partition.h"
#include "io/schema.h"

/* The type of a value. The first three equal the ember_type of the same name, so a column's
 * type converts by a cast. NULL is the type of a bare `null` (and of if/coalesce over nulls
 * only) while nothing around it says more; a null next to a typed operand takes that type. */
typedef enum ember_value_type {
    EMBER_VALUE_INT64 = 0,
    EMBER_VALUE_FLOAT64 = 1,
    EMBER_VALUE_STRING = 2,
    EMBER_VALUE_BOOL = 3,
    EMBER_VALUE_NULL = 4,
} ember_value_type;

/* "int64", "float64", "string", "bool", "null". */
const char *ember_value_type_name(ember_value_type type);

typedef enum ember_expr_kind {
    EMBER_EXPR_LITERAL = 0,
    EMBER_EXPR_COLUMN = 1,
    EMBER_EXPR_UNARY = 2,
    EMBER_EXPR_BINARY = 3,
    EMBER_EXPR_CALL = 4,
} ember_expr_kind;

typedef enum ember_expr_op {
    /* unary */
    EMBER_OP_NEGATE = 0,
    EMBER_OP_NOT,
    /* binary */
    EMBER_OP_ADD,
    EMBER_OP_SUBTRACT,
    EMBER_OP_MULTIPLY,
    EMBER_OP_DIVIDE,
    EMBER_OP_MODULO,
    EMBER_OP_EQUAL,
    EMBER_OP_NOT_EQUAL,
    EMBER_OP_LESS,
    EMBER_OP_LESS_EQUAL,
    EMBER_OP_GREATER,
    EMBER_OP_GREATER_EQUAL,
    EMBER_OP_AND,
    EMBER_OP_OR,
} ember_expr_op;

/* X(enum suffix, name, least arguments, most arguments (-1: any)) */
#define EMBER_EXPR_FUNCTION_LIST(X)                                                                \
    X(ABS, "abs", 1, 1)                                                                            \
    X(SQRT, "sqrt", 1, 1)                                                                          \
    X(EXP, "exp", 1, 1)                                                                            \
    X(LOG, "log", 1, 1)                                                                            \
    X(POW, "pow", 2, 2)                                                                            \
    X(FLOOR, "floor", 1, 1)                                                                        \
    X(CEIL, "ceil", 1, 1)                                                                          \
    X(ROUND, "round", 1, 1)                                                                        \
    X(LEAST, "least", 2, -1)                                                                       \
    X(GREATEST, "greatest", 2, -1)                                                                 \
    X(IF, "if", 3, 3)                                                                              \
    X(COALESCE, "coalesce", 1, -1)                                                                 \
    X(IS_NULL, "is_null", 1, 1)                                                                    \
    X(IS_NOT_NULL, "is_not_null", 1, 1)                                                            \
    X(INT, "int", 1, 1)                                                                            \
    X(FLOAT, "float", 1, 1)

typedef enum ember_expr_function {
#define EMBER_EXPR_FUNCTION_ENUM_(suffix, name, least, most) EMBER_FN_##suffix,
    EMBER_EXPR_FUNCTION_LIST(EMBER_EXPR_FUNCTION_ENUM_)
#undef EMBER_EXPR_FUNCTION_ENUM_
        EMBER_FN_COUNT_
} ember_expr_function;

/* A value: the result of evaluating an expression (or the value of a literal). type is the
 * expression's type; when is_null is false the field of that type holds the value: int_value
 * for INT64 and BOOL (0 or 1), float_value for FLOAT64, string/string_length for STRING (bytes,
 * not NUL-terminated, pointing into a column or into the expression's literal; valid as long as
 * both live). */
typedef struct ember_expr_value {
    ember_value_type type;
    bool is_null;
    int64_t int_value;
    double float_value;
    const char *string;
    int32_t string_length;
} ember_expr_value;

typedef struct ember_expr_node ember_expr_node;

/* One node of the typed tree. */
struct ember_expr_node {
    ember_expr_kind kind;
    ember_value_type type; /* of the node's result */
    /* The type operands are converted to before the operation: int64 operands of a float64
     * addition, comparison, least/greatest, if/coalesce branch... become float64. Set for
     * binary operators and calls; for comparisons it is also what is compared (INT64, FLOAT64,
     * STRING or BOOL). */
    ember_value_type operand_type;
    size_t offset; /* byte offset in the text of the token that made the node */
    int depth;     /* 1 for a leaf */

    ember_expr_value literal;     /* LITERAL (its type is the node's; NULL for `null`) */
    int string_literal_index;     /* LITERAL of type STRING: its number, from 0 in text order */
    int column;                   /* COLUMN: index in the schema */
    ember_expr_op op;             /* UNARY, BINARY */
    ember_expr_function function; /* CALL */
    int child_count;
    ember_expr_node **children;
};

/* A parsed, type-checked expression. Fields are read-only for users of the module. */
typedef struct ember_expr {
    char *text; /* a copy of the source text */
    ember_expr_node *root;
    int column_count;         /* of the schema it was checked against */
    ember_type *column_types; /* [column_count] */
    bool *columns_used;       /* [column_count]: the columns the expression reads (pruning) */
    int string_literal_count;
    const ember_expr_node **string_literals; /* [string_literal_count], in text order */
} ember_expr;

/* Expressions deeper than this (nesting of parentheses, calls, or a chain of one operator)
 * are refused, so that evaluating, emitting and freeing never recurse without bound. */
#define EMBER_EXPR_MAX_DEPTH 256

/* Parses text and checks it against schema. On success *out is the expression (free with
 * ember_expr_free). On failure *out is NULL and err holds
 *     expression "TEXT", position N: PROBLEM
 * with N the 1-based position in characters (UTF-8 code points) of the offending token, or one
 * past the end for a text that ends too early. Statuses: EMBER_ERROR_INVALID_ARGUMENT for
 * syntax (bad token, unterminated string, unexpected token, number out of range, too deep),
 * unknown functions (the message lists them) and wrong argument counts; EMBER_ERROR_SCHEMA for
 * an unknown column (the message lists the columns) and type errors (naming the operator or
 * function and the types); EMBER_ERROR_OUT_OF_MEMORY. */
ember_status ember_expr_parse(const char *text, const ember_schema *schema, ember_expr **out,
                              ember_error *err);
void ember_expr_free(ember_expr *expr);

/* The type of the expression's result. */
ember_value_type ember_expr_type(const ember_expr *expr);
/* True when the expression reads column (an index of the schema it was parsed against). */
bool ember_expr_uses_column(const ember_expr *expr, int column);
/* True when the generated code needs double support on the device (cl_khr_fp64): the
 * expression computes or reads a float64 anywhere. */
bool ember_expr_needs_fp64(const ember_expr *expr);
/* String literal k (0 <= k < expr->string_literal_count): its bytes and length. */
const char *ember_expr_string_literal(const ember_expr *expr, int k, int32_t *length);

/* Evaluates the expression for row of columns, an array indexed like the schema (a
 * partition's columns); only the columns the expression uses are read and they must be
 * loaded. Never fails: every case (null, division by zero, overflow, NaN) has a defined
 * result. */
void ember_expr_eval(const ember_expr *expr, const ember_column *columns, int64_t row,
                     ember_expr_value *out);

/* Emits OpenCL C 1.2 source that defines, for a kernel template to include:
 *
 *   NAME_VALUE      a macro: the C type of the result (long for int64, double for float64,
 *                   int for bool, long for string and null; see below)
 *   NAME_PARAMS     a macro: the column parameters, each preceded by a comma, in the order
 *                   of the used columns' schema indexes: for an int64 or float64 column C
 *                       , __global const long|double *colC_values, __global const uchar
 *                       *colC_validity
 *                   and for a string column C
 *                       , __global const int *colC_offsets, __global const uchar *colC_bytes,
 *                       __global const uchar *colC_validity
 *   NAME_ARGS       a macro: the same names as arguments (", col0_values, col0_validity")
 *   void NAME(const ulong row, NAME_VALUE *value, int *is_null NAME_PARAMS)
 *                   evaluates the expression for row: *is_null is 1 for null (then *value is
 *                   0), else 0 and *value is the result
 *
 * A template declares the kernel's column parameters with NAME_PARAMS (or with the same names
 * itself, which lets several expressions share them) and calls NAME(row, &v, &n NAME_ARGS).
 * Buffers are Arrow layout, as in ember_column; a validity argument may be a NULL buffer when
 * the column has no nulls. A string result is a reference: C >= 0 means the current row of
 * column C, -(K + 1) the string literal K (ember_expr_string_literal).
 *
 * The text starts with a prelude guarded by #ifndef (so several expressions can share one
 * program) that enables cl_khr_fp64 where the device defines it and turns floating-point
 * contraction off (so a * b + c is never fused, and results match the host bit for bit).
 * Devices without cl_khr_fp64 can run only expressions for which ember_expr_needs_fp64 is
 * false. The user's text never reaches the source: literals are emitted from their parsed
 * values (strings as byte arrays), names are generated. name must be a C identifier of at most
 * 64 characters chosen by the caller, not starting with ember_expr (the prelude's names). *source
 * is NUL-terminated, freed with ember_free; *length (may be NULL) receives strlen(*source). */
ember_status ember_expr_codegen(const ember_expr *expr, const char *name, char **source,
                                size_t *length, ember_error *err);

/* As ember_expr_codegen, but column generated_column (>= 0) is range()'s value column: it is
 * not read from a buffer but computed as ember_range_start + row, and the parameter macros hold
 * `const long ember_range_start` in its place. -1: every column is read. */
ember_status ember_expr_codegen_range(const ember_expr *expr, const char *name,
                                      int generated_column, char **source, size_t *length,
                                      ember_error *err);

/* An expression that reads column `column` of schema as it is (a pipeline's pass-through
 * column, where an aggregate or output needs an expression). */
ember_status ember_expr_column(const ember_schema *schema, int column, ember_expr **out,
                               ember_error *err);

/* Rewrites expr, parsed against a step's schema, over the schema of the step's source: column
 * c of expr's schema becomes a copy of the tree of definitions[c] (an expression over source)
 * when that is not NULL, else source column map[c]. The result is a new expression over source
 * whose string literals are renumbered; the text is expr's. Fails (EMBER_ERROR_INVALID_ARGUMENT)
 * when the combined tree is deeper than EMBER_EXPR_MAX_DEPTH. */
ember_status ember_expr_compose(const ember_expr *expr, const ember_expr *const *definitions,
                                const int *map, const ember_schema *source, ember_expr **out,
                                ember_error *err);

/* --- Inside the module (expr_*.c) ---------------------------------------------------- */

/* Frees a node and its subtree (a literal's string bytes too). NULL is a no-op. */
void ember_expr_node_free(ember_expr_node *node);
/* Function by name (ASCII case-insensitive, len bytes), or -1. */
int ember_expr_function_find(const char *name, size_t len);
const char *ember_expr_function_name(ember_expr_function function);
/* Checks a unary, binary or call node whose children are checked: sets its type and operand
 * type and gives untyped null operands their type from the context. spelling is the operator
 * or function as written, for the message. On failure writes the problem (no position) into
 * problem and returns EMBER_ERROR_SCHEMA (types) or EMBER_ERROR_INVALID_ARGUMENT (argument
 * count). */
ember_status ember_expr_check_node(ember_expr_node *node, const char *spelling, char *problem,
                                   size_t problem_size);
/* Spark's ordering of doubles: NaN equals NaN and is greater than every other value, -0.0
 * equals 0.0. Returns -1, 0 or 1. */
int ember_expr_compare_float64(double a, double b);

#endif
