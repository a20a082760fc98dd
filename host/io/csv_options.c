/* csv_options.c: creating and setting CSV read options; values are checked here so a bad
 * option fails at the call that sets it. */
#include "io/csv_options.h"

#include "common/alloc.h"

ember_csv_options *ember_csv_options_create(void) {
    ember_csv_options *options = ember_calloc(1, sizeof *options);
    if (options) {
        options->header = true;
        options->delimiter = ',';
        options->quote = '"';
        options->mode = EMBER_CSV_PERMISSIVE;
    }
    return options;
}

void ember_csv_options_free(ember_csv_options *options) {
    if (!options)
        return;
    ember_free(options->null_value);
    ember_free(options->schema);
    ember_free(options);
}

ember_status ember_csv_options_set_header(ember_csv_options *options, bool header) {
    if (!options)
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->header = header;
    return EMBER_OK;
}

static bool usable_dialect_byte(char c) {
    return c != '\n' && c != '\r' && c != '\0';
}

ember_status ember_csv_options_set_delimiter(ember_csv_options *options, char delimiter) {
    if (!options || !usable_dialect_byte(delimiter) || delimiter == options->quote)
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->delimiter = delimiter;
    return EMBER_OK;
}

ember_status ember_csv_options_set_quote(ember_csv_options *options, char quote) {
    if (!options || !usable_dialect_byte(quote) || quote == options->delimiter)
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->quote = quote;
    return EMBER_OK;
}

ember_status ember_csv_options_set_null_value(ember_csv_options *options, const char *text) {
    if (!options)
        return EMBER_ERROR_INVALID_ARGUMENT;
    return ember_text_replace(&options->null_value, text) == 0 ? EMBER_OK
                                                               : EMBER_ERROR_OUT_OF_MEMORY;
}

ember_status ember_csv_options_set_schema(ember_csv_options *options, const char *schema) {
    if (!options)
        return EMBER_ERROR_INVALID_ARGUMENT;
    return ember_text_replace(&options->schema, schema) == 0 ? EMBER_OK : EMBER_ERROR_OUT_OF_MEMORY;
}

ember_status ember_csv_options_set_mode(ember_csv_options *options, ember_csv_mode mode) {
    if (!options || (mode != EMBER_CSV_PERMISSIVE && mode != EMBER_CSV_DROPMALFORMED &&
                     mode != EMBER_CSV_FAILFAST))
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->mode = mode;
    return EMBER_OK;
}

ember_status ember_csv_options_set_partitions(ember_csv_options *options, int partitions) {
    if (!options || partitions < 0)
        return EMBER_ERROR_INVALID_ARGUMENT;
    options->partitions = partitions;
    return EMBER_OK;
}
