/* parse_bench.c: ember-parse-bench, the host CSV parse stage alone (no session, no OpenCL):
 * the record-aligned split, then ember_csv_parse_split on the splits with 1 or more threads,
 * beside raw libcsv tokenizing (callbacks that only count) and libcsv + strtoll/strtod on one
 * thread as yardsticks. Reads the "sales" layout of ember_gen (or any file with --schema).
 *
 * Usage: ember-parse-bench FILE [--schema SPEC] [--columns all|q1|q5|none] [--threads N]
 *                              [--parts N] [--trials N] [--only split|libcsv|convert|ember]
 *                              [--groups none|pass|parse]
 * --groups: the category column's groups too (a group-by by it): found in a pass over the parsed
 * column (ember_dictionary_build) or while parsing (ember_csv_parse_split_grouped).
 * Prints one line per measurement: the median (and min) wall seconds over the trials, MB/s of
 * the bytes after the header (MB = 10^6 bytes) at the median, and the median CPU seconds of the
 * process (all threads): on a shared machine the CPU time shows the work when the wall time
 * also holds waits for a core. */
#include <csv.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/alloc.h"
#include "io/csv_load.h"
#include "io/csv_split.h"
#include "io/schema.h"

#define MAX_TRIALS 64
#define CHUNK      (256 * 1024)

static const char SALES_SCHEMA[] =
    "id:int64,category:string,region:string,user_id:int64,qty:int64,price:float64";

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU seconds of the whole process (every thread), to tell the work from the wait on a shared
 * machine. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double cpu_seconds[MAX_TRIALS]; /* CPU time of each trial, beside its wall time */

/* The median wall time (and the min), MB/s at the median, and the median CPU seconds. */
static void report(const char *what, double *seconds, int trials, size_t bytes) {
    qsort(seconds, (size_t)trials, sizeof *seconds, compare_doubles);
    qsort(cpu_seconds, (size_t)trials, sizeof *cpu_seconds, compare_doubles);
    double median = seconds[trials / 2];
    printf("%-40s median %.4f s (min %.4f) %7.1f MB/s  cpu %.4f s\n", what, median, seconds[0],
           (double)bytes / median / 1e6, cpu_seconds[trials / 2]);
    fflush(stdout);
}

/* ---- libcsv yardsticks ---- */

typedef struct tally {
    int64_t fields, records, sum;
    double fsum;
    int column;
    const ember_type *types;
} tally;

static void count_field(void *data, size_t len, void *context) {
    (void)data;
    (void)len;
    ((tally *)context)->fields++;
}

static void count_record(int terminator, void *context) {
    (void)terminator;
    ((tally *)context)->records++;
}

/* strtoll / strtod on a NUL-terminated copy of each numeric field, as a plain C reader would. */
static void convert_field(void *data, size_t len, void *context) {
    tally *t = context;
    int c = t->column++;
    t->fields++;
    if (!data || len == 0 || len >= 64)
        return;
    char copy[64];
    memcpy(copy, data, len);
    copy[len] = '\0';
    if (t->types[c] == EMBER_TYPE_INT64)
        t->sum += strtoll(copy, NULL, 10);
    else if (t->types[c] == EMBER_TYPE_FLOAT64)
        t->fsum += strtod(copy, NULL);
}

static void convert_record(int terminator, void *context) {
    (void)terminator;
    tally *t = context;
    t->records++;
    t->column = 0;
}

static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

static void libcsv_run(const char *data, size_t begin, size_t end, bool convert, tally *t) {
    struct csv_parser parser;
    csv_init(&parser, CSV_EMPTY_IS_NULL);
    csv_set_space_func(&parser, no_space);
    for (size_t at = begin; at < end; at += CHUNK) {
        size_t n = end - at < CHUNK ? end - at : CHUNK;
        csv_parse(&parser, data + at, n, convert ? convert_field : count_field,
                  convert ? convert_record : count_record, t);
    }
    csv_fini(&parser, convert ? convert_field : count_field,
             convert ? convert_record : count_record, t);
    csv_free(&parser);
}

/* ---- ember_csv_parse_split over the splits on a few threads ---- */

typedef struct parse_job {
    const char *data;
    const ember_split *splits;
    int split_count;
    const ember_schema *schema;
    const bool *wanted;
    const bool *grouped; /* NULL: no groups */
    bool groups_pass;    /* the groups in a pass after the parse, not during it */
    ember_csv_config config;
    pthread_mutex_t lock;
    int next;
    int64_t rows;
    bool failed;
} parse_job;

static void *parse_worker(void *raw) {
    parse_job *job = raw;
    ember_type needed[64];
    for (;;) {
        pthread_mutex_lock(&job->lock);
        int index = job->next++;
        pthread_mutex_unlock(&job->lock);
        if (index >= job->split_count)
            return NULL;
        ember_partition part;
        ember_error err;
        ember_error_clear(&err);
        ember_dictionary dictionaries[64] = {{0}};
        ember_status status =
            ember_csv_parse_split_grouped(job->data, &job->splits[index], job->schema, job->wanted,
                                          job->groups_pass ? NULL : job->grouped, &job->config,
                                          &part, needed, dictionaries, &err);
        for (int c = 0; status == EMBER_OK && job->groups_pass && c < job->schema->count; c++)
            if (job->grouped[c])
                ember_dictionary_build(&part.columns[c], ember_dictionary_max_groups(part.rows),
                                       &dictionaries[c]);
        for (int c = 0; c < job->schema->count; c++)
            ember_dictionary_clear(&dictionaries[c]);
        pthread_mutex_lock(&job->lock);
        if (status != EMBER_OK) {
            fprintf(stderr, "parse failed: %s\n", err.message);
            job->failed = true;
        } else {
            job->rows += part.rows;
        }
        pthread_mutex_unlock(&job->lock);
        if (status == EMBER_OK)
            ember_partition_clear(&part);
    }
}

static bool parse_all(parse_job *job, int threads) {
    pthread_t ids[64];
    job->next = 0;
    job->rows = 0;
    job->failed = false;
    for (int i = 1; i < threads; i++)
        pthread_create(&ids[i], NULL, parse_worker, job);
    parse_worker(job);
    for (int i = 1; i < threads; i++)
        pthread_join(ids[i], NULL);
    return !job->failed;
}

static void usage(void) {
    fprintf(stderr, "usage: ember-parse-bench FILE [--schema SPEC] [--columns all|q1|q5|none] "
                    "[--threads N] [--parts N] [--trials N] [--only split|libcsv|convert|ember] "
                    "[--groups none|pass|parse]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *path = NULL, *spec = SALES_SCHEMA, *columns = "all", *only = NULL, *groups = "none";
    int threads = 2, parts = 0, trials = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--schema") && i + 1 < argc)
            spec = argv[++i];
        else if (!strcmp(argv[i], "--columns") && i + 1 < argc)
            columns = argv[++i];
        else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--parts") && i + 1 < argc)
            parts = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--trials") && i + 1 < argc)
            trials = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--groups") && i + 1 < argc)
            groups = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            usage();
    }
    if (!path || threads < 1 || threads > 64 || trials < 1 || trials > MAX_TRIALS)
        usage();
    if (parts <= 0)
        parts = 6 > threads ? 6 : threads;

    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        perror(path);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        perror("mmap");
        return 1;
    }

    ember_error err;
    ember_error_clear(&err);
    ember_schema schema = {0};
    if (ember_schema_parse(spec, &schema, &err) != EMBER_OK || schema.count > 64) {
        fprintf(stderr, "bad schema: %s\n", err.message);
        return 2;
    }
    bool wanted[64] = {false}, grouped[64] = {false};
    if (strcmp(groups, "none") && strcmp(groups, "pass") && strcmp(groups, "parse"))
        usage();
    for (int c = 0; c < schema.count; c++) {
        grouped[c] = strcmp(groups, "none") && !strcmp(schema.names[c], "category");
        const char *name = schema.names[c];
        if (!strcmp(columns, "all"))
            wanted[c] = true;
        else if (!strcmp(columns, "q1"))
            wanted[c] = !strcmp(name, "category");
        else if (!strcmp(columns, "q5"))
            wanted[c] = !strcmp(name, "category") || !strcmp(name, "qty") || !strcmp(name, "price");
        else if (strcmp(columns, "none"))
            usage();
    }
    ember_csv_dialect dialect = {',', '"'};
    size_t begin = ember_csv_bom_length(data, size);
    int64_t lines = 0;
    begin = ember_csv_record_end(data, size, begin, dialect, &lines); /* the header */
    size_t bytes = size - begin;
    printf("file %s: %zu bytes after the header; schema %s; columns %s; groups %s\n", path, bytes,
           spec, columns, groups);

    double seconds[MAX_TRIALS];
    ember_split *splits = NULL;
    int split_count = 0;
    if (!only || !strcmp(only, "split")) {
        for (int t = 0; t < trials; t++) {
            ember_free(splits);
            double start = now(), cpu_start = cpu_now();
            ember_csv_split(data, size, begin, 1 + lines, parts, dialect, NULL, &splits,
                            &split_count, &err);
            seconds[t] = now() - start;
            cpu_seconds[t] = cpu_now() - cpu_start;
        }
        char what[64];
        snprintf(what, sizeof what, "split into %d parts (1 thread)", parts);
        report(what, seconds, trials, bytes);
    }
    ember_free(splits);
    ember_csv_split(data, size, begin, 1 + lines, parts, dialect, NULL, &splits, &split_count,
                    &err);

    if (!only || !strcmp(only, "libcsv")) {
        for (int t = 0; t < trials; t++) {
            tally count = {0};
            double start = now(), cpu_start = cpu_now();
            libcsv_run(data, begin, size, false, &count);
            seconds[t] = now() - start;
            cpu_seconds[t] = cpu_now() - cpu_start;
        }
        report("libcsv tokenize only (1 thread)", seconds, trials, bytes);
    }
    if (!only || !strcmp(only, "convert")) {
        for (int t = 0; t < trials; t++) {
            tally sum = {.types = schema.types};
            double start = now(), cpu_start = cpu_now();
            libcsv_run(data, begin, size, true, &sum);
            seconds[t] = now() - start;
            cpu_seconds[t] = cpu_now() - cpu_start;
        }
        report("libcsv + strtoll/strtod (1 thread)", seconds, trials, bytes);
    }
    if (!only || !strcmp(only, "ember")) {
        parse_job job = {.data = data,
                         .schema = &schema,
                         .wanted = wanted,
                         .grouped = strcmp(groups, "none") ? grouped : NULL,
                         .groups_pass = !strcmp(groups, "pass"),
                         .config = {.dialect = dialect,
                                    .mode = EMBER_CSV_PERMISSIVE,
                                    .schema_inferred = false,
                                    .path = path}};
        pthread_mutex_init(&job.lock, NULL);
        ember_split whole = {begin, size, 1 + lines, 0};
        int64_t rows = 0;
        /* One split holding the whole file, one thread. */
        job.splits = &whole;
        job.split_count = 1;
        for (int t = 0; t < trials; t++) {
            double start = now(), cpu_start = cpu_now();
            if (!parse_all(&job, 1))
                return 1;
            seconds[t] = now() - start;
            cpu_seconds[t] = cpu_now() - cpu_start;
            rows = job.rows;
        }
        report("ember parse, 1 split (1 thread)", seconds, trials, bytes);
        job.splits = splits;
        job.split_count = split_count;
        int counts[2] = {1, threads};
        for (int k = 0; k < (threads > 1 ? 2 : 1); k++) {
            for (int t = 0; t < trials; t++) {
                double start = now(), cpu_start = cpu_now();
                if (!parse_all(&job, counts[k]))
                    return 1;
                seconds[t] = now() - start;
                cpu_seconds[t] = cpu_now() - cpu_start;
            }
            char what[64];
            snprintf(what, sizeof what, "ember parse, %d splits (%d thread%s)", split_count,
                     counts[k], counts[k] > 1 ? "s" : "");
            report(what, seconds, trials, bytes);
            if (job.rows != rows) {
                fprintf(stderr, "row counts differ: %lld vs %lld\n", (long long)job.rows,
                        (long long)rows);
                return 1;
            }
        }
        printf("rows %lld\n", (long long)rows);
        pthread_mutex_destroy(&job.lock);
    }
    ember_free(splits);
    ember_schema_clear(&schema);
    munmap((void *)data, size);
    return 0;
}
