/* options.h: the command-line options the `ember` commands share, parsed once (getopt_long,
 * "--opt value" and "--opt=value", options before or after the file) into one struct. */
#ifndef EMBER_CLI_OPTIONS_H
#define EMBER_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "ember.h"
#include "output.h"

/* Option groups; a command accepts the union of the groups it names, so `devices` rejects
 * --partitions the same way it rejects a misspelling. */
enum {
    CLI_GROUP_BASIC = 1u << 0,   /* --format, --help */
    CLI_GROUP_JOB = 1u << 1,     /* --device, --verbose */
    CLI_GROUP_CSV = 1u << 2,     /* --partitions, --mode, --schema, --delimiter, --quote,
                                    --no-header, --null-value */
    CLI_GROUP_GROUPBY = 1u << 3, /* --by, --agg, --sort */
    CLI_GROUP_WHERE = 1u << 4,   /* --where */
    CLI_GROUP_RANGE = 1u << 5,   /* --slices, --map, --sum */
    CLI_GROUP_MAP = 1u << 6,     /* --expr, --as, --select, --output */
};

#define CLI_MAX_POSITIONALS 8
/* More --agg options than this is a usage error; no real query comes near it. */
#define CLI_MAX_AGGREGATES 64

typedef struct cli_options {
    cli_format format; /* resolved: never CLI_FORMAT_AUTO after parsing */
    bool help;
    bool verbose;
    const char *device; /* NULL: the library's default ($EMBER_DEVICE, else GPU, else CPU) */
    int partitions;     /* 0: the library's default */
    bool mode_set;
    ember_csv_mode mode;
    const char *schema;
    bool delimiter_set;
    char delimiter;
    bool quote_set;
    char quote;
    bool no_header;
    const char *null_value;
    const char *by; /* --by as given: comma-separated key names, split by the command */
    bool sort;
    size_t aggregate_count;
    const char *aggregates[CLI_MAX_AGGREGATES]; /* --agg values, in order */
    const char *where;                          /* --where: a filter expression */
    int slices;                                 /* --slices (range); 0: the default */
    const char *map;                            /* --map (range) */
    bool sum;                                   /* --sum (range) */
    const char *expr;                           /* --expr (map) */
    const char *as;                             /* --as (map) */
    const char *select;                         /* --select (map): comma-separated column names */
    const char *output;                         /* --output (map): a file path */
    /* Arguments that are not options, in order. More than CLI_MAX_POSITIONALS is reported as
     * "too many arguments" by the parser itself. */
    size_t positional_count;
    const char *positionals[CLI_MAX_POSITIONALS];
} cli_options;

/* Parses argv (argv[0] is the command's name) accepting the given groups. On a usage problem
 * prints the one-line error and returns false; the caller exits with CLI_EXIT_USAGE. */
bool cli_options_parse(int argc, char **argv, unsigned groups, cli_options *out);

/* Checks the positional count: exactly `expected`, naming the missing one (e.g. "FILE").
 * Prints the error and returns false when it does not match. */
bool cli_options_expect_positionals(const cli_options *options, const char *command,
                                    size_t expected, const char *missing_name);

/* Applies the CSV options to a fresh ember_csv_options. Prints the error and returns false on
 * failure (a usage problem the library rejected). */
bool cli_options_apply_csv(const cli_options *options, ember_csv_options *csv);

#endif
