/* csv_split.c: finds record starts in a CSV buffer by running libcsv's own state machine
 * (non-strict, no space trimming), and cuts the buffer there so each range parses on its own. */
#include "io/csv_split.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "common/alloc.h"

enum { CR = '\r', LF = '\n' };

/* libcsv's parser states, with FIELD_BEGUN split by its quoted flag. */
enum { ROW_NOT_BEGUN, FIELD_NOT_BEGUN, FIELD_UNQUOTED, FIELD_QUOTED, FIELD_MIGHT_HAVE_ENDED };

/* Walks a buffer one record at a time. Every call starts and ends in ROW_NOT_BEGUN, so the
 * position and the counters are all the state there is. */
typedef struct row_scanner {
    const unsigned char *buf;
    size_t pos, len;
    unsigned char delimiter, quote;
    /* Delimiter, quote, CR and LF are four different bytes, so the order in which libcsv tests
     * them cannot matter and whole runs of ordinary bytes can be skipped. */
    bool plain_dialect;
    int64_t lines;     /* line breaks consumed since the start */
    int64_t records;   /* records ended, including one ended by the end of the buffer */
    size_t row_begin;  /* first byte of the record found last */
    int64_t row_lines; /* line breaks before row_begin */
} row_scanner;

static void scanner_init(row_scanner *s, const char *buf, size_t begin, size_t len,
                         ember_csv_dialect dialect) {
    s->buf = (const unsigned char *)buf;
    s->pos = begin;
    s->len = len;
    s->delimiter = dialect.delimiter;
    s->quote = dialect.quote;
    s->plain_dialect = dialect.delimiter != dialect.quote && dialect.delimiter != CR &&
                       dialect.delimiter != LF && dialect.quote != CR && dialect.quote != LF;
    s->lines = 0;
    s->records = 0;
    s->row_begin = begin;
    s->row_lines = 0;
}

/* Bytes past the one at i that belong to the same line break: the LF of a CRLF. That LF is
 * harmless to swallow in every state: after a row-ending CR libcsv sees it as a blank line,
 * and inside quotes it is field text either way. */
static size_t line_break_length(const unsigned char *buf, size_t i, size_t len) {
    return buf[i] == CR && i + 1 < len && buf[i + 1] == LF ? 2 : 1;
}

#define BYTES_ONE  0x0101010101010101ull
#define BYTES_HIGH 0x8080808080808080ull

/* High bit set in each byte of x that is zero. Borrows can mark bytes above a true zero too,
 * but never below one, so the lowest mark is exact, also after OR-ing several masks. */
static inline uint64_t zero_bytes(uint64_t x) {
    return (x - BYTES_ONE) & ~x & BYTES_HIGH;
}

/* Offset of the first quote, CR or LF at or after i, or len: the only bytes that can change
 * the state inside a field, tested eight at a time. */
static inline size_t find_special(const unsigned char *buf, size_t i, size_t len,
                                  unsigned char quote) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t quotes = BYTES_ONE * quote, crs = BYTES_ONE * CR, lfs = BYTES_ONE * LF;
    while (len - i >= 8) {
        uint64_t word;
        memcpy(&word, buf + i, sizeof word);
        uint64_t hits = zero_bytes(word ^ quotes) | zero_bytes(word ^ crs) | zero_bytes(word ^ lfs);
        if (hits)
            return i + (size_t)(__builtin_ctzll(hits) >> 3);
        i += 8;
    }
#endif
    while (i < len && buf[i] != quote && buf[i] != CR && buf[i] != LF)
        i++;
    return i;
}

/* Records where the row begins: the first byte libcsv does not skip as a blank line. */
static void mark_row_begin(row_scanner *s, size_t i, int64_t lines) {
    s->row_begin = i;
    s->row_lines = lines;
}

/* next_row for a plain dialect. Outside quotes only quotes and line breaks matter: a quote
 * opens a field only right after a delimiter or at the row's first byte (elsewhere libcsv
 * keeps it literally), and any line break ends the row. Inside quotes only quotes matter, and
 * line breaks are counted. */
static bool next_row_plain(row_scanner *s) {
    const unsigned char *buf = s->buf;
    const size_t len = s->len;
    const unsigned char delimiter = s->delimiter, quote = s->quote;
    size_t i = s->pos;
    int64_t lines = s->lines;

    while (i < len && (buf[i] == CR || buf[i] == LF)) {
        lines++;
        i += line_break_length(buf, i, len);
    }
    if (i == len) {
        s->pos = len;
        s->lines = lines;
        return false;
    }
    const size_t row_begin = i;
    mark_row_begin(s, i, lines);

    for (;;) {
        i = find_special(buf, i, len, quote);
        if (i == len)
            goto end_of_buffer;
        if (buf[i] != quote)
            goto row_end;
        if (i != row_begin && buf[i - 1] != delimiter) {
            i++;
            continue;
        }
        for (i++;;) {
            i = find_special(buf, i, len, quote);
            if (i == len)
                goto end_of_buffer;
            if (buf[i] != quote) {
                lines++;
                i += line_break_length(buf, i, len);
                continue;
            }
            /* FIELD_MIGHT_HAVE_ENDED: the next byte decides. */
            if (++i == len)
                goto end_of_buffer;
            if (buf[i] == delimiter) {
                i++;
                break;
            }
            if (buf[i] == CR || buf[i] == LF)
                goto row_end;
            /* A doubled quote, or (non-strict) any other byte: the field stays quoted. */
            i++;
        }
    }

row_end:
    lines++;
    i += line_break_length(buf, i, len);
    s->pos = i;
    s->lines = lines;
    s->records++;
    return true;

end_of_buffer:
    /* csv_fini submits a row that has begun, so it counts as a record. */
    s->pos = len;
    s->lines = lines;
    s->records++;
    return true;
}

/* One byte of libcsv's csv_parse, testing in the order it does; the order matters only when
 * the delimiter or the quote is CR, LF or the other one. */
static int step(int state, unsigned char c, unsigned char delimiter, unsigned char quote,
                bool *row_end) {
    bool term = c == CR || c == LF;
    switch (state) {
    case ROW_NOT_BEGUN:
    case FIELD_NOT_BEGUN:
        if (term) {
            *row_end = state == FIELD_NOT_BEGUN;
            return ROW_NOT_BEGUN;
        }
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        return c == quote ? FIELD_QUOTED : FIELD_UNQUOTED;
    case FIELD_UNQUOTED:
        if (c == quote)
            return FIELD_UNQUOTED;
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        if (term) {
            *row_end = true;
            return ROW_NOT_BEGUN;
        }
        return FIELD_UNQUOTED;
    case FIELD_QUOTED:
        return c == quote ? FIELD_MIGHT_HAVE_ENDED : FIELD_QUOTED;
    default:
        if (c == delimiter)
            return FIELD_NOT_BEGUN;
        if (term) {
            *row_end = true;
            return ROW_NOT_BEGUN;
        }
        return FIELD_QUOTED;
    }
}

/* next_row for any dialect, a byte at a time. */
static bool next_row_exact(row_scanner *s) {
    const unsigned char *buf = s->buf;
    const size_t len = s->len;
    size_t i = s->pos;
    int64_t lines = s->lines;
    int state = ROW_NOT_BEGUN;
    bool after_cr = false;

    while (i < len) {
        unsigned char c = buf[i];
        if (state == ROW_NOT_BEGUN && c != CR && c != LF)
            mark_row_begin(s, i, lines);
        if (c == CR || (c == LF && !after_cr))
            lines++;
        after_cr = c == CR;
        bool row_end = false;
        state = step(state, c, s->delimiter, s->quote, &row_end);
        i++;
        if (row_end) {
            /* In ROW_NOT_BEGUN libcsv tests for CR and LF first, so whatever the dialect, the
             * LF of a CRLF is a blank line and the record starts after it. */
            if (c == CR && i < len && buf[i] == LF)
                i++;
            s->pos = i;
            s->lines = lines;
            s->records++;
            return true;
        }
    }
    s->pos = len;
    s->lines = lines;
    if (state == ROW_NOT_BEGUN)
        return false;
    s->records++;
    return true;
}

/* Moves past the next record (skipping blank lines before it) to the record start after it,
 * or to len. Returns false when no record began before len. */
static bool next_row(row_scanner *s) {
    return s->plain_dialect ? next_row_plain(s) : next_row_exact(s);
}

size_t ember_csv_bom_length(const char *buf, size_t len) {
    return buf && len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

size_t ember_csv_record_end(const char *buf, size_t len, size_t begin, ember_csv_dialect dialect,
                            int64_t *lines) {
    if (lines)
        *lines = 0;
    if (!buf || begin >= len)
        return len;
    row_scanner s;
    scanner_init(&s, buf, begin, len, dialect);
    next_row(&s);
    if (lines)
        *lines = s.lines;
    return s.pos;
}

/* Cut targets: an explicit ascending list, or parts evenly spaced ones. */
typedef struct cut_targets {
    const size_t *list;
    size_t count;
    size_t begin, span, parts;
} cut_targets;

static size_t target_at(const cut_targets *targets, size_t k) {
    if (targets->list)
        return targets->list[k];
    /* begin + floor(span * (k + 1) / parts) without overflowing span * (k + 1). */
    size_t n = k + 1, span = targets->span, parts = targets->parts;
    return targets->begin + span / parts * n + span % parts * n / parts;
}

typedef struct split_list {
    ember_split *items;
    int count, capacity;
} split_list;

static ember_status split_list_push(split_list *list, ember_split split, ember_error *err) {
    if (list->count == list->capacity) {
        if (list->capacity > INT_MAX / 2)
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "csv split: more than %d ranges", INT_MAX / 2);
        int capacity = list->capacity ? list->capacity * 2 : 16;
        ember_split *items = ember_realloc(list->items, (size_t)capacity * sizeof *items);
        if (!items)
            return ember_error_set(err, EMBER_ERROR_OUT_OF_MEMORY,
                                   "csv split: out of memory for %d ranges", capacity);
        list->items = items;
        list->capacity = capacity;
    }
    list->items[list->count++] = split;
    return EMBER_OK;
}

static ember_status split_ranges(const char *buf, size_t len, size_t begin, int64_t first_line,
                                 const cut_targets *targets, ember_csv_dialect dialect,
                                 ember_split **out, int *count, ember_error *err) {
    split_list list = {0};
    ember_status status = EMBER_OK;
    row_scanner s;
    scanner_init(&s, buf, begin, len, dialect);
    ember_split current = {begin, len, first_line, 0};

    size_t k = 0;
    size_t target = 0;
    while (k < targets->count && (target = target_at(targets, k)) <= begin)
        k++;
    /* Once no target lies before len the rest needs no scanning: the last range's line and
     * record are known at its start. */
    while (k < targets->count && target < len && next_row(&s)) {
        if (s.pos >= len || s.pos < target)
            continue;
        current.end = s.pos;
        if ((status = split_list_push(&list, current, err)) != EMBER_OK)
            goto fail;
        current = (ember_split){s.pos, len, first_line + s.lines, s.records};
        while (k < targets->count && (target = target_at(targets, k)) <= s.pos)
            k++;
    }
    if (current.begin < len && (status = split_list_push(&list, current, err)) != EMBER_OK)
        goto fail;
    *out = list.items;
    *count = list.count;
    return EMBER_OK;

fail:
    ember_free(list.items);
    return status;
}

/* Checks what both entry points share and clears the outputs. */
static ember_status check_split_arguments(const char *buf, size_t len, size_t begin,
                                          ember_split **out, int *count, ember_error *err) {
    if (out)
        *out = NULL;
    if (count)
        *count = 0;
    if (!out || !count)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "csv split: no output given");
    if (!buf && len > 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT, "csv split: no buffer given");
    if (begin > len)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: begin %zu is past the buffer's end %zu", begin, len);
    return EMBER_OK;
}

ember_status ember_csv_split(const char *buf, size_t len, size_t begin, int64_t first_line,
                             int parts, ember_csv_dialect dialect, ember_split **out, int *count,
                             ember_error *err) {
    ember_status status = check_split_arguments(buf, len, begin, out, count, err);
    if (status != EMBER_OK)
        return status;
    if (parts <= 0)
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: parts must be positive, got %d", parts);
    size_t span = len - begin;
    /* More parts than bytes put a target on every byte, as parts == span does; capping keeps
     * the work proportional to the buffer. */
    size_t effective_parts = (size_t)parts < span ? (size_t)parts : span;
    if (effective_parts == 0)
        effective_parts = 1;
    cut_targets targets = {NULL, effective_parts - 1, begin, span, effective_parts};
    return split_ranges(buf, len, begin, first_line, &targets, dialect, out, count, err);
}

ember_status ember_csv_split_at(const char *buf, size_t len, size_t begin, int64_t first_line,
                                const size_t *targets, int target_count, ember_csv_dialect dialect,
                                ember_split **out, int *count, ember_error *err) {
    ember_status status = check_split_arguments(buf, len, begin, out, count, err);
    if (status != EMBER_OK)
        return status;
    if (target_count < 0 || (target_count > 0 && !targets))
        return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                               "csv split: bad target list (%d targets)", target_count);
    for (int k = 1; k < target_count; k++)
        if (targets[k] < targets[k - 1])
            return ember_error_set(err, EMBER_ERROR_INVALID_ARGUMENT,
                                   "csv split: target %d (%zu) is below the one before (%zu)", k,
                                   targets[k], targets[k - 1]);
    cut_targets list = {targets, (size_t)target_count, begin, len - begin, 1};
    return split_ranges(buf, len, begin, first_line, &list, dialect, out, count, err);
}

int ember_csv_locate_record(const char *buf, const ember_split *split, int64_t record,
                            ember_csv_dialect dialect, size_t *offset, int64_t *line) {
    if (!buf || !split || record < 0 || split->begin > split->end)
        return -1;
    row_scanner s;
    scanner_init(&s, buf, split->begin, split->end, dialect);
    for (int64_t index = 0; next_row(&s); index++) {
        if (index == record) {
            if (offset)
                *offset = s.row_begin;
            if (line)
                *line = split->first_line + s.row_lines;
            return 0;
        }
    }
    return -1;
}
