/* csv_split.h: cuts a CSV byte buffer into record-aligned ranges that can be parsed
 * independently. It runs the same state machine as libcsv (non-strict, no space trimming), so
 * a quoted field that holds delimiters, doubled quotes or newlines never straddles a cut. */
#ifndef EMBER_IO_CSV_SPLIT_H
#define EMBER_IO_CSV_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct ember_csv_dialect {
    unsigned char delimiter; /* ',' */
    unsigned char quote;     /* '"' */
} ember_csv_dialect;

/* A byte range [begin, end) that starts at a record start (or the buffer start). first_line is
 * the 1-based physical line number (counting LF, CR and CRLF as one line break each) at begin;
 * first_record is the 0-based index, among the non-blank records of the whole buffer range
 * split, of the first record inside it. */
typedef struct ember_split {
    size_t begin, end;
    int64_t first_line;
    int64_t first_record;
} ember_split;

/* How a split may scan chunks of the buffer at once: run calls task(context, i, worker) for
 * every i in [0, count), on any threads in any order, and returns when all have returned (as
 * ember_thread_pool_run does, with runner its pool). chunks is how many chunks to scan; a NULL
 * parallel or chunks <= 1 scans in one pass. The result is the same either way: a chunk is
 * scanned from a guessed record start and kept only where the scan before it agrees (else its
 * bytes are scanned again), so quoted line breaks cost time, never correctness. */
typedef struct ember_csv_parallel {
    void (*run)(void *runner, int count, void (*task)(void *context, int index, int worker),
                void *context);
    void *runner;
    int chunks;
} ember_csv_parallel;

/* Length of a UTF-8 byte order mark at buf (3 or 0). */
size_t ember_csv_bom_length(const char *buf, size_t len);

/* Offset just past the record that starts at begin (past its terminator; past CRLF as a
 * whole), or len when it is the last one. Blank lines before the record are skipped as libcsv
 * skips them. *lines (may be NULL) receives the number of line breaks consumed. */
size_t ember_csv_record_end(const char *buf, size_t len, size_t begin, ember_csv_dialect dialect,
                            int64_t *lines);

/* Cuts [begin, len) into at most parts ranges of about equal size, each starting at a record
 * start; ranges with no bytes are left out, so *count may be smaller than parts (0 for an
 * empty range). first_line is the line number at begin. *out is owned by the caller
 * (ember_free). */
ember_status ember_csv_split(const char *buf, size_t len, size_t begin, int64_t first_line,
                             int parts, ember_csv_dialect dialect,
                             const ember_csv_parallel *parallel, ember_split **out, int *count,
                             ember_error *err);

/* The same with explicit target offsets (ascending): each cut is placed at the first record
 * start at or after its target. Used by tests to try every cut position. */
ember_status ember_csv_split_at(const char *buf, size_t len, size_t begin, int64_t first_line,
                                const size_t *targets, int target_count, ember_csv_dialect dialect,
                                ember_split **out, int *count, ember_error *err);

/* ember_csv_split for two part counts in one pass over the bytes: *out_a and *out_b (each owned
 * by the caller) are what ember_csv_split would give for parts_a and parts_b. On failure both
 * are NULL. */
ember_status ember_csv_split_pair(const char *buf, size_t len, size_t begin, int64_t first_line,
                                  int parts_a, int parts_b, ember_csv_dialect dialect,
                                  const ember_csv_parallel *parallel, ember_split **out_a,
                                  int *count_a, ember_split **out_b, int *count_b,
                                  ember_error *err);

/* Finds the record with 0-based index record (non-blank records counted from split->begin):
 * its byte offset and 1-based line number. For error messages; O(bytes scanned). Returns 0 on
 * success, -1 when the split holds fewer records. */
int ember_csv_locate_record(const char *buf, const ember_split *split, int64_t record,
                            ember_csv_dialect dialect, size_t *offset, int64_t *line);

/* What ember_csv_count_records finds in a split. */
typedef struct ember_csv_record_stats {
    int64_t records;      /* records in the split (blank lines are not records) */
    int64_t bad_records;  /* records whose field count != expected_fields */
    int64_t first_bad;    /* 0-based index (within the split) of the first bad record, -1 if none */
    int first_bad_fields; /* its field count (INT_MAX if above it); 0 if none */
} ember_csv_record_stats;

/* Counts the records of split and checks each one's field count against expected_fields,
 * exactly as libcsv (non-strict, CSV_EMPTY_IS_NULL, no space trimming) would report them when
 * parsing [split->begin, split->end) alone: a record's field count is the number of libcsv field
 * callbacks before its row callback. The fast path of `ember count`, which converts no column
 * and so can only find rows malformed by their field count. A missing buf, split or out, or an
 * empty range, gives no records. Implemented in csv_scan_fields.c. */
void ember_csv_count_records(const char *buf, const ember_split *split, ember_csv_dialect dialect,
                             int expected_fields, ember_csv_record_stats *out);

#endif
