/* test_csv_spectrum.c: the csv-spectrum edge cases parse to their expected JSON through the
 * split loader, and the public count agrees with them and with libcsv on two real files. */
#include "testutil.h"

#include <csv.h>
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "data/partition.h"
#include "io/csv_load.h"
#include "io/csv_split.h"
#include "io/schema.h"

/* The cases of csv-spectrum 2.0.0; test_case_list checks that the folder holds no others, so
 * a case added to the data cannot go untested. */
static const char *const cases[] = {
    "comma_in_quotes",      "empty",    "empty_crlf",    "escaped_quotes",      "json",
    "location_coordinates", "newlines", "newlines_crlf", "quotes_and_newlines", "simple",
    "simple_crlf",          "utf8",
};
#define CASE_COUNT (sizeof cases / sizeof cases[0])

static const ember_csv_dialect comma = {',', '"'};

/* ---- A JSON reader for exactly the shape csv-spectrum uses: an array of objects whose
 * values are strings (location_coordinates.json is a bare object: one row). ---- */

typedef struct json_row {
    int count, capacity;
    char **keys;
    char **values; /* NUL-terminated, but may hold NUL bytes from \u0000: see lens */
    size_t *lens;
} json_row;

typedef struct json_rows {
    int count, capacity;
    json_row *items;
} json_rows;

typedef struct json_cursor {
    const char *start, *at, *end;
    const char *name; /* for messages */
} json_cursor;

static void json_skip_space(json_cursor *c) {
    while (c->at < c->end && (*c->at == ' ' || *c->at == '\t' || *c->at == '\n' || *c->at == '\r'))
        c->at++;
}

static void json_expect(json_cursor *c, char ch) {
    json_skip_space(c);
    if (c->at >= c->end || *c->at != ch)
        fail_msg("%s: expected '%c' at offset %td", c->name, ch, c->at - c->start);
    c->at++;
}

static bool json_peek(json_cursor *c, char ch) {
    json_skip_space(c);
    return c->at < c->end && *c->at == ch;
}

static unsigned json_hex4(json_cursor *c) {
    if (c->end - c->at < 4)
        fail_msg("%s: truncated \\u escape", c->name);
    unsigned value = 0;
    for (int i = 0; i < 4; i++) {
        char h = *c->at++;
        value <<= 4;
        if (h >= '0' && h <= '9')
            value |= (unsigned)(h - '0');
        else if (h >= 'a' && h <= 'f')
            value |= (unsigned)(h - 'a' + 10);
        else if (h >= 'A' && h <= 'F')
            value |= (unsigned)(h - 'A' + 10);
        else
            fail_msg("%s: bad hex digit '%c' in \\u escape", c->name, h);
    }
    return value;
}

static size_t utf8_encode(unsigned cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Reads a string literal into a malloc'd buffer. Decoded text is never longer than its
 * escaped form (\uXXXX gives at most 3 bytes for 6, a surrogate pair 4 for 12). */
static char *json_string(json_cursor *c, size_t *len) {
    json_expect(c, '"');
    char *out = malloc((size_t)(c->end - c->at) + 1);
    assert_non_null(out);
    size_t n = 0;
    for (;;) {
        if (c->at >= c->end)
            fail_msg("%s: unterminated string", c->name);
        char ch = *c->at++;
        if (ch == '"')
            break;
        if (ch != '\\') {
            out[n++] = ch;
            continue;
        }
        if (c->at >= c->end)
            fail_msg("%s: truncated escape", c->name);
        char e = *c->at++;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            out[n++] = e;
            break;
        case 'b':
            out[n++] = '\b';
            break;
        case 'f':
            out[n++] = '\f';
            break;
        case 'n':
            out[n++] = '\n';
            break;
        case 'r':
            out[n++] = '\r';
            break;
        case 't':
            out[n++] = '\t';
            break;
        case 'u': {
            unsigned cp = json_hex4(c);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (c->end - c->at < 2 || c->at[0] != '\\' || c->at[1] != 'u')
                    fail_msg("%s: high surrogate without a low one", c->name);
                c->at += 2;
                unsigned low = json_hex4(c);
                if (low < 0xDC00 || low > 0xDFFF)
                    fail_msg("%s: bad low surrogate %04x", c->name, low);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail_msg("%s: lone low surrogate %04x", c->name, cp);
            }
            n += utf8_encode(cp, out + n);
            break;
        }
        default:
            fail_msg("%s: unknown escape \\%c", c->name, e);
        }
    }
    out[n] = '\0';
    *len = n;
    return out;
}

static void json_row_push(json_row *row, char *key, char *value, size_t len) {
    if (row->count == row->capacity) {
        row->capacity = row->capacity ? row->capacity * 2 : 8;
        row->keys = realloc(row->keys, (size_t)row->capacity * sizeof *row->keys);
        row->values = realloc(row->values, (size_t)row->capacity * sizeof *row->values);
        row->lens = realloc(row->lens, (size_t)row->capacity * sizeof *row->lens);
        assert_true(row->keys && row->values && row->lens);
    }
    row->keys[row->count] = key;
    row->values[row->count] = value;
    row->lens[row->count] = len;
    row->count++;
}

static void json_object(json_cursor *c, json_rows *rows) {
    if (rows->count == rows->capacity) {
        rows->capacity = rows->capacity ? rows->capacity * 2 : 8;
        rows->items = realloc(rows->items, (size_t)rows->capacity * sizeof *rows->items);
        assert_non_null(rows->items);
    }
    json_row *row = &rows->items[rows->count++];
    memset(row, 0, sizeof *row);
    json_expect(c, '{');
    if (json_peek(c, '}')) {
        c->at++;
        return;
    }
    for (;;) {
        size_t key_len, value_len;
        char *key = json_string(c, &key_len);
        json_expect(c, ':');
        char *value = json_string(c, &value_len);
        json_row_push(row, key, value, value_len);
        if (json_peek(c, '}')) {
            c->at++;
            return;
        }
        json_expect(c, ',');
    }
}

static void json_parse(const char *text, size_t len, const char *name, json_rows *rows) {
    json_cursor c = {text, text, text + len, name};
    memset(rows, 0, sizeof *rows);
    if (json_peek(&c, '{')) {
        json_object(&c, rows);
    } else {
        json_expect(&c, '[');
        if (json_peek(&c, ']')) {
            c.at++;
        } else {
            for (;;) {
                json_object(&c, rows);
                if (json_peek(&c, ']')) {
                    c.at++;
                    break;
                }
                json_expect(&c, ',');
            }
        }
    }
    json_skip_space(&c);
    if (c.at != c.end)
        fail_msg("%s: trailing bytes after the JSON value", name);
}

static void json_rows_free(json_rows *rows) {
    for (int r = 0; r < rows->count; r++) {
        for (int i = 0; i < rows->items[r].count; i++) {
            free(rows->items[r].keys[i]);
            free(rows->items[r].values[i]);
        }
        free(rows->items[r].keys);
        free(rows->items[r].values);
        free(rows->items[r].lens);
    }
    free(rows->items);
    memset(rows, 0, sizeof *rows);
}

static void test_json_reader(void **state) {
    (void)state;
    const char *text =
        " [ {\"k\":\"a\\\"b\\\\c\\/d\\n\\r\\t\"} ,{ \"\\u00e9\": \"\\u20ac\\ud83d\\ude00\\u0000x\" "
        "}, {}]\n";
    json_rows rows;
    json_parse(text, strlen(text), "inline", &rows);
    assert_int_equal(rows.count, 3);
    assert_int_equal(rows.items[0].count, 1);
    assert_string_equal(rows.items[0].keys[0], "k");
    assert_string_equal(rows.items[0].values[0], "a\"b\\c/d\n\r\t");
    assert_string_equal(rows.items[1].keys[0], "\xC3\xA9");
    assert_int_equal(rows.items[1].lens[0], 3 + 4 + 1 + 1);
    assert_memory_equal(rows.items[1].values[0], "\xE2\x82\xAC\xF0\x9F\x98\x80\0x", 9);
    assert_int_equal(rows.items[2].count, 0);
    json_rows_free(&rows);
}

/* ---- The expected data. ---- */

/* Upstream's location_coordinates.json has "1234567890" for the phone number while its CSV has
 * "2095257564" (an anonymisation applied to one file only). The CSV is the input, so the test
 * expects what the CSV holds; anything else in that file is compared as given. */
static void fix_known_upstream_errors(const char *name, json_rows *rows) {
    if (strcmp(name, "location_coordinates") != 0)
        return;
    assert_int_equal(rows->count, 1);
    for (int i = 0; i < rows->items[0].count; i++) {
        if (strcmp(rows->items[0].keys[i], "Contact Phone Number") == 0 &&
            strcmp(rows->items[0].values[i], "1234567890") == 0) {
            free(rows->items[0].values[i]);
            rows->items[0].values[i] = strdup("2095257564");
            assert_non_null(rows->items[0].values[i]);
            rows->items[0].lens[i] = 10;
        }
    }
}

static void load_expected(const char *name, json_rows *rows) {
    char rel[256];
    snprintf(rel, sizeof rel, "csv-spectrum/json/%s.json", name);
    size_t len = 0;
    char *text = tu_read_file(tu_data_path(rel), &len);
    if (!text)
        fail_msg("cannot read %s", tu_data_path(rel));
    json_parse(text, len, rel, rows);
    free(text);
    fix_known_upstream_errors(name, rows);
}

/* ---- The header, read the way the source reads it (libcsv, no space trimming). ---- */

typedef struct name_list {
    int count, capacity;
    char **names;
    bool done;
} name_list;

static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

static void header_field(void *data, size_t len, void *context) {
    name_list *list = context;
    if (list->done)
        return;
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 8;
        list->names = realloc(list->names, (size_t)list->capacity * sizeof *list->names);
        assert_non_null(list->names);
    }
    char *name = malloc(len + 1);
    assert_non_null(name);
    if (data)
        memcpy(name, data, len);
    name[data ? len : 0] = '\0';
    list->names[list->count++] = name;
}

static void header_record(int terminator, void *context) {
    (void)terminator;
    ((name_list *)context)->done = true;
}

static void name_list_free(name_list *list) {
    for (int i = 0; i < list->count; i++)
        free(list->names[i]);
    free(list->names);
    memset(list, 0, sizeof *list);
}

static void parse_header(const char *buf, size_t begin, size_t end, name_list *out) {
    struct csv_parser parser;
    memset(out, 0, sizeof *out);
    assert_int_equal(csv_init(&parser, CSV_EMPTY_IS_NULL), 0);
    csv_set_space_func(&parser, no_space);
    csv_set_delim(&parser, comma.delimiter);
    csv_set_quote(&parser, comma.quote);
    assert_int_equal(csv_parse(&parser, buf + begin, end - begin, header_field, header_record, out),
                     end - begin);
    assert_int_equal(csv_fini(&parser, header_field, header_record, out), 0);
    csv_free(&parser);
}

/* ---- One case through the split loader. ---- */

static void check_case(const char *name) {
    char rel[256], path[4096];
    snprintf(rel, sizeof rel, "csv-spectrum/csvs/%s.csv", name);
    snprintf(path, sizeof path, "%s", tu_data_path(rel));
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    if (!buf)
        fail_msg("cannot read %s", path);

    size_t begin = ember_csv_bom_length(buf, len);
    int64_t lines = 0;
    size_t header_end = ember_csv_record_end(buf, len, begin, comma, &lines);
    name_list header;
    parse_header(buf, begin, header_end, &header);
    assert_true(header.count > 0);

    ember_error err;
    ember_error_clear(&err);
    ember_schema schema = {0};
    if (ember_schema_create(header.count, header.names, &schema, &err) != EMBER_OK)
        fail_msg("%s: ember_schema_create: %s", name, err.message);

    /* Every case has a one-line header, so the data starts on line 2. */
    assert_int_equal(lines, 1);
    ember_split split = {.begin = header_end, .end = len, .first_line = 2, .first_record = 0};
    ember_csv_config config = {.dialect = comma,
                               .null_value = NULL,
                               .mode = EMBER_CSV_PERMISSIVE,
                               .schema_inferred = false,
                               .path = path};
    ember_type *needed = calloc((size_t)schema.count, sizeof *needed);
    assert_non_null(needed);
    ember_partition part;
    if (ember_csv_parse_split(buf, &split, &schema, NULL, &config, &part, needed, &err) != EMBER_OK)
        fail_msg("%s: ember_csv_parse_split: %s", name, err.message);

    json_rows expected;
    load_expected(name, &expected);
    if (part.rows != expected.count)
        fail_msg("%s: %lld rows, expected %d", name, (long long)part.rows, expected.count);
    /* Every case is well formed, so no row may be padded or cut. */
    assert_int_equal(part.rows_malformed, 0);
    assert_int_equal(part.column_count, schema.count);
    for (int r = 0; r < expected.count; r++) {
        const json_row *row = &expected.items[r];
        if (row->count != schema.count)
            fail_msg("%s: JSON row %d has %d keys, the header %d", name, r, row->count,
                     schema.count);
        for (int k = 0; k < row->count; k++) {
            int c = ember_schema_find(&schema, row->keys[k]);
            if (c < 0)
                fail_msg("%s: JSON key '%s' is not a header name", name, row->keys[k]);
            const ember_column *column = &part.columns[c];
            assert_int_equal(column->type, EMBER_TYPE_STRING);
            assert_int_equal(column->length, part.rows);
            int32_t got_len = 0;
            const char *got = "";
            /* The JSON writes "" for both the null (unquoted empty) and the empty string. */
            if (ember_column_is_valid(column, r))
                got = ember_column_string(column, r, &got_len);
            if ((size_t)got_len != row->lens[k] || memcmp(got, row->values[k], row->lens[k]) != 0)
                fail_msg("%s: row %d column '%s' is \"%.*s\", expected \"%s\"", name, r,
                         row->keys[k], (int)got_len, got, row->values[k]);
        }
    }

    /* empty.csv holds only quoted empty fields: by ember's rule they are empty strings, not
     * nulls (that difference is invisible in the JSON). */
    if (strcmp(name, "empty") == 0 || strcmp(name, "empty_crlf") == 0) {
        for (int c = 0; c < part.column_count; c++)
            assert_int_equal(part.columns[c].null_count, 0);
        assert_true(ember_column_is_valid(&part.columns[1], 0));
        assert_true(ember_column_is_valid(&part.columns[2], 0));
    }

    json_rows_free(&expected);
    ember_partition_clear(&part);
    free(needed);
    ember_schema_clear(&schema);
    name_list_free(&header);
    free(buf);
}

static void test_case(void **state) {
    check_case((const char *)*state);
}

/* The folder holds exactly the listed cases, each with its JSON. */
static void test_case_list(void **state) {
    (void)state;
    DIR *dir = opendir(tu_data_path("csv-spectrum/csvs"));
    assert_non_null(dir);
    size_t found = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        size_t n = strlen(entry->d_name);
        if (n < 5 || strcmp(entry->d_name + n - 4, ".csv") != 0)
            continue;
        bool listed = false;
        for (size_t i = 0; i < CASE_COUNT; i++)
            listed |= strlen(cases[i]) == n - 4 && strncmp(cases[i], entry->d_name, n - 4) == 0;
        if (!listed)
            fail_msg("csv-spectrum/csvs/%s is not in the case list", entry->d_name);
        found++;
    }
    closedir(dir);
    assert_int_equal(found, CASE_COUNT);
}

/* ---- The public API: the count of every case is its JSON row count. ---- */

static int64_t count_file(ember_session *session, const char *path, int partitions) {
    ember_csv_options *options = ember_csv_options_create();
    assert_non_null(options);
    if (partitions > 0)
        assert_int_equal(ember_csv_options_set_partitions(options, partitions), EMBER_OK);
    ember_frame *frame = NULL;
    if (ember_read_csv(session, path, options, &frame) != EMBER_OK)
        fail_msg("ember_read_csv(%s): %s", path, ember_session_error(session));
    int64_t rows = -1;
    if (ember_count(frame, &rows) != EMBER_OK)
        fail_msg("ember_count(%s): %s", path, ember_session_error(session));
    ember_frame_free(frame);
    ember_csv_options_free(options);
    return rows;
}

static void test_public_counts(void **state) {
    (void)state;
    ember_session *session = tu_session_open();
    for (size_t i = 0; i < CASE_COUNT; i++) {
        char rel[256], path[4096];
        snprintf(rel, sizeof rel, "csv-spectrum/csvs/%s.csv", cases[i]);
        snprintf(path, sizeof path, "%s", tu_data_path(rel));
        json_rows expected;
        load_expected(cases[i], &expected);
        int64_t rows = count_file(session, path, 0);
        if (rows != expected.count)
            fail_msg("%s: ember_count gives %lld, expected %d", cases[i], (long long)rows,
                     expected.count);
        json_rows_free(&expected);
    }
    ember_session_close(session);
}

/* ---- Real files: ember_count equals libcsv's own record count, at any partition count. ---- */

static void count_field(void *data, size_t len, void *context) {
    (void)data;
    (void)len;
    (void)context;
}

static void count_record(int terminator, void *context) {
    (void)terminator;
    (*(int64_t *)context)++;
}

/* Records of the whole file by one libcsv pass, set up as the loader sets it up. */
static int64_t libcsv_records(const char *path) {
    size_t len = 0;
    char *buf = tu_read_file(path, &len);
    if (!buf)
        fail_msg("cannot read %s", path);
    size_t begin = ember_csv_bom_length(buf, len);
    struct csv_parser parser;
    assert_int_equal(csv_init(&parser, CSV_EMPTY_IS_NULL), 0);
    csv_set_space_func(&parser, no_space);
    int64_t records = 0;
    assert_int_equal(
        csv_parse(&parser, buf + begin, len - begin, count_field, count_record, &records),
        len - begin);
    assert_int_equal(csv_fini(&parser, count_field, count_record, &records), 0);
    csv_free(&parser);
    free(buf);
    return records;
}

static void test_real_files(void **state) {
    (void)state;
    static const char *const files[] = {"real/titanic.csv", "real/stat_bigrams.csv"};
    static const int partitions[] = {1, 2, 3, 7, 16};
    ember_session *session = tu_session_open();
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", tu_data_path(files[f]));
        int64_t expected = libcsv_records(path) - 1; /* less the header */
        assert_true(expected > 0);
        int64_t rows = count_file(session, path, 0);
        if (rows != expected)
            fail_msg("%s: ember_count gives %lld, libcsv %lld records", files[f], (long long)rows,
                     (long long)expected);
        for (size_t p = 0; p < sizeof partitions / sizeof partitions[0]; p++) {
            rows = count_file(session, path, partitions[p]);
            if (rows != expected)
                fail_msg("%s, %d partitions: ember_count gives %lld, libcsv %lld records", files[f],
                         partitions[p], (long long)rows, (long long)expected);
        }
    }
    ember_session_close(session);
}

int main(void) {
    /* One test per case, named after it, so a failure report says which case broke. */
    struct CMUnitTest tests[CASE_COUNT + 4] = {
        cmocka_unit_test(test_json_reader),
        cmocka_unit_test(test_case_list),
        cmocka_unit_test(test_public_counts),
        cmocka_unit_test(test_real_files),
    };
    for (size_t i = 0; i < CASE_COUNT; i++)
        tests[4 + i] = (struct CMUnitTest){
            .name = cases[i], .test_func = test_case, .initial_state = (void *)cases[i]};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
