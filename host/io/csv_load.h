/* csv_load.h: parses one record-aligned split with libcsv straight into a typed columnar
 * partition, applying the null rules and the malformed-row mode. */
#ifndef EMBER_IO_CSV_LOAD_H
#define EMBER_IO_CSV_LOAD_H

#include <stdbool.h>

#include "data/dictionary.h"
#include "data/partition.h"
#include "io/csv_split.h"
#include "io/schema.h"

typedef struct ember_csv_config {
    ember_csv_dialect dialect;
    const char *null_value; /* NULL: only the empty unquoted field is null */
    ember_csv_mode mode;
    bool schema_inferred; /* values that do not fit widen the type instead of being malformed */
    const char *path;     /* for messages */
    /* Every record through libcsv: no fast path for records without a quote. For the tests that
     * check the fast path against libcsv. */
    bool libcsv_only;
} ember_csv_config;

struct csv_parser;
/* Sets up a libcsv parser the way every ember parse uses it: non-strict, empty unquoted fields
 * reported as NULL, no space trimming, ember's allocator. Returns false when out of memory. */
bool ember_csv_parser_init(struct csv_parser *parser, ember_csv_dialect dialect);

/* Parses split (buf is the whole file mapping; splits never hold the header record) into out, whose
 * columns follow schema. wanted (may be NULL = all) says which columns to convert; the others are
 * tokenized only, so a bad value there does not make a row malformed. Field-count errors always
 * count.
 *
 * When config->schema_inferred and a value does not fit its column's type, the column's
 * required type is raised in needed[] (an array of schema->count types, filled on return) and
 * the caller must re-parse with the widened schema; out is then incomplete. Otherwise needed[i]
 * equals schema->types[i].
 *
 * FAILFAST: the first malformed row fails with EMBER_ERROR_CSV and "path:line:column: ..." and
 * the offending text. Out of memory gives EMBER_ERROR_OUT_OF_MEMORY. On failure out is
 * cleared. */
ember_status ember_csv_parse_split(const char *buf, const ember_split *split,
                                   const ember_schema *schema, const bool *wanted,
                                   const ember_csv_config *config, ember_partition *out,
                                   ember_type *needed, ember_error *err);

/* ember_csv_parse_split that also finds the groups of string columns while it parses, each
 * kept row's value taken while its bytes are in the cache instead of in a second pass over the
 * column: for each converted string column c with grouped[c], dictionaries[c] (an array of
 * schema->count, emptied first) gets exactly what ember_dictionary_build would give for the
 * column with ember_dictionary_max_groups(out->rows), or stays empty when the column has more
 * groups, memory for them ran out, or the parse failed or widened. grouped NULL: none. */
ember_status ember_csv_parse_split_grouped(const char *buf, const ember_split *split,
                                           const ember_schema *schema, const bool *wanted,
                                           const bool *grouped, const ember_csv_config *config,
                                           ember_partition *out, ember_type *needed,
                                           ember_dictionary *dictionaries, ember_error *err);

/* The FAILFAST error for a record with the wrong number of fields, at line of path. */
ember_status ember_csv_field_count_error(ember_error *err, const ember_csv_config *config,
                                         int64_t line, int expected, int found);

/* The count path: fills out with the rows of split and no converted column, checking only
 * field counts (ember_csv_count_records: no libcsv parse), with the same modes, counts and
 * FAILFAST message as ember_csv_parse_split. */
ember_status ember_csv_count_split(const char *buf, const ember_split *split,
                                   const ember_schema *schema, const ember_csv_config *config,
                                   ember_partition *out, ember_error *err);

#endif
