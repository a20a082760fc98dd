/* test_count.c: ember_read_csv + ember_count end to end on the default device, against
 * counts known from how each file was written: generated files at many partition counts,
 * edge-case files, file errors, the three modes, inference across the file, and the cache. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/alloc.h"

/* One session for the whole group (opening one builds nothing, but finds the devices). */
#define session tu_shared_session

static void need_session(void) {
    if (!session)
        skip();
}

/* Reads path with the given options and counts it; returns the status. */
static ember_status count_file(const char *path, ember_csv_options *options, int64_t *rows) {
    ember_frame *frame = NULL;
    ember_status status = ember_read_csv(session, path, options, &frame);
    if (status == EMBER_OK)
        status = ember_count(frame, rows);
    ember_frame_free(frame);
    return status;
}

static uint64_t next_random(uint64_t *seed) {
    *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
    return *seed >> 33;
}

/* Writes rows records (plus a header) whose string fields sometimes hold quoted delimiters,
 * doubled quotes, LF and CRLF, with blank lines sprinkled in; the row count is known. */
static char *write_generated(const char *name, int rows, bool crlf, uint64_t seed) {
    char *path = tu_tmp_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    const char *eol = crlf ? "\r\n" : "\n";
    fprintf(f, "id,name,score%s", eol);
    for (int i = 0; i < rows; i++) {
        uint64_t r = next_random(&seed);
        if (r % 11 == 0)
            fputs(eol, f); /* a blank line: not a record */
        switch (r % 5) {
        case 0:
            fprintf(f, "%d,\"quoted, with comma\",%d.5%s", i, i, eol);
            break;
        case 1:
            fprintf(f, "%d,\"line one%sline two \"\"q\"\"\",%d%s", i, eol, i, eol);
            break;
        case 2:
            fprintf(f, "%d,,%s", i, eol);
            break;
        default:
            fprintf(f, "%d,plain%d,%d%s", i, (int)(r % 1000), i * 3, eol);
        }
    }
    fclose(f);
    return path;
}

static void test_generated_counts_at_many_partition_counts(void **state) {
    (void)state;
    need_session();
    const int rows = 5000;
    for (int crlf = 0; crlf < 2; crlf++) {
        char *path = write_generated(crlf ? "gen-crlf.csv" : "gen-lf.csv", rows, crlf, 7 + crlf);
        const int partitions[] = {1, 2, 7, 64, 6000, 0};
        for (size_t i = 0; i < sizeof partitions / sizeof partitions[0]; i++) {
            ember_csv_options *options = ember_csv_options_create();
            ember_csv_options_set_partitions(options, partitions[i]);
            int64_t counted = -1;
            ember_status status = count_file(path, options, &counted);
            if (status != EMBER_OK)
                fail_msg("%s", ember_session_error(session));
            assert_int_equal(counted, rows);
            const ember_job *job = ember_session_last_job(session);
            assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS), rows);
            assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_READ), rows);
            assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_MALFORMED), 0);
            int64_t parts = ember_job_metric_get(job, EMBER_JOB_PARTITIONS);
            if (partitions[i] > 0 && partitions[i] <= 64)
                assert_int_equal(parts, partitions[i]);
            assert_true(parts >= 1 && parts <= rows);
            assert_string_equal(ember_job_stage_name(job, 0), "scan");
            assert_int_equal(ember_job_stage_metric(job, 0, EMBER_STAGE_TASKS), parts);
            ember_csv_options_free(options);
        }
        unlink(path);
        free(path);
    }
}

static void expect_count(const char *text, bool header, int64_t expected) {
    char *path = tu_tmp_path("edge.csv");
    tu_write_text(path, text);
    ember_csv_options *options = ember_csv_options_create();
    ember_csv_options_set_header(options, header);
    int64_t counted = -1;
    if (count_file(path, options, &counted) != EMBER_OK)
        fail_msg("\"%s\": %s", text, ember_session_error(session));
    if (counted != expected)
        fail_msg("\"%s\" (header %d): counted %lld, expected %lld", text, header,
                 (long long)counted, (long long)expected);
    ember_csv_options_free(options);
    unlink(path);
    free(path);
}

static void test_edge_files(void **state) {
    (void)state;
    need_session();
    expect_count("", true, 0);
    expect_count("", false, 0);
    expect_count("a,b\n", true, 0);
    expect_count("a,b", true, 0);
    expect_count("a,b\n", false, 1);
    expect_count("a,b\n1,2", true, 1);
    expect_count("a,b\n1,2\n", true, 1);
    expect_count("\xEF\xBB\xBF"
                 "a,b\r\n1,2\r\n3,4\r\n",
                 true, 2);
    expect_count("\n\na,b\n\n1,2\n\n\n3,4\n\n", true, 2);
    expect_count("a\n\"x\ny\"\n\"\"\"\"\n", true, 2);
    expect_count("a,b\r\n\"1\r\n2\",3\r\n", true, 1);
}

static void expect_file_error(const char *path, const char *needle) {
    ember_frame *frame = NULL;
    ember_status status = ember_read_csv(session, path, NULL, &frame);
    assert_int_equal(status, EMBER_ERROR_IO);
    assert_null(frame);
    const char *message = ember_session_error(session);
    if (!strstr(message, path) || !strstr(message, needle))
        fail_msg("message \"%s\" should name '%s' and say \"%s\"", message, path, needle);
}

static void test_file_errors(void **state) {
    (void)state;
    need_session();
    expect_file_error("/nonexistent/ember/missing.csv", "No such file");
    char *dir = tu_tmp_path("a-directory");
    mkdir(dir, 0755);
    expect_file_error(dir, "is a directory");
    rmdir(dir);
    free(dir);
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, "", NULL, &frame), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_read_csv(NULL, "x", NULL, &frame), EMBER_ERROR_INVALID_ARGUMENT);
}

/* Root reads any file, so the unreadable case runs in a child that drops to nobody. */
static void test_unreadable_file(void **state) {
    (void)state;
    need_session();
    char *path = tu_tmp_path("unreadable.csv");
    tu_write_text(path, "a\n1\n");
    assert_int_equal(chmod(path, 0), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(3);
        ember_frame *frame = NULL;
        ember_status status = ember_read_csv(session, path, NULL, &frame);
        const char *message = ember_session_error(session);
        _exit(status == EMBER_ERROR_IO && strstr(message, "Permission denied") ? 0 : 1);
    }
    int child_status = 0;
    waitpid(child, &child_status, 0);
    unlink(path);
    free(path);
    assert_true(WIFEXITED(child_status));
    assert_int_equal(WEXITSTATUS(child_status), 0);
}

static const char *MIXED = "a,b,c\n"
                           "1,1.5,x\n"
                           "2,2.5\n"
                           "3,3.5,y,extra\n"
                           "four,4.5,z\n"
                           "5,6.5,w\n";

static void run_mode(ember_csv_mode mode, bool cache, ember_status expected_status,
                     int64_t expected_rows, int64_t malformed, int64_t dropped) {
    char *path = tu_tmp_path("mixed.csv");
    tu_write_text(path, MIXED);
    ember_csv_options *options = ember_csv_options_create();
    ember_csv_options_set_schema(options, "a:int64,b:float64,c:string");
    ember_csv_options_set_mode(options, mode);
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, options, &frame), EMBER_OK);
    if (cache)
        ember_cache(frame);
    int64_t rows = -1;
    ember_status status = ember_count(frame, &rows);
    assert_int_equal(status, expected_status);
    if (status == EMBER_OK) {
        const ember_job *job = ember_session_last_job(session);
        assert_int_equal(rows, expected_rows);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_MALFORMED), malformed);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_DROPPED), dropped);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_READ), rows + dropped);
    } else {
        const char *message = ember_session_error(session);
        assert_non_null(strstr(message, path));
        assert_non_null(strstr(message, cache ? ":3: malformed row" : ":3: malformed row"));
    }
    ember_frame_free(frame);
    ember_csv_options_free(options);
    unlink(path);
    free(path);
}

static void test_modes_exact_counts(void **state) {
    (void)state;
    need_session();
    /* count converts no column (pruning), so only the field counts make rows malformed... */
    run_mode(EMBER_CSV_PERMISSIVE, false, EMBER_OK, 5, 2, 0);
    run_mode(EMBER_CSV_DROPMALFORMED, false, EMBER_OK, 3, 0, 2);
    run_mode(EMBER_CSV_FAILFAST, false, EMBER_ERROR_CSV, 0, 0, 0);
    /* ...while a cached frame converts every column, so "four" counts too. */
    run_mode(EMBER_CSV_PERMISSIVE, true, EMBER_OK, 5, 3, 0);
    run_mode(EMBER_CSV_DROPMALFORMED, true, EMBER_OK, 2, 0, 3);
    run_mode(EMBER_CSV_FAILFAST, true, EMBER_ERROR_CSV, 0, 0, 0);
}

static void test_failfast_reports_first_bad_row_of_file(void **state) {
    (void)state;
    need_session();
    /* Bad rows in many partitions: the message names the first one whatever ran first. */
    char *path = tu_tmp_path("failfast.csv");
    FILE *f = fopen(path, "w");
    fprintf(f, "a,b\n");
    for (int i = 0; i < 20000; i++)
        fprintf(f, i % 1000 == 999 ? "%d\n" : "%d,1\n", i);
    fclose(f);
    for (int partitions = 1; partitions <= 16; partitions *= 4) {
        ember_csv_options *options = ember_csv_options_create();
        ember_csv_options_set_mode(options, EMBER_CSV_FAILFAST);
        ember_csv_options_set_partitions(options, partitions);
        int64_t rows;
        assert_int_equal(count_file(path, options, &rows), EMBER_ERROR_CSV);
        assert_non_null(strstr(ember_session_error(session), ":1001: malformed row"));
        ember_csv_options_free(options);
    }
    unlink(path);
    free(path);
}

static void test_inference_samples_whole_file(void **state) {
    (void)state;
    need_session();
    char *path = tu_tmp_path("late-types.csv");
    FILE *f = fopen(path, "w");
    fprintf(f, "n,late_float,late_string,empty\n");
    for (int i = 0; i < 50000; i++)
        fprintf(f, "%d,%s,%s,\n", i, i == 40000 ? "2.5" : "7", i == 45000 ? "word" : "8");
    fclose(f);
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    assert_int_equal(ember_frame_column_count(frame), 4);
    assert_int_equal(ember_frame_column_type(frame, 0), EMBER_TYPE_INT64);
    /* Whether the sample met row 40000 or not, a cached load converts every value: the type
     * must end up wide enough and no row may be lost. */
    ember_cache(frame);
    int64_t rows = 0;
    assert_int_equal(ember_count(frame, &rows), EMBER_OK);
    assert_int_equal(rows, 50000);
    assert_int_equal(ember_frame_column_type(frame, 1), EMBER_TYPE_FLOAT64);
    assert_int_equal(ember_frame_column_type(frame, 2), EMBER_TYPE_STRING);
    assert_int_equal(ember_frame_column_type(frame, 3), EMBER_TYPE_STRING);
    const ember_job *job = ember_session_last_job(session);
    assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_MALFORMED), 0);
    ember_frame_free(frame);
    unlink(path);
    free(path);
}

static void test_widening_during_action(void **state) {
    (void)state;
    need_session();
    /* One odd value deep inside a window, far from every sample: inference says int64, the
     * action finds the value and widens instead of losing it. */
    char *path = tu_tmp_path("widen.csv");
    FILE *f = fopen(path, "w");
    fprintf(f, "v\n");
    for (int i = 0; i < 200000; i++)
        fprintf(f, "%s\n", i == 101531 ? "oops" : "1");
    fclose(f);
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, NULL, &frame), EMBER_OK);
    assert_int_equal(ember_frame_column_type(frame, 0), EMBER_TYPE_INT64);
    ember_cache(frame);
    int64_t rows = 0;
    assert_int_equal(ember_count(frame, &rows), EMBER_OK);
    assert_int_equal(rows, 200000);
    assert_int_equal(ember_frame_column_type(frame, 0), EMBER_TYPE_STRING);
    const ember_job *job = ember_session_last_job(session);
    /* The scan ran twice: once to find the widening, once with the wider type. */
    assert_int_equal(ember_job_metric_get(job, EMBER_JOB_STAGES), 3);
    ember_frame_free(frame);
    unlink(path);
    free(path);
}

static void test_cache_serves_later_actions(void **state) {
    (void)state;
    need_session();
    char *path = write_generated("cache.csv", 3000, false, 99);
    ember_csv_options *options = ember_csv_options_create();
    ember_csv_options_set_partitions(options, 5);
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, options, &frame), EMBER_OK);
    assert_false(ember_frame_is_cached(frame));
    assert_int_equal(ember_cache(frame), EMBER_OK);
    assert_true(ember_frame_is_cached(frame));
    int64_t rows = 0;
    assert_int_equal(ember_count(frame, &rows), EMBER_OK);
    assert_int_equal(rows, 3000);
    const ember_job *job = ember_session_last_job(session);
    assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_READ), 3000);
    assert_int_equal(ember_job_metric_get(job, EMBER_JOB_PARTITIONS_CACHED), 0);
    for (int again = 0; again < 3; again++) {
        assert_int_equal(ember_count(frame, &rows), EMBER_OK);
        assert_int_equal(rows, 3000);
        job = ember_session_last_job(session);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_READ), 0);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_BYTES_READ), 0);
        assert_int_equal(ember_job_metric_get(job, EMBER_JOB_PARTITIONS_CACHED), 5);
        assert_string_equal(ember_job_stage_name(job, 0), "cache");
    }
    assert_int_equal(ember_unpersist(frame), EMBER_OK);
    assert_int_equal(ember_count(frame, &rows), EMBER_OK);
    job = ember_session_last_job(session);
    assert_int_equal(ember_job_metric_get(job, EMBER_JOB_ROWS_READ), 3000);
    assert_string_equal(ember_job_stage_name(job, 0), "scan");
    ember_frame_free(frame);
    ember_csv_options_free(options);
    unlink(path);
    free(path);
}

static void test_options_and_thread_counts(void **state) {
    (void)state;
    need_session();
    char *path = tu_tmp_path("semi.csv");
    tu_write_text(path, "a;b\n1;'x;y'\n2;NA\n");
    for (int threads = 1; threads <= 3; threads++) {
        ember_session_options *so = ember_session_options_create();
        ember_session_options_set_threads(so, threads);
        ember_session *s = NULL;
        assert_int_equal(ember_session_open(&s, so), EMBER_OK);
        assert_int_equal(ember_session_threads(s), threads);
        ember_csv_options *options = ember_csv_options_create();
        assert_int_equal(ember_csv_options_set_delimiter(options, ';'), EMBER_OK);
        assert_int_equal(ember_csv_options_set_quote(options, '\''), EMBER_OK);
        assert_int_equal(ember_csv_options_set_null_value(options, "NA"), EMBER_OK);
        ember_frame *frame = NULL;
        assert_int_equal(ember_read_csv(s, path, options, &frame), EMBER_OK);
        assert_int_equal(ember_frame_column_count(frame), 2);
        assert_string_equal(ember_frame_column_name(frame, 1), "b");
        int64_t rows = 0;
        assert_int_equal(ember_count(frame, &rows), EMBER_OK);
        assert_int_equal(rows, 2);
        ember_frame_free(frame);
        ember_csv_options_free(options);
        ember_session_close(s);
        ember_session_options_free(so);
    }
    ember_csv_options *options = ember_csv_options_create();
    assert_int_equal(ember_csv_options_set_delimiter(options, '"'), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_csv_options_set_delimiter(options, '\n'), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_csv_options_set_quote(options, ','), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_csv_options_set_partitions(options, -1), EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(ember_csv_options_set_mode(options, (ember_csv_mode)9),
                     EMBER_ERROR_INVALID_ARGUMENT);
    ember_csv_options_set_schema(options, "a:int64,a:string");
    ember_frame *frame = NULL;
    assert_int_equal(ember_read_csv(session, path, options, &frame), EMBER_ERROR_SCHEMA);
    assert_non_null(strstr(ember_session_error(session), "appears twice"));
    ember_csv_options_free(options);
    unlink(path);
    free(path);
}

/* A file big enough for the split to scan it in chunks (4 MiB or more each) on several threads
 * gives the counts and the line numbers of one pass: quoted line breaks straddle the chunks'
 * guessed starts, and a bad last row is reported at its line, counted across every chunk. */
static void test_chunked_split_of_a_large_file(void **state) {
    (void)state;
    need_session();
    const int rows = 500000;
    for (int crlf = 0; crlf < 2; crlf++) {
        char *path = write_generated("large.csv", rows, crlf, 99 + crlf);
        FILE *f = fopen(path, "ab");
        assert_non_null(f);
        fputs(crlf ? "1,2,3,4\r\n" : "1,2,3,4\n", f);
        fclose(f);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_true(st.st_size > 12 * (1 << 20));
        /* The bad row's line: one more than the line breaks before it. */
        f = fopen(path, "rb");
        assert_non_null(f);
        int64_t breaks = 0;
        for (int c, previous = 0; (c = fgetc(f)) != EOF; previous = c)
            breaks += c == '\r' || (c == '\n' && previous != '\r');
        fclose(f);
        char expected_line[64];
        snprintf(expected_line, sizeof expected_line, ":%lld: malformed row", (long long)breaks);
        for (int threads = 1; threads <= 3; threads++) {
            ember_session_options *so = ember_session_options_create();
            ember_session_options_set_threads(so, threads);
            ember_session *s = NULL;
            assert_int_equal(ember_session_open(&s, so), EMBER_OK);
            ember_csv_options *options = ember_csv_options_create();
            ember_csv_options_set_partitions(options, 7);
            ember_frame *frame = NULL;
            int64_t counted = -1;
            assert_int_equal(ember_read_csv(s, path, options, &frame), EMBER_OK);
            assert_int_equal(ember_count(frame, &counted), EMBER_OK);
            assert_int_equal(counted, rows + 1);
            assert_int_equal(
                ember_job_metric_get(ember_session_last_job(s), EMBER_JOB_ROWS_MALFORMED), 1);
            ember_frame_free(frame);
            ember_csv_options_set_mode(options, EMBER_CSV_FAILFAST);
            assert_int_equal(ember_read_csv(s, path, options, &frame), EMBER_OK);
            assert_int_equal(ember_count(frame, &counted), EMBER_ERROR_CSV);
            if (!strstr(ember_session_error(s), expected_line))
                fail_msg("threads %d: '%s' lacks '%s'", threads, ember_session_error(s),
                         expected_line);
            ember_frame_free(frame);
            ember_csv_options_free(options);
            ember_session_close(s);
            ember_session_options_free(so);
        }
        unlink(path);
        free(path);
    }
}

static void test_device_choice_errors(void **state) {
    (void)state;
    need_session();
    const char *bad[] = {"banana", "9:9", "0:", "x:0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_session_options *so = ember_session_options_create();
        ember_session_options_set_device(so, bad[i]);
        ember_session *s = NULL;
        assert_int_equal(ember_session_open(&s, so), EMBER_ERROR_NO_DEVICE);
        assert_non_null(s);
        const char *message = ember_session_error(s);
        assert_non_null(strstr(message, bad[i]));
        assert_non_null(strstr(message, "0:0"));
        ember_session_close(s);
        ember_session_options_free(so);
    }
    assert_string_equal(ember_session_error(NULL), "out of memory");
    assert_string_equal(ember_status_str(EMBER_ERROR_CSV), "malformed CSV input");
    assert_string_equal(ember_status_str((ember_status)999), "unknown status");
}

/* Every allocation of read + count, failed in turn: an error with a message, never a crash or
 * a leak (the sanitizer build checks the leaks). */
static void test_allocation_failures(void **state) {
    (void)state;
    need_session();
    char *path = write_generated("oom.csv", 200, false, 5);
    bool succeeded = false;
    for (long n = 1; n < 400 && !succeeded; n++) {
        ember_csv_options *options = ember_csv_options_create();
        if (!options)
            continue;
        ember_csv_options_set_partitions(options, 3);
        ember_frame *frame = NULL;
        int64_t rows = -1;
        ember_alloc_fail_after(n);
        ember_status status = ember_read_csv(session, path, options, &frame);
        if (status == EMBER_OK) {
            ember_cache(frame);
            status = ember_count(frame, &rows);
        }
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            assert_int_equal(rows, 200);
            succeeded = n > 1 ? true : succeeded;
        } else {
            assert_true(strlen(ember_session_error(session)) > 0);
        }
        ember_frame_free(frame);
        ember_csv_options_free(options);
    }
    assert_true(succeeded);
    unlink(path);
    free(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generated_counts_at_many_partition_counts),
        cmocka_unit_test(test_edge_files),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_unreadable_file),
        cmocka_unit_test(test_modes_exact_counts),
        cmocka_unit_test(test_failfast_reports_first_bad_row_of_file),
        cmocka_unit_test(test_inference_samples_whole_file),
        cmocka_unit_test(test_widening_during_action),
        cmocka_unit_test(test_cache_serves_later_actions),
        cmocka_unit_test(test_options_and_thread_counts),
        cmocka_unit_test(test_chunked_split_of_a_large_file),
        cmocka_unit_test(test_device_choice_errors),
        cmocka_unit_test(test_allocation_failures),
    };
    return cmocka_run_group_tests(tests, tu_shared_session_open, tu_shared_session_close);
}
