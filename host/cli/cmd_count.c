/* cmd_count.c: `ember count FILE`, the rows of a CSV file counted on a device; the smallest
 * whole job (read, partition, upload, count kernel), so also the quickest check that a
 * machine's OpenCL works. */
#include <inttypes.h>

#include "cli.h"
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

/* Settles the CSV options, opens the session, reads and counts; every error path releases what was
 * acquired, in the reverse order. */
static int run_count(const cli_options *options, const char *path) {
    int code = CLI_EXIT_RUNTIME;
    ember_session_options *session_options = NULL;
    ember_session *session = NULL;
    ember_csv_options *csv = NULL;
    ember_frame *frame = NULL;
    ember_status status;
    int64_t count = 0;

    /* CSV options first: a usage problem they reveal needs no device started. */
    csv = ember_csv_options_create();
    if (!csv) {
        cli_error("out of memory");
        goto done;
    }
    if (!cli_options_apply_csv(options, csv)) {
        code = CLI_EXIT_USAGE;
        goto done;
    }
    session_options = ember_session_options_create();
    if (!session_options) {
        cli_error("out of memory");
        goto done;
    }
    if (options->device) {
        status = ember_session_options_set_device(session_options, options->device);
        if (status != EMBER_OK) {
            cli_error("--device '%s': %s", options->device, ember_status_str(status));
            goto done;
        }
    }
    status = ember_session_open(&session, session_options);
    if (status != EMBER_OK) {
        cli_error("%s", ember_session_error(session));
        goto done;
    }

    if (ember_read_csv(session, path, csv, &frame) != EMBER_OK ||
        ember_count(frame, &count) != EMBER_OK) {
        cli_error("%s", ember_session_error(session));
        goto done;
    }
    print_count(count, options->format);
    if (!cli_flush_stdout())
        goto done;
    cli_print_summary(session, options->verbose);
    code = CLI_EXIT_OK;

done:
    ember_frame_free(frame);
    ember_csv_options_free(csv);
    ember_session_close(session);
    ember_session_options_free(session_options);
    return code;
}

int cmd_count(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv, CLI_GROUP_BASIC | CLI_GROUP_JOB | CLI_GROUP_CSV, &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_count(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (!cli_options_expect_positionals(&options, "count", 1, "FILE"))
        return CLI_EXIT_USAGE;
    return run_count(&options, options.positionals[0]);
}
