/* test_csv_fuzz.c: 244 AFL-found inputs that broke other CSV readers go through read, cache and
 * count in every mode: accepted or rejected, never a crash, hang, leak or inconsistent report. */
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan/frame.h"

#define FUZZ_DIR   "duckdb-csv-afl"
#define FUZZ_FILES 244
/* Seconds one file may take over all its combinations, even under ASan, before the
 * watchdog calls it a hang. */
#define FILE_SECONDS  60
#define STRINGIFY_(x) #x
#define STRINGIFY(x)  STRINGIFY_(x)

static const ember_csv_mode modes[] = {EMBER_CSV_PERMISSIVE, EMBER_CSV_DROPMALFORMED,
                                       EMBER_CSV_FAILFAST};
static const char *const mode_names[] = {"PERMISSIVE", "DROPMALFORMED", "FAILFAST"};
#define MODE_COUNT 3
static const int partition_counts[] = {1, 3};
#define PARTITION_KINDS 2

/* ---- Watchdog: a hang would otherwise only show as a ctest timeout that names no file. ---- */

static char watchdog_what[4096];

static void watchdog_fire(int signal) {
    (void)signal;
    static const char prefix[] = "test_csv_fuzz: hang (over " STRINGIFY(FILE_SECONDS) " s) on ";
    ssize_t ignored = write(STDERR_FILENO, prefix, sizeof prefix - 1);
    ignored = write(STDERR_FILENO, watchdog_what, strlen(watchdog_what));
    ignored = write(STDERR_FILENO, "\n", 1);
    (void)ignored;
    _exit(1);
}

static void watchdog_arm(const char *what) {
    snprintf(watchdog_what, sizeof watchdog_what, "%s", what);
    alarm(FILE_SECONDS);
}

/* ---- The inputs. ---- */

static int name_compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The file names of the fuzz folder, sorted so failures reproduce in the same order. */
static char **list_inputs(size_t *count) {
    DIR *dir = opendir(tu_data_path(FUZZ_DIR));
    if (!dir)
        fail_msg("cannot open %s", tu_data_path(FUZZ_DIR));
    size_t n = 0, capacity = 256;
    char **names = malloc(capacity * sizeof *names);
    assert_non_null(names);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        if (n == capacity) {
            capacity *= 2;
            names = realloc(names, capacity * sizeof *names);
            assert_non_null(names);
        }
        names[n] = strdup(entry->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(dir);
    qsort(names, n, sizeof *names, name_compare);
    *count = n;
    return names;
}

static void free_inputs(char **names, size_t count) {
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* ---- One combination. ---- */

typedef struct combo {
    const char *path;
    const char *name; /* for messages */
    bool header;
    const char *schema; /* NULL: inferred */
    int partitions;
    int mode; /* index into modes[] */
} combo;

typedef struct outcome {
    ember_status read, count;
    int64_t rows, read_rows, malformed, dropped;
} outcome;

static void describe(const combo *c, char *out, size_t len) {
    snprintf(out, len, "%s (header %s, schema %s, %d partitions, %s)", c->name,
             c->header ? "on" : "off", c->schema ? c->schema : "inferred", c->partitions,
             mode_names[c->mode]);
}

/* A failed call must say why; an input can be bad, but never make ember misuse itself. */
static void check_status(const combo *c, const char *call, ember_status status,
                         ember_session *session) {
    if (status == EMBER_OK)
        return;
    char what[768];
    describe(c, what, sizeof what);
    const char *message = ember_session_error(session);
    if (!message || !*message)
        fail_msg("%s: %s failed (%s) with an empty message", what, call, ember_status_str(status));
    if (status == EMBER_ERROR_INTERNAL || status == EMBER_ERROR_INVALID_ARGUMENT)
        fail_msg("%s: %s failed with %s: %s", what, call, ember_status_str(status), message);
    /* Only FAILFAST may stop a job for the input's sake. */
    if (status == EMBER_ERROR_CSV && modes[c->mode] != EMBER_CSV_FAILFAST)
        fail_msg("%s: %s failed with a CSV error outside FAILFAST: %s", what, call, message);
}

static int64_t metric(ember_session *session, ember_job_metric which) {
    const ember_job *job = ember_session_last_job(session);
    assert_non_null(job);
    return ember_job_metric_get(job, which);
}

/* The cached partitions are what later actions compute on, so each must be whole: every
 * column converted, holding one value per row, with a bitmap and offsets that agree. This looks
 * inside the frame (plan/frame.h): the public API only exposes the count. Returns false with
 * the first problem in why. */
static bool cached_partitions_whole(const ember_frame *frame, int64_t count, char *why,
                                    size_t len) {
    if (!frame->cache || frame->cache_count != ember_frame_partition_count(frame)) {
        snprintf(why, len, "%d cached partitions of %d", frame->cache ? frame->cache_count : 0,
                 ember_frame_partition_count(frame));
        return false;
    }
    int64_t total = 0;
    for (int p = 0; p < frame->cache_count; p++) {
        const ember_partition *part = &frame->cache[p].partition;
        total += part->rows;
        if ((size_t)part->column_count != ember_frame_column_count(frame)) {
            snprintf(why, len, "partition %d has %d columns, the frame %zu", p, part->column_count,
                     ember_frame_column_count(frame));
            return false;
        }
        for (int c = 0; c < part->column_count; c++) {
            const ember_column *column = &part->columns[c];
            const char *name = ember_frame_column_name(frame, (size_t)c);
            if (!column->loaded || column->length != part->rows) {
                snprintf(why, len,
                         "partition %d column '%s' (%s) holds %lld values%s for %lld rows", p, name,
                         ember_type_name(column->type), (long long)column->length,
                         column->loaded ? "" : " (not loaded)", (long long)part->rows);
                return false;
            }
            if (column->type != ember_frame_column_type(frame, (size_t)c)) {
                snprintf(why, len, "partition %d column '%s' is %s, the frame says %s", p, name,
                         ember_type_name(column->type),
                         ember_type_name(ember_frame_column_type(frame, (size_t)c)));
                return false;
            }
            int64_t nulls = 0;
            for (int64_t r = 0; r < column->length; r++)
                nulls += !ember_column_is_valid(column, r);
            if (nulls != column->null_count) {
                snprintf(why, len, "partition %d column '%s' counts %lld nulls, its bitmap %lld", p,
                         name, (long long)column->null_count, (long long)nulls);
                return false;
            }
            if (column->type != EMBER_TYPE_STRING)
                continue;
            const int32_t *offsets = column->values;
            for (int64_t r = 0; r < column->length; r++) {
                if (offsets[0] != 0 || offsets[r + 1] < offsets[r]) {
                    snprintf(why, len, "partition %d column '%s': bad offsets at row %lld", p, name,
                             (long long)r);
                    return false;
                }
            }
            if (offsets[column->length] != column->bytes_len) {
                snprintf(why, len, "partition %d column '%s': offsets end at %d, bytes at %lld", p,
                         name, offsets[column->length], (long long)column->bytes_len);
                return false;
            }
        }
    }
    if (total != count) {
        snprintf(why, len, "the cached partitions hold %lld rows, the count is %lld",
                 (long long)total, (long long)count);
        return false;
    }
    return true;
}

/* One pass over the inputs: its session, what it checks, and a tally for the log. */
typedef struct fuzz_run {
    ember_session *session;
    bool check_partitions; /* also look inside the cache after the first count */
    long combos, read_failed, count_failed[MODE_COUNT], malformed_rows;
    long broken; /* combinations whose cache is not whole */
} fuzz_run;

/* Broken caches are listed up to this many, then only counted. */
#define BROKEN_SHOWN 20

/* A count after ember_unpersist reads the file again and converts no column, so only a wrong
 * field count makes a row malformed (csv_load.h): it reads the same records, keeps the same rows
 * in PERMISSIVE, drops no more in DROPMALFORMED, and cannot fail FAILFAST where the converting
 * count passed. */
static void check_uncached_count(const combo *c, ember_frame *frame, const outcome *cached) {
    ember_session *session = ember_frame_session(frame);
    char what[768];
    describe(c, what, sizeof what);
    int64_t rows = -1;
    ember_status status = ember_count(frame, &rows);
    check_status(c, "ember_count after ember_unpersist", status, session);
    if (cached->count != EMBER_OK)
        return;
    if (status != EMBER_OK)
        fail_msg("%s: the count after ember_unpersist fails (%s) where the cached one gave %lld",
                 what, ember_status_str(status), (long long)cached->rows);
    int64_t dropped = metric(session, EMBER_JOB_ROWS_DROPPED);
    if (metric(session, EMBER_JOB_PARTITIONS_CACHED) != 0)
        fail_msg("%s: the count after ember_unpersist still used the cache", what);
    if (rows + dropped != cached->rows + cached->dropped || rows < cached->rows ||
        (modes[c->mode] != EMBER_CSV_DROPMALFORMED && rows != cached->rows))
        fail_msg("%s: after ember_unpersist %lld rows (%lld dropped), cached %lld (%lld dropped)",
                 what, (long long)rows, (long long)dropped, (long long)cached->rows,
                 (long long)cached->dropped);
}

static outcome run_combo(fuzz_run *run, const combo *c) {
    ember_session *session = run->session;
    outcome result = {.read = EMBER_OK, .count = EMBER_OK, .rows = -1};
    char what[768];
    describe(c, what, sizeof what);
    ember_csv_options *options = ember_csv_options_create();
    assert_non_null(options);
    assert_int_equal(ember_csv_options_set_header(options, c->header), EMBER_OK);
    assert_int_equal(ember_csv_options_set_mode(options, modes[c->mode]), EMBER_OK);
    assert_int_equal(ember_csv_options_set_partitions(options, c->partitions), EMBER_OK);
    if (c->schema)
        assert_int_equal(ember_csv_options_set_schema(options, c->schema), EMBER_OK);

    ember_frame *frame = NULL;
    result.read = ember_read_csv(session, c->path, options, &frame);
    ember_csv_options_free(options);
    check_status(c, "ember_read_csv", result.read, session);
    if (result.read != EMBER_OK) {
        assert_null(frame);
        return result;
    }
    assert_non_null(frame);

    check_status(c, "ember_cache", ember_cache(frame), session);
    int64_t rows = -1;
    result.count = ember_count(frame, &rows);
    check_status(c, "ember_count", result.count, session);
    if (result.count == EMBER_OK) {
        result.rows = rows;
        result.read_rows = metric(session, EMBER_JOB_ROWS_READ);
        result.malformed = metric(session, EMBER_JOB_ROWS_MALFORMED);
        result.dropped = metric(session, EMBER_JOB_ROWS_DROPPED);
        if (metric(session, EMBER_JOB_ROWS) != rows)
            fail_msg("%s: count %lld but EMBER_JOB_ROWS %lld", what, (long long)rows,
                     (long long)metric(session, EMBER_JOB_ROWS));
        if (rows < 0 || rows + result.dropped != result.read_rows)
            fail_msg("%s: rows %lld + dropped %lld != rows read %lld", what, (long long)rows,
                     (long long)result.dropped, (long long)result.read_rows);
        if (modes[c->mode] != EMBER_CSV_DROPMALFORMED && result.dropped != 0)
            fail_msg("%s: %lld rows dropped", what, (long long)result.dropped);
        if (modes[c->mode] != EMBER_CSV_PERMISSIVE && result.malformed != 0)
            fail_msg("%s: %lld rows kept as malformed", what, (long long)result.malformed);
        char why[512];
        if (run->check_partitions && !cached_partitions_whole(frame, rows, why, sizeof why) &&
            run->broken++ < BROKEN_SHOWN)
            print_error("%s: %s\n", what, why);
    }

    /* The second count: from the cache when the first one filled it, else read again, which
     * must fail the same way. */
    int64_t again = -1;
    ember_status second = ember_count(frame, &again);
    check_status(c, "second ember_count", second, session);
    if (second != result.count)
        fail_msg("%s: the second count gives %s, the first %s", what, ember_status_str(second),
                 ember_status_str(result.count));
    if (second == EMBER_OK) {
        if (again != rows)
            fail_msg("%s: cached count %lld, first count %lld", what, (long long)again,
                     (long long)rows);
        if (metric(session, EMBER_JOB_PARTITIONS_CACHED) != metric(session, EMBER_JOB_PARTITIONS))
            fail_msg("%s: the second count did not come from the cache", what);
        assert_int_equal(metric(session, EMBER_JOB_ROWS_READ), 0);
    }
    check_status(c, "ember_unpersist", ember_unpersist(frame), session);
    assert_false(ember_frame_is_cached(frame));
    check_uncached_count(c, frame, &result);
    ember_frame_free(frame);
    return result;
}

/* The three modes see the same rows: PERMISSIVE keeps the malformed ones, DROPMALFORMED
 * drops exactly those, FAILFAST succeeds only when there are none. */
static void check_modes_agree(const combo *c, const outcome *by_mode) {
    char what[768];
    describe(c, what, sizeof what);
    const outcome *p = &by_mode[0], *d = &by_mode[1], *f = &by_mode[2];
    for (int m = 1; m < MODE_COUNT; m++)
        if (by_mode[m].read != p->read)
            fail_msg("%s: ember_read_csv gives %s in %s and %s in PERMISSIVE", what,
                     ember_status_str(by_mode[m].read), mode_names[m], ember_status_str(p->read));
    if (p->read != EMBER_OK || p->count != EMBER_OK)
        return;
    if (d->count == EMBER_OK && (d->rows + d->dropped != p->rows || d->dropped != p->malformed))
        fail_msg("%s: PERMISSIVE %lld rows (%lld malformed), DROPMALFORMED %lld rows (%lld "
                 "dropped)",
                 what, (long long)p->rows, (long long)p->malformed, (long long)d->rows,
                 (long long)d->dropped);
    if (p->malformed == 0 && (f->count != EMBER_OK || f->rows != p->rows))
        fail_msg("%s: no malformed row, but FAILFAST gives %s, %lld rows (PERMISSIVE %lld)", what,
                 ember_status_str(f->count), (long long)f->rows, (long long)p->rows);
    if (p->malformed > 0 && f->count != EMBER_ERROR_CSV)
        fail_msg("%s: %lld malformed rows, but FAILFAST gives %s", what, (long long)p->malformed,
                 ember_status_str(f->count));
}

/* Every mode and partition count of one (file, header, schema) setting. */
static void run_setting(fuzz_run *run, const char *path, const char *name, bool header,
                        const char *schema) {
    outcome results[PARTITION_KINDS][MODE_COUNT];
    for (int p = 0; p < PARTITION_KINDS; p++) {
        combo c = {path, name, header, schema, partition_counts[p], 0};
        for (c.mode = 0; c.mode < MODE_COUNT; c.mode++) {
            const outcome r = results[p][c.mode] = run_combo(run, &c);
            run->combos++;
            run->read_failed += r.read != EMBER_OK;
            run->count_failed[c.mode] += r.read == EMBER_OK && r.count != EMBER_OK;
            if (r.count == EMBER_OK && modes[c.mode] == EMBER_CSV_PERMISSIVE)
                run->malformed_rows += r.malformed;
        }
        c.mode = 0;
        check_modes_agree(&c, results[p]);
    }
    /* The cut positions must not change what is read. */
    for (int m = 0; m < MODE_COUNT; m++) {
        const outcome *a = &results[0][m], *b = &results[1][m];
        if (a->read != b->read || a->count != b->count || a->rows != b->rows ||
            a->malformed != b->malformed || a->dropped != b->dropped)
            fail_msg("%s (header %s, schema %s, %s): %d partitions give %s/%s %lld rows "
                     "(%lld malformed, %lld dropped), %d give %s/%s %lld (%lld, %lld)",
                     name, header ? "on" : "off", schema ? schema : "inferred", mode_names[m],
                     partition_counts[0], ember_status_str(a->read), ember_status_str(a->count),
                     (long long)a->rows, (long long)a->malformed, (long long)a->dropped,
                     partition_counts[1], ember_status_str(b->read), ember_status_str(b->count),
                     (long long)b->rows, (long long)b->malformed, (long long)b->dropped);
    }
}

/* Every input with every header choice for one schema (NULL: inferred). */
static void run_all(fuzz_run *run, const char *schema, const bool *headers, int header_count) {
    size_t count = 0;
    char **names = list_inputs(&count);
    assert_int_equal(count, FUZZ_FILES);
    signal(SIGALRM, watchdog_fire);
    for (size_t i = 0; i < count; i++) {
        char rel[512], path[4096];
        snprintf(rel, sizeof rel, FUZZ_DIR "/%s", names[i]);
        snprintf(path, sizeof path, "%s", tu_data_path(rel));
        watchdog_arm(path);
        for (int h = 0; h < header_count; h++)
            run_setting(run, path, names[i], headers[h], schema);
    }
    alarm(0);
    signal(SIGALRM, SIG_DFL);
    free_inputs(names, count);
}

static const bool both_headers[] = {true, false};
static const char explicit_schema[] = "a:int64,b:float64,c:string";

/* What the inputs did, so a change in how ember treats them shows in the log. */
static void print_tally(const fuzz_run *run, const char *what) {
    print_message("%s: %ld combinations, %ld failed to read; counts failed: %ld PERMISSIVE, %ld "
                  "DROPMALFORMED, %ld FAILFAST; %ld malformed rows kept\n",
                  what, run->combos, run->read_failed, run->count_failed[0], run->count_failed[1],
                  run->count_failed[2], run->malformed_rows);
}

static void test_inferred_schema(void **state) {
    (void)state;
    fuzz_run run = {.session = tu_session_open()};
    run_all(&run, NULL, both_headers, 2);
    print_tally(&run, "inferred schema");
    ember_session_close(run.session);
}

static void test_explicit_schema(void **state) {
    (void)state;
    fuzz_run run = {.session = tu_session_open()};
    run_all(&run, explicit_schema, both_headers, 2);
    print_tally(&run, explicit_schema);
    ember_session_close(run.session);
}

/* The same passes again, now also checking that each cache is whole. Kept apart so a broken
 * cache does not stop the robustness passes above, and every broken input gets listed. */
static void test_cached_partitions_whole(void **state) {
    (void)state;
    fuzz_run run = {.session = tu_session_open(), .check_partitions = true};
    run_all(&run, NULL, both_headers, 2);
    run_all(&run, explicit_schema, both_headers, 2);
    ember_session_close(run.session);
    if (run.broken)
        fail_msg("%ld of %ld combinations left a cache that is not whole", run.broken, run.combos);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inferred_schema),
        cmocka_unit_test(test_explicit_schema),
        cmocka_unit_test(test_cached_partitions_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
