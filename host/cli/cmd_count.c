/* cmd_count.c: `ember count FILE`, the rows of a CSV file counted on a device; the smallest
 * whole job (read, partition, upload, count kernel), so also the quickest check that a
 * machine's OpenCL works. */
#include <inttypes.h>

#include "cli.h"
#include "job.h"
#include "options.h"
#include "output.h"

static const char *const COUNT_NAMES[] = {"count"};
static const bool COUNT_NUMERIC[] = {true};

static void print_count(int64_t count, cli_format format) {
    char text[24];
    snprintf(text, sizeof text, "%" PRId64, count);
    const char *cells[] = {text};
    cli_table table;
    cli_table_init(&table, 1, COUNT_NAMES, COUNT_NUMERIC);
    if (cli_table_add_row(&table, cells))
        cli_table_print(&table, format, stdout);
    else
        printf("count\n%s\n", text); /* out of memory for one cell: the plain form still works */
    cli_table_free(&table);
}

/* Settles the CSV options, opens the session, reads and counts; every path releases what was
 * acquired, in the reverse order. */
static int run_count(const cli_options *options, const char *path) {
    cli_job job;
    ember_frame *frame = NULL;
    int64_t count = 0;
    int code = cli_job_open(options, &job);
    if (code != CLI_EXIT_OK)
        goto done;
    code = CLI_EXIT_RUNTIME;
    if (cli_job_read(&job, options, path, &frame) != EMBER_OK ||
        ember_count(frame, &count) != EMBER_OK) {
        cli_error("%s", ember_session_error(job.session));
        goto done;
    }
    print_count(count, options->format);
    if (!cli_flush_stdout())
        goto done;
    cli_print_summary(job.session, options->verbose);
    code = CLI_EXIT_OK;

done:
    ember_frame_free(frame);
    cli_job_close(&job);
    return code;
}

int cmd_count(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv,
                           CLI_GROUP_BASIC | CLI_GROUP_JOB | CLI_GROUP_CSV | CLI_GROUP_WHERE,
                           &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_count(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (!cli_options_expect_positionals(&options, "count", 1, "FILE"))
        return CLI_EXIT_USAGE;
    return run_count(&options, options.positionals[0]);
}
