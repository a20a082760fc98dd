/* groupby_bench.c: group-by throughput, end to end (CSV file to result) and on a frame already
 * cached on the device, through the public API. Prints one JSON object per trial and a
 * summary line. Usage: ember_groupby_bench FILE KEY [TRIALS] [--device D] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One group-by count over frame; returns seconds, or -1 on error. */
static double run_once(ember_session *session, ember_frame *frame, const char *key,
                       int64_t *groups) {
    const char *keys[] = {key, NULL};
    ember_frame *grouped = NULL;
    ember_table *table = NULL;
    double started = now();
    if (ember_group_by(frame, keys, NULL, &grouped) != EMBER_OK ||
        ember_collect(grouped, &table) != EMBER_OK) {
        fprintf(stderr, "groupby_bench: %s\n", ember_session_error(session));
        ember_frame_free(grouped);
        return -1;
    }
    double seconds = now() - started;
    *groups = ember_table_row_count(table);
    ember_table_free(table);
    ember_frame_free(grouped);
    return seconds;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FILE KEY [TRIALS] [--device D]\n", argv[0]);
        return 2;
    }
    const char *path = argv[1], *key = argv[2], *device = NULL;
    int trials = 5;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc)
            device = argv[++i];
        else
            trials = atoi(argv[i]);
    }
    if (trials < 1)
        trials = 1;
    ember_session_options *options = ember_session_options_create();
    if (device)
        ember_session_options_set_device(options, device);
    ember_session *session = NULL;
    if (ember_session_open(&session, options) != EMBER_OK) {
        fprintf(stderr, "groupby_bench: %s\n", ember_session_error(session));
        return 1;
    }
    double *end_to_end = calloc((size_t)trials, sizeof(double));
    double *cached = calloc((size_t)trials, sizeof(double));
    int64_t rows = 0, groups = 0;
    int code = 1;
    ember_frame *frame = NULL;
    /* Warm-up: builds (or loads from the disk cache) the programs. */
    if (ember_read_csv(session, path, NULL, &frame) != EMBER_OK ||
        run_once(session, frame, key, &groups) < 0)
        goto done;
    ember_frame_free(frame);
    frame = NULL;
    for (int t = 0; t < trials; t++) {
        double started = now();
        if (ember_read_csv(session, path, NULL, &frame) != EMBER_OK)
            goto done;
        double read = now() - started, seconds = run_once(session, frame, key, &groups);
        if (seconds < 0)
            goto done;
        end_to_end[t] = read + seconds;
        printf(
            "{\"query\":\"groupby_%s\",\"mode\":\"end_to_end\",\"device\":\"%s\",\"groups\":%lld,"
            "\"seconds\":%.6f}\n",
            key, ember_session_device_name(session, 0), (long long)groups, end_to_end[t]);
        ember_frame_free(frame);
        frame = NULL;
    }
    if (ember_read_csv(session, path, NULL, &frame) != EMBER_OK || ember_cache(frame) != EMBER_OK ||
        ember_count(frame, &rows) != EMBER_OK)
        goto done;
    for (int t = 0; t < trials; t++) {
        cached[t] = run_once(session, frame, key, &groups);
        if (cached[t] < 0)
            goto done;
        printf("{\"query\":\"groupby_%s\",\"mode\":\"cached\",\"device\":\"%s\",\"groups\":%lld,"
               "\"seconds\":%.6f}\n",
               key, ember_session_device_name(session, 0), (long long)groups, cached[t]);
    }
    qsort(end_to_end, (size_t)trials, sizeof(double), compare_doubles);
    qsort(cached, (size_t)trials, sizeof(double), compare_doubles);
    double e2e = end_to_end[trials / 2], dev = cached[trials / 2];
    printf("# %s by %s: %lld rows, %lld groups; end to end %.3f s (%.1f M rows/s); cached %.3f s "
           "(%.1f M rows/s); medians of %d\n",
           path, key, (long long)rows, (long long)groups, e2e, (double)rows / e2e / 1e6, dev,
           (double)rows / dev / 1e6, trials);
    code = 0;
done:
    if (code)
        fprintf(stderr, "groupby_bench: %s\n", ember_session_error(session));
    ember_frame_free(frame);
    free(end_to_end);
    free(cached);
    ember_session_close(session);
    ember_session_options_free(options);
    return code;
}
