/* csv_rows.h (private to host/io): the record walker the splitter (csv_split.c) cuts with. */
#ifndef EMBER_IO_CSV_ROWS_H
#define EMBER_IO_CSV_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/csv_split.h"

/* Walks a buffer row by row. It stops only where libcsv is in ROW_NOT_BEGUN, so the position
 * and the counters are all the state it keeps between calls. */
typedef struct ember_csv_row_scanner {
    const unsigned char *buf;
    size_t pos, len;
    unsigned char delimiter, quote;
    /* See scan_plain_dialect: bytes other than quote, CR and LF can then be skipped unseen. */
    bool plain_dialect;
    int64_t lines;     /* line breaks consumed since the start */
    int64_t records;   /* records ended, including one ended by the end of the buffer */
    size_t row_begin;  /* first byte of the last record seen */
    int64_t row_lines; /* line breaks before row_begin */
} ember_csv_row_scanner;

void ember_csv_rows_init(ember_csv_row_scanner *s, const char *buf, size_t begin, size_t len,
                         ember_csv_dialect dialect);

/* Consumes records (and the blank lines between them) until one ends at a record start at or
 * after target, and stops there: true, pos at that start, row_begin at the record just ended.
 * Otherwise runs to the buffer's end: false, pos at len, and a record that began there is
 * counted and marked in row_begin. */
bool ember_csv_rows_scan_to(ember_csv_row_scanner *s, size_t target);

#endif
