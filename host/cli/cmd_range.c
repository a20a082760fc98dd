/* cmd_range.c: `ember range START END [--slices N] [--map EXPR] [--where EXPR] [--sum]`, Spark's
 * sc.parallelize(range(START, END), N).map(...) from the shell: the values are generated and
 * mapped on the device; --sum reduces them there too, so nothing but the sum reaches the host. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "job.h"
#include "options.h"
#include "output.h"

static bool parse_int64(const char *text, const char *what, int64_t *out) {
    errno = 0;
    char *end;
    long long value = strtoll(text, &end, 10);
    if (errno || end == text || *end) {
        cli_error("%s must be an integer (int64), got '%s'", what, text);
        return false;
    }
    *out = value;
    return true;
}

/* range -> (map) -> (filter) -> collect or sum -> print. */
static int run_range(const cli_options *options, int64_t start, int64_t end) {
    cli_job job;
    ember_frame *frames[4] = {NULL};
    ember_table *table = NULL;
    int code = cli_job_open(options, &job);
    if (code != CLI_EXIT_OK)
        goto done;
    code = CLI_EXIT_RUNTIME;
    static const char *const sum[] = {"sum:value as sum", NULL};
    /* Spark's default parallelism: one slice per core. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int slices = options->slices ? options->slices : (int)(cores > 0 ? cores : 1);
    ember_frame **top = &frames[0];
    bool ok = ember_range(job.session, start, end, slices, &frames[0]) == EMBER_OK;
    if (ok && options->map) {
        ok = ember_map(*top, options->map, &frames[1]) == EMBER_OK;
        top = &frames[1];
    }
    if (ok && options->where) {
        ok = ember_filter(*top, options->where, &frames[2]) == EMBER_OK;
        top = &frames[2];
    }
    if (ok && options->sum) {
        ok = ember_group_by(*top, NULL, sum, &frames[3]) == EMBER_OK;
        top = &frames[3];
    }
    if (!ok || ember_collect(*top, &table) != EMBER_OK) {
        cli_error("%s", ember_session_error(job.session));
        goto done;
    }
    if (!cli_print_table(table, options->format))
        goto done;
    cli_print_summary(job.session, options->verbose);
    code = CLI_EXIT_OK;
done:
    ember_table_free(table);
    for (int i = 3; i >= 0; i--)
        ember_frame_free(frames[i]);
    cli_job_close(&job);
    return code;
}

int cmd_range(int argc, char **argv) {
    cli_options options;
    if (!cli_options_parse(argc, argv,
                           CLI_GROUP_BASIC | CLI_GROUP_JOB | CLI_GROUP_RANGE | CLI_GROUP_WHERE,
                           &options))
        return CLI_EXIT_USAGE;
    if (options.help) {
        usage_range(stdout);
        return cli_flush_stdout() ? CLI_EXIT_OK : CLI_EXIT_RUNTIME;
    }
    if (options.positional_count < 2) {
        cli_error("missing %s (see 'ember range --help')",
                  options.positional_count ? "END" : "START and END");
        return CLI_EXIT_USAGE;
    }
    if (!cli_options_expect_positionals(&options, "range", 2, "END"))
        return CLI_EXIT_USAGE;
    int64_t start, end;
    if (!parse_int64(options.positionals[0], "START", &start) ||
        !parse_int64(options.positionals[1], "END", &end))
        return CLI_EXIT_USAGE;
    return run_range(&options, start, end);
}
