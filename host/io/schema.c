/* schema.c: CSV schemas: the explicit "name:type,..." form and the type lattice used by
 * inference (int64 -> float64 -> string). */
#include "io/schema.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "io/number.h"

void ember_schema_clear(ember_schema *schema) {
    if (!schema)
        return;
    for (int i = 0; i < schema->count; i++)
        ember_free(schema->names ? schema->names[i] : NULL);
    ember_free(schema->names);
    ember_free(schema->types);
    schema->names = NULL;
    schema->types = NULL;
    schema->count = 0;
}

static ember_status schema_alloc(int count, ember_schema *out, ember_error *err) {
    out->count = 0;
    out->names = ember_calloc((size_t)(count > 0 ? count : 1), sizeof *out->names);
    out->types = ember_calloc((size_t)(count > 0 ? count : 1), sizeof *out->types);
    if (!out->names || !out->types) {
        ember_schema_clear(out);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory for a schema");
    }
    out->count = count;
    return EMBER_OK;
}

int ember_schema_find(const ember_schema *schema, const char *name) {
    for (int i = 0; i < schema->count; i++)
        if (strcmp(schema->names[i], name) == 0)
            return i;
    return -1;
}

ember_status ember_schema_create(int count, char *const *names, ember_schema *out,
                                 ember_error *err) {
    ember_status status = schema_alloc(count, out, err);
    if (status != EMBER_OK)
        return status;
    for (int i = 0; i < count; i++) {
        char generated[32];
        snprintf(generated, sizeof generated, "_c%d", i);
        out->names[i] = ember_strdup(names ? names[i] : generated);
        out->types[i] = EMBER_TYPE_STRING;
        if (!out->names[i]) {
            ember_schema_clear(out);
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory for a schema");
        }
    }
    return EMBER_OK;
}

ember_status ember_schema_copy(const ember_schema *from, ember_schema *to, ember_error *err) {
    ember_status status = ember_schema_create(from->count, from->names, to, err);
    if (status == EMBER_OK)
        memcpy(to->types, from->types, (size_t)from->count * sizeof *to->types);
    return status;
}

static int type_from_name(const char *name, size_t len, ember_type *out) {
    static const struct {
        const char *name;
        ember_type type;
    } names[] = {
        {"int64", EMBER_TYPE_INT64},     {"int", EMBER_TYPE_INT64},
        {"long", EMBER_TYPE_INT64},      {"bigint", EMBER_TYPE_INT64},
        {"float64", EMBER_TYPE_FLOAT64}, {"double", EMBER_TYPE_FLOAT64},
        {"float", EMBER_TYPE_FLOAT64},   {"string", EMBER_TYPE_STRING},
        {"str", EMBER_TYPE_STRING},      {"text", EMBER_TYPE_STRING},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == len && strncasecmp(names[i].name, name, len) == 0) {
            *out = names[i].type;
            return 1;
        }
    }
    return 0;
}

/* Trims ASCII spaces around [*start, *end). */
static void trim(const char **start, const char **end) {
    while (*start < *end && isspace((unsigned char)**start))
        (*start)++;
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

ember_status ember_schema_parse(const char *spec, ember_schema *out, ember_error *err) {
    if (!spec)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "schema is NULL");
    int count = 1;
    for (const char *p = spec; *p; p++)
        count += *p == ',';
    ember_status status = schema_alloc(count, out, err);
    if (status != EMBER_OK)
        return status;
    const char *item = spec;
    for (int i = 0; i < count; i++) {
        const char *end = strchr(item, ',');
        if (!end)
            end = item + strlen(item);
        const char *colon = memchr(item, ':', (size_t)(end - item));
        const char *name = item, *name_end = colon ? colon : end;
        trim(&name, &name_end);
        if (!colon || name == name_end) {
            status = ember_error_set(err, EMBER_ERROR_SCHEMA,
                                     "schema \"%s\", column %d: expected name:type, got \"%.*s\"",
                                     spec, i + 1, (int)(end - item), item);
            goto fail;
        }
        const char *type = colon + 1, *type_end = end;
        trim(&type, &type_end);
        if (!type_from_name(type, (size_t)(type_end - type), &out->types[i])) {
            status = ember_error_set(
                err, EMBER_ERROR_SCHEMA,
                "schema \"%s\", column '%.*s': unknown type \"%.*s\" (types: int64, float64, "
                "string)",
                spec, (int)(name_end - name), name, (int)(type_end - type), type);
            goto fail;
        }
        out->names[i] = ember_strndup(name, (size_t)(name_end - name));
        if (!out->names[i]) {
            status = ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "out of memory for a schema");
            goto fail;
        }
        for (int j = 0; j < i; j++) {
            if (strcmp(out->names[j], out->names[i]) == 0) {
                status = ember_error_set(err, EMBER_ERROR_SCHEMA,
                                         "schema \"%s\": column '%s' appears twice", spec,
                                         out->names[i]);
                goto fail;
            }
        }
        item = end + 1;
    }
    return EMBER_OK;
fail:
    ember_schema_clear(out);
    return status;
}

ember_type ember_type_widen_for(ember_type current, const char *text, size_t len) {
    if (current == EMBER_TYPE_STRING || len == 0)
        return current;
    int64_t i;
    if (current == EMBER_TYPE_INT64 && ember_parse_int64(text, len, &i))
        return EMBER_TYPE_INT64;
    double d;
    if (ember_parse_float64(text, len, &d))
        return EMBER_TYPE_FLOAT64;
    return EMBER_TYPE_STRING;
}
