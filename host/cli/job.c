/* job.c: the set-up shared by the job commands (see job.h). */
#include "job.h"

#include "cli.h"
#include "output.h"

int cli_job_open(const cli_options *options, cli_job *job) {
    *job = (cli_job){0};
    job->csv = ember_csv_options_create();
    if (!job->csv) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    if (!cli_options_apply_csv(options, job->csv))
        return CLI_EXIT_USAGE;
    job->session_options = ember_session_options_create();
    if (!job->session_options) {
        cli_error("out of memory");
        return CLI_EXIT_RUNTIME;
    }
    if (options->device) {
        ember_status status =
            ember_session_options_set_device(job->session_options, options->device);
        if (status != EMBER_OK) {
            cli_error("--device '%s': %s", options->device, ember_status_str(status));
            return CLI_EXIT_RUNTIME;
        }
    }
    if (ember_session_open(&job->session, job->session_options) != EMBER_OK) {
        cli_error("%s", ember_session_error(job->session));
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}

void cli_job_close(cli_job *job) {
    ember_session_close(job->session);
    ember_session_options_free(job->session_options);
    ember_csv_options_free(job->csv);
    *job = (cli_job){0};
}

ember_status cli_job_read(const cli_job *job, const cli_options *options, const char *path,
                          ember_frame **out) {
    *out = NULL;
    ember_frame *frame = NULL;
    ember_status status = ember_read_csv(job->session, path, job->csv, &frame);
    if (status != EMBER_OK || !options->where) {
        *out = frame;
        return status;
    }
    /* The filter holds its own reference to the file's frame. */
    status = ember_filter(frame, options->where, out);
    ember_frame_free(frame);
    return status;
}
