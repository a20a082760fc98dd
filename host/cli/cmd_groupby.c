/* cmd_groupby.c: `ember groupby FILE --by KEYS [--agg AGG]... [--sort]`, Spark's
 * df.groupBy(keys).agg(...) from the shell: read, group on the device, collect, print. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job.h"
#include "options.h"
#include "output.h"

/* The --by text split at its commas into at most EMBER_GROUP_BY_MAX_KEYS names, NULL-terminated
 * as ember_group_by takes them; the names point into text. */
typedef struct key_list {
    char *text;
    size_t count;
    const char *names[EMBER_GROUP_BY_MAX_KEYS + 1];
} key_list;

/* Splits by into keys. A wrong key list is a usage error (printed here), found before any
 * device is started; whether the names exist is the library's to say. */
static int split_keys(const char *by, key_list *keys) {
    size_t len = strlen(by);
    keys->text = malloc(len + 1);
    if (!keys->text) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    memcpy(keys->text, by, len + 1);
    char *name = keys->text;
    for (;;) {
        char *comma = strchr(name, ',');
        if (comma)
            *comma = '\0';
        if (!*name) {
            cli_error("--by '%s' has an empty column name (see 'ember groupby --help')", by);
            return CLI_EXIT_USAGE;
        }
        if (keys->count == EMBER_GROUP_BY_MAX_KEYS) {
            cli_error("--by '%s' has more than %d key columns", by, EMBER_GROUP_BY_MAX_KEYS);
            return CLI_EXIT_USAGE;
        }
        keys->names[keys->count++] = name;
        if (!comma)
            break;
        name = comma + 1;
    }
    keys->names[keys->count] = NULL;
    return CLI_EXIT_OK;
}

/* read_csv -> group_by -> collect -> (sort) -> print; every path releases what was acquired,
 * in the reverse order. */
static int run_groupby(const cli_options *options, const char *path, const key_list *keys) {
    cli_job job;
    ember_frame *frame = NULL;
    ember_frame *grouped = NULL;
    ember_table *table = NULL;
    /* NULL-terminated copy of the --agg values; none means the library's default, count. */
    const char *aggregates[CLI_MAX_AGGREGATES + 1];
    for (size_t i = 0; i < options->aggregate_count; i++)
        aggregates[i] = options->aggregates[i];
    aggregates[options->aggregate_count] = NULL;

    int code = cli_job_open(options, &job);
    if (code != CLI_EXIT_OK)
        goto done;
    code = CLI_EXIT_RUNTIME;
    if (cli_job_read(&job, options, path, &frame) != EMBER_OK ||
        ember_group_by(frame, keys->names, aggregates, &grouped) != EMBER_OK ||
        ember_collect(grouped, &table) != EMBER_OK) {
        cli_error("%s", ember_session_error(job.session));
        goto done;
    }
    if (options->sort) {
        ember_status status = ember_table_sort(table, keys->count);
        if (status != EMBER_OK) {
            cli_error("sorting the groups: %s", ember_status_str(status));
            goto done;
        }
    }
    if (!cli_print_table(table, options->format))
        goto done;
    cli_print_summary(job.session, options->verbose);
    code = CLI_EXIT_OK;

done:
    ember_table_free(table);
    ember_frame_free(grouped);
    ember_frame_free(frame);
    cli_job_close(&job);
    return code;
}

int cmd_groupby(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv,
                           CLI_GROUP_BASIC | CLI_GROUP_JOB | CLI_GROUP_CSV | CLI_GROUP_WHERE |
                               CLI_GROUP_GROUPBY,
                           &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_groupby(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (!cli_options_expect_positionals(&options, "groupby", 1, "FILE"))
        return CLI_EXIT_USAGE;
    if (!options.by) {
        cli_error("missing --by KEYS (see 'ember groupby --help')");
        return CLI_EXIT_USAGE;
    }
    key_list keys = {0};
    int code = split_keys(options.by, &keys);
    if (code == CLI_EXIT_OK)
        code = run_groupby(&options, options.positionals[0], &keys);
    free(keys.text);
    return code;
}
