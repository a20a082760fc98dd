/* schema.h: column names and types of a CSV source: parsed from an explicit spec
 * ("id:int64,name:string") or inferred from sampled rows (int64 -> float64 -> string). */
#ifndef EMBER_IO_SCHEMA_H
#define EMBER_IO_SCHEMA_H

#include <stdbool.h>

#include "common/error.h"
#include "ember.h"

typedef struct ember_schema {
    int count;
    char **names;
    ember_type *types;
} ember_schema;

/* Parses "name:type,..." into out (names trimmed of surrounding spaces; duplicate or empty
 * names are errors). */
ember_status ember_schema_parse(const char *spec, ember_schema *out, ember_error *err);
/* An all-string schema with count columns named from names (may be NULL: _c0, _c1, ...). */
ember_status ember_schema_create(int count, char *const *names, ember_schema *out,
                                 ember_error *err);
ember_status ember_schema_copy(const ember_schema *from, ember_schema *to, ember_error *err);
void ember_schema_clear(ember_schema *schema);
/* Index of name, or -1. */
int ember_schema_find(const ember_schema *schema, const char *name);

/* Type inference, one value at a time: the narrowest of int64 / float64 / string that holds
 * every value seen. Empty and null values do not change it. */
ember_type ember_type_widen_for(ember_type current, const char *text, size_t len);

#endif
