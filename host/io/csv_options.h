/* csv_options.h: the options of ember_read_csv (header, dialect, nulls, schema, mode,
 * partitions) behind the opaque public handle. */
#ifndef EMBER_IO_CSV_OPTIONS_H
#define EMBER_IO_CSV_OPTIONS_H

#include <stdbool.h>

#include "ember.h"

struct ember_csv_options {
    bool header;
    char delimiter, quote;
    char *null_value;
    char *schema;
    ember_csv_mode mode;
    int partitions;
};

#endif
