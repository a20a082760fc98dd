/* csv_load.c: one split of a CSV file -> one columnar partition. libcsv tokenizes; its
 * callbacks convert wanted columns straight into typed Arrow-layout buffers (no row-of-strings
 * intermediate) and apply the null rules and the malformed-row mode. */
#include "io/csv_load.h"

#include <csv.h>
#include <string.h>

#include "common/alloc.h"
#include "data/column_build.h"
#include "data/dictionary.h"
#include "io/csv_scan.h"
#include "io/number.h"

/* Chunks handed to libcsv at a time, so FAILFAST stops soon after the first bad row. */
#define PARSE_CHUNK (256 * 1024)

typedef struct load_state {
    const ember_schema *schema;
    const bool *wanted;
    const ember_csv_config *config;
    ember_partition *out;
    ember_type *needed;
    ember_error *err;
    size_t null_len;
    int field;          /* index of the next field in the current record */
    bool row_malformed; /* a value did not convert, or the field count is wrong */
    int bad_field;      /* first bad field of the row (-1: field count) for FAILFAST */
    char bad_text[96];
    int64_t record; /* records seen in this split, dropped ones included */
    bool widening;  /* a value needs a wider type: only collect needed[] from now on */
    bool stop;      /* FAILFAST or out of memory: ignore the rest */
    ember_status failure;
    const char *buf; /* the whole file, for locating a FAILFAST row */
    const ember_split *split;
    int64_t skip_fields; /* see on_field_after_fast */
    /* For fast_field: what each column takes (FAST_*; schema->count of them), and the length of
     * the null value (SIZE_MAX when there is none). */
    const unsigned char *kinds;
    size_t fast_null_len;
    /* The grouped columns' dictionaries in the making, and each column's (NULL where none). A
     * value goes in as it is stored, while its bytes are in the L1 cache; a dropped row's come
     * out again. */
    struct grouped_column *grouped;
    int grouped_count;
    ember_dictionary_builder **column_builder;
} load_state;

typedef struct grouped_column {
    ember_dictionary_builder builder;
    int column;
} grouped_column;

/* FAST_GROUPED: a string column whose groups are found (column_builder). FAST_GENERAL: always
 * through take_field. */
enum { FAST_SKIP, FAST_STRING, FAST_GROUPED, FAST_INT64, FAST_FLOAT64, FAST_GENERAL };

/* libcsv's space test: nothing is a space, so fields keep their spaces and tabs. */
static int no_space(unsigned char c) {
    (void)c;
    return 0;
}

static void out_of_memory(load_state *s, int c, bool too_big) {
    if (too_big)
        s->failure = ember_error_set(s->err, EMBER_ERROR_OUT_OF_MEMORY,
                                     "%s: string column '%s' holds more than 2 GiB in one "
                                     "partition; use more partitions",
                                     s->config->path, s->schema->names[c]);
    else
        s->failure = ember_error_set(s->err, EMBER_ERROR_OUT_OF_MEMORY,
                                     "%s: out of host memory while parsing", s->config->path);
    s->stop = true;
}

/* Remembers the row's first bad value for FAILFAST, with control characters escaped so the
 * message stays on one line. */
static void note_bad_value(load_state *s, int c, const char *text, size_t len) {
    if (!s->row_malformed) {
        s->bad_field = c;
        size_t out = 0;
        for (size_t i = 0; i < len && out + 5 < sizeof s->bad_text; i++) {
            unsigned char ch = (unsigned char)text[i];
            if (ch == '\n' || ch == '\r' || ch == '\t') {
                s->bad_text[out++] = '\\';
                s->bad_text[out++] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
            } else {
                s->bad_text[out++] = (char)ch;
            }
        }
        s->bad_text[out] = '\0';
    }
    s->row_malformed = true;
}

bool ember_csv_parser_init(struct csv_parser *parser, ember_csv_dialect dialect) {
    if (csv_init(parser, CSV_EMPTY_IS_NULL) != 0)
        return false;
    csv_set_delim(parser, dialect.delimiter);
    csv_set_quote(parser, dialect.quote);
    csv_set_space_func(parser, no_space);
    csv_set_realloc_func(parser, ember_realloc);
    csv_set_free_func(parser, ember_free);
    return true;
}

/* Appends while the buffers have room, without a call; the column functions otherwise (growth,
 * string limits). The same results as ember_column_append_*. */
static inline void mark_valid_row(ember_column *column) {
    if (column->validity)
        column->validity[column->length >> 3] |= (uint8_t)(1u << (column->length & 7));
}

static inline bool append_int64(ember_column *column, int64_t value) {
    if (column->length >= column->capacity)
        return ember_column_append_int64(column, value);
    ((int64_t *)column->values)[column->length] = value;
    mark_valid_row(column);
    column->length++;
    return true;
}

static inline bool append_float64(ember_column *column, double value) {
    if (column->length >= column->capacity)
        return ember_column_append_float64(column, value);
    ((double *)column->values)[column->length] = value;
    mark_valid_row(column);
    column->length++;
    return true;
}

static inline bool append_string(ember_column *column, const char *text, size_t len,
                                 bool *too_big) {
    int32_t *offsets = column->values;
    int64_t start = column->length < column->capacity ? offsets[column->length] : INT32_MAX;
    int64_t end = start + (int64_t)len;
    if (end > column->bytes_capacity || end > INT32_MAX)
        return ember_column_append_string(column, text, len, too_big);
    memcpy(column->bytes + start, text, len);
    offsets[column->length + 1] = (int32_t)end;
    column->bytes_len = end;
    mark_valid_row(column);
    column->length++;
    return true;
}

/* Column c took a value: a grouped column's builder takes it too, as the fast path's does. */
static inline void group_value(load_state *s, int c) {
    if (s->column_builder && s->column_builder[c])
        ember_dictionary_builder_add(s->column_builder[c]);
}

/* Appends one converted value, or null, to column c. readable8: text[0..8) may be read whatever
 * len is (the word forms of the number parsers). */
static inline void store_field(load_state *s, int c, const char *text, size_t len, bool is_null,
                               bool readable8) {
    ember_column *column = &s->out->columns[c];
    bool ok = true, too_big = false;
    if (is_null) {
        ok = ember_column_append_null(column);
    } else if (column->type == EMBER_TYPE_STRING) {
        ok = append_string(column, text, len, &too_big);
    } else if (column->type == EMBER_TYPE_INT64) {
        int64_t value;
        if (readable8 ? ember_parse_int64_word(text, len, &value)
                      : ember_parse_int64(text, len, &value)) {
            ok = append_int64(column, value);
        } else if (s->config->schema_inferred) {
            s->needed[c] = ember_type_widen_for(EMBER_TYPE_INT64, text, len);
            s->widening = true;
        } else {
            note_bad_value(s, c, text, len);
            ok = ember_column_append_null(column);
        }
    } else {
        double value;
        if (readable8 ? ember_parse_float64_word(text, len, &value)
                      : ember_parse_float64(text, len, &value)) {
            ok = append_float64(column, value);
        } else if (s->config->schema_inferred) {
            s->needed[c] = EMBER_TYPE_STRING;
            s->widening = true;
        } else {
            note_bad_value(s, c, text, len);
            ok = ember_column_append_null(column);
        }
    }
    if (!ok)
        out_of_memory(s, c, too_big);
    else
        group_value(s, c);
}

/* One field as libcsv delivers it (data NULL for an unquoted empty field). */
static inline void take_field(load_state *s, const char *data, size_t len, bool readable8) {
    if (s->stop)
        return;
    int c = s->field++;
    if (c >= s->schema->count) {
        if (!s->row_malformed)
            s->bad_field = -1; /* too many fields */
        s->row_malformed = true;
        return;
    }
    if (s->wanted && !s->wanted[c])
        return;
    const char *text = data ? data : "";
    /* A quoted empty field is an empty string, but a number it cannot be: null there. */
    bool is_null = data == NULL || (len == 0 && s->schema->types[c] != EMBER_TYPE_STRING) ||
                   (s->config->null_value && len == s->null_len &&
                    memcmp(text, s->config->null_value, len) == 0);
    if (s->widening) {
        if (!is_null)
            s->needed[c] = ember_type_widen_for(s->needed[c], text, len);
        return;
    }
    store_field(s, c, text, len, is_null, readable8);
}

static void on_field(void *data, size_t len, void *context) {
    take_field(context, data, len, false);
}

/* libcsv's field callback for a record whose first fields the fast path already took: it
 * drops that many before passing the rest on. */
static void on_field_after_fast(void *data, size_t len, void *context) {
    load_state *s = context;
    if (s->skip_fields > 0) {
        s->skip_fields--;
        return;
    }
    take_field(s, data, len, false);
}

/* Rolls back the record's values (DROPMALFORMED) on every loaded column, and the groups they
 * brought, so a dropped row leaves no id behind. */
static void drop_record(load_state *s, int64_t rows_before) {
    for (int c = 0; c < s->out->column_count; c++)
        if (s->out->columns[c].loaded)
            ember_column_truncate(&s->out->columns[c], rows_before);
    for (int k = 0; k < s->grouped_count; k++)
        ember_dictionary_builder_truncate(&s->grouped[k].builder, rows_before);
}

static void report_failfast(load_state *s, const char *buf, const ember_split *split);

static void on_record(int terminator, void *context) {
    load_state *s = context;
    (void)terminator;
    if (s->stop)
        return;
    if (s->field != s->schema->count) {
        if (!s->row_malformed)
            s->bad_field = -1;
        s->row_malformed = true;
    }
    int64_t rows_before = s->out->rows;
    if (!s->widening) {
        /* Pad a short record with nulls. */
        for (int c = s->field; c < s->schema->count; c++) {
            if (s->wanted && !s->wanted[c])
                continue;
            if (!ember_column_append_null(&s->out->columns[c])) {
                out_of_memory(s, c, false);
                return;
            }
            group_value(s, c);
        }
    }
    if (s->row_malformed) {
        switch (s->config->mode) {
        case EMBER_CSV_PERMISSIVE:
            s->out->rows_malformed++;
            s->out->rows++;
            break;
        case EMBER_CSV_DROPMALFORMED:
            s->out->rows_dropped++;
            if (!s->widening)
                drop_record(s, rows_before);
            break;
        case EMBER_CSV_FAILFAST:
            report_failfast(s, s->buf, s->split);
            s->stop = true;
            break;
        }
    } else {
        s->out->rows++;
    }
    s->record++;
    s->field = 0;
    s->row_malformed = false;
}

static void report_failfast(load_state *s, const char *buf, const ember_split *split) {
    size_t offset = 0;
    int64_t line = 0;
    if (ember_csv_locate_record(buf, split, s->record, s->config->dialect, &offset, &line) != 0)
        line = split->first_line;
    if (s->bad_field < 0) {
        s->failure =
            ember_csv_field_count_error(s->err, s->config, line, s->schema->count, s->field);
    } else {
        s->failure = ember_error_set(
            s->err, EMBER_ERROR_CSV,
            "%s:%lld:%d: malformed value (FAILFAST): \"%s\" in column '%s' is not %s",
            s->config->path, (long long)line, s->bad_field + 1, s->bad_text,
            s->schema->names[s->bad_field],
            s->schema->types[s->bad_field] == EMBER_TYPE_INT64 ? "an int64" : "a float64");
    }
}

/* A record holding a quote, from its start: libcsv parses it (with csv_fini, in case the split
 * ends inside it), skipping the fields the fast path already took. Returns where it ends. */
static size_t parse_quoted_record(load_state *s, struct csv_parser *parser, const char *buf,
                                  size_t row_begin, size_t end) {
    size_t record_end = ember_csv_record_end(buf, end, row_begin, s->config->dialect, NULL);
    size_t n = record_end - row_begin;
    s->skip_fields = s->field;
    if (csv_parse(parser, buf + row_begin, n, on_field_after_fast, on_record, s) != n)
        out_of_memory(s, 0, false);
    else if (!s->stop)
        csv_fini(parser, on_field_after_fast, on_record, s);
    return record_end;
}

/* What the fast path keeps in registers: the column count, the columns, what each column takes
 * (FAST_*), the null value's length (SIZE_MAX when there is none), and the columns'
 * dictionary builders. */
typedef struct fast_columns {
    int count;
    ember_column *columns;
    const unsigned char *kinds;
    size_t null_len;
    ember_dictionary_builder *const *builders;
} fast_columns;

/* Stores field c the fast way when it is the common case: not empty, not the null value, no
 * widening under way, converting, and fitting the buffers. Otherwise it returns false having
 * changed nothing, and take_field (the callback's own code) handles the field: a field is never
 * half-stored. readable: how many bytes from text may be read (the word-at-a-time number forms
 * read 8, short strings are copied 16 at a time). */
static inline __attribute__((always_inline)) bool fast_store(const load_state *s,
                                                             const fast_columns *f, int c,
                                                             const char *text, size_t len,
                                                             size_t readable) {
    if (len == 0 || len == f->null_len || s->widening)
        return false;
    ember_column *column = &f->columns[c];
    switch (f->kinds[c]) {
    case FAST_STRING:
    case FAST_GROUPED: {
        int32_t *offsets = column->values;
        if (column->length >= column->capacity)
            return false;
        int64_t start = offsets[column->length], stop = start + (int64_t)len;
        if (stop > INT32_MAX)
            return false;
        if (len <= 16 && readable >= 16 && start + 16 <= column->bytes_capacity)
            memcpy(column->bytes + start, text, 16); /* the bytes past stop are spare room */
        else if (stop <= column->bytes_capacity)
            memcpy(column->bytes + start, text, len);
        else
            return false;
        offsets[column->length + 1] = (int32_t)stop;
        column->bytes_len = stop;
        if (f->kinds[c] == FAST_GROUPED) {
            mark_valid_row(column);
            column->length++;
            ember_dictionary_builder_add_string(f->builders[c], text, (int64_t)len, readable);
            return true;
        }
        break;
    }
    case FAST_INT64: {
        int64_t value;
        if (column->length >= column->capacity || readable < 8 ||
            !ember_parse_int64_word(text, len, &value))
            return false;
        ((int64_t *)column->values)[column->length] = value;
        break;
    }
    case FAST_FLOAT64: {
        double value;
        if (column->length >= column->capacity || readable < 8 ||
            !ember_parse_float64_word(text, len, &value))
            return false;
        ((double *)column->values)[column->length] = value;
        break;
    }
    default:
        return false;
    }
    mark_valid_row(column);
    column->length++;
    return true;
}

/* The fast path's field: field is the fast path's copy of s->field (written back around the
 * calls that read or change it). A column that is not converted only counts, as in
 * take_field. */
static inline __attribute__((always_inline)) void fast_field(load_state *s, const fast_columns *f,
                                                             int *field, const char *text,
                                                             size_t len, size_t readable) {
    int c = *field;
    if (c < f->count) {
        if (f->kinds[c] == FAST_SKIP || fast_store(s, f, c, text, len, readable)) {
            *field = c + 1;
            return;
        }
    }
    s->field = c;
    take_field(s, len ? text : NULL, len, readable >= 8);
    *field = s->field;
}

/* on_record for the fast path: a complete, well-formed record only counts. */
static inline __attribute__((always_inline)) void fast_record(load_state *s, const fast_columns *f,
                                                              int *field, int terminator) {
    if (*field == f->count && !s->row_malformed && !s->widening && !s->stop) {
        s->out->rows++;
        s->record++;
        *field = 0;
        return;
    }
    s->field = *field;
    on_record(terminator, s);
    *field = s->field;
}

/* The fast path for a plain dialect (see scan_plain_dialect): the same callbacks as libcsv's,
 * with the same arguments, found from 64-byte masks of delimiters, line breaks and quotes. In a
 * record without a quote libcsv's tokenizing is trivial: a delimiter ends a field, a line break
 * ends the record (or is a blank line where none has begun), an empty field is NULL, every other
 * byte is text, and csv_fini ends a record that has begun. At a record's first quote the fields
 * before it are already right (they hold no quote), and libcsv parses the record from its start
 * (parse_quoted_record, which drops those fields); its end comes from the splitter's model of
 * libcsv, which the splitter tests check against libcsv at every cut. */
static void parse_fast(load_state *s, struct csv_parser *parser, const char *buf, size_t begin,
                       size_t end) {
    const unsigned char *bytes = (const unsigned char *)buf;
    const unsigned char delimiter = s->config->dialect.delimiter;
    const unsigned char quote = s->config->dialect.quote;
    size_t field_begin = begin; /* first byte of the current field */
    size_t row_begin = begin;   /* past the last line break: where the record starts */
    bool row_begun = false;     /* a delimiter has been seen since row_begin */
    int field = s->field;
    size_t base = begin;
    /* Copies the compiler can keep in registers across the stores into the columns. */
    const fast_columns f = {s->schema->count, s->out->columns, s->kinds, s->fast_null_len,
                            s->column_builder};
    while (base < end) {
        const scan_masks m = scan_block(bytes + base, end - base, quote, delimiter);
        uint64_t bits = m.delimiters | m.breaks | m.quotes;
        size_t next = base + 64;
        for (; bits; bits &= bits - 1) {
            size_t p = base + (size_t)__builtin_ctzll(bits);
            unsigned char c = bytes[p];
            if (c == delimiter) {
                fast_field(s, &f, &field, buf + field_begin, p - field_begin, end - field_begin);
                field_begin = p + 1;
                row_begun = true;
            } else if (c != quote) {
                if (p > field_begin || row_begun) {
                    fast_field(s, &f, &field, buf + field_begin, p - field_begin,
                               end - field_begin);
                    fast_record(s, &f, &field, c);
                    if (s->stop)
                        return;
                    row_begun = false;
                }
                field_begin = row_begin = p + 1;
            } else {
                s->field = field;
                next = field_begin = row_begin =
                    parse_quoted_record(s, parser, buf, row_begin, end);
                field = s->field;
                row_begun = false;
                if (s->stop)
                    return;
                break;
            }
        }
        base = next;
    }
    if (row_begun || field_begin < end) {
        fast_field(s, &f, &field, buf + field_begin, end - field_begin, end - field_begin);
        fast_record(s, &f, &field, -1);
    }
    s->field = field;
}

/* Starts a builder for each converted string column in grouped (NULL: none). None is refused
 * for memory: a builder that cannot start has given up, and its column just gets no
 * dictionary. */
static bool start_builders(load_state *s, const bool *grouped, int64_t rows_guess) {
    const ember_schema *schema = s->schema;
    int count = 0;
    for (int c = 0; grouped && c < schema->count; c++)
        count += grouped[c] && s->out->columns[c].loaded && schema->types[c] == EMBER_TYPE_STRING;
    if (!count)
        return true;
    s->grouped = ember_calloc((size_t)count, sizeof *s->grouped);
    s->column_builder = ember_calloc((size_t)schema->count, sizeof *s->column_builder);
    if (!s->grouped || !s->column_builder) {
        ember_free(s->grouped);
        ember_free(s->column_builder);
        s->grouped = NULL;
        s->column_builder = NULL;
        return false;
    }
    /* A record takes at least 2 bytes but the last, so no split has more than (bytes + 1) / 2
     * rows: a column past that many groups has too many whatever the rows turn out to be. One
     * group more is for the row being parsed, which may yet be dropped and take it back. */
    int64_t max_groups = ember_dictionary_max_groups((s->out->source_bytes + 1) / 2) + 1;
    for (int c = 0; c < schema->count; c++) {
        if (!grouped[c] || !s->out->columns[c].loaded || schema->types[c] != EMBER_TYPE_STRING)
            continue;
        grouped_column *g = &s->grouped[s->grouped_count++];
        g->column = c;
        s->column_builder[c] = &g->builder;
        ember_dictionary_builder_begin(&g->builder, &s->out->columns[c], max_groups, rows_guess);
    }
    return true;
}

/* Ends the builders: with keep (the partition is complete) the dictionaries of the grouped
 * columns whose groups are few enough for the rows there turned out to be; nothing otherwise. */
static void finish_builders(load_state *s, bool keep, ember_dictionary *dictionaries) {
    for (int k = 0; k < s->grouped_count; k++) {
        grouped_column *g = &s->grouped[k];
        if (keep)
            ember_dictionary_builder_finish(&g->builder, ember_dictionary_max_groups(s->out->rows),
                                            &dictionaries[g->column]);
        else
            ember_dictionary_builder_clear(&g->builder);
    }
    ember_free(s->grouped);
    ember_free(s->column_builder);
    s->grouped = NULL;
    s->column_builder = NULL;
    s->grouped_count = 0;
}

ember_status ember_csv_parse_split(const char *buf, const ember_split *split,
                                   const ember_schema *schema, const bool *wanted,
                                   const ember_csv_config *config, ember_partition *out,
                                   ember_type *needed, ember_error *err) {
    return ember_csv_parse_split_grouped(buf, split, schema, wanted, NULL, config, out, needed,
                                         NULL, err);
}

ember_status ember_csv_parse_split_grouped(const char *buf, const ember_split *split,
                                           const ember_schema *schema, const bool *wanted,
                                           const bool *grouped, const ember_csv_config *config,
                                           ember_partition *out, ember_type *needed,
                                           ember_dictionary *dictionaries, ember_error *err) {
    memset(out, 0, sizeof *out);
    for (int c = 0; dictionaries && c < schema->count; c++)
        memset(&dictionaries[c], 0, sizeof dictionaries[c]);
    for (int c = 0; c < schema->count; c++)
        needed[c] = schema->types[c];
    out->source_bytes = (int64_t)(split->end - split->begin);
    out->columns = ember_calloc((size_t)(schema->count ? schema->count : 1), sizeof *out->columns);
    if (!out->columns)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                               config->path);
    out->column_count = schema->count;
    /* A first guess at the row count from the bytes; the buffers double when it is low. */
    int64_t rows_guess = out->source_bytes / 32 + 16;
    for (int c = 0; c < schema->count; c++) {
        out->columns[c].type = schema->types[c];
        if (wanted && !wanted[c])
            continue;
        if (!ember_column_init(&out->columns[c], schema->types[c], rows_guess)) {
            ember_partition_clear(out);
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                                   config->path);
        }
    }

    struct csv_parser parser;
    if (!ember_csv_parser_init(&parser, config->dialect)) {
        ember_partition_clear(out);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                               config->path);
    }

    load_state state = {.schema = schema,
                        .wanted = wanted,
                        .config = config,
                        .out = out,
                        .needed = needed,
                        .err = err,
                        .null_len = config->null_value ? strlen(config->null_value) : 0,
                        .failure = EMBER_OK,
                        .buf = buf,
                        .split = split};
    if (!start_builders(&state, dictionaries ? grouped : NULL, rows_guess)) {
        csv_free(&parser);
        ember_partition_clear(out);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                               config->path);
    }
    bool fast = !config->libcsv_only &&
                scan_plain_dialect(config->dialect.delimiter, config->dialect.quote);
    unsigned char *kinds = NULL;
    if (fast && !(kinds = ember_malloc((size_t)schema->count + 1))) {
        finish_builders(&state, false, dictionaries);
        csv_free(&parser);
        ember_partition_clear(out);
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                               config->path);
    }
    if (fast) {
        for (int c = 0; c < schema->count; c++)
            kinds[c] = wanted && !wanted[c]                              ? FAST_SKIP
                       : state.column_builder && state.column_builder[c] ? FAST_GROUPED
                       : schema->types[c] == EMBER_TYPE_STRING           ? FAST_STRING
                       : schema->types[c] == EMBER_TYPE_INT64            ? FAST_INT64
                       : schema->types[c] == EMBER_TYPE_FLOAT64          ? FAST_FLOAT64
                                                                         : FAST_GENERAL;
        state.kinds = kinds;
        state.fast_null_len = config->null_value ? state.null_len : SIZE_MAX;
        parse_fast(&state, &parser, buf, split->begin, split->end);
        ember_free(kinds);
    }
    for (size_t at = split->begin; !fast && at < split->end && !state.stop;) {
        size_t chunk = split->end - at < PARSE_CHUNK ? split->end - at : PARSE_CHUNK;
        size_t done = csv_parse(&parser, buf + at, chunk, on_field, on_record, &state);
        if (done != chunk) {
            out_of_memory(&state, 0, false);
            break;
        }
        at += chunk;
    }
    if (!state.stop)
        csv_fini(&parser, on_field, on_record, &state);
    csv_free(&parser);
    /* A widening run is done again, so its rows are not all there: no dictionary from it. */
    finish_builders(&state, state.failure == EMBER_OK && !state.widening, dictionaries);

    if (state.failure != EMBER_OK) {
        ember_partition_clear(out);
        return state.failure;
    }
    for (int c = 0; c < schema->count; c++)
        out->columns[c].length = out->columns[c].loaded ? out->columns[c].length : out->rows;
    return EMBER_OK;
}

ember_status ember_csv_field_count_error(ember_error *err, const ember_csv_config *config,
                                         int64_t line, int expected, int found) {
    return ember_error_set(err, EMBER_ERROR_CSV,
                           "%s:%lld: malformed row (FAILFAST): expected %d fields, found %d",
                           config->path, (long long)line, expected, found);
}

ember_status ember_csv_count_split(const char *buf, const ember_split *split,
                                   const ember_schema *schema, const ember_csv_config *config,
                                   ember_partition *out, ember_error *err) {
    memset(out, 0, sizeof *out);
    ember_csv_record_stats stats;
    ember_csv_count_records(buf, split, config->dialect, schema->count, &stats);
    if (stats.bad_records && config->mode == EMBER_CSV_FAILFAST) {
        size_t offset = 0;
        int64_t line = split->first_line;
        ember_csv_locate_record(buf, split, stats.first_bad, config->dialect, &offset, &line);
        return ember_csv_field_count_error(err, config, line, schema->count,
                                           stats.first_bad_fields);
    }
    out->columns = ember_calloc((size_t)schema->count + 1, sizeof *out->columns);
    if (!out->columns)
        return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY, "%s: out of host memory",
                               config->path);
    out->column_count = schema->count;
    out->source_bytes = (int64_t)(split->end - split->begin);
    if (config->mode == EMBER_CSV_DROPMALFORMED) {
        out->rows = stats.records - stats.bad_records;
        out->rows_dropped = stats.bad_records;
    } else {
        out->rows = stats.records;
        out->rows_malformed = stats.bad_records;
    }
    for (int c = 0; c < schema->count; c++) {
        out->columns[c].type = schema->types[c];
        out->columns[c].length = out->rows;
    }
    return EMBER_OK;
}
