/* groupby_plan.c: parsing aggregate texts and checking a group-by against its input schema,
 * so every mistake is reported by ember_group_by, before a job starts. */
#include "plan/groupby_plan.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/alloc.h"

static const struct {
    const char *word;
    ember_agg_kind kind;
    const char *prefix; /* of the default output name */
} agg_words[] = {
    {"count", EMBER_AGG_COUNT, "count"}, {"sum", EMBER_AGG_SUM, "sum"},
    {"min", EMBER_AGG_MIN, "min"},       {"max", EMBER_AGG_MAX, "max"},
    {"mean", EMBER_AGG_MEAN, "mean"},    {"avg", EMBER_AGG_MEAN, "mean"},
};

/* "a, b, c" for an unknown-column message. */
static void list_columns(const ember_schema *schema, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < schema->count && used + 1 < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", schema->names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

static ember_status unknown_column(const ember_schema *input, const char *what, const char *name,
                                   ember_error *err) {
    char columns[1024];
    list_columns(input, columns, sizeof columns);
    return ember_error_set(err, EMBER_ERROR_SCHEMA, "%s: unknown column '%s' (columns: %s)", what,
                           name, columns);
}

void ember_groupby_plan_free(ember_groupby_plan *plan) {
    if (!plan)
        return;
    ember_free(plan->aggs);
    ember_free(plan);
}

/* Copies text[0..len) trimmed of spaces into buf. */
static void trimmed(const char *text, size_t len, char *buf, size_t size) {
    while (len && isspace((unsigned char)*text))
        text++, len--;
    while (len && isspace((unsigned char)text[len - 1]))
        len--;
    if (len >= size)
        len = size - 1;
    memcpy(buf, text, len);
    buf[len] = '\0';
}

static const char *agg_word(ember_agg_kind kind) {
    for (size_t w = 0; w < sizeof agg_words / sizeof agg_words[0]; w++)
        if (agg_words[w].kind == kind)
            return agg_words[w].word;
    return "count";
}

/* The input and output types of an aggregate over its column's current type. */
static ember_status settle_types(const ember_schema *input, ember_agg_spec *spec, const char *text,
                                 ember_error *err) {
    if (spec->column < 0)
        return EMBER_OK;
    spec->input_type = input->types[spec->column];
    if (spec->kind != EMBER_AGG_COUNT && spec->input_type != EMBER_TYPE_INT64 &&
        spec->input_type != EMBER_TYPE_FLOAT64)
        return ember_error_set(err, EMBER_ERROR_SCHEMA,
                               "aggregate \"%s\": column '%s' is a %s; %s needs int64 or "
                               "float64%s",
                               text, input->names[spec->column], ember_type_name(spec->input_type),
                               agg_word(spec->kind),
                               spec->input_type == EMBER_TYPE_BOOL ? " (use int(x))" : "");
    spec->output_type = spec->kind == EMBER_AGG_COUNT  ? EMBER_TYPE_INT64
                        : spec->kind == EMBER_AGG_MEAN ? EMBER_TYPE_FLOAT64
                                                       : spec->input_type;
    return EMBER_OK;
}

ember_status ember_groupby_plan_refresh(ember_groupby_plan *plan, const ember_schema *input,
                                        ember_schema *output, ember_error *err) {
    for (int k = 0; k < plan->key_count; k++)
        output->types[k] = input->types[plan->keys[k]];
    for (int a = 0; a < plan->agg_count; a++) {
        ember_status status =
            settle_types(input, &plan->aggs[a],
                         input->names[plan->aggs[a].column >= 0 ? plan->aggs[a].column : 0], err);
        if (status != EMBER_OK)
            return status;
        output->types[plan->key_count + a] = plan->aggs[a].output_type;
    }
    return EMBER_OK;
}

/* Parses one aggregate text into spec and its output name. */
static ember_status parse_aggregate(const ember_schema *input, const char *text,
                                    ember_agg_spec *spec, char *name, size_t name_len,
                                    ember_error *err) {
    char body[512], alias[256] = "";
    const char *as = NULL;
    for (const char *p = text; *p; p++) {
        if (isspace((unsigned char)*p) && strncasecmp(p + 1, "as", 2) == 0 &&
            isspace((unsigned char)p[3])) {
            as = p;
            break;
        }
    }
    trimmed(text, as ? (size_t)(as - text) : strlen(text), body, sizeof body);
    if (as) {
        trimmed(as + 4, strlen(as + 4), alias, sizeof alias);
        if (!alias[0])
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "aggregate \"%s\": a name must follow 'as'", text);
    }
    char *colon = strchr(body, ':');
    char word[32], column[256] = "";
    trimmed(body, colon ? (size_t)(colon - body) : strlen(body), word, sizeof word);
    if (colon)
        trimmed(colon + 1, strlen(colon + 1), column, sizeof column);
    size_t w = 0;
    while (w < sizeof agg_words / sizeof agg_words[0] && strcasecmp(agg_words[w].word, word) != 0)
        w++;
    if (w == sizeof agg_words / sizeof agg_words[0])
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "aggregate \"%s\": unknown function '%s' (use count, count:COL, "
                               "sum:COL, min:COL, max:COL, mean:COL)",
                               text, word);
    spec->kind = agg_words[w].kind;
    spec->column = -1;
    if (!colon || !column[0]) {
        if (spec->kind != EMBER_AGG_COUNT)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "aggregate \"%s\": %s needs a column (%s:COL)", text, word,
                                   agg_words[w].word);
        spec->kind = EMBER_AGG_COUNT_ROWS;
        spec->output_type = EMBER_TYPE_INT64;
        snprintf(name, name_len, "%s", alias[0] ? alias : "count");
        return EMBER_OK;
    }
    spec->column = ember_schema_find(input, column);
    if (spec->column < 0) {
        char what[600];
        snprintf(what, sizeof what, "aggregate \"%s\"", text);
        return unknown_column(input, what, column, err);
    }
    ember_status status = settle_types(input, spec, text, err);
    if (status != EMBER_OK)
        return status;
    int written = alias[0] ? snprintf(name, name_len, "%s", alias)
                           : snprintf(name, name_len, "%s_%s", agg_words[w].prefix, column);
    if (written < 0 || (size_t)written >= name_len)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "aggregate \"%s\": the output name is too long", text);
    return EMBER_OK;
}

ember_status ember_groupby_plan_create(const ember_schema *input, const char *const *keys,
                                       const char *const *aggregates, ember_groupby_plan **out,
                                       ember_schema *output, ember_error *err) {
    static const char *const default_aggs[] = {"count", NULL};
    *out = NULL;
    int key_count = 0, agg_count = 0;
    while (keys && keys[key_count])
        key_count++;
    if (key_count > EMBER_GROUP_BY_MAX_KEYS)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "group by: %d key columns given; 0 to %d are supported", key_count,
                               EMBER_GROUP_BY_MAX_KEYS);
    if (!aggregates || !aggregates[0])
        aggregates = default_aggs;
    while (aggregates[agg_count])
        agg_count++;

    ember_groupby_plan *plan = ember_calloc(1, sizeof *plan);
    char **names = ember_calloc((size_t)(key_count + agg_count), sizeof *names);
    ember_type *types = ember_calloc((size_t)(key_count + agg_count), sizeof *types);
    ember_status status = EMBER_OK;
    if (!plan || !names || !types ||
        !(plan->aggs = ember_calloc((size_t)agg_count, sizeof *plan->aggs))) {
        status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    plan->key_count = key_count;
    plan->agg_count = agg_count;
    for (int k = 0; k < key_count; k++) {
        int column = ember_schema_find(input, keys[k]);
        if (column < 0) {
            status = unknown_column(input, "group by", keys[k], err);
            goto done;
        }
        plan->keys[k] = column;
        types[k] = input->types[column];
        names[k] = (char *)input->names[column];
    }
    for (int a = 0; a < agg_count; a++) {
        char name[256];
        status = parse_aggregate(input, aggregates[a], &plan->aggs[a], name, sizeof name, err);
        if (status != EMBER_OK)
            goto done;
        types[key_count + a] = plan->aggs[a].output_type;
        if (!(names[key_count + a] = ember_strdup(name))) {
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    for (int i = 0; i < key_count + agg_count; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0) {
                status = ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                         "group by: two output columns are named '%s' (rename "
                                         "one with \"... as NAME\")",
                                         names[i]);
                goto done;
            }
    status = ember_schema_create(key_count + agg_count, names, output, err);
    if (status == EMBER_OK)
        memcpy(output->types, types, (size_t)(key_count + agg_count) * sizeof *types);
done:
    if (names)
        for (int a = 0; a < agg_count; a++)
            ember_free(names[key_count + a]);
    ember_free(names);
    ember_free(types);
    if (status == EMBER_OK)
        *out = plan;
    else
        ember_groupby_plan_free(plan);
    return status;
}
