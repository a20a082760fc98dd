/* job.h: what every command that runs a job does before its action: the CSV options from the
 * command line, then a session on the chosen device. */
#ifndef EMBER_CLI_JOB_H
#define EMBER_CLI_JOB_H

#include "ember.h"
#include "options.h"

typedef struct cli_job {
    ember_csv_options *csv;
    ember_session_options *session_options;
    ember_session *session;
} cli_job;

/* Fills job (CSV options first, so a usage problem they reveal needs no device started) and
 * opens the session. Returns CLI_EXIT_OK, or the exit code after printing the one-line error.
 * Call cli_job_close afterwards in either case. */
int cli_job_open(const cli_options *options, cli_job *job);
/* Releases what cli_job_open acquired, in reverse order; frames of the session must be freed
 * first. */
void cli_job_close(cli_job *job);

/* Reads the CSV file at path with the job's CSV options, filtered by --where when it was given.
 * On failure the session holds the message. */
ember_status cli_job_read(const cli_job *job, const cli_options *options, const char *path,
                          ember_frame **out);

#endif
