/* options.c: parsing of the options the `ember` commands share (see options.h). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum {
    OPT_FORMAT = 256, /* above every char, so no long option collides with a short one */
    OPT_HELP,
    OPT_DEVICE,
    OPT_VERBOSE,
    OPT_PARTITIONS,
    OPT_MODE,
    OPT_SCHEMA,
    OPT_DELIMITER,
    OPT_QUOTE,
    OPT_NO_HEADER,
    OPT_NULL_VALUE,
    OPT_BY,
    OPT_AGG,
    OPT_SORT,
    OPT_WHERE,
    OPT_SLICES,
    OPT_MAP,
    OPT_SUM,
    OPT_EXPR,
    OPT_AS,
    OPT_SELECT,
    OPT_OUTPUT,
};

typedef struct option_spec {
    const char *name;
    int has_arg;
    int id;
    unsigned group;
} option_spec;

static const option_spec OPTION_SPECS[] = {
    {"format", required_argument, OPT_FORMAT, CLI_GROUP_BASIC},
    {"help", no_argument, OPT_HELP, CLI_GROUP_BASIC},
    {"device", required_argument, OPT_DEVICE, CLI_GROUP_JOB},
    {"verbose", no_argument, OPT_VERBOSE, CLI_GROUP_JOB},
    {"partitions", required_argument, OPT_PARTITIONS, CLI_GROUP_CSV},
    {"mode", required_argument, OPT_MODE, CLI_GROUP_CSV},
    {"schema", required_argument, OPT_SCHEMA, CLI_GROUP_CSV},
    {"delimiter", required_argument, OPT_DELIMITER, CLI_GROUP_CSV},
    {"quote", required_argument, OPT_QUOTE, CLI_GROUP_CSV},
    {"no-header", no_argument, OPT_NO_HEADER, CLI_GROUP_CSV},
    {"null-value", required_argument, OPT_NULL_VALUE, CLI_GROUP_CSV},
    {"by", required_argument, OPT_BY, CLI_GROUP_GROUPBY},
    {"agg", required_argument, OPT_AGG, CLI_GROUP_GROUPBY},
    {"sort", no_argument, OPT_SORT, CLI_GROUP_GROUPBY},
    {"where", required_argument, OPT_WHERE, CLI_GROUP_WHERE},
    {"slices", required_argument, OPT_SLICES, CLI_GROUP_RANGE},
    {"map", required_argument, OPT_MAP, CLI_GROUP_RANGE},
    {"sum", no_argument, OPT_SUM, CLI_GROUP_RANGE},
    {"expr", required_argument, OPT_EXPR, CLI_GROUP_MAP},
    {"as", required_argument, OPT_AS, CLI_GROUP_MAP},
    {"select", required_argument, OPT_SELECT, CLI_GROUP_MAP},
    {"output", required_argument, OPT_OUTPUT, CLI_GROUP_MAP},
};
#define OPTION_SPEC_COUNT (sizeof OPTION_SPECS / sizeof OPTION_SPECS[0])

/* A positive int: digits only, no sign, no trailing text, no overflow. */
static bool parse_positive_int(const char *text, int *out) {
    if (*text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end;
    long value = strtol(text, &end, 10);
    if (errno || *end || value < 1 || value > INT_MAX)
        return false;
    *out = (int)value;
    return true;
}

/* An option that takes one value: given twice is an error, not a silent override. */
static bool set_once(const char *name, const char *value, const char **slot) {
    if (*slot) {
        cli_error("%s given twice", name);
        return false;
    }
    *slot = value;
    return true;
}

static bool parse_mode(const char *text, ember_csv_mode *out) {
    /* Spark spells the modes in capitals; accept either spelling. */
    if (strcasecmp(text, "permissive") == 0)
        *out = EMBER_CSV_PERMISSIVE;
    else if (strcasecmp(text, "dropmalformed") == 0)
        *out = EMBER_CSV_DROPMALFORMED;
    else if (strcasecmp(text, "failfast") == 0)
        *out = EMBER_CSV_FAILFAST;
    else
        return false;
    return true;
}

/* One byte, or a name for a byte that is awkward to type in a shell: "tab" and the two
 * characters backslash-t. */
static bool parse_char(const char *option, const char *text, char *out) {
    if (strcmp(text, "tab") == 0 || strcmp(text, "\\t") == 0)
        *out = '\t';
    else if (strlen(text) == 1)
        *out = text[0];
    else {
        cli_error("--%s must be one character (or \"tab\"), got '%s'", option, text);
        return false;
    }
    if (*out == '\n' || *out == '\r') {
        cli_error("--%s cannot be a line break", option);
        return false;
    }
    return true;
}

/* Handles one option's value; false after printing the usage error. */
static bool apply_option(int id, const char *value, cli_options *out) {
    switch (id) {
    case OPT_FORMAT:
        if (!cli_format_parse(value, &out->format)) {
            cli_error("--format must be csv or table, got '%s'", value);
            return false;
        }
        return true;
    case OPT_HELP:
        out->help = true;
        return true;
    case OPT_DEVICE:
        out->device = value;
        return true;
    case OPT_VERBOSE:
        out->verbose = true;
        return true;
    case OPT_PARTITIONS:
        if (!parse_positive_int(value, &out->partitions)) {
            cli_error("--partitions must be a positive integer, got '%s'", value);
            return false;
        }
        return true;
    case OPT_MODE:
        if (!parse_mode(value, &out->mode)) {
            cli_error("--mode must be permissive, dropmalformed or failfast, got '%s'", value);
            return false;
        }
        out->mode_set = true;
        return true;
    case OPT_SCHEMA:
        out->schema = value;
        return true;
    case OPT_DELIMITER:
        out->delimiter_set = true;
        return parse_char("delimiter", value, &out->delimiter);
    case OPT_QUOTE:
        out->quote_set = true;
        return parse_char("quote", value, &out->quote);
    case OPT_NO_HEADER:
        out->no_header = true;
        return true;
    case OPT_NULL_VALUE:
        out->null_value = value;
        return true;
    case OPT_BY:
        /* "--by a --by b" could mean either key list or both: refuse rather than guess. */
        if (out->by) {
            cli_error("--by given twice; list every key in one --by, comma-separated");
            return false;
        }
        out->by = value;
        return true;
    case OPT_AGG:
        if (out->aggregate_count == CLI_MAX_AGGREGATES) {
            cli_error("too many --agg options (at most %d)", CLI_MAX_AGGREGATES);
            return false;
        }
        out->aggregates[out->aggregate_count++] = value;
        return true;
    case OPT_SORT:
        out->sort = true;
        return true;
    case OPT_WHERE:
        return set_once("--where", value, &out->where);
    case OPT_SLICES:
        if (!parse_positive_int(value, &out->slices)) {
            cli_error("--slices must be a positive integer, got '%s'", value);
            return false;
        }
        return true;
    case OPT_MAP:
        return set_once("--map", value, &out->map);
    case OPT_SUM:
        out->sum = true;
        return true;
    case OPT_EXPR:
        return set_once("--expr", value, &out->expr);
    case OPT_AS:
        return set_once("--as", value, &out->as);
    case OPT_SELECT:
        return set_once("--select", value, &out->select);
    case OPT_OUTPUT:
        return set_once("--output", value, &out->output);
    default:
        cli_error("internal error: unhandled option %d", id);
        return false;
    }
}

static bool add_positional(const char *command, const char *arg, cli_options *out) {
    if (out->positional_count == CLI_MAX_POSITIONALS) {
        cli_error("too many arguments (see 'ember %s --help')", command);
        return false;
    }
    out->positionals[out->positional_count++] = arg;
    return true;
}

/* The quote and delimiter must differ; checked here so the problem is a usage error with the
 * option names in it, not a status from the library. */
static bool check_csv_chars(const cli_options *options) {
    char delimiter = options->delimiter_set ? options->delimiter : ',';
    char quote = options->quote_set ? options->quote : '"';
    if (delimiter == quote) {
        cli_error("--delimiter and --quote must differ (both are '%c')", delimiter);
        return false;
    }
    return true;
}

bool cli_options_parse(int argc, char **argv, unsigned groups, cli_options *out) {
    memset(out, 0, sizeof *out);
    const char *command = argv[0];

    struct option long_options[OPTION_SPEC_COUNT + 1];
    size_t n = 0;
    for (size_t i = 0; i < OPTION_SPEC_COUNT; i++) {
        if (OPTION_SPECS[i].group & groups)
            long_options[n++] = (struct option){OPTION_SPECS[i].name, OPTION_SPECS[i].has_arg, NULL,
                                                OPTION_SPECS[i].id};
    }
    long_options[n] = (struct option){NULL, 0, NULL, 0};

    /* "-" hands back each non-option in order (code 1), so options may follow FILE even with
     * POSIXLY_CORRECT set; ":" reports a missing value as ':' instead of printing. */
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "-:h", long_options, NULL)) != -1) {
        bool ok;
        if (c == 1)
            ok = add_positional(command, optarg, out);
        else if (c == 'h')
            ok = apply_option(OPT_HELP, NULL, out);
        else if (c == ':') {
            cli_error("option '%s' needs a value (see 'ember %s --help')", argv[optind - 1],
                      command);
            ok = false;
        } else if (c == '?') {
            /* optopt: a short option's char, a long option's id when it was given a value
             * it does not take, or 0 for an unknown long option. */
            if (optopt > 0 && optopt < OPT_FORMAT)
                cli_error("unknown option '-%c' (see 'ember %s --help')", optopt, command);
            else if (optopt >= OPT_FORMAT)
                cli_error("option '%s' takes no value (see 'ember %s --help')", argv[optind - 1],
                          command);
            else
                cli_error("unknown option '%s' (see 'ember %s --help')", argv[optind - 1], command);
            ok = false;
        } else
            ok = apply_option(c, optarg, out);
        if (!ok)
            return false;
    }
    /* Everything after "--" is an argument, even if it starts with a dash. */
    for (int i = optind; i < argc; i++) {
        if (!add_positional(command, argv[i], out))
            return false;
    }
    out->format = cli_format_resolve(out->format);
    if (out->help)
        return true;
    return check_csv_chars(out);
}

bool cli_options_expect_positionals(const cli_options *options, const char *command,
                                    size_t expected, const char *missing_name) {
    if (options->positional_count < expected) {
        cli_error("missing %s (see 'ember %s --help')", missing_name, command);
        return false;
    }
    if (options->positional_count > expected) {
        cli_error("too many arguments: unexpected '%s' (see 'ember %s --help')",
                  options->positionals[expected], command);
        return false;
    }
    return true;
}

/* Sets delimiter and quote so that no intermediate state has the two equal (the library
 * refuses that), whatever the old and new values: first park the delimiter on a byte neither
 * value uses. */
static ember_status set_csv_chars(const cli_options *options, ember_csv_options *csv) {
    ember_status status = EMBER_OK;
    if (options->delimiter_set && options->quote_set) {
        char parked = '\x1f';
        while (parked == options->delimiter || parked == options->quote)
            parked--;
        status = ember_csv_options_set_delimiter(csv, parked);
    }
    if (status == EMBER_OK && options->quote_set)
        status = ember_csv_options_set_quote(csv, options->quote);
    if (status == EMBER_OK && options->delimiter_set)
        status = ember_csv_options_set_delimiter(csv, options->delimiter);
    return status;
}

/* Prints the failed setter's status under the option's name; false on failure. */
static bool csv_step(ember_status status, const char *option) {
    if (status == EMBER_OK)
        return true;
    cli_error("%s: %s", option, ember_status_str(status));
    return false;
}

bool cli_options_apply_csv(const cli_options *options, ember_csv_options *csv) {
    if (!csv_step(ember_csv_options_set_header(csv, !options->no_header), "--no-header"))
        return false;
    if (!csv_step(set_csv_chars(options, csv), "--delimiter/--quote"))
        return false;
    if (options->null_value &&
        !csv_step(ember_csv_options_set_null_value(csv, options->null_value), "--null-value"))
        return false;
    if (options->schema &&
        !csv_step(ember_csv_options_set_schema(csv, options->schema), "--schema"))
        return false;
    if (options->mode_set && !csv_step(ember_csv_options_set_mode(csv, options->mode), "--mode"))
        return false;
    if (options->partitions &&
        !csv_step(ember_csv_options_set_partitions(csv, options->partitions), "--partitions"))
        return false;
    return true;
}
