/* output.h: how the `ember` command writes: results as CSV (for pipes) or an aligned table
 * (for people), errors as one "ember: error: ..." line, and the job summary line. */
#ifndef EMBER_CLI_OUTPUT_H
#define EMBER_CLI_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ember.h"

typedef enum cli_format {
    CLI_FORMAT_AUTO = 0, /* table when stdout is a terminal, CSV otherwise */
    CLI_FORMAT_CSV,
    CLI_FORMAT_TABLE,
} cli_format;

/* "csv" or "table"; false for anything else. */
bool cli_format_parse(const char *text, cli_format *out);
/* AUTO becomes TABLE or CSV by whether stdout is a terminal. */
cli_format cli_format_resolve(cli_format format);

/* A result table of text cells, all columns kept in memory so the table format can align
 * them. Numeric columns are right-aligned in the table format. */
typedef struct cli_table {
    size_t columns;
    const char *const *names;
    const bool *numeric;
    size_t rows;
    size_t capacity; /* rows allocated */
    char **cells;    /* rows * columns, each owned */
} cli_table;

void cli_table_init(cli_table *table, size_t columns, const char *const *names,
                    const bool *numeric);
/* Copies one row of `columns` cells. False when out of memory. */
bool cli_table_add_row(cli_table *table, const char *const *cells);
/* Writes the table in the format (CSV with a header line, or aligned columns). */
void cli_table_print(const cli_table *table, cli_format format, FILE *out);
void cli_table_free(cli_table *table);

/* Prints "ember: error: MESSAGE" on stderr as exactly one line: newlines in the message (a
 * kernel build log, say) become "; ". */
void cli_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Flushes stdout; on a write error (disk full, closed pipe) prints the error and returns
 * false, so a truncated result never exits 0. */
bool cli_flush_stdout(void);

/* The one-line job summary on stderr ("ember: 100 rows, 0 malformed, 0 dropped, 4 partitions,
 * device ..., 0.123 s") when stderr is a terminal or verbose is set. Prints nothing when the
 * session has run no job. */
void cli_print_summary(const ember_session *session, bool verbose);

/* Writes a result table to standard output as CSV or as a text table; false after printing the
 * error. */
bool cli_print_table(const ember_table *table, cli_format format);

#endif
