/* expr_parse.c: the expression lexer and recursive-descent parser. Each node is type-checked
 * (expr_check.c) as soon as it is built, so an error names the first problem from the left,
 * with its position in the text. */
#include "plan/expr.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"
#include "io/number.h"

typedef enum token_kind {
    TOK_END,
    TOK_INT,
    TOK_FLOAT,
    TOK_STRING,
    TOK_IDENT,
    TOK_QUOTED, /* `a column` */
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COMMA,
    TOK_PLUS,
    TOK_MINUS,
    TOK_STAR,
    TOK_SLASH,
    TOK_PERCENT,
    TOK_EQ,
    TOK_NE,
    TOK_LT,
    TOK_LE,
    TOK_GT,
    TOK_GE,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
    TOK_TRUE,
    TOK_FALSE,
    TOK_NULL,
} token_kind;

typedef struct token {
    token_kind kind;
    size_t start, end;  /* bytes of the text */
    uint64_t magnitude; /* TOK_INT; UINT64_MAX when it does not fit 64 bits */
    double float_value; /* TOK_FLOAT */
} token;

typedef struct parser {
    const char *text;
    size_t length;
    const ember_schema *schema;
    size_t pos; /* next byte to lex */
    token tok;  /* the current token */
    int nesting;
    ember_status status; /* of the first failure */
    ember_expr *expr;
    ember_error *err;
} parser;

/* The text as shown in messages: long texts are cut, the position still counts in the whole. */
#define SHOWN_TEXT_MAX 400

static ember_status fail(parser *p, ember_status status, size_t offset, const char *format, ...)
    __attribute__((format(printf, 4, 5)));

/* The 1-based position of a byte offset in UTF-8 code points (continuation bytes do not
 * count), as a reader counts characters. */
static long char_position(const parser *p, size_t offset) {
    long position = 1;
    for (size_t i = 0; i < offset && i < p->length; i++)
        position += ((unsigned char)p->text[i] & 0xc0) != 0x80;
    return position;
}

/* Records `expression "TEXT", position N: PROBLEM`. */
static ember_status fail(parser *p, ember_status status, size_t offset, const char *format, ...) {
    char problem[2048];
    va_list args;
    va_start(args, format);
    vsnprintf(problem, sizeof problem, format, args);
    va_end(args);
    long position = char_position(p, offset);
    if (p->status == EMBER_OK)
        p->status = status;
    int shown = p->length > SHOWN_TEXT_MAX ? SHOWN_TEXT_MAX : (int)p->length;
    return ember_error_set(p->err, status, "expression \"%.*s%s\", position %ld: %s", shown,
                           p->text, p->length > SHOWN_TEXT_MAX ? "..." : "", position, problem);
}

static ember_status out_of_memory(parser *p) {
    if (p->status == EMBER_OK)
        p->status = EMBER_ERROR_OUT_OF_MEMORY;
    return ember_error_set(p->err, EMBER_ERROR_OUT_OF_MEMORY,
                           "out of memory parsing an expression");
}

/* ---------------------------------------------------------------------------------------
 * Lexer.
 * ------------------------------------------------------------------------------------- */

/* Bytes of UTF-8 sequences count as letters, so `café` needs no backticks. */
static bool is_identifier_start(unsigned char c) {
    return isalpha(c) || c == '_' || c >= 0x80;
}

static bool is_identifier_char(unsigned char c) {
    return is_identifier_start(c) || isdigit(c);
}

static const struct {
    const char *word;
    token_kind kind;
} keywords[] = {
    {"and", TOK_AND},   {"or", TOK_OR},       {"not", TOK_NOT},
    {"true", TOK_TRUE}, {"false", TOK_FALSE}, {"null", TOK_NULL},
};

/* Two-character spellings come before their one-character prefixes. */
static const struct {
    const char *text;
    token_kind kind;
} operators[] = {
    {"==", TOK_EQ},   {"!=", TOK_NE},    {"<>", TOK_NE},    {"<=", TOK_LE},     {">=", TOK_GE},
    {"&&", TOK_AND},  {"||", TOK_OR},    {"=", TOK_EQ},     {"!", TOK_NOT},     {"<", TOK_LT},
    {">", TOK_GT},    {"(", TOK_LPAREN}, {")", TOK_RPAREN}, {",", TOK_COMMA},   {"+", TOK_PLUS},
    {"-", TOK_MINUS}, {"*", TOK_STAR},   {"/", TOK_SLASH},  {"%", TOK_PERCENT},
};

static bool lex_number(parser *p) {
    const char *t = p->text;
    size_t i = p->tok.start;
    bool is_float = false;
    while (isdigit((unsigned char)t[i]))
        i++;
    if (t[i] == '.') {
        is_float = true;
        i++;
        while (isdigit((unsigned char)t[i]))
            i++;
    }
    if (t[i] == 'e' || t[i] == 'E') {
        size_t e = i + 1;
        if (t[e] == '+' || t[e] == '-')
            e++;
        if (isdigit((unsigned char)t[e])) {
            is_float = true;
            i = e;
            while (isdigit((unsigned char)t[i]))
                i++;
        }
    }
    bool malformed = false;
    while (is_identifier_char((unsigned char)t[i]) || t[i] == '.') {
        malformed = true;
        i++;
    }
    p->tok.end = i;
    int len = (int)(i - p->tok.start);
    if (malformed) {
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start, "malformed number '%.*s'", len,
             t + p->tok.start);
        return false;
    }
    if (is_float) {
        p->tok.kind = TOK_FLOAT;
        if (!ember_parse_float64(t + p->tok.start, (size_t)len, &p->tok.float_value) ||
            isinf(p->tok.float_value)) {
            fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
                 "number %.*s is out of range for float64", len, t + p->tok.start);
            return false;
        }
        return true;
    }
    p->tok.kind = TOK_INT;
    uint64_t magnitude = 0;
    for (size_t d = p->tok.start; d < i; d++) {
        unsigned digit = (unsigned)(t[d] - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) {
            magnitude = UINT64_MAX;
            break;
        }
        magnitude = magnitude * 10 + digit;
    }
    p->tok.magnitude = magnitude;
    return true;
}

/* A '...' string or a `...` name: the quote doubled inside stands for itself. */
static bool lex_quoted(parser *p, char quote) {
    size_t i = p->tok.start + 1;
    for (;;) {
        if (i >= p->length) {
            fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
                 quote == '\'' ? "unterminated string (a ' is missing)"
                               : "unterminated column name (a ` is missing)");
            return false;
        }
        if (p->text[i] == quote) {
            if (p->text[i + 1] != quote)
                break;
            i++;
        }
        i++;
    }
    p->tok.end = i + 1;
    p->tok.kind = quote == '\'' ? TOK_STRING : TOK_QUOTED;
    return true;
}

/* Reads the next token into p->tok. False (with the error set) on a bad token. */
static bool advance(parser *p) {
    const char *t = p->text;
    while (p->pos < p->length &&
           (t[p->pos] == ' ' || t[p->pos] == '\t' || t[p->pos] == '\n' || t[p->pos] == '\r'))
        p->pos++;
    token *tok = &p->tok;
    memset(tok, 0, sizeof *tok);
    tok->start = p->pos;
    tok->end = p->pos + 1;
    if (p->pos >= p->length) {
        tok->kind = TOK_END;
        tok->end = p->pos;
        return true;
    }
    unsigned char c = (unsigned char)t[p->pos];
    unsigned char next = p->pos + 1 < p->length ? (unsigned char)t[p->pos + 1] : 0;
    bool ok = true;
    if (isdigit(c) || (c == '.' && isdigit(next))) {
        ok = lex_number(p);
    } else if (is_identifier_start(c)) {
        size_t i = p->pos;
        while (i < p->length && is_identifier_char((unsigned char)t[i]))
            i++;
        tok->end = i;
        tok->kind = TOK_IDENT;
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
            if (strlen(keywords[k].word) == i - p->pos &&
                strncasecmp(keywords[k].word, t + p->pos, i - p->pos) == 0)
                tok->kind = keywords[k].kind;
    } else if (c == '\'' || c == '`') {
        ok = lex_quoted(p, (char)c);
    } else {
        /* Operators: the longest spelling that matches ("<=" before "<"). */
        size_t k = 0;
        for (; k < sizeof operators / sizeof operators[0]; k++) {
            const char *op = operators[k].text;
            if (op[0] == (char)c && (!op[1] || op[1] == (char)next))
                break;
        }
        if (k == sizeof operators / sizeof operators[0]) {
            if (c == '&' || c == '|')
                fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->pos,
                     "unexpected character '%c' (did you mean '%c%c'?)", c, c, c);
            else if (c >= 0x20 && c < 0x7f)
                fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->pos, "unexpected character '%c'", c);
            else
                fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->pos, "unexpected byte 0x%02x", c);
            return false;
        }
        tok->kind = operators[k].kind;
        tok->end = p->pos + strlen(operators[k].text);
    }
    if (ok)
        p->pos = tok->end;
    return ok;
}

/* The token as written, for messages ("'+'", "the end of the expression"). */
static const char *describe(const parser *p, const token *tok, char *buf, size_t size) {
    if (tok->kind == TOK_END)
        return "the end of the expression";
    int len = (int)(tok->end - tok->start);
    if (len > 40)
        snprintf(buf, size, "'%.40s...'", p->text + tok->start);
    else
        snprintf(buf, size, "'%.*s'", len, p->text + tok->start);
    return buf;
}

/* The text between the quotes of a string or `name` token, unquoted. NULL when out of
 * memory. */
static char *unquote(parser *p, const token *tok, int32_t *length) {
    char quote = p->text[tok->start];
    char *out = ember_malloc(tok->end - tok->start);
    if (!out)
        return NULL;
    size_t n = 0;
    for (size_t i = tok->start + 1; i + 1 < tok->end; i++) {
        out[n++] = p->text[i];
        if (p->text[i] == quote)
            i++; /* the doubled quote */
    }
    out[n] = '\0';
    *length = (int32_t)n;
    return out;
}

/* ---------------------------------------------------------------------------------------
 * Nodes.
 * ------------------------------------------------------------------------------------- */

void ember_expr_node_free(ember_expr_node *node) {
    if (!node)
        return;
    for (int i = 0; i < node->child_count; i++)
        ember_expr_node_free(node->children[i]);
    ember_free(node->children);
    if (node->kind == EMBER_EXPR_LITERAL)
        ember_free((void *)node->literal.string);
    ember_free(node);
}

static ember_expr_node *node_new(parser *p, ember_expr_kind kind, ember_value_type type,
                                 size_t offset) {
    ember_expr_node *node = ember_calloc(1, sizeof *node);
    if (!node) {
        out_of_memory(p);
        return NULL;
    }
    node->kind = kind;
    node->type = node->operand_type = type;
    node->literal.type = type;
    node->offset = offset;
    node->depth = 1;
    node->string_literal_index = -1;
    node->column = -1;
    return node;
}

/* Makes an operator or call node of children (taking them, freeing them on failure), checks
 * its depth and types. spelling: the operator or function as written. */
static ember_expr_node *node_build(parser *p, ember_expr_kind kind, int which, size_t offset,
                                   const char *spelling, ember_expr_node **children, int count) {
    ember_expr_node *node = node_new(p, kind, EMBER_VALUE_NULL, offset);
    ember_expr_node **owned =
        node ? ember_malloc(sizeof *owned * (size_t)(count ? count : 1)) : NULL;
    if (!owned) {
        if (node)
            out_of_memory(p);
        ember_free(node);
        for (int i = 0; i < count; i++)
            ember_expr_node_free(children[i]);
        return NULL;
    }
    if (count) /* a call without arguments has no array */
        memcpy(owned, children, sizeof *owned * (size_t)count);
    node->children = owned;
    node->child_count = count;
    if (kind == EMBER_EXPR_CALL)
        node->function = (ember_expr_function)which;
    else
        node->op = (ember_expr_op)which;
    for (int i = 0; i < count; i++)
        if (children[i]->depth + 1 > node->depth)
            node->depth = children[i]->depth + 1;
    if (node->depth > EMBER_EXPR_MAX_DEPTH) {
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, offset,
             "expression nested too deeply (more than %d levels)", EMBER_EXPR_MAX_DEPTH);
        ember_expr_node_free(node);
        return NULL;
    }
    char problem[1024];
    ember_status status = ember_expr_check_node(node, spelling, problem, sizeof problem);
    if (status != EMBER_OK) {
        fail(p, status, offset, "%s", problem);
        ember_expr_node_free(node);
        return NULL;
    }
    return node;
}

/* ---------------------------------------------------------------------------------------
 * Grammar (lowest precedence first):
 *   or      := and (('or' | '||') and)*
 *   and     := not (('and' | '&&') not)*
 *   not     := ('not' | '!') not | compare
 *   compare := add (('=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>=') add)*
 *   add     := mul (('+' | '-') mul)*
 *   mul     := unary (('*' | '/' | '%') unary)*
 *   unary   := '-' unary | primary
 *   primary := literal | column | function '(' [or (',' or)*] ')' | '(' or ')'
 * ------------------------------------------------------------------------------------- */

static ember_expr_node *parse_or(parser *p);

static bool enter(parser *p) {
    if (++p->nesting > EMBER_EXPR_MAX_DEPTH) {
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
             "expression nested too deeply (more than %d levels)", EMBER_EXPR_MAX_DEPTH);
        return false;
    }
    return true;
}

/* The column list for an unknown-column message; names that are not plain identifiers are
 * shown in backticks, as they must be written. */
static void list_columns(const ember_schema *schema, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    if (schema->count == 0) {
        snprintf(buf, size, "none");
        return;
    }
    for (int c = 0; c < schema->count; c++) {
        const char *name = schema->names[c];
        bool plain = is_identifier_start((unsigned char)name[0]);
        for (const char *s = name; *s && plain; s++)
            plain = is_identifier_char((unsigned char)*s);
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0] && plain; k++)
            plain = strcasecmp(name, keywords[k].word) != 0;
        char shown[300];
        if (plain) {
            snprintf(shown, sizeof shown, "%s", name);
        } else {
            size_t n = 0;
            shown[n++] = '`';
            for (const char *s = name; *s && n + 4 < sizeof shown; s++) {
                shown[n++] = *s;
                if (*s == '`')
                    shown[n++] = '`';
            }
            shown[n++] = '`';
            shown[n] = '\0';
        }
        int wrote = snprintf(buf + used, size - used, "%s%s", c ? ", " : "", shown);
        if (wrote < 0 || used + (size_t)wrote + 8 >= size) {
            snprintf(buf + used, size - used, ", ...");
            return;
        }
        used += (size_t)wrote;
    }
}

static ember_expr_node *parse_column(parser *p, const char *name, size_t offset) {
    int column = ember_schema_find(p->schema, name);
    if (column < 0) {
        char columns[1536];
        list_columns(p->schema, columns, sizeof columns);
        fail(p, EMBER_ERROR_SCHEMA, offset, "unknown column '%s' (columns: %s)", name, columns);
        return NULL;
    }
    ember_expr_node *node =
        node_new(p, EMBER_EXPR_COLUMN, (ember_value_type)p->schema->types[column], offset);
    if (!node)
        return NULL;
    node->column = column;
    p->expr->columns_used[column] = true;
    return node;
}

static ember_expr_node *parse_string(parser *p) {
    ember_expr *expr = p->expr;
    const ember_expr_node **grown = ember_realloc(
        expr->string_literals, sizeof *grown * (size_t)(expr->string_literal_count + 1));
    if (!grown) {
        out_of_memory(p);
        return NULL;
    }
    expr->string_literals = grown;
    ember_expr_node *node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_STRING, p->tok.start);
    if (!node)
        return NULL;
    char *bytes = unquote(p, &p->tok, &node->literal.string_length);
    if (!bytes) {
        out_of_memory(p);
        ember_expr_node_free(node);
        return NULL;
    }
    node->literal.string = bytes;
    node->string_literal_index = expr->string_literal_count;
    expr->string_literals[expr->string_literal_count++] = node;
    if (!advance(p)) {
        ember_expr_node_free(
            node); /* the whole expression is freed; the table entry goes with it */
        expr->string_literal_count--;
        return NULL;
    }
    return node;
}

/* An integer token as a literal; negative: a '-' stood right before it (so that
 * -9223372036854775808 can be written). */
static ember_expr_node *parse_int(parser *p, bool negative, size_t offset) {
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (p->tok.magnitude > limit) {
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
             "integer %.*s is out of range for int64", (int)(p->tok.end - p->tok.start),
             p->text + p->tok.start);
        return NULL;
    }
    ember_expr_node *node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_INT64, offset);
    if (!node)
        return NULL;
    node->literal.int_value =
        negative ? (int64_t)(0 - p->tok.magnitude) : (int64_t)p->tok.magnitude;
    if (!advance(p)) {
        ember_expr_node_free(node);
        return NULL;
    }
    return node;
}

static ember_expr_node *parse_call(parser *p, const token *name) {
    int function = ember_expr_function_find(p->text + name->start, name->end - name->start);
    if (function < 0) {
        char names[512] = "";
        size_t used = 0;
        for (int f = 0; f < EMBER_FN_COUNT_; f++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", f ? ", " : "",
                                     ember_expr_function_name((ember_expr_function)f));
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, name->start,
             "unknown function '%.*s' (functions: %s)", (int)(name->end - name->start),
             p->text + name->start, names);
        return NULL;
    }
    ember_expr_node **args = NULL;
    int count = 0;
    if (!advance(p)) /* past '(' */
        return NULL;
    bool ok = true;
    if (p->tok.kind == TOK_RPAREN) {
        ok = advance(p);
    } else {
        for (;;) {
            ember_expr_node *arg = parse_or(p);
            ember_expr_node **grown =
                arg ? ember_realloc(args, sizeof *args * (size_t)(count + 1)) : NULL;
            if (!grown) {
                if (arg)
                    out_of_memory(p);
                ember_expr_node_free(arg);
                ok = false;
                break;
            }
            args = grown;
            args[count++] = arg;
            if (p->tok.kind == TOK_COMMA) {
                if (!(ok = advance(p)))
                    break;
                continue;
            }
            if (p->tok.kind == TOK_RPAREN) {
                ok = advance(p);
                break;
            }
            char buf[64];
            fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
                 "expected ',' or ')' in the arguments of %s, found %s",
                 ember_expr_function_name((ember_expr_function)function),
                 describe(p, &p->tok, buf, sizeof buf));
            ok = false;
            break;
        }
    }
    ember_expr_node *node = NULL;
    if (ok) {
        node = node_build(p, EMBER_EXPR_CALL, function, name->start,
                          ember_expr_function_name((ember_expr_function)function), args, count);
    } else {
        for (int i = 0; i < count; i++)
            ember_expr_node_free(args[i]);
    }
    ember_free(args);
    return node;
}

static ember_expr_node *parse_primary(parser *p) {
    token tok = p->tok;
    ember_expr_node *node = NULL;
    switch (tok.kind) {
    case TOK_INT:
        return parse_int(p, false, tok.start);
    case TOK_FLOAT:
        node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_FLOAT64, tok.start);
        if (node)
            node->literal.float_value = tok.float_value;
        break;
    case TOK_TRUE:
    case TOK_FALSE:
        node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_BOOL, tok.start);
        if (node)
            node->literal.int_value = tok.kind == TOK_TRUE;
        break;
    case TOK_NULL:
        node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_NULL, tok.start);
        if (node)
            node->literal.is_null = true;
        break;
    case TOK_STRING:
        return parse_string(p);
    case TOK_QUOTED: {
        int32_t len;
        char *name = unquote(p, &tok, &len);
        if (!name) {
            out_of_memory(p);
            return NULL;
        }
        node = parse_column(p, name, tok.start);
        ember_free(name);
        break;
    }
    case TOK_IDENT: {
        if (!advance(p))
            return NULL;
        if (p->tok.kind == TOK_LPAREN)
            return parse_call(p, &tok);
        char *name = ember_strndup(p->text + tok.start, tok.end - tok.start);
        if (!name) {
            out_of_memory(p);
            return NULL;
        }
        node = parse_column(p, name, tok.start);
        ember_free(name);
        return node; /* already advanced */
    }
    case TOK_LPAREN: {
        if (!advance(p))
            return NULL;
        node = parse_or(p);
        if (!node)
            return NULL;
        if (p->tok.kind != TOK_RPAREN) {
            char buf[64];
            fail(p, EMBER_ERROR_INVALID_ARGUMENT, p->tok.start,
                 "expected ')' to close the '(' at position %ld, found %s",
                 char_position(p, tok.start), describe(p, &p->tok, buf, sizeof buf));
            ember_expr_node_free(node);
            return NULL;
        }
        break;
    }
    default: {
        char buf[64];
        fail(p, EMBER_ERROR_INVALID_ARGUMENT, tok.start, "expected a value, found %s%s",
             describe(p, &tok, buf, sizeof buf),
             tok.kind == TOK_NOT ? " (not binds more loosely than comparisons: write (not x))"
                                 : "");
        return NULL;
    }
    }
    if (node && !advance(p)) {
        ember_expr_node_free(node);
        return NULL;
    }
    return node;
}

static ember_expr_node *parse_unary(parser *p) {
    if (p->tok.kind != TOK_MINUS)
        return parse_primary(p);
    token minus = p->tok;
    if (!enter(p) || !advance(p))
        return NULL;
    ember_expr_node *node;
    if (p->tok.kind == TOK_INT) {
        node = parse_int(p, true, minus.start);
    } else if (p->tok.kind == TOK_FLOAT) {
        /* Folded like the integer, so -1.5 is one literal. */
        node = node_new(p, EMBER_EXPR_LITERAL, EMBER_VALUE_FLOAT64, minus.start);
        if (node) {
            node->literal.float_value = -p->tok.float_value;
            if (!advance(p)) {
                ember_expr_node_free(node);
                node = NULL;
            }
        }
    } else {
        ember_expr_node *operand = parse_unary(p);
        node = operand
                   ? node_build(p, EMBER_EXPR_UNARY, EMBER_OP_NEGATE, minus.start, "-", &operand, 1)
                   : NULL;
    }
    p->nesting--;
    return node;
}

typedef struct op_entry {
    token_kind token;
    ember_expr_op op;
} op_entry;

static const op_entry mul_ops[] = {
    {TOK_STAR, EMBER_OP_MULTIPLY}, {TOK_SLASH, EMBER_OP_DIVIDE}, {TOK_PERCENT, EMBER_OP_MODULO}};
static const op_entry add_ops[] = {{TOK_PLUS, EMBER_OP_ADD}, {TOK_MINUS, EMBER_OP_SUBTRACT}};
static const op_entry compare_ops[] = {
    {TOK_EQ, EMBER_OP_EQUAL},      {TOK_NE, EMBER_OP_NOT_EQUAL}, {TOK_LT, EMBER_OP_LESS},
    {TOK_LE, EMBER_OP_LESS_EQUAL}, {TOK_GT, EMBER_OP_GREATER},   {TOK_GE, EMBER_OP_GREATER_EQUAL},
};
static const op_entry and_ops[] = {{TOK_AND, EMBER_OP_AND}};
static const op_entry or_ops[] = {{TOK_OR, EMBER_OP_OR}};

/* One left-associative level: operand (op operand)*. */
static ember_expr_node *parse_level(parser *p, ember_expr_node *(*operand)(parser *),
                                    const op_entry *ops, size_t op_count) {
    ember_expr_node *left = operand(p);
    while (left) {
        size_t k = 0;
        while (k < op_count && ops[k].token != p->tok.kind)
            k++;
        if (k == op_count)
            break;
        token op = p->tok;
        char spelling[8];
        snprintf(spelling, sizeof spelling, "%.*s", (int)(op.end - op.start), p->text + op.start);
        for (char *s = spelling; *s; s++)
            *s = (char)tolower((unsigned char)*s);
        if (!advance(p)) {
            ember_expr_node_free(left);
            return NULL;
        }
        ember_expr_node *right = operand(p);
        if (!right) {
            ember_expr_node_free(left);
            return NULL;
        }
        ember_expr_node *pair[2] = {left, right};
        left = node_build(p, EMBER_EXPR_BINARY, ops[k].op, op.start, spelling, pair, 2);
    }
    return left;
}

static ember_expr_node *parse_mul(parser *p) {
    return parse_level(p, parse_unary, mul_ops, sizeof mul_ops / sizeof mul_ops[0]);
}

static ember_expr_node *parse_add(parser *p) {
    return parse_level(p, parse_mul, add_ops, sizeof add_ops / sizeof add_ops[0]);
}

static ember_expr_node *parse_compare(parser *p) {
    return parse_level(p, parse_add, compare_ops, sizeof compare_ops / sizeof compare_ops[0]);
}

static ember_expr_node *parse_not(parser *p) {
    if (p->tok.kind != TOK_NOT)
        return parse_compare(p);
    token op = p->tok;
    char spelling[8];
    snprintf(spelling, sizeof spelling, "%.*s", (int)(op.end - op.start), p->text + op.start);
    for (char *s = spelling; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    if (!enter(p) || !advance(p))
        return NULL;
    ember_expr_node *operand = parse_not(p);
    p->nesting--;
    return operand ? node_build(p, EMBER_EXPR_UNARY, EMBER_OP_NOT, op.start, spelling, &operand, 1)
                   : NULL;
}

static ember_expr_node *parse_and(parser *p) {
    return parse_level(p, parse_not, and_ops, 1);
}

static ember_expr_node *parse_or(parser *p) {
    if (!enter(p))
        return NULL;
    ember_expr_node *node = parse_level(p, parse_and, or_ops, 1);
    p->nesting--;
    return node;
}

/* ---------------------------------------------------------------------------------------
 * The expression.
 * ------------------------------------------------------------------------------------- */

void ember_expr_free(ember_expr *expr) {
    if (!expr)
        return;
    ember_expr_node_free(expr->root);
    ember_free(expr->text);
    ember_free(expr->column_types);
    ember_free(expr->columns_used);
    ember_free(expr->string_literals);
    ember_free(expr);
}

ember_status ember_expr_parse(const char *text, const ember_schema *schema, ember_expr **out,
                              ember_error *err) {
    *out = NULL;
    if (!text || !schema)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "expression: text and schema are required");
    parser p = {.text = text, .length = strlen(text), .schema = schema, .err = err};
    ember_expr *expr = ember_calloc(1, sizeof *expr);
    p.expr = expr;
    if (!expr)
        return out_of_memory(&p);
    size_t columns = schema->count > 0 ? (size_t)schema->count : 1;
    expr->text = ember_strdup(text);
    expr->column_types = ember_calloc(columns, sizeof *expr->column_types);
    expr->columns_used = ember_calloc(columns, sizeof *expr->columns_used);
    if (!expr->text || !expr->column_types || !expr->columns_used) {
        ember_expr_free(expr);
        return out_of_memory(&p);
    }
    expr->column_count = schema->count;
    for (int c = 0; c < schema->count; c++)
        expr->column_types[c] = schema->types[c];
    ember_status status = EMBER_OK;
    if (!advance(&p)) {
        status = p.status;
    } else if (p.tok.kind == TOK_END) {
        status = fail(&p, EMBER_ERROR_INVALID_ARGUMENT, 0, "empty expression");
    } else {
        expr->root = parse_or(&p);
        if (expr->root && p.tok.kind != TOK_END) {
            char buf[64];
            status = fail(&p, EMBER_ERROR_INVALID_ARGUMENT, p.tok.start,
                          "unexpected %s after a complete expression (an operator is missing?)",
                          describe(&p, &p.tok, buf, sizeof buf));
        } else if (!expr->root) {
            status = p.status != EMBER_OK ? p.status : EMBER_ERROR_INTERNAL;
        }
    }
    if (status != EMBER_OK) {
        ember_expr_free(expr);
        return status;
    }
    *out = expr;
    return EMBER_OK;
}

ember_value_type ember_expr_type(const ember_expr *expr) {
    return expr->root->type;
}

bool ember_expr_uses_column(const ember_expr *expr, int column) {
    return column >= 0 && column < expr->column_count && expr->columns_used[column];
}

static bool node_needs_fp64(const ember_expr_node *node) {
    if (node->type == EMBER_VALUE_FLOAT64 || node->operand_type == EMBER_VALUE_FLOAT64)
        return true;
    for (int i = 0; i < node->child_count; i++)
        if (node_needs_fp64(node->children[i]))
            return true;
    return false;
}

bool ember_expr_needs_fp64(const ember_expr *expr) {
    return node_needs_fp64(expr->root);
}

const char *ember_expr_string_literal(const ember_expr *expr, int k, int32_t *length) {
    const ember_expr_node *node = expr->string_literals[k];
    *length = node->literal.string_length;
    return node->literal.string;
}
