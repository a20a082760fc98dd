/* csv_rows.c: walks a CSV buffer record by record with libcsv's own state machine (non-strict,
 * no space trimming), 64 bytes at a time for a plain dialect: what the splitter cuts with. */
#include "io/csv_rows.h"

#include "io/csv_scan.h"

/* A record ended (or was begun when the buffer ended): row_begin is its first byte, with
 * row_lines line breaks before it. */
static inline void record_seen(ember_csv_row_scanner *s, size_t row_begin, int64_t row_lines) {
    s->records++;
    s->row_begin = row_begin;
    s->row_lines = row_lines;
}

void ember_csv_rows_init(ember_csv_row_scanner *s, const char *buf, size_t begin, size_t len,
                         ember_csv_dialect dialect) {
    s->buf = (const unsigned char *)buf;
    s->pos = begin;
    s->len = len;
    s->delimiter = dialect.delimiter;
    s->quote = dialect.quote;
    s->plain_dialect = scan_plain_dialect(dialect.delimiter, dialect.quote);
    s->lines = 0;
    s->records = 0;
    s->row_begin = begin;
    s->row_lines = 0;
}

/* Bit j set when byte j of the 64 at p (avail of them real) is a quote, CR or LF: the only
 * bytes that can change the state in a plain dialect, apart from delimiters, which matter only
 * next to a quote and are looked at there. */
static inline uint64_t special_bytes(const unsigned char *p, size_t avail, unsigned char quote) {
    scan_masks m = scan_block(p, avail, quote, 0);
    return m.quotes | m.breaks;
}

/* scan_to for a plain dialect: visits only quotes and line breaks, 64 bytes at a time.
 * Outside quotes a line break ends the row (or is a blank line where the row has not begun),
 * and a quote opens a field only at the row's first byte or right after a delimiter; libcsv
 * keeps any other one as text. Inside quotes line breaks are counted and a quote is decided
 * by the byte after it. */
static bool scan_plain(ember_csv_row_scanner *s, size_t target) {
    const unsigned char *buf = s->buf;
    const size_t len = s->len;
    const unsigned char delimiter = s->delimiter, quote = s->quote;
    int64_t lines = s->lines;
    size_t next = s->pos;      /* bytes before it are consumed; their bits are ignored */
    size_t row_begin = s->pos; /* where libcsv is in ROW_NOT_BEGUN */
    int64_t row_lines = lines;
    bool quoted = false;
    size_t p = 0;

    for (size_t base = s->pos; base < len; base += 64) {
        uint64_t mask = special_bytes(buf + base, len - base, quote);
        for (; mask; mask &= mask - 1) {
            p = base + (size_t)__builtin_ctzll(mask);
            if (p < next)
                continue;
            unsigned char c = buf[p];
            if (quoted) {
                if (c != quote) {
                    lines++;
                    next = p + scan_line_break_length(buf, p, len);
                    continue;
                }
                /* FIELD_MIGHT_HAVE_ENDED: the byte after the quote decides. */
                if (++p == len)
                    goto end_of_buffer;
                if (buf[p] == CR || buf[p] == LF)
                    goto row_end;
                /* A delimiter ends the field; a doubled quote or (non-strict) any other byte
                 * keeps it quoted. */
                quoted = buf[p] != delimiter;
                next = p + 1;
            } else if (c == quote) {
                quoted = p == row_begin || buf[p - 1] == delimiter;
                next = p + 1;
            } else if (p == row_begin) {
                lines++; /* a blank line */
                row_begin = next = p + scan_line_break_length(buf, p, len);
                row_lines = lines;
            } else {
                goto row_end;
            }
            continue;

        row_end:
            quoted = false;
            lines++;
            record_seen(s, row_begin, row_lines);
            row_begin = next = p + scan_line_break_length(buf, p, len);
            row_lines = lines;
            if (next >= target) {
                s->pos = next;
                s->lines = lines;
                return true;
            }
        }
    }

end_of_buffer:
    /* csv_fini ends a row that has begun, so it counts as a record. */
    if (row_begin < len) {
        record_seen(s, row_begin, row_lines);
    }
    s->pos = len;
    s->lines = lines;
    return false;
}

/* scan_to for any dialect, a byte at a time. */
static bool scan_exact(ember_csv_row_scanner *s, size_t target) {
    const unsigned char *buf = s->buf;
    const size_t len = s->len;
    size_t i = s->pos;
    int64_t lines = s->lines;
    int state = ROW_NOT_BEGUN;
    size_t row_begin = i;
    int64_t row_lines = lines;
    bool after_cr = false;

    while (i < len) {
        unsigned char c = buf[i];
        if (state == ROW_NOT_BEGUN && c != CR && c != LF) {
            row_begin = i;
            row_lines = lines;
        }
        if (c == CR || (c == LF && !after_cr))
            lines++;
        after_cr = c == CR;
        bool row_end = false;
        state = scan_step(state, c, s->delimiter, s->quote, &row_end);
        i++;
        if (!row_end)
            continue;
        /* In ROW_NOT_BEGUN libcsv tests for CR and LF first, so whatever the dialect, the LF
         * of a CRLF is a blank line and the record starts after it. */
        if (c == CR && i < len && buf[i] == LF)
            i++;
        after_cr = false;
        record_seen(s, row_begin, row_lines);
        if (i >= target) {
            s->pos = i;
            s->lines = lines;
            return true;
        }
    }
    if (state != ROW_NOT_BEGUN) {
        record_seen(s, row_begin, row_lines);
    }
    s->pos = len;
    s->lines = lines;
    return false;
}

bool ember_csv_rows_scan_to(ember_csv_row_scanner *s, size_t target) {
    return s->plain_dialect ? scan_plain(s, target) : scan_exact(s, target);
}
