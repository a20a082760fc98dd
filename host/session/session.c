/* session.c: opening and closing a session (devices, queues, program cache, thread pool) and
 * the session's last-error message. */
#include "session/session_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/alloc.h"
#include "exec/job.h"

ember_status ember_session_take_error(ember_session *session, const ember_error *error) {
    if (session && error->status != EMBER_OK) {
        session->error.status = error->status;
        snprintf(session->error.message, sizeof session->error.message, "%s", error->message);
    }
    return error->status;
}

ember_status ember_session_fail(ember_session *session, ember_status status, const char *format,
                                ...) {
    if (!session)
        return status;
    session->error.status = status;
    va_list args;
    va_start(args, format);
    vsnprintf(session->error.message, sizeof session->error.message, format, args);
    va_end(args);
    return status;
}

void ember_session_clear_error(ember_session *session) {
    if (session)
        ember_error_clear(&session->error);
}

const char *ember_session_error(const ember_session *session) {
    if (!session)
        return "out of memory";
    return session->error.message;
}

static int online_cores(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

/* Gives each worker a printable name: "platform / device (type)". */
static ember_status name_workers(ember_session *session) {
    session->worker_names = ember_calloc((size_t)session->worker_count, sizeof(char *));
    if (!session->worker_names)
        return EMBER_ERROR_OUT_OF_MEMORY;
    for (int i = 0; i < session->worker_count; i++) {
        const ember_device_info *info = &session->workers[i].info;
        char name[640];
        snprintf(name, sizeof name, "%s / %s (%s)", info->platform_name, info->name,
                 info->type_name);
        if (!(session->worker_names[i] = ember_strdup(name)))
            return EMBER_ERROR_OUT_OF_MEMORY;
    }
    return EMBER_OK;
}

ember_status ember_session_open(ember_session **out, const ember_session_options *options) {
    if (!out)
        return EMBER_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    ember_session *session = ember_calloc(1, sizeof *session);
    if (!session)
        return EMBER_ERROR_OUT_OF_MEMORY;
    *out = session;

    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_workers_open(options ? options->device : NULL, &session->workers,
                                             &session->worker_count, &err);
    if (status != EMBER_OK)
        return ember_session_take_error(session, &err);
    session->worker_load = ember_calloc((size_t)session->worker_count, sizeof(atomic_int));
    if (!session->worker_load || name_workers(session) != EMBER_OK)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY,
                                  "out of memory opening a session");

    session->threads = options && options->threads > 0 ? options->threads : online_cores();
    session->pool = ember_thread_pool_create(session->threads);
    if (!session->pool)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY,
                                  "cannot start %d host threads", session->threads);

    char dir_buf[4096];
    const char *dir = options ? options->cache_dir : NULL;
    if (dir && strcasecmp(dir, "off") == 0)
        dir = NULL;
    else if (!dir)
        dir = ember_program_cache_default_dir(dir_buf, sizeof dir_buf);
    session->programs = ember_program_cache_create(dir);
    if (!session->programs)
        return ember_session_fail(session, EMBER_ERROR_OUT_OF_MEMORY,
                                  "out of memory for the program cache");
    return EMBER_OK;
}

void ember_session_close(ember_session *session) {
    if (!session)
        return;
    ember_job_free(session->last_job);
    ember_program_cache_free(session->programs);
    ember_thread_pool_free(session->pool);
    if (session->worker_names)
        for (int i = 0; i < session->worker_count; i++)
            ember_free(session->worker_names[i]);
    ember_free(session->worker_names);
    ember_free(session->worker_load);
    ember_workers_close(session->workers, session->worker_count);
    ember_free(session);
    ember_alloc_release();
}

size_t ember_session_device_count(const ember_session *session) {
    return session && session->pool ? (size_t)session->worker_count : 0;
}

const char *ember_session_device_name(const ember_session *session, size_t i) {
    if (!session || !session->worker_names || i >= (size_t)session->worker_count)
        return NULL;
    return session->worker_names[i];
}

int ember_session_threads(const ember_session *session) {
    return session ? session->threads : 0;
}

int ember_session_acquire_worker(ember_session *session) {
    int best = 0;
    for (int i = 1; i < session->worker_count; i++)
        if (atomic_load(&session->worker_load[i]) < atomic_load(&session->worker_load[best]))
            best = i;
    atomic_fetch_add(&session->worker_load[best], 1);
    return best;
}

void ember_session_release_worker(ember_session *session, int worker) {
    atomic_fetch_sub(&session->worker_load[worker], 1);
}

void ember_session_set_last_job(ember_session *session, struct ember_job *job) {
    ember_job_free(session->last_job);
    session->last_job = job;
}

const ember_job *ember_session_last_job(const ember_session *session) {
    return session ? session->last_job : NULL;
}
