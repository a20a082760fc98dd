/* bench.h: the pieces of ember-bench (the query suite of docs/benchmarks.md) shared between its
 * files: the query table, one trial's measurement, child processes, machine limits, output. */
#ifndef EMBER_BENCH_H
#define EMBER_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ember.h"

/* Where the time of one in-process trial went, as the library's job metrics report it.
 * The scan stage fuses parsing, upload and the operator's kernels (one task per partition
 * parses and then launches its kernels), so those three are not separable from the public
 * API: they are reported together as "scan" and the split-out fields stay unknown (< 0). */
typedef struct bench_phases {
    double split;    /* ember_read_csv: open, header, schema inference, record-aligned split */
    double scan;     /* "scan" stages: parse + upload + kernels, fused */
    double cache;    /* "cache" stages: operator kernels over device-resident partitions */
    double merge;    /* "merge" stage: partials merged on the device, groups gathered to host */
    double count;    /* "count" stage: partial counts summed on the host */
    double other;    /* the trial's wall time minus all of the above (planning, job set-up) */
    int scan_stages; /* more than one when a widened column made the scan run again */
} bench_phases;

/* One in-process trial. */
typedef struct bench_result {
    double seconds;      /* read_csv to result, session open excluded */
    int64_t rows;        /* rows the scan or cache stage processed */
    int64_t bytes;       /* file bytes parsed (0 when served from the cache) */
    int64_t result_rows; /* the count, or the number of groups */
    bool valid;          /* group counts add up to the rows read (count queries: always) */
    char device[160];
    bench_phases phases;
    /* Q6 only: seconds to read and cache the file, and the cached runs behind the median. */
    double load_seconds;
    int run_count;
    double runs[16];
} bench_result;

typedef enum bench_input { BENCH_UNIFORM, BENCH_ZIPF, BENCH_NO_FILE } bench_input;

struct bench_query;
typedef bool (*bench_query_fn)(ember_session *session, const struct bench_query *query,
                               const char *path, bench_result *out);

/* A query of the suite. run is NULL for a query this build cannot express (reason says why);
 * cli_args is NULL when the `ember` command has no equivalent. */
typedef struct bench_query {
    const char *name;
    const char *description;
    bench_input input;
    bench_query_fn run;
    const char *const *keys;       /* group-by keys, NULL for count */
    const char *const *aggregates; /* NULL for the default count */
    const char *const *cli_args;   /* after "ember", before options; FILE stands for the path */
    const char *reason;
} bench_query;

extern const bench_query bench_queries[];
extern const size_t bench_query_count;

/* The query of that name (case-insensitive), or NULL. */
const bench_query *bench_query_find(const char *name);

/* Monotonic wall clock in seconds. */
double bench_now(void);
/* Median of values[0..count) (sorts them in place); 0 when count is 0. */
double bench_median(double *values, size_t count);

/* Runs argv (argv[0] is a path) as a child process with stdout captured into capture (at most
 * capacity - 1 bytes, NUL-terminated) or thrown away when capture is NULL; stderr is inherited.
 * Returns the wall seconds from fork to exit, or -1 when it could not start or did not exit 0. */
double bench_process_run(char *const argv[], char *capture, size_t capacity);
/* Path of a program next to this executable (into out); false when it is not there. */
bool bench_sibling_path(const char *name, char *out, size_t capacity);

/* Physical limits: seconds to read path from the page cache with read() in 1 MiB chunks (the
 * file is read once beforehand so it is cached); bytes per second of summing a buffer bigger
 * than the last-level cache with `threads` threads, and of memcpy on one thread. Negative on
 * error. */
double bench_pagecache_read(const char *path, int64_t *bytes);
double bench_memory_read_rate(int threads);
double bench_memcpy_rate(void);

/* JSON output, one object per line: a string value with the escapes JSON needs; an in-process
 * trial; a query this build skips; a child-process trial (mode "cli" or "baseline";
 * inner_seconds < 0 when the child reports no in-process time); a machine limit. */
void bench_json_string(FILE *out, const char *text);
void bench_report_trial(FILE *out, const bench_query *query, const char *path, int trial,
                        const bench_result *result);
void bench_report_skipped(FILE *out, const bench_query *query, const char *reason);
void bench_report_process(FILE *out, const bench_query *query, const char *mode, const char *path,
                          int trial, const char *command, double seconds, double inner_seconds);
void bench_report_limit(FILE *out, const char *name, const char *what, int64_t bytes,
                        double seconds, double rate);

/* The human table: medians over the trials (a figure < 0 prints as "-"). */
typedef struct bench_table_figures {
    double seconds, cli_seconds;
    bench_phases phases;
    int64_t rows, result_rows;
    bool valid;
} bench_table_figures;

void bench_table_header(FILE *out, const char *device, int trials);
void bench_table_row(FILE *out, const bench_query *query, const bench_table_figures *figures);
/* A free-form row: an id, what it is, and the figures as text. */
void bench_table_note(FILE *out, const char *id, const char *what, const char *text);

#endif /* EMBER_BENCH_H */
