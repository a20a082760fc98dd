/* test_csv_split.c: checks the CSV splitter against libcsv itself: at every cut position, the
 * ranges parsed one by one must give exactly the records that the whole buffer gives. */
#include "testutil.h"

#include <csv.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "exec/thread_pool.h"
#include "io/csv_split.h"

/* libcsv.c defines ROW_NOT_BEGUN as 0; its header exposes pstate but not the name. */
#define LIBCSV_ROW_NOT_BEGUN 0

typedef struct field {
    char *bytes;
    size_t len;
    bool null; /* CSV_EMPTY_IS_NULL: an unquoted empty field */
} field;

typedef struct record {
    field *fields;
    size_t count, capacity;
    size_t begin; /* first byte, after any blank lines (byte-wise oracle only) */
    size_t end;   /* past its terminator (CRLF as a whole), or the buffer's end */
} record;

typedef struct record_list {
    record *items;
    size_t count, capacity;
    record pending; /* fields of the row libcsv is delivering */
} record_list;

typedef struct csv_input {
    const char *name;
    const char *data;
    size_t len;
    size_t begin;
    ember_csv_dialect dialect;
} csv_input;

static const ember_csv_dialect comma = {',', '"'};

#define INPUT(name, text)                                                                          \
    {                                                                                              \
        name, text, sizeof(text) - 1, 0, {                                                         \
            ',', '"'                                                                               \
        }                                                                                          \
    }
#define INPUT_DIALECT(name, text, delimiter, quote)                                                \
    {                                                                                              \
        name, text, sizeof(text) - 1, 0, {                                                         \
            delimiter, quote                                                                       \
        }                                                                                          \
    }

static const csv_input inputs[] = {
    INPUT("plain", "a,b,c\n1,2,3\n"),
    INPUT("quoted delimiters", "\"a,b\",c\n\"x,,y\",\"\"\n,\",\"\n"),
    INPUT("doubled quotes", "\"he said \"\"hi\"\"\",2\n\"\"\"\"\n\"\"\"\",\"\"\"a\"\"\"\n"),
    INPUT("line breaks in quotes",
          "\"line1\nline2\",x\r\n\"cr\rinside\",\"crlf\r\ninside\"\r\ny,\"\n\"\r\n\"\r\"\n"),
    INPUT("crlf rows", "a,b\r\nc,d\r\ne,f\r\n"),
    {"bom", "\xEF\xBB\xBFid,name\n1,\"x\ny\"\n2,z\n", 23, 3, {',', '"'}},
    INPUT("blank lines lf", "\n\na,b\n\n\nc\n\n"),
    INPUT("blank lines crlf", "\r\n\r\na\r\n\r\nb,c\r\n\r\n"),
    INPUT("blank lines cr", "\r\r\na\r\rb\n\r"),
    INPUT("no final newline", "a,b\nc,d"),
    INPUT("final newline", "a,b\nc,d\n"),
    INPUT("unterminated quote", "a,b\n\"open,c\nd,e\n"),
    INPUT("quote inside unquoted", "a\"b,c\nd\"\"e,\"f\"\nx\"\n"),
    INPUT("text after closing quote", "\"ab\"cd,e\nf,\"g\"h\ni\n\"j\"\n"),
    INPUT("closing quote then line break", "\"a\"\r\n\"b\"\r\"c\"\n\"d\""),
    INPUT("empty", ""),
    INPUT("single field", "x"),
    INPUT("only blank lines", "\n\r\n\r\r\n"),
    INPUT("empty fields", ",,\n,\"\",\n\"\"\n,\n"),
    INPUT_DIALECT("semicolon", "a;\"b;c\";d\n1;2,3;3\n;\n", ';', '"'),
    INPUT_DIALECT("tab", "a\t\"b\tc\"\n\t\n\"x\"\"y\"\tz", '\t', '"'),
    INPUT_DIALECT("single quote", "'a,b',c\n'it''s',x\n\"q\",'y\nz'\n", ',', '\''),
    /* Dialects where libcsv's order of tests decides; the splitter goes byte by byte. */
    INPUT_DIALECT("delimiter is quote", "a|b|\n|x||y\n||\n", '|', '|'),
    INPUT_DIALECT("delimiter is lf", "a\nb\r\n\"c\nd\"\r\ne\r", '\n', '"'),
    INPUT_DIALECT("quote is lf", "a,\nb\r\n\nc\r\n\n\nd\r", ',', '\n'),
    INPUT_DIALECT("delimiter is cr", "a\rb\n\"c\rd\"\r\ne\n\r", '\r', '"'),
};

static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

static void record_push_field(record *rec, field f) {
    if (rec->count == rec->capacity) {
        rec->capacity = rec->capacity ? rec->capacity * 2 : 4;
        rec->fields = realloc(rec->fields, rec->capacity * sizeof *rec->fields);
        assert_non_null(rec->fields);
    }
    rec->fields[rec->count++] = f;
}

static void on_field(void *bytes, size_t len, void *data) {
    record_list *list = data;
    field f = {malloc(len + 1), len, bytes == NULL};
    assert_non_null(f.bytes);
    if (len)
        memcpy(f.bytes, bytes, len);
    record_push_field(&list->pending, f);
}

static void on_row(int c, void *data) {
    (void)c;
    record_list *list = data;
    if (list->count == list->capacity) {
        list->capacity = list->capacity ? list->capacity * 2 : 16;
        list->items = realloc(list->items, list->capacity * sizeof *list->items);
        assert_non_null(list->items);
    }
    list->items[list->count++] = list->pending;
    memset(&list->pending, 0, sizeof list->pending);
}

static void record_list_free(record_list *list) {
    for (size_t i = 0; i < list->count; i++) {
        for (size_t j = 0; j < list->items[i].count; j++)
            free(list->items[i].fields[j].bytes);
        free(list->items[i].fields);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}

/* A parser set up as the loader sets it up. */
static void parser_init(struct csv_parser *parser, ember_csv_dialect dialect) {
    assert_int_equal(csv_init(parser, CSV_EMPTY_IS_NULL), 0);
    csv_set_space_func(parser, no_space);
    csv_set_delim(parser, dialect.delimiter);
    csv_set_quote(parser, dialect.quote);
}

/* Appends the records of [begin, end), parsed in one call by a fresh parser. */
static void parse_range(const char *data, size_t begin, size_t end, ember_csv_dialect dialect,
                        record_list *out) {
    struct csv_parser parser;
    parser_init(&parser, dialect);
    assert_int_equal(csv_parse(&parser, data + begin, end - begin, on_field, on_row, out),
                     end - begin);
    assert_int_equal(csv_fini(&parser, on_field, on_row, out), 0);
    csv_free(&parser);
}

/* The oracle: the input's records with their offsets, from libcsv fed one byte at a time. A
 * record begins where pstate leaves ROW_NOT_BEGUN and ends where the row callback fires. */
static void parse_oracle(const csv_input *in, record_list *out) {
    struct csv_parser parser;
    parser_init(&parser, in->dialect);
    size_t row_begin = in->begin;
    for (size_t i = in->begin; i < in->len; i++) {
        int state_before = parser.pstate;
        size_t rows_before = out->count;
        assert_int_equal(csv_parse(&parser, in->data + i, 1, on_field, on_row, out), 1);
        if (state_before == LIBCSV_ROW_NOT_BEGUN && parser.pstate != LIBCSV_ROW_NOT_BEGUN)
            row_begin = i;
        if (out->count > rows_before) {
            size_t end = i + 1;
            if (in->data[i] == '\r' && end < in->len && in->data[end] == '\n')
                end++;
            out->items[out->count - 1].begin = row_begin;
            out->items[out->count - 1].end = end;
        }
    }
    size_t rows_before = out->count;
    assert_int_equal(csv_fini(&parser, on_field, on_row, out), 0);
    if (out->count > rows_before) {
        out->items[out->count - 1].begin = row_begin;
        out->items[out->count - 1].end = in->len;
    }
    csv_free(&parser);
}

static void assert_records_equal(const record_list *expected, const record_list *actual,
                                 const char *what) {
    if (expected->count != actual->count)
        fail_msg("%s: %zu records, expected %zu", what, actual->count, expected->count);
    for (size_t i = 0; i < expected->count; i++) {
        const record *e = &expected->items[i], *a = &actual->items[i];
        if (e->count != a->count)
            fail_msg("%s: record %zu has %zu fields, expected %zu", what, i, a->count, e->count);
        for (size_t j = 0; j < e->count; j++) {
            const field *ef = &e->fields[j], *af = &a->fields[j];
            if (ef->null != af->null || ef->len != af->len ||
                memcmp(ef->bytes, af->bytes, ef->len) != 0)
                fail_msg("%s: record %zu field %zu is \"%.*s\"%s, expected \"%.*s\"%s", what, i, j,
                         (int)af->len, af->bytes, af->null ? " (null)" : "", (int)ef->len,
                         ef->bytes, ef->null ? " (null)" : "");
        }
    }
}

/* Line breaks in [from, to): LF, CR and CRLF count once each. */
static int64_t count_line_breaks(const char *data, size_t from, size_t to) {
    int64_t breaks = 0;
    for (size_t i = from; i < to; i++)
        if (data[i] == '\r' || (data[i] == '\n' && !(i > from && data[i - 1] == '\r')))
            breaks++;
    return breaks;
}

/* ember_csv_count_records against the oracle: a record's field count is the number of field
 * callbacks libcsv made before its row callback, which the oracle keeps as the record's fields. */

/* The stats of the oracle's records [from, to), for a range holding exactly those. */
static ember_csv_record_stats oracle_stats(const record_list *oracle, size_t from, size_t to,
                                           int expected_fields) {
    ember_csv_record_stats stats = {0, 0, -1, 0};
    for (size_t r = from; r < to; r++) {
        size_t fields = oracle->items[r].count;
        if (fields != (size_t)expected_fields && stats.bad_records++ == 0) {
            stats.first_bad = (int64_t)(r - from);
            stats.first_bad_fields = (int)fields;
        }
        stats.records++;
    }
    return stats;
}

static void assert_stats_equal(const ember_csv_record_stats *want,
                               const ember_csv_record_stats *got, const csv_input *in,
                               const char *what, int expected_fields) {
    if (want->records != got->records || want->bad_records != got->bad_records ||
        want->first_bad != got->first_bad || want->first_bad_fields != got->first_bad_fields)
        fail_msg("%s/%s, %d fields expected: %lld records, %lld bad, first bad %lld (%d fields); "
                 "expected %lld, %lld, %lld (%d)",
                 in->name, what, expected_fields, (long long)got->records,
                 (long long)got->bad_records, (long long)got->first_bad, got->first_bad_fields,
                 (long long)want->records, (long long)want->bad_records, (long long)want->first_bad,
                 want->first_bad_fields);
}

static int compare_sizes(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* The field count most records have (the smallest of the ties; 1 without records). */
static int most_common_count(const record_list *oracle) {
    if (oracle->count == 0)
        return 1;
    size_t *counts = malloc(oracle->count * sizeof *counts);
    assert_non_null(counts);
    for (size_t r = 0; r < oracle->count; r++)
        counts[r] = oracle->items[r].count;
    qsort(counts, oracle->count, sizeof *counts, compare_sizes);
    size_t best = counts[0], best_run = 0;
    for (size_t r = 0, run = 0; r < oracle->count; r++) {
        run = r > 0 && counts[r] == counts[r - 1] ? run + 1 : 1;
        if (run > best_run) {
            best = counts[r];
            best_run = run;
        }
    }
    free(counts);
    return (int)best;
}

enum { COUNT_TRIES = 4 };

/* The expected_fields values tried on an input (1, 2, 3 and the most common count), with the
 * function's result over the whole range, checked against the oracle once. */
typedef struct count_case {
    int expected_fields[COUNT_TRIES];
    ember_csv_record_stats whole[COUNT_TRIES];
} count_case;

static void count_case_init(const csv_input *in, const record_list *oracle, count_case *c) {
    const int tries[COUNT_TRIES] = {1, 2, 3, most_common_count(oracle)};
    const ember_split whole = {in->begin, in->len, 1, 0};
    for (int k = 0; k < COUNT_TRIES; k++) {
        c->expected_fields[k] = tries[k];
        ember_csv_count_records(in->data, &whole, in->dialect, tries[k], &c->whole[k]);
        ember_csv_record_stats want = oracle_stats(oracle, 0, oracle->count, tries[k]);
        assert_stats_equal(&want, &c->whole[k], in, "count whole", tries[k]);
    }
}

/* Each split's stats match the oracle's records that begin inside it (first_bad counted from
 * the split's first record), and the splits' stats add up to the whole range's. */
static void check_count_splits(const csv_input *in, const record_list *oracle, const count_case *c,
                               const ember_split *splits, int count, const char *what) {
    char label[96];
    for (int k = 0; k < COUNT_TRIES; k++) {
        int expected_fields = c->expected_fields[k];
        ember_csv_record_stats sum = {0, 0, -1, 0};
        size_t r = 0;
        for (int i = 0; i < count; i++) {
            size_t from = r;
            while (r < oracle->count && oracle->items[r].begin < splits[i].end)
                r++;
            ember_csv_record_stats want = oracle_stats(oracle, from, r, expected_fields);
            ember_csv_record_stats got = {-1, -1, -2, -1};
            ember_csv_count_records(in->data, &splits[i], in->dialect, expected_fields, &got);
            snprintf(label, sizeof label, "%s, count range %d", what, i);
            assert_stats_equal(&want, &got, in, label, expected_fields);
            if (sum.first_bad < 0 && got.first_bad >= 0) {
                sum.first_bad = sum.records + got.first_bad;
                sum.first_bad_fields = got.first_bad_fields;
            }
            sum.records += got.records;
            sum.bad_records += got.bad_records;
        }
        snprintf(label, sizeof label, "%s, count sum", what);
        assert_stats_equal(&c->whole[k], &sum, in, label, expected_fields);
    }
}

/* Checks a split result completely: the ranges are the ones the oracle predicts for these
 * targets, carry the right line and record numbers, and parse into the oracle's records. */
static void check_splits(const csv_input *in, int64_t first_line, const record_list *oracle,
                         const size_t *targets, size_t target_count, const ember_split *splits,
                         int count, const char *what) {
    /* A cut goes to the first record start (the end of a record, short of the buffer's end)
     * at or after its target. */
    size_t expected_begin[512 + 1];
    size_t expected = 0;
    size_t *cuts = NULL;
    size_t *begins = expected_begin;
    if (target_count + 2 > sizeof expected_begin / sizeof expected_begin[0]) {
        cuts = malloc((target_count + 2) * sizeof *cuts);
        assert_non_null(cuts);
        begins = cuts;
    }
    if (in->begin < in->len)
        begins[expected++] = in->begin;
    size_t r = 0;
    for (size_t k = 0; k < target_count && expected > 0; k++) {
        if (targets[k] <= in->begin)
            continue;
        while (r < oracle->count && oracle->items[r].end < targets[k])
            r++;
        if (r == oracle->count || oracle->items[r].end >= in->len)
            break;
        if (oracle->items[r].end != begins[expected - 1])
            begins[expected++] = oracle->items[r].end;
    }

    if ((size_t)count != expected)
        fail_msg("%s/%s: %d ranges, expected %zu", in->name, what, count, expected);
    record_list parsed = {0};
    size_t record_index = 0;
    for (int i = 0; i < count; i++) {
        const ember_split *s = &splits[i];
        size_t end = (size_t)i + 1 < expected ? begins[i + 1] : in->len;
        if (s->begin != begins[i] || s->end != end)
            fail_msg("%s/%s: range %d is [%zu, %zu), expected [%zu, %zu)", in->name, what, i,
                     s->begin, s->end, begins[i], end);
        int64_t line = first_line + count_line_breaks(in->data, in->begin, s->begin);
        if (s->first_line != line)
            fail_msg("%s/%s: range %d starts on line %lld, expected %lld", in->name, what, i,
                     (long long)s->first_line, (long long)line);
        while (record_index < oracle->count && oracle->items[record_index].begin < s->begin)
            record_index++;
        if (s->first_record != (int64_t)record_index)
            fail_msg("%s/%s: range %d starts at record %lld, expected %zu", in->name, what, i,
                     (long long)s->first_record, record_index);
        parse_range(in->data, s->begin, s->end, in->dialect, &parsed);
    }
    char label[256];
    snprintf(label, sizeof label, "%s/%s", in->name, what);
    assert_records_equal(oracle, &parsed, label);
    record_list_free(&parsed);
    free(cuts);

    count_case counts;
    count_case_init(in, oracle, &counts);
    check_count_splits(in, oracle, &counts, splits, count, what);
}

static void split_and_check(const csv_input *in, int64_t first_line, const record_list *oracle,
                            const size_t *targets, int target_count, const char *what) {
    ember_split *splits = NULL;
    int count = -1;
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_csv_split_at(in->data, in->len, in->begin, first_line, targets,
                                             target_count, in->dialect, &splits, &count, &err);
    if (status != EMBER_OK)
        fail_msg("%s/%s: %s", in->name, what, err.message);
    check_splits(in, first_line, oracle, targets, (size_t)target_count, splits, count, what);
    ember_free(splits);
}

/* The whole-buffer parse in one call must agree with the byte-wise oracle. */
static void build_oracle(const csv_input *in, record_list *oracle) {
    parse_oracle(in, oracle);
    record_list whole = {0};
    parse_range(in->data, in->begin, in->len, in->dialect, &whole);
    assert_records_equal(&whole, oracle, in->name);
    record_list_free(&whole);
}

/* Every single cut in [begin, len] plus a few outside it, and every pair of cuts for short
 * inputs. */
static void check_every_cut(const csv_input *in, int64_t first_line) {
    record_list oracle = {0};
    build_oracle(in, &oracle);
    char what[64];
    split_and_check(in, first_line, &oracle, NULL, 0, "no cut");
    for (size_t k = 0; k <= in->len + 2; k++) {
        snprintf(what, sizeof what, "cut %zu", k);
        split_and_check(in, first_line, &oracle, &k, 1, what);
    }
    if (in->len <= 96) {
        for (size_t a = in->begin; a <= in->len; a++) {
            for (size_t b = a; b <= in->len + 1; b++) {
                size_t pair[2] = {a, b};
                snprintf(what, sizeof what, "cuts %zu %zu", a, b);
                split_and_check(in, first_line, &oracle, pair, 2, what);
            }
        }
    }
    record_list_free(&oracle);
}

static void test_every_cut(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        check_every_cut(&inputs[i], 1);
}

/* xorshift64: the same inputs on every platform. */
static uint64_t next_random(uint64_t *seed) {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    return *seed;
}

/* Fills data with fewer than capacity random bytes drawn from those that matter to dialect d
 * (and extra); returns how many. */
static size_t random_bytes(char *data, size_t capacity, ember_csv_dialect d, char extra,
                           uint64_t *seed) {
    const char alphabet[] = {'a', 'b', (char)d.delimiter, (char)d.quote, '\r', '\n', '"', extra};
    size_t len = next_random(seed) % capacity;
    for (size_t i = 0; i < len; i++)
        data[i] = alphabet[next_random(seed) % sizeof alphabet];
    return len;
}

/* Short random strings over the bytes that matter, in all kinds of dialects. */
static void test_random_short_inputs(void **state) {
    (void)state;
    static const ember_csv_dialect dialects[] = {
        {',', '"'}, {';', '\''}, {',', ','}, {'\n', '"'}, {',', '\r'}, {'"', ','},
    };
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    char data[16];
    for (int n = 0; n < 3000; n++) {
        const ember_csv_dialect d = dialects[n % (sizeof dialects / sizeof dialects[0])];
        size_t len = random_bytes(data, sizeof data, d, ',', &seed);
        csv_input in = {"random", data, len, 0, d};
        check_every_cut(&in, 100);
    }
}

/* Splits into parts and checks the result like split_at's, with the targets the header
 * describes: begin + k * (len - begin) / parts for k in [1, parts). */
static void check_parts(const csv_input *in, const record_list *oracle, int parts) {
    size_t span = in->len - in->begin;
    size_t target_count = (size_t)parts - 1;
    if (parts > 100000) {
        /* The step is below one byte, so every byte of (begin, len) is a target. */
        target_count = span > 1 ? span - 1 : 0;
    }
    size_t *targets = malloc((target_count + 1) * sizeof *targets);
    assert_non_null(targets);
    for (size_t k = 1; k <= target_count; k++)
        targets[k - 1] = parts > 100000 ? in->begin + k : in->begin + span * k / (size_t)parts;

    ember_split *splits = NULL;
    int count = -1;
    ember_error err;
    ember_error_clear(&err);
    ember_status status = ember_csv_split(in->data, in->len, in->begin, 1, parts, in->dialect, NULL,
                                          &splits, &count, &err);
    if (status != EMBER_OK)
        fail_msg("%s parts %d: %s", in->name, parts, err.message);
    assert_true(count <= parts);
    char what[64];
    snprintf(what, sizeof what, "parts %d", parts);
    check_splits(in, 1, oracle, targets, target_count, splits, count, what);
    ember_free(splits);
    free(targets);
}

static void test_parts_on_small_inputs(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        record_list oracle = {0};
        build_oracle(&inputs[i], &oracle);
        for (int parts = 1; parts <= (int)inputs[i].len + 3; parts++)
            check_parts(&inputs[i], &oracle, parts);
        check_parts(&inputs[i], &oracle, INT_MAX);
        record_list_free(&oracle);
    }
}

static void append(char **buf, size_t *len, size_t *capacity, const char *text) {
    size_t n = strlen(text);
    if (*len + n > *capacity) {
        *capacity = (*len + n) * 2;
        *buf = realloc(*buf, *capacity);
        assert_non_null(*buf);
    }
    memcpy(*buf + *len, text, n);
    *len += n;
}

/* 2000 rows with quoted fields holding delimiters, doubled quotes and line breaks of every
 * kind, CRLF and LF rows, some blank lines, and no final newline. Caller frees. */
static char *generate_rows(size_t *len) {
    static const char *quoted_pieces[] = {"x", "a,b", "\"\"", "\n", "\r\n", "\r", " ", "text"};
    static const char *plain_fields[] = {"", "1", "-2.5", "word", "a\"b", "long text here"};
    uint64_t seed = 42;
    char *buf = NULL;
    size_t used = 0, capacity = 0;
    for (int row = 0; row < 2000; row++) {
        if (next_random(&seed) % 10 == 0)
            append(&buf, &used, &capacity, next_random(&seed) % 2 ? "\n" : "\r\n");
        int fields = 1 + (int)(next_random(&seed) % 5);
        for (int f = 0; f < fields; f++) {
            if (f > 0)
                append(&buf, &used, &capacity, ",");
            if (next_random(&seed) % 3 == 0) {
                append(&buf, &used, &capacity, "\"");
                int pieces = (int)(next_random(&seed) % 6);
                for (int p = 0; p < pieces; p++)
                    append(&buf, &used, &capacity,
                           quoted_pieces[next_random(&seed) %
                                         (sizeof quoted_pieces / sizeof quoted_pieces[0])]);
                append(&buf, &used, &capacity, "\"");
            } else {
                /* A row of one empty field would be a blank line, not a record. */
                size_t choices = sizeof plain_fields / sizeof plain_fields[0];
                size_t pick = next_random(&seed) % choices;
                if (fields == 1 && pick == 0)
                    pick = 1;
                append(&buf, &used, &capacity, plain_fields[pick]);
            }
        }
        if (row < 1999)
            append(&buf, &used, &capacity, next_random(&seed) % 4 == 0 ? "\r\n" : "\n");
    }
    *len = used;
    return buf;
}

static void test_parts_on_generated_file(void **state) {
    (void)state;
    size_t len = 0;
    char *data = generate_rows(&len);
    csv_input in = {"generated", data, len, 0, comma};
    record_list oracle = {0};
    build_oracle(&in, &oracle);
    assert_int_equal(oracle.count, 2000);
    static const int parts[] = {1, 2, 7, 64, 5000, INT_MAX};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        check_parts(&in, &oracle, parts[i]);

    /* Every record can be found again, from the start and from a later range. */
    ember_split whole = {0, len, 1, 0};
    for (size_t r = 0; r < oracle.count; r += 7) {
        size_t offset = 0;
        int64_t line = 0;
        assert_int_equal(ember_csv_locate_record(data, &whole, (int64_t)r, comma, &offset, &line),
                         0);
        assert_int_equal(offset, oracle.items[r].begin);
        assert_int_equal(line, 1 + count_line_breaks(data, 0, offset));
    }
    ember_split *splits = NULL;
    int count = 0;
    assert_int_equal(ember_csv_split(data, len, 0, 1, 7, comma, NULL, &splits, &count, NULL),
                     EMBER_OK);
    const ember_split *last = &splits[count - 1];
    size_t offset = 0;
    int64_t line = 0;
    assert_int_equal(ember_csv_locate_record(data, last, 3, comma, &offset, &line), 0);
    assert_int_equal(offset, oracle.items[last->first_record + 3].begin);
    assert_int_equal(line, 1 + count_line_breaks(data, 0, offset));
    ember_free(splits);

    record_list_free(&oracle);
    free(data);
}

/* locate_record and record_end for every record, against the byte-wise oracle. */
/* Mostly plain rows (a quoted field in about one in 60), with LF, CRLF and lone CR line breaks
 * and blank lines, so that many 64-byte blocks hold no quote: the splitter counts those in bulk.
 * Caller frees. */
static char *generate_plain_rows(uint64_t seed, int rows, size_t *len) {
    static const char *fields[] = {"1", "22", "333", "cat_0001", "", "4.25", "a\"b"};
    static const char *breaks[] = {"\n", "\n", "\n", "\r\n", "\r\n", "\r", "\n\n", "\r\n\r\n"};
    char *buf = NULL;
    const char *text;
    size_t used = 0, capacity = 0;
    for (int row = 0; row < rows; row++) {
        int count = 1 + (int)(next_random(&seed) % 6);
        for (int f = 0; f < count; f++) {
            if (f > 0)
                append(&buf, &used, &capacity, ",");
            if (next_random(&seed) % 60 == 0)
                append(&buf, &used, &capacity, next_random(&seed) % 2 ? "\"q,\n\"" : "\"\"");
            else if (*(text = fields[next_random(&seed) % (sizeof fields / sizeof fields[0])]))
                append(&buf, &used, &capacity, text); /* (append needs a buffer for "") */
        }
        if (count == 1)
            append(&buf, &used, &capacity, "x");
        append(&buf, &used, &capacity,
               breaks[next_random(&seed) % (sizeof breaks / sizeof breaks[0])]);
    }
    *len = used;
    return buf;
}

static void test_parts_on_plain_rows(void **state) {
    (void)state;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        size_t len = 0;
        char *data = generate_plain_rows(seed * 0x9E3779B97F4A7C15ull, 300 + 100 * (int)seed, &len);
        csv_input in = {"plain rows", data, len, 0, comma};
        record_list oracle = {0};
        build_oracle(&in, &oracle);
        static const int parts[] = {2, 3, 5, 7, 16, 64, 333};
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
            check_parts(&in, &oracle, parts[k]);
        in.begin = (size_t)seed * 7 % 64;
        record_list oracle_from = {0};
        build_oracle(&in, &oracle_from);
        for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
            check_parts(&in, &oracle_from, parts[k]);
        record_list_free(&oracle_from);
        record_list_free(&oracle);
        free(data);
    }
}

static void assert_splits_equal(const ember_split *a, int na, const ember_split *b, int nb) {
    assert_int_equal(na, nb);
    for (int i = 0; i < na; i++) {
        assert_int_equal(a[i].begin, b[i].begin);
        assert_int_equal(a[i].end, b[i].end);
        assert_int_equal(a[i].first_line, b[i].first_line);
        assert_int_equal(a[i].first_record, b[i].first_record);
    }
}

/* ember_csv_split_pair gives what two ember_csv_split calls give. */
static void test_split_pair(void **state) {
    (void)state;
    uint64_t seed = 77;
    for (int round = 0; round < 40; round++) {
        size_t len = 0;
        char *data = round % 2 ? generate_plain_rows(next_random(&seed), 50 + round * 20, &len)
                               : generate_rows(&len);
        size_t begin = next_random(&seed) % 50;
        int pairs[][2] = {{1, 1}, {2, 64}, {6, 64}, {64, 6}, {7, 7}, {100000, 3}, {3, INT_MAX}};
        for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
            int pa = pairs[k][0], pb = pairs[k][1];
            if (round > 0 && k == 0)
                pa = 1 + (int)(next_random(&seed) % 200), pb = 1 + (int)(next_random(&seed) % 200);
            ember_split *a = NULL, *b = NULL, *ra = NULL, *rb = NULL;
            int na = 0, nb = 0, nra = 0, nrb = 0;
            ember_error err;
            ember_error_clear(&err);
            assert_int_equal(ember_csv_split_pair(data, len, begin, 3, pa, pb, comma, NULL, &a, &na,
                                                  &b, &nb, &err),
                             EMBER_OK);
            assert_int_equal(ember_csv_split(data, len, begin, 3, pa, comma, NULL, &ra, &nra, &err),
                             EMBER_OK);
            assert_int_equal(ember_csv_split(data, len, begin, 3, pb, comma, NULL, &rb, &nrb, &err),
                             EMBER_OK);
            assert_splits_equal(a, na, ra, nra);
            assert_splits_equal(b, nb, rb, nrb);
            ember_free(a);
            ember_free(b);
            ember_free(ra);
            ember_free(rb);
        }
        free(data);
    }
    /* Empty ranges and failures. */
    ember_split *a = NULL, *b = NULL;
    int na = -1, nb = -1;
    ember_error err;
    ember_error_clear(&err);
    assert_int_equal(
        ember_csv_split_pair("abc", 3, 3, 1, 2, 64, comma, NULL, &a, &na, &b, &nb, &err), EMBER_OK);
    assert_int_equal(na, 0);
    assert_int_equal(nb, 0);
    assert_int_equal(
        ember_csv_split_pair("abc", 3, 0, 1, 0, 64, comma, NULL, &a, &na, &b, &nb, &err),
        EMBER_ERROR_INVALID_ARGUMENT);
    for (long n = 1; n < 8; n++) {
        ember_alloc_fail_after(n);
        ember_status status =
            ember_csv_split_pair("a\nb\nc\n", 6, 0, 1, 3, 2, comma, NULL, &a, &na, &b, &nb, &err);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            ember_free(a);
            ember_free(b);
        } else {
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_null(a);
            assert_null(b);
        }
    }
}

/* Runs the chunks one by one, last first: the result must not depend on the order. */
static void run_backwards(void *runner, int count, void (*task)(void *, int, int), void *context) {
    (void)runner;
    for (int i = count - 1; i >= 0; i--)
        task(context, i, 0);
}

static void run_on_pool(void *pool, int count, void (*task)(void *, int, int), void *context) {
    ember_thread_pool_run(pool, count, task, context);
}

/* The chunked split of data equals the one-pass split for every part count and chunk count. */
static void check_parallel(const char *data, size_t len, size_t begin, ember_csv_dialect dialect,
                           const ember_csv_parallel *runner) {
    static const int parts_list[] = {1, 2, 3, 7, 64, 1000};
    static const int chunk_list[] = {2, 3, 4, 7, 33, 1000};
    for (size_t i = 0; i < sizeof parts_list / sizeof parts_list[0]; i++) {
        ember_split *want = NULL, *got = NULL;
        int nwant = 0, ngot = 0;
        assert_int_equal(
            ember_csv_split(data, len, begin, 5, parts_list[i], dialect, NULL, &want, &nwant, NULL),
            EMBER_OK);
        for (size_t j = 0; j < sizeof chunk_list / sizeof chunk_list[0]; j++) {
            ember_csv_parallel parallel = *runner;
            parallel.chunks = chunk_list[j];
            assert_int_equal(ember_csv_split(data, len, begin, 5, parts_list[i], dialect, &parallel,
                                             &got, &ngot, NULL),
                             EMBER_OK);
            assert_splits_equal(got, ngot, want, nwant);
            ember_free(got);
            ember_split *a = NULL, *b = NULL, *ra = NULL, *rb = NULL;
            int na = 0, nb = 0, nra = 0, nrb = 0;
            assert_int_equal(ember_csv_split_pair(data, len, begin, 5, parts_list[i], 64, dialect,
                                                  &parallel, &a, &na, &b, &nb, NULL),
                             EMBER_OK);
            assert_int_equal(ember_csv_split_pair(data, len, begin, 5, parts_list[i], 64, dialect,
                                                  NULL, &ra, &nra, &rb, &nrb, NULL),
                             EMBER_OK);
            assert_splits_equal(a, na, ra, nra);
            assert_splits_equal(b, nb, rb, nrb);
            ember_free(a);
            ember_free(b);
            ember_free(ra);
            ember_free(rb);
        }
        ember_free(want);
    }
}

/* A quoted field holding many line breaks: every chunk's guessed start is inside it, so every
 * chunk after the first is scanned again. */
static char *generate_long_quoted(size_t *len) {
    char *buf = NULL;
    size_t used = 0, capacity = 0;
    append(&buf, &used, &capacity, "a,\"");
    for (int i = 0; i < 3000; i++)
        append(&buf, &used, &capacity, i % 7 ? "x\n" : "y\r\n,\"\"z\n");
    append(&buf, &used, &capacity, "\"\n1,2\n\n3,\"4\n\"\r\n5,6");
    *len = used;
    return buf;
}

static void test_parallel_split(void **state) {
    (void)state;
    ember_thread_pool *pool = ember_thread_pool_create(3);
    assert_non_null(pool);
    const ember_csv_parallel runners[] = {{run_backwards, NULL, 0}, {run_on_pool, pool, 0}};
    for (size_t r = 0; r < sizeof runners / sizeof runners[0]; r++) {
        size_t len = 0;
        char *data = generate_rows(&len);
        check_parallel(data, len, 0, comma, &runners[r]);
        check_parallel(data, len, 17, comma, &runners[r]);
        free(data);
        data = generate_plain_rows(9, 800, &len);
        check_parallel(data, len, 3, comma, &runners[r]);
        free(data);
        data = generate_long_quoted(&len);
        check_parallel(data, len, 0, comma, &runners[r]);
        free(data);
        check_parallel("no line break at all", 20, 0, comma, &runners[r]);
        check_parallel("\n\n\r\n\r\r\n\n", 8, 0, comma, &runners[r]);
    }
    /* Short random buffers over the bytes that matter, in odd dialects too. */
    static const ember_csv_dialect dialects[] = {{',', '"'}, {';', '\''}, {'\n', '"'}, {',', '\r'}};
    uint64_t seed = 0xC0FFEEull;
    char data[200];
    for (int n = 0; n < 400; n++) {
        const ember_csv_dialect d = dialects[n % (sizeof dialects / sizeof dialects[0])];
        size_t len = random_bytes(data, sizeof data, d, 'c', &seed);
        check_parallel(data, len, len ? next_random(&seed) % len : 0, d, &runners[n % 2]);
    }
    /* Out of memory anywhere: an error, nothing leaked, or the right answer. */
    size_t len = 0;
    char *text = generate_rows(&len);
    ember_split *want = NULL;
    int nwant = 0;
    assert_int_equal(ember_csv_split(text, len, 0, 1, 50, comma, NULL, &want, &nwant, NULL),
                     EMBER_OK);
    ember_csv_parallel parallel = {run_backwards, NULL, 5};
    for (long n = 1; n < 40; n++) {
        ember_split *got = NULL;
        int ngot = 0;
        ember_error err;
        ember_error_clear(&err);
        ember_alloc_fail_after(n);
        ember_status status =
            ember_csv_split(text, len, 0, 1, 50, comma, &parallel, &got, &ngot, &err);
        ember_alloc_fail_after(0);
        if (status == EMBER_OK) {
            assert_splits_equal(got, ngot, want, nwant);
        } else {
            assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
            assert_non_null(strstr(err.message, "out of memory"));
            assert_null(got);
        }
        ember_free(got);
    }
    ember_free(want);
    free(text);
    ember_thread_pool_free(pool);
}

static void test_locate_and_record_end(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        const csv_input *in = &inputs[i];
        record_list oracle = {0};
        build_oracle(in, &oracle);
        ember_split whole = {in->begin, in->len, 5, 0};
        size_t from = in->begin;
        for (size_t r = 0; r < oracle.count; r++) {
            size_t offset = 0;
            int64_t line = 0;
            if (ember_csv_locate_record(in->data, &whole, (int64_t)r, in->dialect, &offset,
                                        &line) != 0)
                fail_msg("%s: record %zu not found", in->name, r);
            if (offset != oracle.items[r].begin)
                fail_msg("%s: record %zu at %zu, expected %zu", in->name, r, offset,
                         oracle.items[r].begin);
            assert_int_equal(line, 5 + count_line_breaks(in->data, in->begin, offset));

            int64_t lines = -1;
            size_t end = ember_csv_record_end(in->data, in->len, from, in->dialect, &lines);
            if (end != oracle.items[r].end)
                fail_msg("%s: record %zu ends at %zu, expected %zu", in->name, r, end,
                         oracle.items[r].end);
            assert_int_equal(lines, count_line_breaks(in->data, from, end));
            from = end;
        }
        size_t offset = 0;
        assert_int_equal(ember_csv_locate_record(in->data, &whole, (int64_t)oracle.count,
                                                 in->dialect, &offset, NULL),
                         -1);
        assert_int_equal(ember_csv_locate_record(in->data, &whole, -1, in->dialect, NULL, NULL),
                         -1);
        /* Past the last record only blank lines (if anything) remain. */
        int64_t lines = -1;
        assert_int_equal(ember_csv_record_end(in->data, in->len, from, in->dialect, &lines),
                         in->len);
        assert_int_equal(lines, count_line_breaks(in->data, from, in->len));
        record_list_free(&oracle);
    }
}

static void test_record_end_cases(void **state) {
    (void)state;
    int64_t lines = -1;
    const char *text = "\r\n\na,\"b\r\nc\"\r\nd";
    size_t len = strlen(text);
    assert_int_equal(ember_csv_record_end(text, len, 0, comma, &lines), 13);
    assert_int_equal(lines, 4);
    assert_int_equal(ember_csv_record_end(text, len, 13, comma, &lines), len);
    assert_int_equal(lines, 0);
    assert_int_equal(ember_csv_record_end(text, len, len, comma, &lines), len);
    assert_int_equal(lines, 0);
    assert_int_equal(ember_csv_record_end(text, len, 0, comma, NULL), 13);
    /* A lone CR ends a record; the byte after it starts the next one. */
    assert_int_equal(ember_csv_record_end("a\rb", 3, 0, comma, &lines), 2);
    assert_int_equal(lines, 1);
}

static void test_bom_length(void **state) {
    (void)state;
    assert_int_equal(ember_csv_bom_length("\xEF\xBB\xBF"
                                          "a,b\n",
                                          7),
                     3);
    assert_int_equal(ember_csv_bom_length("\xEF\xBB\xBF", 3), 3);
    assert_int_equal(ember_csv_bom_length("\xEF\xBB", 2), 0);
    assert_int_equal(ember_csv_bom_length("\xEF\xBB\xBE", 3), 0);
    assert_int_equal(ember_csv_bom_length("a,b\n", 4), 0);
    assert_int_equal(ember_csv_bom_length("", 0), 0);
}

static void test_invalid_arguments(void **state) {
    (void)state;
    const char *text = "a\nb\n";
    static ember_split unset;
    ember_split *splits = &unset;
    int count = -1;
    ember_error err;
    for (int parts = 0; parts >= -3; parts -= 3) {
        ember_error_clear(&err);
        assert_int_equal(ember_csv_split(text, 4, 0, 1, parts, comma, NULL, &splits, &count, &err),
                         EMBER_ERROR_INVALID_ARGUMENT);
        assert_int_equal(err.status, EMBER_ERROR_INVALID_ARGUMENT);
        assert_true(strstr(err.message, "parts") != NULL);
        assert_null(splits);
        assert_int_equal(count, 0);
    }
    ember_error_clear(&err);
    assert_int_equal(ember_csv_split(text, 4, 5, 1, 2, comma, NULL, &splits, &count, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    const size_t descending[] = {3, 1};
    ember_error_clear(&err);
    assert_int_equal(ember_csv_split_at(text, 4, 0, 1, descending, 2, comma, &splits, &count, &err),
                     EMBER_ERROR_INVALID_ARGUMENT);
    assert_int_equal(
        ember_csv_split_at(text, 4, 0, 1, descending, -1, comma, &splits, &count, NULL),
        EMBER_ERROR_INVALID_ARGUMENT);
    assert_null(splits);

    /* An empty range gives no ranges and no error. */
    assert_int_equal(ember_csv_split(text, 4, 4, 1, 3, comma, NULL, &splits, &count, &err),
                     EMBER_OK);
    assert_int_equal(count, 0);
    ember_free(splits);
}

static void test_out_of_memory(void **state) {
    (void)state;
    size_t len = 0;
    char *data = generate_rows(&len);
    ember_split *splits = NULL;
    int count = -1;
    ember_error err;

    /* The first allocation, and a later one that grows the list of ranges. */
    for (long fail_at = 1; fail_at <= 2; fail_at++) {
        ember_error_clear(&err);
        ember_alloc_fail_after(fail_at);
        ember_status status =
            ember_csv_split(data, len, 0, 1, 1000, comma, NULL, &splits, &count, &err);
        ember_alloc_fail_after(0);
        assert_int_equal(status, EMBER_ERROR_OUT_OF_MEMORY);
        assert_int_equal(err.status, EMBER_ERROR_OUT_OF_MEMORY);
        assert_true(err.message[0] != '\0');
        assert_null(splits);
        assert_int_equal(count, 0);
    }
    assert_int_equal(ember_csv_split(data, len, 0, 1, 1000, comma, NULL, &splits, &count, &err),
                     EMBER_OK);
    assert_true(count > 16);
    ember_free(splits);
    free(data);
}

/* Count-only checks of ember_csv_split_at's ranges for the given targets: cheaper than
 * split_and_check, which parses them all with libcsv. */
static void check_count_cuts(const csv_input *in, const record_list *oracle, const count_case *c,
                             const size_t *targets, int target_count, const char *what) {
    ember_split *splits = NULL;
    int count = -1;
    ember_error err;
    ember_error_clear(&err);
    if (ember_csv_split_at(in->data, in->len, in->begin, 1, targets, target_count, in->dialect,
                           &splits, &count, &err) != EMBER_OK)
        fail_msg("%s/%s: %s", in->name, what, err.message);
    check_count_splits(in, oracle, c, splits, count, what);
    ember_free(splits);
}

/* Count-only checks at every single cut position in [0, len + 1]. */
static void check_count_every_cut(const csv_input *in, const record_list *oracle) {
    count_case counts;
    count_case_init(in, oracle, &counts);
    char what[64];
    for (size_t k = 0; k <= in->len + 1; k++) {
        snprintf(what, sizeof what, "cut %zu", k);
        check_count_cuts(in, oracle, &counts, &k, 1, what);
    }
}

/* 2000 rows meant to have five fields, about one in twenty with 1 to 9 instead. Quoted fields
 * hold delimiters, doubled quotes, line breaks of every kind and (non-strict) text after a
 * quote; unquoted ones hold stray quotes; long fields move everything across 64-byte blocks.
 * Rows end in LF, CRLF or a lone CR, with blank lines between some, and no final newline. */
static char *generate_field_rows(size_t *len) {
    static const char *quoted_pieces[] = {
        "x",
        "a,b",
        ",",
        "\"\"",
        "\"\"\"\"",
        "\n",
        "\r\n",
        "\r",
        "\"y",
        "a quoted piece long enough that quotes and breaks fall on every byte of a block",
    };
    static const char *plain_fields[] = {
        "",
        "1",
        "-2.5",
        "word",
        "a\"b",
        "b\"\"",
        "long text; no delimiter here",
        "an unquoted field long enough to reach well past one sixty-four byte block",
    };
    static const char *row_ends[] = {"\n", "\r\n", "\r"};
    uint64_t seed = 7;
    char *buf = NULL;
    size_t used = 0, capacity = 0;
    for (int row = 0; row < 2000; row++) {
        if (next_random(&seed) % 8 == 0)
            append(&buf, &used, &capacity, next_random(&seed) % 2 ? "\n" : "\r\n");
        int fields = next_random(&seed) % 20 == 0 ? 1 + (int)(next_random(&seed) % 9) : 5;
        for (int f = 0; f < fields; f++) {
            if (f > 0)
                append(&buf, &used, &capacity, ",");
            if (next_random(&seed) % 3 == 0) {
                append(&buf, &used, &capacity, "\"");
                int pieces = (int)(next_random(&seed) % 5);
                for (int p = 0; p < pieces; p++)
                    append(&buf, &used, &capacity,
                           quoted_pieces[next_random(&seed) %
                                         (sizeof quoted_pieces / sizeof quoted_pieces[0])]);
                append(&buf, &used, &capacity, "\"");
            } else {
                /* A row of one empty field would be a blank line, not a record. */
                size_t pick = next_random(&seed) % (sizeof plain_fields / sizeof plain_fields[0]);
                if (fields == 1 && pick == 0)
                    pick = 1;
                append(&buf, &used, &capacity, plain_fields[pick]);
            }
        }
        if (row < 1999)
            append(&buf, &used, &capacity, row_ends[next_random(&seed) % 3]);
    }
    *len = used;
    return buf;
}

static void test_count_records_generated_file(void **state) {
    (void)state;
    size_t len = 0;
    char *data = generate_field_rows(&len);
    csv_input in = {"generated fields", data, len, 0, comma};
    record_list oracle = {0};
    build_oracle(&in, &oracle);
    assert_int_equal(oracle.count, 2000);
    assert_int_equal(most_common_count(&oracle), 5);
    ember_split whole = {0, len, 1, 0};
    ember_csv_record_stats stats;
    ember_csv_count_records(data, &whole, comma, 5, &stats);
    assert_true(stats.bad_records > 20 && stats.bad_records < 200);

    static const int parts[] = {1, 2, 7, 64, 5000, INT_MAX};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
        check_parts(&in, &oracle, parts[i]);

    /* Random sets of cuts across the whole file. */
    count_case counts;
    count_case_init(&in, &oracle, &counts);
    uint64_t seed = 99;
    size_t targets[40];
    char what[64];
    for (int trial = 0; trial < 200; trial++) {
        int target_count = 1 + (int)(next_random(&seed) % 40);
        for (int k = 0; k < target_count; k++)
            targets[k] = next_random(&seed) % (len + 2);
        qsort(targets, (size_t)target_count, sizeof *targets, compare_sizes);
        snprintf(what, sizeof what, "random cuts %d", trial);
        check_count_cuts(&in, &oracle, &counts, targets, target_count, what);
    }
    record_list_free(&oracle);

    /* Every cut in a prefix of 4096 bytes (about 30 rows, ending wherever it ends). */
    csv_input prefix = {"generated fields prefix", data, len < 4096 ? len : 4096, 0, comma};
    build_oracle(&prefix, &oracle);
    check_count_every_cut(&prefix, &oracle);
    record_list_free(&oracle);
    free(data);
}

/* Random inputs of up to 300 bytes in the dialects the mask scanner takes, so that quotes,
 * doubled quotes and CRLFs fall on both sides of 64-byte block edges. */
static void test_count_records_random_long_inputs(void **state) {
    (void)state;
    static const ember_csv_dialect dialects[] = {{',', '"'}, {';', '\''}, {'\t', '"'}};
    uint64_t seed = 0x2545F4914F6CDD1Dull;
    char data[300];
    for (int n = 0; n < 600; n++) {
        const ember_csv_dialect d = dialects[n % (sizeof dialects / sizeof dialects[0])];
        /* Mostly text, so that rows and quoted fields get long enough to cross blocks. */
        const char alphabet[] = {
            'a',           'b',           'c',  'd',  'e', 'f', (char)d.delimiter,
            (char)d.quote, (char)d.quote, '\r', '\n', '"', ','};
        size_t len = next_random(&seed) % (sizeof data + 1);
        for (size_t i = 0; i < len; i++)
            data[i] = alphabet[next_random(&seed) % sizeof alphabet];
        csv_input in = {"random long", data, len, 0, d};
        record_list oracle = {0};
        build_oracle(&in, &oracle);
        check_count_every_cut(&in, &oracle);
        record_list_free(&oracle);
    }
}

static void test_count_records_cases(void **state) {
    (void)state;
    /* [a,b] [c,\nd, e, f] (the CRLF's LF a blank line) [g, "h""", ""i"] */
    const char *text = "a,b\n\n\"c,\nd\",e,f\r\ng,\"h\"\"\",\"\"i\"";
    ember_split whole = {0, strlen(text), 1, 0};
    ember_csv_record_stats stats;
    ember_csv_count_records(text, &whole, comma, 2, &stats);
    assert_int_equal(stats.records, 3);
    assert_int_equal(stats.bad_records, 2);
    assert_int_equal(stats.first_bad, 1);
    assert_int_equal(stats.first_bad_fields, 3);
    ember_csv_count_records(text, &whole, comma, 3, &stats);
    assert_int_equal(stats.bad_records, 1);
    assert_int_equal(stats.first_bad, 0);
    assert_int_equal(stats.first_bad_fields, 2);

    /* An unterminated quote runs to the end as one field of the last record. */
    const char *open = "x,y\n\"a,b\nc,d\n";
    ember_split open_whole = {0, strlen(open), 1, 0};
    ember_csv_count_records(open, &open_whole, comma, 2, &stats);
    assert_int_equal(stats.records, 2);
    assert_int_equal(stats.bad_records, 1);
    assert_int_equal(stats.first_bad, 1);
    assert_int_equal(stats.first_bad_fields, 1);

    /* No buffer, no split, an empty range: no records; no output: nothing happens. */
    const ember_split empty = {2, 2, 1, 0}, backwards = {3, 1, 1, 0};
    const ember_split *ranges[] = {&whole, NULL, &empty, &backwards};
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
        memset(&stats, 0x55, sizeof stats);
        ember_csv_count_records(i == 0 ? NULL : text, ranges[i], comma, 2, &stats);
        assert_int_equal(stats.records, 0);
        assert_int_equal(stats.bad_records, 0);
        assert_int_equal(stats.first_bad, -1);
        assert_int_equal(stats.first_bad_fields, 0);
    }
    ember_csv_count_records(text, &whole, comma, 2, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_cut),
        cmocka_unit_test(test_random_short_inputs),
        cmocka_unit_test(test_parts_on_small_inputs),
        cmocka_unit_test(test_parts_on_generated_file),
        cmocka_unit_test(test_parts_on_plain_rows),
        cmocka_unit_test(test_split_pair),
        cmocka_unit_test(test_parallel_split),
        cmocka_unit_test(test_locate_and_record_end),
        cmocka_unit_test(test_record_end_cases),
        cmocka_unit_test(test_bom_length),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_count_records_cases),
        cmocka_unit_test(test_count_records_generated_file),
        cmocka_unit_test(test_count_records_random_long_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
