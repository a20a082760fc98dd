/* test_cli.c: end-to-end tests of the `ember` command and of ember-gen: each case runs the real
 * binary ($EMBER_CLI, $EMBER_GEN) in a child process and checks its stdout, stderr and exit
 * status separately, as a script calling them would see them. */
#include "testutil.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 32

typedef struct run_result {
    int status; /* exit status; 128 + signal when the child was killed */
    char *out;
    size_t out_len;
    char *err;
    size_t err_len;
} run_result;

static void run_result_free(run_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* $name, or the test is skipped: the binaries are only known when ctest runs us. */
static const char *binary_path(const char *name) {
    const char *path = getenv(name);
    if (!path || !*path)
        skip();
    return path;
}

static void redirect(const char *path, int fd, int flags) {
    int opened = open(path, flags, 0644);
    if (opened < 0 || dup2(opened, fd) < 0)
        _exit(126);
    close(opened);
}

/* Runs binary with the arguments (NULL-terminated list), stdin from /dev/null, stdout and
 * stderr into scratch files (no pipe can fill up and stall the child). */
static void run_argv(run_result *r, const char *binary, const char *const *args) {
    static int serial;
    char name[64];
    snprintf(name, sizeof name, "run%d.out", serial);
    char *out_path = tu_tmp_path(name);
    snprintf(name, sizeof name, "run%d.err", serial++);
    char *err_path = tu_tmp_path(name);

    const char *argv[MAX_ARGS + 2] = {binary};
    size_t n = 1;
    for (; args[n - 1]; n++) {
        assert_true(n <= MAX_ARGS);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;

    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        redirect("/dev/null", STDIN_FILENO, O_RDONLY);
        redirect(out_path, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
        redirect(err_path, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
        execv(binary, (char *const *)argv);
        _exit(127);
    }
    int wstatus;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    if (WIFEXITED(wstatus))
        r->status = WEXITSTATUS(wstatus);
    else
        r->status = 128 + WTERMSIG(wstatus);
    r->out = tu_read_file(out_path, &r->out_len);
    r->err = tu_read_file(err_path, &r->err_len);
    assert_non_null(r->out);
    assert_non_null(r->err);
    unlink(out_path);
    unlink(err_path);
    free(out_path);
    free(err_path);
    assert_true(r->status != 127); /* exec failed */
}

/* Convenience: the rest of the arguments, NULL-terminated. */
static void run_tool(run_result *r, const char *env_name, va_list ap) {
    const char *args[MAX_ARGS + 1];
    size_t n = 0;
    const char *arg;
    while ((arg = va_arg(ap, const char *)) != NULL) {
        assert_true(n < MAX_ARGS);
        args[n++] = arg;
    }
    args[n] = NULL;
    run_argv(r, binary_path(env_name), args);
}

static void ember(run_result *r, ...) {
    va_list ap;
    va_start(ap, r);
    run_tool(r, "EMBER_CLI", ap);
    va_end(ap);
}

static void gen(run_result *r, ...) {
    va_list ap;
    va_start(ap, r);
    run_tool(r, "EMBER_GEN", ap);
    va_end(ap);
}

/* The count tests need an OpenCL device; a machine without one skips them, as the library's
 * own tests do. Asked once, through the command itself. */
static void require_device(void) {
    static int have = -1;
    if (have < 0) {
        run_result r;
        ember(&r, "devices", "--format", "csv", NULL);
        have = r.status == 0 && strstr(r.out, ",yes\n") != NULL;
        run_result_free(&r);
    }
    if (!have)
        skip();
}

static char *write_scratch(const char *name, const char *text) {
    char *path = tu_tmp_path(name);
    tu_write_text(path, text);
    return path;
}

static size_t count_char(const char *text, char c) {
    size_t n = 0;
    for (; *text; text++)
        n += *text == c;
    return n;
}

/* Exactly "count\nN\n" on stdout, exit 0. */
static void assert_count(const run_result *r, long long expected) {
    if (r->status != 0)
        fail_msg("exit %d, stderr: %s", r->status, r->err);
    char want[64];
    snprintf(want, sizeof want, "count\n%lld\n", expected);
    assert_string_equal(r->out, want);
}

/* An error: the exit code, nothing on stdout, one line on stderr starting "ember: error: ". */
static void assert_error(const run_result *r, int code) {
    if (r->status != code)
        fail_msg("expected exit %d, got %d; stdout: %s; stderr: %s", code, r->status, r->out,
                 r->err);
    assert_int_equal(r->out_len, 0);
    assert_true(strncmp(r->err, "ember: error: ", 14) == 0);
    assert_int_equal(count_char(r->err, '\n'), 1);
    assert_int_equal(r->err[r->err_len - 1], '\n');
}

/* Runs `ember count PATH EXTRA...` and checks the count. */
static void check_count(const char *path, long long expected, const char *extra1,
                        const char *extra2) {
    run_result r;
    ember(&r, "count", path, extra1, extra2, NULL);
    assert_count(&r, expected);
    run_result_free(&r);
}

static const char SMALL_CSV[] = "id,name,qty\n"
                                "1,apple,3\n"
                                "2,banana,5\n"
                                "3,\"cherry, red\",7\n"
                                "4,date,\n"
                                "5,elder,1\n";

/* ---- count ---------------------------------------------------------------------------- */

static void test_count_small(void **state) {
    require_device();
    char *path = write_scratch("small.csv", SMALL_CSV);
    check_count(path, 5, NULL, NULL);
    check_count(path, 5, "--format", "csv");
    check_count(path, 5, "--format=csv", NULL);
    unlink(path);
    free(path);
}

static void test_count_no_header(void **state) {
    require_device();
    char *path = write_scratch("noheader.csv", "1,apple,3\n2,banana,5\n3,cherry,7\n");
    check_count(path, 3, "--no-header", NULL);
    check_count(path, 2, NULL, NULL); /* the first line is taken as the header */
    unlink(path);
    free(path);
}

static void test_count_delimiter(void **state) {
    require_device();
    char *semi = write_scratch("semi.csv", "id;name\n1;a,b\n2;c\n3;d\n");
    check_count(semi, 3, "--delimiter", ";");
    check_count(semi, 3, "--delimiter=;", NULL);
    char *tab = write_scratch("tab.csv", "id\tname\n1\ta,b\n2\tc\n");
    check_count(tab, 2, "--delimiter", "tab");
    check_count(tab, 2, "--delimiter", "\\t");
    check_count(tab, 2, "--delimiter", "\t");
    unlink(semi);
    unlink(tab);
    free(semi);
    free(tab);
}

static char *write_rows(const char *name, int rows) {
    size_t cap = (size_t)rows * 32 + 64, used = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    used += (size_t)snprintf(text, cap, "id,word,value\n");
    for (int i = 1; i <= rows; i++)
        used += (size_t)snprintf(text + used, cap - used, "%d,w%d,%d.5\n", i, i % 7, i * 3);
    char *path = write_scratch(name, text);
    free(text);
    return path;
}

static void test_count_partitions(void **state) {
    require_device();
    char *path = write_rows("parts.csv", 1000);
    check_count(path, 1000, "--partitions", "1");
    check_count(path, 1000, "--partitions", "3");
    check_count(path, 1000, "--partitions=50", NULL);
    /* Options before the file work the same. */
    run_result r;
    ember(&r, "count", "--partitions", "7", path, NULL);
    assert_count(&r, 1000);
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_count_quoted_newlines(void **state) {
    require_device();
    char *path = write_scratch("quoted.csv", "id,text\n"
                                             "1,\"line one\nline two\"\n"
                                             "2,plain\n"
                                             "3,\"a\r\nb, \"\"c\"\"\"\n");
    check_count(path, 3, NULL, NULL);
    check_count(path, 3, "--partitions", "3");
    unlink(path);
    free(path);
}

static const char SHORT_ROW_CSV[] = "a,b,c\n"
                                    "1,2,3\n"
                                    "4,5\n"
                                    "6,7,8\n";

static void test_count_modes(void **state) {
    require_device();
    char *path = write_scratch("short.csv", SHORT_ROW_CSV);
    check_count(path, 3, NULL, NULL);
    check_count(path, 3, "--mode", "permissive");
    check_count(path, 2, "--mode", "dropmalformed");
    check_count(path, 2, "--mode=DROPMALFORMED", NULL);

    run_result r;
    ember(&r, "count", path, "--mode", "failfast", NULL);
    assert_error(&r, 1);
    /* The message names the line of the short row: line 3 of the file. */
    if (!strstr(r.err, ":3:") && !strstr(r.err, "line 3"))
        fail_msg("no line number in: %s", r.err);
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_count_schema(void **state) {
    require_device();
    char *path = write_scratch("schema.csv", "id,name\n1,a\nx,b\n3,c\n");
    const char *schema = "id:int64,name:string";
    check_count(path, 3, "--schema", schema);
    /* As in Spark, count converts no column, so a value that does not fit its type is not a
     * malformed row for count, even in FAILFAST (docs/cli.md says so); a short row is. */
    run_result r;
    ember(&r, "count", path, "--schema", schema, "--mode", "failfast", NULL);
    assert_count(&r, 3);
    run_result_free(&r);
    ember(&r, "count", path, "--schema", schema, "--mode", "dropmalformed", NULL);
    assert_count(&r, 3);
    run_result_free(&r);

    ember(&r, "count", path, "--schema", "id:int64,name:strin", NULL);
    assert_error(&r, 1);
    if (!strstr(r.err, "unknown type \"strin\""))
        fail_msg("the bad type is not named in: %s", r.err);
    run_result_free(&r);

    char *wide = write_scratch("schema-wide.csv", "id,name,v\n1,a,2\n2,b\n3,c,4\n");
    ember(&r, "count", wide, "--schema", "id:int64,name:string,v:int64", "--mode", "failfast",
          NULL);
    assert_error(&r, 1);
    if (!strstr(r.err, ":3: malformed row"))
        fail_msg("the short row's line is not named in: %s", r.err);
    run_result_free(&r);
    unlink(wide);
    free(wide);
    unlink(path);
    free(path);
}

static void test_count_table_format(void **state) {
    require_device();
    char *path = write_rows("table.csv", 1234);
    run_result r;
    ember(&r, "count", path, "--format", "table", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "1234"));
    assert_non_null(strstr(r.out, "count"));
    assert_string_not_equal(r.out, "count\n1234\n");
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_count_verbose(void **state) {
    require_device();
    char *path = write_rows("verbose.csv", 100);
    run_result r;
    ember(&r, "count", "--verbose", path, "--partitions", "2", NULL);
    assert_count(&r, 100);
    assert_non_null(strstr(r.err, "rows"));
    assert_non_null(strstr(r.err, "partitions"));
    assert_int_equal(count_char(r.err, '\n'), 1);
    run_result_free(&r);

    /* Without --verbose, and stderr not a terminal: no summary. */
    ember(&r, "count", path, NULL);
    assert_count(&r, 100);
    assert_int_equal(r.err_len, 0);
    run_result_free(&r);
    unlink(path);
    free(path);
}

/* ---- run-time errors ------------------------------------------------------------------ */

static void test_error_missing_file(void **state) {
    require_device();
    char *path = tu_tmp_path("does-not-exist.csv");
    run_result r;
    ember(&r, "count", path, NULL);
    assert_error(&r, 1);
    run_result_free(&r);
    free(path);
}

static void test_error_directory(void **state) {
    require_device();
    char *path = tu_tmp_path("a-directory");
    assert_int_equal(mkdir(path, 0755), 0);
    run_result r;
    ember(&r, "count", path, NULL);
    assert_error(&r, 1);
    run_result_free(&r);
    rmdir(path);
    free(path);
}

static void test_error_bad_device(void **state) {
    require_device();
    run_result devices;
    ember(&devices, "devices", "--format", "csv", NULL);
    assert_int_equal(devices.status, 0);
    /* The first device's "P:D" index, to find in the error's list of devices. */
    const char *row = strchr(devices.out, '\n') + 1;
    char index[32];
    size_t len = strcspn(row, ",");
    assert_true(len > 0 && len < sizeof index);
    memcpy(index, row, len);
    index[len] = '\0';

    char *path = write_scratch("device.csv", SMALL_CSV);
    run_result r;
    ember(&r, "count", path, "--device", "banana", NULL);
    assert_error(&r, 1);
    if (!strstr(r.err, index))
        fail_msg("device %s not listed in: %s", index, r.err);
    run_result_free(&r);
    run_result_free(&devices);
    unlink(path);
    free(path);
}

/* ---- usage errors --------------------------------------------------------------------- */

static void check_usage_error(const char *a, const char *b, const char *c, const char *d) {
    run_result r;
    ember(&r, a, b, c, d, NULL);
    assert_error(&r, 2);
    run_result_free(&r);
}

static void test_usage_errors(void **state) {
    /* The file exists, so only the bad usage can be the reason for each failure. */
    char *path = write_scratch("usage.csv", SMALL_CSV);
    check_usage_error("count", path, "--bogus", NULL);
    check_usage_error("count", "--bogus", path, NULL);
    check_usage_error("frobnicate", path, NULL, NULL);
    check_usage_error("count", NULL, NULL, NULL);
    check_usage_error("count", "--partitions", "3", NULL);
    check_usage_error("count", path, "--partitions", "0");
    check_usage_error("count", path, "--partitions", "abc");
    check_usage_error("count", path, "--partitions", "-4");
    check_usage_error("count", path, "--partitions=99999999999", NULL);
    check_usage_error("count", path, "--mode", "bogus");
    check_usage_error("count", path, "--format", "bogus");
    check_usage_error("count", path, "--delimiter", "ab");
    check_usage_error("count", path, "--delimiter", "\"");
    check_usage_error("count", path, path, NULL);
    check_usage_error("count", path, "--device", NULL);
    check_usage_error("count", path, "--no-header=yes", NULL);
    check_usage_error("devices", "--partitions", "3", NULL);
    check_usage_error("devices", "extra", NULL, NULL);
    check_usage_error("--bogus", NULL, NULL, NULL);
    check_usage_error("help", "frobnicate", NULL, NULL);
    unlink(path);
    free(path);
}

static void test_no_command(void **state) {
    run_result r;
    ember(&r, NULL);
    assert_int_equal(r.status, 2);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "Usage"));
    run_result_free(&r);
}

/* ---- groupby -------------------------------------------------------------------------- */

/* Region, category, qty, price; a null region, a null qty and a null price. */
static const char SALES_CSV[] = "region,category,qty,price\n"
                                "EU,fruit,3,1.5\n"
                                "US,fruit,5,2.0\n"
                                "EU,veg,2,0.5\n"
                                "EU,fruit,1,2.5\n"
                                "US,veg,,1.0\n"
                                ",fruit,4,3.0\n"
                                "EU,veg,6,\n";

/* The groupby tests need the library's group-by; until it exists (an error saying it is not
 * implemented) they are skipped, not failed. */
static void require_groupby(const char *path) {
    require_device();
    static int have = -1;
    if (have < 0) {
        run_result r;
        ember(&r, "groupby", path, "--by", "category", NULL);
        have = !(r.status == 1 && strstr(r.err, "not implemented"));
        run_result_free(&r);
    }
    if (!have)
        skip();
}

/* Exit 0, exactly expected on stdout, nothing on stderr. */
static void assert_output(const run_result *r, const char *expected) {
    if (r->status != 0)
        fail_msg("exit %d, stderr: %s", r->status, r->err);
    assert_string_equal(r->out, expected);
    assert_int_equal(r->err_len, 0);
}

static int compare_lines(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The header line, then the other lines in any order: groups come unsorted without --sort. */
static void assert_output_unordered(const run_result *r, const char *header,
                                    const char *const *lines, size_t count) {
    if (r->status != 0)
        fail_msg("exit %d, stderr: %s", r->status, r->err);
    size_t header_len = strlen(header);
    assert_true(strncmp(r->out, header, header_len) == 0);
    char *rest = strdup(r->out + header_len);
    assert_non_null(rest);
    char *got[16];
    size_t n = 0;
    for (char *line = strtok(rest, "\n"); line; line = strtok(NULL, "\n")) {
        assert_true(n < 16);
        got[n++] = line;
    }
    assert_int_equal(n, count);
    qsort(got, n, sizeof *got, compare_lines);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(got[i], lines[i]); /* lines are given sorted */
    free(rest);
}

static void test_groupby_count(void **state) {
    char *path = write_scratch("gb-count.csv", SALES_CSV);
    require_groupby(path);
    run_result r;
    ember(&r, "groupby", path, "--by", "category", "--sort", NULL);
    assert_output(&r, "category,count\nfruit,4\nveg,3\n");
    run_result_free(&r);
    ember(&r, "groupby", path, "--by=category", "--agg", "count", "--sort", "--format=csv", NULL);
    assert_output(&r, "category,count\nfruit,4\nveg,3\n");
    run_result_free(&r);

    /* Without --sort the order is unspecified; the groups are the same. */
    static const char *const groups[] = {"fruit,4", "veg,3"};
    ember(&r, "groupby", "--by", "category", path, NULL);
    assert_output_unordered(&r, "category,count\n", groups, 2);
    run_result_free(&r);
    ember(&r, "groupby", "--by", "category", path, "--partitions", "3", NULL);
    assert_output_unordered(&r, "category,count\n", groups, 2);
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_groupby_aggregates(void **state) {
    char *path = write_scratch("gb-aggs.csv", SALES_CSV);
    require_groupby(path);
    run_result r;
    /* Checked by hand: EU/fruit holds (3, 1.5) and (1, 2.5); EU/veg (2, 0.5) and (6, null);
     * US/veg has no qty, so its sum is null; the null region sorts last. */
    static const char expected[] = "region,category,count,sum_qty,min_price,max_price,mean_price\n"
                                   "EU,fruit,2,4,1.5,2.5,2.0\n"
                                   "EU,veg,2,8,0.5,0.5,0.5\n"
                                   "US,fruit,1,5,2.0,2.0,2.0\n"
                                   "US,veg,1,,1.0,1.0,1.0\n"
                                   ",fruit,1,4,3.0,3.0,3.0\n";
    ember(&r, "groupby", path, "--by", "region,category", "--agg", "count", "--agg", "sum:qty",
          "--agg", "min:price", "--agg", "max:price", "--agg", "mean:price", "--sort", NULL);
    assert_output(&r, expected);
    run_result_free(&r);
    ember(&r, "groupby", path, "--by", "region,category", "--agg", "count", "--agg", "sum:qty",
          "--agg", "min:price", "--agg", "max:price", "--agg", "mean:price", "--sort",
          "--partitions", "4", NULL);
    assert_output(&r, expected);
    run_result_free(&r);

    /* mean of an int64 column is float64; count:COL counts the non-null values. */
    ember(&r, "groupby", path, "--by", "category", "--agg", "mean:qty", "--agg", "count:qty",
          "--sort", NULL);
    assert_output(&r, "category,mean_qty,count_qty\nfruit,3.25,4\nveg,4.0,2\n");
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_groupby_null_keys(void **state) {
    char *path = write_scratch("gb-nulls.csv", "k,v\n1,10\n,20\n1,30\n,40\n2,\n");
    require_groupby(path);
    run_result r;
    /* The null key is a group of its own, sorted last; a group with no values has a null
     * sum and a zero count. */
    ember(&r, "groupby", path, "--by", "k", "--agg", "sum:v", "--agg", "count:v", "--sort", NULL);
    assert_output(&r, "k,sum_v,count_v\n1,40,2\n2,,0\n,60,2\n");
    run_result_free(&r);

    /* String keys come back quoted where CSV needs it. */
    char *quoted = write_scratch("gb-quoted.csv", "name,v\n\"a,b\",1\nc,2\n\"a,b\",3\n\"\",4\n");
    ember(&r, "groupby", quoted, "--by", "name", "--agg", "sum:v", "--sort", NULL);
    assert_output(&r, "name,sum_v\n\"\",4\n\"a,b\",4\nc,2\n");
    run_result_free(&r);
    unlink(quoted);
    free(quoted);
    unlink(path);
    free(path);
}

static void test_groupby_table_format(void **state) {
    char *path = write_scratch("gb-table.csv", SALES_CSV);
    require_groupby(path);
    run_result r;
    ember(&r, "groupby", path, "--by", "category", "--sort", "--format", "table", NULL);
    assert_output(&r, "+--------+-----+\n"
                      "|category|count|\n"
                      "+--------+-----+\n"
                      "|fruit   |    4|\n"
                      "|veg     |    3|\n"
                      "+--------+-----+\n");
    run_result_free(&r);
    ember(&r, "groupby", path, "--by", "region", "--agg", "sum:qty", "--sort", "--format", "table",
          NULL);
    assert_output(&r, "+------+-------+\n"
                      "|region|sum_qty|\n"
                      "+------+-------+\n"
                      "|EU    |     12|\n"
                      "|US    |      5|\n"
                      "|null  |      4|\n"
                      "+------+-------+\n");
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_groupby_verbose(void **state) {
    char *path = write_scratch("gb-verbose.csv", SALES_CSV);
    require_groupby(path);
    run_result r;
    ember(&r, "groupby", path, "--by", "category", "--sort", "--verbose", NULL);
    if (r.status != 0)
        fail_msg("exit %d, stderr: %s", r.status, r.err);
    assert_string_equal(r.out, "category,count\nfruit,4\nveg,3\n");
    assert_non_null(strstr(r.err, "7 rows"));
    assert_int_equal(count_char(r.err, '\n'), 1);
    run_result_free(&r);
    unlink(path);
    free(path);
}

/* `ember groupby PATH ARGS...` fails with code, and the message holds needle (when given). */
static void check_groupby_error(const char *path, int code, const char *needle, const char *a,
                                const char *b, const char *c, const char *d) {
    run_result r;
    ember(&r, "groupby", path, a, b, c, d, NULL);
    assert_error(&r, code);
    if (needle && !strstr(r.err, needle))
        fail_msg("'%s' is not in: %s", needle, r.err);
    run_result_free(&r);
}

static void test_groupby_errors(void **state) {
    char *path = write_scratch("gb-errors.csv", SALES_CSV);
    /* Usage errors are found before any device is needed. */
    check_groupby_error(path, 2, "--by", NULL, NULL, NULL, NULL);
    check_groupby_error(path, 2, "--by", "--agg", "sum:qty", NULL, NULL);
    check_groupby_error(path, 2, "4", "--by", "region,category,qty,price,region", NULL, NULL);
    check_groupby_error(path, 2, "empty", "--by", "region,,qty", NULL, NULL);
    check_groupby_error(path, 2, "empty", "--by", "region,", NULL, NULL);
    check_groupby_error(path, 2, "empty", "--by", "", NULL, NULL);
    check_groupby_error(path, 2, NULL, "--by", "region", "--by", "category");
    check_groupby_error(path, 2, NULL, "--by", NULL, NULL, NULL);
    check_groupby_error(path, 2, NULL, "--by", "region", "--sort=yes", NULL);
    check_groupby_error(path, 2, NULL, "--by", "region", path, NULL);
    check_groupby_error(path, 2, NULL, "--by", "region", "--format", "json");
    check_groupby_error("--by", 2, "FILE", "region", NULL, NULL, NULL); /* no FILE */
    check_usage_error("count", path, "--by", "region");                 /* count has no --by */

    /* Run-time errors, reported by the library with what is wrong. */
    require_groupby(path);
    check_groupby_error(path, 1, "nosuch", "--by", "nosuch", NULL, NULL);
    check_groupby_error(path, 1, "nosuch", "--by", "region", "--agg", "sum:nosuch");
    check_groupby_error(path, 1, "bogus", "--by", "region", "--agg", "bogus");
    check_groupby_error(path, 1, NULL, "--by", "region", "--agg", "sum:");
    check_groupby_error(path, 1, NULL, "--by", "region", "--agg", "");
    check_groupby_error(path, 1, "category", "--by", "region", "--agg", "sum:category");
    check_groupby_error(path, 1, NULL, "--by", "region", "--agg", "median:qty");

    char *big = write_scratch("gb-overflow.csv", "k,v\na,9223372036854775807\na,1\nb,1\n");
    check_groupby_error(big, 1, "overflow", "--by", "k", "--agg", "sum:v");
    unlink(big);
    free(big);
    unlink(path);
    free(path);
}

/* ---- --where, map, range --------------------------------------------------------------- */

static void test_where(void **state) {
    char *path = write_scratch("where.csv", SALES_CSV);
    require_groupby(path);
    /* By hand: qty > 2 holds for 3, 5, 4, 6 (a null qty is dropped, as SQL's WHERE does). */
    check_count(path, 4, "--where", "qty > 2");
    check_count(path, 4, "--where", "region = 'EU'");
    check_count(path, 3, "--where=qty > 1 and region = 'EU'", NULL);
    check_count(path, 0, "--where", "false");
    run_result r;
    ember(&r, "count", path, "--where", "qty > 1 and region = 'EU'", "--partitions", "3", NULL);
    assert_count(&r, 3);
    run_result_free(&r);
    ember(&r, "groupby", path, "--by", "category", "--where", "price >= 1.5", "--agg", "sum:qty",
          "--sort", NULL);
    assert_output(&r, "category,sum_qty\nfruit,13\n");
    run_result_free(&r);
    ember(&r, "count", path, "--where", "qty + ", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "position"));
    run_result_free(&r);
    ember(&r, "count", path, "--where", "qty", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "not a boolean"));
    run_result_free(&r);
    ember(&r, "count", path, "--where", "a", "--where", "b", NULL);
    assert_error(&r, 2);
    run_result_free(&r);
    unlink(path);
    free(path);
}

static const char MAP_EXPECTED[] = "region,qty,revenue\n"
                                   "EU,3,4.5\n"
                                   "US,5,10.0\n"
                                   "EU,2,1.0\n"
                                   "EU,1,2.5\n"
                                   "US,,\n"
                                   ",4,12.0\n"
                                   "EU,6,\n";

static void test_map(void **state) {
    char *path = write_scratch("map.csv", SALES_CSV);
    require_groupby(path);
    run_result r;
    /* Rows in file order at any partition count; a null operand gives a null (empty) field. */
    ember(&r, "map", path, "--expr", "price * qty", "--as", "revenue", "--select", "region,qty",
          NULL);
    assert_output(&r, MAP_EXPECTED);
    run_result_free(&r);
    ember(&r, "map", path, "--expr", "price * qty", "--as", "revenue", "--select", "region,qty",
          "--partitions", "3", NULL);
    assert_output(&r, MAP_EXPECTED);
    run_result_free(&r);
    /* Every input column by default, then the new one ("value" unless --as says). */
    ember(&r, "map", path, "--expr", "if(qty > 2, 'big', 'small')", "--where", "region = 'US'",
          NULL);
    /* if() with a null condition takes the else branch (docs/expressions.md). */
    assert_output(&r, "region,category,qty,price,value\nUS,fruit,5,2.0,big\nUS,veg,,1.0,small\n");
    run_result_free(&r);
    /* --output: the same CSV in a file, nothing on stdout. */
    char *out = tu_tmp_path("map-out.csv");
    ember(&r, "map", path, "--expr", "price * qty", "--as", "revenue", "--select", "region,qty",
          "--output", out, NULL);
    assert_output(&r, "");
    run_result_free(&r);
    FILE *f = fopen(out, "r");
    assert_non_null(f);
    char text[512] = {0};
    size_t got = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    assert_int_equal(got, strlen(MAP_EXPECTED));
    assert_string_equal(text, MAP_EXPECTED);
    unlink(out);
    free(out);
    /* Errors: unknown column with the list, a directory that does not exist, usage. */
    ember(&r, "map", path, "--expr", "price * qtx", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "expression \"price * qtx\", position 9: unknown column 'qtx' "
                                  "(columns: region, category, qty, price)"));
    run_result_free(&r);
    ember(&r, "map", path, "--expr", "qty", "--output", "/nonexistent-dir/x.csv", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "/nonexistent-dir/x.csv"));
    run_result_free(&r);
    ember(&r, "map", path, NULL);
    assert_error(&r, 2);
    run_result_free(&r);
    ember(&r, "map", path, "--expr", "qty", "--select", "nosuch", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "nosuch"));
    run_result_free(&r);
    unlink(path);
    free(path);
}

static void test_range(void **state) {
    require_device();
    run_result r;
    ember(&r, "range", "0", "5", NULL);
    assert_output(&r, "value\n0\n1\n2\n3\n4\n");
    run_result_free(&r);
    ember(&r, "range", "0", "5", "--slices", "3", "--map", "value * 2", NULL);
    assert_output(&r, "value\n0\n2\n4\n6\n8\n");
    run_result_free(&r);
    ember(&r, "range", "--slices", "7", "--", "-3", "2", NULL);
    assert_output(&r, "value\n-3\n-2\n-1\n0\n1\n");
    run_result_free(&r);
    /* Closed forms: n (n - 1) / 2; the even values of 0..9 sum to 20. */
    ember(&r, "range", "0", "1000000", "--slices", "7", "--sum", NULL);
    assert_output(&r, "sum\n499999500000\n");
    run_result_free(&r);
    ember(&r, "range", "0", "10", "--where", "value % 2 = 0", "--sum", NULL);
    assert_output(&r, "sum\n20\n");
    run_result_free(&r);
    ember(&r, "range", "5", "5", NULL);
    assert_output(&r, "value\n");
    run_result_free(&r);
    ember(&r, "range", "9223372036854775800", "9223372036854775807", "--sum", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "overflows int64"));
    run_result_free(&r);
    ember(&r, "range", "0", "5", "--map", "nope", NULL);
    assert_error(&r, 1);
    assert_non_null(strstr(r.err, "unknown column 'nope' (columns: value)"));
    run_result_free(&r);
    static const char *const usage[][4] = {
        {"5", NULL}, {"a", "5", NULL}, {"0", "5", "--slices", "0"}, {"0", "5", "6", NULL}};
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        ember(&r, "range", usage[i][0], usage[i][1], usage[i][2], usage[i][3], NULL);
        assert_error(&r, 2);
        run_result_free(&r);
    }
}

/* ---- help, version, devices ----------------------------------------------------------- */

static void check_help(const char *a, const char *b, const char *expect) {
    run_result r;
    ember(&r, a, b, NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.err_len, 0);
    assert_non_null(strstr(r.out, "Usage"));
    if (!strstr(r.out, expect))
        fail_msg("'%s' missing from the help of %s %s", expect, a, b ? b : "");
    run_result_free(&r);
}

static void test_help(void **state) {
    check_help("--help", NULL, "count");
    check_help("-h", NULL, "devices");
    check_help("help", NULL, "count");
    check_help("help", "count", "--partitions");
    check_help("count", "--help", "--partitions");
    check_help("count", "-h", "--null-value");
    check_help("devices", "--help", "default");
    /* Every option of count is documented. */
    static const char *const count_options[] = {
        "--device",    "--partitions", "--mode",   "--schema",  "--delimiter", "--quote",
        "--no-header", "--null-value", "--format", "--verbose", "--help",
    };
    for (size_t i = 0; i < sizeof count_options / sizeof count_options[0]; i++)
        check_help("count", "--help", count_options[i]);
}

static void test_groupby_help(void **state) {
    check_help("--help", NULL, "groupby");
    check_help("help", "groupby", "--by");
    static const char *const options[] = {
        "--by",         "--agg",    "--sort",      "count:COL", "sum:COL",
        "min:COL",      "max:COL",  "mean:COL",    "--device",  "--partitions",
        "--mode",       "--schema", "--delimiter", "--quote",   "--no-header",
        "--null-value", "--format", "--verbose",   "--help",
    };
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        check_help("groupby", "--help", options[i]);
}

static void test_version(void **state) {
    run_result r;
    ember(&r, "--version", NULL);
    assert_int_equal(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "ember %d.%d.%d\n", EMBER_VERSION_MAJOR, EMBER_VERSION_MINOR,
             EMBER_VERSION_PATCH);
    assert_string_equal(r.out, want);
    run_result_free(&r);
}

static void test_devices(void **state) {
    run_result r;
    ember(&r, "devices", NULL); /* stdout is a file: CSV */
    if (r.status == 1 && strstr(r.err, "ember: error:")) {
        run_result_free(&r);
        skip(); /* no OpenCL platform on this machine */
    }
    assert_int_equal(r.status, 0);
    static const char header[] = "device,platform,name,type,compute_units,global_memory,"
                                 "max_allocation,opencl_c,default\n";
    assert_true(strncmp(r.out, header, sizeof header - 1) == 0);
    assert_true(count_char(r.out, '\n') >= 2);
    assert_non_null(strstr(r.out, ",yes\n"));
    /* The index column is "P:D". */
    const char *row = r.out + sizeof header - 1;
    int platform = -1, device = -1;
    assert_int_equal(sscanf(row, "%d:%d,", &platform, &device), 2);
    assert_true(platform >= 0 && device >= 0);
    run_result_free(&r);

    ember(&r, "devices", "--format", "table", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "compute_units"));
    assert_non_null(strstr(r.out, "yes"));
    assert_null(strstr(r.out, ",yes"));
    run_result_free(&r);
}

/* ---- ember-gen ------------------------------------------------------------------------ */

static char *gen_file(const char *name, const char *rows, const char *seed, const char *skew) {
    char *path = tu_tmp_path(name);
    run_result r;
    if (skew)
        gen(&r, "--rows", rows, "--seed", seed, "--skew", skew, "--output", path, NULL);
    else
        gen(&r, "--rows", rows, "--seed", seed, "--output", path, NULL);
    if (r.status != 0)
        fail_msg("ember-gen exit %d: %s", r.status, r.err);
    assert_int_equal(r.out_len, 0);
    run_result_free(&r);
    return path;
}

static void test_gen_deterministic(void **state) {
    char *a = gen_file("gen-a.csv", "5000", "7", NULL);
    char *b = gen_file("gen-b.csv", "5000", "7", NULL);
    char *c = gen_file("gen-c.csv", "5000", "8", NULL);
    size_t a_len, b_len, c_len;
    char *a_text = tu_read_file(a, &a_len);
    char *b_text = tu_read_file(b, &b_len);
    char *c_text = tu_read_file(c, &c_len);
    assert_int_equal(a_len, b_len);
    assert_memory_equal(a_text, b_text, a_len);
    assert_true(a_len != c_len || memcmp(a_text, c_text, a_len) != 0);

    /* Standard output carries the same bytes as --output. */
    run_result r;
    gen(&r, "--rows", "5000", "--seed=7", NULL);
    assert_int_equal(r.status, 0);
    assert_int_equal(r.out_len, a_len);
    assert_memory_equal(r.out, a_text, a_len);
    run_result_free(&r);

    free(a_text);
    free(b_text);
    free(c_text);
    unlink(a);
    unlink(b);
    unlink(c);
    free(a);
    free(b);
    free(c);
}

static bool is_price(const char *text, size_t len) {
    /* digits "." two digits, 0.50 .. 999.99 */
    if (len < 4 || text[len - 3] != '.')
        return false;
    long cents = 0;
    for (size_t i = 0; i < len; i++) {
        if (i == len - 3)
            continue;
        if (text[i] < '0' || text[i] > '9')
            return false;
        cents = cents * 10 + (text[i] - '0');
    }
    if (len > 4 && text[0] == '0')
        return false;
    return cents >= 50 && cents <= 99999;
}

static void test_gen_values(void **state) {
    char *path = gen_file("gen-values.csv", "1000", "3", NULL);
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    assert_int_equal(count_char(text, '\n'), 1001);
    static const char header[] = "id,category,region,user_id,qty,price\n";
    assert_true(strncmp(text, header, sizeof header - 1) == 0);

    static const char *const regions[] = {"EU", "US", "APAC", "LATAM", "MEA", "CA", "UK", "ANZ"};
    long expected_id = 1;
    for (char *line = text + sizeof header - 1; *line; expected_id++) {
        char *end = strchr(line, '\n');
        assert_non_null(end);
        *end = '\0';
        char category[16], region[16], price[16];
        long id, user, qty;
        int used = 0;
        if (sscanf(line, "%ld,%15[^,],%15[^,],%ld,%ld,%15[^,\n]%n", &id, category, region, &user,
                   &qty, price, &used) != 6 ||
            line[used] != '\0')
            fail_msg("bad line: %s", line);
        assert_int_equal(id, expected_id);
        assert_true(strlen(category) == 8 && strncmp(category, "cat_", 4) == 0);
        for (int i = 4; i < 8; i++)
            assert_true(category[i] >= '0' && category[i] <= '9');
        bool known = false;
        for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++)
            known |= strcmp(region, regions[i]) == 0;
        if (!known)
            fail_msg("unknown region %s", region);
        assert_true(user >= 1 && user <= 100); /* rows / 10 users */
        assert_true(qty >= 1 && qty <= 100);
        if (!is_price(price, strlen(price)))
            fail_msg("bad price %s", price);
        line = end + 1;
    }
    assert_int_equal(expected_id, 1001);
    free(text);
    unlink(path);
    free(path);
}

static void test_gen_skew(void **state) {
    char *path = gen_file("gen-skew.csv", "20000", "5", "1.1");
    char *text = tu_read_file(path, NULL);
    assert_non_null(text);
    static int counts[1000];
    memset(counts, 0, sizeof counts);
    for (const char *p = strstr(text, "\n1,"); p; p = strchr(p + 1, '\n')) {
        const char *cat = strstr(p, ",cat_");
        if (!cat)
            break;
        counts[atoi(cat + 5)]++;
    }
    int top = 0;
    for (int i = 1; i < 1000; i++) {
        if (counts[i] > counts[top])
            top = i;
    }
    assert_int_equal(top, 0);
    assert_true(counts[0] > 2 * counts[9]); /* heavy head, not noise */
    free(text);
    unlink(path);
    free(path);
}

static void test_gen_count(void **state) {
    require_device();
    char *path = gen_file("gen-count.csv", "12345", "11", NULL);
    check_count(path, 12345, NULL, NULL);
    check_count(path, 12345, "--partitions", "7");
    unlink(path);
    free(path);
}

static void test_gen_usage_errors(void **state) {
    static const char *const cases[][3] = {
        {"--rows", "abc", NULL}, {"--rows", "-5", NULL},   {"--seed", "1", NULL},
        {"--bogus", NULL, NULL}, {"--rows", "5", "extra"}, {"--skew", "x", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_result r;
        gen(&r, cases[i][0], cases[i][1], cases[i][2], NULL);
        assert_int_equal(r.status, 2);
        assert_int_equal(r.out_len, 0);
        assert_true(strncmp(r.err, "ember-gen: error: ", 18) == 0);
        run_result_free(&r);
    }
    run_result r;
    gen(&r, "--help", NULL);
    assert_int_equal(r.status, 0);
    assert_non_null(strstr(r.out, "Usage"));
    run_result_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_count_small),
        cmocka_unit_test(test_where),
        cmocka_unit_test(test_map),
        cmocka_unit_test(test_range),
        cmocka_unit_test(test_count_no_header),
        cmocka_unit_test(test_count_delimiter),
        cmocka_unit_test(test_count_partitions),
        cmocka_unit_test(test_count_quoted_newlines),
        cmocka_unit_test(test_count_modes),
        cmocka_unit_test(test_count_schema),
        cmocka_unit_test(test_count_table_format),
        cmocka_unit_test(test_count_verbose),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_error_directory),
        cmocka_unit_test(test_error_bad_device),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_no_command),
        cmocka_unit_test(test_groupby_count),
        cmocka_unit_test(test_groupby_aggregates),
        cmocka_unit_test(test_groupby_null_keys),
        cmocka_unit_test(test_groupby_table_format),
        cmocka_unit_test(test_groupby_verbose),
        cmocka_unit_test(test_groupby_errors),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_groupby_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_gen_deterministic),
        cmocka_unit_test(test_gen_values),
        cmocka_unit_test(test_gen_skew),
        cmocka_unit_test(test_gen_count),
        cmocka_unit_test(test_gen_usage_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
