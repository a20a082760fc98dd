/* session_internal.h: what a session owns (devices, queues, program cache, thread pool, the
 * last job's metrics, the last error) and how the other layers report errors to it. */
#ifndef EMBER_SESSION_SESSION_INTERNAL_H
#define EMBER_SESSION_SESSION_INTERNAL_H

#include <stdatomic.h>

#include "common/error.h"
#include "device/device.h"
#include "device/program.h"
#include "ember.h"
#include "exec/thread_pool.h"

struct ember_session_options {
    char *device;    /* NULL: $EMBER_DEVICE, else the default */
    int threads;     /* 0: one per core */
    char *cache_dir; /* NULL: the default rules */
};

struct ember_session {
    ember_error error;
    ember_worker *workers;
    int worker_count;
    atomic_int *worker_load; /* tasks in flight per worker, for least-loaded placement */
    char **worker_names;
    ember_thread_pool *pool;
    int threads;
    ember_program_cache *programs;
    struct ember_job *last_job;
    /* Test hook: pipelines run on the host evaluator instead of their fused kernels. */
    bool pipelines_on_host;
};

/* Copies an error record onto the session; returns its status. */
ember_status ember_session_take_error(ember_session *session, const ember_error *error);
/* Sets a printf-style message; returns status. */
ember_status ember_session_fail(ember_session *session, ember_status status, const char *format,
                                ...) __attribute__((format(printf, 3, 4)));
void ember_session_clear_error(ember_session *session);

/* The worker with the fewest tasks in flight; the caller releases it with
 * ember_session_release_worker. */
int ember_session_acquire_worker(ember_session *session);
void ember_session_release_worker(ember_session *session, int worker);

/* Replaces the session's last job (takes ownership). */
void ember_session_set_last_job(ember_session *session, struct ember_job *job);

#endif
