/* job.h: a job is what one action runs: stages of tasks, one task per partition. This records
 * what each stage did (tasks, rows, bytes, wall time) for the Jobs-UI style metrics. */
#ifndef EMBER_EXEC_JOB_H
#define EMBER_EXEC_JOB_H

#include <stdint.h>

#include "ember.h"

#define EMBER_JOB_MAX_STAGES 16

typedef struct ember_stage_record {
    char name[32];
    int64_t tasks, rows, bytes;
    double seconds;
} ember_stage_record;

struct ember_job {
    int64_t metrics[EMBER_JOB_TASKS + 1];
    ember_stage_record stages[EMBER_JOB_MAX_STAGES];
    int stage_count;
    double started, seconds;
    char device[1024];
};

/* A new job for session (NULL when out of memory); its device text names the session's
 * workers. */
struct ember_job *ember_job_create(const ember_session *session);
void ember_job_free(struct ember_job *job);
/* Opens a stage; returns its record (NULL past EMBER_JOB_MAX_STAGES). */
ember_stage_record *ember_job_stage_add(struct ember_job *job, const char *name);
/* Sets the job's wall time from its start and totals its stages and tasks. */
void ember_job_finish(struct ember_job *job);
/* Monotonic clock in seconds. */
double ember_now(void);

#endif
