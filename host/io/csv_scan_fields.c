/* csv_scan_fields.c: ember_csv_count_records, the records of a split and their field counts as
 * libcsv would deliver them, found without parsing. `ember count` converts no column, so the
 * number of fields is all that can make its rows malformed, and this replaces a libcsv parse. */
#include "io/csv_split.h"

#include <limits.h>

#include "io/csv_scan.h"

/* The running result; fields are counted in 64 bits because a record's field count is bounded
 * only by the split's size. */
typedef struct field_tally {
    int64_t expected;
    int64_t records, bad_records, first_bad, first_bad_fields;
} field_tally;

/* A row callback after fields field callbacks. */
static inline void end_record(field_tally *t, int64_t fields) {
    if (__builtin_expect(fields != t->expected, 0) && t->bad_records++ == 0) {
        t->first_bad = t->records;
        t->first_bad_fields = fields;
    }
    t->records++;
}

/* Any dialect, a byte at a time through libcsv's own transitions. scan_step reaches
 * FIELD_NOT_BEGUN only when a delimiter submits a field, and a row end submits one more. */
static void count_exact(const unsigned char *buf, size_t begin, size_t end, unsigned char delimiter,
                        unsigned char quote, field_tally *t) {
    int state = ROW_NOT_BEGUN;
    int64_t fields = 0;
    for (size_t i = begin; i < end; i++) {
        bool row_end = false;
        state = scan_step(state, buf[i], delimiter, quote, &row_end);
        if (state == FIELD_NOT_BEGUN) {
            fields++;
        } else if (row_end) {
            end_record(t, fields + 1);
            fields = 0;
        }
    }
    /* csv_fini submits a field and the row in every state but ROW_NOT_BEGUN. */
    if (state != ROW_NOT_BEGUN)
        end_record(t, fields + 1);
}

/* A plain dialect, 64 bytes at a time. Outside a quoted field's content every delimiter ends a
 * field and every line break ends the row (or is a blank line where the row has not begun), so
 * between two quotes the fields of a row are the delimiters before its line break, counted by
 * popcount over the masks. Quotes are visited one by one:
 * - outside: one opens a quoted field only at a field's start (the row's first byte or right
 *   after a delimiter); libcsv keeps any other as text of an unquoted field;
 * - inside: it moves to FIELD_MIGHT_HAVE_ENDED, where the byte after it decides: a delimiter ends
 *   the field, a line break the row, and anything else (a doubled quote or, non-strict, text)
 *   is taken into the quoted field; so delimiters and line breaks in between are skipped. */
SCAN_INLINE void count_plain_body(const unsigned char *buf, size_t begin, size_t end,
                                  unsigned char delimiter, unsigned char quote, field_tally *t) {
    size_t row_begin = begin; /* libcsv is in ROW_NOT_BEGUN here if no byte followed */
    size_t next = begin;      /* bytes before it are consumed; their bits are ignored */
    int64_t fields = 0;       /* fields the current row has submitted so far */
    bool quoted = false;      /* in a quoted field's content */

    for (size_t base = begin; base < end; base += 64) {
        const scan_masks m = scan_block(buf + base, end - base, quote, delimiter);
        /* A quote at a block's last byte consumes the next block's first, so next may start
         * past base, but never by 64. */
        while (next - base < 64) {
            const uint64_t live = ~UINT64_C(0) << (next - base);
            const uint64_t quotes = m.quotes & live;
            if (quoted) {
                if (!quotes) {
                    next = base + 64; /* the rest of the block is the field's content */
                    break;
                }
                size_t q = base + (size_t)__builtin_ctzll(quotes);
                if (q + 1 == end)
                    goto done; /* FIELD_MIGHT_HAVE_ENDED at the end: csv_fini's business */
                unsigned char after = buf[q + 1];
                if (after == delimiter) {
                    fields++;
                    quoted = false;
                } else if (after == CR || after == LF) {
                    end_record(t, fields + 1);
                    fields = 0;
                    quoted = false;
                    /* The LF of a CRLF then comes up as a blank line, as in libcsv. */
                    row_begin = q + 2;
                }
                next = q + 2;
                continue;
            }
            /* Unquoted up to the next quote: the bits below its bit (all of them without one). */
            const uint64_t span = live & ((quotes & (0 - quotes)) - 1);
            uint64_t breaks = m.breaks & span, delimiters = m.delimiters & span;
            for (; breaks; breaks &= breaks - 1) {
                const uint64_t through = breaks ^ (breaks - 1); /* up to this line break */
                fields += __builtin_popcountll(delimiters & through);
                delimiters &= ~through;
                size_t p = base + (size_t)__builtin_ctzll(breaks);
                /* No byte since row_begin: ROW_NOT_BEGUN, a blank line. */
                if (p != row_begin) {
                    end_record(t, fields + 1);
                    fields = 0;
                }
                row_begin = p + 1;
            }
            fields += __builtin_popcountll(delimiters);
            if (!quotes) {
                next = base + 64;
                break;
            }
            size_t p = base + (size_t)__builtin_ctzll(quotes);
            quoted = p == row_begin || buf[p - 1] == delimiter;
            next = p + 1;
        }
    }
done:
    /* csv_fini ends a row that has begun, which any byte after the last row end does (a
     * quoted field that is still open included). */
    if (row_begin < end)
        end_record(t, fields + 1);
}

static void count_plain(const unsigned char *buf, size_t begin, size_t end, unsigned char delimiter,
                        unsigned char quote, field_tally *t) {
    count_plain_body(buf, begin, end, delimiter, quote, t);
}

/* The same with the popcount instruction (see SCAN_TARGET_POPCNT). */
SCAN_TARGET_POPCNT static void count_plain_popcnt(const unsigned char *buf, size_t begin,
                                                  size_t end, unsigned char delimiter,
                                                  unsigned char quote, field_tally *t) {
    count_plain_body(buf, begin, end, delimiter, quote, t);
}

void ember_csv_count_records(const char *buf, const ember_split *split, ember_csv_dialect dialect,
                             int expected_fields, ember_csv_record_stats *out) {
    if (!out)
        return;
    field_tally t = {expected_fields, 0, 0, -1, 0};
    if (buf && split && split->begin < split->end) {
        const unsigned char *bytes = (const unsigned char *)buf;
        if (scan_plain_dialect(dialect.delimiter, dialect.quote))
            (scan_have_popcnt() ? count_plain_popcnt : count_plain)(
                bytes, split->begin, split->end, dialect.delimiter, dialect.quote, &t);
        else
            count_exact(bytes, split->begin, split->end, dialect.delimiter, dialect.quote, &t);
    }
    out->records = t.records;
    out->bad_records = t.bad_records;
    out->first_bad = t.first_bad;
    out->first_bad_fields = t.first_bad_fields > INT_MAX ? INT_MAX : (int)t.first_bad_fields;
}
