/* job.c: job and stage metrics and their public accessors. */
#include "exec/job.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"

double ember_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct ember_job *ember_job_create(const ember_session *session) {
    struct ember_job *job = ember_calloc(1, sizeof *job);
    if (!job)
        return NULL;
    job->started = ember_now();
    size_t used = 0;
    for (size_t i = 0; i < ember_session_device_count(session); i++) {
        int n = snprintf(job->device + used, sizeof job->device - used, "%s%s", i ? ", " : "",
                         ember_session_device_name(session, i));
        if (n < 0 || (size_t)n >= sizeof job->device - used)
            break;
        used += (size_t)n;
    }
    return job;
}

void ember_job_free(struct ember_job *job) {
    ember_free(job);
}

ember_stage_record *ember_job_stage_add(struct ember_job *job, const char *name) {
    if (job->stage_count >= EMBER_JOB_MAX_STAGES)
        return NULL;
    ember_stage_record *stage = &job->stages[job->stage_count++];
    memset(stage, 0, sizeof *stage);
    snprintf(stage->name, sizeof stage->name, "%s", name);
    return stage;
}

void ember_job_finish(struct ember_job *job) {
    job->seconds = ember_now() - job->started;
    job->metrics[EMBER_JOB_STAGES] = job->stage_count;
    job->metrics[EMBER_JOB_TASKS] = 0;
    for (int i = 0; i < job->stage_count; i++)
        job->metrics[EMBER_JOB_TASKS] += job->stages[i].tasks;
}

int64_t ember_job_metric_get(const ember_job *job, ember_job_metric metric) {
    if (!job || (int)metric < 0 || metric > EMBER_JOB_TASKS)
        return 0;
    return job->metrics[metric];
}

double ember_job_seconds(const ember_job *job) {
    return job ? job->seconds : 0.0;
}

const char *ember_job_device(const ember_job *job) {
    return job ? job->device : "";
}

const char *ember_job_stage_name(const ember_job *job, int stage) {
    if (!job || stage < 0 || stage >= job->stage_count)
        return NULL;
    return job->stages[stage].name;
}

int64_t ember_job_stage_metric(const ember_job *job, int stage, ember_stage_metric metric) {
    if (!job || stage < 0 || stage >= job->stage_count)
        return 0;
    switch (metric) {
    case EMBER_STAGE_TASKS:
        return job->stages[stage].tasks;
    case EMBER_STAGE_ROWS:
        return job->stages[stage].rows;
    case EMBER_STAGE_BYTES:
        return job->stages[stage].bytes;
    }
    return 0;
}

double ember_job_stage_seconds(const ember_job *job, int stage) {
    if (!job || stage < 0 || stage >= job->stage_count)
        return 0.0;
    return job->stages[stage].seconds;
}
