/* cmd_map.c: `ember map FILE --expr EXPR [--as NAME] [--select COLS] [--where EXPR] [--output
 * PATH]`, Spark's df.withColumn(NAME, EXPR).select(COLS..., NAME) from the shell: the expression
 * is compiled into the scan's kernel; rows come out in file order. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "job.h"
#include "options.h"
#include "output.h"

/* The output columns: --select's names (default: every input column but NAME), then NAME. */
static const char **output_columns(const cli_options *options, ember_frame *input, const char *name,
                                   char **text) {
    size_t count = ember_frame_column_count(input) + 2;
    *text = NULL;
    if (options->select) {
        *text = malloc(strlen(options->select) + 1);
        if (!*text)
            return NULL;
        strcpy(*text, options->select);
        count = 2;
        for (const char *p = options->select; *p; p++)
            count += *p == ',';
    }
    const char **names = calloc(count + 1, sizeof *names);
    if (!names)
        return NULL;
    size_t n = 0;
    if (*text) {
        for (char *part = *text;;) {
            char *comma = strchr(part, ',');
            if (comma)
                *comma = '\0';
            if (strcmp(part, name) != 0)
                names[n++] = part;
            if (!comma)
                break;
            part = comma + 1;
        }
    } else {
        for (size_t c = 0; c < ember_frame_column_count(input); c++)
            if (strcmp(ember_frame_column_name(input, c), name) != 0)
                names[n++] = ember_frame_column_name(input, c);
    }
    names[n] = name;
    return names;
}

static int run_map(const cli_options *options, const char *path) {
    cli_job job;
    ember_frame *input = NULL, *computed = NULL, *selected = NULL;
    ember_table *table = NULL;
    const char **names = NULL;
    char *text = NULL;
    const char *name = options->as ? options->as : "value";
    int code = cli_job_open(options, &job);
    if (code != CLI_EXIT_OK)
        goto done;
    code = CLI_EXIT_RUNTIME;
    if (cli_job_read(&job, options, path, &input) != EMBER_OK ||
        ember_with_column(input, name, options->expr, &computed) != EMBER_OK) {
        cli_error("%s", ember_session_error(job.session));
        goto done;
    }
    if (!(names = output_columns(options, input, name, &text))) {
        cli_error("out of memory");
        goto done;
    }
    if (ember_select(computed, names, &selected) != EMBER_OK) {
        cli_error("%s", ember_session_error(job.session));
        goto done;
    }
    if (options->output) {
        if (ember_write_csv(selected, options->output) != EMBER_OK) {
            cli_error("%s", ember_session_error(job.session));
            goto done;
        }
    } else {
        if (ember_collect(selected, &table) != EMBER_OK) {
            cli_error("%s", ember_session_error(job.session));
            goto done;
        }
        if (!cli_print_table(table, options->format))
            goto done;
    }
    cli_print_summary(job.session, options->verbose);
    code = CLI_EXIT_OK;
done:
    ember_table_free(table);
    free(names);
    free(text);
    ember_frame_free(selected);
    ember_frame_free(computed);
    ember_frame_free(input);
    cli_job_close(&job);
    return code;
}

int cmd_map(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv,
                           CLI_GROUP_BASIC | CLI_GROUP_JOB | CLI_GROUP_CSV | CLI_GROUP_WHERE |
                               CLI_GROUP_MAP,
                           &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_map(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (!cli_options_expect_positionals(&options, "map", 1, "FILE"))
        return CLI_EXIT_USAGE;
    if (!options.expr) {
        cli_error("--expr is required (see 'ember map --help')");
        return CLI_EXIT_USAGE;
    }
    if (options.as && !*options.as) {
        cli_error("--as needs a column name");
        return CLI_EXIT_USAGE;
    }
    return run_map(&options, options.positionals[0]);
}
