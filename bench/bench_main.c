/* bench_main.c: ember-bench, the query suite of docs/benchmarks.md: each query end to end from the
 * CSV file through the public API (warm-up, then N trials, one JSON object per trial, a table of
 * medians), the same queries as whole `ember` processes, the Q1 baseline and the machine's limits.
 * With --serve it runs one trial per query name read from stdin (bench/compare drives it). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MAX_QUERIES 16
#define MAX_ARGV    32
#define PATH_SIZE   4096

typedef struct bench_args {
    const char *file, *zipf, *device, *json_path;
    char cli[PATH_SIZE], baseline[PATH_SIZE]; /* "" when not run */
    int trials, warmup;
    bool selected[MAX_QUERIES];
    bool limits, serve;
} bench_args;

static void usage(FILE *to) {
    fputs("Usage: ember-bench [OPTIONS] FILE\n"
          "\n"
          "Runs the ember query suite on FILE (a CSV from ember_gen): each query end to end\n"
          "through the C API, then as an `ember` process; the Q1 baseline; the machine limits.\n"
          "Prints one JSON object per trial, then a table of medians.\n"
          "\n"
          "Options:\n"
          "  --zipf FILE       the Zipf-skewed file for Q1z (ember_gen --skew 1.1); else Q1z is "
          "skipped\n"
          "  --trials N        timed trials per query (default 5)\n"
          "  --warmup N        untimed runs per query first (default 1)\n"
          "  --device D        cpu, gpu, all or P:D, as everywhere in ember\n"
          "  --queries LIST    comma-separated subset, e.g. Q1,Q2,Q1z (default: all)\n"
          "  --cli PATH        the ember command to time (default: next to ember-bench); none\n"
          "  --baseline PATH   ember-baseline-q1 (default: next to ember-bench); none\n"
          "  --no-limits       skip the page-cache and memory-bandwidth measurements\n"
          "  --json PATH       write the JSON objects to PATH instead of standard output\n"
          "  --serve           read query names from stdin; run one trial each, print its JSON\n"
          "  --help            show this help\n"
          "\n"
          "Queries:\n",
          to);
    for (size_t i = 0; i < bench_query_count; i++)
        fprintf(to, "  %-4s %s%s\n", bench_queries[i].name, bench_queries[i].description,
                bench_queries[i].run ? "" : " (skipped: not supported by this build)");
}

static bool parse_count(const char *text, int minimum, int *out) {
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < minimum || v > 1000000)
        return false;
    *out = (int)v;
    return true;
}

static bool select_queries(const char *list, bool *selected) {
    memset(selected, 0, MAX_QUERIES * sizeof *selected);
    char *copy = strdup(list), *save = NULL;
    bool ok = copy != NULL;
    for (char *name = copy ? strtok_r(copy, ",", &save) : NULL; name;
         name = strtok_r(NULL, ",", &save)) {
        const bench_query *query = bench_query_find(name);
        if (!query) {
            fprintf(stderr, "ember-bench: unknown query '%s' (see --help)\n", name);
            ok = false;
            break;
        }
        selected[query - bench_queries] = true;
    }
    free(copy);
    return ok;
}

/* A helper program: the one given, "none", or the default next to this executable. */
static void helper_path(const char *given, const char *name, char *out) {
    out[0] = '\0';
    if (given && strcmp(given, "none") == 0)
        return;
    if (given)
        snprintf(out, PATH_SIZE, "%s", given);
    else if (!bench_sibling_path(name, out, PATH_SIZE))
        out[0] = '\0';
}

static int parse_args(int argc, char **argv, bench_args *args) {
    static const struct option options[] = {
        {"zipf", required_argument, NULL, 'z'},     {"trials", required_argument, NULL, 't'},
        {"warmup", required_argument, NULL, 'w'},   {"device", required_argument, NULL, 'd'},
        {"queries", required_argument, NULL, 'q'},  {"cli", required_argument, NULL, 'c'},
        {"baseline", required_argument, NULL, 'b'}, {"no-limits", no_argument, NULL, 'L'},
        {"json", required_argument, NULL, 'j'},     {"serve", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    const char *cli = NULL, *baseline = NULL;
    memset(args, 0, sizeof *args);
    args->trials = 5;
    args->warmup = 1;
    args->limits = true;
    for (size_t i = 0; i < bench_query_count; i++)
        args->selected[i] = true;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'z':
            args->zipf = optarg;
            break;
        case 't':
            if (!parse_count(optarg, 1, &args->trials)) {
                fprintf(stderr, "ember-bench: --trials must be a positive integer\n");
                return 2;
            }
            break;
        case 'w':
            if (!parse_count(optarg, 0, &args->warmup)) {
                fprintf(stderr, "ember-bench: --warmup must be a non-negative integer\n");
                return 2;
            }
            break;
        case 'd':
            args->device = optarg;
            break;
        case 'q':
            if (!select_queries(optarg, args->selected))
                return 2;
            break;
        case 'c':
            cli = optarg;
            break;
        case 'b':
            baseline = optarg;
            break;
        case 'L':
            args->limits = false;
            break;
        case 'j':
            args->json_path = optarg;
            break;
        case 's':
            args->serve = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "ember-bench: see ember-bench --help\n");
            return 2;
        }
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "ember-bench: expected exactly one FILE (see --help)\n");
        return 2;
    }
    args->file = argv[optind];
    helper_path(cli, "ember", args->cli);
    helper_path(baseline, "ember-baseline-q1", args->baseline);
    return 0;
}

/* The file a query reads, or NULL when it has none here (Q1z without --zipf). */
static const char *query_path(const bench_args *args, const bench_query *query) {
    return query->input == BENCH_ZIPF ? args->zipf : args->file;
}

static bool run_trial(ember_session *session, const bench_args *args, const bench_query *query,
                      bench_result *result) {
    memset(result, 0, sizeof *result);
    return query->run(session, query, query_path(args, query), result);
}

/* Runs the `ember` command for query; returns its seconds or -1. command receives the text. */
static double run_cli(const bench_args *args, const bench_query *query, char *command,
                      size_t command_size) {
    char *argv[MAX_ARGV];
    int n = 0;
    argv[n++] = (char *)args->cli;
    for (const char *const *a = query->cli_args; *a && n < MAX_ARGV - 3; a++)
        argv[n++] = (char *)(strcmp(*a, "FILE") == 0 ? query_path(args, query) : *a);
    if (args->device) {
        argv[n++] = "--device";
        argv[n++] = (char *)args->device;
    }
    argv[n] = NULL;
    size_t used = 0;
    command[0] = '\0';
    for (int i = 0; i < n && used < command_size; i++)
        used +=
            (size_t)snprintf(command + used, command_size - used, "%s%s", i ? " " : "", argv[i]);
    return bench_process_run(argv, NULL, 0);
}

/* A number after "key": in a JSON line, or -1. */
static double json_number(const char *text, const char *key) {
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(text, pattern);
    return at ? strtod(at + strlen(pattern), NULL) : -1.0;
}

static int serve(ember_session *session, const bench_args *args, FILE *out) {
    char line[256];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0])
            continue;
        if (strcmp(line, "quit") == 0)
            break;
        const bench_query *query = bench_query_find(line);
        bench_result result;
        if (!query) {
            fputs("{\"query\":", out);
            bench_json_string(out, line);
            fputs(",\"error\":\"unknown query\"}\n", out);
        } else if (!query->run) {
            bench_report_skipped(out, query, query->reason);
        } else if (!query_path(args, query)) {
            bench_report_skipped(out, query, "no --zipf file given");
        } else if (run_trial(session, args, query, &result)) {
            bench_report_trial(out, query, query_path(args, query), 0, &result);
        } else {
            fprintf(out, "{\"query\":\"%s\",\"error\":", query->name);
            bench_json_string(out, ember_session_error(session));
            fputs("}\n", out);
        }
        fflush(out);
    }
    return 0;
}

/* Per-query storage of one full run. */
typedef struct query_runs {
    bench_result *results;
    double *cli;
    bool failed;
} query_runs;

static double median_of(const query_runs *runs, int trials, size_t offset, double *scratch) {
    for (int t = 0; t < trials; t++)
        scratch[t] = *(const double *)((const char *)&runs->results[t] + offset);
    return bench_median(scratch, (size_t)trials);
}

static void table_row(FILE *out, const bench_query *query, const query_runs *runs, int trials,
                      double *scratch) {
    bench_table_figures f = {.cli_seconds = -1, .valid = true};
    f.seconds = median_of(runs, trials, offsetof(bench_result, seconds), scratch);
    f.phases.split = median_of(runs, trials, offsetof(bench_result, phases.split), scratch);
    f.phases.scan = median_of(runs, trials, offsetof(bench_result, phases.scan), scratch);
    f.phases.cache = median_of(runs, trials, offsetof(bench_result, phases.cache), scratch);
    f.phases.merge = median_of(runs, trials, offsetof(bench_result, phases.merge), scratch);
    f.phases.other = median_of(runs, trials, offsetof(bench_result, phases.other), scratch);
    f.rows = runs->results[0].rows;
    f.result_rows = runs->results[0].result_rows;
    for (int t = 0; t < trials; t++)
        f.valid = f.valid && runs->results[t].valid;
    if (runs->cli) {
        memcpy(scratch, runs->cli, (size_t)trials * sizeof *scratch);
        f.cli_seconds = bench_median(scratch, (size_t)trials);
    }
    bench_table_row(out, query, &f);
    if (runs->results[0].run_count) {
        /* Q6's figure is the median cached run; what it cost to get there is shown too. */
        char text[160];
        double load = median_of(runs, trials, offsetof(bench_result, load_seconds), scratch);
        snprintf(text, sizeof text, "%9.3f   (read + cache + count once per trial; then %d runs)",
                 load, runs->results[0].run_count);
        bench_table_note(out, "", "  load before the cached runs", text);
    }
}

static int run_suite(ember_session *session, const bench_args *args, FILE *json) {
    int trials = args->trials, code = 0;
    query_runs runs[MAX_QUERIES] = {{0}};
    double *scratch = calloc((size_t)trials + 1, sizeof *scratch);
    double *baseline = calloc((size_t)trials + 1, sizeof *baseline);
    double *baseline_inner = calloc((size_t)trials + 1, sizeof *baseline_inner);
    char command[PATH_SIZE * 2];
    if (!scratch || !baseline || !baseline_inner)
        goto out_of_memory;
    for (size_t q = 0; q < bench_query_count; q++) {
        const bench_query *query = &bench_queries[q];
        if (!args->selected[q])
            continue;
        if (!query->run || !query_path(args, query)) {
            bench_report_skipped(json, query, query->run ? "no --zipf file given" : query->reason);
            continue;
        }
        runs[q].results = calloc((size_t)trials, sizeof *runs[q].results);
        if (args->cli[0] && query->cli_args &&
            !(runs[q].cli = calloc((size_t)trials, sizeof *runs[q].cli)))
            goto out_of_memory;
        if (!runs[q].results)
            goto out_of_memory;
        /* Warm-up: loads the programs (from the disk cache or the compiler) and the file's
         * pages; the CLI's first run also fills the disk cache it shares with us. */
        for (int w = 0; w < args->warmup && !runs[q].failed; w++) {
            bench_result ignored;
            runs[q].failed = !run_trial(session, args, query, &ignored);
            if (runs[q].cli && !runs[q].failed && w == 0)
                runs[q].failed = run_cli(args, query, command, sizeof command) < 0;
        }
    }
    /* Trial-major order: a slow minute of the machine spreads over all queries, not one. */
    for (int t = 0; t < trials; t++) {
        for (size_t q = 0; q < bench_query_count; q++) {
            const bench_query *query = &bench_queries[q];
            if (!runs[q].results || runs[q].failed)
                continue;
            if (!run_trial(session, args, query, &runs[q].results[t])) {
                runs[q].failed = true;
                code = 1;
                continue;
            }
            bench_report_trial(json, query, query_path(args, query), t + 1, &runs[q].results[t]);
            if (runs[q].cli) {
                runs[q].cli[t] = run_cli(args, query, command, sizeof command);
                if (runs[q].cli[t] < 0) {
                    code = 1;
                    free(runs[q].cli);
                    runs[q].cli = NULL;
                    continue;
                }
                bench_report_process(json, query, "cli", query_path(args, query), t + 1, command,
                                     runs[q].cli[t], -1.0);
            }
        }
    }
    /* The Q1 baseline: a plain single-threaded C program (libcsv + host hash table). */
    int baseline_trials = 0;
    if (args->baseline[0] && args->selected[0]) {
        char *argv[] = {(char *)args->baseline, (char *)args->file, NULL};
        char captured[4096];
        snprintf(command, sizeof command, "%s %s", args->baseline, args->file);
        for (int t = -args->warmup; t < trials; t++) {
            double seconds = bench_process_run(argv, captured, sizeof captured);
            double inner = json_number(captured, "seconds");
            if (seconds < 0 || inner < 0) {
                fprintf(stderr, "ember-bench: the baseline failed: %s\n", command);
                code = 1;
                break;
            }
            if (t < 0)
                continue;
            baseline[baseline_trials] = seconds;
            baseline_inner[baseline_trials++] = inner;
            bench_report_process(json, &bench_queries[0], "baseline", args->file, t + 1, command,
                                 seconds, inner);
        }
    }
    /* Limits: nothing that reads this file can be faster than the page cache hands it over. */
    int64_t file_bytes = 0;
    double pagecache = -1, memory_rate = -1, memcpy_rate = -1;
    int threads = ember_session_threads(session);
    if (args->limits) {
        pagecache = bench_pagecache_read(args->file, &file_bytes);
        memory_rate = bench_memory_read_rate(threads);
        memcpy_rate = bench_memcpy_rate();
        if (pagecache >= 0)
            bench_report_limit(json, "pagecache_read", "read() the file in 1 MiB chunks, cached",
                               file_bytes, pagecache, (double)file_bytes / pagecache);
        if (memory_rate > 0)
            bench_report_limit(json, "memory_read", "sum a 256 MiB buffer, one thread per core",
                               file_bytes, (double)file_bytes / memory_rate, memory_rate);
        if (memcpy_rate > 0)
            bench_report_limit(json, "memcpy", "memcpy a 256 MiB buffer, one thread", file_bytes,
                               (double)file_bytes / memcpy_rate, memcpy_rate);
    }

    /* The human table goes to standard output in any case. */
    char text[160];
    const char *device = ember_session_device_name(session, 0);
    bench_table_header(stdout, device ? device : "?", trials);
    for (size_t q = 0; q < bench_query_count; q++) {
        const bench_query *query = &bench_queries[q];
        if (!args->selected[q])
            continue;
        if (!query->run) {
            snprintf(text, sizeof text, "skipped: %s", query->reason);
            bench_table_note(stdout, query->name, query->description, text);
        } else if (!query_path(args, query))
            bench_table_note(stdout, query->name, query->description, "skipped: no --zipf file");
        else if (runs[q].failed)
            bench_table_note(stdout, query->name, query->description, "FAILED (see stderr)");
        else
            table_row(stdout, query, &runs[q], trials, scratch);
    }
    if (baseline_trials) {
        double process = bench_median(baseline, (size_t)baseline_trials);
        double inner = bench_median(baseline_inner, (size_t)baseline_trials);
        snprintf(text, sizeof text, "%9.3f %9s %9.3f", inner, "", process);
        bench_table_note(stdout, "B1", "Q1 baseline: libcsv + hash table, 1 thread", text);
    }
    if (pagecache >= 0) {
        snprintf(text, sizeof text, "%9.3f   (%.2f GB/s)", pagecache,
                 (double)file_bytes / pagecache / 1e9);
        bench_table_note(stdout, "L1", "limit: read() the file from the page cache", text);
    }
    if (memory_rate > 0) {
        snprintf(text, sizeof text, "%9.3f   (%.2f GB/s)", (double)file_bytes / memory_rate,
                 memory_rate / 1e9);
        snprintf(command, sizeof command, "limit: memory read, file size, %d thread%s", threads,
                 threads == 1 ? "" : "s");
        bench_table_note(stdout, "L2", command, text);
    }
    if (memcpy_rate > 0) {
        snprintf(text, sizeof text, "%9.3f   (%.2f GB/s)", (double)file_bytes / memcpy_rate,
                 memcpy_rate / 1e9);
        bench_table_note(stdout, "L3", "limit: memcpy of the file size, 1 thread", text);
    }
    goto done;
out_of_memory:
    fprintf(stderr, "ember-bench: out of memory\n");
    code = 1;
done:
    for (size_t q = 0; q < bench_query_count; q++) {
        free(runs[q].results);
        free(runs[q].cli);
        if (runs[q].failed)
            code = 1;
    }
    free(scratch);
    free(baseline);
    free(baseline_inner);
    return code;
}

int main(int argc, char **argv) {
    bench_args args;
    int code = parse_args(argc, argv, &args);
    if (code)
        return code;
    if (access(args.file, R_OK) != 0 || (args.zipf && access(args.zipf, R_OK) != 0)) {
        fprintf(stderr, "ember-bench: cannot read %s\n",
                access(args.file, R_OK) != 0 ? args.file : args.zipf);
        return 1;
    }
    FILE *json = stdout;
    if (args.json_path && !(json = fopen(args.json_path, "w"))) {
        fprintf(stderr, "ember-bench: cannot write %s\n", args.json_path);
        return 1;
    }
    ember_session_options *options = ember_session_options_create();
    ember_session *session = NULL;
    if (!options || (args.device && ember_session_options_set_device(options, args.device)) ||
        ember_session_open(&session, options) != EMBER_OK) {
        fprintf(stderr, "ember-bench: %s\n", ember_session_error(session));
        code = 1;
    } else {
        code = args.serve ? serve(session, &args, json) : run_suite(session, &args, json);
    }
    ember_session_close(session);
    ember_session_options_free(options);
    if (json != stdout && fclose(json) != 0)
        code = 1;
    return code;
}
